// SPDX-License-Identifier: GPL-2.0-only
//! The export protocol, as the `protocol` parameter names it.

/// The export format: NetFlow v5, NetFlow v9 or IPFIX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// NetFlow v5: fixed IPv4 records, no templates.
    V5,
    /// NetFlow v9 (RFC 3954).
    V9,
    /// IPFIX (RFC 7011), version number 10.
    Ipfix,
}

impl Protocol {
    /// The protocol of a `protocol=` value: 5, 9 or 10.
    pub const fn from_number(n: i32) -> Option<Self> {
        match n {
            5 => Some(Protocol::V5),
            9 => Some(Protocol::V9),
            10 => Some(Protocol::Ipfix),
            _ => None,
        }
    }

    /// The version number the parameter and the packet headers carry.
    pub const fn number(self) -> u16 {
        match self {
            Protocol::V5 => 5,
            Protocol::V9 => 9,
            Protocol::Ipfix => 10,
        }
    }

    /// The word /proc shows after the number.
    pub const fn family_name(self) -> &'static str {
        match self {
            Protocol::Ipfix => "ipfix",
            Protocol::V5 | Protocol::V9 => "netflow",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for p in [Protocol::V5, Protocol::V9, Protocol::Ipfix] {
            assert_eq!(Protocol::from_number(i32::from(p.number())), Some(p));
        }
        for n in [-1, 0, 1, 4, 6, 8, 11, 100] {
            assert_eq!(Protocol::from_number(n), None);
        }
        assert_eq!(Protocol::Ipfix.family_name(), "ipfix");
        assert_eq!(Protocol::V9.family_name(), "netflow");
    }
}

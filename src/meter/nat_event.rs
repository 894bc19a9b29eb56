// SPDX-License-Identifier: GPL-2.0-only
//! A NAT translation event: one conntrack entry with NAT that appeared or
//! went away, as NAT event logging (NEL) reports it.

/// What happened to the translation (IPFIX `natEvent`, element 230).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum NatEventKind {
    /// The conntrack entry (and its translation) was created.
    Create = 1,
    /// The conntrack entry went away.
    Delete = 2,
}

/// One direction's addresses and ports, in network order for addresses and
/// host order for ports. For ICMP `s_port` is the echo id and `d_port` is
/// `type << 8 | code`, as conntrack keeps them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NatEndpoints {
    /// Source IPv4 address.
    pub src: [u8; 4],
    /// Destination IPv4 address.
    pub dst: [u8; 4],
    /// Source port.
    pub s_port: u16,
    /// Destination port.
    pub d_port: u16,
}

/// One NAT event, IPv4 only (as the original).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatEvent {
    /// Create or delete.
    pub kind: NatEventKind,
    /// IP protocol.
    pub protocol: u8,
    /// The connection as its initiator sent it (the original tuple).
    pub pre: NatEndpoints,
    /// The connection after translation: the reply tuple with source and
    /// destination swapped.
    pub post: NatEndpoints,
    /// When it happened, in milliseconds since the Unix epoch.
    pub epoch_ms: u64,
}

impl NatEvent {
    /// Whether the source address or port was translated (SNAT, MASQUERADE).
    pub fn src_translated(&self) -> bool {
        self.pre.src != self.post.src || self.pre.s_port != self.post.s_port
    }

    /// Whether the destination address or port was translated (DNAT).
    pub fn dst_translated(&self) -> bool {
        self.pre.dst != self.post.dst || self.pre.d_port != self.post.d_port
    }
}

/// What the capture has seen since load (for /proc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NatCounts {
    /// Create events taken.
    pub start: u64,
    /// Delete events taken.
    pub stop: u64,
    /// Events the queues had no room for.
    pub lost: u64,
    /// Messages that did not decode (counted and skipped).
    pub malformed: u64,
    /// Namespaces where events cannot be seen (no socket, or conntrack
    /// events switched off there), now.
    pub blind: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(pre: NatEndpoints, post: NatEndpoints) -> NatEvent {
        NatEvent {
            kind: NatEventKind::Create,
            protocol: 6,
            pre,
            post,
            epoch_ms: 0,
        }
    }

    const CLIENT: NatEndpoints = NatEndpoints {
        src: [10, 0, 0, 2],
        dst: [192, 0, 2, 9],
        s_port: 40000,
        d_port: 80,
    };

    #[test]
    fn snat_changes_only_the_source() {
        let post = NatEndpoints {
            src: [198, 51, 100, 1],
            s_port: 1024,
            ..CLIENT
        };
        let e = event(CLIENT, post);
        assert!(e.src_translated());
        assert!(!e.dst_translated());
    }

    #[test]
    fn dnat_changes_only_the_destination() {
        let post = NatEndpoints {
            dst: [10, 1, 0, 5],
            d_port: 8080,
            ..CLIENT
        };
        let e = event(CLIENT, post);
        assert!(!e.src_translated());
        assert!(e.dst_translated());
    }

    #[test]
    fn a_port_alone_counts_as_translation() {
        let post = NatEndpoints {
            s_port: 40001,
            ..CLIENT
        };
        assert!(event(CLIENT, post).src_translated());
    }
}

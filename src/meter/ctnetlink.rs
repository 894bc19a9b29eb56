// SPDX-License-Identifier: GPL-2.0-only
//! Conntrack event messages (ctnetlink) into NAT events.
//!
//! The netlink framing the events come in, from the uapi headers:
//! - a buffer holds netlink messages, each a `struct nlmsghdr` (`u32 len`,
//!   `u16 type`, `u16 flags`, `u32 seq`, `u32 pid`, host byte order; `len`
//!   counts the header) and its payload, the next one starting 4-byte aligned
//!   ([`Messages`]);
//! - a payload holds attributes, each a `struct nlattr` (`u16 len`,
//!   `u16 type`, host byte order; `len` counts the header) and its payload,
//!   the next one 4-byte aligned; a nested attribute's payload is attributes
//!   again ([`Attrs`]).
//!
//! Everything here reads only inside the given slice: no input can make it
//! panic or read past the end.

/// `sizeof(struct nlmsghdr)`, already a multiple of `NLMSG_ALIGNTO`.
pub const NLMSG_HDRLEN: usize = 16;
/// Netlink messages start at multiples of this.
pub const NLMSG_ALIGNTO: usize = 4;
/// `nlmsg_type` of a message that carries nothing.
pub const NLMSG_NOOP: u16 = 1;
/// `nlmsg_type` of an error or acknowledgement.
pub const NLMSG_ERROR: u16 = 2;
/// `nlmsg_type` of the end of a dump.
pub const NLMSG_DONE: u16 = 3;

/// `sizeof(struct nlattr)`, already a multiple of `NLA_ALIGNTO`.
pub const NLA_HDRLEN: usize = 4;
/// Attributes start at multiples of this.
pub const NLA_ALIGNTO: usize = 4;
/// `nla_type` flag: the payload is attributes.
pub const NLA_F_NESTED: u16 = 1 << 15;
/// `nla_type` flag: the payload is in network byte order.
pub const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
/// What is left of `nla_type` once the flags are masked off.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// Bytes that break the netlink framing or the layout of an event message:
/// a length shorter than its header or longer than what contains it, a
/// required attribute missing or too short for its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

/// `len` rounded up to a multiple of 4 (`NLMSG_ALIGNTO`, `NLA_ALIGNTO`),
/// but never past `limit`: the last message or attribute of a buffer may
/// lack its padding.
fn aligned_step(len: usize, limit: usize) -> usize {
    match len.checked_add(NLMSG_ALIGNTO - 1) {
        Some(v) => (v & !(NLMSG_ALIGNTO - 1)).min(limit),
        None => limit,
    }
}

/// One netlink message: its header fields and its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NlMsg<'a> {
    /// `nlmsg_type`; for nfnetlink, the subsystem in the high byte and the
    /// message type in the low byte.
    pub kind: u16,
    /// `nlmsg_flags` (`NLM_F_*`).
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// `nlmsg_pid`.
    pub pid: u32,
    /// The bytes after the header, up to `nlmsg_len`.
    pub payload: &'a [u8],
}

/// The netlink messages of a buffer, in order.
///
/// Yields `Err(`[`Malformed`]`)` once, then stops, when the rest of the
/// buffer is too short for a header or a header's `nlmsg_len` is shorter
/// than the header or longer than the rest of the buffer: past such a
/// message there is no telling where the next one starts.
#[derive(Clone, Debug)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    /// The messages of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<NlMsg<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        // Taken out so that an error leaves nothing to iterate over.
        let rest = core::mem::take(&mut self.rest);
        if rest.is_empty() {
            return None;
        }
        let Some(&[l0, l1, l2, l3, t0, t1, f0, f1, s0, s1, s2, s3, p0, p1, p2, p3]) =
            rest.first_chunk::<NLMSG_HDRLEN>()
        else {
            return Some(Err(Malformed));
        };
        let Ok(len) = usize::try_from(u32::from_ne_bytes([l0, l1, l2, l3])) else {
            return Some(Err(Malformed));
        };
        if len < NLMSG_HDRLEN {
            return Some(Err(Malformed));
        }
        let Some(payload) = rest.get(NLMSG_HDRLEN..len) else {
            return Some(Err(Malformed));
        };
        self.rest = rest
            .get(aligned_step(len, rest.len())..)
            .unwrap_or_default();
        Some(Ok(NlMsg {
            kind: u16::from_ne_bytes([t0, t1]),
            flags: u16::from_ne_bytes([f0, f1]),
            seq: u32::from_ne_bytes([s0, s1, s2, s3]),
            pid: u32::from_ne_bytes([p0, p1, p2, p3]),
            payload,
        }))
    }
}

impl core::iter::FusedIterator for Messages<'_> {}

/// One netlink attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr<'a> {
    /// `nla_type` without [`NLA_F_NESTED`] and [`NLA_F_NET_BYTEORDER`].
    pub kind: u16,
    /// The bytes after the header, up to `nla_len` (without padding).
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    /// The attributes nested in this one's payload.
    pub fn nested(&self) -> Attrs<'a> {
        Attrs::new(self.payload)
    }

    /// The first `N` bytes of the payload.
    ///
    /// # Errors
    /// [`Malformed`] when the payload is shorter than `N` bytes.
    pub fn bytes<const N: usize>(&self) -> Result<[u8; N], Malformed> {
        self.payload.first_chunk::<N>().copied().ok_or(Malformed)
    }

    /// The payload as a `u8`.
    ///
    /// # Errors
    /// [`Malformed`] when the payload is empty.
    pub fn u8(&self) -> Result<u8, Malformed> {
        self.payload.first().copied().ok_or(Malformed)
    }

    /// The payload as a big-endian `u16`.
    ///
    /// # Errors
    /// [`Malformed`] when the payload is shorter than 2 bytes.
    pub fn be16(&self) -> Result<u16, Malformed> {
        self.bytes().map(u16::from_be_bytes)
    }

    /// The payload as a big-endian `u32`.
    ///
    /// # Errors
    /// [`Malformed`] when the payload is shorter than 4 bytes.
    pub fn be32(&self) -> Result<u32, Malformed> {
        self.bytes().map(u32::from_be_bytes)
    }

    /// The payload as a big-endian `u64`.
    ///
    /// # Errors
    /// [`Malformed`] when the payload is shorter than 8 bytes.
    pub fn be64(&self) -> Result<u64, Malformed> {
        self.bytes().map(u64::from_be_bytes)
    }
}

/// The attributes of a payload, in order.
///
/// Yields `Err(`[`Malformed`]`)` once, then stops, when the rest is too
/// short for a header or an `nla_len` is shorter than the header or longer
/// than the rest (so a nested attribute cannot overrun its parent).
#[derive(Clone, Debug)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    /// The attributes of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = core::mem::take(&mut self.rest);
        if rest.is_empty() {
            return None;
        }
        let Some(&[l0, l1, t0, t1]) = rest.first_chunk::<NLA_HDRLEN>() else {
            return Some(Err(Malformed));
        };
        let len = usize::from(u16::from_ne_bytes([l0, l1]));
        if len < NLA_HDRLEN {
            return Some(Err(Malformed));
        }
        let Some(payload) = rest.get(NLA_HDRLEN..len) else {
            return Some(Err(Malformed));
        };
        self.rest = rest
            .get(aligned_step(len, rest.len())..)
            .unwrap_or_default();
        Some(Ok(Attr {
            kind: u16::from_ne_bytes([t0, t1]) & NLA_TYPE_MASK,
            payload,
        }))
    }
}

impl core::iter::FusedIterator for Attrs<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    // The test-only builder: bytes laid out as the kernel's nla_put*,
    // nla_nest_* and nfnl_msg_put lay them out.

    /// An attribute whose `nla_len` says `len`, whatever the payload.
    fn raw_attr(len: u16, kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&len.to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(payload);
        while a.len() % NLA_ALIGNTO != 0 {
            a.push(0);
        }
        a
    }

    /// An attribute: header, payload, padding.
    fn attr(kind: u16, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(NLA_HDRLEN + payload.len()).unwrap();
        raw_attr(len, kind, payload)
    }

    fn nest(kind: u16, children: &[Vec<u8>]) -> Vec<u8> {
        attr(kind | NLA_F_NESTED, &children.concat())
    }

    /// A netlink message: header, payload, padding.
    fn message(kind: u16, flags: u16, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(NLMSG_HDRLEN + payload.len()).unwrap();
        let mut m = Vec::new();
        m.extend_from_slice(&len.to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&7u32.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(payload);
        while m.len() % NLMSG_ALIGNTO != 0 {
            m.push(0);
        }
        m
    }

    // Framing.

    #[test]
    fn messages_give_header_fields_and_skip_padding() {
        let mut bytes = message(0x0102, 0x0405, &[1, 2, 3, 4, 5]);
        assert_eq!(bytes.len(), 24);
        bytes.extend(message(NLMSG_DONE, 2, &[]));
        let mut msgs = Messages::new(&bytes);
        let first = msgs.next().unwrap().unwrap();
        assert_eq!(
            first,
            NlMsg {
                kind: 0x0102,
                flags: 0x0405,
                seq: 7,
                pid: 0,
                payload: &[1, 2, 3, 4, 5],
            }
        );
        let second = msgs.next().unwrap().unwrap();
        assert_eq!((second.kind, second.payload), (NLMSG_DONE, &[][..]));
        assert_eq!(msgs.next(), None);
    }

    #[test]
    fn the_last_message_may_lack_its_padding() {
        let bytes = message(NLMSG_NOOP, 0, &[9]);
        let unpadded = &bytes[..NLMSG_HDRLEN + 1];
        let msgs: Vec<_> = Messages::new(unpadded).collect();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].unwrap().payload, &[9]);
    }

    #[test]
    fn broken_message_framing_is_one_error_then_the_end() {
        let good = message(NLMSG_NOOP, 0, &[]);
        let mut short_len = good.clone();
        short_len[..4].copy_from_slice(&15u32.to_ne_bytes());
        let mut zero_len = good.clone();
        zero_len[..4].copy_from_slice(&0u32.to_ne_bytes());
        let mut long_len = good.clone();
        // Longer than the whole buffer, the message after it included.
        long_len[..4].copy_from_slice(&33u32.to_ne_bytes());
        let mut huge_len = good.clone();
        huge_len[..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        let cut = [good.clone(), good[..15].to_vec()].concat();
        for bad in [short_len, zero_len, long_len, huge_len] {
            let bytes = [bad.clone(), good.clone()].concat();
            let mut msgs = Messages::new(&bytes);
            assert_eq!(msgs.next(), Some(Err(Malformed)), "{bad:?}");
            assert_eq!(msgs.next(), None);
        }
        let mut msgs = Messages::new(&cut);
        assert!(msgs.next().unwrap().is_ok());
        assert_eq!(msgs.next(), Some(Err(Malformed)));
        assert_eq!(msgs.next(), None);
    }

    #[test]
    fn attrs_mask_flags_and_align() {
        let bytes = [
            attr(5 | NLA_F_NET_BYTEORDER, &[0xab]),
            nest(6, &[attr(7, &[1, 2])]),
            attr(8, &[]),
        ]
        .concat();
        let attrs: Vec<_> = Attrs::new(&bytes).map(Result::unwrap).collect();
        assert_eq!(attrs.len(), 3);
        assert_eq!((attrs[0].kind, attrs[0].payload), (5, &[0xab][..]));
        assert_eq!(attrs[0].u8(), Ok(0xab));
        assert_eq!(attrs[0].be16(), Err(Malformed));
        assert_eq!(attrs[1].kind, 6);
        let inner: Vec<_> = attrs[1].nested().map(Result::unwrap).collect();
        assert_eq!((inner[0].kind, inner[0].be16()), (7, Ok(0x0102)));
        assert_eq!((attrs[2].kind, attrs[2].payload), (8, &[][..]));
    }

    #[test]
    fn broken_attr_framing_is_one_error_then_the_end() {
        let good = attr(1, &[1, 2, 3, 4]);
        let zero_len = raw_attr(0, 1, &[]);
        let short_len = raw_attr(3, 1, &[]);
        let long_len = raw_attr(9, 1, &[1, 2, 3, 4]);
        for bad in [&good[..3], &zero_len, &short_len, &long_len] {
            let mut bytes = good.clone();
            bytes.extend_from_slice(bad);
            let mut attrs = Attrs::new(&bytes);
            assert!(attrs.next().unwrap().is_ok());
            assert_eq!(attrs.next(), Some(Err(Malformed)), "{bad:?}");
            assert_eq!(attrs.next(), None);
        }
    }
}

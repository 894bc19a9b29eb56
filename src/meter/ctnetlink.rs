// SPDX-License-Identifier: GPL-2.0-only
//! Conntrack event messages (ctnetlink) into NAT events.
//!
//! The capture listens on a `NETLINK_NETFILTER` socket subscribed to
//! `NFNLGRP_CONNTRACK_NEW` and `NFNLGRP_CONNTRACK_DESTROY`, which is what
//! `conntrack -E` receives, and hands the bytes of each received skb to
//! [`decode`]. Everything here reads only inside the given slice: no input
//! can make it panic or read past the end.
//!
//! The layouts, from the uapi headers:
//! - a buffer holds netlink messages, each a `struct nlmsghdr` (`u32 len`,
//!   `u16 type`, `u16 flags`, `u32 seq`, `u32 pid`, host byte order; `len`
//!   counts the header) and its payload, the next one starting 4-byte aligned
//!   ([`Messages`]);
//! - a ctnetlink payload is a `struct nfgenmsg` (`u8 family`, `u8 version`,
//!   `be16 res_id`) followed by attributes, each a `struct nlattr` (`u16 len`,
//!   `u16 type`, host byte order; `len` counts the header) and its payload,
//!   the next one 4-byte aligned; a nested attribute's payload is attributes
//!   again ([`Attrs`]);
//! - an event message carries `CTA_TUPLE_ORIG` and `CTA_TUPLE_REPLY` (each
//!   with `CTA_TUPLE_IP` { `CTA_IP_V4_SRC`, `CTA_IP_V4_DST` } and
//!   `CTA_TUPLE_PROTO` { `CTA_PROTO_NUM`, then `CTA_PROTO_SRC_PORT` and
//!   `CTA_PROTO_DST_PORT`, or for ICMP `CTA_PROTO_ICMP_ID`,
//!   `CTA_PROTO_ICMP_TYPE` and `CTA_PROTO_ICMP_CODE` }), `CTA_STATUS` (be32)
//!   and, with conntrack timestamps on, `CTA_TIMESTAMP` { `CTA_TIMESTAMP_START`,
//!   `CTA_TIMESTAMP_STOP` } (be64 nanoseconds since the epoch). Attribute
//!   payloads are in network byte order.

use super::nat_event::{NatEndpoints, NatEvent, NatEventKind};

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
/// `nlmsg_flags` bit: the object was created (set on conntrack creation
/// events, clear on updates).
pub const NLM_F_CREATE: u16 = 0x400;
/// `nlmsg_flags` bit the kernel sets next to [`NLM_F_CREATE`] on creation
/// events.
pub const NLM_F_EXCL: u16 = 0x200;

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

/// `sizeof(struct nfgenmsg)`, already a multiple of `NLMSG_ALIGNTO`.
pub const NFGENMSG_LEN: usize = 4;
/// The nfnetlink subsystem of conntrack messages (the high byte of
/// `nlmsg_type`).
pub const NFNL_SUBSYS_CTNETLINK: u8 = 1;
/// Conntrack message: an entry was created (with [`NLM_F_CREATE`]) or
/// updated (without).
pub const IPCTNL_MSG_CT_NEW: u8 = 0;
/// Conntrack message: an entry was destroyed.
pub const IPCTNL_MSG_CT_DELETE: u8 = 2;
/// `nfgen_family` of IPv4 conntrack entries.
pub const AF_INET: u8 = 2;
/// `nfgen_family` of IPv6 conntrack entries.
pub const AF_INET6: u8 = 10;

/// Top-level attribute: the original direction's tuple (nested).
pub const CTA_TUPLE_ORIG: u16 = 1;
/// Top-level attribute: the reply direction's tuple (nested).
pub const CTA_TUPLE_REPLY: u16 = 2;
/// Top-level attribute: the `IPS_*` status bits (be32).
pub const CTA_STATUS: u16 = 3;
/// Top-level attribute: seconds left before the entry times out (be32).
pub const CTA_TIMEOUT: u16 = 7;
/// Top-level attribute: the entry's id (be32).
pub const CTA_ID: u16 = 12;
/// Top-level attribute: the entry's start and stop times (nested).
pub const CTA_TIMESTAMP: u16 = 20;
/// In a tuple: the addresses (nested).
pub const CTA_TUPLE_IP: u16 = 1;
/// In a tuple: the protocol and ports (nested).
pub const CTA_TUPLE_PROTO: u16 = 2;
/// In a tuple: the conntrack zone (be16).
pub const CTA_TUPLE_ZONE: u16 = 3;
/// In `CTA_TUPLE_IP`: IPv4 source address.
pub const CTA_IP_V4_SRC: u16 = 1;
/// In `CTA_TUPLE_IP`: IPv4 destination address.
pub const CTA_IP_V4_DST: u16 = 2;
/// In `CTA_TUPLE_IP`: IPv6 source address.
pub const CTA_IP_V6_SRC: u16 = 3;
/// In `CTA_TUPLE_IP`: IPv6 destination address.
pub const CTA_IP_V6_DST: u16 = 4;
/// In `CTA_TUPLE_PROTO`: the IP protocol (u8).
pub const CTA_PROTO_NUM: u16 = 1;
/// In `CTA_TUPLE_PROTO`: source port (be16).
pub const CTA_PROTO_SRC_PORT: u16 = 2;
/// In `CTA_TUPLE_PROTO`: destination port (be16).
pub const CTA_PROTO_DST_PORT: u16 = 3;
/// In `CTA_TUPLE_PROTO`: ICMP echo id (be16), the tuple's source "port".
pub const CTA_PROTO_ICMP_ID: u16 = 4;
/// In `CTA_TUPLE_PROTO`: ICMP type (u8), the high byte of the tuple's
/// destination "port".
pub const CTA_PROTO_ICMP_TYPE: u16 = 5;
/// In `CTA_TUPLE_PROTO`: ICMP code (u8), the low byte of the tuple's
/// destination "port".
pub const CTA_PROTO_ICMP_CODE: u16 = 6;
/// In `CTA_TIMESTAMP`: when the entry was created (be64 ns since the epoch).
pub const CTA_TIMESTAMP_START: u16 = 1;
/// In `CTA_TIMESTAMP`: when the entry was destroyed (be64 ns since the
/// epoch); absent while it lives.
pub const CTA_TIMESTAMP_STOP: u16 = 2;
/// In `CTA_TIMESTAMP`: an empty attribute that 8-byte aligns the next one.
pub const CTA_TIMESTAMP_PAD: u16 = 3;

/// Status bit: the source was translated (SNAT, MASQUERADE).
pub const IPS_SRC_NAT: u32 = 1 << 4;
/// Status bit: the destination was translated (DNAT, REDIRECT).
pub const IPS_DST_NAT: u32 = 1 << 5;
/// Either translation: the entries NAT events are made of.
pub const IPS_NAT_MASK: u32 = IPS_SRC_NAT | IPS_DST_NAT;

const NSEC_PER_MSEC: u64 = 1_000_000;

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

/// How many messages of a buffer [`decode`] turned into events, skipped,
/// or found malformed. Each message counts once; framing that breaks
/// counts once as malformed and ends the buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeCounts {
    /// NAT events handed to the sink.
    pub events: u32,
    /// Well-formed messages that are not NAT events: other message types,
    /// updates, non-IPv4 or non-NAT entries.
    pub skipped: u32,
    /// Messages (or the rest of the buffer) that could not be read.
    pub malformed: u32,
}

/// Decodes the netlink messages of one received skb and hands each NAT
/// event to `sink`, in order.
///
/// `fallback_ms` (milliseconds since the Unix epoch, normally the time of
/// reception) is the time of events whose message carries no conntrack
/// timestamp. A malformed message is counted and decoding goes on with the
/// next one; a break in the framing itself ends the buffer. See
/// [`decode_message`] for what each message becomes.
pub fn decode<F: FnMut(NatEvent)>(bytes: &[u8], fallback_ms: u64, mut sink: F) -> DecodeCounts {
    let mut counts = DecodeCounts::default();
    for msg in Messages::new(bytes) {
        let count = match msg.and_then(|m| decode_message(&m, fallback_ms)) {
            Ok(Some(event)) => {
                sink(event);
                &mut counts.events
            }
            Ok(None) => &mut counts.skipped,
            Err(Malformed) => &mut counts.malformed,
        };
        *count = count.saturating_add(1);
    }
    counts
}

/// What a ctnetlink message type announces: `Create` for
/// `IPCTNL_MSG_CT_NEW` with [`NLM_F_CREATE`], `Delete` for
/// `IPCTNL_MSG_CT_DELETE`, `None` for anything else (updates, other
/// subsystems, `NLMSG_*` control messages).
pub fn event_kind(kind: u16, flags: u16) -> Option<NatEventKind> {
    let [subsys, op] = kind.to_be_bytes();
    if subsys != NFNL_SUBSYS_CTNETLINK {
        return None;
    }
    match op {
        IPCTNL_MSG_CT_NEW if flags & NLM_F_CREATE != 0 => Some(NatEventKind::Create),
        IPCTNL_MSG_CT_DELETE => Some(NatEventKind::Delete),
        _ => None,
    }
}

/// The NAT event one netlink message carries, if any.
///
/// `Ok(None)` (skipped) for a message [`event_kind`] does not take, an
/// `nfgen_family` other than [`AF_INET`], or a conntrack entry whose
/// `CTA_STATUS` has neither [`IPS_SRC_NAT`] nor [`IPS_DST_NAT`]. Only the
/// top-level attributes of a skipped entry are walked.
///
/// The event: `pre` is the original tuple; `post` is the reply tuple with
/// source and destination swapped, ports included (for ICMP, a tuple's
/// source "port" is the echo id and its destination "port" is
/// `type << 8 | code`, as conntrack keeps them); the protocol is the
/// original tuple's. The time is `CTA_TIMESTAMP_STOP` for a delete and
/// `CTA_TIMESTAMP_START` for a create, in milliseconds, or `fallback_ms`
/// when that is absent or zero. Ports a protocol does not dump are 0.
/// Attributes the decoder does not use are ignored; one given twice counts
/// as its last occurrence.
///
/// # Errors
/// [`Malformed`] when the payload is shorter than a `struct nfgenmsg`, an
/// attribute breaks the framing, `CTA_STATUS` is missing or short, or (for
/// a NAT entry) a tuple, its IPv4 addresses or its protocol number is
/// missing or short, or a port, ICMP field or timestamp is short.
pub fn decode_message(msg: &NlMsg<'_>, fallback_ms: u64) -> Result<Option<NatEvent>, Malformed> {
    let Some(kind) = event_kind(msg.kind, msg.flags) else {
        return Ok(None);
    };
    let Some((&[family, _version, _res0, _res1], attrs)) =
        msg.payload.split_first_chunk::<NFGENMSG_LEN>()
    else {
        return Err(Malformed);
    };
    if family != AF_INET {
        return Ok(None);
    }
    let (mut orig, mut reply, mut status, mut timestamp) = (None, None, None, None);
    for attr in Attrs::new(attrs) {
        let attr = attr?;
        match attr.kind {
            CTA_TUPLE_ORIG => orig = Some(attr),
            CTA_TUPLE_REPLY => reply = Some(attr),
            CTA_STATUS => status = Some(attr),
            CTA_TIMESTAMP => timestamp = Some(attr),
            _ => {}
        }
    }
    if status.ok_or(Malformed)?.be32()? & IPS_NAT_MASK == 0 {
        return Ok(None);
    }
    let (protocol, pre) = parse_tuple(orig.ok_or(Malformed)?)?;
    let (_, reply) = parse_tuple(reply.ok_or(Malformed)?)?;
    let wanted = match kind {
        NatEventKind::Create => CTA_TIMESTAMP_START,
        NatEventKind::Delete => CTA_TIMESTAMP_STOP,
    };
    let epoch_ms = match timestamp {
        Some(ts) => nested_be64(ts, wanted)?,
        None => None,
    }
    .filter(|&ns| ns != 0)
    .map_or(fallback_ms, |ns| ns / NSEC_PER_MSEC);
    Ok(Some(NatEvent {
        kind,
        protocol,
        pre,
        post: NatEndpoints {
            src: reply.dst,
            dst: reply.src,
            s_port: reply.d_port,
            d_port: reply.s_port,
        },
        epoch_ms,
    }))
}

/// The last `kind` attribute nested in `parent`, as a be64.
fn nested_be64(parent: Attr<'_>, kind: u16) -> Result<Option<u64>, Malformed> {
    let mut found = None;
    for attr in parent.nested() {
        let attr = attr?;
        if attr.kind == kind {
            found = Some(attr.be64()?);
        }
    }
    Ok(found)
}

/// One direction of an IPv4 conntrack entry (`CTA_TUPLE_ORIG` or
/// `CTA_TUPLE_REPLY`): its protocol, and its addresses and `u.all` values
/// in host order (ports, or the ICMP id and `type << 8 | code`).
fn parse_tuple(nest: Attr<'_>) -> Result<(u8, NatEndpoints), Malformed> {
    let (mut ip, mut proto) = (None, None);
    for attr in nest.nested() {
        let attr = attr?;
        match attr.kind {
            CTA_TUPLE_IP => ip = Some(attr),
            CTA_TUPLE_PROTO => proto = Some(attr),
            _ => {}
        }
    }
    let (mut src, mut dst) = (None, None);
    for attr in ip.ok_or(Malformed)?.nested() {
        let attr = attr?;
        match attr.kind {
            CTA_IP_V4_SRC => src = Some(attr.bytes()?),
            CTA_IP_V4_DST => dst = Some(attr.bytes()?),
            _ => {}
        }
    }
    let mut protocol = None;
    let (mut src_port, mut dst_port) = (None, None);
    let (mut icmp_id, mut icmp_type, mut icmp_code) = (None, None, None);
    for attr in proto.ok_or(Malformed)?.nested() {
        let attr = attr?;
        match attr.kind {
            CTA_PROTO_NUM => protocol = Some(attr.u8()?),
            CTA_PROTO_SRC_PORT => src_port = Some(attr.be16()?),
            CTA_PROTO_DST_PORT => dst_port = Some(attr.be16()?),
            CTA_PROTO_ICMP_ID => icmp_id = Some(attr.be16()?),
            CTA_PROTO_ICMP_TYPE => icmp_type = Some(attr.u8()?),
            CTA_PROTO_ICMP_CODE => icmp_code = Some(attr.u8()?),
            _ => {}
        }
    }
    // The kernel dumps either ports or ICMP fields, never both; the
    // ICMP type and code are the two bytes of the destination's u.all.
    let icmp_dst = u16::from_be_bytes([icmp_type.unwrap_or(0), icmp_code.unwrap_or(0)]);
    let ends = NatEndpoints {
        src: src.ok_or(Malformed)?,
        dst: dst.ok_or(Malformed)?,
        s_port: src_port.or(icmp_id).unwrap_or(0),
        d_port: dst_port.unwrap_or(icmp_dst),
    };
    Ok((protocol.ok_or(Malformed)?, ends))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    const ICMP: u8 = 1;
    const TCP: u8 = 6;
    const UDP: u8 = 17;
    const ESP: u8 = 50;
    /// Status bits of a confirmed entry that has seen a reply, besides NAT.
    const IPS_CONFIRMED_SEEN_REPLY: u32 = (1 << 3) | (1 << 1);
    const FALLBACK_MS: u64 = 1_700_000_000_123;

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

    /// A ctnetlink message: nfgenmsg, then the attributes.
    fn ct_message(op: u8, flags: u16, family: u8, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut payload = std::vec![family, 0, 0, 0];
        payload.extend_from_slice(&attrs.concat());
        message(
            u16::from_be_bytes([NFNL_SUBSYS_CTNETLINK, op]),
            flags,
            &payload,
        )
    }

    /// A tuple as ctnetlink_dump_tuples dumps it; `t` holds the raw
    /// `u.all` values as ports.
    fn tuple(kind: u16, protocol: u8, t: &NatEndpoints) -> Vec<u8> {
        let ip = nest(
            CTA_TUPLE_IP,
            &[attr(CTA_IP_V4_SRC, &t.src), attr(CTA_IP_V4_DST, &t.dst)],
        );
        let mut l4 = std::vec![attr(CTA_PROTO_NUM, &[protocol])];
        match protocol {
            ICMP => {
                let [icmp_type, icmp_code] = t.d_port.to_be_bytes();
                l4.push(attr(CTA_PROTO_ICMP_ID, &t.s_port.to_be_bytes()));
                l4.push(attr(CTA_PROTO_ICMP_TYPE, &[icmp_type]));
                l4.push(attr(CTA_PROTO_ICMP_CODE, &[icmp_code]));
            }
            ESP => {}
            _ => {
                l4.push(attr(CTA_PROTO_SRC_PORT, &t.s_port.to_be_bytes()));
                l4.push(attr(CTA_PROTO_DST_PORT, &t.d_port.to_be_bytes()));
            }
        }
        nest(kind, &[ip, nest(CTA_TUPLE_PROTO, &l4)])
    }

    fn be64_padded(kind: u16, v: u64) -> [Vec<u8>; 2] {
        // An empty CTA_TIMESTAMP_PAD first, as on architectures that need
        // 64-bit values 8-byte aligned.
        [attr(CTA_TIMESTAMP_PAD, &[]), attr(kind, &v.to_be_bytes())]
    }

    /// A conntrack entry, as far as an event message shows it.
    #[derive(Clone, Debug)]
    struct Ct {
        protocol: u8,
        orig: NatEndpoints,
        reply: NatEndpoints,
        status: u32,
        start_ns: Option<u64>,
        stop_ns: Option<u64>,
    }

    impl Ct {
        /// The attributes in ctnetlink_conntrack_event's order, with some
        /// the decoder does not use around the ones it does.
        fn attrs(&self) -> Vec<Vec<u8>> {
            let mut a = std::vec![
                tuple(CTA_TUPLE_ORIG, self.protocol, &self.orig),
                tuple(CTA_TUPLE_REPLY, self.protocol, &self.reply),
                attr(CTA_ID, &0x1234_5678u32.to_be_bytes()),
                attr(CTA_STATUS, &self.status.to_be_bytes()),
                attr(CTA_TIMEOUT, &120u32.to_be_bytes()),
            ];
            if let Some(start) = self.start_ns {
                let mut ts = be64_padded(CTA_TIMESTAMP_START, start).to_vec();
                if let Some(stop) = self.stop_ns {
                    ts.extend(be64_padded(CTA_TIMESTAMP_STOP, stop));
                }
                a.push(nest(CTA_TIMESTAMP, &ts));
            }
            a
        }

        fn message(&self, kind: NatEventKind) -> Vec<u8> {
            let (op, flags) = match kind {
                NatEventKind::Create => (IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL),
                NatEventKind::Delete => (IPCTNL_MSG_CT_DELETE, 0),
            };
            ct_message(op, flags, AF_INET, &self.attrs())
        }

        /// The event the message must give, worked out from the entry.
        fn event(&self, kind: NatEventKind, fallback_ms: u64) -> NatEvent {
            let ns = match kind {
                NatEventKind::Create => self.start_ns,
                NatEventKind::Delete => self.start_ns.and(self.stop_ns),
            };
            NatEvent {
                kind,
                protocol: self.protocol,
                pre: self.orig,
                post: NatEndpoints {
                    src: self.reply.dst,
                    dst: self.reply.src,
                    s_port: self.reply.d_port,
                    d_port: self.reply.s_port,
                },
                epoch_ms: ns
                    .filter(|&n| n != 0)
                    .map_or(fallback_ms, |n| n / 1_000_000),
            }
        }
    }

    fn endpoints(src: [u8; 4], s_port: u16, dst: [u8; 4], d_port: u16) -> NatEndpoints {
        NatEndpoints {
            src,
            dst,
            s_port,
            d_port,
        }
    }

    const CLIENT: [u8; 4] = [10, 0, 0, 2];
    const SERVER: [u8; 4] = [192, 0, 2, 9];
    const PUBLIC: [u8; 4] = [198, 51, 100, 1];

    fn snat_tcp() -> Ct {
        Ct {
            protocol: TCP,
            orig: endpoints(CLIENT, 40000, SERVER, 80),
            reply: endpoints(SERVER, 80, PUBLIC, 1024),
            status: IPS_CONFIRMED_SEEN_REPLY | IPS_SRC_NAT,
            start_ns: None,
            stop_ns: None,
        }
    }

    fn decode_all(bytes: &[u8]) -> (DecodeCounts, Vec<NatEvent>) {
        let mut events = Vec::new();
        let counts = decode(bytes, FALLBACK_MS, |e| events.push(e));
        assert_eq!(counts.events as usize, events.len());
        (counts, events)
    }

    fn counts(events: u32, skipped: u32, malformed: u32) -> DecodeCounts {
        DecodeCounts {
            events,
            skipped,
            malformed,
        }
    }

    /// The one event of a one-message buffer.
    fn only_event(bytes: &[u8]) -> NatEvent {
        let (c, events) = decode_all(bytes);
        assert_eq!(c, counts(1, 0, 0));
        events[0]
    }

    fn skipped(bytes: &[u8]) -> bool {
        decode_all(bytes).0 == counts(0, 1, 0)
    }

    fn malformed(bytes: &[u8]) -> bool {
        decode_all(bytes).0 == counts(0, 0, 1)
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

    #[test]
    fn event_kinds() {
        let ct = |op| u16::from_be_bytes([NFNL_SUBSYS_CTNETLINK, op]);
        let create = Some(NatEventKind::Create);
        assert_eq!(event_kind(ct(IPCTNL_MSG_CT_NEW), NLM_F_CREATE), create);
        assert_eq!(event_kind(ct(IPCTNL_MSG_CT_NEW), 0), None);
        let delete = Some(NatEventKind::Delete);
        assert_eq!(event_kind(ct(IPCTNL_MSG_CT_DELETE), 0), delete);
        assert_eq!(event_kind(ct(1), NLM_F_CREATE), None);
        // The same operations in the expectation subsystem.
        assert_eq!(event_kind(0x0200, NLM_F_CREATE), None);
        assert_eq!(event_kind(0x0202, 0), None);
        for control in [NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE] {
            assert_eq!(event_kind(control, NLM_F_CREATE), None);
        }
    }

    // Events.

    #[test]
    fn snat_tcp_create() {
        let e = only_event(&snat_tcp().message(NatEventKind::Create));
        assert_eq!(e.kind, NatEventKind::Create);
        assert_eq!(e.protocol, TCP);
        assert_eq!(e.pre, endpoints(CLIENT, 40000, SERVER, 80));
        assert_eq!(e.post, endpoints(PUBLIC, 1024, SERVER, 80));
        assert!(e.src_translated() && !e.dst_translated());
        assert_eq!(e.epoch_ms, FALLBACK_MS);
    }

    #[test]
    fn dnat_udp_create() {
        let outside = [203, 0, 113, 7];
        let inside = [10, 1, 0, 5];
        let ct = Ct {
            protocol: UDP,
            orig: endpoints(outside, 5353, PUBLIC, 53),
            reply: endpoints(inside, 5300, outside, 5353),
            status: IPS_CONFIRMED_SEEN_REPLY | IPS_DST_NAT,
            ..snat_tcp()
        };
        let e = only_event(&ct.message(NatEventKind::Create));
        assert_eq!(e.protocol, UDP);
        assert_eq!(e.pre, endpoints(outside, 5353, PUBLIC, 53));
        assert_eq!(e.post, endpoints(outside, 5353, inside, 5300));
        assert!(!e.src_translated() && e.dst_translated());
    }

    #[test]
    fn masquerade_icmp_echo_maps_id_type_and_code() {
        // Echo request id 0x1234, type 8 code 0; MASQUERADE remapped the
        // id to 0x0400, and the reply direction expects an echo reply
        // (type 0 code 0).
        let ct = Ct {
            protocol: ICMP,
            orig: endpoints(CLIENT, 0x1234, SERVER, 8 << 8),
            reply: endpoints(SERVER, 0x0400, PUBLIC, 0),
            status: IPS_CONFIRMED_SEEN_REPLY | IPS_SRC_NAT,
            ..snat_tcp()
        };
        let bytes = ct.message(NatEventKind::Create);
        let e = only_event(&bytes);
        assert_eq!(e.protocol, ICMP);
        assert_eq!((e.pre.s_port, e.pre.d_port), (0x1234, 0x0800));
        // The raw swap: the reply's destination u.all (type 0, code 0)
        // becomes the source "port", its id the destination "port".
        assert_eq!(e.post, endpoints(PUBLIC, 0, SERVER, 0x0400));

        // The code is the low byte.
        let ct = Ct {
            orig: endpoints(CLIENT, 0x1234, SERVER, 0x0d05),
            ..ct
        };
        let e = only_event(&ct.message(NatEventKind::Create));
        assert_eq!(e.pre.d_port, 0x0d05);
    }

    #[test]
    fn protocols_without_ports_have_zero_ports() {
        let ct = Ct {
            protocol: ESP,
            orig: endpoints(CLIENT, 0, SERVER, 0),
            reply: endpoints(SERVER, 0, PUBLIC, 0),
            ..snat_tcp()
        };
        let e = only_event(&ct.message(NatEventKind::Create));
        assert_eq!(e.post, endpoints(PUBLIC, 0, SERVER, 0));
    }

    #[test]
    fn delete_takes_the_stop_timestamp() {
        let ct = Ct {
            start_ns: Some(1_700_000_000_000_000_000),
            stop_ns: Some(1_700_000_042_987_654_321),
            ..snat_tcp()
        };
        let e = only_event(&ct.message(NatEventKind::Delete));
        assert_eq!(e.kind, NatEventKind::Delete);
        assert_eq!(e.epoch_ms, 1_700_000_042_987);
        assert_eq!(e, ct.event(NatEventKind::Delete, FALLBACK_MS));
    }

    #[test]
    fn create_takes_the_start_timestamp() {
        let ct = Ct {
            start_ns: Some(1_700_000_000_999_999_999),
            ..snat_tcp()
        };
        let e = only_event(&ct.message(NatEventKind::Create));
        assert_eq!(e.epoch_ms, 1_700_000_000_999);
    }

    #[test]
    fn without_the_timestamp_it_wants_the_time_is_the_fallback() {
        let e = only_event(&snat_tcp().message(NatEventKind::Create));
        assert_eq!(e.epoch_ms, FALLBACK_MS);
        let e = only_event(&snat_tcp().message(NatEventKind::Delete));
        assert_eq!(e.epoch_ms, FALLBACK_MS);
        // A delete with a start but no stop (timestamps turned on while
        // the entry lived).
        let ct = Ct {
            start_ns: Some(1_700_000_000_000_000_000),
            ..snat_tcp()
        };
        let e = only_event(&ct.message(NatEventKind::Delete));
        assert_eq!(e.epoch_ms, FALLBACK_MS);
        // A zero timestamp is no time at all.
        let ct = Ct {
            start_ns: Some(0),
            ..snat_tcp()
        };
        let e = only_event(&ct.message(NatEventKind::Create));
        assert_eq!(e.epoch_ms, FALLBACK_MS);
    }

    #[test]
    fn an_attribute_given_twice_counts_as_the_last() {
        let mut attrs = snat_tcp().attrs();
        attrs.push(attr(CTA_STATUS, &IPS_CONFIRMED_SEEN_REPLY.to_be_bytes()));
        let bytes = ct_message(IPCTNL_MSG_CT_DELETE, 0, AF_INET, &attrs);
        assert!(skipped(&bytes));
        let mut attrs = snat_tcp().attrs();
        attrs.insert(0, attr(CTA_STATUS, &IPS_CONFIRMED_SEEN_REPLY.to_be_bytes()));
        let bytes = ct_message(IPCTNL_MSG_CT_DELETE, 0, AF_INET, &attrs);
        assert_eq!(only_event(&bytes).kind, NatEventKind::Delete);
    }

    // Skipped.

    #[test]
    fn non_nat_entries_are_skipped() {
        let ct = Ct {
            status: IPS_CONFIRMED_SEEN_REPLY,
            reply: endpoints(SERVER, 80, CLIENT, 40000),
            ..snat_tcp()
        };
        assert!(skipped(&ct.message(NatEventKind::Create)));
        assert!(skipped(&ct.message(NatEventKind::Delete)));
    }

    #[test]
    fn ipv6_entries_are_skipped() {
        let v6 = |kind, src: u8, dst: u8| {
            let ip = nest(
                CTA_TUPLE_IP,
                &[
                    attr(CTA_IP_V6_SRC, &[src; 16]),
                    attr(CTA_IP_V6_DST, &[dst; 16]),
                ],
            );
            let proto = nest(CTA_TUPLE_PROTO, &[attr(CTA_PROTO_NUM, &[TCP])]);
            nest(kind, &[ip, proto])
        };
        let status = IPS_CONFIRMED_SEEN_REPLY | IPS_SRC_NAT;
        let attrs = [
            v6(CTA_TUPLE_ORIG, 1, 2),
            v6(CTA_TUPLE_REPLY, 2, 3),
            attr(CTA_STATUS, &status.to_be_bytes()),
        ];
        let bytes = ct_message(IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET6, &attrs);
        assert!(skipped(&bytes));
    }

    #[test]
    fn updates_and_other_messages_are_skipped() {
        let attrs = snat_tcp().attrs();
        assert!(skipped(&ct_message(IPCTNL_MSG_CT_NEW, 0, AF_INET, &attrs)));
        // An expectation (NFNL_SUBSYS_CTNETLINK_EXP) being created.
        let exp = message(0x0200, NLM_F_CREATE, &[AF_INET, 0, 0, 0]);
        assert!(skipped(&exp));
        for control in [NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE] {
            assert!(skipped(&message(control, 0, &[0; 4])));
        }
        // Skipped on its type, the payload unread.
        assert!(skipped(&message(NLMSG_DONE, 0, &[0xff; 3])));
    }

    #[test]
    fn several_messages_in_one_buffer() {
        let dnat = Ct {
            status: IPS_DST_NAT,
            start_ns: Some(5_000_000),
            stop_ns: Some(9_000_000),
            ..snat_tcp()
        };
        let plain = Ct {
            status: IPS_CONFIRMED_SEEN_REPLY,
            ..snat_tcp()
        };
        let bytes = [
            snat_tcp().message(NatEventKind::Create),
            ct_message(IPCTNL_MSG_CT_NEW, 0, AF_INET, &snat_tcp().attrs()),
            plain.message(NatEventKind::Delete),
            dnat.message(NatEventKind::Delete),
            message(NLMSG_DONE, 0, &[0; 4]),
        ]
        .concat();
        let (c, events) = decode_all(&bytes);
        assert_eq!(c, counts(2, 3, 0));
        assert_eq!(
            events,
            [
                snat_tcp().event(NatEventKind::Create, FALLBACK_MS),
                dnat.event(NatEventKind::Delete, FALLBACK_MS),
            ]
        );
        assert_eq!(events[1].epoch_ms, 9);
    }

    // Malformed.

    #[test]
    fn a_truncated_header_ends_the_buffer() {
        let one = snat_tcp().message(NatEventKind::Create);
        let mut bytes = one.clone();
        bytes.extend_from_slice(&one[..NLMSG_HDRLEN - 1]);
        assert_eq!(decode_all(&bytes).0, counts(1, 0, 1));
        assert!(malformed(&one[..8]));
        assert_eq!(decode_all(&[]).0, counts(0, 0, 0));
    }

    #[test]
    fn a_message_longer_than_the_buffer_ends_it() {
        let one = snat_tcp().message(NatEventKind::Create);
        assert!(malformed(&one[..one.len() - 1]));
        // Even with a second message after it, which must not be read.
        let mut bytes = one.clone();
        let too_long = u32::try_from(2 * one.len() + 4).unwrap();
        bytes[..4].copy_from_slice(&too_long.to_ne_bytes());
        bytes.extend_from_slice(&one);
        assert_eq!(decode_all(&bytes).0, counts(0, 0, 1));
    }

    /// A malformed message between two good ones: the next one still
    /// decodes.
    fn malformed_between_good_ones(attrs: &[Vec<u8>]) -> bool {
        let good = snat_tcp().message(NatEventKind::Create);
        let bad = ct_message(IPCTNL_MSG_CT_DELETE, 0, AF_INET, attrs);
        let (c, _) = decode_all(&[good.clone(), bad, good].concat());
        c == counts(2, 0, 1)
    }

    fn status_attr(status: u32) -> Vec<u8> {
        attr(CTA_STATUS, &status.to_be_bytes())
    }

    #[test]
    fn an_attribute_longer_than_its_message() {
        let mut attrs = snat_tcp().attrs();
        attrs.push(raw_attr(64, CTA_TIMEOUT, &[0; 4]));
        assert!(malformed_between_good_ones(&attrs));
    }

    #[test]
    fn a_nested_attribute_overrunning_its_parent() {
        let ct = snat_tcp();
        // CTA_TUPLE_IP claims more bytes than CTA_TUPLE_ORIG holds; the
        // reply tuple that follows would satisfy it.
        let ip = raw_attr(40, CTA_TUPLE_IP | NLA_F_NESTED, &[]);
        let attrs = [
            attr(CTA_TUPLE_ORIG | NLA_F_NESTED, &ip),
            tuple(CTA_TUPLE_REPLY, TCP, &ct.reply),
            status_attr(ct.status),
        ];
        assert!(malformed_between_good_ones(&attrs));
        // Same one level down: an address overrunning CTA_TUPLE_IP.
        let addr = raw_attr(12, CTA_IP_V4_SRC, &CLIENT);
        let ip = attr(CTA_TUPLE_IP | NLA_F_NESTED, &addr);
        let proto = nest(CTA_TUPLE_PROTO, &[attr(CTA_PROTO_NUM, &[TCP])]);
        let attrs = [
            attr(CTA_TUPLE_ORIG | NLA_F_NESTED, &[ip, proto].concat()),
            tuple(CTA_TUPLE_REPLY, TCP, &ct.reply),
            status_attr(ct.status),
        ];
        assert!(malformed_between_good_ones(&attrs));
    }

    #[test]
    fn zero_length_attributes() {
        let mut attrs = snat_tcp().attrs();
        attrs.insert(2, raw_attr(0, CTA_ID, &[]));
        assert!(malformed_between_good_ones(&attrs));
        // Nested, inside a tuple.
        let ct = snat_tcp();
        let attrs = [
            nest(CTA_TUPLE_ORIG, &[raw_attr(0, 0, &[])]),
            tuple(CTA_TUPLE_REPLY, TCP, &ct.reply),
            status_attr(ct.status),
        ];
        assert!(malformed_between_good_ones(&attrs));
        // An empty payload where a value is due.
        let mut attrs = snat_tcp().attrs();
        attrs[3] = attr(CTA_STATUS, &[]);
        assert!(malformed_between_good_ones(&attrs));
    }

    #[test]
    fn missing_or_short_parts() {
        let ct = snat_tcp();
        let orig = tuple(CTA_TUPLE_ORIG, TCP, &ct.orig);
        let reply = tuple(CTA_TUPLE_REPLY, TCP, &ct.reply);
        let status = status_attr(ct.status);
        assert!(malformed_between_good_ones(&[orig.clone(), status.clone()]));
        assert!(malformed_between_good_ones(&[
            reply.clone(),
            status.clone()
        ]));
        assert!(malformed_between_good_ones(&[orig.clone(), reply.clone()]));
        let short_status = attr(CTA_STATUS, &[0, 0, 0x30]);
        assert!(malformed_between_good_ones(&[
            orig.clone(),
            reply.clone(),
            short_status
        ]));

        let with_orig = |parts: &[Vec<u8>]| {
            let orig = nest(CTA_TUPLE_ORIG, parts);
            malformed_between_good_ones(&[orig, reply.clone(), status.clone()])
        };
        let ip = |src: &[u8], dst: &[u8]| {
            nest(
                CTA_TUPLE_IP,
                &[attr(CTA_IP_V4_SRC, src), attr(CTA_IP_V4_DST, dst)],
            )
        };
        let proto = |parts: &[Vec<u8>]| nest(CTA_TUPLE_PROTO, parts);
        let num = || attr(CTA_PROTO_NUM, &[TCP]);
        // Sanity: the full set is fine.
        assert!(!with_orig(&[ip(&CLIENT, &SERVER), proto(&[num()])]));
        assert!(with_orig(&[proto(&[num()])]));
        assert!(with_orig(&[ip(&CLIENT, &SERVER)]));
        assert!(with_orig(&[ip(&CLIENT, &SERVER), proto(&[])]));
        assert!(with_orig(&[ip(&CLIENT, &[1, 2, 3]), proto(&[num()])]));
        let only_src = nest(CTA_TUPLE_IP, &[attr(CTA_IP_V4_SRC, &CLIENT)]);
        assert!(with_orig(&[only_src, proto(&[num()])]));
        let short_port = attr(CTA_PROTO_SRC_PORT, &[1]);
        assert!(with_orig(&[
            ip(&CLIENT, &SERVER),
            proto(&[num(), short_port])
        ]));

        // A short timestamp.
        let ts = nest(CTA_TIMESTAMP, &[attr(CTA_TIMESTAMP_STOP, &[0; 7])]);
        assert!(malformed_between_good_ones(&[
            orig.clone(),
            reply.clone(),
            status.clone(),
            ts
        ]));
        // A payload too short for its nfgenmsg.
        let bytes = message(
            u16::from_be_bytes([NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE]),
            0,
            &[AF_INET, 0],
        );
        assert!(malformed(&bytes));
    }

    // Properties.

    fn any_endpoints(ports: bool) -> impl Strategy<Value = NatEndpoints> {
        let port = if ports {
            any::<u16>().boxed()
        } else {
            Just(0).boxed()
        };
        (any::<[u8; 4]>(), any::<[u8; 4]>(), port.clone(), port)
            .prop_map(|(src, dst, s, d)| endpoints(src, s, dst, d))
    }

    fn any_ct() -> impl Strategy<Value = Ct> {
        let protocol = prop_oneof![Just(ICMP), Just(TCP), Just(UDP), Just(132), Just(ESP)];
        let nat = prop_oneof![Just(IPS_SRC_NAT), Just(IPS_DST_NAT), Just(IPS_NAT_MASK)];
        let time = proptest::option::of(any::<u64>());
        (protocol, any::<u32>(), nat, time.clone(), time).prop_flat_map(
            |(protocol, status, nat, start_ns, stop_ns)| {
                let ports = protocol != ESP;
                (any_endpoints(ports), any_endpoints(ports)).prop_map(move |(orig, reply)| Ct {
                    protocol,
                    orig,
                    reply,
                    status: (status & !IPS_NAT_MASK) | nat,
                    start_ns,
                    stop_ns,
                })
            },
        )
    }

    fn any_kind() -> impl Strategy<Value = NatEventKind> {
        prop_oneof![Just(NatEventKind::Create), Just(NatEventKind::Delete)]
    }

    /// Each message the framing yields (or the error ending it) counts
    /// exactly once.
    fn counts_add_up(bytes: &[u8]) -> DecodeCounts {
        let (c, _) = decode_all(bytes);
        let items = Messages::new(bytes).count();
        assert_eq!((c.events + c.skipped + c.malformed) as usize, items);
        c
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            counts_add_up(&bytes);
        }

        #[test]
        fn well_formed_events_round_trip(ct in any_ct(), kind in any_kind(), fallback in any::<u64>()) {
            let mut events = Vec::new();
            let c = decode(&ct.message(kind), fallback, |e| events.push(e));
            prop_assert_eq!(c, counts(1, 0, 0));
            prop_assert_eq!(events, [ct.event(kind, fallback)]);
        }

        #[test]
        fn buffers_of_events_round_trip(cts in proptest::collection::vec((any_ct(), any_kind()), 0..8)) {
            let bytes: Vec<u8> = cts.iter().flat_map(|(ct, kind)| ct.message(*kind)).collect();
            let (c, events) = decode_all(&bytes);
            prop_assert_eq!(c, counts(cts.len() as u32, 0, 0));
            let want: Vec<_> = cts.iter().map(|(ct, kind)| ct.event(*kind, FALLBACK_MS)).collect();
            prop_assert_eq!(events, want);
        }

        #[test]
        fn a_cut_buffer_is_malformed(ct in any_ct(), kind in any_kind(), cut in any::<prop::sample::Index>()) {
            let bytes = ct.message(kind);
            let cut = cut.index(bytes.len());
            let want = if cut == 0 { counts(0, 0, 0) } else { counts(0, 0, 1) };
            prop_assert_eq!(counts_add_up(&bytes[..cut]), want);
        }

        #[test]
        fn corrupted_events_never_panic(
            ct in any_ct(),
            kind in any_kind(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut bytes = ct.message(kind);
            bytes.extend(ct.message(kind));
            for (at, b) in flips {
                let at = at.index(bytes.len());
                bytes[at] = b;
            }
            counts_add_up(&bytes);
        }
    }
}

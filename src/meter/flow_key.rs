// SPDX-License-Identifier: GPL-2.0-only
//! From header bytes to a flow key: what identifies a flow, and what else
//! one packet contributes to it.
//!
//! The parser reads only through [`PacketBytes`], so no input can make it
//! read past a packet's end: a packet whose network header is cut short is
//! [`Truncated`]; a transport header that is missing only leaves the port
//! fields zero, as in the original module.

use super::link_layer::L2Key;
use super::packet::{L3Family, PacketBytes, IPV6_HEADER_LEN};
use core::mem::MaybeUninit;

/// IP protocol numbers the parser knows.
pub mod proto {
    /// IPv6 hop-by-hop options.
    pub const HOPOPTS: u8 = 0;
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// IGMP.
    pub const IGMP: u8 = 2;
    /// IP in IP.
    pub const IPIP: u8 = 4;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// DCCP.
    pub const DCCP: u8 = 33;
    /// IPv6 routing header.
    pub const ROUTING: u8 = 43;
    /// IPv6 fragment header.
    pub const FRAGMENT: u8 = 44;
    /// GRE.
    pub const GRE: u8 = 47;
    /// IPsec ESP.
    pub const ESP: u8 = 50;
    /// IPsec AH.
    pub const AH: u8 = 51;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// IPv6 "no next header".
    pub const NONE: u8 = 59;
    /// IPv6 destination options.
    pub const DSTOPTS: u8 = 60;
    /// PIM.
    pub const PIM: u8 = 103;
    /// IP payload compression.
    pub const COMP: u8 = 108;
    /// L2TP.
    pub const L2TP: u8 = 115;
    /// SCTP.
    pub const SCTP: u8 = 132;
    /// IPv6 mobility header.
    pub const MH: u8 = 135;
    /// UDP-Lite.
    pub const UDPLITE: u8 = 136;
}

/// `ipv6ExtensionHeaders` bits (IPFIX element 64), as the original sets them:
/// bit *n* is `0x8000 >> n`.
pub mod ext_bit {
    /// Destination options.
    pub const DSTOPTS: u16 = 0x8000;
    /// Hop-by-hop options.
    pub const HOPOPTS: u16 = 0x8000 >> 1;
    /// A header the parser does not know.
    pub const UNKNOWN: u16 = 0x8000 >> 3;
    /// Fragment header of a first fragment.
    pub const FRAG0: u16 = 0x8000 >> 4;
    /// Routing header.
    pub const ROUTING: u16 = 0x8000 >> 5;
    /// Fragment header of a later fragment.
    pub const FRAG1: u16 = 0x8000 >> 6;
    /// Mobility header.
    pub const MH: u16 = 0x8000 >> 12;
    /// ESP.
    pub const ESP: u16 = 0x8000 >> 13;
    /// AH.
    pub const AH: u16 = 0x8000 >> 14;
    /// Payload compression.
    pub const COMP: u16 = 0x8000 >> 15;
}

/// The input interface of packets that have none (locally generated ones,
/// in OUTPUT and POSTROUTING): the original's `-1` in a 16-bit field.
pub const NO_INTERFACE: u16 = 0xffff;

/// What identifies a flow. Two packets with equal keys are accounted into
/// the same flow record.
///
/// The layout is 64-bit words with no implicit padding (six in the default
/// build; the link-layer fields of builds that compile them in add more),
/// so hashing and comparing a key are a handful of word operations.
#[derive(Clone, Copy, Debug, Default, Eq)]
#[repr(C, align(8))]
pub struct FlowKey {
    /// Source address; IPv4 uses the first 4 bytes, the rest stays zero.
    pub src: [u8; 16],
    /// Destination address, like `src`.
    pub dst: [u8; 16],
    /// Source port, or the lower half of an IPsec SPI (host order; see
    /// [`FlowKey::set_ipsec_spi`]).
    pub s_port: u16,
    /// Destination port, ICMP type<<8|code, IGMP type, or the upper half
    /// of an IPsec SPI (host order).
    pub d_port: u16,
    /// Input interface index, or [`NO_INTERFACE`].
    pub i_ifc: u16,
    /// Transport protocol; for IPv6 the one after the extension headers.
    pub protocol: u8,
    /// IPv4 TOS byte, or the IPv6 traffic class (see [`parse`]).
    pub tos: u8,
    /// 4 or 6.
    pub ip_version: u8,
    /// MAC addresses and VLAN tags, in the builds that key flows by them
    /// (empty in the default build).
    pub l2: L2Key,
    /// Always zero: makes the padding explicit so every byte is defined.
    pub _pad: [u8; KEY_PAD],
}

/// Bytes of a key before its link-layer part.
const KEY_HEAD: usize = 41;
/// Padding that rounds the key up to whole words.
const KEY_PAD: usize = (8 - (KEY_HEAD + core::mem::size_of::<L2Key>()) % 8) % 8;
/// The key's size in 64-bit words: 6 in the default build.
pub const KEY_WORDS: usize = (KEY_HEAD + core::mem::size_of::<L2Key>() + KEY_PAD) / 8;

impl FlowKey {
    /// The key as words, for hashing and comparing: six loads in the
    /// default build.
    #[inline(always)]
    pub fn words(&self) -> [u64; KEY_WORDS] {
        // SAFETY: `FlowKey` is `repr(C, align(8))` and `KEY_WORDS` words of
        // byte arrays and integers with no implicit padding (asserted
        // below), so all of its bytes are initialised and it has the size
        // and alignment of `[u64; KEY_WORDS]`, for which any bytes are valid.
        unsafe { *core::ptr::from_ref(self).cast::<[u64; KEY_WORDS]>() }
    }

    /// The IPv4 source address (meaningful when `ip_version == 4`).
    pub fn src_v4(&self) -> [u8; 4] {
        [self.src[0], self.src[1], self.src[2], self.src[3]]
    }

    /// The IPv4 destination address (meaningful when `ip_version == 4`).
    pub fn dst_v4(&self) -> [u8; 4] {
        [self.dst[0], self.dst[1], self.dst[2], self.dst[3]]
    }

    /// Keys an ESP or AH flow by its SPI, split over the two ports as the
    /// original module splits it on x86 (it loads the big-endian SPI as a
    /// little-endian word and stores each half as a port in network order):
    /// SPI 0x12345678 gives source port 0x5678 and destination port 0x1234.
    /// NetFlow v5 records and the flow dump show the ports, so collectors
    /// fed by the original see the same values from this module.
    pub fn set_ipsec_spi(&mut self, spi: u32) {
        [self.s_port, self.d_port] = spi_ports(spi);
    }

    /// The SPI of an ESP or AH flow (see [`FlowKey::set_ipsec_spi`]).
    pub fn ipsec_spi(&self) -> u32 {
        u32::from(self.d_port) << 16 | u32::from(self.s_port)
    }
}

// `words` relies on this: no implicit padding anywhere in the key (the
// link-layer part is byte arrays only, so it sits unaligned at KEY_HEAD).
const _: () = assert!(
    core::mem::size_of::<FlowKey>() == KEY_WORDS * 8
        && core::mem::offset_of!(FlowKey, l2) == KEY_HEAD
        && core::mem::align_of::<FlowKey>() == 8
);
// The default build's key stays six words.
#[cfg(not(any(feature = "mac", feature = "vlan", feature = "mpls")))]
const _: () = assert!(KEY_WORDS == 6);

/// Word-wise, every byte: the same result as comparing field by field
/// (the padding is part of the key and always zero), in six compares in
/// the default build.
impl PartialEq for FlowKey {
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.words(), other.words());
        let mut diff = (a[0] ^ b[0])
            | (a[1] ^ b[1])
            | (a[2] ^ b[2])
            | (a[3] ^ b[3])
            | (a[4] ^ b[4])
            | (a[5] ^ b[5]);
        // The link-layer words of builds that have them.
        for (x, y) in a[6..].iter().zip(&b[6..]) {
            diff |= x ^ y;
        }
        diff == 0
    }
}

/// Over the same words as `eq`, so equal keys hash equally.
impl core::hash::Hash for FlowKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.words().hash(state);
    }
}

/// The network header could not be read: the packet is dropped and counted
/// as truncated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truncated;

/// Everything one packet contributes to its flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketInfo {
    /// The flow key.
    pub key: FlowKey,
    /// Bytes as the IP header states them (IPv4 `tot_len`, IPv6
    /// `payload_len` + 40).
    pub ip_len: u32,
    /// TCP flags (CWR ECE URG ACK PSH RST SYN FIN).
    pub tcp_flags: u8,
    /// IPv4: options bitmap (bit `31 - option number`); IPv6: the
    /// extension-header bits of [`ext_bit`].
    pub options: u32,
    /// TCP options bitmap: bit `31 - kind` for kinds below 32.
    pub tcp_options: u32,
    /// IPv6 flow label (20 bits).
    pub flow_label: u32,
    /// The packet is a fragment: transport fields were not read.
    pub fragment: bool,
}

/// Parses the headers of one packet.
///
/// Deliberate differences from the original, documented in README:
/// - IPv6 `tos` is the whole traffic class byte (DSCP and ECN), like the IPv4
///   TOS byte; the original kept only its upper 4 bits.
/// - IPv4 option bits use the 5-bit option number (`op & 0x1f`); the
///   original's `op & 0x17` mapped e.g. SSR (137) onto NOP's bit.
/// - An IPv6 non-first fragment ends the extension-header walk at the
///   fragment header (what follows it is payload, not headers).
pub fn parse<P: PacketBytes + ?Sized>(
    pkt: &P,
    family: L3Family,
    in_ifindex: u16,
) -> Result<PacketInfo, Truncated> {
    parse_into(pkt, family, in_ifindex, &mut MaybeUninit::uninit()).copied()
}

/// [`parse`] into the caller's `info`, which it initialises whole and
/// returns: the packet path's form. Nothing is moved and nothing stored
/// twice (an `info` zeroed first cost a dozen instructions a packet, which
/// the compiler could not drop).
#[inline(always)]
pub fn parse_into<'i, P: PacketBytes + ?Sized>(
    pkt: &P,
    family: L3Family,
    in_ifindex: u16,
    info: &'i mut MaybeUninit<PacketInfo>,
) -> Result<&'i mut PacketInfo, Truncated> {
    match family {
        L3Family::Ipv4 => parse_ipv4(pkt, in_ifindex, info),
        L3Family::Ipv6 => parse_ipv6(pkt, in_ifindex, info.write(PacketInfo::default())),
    }
}

/// The IPv4 form of [`parse_into`]: the whole record in one assignment,
/// then the transport fields.
#[inline(always)]
fn parse_ipv4<'i, P: PacketBytes + ?Sized>(
    pkt: &P,
    in_ifindex: u16,
    info: &'i mut MaybeUninit<PacketInfo>,
) -> Result<&'i mut PacketInfo, Truncated> {
    let mut scratch = MaybeUninit::<[u8; 20]>::uninit();
    let h = pkt.header(0, &mut scratch).ok_or(Truncated)?;
    let ihl = usize::from(h[0] & 0x0f) * 4;
    if ihl < 20 {
        return Err(Truncated);
    }
    let protocol = h[9];
    // Only later fragments lack the transport header (offset != 0).
    let fragment = u16::from_be_bytes([h[6], h[7]]) & 0x1fff != 0;
    let options = if ihl > 20 {
        pkt.bytes(20, ihl - 20, &mut [0u8; 40])
            .map_or(0, ipv4_options)
    } else {
        0
    };
    // The transport fields first, so that the record is written once.
    let t = if fragment {
        Transport::default()
    } else {
        transport(pkt, ihl, protocol, 4)
    };
    let [s_port, d_port] = t.ports.unwrap_or_default();
    let info = info.write(PacketInfo {
        key: FlowKey {
            src: ipv4_in_16([h[12], h[13], h[14], h[15]]),
            dst: ipv4_in_16([h[16], h[17], h[18], h[19]]),
            s_port,
            d_port,
            i_ifc: in_ifindex,
            protocol,
            tos: h[1],
            ip_version: 4,
            l2: L2Key::default(),
            _pad: [0; KEY_PAD],
        },
        ip_len: u32::from(u16::from_be_bytes([h[2], h[3]])),
        tcp_flags: t.tcp_flags,
        options,
        tcp_options: t.tcp_options,
        flow_label: 0,
        fragment,
    });
    Ok(info)
}

/// An IPv4 address in the first 4 bytes of a key's 16, the rest zero: one
/// word store and zeros, where an array literal of bytes became byte moves.
#[inline(always)]
fn ipv4_in_16(a: [u8; 4]) -> [u8; 16] {
    u128::from(u32::from_le_bytes(a)).to_le_bytes()
}

/// Walks a type-length-value option list (IPv4 and TCP options share the
/// layout: 0 ends the list, 1 is a one-byte pad, others carry a length of
/// at least 2) and ORs `bit(type)` for each option seen.
fn option_bits(opts: &[u8], bit: impl Fn(u8) -> u32) -> u32 {
    let mut bits = 0u32;
    let mut i = 0;
    while let Some(&op) = opts.get(i) {
        bits |= bit(op);
        match op {
            0 => break,
            1 => i += 1,
            _ => match opts.get(i + 1) {
                Some(&len) if len >= 2 => i += usize::from(len),
                _ => break,
            },
        }
    }
    bits
}

/// The IPv4 options bitmap: bit `31 - number` for each option present.
fn ipv4_options(opts: &[u8]) -> u32 {
    option_bits(opts, |op| 1 << (31 - u32::from(op & 0x1f)))
}

/// The TCP options bitmap: bit `31 - kind` for each kind below 32.
fn tcp_options(opts: &[u8]) -> u32 {
    option_bits(opts, |kind| {
        if kind < 32 {
            1 << (31 - u32::from(kind))
        } else {
            0
        }
    })
}

/// The IPv6 form of [`parse_into`], into a zeroed `info`.
fn parse_ipv6<'i, P: PacketBytes + ?Sized>(
    pkt: &P,
    in_ifindex: u16,
    info: &'i mut PacketInfo,
) -> Result<&'i mut PacketInfo, Truncated> {
    let mut scratch = MaybeUninit::<[u8; 40]>::uninit();
    let h = pkt.header(0, &mut scratch).ok_or(Truncated)?;
    let key = &mut info.key;
    key.i_ifc = in_ifindex;
    key.ip_version = 6;
    key.tos = (h[0] << 4) | (h[1] >> 4);
    // Array conversions of constant ranges: two 16-byte moves, where a
    // slice copy became an out-of-line call.
    let (src, dst) = (
        <[u8; 16]>::try_from(&h[8..24]),
        <[u8; 16]>::try_from(&h[24..40]),
    );
    key.src = src.unwrap_or_default();
    key.dst = dst.unwrap_or_default();
    info.flow_label = u32::from(h[1] & 0x0f) << 16 | u32::from(h[2]) << 8 | u32::from(h[3]);
    info.ip_len = u32::from(u16::from_be_bytes([h[4], h[5]])) + IPV6_HEADER_LEN;

    let mut next = h[6];
    let mut offset = 40usize;
    let mut bits = 0u16;
    // Each extension header takes at least 8 bytes, so a packet can only
    // hold so many; the bound also keeps a crafted chain from looping long.
    for _ in 0..32 {
        let terminal_bit = match next {
            proto::HOPOPTS | proto::ROUTING | proto::DSTOPTS => {
                let Some([nh, hlen]) = pkt.array::<2>(offset) else {
                    break;
                };
                let bit = match next {
                    proto::HOPOPTS => ext_bit::HOPOPTS,
                    proto::ROUTING => ext_bit::ROUTING,
                    _ => ext_bit::DSTOPTS,
                };
                bits |= bit;
                next = nh;
                offset += (usize::from(hlen) + 1) * 8;
                continue;
            }
            proto::FRAGMENT => {
                let Some(f) = pkt.array::<8>(offset) else {
                    break;
                };
                info.fragment = true;
                let later = u16::from_be_bytes([f[2], f[3]]) & 0xfff8 != 0;
                bits |= if later {
                    ext_bit::FRAG1
                } else {
                    ext_bit::FRAG0
                };
                next = f[0];
                offset += 8;
                if later {
                    break;
                }
                continue;
            }
            proto::AH => {
                let Some(a) = pkt.array::<8>(offset) else {
                    break;
                };
                info.key
                    .set_ipsec_spi(u32::from_be_bytes([a[4], a[5], a[6], a[7]]));
                bits |= ext_bit::AH;
                next = a[0];
                offset += (usize::from(a[1]) + 2) * 4;
                continue;
            }
            proto::ESP => ext_bit::ESP,
            proto::MH => ext_bit::MH,
            proto::COMP => ext_bit::COMP,
            proto::TCP
            | proto::UDP
            | proto::ICMPV6
            | proto::UDPLITE
            | proto::IPIP
            | proto::PIM
            | proto::GRE
            | proto::SCTP
            | proto::L2TP
            | proto::DCCP
            | proto::NONE => 0,
            _ => ext_bit::UNKNOWN,
        };
        bits |= terminal_bit;
        break;
    }
    info.key.protocol = next;
    info.options = u32::from(bits);
    if !info.fragment {
        let t = transport(pkt, offset, next, 6);
        if let Some([s_port, d_port]) = t.ports {
            (info.key.s_port, info.key.d_port) = (s_port, d_port);
        }
        info.tcp_flags = t.tcp_flags;
        info.tcp_options = t.tcp_options;
    }
    Ok(info)
}

/// What a transport header gives a flow.
#[derive(Clone, Copy, Default)]
struct Transport {
    /// Source and destination port, or what stands for them (ICMP type and
    /// code, IGMP type, IPsec SPI); `None` when the header is not there.
    ports: Option<[u16; 2]>,
    /// TCP flags.
    tcp_flags: u8,
    /// TCP options bitmap.
    tcp_options: u32,
}

/// Source and destination port as a transport header carries them.
#[inline(always)]
fn be_ports(p: [u8; 4]) -> [u16; 2] {
    [
        u16::from_be_bytes([p[0], p[1]]),
        u16::from_be_bytes([p[2], p[3]]),
    ]
}

/// The ports of an IPsec SPI (see [`FlowKey::set_ipsec_spi`]).
#[inline(always)]
fn spi_ports(spi: u32) -> [u16; 2] {
    [spi as u16, (spi >> 16) as u16]
}

/// Reads the transport header of `protocol` at `offset`.
#[inline(always)]
fn transport<P: PacketBytes + ?Sized>(
    pkt: &P,
    offset: usize,
    protocol: u8,
    ip_version: u8,
) -> Transport {
    let ports = |p: [u8; 4]| Some(be_ports(p));
    // UDP and TCP, nearly every packet, before the others: a match on the
    // protocol became a tree of four compares for UDP.
    if protocol == proto::UDP {
        return Transport {
            ports: pkt.array::<4>(offset).and_then(ports),
            ..Transport::default()
        };
    }
    if protocol == proto::TCP {
        let mut scratch = MaybeUninit::<[u8; 20]>::uninit();
        let Some(t) = pkt.header(offset, &mut scratch) else {
            return Transport::default();
        };
        let doff = usize::from(t[12] >> 4) * 4;
        let tcp_options = if doff > 20 {
            pkt.bytes(offset + 20, doff - 20, &mut [0u8; 40])
                .map_or(0, tcp_options)
        } else {
            0
        };
        return Transport {
            ports: ports([t[0], t[1], t[2], t[3]]),
            tcp_flags: t[13],
            tcp_options,
        };
    }
    // The other protocols read at most 8 bytes of their header.
    let mut scratch = [0u8; 8];
    let avail = pkt.len().saturating_sub(offset).min(8);
    other_transport(
        pkt.bytes(offset, avail, &mut scratch).unwrap_or_default(),
        protocol,
        ip_version,
    )
}

/// [`transport`] for the protocols other than UDP and TCP, from the first
/// bytes of their header (`head`, at most 8): out of line, so that the
/// compiler keeps the two common tests first rather than merging them into
/// one search over every protocol.
#[cold]
#[inline(never)]
fn other_transport(head: &[u8], protocol: u8, ip_version: u8) -> Transport {
    let first = |n: usize| head.get(..n);
    let ports = match protocol {
        proto::UDPLITE | proto::SCTP => first(4).map(|p| be_ports([p[0], p[1], p[2], p[3]])),
        p if (p == proto::ICMP && ip_version == 4) || (p == proto::ICMPV6 && ip_version == 6) => {
            first(2).map(|t| [0, u16::from_be_bytes([t[0], t[1]])])
        }
        proto::IGMP => first(1).map(|t| [0, u16::from(t[0])]),
        proto::ESP => first(4).map(|s| spi_ports(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))),
        proto::AH if ip_version == 4 => {
            first(8).map(|a| spi_ports(u32::from_be_bytes([a[4], a[5], a[6], a[7]])))
        }
        _ => None,
    };
    Transport {
        ports,
        ..Transport::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;
    use std::vec::Vec;

    fn ipv4(proto: u8, options: &[u8], frag: u16, payload: &[u8]) -> Vec<u8> {
        let ihl = 20 + options.len();
        assert_eq!(ihl % 4, 0);
        let total = (ihl + payload.len()) as u16;
        let mut p = std::vec![0x40 | (ihl / 4) as u8, 0xb8];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(&frag.to_be_bytes());
        p.extend_from_slice(&[64, proto, 0, 0, 10, 0, 0, 1, 192, 168, 1, 2]);
        p.extend_from_slice(options);
        p.extend_from_slice(payload);
        p
    }

    fn tcp(flags: u8, options: &[u8]) -> Vec<u8> {
        let doff = 20 + options.len();
        let mut t = std::vec![0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0];
        t.push(((doff / 4) as u8) << 4);
        t.push(flags);
        t.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        t.extend_from_slice(options);
        t
    }

    fn ipv6(next: u8, ext: &[u8], payload: &[u8]) -> Vec<u8> {
        let plen = (ext.len() + payload.len()) as u16;
        // traffic class 0xb8 (EF), flow label 0x12345
        let mut p = std::vec![0x6b, 0x81, 0x23, 0x45];
        p.extend_from_slice(&plen.to_be_bytes());
        p.extend_from_slice(&[next, 64]);
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        p.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        p.extend_from_slice(ext);
        p.extend_from_slice(payload);
        p
    }

    fn v4(p: &[u8]) -> PacketInfo {
        parse(p, L3Family::Ipv4, 3).unwrap()
    }

    fn v6(p: &[u8]) -> PacketInfo {
        parse(p, L3Family::Ipv6, 3).unwrap()
    }

    #[test]
    fn ipv4_udp_key() {
        let i = v4(&ipv4(
            proto::UDP,
            &[],
            0,
            &[0x13, 0x88, 0x00, 0x35, 0, 12, 0, 0, 1, 2, 3, 4],
        ));
        assert_eq!(i.key.src_v4(), [10, 0, 0, 1]);
        assert_eq!(i.key.dst_v4(), [192, 168, 1, 2]);
        assert_eq!((i.key.s_port, i.key.d_port), (5000, 53));
        assert_eq!(
            (i.key.protocol, i.key.tos, i.key.ip_version, i.key.i_ifc),
            (17, 0xb8, 4, 3)
        );
        assert_eq!(i.ip_len, 32);
        assert!(!i.fragment);
        assert_eq!(&i.key.src[4..], &[0u8; 12]);
    }

    #[test]
    fn tcp_flags_and_options() {
        // MSS (2), SACK-permitted (4), timestamps (8), NOP (1), window scale (3), EOL
        let opts = [
            2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7, 0, 0, 0, 0,
        ];
        let i = v4(&ipv4(proto::TCP, &[], 0, &tcp(0x12, &opts)));
        assert_eq!((i.key.s_port, i.key.d_port, i.tcp_flags), (12345, 80, 0x12));
        let want = [0u32, 1, 2, 3, 4, 8]
            .iter()
            .fold(0, |b, k| b | 1 << (31 - k));
        assert_eq!(i.tcp_options, want);
    }

    #[test]
    fn tcp_option_with_bad_length_stops_the_walk() {
        let i = v4(&ipv4(proto::TCP, &[], 0, &tcp(0x02, &[2, 1, 0, 0])));
        assert_eq!(i.tcp_options, 1 << 29);
    }

    #[test]
    fn ipv4_options_bitmap() {
        // Router alert (148 = number 20), NOP, then record route (7) of 3 bytes.
        let opts = [148, 4, 0, 0, 1, 7, 3, 0];
        let i = v4(&ipv4(proto::UDP, &opts, 0, &[0, 1, 0, 2]));
        assert_eq!(i.options, 1 << (31 - 20) | 1 << 30 | 1 << (31 - 7));
        // SSR (137, number 9) keeps its own bit rather than NOP's.
        let i = v4(&ipv4(proto::UDP, &[137, 3, 0, 0], 0, &[0, 1, 0, 2]));
        assert_eq!(i.options, 1 << 22 | 1 << 31);
    }

    #[test]
    fn icmp_igmp_and_ipsec_encodings() {
        let i = v4(&ipv4(proto::ICMP, &[], 0, &[8, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!((i.key.s_port, i.key.d_port), (0, 0x0800));
        let i = v4(&ipv4(proto::ICMP, &[], 0, &[3, 3]));
        assert_eq!(i.key.d_port, 0x0303);
        let i = v4(&ipv4(proto::IGMP, &[], 0, &[0x16, 0, 0, 0]));
        assert_eq!((i.key.s_port, i.key.d_port), (0, 0x16));
        let i = v4(&ipv4(
            proto::ESP,
            &[],
            0,
            &[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1],
        ));
        // The original's split on x86: lower half in the source port.
        assert_eq!((i.key.s_port, i.key.d_port), (0xbeef, 0xdead));
        assert_eq!(i.key.ipsec_spi(), 0xdeadbeef);
        let i = v4(&ipv4(
            proto::AH,
            &[],
            0,
            &[6, 4, 0, 0, 0x12, 0x34, 0x56, 0x78],
        ));
        assert_eq!((i.key.s_port, i.key.d_port), (0x5678, 0x1234));
        assert_eq!(i.key.ipsec_spi(), 0x12345678);
        let i = v4(&ipv4(proto::SCTP, &[], 0, &[0, 9, 0, 10, 0, 0, 0, 0]));
        assert_eq!((i.key.s_port, i.key.d_port), (9, 10));
    }

    #[test]
    fn ipv4_fragments() {
        // First fragment (MF, offset 0): ports are read.
        let i = v4(&ipv4(proto::UDP, &[], 0x2000, &[0, 1, 0, 2]));
        assert_eq!((i.key.s_port, i.key.d_port, i.fragment), (1, 2, false));
        // Later fragment: counted as a fragment, no ports.
        let i = v4(&ipv4(proto::UDP, &[], 0x0010, &[0, 1, 0, 2]));
        assert_eq!((i.key.s_port, i.key.d_port, i.fragment), (0, 0, true));
    }

    #[test]
    fn missing_transport_header_leaves_ports_zero() {
        let i = v4(&ipv4(proto::TCP, &[], 0, &[0, 1, 0]));
        assert_eq!((i.key.s_port, i.key.d_port, i.tcp_flags), (0, 0, 0));
    }

    #[test]
    fn truncated_network_headers() {
        let p = ipv4(proto::UDP, &[], 0, &[]);
        assert_eq!(parse(&p[..19], L3Family::Ipv4, 0), Err(Truncated));
        let mut bad_ihl = p.clone();
        bad_ihl[0] = 0x44;
        assert_eq!(parse(&bad_ihl[..], L3Family::Ipv4, 0), Err(Truncated));
        let p6 = ipv6(proto::UDP, &[], &[]);
        assert_eq!(parse(&p6[..39], L3Family::Ipv6, 0), Err(Truncated));
    }

    #[test]
    fn ipv6_udp_key_and_traffic_class() {
        let i = v6(&ipv6(
            proto::UDP,
            &[],
            &[0x13, 0x88, 0x13, 0x89, 0, 8, 0, 0],
        ));
        assert_eq!(i.key.ip_version, 6);
        assert_eq!(i.key.tos, 0xb8);
        assert_eq!(i.flow_label, 0x12345);
        assert_eq!((i.key.s_port, i.key.d_port), (5000, 5001));
        assert_eq!(i.ip_len, 48);
        assert_eq!(i.options, 0);
    }

    #[test]
    fn ipv6_extension_header_walk() {
        // hop-by-hop (8 bytes) -> routing (24 bytes) -> destination options (8) -> TCP
        let mut ext = std::vec![proto::ROUTING, 0, 5, 4, 1, 0, 0, 0];
        ext.extend_from_slice(&[proto::DSTOPTS, 2, 0, 0, 0, 0, 0, 0]);
        ext.extend_from_slice(&[0u8; 16]);
        ext.extend_from_slice(&[proto::TCP, 0, 1, 4, 0, 0, 0, 0]);
        let i = v6(&ipv6(proto::HOPOPTS, &ext, &tcp(0x01, &[])));
        assert_eq!(i.key.protocol, proto::TCP);
        assert_eq!(
            i.options,
            u32::from(ext_bit::HOPOPTS | ext_bit::ROUTING | ext_bit::DSTOPTS)
        );
        assert_eq!((i.key.s_port, i.key.d_port, i.tcp_flags), (12345, 80, 0x01));
    }

    #[test]
    fn ipv6_fragments() {
        let first = [proto::UDP, 0, 0x00, 0x01, 0, 0, 0, 7];
        let i = v6(&ipv6(proto::FRAGMENT, &first, &[0, 1, 0, 2]));
        assert_eq!(
            (i.key.protocol, i.fragment, i.key.d_port),
            (proto::UDP, true, 0)
        );
        assert_eq!(i.options, u32::from(ext_bit::FRAG0));
        // A later fragment whose payload looks like a header is not walked into.
        let later = [proto::HOPOPTS, 0, 0x05, 0x08, 0, 0, 0, 7];
        let i = v6(&ipv6(
            proto::FRAGMENT,
            &later,
            &[proto::UDP, 0, 0, 0, 0, 0, 0, 0],
        ));
        assert_eq!((i.key.protocol, i.fragment), (proto::HOPOPTS, true));
        assert_eq!(i.options, u32::from(ext_bit::FRAG1));
    }

    #[test]
    fn ipv6_ah_then_esp() {
        let ah = [proto::ESP, 1, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0, 0];
        let i = v6(&ipv6(proto::AH, &ah, &[0x11, 0x22, 0x33, 0x44, 0, 0, 0, 1]));
        assert_eq!(i.key.protocol, proto::ESP);
        assert_eq!(i.options, u32::from(ext_bit::AH | ext_bit::ESP));
        assert_eq!((i.key.s_port, i.key.d_port), (0x3344, 0x1122));
    }

    #[test]
    fn ipv6_icmp_and_unknown_headers() {
        let i = v6(&ipv6(proto::ICMPV6, &[], &[128, 0, 0, 0]));
        assert_eq!((i.key.protocol, i.key.d_port, i.options), (58, 0x8000, 0));
        // ICMP (v4) inside IPv6 is "unknown" and gets no type/code.
        let i = v6(&ipv6(proto::ICMP, &[], &[8, 0]));
        assert_eq!((i.key.protocol, i.key.d_port), (1, 0));
        assert_eq!(i.options, u32::from(ext_bit::UNKNOWN));
    }

    #[test]
    fn truncated_extension_header_becomes_the_protocol() {
        let i = v6(&ipv6(proto::HOPOPTS, &[proto::UDP], &[]));
        assert_eq!((i.key.protocol, i.key.s_port), (proto::HOPOPTS, 0));
    }

    #[test]
    fn key_words_cover_every_field() {
        let a = v4(&ipv4(proto::UDP, &[], 0, &[0, 1, 0, 2])).key;
        let mut b = a;
        b.tos ^= 1;
        assert_ne!(a.words(), b.words());
        let mut c = a;
        c.ip_version = 6;
        assert_ne!(a.words(), c.words());
        assert_eq!(core::mem::size_of::<FlowKey>(), KEY_WORDS * 8);
    }

    #[test]
    fn ip_len_is_what_the_header_states_not_the_buffer_length() {
        let mut p = ipv4(17, &[], 0, &[0u8; 8]);
        p.extend_from_slice(&[0u8; 30]); // link-layer padding after the datagram
        assert_eq!(parse(&p[..], L3Family::Ipv4, 0).unwrap().ip_len, 28);
    }

    #[test]
    fn fixed_headers_cut_short_are_truncated() {
        let p = ipv4(17, &[], 0, &[]);
        assert_eq!(parse(&p[..19], L3Family::Ipv4, 0), Err(Truncated));
        assert_eq!(parse(&[0x60u8; 39][..], L3Family::Ipv6, 0), Err(Truncated));
        assert_eq!(parse(&[][..], L3Family::Ipv4, 0), Err(Truncated));
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_truncation_is_exact(data in proptest::collection::vec(any::<u8>(), 0..200), v6 in any::<bool>()) {
            let family = if v6 { L3Family::Ipv6 } else { L3Family::Ipv4 };
            let r = parse(&data[..], family, 1);
            let min = if v6 { 40 } else { 20 };
            if data.len() < min {
                prop_assert_eq!(r, Err(Truncated));
            } else if !v6 && (data[0] & 0x0f) < 5 {
                prop_assert_eq!(r, Err(Truncated));
            } else {
                let info = r.unwrap();
                prop_assert_eq!(info.key.ip_version, if v6 { 6 } else { 4 });
                prop_assert_eq!(info.key._pad, [0u8; KEY_PAD]);
            }
        }

        #[test]
        fn trailing_bytes_do_not_change_the_key(payload in proptest::collection::vec(any::<u8>(), 0..60),
                                               extra in proptest::collection::vec(any::<u8>(), 0..40),
                                               proto in prop_oneof![Just(6u8), Just(17), Just(1), Just(50), Just(132)]) {
            // Bytes past the transport header (padding, payload) never matter.
            let mut p = ipv4(proto, &[], 0, &payload);
            let base = parse(&p[..], L3Family::Ipv4, 1).unwrap();
            if payload.len() >= 20 {
                p.extend_from_slice(&extra);
                let more = parse(&p[..], L3Family::Ipv4, 1).unwrap();
                prop_assert_eq!(base.key, more.key);
            }
        }
    }
}

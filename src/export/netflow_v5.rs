// SPDX-License-Identifier: GPL-2.0-only
//! NetFlow v5: a 24-byte header and up to 30 fixed 48-byte IPv4 records,
//! flows or the pseudo-records of NAT events.

use crate::meter::flow::Flow;
use crate::meter::nat_event::{NatEvent, NatEventKind};

/// Records per packet, as the original sends them.
pub const MAX_RECORDS: usize = 30;
/// Header bytes.
pub const HEADER_LEN: usize = 24;
/// Bytes per record.
pub const RECORD_LEN: usize = 48;
/// TCP flags of a NAT create pseudo-record: SYN|ACK.
pub const NAT_CREATE_FLAGS: u8 = 0x12;
/// TCP flags of a NAT delete pseudo-record: FIN|RST.
pub const NAT_DELETE_FLAGS: u8 = 0x05;

/// The fields of one v5 flow record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct V5Record {
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// Next hop.
    pub nexthop: [u8; 4],
    /// Input interface (SNMP index).
    pub input: u16,
    /// Output interface.
    pub output: u16,
    /// Packets.
    pub packets: u32,
    /// Bytes (layer 3).
    pub bytes: u32,
    /// Uptime in ms at the first packet.
    pub first: u32,
    /// Uptime in ms at the last packet.
    pub last: u32,
    /// Source port (or ICMP 0, SPI lower half).
    pub src_port: u16,
    /// Destination port (or ICMP type/code, SPI upper half).
    pub dst_port: u16,
    /// OR of the TCP flags.
    pub tcp_flags: u8,
    /// IP protocol.
    pub protocol: u8,
    /// TOS.
    pub tos: u8,
    /// Source AS (0; NAT pseudo-records use it).
    pub src_as: u16,
    /// Destination AS.
    pub dst_as: u16,
    /// Source prefix length.
    pub src_mask: u8,
    /// Destination prefix length.
    pub dst_mask: u8,
}

impl V5Record {
    /// The record of an IPv4 flow whose first and last packets came at
    /// `first_ms` and `last_ms` of uptime (v5 carries them as 32-bit ms).
    #[inline(always)]
    pub fn from_flow(f: &Flow, first_ms: u32, last_ms: u32) -> Self {
        let k = &f.key;
        let fp = &f.first_packet;
        V5Record {
            src: k.src_v4(),
            dst: k.dst_v4(),
            nexthop: [fp.nexthop[0], fp.nexthop[1], fp.nexthop[2], fp.nexthop[3]],
            input: k.i_ifc,
            output: fp.o_ifc,
            packets: f.packets,
            bytes: f.bytes,
            first: first_ms,
            last: last_ms,
            src_port: k.s_port,
            dst_port: k.d_port,
            tcp_flags: f.tcp_flags,
            protocol: k.protocol,
            tos: k.tos,
            src_as: 0,
            dst_as: 0,
            src_mask: fp.s_mask,
            dst_mask: fp.d_mask,
        }
    }

    /// The record as it goes on the wire: every field big-endian, at the
    /// offsets of the v5 format (the byte at 36 and the last two are
    /// padding).
    #[rustfmt::skip]
    #[inline(always)]
    pub fn to_wire(&self) -> [u8; RECORD_LEN] {
        let [s0, s1, s2, s3] = self.src;
        let [d0, d1, d2, d3] = self.dst;
        let [n0, n1, n2, n3] = self.nexthop;
        let [i0, i1] = self.input.to_be_bytes();
        let [o0, o1] = self.output.to_be_bytes();
        let [p0, p1, p2, p3] = self.packets.to_be_bytes();
        let [b0, b1, b2, b3] = self.bytes.to_be_bytes();
        let [f0, f1, f2, f3] = self.first.to_be_bytes();
        let [l0, l1, l2, l3] = self.last.to_be_bytes();
        let [sp0, sp1] = self.src_port.to_be_bytes();
        let [dp0, dp1] = self.dst_port.to_be_bytes();
        let [sa0, sa1] = self.src_as.to_be_bytes();
        let [da0, da1] = self.dst_as.to_be_bytes();
        [
            s0, s1, s2, s3, d0, d1, d2, d3, n0, n1, n2, n3, // 0: addresses
            i0, i1, o0, o1, p0, p1, p2, p3, b0, b1, b2, b3, // 12: interfaces, counters
            f0, f1, f2, f3, l0, l1, l2, l3, sp0, sp1, dp0, dp1, // 24: times, ports
            0, self.tcp_flags, self.protocol, self.tos, sa0, sa1, da0, da1, // 36
            self.src_mask, self.dst_mask, 0, 0, // 44
        ]
    }

    /// The pseudo-records that carry NAT event `ev` in NetFlow v5
    /// (reference §4.6), the event having happened at `uptime_ms` of
    /// uptime (first and last both). They have no packets or bytes, TCP
    /// flags [`NAT_CREATE_FLAGS`] or [`NAT_DELETE_FLAGS`], the original
    /// source and translated destination as source and destination, and
    /// zero interfaces, TOS and masks:
    ///
    /// - if the source was translated, one record with the translated
    ///   source address as next hop and its port as source AS;
    /// - if the destination was translated, one more with the original
    ///   destination address as next hop and its port as destination AS.
    ///
    /// So an event yields 0, 1 or 2 records, in that order; an event with
    /// neither side translated yields none (v5 has no way to show it).
    /// Each counts as a flow record.
    pub fn from_nat(ev: &NatEvent, uptime_ms: u32) -> impl Iterator<Item = V5Record> {
        let base = V5Record {
            src: ev.pre.src,
            dst: ev.post.dst,
            first: uptime_ms,
            last: uptime_ms,
            src_port: ev.pre.s_port,
            dst_port: ev.post.d_port,
            tcp_flags: match ev.kind {
                NatEventKind::Create => NAT_CREATE_FLAGS,
                NatEventKind::Delete => NAT_DELETE_FLAGS,
            },
            protocol: ev.protocol,
            ..Default::default()
        };
        let snat = ev.src_translated().then_some(V5Record {
            nexthop: ev.post.src,
            src_as: ev.post.s_port,
            ..base
        });
        let dnat = ev.dst_translated().then_some(V5Record {
            nexthop: ev.pre.dst,
            dst_as: ev.pre.d_port,
            ..base
        });
        [snat, dnat].into_iter().flatten()
    }
}

/// The header fields that are not derived from the records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct V5Header {
    /// Milliseconds since the exporter started (same clock as first/last).
    pub sys_uptime: u32,
    /// Wall-clock seconds.
    pub unix_secs: u32,
    /// Wall-clock nanoseconds. (The original put microseconds here; this
    /// is the field's documented meaning.)
    pub unix_nsecs: u32,
    /// Flows exported before this packet.
    pub flow_sequence: u32,
    /// Engine id (low 8 bits of `engine_id`).
    pub engine_id: u8,
    /// `(mode << 14) | interval`, 0 without sampling.
    pub sampling: u16,
}

/// A v5 packet being filled.
pub struct V5Packet {
    buf: [u8; HEADER_LEN + MAX_RECORDS * RECORD_LEN],
    count: usize,
}

impl Default for V5Packet {
    fn default() -> Self {
        Self::new()
    }
}

impl V5Packet {
    /// An empty packet.
    pub const fn new() -> Self {
        V5Packet {
            buf: [0; HEADER_LEN + MAX_RECORDS * RECORD_LEN],
            count: 0,
        }
    }

    /// Records in the packet.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether another record fits.
    pub fn is_full(&self) -> bool {
        self.count == MAX_RECORDS
    }

    /// Appends a record; false when the packet is full.
    #[inline]
    pub fn push(&mut self, r: &V5Record) -> bool {
        if self.is_full() {
            return false;
        }
        let at = HEADER_LEN + self.count * RECORD_LEN;
        // One fixed-size store of the whole record: a slice copy per field
        // would be a call to memcpy each, in the kernel's build of core.
        let Some(Ok(slot)) = self
            .buf
            .get_mut(at..at + RECORD_LEN)
            .map(<&mut [u8; RECORD_LEN]>::try_from)
        else {
            return false; // not reached: `count` < MAX_RECORDS
        };
        *slot = r.to_wire();
        self.count += 1;
        true
    }

    /// Writes the header and returns the packet's bytes; the packet is then
    /// emptied by [`V5Packet::clear`].
    pub fn finish(&mut self, h: &V5Header) -> &[u8] {
        let b = &mut self.buf[..HEADER_LEN];
        b[0..2].copy_from_slice(&5u16.to_be_bytes());
        b[2..4].copy_from_slice(&(self.count as u16).to_be_bytes());
        b[4..8].copy_from_slice(&h.sys_uptime.to_be_bytes());
        b[8..12].copy_from_slice(&h.unix_secs.to_be_bytes());
        b[12..16].copy_from_slice(&h.unix_nsecs.to_be_bytes());
        b[16..20].copy_from_slice(&h.flow_sequence.to_be_bytes());
        b[20] = 0; // engine type
        b[21] = h.engine_id;
        b[22..24].copy_from_slice(&h.sampling.to_be_bytes());
        &self.buf[..HEADER_LEN + self.count * RECORD_LEN]
    }

    /// Empties the packet.
    pub fn clear(&mut self) {
        self.count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::flow::FirstPacket;
    use crate::meter::flow_key::parse;
    use crate::meter::nat_event::NatEndpoints;
    use crate::meter::packet::L3Family;
    use netflow_parser::{NetflowPacket, NetflowParser};
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn record(i: u32) -> V5Record {
        V5Record {
            src: [10, 0, 0, i as u8],
            dst: [192, 168, 1, 2],
            nexthop: [10, 0, 0, 254],
            input: 3,
            output: 4,
            packets: 10 + i,
            bytes: 1500 * (10 + i),
            first: 1000,
            last: 2000 + i,
            src_port: 40000 + i as u16,
            dst_port: 443,
            tcp_flags: 0x1b,
            protocol: 6,
            tos: 0x10,
            src_as: 0,
            dst_as: 0,
            src_mask: 24,
            dst_mask: 16,
        }
    }

    /// Decoded by an independent implementation (the netflow_parser crate).
    #[test]
    fn decodes_with_netflow_parser() {
        let mut pkt = V5Packet::new();
        for i in 0..3 {
            assert!(pkt.push(&record(i)));
        }
        let h = V5Header {
            sys_uptime: 5000,
            unix_secs: 1_700_000_000,
            unix_nsecs: 123,
            flow_sequence: 77,
            engine_id: 9,
            sampling: 0,
        };
        let bytes = pkt.finish(&h).to_vec();
        assert_eq!(bytes.len(), HEADER_LEN + 3 * RECORD_LEN);
        let parsed = NetflowParser::default().parse_bytes(&bytes);
        assert!(parsed.error.is_none(), "{:?}", parsed.error);
        let NetflowPacket::V5(v5) = &parsed.packets[0] else {
            panic!("not v5")
        };
        assert_eq!(
            (v5.header.version, v5.header.count, v5.header.sys_up_time),
            (5, 3, 5000)
        );
        assert_eq!(
            (
                v5.header.unix_secs,
                v5.header.unix_nsecs,
                v5.header.flow_sequence
            ),
            (1_700_000_000, 123, 77)
        );
        assert_eq!(
            (
                v5.header.engine_type,
                v5.header.engine_id,
                v5.header.sampling_interval
            ),
            (0, 9, 0)
        );
        for (i, f) in v5.flowsets.iter().enumerate() {
            let r = record(i as u32);
            assert_eq!(f.src_addr, Ipv4Addr::from(r.src));
            assert_eq!(f.dst_addr, Ipv4Addr::from(r.dst));
            assert_eq!(f.next_hop, Ipv4Addr::from(r.nexthop));
            assert_eq!(
                (f.input, f.output, f.d_pkts, f.d_octets),
                (3, 4, r.packets, r.bytes)
            );
            assert_eq!(
                (f.first, f.last, f.src_port, f.dst_port),
                (1000, r.last, r.src_port, 443)
            );
            assert_eq!((f.tcp_flags, f.protocol_number, f.tos), (0x1b, 6, 0x10));
            assert_eq!((f.src_mask, f.dst_mask, f.src_as, f.dst_as), (24, 16, 0, 0));
        }
    }

    /// An IPv4 packet from 10.0.0.1 to 10.0.0.2 carrying `payload` as
    /// protocol `protocol`, metered into a flow of one packet.
    fn metered(protocol: u8, payload: &[u8]) -> Flow {
        let len = 20 + payload.len();
        let mut pkt = std::vec![
            0x45,
            0,
            (len >> 8) as u8,
            len as u8,
            0,
            1,
            0,
            0,
            64,
            protocol,
            0,
            0,
        ];
        pkt.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        pkt.extend_from_slice(payload);
        let info = parse(&pkt[..], L3Family::Ipv4, 3).expect("a whole packet");
        let mut flow = Flow::new(&info, 0, 0, FirstPacket::default());
        flow.account(&info, 0);
        flow
    }

    /// Source and destination port of `flow`'s v5 record, as an
    /// independent decoder (the netflow_parser crate) reads them.
    fn decoded_ports(flow: &Flow) -> (u16, u16) {
        let mut pkt = V5Packet::new();
        assert!(pkt.push(&V5Record::from_flow(flow, 10, 20)));
        let bytes = pkt.finish(&V5Header::default()).to_vec();
        let parsed = NetflowParser::default().parse_bytes(&bytes);
        assert!(parsed.error.is_none(), "{:?}", parsed.error);
        let NetflowPacket::V5(v5) = &parsed.packets[0] else {
            panic!("not v5")
        };
        (v5.flowsets[0].src_port, v5.flowsets[0].dst_port)
    }

    /// ESP and AH flows carry their SPI in the two port fields split as the
    /// original on x86 splits it (and every v5 collector it fed stored):
    /// SPI 0x12345678 as source port 0x5678 and destination port 0x1234.
    #[test]
    fn ipsec_spi_splits_as_the_original() {
        let esp = [0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1];
        assert_eq!(decoded_ports(&metered(50, &esp)), (0x5678, 0x1234));
        // AH: next header, length (4 words + 2), reserved, then the SPI.
        let ah = [
            6, 4, 0, 0, 0x9a, 0xbc, 0xde, 0xf0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(decoded_ports(&metered(51, &ah)), (0xdef0, 0x9abc));
        // Other protocols keep their ports where they are.
        let udp = [0x13, 0x88, 0, 53, 0, 8, 0, 0];
        assert_eq!(decoded_ports(&metered(17, &udp)), (5000, 53));
    }

    const CLIENT: NatEndpoints = NatEndpoints {
        src: [10, 0, 0, 2],
        dst: [203, 0, 113, 9],
        s_port: 40000,
        d_port: 80,
    };

    fn nat(kind: NatEventKind, post: NatEndpoints) -> NatEvent {
        NatEvent {
            kind,
            protocol: 6,
            pre: CLIENT,
            post,
            epoch_ms: 1_700_000_000_000,
        }
    }

    fn nat_records(ev: &NatEvent) -> std::vec::Vec<V5Record> {
        V5Record::from_nat(ev, 12345).collect()
    }

    /// The fields every pseudo-record of `ev` has.
    fn nat_base(ev: &NatEvent, tcp_flags: u8) -> V5Record {
        V5Record {
            src: ev.pre.src,
            dst: ev.post.dst,
            first: 12345,
            last: 12345,
            src_port: ev.pre.s_port,
            dst_port: ev.post.d_port,
            tcp_flags,
            protocol: ev.protocol,
            ..Default::default()
        }
    }

    #[test]
    fn snat_gives_one_record_with_the_translated_source() {
        let ev = nat(
            NatEventKind::Create,
            NatEndpoints {
                src: [198, 51, 100, 1],
                s_port: 1024,
                ..CLIENT
            },
        );
        let want = V5Record {
            nexthop: [198, 51, 100, 1],
            src_as: 1024,
            ..nat_base(&ev, 0x12)
        };
        assert_eq!(nat_records(&ev), [want]);
    }

    #[test]
    fn dnat_gives_one_record_with_the_original_destination() {
        let ev = nat(
            NatEventKind::Delete,
            NatEndpoints {
                dst: [10, 1, 0, 5],
                d_port: 8080,
                ..CLIENT
            },
        );
        let want = V5Record {
            nexthop: [203, 0, 113, 9],
            dst_as: 80,
            ..nat_base(&ev, 0x05)
        };
        assert_eq!(nat_records(&ev), [want]);
        // The destination is the translated one, with its port.
        assert_eq!((want.dst, want.dst_port), ([10, 1, 0, 5], 8080));
    }

    #[test]
    fn both_translated_give_two_records_source_first() {
        let post = NatEndpoints {
            src: [198, 51, 100, 1],
            dst: [10, 1, 0, 5],
            s_port: 1024,
            d_port: 8080,
        };
        let ev = nat(NatEventKind::Create, post);
        let base = nat_base(&ev, 0x12);
        assert_eq!(
            nat_records(&ev),
            [
                V5Record {
                    nexthop: post.src,
                    src_as: 1024,
                    ..base
                },
                V5Record {
                    nexthop: CLIENT.dst,
                    dst_as: 80,
                    ..base
                }
            ]
        );
    }

    #[test]
    fn untranslated_gives_no_record() {
        assert!(nat_records(&nat(NatEventKind::Create, CLIENT)).is_empty());
    }

    /// The pseudo-records as netflow_parser decodes them.
    #[test]
    fn nat_records_decode_with_netflow_parser() {
        let post = NatEndpoints {
            src: [198, 51, 100, 1],
            dst: [10, 1, 0, 5],
            s_port: 1024,
            d_port: 8080,
        };
        let ev = nat(NatEventKind::Delete, post);
        let mut pkt = V5Packet::new();
        for r in V5Record::from_nat(&ev, 777) {
            assert!(pkt.push(&r));
        }
        let bytes = pkt.finish(&V5Header::default()).to_vec();
        let parsed = NetflowParser::default().parse_bytes(&bytes);
        assert!(parsed.error.is_none(), "{:?}", parsed.error);
        let NetflowPacket::V5(v5) = &parsed.packets[0] else {
            panic!("not v5")
        };
        assert_eq!(v5.flowsets.len(), 2);
        for (f, (nexthop, src_as, dst_as)) in v5
            .flowsets
            .iter()
            .zip([(post.src, 1024, 0), (CLIENT.dst, 0, 80)])
        {
            assert_eq!(f.src_addr, Ipv4Addr::from(CLIENT.src));
            assert_eq!(f.dst_addr, Ipv4Addr::from(post.dst));
            assert_eq!(f.next_hop, Ipv4Addr::from(nexthop));
            assert_eq!((f.src_port, f.dst_port), (40000, 8080));
            assert_eq!((f.src_as, f.dst_as), (src_as, dst_as));
            assert_eq!((f.d_pkts, f.d_octets, f.first, f.last), (0, 0, 777, 777));
            assert_eq!((f.tcp_flags, f.protocol_number, f.tos), (0x05, 6, 0));
            assert_eq!((f.input, f.output, f.src_mask, f.dst_mask), (0, 0, 0, 0));
        }
    }

    #[test]
    fn thirty_records_fill_a_packet() {
        let mut pkt = V5Packet::new();
        for i in 0..MAX_RECORDS as u32 {
            assert!(pkt.push(&record(i)));
        }
        assert!(pkt.is_full());
        assert!(!pkt.push(&record(99)));
        assert_eq!(pkt.finish(&V5Header::default()).len(), 1464);
        pkt.clear();
        assert!(pkt.is_empty());
    }

    proptest! {
        #[test]
        fn any_record_round_trips(src: [u8; 4], dst: [u8; 4], packets: u32, bytes: u32, ports: (u16, u16),
                                  proto: u8, tos: u8, flags: u8, times: (u32, u32), ifs: (u16, u16)) {
            let r = V5Record { src, dst, packets, bytes, src_port: ports.0, dst_port: ports.1, protocol: proto,
                               tos, tcp_flags: flags, first: times.0, last: times.1, input: ifs.0, output: ifs.1,
                               ..Default::default() };
            let mut pkt = V5Packet::new();
            pkt.push(&r);
            let bytes_out = pkt.finish(&V5Header::default()).to_vec();
            let parsed = NetflowParser::default().parse_bytes(&bytes_out);
            let NetflowPacket::V5(v5) = &parsed.packets[0] else { panic!("not v5") };
            let f = &v5.flowsets[0];
            prop_assert_eq!((f.src_addr.octets(), f.dst_addr.octets()), (src, dst));
            prop_assert_eq!((f.d_pkts, f.d_octets, f.src_port, f.dst_port), (packets, bytes, ports.0, ports.1));
            prop_assert_eq!((f.protocol_number, f.tos, f.tcp_flags), (proto, tos, flags));
            prop_assert_eq!((f.first, f.last, f.input, f.output), (times.0, times.1, ifs.0, ifs.1));
        }
    }
}

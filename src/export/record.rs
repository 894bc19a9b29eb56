// SPDX-License-Identifier: GPL-2.0-only
//! The bytes of one flow's or NAT event's v9/IPFIX data record, element
//! by element.

use super::template::ie;
use crate::meter::flow::Flow;
use crate::meter::nat_event::NatEvent;

/// A flow's times as the export formats want them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowTimes {
    /// v9 FIRST_SWITCHED: milliseconds since the exporter's start.
    pub first_uptime_ms: u32,
    /// v9 LAST_SWITCHED.
    pub last_uptime_ms: u32,
    /// IPFIX flowStartMilliseconds: milliseconds since the Unix epoch.
    pub first_epoch_ms: u64,
    /// IPFIX flowEndMilliseconds.
    pub last_epoch_ms: u64,
}

/// What the exporter adds to a flow's own fields in its record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordContext {
    /// The flow's times.
    pub times: FlowTimes,
    /// Input interface index as exported (snmp-rules applied).
    pub input: u16,
    /// Output interface index as exported.
    pub output: u16,
    /// The sampler's id (its mode number), 0 without sampling.
    pub sampler_id: u8,
}

impl RecordContext {
    /// The context of `flow` with its own interface indexes, unsampled.
    pub fn of(flow: &Flow, times: FlowTimes) -> Self {
        RecordContext {
            times,
            input: flow.key.i_ifc,
            output: flow.first_packet.o_ifc,
            sampler_id: 0,
        }
    }
}

/// Writes `flow`'s value of element `id` into `out` (its template length).
/// Elements the flow has no value for are left zero.
pub fn write_field(id: u16, out: &mut [u8], flow: &Flow, c: &RecordContext) {
    let t = &c.times;
    let k = &flow.key;
    let fp = &flow.first_packet;
    match id {
        ie::IPV4_SRC_ADDR => put(out, &k.src[..4]),
        ie::IPV4_DST_ADDR => put(out, &k.dst[..4]),
        ie::IPV4_NEXT_HOP => put(out, &fp.nexthop[..4]),
        ie::IPV6_SRC_ADDR => put(out, &k.src),
        ie::IPV6_DST_ADDR => put(out, &k.dst),
        ie::IPV6_NEXT_HOP => put(out, &fp.nexthop),
        ie::IP_VERSION => put(out, &[k.ip_version]),
        ie::IPV4_OPTIONS | ie::IPV6_OPTION_HEADERS => put(out, &flow.options.to_be_bytes()),
        ie::SRC_MASK => put(out, &[fp.s_mask]),
        ie::DST_MASK => put(out, &[fp.d_mask]),
        ie::IPV6_FLOW_LABEL => put(out, &fp.flow_label.to_be_bytes()),
        ie::ICMP_TYPE | ie::ICMP_TYPE_V6 => put(out, &k.d_port.to_be_bytes()),
        ie::L4_SRC_PORT => put(out, &k.s_port.to_be_bytes()),
        ie::L4_DST_PORT => put(out, &k.d_port.to_be_bytes()),
        ie::TCP_FLAGS => put(out, &[flow.tcp_flags]),
        ie::INPUT_SNMP => put(out, &c.input.to_be_bytes()),
        ie::OUTPUT_SNMP => put(out, &c.output.to_be_bytes()),
        ie::IN_PKTS => put(out, &flow.packets.to_be_bytes()),
        ie::IN_BYTES => put(out, &flow.bytes.to_be_bytes()),
        ie::FIRST_SWITCHED => put(out, &t.first_uptime_ms.to_be_bytes()),
        ie::LAST_SWITCHED => put(out, &t.last_uptime_ms.to_be_bytes()),
        ie::FLOW_START_MS => put(out, &t.first_epoch_ms.to_be_bytes()),
        ie::FLOW_END_MS => put(out, &t.last_epoch_ms.to_be_bytes()),
        ie::PROTOCOL => put(out, &[k.protocol]),
        ie::TOS => put(out, &[k.tos]),
        ie::FLOW_END_REASON => put(out, &[flow.end_reason as u8]),
        ie::TCP_OPTIONS => put(out, &flow.tcp_options.to_be_bytes()),
        ie::IGMP_TYPE => put(out, &[k.d_port as u8]),
        ie::IPSEC_SPI => put(out, &k.ipsec_spi().to_be_bytes()),
        ie::FLOW_SAMPLER_ID | ie::SELECTOR_ID => put(out, &[c.sampler_id]),
        _ => write_link_field(id, out, flow),
    }
}

/// The link-layer elements of the builds that compile them in; nothing in
/// the default build.
#[allow(unused_variables)]
fn write_link_field(id: u16, out: &mut [u8], flow: &Flow) {
    #[cfg(feature = "vlan")]
    use crate::meter::link_layer::{vlan_id, vlan_priority};
    #[cfg(feature = "vlan")]
    let tci = |i: usize| u16::from_be_bytes(flow.key.l2.vlan[i]);
    match id {
        #[cfg(feature = "mac")]
        ie::DST_MAC => put(out, &flow.key.l2.dst_mac),
        #[cfg(feature = "mac")]
        ie::SRC_MAC => put(out, &flow.key.l2.src_mac),
        #[cfg(feature = "vlan")]
        ie::SRC_VLAN | ie::DOT1Q_VLAN_ID => put(out, &vlan_id(tci(0)).to_be_bytes()),
        #[cfg(feature = "vlan")]
        ie::DOT1Q_PRIORITY => put(out, &[vlan_priority(tci(0))]),
        #[cfg(feature = "vlan")]
        ie::DOT1Q_CUSTOMER_VLAN_ID => put(out, &vlan_id(tci(1)).to_be_bytes()),
        #[cfg(feature = "vlan")]
        ie::DOT1Q_CUSTOMER_PRIORITY => put(out, &[vlan_priority(tci(1))]),
        #[cfg(any(feature = "mac", feature = "vlan"))]
        ie::ETHERNET_TYPE => put(out, &flow.first_packet.ethertype.to_be_bytes()),
        #[cfg(feature = "direction")]
        ie::FLOW_DIRECTION => put(out, &[flow.first_packet.direction]),
        #[cfg(feature = "physdev")]
        ie::INGRESS_PHYSICAL => put(out, &flow.first_packet.phys_in.to_be_bytes()),
        #[cfg(feature = "physdev")]
        ie::EGRESS_PHYSICAL => put(out, &flow.first_packet.phys_out.to_be_bytes()),
        #[cfg(feature = "mpls")]
        ie::MPLS_TOP_LABEL_TTL => put(out, &[flow.key.l2.mpls[0][3]]),
        #[cfg(feature = "mpls")]
        id if (ie::MPLS_LABEL_1..ie::MPLS_LABEL_1 + 10).contains(&id) => {
            if let Some(entry) = flow.key.l2.mpls.get(usize::from(id - ie::MPLS_LABEL_1)) {
                put(out, &entry[..3]);
            }
        }
        _ => {}
    }
}

/// Writes a whole record for `fields` (the template's element list).
pub fn write_record(fields: &[(u16, u16)], out: &mut [u8], flow: &Flow, c: &RecordContext) {
    for_each_slot(fields, out, |id, slot| write_field(id, slot, flow, c));
}

/// Writes `ev`'s value of element `id` of the NAT4 template (reference
/// §4.6) into `out` (its template length): the original tuple as source
/// and destination, the translated one as post-NAT, the event time as
/// observation time. Elements NAT4 does not have are left zero.
pub fn write_nat_field(id: u16, out: &mut [u8], ev: &NatEvent) {
    let (pre, post) = (&ev.pre, &ev.post);
    match id {
        ie::OBSERVATION_TIME_MS => put(out, &ev.epoch_ms.to_be_bytes()),
        ie::IPV4_SRC_ADDR => put(out, &pre.src),
        ie::IPV4_DST_ADDR => put(out, &pre.dst),
        ie::POST_NAT_SRC_IPV4 => put(out, &post.src),
        ie::POST_NAT_DST_IPV4 => put(out, &post.dst),
        ie::L4_SRC_PORT => put(out, &pre.s_port.to_be_bytes()),
        ie::L4_DST_PORT => put(out, &pre.d_port.to_be_bytes()),
        ie::POST_NAPT_SRC_PORT => put(out, &post.s_port.to_be_bytes()),
        ie::POST_NAPT_DST_PORT => put(out, &post.d_port.to_be_bytes()),
        ie::PROTOCOL => put(out, &[ev.protocol]),
        ie::NAT_EVENT => put(out, &[ev.kind as u8]),
        _ => {}
    }
}

/// Writes a NAT event's whole record for `fields` (the NAT4 template's
/// element list, [`super::template::NAT4_FIELDS`]).
pub fn write_nat_record(fields: &[(u16, u16)], out: &mut [u8], ev: &NatEvent) {
    for_each_slot(fields, out, |id, slot| write_nat_field(id, slot, ev));
}

/// Copies `bytes` into `out` right-aligned: a shorter template length keeps
/// the low-order bytes, a longer one leaves the high-order bytes as they
/// are (zero).
#[inline(always)]
fn put(out: &mut [u8], bytes: &[u8]) {
    // The usual case, a template length that is the value's own, is one
    // fixed-size store: a slice copy is a call to memcpy in the kernel's
    // build of core, for every element of every record.
    if out.len() == bytes.len() {
        match bytes.len() {
            1 => return store::<1>(out, bytes),
            2 => return store::<2>(out, bytes),
            4 => return store::<4>(out, bytes),
            8 => return store::<8>(out, bytes),
            16 => return store::<16>(out, bytes),
            _ => {}
        }
    }
    let n = out.len().min(bytes.len());
    let (dst, src) = (out.len() - n, bytes.len() - n);
    out[dst..].copy_from_slice(&bytes[src..]);
}

/// `bytes` into `out`, both `N` long (the caller checked).
#[inline(always)]
fn store<const N: usize>(out: &mut [u8], bytes: &[u8]) {
    if let (Ok(d), Ok(s)) = (<&mut [u8; N]>::try_from(out), <&[u8; N]>::try_from(bytes)) {
        *d = *s;
    }
}

/// Hands each element of `fields` its bytes of `out` in turn, with its id;
/// an element that does not fit in `out` is skipped.
fn for_each_slot(fields: &[(u16, u16)], out: &mut [u8], mut write: impl FnMut(u16, &mut [u8])) {
    let mut at = 0usize;
    for &(id, len) in fields {
        let end = at.saturating_add(usize::from(len));
        if let Some(slot) = out.get_mut(at..end) {
            write(id, slot);
        }
        at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::template::{FieldList, TemplateKey, NAT4_FIELDS};
    use crate::meter::nat_event::{NatEndpoints, NatEventKind};

    fn nat_event() -> NatEvent {
        NatEvent {
            kind: NatEventKind::Delete,
            protocol: 17,
            pre: NatEndpoints {
                src: [10, 0, 0, 2],
                dst: [192, 0, 2, 9],
                s_port: 0x1234,
                d_port: 53,
            },
            post: NatEndpoints {
                src: [198, 51, 100, 1],
                dst: [192, 0, 2, 9],
                s_port: 0xabcd,
                d_port: 53,
            },
            epoch_ms: 0x0102_0304_0506_0708,
        }
    }

    #[test]
    fn nat_record_bytes() {
        let mut fields = FieldList::default();
        TemplateKey::nat4().fields(&mut fields);
        let mut out = [0u8; 34];
        write_nat_record(fields.as_slice(), &mut out, &nat_event());
        let want: [u8; 34] = [
            1, 2, 3, 4, 5, 6, 7, 8, // observationTimeMilliseconds
            10, 0, 0, 2, // sourceIPv4Address = pre.src
            192, 0, 2, 9, // destinationIPv4Address = pre.dst
            198, 51, 100, 1, // postNATSourceIPv4Address
            192, 0, 2, 9, // postNATDestinationIPv4Address
            0x12, 0x34, // sourceTransportPort = pre.s_port
            0, 53, // destinationTransportPort = pre.d_port
            0xab, 0xcd, // postNAPTSourceTransportPort
            0, 53, // postNAPTDestinationTransportPort
            17, // protocolIdentifier
            2,  // natEvent: delete
        ];
        assert_eq!(out, want);
    }

    #[test]
    fn nat_record_never_writes_past_its_buffer() {
        let ev = nat_event();
        // Too short a buffer: the elements that fit are written, no panic.
        let mut short = [0u8; 10];
        write_nat_record(&NAT4_FIELDS, &mut short, &ev);
        assert_eq!(short, [1, 2, 3, 4, 5, 6, 7, 8, 0, 0]);
        // Lengths unlike the template's keep the low-order bytes or pad.
        let mut narrow = [0u8; 2];
        write_nat_field(ie::OBSERVATION_TIME_MS, &mut narrow, &ev);
        assert_eq!(narrow, [7, 8]);
        let mut wide = [0u8; 4];
        write_nat_field(ie::NAT_EVENT, &mut wide, &ev);
        assert_eq!(wide, [0, 0, 0, 2]);
        // An element NAT4 does not have stays zero.
        let mut other = [0u8; 4];
        write_nat_field(ie::IN_BYTES, &mut other, &ev);
        assert_eq!(other, [0; 4]);
        // Huge lengths do not overflow the offset.
        write_nat_record(&[(323, u16::MAX), (8, u16::MAX)], &mut short, &ev);
    }
}

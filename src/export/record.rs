// SPDX-License-Identifier: GPL-2.0-only
//! The bytes of one flow's v9/IPFIX data record, element by element.

use super::template::ie;
use crate::meter::flow::Flow;

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
    let mut put = |bytes: &[u8]| {
        // Right-align: a shorter template length keeps the low-order bytes.
        let n = out.len().min(bytes.len());
        let (dst, src) = (out.len() - n, bytes.len() - n);
        out[dst..].copy_from_slice(&bytes[src..]);
    };
    match id {
        ie::IPV4_SRC_ADDR => put(&k.src[..4]),
        ie::IPV4_DST_ADDR => put(&k.dst[..4]),
        ie::IPV4_NEXT_HOP => put(&fp.nexthop[..4]),
        ie::IPV6_SRC_ADDR => put(&k.src),
        ie::IPV6_DST_ADDR => put(&k.dst),
        ie::IPV6_NEXT_HOP => put(&fp.nexthop),
        ie::IP_VERSION => put(&[k.ip_version]),
        ie::IPV4_OPTIONS | ie::IPV6_OPTION_HEADERS => put(&flow.options.to_be_bytes()),
        ie::SRC_MASK => put(&[fp.s_mask]),
        ie::DST_MASK => put(&[fp.d_mask]),
        ie::IPV6_FLOW_LABEL => put(&fp.flow_label.to_be_bytes()),
        ie::ICMP_TYPE | ie::ICMP_TYPE_V6 => put(&k.d_port.to_be_bytes()),
        ie::L4_SRC_PORT => put(&k.s_port.to_be_bytes()),
        ie::L4_DST_PORT => put(&k.d_port.to_be_bytes()),
        ie::TCP_FLAGS => put(&[flow.tcp_flags]),
        ie::INPUT_SNMP => put(&c.input.to_be_bytes()),
        ie::OUTPUT_SNMP => put(&c.output.to_be_bytes()),
        ie::IN_PKTS => put(&flow.packets.to_be_bytes()),
        ie::IN_BYTES => put(&flow.bytes.to_be_bytes()),
        ie::FIRST_SWITCHED => put(&t.first_uptime_ms.to_be_bytes()),
        ie::LAST_SWITCHED => put(&t.last_uptime_ms.to_be_bytes()),
        ie::FLOW_START_MS => put(&t.first_epoch_ms.to_be_bytes()),
        ie::FLOW_END_MS => put(&t.last_epoch_ms.to_be_bytes()),
        ie::PROTOCOL => put(&[k.protocol]),
        ie::TOS => put(&[k.tos]),
        ie::FLOW_END_REASON => put(&[flow.end_reason as u8]),
        ie::TCP_OPTIONS => put(&flow.tcp_options.to_be_bytes()),
        ie::IGMP_TYPE => put(&[k.d_port as u8]),
        ie::IPSEC_SPI => put(&k.ipsec_spi().to_be_bytes()),
        ie::FLOW_SAMPLER_ID | ie::SELECTOR_ID => put(&[c.sampler_id]),
        _ => {}
    }
}

/// Writes a whole record for `fields` (the template's element list).
pub fn write_record(fields: &[(u16, u16)], out: &mut [u8], flow: &Flow, c: &RecordContext) {
    let mut at = 0;
    for &(id, len) in fields {
        let len = usize::from(len);
        if let Some(slot) = out.get_mut(at..at + len) {
            write_field(id, slot, flow, c);
        }
        at += len;
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! NetFlow v9 / IPFIX data templates: which information elements a flow's
//! record carries, chosen by what the flow has (reference §4.4), and the
//! one template of NAT event records (§4.6).
//!
//! A template is identified by a [`TemplateKey`], a set of parts; each part
//! appends fixed elements in a fixed order, so equal keys give equal
//! templates and a collector sees one template per kind of flow.

use crate::meter::flow::Flow;
use crate::meter::flow_key::proto;
use crate::meter::link_layer::MPLS_DEPTH;
#[cfg(feature = "vlan")]
use crate::meter::link_layer::VLAN_TAGS;

/// The export protocol of a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// NetFlow v9 (RFC 3954).
    V9,
    /// IPFIX (RFC 7011).
    Ipfix,
}

/// Bytes of one data record made of `fields` (element id, length) pairs.
pub fn record_len(fields: &[(u16, u16)]) -> usize {
    fields.iter().map(|&(_, l)| usize::from(l)).sum()
}

/// Information elements used by the data templates (IANA numbers).
pub mod ie {
    /// octetDeltaCount / IN_BYTES.
    pub const IN_BYTES: u16 = 1;
    /// packetDeltaCount / IN_PKTS.
    pub const IN_PKTS: u16 = 2;
    /// protocolIdentifier.
    pub const PROTOCOL: u16 = 4;
    /// ipClassOfService.
    pub const TOS: u16 = 5;
    /// tcpControlBits.
    pub const TCP_FLAGS: u16 = 6;
    /// sourceTransportPort.
    pub const L4_SRC_PORT: u16 = 7;
    /// sourceIPv4Address.
    pub const IPV4_SRC_ADDR: u16 = 8;
    /// sourceIPv4PrefixLength.
    pub const SRC_MASK: u16 = 9;
    /// ingressInterface.
    pub const INPUT_SNMP: u16 = 10;
    /// destinationTransportPort.
    pub const L4_DST_PORT: u16 = 11;
    /// destinationIPv4Address.
    pub const IPV4_DST_ADDR: u16 = 12;
    /// destinationIPv4PrefixLength.
    pub const DST_MASK: u16 = 13;
    /// egressInterface.
    pub const OUTPUT_SNMP: u16 = 14;
    /// ipNextHopIPv4Address.
    pub const IPV4_NEXT_HOP: u16 = 15;
    /// flowEndSysUpTime.
    pub const LAST_SWITCHED: u16 = 21;
    /// flowStartSysUpTime.
    pub const FIRST_SWITCHED: u16 = 22;
    /// sourceIPv6Address.
    pub const IPV6_SRC_ADDR: u16 = 27;
    /// destinationIPv6Address.
    pub const IPV6_DST_ADDR: u16 = 28;
    /// flowLabelIPv6.
    pub const IPV6_FLOW_LABEL: u16 = 31;
    /// icmpTypeCodeIPv4.
    pub const ICMP_TYPE: u16 = 32;
    /// igmpType.
    pub const IGMP_TYPE: u16 = 33;
    /// ipVersion.
    pub const IP_VERSION: u16 = 60;
    /// ipNextHopIPv6Address.
    pub const IPV6_NEXT_HOP: u16 = 62;
    /// ipv6ExtensionHeaders.
    pub const IPV6_OPTION_HEADERS: u16 = 64;
    /// icmpTypeCodeIPv6.
    pub const ICMP_TYPE_V6: u16 = 139;
    /// flowStartMilliseconds.
    pub const FLOW_START_MS: u16 = 152;
    /// flowEndMilliseconds.
    pub const FLOW_END_MS: u16 = 153;
    /// flowEndReason.
    pub const FLOW_END_REASON: u16 = 136;
    /// ipv4Options.
    pub const IPV4_OPTIONS: u16 = 208;
    /// tcpOptions.
    pub const TCP_OPTIONS: u16 = 209;
    /// ipSecSPI.
    pub const IPSEC_SPI: u16 = 295;
    /// FLOW_SAMPLER_ID (v9): the sampler the flow was selected by.
    pub const FLOW_SAMPLER_ID: u16 = 48;
    /// selectorId (IPFIX): the same, in IPFIX.
    pub const SELECTOR_ID: u16 = 302;
    /// postNATSourceIPv4Address: the source address after translation.
    pub const POST_NAT_SRC_IPV4: u16 = 225;
    /// postNATDestinationIPv4Address: the destination address after
    /// translation.
    pub const POST_NAT_DST_IPV4: u16 = 226;
    /// postNAPTSourceTransportPort: the source port after translation.
    pub const POST_NAPT_SRC_PORT: u16 = 227;
    /// postNAPTDestinationTransportPort: the destination port after
    /// translation.
    pub const POST_NAPT_DST_PORT: u16 = 228;
    /// natEvent: 1 create, 2 delete (the historic values of RFC 8158's
    /// registry, the ones the original sends).
    pub const NAT_EVENT: u16 = 230;
    /// observationTimeMilliseconds: when the NAT event happened, in
    /// milliseconds since the Unix epoch.
    pub const OBSERVATION_TIME_MS: u16 = 323;
    /// sourceMacAddress.
    pub const SRC_MAC: u16 = 56;
    /// destinationMacAddress.
    pub const DST_MAC: u16 = 80;
    /// SRC_VLAN (v9) / vlanId (IPFIX): the outer tag's VLAN id.
    pub const SRC_VLAN: u16 = 58;
    /// dot1qVlanId: the outer tag's VLAN id.
    pub const DOT1Q_VLAN_ID: u16 = 243;
    /// dot1qPriority: the outer tag's priority.
    pub const DOT1Q_PRIORITY: u16 = 244;
    /// dot1qCustomerVlanId: the inner tag's VLAN id.
    pub const DOT1Q_CUSTOMER_VLAN_ID: u16 = 245;
    /// dot1qCustomerPriority: the inner tag's priority.
    pub const DOT1Q_CUSTOMER_PRIORITY: u16 = 246;
    /// ethernetType.
    pub const ETHERNET_TYPE: u16 = 256;
    /// flowDirection: 0 ingress, 1 egress (255 for forwarded flows, as the
    /// original sends).
    pub const FLOW_DIRECTION: u16 = 61;
    /// ingressPhysicalInterface: the bridge port bridged traffic came in on.
    pub const INGRESS_PHYSICAL: u16 = 252;
    /// egressPhysicalInterface: the bridge port it left through.
    pub const EGRESS_PHYSICAL: u16 = 253;
    /// mplsTopLabelTTL.
    pub const MPLS_TOP_LABEL_TTL: u16 = 200;
    /// mplsTopLabelStackSection: the top entry's label, traffic class and
    /// bottom bit; the entries under it are the next element ids
    /// (mplsLabelStackSection2..10, 71..79).
    pub const MPLS_LABEL_1: u16 = 70;
}

/// The elements of a NAT event's record (template NAT4, reference §4.6),
/// in the original's order, with the lengths of their IANA types:
/// dateTimeMilliseconds 8, ipv4Address 4, unsigned16 ports 2, unsigned8
/// protocol and event 1. The same ids serve v9 and IPFIX.
pub const NAT4_FIELDS: [(u16, u16); 11] = [
    (ie::OBSERVATION_TIME_MS, 8),
    (ie::IPV4_SRC_ADDR, 4),
    (ie::IPV4_DST_ADDR, 4),
    (ie::POST_NAT_SRC_IPV4, 4),
    (ie::POST_NAT_DST_IPV4, 4),
    (ie::L4_SRC_PORT, 2),
    (ie::L4_DST_PORT, 2),
    (ie::POST_NAPT_SRC_PORT, 2),
    (ie::POST_NAPT_DST_PORT, 2),
    (ie::PROTOCOL, 1),
    (ie::NAT_EVENT, 1),
];

/// The parts a data template is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct TemplateKey(pub u32);

impl TemplateKey {
    /// IPv4 addresses, next hop, version.
    pub const IP4: u32 = 1 << 0;
    /// IPv4 options.
    pub const IP4_OPTIONS: u32 = 1 << 1;
    /// IPv4 prefix lengths.
    pub const MASK4: u32 = 1 << 2;
    /// IPFIX ICMP type/code (IPv4).
    pub const ICMPX4: u32 = 1 << 3;
    /// IPv6 addresses, next hop, version.
    pub const IP6: u32 = 1 << 4;
    /// IPv6 flow label.
    pub const LABEL6: u32 = 1 << 5;
    /// IPv6 extension headers.
    pub const IP6_OPTIONS: u32 = 1 << 6;
    /// IPFIX ICMPv6 type/code.
    pub const ICMPX6: u32 = 1 << 7;
    /// Ports and TCP flags.
    pub const PORTS: u32 = 1 << 8;
    /// v9 ICMP: type/code in the destination port.
    pub const ICMP9: u32 = 1 << 9;
    /// Interfaces, counters, times, protocol, TOS (v9 flavour).
    pub const BASE9: u32 = 1 << 10;
    /// ...IPFIX flavour (absolute times, end reason).
    pub const BASE_IPFIX: u32 = 1 << 11;
    /// TCP options.
    pub const TCP_OPTIONS: u32 = 1 << 12;
    /// IGMP type.
    pub const IGMP: u32 = 1 << 13;
    /// IPsec SPI.
    pub const IPSEC: u32 = 1 << 14;
    /// The flow was sampled: the sampler's id.
    pub const SAMPLER: u32 = 1 << 15;
    /// A NAT event's record ([`NAT4_FIELDS`]). It is a template of its own:
    /// [`TemplateKey::fields`] ignores every other part of a key that has
    /// it, so no flow part (nor the sampler, as NAT records bypass
    /// sampling) can join it.
    pub const NAT4: u32 = 1 << 16;
    /// MAC addresses (builds with `mac`; either address non-zero).
    pub const MAC: u32 = 1 << 17;
    /// v9: the outer VLAN id (builds with `vlan`; a tag present).
    pub const VLAN9: u32 = 1 << 18;
    /// IPFIX: the outer tag's id and priority.
    pub const VLANX: u32 = 1 << 19;
    /// IPFIX: the inner tag's id and priority.
    pub const VLANI: u32 = 1 << 20;
    /// The ethernet type (builds with `mac` or `vlan`; known).
    pub const ETHERTYPE: u32 = 1 << 21;
    /// The flow's direction (builds with `direction`: every flow).
    pub const DIRECTION: u32 = 1 << 22;
    /// The MPLS label stack (builds with `mpls`; a stack present).
    pub const MPLS: u32 = 1 << 23;

    /// The key of every NAT event's record, in v9 and IPFIX alike.
    pub const fn nat4() -> Self {
        TemplateKey(Self::NAT4)
    }

    /// The key of a record that also names the sampler that selected it.
    /// A NAT key stays as it is: NAT records are not sampled.
    pub const fn with_sampler(self) -> Self {
        if self.0 & Self::NAT4 != 0 {
            return self;
        }
        TemplateKey(self.0 | Self::SAMPLER)
    }

    /// The key for a flow's record.
    pub fn of(flow: &Flow, version: Version) -> Self {
        let k = &flow.key;
        let ipfix = version == Version::Ipfix;
        let mut bits = if ipfix { Self::BASE_IPFIX } else { Self::BASE9 };
        if k.ip_version == 4 {
            bits |= Self::IP4;
            if flow.options != 0 {
                bits |= Self::IP4_OPTIONS;
            }
            if flow.first_packet.s_mask != 0 || flow.first_packet.d_mask != 0 {
                bits |= Self::MASK4;
            }
        } else {
            bits |= Self::IP6;
            if flow.first_packet.flow_label != 0 {
                bits |= Self::LABEL6;
            }
            if flow.options != 0 {
                bits |= Self::IP6_OPTIONS;
            }
        }
        match k.protocol {
            proto::TCP | proto::UDP | proto::SCTP | proto::UDPLITE => bits |= Self::PORTS,
            proto::ICMP if k.ip_version == 4 => {
                bits |= if ipfix { Self::ICMPX4 } else { Self::ICMP9 }
            }
            proto::ICMPV6 if k.ip_version == 6 => {
                bits |= if ipfix { Self::ICMPX6 } else { Self::ICMP9 }
            }
            proto::IGMP => bits |= Self::IGMP,
            proto::AH | proto::ESP => bits |= Self::IPSEC,
            _ => {}
        }
        if flow.tcp_options != 0 {
            bits |= Self::TCP_OPTIONS;
        }
        TemplateKey(bits | Self::link_layer_parts(flow, ipfix))
    }

    /// The parts of the link-layer fields a build compiles in (none in the
    /// default build).
    #[allow(unused_variables, unused_mut)]
    fn link_layer_parts(flow: &Flow, ipfix: bool) -> u32 {
        let mut bits = 0;
        #[cfg(feature = "mac")]
        if flow.key.l2.src_mac != [0; 6] || flow.key.l2.dst_mac != [0; 6] {
            bits |= Self::MAC;
        }
        #[cfg(feature = "vlan")]
        if flow.key.l2.vlan[0] != [0; 2] {
            if !ipfix {
                bits |= Self::VLAN9;
            } else {
                bits |= Self::VLANX;
                if flow.key.l2.vlan[VLAN_TAGS - 1] != [0; 2] {
                    bits |= Self::VLANI;
                }
            }
        }
        #[cfg(any(feature = "mac", feature = "vlan"))]
        if flow.first_packet.ethertype != 0 {
            bits |= Self::ETHERTYPE;
        }
        #[cfg(feature = "mpls")]
        if flow.key.l2.mpls[0] != [0; 4] {
            bits |= Self::MPLS;
        }
        #[cfg(feature = "direction")]
        {
            bits |= Self::DIRECTION;
        }
        bits
    }

    fn has(self, part: u32) -> bool {
        self.0 & part != 0
    }

    /// The template's elements, in order, as (element id, length).
    pub fn fields(self, out: &mut FieldList) {
        use ie::*;
        out.clear();
        if self.has(Self::NAT4) {
            out.extend(&NAT4_FIELDS);
            return;
        }
        if self.has(Self::IP4) {
            out.extend(&[
                (IPV4_SRC_ADDR, 4),
                (IPV4_DST_ADDR, 4),
                (IPV4_NEXT_HOP, 4),
                (IP_VERSION, 1),
            ]);
            if self.has(Self::IP4_OPTIONS) {
                out.push(IPV4_OPTIONS, 4);
            }
            if self.has(Self::MASK4) {
                out.extend(&[(SRC_MASK, 1), (DST_MASK, 1)]);
            }
            if self.has(Self::ICMPX4) {
                out.push(ICMP_TYPE, 2);
            }
        }
        if self.has(Self::IP6) {
            out.extend(&[
                (IPV6_SRC_ADDR, 16),
                (IPV6_DST_ADDR, 16),
                (IPV6_NEXT_HOP, 16),
                (IP_VERSION, 1),
            ]);
            if self.has(Self::LABEL6) {
                out.push(IPV6_FLOW_LABEL, 3);
            }
            if self.has(Self::IP6_OPTIONS) {
                out.push(IPV6_OPTION_HEADERS, 2);
            }
            if self.has(Self::ICMPX6) {
                out.push(ICMP_TYPE_V6, 2);
            }
        }
        if self.has(Self::PORTS) {
            out.extend(&[(L4_SRC_PORT, 2), (L4_DST_PORT, 2), (TCP_FLAGS, 1)]);
        }
        if self.has(Self::ICMP9) {
            // The original puts ICMP type/code only into the destination
            // port, where collectors that follow RFC 3954 (nfdump, for
            // one) do not look: they read ICMP_TYPE. Both are sent, so
            // collectors of either habit decode it.
            out.extend(&[(L4_SRC_PORT, 2), (L4_DST_PORT, 2)]);
            out.push(
                if self.has(Self::IP6) {
                    ICMP_TYPE_V6
                } else {
                    ICMP_TYPE
                },
                2,
            );
        }
        if self.has(Self::BASE9) {
            out.extend(&[(INPUT_SNMP, 2), (OUTPUT_SNMP, 2)]);
            if cfg!(feature = "physdev") {
                out.extend(&[(INGRESS_PHYSICAL, 2), (EGRESS_PHYSICAL, 2)]);
            }
            out.extend(&[
                (IN_PKTS, 4),
                (IN_BYTES, 4),
                (FIRST_SWITCHED, 4),
                (LAST_SWITCHED, 4),
                (PROTOCOL, 1),
                (TOS, 1),
            ]);
        }
        if self.has(Self::BASE_IPFIX) {
            out.extend(&[(INPUT_SNMP, 2), (OUTPUT_SNMP, 2)]);
            if cfg!(feature = "physdev") {
                out.extend(&[(INGRESS_PHYSICAL, 2), (EGRESS_PHYSICAL, 2)]);
            }
            out.extend(&[
                (IN_PKTS, 4),
                (IN_BYTES, 4),
                (FLOW_START_MS, 8),
                (FLOW_END_MS, 8),
                (PROTOCOL, 1),
                (TOS, 1),
                (FLOW_END_REASON, 1),
            ]);
        }
        if self.has(Self::TCP_OPTIONS) {
            out.push(TCP_OPTIONS, 4);
        }
        if self.has(Self::IGMP) {
            out.push(IGMP_TYPE, 1);
        }
        if self.has(Self::IPSEC) {
            out.push(IPSEC_SPI, 4);
        }
        if self.has(Self::MAC) {
            out.extend(&[(DST_MAC, 6), (SRC_MAC, 6)]);
        }
        if self.has(Self::VLAN9) {
            out.push(SRC_VLAN, 2);
        }
        if self.has(Self::VLANX) {
            out.extend(&[(DOT1Q_VLAN_ID, 2), (DOT1Q_PRIORITY, 1)]);
        }
        if self.has(Self::VLANI) {
            out.extend(&[(DOT1Q_CUSTOMER_VLAN_ID, 2), (DOT1Q_CUSTOMER_PRIORITY, 1)]);
        }
        if self.has(Self::ETHERTYPE) {
            out.push(ETHERNET_TYPE, 2);
        }
        if self.has(Self::MPLS) {
            out.push(MPLS_TOP_LABEL_TTL, 1);
            for i in 0..MPLS_DEPTH as u16 {
                out.push(MPLS_LABEL_1 + i, 3);
            }
        }
        if self.has(Self::DIRECTION) {
            out.push(FLOW_DIRECTION, 1);
        }
        if self.has(Self::SAMPLER) {
            let id = if self.has(Self::BASE_IPFIX) {
                SELECTOR_ID
            } else {
                FLOW_SAMPLER_ID
            };
            out.push(id, 1);
        }
    }
}

/// Most elements any data template has: 24, and what the compiled-in
/// link-layer fields add (MACs 2, VLAN tags 4, ethernet type 1, direction
/// 1, bridge ports 2, the MPLS stack's TTL and entries 1 + depth).
pub const MAX_FIELDS: usize = 24
    + if cfg!(feature = "mac") { 2 } else { 0 }
    + if cfg!(feature = "vlan") { 4 } else { 0 }
    + if cfg!(any(feature = "mac", feature = "vlan")) {
        1
    } else {
        0
    }
    + if cfg!(feature = "direction") { 1 } else { 0 }
    + if cfg!(feature = "physdev") { 2 } else { 0 }
    + if cfg!(feature = "mpls") {
        1 + MPLS_DEPTH
    } else {
        0
    };

/// A template's elements.
#[derive(Clone, Copy, Debug)]
pub struct FieldList {
    fields: [(u16, u16); MAX_FIELDS],
    len: usize,
}

impl Default for FieldList {
    fn default() -> Self {
        FieldList {
            fields: [(0, 0); MAX_FIELDS],
            len: 0,
        }
    }
}

impl FieldList {
    fn clear(&mut self) {
        self.len = 0;
    }

    fn push(&mut self, id: u16, len: u16) {
        // The parts above add at most MAX_FIELDS elements (checked by a test).
        if let Some(slot) = self.fields.get_mut(self.len) {
            *slot = (id, len);
            self.len += 1;
        }
    }

    /// Appends elements.
    pub fn extend(&mut self, fields: &[(u16, u16)]) {
        for &(id, len) in fields {
            self.push(id, len);
        }
    }

    /// The (element id, length) pairs.
    pub fn as_slice(&self) -> &[(u16, u16)] {
        &self.fields[..self.len]
    }

    /// Bytes of one data record.
    pub fn record_len(&self) -> usize {
        record_len(self.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::flow::FirstPacket;
    use crate::meter::flow_key::{FlowKey, PacketInfo};

    fn flow(ip_version: u8, protocol: u8) -> Flow {
        let info = PacketInfo {
            key: FlowKey {
                ip_version,
                protocol,
                ..Default::default()
            },
            ..Default::default()
        };
        Flow::new(&info, 0, 0, FirstPacket::default())
    }

    fn ids(k: TemplateKey) -> std::vec::Vec<u16> {
        let mut f = FieldList::default();
        k.fields(&mut f);
        f.as_slice().iter().map(|&(id, _)| id).collect()
    }

    /// The elements of `k` without those of compiled-in link-layer fields
    /// (the bridge ports and direction every flow of such a build has), so
    /// that the tests of the default templates hold in every build.
    fn base_ids(k: TemplateKey) -> std::vec::Vec<u16> {
        let link = [
            ie::INGRESS_PHYSICAL,
            ie::EGRESS_PHYSICAL,
            ie::FLOW_DIRECTION,
        ];
        ids(k).into_iter().filter(|id| !link.contains(id)).collect()
    }

    #[test]
    fn ipv4_tcp_ipfix() {
        let k = TemplateKey::of(&flow(4, proto::TCP), Version::Ipfix);
        assert_eq!(
            base_ids(k),
            [8, 12, 15, 60, 7, 11, 6, 10, 14, 2, 1, 152, 153, 4, 5, 136]
        );
    }

    #[test]
    fn ipv6_icmp_v9_and_ipfix() {
        let mut f = flow(6, proto::ICMPV6);
        f.first_packet.flow_label = 5;
        f.options = 0x8000;
        assert_eq!(
            base_ids(TemplateKey::of(&f, Version::V9)),
            [27, 28, 62, 60, 31, 64, 7, 11, 139, 10, 14, 2, 1, 22, 21, 4, 5]
        );
        assert_eq!(
            base_ids(TemplateKey::of(&f, Version::Ipfix)),
            [27, 28, 62, 60, 31, 64, 139, 10, 14, 2, 1, 152, 153, 4, 5, 136]
        );
    }

    #[test]
    fn optional_parts() {
        let mut f = flow(4, proto::ESP);
        f.options = 1;
        f.first_packet.s_mask = 24;
        assert_eq!(
            base_ids(TemplateKey::of(&f, Version::V9)),
            [8, 12, 15, 60, 208, 9, 13, 10, 14, 2, 1, 22, 21, 4, 5, 295]
        );
        let mut t = flow(4, proto::TCP);
        t.tcp_options = 1;
        assert!(base_ids(TemplateKey::of(&t, Version::V9)).ends_with(&[209]));
        assert!(base_ids(TemplateKey::of(&flow(4, proto::IGMP), Version::V9)).ends_with(&[33]));
    }

    #[test]
    fn nat4_is_a_template_of_its_own() {
        let nat = [323, 8, 12, 225, 226, 7, 11, 227, 228, 4, 230];
        assert_eq!(ids(TemplateKey::nat4()), nat);
        let mut f = FieldList::default();
        TemplateKey::nat4().fields(&mut f);
        // 8 time, 4 addresses of 4, 4 ports of 2, protocol, event.
        assert_eq!(f.record_len(), 8 + 4 * 4 + 4 * 2 + 1 + 1);
        // Flow parts or the sampler on a NAT key change nothing.
        assert_eq!(ids(TemplateKey(u32::MAX)), nat);
        assert_eq!(TemplateKey::nat4().with_sampler(), TemplateKey::nat4());
        // No flow's key is the NAT key or has its part.
        for (v, p) in [(4, proto::TCP), (4, proto::ICMP), (6, proto::UDP)] {
            for version in [Version::V9, Version::Ipfix] {
                let k = TemplateKey::of(&flow(v, p), version);
                assert_eq!(k.0 & TemplateKey::NAT4, 0);
                assert_eq!(k.with_sampler().0 & TemplateKey::NAT4, 0);
            }
        }
    }

    #[test]
    fn the_largest_template_fits() {
        // Every flow part at once overflows nothing (the NAT part would
        // shadow them all).
        let all = TemplateKey(!TemplateKey::NAT4);
        let mut f = FieldList::default();
        all.fields(&mut f);
        let mut count = 0;
        for bit in (0..32).filter(|&b| 1 << b != TemplateKey::NAT4) {
            let mut g = FieldList::default();
            TemplateKey(1 << bit).fields(&mut g);
            count += g.as_slice().len();
        }
        // More than a list holds: the list stops at its capacity, whole.
        assert!(count > MAX_FIELDS, "parts add {count} fields");
        assert_eq!(f.as_slice().len(), MAX_FIELDS);
        // A real key never mixes IPv4 and IPv6 or v9 and IPFIX bases.
        let real = TemplateKey(
            TemplateKey::IP6
                | TemplateKey::LABEL6
                | TemplateKey::IP6_OPTIONS
                | TemplateKey::PORTS
                | TemplateKey::BASE_IPFIX
                | TemplateKey::TCP_OPTIONS,
        );
        let mut r = FieldList::default();
        real.fields(&mut r);
        assert!(r.as_slice().len() <= MAX_FIELDS);
        let physdev = if cfg!(feature = "physdev") { 4 } else { 0 };
        assert_eq!(
            r.record_len(),
            16 * 3 + 1 + 3 + 2 + 5 + 2 + 2 + physdev + 4 + 4 + 8 + 8 + 1 + 1 + 1 + 4
        );
        // The largest real key of this build, with every link-layer part
        // the build can give a flow, fits.
        let (mut link, mut extra) = (TemplateKey::SAMPLER, 1);
        for (on, part, n) in [
            (cfg!(feature = "mac"), TemplateKey::MAC, 2),
            (
                cfg!(feature = "vlan"),
                TemplateKey::VLANX | TemplateKey::VLANI,
                4,
            ),
            (
                cfg!(any(feature = "mac", feature = "vlan")),
                TemplateKey::ETHERTYPE,
                1,
            ),
            (cfg!(feature = "direction"), TemplateKey::DIRECTION, 1),
            (cfg!(feature = "mpls"), TemplateKey::MPLS, 1 + MPLS_DEPTH),
        ] {
            if on {
                link |= part;
                extra += n;
            }
        }
        let mut l = FieldList::default();
        TemplateKey(real.0 | link).fields(&mut l);
        assert_eq!(l.as_slice().len(), 19 + physdev / 2 + extra);
        assert!(l.as_slice().len() <= MAX_FIELDS);
    }

    #[test]
    fn link_layer_parts_follow_the_original_order() {
        let k = TemplateKey(
            TemplateKey::IP4
                | TemplateKey::BASE_IPFIX
                | TemplateKey::IPSEC
                | TemplateKey::MAC
                | TemplateKey::VLANX
                | TemplateKey::VLANI
                | TemplateKey::ETHERTYPE
                | TemplateKey::DIRECTION
                | TemplateKey::SAMPLER,
        );
        let got = ids(k);
        let tail = [295, 80, 56, 243, 244, 245, 246, 256, 61, 302];
        assert!(got.ends_with(&tail), "{got:?}");
        let mpls = ids(TemplateKey(
            TemplateKey::IP4 | TemplateKey::BASE9 | TemplateKey::MPLS | TemplateKey::DIRECTION,
        ));
        let stack: std::vec::Vec<u16> = [200]
            .into_iter()
            .chain((0..MPLS_DEPTH as u16).map(|i| 70 + i))
            .chain([61])
            .collect();
        assert!(mpls.ends_with(&stack), "{mpls:?}");
        let v9 = ids(TemplateKey(
            TemplateKey::IP6 | TemplateKey::BASE9 | TemplateKey::VLAN9,
        ));
        assert!(v9.ends_with(&[58]), "{v9:?}");
        let physdev: &[u16] = if cfg!(feature = "physdev") {
            &[252, 253]
        } else {
            &[]
        };
        let base = [&[10u16, 14][..], physdev, &[2, 1]].concat();
        assert!(v9.windows(base.len()).any(|w| w == base), "{v9:?}");
    }

    #[cfg(all(feature = "mac", feature = "vlan", feature = "direction"))]
    #[test]
    fn a_flow_with_link_layer_fields_gets_their_parts() {
        let mut f = flow(4, proto::UDP);
        assert_eq!(
            TemplateKey::of(&f, Version::Ipfix).0 & !0xffff,
            TemplateKey::DIRECTION,
            "no MAC, tag or type: only the direction"
        );
        f.key.l2.src_mac = [2, 0, 0, 0, 0, 1];
        f.key.l2.vlan = [[0, 10], [0, 0]];
        f.first_packet.ethertype = 0x0800;
        let link = TemplateKey::MAC | TemplateKey::ETHERTYPE | TemplateKey::DIRECTION;
        assert_eq!(
            TemplateKey::of(&f, Version::Ipfix).0 & !0xffff,
            link | TemplateKey::VLANX
        );
        assert_eq!(
            TemplateKey::of(&f, Version::V9).0 & !0xffff,
            link | TemplateKey::VLAN9
        );
        f.key.l2.vlan[1] = [0x20, 20];
        assert_eq!(
            TemplateKey::of(&f, Version::Ipfix).0 & !0xffff,
            link | TemplateKey::VLANX | TemplateKey::VLANI
        );
    }
}

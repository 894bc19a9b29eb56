// SPDX-License-Identifier: GPL-2.0-only
//! Building NetFlow v9 and IPFIX export packets (PDUs): template sets and
//! data sets in a 1400-byte data area, the original's packet size.
//!
//! Rules kept from the original (reference §4.3): each template goes in a
//! set of its own; a template is (re)sent when a data set for it starts and
//! it was never sent, or more than `refresh_rate` PDUs went out since, or
//! `timeout_rate` minutes passed; a data set is padded to 4 bytes when the
//! next record needs another set and the padding fits; the last set is not
//! padded. The v9 header counts records (templates included) and numbers
//! packets; the IPFIX header numbers data records.

use super::template::{TemplateKey, Version};

/// Bytes of the data area (after the header).
pub const DATA_MAX: usize = 1400;
/// The first template id.
pub const FIRST_TEMPLATE_ID: u16 = 256;
/// How many templates the cache holds. More keys than this in use at once
/// (possible in the builds with link-layer fields, whose parts multiply
/// the keys) evict templates in turn: the new one gets a new id and is
/// sent before its data, so no record is lost, only templates sent again.
pub const MAX_TEMPLATES: usize = 64;

const V9_HEADER: usize = 20;
const IPFIX_HEADER: usize = 16;

/// One template known to the exporter.
#[derive(Clone, Copy, Debug)]
pub struct Template {
    /// What it is for.
    pub key: TemplateKey,
    /// Its id on the wire.
    pub id: u16,
    /// For an options template, how many leading elements are its scope;
    /// 0 for a data template.
    pub scope_fields: u16,
    /// Whether it was ever sent (since the last reset).
    pub sent: bool,
    /// The PDU count when it was last sent.
    pub sent_pdu: u64,
    /// When it was last sent (seconds, any monotonic clock).
    pub sent_at: u64,
}

/// The templates in use, by key.
pub struct TemplateCache {
    entries: [Option<Template>; MAX_TEMPLATES],
    next_id: u16,
    /// The entry the next eviction takes (when every entry is in use).
    evict_next: usize,
    /// Templates created since load (the /proc "templates" count).
    pub generated: u32,
}

impl Default for TemplateCache {
    #[inline]
    fn default() -> Self {
        Self::starting_at(FIRST_TEMPLATE_ID)
    }
}

impl TemplateCache {
    /// A cache whose first template gets id `first` (at least
    /// [`FIRST_TEMPLATE_ID`]); ids count up from there and wrap to
    /// [`FIRST_TEMPLATE_ID`] after 65535.
    ///
    /// Built field by field and inlined, so that a caller that boxes it
    /// writes it into the box, not a 2 KiB stack copy first.
    #[inline(always)]
    pub fn starting_at(first: u16) -> Self {
        TemplateCache {
            entries: [None; MAX_TEMPLATES],
            next_id: first.max(FIRST_TEMPLATE_ID),
            evict_next: 0,
            generated: 0,
        }
    }

    /// The template for `key`, made on first use.
    pub fn get(&mut self, key: TemplateKey) -> Option<&mut Template> {
        self.get_options(key, 0)
    }

    fn insert(&mut self, i: usize, key: TemplateKey, scope_fields: u16) {
        self.entries[i] = Some(Template {
            key,
            id: self.next_id,
            scope_fields,
            sent: false,
            sent_pdu: 0,
            sent_at: 0,
        });
        self.next_id = if self.next_id == u16::MAX {
            FIRST_TEMPLATE_ID
        } else {
            self.next_id + 1
        };
        self.generated += 1;
    }

    /// The template for `key` whose first `scope_fields` elements are its
    /// scope: an options template (`key` with bit 31 set, to keep it apart
    /// from data templates), or a data template with 0. Made on first use.
    pub fn get_options(&mut self, key: TemplateKey, scope_fields: u16) -> Option<&mut Template> {
        let idx = match self
            .entries
            .iter()
            .position(|e| e.is_some_and(|t| t.key == key))
        {
            Some(i) => i,
            None => {
                let i = match self.entries.iter().position(Option::is_none) {
                    Some(free) => free,
                    None => {
                        let i = self.evict_next % MAX_TEMPLATES;
                        self.evict_next = i + 1;
                        i
                    }
                };
                self.insert(i, key, scope_fields);
                i
            }
        };
        self.entries[idx].as_mut()
    }

    /// Templates currently in use.
    pub fn active(&self) -> u32 {
        self.entries.iter().flatten().count() as u32
    }

    /// Marks every template unsent, keeping its id: each goes out again
    /// before its next data (a collector may have lost them).
    pub fn resend_all(&mut self) {
        for t in self.entries.iter_mut().flatten() {
            t.sent = false;
        }
    }

    /// Forgets every template (protocol or destination change): each is
    /// sent again before its next data. Ids keep counting up.
    pub fn reset(&mut self) {
        self.entries = [None; MAX_TEMPLATES];
    }
}

/// The v9 scope type for an IPFIX scope element (RFC 3954 §6.1): System,
/// Interface, Line Card or Template.
fn v9_scope(ipfix_id: u16) -> u16 {
    match ipfix_id {
        149 | 143 | 144 => 1, // observationDomainId, meteringProcessId, exportingProcessId
        10 | 198 => 2,        // ingressInterface, portId
        141 | 142 => 3,       // lineCardId, observationPointId
        145 => 5,             // templateId
        other => other,
    }
}

/// Header values the exporter supplies when a PDU is sent.
#[derive(Clone, Copy, Debug, Default)]
pub struct PduHeader {
    /// v9: milliseconds since the exporter's start.
    pub sys_uptime_ms: u32,
    /// Wall-clock seconds.
    pub unix_secs: u32,
    /// v9: this PDU's number; IPFIX: data records sent before it.
    pub sequence: u32,
    /// v9 source id / IPFIX observation domain (`engine_id`).
    pub domain: u32,
}

/// The record did not fit: send the PDU and add the record again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

/// A v9 or IPFIX PDU being filled.
pub struct Pdu {
    version: Version,
    buf: [u8; V9_HEADER + DATA_MAX],
    /// End of the data written so far (header included).
    end: usize,
    /// The open data set: its start and template id.
    set: Option<(usize, u16)>,
    /// v9 count: records of any kind.
    records: u16,
    /// Data records (IPFIX sequence increment).
    data_records: u32,
}

impl Pdu {
    /// An empty PDU.
    #[inline(always)]
    pub fn new(version: Version) -> Self {
        let mut p = Pdu {
            version,
            buf: [0; V9_HEADER + DATA_MAX],
            end: 0,
            set: None,
            records: 0,
            data_records: 0,
        };
        p.clear();
        p
    }

    fn header_len(&self) -> usize {
        match self.version {
            Version::V9 => V9_HEADER,
            Version::Ipfix => IPFIX_HEADER,
        }
    }

    fn room(&self) -> usize {
        self.header_len() + DATA_MAX - self.end
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Data records in it.
    pub fn data_records(&self) -> u32 {
        self.data_records
    }

    /// Empties it.
    pub fn clear(&mut self) {
        self.end = self.header_len();
        self.set = None;
        self.records = 0;
        self.data_records = 0;
    }

    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    fn close_set(&mut self, pad: bool) {
        if let Some((start, _)) = self.set.take() {
            if pad {
                let padding = (4 - (self.end - start) % 4) % 4;
                if padding <= self.room() {
                    self.put(&[0, 0, 0][..padding]);
                }
            }
            let len = (self.end - start) as u16;
            self.buf[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
        }
    }

    /// Adds one data record made with `template`, writing the template
    /// first when the send rule asks for it (`pdu_count` PDUs were sent so
    /// far, `now` in seconds). `write` fills the record's bytes.
    #[allow(clippy::too_many_arguments)]
    pub fn add_record(
        &mut self,
        template: &mut Template,
        fields: &[(u16, u16)],
        pdu_count: u64,
        now: u64,
        refresh_rate: u32,
        timeout_rate_min: u32,
        write: impl FnOnce(&mut [u8]),
    ) -> Result<(), Full> {
        let rec_len = super::template::record_len(fields);
        let same_set = self.set.is_some_and(|(_, id)| id == template.id);
        let needs_template = !same_set
            && (!template.sent
                || pdu_count > template.sent_pdu + u64::from(refresh_rate)
                || now > template.sent_at + u64::from(timeout_rate_min) * 60);
        let options = template.scope_fields > 0;
        let tpl_len = match (needs_template, options) {
            (false, _) => 0,
            (true, false) => 8 + 4 * fields.len(),
            // Options template sets have a 10-byte header.
            (true, true) => 10 + 4 * fields.len(),
        };
        let set_hdr = if same_set { 0 } else { 4 };
        // Padding the set being closed is part of what must fit; when the
        // record does not fit, the PDU goes out with that set unpadded.
        let pad_prev = match self.set {
            Some((start, _)) if !same_set => (4 - (self.end - start) % 4) % 4,
            _ => 0,
        };
        if pad_prev + tpl_len + set_hdr + rec_len > self.room() {
            return Err(Full);
        }
        if !same_set {
            self.close_set(true);
        }
        if needs_template {
            let n = fields.len() as u16;
            let scope = template.scope_fields;
            let set_id: u16 = match (self.version, options) {
                (Version::V9, false) => 0,
                (Version::Ipfix, false) => 2,
                (Version::V9, true) => 1,
                (Version::Ipfix, true) => 3,
            };
            self.put(&set_id.to_be_bytes());
            self.put(&(tpl_len as u16).to_be_bytes());
            self.put(&template.id.to_be_bytes());
            match (self.version, options) {
                (_, false) => self.put(&n.to_be_bytes()),
                // v9: scope and option lengths in bytes of field specifiers.
                (Version::V9, true) => {
                    self.put(&(4 * scope).to_be_bytes());
                    self.put(&(4 * (n - scope)).to_be_bytes());
                }
                (Version::Ipfix, true) => {
                    self.put(&n.to_be_bytes());
                    self.put(&scope.to_be_bytes());
                }
            }
            for (i, &(id, len)) in fields.iter().enumerate() {
                let id = if self.version == Version::V9 && options && i < usize::from(scope) {
                    v9_scope(id)
                } else {
                    id
                };
                self.put(&id.to_be_bytes());
                self.put(&len.to_be_bytes());
            }
            template.sent = true;
            template.sent_pdu = pdu_count;
            template.sent_at = now;
            self.records += 1;
        }
        if !same_set {
            let start = self.end;
            self.put(&template.id.to_be_bytes());
            self.put(&[0, 0]); // length, set when the set closes
            self.set = Some((start, template.id));
        }
        let at = self.end;
        self.end += rec_len;
        self.buf[at..self.end].fill(0);
        write(&mut self.buf[at..self.end]);
        self.records += 1;
        self.data_records += 1;
        Ok(())
    }

    /// Closes the last set and writes the header; returns the packet.
    pub fn finish(&mut self, h: &PduHeader) -> &[u8] {
        self.close_set(false);
        let end = self.end;
        let b = &mut self.buf[..end];
        match self.version {
            Version::V9 => {
                b[0..2].copy_from_slice(&9u16.to_be_bytes());
                b[2..4].copy_from_slice(&self.records.to_be_bytes());
                b[4..8].copy_from_slice(&h.sys_uptime_ms.to_be_bytes());
                b[8..12].copy_from_slice(&h.unix_secs.to_be_bytes());
                b[12..16].copy_from_slice(&h.sequence.to_be_bytes());
                b[16..20].copy_from_slice(&h.domain.to_be_bytes());
            }
            Version::Ipfix => {
                b[0..2].copy_from_slice(&10u16.to_be_bytes());
                b[2..4].copy_from_slice(&(end as u16).to_be_bytes());
                b[4..8].copy_from_slice(&h.unix_secs.to_be_bytes());
                b[8..12].copy_from_slice(&h.sequence.to_be_bytes());
                b[12..16].copy_from_slice(&h.domain.to_be_bytes());
            }
        }
        &self.buf[..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::record::{write_record, FlowTimes, RecordContext};
    use crate::export::template::FieldList;
    use crate::meter::flow::{EndReason, FirstPacket, Flow};
    use crate::meter::flow_key::{FlowKey, PacketInfo};
    #[allow(unused_imports)]
    use crate::meter::link_layer::MPLS_DEPTH;
    use netflow_parser::variable_versions::field_value::FieldValue;
    use netflow_parser::variable_versions::ipfix::lookup::IPFixField;
    use netflow_parser::variable_versions::ipfix::FlowSetBody as IpfixBody;
    use netflow_parser::variable_versions::v9::{FlowSetBody as V9Body, ScopeDataField};
    use netflow_parser::{NetflowPacket, NetflowParser};
    use std::collections::BTreeSet;
    use std::vec::Vec;

    // IANA protocol numbers of the flows below.
    const ICMP: u8 = 1;
    const IGMP: u8 = 2;
    const TCP: u8 = 6;
    const UDP: u8 = 17;
    const ESP: u8 = 50;
    const ICMPV6: u8 = 58;

    /// Flow number `i`. Its values derive from `i` and differ from one
    /// field to another, so a value written into another element, or
    /// another flow's value, shows in the decoded records. Which optional
    /// parts the flow has (IP options, prefix lengths, flow label, TCP
    /// options) varies with `i / 8`, so `mixed_flows` makes many templates.
    fn flow(v: u8, protocol: u8, i: u16) -> Flow {
        let [hi, lo] = i.to_be_bytes();
        let round = i / 8;
        let (s_port, d_port) = match protocol {
            // The key holds ICMP type << 8 | code, and the IGMP type, in
            // the destination port; an IPsec SPI in both ports.
            ICMP => (0, (8 << 8) | (i % 4)),
            ICMPV6 => (0, (128 << 8) | (i % 4)),
            IGMP => (0, [0x11, 0x12, 0x16, 0x17][usize::from(i % 4)]),
            ESP => (0xc000 + i, 0x2000 + 7 * i),
            _ => (1000 + i, 20000 + 3 * i),
        };
        let mut key = FlowKey {
            ip_version: v,
            protocol,
            s_port,
            d_port,
            i_ifc: 100 + i,
            tos: (i % 63) as u8 * 4 + 4,
            ..Default::default()
        };
        let mut first = FirstPacket {
            o_ifc: 300 + i,
            ..Default::default()
        };
        let mut info = PacketInfo {
            ip_len: 60 + u32::from(i),
            tcp_flags: 0x10 | (i % 16) as u8,
            ..Default::default()
        };
        if v == 4 {
            key.src[..4].copy_from_slice(&[10, 1, hi, lo]);
            key.dst[..4].copy_from_slice(&[172, 16, hi, lo]);
            first.nexthop[..4].copy_from_slice(&[192, 0, 2, lo]);
            if round % 3 != 1 {
                (first.s_mask, first.d_mask) = (8 + (i % 17) as u8, 20 + (i % 9) as u8);
            }
            if round % 2 == 1 {
                info.options = 0x4000_0000 >> (i % 16);
            }
        } else {
            key.src = [0xfd, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, hi, lo];
            key.dst = [0xfd, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, hi, lo];
            first.nexthop = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, hi, lo];
            if round % 3 != 1 {
                first.flow_label = 0x1_0000 | u32::from(i);
            }
            if round % 2 == 1 {
                // Within the 2 bytes the IPv6 template gives the element.
                info.options = 0x0100 << (i % 8);
            }
        }
        if protocol == TCP && round % 4 < 2 {
            info.tcp_options = 0x0210_0000 | u32::from(i);
        }
        set_link_layer(&mut key, &mut first, i);
        info.key = key;
        let mut f = Flow::new(&info, 0, 0, first);
        for _ in 0..i % 7 + 1 {
            f.account(&info, 10);
        }
        f.end_reason = [
            EndReason::Idle,
            EndReason::Active,
            EndReason::EndOfFlow,
            EndReason::Forced,
        ][usize::from(i % 4)];
        f
    }

    /// The link-layer fields of flow `i`, in builds that compile them in:
    /// MACs on most flows, none, one or two VLAN tags in turn, every
    /// direction and bridge ports or none.
    #[allow(unused_variables)]
    fn set_link_layer(key: &mut FlowKey, first: &mut FirstPacket, i: u16) {
        let [hi, lo] = i.to_be_bytes();
        #[cfg(feature = "mac")]
        if i % 5 != 4 {
            key.l2.dst_mac = [0x02, 0xd0, 0, 0, hi, lo];
            key.l2.src_mac = [0x02, 0x50, 0, 0, hi, lo];
        }
        #[cfg(feature = "vlan")]
        {
            let outer = (0x2000 * (i % 8)) | (10 + i);
            key.l2.vlan = match i % 3 {
                0 => [[0; 2]; 2],
                1 => [outer.to_be_bytes(), [0; 2]],
                _ => [outer.to_be_bytes(), (0xe000 | (200 + i)).to_be_bytes()],
            };
        }
        #[cfg(any(feature = "mac", feature = "vlan"))]
        {
            first.ethertype = if i % 11 == 10 {
                0
            } else if key.ip_version == 4 {
                0x0800
            } else {
                0x86dd
            };
        }
        #[cfg(feature = "direction")]
        {
            first.direction = [0, 1, 255][usize::from(i % 3)];
        }
        #[cfg(feature = "physdev")]
        {
            (first.phys_in, first.phys_out) = (500 + i, 700 + i);
        }
        #[cfg(feature = "mpls")]
        {
            // No stack, or one of 1 to MPLS_DEPTH entries, bottom bit on
            // the last.
            let depth = usize::from(i) % (MPLS_DEPTH + 1);
            for (n, entry) in key.l2.mpls.iter_mut().enumerate().take(depth) {
                let label = 16 + u32::from(i) * 4 + n as u32;
                let bottom = u32::from(n + 1 == depth);
                *entry = (label << 12 | (n as u32 & 7) << 9 | bottom << 8 | (64 - n as u32))
                    .to_be_bytes();
            }
        }
    }

    /// The link-layer elements of this build that the flows above give
    /// values to, for `version`.
    fn link_elements(version: Version) -> Vec<u16> {
        let mut ids = Vec::new();
        if cfg!(feature = "mac") {
            ids.extend([56, 80]);
        }
        if cfg!(feature = "vlan") {
            match version {
                Version::V9 => ids.push(58),
                Version::Ipfix => ids.extend([243, 244, 245, 246]),
            }
        }
        if cfg!(any(feature = "mac", feature = "vlan")) {
            ids.push(256);
        }
        if cfg!(feature = "direction") {
            ids.push(61);
        }
        if cfg!(feature = "physdev") {
            ids.extend([252, 253]);
        }
        if cfg!(feature = "mpls") {
            ids.push(200);
            ids.extend((0..MPLS_DEPTH as u16).map(|i| 70 + i));
        }
        ids
    }

    /// What a link-layer element of flow `f` must decode to (in the
    /// default build, where every arm is compiled out, nothing).
    #[allow(unused_variables, unreachable_code)]
    fn expected_link(id: u16, f: &Flow) -> Option<u128> {
        #[cfg(feature = "vlan")]
        let tci = |n: usize| u128::from(u16::from_be_bytes(f.key.l2.vlan[n]));
        Some(match id {
            #[cfg(feature = "mac")]
            56 => u128::from_be_bytes({
                let mut b = [0; 16];
                b[10..].copy_from_slice(&f.key.l2.src_mac);
                b
            }),
            #[cfg(feature = "mac")]
            80 => u128::from_be_bytes({
                let mut b = [0; 16];
                b[10..].copy_from_slice(&f.key.l2.dst_mac);
                b
            }),
            // vlanId and dot1qVlanId: the outer tag's low 12 bits;
            // dot1qPriority its top 3; the customer ones the inner tag's.
            #[cfg(feature = "vlan")]
            58 | 243 => tci(0) & 0xfff,
            #[cfg(feature = "vlan")]
            244 => tci(0) >> 13,
            #[cfg(feature = "vlan")]
            245 => tci(1) & 0xfff,
            #[cfg(feature = "vlan")]
            246 => tci(1) >> 13,
            #[cfg(any(feature = "mac", feature = "vlan"))]
            256 => f.first_packet.ethertype.into(),
            #[cfg(feature = "direction")]
            61 => f.first_packet.direction.into(),
            #[cfg(feature = "physdev")]
            252 => f.first_packet.phys_in.into(),
            #[cfg(feature = "physdev")]
            253 => f.first_packet.phys_out.into(),
            // mplsTopLabelTTL: the top entry's last byte; the label stack
            // sections: each entry's first three bytes.
            #[cfg(feature = "mpls")]
            200 => f.key.l2.mpls[0][3].into(),
            #[cfg(feature = "mpls")]
            70..=79 => {
                let e = f.key.l2.mpls[usize::from(id - 70)];
                u128::from(u32::from_be_bytes(e) >> 8)
            }
            _ => return None,
        })
    }

    const TIMES: FlowTimes = FlowTimes {
        first_uptime_ms: 1000,
        last_uptime_ms: 2000,
        first_epoch_ms: 1_700_000_000_000,
        last_epoch_ms: 1_700_000_001_000,
    };

    /// Fills PDUs with `flows`, sending (collecting) each when full.
    fn export(version: Version, flows: &[Flow]) -> Vec<Vec<u8>> {
        let mut cache = TemplateCache::default();
        let mut pdu = Pdu::new(version);
        let mut out = Vec::new();
        let mut seq = 0u32;
        for f in flows {
            let key = TemplateKey::of(f, version);
            let mut fields = FieldList::default();
            key.fields(&mut fields);
            let t = cache.get(key).unwrap();
            let add = |pdu: &mut Pdu, t: &mut Template, n: u64| {
                pdu.add_record(t, fields.as_slice(), n, 0, 20, 30, |b| {
                    write_record(fields.as_slice(), b, f, &RecordContext::of(f, TIMES))
                })
            };
            if add(&mut pdu, t, out.len() as u64) == Err(Full) {
                let h = PduHeader {
                    sys_uptime_ms: 5,
                    unix_secs: 6,
                    sequence: seq,
                    domain: 7,
                };
                seq += if version == Version::V9 {
                    1
                } else {
                    pdu.data_records()
                };
                out.push(pdu.finish(&h).to_vec());
                pdu.clear();
                let t = cache.get(TemplateKey::of(f, version)).unwrap();
                add(&mut pdu, t, out.len() as u64).unwrap();
            }
        }
        if !pdu.is_empty() {
            let h = PduHeader {
                sys_uptime_ms: 5,
                unix_secs: 6,
                sequence: seq,
                domain: 7,
            };
            out.push(pdu.finish(&h).to_vec());
        }
        out
    }

    /// Every kind of flow the templates distinguish, in turn.
    fn mixed_flows(n: u16) -> Vec<Flow> {
        const KINDS: [(u8, u8); 8] = [
            (4, TCP),
            (6, UDP),
            (4, ICMP),
            (6, ESP),
            (6, ICMPV6),
            (4, IGMP),
            (4, UDP),
            (6, TCP),
        ];
        (0..n)
            .map(|i| {
                let (v, protocol) = KINDS[usize::from(i) % KINDS.len()];
                flow(v, protocol, i)
            })
            .collect()
    }

    /// What element `id` of `f`'s data record must decode to, from the
    /// flow's fields and TIMES as this test set them: the meaning of each
    /// element written out again here, not asked of the encoder. An element
    /// this test does not know fails, so one added to a template cannot go
    /// unchecked.
    fn expected(id: u16, f: &Flow) -> u128 {
        let k = &f.key;
        let fp = &f.first_packet;
        let v4 = |a: &[u8; 16]| u128::from(u32::from_be_bytes([a[0], a[1], a[2], a[3]]));
        let v6 = |a: &[u8; 16]| u128::from_be_bytes(*a);
        match id {
            1 => f.bytes.into(),                // octetDeltaCount
            2 => f.packets.into(),              // packetDeltaCount
            4 => k.protocol.into(),             // protocolIdentifier
            5 => k.tos.into(),                  // ipClassOfService
            6 => f.tcp_flags.into(),            // tcpControlBits
            7 => k.s_port.into(),               // sourceTransportPort
            8 => v4(&k.src),                    // sourceIPv4Address
            9 => fp.s_mask.into(),              // sourceIPv4PrefixLength
            10 => k.i_ifc.into(),               // ingressInterface
            11 => k.d_port.into(),              // destinationTransportPort
            12 => v4(&k.dst),                   // destinationIPv4Address
            13 => fp.d_mask.into(),             // destinationIPv4PrefixLength
            14 => fp.o_ifc.into(),              // egressInterface
            15 => v4(&fp.nexthop),              // ipNextHopIPv4Address
            21 => TIMES.last_uptime_ms.into(),  // v9 LAST_SWITCHED
            22 => TIMES.first_uptime_ms.into(), // v9 FIRST_SWITCHED
            27 => v6(&k.src),                   // sourceIPv6Address
            28 => v6(&k.dst),                   // destinationIPv6Address
            31 => fp.flow_label.into(),         // flowLabelIPv6
            // icmpTypeCodeIPv4/IPv6 and igmpType: where the key keeps them.
            32 | 139 | 33 => k.d_port.into(),
            60 => k.ip_version.into(),    // ipVersion
            62 => v6(&fp.nexthop),        // ipNextHopIPv6Address
            64 | 208 => f.options.into(), // ipv6ExtensionHeaders, ipv4Options
            // flowEndReason, numbered as RFC 5102 numbers them.
            136 => match f.end_reason {
                EndReason::Idle => 1,
                EndReason::Active => 2,
                EndReason::EndOfFlow => 3,
                EndReason::Forced => 4,
                EndReason::None => panic!("an exported flow has ended"),
            },
            152 => TIMES.first_epoch_ms.into(), // flowStartMilliseconds
            153 => TIMES.last_epoch_ms.into(),  // flowEndMilliseconds
            209 => f.tcp_options.into(),        // tcpOptions
            // ipSecSPI: the key keeps its upper half in the destination
            // port and its lower half in the source port.
            295 => (u32::from(k.d_port) << 16 | u32::from(k.s_port)).into(),
            other => expected_link(other, f)
                .unwrap_or_else(|| panic!("element {other} is not checked by this test")),
        }
    }

    /// The elements every data record of `f` must have, whatever else its
    /// template holds: a record missing one would pass the per-element
    /// check.
    fn required(version: Version, f: &Flow) -> Vec<u16> {
        let mut ids = match version {
            Version::V9 => std::vec![1, 2, 4, 5, 10, 14, 21, 22, 60],
            Version::Ipfix => std::vec![1, 2, 4, 5, 10, 14, 60, 136, 152, 153],
        };
        let addresses = if f.key.ip_version == 4 {
            [8, 12]
        } else {
            [27, 28]
        };
        ids.extend(addresses);
        if matches!(f.key.protocol, TCP | UDP) {
            ids.extend([6, 7, 11]);
        }
        if cfg!(feature = "direction") {
            ids.push(61);
        }
        if cfg!(feature = "physdev") {
            ids.extend([252, 253]);
        }
        ids
    }

    /// A decoded value as a number: netflow_parser's own big-endian
    /// rendering of what it read (addresses too), folded.
    fn number(v: &FieldValue) -> u128 {
        let mut b = Vec::new();
        v.write_be_bytes(&mut b).unwrap();
        assert!(b.len() <= 16, "{v:?}");
        b.iter().fold(0, |n, &x| n << 8 | u128::from(x))
    }

    /// The number of an IPFIX element netflow_parser decoded. It names
    /// elements instead of numbering them, so the number is found by
    /// having it name each candidate; every element the templates use is
    /// below 512, and one that is not fails as unknown.
    fn ipfix_id(field: &IPFixField) -> u16 {
        (0..512)
            .find(|&id| IPFixField::new(id, None) == *field)
            .unwrap_or_else(|| panic!("{field:?} is not an element this test checks"))
    }

    /// Checks one decoded data record, as (element id, value) pairs,
    /// against flow `f`, record number `n` of the export. Returns the
    /// elements it had.
    fn check_record<'a>(
        version: Version,
        n: usize,
        f: &Flow,
        rec: impl Iterator<Item = (u16, &'a FieldValue)>,
    ) -> Vec<u16> {
        let mut seen = Vec::new();
        for (id, v) in rec {
            let (got, want) = (number(v), expected(id, f));
            assert!(
                got == want,
                "{version:?} record {n}: element {id} is {got:#x} ({v:?}), want {want:#x}"
            );
            seen.push(id);
        }
        for id in required(version, f) {
            assert!(
                seen.contains(&id),
                "{version:?} record {n}: no element {id} in {seen:?}"
            );
        }
        seen
    }

    /// Our PDUs decoded by an independent implementation (netflow_parser):
    /// every element of every data record holds the flow's value, and the
    /// header what export() passed.
    #[test]
    fn ipfix_round_trips_through_netflow_parser() {
        let flows = mixed_flows(100);
        let packets = export(Version::Ipfix, &flows);
        assert!(packets.len() > 1, "100 records need several 1400-byte PDUs");
        let mut parser = NetflowParser::default();
        let mut decoded = 0;
        let mut elements = BTreeSet::new();
        for p in &packets {
            assert!(p.len() <= IPFIX_HEADER + DATA_MAX);
            let r = parser.parse_bytes(p);
            assert!(r.error.is_none(), "{:?}", r.error);
            let NetflowPacket::IPFix(ipfix) = &r.packets[0] else {
                panic!("not IPFIX")
            };
            let h = &ipfix.header;
            // unix_secs 6 and domain 7 as export() passed them; the
            // sequence counts the data records of the PDUs before.
            assert_eq!(
                (h.version, usize::from(h.length), h.export_time),
                (10, p.len(), 6)
            );
            assert_eq!(
                (h.sequence_number, h.observation_domain_id),
                (decoded as u32, 7),
                "sequence counts data records"
            );
            for set in &ipfix.flowsets {
                if let IpfixBody::Data(d) = &set.body {
                    for rec in &d.fields {
                        let f = &flows[decoded];
                        let ids = rec.iter().map(|(k, v)| (ipfix_id(k), v));
                        elements.extend(check_record(Version::Ipfix, decoded, f, ids));
                        decoded += 1;
                    }
                }
            }
        }
        assert_eq!(decoded, flows.len());
        // The flows have every optional part: each element an IPFIX data
        // template can hold was checked.
        let mut all = std::vec![
            1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 27, 28, 31, 32, 33, 60, 62, 64, 136,
            139, 152, 153, 208, 209, 295,
        ];
        all.extend(link_elements(Version::Ipfix));
        all.sort_unstable();
        assert_eq!(Vec::from_iter(elements), all);
    }

    #[test]
    fn v9_round_trips_through_netflow_parser() {
        let flows = mixed_flows(80);
        let packets = export(Version::V9, &flows);
        assert!(packets.len() > 1, "80 records need several 1400-byte PDUs");
        let mut parser = NetflowParser::default();
        let mut decoded = 0;
        let mut elements = BTreeSet::new();
        for (n, p) in packets.iter().enumerate() {
            let r = parser.parse_bytes(p);
            assert!(r.error.is_none(), "{:?}", r.error);
            let NetflowPacket::V9(v9) = &r.packets[0] else {
                panic!("not v9")
            };
            let h = &v9.header;
            // sys_uptime_ms 5, unix_secs 6 and domain 7 as export() passed
            // them; the sequence numbers packets.
            assert_eq!(
                (h.version, h.sys_up_time, h.unix_secs, h.source_id),
                (9, 5, 6, 7)
            );
            assert_eq!(h.sequence_number, n as u32, "v9 numbers packets");
            let mut records = 0;
            for set in &v9.flowsets {
                match &set.body {
                    V9Body::Data(d) => {
                        for rec in &d.fields {
                            let f = &flows[decoded];
                            let ids = rec.iter().map(|(k, v)| (u16::from(*k), v));
                            elements.extend(check_record(Version::V9, decoded, f, ids));
                            decoded += 1;
                            records += 1;
                        }
                    }
                    V9Body::Template(t) => records += t.templates.len(),
                    _ => {}
                }
            }
            assert_eq!(usize::from(h.count), records, "v9 count includes templates");
        }
        assert_eq!(decoded, flows.len());
        // Each element a v9 data template can hold was checked.
        let mut all = std::vec![
            1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 21, 22, 27, 28, 31, 32, 33, 60, 62, 64,
            139, 208, 209, 295,
        ];
        all.extend(link_elements(Version::V9));
        all.sort_unstable();
        assert_eq!(Vec::from_iter(elements), all);
    }

    #[test]
    fn more_keys_than_entries_evict_in_turn_with_new_ids() {
        let mut cache = TemplateCache::starting_at(65500);
        let keys: Vec<TemplateKey> = (0..MAX_TEMPLATES as u32 + 3)
            .map(|n| TemplateKey(1 << 31 | n))
            .collect();
        let mut ids = Vec::new();
        for &k in &keys {
            let t = cache.get(k).unwrap();
            t.sent = true;
            ids.push(t.id);
        }
        assert_eq!(cache.active(), MAX_TEMPLATES as u32);
        // Ids count from the start given, wrap to 256, and are never
        // handed out twice in this run.
        assert_eq!(ids[0], 65500);
        assert!(ids.contains(&65535) && ids.contains(&FIRST_TEMPLATE_ID));
        let distinct: BTreeSet<u16> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), ids.len());
        // The three oldest were evicted; a key seen again is a new template,
        // not yet sent.
        let again = cache.get(keys[0]).unwrap();
        assert!(!again.sent);
        assert!(!ids.contains(&again.id));
        assert_eq!(
            cache.get(keys[5]).unwrap().id,
            ids[5],
            "a cached key keeps its template"
        );
        assert_eq!(
            TemplateCache::starting_at(3).get(keys[0]).unwrap().id,
            FIRST_TEMPLATE_ID
        );
    }

    #[test]
    fn templates_are_resent_after_refresh_rate_pdus() {
        let mut cache = TemplateCache::default();
        let f = flow(4, UDP, 1);
        let key = TemplateKey::of(&f, Version::Ipfix);
        let mut pdu = Pdu::new(Version::Ipfix);
        let mut fields = FieldList::default();
        key.fields(&mut fields);
        let mut with_template = Vec::new();
        for n in 0..50u64 {
            let t = cache.get(key).unwrap();
            let before = t.sent_pdu;
            pdu.add_record(t, fields.as_slice(), n, 0, 20, 30, |_| {})
                .unwrap();
            with_template.push(n == 0 || t.sent_pdu != before);
            pdu.clear();
        }
        let sent_at: Vec<usize> = with_template
            .iter()
            .enumerate()
            .filter(|(_, &s)| s)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(sent_at, [0, 21, 42]);
        assert_eq!((cache.generated, cache.active()), (1, 1));
        cache.reset();
        assert_eq!(cache.active(), 0);
        assert_eq!(
            cache.get(key).unwrap().id,
            FIRST_TEMPLATE_ID + 1,
            "ids keep counting after a reset"
        );
    }

    #[test]
    fn resend_all_sends_every_template_again_with_its_id() {
        let mut cache = TemplateCache::default();
        let f = flow(4, UDP, 1);
        let key = TemplateKey::of(&f, Version::V9);
        let mut fields = FieldList::default();
        key.fields(&mut fields);
        let mut pdu = Pdu::new(Version::V9);
        let mut add = |cache: &mut TemplateCache, n: u64| {
            let t = cache.get(key).unwrap();
            pdu.add_record(t, fields.as_slice(), n, 0, 20, 30, |_| {})
                .unwrap();
            let len = pdu.finish(&PduHeader::default()).len();
            pdu.clear();
            len
        };
        let with = add(&mut cache, 0);
        let without = add(&mut cache, 1);
        assert!(with > without, "the second packet has no template");
        cache.resend_all();
        assert_eq!(add(&mut cache, 2), with, "the template goes out again");
        assert_eq!(add(&mut cache, 3), without);
        assert_eq!(cache.get(key).unwrap().id, FIRST_TEMPLATE_ID, "same id");
        assert_eq!(cache.generated, 1);
    }

    #[test]
    fn data_sets_are_padded_only_between_sets() {
        let flows = [flow(4, UDP, 1), flow(4, ICMP, 2)];
        let p = &export(Version::Ipfix, &flows)[0];
        // Walk the sets: every set but the last has a length multiple of 4.
        let mut at = IPFIX_HEADER;
        let mut lens = Vec::new();
        while at < p.len() {
            let len = u16::from_be_bytes([p[at + 2], p[at + 3]]) as usize;
            lens.push(len);
            at += len;
        }
        assert_eq!(at, p.len());
        let (last, rest) = lens.split_last().unwrap();
        assert!(rest.iter().all(|l| l % 4 == 0), "{lens:?}");
        assert!(*last > 0);
    }

    /// The metering statistics options record (scope: observation domain).
    const MPSTAT: [(u16, u16); 5] = [(149, 4), (41, 8), (42, 8), (40, 8), (163, 8)];
    /// The values options_pdu writes into it, by element.
    const MPSTAT_VALUES: [(u16, u128); 5] =
        [(149, 7), (41, 11), (42, 222), (40, 3333), (163, 44444)];

    /// The data record options_pdu adds after the options record.
    fn options_pdu_flow() -> Flow {
        flow(4, UDP, 9)
    }

    fn options_pdu(version: Version) -> Vec<u8> {
        let mut cache = TemplateCache::default();
        let mut pdu = Pdu::new(version);
        let t = cache.get_options(TemplateKey(1 << 31 | 2), 1).unwrap();
        pdu.add_record(t, &MPSTAT, 0, 0, 20, 30, |b| {
            b[0..4].copy_from_slice(&7u32.to_be_bytes());
            b[4..12].copy_from_slice(&11u64.to_be_bytes());
            b[12..20].copy_from_slice(&222u64.to_be_bytes());
            b[20..28].copy_from_slice(&3333u64.to_be_bytes());
            b[28..36].copy_from_slice(&44444u64.to_be_bytes());
        })
        .unwrap();
        // A data record after it, in the same PDU.
        let f = options_pdu_flow();
        let key = TemplateKey::of(&f, version);
        let mut fields = FieldList::default();
        key.fields(&mut fields);
        let t = cache.get(key).unwrap();
        pdu.add_record(t, fields.as_slice(), 0, 0, 20, 30, |b| {
            write_record(fields.as_slice(), b, &f, &RecordContext::of(&f, TIMES))
        })
        .unwrap();
        pdu.finish(&PduHeader {
            domain: 7,
            ..Default::default()
        })
        .to_vec()
    }

    #[test]
    fn ipfix_options_template_and_record_decode() {
        let p = options_pdu(Version::Ipfix);
        let r = NetflowParser::default().parse_bytes(&p);
        assert!(r.error.is_none(), "{:?}", r.error);
        let NetflowPacket::IPFix(ipfix) = &r.packets[0] else {
            panic!("not IPFIX")
        };
        assert_eq!(ipfix.header.observation_domain_id, 7);
        let mut saw_template = false;
        let mut values = Vec::new();
        let mut data = 0;
        for set in &ipfix.flowsets {
            match &set.body {
                IpfixBody::OptionsTemplate(t) => {
                    assert_eq!((t.field_count, t.scope_field_count), (5, 1));
                    saw_template = true;
                }
                IpfixBody::OptionsTemplates(ts) => {
                    assert_eq!((ts[0].field_count, ts[0].scope_field_count), (5, 1));
                    saw_template = true;
                }
                IpfixBody::OptionsData(d) => {
                    values = d.fields[0]
                        .iter()
                        .map(|(k, v)| (ipfix_id(k), number(v)))
                        .collect();
                }
                IpfixBody::Data(d) => {
                    let ids = d.fields[0].iter().map(|(k, v)| (ipfix_id(k), v));
                    check_record(Version::Ipfix, 0, &options_pdu_flow(), ids);
                    data += 1;
                }
                _ => {}
            }
        }
        assert!(saw_template);
        assert_eq!(values, MPSTAT_VALUES);
        assert_eq!(data, 1, "the data record after the options record");
    }

    #[test]
    fn v9_options_template_uses_scope_types() {
        let p = options_pdu(Version::V9);
        let r = NetflowParser::default().parse_bytes(&p);
        assert!(r.error.is_none(), "{:?}", r.error);
        let NetflowPacket::V9(v9) = &r.packets[0] else {
            panic!("not v9")
        };
        assert_eq!(v9.header.source_id, 7);
        let mut saw = false;
        let mut values = Vec::new();
        let mut data = 0;
        for set in &v9.flowsets {
            match &set.body {
                V9Body::OptionsTemplate(t) => {
                    let t = &t.templates[0];
                    assert_eq!((t.options_scope_length, t.options_length), (4, 16));
                    // observationDomainId becomes the v9 scope System (1).
                    let scope: Vec<u16> =
                        t.scope_fields.iter().map(|s| s.field_type_number).collect();
                    assert_eq!(scope, [1]);
                    saw = true;
                }
                V9Body::OptionsData(d) => {
                    let rec = &d.fields[0];
                    let [ScopeDataField::System(scope)] = &rec.scope_fields[..] else {
                        panic!("scope {:?}", rec.scope_fields)
                    };
                    values.push((149, scope.iter().fold(0, |n, &x| n << 8 | u128::from(x))));
                    values.extend(
                        rec.options_fields
                            .iter()
                            .map(|(k, v)| (u16::from(*k), number(v))),
                    );
                }
                V9Body::Data(d) => {
                    let ids = d.fields[0].iter().map(|(k, v)| (u16::from(*k), v));
                    check_record(Version::V9, 0, &options_pdu_flow(), ids);
                    data += 1;
                }
                _ => {}
            }
        }
        assert!(saw, "{:?}", v9.flowsets);
        assert_eq!(values, MPSTAT_VALUES);
        assert_eq!(data, 1, "the data record after the options record");
        // Two templates and two data records.
        assert_eq!(v9.header.count, 4);
    }
}

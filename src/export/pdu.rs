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
/// How many templates the cache holds.
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
    /// Templates created since load (the /proc "templates" count).
    pub generated: u32,
}

impl Default for TemplateCache {
    fn default() -> Self {
        TemplateCache {
            entries: [None; MAX_TEMPLATES],
            next_id: FIRST_TEMPLATE_ID,
            generated: 0,
        }
    }
}

impl TemplateCache {
    /// The template for `key`, made on first use. `None` only if the cache
    /// is full (it cannot be with the keys the meter produces).
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
                let i = self.entries.iter().position(Option::is_none)?;
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
    use crate::export::record::{write_record, FlowTimes};
    use crate::export::template::FieldList;
    use crate::meter::flow::{EndReason, FirstPacket, Flow};
    use crate::meter::flow_key::{FlowKey, PacketInfo};
    use netflow_parser::variable_versions::ipfix::FlowSetBody as IpfixBody;
    use netflow_parser::variable_versions::v9::FlowSetBody as V9Body;
    use netflow_parser::{NetflowPacket, NetflowParser};
    use std::vec::Vec;

    fn flow(v: u8, proto: u8, port: u16) -> Flow {
        let mut key = FlowKey {
            ip_version: v,
            protocol: proto,
            s_port: port,
            d_port: 53,
            i_ifc: 2,
            tos: 8,
            ..Default::default()
        };
        if v == 4 {
            key.src[..4].copy_from_slice(&[10, 1, 0, 2]);
            key.dst[..4].copy_from_slice(&[10, 2, 0, 2]);
        } else {
            key.src = [0xfd, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
            key.dst = [0xfd, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
        }
        let info = PacketInfo {
            key,
            ip_len: 100,
            tcp_flags: 0x12,
            ..Default::default()
        };
        let mut f = Flow::new(
            &info,
            0,
            0,
            FirstPacket {
                o_ifc: 3,
                flow_label: 0x12345,
                ..Default::default()
            },
        );
        for _ in 0..port % 7 + 1 {
            f.account(&info, 10);
        }
        f.end_reason = EndReason::Idle;
        f
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
                    write_record(fields.as_slice(), b, f, &TIMES)
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

    fn mixed_flows(n: u16) -> Vec<Flow> {
        (0..n)
            .map(|i| match i % 4 {
                0 => flow(4, 6, 1000 + i),
                1 => flow(6, 17, 1000 + i),
                2 => flow(4, 1, 1000 + i),
                _ => flow(6, 50, 1000 + i),
            })
            .collect()
    }

    /// Every data record decoded by netflow_parser, as (template elements'
    /// bytes) in order, with the ones our encoder wrote compared alongside.
    #[test]
    fn ipfix_round_trips_through_netflow_parser() {
        let flows = mixed_flows(100);
        let packets = export(Version::Ipfix, &flows);
        assert!(packets.len() > 1, "100 records need several 1400-byte PDUs");
        let mut parser = NetflowParser::default();
        let mut decoded = 0;
        let mut expect_seq = 0u32;
        for p in &packets {
            assert!(p.len() <= IPFIX_HEADER + DATA_MAX);
            let r = parser.parse_bytes(p);
            assert!(r.error.is_none(), "{:?}", r.error);
            let NetflowPacket::IPFix(ipfix) = &r.packets[0] else {
                panic!("not IPFIX")
            };
            assert_eq!(ipfix.header.length as usize, p.len());
            assert_eq!(
                ipfix.header.sequence_number, expect_seq,
                "sequence counts data records"
            );
            assert_eq!(ipfix.header.observation_domain_id, 7);
            for set in &ipfix.flowsets {
                if let IpfixBody::Data(d) = &set.body {
                    for rec in &d.fields {
                        let f = &flows[decoded];
                        let mut fields = FieldList::default();
                        TemplateKey::of(f, Version::Ipfix).fields(&mut fields);
                        let mut mine = std::vec![0u8; fields.record_len()];
                        write_record(fields.as_slice(), &mut mine, f, &TIMES);
                        let mut theirs = Vec::new();
                        for (_, v) in rec {
                            v.write_be_bytes(&mut theirs).unwrap();
                        }
                        assert_eq!(theirs, mine, "record {decoded}");
                        decoded += 1;
                        expect_seq += 1;
                    }
                }
            }
        }
        assert_eq!(decoded, flows.len());
    }

    #[test]
    fn v9_round_trips_through_netflow_parser() {
        let flows = mixed_flows(80);
        let packets = export(Version::V9, &flows);
        let mut parser = NetflowParser::default();
        let mut decoded = 0;
        for (n, p) in packets.iter().enumerate() {
            let r = parser.parse_bytes(p);
            assert!(r.error.is_none(), "{:?}", r.error);
            let NetflowPacket::V9(v9) = &r.packets[0] else {
                panic!("not v9")
            };
            assert_eq!(v9.header.sequence_number, n as u32, "v9 numbers packets");
            assert_eq!(v9.header.source_id, 7);
            let mut records = 0;
            for set in &v9.flowsets {
                match &set.body {
                    V9Body::Data(d) => {
                        for rec in &d.fields {
                            let f = &flows[decoded];
                            let src = rec
                                .iter()
                                .find(|(k, _)| u16::from(*k) == 8 || u16::from(*k) == 27);
                            let mut b = Vec::new();
                            src.unwrap().1.write_be_bytes(&mut b).unwrap();
                            assert_eq!(
                                &b[..],
                                if f.key.ip_version == 4 {
                                    &f.key.src[..4]
                                } else {
                                    &f.key.src[..]
                                }
                            );
                            decoded += 1;
                            records += 1;
                        }
                    }
                    V9Body::Template(t) => records += t.templates.len(),
                    _ => {}
                }
            }
            assert_eq!(
                v9.header.count as usize, records,
                "v9 count includes templates"
            );
        }
        assert_eq!(decoded, flows.len());
    }

    #[test]
    fn templates_are_resent_after_refresh_rate_pdus() {
        let mut cache = TemplateCache::default();
        let f = flow(4, 17, 1);
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
        let f = flow(4, 17, 1);
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
        let flows = [flow(4, 17, 1), flow(4, 1, 2)];
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
        let f = flow(4, 17, 9);
        let key = TemplateKey::of(&f, version);
        let mut fields = FieldList::default();
        key.fields(&mut fields);
        let t = cache.get(key).unwrap();
        pdu.add_record(t, fields.as_slice(), 0, 0, 20, 30, |b| {
            write_record(fields.as_slice(), b, &f, &TIMES)
        })
        .unwrap();
        pdu.finish(&PduHeader {
            domain: 7,
            ..Default::default()
        })
        .to_vec()
    }

    fn numbers(pairs: impl Iterator<Item = Vec<u8>>) -> Vec<u64> {
        pairs
            .map(|b| b.iter().fold(0u64, |n, &x| n << 8 | u64::from(x)))
            .collect()
    }

    #[test]
    fn ipfix_options_template_and_record_decode() {
        let p = options_pdu(Version::Ipfix);
        let r = NetflowParser::default().parse_bytes(&p);
        assert!(r.error.is_none(), "{:?}", r.error);
        let NetflowPacket::IPFix(ipfix) = &r.packets[0] else {
            panic!("not IPFIX")
        };
        let mut saw_template = false;
        let mut values = Vec::new();
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
                    values = numbers(d.fields[0].iter().map(|(_, v)| {
                        let mut b = Vec::new();
                        v.write_be_bytes(&mut b).unwrap();
                        b
                    }));
                }
                _ => {}
            }
        }
        assert!(saw_template);
        assert_eq!(values, [7, 11, 222, 3333, 44444]);
    }

    #[test]
    fn v9_options_template_uses_scope_types() {
        let p = options_pdu(Version::V9);
        let r = NetflowParser::default().parse_bytes(&p);
        assert!(r.error.is_none(), "{:?}", r.error);
        let NetflowPacket::V9(v9) = &r.packets[0] else {
            panic!("not v9")
        };
        let mut saw = false;
        for set in &v9.flowsets {
            if let V9Body::OptionsTemplate(t) = &set.body {
                let t = &t.templates[0];
                assert_eq!((t.options_scope_length, t.options_length), (4, 16));
                saw = true;
            }
        }
        assert!(saw, "{:?}", v9.flowsets);
        // Two templates and two data records.
        assert_eq!(v9.header.count, 4);
    }
}

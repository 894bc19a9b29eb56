// SPDX-License-Identifier: GPL-2.0-only
//! The exporter: turns the records of every [`RecordSource`] (the flows
//! that left the tables) into NetFlow v5, v9 or IPFIX packets and sends
//! each packet to every destination. What was exported and what was lost is
//! counted here, whatever the source.
//!
//! It runs only inside the scanner (under its mutex), so none of its state
//! needs a lock of its own.

use super::destination::parse_each;
use super::netflow_v5::{V5Header, V5Packet, V5Record};
use super::options::{interface_description, InterfaceFacts, OptionsRecord, OptionsSchedule, Span, IF_DESC_LEN};
use super::pdu::{Full, Pdu, PduHeader, TemplateCache, FIRST_TEMPLATE_ID};
use super::record::{write_nat_record, write_record, FlowTimes, RecordContext};
use super::source::{Record, RecordSource};
use super::socket_kernel::{rebuilds_socket, ExportSocket};
use super::template::{FieldList, TemplateKey, Version, NAT4_FIELDS};
use crate::meter::flow::{Flow, Ticks};
use crate::meter::nat_event::NatEvent;
use crate::meter::sampler::{Sampler, SamplerCounts, SamplerMode};
use crate::meter::snmp_rules::SnmpRules;
use crate::params::{self, Protocol};
use crate::sys::boxed::boxed;
use crate::sys::fmtbuf::FmtBuf;
use crate::sys::log::err_ratelimited;
use crate::sys::netdev::{c_text, for_each_interface};
use crate::sys::system::{module_version, random_u64};
use crate::sys::udp::{network_unreachable, not_connected};
use crate::sys::time::{epoch_ms, hz, jiffies, real_time, uptime_ms};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use kernel::error::Result;
use kernel::prelude::*;

/// Export totals, readable by /proc at any time.
#[derive(Default)]
pub struct ExportStats {
    /// Export packets sent (once per destination that took them).
    pub pkts: AtomicU64,
    /// Their bytes.
    pub bytes: AtomicU64,
    /// Flow records exported (in packets at least one destination took).
    pub flows: AtomicU64,
    /// Export packets a destination refused.
    pub errors: AtomicU64,
    /// Flows, packets and bytes that reached no destination.
    pub lost_flows: AtomicU64,
    /// Packets in lost flows.
    pub lost_pkts: AtomicU64,
    /// Bytes in lost flows.
    pub lost_bytes: AtomicU64,
    /// Packets and bytes of flows handed to the exporter.
    pub flow_pkts: AtomicU64,
    /// Bytes of flows handed to the exporter.
    pub flow_bytes: AtomicU64,
    /// Flows the sampler looked at since it was set.
    pub sampler_flows_observed: AtomicU64,
    /// Flows it selected (exported).
    pub sampler_flows_selected: AtomicU64,
    /// Packets of the flows it looked at (deterministic and random modes;
    /// hash mode counts packets on the packet path).
    pub sampler_pkts_observed: AtomicU64,
    /// Packets of the flows it selected (deterministic and random modes).
    pub sampler_pkts_selected: AtomicU64,
}

/// What the packet being built carries, for the lost counters.
#[derive(Default, Clone, Copy)]
struct Pending {
    flows: u64,
    pkts: u64,
    bytes: u64,
    since: Ticks,
}

/// The exporter's state.
pub struct Exporter {
    /// The export protocol in force.
    pub protocol: Protocol,
    /// One socket per destination.
    socks: KVec<KBox<ExportSocket>>,
    v5: KBox<V5Packet>,
    pdu: KBox<Pdu>,
    /// Templates of the current protocol.
    pub templates: KBox<TemplateCache>,
    pending: Pending,
    /// v5: flows sent before; v9: packets sent; IPFIX: data records sent.
    sequence: u32,
    /// Export packets built since load (template refresh counts these).
    pdu_count: u64,
    /// Totals.
    pub stats: ExportStats,
    hz: u64,
    /// The destination string in force, as given.
    dest_text: [u8; 256],
    dest_len: usize,
    /// ICMP errors of all destinations as of the last export packet.
    cberr_seen: u64,
    /// When the options records are due.
    schedule: OptionsSchedule,
    /// When the module started exporting (ms since the epoch).
    loaded_ms: u64,
    /// When flows were first and last lost.
    lost_span: Option<Span>,
    /// `"ipt_NETFLOW <version> <srcversion>"`.
    domain_name: [u8; 64],
    domain_name_len: usize,
    /// The flow sampler in force.
    sampler: Option<Sampler>,
    /// Since when (ms since the epoch), for the selector statistics.
    sampling_since_ms: u64,
    /// Flows the deterministic sampler has looked at: it selects the
    /// first of every `interval`.
    sampler_count: u64,
}

/// What the meter reports in the statistics options records.
#[derive(Clone, Copy, Default)]
pub struct MeterFacts {
    /// Flows created since load.
    pub observed_flows: u64,
    /// Packets the meter could not account, and their bytes.
    pub dropped: (u64, u64),
    /// When the first and the last of them were dropped.
    pub drop_span: Option<Span>,
    /// Packets the hash-mode sampler looked at and selected.
    pub hash_sampled: (u64, u64),
    /// The snmp-rules in force, for the interface list (set with the
    /// rules).
    pub snmp: SnmpRules,
}

/// The template flavour of a protocol (v5 has none: its PDU builder is
/// never used, any flavour does).
fn version_of(protocol: Protocol) -> Version {
    match protocol {
        Protocol::Ipfix => Version::Ipfix,
        Protocol::V5 | Protocol::V9 => Version::V9,
    }
}

/// The template cache of a new exporter: ids from 256, or, in the build
/// with `--enable-rand-tpl-id`, from a random id (as the original, 256 OR a
/// random 16-bit number), so that a restarted exporter's templates do not
/// reuse the ids a collector still holds for its previous run.
#[inline(always)]
fn first_templates() -> TemplateCache {
    if cfg!(feature = "rand-tpl-id") {
        TemplateCache::starting_at(crate::sys::system::random_u64() as u16 | FIRST_TEMPLATE_ID)
    } else {
        TemplateCache::default()
    }
}

impl Exporter {
    /// An exporter for `protocol` to the destinations in `dest`.
    pub fn new(protocol: Protocol, dest: &str) -> Result<Self> {
        let mut e = Exporter {
            protocol,
            socks: KVec::new(),
            v5: boxed(V5Packet::new)?,
            pdu: boxed(|| Pdu::new(version_of(protocol)))?,
            templates: boxed(first_templates)?,
            pending: Pending::default(),
            sequence: 0,
            pdu_count: 0,
            stats: ExportStats::default(),
            hz: u64::from(hz()).max(1),
            dest_text: [0; 256],
            dest_len: 0,
            cberr_seen: 0,
            schedule: OptionsSchedule::new(0),
            loaded_ms: epoch_ms(),
            lost_span: None,
            domain_name: [0; 64],
            domain_name_len: 0,
            sampler: None,
            sampling_since_ms: epoch_ms(),
            sampler_count: 0,
        };
        e.set_domain_name();
        e.set_destinations(dest)?;
        e.set_destination_text(dest);
        // After the destinations (whose setting asks for every record at
        // once): at load the statistics wait their first minute, as the
        // original's do.
        e.schedule = OptionsSchedule::new(e.seconds(jiffies()));
        Ok(e)
    }

    fn seconds(&self, now: Ticks) -> u64 {
        // hz is at least 1; checked anyway, so no panic path exists here.
        now.checked_div(self.hz).unwrap_or(now)
    }

    fn set_domain_name(&mut self) {
        let (version, src) = module_version();
        let name = FmtBuf::<64>::of(format_args!("ipt_NETFLOW {} {}", version.unwrap_or(""), src.unwrap_or("")));
        let bytes = name.as_str().as_bytes();
        // Room for the NUL the element carries.
        let n = bytes.len().min(self.domain_name.len() - 1);
        self.domain_name[..n].copy_from_slice(&bytes[..n]);
        self.domain_name_len = n;
    }

    fn set_destination_text(&mut self, text: &str) {
        let n = text.len().min(self.dest_text.len());
        self.dest_text[..n].copy_from_slice(&text.as_bytes()[..n]);
        self.dest_len = n;
    }

    /// The destination string in force.
    pub fn destination_text(&self) -> &str {
        core::str::from_utf8(&self.dest_text[..self.dest_len]).unwrap_or("")
    }

    /// Replaces the destinations at runtime: the packet being built goes to
    /// the old ones first, so no flow is lost in the swap.
    pub fn replace_destinations(&mut self, text: &str) -> Result {
        let now = jiffies();
        self.send_if_due(now, 0);
        self.set_destinations(text)?;
        self.set_destination_text(text);
        Ok(())
    }

    /// Replaces the destinations with those of the `destination` value
    /// `text` (EINVAL, and nothing changed, if it does not parse); templates
    /// are sent again to the new ones.
    pub fn set_destinations(&mut self, text: &str) -> Result {
        let n = parse_each(text, |_| {}).map_err(|e| {
            crate::log_err!("ipt_NETFLOW: can't parse destination: {}: {}\n", text, e);
            EINVAL
        })?;
        let mut socks = KVec::with_capacity(n, GFP_KERNEL)?;
        let mut failed = Ok(());
        // Parsed once already: this pass cannot fail to parse.
        let _ = parse_each(text, |d| {
            if failed.is_err() {
                return;
            }
            let s = match ExportSocket::new(*d, params::sndbuf()) {
                Ok(s) => s,
                Err(e) => {
                    failed = Err(e);
                    return;
                }
            };
            let shown = FmtBuf::<96>::of(d);
            let state = if s.is_connected() { "" } else { " (unconnected)" };
            crate::log_info!("ipt_NETFLOW: added destination {}{}\n", shown.as_str(), state);
            if let Err(e) = socks.push(s, GFP_KERNEL) {
                failed = Err(e.into());
            }
        });
        failed?;
        self.socks = socks;
        self.cberr_seen = 0;
        self.forget_templates();
        Ok(())
    }

    /// The export sockets, one per destination.
    pub fn sockets(&self) -> impl Iterator<Item = &ExportSocket> {
        self.socks.iter().map(|s| &**s)
    }

    /// The first destination's socket buffer size (0 while it is not
    /// connected), `None` without a destination.
    pub fn first_sndbuf(&self) -> Option<u32> {
        self.socks.first().map(|s| s.sndbuf().0)
    }

    /// Sets every export socket's buffer size; false when there is none.
    pub fn set_sndbuf(&mut self, sndbuf: i32) -> bool {
        for s in self.socks.iter_mut() {
            s.set_sndbuf(sndbuf);
        }
        !self.socks.is_empty()
    }

    /// The flow sampler in force.
    pub fn sampler(&self) -> Option<Sampler> {
        self.sampler
    }

    /// Samples flows with `sampler` from now on (the caller flushed the
    /// flows metered under the old one): its counts start from zero and
    /// collectors get its description with the next packet.
    pub fn set_sampler(&mut self, sampler: Option<Sampler>) {
        self.sampler = sampler;
        self.sampling_since_ms = epoch_ms();
        self.sampler_count = 0;
        let st = &self.stats;
        for c in [
            &st.sampler_flows_observed,
            &st.sampler_flows_selected,
            &st.sampler_pkts_observed,
            &st.sampler_pkts_selected,
        ] {
            c.store(0, Relaxed);
        }
        let now = self.seconds(jiffies());
        self.schedule.sampler_changed(now);
    }

    /// Whether the sampler lets `flow` be exported, counting what it saw.
    /// Hash mode selected whole flows on the packet path: every flow that
    /// reaches export passes (and its packets were counted there).
    fn sample(&mut self, flow: &Flow) -> bool {
        let Some(s) = self.sampler else {
            return true;
        };
        let st = &self.stats;
        let packets = u64::from(flow.packets);
        st.sampler_flows_observed.fetch_add(1, Relaxed);
        let selected = match s.mode {
            SamplerMode::Hash => true,
            SamplerMode::Deterministic => {
                let n = self.sampler_count;
                self.sampler_count = n.wrapping_add(1);
                s.count_selects(n)
            }
            SamplerMode::Random => s.random_selects(random_u64() as u32),
        };
        if s.mode != SamplerMode::Hash {
            st.sampler_pkts_observed.fetch_add(packets, Relaxed);
        }
        if selected {
            st.sampler_flows_selected.fetch_add(1, Relaxed);
            if s.mode != SamplerMode::Hash {
                st.sampler_pkts_selected.fetch_add(packets, Relaxed);
            }
        }
        selected
    }

    /// Switches to another protocol (the caller flushed the flows first).
    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
        self.v5.clear();
        *self.pdu = Pdu::new(version_of(protocol));
        self.forget_templates();
        self.pending = Pending::default();
    }

    /// Templates are sent anew, and the system information and statistics
    /// with them, so a collector that just started learns everything.
    fn forget_templates(&mut self) {
        self.templates.reset();
        let now = self.seconds(jiffies());
        self.schedule.templates_reset(now);
    }

    /// Sends the options records that are due (v9 and IPFIX only); returns
    /// the number of export packets sent.
    pub fn send_options(&mut self, now: Ticks, meter: &MeterFacts) -> u32 {
        if self.protocol == Protocol::V5 {
            return 0;
        }
        let due = self.schedule.take_due(self.seconds(now));
        let domain = params::engine_id() as u32;
        let mut sent = 0;
        if due.stats {
            let st = &self.stats;
            let rec = OptionsRecord::MeteringStats {
                domain,
                messages: st.pkts.load(Relaxed),
                flows: st.flows.load(Relaxed),
                octets: st.bytes.load(Relaxed),
                observed_flows: meter.observed_flows,
            };
            sent += self.add_options(&rec, now);
            if meter.dropped.0 != 0 {
                let rec = OptionsRecord::MeteringReliability {
                    domain,
                    packets: meter.dropped.0,
                    octets: meter.dropped.1,
                    span: meter.drop_span.unwrap_or_default(),
                };
                sent += self.add_options(&rec, now);
            }
            if let Some(span) = self.lost_span {
                let st = &self.stats;
                let rec = OptionsRecord::ExportingReliability {
                    process: domain,
                    flows: st.lost_flows.load(Relaxed),
                    packets: st.lost_pkts.load(Relaxed),
                    octets: st.lost_bytes.load(Relaxed),
                    span,
                };
                sent += self.add_options(&rec, now);
            }
            if let (Some(rec), Protocol::Ipfix) = (self.selector_stats(meter), self.protocol) {
                sent += self.add_options(&rec, now);
            }
        }
        if let (true, Some(s)) = (due.sampler, self.sampler) {
            let (id, interval) = (s.mode.id(), s.interval);
            let rec = match (self.protocol, s.mode) {
                (Protocol::Ipfix, SamplerMode::Deterministic) => OptionsRecord::SelectorCount { domain, id, interval },
                (Protocol::Ipfix, _) => OptionsRecord::SelectorRandom { domain, id, interval },
                _ => OptionsRecord::Sampler { domain, id, mode: s.mode.v5_mode() as u8, interval },
            };
            sent += self.add_options(&rec, now);
        }
        if due.interfaces {
            sent += self.add_interfaces(now, &meter.snmp);
        }
        if due.system_init {
            let name = self.domain_name;
            let rec = OptionsRecord::SystemInit {
                domain,
                boot_ms: epoch_ms().saturating_sub(uptime_ms(now)),
                name: name.get(..self.domain_name_len).unwrap_or(&[]),
                span: Span { first_ms: self.loaded_ms, last_ms: epoch_ms() },
            };
            sent += self.add_options(&rec, now);
            // A collector should not wait for it behind flow records.
            sent += self.send_if_due(now, 0);
        }
        sent
    }

    /// The sampler's statistics record, when sampling is on. Hash mode
    /// counts packets on the packet path (`meter`) and cannot know how many
    /// flows the unselected packets would have made.
    fn selector_stats(&self, meter: &MeterFacts) -> Option<OptionsRecord<'static>> {
        let s = self.sampler?;
        let c = self.sampler_counts(meter.hash_sampled);
        Some(OptionsRecord::SelectorStats {
            id: s.mode.id(),
            flows_observed: (s.mode != SamplerMode::Hash).then_some(c.flows_observed),
            flows_selected: c.flows_selected,
            pkts_observed: c.pkts_observed,
            pkts_selected: c.pkts_selected,
            span: Span { first_ms: self.sampling_since_ms, last_ms: epoch_ms() },
        })
    }

    /// What the sampler in force has seen: flows as they reached export,
    /// packets there too, except in hash mode, which counts them on the
    /// packet path (`hash_sampled`: observed and selected, over all CPUs).
    pub fn sampler_counts(&self, hash_sampled: (u64, u64)) -> SamplerCounts {
        let st = &self.stats;
        let (pkts_observed, pkts_selected) = match self.sampler {
            Some(s) if s.mode == SamplerMode::Hash => hash_sampled,
            _ => (st.sampler_pkts_observed.load(Relaxed), st.sampler_pkts_selected.load(Relaxed)),
        };
        SamplerCounts {
            flows_observed: st.sampler_flows_observed.load(Relaxed),
            flows_selected: st.sampler_flows_selected.load(Relaxed),
            pkts_observed,
            pkts_selected,
        }
    }

    /// One interface-name record per interface of init_net.
    fn add_interfaces(&mut self, now: Ticks, snmp: &SnmpRules) -> u32 {
        let domain = params::engine_id() as u32;
        let mut sent = 0;
        for_each_interface(|f| {
            let facts = InterfaceFacts {
                alias: c_text(&f.alias),
                driver: c_text(&f.driver),
                running: f.running,
                speed_mbps: f.link_known.then_some(f.speed),
                port: f.link_known.then_some(f.port),
                hw_type: f.type_,
            };
            let mut desc = [0u8; IF_DESC_LEN];
            let n = interface_description(&facts, &mut desc);
            let rec = OptionsRecord::Interface {
                domain,
                ifindex: snmp.map(c_text(&f.name), f.ifindex as u16),
                name: c_text(&f.name),
                description: desc.get(..n).unwrap_or(&[]),
            };
            sent += self.add_options(&rec, now);
        });
        sent
    }

    /// Adds one options record, sending the packet first if it is full.
    fn add_options(&mut self, rec: &OptionsRecord<'_>, now: Ticks) -> u32 {
        let mut fields = FieldList::default();
        rec.fields(&mut fields);
        if self.is_empty() {
            self.pending.since = now;
        }
        self.add_templated(rec.key(), OptionsRecord::SCOPE_FIELDS, fields.as_slice(), now, |b| rec.write(b))
    }

    /// Adds one record of template `key` (v9 and IPFIX; `scope_fields`
    /// non-zero for an options template), sending the packet first if it
    /// is full; returns the number of export packets sent.
    fn add_templated(
        &mut self,
        key: TemplateKey,
        scope_fields: u16,
        fields: &[(u16, u16)],
        now: Ticks,
        write: impl Fn(&mut [u8]),
    ) -> u32 {
        let mut sent = 0;
        for _ in 0..2 {
            let Some(t) = self.templates.get_options(key, scope_fields) else {
                break;
            };
            let r = self.pdu.add_record(
                t,
                fields,
                self.pdu_count,
                now.checked_div(self.hz).unwrap_or(now),
                params::refresh_rate(),
                params::timeout_rate(),
                &write,
            );
            if r != Err(Full) {
                break;
            }
            sent += self.send_pending(now);
            self.pending.since = now;
        }
        sent
    }

    /// Packets and bytes in the packet being built (/proc InPDU).
    pub fn in_pdu(&self) -> (u64, u64) {
        (self.pending.pkts, self.pending.bytes)
    }

    /// Exports every record of `source`. Returns the number of export
    /// packets sent.
    pub fn export(&mut self, source: impl RecordSource, now: Ticks) -> u32 {
        if source.is_empty() {
            return 0;
        }
        let mut sent = 0;
        let clocks = Clocks::read(now);
        let (mut pkts, mut bytes) = (0u64, 0u64);
        source.drain(|record| match record {
            Record::Flow(flow) => {
                pkts = pkts.wrapping_add(u64::from(flow.packets));
                bytes = bytes.wrapping_add(u64::from(flow.bytes));
                if self.sample(flow) {
                    sent += self.add_flow(flow, &clocks);
                }
            }
            // NAT events are not sampled: every translation is logged.
            Record::Nat(ev) => sent += self.add_nat(ev, &clocks),
        });
        self.stats.flow_pkts.fetch_add(pkts, Relaxed);
        self.stats.flow_bytes.fetch_add(bytes, Relaxed);
        sent
    }

    fn add_flow(&mut self, flow: &Flow, clocks: &Clocks) -> u32 {
        let now = clocks.now;
        let mut sent = 0;
        if self.is_empty() {
            self.pending.since = now;
        }
        if self.protocol == Protocol::V5 {
            if flow.key.ip_version != 4 {
                // v5 has no IPv6 records.
                self.count_lost(1, flow.packets.into(), flow.bytes.into());
                return 0;
            }
            if self.v5.is_full() {
                sent += self.send_pending(now);
            }
            self.v5.push(&V5Record::from_flow(
                flow,
                uptime_ms(flow.first_tick(now)) as u32,
                uptime_ms(flow.last_tick(now)) as u32,
            ));
        } else {
            let version = version_of(self.protocol);
            let mut key = TemplateKey::of(flow, version);
            let mut context = RecordContext::of(flow, flow_times(flow, clocks));
            if let Some(s) = self.sampler {
                key = key.with_sampler();
                context.sampler_id = s.mode.id();
            }
            let mut fields = FieldList::default();
            key.fields(&mut fields);
            let fields = fields.as_slice();
            sent += self.add_templated(key, 0, fields, now, |b| write_record(fields, b, flow, &context));
        }
        self.pending.flows += 1;
        self.pending.pkts += u64::from(flow.packets);
        self.pending.bytes += u64::from(flow.bytes);
        sent
    }

    /// Adds a NAT event's record(s): one NAT4 record in v9/IPFIX, its
    /// pseudo-records in v5. Each record counts as a flow record.
    fn add_nat(&mut self, ev: &NatEvent, clocks: &Clocks) -> u32 {
        let now = clocks.now;
        let mut sent = 0;
        if self.is_empty() {
            self.pending.since = now;
        }
        if self.protocol == Protocol::V5 {
            let uptime = clocks.uptime_ms.saturating_sub(clocks.epoch_ms.saturating_sub(ev.epoch_ms));
            for rec in V5Record::from_nat(ev, uptime as u32) {
                if self.v5.is_full() {
                    sent += self.send_pending(now);
                }
                self.v5.push(&rec);
                self.pending.flows += 1;
            }
        } else {
            let fields = &NAT4_FIELDS[..];
            sent += self.add_templated(TemplateKey::nat4(), 0, fields, now, |b| write_nat_record(fields, b, ev));
            self.pending.flows += 1;
        }
        sent
    }

    /// Sends the packet being built if it has waited `max_wait` ticks (0:
    /// now); returns 1 if one was sent.
    pub fn send_if_due(&mut self, now: Ticks, max_wait: Ticks) -> u32 {
        if self.is_empty() || now.wrapping_sub(self.pending.since) < max_wait {
            return 0;
        }
        self.send_pending(now)
    }

    fn is_empty(&self) -> bool {
        if self.protocol == Protocol::V5 {
            self.v5.is_empty()
        } else {
            self.pdu.is_empty()
        }
    }

    fn send_pending(&mut self, now: Ticks) -> u32 {
        let (sec, nsec) = real_time();
        let uptime = uptime_ms(now) as u32;
        let engine = params::engine_id();
        let p = self.pending;
        let packet: &[u8] = if self.protocol == Protocol::V5 {
            let h = V5Header {
                sys_uptime: uptime,
                unix_secs: sec as u32,
                unix_nsecs: nsec as u32,
                flow_sequence: self.sequence,
                engine_id: engine as u8,
                sampling: self.sampler.map_or(0, Sampler::v5_field),
            };
            self.sequence = self.sequence.wrapping_add(self.v5.len() as u32);
            self.v5.finish(&h)
        } else {
            let ipfix = self.protocol == Protocol::Ipfix;
            let h = PduHeader { sys_uptime_ms: uptime, unix_secs: sec as u32, sequence: self.sequence, domain: engine as u32 };
            self.sequence = self.sequence.wrapping_add(if ipfix { self.pdu.data_records() } else { 1 });
            self.pdu.finish(&h)
        };
        let sndbuf = params::sndbuf();
        let (mut delivered, mut refused) = (false, false);
        for (i, s) in self.socks.iter_mut().enumerate() {
            match s.send(packet, sndbuf) {
                Ok(()) => {
                    delivered = true;
                    self.stats.pkts.fetch_add(1, Relaxed);
                    self.stats.bytes.fetch_add(packet.len() as u64, Relaxed);
                }
                Err(e) => {
                    refused = true;
                    self.stats.errors.fetch_add(1, Relaxed);
                    log_send_error(i, e);
                }
            }
        }
        if delivered {
            self.stats.flows.fetch_add(p.flows, Relaxed);
        } else {
            self.count_lost(p.flows, p.pkts, p.bytes);
        }
        self.v5.clear();
        self.pdu.clear();
        self.pending = Pending::default();
        self.pdu_count += 1;
        self.resend_templates_after_errors(refused);
        1
    }

    /// A destination that reported an error (ICMP port or host unreachable)
    /// since the last packet has a collector that is down or restarting, and
    /// a restarted collector has lost the templates; one that refused this
    /// packet (no route, its device or address gone, a full buffer) did not
    /// get the templates it may have carried. So the next packet carries
    /// every template again (ids kept): delivery resumes with decodable data
    /// as soon as the collector is back, instead of after up to
    /// `refresh-rate` packets or `timeout-rate` minutes. The kernel rate
    /// limits ICMP errors, and a refused send costs a packet anyway, which
    /// bounds the extra template bytes.
    fn resend_templates_after_errors(&mut self, refused: bool) {
        let cberr = self.socks.iter().map(|s| u64::from(s.cberr())).fold(0u64, u64::wrapping_add);
        if cberr != self.cberr_seen || refused {
            self.cberr_seen = cberr;
            self.templates.resend_all();
        }
    }

    fn count_lost(&mut self, flows: u64, pkts: u64, bytes: u64) {
        if flows != 0 {
            let now = epoch_ms();
            let first = self.lost_span.map_or(now, |s| s.first_ms);
            self.lost_span = Some(Span { first_ms: first, last_ms: now });
        }
        self.stats.lost_flows.fetch_add(flows, Relaxed);
        self.stats.lost_pkts.fetch_add(pkts, Relaxed);
        self.stats.lost_bytes.fetch_add(bytes, Relaxed);
    }
}

/// The original's line for a failed send (rate limited: a collector that
/// is down fails every packet), with its hint for the common causes. Sends
/// to a destination that cannot connect fail silently, counted, as there.
fn log_send_error(index: usize, e: Error) {
    if e == not_connected() {
        return;
    }
    let hint = if e == EAGAIN {
        "increase sndbuf!"
    } else if e == network_unreachable() {
        "network is unreachable."
    } else if rebuilds_socket(e) {
        "will reconnect."
    } else {
        ""
    };
    err_ratelimited(format_args!("ipt_NETFLOW: sendmsg[{}] error {}: {}\n", index, e.to_errno(), hint));
}

/// The clocks at one moment: uptime (from ticks) and wall clock, read once
/// per export batch rather than once per flow.
struct Clocks {
    now: Ticks,
    uptime_ms: u64,
    epoch_ms: u64,
}

impl Clocks {
    fn read(now: Ticks) -> Self {
        Clocks { now, uptime_ms: uptime_ms(now), epoch_ms: epoch_ms() }
    }

    /// Wall-clock milliseconds at tick count `j` (not after `now`).
    fn epoch_at(&self, j: Ticks) -> u64 {
        self.epoch_ms.saturating_sub(self.uptime_ms.saturating_sub(uptime_ms(j)))
    }
}

fn flow_times(f: &Flow, c: &Clocks) -> FlowTimes {
    let (first, last) = (f.first_tick(c.now), f.last_tick(c.now));
    FlowTimes {
        first_uptime_ms: uptime_ms(first) as u32,
        last_uptime_ms: uptime_ms(last) as u32,
        first_epoch_ms: c.epoch_at(first),
        last_epoch_ms: c.epoch_at(last),
    }
}

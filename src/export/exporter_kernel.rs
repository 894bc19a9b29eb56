//! The exporter: turns flows that left the tables into NetFlow v5, v9 or
//! IPFIX packets and sends each packet to every destination.
//!
//! It runs only inside the scanner (under its mutex), so none of its state
//! needs a lock of its own.

use super::destination::Destinations;
use super::netflow_v5::{V5Header, V5Packet, V5Record};
use super::pdu::{Full, Pdu, PduHeader, TemplateCache};
use super::record::{write_record, FlowTimes};
use super::socket_kernel::ExportSocket;
use super::template::{FieldList, TemplateKey, Version};
use crate::control::params_kernel as params;
use crate::meter::flow::{Flow, Ticks};
use crate::meter::flow_table::FlowList;
use crate::sys::bindings;
use crate::sys::fmtbuf::FmtBuf;
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
    /// 5, 9 or 10.
    pub protocol: i32,
    /// One socket per destination.
    pub socks: KVec<KBox<ExportSocket>>,
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
}

fn version_of(protocol: i32) -> Version {
    if protocol == 10 {
        Version::Ipfix
    } else {
        Version::V9
    }
}

/// Milliseconds since boot at `j` jiffies.
fn uptime_ms(j: Ticks) -> u64 {
    // SAFETY: pure conversion.
    unsafe { bindings::nf_uptime_ms(j as core::ffi::c_ulong) }
}

impl Exporter {
    /// An exporter for `protocol` to the destinations in `dest`.
    pub fn new(protocol: i32, dest: &str) -> Result<Self> {
        let mut e = Exporter {
            protocol,
            socks: KVec::new(),
            v5: KBox::new(V5Packet::new(), GFP_KERNEL)?,
            pdu: KBox::new(Pdu::new(version_of(protocol)), GFP_KERNEL)?,
            templates: KBox::new(TemplateCache::default(), GFP_KERNEL)?,
            pending: Pending::default(),
            sequence: 0,
            pdu_count: 0,
            stats: ExportStats::default(),
            // SAFETY: reads HZ.
            hz: u64::from(unsafe { bindings::nf_hz() }).max(1),
            dest_text: [0; 256],
            dest_len: 0,
        };
        let parsed = Destinations::parse(dest).map_err(|_| {
            pr_err!("can't parse destination: {}\n", dest);
            EINVAL
        })?;
        e.set_destinations(&parsed)?;
        e.set_destination_text(dest);
        Ok(e)
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
    pub fn replace_destinations(&mut self, dests: &Destinations, text: &str) -> Result {
        // SAFETY: reads the jiffies counter.
        let now = Ticks::from(unsafe { bindings::nf_jiffies() });
        self.send_if_due(now, 0);
        self.set_destinations(dests)?;
        self.set_destination_text(text);
        Ok(())
    }

    /// Replaces the destinations; templates are sent again to the new ones.
    pub fn set_destinations(&mut self, dests: &Destinations) -> Result {
        let mut socks = KVec::with_capacity(dests.len(), GFP_KERNEL)?;
        for d in dests.iter() {
            let s = ExportSocket::new(*d, params::sndbuf())?;
            let shown = FmtBuf::<96>::of(d);
            let state = if s.is_connected() { "" } else { " (unconnected)" };
            pr_info!("added destination {}{}\n", shown.as_str(), state);
            socks.push(s, GFP_KERNEL)?;
        }
        self.socks = socks;
        self.templates.reset();
        Ok(())
    }

    /// Switches to another protocol (the caller flushed the flows first).
    pub fn set_protocol(&mut self, protocol: i32) {
        self.protocol = protocol;
        self.v5.clear();
        *self.pdu = Pdu::new(version_of(protocol));
        self.templates.reset();
        self.pending = Pending::default();
    }

    /// Packets and bytes in the packet being built (/proc InPDU).
    pub fn in_pdu(&self) -> (u64, u64) {
        (self.pending.pkts, self.pending.bytes)
    }

    /// Exports and frees every flow of `list`; `free` releases a record.
    /// Returns the number of export packets sent.
    pub fn export(&mut self, mut list: FlowList, now: Ticks, mut free: impl FnMut(core::ptr::NonNull<Flow>)) -> u32 {
        let mut sent = 0;
        while let Some(f) = list.pop() {
            // SAFETY: a record that left its table; ours until freed.
            let flow = unsafe { f.as_ref() };
            self.stats.flow_pkts.fetch_add(u64::from(flow.packets), Relaxed);
            self.stats.flow_bytes.fetch_add(u64::from(flow.bytes), Relaxed);
            sent += self.add_flow(flow, now);
            free(f);
        }
        sent
    }

    fn add_flow(&mut self, flow: &Flow, now: Ticks) -> u32 {
        let mut sent = 0;
        if self.pending.flows == 0 {
            self.pending.since = now;
        }
        if self.protocol == 5 {
            if flow.key.ip_version != 4 {
                // v5 has no IPv6 records.
                self.count_lost(1, flow.packets.into(), flow.bytes.into());
                return 0;
            }
            if self.v5.is_full() {
                sent += self.send_pending(now);
            }
            self.v5.push(&v5_record(flow));
        } else {
            let version = version_of(self.protocol);
            let key = TemplateKey::of(flow, version);
            let mut fields = FieldList::default();
            key.fields(&mut fields);
            let times = flow_times(flow, now);
            for _ in 0..2 {
                let Some(t) = self.templates.get(key) else { break };
                let r = self.pdu.add_record(
                    t,
                    fields.as_slice(),
                    self.pdu_count,
                    now / self.hz,
                    params::refresh_rate(),
                    params::timeout_rate(),
                    |b| write_record(fields.as_slice(), b, flow, &times),
                );
                if r != Err(Full) {
                    break;
                }
                sent += self.send_pending(now);
                self.pending.since = now;
            }
        }
        self.pending.flows += 1;
        self.pending.pkts += u64::from(flow.packets);
        self.pending.bytes += u64::from(flow.bytes);
        sent
    }

    /// Sends the packet being built if it has waited `max_wait` ticks (0:
    /// now); returns 1 if one was sent.
    pub fn send_if_due(&mut self, now: Ticks, max_wait: Ticks) -> u32 {
        let empty = if self.protocol == 5 { self.v5.is_empty() } else { self.pdu.is_empty() };
        if empty || now.wrapping_sub(self.pending.since) < max_wait {
            return 0;
        }
        self.send_pending(now)
    }

    fn send_pending(&mut self, now: Ticks) -> u32 {
        let mut ts = bindings::nf_timespec::default();
        // SAFETY: fills `ts` with the wall clock.
        unsafe { bindings::nf_real_time(&mut ts) };
        let uptime = uptime_ms(now) as u32;
        let engine = params::engine_id();
        let p = self.pending;
        let packet: &[u8] = if self.protocol == 5 {
            let h = V5Header {
                sys_uptime: uptime,
                unix_secs: ts.sec as u32,
                unix_nsecs: ts.nsec as u32,
                flow_sequence: self.sequence,
                engine_id: engine as u8,
                sampling: 0,
            };
            self.sequence = self.sequence.wrapping_add(self.v5.len() as u32);
            self.v5.finish(&h)
        } else {
            let ipfix = self.protocol == 10;
            let h = PduHeader { sys_uptime_ms: uptime, unix_secs: ts.sec as u32, sequence: self.sequence, domain: engine as u32 };
            self.sequence = self.sequence.wrapping_add(if ipfix { self.pdu.data_records() } else { 1 });
            self.pdu.finish(&h)
        };
        let sndbuf = params::sndbuf();
        let mut delivered = false;
        for s in self.socks.iter_mut() {
            match s.send(packet, sndbuf) {
                Ok(()) => {
                    delivered = true;
                    self.stats.pkts.fetch_add(1, Relaxed);
                    self.stats.bytes.fetch_add(packet.len() as u64, Relaxed);
                }
                Err(_) => {
                    self.stats.errors.fetch_add(1, Relaxed);
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
        1
    }

    fn count_lost(&self, flows: u64, pkts: u64, bytes: u64) {
        self.stats.lost_flows.fetch_add(flows, Relaxed);
        self.stats.lost_pkts.fetch_add(pkts, Relaxed);
        self.stats.lost_bytes.fetch_add(bytes, Relaxed);
    }
}

fn v5_record(f: &Flow) -> V5Record {
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
        first: uptime_ms(f.first) as u32,
        last: uptime_ms(f.last) as u32,
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

fn flow_times(f: &Flow, now: Ticks) -> FlowTimes {
    let mut ts = bindings::nf_timespec::default();
    // SAFETY: fills `ts` with the wall clock.
    unsafe { bindings::nf_real_time(&mut ts) };
    let now_epoch_ms = (ts.sec as u64).saturating_mul(1000) + ts.nsec as u64 / 1_000_000;
    let now_ms = uptime_ms(now);
    let epoch = |j: Ticks| now_epoch_ms.saturating_sub(now_ms.saturating_sub(uptime_ms(j)));
    FlowTimes {
        first_uptime_ms: uptime_ms(f.first) as u32,
        last_uptime_ms: uptime_ms(f.last) as u32,
        first_epoch_ms: epoch(f.first),
        last_epoch_ms: epoch(f.last),
    }
}

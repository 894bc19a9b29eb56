// SPDX-License-Identifier: GPL-2.0-only
//! `/proc/net/stat/ipt_netflow`, `ipt_netflow_snmp` and `ipt_netflow_flows`.

use super::proc_text::{
    self, CpuRow, ExportInfo, FlowRow, FlowsInfo, HashInfo, SnmpTotals, SockRow, TemplateInfo,
};
use crate::export::destination::MAX_DESTINATIONS;
use crate::meter::expiry::dump_flags;
use crate::meter::meter_kernel::{jiffies, with_meter, FlowCache, Meter};
use crate::meter::stats::StatsSum;
use crate::params;
use crate::sys::percpu::{next_possible_cpu, possible_cpus, present_cpus};
use crate::sys::procfs::{ProcEntry, SeqRecords, ShowFile};
use crate::sys::seq::SeqWriter;
use crate::meter::nat_kernel::with_nat;
use crate::meter::sampler::{Sampler, SamplerCounts};
use crate::sys::rcu::RcuReadGuard;
use crate::sys::system::module_version;
use core::ffi::CStr;
use crate::work::scanner_kernel::{with_work, Scanner};
use core::sync::atomic::Ordering::Relaxed;
use kernel::alloc::flags::GFP_ATOMIC;
use kernel::error::Result;
use kernel::prelude::{KVec, GFP_KERNEL};

/// Per-CPU rows plus their total, from one pass over the counters.
struct Snapshot {
    total: CpuRow,
}

fn cpu_rows<'a>(m: &'a Meter, sc: &'a Scanner) -> impl ExactSizeIterator<Item = (u32, CpuRow)> + 'a {
    present_cpus().map(move |cpu| {
        let stats = m.cpus.get(cpu).stats.snapshot();
        let (pps, metric) =
            sc.state.lock().cpu_rates.get(cpu as usize).map(|r| (r.pps, r.metric_avg[0].get())).unwrap_or((0, 0));
        (cpu, CpuRow { pps, metric_x100: metric, stats })
    })
}

fn snapshot(m: &Meter, sc: &Scanner) -> Snapshot {
    let mut sum = StatsSum::default();
    for cpu in possible_cpus() {
        sum.accumulate(&m.cpus.get(cpu).stats.snapshot());
    }
    let pps = sc.state.lock().total_rates.pps;
    Snapshot { total: CpuRow { pps, metric_x100: sum.metric_x100(), stats: sum } }
}

/// The exporter's numbers, copied under the scanner's lock.
struct ExportSnap {
    info: ExportInfo,
    /// The sampler in force and what it has seen.
    sampler: Option<Sampler>,
    sampled: SamplerCounts,
    flow_pkts: u64,
    flow_bytes: u64,
    in_pdu: (u64, u64),
    templates: (u32, u32),
    /// On the heap: up to MAX_DESTINATIONS rows would make a stack frame of
    /// kilobytes on the /proc read path.
    socks: KVec<SockRow>,
}

impl ExportSnap {
    fn socks(&self) -> impl Iterator<Item = &SockRow> + Clone {
        self.socks.iter()
    }
}

/// The exporter's numbers; `hash_sampled` are the packet path's counts of
/// the hash sampler (see [`crate::export::exporter_kernel::Exporter::sampler_counts`]).
fn export_snap(sc: &Scanner, hash_sampled: (u64, u64)) -> ExportSnap {
    // Allocated before taking the lock; without memory the socket lines are
    // left out rather than the whole file.
    let rows = KVec::with_capacity(MAX_DESTINATIONS, GFP_KERNEL).unwrap_or_default();
    let st = sc.state.lock();
    let e = &st.exporter;
    let s = &e.stats;
    let mut snap = ExportSnap {
        info: ExportInfo {
            rate: st.export_rate,
            sent: (s.pkts.load(Relaxed), s.bytes.load(Relaxed), s.flows.load(Relaxed)),
            errors: s.errors.load(Relaxed),
            lost: (s.lost_pkts.load(Relaxed), s.lost_bytes.load(Relaxed), s.lost_flows.load(Relaxed)),
        },
        sampler: e.sampler(),
        sampled: e.sampler_counts(hash_sampled),
        flow_pkts: s.flow_pkts.load(Relaxed),
        flow_bytes: s.flow_bytes.load(Relaxed),
        in_pdu: e.in_pdu(),
        templates: (e.templates.generated, e.templates.active()),
        socks: rows,
    };
    for sock in e.sockets().take(snap.socks.capacity()) {
        let (sndbuf, filled) = sock.sndbuf();
        let row = SockRow {
            dest: sock.dest,
            connected: sock.is_connected(),
            sndbuf,
            filled,
            peak: sock.wmem_peak,
            err_full: sock.err_full,
            err_connect: sock.err_connect,
            err_cberr: sock.cberr(),
            err_other: sock.err_other,
            attempts: sock.attempts,
        };
        // Within the capacity reserved above: no allocation here.
        if snap.socks.push(row, GFP_ATOMIC).is_err() {
            break;
        }
    }
    snap
}

fn version() -> (&'static str, &'static str) {
    let (v, s) = module_version();
    (v.unwrap_or("?"), s.unwrap_or("?"))
}

fn memory(m: &Meter, flows: u64) -> (u64, u64) {
    let hash = m.hashsize.load(Relaxed) * core::mem::size_of::<usize>() as u64;
    (flows * FlowCache::object_size() as u64 + hash, hash)
}

fn write_stat(w: &mut SeqWriter, m: &Meter, sc: &Scanner) -> core::fmt::Result {
    let (version, srcversion) = version();
    proc_text::write_version_line(w, version, srcversion, proc_text::FEATURE_TAGS)?;
    let snap = snapshot(m, sc);
    let ex = export_snap(sc, (snap.total.stats.hash_observed, snap.total.stats.hash_selected));
    let templates = TemplateInfo {
        refresh_rate: params::refresh_rate(),
        timeout_rate: params::timeout_rate(),
        generated: ex.templates.0,
        active: ex.templates.1,
    };
    proc_text::write_protocol_line(w, params::protocol(), &templates)?;
    proc_text::write_timeouts_line(w, params::active_timeout(), params::inactive_timeout(), params::maxflows())?;

    proc_text::write_sampler_line(w, ex.sampler, &ex.sampled)?;
    #[cfg(feature = "promisc")]
    {
        let (on, (observed, discarded)) =
            crate::meter::promisc_kernel::with_promisc(|p| (p.enabled(), p.counts())).unwrap_or_default();
        proc_text::write_promisc_line(w, on, observed, discarded)?;
    }
    let (nat_on, nat_counts) = with_nat(|n| (n.enabled(), n.counts())).unwrap_or_default();
    proc_text::write_natevents_line(w, nat_on, &nat_counts)?;
    let flows = m.nr_flows();
    let (mem, hash_mem) = memory(m, flows);
    let now = jiffies();
    let hz = u64::from(m.hz).max(1);
    let (info, rates) = {
        let st = sc.state.lock();
        let scan_max = (m.hz / 10).max(1);
        let info = FlowsInfo {
            active: flows,
            peak: st.peak.0.max(flows),
            peak_age_min: now.wrapping_sub(st.peak.1) / hz / 60,
            mem,
            worker_delay: st.delay,
            hz: m.hz,
            scan_min: params::scan_min().clamp(1, scan_max),
            scan_max,
            since_scan_ms: now.wrapping_sub(st.last_start) * 1000 / hz,
            scan_us: st.last_us,
            scanned: st.last_count,
            skipped: u64::from(st.last_passed_over),
            scan_cpu: st.last_cpu,
        };
        (info, st.total_rates)
    };
    proc_text::write_flows_line(w, &info)?;
    let s = &snap.total.stats;
    let hash = HashInfo {
        size: m.hashsize.load(Relaxed),
        mem: hash_mem,
        metric: [
            rates.metric,
            rates.metric_avg[0].get(),
            rates.metric_avg[1].get(),
            rates.metric_avg[2].get(),
        ],
        in_hash: (s.pkt_total.saturating_sub(ex.flow_pkts), s.traf_total.saturating_sub(ex.flow_bytes)),
        in_pdu: ex.in_pdu,
    };
    proc_text::write_hash_line(w, &hash)?;
    proc_text::write_rate_line(
        w,
        [rates.bps, rates.bps_1m.get(), rates.bps_5m.get()],
        [rates.pps, rates.pps_1m.get(), rates.pps_5m.get()],
    )?;
    proc_text::write_cpu_table(w, &snap.total, cpu_rows(m, sc))?;
    proc_text::write_export_line(w, &ex.info)?;
    for (i, sock) in ex.socks().enumerate() {
        proc_text::write_sock_line(w, i, sock)?;
    }
    let guard = RcuReadGuard::new();
    let rules = m.rules_in(&guard);
    proc_text::write_aggregation_lines(w, &rules.aggregation, |kind, i| m.aggregation_usage(kind, i))?;
    proc_text::write_snmp_rule_lines(w, &rules.snmp)
}

fn write_snmp(w: &mut SeqWriter, m: &Meter, sc: &Scanner) -> core::fmt::Result {
    let snap = snapshot(m, sc);
    let s = snap.total.stats;
    let flows = m.nr_flows();
    let ex = export_snap(sc, (s.hash_observed, s.hash_selected));
    let e = &ex.info;
    let rates = sc.state.lock().total_rates;
    let totals = SnmpTotals {
        in_bit_rate: rates.bps,
        in_packet_rate: rates.pps,
        stats: s,
        hash_memory: memory(m, flows).0,
        hash_flows: flows,
        hash_packets: s.pkt_total.saturating_sub(ex.flow_pkts),
        hash_bytes: s.traf_total.saturating_sub(ex.flow_bytes),
        out_flows: e.sent.2,
        out_packets: e.sent.0,
        out_bytes: e.sent.1,
        lost_flows: e.lost.2,
        lost_packets: e.lost.0,
        lost_bytes: e.lost.1,
        err_total: e.errors + ex.socks().map(|r| u64::from(r.err_cberr)).sum::<u64>(),
        out_byte_rate: e.rate,
    };
    proc_text::write_snmp(w, &totals, cpu_rows(m, sc), ex.socks().copied())
}

/// `ipt_netflow`: the statistics.
struct StatFile;

impl ShowFile for StatFile {
    fn show(w: &mut SeqWriter) {
        // Writing into a seq_file cannot fail; overflow is retried by the core.
        let _ = with_work(|meter, sc| write_stat(w, meter, sc));
    }
}

/// `ipt_netflow_snmp`: the counters for the SNMP agent.
struct SnmpFile;

impl ShowFile for SnmpFile {
    fn show(w: &mut SeqWriter) {
        let _ = with_work(|meter, sc| write_snmp(w, meter, sc));
    }
}

// --- The flow dump ----------------------------------------------------------

/// Rows copied out of a table per lock hold.
const DUMP_CHUNK: usize = 32;
/// Room for a chunk plus the rest of the last bucket visited.
const DUMP_ROWS: usize = 64;

/// The dump's iterator, in the seq_file's private data (zeroed at open).
/// Flows are copied a few buckets at a time under the owning CPU's lock and
/// printed without it, so readers never hold up the packet path for long
/// and every line is a consistent copy of one flow. Position 0 is the
/// header line; rows follow.
#[repr(C)]
struct DumpIter {
    cpu: u32,
    bucket: u32,
    pos: i64,
    n: usize,
    i: usize,
    finished: bool,
    rows: [FlowRow; DUMP_ROWS],
}

impl DumpIter {
    fn reset(&mut self) {
        self.cpu = 0;
        self.bucket = 0;
        self.pos = 0;
        self.n = 0;
        self.i = 0;
        self.finished = false;
    }

    /// Whether there is a current row, refilling from the tables when the
    /// copy is used up.
    fn current(&mut self) -> bool {
        if self.i < self.n {
            return true;
        }
        self.n = 0;
        self.i = 0;
        while !self.finished && self.n == 0 {
            self.refill();
        }
        self.n != 0
    }

    fn refill(&mut self) {
        let done = with_meter(|m| {
            let Some(cpu) = next_possible_cpu(self.cpu) else {
                return true;
            };
            self.cpu = cpu;
            let now = jiffies();
            let t = m.timeouts();
            let rows = &mut self.rows;
            let n = &mut self.n;
            let (next, nbuckets) = {
                let f = m.cpus.get(self.cpu).flows.lock_bh();
                let next = f.table.visit_buckets(self.bucket, |b, flow| {
                    if *n < DUMP_ROWS {
                        rows[*n] = FlowRow::new(flow, b, dump_flags(flow, now, &t), now);
                        *n += 1;
                    }
                    *n < DUMP_CHUNK
                });
                (next, f.table.nbuckets())
            };
            if next >= nbuckets {
                self.cpu += 1;
                self.bucket = 0;
            } else {
                self.bucket = next;
            }
            false
        });
        if done.unwrap_or(true) {
            self.finished = true;
        }
    }
}

// SAFETY: all-zero is a valid DumpIter: integers, `false` and rows of
// plain numbers.
unsafe impl SeqRecords for DumpIter {
    fn start(&mut self, pos: i64) -> bool {
        if pos == 0 {
            self.reset();
            return true; // the header
        }
        if pos != self.pos {
            // Seeking is not supported: a jump ends the dump.
            return false;
        }
        self.current()
    }

    fn next(&mut self) -> bool {
        let from_header = self.pos == 0;
        self.pos += 1;
        if !from_header {
            self.i += 1;
        }
        self.current()
    }

    fn show(&self, w: &mut SeqWriter) {
        if self.pos == 0 {
            let _ = proc_text::write_flows_header(w);
        } else if let Some(row) = self.rows.get(self.i) {
            let _ = proc_text::write_flow_line(w, self.pos as u64, row);
        }
    }
}

/// The registered /proc files; removed when dropped.
pub struct ProcFiles {
    _files: [ProcEntry; 3],
}

impl ProcFiles {
    /// Creates the files under `/proc/net/stat` of the initial namespace
    /// (those made before a failure are removed again).
    pub fn register() -> Result<Self> {
        let stat = logged(c"ipt_netflow", ProcEntry::single::<StatFile>)?;
        let snmp = logged(c"ipt_netflow_snmp", ProcEntry::single::<SnmpFile>)?;
        let flows = logged(c"ipt_netflow_flows", ProcEntry::seq::<DumpIter>)?;
        Ok(ProcFiles { _files: [stat, snmp, flows] })
    }
}

/// Makes one /proc/net/stat file with `make`, logging it as the original
/// does.
fn logged(name: &'static CStr, make: fn(&'static CStr) -> Result<ProcEntry>) -> Result<ProcEntry> {
    let shown = name.to_str().unwrap_or("?");
    crate::log_info!("netflow: registering: /proc/net/stat/{}\n", shown);
    let entry = make(name).inspect_err(|_| crate::log_err!("Unable to create /proc/net/stat/{} entry\n", shown))?;
    crate::log_info!("netflow: registered: /proc/net/stat/{}\n", shown);
    Ok(entry)
}

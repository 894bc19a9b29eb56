// SPDX-License-Identifier: GPL-2.0-only
//! `/proc/net/stat/ipt_netflow`, `ipt_netflow_snmp` and `ipt_netflow_flows`.

use crate::params;
use super::proc_text::{
    self, CpuRow, ExportInfo, FlowRow, FlowsInfo, HashInfo, SnmpTotals, SockRow, TemplateInfo,
};
use crate::export::destination::MAX_DESTINATIONS;
use crate::meter::expiry::dump_flags;
use crate::meter::meter_kernel::{jiffies, with_meter, FlowCache, Meter};
use crate::meter::stats::StatsSum;
use crate::sys::bindings;
use crate::work::scanner_kernel::{with_work, Scanner};
use crate::sys::cstr::as_c_ptr;
use crate::sys::system::module_version;
use crate::sys::percpu::{next_possible_cpu, possible_cpus, present_cpus};
use crate::sys::seq::SeqWriter;
use core::ffi::{c_int, c_void, CStr};
use core::ptr::null_mut;
use core::sync::atomic::Ordering::Relaxed;
use kernel::alloc::flags::GFP_ATOMIC;
use kernel::error::{code::ENOMEM, Result};
use kernel::prelude::{KVec, GFP_KERNEL};

/// Everyone may read the statistics.
const MODE: bindings::umode_t = 0o444;

type ShowFn = unsafe extern "C" fn(*mut bindings::seq_file, *mut c_void) -> c_int;

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

fn export_snap(sc: &Scanner) -> ExportSnap {
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
    proc_text::write_version_line(w, version, srcversion, &[])?;
    let ex = export_snap(sc);
    let templates = TemplateInfo {
        refresh_rate: params::refresh_rate(),
        timeout_rate: params::timeout_rate(),
        generated: ex.templates.0,
        active: ex.templates.1,
    };
    proc_text::write_protocol_line(w, params::protocol(), &templates)?;
    proc_text::write_timeouts_line(w, params::active_timeout(), params::inactive_timeout(), params::maxflows())?;

    let snap = snapshot(m, sc);
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
            skipped: 0,
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
    Ok(())
}

fn write_snmp(w: &mut SeqWriter, m: &Meter, sc: &Scanner) -> core::fmt::Result {
    let snap = snapshot(m, sc);
    let s = snap.total.stats;
    let flows = m.nr_flows();
    let ex = export_snap(sc);
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

/// `show` of `ipt_netflow`.
///
/// # Safety
///
/// Called by the seq_file core with the seq_file being filled.
unsafe extern "C" fn show_stat(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: called by the seq_file core with its live seq_file.
    let mut w = unsafe { SeqWriter::new(m) };
    // Writing into a seq_file cannot fail; overflow is retried by the core.
    let _ = with_work(|meter, sc| write_stat(&mut w, meter, sc));
    0
}

/// `show` of `ipt_netflow_snmp`.
///
/// # Safety
///
/// Called by the seq_file core with the seq_file being filled.
unsafe extern "C" fn show_snmp(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: called by the seq_file core with its live seq_file.
    let mut w = unsafe { SeqWriter::new(m) };
    let _ = with_work(|meter, sc| write_snmp(&mut w, meter, sc));
    0
}

// --- The flow dump ----------------------------------------------------------

/// Rows copied out of a table per lock hold.
const DUMP_CHUNK: usize = 32;
/// Room for a chunk plus the rest of the last bucket visited.
const DUMP_ROWS: usize = 64;

/// The dump's iterator, in the seq_file's private data (zeroed at open).
/// Flows are copied a few buckets at a time under the owning CPU's lock and
/// printed without it, so readers never hold up the packet path for long
/// and every line is a consistent copy of one flow.
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

/// The header "record": the address of this byte, which is never a row.
static HEADER_TOKEN: u8 = 0;

fn header() -> *mut c_void {
    core::ptr::from_ref(&HEADER_TOKEN).cast_mut().cast()
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

    /// The current row, refilling from the tables when the copy is used up.
    fn current(&mut self) -> *mut c_void {
        if self.i < self.n {
            return core::ptr::from_mut(&mut self.rows[self.i]).cast();
        }
        self.n = 0;
        self.i = 0;
        while !self.finished && self.n == 0 {
            self.refill();
        }
        if self.n == 0 {
            return null_mut();
        }
        core::ptr::from_mut(&mut self.rows[0]).cast()
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

/// # Safety
///
/// Called by the seq_file core; the private data is a zeroed `DumpIter`.
unsafe extern "C" fn dump_start(m: *mut bindings::seq_file, pos: *mut bindings::loff_t) -> *mut c_void {
    // SAFETY: proc_create_seq_private gave every open file a DumpIter.
    let it = unsafe { &mut *bindings::nf_seq_private(m).cast::<DumpIter>() };
    // SAFETY: `pos` is the core's position.
    let pos = unsafe { *pos };
    if pos == 0 {
        it.reset();
        return header();
    }
    if pos != it.pos {
        // Seeking is not supported: a jump ends the dump.
        return null_mut();
    }
    it.current()
}

/// # Safety
///
/// As for [`dump_start`].
unsafe extern "C" fn dump_next(m: *mut bindings::seq_file, v: *mut c_void, pos: *mut bindings::loff_t) -> *mut c_void {
    // SAFETY: as in dump_start.
    let it = unsafe { &mut *bindings::nf_seq_private(m).cast::<DumpIter>() };
    // SAFETY: the core's position.
    unsafe { *pos += 1 };
    it.pos += 1;
    if v != header() {
        it.i += 1;
    }
    it.current()
}

/// # Safety
///
/// As for [`dump_start`].
unsafe extern "C" fn dump_stop(_m: *mut bindings::seq_file, _v: *mut c_void) {}

/// # Safety
///
/// As for [`dump_start`]; `v` is what start/next returned.
unsafe extern "C" fn dump_show(m: *mut bindings::seq_file, v: *mut c_void) -> c_int {
    // SAFETY: the live seq_file of this call.
    let mut w = unsafe { SeqWriter::new(m) };
    if v == header() {
        let _ = core::fmt::Write::write_str(&mut w, proc_text::FLOWS_HEADER);
        return 0;
    }
    // SAFETY: as in dump_start.
    let it = unsafe { &*bindings::nf_seq_private(m).cast::<DumpIter>() };
    // SAFETY: `v` points at a row of the iterator.
    let row = unsafe { &*v.cast::<FlowRow>() };
    let _ = proc_text::write_flow_line(&mut w, it.pos as u64, row);
    0
}

static DUMP_OPS: bindings::seq_operations = bindings::seq_operations {
    start: Some(dump_start),
    stop: Some(dump_stop),
    next: Some(dump_next),
    show: Some(dump_show),
};

/// The registered /proc files; removed when dropped.
pub struct ProcFiles {
    created: usize,
}

const NAMES: [&CStr; 3] = [c"ipt_netflow", c"ipt_netflow_snmp", c"ipt_netflow_flows"];

impl ProcFiles {
    /// Creates the files under `/proc/net/stat` of the initial namespace.
    pub fn register() -> Result<Self> {
        let mut files = Self { created: 0 };
        let singles: [(&CStr, ShowFn); 2] = [(NAMES[0], show_stat), (NAMES[1], show_snmp)];
        for (name, show) in singles {
            // SAFETY: `name` is static; the parent is init_net's stat dir,
            // which lives as long as the kernel; `show` stays valid until
            // `drop` removes the entry (remove_proc_entry waits for readers).
            let pde = unsafe {
                bindings::proc_create_single_data(as_c_ptr(name), MODE, bindings::nf_proc_net_stat(), Some(show), null_mut())
            };
            if pde.is_null() {
                return Err(ENOMEM); // `files` drops and removes what exists
            }
            files.created += 1;
        }
        // SAFETY: as above; the ops table is static and the private data is
        // a zeroed DumpIter per open file.
        let pde = unsafe {
            bindings::proc_create_seq_private(
                as_c_ptr(NAMES[2]),
                MODE,
                bindings::nf_proc_net_stat(),
                &DUMP_OPS,
                core::mem::size_of::<DumpIter>() as u32,
                null_mut(),
            )
        };
        if pde.is_null() {
            return Err(ENOMEM);
        }
        files.created += 1;
        Ok(files)
    }
}

impl Drop for ProcFiles {
    fn drop(&mut self) {
        for name in NAMES.iter().take(self.created) {
            // SAFETY: created in `register`; removal waits for open readers.
            unsafe { bindings::remove_proc_entry(as_c_ptr(name), bindings::nf_proc_net_stat()) };
        }
    }
}

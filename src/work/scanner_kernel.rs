// SPDX-License-Identifier: GPL-2.0-only
//! The scanner: delayed work that takes due flows out of the tables,
//! merges records of flows seen on several CPUs and hands them to export,
//! and recomputes the rates every few seconds.
//!
//! It sits above both the meter and the exporter, and the module owns it
//! (through [`ScannerHandle`]); the meter knows nothing of it.

use crate::export::exporter_kernel::{Exporter, MeterFacts};
use crate::export::options::Span;
use crate::export::source::{Record, RecordSource};
use crate::meter::flow::Ticks;
use crate::meter::flow_table::FlowList;
use crate::meter::meter_kernel::{jiffies, with_meter, Meter};
use crate::meter::nat_kernel::{with_nat, NatCapture};
use crate::meter::packet_rules::PacketRules;
use crate::meter::rates::{RateInput, Rates};
use crate::meter::stats::StatsSum;
use crate::params::{self, Protocol};
use crate::sys::percpu::{nr_cpu_ids, possible_cpus};
use crate::sys::boxed::boxed;
use crate::sys::sync::KMutex;
use crate::sys::system::current_cpu_hint;
use crate::sys::time::{epoch_ms, monotonic_ns};
use crate::sys::workqueue::{DelayedWork, HasDelayedWork, WorkItem};
use core::ffi::c_ulong;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use kernel::error::Result;
use kernel::prelude::*;

/// Rates are recomputed this often (seconds), as in the original.
const RATE_INTERVAL_SECS: u64 = 4;

/// What the scanner knows between runs.
pub struct ScanState {
    /// Current delay between runs, in ticks.
    pub delay: u64,
    /// When the last run started.
    pub last_start: Ticks,
    /// How long it took, in microseconds.
    pub last_us: u64,
    /// Flows it exported.
    pub last_count: u64,
    /// Tables it passed over because their lock was busy.
    pub last_passed_over: u32,
    /// Per CPU id, the runs in a row that passed over its table.
    busy_runs: KVec<u8>,
    /// The CPU it ran on.
    pub last_cpu: u32,
    /// The most flows seen alive, and when.
    pub peak: (u64, Ticks),
    /// Rates of the total.
    pub total_rates: Rates,
    /// Rates per CPU, indexed by CPU number.
    pub cpu_rates: KVec<Rates>,
    last_rate_at: Ticks,
    /// Export bytes at the last rate sample, and the rate since (bytes/s).
    export_bytes: u64,
    /// Exported bytes per second (the `Export: Rate` of /proc).
    pub export_rate: u64,
    /// The meter's side of the statistics options records, as of the last
    /// rate sample (every 4 s; those records go out every 60 s).
    meter_facts: MeterFacts,
    /// Where flows go.
    pub exporter: Exporter,
}

/// The scanner. `repr(C)` with the work item first: the work callback finds
/// the scanner from the work pointer.
#[repr(C)]
pub struct Scanner {
    work: DelayedWork<Scanner>,
    stopping: AtomicBool,
    /// Held for a whole run; flush and resize take it too, which is what
    /// "pausing the scanner" means.
    pub state: KMutex<ScanState>,
}

// SAFETY: `Scanner` is `repr(C)` and `work` is its first field.
unsafe impl HasDelayedWork for Scanner {
    fn delayed_work(&self) -> &DelayedWork<Self> {
        &self.work
    }
}

impl WorkItem for Scanner {
    fn run(&self) {
        let delay = with_meter(|m| self.state.lock().run(m, false));
        if let Some(delay) = delay {
            if !self.stopping.load(Ordering::Acquire) {
                self.schedule(delay as c_ulong);
            }
        }
    }
}

impl Scanner {
    /// A scanner, boxed (it is built in place: with its exporter it takes
    /// a kilobyte or more), still to be initialised with [`Scanner::init`].
    pub fn new(hz: u32) -> Result<KBox<Self>> {
        let exporter = Exporter::new(params::protocol(), params::destination_at_load())?;
        let ids = nr_cpu_ids() as usize;
        let mut cpu_rates = KVec::with_capacity(ids, GFP_KERNEL)?;
        let mut busy_runs = KVec::with_capacity(ids, GFP_KERNEL)?;
        for _ in 0..ids {
            cpu_rates.push(Rates::default(), GFP_KERNEL)?;
            busy_runs.push(0, GFP_KERNEL)?;
        }
        boxed(|| Scanner {
            work: DelayedWork::new(),
            stopping: AtomicBool::new(false),
            state: KMutex::new(ScanState {
                delay: u64::from(hz / 10),
                last_start: jiffies(),
                last_us: 0,
                last_count: 0,
                last_passed_over: 0,
                busy_runs,
                last_cpu: 0,
                peak: (0, jiffies()),
                total_rates: Rates::default(),
                cpu_rates,
                last_rate_at: jiffies(),
                export_bytes: 0,
                export_rate: 0,
                meter_facts: MeterFacts::default(),
                exporter,
            }),
        })
    }

    /// Initialises the work item and mutex in place.
    ///
    /// # Safety
    ///
    /// Once, before [`Scanner::start`], on a scanner that will not move.
    pub unsafe fn init(&self) {
        // SAFETY: the work item is the first field of this scanner, which
        // does not move (caller's guarantee), and is initialised once.
        unsafe { self.work.init() };
        // SAFETY: the mutex is a field of this scanner, which does not move,
        // and is initialised once (caller's guarantee).
        unsafe { self.state.init() };
    }

    /// Schedules the first run.
    pub fn start(&self) {
        self.schedule(1);
    }

    /// Queues the next run in `delay` ticks, on the `exportcpu` CPU if one
    /// is set (writable at any time through /sys/module/.../parameters).
    fn schedule(&self, delay: c_ulong) {
        let cpu = params::exportcpu();
        if cpu >= 0 {
            if self.work.schedule_on(cpu, delay).is_ok() {
                return;
            }
            crate::log_warn!("ipt_NETFLOW: can't schedule exporter on cpu {}. Disabling cpu lock.\n", cpu);
            params::exportcpu_param().set(-1);
        }
        self.work.schedule(delay);
    }

    /// Stops the scanner and waits for a run in progress.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        // A run in progress sees `stopping` and does not queue itself again.
        self.work.cancel_sync();
    }

    /// Exports every flow now (`flush`), pausing regular runs meanwhile.
    pub fn flush(&self, meter: &Meter) {
        self.state.lock().run(meter, true);
    }

    /// Exports every flow in the old protocol, then switches to `protocol`.
    pub fn switch_protocol(&self, meter: &Meter, protocol: Protocol) {
        let mut st = self.state.lock();
        st.run(meter, true);
        st.exporter.set_protocol(protocol);
    }

    /// Puts in force the rules `update` makes of the ones in force: on the
    /// packet path, in the exporter (its sampler) and for the interface
    /// list (its snmp-rules). A new sampler first exports every flow under
    /// the old one. Updates are serialised with each other and with runs.
    pub fn update_rules(&self, meter: &Meter, update: impl FnOnce(&mut PacketRules)) -> Result {
        let mut st = self.state.lock();
        let mut rules = meter.rules();
        update(&mut rules);
        let new_sampler = rules.sampler != st.exporter.sampler();
        if new_sampler {
            st.run(meter, true);
        }
        meter.set_rules(&rules)?;
        if new_sampler {
            st.exporter.set_sampler(rules.sampler);
        }
        st.meter_facts.snmp = rules.snmp;
        Ok(())
    }

    /// Runs `f` while no run is in progress (resizing the tables).
    pub fn paused<R>(&self, f: impl FnOnce() -> R) -> R {
        let _paused = self.state.lock();
        f()
    }

    /// Runs `f` on the exporter, between runs.
    pub fn with_exporter<R>(&self, f: impl FnOnce(&mut Exporter) -> R) -> R {
        f(&mut self.state.lock().exporter)
    }
}

/// The live [`Scanner`], for the sysctl handlers and /proc readers.
/// Non-null from before those are registered until after they are
/// unregistered.
static SCANNER: AtomicPtr<Scanner> = AtomicPtr::new(null_mut());

/// Owns the scanner and publishes it; dropping it stops the scanner and
/// exports every flow left.
///
/// # Invariants
///
/// `scanner` was initialised in place ([`Scanner::init`]) and is the one
/// published in `SCANNER` until `drop`.
pub struct ScannerHandle {
    scanner: KBox<Scanner>,
}

impl ScannerHandle {
    /// Makes the scanner (and its exporter) and publishes it; it runs from
    /// [`ScannerHandle::start`] on.
    pub fn new(hz: u32) -> Result<Self> {
        let scanner = Scanner::new(hz)?;
        // SAFETY: the scanner is boxed and stays put until the handle drops;
        // nothing used it before.
        unsafe { scanner.init() };
        SCANNER.store(core::ptr::from_ref(&*scanner).cast_mut(), Ordering::Release);
        // INVARIANT: initialised and published.
        Ok(ScannerHandle { scanner })
    }

    /// Schedules the first run.
    pub fn start(&self) {
        self.scanner.start();
    }

    /// Puts `rules` in force (at load, before the first run).
    pub fn set_rules(&self, meter: &Meter, rules: &PacketRules) -> Result {
        self.scanner.update_rules(meter, |r| *r = *rules)
    }
}

impl Drop for ScannerHandle {
    fn drop(&mut self) {
        // The owner drops this only after unregistering the sysctls and
        // /proc files, so no reader still holds the pointer.
        SCANNER.store(null_mut(), Ordering::Release);
        // No NAT event arrives after this; the ones queued go out with the
        // last flush below.
        let _ = with_nat(|nat| nat.set_enabled(false));
        self.scanner.stop();
        // Export every remaining flow before the module goes (the targets
        // are gone: no flow is added meanwhile).
        with_meter(|m| self.scanner.flush(m));
        // The /proc counters are gone from here on: the totals let an
        // operator (and the stress suite) check a collector's count, the
        // flows exported at unload included.
        self.scanner.with_exporter(|e| {
            let s = &e.stats;
            let (lost_flows, lost_pkts) = (s.lost_flows.load(Ordering::Relaxed), s.lost_pkts.load(Ordering::Relaxed));
            crate::log_info!(
                "ipt_NETFLOW: since load: exported {} flows of {} packets, lost {} flows of {} packets\n",
                s.flows.load(Ordering::Relaxed),
                s.flow_pkts.load(Ordering::Relaxed).saturating_sub(lost_pkts),
                lost_flows,
                lost_pkts
            );
        });
    }
}

/// Runs `f` with the live meter and scanner, if the module is (still) set
/// up.
#[inline]
pub fn with_work<R>(f: impl FnOnce(&Meter, &Scanner) -> R) -> Option<R> {
    let scanner = SCANNER.load(Ordering::Acquire);
    if scanner.is_null() {
        return None;
    }
    // SAFETY: a non-null SCANNER points to the scanner owned by the live
    // `ScannerHandle`, which outlives every registered caller (see above).
    let scanner = unsafe { &*scanner };
    with_meter(|m| f(m, scanner))
}

impl ScanState {
    /// One run; returns the delay until the next.
    fn run(&mut self, m: &Meter, force: bool) -> u64 {
        let now = jiffies();
        let t0 = monotonic_ns();
        // A hint for /proc only.
        self.last_cpu = current_cpu_hint();
        self.last_start = now;
        // A timeout written through /sys/module/.../parameters reaches the
        // packet path here; without memory for the copy the old one stays.
        let _ = m.refresh_timeouts();
        let alive = m.nr_flows();
        if alive > self.peak.0 {
            self.peak = (alive, now);
        }
        // A regular run passes over a table its CPU holds; a flush waits.
        let due = if force {
            m.collect_all()
        } else {
            let (due, passed_over) = m.collect_due(&mut self.busy_runs);
            self.last_passed_over = passed_over;
            due
        };
        let expired = m.merge_across_cpus(due);
        let n = expired.len();
        self.last_count = n as u64;
        let mut pdus = self.exporter.export(ExpiredFlows { list: expired, meter: m }, now);
        with_nat(|nat| pdus += self.exporter.export(NatEvents { nat }, now));
        // One write of the shared maxflows count per run, not one per flow.
        m.budget.give_back(n as i64);
        // A partly filled export packet waits at most a second (the
        // original could hold it for the whole inactive timeout).
        let max_wait = if force { 0 } else { u64::from(m.hz) };
        pdus += self.exporter.send_if_due(now, max_wait);
        if !force {
            pdus += self.exporter.send_options(now, &self.meter_facts);
        }
        if now.wrapping_sub(self.last_rate_at) >= RATE_INTERVAL_SECS.saturating_mul(u64::from(m.hz)) {
            self.sample_rates(m, now);
        }
        self.last_us = monotonic_ns().wrapping_sub(t0) / 1000;
        // The original's adaptive delay: shorter while packets go out,
        // doubling while idle. (Arithmetic here and below cannot overflow
        // or divide by zero: no panic paths in kernel code.)
        let scan_max = u64::from(m.hz / 10).max(1);
        let scan_min = u64::from(params::scan_min()).clamp(1, scan_max);
        let next = match pdus {
            0 => self.delay.saturating_mul(2),
            n => self.delay / u64::from(n),
        };
        self.delay = next.clamp(scan_min, scan_max);
        self.delay
    }

    fn sample_rates(&mut self, m: &Meter, now: Ticks) {
        let elapsed_ms = now
            .wrapping_sub(self.last_rate_at)
            .saturating_mul(1000)
            .checked_div(u64::from(m.hz))
            .unwrap_or(0);
        self.last_rate_at = now;
        let mut total = StatsSum::default();
        for cpu in possible_cpus() {
            let s = m.cpus.get(cpu).stats.snapshot();
            total.accumulate(&s);
            if let Some(r) = self.cpu_rates.get_mut(cpu as usize) {
                r.sample(rate_input(&s), elapsed_ms);
            }
        }
        self.total_rates.sample(rate_input(&total), elapsed_ms);

        let bytes = self.exporter.stats.bytes.load(core::sync::atomic::Ordering::Relaxed);
        self.export_rate = bytes
            .wrapping_sub(self.export_bytes)
            .saturating_mul(1000)
            .checked_div(elapsed_ms)
            .unwrap_or(0);
        self.export_bytes = bytes;

        let f = &mut self.meter_facts;
        if total.pkt_drop > f.dropped.0 {
            let now_ms = epoch_ms();
            let first = f.drop_span.map_or(now_ms, |s| s.first_ms);
            f.drop_span = Some(Span { first_ms: first, last_ms: now_ms });
        }
        f.dropped = (total.pkt_drop, total.traf_drop);
        f.observed_flows = total.notfound;
        f.hash_sampled = (total.hash_observed, total.hash_selected);
    }
}

/// The flows a run took out of `meter`'s tables, as a source of export
/// records; each is freed once exported.
struct ExpiredFlows<'a> {
    list: FlowList,
    meter: &'a Meter,
}

impl RecordSource for ExpiredFlows<'_> {
    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn drain(mut self, mut emit: impl FnMut(Record<'_>)) {
        while let Some(f) = self.list.pop() {
            emit(Record::Flow(&f));
            // The maxflows slots are given back per run, not per flow.
            self.meter.free_record(f);
        }
    }
}

/// The NAT events queued since the last run, as a source of export records.
struct NatEvents<'a> {
    nat: &'a NatCapture,
}

impl RecordSource for NatEvents<'_> {
    fn is_empty(&self) -> bool {
        !self.nat.busy()
    }

    fn drain(self, mut emit: impl FnMut(Record<'_>)) {
        self.nat.drain(|ev| emit(Record::Nat(ev)));
    }
}

fn rate_input(s: &StatsSum) -> RateInput {
    RateInput {
        packets: s.pkt_total,
        bytes: s.traf_total,
        searched: s.searched,
        found: s.found,
        notfound: s.notfound,
    }
}

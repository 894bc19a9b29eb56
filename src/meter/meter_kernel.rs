// SPDX-License-Identifier: GPL-2.0-only
//! The metering state and the packet path: per-CPU flow tables, each behind
//! its own lock that only its CPU takes on the packet path.
//!
//! Concurrency: a CPU's packet path touches only that CPU's `CpuMeter`, with
//! bottom halves disabled (so it is never re-entered on the CPU) and the
//! table lock held (uncontended, the line stays in that CPU's cache). The
//! scanner, the flow dump and resizing take other CPUs' table locks now and
//! then, from process context. Counters in `CpuStats` have one writer, the
//! owning CPU.

use super::expiry::{active_due, scan_due, Timeouts};
use super::flow::{EndReason, FirstPacket, Flow, Ticks};
use super::flow_budget::{Credit, FlowBudget};
use super::flow_hash::{flow_hash, flow_hash_of, HashSeed};
use super::flow_key::{parse_into, PacketInfo};
use super::flow_table::{FlowList, FlowTable, OwnedFlow};
use super::flow_merge::{fold_duplicates, from_several_cpus, slots_for};
use super::aggregation::RuleKind;
use super::packet_rules::{hash_selects, Applied, PacketRules, PublishedRules, RuleUsage};
use super::skb_kernel::Packet;
use super::stats::CpuStats;
use crate::params;
use crate::sys::xtables::{Family, TargetCall};
use crate::sys::percpu::{nr_possible_cpus, possible_cpus, PerCpu};
use crate::sys::rcu::{RcuBox, RcuReadGuard};
use crate::sys::slab::{PtrArray, SlabCache};
use crate::sys::system::{random_u64, totalram_bytes};
use crate::sys::time::hz;
use crate::sys::sync::{BhOff, SpinLocked};
use core::mem::MaybeUninit;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicI64, AtomicPtr, AtomicU64, Ordering};
use kernel::error::Result;
use kernel::prelude::*;

pub use super::flow_table::MIN_HASHSIZE;

/// Flows taken out of one table per lock hold, so a long scan never keeps
/// a CPU's packet path waiting for long.
const SCAN_BATCH: usize = 256;

/// Runs in a row that a scan may pass over a busy table before it waits
/// for its lock.
const MAX_BUSY_RUNS: u8 = 8;

/// The slab cache of flow records.
pub type FlowCache = SlabCache<Flow>;

/// The name of the flow records' slab cache, the one operators look for in
/// /proc/slabinfo.
const FLOW_CACHE_NAME: &core::ffi::CStr = c"ipt_netflow";

/// One CPU's flows.
pub struct CpuFlows {
    /// The hash table and recency list.
    pub table: FlowTable,
    /// Its bucket array (owned; the table points into it).
    buckets: Option<PtrArray<Flow>>,
    /// Flows the packet path expired (active timeout), waiting for the scanner.
    pub expired: FlowList,
    /// The CPU these flows belong to (recorded in each flow record).
    cpu: u16,
}

/// Everything one CPU meters into.
#[repr(C)]
pub struct CpuMeter {
    /// Counters (written by this CPU only).
    pub stats: CpuStats,
    /// Unspent maxflows credit, written by this CPU under the table lock,
    /// read by anyone for the flow count.
    credit: AtomicI64,
    /// The table, behind this CPU's lock.
    pub flows: SpinLocked<CpuFlows>,
    /// Packets each aggregation rule rewrote on this CPU.
    pub aggr_usage: RuleUsage,
}

/// Everything the packet path needs.
///
/// # Invariants
///
/// Every flow record in the tables and lists of `cpus`, and every
/// [`OwnedFlow`] the meter hands out, was allocated from `cache`.
pub struct Meter {
    /// Per-CPU tables and counters.
    pub cpus: PerCpu<CpuMeter>,
    /// Flow records.
    pub cache: FlowCache,
    /// The seed of the key hash.
    seed: HashSeed,
    /// maxflows accounting.
    pub budget: FlowBudget,
    /// Buckets over all CPUs (what `hashsize` shows).
    pub hashsize: AtomicU64,
    /// Ticks per second.
    pub hz: u32,
    /// Possible CPUs (fixed at boot), counted once: every new flow needs
    /// the number, and counting walks the CPU mask.
    ncpus: u32,
    /// The timeouts in force, in ticks, as the packet path reads them
    /// (see [`Meter::refresh_timeouts`]).
    timeouts: RcuBox<Timeouts>,
    /// snmp-rules, aggregation and sampling, as the packet path reads them.
    rules: RcuBox<PublishedRules>,
}

/// The live [`Meter`], published for the packet path and /proc readers.
/// Non-null from before the targets, /proc files and sysctls are registered
/// until after they are unregistered.
static METER: AtomicPtr<Meter> = AtomicPtr::new(null_mut());

pub use crate::sys::time::jiffies;

/// The hash size the original picks when `hashsize=0`: 1/1024 of RAM in
/// bucket heads, at most 5 MiB worth, at least 256.
pub fn auto_hashsize() -> u32 {
    let ram = totalram_bytes();
    let bytes = (ram / 1024).min(5 << 20);
    ((bytes / core::mem::size_of::<*mut Flow>() as u64) as u32).max(MIN_HASHSIZE)
}

/// The timeouts the parameters ask for, in ticks at `hz` per second.
fn timeouts_of_params(hz: u32) -> Timeouts {
    Timeouts::from_secs(params::inactive_timeout(), params::active_timeout(), hz)
}

/// Buckets of each CPU's table for `total` buckets over all CPUs.
fn per_cpu_buckets(total: u32) -> u32 {
    total.div_ceil(nr_possible_cpus().max(1)).max(16)
}

impl MeterHandle {
    /// Allocates the tables (`hashsize` buckets over all CPUs) and publishes
    /// the meter.
    pub fn new(hashsize: u32) -> Result<MeterHandle> {
        // SAFETY: CpuMeter is valid zeroed (counters, null links, a lock
        // that `init` below initialises before use).
        let cpus = unsafe { PerCpu::<CpuMeter>::new_zeroed()? };
        let seed = [random_u64(), random_u64(), random_u64(), random_u64()];
        let hz = hz();
        let meter = KBox::new(
            Meter {
                cpus,
                cache: FlowCache::new(FLOW_CACHE_NAME)?,
                seed: HashSeed(seed),
                budget: FlowBudget::default(),
                hashsize: AtomicU64::new(0),
                hz,
                ncpus: nr_possible_cpus(),
                timeouts: RcuBox::new(timeouts_of_params(hz))?,
                rules: RcuBox::new(PublishedRules::new(PacketRules::none()))?,
            },
            GFP_KERNEL,
        )?;
        let n = per_cpu_buckets(hashsize);
        let handle = MeterHandle { meter };
        let m = &*handle.meter;
        for cpu in possible_cpus() {
            // SAFETY: per-CPU memory does not move; each lock is initialised
            // once here, before anything else can see it (and before an early
            // failure below makes the handle's drop take them).
            unsafe { m.cpus.get(cpu).flows.init() };
        }
        for cpu in possible_cpus() {
            let c = m.cpus.get(cpu);
            let buckets = PtrArray::new(n)?;
            // SAFETY: nobody else uses the table yet.
            let f = unsafe { c.flows.get_unlocked() };
            // SAFETY: a fresh zeroed array, owned next to the table.
            f.table = unsafe { FlowTable::new(buckets.as_ptr(), n) };
            f.buckets = Some(buckets);
            f.expired = FlowList::new();
            f.cpu = cpu as u16;
        }
        m.hashsize.store(u64::from(n) * u64::from(nr_possible_cpus()), Ordering::Relaxed);
        METER.store(core::ptr::from_ref(m).cast_mut(), Ordering::Release);
        Ok(handle)
    }
}

impl Meter {
    /// The timeouts in force (process context).
    pub fn timeouts(&self) -> Timeouts {
        *self.timeouts.read_locked(&RcuReadGuard::new())
    }

    /// Publishes the timeouts of the parameters to the packet path if they
    /// changed (sysctl writes, and sysfs writes seen by the scanner's next
    /// run). Sleeps for an RCU grace period when they did; callers
    /// serialise through the scanner's mutex.
    pub fn refresh_timeouts(&self) -> Result {
        let fresh = timeouts_of_params(self.hz);
        if fresh == self.timeouts() {
            return Ok(());
        }
        self.timeouts.replace(fresh)
    }

    /// The aggregation and sampling rules in force (process context).
    pub fn rules(&self) -> PacketRules {
        *self.rules.read_locked(&RcuReadGuard::new()).rules()
    }

    /// The rules in force, without a copy, for as long as `guard` holds.
    pub fn rules_in<'a>(&'a self, guard: &'a RcuReadGuard) -> &'a PacketRules {
        self.rules.read_locked(guard).rules()
    }

    /// Packets aggregation rule `i` of `kind` rewrote, over all CPUs.
    pub fn aggregation_usage(&self, kind: RuleKind, i: usize) -> u64 {
        possible_cpus()
            .map(|cpu| self.cpus.get(cpu).aggr_usage.usage(kind, i))
            .fold(0u64, u64::wrapping_add)
    }

    /// Publishes new rules to the packet path; returns once no packet is
    /// metered under the old ones any more (process context). Each packet
    /// is metered under one version, whole. The caller serialises updates
    /// (the scanner's lock). The aggregation usage counts start again from
    /// zero when the aggregation rules change, the hash sampler's counts
    /// when the sampler does.
    pub fn set_rules(&self, rules: &PacketRules) -> Result {
        // What changes, from the version in force (compared in place: a
        // copy of it would be another kilobyte on the stack).
        let (new_aggregation, new_sampler) = {
            let guard = RcuReadGuard::new();
            let old = self.rules_in(&guard);
            (rules.aggregation != old.aggregation, rules.sampler != old.sampler)
        };
        self.rules.replace(PublishedRules::new(*rules))?;
        for cpu in possible_cpus() {
            let c = self.cpus.get(cpu);
            if new_aggregation {
                c.aggr_usage.reset();
            }
            if new_sampler {
                c.stats.hash_observed.reset();
                c.stats.hash_selected.reset();
            }
        }
        Ok(())
    }

    /// Meters one packet on this CPU (inlined into each family's entry).
    ///
    /// The slow paths (a new flow, the rule sets) take a [`Packet`] of
    /// their own, made from `call` where they need it: handed this one, the
    /// compiler keeps it in memory for the found-flow path too.
    #[inline(always)]
    fn meter_packet(&self, cpu: &CpuMeter, bh: &BhOff, call: TargetCall<'_>, family: Family) {
        let pkt = &Packet::of(&call, family);
        let s = &cpu.stats;
        let mut uninit = MaybeUninit::uninit();
        let Ok(info) = parse_into(&pkt.bytes, pkt.family, pkt.in_ifindex(), &mut uninit) else {
            s.truncated.inc();
            s.pkt_drop.inc();
            s.traf_drop.add(u64::from(pkt.bytes.skb_len()));
            return;
        };
        #[cfg(feature = "link-layer")]
        {
            info.key.l2 = pkt.link.key();
            info.key.i_ifc = pkt.link.key_in_ifindex(info.key.i_ifc);
        }
        if info.fragment {
            s.frags.inc();
        }
        let published = self.rules.read(bh);
        let rules = published.rules();
        // What the rules did, if there are any (`None`, not a default
        // `Applied`: one byte to store on the packet path, not three words).
        let (hash, applied) = if published.any() {
            match self.apply_rules(cpu, rules, Packet::of(&call, family), info) {
                Some((hash, applied)) => (hash, Some(applied)),
                // Not a drop: the flow is not sampled, by configuration.
                None => return,
            }
        } else {
            // parse_into keys an IPv4 packet as IPv4 (ip_version 4).
            (flow_hash_of(&info.key, &self.seed, family == Family::Ipv4), None)
        };
        let now = jiffies();
        let mut searched = 0u32;
        let outcome = {
            let mut f = cpu.flows.lock_bh_off(bh);
            let f = &mut *f;
            match f.table.entry(&info.key, hash, &mut searched) {
                Some(mut entry) => {
                    let fl = entry.flow();
                    fl.account(info, now);
                    if active_due(fl, now, self.timeouts.read(bh)) {
                        fl.end_reason = EndReason::Active;
                        f.expired.push(entry.remove());
                    } else {
                        entry.touch();
                    }
                    Outcome::Found
                }
                None => {
                    // The closure holds a copy of the rules' decision and the
                    // call: holding references, it would keep them in memory
                    // on the found-flow path too.
                    let info: &PacketInfo = info;
                    let first = move || first_packet(Packet::of(&call, family), info, rules, &applied.unwrap_or_default());
                    self.new_flow(cpu, f, info, hash, now, first)
                }
            }
        };
        s.searched.add(u64::from(searched));
        let len = u64::from(info.ip_len);
        match outcome {
            Outcome::Found => s.found.inc(),
            Outcome::New => s.notfound.inc(),
            Outcome::Full | Outcome::NoMemory => {
                s.notfound.inc();
                if matches!(outcome, Outcome::Full) {
                    s.maxflows_err.inc();
                } else {
                    s.alloc_err.inc();
                }
                s.pkt_drop.inc();
                s.traf_drop.add(len);
                return;
            }
        }
        s.pkt_total.inc();
        s.traf_total.add(len);
    }

    /// Applies the rules to a packet before its flow lookup: the
    /// snmp-rules to its input interface, the aggregation rules to its key,
    /// then the hash sampler. Returns the key's hash and what aggregation
    /// did, or `None` when the sampler leaves the packet's flow out. Out of
    /// line: a packet with no rule set never comes here.
    #[inline(never)]
    fn apply_rules(&self, cpu: &CpuMeter, rules: &PacketRules, pkt: Packet<'_>, info: &mut PacketInfo) -> Option<(u32, Applied)> {
        if !rules.snmp.is_empty() {
            info.key.i_ifc = rules.interface_index(pkt.in_name(), info.key.i_ifc);
        }
        let applied = rules.aggregate(&mut info.key);
        let hash = flow_hash(&info.key, &self.seed);
        if let Some(sampler) = rules.hash_sampler() {
            let s = &cpu.stats;
            s.hash_observed.inc();
            if !hash_selects(sampler, hash) {
                return None;
            }
            s.hash_selected.inc();
        }
        if applied.matched.any() {
            cpu.aggr_usage.record(&applied.matched);
        }
        Some((hash, applied))
    }

    fn new_flow(
        &self,
        cpu: &CpuMeter,
        f: &mut CpuFlows,
        info: &PacketInfo,
        hash: u32,
        now: Ticks,
        first_packet: impl FnOnce() -> FirstPacket,
    ) -> Outcome {
        let mut credit = Credit(cpu.credit.load(Ordering::Relaxed));
        let limit = i64::from(params::maxflows());
        if !self.budget.take(&mut credit, limit, i64::from(self.ncpus)) {
            return Outcome::Full;
        }
        let mut flow = Flow::new(info, hash, now, first_packet());
        flow.cpu = f.cpu;
        flow.account(info, now);
        let outcome = match self.alloc_flow(flow) {
            Some(p) => {
                f.table.insert(p);
                Outcome::New
            }
            None => {
                credit.0 += 1; // the slot is still free
                Outcome::NoMemory
            }
        };
        cpu.credit.store(credit.0, Ordering::Relaxed);
        outcome
    }

    /// Takes every flow out of every table (a flush: all of them are due
    /// with zero timeouts), waiting for each table's lock.
    pub fn collect_all(&self) -> FlowList {
        let now = jiffies();
        let t = Timeouts { inactive: 0, active: 0 };
        let mut out = FlowList::new();
        for cpu in possible_cpus() {
            take_due(self.cpus.get(cpu), now, &t, &mut out, true);
        }
        out
    }

    /// Takes the flows that are due under the timeouts in force out of
    /// every table, but passes over a table whose lock is held
    /// (its CPU is metering a packet) rather than spin on it while that
    /// CPU's packet path, or the hypervisor, keeps the holder busy: the
    /// next run takes its flows. A table passed over `MAX_BUSY_RUNS` runs in
    /// a row is waited for. `busy_runs`, one per CPU id, counts those runs
    /// from one call to the next. Returns the flows and the number of
    /// tables passed over.
    pub fn collect_due(&self, busy_runs: &mut [u8]) -> (FlowList, u32) {
        let now = jiffies();
        let t = self.timeouts();
        let mut out = FlowList::new();
        let mut passed_over = 0;
        for cpu in possible_cpus() {
            let Some(busy) = busy_runs.get_mut(cpu as usize) else {
                take_due(self.cpus.get(cpu), now, &t, &mut out, true);
                continue;
            };
            if take_due(self.cpus.get(cpu), now, &t, &mut out, *busy >= MAX_BUSY_RUNS) {
                *busy = 0;
            } else {
                *busy = busy.saturating_add(1);
                passed_over += 1;
            }
        }
        (out, passed_over)
    }

    /// Merges records of the same flow metered on several CPUs: records in
    /// `list` with the same key become one (only possible when they come
    /// from several CPUs), and an idle record whose flow is still alive on
    /// another CPU is added into that live record instead of leaving.
    /// Returns the records that leave, each flow once, in `list`'s order.
    ///
    /// Linear in the records: the fold goes through a hash-indexed scratch
    /// table, and the join takes each CPU's lock once per chunk of records
    /// it looks up there, so a big batch never holds up a CPU's packet path
    /// for long. A batch from one CPU, with no other CPU metering, costs a
    /// walk of the list per CPU and no lock.
    pub fn merge_across_cpus(&self, mut list: FlowList) -> FlowList {
        if self.ncpus < 2 || list.is_empty() {
            return list;
        }
        if from_several_cpus(list.cpus()) {
            list = self.fold_same_keys(list);
        }
        self.join_live(&mut list);
        list
    }

    /// Folds the records of `list` that share a key into the first of them,
    /// and frees the others.
    fn fold_same_keys(&self, mut list: FlowList) -> FlowList {
        let Ok(mut recs) = KVVec::<OwnedFlow>::with_capacity(list.len(), GFP_KERNEL) else {
            return list; // no memory to merge: export the records as they are
        };
        while let Some(f) = list.pop() {
            // Within the capacity reserved above: no allocation, no failure.
            let _ = recs.push(f, GFP_KERNEL);
        }
        let kept = match KVVec::from_elem(None, slots_for(recs.len()), GFP_KERNEL) {
            Ok(mut slots) => fold_duplicates(&mut recs, &mut slots),
            Err(_) => recs.len(),
        };
        for (i, rec) in recs.into_iter().enumerate() {
            if i < kept {
                list.push(rec);
            } else {
                self.free_flow(rec);
            }
        }
        list
    }

    /// Adds each idle record of `list` whose flow is alive in another CPU's
    /// table into that live record, and frees it.
    fn join_live(&self, list: &mut FlowList) {
        const CHUNK: usize = 256;
        let joins = |r: &Flow, cpu: u32| {
            u32::from(r.cpu) != cpu && matches!(r.end_reason, EndReason::Idle | EndReason::EndOfFlow)
        };
        let mut absorbed = false;
        for cpu in possible_cpus() {
            let flows = &self.cpus.get(cpu).flows;
            let mut held = None;
            let mut looked_up = 0;
            let mut table_empty = false;
            list.for_each_mut(|r| {
                if table_empty || !joins(r, cpu) {
                    return;
                }
                if looked_up == CHUNK {
                    // Let this CPU's packet path in between chunks.
                    held = None;
                    looked_up = 0;
                }
                let f = held.get_or_insert_with(|| flows.lock_bh());
                if f.table.is_empty() {
                    table_empty = true; // nothing to join on this CPU
                    return;
                }
                looked_up += 1;
                let mut searched = 0;
                if let Some(live) = f.table.find_mut(&r.key, r.hash, &mut searched) {
                    live.absorb(r);
                    r.end_reason = EndReason::None; // absorbed
                    absorbed = true;
                }
            });
        }
        if absorbed {
            list.retain(|r| r.end_reason != EndReason::None, |r| self.free_flow(r));
        }
    }

    /// A new record holding `flow`, if there is memory for it.
    #[inline]
    fn alloc_flow(&self, flow: Flow) -> Option<OwnedFlow> {
        let p = self.cache.alloc(flow)?;
        // SAFETY: a fresh record that nothing else refers to.
        Some(unsafe { OwnedFlow::from_raw(p) })
    }

    /// Frees a record that left its table, without giving back its
    /// maxflows slot (the caller gives back a batch's slots at once).
    pub fn free_record(&self, flow: OwnedFlow) {
        // SAFETY: every record of this meter comes from its cache (type
        // invariants), and an owned one is referred to by nothing else.
        unsafe { self.cache.free(flow.into_raw()) };
    }

    /// Frees a record that left its table and gives back its maxflows slot.
    pub fn free_flow(&self, flow: OwnedFlow) {
        self.free_record(flow);
        self.budget.give_back(1);
    }

    /// Flows alive: in tables and waiting for export.
    pub fn nr_flows(&self) -> u64 {
        let credit: i64 = possible_cpus().map(|c| self.cpus.get(c).credit.load(Ordering::Relaxed)).sum();
        (self.budget.taken() - credit).max(0) as u64
    }

    /// Resizes every CPU's table for `total` buckets over all CPUs. All new
    /// arrays are allocated first, so a failure changes nothing.
    pub fn resize(&self, total: u32) -> Result {
        let n = per_cpu_buckets(total);
        let mut fresh = KVec::new();
        for _ in possible_cpus() {
            fresh.push(PtrArray::new(n)?, GFP_KERNEL)?;
        }
        for (cpu, new) in possible_cpus().zip(fresh) {
            let old = {
                let mut f = self.cpus.get(cpu).flows.lock_bh();
                // SAFETY: a fresh zeroed array that stays owned next to the table.
                unsafe { f.table.rehash(new.as_ptr(), new.len()) };
                f.buckets.replace(new)
            };
            drop(old); // kvfree outside the lock
        }
        self.hashsize.store(u64::from(n) * u64::from(nr_possible_cpus()), Ordering::Relaxed);
        Ok(())
    }

    /// Zeroes every CPU's counters (`flush=2`).
    pub fn reset_stats(&self) {
        for cpu in possible_cpus() {
            self.cpus.get(cpu).stats.reset();
        }
    }
}

enum Outcome {
    Found,
    New,
    Full,
    NoMemory,
}

/// Owns the published [`Meter`]; dropping it unpublishes it, frees every
/// flow left and the tables.
///
/// # Invariants
///
/// `meter` is the meter published in `METER`, with every per-CPU lock
/// initialised, until `drop` unpublishes it.
pub struct MeterHandle {
    meter: KBox<Meter>,
}

impl MeterHandle {
    /// The meter.
    pub fn get(&self) -> &Meter {
        &self.meter
    }
}

/// Moves the flows of `c`'s table that are due under `t` at `now` (and
/// those its packet path already took out) to `out`, `SCAN_BATCH` per lock
/// hold. With `wait` false it gives up as soon as the lock is busy. Returns
/// whether it took every due flow.
fn take_due(c: &CpuMeter, now: Ticks, t: &Timeouts, out: &mut FlowList, wait: bool) -> bool {
    loop {
        let taken = {
            let guard = if wait { Some(c.flows.lock_bh()) } else { c.flows.try_lock_bh() };
            let Some(mut f) = guard else { return false };
            let f = &mut *f;
            out.append(&mut f.expired);
            let mut n = 0;
            while n < SCAN_BATCH {
                let popped = f.table.pop_oldest_if(|fl| match scan_due(fl, now, t) {
                    Some(r) => {
                        fl.end_reason = r;
                        true
                    }
                    None => false,
                });
                let Some(fl) = popped else { break };
                out.push(fl);
                n += 1;
            }
            n
        };
        if taken < SCAN_BATCH {
            return true;
        }
    }
}

impl Drop for MeterHandle {
    fn drop(&mut self) {
        // The owner drops this only after unregistering everything that
        // reads METER, so no reader can still hold the old pointer.
        METER.store(null_mut(), Ordering::Release);
        let m = &*self.meter;
        // The scanner exported every flow before it went; this frees any
        // left by a failed start.
        let mut left = m.collect_all();
        while let Some(f) = left.pop() {
            m.free_flow(f);
        }
        for cpu in possible_cpus() {
            let c = m.cpus.get(cpu);
            // SAFETY: nothing else runs any more.
            let f = unsafe { c.flows.get_unlocked() };
            f.buckets = None;
        }
        // The meter itself (cache, per-CPU data) is freed with
        // the field once this returns.
    }
}

/// Runs `f` with the live meter, if the module is (still) set up.
#[inline(always)]
pub fn with_meter<R>(f: impl FnOnce(&Meter) -> R) -> Option<R> {
    let meter = METER.load(Ordering::Acquire);
    if meter.is_null() {
        return None;
    }
    // SAFETY: a non-null METER points to the `Meter` owned by the live
    // `MeterHandle`, which outlives every registered caller (see above).
    Some(f(unsafe { &*meter }))
}

/// What a new flow takes from its first packet (asked for only when the
/// packet starts a flow).
#[inline]
fn first_packet(pkt: Packet<'_>, info: &PacketInfo, rules: &PacketRules, applied: &Applied) -> FirstPacket {
    let mut o_ifc = pkt.out_ifindex();
    if !rules.snmp.is_empty() {
        o_ifc = rules.interface_index(pkt.out_name(), o_ifc);
    }
    #[allow(unused_mut)]
    let mut first = FirstPacket {
        o_ifc,
        flow_label: info.flow_label,
        nexthop: pkt.nexthop(),
        s_mask: applied.s_mask,
        d_mask: applied.d_mask,
        #[cfg(any(feature = "mac", feature = "vlan"))]
        ethertype: 0,
        #[cfg(feature = "direction")]
        direction: 0,
        #[cfg(feature = "physdev")]
        phys_in: 0,
        #[cfg(feature = "physdev")]
        phys_out: 0,
    };
    #[cfg(feature = "link-layer")]
    {
        first.fill_link_layer(&pkt.link, pkt.in_ifindex(), o_ifc);
        first.o_ifc = pkt.link.out_ifindex(o_ifc);
    }
    first
}

/// Meters one packet handed to the NETFLOW target.
#[inline(always)]
pub fn meter_target_call(call: TargetCall<'_>, family: Family) {
    match family {
        Family::Ipv4 => meter_call_of::<false>(call),
        Family::Ipv6 => meter_call_of::<true>(call),
    }
}

/// [`meter_target_call`] for one family (`V6`): an instance per family,
/// each inlined whole into its family's C entry point (one caller each),
/// so the IPv4 path carries no IPv6 branch and no call of its own.
#[inline(always)]
fn meter_call_of<const V6: bool>(call: TargetCall<'_>) {
    let family = if V6 { Family::Ipv6 } else { Family::Ipv4 };
    with_meter(|meter| {
        meter.cpus.with_local(|cpu, bh| meter.meter_packet(cpu, bh, call, family));
    });
}

// SPDX-License-Identifier: GPL-2.0-only
//! Per-CPU metering counters and their sum across CPUs.
//!
//! Each CPU owns one [`CpuStats`] and is its only writer, with bottom halves
//! disabled, so an increment is a plain load and store: no lock, no atomic
//! read-modify-write, no cache line shared between CPUs on the packet path.
//! Readers (/proc) may run on any CPU at any time; relaxed atomics make those
//! concurrent reads well-defined and cost nothing on 64-bit machines.

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A monotonic counter with a single writer and any number of readers.
#[derive(Default, Debug)]
#[repr(transparent)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning CPU may call this, and not reentrantly.
    #[inline(always)]
    pub fn add(&self, n: u64) {
        self.0.store(self.0.load(Relaxed).wrapping_add(n), Relaxed);
    }

    /// Adds one.
    #[inline(always)]
    pub fn inc(&self) {
        self.add(1);
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }

    /// Sets the counter back to zero (the `flush=2` statistics reset).
    pub fn reset(&self) {
        self.0.store(0, Relaxed);
    }
}

macro_rules! stats_fields {
    ($(#[doc = $doc:literal] $name:ident,)*) => {
        /// The metering counters of one CPU, laid out as one cache-line-aligned
        /// block so that no two CPUs ever write the same line.
        #[derive(Default, Debug)]
        #[repr(C, align(64))]
        pub struct CpuStats {
            $(#[doc = $doc] pub $name: Counter,)*
        }

        /// A snapshot of [`CpuStats`], of one CPU or summed over all of them.
        #[derive(Default, Debug, Clone, Copy, PartialEq, Eq)]
        pub struct StatsSum {
            $(#[doc = $doc] pub $name: u64,)*
        }

        impl CpuStats {
            /// A snapshot of this CPU's counters.
            pub fn snapshot(&self) -> StatsSum {
                StatsSum { $($name: self.$name.get(),)* }
            }

            /// Zeroes every counter.
            pub fn reset(&self) {
                $(self.$name.reset();)*
            }
        }

        impl StatsSum {
            /// Adds another snapshot into this one.
            pub fn accumulate(&mut self, other: &StatsSum) {
                $(self.$name = self.$name.wrapping_add(other.$name);)*
            }
        }
    };
}

stats_fields! {
    /// Hash chain entries compared without a match.
    searched,
    /// Packets that found their flow in the hash table.
    found,
    /// Packets that found no flow (this includes every new flow).
    notfound,
    /// Packets accounted into flows (dropped ones are not).
    pkt_total,
    /// Bytes (IP length) accounted into flows.
    traf_total,
    /// Packets not accounted into any flow.
    pkt_drop,
    /// Bytes of those packets.
    traf_drop,
    /// Packets whose network header could not be read.
    truncated,
    /// Fragments accounted without transport-layer fields.
    frags,
    /// Flow allocations that failed.
    alloc_err,
    /// New flows refused because `maxflows` was reached.
    maxflows_err,
    /// Packets the hash-mode sampler looked at.
    hash_observed,
    /// Packets of the flows it selected (the others are not metered).
    hash_selected,
}

impl StatsSum {
    /// Sums the snapshots of several CPUs.
    pub fn total<'a>(cpus: impl IntoIterator<Item = &'a StatsSum>) -> StatsSum {
        let mut sum = StatsSum::default();
        for cpu in cpus {
            sum.accumulate(cpu);
        }
        sum
    }

    /// The hash metric times 100: chain entries visited per lookup, 1.00 when
    /// every lookup hits the first entry, 0 before any lookup.
    pub fn metric_x100(&self) -> u64 {
        let lookups = self.found.wrapping_add(self.notfound);
        if lookups == 0 {
            return 0;
        }
        let visited = self.searched.wrapping_add(lookups);
        visited.saturating_mul(100) / lookups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_and_reset() {
        let s = CpuStats::default();
        s.pkt_total.inc();
        s.traf_total.add(1500);
        s.traf_total.add(40);
        assert_eq!(s.snapshot().pkt_total, 1);
        assert_eq!(s.snapshot().traf_total, 1540);
        s.reset();
        assert_eq!(s.snapshot(), StatsSum::default());
    }

    #[test]
    fn total_sums_every_field() {
        let a = CpuStats::default();
        let b = CpuStats::default();
        a.pkt_total.add(3);
        b.pkt_total.add(4);
        b.truncated.inc();
        let total = StatsSum::total([&a.snapshot(), &b.snapshot()]);
        assert_eq!(total.pkt_total, 7);
        assert_eq!(total.truncated, 1);
    }

    #[test]
    fn metric_counts_visited_entries_per_lookup() {
        let mut s = StatsSum::default();
        assert_eq!(s.metric_x100(), 0);
        s.found = 3;
        s.notfound = 1;
        assert_eq!(s.metric_x100(), 100);
        s.searched = 2;
        assert_eq!(s.metric_x100(), 150);
    }

    #[test]
    fn per_cpu_block_fills_whole_cache_lines() {
        assert_eq!(core::mem::align_of::<CpuStats>(), 64);
        assert_eq!(core::mem::size_of::<CpuStats>() % 64, 0);
    }
}

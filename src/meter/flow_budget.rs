// SPDX-License-Identifier: GPL-2.0-only
//! `maxflows`: how many flow records may exist at once, enforced without a
//! shared counter write per new flow.
//!
//! Each CPU takes slots from the global count in batches and spends them
//! locally; near the limit it takes them one at a time, so the limit is
//! exact for small `maxflows`. Freed flows give their slot back to the
//! global count. Slots a CPU took but has not spent are at most
//! `BATCH - 1` per CPU, and only while the limit is far away.

use core::sync::atomic::{AtomicI64, Ordering::Relaxed};

/// Slots a CPU takes at once while the limit is far.
pub const BATCH: i64 = 32;

/// The global count of flow slots taken (flows alive plus unspent credit).
#[derive(Debug, Default)]
pub struct FlowBudget {
    taken: AtomicI64,
}

/// A CPU's unspent slots. Owned by that CPU (used under its table lock).
#[derive(Debug, Default, Clone, Copy)]
pub struct Credit(pub i64);

impl FlowBudget {
    /// Takes a slot for one new flow; `limit <= 0` means no limit. Returns
    /// false (and takes nothing) when the limit is reached.
    pub fn take(&self, credit: &mut Credit, limit: i64, ncpus: i64) -> bool {
        let far = limit <= 0 || limit - self.taken.load(Relaxed) > 2 * BATCH * ncpus.max(1);
        if credit.0 > 0 {
            if far {
                credit.0 -= 1;
                return true;
            }
            // Near the limit (or after it was lowered) credit taken earlier
            // must not let this CPU past it: hand it back, count exactly.
            self.return_credit(credit);
        }
        let batch = if far { BATCH } else { 1 };
        let now = self.taken.fetch_add(batch, Relaxed) + batch;
        if limit > 0 && now > limit {
            self.taken.fetch_sub(batch, Relaxed);
            return false;
        }
        credit.0 += batch - 1;
        true
    }

    /// Gives back the slots of `n` freed flows.
    pub fn give_back(&self, n: i64) {
        self.taken.fetch_sub(n, Relaxed);
    }

    /// Returns a CPU's unspent credit (when its table goes away).
    pub fn return_credit(&self, credit: &mut Credit) {
        self.give_back(credit.0);
        credit.0 = 0;
    }

    /// Slots taken, unspent credit included.
    pub fn taken(&self) -> i64 {
        self.taken.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_limits_are_exact() {
        let b = FlowBudget::default();
        let mut cpus = [Credit::default(); 4];
        let mut granted = 0;
        for i in 0..100 {
            if b.take(&mut cpus[i % 4], 10, 4) {
                granted += 1;
            }
        }
        assert_eq!(granted, 10);
        b.give_back(3);
        let more = (0..10).filter(|i| b.take(&mut cpus[i % 4], 10, 4)).count();
        assert_eq!(more, 3);
    }

    #[test]
    fn far_from_the_limit_a_cpu_takes_batches() {
        let b = FlowBudget::default();
        let mut c = Credit::default();
        assert!(b.take(&mut c, 0, 2));
        assert_eq!((b.taken(), c.0), (BATCH, BATCH - 1));
        for _ in 0..BATCH - 1 {
            assert!(b.take(&mut c, 0, 2));
        }
        assert_eq!(b.taken(), BATCH);
        b.return_credit(&mut c);
        assert_eq!(b.taken(), BATCH);
    }

    #[test]
    fn lowering_the_limit_voids_credit() {
        let b = FlowBudget::default();
        let mut c = Credit::default();
        assert!(b.take(&mut c, 0, 1));
        assert_eq!(c.0, BATCH - 1);
        // One flow is alive; with the limit lowered to 2, one more fits.
        assert!(b.take(&mut c, 2, 1));
        assert!(!b.take(&mut c, 2, 1));
        assert_eq!((b.taken(), c.0), (2, 0));
    }

    #[test]
    fn never_more_than_the_limit_plus_stranded_credit() {
        let b = FlowBudget::default();
        let mut cpus = [Credit::default(); 8];
        let mut alive = 0i64;
        for i in 0..100_000 {
            if b.take(&mut cpus[i % 8], 5000, 8) {
                alive += 1;
            }
        }
        assert!(alive <= 5000);
        assert!(alive >= 5000 - 8 * (BATCH - 1));
    }
}

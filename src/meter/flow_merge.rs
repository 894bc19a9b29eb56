// SPDX-License-Identifier: GPL-2.0-only
//! Folding the records of one flow that several CPUs metered.
//!
//! Each CPU meters into its own table, so a flow whose packets arrive on
//! several CPUs has a record on each, and when those records expire in the
//! same scan they must leave as one flow. [`fold_duplicates`] groups them by
//! key in one pass over an open-addressing table indexed by the records'
//! hash: linear time, where sorting the batch cost `n log n` comparisons.
//!
//! The records are anything that owns a [`Flow`] (the kernel's
//! `OwnedFlow`, a `Box` in the tests), so this is safe code.

use super::flow::{EndReason, Flow};
use core::ops::DerefMut;

/// Scratch slots [`fold_duplicates`] wants for `n` records: a power of two
/// of at least twice `n`, so that probe sequences stay short.
pub fn slots_for(n: usize) -> usize {
    n.saturating_mul(2)
        .max(2)
        .checked_next_power_of_two()
        .unwrap_or(usize::MAX)
}

/// Whether records metered on these CPUs came from more than one CPU
/// (only then can two of them share a key).
pub fn from_several_cpus(mut cpus: impl Iterator<Item = u16>) -> bool {
    let first = cpus.next();
    cpus.any(|c| Some(c) != first)
}

/// Folds every group of records with one key into the group's first
/// record (which then counts all their packets and bytes, from the earliest
/// first packet to the latest last one, and leaves for the active timeout
/// if any of them did). The survivors move to the front of `recs` in their
/// order and the folded records to the back; returns how many survivors
/// there are.
///
/// `slots` is scratch space: all `None`, a power of two of at least twice
/// `recs.len()` entries ([`slots_for`]). With fewer, records that find no
/// free slot are kept unmerged; nothing is lost.
pub fn fold_duplicates<R: DerefMut<Target = Flow>>(
    recs: &mut [R],
    slots: &mut [Option<usize>],
) -> usize {
    let mask = slots.len().wrapping_sub(1);
    let probes = if slots.len().is_power_of_two() {
        slots.len()
    } else {
        0
    };
    let mut kept = 0;
    for i in 0..recs.len() {
        // Survivors so far are `recs[..kept]`, and `kept <= i`.
        let (survivors, rest) = recs.split_at_mut(i);
        let Some(cur) = rest.first_mut() else { break };
        let mut idx = cur.hash as usize & mask;
        let mut absorbed = false;
        for _ in 0..probes {
            let Some(slot) = slots.get_mut(idx) else {
                break;
            };
            match *slot {
                None => {
                    *slot = Some(kept);
                    break;
                }
                Some(j) => {
                    if let Some(head) = survivors.get_mut(j) {
                        if head.hash == cur.hash && head.key == cur.key {
                            head.absorb(cur);
                            if cur.end_reason == EndReason::Active {
                                head.end_reason = EndReason::Active;
                            }
                            absorbed = true;
                            break;
                        }
                    }
                }
            }
            idx = (idx + 1) & mask;
        }
        if !absorbed {
            recs.swap(kept, i);
            kept += 1;
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::flow::FirstPacket;
    use crate::meter::flow_key::{FlowKey, PacketInfo};
    use proptest::prelude::*;
    use std::boxed::Box;
    use std::vec::Vec;

    /// A record of port `port` metered on `cpu` with `packets` packets of
    /// 100 bytes between `first` and `last`; `hash` is deliberately weak so
    /// that different keys collide in the slots.
    fn record(port: u16, cpu: u16, packets: u32, first: u64, last: u64) -> Box<Flow> {
        let key = FlowKey {
            ip_version: 4,
            d_port: port,
            ..Default::default()
        };
        let info = PacketInfo {
            key,
            ..Default::default()
        };
        let mut f = Flow::new(&info, u32::from(port % 5), first, FirstPacket::default());
        f.cpu = cpu;
        f.packets = packets;
        f.bytes = packets * 100;
        f.last = crate::meter::flow::stamp(last);
        Box::new(f)
    }

    #[test]
    fn records_of_one_key_become_one() {
        let mut recs = std::vec![
            record(1, 0, 2, 10, 20),
            record(2, 0, 1, 10, 20),
            record(1, 1, 3, 5, 30),
            record(6, 1, 1, 10, 20), // same hash as port 1, other key
        ];
        let mut slots = std::vec![None; slots_for(recs.len())];
        let kept = fold_duplicates(&mut recs, &mut slots);
        assert_eq!(kept, 3);
        let (a, b, c) = (&recs[0], &recs[1], &recs[2]);
        assert_eq!(
            (a.key.d_port, a.packets, a.bytes, a.first, a.last),
            (1, 5, 500, 5, 30)
        );
        assert_eq!((b.key.d_port, b.packets), (2, 1));
        assert_eq!((c.key.d_port, c.packets), (6, 1));
        assert_eq!((recs[3].key.d_port, recs[3].packets), (1, 3)); // folded
    }

    #[test]
    fn too_few_slots_keep_records_unmerged() {
        let mut recs = std::vec![record(1, 0, 1, 0, 0), record(1, 1, 1, 0, 0)];
        let mut slots = std::vec![None; 3]; // not a power of two
        assert_eq!(fold_duplicates(&mut recs, &mut slots), 2);
    }

    #[test]
    fn one_cpu_is_not_several() {
        let mut recs = std::vec![record(1, 3, 1, 0, 0), record(2, 3, 1, 0, 0)];
        assert!(!from_several_cpus(recs.iter().map(|r| r.cpu)));
        recs.push(record(3, 0, 1, 0, 0));
        assert!(from_several_cpus(recs.iter().map(|r| r.cpu)));
        assert!(!from_several_cpus(core::iter::empty()));
    }

    proptest! {
        /// Any batch: one survivor per key, in first-seen order, every
        /// packet accounted once, and every record still there.
        #[test]
        fn folding_keeps_every_packet(batch in proptest::collection::vec((0u16..40, 0u16..4, 1u32..50), 0..200)) {
            let mut recs: Vec<_> = batch.iter().map(|&(p, cpu, n)| record(p, cpu, n, 0, 0)).collect();
            let mut slots = std::vec![None; slots_for(recs.len())];
            let kept = fold_duplicates(&mut recs, &mut slots);
            let mut order: Vec<u16> = Vec::new();
            for &(p, _, _) in &batch {
                if !order.contains(&p) {
                    order.push(p);
                }
            }
            let got: Vec<(u16, u32)> = recs[..kept].iter().map(|r| (r.key.d_port, r.packets)).collect();
            let want: Vec<(u16, u32)> = order.iter().map(|&p| (p, batch.iter().filter(|b| b.0 == p).map(|b| b.2).sum())).collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(recs.len(), batch.len());
            prop_assert!(recs[kept..].iter().all(|r| order.contains(&r.key.d_port)));
        }
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! Folding the records of one flow that several CPUs metered.
//!
//! Each CPU meters into its own table, so a flow whose packets arrive on
//! several CPUs has a record on each, and when those records expire in the
//! same scan they must leave as one flow. [`fold_duplicates`] groups them by
//! key in one pass over an open-addressing table indexed by the records'
//! hash: linear time, where sorting the batch cost `n log n` comparisons.

use super::flow::{EndReason, Flow};
use core::ptr::NonNull;

/// Scratch slots [`fold_duplicates`] wants for `n` records: a power of two
/// of at least twice `n`, so that probe sequences stay short.
pub fn slots_for(n: usize) -> usize {
    n.saturating_mul(2)
        .max(2)
        .checked_next_power_of_two()
        .unwrap_or(usize::MAX)
}

/// Whether the records came from more than one CPU (only then can two of
/// them share a key).
///
/// # Safety
///
/// Every record in `recs` must be live.
pub unsafe fn from_several_cpus(recs: &[NonNull<Flow>]) -> bool {
    // SAFETY: live records, per the caller.
    let cpu = |r: &NonNull<Flow>| unsafe { r.as_ref() }.cpu;
    let first = recs.first().map(cpu);
    recs.iter().any(|r| Some(cpu(r)) != first)
}

/// Folds every group of records with one key into the group's first
/// record (which then counts all their packets and bytes, from the earliest
/// first packet to the latest last one, and leaves for the active timeout
/// if any of them did) and hands the others to `folded`, which owns them
/// from then on. The survivors move to the front of `recs` in their order;
/// returns how many there are.
///
/// `slots` is scratch space: all `None`, a power of two of at least twice
/// `recs.len()` entries ([`slots_for`]). With fewer, records that find no
/// free slot are kept unmerged; nothing is lost.
///
/// # Safety
///
/// The records in `recs` must be live, distinct, and the caller's alone.
pub unsafe fn fold_duplicates(
    recs: &mut [NonNull<Flow>],
    slots: &mut [Option<NonNull<Flow>>],
    mut folded: impl FnMut(NonNull<Flow>),
) -> usize {
    let mask = slots.len().wrapping_sub(1);
    let pow2 = slots.len().is_power_of_two();
    let mut kept = 0;
    for i in 0..recs.len() {
        let Some(&cur) = recs.get(i) else { break };
        // SAFETY: live and ours (caller); no other reference to it exists.
        let c = unsafe { cur.as_ref() };
        let mut idx = c.hash as usize & mask;
        let mut absorbed = false;
        for _ in 0..if pow2 { slots.len() } else { 0 } {
            let Some(slot) = slots.get_mut(idx) else {
                break;
            };
            match *slot {
                None => {
                    *slot = Some(cur);
                    break;
                }
                Some(head) => {
                    // SAFETY: `head` is an earlier, distinct record of ours.
                    let h = unsafe { &mut *head.as_ptr() };
                    if h.hash == c.hash && h.key == c.key {
                        h.absorb(c);
                        if c.end_reason == EndReason::Active {
                            h.end_reason = EndReason::Active;
                        }
                        absorbed = true;
                        break;
                    }
                }
            }
            idx = (idx + 1) & mask;
        }
        if absorbed {
            folded(cur);
        } else {
            if let Some(r) = recs.get_mut(kept) {
                *r = cur;
            }
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
    fn record(port: u16, cpu: u16, packets: u32, first: u64, last: u64) -> NonNull<Flow> {
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
        NonNull::from(Box::leak(Box::new(f)))
    }

    fn free(r: NonNull<Flow>) {
        // SAFETY: made by `record`, freed once.
        drop(unsafe { Box::from_raw(r.as_ptr()) });
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
        let mut gone = Vec::new();
        // SAFETY: our live records.
        let kept = unsafe { fold_duplicates(&mut recs, &mut slots, |r| gone.push(r)) };
        assert_eq!(kept, 3);
        assert_eq!(gone.len(), 1);
        // SAFETY: live records.
        let (a, b, c) = unsafe { (recs[0].as_ref(), recs[1].as_ref(), recs[2].as_ref()) };
        assert_eq!(
            (a.key.d_port, a.packets, a.bytes, a.first, a.last),
            (1, 5, 500, 5, 30)
        );
        assert_eq!((b.key.d_port, b.packets), (2, 1));
        assert_eq!((c.key.d_port, c.packets), (6, 1));
        recs[..kept]
            .iter()
            .chain(gone.iter())
            .for_each(|&r| free(r));
    }

    #[test]
    fn too_few_slots_keep_records_unmerged() {
        let mut recs = std::vec![record(1, 0, 1, 0, 0), record(1, 1, 1, 0, 0)];
        let mut slots = std::vec![None; 3]; // not a power of two
                                            // SAFETY: our live records.
        let kept = unsafe { fold_duplicates(&mut recs, &mut slots, |_| unreachable!()) };
        assert_eq!(kept, 2);
        recs.iter().for_each(|&r| free(r));
    }

    #[test]
    fn one_cpu_is_not_several() {
        let recs = std::vec![record(1, 3, 1, 0, 0), record(2, 3, 1, 0, 0)];
        // SAFETY: live records.
        assert!(!unsafe { from_several_cpus(&recs) });
        let more = std::vec![recs[0], recs[1], record(3, 0, 1, 0, 0)];
        // SAFETY: live records.
        assert!(unsafe { from_several_cpus(&more) });
        more.iter().for_each(|&r| free(r));
    }

    proptest! {
        /// Any batch: one survivor per key, in first-seen order, and every
        /// packet accounted once.
        #[test]
        fn folding_keeps_every_packet(batch in proptest::collection::vec((0u16..40, 0u16..4, 1u32..50), 0..200)) {
            let mut recs: Vec<_> = batch.iter().map(|&(p, cpu, n)| record(p, cpu, n, 0, 0)).collect();
            let mut slots = std::vec![None; slots_for(recs.len())];
            let mut gone = Vec::new();
            // SAFETY: our live records.
            let kept = unsafe { fold_duplicates(&mut recs, &mut slots, |r| gone.push(r)) };
            let mut order: Vec<u16> = Vec::new();
            for &(p, _, _) in &batch {
                if !order.contains(&p) {
                    order.push(p);
                }
            }
            // SAFETY: live records.
            let got: Vec<(u16, u32)> = recs[..kept].iter().map(|r| unsafe { (r.as_ref().key.d_port, r.as_ref().packets) }).collect();
            let want: Vec<(u16, u32)> = order.iter().map(|&p| (p, batch.iter().filter(|b| b.0 == p).map(|b| b.2).sum())).collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(kept + gone.len(), batch.len());
            recs[..kept].iter().chain(gone.iter()).for_each(|&r| free(r));
        }
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! The kernel's tick counter.

use super::bindings;

/// The current time in ticks (`jiffies`), read in place: the packet path
/// reads it for every packet, so it is a load, not a helper call.
#[inline(always)]
// `unsigned long` is u64 in 6.12's bindings and usize from 6.14 on.
#[allow(clippy::unnecessary_cast)]
pub fn jiffies() -> u64 {
    // SAFETY: `jiffies` is a kernel global that lives forever and that the
    // timer code updates atomically (one aligned word on 64-bit machines);
    // a volatile read is how C reads it too (it is declared volatile).
    (unsafe { core::ptr::read_volatile(&raw const bindings::jiffies) }) as u64
}

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

/// Ticks per second (`HZ`).
pub fn hz() -> u32 {
    // SAFETY: returns the compile-time HZ; no precondition.
    unsafe { bindings::nf_hz() }
}

/// The wall clock: seconds and nanoseconds since the Unix epoch.
pub fn real_time() -> (i64, i64) {
    let mut ts = bindings::nf_timespec::default();
    // SAFETY: fills `ts`, a plain struct on our stack, with the wall clock.
    unsafe { bindings::nf_real_time(&mut ts) };
    (ts.sec, ts.nsec)
}

/// Milliseconds since the Unix epoch, now.
pub fn epoch_ms() -> u64 {
    let (sec, nsec) = real_time();
    (sec as u64).saturating_mul(1000).saturating_add(nsec as u64 / 1_000_000)
}

/// Milliseconds since boot at tick count `j`.
pub fn uptime_ms(j: u64) -> u64 {
    // SAFETY: a pure conversion of a number.
    unsafe { bindings::nf_uptime_ms(j as core::ffi::c_ulong) }
}

/// A monotonic clock in nanoseconds, for measuring durations.
pub fn monotonic_ns() -> u64 {
    // SAFETY: reads the clock; no precondition.
    unsafe { bindings::nf_ktime_get_ns() }
}

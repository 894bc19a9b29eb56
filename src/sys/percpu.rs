// SPDX-License-Identifier: GPL-2.0-only
//! Per-CPU storage: one `T` per possible CPU, from `alloc_percpu`.

use super::bindings;
use super::sync::BhOff;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{code::ENOMEM, Result};

/// One zero-initialised `T` for every possible CPU.
///
/// `T` must be valid when all-zero and usable through shared references from
/// several CPUs at once (its fields are counters with a single writer, see
/// `meter::stats`), hence the `Sync` bound.
///
/// # Invariants
///
/// `ptr` is a live `alloc_percpu` allocation of a `T` per possible CPU,
/// valid as `T` (zeroed at allocation, which `new_zeroed`'s caller vouched
/// for), freed only by `drop`.
pub struct PerCpu<T: Sync> {
    ptr: NonNull<c_void>,
    _marker: PhantomData<T>,
}

// SAFETY: the per-CPU copies are only handed out as `&T` and `T: Sync`.
unsafe impl<T: Sync> Sync for PerCpu<T> {}
// SAFETY: the allocation is not tied to the allocating thread.
unsafe impl<T: Sync> Send for PerCpu<T> {}

impl<T: Sync> PerCpu<T> {
    /// Allocates zeroed storage on every possible CPU.
    ///
    /// # Safety
    ///
    /// An all-zero bit pattern must be a valid `T`.
    pub unsafe fn new_zeroed() -> Result<Self> {
        // SAFETY: plain allocation; alloc_percpu returns zeroed memory or NULL.
        let raw = unsafe {
            bindings::nf_alloc_percpu(core::mem::size_of::<T>(), core::mem::align_of::<T>())
        };
        let ptr = NonNull::new(raw).ok_or(ENOMEM)?;
        // INVARIANT: a zeroed per-CPU `T`, valid zeroed (caller's guarantee).
        Ok(Self { ptr, _marker: PhantomData })
    }

    /// The copy of `cpu`, which must be a possible CPU (below `nr_cpu_ids`).
    pub fn get(&self, cpu: u32) -> &T {
        // SAFETY: `ptr` is a live per-CPU allocation of `T` and `cpu` is a
        // possible CPU (callers iterate `possible_cpus`/`present_cpus`).
        unsafe { &*bindings::nf_per_cpu_ptr(self.ptr.as_ptr(), cpu as i32).cast::<T>() }
    }

    /// Runs `f` on this CPU's copy with bottom halves disabled, so that nothing
    /// else on this CPU touches the copy meanwhile.
    #[inline(always)]
    pub fn with_local<R>(&self, f: impl FnOnce(&T, &BhOff) -> R) -> R {
        // SAFETY: `ptr` is a live per-CPU allocation.
        let entry = unsafe { bindings::nf_meter_enter(self.ptr.as_ptr()) };
        // SAFETY: the pointer returned is this CPU's copy of a `T`, valid
        // until we re-enable bottom halves.
        let local = unsafe { &*entry.local.cast::<T>() };
        // SAFETY: bottom halves stay disabled until after `f` returns.
        let bh = unsafe { BhOff::new() };
        let r = f(local, &bh);
        if entry.bh_disabled {
            // SAFETY: undoes the local_bh_disable() of nf_meter_enter.
            unsafe { bindings::nf_meter_exit() };
        }
        r
    }
}

impl<T: Sync> Drop for PerCpu<T> {
    fn drop(&mut self) {
        // SAFETY: allocated by __alloc_percpu in `new_zeroed`, freed once.
        unsafe { bindings::free_percpu(self.ptr.as_ptr()) };
    }
}

/// The CPUs that are present now, in order.
pub fn present_cpus() -> impl ExactSizeIterator<Item = u32> {
    // SAFETY: reads of cpumask state; no preconditions.
    let ids = unsafe { bindings::nf_nr_cpu_ids() };
    // SAFETY: reads the present-CPU count; no preconditions.
    let count = unsafe { bindings::nf_num_present_cpus() } as usize;
    // SAFETY: `cpu` is below nr_cpu_ids.
    let cpus = (0..ids).filter(|&cpu| unsafe { bindings::nf_cpu_present(cpu) });
    Counted { inner: cpus, left: count }
}

/// An iterator that knows its length up front (the present-CPU count).
struct Counted<I> {
    inner: I,
    left: usize,
}

impl<I: Iterator<Item = u32>> Iterator for Counted<I> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        // CPU hotplug may change the mask while we iterate; never yield more
        // items than announced.
        if self.left == 0 {
            return None;
        }
        let cpu = self.inner.next()?;
        self.left -= 1;
        Some(cpu)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<I: Iterator<Item = u32>> ExactSizeIterator for Counted<I> {}

/// The CPUs that may ever exist, in order.
pub fn possible_cpus() -> impl Iterator<Item = u32> {
    // SAFETY: reads of cpumask state; no preconditions.
    let ids = unsafe { bindings::nf_nr_cpu_ids() };
    // SAFETY: `cpu` is below nr_cpu_ids.
    (0..ids).filter(|&cpu| unsafe { bindings::nf_cpu_possible(cpu) })
}

/// The first possible CPU numbered `from` or above, if any.
pub fn next_possible_cpu(from: u32) -> Option<u32> {
    possible_cpus().find(|&cpu| cpu >= from)
}

/// One more than the highest possible CPU number (`nr_cpu_ids`).
pub fn nr_cpu_ids() -> u32 {
    // SAFETY: reads cpumask state; no preconditions.
    unsafe { bindings::nf_nr_cpu_ids() }
}

/// How many CPUs may ever exist.
pub fn nr_possible_cpus() -> u32 {
    possible_cpus().count() as u32
}

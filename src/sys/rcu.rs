// SPDX-License-Identifier: GPL-2.0-only
//! Configuration published to the packet path under RCU: readers on any
//! CPU follow one pointer, with no lock and no atomic read-modify-write;
//! an update publishes a new copy and frees the old one after a grace
//! period, once no reader can still see it.
//!
//! The kernel's RCU flavours are one since 5.0, so a region with bottom
//! halves disabled (the packet path, proven by a [`BhOff`]) is a read-side
//! critical section just as one between `rcu_read_lock` and
//! `rcu_read_unlock` ([`RcuReadGuard`]) is.

use super::bindings;
use super::sync::BhOff;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::Result;
use kernel::prelude::*;

/// An RCU read-side critical section, left when the guard drops.
///
/// Not `Send`: it must be dropped on the CPU (task) that took it.
pub struct RcuReadGuard {
    _not_send: PhantomData<*mut ()>,
}

impl RcuReadGuard {
    /// Enters a read-side critical section (no sleeping until the drop).
    #[inline]
    pub fn new() -> Self {
        // SAFETY: no precondition; the drop below leaves the section.
        unsafe { bindings::nf_rcu_read_lock() };
        RcuReadGuard { _not_send: PhantomData }
    }
}

impl Default for RcuReadGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for RcuReadGuard {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: entered in `new` on this task; guards are not `Send`.
        unsafe { bindings::nf_rcu_read_unlock() };
    }
}

/// A `T` that readers see through RCU and updaters replace as a whole.
///
/// # Invariants
///
/// `ptr` always points to a live `T` from [`KBox::into_raw`], owned by the
/// cell. A pointer taken out by [`RcuBox::replace`] is freed only after a
/// grace period, so a reader in a read-side critical section that loaded
/// it keeps a valid `T` until the section ends.
pub struct RcuBox<T> {
    ptr: AtomicPtr<T>,
    _owns: PhantomData<KBox<T>>,
}

// SAFETY: the cell owns a `T` (sent along with it) and hands out `&T` to
// readers on any CPU, hence both bounds.
unsafe impl<T: Send + Sync> Send for RcuBox<T> {}
// SAFETY: readers get `&T` from any CPU (`T: Sync`); `replace` moves a new
// `T` in from the updater's CPU and drops the old one there (`T: Send`).
unsafe impl<T: Send + Sync> Sync for RcuBox<T> {}

impl<T: Send + Sync> RcuBox<T> {
    /// Publishes `value` as the first version (may sleep).
    pub fn new(value: T) -> Result<Self> {
        let ptr = KBox::into_raw(KBox::new(value, GFP_KERNEL)?);
        // INVARIANT: a live `T` from `KBox::into_raw`, owned by the cell.
        Ok(RcuBox { ptr: AtomicPtr::new(ptr), _owns: PhantomData })
    }

    /// The version in force, for as long as bottom halves stay disabled:
    /// one load on the packet path.
    #[inline(always)]
    pub fn read<'a>(&'a self, _bh: &'a BhOff) -> &'a T {
        // SAFETY: the pointer is live (type invariants), and the reference
        // cannot outlive the BH-disabled region `_bh` proves, a read-side
        // critical section that `replace` waits for before freeing it. The
        // acquire load orders the reads of `T` after its publication (a
        // plain load on x86).
        unsafe { &*self.ptr.load(Ordering::Acquire) }
    }

    /// The version in force, inside an explicit read-side section.
    #[inline]
    pub fn read_locked<'a>(&'a self, _guard: &'a RcuReadGuard) -> &'a T {
        // SAFETY: as in `read`, the section being the guard's.
        unsafe { &*self.ptr.load(Ordering::Acquire) }
    }

    /// Publishes `value` and frees the version it replaces once every
    /// reader that could see it is gone (sleeps for a grace period:
    /// process context only). Concurrent updates are safe; the last to
    /// publish wins, so updaters that compute the value from shared state
    /// serialise among themselves.
    pub fn replace(&self, value: T) -> Result {
        let new = KBox::into_raw(KBox::new(value, GFP_KERNEL)?);
        // INVARIANT: the cell now owns `new`; `old` is ours to free after a
        // grace period.
        let old = self.ptr.swap(new, Ordering::AcqRel);
        // SAFETY: process context (this function's documented contract, and
        // the allocation above may sleep anyway); waits until every
        // read-side critical section that began before the swap has ended.
        unsafe { bindings::synchronize_rcu() };
        // SAFETY: `old` came from `KBox::into_raw` (type invariants) and no
        // reader can reach it any more after the grace period.
        drop(unsafe { KBox::from_raw(old) });
        Ok(())
    }
}

impl<T> Drop for RcuBox<T> {
    fn drop(&mut self) {
        // SAFETY: the cell owns the pointer (type invariants) and, being
        // dropped, has no reader left: every `&T` it handed out borrowed it.
        drop(unsafe { KBox::from_raw(self.ptr.load(Ordering::Relaxed)) });
    }
}

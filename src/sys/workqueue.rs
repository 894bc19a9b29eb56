// SPDX-License-Identifier: GPL-2.0-only
//! Delayed work on the system workqueue, run by a typed owner: the C
//! callback turns the `work_struct` pointer back into the owner and calls
//! its [`WorkItem::run`].

use super::bindings;
use core::cell::UnsafeCell;
use core::ffi::c_ulong;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::error::{to_result, Result};

/// What a delayed work item does when it runs (process context, may sleep).
pub trait WorkItem {
    /// One run.
    fn run(&self);
}

/// An owner whose first field is its [`DelayedWork`].
///
/// # Safety
///
/// The implementer must be `#[repr(C)]` with a `DelayedWork<Self>` as its
/// first field, and `delayed_work` must return that field: the callback
/// finds the owner at the address of the work item.
pub unsafe trait HasDelayedWork: WorkItem + Sized {
    /// The owner's work item.
    fn delayed_work(&self) -> &DelayedWork<Self>;
}

/// A kernel `delayed_work` that runs `T::run` on the system workqueue.
/// Dropping it cancels a queued run and waits for one in progress, so the
/// owner outlives every run.
///
/// # Invariants
///
/// Once `initialised` is set (by [`DelayedWork::init`]), `work` is an
/// initialised delayed work item at a fixed address, first in an owner `T`,
/// whose function is `run_work::<T>`.
#[repr(C)]
pub struct DelayedWork<T> {
    work: UnsafeCell<bindings::delayed_work>,
    initialised: AtomicBool,
    _owner: PhantomData<fn(&T)>,
}

// SAFETY: the workqueue synchronises queueing, cancelling and running the
// item from any CPU; the Rust side only passes its address.
unsafe impl<T> Send for DelayedWork<T> {}
// SAFETY: as for `Send`; every method takes `&self` and goes through the
// workqueue API.
unsafe impl<T> Sync for DelayedWork<T> {}

impl<T> Default for DelayedWork<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> DelayedWork<T> {
    /// A work item still to be initialised in place with
    /// [`DelayedWork::init`].
    pub fn new() -> Self {
        DelayedWork {
            work: UnsafeCell::new(bindings::delayed_work::default()),
            initialised: AtomicBool::new(false),
            _owner: PhantomData,
        }
    }

    /// Takes the item off the queue and waits for a run in progress (one
    /// that queues itself again included).
    pub fn cancel_sync(&self) {
        if self.initialised.load(Ordering::Acquire) {
            // SAFETY: an initialised item (type invariants).
            unsafe { bindings::cancel_delayed_work_sync(self.work.get()) };
        }
    }
}

impl<T: HasDelayedWork> DelayedWork<T> {
    /// Initialises the item in place.
    ///
    /// # Safety
    ///
    /// Once, on the first field of an owner `T` that will not move until
    /// it is dropped.
    pub unsafe fn init(&self) {
        // SAFETY: a stable item that nobody uses yet (caller's guarantee).
        unsafe { bindings::nf_init_delayed_work(self.work.get(), Some(run_work::<T>)) };
        // INVARIANT: initialised, first in a pinned `T`, running `run_work`.
        self.initialised.store(true, Ordering::Release);
    }

    /// Queues a run in `delay` ticks on any CPU (nothing before `init`).
    pub fn schedule(&self, delay: c_ulong) {
        if self.initialised.load(Ordering::Acquire) {
            // SAFETY: an initialised item whose owner outlives the run (the
            // item cancels it when dropped, before the owner's other fields).
            unsafe { bindings::nf_schedule_delayed_work(self.work.get(), delay) };
        }
    }

    /// Queues a run in `delay` ticks on `cpu`; an error when that CPU is
    /// not online.
    pub fn schedule_on(&self, cpu: i32, delay: c_ulong) -> Result {
        if !self.initialised.load(Ordering::Acquire) {
            return Ok(());
        }
        // SAFETY: an initialised item whose owner outlives the run, as in
        // `schedule`; the helper checks that `cpu` is online.
        to_result(unsafe { bindings::nf_schedule_delayed_work_on(cpu, self.work.get(), delay) })
    }
}

impl<T> Drop for DelayedWork<T> {
    fn drop(&mut self) {
        self.cancel_sync();
    }
}

/// The C callback of a `DelayedWork<T>`.
///
/// # Safety
///
/// Called by the workqueue with the `work_struct` of an initialised
/// `DelayedWork<T>`.
unsafe extern "C" fn run_work<T: HasDelayedWork>(work: *mut bindings::work_struct) {
    // SAFETY: the work_struct is the first field of the delayed_work, which
    // is the first field of the repr(C) DelayedWork, itself the first field
    // of the repr(C) owner (HasDelayedWork's contract); the owner is alive,
    // as dropping the item cancels the run first (type invariants).
    let owner = unsafe { &*work.cast::<T>() };
    owner.run();
}

// SPDX-License-Identifier: GPL-2.0-only
//! Kernel locks around Rust data: a spinlock for per-CPU flow tables and a
//! mutex for the scanner's state.

use super::bindings;
use core::cell::UnsafeCell;

/// Proof that bottom halves are disabled on this CPU, handed out by the
/// per-CPU storage to the closure that runs on the local copy.
pub struct BhOff {
    _private: (),
}

impl BhOff {
    /// # Safety
    ///
    /// Bottom halves must be disabled for as long as the token lives.
    pub(super) unsafe fn new() -> Self {
        BhOff { _private: () }
    }
}

/// A `spinlock_t` guarding a `T`.
pub struct SpinLocked<T> {
    lock: UnsafeCell<bindings::spinlock_t>,
    data: UnsafeCell<T>,
}

// SAFETY: the data is only reached with the lock held.
unsafe impl<T: Send> Sync for SpinLocked<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for SpinLocked<T> {}

impl<T> SpinLocked<T> {
    /// Initialises the lock in place.
    ///
    /// # Safety
    ///
    /// Must be called once, before any other method, on a value that will not
    /// move afterwards (lockdep and the lock itself record its address).
    pub unsafe fn init(&self) {
        // SAFETY: per the contract, a stable, not yet used lock.
        unsafe { bindings::nf_spin_lock_init(self.lock.get()) };
    }

    /// Runs `f` under the lock from a context that already has bottom halves
    /// disabled (the packet path).
    #[inline]
    pub fn lock_bh_off<R>(&self, _bh: &BhOff, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: the lock was initialised (`init` contract); while it is
        // held nobody else reaches the data.
        unsafe {
            bindings::nf_spin_lock(self.lock.get());
            let r = f(&mut *self.data.get());
            bindings::nf_spin_unlock(self.lock.get());
            r
        }
    }

    /// Runs `f` under the lock from process context, with bottom halves
    /// disabled meanwhile so the packet path on this CPU cannot deadlock on it.
    pub fn lock_bh<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: as in `lock_bh_off`.
        unsafe {
            bindings::nf_spin_lock_bh(self.lock.get());
            let r = f(&mut *self.data.get());
            bindings::nf_spin_unlock_bh(self.lock.get());
            r
        }
    }

    /// The data, without locking.
    ///
    /// # Safety
    ///
    /// Nobody else may use the value meanwhile (set-up and tear-down only).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get_unlocked(&self) -> &mut T {
        // SAFETY: exclusive per the contract.
        unsafe { &mut *self.data.get() }
    }
}

/// A kernel `struct mutex` guarding a `T`.
pub struct KMutex<T> {
    raw: UnsafeCell<bindings::mutex>,
    data: UnsafeCell<T>,
}

// SAFETY: the data is only reached with the mutex held.
unsafe impl<T: Send> Sync for KMutex<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for KMutex<T> {}

impl<T> KMutex<T> {
    /// A mutex still to be initialised with [`KMutex::init`].
    pub fn new(data: T) -> Self {
        KMutex { raw: UnsafeCell::new(bindings::mutex::default()), data: UnsafeCell::new(data) }
    }

    /// Initialises the mutex in place.
    ///
    /// # Safety
    ///
    /// As for [`SpinLocked::init`].
    pub unsafe fn init(&self) {
        // SAFETY: per the contract.
        unsafe { bindings::nf_mutex_init(self.raw.get()) };
    }

    /// Runs `f` with the mutex held (may sleep).
    pub fn lock<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: initialised per `init`'s contract; exclusive while held.
        unsafe {
            bindings::nf_mutex_lock(self.raw.get());
            let r = f(&mut *self.data.get());
            bindings::nf_mutex_unlock(self.raw.get());
            r
        }
    }
}

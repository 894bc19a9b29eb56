// SPDX-License-Identifier: GPL-2.0-only
//! Kernel locks around Rust data: a spinlock for per-CPU flow tables and a
//! mutex for the scanner's state. Each hands out a guard that gives access
//! to the data and unlocks when it drops.

use super::bindings;
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

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
///
/// # Invariants
///
/// Once [`SpinLocked::init`] ran, `lock` is an initialised spinlock at a
/// fixed address, and `data` is reached only by the holder of a guard
/// (which holds the lock) or through [`SpinLocked::get_unlocked`].
pub struct SpinLocked<T> {
    lock: UnsafeCell<bindings::spinlock_t>,
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached by one lock holder at a time (type
// invariants), which may be on any CPU, hence `T: Send`.
unsafe impl<T: Send> Sync for SpinLocked<T> {}
// SAFETY: moving the lock moves the `T` with it.
unsafe impl<T: Send> Send for SpinLocked<T> {}

impl<T> SpinLocked<T> {
    /// Initialises the lock in place.
    ///
    /// # Safety
    ///
    /// Must be called once, before any other method, on a value that will not
    /// move afterwards (lockdep and the lock itself record its address).
    pub unsafe fn init(&self) {
        // SAFETY: a stable lock that nobody uses yet (caller's guarantee).
        unsafe { bindings::nf_spin_lock_init(self.lock.get()) };
    }

    /// Takes the lock from a context that already has bottom halves
    /// disabled (the packet path): a plain `spin_lock`.
    #[inline(always)]
    pub fn lock_bh_off<'a>(&'a self, _bh: &'a BhOff) -> SpinGuard<'a, T> {
        // SAFETY: an initialised lock (type invariants, `init` contract);
        // bottom halves are off on this CPU (`_bh`), so the packet path
        // cannot interrupt the holder and spin on it.
        unsafe { bindings::nf_spin_lock(self.lock.get()) };
        // INVARIANT: the guard holds the lock until it drops.
        SpinGuard { lock: self, _not_send: PhantomData }
    }

    /// Takes the lock from process context, disabling bottom halves until
    /// the guard drops so the packet path on this CPU cannot deadlock on it.
    #[inline]
    pub fn lock_bh(&self) -> SpinBhGuard<'_, T> {
        // SAFETY: an initialised lock (type invariants, `init` contract).
        unsafe { bindings::nf_spin_lock_bh(self.lock.get()) };
        // INVARIANT: the guard holds the lock until it drops.
        SpinBhGuard { lock: self, _not_send: PhantomData }
    }

    /// Takes the lock from process context like [`SpinLocked::lock_bh`] if
    /// nobody holds it, without waiting: `None` when it is busy.
    #[inline]
    pub fn try_lock_bh(&self) -> Option<SpinBhGuard<'_, T>> {
        // SAFETY: an initialised lock (type invariants, `init` contract).
        // On success the lock is held with bottom halves off, exactly what
        // `lock_bh` leaves; on failure neither (spin_trylock_bh re-enables
        // them itself).
        if unsafe { bindings::nf_spin_trylock_bh(self.lock.get()) } {
            // INVARIANT: the guard holds the lock until it drops.
            Some(SpinBhGuard { lock: self, _not_send: PhantomData })
        } else {
            None
        }
    }

    /// The data, without locking.
    ///
    /// # Safety
    ///
    /// Nobody else may use the value meanwhile (set-up and tear-down only).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get_unlocked(&self) -> &mut T {
        // SAFETY: exclusive access (caller's guarantee).
        unsafe { &mut *self.data.get() }
    }
}

/// Access to the data of a [`SpinLocked`] taken with bottom halves off.
///
/// # Invariants
///
/// The guard holds `lock` (a plain `spin_lock`) until it drops, on the CPU
/// that took it (it is not `Send`).
pub struct SpinGuard<'a, T> {
    lock: &'a SpinLocked<T>,
    _not_send: PhantomData<*mut ()>,
}

/// Access to the data of a [`SpinLocked`] taken with `spin_lock_bh`.
///
/// # Invariants
///
/// As for [`SpinGuard`], the lock taken with `spin_lock_bh`.
pub struct SpinBhGuard<'a, T> {
    lock: &'a SpinLocked<T>,
    _not_send: PhantomData<*mut ()>,
}

macro_rules! guard_access {
    ($guard:ident, $unlock:ident) => {
        impl<T> Deref for $guard<'_, T> {
            type Target = T;

            #[inline(always)]
            fn deref(&self) -> &T {
                // SAFETY: the guard holds the lock (type invariants), so no
                // one else reaches the data while the borrow lives.
                unsafe { &*self.lock.data.get() }
            }
        }

        impl<T> DerefMut for $guard<'_, T> {
            #[inline(always)]
            fn deref_mut(&mut self) -> &mut T {
                // SAFETY: as in `deref`; `&mut self` makes this borrow the
                // only one through the guard.
                unsafe { &mut *self.lock.data.get() }
            }
        }

        impl<T> Drop for $guard<'_, T> {
            #[inline(always)]
            fn drop(&mut self) {
                // SAFETY: the guard holds the lock, taken the matching way
                // on this CPU (type invariants); no borrow of the data
                // outlives the guard.
                unsafe { bindings::$unlock(self.lock.lock.get()) };
            }
        }
    };
}

guard_access!(SpinGuard, nf_spin_unlock);
guard_access!(SpinBhGuard, nf_spin_unlock_bh);

/// A kernel `struct mutex` guarding a `T`.
///
/// # Invariants
///
/// Once [`KMutex::init`] ran, `raw` is an initialised mutex at a fixed
/// address, and `data` is reached only by the holder of a [`MutexGuard`].
pub struct KMutex<T> {
    raw: UnsafeCell<bindings::mutex>,
    data: UnsafeCell<T>,
}

// SAFETY: the data is reached by one holder at a time (type invariants),
// from any task, hence `T: Send`.
unsafe impl<T: Send> Sync for KMutex<T> {}
// SAFETY: moving the mutex moves the `T` with it.
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
        // SAFETY: a stable mutex that nobody uses yet (caller's guarantee).
        unsafe { bindings::nf_mutex_init(self.raw.get()) };
    }

    /// Initialises the mutex in place, in lockdep class `class`: a mutex
    /// taken while another of ours is held needs a class of its own, or
    /// lockdep reports the nesting as recursive locking.
    ///
    /// # Safety
    ///
    /// As for [`SpinLocked::init`].
    pub unsafe fn init_class(&self, class: MutexClass) {
        // SAFETY: a stable mutex that nobody uses yet (caller's guarantee);
        // the class is below NF_MUTEX_CLASSES.
        unsafe { bindings::nf_mutex_init_class(self.raw.get(), class as u32) };
    }

    /// Takes the mutex (may sleep); it is released when the guard drops.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        // SAFETY: an initialised mutex (type invariants, `init` contract);
        // process context, as this function's documented contract says.
        unsafe { bindings::nf_mutex_lock(self.raw.get()) };
        // INVARIANT: the guard holds the mutex until it drops.
        MutexGuard { mutex: self, _not_send: PhantomData }
    }
}

/// The lockdep classes of mutexes initialised with [`KMutex::init_class`]
/// (fewer than the C side's `NF_MUTEX_CLASSES`).
#[derive(Clone, Copy)]
#[repr(u32)]
pub enum MutexClass {
    /// Switching NAT event capture on and off.
    NatSwitch = 1,
    /// The NAT event sockets (taken inside the scanner's mutex).
    NatSockets = 2,
    /// Switching promisc mode on and off (taken inside the kernel's
    /// sysctl and pernet locks).
    PromiscSwitch = 3,
}

/// Access to the data of a [`KMutex`].
///
/// # Invariants
///
/// The guard holds `mutex` until it drops, in the task that took it (it is
/// not `Send`).
pub struct MutexGuard<'a, T> {
    mutex: &'a KMutex<T>,
    _not_send: PhantomData<*mut ()>,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex (type invariants).
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the mutex (type invariants); `&mut self`
        // makes this borrow the only one through the guard.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the guard holds the mutex, taken by this task (type
        // invariants).
        unsafe { bindings::nf_mutex_unlock(self.mutex.raw.get()) };
    }
}

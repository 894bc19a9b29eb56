// SPDX-License-Identifier: GPL-2.0-only
//! Memory for objects of one type: a named slab cache, and kvmalloc'ed
//! arrays of null pointers (hash-table bucket heads).

use super::bindings;
use core::ffi::CStr;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::error::{code::ENOMEM, Result};

/// A slab cache of `T`-sized, `T`-aligned objects, under a name operators
/// see in /proc/slabinfo.
///
/// # Invariants
///
/// `cache` is a cache created by `kmem_cache_create` for objects of `T`'s
/// size and alignment, alive until `drop` destroys it.
pub struct SlabCache<T> {
    cache: NonNull<bindings::kmem_cache>,
    _type: PhantomData<T>,
}

// SAFETY: the cache holds no `T`, only the kernel's cache object, whose
// allocations and frees the slab allocator synchronises from any CPU and
// context; where the objects go is up to the raw pointers' owners.
unsafe impl<T> Send for SlabCache<T> {}
// SAFETY: every method takes `&self` and calls only into the (internally
// synchronised) allocator.
unsafe impl<T> Sync for SlabCache<T> {}

impl<T> SlabCache<T> {
    /// Creates the cache (may sleep).
    pub fn new(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated and static, as the cache keeps the
        // pointer for its lifetime; size and alignment are `T`'s.
        let c = unsafe {
            bindings::nf_cache_create(
                super::cstr::as_c_ptr(name),
                core::mem::size_of::<T>() as u32,
                core::mem::align_of::<T>() as u32,
            )
        };
        // INVARIANT: a cache of `T`'s size and alignment, or an error.
        NonNull::new(c).map(|cache| SlabCache { cache, _type: PhantomData }).ok_or(ENOMEM)
    }

    /// Moves `value` into a new object (atomic allocation: fine in any
    /// context, the packet path included).
    #[inline]
    pub fn alloc(&self, value: T) -> Option<NonNull<T>> {
        // SAFETY: `cache` is alive (type invariant); GFP_ATOMIC may be used
        // in any context.
        let p = NonNull::new(unsafe { bindings::nf_cache_alloc_atomic(self.cache.as_ptr()) }.cast::<T>())?;
        // SAFETY: a fresh object of `T`'s size and alignment (type
        // invariant), owned by nobody else yet.
        unsafe { p.as_ptr().write(value) };
        Some(p)
    }

    /// Returns an object to the cache without running its destructor.
    ///
    /// # Safety
    ///
    /// `obj` came from [`SlabCache::alloc`] on this cache, and nothing
    /// refers to it any more (it is in no table or list).
    #[inline]
    pub unsafe fn free(&self, obj: NonNull<T>) {
        // SAFETY: an object of this live cache (type invariant) that the
        // caller gives up.
        unsafe { bindings::kmem_cache_free(self.cache.as_ptr(), obj.as_ptr().cast()) };
    }

    /// Bytes of one object.
    pub const fn object_size() -> usize {
        core::mem::size_of::<T>()
    }
}

impl<T> Drop for SlabCache<T> {
    fn drop(&mut self) {
        // SAFETY: the cache is alive (type invariant) and, since this value
        // owns it, every object was freed before it goes (the owner's duty:
        // the meter frees every flow before it drops its cache).
        unsafe { bindings::kmem_cache_destroy(self.cache.as_ptr()) };
    }
}

/// A kvmalloc'ed array of pointers to `T`, all null at first.
///
/// # Invariants
///
/// `ptr` points to `len` writable, pointer-aligned `*mut T` slots from
/// `kvcalloc`, owned by this value until `drop` frees them.
pub struct PtrArray<T> {
    ptr: NonNull<*mut T>,
    len: u32,
}

// SAFETY: plain memory owned by this value; the pointers in it are only
// reached through `as_ptr` by the owner.
unsafe impl<T> Send for PtrArray<T> {}

impl<T> PtrArray<T> {
    /// Allocates `len` null pointers (may sleep).
    pub fn new(len: u32) -> Result<Self> {
        // SAFETY: a plain allocation of `len` zeroed pointers.
        let p = unsafe { bindings::nf_kvcalloc_ptrs(len) };
        // INVARIANT: `len` zeroed (null) pointer slots, or an error.
        let ptr = NonNull::new(p.cast::<*mut T>()).ok_or(ENOMEM)?;
        Ok(PtrArray { ptr, len })
    }

    /// The first slot; `len` slots follow, valid while `self` lives.
    pub fn as_ptr(&self) -> *mut *mut T {
        self.ptr.as_ptr()
    }

    /// Number of slots.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether there are no slots.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T> Drop for PtrArray<T> {
    fn drop(&mut self) {
        // SAFETY: allocated by kvcalloc in `new` and owned (type invariant).
        unsafe { bindings::kvfree(self.ptr.as_ptr().cast()) };
    }
}

//! Memory for flows: the `ipt_netflow` slab cache for records and
//! kvmalloc'ed bucket arrays.

use super::bindings;
use crate::meter::flow::Flow;
use core::ptr::NonNull;
use kernel::error::{code::ENOMEM, Result};

/// The `ipt_netflow` slab cache of flow records (the name operators grep for
/// in /proc/slabinfo).
pub struct FlowCache(NonNull<bindings::kmem_cache>);

// SAFETY: kmem_cache is internally synchronised.
unsafe impl Send for FlowCache {}
// SAFETY: as above.
unsafe impl Sync for FlowCache {}

impl FlowCache {
    /// Creates the cache.
    pub fn new() -> Result<Self> {
        // SAFETY: creates a cache of Flow-sized, Flow-aligned objects.
        let c = unsafe {
            bindings::nf_flow_cache_create(
                core::mem::size_of::<Flow>() as u32,
                core::mem::align_of::<Flow>() as u32,
            )
        };
        NonNull::new(c).map(FlowCache).ok_or(ENOMEM)
    }

    /// Stores `flow` in a new record (atomic allocation: packet path).
    #[inline]
    pub fn alloc(&self, flow: Flow) -> Option<NonNull<Flow>> {
        // SAFETY: allocation from our cache; GFP_ATOMIC is fine in any context.
        let p = NonNull::new(unsafe { bindings::nf_flow_alloc(self.0.as_ptr()) }.cast::<Flow>())?;
        // SAFETY: a fresh object of the cache's size and alignment.
        unsafe { p.as_ptr().write(flow) };
        Some(p)
    }

    /// Frees a record.
    ///
    /// # Safety
    ///
    /// `flow` came from [`FlowCache::alloc`] and is in no table or list.
    pub unsafe fn free(&self, flow: NonNull<Flow>) {
        // SAFETY: per the contract. Flow has no destructor to run.
        unsafe { bindings::kmem_cache_free(self.0.as_ptr(), flow.as_ptr().cast()) };
    }

    /// Bytes of one record.
    pub fn object_size() -> usize {
        core::mem::size_of::<Flow>()
    }
}

impl Drop for FlowCache {
    fn drop(&mut self) {
        // SAFETY: every record was freed before the cache goes (the meter
        // flushes all flows first).
        unsafe { bindings::kmem_cache_destroy(self.0.as_ptr()) };
    }
}

/// A zeroed array of bucket heads.
pub struct Buckets {
    ptr: NonNull<*mut Flow>,
    len: u32,
}

// SAFETY: plain memory, owned.
unsafe impl Send for Buckets {}

impl Buckets {
    /// Allocates `len` empty buckets (may sleep).
    pub fn new(len: u32) -> Result<Self> {
        // SAFETY: kvcalloc of len pointers.
        let p = unsafe { bindings::nf_buckets_alloc(len) };
        let ptr = NonNull::new(p.cast::<*mut Flow>()).ok_or(ENOMEM)?;
        Ok(Buckets { ptr, len })
    }

    /// The array, for a [`crate::meter::flow_table::FlowTable`].
    pub fn as_ptr(&self) -> *mut *mut Flow {
        self.ptr.as_ptr()
    }

    /// Number of buckets.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Always false: an array has at least one bucket.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Buckets {
    fn drop(&mut self) {
        // SAFETY: allocated by kvcalloc in `new`.
        unsafe { bindings::kvfree(self.ptr.as_ptr().cast()) };
    }
}

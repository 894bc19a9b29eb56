// SPDX-License-Identifier: GPL-2.0-only
//! Heap values built in place.
//!
//! `KBox::new(make(), flags)` builds the value on the stack, calls the
//! allocator (so the value must survive that call there) and copies it
//! over. Kernel stacks are 16 KiB, and the module's values of kilobytes
//! (export buffers, template caches, the scanner) are made on paths that
//! nest: module init makes the scanner, which makes the exporter, which
//! makes its buffers; built by value, each frame would hold its own copy.

use kernel::alloc::{flags::GFP_KERNEL, KBox};
use kernel::error::Result;

/// Allocates room for a `T` (may sleep), then writes `make()` into it.
///
/// Nothing stands between building the value and storing it, so the
/// compiler mostly stores it into the allocation directly (a constructor
/// that fills a byte array becomes a `memset` of the heap memory). Where it
/// does not (an array of `Option`s is built on the stack and copied), the
/// copy is in this function's own frame, live only while it runs: never
/// inlined, so that the caller's frame, live during its deeper calls,
/// stays small.
#[inline(never)]
pub fn boxed<T>(make: impl FnOnce() -> T) -> Result<KBox<T>> {
    let slot = KBox::<T>::new_uninit(GFP_KERNEL)?;
    Ok(KBox::write(slot, make()))
}

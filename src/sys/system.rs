// SPDX-License-Identifier: GPL-2.0-only
//! Facts about the machine and the module, and the kernel's randomness.

use super::bindings;
use super::cstr::from_c_ptr;
use core::ffi::c_char;

/// Bytes of RAM.
pub fn totalram_bytes() -> u64 {
    // SAFETY: reads a counter; no precondition.
    unsafe { bindings::nf_totalram_bytes() }
}

/// A random number.
pub fn random_u64() -> u64 {
    let mut n = 0u64;
    // SAFETY: fills the 8 bytes of `n`, any bit pattern of which is valid.
    unsafe { bindings::get_random_bytes(core::ptr::from_mut(&mut n).cast(), core::mem::size_of::<u64>()) };
    n
}

/// The CPU this runs on now: a hint, the task may move right after.
pub fn current_cpu_hint() -> u32 {
    // SAFETY: reads the CPU number; the helper reads it without the
    // preemption check, as a hint may.
    unsafe { bindings::nf_smp_processor_id() }
}

fn static_text(p: *const c_char) -> Option<&'static str> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the helpers return NULL or a NUL-terminated string of the
    // module, which lives as long as the module.
    unsafe { from_c_ptr(p) }.to_str().ok()
}

/// The module's version (from the VERSION file) and its srcversion.
pub fn module_version() -> (Option<&'static str>, Option<&'static str>) {
    // SAFETY: both helpers only return the address of a static string.
    let (v, s) = unsafe { (bindings::nf_version(), bindings::nf_srcversion()) };
    (static_text(v), static_text(s))
}

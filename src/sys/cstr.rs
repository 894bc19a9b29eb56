// SPDX-License-Identifier: GPL-2.0-only
//! C strings across the boundary, without `CStr::as_ptr`/`from_ptr` (the
//! kernel's clippy configuration forbids them: the kernel's `char` is
//! unsigned while `core::ffi::c_char` is not on every architecture).

use core::ffi::{c_char, CStr};

/// A pointer to `s`'s bytes, NUL included, for a C `const char *`.
pub fn as_c_ptr(s: &CStr) -> *const c_char {
    s.to_bytes_with_nul().as_ptr().cast()
}

/// The C string at `p`.
///
/// # Safety
///
/// `p` must point to a NUL-terminated string that outlives `'a`.
pub unsafe fn from_c_ptr<'a>(p: *const c_char) -> &'a CStr {
    let mut len = 0;
    // SAFETY: the string is NUL-terminated, so every byte up to and
    // including the NUL is readable.
    while unsafe { *p.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: `len + 1` readable bytes ending in the only NUL.
    unsafe { CStr::from_bytes_with_nul_unchecked(core::slice::from_raw_parts(p.cast::<u8>(), len + 1)) }
}

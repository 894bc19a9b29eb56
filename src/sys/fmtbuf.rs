// SPDX-License-Identifier: GPL-2.0-only
//! Formatting into a small stack buffer, for kernel log messages of values
//! that implement `core::fmt::Display` (7.x's `pr_*!` macros take their own
//! `kernel::fmt::Display`, which `&str` has).

use core::fmt;

/// Up to `N` bytes of formatted text; longer text is cut.
pub struct FmtBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> FmtBuf<N> {
    /// `value` formatted.
    pub fn of(value: impl fmt::Display) -> Self {
        let mut b = FmtBuf { buf: [0; N], len: 0 };
        let _ = fmt::write(&mut b, format_args!("{value}"));
        b
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match core::str::from_utf8(&self.buf[..self.len]) {
            Ok(s) => s,
            // Cut in the middle of a character: keep the valid prefix.
            Err(e) => core::str::from_utf8(&self.buf[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

impl<const N: usize> fmt::Write for FmtBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let n = s.len().min(N - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

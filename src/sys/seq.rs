// SPDX-License-Identifier: GPL-2.0-only
//! `core::fmt::Write` into a seq_file, so /proc text is produced by the pure
//! formatters of `control::proc_text` without any intermediate buffer.

use super::bindings;
use core::fmt;

/// A seq_file being filled by a `show` callback.
///
/// # Invariants
///
/// The pointer is the seq_file of a `show` callback that is running for as
/// long as the writer lives.
pub struct SeqWriter(*mut bindings::seq_file);

impl SeqWriter {
    /// Wraps the seq_file passed to a `show` callback.
    ///
    /// # Safety
    ///
    /// `m` must be the seq_file of a running `show` callback and outlive the
    /// writer.
    pub unsafe fn new(m: *mut bindings::seq_file) -> Self {
        // INVARIANT: the caller's guarantee.
        Self(m)
    }
}

impl fmt::Write for SeqWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: `self.0` is a live seq_file per `new`'s contract; seq_write
        // copies the bytes (or marks the buffer as overflowed, in which case
        // the seq_file core retries with a bigger one).
        unsafe { bindings::seq_write(self.0, s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}

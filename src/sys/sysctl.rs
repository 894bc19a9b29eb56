// SPDX-License-Identifier: GPL-2.0-only
//! Sysctl tables: one C entry point for every handler, which turns the
//! core's raw arguments into a [`Call`] and the handler's `Result` into the
//! errno the core expects.

use super::bindings;
use super::cstr::as_c_ptr;
use core::ffi::{c_int, c_void, CStr};
use core::marker::PhantomData;
use kernel::error::{code::ENOMEM, to_result, Result};
use kernel::prelude::*;

/// An integer type that a sysctl shows and parses as a bounded number.
pub trait Number: Copy {
    /// [`Call::int`] or [`Call::uint`], whichever reads and writes `Self`.
    fn exchange(call: &mut Call<'_>, value: &mut Self) -> Result;
}

impl Number for c_int {
    fn exchange(call: &mut Call<'_>, value: &mut Self) -> Result {
        call.int(value)
    }
}

impl Number for u32 {
    fn exchange(call: &mut Call<'_>, value: &mut Self) -> Result {
        call.uint(value)
    }
}

/// The C signature of a `proc_handler`.
pub type ProcHandler = unsafe extern "C" fn(
    *const bindings::ctl_table,
    c_int,
    *mut c_void,
    *mut usize,
    *mut bindings::loff_t,
) -> c_int;

/// One read or write of a sysctl file, as the core handed it over.
///
/// # Invariants
///
/// The fields are the arguments the sysctl core passed to the handler of
/// the entry `table`, valid for the duration of that call, which the value
/// does not outlive (`'a`).
pub struct Call<'a> {
    table: *const bindings::ctl_table,
    write: bool,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
    _call: PhantomData<&'a ()>,
}

impl Call<'_> {
    /// Whether user space writes the file (else it reads it).
    pub fn is_write(&self) -> bool {
        self.write
    }

    /// The entry's `data` pointer, as the table was registered with.
    pub fn data(&self) -> *mut c_void {
        // SAFETY: `table` is the entry of this call (type invariants).
        unsafe { (*self.table).data }
    }

    /// Runs one of the core's parsers on a copy of the entry that points at
    /// `value` (with `maxlen` bytes), keeping the entry's bounds.
    ///
    /// # Safety
    ///
    /// `parser` must read and write `value` as a `T` (of `maxlen` bytes).
    unsafe fn parse_with<T: ?Sized>(&mut self, parser: ProcHandler, value: &mut T, maxlen: usize) -> Result {
        // SAFETY: `table` is a valid entry (type invariants); the copy lives
        // on this stack for the duration of the parser call.
        let mut scratch = unsafe { *self.table };
        scratch.data = core::ptr::from_mut(value).cast();
        scratch.maxlen = c_int::try_from(maxlen).unwrap_or(c_int::MAX);
        // SAFETY: the core's own arguments of this call (type invariants),
        // and an entry whose data is a `T` that the parser expects (caller's
        // guarantee).
        to_result(unsafe { parser(&scratch, c_int::from(self.write), self.buffer, self.lenp, self.ppos) })
    }

    /// Shows `value` on a read; on a write parses into it, within the
    /// entry's `int` bounds (`extra1`/`extra2`, when set).
    pub fn int(&mut self, value: &mut c_int) -> Result {
        // SAFETY: proc_dointvec_minmax reads and writes an `int`.
        unsafe { self.parse_with(bindings::proc_dointvec_minmax, value, core::mem::size_of::<c_int>()) }
    }

    /// [`Call::int`] for an `unsigned int`, with such bounds.
    pub fn uint(&mut self, value: &mut u32) -> Result {
        // SAFETY: proc_douintvec_minmax reads and writes an `unsigned int`.
        unsafe { self.parse_with(bindings::proc_douintvec_minmax, value, core::mem::size_of::<u32>()) }
    }

    /// Shows the NUL-terminated text in `buf` on a read; on a write stores
    /// the text written (truncated, NUL-terminated) into it.
    pub fn string(&mut self, buf: &mut [u8]) -> Result {
        let len = buf.len();
        // SAFETY: proc_dostring reads and writes a char buffer of `maxlen`
        // bytes, here `buf`'s length.
        unsafe { self.parse_with(bindings::proc_dostring, buf, len) }
    }
}

/// What one sysctl file does on a read or write.
pub trait Handler {
    /// Serves `call`; an error is what the read or write returns.
    fn handle(call: &mut Call<'_>) -> Result;
}

/// The C entry point of every handler `H`.
///
/// # Safety
///
/// Called by the sysctl core with the arguments of a read or write of an
/// entry registered with this handler.
unsafe extern "C" fn trampoline<H: Handler>(
    table: *const bindings::ctl_table,
    write: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> c_int {
    // INVARIANT: the core's arguments of this call; `call` dies with it.
    let mut call = Call { table, write: write != 0, buffer, lenp, ppos, _call: PhantomData };
    match H::handle(&mut call) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// The `proc_handler` of a [`Handler`].
pub const fn proc_handler<H: Handler>() -> ProcHandler {
    trampoline::<H>
}

/// One file of a table.
pub struct Entry {
    /// File name.
    pub name: &'static CStr,
    /// What the handler finds in [`Call::data`].
    pub data: *mut c_void,
    /// Bytes at `data` (or of the value the handler parses).
    pub maxlen: usize,
    /// The handler, from [`proc_handler`].
    pub handler: ProcHandler,
    /// Lower and upper bound for the core's min/max parsers, or null.
    pub min: *const c_void,
    /// See `min`.
    pub max: *const c_void,
}

/// A registered table of `N` files, all mode 0644; unregistered when
/// dropped.
///
/// # Invariants
///
/// `header` is the registration of `table`, which stays in its heap
/// allocation until `drop` unregisters it.
pub struct Table<const N: usize> {
    header: *mut bindings::ctl_table_header,
    _table: KBox<[bindings::ctl_table; N]>,
}

// SAFETY: the header is used only to unregister, from `drop`; the core
// synchronises the handlers.
unsafe impl<const N: usize> Send for Table<N> {}
// SAFETY: no method reaches the table or header through `&self`.
unsafe impl<const N: usize> Sync for Table<N> {}

impl<const N: usize> Table<N> {
    /// Registers `entries` under `path` (`net/netflow`).
    ///
    /// # Safety
    ///
    /// Each entry's `data`, `min` and `max` must be what its handler and
    /// the core's parsers expect, valid as long as the table is registered.
    pub unsafe fn register(path: &'static CStr, entries: [Entry; N]) -> Result<Self> {
        let mut table = super::boxed::boxed(|| [bindings::ctl_table::default(); N])?;
        for (t, e) in table.iter_mut().zip(entries) {
            t.procname = as_c_ptr(e.name);
            t.data = e.data;
            t.maxlen = c_int::try_from(e.maxlen).unwrap_or(c_int::MAX);
            t.mode = 0o644;
            t.proc_handler = Some(e.handler);
            t.extra1 = e.min.cast_mut();
            t.extra2 = e.max.cast_mut();
        }
        // SAFETY: a static path; the table lives in a heap allocation kept
        // until unregistration, its entries as the caller guarantees; its
        // size is passed explicitly (no sentinel entry).
        let header = unsafe { bindings::register_sysctl_sz(as_c_ptr(path), table.as_mut_ptr(), N) };
        if header.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: registered, and the table is owned next to its header.
        Ok(Table { header, _table: table })
    }
}

impl<const N: usize> Drop for Table<N> {
    fn drop(&mut self) {
        // SAFETY: registered in `register` (type invariants); this waits for
        // running handlers, after which the table may go.
        unsafe { bindings::unregister_sysctl_table(self.header) };
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! Read-only files under `/proc/net/stat` of the initial namespace: files
//! whose whole text is written at each read ([`ShowFile`]), and files read
//! as a sequence of records with per-open state ([`SeqRecords`]). One C
//! entry point per callback turns the seq_file into typed views.

use super::bindings;
use super::cstr::as_c_ptr;
use super::seq::SeqWriter;
use core::ffi::{c_int, c_void, CStr};
use core::marker::PhantomData;
use core::ptr::null_mut;
use kernel::error::{code::ENOMEM, Result};

/// Everyone may read.
const MODE: bindings::umode_t = 0o444;

/// A file whose text is written whole at each read.
pub trait ShowFile {
    /// Writes the file's text.
    fn show(w: &mut SeqWriter);
}

/// A file read as a sequence of records; each open file has its own `Self`,
/// zeroed at open.
///
/// # Safety
///
/// An all-zero bit pattern must be a valid `Self` (the core allocates and
/// zeroes the per-open state).
pub unsafe trait SeqRecords: Sized {
    /// Goes to record `pos` (0 after an open or a rewind); whether there is
    /// one.
    fn start(&mut self, pos: i64) -> bool;

    /// Goes to the next record; whether there is one.
    fn next(&mut self) -> bool;

    /// Writes the current record.
    fn show(&self, w: &mut SeqWriter);
}

/// The per-open state of a [`SeqRecords`] file.
///
/// # Safety
///
/// `m` must be a live seq_file of a file created by [`ProcEntry::seq`] for
/// `T`, and no other reference to its state may exist meanwhile (the core
/// calls one callback at a time per open file).
unsafe fn state<'a, T: SeqRecords>(m: *mut bindings::seq_file) -> &'a mut T {
    // SAFETY: proc_create_seq_private gave the open file a zeroed state of
    // `T`'s size, valid zeroed (SeqRecords' contract), reached only here.
    unsafe { &mut *bindings::nf_seq_private(m).cast::<T>() }
}

/// The record token handed back to the core: any non-null pointer means
/// "there is a record"; the record itself is in the state.
fn token<T>(state: &mut T, there: bool) -> *mut c_void {
    if there {
        core::ptr::from_mut(state).cast()
    } else {
        null_mut()
    }
}

/// # Safety
///
/// Called by the seq_file core for a file of `T`, with its position.
unsafe extern "C" fn start_fn<T: SeqRecords>(m: *mut bindings::seq_file, pos: *mut bindings::loff_t) -> *mut c_void {
    // SAFETY: a seq_file of `T`, one callback at a time (caller).
    let st = unsafe { state::<T>(m) };
    // SAFETY: the core's position, valid for the call.
    let there = st.start(unsafe { *pos });
    token(st, there)
}

/// # Safety
///
/// As for [`start_fn`].
unsafe extern "C" fn next_fn<T: SeqRecords>(
    m: *mut bindings::seq_file,
    _v: *mut c_void,
    pos: *mut bindings::loff_t,
) -> *mut c_void {
    // SAFETY: the core's position, valid for the call.
    unsafe { *pos += 1 };
    // SAFETY: a seq_file of `T`, one callback at a time (caller).
    let st = unsafe { state::<T>(m) };
    let there = st.next();
    token(st, there)
}

/// # Safety
///
/// As for [`start_fn`].
unsafe extern "C" fn stop_fn<T: SeqRecords>(_m: *mut bindings::seq_file, _v: *mut c_void) {}

/// # Safety
///
/// As for [`start_fn`].
unsafe extern "C" fn show_seq_fn<T: SeqRecords>(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: the live seq_file of this call, which the writer does not
    // outlive.
    let mut w = unsafe { SeqWriter::new(m) };
    // SAFETY: a seq_file of `T`, one callback at a time (caller).
    unsafe { state::<T>(m) }.show(&mut w);
    0
}

/// # Safety
///
/// Called by the seq_file core for a single-show file of `T`.
unsafe extern "C" fn show_fn<T: ShowFile>(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: the live seq_file of this call, which the writer does not
    // outlive.
    let mut w = unsafe { SeqWriter::new(m) };
    T::show(&mut w);
    0
}

/// The seq_file operations of `T`, a constant the compiler promotes to a
/// static.
struct Ops<T>(PhantomData<T>);

impl<T: SeqRecords> Ops<T> {
    const OPS: bindings::seq_operations = bindings::seq_operations {
        start: Some(start_fn::<T>),
        stop: Some(stop_fn::<T>),
        next: Some(next_fn::<T>),
        show: Some(show_seq_fn::<T>),
    };
}

/// A file under `/proc/net/stat`; removed when dropped.
///
/// # Invariants
///
/// The entry `name` exists under init_net's stat directory, created by this
/// value, until `drop` removes it.
pub struct ProcEntry {
    name: &'static CStr,
}

impl ProcEntry {
    /// Creates `name`, whose text `T` writes.
    pub fn single<T: ShowFile>(name: &'static CStr) -> Result<Self> {
        // SAFETY: a static name; the parent is init_net's stat directory,
        // which lives as long as the kernel; the callback stays valid until
        // `drop` removes the entry (which waits for readers).
        let pde = unsafe {
            bindings::proc_create_single_data(as_c_ptr(name), MODE, bindings::nf_proc_net_stat(), Some(show_fn::<T>), null_mut())
        };
        if pde.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: created above.
        Ok(ProcEntry { name })
    }

    /// Creates `name`, read as `T`'s records.
    pub fn seq<T: SeqRecords>(name: &'static CStr) -> Result<Self> {
        let ops: &'static bindings::seq_operations = &Ops::<T>::OPS;
        // SAFETY: as in `single`; the operations are static and each open
        // file gets a zeroed state of `T`'s size, valid by SeqRecords'
        // contract.
        let pde = unsafe {
            bindings::proc_create_seq_private(
                as_c_ptr(name),
                MODE,
                bindings::nf_proc_net_stat(),
                ops,
                core::mem::size_of::<T>() as u32,
                null_mut(),
            )
        };
        if pde.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: created above.
        Ok(ProcEntry { name })
    }
}

impl Drop for ProcEntry {
    fn drop(&mut self) {
        // SAFETY: created by this value (type invariants); removal waits for
        // open readers.
        unsafe { bindings::remove_proc_entry(as_c_ptr(self.name), bindings::nf_proc_net_stat()) };
    }
}

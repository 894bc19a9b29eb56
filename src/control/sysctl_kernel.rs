//! `net.netflow.*` sysctls (`/proc/sys/net/netflow/`).
//!
//! Every write is parsed and range-checked into a scratch value first; only
//! a valid value reaches the running configuration, so a write that does
//! not parse or is out of range fails with `-EINVAL` and changes nothing.
//! The table has no sentinel entry: the original's empty `{}` terminator is
//! what made it fail to register on 6.12 and later kernels.

use crate::export::destination::parse_each;
use crate::meter::meter_kernel::{with_meter, MIN_HASHSIZE};
use crate::sys::bindings;
use crate::sys::cstr::as_c_ptr;
use core::ffi::{c_int, c_void, CStr};
use core::ptr::{addr_of_mut, null_mut};
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::error::{code::*, Result};
use kernel::prelude::*;

type Handler = unsafe extern "C" fn(
    *const bindings::ctl_table,
    c_int,
    *mut c_void,
    *mut usize,
    *mut bindings::loff_t,
) -> c_int;

static ZERO: c_int = 0;
static ONE: c_int = 1;
static INT_MAX: c_int = c_int::MAX;
static HASH_MIN: c_int = MIN_HASHSIZE as c_int;
static UINT_MAX: u32 = u32::MAX;

/// Parses a write into `value` through a copy of `table` that points at it,
/// with the table's own bounds. On success the caller commits `value`.
///
/// # Safety
///
/// The arguments are those the sysctl core passed to a handler.
unsafe fn parse_into<T>(
    parser: Handler,
    table: *const bindings::ctl_table,
    write: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
    value: &mut T,
) -> c_int {
    // SAFETY: `table` is a valid entry; the copy lives on our stack for the
    // duration of the call and points at `value`, which is a `T` as the
    // parser expects (int or unsigned int, as the entry says).
    unsafe {
        let mut scratch = *table;
        scratch.data = core::ptr::from_mut(value).cast();
        parser(&scratch, write, buffer, lenp, ppos)
    }
}

/// Reads show the variable; writes go through a range-checked scratch copy
/// and reach the variable only when valid.
///
/// # Safety
///
/// The core's arguments for an entry whose `data` is a `T` parameter and
/// whose extra1/extra2 are `T` bounds, with `parser` the proc handler for `T`.
unsafe fn minmax_handler<T: Copy>(
    parser: Handler,
    table: *const bindings::ctl_table,
    write: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> c_int {
    // SAFETY: per the contract `data` is a live `T` parameter.
    let var = unsafe { (*table).data.cast::<T>() };
    // SAFETY: as above.
    let mut value = unsafe { core::ptr::read_volatile(var) };
    // SAFETY: forwarding the core's arguments.
    let ret = unsafe { parse_into(parser, table, write, buffer, lenp, ppos, &mut value) };
    if ret == 0 && write != 0 {
        // SAFETY: a parameter variable.
        unsafe { crate::control::params_kernel::store(var, value) };
    }
    ret
}

/// `int` entries (see [`minmax_handler`]).
///
/// # Safety
///
/// Called by the sysctl core for an `int` entry with `int` bounds.
unsafe extern "C" fn int_handler(
    table: *const bindings::ctl_table,
    write: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> c_int {
    // SAFETY: forwarding; the entry holds an int.
    unsafe { minmax_handler::<c_int>(bindings::proc_dointvec_minmax, table, write, buffer, lenp, ppos) }
}

/// `unsigned int` entries (see [`minmax_handler`]).
///
/// # Safety
///
/// Called by the sysctl core for an `unsigned int` entry with such bounds.
unsafe extern "C" fn uint_handler(
    table: *const bindings::ctl_table,
    write: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> c_int {
    // SAFETY: forwarding; the entry holds an unsigned int.
    unsafe { minmax_handler::<u32>(bindings::proc_douintvec_minmax, table, write, buffer, lenp, ppos) }
}

/// `hashsize`: shows the buckets over all CPUs; a write resizes every
/// table without losing a flow.
///
/// # Safety
///
/// Called by the sysctl core.
unsafe extern "C" fn hashsize_handler(
    table: *const bindings::ctl_table,
    write: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> c_int {
    let current = with_meter(|m| m.hashsize.load(core::sync::atomic::Ordering::Relaxed)).unwrap_or(0);
    let mut value = c_int::try_from(current).unwrap_or(c_int::MAX);
    let before = value;
    // SAFETY: forwarding the core's arguments.
    let ret = unsafe {
        parse_into(bindings::proc_dointvec_minmax, table, write, buffer, lenp, ppos, &mut value)
    };
    if ret != 0 || write == 0 || value == before {
        return ret;
    }
    let resized = with_meter(|m| m.scanner.state.lock(|_| m.resize(value as u32)));
    match resized {
        Some(Ok(())) => {
            pr_info!("hashsize {} ({}K)\n", value, (value as usize * core::mem::size_of::<usize>()) >> 10);
            0
        }
        Some(Err(e)) => e.to_errno(),
        None => ENODEV.to_errno(),
    }
}

/// `flush`: reads 0; writing 1 exports every flow now, 2 also zeroes the
/// statistics.
///
/// # Safety
///
/// Called by the sysctl core.
unsafe extern "C" fn flush_handler(
    table: *const bindings::ctl_table,
    write: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> c_int {
    let mut value: c_int = 0;
    // SAFETY: forwarding the core's arguments.
    let ret = unsafe {
        parse_into(bindings::proc_dointvec_minmax, table, write, buffer, lenp, ppos, &mut value)
    };
    if ret != 0 || write == 0 || value <= 0 {
        return ret;
    }
    with_meter(|m| {
        m.scanner.flush(m);
        if value > 1 {
            m.reset_stats();
            pr_info!("forced flush (reset stat counters).\n");
        } else {
            pr_info!("forced flush.\n");
        }
    });
    0
}

/// `sndbuf`: reads show the first destination's socket buffer size; a
/// write sets every export socket's (at least the kernel's minimum) and is
/// kept for sockets made later. Both fail with ENOENT while there is no
/// destination, as in the original.
///
/// # Safety
///
/// Called by the sysctl core.
unsafe extern "C" fn sndbuf_handler(
    table: *const bindings::ctl_table,
    write: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> c_int {
    let current = with_meter(|m| {
        m.scanner.state.lock(|st| {
            let first = st.exporter.socks.first()?;
            let (size, _) = first.sndbuf();
            Some(if size > 0 { c_int::try_from(size).unwrap_or(c_int::MAX) } else { crate::control::params_kernel::sndbuf() })
        })
    });
    let Some(Some(mut value)) = current else {
        return ENOENT.to_errno();
    };
    // SAFETY: forwarding the core's arguments.
    let ret = unsafe {
        parse_into(bindings::proc_dointvec_minmax, table, write, buffer, lenp, ppos, &mut value)
    };
    if ret != 0 || write == 0 {
        return ret;
    }
    // SAFETY: reads a constant.
    let value = value.max(unsafe { bindings::nf_sock_min_sndbuf() });
    let applied = with_meter(|m| {
        m.scanner.state.lock(|st| {
            if st.exporter.socks.is_empty() {
                return false;
            }
            for s in st.exporter.socks.iter_mut() {
                s.set_sndbuf(value);
            }
            // SAFETY: the sndbuf parameter variable.
            unsafe { crate::control::params_kernel::store(addr_of_mut!(bindings::nf_param_sndbuf), value) };
            true
        })
    });
    match applied {
        Some(true) => 0,
        _ => ENOENT.to_errno(),
    }
}

const NENTRIES: usize = 12;

/// Longest `destination` value (the original's buffer size).
const DEST_SIZE: usize = 256;

/// `destination`: reads show the destinations in force; a write that parses
/// replaces them (the packet being built goes to the old ones first), one
/// that does not fails with EINVAL and changes nothing.
///
/// # Safety
///
/// Called by the sysctl core.
unsafe extern "C" fn destination_handler(
    table: *const bindings::ctl_table,
    write: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> c_int {
    let mut text = [0u8; DEST_SIZE];
    if write == 0 {
        let _ = with_meter(|m| {
            m.scanner.state.lock(|st| {
                let cur = st.exporter.destination_text();
                let n = cur.len().min(DEST_SIZE - 1);
                text[..n].copy_from_slice(&cur.as_bytes()[..n]);
            })
        });
    }
    // SAFETY: forwarding the core's arguments; the scratch table points at
    // our buffer, whose size it states.
    let ret = unsafe {
        let mut scratch = *table;
        scratch.data = text.as_mut_ptr().cast();
        scratch.maxlen = DEST_SIZE as c_int;
        bindings::proc_dostring(&scratch, write, buffer, lenp, ppos)
    };
    if ret != 0 || write == 0 {
        return ret;
    }
    let len = text.iter().position(|&b| b == 0).unwrap_or(DEST_SIZE);
    let Ok(s) = core::str::from_utf8(&text[..len]) else {
        return EINVAL.to_errno();
    };
    let text = s.trim_end();
    if parse_each(text, |_| {}).is_err() {
        pr_err!("can't parse destination: {}\n", text);
        return EINVAL.to_errno();
    }
    let r = with_meter(|m| m.scanner.state.lock(|st| st.exporter.replace_destinations(text)));
    match r {
        Some(Ok(())) => 0,
        Some(Err(e)) => e.to_errno(),
        None => ENODEV.to_errno(),
    }
}

/// `protocol`: 5, 9 or 10. Any valid write flushes every flow, then switches
/// (templates are sent anew); anything else fails with EINVAL.
///
/// # Safety
///
/// Called by the sysctl core for the entry of `nf_param_protocol`.
unsafe extern "C" fn protocol_handler(
    table: *const bindings::ctl_table,
    write: c_int,
    buffer: *mut c_void,
    lenp: *mut usize,
    ppos: *mut bindings::loff_t,
) -> c_int {
    // SAFETY: `data` is the protocol parameter.
    let var = unsafe { (*table).data.cast::<c_int>() };
    // SAFETY: as above.
    let mut value = unsafe { core::ptr::read_volatile(var) };
    // SAFETY: forwarding the core's arguments.
    let ret = unsafe {
        parse_into(bindings::proc_dointvec_minmax, table, write, buffer, lenp, ppos, &mut value)
    };
    if ret != 0 || write == 0 {
        return ret;
    }
    if !matches!(value, 5 | 9 | 10) {
        return EINVAL.to_errno();
    }
    with_meter(|m| {
        pr_info!("forced flush (protocol version change)\n");
        m.scanner.switch_protocol(m, value);
        // SAFETY: the protocol parameter variable.
        unsafe { crate::control::params_kernel::store(var, value) };
    });
    0
}

struct Entry {
    name: &'static CStr,
    data: *mut c_void,
    size: usize,
    handler: Handler,
    min: *const c_void,
    max: *const c_void,
}

fn entries() -> [Entry; NENTRIES] {
    let int = |name, var: *mut c_int, min: &'static c_int| Entry {
        name,
        data: var.cast(),
        size: core::mem::size_of::<c_int>(),
        handler: int_handler,
        min: core::ptr::from_ref(min).cast(),
        max: core::ptr::from_ref(&INT_MAX).cast(),
    };
    let uint = |name, var: *mut u32| Entry {
        name,
        data: var.cast(),
        size: core::mem::size_of::<u32>(),
        handler: uint_handler,
        min: null_mut(),
        max: core::ptr::from_ref(&UINT_MAX).cast(),
    };
    // Taking the addresses of the C parameter variables (no access yet):
    // they live as long as the module.
    {
        [
            int(c"active_timeout", addr_of_mut!(bindings::nf_param_active_timeout), &ZERO),
            int(c"inactive_timeout", addr_of_mut!(bindings::nf_param_inactive_timeout), &ZERO),
            int(c"debug", addr_of_mut!(bindings::nf_param_debug), &ZERO),
            // maxflows <= 0 means unlimited, as in the original.
            Entry { min: null_mut(), ..int(c"maxflows", addr_of_mut!(bindings::nf_param_maxflows), &ZERO) },
            Entry {
                handler: hashsize_handler,
                data: null_mut(),
                ..int(c"hashsize", null_mut(), &HASH_MIN)
            },
            Entry { handler: flush_handler, data: null_mut(), ..int(c"flush", null_mut(), &ZERO) },
            Entry {
                min: core::ptr::from_ref(&ONE).cast(),
                max: SCAN_MAX.as_ptr().cast_const().cast(),
                ..uint(c"scan-min", addr_of_mut!(bindings::nf_param_scan_min))
            },
            uint(c"refresh-rate", addr_of_mut!(bindings::nf_param_refresh_rate)),
            uint(c"timeout-rate", addr_of_mut!(bindings::nf_param_timeout_rate)),
            Entry {
                handler: protocol_handler,
                ..int(c"protocol", addr_of_mut!(bindings::nf_param_protocol), &ZERO)
            },
            Entry { handler: sndbuf_handler, data: null_mut(), ..int(c"sndbuf", null_mut(), &ZERO) },
            Entry {
                handler: destination_handler,
                data: null_mut(),
                size: DEST_SIZE,
                min: null_mut(),
                max: null_mut(),
                ..int(c"destination", null_mut(), &ZERO)
            },
        ]
    }
}

/// `scan-min`'s upper bound, HZ/10, set at registration.
static SCAN_MAX: AtomicU32 = AtomicU32::new(100);

/// The registered table; unregistered when dropped.
pub struct Sysctls {
    header: *mut bindings::ctl_table_header,
    _table: KBox<[bindings::ctl_table; NENTRIES]>,
}

// SAFETY: the header is only used to unregister, from one place.
unsafe impl Send for Sysctls {}
// SAFETY: no access through &self.
unsafe impl Sync for Sysctls {}

impl Sysctls {
    /// Registers `net.netflow`.
    pub fn register() -> Result<Self> {
        // SAFETY: reads HZ.
        SCAN_MAX.store((unsafe { bindings::nf_hz() } / 10).max(1), Ordering::Relaxed);
        let mut table = KBox::new([bindings::ctl_table::default(); NENTRIES], GFP_KERNEL)?;
        for (t, e) in table.iter_mut().zip(entries()) {
            t.procname = as_c_ptr(e.name);
            t.data = e.data;
            t.maxlen = e.size as c_int;
            t.mode = 0o644;
            t.proc_handler = Some(e.handler);
            t.extra1 = e.min.cast_mut();
            t.extra2 = e.max.cast_mut();
        }
        // SAFETY: the table lives in a heap allocation kept until
        // unregistration; its size is passed explicitly (no sentinel).
        let header = unsafe { bindings::register_sysctl_sz(as_c_ptr(c"net/netflow"), table.as_mut_ptr(), NENTRIES) };
        if header.is_null() {
            pr_err!("can't register to sysctl\n");
            return Err(ENOMEM);
        }
        Ok(Sysctls { header, _table: table })
    }
}

impl Drop for Sysctls {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; waits for running handlers.
        unsafe { bindings::unregister_sysctl_table(self.header) };
    }
}

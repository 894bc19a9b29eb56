//! Reading and validating the module parameters declared in `params_kernel.c`.

use crate::sys::bindings;
use kernel::error::{code::EINVAL, Result};
use kernel::prelude::*;

/// `protocol`: 5 (NetFlow v5), 9 (NetFlow v9) or 10 (IPFIX).
pub fn protocol() -> i32 {
    // SAFETY: an `int` module parameter; read-only (0444) after load.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bindings::nf_param_protocol)) }
}

macro_rules! param_reader {
    ($(#[$doc:meta] $name:ident: $ty:ty = $var:ident;)*) => {$(
        #[$doc]
        #[inline]
        pub fn $name() -> $ty {
            // SAFETY: a module parameter variable; writes (sysfs, sysctl) are
            // single aligned stores, so a volatile read sees the old or the
            // new value.
            unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bindings::$var)) }
        }
    )*};
}

param_reader! {
    /// `inactive_timeout`, seconds.
    inactive_timeout: i32 = nf_param_inactive_timeout;
    /// `active_timeout`, seconds.
    active_timeout: i32 = nf_param_active_timeout;
    /// `debug` level.
    debug: i32 = nf_param_debug;
    /// `hashsize` given at load (0 = automatic).
    hashsize_param: i32 = nf_param_hashsize;
    /// `maxflows` (<= 0: unlimited).
    maxflows: i32 = nf_param_maxflows;
    /// `scan-min`, jiffies.
    scan_min: u32 = nf_param_scan_min;
    /// `engine_id`.
    engine_id: i32 = nf_param_engine_id;
    /// `sndbuf` (0: system default).
    sndbuf: i32 = nf_param_sndbuf;
    /// `exportcpu` (-1: any CPU).
    exportcpu: i32 = nf_param_exportcpu;
}

/// The `destination` given at load.
pub fn destination_param() -> &'static str {
    // SAFETY: a charp module parameter: NULL or a NUL-terminated string that
    // lives as long as the module (0444: not changed after load).
    let p = unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bindings::nf_param_destination)) };
    if p.is_null() {
        return "";
    }
    // SAFETY: as above.
    unsafe { crate::sys::cstr::from_c_ptr(p) }.to_str().unwrap_or("")
}

/// Stores a new value into a parameter variable.
///
/// # Safety
///
/// `var` must be one of the parameter variables of `params.h`.
pub unsafe fn store<T: Copy>(var: *mut T, value: T) {
    // SAFETY: per the contract; an aligned store of a plain value.
    unsafe { core::ptr::write_volatile(var, value) };
}

/// `refresh-rate`: packets between NetFlow v9/IPFIX template re-sends.
pub fn refresh_rate() -> u32 {
    // SAFETY: an `unsigned int` module parameter; writes through sysfs are
    // single aligned stores, so a volatile read sees the old or new value.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bindings::nf_param_refresh_rate)) }
}

/// `timeout-rate`: minutes between NetFlow v9/IPFIX template re-sends.
pub fn timeout_rate() -> u32 {
    // SAFETY: as for `refresh_rate`.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bindings::nf_param_timeout_rate)) }
}

/// Refuses to load with parameter values the module cannot honour.
pub fn validate() -> Result {
    let p = protocol();
    if !matches!(p, 5 | 9 | 10) {
        pr_err!("protocol {} is not supported; use 5, 9 or 10.\n", p);
        return Err(EINVAL);
    }
    Ok(())
}

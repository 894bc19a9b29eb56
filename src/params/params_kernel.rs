// SPDX-License-Identifier: GPL-2.0-only
//! The module parameters declared in `params_kernel.c`, read and written
//! through typed handles. Every layer above sys may read them.

use super::bindings;
use super::protocol::Protocol;
use core::ffi::{c_char, c_int, c_uint};
use core::ptr::addr_of_mut;
use kernel::error::{code::EINVAL, Result};

/// One module parameter variable of type `T`.
///
/// # Invariants
///
/// `var` points to a parameter variable of `params.h` whose C type is `T`:
/// static, aligned, alive as long as the module. Every write to it (sysfs,
/// sysctl, [`Param::set`]) is a single aligned store, so a read sees the old
/// or the new value, never a mix.
#[derive(Clone, Copy)]
pub struct Param<T: Copy> {
    var: *mut T,
}

impl<T: Copy> Param<T> {
    /// The handle of the variable at `var`.
    ///
    /// # Safety
    ///
    /// `var` must be one of the parameter variables of `params.h`, of C
    /// type `T` (a sysctl entry's `data` set from [`Param::as_ptr`] is).
    #[inline(always)]
    pub unsafe fn from_ptr(var: *mut T) -> Self {
        // INVARIANT: the caller's guarantee.
        Param { var }
    }

    /// The value in force.
    #[inline(always)]
    pub fn get(self) -> T {
        // SAFETY: a live, aligned parameter variable of type `T` (type
        // invariants); volatile because sysfs and sysctl write it behind
        // the compiler's back.
        unsafe { core::ptr::read_volatile(self.var) }
    }

    /// Replaces the value in force.
    #[inline]
    pub fn set(self, value: T) {
        // SAFETY: a live, aligned parameter variable of type `T`; a single
        // aligned store, as every other writer makes (type invariants).
        unsafe { core::ptr::write_volatile(self.var, value) };
    }

    /// The variable's address, for a sysctl entry's `data`.
    pub fn as_ptr(self) -> *mut T {
        self.var
    }
}

macro_rules! params {
    ($(#[$doc:meta] $name:ident / $handle:ident: $ty:ty = $var:ident;)*) => {$(
        #[$doc]
        #[inline(always)]
        pub fn $handle() -> Param<$ty> {
            // INVARIANT: a parameter variable of params.h, of C type `$ty`;
            // taking its address reads nothing.
            Param { var: addr_of_mut!(bindings::$var) }
        }

        #[$doc]
        #[inline(always)]
        pub fn $name() -> $ty {
            $handle().get()
        }
    )*};
}

params! {
    /// `protocol`: 5 (NetFlow v5), 9 (NetFlow v9) or 10 (IPFIX).
    protocol_number / protocol_param: c_int = nf_param_protocol;
    /// `inactive_timeout`, seconds.
    inactive_timeout / inactive_timeout_param: c_int = nf_param_inactive_timeout;
    /// `active_timeout`, seconds.
    active_timeout / active_timeout_param: c_int = nf_param_active_timeout;
    /// `debug` level.
    debug / debug_param: c_int = nf_param_debug;
    /// `hashsize` given at load (0 = automatic).
    hashsize_at_load / hashsize_param: c_int = nf_param_hashsize;
    /// `maxflows` (<= 0: unlimited).
    maxflows / maxflows_param: c_int = nf_param_maxflows;
    /// `scan-min`, jiffies.
    scan_min / scan_min_param: c_uint = nf_param_scan_min;
    /// `natevents`: NAT event logging on (1) or off (0).
    natevents / natevents_param: c_int = nf_param_natevents;
    /// `natevents_rcvbuf`: bytes of conntrack events queued per namespace.
    natevents_rcvbuf / natevents_rcvbuf_param: c_int = nf_param_natevents_rcvbuf;
    /// `engine_id`.
    engine_id / engine_id_param: c_int = nf_param_engine_id;
    /// `sndbuf` (0: system default).
    sndbuf / sndbuf_param: c_int = nf_param_sndbuf;
    /// `exportcpu` (-1: any CPU).
    exportcpu / exportcpu_param: c_int = nf_param_exportcpu;
    /// `refresh-rate`: packets between NetFlow v9/IPFIX template re-sends.
    refresh_rate / refresh_rate_param: c_uint = nf_param_refresh_rate;
    /// `timeout-rate`: minutes between NetFlow v9/IPFIX template re-sends.
    timeout_rate / timeout_rate_param: c_uint = nf_param_timeout_rate;
}

/// `promisc` given at load (the build with `--enable-promisc`).
#[cfg(feature = "promisc")]
pub fn promisc_at_load() -> c_int {
    // INVARIANT: a parameter variable of params.h, a C int.
    Param { var: addr_of_mut!(bindings::nf_param_promisc) }.get()
}

/// The export protocol in force. [`validate`] refused to load with any
/// other number and the sysctl stores only valid ones, so the fallback is
/// never taken.
#[inline]
pub fn protocol() -> Protocol {
    Protocol::from_number(protocol_number()).unwrap_or(Protocol::V5)
}

/// The `destination` given at load.
pub fn destination_at_load() -> &'static str {
    // SAFETY: the address of a charp parameter variable.
    unsafe { charp_at_load(addr_of_mut!(bindings::nf_param_destination)) }
}

/// The `sampler` given at load.
pub fn sampler_at_load() -> &'static str {
    // SAFETY: the address of a charp parameter variable.
    unsafe { charp_at_load(addr_of_mut!(bindings::nf_param_sampler)) }
}

/// The `aggregation` given at load.
pub fn aggregation_at_load() -> &'static str {
    // SAFETY: the address of a charp parameter variable.
    unsafe { charp_at_load(addr_of_mut!(bindings::nf_param_aggregation)) }
}

/// The `snmp_rules` given at load.
pub fn snmp_rules_at_load() -> &'static str {
    // SAFETY: the address of a charp parameter variable.
    unsafe { charp_at_load(addr_of_mut!(bindings::nf_param_snmp_rules)) }
}

/// The text of a read-only (0444/0400) charp parameter, "" if unset; a
/// value that is not UTF-8 reads as "\u{fffd}", which every parser of
/// these parameters refuses (so the module says so instead of ignoring it).
///
/// # Safety
///
/// `var` must be the address of one of the charp parameter variables of
/// `params.h`: read-only through sysfs, so the string it points to is set
/// before load and lives as long as the module.
unsafe fn charp_at_load(var: *mut *mut c_char) -> &'static str {
    // SAFETY: an aligned pointer variable (caller's guarantee), not
    // written after load.
    let p: *const c_char = unsafe { core::ptr::read_volatile(var) }.cast_const();
    if p.is_null() {
        return "";
    }
    // SAFETY: a non-null charp parameter is a NUL-terminated string that
    // lives as long as the module.
    unsafe { crate::sys::cstr::from_c_ptr(p) }.to_str().unwrap_or("\u{fffd}")
}

/// The original's line for the protocol in force, at load and at every
/// switch (its spelling: "IPFIX" or "NetFlow").
pub fn log_protocol_enabled(protocol: Protocol) {
    let name = if protocol == Protocol::Ipfix { "IPFIX" } else { "NetFlow" };
    crate::log_info!("ipt_NETFLOW protocol version {} ({}) enabled.\n", protocol.number(), name);
}

/// Refuses to load with parameter values the module cannot honour.
pub fn validate() -> Result {
    let p = protocol_number();
    if Protocol::from_number(p).is_none() {
        crate::log_err!("ipt_NETFLOW: protocol {} is not supported; use 5, 9 or 10.\n", p);
        return Err(EINVAL);
    }
    Ok(())
}

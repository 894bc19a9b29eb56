// SPDX-License-Identifier: GPL-2.0-only
//! The `NETFLOW` xtables target: where packets come in.
//!
//! Registered for IPv4 and IPv6 (revision 0, every hook, any table but
//! `nat`). It meters the packet and always lets it continue down the chain.

use super::meter_kernel::meter_skb;
use super::packet::L3Family;
use crate::params::{self, Protocol};
use crate::sys::bindings;
use crate::sys::cstr::from_c_ptr;
use core::ffi::{c_char, c_int, c_uint};
use kernel::error::{code::EINVAL, to_result, Result};
use kernel::prelude::*;

const TARGET_NAME: &[u8] = b"NETFLOW";

/// Every netfilter hook an IP table can call a target from.
const ALL_HOOKS: c_uint = (1 << bindings::NF_INET_PRE_ROUTING)
    | (1 << bindings::NF_INET_LOCAL_IN)
    | (1 << bindings::NF_INET_FORWARD)
    | (1 << bindings::NF_INET_LOCAL_OUT)
    | (1 << bindings::NF_INET_POST_ROUTING);

/// The IPv4 target: meters the packet, then lets it continue.
///
/// # Safety
///
/// Called by xtables with the skb its hook is processing.
unsafe extern "C" fn target_ipv4(
    skb: *mut bindings::sk_buff,
    par: *const bindings::xt_action_param,
) -> c_uint {
    // SAFETY: xtables passes the skb and parameters of the hook.
    unsafe { meter_skb(skb, par, L3Family::Ipv4) };
    bindings::XT_CONTINUE
}

/// The IPv6 target: meters the packet, then lets it continue.
///
/// # Safety
///
/// Called by xtables with the skb its hook is processing.
unsafe extern "C" fn target_ipv6(
    skb: *mut bindings::sk_buff,
    par: *const bindings::xt_action_param,
) -> c_uint {
    // SAFETY: xtables passes the skb and parameters of the hook.
    unsafe { meter_skb(skb, par, L3Family::Ipv6) };
    bindings::XT_CONTINUE
}

/// Refuses rules the module cannot serve: the `nat` table (it sees only the
/// first packet of a connection) and IPv6 rules while exporting NetFlow v5,
/// which has no IPv6 records.
///
/// # Safety
///
/// Called by xtables with the parameter block of the rule being added.
unsafe extern "C" fn checkentry(par: *const bindings::xt_tgchk_param) -> c_int {
    // SAFETY: xtables passes a valid parameter block for the rule being added.
    let par = unsafe { &*par };
    let table = if par.table.is_null() {
        c""
    } else {
        // SAFETY: `table` is the NUL-terminated name of the rule's table.
        unsafe { from_c_ptr(par.table) }
    };
    if table.to_bytes() == b"nat" {
        pr_warn!("NETFLOW target: is not valid in {} table\n", table.to_str().unwrap_or("?"));
        return EINVAL.to_errno();
    }
    if u32::from(par.family) == bindings::NFPROTO_IPV6 && params::protocol() == Protocol::V5 {
        pr_warn!("ip6tables NETFLOW target is meaningful for protocol 9 or 10 only.\n");
        return EINVAL.to_errno();
    }
    0
}

/// The two registered targets; unregistered when dropped.
pub struct TargetRegistration {
    targets: KBox<[bindings::xt_target; 2]>,
}

// SAFETY: the raw pointers inside `xt_target` (module, table name, list
// links) belong to the kernel's target list, which xtables protects with its
// own mutex; this handle only registers and unregisters the block.
unsafe impl Send for TargetRegistration {}
// SAFETY: no method gives access to the block through `&self`.
unsafe impl Sync for TargetRegistration {}

impl TargetRegistration {
    /// Registers `NETFLOW` for IPv4 and IPv6.
    pub fn register() -> Result<Self> {
        let mut targets = KBox::new(
            [bindings::xt_target::default(), bindings::xt_target::default()],
            GFP_KERNEL,
        )?;
        type TargetFn =
            unsafe extern "C" fn(*mut bindings::sk_buff, *const bindings::xt_action_param) -> c_uint;
        let families: [(u32, TargetFn); 2] = [
            (bindings::NFPROTO_IPV4, target_ipv4),
            (bindings::NFPROTO_IPV6, target_ipv6),
        ];
        for (t, (family, func)) in targets.iter_mut().zip(families) {
            for (dst, src) in t.name.iter_mut().zip(TARGET_NAME) {
                *dst = *src as c_char;
            }
            t.revision = 0;
            t.family = family as u16;
            t.target = Some(func);
            t.checkentry = Some(checkentry);
            t.hooks = ALL_HOOKS;
            // SAFETY: returns THIS_MODULE, which outlives the registration.
            t.me = unsafe { bindings::nf_this_module() };
        }
        // SAFETY: the array lives in a heap allocation that stays put until
        // `drop` unregisters it.
        to_result(unsafe { bindings::xt_register_targets(targets.as_mut_ptr(), 2) })?;
        Ok(Self { targets })
    }
}

impl Drop for TargetRegistration {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; rules using the target hold a
        // reference on the module, so none can exist while it unloads.
        unsafe { bindings::xt_unregister_targets(self.targets.as_mut_ptr(), 2) };
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! xtables targets: registration for IPv4 and IPv6, and one C entry point
//! per callback that hands the [`Target`] typed views of its arguments.

use super::bindings;
use super::cstr::from_c_ptr;
use super::skb::{HookDevices, LinkInfo, SkbView};
use core::ffi::{c_char, c_int, c_uint, CStr};
use core::marker::PhantomData;
use kernel::error::{to_result, Result};
use kernel::prelude::*;

/// The network-layer family a target was registered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `iptables` (NFPROTO_IPV4).
    Ipv4,
    /// `ip6tables` (NFPROTO_IPV6).
    Ipv6,
}

/// One packet handed to a target.
///
/// # Invariants
///
/// `skb` and `par` are what xtables passed to the target for a call that
/// lasts `'a`.
///
/// Two pointers, so that it travels in registers like the C arguments; a
/// copy is the same call's.
#[derive(Clone, Copy)]
pub struct TargetCall<'a> {
    skb: *const bindings::sk_buff,
    par: *const bindings::xt_action_param,
    _call: PhantomData<&'a bindings::sk_buff>,
}

impl<'a> TargetCall<'a> {
    /// The packet's bytes.
    #[inline(always)]
    pub fn skb(&self) -> SkbView<'a> {
        // SAFETY: the skb of the call, which nobody modifies during a target
        // call, and the view lives no longer than the call (type invariants).
        unsafe { SkbView::new(self.skb) }
    }

    /// The hook's interfaces.
    #[inline(always)]
    pub fn devices(&self) -> HookDevices<'a> {
        // SAFETY: the parameter block of the call, for the call's lifetime
        // (type invariants).
        unsafe { HookDevices::of(self.par) }
    }

    /// The packet's link-layer facts (for the builds with link-layer
    /// fields).
    #[inline]
    pub fn link(&self) -> LinkInfo<'a> {
        // SAFETY: the skb and the parameter block's hook state of the call,
        // for the call's lifetime, during which nobody modifies the skb
        // (type invariants).
        unsafe { LinkInfo::of(self.skb, (*self.par).state) }
    }
}

/// A rule being added with the target.
///
/// # Invariants
///
/// `par` is the valid parameter block of the check, for `'a`.
pub struct RuleCheck<'a> {
    par: &'a bindings::xt_tgchk_param,
}

impl RuleCheck<'_> {
    /// The table's name (`filter`, `mangle`, `raw`, `nat`...).
    pub fn table(&self) -> &CStr {
        if self.par.table.is_null() {
            return c"";
        }
        // SAFETY: a non-null `table` is the NUL-terminated name of the
        // rule's table, which outlives the check (type invariants).
        unsafe { from_c_ptr(self.par.table) }
    }

    /// The rule's family.
    pub fn family(&self) -> Family {
        if u32::from(self.par.family) == bindings::NFPROTO_IPV6 {
            Family::Ipv6
        } else {
            Family::Ipv4
        }
    }
}

/// What a target does.
pub trait Target {
    /// The name rules use (`-j NAME`), at most 28 bytes.
    const NAME: &'static [u8];

    /// Called for every packet that hits a rule of `family`; the packet
    /// always continues down the chain.
    fn target(call: TargetCall<'_>, family: Family);

    /// Accepts or refuses a rule (an error is what iptables reports).
    fn check(rule: &RuleCheck<'_>) -> Result;
}

/// Every netfilter hook an IP table can call a target from.
const ALL_HOOKS: c_uint = (1 << bindings::NF_INET_PRE_ROUTING)
    | (1 << bindings::NF_INET_LOCAL_IN)
    | (1 << bindings::NF_INET_FORWARD)
    | (1 << bindings::NF_INET_LOCAL_OUT)
    | (1 << bindings::NF_INET_POST_ROUTING);

/// The C entry point of `T::target` for one family.
///
/// # Safety
///
/// Called by xtables with the skb and parameters of a packet that hit a
/// rule of the family `V6` says.
unsafe extern "C" fn target_fn<T: Target, const V6: bool>(
    skb: *mut bindings::sk_buff,
    par: *const bindings::xt_action_param,
) -> c_uint {
    let family = if V6 { Family::Ipv6 } else { Family::Ipv4 };
    // INVARIANT: the arguments of this call, which `call` does not outlive.
    T::target(TargetCall { skb, par, _call: PhantomData }, family);
    bindings::XT_CONTINUE
}

/// The C entry point of `T::check`.
///
/// # Safety
///
/// Called by xtables with the parameter block of a rule being added.
unsafe extern "C" fn check_fn<T: Target>(par: *const bindings::xt_tgchk_param) -> c_int {
    // INVARIANT: a valid parameter block for the duration of the check.
    // SAFETY: xtables passes a valid parameter block (caller's guarantee).
    let rule = RuleCheck { par: unsafe { &*par } };
    match T::check(&rule) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `T` registered for IPv4 and IPv6 (revision 0, every hook); unregistered
/// when dropped.
///
/// # Invariants
///
/// `targets` is registered with xtables and stays in its heap allocation
/// until `drop` unregisters it.
pub struct Registration<T: Target> {
    targets: KBox<[bindings::xt_target; 2]>,
    _target: PhantomData<T>,
}

// SAFETY: the raw pointers inside `xt_target` (module, table name, list
// links) belong to the kernel's target list, which xtables protects with its
// own mutex; this handle only registers and unregisters the block.
unsafe impl<T: Target> Send for Registration<T> {}
// SAFETY: no method gives access to the block through `&self`.
unsafe impl<T: Target> Sync for Registration<T> {}

impl<T: Target> Registration<T> {
    /// Registers `T` for IPv4 and IPv6.
    pub fn register() -> Result<Self> {
        let mut targets = KBox::new([bindings::xt_target::default(), bindings::xt_target::default()], GFP_KERNEL)?;
        type TargetFn = unsafe extern "C" fn(*mut bindings::sk_buff, *const bindings::xt_action_param) -> c_uint;
        let families: [(u32, TargetFn); 2] =
            [(bindings::NFPROTO_IPV4, target_fn::<T, false>), (bindings::NFPROTO_IPV6, target_fn::<T, true>)];
        for (t, (family, func)) in targets.iter_mut().zip(families) {
            for (dst, src) in t.name.iter_mut().zip(T::NAME) {
                *dst = *src as c_char;
            }
            t.revision = 0;
            t.family = family as u16;
            t.target = Some(func);
            t.checkentry = Some(check_fn::<T>);
            t.hooks = ALL_HOOKS;
            // SAFETY: returns THIS_MODULE, which outlives the registration.
            t.me = unsafe { bindings::nf_this_module() };
        }
        // SAFETY: the array lives in a heap allocation that stays put until
        // `drop` unregisters it; its entries are filled in above.
        to_result(unsafe { bindings::xt_register_targets(targets.as_mut_ptr(), 2) })?;
        // INVARIANT: registered, kept in the box until `drop`.
        Ok(Registration { targets, _target: PhantomData })
    }
}

impl<T: Target> Drop for Registration<T> {
    fn drop(&mut self) {
        // SAFETY: registered (type invariants); rules using the target hold
        // a reference on the module, so none can exist while it unloads.
        unsafe { bindings::xt_unregister_targets(self.targets.as_mut_ptr(), 2) };
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! The network interfaces of the initial namespace, read under the RTNL.

use crate::sys::bindings;

/// What [`for_each_interface`] hands out for each interface.
pub type NetdevFacts = bindings::nf_netdev_facts;

/// Calls `f` for every interface of init_net, holding the RTNL meanwhile
/// (it may sleep: process context only, no spinlock held).
pub fn for_each_interface(mut f: impl FnMut(&NetdevFacts)) {
    let mut facts = NetdevFacts::default();
    // SAFETY: process context; no lock that the RTNL nests inside is held
    // (the callers hold only the scanner's mutex, which no RTNL holder takes).
    unsafe { bindings::rtnl_lock() };
    // SAFETY: under the RTNL, as the walker requires.
    let mut dev = unsafe { bindings::nf_netdev_next(core::ptr::null_mut()) };
    while !dev.is_null() {
        // SAFETY: `dev` is listed in init_net and cannot go away while the
        // RTNL is held.
        unsafe { bindings::nf_netdev_facts(dev, &mut facts) };
        f(&facts);
        // SAFETY: under the RTNL, `dev` still listed in init_net.
        dev = unsafe { bindings::nf_netdev_next(dev) };
    }
    // SAFETY: the RTNL taken at the start of this function.
    unsafe { bindings::rtnl_unlock() };
}

/// The bytes of a NUL-terminated C `char` array, up to its NUL.
pub fn c_text(chars: &[core::ffi::c_char]) -> &[u8] {
    // SAFETY: c_char and u8 have the same size and alignment.
    let bytes = unsafe { core::slice::from_raw_parts(chars.as_ptr().cast::<u8>(), chars.len()) };
    let n = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    bytes.get(..n).unwrap_or(&[])
}

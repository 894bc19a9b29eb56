// SPDX-License-Identifier: GPL-2.0-only
//! Promisc mode's kernel side: the packet handler that hands over packets
//! received for other hosts, and those packets as owned socket buffers.

use super::bindings;
use core::ptr::NonNull;
use kernel::error::{to_result, Result};

/// The registered packet handler (per network namespace where the kernel
/// keeps handlers per namespace): while it lives, the kernel calls
/// `nf_promisc_rcv` with every packet received for another host.
///
/// # Invariants
///
/// `nf_promisc_register()` succeeded and `nf_promisc_unregister()` was not
/// called since.
pub struct PacketHandler(());

impl PacketHandler {
    /// Registers the handler. `nf_promisc_rcv` must be ready to be called
    /// from now on, in softirq context, on any CPU.
    pub fn register() -> Result<Self> {
        // SAFETY: no preconditions; the helper registers a static packet
        // type, or per-namespace ones through pernet operations.
        to_result(unsafe { bindings::nf_promisc_register() })?;
        // INVARIANT: registered just now.
        Ok(PacketHandler(()))
    }
}

impl Drop for PacketHandler {
    fn drop(&mut self) {
        // SAFETY: registered (type invariant), unregistered once here. It
        // returns when no call of the handler runs any more
        // (dev_remove_pack waits for the readers).
        unsafe { bindings::nf_promisc_unregister() };
    }
}

/// A socket buffer promisc mode owns: freed when dropped, unless handed to
/// the PREROUTING hooks with [`OwnedSkb::inject`].
///
/// # Invariants
///
/// `skb` is a valid socket buffer that nobody else frees; after
/// [`OwnedSkb::unshare`] nobody else reads or writes it either.
pub struct OwnedSkb {
    skb: NonNull<bindings::sk_buff>,
}

impl OwnedSkb {
    /// Takes ownership of the packet the handler passed on.
    ///
    /// # Safety
    ///
    /// `skb` must be a valid socket buffer whose reference the caller owns
    /// and gives up (the packet handler's).
    pub unsafe fn from_raw(skb: NonNull<bindings::sk_buff>) -> Self {
        // INVARIANT: the caller gives up its reference.
        OwnedSkb { skb }
    }

    /// The packet as its only user (a copy when others hold it too, as
    /// packet sockets may), or `None` when no copy could be made (it is
    /// freed then).
    pub fn unshare(self) -> Option<Self> {
        let skb = core::mem::ManuallyDrop::new(self).skb;
        // SAFETY: a valid skb we own (type invariant); the helper returns
        // it or a copy it owns, having dropped our reference, or NULL after
        // freeing it.
        let skb = NonNull::new(unsafe { bindings::nf_promisc_unshare(skb.as_ptr()) })?;
        // INVARIANT: an unshared skb we own.
        Some(OwnedSkb { skb })
    }

    /// `skb->protocol`, host order: the type of what is at `skb->data`.
    pub fn protocol(&self) -> u16 {
        // SAFETY: a valid skb (type invariant); only read.
        unsafe { bindings::nf_skb_protocol(self.skb.as_ptr()) }
    }

    /// Bytes from `skb->data` to the end.
    pub fn len(&self) -> usize {
        // SAFETY: a valid skb (type invariant); only read.
        unsafe { bindings::nf_skb_len(self.skb.as_ptr()) as usize }
    }

    /// Whether nothing is left from `skb->data` on.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `len` bytes from `skb->data`, made linear, or `None` when
    /// the packet is shorter (or they could not be made linear).
    pub fn header(&mut self, len: usize) -> Option<&[u8]> {
        let n = u32::try_from(len).ok()?;
        // SAFETY: an skb we alone use (type invariant, after `unshare`);
        // pskb_may_pull may reallocate its head, which `&mut self` keeps
        // any earlier slice from outliving.
        let p = unsafe { bindings::nf_skb_header(self.skb.as_ptr(), n) };
        if p.is_null() {
            return None;
        }
        // SAFETY: the helper made `len` bytes at `p` linear and readable;
        // they stay so until the next call that takes `&mut self`.
        Some(unsafe { core::slice::from_raw_parts(p, len) })
    }

    /// Moves `skb->data` past `len` bytes, which stay readable before it
    /// (as link-layer bytes); nothing happens when the packet is shorter.
    pub fn pull(&mut self, len: usize) {
        let Ok(n) = u32::try_from(len) else {
            return;
        };
        // SAFETY: an skb we alone use (type invariant); the helper pulls
        // only bytes it made linear.
        unsafe { bindings::nf_skb_pull(self.skb.as_ptr(), n) };
    }

    /// Trims the packet to `len` bytes of IP (IPv6 if `ipv6`), whose
    /// transport header is `l4_offset` bytes in, and runs the PREROUTING
    /// hooks of its family on it (the packet ends there).
    pub fn inject(self, ipv6: bool, len: usize, l4_offset: usize) {
        let skb = core::mem::ManuallyDrop::new(self).skb;
        let (Ok(len), Ok(l4)) = (u32::try_from(len), u32::try_from(l4_offset)) else {
            // SAFETY: the skb we own, freed once (not dropped again).
            unsafe { bindings::nf_skb_free(skb.as_ptr()) };
            return;
        };
        // SAFETY: the skb we own, handed over: the helper frees it after
        // the hooks (or the hooks do, on a drop verdict).
        unsafe { bindings::nf_promisc_inject(skb.as_ptr(), ipv6, len, l4) };
    }
}

impl Drop for OwnedSkb {
    fn drop(&mut self) {
        // SAFETY: the skb we own (type invariant), freed once.
        unsafe { bindings::nf_skb_free(self.skb.as_ptr()) };
    }
}

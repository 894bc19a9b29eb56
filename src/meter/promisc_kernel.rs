// SPDX-License-Identifier: GPL-2.0-only
//! Promisc mode (the build with `--enable-promisc`): while `promisc` is 1,
//! packets received for other hosts (a mirror port's copies) are taken
//! apart down to their IP header ([`super::promisc`]), checked like the
//! kernel's own receive path would, sent through the PREROUTING hooks of
//! their family, where a `-t raw -A PREROUTING -i PORT -j NETFLOW` rule
//! meters them, and freed after. Each one is counted as observed; those
//! that fail a check are counted as discarded.

use super::promisc::{decapsulate, Decap};
use super::stats::Counter;
use crate::sys::bindings;
use crate::sys::percpu::{possible_cpus, PerCpu};
use crate::sys::promisc::{OwnedSkb, PacketHandler};
use crate::sys::sync::{KMutex, MutexClass};
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::Result;
use kernel::prelude::*;

/// One CPU's promisc counters (written by that CPU only, in softirq).
#[derive(Default)]
struct Counters {
    observed: Counter,
    discarded: Counter,
}

/// Promisc mode's switch and counters.
pub struct Promisc {
    /// The handler while promisc mode is on.
    handler: KMutex<Option<PacketHandler>>,
    counters: PerCpu<Counters>,
}

/// The mode the kernel's handler reaches; non-null from before the handler
/// can be registered until after it is unregistered for good.
static PROMISC: AtomicPtr<Promisc> = AtomicPtr::new(null_mut());

impl Decap for OwnedSkb {
    fn protocol(&self) -> u16 {
        OwnedSkb::protocol(self)
    }
    fn header(&mut self, len: usize) -> Option<&[u8]> {
        OwnedSkb::header(self, len)
    }
    fn pull(&mut self, len: usize) {
        OwnedSkb::pull(self, len)
    }
    fn len(&self) -> usize {
        OwnedSkb::len(self)
    }
}

impl Promisc {
    /// Whether promisc mode is on.
    pub fn enabled(&self) -> bool {
        self.handler.lock().is_some()
    }

    /// Switches promisc mode on or off (may sleep). Off returns when no
    /// packet is being taken in any more.
    pub fn set_enabled(&self, on: bool) -> Result {
        let mut handler = self.handler.lock();
        if handler.is_some() == on {
            return Ok(());
        }
        if on {
            *handler = Some(PacketHandler::register()?);
        } else {
            *handler = None;
        }
        crate::log_info!("ipt_NETFLOW: promisc hack is {}\n", if on { "enabled" } else { "disabled" });
        Ok(())
    }

    /// Packets observed and discarded, summed over the CPUs.
    pub fn counts(&self) -> (u64, u64) {
        possible_cpus().fold((0, 0), |(o, d), cpu| {
            let c = self.counters.get(cpu);
            (o + c.observed.get(), d + c.discarded.get())
        })
    }

    /// Takes one packet received for another host.
    fn receive(&self, pkt: OwnedSkb) {
        self.counters.with_local(|c, _bh| c.observed.inc());
        let taken = pkt.unshare().and_then(|mut pkt| {
            // A packet that fails is freed as it drops.
            let ip = decapsulate(&mut pkt, cfg!(feature = "promisc-mpls")).ok()?;
            pkt.inject(ip.ipv6, ip.len, ip.l4_offset);
            Some(())
        });
        if taken.is_none() {
            self.counters.with_local(|c, _bh| c.discarded.inc());
        }
    }
}

/// Runs `f` with promisc mode, if the module is (still) set up.
pub fn with_promisc<R>(f: impl FnOnce(&Promisc) -> R) -> Option<R> {
    let p = PROMISC.load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // SAFETY: a non-null PROMISC points to the mode of the live
    // `PromiscHandle`, which unregisters the handler (the only caller that
    // is not the handle's owner) before it unpublishes and frees it.
    Some(f(unsafe { &*p }))
}

/// Called by the kernel's packet handler with a packet received for
/// another host, whose reference it hands over.
///
/// # Safety
///
/// `skb` is a valid socket buffer whose reference the caller gives up.
#[no_mangle]
pub unsafe extern "C" fn nf_promisc_rcv(skb: *mut bindings::sk_buff) {
    let Some(skb) = NonNull::new(skb) else {
        return;
    };
    // SAFETY: the caller hands over its reference (function contract).
    let pkt = unsafe { OwnedSkb::from_raw(skb) };
    // Without the mode (it cannot be gone while the handler is
    // registered) the packet is just freed as it drops.
    with_promisc(|p| p.receive(pkt));
}

/// Owns promisc mode and publishes it; dropping it switches the mode off.
///
/// # Invariants
///
/// `mode` was initialised in place and is the one in `PROMISC` until
/// `drop`.
pub struct PromiscHandle {
    mode: KBox<Promisc>,
}

impl PromiscHandle {
    /// Makes and publishes promisc mode, off.
    pub fn new() -> Result<Self> {
        // SAFETY: all-zero counters are valid `Counters`.
        let counters = unsafe { PerCpu::new_zeroed() }?;
        let mode = KBox::new(Promisc { handler: KMutex::new(None), counters }, GFP_KERNEL)?;
        // SAFETY: boxed, so it stays put until the handle drops; used by
        // nobody yet.
        unsafe { mode.handler.init_class(MutexClass::PromiscSwitch) };
        PROMISC.store(core::ptr::from_ref(&*mode).cast_mut(), Ordering::Release);
        // INVARIANT: initialised and published.
        Ok(PromiscHandle { mode })
    }

    /// Promisc mode.
    pub fn get(&self) -> &Promisc {
        &self.mode
    }
}

impl Drop for PromiscHandle {
    fn drop(&mut self) {
        // Switching off cannot fail, and no handler runs after it.
        let _ = self.mode.set_enabled(false);
        PROMISC.store(null_mut(), Ordering::Release);
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! NAT event capture: while `natevents` is on, every network namespace has
//! a socket listening to conntrack's "new" and "destroy" events (see
//! [`crate::sys::ctevents`]); the scanner drains them into the exporter.
//!
//! The queue of each namespace is its socket's receive buffer
//! (`natevents_rcvbuf` bytes): filling it happens in the conntrack event
//! path without sleeping or allocating beyond the buffer, and an event that
//! does not fit is counted as lost. Events still queued when a socket
//! closes (natevents switched off, the namespace going away, unload) are
//! kept, up to [`MAX_KEPT`], until the next drain.
//!
//! Lock order: the switch, then (through the kernel's namespace lock, in
//! the hooks) the sockets; the scanner takes the sockets inside its own
//! mutex and never the switch.

use super::ctnetlink;
use super::nat_event::{NatCounts, NatEndpoints, NatEvent, NatEventKind};
use crate::sys::bindings;
use crate::sys::ctevents::{self, CtEventSocket, Net};
use crate::sys::sync::{KMutex, MutexClass};
use crate::sys::time::epoch_ms;
use core::ffi::c_int;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use kernel::error::Result;
use kernel::prelude::*;

/// Messages taken from one socket per drain at most: under a flood of new
/// connections the queue refills as fast as it is read, and the scanner
/// must get on with its other work (the rest waits for the next run).
const MAX_PER_DRAIN: u64 = 1 << 14;

/// Events kept from closed sockets at most (about 40 bytes each); more are
/// counted as lost.
const MAX_KEPT: usize = 1 << 16;

/// One namespace's socket.
struct NetSocket {
    /// The namespace's identity (never dereferenced).
    net: usize,
    sock: CtEventSocket,
    /// Its drop count at the last look.
    drops_seen: u32,
    /// Conntrack events were off in the namespace when it opened.
    events_off: bool,
}

struct Sockets {
    /// One slot per namespace listened to; a closed one's slot is empty
    /// until the next namespace takes it.
    list: KVec<Option<NetSocket>>,
    /// Events taken from sockets that closed, for the next drain.
    kept: KVec<NatEvent>,
    counts: NatCounts,
}

/// Takes the messages queued on `s` (up to [`MAX_PER_DRAIN`]), decoding
/// each into `emit` and counting in `counts`.
fn take(counts: &mut NatCounts, s: &mut NetSocket, mut emit: impl FnMut(&NatEvent)) {
    let now = epoch_ms();
    s.sock.drain(MAX_PER_DRAIN, |bytes| {
        let d = ctnetlink::decode(bytes, now, |ev| {
            match ev.kind {
                NatEventKind::Create => counts.start += 1,
                NatEventKind::Delete => counts.stop += 1,
            }
            emit(&ev);
        });
        counts.malformed += u64::from(d.malformed);
    });
    let drops = s.sock.drops();
    counts.lost += u64::from(drops.wrapping_sub(s.drops_seen));
    s.drops_seen = drops;
}

/// Keeps `ev` in `kept` for the next drain, or counts it in `lost`.
fn keep(kept: &mut KVec<NatEvent>, lost: &mut u64, ev: &NatEvent) {
    if kept.len() >= MAX_KEPT || kept.push(*ev, GFP_KERNEL).is_err() {
        *lost += 1;
    }
}

/// The capture: switched on and off by `natevents`, drained by the scanner.
///
/// # Invariants
///
/// Once [`NatCapture::init`] ran the mutexes are initialised and the
/// capture does not move. `on` changes only under `switch`; while it is
/// true outside `set_enabled` the namespace hooks are registered and the
/// capture is the one published in `CAPTURE`.
pub struct NatCapture {
    /// Serialises switching on and off.
    switch: KMutex<()>,
    sockets: KMutex<Sockets>,
    /// Capture is on (from before the hooks are registered until after
    /// they are unregistered). With `has_kept`, read without a lock by the
    /// scanner, which would otherwise take the sockets' mutex on every run
    /// for nothing.
    on: AtomicBool,
    /// `kept` has events; written under the sockets' mutex only.
    has_kept: AtomicBool,
}

/// The capture the namespace hooks reach; non-null from before the hooks
/// are registered until after they are unregistered.
static CAPTURE: AtomicPtr<NatCapture> = AtomicPtr::new(null_mut());

impl NatCapture {
    fn new() -> Self {
        NatCapture {
            switch: KMutex::new(()),
            sockets: KMutex::new(Sockets { list: KVec::new(), kept: KVec::new(), counts: NatCounts::default() }),
            on: AtomicBool::new(false),
            has_kept: AtomicBool::new(false),
        }
    }

    /// # Safety
    ///
    /// Once, on a capture that will not move.
    unsafe fn init(&self) {
        // SAFETY: fields of a capture that does not move, initialised once
        // (caller's guarantee).
        unsafe {
            self.switch.init_class(MutexClass::NatSwitch);
            self.sockets.init_class(MutexClass::NatSockets);
        }
    }

    /// Whether capture is on (or being switched on).
    pub fn enabled(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    /// Switches capture on or off (may sleep). Switching off keeps the
    /// events still queued for the next drain.
    ///
    /// # Errors
    ///
    /// `EOPNOTSUPP` when the kernel cannot deliver conntrack events; what
    /// registering the namespace hooks returned otherwise. Capture stays
    /// off then.
    pub fn set_enabled(&self, on: bool) -> Result {
        let _switching = self.switch.lock();
        if self.on.load(Ordering::Acquire) == on {
            return Ok(());
        }
        if on {
            crate::log_info!("ipt_NETFLOW: enable natevents.\n");
            self.on.store(true, Ordering::Release);
            if let Err(e) = ctevents::register() {
                crate::log_err!(
                    "ipt_NETFLOW: can't listen to conntrack events (error {}), natevents disabled.\n",
                    e.to_errno()
                );
                self.on.store(false, Ordering::Release);
                return Err(e);
            }
        } else {
            crate::log_info!("ipt_NETFLOW: disable natevents.\n");
            // SAFETY: registered: `on` was true and only this function,
            // under `switch`, changes it (type invariants).
            unsafe { ctevents::unregister() };
            self.on.store(false, Ordering::Release);
        }
        crate::params::natevents_param().set(c_int::from(on));
        Ok(())
    }

    /// Whether a drain may find events.
    pub fn busy(&self) -> bool {
        self.on.load(Ordering::Acquire) || self.has_kept.load(Ordering::Acquire)
    }

    /// Hands every event queued since the last drain to `emit`, oldest
    /// first per namespace.
    pub fn drain(&self, mut emit: impl FnMut(&NatEvent)) {
        let mut guard = self.sockets.lock();
        let s = &mut *guard;
        for sock in s.list.iter_mut().flatten() {
            take(&mut s.counts, sock, &mut emit);
        }
        for ev in s.kept.iter() {
            emit(ev);
        }
        s.kept = KVec::new();
        self.has_kept.store(false, Ordering::Release);
    }

    /// What the capture has seen.
    pub fn counts(&self) -> NatCounts {
        self.sockets.lock().counts
    }

    /// A namespace appeared (or capture is switched on): listen there.
    /// Never fails the namespace: a socket that cannot be opened is logged
    /// and counted as a blind namespace.
    fn open_net(&self, net: &Net) {
        let opened = CtEventSocket::open(net, crate::params::natevents_rcvbuf().max(ctevents::min_rcvbuf()));
        let mut s = self.sockets.lock();
        let sock = match opened {
            Ok(sock) => sock,
            Err(e) => {
                crate::log_err!("ipt_NETFLOW: natevents: can't listen in a network namespace (error {}).\n", e.to_errno());
                s.counts.blind += 1;
                return;
            }
        };
        let events_off = net.conntrack_events_off();
        if events_off {
            crate::log_warn!(
                "ipt_NETFLOW: natevents: conntrack events are off in a network namespace (net.netfilter.nf_conntrack_events=0), its NAT events cannot be seen.\n"
            );
        }
        let entry = NetSocket { net: net.id(), sock, drops_seen: 0, events_off };
        let added = match s.list.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => {
                *slot = Some(entry);
                Ok(())
            }
            None => s.list.push(Some(entry), GFP_KERNEL),
        };
        match added {
            Ok(()) if events_off => s.counts.blind += 1,
            Ok(()) => {}
            Err(_) => {
                crate::log_err!("ipt_NETFLOW: natevents: no memory to listen in a network namespace.\n");
                s.counts.blind += 1;
            }
        }
    }

    /// A namespace goes away (or capture is switched off): keep what its
    /// socket still holds and close it. A namespace that is being torn
    /// down also reports its NAT entries as deleted now, while they still
    /// exist: conntrack removes them later without telling anyone.
    fn close_net(&self, net: &Net) {
        let dying = !net.alive();
        let mut ended = KVec::<NatEvent>::new();
        let mut overflow = 0u64;
        if dying {
            let now = epoch_ms();
            net.for_each_nat4_conntrack(|e| {
                // Atomic context: no sleeping allocation.
                if ended.len() >= MAX_KEPT || ended.push(deleted(e, now), GFP_ATOMIC).is_err() {
                    overflow += 1;
                }
            });
        }
        let mut guard = self.sockets.lock();
        let s = &mut *guard;
        let mut lost = overflow;
        let id = net.id();
        match s.list.iter_mut().find(|slot| slot.as_ref().is_some_and(|n| n.net == id)).and_then(Option::take) {
            Some(mut sock) => {
                take(&mut s.counts, &mut sock, |ev| keep(&mut s.kept, &mut lost, ev));
                if sock.events_off {
                    s.counts.blind = s.counts.blind.saturating_sub(1);
                }
                // The socket closes here, with whatever arrived meanwhile.
            }
            // Its socket never opened: it was counted blind.
            None => s.counts.blind = s.counts.blind.saturating_sub(1),
        }
        s.counts.stop += ended.len() as u64;
        for ev in ended.iter() {
            keep(&mut s.kept, &mut lost, ev);
        }
        s.counts.lost += lost;
        if !s.kept.is_empty() {
            self.has_kept.store(true, Ordering::Release);
        }
    }
}

/// The delete event of a conntrack entry that is going away unreported.
fn deleted(e: &bindings::nf_ct_nat4, epoch_ms: u64) -> NatEvent {
    NatEvent {
        kind: NatEventKind::Delete,
        protocol: e.protocol,
        pre: NatEndpoints {
            src: e.orig_src.to_ne_bytes(),
            dst: e.orig_dst.to_ne_bytes(),
            s_port: u16::from_be(e.orig_sport),
            d_port: u16::from_be(e.orig_dport),
        },
        // The reply tuple seen from the initiator's side.
        post: NatEndpoints {
            src: e.reply_dst.to_ne_bytes(),
            dst: e.reply_src.to_ne_bytes(),
            s_port: u16::from_be(e.reply_dport),
            d_port: u16::from_be(e.reply_sport),
        },
        epoch_ms,
    }
}

/// Runs `f` with the live capture, if the module is (still) set up.
pub fn with_nat<R>(f: impl FnOnce(&NatCapture) -> R) -> Option<R> {
    let c = CAPTURE.load(Ordering::Acquire);
    if c.is_null() {
        return None;
    }
    // SAFETY: a non-null CAPTURE points to the capture of the live
    // `NatCaptureHandle`, which unregisters the hooks (the only other
    // callers) before it unpublishes and frees it.
    Some(f(unsafe { &*c }))
}

/// The kernel's namespace hook: a namespace appeared or capture started.
///
/// # Safety
///
/// Called by the kernel's pernet `init` for `net` (see `nf_ctev_register`).
#[no_mangle]
pub unsafe extern "C" fn nf_nat_net_init(net: *mut bindings::net) -> c_int {
    // SAFETY: the namespace of this running hook (caller's guarantee); the
    // wrapper does not outlive the call.
    if let Some(net) = unsafe { Net::from_hook(net) } {
        with_nat(|c| c.open_net(&net));
    }
    0
}

/// The kernel's namespace hook: a namespace goes away or capture stops.
///
/// # Safety
///
/// Called by the kernel's pernet `pre_exit` for `net`.
#[no_mangle]
pub unsafe extern "C" fn nf_nat_net_pre_exit(net: *mut bindings::net) {
    // SAFETY: as in `nf_nat_net_init`.
    if let Some(net) = unsafe { Net::from_hook(net) } {
        with_nat(|c| c.close_net(&net));
    }
}

/// Owns the capture and publishes it; dropping it switches capture off.
/// Events still kept then are lost unless drained first (the scanner's
/// last flush does).
///
/// # Invariants
///
/// `capture` was initialised in place and is the one in `CAPTURE` until
/// `drop`.
pub struct NatCaptureHandle {
    capture: KBox<NatCapture>,
}

impl NatCaptureHandle {
    /// Makes and publishes the capture, off.
    pub fn new() -> Result<Self> {
        let capture = KBox::new(NatCapture::new(), GFP_KERNEL)?;
        // SAFETY: boxed, so it stays put until the handle drops; used by
        // nobody yet.
        unsafe { capture.init() };
        CAPTURE.store(core::ptr::from_ref(&*capture).cast_mut(), Ordering::Release);
        // INVARIANT: initialised and published.
        Ok(NatCaptureHandle { capture })
    }

    /// The capture.
    pub fn get(&self) -> &NatCapture {
        &self.capture
    }
}

impl Drop for NatCaptureHandle {
    fn drop(&mut self) {
        // Switching off cannot fail; the hooks are gone after it.
        let _ = self.capture.set_enabled(false);
        CAPTURE.store(null_mut(), Ordering::Release);
    }
}

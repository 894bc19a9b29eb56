// SPDX-License-Identifier: GPL-2.0-only
//! Conntrack events as `conntrack -E` receives them: a kernel netlink
//! socket per network namespace subscribed to ctnetlink's "new" and
//! "destroy" groups, the namespace hooks that open and close them, and a
//! walk of a namespace's conntrack entries with NAT.

use super::bindings;
use core::ffi::{c_int, c_void};
use core::ptr::{null, null_mut, NonNull};
use kernel::error::{to_result, Error, Result};

/// A network namespace, for the duration of a namespace hook.
///
/// # Invariants
///
/// `net` points to a namespace that exists for the lifetime of the `&Net`
/// handed out (the kernel keeps it while its hooks run).
pub struct Net {
    net: NonNull<bindings::net>,
}

impl Net {
    /// Wraps the namespace a hook was called for.
    ///
    /// # Safety
    ///
    /// `net` is the namespace of a running pernet hook and the returned
    /// value does not outlive that call.
    pub unsafe fn from_hook(net: *mut bindings::net) -> Option<Self> {
        // INVARIANT: live for the hook's duration (caller's guarantee).
        NonNull::new(net).map(|net| Net { net })
    }

    /// The namespace's address: its identity while it exists (never
    /// dereferenced through this value).
    pub fn id(&self) -> usize {
        self.net.as_ptr() as usize
    }

    /// Whether the namespace still has users: false while it is torn down.
    pub fn alive(&self) -> bool {
        // SAFETY: a live namespace (type invariants).
        unsafe { bindings::nf_net_alive(self.net.as_ptr()) }
    }

    /// Whether conntrack events are switched off here
    /// (`net.netfilter.nf_conntrack_events=0`): no NAT event can be seen.
    pub fn conntrack_events_off(&self) -> bool {
        // SAFETY: a live namespace (type invariants).
        unsafe { bindings::nf_ct_events_off(self.net.as_ptr()) }
    }

    /// Calls `f` with every IPv4 conntrack entry with NAT in the namespace,
    /// in atomic context: `f` must not sleep. Returns false when conntrack
    /// is not loaded (there is no entry then).
    pub fn for_each_nat4_conntrack<F: FnMut(&bindings::nf_ct_nat4)>(&self, mut f: F) -> bool {
        /// # Safety
        ///
        /// `ctx` is the `&mut F` passed below and `entry` a valid entry.
        unsafe extern "C" fn visit<F: FnMut(&bindings::nf_ct_nat4)>(ctx: *mut c_void, entry: *const bindings::nf_ct_nat4) {
            // SAFETY: `ctx` is the `&mut F` passed below, alive and not
            // otherwise used during the walk; `entry` points to a filled
            // struct on the caller's stack for this call.
            let (f, entry) = unsafe { (&mut *ctx.cast::<F>(), &*entry) };
            f(entry);
        }
        // SAFETY: a live namespace (type invariants); `visit::<F>` is given
        // back exactly the context it expects, which outlives the call.
        let r = unsafe {
            bindings::nf_ct_for_each_nat4(self.net.as_ptr(), Some(visit::<F>), core::ptr::from_mut(&mut f).cast())
        };
        r == 0
    }
}

/// Makes the kernel call `init` for every network namespace, now and as
/// they are created, and `pre_exit` for each at [`unregister`] and as it
/// goes away (its conntrack entries still exist then). The entries are
/// fixed: `nf_nat_net_init` and `nf_nat_net_pre_exit` (see the meter's NAT
/// capture).
///
/// # Errors
///
/// `EOPNOTSUPP` when the kernel was built without conntrack events or
/// ctnetlink; what `register_pernet_subsys` returns otherwise.
pub fn register() -> Result {
    // SAFETY: registers the module's static pernet operations; the caller
    // pairs it with `unregister` (see `NatCapture`).
    to_result(unsafe { bindings::nf_ctev_register() })
}

/// Undoes [`register`], calling `pre_exit` for every namespace first.
///
/// # Safety
///
/// [`register`] succeeded and this was not called since.
pub unsafe fn unregister() {
    // SAFETY: registered (caller's guarantee).
    unsafe { bindings::nf_ctev_unregister() };
}

/// A netlink socket listening to one namespace's conntrack "new" and
/// "destroy" events; a full receive queue drops events and counts them.
///
/// # Invariants
///
/// `sock` is a live socket from `nf_ctev_sock_create`, released in `drop`.
pub struct CtEventSocket {
    sock: NonNull<bindings::socket>,
}

// SAFETY: a kernel socket may be used and released from any task; reading
// its queue takes the queue's lock.
unsafe impl Send for CtEventSocket {}

impl CtEventSocket {
    /// Opens and subscribes the socket in `net` with a receive buffer of
    /// `rcvbuf` bytes (0: the system default). May sleep.
    pub fn open(net: &Net, rcvbuf: i32) -> Result<Self> {
        let mut sock = null_mut();
        // SAFETY: a live namespace (`Net` invariants); `sock` is an
        // out-pointer, set only on success.
        let err = unsafe { bindings::nf_ctev_sock_create(net.net.as_ptr(), rcvbuf, &mut sock) };
        match NonNull::new(sock) {
            // INVARIANT: a socket just created for us.
            Some(sock) if err == 0 => Ok(CtEventSocket { sock }),
            _ => Err(Error::from_errno(err.min(-1))),
        }
    }

    /// Takes the queued message buffers, oldest first and at most `max`,
    /// handing each one's bytes to `f`. Returns how many there were.
    pub fn drain(&mut self, max: u64, mut f: impl FnMut(&[u8])) -> u64 {
        let mut n = 0u64;
        while n < max {
            let (mut data, mut len): (*const u8, u32) = (null(), 0);
            // SAFETY: a live socket (type invariants); out-pointers are set
            // when a buffer is returned.
            let skb = unsafe { bindings::nf_ctev_recv(self.sock.as_ptr(), &mut data, &mut len) };
            if skb.is_null() {
                return n;
            }
            if !data.is_null() {
                // SAFETY: the linear part of the buffer we now own: `len`
                // readable bytes at `data` until it is freed below.
                f(unsafe { core::slice::from_raw_parts(data, len as usize) });
            }
            // SAFETY: the buffer was dequeued above and is freed once.
            unsafe { bindings::nf_ctev_free(skb) };
            n += 1;
        }
        n
    }

    /// Events dropped because the receive queue was full, so far.
    pub fn drops(&self) -> u32 {
        // SAFETY: a live socket (type invariants).
        unsafe { bindings::nf_ctev_drops(self.sock.as_ptr()) }
    }
}

impl Drop for CtEventSocket {
    fn drop(&mut self) {
        // SAFETY: a live socket of ours (type invariants), released once;
        // its queued buffers are freed with it.
        unsafe { bindings::sock_release(self.sock.as_ptr()) };
    }
}

/// The smallest receive buffer the kernel accepts.
pub fn min_rcvbuf() -> c_int {
    // SAFETY: reads the kernel's SOCK_MIN_RCVBUF; no precondition.
    unsafe { bindings::nf_sock_min_rcvbuf() }
}

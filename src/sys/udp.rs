// SPDX-License-Identifier: GPL-2.0-only
//! Kernel UDP sockets in the initial namespace, connected to one peer,
//! each counting the ICMP errors reported on it.

use super::bindings;
use core::ffi::CStr;
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicI32, Ordering::Relaxed};
use kernel::error::{code::EINVAL, to_result, Error, Result};
use kernel::prelude::*;

/// Where a socket sends from and to: `sockaddr_in`/`sockaddr_in6` bytes.
pub struct Endpoints<'a> {
    /// The peer's socket address (its family is the socket's).
    pub peer: &'a [u8],
    /// The local address to bind to first, if any.
    pub bind: Option<&'a [u8]>,
    /// The interface to bind to first, if any.
    pub ifname: Option<&'a CStr>,
}

/// A connected kernel UDP socket, released when dropped.
///
/// # Invariants
///
/// `sock` is a live socket from `nf_usock_create`, connected, whose error
/// report callback counts into `errors`; it is released in `drop`, before
/// `errors` is freed.
pub struct UdpSocket {
    sock: NonNull<bindings::socket>,
    errors: KBox<AtomicI32>,
}

// SAFETY: a kernel socket may be used from any task; every method goes
// through `&self` or `&mut self`, and the callback's counter is atomic.
unsafe impl Send for UdpSocket {}
// SAFETY: the socket layer locks the socket for each call made through
// `&self`; the counter is atomic.
unsafe impl Sync for UdpSocket {}

impl UdpSocket {
    /// Creates, binds as asked and connects a socket (may sleep).
    pub fn connect(ends: &Endpoints<'_>, sndbuf: i32) -> Result<Self> {
        let family = ends.peer.get(..2).map(|f| i32::from(u16::from_ne_bytes([f[0], f[1]]))).ok_or(EINVAL)?;
        let errors = KBox::new(AtomicI32::new(0), GFP_KERNEL)?;
        let mut sock = null_mut();
        // SAFETY: creates a socket in init_net; `sock` is an out-pointer.
        let err = unsafe { bindings::nf_usock_create(family, &mut sock) };
        let sock = match NonNull::new(sock) {
            Some(s) if err >= 0 => s,
            _ => return Err(Error::from_errno(err.min(-1))),
        };
        // SAFETY: a fresh socket of ours; the counter is boxed, so it stays
        // put, and outlives the socket (released first, in `drop`).
        unsafe { bindings::nf_usock_setup(sock.as_ptr(), errors.as_ptr().cast(), sndbuf) };
        // INVARIANT: from here on `drop` releases the socket on every path;
        // it is connected below or not returned.
        let s = UdpSocket { sock, errors };
        if let Some(name) = ends.ifname {
            // SAFETY: our socket; a NUL-terminated name.
            to_result(unsafe { bindings::nf_usock_bind_dev(s.sock.as_ptr(), super::cstr::as_c_ptr(name)) })?;
        }
        if let Some(addr) = ends.bind {
            // SAFETY: our socket; `addr` holds a socket address of its length.
            to_result(unsafe { bindings::nf_usock_bind(s.sock.as_ptr(), addr.as_ptr().cast(), addr.len() as i32) })?;
        }
        let peer = ends.peer;
        // SAFETY: our socket; `peer` holds a socket address of its length.
        to_result(unsafe { bindings::nf_usock_connect(s.sock.as_ptr(), peer.as_ptr().cast(), peer.len() as i32) })?;
        Ok(s)
    }

    /// Sends one datagram to the peer, without blocking.
    pub fn send(&self, data: &[u8]) -> Result {
        // SAFETY: a live socket (type invariants); `data` is readable.
        let r = unsafe { bindings::nf_usock_send(self.sock.as_ptr(), data.as_ptr().cast(), data.len()) };
        to_result(r)
    }

    /// The send buffer size.
    pub fn sndbuf(&self) -> u32 {
        // SAFETY: a live socket (type invariants).
        unsafe { bindings::nf_usock_sndbuf(self.sock.as_ptr()) }
    }

    /// The bytes queued in the send buffer now.
    pub fn queued(&self) -> u32 {
        // SAFETY: a live socket (type invariants).
        unsafe { bindings::nf_usock_wmem(self.sock.as_ptr()) }
    }

    /// Sets the send buffer size.
    pub fn set_sndbuf(&self, sndbuf: i32) {
        // SAFETY: a live socket (type invariants).
        unsafe { bindings::nf_usock_set_sndbuf(self.sock.as_ptr(), sndbuf) };
    }

    /// ICMP errors reported on the socket so far.
    pub fn errors(&self) -> u32 {
        self.errors.load(Relaxed) as u32
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        // SAFETY: a live socket of ours (type invariants); the helper
        // detaches the error counter before releasing it, and `errors` is
        // freed only after this.
        unsafe { bindings::nf_usock_release(self.sock.as_ptr()) };
    }
}

/// The error of a send without a connected socket.
pub fn not_connected() -> Error {
    Error::from_errno(-(bindings::ENOTCONN as i32))
}

/// The error of a send with no route to the destination.
pub fn network_unreachable() -> Error {
    Error::from_errno(-(bindings::ENETUNREACH as i32))
}

/// The error of a send on a socket bound to a device that is gone.
pub fn no_device() -> Error {
    Error::from_errno(-(bindings::ENODEV as i32))
}

/// The error of a send from a bound address that is no longer local.
pub fn address_not_available() -> Error {
    Error::from_errno(-(bindings::EADDRNOTAVAIL as i32))
}

/// The smallest send buffer the kernel accepts.
pub fn min_sndbuf() -> i32 {
    // SAFETY: reads the kernel's SOCK_MIN_SNDBUF; no precondition.
    unsafe { bindings::nf_sock_min_sndbuf() }
}

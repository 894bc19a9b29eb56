// SPDX-License-Identifier: GPL-2.0-only
//! One collector's kernel UDP socket, with the original's error counters.

use super::destination::{sockaddr, Destination};
use crate::sys::bindings;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicI32, Ordering::Relaxed};
use kernel::error::{code::*, to_result, Error, Result};
use kernel::prelude::*;

/// A destination and its socket (connected, or not yet: every send retries).
///
/// Boxed: the kernel's error-report callback holds the address of `cberr`.
pub struct ExportSocket {
    sock: *mut bindings::socket,
    /// Where it sends.
    pub dest: Destination,
    /// ICMP errors reported on the socket (collector down, ...).
    pub cberr: AtomicI32,
    /// Failed connects.
    pub err_connect: u32,
    /// Sends refused because the socket buffer was full.
    pub err_full: u32,
    /// Other send errors.
    pub err_other: u32,
    /// Connect attempts while unconnected.
    pub attempts: u32,
    /// Most bytes seen queued in the socket buffer.
    pub wmem_peak: u32,
}

// SAFETY: the socket is used only under the scanner's mutex.
unsafe impl Send for ExportSocket {}
// SAFETY: as above; `cberr` is atomic.
unsafe impl Sync for ExportSocket {}

impl ExportSocket {
    /// A socket for `dest`, connected if possible (a failure is counted and
    /// retried at the next send, like the original's "will try reconnect").
    pub fn new(dest: Destination, sndbuf: i32) -> Result<KBox<Self>> {
        let mut s = KBox::new(
            ExportSocket {
                sock: null_mut(),
                dest,
                cberr: AtomicI32::new(0),
                err_connect: 0,
                err_full: 0,
                err_other: 0,
                attempts: 0,
                wmem_peak: 0,
            },
            GFP_KERNEL,
        )?;
        s.connect(sndbuf);
        Ok(s)
    }

    /// Whether the socket is connected.
    pub fn is_connected(&self) -> bool {
        !self.sock.is_null()
    }

    /// Tries to (re)connect; counts a failure.
    pub fn connect(&mut self, sndbuf: i32) {
        if self.is_connected() {
            return;
        }
        self.attempts += 1;
        self.wmem_peak = 0;
        self.err_full = 0;
        self.err_other = 0;
        match self.try_connect(sndbuf) {
            Ok(sock) => self.sock = sock,
            Err(_) => self.err_connect += 1,
        }
    }

    fn try_connect(&mut self, sndbuf: i32) -> Result<*mut bindings::socket> {
        let (dst, dst_len) = sockaddr(&self.dest.addr);
        let family = i32::from(u16::from_ne_bytes([dst[0], dst[1]]));
        let mut sock = null_mut();
        // SAFETY: creates a kernel socket in init_net; `sock` is an out-pointer.
        let err = unsafe { bindings::nf_usock_create(family, &mut sock) };
        if err < 0 || sock.is_null() {
            return Err(Error::from_errno(err.min(-1)));
        }
        // SAFETY: a fresh socket of ours; `cberr` lives in this box, which
        // outlives the socket (released in `close`, before the box goes).
        unsafe { bindings::nf_usock_setup(sock, self.cberr.as_ptr().cast(), sndbuf) };
        let result = (|| {
            if let Some(name) = self.dest.ifname.as_ref() {
                // SAFETY: a NUL-terminated name of at most IFNAMSIZ bytes.
                to_result(unsafe { bindings::nf_usock_bind_dev(sock, name.as_ptr().cast()) })?;
            }
            if let Some(ip) = self.dest.bind {
                let (b, n) = sockaddr(&core::net::SocketAddr::new(ip, 0));
                // SAFETY: `b` holds a sockaddr of `n` bytes.
                to_result(unsafe { bindings::nf_usock_bind(sock, b.as_ptr().cast(), n as i32) })?;
            }
            // SAFETY: `dst` holds a sockaddr of `dst_len` bytes.
            to_result(unsafe { bindings::nf_usock_connect(sock, dst.as_ptr().cast(), dst_len as i32) })
        })();
        match result {
            Ok(()) => Ok(sock),
            Err(e) => {
                // SAFETY: ours, never handed out.
                unsafe { bindings::nf_usock_release(sock) };
                Err(e)
            }
        }
    }

    /// Sends one export packet, connecting first if needed.
    pub fn send(&mut self, packet: &[u8], sndbuf: i32) -> Result {
        self.connect(sndbuf);
        if !self.is_connected() {
            return Err(Error::from_errno(-(bindings::ENOTCONN as i32)));
        }
        // SAFETY: a connected socket of ours; `packet` is readable.
        let r = unsafe { bindings::nf_usock_send(self.sock, packet.as_ptr().cast(), packet.len()) };
        if r >= 0 {
            // SAFETY: as above.
            let wmem = unsafe { bindings::nf_usock_wmem(self.sock) };
            self.wmem_peak = self.wmem_peak.max(wmem);
            return Ok(());
        }
        let e = Error::from_errno(r);
        if e == EAGAIN {
            self.err_full += 1;
        } else {
            self.err_other += 1;
            if e == EINVAL {
                // The original's cue to rebuild the socket at the next send.
                self.close();
            }
        }
        Err(e)
    }

    /// The socket buffer size and the bytes queued now (0, 0 unconnected).
    pub fn sndbuf(&self) -> (u32, u32) {
        if !self.is_connected() {
            return (0, 0);
        }
        // SAFETY: a connected socket of ours.
        unsafe { (bindings::nf_usock_sndbuf(self.sock), bindings::nf_usock_wmem(self.sock)) }
    }

    /// Sets the socket buffer size (kept for a reconnect by the caller).
    pub fn set_sndbuf(&mut self, sndbuf: i32) {
        if self.is_connected() {
            // SAFETY: a connected socket of ours.
            unsafe { bindings::nf_usock_set_sndbuf(self.sock, sndbuf) };
        }
    }

    /// ICMP errors seen so far.
    pub fn cberr(&self) -> u32 {
        self.cberr.load(Relaxed) as u32
    }

    fn close(&mut self) {
        if !self.sock.is_null() {
            // SAFETY: ours; detaches the callback's counter, then releases.
            unsafe { bindings::nf_usock_release(self.sock) };
            self.sock = null_mut();
        }
    }
}

impl Drop for ExportSocket {
    fn drop(&mut self) {
        self.close();
    }
}


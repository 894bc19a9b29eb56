// SPDX-License-Identifier: GPL-2.0-only
//! One collector's kernel UDP socket, with the original's error counters.

use super::destination::{sockaddr, Destination};
use crate::sys::udp::{address_not_available, no_device, not_connected, Endpoints, UdpSocket};
use core::ffi::CStr;
use kernel::error::{code::*, Error, Result};
use kernel::prelude::*;

/// A destination and its socket (connected, or not yet: every send retries).
pub struct ExportSocket {
    sock: Option<UdpSocket>,
    /// Where it sends.
    pub dest: Destination,
    /// ICMP errors reported on the sockets closed so far (the counter
    /// survives reconnects).
    cberr_closed: u32,
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

/// Whether a send that failed with `e` rebuilds the socket (see
/// [`ExportSocket::send`]).
pub fn rebuilds_socket(e: Error) -> bool {
    e == EINVAL || e == no_device() || e == address_not_available()
}

impl ExportSocket {
    /// A socket for `dest`, connected if possible (a failure is counted and
    /// retried at the next send, like the original's "will try reconnect").
    pub fn new(dest: Destination, sndbuf: i32) -> Result<KBox<Self>> {
        let mut s = KBox::new(
            ExportSocket {
                sock: None,
                dest,
                cberr_closed: 0,
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
        self.sock.is_some()
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
        match self.open(sndbuf) {
            Ok(sock) => self.sock = Some(sock),
            Err(_) => self.err_connect += 1,
        }
    }

    fn open(&self, sndbuf: i32) -> Result<UdpSocket> {
        let (peer, peer_len) = sockaddr(&self.dest.addr);
        let bind = self.dest.bind.map(|ip| sockaddr(&core::net::SocketAddr::new(ip, 0)));
        let ifname = match self.dest.ifname.as_ref() {
            Some(name) => Some(CStr::from_bytes_until_nul(name).map_err(|_| EINVAL)?),
            None => None,
        };
        let ends = Endpoints {
            peer: peer.get(..peer_len).ok_or(EINVAL)?,
            bind: match &bind {
                Some((b, n)) => Some(b.get(..*n).ok_or(EINVAL)?),
                None => None,
            },
            ifname,
        };
        UdpSocket::connect(&ends, sndbuf)
    }

    /// Sends one export packet, connecting first if needed. A socket that
    /// fails because what it was bound to went away is rebuilt and the
    /// packet tried once more on the new one.
    pub fn send(&mut self, packet: &[u8], sndbuf: i32) -> Result {
        match self.send_once(packet, sndbuf) {
            // EINVAL is the original's cue to rebuild the socket (at its
            // next send). A device the socket was bound to that went away
            // is one too (ENODEV; EADDRNOTAVAIL for an IPv6 source
            // address): the new socket binds to the device of that name,
            // or the address, again if it is back, where the old one would
            // fail for good.
            Err(e) if rebuilds_socket(e) => {
                self.close();
                self.send_once(packet, sndbuf)
            }
            done => done,
        }
    }

    fn send_once(&mut self, packet: &[u8], sndbuf: i32) -> Result {
        if !self.is_connected() {
            self.connect(sndbuf);
            if self.is_connected() {
                crate::log_info!("ipt_NETFLOW: connected {}\n", self.dest.addr);
            }
        }
        let Some(sock) = self.sock.as_ref() else {
            return Err(not_connected());
        };
        let e = match sock.send(packet) {
            Ok(()) => {
                self.wmem_peak = self.wmem_peak.max(sock.queued());
                return Ok(());
            }
            Err(e) => e,
        };
        if e == EAGAIN {
            self.err_full += 1;
        } else {
            self.err_other += 1;
        }
        Err(e)
    }

    /// The socket buffer size and the bytes queued now (0, 0 unconnected).
    pub fn sndbuf(&self) -> (u32, u32) {
        self.sock.as_ref().map_or((0, 0), |s| (s.sndbuf(), s.queued()))
    }

    /// Sets the socket buffer size (kept for a reconnect by the caller).
    pub fn set_sndbuf(&mut self, sndbuf: i32) {
        if let Some(s) = self.sock.as_ref() {
            s.set_sndbuf(sndbuf);
        }
    }

    /// ICMP errors seen so far.
    pub fn cberr(&self) -> u32 {
        self.cberr_closed.wrapping_add(self.sock.as_ref().map_or(0, UdpSocket::errors))
    }

    fn close(&mut self) {
        if let Some(s) = self.sock.take() {
            self.cberr_closed = self.cberr_closed.wrapping_add(s.errors());
        }
    }
}

/// A destination ends with its socket: at a destination write and at
/// unload, with the original's line.
impl Drop for ExportSocket {
    fn drop(&mut self) {
        crate::log_info!("ipt_NETFLOW: removed destination {}\n", self.dest.addr);
    }
}

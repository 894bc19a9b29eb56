// SPDX-License-Identifier: GPL-2.0-only
//! A flow record: one flow key, what its packets added up to, and what its
//! first packet said, plus the links that place it in a [`FlowTable`].
//!
//! [`FlowTable`]: super::flow_table::FlowTable

use super::flow_key::{proto, FlowKey, PacketInfo};
#[cfg(feature = "direction")]
use super::link_layer::Hook;
use super::link_layer::LinkFacts;
use core::ptr::null_mut;

/// Time in scheduler ticks (jiffies in the kernel).
pub type Ticks = u64;

/// A time stamp in a flow record: the low 32 bits of the tick count.
/// Keeping first and last packet times in this form saves 8 bytes per
/// record (144 -> 128, two cache lines); ages computed from it are exact up
/// to 2^31 ticks (24.8 days at HZ=1000), far beyond the longest a flow may
/// live (`expiry::MAX_TIMEOUT`). NetFlow v5 and v9 carry these times as
/// 32-bit milliseconds of uptime, which wrap sooner.
pub type Stamp = u32;

/// The stamp of tick count `t`.
#[inline(always)]
pub fn stamp(t: Ticks) -> Stamp {
    t as Stamp
}

/// Ticks from stamp `at` to `now`; a stamp "in the future" (the clock read a
/// moment earlier on another CPU) counts as no time.
#[inline(always)]
fn since(at: Stamp, now: Ticks) -> Ticks {
    let d = stamp(now).wrapping_sub(at) as i32;
    if d < 0 {
        0
    } else {
        d as Ticks
    }
}

/// A flow whose byte counter reaches this is exported (active expiry), so
/// the 32-bit counters of the export formats never wrap.
pub const BYTES_WATERMARK: u32 = 0xffef_ffff;

/// TCP FIN.
pub const TCP_FIN: u8 = 0x01;
/// TCP RST.
pub const TCP_RST: u8 = 0x04;

/// Why a flow was exported (IPFIX `flowEndReason`, element 136).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum EndReason {
    /// Not expired yet.
    #[default]
    None = 0,
    /// No packet for `inactive_timeout`.
    Idle = 1,
    /// Older than `active_timeout`, or its byte counter is full.
    Active = 2,
    /// Idle, and a TCP FIN or RST was seen.
    EndOfFlow = 3,
    /// Flushed: sysctl `flush`, a protocol change, or module unload.
    Forced = 4,
}

/// Values a flow takes from its first packet only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FirstPacket {
    /// Output interface index, or `NO_INTERFACE`.
    pub o_ifc: u16,
    /// Next hop (IPv4 in the first 4 bytes), zero when unknown.
    pub nexthop: [u8; 16],
    /// IPv6 flow label.
    pub flow_label: u32,
    /// Source prefix length (aggregation), 0 when not set.
    pub s_mask: u8,
    /// Destination prefix length (aggregation), 0 when not set.
    pub d_mask: u8,
    /// The ethernet type (`skb->protocol`), in builds that export it.
    #[cfg(any(feature = "mac", feature = "vlan"))]
    pub ethertype: u16,
    /// IPFIX flowDirection of the hook that metered the first packet.
    #[cfg(feature = "direction")]
    pub direction: u8,
    /// The bridge port the first packet came in on, else its input
    /// interface, or `NO_INTERFACE`.
    #[cfg(feature = "physdev")]
    pub phys_in: u16,
    /// The bridge port it left through, else its output interface, or
    /// `NO_INTERFACE`.
    #[cfg(feature = "physdev")]
    pub phys_out: u16,
}

impl FirstPacket {
    /// Fills what a flow takes from its first packet's link layer (in the
    /// builds with link-layer fields), given the interfaces the packet was
    /// metered with.
    #[allow(unused_variables)]
    pub fn fill_link_layer(&mut self, link: &LinkFacts<'_>, in_ifc: u16, out_ifc: u16) {
        #[cfg(any(feature = "mac", feature = "vlan"))]
        {
            self.ethertype = link.ethertype;
        }
        #[cfg(feature = "direction")]
        {
            self.direction = link.hook.map_or(0, Hook::flow_direction);
        }
        #[cfg(feature = "physdev")]
        {
            self.phys_in = link.phys_in.unwrap_or(in_ifc);
            self.phys_out = link.phys_out.unwrap_or(out_ifc);
        }
    }
}

/// One flow. The link fields belong to the table that holds the flow (or to
/// the export list it was moved to) and are not to be touched elsewhere.
#[derive(Debug)]
#[repr(C)]
pub struct Flow {
    pub(crate) hash_next: *mut Flow,
    pub(crate) lru_prev: *mut Flow,
    pub(crate) lru_next: *mut Flow,
    /// The key's hash (seeded), which decides the bucket.
    pub hash: u32,
    /// Packets accounted.
    pub packets: u32,
    /// Bytes (IP length) accounted.
    pub bytes: u32,
    /// IPv4 options bitmap or IPv6 extension-header bits, OR-ed.
    pub options: u32,
    /// TCP options bitmap, OR-ed.
    pub tcp_options: u32,
    /// TCP flags, OR-ed.
    pub tcp_flags: u8,
    /// Set once the flow leaves its table.
    pub end_reason: EndReason,
    /// The CPU whose table holds the record (fills what was padding).
    pub cpu: u16,
    /// The key.
    pub key: FlowKey,
    /// When the first packet was accounted.
    pub first: Stamp,
    /// When the last packet was accounted.
    pub last: Stamp,
    /// What the first packet said.
    pub first_packet: FirstPacket,
}

// Two cache lines on 64-bit machines: what /proc and the memory figures
// report per flow. A field added here should find room, not a third line.
// The builds with compiled-in link-layer fields pay for them with a third.
#[cfg(all(
    target_pointer_width = "64",
    not(any(
        feature = "mac",
        feature = "vlan",
        feature = "mpls",
        feature = "direction",
        feature = "physdev"
    ))
))]
const _: () = assert!(core::mem::size_of::<Flow>() == 128);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(core::mem::size_of::<Flow>() <= 192);

impl Flow {
    /// A new flow for `info`'s key, accounting nothing yet.
    pub fn new(info: &PacketInfo, hash: u32, now: Ticks, first_packet: FirstPacket) -> Self {
        Flow {
            hash_next: null_mut(),
            lru_prev: null_mut(),
            lru_next: null_mut(),
            hash,
            packets: 0,
            bytes: 0,
            options: 0,
            tcp_options: 0,
            tcp_flags: 0,
            end_reason: EndReason::None,
            cpu: 0,
            key: info.key,
            first: stamp(now),
            last: stamp(now),
            first_packet,
        }
    }

    /// Adds one packet.
    #[inline]
    pub fn account(&mut self, info: &PacketInfo, now: Ticks) {
        self.packets = self.packets.wrapping_add(1);
        self.bytes = self.bytes.saturating_add(info.ip_len);
        self.last = stamp(now);
        self.tcp_flags |= info.tcp_flags;
        self.options |= info.options;
        self.tcp_options |= info.tcp_options;
    }

    /// Adds another record of the same flow (the same key metered on another
    /// CPU) into this one.
    pub fn absorb(&mut self, other: &Flow) {
        debug_assert_eq!(self.key, other.key);
        self.packets = self.packets.wrapping_add(other.packets);
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.tcp_flags |= other.tcp_flags;
        self.options |= other.options;
        self.tcp_options |= other.tcp_options;
        if (other.first.wrapping_sub(self.first) as i32) < 0 {
            self.first = other.first;
            self.first_packet = other.first_packet;
        }
        if (other.last.wrapping_sub(self.last) as i32) > 0 {
            self.last = other.last;
        }
    }

    /// Ticks from the first packet to `now`.
    #[inline(always)]
    pub fn age(&self, now: Ticks) -> Ticks {
        since(self.first, now)
    }

    /// Ticks from the last packet to `now`.
    #[inline(always)]
    pub fn idle_for(&self, now: Ticks) -> Ticks {
        since(self.last, now)
    }

    /// The tick count at the first packet, given the count `now`.
    pub fn first_tick(&self, now: Ticks) -> Ticks {
        now.wrapping_sub(self.age(now))
    }

    /// The tick count at the last packet, given the count `now`.
    pub fn last_tick(&self, now: Ticks) -> Ticks {
        now.wrapping_sub(self.idle_for(now))
    }

    /// Whether this is a TCP flow that has seen FIN or RST.
    pub fn tcp_finished(&self) -> bool {
        self.key.protocol == proto::TCP && self.tcp_flags & (TCP_FIN | TCP_RST) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_packet_and_interfaces() {
        let k = LinkFacts::from_kernel(&[], &[], None, 0x0800, 2, (7, 8));
        let mut fp = FirstPacket::default();
        fp.fill_link_layer(&k, 1, 2);
        #[cfg(feature = "direction")]
        assert_eq!(fp.direction, 255);
        #[cfg(feature = "physdev")]
        assert_eq!((fp.phys_in, fp.phys_out), (7, 8));
        #[cfg(any(feature = "mac", feature = "vlan"))]
        assert_eq!(fp.ethertype, 0x0800);
        let overridden = cfg!(feature = "physdev-override");
        assert_eq!(k.key_in_ifindex(1), if overridden { 7 } else { 1 });
        assert_eq!(k.out_ifindex(2), if overridden { 8 } else { 2 });
        let local = LinkFacts::from_kernel(&[], &[], None, 0x0800, 3, (0, 0));
        let mut fp = FirstPacket::default();
        fp.fill_link_layer(&local, 0xffff, 4);
        #[cfg(feature = "physdev")]
        assert_eq!(
            (fp.phys_in, fp.phys_out),
            (0xffff, 4),
            "no bridge: the devices"
        );
        #[cfg(feature = "direction")]
        assert_eq!(fp.direction, 1);
        assert_eq!(
            (local.key_in_ifindex(0xffff), local.out_ifindex(4)),
            (0xffff, 4)
        );
    }
}

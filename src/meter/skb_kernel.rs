// SPDX-License-Identifier: GPL-2.0-only
//! The packet a `NETFLOW` rule hands over, as the meter reads it: the
//! socket buffer's bytes through [`PacketBytes`] and the interfaces of the
//! hook, in the NetFlow form.

use super::flow_key::NO_INTERFACE;
use core::mem::MaybeUninit;
#[cfg(feature = "link-layer")]
use super::link_layer::LinkFacts;
use super::packet::{L3Family, PacketBytes};
use crate::sys::skb::{HookDevices, SkbView, IFNAMSIZ};
use crate::sys::xtables::{Family, TargetCall};

impl PacketBytes for SkbView<'_> {
    #[inline(always)]
    fn len(&self) -> usize {
        SkbView::len(self)
    }

    #[inline(always)]
    fn bytes<'a>(&'a self, offset: usize, len: usize, scratch: &'a mut [u8]) -> Option<&'a [u8]> {
        SkbView::bytes(self, offset, len, scratch)
    }

    /// As the default, with the array reference made straight from the
    /// pointer: one bounds check per header on the packet path.
    #[inline(always)]
    fn header<'a, const N: usize>(&'a self, offset: usize, scratch: &'a mut MaybeUninit<[u8; N]>) -> Option<&'a [u8; N]> {
        SkbView::header(self, offset, scratch)
    }
}

/// One packet handed to the target: its bytes, its hook and its family.
pub struct Packet<'a> {
    /// The bytes from the network header on.
    pub bytes: SkbView<'a>,
    devices: HookDevices<'a>,
    /// What the rule was registered for.
    pub family: L3Family,
    /// Its link layer, in the builds with link-layer fields.
    #[cfg(feature = "link-layer")]
    pub link: LinkFacts<'a>,
}

/// The link-layer facts of a target call's packet.
#[cfg(feature = "link-layer")]
#[inline]
fn link_facts<'a>(call: &TargetCall<'a>) -> LinkFacts<'a> {
    let l = call.link();
    let devs = l.dev_vlan.get(..usize::from(l.dev_vlan_count)).unwrap_or(&[]);
    LinkFacts::from_kernel(l.frame, devs, l.accel_tci, l.protocol, l.hook, (l.phys_in, l.phys_out))
}

impl<'a> Packet<'a> {
    /// The packet of a target call.
    #[inline(always)]
    pub fn of(call: &TargetCall<'a>, family: Family) -> Self {
        let family = match family {
            Family::Ipv4 => L3Family::Ipv4,
            Family::Ipv6 => L3Family::Ipv6,
        };
        Packet {
            bytes: call.skb(),
            devices: call.devices(),
            family,
            #[cfg(feature = "link-layer")]
            link: link_facts(call),
        }
    }

    /// The input interface, truncated to the 16 bits NetFlow v5 carries,
    /// or [`NO_INTERFACE`] for locally generated packets.
    #[inline(always)]
    pub fn in_ifindex(&self) -> u16 {
        self.devices.in_ifindex().map_or(NO_INTERFACE, |i| i as u16)
    }

    /// The output interface as [`Packet::in_ifindex`], [`NO_INTERFACE`]
    /// before routing.
    #[inline(always)]
    pub fn out_ifindex(&self) -> u16 {
        self.devices.out_ifindex().map_or(NO_INTERFACE, |i| i as u16)
    }

    /// The input interface's name (NUL-padded), none for locally generated
    /// packets.
    #[inline]
    pub fn in_name(&self) -> Option<[u8; IFNAMSIZ]> {
        self.devices.in_name()
    }

    /// The output interface's name, none before routing.
    #[inline]
    pub fn out_name(&self) -> Option<[u8; IFNAMSIZ]> {
        self.devices.out_name()
    }

    /// The routing decision's next hop (zero when there is none).
    #[inline]
    pub fn nexthop(&self) -> [u8; 16] {
        self.bytes.nexthop(self.family == L3Family::Ipv6)
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! Any frame: promisc mode's walk to the IP header (VLAN tags, MPLS labels,
//! the receive checks) stays inside the bytes and accepts only an IP
//! packet that fits in them; the link-layer key (MACs, VLAN tags, label
//! stack) reads nothing past the frame and keeps at most what it may.
//!
//! Input: 2 bytes of the packet's type (skb->protocol), 1 byte of flags
//! (bit 0: MPLS decapsulation on; bit 1: a tag the NIC took off), then the
//! bytes.
#![no_main]

use ipt_netflow::meter::link_layer::{in_frame_labels, in_frame_tags, LinkFacts, VLAN_TAGS};
use ipt_netflow::meter::promisc::{decapsulate, Decap};
use libfuzzer_sys::fuzz_target;

/// A packet in a byte slice, read from a position that only moves forward.
struct Frame<'a> {
    ty: u16,
    data: &'a [u8],
    at: usize,
}

impl Decap for Frame<'_> {
    fn protocol(&self) -> u16 {
        self.ty
    }
    fn header(&mut self, len: usize) -> Option<&[u8]> {
        self.data.get(self.at..self.at.checked_add(len)?)
    }
    fn pull(&mut self, len: usize) {
        // The walk pulls only what `header` returned.
        assert!(self.at + len <= self.data.len());
        self.at += len;
    }
    fn len(&self) -> usize {
        self.data.len() - self.at
    }
}

fuzz_target!(|input: &[u8]| {
    let [t0, t1, flags, data @ ..] = input else {
        return;
    };
    let mut f = Frame { ty: u16::from_be_bytes([*t0, *t1]), data, at: 0 };
    if let Ok(ip) = decapsulate(&mut f, flags & 1 != 0) {
        assert!(f.at + ip.len <= data.len());
        assert!(ip.l4_offset <= ip.len);
        let version = data[f.at] >> 4;
        assert_eq!(version, if ip.ipv6 { 6 } else { 4 });
    }

    assert!(in_frame_tags(data).count() <= VLAN_TAGS);
    let labels = in_frame_labels::<10>(data);
    // Entries after the bottom of the stack are never kept.
    if let Some(bottom) = labels.iter().position(|e| e[2] & 1 != 0) {
        assert!(labels[bottom + 1..].iter().all(|e| *e == [0; 4]));
    }
    let accel = (flags & 2 != 0).then_some(0x2064);
    let facts = LinkFacts::from_kernel(data, &[7, 8, 9], accel, 0x0800, *flags, (i32::from(*t0), -1));
    let key = facts.key();
    assert_eq!(key.vlan[0], 9u16.to_be_bytes(), "the outermost device's tag comes first");
    if data.len() >= 14 {
        assert_eq!(key.dst_mac, data[..6]);
    }
    assert_eq!(key.mpls, in_frame_labels(data));
});

// SPDX-License-Identifier: GPL-2.0-only
//! The link-layer fields of the builds that compile them in (configure's
//! `--enable-macaddress`, `--enable-vlan`, `--enable-direction`,
//! `--enable-physdev`, `--enable-physdev-override`; cargo features of the
//! same names): MAC addresses and VLAN tags, which are part of the flow
//! key, and the ethernet type, direction and bridge ports a flow takes from
//! its first packet.
//!
//! The default build has none of them: [`L2Key`] is then empty and
//! [`LinkFacts`] is never read, so the packet path and the record are what
//! they are without this file.

/// Bytes of an Ethernet header: two addresses and the type.
pub const ETH_HLEN: usize = 14;
/// 802.1Q customer VLAN tag.
pub const ETH_P_8021Q: u16 = 0x8100;
/// 802.1ad service VLAN tag (QinQ's outer tag).
pub const ETH_P_8021AD: u16 = 0x88a8;
/// VLAN tags a flow key keeps: the outer one and one inner.
pub const VLAN_TAGS: usize = 2;
/// MPLS unicast.
pub const ETH_P_MPLS_UC: u16 = 0x8847;
/// MPLS multicast.
pub const ETH_P_MPLS_MC: u16 = 0x8848;
/// Label stack entries a flow key keeps, in the build with MPLS-aware
/// flows (configure `--promisc-mpls=N`, 1 to 10, 3 by default).
pub const MPLS_DEPTH: usize = if cfg!(nf_mpls_depth = "1") {
    1
} else if cfg!(nf_mpls_depth = "2") {
    2
} else if cfg!(nf_mpls_depth = "4") {
    4
} else if cfg!(nf_mpls_depth = "5") {
    5
} else if cfg!(nf_mpls_depth = "6") {
    6
} else if cfg!(nf_mpls_depth = "7") {
    7
} else if cfg!(nf_mpls_depth = "8") {
    8
} else if cfg!(nf_mpls_depth = "9") {
    9
} else if cfg!(nf_mpls_depth = "10") {
    10
} else {
    3
};

/// The link-layer part of a flow key: only byte arrays, so it adds no
/// padding wherever it sits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct L2Key {
    /// The MPLS label stack entries (label, traffic class, bottom of
    /// stack, TTL) in network order, the top first; zero past the bottom.
    #[cfg(feature = "mpls")]
    pub mpls: [[u8; 4]; MPLS_DEPTH],
    /// The VLAN tags' control information (PCP, DEI, VLAN id) in network
    /// order, the outer first; zero where there is no tag.
    #[cfg(feature = "vlan")]
    pub vlan: [[u8; 2]; VLAN_TAGS],
    /// Destination MAC address.
    #[cfg(feature = "mac")]
    pub dst_mac: [u8; 6],
    /// Source MAC address.
    #[cfg(feature = "mac")]
    pub src_mac: [u8; 6],
}

/// Whether this build keys flows by their MAC addresses or VLAN tags.
pub const KEYS_LINK_LAYER: bool = cfg!(feature = "mac") || cfg!(feature = "vlan");

/// The netfilter hook a packet was metered at, in the kernel's numbering
/// (`enum nf_inet_hooks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Hook {
    /// Before routing.
    PreRouting = 0,
    /// Delivered to this host.
    LocalIn = 1,
    /// Routed through this host.
    Forward = 2,
    /// Sent by this host.
    LocalOut = 3,
    /// After routing, on the way out.
    PostRouting = 4,
}

impl Hook {
    /// The hook of the kernel's number, `None` for a number no IP hook has.
    pub fn from_raw(n: u32) -> Option<Self> {
        Some(match n {
            0 => Hook::PreRouting,
            1 => Hook::LocalIn,
            2 => Hook::Forward,
            3 => Hook::LocalOut,
            4 => Hook::PostRouting,
            _ => return None,
        })
    }

    /// IPFIX flowDirection (element 61) as the original exports it: 0
    /// (ingress) before delivery, 1 (egress) on the way out, and 255, which
    /// IANA leaves unassigned, for forwarded packets.
    pub fn flow_direction(self) -> u8 {
        match self {
            Hook::PreRouting | Hook::LocalIn => 0,
            Hook::LocalOut | Hook::PostRouting => 1,
            Hook::Forward => 255,
        }
    }
}

/// What the kernel knows of a packet's link layer besides its bytes: the
/// facts the kernel glue gathers for the builds that use them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkFacts<'a> {
    /// The bytes from the MAC header to the network header; empty when the
    /// packet has no MAC header (sent by this host) or a shorter one than
    /// an Ethernet header.
    pub frame: &'a [u8],
    /// VLAN tags that are no longer in `frame`, outer first: the tag the
    /// NIC took off (with its priority), or the VLAN ids of the VLAN
    /// devices the packet came in through (QinQ: two), whose kernel code
    /// took the tags off.
    pub outer_tags: [u16; VLAN_TAGS],
    /// How many of `outer_tags` there are.
    pub outer_count: u8,
    /// The packet's ethernet type (`skb->protocol`), host order.
    pub ethertype: u16,
    /// The hook, `None` if the kernel named one no IP hook has.
    pub hook: Option<Hook>,
    /// The bridge port bridged traffic came in on (br_netfilter), if any.
    pub phys_in: Option<u16>,
    /// The bridge port it leaves through, if known yet.
    pub phys_out: Option<u16>,
}

impl<'a> LinkFacts<'a> {
    /// The facts as the kernel gathers them: `frame`, the VLAN ids of the
    /// VLAN devices that took their tags off, innermost first (the order in
    /// which the kernel walks down from the packet's device), the tag the
    /// NIC took off (under those devices' tags: QinQ with only an outer
    /// VLAN device), `skb->protocol`, the hook number and the bridge
    /// ports' ifindexes (0 for none).
    pub fn from_kernel(
        frame: &'a [u8],
        dev_vlan_innermost_first: &[u16],
        accel_tci: Option<u16>,
        ethertype: u16,
        hook: u8,
        phys: (i32, i32),
    ) -> Self {
        let mut outer_tags = [0u16; VLAN_TAGS];
        let mut n = 0usize;
        let tags = dev_vlan_innermost_first
            .iter()
            .rev()
            .copied()
            .chain(accel_tci);
        for (slot, tag) in outer_tags.iter_mut().zip(tags) {
            *slot = tag;
            n += 1;
        }
        let port = |i: i32| u16::try_from(i).ok().filter(|&i| i != 0);
        LinkFacts {
            frame,
            outer_tags,
            outer_count: n as u8,
            ethertype,
            hook: Hook::from_raw(u32::from(hook)),
            phys_in: port(phys.0),
            phys_out: port(phys.1),
        }
    }

    /// The input interface a flow is keyed by: the bridge port in the build
    /// with `physdev-override`, else `in_ifc`.
    #[inline]
    pub fn key_in_ifindex(&self, in_ifc: u16) -> u16 {
        if cfg!(feature = "physdev-override") {
            self.phys_in.unwrap_or(in_ifc)
        } else {
            in_ifc
        }
    }

    /// The output interface a flow records: the bridge port in the build
    /// with `physdev-override`, else `out_ifc`.
    #[inline]
    pub fn out_ifindex(&self, out_ifc: u16) -> u16 {
        if cfg!(feature = "physdev-override") {
            self.phys_out.unwrap_or(out_ifc)
        } else {
            out_ifc
        }
    }

    /// The flow key's link-layer part: the MAC addresses of the Ethernet
    /// header and up to [`VLAN_TAGS`] tags, those the kernel took off first,
    /// then those still in the frame (802.1Q or 802.1ad), outer first.
    /// Nothing is read past `frame`.
    pub fn key(&self) -> L2Key {
        #[allow(unused_mut)]
        let mut key = L2Key::default();
        #[cfg(feature = "mac")]
        if let Some(eth) = self.frame.get(..ETH_HLEN) {
            key.dst_mac.copy_from_slice(&eth[..6]);
            key.src_mac.copy_from_slice(&eth[6..12]);
        }
        #[cfg(feature = "vlan")]
        {
            let mut n = 0;
            for &tag in self.outer_tags.iter().take(usize::from(self.outer_count)) {
                if let Some(slot) = key.vlan.get_mut(n) {
                    *slot = tag.to_be_bytes();
                    n += 1;
                }
            }
            for tag in in_frame_tags(self.frame) {
                let Some(slot) = key.vlan.get_mut(n) else {
                    break;
                };
                *slot = tag.to_be_bytes();
                n += 1;
            }
        }
        #[cfg(feature = "mpls")]
        {
            key.mpls = in_frame_labels(self.frame);
        }
        key
    }
}

/// The MPLS label stack entries after an Ethernet frame's header and VLAN
/// tags (in promisc mode the stack stays there when the packet is taken
/// apart), the top first, up to the bottom of the stack or `N` entries.
/// Entries cut short by the end of `frame` are not read.
pub fn in_frame_labels<const N: usize>(frame: &[u8]) -> [[u8; 4]; N] {
    let mut out = [[0u8; 4]; N];
    let at = tags_and_next(frame).last().map_or(12, |(_, next)| next);
    let Some(&[t0, t1]) = frame.get(at..at + 2) else {
        return out;
    };
    let ty = u16::from_be_bytes([t0, t1]);
    if ty != ETH_P_MPLS_UC && ty != ETH_P_MPLS_MC {
        return out;
    }
    let mut at = at + 2;
    for slot in &mut out {
        let Some(entry) = frame.get(at..at + 4) else {
            break;
        };
        slot.copy_from_slice(entry);
        at += 4;
        if entry[2] & 1 != 0 {
            break;
        }
    }
    out
}

/// The VLAN tags' control information in an Ethernet frame's header, outer
/// first: each 802.1Q or 802.1ad type after the addresses is followed by a
/// tag. A tag cut short by the end of `frame` ends the walk.
pub fn in_frame_tags(frame: &[u8]) -> impl Iterator<Item = u16> + '_ {
    tags_and_next(frame).map(|(tci, _)| tci).take(VLAN_TAGS)
}

/// Every VLAN tag of a frame's header, outer first, with the offset of the
/// type that follows it (the one walk of the tags, for the key's tags and
/// for what comes after them).
fn tags_and_next(frame: &[u8]) -> impl Iterator<Item = (u16, usize)> + '_ {
    let mut at = 12usize;
    core::iter::from_fn(move || {
        let ty = u16::from_be_bytes(frame.get(at..at + 2)?.try_into().ok()?);
        if ty != ETH_P_8021Q && ty != ETH_P_8021AD {
            return None;
        }
        let tci = u16::from_be_bytes(frame.get(at + 2..at + 4)?.try_into().ok()?);
        at += 4;
        Some((tci, at))
    })
}

/// A VLAN tag's id (the low 12 bits of its control information).
pub fn vlan_id(tci: u16) -> u16 {
    tci & 0x0fff
}

/// A VLAN tag's priority (PCP, the top 3 bits).
pub fn vlan_priority(tci: u16) -> u8 {
    (tci >> 13) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    const DST: [u8; 6] = [0x02, 0, 0, 0, 0, 0xd];
    const SRC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x5];

    fn frame(tags: &[(u16, u16)], ty: u16) -> std::vec::Vec<u8> {
        let mut f = std::vec::Vec::new();
        f.extend_from_slice(&DST);
        f.extend_from_slice(&SRC);
        for &(tpid, tci) in tags {
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&tci.to_be_bytes());
        }
        f.extend_from_slice(&ty.to_be_bytes());
        f
    }

    #[test]
    fn directions_as_the_original_exports_them() {
        let d: std::vec::Vec<u8> = (0..5)
            .map(|n| Hook::from_raw(n).unwrap().flow_direction())
            .collect();
        assert_eq!(d, [0, 0, 255, 1, 1]);
        assert_eq!(Hook::from_raw(5), None);
    }

    #[test]
    fn tags_in_the_frame_outer_first_and_at_most_two() {
        let f = frame(
            &[
                (ETH_P_8021AD, 0x2064),
                (ETH_P_8021Q, 0x00c8),
                (ETH_P_8021Q, 7),
            ],
            0x0800,
        );
        let tags: std::vec::Vec<u16> = in_frame_tags(&f).collect();
        assert_eq!(tags, [0x2064, 0x00c8]);
        assert_eq!(in_frame_tags(&frame(&[], 0x0800)).count(), 0);
    }

    #[test]
    fn a_tag_cut_short_is_not_read() {
        let f = frame(&[(ETH_P_8021Q, 0x0123)], 0x0800);
        for cut in 0..f.len() {
            let tags: std::vec::Vec<u16> = in_frame_tags(&f[..cut]).collect();
            assert_eq!(tags.len(), usize::from(cut >= 16), "cut at {cut}");
        }
    }

    #[test]
    fn kernel_facts_put_the_outermost_tag_first() {
        let f = frame(&[], 0x0800);
        // QinQ through two VLAN devices: the walk meets the inner one first.
        let k = LinkFacts::from_kernel(&f, &[200, 100], None, 0x0800, 2, (0, 0));
        assert_eq!((k.outer_tags, k.outer_count), ([100, 200], 2));
        // An outer VLAN device over a tag the NIC still holds.
        let k = LinkFacts::from_kernel(&f, &[100], Some(0x6014), 0x86dd, 0, (3, 0));
        assert_eq!((k.outer_tags, k.outer_count), ([100, 0x6014], 2));
        assert_eq!(
            (k.ethertype, k.hook, k.phys_in, k.phys_out),
            (0x86dd, Some(Hook::PreRouting), Some(3), None)
        );
        // Never more than two.
        let k = LinkFacts::from_kernel(&f, &[3, 2, 1], Some(9), 0, 9, (-1, 70000));
        assert_eq!((k.outer_tags, k.outer_count, k.hook), ([1, 2], 2, None));
        assert_eq!((k.phys_in, k.phys_out), (None, None), "no 16-bit index");
    }

    #[test]
    fn labels_after_the_tags_up_to_the_bottom_of_the_stack() {
        let mut f = frame(&[(ETH_P_8021Q, 10)], ETH_P_MPLS_UC);
        f.extend_from_slice(&[0, 1, 0, 64, 0, 2, 1, 63, 0x45, 0, 0, 0]);
        assert_eq!(
            in_frame_labels::<3>(&f),
            [[0, 1, 0, 64], [0, 2, 1, 63], [0; 4]]
        );
        assert_eq!(in_frame_labels::<1>(&f), [[0, 1, 0, 64]]);
        // Cut inside the second entry: only the first is read.
        assert_eq!(
            in_frame_labels::<3>(&f[..f.len() - 6]),
            [[0, 1, 0, 64], [0; 4], [0; 4]]
        );
        assert_eq!(in_frame_labels::<2>(&frame(&[], 0x0800)), [[0; 4]; 2]);
        assert_eq!(in_frame_labels::<2>(&f[..13]), [[0; 4]; 2]);
    }

    #[test]
    fn vlan_fields() {
        assert_eq!((vlan_id(0xa00a), vlan_priority(0xa00a)), (10, 5));
    }

    #[cfg(feature = "mac")]
    #[test]
    fn macs_come_from_the_ethernet_header_only_when_it_is_whole() {
        let f = frame(&[], 0x0800);
        let facts = LinkFacts {
            frame: &f,
            ..Default::default()
        };
        assert_eq!((facts.key().dst_mac, facts.key().src_mac), (DST, SRC));
        let short = LinkFacts {
            frame: &f[..13],
            ..Default::default()
        };
        assert_eq!(short.key().src_mac, [0; 6]);
    }

    #[cfg(feature = "vlan")]
    #[test]
    fn tags_the_kernel_took_off_come_before_those_in_the_frame() {
        let f = frame(&[(ETH_P_8021Q, 0x0014)], 0x0800);
        let facts = LinkFacts {
            frame: &f,
            outer_tags: [0x600a, 0],
            outer_count: 1,
            ..Default::default()
        };
        assert_eq!(facts.key().vlan, [[0x60, 0x0a], [0x00, 0x14]]);
        let qinq = LinkFacts {
            frame: &f,
            outer_tags: [100, 200],
            outer_count: 2,
            ..Default::default()
        };
        assert_eq!(
            qinq.key().vlan,
            [100u16.to_be_bytes(), 200u16.to_be_bytes()]
        );
        let none = LinkFacts::default();
        assert_eq!(none.key().vlan, [[0; 2]; 2]);
    }
}

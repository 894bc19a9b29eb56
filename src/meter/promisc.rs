// SPDX-License-Identifier: GPL-2.0-only
//! Promisc mode's view of a packet received for another host (a mirror
//! port's copy of other hosts' traffic): the VLAN tags and, in the build
//! with `--promisc-mpls`, the MPLS label stack before its IP header are
//! stepped over (they stay readable as link-layer bytes, for the flow
//! key), and the IP header gets the checks the kernel's own receive path
//! would have made before PREROUTING: a packet that fails them is
//! discarded and counted, never read past its end.

use super::link_layer::{ETH_P_8021AD, ETH_P_8021Q, ETH_P_MPLS_MC, ETH_P_MPLS_UC};

/// IPv4.
pub const ETH_P_IP: u16 = 0x0800;
/// IPv6.
pub const ETH_P_IPV6: u16 = 0x86dd;

/// Tags stepped over at most (the kernel took the outermost off already).
pub const MAX_TAGS: usize = 4;
/// Label stack entries stepped over at most.
pub const MAX_LABELS: usize = 16;

/// A packet as promisc mode walks it: its bytes from the current position
/// on, which `pull` moves forward.
pub trait Decap {
    /// The type of what is at the current position (`skb->protocol` at
    /// first, host order).
    fn protocol(&self) -> u16;
    /// The first `len` bytes from the current position, or `None` when
    /// the packet is shorter.
    fn header(&mut self, len: usize) -> Option<&[u8]>;
    /// Moves the current position `len` bytes forward (bytes `header`
    /// returned).
    fn pull(&mut self, len: usize);
    /// Bytes from the current position to the end.
    fn len(&self) -> usize;
    /// Whether nothing is left.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a packet was discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discard {
    /// Not IP (ARP, another protocol, MPLS in a build without
    /// `--promisc-mpls`), or an IP version that is not what the type said.
    NotIp,
    /// Cut short: a tag, label or IP header does not fit in the packet.
    Truncated,
    /// More tags or labels than are stepped over.
    TooDeep,
    /// An IPv4 header length below 20 bytes.
    BadHeader,
    /// An IPv4 header whose checksum does not add up.
    BadChecksum,
    /// The IP length is larger than the packet, or smaller than its header
    /// (or an IPv6 jumbogram, which is not taken apart here).
    BadLength,
    /// An IPv6 multicast source, a loopback address, or a multicast
    /// destination of scope 0: what the kernel refuses to receive.
    BadAddress,
}

/// A packet that passed: its IP family, length by its IP header (the
/// packet is trimmed to it) and where its transport header starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// IPv6 rather than IPv4.
    pub ipv6: bool,
    /// Bytes of the IP packet.
    pub len: usize,
    /// Bytes from the IP header to the transport header.
    pub l4_offset: usize,
}

/// Steps over the VLAN tags (and, with `mpls`, the MPLS label stack) to
/// the IP header, and checks it. On success the packet's position is at
/// the IP header.
pub fn decapsulate<D: Decap + ?Sized>(pkt: &mut D, mpls: bool) -> Result<Accepted, Discard> {
    let mut ty = pkt.protocol();
    let mut tags = 0;
    while ty == ETH_P_8021Q || ty == ETH_P_8021AD {
        tags += 1;
        if tags > MAX_TAGS {
            return Err(Discard::TooDeep);
        }
        let h = pkt.header(4).ok_or(Discard::Truncated)?;
        ty = u16::from_be_bytes([h[2], h[3]]);
        pkt.pull(4);
    }
    if mpls && (ty == ETH_P_MPLS_UC || ty == ETH_P_MPLS_MC) {
        ty = skip_labels(pkt)?;
    }
    match ty {
        ETH_P_IP => check_ipv4(pkt),
        ETH_P_IPV6 => check_ipv6(pkt),
        _ => Err(Discard::NotIp),
    }
}

/// Steps over a label stack to its bottom entry; the IP version in the
/// first nibble after it says what follows.
fn skip_labels<D: Decap + ?Sized>(pkt: &mut D) -> Result<u16, Discard> {
    for _ in 0..MAX_LABELS {
        let h = pkt.header(4).ok_or(Discard::Truncated)?;
        let bottom = h[2] & 1 != 0;
        pkt.pull(4);
        if bottom {
            let first = pkt.header(1).ok_or(Discard::Truncated)?[0];
            return match first >> 4 {
                4 => Ok(ETH_P_IP),
                6 => Ok(ETH_P_IPV6),
                _ => Err(Discard::NotIp),
            };
        }
    }
    Err(Discard::TooDeep)
}

fn check_ipv4<D: Decap + ?Sized>(pkt: &mut D) -> Result<Accepted, Discard> {
    let available = pkt.len();
    let h = pkt.header(20).ok_or(Discard::Truncated)?;
    if h[0] >> 4 != 4 {
        return Err(Discard::NotIp);
    }
    let ihl = usize::from(h[0] & 0x0f) * 4;
    if ihl < 20 {
        return Err(Discard::BadHeader);
    }
    let h = pkt.header(ihl).ok_or(Discard::Truncated)?;
    if internet_checksum(h) != 0 {
        return Err(Discard::BadChecksum);
    }
    let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if len < ihl || len > available {
        return Err(Discard::BadLength);
    }
    Ok(Accepted {
        ipv6: false,
        len,
        l4_offset: ihl,
    })
}

fn check_ipv6<D: Decap + ?Sized>(pkt: &mut D) -> Result<Accepted, Discard> {
    let available = pkt.len();
    let h = pkt.header(40).ok_or(Discard::Truncated)?;
    if h[0] >> 4 != 6 {
        return Err(Discard::NotIp);
    }
    let payload = usize::from(u16::from_be_bytes([h[4], h[5]]));
    if payload == 0 || 40 + payload > available {
        return Err(Discard::BadLength);
    }
    let (src, dst) = (&h[8..24], &h[24..40]);
    let loopback = |a: &[u8]| a[..15].iter().all(|&b| b == 0) && a[15] == 1;
    if src[0] == 0xff || loopback(src) || loopback(dst) || (dst[0] == 0xff && dst[1] & 0x0f == 0) {
        return Err(Discard::BadAddress);
    }
    Ok(Accepted {
        ipv6: true,
        len: 40 + payload,
        l4_offset: 40,
    })
}

/// The one's complement sum of `bytes` (16-bit words, big-endian), folded
/// and complemented: zero over a header whose checksum is right.
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut words = bytes.chunks_exact(2);
    for w in &mut words {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// A packet in a byte vector, as the kernel's socket buffer would be.
    struct Bytes {
        ty: u16,
        data: Vec<u8>,
        at: usize,
    }

    impl Decap for Bytes {
        fn protocol(&self) -> u16 {
            self.ty
        }
        fn header(&mut self, len: usize) -> Option<&[u8]> {
            self.data.get(self.at..self.at.checked_add(len)?)
        }
        fn pull(&mut self, len: usize) {
            self.at += len;
        }
        fn len(&self) -> usize {
            self.data.len() - self.at
        }
    }

    fn ipv4(payload: usize) -> Vec<u8> {
        let total = 20 + payload;
        let mut h = std::vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0,
            0,
            64,
            17,
            0,
            0,
            10,
            0,
            0,
            1,
            10,
            0,
            0,
            2
        ];
        let c = internet_checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h.resize(total, 0x55);
        h
    }

    fn ipv6(payload: usize) -> Vec<u8> {
        let mut h = std::vec![0x60, 0, 0, 0, (payload >> 8) as u8, payload as u8, 17, 64];
        h.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        h.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        h.resize(40 + payload, 0x66);
        h
    }

    fn pkt(ty: u16, data: Vec<u8>) -> Bytes {
        Bytes { ty, data, at: 0 }
    }

    #[test]
    fn plain_ipv4_and_ipv6_pass_trimmed_to_their_length() {
        let mut p = ipv4(12);
        p.extend_from_slice(&[0; 18]); // Ethernet padding
        let mut b = pkt(ETH_P_IP, p);
        assert_eq!(
            decapsulate(&mut b, false),
            Ok(Accepted {
                ipv6: false,
                len: 32,
                l4_offset: 20
            })
        );
        assert_eq!(b.at, 0);
        let mut b = pkt(ETH_P_IPV6, ipv6(8));
        assert_eq!(
            decapsulate(&mut b, false),
            Ok(Accepted {
                ipv6: true,
                len: 48,
                l4_offset: 40
            })
        );
    }

    #[test]
    fn tags_and_labels_are_stepped_over() {
        let mut data = std::vec![0x00, 0xc8, 0x88, 0x47]; // inner tag 200, then MPLS
        data.extend_from_slice(&[0x00, 0x01, 0x00, 0x40]); // label 16, TTL 64
        data.extend_from_slice(&[0x00, 0x02, 0x01, 0x3f]); // label 32, bottom of stack
        data.extend(ipv4(8));
        let mut b = pkt(ETH_P_8021Q, data.clone());
        assert_eq!(decapsulate(&mut b, true).map(|a| a.len), Ok(28));
        assert_eq!(b.at, 12);
        // Without --promisc-mpls an MPLS packet is not IP.
        assert_eq!(
            decapsulate(&mut pkt(ETH_P_8021Q, data), false),
            Err(Discard::NotIp)
        );
        // IPv6 under one label.
        let mut v6 = std::vec![0x00, 0x03, 0x01, 0x40];
        v6.extend(ipv6(4));
        assert_eq!(
            decapsulate(&mut pkt(ETH_P_MPLS_UC, v6), true).map(|a| a.ipv6),
            Ok(true)
        );
    }

    #[test]
    fn malformed_packets_are_discarded_with_their_reason() {
        let d = |ty, data: Vec<u8>| decapsulate(&mut pkt(ty, data), true);
        assert_eq!(d(0x0806, std::vec![0; 28]), Err(Discard::NotIp));
        assert_eq!(d(ETH_P_IP, ipv4(0)[..19].to_vec()), Err(Discard::Truncated));
        let mut bad = ipv4(4);
        bad[10] ^= 1;
        assert_eq!(d(ETH_P_IP, bad), Err(Discard::BadChecksum));
        let mut short_ihl = ipv4(4);
        short_ihl[0] = 0x44;
        assert_eq!(d(ETH_P_IP, short_ihl), Err(Discard::BadHeader));
        let mut long = ipv4(4);
        long.truncate(22);
        assert_eq!(d(ETH_P_IP, long), Err(Discard::BadLength));
        assert_eq!(d(ETH_P_IP, ipv6(4)), Err(Discard::NotIp));
        let mut jumbo = ipv6(4);
        jumbo[4..6].copy_from_slice(&[0, 0]);
        assert_eq!(d(ETH_P_IPV6, jumbo), Err(Discard::BadLength));
        let mut mcast_src = ipv6(4);
        mcast_src[8] = 0xff;
        assert_eq!(d(ETH_P_IPV6, mcast_src), Err(Discard::BadAddress));
        let mut scope0 = ipv6(4);
        scope0[24..26].copy_from_slice(&[0xff, 0x00]);
        assert_eq!(d(ETH_P_IPV6, scope0), Err(Discard::BadAddress));
        let tags: Vec<u8> = [0x00, 0x01, 0x81, 0x00].repeat(5);
        assert_eq!(d(ETH_P_8021Q, tags), Err(Discard::TooDeep));
        let labels: Vec<u8> = [0x00, 0x01, 0x00, 0x40].repeat(17);
        assert_eq!(d(ETH_P_MPLS_UC, labels), Err(Discard::TooDeep));
        assert_eq!(
            d(ETH_P_MPLS_UC, std::vec![0x00, 0x01, 0x01]),
            Err(Discard::Truncated)
        );
        assert_eq!(
            d(ETH_P_MPLS_UC, std::vec![0x00, 0x01, 0x01, 0x40, 0x20]),
            Err(Discard::NotIp)
        );
    }

    #[test]
    fn checksum_of_a_known_header() {
        // RFC 1071's example words sum to 0xddf2 (complement 0x220d).
        assert_eq!(
            internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        assert_eq!(internet_checksum(&ipv4(0)[..20]), 0);
    }

    proptest! {
        /// Whatever the bytes, the walk stays inside them and what it
        /// accepts fits in them.
        #[test]
        fn never_reads_past_the_end(data in proptest::collection::vec(any::<u8>(), 0..120),
                                    ty in prop_oneof![Just(ETH_P_IP), Just(ETH_P_IPV6), Just(ETH_P_8021Q),
                                                      Just(ETH_P_8021AD), Just(ETH_P_MPLS_UC), any::<u16>()],
                                    mpls in any::<bool>()) {
            let n = data.len();
            let mut b = pkt(ty, data);
            if let Ok(a) = decapsulate(&mut b, mpls) {
                prop_assert!(b.at + a.len <= n);
                prop_assert!(a.l4_offset <= a.len);
            }
            prop_assert!(b.at <= n);
        }
    }
}

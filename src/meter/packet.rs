// SPDX-License-Identifier: GPL-2.0-only
//! Reading a packet's network-layer headers through a bounds-checked window.
//!
//! The kernel hands the target an `sk_buff` whose bytes may be split between a
//! linear head and page fragments; user-space tests hand it a byte slice. Both
//! are [`PacketBytes`]: every read names an offset and a length and either gets
//! all the bytes or none, so a parser can never read past a packet's end.

use core::mem::MaybeUninit;

/// A packet seen from its network header on, readable only in bounds.
///
/// Reads work like the kernel's `skb_header_pointer`: they return the bytes
/// in place when they are contiguous in memory and copy them into a
/// caller's scratch buffer only when they are not, so the common packet
/// costs no copy at all.
pub trait PacketBytes {
    /// Bytes from the network header to the end of the packet.
    fn len(&self) -> usize;

    /// The `len` bytes starting `offset` bytes after the network header,
    /// in place or copied into `scratch`; `None` when the packet is shorter
    /// than `offset + len` or `scratch` holds fewer than `len` bytes.
    fn bytes<'a>(&'a self, offset: usize, len: usize, scratch: &'a mut [u8]) -> Option<&'a [u8]>;

    /// Whether the packet has no bytes at all past its network header.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A fixed-size header at `offset` (see [`PacketBytes::bytes`]). The
    /// scratch buffer is written only when the bytes are copied, so that a
    /// read in place costs no zeroing of it.
    #[inline(always)]
    fn header<'a, const N: usize>(
        &'a self,
        offset: usize,
        scratch: &'a mut MaybeUninit<[u8; N]>,
    ) -> Option<&'a [u8; N]> {
        self.bytes(offset, N, scratch.write([0; N]))?
            .try_into()
            .ok()
    }

    /// A copy of the `N` bytes at `offset`, for fields of a few bytes.
    #[inline(always)]
    fn array<const N: usize>(&self, offset: usize) -> Option<[u8; N]> {
        self.header(offset, &mut MaybeUninit::uninit()).copied()
    }
}

impl PacketBytes for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    #[inline]
    fn bytes<'a>(&'a self, offset: usize, len: usize, _scratch: &'a mut [u8]) -> Option<&'a [u8]> {
        self.get(offset..offset.checked_add(len)?)
    }

    #[inline]
    fn header<'a, const N: usize>(
        &'a self,
        offset: usize,
        _scratch: &'a mut MaybeUninit<[u8; N]>,
    ) -> Option<&'a [u8; N]> {
        self.get(offset..offset.checked_add(N)?)?.try_into().ok()
    }
}

/// The network-layer protocol a rule was registered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L3Family {
    /// IPv4 (`iptables`, NFPROTO_IPV4).
    Ipv4,
    /// IPv6 (`ip6tables`, NFPROTO_IPV6).
    Ipv6,
}

/// Length of the fixed IPv6 header, which `payload_len` does not include.
pub const IPV6_HEADER_LEN: u32 = 40;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_at_the_very_end_and_one_past_it() {
        let bytes = [1u8, 2, 3, 4];
        assert_eq!(bytes[..].array::<2>(2), Some([3, 4]));
        assert_eq!(bytes[..].array::<2>(3), None);
        assert_eq!(bytes[..].array::<1>(usize::MAX), None);
    }

    proptest! {
        #[test]
        fn bytes_never_succeed_past_the_end(data in proptest::collection::vec(any::<u8>(), 0..64),
                                            offset in 0usize..80, len in 0usize..80) {
            let got = data[..].bytes(offset, len, &mut []);
            prop_assert_eq!(got.is_some(), offset + len <= data.len());
            if let Some(got) = got {
                prop_assert_eq!(got, &data[offset..offset + len]);
            }
        }

    }
}

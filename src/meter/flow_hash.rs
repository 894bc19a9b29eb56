// SPDX-License-Identifier: GPL-2.0-only
//! The seeded hash of a flow key.
//!
//! The seed is random per load, so an attacker who can choose packet
//! headers cannot precompute keys that pile into one hash chain (the
//! original hashed with a fixed seed of 0). Folded 64x64->128 multiplies
//! over the key's words (six in the default build; an IPv4 key's fit in
//! four): a few nanoseconds per packet.

use super::flow_key::FlowKey;
use super::link_layer::L2Key;
use core::mem::size_of;

/// The secret per-load seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashSeed(pub [u64; 4]);

#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Hashes a key.
///
/// An IPv4 key's addresses use 4 of their 16 bytes each (the rest is
/// zero): both go into one word, and the key takes two multiplies instead
/// of four. Which of the two a key gets depends on the key alone (its
/// `ip_version`), so every table operation hashes it alike.
#[inline]
pub fn flow_hash(key: &FlowKey, seed: &HashSeed) -> u32 {
    flow_hash_of(key, seed, key.ip_version == 4)
}

/// [`flow_hash`] where the caller knows, at compile time, whether the key
/// is an IPv4 one (the packet path, one instance per family): it saves
/// reading the version back from the key. `ipv4` must be
/// `key.ip_version == 4`.
#[inline(always)]
pub fn flow_hash_of(key: &FlowKey, seed: &HashSeed, ipv4: bool) -> u32 {
    debug_assert_eq!(ipv4, key.ip_version == 4);
    let w = key.words();
    let s = &seed.0;
    let (a, b, mut c) = if ipv4 {
        // Source and destination address in the two halves of one word,
        // on either byte order; the product's halves are the last
        // multiply's two data-dependent inputs, as in wyhash.
        let addrs = w[0] ^ w[2].rotate_left(32);
        let p = u128::from(addrs ^ s[0]) * u128::from(w[4] ^ s[1]);
        // The version (4) and the padding fill the sixth word, unless
        // link-layer fields begin there: then it is hashed.
        let w5 = if size_of::<L2Key>() == 0 { 0 } else { w[5] };
        (
            p as u64,
            (p >> 64) as u64,
            w5 ^ s[3] ^ 0x9e37_79b9_7f4a_7c15,
        )
    } else {
        (
            fold(w[0] ^ s[0], w[1] ^ s[1]),
            fold(w[2] ^ s[2], w[3] ^ s[3]),
            fold(w[4] ^ s[1], w[5] ^ s[0] ^ 0x9e37_79b9_7f4a_7c15),
        )
    };
    // The link-layer words of builds that key flows by them (none in the
    // default build, where the loop is gone at compile time).
    for &x in &w[6..] {
        c = fold(c ^ x, s[3]);
    }
    let h = fold(a ^ c, b ^ s[2]);
    (h ^ (h >> 32)) as u32
}

/// Maps a hash onto `n` buckets without a division (Lemire's fast range).
#[inline(always)]
pub fn bucket_index(hash: u32, n: u32) -> usize {
    ((u64::from(hash) * u64::from(n)) >> 32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const SEED: HashSeed = HashSeed([1, 2, 3, 4]);

    #[test]
    fn different_keys_rarely_collide() {
        let mut seen = HashSet::new();
        let mut key = FlowKey {
            ip_version: 4,
            ..Default::default()
        };
        for port in 0..50_000u16 {
            key.s_port = port;
            seen.insert(flow_hash(&key, &SEED));
        }
        assert!(seen.len() > 49_900, "{} distinct of 50000", seen.len());
    }

    #[test]
    fn sequential_ports_spread_over_buckets() {
        let n = 1024u32;
        let mut counts = std::vec![0u32; n as usize];
        let mut key = FlowKey::default();
        for port in 0..(n * 16) {
            key.d_port = port as u16;
            counts[bucket_index(flow_hash(&key, &SEED), n)] += 1;
        }
        let max = *counts.iter().max().unwrap();
        assert!(max < 48, "worst bucket has {max} keys, mean is 16");
    }

    fn v4_key(src: u32, dst: u32, s_port: u16) -> FlowKey {
        let mut key = FlowKey {
            ip_version: 4,
            s_port,
            d_port: 53,
            protocol: 17,
            ..Default::default()
        };
        key.src[..4].copy_from_slice(&src.to_be_bytes());
        key.dst[..4].copy_from_slice(&dst.to_be_bytes());
        key
    }

    /// The IPv4 form's one word of addresses: sequential sources,
    /// sequential destinations and both together spread as evenly as ports.
    #[test]
    fn sequential_ipv4_addresses_spread_over_buckets() {
        let n = 1024u32;
        let base = 0x0a00_0000u32;
        let keys: [fn(u32) -> FlowKey; 3] = [
            |i| v4_key(0x0a00_0000 + i, 0xc0a8_0001, 4000),
            |i| v4_key(0xc0a8_0001, 0x0a00_0000 + i, 4000),
            |i| v4_key(0x0a00_0000 + i, 0x0a00_0000 + i, 4000),
        ];
        let seeds = [
            SEED,
            HashSeed([
                0x243f_6a88_85a3_08d3,
                0x1319_8a2e_0370_7344,
                0xa409_3822_299f_31d0,
                0x082e_fa98_ec4e_6c89,
            ]),
        ];
        for (key, seed) in keys.iter().flat_map(|k| seeds.iter().map(move |s| (k, s))) {
            let mut counts = std::vec![0u32; n as usize];
            let mut seen = HashSet::new();
            for i in 0..(n * 16) {
                let h = flow_hash(&key(i), seed);
                seen.insert(h);
                counts[bucket_index(h, n)] += 1;
            }
            let max = *counts.iter().max().unwrap();
            assert!(max < 48, "worst bucket has {max} keys, mean is 16");
            assert!(
                seen.len() > (n * 16) as usize - 10,
                "{} distinct of {}",
                seen.len(),
                n * 16
            );
        }
        assert_ne!(
            flow_hash(&v4_key(base, base + 1, 9), &SEED),
            flow_hash(&v4_key(base + 1, base, 9), &SEED),
            "source and destination are not interchangeable"
        );
    }

    /// An IPv4 key and the IPv6 key with the same bytes are different
    /// flows and take different forms of the hash.
    #[test]
    fn ipv4_and_ipv6_forms_differ() {
        let v4 = v4_key(0x0a00_0001, 0x0a00_0002, 1234);
        let v6 = FlowKey {
            ip_version: 6,
            ..v4
        };
        assert_ne!(flow_hash(&v4, &SEED), flow_hash(&v6, &SEED));
    }

    #[test]
    fn the_seed_changes_the_hash() {
        let key = FlowKey::default();
        assert_ne!(
            flow_hash(&key, &SEED),
            flow_hash(&key, &HashSeed([5, 6, 7, 8]))
        );
    }

    #[test]
    fn bucket_index_stays_in_range() {
        for &(h, n) in &[(u32::MAX, 1u32), (u32::MAX, 7), (0, 7), (12345, 655_360)] {
            assert!(bucket_index(h, n) < n as usize);
        }
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! The seeded hash of a flow key.
//!
//! The seed is random per load, so an attacker who can choose packet
//! headers cannot precompute keys that pile into one hash chain (the
//! original hashed with a fixed seed of 0). Folded 64x64->128 multiplies
//! over the key's words (six in the default build): a few nanoseconds per packet.

use super::flow_key::FlowKey;

/// The secret per-load seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashSeed(pub [u64; 4]);

#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Hashes a key.
#[inline]
pub fn flow_hash(key: &FlowKey, seed: &HashSeed) -> u32 {
    let w = key.words();
    let s = &seed.0;
    let a = fold(w[0] ^ s[0], w[1] ^ s[1]);
    let b = fold(w[2] ^ s[2], w[3] ^ s[3]);
    let mut c = fold(w[4] ^ s[1], w[5] ^ s[0] ^ 0x9e37_79b9_7f4a_7c15);
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

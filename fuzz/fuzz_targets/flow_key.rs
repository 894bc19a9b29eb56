// SPDX-License-Identifier: GPL-2.0-only
//! Feeds arbitrary bytes to the flow-key extractor as IPv4 and as IPv6, in
//! a window that may be shorter than the buffer (like a packet whose linear
//! part ends early): it must never panic or read past the window, and a
//! packet it accepts must have a consistent key.
#![no_main]

use ipt_netflow::meter::flow_key::{parse, Truncated};
use ipt_netflow::meter::packet::{L3Family, PacketBytes};
use libfuzzer_sys::fuzz_target;

/// Bytes visible only up to `len`, even though more follow in memory.
struct Window<'a> {
    bytes: &'a [u8],
    len: usize,
}

impl PacketBytes for Window<'_> {
    fn len(&self) -> usize {
        self.len
    }

    /// In place at even offsets, through the scratch buffer at odd ones, so
    /// the parser is fuzzed with both kinds of read the kernel does.
    fn bytes<'a>(&'a self, offset: usize, len: usize, scratch: &'a mut [u8]) -> Option<&'a [u8]> {
        let end = offset.checked_add(len)?;
        if end > self.len {
            return None;
        }
        if offset % 2 == 0 {
            return Some(&self.bytes[offset..end]);
        }
        let out = scratch.get_mut(..len)?;
        out.copy_from_slice(&self.bytes[offset..end]);
        Some(out)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, bytes)) = data.split_first() else { return };
    let len = bytes.len().saturating_sub(usize::from(cut) % 8);
    for family in [L3Family::Ipv4, L3Family::Ipv6] {
        let w = Window { bytes, len };
        match parse(&w, family, 7) {
            Ok(info) => {
                assert_eq!(info.key.i_ifc, 7);
                assert!(info.key._pad.iter().all(|&b| b == 0));
                assert_eq!(info.key.ip_version, if family == L3Family::Ipv4 { 4 } else { 6 });
                // Same bytes, same key: parsing is deterministic.
                assert_eq!(parse(&w, family, 7), Ok(info));
            }
            Err(Truncated) => {
                let min = if family == L3Family::Ipv4 { 20 } else { 40 };
                assert!(len < min || (family == L3Family::Ipv4 && bytes[0] & 0x0f < 5));
            }
        }
    }
});

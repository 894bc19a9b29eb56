// SPDX-License-Identifier: GPL-2.0-only
//! Any string given to `aggregation` either parses into rules whose
//! canonical form parses back to the same rules, or is refused: never a
//! panic. Applying the rules to any flow key must not panic either, and
//! must leave everything but the addresses and ports alone.
//!
//! Input: 38 bytes of key (source, destination, ports, protocol, IP
//! version), then the text.
#![no_main]

use ipt_netflow::meter::aggregation::{Aggregation, RuleKind};
use ipt_netflow::meter::flow_key::FlowKey;
use libfuzzer_sys::fuzz_target;

const KEY_LEN: usize = 38;

fn key(b: &[u8; KEY_LEN]) -> FlowKey {
    let mut k = FlowKey::default();
    k.src.copy_from_slice(&b[0..16]);
    k.dst.copy_from_slice(&b[16..32]);
    k.s_port = u16::from_be_bytes([b[32], b[33]]);
    k.d_port = u16::from_be_bytes([b[34], b[35]]);
    k.protocol = b[36];
    // Mostly 4, so the net rules get exercised.
    k.ip_version = if b[37] & 1 == 0 { 4 } else { b[37] };
    k
}

fuzz_target!(|data: &[u8]| {
    let mut raw = [0u8; KEY_LEN];
    let n = data.len().min(KEY_LEN);
    raw[..n].copy_from_slice(&data[..n]);
    let Ok(s) = core::str::from_utf8(&data[n..]) else {
        return;
    };
    let Ok(parsed) = Aggregation::parse(s) else {
        return;
    };
    let again = parsed.to_string();
    assert!(again.len() <= s.len(), "{again}");
    assert_eq!(Aggregation::parse(&again), Ok(parsed), "{again}");

    let before = key(&raw);
    let mut k = before;
    let (hit, s_mask, d_mask) = parsed.apply(&mut k);
    assert!(s_mask <= 32 && d_mask <= 32);
    assert_eq!(
        (k.protocol, k.ip_version, k.tos, k.i_ifc),
        (before.protocol, before.ip_version, before.tos, before.i_ifc)
    );
    assert_eq!(
        (&k.src[4..], &k.dst[4..]),
        (&before.src[4..], &before.dst[4..])
    );
    for (kind, i) in hit.hits() {
        let len = match kind {
            RuleKind::Net => parsed.net_rules().len(),
            RuleKind::Port => parsed.port_rules().len(),
        };
        assert!(i < len);
    }
});

// SPDX-License-Identifier: GPL-2.0-only
//! Any string given to `snmp-rules` either parses into rules whose
//! canonical form parses back to the same rules, or is refused: never a
//! panic. Mapping any interface name must not panic either.
//!
//! Input: up to 16 bytes of interface name (up to the first `\n`), then
//! the text.
#![no_main]

use ipt_netflow::meter::snmp_rules::SnmpRules;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let cut = data.iter().take(17).position(|&b| b == b'\n').unwrap_or(0);
    let (name, text) = data.split_at(cut);
    let Ok(s) = core::str::from_utf8(text) else {
        return;
    };
    let Ok(parsed) = SnmpRules::parse(s) else {
        return;
    };
    let again = parsed.to_string();
    assert!(again.len() <= s.len(), "{again}");
    assert_eq!(SnmpRules::parse(&again), Ok(parsed), "{again}");
    let mapped = parsed.map(name, 7);
    if parsed.iter().all(|r| !name.starts_with(r.prefix())) {
        assert_eq!(mapped, 7);
    }
});

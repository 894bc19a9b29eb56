// SPDX-License-Identifier: GPL-2.0-only
//! Any string given to `destination` either parses into destinations whose
//! display form parses back to the same destinations, or is refused: never
//! a panic.
#![no_main]

use ipt_netflow::export::destination::Destinations;
use libfuzzer_sys::fuzz_target;
use std::fmt::Write;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = core::str::from_utf8(data) else { return };
    let Ok(parsed) = Destinations::parse(s) else { return };
    let mut again = String::new();
    for d in parsed.iter() {
        write!(again, "{d} ").unwrap();
    }
    assert_eq!(Destinations::parse(&again), Ok(parsed), "{again}");
});

// SPDX-License-Identifier: GPL-2.0-only
//! Any string given to `sampler` either parses into a setting whose
//! canonical form parses back to the same setting, or is refused: never a
//! panic. The selection tests must not panic on any input either.
#![no_main]

use ipt_netflow::meter::sampler::Sampler;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = core::str::from_utf8(data) else {
        return;
    };
    let Ok(parsed) = Sampler::parse(s) else {
        return;
    };
    let Some(sampler) = parsed else { return };
    let again = sampler.to_string();
    assert_eq!(Sampler::parse(&again), Ok(Some(sampler)), "{again}");
    let word = data
        .iter()
        .fold(0u32, |a, &b| a.rotate_left(5) ^ u32::from(b));
    let _ = (
        sampler.hash_selects(word),
        sampler.random_selects(word),
        sampler.count_selects(u64::from(word)),
        sampler.v5_field(),
    );
});

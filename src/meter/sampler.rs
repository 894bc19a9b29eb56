// SPDX-License-Identifier: GPL-2.0-only
//! The `sampler` parameter and sysctl: flow sampling (RFC 7014 flow
//! selection, not packet sampling).
//!
//! Syntax, compatible with what operators write for the original module:
//!
//! - leading and trailing ASCII whitespace is ignored (a sysctl write ends
//!   with `"\n"`);
//! - the empty text, `0`, or a case-insensitive prefix of `none` or `off`
//!   (`n`, `no`, `o`, `Off`, ...) turns sampling off;
//! - otherwise `MODE:N`, where MODE is a case-insensitive non-empty prefix of
//!   `deterministic`, `random` or `hash` (`d:10`, `Random:5`, `hash:4`) and N
//!   is decimal digits only, from [`MIN_INTERVAL`] to [`MAX_INTERVAL`].
//!
//! Differences from the original, which looked only at the first character
//! and read the number with a digits-only `atoi`:
//!
//! - text after the number is refused (`d:10x`, `d:10 junk`); the original
//!   ignored it;
//! - a mode word that is not a prefix of a mode name is refused (`dingo:10`,
//!   `nonsense`, `00`, `n:10`); the original accepted any word by its first
//!   letter, so `nonsense`, `oops` and `n:10` turned sampling off and
//!   `dingo:10` meant deterministic;
//! - an interval with a sign, spaces or no digits is refused, where the
//!   original read it as 0 ("illegal interval") or stopped at the first
//!   non-digit;
//! - `hash` is always available; the original needed
//!   `--enable-sampler=hash` at build time.

use core::fmt;

/// The smallest interval: one out of 2 flows.
pub const MIN_INTERVAL: u16 = 2;
/// The largest interval: it must fit the 14 bits NetFlow v5 gives it.
pub const MAX_INTERVAL: u16 = (1 << 14) - 1;
/// The longest text accepted, whitespace included (the sysctl buffer holds
/// this plus a NUL). The canonical forms are at most 19 bytes long.
pub const TEXT_MAX: usize = 63;

/// How flows are selected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SamplerMode {
    /// One out of N flows, by the order they reach export.
    Deterministic,
    /// Each flow with probability 1/N, decided at export.
    Random,
    /// Each flow with probability 1/N, decided by the hash of its key in the
    /// packet path, so unselected flows are never metered.
    Hash,
}

impl SamplerMode {
    /// The name the sysctl, the kernel log and /proc show.
    pub const fn name(self) -> &'static str {
        match self {
            SamplerMode::Deterministic => "deterministic",
            SamplerMode::Random => "random",
            SamplerMode::Hash => "hash",
        }
    }

    /// The v9 `FLOW_SAMPLER_ID` and IPFIX `selectorId` value: the original's
    /// mode number.
    pub const fn id(self) -> u8 {
        match self {
            SamplerMode::Deterministic => 1,
            SamplerMode::Random => 2,
            SamplerMode::Hash => 3,
        }
    }

    /// The mode in the NetFlow v5 header's two top bits. v5 knows only
    /// deterministic (1) and random (2); hash selection is random from a
    /// collector's point of view, so it is reported as random, as the
    /// original does.
    pub const fn v5_mode(self) -> u16 {
        match self {
            SamplerMode::Deterministic => 1,
            SamplerMode::Random | SamplerMode::Hash => 2,
        }
    }

    /// IPFIX `flowSelectorAlgorithm` (element 390, RFC 7014): 1 is
    /// systematic count-based sampling, 3 random n-out-of-N sampling, which
    /// is what hash selection looks like from outside.
    pub const fn ipfix_algorithm(self) -> u8 {
        match self {
            SamplerMode::Deterministic => 1,
            SamplerMode::Random | SamplerMode::Hash => 3,
        }
    }

    /// The mode whose name starts with `word` (case-insensitive, non-empty).
    fn from_prefix(word: &str) -> Option<SamplerMode> {
        [
            SamplerMode::Deterministic,
            SamplerMode::Random,
            SamplerMode::Hash,
        ]
        .into_iter()
        .find(|m| is_prefix_of(word, m.name()))
    }
}

/// A sampling configuration: one out of `interval` flows in `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sampler {
    /// How flows are selected.
    pub mode: SamplerMode,
    /// N: one flow out of N is selected. [`Sampler::parse`] gives
    /// [`MIN_INTERVAL`]..=[`MAX_INTERVAL`]; the selection tests treat 0 and
    /// 1 as "select every flow" rather than panic.
    pub interval: u16,
}

/// Why a `sampler` text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SamplerError {
    /// Longer than [`TEXT_MAX`].
    TooLong,
    /// The mode is not a prefix of `deterministic`, `random`, `hash`, `none`
    /// or `off`.
    UnknownMode,
    /// A mode without `:N`, or with nothing after the `:`.
    MissingInterval,
    /// An interval that is not plain decimal digits, or is out of range.
    BadInterval,
}

impl fmt::Display for SamplerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SamplerError::TooLong => write!(f, "sampler is longer than {TEXT_MAX} bytes"),
            SamplerError::UnknownMode => f.write_str(
                "unknown sampler mode (expected deterministic, random or hash, or none/off/0)",
            ),
            SamplerError::MissingInterval => {
                f.write_str("no sampling interval (expected MODE:N, e.g. deterministic:100)")
            }
            SamplerError::BadInterval => write!(
                f,
                "sampling interval must be a decimal number from {MIN_INTERVAL} to {MAX_INTERVAL}"
            ),
        }
    }
}

/// Sampling counters, as /proc's sampler line shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SamplerCounts {
    /// Flows that reached the selection at export.
    pub flows_observed: u64,
    /// Flows the selection kept.
    pub flows_selected: u64,
    /// Packets seen: those of observed flows (deterministic and random) or
    /// every packet tested in the packet path (hash).
    pub pkts_observed: u64,
    /// Packets of selected flows, or packets the hash test kept.
    pub pkts_selected: u64,
}

/// Whether `word` is a non-empty, case-insensitive prefix of `name`.
fn is_prefix_of(word: &str, name: &str) -> bool {
    !word.is_empty()
        && name
            .as_bytes()
            .get(..word.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(word.as_bytes()))
}

impl Sampler {
    /// Parses a `sampler` text (see the module documentation); `Ok(None)`
    /// means sampling is off.
    pub fn parse(text: &str) -> Result<Option<Sampler>, SamplerError> {
        if text.len() > TEXT_MAX {
            return Err(SamplerError::TooLong);
        }
        let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
        if text.is_empty() || text == "0" || is_prefix_of(text, "none") || is_prefix_of(text, "off")
        {
            return Ok(None);
        }
        let (word, number) = match text.split_once(':') {
            Some(parts) => parts,
            None => (text, ""),
        };
        let mode = SamplerMode::from_prefix(word).ok_or(SamplerError::UnknownMode)?;
        if number.is_empty() {
            return Err(SamplerError::MissingInterval);
        }
        // Digits only: u16's parser alone would take a leading '+'.
        if !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SamplerError::BadInterval);
        }
        match number.parse::<u16>() {
            Ok(interval) if (MIN_INTERVAL..=MAX_INTERVAL).contains(&interval) => {
                Ok(Some(Sampler { mode, interval }))
            }
            _ => Err(SamplerError::BadInterval),
        }
    }

    /// The NetFlow v5 header's `sampling_interval`: the v5 mode in the top
    /// two bits, the interval in the other 14.
    pub const fn v5_field(self) -> u16 {
        (self.mode.v5_mode() << 14) | (self.interval & MAX_INTERVAL)
    }

    /// The hash mode's test, in the packet path: a flow whose key hashes to
    /// `hash` is metered when `hash * N < 2^32`, i.e. for
    /// `ceil(2^32 / N)` of the 2^32 hash values. It is the original's test,
    /// which needs no division.
    pub fn hash_selects(self, hash: u32) -> bool {
        self.one_in_interval(hash)
    }

    /// The deterministic mode's test, at export: `count` numbers the flows
    /// the sampler has looked at, and the first of every N is selected.
    /// (The original numbered flows at creation from a global counter; the
    /// exporter's own count needs no shared write per new flow.)
    pub fn count_selects(self, count: u64) -> bool {
        // checked_rem: an interval of 0 (never parsed) selects every flow
        // instead of dividing by zero in the kernel.
        matches!(count.checked_rem(u64::from(self.interval)), None | Some(0))
    }

    /// The random mode's test, at export: `random` is a uniformly random
    /// 32-bit number, and the flow is selected when
    /// `prandom_u32_max(N)` would have been 0, i.e. `random * N < 2^32`.
    pub fn random_selects(self, random: u32) -> bool {
        self.one_in_interval(random)
    }

    /// Whether `x`, uniform over 32 bits, falls in the first 1/N of the
    /// range: `x * N < 2^32`, with no division.
    fn one_in_interval(self, x: u32) -> bool {
        (u64::from(x) * u64::from(self.interval)) >> 32 == 0
    }
}

/// The canonical form, `deterministic:10`: what the sysctl reads back.
/// (Sampling off reads back as the empty string, as in the original.)
impl fmt::Display for Sampler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.mode.name(), self.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::ToString;

    fn on(mode: SamplerMode, interval: u16) -> Result<Option<Sampler>, SamplerError> {
        Ok(Some(Sampler { mode, interval }))
    }

    #[test]
    fn off_forms() {
        for s in [
            "", " ", "\n", "0", "n", "no", "non", "none", "NONE", "o", "of", "off", "Off",
            " off\n", "\t0\t",
        ] {
            assert_eq!(Sampler::parse(s), Ok(None), "{s:?}");
        }
    }

    #[test]
    fn mode_prefixes_and_case() {
        use SamplerMode::*;
        assert_eq!(Sampler::parse("d:10"), on(Deterministic, 10));
        assert_eq!(Sampler::parse("Deterministic:10"), on(Deterministic, 10));
        assert_eq!(Sampler::parse("DETERM:100"), on(Deterministic, 100));
        assert_eq!(Sampler::parse("r:5"), on(Random, 5));
        assert_eq!(Sampler::parse("random:5"), on(Random, 5));
        assert_eq!(Sampler::parse("hash:4"), on(Hash, 4));
        assert_eq!(Sampler::parse("H:4"), on(Hash, 4));
        assert_eq!(Sampler::parse("  random:7\n"), on(Random, 7));
        assert_eq!(Sampler::parse("d:0010"), on(Deterministic, 10));
    }

    #[test]
    fn interval_bounds() {
        use SamplerMode::*;
        assert_eq!(Sampler::parse("d:2"), on(Deterministic, 2));
        assert_eq!(Sampler::parse("d:16383"), on(Deterministic, 16383));
        for s in [
            "d:0",
            "d:1",
            "d:16384",
            "d:65535",
            "d:65536",
            "d:99999999999",
        ] {
            assert_eq!(Sampler::parse(s), Err(SamplerError::BadInterval), "{s}");
        }
    }

    #[test]
    fn refusals() {
        use SamplerError::*;
        for (s, e) in [
            ("dingo:10", UnknownMode),
            ("nonsense", UnknownMode),
            ("offf", UnknownMode),
            ("00", UnknownMode),
            ("n:10", UnknownMode),
            ("none:10", UnknownMode),
            ("0:10", UnknownMode),
            ("x", UnknownMode),
            (":10", UnknownMode),
            ("d :10", UnknownMode),
            ("deterministicc:10", UnknownMode),
            ("d", MissingInterval),
            ("random", MissingInterval),
            ("d:", MissingInterval),
            ("d:10x", BadInterval),
            ("d:10 junk", BadInterval),
            ("d: 10", BadInterval),
            ("d:+10", BadInterval),
            ("d:-10", BadInterval),
            ("d:10:20", BadInterval),
            ("d:0x10", BadInterval),
        ] {
            assert_eq!(Sampler::parse(s), Err(e), "{s:?}");
        }
        let long = std::format!("d:10{}", " ".repeat(TEXT_MAX - 3));
        assert_eq!(Sampler::parse(&long), Err(TooLong));
        assert_eq!(
            Sampler::parse(&long[..TEXT_MAX]),
            on(SamplerMode::Deterministic, 10)
        );
    }

    #[test]
    fn canonical_form() {
        let s = |t| Sampler::parse(t).unwrap().unwrap().to_string();
        assert_eq!(s("d:10"), "deterministic:10");
        assert_eq!(s("R:0300"), "random:300");
        assert_eq!(s(" h:16383\n"), "hash:16383");
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            SamplerError::BadInterval.to_string(),
            "sampling interval must be a decimal number from 2 to 16383"
        );
        assert_eq!(
            SamplerError::TooLong.to_string(),
            "sampler is longer than 63 bytes"
        );
        assert!(SamplerError::UnknownMode.to_string().contains("unknown"));
        assert!(SamplerError::MissingInterval
            .to_string()
            .contains("no sampling interval"));
    }

    #[test]
    fn mode_numbers() {
        use SamplerMode::*;
        assert_eq!([Deterministic.id(), Random.id(), Hash.id()], [1, 2, 3]);
        assert_eq!(
            [Deterministic.v5_mode(), Random.v5_mode(), Hash.v5_mode()],
            [1, 2, 2]
        );
        assert_eq!(
            [
                Deterministic.ipfix_algorithm(),
                Random.ipfix_algorithm(),
                Hash.ipfix_algorithm()
            ],
            [1, 3, 3]
        );
    }

    #[test]
    fn v5_field_packs_mode_and_interval() {
        let s = |mode, interval| Sampler { mode, interval }.v5_field();
        assert_eq!(s(SamplerMode::Deterministic, 10), 0x400a);
        assert_eq!(s(SamplerMode::Random, 16383), 0xbfff);
        assert_eq!(s(SamplerMode::Hash, 100), 0x8064);
    }

    #[test]
    fn selection_edges() {
        let s = Sampler {
            mode: SamplerMode::Hash,
            interval: 4,
        };
        // 2^32 / 4 = 2^30 hash values are selected: 0..2^30.
        assert!(s.hash_selects(0));
        assert!(s.hash_selects((1 << 30) - 1));
        assert!(!s.hash_selects(1 << 30));
        assert!(!s.hash_selects(u32::MAX));
        assert!(s.random_selects((1 << 30) - 1));
        assert!(!s.random_selects(1 << 30));
        assert!(s.count_selects(0));
        assert!(!s.count_selects(1));
        assert!(s.count_selects(8));
        // Intervals parse never gives still must not panic.
        for interval in [0, 1] {
            let s = Sampler {
                mode: SamplerMode::Deterministic,
                interval,
            };
            assert!(s.count_selects(7) && s.hash_selects(u32::MAX) && s.random_selects(u32::MAX));
        }
    }

    fn any_sampler() -> impl Strategy<Value = Sampler> {
        (
            prop_oneof![
                Just(SamplerMode::Deterministic),
                Just(SamplerMode::Random),
                Just(SamplerMode::Hash)
            ],
            MIN_INTERVAL..=MAX_INTERVAL,
        )
            .prop_map(|(mode, interval)| Sampler { mode, interval })
    }

    proptest! {
        #[test]
        fn display_parses_back(s in any_sampler()) {
            prop_assert_eq!(Sampler::parse(&s.to_string()), Ok(Some(s)));
        }

        #[test]
        fn any_text_parses_to_its_canonical_form_or_is_refused(t in "[ \\t\\n]?[dDrRhHnNoOfeta0-9:+ x-]{0,12}") {
            if let Ok(Some(s)) = Sampler::parse(&t) {
                prop_assert_eq!(Sampler::parse(&s.to_string()), Ok(Some(s)));
            }
        }

        /// The hashes `o, o + 2^16, o + 2*2^16, ...` (2^16 of them, spread
        /// evenly over the whole range) hit the selected range
        /// `[0, ceil(2^32/N))` `ceil((ceil(2^32/N) - o) / 2^16)` times,
        /// which is within 1 of 2^16/N: the check is exact, not
        /// statistical, and cannot be flaky.
        #[test]
        fn hash_selects_one_out_of_n(n in MIN_INTERVAL..=MAX_INTERVAL, offset in 0u32..1 << 16) {
            let s = Sampler { mode: SamplerMode::Hash, interval: n };
            let picked = (0u32..1 << 16).filter(|k| s.hash_selects((k << 16) + offset)).count();
            let expected = 65536.0 / f64::from(n);
            prop_assert!((picked as f64 - expected).abs() <= 1.0, "{} vs {}", picked, expected);
            // Over all 2^32 values exactly ceil(2^32/N) are selected: the
            // boundary is where the product crosses 2^32.
            let edge = (1u64 << 32).div_ceil(u64::from(n)) as u32;
            prop_assert!(s.hash_selects(edge - 1) && !s.hash_selects(edge));
            prop_assert_eq!(s.random_selects(edge - 1), true);
            prop_assert_eq!(s.random_selects(edge), false);
        }

        #[test]
        fn count_selects_every_nth(n in MIN_INTERVAL..=MAX_INTERVAL, start in any::<u32>()) {
            let s = Sampler { mode: SamplerMode::Deterministic, interval: n };
            let start = u64::from(start);
            let picked = (start..start + u64::from(n) * 3).filter(|&c| s.count_selects(c)).count();
            prop_assert_eq!(picked, 3);
        }
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! The `snmp-rules` parameter and sysctl: which interface number is
//! exported for an interface, by its name.
//!
//! Syntax: rules `prefix:base` separated by any of `" ,;\t\n"` (empty ones
//! skipped; leading and trailing ASCII whitespace ignored), e.g.
//! `eth:100,ppp:200` or `eth:100 ppp:200`. The prefix is 1 to
//! [`PREFIX_MAX`] interface-name characters (ASCII letters, digits and
//! punctuation except `/ : , ;`); the base is decimal digits, 0..=65535.
//!
//! An interface whose name starts with a rule's prefix is exported as the
//! base plus the number the name's next digits make (`ppp:200` maps `ppp11`
//! to 211, and `ppp` or `pppoe0` to 200), by the first such rule in the
//! order given; others keep their ifindex. The result wraps at 65536, as
//! the original's store into a 16-bit field does.
//!
//! Differences from the original:
//!
//! - the original took any single character after a number as the
//!   separator (and a space after a comma became part of the next prefix,
//!   which then never matched); here only `" ,;\t\n"` separate, any number
//!   of them;
//! - refused where the original stored something: a base over 65535 or
//!   negative (truncated to 16 bits there), a base with trailing garbage or
//!   a sign, a prefix over 15 bytes (it could never match a 15-byte name
//!   there) or with characters no interface name has;
//! - a refused text keeps the rules in force; the original replaced them
//!   with nothing and showed "parse error" in the sysctl;
//! - at most [`MAX_RULES`] rules in [`TEXT_MAX`] bytes (the original's
//!   buffer held 255).

use core::fmt::{self, Write};

/// At most this many rules.
pub const MAX_RULES: usize = 32;
/// The longest prefix: an interface name's longest (IFNAMSIZ - 1).
pub const PREFIX_MAX: usize = 15;
/// The longest text accepted, whitespace included.
pub const TEXT_MAX: usize = 511;

/// `prefix:base`: an interface named `prefix` followed by digits D is
/// exported as `base + D`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnmpRule {
    prefix: [u8; PREFIX_MAX],
    len: u8,
    base: u16,
}

impl SnmpRule {
    const EMPTY: SnmpRule = SnmpRule {
        prefix: [0; PREFIX_MAX],
        len: 0,
        base: 0,
    };

    /// The name prefix (1 to [`PREFIX_MAX`] ASCII bytes).
    pub fn prefix(&self) -> &[u8] {
        self.prefix.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The number a matching name's digits are added to.
    pub fn base(&self) -> u16 {
        self.base
    }
}

/// A parsed `snmp-rules` setting: a fixed array, so it can be built and
/// swapped in without allocating.
#[derive(Clone, Copy)]
pub struct SnmpRules {
    rules: [SnmpRule; MAX_RULES],
    len: u8,
}

impl Default for SnmpRules {
    fn default() -> Self {
        SnmpRules::empty()
    }
}

/// Equal when the rules in use are equal (the unused slots do not count).
impl PartialEq for SnmpRules {
    fn eq(&self, other: &Self) -> bool {
        self.rules() == other.rules()
    }
}

impl Eq for SnmpRules {}

/// Shows the rules in use only, not the 32 slots.
impl fmt::Debug for SnmpRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(DebugRule)).finish()
    }
}

/// A rule as its text, for [`SnmpRules`]' Debug.
struct DebugRule<'a>(&'a SnmpRule);

impl fmt::Debug for DebugRule<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0)
    }
}

/// `prefix:base`, as the canonical form writes a rule.
impl fmt::Display for SnmpRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_prefix(f, self.prefix())?;
        write!(f, ":{}", self.base)
    }
}

/// Writes prefix bytes as text. Parsing lets only ASCII in, so each byte
/// is one character.
pub(crate) fn write_prefix(w: &mut impl Write, prefix: &[u8]) -> fmt::Result {
    prefix.iter().try_for_each(|&b| w.write_char(char::from(b)))
}

/// Why an `snmp-rules` text was refused. `index` counts the rules in the
/// text from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnmpRulesError {
    /// Longer than [`TEXT_MAX`].
    TooLong,
    /// More than [`MAX_RULES`] rules.
    TooManyRules,
    /// A rule without `:`.
    MissingBase {
        /// Which rule.
        index: usize,
    },
    /// An empty prefix, one over [`PREFIX_MAX`] bytes, or one with a
    /// character interface names do not have.
    BadPrefix {
        /// Which rule.
        index: usize,
    },
    /// A base that is not decimal digits or is over 65535.
    BadBase {
        /// Which rule.
        index: usize,
    },
}

impl fmt::Display for SnmpRulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Rules are numbered from 1 for people.
        match *self {
            SnmpRulesError::TooLong => write!(f, "snmp-rules is longer than {TEXT_MAX} bytes"),
            SnmpRulesError::TooManyRules => write!(f, "more than {MAX_RULES} snmp-rules"),
            SnmpRulesError::MissingBase { index } => {
                write!(f, "snmp-rule {} is not prefix:base (no ':')", index + 1)
            }
            SnmpRulesError::BadPrefix { index } => write!(
                f,
                "snmp-rule {}: the prefix must be 1 to {PREFIX_MAX} interface-name characters",
                index + 1
            ),
            SnmpRulesError::BadBase { index } => write!(
                f,
                "snmp-rule {}: the base must be a decimal number from 0 to 65535",
                index + 1
            ),
        }
    }
}

/// Whether `b` may appear in a prefix: what an interface name may hold
/// (no `/`, `:` or whitespace, as the kernel's `dev_valid_name`), less the
/// rule separators, and ASCII only so the text is shown as written.
fn is_prefix_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'/' | b':' | b',' | b';')
}

fn parse_rule(token: &str, index: usize) -> Result<SnmpRule, SnmpRulesError> {
    let (prefix, base) = token
        .split_once(':')
        .ok_or(SnmpRulesError::MissingBase { index })?;
    let prefix = prefix.as_bytes();
    if prefix.is_empty() || prefix.len() > PREFIX_MAX || !prefix.iter().all(|&b| is_prefix_byte(b))
    {
        return Err(SnmpRulesError::BadPrefix { index });
    }
    // Digits only: u16's parser alone would take a leading '+'.
    let base = Some(base)
        .filter(|b| b.bytes().all(|d| d.is_ascii_digit()))
        .and_then(|b| b.parse::<u16>().ok())
        .ok_or(SnmpRulesError::BadBase { index })?;
    let mut rule = SnmpRule {
        base,
        ..SnmpRule::EMPTY
    };
    rule.prefix
        .get_mut(..prefix.len())
        .ok_or(SnmpRulesError::BadPrefix { index })?
        .copy_from_slice(prefix);
    // At most PREFIX_MAX (15) bytes: the length fits.
    rule.len = prefix.len() as u8;
    Ok(rule)
}

impl SnmpRules {
    /// No rules: every interface keeps its ifindex.
    pub const fn empty() -> Self {
        SnmpRules {
            rules: [SnmpRule::EMPTY; MAX_RULES],
            len: 0,
        }
    }

    /// Parses a whole `snmp-rules` text (see the module documentation).
    /// The empty text gives no rules.
    pub fn parse(text: &str) -> Result<Self, SnmpRulesError> {
        if text.len() > TEXT_MAX {
            return Err(SnmpRulesError::TooLong);
        }
        let mut out = SnmpRules::empty();
        let tokens = text
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .split([' ', ',', ';', '\t', '\n'])
            .filter(|t| !t.is_empty());
        for (index, token) in tokens.enumerate() {
            let rule = parse_rule(token, index)?;
            let slot = out
                .rules
                .get_mut(usize::from(out.len))
                .ok_or(SnmpRulesError::TooManyRules)?;
            *slot = rule;
            out.len += 1;
        }
        Ok(out)
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn rules(&self) -> &[SnmpRule] {
        self.rules.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The rules, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &SnmpRule> {
        self.rules().iter()
    }

    /// The index to export for an interface named `ifname` (bytes, no NUL;
    /// anything from a NUL on is ignored, so a whole `IFNAMSIZ` buffer may
    /// be passed) with kernel ifindex `ifindex`: the first rule whose prefix
    /// starts the name gives its base plus the number made by the digits
    /// right after the prefix (0 when there are none; reading stops at the
    /// first non-digit), wrapping at 65536; no rule gives `ifindex`.
    ///
    /// (The original returns -1, 65535 once stored, for a flow without a
    /// device; the caller handles that before asking.)
    pub fn map(&self, ifname: &[u8], ifindex: u16) -> u16 {
        let name = ifname.split(|&b| b == 0).next().unwrap_or(&[]);
        for rule in self.rules() {
            if let Some(rest) = name.strip_prefix(rule.prefix()) {
                // The original's atoi on an int, then a store into u16:
                // wrapping in u16 all along gives the same low 16 bits.
                let number = rest
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .fold(0u16, |n, &d| {
                        n.wrapping_mul(10).wrapping_add(u16::from(d - b'0'))
                    });
                return rule.base.wrapping_add(number);
            }
        }
        ifindex
    }
}

/// The canonical form the sysctl reads back: `eth:100,ppp:200`, in the
/// order given; no rules show as the empty string. It is never longer than
/// the text it was parsed from (bases lose leading zeros, separators
/// collapse to one).
impl fmt::Display for SnmpRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for rule in self.rules() {
            write!(f, "{sep}{rule}")?;
            sep = ",";
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::string::{String, ToString};
    use std::vec::Vec;
    use std::{format, vec};

    fn shown(s: &str) -> Vec<(String, u16)> {
        SnmpRules::parse(s)
            .unwrap()
            .iter()
            .map(|r| (String::from_utf8(r.prefix().to_vec()).unwrap(), r.base()))
            .collect()
    }

    fn owned(v: &[(&str, u16)]) -> Vec<(String, u16)> {
        v.iter().map(|&(p, b)| (p.to_string(), b)).collect()
    }

    #[test]
    fn forms_operators_write() {
        let want = owned(&[("eth", 100), ("ppp", 200)]);
        for s in [
            "eth:100,ppp:200",
            "eth:100 ppp:200",
            "eth:100, ppp:200\n",
            " eth:100;ppp:200 ",
            "eth:100\tppp:200",
            ",,eth:0100,,ppp:200,",
        ] {
            assert_eq!(shown(s), want, "{s:?}");
        }
        assert_eq!(
            shown("vlan:300 br-lan:0 wg_0.5:65535 x:1"),
            owned(&[("vlan", 300), ("br-lan", 0), ("wg_0.5", 65535), ("x", 1)])
        );
        assert_eq!(shown("abcdefghijklmno:7"), owned(&[("abcdefghijklmno", 7)]));
        for s in ["", " ", "\n", " ,; "] {
            assert!(SnmpRules::parse(s).unwrap().is_empty(), "{s:?}");
        }
    }

    #[test]
    fn refusals() {
        use SnmpRulesError::*;
        for (s, e) in [
            ("eth", MissingBase { index: 0 }),
            ("eth:1 ppp", MissingBase { index: 1 }),
            (":100", BadPrefix { index: 0 }),
            ("abcdefghijklmnop:1", BadPrefix { index: 0 }),
            ("et/h:1", BadPrefix { index: 0 }),
            ("eth\u{e9}:1", BadPrefix { index: 0 }),
            ("e\u{7}:1", BadPrefix { index: 0 }),
            ("eth:", BadBase { index: 0 }),
            ("eth:65536", BadBase { index: 0 }),
            ("eth:-1", BadBase { index: 0 }),
            ("eth:+1", BadBase { index: 0 }),
            ("eth:1x", BadBase { index: 0 }),
            ("eth:1:2", BadBase { index: 0 }),
            ("eth:0x10", BadBase { index: 0 }),
            ("eth:1 ppp:2 vlan:x", BadBase { index: 2 }),
        ] {
            assert_eq!(SnmpRules::parse(s), Err(e), "{s:?}");
        }
        let full: String = (0..MAX_RULES).map(|i| format!("e{i}:1 ")).collect();
        assert_eq!(
            SnmpRules::parse(&full).map(|r| r.iter().count()),
            Ok(MAX_RULES)
        );
        assert_eq!(SnmpRules::parse(&format!("{full} f:2")), Err(TooManyRules));
        let long = format!("e:1{}", " ".repeat(TEXT_MAX - 2));
        assert_eq!(SnmpRules::parse(&long), Err(TooLong));
        assert!(SnmpRules::parse(&long[..TEXT_MAX]).is_ok());
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            SnmpRulesError::BadBase { index: 0 }.to_string(),
            "snmp-rule 1: the base must be a decimal number from 0 to 65535"
        );
        assert_eq!(
            SnmpRulesError::MissingBase { index: 1 }.to_string(),
            "snmp-rule 2 is not prefix:base (no ':')"
        );
        assert_eq!(
            SnmpRulesError::BadPrefix { index: 0 }.to_string(),
            "snmp-rule 1: the prefix must be 1 to 15 interface-name characters"
        );
        assert_eq!(
            SnmpRulesError::TooManyRules.to_string(),
            "more than 32 snmp-rules"
        );
        assert_eq!(
            SnmpRulesError::TooLong.to_string(),
            "snmp-rules is longer than 511 bytes"
        );
    }

    #[test]
    fn canonical_form() {
        let r = SnmpRules::parse(" eth:0100 ;ppp:200\n").unwrap();
        assert_eq!(r.to_string(), "eth:100,ppp:200");
        assert_eq!(SnmpRules::empty().to_string(), "");
        assert_eq!(format!("{r:?}"), "[\"eth:100\", \"ppp:200\"]");
    }

    #[test]
    fn map_like_resolve_snmp() {
        let r = SnmpRules::parse("eth:100,ppp:200,pppoe:900,big:65530").unwrap();
        assert_eq!(r.map(b"ppp11", 7), 211);
        assert_eq!(r.map(b"eth0", 2), 100);
        assert_eq!(r.map(b"eth12", 2), 112);
        // No digits after the prefix: the base alone. The earlier "ppp"
        // rule wins over the later, longer "pppoe".
        assert_eq!(r.map(b"ppp", 9), 200);
        assert_eq!(r.map(b"pppoe3", 9), 200);
        // Digits stop at the first non-digit.
        assert_eq!(r.map(b"eth1.100", 5), 101);
        assert_eq!(r.map(b"eth007x9", 5), 107);
        // Prefixes are case-sensitive, as strncmp.
        assert_eq!(r.map(b"ETH0", 5), 5);
        // No rule: the ifindex.
        assert_eq!(r.map(b"lo", 1), 1);
        assert_eq!(r.map(b"et", 3), 3);
        assert_eq!(r.map(b"", 3), 3);
        // Wraps at 65536 like the original's store into a u16.
        assert_eq!(r.map(b"big10", 1), 4);
        assert_eq!(r.map(b"eth99999", 1), (100 + 99999) as u16);
        assert_eq!(
            r.map(b"eth999999999999", 1),
            (100u64 + 999_999_999_999) as u16
        );
        // A NUL ends the name, as in a kernel IFNAMSIZ buffer.
        assert_eq!(r.map(b"eth4\0\0\0\0\0\0\0\0\0\0\0\0", 1), 104);
        assert_eq!(r.map(b"\0eth4", 1), 1);
        assert_eq!(SnmpRules::empty().map(b"eth0", 42), 42);
    }

    fn any_rule() -> impl Strategy<Value = SnmpRule> {
        ("[!-+\\-.0-9<-~]{1,15}", any::<u16>()).prop_map(|(p, base)| {
            let mut rule = SnmpRule {
                base,
                ..SnmpRule::EMPTY
            };
            rule.prefix[..p.len()].copy_from_slice(p.as_bytes());
            rule.len = p.len() as u8;
            rule
        })
    }

    fn any_rules() -> impl Strategy<Value = SnmpRules> {
        proptest::collection::vec(any_rule(), 0..=MAX_RULES).prop_map(|v| {
            let mut r = SnmpRules::empty();
            r.rules[..v.len()].copy_from_slice(&v);
            r.len = v.len() as u8;
            r
        })
    }

    /// resolve_snmp written over strings and a wide integer: the first
    /// rule whose prefix starts the name, plus the name's next digits read
    /// as a number, modulo 2^16.
    fn reference_map(rules: &[(String, u16)], name: &str, ifindex: u16) -> u16 {
        for (prefix, base) in rules {
            if let Some(rest) = name.strip_prefix(prefix.as_str()) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let n: u128 = if digits.is_empty() {
                    0
                } else {
                    digits.parse().unwrap()
                };
                return ((u128::from(*base) + n) % 65536) as u16;
            }
        }
        ifindex
    }

    /// Texts of valid rules, with leading zeros and doubled separators.
    const RULES_TEXT: &str = "[ \n]?([a-zA-Z_.-]{1,6}[0-9]?:0?[0-9]{1,4}[ ,;\t\n]{1,2}){0,6}";
    /// Rule-shaped texts with typos: mostly refused.
    const NEAR_RULES_TEXT: &str = "[ \n]?([a-z/+]{0,4}[0-9]?(:[0-9+-]{1,6})?[ ,;\t\n]{1,2}){0,6}";

    proptest! {
        #[test]
        fn valid_rules_parse(t in RULES_TEXT) {
            prop_assert!(SnmpRules::parse(&t).is_ok(), "{:?}", t);
        }

        /// Up to 32 prefixes of 15 bytes do not fit TEXT_MAX, but no text
        /// that parsed can give them.
        #[test]
        fn display_parses_back(r in any_rules()) {
            let shown = r.to_string();
            if shown.len() <= TEXT_MAX {
                prop_assert_eq!(SnmpRules::parse(&shown), Ok(r));
            } else {
                prop_assert_eq!(SnmpRules::parse(&shown), Err(SnmpRulesError::TooLong));
            }
        }

        #[test]
        fn parsed_text_display_parses_back(t in prop_oneof![RULES_TEXT, NEAR_RULES_TEXT]) {
            if let Ok(r) = SnmpRules::parse(&t) {
                let shown = r.to_string();
                prop_assert!(shown.len() <= t.trim_matches(|c: char| c.is_ascii_whitespace()).len(), "{:?} -> {:?}", t, shown);
                prop_assert_eq!(SnmpRules::parse(&shown), Ok(r));
            }
        }

        #[test]
        fn map_matches_the_reference(rules in proptest::collection::vec(("[a-e]{1,3}", any::<u16>()), 0..6),
                                     name in "[a-e]{0,4}[0-9]{0,12}[a-e.]{0,2}", ifindex in any::<u16>()) {
            let text: Vec<String> = rules.iter().map(|(p, b)| format!("{p}:{b}")).collect();
            let parsed = SnmpRules::parse(&text.join(" ")).unwrap();
            prop_assert_eq!(parsed.map(name.as_bytes(), ifindex), reference_map(&rules, &name, ifindex));
        }
    }

    #[test]
    fn iter_in_order() {
        let r = SnmpRules::parse("a:1 b:2 a:3").unwrap();
        assert_eq!(
            r.iter().map(|r| r.base()).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }
}

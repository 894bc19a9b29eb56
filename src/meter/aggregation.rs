// SPDX-License-Identifier: GPL-2.0-only
//! The `aggregation` parameter and sysctl: rewrite addresses and ports in
//! the flow key before lookup, so many flows fold into one.
//!
//! Syntax (the original's): rules separated by any of `" ,;\t\n"` (empty
//! ones skipped; leading and trailing ASCII whitespace ignored), each one of
//!
//! - `A.B.C.D/M=N` (a net rule, IPv4 only; M and N in 0..=32): an address
//!   under `A.B.C.D/M` is cut to its first N bits;
//! - `P1-P2=P` or `P1=P` (a port rule; ports 0..=65535, P1 <= P2): a port in
//!   `[P1, P2]` becomes P, for TCP, UDP, SCTP and UDP-Lite only.
//!
//! Source and destination are rewritten separately, each by the first
//! matching rule of its kind, in the order given. Host bits of `A.B.C.D`
//! past M are cleared, as the original does.
//!
//! Differences from the original:
//!
//! - the exported prefix length (`s_mask`/`d_mask`: v5 `src_mask`/
//!   `dst_mask`, v9/IPFIX `SRC_MASK`/`DST_MASK`) is N, the prefix the
//!   address was cut to; the original exported M, the prefix the rule
//!   matched, which tells a collector the address keeps bits it no longer
//!   has. (With N = 0 the mask is 0, which also means "no mask" to the
//!   exporter, as an unmatched address.)
//! - the single-port form `P=R` rewrites port P only; the original left
//!   the range's lower end uninitialised, so it matched an unpredictable
//!   range ending at P;
//! - a bad rule refuses the whole text and keeps the rules in force; the
//!   original logged "bad aggregation rule", stopped parsing and installed
//!   the rules before the bad one;
//! - refused where the original read something: octets over 255 (the
//!   original wrapped them), M or N over 32 (undefined shifts there), ports
//!   over 65535 (truncated there), a reversed range `P2-P1` (it never
//!   matched there), signs, and anything after a rule's last number;
//! - at most [`MAX_NET_RULES`] net and [`MAX_PORT_RULES`] port rules, in
//!   at most [`TEXT_MAX`] bytes (the original's buffer held 1023).

use crate::meter::flow_key::{proto, FlowKey};
use core::fmt;

/// At most this many net rules.
pub const MAX_NET_RULES: usize = 32;
/// At most this many port rules.
pub const MAX_PORT_RULES: usize = 32;
/// The longest text accepted, whitespace included (the original's buffer
/// size less its NUL).
pub const TEXT_MAX: usize = 1023;

/// `A.B.C.D/M=N`: an IPv4 address under `net/match_len` is cut to its first
/// `keep_len` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NetRule {
    /// The network, with the bits past `match_len` cleared.
    pub net: [u8; 4],
    /// M: how many leading bits must equal `net`'s (0..=32).
    pub match_len: u8,
    /// N: how many leading bits of a matching address are kept (0..=32).
    pub keep_len: u8,
}

/// `P1-P2=P`: a port in `first..=last` becomes `port`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PortRule {
    /// P1, the lowest port matched.
    pub first: u16,
    /// P2, the highest port matched (`first <= last`).
    pub last: u16,
    /// P, what a matching port becomes.
    pub port: u16,
}

/// The two kinds of rule, for naming one in the per-rule usage counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// An entry of [`Aggregation::net_rules`].
    Net,
    /// An entry of [`Aggregation::port_rules`].
    Port,
}

/// Which rule (an index into [`Aggregation::net_rules`] or
/// [`Aggregation::port_rules`]) rewrote each part of a key, for the
/// per-rule usage counters. The original counts a use for each part, so a
/// rule that rewrote both the source and the destination counts twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AggrMatch {
    /// The net rule that cut the source address.
    pub src_net: Option<u8>,
    /// The net rule that cut the destination address.
    pub dst_net: Option<u8>,
    /// The port rule that replaced the source port.
    pub src_port: Option<u8>,
    /// The port rule that replaced the destination port.
    pub dst_port: Option<u8>,
}

impl AggrMatch {
    /// Whether any rule matched.
    pub fn any(&self) -> bool {
        *self != AggrMatch::default()
    }

    /// The matched rules, each as (kind, index), in the order source net,
    /// destination net, source port, destination port; a rule appears once
    /// per part it rewrote.
    pub fn hits(&self) -> impl Iterator<Item = (RuleKind, usize)> {
        [
            self.src_net.map(|i| (RuleKind::Net, usize::from(i))),
            self.dst_net.map(|i| (RuleKind::Net, usize::from(i))),
            self.src_port.map(|i| (RuleKind::Port, usize::from(i))),
            self.dst_port.map(|i| (RuleKind::Port, usize::from(i))),
        ]
        .into_iter()
        .flatten()
    }
}

/// Why an `aggregation` text was refused. `index` counts the rules in the
/// text from 0, net and port rules together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregationError {
    /// Longer than [`TEXT_MAX`].
    TooLong,
    /// More than [`MAX_NET_RULES`] net rules or [`MAX_PORT_RULES`] port
    /// rules.
    TooManyRules,
    /// A rule that is neither `A.B.C.D/M=N` nor `P1-P2=P` nor `P=R`.
    BadRule {
        /// Which rule.
        index: usize,
    },
    /// A net rule whose M or N is over 32.
    BadPrefixLength {
        /// Which rule.
        index: usize,
    },
    /// A port rule with a port over 65535.
    BadPort {
        /// Which rule.
        index: usize,
    },
    /// A port rule `P1-P2=P` with P1 > P2, which could never match.
    ReversedRange {
        /// Which rule.
        index: usize,
    },
}

impl fmt::Display for AggregationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Rules are numbered from 1 for people.
        match *self {
            AggregationError::TooLong => write!(f, "aggregation is longer than {TEXT_MAX} bytes"),
            AggregationError::TooManyRules => write!(
                f,
                "more than {MAX_NET_RULES} net or {MAX_PORT_RULES} port aggregation rules"
            ),
            AggregationError::BadRule { index } => write!(
                f,
                "aggregation rule {} is neither A.B.C.D/M=N nor P1-P2=P nor P1=P",
                index + 1
            ),
            AggregationError::BadPrefixLength { index } => write!(
                f,
                "aggregation rule {}: a prefix length is over 32",
                index + 1
            ),
            AggregationError::BadPort { index } => {
                write!(f, "aggregation rule {}: a port is over 65535", index + 1)
            }
            AggregationError::ReversedRange { index } => write!(
                f,
                "aggregation rule {}: the first port of the range is above the last",
                index + 1
            ),
        }
    }
}

/// A parsed `aggregation` setting: fixed arrays, so it can be built and
/// swapped in without allocating.
#[derive(Clone, Copy)]
pub struct Aggregation {
    net: [NetRule; MAX_NET_RULES],
    net_len: u8,
    port: [PortRule; MAX_PORT_RULES],
    port_len: u8,
}

impl Default for Aggregation {
    fn default() -> Self {
        Aggregation::empty()
    }
}

/// Equal when the rules in use are equal (the unused slots do not count).
impl PartialEq for Aggregation {
    fn eq(&self, other: &Self) -> bool {
        self.net_rules() == other.net_rules() && self.port_rules() == other.port_rules()
    }
}

impl Eq for Aggregation {}

/// Shows the rules in use only, not the 64 slots.
impl fmt::Debug for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Aggregation")
            .field("net", &self.net_rules())
            .field("port", &self.port_rules())
            .finish()
    }
}

/// The netmask of a prefix length: its first `len` bits set. Lengths over
/// 32 (which parse never gives) count as 32 rather than panic.
#[inline(always)]
fn mask(len: u8) -> u32 {
    let len = u32::from(len.min(32));
    // A shift by 32 (length 0) is the one that does not fit: no bits.
    u32::MAX.checked_shl(32 - len).unwrap_or(0)
}

/// Netmasks by prefix length, in network byte order as a word loaded from
/// an address's bytes: the packet path looks them up instead of shifting.
const MASKS_NE: [u32; 33] = {
    let mut m = [0u32; 33];
    let mut len = 1;
    while len <= 32 {
        m[len] = (u32::MAX << (32 - len)).to_be();
        len += 1;
    }
    m
};

/// [`mask`] in network byte order (see [`MASKS_NE`]).
#[inline(always)]
fn mask_ne(len: u8) -> u32 {
    MASKS_NE.get(usize::from(len)).copied().unwrap_or(u32::MAX)
}

/// A decimal number of digits only (`str::parse` alone takes a `+`):
/// `None` when not digits, `Some(Err(()))` when digits but out of range.
fn decimal<T: core::str::FromStr>(s: &str) -> Option<Result<T, ()>> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse::<T>().map_err(|_| ()))
}

fn parse_net(token: &str, index: usize) -> Result<NetRule, AggregationError> {
    let bad = AggregationError::BadRule { index };
    let bad_len = AggregationError::BadPrefixLength { index };
    let (addr, lens) = token.split_once('/').ok_or(bad)?;
    let (m, n) = lens.split_once('=').ok_or(bad)?;
    let mut octets = [0u8; 4];
    let mut parts = addr.split('.');
    for o in &mut octets {
        *o = decimal::<u8>(parts.next().ok_or(bad)?)
            .ok_or(bad)?
            .map_err(|()| bad)?;
    }
    if parts.next().is_some() {
        return Err(bad);
    }
    let len = |s: &str| match decimal::<u8>(s) {
        None => Err(bad),
        Some(Ok(v)) if v <= 32 => Ok(v),
        Some(_) => Err(bad_len),
    };
    let match_len = len(m)?;
    let keep_len = len(n)?;
    let net = (u32::from_be_bytes(octets) & mask(match_len)).to_be_bytes();
    Ok(NetRule {
        net,
        match_len,
        keep_len,
    })
}

fn parse_port(token: &str, index: usize) -> Result<PortRule, AggregationError> {
    let bad = AggregationError::BadRule { index };
    let port = |s: &str| match decimal::<u16>(s) {
        None => Err(bad),
        Some(Ok(v)) => Ok(v),
        Some(Err(())) => Err(AggregationError::BadPort { index }),
    };
    let (range, to) = token.split_once('=').ok_or(bad)?;
    let (first, last) = match range.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => {
            let p = port(range)?;
            (p, p)
        }
    };
    let to = port(to)?;
    if first > last {
        return Err(AggregationError::ReversedRange { index });
    }
    Ok(PortRule {
        first,
        last,
        port: to,
    })
}

impl Aggregation {
    /// No rules: keys pass unchanged.
    pub const fn empty() -> Self {
        Aggregation {
            net: [NetRule {
                net: [0; 4],
                match_len: 0,
                keep_len: 0,
            }; MAX_NET_RULES],
            net_len: 0,
            port: [PortRule {
                first: 0,
                last: 0,
                port: 0,
            }; MAX_PORT_RULES],
            port_len: 0,
        }
    }

    /// Parses a whole `aggregation` text (see the module documentation).
    /// The empty text gives no rules.
    pub fn parse(text: &str) -> Result<Self, AggregationError> {
        if text.len() > TEXT_MAX {
            return Err(AggregationError::TooLong);
        }
        let mut out = Aggregation::empty();
        let tokens = text
            .trim_matches(|c: char| c.is_ascii_whitespace())
            .split([' ', ',', ';', '\t', '\n'])
            .filter(|t| !t.is_empty());
        for (index, token) in tokens.enumerate() {
            // Only a net rule has a dot or a slash.
            if token.contains(['.', '/']) {
                let rule = parse_net(token, index)?;
                let slot = out
                    .net
                    .get_mut(usize::from(out.net_len))
                    .ok_or(AggregationError::TooManyRules)?;
                *slot = rule;
                out.net_len += 1;
            } else {
                let rule = parse_port(token, index)?;
                let slot = out
                    .port
                    .get_mut(usize::from(out.port_len))
                    .ok_or(AggregationError::TooManyRules)?;
                *slot = rule;
                out.port_len += 1;
            }
        }
        Ok(out)
    }

    /// Whether there are no rules at all.
    pub fn is_empty(&self) -> bool {
        self.net_len == 0 && self.port_len == 0
    }

    /// The net rules, in the order given.
    pub fn net_rules(&self) -> &[NetRule] {
        self.net.get(..usize::from(self.net_len)).unwrap_or(&[])
    }

    /// The port rules, in the order given.
    pub fn port_rules(&self) -> &[PortRule] {
        self.port.get(..usize::from(self.port_len)).unwrap_or(&[])
    }

    /// Cuts the IPv4 address in the first 4 bytes of `addr` by the first
    /// net rule it is under; returns that rule's index and N.
    #[inline]
    fn cut(&self, addr: &mut [u8; 16]) -> Option<(u8, u8)> {
        // Compared as loaded, in network byte order: no swap per rule.
        let a = u32::from_ne_bytes([addr[0], addr[1], addr[2], addr[3]]);
        for (i, r) in self.net_rules().iter().enumerate() {
            let m = mask_ne(r.match_len);
            if a & m == u32::from_ne_bytes(r.net) & m {
                addr[..4].copy_from_slice(&(a & mask_ne(r.keep_len)).to_ne_bytes());
                // At most MAX_NET_RULES (32) rules: the index fits.
                return Some((i as u8, r.keep_len));
            }
        }
        None
    }

    /// Replaces `port` by the first port rule whose range holds it; returns
    /// that rule's index.
    #[inline]
    fn replace(&self, port: &mut u16) -> Option<u8> {
        let (i, r) = self
            .port_rules()
            .iter()
            .enumerate()
            .find(|(_, r)| (r.first..=r.last).contains(port))?;
        *port = r.port;
        // At most MAX_PORT_RULES (32) rules: the index fits.
        Some(i as u8)
    }

    /// Rewrites the key in place, before the flow lookup; returns which
    /// rules matched and the source and destination prefix lengths to
    /// export (`s_mask`, `d_mask`: N of the matching net rule, 0 when none
    /// matched).
    ///
    /// Net rules apply to IPv4 keys only; port rules to TCP, UDP, SCTP and
    /// UDP-Lite keys of either IP version, as in the original.
    #[inline]
    pub fn apply(&self, key: &mut FlowKey) -> (AggrMatch, u8, u8) {
        let mut hit = AggrMatch::default();
        let (mut s_mask, mut d_mask) = (0, 0);
        if self.is_empty() {
            return (hit, s_mask, d_mask);
        }
        if self.net_len != 0 && key.ip_version == 4 {
            if let Some((i, n)) = self.cut(&mut key.src) {
                hit.src_net = Some(i);
                s_mask = n;
            }
            if let Some((i, n)) = self.cut(&mut key.dst) {
                hit.dst_net = Some(i);
                d_mask = n;
            }
        }
        if self.port_len != 0
            && matches!(
                key.protocol,
                proto::TCP | proto::UDP | proto::SCTP | proto::UDPLITE
            )
        {
            hit.src_port = self.replace(&mut key.s_port);
            hit.dst_port = self.replace(&mut key.d_port);
        }
        (hit, s_mask, d_mask)
    }
}

/// The canonical form the sysctl reads back: the net rules, then the port
/// rules (the two lists are independent, so their relative order does not
/// matter), each list in the order given, separated by `,`. A net rule
/// shows its masked network (`10.1.0.0/16=24`); a port rule shows
/// `P1-P2=P`, or `P1=P` when the range is one port. No rules show as the
/// empty string.
///
/// The form is never longer than the text it was parsed from (numbers lose
/// leading zeros and host bits, separators collapse to one), so it always
/// fits [`TEXT_MAX`]. A value with many long rules built otherwise could
/// exceed it.
impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for r in self.net_rules() {
            let [a, b, c, d] = r.net;
            write!(f, "{sep}{a}.{b}.{c}.{d}/{}={}", r.match_len, r.keep_len)?;
            sep = ",";
        }
        for r in self.port_rules() {
            if r.first == r.last {
                write!(f, "{sep}{}={}", r.first, r.port)?;
            } else {
                write!(f, "{sep}{}-{}={}", r.first, r.last, r.port)?;
            }
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

    fn net(a: [u8; 4], m: u8, n: u8) -> NetRule {
        NetRule {
            net: a,
            match_len: m,
            keep_len: n,
        }
    }

    fn port(first: u16, last: u16, port: u16) -> PortRule {
        PortRule { first, last, port }
    }

    fn v4(src: [u8; 4], dst: [u8; 4], protocol: u8, s_port: u16, d_port: u16) -> FlowKey {
        let mut k = FlowKey {
            protocol,
            s_port,
            d_port,
            ip_version: 4,
            ..Default::default()
        };
        k.src[..4].copy_from_slice(&src);
        k.dst[..4].copy_from_slice(&dst);
        k
    }

    #[test]
    fn parses_both_kinds_in_order() {
        let a = Aggregation::parse(
            " 10.1.2.3/16=24, 80-89=80;53=53\t192.168.0.0/24=32\n0.0.0.0/0=8 1024-65535=1024\n",
        )
        .unwrap();
        assert_eq!(
            a.net_rules(),
            [
                net([10, 1, 0, 0], 16, 24),
                net([192, 168, 0, 0], 24, 32),
                net([0, 0, 0, 0], 0, 8)
            ]
        );
        assert_eq!(
            a.port_rules(),
            [port(80, 89, 80), port(53, 53, 53), port(1024, 65535, 1024)]
        );
        assert_eq!(
            a.to_string(),
            "10.1.0.0/16=24,192.168.0.0/24=32,0.0.0.0/0=8,80-89=80,53=53,1024-65535=1024"
        );
        assert!(!a.is_empty());
    }

    #[test]
    fn empty_texts_give_no_rules() {
        for s in ["", " ", "\n", " , ;\t\n"] {
            let a = Aggregation::parse(s).unwrap();
            assert!(a.is_empty(), "{s:?}");
            assert_eq!(a, Aggregation::empty());
            assert_eq!(a.to_string(), "");
        }
    }

    #[test]
    fn leading_zeros_are_decimal() {
        let a = Aggregation::parse("010.001.0.0/016=024,080=0080").unwrap();
        assert_eq!(a.to_string(), "10.1.0.0/16=24,80=80");
    }

    #[test]
    fn refusals() {
        use AggregationError::*;
        for (s, e) in [
            ("10.0.0.0/8", BadRule { index: 0 }),
            ("10.0.0.0=8", BadRule { index: 0 }),
            ("10.0.0/8=16", BadRule { index: 0 }),
            ("10.0.0.0.0/8=16", BadRule { index: 0 }),
            ("10.0.0.256/8=16", BadRule { index: 0 }),
            ("10.0.0.-1/8=16", BadRule { index: 0 }),
            ("10.0.0.0/8=16x", BadRule { index: 0 }),
            ("10.0.0.0/+8=16", BadRule { index: 0 }),
            ("10.0.0.0/8=", BadRule { index: 0 }),
            ("10.0.0.0/33=16", BadPrefixLength { index: 0 }),
            ("10.0.0.0/8=33", BadPrefixLength { index: 0 }),
            ("10.0.0.0/8=99999999999", BadPrefixLength { index: 0 }),
            ("80", BadRule { index: 0 }),
            ("80-90", BadRule { index: 0 }),
            ("=80", BadRule { index: 0 }),
            ("80-=80", BadRule { index: 0 }),
            ("-90=80", BadRule { index: 0 }),
            ("80-90=", BadRule { index: 0 }),
            ("80-90=80=1", BadRule { index: 0 }),
            ("+80=80", BadRule { index: 0 }),
            ("http=80", BadRule { index: 0 }),
            ("2001:db8::/32=48", BadRule { index: 0 }),
            ("65536=80", BadPort { index: 0 }),
            ("80-65536=80", BadPort { index: 0 }),
            ("80=65536", BadPort { index: 0 }),
            ("90-80=80", ReversedRange { index: 0 }),
            ("10.0.0.0/8=16 53=53 junk", BadRule { index: 2 }),
            ("1=1,,2=2;;x", BadRule { index: 2 }),
        ] {
            assert_eq!(Aggregation::parse(s), Err(e), "{s:?}");
        }
    }

    #[test]
    fn limits() {
        let nets: Vec<String> = (0..MAX_NET_RULES)
            .map(|i| format!("10.{i}.0.0/16=24"))
            .collect();
        let ports: Vec<String> = (0..MAX_PORT_RULES).map(|i| format!("{i}=0")).collect();
        let full = format!("{} {}", nets.join(","), ports.join(","));
        let a = Aggregation::parse(&full).unwrap();
        assert_eq!(
            (a.net_rules().len(), a.port_rules().len()),
            (MAX_NET_RULES, MAX_PORT_RULES)
        );
        assert_eq!(
            Aggregation::parse(&format!("{full},11.0.0.0/8=8")),
            Err(AggregationError::TooManyRules)
        );
        assert_eq!(
            Aggregation::parse(&format!("{full},9=9")),
            Err(AggregationError::TooManyRules)
        );
        // 64 of the longest rules do not fit TEXT_MAX; no text that
        // parsed can give them, only a value built otherwise.
        let mut widest = Aggregation::empty();
        widest.net = [net([255; 4], 32, 32); MAX_NET_RULES];
        widest.net_len = MAX_NET_RULES as u8;
        widest.port = [port(10000, 65535, 65535); MAX_PORT_RULES];
        widest.port_len = MAX_PORT_RULES as u8;
        assert!(widest.to_string().len() > TEXT_MAX);
        assert_eq!(
            Aggregation::parse(&widest.to_string()),
            Err(AggregationError::TooLong)
        );
        let long = format!("1=1{}", " ".repeat(TEXT_MAX - 2));
        assert_eq!(Aggregation::parse(&long), Err(AggregationError::TooLong));
        assert!(Aggregation::parse(&long[..TEXT_MAX]).is_ok());
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            AggregationError::BadRule { index: 2 }.to_string(),
            "aggregation rule 3 is neither A.B.C.D/M=N nor P1-P2=P nor P1=P"
        );
        assert_eq!(
            AggregationError::TooManyRules.to_string(),
            "more than 32 net or 32 port aggregation rules"
        );
        assert_eq!(
            AggregationError::TooLong.to_string(),
            "aggregation is longer than 1023 bytes"
        );
    }

    #[test]
    fn apply_cuts_addresses_and_replaces_ports() {
        let a =
            Aggregation::parse("10.0.0.0/8=16,10.1.0.0/16=24,0.0.0.0/0=32 1000-2000=1000,53=5353")
                .unwrap();
        let mut k = v4([10, 1, 2, 3], [192, 0, 2, 9], proto::TCP, 1500, 53);
        let (m, s_mask, d_mask) = a.apply(&mut k);
        // 10.1.2.3 matches 10/8 first: cut to /16, not /24.
        assert_eq!(k.src_v4(), [10, 1, 0, 0]);
        // 192.0.2.9 matches only 0/0, which keeps all 32 bits.
        assert_eq!(k.dst_v4(), [192, 0, 2, 9]);
        assert_eq!((k.s_port, k.d_port), (1000, 5353));
        assert_eq!((s_mask, d_mask), (16, 32));
        assert_eq!(
            m,
            AggrMatch {
                src_net: Some(0),
                dst_net: Some(2),
                src_port: Some(0),
                dst_port: Some(1)
            }
        );
        assert_eq!(
            m.hits().collect::<Vec<_>>(),
            [
                (RuleKind::Net, 0),
                (RuleKind::Net, 2),
                (RuleKind::Port, 0),
                (RuleKind::Port, 1)
            ]
        );
    }

    #[test]
    fn apply_leaves_unmatched_parts_alone() {
        let a = Aggregation::parse("10.0.0.0/8=16 80=8080").unwrap();
        let orig = v4([192, 0, 2, 1], [10, 9, 8, 7], proto::UDP, 81, 80);
        let mut k = orig;
        let (m, s_mask, d_mask) = a.apply(&mut k);
        assert_eq!(k.src_v4(), [192, 0, 2, 1]);
        assert_eq!(k.dst_v4(), [10, 9, 0, 0]);
        assert_eq!((k.s_port, k.d_port), (81, 8080));
        assert_eq!((s_mask, d_mask), (0, 16));
        assert_eq!(m.src_net, None);
        assert!(m.any());
        // The rest of the key is never touched.
        assert_eq!((&k.src[4..], &k.dst[4..]), (&orig.src[4..], &orig.dst[4..]));
        assert_eq!(
            (k.protocol, k.tos, k.i_ifc),
            (orig.protocol, orig.tos, orig.i_ifc)
        );
    }

    #[test]
    fn ports_only_for_the_four_protocols() {
        let a = Aggregation::parse("0-65535=1").unwrap();
        for p in [proto::TCP, proto::UDP, proto::SCTP, proto::UDPLITE] {
            let mut k = v4([1, 2, 3, 4], [5, 6, 7, 8], p, 100, 200);
            a.apply(&mut k);
            assert_eq!((k.s_port, k.d_port), (1, 1), "{p}");
        }
        for p in [proto::ICMP, proto::GRE, proto::ESP, proto::DCCP, 0, 255] {
            let mut k = v4([1, 2, 3, 4], [5, 6, 7, 8], p, 100, 200);
            let (m, ..) = a.apply(&mut k);
            assert_eq!((k.s_port, k.d_port), (100, 200), "{p}");
            assert!(!m.any());
        }
    }

    #[test]
    fn net_rules_only_for_ipv4_ports_for_both() {
        let a = Aggregation::parse("0.0.0.0/0=0 443=1").unwrap();
        let mut k = FlowKey {
            src: [0x20, 1, 0xd, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            dst: [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            protocol: proto::TCP,
            s_port: 443,
            d_port: 50000,
            ip_version: 6,
            ..Default::default()
        };
        let orig = k;
        let (m, s_mask, d_mask) = a.apply(&mut k);
        assert_eq!((k.src, k.dst), (orig.src, orig.dst));
        assert_eq!((s_mask, d_mask), (0, 0));
        assert_eq!((k.s_port, k.d_port), (1, 50000));
        assert_eq!(
            m,
            AggrMatch {
                src_port: Some(0),
                ..Default::default()
            }
        );
    }

    #[test]
    fn no_rules_change_nothing() {
        let mut k = v4([10, 0, 0, 1], [10, 0, 0, 2], proto::TCP, 1, 2);
        let orig = k;
        assert_eq!(
            Aggregation::empty().apply(&mut k),
            (AggrMatch::default(), 0, 0)
        );
        assert_eq!(k, orig);
    }

    #[test]
    fn masks_of_every_length() {
        for len in 0..=33 {
            assert_eq!(u32::from_be(mask_ne(len)), mask(len), "{len}");
        }
        assert_eq!(mask(0), 0);
        assert_eq!(mask(1), 0x8000_0000);
        assert_eq!(mask(24), 0xffff_ff00);
        assert_eq!(mask(32), u32::MAX);
        assert_eq!(mask(200), u32::MAX);
    }

    fn any_net_rule() -> impl Strategy<Value = NetRule> {
        (any::<[u8; 4]>(), 0u8..=32, 0u8..=32).prop_map(|(a, m, n)| NetRule {
            net: (u32::from_be_bytes(a) & mask(m)).to_be_bytes(),
            match_len: m,
            keep_len: n,
        })
    }

    fn any_port_rule() -> impl Strategy<Value = PortRule> {
        (any::<u16>(), any::<u16>(), any::<u16>()).prop_map(|(a, b, p)| PortRule {
            first: a.min(b),
            last: a.max(b),
            port: p,
        })
    }

    fn any_aggregation() -> impl Strategy<Value = Aggregation> {
        (
            proptest::collection::vec(any_net_rule(), 0..=MAX_NET_RULES),
            proptest::collection::vec(any_port_rule(), 0..=MAX_PORT_RULES),
        )
            .prop_map(|(n, p)| {
                let mut a = Aggregation::empty();
                a.net[..n.len()].copy_from_slice(&n);
                a.net_len = n.len() as u8;
                a.port[..p.len()].copy_from_slice(&p);
                a.port_len = p.len() as u8;
                a
            })
    }

    /// The original's loop, written over plain integers: the first rule
    /// with `(addr & mask(M)) == net` cuts the address to `mask(N)`.
    fn reference_cut(rules: &[NetRule], addr: u32) -> (u32, Option<usize>, u8) {
        let bits = |n: u8| if n == 0 { 0 } else { !0u32 << (32 - n) };
        for (i, r) in rules.iter().enumerate() {
            if addr & bits(r.match_len) == u32::from_be_bytes(r.net) {
                return (addr & bits(r.keep_len), Some(i), r.keep_len);
            }
        }
        (addr, None, 0)
    }

    fn reference_port(rules: &[PortRule], p: u16) -> (u16, Option<usize>) {
        match rules.iter().position(|r| r.first <= p && p <= r.last) {
            Some(i) => (rules[i].port, Some(i)),
            None => (p, None),
        }
    }

    /// Texts of valid rules, with leading zeros, host bits and doubled
    /// separators.
    const RULE_TEXT: &str = "[ \n]?(((0?[0-9]{1,2}|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.){3}(0?[0-9]{1,2}|1[0-9]{2}|2[0-4][0-9]|25[0-5])/(0?[0-9]|[12][0-9]|3[0-2])=(0?[0-9]|[12][0-9]|3[0-2])[ ,;\t\n]{1,2}|[0-9]{1,4}(-[1-5][0-9]{4})?=[0-9]{1,4}[ ,;\t\n]{1,2}){0,8}";
    /// Rule-shaped texts with typos: mostly refused.
    const NEAR_RULE_TEXT: &str = "[ \n]?((([0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}=[0-9]{1,2}|[0-9]{1,5}(-[0-9]{1,5})?=[0-9]{1,5}|[0-9a-z./=+-]{1,6})[ ,;\t\n]{1,2}){0,8}";

    proptest! {
        #[test]
        fn valid_rules_parse(t in RULE_TEXT) {
            prop_assert!(Aggregation::parse(&t).is_ok(), "{:?}", t);
        }

        /// Up to 64 rules of the longest kind do not fit TEXT_MAX, but no
        /// text that parsed can give them (see the next property).
        #[test]
        fn display_parses_back(a in any_aggregation()) {
            let shown = a.to_string();
            if shown.len() <= TEXT_MAX {
                prop_assert_eq!(Aggregation::parse(&shown), Ok(a));
            } else {
                prop_assert_eq!(Aggregation::parse(&shown), Err(AggregationError::TooLong));
            }
        }

        /// The canonical form is never longer than the text it came from,
        /// so what the sysctl reads back fits the buffer it was written to.
        #[test]
        fn parsed_text_display_parses_back(t in prop_oneof![RULE_TEXT, NEAR_RULE_TEXT]) {
            if let Ok(a) = Aggregation::parse(&t) {
                let shown = a.to_string();
                prop_assert!(shown.len() <= t.trim_matches(|c: char| c.is_ascii_whitespace()).len(), "{:?} -> {:?}", t, shown);
                prop_assert_eq!(Aggregation::parse(&shown), Ok(a));
            }
        }

        #[test]
        fn apply_matches_the_reference(a in any_aggregation(), src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(),
                                       protocol in prop_oneof![Just(proto::TCP), Just(proto::UDP), Just(proto::SCTP),
                                                               Just(proto::UDPLITE), any::<u8>()],
                                       ports in any::<(u16, u16)>()) {
            let mut k = v4(src, dst, protocol, ports.0, ports.1);
            let (m, s_mask, d_mask) = a.apply(&mut k);
            let (s, si, sm) = reference_cut(a.net_rules(), u32::from_be_bytes(src));
            let (d, di, dm) = reference_cut(a.net_rules(), u32::from_be_bytes(dst));
            prop_assert_eq!(u32::from_be_bytes(k.src_v4()), s);
            prop_assert_eq!(u32::from_be_bytes(k.dst_v4()), d);
            prop_assert_eq!((s_mask, d_mask), (sm, dm));
            prop_assert_eq!((m.src_net.map(usize::from), m.dst_net.map(usize::from)), (si, di));
            let four = [proto::TCP, proto::UDP, proto::SCTP, proto::UDPLITE].contains(&protocol);
            let (sp, spi) = if four { reference_port(a.port_rules(), ports.0) } else { (ports.0, None) };
            let (dp, dpi) = if four { reference_port(a.port_rules(), ports.1) } else { (ports.1, None) };
            prop_assert_eq!((k.s_port, k.d_port), (sp, dp));
            prop_assert_eq!((m.src_port.map(usize::from), m.dst_port.map(usize::from)), (spi, dpi));
        }

        /// An address under the first rule ends cut to N bits; one outside
        /// every rule is untouched; an earlier rule that also covers it wins.
        #[test]
        fn first_rule_cuts_to_n(r in any_net_rule(), other in any_net_rule(), host in any::<u32>(),
                                outside in any::<u32>()) {
            let text = format!("{}.{}.{}.{}/{}={} {}.{}.{}.{}/{}={}",
                               r.net[0], r.net[1], r.net[2], r.net[3], r.match_len, r.keep_len,
                               other.net[0], other.net[1], other.net[2], other.net[3],
                               other.match_len, other.keep_len);
            let a = Aggregation::parse(&text).unwrap();
            // Any address under r: r's network plus arbitrary host bits.
            let under = u32::from_be_bytes(r.net) | (host & !mask(r.match_len));
            let mut k = v4(under.to_be_bytes(), [0; 4], proto::ICMP, 0, 0);
            let (m, s_mask, _) = a.apply(&mut k);
            prop_assert_eq!(u32::from_be_bytes(k.src_v4()), under & mask(r.keep_len));
            prop_assert_eq!((m.src_net, s_mask), (Some(0), r.keep_len));
            // An address under neither rule keeps all its bits.
            let covered = |x: u32| [r, other].iter().any(|q| x & mask(q.match_len) == u32::from_be_bytes(q.net));
            if !covered(outside) {
                let mut k = v4(outside.to_be_bytes(), outside.to_be_bytes(), proto::TCP, 0, 0);
                let (m, s_mask, d_mask) = a.apply(&mut k);
                prop_assert_eq!((k.src_v4(), k.dst_v4()), (outside.to_be_bytes(), outside.to_be_bytes()));
                prop_assert_eq!((m, s_mask, d_mask), (AggrMatch::default(), 0, 0));
            }
        }

        #[test]
        fn apply_never_touches_ipv6_addresses(a in any_aggregation(), src in any::<[u8; 16]>(), dst in any::<[u8; 16]>()) {
            let mut k = FlowKey { src, dst, ip_version: 6, protocol: proto::UDP, ..Default::default() };
            let (m, s_mask, d_mask) = a.apply(&mut k);
            prop_assert_eq!((k.src, k.dst, s_mask, d_mask), (src, dst, 0, 0));
            prop_assert_eq!((m.src_net, m.dst_net), (None, None));
        }
    }

    #[test]
    fn single_port_form_is_exactly_that_port() {
        let a = Aggregation::parse("53=1").unwrap();
        assert_eq!(a.port_rules(), vec![port(53, 53, 1)]);
        for (p, want) in [(52, 52), (53, 1), (54, 54), (0, 0)] {
            let mut k = v4([0; 4], [0; 4], proto::UDP, p, p);
            a.apply(&mut k);
            assert_eq!((k.s_port, k.d_port), (want, want));
        }
    }
}

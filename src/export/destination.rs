// SPDX-License-Identifier: GPL-2.0-only
//! The `destination` parameter and sysctl: where export packets go.
//!
//! Syntax (the original's): destinations separated by any of `" ,;\t\n"`,
//! each mirrored (every export packet goes to all of them):
//!
//! - IPv4 `A.B.C.D[:port][@bindA.B.C.D][%ifname]`;
//! - IPv6 (two or more `:`) `[addr]:port` or bare `addr` with the port after
//!   one of `.`, `p`, `#` (so `2001:db8::1p2055` works), `@bindaddr`, `%ifname`.
//!
//! The port defaults to 2055 and reads like C's `strtoul(.., 0)`: `0x` is
//! hex and a leading `0` octal. Duplicates (same address and port) are
//! dropped. Unlike the original, which logged and skipped a token it could
//! not parse, any bad token rejects the whole string, so a typo in a sysctl
//! write fails with `EINVAL` instead of silently losing a collector.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The port collectors listen on by default.
pub const DEFAULT_PORT: u16 = 2055;
/// At most this many destinations (the 256-byte parameter holds fewer).
pub const MAX_DESTINATIONS: usize = 32;
/// A `destination` value is at most this long (the parameter's and the
/// sysctl's 256-byte buffer, as the original's `DST_SIZE`).
pub const TEXT_MAX: usize = 255;
/// Interface names are at most this long (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

/// One collector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Destination {
    /// Where to send.
    pub addr: SocketAddr,
    /// Source address to bind to.
    pub bind: Option<IpAddr>,
    /// Interface to send through (`SO_BINDTODEVICE`), NUL-padded.
    pub ifname: Option<[u8; IFNAME_MAX + 1]>,
}

impl Destination {
    /// The interface name as text.
    pub fn ifname_str(&self) -> Option<&str> {
        let n = self.ifname.as_ref()?;
        let len = n.iter().position(|&b| b == 0).unwrap_or(n.len());
        core::str::from_utf8(&n[..len]).ok()
    }
}

/// Shows a destination as /proc does: `1.2.3.4:2055`, `[2001:db8::1]:2055`,
/// then `@bind` and `%ifname` when set.
impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.addr)?;
        match self.bind {
            Some(IpAddr::V4(a)) => write!(f, "@{a}")?,
            Some(IpAddr::V6(a)) => write!(f, "@[{a}]")?,
            None => {}
        }
        if let Some(name) = self.ifname_str() {
            write!(f, "%{name}")?;
        }
        Ok(())
    }
}

/// Linux's `AF_INET`.
pub const AF_INET: u16 = 2;
/// Linux's `AF_INET6`.
pub const AF_INET6: u16 = 10;

/// The bytes of a Linux `struct sockaddr_in` or `sockaddr_in6` for `addr`,
/// and how many of them are used.
pub fn sockaddr(addr: &SocketAddr) -> ([u8; 28], usize) {
    let mut b = [0u8; 28];
    b[2..4].copy_from_slice(&addr.port().to_be_bytes());
    match addr.ip() {
        IpAddr::V4(a) => {
            b[0..2].copy_from_slice(&AF_INET.to_ne_bytes());
            b[4..8].copy_from_slice(&a.octets());
            (b, 16)
        }
        IpAddr::V6(a) => {
            b[0..2].copy_from_slice(&AF_INET6.to_ne_bytes());
            b[8..24].copy_from_slice(&a.octets());
            (b, 28)
        }
    }
}

/// Why a destination string was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DestinationError {
    /// An address that does not parse.
    BadAddress,
    /// A port that does not parse or is out of range.
    BadPort,
    /// An empty or over-long interface name.
    BadInterface,
    /// More than [`MAX_DESTINATIONS`].
    TooMany,
}

impl fmt::Display for DestinationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DestinationError::BadAddress => f.write_str("an address is neither IPv4 nor IPv6"),
            DestinationError::BadPort => f.write_str("a port is not a number from 0 to 65535"),
            DestinationError::BadInterface => {
                write!(
                    f,
                    "an interface name after % is empty or longer than {IFNAME_MAX}"
                )
            }
            DestinationError::TooMany => write!(f, "more than {MAX_DESTINATIONS} destinations"),
        }
    }
}

/// A parsed `destination` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Destinations {
    list: [Option<Destination>; MAX_DESTINATIONS],
    len: usize,
}

impl Default for Destinations {
    fn default() -> Self {
        Destinations {
            list: [None; MAX_DESTINATIONS],
            len: 0,
        }
    }
}

/// The entries of a `destination` value.
fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split([' ', ',', ';', '\t', '\n'])
        .filter(|t| !t.is_empty())
}

/// Calls `f` with each destination of a `destination` value, in the order
/// given, each address once; returns how many there are. The kernel keeps
/// no parsed copy on its (small) stack: it checks the value with a no-op
/// `f`, then opens one socket per destination in a second pass.
///
/// On error `f` may already have seen the destinations before the bad one.
pub fn parse_each(s: &str, mut f: impl FnMut(&Destination)) -> Result<usize, DestinationError> {
    let mut n = 0;
    for (i, token) in tokens(s).enumerate() {
        let d = parse_one(token)?;
        // A collector given twice is sent to once. The earlier entries all
        // parsed already; parsing them again costs less than keeping them.
        if tokens(s)
            .take(i)
            .any(|t| parse_one(t).is_ok_and(|e| e.addr == d.addr))
        {
            continue;
        }
        if n == MAX_DESTINATIONS {
            return Err(DestinationError::TooMany);
        }
        f(&d);
        n += 1;
    }
    Ok(n)
}

impl Destinations {
    /// Parses a whole `destination` value. For the userspace programs
    /// (the kernel goes through [`parse_each`]); inline, so that the module
    /// carries no code of it, with its two copies of the list on the stack.
    #[inline]
    pub fn parse(s: &str) -> Result<Self, DestinationError> {
        let mut out = Destinations::default();
        parse_each(s, |d| {
            if let Some(slot) = out.list.get_mut(out.len) {
                *slot = Some(*d);
                out.len += 1;
            }
        })?;
        Ok(out)
    }

    /// The destinations, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &Destination> {
        self.list.iter().take(self.len).flatten()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// `strtoul(s, .., 0)` for a whole string: decimal, `0x` hex or `0` octal.
///
/// Written without any operation that can panic (slicing, a variable
/// radix): this code runs in the kernel, where a panic is a BUG().
fn parse_port(s: &str) -> Result<u16, DestinationError> {
    let bad = |_| DestinationError::BadPort;
    let port = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.is_empty() {
            return Err(DestinationError::BadPort);
        }
        u16::from_str_radix(h, 16).map_err(bad)?
    } else if let Some(o) = s.strip_prefix('0').filter(|o| !o.is_empty()) {
        u16::from_str_radix(o, 8).map_err(bad)?
    } else {
        s.parse::<u16>().map_err(bad)?
    };
    Ok(port)
}

fn parse_ifname(s: &str) -> Result<[u8; IFNAME_MAX + 1], DestinationError> {
    if s.is_empty() || s.len() > IFNAME_MAX || s.contains(['/', '\0']) {
        return Err(DestinationError::BadInterface);
    }
    let mut n = [0u8; IFNAME_MAX + 1];
    n[..s.len()].copy_from_slice(s.as_bytes());
    Ok(n)
}

fn parse_v6(s: &str) -> Result<Ipv6Addr, DestinationError> {
    let s = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    s.parse().map_err(|_| DestinationError::BadAddress)
}

fn parse_one(token: &str) -> Result<Destination, DestinationError> {
    // `%ifname` last, then `@bind`.
    let (rest, ifname) = match token.split_once('%') {
        Some((r, i)) => (r, Some(parse_ifname(i)?)),
        None => (token, None),
    };
    let (target, bind) = match rest.split_once('@') {
        Some((t, b)) => (t, Some(b)),
        None => (rest, None),
    };
    let v6 = target.matches(':').count() >= 2;
    let addr = if v6 {
        parse_v6_target(target)?
    } else {
        parse_v4_target(target)?
    };
    let bind = match bind {
        None => None,
        Some(b) if v6 => Some(IpAddr::V6(parse_v6(b)?)),
        Some(b) => Some(IpAddr::V4(
            b.parse::<Ipv4Addr>()
                .map_err(|_| DestinationError::BadAddress)?,
        )),
    };
    Ok(Destination { addr, bind, ifname })
}

fn parse_v4_target(s: &str) -> Result<SocketAddr, DestinationError> {
    let (a, port) = match s.split_once(':') {
        Some((a, p)) => (a, parse_port(p)?),
        None => (s, DEFAULT_PORT),
    };
    let ip: Ipv4Addr = a.parse().map_err(|_| DestinationError::BadAddress)?;
    Ok(SocketAddr::new(IpAddr::V4(ip), port))
}

fn parse_v6_target(s: &str) -> Result<SocketAddr, DestinationError> {
    if let Some(r) = s.strip_prefix('[') {
        let (a, tail) = r.split_once(']').ok_or(DestinationError::BadAddress)?;
        let ip: Ipv6Addr = a.parse().map_err(|_| DestinationError::BadAddress)?;
        let port = match tail.chars().next() {
            None => DEFAULT_PORT,
            Some(':' | '.' | 'p' | '#') => parse_port(tail.get(1..).unwrap_or(""))?,
            Some(_) => return Err(DestinationError::BadPort),
        };
        return Ok(SocketAddr::new(IpAddr::V6(ip), port));
    }
    if let Ok(ip) = s.parse::<Ipv6Addr>() {
        return Ok(SocketAddr::new(IpAddr::V6(ip), DEFAULT_PORT));
    }
    // A bare address followed by a port delimiter: the longest prefix that
    // is an address wins (so an embedded IPv4 part's dots are not taken for
    // the delimiter).
    for (i, c) in s.char_indices().rev() {
        if matches!(c, '.' | 'p' | '#') {
            let (Some(a), Some(p)) = (s.get(..i), s.get(i + 1..)) else {
                continue;
            };
            if let Ok(ip) = a.parse::<Ipv6Addr>() {
                return Ok(SocketAddr::new(IpAddr::V6(ip), parse_port(p)?));
            }
        }
    }
    Err(DestinationError::BadAddress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::{String, ToString};
    use std::vec::Vec;

    fn shown(s: &str) -> Vec<String> {
        Destinations::parse(s)
            .unwrap()
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    #[test]
    fn ipv4_forms() {
        assert_eq!(shown("10.0.0.1"), ["10.0.0.1:2055"]);
        assert_eq!(shown("10.0.0.1:9995"), ["10.0.0.1:9995"]);
        assert_eq!(
            shown("10.0.0.1:0x1000@192.168.0.1%eth0"),
            ["10.0.0.1:4096@192.168.0.1%eth0"]
        );
        assert_eq!(shown("10.0.0.1:010"), ["10.0.0.1:8"]);
    }

    #[test]
    fn ipv6_forms() {
        assert_eq!(shown("[2001:db8::1]:2056"), ["[2001:db8::1]:2056"]);
        assert_eq!(shown("2001:db8::1"), ["[2001:db8::1]:2055"]);
        assert_eq!(shown("2001:db8::1p9996"), ["[2001:db8::1]:9996"]);
        assert_eq!(shown("2001:db8::1#9997"), ["[2001:db8::1]:9997"]);
        assert_eq!(shown("2001:db8::1.9998"), ["[2001:db8::1]:9998"]);
        assert_eq!(shown("::ffff:1.2.3.4"), ["[::ffff:1.2.3.4]:2055"]);
        assert_eq!(
            shown("[fd00::1]:2055@fd00::2%veth0"),
            ["[fd00::1]:2055@[fd00::2]%veth0"]
        );
    }

    #[test]
    fn several_destinations_and_duplicates() {
        assert_eq!(
            shown(" 10.0.0.1:1,10.0.0.2;[::1]:3\t10.0.0.1:1\n10.0.0.1:2 "),
            ["10.0.0.1:1", "10.0.0.2:2055", "[::1]:3", "10.0.0.1:2"]
        );
        assert!(Destinations::parse("").unwrap().is_empty());
    }

    #[test]
    fn sockaddr_layouts() {
        let (b, n) = sockaddr(&"10.1.2.3:2055".parse().unwrap());
        assert_eq!(n, 16);
        assert_eq!(
            &b[..8],
            &[&AF_INET.to_ne_bytes()[..], &[0x08, 0x07, 10, 1, 2, 3]].concat()[..]
        );
        let (b, n) = sockaddr(&"[2001:db8::1]:9995".parse().unwrap());
        assert_eq!(n, 28);
        assert_eq!(&b[2..4], &9995u16.to_be_bytes());
        assert_eq!(b[8], 0x20);
        assert_eq!(b[23], 1);
    }

    #[test]
    fn bad_input_is_refused_whole() {
        use DestinationError::*;
        for (s, e) in [
            ("10.0.0.1:99999", BadPort),
            ("10.0.0.1:", BadPort),
            ("10.0.0.1:12ab", BadPort),
            ("10.0.0.256", BadAddress),
            ("10.0.0.1 nonsense", BadAddress),
            ("[2001:db8::1", BadAddress),
            ("[2001:db8::1]x1", BadPort),
            ("10.0.0.1%", BadInterface),
            ("10.0.0.1%averyveryverylongname", BadInterface),
            ("10.0.0.1@300.1.1.1", BadAddress),
        ] {
            assert_eq!(Destinations::parse(s), Err(e), "{s}");
        }
        let many: String = (0..40).map(|i| format!("10.0.0.{i} ")).collect();
        assert_eq!(Destinations::parse(&many), Err(TooMany));
    }
}

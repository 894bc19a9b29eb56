// SPDX-License-Identifier: GPL-2.0-only
//! The text the module publishes, turned into the SNMP value of an
//! object's type.

use crate::agentx::Value;
use crate::mib::Syntax;
use std::time::{SystemTime, UNIX_EPOCH};

/// The value of `text` as `syntax`; `None` when the text is not one
/// (the instance is then absent rather than wrong).
pub fn from_text(syntax: Syntax, text: &str) -> Option<Value> {
    let text = text.trim_end_matches('\n');
    Some(match syntax {
        Syntax::Text => Value::OctetString(text.as_bytes().to_vec()),
        Syntax::Integer => Value::Integer(text.trim().parse().ok()?),
        Syntax::Counter32 => Value::Counter32(unsigned(text)? as u32),
        Syntax::Gauge32 => Value::Gauge32(saturate(unsigned(text)?)),
        Syntax::FixedDiv100 => Value::Gauge32(saturate(hundredths(text)?)),
        Syntax::Counter64 => Value::Counter64(unsigned(text)?),
        // Time stamps never come from text.
        Syntax::DateAndTime => return None,
    })
}

fn unsigned(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// RFC 2578 7.1.7: a Gauge32 stays at its maximum rather than wrap.
fn saturate(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// "1.37" as 137: a decimal number times 100, exactly (the third and later
/// decimals are cut, as the original's `(long long)(d * 100)` does).
fn hundredths(text: &str) -> Option<u64> {
    let text = text.trim();
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if !frac.bytes().all(|b| b.is_ascii_digit()) || int.is_empty() {
        return None;
    }
    let mut digits = frac.bytes().map(|b| u64::from(b - b'0')).chain([0, 0]);
    let cents = digits.next()? * 10 + digits.next()?;
    int.parse::<u64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)
}

/// DateAndTime (SNMPv2-TC) of `t`, in UTC: year (2 octets), month, day,
/// hour, minutes, seconds, deci-seconds, then '+' 0 0 for UTC.
pub fn date_and_time(t: SystemTime) -> Vec<u8> {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    let year = u16::try_from(year).unwrap_or(u16::MAX).to_be_bytes();
    vec![
        year[0],
        year[1],
        month,
        day,
        (rem / 3600) as u8,
        (rem / 60 % 60) as u8,
        (rem % 60) as u8,
        (since.subsec_millis() / 100) as u8,
        b'+',
        0,
        0,
    ]
}

/// The proleptic Gregorian date `days` after 1970-01-01 (the well-known
/// era-based conversion: eras of 400 years, years starting in March).
fn civil_from_days(days: u64) -> (u64, u8, u8) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counters_and_gauges() {
        assert_eq!(
            from_text(Syntax::Counter64, "18446744073709551615\n"),
            Some(Value::Counter64(u64::MAX))
        );
        // Counter32 keeps the low 32 bits, as a 32-bit counter would have.
        assert_eq!(
            from_text(Syntax::Counter32, "4294967297"),
            Some(Value::Counter32(1))
        );
        assert_eq!(
            from_text(Syntax::Gauge32, "4294967297"),
            Some(Value::Gauge32(u32::MAX))
        );
        assert_eq!(from_text(Syntax::Gauge32, "12"), Some(Value::Gauge32(12)));
        assert_eq!(from_text(Syntax::Counter64, "-1"), None);
        assert_eq!(from_text(Syntax::Counter64, "1.5"), None);
        assert_eq!(from_text(Syntax::Integer, "-5\n"), Some(Value::Integer(-5)));
        assert_eq!(from_text(Syntax::Integer, "2147483648"), None);
        assert_eq!(
            from_text(Syntax::Text, "10.0.0.1:2055\n"),
            Some(Value::OctetString(b"10.0.0.1:2055".to_vec()))
        );
    }

    #[test]
    fn fixed_div_100() {
        for (text, v) in [
            ("1.00", 100),
            ("1.37", 137),
            ("0.5", 50),
            ("12", 1200),
            ("2.999", 299),
            ("0.07", 7),
        ] {
            assert_eq!(
                from_text(Syntax::FixedDiv100, text),
                Some(Value::Gauge32(v)),
                "{text}"
            );
        }
        for text in [".5", "1.x", "a", "-1.00", ""] {
            assert_eq!(from_text(Syntax::FixedDiv100, text), None, "{text}");
        }
        assert_eq!(
            from_text(Syntax::FixedDiv100, "99999999999.00"),
            Some(Value::Gauge32(u32::MAX))
        );
    }

    #[test]
    fn date_and_time_in_utc() {
        // 2026-11-30 22:57:12.34 UTC.
        let t = UNIX_EPOCH + Duration::from_millis(1_796_079_432_340);
        assert_eq!(
            date_and_time(t),
            [0x07, 0xea, 11, 30, 22, 57, 12, 3, b'+', 0, 0]
        );
        assert_eq!(
            date_and_time(UNIX_EPOCH),
            [0x07, 0xb2, 1, 1, 0, 0, 0, 0, b'+', 0, 0]
        );
        // 2024-02-29, a leap day, and 2000-03-01 after the century's leap day.
        assert_eq!(
            date_and_time(UNIX_EPOCH + Duration::from_secs(1_709_164_800))[..4],
            [0x07, 0xe8, 2, 29]
        );
        assert_eq!(
            date_and_time(UNIX_EPOCH + Duration::from_secs(951_868_800))[..4],
            [0x07, 0xd0, 3, 1]
        );
    }
}

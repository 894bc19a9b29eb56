// SPDX-License-Identifier: GPL-2.0-only
//! What the module accepts for each of its settings, for the programs that
//! write them (the operator's command, the SNMP agent): they check a value
//! here before writing it, so that a value the module would refuse is
//! refused with the module's own reason and nothing is written.

use crate::export::destination::{parse_each, DestinationError, TEXT_MAX};
use crate::meter::aggregation::{Aggregation, AggregationError};
use crate::meter::flow_table::MIN_HASHSIZE;
use crate::meter::sampler::{Sampler, SamplerError};
use crate::meter::snmp_rules::{SnmpRules, SnmpRulesError};
use crate::params::protocol::Protocol;
use core::fmt;

/// Why the module would refuse a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingError {
    /// A negative count or time.
    Negative,
    /// A switch that is neither 0 nor 1.
    NotSwitch,
    /// `scan-min` below one tick.
    ScanMinZero,
    /// A `hashsize` neither 0 (automatic) nor at least [`MIN_HASHSIZE`].
    HashsizeTooSmall,
    /// A `protocol` other than 5, 9 or 10.
    NotProtocol,
    /// A `destination` longer than its buffer.
    DestinationTooLong,
    /// A `destination` that does not parse.
    Destination(DestinationError),
    /// An `aggregation` that does not parse.
    Aggregation(AggregationError),
    /// A `sampler` that does not parse.
    Sampler(SamplerError),
    /// `snmp-rules` that do not parse.
    SnmpRules(SnmpRulesError),
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingError::Negative => f.write_str("is negative"),
            SettingError::NotSwitch => f.write_str("is neither 0 nor 1"),
            SettingError::ScanMinZero => f.write_str("is below 1"),
            SettingError::HashsizeTooSmall => {
                write!(f, "is neither 0 (automatic) nor at least {MIN_HASHSIZE}")
            }
            SettingError::NotProtocol => f.write_str("is not 5, 9 or 10 (IPFIX)"),
            SettingError::DestinationTooLong => write!(f, "is longer than {TEXT_MAX} bytes"),
            SettingError::Destination(e) => write!(f, "{e}"),
            SettingError::Aggregation(e) => write!(f, "{e}"),
            SettingError::Sampler(e) => write!(f, "{e}"),
            SettingError::SnmpRules(e) => write!(f, "{e}"),
        }
    }
}

/// Whether `name` is `setting`; the kernel takes `-` and `_` in parameter
/// names as the same, and the sysctls mix them (`scan-min`, `active_timeout`).
fn is(name: &str, setting: &str) -> bool {
    let norm = |b: u8| if b == b'-' { b'_' } else { b };
    name.len() == setting.len() && name.bytes().map(norm).eq(setting.bytes().map(norm))
}

/// Checks a number for the setting `name` (parameter or sysctl name).
pub fn check_number(name: &str, v: i64) -> Result<(), SettingError> {
    let refused = if is(name, "protocol") {
        i32::try_from(v)
            .ok()
            .and_then(Protocol::from_number)
            .is_none()
            .then_some(SettingError::NotProtocol)
    } else if is(name, "natevents") || is(name, "promisc") {
        (v != 0 && v != 1).then_some(SettingError::NotSwitch)
    } else if is(name, "hashsize") {
        (v != 0 && v < i64::from(MIN_HASHSIZE)).then_some(SettingError::HashsizeTooSmall)
    } else if is(name, "scan_min") {
        (v < 1).then_some(SettingError::ScanMinZero)
    } else if ["active_timeout", "inactive_timeout", "sndbuf", "debug"]
        .iter()
        .any(|s| is(name, s))
    {
        (v < 0).then_some(SettingError::Negative)
    } else {
        None
    };
    refused.map_or(Ok(()), Err)
}

/// Checks a text for the setting `name`, with the module's own parser.
pub fn check_text(name: &str, text: &str) -> Result<(), SettingError> {
    if is(name, "destination") {
        if text.len() > TEXT_MAX {
            return Err(SettingError::DestinationTooLong);
        }
        // Each entry checked, none kept (the kernel checks on its stack).
        parse_each(text, |_| {})
            .map(|_| ())
            .map_err(SettingError::Destination)
    } else if is(name, "aggregation") {
        Aggregation::parse(text)
            .map(|_| ())
            .map_err(SettingError::Aggregation)
    } else if is(name, "sampler") {
        Sampler::parse(text)
            .map(|_| ())
            .map_err(SettingError::Sampler)
    } else if is(name, "snmp_rules") {
        SnmpRules::parse(text)
            .map(|_| ())
            .map_err(SettingError::SnmpRules)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn numbers_the_module_refuses() {
        assert_eq!(check_number("protocol", 10), Ok(()));
        assert_eq!(check_number("protocol", 7), Err(SettingError::NotProtocol));
        assert_eq!(check_number("natevents", 2), Err(SettingError::NotSwitch));
        assert_eq!(check_number("hashsize", 0), Ok(()));
        assert_eq!(check_number("hashsize", 256), Ok(()));
        assert_eq!(
            check_number("hashsize", 255),
            Err(SettingError::HashsizeTooSmall)
        );
        assert_eq!(check_number("scan-min", 0), Err(SettingError::ScanMinZero));
        assert_eq!(check_number("scan_min", 1), Ok(()));
        assert_eq!(
            check_number("active-timeout", -1),
            Err(SettingError::Negative)
        );
        assert_eq!(check_number("maxflows", -1), Ok(()));
        assert_eq!(check_number("refresh-rate", 0), Ok(()));
    }

    #[test]
    fn texts_by_the_module_parsers_with_their_reasons() {
        assert_eq!(check_text("destination", "10.0.0.1:2055"), Ok(()));
        assert_eq!(
            check_text("destination", "10.0.0.1:99999")
                .unwrap_err()
                .to_string(),
            "a port is not a number from 0 to 65535"
        );
        let long = "1.2.3.4:5,".repeat(26);
        assert_eq!(
            check_text("destination", &long),
            Err(SettingError::DestinationTooLong)
        );
        assert!(check_text("aggregation", "10.0.0.0/8").is_err());
        assert!(check_text("sampler", "x:10").is_err());
        assert!(check_text("snmp-rules", "eth=1").is_err());
        assert_eq!(check_text("snmp_rules", "eth:100"), Ok(()));
        assert_eq!(check_text("debug", "anything"), Ok(()));
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! The module settings the command takes (`--destination`, `--active-timeout`
//! ...), each checked as the module would check it, before anything is
//! written: a value the module would refuse is refused here, with the reason
//! the module's own parser gives.

use ipt_netflow::control::setting_check;

/// What kind of value a setting takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A decimal `int`.
    Number,
    /// A text the module parses.
    Text,
}

/// One setting: its long option and the module parameter it becomes.
pub struct Setting {
    /// The option, without its dashes: `active-timeout`.
    pub option: &'static str,
    /// The module parameter and sysctl: `active_timeout`.
    pub param: &'static str,
    kind: Kind,
}

impl Setting {
    /// Checks `value` as the module would (`setting_check`, which the SNMP
    /// agent uses too); `Err` says why it would refuse it.
    pub fn check(&self, value: &str) -> Result<(), String> {
        match self.kind {
            Kind::Number => {
                let n = int(value)?;
                setting_check::check_number(self.param, n).map_err(|e| format!("{value} {e}"))
            }
            // An empty destination is valid to the module (it exports
            // nowhere); from an operator it is a mistake.
            Kind::Text
                if self.param == "destination"
                    && value.split([' ', ',', ';', '\t', '\n']).all(str::is_empty) =>
            {
                Err("no destination given".to_string())
            }
            // Worded as the module's log line ("can't parse destination: ...").
            Kind::Text => setting_check::check_text(self.param, value)
                .map_err(|e| format!("can't parse {}: {value}: {e}", self.param)),
        }
    }
}

/// Every setting, in the order the command writes them.
pub const SETTINGS: &[Setting] = &[
    Setting {
        option: "destination",
        param: "destination",
        kind: Kind::Text,
    },
    Setting {
        option: "protocol",
        param: "protocol",
        kind: Kind::Number,
    },
    Setting {
        option: "active-timeout",
        param: "active_timeout",
        kind: Kind::Number,
    },
    Setting {
        option: "inactive-timeout",
        param: "inactive_timeout",
        kind: Kind::Number,
    },
    Setting {
        option: "hashsize",
        param: "hashsize",
        kind: Kind::Number,
    },
    Setting {
        option: "maxflows",
        param: "maxflows",
        kind: Kind::Number,
    },
    Setting {
        option: "sndbuf",
        param: "sndbuf",
        kind: Kind::Number,
    },
    Setting {
        option: "aggregation",
        param: "aggregation",
        kind: Kind::Text,
    },
    Setting {
        option: "debug",
        param: "debug",
        kind: Kind::Number,
    },
];

/// The setting whose option is `option` (without dashes).
pub fn by_option(option: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.option == option)
}

/// The setting whose module parameter is `param`; the kernel takes `-` and
/// `_` in parameter names as the same.
pub fn by_param(param: &str) -> Option<&'static Setting> {
    let same = |a: &str| {
        a.bytes()
            .map(dash_is_underscore)
            .eq(param.bytes().map(dash_is_underscore))
    };
    SETTINGS.iter().find(|s| same(s.param))
}

fn dash_is_underscore(b: u8) -> u8 {
    if b == b'-' {
        b'_'
    } else {
        b
    }
}

/// Settings given, each once (a later value replaces an earlier one), in
/// [`SETTINGS`] order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Values(Vec<(&'static str, String)>);

impl Values {
    /// Sets `setting` to `value` after checking it.
    pub fn set(&mut self, setting: &'static Setting, value: &str) -> Result<(), String> {
        setting.check(value)?;
        self.0.retain(|(p, _)| *p != setting.param);
        self.0.push((setting.param, value.to_string()));
        let order = |p: &str| SETTINGS.iter().position(|s| s.param == p);
        self.0.sort_by_key(|(p, _)| order(p));
        Ok(())
    }

    /// The value of the module parameter `param`, if given.
    pub fn get(&self, param: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(p, _)| *p == param)
            .map(|(_, v)| v.as_str())
    }

    /// `(parameter, value)` pairs, in [`SETTINGS`] order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(p, v)| (*p, v.as_str()))
    }

    /// Whether no setting was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A decimal integer that fits the module's `int`.
fn int(value: &str) -> Result<i64, String> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{value}' is not a decimal integer"));
    }
    value
        .parse::<i32>()
        .map(i64::from)
        .map_err(|_| format!("{value} is out of range (at most {})", i32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(option: &str, value: &str) -> Result<(), String> {
        by_option(option).unwrap().check(value)
    }

    #[test]
    fn destinations_as_the_module_parses_them() {
        assert_eq!(check("destination", "10.0.0.1:2055"), Ok(()));
        assert_eq!(
            check("destination", "10.0.0.1:2055,[2001:db8::1]:4739"),
            Ok(())
        );
        assert_eq!(check("destination", "10.0.0.1:2055@10.0.0.2%eth0"), Ok(()));
        assert_eq!(
            check("destination", "10.0.0.300:2055"),
            Err(
                "can't parse destination: 10.0.0.300:2055: an address is neither IPv4 nor IPv6"
                    .into()
            )
        );
        assert_eq!(
            check("destination", "10.0.0.1:70000"),
            Err(
                "can't parse destination: 10.0.0.1:70000: a port is not a number from 0 to 65535"
                    .into()
            )
        );
        assert!(check("destination", "10.0.0.1%")
            .unwrap_err()
            .contains("interface name"));
        assert_eq!(
            check("destination", " , "),
            Err("no destination given".into())
        );
        assert!(check("destination", &"1.2.3.4:5,".repeat(30))
            .unwrap_err()
            .contains("longer"));
    }

    #[test]
    fn integers_in_the_module_ranges() {
        assert_eq!(check("active-timeout", "60"), Ok(()));
        assert_eq!(check("inactive-timeout", "0"), Ok(()));
        assert_eq!(check("active-timeout", "-1"), Err("-1 is negative".into()));
        assert_eq!(
            check("active-timeout", "1m"),
            Err("'1m' is not a decimal integer".into())
        );
        assert_eq!(
            check("active-timeout", ""),
            Err("'' is not a decimal integer".into())
        );
        assert!(check("sndbuf", "2147483648")
            .unwrap_err()
            .contains("out of range"));
        assert_eq!(check("maxflows", "-1"), Ok(()));
        assert_eq!(check("hashsize", "0"), Ok(()));
        assert_eq!(check("hashsize", "256"), Ok(()));
        assert!(check("hashsize", "255")
            .unwrap_err()
            .contains("at least 256"));
        assert_eq!(check("protocol", "10"), Ok(()));
        assert_eq!(check("protocol", "9"), Ok(()));
        assert_eq!(check("protocol", "5"), Ok(()));
        assert!(check("protocol", "8")
            .unwrap_err()
            .contains("not 5, 9 or 10"));
    }

    #[test]
    fn aggregation_with_the_module_reason() {
        assert_eq!(check("aggregation", "10.0.0.0/8=16,80-89=80"), Ok(()));
        let e = check("aggregation", "10.0.0.0/8").unwrap_err();
        assert!(e.contains("aggregation rule 1"), "{e}");
    }

    #[test]
    fn params_with_dashes_or_underscores() {
        assert_eq!(by_param("active-timeout").unwrap().option, "active-timeout");
        assert_eq!(by_param("active_timeout").unwrap().option, "active-timeout");
        assert!(by_param("engine_id").is_none());
    }

    #[test]
    fn values_keep_table_order_and_the_last_value() {
        let mut v = Values::default();
        v.set(by_option("debug").unwrap(), "1").unwrap();
        v.set(by_option("destination").unwrap(), "10.0.0.1")
            .unwrap();
        v.set(by_option("debug").unwrap(), "2").unwrap();
        assert!(v.set(by_option("debug").unwrap(), "x").is_err());
        let got: Vec<_> = v.iter().collect();
        assert_eq!(got, [("destination", "10.0.0.1"), ("debug", "2")]);
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! The command line: `ipt_netflow [-m MODE] [-d DEST] [--active-timeout N]
//! ... [-v] [--json]`, as the manual spells it. Values are checked here, by
//! [`crate::settings`], before any mode runs.

use crate::settings::{self, Values};
use std::fmt;

/// What the command does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Installed files, live configuration and status (the default).
    Show,
    /// Exit 0 when the module is loaded and a NETFLOW rule is in place.
    Status,
    /// Build and install the module if needed; write the configuration.
    Install,
    /// Load the module and add the rules.
    Enable,
    /// Remove the rules and unload the module.
    Disable,
    /// Undo `install`.
    Remove,
}

impl Mode {
    /// Every mode, as `--mode` spells them.
    pub const ALL: [(&'static str, Mode); 6] = [
        ("show", Mode::Show),
        ("status", Mode::Status),
        ("install", Mode::Install),
        ("enable", Mode::Enable),
        ("disable", Mode::Disable),
        ("remove", Mode::Remove),
    ];

    fn parse(text: &str) -> Option<Mode> {
        Mode::ALL.iter().find(|(n, _)| *n == text).map(|&(_, m)| m)
    }

    /// The mode's name.
    pub fn name(self) -> &'static str {
        Mode::ALL
            .iter()
            .find(|&&(_, m)| m == self)
            .map_or("?", |(n, _)| n)
    }
}

/// Which help was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Help {
    /// `-h`: the synopsis and options.
    Short,
    /// `-H`: also what each mode does.
    Long,
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The mode (`show` when none is given).
    pub mode: Mode,
    /// The module settings given.
    pub settings: Values,
    /// `-v`: say what is done (and why `status` fails).
    pub verbose: bool,
    /// `--json`: `show` for scripts.
    pub json: bool,
    /// `--top N`: `show` also lists the N busiest flows.
    pub top: usize,
    /// `--log FILE`: `enable` and `disable` also write what they did there
    /// (the service's log of its last start).
    pub log: Option<String>,
    /// `--source DIR`: where `install` builds the module from.
    pub source: Option<String>,
    /// `-h` or `-H`.
    pub help: Option<Help>,
    /// `--version`.
    pub version: bool,
}

/// Why a command line was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageError {
    /// An option the command does not know.
    Unknown(String),
    /// An option that needs a value came last.
    MissingValue(String),
    /// A value that the option (the module, for settings) refuses.
    BadValue {
        /// The option as given.
        option: String,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::Unknown(o) => write!(f, "unknown option '{o}' (see --help)"),
            UsageError::MissingValue(o) => write!(f, "option '{o}' needs a value"),
            UsageError::BadValue { option, reason } => write!(f, "{option}: {reason}"),
        }
    }
}

/// The usage text of `-h`.
pub const USAGE: &str = "\
usage: ipt_netflow [-m MODE] [-d DEST] [--protocol 5|9|10]
                   [--active-timeout N] [--inactive-timeout N] [--debug N]
                   [--hashsize N] [--sndbuf N] [--maxflows N]
                   [--aggregation RULES] [--json] [--top N] [-v] [-h] [-H]
                   [--version]

  -m, --mode MODE          show (default), status, install, enable, disable,
                           remove
  -d, --destination DEST   collectors, as the module's destination parameter:
                           ADDR[:PORT][@BIND][%IFACE], comma-separated
      --protocol V         5, 9 or 10 (IPFIX; install's default)
      --active-timeout N   seconds before a long flow is exported
      --inactive-timeout N seconds of silence before a flow is exported
      --debug N            the module's debug level
      --hashsize N         hash buckets (0: automatic, else at least 256)
      --sndbuf N           export socket buffer, bytes (0: system default)
      --maxflows N         flows kept at most (0 or less: no limit)
      --aggregation RULES  A.B.C.D/M=N and P1-P2=P rules, comma-separated
      --json               show: one JSON object, for scripts
      --top N              show: also the N busiest flows
      --source DIR         install: the sources to build the module from
      --log FILE           enable, disable: also log what was done to FILE
  -v, --verbose            say what is done; status says why it fails
  -h, --help               this text;  -H, --help-long: with the modes
      --version            the command's and the module's version
";

/// What `-H` adds.
pub const MODES_HELP: &str = "
modes:
  show     the installed files, the module's live settings (net.netflow.*)
           and its status from /proc/net/stat/ipt_netflow, in plain words
  status   silent; exit 0 when the module is loaded and a -j NETFLOW rule is
           in place, 1 otherwise (-v says which)
  install  build and install the module when it is not installed for the
           running kernel (with DKMS when present), write the settings given
           to /etc/modprobe.d/ipt_netflow.conf and the service's
           configuration file
  enable   load the module (settings given here override the installed
           ones; on a loaded module they are set through sysctl) and insert
           -j NETFLOW at the top of the configured chains, for IPv4 and,
           with protocol 9 or 10, IPv6; nothing is added twice
  disable  delete those rules (no other rule) and unload the module
  remove   disable, then delete every file install created, and the module
           when install built it
exit status: 0 success, 1 failure (or status: not running), 2 bad usage
";

/// A boolean flag's optional value: `-v`, `-v true`, `-v false`.
fn flag_value(args: &[String], i: &mut usize) -> bool {
    match args.get(*i + 1).map(String::as_str) {
        Some("true") => {
            *i += 1;
            true
        }
        Some("false") => {
            *i += 1;
            false
        }
        _ => true,
    }
}

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse(args: &[String]) -> Result<Options, UsageError> {
        let mut o = Options {
            mode: Mode::Show,
            settings: Values::default(),
            verbose: false,
            json: false,
            top: 0,
            log: None,
            source: None,
            help: None,
            version: false,
        };
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_str();
            // `--name=value` or `--name value`; `-m value`.
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (arg, None),
            };
            let long = match name {
                "-m" => "--mode",
                "-d" => "--destination",
                "-v" => "--verbose",
                "-h" => "--help",
                "-H" => "--help-long",
                n => n,
            };
            let mut value = || -> Result<String, UsageError> {
                if let Some(v) = &inline {
                    return Ok(v.clone());
                }
                i += 1;
                args.get(i)
                    .cloned()
                    .ok_or_else(|| UsageError::MissingValue(arg.to_string()))
            };
            let bad = |reason: String| UsageError::BadValue {
                option: name.to_string(),
                reason,
            };
            match long {
                "--mode" => {
                    let v = value()?;
                    o.mode = Mode::parse(&v).ok_or_else(|| {
                        bad(format!(
                            "'{v}' is not one of show, status, install, enable, disable, remove"
                        ))
                    })?;
                }
                "--verbose" | "--help" | "--help-long" | "--version" | "--json" => {
                    if inline.is_some() {
                        return Err(bad("takes no '=' value".to_string()));
                    }
                    let on = flag_value(args, &mut i);
                    match long {
                        "--verbose" => o.verbose = on,
                        "--json" => o.json = on,
                        "--version" => o.version = on,
                        "--help" => o.help = on.then_some(Help::Short).or(o.help),
                        _ => o.help = on.then_some(Help::Long).or(o.help),
                    }
                }
                "--top" => {
                    let v = value()?;
                    o.top = v
                        .parse()
                        .map_err(|_| bad(format!("'{v}' is not a number of flows")))?;
                }
                "--log" => o.log = Some(value()?),
                "--source" => o.source = Some(value()?),
                _ => {
                    let setting = long
                        .strip_prefix("--")
                        .and_then(settings::by_option)
                        .ok_or_else(|| UsageError::Unknown(arg.to_string()))?;
                    let v = value()?;
                    o.settings.set(setting, &v).map_err(bad)?;
                }
            }
            i += 1;
        }
        Ok(o)
    }
}

impl Options {
    /// Refuses options that mean nothing to the mode: silently ignored,
    /// they would be taken for done.
    pub fn fits_mode(&self) -> Result<(), String> {
        let mode = self.mode;
        let misplaced = [
            (
                !self.settings.is_empty(),
                "settings",
                &[Mode::Install, Mode::Enable][..],
            ),
            (self.json, "--json", &[Mode::Show]),
            (self.top > 0, "--top", &[Mode::Show]),
            (self.log.is_some(), "--log", &[Mode::Enable, Mode::Disable]),
            (self.source.is_some(), "--source", &[Mode::Install]),
        ];
        for (given, what, modes) in misplaced {
            if given && !modes.contains(&mode) {
                let names: Vec<&str> = modes.iter().map(|m| m.name()).collect();
                return Err(format!(
                    "{what}: only for --mode {}, not {}",
                    names.join(" and "),
                    mode.name()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, UsageError> {
        Options::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn show_is_the_default() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.mode, Mode::Show);
        assert!(o.settings.is_empty() && !o.verbose && !o.json && o.help.is_none());
    }

    #[test]
    fn the_manual_spellings() {
        let o = parse(&[
            "-m",
            "install",
            "-d",
            "127.0.0.1:2055",
            "--active-timeout",
            "60",
            "--inactive-timeout=10",
            "--debug",
            "1",
            "--hashsize",
            "4096",
            "--sndbuf",
            "1048576",
            "--maxflows",
            "100000",
            "--aggregation",
            "80-89=80",
            "-v",
        ])
        .unwrap();
        assert_eq!(o.mode, Mode::Install);
        assert!(o.verbose);
        let s: Vec<_> = o.settings.iter().collect();
        assert_eq!(
            s,
            [
                ("destination", "127.0.0.1:2055"),
                ("active_timeout", "60"),
                ("inactive_timeout", "10"),
                ("hashsize", "4096"),
                ("maxflows", "100000"),
                ("sndbuf", "1048576"),
                ("aggregation", "80-89=80"),
                ("debug", "1"),
            ]
        );
        for (m, mode) in Mode::ALL {
            assert_eq!(parse(&["--mode", m]).unwrap().mode, mode);
            assert_eq!(mode.name(), m);
        }
    }

    #[test]
    fn flags_take_an_optional_true_or_false() {
        assert!(parse(&["-v", "true"]).unwrap().verbose);
        assert!(!parse(&["-v", "false"]).unwrap().verbose);
        assert!(!parse(&["-v", "-v", "false"]).unwrap().verbose);
        let o = parse(&["-v", "-m", "status"]).unwrap();
        assert!(o.verbose && o.mode == Mode::Status);
        assert_eq!(parse(&["-h"]).unwrap().help, Some(Help::Short));
        assert_eq!(
            parse(&["--help-long", "true"]).unwrap().help,
            Some(Help::Long)
        );
        assert_eq!(parse(&["-H", "false"]).unwrap().help, None);
        assert!(parse(&["--version"]).unwrap().version);
        assert!(parse(&["--json"]).unwrap().json);
        assert!(parse(&["--json=yes"]).is_err());
    }

    #[test]
    fn options_only_where_they_mean_something() {
        assert_eq!(
            parse(&["-m", "enable", "-d", "10.0.0.1"])
                .unwrap()
                .fits_mode(),
            Ok(())
        );
        assert_eq!(
            parse(&["--json", "--top", "3"]).unwrap().fits_mode(),
            Ok(())
        );
        let e = parse(&["-m", "status", "-d", "10.0.0.1"])
            .unwrap()
            .fits_mode();
        assert_eq!(
            e,
            Err("settings: only for --mode install and enable, not status".into())
        );
        let e = parse(&["-m", "disable", "--json"]).unwrap().fits_mode();
        assert_eq!(e, Err("--json: only for --mode show, not disable".into()));
        assert!(parse(&["--log", "/x"]).unwrap().fits_mode().is_err());
        assert!(parse(&["-m", "enable", "--source", "/x"])
            .unwrap()
            .fits_mode()
            .is_err());
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(
            parse(&["--nope"]),
            Err(UsageError::Unknown("--nope".into()))
        );
        assert_eq!(parse(&["show"]), Err(UsageError::Unknown("show".into())));
        assert_eq!(parse(&["-d"]), Err(UsageError::MissingValue("-d".into())));
        let e = parse(&["-m", "start"]).unwrap_err().to_string();
        assert!(e.starts_with("-m: 'start' is not one of"), "{e}");
        let e = parse(&["-d", "10.0.0.1:99999"]).unwrap_err().to_string();
        assert_eq!(
            e,
            "-d: can't parse destination: 10.0.0.1:99999: a port is not a number from 0 to 65535"
        );
        let e = parse(&["--hashsize=12"]).unwrap_err().to_string();
        assert!(e.starts_with("--hashsize: 12 is neither 0"), "{e}");
        assert!(parse(&["--top", "x"]).is_err());
    }
}

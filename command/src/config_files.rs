// SPDX-License-Identifier: GPL-2.0-only
//! The files `install` writes, as text: `/etc/modprobe.d/ipt_netflow.conf`
//! (the module's settings, read by modprobe whoever loads the module: the
//! service, an operator, or iptables itself on the first `-j NETFLOW`), and
//! the service's configuration file (which chains get the rule, which
//! families, which iptables), read by `enable` and so by the service.

use crate::settings::{self, Values};

/// The first line of every file the command writes: `install` overwrites
/// only files that carry it, so an operator's own file is never lost.
pub const WRITTEN_BY: &str =
    "# Written by `ipt_netflow --mode install`; `--mode remove` deletes it.";

/// The module's name as modprobe knows it.
const MODULE: &str = "ipt_NETFLOW";

/// `/etc/modprobe.d/ipt_netflow.conf` for these settings.
pub fn modprobe_conf(values: &Values) -> String {
    let mut text = format!(
        "{WRITTEN_BY}\n# modprobe applies these whenever {MODULE} loads (see ipt_NETFLOW(8)).\n"
    );
    if values.is_empty() {
        text.push_str("# (no settings given: the module's defaults)\n");
        return text;
    }
    text.push_str("options ");
    text.push_str(MODULE);
    for (param, value) in values.iter() {
        // modprobe splits on white space unless it is inside double quotes;
        // no valid value contains a double quote.
        if value.contains([' ', '\t']) {
            text.push_str(&format!(" {param}=\"{value}\""));
        } else {
            text.push_str(&format!(" {param}={value}"));
        }
    }
    text.push('\n');
    text
}

/// The words of an `options` line, as modprobe splits them: white space
/// separates, double quotes keep it.
fn modprobe_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

/// The settings of a modprobe configuration text: its `options
/// ipt_NETFLOW` lines (modprobe takes `-` for `_` in names). Parameters the
/// command does not set (`engine_id`, ...) are returned apart, as they are.
pub fn parse_modprobe_conf(text: &str) -> Result<(Values, Vec<(String, String)>), String> {
    let mut values = Values::default();
    let mut others = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let words = modprobe_words(line);
        let [keyword, module, params @ ..] = words.as_slice() else {
            continue;
        };
        if keyword != "options" || module.replace('-', "_") != MODULE.replace('-', "_") {
            continue;
        }
        for p in params {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            match settings::by_param(name) {
                Some(s) => values
                    .set(s, value)
                    .map_err(|e| format!("line {}: {name}: {e}", n + 1))?,
                None => others.push((name.to_string(), value.to_string())),
            }
        }
    }
    Ok((values, others))
}

/// What families `enable` gives rules to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipv6 {
    /// IPv6 too when the module exports with protocol 9 or 10 (v5 cannot
    /// carry IPv6 flows).
    Auto,
    /// Always.
    Yes,
    /// Never.
    No,
}

/// Which iptables `enable` and `disable` run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `iptables` and `ip6tables`, whichever backend the system chose.
    Auto,
    /// `iptables-legacy` and `ip6tables-legacy`.
    Legacy,
    /// `iptables-nft` and `ip6tables-nft`.
    Nft,
}

impl Backend {
    /// The commands for IPv4 and IPv6.
    pub fn commands(self) -> [&'static str; 2] {
        match self {
            Backend::Auto => ["iptables", "ip6tables"],
            Backend::Legacy => ["iptables-legacy", "ip6tables-legacy"],
            Backend::Nft => ["iptables-nft", "ip6tables-nft"],
        }
    }
}

/// The service's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceConf {
    /// The table the rules go to.
    pub table: String,
    /// The chains that get `-j NETFLOW` at their top.
    pub chains: Vec<String>,
    /// Which families.
    pub ipv6: Ipv6,
    /// Which iptables.
    pub backend: Backend,
}

impl Default for ServiceConf {
    fn default() -> Self {
        ServiceConf {
            table: "filter".to_string(),
            chains: ["INPUT", "FORWARD", "OUTPUT"].map(String::from).to_vec(),
            ipv6: Ipv6::Auto,
            backend: Backend::Auto,
        }
    }
}

/// A table or chain name iptables would take (no option-like or empty
/// names, nothing a shell or iptables would split).
fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 28
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!("{what} '{name}' is not an iptables name"))
    }
}

impl ServiceConf {
    /// The configuration file's text.
    pub fn render(&self) -> String {
        let ipv6 = match self.ipv6 {
            Ipv6::Auto => "auto",
            Ipv6::Yes => "yes",
            Ipv6::No => "no",
        };
        let backend = match self.backend {
            Backend::Auto => "auto",
            Backend::Legacy => "legacy",
            Backend::Nft => "nft",
        };
        format!(
            "{WRITTEN_BY}
# ipt_netflow.service runs `ipt_netflow --mode enable` at start and
# `--mode disable` at stop; both read this file. The module's own settings
# are in /etc/modprobe.d/ipt_netflow.conf.
#
# The table and chains that get \"-j NETFLOW\" inserted at their top:
TABLE={}
CHAINS=\"{}\"
# IPv6 rules too: auto (when the protocol is 9 or 10), yes or no.
IPV6={ipv6}
# Which iptables: auto (iptables, ip6tables), legacy or nft.
BACKEND={backend}
",
            self.table,
            self.chains.join(" ")
        )
    }

    /// Reads a configuration file's text: `KEY=value` lines (the value
    /// optionally in quotes), `#` comments. A key it does not know or a bad
    /// value is an error, so a typo never goes unnoticed.
    pub fn parse(text: &str) -> Result<ServiceConf, String> {
        let mut c = ServiceConf::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |e: String| format!("line {}: {e}", n + 1);
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| at(format!("'{line}' is not KEY=value")))?;
            let value = value.trim();
            let value = ['"', '\'']
                .iter()
                .find_map(|&q| value.strip_prefix(q).and_then(|v| v.strip_suffix(q)))
                .unwrap_or(value);
            match key.trim() {
                "TABLE" => {
                    check_name("table", value).map_err(at)?;
                    c.table = value.to_string();
                }
                "CHAINS" => {
                    let chains: Vec<String> = value.split_whitespace().map(String::from).collect();
                    for ch in &chains {
                        check_name("chain", ch).map_err(at)?;
                    }
                    c.chains = chains;
                }
                "IPV6" => {
                    c.ipv6 = match value {
                        "auto" => Ipv6::Auto,
                        "yes" => Ipv6::Yes,
                        "no" => Ipv6::No,
                        v => return Err(at(format!("IPV6 is auto, yes or no, not '{v}'"))),
                    }
                }
                "BACKEND" => {
                    c.backend = match value {
                        "auto" => Backend::Auto,
                        "legacy" => Backend::Legacy,
                        "nft" => Backend::Nft,
                        v => return Err(at(format!("BACKEND is auto, legacy or nft, not '{v}'"))),
                    }
                }
                k => return Err(at(format!("unknown setting '{k}'"))),
            }
        }
        Ok(c)
    }
}

/// The list of what `install` did, so that `remove` undoes exactly that:
/// one `KIND VALUE` line each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Files it wrote.
    pub files: Vec<String>,
    /// `name/version` of the DKMS module it added.
    pub dkms: Option<String>,
    /// The source directory it ran `make install` in.
    pub make: Option<String>,
}

impl Manifest {
    /// The manifest's text.
    pub fn render(&self) -> String {
        let mut t =
            String::from("# What `ipt_netflow --mode install` did; `--mode remove` undoes it.\n");
        for f in &self.files {
            t.push_str(&format!("file {f}\n"));
        }
        if let Some(d) = &self.dkms {
            t.push_str(&format!("dkms {d}\n"));
        }
        if let Some(m) = &self.make {
            t.push_str(&format!("make {m}\n"));
        }
        t
    }

    /// Reads a manifest's text. Values with control characters are refused:
    /// install never writes them, and `remove` deletes what it names.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            if line.contains(char::is_control) {
                return Err(format!("{line:?} has control characters"));
            }
            match line.split_once(' ') {
                Some(("file", f)) if f.starts_with('/') => m.files.push(f.to_string()),
                Some(("dkms", d)) if d.contains('/') => m.dkms = Some(d.to_string()),
                Some(("make", s)) if s.starts_with('/') => m.make = Some(s.to_string()),
                _ => return Err(format!("'{line}' is not a manifest line")),
            }
        }
        Ok(m)
    }

    /// Records a file written (once).
    pub fn add_file(&mut self, path: &str) {
        if !self.files.iter().any(|f| f == path) {
            self.files.push(path.to_string());
        }
    }
}

/// `PACKAGE_NAME` and `PACKAGE_VERSION` of a `dkms.conf`: what `dkms
/// install -m NAME -v VERSION` takes.
pub fn dkms_package(text: &str) -> Option<(String, String)> {
    let value = |key: &str| {
        text.lines().find_map(|l| {
            let v = l.trim().strip_prefix(key)?.strip_prefix('=')?;
            Some(v.trim().trim_matches('"').to_string())
        })
    };
    Some((value("PACKAGE_NAME")?, value("PACKAGE_VERSION")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        let mut v = Values::default();
        for (o, x) in pairs {
            v.set(settings::by_option(o).unwrap(), x).unwrap();
        }
        v
    }

    #[test]
    fn modprobe_conf_round_trips() {
        let v = values(&[
            ("destination", "127.0.0.1:2055, 10.0.0.1:2056"),
            ("active-timeout", "60"),
            ("protocol", "10"),
        ]);
        let text = modprobe_conf(&v);
        assert!(text.starts_with(WRITTEN_BY));
        assert!(text.ends_with(
            "options ipt_NETFLOW destination=\"127.0.0.1:2055, 10.0.0.1:2056\" protocol=10 active_timeout=60\n"
        ));
        assert_eq!(parse_modprobe_conf(&text).unwrap(), (v, vec![]));
        assert_eq!(
            parse_modprobe_conf(&modprobe_conf(&Values::default()))
                .unwrap()
                .0,
            Values::default()
        );
    }

    #[test]
    fn modprobe_conf_as_operators_write_it() {
        let text = "# mine\noptions ipt-NETFLOW active-timeout=120 engine_id=7\n\
                    options other x=1\ninstall ipt_NETFLOW /bin/true\n\
                    options ipt_NETFLOW destination=10.0.0.1:2055\n";
        let (v, others) = parse_modprobe_conf(text).unwrap();
        assert_eq!(
            v,
            values(&[("active-timeout", "120"), ("destination", "10.0.0.1:2055")])
        );
        assert_eq!(others, [("engine_id".to_string(), "7".to_string())]);
        let e = parse_modprobe_conf("options ipt_NETFLOW protocol=7\n").unwrap_err();
        assert_eq!(e, "line 1: protocol: 7 is not 5, 9 or 10 (IPFIX)");
    }

    #[test]
    fn service_conf_round_trips() {
        let c = ServiceConf::default();
        assert_eq!(ServiceConf::parse(&c.render()).unwrap(), c);
        let c = ServiceConf {
            table: "raw".into(),
            chains: vec!["PREROUTING".into()],
            ipv6: Ipv6::No,
            backend: Backend::Legacy,
        };
        assert_eq!(ServiceConf::parse(&c.render()).unwrap(), c);
        assert_eq!(ServiceConf::parse("").unwrap(), ServiceConf::default());
    }

    #[test]
    fn service_conf_refuses_what_it_does_not_know() {
        let p = |t: &str| ServiceConf::parse(t).unwrap_err();
        assert_eq!(p("CHAIN=INPUT"), "line 1: unknown setting 'CHAIN'");
        assert_eq!(
            p("\nIPV6=maybe"),
            "line 2: IPV6 is auto, yes or no, not 'maybe'"
        );
        assert_eq!(
            p("CHAINS=\"INPUT -j\""),
            "line 1: chain '-j' is not an iptables name"
        );
        assert_eq!(
            p("CHAINS='IN;rm'"),
            "line 1: chain 'IN;rm' is not an iptables name"
        );
        assert_eq!(
            p("BACKEND=ebtables"),
            "line 1: BACKEND is auto, legacy or nft, not 'ebtables'"
        );
        assert_eq!(p("TABLE"), "line 1: 'TABLE' is not KEY=value");
        assert_eq!(
            ServiceConf::parse("CHAINS='FORWARD'").unwrap().chains,
            ["FORWARD"]
        );
    }

    #[test]
    fn manifest_round_trips() {
        let mut m = Manifest::default();
        m.add_file("/etc/modprobe.d/ipt_netflow.conf");
        m.add_file("/etc/modprobe.d/ipt_netflow.conf");
        m.dkms = Some("ipt-netflow-rs/2.6-rs1".into());
        assert_eq!(Manifest::parse(&m.render()).unwrap(), m);
        assert_eq!(m.files.len(), 1);
        assert!(Manifest::parse("file relative/path").is_err());
        assert!(Manifest::parse("rm -rf /").is_err());
    }

    /// Found by the fuzz target: a path ending in CR came back without it
    /// (`lines` takes "\r\n" for the line end).
    #[test]
    fn manifest_refuses_control_characters() {
        let e = Manifest::parse("file /;\u{f}\r\rc\r\r").unwrap_err();
        assert!(e.ends_with("has control characters"), "{e}");
        assert!(Manifest::parse("file /etc/x\n").is_ok());
    }

    #[test]
    fn dkms_package_of_the_repository() {
        let text = include_str!("../../dkms.conf");
        let (name, version) = dkms_package(text).unwrap();
        assert_eq!(name, "ipt-netflow-rs");
        assert!(version.starts_with("2.6-rs"), "{version}");
        assert_eq!(dkms_package("PACKAGE_NAME=x\n"), None);
    }
}

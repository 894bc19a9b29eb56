// SPDX-License-Identifier: GPL-2.0-only
//! What `show` prints, from facts gathered elsewhere: for people, in plain
//! words with the warnings the original's README gives as advice; or as one
//! JSON object for scripts.

use crate::json::Json;
use crate::proc_status::{FlowLine, Section, Status, Value, BUILD_SINGLE, SINGLE};
use std::fmt::Write;

/// A `-j NETFLOW` rule in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// `ipv4` or `ipv6`.
    pub family: &'static str,
    /// The table.
    pub table: String,
    /// The rule as `iptables-save` prints it.
    pub spec: String,
}

/// Everything `show` reports, gathered from the system.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// The running kernel's release.
    pub kernel: String,
    /// The module file for it, if installed.
    pub module_file: Option<String>,
    /// The iptables extension, if installed.
    pub extension: Option<String>,
    /// The command's files and whether each exists.
    pub files: Vec<(String, bool)>,
    /// Whether the module is loaded.
    pub loaded: bool,
    /// The NETFLOW rules in place.
    pub rules: Vec<Rule>,
    /// Why the rules could not be listed, if they could not.
    pub rules_error: Option<String>,
    /// `net.netflow.*`, name and value.
    pub settings: Vec<(String, String)>,
    /// `/proc/net/stat/ipt_netflow`, read.
    pub status: Option<Status>,
    /// The busiest flows (`--top`).
    pub top: Vec<FlowLine>,
}

/// The command's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The hash metric above which the original's README advises a larger
/// `hashsize` (searches per packet, ×100).
const METRIC_HIGH_X100: u64 = 200;

/// A metric `1.23` as 123.
fn hundredths(v: Option<&Value>) -> u64 {
    match v {
        Some(Value::Decimal(t)) => {
            let (i, f) = t.split_once('.').unwrap_or((t, "0"));
            let f = format!("{f:0<2}");
            i.parse::<u64>().unwrap_or(0) * 100 + f[..2].parse::<u64>().unwrap_or(0)
        }
        Some(Value::Int(n)) => n * 100,
        _ => 0,
    }
}

/// The warnings the facts call for, each with what to do about it.
pub fn warnings(f: &Facts) -> Vec<String> {
    let mut w = Vec::new();
    if f.extension.is_none() {
        w.push("the iptables extension libxt_NETFLOW.so is not installed: iptables cannot add or list NETFLOW rules (make install-libxt)".into());
    }
    if f.loaded && f.rules.is_empty() && f.rules_error.is_none() {
        w.push("no -j NETFLOW rule is in place: nothing is metered (ipt_netflow -m enable)".into());
    }
    if !f.loaded && !f.rules.is_empty() {
        w.push("NETFLOW rules are in place but the module is not loaded".into());
    }
    let Some(s) = &f.status else { return w };
    let protocol = s.section("protocol").map_or(0, |p| p.int("version"));
    if protocol == 5 && f.rules.iter().any(|r| r.family == "ipv6") {
        w.push(
            "protocol 5 cannot carry IPv6 flows: set protocol 9 or 10, or drop the ip6tables rules"
                .into(),
        );
    }
    if let Some(t) = s.section("total") {
        if t.int("maxflows") > 0 {
            w.push(format!(
                "{} packets were not metered because maxflows was reached: raise maxflows",
                t.int("maxflows")
            ));
        }
        if t.int("alloc") > 0 {
            w.push(format!(
                "{} packets were not metered for want of memory",
                t.int("alloc")
            ));
        }
    }
    if let Some(h) = s.section("hash") {
        if hundredths(h.get("metric_5min")) > METRIC_HIGH_X100 {
            w.push(format!(
                "hash metric {} (5 min): flows share buckets, raise hashsize",
                h.text("metric_5min")
            ));
        }
    }
    if let Some(e) = s.section("export") {
        if e.int("lost_flows") > 0 {
            w.push(format!(
                "{} flows ({} packets) were lost: no destination took their export",
                e.int("lost_flows"),
                e.int("lost_pkts")
            ));
        }
    }
    for sock in s.all("socket") {
        let dest = sock.text("destination");
        if sock.get("attempts").is_some() {
            w.push(format!(
                "destination {dest} is unconnected ({} attempts): check its address and interface",
                sock.int("attempts")
            ));
            continue;
        }
        if sock.int("err_sndbuf") > 0 {
            w.push(format!(
                "destination {dest}: {} export packets dropped on a full socket buffer: raise sndbuf",
                sock.int("err_sndbuf")
            ));
        }
        if sock.int("err_cberr") > 0 {
            w.push(format!(
                "destination {dest}: {} ICMP errors came back: is a collector listening there?",
                sock.int("err_cberr")
            ));
        }
        if sock.int("err_connect") + sock.int("err_other") > 0 {
            w.push(format!(
                "destination {dest}: {} failed connects and {} other send errors",
                sock.int("err_connect"),
                sock.int("err_other")
            ));
        }
    }
    w
}

fn protocol_name(p: &Section) -> String {
    match p.int("version") {
        5 => "NetFlow v5".into(),
        9 => "NetFlow v9".into(),
        10 => "IPFIX".into(),
        n => format!("version {n}"),
    }
}

/// `show` for people.
pub fn text(f: &Facts) -> String {
    let mut o = String::new();
    let t = &mut o;
    let _ = writeln!(t, "ipt_netflow {VERSION}, kernel {}", f.kernel);
    let _ = writeln!(t, "\nInstalled:");
    let installed = |x: &Option<String>| x.clone().unwrap_or_else(|| "not installed".into());
    let _ = writeln!(t, "  module             {}", installed(&f.module_file));
    let _ = writeln!(t, "  iptables extension {}", installed(&f.extension));
    for (path, exists) in &f.files {
        let _ = writeln!(t, "  {path}{}", if *exists { "" } else { " (absent)" });
    }
    let _ = writeln!(
        t,
        "\nModule: {}",
        if f.loaded { "loaded" } else { "not loaded" }
    );
    match &f.rules_error {
        Some(e) => {
            let _ = writeln!(t, "Rules: cannot list them: {e}");
        }
        None if f.rules.is_empty() => {
            let _ = writeln!(t, "Rules: none");
        }
        None => {
            let _ = writeln!(t, "Rules:");
            for r in &f.rules {
                let _ = writeln!(t, "  {} -t {} {}", r.family, r.table, r.spec);
            }
        }
    }
    if !f.settings.is_empty() {
        let _ = writeln!(t, "\nSettings (net.netflow):");
        for (k, v) in &f.settings {
            let _ = writeln!(t, "  {k:<17} {v}");
        }
    }
    if let Some(s) = &f.status {
        status_text(t, s);
    }
    if !f.top.is_empty() {
        let _ = writeln!(t, "\nBusiest flows (of those not yet exported):");
        let _ = writeln!(
            t,
            "  {:>12} {:>9}  proto  in,out  source -> destination",
            "bytes", "packets"
        );
        for fl in &f.top {
            let _ = writeln!(
                t,
                "  {:>12} {:>9}  {:<5}  {:<6}  {} -> {}",
                fl.bytes, fl.packets, fl.proto, fl.dev, fl.src, fl.dst
            );
        }
    }
    let warns = warnings(f);
    if !warns.is_empty() {
        let _ = writeln!(t, "\nWarnings:");
        for w in warns {
            let _ = writeln!(t, "  ! {w}");
        }
    }
    o
}

fn status_text(t: &mut String, s: &Status) {
    let none = Section {
        name: "",
        fields: Vec::new(),
    };
    let sec = |n: &str| s.section(n).unwrap_or(&none);
    let _ = writeln!(t, "\nStatus:");
    let m = sec("module");
    let _ = writeln!(
        t,
        "  module      ipt_NETFLOW {} (srcversion {}; features: {})",
        m.text("version"),
        m.text("srcversion"),
        m.text("features")
    );
    let p = sec("protocol");
    let _ = write!(t, "  export      {}", protocol_name(p));
    if p.get("templates").is_some() {
        let _ = write!(t, ", {} templates in use", p.int("templates_active"));
    }
    let tm = sec("timeouts");
    let _ = writeln!(
        t,
        "; flows leave after {} s active, {} s idle",
        tm.int("active"),
        tm.int("inactive")
    );
    let fl = sec("flows");
    let h = sec("hash");
    let _ = writeln!(
        t,
        "  flows       {} in memory (peak {}), {} KiB; hash {} buckets, metric {}",
        fl.int("active"),
        fl.int("peak"),
        fl.int("mem_kb"),
        h.int("size"),
        h.text("metric")
    );
    let r = sec("rate");
    let _ = writeln!(
        t,
        "  traffic     {} bit/s, {} packets/s now; {} bit/s over 1 min, {} over 5 min",
        r.int("bps"),
        r.int("pps"),
        r.int("bps_1min"),
        r.int("bps_5min")
    );
    let total = sec("total");
    let totals = sec("totals");
    let _ = writeln!(
        t,
        "  metered     {} packets, {} bytes in {} flows since load",
        total.int("pkts"),
        totals.int("inBytes"),
        totals.int("inFlows")
    );
    let _ = writeln!(
        t,
        "  not metered {} packets ({} KiB): {} over maxflows, {} for want of memory",
        total.int("drop_pkts"),
        total.int("drop_kb"),
        total.int("maxflows"),
        total.int("alloc")
    );
    let e = sec("export");
    let _ = writeln!(
        t,
        "  exported    {} flows in {} packets ({} bytes), {} bytes/s; {} packets failed to send",
        e.int("flows"),
        e.int("pkts"),
        totals.int("outBytes"),
        e.int("rate"),
        e.int("errors")
    );
    let _ = writeln!(
        t,
        "  lost        {} flows, {} packets, {} KiB (no destination took them)",
        e.int("lost_flows"),
        e.int("lost_pkts"),
        e.int("lost_kb")
    );
    let smp = sec("sampler");
    if smp.text("mode") != "disabled" && !smp.fields.is_empty() {
        let _ = writeln!(
            t,
            "  sampling    {} 1 in {}: {} packets selected, {} not",
            smp.text("mode"),
            smp.int("interval"),
            smp.int("pkts_selected"),
            smp.int("pkts_discarded")
        );
    }
    let promisc = sec("promisc");
    if promisc.text("state") == "enabled" {
        let _ = writeln!(
            t,
            "  promisc     {} packets for other hosts, {} discarded",
            promisc.int("observed"),
            promisc.int("discarded")
        );
    }
    let nat = sec("natevents");
    if nat.text("state") == "enabled" {
        let _ = writeln!(
            t,
            "  NAT events  {} starts, {} stops, {} lost",
            nat.int("start"),
            nat.int("stop"),
            nat.int("lost")
        );
    }
    let cpus: Vec<_> = s.all("cpu").collect();
    if !cpus.is_empty() {
        let _ = writeln!(
            t,
            "  per CPU     packets/s   packets  new flows  not metered  truncated  fragments"
        );
        for c in cpus {
            let _ = writeln!(
                t,
                "    {:<8} {:>10} {:>9} {:>10} {:>12} {:>10} {:>10}",
                c.text("cpu"),
                c.int("pps"),
                c.int("pkts"),
                c.int("new"),
                c.int("drop_pkts"),
                c.int("trunc"),
                c.int("frag")
            );
        }
    }
    for sock in s.all("socket") {
        if sock.get("attempts").is_some() {
            let _ = writeln!(
                t,
                "  socket {}    {}: unconnected ({} attempts)",
                sock.int("index"),
                sock.text("destination"),
                sock.int("attempts")
            );
        } else {
            let _ = writeln!(
                t,
                "  socket {}    {}: sndbuf {}, queued {} (peak {}); errors: buffer full {}, connect {}, ICMP {}, other {}",
                sock.int("index"),
                sock.text("destination"),
                sock.int("sndbuf"),
                sock.int("filled"),
                sock.int("peak"),
                sock.int("err_sndbuf"),
                sock.int("err_connect"),
                sock.int("err_cberr"),
                sock.int("err_other")
            );
        }
    }
    for a in s.all("aggregation") {
        let _ = writeln!(t, "  aggregation {}", fields_inline(a));
    }
    for r in s.all("snmp_rule") {
        let _ = writeln!(
            t,
            "  snmp rule   interfaces {}N are SNMP index {} + N",
            r.text("prefix"),
            r.int("base")
        );
    }
    for line in &s.other {
        let _ = writeln!(t, "  {line}");
    }
}

fn fields_inline(s: &Section) -> String {
    s.fields
        .iter()
        .map(|(k, _)| format!("{k} {}", s.text(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::Int(n) => Json::Int(*n),
        Value::Decimal(d) => Json::Number(d.clone()),
        Value::Text(t) => Json::str(t.clone()),
    }
}

fn section_json(s: &Section) -> Json {
    Json::object(s.fields.iter().map(|(k, v)| (*k, value_json(v))))
}

/// The status as JSON: each single section an object; CPU rows, sockets
/// and rules arrays.
pub fn status_json(s: &Status) -> Json {
    let mut pairs: Vec<(String, Json)> = Vec::new();
    for name in SINGLE.iter().chain(BUILD_SINGLE).chain(&["totals"]) {
        if let Some(sec) = s.section(name) {
            pairs.push((name.to_string(), section_json(sec)));
        }
    }
    for (name, key) in [
        ("cpu", "cpus"),
        ("socket", "sockets"),
        ("aggregation", "aggregation"),
        ("snmp_rule", "snmp_rules"),
    ] {
        pairs.push((
            key.into(),
            Json::Array(s.all(name).map(section_json).collect()),
        ));
    }
    pairs.push((
        "other".into(),
        Json::Array(s.other.iter().map(|l| Json::str(l.clone())).collect()),
    ));
    Json::Object(pairs)
}

/// `show --json`.
pub fn json(f: &Facts) -> Json {
    let opt = |x: &Option<String>| x.clone().map_or(Json::Null, Json::Str);
    Json::object([
        ("command_version", Json::str(VERSION)),
        ("kernel", Json::str(f.kernel.clone())),
        (
            "installed",
            Json::object([
                ("module", opt(&f.module_file)),
                ("extension", opt(&f.extension)),
                (
                    "files",
                    Json::object(f.files.iter().map(|(p, e)| (p.clone(), Json::Bool(*e)))),
                ),
            ]),
        ),
        ("loaded", Json::Bool(f.loaded)),
        (
            "rules",
            Json::Array(
                f.rules
                    .iter()
                    .map(|r| {
                        Json::object([
                            ("family", Json::str(r.family)),
                            ("table", Json::str(r.table.clone())),
                            ("rule", Json::str(r.spec.clone())),
                        ])
                    })
                    .collect(),
            ),
        ),
        ("rules_error", opt(&f.rules_error)),
        (
            "settings",
            Json::object(
                f.settings
                    .iter()
                    .map(|(k, v)| (k.clone(), Json::str(v.clone()))),
            ),
        ),
        ("status", f.status.as_ref().map_or(Json::Null, status_json)),
        (
            "top",
            Json::Array(
                f.top
                    .iter()
                    .map(|fl| {
                        Json::object([
                            ("dev", Json::str(fl.dev.clone())),
                            ("proto", Json::str(fl.proto.clone())),
                            ("src", Json::str(fl.src.clone())),
                            ("dst", Json::str(fl.dst.clone())),
                            ("packets", Json::Int(fl.packets)),
                            ("bytes", Json::Int(fl.bytes)),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "warnings",
            Json::Array(warnings(f).into_iter().map(Json::Str).collect()),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: &str) -> Facts {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/");
        let read = |ext: &str| std::fs::read_to_string(format!("{dir}{name}.{ext}")).unwrap();
        let settings = read("sysctl")
            .lines()
            .filter_map(|l| l.strip_prefix("net.netflow.")?.split_once(" = "))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Facts {
            kernel: "6.12.117".into(),
            extension: Some("/usr/lib/x86_64-linux-gnu/xtables/libxt_NETFLOW.so".into()),
            loaded: true,
            rules: vec![Rule {
                family: "ipv4",
                table: "filter".into(),
                spec: "-A FORWARD -j NETFLOW".into(),
            }],
            settings,
            status: Some(Status::parse(&read("stat"), &read("snmp"))),
            top: crate::proc_status::top_flows(&read("flows"), 2),
            ..Facts::default()
        }
    }

    #[test]
    fn warnings_in_plain_words() {
        assert_eq!(warnings(&facts("v5-idle")), Vec::<String>::new());
        let w = warnings(&facts("ipfix-features"));
        assert!(
            w[0].starts_with("420 packets were not metered because maxflows"),
            "{w:?}"
        );
        let w = warnings(&facts("ipfix-errors"));
        assert!(
            w.iter()
                .any(|w| w.contains("127.0.0.1:9@127.0.0.1: 8 ICMP errors")),
            "{w:?}"
        );
        let mut f = facts("v5-idle");
        f.extension = None;
        assert!(
            warnings(&f)[0].starts_with("the iptables extension libxt_NETFLOW.so is not installed")
        );
        f = facts("v5-idle");
        f.rules.clear();
        assert!(warnings(&f)[0].starts_with("no -j NETFLOW rule"));
        f.rules.push(Rule {
            family: "ipv6",
            table: "filter".into(),
            spec: "-A INPUT -j NETFLOW".into(),
        });
        assert!(warnings(&f)[0].starts_with("protocol 5 cannot carry IPv6"));
    }

    #[test]
    fn text_names_what_matters() {
        let t = text(&facts("v9-traffic"));
        for want in [
            "Module: loaded",
            "  ipv4 -t filter -A FORWARD -j NETFLOW",
            "  destination       127.0.0.1:2055,127.0.0.1:2056",
            "export      NetFlow v9, 5 templates in use",
            "metered     1989 packets, 1157664 bytes in 55 flows",
            "socket 1    127.0.0.1:2056: sndbuf 4096",
            "Busiest flows",
            "! destination 127.0.0.1:2055: 12 ICMP errors",
        ] {
            assert!(t.contains(want), "{want:?} not in\n{t}");
        }
    }

    #[test]
    fn json_carries_every_field() {
        let j = json(&facts("ipfix-features")).to_string();
        for want in [
            r#""loaded":true"#,
            r#""protocol":{"version":10,"name":"ipfix","refresh_rate":20"#,
            r#""sampler":{"mode":"deterministic","interval":10"#,
            r#""snmp_rules":[{"index":0,"prefix":"eth","base":100}"#,
            r#""hash":{"size":255906,"mem_kb":1999,"metric":1.00"#,
            r#""maxflows":"20""#,
            r#""other":[]"#,
        ] {
            assert!(j.contains(want), "{want} not in {j}");
        }
    }

    #[test]
    fn hundredths_of_metrics() {
        assert_eq!(hundredths(Some(&Value::Decimal("2.01".into()))), 201);
        assert_eq!(hundredths(Some(&Value::Decimal("1.5".into()))), 150);
        assert_eq!(hundredths(Some(&Value::Int(3))), 300);
        assert_eq!(hundredths(None), 0);
    }
}

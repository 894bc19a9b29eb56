// SPDX-License-Identifier: GPL-2.0-only
//! `/proc/net/stat/ipt_netflow` (and the totals of `ipt_netflow_snmp`) read
//! back into named fields, by the formats the module writes them with
//! (`ipt_netflow::control::proc_text`). A line of no known form is kept as
//! it is, so that a newer module's lines still show.

use crate::template;

/// A field's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A count.
    Int(u64),
    /// A decimal with a fraction, as /proc prints it (`1.00`).
    Decimal(String),
    /// Anything else.
    Text(String),
}

impl Value {
    fn of(text: &str) -> Value {
        let text = text.trim();
        if let Ok(n) = text.parse() {
            return Value::Int(n);
        }
        let decimal = text.split_once('.').is_some_and(|(i, f)| {
            !i.is_empty()
                && !f.is_empty()
                && (i.bytes().chain(f.bytes())).all(|b| b.is_ascii_digit())
        });
        if decimal {
            Value::Decimal(text.to_string())
        } else {
            Value::Text(text.to_string())
        }
    }

    /// The count, if it is one.
    pub fn int(&self) -> Option<u64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }
}

/// One line's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// What the line is (`flows`, `rate`, `socket`...).
    pub name: &'static str,
    /// Its fields, in the line's order.
    pub fields: Vec<(&'static str, Value)>,
}

impl Section {
    /// The field `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The count `name`, or 0 (a field of another form reads as 0).
    pub fn int(&self, name: &str) -> u64 {
        self.get(name).and_then(Value::int).unwrap_or(0)
    }

    /// The field `name` as text.
    pub fn text(&self, name: &str) -> String {
        match self.get(name) {
            Some(Value::Int(n)) => n.to_string(),
            Some(Value::Decimal(t) | Value::Text(t)) => t.clone(),
            None => String::new(),
        }
    }
}

/// A line form: the section it fills, the module's format, and the names
/// of its fields.
struct Form {
    section: &'static str,
    template: &'static str,
    names: &'static [&'static str],
}

/// Sections that a file of some builds has once: promisc, in the build
/// with `--enable-promisc`.
pub const BUILD_SINGLE: &[&str] = &["promisc"];

/// Sections that a file has once; the others (CPU rows, sockets, rules)
/// repeat.
pub const SINGLE: &[&str] = &[
    "module",
    "protocol",
    "timeouts",
    "sampler",
    "natevents",
    "flows",
    "hash",
    "rate",
    "total",
    "export",
];

/// Every line form of `ipt_netflow`, longer forms of a line before shorter.
const FORMS: &[Form] = &[
    Form {
        section: "module",
        template: "ipt_NETFLOW {}, srcversion {};{}",
        names: &["version", "srcversion", "features"],
    },
    Form {
        section: "protocol",
        template: "Protocol version {} ({}), refresh-rate {}, timeout-rate {}, (templates {}, active {}).",
        names: &["version", "name", "refresh_rate", "timeout_rate", "templates", "templates_active"],
    },
    Form {
        section: "protocol",
        template: "Protocol version {} ({})",
        names: &["version", "name"],
    },
    Form {
        section: "timeouts",
        template: "Timeouts: active {}s, inactive {}s. Maxflows {}",
        names: &["active", "inactive", "maxflows"],
    },
    Form {
        section: "sampler",
        template: "Flow sampling is {}.",
        names: &["mode"],
    },
    Form {
        section: "sampler",
        template: "Flow sampling mode {} one-out-of {}. Flows selected {}, discarded {}. Pkts selected {}, discarded {}.",
        names: &["mode", "interval", "flows_selected", "flows_discarded", "pkts_selected", "pkts_discarded"],
    },
    Form {
        section: "sampler",
        template: "Flow sampling mode {} one-out-of {}. Flows selected {}. Pkts selected {}, discarded {}.",
        names: &["mode", "interval", "flows_selected", "pkts_selected", "pkts_discarded"],
    },
    Form {
        section: "promisc",
        template: "Promisc hack is {} (observed {} packets, discarded {}).",
        names: &["state", "observed", "discarded"],
    },
    Form {
        section: "natevents",
        template: "Natevents {}, count start {}, stop {}, lost {}, malformed {}, blind netns {}.",
        names: &["state", "start", "stop", "lost", "malformed", "blind_netns"],
    },
    Form {
        section: "natevents",
        template: "Natevents {}, count start {}, stop {}, lost {}, malformed {}.",
        names: &["state", "start", "stop", "lost", "malformed"],
    },
    Form {
        section: "natevents",
        template: "Natevents {}, count start {}, stop {}, lost {}, blind netns {}.",
        names: &["state", "start", "stop", "lost", "blind_netns"],
    },
    Form {
        section: "natevents",
        template: "Natevents {}, count start {}, stop {}, lost {}.",
        names: &["state", "start", "stop", "lost"],
    },
    Form {
        section: "flows",
        template: "Flows: active {} (peak {} reached {}d{}h{}m ago), mem {}K, worker delay {}/{} [{}..{}] ({} ms, {} us, {}:{} [cpu{}]).",
        names: &[
            "active", "peak", "peak_days", "peak_hours", "peak_minutes", "mem_kb", "worker_delay",
            "hz", "scan_min", "scan_max", "since_scan_ms", "scan_us", "scanned", "skipped",
            "scan_cpu",
        ],
    },
    Form {
        section: "hash",
        template: "Hash: size {} (mem {}K), metric {} [{}, {}, {}]. InHash: {} pkt, {} K, InPDU {}, {}.",
        names: &[
            "size", "mem_kb", "metric", "metric_1min", "metric_5min", "metric_15min", "pkts",
            "kb", "pdu_pkts", "pdu_bytes",
        ],
    },
    Form {
        section: "rate",
        template: "Rate: {} bits/sec, {} packets/sec; Avg 1 min: {} bps, {} pps; 5 min: {} bps, {} pps",
        names: &["bps", "pps", "bps_1min", "pps_1min", "bps_5min", "pps_5min"],
    },
    Form {
        section: "cpu_header",
        template: "cpu# pps; <search found new [metric], trunc frag alloc maxflows>, traffic: <pkt, bytes>, drop: <pkt, bytes>",
        names: &[],
    },
    Form {
        section: "cpu",
        template: "{} {}; {} {} {} [{}], {} {} {} {}, traffic: {}, {} MB, drop: {}, {} K",
        names: &[
            "cpu", "pps", "search", "found", "new", "metric", "trunc", "frag", "alloc",
            "maxflows", "pkts", "mb", "drop_pkts", "drop_kb",
        ],
    },
    Form {
        section: "export",
        template: "Export: Rate {} bytes/s; Total {} pkts, {} MB, {} flows; Errors {} pkts; Traffic lost {} pkts, {} Kbytes, {} flows.",
        names: &["rate", "pkts", "mb", "flows", "errors", "lost_pkts", "lost_kb", "lost_flows"],
    },
    Form {
        section: "socket",
        template: "sock{}: {}, sndbuf {}, filled {}, peak {}; err: sndbuf reached {}, connect {}, cberr {}, other {}",
        names: &[
            "index", "destination", "sndbuf", "filled", "peak", "err_sndbuf", "err_connect",
            "err_cberr", "err_other",
        ],
    },
    Form {
        section: "socket",
        template: "sock{}: {} unconnected ({} attempts).",
        names: &["index", "destination", "attempts"],
    },
    Form {
        section: "aggregation",
        template: "aggr#{} net: match {} strip {} (usage {})",
        names: &["index", "match", "strip", "usage"],
    },
    Form {
        section: "aggregation",
        template: "aggr#{} port: ports {} replace {} (usage {})",
        names: &["index", "ports", "replace", "usage"],
    },
    Form {
        section: "snmp_rule",
        template: "SNMP-rule#{}: prefix '{}' map to {}",
        names: &["index", "prefix", "base"],
    },
];

/// The files read into sections.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// The known lines, in file order (`ipt_netflow`'s, then the totals).
    pub sections: Vec<Section>,
    /// Lines of no known form.
    pub other: Vec<String>,
}

impl Status {
    /// Reads `ipt_netflow`'s text and `ipt_netflow_snmp`'s (whose `name
    /// value` totals become the section `totals`: exact bytes, where
    /// `ipt_netflow` rounds to MB and K).
    pub fn parse(stat: &str, snmp: &str) -> Status {
        let mut s = Status::default();
        for line in stat.lines().filter(|l| !l.trim().is_empty()) {
            let found = FORMS.iter().find_map(|f| {
                let values = template::fields(f.template, line)?;
                Some(Section {
                    name: f.section,
                    fields: f
                        .names
                        .iter()
                        .copied()
                        .zip(values.into_iter().map(Value::of))
                        .collect(),
                })
            });
            match found {
                Some(sec) if sec.name == "cpu_header" => {}
                // The table's first row sums the others.
                Some(mut sec) if sec.name == "cpu" && sec.text("cpu") == "Total" => {
                    sec.name = "total";
                    sec.fields.remove(0);
                    s.sections.push(sec);
                }
                Some(sec) => s.sections.push(sec),
                None => s.other.push(line.to_string()),
            }
        }
        let mut totals = Section {
            name: "totals",
            fields: Vec::new(),
        };
        for line in snmp.lines() {
            let mut words = line.split_whitespace();
            let (Some(name), Some(value), None) = (words.next(), words.next(), words.next()) else {
                continue; // the CPU and socket rows: ipt_netflow has them
            };
            // Names are the MIB's; kept as 'static by looking them up.
            if let Some(name) = TOTALS.iter().find(|&&t| t == name) {
                totals.fields.push((name, Value::of(value)));
            }
        }
        if !totals.fields.is_empty() {
            s.sections.push(totals);
        }
        s
    }

    /// The one section `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Every section `name` (CPU rows, sockets, rules).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections.iter().filter(move |s| s.name == name)
    }
}

/// The totals of `ipt_netflow_snmp` (the MIB's names).
const TOTALS: &[&str] = &[
    "inBitRate",
    "inPacketRate",
    "inFlows",
    "inPackets",
    "inBytes",
    "hashMetric",
    "hashMemory",
    "hashFlows",
    "hashPackets",
    "hashBytes",
    "dropPackets",
    "dropBytes",
    "outByteRate",
    "outFlows",
    "outPackets",
    "outBytes",
    "lostFlows",
    "lostPackets",
    "lostBytes",
    "errTotal",
    "sndbufPeak",
];

/// A flow of `ipt_netflow_flows`, for `--top`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowLine {
    /// `in,out` interface indexes.
    pub dev: String,
    /// IP protocol number.
    pub proto: String,
    /// `address,port`.
    pub src: String,
    /// `address,port`.
    pub dst: String,
    /// Packets so far.
    pub packets: u64,
    /// Bytes so far.
    pub bytes: u64,
}

/// The `n` flows of `ipt_netflow_flows` with the most bytes, most first.
pub fn top_flows(text: &str, n: usize) -> Vec<FlowLine> {
    let mut flows: Vec<FlowLine> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            // seq hash age dev proto src dst nexthop tos,... packets bytes ts
            let w: Vec<&str> = l.split_whitespace().collect();
            let [_, _, _, dev, proto, src, dst, _, _, packets, bytes, _] = w.as_slice() else {
                return None;
            };
            Some(FlowLine {
                dev: dev.to_string(),
                proto: proto.to_string(),
                src: src.to_string(),
                dst: dst.to_string(),
                packets: packets.parse().ok()?,
                bytes: bytes.parse().ok()?,
            })
        })
        .collect();
    flows.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(b.packets.cmp(&a.packets)));
    flows.truncate(n);
    flows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(name: &str) -> Status {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/");
        let read = |ext: &str| std::fs::read_to_string(format!("{dir}{name}.{ext}")).unwrap();
        Status::parse(&read("stat"), &read("snmp"))
    }

    #[test]
    fn every_captured_line_is_known() {
        for name in [
            "v5-idle",
            "v9-traffic",
            "v9-flushed",
            "ipfix-features",
            "ipfix-errors",
        ] {
            let s = captured(name);
            assert_eq!(s.other, Vec::<String>::new(), "{name}");
            for single in SINGLE {
                assert_eq!(s.all(single).count(), 1, "{name}: {single}");
            }
            assert_eq!(s.all("cpu").count(), 2, "{name}");
            assert!(s.all("socket").count() >= 1, "{name}");
        }
    }

    #[test]
    fn a_v5_module_at_rest() {
        let s = captured("v5-idle");
        let m = s.section("module").unwrap();
        assert_eq!(m.text("version"), "2.6-rs1");
        assert_eq!(m.text("srcversion"), "BB5709709B8104F57B57D2E");
        assert_eq!(m.text("features"), "aggr nel samp-h snmp");
        let p = s.section("protocol").unwrap();
        assert_eq!((p.int("version"), p.text("name")), (5, "netflow".into()));
        assert_eq!(p.get("templates"), None);
        let t = s.section("timeouts").unwrap();
        assert_eq!(
            (t.int("active"), t.int("inactive"), t.int("maxflows")),
            (1800, 15, 2_000_000)
        );
        assert_eq!(s.section("sampler").unwrap().text("mode"), "disabled");
        assert_eq!(s.section("natevents").unwrap().text("state"), "disabled");
        assert_eq!(s.section("hash").unwrap().int("size"), 255_906);
        assert_eq!(
            s.section("hash").unwrap().get("metric"),
            Some(&Value::Decimal("0.00".into()))
        );
        let sock = s.all("socket").next().unwrap();
        assert_eq!(sock.text("destination"), "127.0.0.1:2055");
        assert_eq!(sock.int("sndbuf"), 212_992);
    }

    #[test]
    fn v9_under_traffic_with_two_collectors() {
        let s = captured("v9-traffic");
        let p = s.section("protocol").unwrap();
        assert_eq!(
            (
                p.int("version"),
                p.int("refresh_rate"),
                p.int("templates_active")
            ),
            (9, 20, 5)
        );
        let total = s.section("total").unwrap();
        assert_eq!(
            (total.int("pkts"), total.int("found"), total.int("new")),
            (1989, 1934, 55)
        );
        let cpus: Vec<_> = s.all("cpu").map(|c| c.text("cpu")).collect();
        assert_eq!(cpus, ["cpu0", "cpu1"]);
        let socks: Vec<_> = s
            .all("socket")
            .map(|c| (c.text("destination"), c.int("err_cberr")))
            .collect();
        assert_eq!(
            socks,
            [("127.0.0.1:2055".into(), 12), ("127.0.0.1:2056".into(), 12)]
        );
        let totals = s.section("totals").unwrap();
        assert_eq!(
            (totals.int("inPackets"), totals.int("errTotal")),
            (1989, 26)
        );
        let e = s.section("export").unwrap();
        assert_eq!(
            (e.int("pkts"), e.int("flows"), e.int("errors")),
            (24, 23, 0)
        );
    }

    #[test]
    fn ipfix_with_every_runtime_feature() {
        let s = captured("ipfix-features");
        let smp = s.section("sampler").unwrap();
        assert_eq!(smp.text("mode"), "deterministic");
        assert_eq!((smp.int("interval"), smp.int("pkts_discarded")), (10, 400));
        assert_eq!(s.section("natevents").unwrap().text("state"), "enabled");
        let aggr: Vec<_> = s.all("aggregation").map(|a| a.fields.len()).collect();
        assert_eq!(aggr, [4, 4]);
        let rules: Vec<_> = s
            .all("snmp_rule")
            .map(|r| (r.text("prefix"), r.int("base")))
            .collect();
        assert_eq!(rules, [("eth".into(), 100), ("nfr".into(), 200)]);
        assert_eq!(s.section("total").unwrap().int("maxflows"), 420);
    }

    #[test]
    fn every_shape_the_writers_produce() {
        use ipt_netflow::control::proc_text::*;
        use ipt_netflow::export::destination::Destinations;
        use ipt_netflow::meter::nat_event::NatCounts;
        use ipt_netflow::meter::sampler::{Sampler, SamplerCounts};
        let mut t = String::new();
        let d = Destinations::parse("[2001:db8::1]:4739@[2001:db8::2]%eth0").unwrap();
        let dest = *d.iter().next().unwrap();
        let row = SockRow {
            dest,
            connected: false,
            sndbuf: 0,
            filled: 0,
            peak: 0,
            err_full: 0,
            err_connect: 0,
            err_cberr: 0,
            err_other: 0,
            attempts: 7,
        };
        write_sock_line(&mut t, 3, &row).unwrap();
        let counts = NatCounts {
            start: 1,
            stop: 2,
            lost: 3,
            malformed: 4,
            blind: 5,
        };
        write_natevents_line(&mut t, true, &counts).unwrap();
        write_natevents_line(&mut t, true, &NatCounts { blind: 0, ..counts }).unwrap();
        write_natevents_line(
            &mut t,
            true,
            &NatCounts {
                malformed: 0,
                ..counts
            },
        )
        .unwrap();
        let hash = Sampler::parse("hash:100").unwrap();
        write_sampler_line(&mut t, hash, &SamplerCounts::default()).unwrap();
        write_timeouts_line(&mut t, 60, 10, -1).unwrap();
        // The line of the build with --enable-promisc.
        write_promisc_line(&mut t, true, 12, 3).unwrap();
        let s = Status::parse(&t, "");
        assert_eq!(s.other, Vec::<String>::new(), "{t}");
        let sock = s.section("socket").unwrap();
        assert_eq!(sock.int("index"), 3);
        assert_eq!(sock.int("attempts"), 7);
        assert_eq!(sock.text("destination"), dest.to_string());
        let nat: Vec<_> = s.all("natevents").map(|n| n.fields.len()).collect();
        assert_eq!(nat, [6, 5, 5]);
        assert_eq!(s.section("sampler").unwrap().text("mode"), "hash");
        let promisc = s.section("promisc").unwrap();
        assert_eq!(promisc.text("state"), "enabled");
        assert_eq!((promisc.int("observed"), promisc.int("discarded")), (12, 3));
        assert_eq!(
            s.section("timeouts").unwrap().int("maxflows"),
            u64::from(u32::MAX)
        );
    }

    #[test]
    fn unknown_lines_are_kept() {
        let s = Status::parse("Some new line: 5\n\n", "newTotal 3\ninFlows 2\ncpu0 1 2\n");
        assert_eq!(s.other, ["Some new line: 5"]);
        assert_eq!(
            s.section("totals").unwrap().fields,
            [("inFlows", Value::Int(2))]
        );
    }

    #[test]
    fn the_busiest_flows() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/");
        let text = std::fs::read_to_string(format!("{dir}v9-traffic.flows")).unwrap();
        let top = top_flows(&text, 3);
        assert_eq!(top.len(), 3);
        assert!(top[0].bytes >= top[1].bytes && top[1].bytes >= top[2].bytes);
        assert_eq!((top[0].proto.as_str(), top[0].bytes), ("1", 5048));
        assert!(top_flows("# header\ngarbage line\n", 5).is_empty());
    }
}

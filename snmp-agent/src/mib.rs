// SPDX-License-Identifier: GPL-2.0-only
//! IPT-NETFLOW-MIB as the agent serves it: every object's identifier, where
//! its value comes from, and the SNMP type it is sent as (the types of
//! IPT-NETFLOW-MIB.my; the host test `mib_file_agrees` checks the two
//! against each other).

/// iptNetflowMIB, .1.3.6.1.4.1.37476.9000.10.1.
pub const ROOT: [u32; 10] = [1, 3, 6, 1, 4, 1, 37476, 9000, 10, 1];

/// How a value is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// INTEGER / Integer32.
    Integer,
    /// DisplayString.
    Text,
    /// DateAndTime, from a time stamp.
    DateAndTime,
    /// Counter32: the low 32 bits of a counter.
    Counter32,
    /// Gauge32: saturates at 2^32 - 1.
    Gauge32,
    /// FixedDiv100 (a Gauge32): a decimal number times 100.
    FixedDiv100,
    /// Counter64, and Gauge64 carried as one.
    Counter64,
}

/// Where an object's value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The module's name, present while the module is loaded.
    ModuleName,
    /// A file of /sys/module/ipt_NETFLOW.
    ModuleFile(&'static str),
    /// When /sys/module/ipt_NETFLOW appeared.
    ModuleLoadTime,
    /// A file of /proc/sys/net/netflow: readable and writable.
    Sysctl(&'static str),
    /// A total of ipt_netflow_snmp, by its name there.
    Total(&'static str),
    /// Column `n` (1-based, the cpuN token being column 1) of the cpuN lines.
    CpuColumn(usize),
    /// Column `n` of the sockN lines.
    SockColumn(usize),
}

/// One object type of the MIB.
#[derive(Clone, Copy, Debug)]
pub struct Object {
    /// Descriptor in IPT-NETFLOW-MIB.
    pub name: &'static str,
    /// Identifier below [`ROOT`]; a scalar's instance adds `.0`, a column's
    /// the row index.
    pub arcs: &'static [u32],
    /// Type on the wire.
    pub syntax: Syntax,
    /// Where the value comes from.
    pub origin: Origin,
}

impl Object {
    /// The sysctl a SET writes, for the read-write objects.
    pub fn sysctl(&self) -> Option<&'static str> {
        match self.origin {
            Origin::Sysctl(name) => Some(name),
            _ => None,
        }
    }
}

const fn object(
    name: &'static str,
    arcs: &'static [u32],
    syntax: Syntax,
    origin: Origin,
) -> Object {
    Object {
        name,
        arcs,
        syntax,
        origin,
    }
}

use Origin::*;
use Syntax::*;

/// Every object, in identifier order.
pub const OBJECTS: &[Object] = &[
    object("name", &[1, 1, 1], Text, ModuleName),
    object("version", &[1, 1, 2], Text, ModuleFile("version")),
    object("srcversion", &[1, 1, 3], Text, ModuleFile("srcversion")),
    object("loadTime", &[1, 1, 4], DateAndTime, ModuleLoadTime),
    object("refcnt", &[1, 1, 5], Integer, ModuleFile("refcnt")),
    object("protocol", &[1, 2, 1], Integer, Sysctl("protocol")),
    object("hashsize", &[1, 2, 2], Integer, Sysctl("hashsize")),
    object("maxflows", &[1, 2, 3], Integer, Sysctl("maxflows")),
    object(
        "active-timeout",
        &[1, 2, 4],
        Integer,
        Sysctl("active_timeout"),
    ),
    object(
        "inactive-timeout",
        &[1, 2, 5],
        Integer,
        Sysctl("inactive_timeout"),
    ),
    object("sndbuf", &[1, 2, 6], Integer, Sysctl("sndbuf")),
    object("destination", &[1, 2, 7], Text, Sysctl("destination")),
    object("aggregation", &[1, 2, 8], Text, Sysctl("aggregation")),
    object("sampler", &[1, 2, 9], Text, Sysctl("sampler")),
    object("natevents", &[1, 2, 10], Integer, Sysctl("natevents")),
    object("promisc", &[1, 2, 11], Integer, Sysctl("promisc")),
    object("snmp-rules", &[1, 2, 12], Text, Sysctl("snmp-rules")),
    object("scan-min", &[1, 2, 13], Integer, Sysctl("scan-min")),
    object("inBitRate", &[2, 1, 1], Counter64, Total("inBitRate")),
    object("inPacketRate", &[2, 1, 2], Gauge32, Total("inPacketRate")),
    object("inFlows", &[2, 1, 3], Counter64, Total("inFlows")),
    object("inPackets", &[2, 1, 4], Counter64, Total("inPackets")),
    object("inBytes", &[2, 1, 5], Counter64, Total("inBytes")),
    object("hashMetric", &[2, 1, 6], FixedDiv100, Total("hashMetric")),
    object("hashMemory", &[2, 1, 7], Gauge32, Total("hashMemory")),
    object("hashFlows", &[2, 1, 8], Gauge32, Total("hashFlows")),
    object("hashPackets", &[2, 1, 9], Gauge32, Total("hashPackets")),
    object("hashBytes", &[2, 1, 10], Counter64, Total("hashBytes")),
    object("dropPackets", &[2, 1, 11], Counter64, Total("dropPackets")),
    object("dropBytes", &[2, 1, 12], Counter64, Total("dropBytes")),
    object("outByteRate", &[2, 1, 13], Gauge32, Total("outByteRate")),
    object("outFlows", &[2, 1, 14], Counter64, Total("outFlows")),
    object("outPackets", &[2, 1, 15], Counter64, Total("outPackets")),
    object("outBytes", &[2, 1, 16], Counter64, Total("outBytes")),
    object("lostFlows", &[2, 1, 17], Counter64, Total("lostFlows")),
    object("lostPackets", &[2, 1, 18], Counter64, Total("lostPackets")),
    object("lostBytes", &[2, 1, 19], Counter64, Total("lostBytes")),
    object("errTotal", &[2, 1, 20], Counter32, Total("errTotal")),
    object("sndbufPeak", &[2, 1, 21], Counter32, Total("sndbufPeak")),
    object("cpuIndex", &[2, 2, 1, 1], Integer, CpuColumn(1)),
    object("cpuInPacketRate", &[2, 2, 1, 2], Gauge32, CpuColumn(2)),
    object("cpuInFlows", &[2, 2, 1, 3], Counter64, CpuColumn(3)),
    object("cpuInPackets", &[2, 2, 1, 4], Counter64, CpuColumn(4)),
    object("cpuInBytes", &[2, 2, 1, 5], Counter64, CpuColumn(5)),
    object("cpuHashMetric", &[2, 2, 1, 6], FixedDiv100, CpuColumn(6)),
    object("cpuDropPackets", &[2, 2, 1, 7], Counter64, CpuColumn(7)),
    object("cpuDropBytes", &[2, 2, 1, 8], Counter64, CpuColumn(8)),
    object("cpuErrTrunc", &[2, 2, 1, 9], Counter32, CpuColumn(9)),
    object("cpuErrFrag", &[2, 2, 1, 10], Counter32, CpuColumn(10)),
    object("cpuErrAlloc", &[2, 2, 1, 11], Counter32, CpuColumn(11)),
    object("cpuErrMaxflows", &[2, 2, 1, 12], Counter32, CpuColumn(12)),
    object("sockDestination", &[2, 3, 1, 2], Text, SockColumn(2)),
    object("sockActive", &[2, 3, 1, 3], Integer, SockColumn(3)),
    object("sockErrConnect", &[2, 3, 1, 4], Counter32, SockColumn(4)),
    object("sockErrFull", &[2, 3, 1, 5], Counter32, SockColumn(5)),
    object("sockErrCberr", &[2, 3, 1, 6], Counter32, SockColumn(6)),
    object("sockErrOther", &[2, 3, 1, 7], Counter32, SockColumn(7)),
    object("sockSndbuf", &[2, 3, 1, 8], Gauge32, SockColumn(8)),
    object("sockSndbufFill", &[2, 3, 1, 9], Gauge32, SockColumn(9)),
    object("sockSndbufPeak", &[2, 3, 1, 10], Gauge32, SockColumn(10)),
];

/// The full identifier of `o` (without an instance).
pub fn oid_of(o: &Object) -> Vec<u32> {
    ROOT.iter().chain(o.arcs).copied().collect()
}

/// The object whose identifier is a prefix of `oid`, and the instance part
/// that follows it.
pub fn lookup(oid: &[u32]) -> Option<(&'static Object, &[u32])> {
    let rest = oid.strip_prefix(&ROOT[..])?;
    OBJECTS
        .iter()
        .find_map(|o| rest.strip_prefix(o.arcs).map(|inst| (o, inst)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn objects_are_in_identifier_order() {
        for w in OBJECTS.windows(2) {
            assert!(w[0].arcs < w[1].arcs, "{} before {}", w[0].name, w[1].name);
        }
    }

    #[test]
    fn lookup_finds_the_object_and_the_instance() {
        let mut oid = oid_of(&OBJECTS[8]);
        oid.push(0);
        let (o, inst) = lookup(&oid).unwrap();
        assert_eq!((o.name, inst), ("active-timeout", &[0][..]));
        assert!(lookup(&ROOT[..9]).is_none());
        assert!(lookup(&[1, 3, 6, 1, 4, 1, 37476, 9000, 10, 1, 2, 1, 22, 0]).is_none());
    }

    /// The MIB file and this table name the same objects, at the same
    /// identifiers, with the same access: read-write exactly for the
    /// sysctls, not-accessible only for the entries' sockIndex.
    #[test]
    fn mib_file_agrees() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../IPT-NETFLOW-MIB.my"
        ))
        .unwrap();
        // descriptor -> (parent, arc, access) for every OBJECT-TYPE.
        let mut types = BTreeMap::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let Some(name) = line.strip_suffix(" OBJECT-TYPE") else {
                continue;
            };
            let (mut access, mut syntax) = ("", "");
            for l in lines.by_ref() {
                let l = l.trim();
                if let Some(s) = l.strip_prefix("SYNTAX ") {
                    syntax = s.split(' ').next().unwrap();
                }
                if let Some(a) = l.strip_prefix("MAX-ACCESS ") {
                    access = a;
                }
                if let Some(r) = l.strip_prefix("::= { ") {
                    let mut it = r.trim_end_matches(" }").split(' ');
                    let parent = it.next().unwrap().to_string();
                    let arc: u32 = it.next().unwrap().parse().unwrap();
                    types.insert(
                        name.to_string(),
                        (parent, arc, access.to_string(), syntax.to_string()),
                    );
                    break;
                }
            }
        }
        let parents = [
            ("iptNetflowModule", vec![1, 1]),
            ("iptNetflowSysctl", vec![1, 2]),
            ("iptNetflowTotals", vec![2, 1]),
            ("iptNetflowCpuEntry", vec![2, 2, 1]),
            ("iptNetflowSockEntry", vec![2, 3, 1]),
        ];
        let mut served = 0;
        for (name, (parent, arc, access, syntax)) in &types {
            let Some((_, arcs)) = parents.iter().find(|(p, _)| p == parent) else {
                continue;
            };
            let mut want = arcs.clone();
            want.push(*arc);
            match OBJECTS.iter().find(|o| o.name == name) {
                Some(o) => {
                    served += 1;
                    assert_eq!(o.arcs, want.as_slice(), "{name}");
                    let rw = if o.sysctl().is_some() {
                        "read-write"
                    } else {
                        "read-only"
                    };
                    assert_eq!(access, rw, "{name}");
                    let sent = match syntax.as_str() {
                        "Integer32" | "INTEGER" => Integer,
                        "DisplayString" => Text,
                        "DateAndTime" => DateAndTime,
                        "Counter32" => Counter32,
                        "Gauge32" => Gauge32,
                        "FixedDiv100" => FixedDiv100,
                        "Counter64" | "Gauge64" => Counter64,
                        other => panic!("{name}: SYNTAX {other}"),
                    };
                    assert_eq!(o.syntax, sent, "{name}");
                }
                None => assert_eq!(
                    (name.as_str(), access.as_str()),
                    ("sockIndex", "not-accessible")
                ),
            }
        }
        assert_eq!(served, OBJECTS.len());
    }
}

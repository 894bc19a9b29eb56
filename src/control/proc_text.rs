// SPDX-License-Identifier: GPL-2.0-only
//! The text of `/proc/net/stat/ipt_netflow` and `/proc/net/stat/ipt_netflow_snmp`.
//!
//! Scripts, Prometheus exporters and the SNMP agent parse these files, so
//! every line keeps the original module's wording, field order and widths.
//! The writers take plain numbers and produce text through [`core::fmt::Write`];
//! the kernel glue feeds them a seq_file, the tests a `String`.

use crate::export::destination::Destination;
use crate::meter::aggregation::{Aggregation, RuleKind};
use crate::meter::flow::Flow;
use crate::meter::flow_key::FlowKey;
use crate::meter::nat_event::NatCounts;
use crate::meter::sampler::{Sampler, SamplerCounts, SamplerMode};
use crate::meter::snmp_rules::{self, SnmpRules};
use crate::meter::stats::StatsSum;
use crate::params::protocol::Protocol;
use core::fmt::{self, Write};
use core::net::{Ipv4Addr, Ipv6Addr};

/// A value times 100, printed as the original's `FFLOAT(x, 100)`: `"%d.%02d"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hundredths(pub u64);

impl fmt::Display for Hundredths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// The tags of the version line, in the original's order: its build
/// options that are run-time features here (aggregation, NAT events,
/// sampling with hash mode, snmp-rules) always, and the link-layer fields
/// this build compiles in.
pub const FEATURE_TAGS: &[&str] = &[
    "aggr",
    #[cfg(feature = "direction")]
    "dir",
    #[cfg(feature = "mac")]
    "mac",
    "nel",
    #[cfg(all(feature = "promisc", not(feature = "promisc-mpls")))]
    "promisc",
    #[cfg(feature = "promisc-mpls")]
    "promisc+mpls",
    "samp-h",
    "snmp",
    #[cfg(feature = "vlan")]
    "vlan",
];

/// The first line: module version, srcversion and compiled-in feature tags.
pub fn write_version_line(
    w: &mut impl Write,
    version: &str,
    srcversion: &str,
    tags: &[&str],
) -> fmt::Result {
    write!(w, "ipt_NETFLOW {version}, srcversion {srcversion};")?;
    for tag in tags {
        write!(w, " {tag}")?;
    }
    w.write_char('\n')
}

/// Template bookkeeping shown on the protocol line for NetFlow v9 and IPFIX.
#[derive(Clone, Copy, Debug, Default)]
pub struct TemplateInfo {
    /// `refresh-rate`: packets between template re-sends.
    pub refresh_rate: u32,
    /// `timeout-rate`: minutes between template re-sends.
    pub timeout_rate: u32,
    /// Templates generated since load.
    pub generated: u32,
    /// Templates currently in use.
    pub active: u32,
}

/// The protocol line: `Protocol version 10 (ipfix), refresh-rate ...`.
pub fn write_protocol_line(
    w: &mut impl Write,
    protocol: Protocol,
    tpl: &TemplateInfo,
) -> fmt::Result {
    write!(
        w,
        "Protocol version {} ({})",
        protocol.number(),
        protocol.family_name()
    )?;
    if protocol != Protocol::V5 {
        write!(
            w,
            ", refresh-rate {}, timeout-rate {}, (templates {}, active {}).",
            tpl.refresh_rate, tpl.timeout_rate, tpl.generated, tpl.active
        )?;
    }
    w.write_char('\n')
}

/// The timeouts line.
pub fn write_timeouts_line(
    w: &mut impl Write,
    active: i32,
    inactive: i32,
    maxflows: i32,
) -> fmt::Result {
    // maxflows is printed unsigned, as the original does (-1 shows as 4294967295).
    writeln!(
        w,
        "Timeouts: active {active}s, inactive {inactive}s. Maxflows {}",
        maxflows as u32
    )
}

/// The promisc line (the build with `--enable-promisc`), as the
/// original's: the state, packets received for other hosts and those
/// discarded by the receive checks.
pub fn write_promisc_line(
    w: &mut impl Write,
    enabled: bool,
    observed: u64,
    discarded: u64,
) -> fmt::Result {
    let state = if enabled { "enabled" } else { "disabled" };
    writeln!(
        w,
        "Promisc hack is {state} (observed {observed} packets, discarded {discarded})."
    )
}

/// The NAT events line: the original's state and counters, then what it
/// did not show (events lost for want of room, malformed messages,
/// namespaces where events cannot be seen) when there are any.
pub fn write_natevents_line(w: &mut impl Write, enabled: bool, c: &NatCounts) -> fmt::Result {
    let state = if enabled { "enabled" } else { "disabled" };
    write!(
        w,
        "Natevents {}, count start {}, stop {}, lost {}",
        state, c.start, c.stop, c.lost
    )?;
    if c.malformed != 0 {
        write!(w, ", malformed {}", c.malformed)?;
    }
    if c.blind != 0 {
        write!(w, ", blind netns {}", c.blind)?;
    }
    w.write_str(".\n")
}

/// The sampler line: the mode and interval with the selection counters, or
/// `Flow sampling is disabled.` when `sampler` is `None`.
///
/// Hash mode selects in the packet path and passes every flow at export,
/// so it shows no flows discarded, as the original. "Discarded" is
/// observed less selected; a racy read where selected runs ahead shows 0
/// where the original's subtraction would show a huge number.
pub fn write_sampler_line(
    w: &mut impl Write,
    sampler: Option<Sampler>,
    s: &SamplerCounts,
) -> fmt::Result {
    let Some(sampler) = sampler else {
        return w.write_str("Flow sampling is disabled.\n");
    };
    write!(
        w,
        "Flow sampling mode {} one-out-of {}.",
        sampler.mode.name(),
        sampler.interval
    )?;
    if sampler.mode == SamplerMode::Hash {
        write!(w, " Flows selected {}.", s.flows_selected)?;
    } else {
        write!(
            w,
            " Flows selected {}, discarded {}.",
            s.flows_selected,
            s.flows_observed.saturating_sub(s.flows_selected)
        )?;
    }
    writeln!(
        w,
        " Pkts selected {}, discarded {}.",
        s.pkts_selected,
        s.pkts_observed.saturating_sub(s.pkts_selected)
    )
}

/// The state of the flow table and of the scanner, for the `Flows:` line.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowsInfo {
    /// Flows alive (in tables and waiting for export).
    pub active: u64,
    /// The most flows alive at once since load (or the last reset).
    pub peak: u64,
    /// Minutes since the peak was reached.
    pub peak_age_min: u64,
    /// Memory of flows and buckets, in bytes.
    pub mem: u64,
    /// The scanner's current delay and its bounds, in ticks, and HZ.
    pub worker_delay: u64,
    /// Ticks per second.
    pub hz: u32,
    /// `scan-min`.
    pub scan_min: u32,
    /// The longest delay (HZ/10).
    pub scan_max: u32,
    /// Milliseconds since the scanner last ran.
    pub since_scan_ms: u64,
    /// Microseconds the last scan took.
    pub scan_us: u64,
    /// Flows the last scan exported.
    pub scanned: u64,
    /// Tables the last scan passed over because their lock was busy.
    pub skipped: u64,
    /// The CPU the last scan ran on.
    pub scan_cpu: u32,
}

/// The `Flows:` line.
pub fn write_flows_line(w: &mut impl Write, f: &FlowsInfo) -> fmt::Result {
    let age = f.peak_age_min;
    writeln!(
        w,
        "Flows: active {} (peak {} reached {}d{}h{}m ago), mem {}K, worker delay {}/{} [{}..{}] ({} ms, {} us, {}:{} [cpu{}]).",
        f.active,
        f.peak,
        age / (60 * 24),
        age / 60 % 24,
        age % 60,
        f.mem >> 10,
        f.worker_delay,
        f.hz,
        f.scan_min,
        f.scan_max,
        f.since_scan_ms,
        f.scan_us,
        f.scanned,
        f.skipped,
        f.scan_cpu
    )
}

/// What the `Hash:` line shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct HashInfo {
    /// Buckets over all CPUs (`hashsize`).
    pub size: u64,
    /// Their memory in bytes.
    pub mem: u64,
    /// Metric of the last interval and its 1, 5 and 15 minute averages (×100).
    pub metric: [u64; 4],
    /// Packets and bytes in flows not yet exported.
    pub in_hash: (u64, u64),
    /// Packets and bytes in the export packet being built.
    pub in_pdu: (u64, u64),
}

/// The `Hash:` line.
pub fn write_hash_line(w: &mut impl Write, h: &HashInfo) -> fmt::Result {
    let m = h.metric.map(Hundredths);
    writeln!(
        w,
        "Hash: size {} (mem {}K), metric {} [{}, {}, {}]. InHash: {} pkt, {} K, InPDU {}, {}.",
        h.size,
        h.mem >> 10,
        m[0],
        m[1],
        m[2],
        m[3],
        h.in_hash.0,
        h.in_hash.1 >> 10,
        h.in_pdu.0,
        h.in_pdu.1
    )
}

/// The `Rate:` line: current, 1-minute and 5-minute rates.
pub fn write_rate_line(w: &mut impl Write, bps: [u64; 3], pps: [u64; 3]) -> fmt::Result {
    writeln!(
        w,
        "Rate: {} bits/sec, {} packets/sec; Avg 1 min: {} bps, {} pps; 5 min: {} bps, {} pps",
        bps[0], pps[0], bps[1], pps[1], bps[2], pps[2]
    )
}

/// Export totals for the `Export:` line.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExportInfo {
    /// Exported bytes per second.
    pub rate: u64,
    /// Export packets, bytes and flow records sent.
    pub sent: (u64, u64, u64),
    /// Export packets that failed.
    pub errors: u64,
    /// Packets, bytes and flows lost (exported to no destination).
    pub lost: (u64, u64, u64),
}

/// The `Export:` line.
pub fn write_export_line(w: &mut impl Write, e: &ExportInfo) -> fmt::Result {
    writeln!(
        w,
        "Export: Rate {} bytes/s; Total {} pkts, {} MB, {} flows; Errors {} pkts; Traffic lost {} pkts, {} Kbytes, {} flows.",
        e.rate,
        e.sent.0,
        e.sent.1 >> 20,
        e.sent.2,
        e.errors,
        e.lost.0,
        e.lost.1 >> 10,
        e.lost.2
    )
}

/// One destination's socket as /proc shows it.
#[derive(Clone, Copy, Debug)]
pub struct SockRow {
    /// The destination.
    pub dest: Destination,
    /// Whether its socket is connected.
    pub connected: bool,
    /// Socket buffer size.
    pub sndbuf: u32,
    /// Bytes queued now.
    pub filled: u32,
    /// Most bytes seen queued.
    pub peak: u32,
    /// Sends refused with a full buffer.
    pub err_full: u32,
    /// Failed connects.
    pub err_connect: u32,
    /// ICMP errors reported.
    pub err_cberr: u32,
    /// Other send errors.
    pub err_other: u32,
    /// Connect attempts.
    pub attempts: u32,
}

/// A `sockN:` line of `ipt_netflow`.
pub fn write_sock_line(w: &mut impl Write, i: usize, r: &SockRow) -> fmt::Result {
    write!(w, "sock{i}: {}", r.dest)?;
    if r.connected {
        writeln!(
            w,
            ", sndbuf {}, filled {}, peak {}; err: sndbuf reached {}, connect {}, cberr {}, other {}",
            r.sndbuf, r.filled, r.peak, r.err_full, r.err_connect, r.err_cberr, r.err_other
        )
    } else {
        writeln!(w, " unconnected ({} attempts).", r.attempts)
    }
}

/// The `aggr#` lines: one per net rule, then one per port rule, each list
/// numbered from 0. `usage(kind, index)` gives how many times that rule
/// rewrote a key part. "strip" is N, the prefix kept, as the original
/// prints it (it prints M after "match").
pub fn write_aggregation_lines(
    w: &mut impl Write,
    aggr: &Aggregation,
    usage: impl Fn(RuleKind, usize) -> u64,
) -> fmt::Result {
    for (i, r) in aggr.net_rules().iter().enumerate() {
        let [a, b, c, d] = r.net;
        writeln!(
            w,
            "aggr#{i} net: match {a}.{b}.{c}.{d}/{} strip {} (usage {})",
            r.match_len,
            r.keep_len,
            usage(RuleKind::Net, i)
        )?;
    }
    for (i, r) in aggr.port_rules().iter().enumerate() {
        writeln!(
            w,
            "aggr#{i} port: ports {}-{} replace {} (usage {})",
            r.first,
            r.last,
            r.port,
            usage(RuleKind::Port, i)
        )?;
    }
    Ok(())
}

/// The `SNMP-rule#` lines, one per rule, numbered from 0.
pub fn write_snmp_rule_lines(w: &mut impl Write, rules: &SnmpRules) -> fmt::Result {
    for (i, r) in rules.iter().enumerate() {
        write!(w, "SNMP-rule#{i}: prefix '")?;
        snmp_rules::write_prefix(w, r.prefix())?;
        writeln!(w, "' map to {}", r.base())?;
    }
    Ok(())
}

/// The header line of `ipt_netflow_flows`, with the columns of the
/// link-layer fields this build compiles in.
pub fn write_flows_header(w: &mut impl Write) -> fmt::Result {
    w.write_str("# hash a dev:i,o")?;
    if cfg!(feature = "mac") {
        w.write_str(" mac:src,dst")?;
    }
    if cfg!(feature = "vlan") {
        w.write_str(" vlan")?;
    }
    if cfg!(any(feature = "mac", feature = "vlan")) {
        w.write_str(" type")?;
    }
    w.write_str(" proto src:ip,port dst:ip,port nexthop tos,tcpflags,options,tcpoptions packets bytes ts:first,last\n")
}

/// One flow as the dump shows it, copied out of its table.
#[derive(Clone, Copy, Debug)]
pub struct FlowRow {
    /// Bucket index in its CPU's table.
    pub bucket: u32,
    /// Export flags: bit 0 inactive due, bit 1 active due.
    pub due: u32,
    /// The key.
    pub key: FlowKey,
    /// Output interface.
    pub o_ifc: u16,
    /// Next hop.
    pub nexthop: [u8; 16],
    /// TCP flags, options and TCP options.
    pub tcp_flags: u8,
    /// Options bitmap.
    pub options: u32,
    /// TCP options bitmap.
    pub tcp_options: u32,
    /// Packets.
    pub packets: u32,
    /// Bytes.
    pub bytes: u32,
    /// Ticks since the first and the last packet.
    pub ages: (u64, u64),
    /// The ethernet type, in builds that have it.
    #[cfg(any(feature = "mac", feature = "vlan"))]
    pub ethertype: u16,
}

impl FlowRow {
    /// The row of `flow` at time `now`.
    pub fn new(flow: &Flow, bucket: u32, due: u32, now: u64) -> Self {
        FlowRow {
            bucket,
            due,
            key: flow.key,
            o_ifc: flow.first_packet.o_ifc,
            nexthop: flow.first_packet.nexthop,
            tcp_flags: flow.tcp_flags,
            options: flow.options,
            tcp_options: flow.tcp_options,
            packets: flow.packets,
            bytes: flow.bytes,
            ages: (flow.age(now), flow.idle_for(now)),
            #[cfg(any(feature = "mac", feature = "vlan"))]
            ethertype: flow.first_packet.ethertype,
        }
    }
}

struct Addr<'a>(u8, &'a [u8; 16]);

impl fmt::Display for Addr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.1;
        match self.0 {
            4 => write!(f, "{}", Ipv4Addr::new(b[0], b[1], b[2], b[3])),
            _ => write!(f, "{}", Ipv6Addr::from(*b)),
        }
    }
}

/// One line of `ipt_netflow_flows`; `seq` counts from 1.
pub fn write_flow_line(w: &mut impl Write, seq: u64, r: &FlowRow) -> fmt::Result {
    let k = &r.key;
    write!(
        w,
        "{} {:04x} {:x} {},{}",
        seq, r.bucket, r.due, k.i_ifc as i16, r.o_ifc as i16
    )?;
    write_link_columns(w, r)?;
    write!(w, " {} ", k.protocol)?;
    let v = k.ip_version;
    write!(
        w,
        "{},{} {},{} {}",
        Addr(v, &k.src),
        k.s_port,
        Addr(v, &k.dst),
        k.d_port,
        Addr(v, &r.nexthop)
    )?;
    writeln!(
        w,
        " {:x},{:x},{:x},{:x} {} {} {},{}",
        k.tos, r.tcp_flags, r.options, r.tcp_options, r.packets, r.bytes, r.ages.0, r.ages.1
    )
}

/// The dump's link-layer columns, as the original's builds with them
/// print them: the MACs (source first), the outer VLAN tag's whole control
/// information and the inner one's after a comma (no column without a
/// tag), then the ethernet type in hex.
#[allow(unused_variables)]
fn write_link_columns(w: &mut impl Write, r: &FlowRow) -> fmt::Result {
    #[cfg(feature = "mac")]
    {
        let (s, d) = (&r.key.l2.src_mac, &r.key.l2.dst_mac);
        write!(
            w,
            " {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x},{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            s[0], s[1], s[2], s[3], s[4], s[5], d[0], d[1], d[2], d[3], d[4], d[5]
        )?;
    }
    #[cfg(feature = "vlan")]
    {
        let [outer, inner] = r.key.l2.vlan.map(u16::from_be_bytes);
        if outer != 0 {
            write!(w, " {outer}")?;
            if inner != 0 {
                write!(w, ",{inner}")?;
            }
        }
    }
    #[cfg(any(feature = "mac", feature = "vlan"))]
    write!(w, " {:04x}", r.ethertype)?;
    Ok(())
}

/// One row of the per-CPU table: a CPU's (or the total's) counters, its
/// packet rate and its hash metric.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuRow {
    /// Packets per second over the last rate interval.
    pub pps: u64,
    /// The hash metric (×100) to show in brackets.
    pub metric_x100: u64,
    /// The counters.
    pub stats: StatsSum,
}

/// The column header of the per-CPU table.
pub const CPU_TABLE_HEADER: &str = "cpu#     pps; <search found new [metric], trunc frag alloc maxflows>, traffic: <pkt, bytes>, drop: <pkt, bytes>\n";

fn write_cpu_row_tail(w: &mut impl Write, row: &CpuRow) -> fmt::Result {
    let s = &row.stats;
    writeln!(
        w,
        " {:>6}; {:>6} {:>6} {:>6} [{}], {:>4} {:>4} {:>4} {:>4}, traffic: {}, {} MB, drop: {}, {} K",
        row.pps,
        s.searched,
        s.found,
        s.notfound,
        Hundredths(row.metric_x100),
        s.truncated,
        s.frags,
        s.alloc_err,
        s.maxflows_err,
        s.pkt_total,
        s.traf_total >> 20,
        s.pkt_drop,
        s.traf_drop >> 10
    )
}

/// The per-CPU table: header, `Total` row, and one row per present CPU when
/// there is more than one.
pub fn write_cpu_table(
    w: &mut impl Write,
    total: &CpuRow,
    cpus: impl ExactSizeIterator<Item = (u32, CpuRow)>,
) -> fmt::Result {
    w.write_str(CPU_TABLE_HEADER)?;
    w.write_str("Total")?;
    write_cpu_row_tail(w, total)?;
    if cpus.len() > 1 {
        for (cpu, row) in cpus {
            write!(w, "cpu{cpu:<2}")?;
            write_cpu_row_tail(w, &row)?;
        }
    }
    Ok(())
}

/// The machine-readable totals of `ipt_netflow_snmp`, in the file's order.
#[derive(Clone, Copy, Debug, Default)]
pub struct SnmpTotals {
    /// Incoming bits per second.
    pub in_bit_rate: u64,
    /// Incoming packets per second.
    pub in_packet_rate: u64,
    /// Counters summed over all CPUs.
    pub stats: StatsSum,
    /// Memory used by flows and the hash table, in bytes.
    pub hash_memory: u64,
    /// Flows currently in the table.
    pub hash_flows: u64,
    /// Packets accounted into flows not yet exported.
    pub hash_packets: u64,
    /// Bytes accounted into flows not yet exported.
    pub hash_bytes: u64,
    /// Exported bytes per second.
    pub out_byte_rate: u64,
    /// Flow records exported.
    pub out_flows: u64,
    /// Export packets sent.
    pub out_packets: u64,
    /// Export bytes sent.
    pub out_bytes: u64,
    /// Flow records lost because no destination took them.
    pub lost_flows: u64,
    /// Packets in those flows.
    pub lost_packets: u64,
    /// Bytes in those flows.
    pub lost_bytes: u64,
    /// Send errors plus socket error callbacks.
    pub err_total: u64,
}

fn snmp_line(w: &mut impl Write, name: &str, value: impl fmt::Display) -> fmt::Result {
    writeln!(w, "{name:<12} {value}")
}

/// Writes `ipt_netflow_snmp`: the totals, one `cpuN` line per present CPU
/// (even when there is only one), and the trailing `sndbufPeak` line.
///
/// Unlike the original, `hashMetric`, `hashPackets` and `hashBytes` are
/// computed from the real sums (the original's summing loop left out the
/// `searched`, `found` and exported counters, so they were always wrong).
pub fn write_snmp(
    w: &mut impl Write,
    t: &SnmpTotals,
    cpus: impl Iterator<Item = (u32, CpuRow)>,
    socks: impl Iterator<Item = SockRow> + Clone,
) -> fmt::Result {
    let s = &t.stats;
    snmp_line(w, "inBitRate", t.in_bit_rate)?;
    snmp_line(w, "inPacketRate", t.in_packet_rate)?;
    snmp_line(w, "inFlows", s.notfound)?;
    snmp_line(w, "inPackets", s.pkt_total)?;
    snmp_line(w, "inBytes", s.traf_total)?;
    snmp_line(w, "hashMetric", Hundredths(s.metric_x100()))?;
    snmp_line(w, "hashMemory", t.hash_memory)?;
    snmp_line(w, "hashFlows", t.hash_flows)?;
    snmp_line(w, "hashPackets", t.hash_packets)?;
    snmp_line(w, "hashBytes", t.hash_bytes)?;
    snmp_line(w, "dropPackets", s.pkt_drop)?;
    snmp_line(w, "dropBytes", s.traf_drop)?;
    snmp_line(w, "outByteRate", t.out_byte_rate)?;
    snmp_line(w, "outFlows", t.out_flows)?;
    snmp_line(w, "outPackets", t.out_packets)?;
    snmp_line(w, "outBytes", t.out_bytes)?;
    snmp_line(w, "lostFlows", t.lost_flows)?;
    snmp_line(w, "lostPackets", t.lost_packets)?;
    snmp_line(w, "lostBytes", t.lost_bytes)?;
    snmp_line(w, "errTotal", t.err_total)?;
    for (cpu, row) in cpus {
        let c = &row.stats;
        writeln!(
            w,
            "cpu{cpu} {} {} {} {} {} {} {} {} {} {} {}",
            row.pps,
            c.notfound,
            c.pkt_total,
            c.traf_total,
            Hundredths(row.metric_x100),
            c.pkt_drop,
            c.traf_drop,
            c.truncated,
            c.frags,
            c.alloc_err,
            c.maxflows_err
        )?;
    }
    for (i, r) in socks.clone().enumerate() {
        write!(
            w,
            "sock{i} {} {} {} {} {} {}",
            r.dest,
            u8::from(r.connected),
            r.err_connect,
            r.err_full,
            r.err_cberr,
            r.err_other
        )?;
        if r.connected {
            writeln!(w, " {} {} {}", r.sndbuf, r.filled, r.peak)?;
        } else {
            writeln!(w, " 0 0 {}", r.peak)?;
        }
    }
    let peak = socks.map(|r| r.peak).max().unwrap_or(0);
    snmp_line(w, "sndbufPeak", peak)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    fn row(pkts: u64, bytes: u64) -> CpuRow {
        CpuRow {
            pps: 0,
            metric_x100: 100,
            stats: StatsSum {
                found: pkts - 1,
                notfound: 1,
                pkt_total: pkts,
                traf_total: bytes,
                ..Default::default()
            },
        }
    }

    #[test]
    fn version_line_has_tags_after_the_semicolon() {
        let mut s = String::new();
        write_version_line(&mut s, "2.6", "ABCDEF", &[]).unwrap();
        assert_eq!(s, "ipt_NETFLOW 2.6, srcversion ABCDEF;\n");
        s.clear();
        write_version_line(&mut s, "2.6", "X", &["aggr", "samp"]).unwrap();
        assert_eq!(s, "ipt_NETFLOW 2.6, srcversion X; aggr samp\n");
    }

    #[test]
    fn protocol_line_for_each_version() {
        let tpl = TemplateInfo {
            refresh_rate: 20,
            timeout_rate: 30,
            generated: 3,
            active: 2,
        };
        let mut s = String::new();
        write_protocol_line(&mut s, Protocol::V5, &tpl).unwrap();
        assert_eq!(s, "Protocol version 5 (netflow)\n");
        s.clear();
        write_protocol_line(&mut s, Protocol::Ipfix, &tpl).unwrap();
        assert_eq!(
            s,
            "Protocol version 10 (ipfix), refresh-rate 20, timeout-rate 30, (templates 3, active 2).\n"
        );
    }

    #[test]
    fn cpu_table_matches_the_original_columns() {
        let mut s = String::new();
        let cpus = [(0, row(10, 3 << 20)), (1, row(5, 2048))];
        let total = row(15, (3 << 20) + 2048);
        write_cpu_table(&mut s, &total, cpus.into_iter()).unwrap();
        let lines: std::vec::Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], CPU_TABLE_HEADER.trim_end());
        assert_eq!(
            lines[1],
            "Total      0;      0     14      1 [1.00],    0    0    0    0, traffic: 15, 3 MB, drop: 0, 0 K"
        );
        assert_eq!(
            lines[2],
            "cpu0       0;      0      9      1 [1.00],    0    0    0    0, traffic: 10, 3 MB, drop: 0, 0 K"
        );
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn cpu_rows_are_left_out_on_a_single_cpu() {
        let mut s = String::new();
        write_cpu_table(&mut s, &row(1, 1), [(0, row(1, 1))].into_iter()).unwrap();
        assert_eq!(s.lines().count(), 2);
    }

    #[test]
    fn snmp_file_names_and_columns() {
        let mut s = String::new();
        let totals = SnmpTotals {
            stats: row(15, 1234).stats,
            ..Default::default()
        };
        let dest = *crate::export::destination::Destinations::parse("10.0.0.1:2055")
            .unwrap()
            .iter()
            .next()
            .unwrap();
        let sock = SockRow {
            dest,
            connected: true,
            sndbuf: 212992,
            filled: 0,
            peak: 1500,
            err_full: 0,
            err_connect: 0,
            err_cberr: 3,
            err_other: 0,
            attempts: 1,
        };
        write_snmp(
            &mut s,
            &totals,
            [(0, row(15, 1234))].into_iter(),
            [sock].into_iter(),
        )
        .unwrap();
        let lines: std::vec::Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "inBitRate    0");
        assert_eq!(lines[3], "inPackets    15");
        assert_eq!(lines[4], "inBytes      1234");
        assert_eq!(lines[5], "hashMetric   1.00");
        assert_eq!(lines[19], "errTotal     0");
        assert_eq!(lines[20], "cpu0 0 1 15 1234 1.00 0 0 0 0 0 0");
        assert_eq!(lines[21], "sock0 10.0.0.1:2055 1 0 0 3 0 212992 0 1500");
        assert_eq!(lines[22], "sndbufPeak   1500");
        let mut l = String::new();
        write_sock_line(&mut l, 0, &sock).unwrap();
        assert_eq!(
            l,
            "sock0: 10.0.0.1:2055, sndbuf 212992, filled 0, peak 1500; err: sndbuf reached 0, connect 0, cberr 3, other 0\n"
        );
        l.clear();
        write_sock_line(
            &mut l,
            1,
            &SockRow {
                connected: false,
                attempts: 4,
                ..sock
            },
        )
        .unwrap();
        assert_eq!(l, "sock1: 10.0.0.1:2055 unconnected (4 attempts).\n");
    }

    #[test]
    fn promisc_line_as_the_original() {
        let mut s = String::new();
        write_promisc_line(&mut s, true, 12, 3).unwrap();
        assert_eq!(
            s,
            "Promisc hack is enabled (observed 12 packets, discarded 3).\n"
        );
    }

    #[test]
    fn natevents_line_keeps_the_original_prefix() {
        let line = |enabled, c: NatCounts| {
            let mut s = String::new();
            write_natevents_line(&mut s, enabled, &c).unwrap();
            s
        };
        assert_eq!(
            line(false, NatCounts::default()),
            "Natevents disabled, count start 0, stop 0, lost 0.\n"
        );
        let c = NatCounts {
            start: 7,
            stop: 5,
            lost: 2,
            ..NatCounts::default()
        };
        assert_eq!(
            line(true, c),
            "Natevents enabled, count start 7, stop 5, lost 2.\n"
        );
        let c = NatCounts {
            malformed: 1,
            blind: 2,
            ..c
        };
        assert_eq!(
            line(true, c),
            "Natevents enabled, count start 7, stop 5, lost 2, malformed 1, blind netns 2.\n"
        );
    }

    #[test]
    fn sampler_line_for_each_mode() {
        let counts = SamplerCounts {
            flows_observed: 100,
            flows_selected: 10,
            pkts_observed: 5000,
            pkts_selected: 480,
        };
        let line = |t: &str| {
            let mut s = String::new();
            write_sampler_line(&mut s, Sampler::parse(t).unwrap(), &counts).unwrap();
            s
        };
        assert_eq!(line(""), "Flow sampling is disabled.\n");
        assert_eq!(
            line("d:10"),
            "Flow sampling mode deterministic one-out-of 10. Flows selected 10, discarded 90. Pkts selected 480, discarded 4520.\n"
        );
        assert_eq!(
            line("random:16383"),
            "Flow sampling mode random one-out-of 16383. Flows selected 10, discarded 90. Pkts selected 480, discarded 4520.\n"
        );
        assert_eq!(
            line("hash:4"),
            "Flow sampling mode hash one-out-of 4. Flows selected 10. Pkts selected 480, discarded 4520.\n"
        );
        // Selected read ahead of observed: no wrap-around.
        let mut s = String::new();
        let racy = SamplerCounts {
            flows_observed: 1,
            flows_selected: 2,
            pkts_observed: 0,
            pkts_selected: 3,
        };
        write_sampler_line(&mut s, Sampler::parse("d:2").unwrap(), &racy).unwrap();
        assert_eq!(
            s,
            "Flow sampling mode deterministic one-out-of 2. Flows selected 2, discarded 0. Pkts selected 3, discarded 0.\n"
        );
    }

    #[test]
    fn aggregation_lines_number_each_list_from_zero() {
        let a = Aggregation::parse("10.1.2.3/16=24 80-89=80 192.168.0.0/24=32 53=5353").unwrap();
        let mut s = String::new();
        write_aggregation_lines(&mut s, &a, |kind, i| match kind {
            RuleKind::Net => 100 + i as u64,
            RuleKind::Port => 200 + i as u64,
        })
        .unwrap();
        assert_eq!(
            s,
            "aggr#0 net: match 10.1.0.0/16 strip 24 (usage 100)\n\
             aggr#1 net: match 192.168.0.0/24 strip 32 (usage 101)\n\
             aggr#0 port: ports 80-89 replace 80 (usage 200)\n\
             aggr#1 port: ports 53-53 replace 5353 (usage 201)\n"
        );
        s.clear();
        write_aggregation_lines(&mut s, &Aggregation::empty(), |_, _| 0).unwrap();
        assert_eq!(s, "");
    }

    #[test]
    fn snmp_rule_lines() {
        let r = SnmpRules::parse("eth:100,ppp:200 br-lan.5:0").unwrap();
        let mut s = String::new();
        write_snmp_rule_lines(&mut s, &r).unwrap();
        assert_eq!(
            s,
            "SNMP-rule#0: prefix 'eth' map to 100\n\
             SNMP-rule#1: prefix 'ppp' map to 200\n\
             SNMP-rule#2: prefix 'br-lan.5' map to 0\n"
        );
        s.clear();
        write_snmp_rule_lines(&mut s, &SnmpRules::empty()).unwrap();
        assert_eq!(s, "");
    }

    #[test]
    fn timeouts_flows_hash_rate_and_export_lines() {
        let mut s = String::new();
        write_timeouts_line(&mut s, 1800, 15, 2_000_000).unwrap();
        assert_eq!(
            s,
            "Timeouts: active 1800s, inactive 15s. Maxflows 2000000\n"
        );
        s.clear();
        let f = FlowsInfo {
            active: 3,
            peak: 10,
            peak_age_min: 24 * 60 + 61,
            mem: 4096,
            worker_delay: 100,
            hz: 1000,
            scan_min: 1,
            scan_max: 100,
            since_scan_ms: 12,
            scan_us: 7,
            scanned: 2,
            skipped: 0,
            scan_cpu: 1,
        };
        write_flows_line(&mut s, &f).unwrap();
        assert_eq!(
            s,
            "Flows: active 3 (peak 10 reached 1d1h1m ago), mem 4K, worker delay 100/1000 [1..100] (12 ms, 7 us, 2:0 [cpu1]).\n"
        );
        s.clear();
        let h = HashInfo {
            size: 1024,
            mem: 8192,
            metric: [100, 101, 110, 99],
            in_hash: (5, 2048),
            in_pdu: (0, 0),
        };
        write_hash_line(&mut s, &h).unwrap();
        assert_eq!(s, "Hash: size 1024 (mem 8K), metric 1.00 [1.01, 1.10, 0.99]. InHash: 5 pkt, 2 K, InPDU 0, 0.\n");
        s.clear();
        write_rate_line(&mut s, [8000, 7000, 6000], [10, 9, 8]).unwrap();
        assert_eq!(s, "Rate: 8000 bits/sec, 10 packets/sec; Avg 1 min: 7000 bps, 9 pps; 5 min: 6000 bps, 8 pps\n");
        s.clear();
        write_export_line(
            &mut s,
            &ExportInfo {
                lost: (4, 4096, 2),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            s,
            "Export: Rate 0 bytes/s; Total 0 pkts, 0 MB, 0 flows; Errors 0 pkts; Traffic lost 4 pkts, 4 Kbytes, 2 flows.\n"
        );
    }

    #[test]
    fn flow_lines_for_ipv4_and_ipv6() {
        let mut key = FlowKey {
            ip_version: 4,
            protocol: 6,
            tos: 0x10,
            s_port: 12345,
            d_port: 80,
            i_ifc: 2,
            ..Default::default()
        };
        key.src[..4].copy_from_slice(&[10, 1, 0, 2]);
        key.dst[..4].copy_from_slice(&[10, 2, 0, 2]);
        let mut row = FlowRow {
            bucket: 0x1f,
            due: 1,
            key,
            o_ifc: crate::meter::flow_key::NO_INTERFACE,
            nexthop: [0; 16],
            tcp_flags: 0x1b,
            options: 0,
            tcp_options: 0xa000_0000,
            packets: 7,
            bytes: 420,
            ages: (3000, 10),
            #[cfg(any(feature = "mac", feature = "vlan"))]
            ethertype: 0x0800,
        };
        let mut s = String::new();
        write_flow_line(&mut s, 1, &row).unwrap();
        // The link-layer columns of builds that have them, as the original
        // prints them (no VLAN column without a tag).
        let link = if cfg!(feature = "mac") {
            " 00:00:00:00:00:00,00:00:00:00:00:00"
        } else {
            ""
        };
        let ty = if cfg!(any(feature = "mac", feature = "vlan")) {
            " 0800"
        } else {
            ""
        };
        assert_eq!(
            s,
            std::format!(
                "1 001f 1 2,-1{link}{ty} 6 10.1.0.2,12345 10.2.0.2,80 0.0.0.0 10,1b,0,a0000000 7 420 3000,10\n"
            )
        );
        row.key.ip_version = 6;
        row.key.src = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        row.key.dst = [0xfd, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
        s.clear();
        write_flow_line(&mut s, 2, &row).unwrap();
        assert!(
            s.starts_with(&std::format!(
                "2 001f 1 2,-1{link}{ty} 6 2001:db8::1,12345 fd02::2,80 :: 10,"
            )),
            "{s}"
        );
    }

    #[cfg(all(feature = "mac", feature = "vlan"))]
    #[test]
    fn flow_line_link_columns() {
        let mut key = FlowKey {
            ip_version: 4,
            protocol: 17,
            ..Default::default()
        };
        key.l2.src_mac = [2, 0, 0, 0, 0, 0x0a];
        key.l2.dst_mac = [2, 0, 0, 0, 0, 0x0b];
        key.l2.vlan = [0x200au16.to_be_bytes(), 20u16.to_be_bytes()];
        let row = FlowRow {
            bucket: 1,
            due: 0,
            key,
            o_ifc: 3,
            nexthop: [0; 16],
            tcp_flags: 0,
            options: 0,
            tcp_options: 0,
            packets: 1,
            bytes: 28,
            ages: (1, 1),
            ethertype: 0x86dd,
        };
        let mut s = String::new();
        write_flow_line(&mut s, 1, &row).unwrap();
        assert!(
            s.starts_with("1 0001 0 0,3 02:00:00:00:00:0a,02:00:00:00:00:0b 8202,20 86dd 17 "),
            "{s}"
        );
        let mut h = String::new();
        write_flows_header(&mut h).unwrap();
        assert!(
            h.starts_with("# hash a dev:i,o mac:src,dst vlan type proto "),
            "{h}"
        );
        assert_eq!(
            FEATURE_TAGS
                .iter()
                .filter(|t| ["mac", "vlan"].contains(t))
                .count(),
            2
        );
    }

    #[test]
    fn hundredths_pads_the_fraction() {
        assert_eq!(std::format!("{}", Hundredths(105)), "1.05");
        assert_eq!(std::format!("{}", Hundredths(0)), "0.00");
    }
}

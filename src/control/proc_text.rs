//! The text of `/proc/net/stat/ipt_netflow` and `/proc/net/stat/ipt_netflow_snmp`.
//!
//! Scripts, Prometheus exporters and the SNMP agent parse these files, so
//! every line keeps the original module's wording, field order and widths.
//! The writers take plain numbers and produce text through [`core::fmt::Write`];
//! the kernel glue feeds them a seq_file, the tests a `String`.

use crate::meter::stats::StatsSum;
use core::fmt::{self, Write};

/// A value times 100, printed as the original's `FFLOAT(x, 100)`: `"%d.%02d"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hundredths(pub u64);

impl fmt::Display for Hundredths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

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
pub fn write_protocol_line(w: &mut impl Write, protocol: u32, tpl: &TemplateInfo) -> fmt::Result {
    let name = if protocol == 10 { "ipfix" } else { "netflow" };
    write!(w, "Protocol version {protocol} ({name})")?;
    if protocol == 9 || protocol == 10 {
        write!(
            w,
            ", refresh-rate {}, timeout-rate {}, (templates {}, active {}).",
            tpl.refresh_rate, tpl.timeout_rate, tpl.generated, tpl.active
        )?;
    }
    w.write_char('\n')
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
    sndbuf_peak: u64,
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
    snmp_line(w, "sndbufPeak", sndbuf_peak)
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
        write_protocol_line(&mut s, 5, &tpl).unwrap();
        assert_eq!(s, "Protocol version 5 (netflow)\n");
        s.clear();
        write_protocol_line(&mut s, 10, &tpl).unwrap();
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
        write_snmp(&mut s, &totals, [(0, row(15, 1234))].into_iter(), 0).unwrap();
        let lines: std::vec::Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], "inBitRate    0");
        assert_eq!(lines[3], "inPackets    15");
        assert_eq!(lines[4], "inBytes      1234");
        assert_eq!(lines[5], "hashMetric   1.00");
        assert_eq!(lines[19], "errTotal     0");
        assert_eq!(lines[20], "cpu0 0 1 15 1234 1.00 0 0 0 0 0 0");
        assert_eq!(lines[21], "sndbufPeak   0");
    }

    #[test]
    fn hundredths_pads_the_fraction() {
        assert_eq!(std::format!("{}", Hundredths(105)), "1.05");
        assert_eq!(std::format!("{}", Hundredths(0)), "0.00");
    }
}

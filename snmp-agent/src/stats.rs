// SPDX-License-Identifier: GPL-2.0-only
//! `/proc/net/stat/ipt_netflow_snmp` read back: `name value` lines for the
//! totals, `cpuN v2 ... v12` for the CPU table and `sockN v2 ... v10` for the
//! socket table (column 1 being the row's index).

/// The file's content, split into its values (still text: a column's type
/// decides how it is read).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// `name value` lines, in file order.
    pub totals: Vec<(String, String)>,
    /// CPU rows by index, ascending, with columns 2... in order.
    pub cpus: Vec<(u32, Vec<String>)>,
    /// Socket rows by index, ascending, with columns 2... in order.
    pub socks: Vec<(u32, Vec<String>)>,
}

impl Stats {
    /// Parses the file's text. Lines that fit no form are skipped: the
    /// module only writes well-formed lines, and an agent that reads a
    /// newer module's file must not fail on a line it does not know.
    pub fn parse(text: &str) -> Stats {
        let mut s = Stats::default();
        for line in text.lines() {
            let mut words = line.split_ascii_whitespace();
            let Some(name) = words.next() else { continue };
            let row = |prefix: &str| {
                name.strip_prefix(prefix)
                    .and_then(|n| n.parse::<u32>().ok())
            };
            if let Some(cpu) = row("cpu") {
                s.cpus.push((cpu, words.map(str::to_string).collect()));
            } else if let Some(sock) = row("sock") {
                s.socks.push((sock, words.map(str::to_string).collect()));
            } else if let Some(value) = words.next() {
                s.totals.push((name.to_string(), value.to_string()));
            }
        }
        s.cpus.sort_by_key(|r| r.0);
        s.cpus.dedup_by_key(|r| r.0);
        s.socks.sort_by_key(|r| r.0);
        s.socks.dedup_by_key(|r| r.0);
        s
    }

    /// The total called `name`.
    pub fn total(&self, name: &str) -> Option<&str> {
        self.totals
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipt_netflow::control::proc_text::{write_snmp, CpuRow, SnmpTotals, SockRow};
    use ipt_netflow::export::destination::Destinations;

    /// Captured from the module on 6.12 (two CPUs, one destination).
    const CAPTURED: &str = "inBitRate 81920
inPacketRate 10
inFlows 4
inPackets 120
inBytes 10080
hashMetric 1.00
hashMemory 1056768
hashFlows 2
hashPackets 20
hashBytes 1680
dropPackets 0
dropBytes 0
outByteRate 152
outFlows 2
outPackets 2
outBytes 304
lostFlows 0
lostPackets 0
lostBytes 0
errTotal 0
cpu0 10 3 100 8400 1.00 0 0 0 0 0 0
cpu1 0 1 20 1680 0.50 0 0 1 2 3 4
sock0 127.0.0.1:2055 1 0 0 0 0 212992 0 304
sndbufPeak 304
";

    #[test]
    fn parses_captured_text() {
        let s = Stats::parse(CAPTURED);
        assert_eq!(s.totals.len(), 21);
        assert_eq!(s.total("hashMetric"), Some("1.00"));
        assert_eq!(s.total("sndbufPeak"), Some("304"));
        assert_eq!(s.cpus.len(), 2);
        assert_eq!(s.cpus[1].0, 1);
        assert_eq!(
            s.cpus[1].1,
            ["0", "1", "20", "1680", "0.50", "0", "0", "1", "2", "3", "4"]
        );
        assert_eq!(
            s.socks,
            vec![(
                0,
                [
                    "127.0.0.1:2055",
                    "1",
                    "0",
                    "0",
                    "0",
                    "0",
                    "212992",
                    "0",
                    "304"
                ]
                .map(String::from)
                .to_vec()
            )]
        );
    }

    #[test]
    fn odd_lines_are_skipped() {
        let s = Stats::parse("\n   \ninFlows\ncpuX 1 2\nsock 1\ncpu3\ninFlows 7 extra\ncpu3 9\n");
        assert_eq!(s.total("inFlows"), Some("7"));
        assert_eq!(s.cpus, vec![(3, vec![])]);
        // "cpuX" and "sock" are not rows: they have a value, so they are totals.
        assert_eq!(s.total("cpuX"), Some("1"));
    }

    /// What the module writes (its own writer, the pure half of the
    /// kernel's /proc file) reads back field by field.
    #[test]
    fn reads_what_the_module_writes() {
        let totals = SnmpTotals {
            in_bit_rate: 1 << 40,
            hash_bytes: 5_000_000_000,
            err_total: 3,
            ..Default::default()
        };
        let mut cpu = CpuRow {
            pps: 12,
            metric_x100: 137,
            ..Default::default()
        };
        cpu.stats.pkt_total = 99;
        let dests = Destinations::parse("10.0.0.1:2055").unwrap();
        let dest = *dests.iter().next().unwrap();
        let sock = SockRow {
            dest,
            connected: true,
            sndbuf: 5,
            filled: 6,
            peak: 7,
            err_full: 2,
            err_connect: 1,
            err_cberr: 3,
            err_other: 4,
            attempts: 0,
        };
        let mut text = String::new();
        write_snmp(
            &mut text,
            &totals,
            [(2, cpu)].into_iter(),
            [sock].into_iter(),
        )
        .unwrap();
        let s = Stats::parse(&text);
        assert_eq!(s.total("inBitRate"), Some("1099511627776"));
        assert_eq!(s.total("hashBytes"), Some("5000000000"));
        assert_eq!(s.total("errTotal"), Some("3"));
        assert_eq!(s.total("sndbufPeak"), Some("7"));
        assert_eq!(s.cpus[0].0, 2);
        assert_eq!(
            (
                s.cpus[0].1[0].as_str(),
                s.cpus[0].1[2].as_str(),
                s.cpus[0].1[4].as_str()
            ),
            ("12", "99", "1.37")
        );
        assert_eq!(
            s.socks[0].1,
            ["10.0.0.1:2055", "1", "1", "2", "3", "4", "5", "6", "7"]
        );
    }
}

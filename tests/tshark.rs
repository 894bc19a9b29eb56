// SPDX-License-Identifier: GPL-2.0-only
//! Our v5, v9 and IPFIX packets decoded by Wireshark's cflow dissector
//! (tshark), an implementation we did not write: every flow's addresses,
//! ports, protocol, packets and bytes must come out as we put them in, and
//! every field of every NAT event record (checked with netflow_parser too).
//! tshark is installed by scripts/install-deps.sh; without it this fails.

use ipt_netflow::export::netflow_v5::{V5Header, V5Packet, V5Record};
use ipt_netflow::export::pdu::{Full, Pdu, PduHeader, TemplateCache};
use ipt_netflow::export::record::{write_nat_record, write_record, FlowTimes, RecordContext};
use ipt_netflow::export::template::{ie, FieldList, TemplateKey, Version, NAT4_FIELDS};
use ipt_netflow::meter::flow::{EndReason, FirstPacket, Flow};
use ipt_netflow::meter::flow_key::{FlowKey, PacketInfo};
use ipt_netflow::meter::nat_event::{NatEndpoints, NatEvent, NatEventKind};
use netflow_parser::variable_versions::field_value::FieldValue;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4};
use std::process::Command;

const PORT: u16 = 2055;

fn flow(i: u16, v6: bool, proto: u8) -> Flow {
    let mut key = FlowKey {
        protocol: proto,
        s_port: 10000 + i,
        d_port: 53,
        i_ifc: 2,
        ..Default::default()
    };
    if v6 {
        key.ip_version = 6;
        key.src = Ipv6Addr::new(0xfd01, 0, 0, 0, 0, 0, 0, i).octets();
        key.dst = Ipv6Addr::new(0xfd02, 0, 0, 0, 0, 0, 0, 2).octets();
    } else {
        key.ip_version = 4;
        key.src[..4].copy_from_slice(&Ipv4Addr::new(10, 1, (i >> 8) as u8, i as u8).octets());
        key.dst[..4].copy_from_slice(&[10, 2, 0, 2]);
    }
    let info = PacketInfo {
        key,
        ip_len: 100 + u32::from(i),
        ..Default::default()
    };
    let mut f = Flow::new(
        &info,
        0,
        0,
        FirstPacket {
            o_ifc: 3,
            ..Default::default()
        },
    );
    for _ in 0..=i % 5 {
        f.account(&info, 5);
    }
    f.end_reason = EndReason::Idle;
    f
}

const TIMES: FlowTimes = FlowTimes {
    first_uptime_ms: 1000,
    last_uptime_ms: 2000,
    first_epoch_ms: 1_700_000_000_000,
    last_epoch_ms: 1_700_000_001_000,
};

fn v5_packets(flows: &[Flow]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pkt = V5Packet::new();
    let mut seq = 0;
    for f in flows {
        if pkt.is_full() {
            out.push(
                pkt.finish(&V5Header {
                    flow_sequence: seq,
                    ..Default::default()
                })
                .to_vec(),
            );
            seq += pkt.len() as u32;
            pkt.clear();
        }
        let k = &f.key;
        pkt.push(&V5Record {
            src: k.src_v4(),
            dst: k.dst_v4(),
            packets: f.packets,
            bytes: f.bytes,
            src_port: k.s_port,
            dst_port: k.d_port,
            protocol: k.protocol,
            input: k.i_ifc,
            output: 3,
            ..Default::default()
        });
    }
    out.push(
        pkt.finish(&V5Header {
            flow_sequence: seq,
            ..Default::default()
        })
        .to_vec(),
    );
    out
}

fn template_packets(version: Version, flows: &[Flow]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cache = TemplateCache::default();
    let mut pdu = Pdu::new(version);
    for f in flows {
        let key = TemplateKey::of(f, version);
        let mut fields = FieldList::default();
        key.fields(&mut fields);
        for _ in 0..2 {
            let t = cache.get(key).unwrap();
            let r = pdu.add_record(t, fields.as_slice(), out.len() as u64, 0, 20, 30, |b| {
                write_record(fields.as_slice(), b, f, &RecordContext::of(f, TIMES))
            });
            if r != Err(Full) {
                break;
            }
            out.push(
                pdu.finish(&PduHeader {
                    sequence: out.len() as u32,
                    ..Default::default()
                })
                .to_vec(),
            );
            pdu.clear();
        }
    }
    out.push(
        pdu.finish(&PduHeader {
            sequence: out.len() as u32,
            ..Default::default()
        })
        .to_vec(),
    );
    out
}

/// A pcap of UDP datagrams to PORT over raw IPv4 (linktype 101).
fn pcap(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic
    p.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
    p.extend_from_slice(&4u16.to_le_bytes());
    for v in [0u32, 0, 65535, 101] {
        // zone, sigfigs, snaplen, linktype (raw IP)
        p.extend_from_slice(&v.to_le_bytes());
    }
    for (i, d) in payloads.iter().enumerate() {
        let total = 20 + 8 + d.len();
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        let mut udp = Vec::new();
        udp.extend_from_slice(&40000u16.to_be_bytes());
        udp.extend_from_slice(&PORT.to_be_bytes());
        udp.extend_from_slice(&((8 + d.len()) as u16).to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        for v in [i as u32 + 1, 0, total as u32, total as u32] {
            p.extend_from_slice(&v.to_le_bytes());
        }
        p.extend_from_slice(&ip);
        p.extend_from_slice(&udp);
        p.extend_from_slice(d);
    }
    p
}

/// (src, dst, sport, dport, protocol, packets, bytes) of every flow record
/// tshark finds.
fn tshark_flows(name: &str, payloads: &[Vec<u8>]) -> Vec<(IpAddr, IpAddr, u16, u16, u8, u32, u32)> {
    let fields = [
        "cflow.srcaddr",
        "cflow.srcaddrv6",
        "cflow.dstaddr",
        "cflow.dstaddrv6",
        "cflow.srcport",
        "cflow.dstport",
        "cflow.protocol",
        "cflow.packets",
        "cflow.octets",
    ];
    let mut flows = Vec::new();
    for row in tshark_values(name, payloads, &fields) {
        let cols: Vec<Vec<&str>> = row
            .iter()
            .map(|c| c.split(';').filter(|s| !s.is_empty()).collect())
            .collect();
        let srcs: Vec<IpAddr> = cols[0]
            .iter()
            .chain(&cols[1])
            .map(|s| s.parse().unwrap())
            .collect();
        let dsts: Vec<IpAddr> = cols[2]
            .iter()
            .chain(&cols[3])
            .map(|s| s.parse().unwrap())
            .collect();
        for i in 0..srcs.len() {
            flows.push((
                srcs[i],
                dsts[i],
                cols[4][i].parse().unwrap(),
                cols[5][i].parse().unwrap(),
                cols[6][i].parse().unwrap(),
                cols[7][i].parse().unwrap(),
                cols[8][i].parse().unwrap(),
            ));
        }
    }
    flows
}

fn expected(flows: &[Flow]) -> Vec<(IpAddr, IpAddr, u16, u16, u8, u32, u32)> {
    let mut v: Vec<_> = flows
        .iter()
        .map(|f| {
            let k = &f.key;
            let (s, d) = if k.ip_version == 4 {
                (IpAddr::from(k.src_v4()), IpAddr::from(k.dst_v4()))
            } else {
                (IpAddr::from(k.src), IpAddr::from(k.dst))
            };
            (s, d, k.s_port, k.d_port, k.protocol, f.packets, f.bytes)
        })
        .collect();
    v.sort();
    v
}

fn check(name: &str, flows: &[Flow], packets: Vec<Vec<u8>>) {
    let mut got = tshark_flows(name, &packets);
    got.sort();
    assert_eq!(got, expected(flows), "{name}: tshark's decoding differs");
}

#[test]
fn tshark_decodes_netflow_v5() {
    let flows: Vec<Flow> = (0..45)
        .map(|i| flow(i, false, if i % 2 == 0 { 6 } else { 17 }))
        .collect();
    let packets = v5_packets(&flows);
    assert_eq!(packets.len(), 2, "30 records per packet");
    check("v5", &flows, packets);
}

// tshark lists IPv4 and IPv6 addresses in separate fields, so a packet's
// records pair up by position only within one family: each family is
// checked on its own (the v9 and IPFIX templates differ per family anyway).

#[test]
fn tshark_decodes_netflow_v9() {
    for v6 in [false, true] {
        let flows: Vec<Flow> = (0..60)
            .map(|i| flow(i, v6, if i % 2 == 0 { 6 } else { 17 }))
            .collect();
        check(
            if v6 { "v9-ipv6" } else { "v9-ipv4" },
            &flows,
            template_packets(Version::V9, &flows),
        );
    }
}

#[test]
fn tshark_decodes_ipfix() {
    for v6 in [false, true] {
        let flows: Vec<Flow> = (0..60)
            .map(|i| flow(i, v6, if i % 2 == 0 { 6 } else { 17 }))
            .collect();
        check(
            if v6 { "ipfix-ipv6" } else { "ipfix-ipv4" },
            &flows,
            template_packets(Version::Ipfix, &flows),
        );
    }
}

/// tshark's values of `fields` in each of `payloads`, one row per packet
/// (several occurrences of a field in one packet joined by ';').
fn tshark_values(name: &str, payloads: &[Vec<u8>], fields: &[&str]) -> Vec<Vec<String>> {
    let dir =
        std::env::temp_dir().join(format!("ipt-netflow-tshark-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("export.pcap");
    std::fs::write(&file, pcap(payloads)).unwrap();
    let mut cmd = Command::new("tshark");
    // Absolute times print in the local time zone: make it UTC.
    cmd.env("TZ", "UTC");
    cmd.args(["-n", "-r"]).arg(&file).args([
        "-d",
        &format!("udp.port=={PORT},cflow"),
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=;",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .output()
        .expect("tshark must be installed (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// One packet of `version` with `options` records first, then `flows`
/// as a sampler with id `sampler_id` selected them.
fn sampled_packet(
    version: Version,
    options: &[ipt_netflow::export::options::OptionsRecord<'_>],
    flows: &[Flow],
    sampler_id: u8,
) -> Vec<u8> {
    use ipt_netflow::export::options::OptionsRecord;
    let mut cache = TemplateCache::default();
    let mut pdu = Pdu::new(version);
    for r in options {
        let mut fields = FieldList::default();
        r.fields(&mut fields);
        let t = cache
            .get_options(r.key(), OptionsRecord::SCOPE_FIELDS)
            .unwrap();
        pdu.add_record(t, fields.as_slice(), 0, 0, 20, 30, |b| r.write(b))
            .unwrap();
    }
    for f in flows {
        let key = TemplateKey::of(f, version).with_sampler();
        let mut fields = FieldList::default();
        key.fields(&mut fields);
        let context = RecordContext {
            sampler_id,
            ..RecordContext::of(f, TIMES)
        };
        let t = cache.get(key).unwrap();
        pdu.add_record(t, fields.as_slice(), 0, 0, 20, 30, |b| {
            write_record(fields.as_slice(), b, f, &context)
        })
        .unwrap();
    }
    pdu.finish(&PduHeader::default()).to_vec()
}

/// How each protocol names the sampler, as tshark decodes it: the v5
/// header's mode and interval, v9's FLOW_SAMPLER_ID in the records and its
/// sampler options record, IPFIX's selectorId and its selector records.
#[test]
fn tshark_decodes_the_sampler() {
    use ipt_netflow::export::options::{OptionsRecord, Span};
    use ipt_netflow::meter::sampler::{Sampler, SamplerMode};
    let flows: Vec<Flow> = (0..3).map(|i| flow(i, false, 17)).collect();

    let mut v5 = V5Packet::new();
    let sampler = Sampler {
        mode: SamplerMode::Deterministic,
        interval: 10,
    };
    for f in &flows {
        assert!(v5.push(&V5Record::from_flow(f, 1000, 2000)));
    }
    let v5 = v5
        .finish(&V5Header {
            sampling: sampler.v5_field(),
            ..Default::default()
        })
        .to_vec();
    assert_eq!(
        tshark_values(
            "v5-sampler",
            &[v5],
            &["cflow.samplingmode", "cflow.samplerate"]
        ),
        [["1", "10"]]
    );

    let v9 = sampled_packet(
        Version::V9,
        &[OptionsRecord::Sampler {
            domain: 0,
            id: 3,
            mode: 2,
            interval: 4,
        }],
        &flows,
        3,
    );
    assert_eq!(
        tshark_values(
            "v9-sampler",
            &[v9],
            &[
                "cflow.sampler_id",
                "cflow.sampler_mode",
                "cflow.sampler_random_interval"
            ]
        ),
        // The options record's id first, then each data record's.
        [["3;3;3;3", "2", "4"]]
    );

    let span = Span {
        first_ms: 1_700_000_000_000,
        last_ms: 1_700_000_060_000,
    };
    let ipfix = sampled_packet(
        Version::Ipfix,
        &[
            OptionsRecord::SelectorCount {
                domain: 0,
                id: 1,
                interval: 10,
            },
            OptionsRecord::SelectorRandom {
                domain: 0,
                id: 2,
                interval: 7,
            },
            OptionsRecord::SelectorStats {
                id: 1,
                flows_observed: Some(1000),
                flows_selected: 100,
                pkts_observed: 5000,
                pkts_selected: 480,
                span,
            },
        ],
        &flows,
        1,
    );
    assert_eq!(
        tshark_values(
            "ipfix-sampler",
            &[ipfix],
            &[
                "cflow.selector_id",
                "cflow.flow_selector_algorithm",
                "cflow.sampling_flow_interval",
                "cflow.sampling_flow_spacing",
                "cflow.sampling_size",
                "cflow.sampling_population",
                "cflow.selectorid_total_flows_observed",
                "cflow.selectorid_total_flows_selected",
                "cflow.selector_id_total_pkts_observed",
                "cflow.selector_id_total_pkts_selected",
            ]
        ),
        // selectorId: the two selectors', the statistics', each record's.
        [[
            "1;2;1;1;1;1",
            "1;3",
            "1",
            "10",
            "1",
            "7",
            "1000",
            "100",
            "5000",
            "480"
        ]]
    );
}

// NAT events (NEL, reference §4.6): NAT4 template and data records in v9
// and IPFIX, pseudo-records in v5.

const TCP: u8 = 6;
const UDP: u8 = 17;
const ICMP: u8 = 1;

/// Which side of a connection a NAT event translated.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Nat {
    Source,
    Destination,
    Both,
}

/// NAT event number `i`: every combination of translated side (SNAT, DNAT,
/// both), protocol (TCP, UDP, ICMP) and kind (create, delete) in turn, with
/// addresses, ports and time derived from `i` so that every event and every
/// field differs. ICMP keeps the echo id in the source port, which SNAT may
/// change, and type/code (echo request) in the destination port, which no
/// translation changes.
fn nat_event(i: u16) -> (Nat, NatEvent) {
    let nat = [Nat::Source, Nat::Destination, Nat::Both][usize::from(i % 3)];
    let protocol = [TCP, UDP, ICMP][usize::from(i / 3 % 3)];
    let kind = [NatEventKind::Create, NatEventKind::Delete][usize::from(i / 9 % 2)];
    let [hi, lo] = i.to_be_bytes();
    let (s_port, d_port) = match protocol {
        ICMP => (0x0100 + i, 8 << 8),
        UDP => (30000 + i, 53),
        _ => (40000 + i, 443),
    };
    let pre = NatEndpoints {
        src: [10, 0, hi, lo],
        dst: [203, 0, 113, lo],
        s_port,
        d_port,
    };
    let mut post = pre;
    if nat != Nat::Destination {
        post.src = [198, 51, hi, lo];
        post.s_port = 1024 + 7 * i;
    }
    if nat != Nat::Source {
        post.dst = [172, 16, hi, lo];
        if protocol != ICMP {
            post.d_port = 8000 + i;
        }
    }
    let ev = NatEvent {
        kind,
        protocol,
        pre,
        post,
        epoch_ms: 1_700_000_000_000 + 1001 * u64::from(i),
    };
    assert_eq!(
        (ev.src_translated(), ev.dst_translated()),
        (nat != Nat::Destination, nat != Nat::Source)
    );
    (nat, ev)
}

fn nat_events(n: u16) -> Vec<NatEvent> {
    (0..n).map(|i| nat_event(i).1).collect()
}

/// `events` as v9 or IPFIX packets: each on the NAT4 template, sent when
/// full, as the exporter adds records.
fn nat_packets(version: Version, events: &[NatEvent]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cache = TemplateCache::default();
    let mut pdu = Pdu::new(version);
    let key = TemplateKey::nat4();
    let mut fields = FieldList::default();
    key.fields(&mut fields);
    let fields = fields.as_slice();
    let mut sequence = 0u32;
    for ev in events {
        for _ in 0..2 {
            let t = cache.get(key).unwrap();
            let r = pdu.add_record(t, fields, out.len() as u64, 0, 20, 30, |b| {
                write_nat_record(fields, b, ev)
            });
            if r != Err(Full) {
                break;
            }
            let n = pdu.data_records();
            out.push(
                pdu.finish(&PduHeader {
                    sequence,
                    ..Default::default()
                })
                .to_vec(),
            );
            sequence += if version == Version::Ipfix { n } else { 1 };
            pdu.clear();
        }
    }
    out.push(
        pdu.finish(&PduHeader {
            sequence,
            ..Default::default()
        })
        .to_vec(),
    );
    out
}

/// Milliseconds since the Unix epoch of tshark's rendering of an absolute
/// time in UTC, "Nov 14, 2023 22:13:20.123000000 UTC".
fn utc_ms(text: &str) -> u64 {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [month, day, year, time, "UTC"] = parts[..] else {
        panic!("unexpected time {text:?}")
    };
    let month = MONTHS.iter().position(|&m| m == month).unwrap() as i64 + 1;
    let day: i64 = day.trim_end_matches(',').parse().unwrap();
    let year: i64 = year.parse().unwrap();
    let (hms, fraction) = time.split_once('.').unwrap();
    let hms: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    let nanos: i64 = fraction.parse().unwrap();
    assert_eq!(fraction.len(), 9, "{text}");
    // Days from 1970-01-01 to the date, counting years from March so that
    // the leap day ends a year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let secs = days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2];
    assert_eq!(nanos % 1_000_000, 0, "{text}: whole milliseconds");
    (secs * 1000 + nanos / 1_000_000) as u64
}

#[test]
fn utc_ms_reads_tshark_times() {
    assert_eq!(utc_ms("Jan 1, 1970 00:00:00.000000000 UTC"), 0);
    assert_eq!(
        utc_ms("Nov 14, 2023 22:13:20.123000000 UTC"),
        1_700_000_000_123
    );
    assert_eq!(
        utc_ms("Feb 29, 2024 23:59:59.999000000 UTC"),
        1_709_251_199_999
    );
    assert_eq!(
        utc_ms("Mar 1, 2000 00:00:00.000000000 UTC"),
        951_868_800_000
    );
}

/// A NAT4 data record as tshark or netflow_parser decoded it: time,
/// pre-NAT source and destination, post-NAT source and destination (each
/// address and port), protocol, natEvent.
type DecodedNat = (
    u64,
    SocketAddrV4,
    SocketAddrV4,
    SocketAddrV4,
    SocketAddrV4,
    u8,
    u8,
);

/// What a NAT4 record of `ev` must decode to, written out from the event's
/// fields and the element meanings of reference §4.6.
fn nat_expected(ev: &NatEvent) -> DecodedNat {
    let at = |a: [u8; 4], p: u16| SocketAddrV4::new(Ipv4Addr::from(a), p);
    let event = match ev.kind {
        NatEventKind::Create => 1,
        NatEventKind::Delete => 2,
    };
    (
        ev.epoch_ms,
        at(ev.pre.src, ev.pre.s_port),
        at(ev.pre.dst, ev.pre.d_port),
        at(ev.post.src, ev.post.s_port),
        at(ev.post.dst, ev.post.d_port),
        ev.protocol,
        event,
    )
}

/// Every NAT4 data record tshark finds in `payloads`, in order.
fn tshark_nat(name: &str, payloads: &[Vec<u8>]) -> Vec<DecodedNat> {
    let fields = [
        "cflow.observation_time_milliseconds",
        "cflow.srcaddr",
        "cflow.srcport",
        "cflow.dstaddr",
        "cflow.dstport",
        "cflow.post_natsource_ipv4_address",
        "cflow.post_naptsource_transport_port",
        "cflow.post_natdestination_ipv4_address",
        "cflow.post_naptdestination_transport_port",
        "cflow.protocol",
        "cflow.nat_event",
    ];
    let mut records = Vec::new();
    for row in tshark_values(name, payloads, &fields) {
        let cols: Vec<Vec<&str>> = row.iter().map(|c| c.split(';').collect()).collect();
        let n = cols[0].len();
        assert!(cols.iter().all(|c| c.len() == n), "{name}: {row:?}");
        // Record i's value of field number `col`.
        let value = |col: usize, i: usize| cols[col][i];
        let at = |col: usize, i: usize| {
            SocketAddrV4::new(
                value(col, i).parse().unwrap(),
                value(col + 1, i).parse().unwrap(),
            )
        };
        for i in 0..n {
            records.push((
                utc_ms(value(0, i)),
                at(1, i),
                at(3, i),
                at(5, i),
                at(7, i),
                value(9, i).parse().unwrap(),
                value(10, i).parse().unwrap(),
            ));
        }
    }
    records
}

/// Every template tshark finds in `payloads`: its (element id, length)
/// pairs. (tshark names IPFIX element ids apart from v9 ones.)
fn tshark_templates(name: &str, payloads: &[Vec<u8>]) -> Vec<Vec<(u16, u16)>> {
    let fields = [
        "cflow.template_field_count",
        "cflow.template_field_type",
        "cflow.template_ipfix_field_type",
        "cflow.template_field_length",
    ];
    let mut templates = Vec::new();
    for row in tshark_values(name, payloads, &fields) {
        if row[0].is_empty() {
            continue;
        }
        let numbers = |col: &str| -> Vec<u16> {
            col.split(';')
                .filter(|x| !x.is_empty())
                .map(|x| x.parse().unwrap())
                .collect()
        };
        let types = [numbers(&row[1]), numbers(&row[2])].concat();
        let lengths = numbers(&row[3]);
        assert_eq!(types.len(), lengths.len(), "{name}: {row:?}");
        let mut pairs = types.into_iter().zip(lengths);
        for count in numbers(&row[0]) {
            templates.push(pairs.by_ref().take(usize::from(count)).collect());
        }
        assert!(pairs.next().is_none(), "{name}: {row:?}");
    }
    templates
}

/// A decoded value as a number: netflow_parser's own big-endian rendering.
fn number(v: &FieldValue) -> u128 {
    let mut b = Vec::new();
    v.write_be_bytes(&mut b).unwrap();
    assert!(b.len() <= 16, "{v:?}");
    b.iter().fold(0, |n, &x| n << 8 | u128::from(x))
}

/// A NAT4 record from netflow_parser's (element id, value) pairs, `None`
/// for a record without natEvent (a flow's). A NAT record must have every
/// element of NAT4, once.
fn parser_nat(rec: &[(u16, u128)]) -> Option<DecodedNat> {
    rec.iter().find(|&&(id, _)| id == ie::NAT_EVENT)?;
    let mut seen: Vec<u16> = rec.iter().map(|&(id, _)| id).collect();
    seen.sort();
    let mut want: Vec<u16> = NAT4_FIELDS.iter().map(|&(id, _)| id).collect();
    want.sort();
    assert_eq!(seen, want, "elements of the record");
    let get = |id: u16| rec.iter().find(|&&(i, _)| i == id).unwrap().1;
    let at = |a: u16, p: u16| {
        SocketAddrV4::new(
            Ipv4Addr::from(u32::try_from(get(a)).unwrap()),
            u16::try_from(get(p)).unwrap(),
        )
    };
    Some((
        u64::try_from(get(ie::OBSERVATION_TIME_MS)).unwrap(),
        at(ie::IPV4_SRC_ADDR, ie::L4_SRC_PORT),
        at(ie::IPV4_DST_ADDR, ie::L4_DST_PORT),
        at(ie::POST_NAT_SRC_IPV4, ie::POST_NAPT_SRC_PORT),
        at(ie::POST_NAT_DST_IPV4, ie::POST_NAPT_DST_PORT),
        u8::try_from(get(ie::PROTOCOL)).unwrap(),
        u8::try_from(get(ie::NAT_EVENT)).unwrap(),
    ))
}

/// Every data record netflow_parser finds in `payloads`, in order, as a
/// NAT record or `None` (see [`parser_nat`]).
fn parser_nat_records_of(version: Version, payloads: &[Vec<u8>]) -> Vec<Option<DecodedNat>> {
    use netflow_parser::variable_versions::ipfix::lookup::IPFixField;
    use netflow_parser::variable_versions::ipfix::FlowSetBody as IpfixBody;
    use netflow_parser::variable_versions::v9::FlowSetBody as V9Body;
    use netflow_parser::{NetflowPacket, NetflowParser};
    // netflow_parser names IPFIX elements rather than numbering them: the
    // number is the one it names the same (all ours are below 512).
    let ipfix_id = |f: &IPFixField| {
        (0..512)
            .find(|&id| IPFixField::new(id, None) == *f)
            .unwrap_or_else(|| panic!("{f:?} is not an element we send"))
    };
    let mut parser = NetflowParser::default();
    let mut records = Vec::new();
    for p in payloads {
        let r = parser.parse_bytes(p);
        assert!(r.error.is_none(), "{:?}", r.error);
        match (&r.packets[..], version) {
            ([NetflowPacket::V9(v9)], Version::V9) => {
                for set in &v9.flowsets {
                    if let V9Body::Data(d) = &set.body {
                        for rec in &d.fields {
                            let rec: Vec<(u16, u128)> = rec
                                .iter()
                                .map(|(k, v)| (u16::from(*k), number(v)))
                                .collect();
                            records.push(parser_nat(&rec));
                        }
                    }
                }
            }
            ([NetflowPacket::IPFix(ipfix)], Version::Ipfix) => {
                for set in &ipfix.flowsets {
                    if let IpfixBody::Data(d) = &set.body {
                        for rec in &d.fields {
                            let rec: Vec<(u16, u128)> =
                                rec.iter().map(|(k, v)| (ipfix_id(k), number(v))).collect();
                            records.push(parser_nat(&rec));
                        }
                    }
                }
            }
            (other, _) => panic!("not one {version:?} packet: {other:?}"),
        }
    }
    records
}

/// Every NAT4 data record netflow_parser finds in `payloads` (which hold
/// no other), in order.
fn parser_nat_records(version: Version, payloads: &[Vec<u8>]) -> Vec<DecodedNat> {
    parser_nat_records_of(version, payloads)
        .into_iter()
        .map(|r| r.expect("a NAT record"))
        .collect()
}

fn check_nat(version: Version) {
    let events = nat_events(90);
    let packets = nat_packets(version, &events);
    assert!(packets.len() > 1, "90 NAT records need several packets");
    let want: Vec<DecodedNat> = events.iter().map(nat_expected).collect();
    let name = format!("nat-{version:?}");
    assert_eq!(tshark_nat(&name, &packets), want, "tshark's decoding");
    assert_eq!(
        tshark_templates(&name, &packets),
        [NAT4_FIELDS.to_vec()],
        "one NAT4 template, as sent"
    );
    assert_eq!(
        parser_nat_records(version, &packets),
        want,
        "netflow_parser's decoding"
    );
}

#[test]
fn tshark_decodes_nat_events_in_v9() {
    check_nat(Version::V9);
}

#[test]
fn tshark_decodes_nat_events_in_ipfix() {
    check_nat(Version::Ipfix);
}

/// NAT events as v5 pseudo-records, event `i` at uptime `1000 + i` ms.
#[test]
fn tshark_decodes_nat_events_in_v5() {
    let events: Vec<(Nat, NatEvent)> = (0..36).map(nat_event).collect();
    let mut packets = Vec::new();
    let mut pkt = V5Packet::new();
    let mut want = Vec::new();
    for (i, (nat, ev)) in events.iter().enumerate() {
        let uptime = 1000 + i as u32;
        let records: Vec<V5Record> = V5Record::from_nat(ev, uptime).collect();
        assert_eq!(records.len(), if *nat == Nat::Both { 2 } else { 1 });
        for r in records {
            if pkt.is_full() {
                packets.push(pkt.finish(&V5Header::default()).to_vec());
                pkt.clear();
            }
            assert!(pkt.push(&r));
        }
        // The records reference §4.6 describes, from the event's fields:
        // the SNAT one (translated source in next hop and source AS), then
        // the DNAT one (original destination in next hop and destination AS).
        let flags = match ev.kind {
            NatEventKind::Create => "0x12",
            NatEventKind::Delete => "0x05",
        };
        let mut one = |nexthop: [u8; 4], src_as: u16, dst_as: u16| {
            want.push(
                [
                    Ipv4Addr::from(ev.pre.src).to_string(),
                    Ipv4Addr::from(ev.post.dst).to_string(),
                    Ipv4Addr::from(nexthop).to_string(),
                    ev.pre.s_port.to_string(),
                    ev.post.d_port.to_string(),
                    ev.protocol.to_string(),
                    flags.to_owned(),
                    src_as.to_string(),
                    dst_as.to_string(),
                    "0".to_owned(), // packets
                    "0".to_owned(), // bytes
                    format!("{}.{:03}000000", uptime / 1000, uptime % 1000),
                    format!("{}.{:03}000000", uptime / 1000, uptime % 1000),
                    "0".to_owned(),    // input interface
                    "0".to_owned(),    // output interface
                    "0x00".to_owned(), // TOS
                    "0".to_owned(),    // source mask
                    "0".to_owned(),    // destination mask
                ]
                .to_vec(),
            )
        };
        if *nat != Nat::Destination {
            one(ev.post.src, ev.post.s_port, 0);
        }
        if *nat != Nat::Source {
            one(ev.pre.dst, 0, ev.pre.d_port);
        }
    }
    packets.push(pkt.finish(&V5Header::default()).to_vec());
    assert_eq!(packets.len(), 2, "48 records, 30 per packet");
    let fields = [
        "cflow.srcaddr",
        "cflow.dstaddr",
        "cflow.nexthop",
        "cflow.srcport",
        "cflow.dstport",
        "cflow.protocol",
        "cflow.tcpflags",
        "cflow.srcas",
        "cflow.dstas",
        "cflow.packets",
        "cflow.octets",
        "cflow.timestart",
        "cflow.timeend",
        "cflow.inputint",
        "cflow.outputint",
        "cflow.tos",
        "cflow.srcmask",
        "cflow.dstmask",
    ];
    let mut got = Vec::new();
    for row in tshark_values("nat-v5", &packets, &fields) {
        let cols: Vec<Vec<&str>> = row.iter().map(|c| c.split(';').collect()).collect();
        let n = cols[0].len();
        assert!(cols.iter().all(|c| c.len() == n), "{row:?}");
        for i in 0..n {
            got.push(cols.iter().map(|c| c[i].to_owned()).collect::<Vec<_>>());
        }
    }
    assert_eq!(got.len(), 48);
    assert_eq!(got, want, "tshark's decoding");
}

/// NAT records share packets with flow records, as the exporter sends
/// them: each kind in a data set of its own, the odd-length NAT set padded
/// before the next one. Both decode.
#[test]
fn tshark_decodes_nat_events_between_flows() {
    for version in [Version::V9, Version::Ipfix] {
        let mut cache = TemplateCache::default();
        let mut pdu = Pdu::new(version);
        let (_, snat) = nat_event(0);
        let (_, dnat) = nat_event(1);
        let f = flow(7, false, 17);
        let mut nat_fields = FieldList::default();
        TemplateKey::nat4().fields(&mut nat_fields);
        let nat_fields = nat_fields.as_slice();
        let add_nat = |cache: &mut TemplateCache, pdu: &mut Pdu, ev: &NatEvent| {
            let t = cache.get(TemplateKey::nat4()).unwrap();
            pdu.add_record(t, nat_fields, 0, 0, 20, 30, |b| {
                write_nat_record(nat_fields, b, ev)
            })
            .unwrap();
        };
        add_nat(&mut cache, &mut pdu, &snat);
        let key = TemplateKey::of(&f, version);
        let mut fields = FieldList::default();
        key.fields(&mut fields);
        let t = cache.get(key).unwrap();
        pdu.add_record(t, fields.as_slice(), 0, 0, 20, 30, |b| {
            write_record(fields.as_slice(), b, &f, &RecordContext::of(&f, TIMES))
        })
        .unwrap();
        add_nat(&mut cache, &mut pdu, &dnat);
        let packet = pdu.finish(&PduHeader::default()).to_vec();
        let name = format!("nat-mixed-{version:?}");
        assert_eq!(
            tshark_values(
                &name,
                std::slice::from_ref(&packet),
                &[
                    "cflow.post_natsource_ipv4_address",
                    "cflow.nat_event",
                    "cflow.packets",
                    "cflow.octets",
                ]
            ),
            [[
                format!(
                    "{};{}",
                    Ipv4Addr::from(snat.post.src),
                    Ipv4Addr::from(dnat.post.src)
                ),
                "1;1".to_owned(),
                f.packets.to_string(),
                f.bytes.to_string(),
            ]],
            "{name}"
        );
        let records = parser_nat_records_of(version, &[packet]);
        assert_eq!(
            records,
            [Some(nat_expected(&snat)), None, Some(nat_expected(&dnat))],
            "{name}: netflow_parser's decoding"
        );
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! Our v5, v9 and IPFIX packets decoded by Wireshark's cflow dissector
//! (tshark), an implementation we did not write: every flow's addresses,
//! ports, protocol, packets and bytes must come out as we put them in.
//! tshark is installed by scripts/install-deps.sh; without it this fails.

use ipt_netflow::export::netflow_v5::{V5Header, V5Packet, V5Record};
use ipt_netflow::export::pdu::{Full, Pdu, PduHeader, TemplateCache};
use ipt_netflow::export::record::{write_record, FlowTimes, RecordContext};
use ipt_netflow::export::template::{FieldList, TemplateKey, Version};
use ipt_netflow::meter::flow::{EndReason, FirstPacket, Flow};
use ipt_netflow::meter::flow_key::{FlowKey, PacketInfo};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
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

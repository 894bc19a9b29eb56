#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Exports checked by collectors nobody here wrote, run inside the VM by
collectors.sh for one protocol:  collectors.py PROTOCOL

The module (loaded by collectors.sh) exports to three destinations:
  127.0.0.1:2055  a capture here, written to a pcap and decoded by tshark;
  127.0.0.1:2056  nfcapd (nfdump's collector), listening live;
  127.0.0.1:2057  nobody (its error counter must move, the others not suffer).
A known set of flows is forwarded through the router namespace; every flow
must reach both collectors with its key fields, packets, bytes and its
start and end times (within TOLERANCE of when it was sent), and the export
stream must have gapless sequence numbers from 0, templates before data, and
header clocks that agree with the guest's.

Usage: collectors.py PROTOCOL BUILD_DIR (the module is loaded here, after
the collectors are listening, so they see the first options records too).
"""
import ipaddress
import json
import os
import shutil
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nettest as t  # noqa: E402
from collect import ALL_ARRIVALS, ALL_DATAGRAMS, Capture, Nfcapd, utc_seconds, write_pcap  # noqa: E402
from ipfix import IpfixDecoder  # noqa: E402

PROTO = int(sys.argv[1])
BUILD = sys.argv[2]
# The checks below, per protocol (v9 and IPFIX have template, options and
# IPv6 checks that v5 has not; IPFIX the statistics records).
t.plan({5: 20, 9: 27, 10: 37}[PROTO])
# How far an exported time may be from when the traffic was sent or the
# export packet arrived: v9 headers carry whole seconds, and the module's
# flow times are ticks.
TOLERANCE = 2.0
WORK = f"/tmp/collectors-{PROTO}"
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
os.sched_setaffinity(0, {0})

tx = t.FrameSender("nfa", "nfa0", t.mac_of("nfr", "nfr0"))
IFIN, IFOUT = t.ifindex("nfr", "nfr0"), t.ifindex("nfr", "nfr1")


def sent_when(f, start, end):
    """Why a flow's exported start and end do not fit when it was sent, or
    None: both within TOLERANCE of the span its packets were sent in."""
    lo, hi = f["t0"] - TOLERANCE, f["t1"] + TOLERANCE
    if start is None or end is None or not (lo <= start <= end <= hi):
        return (f"sent {f['t0']:.3f}..{f['t1']:.3f}, exported start {start} end {end} "
                f"(tolerance {TOLERANCE} s)")
    return None


# --- the traffic ----------------------------------------------------------

def ip4_flows(first, count):
    """UDP flows 10.1.0.x:30000+i -> 10.2.0.99:53 with i+1 packets of 60+i bytes of payload."""
    fl = []
    for i in range(first, first + count):
        fl.append(dict(family=4, src=f"10.1.0.{2 + i % 200}", dst="10.2.0.99", sport=30000 + i, dport=53,
                       proto=17, packets=1 + i % 3, payload=60 + i % 50))
    return fl


def ip6_flows(first, count):
    return [dict(family=6, src="fd01::2", dst="fd02::99", sport=31000 + i, dport=123, proto=17,
                 packets=1 + i % 2, payload=40 + i) for i in range(first, first + count)]


def send(fl):
    """Sends each flow's packets back to back; notes when it began and ended."""
    for f in fl:
        if f["proto"] == 17:
            l4 = t.udp(f["sport"], f["dport"], b"q" * f["payload"])
        elif f["proto"] == 6:
            l4 = t.tcp(f["sport"], f["dport"], 0x18, data=b"t" * f["payload"])
        else:
            l4 = bytes([f["sport"] >> 8, f["sport"] & 0xff, 0, 0]) + b"p" * f["payload"]
        if f["family"] == 4:
            pkt = t.ipv4(f["src"], f["dst"], f["proto"], l4)
            f["bytes"] = f["packets"] * len(pkt)
        else:
            pkt = t.ipv6(f["src"], f["dst"], f["proto"], l4)
            f["bytes"] = f["packets"] * len(pkt)
        f["t0"] = time.time()
        tx.send(pkt, f["packets"])
        f["t1"] = time.time()


def key(f):
    return (f["src"], f["dst"], str(f["sport"]), str(f["dport"]), str(f["proto"]))


def expected_map(fl):
    return {key(f): f for f in fl}


# --- what the capture holds ----------------------------------------------

def tshark_all():
    """tshark's decoding of every datagram captured, in one run (tshark is
    slow to start under emulation): per datagram, its flow records (with
    their start and end times as tshark computes them from the header) and
    options records; and whether any packet was malformed."""
    path = f"{WORK}/all.pcap"
    write_pcap(ALL_DATAGRAMS, path)
    r = t.sh(f"tshark -n -r {path} -d udp.port==2055,cflow -T json", check=False)
    flows = [[] for _ in ALL_DATAGRAMS]
    options = [[] for _ in ALL_DATAGRAMS]

    def walk(node, n):
        if isinstance(node, dict):
            if "cflow.protocol" in node and ("cflow.srcaddr" in node or "cflow.srcaddrv6" in node):
                flows[n].append(node)
            elif any(k in node for k in ("cflow.if_name", "cflow.sys_init_time", "cflow.notsent_flows")):
                options[n].append(node)
            for v in node.values():
                walk(v, n)
        elif isinstance(node, list):
            for v in node:
                walk(v, n)

    try:
        packets = json.loads(r.stdout)
    except json.JSONDecodeError:
        packets = []
    for p in packets:
        layers = p["_source"]["layers"]
        n = int(layers["frame"]["frame.number"]) - 1
        cflow = layers.get("cflow", {})
        walk(cflow, n)
        for fl in flows[n]:
            fl["start"], fl["end"] = tshark_times(cflow, fl)
    malformed = "_ws.malformed" in r.stdout or not packets
    return flows, options, malformed, (r.stderr or r.stdout)[-2000:]


def tshark_times(header, n):
    """A flow record's start and end in seconds since the epoch, from
    tshark's fields: IPFIX carries them absolute; v5 and v9 as uptime,
    placed on the wall clock by the header's uptime and unix seconds."""
    tree = n.get("cflow.timedelta_tree", n)
    if "cflow.abstimestart" in tree:
        fmt = "%b %d, %Y %H:%M:%S.%f"  # followed by " UTC"
        return (utc_seconds(tree["cflow.abstimestart"], fmt), utc_seconds(tree["cflow.abstimeend"], fmt))
    if "cflow.timestart" not in tree or "cflow.sysuptime" not in header:
        return None, None
    clock = header.get("cflow.timestamp_tree", {})
    base = (int(clock.get("cflow.unix_secs", 0)) + int(clock.get("cflow.unix_nsecs", 0)) / 1e9
            - float(header["cflow.sysuptime"]))
    return base + float(tree["cflow.timestart"]), base + float(tree["cflow.timeend"])


def tshark_flow(n):
    src = n.get("cflow.srcaddr") or n.get("cflow.srcaddrv6")
    dst = n.get("cflow.dstaddr") or n.get("cflow.dstaddrv6")
    sport, dport = n.get("cflow.srcport", "0"), n.get("cflow.dstport", "0")
    if n["cflow.protocol"] == "1":
        # v5 and v9 carry ICMP type/code in the destination port, IPFIX in
        # icmpTypeCodeIPv4.
        code = n.get("cflow.dstport") or next((v for k, v in n.items() if "icmp_type_code" in k), "0")
        sport, dport = "0", str(int(code, 0))
    return dict(src=str(ipaddress.ip_address(src)), dst=str(ipaddress.ip_address(dst)),
                sport=sport, dport=dport, proto=n["cflow.protocol"],
                packets=int(n["cflow.packets"]), bytes=int(n["cflow.octets"]),
                i=int(n.get("cflow.inputint", -1)), o=int(n.get("cflow.outputint", -1)),
                reason=n.get("cflow.flow_end_reason"), start=n.get("start"), end=n.get("end"))


def walk_sets(datagrams, first_seq=None):
    """Checks the stream's own structure: (sequence ok, templates before
    data, per data-template list of (pdu index, template sent in it)).
    first_seq: the number the first datagram must carry (None: any)."""
    seq_ok, tpl_first = True, True
    known = set()
    per_template = {}
    expect = first_seq
    ipfix = IpfixDecoder()
    for n, d in enumerate(datagrams):
        version = struct.unpack("!H", d[:2])[0]
        if version == 5:
            count, seq = struct.unpack("!H", d[2:4])[0], struct.unpack("!I", d[16:20])[0]
            if expect is not None and seq != expect:
                seq_ok = False
            expect = seq + count
            continue
        if version == 9:
            seq = struct.unpack("!I", d[12:16])[0]
            if expect is not None and seq != expect:
                seq_ok = False
            expect = seq + 1
            at, tpl_ids, data_ids = 20, (0,), 256
        else:
            header, _ = ipfix.decode(d)
            if expect is not None and header["sequence"] != expect:
                seq_ok = False
            expect = header["sequence"] + header["data_records"]
            at, tpl_ids = 16, (2,)
        sent_here = set()
        while at + 4 <= len(d):
            sid, slen = struct.unpack("!HH", d[at:at + 4])
            if slen < 4:
                break
            body = d[at + 4:at + slen]
            if sid in (0, 1, 2, 3):
                tid = struct.unpack("!H", body[:2])[0]
                known.add(tid)
                if sid in tpl_ids:
                    sent_here.add(tid)
            elif sid >= 256:
                if sid not in known:
                    tpl_first = False
                per_template.setdefault(sid, []).append((n, sid in sent_here))
            at += slen
    return seq_ok, tpl_first, per_template


def header_clock_errors(span):
    """The datagrams of `span` whose header clocks disagree with the guest's
    at arrival by more than TOLERANCE: v5 unix_secs.unix_nsecs and
    sys_uptime, v9 unix_secs and sys_uptime, IPFIX export time."""
    bad = []
    for n in span:
        d = ALL_DATAGRAMS[n]
        wall, uptime = ALL_ARRIVALS[n]
        version = struct.unpack("!H", d[:2])[0]
        if version == 5:
            up_ms, secs, nsecs = struct.unpack("!III", d[4:16])
            clocks = dict(wall=secs + nsecs / 1e9, uptime=up_ms / 1000, nsecs_ok=nsecs < 1_000_000_000)
        elif version == 9:
            up_ms, secs = struct.unpack("!II", d[4:12])
            clocks = dict(wall=float(secs), uptime=up_ms / 1000)
        else:
            clocks = dict(wall=float(struct.unpack("!I", d[4:8])[0]))
        off = [abs(clocks["wall"] - wall)] + ([abs(clocks["uptime"] - uptime)] if "uptime" in clocks else [])
        if max(off) > TOLERANCE or not clocks.get("nsecs_ok", True):
            bad.append(dict(pdu=n, header=clocks, guest=dict(wall=wall, uptime=uptime)))
    return bad


# --- the run ----------------------------------------------------------------
# Traffic and module first, tshark's verdicts at the end (one tshark run).

capture, nfcapd = Capture(), Nfcapd(WORK)
capture.start()
nfcapd.start()
r = t.sh(f"insmod {BUILD}/ipt_NETFLOW.ko protocol={PROTO} refresh_rate=2 inactive_timeout=60 "
         "destination=127.0.0.1:2055,127.0.0.1:2056,127.0.0.1:2057", check=False)
t.eq(f"v{PROTO}: insmod with three destinations", 0, r.returncode)
t.eq(f"v{PROTO}: IPv4 FORWARD rule", 0,
     t.sh("ip netns exec nfr iptables-legacy -A FORWARD -j NETFLOW", check=False).returncode)
if PROTO != 5:
    t.eq(f"v{PROTO}: IPv6 FORWARD rule", 0,
         t.sh("ip netns exec nfr ip6tables-legacy -A FORWARD -j NETFLOW", check=False).returncode)

flows = ip4_flows(0, 150 if PROTO != 5 else 70)
flows.append(dict(family=4, src="10.1.0.3", dst="10.2.0.99", sport=40000, dport=80, proto=6, packets=3, payload=100))
flows.append(dict(family=4, src="10.1.0.4", dst="10.2.0.99", sport=0x0800, dport=0, proto=1, packets=2, payload=56))
if PROTO != 5:
    flows += ip6_flows(0, 8)
send(flows)
time.sleep(0.5)
t.eq(f"v{PROTO}: flush", None, t.sysctl_write("flush", 1))
time.sleep(1)
capture.quiet()
capture.stop()
first = capture.span()
want = expected_map(flows)
# ICMP: the original puts type and code into the destination port.
for f in flows:
    if f["proto"] == 1:
        want.pop(key(f))
        f["sport"], f["dport"] = 0, 0x0800
        want[key(f)] = f

# The capture listened before the module loaded: it has the first export
# packet, whose sequence number is 0.
seq_ok, tpl_first, per_template = walk_sets([ALL_DATAGRAMS[n] for n in first], first_seq=0)
t.ok(f"v{PROTO}: sequence numbers start at 0 and have no gaps over several packets", seq_ok and len(first) >= 2,
     f"{len(first)} export packets")
bad = header_clock_errors(first)
t.ok(f"v{PROTO}: every header's clocks agree with the guest's (within {TOLERANCE} s)", first and not bad, bad[:3])
if PROTO != 5:
    t.ok(f"v{PROTO}: every data set's template came before it", tpl_first)
    # Per export packet: whether the busiest template was (re)sent in it.
    sets = max(per_template.values(), key=len)
    pdus = {}
    for n, sent in sets:
        pdus[n] = pdus.get(n, False) or sent
    busiest = sorted(pdus.items())
    resent = sum(1 for _, s in busiest if s)
    runs, longest = 0, 0
    for _, s in busiest:
        runs = 0 if s else runs + 1
        longest = max(longest, runs)
    t.ok(f"v{PROTO}: templates are refreshed every refresh-rate (2) packets",
         len(busiest) >= 4 and resent >= 2 and longest <= 2, busiest)

# nfdump's view of the same export (second destination).
nf = nfcapd
nfcapd.stop()
nseen = {}
for fl in nf.flows():
    if fl["proto"] == "1":
        fl["sport"], fl["dport"] = "0", str(0x0800 if fl["dport"].startswith("8.") else fl["dport"])
    k = (fl["src"], fl["dst"], fl["sport"], fl["dport"], fl["proto"])
    if k in want:
        nseen.setdefault(k, []).append(fl)
t.ok(f"v{PROTO}: nfdump: every flow arrives exactly once",
     (len(nseen), max((len(v) for v in nseen.values()), default=0)) == (len(want), 1),
     f"missing: {sorted(set(want) - set(nseen))[:3]}; nfdump's non-UDP: "
     f"{[f for f in nf.flows() if f['proto'] != '17'][:4]}")
bad = [(k, v[0]) for k, v in nseen.items()
       if (v[0]["packets"], v[0]["bytes"], v[0]["i"], v[0]["o"]) != (want[k]["packets"], want[k]["bytes"], IFIN, IFOUT)]
t.ok(f"v{PROTO}: nfdump: packets, bytes and interfaces of each flow as sent", nseen and not bad, bad[:3])
bad = [(k, why) for k, v in nseen.items() if (why := sent_when(want[k], v[0]["start"], v[0]["end"]))]
t.ok(f"v{PROTO}: nfdump: each flow's start and end are when it was sent", nseen and not bad, bad[:3])
t.eq(f"v{PROTO}: nfdump: no sequence failures", 0, nf.sequence_failures())

with open("/proc/net/stat/ipt_netflow") as f:
    socks = [line.strip() for line in f if line.startswith("sock")]
t.eq(f"v{PROTO}: three destinations", 3, len(socks))
cberr = [int(s.split("cberr ")[1].split(",")[0]) if "cberr " in s else -1 for s in socks]
t.ok(f"v{PROTO}: the dead destination's cberr moves, the live ones' do not",
     cberr[2] > 0 and cberr[0] == 0 and cberr[1] == 0, socks)

# Both collectors go away, traffic goes on, they come back: the exports
# resume by themselves, and decode at once (templates are re-sent after the
# ICMP errors the module saw while they were away).
more = ip4_flows(300, 5)
send(more)
time.sleep(0.5)
t.sysctl_write("flush", 1)
time.sleep(1.5)
capture = Capture()
capture.start()
nfcapd.start()
after = ip4_flows(400, 5)
send(after)
time.sleep(0.5)
t.sysctl_write("flush", 1)
time.sleep(1)
capture.quiet()
capture.stop()
nfcapd.stop()
restart = capture.span()
_, tpl_first, _ = walk_sets([ALL_DATAGRAMS[n] for n in restart])
if PROTO != 5:
    t.ok(f"v{PROTO}: after the restart the first data already has its template", tpl_first and len(restart) > 0)
nkeys = {(f["src"], f["dst"], f["sport"], f["dport"], f["proto"]) for f in nf.flows()}
keys = {key(f) for f in after}
t.ok(f"v{PROTO}: restarted nfcapd receives again", keys <= nkeys, sorted(keys - nkeys)[:3])

stats = None
if PROTO == 10:
    # Statistics and reliability records: flows lost while no destination
    # was reachable, and packets the meter refused at maxflows.
    t.eq("v10: unroutable destination accepted", None, t.sysctl_write("destination", "192.0.2.1:2055"))
    with open("/proc/net/stat/ipt_netflow") as f:
        line = [x for x in f if x.startswith("sock0")][0]
    t.ok("v10: an unroutable destination shows as unconnected", "unconnected" in line, line)
    send(ip4_flows(500, 3))
    time.sleep(0.5)
    t.sysctl_write("flush", 1)
    snmp = t.snmp()
    t.eq("v10: flows lost while no destination works", "3", snmp.get("lostFlows"))
    old_max = t.sysctl_read("maxflows")
    t.sysctl_write("maxflows", 2)
    # The table is empty (flushed): the first two flows fit, every packet of
    # the other two is refused.
    at_max = ip4_flows(600, 4)
    send(at_max)
    refused = at_max[2:]
    t.sysctl_write("maxflows", old_max)
    time.sleep(5)  # the meter's counters reach the exporter every 4 s
    # Every flow sent so far was created once; each refused packet was a
    # lookup that missed, which the meter counts as an observed flow too.
    observed = (len(flows) + len(more) + len(after) + 3 + 2 + sum(f["packets"] for f in refused))
    capture = Capture()
    capture.start()
    # The destination change sends the statistics records at once, so the
    # export counters they carry lie between these two readings.
    before_stats = t.snmp()
    t.eq("v10: destination back", None, t.sysctl_write("destination", "127.0.0.1:2055"))
    time.sleep(2)
    t.sysctl_write("flush", 1)
    time.sleep(1)
    capture.quiet()
    capture.stop()
    stats = capture.span()
    dec = IpfixDecoder()
    for n in stats:
        dec.decode(ALL_DATAGRAMS[n])
    after_stats = t.snmp()
    rec = [{ie: int.from_bytes(v, "big") for ie, v in o.items()} for o in dec.options if 41 in o]
    t.eq("v10: metering statistics record: observed flows (163) as sent", observed, rec and rec[0][163])
    brackets = {41: "outPackets", 42: "outFlows", 40: "outBytes"}
    off = {ie: (int(before_stats[k]), rec[0][ie], int(after_stats[k])) for ie, k in brackets.items()
           if rec and not int(before_stats[k]) <= rec[0][ie] <= int(after_stats[k])}
    t.ok("v10: metering statistics record: messages, flows, octets (41, 42, 40) between the /proc "
         "readings taken before and after it", rec and not off, off or rec)
    epr = [o for o in dec.options if 166 in o]
    t.ok("v10: exporting reliability record counts the 3 lost flows",
         epr and int.from_bytes(epr[0][166], "big") == 3, epr)
    mpr = [{ie: int.from_bytes(v, "big") for ie, v in o.items()} for o in dec.options if 164 in o]
    t.eq("v10: metering reliability record: the refused packets and their bytes (164, 165)",
         (sum(f["packets"] for f in refused), sum(f["bytes"] for f in refused)),
         (mpr[0][164], mpr[0][165]) if mpr else None)

# Flows still in the table at unload reach the collector first.
capture = Capture()
capture.start()
last = ip4_flows(700, 4)
send(last)
time.sleep(0.5)
t.sh("ip netns exec nfr iptables-legacy -D FORWARD -j NETFLOW")
if PROTO != 5:
    t.sh("ip netns exec nfr ip6tables-legacy -D FORWARD -j NETFLOW")
t.eq(f"v{PROTO}: rmmod", 0, t.sh("rmmod ipt_NETFLOW", check=False).returncode)
time.sleep(0.5)
capture.stop()
unload = capture.span()

# --- tshark's verdicts ----------------------------------------------------
pkt_flows, pkt_opts, malformed, detail = tshark_all()
t.ok(f"v{PROTO}: tshark decodes every export packet without error", not malformed, detail)


def decoded(span):
    return [tshark_flow(n) for i in span for n in pkt_flows[i]]


seen = {}
for fl in decoded(first):
    k = (fl["src"], fl["dst"], fl["sport"], fl["dport"], fl["proto"])
    if k in want:
        seen.setdefault(k, []).append(fl)
t.eq(f"v{PROTO}: tshark: every flow arrives exactly once", (len(want), 1),
     (len(seen), max((len(v) for v in seen.values()), default=0)))
bad = [(k, v[0]) for k, v in seen.items()
       if (v[0]["packets"], v[0]["bytes"]) != (want[k]["packets"], want[k]["bytes"])]
t.ok(f"v{PROTO}: tshark: packets and bytes of each flow as sent", seen and not bad, bad[:3])
bad = [(k, v[0]) for k, v in seen.items() if (v[0]["i"], v[0]["o"]) != (IFIN, IFOUT)]
t.ok(f"v{PROTO}: tshark: input and output interfaces", seen and not bad, bad[:3])
bad = [(k, why) for k, v in seen.items() if (why := sent_when(want[k], v[0]["start"], v[0]["end"]))]
t.ok(f"v{PROTO}: tshark: each flow's start and end are when it was sent", seen and not bad, bad[:3])
if PROTO == 10:
    bad = [k for k, v in seen.items() if v[0]["reason"] != "4"]
    t.ok("v10: tshark: end reason 4 (forced end) after a flush", seen and not bad, bad[:3])
if PROTO != 5:
    opts = [o for i in first for o in pkt_opts[i]]
    names = {o.get("cflow.if_name", "").rstrip("\x00") for o in opts}
    descs = {o.get("cflow.if_name", "").rstrip("\x00"): o.get("cflow.if_descr", "") for o in opts}
    t.ok(f"v{PROTO}: options: interface names decode (lo, nfx0, nfx1)", {"lo", "nfx0", "nfx1"} <= names, names)
    t.eq(f"v{PROTO}: options: interface descriptions (type, alias, driver)",
         ["Loopback", "uplink to nowhere", "veth,10GbE,tp"],
         [descs.get("lo"), descs.get("nfx0"), descs.get("nfx1")])
    t.ok(f"v{PROTO}: options: system init time decodes", any("cflow.sys_init_time" in o for o in opts), opts[:2])
arrived = {(f["src"], f["dst"], f["sport"], f["dport"], f["proto"]) for f in decoded(restart)}
t.ok(f"v{PROTO}: tshark: the restarted collector receives again without touching the module", keys <= arrived,
     sorted(keys - arrived)[:3])
if stats is not None:
    t.ok("v10: tshark decodes the reliability record",
         any(o.get("cflow.notsent_flows") == "3" for i in stats for o in pkt_opts[i]))
arrived = {(f["src"], f["dst"], f["sport"], f["dport"], f["proto"]) for f in decoded(unload)}
t.ok(f"v{PROTO}: rmmod delivers the flows left in the table", {key(f) for f in last} <= arrived, arrived)
print(f"# collectors.py done: {t.failed} failed", flush=True)
sys.exit(1 if t.failed else 0)

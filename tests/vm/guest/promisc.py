#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Promisc mode of the all-flags build (configure --enable-promisc
--promisc-mpls), run inside the VM by l2.sh with the module loaded for
IPFIX (exporting to 127.0.0.1:2055):  promisc.py

A probe namespace pmp has two ports in promiscuous mode, each with a
`-t raw -A PREROUTING -i PORT -j NETFLOW` rule:
  pm0  receives a tc mirred copy of what namespace pma sends to pmb (real
       UDP traffic between two other hosts);
  pm1  receives frames crafted in namespace pmx for a MAC that is not
       its own: MPLS-labelled IPv4 and IPv6, and malformed frames of every
       class the receive checks refuse.
The mirrored and MPLS flows must be exported with their exact counts and
label stacks; the malformed frames must be counted as discarded and
metered nowhere; switching promisc off and on under traffic must leave the
kernel log clean (l2.sh reads it).
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nettest as t  # noqa: E402
from collect import Capture, tshark_flow_records  # noqa: E402

WORK = "/tmp/promisc"
os.makedirs(WORK, exist_ok=True)
OTHER = bytes.fromhex("020000009999")  # nobody's MAC
X0 = bytes.fromhex("02000000e101")  # the crafting namespace's port
PAYLOAD = 30
MPLS_DEPTH = 3  # --promisc-mpls without a depth


def batch(cmd, lines):
    """Runs `cmd` with `lines` on its standard input (ip -b -, the
    restore commands): one process where one per line costs under
    emulation."""
    r = subprocess.run(cmd, shell=True, input="\n".join(lines) + "\n", capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd}: {r.returncode} {r.stderr}")


def setup():
    for ns in ("pma", "pmb", "pmp", "pmx"):
        t.sh(f"ip netns del {ns}", check=False)
        t.sh(f"ip netns add {ns}")
        # The senders' own IPv6 (router and neighbour solicitations) would
        # add packets to the counts; the probe keeps it.
        if ns != "pmp":
            t.sh(f"ip netns exec {ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1")
    batch("ip -b -", [
        "link add a0 netns pma address 02:00:00:00:e0:01 type veth peer name b0 netns pmb address 02:00:00:00:e0:02",
        "link add mir0 netns pma type veth peer name pm0 netns pmp",
        "link add x0 netns pmx address 02:00:00:00:e1:01 type veth peer name pm1 netns pmp",
    ])
    # No ARP either way: a0's reply to b0 would be mirrored too (and
    # discarded, not being IP).
    batch("ip -n pma -b -", ["link set lo up", "addr add 10.70.0.1/24 dev a0", "link set a0 up", "link set mir0 up",
                             "neigh add 10.70.0.2 lladdr 02:00:00:00:e0:02 dev a0 nud permanent"])
    batch("ip -n pmb -b -", ["link set lo up", "addr add 10.70.0.2/24 dev b0", "link set b0 up",
                             "neigh add 10.70.0.1 lladdr 02:00:00:00:e0:01 dev b0 nud permanent"])
    batch("ip -n pmx -b -", ["link set lo up", "link set x0 up"])
    batch("ip -n pmp -b -", ["link set lo up", "link set pm0 up promisc on", "link set pm1 up promisc on"])
    rules = ["*raw", "-A PREROUTING -i pm0 -j NETFLOW", "-A PREROUTING -i pm1 -j NETFLOW", "COMMIT"]
    batch("ip netns exec pmp iptables-legacy-restore", rules)
    batch("ip netns exec pmp ip6tables-legacy-restore", rules)
    batch("ip netns exec pma tc -b -", ["qdisc add dev a0 clsact",
                                         "filter add dev a0 egress matchall action mirred egress mirror dev mir0"])


def teardown():
    for ns in ("pma", "pmb", "pmp", "pmx"):
        t.sh(f"ip netns del {ns}", check=False)


def promisc_counts():
    with open("/proc/net/stat/ipt_netflow") as f:
        for line in f:
            if line.startswith("Promisc hack is "):
                words = line.replace("(", " ").replace(")", " ").replace(",", " ").replace(".", " ").split()
                return words[3], int(words[5]), int(words[8])
    return None


def label(value, tc, bottom, ttl):
    return struct.pack("!I", value << 12 | tc << 9 | bottom << 8 | ttl)


def mpls_frame(labels, packet):
    return OTHER + X0 + struct.pack("!H", 0x8847) + b"".join(labels) + packet


def eth(ethertype, payload):
    return OTHER + X0 + struct.pack("!H", ethertype) + payload


def send_frames(frames, count):
    with t.InNetns("pmx"):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind(("x0", 0))
        for f in frames:
            for _ in range(count):
                s.send(f)
        s.close()


def udp_mirrored(sport, n):
    with t.InNetns("pma"):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("10.70.0.1", sport))
        for _ in range(n):
            s.sendto(b"m" * PAYLOAD, ("10.70.0.2", 9))
        s.close()


def first(v):
    return v[0] if isinstance(v, list) else v


def as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def labels_of(rec):
    """The label values of a record's label stack sections, as tshark
    decodes elements 70-79 (each a cflow.mpls_label under its own tree)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "cflow.mpls_label":
                    found.extend(int(x, 0) for x in as_list(v))
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(rec)
    return found


# The frames: MPLS flows (told apart by source port) and malformed ones.
v4 = lambda sport, src="10.80.0.1": t.ipv4(src, "10.80.0.2", 17, t.udp(sport, 9, b"p" * PAYLOAD))  # noqa: E731
v6 = t.ipv6("fd80::1", "fd80::2", 17, t.udp(42203, 9, b"p" * PAYLOAD))
MPLS_FLOWS = [
    dict(sport=42201, labels=[(1001, 0, 0, 64), (2002, 5, 1, 63)], packet=v4(42201)),
    dict(sport=42202, labels=[(3001, 0, 0, 60), (3002, 0, 0, 61), (3003, 0, 0, 62), (3004, 0, 1, 63)],
         packet=v4(42202)),
    dict(sport=42203, labels=[(4001, 7, 1, 255)], packet=v6),
]
bad_csum = bytearray(v4(42290))
bad_csum[10] ^= 0xff
long_len = bytearray(v4(42291))
long_len[2:4] = struct.pack("!H", len(long_len) + 200)
long_len[10:12] = b"\0\0"
long_len[10:12] = struct.pack("!H", t.csum(bytes(long_len[:20])))
short_ihl = bytearray(v4(42292))
short_ihl[0] = 0x44
long6 = bytearray(t.ipv6("fd80::1", "fd80::2", 17, t.udp(42293, 9, b"x")))
long6[4:6] = struct.pack("!H", 1000)
MALFORMED = [
    ("IPv4 checksum wrong", eth(0x0800, bytes(bad_csum))),
    ("IPv4 header cut short", eth(0x0800, v4(42294)[:12])),
    ("IPv4 total length past the frame", eth(0x0800, bytes(long_len))),
    ("IPv4 header length below 5", eth(0x0800, bytes(short_ihl))),
    ("IPv6 payload length past the frame", eth(0x86DD, bytes(long6))),
    ("IPv6 header cut short", eth(0x86DD, v6[:30])),
    ("MPLS stack without bottom running off the frame", mpls_frame([label(5, 0, 0, 9)] * 3, b"")),
    ("MPLS bottom label followed by no IP", mpls_frame([label(5, 0, 1, 9)], b"\x20" * 30)),
    ("not IP (ARP)", eth(0x0806, b"\0" * 28)),
    # The kernel takes the outer tag off itself (a frame whose outer tag is
    # cut short never gets this far); the inner one is ours to read.
    ("inner 802.1Q tag cut short", eth(0x8100, struct.pack("!HH", 10, 0x8100) + b"\0\x0a")),
]
MIRRORED = [dict(sport=42101, packets=4), dict(sport=42102, packets=2)]
REPEAT = 3

t.plan(len(MIRRORED) + len(MPLS_FLOWS) + 8)
setup()
capture = Capture()
capture.start()
# The templates l2.py's flows had are in its capture, not in this one:
# a protocol write sends every template again before its next record.
t.sysctl_write("protocol", 10)
t.eq("promisc is off at load", "0", t.sysctl_read("promisc"))
t.eq("promisc=1 is taken", None, t.sysctl_write("promisc", 1))
before = promisc_counts()
for m in MIRRORED:
    udp_mirrored(m["sport"], m["packets"])
send_frames([mpls_frame([label(*lab) for lab in f["labels"]], f["packet"]) for f in MPLS_FLOWS], REPEAT)
send_frames([frame for _, frame in MALFORMED], REPEAT)
time.sleep(0.5)
after = promisc_counts()
with open("/proc/net/stat/ipt_netflow_flows") as fl:
    flows_then = [line for line in fl if " 10.70.0.1," in line]
sent = sum(m["packets"] for m in MIRRORED) + REPEAT * (len(MPLS_FLOWS) + len(MALFORMED))
t.eq("the /proc line counts every packet for another host as observed and each malformed one as discarded",
     ("enabled", sent, REPEAT * len(MALFORMED)), (after[0], after[1] - before[1], after[2] - before[2]))

# Switching off and on while a sender runs: nothing breaks (the kernel log
# is judged by l2.sh), and packets sent while off are not observed.
stop = threading.Event()


def flood():
    with t.InNetns("pma"):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("10.70.0.1", 42150))
        while not stop.is_set():
            s.sendto(b"f" * PAYLOAD, ("10.70.0.2", 9))
        s.close()


th = threading.Thread(target=flood)
th.start()
switches = []
for _ in range(3):
    switches.append(t.sysctl_write("promisc", 0))
    time.sleep(0.1)
    switches.append(t.sysctl_write("promisc", 1))
    time.sleep(0.1)
switches.append(t.sysctl_write("promisc", 0))
stop.set()
th.join()
t.eq("promisc switched off and on 3 times under traffic", [None] * 7, switches)
off = promisc_counts()
udp_mirrored(42160, 3)
time.sleep(0.3)
t.eq("while off, nothing is observed", off, promisc_counts())
t.eq("the state reads back", ("disabled", "0"), (off[0], t.sysctl_read("promisc")))

t.sysctl_write("flush", 1)
time.sleep(1)
capture.quiet()
capture.stop()
records, _ = tshark_flow_records(WORK, merge_duplicates=True)
by_port = {}
for rec in records:
    by_port.setdefault(int(first(rec["cflow.srcport"])), []).append(rec)
for m in MIRRORED:
    recs = by_port.get(m["sport"], [])
    got = [(int(first(r["cflow.packets"])), int(first(r["cflow.octets"]))) for r in recs]
    t.ok(f"mirrored flow {m['sport']}: metered once, exactly", [(m["packets"], m["packets"] * (28 + PAYLOAD))] == got,
         f"exported: {got}\nin the dump after sending:\n{''.join(flows_then)}")
for f in MPLS_FLOWS:
    recs = by_port.get(f["sport"], [])
    kept = f["labels"][:MPLS_DEPTH]
    want = dict(packets=REPEAT, bytes=REPEAT * len(f["packet"]), ttl=kept[0][3],
                labels=[lab[0] for lab in kept] + [0] * (MPLS_DEPTH - len(kept)))
    got = [dict(packets=int(first(r["cflow.packets"])), bytes=int(first(r["cflow.octets"])),
                ttl=int(first(r.get("cflow.mpls_top_label_ttl", "-1"))), labels=labels_of(r)) for r in recs]
    t.eq(f"MPLS flow {f['sport']}: decapsulated, its label stack (top {MPLS_DEPTH}) exported", [want], got)
malformed_ports = {42290, 42291, 42292, 42293, 42294}
t.eq("no malformed frame was metered", [], sorted(p for p in by_port if p in malformed_ports))
t.ok("the version line has the promisc+mpls tag",
     open("/proc/net/stat/ipt_netflow").readline().rstrip().endswith("; aggr dir mac nel promisc+mpls samp-h snmp vlan"))
teardown()
print(f"# promisc.py done: {t.failed} failed", flush=True)

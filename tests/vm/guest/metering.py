#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Metering tests, run inside the VM by metering.sh after it loaded the
module, built the namespaces and added `-j NETFLOW` to FORWARD in nfr.

Crafted frames enter nfr from nfa and are forwarded to addresses behind
nfb that nobody owns (static neighbour entries), so no replies come back.
"""
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nettest as t  # noqa: E402

SRC4, DST4 = "10.1.0.2", "10.2.0.99"
SRC6, DST6 = "fd01::2", "fd02::99"
IN = t.ifindex("nfr", "nfr0")
OUT = t.ifindex("nfr", "nfr1")
tx = t.FrameSender("nfa", "nfa0", t.mac_of("nfr", "nfr0"))
# Frames sent from one CPU are forwarded on that CPU: pinning the sender
# keeps each flow in one CPU's table (the last part tests several CPUs).
os.sched_setaffinity(0, {0})
# 15 flows of the matrix, two checks each, and 60 other checks.
t.plan(90)

matrix = []


def flow(name, packets, count=1, **expect):
    """Sends `packets` (each `count` times) and records the flow they must make."""
    for p in packets:
        tx.send(p, count)
    expect.setdefault("packets", len(packets) * count)
    expect.setdefault("bytes", sum(len(p) for p in packets) * count)
    matrix.append((name, expect))


def bits(*kinds):
    return sum(1 << (31 - k) for k in kinds)


# --- The traffic matrix --------------------------------------------------
syn_opts = bytes([2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7, 0, 0, 0, 0])
flow("TCP SYN, data, FIN with options",
     [t.ipv4(SRC4, DST4, 6, t.tcp(40000, 80, 0x02, syn_opts)),
      t.ipv4(SRC4, DST4, 6, t.tcp(40000, 80, 0x18, data=b"x" * 100)),
      t.ipv4(SRC4, DST4, 6, t.tcp(40000, 80, 0x11))],
     proto=6, src=SRC4, dst=DST4, sport=40000, dport=80, flags=0x1B, tcpoptions=bits(0, 1, 2, 3, 4, 8))
flow("TCP SYN then RST",
     [t.ipv4(SRC4, DST4, 6, t.tcp(40001, 443, 0x02)), t.ipv4(SRC4, DST4, 6, t.tcp(40001, 443, 0x04))],
     proto=6, src=SRC4, dst=DST4, sport=40001, dport=443, flags=0x06, tcpoptions=0)
flow("UDP with TOS", [t.ipv4(SRC4, DST4, 17, t.udp(5000, 53, b"q" * 100), tos=0x10)], count=10,
     proto=17, src=SRC4, dst=DST4, sport=5000, dport=53, tos=0x10)
flow("ICMP echo", [t.ipv4(SRC4, DST4, 1, struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"p" * 56)], count=3,
     proto=1, src=SRC4, dst=DST4, sport=0, dport=0x0800)
flow("SCTP", [t.ipv4(SRC4, DST4, 132, struct.pack("!HHII", 3868, 3869, 7, 0) + b"\0" * 16)], count=2,
     proto=132, src=SRC4, dst=DST4, sport=3868, dport=3869)
# The SPI's halves as the original splits them on x86: lower as source port.
flow("ESP", [t.ipv4(SRC4, DST4, 50, struct.pack("!II", 0x12345678, 1) + b"e" * 40)], count=2,
     proto=50, src=SRC4, dst=DST4, sport=0x5678, dport=0x1234)
flow("IPv4 options (record route, NOP)",
     [t.ipv4(SRC4, DST4, 17, t.udp(6000, 6001, b"o" * 10), options=bytes([7, 7, 4, 0, 0, 0, 0, 1]))],
     count=2, proto=17, src=SRC4, dst=DST4, sport=6000, dport=6001, options=bits(7, 1))
flow("IPv4 first fragment", [t.ipv4(SRC4, DST4, 17, t.udp(7000, 7001, b"f" * 32), frag=0x2000, ident=77)],
     proto=17, src=SRC4, dst=DST4, sport=7000, dport=7001)
flow("IPv4 later fragment", [t.ipv4(SRC4, DST4, 17, b"g" * 24, frag=5, ident=77)],
     proto=17, src=SRC4, dst=DST4, sport=0, dport=0)
flow("Truncated TCP header", [t.ipv4(SRC4, DST4, 6, struct.pack("!HHI", 41000, 22, 9))],
     proto=6, src=SRC4, dst=DST4, sport=0, dport=0, flags=0)
flow("IPv6 UDP with traffic class and flow label",
     [t.ipv6(SRC6, DST6, 17, t.udp(5000, 5001, b"v" * 60), tclass=0xB8, flow_label=0x12345)], count=4,
     proto=17, src=SRC6, dst=DST6, sport=5000, dport=5001, tos=0xB8, options=0)
flow("ICMPv6 echo", [t.ipv6(SRC6, DST6, 58, struct.pack("!BBHHH", 128, 0, 0, 1, 1) + b"p" * 56)], count=3,
     proto=58, src=SRC6, dst=DST6, sport=0, dport=0x8000)
hbh = bytes([43, 0, 1, 4, 0, 0, 0, 0])                         # PadN, next: routing
rth = bytes([60, 2, 0, 0, 0, 0, 0, 0]) + b"\0" * 16            # type 0, segments left 0
dst_opts = bytes([17, 0, 1, 4, 0, 0, 0, 0])                    # next: UDP
flow("IPv6 hop-by-hop, routing, destination options",
     [t.ipv6(SRC6, DST6, 0, hbh + rth + dst_opts + t.udp(8000, 8001, b"h" * 20))], count=2,
     proto=17, src=SRC6, dst=DST6, sport=8000, dport=8001, options=0x8000 | 0x4000 | 0x0400)
flow("IPv6 first and later fragment",
     [t.ipv6(SRC6, DST6, 44, bytes([17, 0, 0x00, 0x01, 0, 0, 0, 9]) + t.udp(9000, 9001, b"a" * 16)),
      t.ipv6(SRC6, DST6, 44, bytes([17, 0, 0x00, 0x18, 0, 0, 0, 9]) + b"b" * 16)],
     proto=17, src=SRC6, dst=DST6, sport=0, dport=0, options=0x0800 | 0x0200)
flow("IPv6 ESP", [t.ipv6(SRC6, DST6, 50, struct.pack("!II", 0xCAFEF00D, 1) + b"e" * 32)],
     proto=50, src=SRC6, dst=DST6, sport=0xF00D, dport=0xCAFE, options=0x0004)
fragments_sent = 1 + 2

time.sleep(1)
dump = t.flows()
t.eq("the dump holds exactly the flows sent", len(matrix), len(dump))
for name, exp in matrix:
    keys = ("proto", "src", "dst", "sport", "dport")
    found = [f for f in dump if all(f[k] == exp[k] for k in keys)]
    if not t.eq(f"{name}: one flow", 1, len(found)):
        continue
    f = found[0]
    want = dict(exp, i=IN, o=OUT)
    want.setdefault("tos", 0)
    want.setdefault("options", 0)
    got = {k: f[k] for k in want}
    t.eq(f"{name}: fields", want, got)

total = t.total_line()
t.eq("Total packets add up to the flows", sum(e["packets"] for _, e in matrix), total["pkts"])
t.eq("fragments counted", fragments_sent, total["frag"])
t.eq("nothing truncated or dropped", (0, 0), (total["trunc"], total["drop_pkts"]))
t.eq("lookups: every packet found or created its flow",
     sum(e["packets"] for _, e in matrix), total["found"] + total["new"])
t.eq("one new flow per flow", len(matrix), total["new"])

# --- Inactive timeout, FIN/RST, active timeout -----------------------------
def gone_flows(snap):
    """Flow records that left the tables: exported or lost."""
    return int(snap["outFlows"]) + int(snap["lostFlows"])


def gone_packets(snap):
    """Packets in flows that left the tables."""
    return int(snap["inPackets"]) - int(snap["hashPackets"])


# A collector on the default destination (127.0.0.1:2055) counts what arrives.
collector = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
collector.bind(("127.0.0.1", 2055))
collector.settimeout(3)
before = t.snmp()
t.eq("inactive_timeout=2 accepted", None, t.sysctl_write("inactive_timeout", 2))
t.ok("idle flows expire after the inactive timeout", t.wait_for(lambda: not t.flows(), timeout=8))
time.sleep(1.5)  # a partly filled export packet goes out within a second
after = t.snmp()
t.eq("every expired flow left the table once, with all its packets",
     (len(matrix), sum(e["packets"] for _, e in matrix)),
     (gone_flows(after) - gone_flows(before), gone_packets(after) - gone_packets(before)))
t.eq("nothing is left in the hash", ("0", "0", "0"), (after["hashFlows"], after["hashPackets"], after["hashBytes"]))
try:
    pdu = collector.recv(65536)
except socket.timeout:
    pdu = b""
t.ok("an IPFIX packet reached the collector", len(pdu) >= 16 and pdu[:2] == bytes([0, 10]), pdu[:16].hex())
collector.close()
t.eq("the flows were exported, not lost", int(before["lostFlows"]), int(after["lostFlows"]))

tx.send(t.ipv4(SRC4, DST4, 6, t.tcp(42000, 80, 0x02)))
tx.send(t.ipv4(SRC4, DST4, 6, t.tcp(42000, 80, 0x11)))
time.sleep(0.5)
t.ok("a FIN does not expire a flow by itself", any(f["sport"] == 42000 for f in t.flows()))
t.ok("...it goes at the inactive timeout", t.wait_for(lambda: not t.flows(), timeout=8))

t.sysctl_write("inactive_timeout", 60)
t.sysctl_write("active_timeout", 2)
gone0 = gone_packets(t.snmp())
sent = 0
end = time.time() + 4.5
while time.time() < end:
    tx.send(t.ipv4(SRC4, DST4, 17, t.udp(43000, 43001, b"a")))
    sent += 1
    time.sleep(0.25)
time.sleep(0.5)
live = sum(f["packets"] for f in t.flows() if f["sport"] == 43000)
gone = gone_packets(t.snmp()) - gone0
t.ok("an active flow is cut at the active timeout", gone > 0 and live < sent, f"sent {sent}, live {live}, cut {gone}")
t.eq("...without losing a packet", sent, live + gone)
t.sysctl_write("active_timeout", 1800)
t.eq("flush=1 accepted", None, t.sysctl_write("flush", 1))
t.ok("flush empties the table", not t.flows())

# --- maxflows -------------------------------------------------------------
t.sysctl_write("maxflows", 5)
m0 = t.total_line()
for port in range(10):
    tx.send(t.ipv4(SRC4, DST4, 17, t.udp(44000 + port, 53)))
time.sleep(0.5)
m1 = t.total_line()
t.eq("maxflows=5 keeps 5 flows", 5, len(t.flows()))
t.eq("the other 5 are refused and counted", (5, 5), (m1["maxflows"] - m0["maxflows"], m1["drop_pkts"] - m0["drop_pkts"]))
t.sysctl_write("maxflows", 2000000)
t.sysctl_write("flush", 1)

# --- hashsize under traffic -------------------------------------------------
NFLOWS, PER_FLOW = 40, 50
stop = threading.Event()


def sender():
    for _ in range(PER_FLOW):
        for i in range(NFLOWS):
            tx.send(t.ipv4(SRC4, DST4, 17, t.udp(45000 + i, 45000, b"r" * 10)))
        time.sleep(0.02)
    stop.set()


def pinned_sender():
    os.sched_setaffinity(0, {0})
    sender()


th = threading.Thread(target=pinned_sender)
th.start()
sizes = [512, 4096, 300, 65536, 1024]
errors = []
i = 0
while not stop.is_set():
    err = t.sysctl_write("hashsize", sizes[i % len(sizes)])
    if err:
        errors.append(err)
    i += 1
    time.sleep(0.05)
th.join()
time.sleep(0.5)
resized = [f for f in t.flows() if 45000 <= f["sport"] < 45000 + NFLOWS]
t.ok(f"hashsize rewritten {i} times under traffic without error", i > 2 and not errors, errors)
t.eq("no flow lost across resizes", NFLOWS, len(resized))
t.eq("no packet lost across resizes", NFLOWS * PER_FLOW, sum(f["packets"] for f in resized))
last = sizes[(i - 1) % len(sizes)]
shown = int(t.sysctl_read("hashsize"))
t.ok("hashsize reads back the size in force", last <= shown < last + 64, f"wrote {last}, reads {shown}")

# --- Bad writes change nothing ---------------------------------------------
for name, bad in [("hashsize", 10), ("hashsize", "abc"), ("active_timeout", "abc"), ("inactive_timeout", -1),
                  ("scan-min", 0), ("scan-min", 1000), ("maxflows", "xyz"), ("flush", "abc"),
                  ("refresh-rate", -5)]:
    old = t.sysctl_read(name)
    err = t.sysctl_write(name, bad)
    t.eq(f"{name}={bad} is refused", "Invalid argument", err)
    t.eq(f"{name} keeps {old}", old, t.sysctl_read(name))
for name, bad in [("destination", "nonsense"), ("destination", "10.0.0.1:99999"), ("protocol", 7)]:
    old = t.sysctl_read(name)
    t.eq(f"{name}={bad} is refused", "Invalid argument", t.sysctl_write(name, bad))
    t.eq(f"{name} keeps {old}", old, t.sysctl_read(name))
t.eq("destination can be changed", None, t.sysctl_write("destination", "127.0.0.1:2056, [::1]:2057"))
t.eq("...and reads back", "127.0.0.1:2056, [::1]:2057", t.sysctl_read("destination"))
with open("/proc/net/stat/ipt_netflow") as f:
    socks = [line for line in f if line.startswith("sock")]
t.eq("one sock line per destination", 2, len(socks))
t.eq("protocol=9 switches", None, t.sysctl_write("protocol", 9))
t.ok("...and /proc says so", "Protocol version 9 (netflow)" in open("/proc/net/stat/ipt_netflow").read())
t.sysctl_write("protocol", 10)
t.sysctl_write("destination", "127.0.0.1:2055")
t.eq("scan-min=5 is accepted", None, t.sysctl_write("scan-min", 5))
t.eq("scan-min reads 5", "5", t.sysctl_read("scan-min"))
t.eq("the parameter follows the sysctl", "5", open("/sys/module/ipt_NETFLOW/parameters/scan_min").read().strip())
t.sysctl_write("flush", 1)

# --- One flow metered on two CPUs is exported once, with exact totals -----
t.sh("ip netns exec nfr iptables-legacy -D FORWARD -j NETFLOW")
t.sh("ip netns exec nfr ip6tables-legacy -D FORWARD -j NETFLOW")
t.sh("ip netns exec nfa iptables-legacy -A OUTPUT -p udp --dport 9999 -j NETFLOW")
with t.InNetns("nfa"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((SRC4, 9998))
ncpu = os.cpu_count()
sent = 0
for rnd in range(3):
    for cpu in range(ncpu):
        os.sched_setaffinity(0, {cpu})
        for _ in range(5):
            s.sendto(b"m" * 20, (DST4, 9999))
            sent += 1
os.sched_setaffinity(0, set(range(ncpu)))
records = [f for f in t.flows() if f["dport"] == 9999]
t.ok(f"the flow was metered on {ncpu} CPUs", len(records) == ncpu, records)
t.eq("the per-CPU records add up", sent, sum(f["packets"] for f in records))
before = t.snmp()
t.sysctl_write("inactive_timeout", 2)
t.ok("it expires", t.wait_for(lambda: not [f for f in t.flows() if f["dport"] == 9999], timeout=8))
time.sleep(1.5)
after = t.snmp()
t.eq("...as one flow record with every packet",
     (1, sent), (gone_flows(after) - gone_flows(before), gone_packets(after) - gone_packets(before)))
t.sh("ip netns exec nfa iptables-legacy -D OUTPUT -p udp --dport 9999 -j NETFLOW")
t.sysctl_write("inactive_timeout", 15)
print(f"# metering.py done: {t.failed} failed", flush=True)
sys.exit(1 if t.failed else 0)

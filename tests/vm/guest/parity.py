#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""One module's side of the parity suite, run inside the VM by parity.sh:

    parity.py NAME KO OUTDIR

Loads KO (the original C module or ours) once per export protocol (5, 9,
10), sends it the same traffic matrix, and writes what an operator or a
collector would see into OUTDIR/NAME.json: every export datagram, the three
/proc files while the flows are in the table, which rules the module
refuses, and the kernel log lines of each step (load, refused rules,
traffic, flush, a protocol write, unload). parity_compare.py then compares
the two modules' files; this script judges nothing but that each step it
depends on worked (module loads, rules accepted, every flow in the table
and flushed), so that no comparison runs on incomplete input.

parity.sh has built the namespaces (lib.sh's netns_setup and
static_neighbours): frames leave nfa, are forwarded by nfr (where the
NETFLOW rules are) to addresses behind nfb that nobody owns, so nothing
answers and every flow is exactly the frames sent here.
"""
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nettest as t  # noqa: E402

PROTOCOLS = (5, 9, 10)
# Each protocol run ends with a write of the next protocol, so that every
# switch the module makes on a sysctl write is seen once: 5->9, 9->10, 10->5.
NEXT_PROTOCOL = {5: 9, 9: 10, 10: 5}
COLLECTOR = ("127.0.0.1", 2055)
DST4, DST6 = "10.2.0.99", "fd02::99"

# --- the traffic matrix -------------------------------------------------------
# Every entry has a source address of its own, so that its flow record is
# found by its address pair in both exports even where the modules disagree
# on ports or protocol. NetFlow v5 is IPv4 only: its runs leave the IPv6
# entries out.

SYN_OPTIONS = bytes([2, 4, 0x05, 0xB4,          # MSS 1460
                     4, 2,                      # SACK permitted
                     8, 10, 0, 0, 0, 1, 0, 0, 0, 0,  # timestamps
                     1, 3, 3, 7,                # NOP, window scale 7
                     0, 0, 0, 0])               # end of options, padding


def tcp_urg(sport, dport, data):
    """A TCP segment with URG and ACK and an urgent pointer (tcp() has none)."""
    seg = bytearray(t.tcp(sport, dport, 0x30, data=data))
    struct.pack_into("!H", seg, 18, len(data))
    return bytes(seg)


def icmp(kind, code, body):
    return struct.pack("!BBHI", kind, code, 0, 0) + body


def matrix():
    """[(name, source address, packets, copies, flows)]: each of `packets`
    is sent `copies` times, and makes `flows` flow records."""
    s4 = (f"10.1.0.{n}" for n in range(10, 100))
    s6 = (f"fd01::{n:x}" for n in range(0x10, 0x100))
    ip4 = t.ipv4
    ip6 = t.ipv6
    m = []

    def add(name, packets, copies=1, flows=1):
        m.append((name, src, packets, copies, flows))

    src = next(s4)
    add("IPv4 TCP SYN with options", [ip4(src, DST4, 6, t.tcp(40010, 80, 0x02, SYN_OPTIONS))])
    src = next(s4)
    add("IPv4 TCP SYN-ACK", [ip4(src, DST4, 6, t.tcp(80, 40011, 0x12))], copies=2)
    src = next(s4)
    add("IPv4 TCP PSH-ACK with data", [ip4(src, DST4, 6, t.tcp(40012, 443, 0x18, data=b"d" * 200))], copies=3)
    src = next(s4)
    add("IPv4 TCP FIN-ACK", [ip4(src, DST4, 6, t.tcp(40013, 80, 0x11))])
    src = next(s4)
    add("IPv4 TCP RST", [ip4(src, DST4, 6, t.tcp(40014, 80, 0x04))])
    src = next(s4)
    add("IPv4 TCP URG-ACK", [ip4(src, DST4, 6, tcp_urg(40015, 23, b"u" * 3))])
    src = next(s4)
    add("IPv4 TCP SYN, data, FIN (flags add up)",
        [ip4(src, DST4, 6, t.tcp(40016, 8080, 0x02)), ip4(src, DST4, 6, t.tcp(40016, 8080, 0x18, data=b"x" * 50)),
         ip4(src, DST4, 6, t.tcp(40016, 8080, 0x11))])
    src = next(s4)
    add("IPv4 UDP with TOS 0xb9 (DSCP and ECN)", [ip4(src, DST4, 17, t.udp(5000, 53, b"q" * 40), tos=0xB9)],
        copies=4)
    src = next(s4)
    add("IPv4 UDP of several sizes",
        [ip4(src, DST4, 17, t.udp(5001, 5002, b"s" * n)) for n in (1, 100, 1000)])
    src = next(s4)
    add("IPv4 ICMP echo", [ip4(src, DST4, 1, icmp(8, 0, b"p" * 56))], copies=3)
    src = next(s4)
    inner = ip4(DST4, src, 17, t.udp(53, 5003, b""))
    add("IPv4 ICMP port unreachable", [ip4(src, DST4, 1, icmp(3, 3, inner))])
    src = next(s4)
    rr = bytes([7, 7, 4, 0, 0, 0, 0])                  # record route, room for one address
    ts = bytes([68, 12, 5, 0]) + bytes(8)              # timestamps only, room for two
    add("IPv4 options: record route, timestamp, NOP",
        [ip4(src, DST4, 17, t.udp(6000, 6001, b"o" * 10), options=rr + ts + bytes([1]))], copies=2)
    src = next(s4)
    add("IPv4 first fragment", [ip4(src, DST4, 17, t.udp(7000, 7001, b"f" * 32), frag=0x2000, ident=77)])
    src = next(s4)
    add("IPv4 later fragment", [ip4(src, DST4, 17, b"g" * 24, frag=5, ident=77)])
    src = next(s4)
    add("IPv4 truncated TCP header", [ip4(src, DST4, 6, struct.pack("!HHI", 41000, 22, 9))])
    src = next(s4)
    add("IPv4 ESP SPI 0x12345678", [ip4(src, DST4, 50, struct.pack("!II", 0x12345678, 1) + b"e" * 40)], copies=2)
    src = next(s4)
    ah = struct.pack("!BBHII", 17, 4, 0, 0xABCD1234, 1) + bytes(12)   # 24 bytes: hdrlen (24 / 4) - 2
    add("IPv4 AH SPI 0xabcd1234 over UDP", [ip4(src, DST4, 51, ah + t.udp(7100, 7101, b"a" * 8))])
    src = next(s4)
    add("IPv4 SCTP", [ip4(src, DST4, 132, struct.pack("!HHII", 3868, 3869, 7, 0) + bytes(16))], copies=2)
    src = next(s4)
    gre = struct.pack("!HH", 0, 0x0800) + ip4("192.0.2.1", "192.0.2.2", 17, t.udp(1, 2, b"g"))
    add("IPv4 GRE", [ip4(src, DST4, 47, gre)])

    src = next(s6)
    add("IPv6 TCP SYN with options", [ip6(src, DST6, 6, t.tcp(40020, 80, 0x02, SYN_OPTIONS))])
    src = next(s6)
    add("IPv6 TCP RST-ACK", [ip6(src, DST6, 6, t.tcp(40021, 80, 0x14))])
    src = next(s6)
    add("IPv6 TCP URG-PSH-ACK with data", [ip6(src, DST6, 6, t.tcp(40022, 23, 0x38, data=b"w" * 30))], copies=2)
    src = next(s6)
    add("IPv6 UDP, traffic class 0xb8, flow label 0x12345",
        [ip6(src, DST6, 17, t.udp(5000, 5001, b"v" * 60), tclass=0xB8, flow_label=0x12345)], copies=4)
    src = next(s6)
    add("IPv6 UDP, traffic class 0x20, no flow label", [ip6(src, DST6, 17, t.udp(5010, 5011, b"c" * 8), tclass=0x20)])
    src = next(s6)
    add("IPv6 ICMPv6 echo", [ip6(src, DST6, 58, icmp(128, 0, b"p" * 56))], copies=3)
    src = next(s6)
    inner6 = ip6(DST6, src, 17, t.udp(53, 5012, b""))
    add("IPv6 ICMPv6 port unreachable", [ip6(src, DST6, 58, icmp(1, 4, inner6))])
    src = next(s6)
    hbh = bytes([43, 0, 1, 4, 0, 0, 0, 0])                  # PadN; next: routing
    rth = bytes([60, 2, 0, 0, 0, 0, 0, 0]) + bytes(16)      # type 0, segments left 0; next: dest options
    dst_opts = bytes([17, 0, 1, 4, 0, 0, 0, 0])             # PadN; next: UDP
    add("IPv6 hop-by-hop, routing, destination options",
        [ip6(src, DST6, 0, hbh + rth + dst_opts + t.udp(8000, 8001, b"h" * 20))], copies=2)
    src = next(s6)
    first = bytes([17, 0, 0x00, 0x01, 0, 0, 0, 9])    # next UDP, offset 0, more fragments, id 9
    later = bytes([17, 0, 0x00, 0x18, 0, 0, 0, 9])    # offset 3 (24 bytes), the last
    add("IPv6 first fragment", [ip6(src, DST6, 44, first + t.udp(9000, 9001, b"a" * 16))])
    src = next(s6)
    add("IPv6 later fragment", [ip6(src, DST6, 44, later + b"b" * 16)])
    src = next(s6)
    # Its fragment header names a destination options header as next; the
    # payload of a later fragment is not that header (bytes that would read
    # as one: next UDP, length 8).
    add("IPv6 later fragment after which a destination options header is named",
        [ip6(src, DST6, 44, bytes([60, 0, 0x00, 0x18, 0, 0, 0, 10]) + bytes([17, 0, 1, 4, 0, 0, 0, 0]) + b"z" * 8)])
    src = next(s6)
    add("IPv6 ESP SPI 0x12345678", [ip6(src, DST6, 50, struct.pack("!II", 0x12345678, 1) + b"e" * 32)], copies=2)
    src = next(s6)
    add("IPv6 AH SPI 0xabcd1234 over UDP", [ip6(src, DST6, 51, ah + t.udp(7200, 7201, b"a" * 8))])
    src = next(s6)
    add("IPv6 SCTP", [ip6(src, DST6, 132, struct.pack("!HHII", 3870, 3871, 7, 0) + bytes(16))])
    return m


# Strict source route (option 137): the kernel drops it before FORWARD (the
# route is not local), so a raw PREROUTING rule for its source alone meters
# it, before routing (no output interface).
SSR_SRC = "10.1.0.99"


def ssr_packet():
    ssr = bytes([137, 11, 12]) + socket.inet_aton("10.2.0.98") + socket.inet_aton(DST4)  # route used up
    return t.ipv4(SSR_SRC, DST4, 17, t.udp(6100, 6101, b"r" * 4), options=ssr + bytes([1]))


# --- what an operator and a collector see -------------------------------------

class KernelLog:
    """The kernel log from now on, read from /dev/kmsg without clearing it
    (lib.sh's checks at the end of the suite read the same lines)."""

    def __init__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)

    def take(self):
        """The records since the last call, as "LEVEL: text"."""
        names = ["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"]
        lines = []
        while True:
            try:
                rec = os.read(self.fd, 8192).decode(errors="replace")
            except BlockingIOError:
                break
            except BrokenPipeError:  # overwritten before we read it: say so
                lines.append("(kernel log records lost)")
                continue
            head, _, text = rec.partition(";")
            level = int(head.split(",")[0]) & 7
            lines.append(f"{names[level]}: {text.splitlines()[0] if text else ''}")
        return lines


class Collector:
    """127.0.0.1:2055; datagrams queue in its socket until drained."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(COLLECTOR)

    def drain(self, quiet=1.5):
        """Every datagram until none came for `quiet` seconds."""
        out = []
        self.sock.settimeout(quiet)
        while True:
            try:
                out.append(self.sock.recv(65536))
            except socket.timeout:
                return out

    def close(self):
        self.sock.close()


def read(path):
    with open(path) as f:
        return f.read()


def nfr(cmd):
    return t.sh(f"ip netns exec nfr {cmd}", check=False)


PROC_FILES = ("ipt_netflow", "ipt_netflow_snmp", "ipt_netflow_flows")
# The kernel log is read after each of these steps (parity_compare.py
# compares them in this order).
LOG_STEPS = ("load", "rules", "traffic", "flush", "protocol", "unload")
RULES4 = ["FORWARD -j NETFLOW", f"PREROUTING -t raw -s {SSR_SRC} -j NETFLOW"]
RULES6 = ["FORWARD -j NETFLOW"]
# Rules the module's check refuses, each with a kernel log line: the nat
# table (one packet per connection), and IPv6 under NetFlow v5.
REFUSED = ["iptables-legacy -t nat -A POSTROUTING -j NETFLOW"]
REFUSED5 = ["ip6tables-legacy -A FORWARD -j NETFLOW"]


def run(name, ko, proto, tx, log, steps):
    """One load of `ko` exporting `proto`, traffic sent with `tx`; returns
    what it saw (empty where a step failed)."""
    res = dict(protocol=proto, sent_flows=0, datagrams=[], refused=[],
               proc={f: "" for f in PROC_FILES}, log={s: [] for s in LOG_STEPS})
    col = Collector()
    # The guest's clocks at the load: exported times are compared as times
    # since it (parity_compare.py's CLOSE).
    res["t0"] = dict(wall=time.time(), uptime=time.clock_gettime(time.CLOCK_BOOTTIME))
    took = {}

    def take(step):
        """The kernel log lines of `step`, which ends now."""
        res["log"][step] = log.take()
        took[step] = time.time() - res["t0"]["wall"]

    r = t.sh(f"insmod {ko} protocol={proto} destination={COLLECTOR[0]}:{COLLECTOR[1]} "
             "inactive_timeout=600 active_timeout=1800", check=False)
    steps.append((f"{name} v{proto}: insmod", r.returncode == 0, r.stderr))
    if r.returncode != 0:
        col.close()
        return res
    bad = [c for c in RULES4 if nfr(f"iptables-legacy -A {c}").returncode != 0]
    if proto != 5:
        bad += [c for c in RULES6 if nfr(f"ip6tables-legacy -A {c}").returncode != 0]
    steps.append((f"{name} v{proto}: NETFLOW rules accepted", not bad, bad))
    # The load's lines: insmod, the rules, and whatever the module printed
    # until its first export work ran.
    time.sleep(1)
    take("load")
    for cmd in REFUSED + (REFUSED5 if proto == 5 else []):
        r = nfr(cmd)
        res["refused"].append(f"{cmd}: {'refused' if r.returncode else 'accepted'}")
        if r.returncode == 0:
            nfr(cmd.replace(" -A ", " -D "))
    take("rules")

    sent = 0
    for _, _, packets, copies, flows in matrix():
        if proto == 5 and packets[0][0] >> 4 == 6:
            continue
        for p in packets:
            tx.send(p, copies)
        sent += flows
    tx.send(ssr_packet())
    sent += 1
    res["sent_flows"] = sent
    time.sleep(1)
    res["proc"] = {f: read(f"/proc/net/stat/{f}") for f in PROC_FILES}
    in_table = len([x for x in res["proc"]["ipt_netflow_flows"].splitlines() if not x.startswith("#")])
    take("traffic")

    err = t.sysctl_write("flush", 1)
    steps.append((f"{name} v{proto}: flush accepted", err is None, err))
    res["datagrams"] = [d.hex() for d in col.drain()]
    col.close()
    take("flush")
    left = len([x for x in read("/proc/net/stat/ipt_netflow_flows").splitlines() if not x.startswith("#")])
    steps.append((f"{name} v{proto}: {sent} flows in the table, none after the flush", (in_table, left) == (sent, 0),
                  f"in the table: {in_table}, after the flush: {left}"))

    err = t.sysctl_write("protocol", NEXT_PROTOCOL[proto])
    steps.append((f"{name} v{proto}: protocol={NEXT_PROTOCOL[proto]} accepted", err is None, err))
    time.sleep(0.5)
    take("protocol")

    for c in RULES4:
        nfr(f"iptables-legacy -D {c}")
    if proto != 5:
        for c in RULES6:
            nfr(f"ip6tables-legacy -D {c}")
    r = t.sh("rmmod ipt_NETFLOW", check=False)
    steps.append((f"{name} v{proto}: rmmod", r.returncode == 0, r.stderr))
    time.sleep(0.5)
    take("unload")
    print(f"# {name} v{proto}: steps ended after (s) " + ", ".join(f"{k} {v:.1f}" for k, v in took.items()),
          flush=True)
    return res


if __name__ == "__main__":
    NAME, KO, OUT = sys.argv[1:4]
    # One check per step below, per protocol: insmod, rules, flush, flows in
    # the table, protocol write, rmmod.
    t.plan(6 * len(PROTOCOLS))
    # Every flow on one CPU: one table, one record per flow in both modules.
    os.sched_setaffinity(0, {0})
    tx = t.FrameSender("nfa", "nfa0", t.mac_of("nfr", "nfr0"))
    kmsg = KernelLog()
    steps = []
    subjects = {src: name for name, src, *_ in matrix()}
    subjects[SSR_SRC] = "IPv4 strict source route option, metered in raw PREROUTING"
    result = dict(name=NAME, ko=KO, subjects=subjects, runs=[run(NAME, KO, p, tx, kmsg, steps) for p in PROTOCOLS])
    with open(os.path.join(OUT, f"{NAME}.json"), "w") as f:
        json.dump(result, f, indent=1)
    for what, good, detail in steps:
        t.ok(what, good, detail)
    print(f"# parity.py {NAME} done: {t.failed} failed", flush=True)
    sys.exit(1 if t.failed else 0)

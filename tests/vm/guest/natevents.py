#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""NAT events end to end, run inside the VM by natevents.sh:
  natevents.py BUILD_DIR

nfr masquerades what leaves towards nfb and DNATs its port 8080 to
10.2.0.2:80 (natevents.sh). The module, loaded with natevents=1 after the
namespaces exist and with conntrack events at the kernel's default (no
listener), exports to 127.0.0.1:2055 (a capture decoded by tshark) and
127.0.0.1:2056 (nfdump's nfcapd). Checked:
  - IPFIX, v9: one create event per connection (TCP, UDP, ICMP echo
    masqueraded; TCP DNATed) with its pre- and post-NAT addresses and ports,
    and one delete event each after `conntrack -F`; nfdump shows the IPFIX
    ones the same;
  - v5: the pseudo-records (SNAT: next hop and source AS from the
    translated source; DNAT: next hop and destination AS from the original
    destination; SYN|ACK on create, FIN|RST on delete);
  - `conntrack -E` running at the same time sees the events too;
  - a namespace created after the module: its events arrive; deleting it
    with live NAT entries reports their deletion;
  - natevents switched 1 -> 0 -> 1 under a flood of new connections;
  - a flood of new connections against a small queue (natevents_rcvbuf):
    the events taken plus the ones counted lost are every connection made,
    and every one taken is exported; rmmod with events queued.
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
from collect import Capture, Nfcapd, utc_seconds, write_pcap  # noqa: E402

BUILD = sys.argv[1]
t.plan(31)
WORK = "/tmp/natevents"
t.sh(f"rm -rf {WORK} && mkdir -p {WORK}")
KO = f"{BUILD}/ipt_NETFLOW.ko"
CREATE, DELETE = 1, 2
# A: nfa's address that nfr masquerades; A2: its address that nfr does not.
A, A2, R_IN, R_OUT, B = "10.1.0.2", "10.1.0.3", "10.1.0.1", "10.2.0.1", "10.2.0.2"


def natevents_line():
    with open("/proc/net/stat/ipt_netflow") as f:
        return next((ln.strip() for ln in f if ln.startswith("Natevents")), "")


def nat_counts():
    """(start, stop, lost) from the Natevents line."""
    words = natevents_line().replace(",", " ").replace(".", " ").split()
    get = (lambda k: int(words[words.index(k) + 1]) if k in words else -1)
    return get("start"), get("stop"), get("lost")


# --- traffic ---------------------------------------------------------------


def tcp_server():
    with t.InNetns("nfb"):
        srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((B, 80))
    srv.listen(64)

    def serve():
        while True:
            c, _ = srv.accept()
            c.close()
    threading.Thread(target=serve, daemon=True).start()


def tcp_connect(sport, dst, dport, src=A):
    with t.InNetns("nfa"):
        s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, sport))
    s.settimeout(5)
    s.connect((dst, dport))
    s.close()


def udp_send(ns, src, sport, dst, dport):
    with t.InNetns(ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, sport))
    s.sendto(b"nat", (dst, dport))
    s.close()


def icmp_echo(ident):
    with t.InNetns("nfa"):
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    body = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"natevents"
    s.sendto(body[:2] + struct.pack("!H", t.csum(body)) + body[4:], (B, 0))
    s.settimeout(5)
    s.recv(1500)
    s.close()


def connections(port):
    """Four translated connections; returns their expected events as
    (proto, pre, post) with pre/post = (src, sport, dst, dport)."""
    tcp_connect(port, B, 80)
    udp_send("nfa", A, port + 1, B, 53)
    icmp_echo(port + 2)
    tcp_connect(port + 3, R_IN, 8080, src=A2)
    udp_send("nfa", A, port + 4, B, 5353)
    time.sleep(0.5)
    return [
        (6, (A, port, B, 80), (R_OUT, port, B, 80)),
        (17, (A, port + 1, B, 53), (R_OUT, port + 1, B, 53)),
        # ICMP: id and type/code where conntrack keeps them (the reply is
        # an echo reply, type 0).
        (1, (A, port + 2, B, 8 << 8), (R_OUT, 0, B, port + 2)),
        (6, (A2, port + 3, R_IN, 8080), (A2, port + 3, B, 80)),
        # SNAT --to-source 10.2.0.1:6000.
        (17, (A, port + 4, B, 5353), (R_OUT, 6000, B, 5353)),
    ]


# --- decoding ---------------------------------------------------------------

CAPTURE = Capture()
CAPTURE.start()
NFCAPD = Nfcapd(WORK)
NFCAPD.start()

NEL_FIELDS = ["cflow.nat_event", "cflow.protocol", "cflow.srcaddr", "cflow.srcport", "cflow.dstaddr",
              "cflow.dstport", "cflow.post_natsource_ipv4_address", "cflow.post_naptsource_transport_port",
              "cflow.post_natdestination_ipv4_address", "cflow.post_naptdestination_transport_port", "cflow.observation_time_milliseconds"]
V5_FIELDS = ["cflow.protocol", "cflow.srcaddr", "cflow.srcport", "cflow.dstaddr", "cflow.dstport",
             "cflow.nexthop", "cflow.srcas", "cflow.dstas", "cflow.tcpflags", "cflow.packets", "cflow.octets"]


def tshark_records(datagrams, fields):
    """tshark's decoding of every record that has all `fields`, as tuples
    of their text values."""
    path = f"{WORK}/cap-{time.time_ns()}.pcap"
    write_pcap(datagrams, path)
    args = " ".join(f"-e {f}" for f in fields)
    r = t.sh(f"TZ=UTC tshark -n -r {path} -d udp.port==2055,cflow -T fields -E occurrence=a "
             f"-E aggregator=';' -E separator='|' {args}", check=False)
    out = []
    for line in r.stdout.splitlines():
        cols = [c.split(";") for c in line.split("|")]
        if len(cols) != len(fields) or not cols[0][0]:
            continue
        n = min(len(c) for c in cols)
        if any(len(c) != n for c in cols):
            t.ok("tshark gives every field of every record", False, line)
            continue
        out.extend(tuple(c[i] for c in cols) for i in range(n))
    return out


def nel_events(datagrams, with_time=False):
    """(event, proto, pre, post) per NAT event record, with tshark's values,
    and its observation time (seconds since the epoch) if `with_time`."""
    out = []
    for r in tshark_records(datagrams, NEL_FIELDS):
        ev, proto, sa, sp, da, dp, xsa, xsp, xda, xdp, when = r
        e = (int(ev), int(proto), (sa, int(sp), da, int(dp)), (xsa, int(xsp), xda, int(xdp)))
        out.append(e + (utc_seconds(when.replace(" UTC", ""), "%b %d, %Y %H:%M:%S.%f"),) if with_time else e)
    return out


def phase(run):
    """Runs `run`, then exports everything now; returns every datagram so
    far (a phase's data records need the templates sent before it; each
    phase's connections have ports of their own) and `run`'s result."""
    result = run()
    t.sysctl_write("flush", 1)
    CAPTURE.last = time.time()
    CAPTURE.quiet(1.5)
    return list(CAPTURE.datagrams), result


def expect_events(name, got, expected, kind):
    want = sorted((kind, p, pre, post) for p, pre, post in expected)
    have = sorted(e for e in got if e[0] == kind and any(e[2] == x[1] for x in expected))
    return t.eq(name, want, have)


# --- load with natevents=1 (the namespaces exist already) --------------------

t.eq("conntrack events at the kernel's default in nfr", "2",
     t.sh("ip netns exec nfr sysctl -n net.netfilter.nf_conntrack_events").stdout.strip())
t.sh(f"insmod {KO} protocol=10 destination=127.0.0.1:2055,127.0.0.1:2056 natevents=1")
t.eq("natevents=1 at load reads back", "1", t.sysctl_read("natevents"))
t.ok("/proc shows natevents enabled", natevents_line().startswith("Natevents enabled, count start 0, stop 0, lost 0"),
     natevents_line())
t.ok("version line has the nel tag", " nel " in open("/proc/net/stat/ipt_netflow").readline())
tcp_server()

ALL_IPFIX = []
for proto, base in ((10, 41000), (9, 42000)):
    t.sysctl_write("protocol", proto)
    t0 = time.time()
    d1, expected = phase(lambda: connections(base))
    t1 = time.time()
    d2, _ = phase(lambda: t.sh("ip netns exec nfr conntrack -F"))
    t2 = time.time()
    got = nel_events(d2, with_time=True)
    expect_events(f"v{proto}: tshark decodes one create event per connection", [e[:4] for e in got], expected, CREATE)
    expect_events(f"v{proto}: one delete event per connection after conntrack -F", [e[:4] for e in got], expected,
                  DELETE)
    # A create is stamped when the module reads it (within a scanner
    # interval), a delete by conntrack's clock if it keeps timestamps.
    late = [(e[0], e[2], round(e[4] - t0, 3)) for e in got if any(e[2] == x[1] for x in expected)
            and not (t0 - 0.01 <= e[4] <= (t1 if e[0] == CREATE else t2) + 0.01)]
    t.eq(f"v{proto}: each event's observation time is within its phase "
         f"(creates {t1 - t0:.1f} s, deletes {t2 - t1:.1f} s)", [], late)
    if proto == 10:
        ALL_IPFIX = expected

# v5: the pseudo-records.
t.sysctl_write("protocol", 5)
at = len(CAPTURE.datagrams)
d1, expected = phase(lambda: connections(43000))
d2, _ = phase(lambda: t.sh("ip netns exec nfr conntrack -F"))
d1, d2 = d1[at:], d2[len(d1):]
for datagrams, flags, what in ((d1, "0x12", "create"), (d2, "0x05", "delete")):
    recs = tshark_records(datagrams, V5_FIELDS)
    want = []
    for proto, pre, post in expected:
        if pre[0] != post[0] or pre[1] != post[1]:
            want.append((str(proto), pre[0], str(pre[1]), post[2], str(post[3]), post[0], str(post[1]), "0"))
        if pre[2] != post[2] or pre[3] != post[3]:
            want.append((str(proto), pre[0], str(pre[1]), post[2], str(post[3]), pre[2], "0", str(pre[3])))
    have = [r[:8] for r in recs if r[1] in (A, A2) and int(r[2]) in {e[1][1] for e in expected}]
    t.eq(f"v5: the {what} pseudo-records (next hop and AS from the translation)", sorted(want), sorted(have))
    t.eq(f"v5: {what} pseudo-records carry TCP flags {flags}, no packets or bytes",
         {(int(flags, 16), 0, 0)}, {(int(r[8], 16), int(r[9]), int(r[10])) for r in recs if r[1] in (A, A2)})

# nfdump read the IPFIX phase the same way (but for ICMP, whose type and
# code nfdump takes from elsewhere than these records: tshark checked them).
NFCAPD.stop()
rows = []
for f in sorted(__import__("glob").glob(f"{WORK}/nfcapd/nfcapd.2*")):
    r = t.sh(f"nfdump -r {f} -q -N -o 'fmt:%nevt|%pr|%sa|%sp|%da|%dp|%xsa|%xsp|%xda|%xdp'", check=False)
    rows += [[c.strip() for c in ln.split("|")] for ln in r.stdout.splitlines() if ln.count("|") == 9]
for kind, name in ((CREATE, "ADD"), (DELETE, "DELETE")):
    missing = []
    for proto, pre, post in ALL_IPFIX:
        if proto == 1:
            continue
        key = [name, str(proto), pre[0], str(pre[1]), pre[2], str(pre[3]), post[0], str(post[1]), post[2], str(post[3])]
        if key not in rows:
            missing.append("|".join(key))
    if not t.eq(f"nfdump shows each IPFIX {name} event with its translation", [], missing):
        print("    " + "\n    ".join("|".join(r) for r in rows if r[1] == "1"), flush=True)

# --- conntrack -E at the same time --------------------------------------------
t.sysctl_write("protocol", 10)
listener = subprocess.Popen("exec ip netns exec nfr conntrack -E -e NEW,DESTROY -p udp", shell=True,
                            stdout=open(f"{WORK}/conntrack-E.txt", "w"), stderr=subprocess.STDOUT)


def ct_listeners():
    """Sockets in nfr subscribed to conntrack's new and destroy groups
    (ours and conntrack -E's)."""
    rows = t.sh("ip netns exec nfr cat /proc/net/netlink").stdout.splitlines()[1:]
    return sum(1 for r in rows if r.split()[1] == "12" and int(r.split()[3], 16) & 5 == 5)


# conntrack -E starts slowly under emulation: go once it listens.
t.wait_for(lambda: ct_listeners() >= 2, timeout=60)
d, _ = phase(lambda: (udp_send("nfa", A, 44000, B, 53), time.sleep(0.3),
                      t.sh("ip netns exec nfr conntrack -F")))
time.sleep(0.5)
listener.terminate()
listener.wait()
seen = open(f"{WORK}/conntrack-E.txt").read()
t.ok("conntrack -E running alongside sees the new and destroy events",
     "[NEW]" in seen and "[DESTROY]" in seen and "sport=44000" in seen, seen)
kinds = sorted(e[0] for e in nel_events(d) if e[2][1] == 44000)
t.eq("...and the module exports both as well", [CREATE, DELETE], kinds)

# --- a namespace created after the module --------------------------------------
for cmd in ("ip netns add nfl", "ip -n nfl link set lo up", "ip -n nfl link add d0 type dummy",
            "ip -n nfl addr add 192.0.2.1/24 dev d0", "ip -n nfl link set d0 up",
            "ip netns exec nfl iptables -t nat -A OUTPUT -p udp -d 192.0.2.99 -j DNAT --to-destination 192.0.2.50"):
    t.sh(cmd)
d, _ = phase(lambda: udp_send("nfl", "192.0.2.1", 45000, "192.0.2.99", 7))
t.eq("a namespace created after modprobe: its NAT event arrives",
     [(CREATE, 17, ("192.0.2.1", 45000, "192.0.2.99", 7), ("192.0.2.1", 45000, "192.0.2.50", 7))],
     [e for e in nel_events(d) if e[2][1] == 45000])
udp_send("nfl", "192.0.2.1", 45001, "192.0.2.99", 7)
start0, stop0, _ = nat_counts()
# The kernel tears a namespace down from a work item, after RCU grace
# periods: tens of seconds on the debug kernel under emulation.
t.sh("ip netns del nfl")
t.ok("deleting the namespace with two live NAT entries reports them deleted",
     t.wait_for(lambda: nat_counts()[1] >= stop0 + 2, timeout=120), natevents_line())
t.sysctl_write("flush", 1)
CAPTURE.last = time.time()
CAPTURE.quiet(1.5)
gone = sorted((e[0], e[2][1]) for e in nel_events(CAPTURE.datagrams) if e[2][0] == "192.0.2.1" and e[0] == DELETE)
t.eq("...and exports their delete events", [(DELETE, 45000), (DELETE, 45001)], gone)

# --- switching under a flood of new connections -------------------------------
t.sh("ip netns exec nfr sysctl -qw net.ipv4.ip_forward=1")
mac = t.mac_of("nfb", "nfb0")
t.sh(f"ip -n nfr neigh replace 10.2.0.99 lladdr {mac.hex(':')} dev nfr1 nud permanent")
tx = t.FrameSender("nfa", "nfa0", t.mac_of("nfr", "nfr0"))


def flood(n, first):
    """`n` new UDP connections (one packet each), all masqueraded: number
    `first + i` goes from source port 1024 + (first + i) % 60000 to
    10.2.0.99, port 1000 + (first + i) // 30000, so that no two need the
    same translation."""
    for i in range(n):
        k = first + i
        tx.send(t.ipv4(f"10.1.{k // 60000}.{2 + (k // 250) % 200}", "10.2.0.99", 17,
                       t.udp(1024 + k % 60000, 1000 + k // 30000, b"f")))


def inserted():
    """Conntrack entries inserted in nfr so far (conntrack -S)."""
    out = t.sh("ip netns exec nfr conntrack -S").stdout
    return sum(int(w.split("=")[1]) for w in out.split() if w.startswith("insert="))


stop = threading.Event()


def background():
    n = 0
    while not stop.is_set():
        flood(200, 100000 + n)
        n += 200


th = threading.Thread(target=background)
th.start()
errors = []
for i in range(6):
    for v in (0, 1):
        e = t.sysctl_write("natevents", v)
        if e:
            errors.append((v, e))
        time.sleep(0.1)
stop.set()
th.join()
t.eq("natevents 1 -> 0 -> 1 six times under a connection flood: every write succeeds", [], errors)
t.eq("...and it ends enabled", "1", t.sysctl_read("natevents"))
t.ok("...the module keeps working", "Natevents enabled" in natevents_line(), natevents_line())

# --- a flood against a small queue --------------------------------------------
t.sh("ip netns exec nfr conntrack -F")
t.sh("rmmod ipt_NETFLOW")
CAPTURE.quiet(1.0)
t.sh(f"insmod {KO} protocol=10 destination=127.0.0.1:2055 natevents=1 natevents_rcvbuf=16384")
t.sh("sysctl -qw net.netfilter.nf_conntrack_max=262144")
# No entry may expire (and report its deletion) while the flood runs.
t.sh("ip netns exec nfr sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600")
t.ok("natevents_rcvbuf reads back", open("/sys/module/ipt_NETFLOW/parameters/natevents_rcvbuf").read().strip() == "16384")
# 100k connections take about 10 s on 6.12 and Debian's 7.3, and five
# minutes on the debug kernel under emulation, where a fifth of them meets
# the bound as surely.
N = 20000 if os.environ.get("NF_DEBUG_KERNEL") == "1" else 100000
at = len(CAPTURE.datagrams)
began = time.time()
d, _ = phase(lambda: flood(N, 200000))
print(f"# flood of {N} connections and its export: {time.time() - began:.1f} s", flush=True)
d = d[at:]  # the module was loaded again: these carry their templates
made = int(t.sh("ip netns exec nfr conntrack -C").stdout.strip())
start, stop_, lost = nat_counts()
t.eq(f"{N} new connections made as many conntrack entries", N, made)
t.eq("events taken plus events counted lost are every connection made", made, start + lost)
t.ok("the small queue did overflow (the bound was met)", lost > 0, natevents_line())
creates = [e for e in nel_events(d) if e[0] == CREATE and e[2][2] == "10.2.0.99"]
t.eq("...and none was reported deleted", stop_, 0)
t.eq("every event taken was exported", start, len(creates))
# rmmod while events are queued: no report (checked by the suite), clean exit.
flood(2000, 400000)
t.ok("rmmod with events queued", t.sh("rmmod ipt_NETFLOW", check=False).returncode == 0)
CAPTURE.stop()
print("# natevents.py done", flush=True)


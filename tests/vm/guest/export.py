#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Export tests, run inside the VM by export.sh: the module exports IPFIX
to two destinations, 127.0.0.1:2055 (a collector here) and
127.0.0.1:2056 (a second collector at first, then nobody listening)."""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nettest as t  # noqa: E402
from ipfix import IpfixDecoder  # noqa: E402

t.plan(24)
os.sched_setaffinity(0, {0})
SRC_NET, DST4 = "10.1.0.", "10.2.0.99"
tx = t.FrameSender("nfa", "nfa0", t.mac_of("nfr", "nfr0"))
collector = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
collector.bind(("127.0.0.1", 2055))
collector.settimeout(2)
# The second destination listens for the first part only.
second = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
second.bind(("127.0.0.1", 2056))
second.setblocking(False)
decoder = IpfixDecoder()
# The collector starts after the module: the first number it sees is where
# it starts checking.
expected_seq = None
seq_ok = True


messages = 0


def receive():
    """Every record that arrives until the collector is quiet."""
    global expected_seq, seq_ok, messages
    records = []
    while True:
        try:
            msg = collector.recv(65536)
        except socket.timeout:
            return records
        messages += 1
        header, recs = decoder.decode(msg)
        if expected_seq is not None and header["sequence"] != expected_seq:
            seq_ok = False
        expected_seq = header["sequence"] + header["data_records"]
        records += recs


def send_flows(first, count, packets, size):
    for i in range(first, first + count):
        for _ in range(packets):
            tx.send(t.ipv4(f"{SRC_NET}{2 + i // 250}", DST4, 17, t.udp(20000 + i, 9999, b"x" * size)))


def ours(records, first, count):
    want = set(range(20000 + first, 20000 + first + count))
    return [r for r in records if 7 in r and struct.unpack("!H", r[7])[0] in want]


def drain(sock):
    """How many datagrams wait in a non-blocking socket."""
    n = 0
    while True:
        try:
            sock.recv(65536)
        except BlockingIOError:
            return n
        n += 1


receive()  # what the module sent at load (options records)
drain(second)
snmp0, messages0 = t.snmp(), messages
send_flows(0, 50, 2, 100)
time.sleep(0.5)
t.eq("flush=1 accepted", None, t.sysctl_write("flush", 1))
got = ours(receive(), 0, 50)
snmp1 = t.snmp()
to_first, to_second = messages - messages0, drain(second)
second.close()
t.ok("both destinations receive every export packet", to_first == to_second > 0, (to_first, to_second))
t.eq("exports counted once per destination (outPackets)", to_first + to_second,
     int(snmp1["outPackets"]) - int(snmp0["outPackets"]))
t.eq("every flow reaches the collector once", 50, len(got))
t.ok("with its packets and bytes",
     all(struct.unpack("!I", r[2])[0] == 2 and struct.unpack("!I", r[1])[0] == 2 * (28 + 100) for r in got))
t.ok("forced end reason (4) after a flush", all(r[136] == b"\x04" for r in got))
t.ok("IPFIX sequence numbers count data records without gaps", seq_ok)



def cberr():
    """Each destination's count of errors reported back (ICMP)."""
    with open("/proc/net/stat/ipt_netflow") as f:
        socks = [line.strip() for line in f if line.startswith("sock")]
    return [int(s.split("cberr ")[1].split(",")[0]) if "cberr " in s else -1 for s in socks]


errs0 = cberr()
t.eq("two destinations", 2, len(errs0))
send_flows(50, 5, 1, 100)
time.sleep(0.5)
t.sysctl_write("flush", 1)
receive()
errs1 = cberr()
t.ok("the dead destination's error counter moves, the live one's does not",
     len(errs1) == 2 and errs1[0] == errs0[0] and errs1[1] > errs0[1], (errs0, errs1))

# sndbuf: every socket's buffer, kept; bad input refused.
t.eq("sndbuf=100000 accepted", None, t.sysctl_write("sndbuf", 100000))
t.eq("sndbuf reads back", "100000", t.sysctl_read("sndbuf"))
with open("/proc/net/stat/ipt_netflow") as f:
    socks = [line for line in f if line.startswith("sock")]
t.ok("every socket has the new buffer size", all("sndbuf 100000," in s for s in socks), socks)
t.eq("sndbuf=abc refused", "Invalid argument", t.sysctl_write("sndbuf", "abc"))
t.eq("sndbuf=-5 refused", "Invalid argument", t.sysctl_write("sndbuf", -5))
t.eq("...and the value stays", "100000", t.sysctl_read("sndbuf"))
t.sysctl_write("sndbuf", 1)
t.ok("a tiny sndbuf is raised to the kernel's minimum", 2048 < int(t.sysctl_read("sndbuf")) < 100000,
     t.sysctl_read("sndbuf"))
t.sysctl_write("sndbuf", 212992)

# exportcpu: the scanner runs on the CPU asked for; an offline one is refused.
EXPORTCPU = "/sys/module/ipt_NETFLOW/parameters/exportcpu"


def scan_cpu():
    with open("/proc/net/stat/ipt_netflow") as f:
        line = [x for x in f if x.startswith("Flows:")][0]
    return int(line.split("[cpu")[1].split("]")[0])


for cpu in (1, 0):
    with open(EXPORTCPU, "w") as f:
        f.write(f"{cpu}\n")
    time.sleep(1)
    seen = set()
    for _ in range(5):
        seen.add(scan_cpu())
        time.sleep(0.3)
    t.eq(f"exportcpu={cpu}: the scanner runs on CPU {cpu}", {cpu}, seen)
with open(EXPORTCPU, "w") as f:
    f.write("7\n")
t.ok("exportcpu=7 (no such CPU): the lock is dropped", t.wait_for(lambda: open(EXPORTCPU).read().strip() == "-1"))
t.ok("...with the original's message",
     "can't schedule exporter on cpu 7. Disabling cpu lock." in t.sh("dmesg").stdout)

# Changing the destinations at runtime keeps exporting.
t.eq("destination rewritten", None, t.sysctl_write("destination", "127.0.0.1:2055"))
send_flows(100, 10, 1, 50)
time.sleep(0.5)
t.sysctl_write("flush", 1)
t.eq("...and flows still arrive", 10, len(ours(receive(), 100, 10)))

# Flows still in the table when the module unloads are exported first.
send_flows(200, 10, 3, 10)
time.sleep(0.5)
t.sh("ip netns exec nfr iptables-legacy -D FORWARD -j NETFLOW")
t.sh("rmmod ipt_NETFLOW")
got = ours(receive(), 200, 10)
t.eq("rmmod exports the flows left", 10, len(got))
t.ok("...with all their packets", all(struct.unpack("!I", r[2])[0] == 3 for r in got))
print(f"# export.py done: {t.failed} failed", flush=True)
sys.exit(1 if t.failed else 0)

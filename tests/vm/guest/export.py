#!/usr/bin/env python3
"""Export tests, run inside the VM by export.sh: the module exports IPFIX
to two destinations, 127.0.0.1:2055 (a collector here) and
127.0.0.1:2056 (nobody listening)."""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nettest as t  # noqa: E402
from ipfix import IpfixDecoder  # noqa: E402

os.sched_setaffinity(0, {0})
SRC_NET, DST4 = "10.1.0.", "10.2.0.99"
tx = t.FrameSender("nfa", "nfa0", t.mac_of("nfr", "nfr0"))
collector = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
collector.bind(("127.0.0.1", 2055))
collector.settimeout(2)
decoder = IpfixDecoder()
# The collector starts after the module: the first number it sees is where
# it starts checking.
expected_seq = None
seq_ok = True


def receive():
    """Every record that arrives until the collector is quiet."""
    global expected_seq, seq_ok
    records = []
    while True:
        try:
            msg = collector.recv(65536)
        except socket.timeout:
            return records
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


send_flows(0, 50, 2, 100)
time.sleep(0.5)
t.eq("flush=1 accepted", None, t.sysctl_write("flush", 1))
got = ours(receive(), 0, 50)
t.eq("every flow reaches the collector once", 50, len(got))
t.ok("with its packets and bytes",
     all(struct.unpack("!I", r[2])[0] == 2 and struct.unpack("!I", r[1])[0] == 2 * (28 + 100) for r in got))
t.ok("forced end reason (4) after a flush", all(r[136] == b"\x04" for r in got))
t.ok("IPFIX sequence numbers count data records without gaps", seq_ok)

with open("/proc/net/stat/ipt_netflow") as f:
    socks = [line.strip() for line in f if line.startswith("sock")]
t.eq("two destinations", 2, len(socks))
cberr = int(socks[1].split("cberr ")[1].split(",")[0]) if "cberr" in socks[1] else 0
t.ok("the dead destination's error counter moves", cberr > 0, socks)
snmp = t.snmp()
t.ok("exports counted once per destination", int(snmp["outPackets"]) >= 2, snmp)

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

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Link-layer fields of the all-flags build, decoded by tshark and nfdump;
run inside the VM by l2.sh (which loads the module for PROTOCOL, exporting
to 127.0.0.1:2055 and :2056, and builds the namespaces):  l2.py PROTOCOL

Each case below is a flow of known frames, told apart by its source port:
VLAN tags taken off by 802.1Q and QinQ devices, a tag put back into the
frame by a device without REORDER_HDR, a tag left on the socket buffer by
a bridge port, MAC addresses, the ethernet type, the hook's direction and
the bridge ports of bridged traffic (which replace the interfaces in the
physdev-override build). Every field of every flow must decode as sent.
"""
import glob
import os
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nettest as t  # noqa: E402
from collect import Capture, Nfcapd, tshark_flow_records  # noqa: E402

PROTO = int(sys.argv[1])
V = f"v{PROTO}"
WORK = f"/tmp/l2-{PROTO}"
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
NONE = 65535  # the 16-bit "no interface"

A0, R0 = "02:00:00:00:0a:01", "02:00:00:00:0a:02"
C0, D0 = "02:00:00:00:0c:01", "02:00:00:00:0d:01"
IF = {d: t.ifindex("l2r", d) for d in ("r0", "r0.10", "r0.100.200", "r0.30", "r1")}
IF.update({d: t.ifindex("l2s", d) for d in ("p1", "p2", "br0")})
QINQ, DOT1Q = 0x88A8, 0x8100

# name, how it is sent, and what its record must hold: tags as (id,
# priority) outer then inner, MACs (None: no MAC part), ethernet type,
# direction, input/output interfaces and bridge ports.
CASES = [
    dict(name="802.1Q device", sport=41001, via="frame", ns="l2a", dev="a0", dst_mac=R0,
         tags=[(DOT1Q, 5 << 13 | 10)], src="10.10.0.2", dst="10.10.0.1",
         vlan=[(10, 0)], macs=(A0, R0), etype=0x0800, dir=0, io=(IF["r0.10"], NONE), phys=(IF["r0.10"], NONE)),
    dict(name="QinQ devices", sport=41002, via="frame", ns="l2a", dev="a0", dst_mac=R0,
         tags=[(QINQ, 100), (DOT1Q, 3 << 13 | 200)], src="10.20.0.2", dst="10.20.0.1",
         vlan=[(100, 0), (200, 0)], macs=(A0, R0), etype=0x0800, dir=0,
         io=(IF["r0.100.200"], NONE), phys=(IF["r0.100.200"], NONE)),
    dict(name="802.1Q device without REORDER_HDR", sport=41003, via="frame", ns="l2a", dev="a0", dst_mac=R0,
         tags=[(DOT1Q, 6 << 13 | 30)], src="10.30.0.2", dst="10.30.0.1",
         vlan=[(30, 6)], macs=(A0, R0), etype=0x0800, dir=0, io=(IF["r0.30"], NONE), phys=(IF["r0.30"], NONE)),
    dict(name="untagged IPv4 input", sport=41004, via="frame", ns="l2a", dev="a0", dst_mac=R0,
         tags=[], src="10.50.0.2", dst="10.50.0.1",
         vlan=[], macs=(A0, R0), etype=0x0800, dir=0, io=(IF["r0"], NONE), phys=(IF["r0"], NONE)),
    dict(name="untagged IPv6 input", sport=41005, via="frame", ns="l2a", dev="a0", dst_mac=R0,
         tags=[], src="fd50::2", dst="fd50::1",
         vlan=[], macs=(A0, R0), etype=0x86DD, dir=0, io=(IF["r0"], NONE), phys=(IF["r0"], NONE)),
    dict(name="routed", sport=41006, via="frame", ns="l2a", dev="a0", dst_mac=R0,
         tags=[], src="10.50.0.2", dst="10.40.0.2",
         vlan=[], macs=(A0, R0), etype=0x0800, dir=255, io=(IF["r0"], IF["r1"]), phys=(IF["r0"], IF["r1"])),
    dict(name="sent by the router", sport=41007, via="socket", ns="l2r", src="10.10.0.1", dst="10.10.0.2",
         vlan=[], macs=None, etype=0x0800, dir=1, io=(NONE, IF["r0.10"]), phys=(NONE, IF["r0.10"])),
    dict(name="bridged", sport=41008, via="socket", ns="l2c", src="10.60.0.1", dst="10.60.0.2",
         vlan=[], macs=(C0, D0), etype=0x0800, dir=255, io=(IF["p1"], IF["p2"]), phys=(IF["p1"], IF["p2"])),
    dict(name="bridged with a tag", sport=41009, via="frame", ns="l2c", dev="c0", dst_mac=D0,
         tags=[(DOT1Q, 3 << 13 | 40)], src="10.60.0.1", dst="10.60.0.2",
         vlan=[(40, 3)], macs=(C0, D0), etype=0x0800, dir=255, io=(IF["p1"], IF["p2"]), phys=(IF["p1"], IF["p2"])),
]
PACKETS = 3
PAYLOAD = 40
# Per case: its tshark fields; the nfdump MACs (both protocols) and VLAN
# (v9, whose element nfdump reads); then the version line, the dump's
# columns and the count of flows.
t.plan(len(CASES) * (1 + 1 + (1 if PROTO == 9 else 0)) + 4)


def mac_bytes(text):
    return bytes.fromhex(text.replace(":", ""))


def send(case):
    data = b"l" * PAYLOAD
    if case["via"] == "socket":
        with t.InNetns(case["ns"]):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((case["src"], case["sport"]))
            for _ in range(PACKETS):
                s.sendto(data, (case["dst"], 9))
            s.close()
        case["bytes"] = PACKETS * (20 + 8 + PAYLOAD)
        return
    l4 = t.udp(case["sport"], 9, data)
    if ":" in case["src"]:
        pkt, etype = t.ipv6(case["src"], case["dst"], 17, l4), 0x86DD
    else:
        pkt, etype = t.ipv4(case["src"], case["dst"], 17, l4), 0x0800
    tags = b"".join(tpid.to_bytes(2, "big") + tci.to_bytes(2, "big") for tpid, tci in case["tags"])
    frame = mac_bytes(case["dst_mac"]) + t.mac_of(case["ns"], case["dev"]) + tags + etype.to_bytes(2, "big") + pkt
    with t.InNetns(case["ns"]):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((case["dev"], 0))
        for _ in range(PACKETS):
            s.send(frame)
        s.close()
    case["bytes"] = PACKETS * len(pkt)


def expected_tshark(case):
    """The fields a case's record must decode to, by tshark's names."""
    want = {"cflow.packets": str(PACKETS), "cflow.octets": str(case["bytes"]),
            "cflow.inputint": str(case["io"][0]), "cflow.outputint": str(case["io"][1]),
            "cflow.ingress_physical_interface": str(case["phys"][0]),
            "cflow.egress_physical_interface": str(case["phys"][1]),
            "cflow.direction": str(case["dir"]),
            "cflow.ethernet_type": f"0x{case['etype']:04x}"}
    if case["macs"]:
        want["cflow.srcmac"], want["cflow.dstmac"] = case["macs"]
    tags = case["vlan"]
    if PROTO == 9:
        want["cflow.vlanid"] = str(tags[0][0]) if tags else None
    else:
        want["cflow.dot1q_vlan_id"] = str(tags[0][0]) if tags else None
        want["cflow.dot1q_priority"] = str(tags[0][1]) if tags else None
        want["cflow.dot1q_customer_vlan_id"] = str(tags[1][0]) if len(tags) > 1 else None
        want["cflow.dot1q_customer_priority"] = str(tags[1][1]) if len(tags) > 1 else None
    if not case["macs"]:
        want["cflow.srcmac"] = want["cflow.dstmac"] = None
    return want


def got_tshark(rec, want):
    got = {}
    for k in want:
        v = rec.get(k)
        if k == "cflow.ethernet_type" and v is not None:
            v = f"0x{int(v, 0):04x}"
        got[k] = v
    return got


def nfdump_rows():
    """nfdump's view of every flow nfcapd stored: source port -> its VLAN
    and MAC columns."""
    rows = {}
    for f in sorted(glob.glob(f"{WORK}/nfcapd/nfcapd.2*")):
        r = t.sh(f"nfdump -r {f} -q -N -o 'fmt:%sp|%svln|%ismc|%idmc'", check=False)
        for line in r.stdout.splitlines():
            p = [x.strip() for x in line.split("|")]
            if len(p) == 4 and p[0].isdigit():
                rows[int(p[0])] = dict(vlan=p[1], smac=p[2].lower(), dmac=p[3].lower())
    return rows


# --- the run ----------------------------------------------------------------

capture, nfcapd = Capture(), Nfcapd(WORK)
capture.start()
nfcapd.start()
for case in CASES:
    send(case)
time.sleep(0.5)
with open("/proc/net/stat/ipt_netflow") as f:
    version_line = f.readline().rstrip()
with open("/proc/net/stat/ipt_netflow_flows") as f:
    dump = f.read().splitlines()
t.sysctl_write("flush", 1)
time.sleep(1)
capture.quiet()
capture.stop()
time.sleep(1)
nfcapd.stop()

t.ok(f"{V}: the version line has the dir, mac, promisc+mpls and vlan tags",
     version_line.endswith("; aggr dir mac nel promisc+mpls samp-h snmp vlan"), version_line)
t.ok(f"{V}: the dump has the mac, vlan and type columns",
     dump and dump[0].startswith("# hash a dev:i,o mac:src,dst vlan type proto "), "\n".join(dump[:3]))
# The dump's line of the QinQ flow: MACs, both tags' whole control
# information, the type.
qinq = [line for line in dump if ",41002 " in line]
t.ok(f"{V}: the dump shows the QinQ flow's MACs, tags and type",
     len(qinq) == 1 and f" {A0},{R0} 100,200 0800 17 " in qinq[0], "\n".join(dump))

records, tshark_err = tshark_flow_records(WORK)
by_port = {}
for rec in records:
    by_port.setdefault(int(rec["cflow.srcport"]), []).append(rec)
t.eq(f"{V}: one record per case", sorted(c["sport"] for c in CASES),
     sorted(p for p in by_port if 41000 < p < 41100))
for case in CASES:
    want = expected_tshark(case)
    recs = by_port.get(case["sport"], [])
    got = got_tshark(recs[0], want) if len(recs) == 1 else f"{len(recs)} records; tshark: {tshark_err}"
    t.eq(f"{V}: {case['name']}: tshark decodes its link-layer fields", want, got)

rows = nfdump_rows()
for case in CASES:
    row = rows.get(case["sport"])
    macs = case["macs"] or ("00:00:00:00:00:00", "00:00:00:00:00:00")
    t.eq(f"{V}: {case['name']}: nfdump shows its MACs", macs, row and (row["smac"], row["dmac"]))
    if PROTO == 9:
        vlan = str(case["vlan"][0][0]) if case["vlan"] else "0"
        t.eq(f"{V}: {case['name']}: nfdump shows its VLAN", vlan, row and row["vlan"])
print(f"# l2.py done: {t.failed} failed", flush=True)

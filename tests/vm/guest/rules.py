#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Flow sampling, aggregation and snmp-rules, end to end, run inside the VM
by rules.sh:  rules.py BUILD_DIR

The module exports to 127.0.0.1:2055 (a capture decoded by tshark) and
127.0.0.1:2056 (nfdump's nfcapd). Flows are forwarded through the router
namespace nfr (in on nfr0, out on nfr1) and counted as the collectors
decode them:
  - deterministic:10 over exactly 1000 flows exports exactly 100, in v5,
    v9 and IPFIX, with the sampler named in each protocol's own way;
  - random:10 over 1000 flows exports a count within 6 standard deviations
    of 100 (binomial, sd 9.5: 43..157; a false failure about once in 10^9
    runs);
  - hash:4 over 400 flows of 3 packets keeps whole flows (every exported
    one has its 3 packets), about a quarter of them (43..157 of 400 as
    above, sd 8.7), and packets of the others are not metered;
  - aggregation 10.1.0.0/16=24,80-89=80 turns 32 hosts times 10 ports into
    one flow per destination, decoded by tshark and nfdump;
  - snmp-rules xyz:5,nfr:100 exports nfr0 as 100 and nfr1 as 101;
  - 1000 aggregation rule swaps under traffic lose and double no packet.
"""
import os
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nettest as t  # noqa: E402
from collect import Capture, Nfcapd, write_pcap  # noqa: E402

BUILD = sys.argv[1]
t.plan(49)
WORK = "/tmp/rules"
t.sh(f"rm -rf {WORK} && mkdir -p {WORK}")
os.sched_setaffinity(0, {0})

tx = t.FrameSender("nfa", "nfa0", t.mac_of("nfr", "nfr0"))
IFIN, IFOUT = t.ifindex("nfr", "nfr0"), t.ifindex("nfr", "nfr1")


def udp_flows(n, sport0, packets=1, dst="10.2.0.99"):
    """`n` UDP flows 10.1.x.y:sport0+i -> dst:53, `packets` each; returns
    the packets sent."""
    for i in range(n):
        src = f"10.1.{1 + i // 250}.{2 + i % 250}"
        tx.send(t.ipv4(src, dst, 17, t.udp(sport0 + i, 53, b"s" * 20)), packets)
    return n * packets


# Everything the module exports, captured from before it is loaded; each
# phase owns what arrived since the previous one ended (configuration
# writes make options records before a phase's traffic), with the checks
# to run on tshark's decoding of it. tshark starts slowly under emulation:
# it runs once, at the end, over all of it.
CAPTURE = Capture()
CAPTURE.start()
PHASES = []


def exported(send, checks):
    """Runs `send` (which sends traffic), flushes every flow and waits for
    the export; `checks(dec)` runs at the end on tshark's decoding of the
    phase's datagrams: per datagram (header fields, flow records, options
    records)."""
    send()
    t.sysctl_write("flush", 1)
    # The flush sent its packets before the write returned, but the capture
    # thread may not have taken them yet, and an options record that a
    # regular run made just after the flush waits up to a second in its
    # packet: the phase ends after two quiet seconds from now.
    CAPTURE.last = time.time()
    CAPTURE.quiet(2.0)
    PHASES.append((len(CAPTURE.datagrams), checks))


def check_phases():
    CAPTURE.stop()
    everything = CAPTURE.datagrams
    dec = decode(everything)
    if len(dec) != len(everything):
        t.ok("tshark decodes every datagram", False, f"{len(dec)} of {len(everything)}")
    at = 0
    for end, checks in PHASES:
        checks(dec[at:end])
        at = end


def flatten(node, out):
    """Every leaf field under `node`, by name (the last one seen wins)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, (dict, list)):
                flatten(v, out)
            else:
                out[k] = v
    elif isinstance(node, list):
        for v in node:
            flatten(v, out)
    return out


OPTION_KEYS = ("cflow.sampler_random_interval", "cflow.flow_selector_algorithm",
               "cflow.selector_id_total_pkts_observed")


def decode(datagrams):
    """tshark's decoding: a list of (header, flows, options) per datagram,
    each record a dict of its fields."""
    import json
    path = f"{WORK}/cap-{time.time_ns()}.pcap"
    write_pcap(datagrams, path)
    r = t.sh(f"tshark -n -r {path} -d udp.port==2055,cflow -T json", check=False)
    out = []
    try:
        packets = json.loads(r.stdout)
    except json.JSONDecodeError:
        t.ok("tshark decodes the capture", False, r.stderr[-2000:])
        return out
    for p in packets:
        cflow = p["_source"]["layers"].get("cflow", {})
        flows, options = [], []

        def walk(node):
            if isinstance(node, dict):
                if "cflow.protocol" in node and "cflow.srcaddr" in node:
                    flows.append(flatten(node, {}))
                elif any(k in node for k in OPTION_KEYS):
                    options.append(flatten(node, {}))
                else:
                    for v in node.values():
                        walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(cflow)
        out.append((flatten(cflow, {}), flows, options))
    return out


def all_flows(dec):
    return [f for _, fl, _ in dec for f in fl]


def all_options(dec):
    return [o for _, _, op in dec for o in op]


def stat_line(prefix):
    with open("/proc/net/stat/ipt_netflow") as f:
        return next((line.rstrip("\n") for line in f if line.startswith(prefix)), None)


ko = f"{BUILD}/ipt_NETFLOW.ko"
t.sh(f"insmod {ko} protocol=5 destination=127.0.0.1:2055,127.0.0.1:2056 "
     f"sampler=deterministic:10 snmp_rules=xyz:5,nfr:100 inactive_timeout=60")
t.sh("ip netns exec nfr iptables-legacy -A FORWARD -j NETFLOW")
t.eq("sampler given at load reads back", "deterministic:10", t.sysctl_read("sampler"))
t.eq("snmp-rules given at load read back", "xyz:5,nfr:100", t.sysctl_read("snmp-rules"))
t.eq("aggregation reads back empty", "", t.sysctl_read("aggregation"))
version_line = open("/proc/net/stat/ipt_netflow").readline()
t.ok("version line lists the runtime features", version_line.rstrip().endswith("; aggr nel samp-h snmp"), version_line)

# --- deterministic:10, in each protocol ------------------------------------


def deterministic_checks(proto, flows):
    """The checks of a deterministic:10 phase of `flows` flows in `proto`."""
    def checks(dec):
        fl = all_flows(dec)
        t.eq(f"v{proto} deterministic:10: exactly {flows // 10} of {flows} flows exported", flows // 10, len(fl))
        t.eq(f"v{proto} snmp-rules: every record in 100, out 101",
             {(100, 101)}, {(int(f.get("cflow.inputint", -1)), int(f.get("cflow.outputint", -1))) for f in fl})
        if proto == 5:
            modes = {(h.get("cflow.samplingmode"), h.get("cflow.samplerate")) for h, _, _ in dec}
            t.eq("v5 header: sampling mode 1 (deterministic), interval 10", {("1", "10")}, modes)
        elif proto == 9:
            t.eq("v9 records carry FLOW_SAMPLER_ID 1", {"1"}, {f.get("cflow.sampler_id") for f in fl})
            opts = [o for o in all_options(dec) if "cflow.sampler_random_interval" in o]
            t.eq("v9 sampler options record: id 1, mode 1, interval 10", [("1", "1", "10")],
                 [(o.get("cflow.sampler_id"), o.get("cflow.sampler_mode"), o.get("cflow.sampler_random_interval"))
                  for o in opts][:1])
        else:
            t.eq("IPFIX records carry selectorId 1", {"1"}, {f.get("cflow.selector_id") for f in fl})
            opts = [o for o in all_options(dec) if "cflow.flow_selector_algorithm" in o]
            t.eq("IPFIX count-based selector: id 1, algorithm 1, interval 1, spacing 10", [("1", "1", "1", "10")],
                 [(o.get("cflow.selector_id"), o.get("cflow.flow_selector_algorithm"),
                   o.get("cflow.sampling_flow_interval"), o.get("cflow.sampling_flow_spacing")) for o in opts][:1])
    return checks


# Exactly 1000 flows in v5; the v9 and IPFIX phases check each protocol's
# own way of naming the sampler, on fewer flows.
for proto, flows in ((5, 1000), (9, 200), (10, 200)):
    if proto != 5:
        t.sysctl_write("protocol", proto)
    exported(lambda flows=flows: udp_flows(flows, 20000), deterministic_checks(proto, flows))
t.eq("/proc sampler line counts the 1400 flows",
     "Flow sampling mode deterministic one-out-of 10. Flows selected 140, discarded 1260. "
     "Pkts selected 140, discarded 1260.", stat_line("Flow sampling"))

# The dump shows the indexes a flow carries: the mapped ones.
t.sysctl_write("sampler", "")
udp_flows(3, 21000)
dump = [f for f in t.flows() if 21000 <= f["sport"] < 21003]
t.eq("the flow dump shows the mapped interface indexes", [(100, 101)] * 3, [(f["i"], f["o"]) for f in dump])
# A phase of its own, so that these flows' records count in no other.
exported(lambda: None, lambda dec: None)

# --- sampler switched off, bad values refused ------------------------------
t.eq("sampler off reads back empty", "", t.sysctl_read("sampler"))
t.eq("/proc says sampling is off", "Flow sampling is disabled.", stat_line("Flow sampling"))
t.eq("an unknown sampler mode is refused", "Invalid argument", t.sysctl_write("sampler", "bogus:3"))
t.eq("an interval of 1 is refused", "Invalid argument", t.sysctl_write("sampler", "random:1"))
t.eq("trailing garbage is refused", "Invalid argument", t.sysctl_write("sampler", "random:10x"))
t.eq("a refused write leaves the sampler off", "", t.sysctl_read("sampler"))
t.eq("snmp-rules refuse a bad rule", "Invalid argument", t.sysctl_write("snmp-rules", "eth"))
t.eq("...and keep the rules in force", "xyz:5,nfr:100", t.sysctl_read("snmp-rules"))
t.eq("aggregation refuses a bad rule", "Invalid argument", t.sysctl_write("aggregation", "10.1.0.0/33=8"))
t.eq("...and keeps none in force", "", t.sysctl_read("aggregation"))

# --- random:10 in IPFIX ------------------------------------------------------
t.eq("sampler random:10 accepted (shortened mode word)", None, t.sysctl_write("sampler", "r:10"))
t.eq("...and reads back in full", "random:10", t.sysctl_read("sampler"))


def random_checks(dec):
    n = len(all_flows(dec))
    t.ok(f"random:10: {n} of 1000 flows exported, within 43..157", 43 <= n <= 157)
    t.eq("IPFIX records carry selectorId 2", {"2"}, {f.get("cflow.selector_id") for f in all_flows(dec)})
    opts = [o for o in all_options(dec) if "cflow.flow_selector_algorithm" in o]
    got = [(o.get("cflow.selector_id"), o.get("cflow.flow_selector_algorithm"), o.get("cflow.sampling_size"),
            o.get("cflow.sampling_population")) for o in opts][:1]
    t.ok("IPFIX random selector: id 2, algorithm 3, size 1, population 10", got == [("2", "3", "1", "10")],
         f"got {got}; options records of the phase: {all_options(dec)}")


exported(lambda: udp_flows(1000, 22000), random_checks)

# --- hash:4 in v9: whole flows, on the packet path --------------------------
t.sysctl_write("protocol", 9)
t.eq("sampler hash:4 accepted", None, t.sysctl_write("sampler", "hash:4"))
before = t.total_line()["pkts"]
hashed = {}


def hash_checks(dec):
    fl = all_flows(dec)
    t.ok(f"hash:4: {len(fl)} of 400 flows exported, within 43..157", 43 <= len(fl) <= 157)
    t.eq("hash:4: every exported flow has all its 3 packets", {"3"}, {f.get("cflow.packets") for f in fl})
    t.eq("hash:4: only the selected flows' packets were metered", 3 * len(fl), hashed["metered"])
    t.eq("hash:4: v9 records carry FLOW_SAMPLER_ID 3", {"3"}, {f.get("cflow.sampler_id") for f in fl})
    t.eq("/proc hash sampler line", f"Flow sampling mode hash one-out-of 4. Flows selected {len(fl)}. "
         f"Pkts selected {3 * len(fl)}, discarded {1200 - 3 * len(fl)}.", hashed["line"])


exported(lambda: udp_flows(400, 23000, packets=3), hash_checks)
hashed["metered"] = t.total_line()["pkts"] - before
hashed["line"] = stat_line("Flow sampling")
t.sysctl_write("sampler", "")

# --- aggregation, in IPFIX, decoded by tshark and nfdump --------------------
t.eq("aggregation accepted", None, t.sysctl_write("aggregation", "10.1.0.0/16=24 80-89=80"))
t.eq("aggregation reads back canonical", "10.1.0.0/16=24,80-89=80", t.sysctl_read("aggregation"))
nfcapd = Nfcapd(WORK)
nfcapd.start()
# A protocol write sends every template again: nfcapd, listening only
# now, learns them.
t.sysctl_write("protocol", 10)
sent = {}


def aggregated_traffic():
    for dst in ("10.2.0.99", "10.2.0.98"):
        sent[dst] = (0, 0)
        for h in range(32):
            for port in range(80, 90):
                pkt = t.ipv4(f"10.1.0.{10 + h}", dst, 6, t.tcp(40000, port, 0x10, data=b"a" * (h % 7)))
                tx.send(pkt)
                sent[dst] = (sent[dst][0] + 1, sent[dst][1] + len(pkt))




def aggregation_checks(dec):
    got = sorted((f.get("cflow.srcaddr"), f.get("cflow.dstaddr"), f.get("cflow.srcport"), f.get("cflow.dstport"),
                  f.get("cflow.srcmask"), f.get("cflow.dstmask"), int(f["cflow.packets"]), int(f["cflow.octets"]))
                 for f in all_flows(dec))
    want = sorted(("10.1.0.0", dst, "40000", "80", "24", "0", p, b) for dst, (p, b) in sent.items())
    t.eq("tshark: one flow per destination, port 80, mask 24, packets and bytes summed", want, got)


exported(aggregated_traffic, aggregation_checks)
nfcapd.stop()
r = t.sh(f"ls -l {nfcapd.dir}; for f in {nfcapd.dir}/nfcapd.2*; do "
         f"nfdump -r $f -q -N -o 'fmt:%sa|%da|%dp|%smk|%pkt|%byt'; done", check=False)
got = sorted(tuple(x.strip() for x in line.split("|")) for line in r.stdout.splitlines() if line.count("|") == 5)
want = sorted(("10.1.0.0", dst, "80", "24", str(p), str(b)) for dst, (p, b) in sent.items())
t.ok("nfdump: the same two flows", want == got,
     f"expected: {want}\nactual:   {got}\n{r.stdout[-1500:]}{r.stderr[-500:]}{open(WORK + '/nfcapd.log').read()[-1000:]}"
     f"{open('/proc/net/stat/ipt_netflow').read()}")
t.eq("/proc aggr lines with their usage",
     ["aggr#0 net: match 10.1.0.0/16 strip 24 (usage 640)",
      "aggr#0 port: ports 80-89 replace 80 (usage 640)"],
     [line.rstrip("\n") for line in open("/proc/net/stat/ipt_netflow") if line.startswith("aggr#")])

# --- snmp-rules changed at runtime ------------------------------------------
t.eq("snmp-rules nfr1:200 accepted", None, t.sysctl_write("snmp-rules", "nfr1:200"))
t.sysctl_write("aggregation", "")
exported(lambda: udp_flows(5, 24000),
         lambda dec: t.eq("new rules: in is nfr0's ifindex, out 200", {(IFIN, 200)},
                          {(int(f["cflow.inputint"]), int(f["cflow.outputint"])) for f in all_flows(dec)}))
t.eq("/proc SNMP-rule line", ["SNMP-rule#0: prefix 'nfr1' map to 200"],
     [line.rstrip("\n") for line in open("/proc/net/stat/ipt_netflow") if line.startswith("SNMP-rule#")])

# --- rule swap storm under traffic -------------------------------------------
t.sysctl_write("flush", 1)
before = t.total_line()
stop = threading.Event()
count = [0]


def flood():
    i = 0
    while not stop.is_set():
        tx.send(t.ipv4(f"10.1.0.{2 + i % 200}", "10.2.0.99", 17, t.udp(25000 + i % 300, 80 + i % 10, b"f")))
        count[0] += 1
        i += 1


th = threading.Thread(target=flood)
th.start()
errors = 0
t0 = time.time()
# NF_RULE_SWAPS (1000; check.sh gives the debug kernel fewer, where each
# swap's RCU grace period is slow).
SWAPS = int(os.environ.get("NF_RULE_SWAPS", "1000"))
for i in range(SWAPS):
    rules = "10.1.0.0/16=24" if i % 2 else "10.1.0.0/16=16,80-89=80"
    if t.sysctl_write("aggregation", rules) is not None:
        errors += 1
swap_secs = time.time() - t0
stop.set()
th.join()
time.sleep(0.5)
after = t.total_line()
print(f"# {SWAPS} rule swaps in {swap_secs:.1f} s under {count[0]} packets")
t.eq(f"{SWAPS} aggregation swaps under traffic: every write took effect", 0, errors)
t.eq("...every packet sent was metered once", count[0], after["pkts"] - before["pkts"])
t.eq("...and none dropped", before["drop_pkts"], after["drop_pkts"])
check_phases()
print("# rules.py done")

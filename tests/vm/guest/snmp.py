# SPDX-License-Identifier: GPL-2.0-only
"""The SNMP agent with Debian's snmpd, run inside the VM by snmp.sh:
    snmp.py BUILD_DIR

snmpd (its own configuration, ports and AgentX socket) serves the MIB
through ipt-netflow-snmp-agent. net-snmp's snmpwalk/snmpget/snmpset, with
the repository's MIB, read it by the original's names; every value is
compared with what /proc and /sys show, SETs with the sysctls, and the
module is unloaded and loaded again under the running agent.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nettest as t  # noqa: E402

build = sys.argv[1]
ko = f"{build}/ipt_NETFLOW.ko"
agent_bin = f"{build}/../snmp/ipt-netflow-snmp-agent"
mibs = os.path.realpath(f"{build}/../snmp/mibs")
work = "/tmp/snmp-suite"
sock = f"{work}/agentx.sock"
port = "127.0.0.1:11161"
mib_text = open(f"{mibs}/IPT-NETFLOW-MIB.my").read()
# Metered: test datagrams only, not the SNMP requests nor the exports.
RULE = "-p udp --dport 9999 -j NETFLOW"
snmp_opts = ["-v2c", "-c", "private", "-M", mibs, "-m", "IPT-NETFLOW-MIB"]

t.plan(25)
os.makedirs(work, exist_ok=True)


def objects():
    """Every accessible OBJECT-TYPE of the MIB file: descriptor -> access."""
    out = {}
    for m in re.finditer(r"^(\S+) OBJECT-TYPE\n(.*?)::=", mib_text, re.S | re.M):
        access = re.search(r"MAX-ACCESS (\S+)", m.group(2)).group(1)
        if access != "not-accessible":
            out[m.group(1)] = access
    return out


def run(tool, *args):
    return subprocess.run([tool, *snmp_opts, "-OQUes", port, *args], capture_output=True, text=True, timeout=60)


def walk():
    """name.index -> value text, from one walk of the whole MIB."""
    r = run("snmpwalk", "IPT-NETFLOW-MIB::iptNetflowMIB")
    vals = {}
    for line in r.stdout.splitlines():
        name, _, value = line.partition(" = ")
        vals[name] = value.strip().strip('"')
    return vals, r


def get(name):
    r = run("snmpget", f"IPT-NETFLOW-MIB::{name}")
    return r.stdout.strip().partition(" = ")[2].strip('"'), r


def stats_file():
    """ipt_netflow_snmp as the MIB's names: totals, and cpu/sock columns."""
    out = {}
    cpu_cols = ["cpuInPacketRate", "cpuInFlows", "cpuInPackets", "cpuInBytes", "cpuHashMetric", "cpuDropPackets",
                "cpuDropBytes", "cpuErrTrunc", "cpuErrFrag", "cpuErrAlloc", "cpuErrMaxflows"]
    sock_cols = ["sockDestination", "sockActive", "sockErrConnect", "sockErrFull", "sockErrCberr", "sockErrOther",
                 "sockSndbuf", "sockSndbufFill", "sockSndbufPeak"]
    with open("/proc/net/stat/ipt_netflow_snmp") as f:
        for line in f:
            p = line.split()
            if re.fullmatch(r"cpu\d+", p[0]):
                n = p[0][3:]
                out[f"cpuIndex.{n}"] = n
                out.update({f"{c}.{n}": v for c, v in zip(cpu_cols, p[1:])})
            elif re.fullmatch(r"sock\d+", p[0]):
                out.update({f"{c}.{p[0][4:]}": v for c, v in zip(sock_cols, p[1:])})
            else:
                out[f"{p[0]}.0"] = p[1]
    return out


def between(v, a, b):
    """v lies between the readings a and b (numbers; equal for text)."""
    try:
        x, lo, hi = float(v), float(a), float(b)
        return min(lo, hi) <= x <= max(lo, hi)
    except ValueError:
        return v == a == b


def load_time():
    st = os.stat("/sys/module/ipt_NETFLOW")
    tm = time.gmtime(st.st_mtime)
    tenths = st.st_mtime_ns // 100_000_000 % 10
    return f"{tm.tm_year}-{tm.tm_mon}-{tm.tm_mday},{tm.tm_hour}:{tm.tm_min}:{tm.tm_sec}.{tenths},+0:0"


# Where `make install` put the module (Debian's kernel), modprobe loads it,
# as an operator would; elsewhere the build's.
installed = subprocess.run(["modinfo", "-n", "ipt_NETFLOW"], capture_output=True).returncode == 0
LOAD = "modprobe ipt_NETFLOW" if installed else f"insmod {ko}"


def insmod():
    t.sh(f"{LOAD} destination=127.0.0.1:2055 protocol=9 active_timeout=600 inactive_timeout=600")
    t.sh(f"iptables -I OUTPUT {RULE}")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(5):
            s.sendto(bytes(100 + i), ("127.0.0.1", 9999))


def rmmod():
    t.sh(f"iptables -D OUTPUT {RULE}")
    t.sh("rmmod ipt_NETFLOW")


with open(f"{work}/snmpd.conf", "w") as f:
    f.write(f"master agentx\nagentXSocket {sock}\nagentaddress udp:{port}\n"
            "rwcommunity private 127.0.0.1\n")
insmod()
snmpd = subprocess.Popen(["snmpd", "-f", "-Lf", f"{work}/snmpd.log", "-C", "-c", f"{work}/snmpd.conf",
                          "-p", f"{work}/snmpd.pid"])
t.wait_for(lambda: os.path.exists(sock), timeout=20)
agent_log = open(f"{work}/agent.log", "w")
agent = subprocess.Popen([agent_bin, "-x", sock], stderr=agent_log)
served = t.wait_for(lambda: "serving IPT-NETFLOW-MIB" in open(f"{work}/agent.log").read(), timeout=20)
t.ok("the agent opens an AgentX session with snmpd and registers the MIB", served, open(f"{work}/agent.log").read())

# The whole MIB by name, between two readings of /proc.
want = objects()
time.sleep(1.2)  # the agent's cache window: the walk reads anew
before = stats_file()
vals, r = walk()
after = stats_file()
names = {k.split(".")[0] for k in vals}
have_promisc = os.path.exists("/proc/sys/net/netflow/promisc")
missing = sorted(set(want) - names - (set() if have_promisc else {"promisc"}))
t.eq("snmpwalk of IPT-NETFLOW-MIB by name returns every object of the MIB", [], missing)
t.ok("... and nothing that is not in the MIB", names <= set(want), sorted(names - set(want)))
t.ok("... promisc only where this build has the sysctl", ("promisc" in names) == have_promisc)
t.eq("... by the original's descriptors", ["active-timeout", "inactive-timeout", "scan-min", "snmp-rules"],
     sorted(n for n in names if "-" in n))
ncpu = len([k for k in before if k.startswith("cpuIndex.")])
t.ok(f"the CPU table has a row per CPU line of /proc ({ncpu}) and serves cpuIndex",
     ncpu >= 1 and all(f"cpuIndex.{i}" in vals for i in range(ncpu)), vals.keys())
stat_keys = sorted(before)
off = [f"{k}: snmp {vals.get(k)!r}, /proc {before[k]!r} then {after.get(k)!r}" for k in stat_keys
       if k not in vals or not between(vals[k], before[k], after.get(k, ""))]
t.eq(f"totals, CPU and socket tables equal /proc ({len(stat_keys)} values)", [], off)
t.ok("... and the module has metered something", int(before["inPackets.0"]) >= 5, before)
sysctls = {n: a for n, a in want.items() if a == "read-write"}
off = []
for n in sysctls:
    path = f"/proc/sys/net/netflow/{n.replace('-timeout', '_timeout')}"
    if os.path.exists(path):
        text = open(path).read().strip()
        if vals.get(f"{n}.0") != text:
            off.append(f"{n}: snmp {vals.get(n + '.0')!r}, sysctl {text!r}")
t.eq("every sysctl object equals its sysctl", [], off)
module = {
    "name.0": "ipt_NETFLOW",
    "version.0": open("/sys/module/ipt_NETFLOW/version").read().strip(),
    "srcversion.0": open("/sys/module/ipt_NETFLOW/srcversion").read().strip(),
    "refcnt.0": open("/sys/module/ipt_NETFLOW/refcnt").read().strip(),
    "loadTime.0": load_time(),
}
t.eq("the module group equals /sys/module/ipt_NETFLOW", module, {k: vals.get(k) for k in module})

# GET by the original's name; SET through snmpd to the sysctl.
value, r = get("active-timeout.0")
t.eq("snmpget IPT-NETFLOW-MIB::active-timeout.0", t.sysctl_read("active_timeout"), value)
r = run("snmpset", "IPT-NETFLOW-MIB::active-timeout.0", "i", "120")
t.eq("snmpset active-timeout 120 sets net.netflow.active_timeout", ("120", 0),
     (t.sysctl_read("active_timeout"), r.returncode))
r = run("snmpset", "IPT-NETFLOW-MIB::destination.0", "s", "127.0.0.1:70000")
t.ok("snmpset of a bad destination fails with wrongValue", r.returncode != 0 and "wrongValue" in r.stdout + r.stderr,
     r.stdout + r.stderr)
t.eq("... and net.netflow.destination keeps its value", "127.0.0.1:2055", t.sysctl_read("destination"))
hashsize = t.sysctl_read("hashsize")
r = run("snmpset", "IPT-NETFLOW-MIB::hashsize.0", "i", "1")
t.ok("snmpset of a hashsize below the module's minimum fails with wrongValue, nothing written",
     r.returncode != 0 and "wrongValue" in r.stdout + r.stderr and t.sysctl_read("hashsize") == hashsize,
     r.stdout + r.stderr)
# scan-min above HZ/10: only the module knows HZ, so it refuses at commit.
scan_min = t.sysctl_read("scan-min")
r = run("snmpset", "IPT-NETFLOW-MIB::scan-min.0", "i", "100000")
t.ok("snmpset of a scan-min the module refuses fails (commitFailed)",
     r.returncode != 0 and "commitFailed" in r.stdout + r.stderr, r.stdout + r.stderr)
r = run("snmpset", "IPT-NETFLOW-MIB::inactive-timeout.0", "i", "30", "IPT-NETFLOW-MIB::scan-min.0", "i", "100000")
t.eq("a SET the module refuses in part puts back what it wrote (inactive-timeout, scan-min)",
     ("600", scan_min, True), (t.sysctl_read("inactive_timeout"), t.sysctl_read("scan-min"), r.returncode != 0))
r = run("snmpset", "IPT-NETFLOW-MIB::hashFlows.0", "u", "1")
t.ok("a statistic is not writable", r.returncode != 0 and "notWritable" in r.stdout + r.stderr, r.stdout + r.stderr)

# rmmod and modprobe (insmod) under the running agent and snmpd.
pids = (agent.pid, snmpd.pid)
rmmod()
value, r = get("name.0")
t.ok("while the module is unloaded: noSuchObject (name)", "No Such Object" in value, r.stdout + r.stderr)
value, r = get("inFlows.0")
t.ok("... and noSuchObject (inFlows)", "No Such Object" in value, r.stdout + r.stderr)
vals, r = walk()
t.ok("... and a walk finds nothing", not vals or all("No Such Object" in v or "No more variables" in v
                                                      for v in vals.values()), vals)
insmod()
time.sleep(1.2)
before = stats_file()
vals, r = walk()
after = stats_file()
off = [k for k in before if k not in vals or not between(vals[k], before[k], after.get(k, ""))]
t.eq(f"loaded again ({LOAD.split()[0]}): the agent serves the new module's values by itself", [], off)
t.eq("... its load time", load_time(), vals.get("loadTime.0"))
t.ok("the agent and snmpd never restarted", agent.poll() is None and snmpd.poll() is None and
     (agent.pid, snmpd.pid) == pids, open(f"{work}/agent.log").read())

agent.send_signal(signal.SIGTERM)
agent.wait(timeout=10)
snmpd.send_signal(signal.SIGTERM)
snmpd.wait(timeout=10)
rmmod()
t.ok("snmpd's log has no AgentX error", not re.search(r"(?i)agentx.*(error|fail)", open(f"{work}/snmpd.log").read()),
     open(f"{work}/snmpd.log").read())
print(f"# snmp.py done: {t.failed} failed", flush=True)

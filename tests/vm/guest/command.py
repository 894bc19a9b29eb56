# SPDX-License-Identifier: GPL-2.0-only
"""The operator's command, run inside the VM by command.sh:
    command.py BUILD_DIR

ipt_netflow (installed in /usr/sbin with its unit, as `make install-command`
does) installs the configuration for a module that is already installed for
this kernel, enables, shows, disables and removes, each checked against
what the system shows by other means: modprobe.d, sysctl, iptables-save of
both families and both backends, /proc, a UDP collector. Other rules, set
up first, must come through untouched.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nettest as t  # noqa: E402

CMD = "/usr/sbin/ipt_netflow"
MODPROBE_CONF = "/etc/modprobe.d/ipt_netflow.conf"
SERVICE_CONF = "/etc/default/ipt_netflow"
MANIFEST = "/var/lib/ipt_netflow/installed"
UNIT = "/lib/systemd/system/ipt_netflow.service"
LOG = "/var/log/ipt_netflow.log"
# Rules of the operator's that the command must leave alone.
OTHER_RULES = {
    "iptables": ["-A INPUT -p tcp -m tcp --dport 9 -j ACCEPT", "-A OUTPUT -p udp -m udp --dport 7 -j ACCEPT"],
    "ip6tables": ["-A INPUT -p udp -m udp --dport 9 -j ACCEPT"],
}

t.plan(44)


def run(*args):
    return subprocess.run([CMD, *args], capture_output=True, text=True, timeout=120)


def save(cmd):
    """The rule lines (-A ...) of CMD-save, in order."""
    out = t.sh(f"{cmd}-save").stdout
    return [line for line in out.splitlines() if line.startswith("-A ")]


def netflow_rules(cmd):
    return [r for r in save(cmd) if r.split()[-2:] == ["-j", "NETFLOW"]]


def others_intact():
    return {c: [r for r in save(c) if "NETFLOW" not in r] for c in OTHER_RULES} == OTHER_RULES


def loaded():
    return os.path.isdir("/sys/module/ipt_NETFLOW")


def sysctl(name):
    with open(f"/proc/sys/net/netflow/{name}") as f:
        return f.read().strip()


def state():
    """Every file the command may write, with its content (None: absent)."""
    out = {}
    for p in [MODPROBE_CONF, SERVICE_CONF, MANIFEST, LOG]:
        out[p] = open(p).read() if os.path.exists(p) else None
    return out


for cmd, rules in OTHER_RULES.items():
    for r in rules:
        t.sh(f"{cmd} {r}")

# --- refusals: nothing written ---------------------------------------------
before = state()
r = run("-m", "install", "-d", "10.0.0.1:99999")
t.ok(
    "a bad --destination exits 2 with the module's reason",
    r.returncode == 2 and "a port is not a number from 0 to 65535" in r.stderr,
    f"exit {r.returncode}: {r.stderr}",
)
r2 = run("-m", "install", "--hashsize", "100")
t.ok("a hashsize the module refuses exits 2", r2.returncode == 2 and "at least 256" in r2.stderr, r2.stderr)
t.eq("...and neither wrote anything", before, state())
r = run("-m", "status")
t.ok("status before enable: exit 1, silent", r.returncode == 1 and r.stdout == "" and r.stderr == "", r)
r = run("-m", "status", "-v")
t.ok("status -v says why", "not loaded" in r.stdout, r.stdout)

# --- install ---------------------------------------------------------------
r = run("-m", "install", "-d", "127.0.0.1:2055", "--active-timeout", "60", "-v")
t.ok("install exits 0", r.returncode == 0, f"{r.stdout}\n{r.stderr}")
t.ok("install finds the module installed for this kernel", "is installed for" in r.stdout, r.stdout)
conf = open(MODPROBE_CONF).read() if os.path.exists(MODPROBE_CONF) else ""
t.ok(
    "modprobe.d has the settings (protocol 10 by default)",
    "options ipt_NETFLOW destination=127.0.0.1:2055 protocol=10 active_timeout=60\n" in conf,
    conf,
)
t.ok("the service configuration is written", os.path.exists(SERVICE_CONF), "")
manifest = open(MANIFEST).read() if os.path.exists(MANIFEST) else ""
t.ok(
    "the manifest lists both files and no build",
    f"file {MODPROBE_CONF}" in manifest and f"file {SERVICE_CONF}" in manifest and "dkms" not in manifest and "make" not in manifest,
    manifest,
)
t.ok("install loaded nothing", not loaded())

# --- enable ----------------------------------------------------------------
# A collector on the destination from the start (else the first export
# draws an ICMP error, which show rightly warns about).
col = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
col.bind(("127.0.0.1", 2055))
col.settimeout(10)
r = run("-m", "enable")
t.ok("enable exits 0", r.returncode == 0, f"{r.stdout}\n{r.stderr}")
t.ok("the module is loaded", loaded())
t.eq(
    "with the installed settings (sysctl)",
    ("127.0.0.1:2055", "10", "60"),
    (sysctl("destination"), sysctl("protocol"), sysctl("active_timeout")) if loaded() else None,
)
want = [f"-A {c} -j NETFLOW" for c in ["INPUT", "FORWARD", "OUTPUT"]]
t.eq("iptables: a rule at the top of INPUT, FORWARD, OUTPUT", want, netflow_rules("iptables"))
t.eq("ip6tables: the same (protocol 10)", want, netflow_rules("ip6tables"))
t.ok("...at the top of their chains", save("iptables")[0] == "-A INPUT -j NETFLOW", save("iptables"))
r = run("-m", "enable")
t.ok(
    "enable again adds nothing",
    r.returncode == 0 and netflow_rules("iptables") == want and netflow_rules("ip6tables") == want,
    save("iptables"),
)
t.ok("the operator's rules are untouched", others_intact(), save("iptables") + save("ip6tables"))
r = run("-m", "status")
t.ok("status: exit 0, silent", r.returncode == 0 and r.stdout == "", r)

# The collector gets the flows.
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    for _ in range(20):
        s.sendto(b"x" * 100, ("127.0.0.1", 5555))
with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
    for _ in range(20):
        s.sendto(b"x" * 100, ("::1", 5556))
t.sh("sysctl -qw net.netflow.flush=1")
versions = set()
try:
    deadline = time.time() + 10
    while time.time() < deadline and len(versions) == 0:
        data = col.recv(65535)
        versions.add(struct.unpack("!H", data[:2])[0])
except socket.timeout:
    pass
col.close()
t.eq("a collector receives IPFIX", {10}, versions)

# --- show ------------------------------------------------------------------
r = run("--json", "--top", "3")
try:
    j = json.loads(r.stdout)
except ValueError as e:
    j = {}
    t.ok("show --json is JSON", False, f"{e}: {r.stdout[:400]}")
else:
    t.ok("show --json is JSON", r.returncode == 0)
proc_settings = {n: sysctl(n) for n in os.listdir("/proc/sys/net/netflow")}
t.eq("--json settings are net.netflow.*", proc_settings, j.get("settings"))
status = j.get("status") or {}
with open("/proc/net/stat/ipt_netflow") as f:
    proc = f.read()
t.ok(
    "--json status agrees with /proc (protocol, timeouts, hash, socket)",
    status.get("protocol", {}).get("version") == 10
    and f"Timeouts: active {status['timeouts']['active']}s, inactive {status['timeouts']['inactive']}s." in proc
    and f"Hash: size {status['hash']['size']} " in proc
    and status["sockets"][0]["destination"] == "127.0.0.1:2055"
    and "sock0: 127.0.0.1:2055," in proc,
    json.dumps(status)[:600] + "\n" + proc,
)
proc_total = next(line for line in proc.splitlines() if line.startswith("Total"))
proc_pkts = int(proc_total.split("traffic:")[1].split(",")[0])
t.ok(
    "--json totals agree with /proc (metered packets, never ahead of it)",
    0 < status.get("total", {}).get("pkts", 0) <= proc_pkts and status.get("totals", {}).get("inPackets", -1) >= 40,
    f"json {status.get('total')} /proc {proc_total}",
)
t.eq("--json rules are both families' rules", 6, len(j.get("rules", [])))
t.ok("--json: loaded, no warnings", j.get("loaded") is True and j.get("warnings") == [], j.get("warnings"))
r = run("-m", "show")
t.ok(
    "show names the rules, the destination and the totals",
    r.returncode == 0
    and "Module: loaded" in r.stdout
    and "ipv6 -t filter -A FORWARD -j NETFLOW" in r.stdout
    and "destination       127.0.0.1:2055" in r.stdout
    and "exported    " in r.stdout,
    r.stdout,
)

# --- the operator's own NETFLOW rule keeps the module --------------------
t.sh("iptables -A FORWARD -i lo -j NETFLOW")
r = run("-m", "disable")
t.ok(
    "disable with another NETFLOW rule: exit 1, names it",
    r.returncode == 1 and "-A FORWARD -i lo -j NETFLOW" in r.stderr,
    f"{r.returncode} {r.stderr}",
)
t.ok(
    "...its own rules gone, that one kept, the module loaded",
    netflow_rules("iptables") == ["-A FORWARD -i lo -j NETFLOW"] and netflow_rules("ip6tables") == [] and loaded(),
    save("iptables"),
)
t.sh("iptables -D FORWARD -i lo -j NETFLOW")
r = run("-m", "disable")
t.ok("disable once that rule is gone: module unloaded", r.returncode == 0 and not loaded(), r.stderr)

# --- the unit's start and stop lines ---------------------------------------
unit = open(UNIT).read()
start = next(line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("ExecStart="))
stop = next(line.split("=", 1)[1] for line in unit.splitlines() if line.startswith("ExecStop="))
r = subprocess.run(start, shell=True, capture_output=True, text=True, timeout=120)
t.ok("the unit's ExecStart enables", r.returncode == 0 and loaded() and netflow_rules("ip6tables") == want, r.stderr)
log = open(LOG).read() if os.path.exists(LOG) else ""
t.ok("...and logs what it did", "loaded ipt_NETFLOW" in log and "ip6tables -t filter -I OUTPUT -j NETFLOW" in log, log)
r = subprocess.run(stop, shell=True, capture_output=True, text=True, timeout=120)
t.ok(
    "the unit's ExecStop disables: rules gone, module unloaded",
    r.returncode == 0 and not loaded() and netflow_rules("iptables") == [] and netflow_rules("ip6tables") == [],
    r.stderr,
)
t.ok("the operator's rules are still untouched", others_intact(), save("iptables") + save("ip6tables"))

# --- the legacy backend, and protocol 5 (no IPv6 rules) --------------------
with open(SERVICE_CONF, "a") as f:
    f.write("BACKEND=legacy\n")
r = run("-m", "enable", "--protocol", "5")
legacy = [x for x in save("iptables-legacy") if x.endswith("-j NETFLOW")]
t.ok(
    "BACKEND=legacy, --protocol 5: iptables-legacy rules only, and says why",
    r.returncode == 0 and legacy == want and save("ip6tables-legacy") == [] and "protocol 5 cannot carry IPv6" in r.stdout,
    f"{r.stdout}{r.stderr}{legacy}",
)
t.eq("--protocol on enable overrides modprobe.d", "5", sysctl("protocol") if loaded() else None)
r = run("-m", "disable")
t.ok("disable (legacy)", r.returncode == 0 and not loaded() and save("iptables-legacy") == [], r.stderr)

# --- a service file with a typo: enable refuses and changes nothing ---------
with open(SERVICE_CONF, "a") as f:
    f.write("CHAIN=INPUT\n")
r = run("-m", "enable")
t.ok(
    "a bad service configuration: exit 1, says where, loads nothing",
    r.returncode == 1 and "line" in r.stderr and "unknown setting 'CHAIN'" in r.stderr and not loaded(),
    r.stderr,
)

# --- remove ----------------------------------------------------------------
r = run("-m", "remove")
t.ok(
    "remove exits 0, despite the bad service configuration",
    r.returncode == 0 and "taking the default chains instead" in r.stdout,
    r.stdout + r.stderr,
)
gone = [p for p in [MODPROBE_CONF, SERVICE_CONF, MANIFEST, "/var/lib/ipt_netflow"] if os.path.exists(p)]
t.eq("remove deletes every file install created", [], gone)
t.ok("...and nothing else: the log, the unit, the module stay", os.path.exists(LOG) and os.path.exists(UNIT) and subprocess.run(["modinfo", "-n", "ipt_NETFLOW"], capture_output=True).returncode == 0)
t.ok("the operator's rules survive it all", others_intact(), save("iptables") + save("ip6tables"))
r = run("-m", "remove")
t.ok(
    "remove again: nothing to do, exit 0, and looking for rules loaded no module",
    r.returncode == 0 and "nothing to remove" in r.stdout and not loaded(),
    r.stdout + r.stderr,
)

for cmd, rules in OTHER_RULES.items():
    for rule in rules:
        t.sh(f"{cmd} {rule.replace('-A', '-D', 1)}")
print("# command.py done", flush=True)
sys.exit(1 if t.failed else 0)

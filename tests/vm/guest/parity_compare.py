#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Compares what the original C module and ours showed for the same traffic
(parity.py wrote DIR/theirs.json and DIR/ours.json):

    parity_compare.py DIR README

Runs in the VM (parity.sh), and as well on the host on a kept DIR (see
NF_PARITY_KEEP in parity.sh): it needs only tshark and Python.

Per export protocol (5, 9, 10), each of these is one comparison:
  - the flow records as tshark decodes them, every field, paired by the
    flow's address pair (each flow of the matrix has a source of its own),
    each with the field list of its template;
  - v9 and IPFIX: the templates (field lists; ids masked), the options
    records; the export headers;
  - /proc/net/stat/ipt_netflow and ipt_netflow_snmp line by line (digit
    runs masked), ipt_netflow_flows flow by flow and column by column;
  - which rules the module's check refuses (nat table; ip6tables under
    v5), and the kernel log lines of each step: load, refused rules,
    traffic, flush, protocol write, unload (digit runs and srcversion
    masked).
A comparison passes when it finds no difference, or only differences that
an entry of ALLOWED (an item of README's "Differences from the C module")
or of UNDOCUMENTED (found here, to be fixed or documented) accepts; each
other difference is a "not ok" line of its own. Clocks are compared as
times since each module's own load, within a tolerance (CLOSE); what must
differ between two loads (sequence numbers and datagram packing, which
follow the hash order; build ids; counters in text) is masked by the named
lists below, each with its reason.
"""
import copy
import datetime
import difflib
import json
import os
import re
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nettest as t  # noqa: E402
from parity import LOG_STEPS, PROTOCOLS  # noqa: E402

NAMES = ("theirs", "ours")

# --- masks ------------------------------------------------------------------
# Clock fields. Each module ran at its own time, the original first, ours
# a minute or two later (more on a busy machine), so a clock is compared as
# the time since its own load (parity.py notes the guest's wall clock and
# uptime just before each insmod), within a tolerance that no difference of
# meaning fits into: a different base, unit or epoch is minutes, hours or
# days off (the original's uptime is 300 s off, see WRAP). Per field: the
# tolerance in seconds, the guest clock it is rebased on (None: compared
# as it is), and what it is.
CLOCK_TOLERANCE = 30
CLOSE = {
    "cflow.timestart": (CLOCK_TOLERANCE, "uptime", "uptime of the flow's first packet (v5, v9)"),
    "cflow.timeend": (CLOCK_TOLERANCE, "uptime", "uptime of the flow's last packet (v5, v9)"),
    "cflow.abstimestart": (CLOCK_TOLERANCE, "wall", "wall clock of the flow's first packet (IPFIX)"),
    "cflow.abstimeend": (CLOCK_TOLERANCE, "wall", "wall clock of the flow's last packet (IPFIX)"),
    "cflow.sysuptime": (CLOCK_TOLERANCE, "uptime", "uptime at export (v5, v9 header)"),
    "cflow.unix_secs": (CLOCK_TOLERANCE, "wall", "wall clock at export (v5, v9 header)"),
    "cflow.exporttime": (CLOCK_TOLERANCE, "wall", "wall clock at export (IPFIX header)"),
    # A flow's packets leave the sender within milliseconds: the span is 0
    # or a few ms, depending on where tick boundaries fall.
    "cflow.timedelta": (0.1, None, "time between the flow's first and last packet"),
    # The system options record's span (option_record() names it so): from
    # the load to the export work's first run.
    "options.timedelta": (2, None, "time from the load to the system record's export"),
    # Wall clock less uptime, computed when the record is built: the same
    # boot for both, give or take rounding.
    "cflow.sys_init_time": (2, None, "boot time"),
}
# Export header fields left out, and why.
HEADER_MASKS = {
    # The clocks are compared (CLOSE) in the first and last datagram of each
    # load, not in every header.
    "cflow.sysuptime": "uptime at export",
    "cflow.unix_secs": "wall clock at export",
    "cflow.exporttime": "wall clock at export",
    # unix_secs and unix_nsecs as one date: compared as unix_secs.
    "cflow.timestamp": "wall clock at export",
    # The sub-second part of the clock (README also says that ours has
    # nanoseconds here, the original microseconds).
    "cflow.unix_nsecs": "wall clock at export, below the second",
    # How records are split into datagrams follows the order of the flows
    # in the hash table, and ours has a random hash seed per load (README:
    # "The flow-key hash has a random per-load seed"); so do the sequence
    # numbers (datagrams or records sent before), record counts and
    # lengths. The records are compared whatever datagram carries them, and
    # the first datagram's sequence number with the clocks.
    "cflow.sequence": "datagrams or records sent before this one",
    "cflow.count": "records in this datagram",
    "cflow.len": "length of this datagram",
}
# Template ids are handed out in order of first use, which follows the hash
# order too (see cflow.sequence): templates are compared by their field
# lists, and each record carries the field list of its template.
# Text masks for /proc, the kernel log and text fields of records, in order.
SRCVERSION = (re.compile(r"\b[0-9A-F]{23,24}\b"), "SRCVERSION")  # the build's id: differs by definition
TEXT_MASKS = [
    SRCVERSION,
    # Counters, rates, sizes and times (they depend on timing: rates, the
    # worker's delays, the hash size from free memory): what is compared
    # is the text around them. A fixed-width column pads a number by its
    # width, so the padding goes with it.
    (re.compile(r" *\d+"), lambda m: " N" if m.group(0).startswith(" ") else "N"),
]
# The module's own kernel log lines are those that name it (every message
# of both modules does: "ipt_NETFLOW", "netflow: ", "NETFLOW target");
# the others are the kernel's (under emulation e.g. "hrtimer: interrupt
# took N ns"), and its reports are judged by lib.sh's log checks.
MODULE_LINES = re.compile(r"netflow", re.I)
# ...and of those, the kernel's own: printed for the first out-of-tree
# module loaded in a boot, whichever of the two that is.
KERNEL_LINES = re.compile(r"loading out-of-tree module taints kernel|module verification failed")
# ipt_netflow_flows columns left out, and why.
FLOWS_MASKS = {
    "bucket": "position in the hash (README: random per-load seed)",
    "hash": "the flow's hash (README: random per-load seed)",
    "ts:first": "ticks since the first packet",
    "ts:last": "ticks since the last packet",
}


def mask_text(s):
    for rx, to in TEXT_MASKS:
        s = rx.sub(to, s)
    return s


# --- what may differ ----------------------------------------------------------

class Diff:
    """One difference: in comparison `comp`, for `subject` (a flow of the
    matrix, an options record; empty for lines), `field` (a record's field,
    "template", "line") is `theirs` there and `ours` here (None: absent)."""

    def __init__(self, comp, subject, field, theirs, ours):
        self.comp, self.subject, self.field, self.theirs, self.ours = comp, subject, field, theirs, ours

    def name(self):
        where = f"{self.subject}: " if self.subject else ""
        if self.theirs is None:
            what = f"only ours: {self.ours}"
        elif self.ours is None:
            what = f"only theirs: {self.theirs}"
        else:
            what = f"theirs {self.theirs!r}, ours {self.ours!r}"
        field = "" if self.field == "line" else f"{self.field}: "
        return f"{self.comp}: {where}{field}{what}"


class Allow:
    """Accepts a difference where each regex matches (comp, subject, field:
    re.search; theirs and ours: re.fullmatch on the value, "None" for an
    absent one) and `when(theirs, ours)` holds. `item` quotes README's
    "Differences from the C module" item (or, in UNDOCUMENTED, says what was
    found); `why` says how the difference follows from it."""

    def __init__(self, item, why, comp=".", subject=".*", field=".", theirs=".*", ours=".*", when=None):
        self.item, self.why = item, why
        self.rx = dict(comp=comp, subject=subject, field=field)
        self.values = (theirs, ours)
        self.when = when or (lambda a, b: True)
        self.used = 0

    def accepts(self, d):
        if not all(re.search(rx, getattr(d, k)) for k, rx in self.rx.items()):
            return False
        if not all(re.fullmatch(rx, str(v), re.S) for rx, v in zip(self.values, (d.theirs, d.ours))):
            return False
        try:
            return bool(self.when(d.theirs, d.ours))
        except (TypeError, ValueError):  # a value of another form than the entry is about
            return False


def num(v):
    """A number as tshark or /proc shows it: decimal, 0x-hex, or bytes
    "40:40:00:00"."""
    return int(v.replace(":", ""), 16) if ":" in v else int(v, 0)


def clock(v):
    """A clock field in seconds: a number, a date as tshark prints it
    ("Nov 30, 2026 15:25:15.419000000 UTC"), or a time since the load as
    rebase() writes it ("load+2.345")."""
    if v.startswith("load"):
        return float(v[4:])
    m = re.fullmatch(r"(\w{3} +\d{1,2}, \d{4} \d\d:\d\d:\d\d)\.(\d+) UTC", v)
    if not m:
        return float(v)
    stamp = datetime.datetime.strptime(f"{m[1]}.{m[2][:6].ljust(6, '0')}", "%b %d, %Y %H:%M:%S.%f")
    return stamp.replace(tzinfo=datetime.timezone.utc).timestamp()


def rebase(rec, t0):
    """`rec` with its clock fields as times since the load (see CLOSE); a
    value that does not parse is left as it is, to differ."""
    out = dict(rec)
    for k, v in rec.items():
        base = CLOSE.get(k, (0, None))[1]
        if base:
            try:
                out[k] = f"load{clock(v) - t0[base]:+.3f}"
            except ValueError:
                pass
    return out


def close(field, a, b):
    """Whether clock field values `a` and `b` agree within its tolerance."""
    try:
        return abs(clock(a) - clock(b)) <= CLOSE[field][0]
    except (TypeError, ValueError):
        return False


# The original's uptime is jiffies_to_msecs(jiffies) as a 32-bit count of
# milliseconds: jiffies start 300 s before zero (INITIAL_JIFFIES), so it is
# the uptime less 300 s, modulo 2^32 ms.
WRAP = 2**32 / 1000


def jiffies_uptime(theirs, ours):
    """Whether `theirs` is the original's uptime for ours (see WRAP)."""
    d = (clock(theirs) - clock(ours) + 300) % WRAP
    return min(d, WRAP - d) <= CLOCK_TOLERANCE


def jiffies_init_time(theirs, ours):
    """Whether `theirs` is wall clock less the original's uptime, for ours."""
    d = (clock(theirs) - clock(ours) - 300) % WRAP
    return min(d, WRAP - d) <= CLOSE["cflow.sys_init_time"][0]


def fields(template):
    return template.split(", ") if template else []


def only_in(a, b):
    """Fields of template `a` that template `b` has not."""
    return [f for f in fields(a) if f not in fields(b)]


def added(theirs, ours, rx):
    """Whether template `ours` is `theirs` with one or more fields whose
    names match `rx` added, and nothing else changed."""
    extra = only_in(ours, theirs)
    return (not only_in(theirs, ours) and extra and all(re.match(rx, f) for f in extra)
            and [f for f in fields(ours) if f not in extra] == fields(theirs))


ICMP_TYPE_FIELDS = r"ICMP_TYPE/|icmpTypeCodeIPv6/"
LATER_FRAGMENT = "^IPv6 later fragment after which"
FRAGMENT_PORTS = r"L4_SRC_PORT/|L4_DST_PORT/|TCP_FLAGS/"

# Differences the README documents ("Differences from the C module"); the
# subjects are the names of the matrix's entries (parity.py).
ALLOWED = [
    Allow("IPv6 flows carry the whole traffic class as their TOS",
          "the original's TOS of an IPv6 flow is the traffic class's upper 4 bits, shifted down",
          comp="flow records|ipt_netflow_flows$", subject="^IPv6 .*traffic class", field="^cflow.tos$|^tos$",
          when=lambda a, b: num(a) == num(b) >> 4 and num(a) != num(b)),
    Allow("IPv4 option bits use the 5-bit option number",
          "strict source route (137): the original's 137 & 0x17 = 1 is NOP's bit, which the packet's NOP "
          "sets anyway; ours sets bit 9 (137 & 0x1f) besides",
          comp="flow records|ipt_netflow_flows$", subject="strict source route",
          field="^cflow.option_map$|^options$",
          when=lambda a, b: num(b) & ~num(a) == 1 << (31 - 9) and not num(a) & ~num(b)),
    Allow("A later IPv6 fragment is not walked into as if its payload were extension headers",
          "the original reads the payload as the destination options header that the fragment header "
          "names, and sets that header's bit (0x8000)",
          comp="flow records|ipt_netflow_flows$", subject=LATER_FRAGMENT,
          field="^cflow.ipv6_exthdr$|^options$",
          when=lambda a, b: num(a) & ~num(b) == 0x8000 and not num(b) & ~num(a)),
    Allow("A later IPv6 fragment is not walked into as if its payload were extension headers",
          "...and takes the payload's first byte (17) as the protocol; ours keeps the fragment header's "
          "next header (60)",
          comp="flow records|ipt_netflow_flows$", subject=LATER_FRAGMENT, field="^cflow.protocol$|^proto$",
          theirs="17", ours="60"),
    Allow("A later IPv6 fragment is not walked into as if its payload were extension headers",
          "...so its record has the ports and TCP flags of a UDP flow (zero, a fragment has none); ours, "
          "for protocol 60, has neither",
          comp="flow records", subject=LATER_FRAGMENT, field="^cflow.(srcport|dstport|tcpflags)$",
          theirs="0|0x00", ours="None"),
    Allow("A later IPv6 fragment is not walked into as if its payload were extension headers",
          "...and their template has those fields",
          comp="flow records", subject=LATER_FRAGMENT, field="^template$",
          when=lambda a, b: added(b, a, FRAGMENT_PORTS)),
    Allow("A later IPv6 fragment is not walked into as if its payload were extension headers",
          "...so ours uses a template of IPv6 with extension headers and without ports that the "
          "original never needed here",
          comp="templates", field="^template$", theirs="None",
          ours=r"data template: IPV6_SRC_ADDR.*IPV6_OPTION_HEADERS/2, .*",
          when=lambda a, b: not re.search(FRAGMENT_PORTS, b)),
    Allow("NetFlow v9 ICMP records carry the type and code in ICMP_TYPE",
          "ours has ICMP_TYPE (32; 139 for ICMPv6) in v9 ICMP records, the original has no such field",
          comp="^v9 flow records", subject="ICMP", field="^cflow.icmp_(type_code_ipv4|ipv6_type|ipv6_code)$",
          theirs="None"),
    Allow("NetFlow v9 ICMP records carry the type and code in ICMP_TYPE",
          "...so their v9 templates have that field added",
          comp="^v9 (flow records|templates)", field="^template$",
          when=lambda a, b: added(strip_kind(a), strip_kind(b), ICMP_TYPE_FIELDS)),
    Allow("NetFlow v5 sysUptime and the records' First/Last are milliseconds since boot",
          "the original's uptime is jiffies-based (uptime less 300 s, modulo 2^32 ms: about 49.7 days "
          "during the first 5 minutes after boot): sysUptime of v5 and v9 headers, and the flows' "
          "FIRST/LAST_SWITCHED",
          comp="^v(5|9) (export clocks|flow records)", field="^cflow.(sysuptime|timestart|timeend)$",
          when=jiffies_uptime),
    Allow("NetFlow v5 sysUptime and the records' First/Last are milliseconds since boot",
          "...so the original's systemInitTimeMilliseconds (wall clock less that uptime) is 49.7 days "
          "early (or 300 s late, after the wrap)",
          comp="options records", field="^cflow.sys_init_time$", when=jiffies_init_time),
    Allow("The version is 2.6-rsN",
          "the version line of /proc/net/stat/ipt_netflow, which also has the tags of the runtime rule "
          "sets (README: The /proc header always has the tags)",
          comp="/proc/net/stat/ipt_netflow with flows$", field="line",
          theirs=r"ipt_NETFLOW N\.N, srcversion SRCVERSION;",
          ours=r"ipt_NETFLOW N\.N-rsN, srcversion SRCVERSION; aggr nel samp-h snmp"),
    Allow("The /proc header always has the tags \" aggr nel samp-h snmp\", the sampler line and the "
          "Natevents line",
          "the sampler line, which the original prints only when built with --enable-sampler",
          comp="/proc/net/stat/ipt_netflow with flows$", field="line", theirs="None",
          ours=r"Flow sampling is disabled\."),
    Allow("The /proc header always has the tags \" aggr nel samp-h snmp\", the sampler line and the "
          "Natevents line",
          "the Natevents line, which the original prints only when built with --enable-natevents",
          comp="/proc/net/stat/ipt_netflow with flows$", field="line", theirs="None",
          ours=r"Natevents disabled, count start N, stop N, lost N\."),
    Allow("At unload the module logs its export totals since load",
          "the totals line, after the last flows went out",
          comp="kernel log at unload$", field="line", theirs="None",
          ours=r"info: ipt_NETFLOW: since load: exported N flows of N packets, lost N flows of N packets"),
    Allow("The version is 2.6-rsN",
          "the version line the module logs first at load",
          comp="kernel log at load$", field="line",
          theirs=r"info: ipt_NETFLOW version N\.N, srcversion SRCVERSION",
          ours=r"info: ipt_NETFLOW version N\.N-rsN, srcversion SRCVERSION"),
    Allow("The version is 2.6-rsN",
          "observationDomainName of the system options record",
          comp="options records", field="^cflow.observation_domain_name$",
          theirs=r"ipt_NETFLOW 2\.6 SRCVERSION", ours=r"ipt_NETFLOW 2\.6-rs1 SRCVERSION"),
    Allow("The version is 2.6-rsN",
          "...which makes observationDomainName 4 bytes longer in its options template",
          comp="options records|templates", field="^template$",
          when=lambda a, b: "observationDomainName/40" in a and b == a.replace("observationDomainName/40",
                                                                              "observationDomainName/44")),
    Allow("The original meant to add speed and connector too but never did",
          "the options records of the veth pair's end without an alias and of the VLAN on it",
          comp="options records", field="^cflow.if_descr$",
          when=lambda a, b: re.fullmatch(re.escape(a) + r",\d+[MG]bE,\w+", b)),
    Allow("IPv6 flow labels are exported as the 20-bit label",
          "flowLabelIPv6 of the flow with a flow label",
          comp="flow records", subject="flow label", field="^cflow.ipv6flowlabel$",
          when=lambda a, b: num(a) & 0xFFFFF == num(b) and num(a) >> 20),
]

# Differences found by this suite that README does not document: each is
# to be fixed or documented (and then moved to ALLOWED). None is left.
UNDOCUMENTED = []


def strip_kind(x):
    """A templates-unit item without its "data template: " prefix."""
    return x.split(": ", 1)[1] if x and ": " in x else x


def classify(diffs):
    """(differences no entry accepts, [(entry, difference)] accepted)."""
    bad, ok = [], []
    for d in diffs:
        entry = next((e for e in ALLOWED + UNDOCUMENTED if e.accepts(d)), None)
        if entry:
            entry.used += 1
            ok.append((entry, d))
        else:
            bad.append(d)
    return bad, ok


# --- tshark -------------------------------------------------------------------

def stream_port(name, proto):
    """The UDP source port a stream (module, protocol) has in the pcap:
    tshark keeps templates per address, port and source id, so streams do
    not mix theirs."""
    return 40000 + 100 * NAMES.index(name) + proto


def write_pcap(streams, path):
    """One frame per export datagram, to 127.0.0.1:2055."""
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        n = 0
        for port, datagrams in streams:
            for d in datagrams:
                udp = struct.pack("!HHHH", port, 2055, 8 + len(d), 0) + d
                ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n & 0xFFFF, 0, 64, 17, 0,
                                 bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
                frame = bytes(12) + b"\x08\x00" + ip + udp
                out.write(struct.pack("<IIII", 1_700_000_000 + n, 0, len(frame), len(frame)) + frame)
                n += 1


def pairs_hook(pairs):
    """Keeps every key that tshark repeats in one object (json.loads would
    keep the last): the second and later get a "#N" suffix."""
    out = {}
    for k, v in pairs:
        key, n = k, 1
        while key in out:
            n += 1
            key = f"{k}#{n}"
        out[key] = v
    return out


def tshark(work, data):
    """{(name, protocol): [per datagram: its cflow tree]}, and the problems
    (tshark failed, a datagram malformed or not decoded): one run of
    tshark for all streams, as it is slow to start under emulation."""
    streams = [(stream_port(n, r["protocol"]), [bytes.fromhex(x) for x in r["datagrams"]])
               for n in NAMES for r in data[n]["runs"]]
    path = os.path.join(work, "exports.pcap")
    write_pcap(streams, path)
    r = subprocess.run(["tshark", "-n", "-r", path, "-d", "udp.port==2055,cflow", "-T", "json"],
                       capture_output=True, text=True)
    try:
        packets = json.loads(r.stdout, object_pairs_hook=pairs_hook)
    except json.JSONDecodeError as e:
        return {}, [f"tshark's output is not JSON ({e}): {r.stderr[-500:]}"]
    out, problems = {}, []
    for p in packets:
        layers = p["_source"]["layers"]
        port = int(layers["udp"]["udp.srcport"])
        key = (NAMES[(port - 40000) // 100], port % 100)
        if "_ws.malformed" in layers or "cflow" not in layers:
            problems.append(f"{key}: frame {layers['frame']['frame.number']} is malformed or not decoded")
            continue
        out.setdefault(key, []).append(layers["cflow"])
    want = sum(len(s[1]) for s in streams)
    if len(packets) != want:
        problems.append(f"tshark read {len(packets)} of {want} datagrams: {r.stderr[-500:]}")
    return out, problems


def leaves(node, out=None):
    """A record's fields: the leaves of its tree (cflow.tcpflags_tree, a
    bit-by-bit view of cflow.tcpflags, is left out: it would only repeat
    a difference of cflow.tcpflags)."""
    out = {} if out is None else out
    for k, v in node.items():
        if isinstance(v, dict):
            if k != "cflow.tcpflags_tree":
                leaves(v, out)
        else:
            out[k] = v
    return out


def template_fields(tree):
    """A template's field list as text, "NAME/LENGTH" per field (scope
    fields marked), without its id."""
    out = []
    for k, v in tree.items():
        if isinstance(v, dict) and k.startswith("Field ("):
            scope = " [Scope]" if "[Scope]" in k else ""
            out.append(f"{k.split(': ', 1)[1]}{scope}/{v.get('cflow.template_field_length')}")
    return ", ".join(out)


def decode_stream(cflows):
    """(headers, flow records, options records, templates, problems) of one
    stream; each record carries its template's field list as "template"."""
    headers, flows, options, templates, problems = [], [], [], [], []
    known = {}  # template id: (field list, whether an options template)
    for c in cflows:
        headers.append(leaves({k: v for k, v in c.items() if not re.match(r"(FlowSet|Set|pdu) ", k)}))
        for k, v in c.items():
            if k.startswith("pdu "):  # v5 has no templates
                flows.append(leaves(v))
                continue
            if not re.match(r"(FlowSet|Set) ", k):
                continue
            sid = int(v["cflow.flowset_id"])
            if sid < 256:
                for tk, tv in v.items():
                    if isinstance(tv, dict) and "Template (Id" in tk:
                        opt = tk.startswith("Options")
                        known[int(tv["cflow.template_id"])] = (template_fields(tv), opt)
                        templates.append(f"{'options' if opt else 'data'} template: {template_fields(tv)}")
                continue
            recs = [fv for fk, fv in v.items() if fk.startswith("Flow ") and isinstance(fv, dict)]
            if sid not in known or not recs:
                problems.append(f"a data set of template {sid} is not decoded (its template did not come first)")
                continue
            fl, opt = known[sid]
            for rec in recs:
                f = leaves(rec)
                f["template"] = fl
                (options if opt else flows).append(f)
    return headers, flows, options, templates, problems


# --- both modules' outputs as comparable units ----------------------------------

class Unit:
    """One comparison, of two lists: lines (kind "lines", compared in
    order), items (kind "set", compared as sets) or records (kind
    "records": dicts paired by their "_key", named by their "_subject")."""

    def __init__(self, name, kind, theirs, ours):
        self.name, self.kind, self.items = name, kind, {"theirs": theirs, "ours": ours}


def flow_record(r, subjects):
    r = dict(r)
    src = r.get("cflow.srcaddr") or r.get("cflow.srcaddrv6")
    dst = r.get("cflow.dstaddr") or r.get("cflow.dstaddrv6")
    r["_key"] = f"{src} -> {dst}"
    r["_subject"] = f"{subjects.get(src, 'not sent')} ({r['_key']})"
    return r


def option_record(r):
    r = {("options.timedelta" if k == "cflow.timedelta" else k): SRCVERSION[0].sub(SRCVERSION[1], v)
         for k, v in r.items()}
    # Named by the first field after the scope (the kind of record) and,
    # for an interface, its index and name.
    kind = next((f.split("/")[0] for f in fields(r["template"]) if "[Scope]" not in f), "?")
    r["_key"] = f"{kind} {r.get('cflow.inputint', '')}".strip()
    r["_subject"] = f"options record {r['_key']}" + (f" ({r['cflow.if_name']})" if "cflow.if_name" in r else "")
    return r


def export_units(proto, decoded, subjects, t0):
    """The export comparisons of one protocol (t0: per module, its clocks
    at the load), the flow records each module exported, and what tshark
    could not decode."""
    parts = {n: decode_stream(decoded.get((n, proto), [])) for n in NAMES}
    units = [Unit(f"v{proto} flow records", "records",
                  *([flow_record(rebase(r, t0[n]), subjects) for r in parts[n][1]] for n in NAMES))]
    if proto != 5:
        units.append(Unit(f"v{proto} templates", "set", *(parts[n][3] for n in NAMES)))
        units.append(Unit(f"v{proto} options records", "records",
                          *([option_record(rebase(r, t0[n])) for r in parts[n][2]] for n in NAMES)))
    units.append(Unit(f"v{proto} export clocks", "records",
                      *([rebase(r, t0[n]) for r in clock_records(parts[n][0])] for n in NAMES)))
    units.append(Unit(f"v{proto} export headers", "set",
                      *([json.dumps({k: v for k, v in h.items() if k not in HEADER_MASKS}, sort_keys=True)
                         for h in parts[n][0]] for n in NAMES)))
    problems = [f"{n} v{proto}: {p}" for n in NAMES for p in parts[n][4]]
    return units, {n: len(parts[n][1]) for n in NAMES}, problems


def clock_records(headers):
    """The clocks of a load's first and last export datagram, and the
    first one's sequence number (the count starts at the load)."""
    out = []
    for where, h in (("first", headers[:1]), ("last", headers[-1:])):
        for x in h:
            r = {k: v for k, v in x.items() if k in CLOSE or (where == "first" and k == "cflow.sequence")}
            r["_key"] = r["_subject"] = f"{where} export datagram"
            out.append(r)
    return out


FLOWS_COLUMNS = ["bucket", "hash", "a", "i", "o", "proto", "src", "sport", "dst", "dport", "nexthop",
                 "tos", "tcpflags", "options", "tcpoptions", "packets", "bytes", "ts:first", "ts:last"]


def flows_records(text, subjects):
    """ipt_netflow_flows, one record per flow, by its header's columns."""
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        p = line.split()
        try:
            vals = [p[0], p[1], p[2], *p[3].split(","), p[4], *p[5].rsplit(",", 1), *p[6].rsplit(",", 1), p[7],
                    *p[8].split(","), p[9], p[10], *p[11].split(",")]
        except IndexError:
            vals = []
        r = dict(zip(FLOWS_COLUMNS, vals)) if len(vals) == len(FLOWS_COLUMNS) else {"line": line}
        r = {k: v for k, v in r.items() if k not in FLOWS_MASKS}
        for k in ("tos", "tcpflags", "options", "tcpoptions"):  # hexadecimal there
            if k in r:
                r[k] = hex(int(r[k], 16))
        r["_key"] = f"{r.get('src')} -> {r.get('dst')}"
        r["_subject"] = f"{subjects.get(r.get('src'), 'not sent')} ({r['_key']})"
        out.append(r)
    return out


def log_lines(lines):
    return [mask_text(x) for x in lines if MODULE_LINES.search(x) and not KERNEL_LINES.search(x)]


def all_units(data, decoded, subjects):
    units, counts, problems = [], {}, []
    for i, proto in enumerate(PROTOCOLS):
        runs = {n: data[n]["runs"][i] for n in NAMES}
        u, counts[proto], p = export_units(proto, decoded, subjects, {n: runs[n]["t0"] for n in NAMES})
        units += u
        problems += p
        for f in ("ipt_netflow", "ipt_netflow_snmp"):
            units.append(Unit(f"v{proto} /proc/net/stat/{f} with flows", "lines",
                              *([mask_text(x) for x in runs[n]["proc"][f].splitlines()] for n in NAMES)))
        flows = {n: runs[n]["proc"]["ipt_netflow_flows"] for n in NAMES}
        units.append(Unit(f"v{proto} /proc/net/stat/ipt_netflow_flows header", "lines",
                          *([x for x in flows[n].splitlines() if x.startswith("#")] for n in NAMES)))
        units.append(Unit(f"v{proto} /proc/net/stat/ipt_netflow_flows", "records",
                          *(flows_records(flows[n], subjects) for n in NAMES)))
        units.append(Unit(f"v{proto} rules the module refuses", "lines", *(runs[n]["refused"] for n in NAMES)))
        for step in LOG_STEPS:
            units.append(Unit(f"v{proto} kernel log at {step}", "lines",
                              *(log_lines(runs[n]["log"][step]) for n in NAMES)))
    return units, counts, problems


# --- comparing ------------------------------------------------------------------

def line_diffs(name, a, b):
    """Lines in order: what only one side has; a line changed in place (a
    close match in the same place) as one difference."""
    diffs = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        la, lb = a[i1:i2], list(b[j1:j2])
        for x in la:
            close = next((y for y in lb if difflib.SequenceMatcher(None, x, y).ratio() >= 0.75), None)
            if close is not None:
                del lb[:lb.index(close) + 1]  # what stood before it is reported below
                diffs.append(Diff(name, "", "line", x, close))
            else:
                diffs.append(Diff(name, "", "line", x, None))
        paired = {d.ours for d in diffs}
        diffs += [Diff(name, "", "line", None, y) for y in b[j1:j2] if y not in paired]
    return diffs


def set_diffs(name, a, b):
    """Items only one side has; an only-theirs and an only-ours item that
    one table entry explains together make one difference."""
    field = "template" if "templates" in name else "header"
    lone_a = [x for x in sorted(set(a) - set(b))]
    lone_b = [x for x in sorted(set(b) - set(a))]
    diffs = []
    for x in lone_a:
        y = next((y for y in lone_b if any(e.accepts(Diff(name, "", field, x, y)) for e in ALLOWED + UNDOCUMENTED)),
                 None)
        if y is not None:
            lone_b.remove(y)
        diffs.append(Diff(name, "", field, x, y))
    return diffs + [Diff(name, "", field, None, y) for y in lone_b]


def record_diffs(name, a, b):
    """Records paired by key (several of one key in sorted order): a record
    only one side has, or each field whose values differ."""
    groups = {}
    for side, recs in (("theirs", a), ("ours", b)):
        for r in recs:
            groups.setdefault(r["_key"], {"theirs": [], "ours": []})[side].append(r)
    diffs = []
    for key in sorted(groups):
        ga, gb = (sorted(groups[key][s], key=lambda r: json.dumps(r, sort_keys=True)) for s in NAMES)
        for k in range(max(len(ga), len(gb))):
            ra, rb = (ga[k] if k < len(ga) else None), (gb[k] if k < len(gb) else None)
            subject = (ra or rb)["_subject"]
            if ra is None or rb is None:
                diffs.append(Diff(name, subject, "record", "present" if ra else None, "present" if rb else None))
                continue
            for f in sorted(set(ra) | set(rb)):
                a, b = ra.get(f), rb.get(f)
                if f.startswith("_") or a == b or (f.split("#")[0] in CLOSE and close(f.split("#")[0], a, b)):
                    continue
                diffs.append(Diff(name, subject, f, a, b))
    return diffs


def compare(unit):
    a, b = unit.items["theirs"], unit.items["ours"]
    return {"lines": line_diffs, "set": set_diffs, "records": record_diffs}[unit.kind](unit.name, a, b)


# --- the self-test: a planted difference must be found ----------------------------

PLANTED = " (planted by the self-test)"


def planted(unit):
    """`unit` with ours replaced by theirs, once as it is and once with one
    change where the comparison must look: the first line or item (or one
    more, where there is none), or the first compared field of the first
    record."""
    same = copy.deepcopy(unit)
    same.items["ours"] = copy.deepcopy(unit.items["theirs"])
    changed = copy.deepcopy(same)
    ours = changed.items["ours"]
    if unit.kind in ("lines", "set"):
        if ours:
            ours[0] += PLANTED
        else:
            ours.append(PLANTED)
    elif ours:
        field = next(f for f in sorted(ours[0]) if not f.startswith("_"))
        ours[0][field] = str(ours[0][field]) + PLANTED
    else:
        ours.append({"_key": "planted", "_subject": "planted", "field": PLANTED})
    return same, changed


def blind_units(units):
    """The units whose comparison finds a difference between equal inputs
    or misses the planted one (the tables' use counts are left as found)."""
    saved = [e.used for e in ALLOWED + UNDOCUMENTED]
    blind = []
    for u in units:
        same, changed = planted(u)
        if compare(same) or not classify(compare(changed))[0]:
            blind.append(u.name)
    for e, n in zip(ALLOWED + UNDOCUMENTED, saved):
        e.used = n
    return blind


# --- the run --------------------------------------------------------------------

def readme_section(path):
    """README's "Differences from the C module" section, whitespace folded."""
    text = open(path).read()
    heading = re.search(r"^Differences from the C module\n-+\n", text, re.M)
    following = re.compile(r"^\S.*\n-+\n", re.M).search(text, heading.end())
    return re.sub(r"\s+", " ", text[heading.end():following.start() if following else None])


def main():
    work, readme = sys.argv[1:3]
    data = {n: json.load(open(os.path.join(work, f"{n}.json"))) for n in NAMES}
    subjects = {**data["theirs"]["subjects"], **data["ours"]["subjects"]}
    start = time.time()
    decoded, problems = tshark(work, data)
    print(f"# tshark took {time.time() - start:.1f} s", flush=True)
    units, counts, more = all_units(data, decoded, subjects)
    problems += more
    # Checks: tshark decoded everything; each module exported every flow,
    # per protocol; each unit; the tables quote README and are all needed;
    # the comparison finds a planted difference in every unit.
    t.plan(1 + len(NAMES) * len(PROTOCOLS) + len(units) + 3)
    t.ok("tshark decodes every export datagram of both modules, every data set with its template",
         not problems, "\n".join(problems[:20]))
    for i, proto in enumerate(PROTOCOLS):
        for n in NAMES:
            t.eq(f"{n} v{proto}: every flow of the matrix was exported once", data[n]["runs"][i]["sent_flows"],
                 counts[proto][n])
    for u in units:
        bad, accepted = classify(compare(u))
        # Accepted differences as comments, one line per entry and field
        # (with the first example and how many there were).
        seen = {}
        for entry, d in accepted:
            seen.setdefault((id(entry), d.field), []).append((entry, d))
        for group in seen.values():
            entry, d = group[0]
            table = "ALLOWED" if entry in ALLOWED else "UNDOCUMENTED"
            more = f" (and {len(group) - 1} more like it)" if len(group) > 1 else ""
            print(f"# {table} ({entry.item}): {d.name()}{more}", flush=True)
        if not bad:
            t.ok(u.name, True)
        for d in bad:
            t.ok(d.name(), False, f"theirs: {d.theirs}\nours:   {d.ours}")
    section = readme_section(readme)
    t.ok("every ALLOWED entry quotes an item of README's \"Differences from the C module\"",
         all(e.item in section for e in ALLOWED), [e.item for e in ALLOWED if e.item not in section])
    t.ok("every ALLOWED and UNDOCUMENTED entry was needed (none is stale)",
         all(e.used for e in ALLOWED + UNDOCUMENTED),
         "\n".join(f"{e.item}: {e.why}" for e in ALLOWED + UNDOCUMENTED if not e.used))
    blind = blind_units(units)
    t.ok(f"each of the {len(units)} comparisons finds no difference between equal inputs and finds one planted",
         not blind, blind)
    print(f"# parity_compare.py done: {t.failed} failed", flush=True)
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())

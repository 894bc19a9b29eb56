#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turns the raw output of tests/bench/guest/bench.sh into Markdown tables.

    report.py build/bench/6.12.raw build/bench/7.3.raw

Per kernel and flow count: received packets per second for each variant
(median and min-max over the repetitions), the ratio to the no-rule
baseline, and the per-packet cost in ns derived from 1/pps differences
measured in the same repetition (so slow drift of an emulated machine
cancels out):

    rule   = 1/pps(noop)  - 1/pps(none)     an empty rule
    target = 1/pps(impl)  - 1/pps(noop)     the NETFLOW target itself

NAT events (tests/bench/guest/nat.sh): every packet is a new NATed
connection and CPU 0 never idles, so 1/rate is the guest time of the whole
machine per new connection (under -icount, the instructions of both vCPUs);
the extra cost per event of a variant is, within a repetition,

    (1/rate(variant) - 1/rate(off)) / (events / connections in its window)
"""
import re
import statistics
import sys
from collections import defaultdict


def kv(line):
    return dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_range(xs, f="{:.0f}"):
    if not xs:
        return "-"
    return (f + " (" + f + "–" + f + ")").format(med(xs), min(xs), max(xs))


def num(v):
    try:
        return int(v)
    except ValueError:
        return None


def parse(path):
    """The raw lines of one kernel's run, by kind: throughput runs
    ((flows, rep) -> variant -> pps), memory and export lines by impl, NAT
    lines, and the run's flavor, notes, kernel and icount shift."""
    runs = defaultdict(dict)  # (flows, rep) -> variant -> pps
    mem = defaultdict(list)  # (impl, flows) -> [kv]
    exp = defaultdict(list)  # impl -> [kv]
    nat = []  # [kv]
    flavor, notes, kernel, shift = path, [], "", None
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("# kernel-flavor "):
            flavor = line[len("# kernel-flavor "):]
        elif line.startswith("# qemu-opts "):
            m = re.search(r"-icount shift=(\d+)", line)
            shift = int(m.group(1)) if m else None
        elif line.startswith("# kernel "):
            kernel = line[2:]
        elif line.startswith("# theirs-build-error") or line.startswith("# WARNING") or line.startswith("# FATAL"):
            notes.append(line[2:])
        elif line.startswith("R "):
            d = kv(line)
            runs[(int(d["flows"]), int(d["rep"]))][d["variant"]] = int(d["pps"])
            if int(d.get("dropped", 0)):
                notes.append(f"drops: {line}")
        elif line.startswith("M "):
            d = kv(line)
            mem[(d["impl"], int(d["flows"]))].append(d)
        elif line.startswith("X "):
            d = kv(line)
            exp[d["impl"]].append(d)
        elif line.startswith("N "):
            nat.append(kv(line))
    return runs, mem, exp, nat, flavor, notes, kernel, shift


def target_costs(runs, impls):
    """Per flow count, per-repetition costs derived within a repetition:
    base (1/pps with no rule), rule, each impl's target, and ours/theirs."""
    cost = {}
    for fl in sorted({f for f, _ in runs}):
        c = defaultdict(list)
        for (f, r), d in sorted(runs.items()):
            if f != fl:
                continue
            if "none" in d and "noop" in d:
                c["rule"].append(1e9 / d["noop"] - 1e9 / d["none"])
                c["base"].append(1e9 / d["none"])
            for i in impls:
                if i in d and "noop" in d:
                    c[i].append(1e9 / d[i] - 1e9 / d["noop"])
            if "ours" in d and "theirs" in d and "noop" in d:
                c["ratio"].append((1e9 / d["ours"] - 1e9 / d["noop"]) / (1e9 / d["theirs"] - 1e9 / d["noop"]))
        cost[fl] = c
    return cost


def impls_of(runs):
    return [i for i in ("ours", "theirs", "ours+hash4", "ours+aggr16") if any(i in v for v in runs.values())]


def report(path):
    runs, mem, exp, nat, flavor, notes, kernel, shift = parse(path)
    impls = impls_of(runs)
    flows_list = sorted({f for f, _ in runs})
    print(f"## {flavor}: {kernel}\n")
    if "theirs" not in impls:
        print("The original C module is not measured on this kernel (it does not build; see notes).\n")

    # Throughput.
    print("Received packets/s, median (min–max); ratio of medians to no rule:\n")
    hdr = ["flows", "reps", "no rule", "empty rule"] + [f"NETFLOW {i}" for i in impls]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for fl in flows_list:
        reps = [r for (f, r) in runs if f == fl]
        row = [str(fl), str(len(reps))]
        base = med([runs[(fl, r)]["none"] for r in reps if "none" in runs[(fl, r)]])
        for v in ["none", "noop"] + impls:
            xs = [runs[(fl, r)][v] for r in reps if v in runs[(fl, r)]]
            s = fmt_range(xs)
            if v != "none" and xs:
                s += f" ×{med(xs) / base:.2f}"
            row.append(s)
        print("| " + " | ".join(row) + " |")
    cost = target_costs(runs, impls)
    print()

    # Costs, in emulated instructions when guest time counts instructions.
    if shift is not None:
        unit = 2 ** shift
        print(f"Per-packet cost in emulated instructions (qemu -icount shift={shift}: guest time "
              f"advances {unit} ns per instruction, so cost = Δ(1/pps) / {unit} ns), "
              "median (min–max) over repetitions:\n")
        for c in cost.values():
            for k in ["base", "rule"] + impls:
                c[k] = [x / unit for x in c[k]]
    else:
        print("Per-packet cost in ns of guest time (emulated CPU), median (min–max) over repetitions:\n")
    hdr = ["flows", "whole path, no rule", "empty rule"] + [f"target {i}" for i in impls]
    if "theirs" in impls:
        hdr.append("ours / original")
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for fl in flows_list:
        c = cost[fl]
        row = [str(fl), fmt_range(c["base"]), fmt_range(c["rule"])] + [fmt_range(c[i]) for i in impls]
        if "theirs" in impls:
            row.append(fmt_range(c["ratio"], "{:.2f}"))
        print("| " + " | ".join(row) + " |")
    if "ours" in impls and flows_list:
        lo, hi = flows_list[0], flows_list[-1]
        if cost[lo]["ours"] and cost[hi]["ours"]:
            print(f"\nOur target cost at {hi} flows / at {lo} flow: "
                  f"{med(cost[hi]['ours']) / med(cost[lo]['ours']):.2f}")
        if "theirs" in impls and cost[lo]["theirs"] and cost[hi]["theirs"]:
            print(f"Original's target cost at {hi} flows / at {lo} flow: "
                  f"{med(cost[hi]['theirs']) / med(cost[lo]['theirs']):.2f}")
    print()

    # Memory.
    print("Memory per active flow (after the window; medians over repetitions):\n")
    hdr = ["flows", "impl", "active flows", "module's mem line / flow (B)", "record size (B)",
           "hash share / flow (B)", "measured slab growth / flow (B)", "metering drops"]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    for fl in flows_list:
        for i in impls:
            ms = mem.get((i, fl), [])
            if not ms:
                continue
            act = med([int(m["active"]) for m in ms])
            hm = med([int(m["hash_memory"]) for m in ms])
            per = hm / act if act else float("nan")
            hb = med([int(m["hash_bytes"]) for m in ms])
            rec = f"{(hm - hb) / act:.0f}" if act else "-"
            hash_share = hb / act if act else float("nan")
            slab = med([int(m["slab_kb_delta"]) * 1024 for m in ms]) / act if act else float("nan")
            drops = sum(int(m["pkt_drop"]) + int(m["alloc_err"]) + int(m["maxflows_err"]) for m in ms)
            slab_s = f"{slab:.0f}" if fl >= 10000 else "(too few flows)"
            print(f"| {fl} | {i} | {act:.0f} | {per:.0f} | {rec} | {hash_share:.0f} | {slab_s} | {drops} |")
    print()

    # Export.
    if exp:
        print("Export under churn (65536 flows, active and inactive timeouts 1 s, NetFlow v5 "
              "to a UDP sink in the guest), per repetition:\n")
        hdr = ["impl", "rep", "metered pkts/s", "active flows", "exported flows/s", "exported total",
               "sink received", "lost (module)", "send errors", "sink rcvbuf drops", "metering drops",
               "CPU busy ‰ (cpu0,cpu1)", "exporter ns / flow", "exporter instructions / flow"]
        print("| " + " | ".join(hdr) + " |")
        print("|" + "---|" * len(hdr))
        per_flow = {}
        for i in impls:
            for d in exp.get(i, []):
                sink = d.get("sink", "-")
                rec = sink.split("/")[1] if "/" in sink else sink
                drops = int(d["pkt_drop"]) + int(d["alloc_err"]) + int(d["maxflows_err"])
                ns = instr = "-"
                if int(d.get("kworker_flows", 0)) > 0:
                    v = int(d["kworker_ns"]) / int(d["kworker_flows"])
                    per_flow.setdefault(i, []).append(v)
                    ns = f"{v:.0f}"
                    instr = f"{v / 2 ** shift:.0f}" if shift is not None else "-"
                print(f"| {i} | {d['rep']} | {d['pps']} | {d['active']} | {d['flows_per_s']} | "
                      f"{d['exported']} | {rec} | {d['lost']} | {d['err']} | "
                      f"{d['udp_rcvbuf_errors']} | {drops} | {d.get('busy_permille_per_cpu', '-')} | "
                      f"{ns} | {instr} |")
        print()
        print("The exporter's CPU time is what the kernel's workqueue threads ran in the window "
              "(their scheduler runtime, tests/bench/guest/kworker_ns.py), per flow exported in it; "
              "under -icount it is the exporter's instructions times the emulated time per "
              "instruction.")
        if len(per_flow) == 2 and all(per_flow.values()):
            o, t = statistics.median(per_flow["ours"]), statistics.median(per_flow["theirs"])
            print(f"\nExporter CPU per exported flow, ours / original (medians): {o / t:.2f}")
        print()
    if nat:
        nat_table(nat, shift)
    if notes:
        print("Notes from the run:\n")
        for n in notes:
            print(f"- {n}")
        print()


def nat_table(runs, shift):
    """The NAT events workload: one row per run, then the medians."""
    unit = 2 ** shift if shift is not None else None

    def per_conn_us(d):
        return int(d["us"]) / int(d["conns"]) if int(d["conns"]) else float("nan")

    def events(d):
        if d["variant"] == "listener":
            return int(d["listener_events"])
        return int(d["ev_start"]) + int(d["ev_stop"])

    def fmt_cost(us):
        s = f"{us:.1f} µs"
        return s + (f" ({us * 1000 / unit:.0f})" if unit else "")

    off = {d["rep"]: d for d in runs if d["variant"] == "off"}
    extra = defaultdict(list)  # variant -> [µs per event]
    slow = defaultdict(list)  # variant -> [rate / rate(off)]
    proto = runs[0].get("proto", "?")
    print(f"NAT events (our module only; masquerading router, every packet a new UDP connection, "
          f"pktgen back to back; protocol {proto} to a UDP sink in the guest), per run:\n")
    hdr = ["variant", "rep", "new conns/s", "µs per conn" + (" (instructions)" if unit else ""),
           "CPU busy ‰ (cpu0,cpu1)", "events in window (create+delete)", "events / conn",
           "extra per event vs off: µs" + (" (instructions)" if unit else ""),
           "events taken (run)", "exported (sink)", "lost", "send errors", "sink rcvbuf drops",
           "conntrack failures"]
    print("| " + " | ".join(hdr) + " |")
    print("|" + "---|" * len(hdr))
    order = {"off": 0, "listener": 1, "on": 2}
    for d in sorted(runs, key=lambda d: (order.get(d["variant"], 9), int(d["rep"]))):
        v, conns = d["variant"], int(d["conns"])
        ev = events(d)
        epc = ev / conns if conns else float("nan")
        name = {"off": "natevents=0", "listener": "natevents=0 + idle listener",
                "on": "natevents=1"}.get(v, v)
        cell = "-"
        base = off.get(d["rep"])
        if v != "off" and base and ev:
            x = (per_conn_us(d) - per_conn_us(base)) / epc
            extra[v].append(x)
            slow[v].append(int(base["us"]) / int(base["conns"]) / per_conn_us(d))
            cell = fmt_cost(x)
        if v == "listener":
            taken = exported = lost = "-"
        else:
            taken = int(d["start"]) + int(d["stop"])
            sink = d.get("sink", "-").split("/")
            exported = sink[2] if len(sink) > 2 else "-"
            lost = d["lost"]
        fails = sum(int(d[k]) for k in ("invalid", "insert_failed", "ct_drop", "early_drop"))
        print(f"| {name} | {d['rep']} | {d['conns_per_s']} | {fmt_cost(per_conn_us(d))} | "
              f"{d['busy_permille_per_cpu']} | {ev} | {epc:.2f} | {cell} | {taken} | {exported} | "
              f"{lost} | {d['err']} | {d['udp_rcvbuf_errors']} | {fails} |")
    print()
    if extra.get("on"):
        on = med(extra["on"])
        print(f"Per NAT event, natevents=1 costs {fmt_cost(on)} of the whole machine's time "
              f"(median over repetitions; instructions in brackets)", end="")
        if extra.get("listener"):
            lis = med(extra["listener"])
            print(f": conntrack's own building and sending of the event (the idle listener) "
                  f"{fmt_cost(lis)}, the module's taking, decoding and exporting it {fmt_cost(on - lis)}", end="")
        print(f". New connections per second with natevents=1: {med(slow['on']):.2f} × natevents=0.\n")
    clock = ("the guest's clock counts the instructions of both vCPUs (-icount), so"
             if unit else "guest time is shared by both vCPUs, so")
    print("Every packet is a new connection (pktgen steps source and destination ports through a "
          "million pairs), masqueraded by the router namespace and confirmed, which is when conntrack "
          "reports it; UDP conntrack timeouts of 1 s make the entries die at about the same rate (the "
          "delete events). CPU 0 runs pktgen and never idles, and " + clock + " \"µs per conn\" "
          "(window / new connections) is the whole machine's time for one connection: pktgen, "
          "conntrack and NAT, the events, the module's scanner, conntrack's garbage collector. The extra "
          "per event is (µs per conn − the same repetition's natevents=0) / (events / conn). The idle "
          "listener subscribes to the same conntrack events and never reads them: conntrack builds and "
          "sends each one, the full socket drops it (its drops are its events), which is what any "
          "listener costs; natevents=1 minus that is the module's own share. CPU busy is /proc/stat's "
          "tick-sampled busy per CPU over the window, as in the churn table. \"Events taken\" are the "
          "run's create and delete counts from the Natevents line (the capture is switched off a second "
          "after the traffic), \"exported\" the NAT event records the sink received, \"lost\" the "
          "events the module's socket had no room for; conntrack failures are entries counted invalid, "
          "failed to insert, dropped or early-dropped.\n")


def main():
    for p in sys.argv[1:]:
        report(p)


if __name__ == "__main__":
    main()

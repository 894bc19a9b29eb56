#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turns an instruction trace (tests/bench/gdb_trace.py) into a profile.

    trace_report.py KALLSYMS TRACE

Prints, for each traced call, the number of instructions executed and how
they split over functions (self counts: instructions whose address lies in
that function), then the calls' common profile. Symbols come from a copy of
the guest's /proc/kallsyms taken while the module was loaded.
"""
import bisect
import re
import subprocess
import collections
import sys


def load_symbols(path):
    syms = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or parts[1] not in "tTwW":
                continue
            name = parts[2]
            if len(parts) > 3:
                name += " " + parts[3]
            syms.append((int(parts[0], 16), name))
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


def demangle(names):
    """Readable names: c++filt demangles Rust's v0 symbols; crate hashes
    and paths inside generic arguments are dropped."""
    names = sorted(set(names))
    out = subprocess.run(["c++filt"], input="\n".join(n.split(" ")[0] for n in names),
                         capture_output=True, text=True, check=True).stdout.split("\n")
    table = {}
    for name, plain in zip(names, out):
        plain = re.sub(r"\[[0-9a-f]{16}\]", "", plain)
        plain = re.sub(r"\b(netflow|core|kernel)::", "", plain)
        module = name.partition(" ")[2]
        table[name] = plain + (" " + module if module else "")
    return table


def main():
    addrs, names = load_symbols(sys.argv[1])
    calls = []
    with open(sys.argv[2]) as f:
        for line in f:
            line = line.strip()
            if line.startswith("call"):
                calls.append([])
            elif line:
                calls[-1].append(int(line, 16))
    hit = {bisect.bisect_right(addrs, pc) - 1 for pcs in calls for pc in pcs}
    readable = demangle(names[i] for i in hit if i >= 0)
    for n, pcs in enumerate(calls):
        per = collections.Counter()
        order = []
        for pc in pcs:
            i = bisect.bisect_right(addrs, pc) - 1
            name = readable[names[i]] if i >= 0 else "?"
            per[name] += 1
            if not order or order[-1] != name:
                order.append(name)
        print(f"call {n}: {len(pcs)} instructions")
        for name, c in per.most_common():
            print(f"  {c:6d}  {name}")
        print("  path: " + " > ".join(order[:80]))


if __name__ == "__main__":
    main()

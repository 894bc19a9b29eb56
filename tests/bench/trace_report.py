#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turns an instruction trace (tests/bench/gdb_trace.py) into a profile.

    trace_report.py KALLSYMS TRACE [PER]

Prints, for each traced call, the number of instructions executed and how
they split over functions (self counts: instructions whose address lies in
that function). With PER, the name of a function entered once per record
(kmem_cache_free for the scanner, which frees each flow it exports), it
counts each call's records instead and prints the calls' common profile in
instructions per record. Symbols come from a copy of
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
    per_name = sys.argv[3] if len(sys.argv) > 3 else None
    calls, truncated = [], set()
    with open(sys.argv[2]) as f:
        for line in f:
            line = line.strip()
            if line.startswith("call"):
                calls.append([])
            elif line == "truncated":
                truncated.add(len(calls) - 1)
            elif line:
                calls[-1].append(int(line, 16))
    hit = {bisect.bisect_right(addrs, pc) - 1 for pcs in calls for pc in pcs}
    readable = demangle(names[i] for i in hit if i >= 0)
    # The entry address of PER (a function entered once per record, such
    # as the slab free of an exported flow): its entries count the records
    # a call handled.
    entry = None
    if per_name:
        entry = next((a for a, n in zip(addrs, names) if n.split(" ")[0] == per_name), None)
        if entry is None:
            sys.exit(f"trace_report: no symbol {per_name} in {sys.argv[1]}")
    total = collections.Counter()
    total_records = 0
    for n, pcs in enumerate(calls):
        per = collections.Counter()
        order = []
        for pc in pcs:
            i = bisect.bisect_right(addrs, pc) - 1
            name = readable[names[i]] if i >= 0 else "?"
            per[name] += 1
            if not order or order[-1] != name:
                order.append(name)
        total.update(per)
        note = " (TRUNCATED: the step limit ended it)" if n in truncated else ""
        if entry is None:
            print(f"call {n}: {len(pcs)} instructions{note}")
            for name, c in per.most_common():
                print(f"  {c:6d}  {name}")
            print("  path: " + " > ".join(order[:80]))
            continue
        records = sum(1 for pc in pcs if pc == entry)
        total_records += records
        print(f"call {n}: {len(pcs)} instructions, {records} records{note}")
    if entry is None or not calls:
        return
    instrs = sum(total.values())
    print(f"all calls: {instrs} instructions, {total_records} records"
          + (f", {instrs / total_records:.0f} instructions per record" if total_records else ""))
    print("  instructions per record by function (self counts), the 40 largest:")
    for name, c in total.most_common(40):
        print(f"  {c / max(total_records, 1):8.1f}  {name}")


if __name__ == "__main__":
    main()

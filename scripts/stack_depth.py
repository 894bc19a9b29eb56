#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The deepest chain of a module's own stack frames:

    scripts/stack_depth.py MODULE.ko LIMIT

One frame under the limit of stack-frames.sh is not enough: frames nest.
Module init made the scanner, which made the exporter, which made its
buffers, and frames of 2 to 4.5 KiB each added up to most of a 16 KiB
kernel stack before the kernel's own calls (socket creation) on top.

Each function's frame is read from its prologue (return address, pushes,
`sub $N,%rsp`); its callees from the relocations of its direct calls into
the module (`call`, and `jmp` for tail calls, which replace the caller's
frame). Indirect calls (the kernel calling back into the module, closures
passed as function pointers) are not followed: each callback is a chain
of its own, from the kernel's frames. Recursion is cut at the first
repeat. Prints the deepest chain, frame by frame; fails when it is over
LIMIT bytes.
"""
import re
import subprocess
import sys

FUNC = re.compile(r"^[0-9a-f]+ <(.+)>:$")
INSN = re.compile(r"^\s+[0-9a-f]+:\s+(\S+)\s*(.*)$")
RELOC = re.compile(r"^\s+[0-9a-f]+: R_X86_64_(?:PLT32|PC32)\s+(\S+?)(?:[-+]0x[0-9a-f]+)?$")
SUB_RSP = re.compile(r"\$0x([0-9a-f]+),%rsp")
PROLOGUE = 16


def parse(ko):
    """{function: (frame bytes, set of called, set of tail-called)}."""
    out = subprocess.run(["objdump", "-dr", "--no-show-raw-insn", ko], check=True, capture_output=True,
                         text=True).stdout
    funcs = {}
    name = None
    last_op = None
    prologue = 0
    for line in out.splitlines():
        m = FUNC.match(line)
        if m:
            name = m.group(1)
            funcs[name] = [8, set(), set()]
            prologue, last_op = 0, None
            continue
        if name is None:
            continue
        m = RELOC.match(line)
        if m:
            if last_op == "call":
                funcs[name][1].add(m.group(1))
            elif last_op == "jmp":
                funcs[name][2].add(m.group(1))
            continue
        m = INSN.match(line)
        if not m:
            continue
        op, args = m.group(1), m.group(2)
        last_op = op
        # The prologue: the pushes and the `sub` among a function's first
        # instructions (frame-pointer moves and __fentry__ calls sit
        # between them).
        if prologue < PROLOGUE:
            prologue += 1
            if op == "push":
                funcs[name][0] += 8
            elif op == "sub" and SUB_RSP.search(args):
                funcs[name][0] += int(SUB_RSP.search(args).group(1), 16)
                prologue = PROLOGUE
    return funcs


def deepest(funcs):
    memo = {}

    def depth(f, stack):
        if f in memo:
            return memo[f]
        if f not in funcs or f in stack:
            return (0, [])
        frame, calls, tails = funcs[f]
        stack.add(f)
        best = (frame, [(f, frame)])
        for c in calls:
            d, chain = depth(c, stack)
            if frame + d > best[0]:
                best = (frame + d, [(f, frame)] + chain)
        for c in tails:
            d, chain = depth(c, stack)
            if d > best[0]:
                best = (d, [(f, frame)] + chain)
        stack.discard(f)
        memo[f] = best
        return best

    return max((depth(f, set()) for f in funcs), key=lambda x: x[0])


def demangle(names):
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout
    return [re.sub(r"\[[0-9a-f]+\]", "", n) for n in out.splitlines()]


def main():
    ko, limit = sys.argv[1], int(sys.argv[2])
    total, chain = deepest(parse(ko))
    names = demangle([f for f, _ in chain])
    verdict = "over" if total > limit else "within"
    print(f"deepest chain of the module's own frames: {total} bytes, {verdict} {limit}", file=sys.stderr)
    for (_, frame), n in zip(chain, names):
        print(f"  {frame:6d}  {n[:150]}", file=sys.stderr)
    sys.exit(1 if total > limit else 0)


if __name__ == "__main__":
    main()

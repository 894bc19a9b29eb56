# SPDX-License-Identifier: GPL-2.0-only
# Run by gdb (tests/bench/profile.sh): single-steps whole calls of one
# function in the VM and writes every instruction address executed.
#
#   gdb -batch -x gdb_trace.py   with the environment:
#     TRACE_PORT   qemu's gdb port
#     TRACE_ADDR   the function's entry address (hex)
#     TRACE_CALLS  how many calls to trace (default 3)
#     TRACE_OUT    output file: one "call N" line, then one address per line
#     TRACE_LIMIT  steps per call (default 200000), a guard against a trace
#                  that never returns; a scan run needs more
#
# qemu's gdb stub masks interrupts while single-stepping, and the other
# vCPUs are held (scheduler-locking), so a trace holds exactly what the
# call itself executes (callees included).
import os

import gdb  # noqa: E402  (provided by gdb)

port = os.environ["TRACE_PORT"]
addr = int(os.environ["TRACE_ADDR"], 16)
calls = int(os.environ.get("TRACE_CALLS", "3"))
limit = int(os.environ.get("TRACE_LIMIT", "200000"))

gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute(f"target remote :{port}")
# The other vCPUs stay stopped while one steps: otherwise they run on for
# the seconds each step takes and the guest's clock with them, so a scan
# would find ever more flows due and a seqcount reader would retry.
gdb.execute("set scheduler-locking step")
gdb.execute(f"hbreak *{addr:#x}")
inferior = gdb.selected_inferior()
with open(os.environ["TRACE_OUT"], "w") as out:
    for n in range(calls):
        gdb.execute("continue", to_string=True)
        rsp = int(gdb.parse_and_eval("$rsp")) & 0xFFFFFFFFFFFFFFFF
        ret = int.from_bytes(inferior.read_memory(rsp, 8).tobytes(), "little")
        out.write(f"call {n}\n")
        for _ in range(limit):
            pc = int(gdb.parse_and_eval("$pc")) & 0xFFFFFFFFFFFFFFFF
            new_rsp = int(gdb.parse_and_eval("$rsp")) & 0xFFFFFFFFFFFFFFFF
            if pc == ret and new_rsp > rsp:
                break
            out.write(f"{pc:x}\n")
            gdb.execute("stepi", to_string=True)
        else:
            out.write("truncated\n")
gdb.execute("delete")
gdb.execute("detach")

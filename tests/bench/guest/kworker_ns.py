#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Prints the CPU time, in nanoseconds, that the kernel's workqueue threads
(every task named kworker/...) have run since they started, summed.

Both modules export from a delayed work item, so what this sum grows by
over a window is their exporters' CPU time (plus the little the kernel's
own work items take, the same for both), exactly: it reads each thread's
scheduler runtime through its process CPU-time clock (a kworker is a
process of its own), not the tick-sampled /proc/stat. The test kernels
have no schedstat; this needs only POSIX timers. Under qemu -icount the
guest's clock advances a fixed time per instruction, so it is an
instruction count.

A thread that exits within the window takes its time with it; kworkers
idle for five minutes before they exit, longer than any window here.
"""
import os
import time

CPUCLOCK_SCHED = 2


def process_cpu_clock(pid):
    """The kernel's MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED), which
    clock_getcpuclockid(3) returns and Python's time module lacks."""
    return ((~pid) << 3) | CPUCLOCK_SCHED


total = 0
for entry in os.listdir("/proc"):
    if not entry.isdigit():
        continue
    try:
        with open(f"/proc/{entry}/comm") as f:
            if not f.read().startswith("kworker/"):
                continue
        total += time.clock_gettime_ns(process_cpu_clock(int(entry)))
    except OSError:
        continue  # gone meanwhile
print(total)

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""UDP collector sink for the benchmark: sink.py PORT OUTFILE

Counts datagrams and NetFlow v5 records (the header's count field) received
on 127.0.0.1:PORT; on SIGTERM writes "datagrams/records" to OUTFILE.
"""
import signal
import socket
import sys

port, out = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
s.bind(("127.0.0.1", port))
dgrams = records = 0
open(out + ".ready", "w").close()


def done(*_):
    with open(out, "w") as f:
        f.write(f"{dgrams}/{records}\n")
    sys.exit(0)


signal.signal(signal.SIGTERM, done)
while True:
    d = s.recv(65535)
    dgrams += 1
    if len(d) >= 24 and d[0] == 0 and d[1] == 5:
        records += (d[2] << 8) | d[3]

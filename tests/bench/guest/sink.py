#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""UDP collector sink for the benchmark: sink.py PORT OUTFILE [--hold]

Counts datagrams and records received on 127.0.0.1:PORT; on SIGTERM
writes "datagrams/records/nat" to OUTFILE.

Without --hold it reads as datagrams arrive and counts only NetFlow v5
records (the header's count field; nat is "-"), as cheaply as it can:
under -icount every instruction it executes is guest time that the
measured path does not get (the churn workload).

--hold: read nothing until SIGTERM, then take what the socket queued (its
buffer is 64 MiB; drops show in the kernel's UDP receive-buffer errors)
and decode it: records counts every data record and nat the NAT event
records among them:
  - NetFlow v5: the header's count field; NAT records are the
    pseudo-records, the ones with no packets;
  - NetFlow v9 and IPFIX: the records of every data set whose (non-options)
    template was seen; NAT records are those of templates with natEvent
    (IE 230).
The NAT events workload uses this.
"""
import signal
import socket
import struct
import sys

port, out = int(sys.argv[1]), sys.argv[2]
hold = "--hold" in sys.argv[3:]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
s.bind(("127.0.0.1", port))
dgrams = records = nat = 0
# (version, template id) -> (record length, has natEvent)
templates = {}


def templates_in(version, body):
    """Template records of a v9 (set 0) or IPFIX (set 2) template set."""
    off = 0
    while off + 4 <= len(body):
        tid, n = struct.unpack_from("!HH", body, off)
        off += 4
        length, is_nat = 0, False
        for _ in range(n):
            if off + 4 > len(body):
                return
            fid, flen = struct.unpack_from("!HH", body, off)
            off += 4
            if version == 10 and fid & 0x8000:
                off += 4  # enterprise number
            fid &= 0x7FFF
            length += flen
            is_nat |= fid == 230
        if tid >= 256 and length:
            templates[(version, tid)] = (length, is_nat)


def count(d):
    global records, nat
    if len(d) < 4:
        return
    version = struct.unpack_from("!H", d)[0]
    if version == 5 and len(d) >= 24:
        n = struct.unpack_from("!H", d, 2)[0]
        records += n
        for i in range(n):
            off = 24 + 48 * i + 16  # dPkts
            if off + 4 <= len(d) and struct.unpack_from("!I", d, off)[0] == 0:
                nat += 1
        return
    if version not in (9, 10):
        return
    off = 20 if version == 9 else 16
    while off + 4 <= len(d):
        sid, slen = struct.unpack_from("!HH", d, off)
        if slen < 4:
            return
        body = d[off + 4:off + slen]
        if sid == (0 if version == 9 else 2):
            templates_in(version, body)
        elif sid >= 256 and (version, sid) in templates:
            length, is_nat = templates[(version, sid)]
            n = len(body) // length
            records += n
            nat += n if is_nat else 0
        off += slen


def done(*_):
    if hold:
        s.setblocking(False)
        try:
            while True:
                receive()
        except BlockingIOError:
            pass
    with open(out, "w") as f:
        f.write(f"{dgrams}/{records}/{nat if hold else '-'}\n")
    sys.exit(0)


def receive():
    global dgrams
    d = s.recv(65535)
    dgrams += 1
    count(d)


def receive_v5():
    global dgrams, records
    d = s.recv(65535)
    dgrams += 1
    if len(d) >= 24 and d[0] == 0 and d[1] == 5:
        records += (d[2] << 8) | d[3]


signal.signal(signal.SIGTERM, done)
open(out + ".ready", "w").close()
while True:
    if hold:
        signal.pause()
    else:
        receive_v5()

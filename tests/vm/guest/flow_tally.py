#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A collector that only counts, for the stress suite:

  flow_tally.py ADDR PORT OUTFILE [RESTARTS]

Binds ADDR:PORT (0.0.0.0 takes every local address), reads datagrams as they
arrive and, on SIGTERM, stops taking more, drains what is queued and writes one JSON
object to OUTFILE: datagrams, flow records and the packets those records
carry, for NetFlow v5, v9 and IPFIX, with the v9/IPFIX templates it saw
(written from RFC 3954 and RFC 7011, independent of the module's encoder).
Datagrams it cannot read (a data set before its template, a bad length)
are counted as "undecoded", never guessed at. Prints "ready" once bound.
With RESTARTS it plays a collector that restarts (up half a second, down
half a second, RESTARTS times), then writes OUTFILE and ends by itself.
"""
import json
import signal
import socket
import struct
import sys
import time

# IE 2: packetDeltaCount (v9 IN_PKTS).
PACKETS_IE = 2


class Tally:
    def __init__(self):
        self.datagrams = 0
        self.records = 0
        self.packets = 0
        self.undecoded = 0
        self.versions = {}
        # (version, template id) -> (record length, packets offset, length)
        # or None for an options template.
        self.templates = {}

    def _template_set(self, version, body, options):
        """Reads a template set (options: an options template set)."""
        at = 0
        # Zero padding at the end reads as templates with no fields and an
        # id below 256, which are skipped.
        while at + 4 <= len(body):
            if options and version == 9:
                # id, scope length and options length, in bytes of fields.
                if at + 6 > len(body):
                    return False
                tid, scope_len, opt_len = struct.unpack_from("!HHH", body, at)
                at += 6
                count = (scope_len + opt_len) // 4
            else:
                tid, count = struct.unpack_from("!HH", body, at)
                at += 4
                if options:
                    at += 2  # the scope field count, within `count`
            length, pkts = 0, None
            for _ in range(count):
                if at + 4 > len(body):
                    return False
                ie, flen = struct.unpack_from("!HH", body, at)
                at += 4
                if version == 10 and ie & 0x8000:
                    at += 4  # enterprise number
                if ie & 0x7FFF == PACKETS_IE:
                    pkts = (length, flen)
                length += flen
            if tid >= 256:
                self.templates[(version, tid)] = None if options else (length, pkts)
        return True

    def _v5(self, d):
        if len(d) < 24:
            return False
        n = struct.unpack_from("!H", d, 2)[0]
        if len(d) < 24 + 48 * n:
            return False
        self.records += n
        for i in range(n):
            self.packets += struct.unpack_from("!I", d, 24 + 48 * i + 16)[0]
        return True

    def _sets(self, version, d):
        at = 20 if version == 9 else 16
        if len(d) < at:
            return False
        template_sets = (0, 1) if version == 9 else (2, 3)
        while at + 4 <= len(d):
            sid, slen = struct.unpack_from("!HH", d, at)
            if slen < 4 or at + slen > len(d):
                return False
            body = d[at + 4:at + slen]
            if sid in template_sets:
                if not self._template_set(version, body, sid == template_sets[1]):
                    return False
            elif sid >= 256:
                if (version, sid) not in self.templates:
                    return False
                t = self.templates[(version, sid)]
                if t is not None:
                    length, pkts = t
                    for r in range(len(body) // length if length else 0):
                        self.records += 1
                        if pkts:
                            off, n = pkts
                            self.packets += int.from_bytes(body[r * length + off:r * length + off + n], "big")
            at += slen
        return True

    def add(self, d):
        self.datagrams += 1
        version = struct.unpack_from("!H", d)[0] if len(d) >= 2 else 0
        self.versions[version] = self.versions.get(version, 0) + 1
        ok = self._v5(d) if version == 5 else self._sets(version, d) if version in (9, 10) else False
        if not ok:
            self.undecoded += 1

    def result(self):
        return dict(datagrams=self.datagrams, records=self.records, packets=self.packets,
                    undecoded=self.undecoded, versions={str(k): v for k, v in self.versions.items()})


def open_socket(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    s.bind((addr, port))
    s.settimeout(0.2)
    return s


def serve(s, tally, until):
    """Reads datagrams until `until()` holds."""
    while not until():
        try:
            tally.add(s.recv(65535))
        except (socket.timeout, InterruptedError):
            pass


def close(s, tally):
    """Closes the socket, counting every datagram it took."""
    # Connected to a peer that never sends, the socket takes no more
    # datagrams (they go to the closed port's count, as when no collector
    # listens); what it queued before is read below. A datagram that
    # arrived after the last read and before close would otherwise be lost
    # uncounted.
    here = s.getsockname()[0]
    try:
        s.connect(("127.0.0.1" if here == "0.0.0.0" else here, 9))
    except OSError:
        pass  # the address is gone: nothing arrives any more
    s.setblocking(False)
    while True:
        try:
            tally.add(s.recv(65535))
        except BlockingIOError:
            break
    s.close()


def main():
    addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    # RESTARTS: a collector that restarts: RESTARTS times up for half a
    # second, then its port closed for half a second; then it ends (one
    # process, so that a slow interpreter start, minutes on the debug
    # kernel under a flood, does not stretch the cycle).
    restarts = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    tally = Tally()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = open_socket(addr, port)
    print("ready", flush=True)
    for i in range(restarts):
        if i:
            s = open_socket(addr, port)
        up = time.monotonic() + 0.5
        serve(s, tally, lambda: stop or time.monotonic() >= up)
        close(s, tally)
        s = None
        time.sleep(0.5)
    if s is not None:
        serve(s, tally, lambda: stop)
        close(s, tally)
    with open(out, "w") as f:
        json.dump(tally.result(), f)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Collecting what the module exports, for the VM tests: a capture on
127.0.0.1:2055 that keeps every datagram, nfdump's nfcapd on :2056, and the
pcap that tshark reads the captured datagrams from."""
import datetime
import glob
import ipaddress
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time

import nettest as t

# Every datagram any capture saw, in order: a collector that kept running
# would have all the templates these carry. ALL_ARRIVALS has, for each, the
# guest's wall clock and uptime (CLOCK_BOOTTIME, as /proc/uptime) when it
# arrived.
ALL_DATAGRAMS = []
ALL_ARRIVALS = []


class Capture:
    """Keeps every datagram that arrives on 127.0.0.1:2055 while open."""

    def __init__(self):
        self.datagrams = []
        self.sock = None
        self.thread = None
        self.last = time.time()

    def start(self):
        self.first = len(ALL_DATAGRAMS)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 2055))
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                continue
            self.last = time.time()
            self.datagrams.append(d)
            ALL_DATAGRAMS.append(d)
            ALL_ARRIVALS.append((self.last, time.clock_gettime(time.CLOCK_BOOTTIME)))

    def stop(self):
        self.running = False
        self.thread.join()
        self.sock.close()

    def span(self):
        """Where its datagrams are in ALL_DATAGRAMS."""
        return range(self.first, self.first + len(self.datagrams))

    def quiet(self, secs=2.0):
        """Waits until nothing arrived for `secs`."""
        while time.time() - self.last < secs:
            time.sleep(0.2)


def listening(port=2056):
    """Whether a UDP socket is bound to `port` and connected to nobody
    (the module's own socket to that port is connected to it)."""
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            local, remote = line.split()[1:3]
            if local.endswith(f":{port:04X}") and remote == "00000000:0000":
                return True
    return False


class Nfcapd:
    """nfdump's collector on 127.0.0.1:2056, writing into a folder of
    `work`."""

    def __init__(self, work):
        self.work = work
        self.dir = f"{work}/nfcapd"
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None

    def start(self):
        log = open(f"{self.work}/nfcapd.log", "a")
        self.proc = subprocess.Popen(["nfcapd", "-w", self.dir, "-b", "127.0.0.1", "-p", "2056", "-t", "3600"],
                                     stdout=log, stderr=subprocess.STDOUT)
        # Listening once its socket shows up.
        up = t.wait_for(listening, timeout=30)
        if not up:
            t.ok("nfcapd listens", False, open(f"{self.work}/nfcapd.log").read() + open("/proc/net/udp").read())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)

    def flows(self):
        """Every flow in the files written so far, as dicts."""
        out = []
        for f in sorted(glob.glob(f"{self.dir}/nfcapd.2*")):
            r = t.sh(f"TZ=UTC nfdump -r {f} -q -N -o 'fmt:%sa|%da|%sp|%dp|%pr|%pkt|%byt|%in|%out|%ts|%te'")
            for line in r.stdout.splitlines():
                p = [x.strip() for x in line.split("|")]
                if len(p) != 11:
                    continue
                out.append(dict(src=str(ipaddress.ip_address(p[0])), dst=str(ipaddress.ip_address(p[1])),
                                sport=p[2], dport=p[3], proto=p[4], packets=int(p[5]), bytes=int(p[6]),
                                i=int(p[7]), o=int(p[8]), start=utc_seconds(p[9], "%Y-%m-%d %H:%M:%S.%f"),
                                end=utc_seconds(p[10], "%Y-%m-%d %H:%M:%S.%f")))
        return out

    def sequence_failures(self):
        """Summed over the files; None if nfdump reported none."""
        n = None
        for f in sorted(glob.glob(f"{self.dir}/nfcapd.2*")):
            for line in t.sh(f"nfdump -r {f} -I").stdout.splitlines():
                if line.startswith("Sequence failures:"):
                    n = (n or 0) + int(line.split(":")[1])
        return n


def utc_seconds(text, fmt):
    """A UTC date and time as tools print it, in seconds since the epoch
    (fractions beyond microseconds dropped)."""
    whole, _, rest = text.partition(".")
    digits = rest.split(" ")[0]
    stamp = datetime.datetime.strptime(f"{whole}.{digits[:6].ljust(6, '0')}", fmt)
    return stamp.replace(tzinfo=datetime.timezone.utc).timestamp()


def write_pcap(datagrams, path):
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for n, d in enumerate(datagrams):
            udp = struct.pack("!HHHH", 40000, 2055, 8 + len(d), 0) + d
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n & 0xffff, 0, 64, 17, 0,
                             bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
            frame = b"\0" * 12 + b"\x08\x00" + ip + udp
            out.write(struct.pack("<IIII", 1_700_000_000 + n, 0, len(frame), len(frame)) + frame)


def tshark_flow_records(work, merge_duplicates=False):
    """Every flow record tshark decodes in the datagrams captured so far
    (written to WORK/all.pcap), as dicts of its cflow fields; with
    merge_duplicates, a field a record has several times is a list (tshark
    --no-duplicate-keys), else the first one counts. Also tshark's last
    words, for a failure's detail."""
    path = f"{work}/all.pcap"
    write_pcap(ALL_DATAGRAMS, path)
    merge = " --no-duplicate-keys" if merge_duplicates else ""
    r = t.sh(f"tshark -n -r {path} -d udp.port==2055,cflow -T json{merge}", check=False)
    out = []

    def walk(node):
        if isinstance(node, dict):
            if "cflow.srcport" in node and "cflow.protocol" in node:
                out.append(node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    try:
        walk(json.loads(r.stdout))
    except json.JSONDecodeError:
        pass
    return out, r.stderr[-2000:]

# SPDX-License-Identifier: GPL-2.0-only
"""Helpers for the Python VM tests: namespaces, raw frames, /proc parsing.

Runs inside the VM as root, in the initial network namespace (where the
module's /proc files are); sockets are opened inside test namespaces with
setns(2).
"""
import ctypes
import os
import socket
import struct
import subprocess
import time

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

failed = 0


def plan(n):
    """States how many checks the script runs (all.sh fails a suite that ran
    fewer); print it before anything can fail."""
    print(f"# plan {n}", flush=True)


def ok(name, cond, detail=""):
    global failed
    if cond:
        print(f"ok - {name}", flush=True)
    else:
        failed += 1
        print(f"not ok - {name}", flush=True)
        for line in str(detail).splitlines():
            print(f"    {line}", flush=True)
    return cond


def eq(name, expected, actual):
    return ok(name, expected == actual, f"expected: {expected!r}\nactual:   {actual!r}")


def sh(cmd, check=True):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd}: {r.returncode} {r.stderr}")
    return r


class InNetns:
    """with InNetns("nfa"): sockets created inside belong to nfa."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open(f"/var/run/netns/{self.name}", os.O_RDONLY)
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        os.close(fd)

    def __exit__(self, *exc):
        _libc.setns(self.home, CLONE_NEWNET)
        os.close(self.home)


def mac_of(ns, dev):
    out = sh(f"ip -n {ns} -o link show {dev}").stdout
    return bytes.fromhex(out.split("link/ether ")[1].split()[0].replace(":", ""))


def ifindex(ns, dev):
    return int(sh(f"ip -n {ns} -o link show {dev}").stdout.split(":")[0])


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, tos=0, options=b"", frag=0, ttl=64, ident=1):
    ihl = 5 + len(options) // 4
    total = ihl * 4 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, total, ident, frag, ttl, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst)) + options
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, next_header, payload, tclass=0, flow_label=0, hlim=64):
    first = (6 << 28) | (tclass << 20) | flow_label
    return struct.pack("!IHBB16s16s", first, len(payload), next_header, hlim,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + payload


def tcp(sport, dport, flags, options=b"", data=b""):
    doff = 5 + len(options) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, doff << 4, flags, 65535, 0, 0) + options + data


def udp(sport, dport, data=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


class FrameSender:
    """Sends raw Ethernet frames out of a namespace's interface."""

    def __init__(self, ns, dev, dst_mac):
        with InNetns(ns):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            self.sock.bind((dev, 0))
        self.src = mac_of(ns, dev)
        self.dst = dst_mac

    def send(self, packet, count=1):
        ethertype = 0x86DD if packet[0] >> 4 == 6 else 0x0800
        frame = self.dst + self.src + struct.pack("!H", ethertype) + packet
        for _ in range(count):
            self.sock.send(frame)


def flows():
    """Parses /proc/net/stat/ipt_netflow_flows into dicts."""
    out = []
    with open("/proc/net/stat/ipt_netflow_flows") as f:
        for line in f:
            if line.startswith("#"):
                continue
            p = line.split()
            i, o = p[3].split(",")
            src, sport = p[5].rsplit(",", 1)
            dst, dport = p[6].rsplit(",", 1)
            tos, fl, opt, tcpopt = (int(x, 16) for x in p[8].split(","))
            first, last = p[11].split(",")
            out.append(dict(seq=int(p[0]), bucket=int(p[1], 16), due=int(p[2], 16), i=int(i), o=int(o),
                            proto=int(p[4]), src=src, sport=int(sport), dst=dst, dport=int(dport),
                            nexthop=p[7], tos=tos, flags=fl, options=opt, tcpoptions=tcpopt,
                            packets=int(p[9]), bytes=int(p[10]), first=int(first), last=int(last)))
    return out


def snmp():
    vals = {}
    with open("/proc/net/stat/ipt_netflow_snmp") as f:
        for line in f:
            p = line.split()
            if len(p) == 2:
                vals[p[0]] = p[1]
    return vals


def total_line():
    """The Total line's fields by name."""
    with open("/proc/net/stat/ipt_netflow") as f:
        for line in f:
            if line.startswith("Total"):
                p = line.replace(",", " ").replace(";", " ").replace("[", " ").replace("]", " ").split()
                # Total pps search found new metric trunc frag alloc maxflows traffic: pkt bytes MB drop: pkt bytes K
                return dict(pps=int(p[1]), searched=int(p[2]), found=int(p[3]), new=int(p[4]),
                            trunc=int(p[6]), frag=int(p[7]), alloc=int(p[8]), maxflows=int(p[9]),
                            pkts=int(p[11]), drop_pkts=int(p[15]))
    raise RuntimeError("no Total line")


def sysctl_write(name, value):
    """Writes a sysctl; returns the errno name on failure, None on success."""
    # One write(2): a buffered file would write again when closed after
    # a refused write.
    fd = os.open(f"/proc/sys/net/netflow/{name}", os.O_WRONLY)
    try:
        os.write(fd, f"{value}\n".encode())
        return None
    except OSError as e:
        return os.strerror(e.errno)
    finally:
        os.close(fd)


def sysctl_read(name):
    with open(f"/proc/sys/net/netflow/{name}") as f:
        return f.read().strip()


def wait_for(cond, timeout=10.0, step=0.2):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()

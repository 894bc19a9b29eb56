#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Sends or receives a known set of UDP datagrams for the VM tests.

  udp_burst.py send ADDR PORT SIZES REPEAT   payload sizes, comma-separated
  udp_burst.py recv ADDR PORT COUNT          waits for COUNT datagrams (10 s)

`send` prints the IP-level byte total it sent (IPv4: 20 + 8 + payload,
IPv6: 40 + 8 + payload), which is what the module must count per hook.
"""
import socket
import sys


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def send(addr, port, sizes, repeat):
    fam = family(addr)
    header = 48 if fam == socket.AF_INET6 else 28
    total = 0
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        for _ in range(repeat):
            for size in sizes:
                s.sendto(bytes(size), (addr, port))
                total += header + size
    print(total)


def recv(addr, port, count):
    with socket.socket(family(addr), socket.SOCK_DGRAM) as s:
        s.bind((addr, port))
        s.settimeout(60)
        print("ready", flush=True)
        got = 0
        try:
            while got < count:
                s.recv(65536)
                got += 1
        except socket.timeout:
            pass
    print(got)


if __name__ == "__main__":
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "send":
        send(addr, port, [int(x) for x in sys.argv[4].split(",")], int(sys.argv[5]))
    else:
        recv(addr, port, int(sys.argv[4]))

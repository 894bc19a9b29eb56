#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A conntrack event listener that never reads: ctlisten.py READYFILE

Subscribes a netlink socket in the current network namespace to ctnetlink's
"new" and "destroy" groups (as `conntrack -E` and the module's natevents
do) with the smallest receive buffer, then sleeps until SIGTERM. Conntrack
then builds and sends every event (and gives each new entry its event
extension), and the socket, full after a few, drops them: the kernel's
share of the cost of NAT events, without anyone taking them.
"""
import signal
import socket
import sys

NETLINK_NETFILTER = 12
NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_DESTROY = 1, 3
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
s.bind((0, (1 << (NFNLGRP_CONNTRACK_NEW - 1)) | (1 << (NFNLGRP_CONNTRACK_DESTROY - 1))))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
open(sys.argv[1], "w").close()
while True:
    signal.pause()

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Peer of vdpa-migrate's guest on a kernel netdev: count the probe frames
the guest sends (by sequence number: missing, duplicated, corrupt) and send
probe frames to the guest's MAC at a steady rate, until STOP_FILE exists;
STOP_FILE.ready appears once it listens.

usage: mig_peer.py IFNAME GUEST_MAC RATE STOP_FILE
Prints one JSON line: {"received", "unique", "dups", "bad", "max_seq", "sent"}.
"""
import json
import os
import select
import socket
import struct
import sys
import time

ETHERTYPE = 0x88b5
MAGIC = 0x76646d67
PAYLOAD = 64


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xffffffff
    return h


def main():
    ifname, guest, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
    stop = sys.argv[4]
    guest_mac = bytes(int(x, 16) for x in guest.split(':'))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETHERTYPE))
    s.bind((ifname, ETHERTYPE))
    # Python under emulation is slower than the guest: queue, do not drop.
    s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE
    own = s.getsockname()[4][:6]
    with open(stop + '.ready', 'w') as f:
        f.write('ready\n')
    head = guest_mac + own + struct.pack('!H', ETHERTYPE)
    payload = bytes((i * 7) & 0xff for i in range(PAYLOAD))
    csum = fnv1a(payload)
    seen, dups, bad, received, sent = set(), 0, 0, 0, 0
    start = time.monotonic()
    while True:
        r, _, _ = select.select([s], [], [], 0.002)
        # Once told to stop, take what is queued, then stop.
        if os.path.exists(stop) and not r:
            break
        if s in r:
            frame = s.recv(4096)
            received += 1
            body = frame[14:]
            if len(body) < 16 + PAYLOAD:
                bad += 1
                continue
            magic, seq, sum_, _ = struct.unpack('!IIII', body[:16])
            if magic != MAGIC or sum_ != fnv1a(body[16:16 + PAYLOAD]):
                bad += 1
                continue
            if seq in seen:
                dups += 1
            seen.add(seq)
        # A few per turn: receiving must not starve on a slow machine.
        burst = 0
        while sent < (time.monotonic() - start) * rate and burst < 4 and \
                not os.path.exists(stop):
            s.send(head + struct.pack('!IIII', MAGIC, sent, csum, 0) +
                   payload)
            sent += 1
            burst += 1
    # tp_packets, tp_drops: what the socket itself had to drop.
    drops = struct.unpack('II', s.getsockopt(263, 6, 8))[1]
    print(json.dumps({"received": received, "sock_drops": drops, "unique": len(seen),
                      "dups": dups, "bad": bad,
                      "max_seq": max(seen) if seen else -1, "sent": sent,
                      "secs": round(time.monotonic() - start, 3)}))


main()

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Checksummed TCP transfer for the vdpa_generic selftests.

server PORT          : accept one connection, print "<bytes> <sha256>" of what arrived
client HOST PORT SIZE: send SIZE random bytes, print "<bytes> <sha256>" of what was sent
"""
import hashlib
import os
import socket
import sys


def server(port):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(1)
    srv.settimeout(120)
    conn, _ = srv.accept()
    conn.settimeout(120)
    h, n = hashlib.sha256(), 0
    while True:
        chunk = conn.recv(1 << 16)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
    print(n, h.hexdigest(), flush=True)


def client(host, port, size):
    sock = socket.create_connection((host, port), timeout=120)
    h, left = hashlib.sha256(), size
    while left:
        chunk = os.urandom(min(left, 1 << 16))
        sock.sendall(chunk)
        h.update(chunk)
        left -= len(chunk)
    sock.shutdown(socket.SHUT_WR)
    sock.close()
    print(size, h.hexdigest(), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]))
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))

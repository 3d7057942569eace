#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Checksummed TCP transfer for the vdpa_generic selftests.

server PORT          : accept one connection, print "<bytes> <sha256>" of what arrived
client HOST PORT SIZE [GATE]: connect (refusals retried for 30 s), send SIZE
                      random bytes, print "<bytes> <sha256>" of what was sent;
                      with GATE, after half of them create GATE.half and wait
                      (up to 120 s) until GATE exists before sending the rest
"""
import hashlib
import os
import socket
import sys
import time


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


def connect(host, port):
    # The server is started in the background just before; under TCG its
    # interpreter may need more than the caller's head start to listen.
    # Refusals (RST from a reachable peer) are retried for 30 s; anything
    # else, a timeout included, fails at once.
    deadline = time.monotonic() + 30
    while True:
        try:
            return socket.create_connection((host, port), timeout=120)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_gate(gate):
    open(gate + ".half", "w").close()
    deadline = time.monotonic() + 120
    while not os.path.exists(gate):
        if time.monotonic() > deadline:
            raise TimeoutError(gate)
        time.sleep(0.05)


def client(host, port, size, gate=None):
    sock = connect(host, port)
    h, left = hashlib.sha256(), size
    while left:
        if gate and left <= size // 2:
            wait_gate(gate)
            gate = None
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
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
               sys.argv[5] if len(sys.argv) > 5 else None)

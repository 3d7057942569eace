#!/usr/bin/python3
# scripts/vm/qmp.py - send one QMP command to the QEMU that runs this test VM.
#
# usage (inside the VM): qmp.py COMMAND ['{"json": "arguments"}']
#   e.g. qmp.py device_del '{"id": "nic1"}'
# Talks over the virtio-serial port "qmp" that run.sh --guest-qmp wires to
# QEMU's own monitor. Prints the "return" value as JSON; exits 1 on an error.
import glob
import json
import os
import sys


def port_path(name="qmp"):
    for d in glob.glob("/sys/class/virtio-ports/*"):
        with open(os.path.join(d, "name")) as f:
            if f.read().strip() == name:
                return "/dev/" + os.path.basename(d)
    sys.exit("qmp.py: no virtio-serial port named %r (run.sh --guest-qmp?)" % name)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    args = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    fd = os.open(port_path(), os.O_RDWR)
    rd = os.fdopen(fd, "rb", buffering=0)
    buf = b""

    def send(cmd, arguments, tag):
        msg = {"execute": cmd, "id": tag}
        if arguments:
            msg["arguments"] = arguments
        os.write(fd, json.dumps(msg).encode() + b"\n")

    def reply(tag):
        # Skip the greeting, events and replies to other ids.
        nonlocal buf
        while True:
            while b"\n" not in buf:
                buf += rd.read(4096)
            line, buf = buf.split(b"\n", 1)
            if not line.strip():
                continue
            obj = json.loads(line)
            if obj.get("id") == tag:
                return obj

    tag = "qmp.py-%d" % os.getpid()
    # Negotiation happens once per VM; a later "already complete" error is fine.
    send("qmp_capabilities", None, tag + "-caps")
    reply(tag + "-caps")
    send(sys.argv[1], args, tag)
    obj = reply(tag)
    if "error" in obj:
        print(json.dumps(obj["error"]), file=sys.stderr)
        sys.exit(1)
    print(json.dumps(obj.get("return")))


if __name__ == "__main__":
    main()

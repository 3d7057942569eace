#!/bin/bash
# scripts/demo.sh - boot the test VM and run scripts/demo-in-vm.sh there,
# showing its output live on this terminal. Extra arguments are passed to
# scripts/vm/run.sh before "--" (e.g. --qemu-args "-device virtio-net-pci").
# Run "make demo" (builds the modules first).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
exec "$ROOT/scripts/vm/run.sh" --live --guest-qmp --timeout "${DEMO_TIMEOUT:-900}" \
	--console "$ROOT/build/vm/demo-console.log" "$@" \
	-- "$ROOT/scripts/demo-in-vm.sh"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/bench.sh - `make bench`: boot the test VM once and run every
# scripts/bench/*.sh inside it.  Each benchmark prints side-by-side numbers
# from the same run and "RATIO ..." lines; absolute numbers under TCG are
# meaningless, ratios are what to compare.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# FusionD (fusiond-iops.sh): three virtio-blk cards on one fresh image, each
# on a PCIe root port: two become aggregate members, the third stays with
# virtio_blk for the direct comparison.
img=$ROOT/build/bench/fusiond.img
mkdir -p "$ROOT/build/bench"
rm -f "$img"
truncate -s 256M "$img"
qargs="-blockdev driver=raw,node-name=shared,file.driver=file,file.filename=$img"
for c in a:1 b:2 v:3; do
	qargs="$qargs -device pcie-root-port,id=rp${c#*:},chassis=${c#*:}"
	qargs="$qargs -device virtio-blk-pci,drive=shared,share-rw=on,serial=fusion-${c%:*},bus=rp${c#*:}"
done
exec "$ROOT/scripts/vm/run.sh" --timeout 1200 --live --qemu-args "$qargs" -- /bin/bash -c \
	"cd $ROOT && scripts/vm/load-modules.sh >/dev/null &&
	 for b in scripts/bench/*.sh; do echo \"== \$b\"; \"\$b\" || exit 1; done"

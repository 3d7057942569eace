#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/bench.sh - `make bench`: boot the test VM once and run every
# scripts/bench/*.sh inside it.  Each benchmark prints side-by-side numbers
# from the same run and "RATIO ..." lines; absolute numbers under TCG are
# meaningless, ratios are what to compare.  BENCHES="scripts/bench/X.sh ..."
# runs only those.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# FusionD (fusiond-iops.sh): virtio-blk cards on one fresh image, each on a
# PCIe root port: a and b become aggregate members, v stays with virtio_blk
# for the direct comparison; c and d are each throttled to THROTTLE_IOPS
# (their own QEMU throttle group), so that the members, not the emulated
# CPUs, limit the second aggregate.
img=$ROOT/build/bench/fusiond.img
mkdir -p "$ROOT/build/bench"
rm -f "$img"
truncate -s 256M "$img"
THROTTLE_IOPS=${THROTTLE_IOPS:-2000}
qargs="-blockdev driver=raw,node-name=shared,file.driver=file,file.filename=$img"
for c in a:1 b:2 v:3 c:4 d:5; do
	n=${c#*:} s=${c%:*} node=shared
	qargs="$qargs -device pcie-root-port,id=rp$n,chassis=$n"
	if [ "$s" = c ] || [ "$s" = d ]; then
		qargs="$qargs -object throttle-group,id=thr$s,x-iops-total=$THROTTLE_IOPS"
		qargs="$qargs -blockdev driver=throttle,throttle-group=thr$s,node-name=thr-$s,file=shared"
		node=thr-$s
	fi
	qargs="$qargs -device virtio-blk-pci,drive=$node,share-rw=on,serial=fusion-$s,bus=rp$n"
done
# A card of its own for genpci-iops.sh (vdpa_gen_pci vs vp_vdpa); no
# emulated IOMMU here, so both use physical addresses.
gimg=$ROOT/build/bench/genpci.img
rm -f "$gimg"
truncate -s 64M "$gimg"
qargs="$qargs -device pcie-root-port,id=rp6,chassis=6"
qargs="$qargs -blockdev driver=raw,node-name=gpci,file.driver=file,file.filename=$gimg"
qargs="$qargs -device virtio-blk-pci,drive=gpci,serial=gpci-bench,bus=rp6,disable-legacy=on"
exec "$ROOT/scripts/vm/run.sh" --timeout 1200 --live --qemu-args "$qargs" -- /bin/bash -c \
	"cd $ROOT && scripts/vm/load-modules.sh >/dev/null &&
	 for b in ${BENCHES:-scripts/bench/*.sh}; do echo \"== \$b\"; \"\$b\" || exit 1; done"

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
# Benchmarks named *-vtd.sh need an emulated VT-d, which the cards above
# (no ACCESS_PLATFORM) would not survive: they run in a second VM with the
# cards of the vdpa_genpci suite (its vm.args and vm.prepare).
plain="" vtd=""
for b in ${BENCHES:-scripts/bench/*.sh}; do
	case $b in
	*-vtd.sh) vtd="$vtd $b" ;;
	*) plain="$plain $b" ;;
	esac
done
run_benches() {
	local q=$1 list=$2
	"$ROOT/scripts/vm/run.sh" --timeout 1200 --live $3 --qemu-args "$q" -- /bin/bash -c \
		"cd $ROOT && scripts/vm/load-modules.sh >/dev/null &&
		 for b in $list; do echo \"== \$b\"; \"\$b\" || exit 1; done"
}
[ -z "$plain" ] || run_benches "$qargs" "$plain" ""
if [ -n "$vtd" ]; then
	suite=$ROOT/tools/testing/selftests/vdpa_genpci
	bdir=$ROOT/build/bench/vtd
	mkdir -p "$bdir"
	"$suite/vm.prepare" "$bdir"
	vq=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' -e '/^guest-qmp$/d' \
		-e "s|@BUILD@|$bdir|g" "$suite/vm.args" | tr '\n' ' ')
	run_benches "$vq" "$vtd" --guest-qmp
fi

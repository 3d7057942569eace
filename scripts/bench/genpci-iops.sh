#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/bench/genpci-iops.sh - runs inside the bench VM (scripts/bench.sh).
#
# One virtio-blk-pci card (serial gpci-bench) driven three ways, each time
# by virtio_blk with 4 KiB random reads at queue depth 16 (fusiond_bench
# dev): through plain virtio-pci, through vdpa_gen_pci + virtio_vdpa
# (direct mode) and through the kernel's vp_vdpa + virtio_vdpa. Rounds
# alternate the paths so they share the machine's load; the ratios of the
# medians are what to read. Goal: vdpa_gen_pci / vp_vdpa >= 1.0.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export REPO_ROOT=$ROOT SUITE_DIR=$ROOT/tools/testing/selftests/vdpa_genpci
export BUILD_DIR=$ROOT/build/selftests/vdpa_genpci
. "$SUITE_DIR/lib.sh"
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-3}
BENCH=$ROOT/build/selftests/vdpa_fusiond/fusiond_bench
VP=$ROOT/build/compat/vp_vdpa.ko

bdf=$(basename "$(dirname "$(readlink -f "/sys/block/$(gp_disk_of_serial gpci-bench)/device")")") ||
	fail "no card gpci-bench"
[ -d /sys/module/vp_vdpa ] || insmod "$VP"

# run_via DRIVER: IOPS of virtio_vdpa's disk on a vDPA device of the card
# made by that PCI driver (vdpa_gen_pci, or vp-vdpa: vp_vdpa.ko's name).
run_via() {
	local drv=$1 disk iops
	gp_bind_pci "$bdf" "$drv"
	vdpa dev add mgmtdev "pci/$bdf" name gpbench >/dev/null
	bind_vdpa gpbench virtio_vdpa
	disk=$(gp_blockdev gpbench) || fail "$drv: no disk"
	iops=$($BENCH dev "/dev/$disk" "$SECS")
	vdpa dev del gpbench
	echo "$iops"
}

run_plain() {
	local disk
	gp_give_back "$bdf"
	wait_for 10 gp_disk_of_serial gpci-bench || fail "virtio_blk did not get the card"
	disk=$(gp_disk_of_serial gpci-bench)
	$BENCH dev "/dev/$disk" "$SECS"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

plain="" gen="" vp=""
for r in $(seq "$ROUNDS"); do
	# Rotate the order, so that no path always follows the same one.
	for p in $(echo "gen vp plain gen vp" | cut -d' ' -f$(((r - 1) % 3 + 1))-$(((r - 1) % 3 + 3))); do
		case $p in
		gen) gen="$gen $(run_via vdpa_gen_pci)" ;;
		vp) vp="$vp $(run_via vp-vdpa)" ;;
		plain) plain="$plain $(run_plain)" ;;
		esac
	done
	echo "round $r: virtio-pci$(echo "$plain" | awk '{print " " $NF}') vdpa_gen_pci$(echo "$gen" | awk '{print " " $NF}') vp_vdpa$(echo "$vp" | awk '{print " " $NF}') IOPS"
done
p=$(echo "$plain" | tr ' ' '\n' | grep . | median)
g=$(echo "$gen" | tr ' ' '\n' | grep . | median)
v=$(echo "$vp" | tr ' ' '\n' | grep . | median)
echo "median IOPS: virtio-pci $p, vdpa_gen_pci $g, vp_vdpa $v"
awk -v p="$p" -v g="$g" -v v="$v" 'BEGIN {
	printf "RATIO vdpa_gen_pci direct / vp_vdpa, same card: %.2f (goal >= 1.0)\n", g / v
	printf "RATIO vdpa_gen_pci direct / plain virtio-pci: %.2f\n", g / p }'

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/bench/genpci-shadow-vtd.sh - runs inside the VT-d bench VM
# (scripts/bench.sh, the vdpa_genpci suite's cards).
#
# Two virtio-net-pci cards on one QEMU hub, bound to vdpa_gen_pci and
# driven from userspace through /dev/vdpa-mig-N (xfer_bench): frames per
# second in direct mode vs on shadow rings (dirty logging on both devices
# moves them there), rounds alternating, median of ROUNDS. Goal: shadow /
# direct >= 0.8. The ratio is the median of each round's own ratio (its
# direct and shadow runs back to back), which the host's load drifting
# between rounds moves less than a ratio of the two medians would. Also
# the time each switch into shadow mode took, as the driver logs it
# (median), most of it the quiesce grace period.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export REPO_ROOT=$ROOT SUITE_DIR=$ROOT/tools/testing/selftests/vdpa_genpci
export BUILD_DIR=$ROOT/build/selftests/vdpa_genpci
. "$SUITE_DIR/lib.sh"
ROUNDS=${ROUNDS:-9}
FRAMES=${FRAMES:-20000}
BIN=$ROOT/build/selftests/vdpa_generic/xfer_bench

[ -x "$BIN" ] || fail "$BIN missing (make selftests)"
a=$(gp_card net 0)
b=$(gp_card net 1)
gp_take "$a"
gp_take "$b"
export XB_MGMT_A=pci/$a XB_MGMT_B=pci/$b
declare -A res ratios
dmesg -C
for r in $(seq 1 "$ROUNDS"); do
	for loop in lockstep stream; do
		for log in 0 1; do
			fps=$(XB_LOOP=$loop "$BIN" vdpa_migrate $log "$FRAMES" |
			      sed -n 's/^FPS //p')
			[ -n "$fps" ] || fail "xfer_bench failed ($loop, log $log)"
			res[$loop$log]="${res[$loop$log]:-} $fps"
			[ "$log" = 1 ] || direct=$fps
		done
		ratios[$loop]="${ratios[$loop]:-} $(awk -v s="$fps" -v d="$direct" 'BEGIN { printf "%.3f", s / d }')"
	done
done
gp_give_back "$a"
gp_give_back "$b"
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
sw=$(dmesg | sed -n 's/.*shadow rings on in \([0-9]*\) us.*/\1/p' | tr '\n' ' ')
for loop in lockstep stream; do
	d=$(echo "${res[${loop}0]}" | median)
	s=$(echo "${res[${loop}1]}" | median)
	echo "$loop: frames/s, median of $ROUNDS x $FRAMES: direct $d, shadow $s"
	echo "$loop: direct per round:${res[${loop}0]}"
	echo "$loop: shadow per round:${res[${loop}1]}"
	echo "$loop: shadow/direct per round:${ratios[$loop]}"
done
echo "switches into shadow mode (us): $sw"
echo "switch into shadow mode, median: $(echo "$sw" | median) us"
echo "${ratios[lockstep]}" | median | awk '{ printf "RATIO vdpa_gen_pci shadow/direct fps, lockstep = %.2f\n", $1 }'
echo "${ratios[stream]}" | median | awk '{ printf "RATIO vdpa_gen_pci shadow/direct fps, streaming = %.2f\n", $1 }'

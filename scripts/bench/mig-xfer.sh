#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/bench/mig-xfer.sh - runs inside the test VM (see scripts/bench.sh).
#
# Frames per second between two generic net devices driven from userspace
# (xfer_bench), same run, rounds alternating, median of ROUNDS:
#  - through our /dev/vdpa-mig-N vs the kernel's /dev/vhost-vdpa-N on the
#    same parent (goal >= 1.0x);
#  - through /dev/vdpa-mig-N with dirty logging on vs off (goal >= 0.9x).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-5}
FRAMES=${FRAMES:-20000}
BIN=$ROOT/build/selftests/vdpa_generic/xfer_bench

[ -x "$BIN" ] || { echo "mig-xfer: $BIN missing (make selftests)" >&2; exit 1; }
declare -A res
for r in $(seq 1 "$ROUNDS"); do
	for mode in "vhost_vdpa 0" "vdpa_migrate 0" "vdpa_migrate 1"; do
		fps=$("$BIN" $mode "$FRAMES" | sed -n 's/^FPS //p')
		res["$mode"]="${res["$mode"]:-} $fps"
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
k=$(echo "${res["vhost_vdpa 0"]}" | median)
m=$(echo "${res["vdpa_migrate 0"]}" | median)
l=$(echo "${res["vdpa_migrate 1"]}" | median)
echo "frames/s, median of $ROUNDS x $FRAMES: vhost_vdpa $k, vdpa_migrate $m, vdpa_migrate+log $l"
awk -v m="$m" -v k="$k" 'BEGIN { printf "RATIO vdpa_migrate/vhost_vdpa fps = %.2f\n", m / k }'
awk -v l="$l" -v m="$m" 'BEGIN { printf "RATIO vdpa_migrate logging on/off fps = %.2f\n", l / m }'

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/bench/mig-downtime.sh - runs inside the test VM (see scripts/bench.sh).
#
# Device-state downtime of vdpa_migrate: source SAVING + GET_DEVICE_STATE +
# destination SET_DEVICE_STATE + RESUMING -> RUNNING, for generic net
# devices with 1 and 8 queue pairs (every data queue set up), as a ratio to
# a no-op ioctl round trip (VDPA_MIG_GET_INFO) measured in the same run.
# Median of ROUNDS.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-101}
BIN=$ROOT/build/selftests/vdpa_generic/mig_bench

[ -x "$BIN" ] || { echo "mig-downtime: $BIN missing (make selftests)" >&2; exit 1; }
for pairs in 1 8; do
	out=$("$BIN" "$pairs" "$ROUNDS")
	echo "$out" | grep -v '^MEDIAN_NS'
	set -- $(echo "$out" | sed -n 's/^MEDIAN_NS //p')
	echo "switchover, $pairs queue pairs: $1 ns; no-op ioctl $2 ns (median of $ROUNDS)"
	awk -v d="$1" -v n="$2" -v p="$pairs" \
		'BEGIN { printf "RATIO state_downtime_%uqp/noop_ioctl = %.1f\n", p, d / n }'
done

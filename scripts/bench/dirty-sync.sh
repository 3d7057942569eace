#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/bench/dirty-sync.sh - runs inside the test VM (see scripts/bench.sh).
#
# Cost of one VDPA_MIG_LOG_SYNC over a 16 GiB IOVA span next to a 1 GiB
# span holding the same number of dirty pages (1024, written by a generic
# block device through vdpa_migrate), same run, spans alternating, median
# of ROUNDS.  With the two-level log a sync costs what its dirty chunks
# cost, so the ratio should stay near 1 (goal <= 1.2).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-21}
BIN=$ROOT/build/selftests/vdpa_generic/dirty_bench

[ -x "$BIN" ] || { echo "dirty-sync: $BIN missing (make selftests)" >&2; exit 1; }
out=$("$BIN" "$ROUNDS")
echo "$out" | grep -v '^MEDIAN_NS'
set -- $(echo "$out" | sed -n 's/^MEDIAN_NS //p')
echo "dirty sync, $3 dirty pages: 16 GiB span $2 ns vs 1 GiB span $1 ns (median of $ROUNDS)"
awk -v l="$2" -v s="$1" 'BEGIN { printf "RATIO dirty_sync 16GiB/1GiB = %.2f\n", l / s }'

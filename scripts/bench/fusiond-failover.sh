#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/bench/fusiond-failover.sh - runs inside the test VM (see
# scripts/bench.sh).
#
# AP failover stall: fusiond_failover_test writes a stream (16 in flight)
# through an AP aggregate of cards A and B; the active card A reports
# NEEDS_RESET (hiaggre_dslice's inject_needs_reset: the failure is known
# at once, as with a card that says it broke). Printed per round: the
# longest gap between two completions after the failure and FusionD's
# failover_us (report to the first completion on the survivor). A card
# that dies silently adds its detection time, which FusionD does not own
# (no request timeout yet; see Documentation/fusiond.rst).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export REPO_ROOT=$ROOT SUITE_DIR=$ROOT/tools/testing/selftests/vdpa_fusiond
export BUILD_DIR=$ROOT/build/selftests/vdpa_fusiond
. "$SUITE_DIR/lib.sh"
ROUNDS=${ROUNDS:-3}

cards
gaps="" owns=""
for r in $(seq "$ROUNDS"); do
	enabled_agg fo ap
	out=$(FUSIOND_AGG=$CFS/fo FUSIOND_VERIFY=$V \
	      FUSIOND_FAIL_WRITE=/sys/bus/pci/devices/$A/inject_needs_reset \
	      "$BUILD_DIR/fusiond_failover_test" 2>&1) ||
		{ echo "$out"; fail "fusiond_failover_test"; }
	gap=$(echo "$out" | sed -n 's/.*longest completion gap after the failure: \([0-9]*\) us.*/\1/p')
	own=$(agg_field fo failover_us)
	[ -n "$gap" ] || { echo "$out"; fail "no gap printed"; }
	echo "round $r: stall $gap us, failover_us $own, requeued $(agg_field fo requeued)"
	gaps="$gaps $gap" owns="$owns $own"
	# The fenced card needs a rebind (its probe resets it).
	echo "$A" >$CFS/fo/remove_member
	echo 0 >$CFS/fo/enable
	rmdir $CFS/fo
	echo "$A" >/sys/bus/pci/drivers/hiaggre_dslice/unbind
	echo "$A" >/sys/bus/pci/drivers/hiaggre_dslice/bind
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
g=$(echo "$gaps" | median)
o=$(echo "$owns" | median)
awk -v g="$g" -v o="$o" 'BEGIN {
	printf "RATIO fusiond AP failover stall / bonding 100 ms link check: %.3f (%.2f ms; goal <= 10 ms, i.e. <= 0.1)\n", g / 100000, g / 1000
	printf "  of which FusionD (report to survivor completion): %.2f ms\n", o / 1000 }'

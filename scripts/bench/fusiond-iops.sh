#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/bench/fusiond-iops.sh - runs inside the test VM (see scripts/bench.sh).
#
# 4 KiB random reads, queue depth 16, through three paths to the same image:
# the kernel's virtio_blk on card V (direct), a FusionD AA aggregate with
# one member (card B) and the same aggregate after card A is hot-added (two
# members). All three are driven by fusiond_bench the same way; rounds
# alternate so they share the machine's load, and the ratios of the medians
# are what to read (under TCG the vCPUs, not the cards, are the limit).
# Then the same 1-member/2-member comparison on cards C and D, each
# throttled by QEMU (see scripts/bench.sh): there the members are the limit,
# which is where striping has to show.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export REPO_ROOT=$ROOT SUITE_DIR=$ROOT/tools/testing/selftests/vdpa_fusiond
export BUILD_DIR=$ROOT/build/selftests/vdpa_fusiond
. "$SUITE_DIR/lib.sh"
SECS=${SECS:-5}
ROUNDS=${ROUNDS:-3}
BENCH=$BUILD_DIR/fusiond_bench

cards
to_slice "$A"
to_slice "$B"
create_agg bench aa 2
echo "$B" >$CFS/bench/add_member
echo 1 >$CFS/bench/enable

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

direct="" one="" two=""
for r in $(seq "$ROUNDS"); do
	direct="$direct $($BENCH dev "$V" "$SECS")"
	one="$one $($BENCH agg $CFS/bench "$SECS")"
	echo "$A" >$CFS/bench/add_member
	two="$two $($BENCH agg $CFS/bench "$SECS")"
	echo "$A" >$CFS/bench/remove_member
	echo "round $r: virtio_blk$(echo "$direct" | awk '{print " " $NF}') 1-member$(echo "$one" | awk '{print " " $NF}') 2-member$(echo "$two" | awk '{print " " $NF}') IOPS"
done
d=$(echo "$direct" | tr ' ' '\n' | grep . | median)
o=$(echo "$one" | tr ' ' '\n' | grep . | median)
t=$(echo "$two" | tr ' ' '\n' | grep . | median)
echo "median IOPS: virtio_blk $d, aggregate 1 member $o, 2 members $t"
awk -v d="$d" -v o="$o" -v t="$t" 'BEGIN {
	printf "RATIO fusiond AA 2 members / 1 member: %.2f (goal >= 1.8 where the members are the limit)\n", t / o
	printf "RATIO fusiond 1-member aggregate / virtio_blk direct: %.2f (goal >= 0.9)\n", o / d }'
grep -h . $CFS/bench/stats | sed 's/^/  /'
echo 0 >$CFS/bench/enable
rmdir $CFS/bench

C=$(bdf_of_serial fusion-c) || fail "no card fusion-c"
D=$(bdf_of_serial fusion-d) || fail "no card fusion-d"
to_slice "$C"
to_slice "$D"
create_agg thr aa 2
echo "$C" >$CFS/thr/add_member
echo 1 >$CFS/thr/enable
one="" two=""
for r in $(seq "$ROUNDS"); do
	one="$one $($BENCH agg $CFS/thr "$SECS")"
	echo "$D" >$CFS/thr/add_member
	two="$two $($BENCH agg $CFS/thr "$SECS")"
	echo "$D" >$CFS/thr/remove_member
	echo "throttled round $r: 1-member$(echo "$one" | awk '{print " " $NF}') 2-member$(echo "$two" | awk '{print " " $NF}') IOPS"
done
o=$(echo "$one" | tr ' ' '\n' | grep . | median)
t=$(echo "$two" | tr ' ' '\n' | grep . | median)
echo "median IOPS, throttled members: aggregate 1 member $o, 2 members $t"
awk -v o="$o" -v t="$t" 'BEGIN {
	printf "RATIO fusiond AA 2 throttled members / 1: %.2f (goal >= 1.8)\n", t / o }'
echo 0 >$CFS/thr/enable
rmdir $CFS/thr

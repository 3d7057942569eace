#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# AA aggregate of two paths to one image: the userspace VFIO virtio-blk
# driver checks data integrity (also on the image through a third path),
# load spreading, member hot-remove/hot-add under an open device, hostile
# rings and VFIO misuse (fusiond_blk_test); the fusiond tracepoints show
# requests going to, and coming back from, both members.
. "$SUITE_DIR/lib.sh"
cards
set -e
enabled_agg aa0 aa

trace_on fusiond_submit fusiond_complete
set +e
FUSIOND_AGG=$CFS/aa0 FUSIOND_VERIFY=$V "$BUILD_DIR/fusiond_blk_test"
rc=$?
set -e
trace_off
$CTL show aa0
[ $rc -eq 0 ] || fail "fusiond_blk_test"
[ "$(agg_field aa0 failed_reqs)" = 0 ] || fail "failed requests"
[ "$(grep -c '^member ' $CFS/aa0/stats)" = 2 ] || fail "members after the test"
[ "$(member_field aa0 1 state)" = active ] || fail "re-added member not active"
for c in "$A" "$B"; do
	n=$(grep -c "fusiond_submit: aa0: queue [0-9]* -> $c queue" $TRACEFS/trace || true)
	k=$(grep -c "fusiond_complete: aa0: queue [0-9]* head [0-9]* done by $c," $TRACEFS/trace || true)
	echo "# trace: $c: $n submitted, $k completed"
	[ "$n" -gt 0 ] && [ "$k" -gt 0 ] || fail "no trace events for member $c"
done

$CTL delete aa0 >/dev/null
echo "ok: AA aggregate"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# AP failover: the active card is removed (QMP device_del) under a stream of
# writes; every write completes once, without error, and is on the image.
# The fusiond_member_failed tracepoint reports what moved where.
. "$SUITE_DIR/lib.sh"
cards
set -e
enabled_agg ap0 ap
[ "$(member_field ap0 0 state)" = active ] || fail "A not active"
[ "$(member_field ap0 1 state)" = standby ] || fail "B not standby"

trace_on fusiond_member_failed
set +e
FUSIOND_AGG=$CFS/ap0 FUSIOND_VERIFY=$V \
FUSIOND_FAIL_CMD="python3 $REPO_ROOT/scripts/vm/qmp.py device_del '{\"id\": \"blk0\"}' >/dev/null" \
	"$BUILD_DIR/fusiond_failover_test"
rc=$?
set -e
trace_off
$CTL show ap0
dmesg | grep -E 'fusiond|hiaggre|pciehp|acpiphp' | grep -v 'needs reset' | tail -n 20 | sed 's/^/# /'
[ $rc -eq 0 ] || fail "fusiond_failover_test"
for _ in $(seq 50); do
	[ -e /sys/bus/pci/devices/$A ] || break
	sleep 0.2
done
[ ! -e /sys/bus/pci/devices/$A ] || fail "card $A still present"
[ "$(grep -c '^member ' $CFS/ap0/stats)" = 1 ] || fail "failed member still listed"
[ "$(member_field ap0 0 bdf)" = "$B" ] || fail "B not the member left"
[ "$(member_field ap0 0 state)" = active ] || fail "B not active"
[ "$(agg_field ap0 failed_reqs)" = 0 ] || fail "failed requests"
# A's queues are small (vm.args): it held a backlog, which moved to B. On
# the debug kernel the removal is slow enough that A sometimes finishes its
# backlog first; the requeue is then covered by ap_needs_reset.sh.
if [ "$(agg_field ap0 requeued)" = 0 ]; then
	[ "${VDPA_TIER:-debian}" = debug ] || fail "nothing requeued"
	echo "# nothing requeued: A finished its backlog before it was fenced"
fi
ev=$(grep "fusiond_member_failed: ap0: member $A fenced" $TRACEFS/trace || true)
echo "# trace: ${ev##*fusiond_member_failed: }"
echo "$ev" | grep -q ", $(agg_field ap0 requeued) requests requeued, active $B\$" ||
	fail "no fusiond_member_failed event for $A matching the stats"
echo 0 >$CFS/ap0/enable
rmdir $CFS/ap0
echo "ok: AP failover"

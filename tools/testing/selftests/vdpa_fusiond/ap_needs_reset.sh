#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# AP failover on a member that reports NEEDS_RESET (injected through
# hiaggre_dslice's inject_needs_reset attribute: QEMU's virtio-blk never
# sets the bit) under a stream of writes: every write completes once,
# without error, and is on the image (fusiond_failover_test). The failed
# member stays listed as fenced until removed; its card works again once
# rebound.
. "$SUITE_DIR/lib.sh"
cards
set -e
INJ=/sys/bus/pci/devices/$A/inject_needs_reset
[ -e "$INJ" ] || fail "no inject_needs_reset attribute on $A"
expect_errno EINVAL "$INJ" 0
expect_errno EINVAL "$INJ" x
enabled_agg nr0 ap
[ "$(member_field nr0 0 state)" = active ] || fail "A not active"
[ "$(member_field nr0 1 state)" = standby ] || fail "B not standby"

set +e
FUSIOND_AGG=$CFS/nr0 FUSIOND_VERIFY=$V FUSIOND_FAIL_WRITE=$INJ \
	"$BUILD_DIR/fusiond_failover_test"
rc=$?
set -e
$CTL show nr0
dmesg | grep -E 'fusiond|hiaggre' | tail -n 5 | sed 's/^/# /'
[ $rc -eq 0 ] || fail "fusiond_failover_test"
dmesg | grep -q "$A: card needs reset (injected), reporting failure" ||
	fail "no NEEDS_RESET report from $A in the kernel log"
[ "$(member_field nr0 0 bdf)" = "$A" ] || fail "A no longer listed"
[ "$(member_field nr0 0 state)" = fenced ] || fail "A not fenced"
[ "$(member_field nr0 1 state)" = active ] || fail "B not active"
[ "$(agg_field nr0 failovers)" = 1 ] || fail "not exactly one failover"
[ "$(agg_field nr0 failed_reqs)" = 0 ] || fail "failed requests"
# A's queues are small (vm.args): it held a backlog, which moved to B.
[ "$(agg_field nr0 requeued)" -gt 0 ] || fail "nothing requeued"

# The fenced member goes; its card needs a rebind (probe resets it).
echo "$A" >$CFS/nr0/remove_member
[ "$(grep -c '^member ' $CFS/nr0/stats)" = 1 ] || fail "A still listed"
echo 0 >$CFS/nr0/enable
rmdir $CFS/nr0
echo "$A" >/sys/bus/pci/drivers/hiaggre_dslice/unbind
echo "$A" >/sys/bus/pci/drivers/hiaggre_dslice/bind
[ "$(basename "$(readlink /sys/bus/pci/devices/$A/driver)")" = hiaggre_dslice ] ||
	fail "$A not bound again"
echo "ok: AP failover on NEEDS_RESET"

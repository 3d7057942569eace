#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# VFIO_IOMMU_UNMAP_DMA while writes are in flight at the (throttled) active
# member of an AP aggregate: the unmap returns once nothing is pinned, the
# device is in NEEDS_RESET, and after a reset and a new map it works again
# (fusiond_unmap_test). No failover, no failed request.
. "$SUITE_DIR/lib.sh"
cards
set -e
enabled_agg un0 ap
[ "$(member_field un0 0 state)" = active ] || fail "A not active"

set +e
FUSIOND_AGG=$CFS/un0 FUSIOND_VERIFY=$V "$BUILD_DIR/fusiond_unmap_test"
rc=$?
set -e
$CTL show un0
[ $rc -eq 0 ] || fail "fusiond_unmap_test"
[ "$(member_field un0 0 state)" = active ] || fail "A not active after the test"
[ "$(member_field un0 1 state)" = standby ] || fail "B not standby after the test"
[ "$(member_field un0 0 outstanding)" = 0 ] || fail "requests left at A"
[ "$(agg_field un0 failovers)" = 0 ] || fail "failover"
[ "$(agg_field un0 failed_reqs)" = 0 ] || fail "failed requests"
echo 0 >$CFS/un0/enable
rmdir $CFS/un0
echo "ok: unmap under in-flight requests"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# AA aggregate of two paths to one image: the userspace VFIO virtio-blk
# driver checks data integrity (also on the image through a third path),
# load spreading, member hot-remove/hot-add under an open device, hostile
# rings and VFIO misuse (fusiond_blk_test).
. "$SUITE_DIR/lib.sh"
cards
set -e
enabled_agg aa0 aa

set +e
FUSIOND_AGG=$CFS/aa0 FUSIOND_VERIFY=$V "$BUILD_DIR/fusiond_blk_test"
rc=$?
set -e
$CTL show aa0
[ $rc -eq 0 ] || fail "fusiond_blk_test"
[ "$(agg_field aa0 failed_reqs)" = 0 ] || fail "failed requests"
[ "$(grep -c '^member ' $CFS/aa0/stats)" = 2 ] || fail "members after the test"
[ "$(member_field aa0 1 state)" = active ] || fail "re-added member not active"

$CTL delete aa0 >/dev/null
echo "ok: AA aggregate"

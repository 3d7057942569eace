#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Taking an aggregate apart while its VFIO device is open
# (fusiond_teardown_test): hiaggre_virtio and fusiond stay (EWOULDBLOCK),
# rmdir waits for the close while a member still fails over (injected
# NEEDS_RESET), hiaggre_dslice unloads under in-flight writes (each
# completes once, OK or IOERR). Then every module unloads, and reloading
# them gives the cards back to hiaggre_dslice (driver_override).
. "$SUITE_DIR/lib.sh"
cards
set -e
enabled_agg td0 ap
[ "$(member_field td0 0 state)" = active ] || fail "A not active"

set +e
FUSIOND_AGG=$CFS/td0 FUSIOND_MEMBER=$A "$BUILD_DIR/fusiond_teardown_test"
rc=$?
set -e
dmesg | grep -E 'fusiond|hiaggre' | tail -n 6 | sed 's/^/# /'
[ $rc -eq 0 ] || fail "fusiond_teardown_test"
[ ! -e $CFS/td0 ] || fail "aggregate still there"
[ ! -d /sys/module/hiaggre_dslice ] || fail "hiaggre_dslice still loaded"

# Nothing holds the rest any more.
rmmod hiaggre_virtio || fail "rmmod hiaggre_virtio"
rmmod fusiond || fail "rmmod fusiond"
"$REPO_ROOT/scripts/vm/load-modules.sh" || fail "reloading the modules"
for c in "$A" "$B"; do
	[ "$(basename "$(readlink /sys/bus/pci/devices/$c/driver)")" = hiaggre_dslice ] ||
		fail "$c not bound to hiaggre_dslice after the reload"
done
echo "ok: teardown while open"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Allocation-failure walk over vdpa_gen_pci's control paths (debug tier),
# with vdpa_generic's fail_nth: bind to vhost_vdpa, open + setup of
# /dev/vhost-vdpa-N and an IOTLB update into the parent's own domain (the
# first map attaches it). Every injected failure must unwind (no binding
# left); the device then still moves data (genpci_vhost_test's rng case),
# and kmemleak is scanned after the suite.
#
# Not walked: `vdpa dev add`. It requests IRQs, and genirq ignores a failed
# /proc/irq entry, then WARNs when free_irq() cannot find it; and it
# attaches and detaches an IOMMU domain, and 6.1's iommu_detach_device()
# WARNs when re-attaching the default domain fails (it has no error
# return). Both are core code reacting to the injected failure itself.
#
# Needs fault injection: skipped on the Debian kernel, which has none.
set -u
# shellcheck source=lib.sh
. "$SUITE_DIR/lib.sh"

FS=/sys/kernel/debug/failslab
BIN=$BUILD_DIR/fail_nth
[ -e /proc/self/fail-nth ] && [ -d $FS ] ||
	skip "kernel without fault injection (fail-nth, failslab)"

cleanup() {
	echo 1 >/sys/bus/vdpa/drivers_autoprobe
	echo Y >$FS/ignore-gfp-wait
	echo 2 >$FS/verbose
	gp_cleanup
}
trap cleanup EXIT
echo N >$FS/ignore-gfp-wait
echo 0 >$FS/verbose
echo 0 >/sys/bus/vdpa/drivers_autoprobe

walk() {
	log "fail_nth $*"
	"$BIN" "$@" || fail "fail_nth $*"
}

rng=$(gp_card rng)
gp_take "$rng"
vdpa dev add mgmtdev "pci/$rng" name fn_rng || fail "add fn_rng"
walk bind fn_rng vhost_vdpa
walk vhost-open fn_rng
walk vhost-map fn_rng
vdpa dev del fn_rng || fail "del fn_rng"

# After the walks the function still serves a device that works.
echo 1 >/sys/bus/vdpa/drivers_autoprobe
GPCI_RNG=$rng "$BUILD_DIR/genpci_vhost_test" || fail "rng after the walks"
check_dmesg
exit 0

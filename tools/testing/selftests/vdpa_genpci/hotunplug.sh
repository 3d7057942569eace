#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hot-unplug of a card (QMP device_del of a card behind a root port) while
# its vDPA device is in use through /dev/vdpa-mig-N, on shadow rings (dirty
# logging on, random bytes read through them; gp_hold): the removal waits
# for the last user, then the device, its shadow rings, the management
# device and the function go away without a kernel report. Where the card
# shares its IOMMU group (the debug kernel puts it in its root port's), it
# gets no domain of its own and the node is only held open. Removes the
# rng card for good, so it runs last.
set -u
# shellcheck source=lib.sh
. "$SUITE_DIR/lib.sh"
trap "touch /tmp/gpu-release; gp_cleanup" EXIT

rng=$(gp_card rng 1)
gp_take "$rng"
gp_add "$rng" gpu vdpa_migrate

# A user runs the device until told to let go.
stop=/tmp/gpu-release
out=/tmp/gpu-hold.out
rm -f $stop $out
"$BUILD_DIR/gp_hold" gpu $stop >$out &
holder=$!
wait_for $((30 * ${VDPA_TIMEOUT_SCALE:-1})) grep -q holding $out ||
	fail "gp_hold did not start: $(cat $out)"
mode=$(sed -n 's/^holding //p' $out)
log "gpu held ($mode)"
if [ "${VDPA_TIER:-debian}" = debian ] && [ "$mode" != shadow ]; then
	fail "the card has a domain of its own here: shadow rings expected"
fi
python3 "$REPO_ROOT/scripts/vm/qmp.py" device_del '{"id": "gprng"}' >/dev/null ||
	fail "device_del"
# The removal reaches the vDPA device (its bus link goes first), then
# blocks in vdpa_migrate's remove until the file is closed.
wait_for $((30 * ${VDPA_TIMEOUT_SCALE:-1})) sh -c "! test -e /sys/bus/vdpa/devices/gpu" ||
	fail "the removal never reached gpu"
sleep 2
[ -e "$PCI/$rng" ] || fail "$rng removed while gpu is still in use"
kill -0 $holder 2>/dev/null || fail "the holder died"
touch $stop
wait $holder || fail "gp_hold failed"
wait_for $((30 * ${VDPA_TIMEOUT_SCALE:-1})) sh -c "! test -e $PCI/$rng" ||
	fail "$rng still present after its last user left"
vdpa mgmtdev show "pci/$rng" >/dev/null 2>&1 && fail "mgmtdev still there"
log "$rng removed after its user let go"
check_dmesg
echo ok

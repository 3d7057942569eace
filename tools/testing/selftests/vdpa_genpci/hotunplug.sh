#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hot-unplug of a card (QMP device_del of a card behind a root port) while
# its vDPA device is open through /dev/vhost-vdpa-N: the removal waits for
# the last user, then the device, the management device and the function
# go away without a kernel report. Removes the rng card
# for good, so it runs last.
set -u
# shellcheck source=lib.sh
. "$SUITE_DIR/lib.sh"
trap "touch /tmp/gpu-release; gp_cleanup" EXIT

rng=$(gp_card rng 1)
gp_take "$rng"
gp_add "$rng" gpu vhost_vdpa
node=$(basename /sys/bus/vdpa/devices/gpu/vhost-vdpa-*)
[ -c "/dev/$node" ] || fail "no /dev/$node"

# A user holds the device open until told to let go.
stop=/tmp/gpu-release
rm -f $stop
(exec 3<>"/dev/$node" && while [ ! -e $stop ]; do sleep 0.2; done) &
holder=$!
python3 "$REPO_ROOT/scripts/vm/qmp.py" device_del '{"id": "gprng"}' >/dev/null ||
	fail "device_del"
# The removal reaches the vDPA device (its bus link goes first), then
# blocks in vhost_vdpa's remove until the file is closed.
wait_for $((30 * ${VDPA_TIMEOUT_SCALE:-1})) sh -c "! test -e /sys/bus/vdpa/devices/gpu" ||
	fail "the removal never reached gpu"
sleep 2
[ -e "$PCI/$rng" ] || fail "$rng removed while /dev/$node is still open"
kill -0 $holder 2>/dev/null || fail "the holder died"
touch $stop
wait $holder
wait_for $((30 * ${VDPA_TIMEOUT_SCALE:-1})) sh -c "! test -e $PCI/$rng" ||
	fail "$rng still present after its last user left"
vdpa mgmtdev show "pci/$rng" >/dev/null 2>&1 && fail "mgmtdev still there"
log "$rng removed after its user closed /dev/$node"
check_dmesg
echo ok

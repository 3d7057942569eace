#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hot-unplug of a card (QMP device_del, the PCIe root port's attention
# button) while its vDPA device is open through /dev/vhost-vdpa-N: the
# removal waits for the last user, then the device, the management device
# and the function go away without a kernel report. Removes the rng card
# for good, so it runs last.
set -u
# shellcheck source=lib.sh
. "$SUITE_DIR/lib.sh"
trap gp_cleanup EXIT

rng=$(gp_card rng 1)
gp_take "$rng"
gp_add "$rng" gpu vhost_vdpa
node=$(basename /sys/bus/vdpa/devices/gpu/vhost-vdpa-*)
[ -c "/dev/$node" ] || fail "no /dev/$node"

# A user holds the device open for a while.
hold=$((12 * ${VDPA_TIMEOUT_SCALE:-1}))
(exec 3<>"/dev/$node" && sleep "$hold") &
holder=$!
sleep 1
python3 "$REPO_ROOT/scripts/vm/qmp.py" device_del '{"id": "gprng"}' >/dev/null ||
	fail "device_del"
# pciehp waits 5 s after the button press before it removes the function;
# the removal then blocks on the open file.
sleep 7
kill -0 $holder 2>/dev/null || fail "the holder ended too early to test anything"
[ -e /sys/bus/vdpa/devices/gpu ] || log "gpu already unregistered, waiting for its user"
wait $holder
wait_for $((30 * ${VDPA_TIMEOUT_SCALE:-1})) sh -c "! test -e $PCI/$rng" ||
	fail "$rng still present after its last user left"
[ -e /sys/bus/vdpa/devices/gpu ] && fail "gpu still registered"
vdpa mgmtdev show "pci/$rng" >/dev/null 2>&1 && fail "mgmtdev still there"
log "$rng removed after its user closed /dev/$node"
check_dmesg
echo ok

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hot-unplug of a card (QMP device_del of a card behind a root port) while
# its vDPA device is in use through /dev/vdpa-mig-N, on shadow rings (dirty
# logging on, random bytes read through them; gp_hold): the removal waits
# for the last user, then the device, its shadow rings, the management
# device and the function go away without a kernel report. Where the card
# shares its IOMMU group (the debug kernel puts it in its root port's), it
# gets no domain of its own and the node is only held open. Then a blk
# card whose device virtio_vdpa runs is removed while the device is held
# (vdpa_gen_pci unloaded, hot_upgrade.sh): vdpa_gen deletes the device,
# its disk goes, no kernel report. Removes both cards for good, so it runs
# last.
set -u
# shellcheck source=lib.sh
. "$SUITE_DIR/lib.sh"
GP_KO=$("$REPO_ROOT/scripts/vm/load-modules.sh" --ko-dir)/$GP_DRV.ko
cleanup() {
	touch /tmp/gpu-release
	"$REPO_ROOT/scripts/vm/load-modules.sh"
	gp_cleanup
}
trap cleanup EXIT

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

# The blk card, held.
wait_for 10 gp_disk_of_serial gpci-unplug || fail "no gpci-unplug disk"
ub=$(basename "$(dirname "$(readlink -f \
	"/sys/block/$(gp_disk_of_serial gpci-unplug)/device")")")
gp_take "$ub"
gp_add "$ub" gpuh virtio_vdpa
gp_blockdev gpuh >/dev/null || fail "no disk on gpuh"
rmmod $GP_DRV || fail "rmmod $GP_DRV"
[ -e /sys/bus/vdpa/devices/gpuh/driver ] || fail "gpuh not held"
python3 "$REPO_ROOT/scripts/vm/qmp.py" device_del '{"id": "gpublk"}' >/dev/null ||
	fail "device_del gpublk"
wait_for $((30 * ${VDPA_TIMEOUT_SCALE:-1})) sh -c "! test -e $PCI/$ub" ||
	fail "$ub still present"
[ -e /sys/bus/vdpa/devices/gpuh ] && fail "held gpuh outlived its function"
gp_disk_of_serial gpci-unplug && fail "the disk outlived its function"
dmesg | grep -q "function $ub removed while held" ||
	fail "vdpa_gen did not see the removal"
insmod "$GP_KO" || fail "insmod $GP_KO"
log "held gpuh deleted with its function"
check_dmesg
echo ok

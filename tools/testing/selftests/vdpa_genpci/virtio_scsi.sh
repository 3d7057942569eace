#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A virtio-scsi-pci card (one scsi-hd) as a vDPA device through virtio_vdpa
# + virtio_scsi: the disk appears, a pattern written with O_DIRECT reads
# back, and the device goes away cleanly.
set -u
# shellcheck source=lib.sh
. "$SUITE_DIR/lib.sh"
trap gp_cleanup EXIT

modprobe -q virtio_scsi 2>/dev/null
modprobe -q sd_mod 2>/dev/null
card=$(gp_card scsi)
gp_take "$card"
gp_add "$card" gps virtio_vdpa

sd_of_gps() {
	local b
	local v
	v=$(gp_virtio gps) || return 1
	for b in "$v"/host*/target*/*/block/sd*; do
		[ -e "$b" ] && { basename "$b"; return 0; }
	done
	return 1
}
wait_for 20 sd_of_gps || fail "no SCSI disk behind gps"
sd=$(sd_of_gps)
log "gps -> /dev/$sd ($(cat "/sys/block/$sd/device/model" 2>/dev/null))"

pat=$(mktemp)
head -c $((4 << 20)) /dev/urandom >"$pat"
dd if="$pat" of="/dev/$sd" bs=1M oflag=direct conv=fsync 2>/dev/null || fail write
got=$(dd if="/dev/$sd" bs=1M count=4 iflag=direct 2>/dev/null | sha256sum)
[ "$got" = "$(sha256sum <"$pat")" ] || fail "read back differs"
rm -f "$pat"

vdpa dev del gps
[ -e "/sys/block/$sd" ] && fail "/dev/$sd still there"
gp_give_back "$card"
check_dmesg
echo ok

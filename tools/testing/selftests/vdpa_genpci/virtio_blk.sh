#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A virtio-blk-pci card as a vDPA device through virtio_vdpa + virtio_blk:
# ext2 with a checksummed file, which survives deleting and re-adding the
# device, and is then read back through plain virtio-pci (the same card).
set -u
# shellcheck source=lib.sh
. "$SUITE_DIR/lib.sh"

MNT=/tmp/gpci-blk
cleanup() {
	umount $MNT 2>/dev/null
	gp_cleanup
}
trap cleanup EXIT
mkdir -p $MNT

card=$(gp_card blk)
gp_take "$card"
gp_add "$card" gpb virtio_vdpa
disk=$(gp_blockdev gpb) || fail "no disk on gpb"
[ "$(cat "/sys/block/$disk/serial")" = gpci-blk ] ||
	fail "serial '$(cat "/sys/block/$disk/serial")'"
log "gpb -> /dev/$disk"

mkfs.ext4 -q -F "/dev/$disk" || fail mkfs
mount "/dev/$disk" $MNT || fail mount
head -c $((6 << 20)) /dev/urandom >$MNT/data
want=$(sha256sum <$MNT/data)
umount $MNT || fail umount

# A new vDPA device on the same card sees what the old one wrote.
vdpa dev del gpb
gp_add "$card" gpb virtio_vdpa
disk=$(gp_blockdev gpb) || fail "no disk after re-add"
mount -o ro "/dev/$disk" $MNT || fail "mount after re-add"
[ "$(sha256sum <$MNT/data)" = "$want" ] || fail "data differs after re-add"
# O_DIRECT reads go to the card, not the page cache.
dd if="/dev/$disk" of=/dev/null bs=64k count=256 iflag=direct 2>/dev/null ||
	fail "direct read"
umount $MNT
vdpa dev del gpb

gp_give_back "$card"
wait_for 10 gp_disk_of_serial gpci-blk ||
	fail "virtio_blk did not get the card back"
vd=$(gp_disk_of_serial gpci-blk)
mount -o ro "/dev/$vd" $MNT || fail "mount through virtio-pci"
[ "$(sha256sum <$MNT/data)" = "$want" ] || fail "data differs through virtio-pci"
umount $MNT
check_dmesg
echo ok

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Slow tier (not in tests.list: a nested TCG guest takes ~4-5 min): QEMU 7.2
# hands an AA aggregate to a nested guest with -device vfio-pci,sysfsdev=;
# the guest's own virtio_blk driver makes a file system, writes files and
# checks them after a remount; the host then mounts the image through the
# verification card and checks the files again. Run it with a tests.list
# naming only this script.
. "$SUITE_DIR/lib.sh"
cards
set -e
command -v qemu-system-x86_64 >/dev/null || { echo "no qemu-system-x86_64"; exit 4; }
enabled_agg qg aa
dev=$(basename "$(readlink -f /sys/kernel/iommu_groups/"$(cat $CFS/qg/vfio_group)"/devices/*)")
work=$(mktemp -d)
# shellcheck source=../../../../scripts/vm/nested.sh
. "$REPO_ROOT/scripts/vm/nested.sh"
# The guest's own virtio_blk makes an ext2 file system on the aggregate,
# writes eight files of random data, and checks them after a remount.
nested_initramfs "$work" virtio_pci virtio_blk ext4 <<'GUEST'
echo "GUEST-DISK $(cat /sys/block/vda/size) $(basename "$(readlink /sys/block/vda/device/driver)")"
mke2fs -F -b 4096 /dev/vda >/dev/null 2>&1 && echo GUEST-MKFS-OK
mount -t ext2 /dev/vda /mnt && echo GUEST-MOUNT-OK
i=0
while [ $i -lt 8 ]; do
	dd if=/dev/urandom of=/mnt/f$i bs=4096 count=$((16 + 24 * i)) 2>/dev/null
	i=$((i + 1))
done
(cd /mnt && sha256sum f*) >/tmp/sums
umount /mnt
echo 3 >/proc/sys/vm/drop_caches
mount -t ext2 -o ro /dev/vda /mnt && (cd /mnt && sha256sum -c /tmp/sums >/dev/null) &&
	echo GUEST-VERIFY-OK
umount /mnt
sed 's/^/GUEST-SUM /' /tmp/sums
GUEST

start=$(date +%s)
nested_boot "$work" 600 -device "vfio-pci,sysfsdev=/sys/bus/platform/devices/$dev" ||
	fail "qemu: $(cat "$work/qemu.err")"
echo "# nested guest ran for $(($(date +%s) - start)) s"
grep -E '^GUEST|vda' "$work/console.txt" | sed 's/^/# /'
c=$(cat "$work/console.txt")
echo "$c" | grep -q '^GUEST-DISK 524288 virtio_blk' || fail "guest did not see the disk"
for step in MKFS MOUNT VERIFY; do
	echo "$c" | grep -q "^GUEST-$step-OK" || fail "guest: $step failed"
done
sums=$(echo "$c" | sed -n 's/^GUEST-SUM //p')
[ "$(echo "$sums" | grep -c ' f[0-7]$')" = 8 ] || fail "guest listed no 8 checksums"
# The host reads the files through the verification card (a third path).
modprobe ext4
blockdev --flushbufs "$V"
mkdir -p "$work/mnt"
mount -t ext2 -o ro "$V" "$work/mnt" || fail "host cannot mount the guest's file system"
if ! (cd "$work/mnt" && echo "$sums" | sha256sum -c >/dev/null); then
	umount "$work/mnt"
	fail "files on the image differ from what the guest wrote"
fi
umount "$work/mnt"
$CTL show qg
[ "$(agg_field qg failed_reqs)" = 0 ] || fail "failed requests"
echo 0 >$CFS/qg/enable
rmdir $CFS/qg
rm -rf "$work"
echo "ok: nested guest's virtio_blk on the aggregate through QEMU vfio-pci"

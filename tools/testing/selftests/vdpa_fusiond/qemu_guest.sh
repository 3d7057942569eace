#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Slow tier (not in tests.list: a nested TCG guest takes ~4-5 min): QEMU 7.2
# hands an AA aggregate to a nested guest with -device vfio-pci,sysfsdev=;
# the guest's own virtio_blk driver writes 1 MiB of random data with
# O_DIRECT and reads it back; the host then reads it through the
# verification card. Run it with a tests.list naming only this script.
. "$SUITE_DIR/lib.sh"
cards
set -e
command -v qemu-system-x86_64 >/dev/null || { echo "no qemu-system-x86_64"; exit 4; }
enabled_agg qg aa
dev=$(basename "$(readlink -f /sys/kernel/iommu_groups/"$(cat $CFS/qg/vfio_group)"/devices/*)")
work=$(mktemp -d)
mkdir -p "$work/root/bin" "$work/root/mods" "$work/root/proc" "$work/root/sys" \
	"$work/root/dev" "$work/root/tmp"
cp /bin/busybox "$work/root/bin/"
for m in virtio_pci virtio_blk; do
	modprobe --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
	cp "$ko" "$work/root/mods/"
	basename "$ko" >>"$work/root/mods/order"
done
cat >"$work/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
for m in $(cat /mods/order); do insmod /mods/$m 2>/dev/null; done
sleep 1
echo "GUEST-DISK $(cat /sys/block/vda/size) $(basename "$(readlink /sys/block/vda/device/driver)")"
dd if=/dev/urandom of=/tmp/pat bs=4096 count=256 2>/dev/null
dd if=/tmp/pat of=/dev/vda bs=4096 seek=30000 oflag=direct conv=fsync 2>/dev/null &&
	echo GUEST-WRITE-OK
dd if=/dev/vda of=/tmp/back bs=4096 skip=30000 count=256 iflag=direct 2>/dev/null &&
	echo GUEST-READ-OK
echo "GUEST-PAT $(md5sum </tmp/pat | cut -d' ' -f1)"
echo "GUEST-BACK $(md5sum </tmp/back | cut -d' ' -f1)"
poweroff -f
INIT
chmod 755 "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$work/guest.cpio.gz"

start=$(date +%s)
timeout 600 qemu-system-x86_64 -accel tcg -m 256 -smp 1 -display none -monitor none \
	-serial "file:$work/console.log" -no-reboot -kernel "/boot/vmlinuz-$(uname -r)" \
	-initrd "$work/guest.cpio.gz" -append "console=ttyS0 panic=-1" \
	-device "vfio-pci,sysfsdev=/sys/bus/platform/devices/$dev" 2>"$work/qemu.err" ||
	fail "qemu: $(cat "$work/qemu.err")"
echo "# nested guest ran for $(($(date +%s) - start)) s"
tr -d '\r' <"$work/console.log" | grep -E '^GUEST|vda' | sed 's/^/# /'
c=$(tr -d '\r' <"$work/console.log")
pat=$(echo "$c" | sed -n 's/^GUEST-PAT \([0-9a-f]*\)$/\1/p')
back=$(echo "$c" | sed -n 's/^GUEST-BACK \([0-9a-f]*\)$/\1/p')
echo "$c" | grep -q '^GUEST-DISK 524288 virtio_blk' || fail "guest did not see the disk"
echo "$c" | grep -q GUEST-WRITE-OK || fail "guest write failed"
echo "$c" | grep -q GUEST-READ-OK || fail "guest read failed"
[ -n "$pat" ] && [ "$pat" = "$back" ] || fail "guest read back other data"
host=$(dd if="$V" bs=4096 skip=30000 count=256 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)
[ "$host" = "$pat" ] || fail "data not on the image"
$CTL show qg
[ "$(agg_field qg failed_reqs)" = 0 ] || fail "failed requests"
echo 0 >$CFS/qg/enable
rmdir $CFS/qg
rm -rf "$work"
echo "ok: nested guest's virtio_blk on the aggregate through QEMU vfio-pci"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vdpa_gen_blk through virtio_vdpa + virtio_blk:
#  1. RAM disk: size, serial and queue count as configured; ext4 with
#     checksummed files survives umount + drop_caches + remount; fstrim and
#     blkdiscard free RAM pages; write-zeroes with and without unmap; grow
#     and shrink through the device's capacity attribute, seen by the guest.
#  2. read_only knob: the disk is read-only and writes fail.
#  3. file backing: data written through the disk is in the file and data
#     put in the file is read through the disk; write-zeroes and discard
#     reach the file; resize is refused.

DIR=$(dirname "$(readlink -f "$0")")
# shellcheck source=blk_lib.sh
. "$DIR/blk_lib.sh"
blk_lib_init 280 "$@"

for t in mkfs.ext4 fstrim blkdiscard fallocate sha256sum; do
	command -v $t >/dev/null || skip "no $t"
done

MIB=$((1024 * 1024))
WORK=$(mktemp -d /tmp/blk_fs.XXXXXX)
MNT=$WORK/mnt
mkdir -p "$MNT"

size_sectors() { cat "/sys/block/$DISK/size"; }
# shellcheck disable=SC2317 # called through wait_for
size_is() { [ "$(size_sectors)" = "$1" ]; }

# rd DEV OFFSET_MIB COUNT_MIB: read a range with O_DIRECT to stdout.
rd() {
	dd if="$1" bs=1M skip="$2" count="$3" iflag=direct status=none
}

# wr SRC DEV OFFSET_MIB: write a file to a range with O_DIRECT.
wr() {
	dd if="$1" of="$2" bs=1M seek="$3" oflag=direct conv=notrunc status=none
}

is_zero() {
	cmp -s -n $(($3 * MIB)) <(rd "$1" "$2" "$3") /dev/zero
}

# ---- 1. RAM disk ------------------------------------------------------------
knob capacity 64M
knob backing ""
knob read_only 0
knob num_queues 2
dev_add blk0
bind_blk blk0
log "blk0 is $DISK"

[ "$(size_sectors)" = 131072 ] || fail "size $(size_sectors) sectors, want 131072"
[ "$(cat "/sys/block/$DISK/serial")" = blk0 ] || fail "serial is not blk0"
nq=$(find "/sys/block/$DISK/mq" -mindepth 1 -maxdepth 1 | wc -l)
[ "$nq" = 2 ] || fail "$nq queues, want 2"
[ "$(cat "/sys/block/$DISK/ro")" = 0 ] || fail "disk is read-only"
[ "$(cat "/sys/block/$DISK/queue/discard_max_bytes")" -gt 0 ] || fail "no discard"
[ "$(ram_pages blk0)" = 0 ] || fail "fresh disk holds RAM"
is_zero "/dev/$DISK" 0 4 || fail "fresh disk does not read as zeroes"

mkfs.ext4 -q -F "/dev/$DISK" || fail "mkfs.ext4"
mount "/dev/$DISK" "$MNT" || fail "mount"
BLK_MOUNTS="$MNT"
for i in 1 2 3 4; do
	head -c $((i * 768 * 1024)) /dev/urandom >"$MNT/f$i" || fail "write f$i"
done
dd if=/dev/urandom of="$MNT/big" bs=1M count=6 status=none || fail "write big"
(cd "$MNT" && sha256sum f1 f2 f3 f4 big) >"$WORK/sums"
umount "$MNT" || fail "umount"
echo 3 >/proc/sys/vm/drop_caches
mount "/dev/$DISK" "$MNT" || fail "remount"
(cd "$MNT" && sha256sum -c --quiet "$WORK/sums") || fail "checksums differ after remount"
log "ext4: 13.5 MiB in 5 files verified after remount"

before=$(ram_pages blk0)
[ "$before" -ge $((13 * 256)) ] || fail "only $before RAM pages hold 13+ MiB"
rm "$MNT/big" "$MNT/f3" "$MNT/f4"
sync
fstrim "$MNT" || fail "fstrim"
after=$(ram_pages blk0)
log "fstrim: RAM pages $before -> $after"
[ "$after" -le $((before - 6 * 256)) ] || fail "fstrim freed too little"
(cd "$MNT" && sha256sum -c --quiet <(grep -E ' (f1|f2)$' "$WORK/sums")) ||
	fail "surviving files damaged by fstrim"
umount "$MNT" || fail "umount"
BLK_MOUNTS=""

blkdiscard -f "/dev/$DISK" 2>/dev/null || fail "blkdiscard"
[ "$(ram_pages blk0)" = 0 ] || fail "$(ram_pages blk0) RAM pages left after blkdiscard"
is_zero "/dev/$DISK" 0 8 || fail "discarded range does not read as zeroes"

# Write-zeroes: fallocate --punch-hole sends it with the unmap flag (pages
# freed), BLKZEROOUT (blkdiscard -z) without (pages kept, cleared).
head -c $((4 * MIB)) /dev/urandom >"$WORK/rand4"
wr "$WORK/rand4" "/dev/$DISK" 8
[ "$(ram_pages blk0)" = 1024 ] || fail "4 MiB written, $(ram_pages blk0) pages"
fallocate -p -o $((8 * MIB)) -l $((2 * MIB)) "/dev/$DISK" || fail "fallocate -p"
is_zero "/dev/$DISK" 8 2 || fail "write-zeroes (unmap) left data"
[ "$(ram_pages blk0)" = 512 ] || fail "write-zeroes (unmap): $(ram_pages blk0) pages, want 512"
blkdiscard -f -z -o $((10 * MIB)) -l $MIB "/dev/$DISK" 2>/dev/null || fail "blkdiscard -z"
is_zero "/dev/$DISK" 10 1 || fail "write-zeroes (no unmap) left data"
[ "$(ram_pages blk0)" = 512 ] || fail "write-zeroes (no unmap) freed pages"
cmp -s <(rd "/dev/$DISK" 11 1) <(tail -c $MIB "$WORK/rand4") ||
	fail "data next to zeroed range damaged"

# Resize: grow, then shrink below data (dropped), then grow back.
cap=$VDPA_SYS/blk0/capacity
echo 96M >"$cap" || fail "grow refused"
wait_for 10 size_is 196608 || fail "guest did not see 96M: $(size_sectors)"
wr "$WORK/rand4" "/dev/$DISK" 80
is_zero "/dev/$DISK" 76 4 || fail "grown area not zero"
pages=$(ram_pages blk0)
echo 32M >"$cap" || fail "shrink refused"
wait_for 10 size_is 65536 || fail "guest did not see 32M: $(size_sectors)"
[ "$(ram_pages blk0)" = $((pages - 1024)) ] || fail "shrink kept the pages beyond the end"
echo 96M >"$cap" || fail "regrow refused"
wait_for 10 size_is 196608 || fail "guest did not see 96M again"
is_zero "/dev/$DISK" 80 4 || fail "data beyond the shrink came back"
[ "$(cat "$cap")" = $((96 * MIB)) ] || fail "capacity attribute reads $(cat "$cap")"
log "resize 64M -> 96M -> 32M -> 96M seen by the guest"
dev_del blk0
[ -b "/dev/$DISK" ] && fail "/dev/$DISK still there after dev del"

# ---- 2. read-only ------------------------------------------------------------
knob capacity 16M
knob read_only 1
knob num_queues 1
dev_add blk1
bind_blk blk1
[ "$(cat "/sys/block/$DISK/ro")" = 1 ] || fail "read_only disk is writable"
nq=$(find "/sys/block/$DISK/mq" -mindepth 1 -maxdepth 1 | wc -l)
[ "$nq" = 1 ] || fail "$nq queues, want 1"
if dd if=/dev/zero of="/dev/$DISK" bs=4k count=1 oflag=direct status=none 2>"$WORK/err"; then
	fail "write to a read-only disk succeeded"
fi
log "read-only write: $(cat "$WORK/err")"
is_zero "/dev/$DISK" 0 1 || fail "read-only disk not readable"
[ "$(ram_pages blk1)" = 0 ] || fail "read-only disk allocated RAM"
dev_del blk1

# ---- 3. file backing ------------------------------------------------------------
img=$WORK/backing.img
truncate -s 8M "$img"
head -c $MIB /dev/urandom >"$WORK/host1"
dd if="$WORK/host1" of="$img" conv=notrunc status=none
knob read_only 0
knob num_queues 2
knob backing "$img"
dev_add blk2
bind_blk blk2
[ "$(size_sectors)" = 16384 ] || fail "file disk has $(size_sectors) sectors, want 16384"
cmp -s <(rd "/dev/$DISK" 0 1) "$WORK/host1" || fail "disk does not show the file's data"

head -c $((2 * MIB)) /dev/urandom >"$WORK/guest2"
wr "$WORK/guest2" "/dev/$DISK" 2
blockdev --flushbufs "/dev/$DISK"
cmp -s <(dd if="$img" bs=1M skip=2 count=2 status=none) "$WORK/guest2" ||
	fail "backing file does not hold the data written through the disk"
fallocate -p -o $((2 * MIB)) -l $MIB "/dev/$DISK" || fail "fallocate -p on file"
cmp -s -n $MIB <(dd if="$img" bs=1M skip=2 count=1 status=none) /dev/zero ||
	fail "write-zeroes did not reach the file"
wr "$WORK/guest2" "/dev/$DISK" 4
blkdiscard -f -z -o $((4 * MIB)) -l $MIB "/dev/$DISK" 2>/dev/null || fail "blkdiscard -z on file"
cmp -s -n $MIB <(dd if="$img" bs=1M skip=4 count=1 status=none) /dev/zero ||
	fail "write-zeroes without unmap did not reach the file"
cmp -s <(dd if="$img" bs=1M skip=5 count=1 status=none) <(tail -c $MIB "$WORK/guest2") ||
	fail "write-zeroes damaged the file next to its range"
blkdiscard -f -o $((3 * MIB)) -l $MIB "/dev/$DISK" 2>/dev/null || fail "blkdiscard on file"
cmp -s <(dd if="$img" bs=1M count=1 status=none) "$WORK/host1" ||
	fail "discard damaged data outside its range"
[ "$(ram_pages blk2)" = 0 ] || fail "file disk allocated RAM"
echo 16M >"$VDPA_SYS/blk2/capacity" 2>/dev/null && fail "file disk resize accepted"
dev_del blk2

# Read-only file backing: readable, not writable, file unchanged.
knob read_only 1
dev_add blk3
bind_blk blk3
sum=$(sha256sum <"$img")
cmp -s <(rd "/dev/$DISK" 0 1) "$WORK/host1" || fail "read-only file disk unreadable"
dd if=/dev/zero of="/dev/$DISK" bs=4k count=1 oflag=direct status=none 2>/dev/null &&
	fail "write to read-only file disk succeeded"
[ "$(sha256sum <"$img")" = "$sum" ] || fail "read-only file disk changed the file"
dev_del blk3
log "file backing: data visible both ways"

rm -rf "$WORK"
check_dmesg
echo "PASS: blk_fs"
exit $KSFT_PASS

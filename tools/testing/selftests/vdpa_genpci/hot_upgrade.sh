#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hot upgrade of vdpa_gen_pci under in-kernel drivers (virtio_vdpa): rmmod
# and insmod of the module while virtio_net and virtio_blk run on its
# devices. The vDPA devices stay (vdpa_gen.ko holds them), the drivers
# never see a reset: the same netdevs and disk before and after, a TCP
# connection open across the reload delivers every byte (SHA-256 on both
# ends, its second half sent while the module was gone), a direct write
# made while it was gone completes and reads back, mounted ext4 files read
# back. Then: a driver that resets a held device (unbinding virtio_vdpa)
# stops the card, a driver that binds meanwhile fails its probe, the next
# module starts from a reset and the device works again; rmmod vdpa_gen deletes what is held and disables the functions;
# with hold_on_unload=0 the devices go with the module.
set -u
# shellcheck source=lib.sh
. "$SUITE_DIR/lib.sh"

GP_KO=$("$REPO_ROOT/scripts/vm/load-modules.sh" --ko-dir)/$GP_DRV.ko
MNT=/tmp/gpci-upgrade
GATE=/tmp/gpci-upgrade.gate
srv=
cli=
cleanup() {
	[ -n "$cli" ] && kill "$cli" 2>/dev/null
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	umount $MNT 2>/dev/null
	ip netns del gpu_a 2>/dev/null
	ip netns del gpu_b 2>/dev/null
	"$REPO_ROOT/scripts/vm/load-modules.sh"
	echo 1 >/sys/module/$GP_DRV/parameters/hold_on_unload
	gp_cleanup
	rm -f "$GATE" "$GATE.half"
}
trap cleanup EXIT
[ -f "$GP_KO" ] || skip "no $GP_KO"
mkdir -p $MNT
rm -f "$GATE" "$GATE.half"

# dmesg lines since the mark that match $1.
dmesg_count() {
	dmesg | sed -n "/$DMESG_MARK/,\$p" | grep -c "$1"
}

# gp_shown NAME: the vdpa core lists the device (it hides held ones).
gp_shown() {
	vdpa -j dev show 2>/dev/null | grep -q "\"$1\""
}

reload() {
	rmmod $GP_DRV || fail "rmmod $GP_DRV"
}

XFER=$SUITE_DIR/../vdpa_generic/tcp_xfer.py
a=$(gp_card net 0)
b=$(gp_card net 1)
blk=$(gp_card blk)
fa=$(gp_split_features "$a")
fb=$(gp_split_features "$b")
gp_take "$a"
gp_take "$b"
gp_take "$blk"
"$BUILD_DIR/gp_devadd" "pci/$a" gpu0 features "$fa" || fail "add gpu0"
"$BUILD_DIR/gp_devadd" "pci/$b" gpu1 features "$fb" || fail "add gpu1"
bind_vdpa gpu0 virtio_vdpa
bind_vdpa gpu1 virtio_vdpa
gp_add "$blk" gpub virtio_vdpa
if_a=$(gp_netdev gpu0) || fail "no netdev on gpu0"
if_b=$(gp_netdev gpu1) || fail "no netdev on gpu1"
disk=$(gp_blockdev gpub) || fail "no disk on gpub"
idx_a=$(cat "/sys/class/net/$if_a/ifindex")
idx_b=$(cat "/sys/class/net/$if_b/ifindex")
virt_a=$(gp_virtio gpu0)
log "gpu0 -> $if_a ($idx_a), gpu1 -> $if_b ($idx_b), gpub -> /dev/$disk"

gp_netns_if gpu_a "$if_a" 10.79.0.1
gp_netns_if gpu_b "$if_b" 10.79.0.2
wait_for 10 ip netns exec gpu_a ping -c 1 -W 1 10.79.0.2 || fail "no link"

mkfs.ext4 -q -F "/dev/$disk" || fail mkfs
mount "/dev/$disk" $MNT || fail mount
head -c $((2 << 20)) /dev/urandom >$MNT/before
want_before=$(sha256sum <$MNT/before)
sync
head -c $((1 << 20)) /dev/urandom >/tmp/gpci-upgrade.during
want_during=$(sha256sum </tmp/gpci-upgrade.during)

# A connection that stays open across the reload: half before, half after
# the module went away.
size=$((8 << 20))
[ "${VDPA_TIMEOUT_SCALE:-1}" -gt 1 ] && size=$((2 << 20))
out=$(mktemp)
sent=$(mktemp)
ip netns exec gpu_b python3 "$XFER" server 5202 >"$out" &
srv=$!
ip netns exec gpu_a python3 "$XFER" client 10.79.0.2 5202 $size "$GATE" >"$sent" &
cli=$!
wait_for 60 test -e "$GATE.half" || fail "first half not sent"

held0=$(dmesg_count "held for the next $GP_DRV")
reload
[ "$(dmesg_count "held for the next $GP_DRV")" -eq $((held0 + 3)) ] ||
	fail "not every device was held"
# Held: still on the bus and bound, hidden from the vdpa tool (no mgmtdev).
for d in gpu0 gpu1 gpub; do
	[ -e "/sys/bus/vdpa/devices/$d/driver" ] || fail "$d went with the module"
	gp_shown $d && fail "held $d still listed"
done
vdpa dev del gpu0 2>/dev/null
[ -e /sys/bus/vdpa/devices/gpu0 ] || fail "a held device was deleted"
# The driver keeps going meanwhile: the second half, and a direct write.
touch "$GATE"
dd if=/tmp/gpci-upgrade.during of=$MNT/during bs=64k oflag=direct \
	2>/dev/null &
dd_pid=$!
sleep 0.5
# Its first write waits for the card: kicks go nowhere while held.
kill -0 $dd_pid 2>/dev/null || fail "a write completed while held"
insmod "$GP_KO" || fail "insmod $GP_KO"
dmesg | sed -n "/$DMESG_MARK/,\$p" | grep -E "held for|adopted by" >&2
[ "$(dmesg_count "adopted by this $GP_DRV")" -eq 3 ] ||
	fail "not every device was adopted"
wait $dd_pid || fail "write while held"
wait $cli || fail "client"
cli=
wait $srv || fail "server"
srv=
log "sent: $(cat "$sent"); received: $(cat "$out")"
[ -s "$out" ] && [ "$(cat "$sent")" = "$(cat "$out")" ] ||
	fail "the connection lost or changed bytes across the reload"
rm -f "$out" "$sent"

# Same devices, never reset: netdevs, virtio device and disk unchanged.
[ "$(ip netns exec gpu_a cat "/sys/class/net/$if_a/ifindex")" = "$idx_a" ] ||
	fail "netdev of gpu0 was re-created"
[ "$(ip netns exec gpu_b cat "/sys/class/net/$if_b/ifindex")" = "$idx_b" ] ||
	fail "netdev of gpu1 was re-created"
[ "$(gp_virtio gpu0)" = "$virt_a" ] || fail "virtio device of gpu0 changed"
[ "$(gp_blockdev gpub)" = "$disk" ] || fail "disk of gpub changed"
for d in gpu0 gpu1 gpub; do
	gp_shown $d || fail "$d not listed after the adoption"
done
ip netns exec gpu_a ping -c 3 -i 0.2 -W 2 10.79.0.2 || fail "ping a->b after"
ip netns exec gpu_b ping -c 3 -i 0.2 -W 2 10.79.0.1 || fail "ping b->a after"
sync
echo 3 >/proc/sys/vm/drop_caches
[ "$(sha256sum <$MNT/before)" = "$want_before" ] || fail "file before differs"
[ "$(sha256sum <$MNT/during)" = "$want_during" ] || fail "file during differs"
umount $MNT || fail umount
rm -f /tmp/gpci-upgrade.during

# A driver that resets a held device: the card stops, the next module
# resets it and the device serves a new driver.
reload
echo gpu1 >/sys/bus/vdpa/drivers/virtio_vdpa/unbind
[ -e "/sys/bus/vdpa/devices/gpu1" ] || fail "gpu1 gone at unbind"
# A driver that binds while no module is there fails its probe, cleanly.
echo gpu1 >/sys/bus/vdpa/drivers_probe
gp_netdev gpu1 >/dev/null && fail "virtio_net came up on a held device"
insmod "$GP_KO" || fail "insmod after a held reset"
[ "$(dmesg_count "reset while held")" -eq 1 ] || fail "held reset not seen"
echo gpu1 >/sys/bus/vdpa/drivers/virtio_vdpa/unbind
bind_vdpa gpu1 virtio_vdpa
if_b=$(gp_netdev gpu1) || fail "no netdev on gpu1 after the held reset"
gp_netns_if gpu_b "$if_b" 10.79.0.2
wait_for 10 ip netns exec gpu_a ping -c 1 -W 1 10.79.0.2 ||
	fail "no traffic after the held reset"
ip netns exec gpu_a ping -c 3 -i 0.2 -W 2 10.79.0.2 || fail "ping after reset"

# What is still held when vdpa_gen itself goes: deleted, the functions
# stopped and disabled (the departed module left them enabled).
reload
for m in vdpa_gen_net vdpa_gen_blk vdpa_gen; do
	rmmod $m || fail "rmmod $m"
done
for d in gpu0 gpu1 gpub; do
	[ -e "/sys/bus/vdpa/devices/$d" ] && fail "$d left behind by vdpa_gen"
done
for f in "$a" "$b" "$blk"; do
	[ "$(cat "$PCI/$f/enable")" = 0 ] || fail "$f still enabled"
done
"$REPO_ROOT/scripts/vm/load-modules.sh" || fail "reloading the modules"
gp_bound "$a" $GP_DRV || fail "$a not taken back at load"

# hold_on_unload=0: the devices go with the module.
"$BUILD_DIR/gp_devadd" "pci/$a" gpu0 features "$fa" || fail "add gpu0 again"
bind_vdpa gpu0 virtio_vdpa
echo 0 >/sys/module/$GP_DRV/parameters/hold_on_unload
reload
[ -e /sys/bus/vdpa/devices/gpu0 ] && fail "gpu0 held with hold_on_unload=0"
insmod "$GP_KO" || fail "insmod"
ip netns del gpu_a
ip netns del gpu_b
gp_give_back "$a"
gp_give_back "$b"
gp_give_back "$blk"
check_dmesg
echo ok

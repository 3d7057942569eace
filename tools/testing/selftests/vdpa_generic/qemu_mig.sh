#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# qemu_mig.sh - slow tier: unmodified QEMU (7.2) drives a vdpagen_net device
# through vdpa_migrate: -netdev vhost-vdpa,vhostdev=/dev/vdpa-mig-N. The
# nested guest (this kernel, a busybox initramfs) brings its virtio-net NIC
# up and pings a second vdpagen_net port that virtio_vdpa turned into a
# netdev here; both are ports of the generic device's switch.
#
# Not in tests.list: a nested TCG boot takes minutes. Run it in the test VM:
#   scripts/vm/run.sh --timeout 900 -- tools/testing/selftests/vdpa_generic/qemu_mig.sh
#
# Status: NOT YET SEEN PASSING. Two runs on a loaded 2-core host got QEMU
# through vhost-vdpa setup (it opened the node and ran until the timeout)
# but the guest printed nothing within 600-700 s; whether it was slow or
# stuck is open. The guest now boots without "quiet" so the console tail
# printed on failure shows how far it got.
set -u

DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$DIR/../../../.." && pwd)
# shellcheck source=lib.sh
. "$DIR/lib.sh"

KVER=$(uname -r)
GUEST_TIMEOUT=${GUEST_TIMEOUT:-600}

"$ROOT/scripts/vm/load-modules.sh" || fail "loading modules"
need_mgmtdev vdpagen_net
[ -d /sys/bus/vdpa/drivers/vdpa_migrate ] || skip "vdpa_migrate not loaded"
command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64"
[ -r "/boot/vmlinuz-$KVER" ] || skip "no /boot/vmlinuz-$KVER for the guest"

work=$(mktemp -d)
cleanup() {
	vdpa dev del qm0 2>/dev/null
	vdpa dev del qm1 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

vdpa dev add mgmtdev vdpagen_net name qm0 mac 02:00:00:00:00:51 ||
	fail "vdpa dev add qm0"
vdpa dev add mgmtdev vdpagen_net name qm1 mac 02:00:00:00:00:52 ||
	fail "vdpa dev add qm1"
bind_vdpa qm0 vdpa_migrate
bind_vdpa qm1 virtio_vdpa
minor=$(find /sys/bus/vdpa/devices/qm0/ -maxdepth 1 -name 'vdpa-mig-*' |
	sed -n 's/.*vdpa-mig-\([0-9]*\)$/\1/p')
[ -n "$minor" ] || fail "no vdpa-mig-N under qm0"
node=/dev/vdpa-mig-$minor
wait_for 5 test -c "$node" || fail "$node missing"
[ -z "$(find /sys/bus/vdpa/devices/qm0/ -maxdepth 1 -name 'vhost-vdpa-*')" ] ||
	fail "qm0 has a vhost-vdpa node too"
wait_for 5 vdpa_netdev qm1 || fail "no netdev for qm1"
peer=$(vdpa_netdev qm1)
ip link set "$peer" up
ip addr add 10.88.0.1/24 dev "$peer"
log "qm0 -> $node, qm1 -> $peer (10.88.0.1)"

# The guest's initramfs: busybox, virtio_pci + virtio_net with their deps.
mkdir -p "$work/root/bin" "$work/root/mods" "$work/root/proc" \
	"$work/root/sys" "$work/root/dev"
cp /bin/busybox "$work/root/bin/"
for m in virtio_pci virtio_net; do
	modprobe --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
	cp "$ko" "$work/root/mods/"
	basename "$ko" >> "$work/root/mods/order"
done
cat > "$work/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
for m in $(cat /mods/order); do insmod /mods/$m 2>/dev/null; done
sleep 1
nic=$(ls /sys/class/net | grep -v '^lo$' | head -n1)
drv=$(basename "$(readlink /sys/class/net/$nic/device/driver)")
echo "GUEST: nic $nic driver $drv mac $(cat /sys/class/net/$nic/address)"
ip link set "$nic" up
ip addr add 10.88.0.2/24 dev "$nic"
if ping -c 3 -W 10 10.88.0.1; then echo GUEST-PING-OK; else echo GUEST-PING-FAIL; fi
poweroff -f
INIT
chmod 755 "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$work/guest.cpio.gz"

log "booting the nested guest (TCG, this takes a while)"
start=$(date +%s)
timeout "$GUEST_TIMEOUT" qemu-system-x86_64 -accel tcg -m 256 -smp 1 \
	-display none -monitor none -serial "file:$work/console.log" \
	-no-reboot -kernel "/boot/vmlinuz-$KVER" -initrd "$work/guest.cpio.gz" \
	-append "console=ttyS0 panic=-1" \
	-netdev "vhost-vdpa,vhostdev=$node,id=n0" \
	-device virtio-net-pci,netdev=n0 2>"$work/qemu.err"
rc=$?
log "qemu exit $rc after $(($(date +%s) - start)) s"
sed 's/^/# qemu: /' "$work/qemu.err"
grep -E 'GUEST|bytes from|packet' "$work/console.log" | sed 's/^/# guest: /'
check_dmesg
if ! grep -q 'GUEST: nic .* driver virtio_net' "$work/console.log"; then
	tail -n 25 "$work/console.log" | sed 's/^/# console: /'
	fail "guest has no virtio_net NIC"
fi
grep -q GUEST-PING-OK "$work/console.log" || fail "guest could not ping"
echo "PASS: qemu_mig"
exit $KSFT_PASS

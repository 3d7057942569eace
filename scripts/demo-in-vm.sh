#!/bin/bash
# scripts/demo-in-vm.sh - the demo itself; runs inside the test VM (see
# scripts/demo.sh).  Loads the vDPA stack, creates generic devices with the
# stock `vdpa` tool, moves real traffic and data through them and prints
# what happened.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tools/testing/selftests/vdpa_generic/lib.sh"
PY=/usr/bin/python3
step() { printf '\n=== %s\n' "$*"; }
run() { echo "\$ $*"; "$@"; }

step "loading modules"
"$ROOT/scripts/vm/load-modules.sh"
lsmod | grep -E '^(vdpa|vhost_vdpa|virtio_vdpa|vdpa_gen)' || true

step "vdpa management devices"
run vdpa mgmtdev show

step "two generic net devices, ports of one in-kernel switch"
run vdpa dev add mgmtdev vdpagen_net name demo0 mac 02:de:00:00:00:01 max_vqp 2
run vdpa dev add mgmtdev vdpagen_net name demo1 mac 02:de:00:00:00:02 max_vqp 2
bind_vdpa demo0 virtio_vdpa
bind_vdpa demo1 virtio_vdpa
wait_for 10 vdpa_netdev demo0
wait_for 10 vdpa_netdev demo1
if0=$(vdpa_netdev demo0)
if1=$(vdpa_netdev demo1)
run vdpa dev config show demo0
echo "demo0 -> netdev $if0, demo1 -> netdev $if1 (driver virtio_vdpa)"

step "each netdev in its own network namespace"
ip netns add demo_a
ip netns add demo_b
ip link set "$if0" netns demo_a
ip link set "$if1" netns demo_b
ip -n demo_a addr add 10.66.0.1/24 dev "$if0"
ip -n demo_b addr add 10.66.0.2/24 dev "$if1"
ip -n demo_a link set "$if0" up
ip -n demo_b link set "$if1" up
run ip netns exec demo_a ping -c 3 -i 0.3 10.66.0.2

step "8 MiB TCP transfer demo_a -> demo_b, checksummed at both ends"
out=$(mktemp)
ip netns exec demo_b $PY "$ROOT/tools/testing/selftests/vdpa_generic/tcp_xfer.py" server 7000 > "$out" &
srv=$!
sleep 1
sent=$(ip netns exec demo_a $PY "$ROOT/tools/testing/selftests/vdpa_generic/tcp_xfer.py" client 10.66.0.2 7000 8388608)
wait $srv
echo "sent     (bytes sha256): $sent"
echo "received (bytes sha256): $(cat "$out")"
[ "$sent" = "$(cat "$out")" ] && echo "=> identical" || { echo "=> MISMATCH"; exit 1; }

step "device counters (/sys/bus/vdpa/devices/*/stats)"
for d in demo0 demo1; do
	printf '%s:' "$d"
	for c in tx_packets tx_bytes rx_packets rx_bytes rx_dropped; do
		printf ' %s=%s' "$c" "$(cat /sys/bus/vdpa/devices/$d/stats/$c)"
	done
	echo
done

if vdpa mgmtdev show vdpagen_blk >/dev/null 2>&1; then
	step "a generic blk device with an ext4 filesystem"
	echo 64M > /sys/devices/vdpagen_blk/capacity
	run vdpa dev add mgmtdev vdpagen_blk name demoblk
	bind_vdpa demoblk virtio_vdpa
	blk=""
	for i in $(seq 1 10); do
		blk=$(ls /sys/bus/vdpa/devices/demoblk/virtio*/block 2>/dev/null || true)
		[ -n "$blk" ] && break
		sleep 1
	done
	echo "demoblk -> /dev/$blk, $(($(cat /sys/block/$blk/size) / 2048)) MiB"
	mkfs.ext4 -q "/dev/$blk"
	mkdir -p /mnt/demo
	mount "/dev/$blk" /mnt/demo
	head -c 4M /dev/urandom > /mnt/demo/data
	want=$(sha256sum < /mnt/demo/data)
	umount /mnt/demo
	echo 3 > /proc/sys/vm/drop_caches
	mount "/dev/$blk" /mnt/demo
	got=$(sha256sum < /mnt/demo/data)
	umount /mnt/demo
	echo "written: $want"
	echo "read:    $got"
	[ "$want" = "$got" ] && echo "=> identical after remount and dropped caches" ||
		{ echo "=> MISMATCH"; exit 1; }
	vdpa dev del demoblk
fi

step "cleaning up"
ip netns del demo_a
ip netns del demo_b
run vdpa dev del demo0
run vdpa dev del demo1
run vdpa dev show
echo
echo "demo done"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Harness self-check: create a vdpa_sim_net device, bind it to virtio_vdpa,
# expect a virtio net device with a netdev, then delete it.
set -eu

KSFT_SKIP=4
command -v vdpa >/dev/null || { echo "SKIP: no vdpa tool"; exit $KSFT_SKIP; }
[ -d /sys/bus/vdpa ] || { echo "SKIP: no vdpa bus"; exit $KSFT_SKIP; }

dev=/sys/bus/vdpa/devices/sim0
cleanup() { vdpa dev del sim0 2>/dev/null || true; }
trap cleanup EXIT

vdpa dev add mgmtdev vdpasim_net name sim0 mac 52:54:00:12:34:56
[ -d "$dev" ] || { echo "FAIL: $dev missing after vdpa dev add"; exit 1; }

# Whatever bus driver probed first (vhost_vdpa is loaded earlier) lets go.
echo virtio_vdpa >"$dev/driver_override"
if [ -e "$dev/driver" ]; then
	echo sim0 >"$dev/driver/unbind"
fi
echo sim0 >/sys/bus/vdpa/drivers/virtio_vdpa/bind
echo "bound to: $(basename "$(readlink "$dev/driver")")"

netdev=""
for _ in $(seq 50); do
	netdev=$(ls "$dev"/virtio*/net 2>/dev/null || true)
	[ -n "$netdev" ] && break
	sleep 0.1
done
[ -n "$netdev" ] || { echo "FAIL: no netdev under $dev"; exit 1; }
echo "netdev: $netdev"
ip link set "$netdev" up
ip -br link show "$netdev"

vdpa dev del sim0
[ ! -e "$dev" ] || { echo "FAIL: $dev still present after del"; exit 1; }
[ ! -e "/sys/class/net/$netdev" ] || { echo "FAIL: $netdev still present"; exit 1; }
echo "PASS"

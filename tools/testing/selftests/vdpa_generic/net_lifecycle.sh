#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Lifecycle of generic vDPA net devices: many add/del cycles without leaks,
# bad attributes refused with nothing left behind, delete while bound and
# moving traffic, and module unload afterwards.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/lib.sh"
# 150 cycles; 30 on the sanitizer kernel (debug tier), whose kmemleak scan
# finds leaks directly and where each cycle costs ~5 s under TCG.
if [ "${VDPA_TIER:-}" = debug ]; then
	CYCLES=${CYCLES:-30}
else
	CYCLES=${CYCLES:-150}
fi

need_mgmtdev vdpagen_net

ndevs() { vdpa -j dev show | tr ',' '\n' | grep -c '"type"'; }
unreclaimable_kb() { awk '/^SUnreclaim:/ { print $2 }' /proc/meminfo; }

cleanup() {
	ip netns del vgl_a 2>/dev/null
	for d in $(vdpa -j dev show | grep -o '"gl[a-z0-9_]*"' | tr -d '"'); do
		vdpa dev del "$d" 2>/dev/null
	done
}
trap cleanup EXIT

# --- bad attributes: refused, nothing created ---------------------------
expect_refused() {
	local what=$1
	shift
	if vdpa dev add mgmtdev vdpagen_net name glbad "$@" 2>/dev/null; then
		fail "accepted $what"
	fi
	[ ! -e /sys/bus/vdpa/devices/glbad ] || fail "$what left a device"
}
expect_refused "zero MAC" mac 00:00:00:00:00:00
expect_refused "multicast MAC" mac 01:00:5e:00:00:01
expect_refused "MTU too large" mtu 20000
expect_refused "MTU too small" mtu 10
expect_refused "max_vqp 0" max_vqp 0
expect_refused "max_vqp 17" max_vqp 17
vdpa dev add mgmtdev vdpagen_net name gldup || fail "dev add gldup"
vdpa dev add mgmtdev vdpagen_net name gldup 2>/dev/null && fail "duplicate name"
vdpa dev del gldup || fail "dev del gldup"
[ "$(ndevs)" -eq 0 ] || fail "devices left after bad adds"

# --- many cycles, unbound and bound -------------------------------------
# Warm up the caches once so that the comparison measures leaks only.
vdpa dev add mgmtdev vdpagen_net name glw max_vqp 16 && vdpa dev del glw
before=$(unreclaimable_kb)
for i in $(seq 1 "$CYCLES"); do
	vdpa dev add mgmtdev vdpagen_net name gl$i max_vqp 16 || fail "add $i"
	vdpa dev del gl$i || fail "del $i"
done
for i in $(seq 1 10); do
	vdpa dev add mgmtdev vdpagen_net name glb$i max_vqp 2 || fail "add glb$i"
	bind_vdpa glb$i virtio_vdpa
	wait_for 10 vdpa_netdev glb$i || fail "no netdev for glb$i"
done
for i in $(seq 1 10); do
	vdpa dev del glb$i || fail "del glb$i"
done
sleep 1
after=$(unreclaimable_kb)
log "SUnreclaim before=${before}kB after=${after}kB over $CYCLES cycles"
# A leaked device of 16 queue pairs costs > 30 kB; allow noise of 3 MB.
[ $((after - before)) -lt 3072 ] || fail "memory grew by $((after - before)) kB"
[ "$(ndevs)" -eq 0 ] || fail "devices left"

# --- delete while bound, with traffic moving -------------------------------
vdpa dev add mgmtdev vdpagen_net name gl_a mac 02:00:00:00:0b:01 || fail "add gl_a"
vdpa dev add mgmtdev vdpagen_net name gl_b mac 02:00:00:00:0b:02 || fail "add gl_b"
bind_vdpa gl_a virtio_vdpa
bind_vdpa gl_b virtio_vdpa
wait_for 10 vdpa_netdev gl_a || fail "no netdev for gl_a"
wait_for 10 vdpa_netdev gl_b || fail "no netdev for gl_b"
if_a=$(vdpa_netdev gl_a)
if_b=$(vdpa_netdev gl_b)
ip netns add vgl_a
ip link set "$if_a" netns vgl_a
ip -n vgl_a addr add 10.78.0.1/24 dev "$if_a"
ip -n vgl_a link set "$if_a" up
ip addr add 10.78.0.2/24 dev "$if_b"
ip link set "$if_b" up
ip netns exec vgl_a ping -c 2 -W 2 10.78.0.2 >/dev/null || fail "no traffic before delete"
ip netns exec vgl_a ping -f -w 5 10.78.0.2 >/dev/null 2>&1 &
flood=$!
sleep 1
vdpa dev del gl_b || fail "del while bound"
wait $flood
[ ! -e "/sys/class/net/$if_b" ] || fail "netdev of deleted device remains"
vdpa dev del gl_a || fail "del gl_a"

# --- nothing pins the modules ----------------------------------------------
rmmod vdpa_gen_net || fail "cannot unload vdpa_gen_net"
insmod "$("$DIR/../../../../scripts/vm/load-modules.sh" --ko-dir)/vdpa_gen_net.ko" ||
	fail "cannot reload vdpa_gen_net"

check_dmesg
exit $KSFT_PASS

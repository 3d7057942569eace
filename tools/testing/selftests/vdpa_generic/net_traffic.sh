#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two generic vDPA net devices, bound to virtio_vdpa, in two network
# namespaces: ping, a checksummed multi-megabyte TCP transfer, and traffic
# on more than one queue pair.  The frames cross the in-kernel switch.
set -u
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/lib.sh"
PY=/usr/bin/python3
# 16 MiB; 2 MiB on the sanitizer kernel (debug tier), where each byte costs
# far more and the volume adds nothing to what the checks see.
if [ "${VDPA_TIER:-}" = debug ]; then
	SIZE=${SIZE:-2097152}
else
	SIZE=${SIZE:-16777216}
fi
# Per transfer; VDPA_TIMEOUT_SCALE is set by the VM runner on slow kernels.
XFER_TIMEOUT=$((150 * ${VDPA_TIMEOUT_SCALE:-1}))

need_mgmtdev vdpagen_net

cleanup() {
	ip netns del vgn_a 2>/dev/null
	ip netns del vgn_b 2>/dev/null
	vdpa dev del gn_a 2>/dev/null
	vdpa dev del gn_b 2>/dev/null
}
trap cleanup EXIT

vdpa dev add mgmtdev vdpagen_net name gn_a mac 02:00:00:00:0a:01 max_vqp 4 ||
	fail "dev add gn_a"
vdpa dev add mgmtdev vdpagen_net name gn_b mac 02:00:00:00:0a:02 max_vqp 4 ||
	fail "dev add gn_b"
bind_vdpa gn_a virtio_vdpa
bind_vdpa gn_b virtio_vdpa
wait_for 10 vdpa_netdev gn_a || fail "no netdev for gn_a"
wait_for 10 vdpa_netdev gn_b || fail "no netdev for gn_b"
if_a=$(vdpa_netdev gn_a)
if_b=$(vdpa_netdev gn_b)
log "gn_a -> $if_a, gn_b -> $if_b"

[ "$(cat /sys/class/net/$if_a/address)" = 02:00:00:00:0a:01 ] ||
	fail "guest did not get the vdpa MAC"
vdpa dev config show gn_a | grep -q "max_vq_pairs 4" || fail "max_vqp not visible"

ip netns add vgn_a
ip netns add vgn_b
ip link set "$if_a" netns vgn_a
ip link set "$if_b" netns vgn_b
ip -n vgn_a addr add 10.77.0.1/24 dev "$if_a"
ip -n vgn_b addr add 10.77.0.2/24 dev "$if_b"
ip -n vgn_a link set "$if_a" up
ip -n vgn_b link set "$if_b" up

ip netns exec vgn_a ping -c 5 -i 0.2 -W 2 10.77.0.2 || fail "ping a->b"
ip netns exec vgn_b ping -c 3 -i 0.2 -W 2 10.77.0.1 || fail "ping b->a"

# Use every queue pair, then move several flows and check the spread.
ip netns exec vgn_a ethtool -L "$if_a" combined 4 || fail "ethtool -L a"
ip netns exec vgn_b ethtool -L "$if_b" combined 4 || fail "ethtool -L b"

out=$(mktemp)
ip netns exec vgn_b timeout $XFER_TIMEOUT $PY "$DIR/tcp_xfer.py" server 5001 > "$out" &
srv=$!
sleep 1
sent=$(ip netns exec vgn_a timeout $XFER_TIMEOUT $PY "$DIR/tcp_xfer.py" client 10.77.0.2 5001 "$SIZE") ||
	fail "client failed"
wait $srv || fail "server failed"
got=$(cat "$out")
log "sent: $sent"
log "got:  $got"
[ -n "$got" ] && [ "$sent" = "$got" ] || fail "TCP data differs"

# Parallel flows: XPS/RSS-less virtio spreads them by sending CPU; use
# several connections so more than one TX/RX queue pair carries traffic.
pids=""
for p in 5002 5003 5004 5005; do
	ip netns exec vgn_b timeout $XFER_TIMEOUT $PY "$DIR/tcp_xfer.py" server $p > "$out.$p" &
	pids="$pids $!"
done
sleep 1
for p in 5002 5003 5004 5005; do
	taskset -c $((p % 2)) ip netns exec vgn_a timeout $XFER_TIMEOUT \
		$PY "$DIR/tcp_xfer.py" client 10.77.0.2 $p 1048576 > "$out.c$p" &
	pids="$pids $!"
done
for pid in $pids; do
	wait "$pid" || fail "parallel transfer failed"
done
for p in 5002 5003 5004 5005; do
	[ "$(cat "$out.$p")" = "$(cat "$out.c$p")" ] || fail "flow $p differs"
done

used=$(ip netns exec vgn_a ethtool -S "$if_a" |
	awk '/tx_queue_[0-9]+_packets:/ && $2 > 0 { n++ } END { print n + 0 }')
log "TX queues of $if_a that carried packets: $used"
[ "$used" -ge 2 ] || fail "multiqueue: only $used TX queue(s) used"

rx=$(cat /sys/bus/vdpa/devices/gn_b/stats/rx_packets)
log "gn_b device rx_packets=$rx rx_dropped=$(cat /sys/bus/vdpa/devices/gn_b/stats/rx_dropped)"
[ "$rx" -gt 1000 ] || fail "device counters do not show the traffic"

check_dmesg
exit $KSFT_PASS

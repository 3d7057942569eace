#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two virtio-net-pci cards on one QEMU hub, each turned into a vDPA device
# by vdpa_gen_pci and driven by virtio_vdpa + virtio_net: ping both ways and
# a checksummed TCP transfer between two network namespaces, then the
# devices are deleted under traffic and the cards work under virtio-pci
# again.
set -u
# shellcheck source=lib.sh
. "$SUITE_DIR/lib.sh"

cleanup() {
	ip netns del gpn_a 2>/dev/null
	ip netns del gpn_b 2>/dev/null
	gp_cleanup
}
trap cleanup EXIT

XFER=$SUITE_DIR/../vdpa_generic/tcp_xfer.py
a=$(gp_card net 0)
b=$(gp_card net 1)
fa=$(gp_split_features "$a")
fb=$(gp_split_features "$b")
gp_take "$a"
gp_take "$b"
"$BUILD_DIR/gp_devadd" "pci/$a" gpn0 features "$fa" || fail "add gpn0"
"$BUILD_DIR/gp_devadd" "pci/$b" gpn1 features "$fb" || fail "add gpn1"
bind_vdpa gpn0 virtio_vdpa
bind_vdpa gpn1 virtio_vdpa
if_a=$(gp_netdev gpn0) || fail "no netdev on gpn0"
if_b=$(gp_netdev gpn1) || fail "no netdev on gpn1"
# The MAC is the card's (config space passes through).
[ "$(cat "/sys/class/net/$if_a/address")" = 52:54:00:67:00:01 ] ||
	fail "gpn0 MAC $(cat "/sys/class/net/$if_a/address")"
log "gpn0 -> $if_a, gpn1 -> $if_b"

gp_netns_if gpn_a "$if_a" 10.78.0.1
gp_netns_if gpn_b "$if_b" 10.78.0.2
wait_for 10 ip netns exec gpn_a ping -c 1 -W 1 10.78.0.2 || fail "no link"
ip netns exec gpn_a ping -c 5 -i 0.2 -W 2 10.78.0.2 || fail "ping a->b"
ip netns exec gpn_b ping -c 3 -i 0.2 -W 2 10.78.0.1 || fail "ping b->a"

# 8 MiB each way, SHA-256 on both ends (1 MiB on the slower debug kernel).
size=$((8 << 20))
[ "${VDPA_TIMEOUT_SCALE:-1}" -gt 1 ] && size=$((1 << 20))
for dir in ab ba; do
	if [ $dir = ab ]; then src=gpn_a dst=gpn_b ip=10.78.0.2; else src=gpn_b dst=gpn_a ip=10.78.0.1; fi
	out=$(mktemp)
	ip netns exec $dst python3 "$XFER" server 5201 >"$out" &
	srv=$!
	sleep 1
	sent=$(ip netns exec $src python3 "$XFER" client "$ip" 5201 $size) ||
		fail "client $dir"
	wait $srv || fail "server $dir"
	got=$(cat "$out")
	rm -f "$out"
	log "$dir sent: $sent; received: $got"
	[ -n "$got" ] && [ "$sent" = "$got" ] || fail "transfer $dir differs"
done

# Delete the devices while a flood ping runs: no oops, no leak.
ip netns exec gpn_a ping -f -w 3 10.78.0.2 >/dev/null 2>&1 &
sleep 1
vdpa dev del gpn0
vdpa dev del gpn1
wait
ip netns del gpn_a
ip netns del gpn_b
gp_give_back "$a"
gp_give_back "$b"
check_dmesg
echo ok

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Allocation-failure walk over the control paths of vdpa_gen (debug tier).
# For each path, ./fail_nth makes the 1st, 2nd, ... kernel allocation fail
# until the path succeeds, and checks that every failure unwound (no device
# or binding left). Paths: vdpa dev add of a net device with max_vqp 4 and of
# a block device; bind to vhost_vdpa; open/setup of
# /dev/vhost-vdpa-N; an IOTLB update. After each walk the device must work,
# and the kernel must not have reported anything (dmesg; kmemleak is scanned
# after the suite by the runner).
#
# Needs fault injection (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS):
# skipped on the Debian kernel, which has none.
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/lib.sh"

FS=/sys/kernel/debug/failslab
BIN=${BUILD_DIR:-.}/fail_nth
[ -e /proc/self/fail-nth ] && [ -d $FS ] ||
	skip "kernel without fault injection (fail-nth, failslab)"
[ -x "$BIN" ] || fail "$BIN not built"
need_mgmtdev vdpagen_net
need_mgmtdev vdpagen_blk

cleanup() {
	local d
	echo 1 >/sys/bus/vdpa/drivers_autoprobe
	for d in fn_net fn_blk; do
		[ -e "/sys/bus/vdpa/devices/$d" ] && vdpa dev del $d
	done
	echo Y >$FS/ignore-gfp-wait
	echo 2 >$FS/verbose
}
trap cleanup EXIT

# fail-nth only ever hits this task; let it hit sleeping (GFP_KERNEL)
# allocations too, and quietly: a forced failure's stack dump would look
# like a kernel warning.
echo N >$FS/ignore-gfp-wait
echo 0 >$FS/verbose
# New devices stay unbound, so that the add walks cover the add path only.
echo 0 >/sys/bus/vdpa/drivers_autoprobe

walk() {
	log "fail_nth $*"
	"$BIN" "$@" || fail "fail_nth $*"
}

# --- net: add with 4 queue pairs, bind to virtio_vdpa, then vhost_vdpa -----
walk dev-add vdpagen_net fn_net 4
vdpa dev config show fn_net | grep -q "max_vq_pairs 4" || fail "fn_net: max_vqp is not 4"
# Not walked: injected failures in virtio_net's probe reach the network
# core, which dumps a stack for some (sysctl registration); not ours.
bind_vdpa fn_net virtio_vdpa
wait_for 10 vdpa_netdev fn_net || fail "fn_net: no netdev after bind"
nd=$(vdpa_netdev fn_net)
ip link set "$nd" up || fail "fn_net: $nd does not come up"
walk bind fn_net vhost_vdpa
walk vhost-open fn_net
walk vhost-map fn_net

# --- blk: add, bind to virtio_vdpa (disk appears) ------------------------------
walk dev-add vdpagen_blk fn_blk
# Not walked either: virtio_blk's probe reaches the block core, which dumps a
# stack when kmem_cache_create() fails.
bind_vdpa fn_blk virtio_vdpa
wait_for 10 sh -c 'ls /sys/bus/vdpa/devices/fn_blk/virtio*/block/*' ||
	fail "fn_blk: no disk after bind"
walk bind fn_blk vhost_vdpa
walk vhost-open fn_blk

vdpa dev del fn_net || fail "del fn_net"
vdpa dev del fn_blk || fail "del fn_blk"
check_dmesg
exit $KSFT_PASS

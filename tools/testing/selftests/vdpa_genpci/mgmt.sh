#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vdpa_gen_pci's control plane: a function is only taken on admin request,
# its management device has the card's own class and features, `vdpa dev
# add` accepts only device_features (a subset keeping VERSION_1), one device
# per function, and unbinding the function removes its device cleanly.
set -u
# shellcheck source=lib.sh
. "$SUITE_DIR/lib.sh"
trap gp_cleanup EXIT

# expect_add_err ERRNO MGMTDEV NAME [ATTR VALUE]...: the add fails with it.
expect_add_err() {
	local want=$1 out
	shift
	out=$("$BUILD_DIR/gp_devadd" "$@")
	[ "$out" = "error $want" ] || fail "dev add $*: '$out', expected $want"
	log "refused as expected: $*: $want"
}

# mgmt_json BDF FIELD: a field of the management device, from vdpa -j.
mgmt_json() {
	vdpa -j mgmtdev show "pci/$1" | python3 -c '
import json, sys
m = json.load(sys.stdin)["mgmtdev"]
v = next(iter(m.values()))[sys.argv[1]]
print(" ".join(map(str, v)) if isinstance(v, list) else v)' "$2"
}

blk=$(gp_card blk)
rng=$(gp_card rng)
net=$(gp_card net)

# Loading the driver took nothing: every card still has its own driver.
for c in "$blk" "$rng" "$net" "$(gp_card scsi)"; do
	[ "$(gp_driver "$c")" = virtio-pci ] || fail "$c is driven by $(gp_driver "$c")"
done
vdpa mgmtdev show | grep -q '^pci/' && fail "a pci mgmtdev exists before any bind"

gp_take "$blk"
gp_take "$rng"
gp_take "$net"
vdpa mgmtdev show
[ "$(mgmt_json "$blk" supported_classes)" = block ] || fail "blk class"
[ "$(mgmt_json "$net" supported_classes)" = net ] || fail "net class"
feat=$(mgmt_json "$blk" dev_features)
for f in VERSION_1 ACCESS_PLATFORM; do
	echo "$feat" | grep -qw $f || fail "blk mgmtdev lacks $f: $feat"
done
[ "$(mgmt_json "$blk" max_supported_vqs)" -ge 1 ] || fail "blk max vqs"
[ "$(mgmt_json "$net" max_supported_vqs)" -eq 3 ] || fail "net max vqs (rx, tx, ctrl)"

# Bad requests change nothing.
m=pci/$blk
# No VERSION_1; ORDER_PLATFORM (36), which the card does not offer.
expect_add_err EINVAL "$m" gpb features 10
expect_add_err EINVAL "$m" gpb features 1300000000
# Device-type parameters are the card's: config space passes through.
expect_add_err EOPNOTSUPP "$m" gpb mac 02:00:00:00:00:01
expect_add_err EOPNOTSUPP "$m" gpb max_vqp 2
[ -e /sys/bus/vdpa/devices/gpb ] && fail "a refused add left a device"

# VERSION_1 | ACCESS_PLATFORM | FLUSH (9): a subset of the card's.
"$BUILD_DIR/gp_devadd" "$m" gpb features 300000200 ||
	fail "add with device_features"
vdpa dev show gpb
expect_add_err EBUSY "$m" gpb2
bind_vdpa gpb virtio_vdpa
disk=$(gp_blockdev gpb) || fail "no disk on gpb"
# Only what was asked for is offered: FLUSH means a write-back cache.
grep -q "write back" "/sys/block/$disk/queue/write_cache" ||
	fail "FLUSH not negotiated: $(cat "/sys/block/$disk/queue/write_cache")"
vdpa dev del gpb
[ -e /sys/bus/vdpa/devices/gpb ] && fail "gpb still there"

# Without FLUSH the disk is write-through.
"$BUILD_DIR/gp_devadd" "$m" gpb features 300000000 ||
	fail "add without FLUSH"
bind_vdpa gpb virtio_vdpa
disk=$(gp_blockdev gpb) || fail "no disk on gpb"
grep -q "write through" "/sys/block/$disk/queue/write_cache" ||
	fail "FLUSH offered though not asked for"

# Unbinding the function with a device on it (and a disk in use) removes
# the device; the card then works again under virtio-pci.
exec 3<"/dev/$disk"
echo "$blk" >"$PCI/$blk/driver/unbind"
exec 3<&-
[ -e /sys/bus/vdpa/devices/gpb ] && fail "unbind left gpb behind"
vdpa mgmtdev show "pci/$blk" >/dev/null 2>&1 && fail "unbind left the mgmtdev"
gp_give_back "$blk"
wait_for 10 gp_disk_of_serial gpci-blk ||
	fail "virtio_blk did not get the card back"

# The rng card is a management device of its class (4) too.
vdpa dev add mgmtdev "pci/$rng" name gpr || fail "add on the rng card"
[ "$(vdpa -j dev show gpr | python3 -c 'import json,sys; print(next(iter(json.load(sys.stdin)["dev"].values()))["max_vqs"])')" -eq 1 ] ||
	fail "rng max_vqs"
check_dmesg
echo "ok"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Control-plane misuse: every bad request fails with its errno and changes
# nothing; the CLI reports the errno (human and JSON).
. "$SUITE_DIR/lib.sh"
cards
set -e

# The CLI hands one card over, the shell the others.
$CTL slice "$A" >/dev/null
to_slice "$B"
to_slice "$O"
[ "$(basename "$(readlink /sys/bus/pci/devices/$A/driver)")" = hiaggre_dslice ] ||
	fail "$A not bound to hiaggre_dslice"
# The slice driver never takes a card by itself: the verification card
# stays with virtio-pci.
VB=$(basename "$(dirname "$(readlink -f /sys/block/${V#/dev/}/device)")")
[ "$(basename "$(readlink /sys/bus/pci/devices/$VB/driver)")" = virtio-pci ] ||
	fail "verification card lost its driver"

mkdir $CFS/m0
G=$CFS/m0
expect_errno EINVAL $G/add_member "$A"		# no type yet
expect_errno EINVAL $G/type nosuch
echo blk >$G/type
expect_errno EBUSY $G/type blk
expect_errno EINVAL $G/mode xx
expect_errno EINVAL $G/queues 0
expect_errno EINVAL $G/queues 99
expect_errno EINVAL $G/queues abc
expect_errno ENODEV $G/add_member 0000:77:00.0
expect_errno EINVAL $G/add_member $'\n'
expect_errno ENODEV $G/enable 1			# no member
expect_errno EINVAL $G/enable maybe
expect_errno EINVAL $G/enable 0			# not enabled
expect_read_errno ENODEV $G/vfio_group
echo "$A" >$G/add_member
expect_errno EBUSY $G/add_member "$A"
expect_errno EINVAL $G/add_member "$O"		# other size: not a path to the same disk
expect_errno ENODEV $G/remove_member "$VB"	# not a slice
expect_errno ENOENT $G/remove_member "$B"	# a slice, not a member
echo 2 >$G/queues
echo 1 >$G/enable
expect_errno EBUSY $G/enable 1
expect_errno EBUSY $G/mode ap
expect_errno EBUSY $G/queues 1
grep -q . $G/vfio_group

mkdir $CFS/m1
echo blk >$CFS/m1/type
expect_errno EBUSY $CFS/m1/add_member "$A"	# member of m0

# The CLI: errors carry the errno, JSON as well.
out=$($CTL -j add m1 "$A" || true)
[ "$(echo "$out" | json_get 'j["errno_name"]')" = EBUSY ] || fail "CLI JSON: $out"
if $CTL add nosuch "$A" 2>/dev/null; then fail "CLI add to a missing aggregate"; fi
$CTL show m0
[ "$($CTL -j show m0 | json_get 'j[0]["members"][0]["bdf"]')" = "$A" ] || fail "CLI show"

echo 0 >$G/enable
rmdir $CFS/m1 $G
[ -z "$(ls $CFS)" ] || fail "aggregates left: $(ls $CFS)"
# The card is free again.
mkdir $G && echo blk >$G/type && echo "$A" >$G/add_member && rmdir $G
echo "ok: control plane misuse"

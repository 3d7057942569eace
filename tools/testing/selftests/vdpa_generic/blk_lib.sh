# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034
# Helpers for the vdpa_gen_blk selftests (sourced, not run).
#
# A test sources this file first thing; blk_lib_init re-runs the test under
# timeout(1) so that it cannot hang the suite, and installs an EXIT trap
# that deletes the devices it made and restores the management knobs.

# shellcheck source=lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

MGMT=vdpagen_blk
MGMT_SYS=/sys/devices/$MGMT
VDPA_SYS=/sys/bus/vdpa/devices
KNOBS="capacity backing read_only num_queues"

BLK_DEVS=""
BLK_MOUNTS=""
declare -A BLK_SAVED

blk_cleanup() {
	local m d k

	for m in $BLK_MOUNTS; do
		umount "$m" 2>/dev/null
	done
	for d in $BLK_DEVS; do
		[ -e "$VDPA_SYS/$d" ] && vdpa dev del "$d" 2>/dev/null
	done
	for k in "${!BLK_SAVED[@]}"; do
		echo "${BLK_SAVED[$k]}" >"$MGMT_SYS/$k" 2>/dev/null
	done
}

# blk_lib_init SECONDS "$@": self-timeout (times VDPA_TIMEOUT_SCALE, set by
# the VM runner on slow kernels), prerequisites, cleanup trap.
blk_lib_init() {
	local limit=$(($1 * ${VDPA_TIMEOUT_SCALE:-1})) k
	shift

	if [ -z "${BLK_LIB_TIMED:-}" ]; then
		export BLK_LIB_TIMED=1
		timeout -k 5 "$limit" bash "$0" "$@"
		local rc=$?
		[ $rc -eq 124 ] && echo "FAIL: timed out after ${limit}s"
		exit $rc
	fi
	[ "$(id -u)" = 0 ] || skip "must be root"
	command -v vdpa >/dev/null || skip "no vdpa tool (iproute2)"
	vdpa mgmtdev show "$MGMT" >/dev/null 2>&1 || skip "no mgmtdev $MGMT (load vdpa_gen_blk.ko)"
	for k in $KNOBS; do
		BLK_SAVED[$k]=$(cat "$MGMT_SYS/$k") || fail "cannot read knob $k"
	done
	trap blk_cleanup EXIT
	DMESG_MARK="vdpa_gen_blk-test-$$-$RANDOM"
	echo "$DMESG_MARK" >/dev/kmsg
}

# knob NAME VALUE: set a management knob, failing the test if refused.
knob() {
	echo "$2" >"$MGMT_SYS/$1" || fail "knob $1=$2 refused"
}

# dev_add NAME: "vdpa dev add" on our management device, remembered for cleanup.
dev_add() {
	vdpa dev add mgmtdev "$MGMT" name "$1" || fail "vdpa dev add $1 failed"
	BLK_DEVS="$BLK_DEVS $1"
}

dev_del() {
	vdpa dev del "$1" || fail "vdpa dev del $1 failed"
	[ -e "$VDPA_SYS/$1" ] && fail "$1 still exists after dev del"
	return 0
}

disk_of() {
	local b

	for b in "$VDPA_SYS/$1"/virtio*/block/*; do
		[ -e "$b" ] && { basename "$b"; return 0; }
	done
	return 1
}

# bind_blk NAME: bind the vdpa device to virtio_vdpa; sets DISK to the
# disk name once its /dev node exists.
bind_blk() {
	bind_vdpa "$1" virtio_vdpa
	wait_for 30 disk_of "$1" || fail "no block device for $1"
	DISK=$(disk_of "$1")
	wait_for 30 test -b "/dev/$DISK" || fail "/dev/$DISK did not appear"
}

ram_pages() {
	cat "$VDPA_SYS/$1/ram_pages"
}

# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the vdpa_generic shell selftests (sourced, not run).

KSFT_PASS=0
KSFT_FAIL=1
KSFT_SKIP=4

log() { echo "# $*"; }
fail() { echo "FAIL: $*"; exit $KSFT_FAIL; }
skip() { echo "SKIP: $*"; exit $KSFT_SKIP; }

# need_mgmtdev NAME: skip the test when the management device is absent.
need_mgmtdev() {
	vdpa mgmtdev show "$1" >/dev/null 2>&1 || skip "no vdpa mgmtdev $1"
}

# bind_vdpa DEV DRIVER: (re)bind a vdpa device to a bus driver.
bind_vdpa() {
	local dev=$1 drv=$2 sys=/sys/bus/vdpa/devices/$1
	echo "$drv" > "$sys/driver_override"
	if [ -e "$sys/driver" ]; then
		[ "$sys/driver" -ef "/sys/bus/vdpa/drivers/$drv" ] && return 0
		echo "$dev" > "$sys/driver/unbind"
	fi
	echo "$dev" > /sys/bus/vdpa/drivers_probe
	[ "$sys/driver" -ef "/sys/bus/vdpa/drivers/$drv" ] ||
		fail "$dev did not bind to $drv"
}

# vdpa_netdev DEV: name of the netdev virtio_vdpa made for a vdpa device.
vdpa_netdev() {
	local n
	for n in /sys/bus/vdpa/devices/"$1"/virtio*/net/*; do
		[ -e "$n" ] && { echo "${n##*/}"; return 0; }
	done
	return 1
}

# wait_for TIMEOUT_SEC CMD...: poll until CMD succeeds.
wait_for() {
	local t=$1
	shift
	while ! "$@" >/dev/null 2>&1; do
		t=$((t - 1))
		[ $t -ge 0 ] || return 1
		sleep 1
	done
}

# check_dmesg: fail if the kernel logged a bug since the test began.
DMESG_MARK="vdpa_generic-test-$$"
echo "$DMESG_MARK" > /dev/kmsg 2>/dev/null || true
check_dmesg() {
	dmesg | sed -n "/$DMESG_MARK/,\$p" |
		grep -E 'BUG:|WARNING:|Oops|Call Trace|general protection|KASAN|UBSAN|lockdep|circular locking|refcount_t:' &&
		fail "kernel reported a problem"
	return 0
}

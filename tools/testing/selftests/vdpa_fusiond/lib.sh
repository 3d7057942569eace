# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Helpers for the vdpa_fusiond tests (sourced). The VM (vm.args) has cards
# with serials fusion-a, fusion-b (shared image, the members), fusion-v
# (shared image, left to virtio_blk: the verification path) and fusion-o
# (another image).
set -u

CTL=$REPO_ROOT/tools/fusiond/fusionctl
CFS=/sys/kernel/config/fusiond
CARDS=/tmp/fusiond-cards

fail() {
	echo "FAIL: $*"
	exit 1
}

# PCI function of the virtio_blk disk with serial $1.
bdf_of_serial() {
	local b
	for b in /sys/block/vd*; do
		[ "$(cat "$b/serial" 2>/dev/null)" = "$1" ] || continue
		basename "$(dirname "$(readlink -f "$b/device")")"
		return 0
	done
	return 1
}

disk_of_serial() {
	local b
	for b in /sys/block/vd*; do
		[ "$(cat "$b/serial" 2>/dev/null)" = "$1" ] && basename "$b" && return 0
	done
	return 1
}

# Sets A, B, O (PCI functions) and V (/dev/vdX of the verification path);
# remembered across tests of the same VM because bound cards lose their disk.
cards() {
	if [ ! -f $CARDS ]; then
		A=$(bdf_of_serial fusion-a) || fail "no card fusion-a"
		B=$(bdf_of_serial fusion-b) || fail "no card fusion-b"
		O=$(bdf_of_serial fusion-o || true)	# absent in make bench
		V=/dev/$(disk_of_serial fusion-v) || fail "no card fusion-v"
		printf 'A=%s\nB=%s\nO=%s\nV=%s\n' "$A" "$B" "$O" "$V" >$CARDS
	fi
	# shellcheck disable=SC1090
	. $CARDS
}

# expect_errno ERRNO_NAME FILE VALUE: writing VALUE to FILE fails with it.
expect_errno() {
	"$BUILD_DIR/expect_errno" "$1" w "$2" "$3" | sed 's/^/# /'
	[ "${PIPESTATUS[0]}" -eq 0 ] || fail "writing '$3' to $2: expected $1"
}

# expect_read_errno ERRNO_NAME FILE
expect_read_errno() {
	"$BUILD_DIR/expect_errno" "$1" r "$2" | sed 's/^/# /'
	[ "${PIPESTATUS[0]}" -eq 0 ] || fail "reading $2: expected $1"
}

# Direct configfs set-up (the CLI is exercised separately; Python starts
# slowly under TCG): slice CARD, create NAME MODE QUEUES, add NAME CARD.
to_slice() {
	local d=/sys/bus/pci/devices/$1
	[ "$(basename "$(readlink $d/driver)")" = hiaggre_dslice ] && return 0
	echo hiaggre_dslice >$d/driver_override
	[ -e $d/driver ] && echo "$1" >$d/driver/unbind
	echo "$1" >/sys/bus/pci/drivers/hiaggre_dslice/bind
}

create_agg() {
	mkdir $CFS/$1 && echo blk >$CFS/$1/type && echo "$2" >$CFS/$1/mode &&
		echo "$3" >$CFS/$1/queues
}

# enabled_agg NAME MODE: cards A and B as slices, members of a new enabled
# aggregate NAME of 2 queues (A added first: the active one in AP).
enabled_agg() {
	to_slice "$A" && to_slice "$B" && create_agg "$1" "$2" 2 &&
		echo "$A" >$CFS/$1/add_member && echo "$B" >$CFS/$1/add_member &&
		echo 1 >$CFS/$1/enable
}

# member_field AGG INDEX FIELD: a field of the INDEX-th member line of stats.
member_field() {
	grep '^member ' $CFS/$1/stats | sed -n "$(($2 + 1))p" |
		awk -v k="$3" '{ if (k == "bdf") { print $2; exit }
			for (i = 3; i < NF; i += 2) if ($i == k) print $(i + 1) }'
}

# agg_field AGG FIELD
agg_field() {
	head -n1 $CFS/$1/stats |
		awk -v k="$2" '{ for (i = 3; i < NF; i += 2) if ($i == k) print $(i + 1) }'
}

# json_get EXPR: evaluate a Python expression on "j" = fusionctl JSON (stdin).
json_get() {
	python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# trace_on EVENT...: empty the trace buffer and record these fusiond events.
TRACEFS=/sys/kernel/tracing
trace_on() {
	[ -e $TRACEFS/trace ] || mount -t tracefs nodev $TRACEFS
	echo 0 >$TRACEFS/tracing_on
	echo 8192 >$TRACEFS/buffer_size_kb
	echo >$TRACEFS/trace
	for e in "$@"; do
		echo 1 >$TRACEFS/events/fusiond/$e/enable
	done
	echo 1 >$TRACEFS/tracing_on
}

# trace_off: stop recording; the events stay readable in $TRACEFS/trace.
trace_off() {
	echo 0 >$TRACEFS/tracing_on
	echo 0 >$TRACEFS/events/fusiond/enable
}

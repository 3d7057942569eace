#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# vdpa_gen_blk refuses bad input and leaves nothing behind:
#  - bad values for each management knob fail with EINVAL and change nothing;
#  - good values with suffixes and in hex are taken;
#  - "vdpa dev add" with net attributes (mac, mtu, max_vqp) fails and creates
#    no device; a duplicate name fails and keeps the first device;
#  - bad values for a device's capacity attribute fail and change nothing.

DIR=$(dirname "$(readlink -f "$0")")
# shellcheck source=blk_lib.sh
. "$DIR/blk_lib.sh"
blk_lib_init 240 "$@"

# bad KNOB_FILE VALUE: the write must fail with EINVAL, the value stay.
bad() {
	local file=$1 val=$2 old err

	old=$(cat "$file")
	if err=$( (echo "$val" >"$file") 2>&1); then
		fail "$file accepted '$val'"
	fi
	case "$err" in
	*"Invalid argument"*) ;;
	*) fail "$file: '$val' failed with '$err', want EINVAL" ;;
	esac
	[ "$(cat "$file")" = "$old" ] || fail "$file changed to $(cat "$file") by '$val'"
}

# good KNOB_FILE VALUE EXPECT: the write must succeed and read back EXPECT.
good() {
	echo "$2" >"$1" || fail "$1 refused '$2'"
	[ "$(cat "$1")" = "$3" ] || fail "$1='$2' reads back $(cat "$1"), want $3"
}

ndevs() {
	vdpa -j dev show | grep -o '"mgmtdev":"'"$MGMT"'"' | wc -l
}

# ---- knobs ---------------------------------------------------------------
knob capacity 64M
for v in 0 100 513 1M1 abc "" -1 17T 20000G 99999999999999999999 \
	 99999999999999999G 0x 12Q "64 M"; do
	bad "$MGMT_SYS/capacity" "$v"
done
good "$MGMT_SYS/capacity" 1G $((1 << 30))
good "$MGMT_SYS/capacity" 4k 4096
good "$MGMT_SYS/capacity" 0x100000 1048576
good "$MGMT_SYS/capacity" 512 512
good "$MGMT_SYS/capacity" 16T $((16 << 40))

knob num_queues 2
for v in 0 9 -1 x 2x 65538 ""; do
	bad "$MGMT_SYS/num_queues" "$v"
done
good "$MGMT_SYS/num_queues" 8 8
good "$MGMT_SYS/num_queues" 1 1

knob read_only 0
for v in 2 maybe -1 ""; do
	bad "$MGMT_SYS/read_only" "$v"
done
good "$MGMT_SYS/read_only" 1 1
good "$MGMT_SYS/read_only" 0 0

knob backing ""
tmpf=$(mktemp /tmp/blk_bad.XXXXXX)
for v in relative/file /nonexistent/file /tmp /dev/null "/$(head -c 5000 /dev/zero | tr '\0' a)"; do
	bad "$MGMT_SYS/backing" "$v"
done
good "$MGMT_SYS/backing" "$tmpf" "$tmpf"
good "$MGMT_SYS/backing" "" ""
rm -f "$tmpf"
log "knobs: bad values refused, good ones taken"

# ---- vdpa dev add --------------------------------------------------------------
knob capacity 8M
knob num_queues 1
n0=$(ndevs)
for attr in "mac 00:11:22:33:44:55" "mtu 1500" "max_vqp 2"; do
	# shellcheck disable=SC2086
	if vdpa dev add mgmtdev "$MGMT" name bad0 $attr 2>/dev/null; then
		BLK_DEVS="$BLK_DEVS bad0"
		fail "dev add with $attr succeeded"
	fi
	[ -e "$VDPA_SYS/bad0" ] && fail "dev add with $attr left bad0 behind"
	vdpa dev show bad0 >/dev/null 2>&1 && fail "bad0 listed after failed add"
	[ "$(ndevs)" = "$n0" ] || fail "device count changed by add with $attr"
done

dev_add good0
vdpa dev add mgmtdev "$MGMT" name good0 2>/dev/null && fail "duplicate name accepted"
[ -e "$VDPA_SYS/good0" ] || fail "duplicate add removed the first device"
[ "$(ndevs)" = $((n0 + 1)) ] || fail "device count wrong after duplicate add"

# ---- per-device capacity ------------------------------------------------------
cap=$VDPA_SYS/good0/capacity
[ "$(cat "$cap")" = $((8 << 20)) ] || fail "device capacity reads $(cat "$cap")"
for v in 0 513 junk "" 17T -4096; do
	bad "$cap" "$v"
done
good "$cap" 12M $((12 << 20))
dev_del good0
[ "$(ndevs)" = "$n0" ] || fail "device count wrong after dev del"
log "vdpa dev add: unsupported attributes refused, nothing left behind"

check_dmesg
echo "PASS: blk_bad"
exit $KSFT_PASS

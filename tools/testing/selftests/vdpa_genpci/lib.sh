# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Helpers for the vdpa_genpci tests (sourced): find the cards of vm.args,
# hand them to vdpa_gen_pci and back, create vDPA devices on them. On top
# of vdpa_generic's lib.sh (log/fail/skip, bind_vdpa, vdpa_netdev,
# wait_for, check_dmesg).

# shellcheck source=../vdpa_generic/lib.sh
. "$SUITE_DIR/../vdpa_generic/lib.sh"

GP_DRV=vdpa_gen_pci
PCI=/sys/bus/pci/devices

# gp_card KIND [N]: PCI function of the Nth (from 0) modern virtio card of
# KIND (net, blk, rng, scsi), whoever drives it.
gp_card() {
	local id d v n=${2:-0}
	case $1 in
	net) id=0x1041 ;;
	blk) id=0x1042 ;;
	rng) id=0x1044 ;;
	scsi) id=0x1048 ;;
	*) fail "gp_card: unknown kind $1" ;;
	esac
	for d in "$PCI"/*; do
		gp_is_virtio "$d" || continue
		read -r v <"$d/device"
		[ "$v" = "$id" ] || continue
		if [ "$n" -eq 0 ]; then
			echo "${d##*/}"
			return 0
		fi
		n=$((n - 1))
	done
	fail "no $1 card #${2:-0} (see vm.args)"
}

# These helpers run no program: on the sanitizer kernel under TCG every
# fork and exec costs about a second, and they loop over every function.

# gp_is_virtio DIR: whether the PCI function in sysfs DIR is a virtio one.
gp_is_virtio() {
	local v
	read -r v <"$1/vendor" && [ "$v" = 0x1af4 ]
}

# gp_bound BDF DRIVER: whether that PCI driver drives the function.
gp_bound() {
	[ "$PCI/$1/driver" -ef "/sys/bus/pci/drivers/$2" ]
}

# gp_driver BDF: the PCI driver bound to a function, or nothing.
gp_driver() {
	local l
	[ -e "$PCI/$1/driver" ] && l=$(readlink "$PCI/$1/driver") &&
		echo "${l##*/}"
	return 0
}

# gp_bind_pci BDF DRIVER: bind a function to that PCI driver through
# driver_override ("" and virtio-pci: back to the default match).
gp_bind_pci() {
	local bdf=$1 drv=$2 want=${2:-virtio-pci}
	[ "$drv" = virtio-pci ] && drv=""
	echo "$drv" >"$PCI/$bdf/driver_override"
	[ -e "$PCI/$bdf/driver" ] && echo "$bdf" >"$PCI/$bdf/driver/unbind"
	echo "$bdf" >/sys/bus/pci/drivers_probe
	gp_bound "$bdf" "$want" || fail "$bdf did not bind to $want"
}

# gp_take BDF: hand a function to vdpa_gen_pci.
gp_take() { gp_bind_pci "$1" $GP_DRV; }

# gp_give_back BDF: return a function to virtio-pci.
gp_give_back() { gp_bind_pci "$1" virtio-pci; }

# gp_add BDF NAME DRIVER [ATTRS...]: vDPA device NAME on the function,
# bound to the vdpa bus driver DRIVER (virtio_vdpa, vhost_vdpa, ...).
gp_add() {
	local bdf=$1 name=$2 drv=$3
	shift 3
	vdpa dev add mgmtdev "pci/$bdf" name "$name" "$@" ||
		fail "vdpa dev add on $bdf failed"
	bind_vdpa "$name" "$drv"
}

# gp_split_features BDF: hex features virtio_pci negotiated with the card,
# below RING_PACKED (bit 34). With packed rings, EVENT_IDX and 64-entry
# rings (the size a net card's control queue sets for all) the kernel
# driver stalls TCP here, as it does under virtio_pci alone after "ethtool
# -G rx 64 tx 64" (Documentation/vdpa/generic-pci.rst, known issues), so
# in-kernel net tests run split rings.
gp_split_features() {
	local bits i f=0
	bits=$(cat "$PCI/$1"/virtio*/features) || fail "$1 not on virtio_pci"
	for ((i = 0; i < 34; i++)); do
		[ "${bits:i:1}" = 1 ] && f=$((f | 1 << i))
	done
	printf '%x' "$f"
}

# gp_netns_if NS IF ADDR: move netdev IF into namespace NS (made if
# missing) with address ADDR/24, up.
gp_netns_if() {
	[ -e "/run/netns/$1" ] || ip netns add "$1"
	ip link set "$2" netns "$1"
	ip -n "$1" addr add "$3/24" dev "$2"
	ip -n "$1" link set "$2" up
}

# gp_cleanup: delete every vDPA device on an admin-bound function and give
# every virtio card back to virtio-pci. Safe to call more than once.
gp_cleanup() {
	local d
	for d in /sys/bus/vdpa/devices/*; do
		# $d/.. is the parent of the device, not of the link
		[ "$d/../driver" -ef "/sys/bus/pci/drivers/$GP_DRV" ] &&
			vdpa dev del "${d##*/}"
	done
	for d in "$PCI"/*; do
		gp_is_virtio "$d" && gp_bound "${d##*/}" $GP_DRV &&
			gp_give_back "${d##*/}"
	done
	return 0
}

# gp_virtio NAME: sysfs directory of the virtio device virtio_vdpa made for
# vDPA device NAME. virtio_vdpa hangs it under the vDPA device's dma_dev,
# which for vdpa_gen_pci is the PCI function, not the vDPA device.
gp_virtio() {
	local v
	for v in "$(readlink -f "/sys/bus/vdpa/devices/$1/..")"/virtio*; do
		[ -e "$v/driver" ] && { echo "$v"; return 0; }
	done
	return 1
}

# gp_netdev NAME, gp_blockdev NAME: the netdev / disk of vDPA device NAME.
gp_class_dev() {
	local v n
	v=$(gp_virtio "$1") || return 1
	for n in "$v/$2"/*; do
		[ -e "$n" ] && { echo "${n##*/}"; return 0; }
	done
	return 1
}
gp_netdev() { gp_class_dev "$1" net; }
gp_blockdev() { gp_class_dev "$1" block; }

# gp_disk_of_serial SERIAL: the virtio_blk disk (vdX) with that serial.
gp_disk_of_serial() {
	local f
	f=$(grep -lx "$1" /sys/block/vd*/serial 2>/dev/null | head -n1)
	[ -n "$f" ] && basename "$(dirname "$f")"
}

[ -d /sys/bus/pci/drivers/$GP_DRV ] || skip "$GP_DRV not loaded"

#!/bin/bash
# scripts/vm/load-modules.sh [--ko-dir] - load the vDPA stack inside the test
# VM. Already loaded modules are skipped, so it is safe to run twice.
#
# Debian tier (Debian's kernel): the Debian modules it needs, the compat
# modules from build/compat (the kernel's own vdpa/vringh/vhost_vdpa/
# virtio_vdpa/vdpa_sim*) and, when built, ours from drivers/vdpa/generic.
# vp_vdpa.ko is not loaded here: it would compete with virtio_pci for cards;
# tests that want it insmod build/compat/vp_vdpa.ko themselves.
#
# FusionD: vfio/vfio_iommu_type1/configfs, fusiond, hiaggre_virtio and
# hiaggre_dslice (which takes no card by itself: cards are handed over with
# driver_override).
#
# Debug tier (the kernel of scripts/debugkernel/, recognised by its release
# in build/dbg/kernelrelease): the vDPA core and everything else is built in;
# only ours are loaded, from build/dbg/ours (built against that kernel).
#
# --ko-dir: only print the directory holding our .ko files for the running
# kernel (tests that reload a module use it).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)

if [ "$(cat "$ROOT/build/dbg/kernelrelease" 2>/dev/null)" = "$(uname -r)" ]; then
	tier=debug
	kodir=$ROOT/build/dbg/ours/drivers/vdpa/generic
else
	tier=debian
	kodir=$ROOT/drivers/vdpa/generic
fi
if [ "${1:-}" = --ko-dir ]; then
	echo "$kodir"
	exit 0
fi

load() {
	local ko=$1 name
	name=$(basename "$ko" .ko)
	[ -d "/sys/module/$name" ] && return 0
	insmod "$ko"
}

if [ $tier = debian ]; then
	# irqbypass must precede vhost_vdpa (irq_bypass_register_producer).
	modprobe -a vhost_iotlb vhost irqbypass virtio_net virtio_blk virtio_console tun veth \
		virtio_pci_modern_dev
	for m in vdpa vringh vhost_vdpa virtio_vdpa vdpa_sim vdpa_sim_net vdpa_sim_blk; do
		load "$ROOT/build/compat/$m.ko"
	done
fi
# vdpa_migrate (our vhost-vdpa style bus driver) before vdpa_gen, which
# publishes its RESUME support through it.
ko=$kodir/../../vhost/vdpa_migrate/vdpa_migrate.ko
[ -f "$ko" ] && load "$ko"
# vdpa_gen_pci takes no function by itself (driver_override only).
for m in vdpa_gen vdpa_gen_net vdpa_gen_blk vdpa_gen_pci; do
	ko=$kodir/$m.ko
	[ -f "$ko" ] && load "$ko"
done
# FusionD (when built): VFIO with the type1 backend (emulated-IOMMU groups
# need no IOMMU), configfs for its control plane, the modern virtio-pci
# helpers for its member driver; then the core before its users.
fd=$kodir/../../fusiond/fusiond.ko
if [ -f "$fd" ]; then
	[ $tier = debian ] && modprobe -a vfio vfio_iommu_type1 configfs virtio_pci_modern_dev
	grep -q configfs /proc/mounts || mount -t configfs none /sys/kernel/config
	load "$fd"
	load "$kodir/../../hiaggre_virtio/hiaggre_virtio.ko"
	load "$kodir/../../hiaggre_dslice/hiaggre_dslice.ko"
fi
exit 0

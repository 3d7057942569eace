#!/bin/bash
# scripts/vm/load-modules.sh - load the vDPA stack inside the test VM: the
# Debian modules it needs, the compat modules from build/compat (the kernel's
# own vdpa/vringh/vhost_vdpa/virtio_vdpa/vdpa_sim*) and, when built, ours.
# Already loaded modules are skipped, so it is safe to run twice.
# vp_vdpa.ko is not loaded here: it would compete with virtio_pci for cards;
# tests that want it insmod build/compat/vp_vdpa.ko themselves.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# irqbypass must precede vhost_vdpa (irq_bypass_register_producer).
modprobe -a vhost_iotlb vhost irqbypass virtio_net virtio_blk virtio_console tun veth

load() {
	local ko=$1 name
	name=$(basename "$ko" .ko)
	[ -d "/sys/module/$name" ] && return 0
	insmod "$ko"
}

for m in vdpa vringh vhost_vdpa virtio_vdpa vdpa_sim vdpa_sim_net vdpa_sim_blk; do
	load "$ROOT/build/compat/$m.ko"
done
# vdpa_migrate (our vhost-vdpa style bus driver) before vdpa_gen, which
# publishes its RESUME support through it.
ko=$ROOT/drivers/vhost/vdpa_migrate/vdpa_migrate.ko
[ -f "$ko" ] && load "$ko"
for m in vdpa_gen vdpa_gen_net vdpa_gen_blk; do
	ko=$ROOT/drivers/vdpa/generic/$m.ko
	[ -f "$ko" ] && load "$ko"
done
exit 0

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A virtio-rng-pci card as a vDPA device through virtio_vdpa + virtio_rng:
# it registers a hwrng whose bytes are random (not constant, not repeated).
set -u
# shellcheck source=lib.sh
. "$SUITE_DIR/lib.sh"
trap gp_cleanup EXIT

RNG=/sys/class/misc/hw_random
modprobe -q virtio_rng 2>/dev/null
[ -d /sys/bus/virtio/drivers/virtio_rng ] || skip "no virtio_rng in this kernel"
card=$(gp_card rng)
gp_take "$card"
before=$(cat $RNG/rng_available)
gp_add "$card" gpr virtio_vdpa
new=""
for r in $(cat $RNG/rng_available); do
	case " $before " in *" $r "*) ;; *) new=$r ;; esac
done
[ -n "$new" ] || fail "no new hwrng (available: $(cat $RNG/rng_available))"
echo "$new" >$RNG/rng_current || fail "select $new"
log "gpr -> hwrng $new"

a=$(head -c 4096 /dev/hwrng | od -An -v -tu1 | tr -s ' ' '\n' | grep -c .)
[ "$a" -eq 4096 ] || fail "short read: $a bytes"
distinct=$(head -c 4096 /dev/hwrng | od -An -v -tu1 | tr -s ' ' '\n' | grep . | sort -u | wc -l)
log "$distinct distinct byte values in 4096 bytes"
[ "$distinct" -ge 200 ] || fail "bytes do not look random"
x=$(head -c 64 /dev/hwrng | sha256sum)
y=$(head -c 64 /dev/hwrng | sha256sum)
[ "$x" != "$y" ] || fail "two reads returned the same bytes"

vdpa dev del gpr
grep -qw "$new" $RNG/rng_available && fail "$new still registered"
gp_give_back "$card"
check_dmesg
echo ok

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# genpci_vhost_test and vdpa_generic's vhost_blk_test on vdpa_gen_pci
# devices: the cards are handed over here and passed to the binaries.
set -u
# shellcheck source=lib.sh
. "$SUITE_DIR/lib.sh"
trap gp_cleanup EXIT

GPCI_NET0=$(gp_card net 0)
GPCI_NET1=$(gp_card net 1)
GPCI_NET2=$(gp_card net 2)
GPCI_RNG=$(gp_card rng)
GPCI_SCSI=$(gp_card scsi)
GPCI_SCSI1=$(gp_card scsi 1)
blk=$(gp_card blk)
GPCI_MIGBLK0=$(gp_card blk 1)
GPCI_MIGBLK1=$(gp_card blk 2)
for c in "$GPCI_NET0" "$GPCI_NET1" "$GPCI_NET2" "$GPCI_RNG" "$GPCI_SCSI" \
	"$GPCI_SCSI1" "$blk" "$GPCI_MIGBLK0" "$GPCI_MIGBLK1"; do
	gp_take "$c"
done
# The third card on the throttled image stays with virtio_blk.
GPCI_MIGDISK=/dev/$(gp_disk_of_serial gpci-mig2)
[ -b "$GPCI_MIGDISK" ] || fail "no disk with serial gpci-mig2"
GPCI_KO=$("$REPO_ROOT/scripts/vm/load-modules.sh" --ko-dir)/$GP_DRV.ko
export GPCI_NET0 GPCI_NET1 GPCI_NET2 GPCI_RNG GPCI_SCSI GPCI_SCSI1 \
	GPCI_MIGBLK0 GPCI_MIGBLK1 GPCI_MIGDISK GPCI_KO
rc=0
"$BUILD_DIR/genpci_vhost_test" || rc=1
VDPA_BLK_MGMTDEV=pci/$blk "$BUILD_DIR/vhost_blk_test" || rc=1
check_dmesg
exit $rc

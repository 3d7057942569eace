// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_gen_pci device-type records of a migration state.
 *
 * blk: the data stays on the card's backend, which a destination must
 * share; VDPA_MIG_REC_BLK carries what the destination has to agree with
 * (capacity, read-only) and the driver's cache mode.  It is the record
 * vdpa_gen_blk writes and checks, so blk states cross between the two
 * parents.  Only blk devices have these ops (gpci_mig_ops_of()); other
 * types write no record and know none (net's control queue state is not
 * kept by this parent, so a state carrying it is refused: its records are
 * mandatory).
 */
#include <linux/virtio_blk.h>
#include <linux/vdpa_migrate.h>

#include "pci.h"

/* Read @len bytes of the card's config at @offset, as the driver would. */
static void gpci_type_config(struct gpci_dev *gd, size_t offset, void *buf,
			     unsigned int len)
{
	gd->vdpa.config->get_config(&gd->vdpa, offset, buf, len);
}

static u64 gpci_blk_capacity(struct gpci_dev *gd)
{
	__le64 cap;

	gpci_type_config(gd, offsetof(struct virtio_blk_config, capacity),
			 &cap, sizeof(cap));
	return le64_to_cpu(cap);
}

size_t gpci_type_state_size(struct vdpa_device *vdpa)
{
	return sizeof(struct vdpa_mig_rec_hdr) +
	       ALIGN(sizeof(struct vdpa_mig_rec_blk), 8);
}

/* The device is suspended: the card is reset, its config still reads. */
int gpci_save_type_state(struct vdpa_device *vdpa, struct vdpa_mig_writer *w)
{
	struct gpci_dev *gd = to_gpci(vdpa);
	struct vdpa_mig_rec_blk rec = {};
	u8 wce = 0;

	rec.capacity = cpu_to_le64(gpci_blk_capacity(gd));
	rec.read_only = cpu_to_le32(!!(gd->device_features &
				       BIT_ULL(VIRTIO_BLK_F_RO)));
	if (gd->driver_features & BIT_ULL(VIRTIO_BLK_F_CONFIG_WCE))
		gpci_type_config(gd, offsetof(struct virtio_blk_config, wce),
				 &wce, sizeof(wce));
	rec.writeback = cpu_to_le32(!!wce);
	return vdpa_mig_put_record(w, VDPA_MIG_REC_BLK,
				   VDPA_MIG_REC_F_MANDATORY, &rec, sizeof(rec));
}

/*
 * Nothing to apply: the record has to match this card (same disk size,
 * same read-only flag; a write-back cache mode needs a card that lets the
 * driver choose it, the config record then carries the choice).
 */
static int gpci_load_blk(struct gpci_dev *gd,
			 const struct vdpa_mig_rec_blk *rec, u32 len)
{
	bool ro = gd->device_features & BIT_ULL(VIRTIO_BLK_F_RO);
	bool wce = gd->device_features & BIT_ULL(VIRTIO_BLK_F_CONFIG_WCE);
	u32 writeback, read_only;

	if (len < sizeof(*rec) || rec->reserved)
		return -EINVAL;
	writeback = le32_to_cpu(rec->writeback);
	read_only = le32_to_cpu(rec->read_only);
	if (writeback > 1 || read_only > 1 || (writeback && !wce))
		return -EINVAL;
	if (read_only != ro ||
	    le64_to_cpu(rec->capacity) != gpci_blk_capacity(gd))
		return -EINVAL;
	return 0;
}

int gpci_load_type_record(struct vdpa_device *vdpa, u32 type,
			  const void *data, u32 len, bool commit)
{
	struct gpci_dev *gd = to_gpci(vdpa);

	if (type != VDPA_MIG_REC_BLK)
		return -EOPNOTSUPP;
	return gpci_load_blk(gd, data, len);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_gen_pci device-type records of a migration state.
 *
 * blk: the data stays on the card's backend, which a destination must
 * share; VDPA_MIG_REC_BLK carries what the destination has to agree with
 * (capacity, read-only) and the driver's cache mode.  It is the record
 * vdpa_gen_blk writes and checks, so blk states cross between the two
 * parents.
 *
 * net: the control queue is not shadowed, so the parent does not know the
 * card's RX filter and saves no record.  It loads the records of
 * vdpa_gen_net when they describe what the card is after a reset anyway:
 * promiscuous, one queue pair, empty MAC table, no VLAN, the card's own
 * MAC (what a driver that never used the control queue leaves); anything
 * else would have to be replayed on the card (EOPNOTSUPP).
 *
 * Other types write no record and know none.
 */
#include <linux/etherdevice.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_net.h>
#include <linux/vdpa_migrate.h>
#include <uapi/linux/virtio_ids.h>

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

static bool gpci_is(struct gpci_dev *gd, u32 device_id)
{
	return gpci_card(gd)->id.device == device_id;
}

size_t gpci_type_state_size(struct vdpa_device *vdpa)
{
	if (!gpci_is(to_gpci(vdpa), VIRTIO_ID_BLOCK))
		return 0;
	return sizeof(struct vdpa_mig_rec_hdr) +
	       ALIGN(sizeof(struct vdpa_mig_rec_blk), 8);
}

/* The device is suspended: the card is reset, its config still reads. */
int gpci_save_type_state(struct vdpa_device *vdpa, struct vdpa_mig_writer *w)
{
	struct gpci_dev *gd = to_gpci(vdpa);
	struct vdpa_mig_rec_blk rec = {};
	u8 wce = 0;

	if (!gpci_is(gd, VIRTIO_ID_BLOCK))
		return 0;
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

#define GPCI_NET_RX_KNOWN	(VDPA_MIG_NET_RX_MULTI_OVERFLOW * 2 - 1)

/* Well formed (else EINVAL), and the card's state after a reset? */
static int gpci_load_net(struct gpci_dev *gd, const struct vdpa_mig_rec_net *rec,
			 u32 len)
{
	u32 rx, pairs;
	u8 mac[ETH_ALEN];

	if (len < sizeof(*rec) || rec->reserved || rec->mac[6] || rec->mac[7])
		return -EINVAL;
	rx = le32_to_cpu(rec->rx_mode);
	pairs = le32_to_cpu(rec->mq_pairs);
	if ((rx & ~GPCI_NET_RX_KNOWN) || !pairs ||
	    !is_valid_ether_addr(rec->mac))
		return -EINVAL;
	if (rx != VDPA_MIG_NET_RX_PROMISC || pairs != 1 ||
	    !(gd->device_features & BIT_ULL(VIRTIO_NET_F_MAC)))
		return -EOPNOTSUPP;
	gpci_type_config(gd, offsetof(struct virtio_net_config, mac), mac,
			 sizeof(mac));
	return ether_addr_equal(mac, rec->mac) ? 0 : -EOPNOTSUPP;
}

static int gpci_load_net_table(const struct vdpa_mig_rec_net_mac_table *tbl,
			       u32 len)
{
	u32 n;

	if (len < sizeof(*tbl))
		return -EINVAL;
	n = le32_to_cpu(tbl->n_uni);
	if (check_add_overflow(n, le32_to_cpu(tbl->n_multi), &n) ||
	    len < struct_size(tbl, mac, n))
		return -EINVAL;
	return n ? -EOPNOTSUPP : 0;
}

static int gpci_load_net_vlan(const struct vdpa_mig_rec_net_vlan *vlan,
			      u32 len)
{
	if (len < sizeof(*vlan))
		return -EINVAL;
	return memchr_inv(vlan->bitmap, 0, sizeof(vlan->bitmap)) ?
	       -EOPNOTSUPP : 0;
}

/* Nothing is applied: an accepted record describes the card as it is. */
int gpci_load_type_record(struct vdpa_device *vdpa, u32 type,
			  const void *data, u32 len, bool commit)
{
	struct gpci_dev *gd = to_gpci(vdpa);

	if (gpci_is(gd, VIRTIO_ID_BLOCK) && type == VDPA_MIG_REC_BLK)
		return gpci_load_blk(gd, data, len);
	if (!gpci_is(gd, VIRTIO_ID_NET))
		return -EOPNOTSUPP;
	switch (type) {
	case VDPA_MIG_REC_NET:
		return gpci_load_net(gd, data, len);
	case VDPA_MIG_REC_NET_MAC_TABLE:
		return gpci_load_net_table(data, len);
	case VDPA_MIG_REC_NET_VLAN:
		return gpci_load_net_vlan(data, len);
	}
	return -EOPNOTSUPP;
}

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
 * net: a user-space driver's control queue is relayed from DRIVER_OK on
 * (pci_shadow.c), so the parent sees every command the card acknowledges
 * and follows the state in the model vdpa_gen_net executes (net_ctrl.c).
 * Whenever the card is reset under a running driver (switch to shadow
 * rings, suspend and resume, a migration destination) the state is
 * replayed to the card as commands of our own before the driver's run
 * again.  It is saved and loaded as vdpa_gen_net's records, so net states
 * cross between the two parents; a command the model does not know makes
 * the state unknown, and saving it then fails (EOPNOTSUPP).
 *
 * Other types write no record and know none.
 */
#include <linux/etherdevice.h>
#include <linux/slab.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_net.h>
#include <linux/vdpa_migrate.h>
#include <uapi/linux/virtio_ids.h>

#include "net_ctrl.h"
#include "pci.h"

/* Read @len bytes of the card's config at @offset, as the driver would. */
static void gpci_type_config(struct gpci_dev *gd, size_t offset, void *buf,
			     unsigned int len)
{
	gpci_read_config(gd, offset, buf, len);
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
	if (to_gpci(vdpa)->netc)
		return vdpa_gen_net_ctrl_state_size();
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
	int ret;

	if (gd->netc) {
		gpci_shadow_lock(gd);
		ret = gd->netc_lost ? -EOPNOTSUPP :
		      vdpa_gen_net_ctrl_save(gd->netc, w);
		mutex_unlock(&gd->shadow_lock);
		return ret;
	}
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

/* ---- net: the control queue's state -------------------------------------- */

static bool gpci_driver_has(struct gpci_dev *gd, unsigned int bit)
{
	return gd->driver_features & BIT_ULL(bit);
}

static u16 gpci_net_max_pairs(struct gpci_dev *gd)
{
	__le16 max;

	if (!(gd->device_features & (BIT_ULL(VIRTIO_NET_F_MQ) |
				     BIT_ULL(VIRTIO_NET_F_RSS))))
		return 1;
	gpci_type_config(gd, offsetof(struct virtio_net_config,
				      max_virtqueue_pairs), &max, sizeof(max));
	return le16_to_cpu(max) ?: 1;
}

/* The address in the card's config space (all zeroes without F_MAC). */
static void gpci_net_card_mac(struct gpci_dev *gd, u8 *mac)
{
	eth_zero_addr(mac);
	if (gd->device_features & BIT_ULL(VIRTIO_NET_F_MAC))
		gpci_type_config(gd, offsetof(struct virtio_net_config, mac),
				 mac, ETH_ALEN);
}

/* Index of the control queue the driver negotiated, or -1. */
int gpci_cvq_index(struct gpci_dev *gd)
{
	if (!gd->netc || !gpci_driver_has(gd, VIRTIO_NET_F_CTRL_VQ))
		return -1;
	/* 2N with MQ or RSS (virtio 1.2, 5.1.2). */
	if (gpci_driver_has(gd, VIRTIO_NET_F_MQ) ||
	    gpci_driver_has(gd, VIRTIO_NET_F_RSS))
		return 2 * gpci_net_max_pairs(gd);
	return 2;
}

int gpci_net_init(struct gpci_dev *gd)
{
	if (!gpci_is(gd, VIRTIO_ID_NET))
		return 0;
	gd->netc = kzalloc(sizeof(*gd->netc), GFP_KERNEL);
	return gd->netc ? 0 : -ENOMEM;
}

/* The driver reset: so did the card. */
void gpci_net_reset(struct gpci_dev *gd)
{
	u8 mac[ETH_ALEN];

	if (!gd->netc)
		return;
	gpci_net_card_mac(gd, mac);
	gpci_shadow_lock(gd);
	vdpa_gen_net_ctrl_reset(gd->netc, mac);
	gd->netc_lost = false;
	gd->netc_loaded = false;
	mutex_unlock(&gd->shadow_lock);
}

/*
 * shadow_lock held: the card acknowledged a command of the driver.  One the
 * model does not know (or would refuse) makes the state unknown, except
 * the announcement ack, which changes nothing.
 */
void gpci_net_track(struct gpci_dev *gd, const u8 *cmd, size_t len)
{
	lockdep_assert_held(&gd->shadow_lock);
	if (vdpa_gen_net_ctrl_apply(gd->netc, gd->driver_features,
				    gpci_net_max_pairs(gd), cmd, len) ==
	    VIRTIO_NET_OK)
		return;
	if (len >= 2 && cmd[0] == VIRTIO_NET_CTRL_ANNOUNCE &&
	    cmd[1] == VIRTIO_NET_CTRL_ANNOUNCE_ACK)
		return;
	if (!gd->netc_lost)
		dev_warn(&gd->vdpa->dev,
			 "control command %u/%u not followed: cannot be replayed or saved\n",
			 len ? cmd[0] : 0, len > 1 ? cmd[1] : 0);
	gd->netc_lost = true;
}

static int gpci_net_send(struct gpci_dev *gd, u8 *buf, u8 class, u8 cmd,
			 size_t data_len)
{
	struct virtio_net_ctrl_hdr *hdr = (void *)buf;
	int ret;

	hdr->class = class;
	hdr->cmd = cmd;
	ret = gpci_cvq_send(gd, buf, sizeof(*hdr) + data_len);
	if (ret)
		dev_err(&gd->vdpa->dev, "replay of control command %u/%u: %d\n",
			class, cmd, ret);
	return ret;
}

/* Append @n addresses of @table, padded with its first to @count. */
static size_t gpci_net_put_table(u8 *p, const u8 (*table)[ETH_ALEN],
				 unsigned int n, u32 count)
{
	__le32 count_le = cpu_to_le32(count);

	memcpy(p, &count_le, sizeof(count_le));
	p += sizeof(count_le);
	for (u32 i = 0; i < count; i++)
		ether_addr_copy(p + (size_t)i * ETH_ALEN,
				table[i < n ? i : 0]);
	return sizeof(count_le) + (size_t)count * ETH_ALEN;
}

/*
 * shadow_lock held, the card just started on our rings after a reset: give
 * it back what the driver had set, as commands of the driver's own
 * features: address, queue pairs, RX flags that differ from the reset
 * ones, MAC table (an overflowed one as one entry too many), VLANs.
 */
int gpci_net_replay(struct gpci_dev *gd)
{
	const struct vdpa_gen_net_ctrl *c = gd->netc;
	u8 *buf, *data, mac[ETH_ALEN];
	int ret = 0;

	/* The record's RX flags are the RX commands' bits. */
	BUILD_BUG_ON(BIT(VIRTIO_NET_CTRL_RX_PROMISC) != VDPA_MIG_NET_RX_PROMISC);
	BUILD_BUG_ON(BIT(VIRTIO_NET_CTRL_RX_NOBCAST) != VDPA_MIG_NET_RX_NOBCAST);
	lockdep_assert_held(&gd->shadow_lock);
	if (gd->netc_lost)
		dev_warn(&gd->vdpa->dev,
			 "control state not fully known: replaying what is\n");
	buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	data = buf + sizeof(struct virtio_net_ctrl_hdr);

	gpci_net_card_mac(gd, mac);
	if (gpci_driver_has(gd, VIRTIO_NET_F_CTRL_MAC_ADDR) &&
	    !ether_addr_equal(mac, c->mac)) {
		ether_addr_copy(data, c->mac);
		ret = gpci_net_send(gd, buf, VIRTIO_NET_CTRL_MAC,
				    VIRTIO_NET_CTRL_MAC_ADDR_SET, ETH_ALEN);
	}
	if (!ret && gpci_driver_has(gd, VIRTIO_NET_F_MQ) && c->pairs != 1) {
		__le16 pairs = cpu_to_le16(c->pairs);

		memcpy(data, &pairs, sizeof(pairs));
		ret = gpci_net_send(gd, buf, VIRTIO_NET_CTRL_MQ,
				    VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
				    sizeof(pairs));
	}
	for (u8 cmd = VIRTIO_NET_CTRL_RX_PROMISC;
	     !ret && gpci_driver_has(gd, VIRTIO_NET_F_CTRL_RX) &&
	     cmd <= VIRTIO_NET_CTRL_RX_NOBCAST; cmd++) {
		bool on = c->rx & BIT(cmd);	/* VDPA_MIG_NET_RX_* */
		bool reset_on = cmd == VIRTIO_NET_CTRL_RX_PROMISC;

		if (cmd > VIRTIO_NET_CTRL_RX_ALLMULTI &&
		    !gpci_driver_has(gd, VIRTIO_NET_F_CTRL_RX_EXTRA))
			break;
		if (on == reset_on)
			continue;	/* as the card resets it */
		data[0] = on;
		ret = gpci_net_send(gd, buf, VIRTIO_NET_CTRL_RX, cmd, 1);
	}
	if (!ret && gpci_driver_has(gd, VIRTIO_NET_F_CTRL_RX) &&
	    (c->n_uni || c->n_multi ||
	     (c->rx & (VDPA_MIG_NET_RX_UNI_OVERFLOW |
		       VDPA_MIG_NET_RX_MULTI_OVERFLOW)))) {
		bool uo = c->rx & VDPA_MIG_NET_RX_UNI_OVERFLOW;
		bool mo = c->rx & VDPA_MIG_NET_RX_MULTI_OVERFLOW;
		size_t len;

		len = gpci_net_put_table(data, c->uni, c->n_uni,
					 uo ? VDPA_GEN_NET_MAC_TABLE + 1 :
					 c->n_uni);
		len += gpci_net_put_table(data + len, c->multi, c->n_multi,
					  mo ? VDPA_GEN_NET_MAC_TABLE + 1 :
					  c->n_multi);
		ret = gpci_net_send(gd, buf, VIRTIO_NET_CTRL_MAC,
				    VIRTIO_NET_CTRL_MAC_TABLE_SET, len);
	}
	if (!ret && gpci_driver_has(gd, VIRTIO_NET_F_CTRL_VLAN)) {
		unsigned int vid;

		for_each_set_bit(vid, c->vlans, VLAN_N_VID) {
			__le16 v = cpu_to_le16(vid);

			memcpy(data, &v, sizeof(v));
			ret = gpci_net_send(gd, buf, VIRTIO_NET_CTRL_VLAN,
					    VIRTIO_NET_CTRL_VLAN_ADD, sizeof(v));
			if (ret)
				break;
		}
	}
	if (!ret && c->offloads_set &&
	    gpci_driver_has(gd, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS)) {
		__le64 offloads = cpu_to_le64(c->offloads);

		memcpy(data, &offloads, sizeof(offloads));
		ret = gpci_net_send(gd, buf, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
				    VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET,
				    sizeof(offloads));
	}
	kfree(buf);
	return ret;
}

/*
 * A loaded record must be one the card can be given with the driver's
 * features (it is replayed when the device starts): EOPNOTSUPP otherwise.
 */
static int gpci_net_replayable(struct gpci_dev *gd,
			       const struct vdpa_gen_net_ctrl *c)
{
	u32 rx_cmds = c->rx & ~(VDPA_MIG_NET_RX_UNI_OVERFLOW |
				VDPA_MIG_NET_RX_MULTI_OVERFLOW);
	u8 mac[ETH_ALEN];

	gpci_net_card_mac(gd, mac);
	if (!ether_addr_equal(mac, c->mac) &&
	    !gpci_driver_has(gd, VIRTIO_NET_F_CTRL_MAC_ADDR))
		return -EOPNOTSUPP;
	if (c->pairs != 1 && !gpci_driver_has(gd, VIRTIO_NET_F_MQ))
		return -EOPNOTSUPP;
	if ((c->rx != VDPA_MIG_NET_RX_PROMISC || c->n_uni || c->n_multi) &&
	    !gpci_driver_has(gd, VIRTIO_NET_F_CTRL_RX))
		return -EOPNOTSUPP;
	if ((rx_cmds & ~(VDPA_MIG_NET_RX_PROMISC | VDPA_MIG_NET_RX_ALLMULTI)) &&
	    !gpci_driver_has(gd, VIRTIO_NET_F_CTRL_RX_EXTRA))
		return -EOPNOTSUPP;
	if (!bitmap_empty(c->vlans, VLAN_N_VID) &&
	    !gpci_driver_has(gd, VIRTIO_NET_F_CTRL_VLAN))
		return -EOPNOTSUPP;
	if (c->offloads_set &&
	    (!gpci_driver_has(gd, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) ||
	     (c->offloads & ~gd->driver_features)))
		return -EOPNOTSUPP;
	return 0;
}

/*
 * A net record, checked on a copy of the state: malformed, EINVAL.  The
 * dry run (!@commit) comes before the driver's features are set, so only
 * the commit can tell a state the card cannot be given (EOPNOTSUPP; the
 * load then fails and the device is reset).  A state other than the reset
 * one makes the device start on shadow rings, where it is replayed.
 */
static int gpci_load_net(struct gpci_dev *gd, u32 type, const void *data,
			 u32 len, bool commit)
{
	struct vdpa_gen_net_ctrl *c;
	u8 mac[ETH_ALEN];
	int ret;

	c = kmalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	gpci_shadow_lock(gd);
	memcpy(c, gd->netc, sizeof(*c));
	ret = vdpa_gen_net_ctrl_load(c, gpci_net_max_pairs(gd), type, data,
				     len, true);
	if (ret || !commit)
		goto out;
	ret = gpci_net_replayable(gd, c);
	if (!ret && gd->shadow)
		ret = -EBUSY;
	if (ret)
		goto out;
	if (c->offloads_set)
		vdpa_gen_net_ctrl_offloads_set(c, gd->driver_features,
					       c->offloads);
	memcpy(gd->netc, c, sizeof(*c));
	gpci_net_card_mac(gd, mac);
	vdpa_gen_net_ctrl_reset(c, mac);
	if (memcmp(c, gd->netc, sizeof(*c))) {
		gd->netc_loaded = true;
		gd->shadow_pending = true;
	}
out:
	mutex_unlock(&gd->shadow_lock);
	kfree(c);
	return ret;
}

int gpci_load_type_record(struct vdpa_device *vdpa, u32 type,
			  const void *data, u32 len, bool commit)
{
	struct gpci_dev *gd = to_gpci(vdpa);

	if (gpci_is(gd, VIRTIO_ID_BLOCK) && type == VDPA_MIG_REC_BLK)
		return gpci_load_blk(gd, data, len);
	if (gd->netc)
		return gpci_load_net(gd, type, data, len, commit);
	return -EOPNOTSUPP;
}

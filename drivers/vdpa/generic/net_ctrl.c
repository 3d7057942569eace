// SPDX-License-Identifier: GPL-2.0
/*
 * A virtio-net driver's control-queue state (virtio 1.2, 5.1.6.5): the
 * commands that change it, the RX filter it defines, and its records in a
 * migration state (VDPA_MIG_REC_NET, _NET_MAC_TABLE, _NET_VLAN,
 * _NET_OFFLOADS).  Shared by
 * vdpa_gen_net and vdpa_gen_pci, see net_ctrl.h.
 */
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/string.h>
#include <linux/vdpa_migrate.h>
#include <uapi/linux/virtio_net.h>

#include "net_ctrl.h"

/* VIRTIO_NET_CTRL_RX_* command -> the flag it sets, in record bits. */
static const u32 vdpa_gen_net_rx_flag[] = {
	[VIRTIO_NET_CTRL_RX_PROMISC] = VDPA_MIG_NET_RX_PROMISC,
	[VIRTIO_NET_CTRL_RX_ALLMULTI] = VDPA_MIG_NET_RX_ALLMULTI,
	[VIRTIO_NET_CTRL_RX_ALLUNI] = VDPA_MIG_NET_RX_ALLUNI,
	[VIRTIO_NET_CTRL_RX_NOMULTI] = VDPA_MIG_NET_RX_NOMULTI,
	[VIRTIO_NET_CTRL_RX_NOUNI] = VDPA_MIG_NET_RX_NOUNI,
	[VIRTIO_NET_CTRL_RX_NOBCAST] = VDPA_MIG_NET_RX_NOBCAST,
};

#define VDPA_GEN_NET_RX_ALL \
	(VDPA_MIG_NET_RX_PROMISC | VDPA_MIG_NET_RX_ALLMULTI | \
	 VDPA_MIG_NET_RX_ALLUNI | VDPA_MIG_NET_RX_NOMULTI | \
	 VDPA_MIG_NET_RX_NOUNI | VDPA_MIG_NET_RX_NOBCAST | \
	 VDPA_MIG_NET_RX_UNI_OVERFLOW | VDPA_MIG_NET_RX_MULTI_OVERFLOW)

/**
 * vdpa_gen_net_ctrl_reset() - the state after a device reset
 * @c: state
 * @mac: the address in the device's config space
 *
 * Promiscuous (a driver without VIRTIO_NET_F_CTRL_RX sees every frame for
 * it), one queue pair, empty MAC table, no VLAN, the negotiated offloads.
 */
void vdpa_gen_net_ctrl_reset(struct vdpa_gen_net_ctrl *c, const u8 *mac)
{
	memset(c, 0, sizeof(*c));
	c->rx = VDPA_MIG_NET_RX_PROMISC;
	c->pairs = 1;
	ether_addr_copy(c->mac, mac);
}
EXPORT_SYMBOL_GPL(vdpa_gen_net_ctrl_reset);

static bool vdpa_gen_net_has(u64 features, unsigned int bit)
{
	return features & BIT_ULL(bit);
}

static u8 vdpa_gen_net_ctrl_rx(struct vdpa_gen_net_ctrl *c, u64 features,
			       u8 cmd, const u8 *data, size_t len)
{
	if (!vdpa_gen_net_has(features, VIRTIO_NET_F_CTRL_RX) || len < 1 ||
	    cmd >= ARRAY_SIZE(vdpa_gen_net_rx_flag))
		return VIRTIO_NET_ERR;
	if (cmd > VIRTIO_NET_CTRL_RX_ALLMULTI &&
	    !vdpa_gen_net_has(features, VIRTIO_NET_F_CTRL_RX_EXTRA))
		return VIRTIO_NET_ERR;
	if (data[0])
		c->rx |= vdpa_gen_net_rx_flag[cmd];
	else
		c->rx &= ~vdpa_gen_net_rx_flag[cmd];
	return VIRTIO_NET_OK;
}

/*
 * One MAC table of a VIRTIO_NET_CTRL_MAC_TABLE_SET command at @*data: a
 * le32 count and that many addresses.  Returns the count, or -1 if the
 * command ends before the table does; advances @*data and @*len.
 */
static s64 vdpa_gen_net_table(const u8 **data, size_t *len)
{
	__le32 count_le;
	u32 count;

	if (*len < sizeof(count_le))
		return -1;
	memcpy(&count_le, *data, sizeof(count_le));
	count = le32_to_cpu(count_le);
	if ((u64)count * ETH_ALEN > *len - sizeof(count_le))
		return -1;
	*data += sizeof(count_le);
	*len -= sizeof(count_le) + (size_t)count * ETH_ALEN;
	return count;
}

/* Keep the first VDPA_GEN_NET_MAC_TABLE addresses; more mean overflow. */
static unsigned int vdpa_gen_net_take(u8 (*table)[ETH_ALEN], const u8 *src,
				      u32 count, u32 *rx, u32 overflow)
{
	unsigned int n = min_t(u32, count, VDPA_GEN_NET_MAC_TABLE);

	memcpy(table, src, (size_t)n * ETH_ALEN);
	if (count > VDPA_GEN_NET_MAC_TABLE)
		*rx |= overflow;
	else
		*rx &= ~overflow;
	return n;
}

static u8 vdpa_gen_net_ctrl_mac(struct vdpa_gen_net_ctrl *c, u64 features,
				u8 cmd, const u8 *data, size_t len)
{
	const u8 *uni, *multi;
	s64 nu, nm;

	switch (cmd) {
	case VIRTIO_NET_CTRL_MAC_ADDR_SET:
		if (!vdpa_gen_net_has(features, VIRTIO_NET_F_CTRL_MAC_ADDR) ||
		    len < ETH_ALEN || !is_valid_ether_addr(data))
			return VIRTIO_NET_ERR;
		ether_addr_copy(c->mac, data);
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MAC_TABLE_SET:
		/* Both tables are checked before either is taken. */
		nu = vdpa_gen_net_table(&data, &len);
		uni = data;
		data += nu > 0 ? nu * ETH_ALEN : 0;
		nm = nu < 0 ? -1 : vdpa_gen_net_table(&data, &len);
		multi = data;
		if (nm < 0)
			return VIRTIO_NET_ERR;
		c->n_uni = vdpa_gen_net_take(c->uni, uni, nu, &c->rx,
					     VDPA_MIG_NET_RX_UNI_OVERFLOW);
		c->n_multi = vdpa_gen_net_take(c->multi, multi, nm, &c->rx,
					       VDPA_MIG_NET_RX_MULTI_OVERFLOW);
		return VIRTIO_NET_OK;
	}
	return VIRTIO_NET_ERR;
}

static u8 vdpa_gen_net_ctrl_vlan(struct vdpa_gen_net_ctrl *c, u64 features,
				 u8 cmd, const u8 *data, size_t len)
{
	__le16 vid_le;
	u16 vid;

	if (!vdpa_gen_net_has(features, VIRTIO_NET_F_CTRL_VLAN) ||
	    len < sizeof(vid_le))
		return VIRTIO_NET_ERR;
	memcpy(&vid_le, data, sizeof(vid_le));
	vid = le16_to_cpu(vid_le);
	if (vid >= VLAN_N_VID)
		return VIRTIO_NET_ERR;
	if (cmd == VIRTIO_NET_CTRL_VLAN_ADD)
		set_bit(vid, c->vlans);
	else if (cmd == VIRTIO_NET_CTRL_VLAN_DEL)
		clear_bit(vid, c->vlans);
	else
		return VIRTIO_NET_ERR;
	return VIRTIO_NET_OK;
}

static u8 vdpa_gen_net_ctrl_mq(struct vdpa_gen_net_ctrl *c, u64 features,
			       u16 max_vqp, u8 cmd, const u8 *data, size_t len)
{
	__le16 pairs_le;
	u16 pairs;

	if (!vdpa_gen_net_has(features, VIRTIO_NET_F_MQ) ||
	    cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || len < sizeof(pairs_le))
		return VIRTIO_NET_ERR;
	memcpy(&pairs_le, data, sizeof(pairs_le));
	pairs = le16_to_cpu(pairs_le);
	if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > max_vqp)
		return VIRTIO_NET_ERR;
	c->pairs = pairs;
	return VIRTIO_NET_OK;
}

/**
 * vdpa_gen_net_ctrl_offloads_set() - take guest offloads
 * @c: state
 * @features: the driver's features
 * @offloads: the offloads in force, a subset of @features
 *
 * The negotiated offloads are what a reset gives: they leave @c as after
 * one (no record, nothing to replay).
 */
void vdpa_gen_net_ctrl_offloads_set(struct vdpa_gen_net_ctrl *c,
				    u64 features, u64 offloads)
{
	c->offloads_set = offloads != (features & VDPA_GEN_NET_GUEST_OFFLOADS);
	c->offloads = c->offloads_set ? offloads : 0;
}
EXPORT_SYMBOL_GPL(vdpa_gen_net_ctrl_offloads_set);

/* Only offloads whose feature was negotiated may be switched on. */
static u8 vdpa_gen_net_ctrl_offloads(struct vdpa_gen_net_ctrl *c,
				     u64 features, u8 cmd, const u8 *data,
				     size_t len)
{
	__le64 offloads_le;
	u64 offloads;

	if (!vdpa_gen_net_has(features, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) ||
	    cmd != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET ||
	    len < sizeof(offloads_le))
		return VIRTIO_NET_ERR;
	memcpy(&offloads_le, data, sizeof(offloads_le));
	offloads = le64_to_cpu(offloads_le);
	if (offloads & ~(features & VDPA_GEN_NET_GUEST_OFFLOADS))
		return VIRTIO_NET_ERR;
	vdpa_gen_net_ctrl_offloads_set(c, features, offloads);
	return VIRTIO_NET_OK;
}

/**
 * vdpa_gen_net_ctrl_apply() - execute one control command on the state
 * @c: state
 * @features: the driver's features (a command needs its feature)
 * @max_vqp: queue pairs the device has
 * @cmd: the command's device-readable bytes: class, command, data
 * @len: bytes at @cmd
 *
 * Return: VIRTIO_NET_OK, or VIRTIO_NET_ERR for a command that is unknown,
 * not negotiated or malformed, which changes nothing.  Does not sleep.
 */
u8 vdpa_gen_net_ctrl_apply(struct vdpa_gen_net_ctrl *c, u64 features,
			   u16 max_vqp, const u8 *cmd, size_t len)
{
	const struct virtio_net_ctrl_hdr *hdr = (const void *)cmd;
	const u8 *data = cmd + sizeof(*hdr);

	if (len < sizeof(*hdr))
		return VIRTIO_NET_ERR;
	len -= sizeof(*hdr);
	switch (hdr->class) {
	case VIRTIO_NET_CTRL_RX:
		return vdpa_gen_net_ctrl_rx(c, features, hdr->cmd, data, len);
	case VIRTIO_NET_CTRL_MAC:
		return vdpa_gen_net_ctrl_mac(c, features, hdr->cmd, data, len);
	case VIRTIO_NET_CTRL_VLAN:
		return vdpa_gen_net_ctrl_vlan(c, features, hdr->cmd, data, len);
	case VIRTIO_NET_CTRL_MQ:
		return vdpa_gen_net_ctrl_mq(c, features, max_vqp, hdr->cmd,
					    data, len);
	case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
		return vdpa_gen_net_ctrl_offloads(c, features, hdr->cmd, data,
						  len);
	}
	return VIRTIO_NET_ERR;
}
EXPORT_SYMBOL_GPL(vdpa_gen_net_ctrl_apply);

static bool vdpa_gen_net_mac_in(const u8 (*table)[ETH_ALEN], unsigned int n,
				const u8 *addr)
{
	for (unsigned int i = 0; i < n; i++)
		if (ether_addr_equal(table[i], addr))
			return true;
	return false;
}

/**
 * vdpa_gen_net_ctrl_accept() - whether the RX filter takes a frame
 * @c: state
 * @vlan_filter: VIRTIO_NET_F_CTRL_VLAN is negotiated
 * @frame: the frame, Ethernet header first
 * @len: bytes of @frame, at least ETH_HLEN
 *
 * Return: true if the driver asked for this frame.
 */
bool vdpa_gen_net_ctrl_accept(const struct vdpa_gen_net_ctrl *c,
			      bool vlan_filter, const u8 *frame,
			      unsigned int len)
{
	const struct ethhdr *eth = (const struct ethhdr *)frame;
	const u8 *dst = eth->h_dest;

	if (c->rx & VDPA_MIG_NET_RX_PROMISC)
		return true;
	if (vlan_filter && eth->h_proto == htons(ETH_P_8021Q) &&
	    len >= VLAN_ETH_HLEN) {
		const struct vlan_ethhdr *veth = (const void *)frame;
		u16 vid = ntohs(veth->h_vlan_TCI) & VLAN_VID_MASK;

		if (!test_bit(vid, c->vlans))
			return false;
	}
	if (is_broadcast_ether_addr(dst))
		return !(c->rx & VDPA_MIG_NET_RX_NOBCAST);
	if (is_multicast_ether_addr(dst)) {
		if (c->rx & VDPA_MIG_NET_RX_NOMULTI)
			return false;
		if (c->rx & (VDPA_MIG_NET_RX_ALLMULTI |
			     VDPA_MIG_NET_RX_MULTI_OVERFLOW))
			return true;
		return vdpa_gen_net_mac_in(c->multi, c->n_multi, dst);
	}
	if (c->rx & VDPA_MIG_NET_RX_NOUNI)
		return false;
	if ((c->rx & (VDPA_MIG_NET_RX_ALLUNI | VDPA_MIG_NET_RX_UNI_OVERFLOW)) ||
	    ether_addr_equal(dst, c->mac))
		return true;
	return vdpa_gen_net_mac_in(c->uni, c->n_uni, dst);
}
EXPORT_SYMBOL_GPL(vdpa_gen_net_ctrl_accept);

static size_t vdpa_gen_net_table_size(void)
{
	return struct_size((struct vdpa_mig_rec_net_mac_table *)NULL, mac,
			   2 * VDPA_GEN_NET_MAC_TABLE);
}

/**
 * vdpa_gen_net_ctrl_state_size() - bytes vdpa_gen_net_ctrl_save() may add
 *
 * Return: the size of the four records, headers included.
 */
size_t vdpa_gen_net_ctrl_state_size(void)
{
	return 4 * sizeof(struct vdpa_mig_rec_hdr) +
	       ALIGN(sizeof(struct vdpa_mig_rec_net), 8) +
	       ALIGN(vdpa_gen_net_table_size(), 8) +
	       ALIGN(sizeof(struct vdpa_mig_rec_net_vlan), 8) +
	       ALIGN(sizeof(struct vdpa_mig_rec_net_offloads), 8);
}
EXPORT_SYMBOL_GPL(vdpa_gen_net_ctrl_state_size);

/**
 * vdpa_gen_net_ctrl_save() - write the state's records, all mandatory
 * @c: state, stable while this runs (may sleep)
 * @w: the device state being written
 *
 * Return: 0 or a negative errno.
 */
int vdpa_gen_net_ctrl_save(const struct vdpa_gen_net_ctrl *c,
			   struct vdpa_mig_writer *w)
{
	struct vdpa_mig_rec_net_mac_table *tbl;
	struct vdpa_mig_rec_net_vlan *vlan;
	struct vdpa_mig_rec_net rec = {};
	unsigned int i;
	int ret = -ENOMEM;

	tbl = kzalloc(vdpa_gen_net_table_size(), GFP_KERNEL);
	vlan = kzalloc(sizeof(*vlan), GFP_KERNEL);
	if (!tbl || !vlan)
		goto out_free;

	ether_addr_copy(rec.mac, c->mac);
	rec.rx_mode = cpu_to_le32(c->rx);
	rec.mq_pairs = cpu_to_le32(c->pairs);
	ret = vdpa_mig_put_record(w, VDPA_MIG_REC_NET, VDPA_MIG_REC_F_MANDATORY,
				  &rec, sizeof(rec));
	if (ret)
		goto out_free;

	tbl->n_uni = cpu_to_le32(c->n_uni);
	tbl->n_multi = cpu_to_le32(c->n_multi);
	for (i = 0; i < c->n_uni; i++)
		ether_addr_copy(tbl->mac[i], c->uni[i]);
	for (i = 0; i < c->n_multi; i++)
		ether_addr_copy(tbl->mac[c->n_uni + i], c->multi[i]);
	ret = vdpa_mig_put_record(w, VDPA_MIG_REC_NET_MAC_TABLE,
				  VDPA_MIG_REC_F_MANDATORY, tbl,
				  struct_size(tbl, mac, c->n_uni + c->n_multi));
	if (ret)
		goto out_free;

	for_each_set_bit(i, c->vlans, VLAN_N_VID)
		le64_add_cpu(&vlan->bitmap[i / 64], BIT_ULL(i % 64));
	ret = vdpa_mig_put_record(w, VDPA_MIG_REC_NET_VLAN,
				  VDPA_MIG_REC_F_MANDATORY, vlan, sizeof(*vlan));
	if (!ret && c->offloads_set) {
		struct vdpa_mig_rec_net_offloads off = {
			.offloads = cpu_to_le64(c->offloads),
		};

		ret = vdpa_mig_put_record(w, VDPA_MIG_REC_NET_OFFLOADS,
					  VDPA_MIG_REC_F_MANDATORY, &off,
					  sizeof(off));
	}
out_free:
	kfree(vlan);
	kfree(tbl);
	return ret;
}
EXPORT_SYMBOL_GPL(vdpa_gen_net_ctrl_save);

static int vdpa_gen_net_load_net(struct vdpa_gen_net_ctrl *c, u16 max_vqp,
				 const struct vdpa_mig_rec_net *rec, u32 len,
				 bool commit)
{
	u32 rx, pairs;

	if (len < sizeof(*rec))
		return -EINVAL;
	rx = le32_to_cpu(rec->rx_mode);
	pairs = le32_to_cpu(rec->mq_pairs);
	if ((rx & ~VDPA_GEN_NET_RX_ALL) || !pairs || pairs > max_vqp ||
	    !is_valid_ether_addr(rec->mac) || rec->mac[6] || rec->mac[7] ||
	    rec->reserved)
		return -EINVAL;
	if (commit) {
		c->rx = rx;
		ether_addr_copy(c->mac, rec->mac);
		c->pairs = pairs;
	}
	return 0;
}

static int vdpa_gen_net_load_table(struct vdpa_gen_net_ctrl *c,
				   const struct vdpa_mig_rec_net_mac_table *tbl,
				   u32 len, bool commit)
{
	u32 nu, nm, i;

	if (len < sizeof(*tbl))
		return -EINVAL;
	nu = le32_to_cpu(tbl->n_uni);
	nm = le32_to_cpu(tbl->n_multi);
	if (nu > VDPA_GEN_NET_MAC_TABLE || nm > VDPA_GEN_NET_MAC_TABLE ||
	    len < struct_size(tbl, mac, nu + nm))
		return -EINVAL;
	if (commit) {
		for (i = 0; i < nu; i++)
			ether_addr_copy(c->uni[i], tbl->mac[i]);
		for (i = 0; i < nm; i++)
			ether_addr_copy(c->multi[i], tbl->mac[nu + i]);
		c->n_uni = nu;
		c->n_multi = nm;
	}
	return 0;
}

static int vdpa_gen_net_load_vlan(struct vdpa_gen_net_ctrl *c,
				  const struct vdpa_mig_rec_net_vlan *vlan,
				  u32 len, bool commit)
{
	if (len < sizeof(*vlan))
		return -EINVAL;
	if (commit)
		for (unsigned int i = 0; i < VLAN_N_VID; i++)
			assign_bit(i, c->vlans,
				   le64_to_cpu(vlan->bitmap[i / 64]) &
				   BIT_ULL(i % 64));
	return 0;
}

/*
 * Whether the offloads suit the driver's features is the parent's check
 * at the commit, when they are known; it then calls
 * vdpa_gen_net_ctrl_offloads_set() to drop offloads a reset gives anyway.
 */
static int vdpa_gen_net_load_offloads(struct vdpa_gen_net_ctrl *c,
				      const struct vdpa_mig_rec_net_offloads *o,
				      u32 len, bool commit)
{
	u64 offloads;

	if (len < sizeof(*o))
		return -EINVAL;
	offloads = le64_to_cpu(o->offloads);
	if ((offloads & ~VDPA_GEN_NET_GUEST_OFFLOADS) || o->reserved)
		return -EINVAL;
	if (commit) {
		c->offloads = offloads;
		c->offloads_set = true;
	}
	return 0;
}

/**
 * vdpa_gen_net_ctrl_load() - check, and with @commit take, one record
 * @c: state
 * @max_vqp: queue pairs the device has
 * @type: VDPA_MIG_REC_NET, _NET_MAC_TABLE, _NET_VLAN or _NET_OFFLOADS
 * @data: the record's payload
 * @len: bytes at @data
 * @commit: false: only check
 *
 * Return: 0, -EINVAL for a malformed record (nothing changes), or
 * -EOPNOTSUPP for another type.  Does not sleep.
 */
int vdpa_gen_net_ctrl_load(struct vdpa_gen_net_ctrl *c, u16 max_vqp,
			   u32 type, const void *data, u32 len, bool commit)
{
	switch (type) {
	case VDPA_MIG_REC_NET:
		return vdpa_gen_net_load_net(c, max_vqp, data, len, commit);
	case VDPA_MIG_REC_NET_MAC_TABLE:
		return vdpa_gen_net_load_table(c, data, len, commit);
	case VDPA_MIG_REC_NET_VLAN:
		return vdpa_gen_net_load_vlan(c, data, len, commit);
	case VDPA_MIG_REC_NET_OFFLOADS:
		return vdpa_gen_net_load_offloads(c, data, len, commit);
	}
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_GPL(vdpa_gen_net_ctrl_load);

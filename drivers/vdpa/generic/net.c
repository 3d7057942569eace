// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_gen_net: virtio-net personality of the generic vDPA device.
 *
 * Every device of the "vdpagen_net" management device is a port of one
 * software L2 switch (net_switch.c).  A frame the driver puts on a TX queue
 * is copied once, into an RX buffer of each port it is forwarded to.  The
 * control virtqueue implements RX mode, MAC address and table, VLAN filter
 * and multiqueue commands.
 *
 * Queues: rx0 tx0 rx1 tx1 ... then the control queue, which is queue 2 when
 * VIRTIO_NET_F_MQ is not negotiated and 2 * max_vqp when it is.  The control
 * queue is alone in group 1 so that a VMM may give it an address space of
 * its own.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/ethtool.h>
#include <linux/if_vlan.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vdpa_migrate.h>
#include <linux/virtio_byteorder.h>
#include <uapi/linux/vdpa.h>
#include <uapi/linux/virtio_ids.h>
#include <uapi/linux/virtio_net.h>

#include "vdpa_gen.h"
#include "net.h"

#define VDPA_GEN_NET_MAX_VQP	16
#define VDPA_GEN_NET_MTU_MIN	ETH_MIN_MTU
#define VDPA_GEN_NET_MTU_MAX	9000
#define VDPA_GEN_NET_MAC_TABLE	64
#define VDPA_GEN_NET_BUDGET	64
#define VDPA_GEN_NET_HDR_LEN	sizeof(struct virtio_net_hdr_v1)

#define VDPA_GEN_NET_FEATURES \
	(BIT_ULL(VIRTIO_NET_F_MAC) | BIT_ULL(VIRTIO_NET_F_MTU) | \
	 BIT_ULL(VIRTIO_NET_F_STATUS) | BIT_ULL(VIRTIO_NET_F_CTRL_VQ) | \
	 BIT_ULL(VIRTIO_NET_F_CTRL_RX) | BIT_ULL(VIRTIO_NET_F_CTRL_VLAN) | \
	 BIT_ULL(VIRTIO_NET_F_CTRL_RX_EXTRA) | \
	 BIT_ULL(VIRTIO_NET_F_CTRL_MAC_ADDR) | BIT_ULL(VIRTIO_NET_F_MQ))

/*
 * Features the type cannot work without: the admin may hide the others with
 * `vdpa dev add ... device_features`.
 */
#define VDPA_GEN_NET_REQUIRED	BIT_ULL(VIRTIO_F_VERSION_1)

/**
 * struct vdpa_gen_net_filter - what the driver asked the RX path to accept
 * @promisc: accept everything
 * @allmulti: accept all multicast
 * @alluni: accept all unicast
 * @nomulti: drop all multicast
 * @nouni: drop unicast other than broadcast
 * @nobcast: drop broadcast
 * @uni_overflow: the driver's unicast table did not fit: accept all unicast
 * @multi_overflow: likewise for multicast
 * @n_uni: entries in @uni
 * @n_multi: entries in @multi
 * @mac: the device's own address
 * @uni: extra unicast addresses
 * @multi: multicast addresses
 * @vlans: VLAN IDs accepted when VIRTIO_NET_F_CTRL_VLAN is negotiated
 */
struct vdpa_gen_net_filter {
	bool promisc;
	bool allmulti;
	bool alluni;
	bool nomulti;
	bool nouni;
	bool nobcast;
	bool uni_overflow;
	bool multi_overflow;
	unsigned int n_uni;
	unsigned int n_multi;
	u8 mac[ETH_ALEN];
	u8 uni[VDPA_GEN_NET_MAC_TABLE][ETH_ALEN];
	u8 multi[VDPA_GEN_NET_MAC_TABLE][ETH_ALEN];
	DECLARE_BITMAP(vlans, VLAN_N_VID);
};

/**
 * enum vdpa_gen_net_stat - per-device counters, in sysfs under stats/
 * @VDPA_GEN_NET_RX_PACKETS: frames delivered to the driver
 * @VDPA_GEN_NET_RX_BYTES: bytes delivered to the driver
 * @VDPA_GEN_NET_RX_DROPPED: frames for us dropped: no RX buffer or queue
 * @VDPA_GEN_NET_TX_PACKETS: frames taken from the driver
 * @VDPA_GEN_NET_TX_BYTES: bytes taken from the driver
 * @VDPA_GEN_NET_TX_DROPPED: frames from the driver that were too short or long
 * @VDPA_GEN_NET_NSTATS: number of counters
 */
enum vdpa_gen_net_stat {
	VDPA_GEN_NET_RX_PACKETS,
	VDPA_GEN_NET_RX_BYTES,
	VDPA_GEN_NET_RX_DROPPED,
	VDPA_GEN_NET_TX_PACKETS,
	VDPA_GEN_NET_TX_BYTES,
	VDPA_GEN_NET_TX_DROPPED,
	VDPA_GEN_NET_NSTATS
};

/**
 * struct vdpa_gen_net - a generic virtio-net device
 * @gdev: generic device; must stay first
 * @port: our port on the switch
 * @max_vqp: queue pairs the device has
 * @pairs: queue pairs the driver uses (MQ command); protected by @lock
 * @mtu: MTU the device was created with
 * @frame_max: largest frame accepted from TX, VLAN tag included
 * @lock: protects @filter and @pairs; taken inside vq locks
 * @filter: RX filter
 * @txbuf: one frame buffer per TX queue, used under that queue's lock
 * @stats: counters, indexed by enum vdpa_gen_net_stat
 */
struct vdpa_gen_net {
	struct vdpa_gen_dev gdev;
	struct vdpa_gen_sw_port port;
	u16 max_vqp;
	u16 pairs;
	u16 mtu;
	unsigned int frame_max;
	spinlock_t lock; /* @filter, @pairs */
	struct vdpa_gen_net_filter filter;
	u8 **txbuf;
	atomic64_t stats[VDPA_GEN_NET_NSTATS];
};

static struct vdpa_gen_switch vdpa_gen_net_switch;

static struct vdpa_gen_net *gdev_to_net(struct vdpa_gen_dev *gdev)
{
	return container_of(gdev, struct vdpa_gen_net, gdev);
}

static struct vdpa_gen_net *port_to_net(struct vdpa_gen_sw_port *port)
{
	return container_of(port, struct vdpa_gen_net, port);
}

static struct virtio_net_config *vdpa_gen_net_config(struct vdpa_gen_net *net)
{
	return net->gdev.config;
}

static u16 vdpa_gen_net_cvq_index(struct vdpa_gen_net *net)
{
	if (vdpa_gen_has_feature(&net->gdev, VIRTIO_NET_F_MQ))
		return 2 * net->max_vqp;
	return 2;
}

static bool vdpa_gen_net_is_cvq(struct vdpa_gen_net *net, u16 idx)
{
	return vdpa_gen_has_feature(&net->gdev, VIRTIO_NET_F_CTRL_VQ) &&
	       idx == vdpa_gen_net_cvq_index(net);
}

/* ---- RX: frames from the switch ---------------------------------------- */

static bool vdpa_gen_net_mac_in(const u8 (*table)[ETH_ALEN], unsigned int n,
				const u8 *addr)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (ether_addr_equal(table[i], addr))
			return true;
	return false;
}

/* Called with net->lock held. */
static bool vdpa_gen_net_accept(struct vdpa_gen_net *net, const u8 *frame,
				unsigned int len)
{
	const struct vdpa_gen_net_filter *f = &net->filter;
	const struct ethhdr *eth = (const struct ethhdr *)frame;
	const u8 *dst = eth->h_dest;

	if (f->promisc)
		return true;

	if (vdpa_gen_has_feature(&net->gdev, VIRTIO_NET_F_CTRL_VLAN) &&
	    eth->h_proto == htons(ETH_P_8021Q) && len >= VLAN_ETH_HLEN) {
		const struct vlan_ethhdr *veth = (const void *)frame;
		u16 vid = ntohs(veth->h_vlan_TCI) & VLAN_VID_MASK;

		if (!test_bit(vid, f->vlans))
			return false;
	}

	if (is_broadcast_ether_addr(dst))
		return !f->nobcast;
	if (is_multicast_ether_addr(dst)) {
		if (f->nomulti)
			return false;
		if (f->allmulti || f->multi_overflow)
			return true;
		return vdpa_gen_net_mac_in(f->multi, f->n_multi, dst);
	}
	if (f->nouni)
		return false;
	if (f->alluni || f->uni_overflow || ether_addr_equal(dst, f->mac))
		return true;
	return vdpa_gen_net_mac_in(f->uni, f->n_uni, dst);
}

static void vdpa_gen_net_rx(struct vdpa_gen_sw_port *port, const u8 *frame,
			    unsigned int len, u16 pair)
{
	struct vdpa_gen_net *net = port_to_net(port);
	struct virtio_net_hdr_v1 hdr = {
		.num_buffers = __cpu_to_virtio16(true, 1),
	};
	struct vdpa_gen_vq *vq;
	bool accept;
	u16 pairs, head;
	int ret;

	spin_lock(&net->lock);
	accept = vdpa_gen_net_accept(net, frame, len);
	pairs = net->pairs;
	spin_unlock(&net->lock);
	if (!accept)
		return;

	/* Keep each sending queue's frames in order on one RX queue. */
	vq = &net->gdev.vqs[2 * (pair % pairs)];
	/* A peer's RX lock nests inside the sender's TX lock. */
	mutex_lock_nested(&vq->lock, SINGLE_DEPTH_NESTING);
	if (!vdpa_gen_vq_running(vq))
		goto drop;
	ret = vdpa_gen_vq_get(vq, &head);
	if (ret <= 0)
		goto drop;
	if (vringh_kiov_length(&vq->wiov) < VDPA_GEN_NET_HDR_LEN + len) {
		/* Too small for this frame: leave it for a smaller one. */
		vdpa_gen_vq_put_back(vq);
		goto drop;
	}
	if (vdpa_gen_vq_push(vq, &hdr, sizeof(hdr)) != sizeof(hdr) ||
	    vdpa_gen_vq_push(vq, frame, len) != len)
		goto drop;
	vdpa_gen_vq_complete(vq, head, VDPA_GEN_NET_HDR_LEN + len);
	vdpa_gen_vq_notify(vq);
	mutex_unlock(&vq->lock);
	atomic64_inc(&net->stats[VDPA_GEN_NET_RX_PACKETS]);
	atomic64_add(len, &net->stats[VDPA_GEN_NET_RX_BYTES]);
	return;

drop:
	mutex_unlock(&vq->lock);
	atomic64_inc(&net->stats[VDPA_GEN_NET_RX_DROPPED]);
}

static const struct vdpa_gen_sw_port_ops vdpa_gen_net_port_ops = {
	.rx = vdpa_gen_net_rx,
};

/* ---- TX ------------------------------------------------------------------ */

static bool vdpa_gen_net_handle_tx(struct vdpa_gen_net *net,
				   struct vdpa_gen_vq *vq)
{
	u8 *buf = net->txbuf[vq->index / 2];
	struct virtio_net_hdr_v1 hdr;
	bool more = true;
	int budget = VDPA_GEN_NET_BUDGET;
	ssize_t len;
	u16 head;

	vdpa_gen_switch_begin(&vdpa_gen_net_switch);
	while (budget--) {
		if (vdpa_gen_vq_get(vq, &head) <= 0) {
			more = false;
			break;
		}
		len = vdpa_gen_vq_pull(vq, &hdr, sizeof(hdr));
		if (len == sizeof(hdr))
			len = vdpa_gen_vq_pull(vq, buf, net->frame_max);
		if (len < 0)
			break;
		if (len < ETH_HLEN || vringh_kiov_length(&vq->riov)) {
			/* Runt, or longer than the device's MTU allows. */
			atomic64_inc(&net->stats[VDPA_GEN_NET_TX_DROPPED]);
		} else {
			atomic64_inc(&net->stats[VDPA_GEN_NET_TX_PACKETS]);
			atomic64_add(len, &net->stats[VDPA_GEN_NET_TX_BYTES]);
			vdpa_gen_switch_forward(&vdpa_gen_net_switch, &net->port,
						buf, len, vq->index / 2);
		}
		vdpa_gen_vq_complete(vq, head, 0);
	}
	vdpa_gen_switch_end(&vdpa_gen_net_switch);
	vdpa_gen_vq_notify(vq);
	return more && vdpa_gen_vq_running(vq);
}

/* ---- control queue ------------------------------------------------------- */

static u8 vdpa_gen_net_ctrl_rx(struct vdpa_gen_net *net, u8 cmd, u8 on)
{
	struct vdpa_gen_net_filter *f = &net->filter;
	bool *flag;

	switch (cmd) {
	case VIRTIO_NET_CTRL_RX_PROMISC:
		flag = &f->promisc;
		break;
	case VIRTIO_NET_CTRL_RX_ALLMULTI:
		flag = &f->allmulti;
		break;
	case VIRTIO_NET_CTRL_RX_ALLUNI:
		flag = &f->alluni;
		break;
	case VIRTIO_NET_CTRL_RX_NOMULTI:
		flag = &f->nomulti;
		break;
	case VIRTIO_NET_CTRL_RX_NOUNI:
		flag = &f->nouni;
		break;
	case VIRTIO_NET_CTRL_RX_NOBCAST:
		flag = &f->nobcast;
		break;
	default:
		return VIRTIO_NET_ERR;
	}
	if (cmd > VIRTIO_NET_CTRL_RX_ALLMULTI &&
	    !vdpa_gen_has_feature(&net->gdev, VIRTIO_NET_F_CTRL_RX_EXTRA))
		return VIRTIO_NET_ERR;

	spin_lock(&net->lock);
	*flag = !!on;
	spin_unlock(&net->lock);
	return VIRTIO_NET_OK;
}

/*
 * Read one MAC table (le32 count + count addresses) from the command.
 * Returns the number of entries, or -1 if the command is malformed.
 */
static int vdpa_gen_net_read_table(struct vdpa_gen_vq *vq,
				   u8 (*table)[ETH_ALEN], bool *overflow)
{
	u8 skip[ETH_ALEN];
	__le32 count_le;
	u32 count, i;

	if (vdpa_gen_vq_pull(vq, &count_le, sizeof(count_le)) !=
	    sizeof(count_le))
		return -1;
	count = le32_to_cpu(count_le);
	if ((u64)count * ETH_ALEN > vringh_kiov_length(&vq->riov))
		return -1;

	*overflow = count > VDPA_GEN_NET_MAC_TABLE;
	for (i = 0; i < count; i++) {
		u8 *dst = i < VDPA_GEN_NET_MAC_TABLE ? table[i] : skip;

		if (vdpa_gen_vq_pull(vq, dst, ETH_ALEN) != ETH_ALEN)
			return -1;
	}
	return min_t(u32, count, VDPA_GEN_NET_MAC_TABLE);
}

static u8 vdpa_gen_net_ctrl_mac(struct vdpa_gen_net *net,
				struct vdpa_gen_vq *vq, u8 cmd)
{
	struct virtio_net_config *cfg = vdpa_gen_net_config(net);
	struct vdpa_gen_net_filter *f = &net->filter, *tmp;
	bool uo, mo;
	int nu, nm;
	u8 mac[ETH_ALEN];

	switch (cmd) {
	case VIRTIO_NET_CTRL_MAC_ADDR_SET:
		if (!vdpa_gen_has_feature(&net->gdev,
					  VIRTIO_NET_F_CTRL_MAC_ADDR))
			return VIRTIO_NET_ERR;
		if (vdpa_gen_vq_pull(vq, mac, ETH_ALEN) != ETH_ALEN ||
		    !is_valid_ether_addr(mac))
			return VIRTIO_NET_ERR;
		spin_lock(&net->lock);
		ether_addr_copy(f->mac, mac);
		spin_unlock(&net->lock);
		spin_lock(&net->gdev.cfg_lock);
		ether_addr_copy(cfg->mac, mac);
		spin_unlock(&net->gdev.cfg_lock);
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MAC_TABLE_SET:
		/* Parse into a scratch copy: a bad command changes nothing. */
		tmp = kmalloc(sizeof(*tmp), GFP_KERNEL);
		if (!tmp)
			return VIRTIO_NET_ERR;
		nu = vdpa_gen_net_read_table(vq, tmp->uni, &uo);
		nm = nu < 0 ? -1 : vdpa_gen_net_read_table(vq, tmp->multi, &mo);
		if (nm >= 0) {
			spin_lock(&net->lock);
			memcpy(f->uni, tmp->uni, nu * ETH_ALEN);
			memcpy(f->multi, tmp->multi, nm * ETH_ALEN);
			f->n_uni = nu;
			f->n_multi = nm;
			f->uni_overflow = uo;
			f->multi_overflow = mo;
			spin_unlock(&net->lock);
		}
		kfree(tmp);
		return nm >= 0 ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
	default:
		return VIRTIO_NET_ERR;
	}
}

static u8 vdpa_gen_net_ctrl_vlan(struct vdpa_gen_net *net,
				 struct vdpa_gen_vq *vq, u8 cmd)
{
	__le16 vid_le;
	u16 vid;

	if (!vdpa_gen_has_feature(&net->gdev, VIRTIO_NET_F_CTRL_VLAN) ||
	    vdpa_gen_vq_pull(vq, &vid_le, sizeof(vid_le)) != sizeof(vid_le))
		return VIRTIO_NET_ERR;
	vid = le16_to_cpu(vid_le);
	if (vid >= VLAN_N_VID)
		return VIRTIO_NET_ERR;

	spin_lock(&net->lock);
	if (cmd == VIRTIO_NET_CTRL_VLAN_ADD)
		set_bit(vid, net->filter.vlans);
	else if (cmd == VIRTIO_NET_CTRL_VLAN_DEL)
		clear_bit(vid, net->filter.vlans);
	else
		vid = VLAN_N_VID;
	spin_unlock(&net->lock);
	return vid < VLAN_N_VID ? VIRTIO_NET_OK : VIRTIO_NET_ERR;
}

static u8 vdpa_gen_net_ctrl_mq(struct vdpa_gen_net *net,
			       struct vdpa_gen_vq *vq, u8 cmd)
{
	__le16 pairs_le;
	u16 pairs;

	if (!vdpa_gen_has_feature(&net->gdev, VIRTIO_NET_F_MQ) ||
	    cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
	    vdpa_gen_vq_pull(vq, &pairs_le, sizeof(pairs_le)) !=
	    sizeof(pairs_le))
		return VIRTIO_NET_ERR;
	pairs = le16_to_cpu(pairs_le);
	if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > net->max_vqp)
		return VIRTIO_NET_ERR;

	spin_lock(&net->lock);
	net->pairs = pairs;
	spin_unlock(&net->lock);
	return VIRTIO_NET_OK;
}

static u8 vdpa_gen_net_ctrl_cmd(struct vdpa_gen_net *net,
				struct vdpa_gen_vq *vq)
{
	struct virtio_net_ctrl_hdr ctrl;
	u8 on;

	if (vdpa_gen_vq_pull(vq, &ctrl, sizeof(ctrl)) != sizeof(ctrl))
		return VIRTIO_NET_ERR;

	switch (ctrl.class) {
	case VIRTIO_NET_CTRL_RX:
		if (!vdpa_gen_has_feature(&net->gdev, VIRTIO_NET_F_CTRL_RX) ||
		    vdpa_gen_vq_pull(vq, &on, 1) != 1)
			return VIRTIO_NET_ERR;
		return vdpa_gen_net_ctrl_rx(net, ctrl.cmd, on);
	case VIRTIO_NET_CTRL_MAC:
		return vdpa_gen_net_ctrl_mac(net, vq, ctrl.cmd);
	case VIRTIO_NET_CTRL_VLAN:
		return vdpa_gen_net_ctrl_vlan(net, vq, ctrl.cmd);
	case VIRTIO_NET_CTRL_MQ:
		return vdpa_gen_net_ctrl_mq(net, vq, ctrl.cmd);
	default:
		return VIRTIO_NET_ERR;
	}
}

static bool vdpa_gen_net_handle_ctrl(struct vdpa_gen_net *net,
				     struct vdpa_gen_vq *vq)
{
	int budget = VDPA_GEN_NET_BUDGET;
	u16 head;
	u8 ack;

	while (budget--) {
		if (vdpa_gen_vq_get(vq, &head) <= 0)
			return false;
		ack = vdpa_gen_net_ctrl_cmd(net, vq);
		if (!vdpa_gen_vq_running(vq))
			return false;
		/* The ack is the last device-writable byte of the chain. */
		if (vdpa_gen_vq_push(vq, &ack, sizeof(ack)) != sizeof(ack)) {
			vdpa_gen_fail(&net->gdev, "control command without ack");
			return false;
		}
		vdpa_gen_vq_complete(vq, head, sizeof(ack));
		vdpa_gen_vq_notify(vq);
	}
	return true;
}

static bool vdpa_gen_net_handle_vq(struct vdpa_gen_dev *gdev,
				   struct vdpa_gen_vq *vq)
{
	struct vdpa_gen_net *net = gdev_to_net(gdev);

	if (vdpa_gen_net_is_cvq(net, vq->index))
		return vdpa_gen_net_handle_ctrl(net, vq);
	if (vq->index & 1 && vq->index < 2 * net->max_vqp)
		return vdpa_gen_net_handle_tx(net, vq);
	/* RX buffers are consumed when the switch delivers a frame. */
	return false;
}

/* ---- type callbacks ----------------------------------------------------- */

static u32 vdpa_gen_net_get_vq_group(struct vdpa_gen_dev *gdev, u16 idx)
{
	return vdpa_gen_net_is_cvq(gdev_to_net(gdev), idx) ? 1 : 0;
}

static int vdpa_gen_net_set_features(struct vdpa_gen_dev *gdev, u64 features)
{
	/* The spec ties these to the control queue. */
	u64 need_cvq = BIT_ULL(VIRTIO_NET_F_CTRL_RX) |
		       BIT_ULL(VIRTIO_NET_F_CTRL_VLAN) |
		       BIT_ULL(VIRTIO_NET_F_CTRL_RX_EXTRA) |
		       BIT_ULL(VIRTIO_NET_F_CTRL_MAC_ADDR) |
		       BIT_ULL(VIRTIO_NET_F_MQ);

	if ((features & need_cvq) &&
	    !(features & BIT_ULL(VIRTIO_NET_F_CTRL_VQ)))
		return -EINVAL;
	return 0;
}

/* Called with gdev->lock held and every queue stopped. */
static void vdpa_gen_net_reset_filter(struct vdpa_gen_net *net)
{
	struct virtio_net_config *cfg = vdpa_gen_net_config(net);
	struct vdpa_gen_net_filter *f = &net->filter;

	spin_lock(&net->lock);
	memset(f, 0, sizeof(*f));
	/* A driver without CTRL_RX must see every frame for it. */
	f->promisc = true;
	ether_addr_copy(f->mac, cfg->mac);
	net->pairs = 1;
	spin_unlock(&net->lock);
}

static void vdpa_gen_net_reset(struct vdpa_gen_dev *gdev)
{
	vdpa_gen_net_reset_filter(gdev_to_net(gdev));
}

static void vdpa_gen_net_release(struct vdpa_gen_dev *gdev)
{
	struct vdpa_gen_net *net = gdev_to_net(gdev);
	u16 i;

	if (!net->txbuf)
		return;
	for (i = 0; i < net->max_vqp; i++)
		kfree(net->txbuf[i]);
	kfree(net->txbuf);
}

/* ---- migration state ---------------------------------------------------- */

static const struct {
	size_t offset;
	u32 bit;
} vdpa_gen_net_rx_bits[] = {
	{ offsetof(struct vdpa_gen_net_filter, promisc), VDPA_MIG_NET_RX_PROMISC },
	{ offsetof(struct vdpa_gen_net_filter, allmulti), VDPA_MIG_NET_RX_ALLMULTI },
	{ offsetof(struct vdpa_gen_net_filter, alluni), VDPA_MIG_NET_RX_ALLUNI },
	{ offsetof(struct vdpa_gen_net_filter, nomulti), VDPA_MIG_NET_RX_NOMULTI },
	{ offsetof(struct vdpa_gen_net_filter, nouni), VDPA_MIG_NET_RX_NOUNI },
	{ offsetof(struct vdpa_gen_net_filter, nobcast), VDPA_MIG_NET_RX_NOBCAST },
	{ offsetof(struct vdpa_gen_net_filter, uni_overflow),
	  VDPA_MIG_NET_RX_UNI_OVERFLOW },
	{ offsetof(struct vdpa_gen_net_filter, multi_overflow),
	  VDPA_MIG_NET_RX_MULTI_OVERFLOW },
};

static bool *vdpa_gen_net_rx_flag(struct vdpa_gen_net_filter *f, unsigned int i)
{
	return (bool *)((u8 *)f + vdpa_gen_net_rx_bits[i].offset);
}

static size_t vdpa_gen_net_table_size(void)
{
	return struct_size((struct vdpa_mig_rec_net_mac_table *)NULL, mac,
			   2 * VDPA_GEN_NET_MAC_TABLE);
}

static size_t vdpa_gen_net_state_size(struct vdpa_gen_dev *gdev)
{
	return 3 * sizeof(struct vdpa_mig_rec_hdr) +
	       ALIGN(sizeof(struct vdpa_mig_rec_net), 8) +
	       ALIGN(vdpa_gen_net_table_size(), 8) +
	       ALIGN(sizeof(struct vdpa_mig_rec_net_vlan), 8);
}

/* Called while the device is suspended: the filter only changes from CVQ. */
static int vdpa_gen_net_save_state(struct vdpa_gen_dev *gdev,
				   struct vdpa_mig_writer *w)
{
	struct vdpa_gen_net *net = gdev_to_net(gdev);
	struct vdpa_gen_net_filter *f;
	struct vdpa_mig_rec_net_mac_table *tbl;
	struct vdpa_mig_rec_net_vlan *vlan;
	struct vdpa_mig_rec_net rec = {};
	u32 rx = 0, i, n;
	int ret = -ENOMEM;

	f = kmalloc(sizeof(*f), GFP_KERNEL);
	tbl = kzalloc(vdpa_gen_net_table_size(), GFP_KERNEL);
	vlan = kzalloc(sizeof(*vlan), GFP_KERNEL);
	if (!f || !tbl || !vlan)
		goto out_free;
	spin_lock(&net->lock);
	memcpy(f, &net->filter, sizeof(*f));
	rec.mq_pairs = cpu_to_le32(net->pairs);
	spin_unlock(&net->lock);

	ether_addr_copy(rec.mac, f->mac);
	for (i = 0; i < ARRAY_SIZE(vdpa_gen_net_rx_bits); i++)
		if (*vdpa_gen_net_rx_flag(f, i))
			rx |= vdpa_gen_net_rx_bits[i].bit;
	rec.rx_mode = cpu_to_le32(rx);
	ret = vdpa_mig_put_record(w, VDPA_MIG_REC_NET, VDPA_MIG_REC_F_MANDATORY,
				  &rec, sizeof(rec));
	if (ret)
		goto out_free;

	tbl->n_uni = cpu_to_le32(f->n_uni);
	tbl->n_multi = cpu_to_le32(f->n_multi);
	for (i = 0; i < f->n_uni; i++)
		ether_addr_copy(tbl->mac[i], f->uni[i]);
	for (i = 0; i < f->n_multi; i++)
		ether_addr_copy(tbl->mac[f->n_uni + i], f->multi[i]);
	n = f->n_uni + f->n_multi;
	ret = vdpa_mig_put_record(w, VDPA_MIG_REC_NET_MAC_TABLE,
				  VDPA_MIG_REC_F_MANDATORY, tbl,
				  struct_size(tbl, mac, n));
	if (ret)
		goto out_free;

	for_each_set_bit(i, f->vlans, VLAN_N_VID)
		le64_add_cpu(&vlan->bitmap[i / 64], BIT_ULL(i % 64));
	ret = vdpa_mig_put_record(w, VDPA_MIG_REC_NET_VLAN,
				  VDPA_MIG_REC_F_MANDATORY, vlan, sizeof(*vlan));
out_free:
	kfree(vlan);
	kfree(tbl);
	kfree(f);
	return ret;
}

static int vdpa_gen_net_load_net(struct vdpa_gen_net *net,
				 const struct vdpa_mig_rec_net *rec, u32 len,
				 bool commit)
{
	struct virtio_net_config *cfg = vdpa_gen_net_config(net);
	u32 rx = le32_to_cpu(rec->rx_mode), pairs = le32_to_cpu(rec->mq_pairs);
	u32 known = 0, i;

	for (i = 0; i < ARRAY_SIZE(vdpa_gen_net_rx_bits); i++)
		known |= vdpa_gen_net_rx_bits[i].bit;
	if (len < sizeof(*rec) || (rx & ~known) || !pairs ||
	    pairs > net->max_vqp || !is_valid_ether_addr(rec->mac) ||
	    rec->mac[6] || rec->mac[7] || rec->reserved)
		return -EINVAL;
	if (!commit)
		return 0;

	spin_lock(&net->lock);
	for (i = 0; i < ARRAY_SIZE(vdpa_gen_net_rx_bits); i++)
		*vdpa_gen_net_rx_flag(&net->filter, i) =
			rx & vdpa_gen_net_rx_bits[i].bit;
	ether_addr_copy(net->filter.mac, rec->mac);
	net->pairs = pairs;
	spin_unlock(&net->lock);
	spin_lock(&net->gdev.cfg_lock);
	ether_addr_copy(cfg->mac, rec->mac);
	spin_unlock(&net->gdev.cfg_lock);
	return 0;
}

static int vdpa_gen_net_load_table(struct vdpa_gen_net *net,
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
	if (!commit)
		return 0;

	spin_lock(&net->lock);
	for (i = 0; i < nu; i++)
		ether_addr_copy(net->filter.uni[i], tbl->mac[i]);
	for (i = 0; i < nm; i++)
		ether_addr_copy(net->filter.multi[i], tbl->mac[nu + i]);
	net->filter.n_uni = nu;
	net->filter.n_multi = nm;
	spin_unlock(&net->lock);
	return 0;
}

static int vdpa_gen_net_load_vlan(struct vdpa_gen_net *net,
				  const struct vdpa_mig_rec_net_vlan *vlan,
				  u32 len, bool commit)
{
	u32 i;

	if (len < sizeof(*vlan))
		return -EINVAL;
	if (!commit)
		return 0;
	spin_lock(&net->lock);
	for (i = 0; i < VLAN_N_VID; i++)
		assign_bit(i, net->filter.vlans,
			   le64_to_cpu(vlan->bitmap[i / 64]) & BIT_ULL(i % 64));
	spin_unlock(&net->lock);
	return 0;
}

static int vdpa_gen_net_load_record(struct vdpa_gen_dev *gdev, u32 type,
				    const void *data, u32 len, bool commit)
{
	struct vdpa_gen_net *net = gdev_to_net(gdev);

	switch (type) {
	case VDPA_MIG_REC_NET:
		return vdpa_gen_net_load_net(net, data, len, commit);
	case VDPA_MIG_REC_NET_MAC_TABLE:
		return vdpa_gen_net_load_table(net, data, len, commit);
	case VDPA_MIG_REC_NET_VLAN:
		return vdpa_gen_net_load_vlan(net, data, len, commit);
	}
	return -EOPNOTSUPP;
}

static const struct vdpa_gen_type vdpa_gen_net_type = {
	.device_id = VIRTIO_ID_NET,
	.features = VDPA_GEN_NET_FEATURES,
	.config_size = sizeof(struct virtio_net_config),
	.ngroups = 2,
	.nas = 2,
	.get_vq_group = vdpa_gen_net_get_vq_group,
	.handle_vq = vdpa_gen_net_handle_vq,
	.set_features = vdpa_gen_net_set_features,
	.reset = vdpa_gen_net_reset,
	.release = vdpa_gen_net_release,
	.state_size = vdpa_gen_net_state_size,
	.save_state = vdpa_gen_net_save_state,
	.load_record = vdpa_gen_net_load_record,
};

/* ---- sysfs: counters ------------------------------------------------------ */

static ssize_t vdpa_gen_net_stat_show(struct device *d,
				      struct device_attribute *attr, char *buf)
{
	struct vdpa_gen_net *net = gdev_to_net(vdpa_to_gen(dev_to_vdpa(d)));
	struct dev_ext_attribute *ea;

	ea = container_of(attr, struct dev_ext_attribute, attr);
	return sysfs_emit(buf, "%lld\n",
			  atomic64_read(&net->stats[(uintptr_t)ea->var]));
}

static struct dev_ext_attribute vdpa_gen_net_stat_ext[] = {
	{ __ATTR(rx_packets, 0444, vdpa_gen_net_stat_show, NULL),
	  (void *)VDPA_GEN_NET_RX_PACKETS },
	{ __ATTR(rx_bytes, 0444, vdpa_gen_net_stat_show, NULL),
	  (void *)VDPA_GEN_NET_RX_BYTES },
	{ __ATTR(rx_dropped, 0444, vdpa_gen_net_stat_show, NULL),
	  (void *)VDPA_GEN_NET_RX_DROPPED },
	{ __ATTR(tx_packets, 0444, vdpa_gen_net_stat_show, NULL),
	  (void *)VDPA_GEN_NET_TX_PACKETS },
	{ __ATTR(tx_bytes, 0444, vdpa_gen_net_stat_show, NULL),
	  (void *)VDPA_GEN_NET_TX_BYTES },
	{ __ATTR(tx_dropped, 0444, vdpa_gen_net_stat_show, NULL),
	  (void *)VDPA_GEN_NET_TX_DROPPED },
};

static struct attribute *vdpa_gen_net_stat_attrs[] = {
	&vdpa_gen_net_stat_ext[0].attr.attr,
	&vdpa_gen_net_stat_ext[1].attr.attr,
	&vdpa_gen_net_stat_ext[2].attr.attr,
	&vdpa_gen_net_stat_ext[3].attr.attr,
	&vdpa_gen_net_stat_ext[4].attr.attr,
	&vdpa_gen_net_stat_ext[5].attr.attr,
	NULL
};

static const struct attribute_group vdpa_gen_net_stat_group = {
	.name = "stats",
	.attrs = vdpa_gen_net_stat_attrs,
};

static const struct attribute_group *vdpa_gen_net_groups[] = {
	&vdpa_gen_net_stat_group,
	NULL
};

/* ---- management device ---------------------------------------------------- */

static struct device *vdpa_gen_net_root;

static int vdpa_gen_net_parse(const struct vdpa_dev_set_config *config,
			      u8 *mac, u16 *mtu, u16 *max_vqp, u64 *features)
{
	*features = VDPA_GEN_NET_FEATURES;
	if (config->mask & BIT_ULL(VDPA_ATTR_DEV_FEATURES)) {
		u64 want = config->device_features;

		if (want & ~(VDPA_GEN_NET_FEATURES | VDPA_GEN_CORE_FEATURES) ||
		    (want & VDPA_GEN_NET_REQUIRED) != VDPA_GEN_NET_REQUIRED)
			return -EINVAL;
		*features &= want;
	}

	if (config->mask & BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MACADDR)) {
		if (!is_valid_ether_addr(config->net.mac))
			return -EINVAL;
		ether_addr_copy(mac, config->net.mac);
	} else {
		eth_random_addr(mac);
	}

	*mtu = ETH_DATA_LEN;
	if (config->mask & BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MTU)) {
		*mtu = config->net.mtu;
		if (*mtu < VDPA_GEN_NET_MTU_MIN || *mtu > VDPA_GEN_NET_MTU_MAX)
			return -EINVAL;
	}

	*max_vqp = 1;
	if (config->mask & BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MAX_VQP)) {
		*max_vqp = config->net.max_vq_pairs;
		if (!*max_vqp || *max_vqp > VDPA_GEN_NET_MAX_VQP)
			return -EINVAL;
		if (*max_vqp > 1 && !(*features & BIT_ULL(VIRTIO_NET_F_MQ)))
			return -EINVAL;
	}
	return 0;
}

static void vdpa_gen_net_fill_config(struct vdpa_gen_net *net, const u8 *mac)
{
	struct virtio_net_config *cfg = vdpa_gen_net_config(net);

	ether_addr_copy(cfg->mac, mac);
	cfg->status = __cpu_to_virtio16(true, VIRTIO_NET_S_LINK_UP);
	cfg->max_virtqueue_pairs = __cpu_to_virtio16(true, net->max_vqp);
	cfg->mtu = __cpu_to_virtio16(true, net->mtu);
	cfg->speed = cpu_to_le32(SPEED_UNKNOWN);
	cfg->duplex = DUPLEX_FULL;
}

static int vdpa_gen_net_dev_add(struct vdpa_mgmt_dev *mdev, const char *name,
				const struct vdpa_dev_set_config *config)
{
	struct vdpa_gen_dev *gdev;
	struct vdpa_gen_net *net;
	u16 mtu, max_vqp, i;
	u8 mac[ETH_ALEN];
	u64 features;
	int ret;

	ret = vdpa_gen_net_parse(config, mac, &mtu, &max_vqp, &features);
	if (ret)
		return ret;

	gdev = vdpa_gen_create(&vdpa_gen_net_type, mdev->device, name,
			       sizeof(*net), 2 * max_vqp + 1);
	if (IS_ERR(gdev))
		return PTR_ERR(gdev);

	net = gdev_to_net(gdev);
	net->max_vqp = max_vqp;
	net->mtu = mtu;
	net->frame_max = VLAN_ETH_HLEN + mtu;
	spin_lock_init(&net->lock);
	gdev->device_features = VDPA_GEN_CORE_FEATURES | features;
	vdpa_gen_net_fill_config(net, mac);
	vdpa_gen_net_reset_filter(net);

	ret = -ENOMEM;
	net->txbuf = kcalloc(max_vqp, sizeof(*net->txbuf), GFP_KERNEL);
	if (!net->txbuf)
		goto err_put;
	for (i = 0; i < max_vqp; i++) {
		net->txbuf[i] = kmalloc(net->frame_max, GFP_KERNEL);
		if (!net->txbuf[i])
			goto err_put;
	}

	net->port.ops = &vdpa_gen_net_port_ops;
	INIT_LIST_HEAD(&net->port.node);
	gdev->vdpa.mdev = mdev;
	gdev->vdpa.dev.groups = vdpa_gen_net_groups;
	ret = _vdpa_register_device(&gdev->vdpa, gdev->nvqs);
	if (ret)
		goto err_put;

	vdpa_gen_switch_attach(&vdpa_gen_net_switch, &net->port);
	return 0;

err_put:
	put_device(&gdev->vdpa.dev);
	return ret;
}

static void vdpa_gen_net_dev_del(struct vdpa_mgmt_dev *mdev,
				 struct vdpa_device *vdpa)
{
	struct vdpa_gen_net *net = gdev_to_net(vdpa_to_gen(vdpa));

	vdpa_gen_switch_detach(&vdpa_gen_net_switch, &net->port);
	_vdpa_unregister_device(vdpa);
}

static const struct vdpa_mgmtdev_ops vdpa_gen_net_mgmt_ops = {
	.dev_add = vdpa_gen_net_dev_add,
	.dev_del = vdpa_gen_net_dev_del,
};

static struct virtio_device_id vdpa_gen_net_ids[] = {
	{ VIRTIO_ID_NET, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static struct vdpa_mgmt_dev vdpa_gen_net_mgmt = {
	.id_table = vdpa_gen_net_ids,
	.ops = &vdpa_gen_net_mgmt_ops,
	.config_attr_mask = BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MACADDR) |
			    BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MTU) |
			    BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MAX_VQP) |
			    BIT_ULL(VDPA_ATTR_DEV_FEATURES),
	.max_supported_vqs = 2 * VDPA_GEN_NET_MAX_VQP + 1,
	.supported_features = VDPA_GEN_CORE_FEATURES | VDPA_GEN_NET_FEATURES,
};

static int __init vdpa_gen_net_init(void)
{
	int ret;

	vdpa_gen_switch_init(&vdpa_gen_net_switch);
	vdpa_gen_net_root = root_device_register("vdpagen_net");
	if (IS_ERR(vdpa_gen_net_root))
		return PTR_ERR(vdpa_gen_net_root);

	vdpa_gen_net_mgmt.device = vdpa_gen_net_root;
	ret = vdpa_mgmtdev_register(&vdpa_gen_net_mgmt);
	if (ret)
		goto err_unregister_root;
	return 0;

err_unregister_root:
	root_device_unregister(vdpa_gen_net_root);
	return ret;
}

static void __exit vdpa_gen_net_exit(void)
{
	vdpa_mgmtdev_unregister(&vdpa_gen_net_mgmt);
	root_device_unregister(vdpa_gen_net_root);
	vdpa_gen_switch_destroy(&vdpa_gen_net_switch);
}

module_init(vdpa_gen_net_init);
module_exit(vdpa_gen_net_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Generic vDPA device: virtio-net with a software switch");

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
#include "net_ctrl.h"

#define VDPA_GEN_NET_MAX_VQP	16
#define VDPA_GEN_NET_MTU_MIN	ETH_MIN_MTU
#define VDPA_GEN_NET_MTU_MAX	9000
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
 * @mtu: MTU the device was created with
 * @frame_max: largest frame accepted from TX, VLAN tag included
 * @lock: protects @ctrl; taken inside vq locks
 * @ctrl: what the driver set through the control queue (RX filter, pairs)
 * @txbuf: one frame buffer per TX queue, used under that queue's lock
 * @stats: counters, indexed by enum vdpa_gen_net_stat
 */
struct vdpa_gen_net {
	struct vdpa_gen_dev gdev;
	struct vdpa_gen_sw_port port;
	u16 max_vqp;
	u16 mtu;
	unsigned int frame_max;
	spinlock_t lock; /* @ctrl */
	struct vdpa_gen_net_ctrl ctrl;
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
	accept = vdpa_gen_net_ctrl_accept(&net->ctrl,
					  vdpa_gen_has_feature(&net->gdev,
							       VIRTIO_NET_F_CTRL_VLAN),
					  frame, len);
	pairs = net->ctrl.pairs;
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

/*
 * The command (the chain's device-readable part) is copied out whole, then
 * executed on the state under the lock.
 */
static u8 vdpa_gen_net_ctrl_cmd(struct vdpa_gen_net *net,
				struct vdpa_gen_vq *vq)
{
	struct virtio_net_config *cfg = vdpa_gen_net_config(net);
	size_t len = vringh_kiov_length(&vq->riov);
	u8 *cmd, ack = VIRTIO_NET_ERR;

	if (len > VDPA_GEN_NET_CTRL_CMD_MAX)
		return VIRTIO_NET_ERR;
	cmd = kmalloc(len ?: 1, GFP_KERNEL);
	if (!cmd)
		return VIRTIO_NET_ERR;
	if (vdpa_gen_vq_pull(vq, cmd, len) != len)
		goto out_free;
	spin_lock(&net->lock);
	ack = vdpa_gen_net_ctrl_apply(&net->ctrl, net->gdev.features,
				      net->max_vqp, cmd, len);
	spin_unlock(&net->lock);
	/* The config space shows the address the driver set. */
	if (ack == VIRTIO_NET_OK && cmd[0] == VIRTIO_NET_CTRL_MAC &&
	    cmd[1] == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
		spin_lock(&net->gdev.cfg_lock);
		ether_addr_copy(cfg->mac, cmd + 2);
		spin_unlock(&net->gdev.cfg_lock);
	}
out_free:
	kfree(cmd);
	return ack;
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

	spin_lock(&net->lock);
	vdpa_gen_net_ctrl_reset(&net->ctrl, cfg->mac);
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

static size_t vdpa_gen_net_state_size(struct vdpa_gen_dev *gdev)
{
	return vdpa_gen_net_ctrl_state_size();
}

/* Called while the device is suspended: the state only changes from CVQ. */
static int vdpa_gen_net_save_state(struct vdpa_gen_dev *gdev,
				   struct vdpa_mig_writer *w)
{
	struct vdpa_gen_net *net = gdev_to_net(gdev);
	struct vdpa_gen_net_ctrl *c;
	int ret;

	c = kmalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	spin_lock(&net->lock);
	memcpy(c, &net->ctrl, sizeof(*c));
	spin_unlock(&net->lock);
	ret = vdpa_gen_net_ctrl_save(c, w);
	kfree(c);
	return ret;
}

static int vdpa_gen_net_load_record(struct vdpa_gen_dev *gdev, u32 type,
				    const void *data, u32 len, bool commit)
{
	struct vdpa_gen_net *net = gdev_to_net(gdev);
	struct virtio_net_config *cfg = vdpa_gen_net_config(net);
	u8 mac[ETH_ALEN];
	int ret;

	/*
	 * This device offers no guest offloads: a driver that switched them
	 * (the record exists only then) cannot move in.
	 */
	if (type == VDPA_MIG_REC_NET_OFFLOADS)
		return -EOPNOTSUPP;
	spin_lock(&net->lock);
	ret = vdpa_gen_net_ctrl_load(&net->ctrl, net->max_vqp, type, data, len,
				     commit);
	ether_addr_copy(mac, net->ctrl.mac);
	spin_unlock(&net->lock);
	if (!ret && commit && type == VDPA_MIG_REC_NET) {
		spin_lock(&net->gdev.cfg_lock);
		ether_addr_copy(cfg->mac, mac);
		spin_unlock(&net->gdev.cfg_lock);
	}
	return ret;
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

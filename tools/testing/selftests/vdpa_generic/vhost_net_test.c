// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_net_test - drive two vdpa net devices through vhost-vdpa from
 * userspace and pass Ethernet frames between them.
 *
 * Device A sends from its TX queue (1); the frames must arrive intact, once
 * each, on the RX queue (0) of device B. vdpagen_net devices are ports of
 * one L2 switch, so B receives what A sends to B's MAC or to broadcast. The
 * kernel's vdpasim_net loops a device's TX back to its own RX instead; with
 * it the receiver is A itself and B is only a bystander.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "kselftest_harness.h"
#include "vhost_test.h"

#include "vhost_net_lib.h"

FIXTURE(vhost_net) {
	const char *mgmtdev;
	bool loopback;
	bool strict;
	bool mig;	/* through vdpa_migrate rather than vhost_vdpa */
	struct net_port port[2];
};

/* Every test runs through both bus drivers. */
FIXTURE_VARIANT(vhost_net) {
	const char *driver;
};

FIXTURE_VARIANT_ADD(vhost_net, vhost_vdpa) {
	.driver = VHT_DRV_KERNEL,
};

FIXTURE_VARIANT_ADD(vhost_net, vdpa_migrate) {
	.driver = VHT_DRV_MIG,
};

FIXTURE_SETUP(vhost_net)
{
	char extra[64];
	int i;

	self->mgmtdev = vht_mgmtdev("VDPA_NET_MGMTDEV", "vdpagen_net");
	self->loopback = !strncmp(self->mgmtdev, "vdpasim", 7);
	self->strict = vht_strict(self->mgmtdev);
	for (i = 0; i < 2; i++)
		self->port[i].dev.fd = -1;
	if (!vhc_mgmtdev_present(self->mgmtdev))
		SKIP(return, "vdpa mgmtdev %s not present", self->mgmtdev);
	if (!vhc_driver_present(variant->driver))
		SKIP(return, "vdpa driver %s not loaded", variant->driver);
	ASSERT_EQ(0, vhc_use(variant->driver));
	self->mig = !strcmp(variant->driver, VHT_DRV_MIG);

	for (i = 0; i < 2; i++) {
		struct net_port *p = &self->port[i];
		__u8 cfg[6];

		vht_dev_name(p->name, sizeof(p->name), "vhn", 'a' + i);
		memset(p->mac, 0, sizeof(p->mac));
		p->mac[0] = 0x02;
		p->mac[5] = 0x0a + i;
		p->peer = self->loopback ? p : &self->port[!i];
		snprintf(extra, sizeof(extra), "mac 02:00:00:00:00:%02x",
			 0x0a + i);
		ASSERT_EQ(0, vhc_vdpa_add(self->mgmtdev, p->name, extra));
		p->created = true;
		ASSERT_LE(0, vhc_bind(p->name));
		ASSERT_EQ(0, vhc_open(&p->dev, p->name));
		ASSERT_EQ(VIRTIO_ID_NET, (int)p->dev.device_id);
		ASSERT_LE(3u, p->dev.nvqs);
		ASSERT_LE(NET_RING, p->dev.vq_num_max);
		ASSERT_EQ(0, vhc_get_config(&p->dev, 0, cfg, sizeof(cfg)));
		ASSERT_EQ(0, memcmp(cfg, p->mac, 6));
		ASSERT_EQ(0, vhc_mem_init(&p->dev, NET_MEM_SIZE));
	}
}

FIXTURE_TEARDOWN(vhost_net)
{
	int i;

	for (i = 0; i < 2; i++) {
		vhc_close(&self->port[i].dev);
		if (self->port[i].created)
			vhc_vdpa_del(self->port[i].name);
	}
}

/* The control-path basics every other test relies on. */
TEST_F(vhost_net, negotiate)
{
	struct vhc_dev *d = &self->port[0].dev;
	__u8 status;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	TH_LOG("%s: features %#llx, %u vqs, max ring %u, config %u bytes",
	       self->mgmtdev, (unsigned long long)d->device_features,
	       d->nvqs, d->vq_num_max, d->config_size);
	ASSERT_TRUE(!!(d->device_features & BIT_ULL(VIRTIO_F_VERSION_1)));
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
	ASSERT_EQ(0, vhc_get_status(d, &status));
	EXPECT_EQ(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		  VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK,
		  status);
	/* Features are frozen once FEATURES_OK is set. */
	EXPECT_ERRNO(EBUSY, vhc_set_features(d, d->features));
	/* Status bits cannot be cleared except by a reset. */
	EXPECT_ERRNO(EINVAL, vhc_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE));
}

TEST_F(vhost_net, unicast)
{
	struct net_port *a = &self->port[0], *b = a->peer;
	struct net_rx_stats st;
	unsigned int tx_done;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
	ASSERT_EQ(0, net_start(&self->port[1], NET_RING));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);

	/* And back, so both directions and both TX queues are covered. */
	if (!self->loopback) {
		net_xfer(_metadata, b, a, a->mac, NET_WAIT_MS, &st, &tx_done);
		net_expect_all(_metadata, &st, tx_done);
	}
}

TEST_F(vhost_net, broadcast)
{
	struct net_port *a = &self->port[0], *b = a->peer;
	struct net_rx_stats st;
	unsigned int tx_done;
	__u32 id, len;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
	ASSERT_EQ(0, net_start(&self->port[1], NET_RING));
	net_xfer(_metadata, a, b, net_bcast, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);

	/* A switch never floods a frame back out of its ingress port. */
	if (!self->loopback)
		EXPECT_ERRNO(ETIMEDOUT, vhc_vq_wait_used(&a->dev.vqs[NET_RX_Q],
							 &id, &len, 200));
}

TEST_F(vhost_net, ring_num_not_pow2)
{
	struct vhc_dev *d = &self->port[0].dev;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	ASSERT_EQ(0, vhc_mem_map(d));
	ASSERT_EQ(0, vhc_negotiate(d, NET_FEATURES));
	EXPECT_ERRNO(EINVAL, vhc_vq_setup(d, NET_RX_Q, 100));
	EXPECT_ERRNO(EINVAL, vhc_vq_setup(d, NET_RX_Q, NET_RING - 1));
	/* A rejected size leaves the device usable. */
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
	EXPECT_FALSE(net_needs_reset(d));
}

TEST_F(vhost_net, ring_num_too_large)
{
	struct net_port *a = &self->port[0], *b = a->peer;
	struct vhc_dev *d = &a->dev;
	unsigned int num = d->vq_num_max * 2u;
	struct net_rx_stats st;
	unsigned int tx_done;
	bool bad;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	if (num > 32768)
		SKIP(return, "device allows the largest ring vhost accepts");

	ASSERT_EQ(0, vhc_mem_map(d));
	ASSERT_EQ(0, vhc_negotiate(d, NET_FEATURES));
	if (self->mig) {
		/* vdpa_migrate itself refuses more than GET_VRING_NUM. */
		EXPECT_ERRNO(EINVAL, vhc_vq_setup(d, NET_RX_Q, num));
	} else {
		/* vhost_vdpa forwards any power of two; the device refuses. */
		ASSERT_EQ(0, vhc_vq_setup(d, NET_RX_Q, num));
		ASSERT_EQ(0, vhc_vq_setup(d, NET_TX_Q, num));
		ASSERT_EQ(0, vhc_driver_ok(d));
		bad = net_needs_reset(d);
		if (self->strict) {
			EXPECT_TRUE(bad);
		} else {
			TH_LOG("%s: ring of %u > max %u: NEEDS_RESET %s",
			       self->mgmtdev, num, d->vq_num_max,
			       bad ? "set" : "not set");
		}
	}

	/* Reset brings it back. */
	ASSERT_EQ(0, net_start(a, NET_RING));
	if (b != a)
		ASSERT_EQ(0, net_start(b, NET_RING));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

TEST_F(vhost_net, iotlb_size_zero)
{
	struct vhc_dev *d = &self->port[0].dev;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	EXPECT_ERRNO(EINVAL, vhc_iotlb_update(d, d->mem_iova, 0, d->mem,
					      VHOST_ACCESS_RW));
	ASSERT_EQ(0, vhc_iotlb_batch(d, true));
	EXPECT_ERRNO(EINVAL, vhc_iotlb_update(d, d->mem_iova, 0, d->mem,
					      VHOST_ACCESS_RW));
	ASSERT_EQ(0, vhc_iotlb_batch(d, false));
	/*
	 * Overlapping an existing mapping is refused too. vhost's write()
	 * reports every handler error as EFAULT, whatever the cause.
	 */
	ASSERT_EQ(0, vhc_mem_map(d));
	EXPECT_ERRNO(EFAULT, vhc_iotlb_update(d, d->mem_iova, 4096, d->mem,
					      VHOST_ACCESS_RW));
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
}

TEST_F(vhost_net, features_unknown)
{
	struct vhc_dev *d = &self->port[0].dev;
	__u64 unknown = 0;
	int bit, ret;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	for (bit = 63; bit >= 0 && !unknown; bit--)
		if (!(d->device_features & BIT_ULL(bit)))
			unknown = 1ULL << bit;
	ASSERT_NE(0ULL, unknown);

	ASSERT_EQ(0, vhc_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE));
	ASSERT_EQ(0, vhc_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				    VIRTIO_CONFIG_S_DRIVER));
	ret = vhc_set_features(d, (d->device_features & NET_FEATURES) |
			       unknown);
	if (self->strict) {
		EXPECT_ERRNO(EINVAL, ret);
	} else {
		TH_LOG("%s: SET_FEATURES with bit %d: %d", self->mgmtdev,
		       __builtin_ctzll(unknown), ret);
	}
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
	EXPECT_FALSE(!!(d->features & unknown));
}

TEST_F(vhost_net, config_out_of_range)
{
	struct vhc_dev *d = &self->port[0].dev;
	__u8 buf[8];

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	ASSERT_LE(6u, d->config_size);
	EXPECT_ERRNO(EINVAL, vhc_get_config(d, d->config_size + 1, buf, 1));
	EXPECT_ERRNO(EINVAL, vhc_get_config(d, 0x10000, buf, 1));
	EXPECT_ERRNO(EINVAL, vhc_get_config(d, 0, buf, 0));
	/* Running off the end: validate() says E2BIG, the ioctl EINVAL. */
	EXPECT_ERRNO(EINVAL, vhc_get_config(d, d->config_size - 1, buf, 2));
	EXPECT_EQ(0, vhc_get_config(d, d->config_size - 1, buf, 1));
}

TEST_F(vhost_net, desc_out_of_bounds)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct net_rx_stats st;
	unsigned int tx_done;
	__u64 hole;
	bool bad;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	ASSERT_EQ(0, net_start(a, NET_RING));
	ASSERT_EQ(0, net_start(b, NET_RING));

	/* A TX buffer just past the end of A's guest memory. */
	hole = a->dev.mem_iova + a->dev.mem_size;
	ASSERT_LE(0, vhc_vq_add_raw(&a->dev.vqs[NET_TX_Q], hole, 64, false));
	ASSERT_EQ(0, vhc_vq_kick(&a->dev.vqs[NET_TX_Q]));
	bad = net_wait_needs_reset(&a->dev, self->strict ? 5000 : 500);
	if (self->strict) {
		EXPECT_TRUE(bad);
	} else {
		TH_LOG("%s: unmapped descriptor: NEEDS_RESET %s",
		       self->mgmtdev, bad ? "set" : "not set");
	}

	/* B is not disturbed: its frames go out (and loop back on vdpasim). */
	net_xfer(_metadata, b, b->peer, b->peer->mac,
		 self->loopback ? NET_WAIT_MS : 1000, &st, &tx_done);
	EXPECT_EQ(NET_FRAMES, tx_done);
	if (self->loopback)
		net_expect_all(_metadata, &st, tx_done);

	/* A recovers through a reset, and traffic flows again. */
	ASSERT_EQ(0, net_start(a, NET_RING));
	EXPECT_FALSE(net_needs_reset(&a->dev));
	net_xfer(_metadata, a->peer, a, a->mac, NET_WAIT_MS, &st,
		 &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

/*
 * A TX chain whose last descriptor points back at its head: the device must
 * notice the loop, flag NEEDS_RESET and leave the other port working.
 */
TEST_F(vhost_net, desc_loop)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct vhc_vq *tx = &a->dev.vqs[NET_TX_Q];
	struct net_rx_stats st;
	struct vhc_buf out[2];
	unsigned int tx_done;
	int head, second;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	ASSERT_EQ(0, net_start(a, NET_RING));
	ASSERT_EQ(0, net_start(b, NET_RING));

	out[0].addr = vhc_alloc(&a->dev, 64, 16);
	out[1].addr = vhc_alloc(&a->dev, 64, 16);
	ASSERT_NE(NULL, out[0].addr);
	ASSERT_NE(NULL, out[1].addr);
	out[0].len = 12;
	out[1].len = 64;
	head = vhc_vq_add(tx, out, 2, NULL, 0);
	ASSERT_LE(0, head);
	/* Close the chain into a ring before the device looks at it. */
	second = le16toh(tx->desc[head].next);
	tx->desc[second].flags = htole16(VRING_DESC_F_NEXT);
	tx->desc[second].next = htole16(head);
	ASSERT_EQ(0, vhc_vq_kick(tx));
	if (self->strict)
		EXPECT_TRUE(net_wait_needs_reset(&a->dev, 5000));

	net_xfer(_metadata, b, b->peer, b->peer->mac,
		 self->loopback ? NET_WAIT_MS : 1000, &st, &tx_done);
	EXPECT_EQ(NET_FRAMES, tx_done);

	ASSERT_EQ(0, net_start(a, NET_RING));
	EXPECT_FALSE(net_needs_reset(&a->dev));
	net_xfer(_metadata, a->peer, a, a->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

/*
 * Characterisation, not a requirement: does the device still translate
 * through the mapping vhost-vdpa kept across a reset? 6.1 has no way for
 * userspace to ask (IOTLB_PERSIST came later), so clients remap; this only
 * reports what the parent does.
 */
TEST_F(vhost_net, reset_keeps_iotlb)
{
	struct net_port *a = &self->port[0];
	struct vhc_dev *d = &a->dev;
	struct net_rx_stats st;
	unsigned int tx_done;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	if (!self->loopback)
		SKIP(return, "needs a looping device");
	ASSERT_EQ(0, net_start(a, NET_RING));
	ASSERT_EQ(0, vhc_reset(d));
	ASSERT_TRUE(d->mem_mapped);
	d->mem_used = 2 * (size_t)NET_RING * NET_BUF_SIZE;
	ASSERT_EQ(0, vhc_negotiate(d, NET_FEATURES));
	ASSERT_EQ(0, vhc_vq_setup(d, NET_RX_Q, NET_RING));
	ASSERT_EQ(0, vhc_vq_setup(d, NET_TX_Q, NET_RING));
	ASSERT_EQ(0, vhc_driver_ok(d));
	ASSERT_EQ(0, net_fill_rx(a));
	net_xfer(_metadata, a, a, a->mac, 1000, &st, &tx_done);
	TH_LOG("%s: after reset without remap: %u sent, %u received",
	       self->mgmtdev, tx_done, st.frames);
}

/* --- uAPI edge cases; "mig only" where vhost_vdpa (6.1) differs --- */

/* Only one user at a time; the node is named after the driver. */
TEST_F(vhost_net, exclusive_open)
{
	struct vhc_dev *d = &self->port[0].dev;
	char path[64], other[PATH_MAX];
	int fd;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	vhc_node_path(path, sizeof(path), d->minor);
	fd = open(path, O_RDWR);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EBUSY, errno);
	if (fd >= 0)
		close(fd);
	if (self->mig) {
		/* No vhost-vdpa-N beside vdpa-mig-N for the same device. */
		snprintf(other, sizeof(other),
			 "/sys/bus/vdpa/devices/%s/vdpa-mig-%d",
			 self->port[0].name, d->minor);
		EXPECT_EQ(0, access(other, F_OK));
		EXPECT_EQ(0, access(path, F_OK));
	}
}

TEST_F(vhost_net, vring_index_bad)
{
	struct vhc_dev *d = &self->port[0].dev;
	struct vhost_vring_state s = { .index = d->nvqs, .num = NET_RING };
	struct vhost_vring_file f = { .index = d->nvqs, .fd = -1 };
	struct vhost_vring_addr a = { .index = d->nvqs };

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	EXPECT_ERRNO(ENOBUFS, vht_ioctl(d, VHOST_SET_VRING_NUM, &s));
	EXPECT_ERRNO(ENOBUFS, vht_ioctl(d, VHOST_SET_VRING_BASE, &s));
	EXPECT_ERRNO(ENOBUFS, vht_ioctl(d, VHOST_GET_VRING_BASE, &s));
	EXPECT_ERRNO(ENOBUFS, vht_ioctl(d, VHOST_VDPA_SET_VRING_ENABLE, &s));
	EXPECT_ERRNO(ENOBUFS, vht_ioctl(d, VHOST_VDPA_GET_VRING_GROUP, &s));
	EXPECT_ERRNO(ENOBUFS, vht_ioctl(d, VHOST_SET_VRING_KICK, &f));
	EXPECT_ERRNO(ENOBUFS, vht_ioctl(d, VHOST_SET_VRING_CALL, &f));
	EXPECT_ERRNO(ENOBUFS, vht_ioctl(d, VHOST_SET_VRING_ADDR, &a));
	s.index = ~0u;
	EXPECT_ERRNO(ENOBUFS, vht_ioctl(d, VHOST_SET_VRING_NUM, &s));
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
}

/* mig only: ring size limits and a running ring are enforced up front. */
TEST_F(vhost_net, vring_num_bounds)
{
	struct net_port *a = &self->port[0], *b = a->peer;
	struct vhc_dev *d = &a->dev;
	struct vhost_vring_state s = { .index = NET_TX_Q };
	struct vhost_vring_addr addr = { .index = NET_TX_Q };
	struct net_rx_stats st;
	unsigned int tx_done;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	if (!self->mig)
		SKIP(return, "vhost_vdpa leaves ring limits to the device");
	ASSERT_EQ(0, vhc_mem_map(d));
	ASSERT_EQ(0, vhc_negotiate(d, NET_FEATURES));
	s.num = d->vq_num_max * 2u;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VHOST_SET_VRING_NUM, &s));
	s.num = 0;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VHOST_SET_VRING_NUM, &s));
	s.num = 3;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VHOST_SET_VRING_NUM, &s));
	s.num = 2;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VHOST_VDPA_SET_VRING_ENABLE, &s));

	/* While the device runs, its rings cannot move. */
	ASSERT_EQ(0, net_start(a, NET_RING));
	if (b != a)
		ASSERT_EQ(0, net_start(b, NET_RING));
	s.num = NET_RING;
	EXPECT_ERRNO(EBUSY, vht_ioctl(d, VHOST_SET_VRING_NUM, &s));
	s.num = 0;
	EXPECT_ERRNO(EBUSY, vht_ioctl(d, VHOST_SET_VRING_BASE, &s));
	EXPECT_ERRNO(EBUSY, vht_ioctl(d, VHOST_SET_VRING_ADDR, &addr));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

TEST_F(vhost_net, group_asid_bounds)
{
	struct vhc_dev *d = &self->port[0].dev;
	struct vhost_vring_state s;
	__u32 ngroups = 0, nas = 0;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	ASSERT_EQ(0, vht_ioctl(d, VHOST_VDPA_GET_GROUP_NUM, &ngroups));
	ASSERT_EQ(0, vht_ioctl(d, VHOST_VDPA_GET_AS_NUM, &nas));
	ASSERT_LE(1u, ngroups);
	ASSERT_LE(1u, nas);
	s.index = NET_TX_Q;
	ASSERT_EQ(0, vht_ioctl(d, VHOST_VDPA_GET_VRING_GROUP, &s));
	EXPECT_GT(ngroups, s.num);

	s.index = ngroups;
	s.num = 0;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VHOST_VDPA_SET_GROUP_ASID, &s));
	s.index = 0;
	s.num = nas;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VHOST_VDPA_SET_GROUP_ASID, &s));
	s.num = 0;
	EXPECT_EQ(0, vht_ioctl(d, VHOST_VDPA_SET_GROUP_ASID, &s));
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
}

TEST_F(vhost_net, iotlb_outside_range)
{
	struct vhc_dev *d = &self->port[0].dev;
	__u64 end = d->iova_last + 1;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	if (!end)
		SKIP(return, "device accepts every IOVA");
	/* Past the end, straddling it, and wrapping around. */
	EXPECT_ERRNO(EFAULT, vhc_iotlb_update(d, end, 4096, d->mem,
					      VHOST_ACCESS_RW));
	EXPECT_ERRNO(EFAULT, vhc_iotlb_update(d, end - 4096, 8192, d->mem,
					      VHOST_ACCESS_RW));
	EXPECT_ERRNO(EFAULT, vhc_iotlb_update(d, ~0ULL - 4095, 8192, d->mem,
					      VHOST_ACCESS_RW));
	if (d->iova_first)
		EXPECT_ERRNO(EFAULT, vhc_iotlb_update(d, d->iova_first - 4096,
						      4096, d->mem,
						      VHOST_ACCESS_RW));
	if (self->mig) {
		/* Partial pages and meaningless permissions. */
		EXPECT_ERRNO(EFAULT, vhc_iotlb_update(d, d->mem_iova + 1, 4096,
						      d->mem, VHOST_ACCESS_RW));
		EXPECT_ERRNO(EFAULT, vhc_iotlb_update(d, d->mem_iova, 4096,
						      d->mem, 0));
	}
	/* Nothing of that was mapped: the whole window maps cleanly. */
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
}

TEST_F(vhost_net, backend_features_unknown)
{
	struct vhc_dev *d = &self->port[0].dev;
	__u64 bf = 0, set;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	ASSERT_EQ(0, vht_ioctl(d, VHOST_GET_BACKEND_FEATURES, &bf));
	set = bf | BIT_ULL(63);
	EXPECT_ERRNO(EOPNOTSUPP, vht_ioctl(d, VHOST_SET_BACKEND_FEATURES,
					   &set));
	if (self->mig) {
		EXPECT_TRUE(!!(bf & BIT_ULL(VHOST_BACKEND_F_IOTLB_ASID)));
		EXPECT_TRUE(!!(bf & BIT_ULL(VHOST_BACKEND_F_SUSPEND)));
		/* Our generic device publishes resume; vdpa_sim does not. */
		if (self->strict)
			EXPECT_TRUE(!!(bf & BIT_ULL(VHOST_BACKEND_F_RESUME)));
		if (!(bf & BIT_ULL(VHOST_BACKEND_F_RESUME)))
			EXPECT_ERRNO(EOPNOTSUPP, vht_ioctl(d, VHOST_VDPA_RESUME,
							   NULL));
	} else {
		/* 6.1's vhost_vdpa has no RESUME. */
		set = bf | BIT_ULL(VHOST_BACKEND_F_RESUME);
		EXPECT_ERRNO(EOPNOTSUPP, vht_ioctl(d, VHOST_SET_BACKEND_FEATURES,
						   &set));
	}
	EXPECT_EQ(0, vht_ioctl(d, VHOST_SET_BACKEND_FEATURES, &bf));
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
}

/* mig only: IOTLB messages for an address space the device lacks. */
TEST_F(vhost_net, iotlb_asid_bad)
{
	struct vhc_dev *d = &self->port[0].dev;
	struct vhost_msg_v2 msg;
	__u64 bf;
	__u32 nas = 0;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	if (!self->mig)
		SKIP(return, "checked for vdpa_migrate only");
	ASSERT_EQ(0, vht_ioctl(d, VHOST_VDPA_GET_AS_NUM, &nas));
	bf = d->backend_features | BIT_ULL(VHOST_BACKEND_F_IOTLB_ASID);
	ASSERT_EQ(0, vht_ioctl(d, VHOST_SET_BACKEND_FEATURES, &bf));
	memset(&msg, 0, sizeof(msg));
	msg.type = VHOST_IOTLB_MSG_V2;
	msg.asid = nas;
	msg.iotlb.type = VHOST_IOTLB_UPDATE;
	msg.iotlb.iova = d->mem_iova;
	msg.iotlb.size = 4096;
	msg.iotlb.uaddr = (__u64)(uintptr_t)d->mem;
	msg.iotlb.perm = VHOST_ACCESS_RW;
	EXPECT_EQ(-1, write(d->fd, &msg, sizeof(msg)));
	EXPECT_EQ(EFAULT, errno);
	/* A batch is bound to one address space. */
	msg.asid = 0;
	msg.iotlb.type = VHOST_IOTLB_BATCH_BEGIN;
	ASSERT_EQ((ssize_t)sizeof(msg), write(d->fd, &msg, sizeof(msg)));
	if (nas > 1) {
		msg.asid = 1;
		msg.iotlb.type = VHOST_IOTLB_UPDATE;
		EXPECT_EQ(-1, write(d->fd, &msg, sizeof(msg)));
		msg.asid = 0;
	}
	msg.iotlb.type = VHOST_IOTLB_BATCH_END;
	ASSERT_EQ((ssize_t)sizeof(msg), write(d->fd, &msg, sizeof(msg)));
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
}

/* mig only: the status byte moves forward, in order, or back to 0. */
TEST_F(vhost_net, status_transitions)
{
	struct vhc_dev *d = &self->port[0].dev;
	const __u8 ad = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	__u8 status;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	if (!self->mig)
		SKIP(return, "checked for vdpa_migrate only");
	ASSERT_EQ(0, vhc_set_status(d, ad));
	EXPECT_ERRNO(EINVAL, vhc_set_status(d, ad | VIRTIO_CONFIG_S_DRIVER_OK));
	EXPECT_ERRNO(EINVAL, vhc_set_status(d, ad |
					    VIRTIO_CONFIG_S_NEEDS_RESET));
	EXPECT_ERRNO(EINVAL, vhc_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE));
	ASSERT_EQ(0, vhc_get_status(d, &status));
	EXPECT_EQ(ad, status);
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
}

/*
 * SUSPEND stops the device where it is: frames queued meanwhile stay in
 * the ring, GET_VRING_BASE reports the stop point. RESUME (mig only)
 * continues and every frame arrives, once.
 */
TEST_F(vhost_net, suspend_resume)
{
	struct net_port *a = &self->port[0], *b = a->peer;
	struct vhost_vring_state s = { .index = NET_TX_Q };
	struct net_rx_stats st;
	unsigned int tx_done;
	__u64 bf = 0;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_GET_BACKEND_FEATURES, &bf));
	if (!(bf & BIT_ULL(VHOST_BACKEND_F_SUSPEND)))
		SKIP(return, "device cannot suspend");
	ASSERT_EQ(0, net_start(a, NET_RING));
	if (b != a)
		ASSERT_EQ(0, net_start(b, NET_RING));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);

	ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_VDPA_SUSPEND, NULL));
	net_send_all(_metadata, a, b->mac);
	net_collect(_metadata, a, b, b->mac, 300, &st, &tx_done);
	EXPECT_EQ(0u, tx_done);
	EXPECT_EQ(0u, st.frames);
	ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(NET_FRAMES, s.num);
	if (!(bf & BIT_ULL(VHOST_BACKEND_F_RESUME)))
		return;

	ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_VDPA_RESUME, NULL));
	net_collect(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	/* And it keeps running. */
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	EXPECT_ERRNO(EINVAL, vht_ioctl(&a->dev, VHOST_VDPA_RESUME, NULL));
}

/* mig only: RESUME needs a SUSPEND, and a reset forgets the SUSPEND. */
TEST_F(vhost_net, resume_without_suspend)
{
	struct vhc_dev *d = &self->port[0].dev;
	__u64 bf = 0;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	if (!self->mig)
		SKIP(return, "6.1's vhost_vdpa has no RESUME");
	ASSERT_EQ(0, vht_ioctl(d, VHOST_GET_BACKEND_FEATURES, &bf));
	if (!(bf & BIT_ULL(VHOST_BACKEND_F_RESUME)))
		SKIP(return, "device cannot resume");
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VHOST_VDPA_RESUME, NULL));
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VHOST_VDPA_RESUME, NULL));
	ASSERT_EQ(0, vht_ioctl(d, VHOST_VDPA_SUSPEND, NULL));
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VHOST_VDPA_RESUME, NULL));
}

/* A "VmLck:"/"VmPin:" line of /proc/self/status, in kB; -1 if absent. */
static long net_status_kb(const char *key)
{
	char line[256];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key))) {
			kb = strtol(line + strlen(key), NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* Memory charged for pinning: vhost_vdpa uses VmPin, vdpa_migrate VmLck. */
static long net_charged_kb(void)
{
	return net_status_kb("VmLck:") + net_status_kb("VmPin:");
}

/* Raise or drop CAP_IPC_LOCK in the effective set (it stays permitted). */
static int net_cap_ipc_lock(bool on)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct c[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, c))
		return -errno;
	if (on)
		c[0].effective |= 1u << CAP_IPC_LOCK;
	else
		c[0].effective &= ~(1u << CAP_IPC_LOCK);
	return syscall(SYS_capset, &h, c) ? -errno : 0;
}

/*
 * Mapped memory is pinned and charged to the process while it is mapped;
 * without CAP_IPC_LOCK, RLIMIT_MEMLOCK bounds it and a refused map leaves
 * nothing pinned or charged.
 */
TEST_F(vhost_net, iotlb_locked_memory)
{
	struct vhc_dev *d = &self->port[0].dev;
	struct rlimit old, small;
	long before;
	int ret;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	before = net_charged_kb();
	ASSERT_LE(0, before);
	ASSERT_EQ(0, vhc_mem_map(d));
	EXPECT_EQ(before + (long)(d->mem_size >> 10), net_charged_kb());
	ASSERT_EQ(0, vhc_mem_unmap(d));
	EXPECT_EQ(before, net_charged_kb());

	ASSERT_EQ(0, getrlimit(RLIMIT_MEMLOCK, &old));
	small = old;
	small.rlim_cur = 64 << 10;
	ASSERT_EQ(0, net_cap_ipc_lock(false));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &small));
	ret = vhc_mem_map(d);
	EXPECT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &old));
	ASSERT_EQ(0, net_cap_ipc_lock(true));
	EXPECT_ERRNO(EFAULT, ret);
	EXPECT_EQ(before, net_charged_kb());
	ASSERT_EQ(0, net_start(&self->port[0], NET_RING));
}

int main(int argc, char **argv)
{
	const char *mgmtdev = vht_mgmtdev("VDPA_NET_MGMTDEV", "vdpagen_net");

	/* Without the device there is nothing to run: skip as a whole. */
	if (!vhc_mgmtdev_present(mgmtdev)) {
		ksft_print_header();
		ksft_exit_skip("vdpa mgmtdev %s not present\n", mgmtdev);
	}
	return test_harness_run(argc, argv);
}

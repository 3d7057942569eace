// SPDX-License-Identifier: GPL-2.0
/*
 * genpci_vhost_test - vdpa_gen_pci devices driven from user space through
 * /dev/vhost-vdpa-N (the kernel's vhost_vdpa) and /dev/vdpa-mig-N (ours):
 * memory is mapped into the parent's own IOMMU domain and the cards DMA
 * through it.
 *
 * net: two virtio-net-pci cards on one QEMU hub; checksummed frames go from
 * one card's TX queue to the other's RX queue, both ways. rng: random bytes
 * from a virtio-rng-pci card. Negative cases: the IOVA window kept back for
 * shadow rings, unknown features, ring position queries a virtio-pci card
 * cannot answer.
 *
 * scsi: SCSI commands to the scsi-hd behind a virtio-scsi-pci card.
 *
 * Environment (set by vhost_cards.sh, which hands the cards over):
 * GPCI_NET0..2, GPCI_RNG, GPCI_SCSI, GPCI_MIGBLK0..1 = PCI functions bound to
 * vdpa_gen_pci; GPCI_MIGDISK = the virtio_blk disk of a third card on the
 * image GPCI_MIGBLK0..1 share; GPCI_KO = vdpa_gen_pci's module file, for
 * the hot-upgrade case.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vdpa_migrate.h>
#include <linux/vhost.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_scsi.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vhost_test.h"
#include "vhost_net_lib.h"

#define GP_MSI_WINDOW	0xfee00000ULL
#define GP_RNG_BUFS	4
#define GP_RNG_LEN	256
#define GP_PAGE		4096ULL
#define GP_LOG_WORDS	(NET_MEM_SIZE / GP_PAGE / 64)
/* blk migration: 4 KiB writes on the two throttled cards (vm.args). */
#define GP_BLK_REQS	12
#define GP_BLK_IO	4096
#define GP_BLK_WAIT_MS	10000

/* "pci/BDF" for the function named by environment variable @env. */
static bool gp_mgmtdev(const char *env, char *buf, size_t len)
{
	const char *bdf = getenv(env);

	if (!bdf || !*bdf)
		return false;
	snprintf(buf, len, "pci/%s", bdf);
	return vhc_mgmtdev_present(buf);
}

FIXTURE(gp_net) {
	struct net_port port[2];
};

FIXTURE_VARIANT(gp_net) {
	const char *driver;
	int set_base_running;	/* errno of SET_VRING_BASE while running */
	bool dirty_log;		/* VDPA_MIG_LOG_* (vdpa_migrate's) */
};

/* The parent refuses a position it cannot give the card. */
FIXTURE_VARIANT_ADD(gp_net, vhost_vdpa) {
	.driver = VHT_DRV_KERNEL,
	.set_base_running = EOPNOTSUPP,
};

/* vdpa_migrate refuses any ring change while the device runs. */
FIXTURE_VARIANT_ADD(gp_net, vdpa_migrate) {
	.driver = VHT_DRV_MIG,
	.set_base_running = EBUSY,
	.dirty_log = true,
};

/* Create, bind and open a device on each port's card (environment @env). */
static void gp_ports_setup(struct __test_metadata *_metadata,
			   struct net_port *port, const char *const *env,
			   int n, const char *driver)
{
	char mgmt[64];
	int i;

	for (i = 0; i < n; i++)
		port[i].dev.fd = -1;
	if (!vhc_driver_present(driver))
		SKIP(return, "vdpa driver %s not loaded", driver);
	ASSERT_EQ(0, vhc_use(driver));
	for (i = 0; i < n; i++) {
		struct net_port *p = &port[i];

		if (!gp_mgmtdev(env[i], mgmt, sizeof(mgmt)))
			SKIP(return, "%s: no vdpa_gen_pci net card", env[i]);
		vht_dev_name(p->name, sizeof(p->name), "gpv", 'a' + i);
		p->peer = &port[!i];
		ASSERT_EQ(0, vhc_vdpa_add(mgmt, p->name, NULL));
		p->created = true;
		ASSERT_LE(0, vhc_bind(p->name));
		ASSERT_EQ(0, vhc_open(&p->dev, p->name));
		ASSERT_EQ(VIRTIO_ID_NET, (int)p->dev.device_id);
		ASSERT_LE(NET_RING, p->dev.vq_num_max);
		/* The card's own MAC, from config space. */
		ASSERT_EQ(0, vhc_get_config(&p->dev, 0, p->mac, sizeof(p->mac)));
		ASSERT_EQ(0, vhc_mem_init(&p->dev, NET_MEM_SIZE));
	}
}

static void gp_ports_teardown(struct net_port *port, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		vhc_close(&port[i].dev);
		if (port[i].created)
			vhc_vdpa_del(port[i].name);
	}
}

FIXTURE_SETUP(gp_net)
{
	static const char *const env[2] = { "GPCI_NET0", "GPCI_NET1" };

	gp_ports_setup(_metadata, self->port, env, 2, variant->driver);
}

FIXTURE_TEARDOWN(gp_net)
{
	gp_ports_teardown(self->port, 2);
}

/*
 * Start both ports' rings and send one round of frames from @a to @b, all
 * delivered; @tx_done: how many.
 */
static void gp_pair_up(struct __test_metadata *_metadata, struct net_port *a,
		       struct net_port *b, unsigned int *tx_done)
{
	struct net_rx_stats st;

	ASSERT_EQ(0, net_start(a, NET_RING));
	ASSERT_EQ(0, net_start(b, NET_RING));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, tx_done);
	net_expect_all(_metadata, &st, *tx_done);
}

/* Frames through both cards' DMA, both ways, unicast and broadcast. */
TEST_F(gp_net, frames)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct net_rx_stats st;
	unsigned int tx_done;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	ASSERT_EQ(0, net_start(a, NET_RING));
	ASSERT_EQ(0, net_start(b, NET_RING));
	TH_LOG("features %#llx, MACs %02x:..:%02x and %02x:..:%02x",
	       (unsigned long long)a->dev.features, a->mac[0], a->mac[5],
	       b->mac[0], b->mac[5]);
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, b, a, a->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, a, b, net_bcast, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

/*
 * A reset stops the card's DMA; the mapping stays, and the card works
 * again after a second start (which remaps and renegotiates).
 */
TEST_F(gp_net, restart)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	unsigned int tx_done;

	if (_metadata->skip)
		return;
	gp_pair_up(_metadata, a, b, &tx_done);
	gp_pair_up(_metadata, a, b, &tx_done);
}

/*
 * Past the reported range (the shadow rings' window) and inside an IOMMU
 * reserved region: refused.
 */
TEST_F(gp_net, iova_window)
{
	struct vhc_dev *d = &self->port[0].dev;
	char *page = aligned_alloc(4096, 2 * 4096);

	if (_metadata->skip)
		return;
	ASSERT_NE(NULL, page);
	TH_LOG("IOVA range %#llx-%#llx", (unsigned long long)d->iova_first,
	       (unsigned long long)d->iova_last);
	EXPECT_ERRNO(EFAULT, vhc_iotlb_update(d, d->iova_last + 1,
					      4096, page,
					      VHOST_ACCESS_RW));
	EXPECT_ERRNO(EFAULT, vhc_iotlb_update(d, d->iova_last + 1 - 4096,
					      2 * 4096, page,
					      VHOST_ACCESS_RW));
	/*
	 * x86's MSI window is the IOMMU's own (a reserved region): the
	 * parent refuses it (EINVAL, which vhost turns into EFAULT like
	 * every IOTLB error); without that check the map would succeed.
	 */
	if (d->iova_first <= GP_MSI_WINDOW && GP_MSI_WINDOW + 4095 <= d->iova_last)
		EXPECT_ERRNO(EFAULT, vhc_iotlb_update(d, GP_MSI_WINDOW, 4096,
						      page, VHOST_ACCESS_RW));
	/* The last page inside the range is fine. */
	EXPECT_EQ(0, vhc_iotlb_update(d, d->iova_last + 1 - 4096,
				      4096, page, VHOST_ACCESS_RW));
	EXPECT_EQ(0, vhc_iotlb_invalidate(d, d->iova_last + 1 - 4096,
					  4096));
	free(page);
}

/*
 * The whole reported range is usable: with every ring and buffer at its
 * very top, frames still flow both ways (the range is the IOMMU's real
 * address width, not what a fresh domain claims before it is attached).
 */
TEST_F(gp_net, iova_top)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct net_rx_stats st;
	unsigned int tx_done;

	if (_metadata->skip)
		return;
	a->dev.mem_iova = (a->dev.iova_last + 1 - NET_MEM_SIZE) & ~4095ULL;
	b->dev.mem_iova = (b->dev.iova_last + 1 - NET_MEM_SIZE) & ~4095ULL;
	gp_pair_up(_metadata, a, b, &tx_done);
	net_xfer(_metadata, b, a, a->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

/* Only features the card offers; nothing changes on a refusal. */
TEST_F(gp_net, features_unknown)
{
	struct vhc_dev *d = &self->port[0].dev;
	__u64 bad = BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(63);
	__u8 status;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, (int)(d->device_features & BIT_ULL(63)));
	ASSERT_EQ(0, vhc_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				    VIRTIO_CONFIG_S_DRIVER));
	EXPECT_ERRNO(EINVAL, vhc_set_features(d, bad));
	ASSERT_EQ(0, vhc_get_status(d, &status));
	EXPECT_EQ(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, status);
	/* The full offer is still accepted. */
	EXPECT_EQ(0, vhc_set_features(d, d->device_features));
}

/*
 * A virtio-pci card has no register for its ring position: once a queue
 * ran, the position is unknown and the parent says so rather than guess.
 * Before that (and after a reset) it is the initial one.
 */
TEST_F(gp_net, vring_base)
{
	struct net_port *a = &self->port[0];
	struct vhost_vring_state s = { .index = NET_TX_Q };

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(0u, s.num);
	ASSERT_EQ(0, net_start(a, NET_RING));
	EXPECT_ERRNO(EOPNOTSUPP, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
	s.num = 5;
	EXPECT_ERRNO(variant->set_base_running,
		     vht_ioctl(&a->dev, VHOST_SET_VRING_BASE, &s));
	ASSERT_EQ(0, vhc_reset(&a->dev));
	s.num = 0;
	EXPECT_EQ(0, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(0u, s.num);
	s.num = 3;
	EXPECT_ERRNO(EOPNOTSUPP, vht_ioctl(&a->dev, VHOST_SET_VRING_BASE, &s));
}

/* Log the whole of a device's memory in 4 KiB pages. */
static int gp_dev_log_start(struct vhc_dev *d)
{
	struct vdpa_mig_log_range r = {
		.iova = d->mem_iova,
		.size = d->mem_size,
	};

	return vhc_log_start(d, 0, 12, &r, 1);
}

static int gp_log_start(struct net_port *p)
{
	return gp_dev_log_start(&p->dev);
}

/*
 * B started, A logging (so on shadow rings from its next start): how the
 * shadow tests begin, on vdpa_migrate only.  False (skipped) elsewhere.
 */
static bool gp_log_pair(struct __test_metadata *_metadata, bool dirty_log,
			struct net_port *a, struct net_port *b)
{
	if (!dirty_log)
		SKIP(return false, "dirty logging is vdpa_migrate's");
	ASSERT_EQ(0, net_start(b, NET_RING));
	ASSERT_EQ(0, gp_log_start(a));
	return true;
}

/* VHOST_GET_VRING_BASE's value for a packed ring @descs descriptors on. */
static __u32 gp_packed_base(unsigned int descs, unsigned int num)
{
	__u32 pos = descs % num | (descs / num % 2 ? 0 : 0x8000);

	return pos | pos << 16;	/* avail, then used: all used */
}

/* Is the page holding @ptr (in @p's memory) set in @bits? */
static bool gp_dirty(const struct net_port *p, const __u64 *bits,
		     const void *ptr)
{
	__u64 pg = ((const char *)ptr - (const char *)p->dev.mem) / GP_PAGE;

	return bits[pg / 64] >> (pg % 64) & 1;
}

/* Dirty pages of [@ptr, @ptr + @len) of @p's memory. */
static unsigned int gp_dirty_in(const struct net_port *p, const __u64 *bits,
				const void *ptr, size_t len)
{
	unsigned int n = 0;
	size_t off;

	for (off = 0; off < len; off += GP_PAGE)
		n += gp_dirty(p, bits, (const char *)ptr + off);
	return n;
}

/* What frames in and out leave behind: RX buffers dirty, TX buffers clean. */
static void gp_expect_rx_dirty(struct __test_metadata *_metadata,
			       const struct net_port *p, const __u64 *bits)
{
	EXPECT_LT(0u, gp_dirty_in(p, bits, p->rxbuf,
				  (size_t)NET_RING * NET_BUF_SIZE));
	EXPECT_EQ(0u, gp_dirty_in(p, bits, p->txbuf,
				  (size_t)NET_RING * NET_BUF_SIZE));
}

/*
 * @laps rounds of NET_FRAMES probes from @a to @b and back, every one
 * expected to arrive intact; return how many @a sent.
 */
static unsigned int gp_laps(struct __test_metadata *_metadata,
			    struct net_port *a, struct net_port *b,
			    unsigned int laps)
{
	unsigned int tx_done, sent = 0, lap;
	struct net_rx_stats st;

	for (lap = 0; lap < laps; lap++) {
		net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
		net_expect_all(_metadata, &st, tx_done);
		sent += tx_done;
		net_xfer(_metadata, b, a, a->mac, NET_WAIT_MS, &st, &tx_done);
		net_expect_all(_metadata, &st, tx_done);
	}
	return sent;
}

/*
 * Dirty logging moves the running queues onto shadow rings: frames keep
 * flowing both ways (buffers the cards held are handed over again), the
 * log reports the RX buffers and used rings the card and the relay wrote
 * but never the TX buffers the card only read, the ring position becomes
 * known, and a reset brings the device back to direct mode.
 */
TEST_F(gp_net, shadow_log)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct vhost_vring_state s = { .index = NET_TX_Q };
	__u64 bits[GP_LOG_WORDS], dirty;
	unsigned int tx_done, a_sent = 0;
	struct net_rx_stats st;

	if (_metadata->skip)
		return;
	if (!variant->dirty_log)
		SKIP(return, "dirty logging is vdpa_migrate's");
	gp_pair_up(_metadata, a, b, &tx_done);
	a_sent += tx_done;
	EXPECT_ERRNO(EOPNOTSUPP, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));

	ASSERT_EQ(0, gp_log_start(a));
	ASSERT_EQ(0, gp_log_start(b));
	EXPECT_ERRNO(EBUSY, gp_log_start(b));
	/* Positions are known now: every frame sent so far was relayed. */
	ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(a_sent, s.num);
	memset(bits, 0, sizeof(bits));
	ASSERT_EQ(0, vhc_log_sync(&b->dev, 0, b->dev.mem_iova,
				  b->dev.mem_size, bits, NULL));

	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	a_sent += tx_done;
	net_xfer(_metadata, b, a, a->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, a, b, net_bcast, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	a_sent += tx_done;

	memset(bits, 0, sizeof(bits));
	ASSERT_EQ(0, vhc_log_sync(&b->dev, 0, b->dev.mem_iova,
				  b->dev.mem_size, bits, &dirty));
	TH_LOG("%llu dirty pages on the receiving side",
	       (unsigned long long)dirty);
	gp_expect_rx_dirty(_metadata, b, bits);
	EXPECT_TRUE(gp_dirty(b, bits, b->dev.vqs[NET_RX_Q].used));
	EXPECT_TRUE(gp_dirty(b, bits, b->dev.vqs[NET_TX_Q].used));
	/*
	 * Reported pages are clean again: no frame arrived since, so no RX
	 * buffer is dirty (the relay may still have re-enabled
	 * notifications in a used ring after the last refill).
	 */
	memset(bits, 0, sizeof(bits));
	ASSERT_EQ(0, vhc_log_sync(&b->dev, 0, b->dev.mem_iova,
				  b->dev.mem_size, bits, &dirty));
	EXPECT_EQ(0u, gp_dirty_in(b, bits, b->rxbuf,
				  (size_t)NET_RING * NET_BUF_SIZE));
	EXPECT_GE(2u, dirty);
	ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(a_sent, s.num);

	/* Logging off: still on shadow rings, still delivering. */
	ASSERT_EQ(0, vhc_log_stop(&a->dev, 0));
	ASSERT_EQ(0, vhc_log_stop(&b->dev, 0));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	a_sent += tx_done;
	ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(a_sent, s.num);

	/* A reset is the way back to direct mode. */
	ASSERT_EQ(0, net_start(a, NET_RING));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	EXPECT_ERRNO(EOPNOTSUPP, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
}

/*
 * Vendor statistic @key of queue @qidx of vDPA device @dev, from
 * `vdpa -j dev vstats show` (the JSON has "key":value); -1 if the tool
 * printed none (it exits 0 after an error, which it prints instead).
 */
static long long gp_vstat(const char *dev, unsigned int qidx, const char *key)
{
	char cmd[128], out[1024], pat[64];
	long long val = -1;
	const char *at;
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "vdpa -j dev vstats show %s qidx %u 2>/dev/null", dev, qidx);
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	if (pclose(f))
		return -1;
	at = strstr(out, pat);
	if (at && sscanf(at + strlen(pat), "%lld", &val) != 1)
		val = -1;
	return val;
}

/*
 * Per-queue counters (vendor statistics): none move in direct mode; on
 * shadow rings every frame is a chain relayed and then used, and a queue
 * in steady state runs on the fast path, not the worker.  A queue past
 * the device's is refused.
 */
TEST_F(gp_net, vstats)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	long long relayed, completed, fast, worker, rx_done;
	unsigned int tx_done, sent = 0, k;
	struct net_rx_stats st;

	if (_metadata->skip)
		return;
	gp_pair_up(_metadata, a, b, &tx_done);
	ASSERT_EQ(0, gp_vstat(a->name, NET_TX_Q, "shadow_relayed"));
	EXPECT_EQ(0, gp_vstat(a->name, NET_TX_Q, "fast_path_runs"));
	EXPECT_EQ(0, gp_vstat(b->name, NET_RX_Q, "shadow_completed"));
	EXPECT_EQ(-1, gp_vstat(a->name, a->dev.nvqs, "shadow_relayed"));
	if (!variant->dirty_log)
		SKIP(return, "shadow rings need vdpa_migrate's dirty log");

	ASSERT_EQ(0, gp_log_start(a));
	ASSERT_EQ(0, gp_log_start(b));
	for (k = 0; k < 4; k++) {
		net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
		net_expect_all(_metadata, &st, tx_done);
		sent += tx_done;
	}
	relayed = gp_vstat(a->name, NET_TX_Q, "shadow_relayed");
	completed = gp_vstat(a->name, NET_TX_Q, "shadow_completed");
	fast = gp_vstat(a->name, NET_TX_Q, "fast_path_runs");
	worker = gp_vstat(a->name, NET_TX_Q, "worker_runs");
	rx_done = gp_vstat(b->name, NET_RX_Q, "shadow_completed");
	TH_LOG("A's TX: %lld relayed, %lld used, %lld fast, %lld worker",
	       relayed, completed, fast, worker);
	TH_LOG("B's RX: %lld used; %u frames sent", rx_done, sent);
	/* Each frame one chain; TX completions may trail the receiver. */
	EXPECT_EQ((long long)sent, relayed);
	EXPECT_GE(relayed, completed);
	EXPECT_LE(0, completed);
	EXPECT_EQ((long long)sent, rx_done);
	EXPECT_LT(0, fast);
	EXPECT_LE(0, worker);
	ASSERT_EQ(0, vhc_log_stop(&a->dev, 0));
	ASSERT_EQ(0, vhc_log_stop(&b->dev, 0));
}

/*
 * Logging started before DRIVER_OK (and kept across the reset that
 * follows): the device starts out on shadow rings.
 */
TEST_F(gp_net, shadow_at_start)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct vhost_vring_state s = { .index = NET_TX_Q };
	unsigned int tx_done, a_sent;
	struct net_rx_stats st;

	if (_metadata->skip || !gp_log_pair(_metadata, variant->dirty_log, a, b))
		return;
	ASSERT_EQ(0, net_start(a, NET_RING));
	ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(0u, s.num);
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	a_sent = tx_done;
	net_xfer(_metadata, b, a, a->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(a_sent, s.num);
	ASSERT_EQ(0, vhc_log_stop(&a->dev, 0));
}

/*
 * Wait up to NET_WAIT_MS until the device used @vq's next descriptor (a
 * packed ring), without vhc_vq_get_used(): with EVENT_IDX that would ask
 * for an interrupt.
 */
static bool gp_pk_wait_used(struct vhc_vq *vq)
{
	int ms;

	for (ms = 0; ms < NET_WAIT_MS; ms += 10) {
		__u16 f = le16toh(__atomic_load_n(&vq->pdesc[vq->last_used].flags,
						  __ATOMIC_ACQUIRE));

		if (!!(f & 1 << VRING_PACKED_DESC_F_AVAIL) == vq->used_wrap &&
		    !!(f & 1 << VRING_PACKED_DESC_F_USED) == vq->used_wrap)
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * @p's packed TX queue is idle (everything reaped): the relay follows the
 * driver's event suppression.  Disabled: a frame to @dst is sent and used
 * without an interrupt.  Then the client's own mode (enabled, or with
 * EVENT_IDX the next descriptor, asked for when it found nothing used):
 * one more frame must raise it.  The tests' reaping polls, so they would
 * not notice an interrupt missing or one too many.  Run last: the peer
 * receives the frames.
 */
static void gp_tx_irq(struct __test_metadata *_metadata, struct net_port *p,
		      const __u8 *dst)
{
	struct vhc_vq *tx = &p->dev.vqs[NET_TX_Q];
	__u32 id, len;

	tx->driver_event->flags = htole16(VRING_PACKED_EVENT_FLAG_DISABLE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vhc_vq_wait(tx, 0);	/* forget earlier signals */
	ASSERT_LE(0, net_send(p, dst, 0, net_plen(0)));
	ASSERT_EQ(0, vhc_vq_kick(tx));
	EXPECT_TRUE(gp_pk_wait_used(tx));
	EXPECT_ERRNO(ETIMEDOUT, vhc_vq_wait(tx, 200));
	EXPECT_EQ(1, vhc_vq_get_used(tx, &id, &len));

	tx->driver_event->flags = htole16(VRING_PACKED_EVENT_FLAG_ENABLE);
	ASSERT_EQ(0, vhc_vq_get_used(tx, &id, &len));	/* re-arms with EVENT_IDX */
	ASSERT_LE(0, net_send(p, dst, 1, net_plen(1)));
	ASSERT_EQ(0, vhc_vq_kick(tx));
	EXPECT_EQ(0, vhc_vq_wait(tx, NET_WAIT_MS));
	EXPECT_EQ(1, vhc_vq_get_used(tx, &id, &len));
}

/* Why a packed shadow-ring test cannot run here, or NULL. */
static const char *gp_packed_why_not(bool dirty_log, const struct net_port *p)
{
	if (!dirty_log)
		return "dirty logging is vdpa_migrate's";
	if (!(p->dev.device_features & BIT_ULL(VIRTIO_F_RING_PACKED)))
		return "card without packed rings";
	return NULL;
}

/*
 * Packed rings (the cards offer them: packed=on in vm.args).  Direct mode
 * passes them to the card; a running packed device cannot move to shadow
 * rings (EOPNOTSUPP, and it runs on, unchanged); one whose log started
 * before DRIVER_OK starts on shadow rings (here with EVENT_IDX, which only
 * the relay sees: the card gets split rings without it): frames flow both
 * ways over several laps of the packed rings, the ring positions are known
 * and the log holds what the card and the relay wrote.
 */
TEST_F(gp_net, packed_shadow)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct vhost_vring_state s = { .index = NET_TX_Q };
	const __u64 packed = BIT_ULL(VIRTIO_F_RING_PACKED);
	__u64 bits[GP_LOG_WORDS], dirty;
	const char *why;
	unsigned int tx_done, a_sent;
	struct net_rx_stats st;

	if (_metadata->skip)
		return;
	why = gp_packed_why_not(variant->dirty_log, a);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, net_start(b, NET_RING));
	ASSERT_EQ(0, net_start_ctrl(a, NET_RING, packed, 0, NULL));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, b, a, a->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	EXPECT_ERRNO(EOPNOTSUPP, gp_log_start(a));
	EXPECT_ERRNO(EOPNOTSUPP, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);

	/* The relay's event suppression: interrupts at a descriptor. */
	ASSERT_EQ(0, vhc_reset(&a->dev));
	ASSERT_EQ(0, gp_log_start(a));
	ASSERT_EQ(0, net_start_ctrl(a, NET_RING, packed |
				    BIT_ULL(VIRTIO_RING_F_EVENT_IDX), 0, NULL));
	memset(bits, 0, sizeof(bits));
	ASSERT_EQ(0, vhc_log_sync(&a->dev, 0, a->dev.mem_iova,
				  a->dev.mem_size, bits, NULL));
	/* 32 two-descriptor TX chains a lap: one lap of a 64-entry ring. */
	a_sent = gp_laps(_metadata, a, b, 3);
	ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(gp_packed_base(a_sent * 2, NET_RING), s.num);
	s.index = NET_RX_Q;
	ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
	/* RX: each frame from B used one single-descriptor buffer. */
	EXPECT_EQ(gp_packed_base(3 * NET_FRAMES, NET_RING) >> 16, s.num >> 16);

	ASSERT_EQ(0, vhc_log_sync(&a->dev, 0, a->dev.mem_iova,
				  a->dev.mem_size, bits, &dirty));
	TH_LOG("%llu dirty pages on the packed side", (unsigned long long)dirty);
	gp_expect_rx_dirty(_metadata, a, bits);
	/* Used elements (the TX ring shares the page; the log is per page). */
	EXPECT_TRUE(gp_dirty(a, bits, a->dev.vqs[NET_RX_Q].pdesc));
	ASSERT_EQ(0, vhc_log_stop(&a->dev, 0));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	gp_tx_irq(_metadata, a, b->mac);
}

/*
 * Make @n raw descriptors available at @vq's next position (a packed
 * ring), the first one's flags last, bypassing the client's bookkeeping:
 * the device is expected to stop, and the queue is set up again after.
 */
static void gp_pk_raw(struct vhc_vq *vq, const struct vring_packed_desc *d,
		      unsigned int n)
{
	__u16 avail = vq->avail_wrap ? 1 << VRING_PACKED_DESC_F_AVAIL :
				       1 << VRING_PACKED_DESC_F_USED;
	__u16 i = vq->avail_idx, first = i;
	unsigned int k;

	for (k = 0; k < n; k++) {
		vq->pdesc[i] = d[k];
		if (k)
			vq->pdesc[i].flags = htole16(le16toh(d[k].flags) |
						     avail);
		if (++i == vq->num) {
			i = 0;
			avail ^= 1 << VRING_PACKED_DESC_F_AVAIL |
				 1 << VRING_PACKED_DESC_F_USED;
		}
	}
	__atomic_store_n(&vq->pdesc[first].flags,
			 htole16(le16toh(d[0].flags) |
				 (vq->avail_wrap ? 1 << VRING_PACKED_DESC_F_AVAIL :
						   1 << VRING_PACKED_DESC_F_USED)),
			 __ATOMIC_RELEASE);
}

/*
 * A driver's packed-ring mistakes on shadow rings stop the device
 * (NEEDS_RESET), one at a time on a fresh start: a readable descriptor
 * after a writable one, an indirect table the driver did not negotiate,
 * a buffer ID past the ring, a chain longer than the ring, and a chain
 * made available over the RX buffers the card holds.  Then the device
 * starts again and carries frames.
 */
TEST_F(gp_net, packed_hostile)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	const __u64 packed = BIT_ULL(VIRTIO_F_RING_PACKED);
	struct vring_packed_desc d[NET_RING];
	unsigned int tx_done, k, i;
	struct net_rx_stats st;
	const char *why;

	if (_metadata->skip)
		return;
	why = gp_packed_why_not(variant->dirty_log, a);
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, net_start(b, NET_RING));
	ASSERT_EQ(0, gp_log_start(a));
	for (k = 0; k < 5; k++) {
		struct vhc_vq *q;
		__u64 buf;

		ASSERT_EQ(0, net_start_ctrl(a, NET_RING, packed, 0, NULL));
		q = &a->dev.vqs[k < 4 ? NET_TX_Q : NET_RX_Q];
		buf = vhc_iova(&a->dev, a->txbuf);
		memset(d, 0, sizeof(d));
		for (i = 0; i < NET_RING; i++) {
			d[i].addr = htole64(buf);
			d[i].len = htole32(64);
		}
		switch (k) {
		case 0:	/* readable after writable */
			d[0].flags = htole16(VRING_DESC_F_WRITE |
					     VRING_DESC_F_NEXT);
			gp_pk_raw(q, d, 2);
			break;
		case 1:	/* INDIRECT_DESC not negotiated */
			d[0].len = htole32(2 * sizeof(d[0]));
			d[0].flags = htole16(VRING_DESC_F_INDIRECT);
			gp_pk_raw(q, d, 1);
			break;
		case 2:	/* a buffer ID past the ring */
			d[0].id = htole16(NET_RING);
			gp_pk_raw(q, d, 1);
			break;
		case 3:	/* longer than the ring: every descriptor chains on */
			for (i = 0; i < NET_RING; i++)
				d[i].flags = htole16(VRING_DESC_F_NEXT);
			gp_pk_raw(q, d, NET_RING);
			break;
		case 4:	/* RX: the card holds every descriptor */
			ASSERT_EQ(0, q->num_free);
			/* Once the relay took them all: the next lap at 0. */
			for (i = 0; i < NET_WAIT_MS / 10; i++) {
				struct vhost_vring_state vs = {
					.index = NET_RX_Q,
				};

				ASSERT_EQ(0, vht_ioctl(&a->dev,
						       VHOST_GET_VRING_BASE,
						       &vs));
				if (!(vs.num & 0xffff))
					break;
				usleep(10000);
			}
			d[0].flags = htole16(VRING_DESC_F_WRITE);
			gp_pk_raw(q, d, 1);
			break;
		}
		ASSERT_EQ(0, vhc_vq_kick(q));
		EXPECT_TRUE(net_wait_needs_reset(&a->dev, NET_WAIT_MS)) {
			TH_LOG("case %u", k);
		}
	}
	ASSERT_EQ(0, net_start_ctrl(a, NET_RING, packed, 0, NULL));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, b, a, a->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	ASSERT_EQ(0, vhc_log_stop(&a->dev, 0));
}

/* Make split chain @head of @vq available as it stands in the table. */
static void gp_split_raw(struct vhc_vq *vq, __u16 head)
{
	vq->avail->ring[vq->avail_idx % vq->num] = htole16(head);
	vq->avail_idx++;
	__atomic_store_n(&vq->avail->idx, htole16(vq->avail_idx),
			 __ATOMIC_RELEASE);
}

/*
 * A driver's split-ring mistakes on shadow rings stop the device
 * (NEEDS_RESET), one at a time on a fresh start after a round of good
 * frames (so that the relay reads them from its mapping of the ring, not
 * only through vringh): a readable descriptor after a writable one, a
 * head past the ring, a next link past the ring, a chain that loops, and
 * a chain longer than the ring.  The device then starts again and carries
 * frames both ways.
 */
TEST_F(gp_net, split_hostile)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	unsigned int tx_done, k, i;
	struct net_rx_stats st;

	if (_metadata->skip || !gp_log_pair(_metadata, variant->dirty_log, a, b))
		return;
	for (k = 0; k < 5; k++) {
		struct vhc_vq *q = &a->dev.vqs[NET_TX_Q];
		__u64 buf = vhc_iova(&a->dev, a->txbuf);
		__u16 head = 0;

		ASSERT_EQ(0, net_start(a, NET_RING));
		net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
		net_expect_all(_metadata, &st, tx_done);
		ASSERT_EQ(NET_RING, q->num_free);
		for (i = 0; i < NET_RING; i++) {
			q->desc[i].addr = htole64(buf);
			q->desc[i].len = htole32(64);
			q->desc[i].flags = 0;
			q->desc[i].next = 0;
		}
		switch (k) {
		case 0:	/* readable after writable */
			q->desc[0].flags = htole16(VRING_DESC_F_WRITE |
						   VRING_DESC_F_NEXT);
			q->desc[0].next = htole16(1);
			break;
		case 1:	/* a head past the ring */
			head = NET_RING;
			break;
		case 2:	/* a next link past the ring */
			q->desc[0].flags = htole16(VRING_DESC_F_NEXT);
			q->desc[0].next = htole16(NET_RING);
			break;
		case 3:	/* 0 -> 1 -> 0 */
			q->desc[0].flags = htole16(VRING_DESC_F_NEXT);
			q->desc[0].next = htole16(1);
			q->desc[1].flags = htole16(VRING_DESC_F_NEXT);
			break;
		case 4:	/* every descriptor, then past the ring's length */
			for (i = 0; i < NET_RING; i++) {
				q->desc[i].flags = htole16(VRING_DESC_F_NEXT);
				q->desc[i].next = htole16((i + 1) % NET_RING);
			}
			break;
		}
		gp_split_raw(q, head);
		ASSERT_EQ(0, vhc_vq_kick(q));
		EXPECT_TRUE(net_wait_needs_reset(&a->dev, NET_WAIT_MS)) {
			TH_LOG("case %u", k);
		}
	}
	ASSERT_EQ(0, net_start(a, NET_RING));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, b, a, a->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	ASSERT_EQ(0, vhc_log_stop(&a->dev, 0));
}

/* Bytes of a NET_RING queue's indirect tables (vhc_vq_set_indirect()). */
#define GP_IND_TABLES	(NET_RING * VHC_INDIRECT_MAX * \
			 sizeof(struct vring_desc))

/*
 * Entry @k of an indirect table at @t: split tables link entries through
 * .next (NEXT on all but the @last), packed ones carry only WRITE.
 */
static void gp_ind_entry(void *t, bool packed, unsigned int k, bool last,
			 __u64 iova, __u32 len, __u16 flags)
{
	struct vring_packed_desc *pd = (struct vring_packed_desc *)t + k;
	struct vring_desc *sd = (struct vring_desc *)t + k;

	if (packed) {
		pd->addr = htole64(iova);
		pd->len = htole32(len);
		pd->id = 0;
		pd->flags = htole16(flags);
		return;
	}
	sd->addr = htole64(iova);
	sd->len = htole32(len);
	sd->flags = htole16(flags | (last ? 0 : VRING_DESC_F_NEXT));
	sd->next = htole16(last ? 0 : k + 1);
}

/*
 * A broken indirect table (case @k) on @a's TX queue; 0 if it was made
 * available, 1 if the case is for packed rings only.  The tables sit in
 * @a's TX buffers, which nothing else uses while the device stops.
 */
static int gp_bad_table(struct net_port *a, bool packed, unsigned int k)
{
	struct vhc_vq *tx = &a->dev.vqs[NET_TX_Q];
	__u8 *t = a->txbuf + 4096, *t2 = a->txbuf + 8192;
	__u64 buf = vhc_iova(&a->dev, a->txbuf);
	__u32 len = 2 * sizeof(struct vring_desc);
	struct vring_packed_desc d[2] = {};

	gp_ind_entry(t, packed, 0, false, buf, 64, 0);
	gp_ind_entry(t, packed, 1, true, buf + 64, 64, 0);
	gp_ind_entry(t2, packed, 0, true, buf, 64, 0);
	switch (k) {
	case 0:	/* a table inside a table */
		gp_ind_entry(t, packed, 1, true, vhc_iova(&a->dev, t2),
			     sizeof(struct vring_desc), VRING_DESC_F_INDIRECT);
		break;
	case 1:	/* not a whole number of descriptors */
		len = sizeof(struct vring_desc) + 4;
		break;
	case 2:	/* empty */
		len = 0;
		break;
	case 3:	/* a readable entry after a writable one */
		gp_ind_entry(t, packed, 0, false, buf, 64, VRING_DESC_F_WRITE);
		break;
	case 4:	/* packed: a table that does not stand alone */
		if (!packed)
			return 1;
		d[0].addr = htole64(vhc_iova(&a->dev, t));
		d[0].len = htole32(len);
		d[0].flags = htole16(VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT);
		d[1].addr = htole64(buf);
		d[1].len = htole32(64);
		gp_pk_raw(tx, d, 2);
		return 0;
	}
	return vhc_vq_add_desc(tx, vhc_iova(&a->dev, t), len,
			       VRING_DESC_F_INDIRECT) < 0 ? -1 : 0;
}

/*
 * Indirect tables, on split and on packed rings: every TX and RX chain of
 * A is one ring descriptor pointing to a table.  Direct mode hands them to
 * the card.  On shadow rings the relay flattens them: frames flow both
 * ways over two laps of A's rings, the ring positions count one
 * descriptor per chain, and the log holds the RX buffers but neither the
 * TX buffers nor the tables, which the device only reads.  Broken tables
 * stop the device (NEEDS_RESET): one inside a table, a length that is not
 * a whole number of descriptors, an empty one, a readable entry after a
 * writable one and, on packed rings, a table with NEXT.  Then it runs.
 */
TEST_F(gp_net, indirect)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	const __u64 ind = BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC);
	struct vhost_vring_state s;
	__u64 bits[GP_LOG_WORDS], ring;
	unsigned int a_sent, r, k;
	int ret;

	if (_metadata->skip)
		return;
	if (!(a->dev.device_features & ind))
		SKIP(return, "cards without indirect descriptors");
	ASSERT_EQ(0, net_start(b, NET_RING));
	a->indirect = true;
	for (r = 0; r < 2; r++) {
		bool packed = r;

		ring = packed ? BIT_ULL(VIRTIO_F_RING_PACKED) : 0;
		if ((a->dev.device_features & ring) != ring) {
			TH_LOG("card without packed rings");
			continue;
		}
		ASSERT_EQ(0, net_start_ctrl(a, NET_RING, ind | ring, 0, NULL));
		ASSERT_NE(NULL, a->dev.vqs[NET_TX_Q].indirect);
		gp_laps(_metadata, a, b, 1);
		if (!variant->dirty_log)
			continue;

		ASSERT_EQ(0, vhc_reset(&a->dev));
		ASSERT_EQ(0, gp_log_start(a));
		ASSERT_EQ(0, net_start_ctrl(a, NET_RING, ind | ring, 0, NULL));
		memset(bits, 0, sizeof(bits));
		ASSERT_EQ(0, vhc_log_sync(&a->dev, 0, a->dev.mem_iova,
					  a->dev.mem_size, bits, NULL));
		/* 32 one-descriptor chains a round: two laps of 64 entries. */
		a_sent = gp_laps(_metadata, a, b, 4);
		s.index = NET_TX_Q;
		ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
		EXPECT_EQ(packed ? gp_packed_base(a_sent, NET_RING) : a_sent,
			  s.num);
		memset(bits, 0, sizeof(bits));
		ASSERT_EQ(0, vhc_log_sync(&a->dev, 0, a->dev.mem_iova,
					  a->dev.mem_size, bits, NULL));
		gp_expect_rx_dirty(_metadata, a, bits);
		EXPECT_EQ(0u, gp_dirty_in(a, bits,
					  a->dev.vqs[NET_RX_Q].indirect,
					  GP_IND_TABLES));
		EXPECT_EQ(0u, gp_dirty_in(a, bits,
					  a->dev.vqs[NET_TX_Q].indirect,
					  GP_IND_TABLES));

		for (k = 0; k < 5; k++) {
			ASSERT_EQ(0, net_start_ctrl(a, NET_RING, ind | ring, 0,
						    NULL));
			ret = gp_bad_table(a, packed, k);
			if (ret > 0)
				continue;
			ASSERT_EQ(0, ret);
			ASSERT_EQ(0, vhc_vq_kick(&a->dev.vqs[NET_TX_Q]));
			EXPECT_TRUE(net_wait_needs_reset(&a->dev, NET_WAIT_MS)) {
				TH_LOG("%s case %u", packed ? "packed" : "split",
				       k);
			}
		}
		ASSERT_EQ(0, net_start_ctrl(a, NET_RING, ind | ring, 0, NULL));
		gp_laps(_metadata, a, b, 1);
		ASSERT_EQ(0, vhc_log_stop(&a->dev, 0));
	}
}

/*
 * Migration between two PCI-backed devices through vdpa_migrate: A (net
 * card 0) is the source, C (net card 2) the destination, B (net card 1)
 * the peer; all three share the hub.  The driver side (memory, rings) moves
 * with vhc_mig_adopt(), the device side through a saved state.
 */
FIXTURE(gp_mig) {
	struct net_port port[3];
};

FIXTURE_SETUP(gp_mig)
{
	static const char *const env[3] = {
		"GPCI_NET0", "GPCI_NET1", "GPCI_NET2"
	};

	gp_ports_setup(_metadata, self->port, env, 3, VHT_DRV_MIG);
}

FIXTURE_TEARDOWN(gp_mig)
{
	gp_ports_teardown(self->port, 3);
}

/*
 * Start A and B, put A on shadow rings and let B send it frames (so A's
 * card holds RX buffers the relay gave it), then stop A and save it.
 */
static void gp_shadow_save(struct __test_metadata *_metadata,
			   struct net_port *a, struct net_port *b,
			   void **blob, size_t *len)
{
	struct net_rx_stats st;
	unsigned int tx_done;

	ASSERT_EQ(0, net_start(a, NET_RING));
	ASSERT_EQ(0, net_start(b, NET_RING));
	ASSERT_EQ(0, gp_log_start(a));
	net_xfer(_metadata, b, a, a->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	ASSERT_EQ(0, vhc_mig_set_state(&a->dev, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(&a->dev, blob, len));
}

/* @c, which took @a's driver side, loads @blob (freed) and runs. */
static void gp_mig_start(struct __test_metadata *_metadata, struct net_port *a,
			 struct net_port *c, void *blob, size_t len)
{
	ASSERT_EQ(0, vhc_mig_load(&c->dev, blob, len));
	free(blob);
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RUNNING));
	c->txbuf = a->txbuf;
	c->rxbuf = a->rxbuf;
	memcpy(c->mac, a->mac, sizeof(c->mac));
}

/* The driver side moves from @a to @c, which loads @blob (freed) and runs. */
static void gp_mig_move(struct __test_metadata *_metadata, struct net_port *a,
			struct net_port *c, void *blob, size_t len)
{
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(&c->dev, &a->dev));
	gp_mig_start(_metadata, a, c, blob, len);
}

/*
 * Frames queued on A just before it stops are sent exactly once: by A's
 * card if it used them before the suspend, otherwise by C's card, which
 * gets them from the in-flight list.  A's posted RX buffers are in flight
 * too: C's driver adds none (its ring is full), so C receives only if the
 * card got them.
 */
TEST_F(gp_mig, migrate_traffic)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct net_port *c = &self->port[2];
	struct vdpa_mig_info info;
	struct net_rx_stats st;
	unsigned int tx_done;
	void *blob;
	size_t len;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, vhc_mig_info(&a->dev, &info));
	ASSERT_EQ(VDPA_MIG_CAP_STATE | VDPA_MIG_CAP_TYPE_STATE |
		  VDPA_MIG_CAP_INFLIGHT | VDPA_MIG_CAP_DIRTY_LOG, info.caps);
	gp_pair_up(_metadata, a, b, &tx_done);

	ASSERT_EQ(0, gp_log_start(a));
	net_send_all(_metadata, a, b->mac);
	ASSERT_EQ(0, vhc_mig_set_state(&a->dev, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(&a->dev, &blob, &len));
	gp_mig_move(_metadata, a, c, blob, len);

	ASSERT_EQ(0, vhc_vq_kick(&c->dev.vqs[NET_TX_Q]));
	net_collect(_metadata, c, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	EXPECT_EQ(0, c->dev.vqs[NET_RX_Q].num_free);

	net_xfer(_metadata, b, c, c->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, c, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

#define GP_STREAM_FRAMES	1024u

/*
 * One direction of a stream: @p sends probes 0..GP_STREAM_FRAMES-1 to
 * @dst as its TX ring has room, and counts what it receives from @from.
 */
struct gp_stream {
	struct net_port *p;
	const struct net_port *from;
	const __u8 *dst;
	__u32 next;
	__u32 tx_done;
	__u32 rx;
	__u32 bad;
	__u32 dups;
	__u8 seen[GP_STREAM_FRAMES / 8];
};

/* Top up TX, reap TX, take every received frame, refill RX. */
static void gp_stream_step(struct __test_metadata *_metadata,
			   struct gp_stream *s)
{
	struct vhc_vq *tx = &s->p->dev.vqs[NET_TX_Q];
	struct vhc_vq *rx = &s->p->dev.vqs[NET_RX_Q];
	unsigned int added = 0;
	__u32 id, len;
	long seq;
	int ret;

	while (tx->num_free && s->next < GP_STREAM_FRAMES) {
		ASSERT_LE(0, net_send(s->p, s->dst, s->next,
				      net_plen(s->next)));
		s->next++;
		added++;
	}
	if (added)
		ASSERT_EQ(0, vhc_vq_kick(tx));
	ret = net_reap_tx(s->p);
	ASSERT_LE(0, ret);
	s->tx_done += ret;
	while ((ret = vhc_vq_get_used(rx, &id, &len)) > 0) {
		seq = net_probe_seq(_metadata, s->from, s->p->mac,
				    s->p->rxbuf + (size_t)id * NET_BUF_SIZE,
				    len, GP_STREAM_FRAMES);
		if (seq < 0) {
			s->bad++;
		} else if (s->seen[seq / 8] & 1u << (seq % 8)) {
			s->dups++;
		} else {
			s->seen[seq / 8] |= 1u << (seq % 8);
			s->rx++;
		}
	}
	ASSERT_LE(0, ret);
	ASSERT_EQ(0, net_fill_rx(s->p));
}

/* Wait up to 2 ms for any call of both ports' data queues. */
static void gp_stream_wait(struct net_port *x, struct net_port *y)
{
	struct pollfd pfd[4] = {
		{ .fd = x->dev.vqs[NET_RX_Q].call_fd, .events = POLLIN },
		{ .fd = x->dev.vqs[NET_TX_Q].call_fd, .events = POLLIN },
		{ .fd = y->dev.vqs[NET_RX_Q].call_fd, .events = POLLIN },
		{ .fd = y->dev.vqs[NET_TX_Q].call_fd, .events = POLLIN },
	};
	__u64 count;
	int i;

	if (poll(pfd, 4, 2) <= 0)
		return;
	for (i = 0; i < 4; i++)
		if (pfd[i].revents & POLLIN &&
		    read(pfd[i].fd, &count, sizeof(count)) < 0)
			return;
}

/*
 * Migration under load both ways: A and B stream probes at each other as
 * fast as their rings go; halfway A stops (on shadow rings), is saved and
 * moves to C (A's MAC), which streams on from A's rings.  One thread
 * drives both sides, so B can have at most a TX ring of frames on the
 * wire while A is stopped: what is lost is bounded by what was in flight.
 * Every TX chain completes once on either side, nothing arrives twice or
 * corrupt, and both streams run to their end after the move.
 */
TEST_F(gp_mig, stream_both_ways)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct net_port *c = &self->port[2];
	struct gp_stream sa = { .p = a, .from = b, .dst = b->mac };
	struct gp_stream sb = { .p = b, .from = a, .dst = a->mac };
	long long deadline, quiet = 0, t0, stop_ms = -1;
	unsigned int tx_done;
	void *blob;
	size_t len;

	if (_metadata->skip)
		return;
	gp_pair_up(_metadata, a, b, &tx_done);
	ASSERT_EQ(0, gp_log_start(a));
	deadline = vhc_now_ms() + 6 * NET_WAIT_MS;
	while (vhc_now_ms() < deadline) {
		__u32 before = sa.rx + sb.rx + sa.tx_done + sb.tx_done;

		gp_stream_step(_metadata, &sa);
		gp_stream_step(_metadata, &sb);
		if (sa.p == a && sa.next >= GP_STREAM_FRAMES / 2 &&
		    sb.next >= GP_STREAM_FRAMES / 2) {
			t0 = vhc_now_ms();
			ASSERT_EQ(0, vhc_mig_set_state(&a->dev,
						       VDPA_MIG_STATE_SAVING));
			ASSERT_EQ(0, vhc_mig_save(&a->dev, &blob, &len));
			gp_mig_move(_metadata, a, c, blob, len);
			stop_ms = vhc_now_ms() - t0;
			sa.p = c;
			/* C takes over A's rings: its TX chains in flight. */
			ASSERT_EQ(0, vhc_vq_kick(&c->dev.vqs[NET_TX_Q]));
		}
		if (sa.tx_done == GP_STREAM_FRAMES &&
		    sb.tx_done == GP_STREAM_FRAMES) {
			if (sa.rx == GP_STREAM_FRAMES &&
			    sb.rx == GP_STREAM_FRAMES)
				break;
			/* Sent and used: the rest is lost unless it comes. */
			if (sa.rx + sb.rx + sa.tx_done + sb.tx_done != before)
				quiet = 0;
			else if (!quiet)
				quiet = vhc_now_ms();
			else if (vhc_now_ms() - quiet > 500)
				break;
		}
		gp_stream_wait(sa.p, sb.p);
	}
	TH_LOG("stop and move %lld ms; A->B %u of %u, B->A %u of %u",
	       stop_ms, sb.rx, GP_STREAM_FRAMES, sa.rx, GP_STREAM_FRAMES);
	ASSERT_LE(0, stop_ms);
	EXPECT_EQ(0u, sa.bad);
	EXPECT_EQ(0u, sb.bad);
	EXPECT_EQ(0u, sa.dups);
	EXPECT_EQ(0u, sb.dups);
	/* Every chain either side made available was used exactly once. */
	EXPECT_EQ(GP_STREAM_FRAMES, sa.tx_done);
	EXPECT_EQ(GP_STREAM_FRAMES, sb.tx_done);
	/* Lost: at most one ring's worth, what was in flight at the stop. */
	EXPECT_GE(NET_RING, GP_STREAM_FRAMES - sb.rx);
	EXPECT_GE(NET_RING, GP_STREAM_FRAMES - sa.rx);
	/* Both streams ran on to their end after the move. */
	EXPECT_TRUE(sa.seen[GP_STREAM_FRAMES / 8 - 1] & 0x80);
	EXPECT_TRUE(sb.seen[GP_STREAM_FRAMES / 8 - 1] & 0x80);
}

/*
 * A cancelled migration: the source suspends (on shadow rings), then runs
 * on, and what it held in flight completes once.
 */
TEST_F(gp_mig, cancel)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct vhost_vring_state s = { .index = NET_TX_Q };
	struct net_rx_stats st;
	unsigned int tx_done;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, net_start(a, NET_RING));
	ASSERT_EQ(0, net_start(b, NET_RING));
	net_send_all(_metadata, a, b->mac);
	ASSERT_EQ(0, vhc_mig_set_state(&a->dev, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(NET_FRAMES, s.num);
	ASSERT_EQ(0, vhc_mig_set_state(&a->dev, VDPA_MIG_STATE_RUNNING));
	net_collect(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, b, a, a->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

/* Where record @type for queue @index starts in @blob, or NULL. */
/*
 * The payload of the record of @type whose first word is @index (a queue
 * index), or of the first record of @type for GP_REC_ANY.
 */
#define GP_REC_ANY	0xffffffffu
static void *gp_find_rec(void *blob, size_t len, __u32 type, __u32 index)
{
	size_t off = sizeof(struct vdpa_mig_blob_hdr);

	while (off + sizeof(struct vdpa_mig_rec_hdr) <= len) {
		struct vdpa_mig_rec_hdr *h = (void *)((char *)blob + off);
		__le32 *first = (__le32 *)(h + 1);

		if (le32toh(h->type) == type &&
		    (index == GP_REC_ANY || le32toh(*first) == index))
			return h + 1;
		off += sizeof(*h) + ((le32toh(h->len) + 7) & ~7u);
	}
	return NULL;
}

/*
 * Move queue @q of a saved state, and @d's driver side of it, by a multiple
 * of the ring size to just before the wrap of the 16-bit ring indexes (every
 * descriptor and ring slot stays where it was): positions, in-flight list
 * (a queue with nothing in flight may have none),
 * the indexes in the driver's ring and, with EVENT_IDX, its event fields.
 * Returns the new available position in *@pos.
 */
static void gp_near_wrap(struct __test_metadata *_metadata, struct vhc_dev *d,
			 void *blob, size_t len, unsigned int q, __u16 *pos)
{
	struct vdpa_mig_rec_vq *vr = gp_find_rec(blob, len, VDPA_MIG_REC_VQ, q);
	struct vdpa_mig_rec_vq_inflight *in =
		gp_find_rec(blob, len, VDPA_MIG_REC_VQ_INFLIGHT, q);
	struct vhc_vq *vq = &d->vqs[q];
	__u16 delta, *used_event, *avail_event;
	__u32 k;

	ASSERT_NE(NULL, vr);
	delta = (__u16)(0x10000 - le32toh(vr->avail_idx)) & ~(__u16)(vq->num - 1);
	vr->avail_idx = htole32((__u16)(le32toh(vr->avail_idx) + delta));
	vr->used_idx = htole32((__u16)(le32toh(vr->used_idx) + delta));
	for (k = 0; in && k < le32toh(in->count); k++)
		in->req[k].avail_pos =
			htole32((__u16)(le32toh(in->req[k].avail_pos) + delta));
	vq->avail_idx += delta;
	vq->last_used += delta;
	vq->avail->idx = htole16(le16toh(vq->avail->idx) + delta);
	vq->used->idx = htole16(le16toh(vq->used->idx) + delta);
	used_event = &vq->avail->ring[vq->num];
	avail_event = (__u16 *)&vq->used->ring[vq->num];
	*used_event = htole16(le16toh(*used_event) + delta);
	*avail_event = htole16(le16toh(*avail_event) + delta);
	*pos = le32toh(vr->avail_idx);
}

/*
 * Queue @q's ring position once it reaches @want (the relay takes what the
 * driver made available as its worker gets to it), or the last one seen
 * after NET_WAIT_MS; -1 if it cannot be read.  Kicks first, whatever
 * avail_event says, as a driver may: while the card holds half the ring
 * the relay takes the driver's additions at the card's next completion
 * or at a kick, and no frame is coming here.
 */
static long gp_pos(struct vhc_dev *d, unsigned int q, __u16 want)
{
	struct vhost_vring_state s = { .index = q };
	__u64 one = 1;
	int waited;

	if (write(d->vqs[q].kick_fd, &one, sizeof(one)) != sizeof(one))
		return -1;
	for (waited = 0; waited < NET_WAIT_MS; waited += 10) {
		if (vht_ioctl(d, VHOST_GET_VRING_BASE, &s))
			return -1;
		if (s.num == want)
			break;
		usleep(10000);
	}
	return s.num;
}

/*
 * As gp_pos(), for the available position alone (GET_VRING_BASE's low 16
 * bits: on a packed ring the descriptor index, wrap counter in bit 15).
 */
static bool gp_avail_pos(struct vhc_dev *d, unsigned int q, __u16 want)
{
	struct vhost_vring_state s = { .index = q };
	int waited;

	for (waited = 0; waited < NET_WAIT_MS; waited += 10) {
		if (vht_ioctl(d, VHOST_GET_VRING_BASE, &s))
			return false;
		if ((__u16)s.num == want)
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * Wait up to @ms until queue @q of @d is back on the driver's ring: its
 * position is unknown again.  Returns whether it is.
 */
static bool gp_back(struct vhc_dev *d, unsigned int q, int ms)
{
	struct vhost_vring_state s = { .index = q };
	int waited;

	for (waited = 0; waited <= ms; waited += 10) {
		if (vht_ioctl(d, VHOST_GET_VRING_BASE, &s) &&
		    errno == EOPNOTSUPP)
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * The way back from shadow rings (generic-pci.rst, "Switching back"): a
 * migration destination that logs nothing relays each queue up to the
 * next wrap of its indexes, and once the card used everything before it,
 * the card's queue is reset and given the driver's ring, which it starts
 * at index 0 like the driver.  The state's positions are moved to just
 * before the wrap so that a few frames get there.  TX goes back first and
 * RX runs relayed in direct mode meanwhile; no frame is lost or doubled
 * on the way; a new dirty log moves both queues onto shadow rings again,
 * at the positions the driver reached.
 */
/*
 * A (EVENT_IDX) runs, goes on shadow rings and is saved; C takes its
 * driver side and the state with TX's positions (and RX's with @rx) moved
 * to just before the wrap, and runs without a log.  TX then goes back to
 * the driver's ring after at most two rounds of frames to B.
 */
static void gp_wrap_start(struct __test_metadata *_metadata,
			  struct net_port *a, struct net_port *b,
			  struct net_port *c, bool rx, __u16 *tx_pos,
			  __u16 *rx_pos)
{
	struct vhost_vring_state s = { .index = NET_TX_Q };
	struct net_rx_stats st;
	unsigned int tx_done, k;
	__u16 avail, want;
	void *blob;
	size_t len;
	long got;

	ASSERT_EQ(0, net_start_ctrl(a, NET_RING,
				    BIT_ULL(VIRTIO_RING_F_EVENT_IDX), 0, NULL));
	ASSERT_EQ(0, net_start(b, NET_RING));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	ASSERT_EQ(0, gp_log_start(a));
	net_xfer(_metadata, b, a, a->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	ASSERT_EQ(0, vhc_mig_set_state(&a->dev, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(&a->dev, &blob, &len));
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(&c->dev, &a->dev));
	gp_near_wrap(_metadata, &c->dev, blob, len, NET_TX_Q, tx_pos);
	if (rx) {
		gp_near_wrap(_metadata, &c->dev, blob, len, NET_RX_Q, rx_pos);
	} else {
		s.index = NET_RX_Q;
		ASSERT_EQ(0, vht_ioctl(&a->dev, VHOST_GET_VRING_BASE, &s));
		*rx_pos = s.num;
	}
	TH_LOG("TX from %u, RX from %u", *tx_pos, *rx_pos);
	gp_mig_start(_metadata, a, c, blob, len);

	/* On shadow rings from the loaded positions. */
	s.index = NET_TX_Q;
	ASSERT_EQ(0, vht_ioctl(&c->dev, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(*tx_pos, s.num);
	/* TX reaches the wrap within two rounds; RX is still relayed. */
	for (k = 0; k < 2; k++) {
		net_xfer(_metadata, c, b, b->mac, NET_WAIT_MS, &st, &tx_done);
		net_expect_all(_metadata, &st, tx_done);
	}
	EXPECT_TRUE(gp_back(&c->dev, NET_TX_Q, NET_WAIT_MS));
	/*
	 * RX is relayed at most as far as the driver added buffers (A may
	 * have stopped before it took the last ones), and never past the
	 * wrap.  How far depends on when the relay ran: while the card
	 * holds half the ring the driver's additions wait for a completion
	 * or a kick, and once the queue heads back a kick takes nothing
	 * past the wrap.
	 */
	avail = c->dev.vqs[NET_RX_Q].avail_idx;
	want = *rx_pos + (__u16)(avail - *rx_pos) > 0xffff ? 0 : avail;
	got = gp_pos(&c->dev, NET_RX_Q, want);
	ASSERT_LE(0, got);
	EXPECT_LE((__u16)((__u16)got - *rx_pos), (__u16)(want - *rx_pos));
}

/*
 * A dirty log on @c moves it onto shadow rings again: TX (all used) at the
 * driver's position, RX too with @rx_known (it was relayed: its position is
 * kept, not read again from the driver's used index, and reaches the
 * buffers the driver added last as the worker takes them); frames both ways
 * with B, RX buffers logged dirty, TX buffers not.
 */
static void gp_relog(struct __test_metadata *_metadata, struct net_port *c,
		     struct net_port *b, bool rx_known)
{
	struct vhost_vring_state s = { .index = NET_TX_Q };
	__u64 bits[GP_LOG_WORDS];
	struct net_rx_stats st;
	unsigned int tx_done;

	ASSERT_EQ(0, gp_log_start(c));
	ASSERT_EQ(0, vht_ioctl(&c->dev, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(c->dev.vqs[NET_TX_Q].avail_idx, s.num);
	if (rx_known)
		EXPECT_EQ(c->dev.vqs[NET_RX_Q].avail_idx,
			  gp_pos(&c->dev, NET_RX_Q,
				 c->dev.vqs[NET_RX_Q].avail_idx));
	memset(bits, 0, sizeof(bits));
	ASSERT_EQ(0, vhc_log_sync(&c->dev, 0, c->dev.mem_iova,
				  c->dev.mem_size, bits, NULL));
	net_xfer(_metadata, b, c, c->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, c, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	ASSERT_EQ(0, vhc_log_sync(&c->dev, 0, c->dev.mem_iova,
				  c->dev.mem_size, bits, NULL));
	gp_expect_rx_dirty(_metadata, c, bits);
	s.index = NET_TX_Q;
	ASSERT_EQ(0, vht_ioctl(&c->dev, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(c->dev.vqs[NET_TX_Q].avail_idx, s.num);
}

TEST_F(gp_mig, back_to_direct)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct net_port *c = &self->port[2];
	struct net_rx_stats st;
	unsigned int tx_done, k;
	__u16 tx_pos, rx_pos;

	if (_metadata->skip)
		return;
	gp_wrap_start(_metadata, a, b, c, true, &tx_pos, &rx_pos);
	/* Frames to C move RX past the wrap (at most two rings' worth). */
	for (k = 0; k < 5 && !gp_back(&c->dev, NET_RX_Q, 200); k++) {
		net_xfer(_metadata, b, c, c->mac, NET_WAIT_MS, &st, &tx_done);
		net_expect_all(_metadata, &st, tx_done);
	}
	EXPECT_TRUE(gp_back(&c->dev, NET_RX_Q, NET_WAIT_MS));
	net_xfer(_metadata, b, c, c->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, c, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);

	/* Logging again: shadow rings where the driver's indexes stand. */
	gp_relog(_metadata, c, b, false);
	ASSERT_EQ(0, vhc_log_stop(&c->dev, 0));
	/* The client kicks only where avail_event asks (vhc_vq_kick()). */
	TH_LOG("C's TX: %lu kicks, %lu left out; RX: %lu kicks, %lu left out",
	       c->dev.vqs[NET_TX_Q].kicks, c->dev.vqs[NET_TX_Q].kicks_saved,
	       c->dev.vqs[NET_RX_Q].kicks, c->dev.vqs[NET_RX_Q].kicks_saved);
}

/*
 * TX back on the driver's ring, RX still relayed with the card holding
 * its buffers: a dirty log then switches the whole device again, RX from
 * where the relay stood (its buffers handed over again), TX from where
 * the driver stands, and a cancelled save completes what was held.
 */
TEST_F(gp_mig, back_partly_then_log)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct net_port *c = &self->port[2];
	struct net_rx_stats st;
	unsigned int tx_done;
	__u16 tx_pos, rx_pos;

	if (_metadata->skip)
		return;
	gp_wrap_start(_metadata, a, b, c, false, &tx_pos, &rx_pos);
	net_xfer(_metadata, b, c, c->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	gp_relog(_metadata, c, b, true);
	net_send_all(_metadata, c, b->mac);
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RUNNING));
	net_collect(_metadata, c, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, b, c, c->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

#define GP_CVQ		2
/*
 * EVENT_IDX too: in direct mode a relayed control queue's card then only
 * interrupts when the relay moves its used_event along.
 */
#define GP_CTRL_FEATURES (BIT_ULL(VIRTIO_NET_F_CTRL_VQ) | \
			  BIT_ULL(VIRTIO_NET_F_CTRL_RX) | \
			  BIT_ULL(VIRTIO_NET_F_CTRL_MAC_ADDR) | \
			  BIT_ULL(VIRTIO_NET_F_CTRL_VLAN) | \
			  BIT_ULL(VIRTIO_RING_F_EVENT_IDX))
/* The VLAN the filter lets in; every other one is dropped. */
#define GP_VID		5

/*
 * Into @bad (room for @len + 32 bytes): @blob with a NET_OFFLOADS record
 * of @plen payload bytes (16, or 8: too short), offloads 0, appended.
 * Returns the record's payload; *@blen gets the new blob's size.
 */
static struct vdpa_mig_rec_net_offloads *
gp_add_offloads(void *bad, const void *blob, size_t len, __u32 plen,
		size_t *blen)
{
	struct vdpa_mig_blob_hdr *hdr = bad;
	struct vdpa_mig_rec_hdr *h;

	memcpy(bad, blob, len);
	h = (void *)((__u8 *)bad + len);
	memset(h, 0, sizeof(*h) + sizeof(struct vdpa_mig_rec_net_offloads));
	h->type = htole32(VDPA_MIG_REC_NET_OFFLOADS);
	h->flags = htole32(VDPA_MIG_REC_F_MANDATORY);
	h->len = htole32(plen);
	*blen = len + sizeof(*h) + plen;
	hdr->nr_records = htole32(le32toh(hdr->nr_records) + 1);
	hdr->total_len = htole64(*blen);
	return (void *)(h + 1);
}

/* A unicast address for MAC tables, and one no filter takes. */
static const __u8 gp_extra[6] = { 0x02, 0, 0, 0, 0x67, 0x77 };
static const __u8 gp_foreign[6] = { 0x02, 0, 0, 0, 0x67, 0x88 };

/* Run one control command on @p: its ack, or -1. */
static int gp_ctrl(struct net_port *p, __u8 *ctrl, __u8 class, __u8 cmd,
		   const void *data, __u32 len)
{
	struct vhc_vq *cvq = &p->dev.vqs[GP_CVQ];
	struct vhc_buf out = { ctrl, 2 + len };
	struct vhc_buf in = { ctrl + NET_CTRL_PAGE - 1, 1 };
	__u32 id, ulen;

	ctrl[0] = class;
	ctrl[1] = cmd;
	memcpy(ctrl + 2, data, len);
	ctrl[NET_CTRL_PAGE - 1] = 0xff;
	if (vhc_vq_add(cvq, &out, 1, &in, 1) < 0 || vhc_vq_kick(cvq) ||
	    vhc_vq_wait_used(cvq, &id, &ulen, NET_WAIT_MS))
		return -1;
	return ctrl[NET_CTRL_PAGE - 1];
}

/*
 * @p's driver turns promiscuous mode off, sets a MAC table of one
 * unicast address, @extra, and lets VLAN GP_VID in.
 */
static void gp_ctrl_filter(struct __test_metadata *_metadata,
			   struct net_port *p, __u8 *ctrl, const __u8 *extra)
{
	__u8 table[14] = { 1, 0, 0, 0 }, off = 0, bad = 0x7f;
	__le16 vid = htole16(GP_VID);

	memcpy(table + 4, extra, 6);	/* 1 unicast, then 0 multicast */
	ASSERT_EQ(VIRTIO_NET_OK,
		  gp_ctrl(p, ctrl, VIRTIO_NET_CTRL_RX,
			  VIRTIO_NET_CTRL_RX_PROMISC, &off, 1));
	ASSERT_EQ(VIRTIO_NET_OK,
		  gp_ctrl(p, ctrl, VIRTIO_NET_CTRL_MAC,
			  VIRTIO_NET_CTRL_MAC_TABLE_SET, table, sizeof(table)));
	ASSERT_EQ(VIRTIO_NET_OK,
		  gp_ctrl(p, ctrl, VIRTIO_NET_CTRL_VLAN,
			  VIRTIO_NET_CTRL_VLAN_ADD, &vid, sizeof(vid)));
	/* An unknown class is refused and changes nothing. */
	ASSERT_EQ(VIRTIO_NET_ERR, gp_ctrl(p, ctrl, bad, 0, &off, 1));
}

/*
 * @r's card filters: frames from @b for @foreign, and those for @r's own
 * address on a VLAN other than GP_VID, are dropped; those for @r's own
 * address (untagged and on GP_VID) and for @extra (its MAC table) all
 * arrive.
 */
static void gp_filter_check(struct __test_metadata *_metadata,
			    struct net_port *b, struct net_port *r,
			    const __u8 *extra, const __u8 *foreign)
{
	struct net_rx_stats st;
	unsigned int tx_done;

	net_xfer(_metadata, b, r, foreign, 1000, &st, &tx_done);
	EXPECT_EQ(NET_FRAMES, tx_done);
	EXPECT_EQ(0u, st.frames + st.bad);
	b->vid = GP_VID + 1;
	net_xfer(_metadata, b, r, r->mac, 1000, &st, &tx_done);
	EXPECT_EQ(NET_FRAMES, tx_done);
	EXPECT_EQ(0u, st.frames + st.bad);
	b->vid = GP_VID;
	net_xfer(_metadata, b, r, r->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	b->vid = 0;
	net_xfer(_metadata, b, r, r->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, b, r, extra, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

/*
 * What the driver sets through the control queue survives every reset of
 * the card: A's driver gives the card another address, turns promiscuous
 * mode off, puts one more unicast address in the MAC table and lets one
 * VLAN in (QEMU's card then drops every other tagged frame).  The card
 * filters in direct mode; on shadow rings (the switch resets the card,
 * which forgets all that; the state is replayed); and on C after a
 * migration.  The state travels in the same records as vdpa_gen_net's.
 */
TEST_F(gp_mig, ctrl_state)
{
	static const __u8 mac[6] = { 0x02, 0, 0, 0, 0x67, 0x66 };
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct net_port *c = &self->port[2];
	struct vdpa_mig_rec_net_offloads *off;
	struct vdpa_mig_rec_net_mac_table *tbl;
	struct vdpa_mig_rec_net_vlan *vlan;
	struct vdpa_mig_rec_net *net;
	unsigned int i, vids = 0;
	struct net_rx_stats st;
	void *blob, *off_blob;
	unsigned int tx_done;
	size_t len, off_len;
	__le64 offloads = 0;
	__u8 status = 0xff;
	__u8 on = 1, *ctrl;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, net_start_ctrl(a, NET_RING, GP_CTRL_FEATURES |
				    BIT_ULL(VIRTIO_NET_F_CTRL_GUEST_OFFLOADS),
				    GP_CVQ, &ctrl));
	ASSERT_EQ(0, net_start(b, NET_RING));
	/*
	 * QEMU's card refuses to set guest offloads without a vnet-header
	 * backend (ours is a hub port): a refused command is not followed,
	 * so no NET_OFFLOADS record is written below.
	 */
	ASSERT_EQ(VIRTIO_NET_ERR,
		  gp_ctrl(a, ctrl, VIRTIO_NET_CTRL_GUEST_OFFLOADS,
			  VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET, &offloads,
			  sizeof(offloads)));
	ASSERT_EQ(VIRTIO_NET_OK,
		  gp_ctrl(a, ctrl, VIRTIO_NET_CTRL_MAC,
			  VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6));
	memcpy(a->mac, mac, 6);
	gp_ctrl_filter(_metadata, a, ctrl, gp_extra);
	gp_filter_check(_metadata, b, a, gp_extra, gp_foreign);

	ASSERT_EQ(0, gp_log_start(a));
	gp_filter_check(_metadata, b, a, gp_extra, gp_foreign);

	ASSERT_EQ(0, vhc_mig_set_state(&a->dev, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(&a->dev, &blob, &len));
	net = gp_find_rec(blob, len, VDPA_MIG_REC_NET, GP_REC_ANY);
	tbl = gp_find_rec(blob, len, VDPA_MIG_REC_NET_MAC_TABLE, GP_REC_ANY);
	vlan = gp_find_rec(blob, len, VDPA_MIG_REC_NET_VLAN, GP_REC_ANY);
	ASSERT_NE(NULL, net);
	ASSERT_NE(NULL, tbl);
	ASSERT_NE(NULL, vlan);
	for (i = 0; i < 64; i++)
		vids += __builtin_popcountll(le64toh(vlan->bitmap[i]));
	EXPECT_EQ(1u, vids);
	EXPECT_EQ(1ull << GP_VID, le64toh(vlan->bitmap[0]));
	EXPECT_EQ(NULL, gp_find_rec(blob, len, VDPA_MIG_REC_NET_OFFLOADS,
				    GP_REC_ANY));
	EXPECT_EQ(0u, le32toh(net->rx_mode));
	EXPECT_EQ(1u, le32toh(net->mq_pairs));
	EXPECT_EQ(0, memcmp(net->mac, a->mac, 6));
	EXPECT_EQ(1u, le32toh(tbl->n_uni));
	EXPECT_EQ(0u, le32toh(tbl->n_multi));
	EXPECT_EQ(0, memcmp(tbl->mac[0], gp_extra, 6));

	/*
	 * C refuses guest offloads whose feature A's driver did not
	 * negotiate (at the commit: C is reset), and takes a record of the
	 * negotiated ones (none), which a reset gives: nothing to replay, no
	 * record when C saves.
	 */
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(&c->dev, &a->dev));
	off_blob = malloc(len + 32);
	ASSERT_NE(NULL, off_blob);
	off = gp_add_offloads(off_blob, blob, len, 16, &off_len);
	off->offloads = htole64(1ULL << VIRTIO_NET_F_GUEST_TSO4);
	EXPECT_ERRNO(EOPNOTSUPP, vhc_mig_load(&c->dev, off_blob, off_len));
	ASSERT_EQ(0, vhc_get_status(&c->dev, &status));
	EXPECT_EQ(0u, status);
	gp_add_offloads(off_blob, blob, len, 16, &off_len);
	free(blob);
	gp_mig_start(_metadata, a, c, off_blob, off_len);
	gp_filter_check(_metadata, b, c, gp_extra, gp_foreign);

	/* The control queue goes on working on C. */
	ASSERT_EQ(VIRTIO_NET_OK,
		  gp_ctrl(c, ctrl, VIRTIO_NET_CTRL_RX,
			  VIRTIO_NET_CTRL_RX_PROMISC, &on, 1));
	net_xfer(_metadata, b, c, gp_foreign, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	ASSERT_EQ(0, gp_log_start(c));
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(&c->dev, &blob, &len));
	EXPECT_EQ(NULL, gp_find_rec(blob, len, VDPA_MIG_REC_NET_OFFLOADS,
				    GP_REC_ANY));
	free(blob);
}

/*
 * Loading refuses in-flight lists that do not add up, leaving the
 * destination fresh; the true state then loads and C receives into the
 * RX buffers A's card held.
 */
TEST_F(gp_mig, load_bad_inflight)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct net_port *c = &self->port[2];
	struct vdpa_mig_rec_vq_inflight *in;
	struct vdpa_mig_rec_vq *vq;
	struct net_rx_stats st;
	unsigned int tx_done, k;
	__u8 status = 0xff;
	void *blob, *bad;
	size_t len;

	if (_metadata->skip)
		return;
	gp_shadow_save(_metadata, a, b, &blob, &len);
	in = gp_find_rec(blob, len, VDPA_MIG_REC_VQ_INFLIGHT, NET_RX_Q);
	vq = gp_find_rec(blob, len, VDPA_MIG_REC_VQ, NET_RX_Q);
	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, vq);
	/* The card holds every posted RX buffer it did not fill. */
	ASSERT_LT(1u, le32toh(in->count));
	ASSERT_EQ(le32toh(vq->avail_idx) - le32toh(vq->used_idx),
		  le32toh(in->count));

	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(&c->dev, &a->dev));
	bad = malloc(len);
	ASSERT_NE(NULL, bad);
	for (k = 0; k < 4; k++) {
		struct vdpa_mig_rec_vq_inflight *bin;
		struct vdpa_mig_rec_vq *bvq;

		memcpy(bad, blob, len);
		bin = gp_find_rec(bad, len, VDPA_MIG_REC_VQ_INFLIGHT, NET_RX_Q);
		bvq = gp_find_rec(bad, len, VDPA_MIG_REC_VQ, NET_RX_Q);
		switch (k) {
		case 0:	/* a head past the ring */
			bin->req[0].head = htole32(NET_RING);
			break;
		case 1:	/* the same head twice */
			bin->req[1].head = bin->req[0].head;
			break;
		case 2:	/* a position not yet available */
			bin->req[0].avail_pos = bvq->avail_idx;
			break;
		case 3:	/* more in flight than taken and not used */
			bvq->used_idx = htole32(le32toh(bvq->used_idx) + 1);
			break;
		}
		EXPECT_ERRNO(EINVAL, vhc_mig_load(&c->dev, bad, len)) {
			TH_LOG("case %u", k);
		}
		ASSERT_EQ(0, vhc_get_status(&c->dev, &status));
		EXPECT_EQ(0u, status);
	}
	free(bad);
	gp_mig_start(_metadata, a, c, blob, len);
	net_xfer(_metadata, b, c, c->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

/*
 * Packed rings across a migration: A starts on shadow rings (its log
 * started before DRIVER_OK), receives and sends over several laps, and
 * stops right after queueing frames for B.  Its card held every posted RX
 * buffer: all in flight, back to back from the used position.  Malformed
 * in-flight lists are refused, changing nothing; then C takes over: the
 * queued frames arrive once, and traffic runs both ways.
 */
TEST_F(gp_mig, packed_migrate)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct net_port *c = &self->port[2];
	const __u64 packed = BIT_ULL(VIRTIO_F_RING_PACKED);
	struct vdpa_mig_rec_vq_inflight *in;
	struct vdpa_mig_rec_vq *vq;
	unsigned int tx_done, k, used;
	struct net_rx_stats st;
	__u8 status = 0xff;
	void *blob, *bad;
	struct vhc_vq *rx;
	size_t len;

	if (_metadata->skip)
		return;
	if (!(a->dev.device_features & c->dev.device_features & packed))
		SKIP(return, "cards without packed rings");
	ASSERT_EQ(0, net_start(b, NET_RING));
	ASSERT_EQ(0, gp_log_start(a));
	ASSERT_EQ(0, net_start_ctrl(a, NET_RING, packed, 0, NULL));
	gp_laps(_metadata, a, b, 3);
	/*
	 * The relay took every RX buffer the driver posted last (the worker
	 * may still be on its way to them: saving now would find them only
	 * in the driver's ring, a state as valid, but not the one tested).
	 */
	rx = &a->dev.vqs[NET_RX_Q];
	EXPECT_TRUE(gp_avail_pos(&a->dev, NET_RX_Q,
				 rx->avail_idx | rx->avail_wrap << 15));
	net_send_all(_metadata, a, b->mac);
	ASSERT_EQ(0, vhc_mig_set_state(&a->dev, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(&a->dev, &blob, &len));

	in = gp_find_rec(blob, len, VDPA_MIG_REC_VQ_INFLIGHT, NET_RX_Q);
	vq = gp_find_rec(blob, len, VDPA_MIG_REC_VQ, NET_RX_Q);
	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, vq);
	EXPECT_NE(0u, le32toh(vq->flags) & VDPA_MIG_VQ_F_PACKED);
	/* 96 RX buffers used: one lap and a half; a full ring ahead. */
	used = le32toh(vq->used_idx);
	EXPECT_EQ(3 * NET_FRAMES % NET_RING, used);
	EXPECT_EQ(0u, le32toh(vq->used_wrap));
	EXPECT_EQ(used, le32toh(vq->avail_idx));
	EXPECT_EQ(1u, le32toh(vq->avail_wrap));
	EXPECT_EQ((__u32)NET_RING, le32toh(in->count));
	for (k = 0; in && k < le32toh(in->count); k++)
		EXPECT_EQ((used + k) % NET_RING, le32toh(in->req[k].avail_pos));

	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(&c->dev, &a->dev));
	bad = malloc(len);
	ASSERT_NE(NULL, bad);
	for (k = 0; k < 5; k++) {
		struct vdpa_mig_rec_vq_inflight *bin;
		struct vdpa_mig_rec_vq *bvq;
		struct vdpa_mig_inflight t;
		int err = EINVAL;

		memcpy(bad, blob, len);
		bin = gp_find_rec(bad, len, VDPA_MIG_REC_VQ_INFLIGHT, NET_RX_Q);
		bvq = gp_find_rec(bad, len, VDPA_MIG_REC_VQ, NET_RX_Q);
		switch (k) {
		case 0:	/* the oldest missing: cannot be read again */
			bin->count = htole32(le32toh(bin->count) - 1);
			memmove(&bin->req[0], &bin->req[1],
				sizeof(bin->req[0]) * le32toh(bin->count));
			err = EOPNOTSUPP;
			break;
		case 1:	/* out of ring order */
			t = bin->req[1];
			bin->req[1] = bin->req[2];
			bin->req[2] = t;
			break;
		case 2:	/* a position past the ring (vdpa_migrate's check) */
			bin->req[1].avail_pos = htole32(NET_RING);
			break;
		case 3:	/* the same buffer ID twice */
			bin->req[1].head = bin->req[0].head;
			break;
		case 4:	/* a used position past the ring */
			bvq->used_idx = htole32(NET_RING);
			break;
		}
		EXPECT_ERRNO(err, vhc_mig_load(&c->dev, bad, len)) {
			TH_LOG("case %u", k);
		}
		ASSERT_EQ(0, vhc_get_status(&c->dev, &status));
		EXPECT_EQ(0u, status);
	}

	/*
	 * Two buffer IDs swapped: the list looks right, but the chains read
	 * again at DRIVER_OK do not match it.  C does not start (EIO, the
	 * device needs a reset) and relays nothing; a reset lets it load
	 * again.
	 */
	memcpy(bad, blob, len);
	in = gp_find_rec(bad, len, VDPA_MIG_REC_VQ_INFLIGHT, NET_RX_Q);
	ASSERT_NE(NULL, in);
	k = in->req[0].head;
	in->req[0].head = in->req[1].head;
	in->req[1].head = k;
	ASSERT_EQ(0, vhc_mig_load(&c->dev, bad, len));
	EXPECT_ERRNO(EIO,
		     vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RUNNING));
	EXPECT_TRUE(net_needs_reset(&c->dev));
	/* The VMM resets the device, not the guest's rings. */
	ASSERT_EQ(0, vhc_set_status(&c->dev, 0));
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RESUMING));
	free(bad);
	gp_mig_start(_metadata, a, c, blob, len);

	ASSERT_EQ(0, vhc_vq_kick(&c->dev.vqs[NET_TX_Q]));
	net_collect(_metadata, c, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	EXPECT_EQ(0, c->dev.vqs[NET_RX_Q].num_free);
	gp_laps(_metadata, b, c, 2);
	gp_tx_irq(_metadata, c, b->mac);
}

/*
 * Hot upgrade of the parent: both net cards' devices are stopped and
 * saved, the VMM lets go of them (vhc_mig_detach(): it keeps the guest),
 * vdpa_gen_pci is unloaded and loaded again (the cards' driver_override
 * binds them back), devices of the same names come up on the same cards
 * and take the guest and the states.  The guest never resets: frames A had
 * queued arrive once, and traffic runs both ways on the new devices.
 */
FIXTURE(gp_upgrade) {
	struct net_port port[4];	/* A, B before; A, B after the reload */
};

FIXTURE_SETUP(gp_upgrade)
{
	static const char *const env[2] = { "GPCI_NET0", "GPCI_NET1" };

	self->port[2].dev.fd = -1;
	self->port[3].dev.fd = -1;
	gp_ports_setup(_metadata, self->port, env, 2, VHT_DRV_MIG);
	if (!_metadata->skip && !getenv("GPCI_KO"))
		SKIP(return, "GPCI_KO (vdpa_gen_pci.ko to reload) not set");
}

FIXTURE_TEARDOWN(gp_upgrade)
{
	gp_ports_teardown(self->port, 4);
}

/* rmmod + insmod of vdpa_gen_pci ($GPCI_KO). */
static int gp_reload_parent(void)
{
	int fd, ret = 0;

	if (syscall(SYS_delete_module, "vdpa_gen_pci", O_NONBLOCK))
		return -errno;
	fd = open(getenv("GPCI_KO"), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, "", 0))
		ret = -errno;
	close(fd);
	return ret;
}

/* @now: a device named like @old's, on card @env, takes @old's guest. */
static void gp_upgrade_attach(struct __test_metadata *_metadata,
			      struct net_port *old, struct net_port *now,
			      const char *env, void *blob, size_t len)
{
	char mgmt[64];

	ASSERT_TRUE(gp_mgmtdev(env, mgmt, sizeof(mgmt)));
	memcpy(now->name, old->name, sizeof(now->name));
	ASSERT_EQ(0, vhc_vdpa_add(mgmt, now->name, NULL));
	now->created = true;
	ASSERT_LE(0, vhc_bind(now->name));
	ASSERT_EQ(0, vhc_open(&now->dev, now->name));
	gp_mig_move(_metadata, old, now, blob, len);
}

TEST_F(gp_upgrade, reload_parent)
{
	static const char *const env[2] = { "GPCI_NET0", "GPCI_NET1" };
	struct net_port *old = self->port, *now = self->port + 2;
	struct net_rx_stats st;
	unsigned int tx_done;
	size_t len[2];
	void *blob[2];
	int i;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, net_start(&old[0], NET_RING));
	ASSERT_EQ(0, net_start(&old[1], NET_RING));
	net_xfer(_metadata, &old[0], &old[1], old[1].mac, NET_WAIT_MS, &st,
		 &tx_done);
	net_expect_all(_metadata, &st, tx_done);

	/* A's frames queued, B's RX ring full of posted buffers. */
	net_send_all(_metadata, &old[0], old[1].mac);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, vhc_mig_set_state(&old[i].dev,
					       VDPA_MIG_STATE_SAVING));
		ASSERT_EQ(0, vhc_mig_save(&old[i].dev, &blob[i], &len[i]));
	}
	for (i = 0; i < 2; i++) {
		vhc_mig_detach(&old[i].dev);
		ASSERT_EQ(0, vhc_vdpa_del(old[i].name));
		old[i].created = false;
	}
	ASSERT_EQ(0, gp_reload_parent());
	for (i = 0; i < 2; i++)
		gp_upgrade_attach(_metadata, &old[i], &now[i], env[i],
				  blob[i], len[i]);
	now[0].peer = &now[1];
	now[1].peer = &now[0];

	ASSERT_EQ(0, vhc_vq_kick(&now[0].dev.vqs[NET_TX_Q]));
	net_collect(_metadata, &now[0], &now[1], now[1].mac, NET_WAIT_MS, &st,
		    &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, &now[1], &now[0], now[0].mac, NET_WAIT_MS, &st,
		 &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, &now[0], &now[1], now[1].mac, NET_WAIT_MS, &st,
		 &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

/*
 * Cross-parent migration: A (PCI net card 0, peer B = card 1 on the hub)
 * moves to C, a port of vdpa_gen_net's software switch (peer D) made with
 * A's MAC, as a management stack provisions a destination.  The state
 * format is the same for both parents: C takes the RX buffers A's card
 * held from the in-flight list and traffic runs on the switch; then C
 * moves back to A.  The PCI parent takes C's net records because they
 * describe the card after a reset (no control queue was used); records
 * it would have to replay on the card are refused.
 */
FIXTURE(gp_xmig) {
	struct net_port port[4];	/* A, B (PCI); C, D (software) */
};

FIXTURE_SETUP(gp_xmig)
{
	static const char *const env[2] = { "GPCI_NET0", "GPCI_NET1" };
	char extra[64];
	int i;

	for (i = 2; i < 4; i++)
		self->port[i].dev.fd = -1;
	gp_ports_setup(_metadata, self->port, env, 2, VHT_DRV_MIG);
	if (_metadata->skip)
		return;
	if (!vhc_mgmtdev_present("vdpagen_net"))
		SKIP(return, "needs the vdpagen_net mgmtdev");
	for (i = 2; i < 4; i++) {
		struct net_port *p = &self->port[i];

		vht_dev_name(p->name, sizeof(p->name), "gpv", 'a' + i);
		p->mac[0] = 0x02;
		p->mac[5] = 0x5a + i;
		if (i == 2)
			memcpy(p->mac, self->port[0].mac, sizeof(p->mac));
		snprintf(extra, sizeof(extra),
			 "mac %02x:%02x:%02x:%02x:%02x:%02x", p->mac[0],
			 p->mac[1], p->mac[2], p->mac[3], p->mac[4], p->mac[5]);
		ASSERT_EQ(0, vhc_vdpa_add("vdpagen_net", p->name, extra));
		p->created = true;
		ASSERT_LE(0, vhc_bind(p->name));
		ASSERT_EQ(0, vhc_open(&p->dev, p->name));
		ASSERT_EQ(0, vhc_mem_init(&p->dev, NET_MEM_SIZE));
	}
	/* Both parents show the net config structure, not a card's region. */
	ASSERT_EQ(self->port[2].dev.config_size, self->port[0].dev.config_size);
}

FIXTURE_TEARDOWN(gp_xmig)
{
	gp_ports_teardown(self->port, 4);
}

/*
 * Net records a PCI device cannot take: malformed ones (EINVAL), and ones
 * that would have to be replayed on the card (EOPNOTSUPP); @d stays reset.
 * Cases 7..10 append a NET_OFFLOADS record (the blob's driver did not
 * negotiate CTRL_GUEST_OFFLOADS).
 */
static void gp_xmig_bad_net(struct __test_metadata *_metadata,
			    struct vhc_dev *d, const void *blob, size_t len)
{
	static const int expect[] = {
		EOPNOTSUPP, EOPNOTSUPP, EINVAL, EINVAL, EINVAL,
		EINVAL, EOPNOTSUPP, EOPNOTSUPP, EINVAL, EINVAL, EINVAL,
	};
	struct vdpa_mig_rec_net_offloads *off;
	struct vdpa_mig_rec_net_mac_table *tbl;
	struct vdpa_mig_rec_net_vlan *vlan;
	struct vdpa_mig_rec_net *net;
	__u8 status = 0xff;
	unsigned int k;
	size_t blen;
	void *bad;

	bad = malloc(len + 32);
	ASSERT_NE(NULL, bad);
	for (k = 0; k < ARRAY_SIZE(expect); k++) {
		blen = len;
		off = NULL;
		if (k < 7)
			memcpy(bad, blob, len);
		else
			off = gp_add_offloads(bad, blob, len, k == 10 ? 8 : 16,
					      &blen);
		net = gp_find_rec(bad, len, VDPA_MIG_REC_NET, GP_REC_ANY);
		tbl = gp_find_rec(bad, len, VDPA_MIG_REC_NET_MAC_TABLE,
				  GP_REC_ANY);
		vlan = gp_find_rec(bad, len, VDPA_MIG_REC_NET_VLAN,
				   GP_REC_ANY);
		ASSERT_NE(NULL, net);
		ASSERT_NE(NULL, tbl);
		ASSERT_NE(NULL, vlan);
		switch (k) {
		case 0:	/* another MAC than the card's */
			net->mac[5] ^= 1;
			break;
		case 1:	/* an RX mode the driver set */
			net->rx_mode = htole32(VDPA_MIG_NET_RX_ALLMULTI);
			break;
		case 2:	/* more queue pairs than the card has */
			net->mq_pairs = htole32(2);
			break;
		case 3:	/* no queue pair */
			net->mq_pairs = 0;
			break;
		case 4:	/* reserved bits */
			net->reserved = htole64(1);
			break;
		case 5:	/* a table entry the record has no room for */
			tbl->n_uni = htole32(1);
			break;
		case 6:	/* a VLAN */
			vlan->bitmap[63] = htole64(1ULL << 63);
			break;
		case 7:	/* guest offloads, without CTRL_GUEST_OFFLOADS */
			break;
		case 8:	/* an offload that is no guest offload */
			ASSERT_NE(NULL, off);
			off->offloads = htole64(1ULL << VIRTIO_NET_F_MAC);
			break;
		case 9:	/* reserved bits */
			ASSERT_NE(NULL, off);
			off->reserved = htole64(1);
			break;
		case 10: /* too short */
			break;
		}
		EXPECT_ERRNO(expect[k], vhc_mig_load(d, bad, blen)) {
			TH_LOG("case %u", k);
		}
		ASSERT_EQ(0, vhc_get_status(d, &status));
		EXPECT_EQ(0u, status);
	}
	free(bad);
}

TEST_F(gp_xmig, pci_to_software)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct net_port *c = &self->port[2], *d = &self->port[3];
	__u8 status = 0xff;
	struct net_rx_stats st;
	unsigned int tx_done;
	void *blob, *bad;
	size_t len, blen;

	if (_metadata->skip)
		return;
	gp_shadow_save(_metadata, a, b, &blob, &len);
	ASSERT_EQ(0, net_start(d, NET_RING));
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(&c->dev, &a->dev));
	/*
	 * vdpagen_net offers no guest offloads and refuses their record (a
	 * real source's driver would also have CTRL_GUEST_OFFLOADS, which
	 * it does not offer either).
	 */
	bad = malloc(len + 32);
	ASSERT_NE(NULL, bad);
	gp_add_offloads(bad, blob, len, 16, &blen);
	EXPECT_ERRNO(EOPNOTSUPP, vhc_mig_load(&c->dev, bad, blen));
	free(bad);
	ASSERT_EQ(0, vhc_get_status(&c->dev, &status));
	EXPECT_EQ(0u, status);
	gp_mig_start(_metadata, a, c, blob, len);
	/* Every RX buffer is one A's card held: C's driver adds none. */
	EXPECT_EQ(0, c->dev.vqs[NET_RX_Q].num_free);
	net_xfer(_metadata, d, c, c->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, c, d, d->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);

	/* Back to A. */
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(&c->dev, &blob, &len));
	ASSERT_NE(NULL, gp_find_rec(blob, len, VDPA_MIG_REC_NET, GP_REC_ANY));
	ASSERT_EQ(0, vhc_reset(&a->dev));
	ASSERT_EQ(0, vhc_mem_unmap(&a->dev));
	ASSERT_EQ(0, vhc_mig_set_state(&a->dev, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(&a->dev, &c->dev));
	gp_xmig_bad_net(_metadata, &a->dev, blob, len);
	ASSERT_EQ(0, vhc_get_status(&a->dev, &status));
	EXPECT_EQ(0u, status);
	gp_mig_start(_metadata, c, a, blob, len);
	net_xfer(_metadata, b, a, a->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

/*
 * The control-queue state crosses parents both ways: A's driver (PCI)
 * sets an RX filter, A moves to the vdpagen_net port C, whose switch port
 * then filters the same way, and back to A, whose card is given the
 * state again.
 */
TEST_F(gp_xmig, ctrl_both_ways)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct net_port *c = &self->port[2], *d = &self->port[3];
	__u8 *ctrl;
	void *blob;
	size_t len;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, net_start_ctrl(a, NET_RING, GP_CTRL_FEATURES, GP_CVQ,
				    &ctrl));
	ASSERT_EQ(0, net_start(b, NET_RING));
	ASSERT_EQ(0, net_start(d, NET_RING));
	gp_ctrl_filter(_metadata, a, ctrl, gp_extra);
	ASSERT_EQ(0, gp_log_start(a));
	ASSERT_EQ(0, vhc_mig_set_state(&a->dev, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(&a->dev, &blob, &len));
	gp_mig_move(_metadata, a, c, blob, len);
	gp_filter_check(_metadata, d, c, gp_extra, gp_foreign);

	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(&c->dev, &blob, &len));
	ASSERT_EQ(0, vhc_reset(&a->dev));
	ASSERT_EQ(0, vhc_mem_unmap(&a->dev));
	ASSERT_EQ(0, vhc_mig_set_state(&a->dev, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(&a->dev, &c->dev));
	gp_mig_start(_metadata, c, a, blob, len);
	gp_filter_check(_metadata, b, a, gp_extra, gp_foreign);
}

/*
 * blk migration between the two cards on one throttled image (5 IOPS): A
 * (GPCI_MIGBLK0) is stopped with writes in flight, C (GPCI_MIGBLK1) runs
 * them again; the driver must see each complete exactly once.
 */
struct gp_blk_req {
	struct virtio_blk_outhdr hdr;
	__u8 status;
	__u8 pad[47];
	__u8 data[GP_BLK_IO];
};

FIXTURE(gp_blkmig) {
	struct vhc_dev dev[2];	/* A (source), C (destination) */
	char name[2][32];
	bool created[2];
};

FIXTURE_VARIANT(gp_blkmig) {
	bool packed;
};

FIXTURE_VARIANT_ADD(gp_blkmig, split) {
	.packed = false,
};

/* Shadow rings from DRIVER_OK on: a running packed ring cannot switch. */
FIXTURE_VARIANT_ADD(gp_blkmig, packed) {
	.packed = true,
};

FIXTURE_SETUP(gp_blkmig)
{
	static const char *const env[2] = { "GPCI_MIGBLK0", "GPCI_MIGBLK1" };
	char mgmt[64];
	int i;

	for (i = 0; i < 2; i++)
		self->dev[i].fd = -1;
	if (!vhc_driver_present(VHT_DRV_MIG))
		SKIP(return, "vdpa_migrate not loaded");
	ASSERT_EQ(0, vhc_use(VHT_DRV_MIG));
	for (i = 0; i < 2; i++) {
		if (!gp_mgmtdev(env[i], mgmt, sizeof(mgmt)))
			SKIP(return, "%s: no vdpa_gen_pci blk card", env[i]);
		vht_dev_name(self->name[i], sizeof(self->name[i]), "gpm",
			     'a' + i);
		ASSERT_EQ(0, vhc_vdpa_add(mgmt, self->name[i], NULL));
		self->created[i] = true;
		ASSERT_LE(0, vhc_bind(self->name[i]));
		ASSERT_EQ(0, vhc_open(&self->dev[i], self->name[i]));
		ASSERT_EQ(VIRTIO_ID_BLOCK, (int)self->dev[i].device_id);
	}
	ASSERT_EQ(0, vhc_mem_init(&self->dev[0], 1 << 20));
}

FIXTURE_TEARDOWN(gp_blkmig)
{
	int i;

	for (i = 0; i < 2; i++) {
		vhc_close(&self->dev[i]);
		if (self->created[i])
			vhc_vdpa_del(self->name[i]);
	}
}

/* Byte @k of what the tests write at @sector. */
static __u8 gp_blk_byte(__u64 sector, unsigned int k)
{
	return (__u8)(sector / 64 * 37 + k * 11 + 1);
}

/*
 * Request @i: a write (or, @read, a read) of 4 KiB at sector @base + 64 *
 * @i.  The gaps keep QEMU from merging neighbouring writes into one
 * throttled I/O.
 */
static int gp_blk_submit(struct vhc_vq *vq, struct gp_blk_req *r, int i,
			 bool read, __u64 base)
{
	__u64 sector = base + (__u64)i * 64;
	struct vhc_buf hdr = { &r->hdr, sizeof(r->hdr) };
	struct vhc_buf data = { r->data, GP_BLK_IO };
	struct vhc_buf st = { &r->status, 1 };
	struct vhc_buf in[2] = { data, st };
	struct vhc_buf out[2] = { hdr, data };
	unsigned int k;

	r->hdr.type = htole32(read ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT);
	r->hdr.ioprio = 0;
	r->hdr.sector = htole64(sector);
	r->status = 0xff;
	if (read)
		return vhc_vq_add(vq, out, 1, in, 2);
	for (k = 0; k < GP_BLK_IO; k++)
		r->data[k] = gp_blk_byte(sector, k);
	return vhc_vq_add(vq, out, 2, &st, 1);
}

/* Read the @n writes at @base back through queue 0 of @d. */
static void gp_blk_read_back(struct __test_metadata *_metadata,
			     struct vhc_dev *d, struct gp_blk_req *req,
			     __u64 base, int n)
{
	__u32 id, len;
	unsigned int k;
	int i;

	for (i = 0; i < n; i++) {
		memset(req[i].data, 0, GP_BLK_IO);
		ASSERT_LE(0, gp_blk_submit(&d->vqs[0], &req[i], i, true, base));
	}
	ASSERT_EQ(0, vhc_vq_kick(&d->vqs[0]));
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, vhc_vq_wait_used(&d->vqs[0], &id, &len,
					      GP_BLK_WAIT_MS));
	for (i = 0; i < n; i++) {
		__u64 sector = base + (__u64)i * 64;

		for (k = 0; k < GP_BLK_IO; k++)
			if (req[i].data[k] != gp_blk_byte(sector, k))
				break;
		EXPECT_EQ(0, req[i].status);
		EXPECT_EQ((unsigned int)GP_BLK_IO, k) {
			TH_LOG("sector %llu: byte %u differs",
			       (unsigned long long)sector, k);
		}
	}
}

/* Queue 0 of a blk device, running; @d's memory is mapped. */
static int gp_blk_start(struct vhc_dev *d, __u64 features)
{
	int ret;

	ret = vhc_negotiate(d, BIT_ULL(VIRTIO_F_VERSION_1) |
			    BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) | features);
	if (!ret)
		ret = vhc_vq_setup(d, 0, 64);
	if (!ret)
		ret = vhc_driver_ok(d);
	return ret;
}

/* Count a completion of @id against the request it is the head of. */
static void gp_blk_done(struct __test_metadata *_metadata, const int *head,
			int *done, __u32 id)
{
	int k;

	for (k = 0; k < GP_BLK_REQS && (__u32)head[k] != id; k++)
		;
	ASSERT_GT(GP_BLK_REQS, k);
	done[k]++;
}

/*
 * Half the writes are kicked and one of them completes on A; the other
 * half are made available without a kick when A stops.  Whatever A's card
 * held when it stopped (QEMU's virtio-blk finishes its requests while it
 * resets, so usually nothing) and whatever it never took run on C: the
 * driver sees each write complete exactly once, and the disk both cards
 * share holds every write.
 */
TEST_F(gp_blkmig, writes_across_the_stop)
{
	struct vhc_dev *a = &self->dev[0], *c = &self->dev[1];
	int head[GP_BLK_REQS], done[GP_BLK_REQS] = {}, on_a = 0, i;
	__u64 packed = variant->packed ? BIT_ULL(VIRTIO_F_RING_PACKED) : 0;
	/* Ring positions a write takes: packed rings count descriptors. */
	unsigned int per = variant->packed ? 3 : 1;
	struct vdpa_mig_rec_vq_inflight *in;
	struct vdpa_mig_rec_vq *vq;
	struct gp_blk_req *req;
	__u32 id, len;
	size_t blen;
	void *blob;

	if (_metadata->skip)
		return;
	if ((a->device_features & c->device_features & packed) != packed)
		SKIP(return, "cards without packed rings");
	req = vhc_alloc(a, sizeof(*req) * GP_BLK_REQS, 4096);
	ASSERT_NE(NULL, req);
	ASSERT_EQ(0, vhc_mem_map(a));
	if (packed)
		ASSERT_EQ(0, gp_dev_log_start(a));
	ASSERT_EQ(0, gp_blk_start(a, packed));
	ASSERT_EQ(packed, a->features & packed);
	for (i = 0; i < GP_BLK_REQS; i++) {
		head[i] = a->vqs[0].free_head;
		ASSERT_LE(0, gp_blk_submit(&a->vqs[0], &req[i], i, false, 0));
		if (i == GP_BLK_REQS / 2 - 1)
			ASSERT_EQ(0, vhc_vq_kick(&a->vqs[0]));
	}
	ASSERT_EQ(0, vhc_vq_wait_used(&a->vqs[0], &id, &len, GP_BLK_WAIT_MS));
	gp_blk_done(_metadata, head, done, id);
	on_a++;

	ASSERT_EQ(0, vhc_mig_set_state(a, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(a, &blob, &blen));
	/* What A finished before its card stopped. */
	while (vhc_vq_get_used(&a->vqs[0], &id, &len) > 0) {
		gp_blk_done(_metadata, head, done, id);
		on_a++;
	}
	in = gp_find_rec(blob, blen, VDPA_MIG_REC_VQ_INFLIGHT, 0);
	vq = gp_find_rec(blob, blen, VDPA_MIG_REC_VQ, 0);
	ASSERT_NE(NULL, vq);
	TH_LOG("A: %d write(s) done, %u in flight, %u never taken", on_a,
	       in ? le32toh(in->count) : 0,
	       GP_BLK_REQS - le32toh(vq->avail_idx) / per);
	EXPECT_EQ((__u32)on_a * per, le32toh(vq->used_idx));
	EXPECT_EQ(!!packed, !!(le32toh(vq->flags) & VDPA_MIG_VQ_F_PACKED));

	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(c, a));
	ASSERT_EQ(0, vhc_mig_load(c, blob, blen));
	free(blob);
	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_RUNNING));
	ASSERT_EQ(0, vhc_vq_kick(&c->vqs[0]));
	for (i = on_a; i < GP_BLK_REQS; i++) {
		ASSERT_EQ(0, vhc_vq_wait_used(&c->vqs[0], &id, &len,
					      GP_BLK_WAIT_MS));
		gp_blk_done(_metadata, head, done, id);
	}
	EXPECT_ERRNO(ETIMEDOUT, vhc_vq_wait_used(&c->vqs[0], &id, &len, 500));
	for (i = 0; i < GP_BLK_REQS; i++) {
		EXPECT_EQ(1, done[i]);
		EXPECT_EQ(0, req[i].status);
	}

	/* Every write reached the disk both cards share: read it back. */
	gp_blk_read_back(_metadata, c, req, 0, GP_BLK_REQS);
}

/*
 * The way back on a blk card (split rings only: a packed ring keeps its
 * shadow ring).  Eight writes through an 8-entry ring of indirect chains,
 * four kicked on A; A is saved and C loads the state moved by a multiple
 * of the ring size to less than a ring before the wrap (A's card took
 * what it completed in the stop's grace periods, the rest is C's).  Once
 * C's card completed what A left (each write once), the queue goes
 * back to the driver's ring, where the card then reads indirect tables
 * itself (the feature stays negotiated on shadow rings), and the writes
 * read back through it.
 */
#define GP_BACK_N	8
#define GP_BACK_BASE	7168	/* sectors, clear of the other tests */

TEST_F(gp_blkmig, back_to_direct)
{
	struct vhc_dev *a = &self->dev[0], *c = &self->dev[1];
	int head[GP_BACK_N], done[GP_BACK_N] = {}, n_done = 0, i, k;
	struct gp_blk_req *req;
	__u32 id, len;
	size_t blen;
	void *blob;
	__u16 pos;

	if (_metadata->skip)
		return;
	if (variant->packed)
		SKIP(return, "a packed ring keeps its shadow ring");
	req = vhc_alloc(a, sizeof(*req) * GP_BACK_N, 4096);
	ASSERT_NE(NULL, req);
	ASSERT_EQ(0, vhc_mem_map(a));
	ASSERT_EQ(0, vhc_negotiate(a, BIT_ULL(VIRTIO_F_VERSION_1) |
				   BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) |
				   BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC)));
	ASSERT_EQ(0, vhc_vq_setup(a, 0, GP_BACK_N));
	ASSERT_EQ(0, vhc_vq_set_indirect(&a->vqs[0]));
	ASSERT_EQ(0, vhc_driver_ok(a));
	for (i = 0; i < GP_BACK_N; i++) {
		head[i] = a->vqs[0].free_head;
		ASSERT_LE(0, gp_blk_submit(&a->vqs[0], &req[i], i, false,
					   GP_BACK_BASE));
		if (i == GP_BACK_N / 2 - 1)
			ASSERT_EQ(0, vhc_vq_kick(&a->vqs[0]));
	}
	ASSERT_EQ(0, vhc_mig_set_state(a, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(a, &blob, &blen));
	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(c, a));
	gp_near_wrap(_metadata, c, blob, blen, 0, &pos);
	TH_LOG("C reads from %u", pos);
	ASSERT_EQ(0, vhc_mig_load(c, blob, blen));
	free(blob);
	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_RUNNING));
	ASSERT_EQ(0, vhc_vq_kick(&c->vqs[0]));
	while (n_done < GP_BACK_N) {
		ASSERT_EQ(0, vhc_vq_wait_used(&c->vqs[0], &id, &len,
					      GP_BLK_WAIT_MS));
		for (k = 0; k < GP_BACK_N && (__u32)head[k] != id; k++)
			;
		ASSERT_GT(GP_BACK_N, k);
		done[k]++;
		n_done++;
	}
	EXPECT_ERRNO(ETIMEDOUT, vhc_vq_wait_used(&c->vqs[0], &id, &len, 500));
	for (i = 0; i < GP_BACK_N; i++) {
		EXPECT_EQ(1, done[i]);
		EXPECT_EQ(0, req[i].status);
	}
	EXPECT_TRUE(gp_back(c, 0, NET_WAIT_MS));

	/* On the driver's ring: the card reads the writes back itself. */
	gp_blk_read_back(_metadata, c, req, GP_BACK_BASE, GP_BACK_N);
	EXPECT_TRUE(gp_back(c, 0, NET_WAIT_MS));
}

/*
 * Chains completed behind an older one.  QEMU's virtio-blk answers GET_ID
 * at once, while the writes around it wait for the throttle: the card
 * completes out of order.  On shadow rings from DRIVER_OK on, a split
 * ring passes that order on (an ID completes before any write), a packed
 * one hands the used elements back in the driver's order: the spec lets a
 * device complete packed buffers in any order, but our relay writes each
 * used element over the first descriptor of its own chain, so that the
 * chains still in flight stay readable for a migration, and a chain done
 * early waits for the older ones (Documentation/vdpa/generic-pci.rst).
 * Either way every request completes once, with its data: the ID string,
 * the writes read back.
 */
#define GP_HELD_BASE	2048	/* sectors, clear of the other tests */
#define GP_HELD_IDS	3	/* GET_IDs, after each of the first writes */

TEST_F(gp_blkmig, held_back)
{
	struct vhc_dev *a = &self->dev[0];
	__u64 packed = variant->packed ? BIT_ULL(VIRTIO_F_RING_PACKED) : 0;
	int head[GP_BLK_REQS + GP_HELD_IDS], order[GP_BLK_REQS + GP_HELD_IDS];
	const int n = GP_BLK_REQS + GP_HELD_IDS;
	struct gp_blk_req *req, *idr;
	int i, k, w = 0, first_write = -1;
	char serial[21] = {};
	__u32 id, len;

	if (_metadata->skip)
		return;
	if ((a->device_features & packed) != packed)
		SKIP(return, "card without packed rings");
	req = vhc_alloc(a, sizeof(*req) * GP_BLK_REQS, 4096);
	idr = vhc_alloc(a, sizeof(*idr) * GP_HELD_IDS, 4096);
	ASSERT_NE(NULL, req);
	ASSERT_NE(NULL, idr);
	ASSERT_EQ(0, vhc_mem_map(a));
	ASSERT_EQ(0, gp_dev_log_start(a));
	ASSERT_EQ(0, gp_blk_start(a, packed));
	ASSERT_EQ(packed, a->features & packed);
	/* W0 ID W1 ID W2 ID W3 ... W11 */
	for (k = 0; k < n; k++) {
		bool is_id = k <= 2 * GP_HELD_IDS && k % 2;
		struct gp_blk_req *r = is_id ? &idr[k / 2] : &req[w];
		struct vhc_buf hdr = { &r->hdr, sizeof(r->hdr) };
		struct vhc_buf in[2] = {
			{ r->data, VIRTIO_BLK_ID_BYTES }, { &r->status, 1 },
		};

		head[k] = a->vqs[0].free_head;
		if (!is_id) {
			ASSERT_LE(0, gp_blk_submit(&a->vqs[0], r, w++, false,
						   GP_HELD_BASE));
			continue;
		}
		r->hdr.type = htole32(VIRTIO_BLK_T_GET_ID);
		r->hdr.sector = 0;
		r->status = 0xff;
		ASSERT_LE(0, vhc_vq_add(&a->vqs[0], &hdr, 1, in, 2));
	}
	ASSERT_EQ(0, vhc_vq_kick(&a->vqs[0]));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, vhc_vq_wait_used(&a->vqs[0], &id, &len,
					      GP_BLK_WAIT_MS));
		for (k = 0; k < n && (__u32)head[k] != id; k++)
			;
		ASSERT_GT(n, k);
		order[i] = k;
		if (first_write < 0 && !(k <= 2 * GP_HELD_IDS && k % 2))
			first_write = i;
	}
	EXPECT_ERRNO(ETIMEDOUT, vhc_vq_wait_used(&a->vqs[0], &id, &len, 300));
	for (i = 0; i < n && order[i] == i; i++)
		;
	TH_LOG("first completion out of order at %d of %d, first write %d",
	       i, n, first_write);
	/* Packed: the driver's order.  Split: the card's, IDs overtaking. */
	EXPECT_EQ(!!packed, i == n);
	if (!packed)
		EXPECT_LT(0, first_write);
	for (k = 0; k < GP_HELD_IDS; k++) {
		EXPECT_EQ(0, idr[k].status);
		memcpy(serial, idr[k].data, VIRTIO_BLK_ID_BYTES);
		EXPECT_STREQ("gpci-mig0", serial);
	}
	for (k = 0; k < GP_BLK_REQS; k++)
		EXPECT_EQ(0, req[k].status);
	gp_blk_read_back(_metadata, a, req, GP_HELD_BASE, GP_BLK_REQS);
	ASSERT_EQ(0, vhc_log_stop(a, 0));
}

/*
 * blk across parents, on the throttled image: A (vdpa_gen_pci on
 * GPCI_MIGBLK0) moves to C, a vdpagen_blk device backed by GPCI_MIGDISK (a
 * third card on that image, left to virtio_blk), and C moves on to E
 * (vdpa_gen_pci on GPCI_MIGBLK1).  Both parents write and check the same
 * blk record (capacity, read-only, cache mode).
 */
#define GP_XBLK_KNOBS	"/sys/devices/vdpagen_blk/"
#define GP_XBLK_BASE0	4096	/* sectors: away from what blkid read */
#define GP_XBLK_BASE1	6144

FIXTURE(gp_xblk) {
	struct vhc_dev dev[3];	/* A (PCI), C (software), E (PCI) */
	char name[3][32];
	bool created[3];
	char saved_backing[256];
	bool knob_set;
};

FIXTURE_SETUP(gp_xblk)
{
	static const char *const env[3] = {
		"GPCI_MIGBLK0", NULL, "GPCI_MIGBLK1"
	};
	const char *disk = getenv("GPCI_MIGDISK");
	char mgmt[64], buf[256] = "";
	int i, fd;

	for (i = 0; i < 3; i++)
		self->dev[i].fd = -1;
	if (!vhc_driver_present(VHT_DRV_MIG))
		SKIP(return, "vdpa_migrate not loaded");
	if (!vhc_mgmtdev_present("vdpagen_blk"))
		SKIP(return, "needs the vdpagen_blk mgmtdev");
	if (!disk || !*disk)
		SKIP(return, "GPCI_MIGDISK: no disk on the throttled image");
	ASSERT_EQ(0, vhc_use(VHT_DRV_MIG));
	fd = open(GP_XBLK_KNOBS "backing", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, read(fd, buf, sizeof(buf) - 1));
	close(fd);
	buf[strcspn(buf, "\n")] = 0;
	snprintf(self->saved_backing, sizeof(self->saved_backing), "%s", buf);
	ASSERT_EQ(0, vhc_sysfs_write(GP_XBLK_KNOBS "backing", disk));
	self->knob_set = true;

	for (i = 0; i < 3; i++) {
		if (env[i] && !gp_mgmtdev(env[i], mgmt, sizeof(mgmt)))
			SKIP(return, "%s: no vdpa_gen_pci blk card", env[i]);
		vht_dev_name(self->name[i], sizeof(self->name[i]), "gpx",
			     'a' + i);
		ASSERT_EQ(0, vhc_vdpa_add(env[i] ? mgmt : "vdpagen_blk",
					  self->name[i], NULL));
		self->created[i] = true;
		ASSERT_LE(0, vhc_bind(self->name[i]));
		ASSERT_EQ(0, vhc_open(&self->dev[i], self->name[i]));
		ASSERT_EQ(VIRTIO_ID_BLOCK, (int)self->dev[i].device_id);
	}
	ASSERT_EQ(0, vhc_mem_init(&self->dev[0], 1 << 20));
}

FIXTURE_TEARDOWN(gp_xblk)
{
	int i;

	for (i = 0; i < 3; i++) {
		vhc_close(&self->dev[i]);
		if (self->created[i])
			vhc_vdpa_del(self->name[i]);
	}
	if (self->knob_set)
		vhc_sysfs_write(GP_XBLK_KNOBS "backing",
				self->saved_backing[0] ? self->saved_backing :
				"\n");
}

/* Take every completion @d has now; @n counts them. */
static void gp_xblk_reap(struct __test_metadata *_metadata, struct vhc_dev *d,
			 const int *head, int *done, int *n)
{
	__u32 id, len;

	while (vhc_vq_get_used(&d->vqs[0], &id, &len) > 0) {
		gp_blk_done(_metadata, head, done, id);
		(*n)++;
	}
}

/*
 * Stop @from, take what it completed until then, and move its driver side
 * to @to through a saved state.
 */
static void gp_xblk_move(struct __test_metadata *_metadata,
			 struct vhc_dev *from, struct vhc_dev *to,
			 const int *head, int *done, int *n)
{
	size_t blen;
	void *blob;

	ASSERT_EQ(0, vhc_mig_set_state(from, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(from, &blob, &blen));
	gp_xblk_reap(_metadata, from, head, done, n);
	ASSERT_EQ(0, vhc_mig_set_state(to, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(to, from));
	ASSERT_EQ(0, vhc_mig_load(to, blob, blen));
	free(blob);
	ASSERT_EQ(0, vhc_mig_set_state(to, VDPA_MIG_STATE_RUNNING));
}

/*
 * PCI to software: writes kicked on A, one waited for, the rest done on A
 * before it stopped or carried to C; C reads them all back (through the
 * third card).  Software to PCI: half of C's writes complete on C, half
 * are made available without a kick; E, on the image directly, reads
 * every one back, so what C completed was on the image when it stopped.
 */
TEST_F(gp_xblk, pci_software_pci)
{
	struct vhc_dev *a = &self->dev[0], *c = &self->dev[1];
	struct vhc_dev *e = &self->dev[2];
	int head[GP_BLK_REQS], done[GP_BLK_REQS] = {}, n = 0, i, k;
	struct gp_blk_req *req;
	__u32 id, len;

	if (_metadata->skip)
		return;
	req = vhc_alloc(a, sizeof(*req) * GP_BLK_REQS, 4096);
	ASSERT_NE(NULL, req);
	ASSERT_EQ(0, vhc_mem_map(a));
	ASSERT_EQ(0, gp_blk_start(a, BIT_ULL(VIRTIO_BLK_F_FLUSH)));
	for (i = 0; i < GP_BLK_REQS; i++) {
		head[i] = a->vqs[0].free_head;
		ASSERT_LE(0, gp_blk_submit(&a->vqs[0], &req[i], i, false,
					   GP_XBLK_BASE0));
	}
	ASSERT_EQ(0, vhc_vq_kick(&a->vqs[0]));
	ASSERT_EQ(0, vhc_vq_wait_used(&a->vqs[0], &id, &len, GP_BLK_WAIT_MS));
	gp_blk_done(_metadata, head, done, id);
	n++;
	gp_xblk_move(_metadata, a, c, head, done, &n);
	TH_LOG("A: %d write(s) done before the stop", n);
	ASSERT_EQ(0, vhc_vq_kick(&c->vqs[0]));
	while (n < GP_BLK_REQS) {
		ASSERT_EQ(0, vhc_vq_wait_used(&c->vqs[0], &id, &len,
					      GP_BLK_WAIT_MS));
		gp_blk_done(_metadata, head, done, id);
		n++;
	}
	EXPECT_ERRNO(ETIMEDOUT, vhc_vq_wait_used(&c->vqs[0], &id, &len, 500));
	for (i = 0; i < GP_BLK_REQS; i++) {
		EXPECT_EQ(1, done[i]);
		EXPECT_EQ(0, req[i].status);
	}
	gp_blk_read_back(_metadata, c, req, GP_XBLK_BASE0, GP_BLK_REQS);

	memset(done, 0, sizeof(done));
	n = 0;
	for (i = 0; i < GP_BLK_REQS; i++) {
		if (i == GP_BLK_REQS / 2) {
			ASSERT_EQ(0, vhc_vq_kick(&c->vqs[0]));
			while (n < i) {
				ASSERT_EQ(0, vhc_vq_wait_used(&c->vqs[0], &id,
							      &len,
							      GP_BLK_WAIT_MS));
				gp_blk_done(_metadata, head, done, id);
				n++;
			}
			/* Their descriptors are free again: the rest reuse them. */
			for (k = 0; k < i; k++)
				head[k] = -1;
		}
		head[i] = c->vqs[0].free_head;
		ASSERT_LE(0, gp_blk_submit(&c->vqs[0], &req[i], i, false,
					   GP_XBLK_BASE1));
	}
	gp_xblk_move(_metadata, c, e, head, done, &n);
	TH_LOG("C: %d write(s) done before the stop", n);
	ASSERT_EQ(0, vhc_vq_kick(&e->vqs[0]));
	while (n < GP_BLK_REQS) {
		ASSERT_EQ(0, vhc_vq_wait_used(&e->vqs[0], &id, &len,
					      GP_BLK_WAIT_MS));
		gp_blk_done(_metadata, head, done, id);
		n++;
	}
	EXPECT_ERRNO(ETIMEDOUT, vhc_vq_wait_used(&e->vqs[0], &id, &len, 500));
	for (i = 0; i < GP_BLK_REQS; i++) {
		EXPECT_EQ(1, done[i]);
		EXPECT_EQ(0, req[i].status);
	}
	gp_blk_read_back(_metadata, e, req, GP_XBLK_BASE1, GP_BLK_REQS);
}

/*
 * A blk record this card cannot honour (another disk size, a read-only
 * flag it does not have, a cache mode or reserved bits out of range) is
 * refused with EINVAL and the destination stays reset; the state as saved
 * loads.
 */
TEST_F(gp_xblk, bad_blk_record)
{
	struct vhc_dev *a = &self->dev[0], *e = &self->dev[2];
	struct vdpa_mig_rec_blk *rec;
	struct vdpa_mig_info info;
	__u8 status = 0xff;
	void *blob, *bad;
	size_t len;
	unsigned int k;

	if (_metadata->skip)
		return;
	/* Unlike net, blk has its device-type record. */
	ASSERT_EQ(0, vhc_mig_info(a, &info));
	EXPECT_EQ(VDPA_MIG_CAP_STATE | VDPA_MIG_CAP_TYPE_STATE |
		  VDPA_MIG_CAP_INFLIGHT | VDPA_MIG_CAP_DIRTY_LOG, info.caps);
	ASSERT_EQ(0, vhc_mem_map(a));
	ASSERT_EQ(0, gp_blk_start(a, 0));
	ASSERT_EQ(0, vhc_mig_set_state(a, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(a, &blob, &len));
	rec = gp_find_rec(blob, len, VDPA_MIG_REC_BLK, GP_REC_ANY);
	ASSERT_NE(NULL, rec);
	EXPECT_EQ(4u << 20 >> 9, le64toh(rec->capacity));
	EXPECT_EQ(0u, le32toh(rec->read_only));

	ASSERT_EQ(0, vhc_mig_set_state(e, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(e, a));
	bad = malloc(len);
	ASSERT_NE(NULL, bad);
	for (k = 0; k < 4; k++) {
		memcpy(bad, blob, len);
		rec = gp_find_rec(bad, len, VDPA_MIG_REC_BLK, GP_REC_ANY);
		switch (k) {
		case 0:
			rec->capacity = htole64(le64toh(rec->capacity) + 8);
			break;
		case 1:
			rec->read_only = htole32(1);
			break;
		case 2:
			rec->writeback = htole32(2);
			break;
		case 3:
			rec->reserved = htole64(1);
			break;
		}
		EXPECT_ERRNO(EINVAL, vhc_mig_load(e, bad, len)) {
			TH_LOG("case %u", k);
		}
		ASSERT_EQ(0, vhc_get_status(e, &status));
		EXPECT_EQ(0u, status);
	}
	free(bad);
	EXPECT_EQ(0, vhc_mig_load(e, blob, len));
	free(blob);
	EXPECT_EQ(0, vhc_mig_set_state(e, VDPA_MIG_STATE_RUNNING));
}

/*
 * Create a device named after @prefix on the card in environment variable
 * @env, bind it to @driver and open it as @d, of virtio type @id;
 * @created once it exists.  Skips the test without the driver or card.
 */
static void gp_card_open(struct __test_metadata *_metadata, const char *env,
			 const char *driver, const char *prefix, int id,
			 char name[32], bool *created, struct vhc_dev *d)
{
	char mgmt[64];

	d->fd = -1;
	if (!vhc_driver_present(driver))
		SKIP(return, "vdpa driver %s not loaded", driver);
	if (!gp_mgmtdev(env, mgmt, sizeof(mgmt)))
		SKIP(return, "%s: no such vdpa_gen_pci card", env);
	ASSERT_EQ(0, vhc_use(driver));
	vht_dev_name(name, 32, prefix, 'a');
	ASSERT_EQ(0, vhc_vdpa_add(mgmt, name, NULL));
	*created = true;
	ASSERT_LE(0, vhc_bind(name));
	ASSERT_EQ(0, vhc_open(d, name));
	ASSERT_EQ(id, (int)d->device_id);
}

FIXTURE(gp_rng) {
	char name[32];
	bool created;
	struct vhc_dev dev;
};

FIXTURE_VARIANT(gp_rng) {
	const char *driver;
};

FIXTURE_VARIANT_ADD(gp_rng, vhost_vdpa) {
	.driver = VHT_DRV_KERNEL,
};

FIXTURE_VARIANT_ADD(gp_rng, vdpa_migrate) {
	.driver = VHT_DRV_MIG,
};

FIXTURE_SETUP(gp_rng)
{
	gp_card_open(_metadata, "GPCI_RNG", variant->driver, "gpr",
		     VIRTIO_ID_RNG, self->name, &self->created, &self->dev);
	if (_metadata->skip)
		return;
	ASSERT_EQ(1u, self->dev.nvqs);
	ASSERT_EQ(0, vhc_mem_init(&self->dev, 64 * 1024));
}

FIXTURE_TEARDOWN(gp_rng)
{
	vhc_close(&self->dev);
	if (self->created)
		vhc_vdpa_del(self->name);
}

/* The card fills device-writable buffers with random bytes. */
TEST_F(gp_rng, bytes)
{
	struct vhc_dev *d = &self->dev;
	struct vhc_vq *vq = &d->vqs[0];
	__u8 *buf[GP_RNG_BUFS];
	unsigned int got = 0, zeros = 0, i;
	__u32 id, len;

	if (_metadata->skip)
		return;
	for (i = 0; i < GP_RNG_BUFS; i++) {
		buf[i] = vhc_alloc(d, GP_RNG_LEN, 64);
		ASSERT_NE(NULL, buf[i]);
		memset(buf[i], 0, GP_RNG_LEN);
	}
	ASSERT_EQ(0, vhc_mem_map(d));
	ASSERT_EQ(0, vhc_negotiate(d, BIT_ULL(VIRTIO_F_VERSION_1) |
				   BIT_ULL(VIRTIO_F_ACCESS_PLATFORM)));
	ASSERT_EQ(0, vhc_vq_setup(d, 0, d->vq_num_max < 8 ? d->vq_num_max : 8));
	ASSERT_EQ(0, vhc_driver_ok(d));
	for (i = 0; i < GP_RNG_BUFS; i++) {
		struct vhc_buf b = { buf[i], GP_RNG_LEN };

		ASSERT_LE(0, vhc_vq_add(vq, NULL, 0, &b, 1));
	}
	ASSERT_EQ(0, vhc_vq_kick(vq));
	for (i = 0; i < GP_RNG_BUFS; i++) {
		ASSERT_EQ(0, vhc_vq_wait_used(vq, &id, &len, 5000));
		ASSERT_GT(len, 0u);
		ASSERT_GE((__u32)GP_RNG_LEN, len);
		got += len;
	}
	/* 1024 random bytes hold a handful of zeros, not hundreds. */
	for (i = 0; i < GP_RNG_BUFS; i++)
		for (unsigned int j = 0; j < GP_RNG_LEN; j++)
			zeros += !buf[i][j];
	TH_LOG("%u random bytes, %u of them zero", got, zeros);
	EXPECT_LT(zeros, 64u);
	EXPECT_NE(0, memcmp(buf[0], buf[1], 64));
}

/*
 * scsi: the scsi-hd (target 0, LUN 0) behind the virtio-scsi-pci card,
 * through request queue 0 (virtqueue 2).  vm.prepare makes its image.
 */
#define GP_SCSI_REQ_VQ	2
#define GP_SCSI_BLOCKS	(32u << 20 >> 9)	/* 32 MiB of 512-byte blocks */
#define GP_SCSI_LBA	2048
#define GP_SCSI_NBLK	16
#define GP_SCSI_IO	(GP_SCSI_NBLK * 512)

struct gp_scsi_cmd {
	struct virtio_scsi_cmd_req req;
	struct virtio_scsi_cmd_resp resp;
};

#define GP_SCSI_CMDS	2

/* A driver of the scsi device and its memory. */
struct gp_scsi {
	struct vhc_dev dev;
	struct gp_scsi_cmd *cmd;	/* GP_SCSI_CMDS of them */
	__u8 *out;	/* what is written */
	__u8 *in;	/* what is read, in a page of its own */
	__u64 tag;	/* of the last command */
};

FIXTURE(gp_scsi) {
	char name[32];
	bool created;
	struct gp_scsi sc;
};

FIXTURE_VARIANT(gp_scsi) {
	const char *driver;
	bool dirty_log;
};

FIXTURE_VARIANT_ADD(gp_scsi, vhost_vdpa) {
	.driver = VHT_DRV_KERNEL,
};

FIXTURE_VARIANT_ADD(gp_scsi, vdpa_migrate) {
	.driver = VHT_DRV_MIG,
	.dirty_log = true,
};

/* Guest memory for @sc: commands, and the pages data moves through. */
static void gp_scsi_mem(struct __test_metadata *_metadata, struct gp_scsi *sc)
{
	struct vhc_dev *d = &sc->dev;

	/* Control, event and at least one request queue. */
	ASSERT_LE(3u, d->nvqs);
	ASSERT_EQ(0, vhc_mem_init(d, 256 * 1024));
	sc->cmd = vhc_alloc(d, sizeof(*sc->cmd) * GP_SCSI_CMDS, 64);
	sc->out = vhc_alloc(d, GP_SCSI_IO, GP_PAGE);
	sc->in = vhc_alloc(d, GP_SCSI_IO, GP_PAGE);
	ASSERT_NE(NULL, sc->cmd);
	ASSERT_NE(NULL, sc->out);
	ASSERT_NE(NULL, sc->in);
}

FIXTURE_SETUP(gp_scsi)
{
	struct vhc_dev *d = &self->sc.dev;

	gp_card_open(_metadata, "GPCI_SCSI", variant->driver, "gps",
		     VIRTIO_ID_SCSI, self->name, &self->created, d);
	if (_metadata->skip)
		return;
	gp_scsi_mem(_metadata, &self->sc);
}

FIXTURE_TEARDOWN(gp_scsi)
{
	vhc_close(&self->sc.dev);
	if (self->created)
		vhc_vdpa_del(self->name);
}

/* Map, negotiate, set up every queue but the request ones' rest, start. */
static int gp_scsi_start(struct vhc_dev *d)
{
	int ret, q;

	ret = vhc_mem_map(d);
	if (!ret)
		ret = vhc_negotiate(d, BIT_ULL(VIRTIO_F_VERSION_1) |
				    BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));
	for (q = 0; !ret && q <= GP_SCSI_REQ_VQ; q++)
		ret = vhc_vq_setup(d, q, 16);
	if (!ret)
		ret = vhc_driver_ok(d);
	return ret;
}

/*
 * Make command @c to LUN 0 of target 0 available (no kick); @data (@len
 * bytes) goes to the device with @to_dev, else comes from it.  Return:
 * the chain's head, or a negative errno.
 */
static int gp_scsi_add(struct gp_scsi *sc, struct gp_scsi_cmd *c,
		       const __u8 *cdb, unsigned int cdb_len, void *data,
		       __u32 len, bool to_dev)
{
	struct vhc_vq *vq = &sc->dev.vqs[GP_SCSI_REQ_VQ];
	struct vhc_buf out[2] = {
		{ &c->req, sizeof(c->req) }, { data, len },
	};
	struct vhc_buf in[2] = {
		{ &c->resp, sizeof(c->resp) }, { data, len },
	};

	memset(c, 0, sizeof(*c));
	c->req.lun[0] = 1;	/* single-level LUN: target 0, LUN 0 */
	c->req.lun[2] = 0x40;
	c->req.tag = htole64(++sc->tag);
	memcpy(c->req.cdb, cdb, cdb_len);
	c->resp.response = 0xff;
	if (to_dev)
		return vhc_vq_add(vq, out, len ? 2 : 1, in, 1);
	return vhc_vq_add(vq, out, 1, in, len ? 2 : 1);
}

/* SCSI status of answered command @c, or -EIO if the transport failed. */
static int gp_scsi_status(const struct gp_scsi_cmd *c)
{
	if (c->resp.response != VIRTIO_SCSI_S_OK)
		return -EIO;
	return c->resp.status;
}

/*
 * gp_scsi_add() with the first command slot, kick, wait.  Return: the
 * SCSI status (0 GOOD, 2 CHECK CONDITION), or a negative errno.
 */
static int gp_scsi_run(struct gp_scsi *sc, const __u8 *cdb,
		       unsigned int cdb_len, void *data, __u32 len,
		       bool to_dev)
{
	struct vhc_vq *vq = &sc->dev.vqs[GP_SCSI_REQ_VQ];
	__u32 id, used;
	int ret;

	ret = gp_scsi_add(sc, sc->cmd, cdb, cdb_len, data, len, to_dev);
	if (ret < 0)
		return ret;
	ret = vhc_vq_kick(vq);
	if (!ret)
		ret = vhc_vq_wait_used(vq, &id, &used, 10000);
	return ret ?: gp_scsi_status(sc->cmd);
}

/* Sense key and additional sense code of the last CHECK CONDITION. */
static void gp_scsi_sense(const struct gp_scsi_cmd *c, __u8 *key, __u8 *asc)
{
	const __u8 *sn = c->resp.sense;

	if ((sn[0] & 0x7f) >= 0x72) {	/* descriptor format */
		*key = sn[1] & 0xf;
		*asc = sn[2];
	} else {
		*key = sn[2] & 0xf;
		*asc = sn[12];
	}
}

/* READ(10) / WRITE(10) of @n blocks at @lba. */
static void gp_scsi_rw10(__u8 *cdb, bool write, __u32 lba, __u16 n)
{
	memset(cdb, 0, 10);
	cdb[0] = write ? 0x2a : 0x28;
	cdb[2] = lba >> 24;
	cdb[3] = lba >> 16;
	cdb[4] = lba >> 8;
	cdb[5] = lba;
	cdb[7] = n >> 8;
	cdb[8] = n;
}

/*
 * TEST UNIT READY until the disk is ready; return how many unit
 * attentions (a card reset resets its disk) it took.
 */
static int gp_scsi_ready(struct __test_metadata *_metadata,
			 struct gp_scsi *sc)
{
	static const __u8 tur[6] = { 0 };
	__u8 key = 0, asc = 0;
	int ret, tries;

	for (tries = 0; tries < 3; tries++) {
		ret = gp_scsi_run(sc, tur, 6, NULL, 0, false);
		ASSERT_LE(0, ret);
		if (!ret)
			break;
		gp_scsi_sense(sc->cmd, &key, &asc);
		EXPECT_EQ(6, key);	/* UNIT ATTENTION, once */
	}
	ASSERT_EQ(0, ret);
	return tries;
}

/*
 * INQUIRY names QEMU's disk; TEST UNIT READY gets past the unit attention
 * the card's reset left; READ CAPACITY(10) gives the image's size; a
 * pattern written with WRITE(10) reads back with READ(10); a READ past
 * the end is refused with ILLEGAL REQUEST / LBA OUT OF RANGE.
 */
static void gp_scsi_io(struct __test_metadata *_metadata,
		       struct gp_scsi *sc, __u8 seed)
{
	static const __u8 inquiry[6] = { 0x12, 0, 0, 0, 36, 0 };
	static const __u8 capacity[10] = { 0x25 };
	__u8 cdb[10], key = 0, asc = 0;
	__u32 last, bsize, k;
	int tries;

	memset(sc->in, 0, 36);
	ASSERT_EQ(0, gp_scsi_run(sc, inquiry, 6, sc->in, 36, false));
	EXPECT_EQ(0, sc->in[0] & 0x1f);	/* direct-access block device */
	EXPECT_EQ(0, memcmp(sc->in + 8, "QEMU    QEMU HARDDISK", 21));
	tries = gp_scsi_ready(_metadata, sc);
	ASSERT_EQ(0, gp_scsi_run(sc, capacity, 10, sc->in, 8, false));
	last = (__u32)sc->in[0] << 24 | sc->in[1] << 16 |
	       sc->in[2] << 8 | sc->in[3];
	bsize = (__u32)sc->in[4] << 24 | sc->in[5] << 16 |
		sc->in[6] << 8 | sc->in[7];
	TH_LOG("ready after %d unit attention(s); %u blocks of %u bytes",
	       tries, last + 1, bsize);
	EXPECT_EQ(GP_SCSI_BLOCKS - 1, last);
	ASSERT_EQ(512u, bsize);

	for (k = 0; k < GP_SCSI_IO; k++)
		sc->out[k] = (__u8)(k * 7 + seed);
	gp_scsi_rw10(cdb, true, GP_SCSI_LBA, GP_SCSI_NBLK);
	ASSERT_EQ(0, gp_scsi_run(sc, cdb, 10, sc->out, GP_SCSI_IO, true));
	memset(sc->in, 0, GP_SCSI_IO);
	gp_scsi_rw10(cdb, false, GP_SCSI_LBA, GP_SCSI_NBLK);
	ASSERT_EQ(0, gp_scsi_run(sc, cdb, 10, sc->in, GP_SCSI_IO, false));
	EXPECT_EQ(0, memcmp(sc->in, sc->out, GP_SCSI_IO));

	gp_scsi_rw10(cdb, false, GP_SCSI_BLOCKS, 1);
	EXPECT_EQ(2, gp_scsi_run(sc, cdb, 10, sc->in, 512, false));
	gp_scsi_sense(sc->cmd, &key, &asc);
	EXPECT_EQ(5, key);	/* ILLEGAL REQUEST */
	EXPECT_EQ(0x21, asc);	/* LOGICAL BLOCK ADDRESS OUT OF RANGE */
}

TEST_F(gp_scsi, disk)
{
	if (_metadata->skip)
		return;
	ASSERT_EQ(0, gp_scsi_start(&self->sc.dev));
	gp_scsi_io(_metadata, &self->sc, 1);
}

/*
 * The same on shadow rings (logging from before DRIVER_OK): the page the
 * card read into is logged dirty, the one it wrote from is not, and the
 * request queue's position counts the commands.
 */
TEST_F(gp_scsi, shadow)
{
	struct vhost_vring_state s = { .index = GP_SCSI_REQ_VQ };
	struct vhc_dev *d = &self->sc.dev;
	__u64 bits[256 * 1024 / GP_PAGE / 64] = {};
	__u64 pin, pout;

	if (_metadata->skip)
		return;
	if (!variant->dirty_log)
		SKIP(return, "dirty logging is vdpa_migrate's");
	ASSERT_EQ(0, gp_dev_log_start(d));
	ASSERT_EQ(0, gp_scsi_start(d));
	ASSERT_EQ(0, vhc_log_sync(d, 0, d->mem_iova, d->mem_size, bits, NULL));
	memset(bits, 0, sizeof(bits));
	gp_scsi_io(_metadata, &self->sc, 2);
	ASSERT_EQ(0, vht_ioctl(d, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(self->sc.tag, s.num);
	ASSERT_EQ(0, vhc_log_sync(d, 0, d->mem_iova, d->mem_size, bits, NULL));
	pin = (__u64)(self->sc.in - (__u8 *)d->mem) / GP_PAGE;
	pout = (__u64)(self->sc.out - (__u8 *)d->mem) / GP_PAGE;
	EXPECT_EQ(1, (int)(bits[pin / 64] >> (pin % 64) & 1));
	EXPECT_EQ(0, (int)(bits[pout / 64] >> (pout % 64) & 1));
	ASSERT_EQ(0, vhc_log_stop(d, 0));
}

/*
 * scsi migration between the two scsi cards, whose disks share one image
 * (vm.args), through vdpa_migrate: A (GPCI_SCSI) on shadow rings writes
 * one half of a pattern and stops; the driver then makes a WRITE of the
 * other half available (a guest runs on while its VMM stops the device;
 * adding it before the stop could let the relay, still finishing the
 * first command's round, take it without a kick); C (GPCI_SCSI1) takes
 * the state and the driver's memory and runs that WRITE.  It completes once, on C.  A SCSI target's
 * own state (here the unit attention C's disk holds since its card was
 * reset) is not in the device state, so C may answer it with UNIT
 * ATTENTION; the driver then sends it again, as Linux's sd does.  Both
 * halves read back through C.
 */
FIXTURE(gp_scsimig) {
	char name[2][32];
	bool created[2];
	struct gp_scsi sc[2];	/* A, C */
};

FIXTURE_SETUP(gp_scsimig)
{
	static const char *const env[2] = { "GPCI_SCSI", "GPCI_SCSI1" };
	static const char *const prefix[2] = { "gsa", "gsc" };
	int i;

	for (i = 0; i < 2; i++)
		self->sc[i].dev.fd = -1;
	for (i = 0; i < 2; i++) {
		gp_card_open(_metadata, env[i], VHT_DRV_MIG, prefix[i],
			     VIRTIO_ID_SCSI, self->name[i], &self->created[i],
			     &self->sc[i].dev);
		if (_metadata->skip)
			return;
	}
	gp_scsi_mem(_metadata, &self->sc[0]);
}

FIXTURE_TEARDOWN(gp_scsimig)
{
	int i;

	for (i = 0; i < 2; i++) {
		vhc_close(&self->sc[i].dev);
		if (self->created[i])
			vhc_vdpa_del(self->name[i]);
	}
}

TEST_F(gp_scsimig, write_in_flight)
{
	struct gp_scsi *a = &self->sc[0], *c = &self->sc[1];
	const __u32 half = GP_SCSI_IO / 2, nblk = GP_SCSI_NBLK / 2;
	const __u32 lba = GP_SCSI_LBA + 64;
	__u8 cdb[10], key = 0, asc = 0;
	__u32 id, len, k;
	size_t blen;
	void *blob;
	int head, st;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, gp_dev_log_start(&a->dev));
	ASSERT_EQ(0, gp_scsi_start(&a->dev));
	gp_scsi_ready(_metadata, a);
	for (k = 0; k < GP_SCSI_IO; k++)
		a->out[k] = (__u8)(k * 13 + 5);
	gp_scsi_rw10(cdb, true, lba, nblk);
	ASSERT_EQ(0, gp_scsi_run(a, cdb, 10, a->out, half, true));

	ASSERT_EQ(0, vhc_mig_set_state(&a->dev, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(&a->dev, &blob, &blen));
	gp_scsi_rw10(cdb, true, lba + nblk, nblk);
	head = gp_scsi_add(a, &a->cmd[1], cdb, 10, a->out + half, half, true);
	ASSERT_LE(0, head);
	ASSERT_EQ(0, vhc_vq_kick(&a->dev.vqs[GP_SCSI_REQ_VQ]));
	EXPECT_ERRNO(ETIMEDOUT, vhc_vq_wait_used(&a->dev.vqs[GP_SCSI_REQ_VQ],
						 &id, &len, 300));
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(&c->dev, &a->dev));
	ASSERT_EQ(0, vhc_mig_load(&c->dev, blob, blen));
	free(blob);
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RUNNING));
	c->cmd = a->cmd;
	c->out = a->out;
	c->in = a->in;
	c->tag = a->tag;

	ASSERT_EQ(0, vhc_vq_kick(&c->dev.vqs[GP_SCSI_REQ_VQ]));
	ASSERT_EQ(0, vhc_vq_wait_used(&c->dev.vqs[GP_SCSI_REQ_VQ], &id, &len,
				      10000));
	EXPECT_EQ((__u32)head, id);
	st = gp_scsi_status(&c->cmd[1]);
	gp_scsi_sense(&c->cmd[1], &key, &asc);
	TH_LOG("the WRITE on C: status %d, sense key %u", st, key);
	if (st == 2 && key == 6) {	/* UNIT ATTENTION: send it again */
		gp_scsi_rw10(cdb, true, lba + nblk, nblk);
		st = gp_scsi_run(c, cdb, 10, c->out + half, half, true);
	}
	EXPECT_EQ(0, st);
	EXPECT_ERRNO(ETIMEDOUT, vhc_vq_wait_used(&c->dev.vqs[GP_SCSI_REQ_VQ],
						 &id, &len, 300));

	memset(c->in, 0, GP_SCSI_IO);
	gp_scsi_rw10(cdb, false, lba, GP_SCSI_NBLK);
	ASSERT_EQ(0, gp_scsi_run(c, cdb, 10, c->in, GP_SCSI_IO, false));
	EXPECT_EQ(0, memcmp(c->in, c->out, GP_SCSI_IO));
}

TEST_HARNESS_MAIN

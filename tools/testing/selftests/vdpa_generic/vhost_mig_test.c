// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_mig_test - the migration uAPI of vdpa_migrate
 * (include/uapi/linux/vdpa_migrate.h) on generic net devices.
 *
 * Three ports of one switch, all bound to vdpa_migrate: A is the source,
 * C the destination, B the peer that exchanges frames with whichever of
 * them runs the "guest".  A migration moves the guest's memory and the
 * driver side of its queues from A to C (vhc_mig_adopt()) and the device
 * side through a saved state; frames must then flow as if nothing happened.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <linux/virtio_blk.h>
#include <linux/vdpa_migrate.h>
#include <linux/vhost.h>

#include "kselftest_harness.h"
#include "vhost_test.h"
#include "vhost_net_lib.h"

#define MIG_FUZZ_ROUNDS	3000

/* blk: requests of one 4 KiB write each, on a file both devices share. */
#define MIG_BLK_REQS	24
#define MIG_BLK_IO	4096
#define MIG_BLK_FILE	"/tmp/vhost_mig_blk.img"
#define MIG_BLK_KNOBS	"/sys/devices/vdpagen_blk/"
#define MIG_BLK_DEVS	"/sys/bus/vdpa/devices/"
/* blk: writes a device holds in flight (the "hold" attribute). */
#define MIG_BLK_HELD	16
#define MIG_BLK_LATE	4	/* more, submitted after a cancelled save */
#define MIG_BLK_WAIT_MS	5000

/* Add port @p on @mgmtdev, bind it, open it and give it memory. */
static int port_create(struct net_port *p, const char *mgmtdev,
		       const char *extra)
{
	int ret;

	ret = vhc_vdpa_add(mgmtdev, p->name, extra);
	if (ret)
		return ret;
	p->created = true;
	ret = vhc_bind(p->name);
	if (ret < 0)
		return ret;
	ret = vhc_open(&p->dev, p->name);
	return ret ? ret : vhc_mem_init(&p->dev, NET_MEM_SIZE);
}

static void port_release(struct net_port *p)
{
	vhc_close(&p->dev);
	if (p->created)
		vhc_vdpa_del(p->name);
}

FIXTURE(mig_net) {
	struct net_port port[3];	/* A, B, C */
};

FIXTURE_SETUP(mig_net)
{
	const char *mgmtdev = vht_mgmtdev("VDPA_NET_MGMTDEV", "vdpagen_net");
	char extra[64];
	int i;

	for (i = 0; i < 3; i++)
		self->port[i].dev.fd = -1;
	if (!vhc_mgmtdev_present(mgmtdev) || strcmp(mgmtdev, "vdpagen_net"))
		SKIP(return, "needs the vdpagen_net mgmtdev");
	if (!vhc_driver_present(VHT_DRV_MIG))
		SKIP(return, "vdpa_migrate not loaded");
	ASSERT_EQ(0, vhc_use(VHT_DRV_MIG));

	for (i = 0; i < 3; i++) {
		struct net_port *p = &self->port[i];

		vht_dev_name(p->name, sizeof(p->name), "vmg", 'a' + i);
		p->mac[0] = 0x02;
		p->mac[5] = 0x2a + i;
		p->peer = &self->port[1];
		snprintf(extra, sizeof(extra), "mac 02:00:00:00:00:%02x",
			 0x2a + i);
		ASSERT_EQ(0, port_create(p, mgmtdev, extra));
	}
}

FIXTURE_TEARDOWN(mig_net)
{
	int i;

	for (i = 0; i < 3; i++)
		port_release(&self->port[i]);
}

static __u32 mig_state(struct vhc_dev *d)
{
	struct vdpa_mig_info info;

	return vhc_mig_info(d, &info) ? ~0u : info.state;
}

/* Where record @type starts in @blob, or NULL. */
static struct vdpa_mig_rec_hdr *mig_find(void *blob, size_t len, __u32 type,
					 unsigned int nth)
{
	size_t off = sizeof(struct vdpa_mig_blob_hdr);

	while (off + sizeof(struct vdpa_mig_rec_hdr) <= len) {
		struct vdpa_mig_rec_hdr *h = (void *)((char *)blob + off);

		if (le32toh(h->type) == type && !nth--)
			return h;
		off += sizeof(*h) + ((le32toh(h->len) + 7) & ~7u);
	}
	return NULL;
}

/* Append a record of @len zero bytes to a copy of @blob. */
static void *mig_append(const void *blob, size_t len, __u32 type,
			__u32 flags, __u32 plen, size_t *out_len)
{
	size_t add = sizeof(struct vdpa_mig_rec_hdr) + ((plen + 7) & ~7u);
	struct vdpa_mig_blob_hdr *bh;
	struct vdpa_mig_rec_hdr *h;
	char *b = calloc(1, len + add);

	if (!b)
		return NULL;
	memcpy(b, blob, len);
	h = (void *)(b + len);
	h->type = htole32(type);
	h->flags = htole32(flags);
	h->len = htole32(plen);
	bh = (void *)b;
	bh->nr_records = htole32(le32toh(bh->nr_records) + 1);
	bh->total_len = htole64(len + add);
	*out_len = len + add;
	return b;
}

/* Start A and B, check A reaches B, leave the state of A to the test. */
static void mig_start(struct __test_metadata *_metadata, struct net_port *a,
		      struct net_port *b)
{
	struct net_rx_stats st;
	unsigned int tx_done;

	ASSERT_EQ(0, net_start(a, NET_RING));
	ASSERT_EQ(0, net_start(b, NET_RING));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

/* Stop A and read its state. */
static void mig_save(struct __test_metadata *_metadata, struct net_port *a,
		     void **blob, size_t *len)
{
	ASSERT_EQ(0, vhc_mig_set_state(&a->dev, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(&a->dev, blob, len));
	ASSERT_LT(sizeof(struct vdpa_mig_blob_hdr), *len);
}

/* The guest moves from @a to @c: memory, queues, buffers, MAC. */
static void mig_move(struct __test_metadata *_metadata, struct net_port *a,
		     struct net_port *c, const void *blob, size_t len)
{
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(&c->dev, &a->dev));
	ASSERT_EQ(0, vhc_mig_load(&c->dev, blob, len));
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RUNNING));
	c->txbuf = a->txbuf;
	c->rxbuf = a->rxbuf;
	memcpy(c->mac, a->mac, sizeof(c->mac));
}

TEST_F(mig_net, info)
{
	struct vhc_dev *d = &self->port[0].dev;
	struct vdpa_mig_info info;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	ASSERT_EQ(0, vhc_mig_info(d, &info));
	EXPECT_EQ((__u32)sizeof(info), info.argsz);
	EXPECT_EQ((__u32)(VDPA_MIG_CAP_STATE | VDPA_MIG_CAP_TYPE_STATE |
			  VDPA_MIG_CAP_INFLIGHT),
		  info.caps & ~VDPA_MIG_CAP_DIRTY_LOG);
	EXPECT_EQ((__u32)VDPA_MIG_STATE_RUNNING, info.state);
	EXPECT_EQ((__u32)VDPA_MIG_FORMAT_MAJOR, info.format_major);
	EXPECT_LT(sizeof(struct vdpa_mig_blob_hdr), info.state_size);
	EXPECT_EQ(2u, info.nr_as);

	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info) - 1;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VDPA_MIG_GET_INFO, &info));
	info.argsz = sizeof(info);
	info.flags = 1;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VDPA_MIG_GET_INFO, &info));
	EXPECT_ERRNO(EFAULT, vht_ioctl(d, VDPA_MIG_GET_INFO, (void *)8));
}

/* Every legal arc works; everything else is refused and changes nothing. */
TEST_F(mig_net, arcs)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct vhc_dev *d = &a->dev;
	struct net_rx_stats st;
	unsigned int tx_done;
	struct vdpa_mig_set_state s = { .argsz = sizeof(s) };
	struct vhost_vring_state vs = { .index = NET_TX_Q, .num = 64 };
	__u64 features = 0;
	__u8 status;

	if (_metadata->skip)
		return;
	/* A fresh device may become a destination and back. */
	ASSERT_EQ(0, vhc_mig_set_state(d, VDPA_MIG_STATE_RESUMING));
	EXPECT_ERRNO(EINVAL, vhc_mig_set_state(d, VDPA_MIG_STATE_STOPPED));
	EXPECT_ERRNO(EINVAL, vhc_mig_set_state(d, VDPA_MIG_STATE_SAVING));
	EXPECT_EQ((__u32)VDPA_MIG_STATE_RESUMING, mig_state(d));
	ASSERT_EQ(0, vhc_mig_set_state(d, VDPA_MIG_STATE_RUNNING));

	mig_start(_metadata, &self->port[0], &self->port[1]);
	EXPECT_ERRNO(EBUSY, vhc_mig_set_state(d, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_set_state(d, VDPA_MIG_STATE_STOPPED));
	EXPECT_ERRNO(EINVAL, vhc_mig_set_state(d, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_set_state(d, VDPA_MIG_STATE_SAVING));

	/* Frozen while saving. */
	EXPECT_ERRNO(EBUSY, vht_ioctl(d, VHOST_SET_FEATURES, &features));
	EXPECT_ERRNO(EBUSY, vht_ioctl(d, VHOST_SET_VRING_NUM, &vs));
	EXPECT_ERRNO(EBUSY, vht_ioctl(d, VHOST_VDPA_SUSPEND, NULL));
	EXPECT_ERRNO(EBUSY, vht_ioctl(d, VHOST_VDPA_RESUME, NULL));
	status = 0x0f;
	EXPECT_ERRNO(EBUSY, vht_ioctl(d, VHOST_VDPA_SET_STATUS, &status));
	EXPECT_EQ((__u32)VDPA_MIG_STATE_SAVING, mig_state(d));

	/* Bad arguments. */
	s.state = 5;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VDPA_MIG_SET_STATE, &s));
	s.state = VDPA_MIG_STATE_ERROR;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VDPA_MIG_SET_STATE, &s));
	s.state = VDPA_MIG_STATE_STOPPED;
	s.reserved = 1;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VDPA_MIG_SET_STATE, &s));
	s.reserved = 0;
	s.flags = 1;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VDPA_MIG_SET_STATE, &s));
	s.flags = 0;
	s.argsz = 8;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VDPA_MIG_SET_STATE, &s));
	EXPECT_EQ((__u32)VDPA_MIG_STATE_SAVING, mig_state(d));

	/* SAVING -> STOPPED -> SAVING -> RUNNING (cancel): traffic resumes. */
	ASSERT_EQ(0, vhc_mig_set_state(d, VDPA_MIG_STATE_STOPPED));
	ASSERT_EQ(0, vhc_mig_set_state(d, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_set_state(d, VDPA_MIG_STATE_RUNNING));
	net_xfer(_metadata, a, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);

	/* A reset leaves any state for RUNNING. */
	ASSERT_EQ(0, vhc_mig_set_state(d, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_reset(d));
	EXPECT_EQ((__u32)VDPA_MIG_STATE_RUNNING, mig_state(d));
}

TEST_F(mig_net, state_buf_misuse)
{
	struct vhc_dev *a = &self->port[0].dev, *c = &self->port[2].dev;
	struct vdpa_mig_state_buf b = { .argsz = sizeof(b) };
	char small[16];
	void *blob;
	size_t len;

	if (_metadata->skip)
		return;
	mig_start(_metadata, &self->port[0], &self->port[1]);
	b.size = sizeof(small);
	b.data = (__u64)(uintptr_t)small;
	EXPECT_ERRNO(EBUSY, vht_ioctl(a, VDPA_MIG_GET_DEVICE_STATE, &b));
	ASSERT_EQ(0, vhc_mig_set_state(a, VDPA_MIG_STATE_SAVING));
	EXPECT_ERRNO(ENOSPC, vht_ioctl(a, VDPA_MIG_GET_DEVICE_STATE, &b));
	EXPECT_LT(sizeof(small), b.size);
	b.reserved = 1;
	EXPECT_ERRNO(EINVAL, vht_ioctl(a, VDPA_MIG_GET_DEVICE_STATE, &b));
	b.reserved = 0;
	b.data = 8;
	EXPECT_ERRNO(EFAULT, vht_ioctl(a, VDPA_MIG_GET_DEVICE_STATE, &b));
	ASSERT_EQ(0, vhc_mig_save(a, &blob, &len));

	/* Loading needs RESUMING, a sane size and happens once. */
	EXPECT_ERRNO(EBUSY, vhc_mig_load(c, blob, len));
	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_RESUMING));
	EXPECT_ERRNO(E2BIG, vhc_mig_load(c, blob, 64u << 20));
	EXPECT_ERRNO(EFAULT, vhc_mig_load(c, (void *)8, len));
	b.data = (__u64)(uintptr_t)blob;
	b.size = len;
	b.reserved = 1;
	EXPECT_ERRNO(EINVAL, vht_ioctl(c, VDPA_MIG_SET_DEVICE_STATE, &b));
	ASSERT_EQ(0, vhc_mig_adopt(c, a));
	ASSERT_EQ(0, vhc_mig_load(c, blob, len));
	EXPECT_ERRNO(EBUSY, vhc_mig_load(c, blob, len));
	free(blob);
}

/*
 * Frames queued on A just before it stops are sent by C; frames for A's
 * MAC then reach C.  Every frame arrives once, intact.
 */
TEST_F(mig_net, migrate_traffic)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct net_port *c = &self->port[2];
	struct net_rx_stats st;
	unsigned int tx_done;
	__u8 cfg[6];
	void *blob;
	size_t len;

	if (_metadata->skip)
		return;
	mig_start(_metadata, &self->port[0], &self->port[1]);
	net_send_all(_metadata, a, b->mac);
	mig_save(_metadata, a, &blob, &len);
	mig_move(_metadata, a, c, blob, len);
	free(blob);

	/* C took A's MAC from the state. */
	ASSERT_EQ(0, vhc_get_config(&c->dev, 0, cfg, sizeof(cfg)));
	EXPECT_EQ(0, memcmp(cfg, a->mac, 6));

	/* The frames A did not send, C sends; what A sent is not resent. */
	ASSERT_EQ(0, vhc_vq_kick(&c->dev.vqs[NET_TX_Q]));
	net_collect(_metadata, c, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	EXPECT_EQ(NET_FRAMES, st.frames);
	EXPECT_EQ(0u, st.bad);
	EXPECT_EQ(0u, st.dups);

	/* Both directions keep working on C. */
	net_xfer(_metadata, c, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	net_xfer(_metadata, b, c, c->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

/* Load @blob into a RESUMING device; on success start over. */
static int mig_try(struct vhc_dev *d, const void *blob, size_t len)
{
	int ret = vhc_mig_load(d, blob, len);

	if (!ret) {
		vhc_reset(d);
		vhc_mig_set_state(d, VDPA_MIG_STATE_RESUMING);
	}
	return ret;
}

/* After a refused load the destination is exactly as before. */
static void mig_unchanged(struct __test_metadata *_metadata, struct vhc_dev *d)
{
	struct vhost_vring_state vs = { .index = NET_TX_Q };
	__u8 status = 0xff;

	ASSERT_EQ(0, vhc_get_status(d, &status));
	EXPECT_EQ(0u, status);
	EXPECT_EQ((__u32)VDPA_MIG_STATE_RESUMING, mig_state(d));
	ASSERT_EQ(0, vht_ioctl(d, VHOST_GET_VRING_BASE, &vs));
	EXPECT_EQ(0u, vs.num);
}

TEST_F(mig_net, load_bad_blobs)
{
	struct net_port *a = &self->port[0], *b = &self->port[1];
	struct net_port *c = &self->port[2];
	struct vdpa_mig_rec_vq *vq;
	struct vdpa_mig_rec_hdr *h;
	struct vdpa_mig_blob_hdr *bh;
	struct net_rx_stats st;
	unsigned int tx_done, i, accepted = 0;
	char *blob, *m, *ext;
	size_t len, elen;

	if (_metadata->skip)
		return;
	mig_start(_metadata, &self->port[0], &self->port[1]);
	mig_save(_metadata, a, (void **)&blob, &len);
	m = malloc(len);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(&c->dev, &a->dev));

	/* Every truncation. */
	for (i = 0; i < len; i++)
		ASSERT_ERRNO(EINVAL, mig_try(&c->dev, blob, i));
	mig_unchanged(_metadata, &c->dev);

#define MUTATE(expr, err) do {					\
		memcpy(m, blob, len);					\
		bh = (void *)m;						\
		expr;							\
		EXPECT_ERRNO(err, mig_try(&c->dev, m, len));		\
	} while (0)
	MUTATE(bh->magic ^= 1, EINVAL);
	MUTATE(bh->major = htole32(2), EPROTONOSUPPORT);
	MUTATE(bh->minor = htole32(7), 0);	/* minor: compatible */
	MUTATE(bh->device_id = htole32(2), EINVAL);
	MUTATE(bh->nr_vqs = htole32(le32toh(bh->nr_vqs) + 1), EINVAL);
	MUTATE(bh->nr_records = htole32(le32toh(bh->nr_records) + 1), EINVAL);
	MUTATE(bh->nr_records = htole32(le32toh(bh->nr_records) - 1), EINVAL);
	MUTATE(bh->total_len = htole64(len + 8), EINVAL);
	MUTATE(bh->reserved = htole64(1), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_VQ, 1),
		vq = (void *)(h + 1), vq->index = htole32(99)), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_VQ, 1),
		vq = (void *)(h + 1), vq->index = htole32(0)), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_VQ, 0),
		vq = (void *)(h + 1), vq->num = htole32(3)), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_VQ, 0),
		vq = (void *)(h + 1), vq->flags = htole32(0x80)), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_VQ, 0),
		vq = (void *)(h + 1),
		vq->used_idx = htole32(le32toh(vq->avail_idx) + 1)), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_VQ, 0),
		h->len = htole32(le32toh(h->len) + 4096)), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_VQ, 0),
		h->len = htole32(8)), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_FEATURES, 0),
		((struct vdpa_mig_rec_features *)(h + 1))->driver |=
			htole64(1ULL << 62)), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_STATUS, 0),
		((struct vdpa_mig_rec_status *)(h + 1))->status =
			htole32(0x4f)), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_STATUS, 0),
		((struct vdpa_mig_rec_status *)(h + 1))->group_asid[0] =
			htole32(2)), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_CONFIG, 0),
		((struct vdpa_mig_rec_config *)(h + 1))->size = htole32(4)),
	       EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_NET, 0),
		((struct vdpa_mig_rec_net *)(h + 1))->mac[0] = 0x01), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_NET, 0),
		((struct vdpa_mig_rec_net *)(h + 1))->mq_pairs = 0), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_NET_MAC_TABLE, 0),
		((struct vdpa_mig_rec_net_mac_table *)(h + 1))->n_uni =
			htole32(65)), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_FEATURES, 0),
		h->flags = htole32(2)), EINVAL);
	MUTATE((h = mig_find(m, len, VDPA_MIG_REC_FEATURES, 0),
		h->type = htole32(VDPA_MIG_REC_STATUS)), EINVAL);
#undef MUTATE
	mig_unchanged(_metadata, &c->dev);

	/* Unknown records: optional skipped, mandatory refused. */
	ext = mig_append(blob, len, 0x77, 0, 12, &elen);
	ASSERT_NE(NULL, ext);
	EXPECT_EQ(0, mig_try(&c->dev, ext, elen));
	free(ext);
	ext = mig_append(blob, len, VDPA_MIG_REC_VENDOR_FIRST,
			 VDPA_MIG_REC_F_MANDATORY, 4, &elen);
	ASSERT_NE(NULL, ext);
	EXPECT_ERRNO(EOPNOTSUPP, mig_try(&c->dev, ext, elen));
	free(ext);
	ext = mig_append(blob, len, VDPA_MIG_REC_BLK,
			 VDPA_MIG_REC_F_MANDATORY, 24, &elen);
	ASSERT_NE(NULL, ext);
	EXPECT_ERRNO(EOPNOTSUPP, mig_try(&c->dev, ext, elen));
	free(ext);
	/* In-flight requests the net device never has: refused if bogus. */
	ext = mig_append(blob, len, VDPA_MIG_REC_VQ_INFLIGHT,
			 VDPA_MIG_REC_F_MANDATORY, 16, &elen);
	ASSERT_NE(NULL, ext);
	EXPECT_ERRNO(EINVAL, mig_try(&c->dev, ext, elen));
	free(ext);
	mig_unchanged(_metadata, &c->dev);

	/* Random byte flips: an errno, or a blob that is still valid. */
	srand(1);
	for (i = 0; i < MIG_FUZZ_ROUNDS; i++) {
		size_t pos = (size_t)rand() % len;
		int ret;

		memcpy(m, blob, len);
		m[pos] ^= (char)(1 + rand() % 255);
		ret = mig_try(&c->dev, m, len);
		if (!ret) {
			accepted++;
			continue;
		}
		ASSERT_GT(0, ret);
		if (i % 256 == 0)
			mig_unchanged(_metadata, &c->dev);
	}
	TH_LOG("%u of %u flipped blobs still valid", accepted,
	       MIG_FUZZ_ROUNDS);
	mig_unchanged(_metadata, &c->dev);

	/* After all that the real state still loads and C runs. */
	for (i = 0; i < VHC_MAX_VQS; i++)	/* undo mig_try()'s resets */
		c->dev.vqs[i].ready = a->dev.vqs[i].ready;
	ASSERT_EQ(0, vhc_mig_load(&c->dev, blob, len));
	ASSERT_EQ(0, vhc_mig_set_state(&c->dev, VDPA_MIG_STATE_RUNNING));
	c->txbuf = a->txbuf;
	c->rxbuf = a->rxbuf;
	memcpy(c->mac, a->mac, sizeof(c->mac));
	net_xfer(_metadata, c, b, b->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
	free(m);
	free(blob);
}

/* ---- blk: requests in flight at the stop complete once, on the dst ---- */

struct mig_blk_req {
	struct virtio_blk_outhdr hdr;
	__u8 status;
	__u8 pad[47];
	__u8 data[MIG_BLK_IO];
};

FIXTURE(mig_blk) {
	struct vhc_dev dev[2];	/* A (source), C (destination) */
	char name[2][32];
	bool created[2];
	char saved_backing[256];
	bool knob_set;
};

static int mig_knob(const char *knob, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), MIG_BLK_KNOBS "%s", knob);
	return vhc_sysfs_write(path, val);
}

FIXTURE_SETUP(mig_blk)
{
	char buf[256] = "";
	int i, fd;

	for (i = 0; i < 2; i++)
		self->dev[i].fd = -1;
	if (!vhc_mgmtdev_present("vdpagen_blk"))
		SKIP(return, "needs the vdpagen_blk mgmtdev");
	if (!vhc_driver_present(VHT_DRV_MIG))
		SKIP(return, "vdpa_migrate not loaded");
	ASSERT_EQ(0, vhc_use(VHT_DRV_MIG));

	/* Two devices on one file: two paths to the same disk. */
	fd = open(MIG_BLK_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4 << 20));
	close(fd);
	fd = open(MIG_BLK_KNOBS "backing", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, read(fd, buf, sizeof(buf) - 1));
	close(fd);
	buf[strcspn(buf, "\n")] = 0;
	snprintf(self->saved_backing, sizeof(self->saved_backing), "%s", buf);
	ASSERT_EQ(0, mig_knob("backing", MIG_BLK_FILE));
	self->knob_set = true;

	for (i = 0; i < 2; i++) {
		vht_dev_name(self->name[i], sizeof(self->name[i]), "vmb",
			     'a' + i);
		ASSERT_EQ(0, vhc_vdpa_add("vdpagen_blk", self->name[i], NULL));
		self->created[i] = true;
		ASSERT_LE(0, vhc_bind(self->name[i]));
		ASSERT_EQ(0, vhc_open(&self->dev[i], self->name[i]));
	}
	ASSERT_EQ(0, vhc_mem_init(&self->dev[0], 1 << 20));
}

FIXTURE_TEARDOWN(mig_blk)
{
	int i;

	for (i = 0; i < 2; i++) {
		vhc_close(&self->dev[i]);
		if (self->created[i])
			vhc_vdpa_del(self->name[i]);
	}
	if (self->knob_set)
		mig_knob("backing", self->saved_backing[0] ?
			 self->saved_backing : "\n");
	unlink(MIG_BLK_FILE);
}

static int mig_blk_submit(struct vhc_vq *vq, struct mig_blk_req *r, int i)
{
	struct vhc_buf out[2] = {
		{ &r->hdr, sizeof(r->hdr) }, { r->data, MIG_BLK_IO },
	};
	struct vhc_buf in = { &r->status, 1 };
	unsigned int k;

	r->hdr.type = htole32(VIRTIO_BLK_T_OUT);
	r->hdr.ioprio = 0;
	r->hdr.sector = htole64((__u64)i * (MIG_BLK_IO / 512));
	r->status = 0xff;
	for (k = 0; k < MIG_BLK_IO; k++)
		r->data[k] = (__u8)(i * 37 + k * 11);
	return vhc_vq_add(vq, out, 2, &in, 1);
}

/*
 * Which request of @head[first..] has chain head @id?  Heads are reused
 * once completed, so each half of the test searches its own requests.
 */
static int mig_blk_find(const int *head, int first, __u32 id)
{
	int k;

	for (k = first; k < first + MIG_BLK_REQS / 2; k++)
		if ((__u32)head[k] == id)
			return k;
	return -1;
}

/* Write attribute @attr of blk device @name. */
static int mig_blk_attr(const char *name, const char *attr, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), MIG_BLK_DEVS "%s/%s", name, attr);
	return vhc_sysfs_write(path, val);
}

/* Requests device @name holds, or -errno. */
static int mig_blk_held(const char *name)
{
	char path[128], buf[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), MIG_BLK_DEVS "%s/held", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	return atoi(buf);
}

/* Wait, at most MIG_BLK_WAIT_MS, until @name holds @n requests. */
static int mig_blk_wait_held(const char *name, int n)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	int i, held = -ETIMEDOUT;

	for (i = 0; i < MIG_BLK_WAIT_MS / 10; i++) {
		held = mig_blk_held(name);
		if (held == n || held < 0)
			break;
		nanosleep(&ts, NULL);
	}
	return held;
}

/*
 * Submit writes @first .. @first + @n - 1 to a device that holds them,
 * recording their heads, kick, and wait until it holds @first + @n.
 */
static int mig_blk_submit_held(struct vhc_vq *vq, const char *name,
			       struct mig_blk_req *req, int *head, int first,
			       int n)
{
	int i, ret;

	for (i = first; i < first + n; i++) {
		head[i] = vq->free_head;
		ret = mig_blk_submit(vq, &req[i], i);
		if (ret < 0)
			return ret;
	}
	ret = vhc_vq_kick(vq);
	if (ret)
		return ret;
	ret = mig_blk_wait_held(name, first + n);
	if (ret < 0)
		return ret;
	return ret == first + n ? 0 : -ETIMEDOUT;
}

/* Map A's memory, negotiate and start queue 0: a driver ready to write. */
static struct mig_blk_req *mig_blk_start(struct __test_metadata *_metadata,
					 struct vhc_dev *a, int nreq)
{
	struct mig_blk_req *req;

	req = vhc_alloc(a, sizeof(*req) * nreq, 4096);
	ASSERT_NE(NULL, req);
	ASSERT_EQ(0, vhc_mem_map(a));
	ASSERT_EQ(0, vhc_negotiate(a, BIT_ULL(VIRTIO_F_VERSION_1) |
				   BIT_ULL(VIRTIO_F_ACCESS_PLATFORM)));
	ASSERT_EQ(0, vhc_vq_setup(a, 0, 256));
	ASSERT_EQ(0, vhc_driver_ok(a));
	return req;
}

/*
 * The file holds the pattern of requests 0 .. @n - 1, each at its sector,
 * except those @hole (if set) names: never written, they read zeros,
 * which differ from their pattern's first byte.
 */
static void mig_blk_check_file(struct __test_metadata *_metadata, int n,
			       bool (*hole)(int i))
{
	__u8 buf[MIG_BLK_IO];
	unsigned int k;
	int i, fd;

	fd = open(MIG_BLK_FILE, O_RDONLY);
	ASSERT_LE(0, fd);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(MIG_BLK_IO, pread(fd, buf, MIG_BLK_IO,
					    (off_t)i * MIG_BLK_IO));
		for (k = 0; k < MIG_BLK_IO; k++)
			if (buf[k] != (__u8)(i * 37 + k * 11))
				break;
		EXPECT_EQ(hole && hole(i) ? 0 : (unsigned int)MIG_BLK_IO, k) {
			TH_LOG("request %d: %u pattern bytes", i, k);
		}
	}
	close(fd);
}

/* The VQ_INFLIGHT record of queue 0 in @blob lists @head[0 .. n - 1]. */
static void mig_blk_check_inflight(struct __test_metadata *_metadata,
				   void *blob, size_t len, const int *head,
				   int n)
{
	struct vdpa_mig_rec_vq_inflight *in;
	struct vdpa_mig_rec_vq *vq;
	struct vdpa_mig_rec_hdr *h;
	int i;

	h = mig_find(blob, len, VDPA_MIG_REC_VQ, 0);
	ASSERT_NE(NULL, h);
	vq = (void *)(h + 1);
	ASSERT_EQ(0u, le32toh(vq->index));
	EXPECT_EQ((__u32)n, le32toh(vq->avail_idx));
	EXPECT_EQ(0u, le32toh(vq->used_idx));

	h = mig_find(blob, len, VDPA_MIG_REC_VQ_INFLIGHT, 0);
	ASSERT_NE(NULL, h);
	EXPECT_EQ((__u32)VDPA_MIG_REC_F_MANDATORY, le32toh(h->flags));
	ASSERT_EQ(sizeof(*in) + n * sizeof(in->req[0]), le32toh(h->len));
	in = (void *)(h + 1);
	EXPECT_EQ(0u, le32toh(in->index));
	ASSERT_EQ((__u32)n, le32toh(in->count));
	for (i = 0; i < n; i++) {
		EXPECT_EQ((__u32)head[i], le32toh(in->req[i].head));
		EXPECT_EQ((__u32)i, le32toh(in->req[i].avail_pos));
	}
	/* The other queue took nothing. */
	EXPECT_EQ(NULL, mig_find(blob, len, VDPA_MIG_REC_VQ_INFLIGHT, 1));
}

/*
 * Start A (device @name) with room for @nreq writes, make it hold the
 * first MIG_BLK_HELD (their heads go to @head), stop it for a migration
 * and save its state, which must list them in flight.
 */
static struct mig_blk_req *mig_blk_save_held(struct __test_metadata *_metadata,
					     struct vhc_dev *a,
					     const char *name, int nreq,
					     int *head, void **blob,
					     size_t *blen)
{
	struct mig_blk_req *req;
	__u32 id, len;

	req = mig_blk_start(_metadata, a, nreq);
	ASSERT_EQ(0, mig_blk_attr(name, "hold", "1"));
	EXPECT_ERRNO(EINVAL, mig_blk_attr(name, "hold", "x"));
	ASSERT_EQ(0, mig_blk_submit_held(&a->vqs[0], name, req, head, 0,
					 MIG_BLK_HELD));
	ASSERT_EQ(0, vhc_vq_get_used(&a->vqs[0], &id, &len));

	/* The suspend does not wait for them; the state has them all. */
	ASSERT_EQ(0, vhc_mig_set_state(a, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(a, blob, blen));
	mig_blk_check_inflight(_metadata, *blob, *blen, head, MIG_BLK_HELD);
	EXPECT_EQ(MIG_BLK_HELD, mig_blk_held(name));
	return req;
}

/*
 * C takes over A's driver side and loads @blob (freed); A (device @name),
 * reset in between, drops what it held and has nothing left to run even
 * once it stops holding.
 */
static void mig_blk_move_held(struct __test_metadata *_metadata,
			      struct vhc_dev *a, const char *name,
			      struct vhc_dev *c, void *blob, size_t blen)
{
	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(c, a));
	ASSERT_EQ(0, vhc_reset(a));
	EXPECT_EQ(0, mig_blk_held(name));
	ASSERT_EQ(0, mig_blk_attr(name, "hold", "0"));
	ASSERT_EQ(0, vhc_mig_load(c, blob, blen));
	free(blob);
}

/*
 * Half the writes complete on A; the other half are made available but A
 * never sees a kick, so they are pending when A stops.  After the move
 * every request has completed exactly once, with status OK, and the file
 * holds every write.
 */
TEST_F(mig_blk, migrate_pending_writes)
{
	struct vhc_dev *a = &self->dev[0], *c = &self->dev[1];
	struct mig_blk_req *req;
	int head[MIG_BLK_REQS], done[MIG_BLK_REQS] = {}, i;
	__u32 id, len;
	size_t blen;
	void *blob;

	if (_metadata->skip)
		return;
	req = mig_blk_start(_metadata, a, MIG_BLK_REQS);

	for (i = 0; i < MIG_BLK_REQS; i++) {
		head[i] = a->vqs[0].free_head;
		ASSERT_LE(0, mig_blk_submit(&a->vqs[0], &req[i], i));
		if (i == MIG_BLK_REQS / 2 - 1) {
			int n, k;

			ASSERT_EQ(0, vhc_vq_kick(&a->vqs[0]));
			for (n = 0; n < MIG_BLK_REQS / 2; n++) {
				ASSERT_EQ(0, vhc_vq_wait_used(&a->vqs[0], &id,
							      &len, 5000));
				k = mig_blk_find(head, 0, id);
				ASSERT_LE(0, k);
				done[k]++;
			}
		}
	}

	ASSERT_EQ(0, vhc_mig_set_state(a, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(a, &blob, &blen));
	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(c, a));
	ASSERT_EQ(0, vhc_mig_load(c, blob, blen));
	free(blob);
	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_RUNNING));

	/* The pending half completes on C, each once. */
	for (i = 0; i < MIG_BLK_REQS / 2; i++) {
		int k;

		ASSERT_EQ(0, vhc_vq_wait_used(&c->vqs[0], &id, &len, 5000));
		k = mig_blk_find(head, MIG_BLK_REQS / 2, id);
		ASSERT_LE(0, k);
		done[k]++;
	}
	ASSERT_EQ(0, vhc_vq_get_used(&c->vqs[0], &id, &len));
	for (i = 0; i < MIG_BLK_REQS; i++) {
		EXPECT_EQ(1, done[i]);
		EXPECT_EQ(0, req[i].status);
	}

	/* Every write is in the file (the disk both paths share). */
	mig_blk_check_file(_metadata, MIG_BLK_REQS, NULL);
}

/*
 * A holds every write it takes, like a disk that stopped answering, when
 * it is stopped for the migration: the saved state lists them in flight
 * (queue 0's VQ_INFLIGHT, oldest first).  C runs each of them once; A,
 * reset after the save, completes none, not even once it stops holding.
 */
TEST_F(mig_blk, migrate_held_writes)
{
	struct vhc_dev *a = &self->dev[0], *c = &self->dev[1];
	int head[MIG_BLK_HELD], done[MIG_BLK_HELD] = {}, i, k;
	struct mig_blk_req *req;
	__u32 id, len;
	size_t blen;
	void *blob;

	if (_metadata->skip)
		return;
	req = mig_blk_save_held(_metadata, a, self->name[0], MIG_BLK_HELD,
				head, &blob, &blen);
	mig_blk_move_held(_metadata, a, self->name[0], c, blob, blen);
	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_RUNNING));

	for (i = 0; i < MIG_BLK_HELD; i++) {
		ASSERT_EQ(0, vhc_vq_wait_used(&c->vqs[0], &id, &len,
					      MIG_BLK_WAIT_MS));
		for (k = 0; k < MIG_BLK_HELD && (__u32)head[k] != id; k++)
			;
		ASSERT_GT(MIG_BLK_HELD, k);
		EXPECT_EQ(1u, len);	/* just the status byte */
		done[k]++;
	}
	ASSERT_EQ(0, vhc_vq_get_used(&c->vqs[0], &id, &len));
	for (i = 0; i < MIG_BLK_HELD; i++) {
		EXPECT_EQ(1, done[i]);
		EXPECT_EQ(0, req[i].status);
	}
	EXPECT_EQ(0, mig_blk_held(self->name[1]));
	mig_blk_check_file(_metadata, MIG_BLK_HELD, NULL);
}

/*
 * A migration cancelled while A holds writes: they stay held across the
 * resume, with the writes that come after; once A stops holding, each
 * completes once, in the order it was submitted.
 */
TEST_F(mig_blk, cancel_held_writes)
{
	struct vhc_dev *a = &self->dev[0];
	const int total = MIG_BLK_HELD + MIG_BLK_LATE;
	int head[MIG_BLK_HELD + MIG_BLK_LATE], i;
	struct mig_blk_req *req;
	__u32 id, len;
	size_t blen;
	void *blob;

	if (_metadata->skip)
		return;
	req = mig_blk_save_held(_metadata, a, self->name[0], total, head,
				&blob, &blen);
	free(blob);
	ASSERT_EQ(0, vhc_mig_set_state(a, VDPA_MIG_STATE_RUNNING));

	/* Resumed, still holding: the later writes are held behind them. */
	ASSERT_EQ(0, mig_blk_submit_held(&a->vqs[0], self->name[0], req, head,
					 MIG_BLK_HELD, MIG_BLK_LATE));
	ASSERT_EQ(0, vhc_vq_get_used(&a->vqs[0], &id, &len));

	ASSERT_EQ(0, mig_blk_attr(self->name[0], "hold", "0"));
	for (i = 0; i < total; i++) {
		ASSERT_EQ(0, vhc_vq_wait_used(&a->vqs[0], &id, &len,
					      MIG_BLK_WAIT_MS));
		EXPECT_EQ((__u32)head[i], id);
		EXPECT_EQ(0, req[i].status);
	}
	ASSERT_EQ(0, vhc_vq_get_used(&a->vqs[0], &id, &len));
	EXPECT_EQ(0, mig_blk_held(self->name[0]));
	mig_blk_check_file(_metadata, total, NULL);
}

/*
 * C, loaded with a state it must not run, is set running: the device
 * needs a reset and has completed nothing.
 */
static void mig_blk_expect_stopped(struct __test_metadata *_metadata,
				   struct vhc_dev *c)
{
	__u32 id, len;
	int ret;

	/* DRIVER_OK is set; the queue may or may not have run already. */
	ret = vhc_mig_set_state(c, VDPA_MIG_STATE_RUNNING);
	EXPECT_TRUE(!ret || ret == -EIO);
	EXPECT_TRUE(net_wait_needs_reset(c, MIG_BLK_WAIT_MS));
	EXPECT_EQ(0, vhc_vq_get_used(&c->vqs[0], &id, &len));
}

/*
 * The destination takes in-flight requests again from the ring and checks
 * each head against the state: a state whose heads do not match the ring
 * (two entries swapped) loads, but the device stops at the first one with
 * NEEDS_RESET instead of running a request the source never took there.
 */
TEST_F(mig_blk, load_inflight_wrong_head)
{
	struct vhc_dev *a = &self->dev[0], *c = &self->dev[1];
	struct vdpa_mig_rec_vq_inflight *in;
	struct vdpa_mig_rec_hdr *h;
	int head[MIG_BLK_HELD];
	struct mig_blk_req *req;
	__le32 tmp;
	size_t blen;
	void *blob;

	if (_metadata->skip)
		return;
	req = mig_blk_save_held(_metadata, a, self->name[0], MIG_BLK_HELD,
				head, &blob, &blen);
	h = mig_find(blob, blen, VDPA_MIG_REC_VQ_INFLIGHT, 0);
	ASSERT_NE(NULL, h);
	in = (void *)(h + 1);
	tmp = in->req[0].head;
	in->req[0].head = in->req[1].head;
	in->req[1].head = tmp;
	mig_blk_move_held(_metadata, a, self->name[0], c, blob, blen);
	mig_blk_expect_stopped(_metadata, c);
	EXPECT_EQ(0xff, req[0].status);
}

/* Holes of load_out_of_order: the writes the source used out of order. */
static bool mig_blk_hole(int i)
{
	return i == 1 || i == 3;
}

/*
 * Rewrite @blob (A held writes 0 .. MIG_BLK_HELD - 1) into the state of a
 * source that used writes 1 and 3 out of order: used 2, the others in
 * flight.  @bad picks a list the destination cannot run: 1 out of order,
 * 2 a position twice, 3 one request more than used and avail leave open,
 * 4 one less; 5 a list that holds together but is one position ahead of
 * the driver's ring (avail MIG_BLK_HELD + 1, a third hole there).
 */
static void mig_blk_holes(struct __test_metadata *_metadata, void *blob,
			  size_t len, int bad)
{
	struct vdpa_mig_rec_vq_inflight *in;
	struct vdpa_mig_rec_vq *vq;
	struct vdpa_mig_rec_hdr *h;
	struct vdpa_mig_inflight tmp;
	__u32 i, n = 0;

	h = mig_find(blob, len, VDPA_MIG_REC_VQ, 0);
	ASSERT_NE(NULL, h);
	vq = (void *)(h + 1);
	vq->used_idx = htole32(bad == 3 || bad == 5 ? 3 : bad == 4 ? 1 : 2);
	if (bad == 5)
		vq->avail_idx = htole32(MIG_BLK_HELD + 1);
	h = mig_find(blob, len, VDPA_MIG_REC_VQ_INFLIGHT, 0);
	ASSERT_NE(NULL, h);
	in = (void *)(h + 1);
	ASSERT_EQ((__u32)MIG_BLK_HELD, le32toh(in->count));
	for (i = 0; i < MIG_BLK_HELD; i++)
		if (!mig_blk_hole(i))
			in->req[n++] = in->req[i];
	/* The record keeps its length; the entries after count are unused. */
	in->count = htole32(n);
	if (bad == 1) {
		tmp = in->req[0];
		in->req[0] = in->req[1];
		in->req[1] = tmp;
	} else if (bad == 2) {
		in->req[1].avail_pos = in->req[0].avail_pos;
	}
}

/* The state of @blob: avail MIG_BLK_HELD, used 2, all but 1 and 3 listed. */
static void mig_blk_check_holes(struct __test_metadata *_metadata,
				void *blob, size_t len, const int *head)
{
	struct vdpa_mig_rec_vq_inflight *in;
	struct vdpa_mig_rec_vq *vq;
	struct vdpa_mig_rec_hdr *h;
	__u32 i, n = 0;

	h = mig_find(blob, len, VDPA_MIG_REC_VQ, 0);
	ASSERT_NE(NULL, h);
	vq = (void *)(h + 1);
	EXPECT_EQ((__u32)MIG_BLK_HELD, le32toh(vq->avail_idx));
	EXPECT_EQ(2u, le32toh(vq->used_idx));
	h = mig_find(blob, len, VDPA_MIG_REC_VQ_INFLIGHT, 0);
	ASSERT_NE(NULL, h);
	in = (void *)(h + 1);
	ASSERT_EQ((__u32)MIG_BLK_HELD - 2, le32toh(in->count));
	for (i = 0; i < MIG_BLK_HELD; i++) {
		if (mig_blk_hole(i))
			continue;
		EXPECT_EQ((__u32)head[i], le32toh(in->req[n].head));
		EXPECT_EQ(i, le32toh(in->req[n].avail_pos));
		n++;
	}
}

/*
 * A source that used requests out of order, as a card may: of the writes
 * A took, it used 1 and 3 and holds the others, and the driver's used ring
 * has those two.  C refuses lists it cannot run, with nothing changed:
 * out of order, a position twice or more requests than used and avail
 * leave open (EINVAL), fewer (EOPNOTSUPP).  Loaded, C takes the requests
 * in flight and steps over 1 and 3 without running them.  Saved while it
 * holds them, it reports the very state it loaded; so it does once its
 * queue is disabled (the held requests and both holes ahead again), when
 * no ring base describes it (EOPNOTSUPP).  The migration cancelled, C no
 * longer holding and its queue enabled again, each request runs once: the
 * file has every write but 1 and 3.
 */
TEST_F(mig_blk, load_out_of_order)
{
	struct vhc_dev *a = &self->dev[0], *c = &self->dev[1];
	int head[MIG_BLK_HELD], seen[MIG_BLK_HELD] = {}, i, k, bad;
	struct vhost_vring_state vs;
	struct mig_blk_req *req;
	size_t blen, blen2;
	void *blob, *blob2;
	__u32 id, len;

	if (_metadata->skip)
		return;
	req = mig_blk_save_held(_metadata, a, self->name[0], MIG_BLK_HELD,
				head, &blob, &blen);
	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_RESUMING));
	ASSERT_EQ(0, vhc_mig_adopt(c, a));
	ASSERT_EQ(0, vhc_reset(a));
	ASSERT_EQ(0, mig_blk_attr(self->name[0], "hold", "0"));
	/* What the source wrote to the driver's used ring. */
	c->vqs[0].used->ring[0].id = htole32(head[1]);
	c->vqs[0].used->ring[0].len = htole32(1);
	c->vqs[0].used->ring[1].id = htole32(head[3]);
	c->vqs[0].used->ring[1].len = htole32(1);
	c->vqs[0].used->idx = htole16(2);

	blob2 = malloc(blen);
	ASSERT_NE(NULL, blob2);
	for (bad = 1; bad <= 4; bad++) {
		memcpy(blob2, blob, blen);
		mig_blk_holes(_metadata, blob2, blen, bad);
		EXPECT_ERRNO(bad == 4 ? EOPNOTSUPP : EINVAL,
			     vhc_mig_load(c, blob2, blen));
	}
	mig_blk_holes(_metadata, blob, blen, 0);
	ASSERT_EQ(0, vhc_mig_load(c, blob, blen));
	ASSERT_EQ(0, mig_blk_attr(self->name[1], "hold", "1"));
	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_RUNNING));
	ASSERT_EQ(MIG_BLK_HELD - 2, mig_blk_wait_held(self->name[1],
						      MIG_BLK_HELD - 2));

	/* Saved while it holds them: the state it loaded. */
	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(c, &blob2, &blen2));
	mig_blk_check_holes(_metadata, blob2, blen2, head);
	free(blob2);
	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_RUNNING));

	/* Disabled: the held requests go back, behind holes again. */
	vs.index = 0;
	vs.num = 0;
	ASSERT_EQ(0, vht_ioctl(c, VHOST_VDPA_SET_VRING_ENABLE, &vs));
	EXPECT_ERRNO(EOPNOTSUPP, vht_ioctl(c, VHOST_GET_VRING_BASE, &vs));
	EXPECT_EQ(0, mig_blk_held(self->name[1]));
	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(c, &blob2, &blen2));
	mig_blk_check_holes(_metadata, blob2, blen2, head);
	free(blob2);
	free(blob);

	ASSERT_EQ(0, vhc_mig_set_state(c, VDPA_MIG_STATE_RUNNING));
	ASSERT_EQ(0, mig_blk_attr(self->name[1], "hold", "0"));
	vs.index = 0;
	vs.num = 1;
	ASSERT_EQ(0, vht_ioctl(c, VHOST_VDPA_SET_VRING_ENABLE, &vs));
	/* The source's two first, then every request C ran. */
	for (i = 0; i < MIG_BLK_HELD; i++) {
		ASSERT_EQ(0, vhc_vq_wait_used(&c->vqs[0], &id, &len,
					      MIG_BLK_WAIT_MS));
		for (k = 0; k < MIG_BLK_HELD && (__u32)head[k] != id; k++)
			;
		ASSERT_GT(MIG_BLK_HELD, k);
		if (i < 2)
			EXPECT_EQ(i ? 3 : 1, k);
		seen[k]++;
	}
	EXPECT_EQ(0, vhc_vq_get_used(&c->vqs[0], &id, &len));
	for (i = 0; i < MIG_BLK_HELD; i++) {
		EXPECT_EQ(1, seen[i]);
		EXPECT_EQ(mig_blk_hole(i) ? 0xff : 0, req[i].status);
	}
	mig_blk_check_file(_metadata, MIG_BLK_HELD, mig_blk_hole);
}

/*
 * A state with holes that is ahead of the driver's ring: C would step over
 * a position the driver never made available and run whatever its slot
 * holds.  It loads (nothing tells), but the queue does not start: the
 * device needs a reset and runs no request.
 */
TEST_F(mig_blk, load_holes_ahead)
{
	struct vhc_dev *a = &self->dev[0], *c = &self->dev[1];
	int head[MIG_BLK_HELD], i;
	struct mig_blk_req *req;
	size_t blen;
	void *blob;

	if (_metadata->skip)
		return;
	req = mig_blk_save_held(_metadata, a, self->name[0], MIG_BLK_HELD,
				head, &blob, &blen);
	mig_blk_holes(_metadata, blob, blen, 5);
	mig_blk_move_held(_metadata, a, self->name[0], c, blob, blen);
	mig_blk_expect_stopped(_metadata, c);
	for (i = 0; i < MIG_BLK_HELD; i++)
		EXPECT_EQ(0xff, req[i].status);
}

/* ---- a parent without vdpa_migrate_ops: the kernel's vdpasim_net ---- */

FIXTURE(mig_sim) {
	struct net_port port[2];	/* A, C; each loops TX back to RX */
};

FIXTURE_SETUP(mig_sim)
{
	char extra[64];
	int i;

	for (i = 0; i < 2; i++)
		self->port[i].dev.fd = -1;
	if (!vhc_mgmtdev_present("vdpasim_net"))
		SKIP(return, "needs the vdpasim_net mgmtdev");
	if (!vhc_driver_present(VHT_DRV_MIG))
		SKIP(return, "vdpa_migrate not loaded");
	ASSERT_EQ(0, vhc_use(VHT_DRV_MIG));
	for (i = 0; i < 2; i++) {
		struct net_port *p = &self->port[i];

		vht_dev_name(p->name, sizeof(p->name), "vms", 'a' + i);
		p->mac[0] = 0x02;
		p->mac[5] = 0x3a;	/* both: C takes A's place */
		p->peer = p;
		snprintf(extra, sizeof(extra), "mac 02:00:00:00:00:3a");
		ASSERT_EQ(0, port_create(p, "vdpasim_net", extra));
	}
}

FIXTURE_TEARDOWN(mig_sim)
{
	int i;

	for (i = 0; i < 2; i++)
		port_release(&self->port[i]);
}

/*
 * vdpa_sim has suspend but no migration ops: its state comes from the
 * config ops alone (no type records, nothing in flight), it loads into
 * another vdpa_sim device, and traffic goes on there.  Without resume a
 * cancel fails with EOPNOTSUPP.
 */
TEST_F(mig_sim, state_without_parent_ops)
{
	struct net_port *a = &self->port[0], *c = &self->port[1];
	struct vdpa_mig_info info;
	struct net_rx_stats st;
	unsigned int tx_done;
	void *blob;
	size_t len;
	int ret;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, vhc_mig_info(&a->dev, &info));
	if (!(info.caps & VDPA_MIG_CAP_STATE))
		SKIP(return, "vdpa_sim cannot suspend here");
	EXPECT_EQ(0u, info.caps & (VDPA_MIG_CAP_TYPE_STATE |
				   VDPA_MIG_CAP_INFLIGHT |
				   VDPA_MIG_CAP_DIRTY_LOG));
	ASSERT_EQ(0, net_start(a, NET_RING));
	net_xfer(_metadata, a, a, a->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);

	ASSERT_EQ(0, vhc_mig_set_state(&a->dev, VDPA_MIG_STATE_SAVING));
	ASSERT_EQ(0, vhc_mig_save(&a->dev, &blob, &len));
	EXPECT_EQ(NULL, mig_find(blob, len, VDPA_MIG_REC_NET, 0));
	EXPECT_EQ(NULL, mig_find(blob, len, VDPA_MIG_REC_VQ_INFLIGHT, 0));
	ret = vhc_mig_set_state(&a->dev, VDPA_MIG_STATE_RUNNING);
	EXPECT_ERRNO(EOPNOTSUPP, ret);

	mig_move(_metadata, a, c, blob, len);
	free(blob);
	net_xfer(_metadata, c, c, c->mac, NET_WAIT_MS, &st, &tx_done);
	net_expect_all(_metadata, &st, tx_done);
}

TEST_HARNESS_MAIN

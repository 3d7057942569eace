// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_dirty_test - dirty page logging of vdpa_migrate (VDPA_MIG_LOG_*)
 * with generic devices.
 *
 * The generic device knows every byte it writes into driver memory, so
 * the tests demand an exact log: after a randomised workload, a SYNC over
 * all of guest memory must report every page the device wrote (buffers,
 * used ring) and no other page.  The device is suspended around each
 * check so that no handler runs while the log is read.
 *
 * Also: every misuse of the three ioctls fails with the documented errno
 * and leaves the log as it was; a SYNC clears what it reports; logging
 * restarts after a stop; the logs of two address spaces stay apart.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/vdpa_migrate.h>
#include <linux/vhost.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "kselftest_harness.h"
#include "vhost_test.h"

#define DL_PAGE		4096ULL
#define DL_SHIFT	12
#define DL_WAIT_MS	10000
#define DL_ROUNDS	6

/* Words of a bitmap of @pages bits. */
#define DL_WORDS(pages)	(((pages) + 63) / 64)

/* --- the three ioctls ------------------------------------------------------ */

static int dl_start1(struct vhc_dev *d, __u32 asid, __u64 iova, __u64 size)
{
	struct vdpa_mig_log_range r = { .iova = iova, .size = size };

	return vhc_log_start(d, asid, DL_SHIFT, &r, 1);
}

/* --- expected and reported pages of guest memory -------------------------- */

/* A bitmap over the pages of a device's guest memory. */
struct dl_map {
	__u64 *bits;
	__u64 pages;
};

static int dl_map_init(struct dl_map *m, const struct vhc_dev *d)
{
	m->pages = d->mem_size / DL_PAGE;
	m->bits = calloc(DL_WORDS(m->pages), sizeof(__u64));
	return m->bits ? 0 : -ENOMEM;
}

static void dl_map_clear(struct dl_map *m)
{
	memset(m->bits, 0, DL_WORDS(m->pages) * sizeof(__u64));
}

/* Mark the pages of [@p, @p + @len) of @d's guest memory. */
static void dl_map_set(struct dl_map *m, const struct vhc_dev *d,
		       const void *p, size_t len)
{
	__u64 off = (const char *)p - (const char *)d->mem, pg;

	if (!len)
		return;
	for (pg = off / DL_PAGE; pg <= (off + len - 1) / DL_PAGE; pg++)
		m->bits[pg / 64] |= 1ULL << (pg % 64);
}

static __u64 dl_map_count(const struct dl_map *m)
{
	__u64 i, n = 0;

	for (i = 0; i < DL_WORDS(m->pages); i++)
		n += __builtin_popcountll(m->bits[i]);
	return n;
}

static bool dl_map_test(const struct dl_map *m, __u64 pg)
{
	return m->bits[pg / 64] & (1ULL << (pg % 64));
}

/* Sync all of @d's guest memory in @asid into @got (cleared first). */
static int dl_sync_mem(struct vhc_dev *d, __u32 asid, struct dl_map *got,
		       __u64 *dirty)
{
	dl_map_clear(got);
	return vhc_log_sync(d, asid, d->mem_iova, d->mem_size, got->bits, dirty);
}

/*
 * Compare a synced map with the expected one, page by page; log the first
 * differences.  Return: the number of differing pages.
 */
static unsigned int dl_diff(struct __test_metadata *_metadata,
			    const char *what, const struct dl_map *exp,
			    const struct dl_map *got)
{
	unsigned int n = 0;
	__u64 pg;

	for (pg = 0; pg < exp->pages; pg++) {
		bool e = dl_map_test(exp, pg), g = dl_map_test(got, pg);

		if (e == g)
			continue;
		if (n++ < 8)
			TH_LOG("%s: page %llu %s", what, (unsigned long long)pg,
			       e ? "written but not reported" :
				   "reported but not written");
	}
	return n;
}

/*
 * The used ring entries [@from, vq->last_used), the index, and what the
 * device writes when it re-enables notifications: the flags (next to the
 * index) or, with EVENT_IDX, avail_event after the last entry.
 */
static void dl_map_used(struct dl_map *m, const struct vhc_vq *vq, __u16 from)
{
	__u16 i;

	if (from == vq->last_used)
		return;
	dl_map_set(m, vq->dev, vq->used, 4);	/* flags, idx */
	if (vq->dev->features & BIT_ULL(VIRTIO_RING_F_EVENT_IDX))
		dl_map_set(m, vq->dev, &vq->used->ring[vq->num], 2);
	for (i = from; i != vq->last_used; i++)
		dl_map_set(m, vq->dev, &vq->used->ring[i % vq->num],
			   sizeof(vq->used->ring[0]));
}

/*
 * Set up queue @index so that its used ring crosses a page boundary after
 * its 31st entry: used entries land on two pages depending on the index,
 * which the expected maps must follow exactly.  vhc_vq_setup() lays out
 * the descriptor table, the driver ring and the used ring one after the
 * other, each 64-byte aligned.
 */
static int dl_vq_setup(struct vhc_dev *d, unsigned int index, unsigned int num)
{
	size_t avail = 4 + 2 * (num + 1);
	size_t used_off = 16 * num + ((avail + 63) & ~(size_t)63);
	size_t off = (d->mem_used + 63) & ~(size_t)63;
	size_t want = (DL_PAGE * 2 - 256 - (off + used_off) % DL_PAGE) % DL_PAGE;

	if (want && !vhc_alloc(d, want, 1))
		return -ENOMEM;
	return vhc_vq_setup(d, index, num);
}

/* Ack the backend features the tests use on top of vhc_open()'s. */
static int dl_backend(struct vhc_dev *d)
{
	__u64 bf = d->backend_features |
		   BIT_ULL(VHOST_BACKEND_F_IOTLB_ASID) |
		   BIT_ULL(VHOST_BACKEND_F_SUSPEND) |
		   BIT_ULL(VHOST_BACKEND_F_RESUME);
	int ret;

	ret = vht_ioctl(d, VHOST_SET_BACKEND_FEATURES, &bf);
	if (!ret)
		d->backend_features = bf;
	return ret;
}

static int dl_suspend(struct vhc_dev *d)
{
	return vht_ioctl(d, VHOST_VDPA_SUSPEND, NULL);
}

static int dl_resume(struct vhc_dev *d)
{
	return vht_ioctl(d, VHOST_VDPA_RESUME, NULL);
}

/* A small deterministic generator, seeded per test and logged. */
static __u64 dl_rand_state;

static __u32 dl_rand(void)
{
	dl_rand_state ^= dl_rand_state << 13;
	dl_rand_state ^= dl_rand_state >> 7;
	dl_rand_state ^= dl_rand_state << 17;
	return (__u32)(dl_rand_state >> 16);
}

static __u32 dl_rand_range(__u32 lo, __u32 hi)
{
	return lo + dl_rand() % (hi - lo + 1);
}

static void dl_seed(struct __test_metadata *_metadata)
{
	const char *s = getenv("DL_SEED");

	dl_rand_state = s && *s ? strtoull(s, NULL, 0) :
			(__u64)time(NULL) * 2654435761ULL + getpid();
	if (!dl_rand_state)
		dl_rand_state = 1;
	TH_LOG("seed %#llx (DL_SEED= to repeat)",
	       (unsigned long long)dl_rand_state);
}

/* ========================================================================= */
/* Block device                                                               */
/* ========================================================================= */

#define BLK_MEM		(4 << 20)
#define BLK_RING	64
#define BLK_SECTOR	512
#define BLK_REQS	20	/* per round, 3 descriptors each */
#define BLK_DATA	(2 << 20)
#define BLK_STATUS	(64 * 4096)

#define BLK_FEATURES	(BIT_ULL(VIRTIO_F_VERSION_1) | \
			 BIT_ULL(VIRTIO_F_ACCESS_PLATFORM))

FIXTURE(dirty_blk) {
	char name[32];
	bool created;
	struct vhc_dev dev;
	__u64 capacity;
	struct virtio_blk_outhdr *hdr;	/* BLK_RING headers */
	__u8 *data;			/* BLK_DATA */
	__u8 *status;			/* BLK_STATUS */
	struct dl_map exp, got;
};

/* With EVENT_IDX the device writes avail_event instead of the flags. */
FIXTURE_VARIANT(dirty_blk) {
	bool event_idx;
};

FIXTURE_VARIANT_ADD(dirty_blk, plain) {
	.event_idx = false,
};

FIXTURE_VARIANT_ADD(dirty_blk, event_idx) {
	.event_idx = true,
};

FIXTURE_SETUP(dirty_blk)
{
	struct vhc_dev *d = &self->dev;
	__u64 cap;

	d->fd = -1;
	if (!vhc_mgmtdev_present("vdpagen_blk"))
		SKIP(return, "vdpagen_blk not present");
	if (!vhc_driver_present(VHT_DRV_MIG))
		SKIP(return, "vdpa_migrate not loaded");
	ASSERT_EQ(0, vhc_use(VHT_DRV_MIG));
	vht_dev_name(self->name, sizeof(self->name), "dlb", 'a');
	ASSERT_EQ(0, vhc_vdpa_add("vdpagen_blk", self->name, NULL));
	self->created = true;
	ASSERT_LE(0, vhc_bind(self->name));
	ASSERT_EQ(0, vhc_open(d, self->name));
	ASSERT_EQ(0, dl_backend(d));
	ASSERT_EQ(0, vhc_get_config(d, 0, &cap, sizeof(cap)));
	self->capacity = le64toh(cap);
	ASSERT_LE(1024ULL, self->capacity);

	ASSERT_EQ(0, vhc_mem_init(d, BLK_MEM));
	ASSERT_EQ(0, vhc_mem_map(d));
	ASSERT_EQ(0, vhc_negotiate(d, BLK_FEATURES |
				   (variant->event_idx ?
				    BIT_ULL(VIRTIO_RING_F_EVENT_IDX) : 0)));
	ASSERT_EQ(variant->event_idx,
		  !!(d->features & BIT_ULL(VIRTIO_RING_F_EVENT_IDX)));
	/* Each area on pages of its own. */
	ASSERT_EQ(0, dl_vq_setup(d, 0, BLK_RING));
	ASSERT_NE(vhc_iova(d, &d->vqs[0].used->ring[0]) / DL_PAGE,
		  vhc_iova(d, &d->vqs[0].used->ring[32]) / DL_PAGE);
	self->hdr = vhc_alloc(d, BLK_RING * sizeof(*self->hdr), DL_PAGE);
	self->status = vhc_alloc(d, BLK_STATUS, DL_PAGE);
	self->data = vhc_alloc(d, BLK_DATA, DL_PAGE);
	ASSERT_NE(NULL, self->data);
	ASSERT_EQ(0, vhc_driver_ok(d));
	ASSERT_EQ(0, dl_map_init(&self->exp, d));
	ASSERT_EQ(0, dl_map_init(&self->got, d));
}

FIXTURE_TEARDOWN(dirty_blk)
{
	vhc_close(&self->dev);
	if (self->created)
		vhc_vdpa_del(self->name);
	free(self->exp.bits);
	free(self->got.bits);
}

/*
 * Queue one request on descriptor-free space: header @hdr, @len data bytes
 * at @buf (device-writable for a read), status byte @st.
 */
static int blk_queue(struct _test_data_dirty_blk *self, unsigned int slot,
		     bool read, __u64 sector, __u8 *buf, __u32 len, __u8 *st)
{
	struct virtio_blk_outhdr *h = &self->hdr[slot];
	struct vhc_buf out[2], in[2];
	unsigned int n_out = 0, n_in = 0;

	h->type = htole32(read ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT);
	h->ioprio = 0;
	h->sector = htole64(sector);
	*st = 0xff;
	out[n_out++] = (struct vhc_buf){ h, sizeof(*h) };
	if (read)
		in[n_in++] = (struct vhc_buf){ buf, len };
	else
		out[n_out++] = (struct vhc_buf){ buf, len };
	in[n_in++] = (struct vhc_buf){ st, 1 };
	return vhc_vq_add(&self->dev.vqs[0], out, n_out, in, n_in);
}

/* Wait for @n completions; each must carry status OK. */
static void blk_reap(struct __test_metadata *_metadata,
		     struct _test_data_dirty_blk *self, unsigned int n,
		     __u8 **status_of)
{
	struct vhc_vq *vq = &self->dev.vqs[0];
	__u32 id, len;

	while (n--) {
		/* With EVENT_IDX: interrupt us at the next entry (used_event). */
		vq->avail->ring[vq->num] = htole16(vq->last_used);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		ASSERT_EQ(0, vhc_vq_wait_used(vq, &id, &len, DL_WAIT_MS));
		ASSERT_EQ(VIRTIO_BLK_S_OK, *status_of[id]);
	}
}

/*
 * One round of random reads and writes.  Expected pages: data of the
 * reads, every status byte, the used ring.  Written data and headers
 * are only read by the device.
 */
static void blk_round(struct __test_metadata *_metadata,
		      struct _test_data_dirty_blk *self, __u64 *write_only)
{
	struct vhc_dev *d = &self->dev;
	struct vhc_vq *vq = &d->vqs[0];
	__u8 *status_of[BLK_RING] = { NULL };
	struct dl_map wmap = { NULL, 0 };
	__u16 used0 = vq->last_used;
	unsigned int i, n = dl_rand_range(1, BLK_REQS);
	__u64 pg;

	ASSERT_EQ(0, dl_map_init(&wmap, d));
	for (i = 0; i < n; i++) {
		bool read = dl_rand() & 1;
		__u32 sectors = dl_rand_range(1, 16);
		__u32 len = sectors * BLK_SECTOR;
		__u8 *buf = self->data + dl_rand_range(0, BLK_DATA - len);
		/* Distinct status bytes, scattered over their pages. */
		__u8 *st = self->status + i * (BLK_STATUS / BLK_REQS) +
			   dl_rand_range(0, BLK_STATUS / BLK_REQS - 1);
		__u64 sector = dl_rand() % (self->capacity - sectors);
		int head;

		head = blk_queue(self, i, read, sector, buf, len, st);
		ASSERT_LE(0, head);
		status_of[head] = st;
		dl_map_set(read ? &self->exp : &wmap, d, buf, len);
		dl_map_set(&self->exp, d, st, 1);
	}
	ASSERT_EQ(0, vhc_vq_kick(vq));
	blk_reap(_metadata, self, n, status_of);
	dl_map_used(&self->exp, vq, used0);

	/* Pages only written to the disk must stay clean. */
	for (pg = 0; pg < wmap.pages; pg++)
		if (dl_map_test(&wmap, pg) && !dl_map_test(&self->exp, pg))
			(*write_only)++;
	free(wmap.bits);
}

/* Clear the log: suspended, so that no handler writes meanwhile. */
static void dl_settle(struct __test_metadata *_metadata, struct vhc_dev *d,
		      __u32 asid, struct dl_map *scratch)
{
	ASSERT_EQ(0, dl_suspend(d));
	ASSERT_EQ(0, dl_sync_mem(d, asid, scratch, NULL));
	ASSERT_EQ(0, dl_resume(d));
}

TEST_F_TIMEOUT(dirty_blk, random_exact, 120)
{
	struct vhc_dev *d = &self->dev;
	__u64 dirty, write_only = 0, second;
	unsigned int round;

	if (_metadata->skip)
		return;
	dl_seed(_metadata);
	ASSERT_EQ(0, dl_start1(d, 0, d->mem_iova, d->mem_size));
	for (round = 0; round < DL_ROUNDS; round++) {
		dl_settle(_metadata, d, 0, &self->got);
		dl_map_clear(&self->exp);
		blk_round(_metadata, self, &write_only);
		ASSERT_EQ(0, dl_suspend(d));
		ASSERT_EQ(0, dl_sync_mem(d, 0, &self->got, &dirty));
		EXPECT_EQ(0u, dl_diff(_metadata, "blk", &self->exp, &self->got));
		EXPECT_EQ(dl_map_count(&self->exp), dirty);
		/* A sync clears what it reports. */
		ASSERT_EQ(0, dl_sync_mem(d, 0, &self->got, &second));
		EXPECT_EQ(0u, second);
		EXPECT_EQ(0u, dl_map_count(&self->got));
		ASSERT_EQ(0, dl_resume(d));
	}
	TH_LOG("%llu pages only written to the disk stayed clean",
	       (unsigned long long)write_only);
	EXPECT_LT(0u, write_only);
	EXPECT_EQ(0, vhc_log_stop(d, 0));
}

/* Dirty exactly the pages @pages of the data area with reads. */
static void blk_dirty_pages(struct __test_metadata *_metadata,
			    struct _test_data_dirty_blk *self,
			    const unsigned int *pages, unsigned int n)
{
	__u8 *status_of[BLK_RING] = { NULL };
	unsigned int i;

	for (i = 0; i < n; i++) {
		int head = blk_queue(self, i, true, i, self->data +
				     pages[i] * DL_PAGE, BLK_SECTOR,
				     self->status + i);

		ASSERT_LE(0, head);
		status_of[head] = self->status + i;
	}
	ASSERT_EQ(0, vhc_vq_kick(&self->dev.vqs[0]));
	blk_reap(_metadata, self, n, status_of);
}

/* Page index of the data area in guest memory. */
static __u64 blk_data_pg(struct _test_data_dirty_blk *self, unsigned int i)
{
	return (self->data - (__u8 *)self->dev.mem) / DL_PAGE + i;
}

/*
 * A sync of a part of a range, starting at a page that is not on a word
 * of the log, reports exactly that part, shifted to bit 0, and leaves the
 * rest for a later sync.
 */
TEST_F_TIMEOUT(dirty_blk, partial_sync, 60)
{
	static const unsigned int pages[] = { 0, 2, 3, 63, 64, 66, 130, 200 };
	struct vhc_dev *d = &self->dev;
	__u64 data = vhc_iova(d, self->data), bm[8], dirty;
	unsigned int i;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, dl_start1(d, 0, d->mem_iova, d->mem_size));
	dl_settle(_metadata, d, 0, &self->got);
	blk_dirty_pages(_metadata, self, pages, ARRAY_SIZE(pages));
	ASSERT_EQ(0, dl_suspend(d));

	/* Pages 3..66 of the data area: 3, 63, 64 and 66. */
	memset(bm, 0, sizeof(bm));
	ASSERT_EQ(0, vhc_log_sync(d, 0, data + 3 * DL_PAGE, 64 * DL_PAGE, bm,
				  &dirty));
	EXPECT_EQ(4u, dirty);
	EXPECT_EQ((1ULL << 0) | (1ULL << 60) | (1ULL << 61) | (1ULL << 63),
		  bm[0]);
	EXPECT_EQ(0u, bm[1]);

	/* The bitmap is ORed into, not overwritten. */
	bm[0] = 1ULL << 5;
	ASSERT_EQ(0, vhc_log_sync(d, 0, data, 8 * DL_PAGE, bm, &dirty));
	EXPECT_EQ(2u, dirty);
	EXPECT_EQ((1ULL << 0) | (1ULL << 2) | (1ULL << 5), bm[0]);

	/* Everything else is still there. */
	ASSERT_EQ(0, dl_sync_mem(d, 0, &self->got, &dirty));
	dl_map_clear(&self->exp);
	dl_map_used(&self->exp, &d->vqs[0], d->vqs[0].last_used - 8);
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		self->exp.bits[blk_data_pg(self, pages[i]) / 64] |=
			1ULL << (blk_data_pg(self, pages[i]) % 64);
	/* ...minus what the first two syncs reported. */
	for (i = 0; i < 6; i++)
		self->exp.bits[blk_data_pg(self, pages[i]) / 64] &=
			~(1ULL << (blk_data_pg(self, pages[i]) % 64));
	dl_map_set(&self->exp, d, self->status, 8);
	EXPECT_EQ(0u, dl_diff(_metadata, "rest", &self->exp, &self->got));
	ASSERT_EQ(0, dl_resume(d));
}

/* Stop, then start again: the new log starts clean and works. */
TEST_F_TIMEOUT(dirty_blk, restart, 60)
{
	static const unsigned int pages[] = { 5 };
	struct vhc_dev *d = &self->dev;
	__u64 data = vhc_iova(d, self->data), bm[1] = { 0 }, dirty;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, dl_start1(d, 0, d->mem_iova, d->mem_size));
	blk_dirty_pages(_metadata, self, pages, 1);
	ASSERT_EQ(0, vhc_log_stop(d, 0));
	EXPECT_ERRNO(ENOENT, vhc_log_sync(d, 0, data, DL_PAGE, bm, &dirty));
	EXPECT_ERRNO(ENOENT, vhc_log_stop(d, 0));

	/* Writes while not logging are not remembered. */
	blk_dirty_pages(_metadata, self, pages, 1);
	ASSERT_EQ(0, dl_start1(d, 0, d->mem_iova, d->mem_size));
	ASSERT_EQ(0, vhc_log_sync(d, 0, data, 64 * DL_PAGE, bm, &dirty));
	EXPECT_EQ(0u, dirty);
	blk_dirty_pages(_metadata, self, pages, 1);
	ASSERT_EQ(0, vhc_log_sync(d, 0, data, 64 * DL_PAGE, bm, &dirty));
	EXPECT_EQ(1u, dirty);
	EXPECT_EQ(1ULL << 5, bm[0]);
	EXPECT_EQ(0, vhc_log_stop(d, 0));
}

/*
 * A log over ranges nothing is mapped in: START does not need mapped IOVA,
 * and the device's writes elsewhere do not show.
 */
TEST_F_TIMEOUT(dirty_blk, unmapped_ranges, 60)
{
	static const unsigned int pages[] = { 1 };
	struct vhc_dev *d = &self->dev;
	struct vdpa_mig_log_range r[3];
	__u64 top = (d->iova_last + 1) & ~(DL_PAGE - 1), bm[2], dirty;
	__u64 data = vhc_iova(d, self->data);

	if (_metadata->skip)
		return;
	ASSERT_LT(d->mem_iova + d->mem_size + (64ULL << 30), top);
	/* Below, around a hole, and far above guest memory; 2 MiB pages. */
	r[0] = (struct vdpa_mig_log_range){ 0, 1ULL << 21 };
	r[1] = (struct vdpa_mig_log_range){ data & ~((1ULL << 21) - 1),
					    1ULL << 21 };
	r[2] = (struct vdpa_mig_log_range){ top - (64ULL << 30), 64ULL << 30 };
	if (r[1].iova <= r[0].iova)
		SKIP(return, "guest memory too low for this layout");
	ASSERT_EQ(0, vhc_log_start(d, 0, 21, r, 3));
	blk_dirty_pages(_metadata, self, pages, 1);
	memset(bm, 0, sizeof(bm));
	ASSERT_EQ(0, vhc_log_sync(d, 0, r[2].iova, r[2].size, bm, &dirty));
	EXPECT_EQ(0u, dirty);
	ASSERT_EQ(0, vhc_log_sync(d, 0, r[0].iova, r[0].size, bm, &dirty));
	EXPECT_EQ(0u, dirty);
	/* The 2 MiB page holding the data area's page 1 is dirty. */
	ASSERT_EQ(0, vhc_log_sync(d, 0, r[1].iova, r[1].size, bm, &dirty));
	EXPECT_EQ(1u, dirty);
	EXPECT_EQ(1u, bm[0]);
	EXPECT_EQ(0, vhc_log_stop(d, 0));
}

/*
 * The header misuse the three ioctls share: @arg is a valid argument of
 * @size bytes, its reserved field at @resv_off.  Each call must fail.
 */
static void dl_bad_headers(struct __test_metadata *_metadata,
			   struct vhc_dev *d, unsigned long req,
			   const void *arg, size_t size, size_t resv_off,
			   __u32 nas)
{
	__u32 buf[32] = { 0 };

	memcpy(buf, arg, size);
	buf[0] = size - 1;			/* argsz too small */
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, req, buf));
	buf[0] = size + 8;			/* unknown tail not zero */
	buf[size / 4] = 1;
	EXPECT_ERRNO(E2BIG, vht_ioctl(d, req, buf));
	buf[size / 4] = 0;
	buf[0] = size;
	buf[1] = 1;				/* flags */
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, req, buf));
	buf[1] = 0;
	buf[resv_off / 4] = 1;			/* reserved */
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, req, buf));
	buf[resv_off / 4] = 0;
	buf[2] = nas;				/* asid */
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, req, buf));
}

/* Every misuse fails with its errno; the log is unchanged afterwards. */
TEST_F_TIMEOUT(dirty_blk, errors, 60)
{
	static const unsigned int pages[] = { 7, 9 };
	struct vhc_dev *d = &self->dev;
	__u64 mem = d->mem_iova, size = d->mem_size, dirty, bm[DL_WORDS(BLK_MEM / 4096)];
	__u64 top = (d->iova_last + 1) & ~(DL_PAGE - 1);
	struct vdpa_mig_log_range r[VDPA_MIG_LOG_MAX_RANGES + 1];
	struct vdpa_mig_log_start st;
	struct vdpa_mig_log_sync sy;
	struct vdpa_mig_log_stop sp;
	__u32 nas = 0, i;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, vht_ioctl(d, VHOST_VDPA_GET_AS_NUM, &nas));

	/* Nothing started yet. */
	EXPECT_ERRNO(ENOENT, vhc_log_sync(d, 0, mem, size, bm, &dirty));
	EXPECT_ERRNO(ENOENT, vhc_log_stop(d, 0));

	/* Argument structures. */
	r[0] = (struct vdpa_mig_log_range){ mem, size };
	st = (struct vdpa_mig_log_start){ sizeof(st), 0, 0, DL_SHIFT, 1, 0,
					  (__u64)(uintptr_t)r };
	dl_bad_headers(_metadata, d, VDPA_MIG_LOG_START, &st, sizeof(st),
		       offsetof(struct vdpa_mig_log_start, reserved), nas);
	st.page_shift = 11;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VDPA_MIG_LOG_START, &st));
	st.page_shift = 22;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VDPA_MIG_LOG_START, &st));
	st.page_shift = 64;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VDPA_MIG_LOG_START, &st));
	st.page_shift = DL_SHIFT;
	st.nr_ranges = 0;
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VDPA_MIG_LOG_START, &st));
	st.nr_ranges = VDPA_MIG_LOG_MAX_RANGES + 1;
	for (i = 0; i <= VDPA_MIG_LOG_MAX_RANGES; i++)
		r[i] = (struct vdpa_mig_log_range){ mem + i * DL_PAGE, DL_PAGE };
	EXPECT_ERRNO(EINVAL, vht_ioctl(d, VDPA_MIG_LOG_START, &st));
	st.nr_ranges = 1;
	st.ranges = 8;
	EXPECT_ERRNO(EFAULT, vht_ioctl(d, VDPA_MIG_LOG_START, &st));

	/* Ranges. */
	EXPECT_ERRNO(EINVAL, dl_start1(d, 0, mem, 0));
	EXPECT_ERRNO(EINVAL, dl_start1(d, 0, mem + 1, size - DL_PAGE));
	EXPECT_ERRNO(EINVAL, dl_start1(d, 0, mem, size - 1));
	EXPECT_ERRNO(EINVAL, dl_start1(d, 0, ~0ULL - DL_PAGE + 1,
				       2 * DL_PAGE));
	EXPECT_ERRNO(ERANGE, dl_start1(d, 0, top, DL_PAGE));
	EXPECT_ERRNO(ERANGE, dl_start1(d, 0, top - DL_PAGE, 2 * DL_PAGE));
	r[0] = (struct vdpa_mig_log_range){ mem, 2 * DL_PAGE };
	r[1] = (struct vdpa_mig_log_range){ mem + DL_PAGE, DL_PAGE };
	EXPECT_ERRNO(EINVAL, vhc_log_start(d, 0, DL_SHIFT, r, 2));	/* overlap */
	r[1] = (struct vdpa_mig_log_range){ mem - DL_PAGE, DL_PAGE };
	EXPECT_ERRNO(EINVAL, vhc_log_start(d, 0, DL_SHIFT, r, 2));	/* unsorted */
	r[0] = (struct vdpa_mig_log_range){ 0, 768ULL << 30 };
	r[1] = (struct vdpa_mig_log_range){ 768ULL << 30, 768ULL << 30 };
	EXPECT_ERRNO(E2BIG, vhc_log_start(d, 0, DL_SHIFT, r, 2));	/* > 1 TiB */
	/* None of that started anything. */
	EXPECT_ERRNO(ENOENT, vhc_log_sync(d, 0, mem, size, bm, &dirty));

	/* A working log with two dirty pages, then misuse around it. */
	ASSERT_EQ(0, dl_start1(d, 0, mem, size));
	dl_settle(_metadata, d, 0, &self->got);
	blk_dirty_pages(_metadata, self, pages, ARRAY_SIZE(pages));
	ASSERT_EQ(0, dl_suspend(d));
	EXPECT_ERRNO(EBUSY, dl_start1(d, 0, mem, size));

	sy = (struct vdpa_mig_log_sync){ sizeof(sy), 0, 0, 0, mem, size,
					 (__u64)(uintptr_t)bm, 0 };
	dl_bad_headers(_metadata, d, VDPA_MIG_LOG_SYNC, &sy, sizeof(sy),
		       offsetof(struct vdpa_mig_log_sync, reserved), nas);
	if (nas > 1)
		EXPECT_ERRNO(ENOENT, vhc_log_sync(d, 1, mem, size, bm, &dirty));
	EXPECT_ERRNO(EINVAL, vhc_log_sync(d, 0, mem + 1, DL_PAGE, bm, &dirty));
	EXPECT_ERRNO(EINVAL, vhc_log_sync(d, 0, mem, 0, bm, &dirty));
	EXPECT_ERRNO(EINVAL, vhc_log_sync(d, 0, mem, DL_PAGE + 1, bm, &dirty));
	EXPECT_ERRNO(EINVAL, vhc_log_sync(d, 0, mem - DL_PAGE, 2 * DL_PAGE, bm,
					  &dirty));
	EXPECT_ERRNO(EINVAL, vhc_log_sync(d, 0, mem, size + DL_PAGE, bm, &dirty));
	EXPECT_ERRNO(EFAULT, vhc_log_sync(d, 0, mem, size, NULL, &dirty));
	EXPECT_ERRNO(EFAULT, vhc_log_sync(d, 0, mem, size, (__u64 *)8, &dirty));

	sp = (struct vdpa_mig_log_stop){ sizeof(sp), 0, 0, 0 };
	dl_bad_headers(_metadata, d, VDPA_MIG_LOG_STOP, &sp, sizeof(sp),
		       offsetof(struct vdpa_mig_log_stop, reserved), nas);

	/* The log still holds exactly the two pages and the used ring. */
	dl_map_clear(&self->exp);
	dl_map_used(&self->exp, &d->vqs[0], d->vqs[0].last_used - 2);
	dl_map_set(&self->exp, d, self->status, 2);
	dl_map_set(&self->exp, d, self->data + 7 * DL_PAGE, 1);
	dl_map_set(&self->exp, d, self->data + 9 * DL_PAGE, 1);
	ASSERT_EQ(0, dl_sync_mem(d, 0, &self->got, &dirty));
	EXPECT_EQ(0u, dl_diff(_metadata, "after errors", &self->exp,
			      &self->got));
	EXPECT_EQ(dl_map_count(&self->exp), dirty);
	ASSERT_EQ(0, dl_resume(d));
	EXPECT_EQ(0, vhc_log_stop(d, 0));
}

/* Closing the file stops logging; the next user starts clean. */
TEST_F_TIMEOUT(dirty_blk, release, 60)
{
	struct vhc_dev *d = &self->dev;
	__u64 bm[1], dirty;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, dl_start1(d, 0, d->mem_iova, d->mem_size));
	vhc_close(d);
	ASSERT_EQ(0, vhc_open(d, self->name));
	EXPECT_ERRNO(ENOENT, vhc_log_sync(d, 0, d->iova_first, DL_PAGE, bm,
					  &dirty));
	EXPECT_ERRNO(ENOENT, vhc_log_stop(d, 0));
	EXPECT_EQ(0, dl_start1(d, 0, 0, DL_PAGE));
}

/* A parent without log operations: EOPNOTSUPP. */
TEST(no_log_ops)
{
	struct vhc_dev d = { .fd = -1 };
	char name[32];

	if (!vhc_mgmtdev_present("vdpasim_blk"))
		SKIP(return, "vdpasim_blk not present");
	if (!vhc_driver_present(VHT_DRV_MIG))
		SKIP(return, "vdpa_migrate not loaded");
	ASSERT_EQ(0, vhc_use(VHT_DRV_MIG));
	vht_dev_name(name, sizeof(name), "dls", 'a');
	ASSERT_EQ(0, vhc_vdpa_add("vdpasim_blk", name, NULL));
	if (vhc_bind(name) >= 0 && !vhc_open(&d, name)) {
		EXPECT_ERRNO(EOPNOTSUPP, dl_start1(&d, 0, 0, DL_PAGE));
		vhc_close(&d);
	} else {
		TH_LOG("vdpasim_blk device did not bind to vdpa_migrate");
		EXPECT_TRUE(false);
	}
	vhc_vdpa_del(name);
}

/* ========================================================================= */
/* Net devices                                                                */
/* ========================================================================= */

#define NET_MEM		(2 << 20)
#define NET_RING	64
#define NET_HDR_LEN	12
#define NET_SLOTS	64
#define NET_SLOT	16384
#define NET_RX_Q	0
#define NET_TX_Q	1
#define NET_CVQ		2
#define NET_MAX_FRAME	1514
#define NET_PER_ROUND	16

#define NET_FEATURES	(BIT_ULL(VIRTIO_F_VERSION_1) | \
			 BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) | \
			 BIT_ULL(VIRTIO_NET_F_MAC) | \
			 BIT_ULL(VIRTIO_NET_F_MTU))

struct dl_port {
	struct vhc_dev dev;
	char name[32];
	__u8 mac[6];
	bool created;
	__u8 *tx;	/* NET_RING frames of NET_MAX_FRAME + header */
	__u8 *rx;	/* NET_SLOTS slots of NET_SLOT bytes */
	__u8 *ctrl;	/* control command and ack, a page of its own */
	/* Where each RX descriptor chain (by head) put its two pieces. */
	__u8 *piece[NET_RING][2];
	__u32 piece_len[NET_RING][2];
	struct dl_map exp, got;
};

FIXTURE(dirty_net) {
	struct dl_port port[2];
};

FIXTURE_SETUP(dirty_net)
{
	char extra[64];
	int i;

	for (i = 0; i < 2; i++)
		self->port[i].dev.fd = -1;
	if (!vhc_mgmtdev_present("vdpagen_net"))
		SKIP(return, "vdpagen_net not present");
	if (!vhc_driver_present(VHT_DRV_MIG))
		SKIP(return, "vdpa_migrate not loaded");
	ASSERT_EQ(0, vhc_use(VHT_DRV_MIG));
	for (i = 0; i < 2; i++) {
		struct dl_port *p = &self->port[i];

		vht_dev_name(p->name, sizeof(p->name), "dln", 'a' + i);
		memset(p->mac, 0, sizeof(p->mac));
		p->mac[0] = 0x02;
		p->mac[4] = 0xd1;
		p->mac[5] = i;
		snprintf(extra, sizeof(extra), "mac 02:00:00:00:d1:%02x", i);
		ASSERT_EQ(0, vhc_vdpa_add("vdpagen_net", p->name, extra));
		p->created = true;
		ASSERT_LE(0, vhc_bind(p->name));
		ASSERT_EQ(0, vhc_open(&p->dev, p->name));
		ASSERT_EQ(0, dl_backend(&p->dev));
		ASSERT_EQ(0, vhc_mem_init(&p->dev, NET_MEM));
		ASSERT_EQ(0, dl_map_init(&p->exp, &p->dev));
		ASSERT_EQ(0, dl_map_init(&p->got, &p->dev));
	}
}

FIXTURE_TEARDOWN(dirty_net)
{
	int i;

	for (i = 0; i < 2; i++) {
		vhc_close(&self->port[i].dev);
		if (self->port[i].created)
			vhc_vdpa_del(self->port[i].name);
		free(self->port[i].exp.bits);
		free(self->port[i].got.bits);
	}
}

/* Map guest memory in address space @asid (vhc_mem_map() does ASID 0). */
static int dl_map_asid(struct vhc_dev *d, __u32 asid)
{
	struct vhost_msg_v2 msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = VHOST_IOTLB_MSG_V2;
	msg.asid = asid;
	msg.iotlb.type = VHOST_IOTLB_UPDATE;
	msg.iotlb.iova = d->mem_iova;
	msg.iotlb.size = d->mem_size;
	msg.iotlb.uaddr = (__u64)(uintptr_t)d->mem;
	msg.iotlb.perm = VHOST_ACCESS_RW;
	if (write(d->fd, &msg, sizeof(msg)) != sizeof(msg))
		return errno ? -errno : -EIO;
	return 0;
}

/*
 * Reset, map, negotiate, set up RX and TX (and with @cvq the control
 * queue, in address space 1, its rings and command on pages of their
 * own), DRIVER_OK.
 */
static int net_start(struct dl_port *p, bool cvq)
{
	struct vhc_dev *d = &p->dev;
	__u64 features = NET_FEATURES;
	int ret;

	if (cvq)
		features |= BIT_ULL(VIRTIO_NET_F_CTRL_VQ) |
			    BIT_ULL(VIRTIO_NET_F_CTRL_RX);
	ret = vhc_reset(d);
	if (!ret)
		ret = vhc_mem_map(d);
	if (!ret && cvq) {
		struct vhost_vring_state s = { .index = 1, .num = 1 };

		ret = dl_map_asid(d, 1);
		if (!ret)
			ret = vht_ioctl(d, VHOST_VDPA_SET_GROUP_ASID, &s);
	}
	if (!ret)
		ret = vhc_negotiate(d, features);
	if (!ret)
		ret = dl_vq_setup(d, NET_RX_Q, NET_RING);
	if (!ret)
		ret = dl_vq_setup(d, NET_TX_Q, NET_RING);
	if (ret)
		return ret;
	p->tx = vhc_alloc(d, (size_t)NET_RING * 2048, DL_PAGE);
	p->rx = vhc_alloc(d, (size_t)NET_SLOTS * NET_SLOT, DL_PAGE);
	if (cvq) {
		if (!vhc_alloc(d, 1, DL_PAGE))	/* rings on a fresh page */
			return -ENOMEM;
		ret = vhc_vq_setup(d, NET_CVQ, NET_RING);
		if (ret)
			return ret;
		p->ctrl = vhc_alloc(d, DL_PAGE, DL_PAGE);
	}
	if (!p->tx || !p->rx || (cvq && !p->ctrl))
		return -ENOMEM;
	return vhc_driver_ok(d);
}

/*
 * Post @n RX chains at random places: two pieces in a random free slot,
 * the first (1..2048 bytes) anywhere in the slot's first half, the second
 * (4096 bytes, more than a frame fills) anywhere in its second half.  Both
 * may cross pages, and the device writes only a part of the second.
 */
static int net_post_rx(struct dl_port *p, unsigned int n, bool *used_slot)
{
	struct vhc_vq *rx = &p->dev.vqs[NET_RX_Q];
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct vhc_buf b[2];
		unsigned int slot;
		__u32 l0, o0, o1;
		int head;

		do {
			slot = dl_rand() % NET_SLOTS;
		} while (used_slot[slot]);
		used_slot[slot] = true;
		l0 = dl_rand_range(1, 2048);
		o0 = dl_rand_range(0, NET_SLOT / 2 - l0);
		o1 = dl_rand_range(0, NET_SLOT / 2 - 4096);
		b[0] = (struct vhc_buf){ p->rx + (size_t)slot * NET_SLOT + o0,
					 l0 };
		b[1] = (struct vhc_buf){ p->rx + (size_t)slot * NET_SLOT +
					 NET_SLOT / 2 + o1, 4096 };
		head = vhc_vq_add(rx, NULL, 0, b, 2);
		if (head < 0)
			return head;
		p->piece[head][0] = b[0].addr;
		p->piece[head][1] = b[1].addr;
		p->piece_len[head][0] = b[0].len;
		p->piece_len[head][1] = b[1].len;
	}
	return vhc_vq_kick(rx);
}

/* Queue @n frames of random length from @p to @dst and kick. */
static int net_send(struct dl_port *p, const __u8 *dst, unsigned int n)
{
	struct vhc_vq *tx = &p->dev.vqs[NET_TX_Q];
	unsigned int i;

	for (i = 0; i < n; i++) {
		__u8 *slot = p->tx + (size_t)tx->free_head * 2048;
		__u32 len = dl_rand_range(60, NET_MAX_FRAME);
		struct vhc_buf b = { slot, NET_HDR_LEN + len };
		int head;

		memset(slot, 0, NET_HDR_LEN);
		memcpy(slot + NET_HDR_LEN, dst, 6);
		memcpy(slot + NET_HDR_LEN + 6, p->mac, 6);
		slot[NET_HDR_LEN + 12] = 0x88;
		slot[NET_HDR_LEN + 13] = 0xb5;
		memset(slot + NET_HDR_LEN + 14, (int)dl_rand(), len - 14);
		head = vhc_vq_add(tx, &b, 1, NULL, 0);
		if (head < 0)
			return head;
	}
	return vhc_vq_kick(tx);
}

/* Reap @n RX completions of @p, marking the bytes they say were written. */
static void net_reap_rx(struct __test_metadata *_metadata, struct dl_port *p,
			unsigned int n)
{
	__u32 id, len, l0;

	while (n--) {
		ASSERT_EQ(0, vhc_vq_wait_used(&p->dev.vqs[NET_RX_Q], &id, &len,
					      DL_WAIT_MS));
		ASSERT_LT(id, (__u32)NET_RING);
		ASSERT_LE(NET_HDR_LEN + 60u, len);
		l0 = len < p->piece_len[id][0] ? len : p->piece_len[id][0];
		dl_map_set(&p->exp, &p->dev, p->piece[id][0], l0);
		dl_map_set(&p->exp, &p->dev, p->piece[id][1], len - l0);
	}
}

static void net_reap_tx(struct __test_metadata *_metadata, struct dl_port *p,
			unsigned int n)
{
	__u32 id, len;

	while (n--)
		ASSERT_EQ(0, vhc_vq_wait_used(&p->dev.vqs[NET_TX_Q], &id, &len,
					      DL_WAIT_MS));
}

/*
 * Both ports post RX buffers and send each other as many frames.  Every
 * queue completes something, so each used ring header is written.
 */
static void net_round(struct __test_metadata *_metadata,
		      struct _test_data_dirty_net *self)
{
	unsigned int n[2], i;
	__u16 used0[2][2];
	bool slots[2][NET_SLOTS] = { { false } };

	for (i = 0; i < 2; i++) {
		struct dl_port *p = &self->port[i];

		dl_map_clear(&p->exp);
		used0[i][0] = p->dev.vqs[NET_RX_Q].last_used;
		used0[i][1] = p->dev.vqs[NET_TX_Q].last_used;
		n[i] = dl_rand_range(1, NET_PER_ROUND);
		ASSERT_EQ(0, net_post_rx(p, n[i], slots[i]));
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, net_send(&self->port[i], self->port[!i].mac,
				      n[!i]));
	for (i = 0; i < 2; i++) {
		struct dl_port *p = &self->port[i];

		net_reap_rx(_metadata, p, n[i]);
		net_reap_tx(_metadata, p, n[!i]);
		dl_map_used(&p->exp, &p->dev.vqs[NET_RX_Q], used0[i][0]);
		dl_map_used(&p->exp, &p->dev.vqs[NET_TX_Q], used0[i][1]);
	}
}

TEST_F_TIMEOUT(dirty_net, random_exact, 180)
{
	__u64 dirty, second, total = 0;
	unsigned int round, i;

	if (_metadata->skip)
		return;
	dl_seed(_metadata);
	for (i = 0; i < 2; i++) {
		struct vhc_dev *d = &self->port[i].dev;

		ASSERT_EQ(0, net_start(&self->port[i], false));
		ASSERT_EQ(0, dl_start1(d, 0, d->mem_iova, d->mem_size));
	}
	for (round = 0; round < DL_ROUNDS; round++) {
		for (i = 0; i < 2; i++)
			dl_settle(_metadata, &self->port[i].dev, 0,
				  &self->port[i].got);
		net_round(_metadata, self);
		for (i = 0; i < 2; i++) {
			struct dl_port *p = &self->port[i];

			ASSERT_EQ(0, dl_suspend(&p->dev));
			ASSERT_EQ(0, dl_sync_mem(&p->dev, 0, &p->got, &dirty));
			EXPECT_EQ(0u, dl_diff(_metadata, p->name, &p->exp,
					      &p->got));
			EXPECT_EQ(dl_map_count(&p->exp), dirty);
			total += dirty;
			ASSERT_EQ(0, dl_sync_mem(&p->dev, 0, &p->got, &second));
			EXPECT_EQ(0u, second);
			ASSERT_EQ(0, dl_resume(&p->dev));
		}
	}
	TH_LOG("%llu dirty pages reported over %u rounds",
	       (unsigned long long)total, DL_ROUNDS);
	for (i = 0; i < 2; i++)
		EXPECT_EQ(0, vhc_log_stop(&self->port[i].dev, 0));
}

/*
 * The control queue in address space 1, the data queues in 0, guest
 * memory mapped at the same IOVAs in both: each log shows only the writes
 * into its own address space.
 */
TEST_F_TIMEOUT(dirty_net, asid_isolation, 120)
{
	struct dl_port *a = &self->port[0];
	struct vhc_dev *d = &a->dev;
	struct vhc_vq *cvq = &d->vqs[NET_CVQ];
	struct dl_map exp1 = { NULL, 0 };
	struct vhc_buf out[2], in;
	__u16 cvq_used0;
	__u32 ngroups = 0, nas = 0, id, len;
	__u64 dirty;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, vht_ioctl(d, VHOST_VDPA_GET_GROUP_NUM, &ngroups));
	ASSERT_EQ(0, vht_ioctl(d, VHOST_VDPA_GET_AS_NUM, &nas));
	if (ngroups < 2 || nas < 2)
		SKIP(return, "device has %u groups, %u address spaces",
		     ngroups, nas);
	dl_seed(_metadata);
	ASSERT_EQ(0, net_start(a, true));
	ASSERT_EQ(0, net_start(&self->port[1], false));
	ASSERT_EQ(0, dl_map_init(&exp1, d));
	ASSERT_EQ(0, dl_start1(d, 0, d->mem_iova, d->mem_size));
	ASSERT_EQ(0, dl_start1(d, 1, d->mem_iova, d->mem_size));

	ASSERT_EQ(0, dl_suspend(d));
	ASSERT_EQ(0, dl_sync_mem(d, 0, &a->got, NULL));
	ASSERT_EQ(0, dl_sync_mem(d, 1, &a->got, NULL));
	ASSERT_EQ(0, dl_resume(d));

	/* Data both ways (address space 0), one command (1). */
	net_round(_metadata, self);
	cvq_used0 = cvq->last_used;
	a->ctrl[0] = VIRTIO_NET_CTRL_RX;
	a->ctrl[1] = VIRTIO_NET_CTRL_RX_PROMISC;
	a->ctrl[2] = 1;
	a->ctrl[DL_PAGE - 1] = 0xff;
	out[0] = (struct vhc_buf){ a->ctrl, 2 };
	out[1] = (struct vhc_buf){ a->ctrl + 2, 1 };
	in = (struct vhc_buf){ a->ctrl + DL_PAGE - 1, 1 };
	ASSERT_LE(0, vhc_vq_add(cvq, out, 2, &in, 1));
	ASSERT_EQ(0, vhc_vq_kick(cvq));
	ASSERT_EQ(0, vhc_vq_wait_used(cvq, &id, &len, DL_WAIT_MS));
	EXPECT_EQ(VIRTIO_NET_OK, a->ctrl[DL_PAGE - 1]);
	dl_map_used(&exp1, cvq, cvq_used0);
	dl_map_set(&exp1, d, a->ctrl + DL_PAGE - 1, 1);
	ASSERT_EQ(0, dl_suspend(d));

	ASSERT_EQ(0, dl_sync_mem(d, 0, &a->got, &dirty));
	EXPECT_EQ(0u, dl_diff(_metadata, "asid 0", &a->exp, &a->got));
	ASSERT_EQ(0, dl_sync_mem(d, 1, &a->got, &dirty));
	EXPECT_EQ(0u, dl_diff(_metadata, "asid 1", &exp1, &a->got));
	EXPECT_EQ(dl_map_count(&exp1), dirty);
	ASSERT_EQ(0, dl_resume(d));

	/* Stopping one address space leaves the other logging. */
	EXPECT_EQ(0, vhc_log_stop(d, 1));
	EXPECT_ERRNO(ENOENT, dl_sync_mem(d, 1, &a->got, &dirty));
	EXPECT_EQ(0, dl_sync_mem(d, 0, &a->got, &dirty));
	EXPECT_EQ(0, vhc_log_stop(d, 0));
	free(exp1.bits);
}

TEST_HARNESS_MAIN

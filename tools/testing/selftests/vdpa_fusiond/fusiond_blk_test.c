// SPDX-License-Identifier: GPL-2.0
/*
 * fusiond_blk_test - drive a FusionD blk aggregate through VFIO with a
 * userspace virtio-blk driver (vfblk.c): data integrity end to end (and on
 * the image, read through a third path), AA load spreading, hostile rings,
 * misuse of the VFIO device.
 *
 * Environment (set by aa_io.sh): FUSIOND_AGG = the aggregate's configfs
 * directory; FUSIOND_VERIFY = a block device on the same image, not part of
 * the aggregate.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/vfio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_pci.h>

#include "kselftest_harness.h"
#include "vfblk.h"

#define NQ		2
#define DEPTH		8	/* outstanding per queue */
#define WAIT_MS		10000

static uint8_t pattern(uint64_t block, unsigned int i, uint32_t seed)
{
	return (uint8_t)(block * 131 + i * 7 + seed + (i >> 8));
}

struct io_result {
	int errors;		/* bad status bytes, timeouts */
	int dups;		/* completions for nothing in flight */
	int mismatches;		/* read data not as written */
};

/*
 * Write (or read and compare) @count blocks starting at sector @base,
 * DEPTH in flight per queue over NQ queues.
 */
static struct io_result do_io(struct vfblk *b, unsigned int count, bool write,
			      uint64_t base, uint32_t seed)
{
	int64_t inflight[NQ][DEPTH];
	unsigned int next = 0, done = 0;
	struct io_result r = {};

	memset(inflight, 0xff, sizeof(inflight));
	while (done < count) {
		struct vfblk_done d[64];
		int n;

		for (unsigned int q = 0; q < NQ; q++) {
			bool kick = false;

			for (unsigned int s = 0; s < DEPTH && next < count; s++) {
				uint8_t *data;

				if (inflight[q][s] >= 0)
					continue;
				data = vfblk_data(b, q, s);
				for (unsigned int i = 0; i < VFBLK_BLOCK; i++)
					data[i] = write ? pattern(next, i, seed) : 0;
				if (vfblk_submit(b, q, s, write,
						 base + next * (VFBLK_BLOCK / 512)) < 0) {
					r.errors++;
					return r;
				}
				inflight[q][s] = next++;
				kick = true;
			}
			if (kick)
				vfblk_kick(b, q);
		}
		n = vfblk_reap(b, d, 64, WAIT_MS);
		if (n <= 0) {
			r.errors++;
			return r;
		}
		for (int k = 0; k < n; k++) {
			unsigned int q = d[k].queue, s = d[k].head / 3;
			int64_t blk;
			uint8_t *data;

			if (q >= NQ || d[k].head % 3 || s >= DEPTH ||
			    inflight[q][s] < 0) {
				r.dups++;
				continue;
			}
			blk = inflight[q][s];
			inflight[q][s] = -1;
			done++;
			if (*vfblk_status_byte(b, q, s) != 0) {
				r.errors++;
				continue;
			}
			if (write)
				continue;
			data = vfblk_data(b, q, s);
			for (unsigned int i = 0; i < VFBLK_BLOCK; i++) {
				if (data[i] != pattern(blk, i, seed)) {
					r.mismatches++;
					break;
				}
			}
		}
	}
	return r;
}

/* Open the aggregate and bring it up with NQ queues. */
static void open_agg(struct __test_metadata *_metadata, struct vfblk *b,
		     const char **dirp)
{
	const char *dir = getenv("FUSIOND_AGG");
	int ret;

	*dirp = dir;
	if (!dir)
		SKIP(return, "FUSIOND_AGG not set (aa_io.sh sets it)");
	ret = vfblk_setup(b, dir, NQ, VFBLK_QSIZE);
	ASSERT_EQ(0, ret) TH_LOG("vfblk_setup %s: %s", dir, strerror(-ret));
}

FIXTURE(agg) {
	struct vfblk b;
	const char *dir;
};

FIXTURE_SETUP(agg)
{
	open_agg(_metadata, &self->b, &self->dir);
}

FIXTURE_TEARDOWN(agg)
{
	vfblk_close(&self->b);
}

/* Pattern written through the aggregate reads back, and is on the image. */
TEST_F(agg, write_read_verify)
{
	const char *vdev = getenv("FUSIOND_VERIFY");
	uint32_t seed = time(NULL);
	const unsigned int count = 96;
	const uint64_t base = 8192;
	struct io_result r;

	ASSERT_GT(self->b.capacity, base + count * 8);
	r = do_io(&self->b, count, true, base, seed);
	ASSERT_EQ(0, r.errors);
	ASSERT_EQ(0, r.dups);
	r = do_io(&self->b, count, false, base, seed);
	ASSERT_EQ(0, r.errors);
	ASSERT_EQ(0, r.dups);
	ASSERT_EQ(0, r.mismatches);
	ASSERT_NE(NULL, vdev);
	ASSERT_EQ(0, vfblk_verify_image(vdev, base, count, 8, pattern, seed));
}

/* AA: both members carried requests. */
TEST_F(agg, aa_spreads_over_members)
{
	long long before[2], after[2];
	struct io_result r;

	for (int m = 0; m < 2; m++) {
		before[m] = vfblk_member_stat(self->dir, m, "submitted", NULL, 0);
		ASSERT_GE(before[m], 0) TH_LOG("member %d missing", m);
	}
	r = do_io(&self->b, 128, true, 16384, 1);
	ASSERT_EQ(0, r.errors);
	for (int m = 0; m < 2; m++) {
		after[m] = vfblk_member_stat(self->dir, m, "submitted", NULL, 0);
		TH_LOG("member %d carried %lld requests", m, after[m] - before[m]);
		EXPECT_GE(after[m] - before[m], 8);
	}
}

/* AA with one request at a time: ties alternate between the members. */
TEST_F(agg, aa_queue_depth_one_alternates)
{
	long long before[2], after[2];
	struct vfblk_done d;

	for (int m = 0; m < 2; m++)
		before[m] = vfblk_member_stat(self->dir, m, "submitted", NULL, 0);
	for (int i = 0; i < 20; i++) {
		ASSERT_EQ(0, vfblk_submit(&self->b, 0, 0, true, 53248 + i * 8));
		vfblk_kick(&self->b, 0);
		ASSERT_EQ(1, vfblk_reap(&self->b, &d, 1, WAIT_MS));
		ASSERT_EQ(0, *vfblk_status_byte(&self->b, 0, 0));
	}
	for (int m = 0; m < 2; m++) {
		after[m] = vfblk_member_stat(self->dir, m, "submitted", NULL, 0);
		TH_LOG("member %d carried %lld of 20", m, after[m] - before[m]);
		EXPECT_GE(after[m] - before[m], 5);
	}
}

/*
 * Hot-remove a member from the open, live aggregate (it is drained), then
 * hot-add it back: I/O keeps working, and the re-added member takes load.
 */
TEST_F(agg, hot_remove_add_member)
{
	char name[64] = "", first[64] = "";
	long long a0, a1, b1;
	struct io_result r;

	ASSERT_GE(vfblk_member_stat(self->dir, 1, "submitted", name,
				    sizeof(name)), 0);
	ASSERT_EQ(0, vfblk_write_attr(self->dir, "remove_member", name));
	ASSERT_EQ(-1, vfblk_member_stat(self->dir, 1, "submitted", NULL, 0));
	a0 = vfblk_member_stat(self->dir, 0, "submitted", first, sizeof(first));
	r = do_io(&self->b, 32, true, 49152, 3);
	ASSERT_EQ(0, r.errors);
	a1 = vfblk_member_stat(self->dir, 0, "submitted", NULL, 0);
	EXPECT_EQ(32, a1 - a0);

	ASSERT_EQ(0, vfblk_write_attr(self->dir, "add_member", name));
	r = do_io(&self->b, 64, true, 49152, 4);
	ASSERT_EQ(0, r.errors);
	r = do_io(&self->b, 64, false, 49152, 4);
	ASSERT_EQ(0, r.errors);
	ASSERT_EQ(0, r.mismatches);
	b1 = vfblk_member_stat(self->dir, 1, "submitted", NULL, 0);
	TH_LOG("re-added %s carried %lld of 128 requests", name, b1);
	EXPECT_GE(b1, 8);
}

/*
 * While the VFIO device is open: disabling the aggregate fails with EBUSY
 * and the modules it uses cannot be unloaded; the device keeps working.
 */
TEST_F(agg, busy_while_open)
{
	EXPECT_EQ(-EBUSY, vfblk_write_attr(self->dir, "enable", "0"));
	EXPECT_EQ(-1, syscall(SYS_delete_module, "fusiond", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_EQ(-1, syscall(SYS_delete_module, "hiaggre_virtio", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_EQ(0, do_io(&self->b, 4, true, 45056, 8).errors);
}

/* Used-ring lengths: a 4 KiB read reports data + status bytes. */
TEST_F(agg, used_len_of_read)
{
	struct vfblk_done d;

	ASSERT_EQ(0, vfblk_submit(&self->b, 0, 0, false, 0));
	vfblk_kick(&self->b, 0);
	ASSERT_EQ(1, vfblk_reap(&self->b, &d, 1, WAIT_MS));
	EXPECT_EQ(0, *vfblk_status_byte(&self->b, 0, 0));
	EXPECT_EQ(VFBLK_BLOCK + 1, (int)d.len);
}

enum hostile {
	H_LOOP, H_OOB_IOVA, H_HUGE_LEN, H_BAD_QSIZE, H_AVAIL_JUMP, H_OOB_HEAD,
};

FIXTURE(hostile) {
	struct vfblk b;
	const char *dir;
};

FIXTURE_VARIANT(hostile)
{
	enum hostile kind;
};

FIXTURE_VARIANT_ADD(hostile, loop) { .kind = H_LOOP };
FIXTURE_VARIANT_ADD(hostile, oob_iova) { .kind = H_OOB_IOVA };
FIXTURE_VARIANT_ADD(hostile, huge_len) { .kind = H_HUGE_LEN };
FIXTURE_VARIANT_ADD(hostile, bad_qsize) { .kind = H_BAD_QSIZE };
FIXTURE_VARIANT_ADD(hostile, avail_jump) { .kind = H_AVAIL_JUMP };
FIXTURE_VARIANT_ADD(hostile, oob_head) { .kind = H_OOB_HEAD };

FIXTURE_SETUP(hostile)
{
	open_agg(_metadata, &self->b, &self->dir);
}

FIXTURE_TEARDOWN(hostile)
{
	vfblk_close(&self->b);
}

static bool wait_needs_reset(struct vfblk *b)
{
	for (int i = 0; i < 500; i++) {
		if (vfblk_status(b) & VIRTIO_CONFIG_S_NEEDS_RESET)
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * Hostile driver input: the aggregate enters NEEDS_RESET, raises its config
 * interrupt, no member fails; after a reset the device works again.
 */
TEST_F(hostile, ring)
{
	long long fo = vfblk_agg_stat(self->dir, "failovers");
	struct vfblk *b = &self->b;
	uint64_t hdr = VFBLK_IOVA + (1u << 20);
	uint64_t v;
	struct io_result r;
	uint16_t sz = 3;

	switch (variant->kind) {
	case H_LOOP:
		vfblk_set_desc(b, 0, 0, hdr, 16, VRING_DESC_F_NEXT, 1);
		vfblk_set_desc(b, 0, 1, hdr + 4096, 512, VRING_DESC_F_NEXT, 0);
		vfblk_publish(b, 0, 0);
		break;
	case H_OOB_IOVA:
		vfblk_set_desc(b, 0, 0, hdr, 16, VRING_DESC_F_NEXT, 1);
		vfblk_set_desc(b, 0, 1, 0x7000000000ULL, 4096,
			       VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
		vfblk_set_desc(b, 0, 2, hdr + 64, 1, VRING_DESC_F_WRITE, 0);
		vfblk_publish(b, 0, 0);
		break;
	case H_HUGE_LEN:
		vfblk_set_desc(b, 0, 0, hdr, 16, VRING_DESC_F_NEXT, 1);
		vfblk_set_desc(b, 0, 1, hdr + 4096, 0xfffff000u,
			       VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
		vfblk_set_desc(b, 0, 2, hdr + 64, 1, VRING_DESC_F_WRITE, 0);
		vfblk_publish(b, 0, 0);
		break;
	case H_BAD_QSIZE:
		ASSERT_EQ(0, vfblk_reset(b));
		vfblk_bar_write(b, b->common + VIRTIO_PCI_COMMON_Q_SELECT,
				&(uint16_t){0}, 2);
		vfblk_bar_write(b, b->common + VIRTIO_PCI_COMMON_Q_SIZE, &sz, 2);
		vfblk_bar_write(b, b->common + VIRTIO_PCI_COMMON_Q_ENABLE,
				&(uint16_t){1}, 2);
		break;
	case H_AVAIL_JUMP: {
		struct vring_avail *a = b->q[0].avail;

		__atomic_store_n(&a->idx, 1000, __ATOMIC_RELEASE);
		break;
	}
	case H_OOB_HEAD:
		vfblk_publish(b, 0, 4000);
		break;
	}
	vfblk_kick(b, 0);
	ASSERT_TRUE(wait_needs_reset(b));
	if (variant->kind != H_BAD_QSIZE) {
		/* The config vector fired. */
		usleep(10000);
		ASSERT_EQ((ssize_t)sizeof(v), read(b->cfg_efd, &v, sizeof(v)));
	}
	EXPECT_EQ(fo, vfblk_agg_stat(self->dir, "failovers"));
	EXPECT_EQ(0, vfblk_agg_stat(self->dir, "failed_reqs"));

	/* Recovery: reset, set up again, I/O works. */
	ASSERT_EQ(0, vfblk_init(b, NQ, VFBLK_QSIZE));
	EXPECT_EQ(0, vfblk_status(b) & VIRTIO_CONFIG_S_NEEDS_RESET);
	r = do_io(b, 16, true, 32768, 5);
	ASSERT_EQ(0, r.errors);
	r = do_io(b, 16, false, 32768, 5);
	ASSERT_EQ(0, r.errors);
	ASSERT_EQ(0, r.mismatches);
}

/* Misuse of the VFIO device: clear errno values, nothing changes. */
TEST_F(agg, vfio_misuse)
{
	struct vfblk *b = &self->b;
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = 99 };
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = 42 };
	char buf[sizeof(struct vfio_irq_set) + 8];
	struct vfio_irq_set *s = (void *)buf;
	uint8_t c[8];

	EXPECT_EQ(-1, ioctl(b->dev, VFIO_DEVICE_GET_REGION_INFO, &ri));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(b->dev, VFIO_DEVICE_GET_IRQ_INFO, &ii));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(b->dev, _IO(VFIO_TYPE, VFIO_BASE + 60)));
	EXPECT_EQ(ENOTTY, errno);

	/* INTx does not exist; MSI-X beyond its vectors. */
	s->argsz = sizeof(*s) + 4;
	s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	s->index = VFIO_PCI_INTX_IRQ_INDEX;
	s->start = 0;
	s->count = 1;
	*(int32_t *)s->data = b->q[0].efd;
	EXPECT_EQ(-1, ioctl(b->dev, VFIO_DEVICE_SET_IRQS, s));
	EXPECT_EQ(EINVAL, errno);
	s->index = VFIO_PCI_MSIX_IRQ_INDEX;
	s->start = NQ + 1;
	EXPECT_EQ(-1, ioctl(b->dev, VFIO_DEVICE_SET_IRQS, s));
	EXPECT_EQ(EINVAL, errno);
	/* A descriptor that is no eventfd. */
	s->start = 1;
	*(int32_t *)s->data = b->dev;
	EXPECT_EQ(-1, ioctl(b->dev, VFIO_DEVICE_SET_IRQS, s));
	EXPECT_EQ(EINVAL, errno);
	/* MASK is not supported for MSI-X here. */
	s->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK;
	s->argsz = sizeof(*s);
	EXPECT_EQ(-1, ioctl(b->dev, VFIO_DEVICE_SET_IRQS, s));
	EXPECT_EQ(EINVAL, errno);

	/* Odd sizes, unaligned or out of range region accesses. */
	EXPECT_EQ(-1, pread(b->dev, c, 3, b->bar0_off + b->common));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pread(b->dev, c, 4, b->bar0_off + b->common + 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pread(b->dev, c, 4, b->bar0_off + 0x100000));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pread(b->dev, c, 4, b->cfg_off + 256));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pread(b->dev, c, 4, 5ULL << 40));
	EXPECT_EQ(EINVAL, errno);

	/* Read-only config space stays as it was; the device still works. */
	EXPECT_EQ(4, pwrite(b->dev, "\x00\x00\x00\x00", 4, b->cfg_off));
	ASSERT_EQ(0, vfblk_cfg_read(b, 0, c, 4));
	EXPECT_EQ(0xf4, c[0]);
	EXPECT_EQ(0x1a, c[1]);
	EXPECT_EQ(0x42, c[2]);
	EXPECT_EQ(0, do_io(b, 4, true, 40960, 9).errors);
}

TEST_HARNESS_MAIN

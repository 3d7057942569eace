// SPDX-License-Identifier: GPL-2.0
/*
 * fusiond_unmap_test - VFIO_IOMMU_UNMAP_DMA of the user's memory while
 * requests are in flight at a member.
 *
 * The aggregate (unmap_inflight.sh) is AP with the throttled card (50 IOPS,
 * 16-entry queues, vm.args) active, so a burst of writes stays in flight at
 * the member, partly on its rings, partly in its backlog, for a few hundred
 * milliseconds. Unmapping all of the user's memory then must:
 *   - return 0, after the member completed what it held (type1 requires
 *     every pinned page to be unpinned before the unmap returns; it retries
 *     the device's callback a few times and then BUG()s);
 *   - put the device in NEEDS_RESET (status bit 0x40, config vector);
 *   - leave nothing outstanding at the member, and fail nothing over.
 * After a device reset and a fresh map the aggregate works again: a
 * pattern written through it reads back, also through the third path.
 *
 * Environment: FUSIOND_AGG (configfs directory), FUSIOND_VERIFY (block
 * device on the same image).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>
#include <linux/virtio_config.h>

#include "kselftest_harness.h"
#include "vfblk.h"

#define NQ		2
#define DEPTH		16	/* slots per queue: 32 writes, about 0.6 s at 50 IOPS */
#define BURST_BASE	131072ULL	/* sector */
#define CHECK_BASE	135168ULL	/* past the burst */
#define CHECK_BLOCKS	32
/*
 * Sectors from one block to the next: a gap between blocks, so that QEMU
 * does not merge neighbouring writes into one throttled operation and each
 * write stays in flight for its own 20 ms.
 */
#define STRIDE		16

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static uint8_t pattern(uint64_t block, unsigned int i, uint32_t seed)
{
	return (uint8_t)(block * 29 + i * 13 + seed + (i >> 7));
}

/* Submit one block per slot on every queue; returns how many. */
static unsigned int submit_burst(struct vfblk *b, bool write, uint64_t base,
				 unsigned int first, unsigned int count,
				 uint32_t seed)
{
	unsigned int n = 0;

	for (unsigned int q = 0; q < NQ; q++) {
		for (unsigned int s = 0; s < DEPTH && first + n < count; s++) {
			uint64_t blk = first + n;
			uint8_t *data = vfblk_data(b, q, s);

			for (unsigned int i = 0; i < VFBLK_BLOCK; i++)
				data[i] = write ? pattern(blk, i, seed) : 0;
			if (vfblk_submit(b, q, s, write, base + blk * STRIDE) < 0)
				return n;
			n++;
		}
		vfblk_kick(b, q);
	}
	return n;
}

/* A completed request of a write_read() burst: 0 if good, 1 if not. */
static int check_done(struct vfblk *b, const struct vfblk_done *d, bool write,
		      unsigned int first, uint32_t seed)
{
	unsigned int q = d->queue, s = d->head / 3;
	uint8_t *data;

	if (q >= NQ || s >= DEPTH || d->head % 3 || *vfblk_status_byte(b, q, s))
		return 1;
	data = vfblk_data(b, q, s);
	for (unsigned int i = 0; !write && i < VFBLK_BLOCK; i++)
		if (data[i] != pattern(first + q * DEPTH + s, i, seed))
			return 1;
	return 0;
}

/*
 * Write then read back @count blocks at @base, NQ * DEPTH at a time; each
 * slot carries block first + q * DEPTH + s. Returns the number of bad
 * requests (lost, failed or read back wrong).
 */
static int write_read(struct vfblk *b, uint64_t base, unsigned int count,
		      uint32_t seed)
{
	int bad = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (unsigned int first = 0; first < count; first += NQ * DEPTH) {
			unsigned int n = submit_burst(b, !pass, base, first,
						      count, seed);
			unsigned int got = 0;

			while (got < n) {
				struct vfblk_done d[64];
				int k = vfblk_reap(b, d, 64, 10000);

				if (k <= 0)
					return bad + n - got;
				for (int j = 0; j < k; j++)
					bad += check_done(b, &d[j], !pass, first,
							  seed);
				got += k;
			}
		}
	}
	return bad;
}

static int map_mem(struct vfblk *b)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)b->mem,
		.iova = VFBLK_IOVA,
		.size = VFBLK_MEM_SIZE,
	};

	return ioctl(b->container, VFIO_IOMMU_MAP_DMA, &map) ? -errno : 0;
}

TEST(unmap_under_inflight_requests)
{
	const char *dir = getenv("FUSIOND_AGG");
	const char *vdev = getenv("FUSIOND_VERIFY");
	struct vfio_iommu_type1_dma_unmap um = {
		.argsz = sizeof(um), .iova = VFBLK_IOVA, .size = VFBLK_MEM_SIZE,
	};
	uint32_t seed = time(NULL);
	long long sub0, outstanding = 0, fo0, failed0;
	unsigned int n, reaped = 0, dups = 0;
	uint8_t seen[NQ][DEPTH] = {};
	uint64_t t0, deadline, v;
	struct vfblk b;
	int ret;

	if (!dir || !vdev)
		SKIP(return, "FUSIOND_AGG/VERIFY not set (unmap_inflight.sh)");
	ret = vfblk_setup(&b, dir, NQ, VFBLK_QSIZE);
	ASSERT_EQ(0, ret) TH_LOG("vfblk_setup %s: %s", dir, strerror(-ret));
	fo0 = vfblk_agg_stat(dir, "failovers");
	failed0 = vfblk_agg_stat(dir, "failed_reqs");
	sub0 = vfblk_member_stat(dir, 0, "submitted", NULL, 0);

	/*
	 * A burst of writes; unmap once the member holds half of them (the
	 * relay may not have taken the rest yet: those are never taken).
	 */
	n = submit_burst(&b, true, BURST_BASE, 0, NQ * DEPTH, seed);
	ASSERT_EQ((unsigned int)(NQ * DEPTH), n);
	deadline = now_ms() + 5000;
	while (vfblk_member_stat(dir, 0, "submitted", NULL, 0) < sub0 + n / 2 &&
	       now_ms() < deadline)
		usleep(1000);
	outstanding = vfblk_member_stat(dir, 0, "outstanding", NULL, 0);
	TH_LOG("member 0 holds %lld of %u writes at the unmap", outstanding, n);
	ASSERT_GT(outstanding, 0) TH_LOG("nothing in flight: throttled card?");

	/* Every page is unpinned when the unmap returns. */
	t0 = now_ms();
	ASSERT_EQ(0, ioctl(b.container, VFIO_IOMMU_UNMAP_DMA, &um))
		TH_LOG("unmap: %s", strerror(errno));
	TH_LOG("unmap took %llu ms", (unsigned long long)(now_ms() - t0));
	EXPECT_EQ((uint64_t)VFBLK_MEM_SIZE, um.size);
	EXPECT_EQ(0, vfblk_member_stat(dir, 0, "outstanding", NULL, 0));
	EXPECT_EQ(0, vfblk_member_stat(dir, 1, "outstanding", NULL, 0));
	EXPECT_NE(0, vfblk_status(&b) & VIRTIO_CONFIG_S_NEEDS_RESET);
	EXPECT_EQ((ssize_t)sizeof(v), read(b.cfg_efd, &v, sizeof(v)));

	/*
	 * What completed before the memory went away is in the used rings
	 * (the relay may or may not have published each): never twice.
	 */
	for (;;) {
		struct vfblk_done d[64];
		int k = vfblk_reap(&b, d, 64, 100);

		if (k <= 0)
			break;
		for (int j = 0; j < k; j++) {
			unsigned int q = d[j].queue, s = d[j].head / 3;

			if (q >= NQ || s >= DEPTH || seen[q][s]++)
				dups++;
			reaped++;
		}
	}
	TH_LOG("%u of %u writes reported in the used rings", reaped, n);
	EXPECT_EQ(0u, dups);
	EXPECT_LE(reaped, n);
	/* A kick while broken does nothing. */
	vfblk_kick(&b, 0);
	EXPECT_EQ(fo0, vfblk_agg_stat(dir, "failovers"));
	EXPECT_EQ(failed0, vfblk_agg_stat(dir, "failed_reqs"));

	/* Reset, map again: the aggregate works. */
	ASSERT_EQ(0, vfblk_reset(&b));
	ASSERT_EQ(0, map_mem(&b));
	ret = vfblk_init(&b, NQ, VFBLK_QSIZE);
	ASSERT_EQ(0, ret) TH_LOG("vfblk_init after the unmap: %s", strerror(-ret));
	EXPECT_EQ(0, vfblk_status(&b) & VIRTIO_CONFIG_S_NEEDS_RESET);
	EXPECT_EQ(0, write_read(&b, CHECK_BASE, CHECK_BLOCKS, seed + 1));
	EXPECT_EQ(0, vfblk_verify_image(vdev, CHECK_BASE, CHECK_BLOCKS, STRIDE,
					pattern, seed + 1));
	EXPECT_EQ(fo0, vfblk_agg_stat(dir, "failovers"));
	EXPECT_EQ(failed0, vfblk_agg_stat(dir, "failed_reqs"));
	vfblk_close(&b);
}

TEST_HARNESS_MAIN

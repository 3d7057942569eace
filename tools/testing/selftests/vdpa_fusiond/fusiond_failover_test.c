// SPDX-License-Identifier: GPL-2.0
/*
 * fusiond_failover_test - AP failover under a stream of writes.
 *
 * Writes blocks in sequence through an AP aggregate, several in flight per
 * queue; after a warm-up it runs $FUSIOND_FAIL_CMD (ap_failover.sh: QMP
 * device_del of the active card) in a child, or writes "1" to the file
 * $FUSIOND_FAIL_WRITE (ap_needs_reset.sh: the injection attribute; no
 * process to start, so the stream is not slowed while the failure lands),
 * and keeps writing until the aggregate reports a failover and a few
 * hundred more writes completed. Every write
 * must complete exactly once with status OK; then all blocks are read back
 * through the aggregate and through $FUSIOND_VERIFY. The longest gap
 * between two completions (the stall) is printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "vfblk.h"

#define NQ		2
#define DEPTH		8
#define MAX_BLOCKS	20000
#define BASE		65536ULL	/* sector */
#define AFTER		300		/* writes completed after the failover */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

#define SEED		0x5a

static uint8_t pattern(uint64_t block, unsigned int i, uint32_t seed)
{
	return (uint8_t)(block * 37 + i * 11 + (i >> 9) + seed);
}

static uint8_t completions[MAX_BLOCKS];

TEST(ap_failover_stream)
{
	const char *dir = getenv("FUSIOND_AGG");
	const char *cmd = getenv("FUSIOND_FAIL_CMD");
	const char *fail_write = getenv("FUSIOND_FAIL_WRITE");
	int fail_fd = -1;
	const char *vdev = getenv("FUSIOND_VERIFY");
	int64_t inflight[NQ][DEPTH];
	unsigned int next = 0, done = 0, errors = 0, dups = 0, after = 0;
	unsigned int max_blocks;
	uint64_t last = 0, stall = 0, t_fail = 0, deadline;
	long long fo0;
	pid_t child = -1;
	struct vfblk b;
	int ret;

	if (!dir || !(cmd || fail_write) || !vdev)
		SKIP(return, "FUSIOND_AGG, FAIL_CMD/FAIL_WRITE or VERIFY unset");
	if (fail_write) {
		fail_fd = open(fail_write, O_WRONLY);
		ASSERT_LE(0, fail_fd) TH_LOG("open %s: %s", fail_write,
					     strerror(errno));
	}
	ret = vfblk_setup(&b, dir, NQ, VFBLK_QSIZE);
	ASSERT_EQ(0, ret) TH_LOG("vfblk_setup %s: %s", dir, strerror(-ret));
	fo0 = vfblk_agg_stat(dir, "failovers");
	/* Every write goes to a block of its own. */
	max_blocks = MAX_BLOCKS;
	if ((b.capacity - BASE) / 8 < max_blocks)
		max_blocks = (b.capacity - BASE) / 8;

	memset(inflight, 0xff, sizeof(inflight));
	deadline = now_us() + 120 * 1000000ull;
	for (;;) {
		struct vfblk_done d[64];
		bool stop = next >= max_blocks || after >= AFTER ||
			    now_us() > deadline;
		int n;

		for (unsigned int q = 0; q < NQ && !stop; q++) {
			for (unsigned int s = 0; s < DEPTH && next < max_blocks; s++) {
				uint8_t *data;

				if (inflight[q][s] >= 0)
					continue;
				data = vfblk_data(&b, q, s);
				for (unsigned int i = 0; i < VFBLK_BLOCK; i++)
					data[i] = pattern(next, i, SEED);
				ASSERT_LE(0, vfblk_submit(&b, q, s, true,
							  BASE + next * 8ULL));
				inflight[q][s] = next++;
			}
			vfblk_kick(&b, q);
		}
		if (stop && done == next)
			break;
		n = vfblk_reap(&b, d, 64, 30000);
		ASSERT_LT(0, n) TH_LOG("no completion in 30 s: %u in flight (lost)",
				       next - done);
		for (int k = 0; k < n; k++) {
			unsigned int q = d[k].queue, s = d[k].head / 3;
			uint64_t t = now_us();
			int64_t blk;

			if (q >= NQ || s >= DEPTH || inflight[q][s] < 0) {
				dups++;
				continue;
			}
			blk = inflight[q][s];
			inflight[q][s] = -1;
			if (completions[blk]++)
				dups++;
			done++;
			if (*vfblk_status_byte(&b, q, s) && errors++ < 5)
				TH_LOG("block %lld: status %u, %s failover cmd, len %u",
				       (long long)blk, *vfblk_status_byte(&b, q, s),
				       t_fail ? "after" : "before", d[k].len);
			if (last && t - last > stall)
				stall = t - last;
			last = t;
		}
		if (done >= 100 && fail_fd >= 0 && !t_fail) {
			ASSERT_EQ(1, write(fail_fd, "1", 1));
			close(fail_fd);
			t_fail = now_us();
			stall = 0;	/* the stall of interest is after this */
		}
		if (done >= 100 && !fail_write && child < 0) {
			child = fork();
			ASSERT_LE(0, child);
			if (!child) {
				execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
				_exit(127);
			}
			t_fail = now_us();
			stall = 0;	/* the stall of interest is after this */
		}
		if (t_fail && vfblk_agg_stat(dir, "failovers") > fo0)
			after += n;
	}
	if (child > 0) {
		int st;

		waitpid(child, &st, 0);
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	TH_LOG("%u writes, %u errors, %u duplicated, %u lost", done, errors,
	       dups, next - done);
	TH_LOG("longest completion gap after the failure: %llu us",
	       (unsigned long long)stall);
	TH_LOG("of it, failure report to a survivor's completion: %lld us",
	       vfblk_agg_stat(dir, "failover_us"));
	EXPECT_GT(vfblk_agg_stat(dir, "failovers"), fo0);
	EXPECT_GE(after, (unsigned int)AFTER)
		TH_LOG("ran out of blocks or time before the failover");
	EXPECT_EQ(0u, errors);
	EXPECT_EQ(0u, dups);
	EXPECT_EQ(next, done);
	for (unsigned int k = 0; k < next; k++)
		EXPECT_EQ(1, completions[k]);

	/* Everything is on the image, read through the third path. */
	EXPECT_EQ(0, vfblk_verify_image(vdev, BASE, next, 8, pattern, SEED));
	vfblk_close(&b);
}

TEST_HARNESS_MAIN

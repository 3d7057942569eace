// SPDX-License-Identifier: GPL-2.0
/*
 * fusiond_bench - 4 KiB random reads at a fixed queue depth for a few
 * seconds, printing IOPS, either through a FusionD aggregate (the vfblk
 * userspace driver, 2 queues) or through a kernel block device (O_DIRECT,
 * Linux AIO), so that both paths are measured the same way.
 *
 *   fusiond_bench agg AGG_CONFIGFS_DIR SECONDS
 *   fusiond_bench dev /dev/vdX SECONDS
 *
 * Used by scripts/bench/fusiond-iops.sh; not a test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include "vfblk.h"

#define QD	16
#define NQ	2
#define SPAN	(32ULL << 20)	/* bytes of the disk the reads spread over */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rnd_block(void)
{
	return (uint64_t)random() % (SPAN / VFBLK_BLOCK);
}

static int bench_agg(const char *dir, double secs)
{
	struct vfblk b;
	double end;
	long n = 0;
	int group, ret;

	group = vfblk_group_of(dir);
	if (group < 0)
		return 1;
	ret = vfblk_open(&b, group);
	if (!ret)
		ret = vfblk_init(&b, NQ, VFBLK_QSIZE);
	if (ret) {
		fprintf(stderr, "fusiond_bench: %s\n", strerror(-ret));
		return 1;
	}
	for (unsigned int i = 0; i < QD; i++)
		vfblk_submit(&b, i % NQ, i / NQ, false, rnd_block() * 8);
	for (unsigned int q = 0; q < NQ; q++)
		vfblk_kick(&b, q);
	end = now() + secs;
	while (now() < end) {
		struct vfblk_done d[QD];
		bool kick[NQ] = {};
		int k = vfblk_reap(&b, d, QD, 5000);

		if (k <= 0) {
			fprintf(stderr, "fusiond_bench: no completion\n");
			return 1;
		}
		for (int i = 0; i < k; i++) {
			vfblk_submit(&b, d[i].queue, d[i].head / 3, false,
				     rnd_block() * 8);
			kick[d[i].queue] = true;
		}
		for (unsigned int q = 0; q < NQ; q++)
			if (kick[q])
				vfblk_kick(&b, q);
		n += k;
	}
	printf("%.0f\n", n / secs);
	vfblk_reset(&b);
	vfblk_close(&b);
	return 0;
}

static int bench_dev(const char *path, double secs)
{
	struct iocb cbs[QD], *ptrs[QD];
	struct io_event ev[QD];
	aio_context_t ctx = 0;
	double end;
	void *bufs;
	long n = 0;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0 || posix_memalign(&bufs, 4096, QD * VFBLK_BLOCK) ||
	    syscall(SYS_io_setup, QD, &ctx)) {
		perror("fusiond_bench");
		return 1;
	}
	memset(cbs, 0, sizeof(cbs));
	for (int i = 0; i < QD; i++) {
		cbs[i].aio_fildes = fd;
		cbs[i].aio_lio_opcode = IOCB_CMD_PREAD;
		cbs[i].aio_buf = (uintptr_t)bufs + i * VFBLK_BLOCK;
		cbs[i].aio_nbytes = VFBLK_BLOCK;
		cbs[i].aio_offset = rnd_block() * VFBLK_BLOCK;
		cbs[i].aio_data = i;
		ptrs[i] = &cbs[i];
	}
	if (syscall(SYS_io_submit, ctx, QD, ptrs) != QD) {
		perror("io_submit");
		return 1;
	}
	end = now() + secs;
	while (now() < end) {
		long k = syscall(SYS_io_getevents, ctx, 1, QD, ev, NULL);

		if (k <= 0) {
			perror("io_getevents");
			return 1;
		}
		for (long i = 0; i < k; i++) {
			struct iocb *cb = &cbs[ev[i].data];

			if (ev[i].res != VFBLK_BLOCK) {
				fprintf(stderr, "fusiond_bench: read failed\n");
				return 1;
			}
			cb->aio_offset = rnd_block() * VFBLK_BLOCK;
			ptrs[i] = cb;
		}
		if (syscall(SYS_io_submit, ctx, k, ptrs) != k) {
			perror("io_submit");
			return 1;
		}
		n += k;
	}
	printf("%.0f\n", n / secs);
	syscall(SYS_io_destroy, ctx);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	double secs;

	if (argc != 4) {
		fprintf(stderr, "usage: fusiond_bench agg DIR SECONDS | dev DEV SECONDS\n");
		return 2;
	}
	secs = atof(argv[3]);
	srandom(getpid());
	if (!strcmp(argv[1], "agg"))
		return bench_agg(argv[2], secs);
	return bench_dev(argv[2], secs);
}

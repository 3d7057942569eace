// SPDX-License-Identifier: GPL-2.0
/*
 * dirty_bench - cost of VDPA_MIG_LOG_SYNC over a small and a large IOVA
 * span holding the same number of dirty pages (scripts/bench/dirty-sync.sh).
 *
 *   dirty_bench [ROUNDS]
 *
 * A generic block device bound to vdpa_migrate reads into 16 windows
 * ("aliases") of the same 1 MiB of memory, mapped at IOVAs spread evenly
 * over the span: 64 MiB apart for the 1 GiB span, 1 GiB apart for the
 * 16 GiB one, so that both logs hold 16 x 64 dirty pages.  The rest of
 * each span is not mapped at all (LOG_START does not need it to be).  Only
 * the SYNC ioctl is timed; spans alternate within a round.  Prints one
 * line per round and "MEDIAN_NS <small> <large> <dirty pages>".
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/vdpa_migrate.h>
#include <linux/vhost.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

#include "vhost_client.h"

#define PAGE		4096ULL
#define WIN		(1024ULL * 1024)	/* one alias window */
#define ALIASES		16
#define READS		63			/* data pages per alias */
#define SPAN_BASE	(4ULL << 30)		/* of the 1 GiB span */
#define SPAN_GAP	(32ULL << 30)		/* 16 GiB span that far above */
#define RING		64
#define MAX_ROUNDS	64

/* The two spans: 1 GiB and 16 GiB, far apart. */
static const __u64 spans[2] = { 1ULL << 30, 16ULL << 30 };
static const __u64 bases[2] = { SPAN_BASE, SPAN_BASE + SPAN_GAP };

struct bench {
	struct vhc_dev d;
	__u8 *win;	/* hdr page, status page, data pages */
};

static int die(const char *what, int err)
{
	fprintf(stderr, "dirty_bench: %s: %s\n", what, strerror(-err));
	return 1;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Read one sector into page @pg of the window seen at @alias. */
static int bench_read(struct bench *b, __u64 alias, unsigned int pg,
		      unsigned int slot)
{
	struct virtio_blk_outhdr *h = (void *)(b->win + slot * 16);
	__u8 *st = b->win + PAGE + slot;
	struct vhc_buf out = { h, sizeof(*h) };
	struct vhc_buf in[2] = {
		{ b->win + (2 + pg) * PAGE, 512 },
		{ st, 1 },
	};
	__u64 saved = b->d.mem_iova;
	int ret;

	h->type = htole32(VIRTIO_BLK_T_IN);
	h->ioprio = 0;
	h->sector = htole64(pg);
	/* vhc_iova() translates through mem_iova: aim it at the alias. */
	b->d.mem_iova = alias - (b->win - (__u8 *)b->d.mem);
	ret = vhc_vq_add(&b->d.vqs[0], &out, 1, in, 2);
	b->d.mem_iova = saved;
	return ret < 0 ? ret : 0;
}

/* Dirty 64 pages (63 data, 1 status) in each alias of span @s. */
static int bench_dirty(struct bench *b, int s)
{
	__u64 stride = spans[s] / ALIASES;
	struct vhc_vq *vq = &b->d.vqs[0];
	unsigned int a, pg, queued = 0;
	__u32 id, len;
	int ret;

	for (a = 0; a < ALIASES; a++) {
		for (pg = 0; pg < READS; pg++) {
			ret = bench_read(b, bases[s] + a * stride, pg, queued);
			if (ret)
				return ret;
			if (++queued < RING / 3 && pg + 1 < READS)
				continue;
			ret = vhc_vq_kick(vq);
			while (!ret && queued) {
				ret = vhc_vq_wait_used(vq, &id, &len, 10000);
				queued--;
			}
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Map the aliases of span @s (vhc_close() drops them with the file). */
static int bench_map(struct bench *b, int s)
{
	unsigned int a;
	int ret = 0;

	for (a = 0; a < ALIASES && !ret; a++)
		ret = vhc_iotlb_update(&b->d, bases[s] + a * (spans[s] / ALIASES),
				       WIN, b->win, VHOST_ACCESS_RW);
	return ret;
}

/* One measurement: start, dirty, timed sync, stop.  Returns ns or < 0. */
static long long bench_span(struct bench *b, int s, __u64 *bitmap,
			    __u64 *dirty)
{
	struct vdpa_mig_log_range r = { bases[s], spans[s] };
	struct vdpa_mig_log_start st = {
		.argsz = sizeof(st), .page_shift = 12, .nr_ranges = 1,
		.ranges = (__u64)(uintptr_t)&r,
	};
	struct vdpa_mig_log_sync sy = {
		.argsz = sizeof(sy), .iova = bases[s], .size = spans[s],
		.bitmap = (__u64)(uintptr_t)bitmap,
	};
	struct vdpa_mig_log_stop sp = { .argsz = sizeof(sp) };
	long long t0, t1;
	int ret;

	if (ioctl(b->d.fd, VDPA_MIG_LOG_START, &st))
		return -errno;
	ret = bench_dirty(b, s);
	/* Untimed: make every bitmap page present and zero. */
	memset(bitmap, 0, spans[s] / PAGE / 8);
	t0 = now_ns();
	if (!ret && ioctl(b->d.fd, VDPA_MIG_LOG_SYNC, &sy))
		ret = -errno;
	t1 = now_ns();
	if (ioctl(b->d.fd, VDPA_MIG_LOG_STOP, &sp) && !ret)
		ret = -errno;
	*dirty = sy.dirty;
	return ret ? ret : t1 - t0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long long t[2][MAX_ROUNDS];
	int rounds = argc > 1 ? atoi(argv[1]) : 9, r, s, ret;
	struct bench b;
	__u64 *bitmap, dirty[2] = { 0, 0 };
	char name[32];

	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 9;
	snprintf(name, sizeof(name), "dbench%d", (int)getpid() % 100000);
	if (vhc_use("vdpa_migrate") || vhc_vdpa_add("vdpagen_blk", name, NULL))
		return die("create vdpagen_blk device", -ENODEV);
	ret = vhc_bind(name);
	if (ret >= 0)
		ret = vhc_open(&b.d, name);
	if (!ret)
		ret = vhc_mem_init(&b.d, 2 * WIN);
	if (!ret)
		ret = vhc_mem_map(&b.d);
	if (!ret)
		ret = vhc_negotiate(&b.d, (1ULL << VIRTIO_F_VERSION_1) |
				    (1ULL << VIRTIO_F_ACCESS_PLATFORM));
	if (!ret)
		ret = vhc_vq_setup(&b.d, 0, RING);
	if (!ret) {
		b.win = (__u8 *)b.d.mem + WIN;
		ret = vhc_driver_ok(&b.d);
	}
	bitmap = calloc(spans[1] / PAGE / 8, 1);
	if (!ret && !bitmap)
		ret = -ENOMEM;
	for (s = 0; !ret && s < 2; s++)
		ret = bench_map(&b, s);
	for (r = 0; !ret && r < rounds; r++) {
		for (s = 0; !ret && s < 2; s++) {
			t[s][r] = bench_span(&b, s, bitmap, &dirty[s]);
			if (t[s][r] < 0)
				ret = (int)t[s][r];
			else if (dirty[s] != ALIASES * (READS + 1))
				ret = -EIO;
		}
		if (!ret)
			printf("round %d: 1 GiB %lld ns, 16 GiB %lld ns (%llu dirty pages each)\n",
			       r + 1, t[0][r], t[1][r],
			       (unsigned long long)dirty[0]);
	}
	vhc_close(&b.d);
	vhc_vdpa_del(name);
	free(bitmap);
	if (ret)
		return die("measure", ret);
	qsort(t[0], rounds, sizeof(t[0][0]), cmp_ll);
	qsort(t[1], rounds, sizeof(t[1][0]), cmp_ll);
	printf("MEDIAN_NS %lld %lld %llu\n", t[0][rounds / 2], t[1][rounds / 2],
	       (unsigned long long)dirty[0]);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * mig_bench - device-state downtime of vdpa_migrate (not a test; run by
 * scripts/bench/mig-downtime.sh).
 *
 *   mig_bench PAIRS ROUNDS
 *
 * Two generic net devices with PAIRS queue pairs, every data queue set up
 * and running on the source.  One round is what a VMM's switchover costs
 * in the kernel: source SAVING (suspend), GET_DEVICE_STATE, destination
 * SET_DEVICE_STATE and RESUMING -> RUNNING (the loaded device starts).
 * Next to it, same run, a no-op round trip (VDPA_MIG_GET_INFO).  Prints
 * "MEDIAN_NS <downtime> <noop>".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/vdpa_migrate.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "vhost_client.h"

#define BENCH_RING	64

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static void fail(const char *what, int err)
{
	fprintf(stderr, "mig_bench: %s: %s\n", what, strerror(-err));
	exit(1);
}

static void setup(struct vhc_dev *d, const char *name, unsigned int pairs)
{
	unsigned int i;
	int ret;

	ret = vhc_open(d, name);
	if (!ret)
		ret = vhc_mem_init(d, 4 << 20);
	if (!ret)
		ret = vhc_mem_map(d);
	if (!ret)
		ret = vhc_negotiate(d, (1ULL << VIRTIO_F_VERSION_1) |
				    (1ULL << VIRTIO_F_ACCESS_PLATFORM));
	for (i = 0; !ret && i < 2 * pairs; i++)
		ret = vhc_vq_setup(d, i, BENCH_RING);
	if (!ret)
		ret = vhc_driver_ok(d);
	if (ret)
		fail(name, ret);
}

int main(int argc, char **argv)
{
	struct vhc_dev src = { .fd = -1 }, dst = { .fd = -1 };
	char sname[32], dname[32], extra[32];
	struct vdpa_mig_info info;
	long long *down, *noop, t;
	unsigned int pairs, rounds, r;
	size_t len;
	void *blob;
	int ret;

	if (argc != 3)
		return 2;
	pairs = atoi(argv[1]);
	rounds = atoi(argv[2]);
	if (!pairs || 2 * pairs > VHC_MAX_VQS || !rounds)
		return 2;
	down = calloc(rounds, sizeof(*down));
	noop = calloc(rounds, sizeof(*noop));
	if (!down || !noop || vhc_use("vdpa_migrate"))
		return 1;

	snprintf(sname, sizeof(sname), "mbs%d", getpid() % 100000);
	snprintf(dname, sizeof(dname), "mbd%d", getpid() % 100000);
	snprintf(extra, sizeof(extra), "max_vqp %u", pairs);
	if (vhc_vdpa_add("vdpagen_net", sname, extra) ||
	    vhc_vdpa_add("vdpagen_net", dname, extra) ||
	    vhc_bind(sname) < 0 || vhc_bind(dname) < 0)
		fail("vdpa dev add", -EIO);
	setup(&src, sname, pairs);
	/*
	 * Like a VMM's destination, dst sees the guest's memory (the rings
	 * included) before it runs: a started queue may look at its ring.
	 */
	ret = vhc_open(&dst, dname);
	if (!ret)
		ret = vhc_mig_adopt(&dst, &src);
	if (ret)
		fail(dname, ret);

	for (r = 0; r < rounds; r++) {
		ret = vhc_mig_set_state(&dst, VDPA_MIG_STATE_RESUMING);
		if (ret)
			fail("dst RESUMING", ret);

		t = now_ns();
		ret = vhc_mig_set_state(&src, VDPA_MIG_STATE_SAVING);
		if (!ret)
			ret = vhc_mig_save(&src, &blob, &len);
		if (!ret)
			ret = vhc_mig_load(&dst, blob, len);
		if (!ret)
			ret = vhc_mig_set_state(&dst, VDPA_MIG_STATE_RUNNING);
		down[r] = now_ns() - t;
		if (ret)
			fail("switchover", ret);
		free(blob);

		t = now_ns();
		ret = vhc_mig_info(&src, &info);
		noop[r] = now_ns() - t;
		if (ret)
			fail("VDPA_MIG_GET_INFO", ret);

		/* Back to the start: the source runs again, dst is fresh. */
		ret = vhc_mig_set_state(&src, VDPA_MIG_STATE_RUNNING);
		if (!ret)
			ret = vhc_reset(&dst);
		if (ret)
			fail("reset", ret);
	}
	qsort(down, rounds, sizeof(*down), cmp_ll);
	qsort(noop, rounds, sizeof(*noop), cmp_ll);
	printf("state %zu bytes, %u queue pairs\n", len, pairs);
	printf("MEDIAN_NS %lld %lld\n", down[rounds / 2], noop[rounds / 2]);
	vhc_close(&src);
	vhc_close(&dst);
	vhc_vdpa_del(sname);
	vhc_vdpa_del(dname);
	return 0;
}

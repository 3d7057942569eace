// SPDX-License-Identifier: GPL-2.0
/*
 * gp_hold - keep an rng device busy through /dev/vdpa-mig-N until told to
 * let go (hotunplug.sh removes its card meanwhile).
 *
 *   gp_hold NAME RELEASE_FILE
 *
 * The device (bound to vdpa_migrate) is started with its queue, dirty
 * logging is started so that the parent moves it to shadow rings, and
 * random bytes are read through them.  Without an IOMMU domain of its own
 * (a card sharing its group) nothing can be mapped: the node is then only
 * held open.  Prints "holding shadow" or "holding open" once it holds,
 * then waits for RELEASE_FILE to exist, closes and exits 0; 1 on error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/vdpa_migrate.h>
#include <linux/virtio_config.h>

#include "vhost_client.h"
#include "vhost_test.h"

#define GP_HOLD_MEM	(64 * 1024)
#define GP_HOLD_LEN	256

static int die(const char *what, int err)
{
	fprintf(stderr, "gp_hold: %s: %s\n", what, strerror(-err));
	return 1;
}

/* Queue 0 running on shadow rings, one buffer of random bytes read. */
static int gp_hold_shadow(struct vhc_dev *d)
{
	struct vdpa_mig_log_range r;
	struct vhc_buf b;
	__u32 id, len;
	__u8 *buf;
	int ret;

	buf = vhc_alloc(d, GP_HOLD_LEN, 64);
	if (!buf)
		return -ENOMEM;
	ret = vhc_mem_map(d);
	if (ret)
		return ret;
	ret = vhc_negotiate(d, BIT_ULL(VIRTIO_F_VERSION_1) |
			    BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));
	if (!ret)
		ret = vhc_vq_setup(d, 0, 8);
	if (!ret)
		ret = vhc_driver_ok(d);
	r.iova = d->mem_iova;
	r.size = d->mem_size;
	if (!ret)
		ret = vhc_log_start(d, 0, 12, &r, 1);
	if (ret)
		return ret;
	b.addr = buf;
	b.len = GP_HOLD_LEN;
	ret = vhc_vq_add(&d->vqs[0], NULL, 0, &b, 1);
	if (ret >= 0)
		ret = vhc_vq_kick(&d->vqs[0]);
	if (!ret)
		ret = vhc_vq_wait_used(&d->vqs[0], &id, &len, 5000);
	if (!ret && !len)
		ret = -EIO;
	return ret;
}

int main(int argc, char **argv)
{
	struct vhc_dev d;
	const char *mode = "shadow";
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s NAME RELEASE_FILE\n", argv[0]);
		return 2;
	}
	if (vhc_use(VHT_DRV_MIG))
		return die(VHT_DRV_MIG, -ENODEV);
	ret = vhc_open(&d, argv[1]);
	if (!ret)
		ret = vhc_mem_init(&d, GP_HOLD_MEM);
	if (ret)
		return die(argv[1], ret);
	ret = gp_hold_shadow(&d);
	if (ret == -EOPNOTSUPP || ret == -EFAULT) {
		/* No domain of its own: nothing maps, just hold the node. */
		mode = "open";
		fprintf(stderr, "gp_hold: no shadow rings: %s\n", strerror(-ret));
	} else if (ret) {
		return die("shadow rings", ret);
	}
	printf("holding %s\n", mode);
	fflush(stdout);
	while (access(argv[2], F_OK))
		usleep(200 * 1000);
	vhc_close(&d);
	return 0;
}

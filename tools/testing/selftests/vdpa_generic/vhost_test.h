/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vhost-vdpa selftests; include after
 * kselftest_harness.h.
 *
 * Environment:
 *   VDPA_NET_MGMTDEV, VDPA_BLK_MGMTDEV  management device under test
 *                                      (default vdpagen_net / vdpagen_blk)
 *   VDPA_TEST_STRICT=0|1               check behaviour the kernel's vdpasim
 *                                      devices do not implement (NEEDS_RESET,
 *                                      rejecting unknown features). Default:
 *                                      on unless the mgmtdev is vdpasim_*.
 */
#ifndef VHOST_TEST_H
#define VHOST_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/vhost.h>

#include "vhost_client.h"

/* RESUME came with Linux 6.3; vdpa_migrate offers it on 6.1. */
#ifndef VHOST_VDPA_RESUME
#define VHOST_VDPA_RESUME	_IO(VHOST_VIRTIO, 0x7E)
#endif
#ifndef VHOST_BACKEND_F_RESUME
#define VHOST_BACKEND_F_RESUME	0x5
#endif

/* The bus drivers the vhost tests run through (one fixture variant each). */
#define VHT_DRV_KERNEL		"vhost_vdpa"	/* the kernel's vhost_vdpa */
#define VHT_DRV_MIG		"vdpa_migrate"	/* ours: /dev/vdpa-mig-N */

/*
 * Per-test time limit of the harness (30 s upstream), used where TEST_F()
 * expands: creating, binding and opening devices takes seconds on the
 * sanitizer kernel under emulation.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT	150

/* Expect a vhc_*() call to fail with a given errno (they return -errno). */
#define EXPECT_ERRNO(expected, call) EXPECT_EQ(-(expected), (call))
#define ASSERT_ERRNO(expected, call) ASSERT_EQ(-(expected), (call))

#ifndef BIT_ULL
#define BIT_ULL(nr)	(1ULL << (nr))
#endif

/* An ioctl on the device, as a vhc_*() call: 0 or -errno. */
static inline int vht_ioctl(struct vhc_dev *d, unsigned long req, void *arg)
{
	return ioctl(d->fd, req, arg) < 0 ? -errno : 0;
}

static inline const char *vht_mgmtdev(const char *env, const char *dflt)
{
	const char *v = getenv(env);

	return v && *v ? v : dflt;
}

static inline int vht_strict(const char *mgmtdev)
{
	const char *v = getenv("VDPA_TEST_STRICT");

	if (v && *v)
		return atoi(v) != 0;
	return strncmp(mgmtdev, "vdpasim", 7) != 0;
}

/* A device name no earlier, crashed run can have left behind. */
static inline void vht_dev_name(char *buf, size_t len, const char *prefix,
				char tag)
{
	snprintf(buf, len, "%s%d%c", prefix, (int)getpid() % 100000, tag);
}

#endif /* VHOST_TEST_H */

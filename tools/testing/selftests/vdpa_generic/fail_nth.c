// SPDX-License-Identifier: GPL-2.0
/*
 * fail_nth - make the N-th kernel allocation of one operation fail, for
 * N = 1, 2, ... until the operation succeeds without an injected fault.
 *
 *   fail_nth dev-add MGMTDEV NAME [MAX_VQP]  vdpa dev add over generic netlink
 *   fail_nth bind NAME DRIVER                bind through drivers_probe
 *   fail_nth vhost-open NAME                 open + set up /dev/vhost-vdpa-N
 *   fail_nth vhost-map NAME                  IOTLB update of 1 MiB
 *
 * Uses /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION + FAILSLAB; the
 * caller sets failslab's ignore-gfp-wait to N so that GFP_KERNEL allocations
 * can fail too). fail-nth counts this thread's fault-injection points only,
 * so nothing else on the system is disturbed. After every step the counter
 * is read back: 0 means the fault was injected, non-zero means the operation
 * did not reach the N-th allocation, so the walk is complete.
 *
 * After an injected fault the operation must either fail cleanly (dev-add:
 * no device left; bind: no driver, no vhost-vdpa or virtio child) or succeed (some allocations have
 * fallbacks); a success is undone before the next step. Kernel reports and
 * leaks are caught by the caller (dmesg, kmemleak).
 *
 * Exit: 0 walk complete, 1 an unwind left something behind, 4 no fail-nth.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "vhost_client.h"
#include "vdpa_nl.h"

#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_SKIP	4

/* Far more steps than any of the paths has allocations. */
#define MAX_STEPS	5000

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

static int nth_fd = -1;

/* Arm the fault: the n-th injection point of this thread fails. */
static void nth_arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nth_fd, buf, len, 0) != len) {
		perror("fail-nth write");
		exit(KSFT_FAIL);
	}
}

/* Disarm; returns true if the armed fault was injected. */
static bool nth_fired(void)
{
	char buf[16] = "";
	bool fired;

	if (pread(nth_fd, buf, sizeof(buf) - 1, 0) <= 0) {
		perror("fail-nth read");
		exit(KSFT_FAIL);
	}
	fired = atoi(buf) == 0;
	if (!fired && pwrite(nth_fd, "0", 1, 0) != 1) {
		perror("fail-nth reset");
		exit(KSFT_FAIL);
	}
	return fired;
}

static bool vdpa_dev_exists(const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/bus/vdpa/devices/%s", name);
	return stat(path, &st) == 0;
}

/* --- the operations ------------------------------------------------------ */

/*
 * Each step function runs the operation once with the fault armed at n and
 * returns 1 when it succeeded without an injected fault (walk done), 0 to go
 * on, -1 when the unwind left something behind.
 */
struct op {
	const char *name;
	int nargs;
	int (*prepare)(char **argv);
	int (*step)(char **argv, unsigned int n);
};

static int dev_add_prepare(char **argv)
{
	int ret = vdpa_nl_open();

	if (ret) {
		fprintf(stderr, "vdpa genl family: %s\n", strerror(-ret));
		return ret;
	}
	if (vdpa_dev_exists(argv[1])) {
		fprintf(stderr, "%s already exists\n", argv[1]);
		return -EEXIST;
	}
	return 0;
}

static int dev_add_step(char **argv, unsigned int n)
{
	int max_vqp = argv[2] ? atoi(argv[2]) : 0;
	bool fired;
	int ret;

	nth_arm(n);
	ret = vdpa_nl_dev_add(&(struct vdpa_nl_add){
		.mgmtdev = argv[0], .name = argv[1], .max_vqp = max_vqp });
	fired = nth_fired();
	if (ret == 0) {
		if (!fired)
			return 1;
		/* Survived the fault: fine, remove it for the next step. */
		ret = vdpa_nl_dev_del(argv[1]);
		if (ret) {
			printf("# step %u: cannot delete %s: %s\n", n, argv[1], strerror(-ret));
			return -1;
		}
		return 0;
	}
	if (!fired) {
		printf("# step %u: add failed without a fault: %s\n", n, strerror(-ret));
		return -1;
	}
	if (vdpa_dev_exists(argv[1])) {
		/*
		 * ENOBUFS: the device was made but netlink could not
		 * allocate the ack; a lost reply, not a failed add.
		 */
		if (ret != -ENOBUFS) {
			printf("# step %u: add failed (%s) but %s exists\n",
			       n, strerror(-ret), argv[1]);
			return -1;
		}
		if (vdpa_nl_dev_del(argv[1])) {
			printf("# step %u: cannot delete %s\n", n, argv[1]);
			return -1;
		}
	}
	return 0;
}

/* Driver NAME is bound to, or "" */
static const char *bound_driver(const char *name)
{
	static char link[PATH_MAX];
	char path[128];
	ssize_t len;

	snprintf(path, sizeof(path), "/sys/bus/vdpa/devices/%s/driver", name);
	len = readlink(path, link, sizeof(link) - 1);
	if (len < 0)
		return "";
	link[len] = 0;
	return strrchr(link, '/') + 1;
}

static int sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, val, strlen(val));
	close(fd);
	return ret < 0 ? -errno : 0;
}

static int vdpa_unbind(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/vdpa/devices/%s/driver/unbind", name);
	return sysfs_write(path, name);
}

/* No vhost-vdpa char device and no virtio device under the vdpa device. */
static bool nothing_attached(const char *name)
{
	char path[128];
	struct dirent *de;
	bool clean = true;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/bus/vdpa/devices/%s", name);
	dir = opendir(path);
	if (!dir)
		return false;
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, "vhost-vdpa-", 11) ||
		    !strncmp(de->d_name, "virtio", 6)) {
			printf("# %s left behind\n", de->d_name);
			clean = false;
		}
	closedir(dir);
	return clean;
}

static int probe_fd = -1;

static int bind_prepare(char **argv)
{
	char path[128];
	int ret;

	if (*bound_driver(argv[0]) && vdpa_unbind(argv[0]))
		return -EBUSY;
	snprintf(path, sizeof(path), "/sys/bus/vdpa/devices/%s/driver_override", argv[0]);
	ret = sysfs_write(path, argv[1]);
	if (ret)
		return ret;
	probe_fd = open("/sys/bus/vdpa/drivers_probe", O_WRONLY | O_CLOEXEC);
	return probe_fd < 0 ? -errno : 0;
}

/*
 * Probe the device through drivers_probe with the fault armed. Whatever the
 * write returns, the outcome is the binding: bound without a fault ends the
 * walk; bound despite a fault is undone; not bound must leave nothing.
 */
static int bind_step(char **argv, unsigned int n)
{
	const char *drv;
	bool fired;

	nth_arm(n);
	/* The write's result is not the outcome; the binding is. */
	(void)!write(probe_fd, argv[0], strlen(argv[0]));
	fired = nth_fired();
	drv = bound_driver(argv[0]);
	if (*drv && strcmp(drv, argv[1])) {
		printf("# step %u: bound to %s, not %s\n", n, drv, argv[1]);
		return -1;
	}
	if (*drv) {
		if (!fired)
			return 1;
		if (vdpa_unbind(argv[0])) {
			printf("# step %u: cannot unbind\n", n);
			return -1;
		}
		return 0;
	}
	if (!fired) {
		printf("# step %u: probe failed without a fault\n", n);
		return -1;
	}
	return nothing_attached(argv[0]) ? 0 : -1;
}

static int vhost_prepare(char **argv)
{
	int minor = vhc_find_minor(argv[0]);

	return minor < 0 ? minor : 0;
}

static int vhost_open_step(char **argv, unsigned int n)
{
	struct vhc_dev d;
	bool fired;
	int ret;

	nth_arm(n);
	ret = vhc_open(&d, argv[0]);
	fired = nth_fired();
	if (ret == 0)
		vhc_close(&d);
	if (ret && !fired) {
		printf("# step %u: open failed without a fault: %s\n", n, strerror(-ret));
		return -1;
	}
	return ret == 0 && !fired;
}

static struct vhc_dev map_dev;

static int vhost_map_prepare(char **argv)
{
	int ret = vhc_open(&map_dev, argv[0]);

	if (!ret)
		ret = vhc_mem_init(&map_dev, 1 << 20);
	return ret;
}

static int vhost_map_step(char **argv, unsigned int n)
{
	bool fired;
	int ret;

	(void)argv;	/* the device was opened by vhost_map_prepare() */
	nth_arm(n);
	ret = vhc_mem_map(&map_dev);
	fired = nth_fired();
	if (ret == 0) {
		ret = vhc_mem_unmap(&map_dev);
		if (ret) {
			printf("# step %u: unmap failed: %s\n", n, strerror(-ret));
			return -1;
		}
		return !fired;
	}
	if (!fired) {
		printf("# step %u: map failed without a fault: %s\n", n, strerror(-ret));
		return -1;
	}
	return 0;
}

static const struct op ops[] = {
	{ "dev-add", 2, dev_add_prepare, dev_add_step },
	{ "bind", 2, bind_prepare, bind_step },
	{ "vhost-open", 1, vhost_prepare, vhost_open_step },
	{ "vhost-map", 1, vhost_map_prepare, vhost_map_step },
};

int main(int argc, char **argv)
{
	const struct op *op = NULL;
	unsigned int n, i;
	int ret;

	for (i = 0; argc > 1 && i < ARRAY_SIZE(ops); i++)
		if (!strcmp(argv[1], ops[i].name))
			op = &ops[i];
	if (!op || argc < 2 + op->nargs) {
		fprintf(stderr, "usage: fail_nth dev-add MGMTDEV NAME [MAX_VQP]\n"
				"       fail_nth bind NAME DRIVER\n"
				"       fail_nth vhost-open NAME | vhost-map NAME\n");
		return KSFT_FAIL;
	}
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (nth_fd < 0) {
		printf("# no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)\n");
		return KSFT_SKIP;
	}
	ret = op->prepare(argv + 2);
	if (ret) {
		printf("# %s: setup failed: %s\n", op->name, strerror(-ret));
		return KSFT_FAIL;
	}
	for (n = 1; n <= MAX_STEPS; n++) {
		ret = op->step(argv + 2, n);
		if (ret < 0)
			return KSFT_FAIL;
		if (ret > 0) {
			printf("# %s: %u allocation failures unwound, then success\n",
			       op->name, n - 1);
			return KSFT_PASS;
		}
	}
	printf("# %s: still failing after %u steps\n", op->name, MAX_STEPS);
	return KSFT_FAIL;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * fusiond_teardown_test - take an aggregate apart while its VFIO device is
 * open (teardown_open.sh).
 *
 * The aggregate is AP with the throttled card active (vm.args), so writes
 * are in flight at a member when things go away:
 *   1. hiaggre_virtio and fusiond cannot be unloaded (EWOULDBLOCK), the
 *      aggregate cannot be disabled (EBUSY);
 *   2. rmdir of the aggregate blocks until the device is closed (VFIO's
 *      vfio_unregister_group_dev() waits for the user), and meanwhile the
 *      device keeps working;
 *   3. a member that reports NEEDS_RESET then fails over at once (the
 *      waiting rmdir must not hold what the failover needs);
 *   4. unloading hiaggre_dslice under a burst of writes succeeds: every
 *      member is failed over and removed; each write completes exactly
 *      once, with OK or IOERR (no member left), none is lost;
 *   5. then requests complete at once with IOERR, the device is not in
 *      NEEDS_RESET;
 *   6. closing the device lets rmdir finish, with success.
 * The script then unloads and reloads the modules.
 *
 * Environment: FUSIOND_AGG (configfs directory), FUSIOND_MEMBER (BDF of its
 * first member, a hiaggre_dslice card).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

#include "kselftest_harness.h"
#include "vfblk.h"

#define NQ		2
#define DEPTH		8
#define BASE		139264ULL	/* sector */
/* Sectors between blocks: QEMU would merge neighbouring writes. */
#define STRIDE		16
#define KLOG_READ_ALL	3	/* SYSLOG_ACTION_READ_ALL */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/*
 * Submit one write per slot on every queue, reap them all: @status[q][s]
 * gets each status byte. Returns the number reaped, lost ones excluded;
 * @dups counts completions for nothing in flight.
 */
static int write_burst(struct vfblk *b, uint8_t status[NQ][DEPTH],
		       unsigned int *dups, void (*meanwhile)(void))
{
	uint8_t busy[NQ][DEPTH];
	int got = 0;

	for (unsigned int q = 0; q < NQ; q++) {
		for (unsigned int s = 0; s < DEPTH; s++) {
			memset(vfblk_data(b, q, s), 0xa5 + s, VFBLK_BLOCK);
			if (vfblk_submit(b, q, s, true,
					 BASE + (q * DEPTH + s) * STRIDE) < 0)
				return -1;
			busy[q][s] = 1;
		}
		vfblk_kick(b, q);
	}
	if (meanwhile)
		meanwhile();
	while (got < NQ * DEPTH) {
		struct vfblk_done d[64];
		int k = vfblk_reap(b, d, 64, 15000);

		if (k <= 0)
			break;
		for (int j = 0; j < k; j++) {
			unsigned int q = d[j].queue, s = d[j].head / 3;

			if (q >= NQ || s >= DEPTH || !busy[q][s]) {
				(*dups)++;
				continue;
			}
			busy[q][s] = 0;
			status[q][s] = *vfblk_status_byte(b, q, s);
			got++;
		}
	}
	return got;
}

static long long unload_ret, unload_errno;

static void unload_dslice(void)
{
	/* Give the relay time to hand the burst to the member. */
	usleep(50000);
	unload_ret = syscall(SYS_delete_module, "hiaggre_dslice", O_NONBLOCK);
	unload_errno = errno;
}

/* Is @needle in the kernel log? */
static bool in_kernel_log(const char *needle)
{
	static char log[1 << 20];
	int n = klogctl(KLOG_READ_ALL, log, sizeof(log) - 1);

	if (n < 0)
		return false;
	log[n] = 0;
	return strstr(log, needle);
}

/* Count the status bytes of a burst: OK, IOERR, anything else. */
static void count_status(uint8_t status[NQ][DEPTH], unsigned int *ok,
			 unsigned int *ioerr, unsigned int *other)
{
	*ok = *ioerr = *other = 0;
	for (unsigned int q = 0; q < NQ; q++) {
		for (unsigned int s = 0; s < DEPTH; s++) {
			if (status[q][s] == VIRTIO_BLK_S_OK)
				(*ok)++;
			else if (status[q][s] == VIRTIO_BLK_S_IOERR)
				(*ioerr)++;
			else
				(*other)++;
		}
	}
}

TEST(teardown_while_open)
{
	const char *dir = getenv("FUSIOND_AGG");
	const char *member = getenv("FUSIOND_MEMBER");
	unsigned int dups = 0, ok, ioerr, other;
	uint8_t status[NQ][DEPTH];
	char path[256], msg[128];
	struct stat st;
	uint64_t deadline;
	struct vfblk b;
	int ret, got, wst, fd;
	pid_t child;

	if (!dir || !member)
		SKIP(return, "FUSIOND_AGG/MEMBER not set (teardown_open.sh)");
	ret = vfblk_setup(&b, dir, NQ, VFBLK_QSIZE);
	ASSERT_EQ(0, ret) TH_LOG("vfblk_setup %s: %s", dir, strerror(-ret));

	/* 1. What the open device pins. */
	EXPECT_EQ(-1, syscall(SYS_delete_module, "hiaggre_virtio", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_EQ(-1, syscall(SYS_delete_module, "fusiond", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_EQ(-EBUSY, vfblk_write_attr(dir, "enable", "0"));

	/* 2. rmdir waits for the close; the device keeps working. */
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		/*
		 * Without the device's fds: rmdir would wait for itself,
		 * unkillably (see Documentation/fusiond.rst).
		 */
		if (syscall(SYS_close_range, 3, ~0U, 0))
			_exit(errno);
		_exit(rmdir(dir) ? errno : 0);
	}
	sleep(2);
	EXPECT_EQ(0, waitpid(child, &wst, WNOHANG)) TH_LOG("rmdir did not wait");
	EXPECT_EQ(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		  VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK,
		  vfblk_status(&b));
	memset(status, 0xff, sizeof(status));
	EXPECT_EQ(NQ * DEPTH, write_burst(&b, status, &dups, NULL));
	count_status(status, &ok, &ioerr, &other);
	EXPECT_EQ((unsigned int)(NQ * DEPTH), ok);

	/*
	 * 3. A member failing meanwhile fails over at once: the waiting rmdir
	 * must not keep the failover from running.
	 */
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/inject_needs_reset",
		 member);
	fd = open(path, O_WRONLY);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
	EXPECT_EQ(1, write(fd, "1", 1));
	close(fd);
	snprintf(msg, sizeof(msg), "%s: member %s failed",
		 strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir, member);
	deadline = now_ms() + 5000;
	while (!in_kernel_log(msg) && now_ms() < deadline)
		usleep(20000);
	EXPECT_TRUE(in_kernel_log(msg)) TH_LOG("no failover of %s while rmdir waits",
					       member);
	memset(status, 0xff, sizeof(status));
	EXPECT_EQ(NQ * DEPTH, write_burst(&b, status, &dups, NULL));
	count_status(status, &ok, &ioerr, &other);
	EXPECT_EQ((unsigned int)(NQ * DEPTH), ok);

	/* 4. The member driver goes away under a burst of writes. */
	memset(status, 0xff, sizeof(status));
	got = write_burst(&b, status, &dups, unload_dslice);
	EXPECT_EQ(0, unload_ret) TH_LOG("rmmod hiaggre_dslice: %s",
					strerror(unload_errno));
	EXPECT_EQ(NQ * DEPTH, got) TH_LOG("writes lost");
	count_status(status, &ok, &ioerr, &other);
	TH_LOG("in flight at the unload: %u OK, %u IOERR", ok, ioerr);
	EXPECT_EQ(0u, other);
	EXPECT_NE(0, access("/sys/module/hiaggre_dslice", F_OK));

	/* 5. No member: requests fail at once, the device is not broken. */
	memset(status, 0xff, sizeof(status));
	EXPECT_EQ(NQ * DEPTH, write_burst(&b, status, &dups, NULL));
	count_status(status, &ok, &ioerr, &other);
	EXPECT_EQ((unsigned int)(NQ * DEPTH), ioerr);
	EXPECT_EQ(0, vfblk_status(&b) & VIRTIO_CONFIG_S_NEEDS_RESET);
	EXPECT_EQ(0u, dups);

	/* 6. The close lets rmdir finish. */
	vfblk_close(&b);
	deadline = now_ms() + 20000;
	while (waitpid(child, &wst, WNOHANG) == 0 && now_ms() < deadline)
		usleep(10000);
	/* Blocked in the kernel (uninterruptibly after a signal): no kill. */
	ASSERT_LT(now_ms(), deadline) TH_LOG("rmdir still blocked after the close");
	ASSERT_TRUE(WIFEXITED(wst));
	EXPECT_EQ(0, WEXITSTATUS(wst)) TH_LOG("rmdir: %s",
					      strerror(WEXITSTATUS(wst)));
	EXPECT_EQ(-1, stat(dir, &st));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * libvmig: migration steps of a VMM on top of vdpa_migrate's uAPI, and the
 * stream between source and destination.  See vmig.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/vdpa_migrate.h>

#include "vmig.h"

/* Pages sent in one PAGES message at most. */
#define VMIG_BATCH_PAGES	256u

static int vmig_err(void)
{
	return errno ? -errno : -EIO;
}

double vmig_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- bitmaps -------------------------------------------------------------- */

int vmig_bitmap_init(struct vmig_bitmap *b, size_t nbits)
{
	b->nbits = nbits;
	b->words = calloc((nbits + 63) / 64, sizeof(__u64));
	return b->words ? 0 : -ENOMEM;
}

void vmig_bitmap_free(struct vmig_bitmap *b)
{
	free(b->words);
	b->words = NULL;
}

void vmig_bitmap_mark(struct vmig_bitmap *b, size_t first, size_t count)
{
	size_t i;

	for (i = first; i < first + count && i < b->nbits; i++)
		b->words[i / 64] |= 1ULL << (i % 64);
}

size_t vmig_bitmap_weight(const struct vmig_bitmap *b)
{
	size_t i, n = 0;

	for (i = 0; i < (b->nbits + 63) / 64; i++)
		n += __builtin_popcountll(b->words[i]);
	return n;
}

/* ---- stream ---------------------------------------------------------------- */

static int vmig_write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t n = write(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? vmig_err() : -EPIPE;
		c += n;
		len -= n;
	}
	return 0;
}

static int vmig_read_all(int fd, void *p, size_t len)
{
	char *c = p;

	while (len) {
		ssize_t n = read(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? vmig_err() : -EPIPE;
		c += n;
		len -= n;
	}
	return 0;
}

int vmig_send(int fd, __u32 type, __u64 arg, const void *data, size_t len,
	      struct vmig_stats *st)
{
	struct vmig_msg m = {
		.magic = VMIG_MAGIC,
		.type = type,
		.len = len,
		.arg = arg,
	};
	int ret;

	ret = vmig_write_all(fd, &m, sizeof(m));
	if (!ret && len)
		ret = vmig_write_all(fd, data, len);
	if (!ret && st)
		st->bytes += sizeof(m) + len;
	return ret;
}

/* Receive one message; its payload (at most @max bytes) is malloc()ed. */
int vmig_recv(int fd, struct vmig_msg *m, void **data, size_t max)
{
	int ret;

	*data = NULL;
	ret = vmig_read_all(fd, m, sizeof(*m));
	if (ret)
		return ret;
	if (m->magic != VMIG_MAGIC || m->reserved || m->len > max)
		return -EPROTO;
	if (!m->len)
		return 0;
	*data = malloc(m->len);
	if (!*data)
		return -ENOMEM;
	ret = vmig_read_all(fd, *data, m->len);
	if (ret) {
		free(*data);
		*data = NULL;
	}
	return ret;
}

/* Runs of consecutive dirty pages go out as one message each. */
int vmig_send_pages(int fd, const void *mem, __u64 iova,
		    struct vmig_bitmap *dirty, struct vmig_stats *st)
{
	size_t i = 0, n;
	int ret;

	while (i < dirty->nbits) {
		if (!(dirty->words[i / 64] >> (i % 64) & 1)) {
			i++;
			continue;
		}
		for (n = 1; i + n < dirty->nbits && n < VMIG_BATCH_PAGES &&
		     (dirty->words[(i + n) / 64] >> ((i + n) % 64) & 1); n++)
			;
		ret = vmig_send(fd, VMIG_MSG_PAGES,
				iova + (__u64)i * VMIG_PAGE_SIZE,
				(const char *)mem + i * VMIG_PAGE_SIZE,
				n * VMIG_PAGE_SIZE, st);
		if (ret)
			return ret;
		if (st)
			st->pages += n;
		i += n;
	}
	memset(dirty->words, 0, (dirty->nbits + 63) / 64 * sizeof(__u64));
	return 0;
}

/* ---- dirty logging ----------------------------------------------------------- */

static int vmig_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? vmig_err() : 0;
}

int vmig_log_start(int dev_fd, __u32 asid, __u64 iova, __u64 size)
{
	struct vdpa_mig_log_range r = { .iova = iova, .size = size };
	struct vdpa_mig_log_start s = {
		.argsz = sizeof(s),
		.asid = asid,
		.page_shift = 12,
		.nr_ranges = 1,
		.ranges = (__u64)(uintptr_t)&r,
	};

	return vmig_ioctl(dev_fd, VDPA_MIG_LOG_START, &s);
}

/* The kernel ORs the device's dirty pages into @into. */
int vmig_log_sync(int dev_fd, __u32 asid, __u64 iova, __u64 size,
		  struct vmig_bitmap *into, __u64 *dirty)
{
	struct vdpa_mig_log_sync s = {
		.argsz = sizeof(s),
		.asid = asid,
		.iova = iova,
		.size = size,
		.bitmap = (__u64)(uintptr_t)into->words,
	};
	int ret;

	ret = vmig_ioctl(dev_fd, VDPA_MIG_LOG_SYNC, &s);
	if (!ret && dirty)
		*dirty = s.dirty;
	return ret;
}

int vmig_log_stop(int dev_fd, __u32 asid)
{
	struct vdpa_mig_log_stop s = { .argsz = sizeof(s), .asid = asid };

	return vmig_ioctl(dev_fd, VDPA_MIG_LOG_STOP, &s);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * vfblk: userspace virtio-blk driver over VFIO, for the FusionD selftests.
 * See vfblk.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "vfblk.h"

#define REQ_BASE	0x100000u
#define REQ_STRIDE	8192u

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

int vfblk_cfg_read(struct vfblk *b, uint32_t off, void *buf, size_t len)
{
	return pread(b->dev, buf, len, b->cfg_off + off) == (ssize_t)len ?
	       0 : -errno;
}

int vfblk_bar_read(struct vfblk *b, uint32_t off, void *buf, size_t len)
{
	return pread(b->dev, buf, len, b->bar0_off + off) == (ssize_t)len ?
	       0 : -errno;
}

int vfblk_bar_write(struct vfblk *b, uint32_t off, const void *buf,
		    size_t len)
{
	return pwrite(b->dev, buf, len, b->bar0_off + off) == (ssize_t)len ?
	       0 : -errno;
}

static void w8(struct vfblk *b, uint32_t off, uint8_t v)
{
	vfblk_bar_write(b, b->common + off, &v, 1);
}

static void w16(struct vfblk *b, uint32_t off, uint16_t v)
{
	vfblk_bar_write(b, b->common + off, &v, 2);
}

static void w32(struct vfblk *b, uint32_t off, uint32_t v)
{
	vfblk_bar_write(b, b->common + off, &v, 4);
}

static uint32_t r32(struct vfblk *b, uint32_t off)
{
	uint32_t v = 0;

	vfblk_bar_read(b, b->common + off, &v, 4);
	return v;
}

static uint16_t r16(struct vfblk *b, uint32_t off)
{
	uint16_t v = 0;

	vfblk_bar_read(b, b->common + off, &v, 2);
	return v;
}

uint8_t vfblk_status(struct vfblk *b)
{
	uint8_t v = 0xff;

	vfblk_bar_read(b, b->common + VIRTIO_PCI_COMMON_STATUS, &v, 1);
	return v;
}

static int region_offset(struct vfblk *b, unsigned int index, uint64_t *off)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(b->dev, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return -errno;
	*off = ri.offset;
	return 0;
}

/* Walk the capability list for the virtio structures in BAR0. */
static int find_caps(struct vfblk *b)
{
	uint8_t cfg[256];
	unsigned int found = 0, n = 0;
	uint8_t pos;

	if (vfblk_cfg_read(b, 0, cfg, sizeof(cfg)))
		return -EIO;
	if (cfg[0] != 0xf4 || cfg[1] != 0x1a || !(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST))
		return -ENODEV;
	for (pos = cfg[PCI_CAPABILITY_LIST]; pos && n < 48; pos = cfg[pos + 1], n++) {
		uint32_t off;

		if (cfg[pos] != PCI_CAP_ID_VNDR || cfg[pos + 4] != 0)
			continue;
		memcpy(&off, &cfg[pos + 8], 4);
		switch (cfg[pos + 3]) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			b->common = off;
			found |= 1;
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			b->notify = off;
			memcpy(&b->notify_mult, &cfg[pos + 16], 4);
			found |= 2;
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			b->isr = off;
			found |= 4;
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			b->device = off;
			found |= 8;
			break;
		}
	}
	return found == 15 ? 0 : -ENODEV;
}

int vfblk_open(struct vfblk *b, int group)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	char path[128];
	struct dirent *de;
	DIR *d;
	int ret;

	memset(b, 0, sizeof(*b));
	b->container = -1;
	b->group = -1;
	b->dev = -1;
	b->cfg_efd = -1;
	for (int i = 0; i < VFBLK_MAX_QUEUES; i++)
		b->q[i].efd = -1;
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices", group);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(b->devname))
			continue;
		strcpy(b->devname, de->d_name);
	}
	closedir(d);

	b->container = open("/dev/vfio/vfio", O_RDWR);
	if (b->container < 0)
		return -errno;
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	b->group = open(path, O_RDWR);
	if (b->group < 0)
		return -errno;
	if (ioctl(b->group, VFIO_GROUP_GET_STATUS, &gs))
		return -errno;
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EBUSY;
	if (ioctl(b->group, VFIO_GROUP_SET_CONTAINER, &b->container))
		return -errno;
	if (ioctl(b->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return -errno;
	b->dev = ioctl(b->group, VFIO_GROUP_GET_DEVICE_FD, b->devname);
	if (b->dev < 0)
		return -errno;

	b->mem = mmap(NULL, VFBLK_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->mem == MAP_FAILED) {
		b->mem = NULL;
		return -ENOMEM;
	}
	memset(b->mem, 0, VFBLK_MEM_SIZE);
	map.vaddr = (uintptr_t)b->mem;
	map.iova = VFBLK_IOVA;
	map.size = VFBLK_MEM_SIZE;
	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	if (ioctl(b->container, VFIO_IOMMU_MAP_DMA, &map))
		return -errno;

	ret = region_offset(b, VFIO_PCI_CONFIG_REGION_INDEX, &b->cfg_off);
	if (!ret)
		ret = region_offset(b, VFIO_PCI_BAR0_REGION_INDEX, &b->bar0_off);
	if (!ret)
		ret = find_caps(b);
	return ret;
}

void vfblk_close(struct vfblk *b)
{
	if (b->dev >= 0)
		close(b->dev);
	if (b->mem && b->container >= 0) {
		struct vfio_iommu_type1_dma_unmap um = {
			.argsz = sizeof(um), .iova = VFBLK_IOVA,
			.size = VFBLK_MEM_SIZE,
		};

		ioctl(b->container, VFIO_IOMMU_UNMAP_DMA, &um);
	}
	if (b->group >= 0)
		close(b->group);
	if (b->container >= 0)
		close(b->container);
	if (b->mem)
		munmap(b->mem, VFBLK_MEM_SIZE);
	for (int i = 0; i < VFBLK_MAX_QUEUES; i++)
		if (b->q[i].efd >= 0)
			close(b->q[i].efd);
	if (b->cfg_efd >= 0)
		close(b->cfg_efd);
	b->dev = -1;
	b->group = -1;
	b->container = -1;
	b->mem = NULL;
}

int vfblk_reset(struct vfblk *b)
{
	w8(b, VIRTIO_PCI_COMMON_STATUS, 0);
	return vfblk_status(b) == 0 ? 0 : -EIO;
}

static int set_irqs(struct vfblk *b)
{
	char buf[sizeof(struct vfio_irq_set) + 4 * (VFBLK_MAX_QUEUES + 1)];
	struct vfio_irq_set *s = (void *)buf;
	int32_t *fds = (int32_t *)s->data;

	s->argsz = sizeof(*s) + 4 * (b->nq + 1);
	s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	s->index = VFIO_PCI_MSIX_IRQ_INDEX;
	s->start = 0;
	s->count = b->nq + 1;
	fds[0] = b->cfg_efd;
	for (unsigned int i = 0; i < b->nq; i++)
		fds[i + 1] = b->q[i].efd;
	return ioctl(b->dev, VFIO_DEVICE_SET_IRQS, s) ? -errno : 0;
}

int vfblk_init(struct vfblk *b, unsigned int nq, unsigned int qsize)
{
	uint64_t want = (1ULL << VIRTIO_F_VERSION_1) |
			(1ULL << VIRTIO_BLK_F_SEG_MAX) |
			(1ULL << VIRTIO_BLK_F_SIZE_MAX) |
			(1ULL << VIRTIO_BLK_F_BLK_SIZE) |
			(1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_MQ);
	uint16_t devnq;

	if (nq > VFBLK_MAX_QUEUES || qsize > VFBLK_QSIZE)
		return -EINVAL;
	if (vfblk_reset(b))
		return -EIO;
	w8(b, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	w8(b, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER);
	w32(b, VIRTIO_PCI_COMMON_DFSELECT, 0);
	b->features = r32(b, VIRTIO_PCI_COMMON_DF);
	w32(b, VIRTIO_PCI_COMMON_DFSELECT, 1);
	b->features |= (uint64_t)r32(b, VIRTIO_PCI_COMMON_DF) << 32;
	b->features &= want;
	if (!(b->features & (1ULL << VIRTIO_F_VERSION_1)))
		return -ENODEV;
	w32(b, VIRTIO_PCI_COMMON_GFSELECT, 0);
	w32(b, VIRTIO_PCI_COMMON_GF, (uint32_t)b->features);
	w32(b, VIRTIO_PCI_COMMON_GFSELECT, 1);
	w32(b, VIRTIO_PCI_COMMON_GF, b->features >> 32);
	w8(b, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(vfblk_status(b) & VIRTIO_CONFIG_S_FEATURES_OK))
		return -EPROTO;
	vfblk_bar_read(b, b->device, &b->capacity, 8);
	devnq = r16(b, VIRTIO_PCI_COMMON_NUMQ);
	if (nq > devnq)
		return -ERANGE;
	b->nq = nq;

	if (b->cfg_efd < 0)
		b->cfg_efd = eventfd(0, EFD_NONBLOCK);
	w16(b, VIRTIO_PCI_COMMON_MSIX, 0);
	for (unsigned int i = 0; i < nq; i++) {
		struct vfblk_queue *q = &b->q[i];
		uint64_t off = (uint64_t)i << 16;

		memset(q->busy, 0, sizeof(q->busy));
		q->index = i;
		q->size = qsize;
		q->ring_iova = VFBLK_IOVA + off;
		q->desc = b->mem + off;
		q->avail = b->mem + off + 16 * qsize;
		q->used = b->mem + off + 4096;
		memset(b->mem + off, 0, 1 << 16);
		q->avail_idx = 0;
		q->last_used = 0;
		if (q->efd < 0)
			q->efd = eventfd(0, EFD_NONBLOCK);
		w16(b, VIRTIO_PCI_COMMON_Q_SELECT, i);
		w16(b, VIRTIO_PCI_COMMON_Q_SIZE, qsize);
		w16(b, VIRTIO_PCI_COMMON_Q_MSIX, i + 1);
		w32(b, VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)q->ring_iova);
		w32(b, VIRTIO_PCI_COMMON_Q_DESCHI, q->ring_iova >> 32);
		w32(b, VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)(q->ring_iova + 16 * qsize));
		w32(b, VIRTIO_PCI_COMMON_Q_AVAILHI, q->ring_iova >> 32);
		w32(b, VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)(q->ring_iova + 4096));
		w32(b, VIRTIO_PCI_COMMON_Q_USEDHI, q->ring_iova >> 32);
		q->notify_off = b->notify +
				r16(b, VIRTIO_PCI_COMMON_Q_NOFF) * b->notify_mult;
		w16(b, VIRTIO_PCI_COMMON_Q_ENABLE, 1);
	}
	if (set_irqs(b))
		return -errno;
	w8(b, VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
	   VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
	   VIRTIO_CONFIG_S_DRIVER_OK);
	return (vfblk_status(b) & VIRTIO_CONFIG_S_DRIVER_OK) ? 0 : -EIO;
}

static uint8_t *slot_base(struct vfblk *b, unsigned int q, unsigned int slot)
{
	return b->mem + REQ_BASE + (q * VFBLK_QSIZE + slot) * REQ_STRIDE;
}

void *vfblk_data(struct vfblk *b, unsigned int q, unsigned int slot)
{
	return slot_base(b, q, slot) + 4096;
}

uint8_t *vfblk_status_byte(struct vfblk *b, unsigned int q, unsigned int slot)
{
	return slot_base(b, q, slot) + 64;
}

static uint64_t iova_of(struct vfblk *b, const void *p)
{
	return VFBLK_IOVA + ((const uint8_t *)p - b->mem);
}

void vfblk_set_desc(struct vfblk *b, unsigned int qi, unsigned int i,
		    uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = (struct vring_desc *)b->q[qi].desc + i;

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

void vfblk_publish(struct vfblk *b, unsigned int qi, uint16_t head)
{
	struct vfblk_queue *q = &b->q[qi];
	struct vring_avail *a = q->avail;

	a->ring[q->avail_idx % q->size] = head;
	__atomic_store_n(&a->idx, ++q->avail_idx, __ATOMIC_RELEASE);
}

void vfblk_kick(struct vfblk *b, unsigned int qi)
{
	uint16_t v = qi;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vfblk_bar_write(b, b->q[qi].notify_off, &v, 2);
}

int vfblk_submit(struct vfblk *b, unsigned int qi, unsigned int slot,
		 bool write, uint64_t sector)
{
	struct vfblk_queue *q = &b->q[qi];
	uint8_t *base = slot_base(b, qi, slot);
	struct virtio_blk_outhdr *h = (void *)base;
	uint16_t head = slot * 3;

	if (slot >= q->size / 3)
		return -EINVAL;
	if (q->busy[head])
		return -EBUSY;
	h->type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	h->ioprio = 0;
	h->sector = sector;
	base[64] = 0xff;
	vfblk_set_desc(b, qi, head, iova_of(b, h), sizeof(*h), VRING_DESC_F_NEXT,
		       head + 1);
	vfblk_set_desc(b, qi, head + 1, iova_of(b, base + 4096), VFBLK_BLOCK,
		       VRING_DESC_F_NEXT | (write ? 0 : VRING_DESC_F_WRITE),
		       head + 2);
	vfblk_set_desc(b, qi, head + 2, iova_of(b, base + 64), 1,
		       VRING_DESC_F_WRITE, 0);
	q->busy[head] = 1;
	vfblk_publish(b, qi, head);
	return head;
}

int vfblk_reap(struct vfblk *b, struct vfblk_done *out, int max, int ms)
{
	uint64_t end = now_ms() + ms;
	int n = 0;

	for (;;) {
		struct pollfd pfd[VFBLK_MAX_QUEUES];

		for (unsigned int i = 0; i < b->nq && n < max; i++) {
			struct vfblk_queue *q = &b->q[i];
			struct vring_used *u = q->used;

			while (n < max && q->last_used !=
			       __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE)) {
				struct vring_used_elem *e =
					&u->ring[q->last_used % q->size];

				out[n].queue = i;
				out[n].head = e->id;
				out[n].len = e->len;
				if (e->id < VFBLK_QSIZE)
					q->busy[e->id] = 0;
				q->last_used++;
				n++;
			}
		}
		if (n || now_ms() >= end)
			return n;
		for (unsigned int i = 0; i < b->nq; i++) {
			pfd[i].fd = b->q[i].efd;
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, b->nq, 50) > 0) {
			uint64_t v;

			for (unsigned int i = 0; i < b->nq; i++)
				if (pfd[i].revents & POLLIN &&
				    read(pfd[i].fd, &v, sizeof(v)) < 0)
					return -errno;
		}
	}
}

int vfblk_group_of(const char *aggdir)
{
	char path[256], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/vfio_group", aggdir);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] ? atoi(buf) : -ENOENT;
}

int vfblk_setup(struct vfblk *b, const char *aggdir, unsigned int nq,
		unsigned int qsize)
{
	int group = vfblk_group_of(aggdir);
	int ret;

	if (group < 0)
		return group;
	ret = vfblk_open(b, group);
	return ret ? ret : vfblk_init(b, nq, qsize);
}

int vfblk_write_attr(const char *aggdir, const char *attr, const char *val)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", aggdir, attr);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int vfblk_verify_image(const char *dev, uint64_t base, unsigned int count,
		       unsigned int stride, vfblk_pattern_fn *pattern,
		       uint32_t seed)
{
	int fd = open(dev, O_RDONLY | O_DIRECT);
	int bad = 0;
	uint8_t *buf;

	if (fd < 0)
		return -1;
	if (posix_memalign((void **)&buf, 4096, VFBLK_BLOCK)) {
		close(fd);
		return -1;
	}
	for (unsigned int k = 0; k < count; k++) {
		if (pread(fd, buf, VFBLK_BLOCK, (base + (uint64_t)k * stride) *
			  VFBLK_SECTOR) != VFBLK_BLOCK) {
			bad++;
			continue;
		}
		for (unsigned int i = 0; i < VFBLK_BLOCK; i++) {
			if (buf[i] != pattern(k, i, seed)) {
				bad++;
				break;
			}
		}
	}
	free(buf);
	close(fd);
	return bad;
}

static long long stat_in_line(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), " %s ", key);
	p = strstr(line, pat);
	return p ? atoll(p + strlen(pat)) : -1;
}

long long vfblk_member_stat(const char *aggdir, int idx, const char *key,
			    char *name, size_t name_len)
{
	char path[256], line[512];
	long long v = -1;
	FILE *f;
	int i = 0;

	snprintf(path, sizeof(path), "%s/stats", aggdir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "member ", 7))
			continue;
		if (i++ != idx)
			continue;
		if (name)
			sscanf(line + 7, "%63s", name), name[name_len - 1] = 0;
		v = stat_in_line(line, key);
		break;
	}
	fclose(f);
	return v;
}

long long vfblk_agg_stat(const char *aggdir, const char *key)
{
	char path[256], line[512] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/stats", aggdir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	return stat_in_line(line, key);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfblk: a small userspace virtio-blk driver for a VFIO PCI device (the
 * FusionD aggregate): type1 container, emulated PCI config space, modern
 * virtio-pci structures through region reads/writes, split rings in
 * VFIO-mapped memory, MSI-X through eventfds.
 */
#ifndef VFBLK_H
#define VFBLK_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#define VFBLK_MEM_SIZE		(8u << 20)
#define VFBLK_IOVA		0x10000000ULL
#define VFBLK_QSIZE		64
#define VFBLK_MAX_QUEUES	4
#define VFBLK_SECTOR		512
#define VFBLK_BLOCK		4096	/* bytes per test request */

struct vfblk_queue {
	unsigned int index;
	unsigned int size;
	__u64 ring_iova;
	void *desc;		/* struct vring_desc[size] */
	void *avail;
	void *used;
	uint16_t avail_idx;
	uint16_t last_used;
	uint32_t notify_off;	/* in BAR0 */
	int efd;
	/* per head: 1 while in flight; data buffer of the request */
	uint8_t busy[VFBLK_QSIZE];
	unsigned int nfree;
};

struct vfblk {
	int container, group, dev;
	char devname[64];
	uint64_t cfg_off, bar0_off;
	uint32_t common, isr, device, notify;	/* offsets in BAR0 */
	uint32_t notify_mult;
	uint8_t *mem;			/* VFBLK_MEM_SIZE, mapped at VFBLK_IOVA */
	uint64_t features;
	unsigned int nq;
	int cfg_efd;
	struct vfblk_queue q[VFBLK_MAX_QUEUES];
	uint64_t capacity;		/* sectors */
};

/* Completed request as seen in the used ring. */
struct vfblk_done {
	unsigned int queue;
	uint16_t head;
	uint32_t len;
};

int vfblk_open(struct vfblk *b, int group);
void vfblk_close(struct vfblk *b);
/* Reset + feature negotiation + queues; 0 or -errno. */
int vfblk_init(struct vfblk *b, unsigned int nq, unsigned int qsize);
int vfblk_reset(struct vfblk *b);
uint8_t vfblk_status(struct vfblk *b);

int vfblk_bar_read(struct vfblk *b, uint32_t off, void *buf, size_t len);
int vfblk_bar_write(struct vfblk *b, uint32_t off, const void *buf, size_t len);
int vfblk_cfg_read(struct vfblk *b, uint32_t off, void *buf, size_t len);

/* Memory for request number @slot of queue @q: header, data, status. */
void *vfblk_data(struct vfblk *b, unsigned int q, unsigned int slot);
uint8_t *vfblk_status_byte(struct vfblk *b, unsigned int q, unsigned int slot);

/*
 * Queue a read (@write false) or write of VFBLK_BLOCK bytes at @sector on
 * queue @q using slot @slot (slot < qsize / 3). Returns the head or -errno.
 */
int vfblk_submit(struct vfblk *b, unsigned int q, unsigned int slot,
		 bool write, uint64_t sector);
void vfblk_kick(struct vfblk *b, unsigned int q);
/* Collect up to @max used entries from every queue, waiting up to @ms. */
int vfblk_reap(struct vfblk *b, struct vfblk_done *out, int max, int ms);
/* Raw descriptor access for hostile tests. */
void vfblk_set_desc(struct vfblk *b, unsigned int q, unsigned int i,
		    uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
void vfblk_publish(struct vfblk *b, unsigned int q, uint16_t head);

int vfblk_group_of(const char *aggdir);
/* vfblk_group_of() + vfblk_open() + vfblk_init(); 0 or -errno. */
int vfblk_setup(struct vfblk *b, const char *aggdir, unsigned int nq,
		unsigned int qsize);
/* Write @val to the attribute @attr of an aggregate; 0 or -errno. */
int vfblk_write_attr(const char *aggdir, const char *attr, const char *val);

/* Byte @i of test block @block for a given @seed. */
typedef uint8_t vfblk_pattern_fn(uint64_t block, unsigned int i, uint32_t seed);
/*
 * Read @count blocks of VFBLK_BLOCK bytes from block device @dev with
 * O_DIRECT, block k at sector @base + k * @stride, and compare each with
 * @pattern. Returns the number of bad blocks, or -1 if @dev cannot be read.
 */
int vfblk_verify_image(const char *dev, uint64_t base, unsigned int count,
		       unsigned int stride, vfblk_pattern_fn *pattern,
		       uint32_t seed);
/* Counters of an aggregate: value of "@key" on the "member NAME" line. */
long long vfblk_member_stat(const char *aggdir, int member_idx,
			    const char *key, char *name, size_t name_len);
long long vfblk_agg_stat(const char *aggdir, const char *key);

#endif

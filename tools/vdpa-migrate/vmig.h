/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvmig: what a VMM does to live-migrate a vDPA device served by
 * vdpa_migrate.ko (include/uapi/linux/vdpa_migrate.h): dirty page logging
 * of guest memory driven pre-copy rounds, stop-and-copy, and a stream that
 * carries guest pages, the device state and the VMM's own state from the
 * source to the destination over a socket or a file.
 *
 * The stream is a sequence of messages, each a struct vmig_msg and @len
 * payload bytes.  Nothing in it is host-specific: guest pages are keyed by
 * IOVA, the device state is the kernel's vendor-neutral blob.
 */
#ifndef VMIG_H
#define VMIG_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define VMIG_PAGE_SIZE		4096u
#define VMIG_MAGIC		0x564d4947u	/* "VMIG" */

enum vmig_msg_type {
	VMIG_MSG_HELLO = 1,	/* struct vmig_hello */
	VMIG_MSG_PAGES,		/* @arg = first IOVA, payload = pages */
	VMIG_MSG_STATE,		/* payload = device state blob */
	VMIG_MSG_VMM,		/* payload = the VMM's own state */
	VMIG_MSG_DONE,		/* end of stream; @arg = source's stop time */
};

/**
 * struct vmig_msg - header of one stream message
 * @magic: VMIG_MAGIC
 * @type: enum vmig_msg_type
 * @len: payload bytes
 * @reserved: 0
 * @arg: type-specific
 */
struct vmig_msg {
	__u32 magic;
	__u32 type;
	__u64 len;
	__u64 reserved;
	__u64 arg;
};

/**
 * struct vmig_hello - first message: what the destination must provide
 * @device_id: virtio device ID
 * @nr_vqs: virtqueues
 * @mem_iova: IOVA of guest memory
 * @mem_size: bytes of guest memory
 */
struct vmig_hello {
	__u32 device_id;
	__u32 nr_vqs;
	__u64 mem_iova;
	__u64 mem_size;
};

/**
 * struct vmig_stats - what a migration cost, for the report
 * @rounds: pre-copy rounds (the first full copy included)
 * @pages: pages sent in total
 * @bytes: stream bytes sent
 * @final_pages: pages sent during stop-and-copy
 * @state_bytes: size of the device state
 * @total_ms: first page to DONE
 * @downtime_ms: guest stopped until it runs on the destination (set by
 *	the destination)
 */
struct vmig_stats {
	unsigned int rounds;
	__u64 pages;
	__u64 bytes;
	__u64 final_pages;
	__u64 state_bytes;
	double total_ms;
	double downtime_ms;
};

/* A bitmap of guest pages, one bit per VMIG_PAGE_SIZE page. */
struct vmig_bitmap {
	__u64 *words;
	size_t nbits;
};

int vmig_bitmap_init(struct vmig_bitmap *b, size_t nbits);
void vmig_bitmap_free(struct vmig_bitmap *b);
void vmig_bitmap_mark(struct vmig_bitmap *b, size_t first, size_t count);
size_t vmig_bitmap_weight(const struct vmig_bitmap *b);

/* Stream I/O: 0 or a negative errno. */
int vmig_send(int fd, __u32 type, __u64 arg, const void *data, size_t len,
	      struct vmig_stats *st);
int vmig_recv(int fd, struct vmig_msg *m, void **data, size_t max);

/* Send every page whose bit is set in @dirty, then clear @dirty. */
int vmig_send_pages(int fd, const void *mem, __u64 iova,
		    struct vmig_bitmap *dirty, struct vmig_stats *st);

/* Dirty logging of one address space over one IOVA range. */
int vmig_log_start(int dev_fd, __u32 asid, __u64 iova, __u64 size);
int vmig_log_sync(int dev_fd, __u32 asid, __u64 iova, __u64 size,
		  struct vmig_bitmap *into, __u64 *dirty);
int vmig_log_stop(int dev_fd, __u32 asid);

double vmig_now_ms(void);

#endif /* VMIG_H */

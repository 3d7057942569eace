/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal userspace driver for vhost-vdpa character
 * devices, used by the vdpa_generic selftests.
 *
 * One struct vhc_dev per /dev/vhost-vdpa-N (or /dev/vdpa-mig-N: the same
 * uAPI from vdpa_migrate.ko; see vhc_use()). "Guest memory" is an anonymous
 * mapping of this process, made visible to the device through IOTLB v2
 * messages; every address handed to the device (rings, buffers) is an IOVA
 * inside that window. The client kicks after a batch when the device asks
 * for it: always without EVENT_IDX (unless a packed device disabled
 * notifications), and with it only when the batch reached the device's
 * avail_event (vhc_vq_kick()). Rings are split rings unless
 * VIRTIO_F_RING_PACKED was negotiated. On a split ring
 * without EVENT_IDX the device interrupts for every used entry; with it,
 * the client's used_event asks for the next one whenever it found the
 * used ring empty (vhc_vq_get_used()). On a packed ring the client takes
 * used elements in any order; with EVENT_IDX it asks for an interrupt at
 * the next used descriptor whenever it found none, else for every one.
 *
 * Functions return 0 (or a count) on success and a negative errno on
 * failure; they never exit the process, so tests decide what is fatal.
 */
#ifndef VHOST_CLIENT_H
#define VHOST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <linux/virtio_ring.h>

#define VHC_MAX_VQS		32
#define VHC_NAME_MAX		64

/* Buffers of one chain in an indirect table (vhc_vq_set_indirect()). */
#define VHC_INDIRECT_MAX	4
/* Where guest memory starts in IOVA space, unless the device forbids it. */
#define VHC_IOVA_BASE		0x40000000ULL

/**
 * struct vhc_vq - one virtqueue owned by the client
 * @dev: device the queue belongs to
 * @index: virtqueue index on the device
 * @num: ring size (entries)
 * @packed: a packed ring (VIRTIO_F_RING_PACKED negotiated), else split
 * @desc: split: descriptor table, in guest memory
 * @pdesc: packed: descriptor ring, in guest memory
 * @avail: split: driver ring, in guest memory
 * @driver_event: packed: driver event suppression ("enable", or a
 *	descriptor with EVENT_IDX)
 * @used: split: device ring, in guest memory
 * @device_event: packed: device event suppression
 * @kick_fd: eventfd the client writes to notify the device
 * @call_fd: eventfd the device signals when it used buffers
 * @free_head: split: first descriptor of the free list (chained through
 *	.next); packed: first free buffer ID (chained through @id_next).
 *	Either way the ID the next chain gets.
 * @num_free: free descriptors
 * @avail_idx: split: shadow of avail->idx; packed: next descriptor the
 *	client writes
 * @last_used: split: next used ring entry the client will consume;
 *	packed: next descriptor the device writes a used element to
 * @avail_wrap: packed: wrap counter of @avail_idx
 * @used_wrap: packed: wrap counter of @last_used
 * @id_next: packed: free buffer ID list (malloc'd, @num entries; kept
 *	when the device closes, for vhc_mig_adopt(), freed when the queue
 *	is set up again or adopted over)
 * @id_ndesc: packed: descriptors of the chain of each buffer ID in flight
 * @indirect: NULL, or indirect tables in guest memory (VHC_INDIRECT_MAX
 *	entries per chain ID, @num IDs): every chain added is then one ring
 *	descriptor pointing to its ID's table (vhc_vq_set_indirect())
 * @ready: the queue was fully set up
 * @kicked_idx: @avail_idx at the last vhc_vq_kick() (sent or not) or setup
 * @kicked_wrap: packed: @avail_wrap then
 * @kicks: kicks sent
 * @kicks_saved: kicks left out because the device did not ask for them
 */
struct vhc_vq {
	struct vhc_dev *dev;
	unsigned int index;
	unsigned int num;
	bool packed;
	union {
		struct vring_desc *desc;
		struct vring_packed_desc *pdesc;
	};
	union {
		struct vring_avail *avail;
		struct vring_packed_desc_event *driver_event;
	};
	union {
		struct vring_used *used;
		struct vring_packed_desc_event *device_event;
	};
	int kick_fd;
	int call_fd;
	__u16 free_head;
	__u16 num_free;
	__u16 avail_idx;
	__u16 last_used;
	bool avail_wrap;
	bool used_wrap;
	__u16 *id_next;
	__u16 *id_ndesc;
	void *indirect;
	bool ready;
	__u16 kicked_idx;
	bool kicked_wrap;
	unsigned long kicks;
	unsigned long kicks_saved;
};

/**
 * struct vhc_dev - an open vhost-vdpa device
 * @name: vdpa device name (/sys/bus/vdpa/devices/NAME)
 * @fd: open /dev/vhost-vdpa-N or /dev/vdpa-mig-N
 * @minor: N
 * @device_id: virtio device id (1 net, 2 block, ...)
 * @backend_features: vhost backend features acked
 * @device_features: features offered by the device
 * @features: features the client negotiated
 * @vq_num_max: largest ring size the device accepts
 * @nvqs: number of virtqueues of the device
 * @config_size: size of the device config space
 * @iova_first: lowest usable IOVA
 * @iova_last: highest usable IOVA
 * @mem: guest memory (anonymous mapping), or NULL
 * @mem_size: size of @mem
 * @mem_iova: IOVA of the first byte of @mem
 * @mem_used: bump allocator offset into @mem
 * @mem_mapped: @mem is currently mapped in the device IOTLB
 * @mem_lent: @mem was handed to another device by vhc_mig_adopt(): it is
 *	not unmapped from the process when this device closes
 * @vqs: virtqueues, indexed by virtqueue index
 */
struct vhc_dev {
	char name[VHC_NAME_MAX];
	int fd;
	int minor;
	__u32 device_id;
	__u64 backend_features;
	__u64 device_features;
	__u64 features;
	__u16 vq_num_max;
	__u32 nvqs;
	__u32 config_size;
	__u64 iova_first;
	__u64 iova_last;
	void *mem;
	size_t mem_size;
	__u64 mem_iova;
	size_t mem_used;
	bool mem_mapped;
	bool mem_lent;
	struct vhc_vq vqs[VHC_MAX_VQS];
};

/**
 * struct vhc_buf - one buffer of a descriptor chain
 * @addr: start, inside the device's guest memory
 * @len: length in bytes
 */
struct vhc_buf {
	void *addr;
	__u32 len;
};

/* --- vdpa device management (vdpa tool + sysfs) --- */
bool vhc_mgmtdev_present(const char *mgmtdev);
int vhc_vdpa_add(const char *mgmtdev, const char *name, const char *extra);
int vhc_vdpa_del(const char *name);
int vhc_use(const char *driver);
long long vhc_now_ms(void);
bool vhc_driver_present(const char *driver);
void vhc_node_path(char *buf, size_t len, int minor);
int vhc_bind(const char *name);
int vhc_find_minor(const char *name);
int vhc_sysfs_write(const char *path, const char *val);

/* --- control path --- */
int vhc_open(struct vhc_dev *d, const char *name);
void vhc_close(struct vhc_dev *d);
int vhc_get_status(struct vhc_dev *d, __u8 *status);
int vhc_set_status(struct vhc_dev *d, __u8 status);
int vhc_reset(struct vhc_dev *d);
int vhc_set_features(struct vhc_dev *d, __u64 features);
int vhc_negotiate(struct vhc_dev *d, __u64 wanted);
int vhc_get_config(struct vhc_dev *d, __u32 off, void *buf, __u32 len);
int vhc_driver_ok(struct vhc_dev *d);

/* --- guest memory and IOTLB --- */
int vhc_mem_init(struct vhc_dev *d, size_t size);
void *vhc_alloc(struct vhc_dev *d, size_t size, size_t align);
__u64 vhc_iova(const struct vhc_dev *d, const void *p);
int vhc_iotlb_batch(struct vhc_dev *d, bool begin);
int vhc_iotlb_update(struct vhc_dev *d, __u64 iova, __u64 size,
		     const void *uaddr, __u8 perm);
int vhc_iotlb_invalidate(struct vhc_dev *d, __u64 iova, __u64 size);
int vhc_mem_map(struct vhc_dev *d);
int vhc_mem_unmap(struct vhc_dev *d);

/* --- virtqueues --- */
int vhc_vq_setup(struct vhc_dev *d, unsigned int index, unsigned int num);
int vhc_vq_add(struct vhc_vq *vq, const struct vhc_buf *out,
	       unsigned int n_out, const struct vhc_buf *in,
	       unsigned int n_in);
int vhc_vq_add_raw(struct vhc_vq *vq, __u64 iova, __u32 len, bool write);
int vhc_vq_add_desc(struct vhc_vq *vq, __u64 iova, __u32 len, __u16 flags);
int vhc_vq_set_indirect(struct vhc_vq *vq);
int vhc_vq_kick(struct vhc_vq *vq);
int vhc_vq_wait(struct vhc_vq *vq, int timeout_ms);
int vhc_vq_get_used(struct vhc_vq *vq, __u32 *id, __u32 *len);
int vhc_vq_wait_used(struct vhc_vq *vq, __u32 *id, __u32 *len,
		     int timeout_ms);

/* --- migration (vdpa_migrate's uAPI, include/uapi/linux/vdpa_migrate.h) --- */
struct vdpa_mig_info;
int vhc_mig_info(struct vhc_dev *d, struct vdpa_mig_info *info);
int vhc_mig_set_state(struct vhc_dev *d, __u32 state);
int vhc_mig_save(struct vhc_dev *d, void **blob, size_t *len);
int vhc_mig_load(struct vhc_dev *d, const void *blob, size_t len);
int vhc_mig_adopt(struct vhc_dev *dst, struct vhc_dev *src);
void vhc_mig_detach(struct vhc_dev *d);
void vhc_mig_rebase(struct vhc_dev *d, void *mem);
struct vdpa_mig_log_range;
int vhc_log_start(struct vhc_dev *d, __u32 asid, __u32 shift,
		  const struct vdpa_mig_log_range *r, __u32 nr);
int vhc_log_sync(struct vhc_dev *d, __u32 asid, __u64 iova, __u64 size,
		 __u64 *bitmap, __u64 *dirty);
int vhc_log_stop(struct vhc_dev *d, __u32 asid);

#endif /* VHOST_CLIENT_H */

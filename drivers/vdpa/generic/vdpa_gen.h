/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdpa_gen: the contract between the generic vDPA device core (vdpa_gen.ko)
 * and its thin per-type modules (vdpa_gen_net.ko, vdpa_gen_blk.ko, ...).
 *
 * The core owns everything a virtio device has regardless of its type:
 * the vdpa_config_ops, feature negotiation, status and reset, config space
 * generation, address spaces (one vhost_iotlb each) and the split
 * virtqueues (one vringh each), and the worker that runs a queue when it
 * is kicked.  A type module fills in a struct vdpa_gen_type and handles
 * the buffers of its queues with the vdpa_gen_vq_*() helpers.
 *
 * Lock ordering (outermost first):
 *
 *   vdpa_gen_dev.lock  ->  vdpa_gen_vq.lock  ->  vdpa_gen_dev.iotlb_lock
 *                                            ->  vdpa_gen_dev.cfg_lock
 *
 * A type may take the vq lock of a queue of ANOTHER device while it holds
 * one of its own (the net switch delivers a packet from a TX queue straight
 * into the peer's RX queue).  That is safe because a thread never holds two
 * locks of the same role: TX-side work takes a peer's RX lock, nothing
 * takes a TX lock while holding an RX lock, and control paths only take
 * the vq locks of their own device.  Types must keep to that rule.
 *
 * Dirty logging adds no lock: the data path marks what it wrote in the
 * log of its queue's address space inside an RCU read-side section (see
 * &vdpa_gen_dev.log), which nests inside any of the locks above.
 */
#ifndef _VDPA_GEN_H
#define _VDPA_GEN_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/vdpa.h>
#include <linux/vhost_iotlb.h>
#include <linux/vringh.h>
#include <linux/workqueue.h>
#include <uapi/linux/virtio_config.h>
#include <uapi/linux/virtio_ring.h>

#define VDPA_GEN_VQ_NUM_MAX	1024
/* &vdpa_gen_vq.heads of a position the source used (no split head is). */
#define VDPA_GEN_HEAD_USED	U16_MAX
#define VDPA_GEN_VQ_ALIGN	PAGE_SIZE
#define VDPA_GEN_MAX_AS		2
#define VDPA_GEN_MAX_GROUPS	2

/*
 * Features the core itself implements and offers on every device:
 * VERSION_1, ACCESS_PLATFORM, INDIRECT_DESC and EVENT_IDX.  Packed rings
 * are not offered (vringh handles split rings only).
 */
#define VDPA_GEN_CORE_FEATURES \
	(BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) | \
	 BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) | BIT_ULL(VIRTIO_RING_F_EVENT_IDX))

struct vdpa_gen_dev;
struct vdpa_mig_log;

/**
 * struct vdpa_gen_vq - one virtqueue of a generic device
 * @vring: host view of the split ring; valid while @started
 * @riov: device-readable part of the descriptor chain being handled
 * @wiov: device-writable part of the descriptor chain being handled
 * @lock: serialises the data path of this queue against control paths
 *	(enable, state, reset, suspend) and against peers delivering into it;
 *	protects every field below
 * @work: runs the type's @handle_vq when the driver kicks
 * @dev: owning device
 * @index: queue index
 * @num: queue size set by the driver
 * @desc_addr: IOVA of the descriptor table
 * @driver_addr: IOVA of the available ring
 * @device_addr: IOVA of the used ring
 * @asid: address space @vring translates through (and the device writes
 *	into), set whenever @vring's IOTLB is
 * @ready: the driver enabled the queue
 * @started: @vring is initialised and the device may use the queue
 * @cb: used-buffer notification
 * @avail_base: last_avail_idx to start from (set_vq_state) when started
 * @used_base: last_used_idx to start from when started; equal to
 *	@avail_base unless requests are in flight (a loaded migration state,
 *	chains held at a stop) or were used out of order (holes)
 * @heads: head of the chain taken at each available position, indexed
 *	by position modulo VDPA_GEN_VQ_NUM_MAX, or %VDPA_GEN_HEAD_USED for
 *	a position a loaded state says the source already used (a "hole");
 *	valid from @held_base (while @n_held) or the next position to take,
 *	up to @replay_end (while @n_skip) or the last @n_replay positions
 * @n_held: chains taken and held in flight (vdpa_gen_vq_hold()): every
 *	chain taken from @held_base on, in ring order, holes aside; every
 *	chain taken before them was used
 * @held_base: available position of the oldest held chain
 * @n_replay: chains put back by vdpa_gen_vq_unhold() or loaded as in
 *	flight with a migration state, to be taken again from the next
 *	available position on; each must come back with its recorded head
 * @n_skip: holes still ahead of the next available position, all before
 *	@replay_end: vdpa_gen_vq_get() steps over them without reading them
 * @replay_end: the loaded state's available index, while @n_skip
 * @last_replay: the chain vdpa_gen_vq_get() took last was one of those
 */
struct vdpa_gen_vq {
	struct vringh vring;
	struct vringh_kiov riov;
	struct vringh_kiov wiov;
	struct mutex lock; /* data path vs control; see kernel-doc above */
	struct work_struct work;
	struct vdpa_gen_dev *dev;
	u16 index;
	u32 num;
	u64 desc_addr;
	u64 driver_addr;
	u64 device_addr;
	u32 asid;
	bool ready;
	bool started;
	struct vdpa_callback cb;
	u16 avail_base;
	u16 used_base;
	u16 *heads;
	u16 n_held;
	u16 held_base;
	u16 n_replay;
	u16 n_skip;
	u16 replay_end;
	bool last_replay;
};

struct vdpa_mig_writer;

/**
 * struct vdpa_gen_type - what a per-type module tells the core
 * @device_id: virtio device ID (VIRTIO_ID_NET, VIRTIO_ID_BLOCK, ...)
 * @features: device-type feature bits offered on top of
 *	VDPA_GEN_CORE_FEATURES (already masked by what the admin asked for)
 * @config_size: size of the device-specific config space
 * @ngroups: number of virtqueue groups (1..VDPA_GEN_MAX_GROUPS)
 * @nas: number of address spaces (1..VDPA_GEN_MAX_AS)
 * @get_vq_group: group of queue @idx (optional; all queues in group 0)
 * @handle_vq: called from the core's worker with @vq->lock held when the
 *	queue was kicked and the device is running.  Handles at most a
 *	budget of buffers and returns true if more work is pending (the core
 *	requeues the work).  Must not sleep for long; may take a peer's lock
 *	as described in the lock-ordering comment.
 * @set_features: the driver wrote FEATURES_OK with these features
 *	(optional); return non-zero to refuse them
 * @set_status: status changed from @old to the device's current status
 *	(optional), with &vdpa_gen_dev.lock held
 * @reset: device reset, after the core stopped every queue; reset
 *	type state such as RX mode (optional), with &vdpa_gen_dev.lock held
 * @suspend: the device stopped and no handler runs: make what it completed
 *	visible to a destination sharing its backend, e.g. write back a
 *	file's page cache (optional), with &vdpa_gen_dev.lock held; an
 *	error fails the suspend and the device runs on
 * @set_config: the driver wrote config space (optional; ignored if absent)
 * @release: free type resources when the vdpa device is released (optional)
 * @state_size: upper bound of the bytes @save_state writes (optional)
 * @save_state: append the type's migration records with
 *	vdpa_mig_put_record() while the device is suspended (optional)
 * @load_record: check (@commit false) or apply (@commit true) one
 *	device-type record of a migration state before DRIVER_OK; return
 *	-EOPNOTSUPP for a type it does not know (optional: all unknown).  An
 *	accepted record must apply without failing.
 */
struct vdpa_gen_type {
	u32 device_id;
	u64 features;
	size_t config_size;
	unsigned int ngroups;
	unsigned int nas;
	u32 (*get_vq_group)(struct vdpa_gen_dev *gdev, u16 idx);
	bool (*handle_vq)(struct vdpa_gen_dev *gdev, struct vdpa_gen_vq *vq);
	int (*set_features)(struct vdpa_gen_dev *gdev, u64 features);
	void (*set_status)(struct vdpa_gen_dev *gdev, u8 old);
	void (*reset)(struct vdpa_gen_dev *gdev);
	int (*suspend)(struct vdpa_gen_dev *gdev);
	void (*set_config)(struct vdpa_gen_dev *gdev, unsigned int offset,
			   const void *buf, unsigned int len);
	void (*release)(struct vdpa_gen_dev *gdev);
	size_t (*state_size)(struct vdpa_gen_dev *gdev);
	int (*save_state)(struct vdpa_gen_dev *gdev, struct vdpa_mig_writer *w);
	int (*load_record)(struct vdpa_gen_dev *gdev, u32 type,
			   const void *data, u32 len, bool commit);
};

/**
 * struct vdpa_gen_dev - a generic vDPA device
 * @vdpa: the vdpa device; must stay the first member
 * @type: per-type description
 * @lock: control path: features, status, queue setup, reset, suspend
 * @iotlb_lock: protects @iotlb and @kernel_dma (taken by vringh too)
 * @cfg_lock: protects @config and @generation against concurrent readers
 * @iotlb: one IOVA->PA map per address space
 * @group_asid: address space of each virtqueue group
 * @kernel_dma: the device is driven by an in-kernel driver through the
 *	core's DMA ops: every address space maps IOVA == PA
 * @nvqs: number of virtqueues
 * @vqs: the virtqueues
 * @device_features: features offered
 * @features: features negotiated (valid after FEATURES_OK)
 * @status: virtio device status
 * @suspended: stopped by ->suspend(); cleared by reset
 * @broken: the driver handed us something invalid; NEEDS_RESET is set
 * @config_cb: config-change interrupt
 * @generation: config generation counter
 * @config: device-specific config space, @type->config_size bytes
 * @log: dirty log of each address space, or NULL when not logging.  Set
 *	and cleared under @lock by the vdpa_migrate log_start/log_stop ops;
 *	the data path reads it under rcu_read_lock() and log_stop waits for
 *	those readers (synchronize_rcu()) before the log may be freed.
 */
struct vdpa_gen_dev {
	struct vdpa_device vdpa;
	const struct vdpa_gen_type *type;
	struct mutex lock; /* control path: features, status, vq setup */
	spinlock_t iotlb_lock; /* @iotlb, @kernel_dma, @group_asid */
	spinlock_t cfg_lock; /* @config, @generation, @status, @config_cb */
	struct vhost_iotlb iotlb[VDPA_GEN_MAX_AS];
	u32 group_asid[VDPA_GEN_MAX_GROUPS];
	bool kernel_dma;
	u32 nvqs;
	struct vdpa_gen_vq *vqs;
	u64 device_features;
	u64 features;
	u8 status;
	bool suspended;
	bool broken;
	struct vdpa_callback config_cb;
	u32 generation;
	void *config;
	struct vdpa_mig_log __rcu *log[VDPA_GEN_MAX_AS];
};

static inline struct vdpa_gen_dev *vdpa_to_gen(struct vdpa_device *vdpa)
{
	return container_of(vdpa, struct vdpa_gen_dev, vdpa);
}

/**
 * vdpa_gen_create() - allocate a generic device of a type
 * @type: type description; must outlive the device
 * @parent: parent device (the management device's device)
 * @name: vdpa device name
 * @size: size of the type's device struct, whose first member is a
 *	struct vdpa_gen_dev
 * @nvqs: number of virtqueues
 *
 * The device is allocated, not registered: fill in the config space and
 * type state, set &vdpa_device.mdev, then call _vdpa_register_device().
 * On failure after this returns, drop it with put_device(&gdev->vdpa.dev).
 *
 * Return: the new device or an ERR_PTR().
 */
struct vdpa_gen_dev *vdpa_gen_create(const struct vdpa_gen_type *type,
				     struct device *parent, const char *name,
				     size_t size, u32 nvqs);

/* Data-path helpers, called with vq->lock held from ->handle_vq(). */

/**
 * vdpa_gen_vq_running() - may the device use this queue right now?
 * @vq: queue, lock held
 *
 * Return: true when the driver set DRIVER_OK, enabled the queue, and the
 * device is neither suspended nor broken.
 */
bool vdpa_gen_vq_running(struct vdpa_gen_vq *vq);

/**
 * vdpa_gen_vq_get() - take the next available descriptor chain
 * @vq: queue, lock held
 * @head: returns the chain's head index
 *
 * Fills @vq->riov and @vq->wiov.  A malformed chain (loop, address outside
 * the address space, bad length) marks the device broken (NEEDS_RESET).
 *
 * Return: 1 if a chain was taken, 0 if the ring is empty, negative errno if
 * the device is now broken.
 */
int vdpa_gen_vq_get(struct vdpa_gen_vq *vq, u16 *head);

/**
 * vdpa_gen_vq_pull() - copy from the device-readable part of the chain
 * @vq: queue, lock held
 * @dst: kernel buffer
 * @len: bytes wanted
 *
 * Return: bytes copied (less than @len if the chain is shorter) or a
 * negative errno (device marked broken).
 */
ssize_t vdpa_gen_vq_pull(struct vdpa_gen_vq *vq, void *dst, size_t len);

/**
 * vdpa_gen_vq_push() - copy into the device-writable part of the chain
 * @vq: queue, lock held
 * @src: kernel buffer
 * @len: bytes to write
 *
 * What is written is reported to the dirty log of the queue's address
 * space, if one is active; so are the used ring updates of
 * vdpa_gen_vq_complete().  Types must write driver memory only through
 * these helpers.
 *
 * Return: bytes copied or a negative errno (device marked broken).
 */
ssize_t vdpa_gen_vq_push(struct vdpa_gen_vq *vq, const void *src, size_t len);

/**
 * vdpa_gen_iotlb_read() - read driver memory through a vringh's IOTLB
 * @vrh: vringh set up with vringh_init_iotlb() and vringh_set_iotlb()
 * @iova: where, in the IOTLB's address space (ring fields: the vring
 *	pointers hold IOVAs)
 * @buf: kernel buffer
 * @len: bytes to read
 *
 * Return: 0, or -EFAULT if any byte is not mapped readable.
 */
int vdpa_gen_iotlb_read(struct vringh *vrh, u64 iova, void *buf, size_t len);

/**
 * vdpa_gen_iotlb_write() - write driver memory through a vringh's IOTLB
 * @vrh: as for vdpa_gen_iotlb_read()
 * @iova: where, in the IOTLB's address space
 * @buf: what to write
 * @len: bytes to write
 *
 * Nothing is logged: the caller reports what it wrote to its dirty log.
 *
 * Return: 0, or -EFAULT if any byte is not mapped writable (what comes
 * before that byte may have been written).
 */
int vdpa_gen_iotlb_write(struct vringh *vrh, u64 iova, const void *buf,
			 size_t len);

/**
 * vdpa_gen_vq_put_back() - return the last taken chain to the ring unused
 * @vq: queue, lock held
 */
void vdpa_gen_vq_put_back(struct vdpa_gen_vq *vq);

/**
 * vdpa_gen_vq_hold() - keep the chain just taken in flight
 * @vq: queue, lock held
 * @head: head index vdpa_gen_vq_get() just returned
 *
 * The chain stays taken but is neither handled nor used, like a request
 * a slow disk has not finished: a suspend does not wait for it and the
 * migration state of the queue reports it in flight.  Held chains are
 * always the last ones taken, so once a queue holds one the type must hold
 * every chain it takes (and complete none) until vdpa_gen_vq_unhold().
 * A device reset drops them without using them.
 *
 * Return: 0, or -ENOSPC if the held chains, with the positions a loaded
 * state's source used between them, would span more than the queue's
 * entries: the driver made more available than the ring can have
 * outstanding (or reused a held chain's slot), and the device is now
 * broken.
 */
int vdpa_gen_vq_hold(struct vdpa_gen_vq *vq, u16 head);

/**
 * vdpa_gen_vq_held() - how many chains a queue holds
 * @vq: queue, lock held
 *
 * Return: the number of chains held by vdpa_gen_vq_hold().
 */
static inline u16 vdpa_gen_vq_held(const struct vdpa_gen_vq *vq)
{
	return vq->n_held;
}

/**
 * vdpa_gen_vq_unhold() - give every held chain back to the ring
 * @vq: queue, lock held
 *
 * The next vdpa_gen_vq_get() calls take the held chains again, oldest
 * first, so the type handles and completes each of them once, in order;
 * a chain that comes back with another head breaks the device.  Kick the
 * queue (vdpa_gen_vq_kick()) after dropping the lock.
 */
void vdpa_gen_vq_unhold(struct vdpa_gen_vq *vq);

/**
 * vdpa_gen_held() - chains held by all queues of a device
 * @gdev: device (no lock held)
 *
 * Return: the sum of vdpa_gen_vq_held() over the queues.
 */
u32 vdpa_gen_held(struct vdpa_gen_dev *gdev);

/**
 * vdpa_gen_unhold() - vdpa_gen_vq_unhold() every queue, then kick it
 * @gdev: device (no lock held)
 *
 * A type calls this when it stops holding new chains: the queues handle
 * what they held, in order, as soon as the device runs.
 */
void vdpa_gen_unhold(struct vdpa_gen_dev *gdev);

/**
 * vdpa_gen_vq_complete() - put a chain on the used ring
 * @vq: queue, lock held
 * @head: head index returned by vdpa_gen_vq_get()
 * @len: bytes written into the chain
 */
void vdpa_gen_vq_complete(struct vdpa_gen_vq *vq, u16 head, u32 len);

/**
 * vdpa_gen_vq_notify() - interrupt the driver if it wants to be told
 * @vq: queue, lock held
 *
 * Call once after a batch of completions.
 */
void vdpa_gen_vq_notify(struct vdpa_gen_vq *vq);

/**
 * vdpa_gen_vq_kick() - schedule the queue's handler as if the driver kicked
 * @vq: queue (no lock needed)
 */
void vdpa_gen_vq_kick(struct vdpa_gen_vq *vq);

/**
 * vdpa_gen_fail() - the driver broke the virtio contract
 * @gdev: device
 * @why: short reason, logged rate-limited
 *
 * Sets NEEDS_RESET, stops every queue and raises a config interrupt.  The
 * device does nothing more until the driver resets it.
 */
void vdpa_gen_fail(struct vdpa_gen_dev *gdev, const char *why);

/**
 * vdpa_gen_config_changed() - config space changed under the driver
 * @gdev: device
 *
 * Bumps the generation and raises a config interrupt if DRIVER_OK.
 * Callers update @gdev->config under @gdev->cfg_lock before calling.
 */
void vdpa_gen_config_changed(struct vdpa_gen_dev *gdev);

/**
 * vdpa_gen_has_feature() - was a feature negotiated?
 * @gdev: device
 * @bit: feature bit number
 *
 * Return: true if the driver accepted feature @bit.
 */
static inline bool vdpa_gen_has_feature(const struct vdpa_gen_dev *gdev,
					unsigned int bit)
{
	return gdev->features & BIT_ULL(bit);
}

#endif /* _VDPA_GEN_H */

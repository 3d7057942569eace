/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FusionD: the contract between the framework (fusiond.ko), the member
 * ("slice") drivers (hiaggre_dslice.ko) and the device personalities
 * (hiaggre_virtio.ko).
 *
 * A request (struct fusiond_req) is built by a personality from guest
 * descriptors, carried by exactly one member at a time and completed exactly
 * once. Its segments are pinned guest pages; the framework maps them for the
 * DMA device of whichever member carries the request, so members read and
 * write guest memory directly (zero-copy).
 *
 * Lock ordering: fusiond registry mutex -> aggregate mutex -> aggregate
 * member spinlock -> slice queue spinlock. Completions run in hard irq
 * context and take only the slice queue lock and the aggregate member lock.
 */
#ifndef _LINUX_FUSIOND_H
#define _LINUX_FUSIOND_H

#include <linux/list.h>
#include <linux/types.h>
#include <linux/dma-direction.h>

struct device;
struct module;
struct page;
struct fusiond_agg;
struct fusiond_pin;
struct fusiond_member;
struct fusiond_slice;

/* Page-granular segments of one request (a 1 MiB request spans 257 pages). */
#define FUSIOND_MAX_SEGS	260

/**
 * struct fusiond_seg - one page-bounded piece of a request
 * @iova: guest IOVA of the first byte (the page it lies in is pinned)
 * @pin: the pin holding the page (fusiond_pin_get())
 * @page: the pinned guest page
 * @offset: offset of the first byte in @page
 * @len: length in bytes, never crossing the end of @page
 * @dev_writes: true if the device writes this segment (guest reads)
 * @dma: DMA address for the member currently carrying the request
 */
struct fusiond_seg {
	u64 iova;
	struct fusiond_pin *pin;
	struct page *page;
	u32 offset;
	u32 len;
	bool dev_writes;
	dma_addr_t dma;
};

/**
 * struct fusiond_req - one guest request travelling through the framework
 * @node: list linkage for whoever owns the request at the moment
 * @agg_queue: aggregate (guest) queue the request came from
 * @head: guest descriptor head, for the used ring
 * @nsegs: valid entries in @segs
 * @used_len: bytes the device wrote, valid at completion
 * @status: 0, or -errno when no member could carry the request
 * @member: member carrying it (framework private)
 * @member_queue: queue of @member carrying it (framework private)
 * @mapped: segments are DMA-mapped for @member (framework private)
 * @requeues: times it moved to another member after a failure
 * @slice_id: slot in the carrying slice's queue (slice private)
 * @segs: the segments
 */
struct fusiond_req {
	struct list_head node;
	u16 agg_queue;
	u16 head;
	u16 nsegs;
	u32 used_len;
	int status;
	struct fusiond_member *member;
	u16 member_queue;
	bool mapped;
	u32 requeues;
	u32 slice_id;
	struct fusiond_seg segs[FUSIOND_MAX_SEGS];
};

/**
 * struct fusiond_slice_ops - what a member driver offers the framework
 * @submit: queue @req on queue @queue of the card. Descriptors use
 *	seg->dma. Must not fail for lack of ring space (the slice keeps a
 *	backlog); returns -ENODEV once the card is fenced. With @defer_kick
 *	the card may not be told yet: a @kick follows. Any context.
 *	Mandatory.
 * @kick: tell the card about every request submitted with @defer_kick
 *	since the last kick. Any context. Mandatory.
 * @config_read: read @len bytes of the card's device-specific config at
 *	@offset. Process context. Mandatory.
 * @fence: stop the card for good (reset it, or accept that it is gone),
 *	wait until no completion can run any more, and move every request it
 *	still holds (in flight or backlog) onto @out. After it returns the
 *	card never touches those requests' memory again. Process context.
 *	Mandatory.
 */
struct fusiond_slice_ops {
	int (*submit)(struct fusiond_slice *slice, u16 queue,
		      struct fusiond_req *req, bool defer_kick);
	void (*kick)(struct fusiond_slice *slice);
	void (*config_read)(struct fusiond_slice *slice, unsigned int offset,
			    void *buf, unsigned int len);
	void (*fence)(struct fusiond_slice *slice, struct list_head *out);
};

/**
 * struct fusiond_slice - a member card as the slice driver registers it
 * @name: unique name (the PCI BDF)
 * @dma_dev: device that does the DMA
 * @ops: the slice's operations
 * @virtio_id: virtio device type of the card
 * @features: virtio features negotiated with the card
 * @num_queues: number of data queues set up
 * @queue_size: descriptors per queue
 * @node: registry linkage (framework private)
 * @member: aggregate membership, NULL if free (framework private)
 */
struct fusiond_slice {
	const char *name;
	struct device *dma_dev;
	const struct fusiond_slice_ops *ops;
	u32 virtio_id;
	u64 features;
	u16 num_queues;
	u16 queue_size;
	struct list_head node;
	struct fusiond_member *member;
};

int fusiond_slice_register(struct fusiond_slice *slice);
void fusiond_slice_unregister(struct fusiond_slice *slice);
void fusiond_slice_complete(struct fusiond_slice *slice,
			    struct fusiond_req *req);
void fusiond_slice_failed(struct fusiond_slice *slice);

struct fusiond_personality;

/**
 * struct fusiond_personality - a device type the aggregate can present
 * @type: name used by the control plane ("blk")
 * @virtio_id: virtio device type the members must have
 * @owner: module implementing it
 * @create: allocate the per-aggregate state; called once members are known
 *	and before the VFIO device is registered. Returns a pointer or
 *	ERR_PTR(). Mandatory.
 * @destroy: free it; the device is closed and unregistered. Mandatory.
 * @num_vectors: MSI-X vectors the device exposes. Mandatory.
 * @fill_config: write the capability chain at @cfg[@pos...] of the PCI
 *	config space (256 bytes), return the offset of the first capability.
 *	Also sets @device_id, @class and @bar0_size. Mandatory.
 * @bar_rw: access @len bytes of BAR0 at @offset. Returns 0 or -errno.
 *	Mandatory.
 * @reset: device reset (VFIO_DEVICE_RESET, close): quiesce, every
 *	outstanding request completed and unpinned on return. Mandatory.
 * @complete: a request finished (or failed, see req->status). Any
 *	context. Mandatory.
 * @dma_unmap: the user is unmapping [@iova, @iova + @len): put the pins
 *	of requests that use it before returning, or make sure they finish
 *	soon; the framework then waits for the last pins of the range and
 *	drops its cached ones. Mandatory.
 */
struct fusiond_personality {
	const char *type;
	u32 virtio_id;
	struct module *owner;
	void *(*create)(struct fusiond_personality *p, struct fusiond_agg *agg);
	void (*destroy)(void *priv);
	unsigned int (*num_vectors)(void *priv);
	u8 (*fill_config)(void *priv, u8 *cfg, u8 pos, u16 *device_id,
			  u32 *class, u32 *bar0_size);
	int (*bar_rw)(void *priv, unsigned int offset, void *buf,
		      unsigned int len, bool write);
	void (*reset)(void *priv);
	void (*complete)(void *priv, struct fusiond_req *req);
	void (*dma_unmap)(void *priv, u64 iova, u64 len);
};

int fusiond_personality_register(struct fusiond_personality *p);
void fusiond_personality_unregister(struct fusiond_personality *p);

/* Services of the framework to a personality. */
int fusiond_submit(struct fusiond_agg *agg, struct fusiond_req *req);
int fusiond_queue(struct fusiond_agg *agg, struct fusiond_req *req);
void fusiond_kick(struct fusiond_agg *agg);
unsigned int fusiond_num_queues(struct fusiond_agg *agg);
const char *fusiond_agg_name(struct fusiond_agg *agg);
u64 fusiond_member_features(struct fusiond_agg *agg);
u16 fusiond_max_descriptors(struct fusiond_agg *agg);
int fusiond_member_config_read(struct fusiond_agg *agg, unsigned int offset,
			       void *buf, unsigned int len);
int fusiond_dma_rw(struct fusiond_agg *agg, u64 iova, void *buf, size_t len,
		   bool write);
struct fusiond_pin *fusiond_pin_get(struct fusiond_agg *agg, u64 iova,
				    bool write, struct page **page);
void fusiond_pin_put(struct fusiond_agg *agg, struct fusiond_pin *pin);
void fusiond_signal(struct fusiond_agg *agg, unsigned int vector);

#endif /* _LINUX_FUSIOND_H */

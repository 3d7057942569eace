/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdpa_gen_pci: what the glue (pci.c: management device, vdpa_config_ops,
 * IOMMU domain) and the shadow virtqueues (pci_shadow.c) share.  See
 * Documentation/vdpa/generic-pci.rst.
 *
 * Lock ordering (outermost first):
 *
 *   gpci_dev.shadow_lock  ->  gpci_dev.map_lock  ->  gpci_dev.iotlb_lock
 *                                                ->  gpci_vq.cb_lock
 *
 * Dirty logging adds no lock: the shadow worker marks what the card and
 * the worker wrote inside an RCU read-side section (&gpci_dev.log).
 */
#ifndef _VDPA_GEN_PCI_H
#define _VDPA_GEN_PCI_H

#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/vdpa.h>
#include <linux/vhost_iotlb.h>
#include <linux/virtio_pci_modern.h>
#include <linux/vringh.h>
#include <linux/workqueue.h>

#include "hold.h"

/* IOVAs at the top of the domain, for the shadow-virtqueue mode's rings. */
#define GPCI_SHADOW_IOVA_SIZE	SZ_64M
/* Map entries a user-space driver may create. */
#define GPCI_IOTLB_LIMIT	65536
/* Largest queue size offered (the vDPA bus asks once per device). */
#define GPCI_VQ_NUM_MAX		1024U
#define GPCI_RESET_TIMEOUT_MS	1000
#define GPCI_CONFIG_VECTOR	0

struct gpci_mgmt;
struct vdpa_gen_net_ctrl;
struct vdpa_mig_inflight;
struct vdpa_mig_log;

/**
 * struct gpci_pk - the driver's packed ring, as the relay sees it
 *	(pci_packed.c).  Chains go back to the driver in the order it made
 *	them available, so that every chain still in flight keeps its
 *	descriptors in the driver's ring (a used element overwrites the
 *	first descriptor of the chain it returns): a migration destination
 *	reads them again from there.
 * @avail: next descriptor the relay reads
 * @avail_wrap: wrap counter of @avail
 * @used: next descriptor a used element goes to: the first of the oldest
 *	chain in flight
 * @used_wrap: wrap counter of @used
 * @id: buffer ID of the chain that starts at each descriptor
 * @ndesc: descriptors that chain takes in the driver's ring
 * @len: bytes the card wrote to that chain, once it used it
 * @state: %GPCI_PK_BUSY or %GPCI_PK_DONE for the first descriptor of each
 *	chain between @used and @avail, %GPCI_PK_FREE elsewhere
 * @id_busy: buffer IDs in flight (a driver must not reuse one before it
 *	comes back)
 */
struct gpci_pk {
	u16 avail;
	bool avail_wrap;
	u16 used;
	bool used_wrap;
	u16 *id;
	u16 *ndesc;
	u32 *len;
	u8 *state;
	unsigned long *id_busy;
};

#define GPCI_PK_FREE	0
#define GPCI_PK_BUSY	1	/* relayed, the card holds it */
#define GPCI_PK_DONE	2	/* used by the card, waits for older chains */
/* A packed ring position: descriptor index, wrap counter in this bit. */
#define GPCI_PK_WRAP	0x8000

/**
 * struct gpci_ringmap - the driver's split ring mapped into the kernel
 *	(pci_ring.c)
 * @desc: descriptor table, or NULL: vringh's IOTLB accessors instead
 * @avail: available ring (with used_event)
 * @used: used ring (with avail_event)
 * @tried: a mapping was attempted at @gen
 * @gen: &gpci_dev.map_gen at that attempt (a failed one is tried again
 *	only after the IOTLB changed)
 */
struct gpci_ringmap {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	bool tried;
	int gen;
};

/**
 * struct gpci_svq - the shadow side of one queue (pci_shadow.c)
 * @vrh: the driver's split ring, read and written through the IOTLB mirror
 *	(a packed ring: only its size, IOTLB and areas are used)
 * @map: the same split ring mapped into the kernel, for the relay's hot
 *	path (pci_ring.c)
 * @packed: the driver's ring is packed (@pk), not split
 * @pk: packed ring state
 * @riov: readable part of the chain being relayed (driver IOVAs)
 * @wiov: writable part of the chain being relayed (driver IOVAs)
 * @ring: the card's split ring, our memory (desc, avail, used)
 * @ring_size: bytes of @ring (whole pages)
 * @ring_iova: where @ring is mapped in the device's domain (reserved window)
 * @desc: descriptor table in @ring
 * @avail: available ring in @ring
 * @used: used ring in @ring
 * @head: driver head (packed: buffer ID) of each busy shadow head,
 *	%GPCI_SVQ_FREE otherwise
 * @pos: driver available position (packed: descriptor index) each busy
 *	shadow head was read from
 * @free_head: first free shadow descriptor (chained through .next)
 * @num_free: free shadow descriptors
 * @avail_idx: next available index we publish to the card
 * @last_used: next used index of the card we read
 * @active: the queue runs on the shadow ring
 * @load: a migration state to start from (set_vq_mig_state), or NULL:
 *	positions, then @load_n in-flight requests oldest first
 * @load_n: entries of @load's in-flight list
 * @load_avail: next available position to read, from the state (packed:
 *	descriptor index, wrap counter in bit 15)
 * @load_used: the driver's used index, from the state (packed: as
 *	@load_avail)
 * @load_packed: the state is a packed ring's (checked against the ring
 *	again when it is replayed: the driver may set another size or
 *	format between the load and DRIVER_OK)
 * @cmd: net control queue only: the command each busy shadow head carries
 *	(its device-readable bytes, kmalloc'd), or NULL
 * @cmd_len: bytes of each @cmd
 * @relay: relayed while the device runs in direct mode (the net control
 *	queue of a user-space driver, and data queues on their way back to
 *	the driver's ring); also read locklessly by kick_vq and the
 *	interrupt handlers
 * @lock: the fast path's: held by whoever relays or completes while
 *	@fast, and to change @fast
 * @fast: kick_vq relays and the queue's interrupt handler completes
 *	(pci_shadow.c, "the fast path"); set only by the worker, cleared by
 *	every other holder of &gpci_dev.shadow_lock (gpci_shadow_lock())
 * @stat_relayed: chains relayed to the card since dev_add
 * @stat_completed: chains the card used since dev_add
 * @stat_fast: kicks and interrupts done on the fast path since dev_add
 * @stat_worker: runs of the worker for this queue since dev_add
 *
 * Everything is protected by &gpci_dev.shadow_lock, except while @fast:
 * then the positions, both rings, the free list and the counters are
 * @lock's.  The counters are read without either (vendor statistics).
 */
struct gpci_svq {
	struct vringh vrh;
	struct gpci_ringmap map;
	bool packed;
	struct gpci_pk pk;
	struct vringh_kiov riov;
	struct vringh_kiov wiov;
	void *ring;
	size_t ring_size;
	u64 ring_iova;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	u16 *head;
	u16 *pos;
	u16 free_head;
	u16 num_free;
	u16 avail_idx;
	u16 last_used;
	bool active;
	struct vdpa_mig_inflight *load;
	u32 load_n;
	u16 load_avail;
	u16 load_used;
	bool load_packed;
	u8 **cmd;
	u16 *cmd_len;
	bool relay;
	spinlock_t lock; /* the fast path's: rings, positions, @fast */
	bool fast;
	u64 stat_relayed;
	u64 stat_completed;
	u64 stat_fast;
	u64 stat_worker;
};

#define GPCI_SVQ_FREE	0xffff

/**
 * struct gpci_vq - one virtqueue of the function
 * @dev: owning device
 * @notify: mapped doorbell
 * @notify_pa: physical address of the doorbell (for get_vq_notification)
 * @cb_lock: protects @cb against the interrupt handler
 * @cb: the driver's used-buffer callback
 * @irq: Linux IRQ of the queue's own vector, or -1 when queues share one
 * @enabled: the queue was enabled since the last reset, so the card may
 *	have moved past the initial ring position
 * @num: queue size the driver set (0: none since the reset)
 * @desc_area: driver's descriptor area (IOVA or DMA address)
 * @driver_area: driver's available ring
 * @device_area: driver's used ring
 * @todo: bit %GPCI_VQ_TODO: the shadow worker has chains or completions
 *	of this queue to relay (set by kick_vq and the interrupt handlers,
 *	atomic)
 * @svq: shadow state
 */
struct gpci_vq {
	struct gpci_dev *dev;
	void __iomem *notify;
	resource_size_t notify_pa;
	spinlock_t cb_lock; /* @cb vs the interrupt handler */
	struct vdpa_callback cb;
	int irq;
	bool enabled;
	u16 num;
	u64 desc_area;
	u64 driver_area;
	u64 device_area;
	unsigned long todo;
	struct gpci_svq svq;
};

#define GPCI_VQ_TODO	0

/**
 * struct gpci_dev - the vDPA device of a function (at most one)
 * @vdpa: the vDPA device, vdpa_gen.ko's (hold.h): it outlives this module
 *	when the module is replaced under an in-kernel driver
 * @gm: management device (the function)
 * @device_features: features offered: the card's, minus the hidden ones,
 *	restricted to what `vdpa dev add ... device_features` asked for
 * @driver_features: features the driver wrote last (what the card got
 *	may have ACCESS_PLATFORM added)
 * @card_features: features the card was given last: the driver's (with
 *	ACCESS_PLATFORM); on shadow rings without RING_PACKED and with
 *	RING_RESET if the card offers it (written under @shadow_lock or
 *	while no queue runs)
 * @nvqs: queues of the card
 * @vq_num_max: largest queue size every queue of the card takes
 * @vqs: the queues
 * @nvec: MSI-X vectors allocated (0: none)
 * @config_irq: Linux IRQ of the config vector (0), or -1
 * @shared_irq: Linux IRQ of vector 1 when every queue uses it, or -1 when
 *	each queue has a vector of its own (&gpci_vq.irq)
 * @config_lock: protects @config_cb against the interrupt handler
 * @config_cb: the driver's config-change callback
 * @map_lock: protects @domain, @attached and changes of @iotlb
 * @iotlb_lock: protects @iotlb against the shadow rings' readers (vringh)
 * @domain: IOMMU domain for user-space drivers, NULL without an IOMMU
 * @attached: @domain is attached to the function
 * @iotlb: mirror of what @domain maps (IOVA -> PA, permissions)
 * @map_gen: bumped by every dma_map and dma_unmap (atomic): a shadow
 *	queue whose ring could not be mapped into the kernel tries again
 *	after a change (&gpci_svq.map)
 * @domain_later: adopted under a running driver (gpci_adopt()): @domain
 *	is set up at the first reset
 * @drv_gen: bumped by every op that changes what gpci_snapshot() reads
 *	(atomic): a module unload that raced with one takes it again
 * @iova_range: IOVAs a driver may map
 * @resv: the function's IOMMU reserved regions (MSI window, RMRRs...),
 *	copies owned by us: never mapped for a driver
 * @cfg_written: config bytes the driver wrote since the reset, replayed
 *	when the card is reset to switch to shadow rings (NULL: none)
 * @cfg_mask: bit per byte of @cfg_written that was written
 * @shadow_lock: serialises the shadow mode's switch, worker and teardown
 *	with each other and with reset; protects the fields below and every
 *	&gpci_vq.svq
 * @shadow: the queues run on shadow rings (also read locklessly by the
 *	interrupt handlers and kick_vq, written under @shadow_lock).  When
 *	the first one goes back to the driver's ring, the others become
 *	relayed queues of direct mode (&gpci_svq.relay) and this is cleared
 * @shadow_pending: switch to shadow rings when the driver sets DRIVER_OK
 * @switching: the card is being quiesced: kicks are not forwarded
 * @suspended: suspended by the bus driver: nothing is relayed and the card
 *	is reset; what it held is in flight until resume or reset.  Also set
 *	for the driver's reset, from before the card's until the shadow
 *	state is gone (gpci_shadow_disarm())
 * @status: the status the driver sees while @shadow (the card's is ours)
 * @shadow_work: relays chains and completions of the queues marked
 *	%GPCI_VQ_TODO
 * @switches: switches into shadow mode since the device was added
 * @backs: queues that went back to the driver's ring since the device was
 *	added
 * @log: dirty log of address space 0, or NULL; published under
 *	@shadow_lock, read by the worker under rcu_read_lock()
 * @netc: net cards: what the driver set through the control queue and the
 *	card acknowledged, replayed whenever the card is reset under a
 *	running driver (pci_type.c); NULL for other types
 * @netc_lost: the card acknowledged a command @netc does not model, or
 *	commands went to the card unseen: @netc is not the card's state
 * @netc_loaded: @netc came from a migration state and was not replayed
 *	yet: the device must start on shadow rings
 * @cvq_page: a page of ours for control commands, or NULL: its first half
 *	for our replayed commands, its second for the driver command the
 *	card is working on (the card reads a copy, not driver memory)
 * @cvq_bounce: shadow head of the driver command in @cvq_page, or
 *	GPCI_SVQ_FREE
 * @cvq_ack_iova: where that command's ack goes in driver memory
 *
 * @netc, @netc_lost, @netc_loaded, @cvq_page, @cvq_bounce and
 * @cvq_ack_iova are protected by @shadow_lock.
 */
struct gpci_dev {
	struct vdpa_device *vdpa;
	struct gpci_mgmt *gm;
	u64 device_features;
	u64 driver_features;
	u64 card_features;
	u16 nvqs;
	u16 vq_num_max;
	struct gpci_vq *vqs;
	int nvec;
	int config_irq;
	int shared_irq;
	spinlock_t config_lock; /* @config_cb vs the interrupt handler */
	struct vdpa_callback config_cb;
	struct mutex map_lock; /* @domain, @attached, @iotlb changes */
	spinlock_t iotlb_lock; /* @iotlb vs vringh of the shadow rings */
	struct iommu_domain *domain;
	bool attached;
	struct vhost_iotlb *iotlb;
	atomic_t map_gen;
	bool domain_later;
	atomic_t drv_gen;
	struct vdpa_iova_range iova_range;
	struct list_head resv;
	u8 *cfg_written;
	unsigned long *cfg_mask;
	struct mutex shadow_lock; /* switch, worker, reset; svq state */
	bool shadow;
	bool shadow_pending;
	bool switching;
	bool suspended;
	u8 status;
	struct work_struct shadow_work;
	unsigned long switches;
	unsigned long backs;
	struct vdpa_mig_log __rcu *log;
	struct vdpa_gen_net_ctrl *netc;
	bool netc_lost;
	bool netc_loaded;
	u8 *cvq_page;
	u16 cvq_bounce;
	u64 cvq_ack_iova;
};

/**
 * struct gpci_mgmt - management device of one admin-bound function
 * @mgmt: vdpa management device
 * @mdev: the card, seen through the modern virtio-pci helpers
 * @pdev: the function
 * @ids: @mgmt's class: the card's device ID, zero-terminated
 * @config_size: bytes of device config space the vDPA device shows
 * @lock: protects @gdev, @unloading, @parked and @held_card: dev_add and
 *	dev_del (the vdpa core calls them under its device lock, which is
 *	taken first) against the adoption of a held device at probe
 * @gdev: the vDPA device, or NULL
 * @unloading: the module is going (and hold_on_unload): dev_del holds the
 *	device instead of deleting it, if gpci_holdable()
 * @parked: dev_del held the device: the function stays enabled
 * @held_card: a held device runs the card and was not adopted (yet, or
 *	the adoption failed and the probe unwinds): no dev_add
 */
struct gpci_mgmt {
	struct vdpa_mgmt_dev mgmt;
	struct virtio_pci_modern_device mdev;
	struct pci_dev *pdev;
	struct virtio_device_id ids[2];
	size_t config_size;
	struct mutex lock; /* @gdev, @unloading, @parked, @held_card */
	struct gpci_dev *gdev;
	bool unloading;
	bool parked;
	bool held_card;
};

/* Only while attached: the forwarders call our ops with it set. */
static inline struct gpci_dev *to_gpci(struct vdpa_device *vdpa)
{
	return vdpa_gen_hold_priv(vdpa);
}

static inline struct virtio_pci_modern_device *gpci_card(struct gpci_dev *gd)
{
	return &gd->gm->mdev;
}

/*
 * Lockless, for kick_vq and the interrupt handlers: whether queue @vq's
 * kicks and interrupts are the shadow worker's.  A queue going back to the
 * driver's ring is marked relayed before the device stops being shadowed
 * (gpci_svq_back()), so that no reader sees neither.
 */
static inline bool gpci_vq_relayed(struct gpci_dev *gd, struct gpci_vq *vq)
{
	if (READ_ONCE(gd->shadow))
		return true;
	/* Pairs with the smp_wmb() of gpci_svq_back(). */
	smp_rmb();
	return READ_ONCE(vq->svq.relay);
}

/* pci.c */
int gpci_card_reset(struct gpci_dev *gd);
void gpci_read_config(struct gpci_dev *gd, unsigned int offset, void *buf,
		      unsigned int len);
void gpci_run_cb(spinlock_t *lock, const struct vdpa_callback *cbp);
u16 gpci_vq_vector(struct gpci_dev *gd, u16 idx);
u64 gpci_card_driver_features(struct gpci_dev *gd, u64 features);
bool gpci_user_driver(struct gpci_dev *gd);

/* pci_shadow.c */
void gpci_log(struct gpci_dev *gd, u64 iova, u64 len);
void gpci_shadow_init(struct gpci_dev *gd);
int gpci_cvq_relay_start(struct gpci_dev *gd, u16 idx);
int gpci_cvq_send(struct gpci_dev *gd, const void *cmd, size_t len);
int gpci_shadow_start(struct gpci_dev *gd, u8 status);
void gpci_shadow_disarm(struct gpci_dev *gd);
void gpci_shadow_stop(struct gpci_dev *gd);
void gpci_shadow_lock(struct gpci_dev *gd);
void gpci_shadow_kick(struct gpci_dev *gd, u16 idx);
bool gpci_shadow_fast_kick(struct gpci_dev *gd, u16 idx);
bool gpci_shadow_fast_irq(struct gpci_dev *gd, u16 idx);
void gpci_shadow_kick_all(struct gpci_dev *gd);
int gpci_shadow_vq_state(struct gpci_dev *gd, u16 idx,
			 struct vdpa_vq_state *state);
int gpci_suspend(struct vdpa_device *vdpa);
bool gpci_shadow_wanted(struct gpci_dev *gd);
extern const struct vdpa_migrate_ops gpci_mig_ops;

/* pci_ring.c */
/* Empty @s's riov and wiov for the next chain read into them. */
static inline void gpci_svq_iov_reset(struct gpci_svq *s)
{
	s->riov.i = 0;
	s->riov.used = 0;
	s->riov.consumed = 0;
	s->wiov.i = 0;
	s->wiov.used = 0;
	s->wiov.consumed = 0;
}

void gpci_ring_unmap(struct gpci_svq *s);
void gpci_ring_unmap_range(struct gpci_dev *gd, u64 first, u64 last);
int gpci_ring_getdesc(struct gpci_dev *gd, struct gpci_svq *s, u16 *head,
		      bool atomic);
bool gpci_ring_notify_enable(struct gpci_dev *gd, struct gpci_svq *s);
void gpci_ring_notify_disable(struct gpci_dev *gd, struct gpci_svq *s);
int gpci_ring_need_notify(struct gpci_dev *gd, struct gpci_svq *s);
int gpci_ring_complete(struct gpci_dev *gd, struct gpci_svq *s, u16 head,
		       u32 len);

/* pci_packed.c */
int gpci_pk_alloc(struct gpci_svq *s);
void gpci_pk_free(struct gpci_svq *s);
void gpci_pk_reset(struct gpci_svq *s, u16 avail, u16 used);
u16 gpci_pk_dist(u16 num, u16 from, bool from_wrap, u16 to, bool to_wrap);
int gpci_pk_read(struct gpci_dev *gd, struct gpci_svq *s, u16 *id,
		 u16 *ndesc);
void gpci_pk_taken(struct gpci_svq *s, u16 id, u16 ndesc);
int gpci_pk_used(struct gpci_svq *s, u16 pos, u32 len);
int gpci_pk_deliver(struct gpci_dev *gd, struct gpci_svq *s, bool *notify);
int gpci_pk_start(struct gpci_dev *gd, struct gpci_svq *s);

/* pci_type.c */
struct vdpa_mig_writer;
size_t gpci_type_state_size(struct vdpa_device *vdpa);
int gpci_save_type_state(struct vdpa_device *vdpa, struct vdpa_mig_writer *w);
int gpci_load_type_record(struct vdpa_device *vdpa, u32 type,
			  const void *data, u32 len, bool commit);
int gpci_net_init(struct gpci_dev *gd);
void gpci_net_reset(struct gpci_dev *gd);
int gpci_cvq_index(struct gpci_dev *gd);
void gpci_net_track(struct gpci_dev *gd, const u8 *cmd, size_t len);
int gpci_net_replay(struct gpci_dev *gd);

#endif /* _VDPA_GEN_PCI_H */

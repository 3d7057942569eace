/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private contract between the FusionD core (core.c), its control plane
 * (configfs.c) and its VFIO front end (vfio.c), all in fusiond.ko.
 */
#ifndef _FUSIOND_CORE_H
#define _FUSIOND_CORE_H

#include <linux/atomic.h>
#include <linux/configfs.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#include <linux/fusiond.h>

#define FUSIOND_MAX_QUEUES	4
#define FUSIOND_MAX_MEMBERS	8

enum fusiond_mode {
	FUSIOND_MODE_AA,	/* all members carry I/O, least outstanding wins */
	FUSIOND_MODE_AP,	/* one active member, the others stand by */
};

struct fusiond_member {
	struct fusiond_agg *agg;
	struct fusiond_slice *slice;
	struct list_head node;		/* agg->members, under agg->rwsem */
	bool failed;			/* no new I/O; under agg->rwsem */
	bool fenced;			/* card reset or gone; under agg->lock */
	atomic_t outstanding;
	atomic64_t submitted;
	atomic64_t completed;
	atomic64_t requeued;		/* moved to another member */
	atomic64_t bytes;
	atomic64_t q_submitted[FUSIOND_MAX_QUEUES];
};

struct fusiond_vdev;
struct vfio_device;

/* Longest aggregate name (configfs directory) configfs.c accepts. */
#define FUSIOND_NAME_MAX	31

struct fusiond_agg {
	struct config_group group;
	char name[FUSIOND_NAME_MAX + 1];	/* for logs, set at creation */
	/*
	 * Control path: type, mode, enable state, membership changes and
	 * failure handling; taken before @rwsem.
	 */
	struct mutex lock;
	/*
	 * Data path vs membership: submitters hold it for reading while they
	 * choose a member and hand it the request; marking a member failed or
	 * changing the list takes it for writing.
	 */
	struct rw_semaphore rwsem;
	struct list_head members;	/* under @rwsem (write) and @lock */
	struct fusiond_member *active;	/* AP: the one carrying I/O; @rwsem */
	/* AA: member picked last, a tie-break hint (READ_ONCE/WRITE_ONCE). */
	struct fusiond_member *last_pick;
	unsigned int nr_members;	/* under @lock */
	enum fusiond_mode mode;		/* under @lock */
	u16 num_queues;			/* under @lock */
	/* Descriptors per request promised to the guest; set at enable. */
	u16 max_descs;
	struct fusiond_personality *pers;	/* under @lock */
	void *ppriv;			/* personality state while enabled */
	struct fusiond_vdev *vdev;	/* VFIO front end while enabled */
	wait_queue_head_t drain_wq;	/* a member's outstanding reached 0 */
	atomic64_t q_submitted[FUSIOND_MAX_QUEUES];
	atomic64_t q_completed[FUSIOND_MAX_QUEUES];
	atomic64_t requeued;
	atomic64_t failed_reqs;		/* completed with an error */
	atomic_t failovers;
	/*
	 * Failover timing (ktime ns): @failover_start is set when a member
	 * is found failed and cleared by the next completion from a healthy
	 * member, which stores the time in between in @failover_ns.
	 */
	atomic64_t failover_start;
	atomic64_t failover_ns;
};

static inline struct fusiond_agg *to_fusiond_agg(struct config_item *item)
{
	return container_of(to_config_group(item), struct fusiond_agg, group);
}

/* core.c */
struct fusiond_agg *fusiond_agg_alloc(const char *name);
void fusiond_agg_free(struct fusiond_agg *agg);
int fusiond_agg_set_type(struct fusiond_agg *agg, const char *type);
int fusiond_agg_set_mode(struct fusiond_agg *agg, const char *mode);
int fusiond_agg_set_queues(struct fusiond_agg *agg, unsigned int n);
int fusiond_agg_add_member(struct fusiond_agg *agg, const char *name);
int fusiond_agg_remove_member(struct fusiond_agg *agg, const char *name);
int fusiond_agg_enable(struct fusiond_agg *agg);
int fusiond_agg_disable(struct fusiond_agg *agg, bool force);
ssize_t fusiond_agg_show(struct fusiond_agg *agg, char *buf);
ssize_t fusiond_agg_show_members(struct fusiond_agg *agg, char *buf);
const char *fusiond_mode_name(enum fusiond_mode mode);

/**
 * struct fusiond_pins - the guest pages an aggregate keeps pinned (pins.c)
 * @vdev: the VFIO device the pins are made through
 * @drop_lock: serializes fusiond_pins_drop() calls
 * @lock: changes of @pins and the counts and range below
 * @pins: page number -> struct fusiond_pin, every live pin; RCU lookups
 * @cached: pins retained while idle
 * @max: most pins retained (module parameter pin_cache_pages at create)
 * @dropping: pins no longer in @pins whose unpin is still to come
 * @block_start: start of a range being unmapped (no new pins in it)
 * @block_end: its end, exclusive; equal to @block_start when none
 * @drop_wq: @dropping reached 0
 * @hits: pins found in @pins
 * @misses: pins made through VFIO
 */
struct fusiond_pins {
	struct vfio_device *vdev;
	struct mutex drop_lock;		/* see above */
	struct mutex lock;		/* see above */
	struct xarray pins;
	unsigned long cached;
	unsigned long max;
	unsigned long dropping;
	u64 block_start;
	u64 block_end;
	wait_queue_head_t drop_wq;
	atomic64_t hits;
	atomic64_t misses;
};

/* pins.c */
void fusiond_pins_init(struct fusiond_pins *pc, struct vfio_device *vdev);
void fusiond_pins_drop(struct fusiond_pins *pc, u64 iova, u64 len);
ssize_t fusiond_pins_show(struct fusiond_pins *pc, char *buf, ssize_t at);

/* vfio.c */
struct fusiond_pins *fusiond_vfio_pins(struct fusiond_agg *agg);
int fusiond_vfio_create(struct fusiond_agg *agg);
/* Returns -EBUSY if the device is open and !@force. */
int fusiond_vfio_destroy(struct fusiond_agg *agg, bool force);
int fusiond_vfio_group_id(struct fusiond_agg *agg);
bool fusiond_vfio_is_open(struct fusiond_agg *agg);
int fusiond_vfio_init(void);
void fusiond_vfio_exit(void);

/* configfs.c */
int fusiond_configfs_init(void);
void fusiond_configfs_exit(void);

#endif /* _FUSIOND_CORE_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdpa_migrate: internal contract between main.c (bus driver, character
 * device), ioctl.c (one helper per ioctl) and iotlb.c (IOTLB messages,
 * pinning, parent DMA maps).
 *
 * Locking: &vdpa_mig.vdev.mutex (the vhost core's device mutex) serialises
 * every ioctl except VHOST_SET_BACKEND_FEATURES (the vhost core takes the
 * mutex itself there) and every IOTLB message, and protects all mutable
 * fields of struct vdpa_mig.  The vhost core nests its per-virtqueue
 * mutexes inside it.  Kick eventfds reach the parent from the eventfd
 * wakeup (atomic context) without any of our locks; the parent's kick_vq
 * must cope with that, as with the kernel's vhost_vdpa.
 */
#ifndef _VDPA_MIG_H
#define _VDPA_MIG_H

#include <linux/cdev.h>
#include <linux/completion.h>
#include <linux/device.h>
#include <linux/vdpa.h>
#include <linux/vdpa_migrate.h>
#include <linux/vhost_iotlb.h>

#include "vhost.h"

/* Groups whose address space a saved state records (the uAPI's limit). */
#define VDPA_MIG_MAX_GROUPS	8

/**
 * struct vdpa_mig - one vdpa device bound to this driver
 * @vdev: vhost core state (owner, virtqueues, IOTLB message plumbing)
 * @vqs: vhost virtqueues, @nvqs of them
 * @vdpa: the vdpa device
 * @mig_ops: parent's optional migration operations, or NULL
 * @dev: the character device's struct device ("vdpa-mig-N")
 * @cdev: the character device
 * @minor: N
 * @nvqs: number of virtqueues of @vdpa
 * @opened: 1 while a file is open (one opener at a time)
 * @closed: completed whenever the file is released
 * @as: one IOTLB (IOVA -> pinned PA) per address space, @vdpa->nas of them
 * @range: usable IOVA range, from the parent
 * @config_ctx: eventfd for config interrupts, or NULL
 * @in_batch: between IOTLB BATCH_BEGIN and BATCH_END
 * @batch_asid: address space of the open batch
 * @mig_state: VDPA_MIG_STATE_*; RUNNING after open and after every reset
 * @loaded: RESUMING only: a device state was loaded
 * @load_status: RESUMING only: the status the loaded device starts with
 * @group_asid: address space of each virtqueue group, as set through
 *	VHOST_VDPA_SET_GROUP_ASID or a loaded state (for saving)
 * @logs: dirty log of each address space being logged, or NULL; @vdpa->nas
 *	entries
 */
struct vdpa_mig {
	struct vhost_dev vdev;
	struct vhost_virtqueue *vqs;
	struct vdpa_device *vdpa;
	const struct vdpa_migrate_ops *mig_ops;
	struct device dev;
	struct cdev cdev;
	int minor;
	u32 nvqs;
	atomic_t opened;
	struct completion closed;
	struct vhost_iotlb *as;
	struct vdpa_iova_range range;
	struct eventfd_ctx *config_ctx;
	bool in_batch;
	u32 batch_asid;
	u32 mig_state;
	bool loaded;
	u8 load_status;
	u32 group_asid[VDPA_MIG_MAX_GROUPS];
	struct vdpa_mig_log **logs;
};

static inline struct vdpa_mig *vhost_to_mig(struct vhost_dev *vdev)
{
	return container_of(vdev, struct vdpa_mig, vdev);
}

/* Stopped by VHOST_VDPA_SUSPEND or the migration state machine? */
static inline bool vdpa_mig_suspended(const struct vdpa_mig *m)
{
	return m->mig_state == VDPA_MIG_STATE_STOPPED ||
	       m->mig_state == VDPA_MIG_STATE_SAVING;
}

/* Dirty logging limits, reported by VDPA_MIG_GET_INFO: 4 KiB..2 MiB pages. */
#define VDPA_MIG_LOG_PAGE_SIZES	GENMASK_ULL(21, 12)
/* Most bytes of IOVA one address space may log (1 TiB). */
#define VDPA_MIG_LOG_MAX_BYTES	BIT_ULL(40)

/* dirty.c */
long vdpa_mig_log_start(struct vdpa_mig *m, void __user *argp);
long vdpa_mig_log_sync(struct vdpa_mig *m, void __user *argp);
long vdpa_mig_log_stop(struct vdpa_mig *m, void __user *argp);
void vdpa_mig_log_stop_all(struct vdpa_mig *m);

/* ioctl.c */
long vdpa_mig_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
void vdpa_mig_detach_callbacks(struct vdpa_mig *m);
void vdpa_mig_attach_callbacks(struct vdpa_mig *m);
void vdpa_mig_sync_features(struct vdpa_mig *m);
u8 vdpa_mig_status(struct vdpa_mig *m);
int vdpa_mig_reset(struct vdpa_mig *m);

/* fsm.c */
long vdpa_mig_get_info(struct vdpa_mig *m, struct vdpa_mig_info __user *argp);
long vdpa_mig_set_state(struct vdpa_mig *m,
			struct vdpa_mig_set_state __user *argp);
int vdpa_mig_do_suspend(struct vdpa_mig *m);
int vdpa_mig_do_resume(struct vdpa_mig *m);

/* state.c */
int vdpa_mig_get_arg(void *dst, size_t minsz, const void __user *argp);
size_t vdpa_mig_state_size(struct vdpa_mig *m);
long vdpa_mig_get_device_state(struct vdpa_mig *m,
			       struct vdpa_mig_state_buf __user *argp);
long vdpa_mig_set_device_state(struct vdpa_mig *m,
			       struct vdpa_mig_state_buf __user *argp);

/* iotlb.c */
int vdpa_mig_iotlb_msg(struct vhost_dev *vdev, u32 asid,
		       struct vhost_iotlb_msg *msg);
void vdpa_mig_iotlb_init(struct vdpa_mig *m);
void vdpa_mig_iotlb_clear(struct vdpa_mig *m);

#endif /* _VDPA_MIG_H */

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
 * @suspended: VHOST_VDPA_SUSPEND succeeded and no RESUME or reset followed
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
	bool suspended;
	struct vdpa_mig_log **logs;
};

static inline struct vdpa_mig *vhost_to_mig(struct vhost_dev *vdev)
{
	return container_of(vdev, struct vdpa_mig, vdev);
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

/* iotlb.c */
int vdpa_mig_iotlb_msg(struct vhost_dev *vdev, u32 asid,
		       struct vhost_iotlb_msg *msg);
void vdpa_mig_iotlb_init(struct vdpa_mig *m);
void vdpa_mig_iotlb_clear(struct vdpa_mig *m);

#endif /* _VDPA_MIG_H */

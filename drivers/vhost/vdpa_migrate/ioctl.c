// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_migrate: the ioctls.  One helper per command; vdpa_mig_ioctl()
 * only dispatches.  Every helper validates all of its input before it
 * changes anything, so a failed ioctl leaves the device as it was.
 */
#include <linux/eventfd.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/virtio_config.h>

#include "vdpa_mig.h"

/* Backend features every bound device offers. */
#define VDPA_MIG_BACKEND_BASE	(BIT_ULL(VHOST_BACKEND_F_IOTLB_MSG_V2) | \
				 BIT_ULL(VHOST_BACKEND_F_IOTLB_BATCH) | \
				 BIT_ULL(VHOST_BACKEND_F_IOTLB_ASID))

/*
 * Status bits a driver may not set through SET_STATUS: NEEDS_RESET belongs
 * to the device, 0x10 and 0x20 have no meaning without features no parent
 * offers here.
 */
#define VDPA_MIG_STATUS_DEVICE	(VIRTIO_CONFIG_S_NEEDS_RESET | 0x30)

static u64 vdpa_mig_backend_features(struct vdpa_mig *m)
{
	u64 features = VDPA_MIG_BACKEND_BASE;

	if (m->vdpa->config->suspend)
		features |= BIT_ULL(VHOST_BACKEND_F_SUSPEND);
	if (m->mig_ops && m->mig_ops->resume)
		features |= BIT_ULL(VHOST_BACKEND_F_RESUME);
	return features;
}

u8 vdpa_mig_status(struct vdpa_mig *m)
{
	return m->vdpa->config->get_status(m->vdpa);
}

static bool vdpa_mig_running(struct vdpa_mig *m)
{
	return (vdpa_mig_status(m) & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !vdpa_mig_suspended(m);
}

/* Used-buffer interrupt from the parent: signal the call eventfd. */
static irqreturn_t vdpa_mig_vq_cb(void *private)
{
	eventfd_signal(private, 1);
	return IRQ_HANDLED;
}

static irqreturn_t vdpa_mig_config_cb(void *private)
{
	eventfd_signal(private, 1);
	return IRQ_HANDLED;
}

/*
 * Point the parent's callback of queue @idx at the queue's current call
 * eventfd (or at nothing).  The eventfd itself is the callback's argument,
 * so it must be unhooked here before the vhost core drops it.
 */
static void vdpa_mig_hook_call(struct vdpa_mig *m, u16 idx, bool on)
{
	struct eventfd_ctx *ctx = on ? m->vqs[idx].call_ctx.ctx : NULL;
	struct vdpa_callback cb = {
		.callback = ctx ? vdpa_mig_vq_cb : NULL,
		.private = ctx,
	};

	m->vdpa->config->set_vq_cb(m->vdpa, idx, &cb);
}

/**
 * vdpa_mig_detach_callbacks() - stop every parent callback into us
 * @m: device, &vdev.mutex held
 */
void vdpa_mig_detach_callbacks(struct vdpa_mig *m)
{
	struct vdpa_callback none = {};
	u32 i;

	for (i = 0; i < m->nvqs; i++)
		vdpa_mig_hook_call(m, i, false);
	m->vdpa->config->set_config_cb(m->vdpa, &none);
}

/**
 * vdpa_mig_attach_callbacks() - point the parent's callbacks at our eventfds
 * @m: device, &vdev.mutex held
 *
 * The undo of vdpa_mig_detach_callbacks(), for after a reset the user did
 * not ask for (a failed state load): the parent forgot the callbacks while
 * the user's eventfds are still set.
 */
void vdpa_mig_attach_callbacks(struct vdpa_mig *m)
{
	struct vdpa_callback cb = {
		.callback = m->config_ctx ? vdpa_mig_config_cb : NULL,
		.private = m->config_ctx,
	};
	u32 i;

	for (i = 0; i < m->nvqs; i++)
		vdpa_mig_hook_call(m, i, true);
	m->vdpa->config->set_config_cb(m->vdpa, &cb);
}

/* A reset leaves every migration state for RUNNING. */
int vdpa_mig_reset(struct vdpa_mig *m)
{
	int ret = vdpa_reset(m->vdpa);

	if (!ret) {
		m->mig_state = VDPA_MIG_STATE_RUNNING;
		m->loaded = false;
		m->in_batch = false;
		memset(m->group_asid, 0, sizeof(m->group_asid));
	}
	return ret;
}

static long vdpa_mig_get_device_id(struct vdpa_mig *m, u32 __user *argp)
{
	return put_user(m->vdpa->config->get_device_id(m->vdpa), argp);
}

static long vdpa_mig_get_status(struct vdpa_mig *m, u8 __user *argp)
{
	return put_user(vdpa_mig_status(m), argp);
}

static long vdpa_mig_set_status(struct vdpa_mig *m, u8 __user *argp)
{
	u8 status, old;

	if (get_user(status, argp))
		return -EFAULT;
	if (!status)
		return vdpa_mig_reset(m);

	old = vdpa_mig_status(m);
	/* Bits go away only through a reset; some are not the driver's. */
	if ((old & ~status & ~VIRTIO_CONFIG_S_NEEDS_RESET) ||
	    (status & ~old & VDPA_MIG_STATUS_DEVICE))
		return -EINVAL;
	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(status & VIRTIO_CONFIG_S_FEATURES_OK))
		return -EINVAL;
	vdpa_set_status(m->vdpa, status);
	return 0;
}

/* Copy in and check the header of a config access. */
static int vdpa_mig_config_hdr(struct vdpa_mig *m,
			       struct vhost_vdpa_config __user *argp,
			       struct vhost_vdpa_config *hdr)
{
	size_t size = m->vdpa->config->get_config_size(m->vdpa);

	if (copy_from_user(hdr, argp, offsetof(struct vhost_vdpa_config, buf)))
		return -EFAULT;
	if (!hdr->len || hdr->off > size || hdr->len > size - hdr->off)
		return -EINVAL;
	return 0;
}

static long vdpa_mig_get_config(struct vdpa_mig *m,
				struct vhost_vdpa_config __user *argp)
{
	struct vhost_vdpa_config hdr;
	long ret;
	u8 *buf;

	ret = vdpa_mig_config_hdr(m, argp, &hdr);
	if (ret)
		return ret;
	buf = kvzalloc(hdr.len, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	vdpa_get_config(m->vdpa, hdr.off, buf, hdr.len);
	if (copy_to_user(argp->buf, buf, hdr.len))
		ret = -EFAULT;
	kvfree(buf);
	return ret;
}

static long vdpa_mig_set_config(struct vdpa_mig *m,
				struct vhost_vdpa_config __user *argp)
{
	struct vhost_vdpa_config hdr;
	long ret;
	u8 *buf;

	ret = vdpa_mig_config_hdr(m, argp, &hdr);
	if (ret)
		return ret;
	buf = vmemdup_user(argp->buf, hdr.len);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	vdpa_set_config(m->vdpa, hdr.off, buf, hdr.len);
	kvfree(buf);
	return 0;
}

static long vdpa_mig_get_features(struct vdpa_mig *m, u64 __user *argp)
{
	return put_user(m->vdpa->config->get_device_features(m->vdpa), argp);
}

/**
 * vdpa_mig_sync_features() - tell the vhost core what the parent negotiated
 * @m: device, &vdev.mutex held
 *
 * The vhost core reads the ring layout features from its virtqueues.
 */
void vdpa_mig_sync_features(struct vdpa_mig *m)
{
	u64 acked = m->vdpa->config->get_driver_features(m->vdpa);
	u32 i;

	for (i = 0; i < m->nvqs; i++) {
		mutex_lock(&m->vqs[i].mutex);
		m->vqs[i].acked_features = acked;
		mutex_unlock(&m->vqs[i].mutex);
	}
}

static long vdpa_mig_set_features(struct vdpa_mig *m, u64 __user *argp)
{
	const struct vdpa_config_ops *ops = m->vdpa->config;
	u64 features;

	if (vdpa_mig_status(m) & VIRTIO_CONFIG_S_FEATURES_OK)
		return -EBUSY;
	if (get_user(features, argp))
		return -EFAULT;
	if (features & ~ops->get_device_features(m->vdpa))
		return -EINVAL;
	if (vdpa_set_features(m->vdpa, features))
		return -EINVAL;

	vdpa_mig_sync_features(m);
	return 0;
}

static long vdpa_mig_get_vring_num(struct vdpa_mig *m, u16 __user *argp)
{
	return put_user(m->vdpa->config->get_vq_num_max(m->vdpa), argp);
}

static long vdpa_mig_set_config_call(struct vdpa_mig *m, int __user *argp)
{
	struct vdpa_callback cb = {};
	struct eventfd_ctx *ctx = NULL;
	int fd;

	if (get_user(fd, argp))
		return -EFAULT;
	if (fd != VHOST_FILE_UNBIND) {
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	/* Unhook the old eventfd before dropping it. */
	m->vdpa->config->set_config_cb(m->vdpa, &cb);
	swap(ctx, m->config_ctx);
	if (ctx)
		eventfd_ctx_put(ctx);
	if (m->config_ctx) {
		cb.callback = vdpa_mig_config_cb;
		cb.private = m->config_ctx;
		m->vdpa->config->set_config_cb(m->vdpa, &cb);
	}
	return 0;
}

static long vdpa_mig_get_iova_range(struct vdpa_mig *m,
				    struct vhost_vdpa_iova_range __user *argp)
{
	struct vhost_vdpa_iova_range range = {
		.first = m->range.first,
		.last = m->range.last,
	};

	return copy_to_user(argp, &range, sizeof(range)) ? -EFAULT : 0;
}

static long vdpa_mig_get_config_size(struct vdpa_mig *m, u32 __user *argp)
{
	return put_user((u32)m->vdpa->config->get_config_size(m->vdpa), argp);
}

static long vdpa_mig_get_vqs_count(struct vdpa_mig *m, u32 __user *argp)
{
	return put_user(m->nvqs, argp);
}

static long vdpa_mig_get_group_num(struct vdpa_mig *m, u32 __user *argp)
{
	return put_user(m->vdpa->ngroups, argp);
}

static long vdpa_mig_get_as_num(struct vdpa_mig *m, u32 __user *argp)
{
	return put_user(m->vdpa->nas, argp);
}

static long vdpa_mig_get_backend_features(struct vdpa_mig *m,
					  u64 __user *argp)
{
	return put_user(vdpa_mig_backend_features(m), argp);
}

/* Called WITHOUT &vdev.mutex: vhost_set_backend_features() takes it. */
static long vdpa_mig_set_backend_features(struct vdpa_mig *m,
					  u64 __user *argp)
{
	u64 features;

	if (get_user(features, argp))
		return -EFAULT;
	if (features & ~vdpa_mig_backend_features(m))
		return -EOPNOTSUPP;
	vhost_set_backend_features(&m->vdev, features);
	return 0;
}

/*
 * SUSPEND: the device stops using its queues; state can be read back with
 * GET_VRING_BASE.  Also accepted before DRIVER_OK (nothing runs then), so
 * a client may suspend unconditionally when it stops a guest.
 */
static long vdpa_mig_suspend(struct vdpa_mig *m)
{
	int ret = vdpa_mig_do_suspend(m);

	if (!ret)
		m->mig_state = VDPA_MIG_STATE_STOPPED;
	return ret;
}

/* RESUME: only after a SUSPEND, and a reset forgets the SUSPEND. */
static long vdpa_mig_resume(struct vdpa_mig *m)
{
	int ret;

	if (!m->mig_ops || !m->mig_ops->resume)
		return -EOPNOTSUPP;
	if (m->mig_state != VDPA_MIG_STATE_STOPPED)
		return -EINVAL;
	ret = vdpa_mig_do_resume(m);
	if (!ret)
		m->mig_state = VDPA_MIG_STATE_RUNNING;
	return ret;
}

/*
 * RESET_OWNER: give the device back as if the file had just been opened,
 * so another process may SET_OWNER.  Maps are undone while the old owner's
 * mm is still known.
 */
static long vdpa_mig_reset_owner(struct vdpa_mig *m)
{
	struct vhost_iotlb *umem;
	long ret;

	ret = vhost_dev_check_owner(&m->vdev);
	if (ret)
		return ret;
	umem = vhost_dev_reset_owner_prepare();
	if (!umem)
		return -ENOMEM;
	vdpa_mig_log_stop_all(m);
	vdpa_mig_detach_callbacks(m);
	vdpa_mig_reset(m);
	vhost_dev_stop(&m->vdev);
	vdpa_mig_iotlb_clear(m);
	vhost_dev_reset_owner(&m->vdev, umem);
	return 0;
}

/* GET_VRING_BASE: refresh the vhost core's copy from the parent. */
static long vdpa_mig_pre_get_vring_base(struct vdpa_mig *m, u16 idx)
{
	struct vhost_virtqueue *vq = &m->vqs[idx];
	struct vdpa_vq_state state = {};
	int ret;

	ret = m->vdpa->config->get_vq_state(m->vdpa, idx, &state);
	if (ret)
		return ret;
	if (vhost_has_feature(vq, VIRTIO_F_RING_PACKED)) {
		vq->last_avail_idx = state.packed.last_avail_idx |
				     (state.packed.last_avail_counter << 15);
		vq->last_used_idx = state.packed.last_used_idx |
				    (state.packed.last_used_counter << 15);
	} else {
		vq->last_avail_idx = state.split.avail_index;
	}
	return 0;
}

/* SET_VRING_BASE, after the vhost core accepted it: tell the parent. */
static long vdpa_mig_post_set_vring_base(struct vdpa_mig *m, u16 idx)
{
	struct vhost_virtqueue *vq = &m->vqs[idx];
	struct vdpa_vq_state state = {};

	if (vhost_has_feature(vq, VIRTIO_F_RING_PACKED)) {
		state.packed.last_avail_idx = vq->last_avail_idx & 0x7fff;
		state.packed.last_avail_counter = vq->last_avail_idx >> 15;
		state.packed.last_used_idx = vq->last_used_idx & 0x7fff;
		state.packed.last_used_counter = vq->last_used_idx >> 15;
	} else {
		state.split.avail_index = vq->last_avail_idx;
	}
	return m->vdpa->config->set_vq_state(m->vdpa, idx, &state);
}

static long vdpa_mig_set_vring_num(struct vdpa_mig *m, u16 idx,
				   struct vhost_vring_state __user *argp)
{
	const struct vdpa_config_ops *ops = m->vdpa->config;
	struct vhost_vring_state s;
	long ret;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (s.num > ops->get_vq_num_max(m->vdpa) ||
	    (ops->get_vq_num_min && s.num < ops->get_vq_num_min(m->vdpa)))
		return -EINVAL;
	/* Power of two, non-zero: the vhost core checks. */
	ret = vhost_vring_ioctl(&m->vdev, VHOST_SET_VRING_NUM, argp);
	if (!ret)
		ops->set_vq_num(m->vdpa, idx, m->vqs[idx].num);
	return ret;
}

static long vdpa_mig_set_vring_addr(struct vdpa_mig *m, u16 idx,
				    void __user *argp)
{
	struct vhost_virtqueue *vq = &m->vqs[idx];
	long ret;

	ret = vhost_vring_ioctl(&m->vdev, VHOST_SET_VRING_ADDR, argp);
	if (ret)
		return ret;
	/* The "user addresses" of vhost-vdpa are IOVAs. */
	if (m->vdpa->config->set_vq_address(m->vdpa, idx,
					    (u64)(uintptr_t)vq->desc,
					    (u64)(uintptr_t)vq->avail,
					    (u64)(uintptr_t)vq->used))
		return -EINVAL;
	return 0;
}

static long vdpa_mig_set_vring_call(struct vdpa_mig *m, u16 idx,
				    void __user *argp)
{
	long ret;

	vdpa_mig_hook_call(m, idx, false);
	ret = vhost_vring_ioctl(&m->vdev, VHOST_SET_VRING_CALL, argp);
	/* On failure the old eventfd is still in place: hook it again. */
	vdpa_mig_hook_call(m, idx, true);
	return ret;
}

static long vdpa_mig_set_vring_enable(struct vdpa_mig *m, u16 idx,
				      struct vhost_vring_state __user *argp)
{
	struct vhost_vring_state s;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (s.num > 1)
		return -EINVAL;
	m->vdpa->config->set_vq_ready(m->vdpa, idx, s.num);
	return 0;
}

static long vdpa_mig_get_vring_group(struct vdpa_mig *m, u16 idx,
				     struct vhost_vring_state __user *argp)
{
	const struct vdpa_config_ops *ops = m->vdpa->config;
	struct vhost_vring_state s = { .index = idx };

	if (!ops->get_vq_group)
		return -EOPNOTSUPP;
	s.num = ops->get_vq_group(m->vdpa, idx);
	if (s.num >= m->vdpa->ngroups)
		return -EIO;
	return copy_to_user(argp, &s, sizeof(s)) ? -EFAULT : 0;
}

/* .index is a group here, not a queue. */
static long vdpa_mig_set_group_asid(struct vdpa_mig *m,
				    struct vhost_vring_state __user *argp)
{
	const struct vdpa_config_ops *ops = m->vdpa->config;
	struct vhost_vring_state s;
	int ret;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (s.index >= m->vdpa->ngroups || s.num >= m->vdpa->nas)
		return -EINVAL;
	if (!ops->set_group_asid)
		return -EOPNOTSUPP;
	ret = ops->set_group_asid(m->vdpa, s.index, s.num);
	if (!ret && s.index < VDPA_MIG_MAX_GROUPS)
		m->group_asid[s.index] = s.num;
	return ret;
}

/* Per-queue ioctls: the queue index comes first in every argument. */
static long vdpa_mig_vring_ioctl(struct vdpa_mig *m, unsigned int cmd,
				 void __user *argp)
{
	u32 idx;
	long ret;

	if (cmd == VHOST_VDPA_SET_GROUP_ASID)
		return vdpa_mig_set_group_asid(m, argp);

	if (get_user(idx, (u32 __user *)argp))
		return -EFAULT;
	if (idx >= m->nvqs)
		return -ENOBUFS;
	idx = array_index_nospec(idx, m->nvqs);

	switch (cmd) {
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_ADDR:
	case VHOST_SET_VRING_BASE:
		/* The ring may change only while the device does not use it. */
		if (vdpa_mig_running(m))
			return -EBUSY;
		break;
	}

	switch (cmd) {
	case VHOST_SET_VRING_NUM:
		return vdpa_mig_set_vring_num(m, idx, argp);
	case VHOST_SET_VRING_ADDR:
		return vdpa_mig_set_vring_addr(m, idx, argp);
	case VHOST_SET_VRING_BASE:
		ret = vhost_vring_ioctl(&m->vdev, cmd, argp);
		return ret ? ret : vdpa_mig_post_set_vring_base(m, idx);
	case VHOST_GET_VRING_BASE:
		ret = vdpa_mig_pre_get_vring_base(m, idx);
		return ret ? ret : vhost_vring_ioctl(&m->vdev, cmd, argp);
	case VHOST_SET_VRING_CALL:
		return vdpa_mig_set_vring_call(m, idx, argp);
	case VHOST_VDPA_SET_VRING_ENABLE:
		return vdpa_mig_set_vring_enable(m, idx, argp);
	case VHOST_VDPA_GET_VRING_GROUP:
		return vdpa_mig_get_vring_group(m, idx, argp);
	default:
		/* SET_VRING_KICK, SET_VRING_ERR, ...: the vhost core's. */
		return vhost_vring_ioctl(&m->vdev, cmd, argp);
	}
}

/*
 * While a state is read (SAVING) or loaded (RESUMING), nothing may change
 * what it describes: the commands that would fail with EBUSY.  A reset
 * (SET_STATUS 0) is always allowed: it leaves the migration states.
 */
static bool vdpa_mig_frozen(struct vdpa_mig *m, unsigned int cmd,
			    void __user *argp)
{
	u8 status;

	if (m->mig_state != VDPA_MIG_STATE_SAVING &&
	    m->mig_state != VDPA_MIG_STATE_RESUMING)
		return false;

	switch (cmd) {
	case VHOST_VDPA_SET_STATUS:
		return get_user(status, (u8 __user *)argp) || status;
	case VHOST_SET_FEATURES:
	case VHOST_VDPA_SET_CONFIG:
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_ADDR:
	case VHOST_SET_VRING_BASE:
	case VHOST_VDPA_SET_VRING_ENABLE:
	case VHOST_VDPA_SET_GROUP_ASID:
	case VHOST_VDPA_SUSPEND:
	case VHOST_VDPA_RESUME:
	case VHOST_RESET_OWNER:
		return true;
	}
	return false;
}

static long vdpa_mig_locked_ioctl(struct vdpa_mig *m, unsigned int cmd,
				  void __user *argp)
{
	long ret;

	if (vdpa_mig_frozen(m, cmd, argp))
		return -EBUSY;

	switch (cmd) {
	case VHOST_VDPA_GET_DEVICE_ID:
		return vdpa_mig_get_device_id(m, argp);
	case VHOST_VDPA_GET_STATUS:
		return vdpa_mig_get_status(m, argp);
	case VHOST_VDPA_SET_STATUS:
		return vdpa_mig_set_status(m, argp);
	case VHOST_VDPA_GET_CONFIG:
		return vdpa_mig_get_config(m, argp);
	case VHOST_VDPA_SET_CONFIG:
		return vdpa_mig_set_config(m, argp);
	case VHOST_GET_FEATURES:
		return vdpa_mig_get_features(m, argp);
	case VHOST_SET_FEATURES:
		return vdpa_mig_set_features(m, argp);
	case VHOST_VDPA_GET_VRING_NUM:
		return vdpa_mig_get_vring_num(m, argp);
	case VHOST_VDPA_SET_CONFIG_CALL:
		return vdpa_mig_set_config_call(m, argp);
	case VHOST_VDPA_GET_IOVA_RANGE:
		return vdpa_mig_get_iova_range(m, argp);
	case VHOST_VDPA_GET_CONFIG_SIZE:
		return vdpa_mig_get_config_size(m, argp);
	case VHOST_VDPA_GET_VQS_COUNT:
		return vdpa_mig_get_vqs_count(m, argp);
	case VHOST_VDPA_GET_GROUP_NUM:
		return vdpa_mig_get_group_num(m, argp);
	case VHOST_VDPA_GET_AS_NUM:
		return vdpa_mig_get_as_num(m, argp);
	case VHOST_GET_BACKEND_FEATURES:
		return vdpa_mig_get_backend_features(m, argp);
	case VHOST_VDPA_SUSPEND:
		return vdpa_mig_suspend(m);
	case VHOST_VDPA_RESUME:
		return vdpa_mig_resume(m);
	case VHOST_RESET_OWNER:
		return vdpa_mig_reset_owner(m);
	case VDPA_MIG_GET_INFO:
		return vdpa_mig_get_info(m, argp);
	case VDPA_MIG_SET_STATE:
		return vdpa_mig_set_state(m, argp);
	case VDPA_MIG_GET_DEVICE_STATE:
		return vdpa_mig_get_device_state(m, argp);
	case VDPA_MIG_SET_DEVICE_STATE:
		return vdpa_mig_set_device_state(m, argp);
	case VDPA_MIG_LOG_START:
		return vdpa_mig_log_start(m, argp);
	case VDPA_MIG_LOG_SYNC:
		return vdpa_mig_log_sync(m, argp);
	case VDPA_MIG_LOG_STOP:
		return vdpa_mig_log_stop(m, argp);
	case VHOST_SET_LOG_BASE:
	case VHOST_SET_LOG_FD:
		/* No dirty logging through vhost (yet); as vhost_vdpa. */
		return -ENOIOCTLCMD;
	}

	/* SET_OWNER, SET_MEM_TABLE (unused), ...; then per-queue ones. */
	ret = vhost_dev_ioctl(&m->vdev, cmd, argp);
	if (ret == -ENOIOCTLCMD)
		ret = vdpa_mig_vring_ioctl(m, cmd, argp);
	return ret;
}

long vdpa_mig_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vdpa_mig *m = file->private_data;
	void __user *argp = (void __user *)arg;
	long ret;

	if (cmd == VHOST_SET_BACKEND_FEATURES)
		return vdpa_mig_set_backend_features(m, argp);

	mutex_lock(&m->vdev.mutex);
	ret = vdpa_mig_locked_ioctl(m, cmd, argp);
	mutex_unlock(&m->vdev.mutex);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_gen hold: vDPA devices that stay registered while the module that
 * drives them is replaced (hold.h; "Hot upgrade under virtio_vdpa" in
 * Documentation/vdpa/generic-pci.rst).
 *
 * The device's vdpa_config_ops are the forwarders below, in this module,
 * so a driver bound to the device (virtio_vdpa) never calls into a module
 * that went away.  Each forwarder calls the attached parent's op inside an
 * SRCU read-side section; detaching publishes NULL and waits for the
 * section, so once vdpa_gen_hold_detach() returned no call is in the parent
 * and none will enter it.
 *
 * Held (detached with a snapshot): the function keeps running as the
 * parent left it, rings and buffers the driver's and mapped by the DMA
 * API; its interrupts are off.  Reads come from the snapshot; kicks are
 * dropped (the adopter rings every ready queue's doorbell and calls every
 * callback once); the driver's reset stops the function's DMA by turning
 * bus mastering off, as nothing else of ours can reach it, and the adopter
 * then starts from a reset.  Other changes fail (-ENODEV) or are ignored.
 *
 * Gone (detached without one): the parent deleted the device; calls made
 * until the last reference goes fail or are ignored.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "hold.h"

/* Held devices, and whether a parent is adopting each (&vdpa_gen_hold.node). */
static LIST_HEAD(hold_list);
static DEFINE_MUTEX(hold_list_lock);

static struct vdpa_gen_hold *to_hold(struct vdpa_device *vdpa)
{
	return container_of(vdpa, struct vdpa_gen_hold, vdpa);
}

/* Enter the read side: the parent's ops, or NULL (then @h->st is stable). */
static const struct vdpa_config_ops *hold_enter(struct vdpa_gen_hold *h,
						int *idx)
	__acquires(&h->srcu)
{
	const struct vdpa_config_ops *ops;

	*idx = srcu_read_lock(&h->srcu);
	ops = srcu_dereference(h->ops, &h->srcu);
	if (!ops)
		smp_rmb(); /* @h->st after NULL ops: vdpa_gen_hold_detach() */
	return ops;
}

static void hold_exit(struct vdpa_gen_hold *h, int idx)
	__releases(&h->srcu)
{
	srcu_read_unlock(&h->srcu, idx);
}

/* ---- the driver's reset of a held device ---------------------------------- */

/*
 * st_lock held.  The function keeps its rings until a parent resets it:
 * turning bus mastering off stops its DMA into memory the driver frees
 * next.  Callbacks go, like any parent's at reset.
 */
static void hold_reset_held(struct vdpa_gen_hold *h)
{
	struct vdpa_gen_hold_state *st = h->st;
	struct device *dma_dev = h->vdpa.dma_dev;

	if (!st)
		return;		/* gone */
	if (!st->reset && dma_dev && dev_is_pci(dma_dev))
		pci_clear_master(to_pci_dev(dma_dev));
	st->reset = true;
	st->status = 0;
	st->driver_features = 0;
	st->config_cb.callback = NULL;
	st->config_cb.private = NULL;
	for (u16 i = 0; i < h->nvqs; i++) {
		st->vqs[i].cb.callback = NULL;
		st->vqs[i].cb.private = NULL;
		st->vqs[i].ready = false;
	}
}

enum hold_change {
	HOLD_VQ_CB,
	HOLD_CONFIG_CB,
	HOLD_RESET,
};

/*
 * A change the driver makes while the device is held, inside the read
 * side: applied under st_lock, but only if no parent attached meanwhile
 * (vdpa_gen_hold_attach() publishes under st_lock and then compares
 * &vdpa_gen_hold_state.gen).  Returns the parent's ops to forward the
 * change to instead, or NULL once it was applied.
 */
static const struct vdpa_config_ops *
hold_change(struct vdpa_gen_hold *h, enum hold_change what, u16 idx,
	    const struct vdpa_callback *cb)
{
	const struct vdpa_config_ops *ops;

	spin_lock(&h->st_lock);
	ops = srcu_dereference(h->ops, &h->srcu);
	if (!ops) {
		switch (what) {
		case HOLD_VQ_CB:
			h->st->vqs[idx].cb = *cb;
			break;
		case HOLD_CONFIG_CB:
			h->st->config_cb = *cb;
			break;
		case HOLD_RESET:
			hold_reset_held(h);
			break;
		}
		h->st->gen++;
	}
	spin_unlock(&h->st_lock);
	return ops;
}

/* ---- forwarders ------------------------------------------------------------ */

static int hold_set_vq_address(struct vdpa_device *vdpa, u16 idx, u64 desc,
			       u64 driver, u64 device)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id, ret = -ENODEV;

	ops = hold_enter(h, &id);
	if (ops)
		ret = ops->set_vq_address(vdpa, idx, desc, driver, device);
	hold_exit(h, id);
	return ret;
}

static void hold_set_vq_num(struct vdpa_device *vdpa, u16 idx, u32 num)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id;

	ops = hold_enter(h, &id);
	if (ops)
		ops->set_vq_num(vdpa, idx, num);
	hold_exit(h, id);
}

/* Held: dropped, the adopter rings every ready queue once. */
static void hold_kick_vq(struct vdpa_device *vdpa, u16 idx)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id;

	ops = hold_enter(h, &id);
	if (ops)
		ops->kick_vq(vdpa, idx);
	hold_exit(h, id);
}

static void hold_set_vq_cb(struct vdpa_device *vdpa, u16 idx,
			   struct vdpa_callback *cb)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id;

	ops = hold_enter(h, &id);
	if (!ops && h->st && idx < h->nvqs)
		ops = hold_change(h, HOLD_VQ_CB, idx, cb);
	if (ops)
		ops->set_vq_cb(vdpa, idx, cb);
	hold_exit(h, id);
}

static void hold_set_vq_ready(struct vdpa_device *vdpa, u16 idx, bool ready)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id;

	ops = hold_enter(h, &id);
	if (ops)
		ops->set_vq_ready(vdpa, idx, ready);
	hold_exit(h, id);
}

static bool hold_get_vq_ready(struct vdpa_device *vdpa, u16 idx)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	bool ready = false;
	int id;

	ops = hold_enter(h, &id);
	if (ops) {
		ready = ops->get_vq_ready(vdpa, idx);
	} else if (h->st && idx < h->nvqs) {
		spin_lock(&h->st_lock);
		ready = h->st->vqs[idx].ready;
		spin_unlock(&h->st_lock);
	}
	hold_exit(h, id);
	return ready;
}

static int hold_set_vq_state(struct vdpa_device *vdpa, u16 idx,
			     const struct vdpa_vq_state *state)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id, ret = -ENODEV;

	ops = hold_enter(h, &id);
	if (ops)
		ret = ops->set_vq_state(vdpa, idx, state);
	hold_exit(h, id);
	return ret;
}

static int hold_get_vq_state(struct vdpa_device *vdpa, u16 idx,
			     struct vdpa_vq_state *state)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id, ret = -ENODEV;

	ops = hold_enter(h, &id);
	if (ops)
		ret = ops->get_vq_state(vdpa, idx, state);
	hold_exit(h, id);
	return ret;
}

static int hold_suspend(struct vdpa_device *vdpa)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id, ret = -ENODEV;

	ops = hold_enter(h, &id);
	if (ops)
		ret = ops->suspend(vdpa);
	hold_exit(h, id);
	return ret;
}

static struct vdpa_notification_area
hold_get_vq_notification(struct vdpa_device *vdpa, u16 idx)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	struct vdpa_notification_area area = {};
	const struct vdpa_config_ops *ops;
	int id;

	ops = hold_enter(h, &id);
	if (ops)
		area = ops->get_vq_notification(vdpa, idx);
	hold_exit(h, id);
	return area;
}

static int hold_get_vq_irq(struct vdpa_device *vdpa, u16 idx)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id, ret = -EINVAL;

	ops = hold_enter(h, &id);
	if (ops)
		ret = ops->get_vq_irq(vdpa, idx);
	hold_exit(h, id);
	return ret;
}

static int hold_get_vendor_vq_stats(struct vdpa_device *vdpa, u16 idx,
				    struct sk_buff *msg,
				    struct netlink_ext_ack *extack)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id, ret = -ENODEV;

	ops = hold_enter(h, &id);
	if (ops)
		ret = ops->get_vendor_vq_stats(vdpa, idx, msg, extack);
	hold_exit(h, id);
	return ret;
}

static u32 hold_get_vq_align(struct vdpa_device *vdpa)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	u32 align = SMP_CACHE_BYTES;
	int id;

	ops = hold_enter(h, &id);
	if (ops)
		align = ops->get_vq_align(vdpa);
	else if (h->st)
		align = h->st->vq_align;
	hold_exit(h, id);
	return align;
}

static u64 hold_get_device_features(struct vdpa_device *vdpa)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	u64 features = 0;
	int id;

	ops = hold_enter(h, &id);
	if (ops)
		features = ops->get_device_features(vdpa);
	else if (h->st)
		features = h->st->device_features;
	hold_exit(h, id);
	return features;
}

static int hold_set_driver_features(struct vdpa_device *vdpa, u64 features)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id, ret = -ENODEV;

	ops = hold_enter(h, &id);
	if (ops)
		ret = ops->set_driver_features(vdpa, features);
	hold_exit(h, id);
	return ret;
}

static u64 hold_get_driver_features(struct vdpa_device *vdpa)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	u64 features = 0;
	int id;

	ops = hold_enter(h, &id);
	if (ops) {
		features = ops->get_driver_features(vdpa);
	} else if (h->st) {
		spin_lock(&h->st_lock);
		features = h->st->driver_features;
		spin_unlock(&h->st_lock);
	}
	hold_exit(h, id);
	return features;
}

static void hold_set_config_cb(struct vdpa_device *vdpa,
			       struct vdpa_callback *cb)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id;

	ops = hold_enter(h, &id);
	if (!ops && h->st)
		ops = hold_change(h, HOLD_CONFIG_CB, 0, cb);
	if (ops)
		ops->set_config_cb(vdpa, cb);
	hold_exit(h, id);
}

static u16 hold_get_vq_num_max(struct vdpa_device *vdpa)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	u16 max = 0;
	int id;

	ops = hold_enter(h, &id);
	if (ops)
		max = ops->get_vq_num_max(vdpa);
	else if (h->st)
		max = h->st->vq_num_max;
	hold_exit(h, id);
	return max;
}

/* Identity never changes: answered here whether a parent is attached or not. */
static u32 hold_get_device_id(struct vdpa_device *vdpa)
{
	return to_hold(vdpa)->device_id;
}

static u32 hold_get_vendor_id(struct vdpa_device *vdpa)
{
	return to_hold(vdpa)->vendor_id;
}

static size_t hold_get_config_size(struct vdpa_device *vdpa)
{
	return to_hold(vdpa)->config_size;
}

static u8 hold_get_status(struct vdpa_device *vdpa)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	u8 status = 0;
	int id;

	ops = hold_enter(h, &id);
	if (ops) {
		status = ops->get_status(vdpa);
	} else if (h->st) {
		spin_lock(&h->st_lock);
		status = h->st->status;
		spin_unlock(&h->st_lock);
	}
	hold_exit(h, id);
	return status;
}

static int hold_reset(struct vdpa_device *vdpa)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id, ret = 0;

	ops = hold_enter(h, &id);
	if (!ops && h->st)
		ops = hold_change(h, HOLD_RESET, 0, NULL);
	if (ops)
		ret = ops->reset(vdpa);
	hold_exit(h, id);
	return ret;
}

/* Held: only a reset (status 0) does something. */
static void hold_set_status(struct vdpa_device *vdpa, u8 status)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id;

	ops = hold_enter(h, &id);
	if (!ops && h->st && !status)
		ops = hold_change(h, HOLD_RESET, 0, NULL);
	if (ops)
		ops->set_status(vdpa, status);
	hold_exit(h, id);
}

static void hold_get_config(struct vdpa_device *vdpa, unsigned int offset,
			    void *buf, unsigned int len)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id;

	ops = hold_enter(h, &id);
	if (ops) {
		ops->get_config(vdpa, offset, buf, len);
	} else if (h->st && offset <= h->st->config_size &&
		   len <= h->st->config_size - offset) {
		memcpy(buf, h->st->config + offset, len);
	} else {
		memset(buf, 0, len);
	}
	hold_exit(h, id);
}

static void hold_set_config(struct vdpa_device *vdpa, unsigned int offset,
			    const void *buf, unsigned int len)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id;

	ops = hold_enter(h, &id);
	if (ops)
		ops->set_config(vdpa, offset, buf, len);
	hold_exit(h, id);
}

static u32 hold_get_generation(struct vdpa_device *vdpa)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	u32 gen = 0;
	int id;

	ops = hold_enter(h, &id);
	if (ops)
		gen = ops->get_generation(vdpa);
	else if (h->st)
		gen = h->st->generation;
	hold_exit(h, id);
	return gen;
}

static struct vdpa_iova_range hold_get_iova_range(struct vdpa_device *vdpa)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	struct vdpa_iova_range range = {};
	const struct vdpa_config_ops *ops;
	int id;

	ops = hold_enter(h, &id);
	if (ops)
		range = ops->get_iova_range(vdpa);
	hold_exit(h, id);
	return range;
}

static int hold_dma_map(struct vdpa_device *vdpa, unsigned int asid, u64 iova,
			u64 size, u64 pa, u32 perm, void *opaque)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id, ret = -ENODEV;

	ops = hold_enter(h, &id);
	if (ops)
		ret = ops->dma_map(vdpa, asid, iova, size, pa, perm, opaque);
	hold_exit(h, id);
	return ret;
}

static int hold_dma_unmap(struct vdpa_device *vdpa, unsigned int asid,
			  u64 iova, u64 size)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	const struct vdpa_config_ops *ops;
	int id, ret = -ENODEV;

	ops = hold_enter(h, &id);
	if (ops)
		ret = ops->dma_unmap(vdpa, asid, iova, size);
	hold_exit(h, id);
	return ret;
}

static void hold_state_free(struct vdpa_gen_hold_state *st)
{
	if (st)
		kfree(st->config);
	kfree(st);
}

/* Last reference: the parent detached long ago (or never attached). */
static void hold_free(struct vdpa_device *vdpa)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);

	if (!h->nvqs)
		return;		/* vdpa_gen_hold_alloc() failed half way */
	hold_state_free(h->st);
	cleanup_srcu_struct(&h->srcu);
	mutex_destroy(&h->lock);
}

/*
 * The ops a parent attaches must be exactly these (vdpa_gen_hold_attach()
 * checks): the vdpa core and bus drivers decide what a device can do by
 * which ops are set, and that must not change with the parent.
 */
static const struct vdpa_config_ops hold_ops = {
	.set_vq_address = hold_set_vq_address,
	.set_vq_num = hold_set_vq_num,
	.kick_vq = hold_kick_vq,
	.set_vq_cb = hold_set_vq_cb,
	.set_vq_ready = hold_set_vq_ready,
	.get_vq_ready = hold_get_vq_ready,
	.set_vq_state = hold_set_vq_state,
	.get_vq_state = hold_get_vq_state,
	.suspend = hold_suspend,
	.get_vq_notification = hold_get_vq_notification,
	.get_vq_irq = hold_get_vq_irq,
	.get_vendor_vq_stats = hold_get_vendor_vq_stats,
	.get_vq_align = hold_get_vq_align,
	.get_device_features = hold_get_device_features,
	.set_driver_features = hold_set_driver_features,
	.get_driver_features = hold_get_driver_features,
	.set_config_cb = hold_set_config_cb,
	.get_vq_num_max = hold_get_vq_num_max,
	.get_device_id = hold_get_device_id,
	.get_vendor_id = hold_get_vendor_id,
	.get_status = hold_get_status,
	.set_status = hold_set_status,
	.reset = hold_reset,
	.get_config_size = hold_get_config_size,
	.get_config = hold_get_config,
	.set_config = hold_set_config,
	.get_generation = hold_get_generation,
	.get_iova_range = hold_get_iova_range,
	.dma_map = hold_dma_map,
	.dma_unmap = hold_dma_unmap,
	.free = hold_free,
};

/* Every op the forwarders call, set in @ops. */
static bool hold_ops_complete(const struct vdpa_config_ops *ops)
{
	return ops->set_vq_address && ops->set_vq_num && ops->kick_vq &&
	       ops->set_vq_cb && ops->set_vq_ready && ops->get_vq_ready &&
	       ops->set_vq_state && ops->get_vq_state && ops->suspend &&
	       ops->get_vq_notification && ops->get_vq_irq &&
	       ops->get_vendor_vq_stats && ops->get_vq_align &&
	       ops->get_device_features && ops->set_driver_features &&
	       ops->get_driver_features && ops->set_config_cb &&
	       ops->get_vq_num_max && ops->get_status && ops->set_status &&
	       ops->reset && ops->get_config && ops->set_config &&
	       ops->get_generation && ops->get_iova_range && ops->dma_map &&
	       ops->dma_unmap;
}

/* ---- the parent's side ------------------------------------------------------ */

/**
 * vdpa_gen_hold_alloc - allocate a vDPA device whose parent may be replaced
 * @parent: parent device (the function)
 * @name: device name, or NULL
 * @nvqs: queues
 * @device_id: virtio device ID
 * @vendor_id: virtio vendor ID
 * @config_size: bytes of device config space
 *
 * The caller sets dma_dev and mdev, attaches with vdpa_gen_hold_attach()
 * and registers.  Until it attaches, every op fails or does nothing.
 *
 * Return: the device, or an ERR_PTR().
 */
struct vdpa_device *vdpa_gen_hold_alloc(struct device *parent,
					const char *name, u16 nvqs,
					u32 device_id, u32 vendor_id,
					size_t config_size)
{
	struct vdpa_gen_hold *h;
	int ret;

	if (!nvqs)
		return ERR_PTR(-EINVAL);
	h = vdpa_alloc_device(struct vdpa_gen_hold, vdpa, parent, &hold_ops,
			      1, 1, name, false);
	if (IS_ERR(h))
		return ERR_CAST(h);
	ret = init_srcu_struct(&h->srcu);
	if (ret) {
		put_device(&h->vdpa.dev);
		return ERR_PTR(ret);
	}
	mutex_init(&h->lock);
	spin_lock_init(&h->st_lock);
	INIT_LIST_HEAD(&h->node);
	h->device_id = device_id;
	h->vendor_id = vendor_id;
	h->config_size = config_size;
	h->nvqs = nvqs;		/* hold_free() cleans up from here on */
	return &h->vdpa;
}
EXPORT_SYMBOL_GPL(vdpa_gen_hold_alloc);

/**
 * vdpa_gen_hold_state_alloc - a snapshot buffer sized for @vdpa
 * @vdpa: a device of vdpa_gen_hold_alloc()
 *
 * Return: zeroed state with room for every queue and the config space, or
 * NULL.  Free it with vdpa_gen_hold_state_free() unless it was handed to
 * vdpa_gen_hold_detach().
 */
struct vdpa_gen_hold_state *vdpa_gen_hold_state_alloc(struct vdpa_device *vdpa)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	struct vdpa_gen_hold_state *st;

	st = kzalloc(struct_size(st, vqs, h->nvqs), GFP_KERNEL);
	if (!st)
		return NULL;
	st->config_size = h->config_size;
	st->config = kzalloc(max_t(size_t, h->config_size, 1), GFP_KERNEL);
	if (!st->config) {
		kfree(st);
		return NULL;
	}
	return st;
}
EXPORT_SYMBOL_GPL(vdpa_gen_hold_state_alloc);

/**
 * vdpa_gen_hold_state_free - free a snapshot the hold does not own
 * @st: from vdpa_gen_hold_state_alloc(), or NULL
 */
void vdpa_gen_hold_state_free(struct vdpa_gen_hold_state *st)
{
	hold_state_free(st);
}
EXPORT_SYMBOL_GPL(vdpa_gen_hold_state_free);

/**
 * vdpa_gen_hold_attach - make @ops the device's
 * @vdpa: a device of vdpa_gen_hold_alloc(), fresh or adopted
 * @ops: the parent's ops, with every op hold_ops forwards
 * @priv: returned by vdpa_gen_hold_priv() to @ops
 * @seen: an adopter's copy of the snapshot (vdpa_gen_hold_read()), or
 *	NULL for a fresh device
 *
 * Return: 0; -EAGAIN if the driver changed the held device after @seen
 * was read (read it again and retry); -EINVAL for incomplete @ops.
 */
int vdpa_gen_hold_attach(struct vdpa_device *vdpa,
			 const struct vdpa_config_ops *ops, void *priv,
			 const struct vdpa_gen_hold_state *seen)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	struct vdpa_gen_hold_state *st;

	if (!hold_ops_complete(ops))
		return -EINVAL;
	mutex_lock(&h->lock);
	/* Under st_lock: a held change either came before @seen or forwards. */
	spin_lock(&h->st_lock);
	if (h->st && (!seen || h->st->gen != seen->gen)) {
		spin_unlock(&h->st_lock);
		mutex_unlock(&h->lock);
		return -EAGAIN;
	}
	h->priv = priv;
	/* Publishes @priv too: the forwarders read it after the ops. */
	rcu_assign_pointer(h->ops, ops);
	st = h->st;
	spin_unlock(&h->st_lock);
	/* No forwarder still reads the snapshot once this returns. */
	synchronize_srcu(&h->srcu);
	mutex_lock(&hold_list_lock);
	list_del_init(&h->node);
	h->adopting = false;
	h->st = NULL;
	mutex_unlock(&hold_list_lock);
	mutex_unlock(&h->lock);
	hold_state_free(st);
	return 0;
}
EXPORT_SYMBOL_GPL(vdpa_gen_hold_attach);

/**
 * vdpa_gen_hold_detach - the parent lets go of @vdpa
 * @vdpa: an attached device
 * @st: snapshot to answer from until a parent adopts the device (owned by
 *	the hold from here on), or NULL: the device is being deleted
 *
 * Waits until no forwarder is in the parent's ops.  The parent must not
 * change the function's state from here on, except to release what it
 * holds of it (interrupts, mappings).
 */
void vdpa_gen_hold_detach(struct vdpa_device *vdpa,
			  struct vdpa_gen_hold_state *st)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);

	mutex_lock(&h->lock);
	spin_lock(&h->st_lock);
	h->st = st;
	/* A forwarder that sees no ops sees the snapshot (hold_enter()). */
	smp_wmb();
	rcu_assign_pointer(h->ops, NULL);
	spin_unlock(&h->st_lock);
	synchronize_srcu(&h->srcu);
	h->priv = NULL;
	if (st) {
		mutex_lock(&hold_list_lock);
		list_add_tail(&h->node, &hold_list);
		mutex_unlock(&hold_list_lock);
	}
	mutex_unlock(&h->lock);
}
EXPORT_SYMBOL_GPL(vdpa_gen_hold_detach);

/**
 * vdpa_gen_hold_refresh - take a held device's snapshot again
 * @vdpa: a device just detached with a snapshot
 * @fill: writes the snapshot (under a spinlock: must not sleep)
 * @data: for @fill
 *
 * For a parent whose op ran between its snapshot and the detach.  If the
 * driver already changed the held device since the detach, the two cannot
 * be merged: the device is then treated as reset (the function stops).
 */
void vdpa_gen_hold_refresh(struct vdpa_device *vdpa,
			   void (*fill)(void *data,
					struct vdpa_gen_hold_state *st),
			   void *data)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	struct vdpa_gen_hold_state *st = h->st;

	spin_lock(&h->st_lock);
	if (!st->gen) {
		u8 *config = st->config;

		fill(data, st);
		st->config = config;
	} else {
		hold_reset_held(h);
	}
	spin_unlock(&h->st_lock);
}
EXPORT_SYMBOL_GPL(vdpa_gen_hold_refresh);

/**
 * vdpa_gen_hold_adopt - take a held device of function @dma_dev
 * @dma_dev: the function a new parent was bound to
 *
 * Return: the device, reserved for the caller until it attaches or calls
 * vdpa_gen_hold_unadopt(); NULL if none is held for @dma_dev.
 */
struct vdpa_device *vdpa_gen_hold_adopt(struct device *dma_dev)
{
	struct vdpa_device *vdpa = NULL;
	struct vdpa_gen_hold *h;

	mutex_lock(&hold_list_lock);
	list_for_each_entry(h, &hold_list, node) {
		if (h->vdpa.dma_dev == dma_dev && !h->adopting) {
			h->adopting = true;
			vdpa = &h->vdpa;
			break;
		}
	}
	mutex_unlock(&hold_list_lock);
	return vdpa;
}
EXPORT_SYMBOL_GPL(vdpa_gen_hold_adopt);

/**
 * vdpa_gen_hold_unadopt - give back a device vdpa_gen_hold_adopt() returned
 * @vdpa: the device, not attached
 */
void vdpa_gen_hold_unadopt(struct vdpa_device *vdpa)
{
	mutex_lock(&hold_list_lock);
	to_hold(vdpa)->adopting = false;
	mutex_unlock(&hold_list_lock);
}
EXPORT_SYMBOL_GPL(vdpa_gen_hold_unadopt);

/**
 * vdpa_gen_hold_read - copy a held device's snapshot
 * @vdpa: a device returned by vdpa_gen_hold_adopt()
 * @copy: from vdpa_gen_hold_state_alloc() for @vdpa
 *
 * Return: the snapshot's generation, also in @copy->gen.
 */
u32 vdpa_gen_hold_read(struct vdpa_device *vdpa,
		       struct vdpa_gen_hold_state *copy)
{
	struct vdpa_gen_hold *h = to_hold(vdpa);
	struct vdpa_gen_hold_state *st = h->st;
	u8 *config = copy->config;

	spin_lock(&h->st_lock);
	memcpy(copy, st, struct_size(st, vqs, h->nvqs));
	memcpy(config, st->config, h->config_size);
	spin_unlock(&h->st_lock);
	copy->config = config;
	return copy->gen;
}
EXPORT_SYMBOL_GPL(vdpa_gen_hold_read);

/*
 * A held device goes for good: with its driver (whose reset stops the
 * function), then the function is disabled: the departed parent left it
 * enabled for the adopter.  @h is off the list already.
 */
static void hold_delete(struct vdpa_gen_hold *h)
{
	struct device *dma_dev = h->vdpa.dma_dev;

	get_device(&h->vdpa.dev);
	vdpa_unregister_device(&h->vdpa);
	/* Unless the function went to another driver meanwhile. */
	if (dma_dev && dev_is_pci(dma_dev) && !READ_ONCE(dma_dev->driver)) {
		pci_clear_master(to_pci_dev(dma_dev));
		pci_disable_device(to_pci_dev(dma_dev));
	}
	put_device(&h->vdpa.dev);
}

/*
 * A function removed (hot-unplug) while its device is held: nobody can
 * adopt it any more.  BUS_NOTIFY_DEL_DEVICE comes before the function is
 * torn down, so the driver's reset still reaches it.  A device being
 * adopted is its new parent's to delete (its remove runs next).
 */
static int hold_pci_notify(struct notifier_block *nb, unsigned long action,
			   void *data)
{
	struct vdpa_gen_hold *h, *found = NULL;
	struct device *dev = data;

	if (action != BUS_NOTIFY_DEL_DEVICE)
		return NOTIFY_DONE;
	mutex_lock(&hold_list_lock);
	list_for_each_entry(h, &hold_list, node) {
		if (h->vdpa.dma_dev == dev && !h->adopting) {
			list_del_init(&h->node);
			found = h;
			break;
		}
	}
	mutex_unlock(&hold_list_lock);
	if (!found)
		return NOTIFY_DONE;
	dev_info(&found->vdpa.dev, "function %s removed while held\n",
		 dev_name(dev));
	hold_delete(found);
	return NOTIFY_OK;
}

static struct notifier_block hold_pci_nb = {
	.notifier_call = hold_pci_notify,
};

int vdpa_gen_hold_init(void)
{
	return bus_register_notifier(&pci_bus_type, &hold_pci_nb);
}

/* Module exit: no parent is left to adopt what is held. */
void vdpa_gen_hold_exit(void)
{
	struct vdpa_gen_hold *h, *tmp;
	LIST_HEAD(gone);

	bus_unregister_notifier(&pci_bus_type, &hold_pci_nb);
	mutex_lock(&hold_list_lock);
	list_splice_init(&hold_list, &gone);
	mutex_unlock(&hold_list_lock);
	list_for_each_entry_safe(h, tmp, &gone, node) {
		list_del_init(&h->node);
		hold_delete(h);
	}
}

// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_gen core: the part of a generic vDPA device that does not depend on
 * the device type.  See vdpa_gen.h for the contract with type modules.
 *
 * Address spaces.  A vhost-vdpa user maps its memory with dma_map/set_map;
 * those maps survive a device reset (as with VHOST_BACKEND_F_IOTLB_PERSIST)
 * and go away when the user unmaps them.  An in-kernel driver (virtio_vdpa)
 * instead goes through the DMA ops of our dma_dev, which hand out IOVA == PA.
 * The first time those ops are used after a reset, every address space is
 * switched to a single identity map ("kernel DMA"); a reset or a map from
 * a vhost-vdpa user ends it.  A user-space driver therefore never sees the
 * identity map: vhost-vdpa never calls our DMA ops.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-map-ops.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vdpa_migrate.h>
#include <linux/virtio_config.h>

#include "vdpa_gen.h"
#include "hold.h"

/* Upper bound of IOTLB entries per address space a user may create. */
#define VDPA_GEN_IOTLB_LIMIT	65536

static struct workqueue_struct *vdpa_gen_wq;

static struct vdpa_gen_dev *dev_to_gen(struct device *dev)
{
	return vdpa_to_gen(dev_to_vdpa(dev));
}

static u8 vdpa_gen_status_read(struct vdpa_gen_dev *gdev)
{
	u8 status;

	spin_lock(&gdev->cfg_lock);
	status = gdev->status;
	spin_unlock(&gdev->cfg_lock);
	return status;
}

static void vdpa_gen_status_write(struct vdpa_gen_dev *gdev, u8 status)
{
	spin_lock(&gdev->cfg_lock);
	/* NEEDS_RESET sticks until reset, whatever the driver writes. */
	if (gdev->broken)
		status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	gdev->status = status;
	spin_unlock(&gdev->cfg_lock);
}

/*
 * Under cfg_lock: once set_config_cb returned, the callback it replaced is
 * not running any more and its argument may go (vdpa_migrate's is an
 * eventfd it puts right after).
 */
static void vdpa_gen_config_irq(struct vdpa_gen_dev *gdev)
{
	spin_lock(&gdev->cfg_lock);
	if (gdev->config_cb.callback)
		gdev->config_cb.callback(gdev->config_cb.private);
	spin_unlock(&gdev->cfg_lock);
}

/* ---- address spaces ---------------------------------------------------- */

static u32 vdpa_gen_vq_asid(struct vdpa_gen_dev *gdev, u16 idx)
{
	u32 group = 0;

	if (gdev->type->get_vq_group)
		group = gdev->type->get_vq_group(gdev, idx);
	return gdev->group_asid[group];
}

/* Called with iotlb_lock held. */
static void vdpa_gen_end_kernel_dma(struct vdpa_gen_dev *gdev)
{
	unsigned int i;

	if (!gdev->kernel_dma)
		return;
	for (i = 0; i < gdev->vdpa.nas; i++)
		vhost_iotlb_reset(&gdev->iotlb[i]);
	gdev->kernel_dma = false;
}

/*
 * Kernel DMA (virtio_vdpa) uses an identity map in every address space. If
 * it cannot be set up (the IOTLB entry is a GFP_ATOMIC allocation), the
 * mapping call fails and the next one tries again: a device without the map
 * could not reach any buffer and its driver would wait forever.
 */
static int vdpa_gen_begin_kernel_dma(struct vdpa_gen_dev *gdev)
{
	unsigned int i;
	int ret = 0;

	if (READ_ONCE(gdev->kernel_dma))
		return 0;

	spin_lock(&gdev->iotlb_lock);
	for (i = 0; !gdev->kernel_dma && i < gdev->vdpa.nas; i++) {
		vhost_iotlb_reset(&gdev->iotlb[i]);
		ret = vhost_iotlb_add_range(&gdev->iotlb[i], 0, ULONG_MAX,
					    0, VHOST_MAP_RW);
		if (ret)
			break;
	}
	if (ret) {
		for (i = 0; i < gdev->vdpa.nas; i++)
			vhost_iotlb_reset(&gdev->iotlb[i]);
	} else {
		WRITE_ONCE(gdev->kernel_dma, true);
	}
	spin_unlock(&gdev->iotlb_lock);
	return ret;
}

static void *vdpa_gen_dma_alloc(struct device *dev, size_t size,
				dma_addr_t *dma_addr, gfp_t gfp,
				unsigned long attrs)
{
	void *addr;

	addr = alloc_pages_exact(size, gfp | __GFP_ZERO);
	if (!addr)
		return NULL;
	if (vdpa_gen_begin_kernel_dma(dev_to_gen(dev))) {
		free_pages_exact(addr, size);
		return NULL;
	}
	*dma_addr = virt_to_phys(addr);
	return addr;
}

static void vdpa_gen_dma_free(struct device *dev, size_t size, void *addr,
			      dma_addr_t dma_addr, unsigned long attrs)
{
	free_pages_exact(addr, size);
}

static dma_addr_t vdpa_gen_dma_map_page(struct device *dev, struct page *page,
					unsigned long offset, size_t size,
					enum dma_data_direction dir,
					unsigned long attrs)
{
	if (vdpa_gen_begin_kernel_dma(dev_to_gen(dev)))
		return DMA_MAPPING_ERROR;
	return page_to_phys(page) + offset;
}

static void vdpa_gen_dma_unmap_page(struct device *dev, dma_addr_t dma_addr,
				    size_t size, enum dma_data_direction dir,
				    unsigned long attrs)
{
}

static int vdpa_gen_dma_map_sg(struct device *dev, struct scatterlist *sgl,
			       int nents, enum dma_data_direction dir,
			       unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	if (vdpa_gen_begin_kernel_dma(dev_to_gen(dev)))
		return -ENOMEM;
	for_each_sg(sgl, sg, nents, i) {
		sg->dma_address = sg_phys(sg);
		sg_dma_len(sg) = sg->length;
	}
	return nents;
}

static void vdpa_gen_dma_unmap_sg(struct device *dev, struct scatterlist *sgl,
				  int nents, enum dma_data_direction dir,
				  unsigned long attrs)
{
}

static const struct dma_map_ops vdpa_gen_dma_ops = {
	.alloc = vdpa_gen_dma_alloc,
	.free = vdpa_gen_dma_free,
	.map_page = vdpa_gen_dma_map_page,
	.unmap_page = vdpa_gen_dma_unmap_page,
	.map_sg = vdpa_gen_dma_map_sg,
	.unmap_sg = vdpa_gen_dma_unmap_sg,
};

/* ---- virtqueues ---------------------------------------------------------- */

static bool vdpa_gen_vq_layout_ok(const struct vdpa_gen_vq *vq)
{
	if (!vq->num || vq->num > VDPA_GEN_VQ_NUM_MAX || !is_power_of_2(vq->num))
		return false;
	/* Alignment the split ring layout requires (virtio 1.x 2.7). */
	return !(vq->desc_addr & 15) && !(vq->driver_addr & 1) &&
	       !(vq->device_addr & 3);
}

/* Called with vq->lock held. */
static int vdpa_gen_vq_start(struct vdpa_gen_vq *vq)
{
	struct vdpa_gen_dev *gdev = vq->dev;
	int err;

	if (!vdpa_gen_vq_layout_ok(vq))
		return -EINVAL;

	err = vringh_init_iotlb(&vq->vring, gdev->features, vq->num, false,
				(struct vring_desc *)(uintptr_t)vq->desc_addr,
				(struct vring_avail *)(uintptr_t)vq->driver_addr,
				(struct vring_used *)(uintptr_t)vq->device_addr);
	if (err)
		return err;
	vq->asid = vdpa_gen_vq_asid(gdev, vq->index);
	vringh_set_iotlb(&vq->vring, &gdev->iotlb[vq->asid], &gdev->iotlb_lock);
	vq->vring.last_avail_idx = vq->avail_base;
	vq->vring.last_used_idx = vq->used_base;
	/*
	 * Holes are stepped over without reading the ring, so the driver
	 * must have made the loaded state's positions available: otherwise
	 * the device would read slots the driver never filled.
	 */
	if (vq->n_skip) {
		__virtio16 *p = &vq->vring.vring.avail->idx;
		__le16 idx;

		if (vdpa_gen_iotlb_read(&vq->vring, (u64)(uintptr_t)p, &idx,
					sizeof(idx)) ||
		    (u16)(le16_to_cpu(idx) - vq->avail_base) <
		    (u16)(vq->replay_end - vq->avail_base))
			return -EINVAL;
	}
	vq->started = true;
	return 0;
}

/* Slot of available position @pos in &vdpa_gen_vq.heads. */
static u16 *vdpa_gen_vq_head_at(struct vdpa_gen_vq *vq, u16 pos)
{
	return &vq->heads[pos % VDPA_GEN_VQ_NUM_MAX];
}

/* Forget held, replayed and skipped chains; vq->lock held. */
static void vdpa_gen_vq_forget(struct vdpa_gen_vq *vq)
{
	vq->n_held = 0;
	vq->n_replay = 0;
	vq->n_skip = 0;
	vq->last_replay = false;
}

/*
 * Held chains go back to the ring, to be taken again (and checked) from
 * the oldest on; the holes between them are stepped over again.  Called
 * with vq->lock held on a started queue.
 */
static void vdpa_gen_vq_rewind(struct vdpa_gen_vq *vq)
{
	u16 window = vq->vring.last_avail_idx - vq->held_base;

	if (!vq->n_held)
		return;
	vringh_abandon_iotlb(&vq->vring, window);
	vq->n_skip += window - vq->n_held;
	vq->n_replay += vq->n_held;
	vq->n_held = 0;
}

/*
 * Called with vq->lock held.  Nothing is in flight across a stop: held
 * chains go back to the ring, to be taken again when the queue restarts
 * from the used index it reached.
 */
static void vdpa_gen_vq_stop(struct vdpa_gen_vq *vq)
{
	if (vq->started) {
		vdpa_gen_vq_rewind(vq);
		vq->avail_base = vq->vring.last_avail_idx;
		vq->used_base = vq->vring.last_used_idx + vq->vring.completed;
	}
	vq->started = false;
}

static void vdpa_gen_vq_clear(struct vdpa_gen_vq *vq)
{
	mutex_lock(&vq->lock);
	vq->started = false;
	vq->ready = false;
	vq->num = 0;
	vq->desc_addr = 0;
	vq->driver_addr = 0;
	vq->device_addr = 0;
	vq->avail_base = 0;
	vq->used_base = 0;
	/* Held chains are dropped: the driver that took them is gone. */
	vdpa_gen_vq_forget(vq);
	vq->cb.callback = NULL;
	vq->cb.private = NULL;
	vringh_kiov_cleanup(&vq->riov);
	vringh_kiov_cleanup(&vq->wiov);
	mutex_unlock(&vq->lock);
}

/* ---- dirty logging -------------------------------------------------------
 *
 * Every write of the device into driver memory goes through vringh with
 * IOVAs of the queue's address space, so the device knows exactly what it
 * wrote: buffer pieces (vdpa_gen_vq_push()), the used element and index
 * (vdpa_gen_vq_complete()) and the used flags or avail_event (re-enabling
 * notifications in the worker).  Each is reported after it was written.
 * In-kernel DMA (virtio_vdpa) is never logged: vdpa_migrate is not bound
 * then.
 */

/* Report [iova, iova + len) of the queue's address space; vq lock held. */
static void vdpa_gen_vq_log(struct vdpa_gen_vq *vq, u64 iova, u64 len)
{
	struct vdpa_mig_log *log;

	rcu_read_lock();
	log = rcu_dereference(vq->dev->log[vq->asid]);
	if (log)
		vdpa_mig_log_mark(log, iova, len);
	rcu_read_unlock();
}

/*
 * Report what the last push wrote into @iov: from element @i0, @off0 bytes
 * in, up to where @iov stands now.  vringh restores the base and length of
 * an element once it is used up and advances those of the current one.
 */
static void vdpa_gen_vq_log_iov(struct vdpa_gen_vq *vq,
				const struct vringh_kiov *iov,
				unsigned int i0, size_t off0)
{
	struct vdpa_mig_log *log;
	unsigned int k;

	rcu_read_lock();
	log = rcu_dereference(vq->dev->log[vq->asid]);
	for (k = i0; log && k <= iov->i && k < iov->used; k++) {
		u64 base = (u64)(uintptr_t)iov->iov[k].iov_base;
		size_t start = k == i0 ? off0 : 0, end = iov->iov[k].iov_len;

		if (k == iov->i) {
			base -= iov->consumed;
			end = iov->consumed;
		}
		if (end > start)
			vdpa_mig_log_mark(log, base + start, end - start);
	}
	rcu_read_unlock();
}

static int vdpa_gen_log_start(struct vdpa_device *vdpa, u32 asid,
			      struct vdpa_mig_log *log)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);
	int ret = 0;

	if (asid >= vdpa->nas)
		return -EINVAL;
	mutex_lock(&gdev->lock);
	if (rcu_access_pointer(gdev->log[asid]))
		ret = -EBUSY;
	else
		rcu_assign_pointer(gdev->log[asid], log);
	mutex_unlock(&gdev->lock);
	return ret;
}

static void vdpa_gen_log_stop(struct vdpa_device *vdpa, u32 asid)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);

	if (asid >= vdpa->nas)
		return;
	mutex_lock(&gdev->lock);
	RCU_INIT_POINTER(gdev->log[asid], NULL);
	mutex_unlock(&gdev->lock);
	/* Marks in progress end before the caller frees the log. */
	synchronize_rcu();
}

/* ---- data path ----------------------------------------------------------- */

bool vdpa_gen_vq_running(struct vdpa_gen_vq *vq)
{
	struct vdpa_gen_dev *gdev = vq->dev;

	lockdep_assert_held(&vq->lock);
	return vq->started && vq->ready && !READ_ONCE(gdev->suspended) &&
	       !READ_ONCE(gdev->broken) &&
	       (READ_ONCE(gdev->status) & VIRTIO_CONFIG_S_DRIVER_OK);
}
EXPORT_SYMBOL_GPL(vdpa_gen_vq_running);

int vdpa_gen_vq_get(struct vdpa_gen_vq *vq, u16 *head)
{
	u16 pos;
	int ret;

	/* What the source of a loaded state used is neither read nor run. */
	while (vq->n_skip &&
	       *vdpa_gen_vq_head_at(vq, vq->vring.last_avail_idx) ==
	       VDPA_GEN_HEAD_USED) {
		vq->vring.last_avail_idx++;
		vq->n_skip--;
	}
	pos = vq->vring.last_avail_idx;

	/* Handlers run in process context: the iov may grow with GFP_KERNEL. */
	ret = vringh_getdesc_iotlb(&vq->vring, &vq->riov, &vq->wiov, head,
				   GFP_KERNEL);
	if (ret < 0)
		vdpa_gen_fail(vq->dev, "malformed descriptor chain");
	vq->last_replay = ret > 0 && vq->n_replay;
	if (!vq->last_replay)
		return ret;
	/* A chain taken before, again: the driver may not have changed it. */
	vq->n_replay--;
	if (*head != *vdpa_gen_vq_head_at(vq, pos)) {
		vdpa_gen_fail(vq->dev, "in-flight request changed");
		return -EINVAL;
	}
	return ret;
}
EXPORT_SYMBOL_GPL(vdpa_gen_vq_get);

ssize_t vdpa_gen_vq_pull(struct vdpa_gen_vq *vq, void *dst, size_t len)
{
	ssize_t ret;

	ret = vringh_iov_pull_iotlb(&vq->vring, &vq->riov, dst, len);
	if (ret < 0)
		vdpa_gen_fail(vq->dev, "unreadable buffer");
	return ret;
}
EXPORT_SYMBOL_GPL(vdpa_gen_vq_pull);

ssize_t vdpa_gen_vq_push(struct vdpa_gen_vq *vq, const void *src, size_t len)
{
	unsigned int i0 = vq->wiov.i;
	size_t off0 = vq->wiov.consumed;
	ssize_t ret;

	ret = vringh_iov_push_iotlb(&vq->vring, &vq->wiov, src, len);
	/* Even a failed push may have written its first pieces. */
	vdpa_gen_vq_log_iov(vq, &vq->wiov, i0, off0);
	if (ret < 0)
		vdpa_gen_fail(vq->dev, "unwritable buffer");
	return ret;
}
EXPORT_SYMBOL_GPL(vdpa_gen_vq_push);

int vdpa_gen_iotlb_read(struct vringh *vrh, u64 iova, void *buf, size_t len)
{
	struct kvec kv = { .iov_base = (void *)(uintptr_t)iova, .iov_len = len };
	struct vringh_kiov kiov;

	vringh_kiov_init(&kiov, &kv, 1);
	kiov.used = 1;
	return vringh_iov_pull_iotlb(vrh, &kiov, buf, len) == len ? 0 : -EFAULT;
}
EXPORT_SYMBOL_GPL(vdpa_gen_iotlb_read);

int vdpa_gen_iotlb_write(struct vringh *vrh, u64 iova, const void *buf,
			 size_t len)
{
	struct kvec kv = { .iov_base = (void *)(uintptr_t)iova, .iov_len = len };
	struct vringh_kiov kiov;

	vringh_kiov_init(&kiov, &kv, 1);
	kiov.used = 1;
	return vringh_iov_push_iotlb(vrh, &kiov, buf, len) == len ? 0 : -EFAULT;
}
EXPORT_SYMBOL_GPL(vdpa_gen_iotlb_write);

void vdpa_gen_vq_put_back(struct vdpa_gen_vq *vq)
{
	vringh_abandon_iotlb(&vq->vring, 1);
	if (vq->last_replay)
		vq->n_replay++;
	vq->last_replay = false;
}
EXPORT_SYMBOL_GPL(vdpa_gen_vq_put_back);

int vdpa_gen_vq_hold(struct vdpa_gen_vq *vq, u16 head)
{
	lockdep_assert_held(&vq->lock);
	if (!vq->n_held)
		vq->held_base = vq->vring.last_avail_idx - 1;
	/* Holes count: the heads of a whole ring's positions are kept. */
	if ((u16)(vq->vring.last_avail_idx - vq->held_base) >
	    vq->vring.vring.num) {
		vdpa_gen_fail(vq->dev, "more requests than queue entries");
		return -ENOSPC;
	}
	*vdpa_gen_vq_head_at(vq, vq->vring.last_avail_idx - 1) = head;
	vq->n_held++;
	vq->last_replay = false;
	return 0;
}
EXPORT_SYMBOL_GPL(vdpa_gen_vq_hold);

void vdpa_gen_vq_unhold(struct vdpa_gen_vq *vq)
{
	lockdep_assert_held(&vq->lock);
	if (!vq->started)
		return;
	/* Their heads stay recorded: vdpa_gen_vq_get() checks them. */
	vdpa_gen_vq_rewind(vq);
}
EXPORT_SYMBOL_GPL(vdpa_gen_vq_unhold);

u32 vdpa_gen_held(struct vdpa_gen_dev *gdev)
{
	u32 i, n = 0;

	for (i = 0; i < gdev->nvqs; i++) {
		mutex_lock(&gdev->vqs[i].lock);
		n += gdev->vqs[i].n_held;
		mutex_unlock(&gdev->vqs[i].lock);
	}
	return n;
}
EXPORT_SYMBOL_GPL(vdpa_gen_held);

void vdpa_gen_unhold(struct vdpa_gen_dev *gdev)
{
	u32 i;

	for (i = 0; i < gdev->nvqs; i++) {
		mutex_lock(&gdev->vqs[i].lock);
		vdpa_gen_vq_unhold(&gdev->vqs[i]);
		mutex_unlock(&gdev->vqs[i].lock);
		vdpa_gen_vq_kick(&gdev->vqs[i]);
	}
}
EXPORT_SYMBOL_GPL(vdpa_gen_unhold);

void vdpa_gen_vq_complete(struct vdpa_gen_vq *vq, u16 head, u32 len)
{
	const struct vring *vr = &vq->vring.vring;
	u16 off = (u16)(vq->vring.last_used_idx + vq->vring.completed) %
		  vr->num;

	/* Used entries would overtake the held ones: a type bug. */
	if (WARN_ON_ONCE(vq->n_held))
		return;
	if (vringh_complete_iotlb(&vq->vring, head, len)) {
		vdpa_gen_fail(vq->dev, "used ring not writable");
		return;
	}
	vdpa_gen_vq_log(vq, (u64)(uintptr_t)&vr->used->ring[off],
			sizeof(vr->used->ring[off]));
	vdpa_gen_vq_log(vq, (u64)(uintptr_t)&vr->used->idx,
			sizeof(vr->used->idx));
}
EXPORT_SYMBOL_GPL(vdpa_gen_vq_complete);

void vdpa_gen_vq_notify(struct vdpa_gen_vq *vq)
{
	int ret;

	ret = vringh_need_notify_iotlb(&vq->vring);
	if (ret < 0) {
		vdpa_gen_fail(vq->dev, "avail ring not readable");
		return;
	}
	if (!ret || !vq->cb.callback)
		return;
	/* The callback may raise a softirq (NAPI): let it run on return. */
	local_bh_disable();
	vq->cb.callback(vq->cb.private);
	local_bh_enable();
}
EXPORT_SYMBOL_GPL(vdpa_gen_vq_notify);

void vdpa_gen_vq_kick(struct vdpa_gen_vq *vq)
{
	queue_work(vdpa_gen_wq, &vq->work);
}
EXPORT_SYMBOL_GPL(vdpa_gen_vq_kick);

/*
 * Report what re-enabling notifications wrote: avail_event or flags.  The
 * vring holds IOVAs as pointers (see vringh_init_iotlb()): only addresses
 * are computed from them, nothing is dereferenced.
 */
static void vdpa_gen_vq_log_notify(struct vdpa_gen_vq *vq)
{
	const struct vring *vr = &vq->vring.vring;

	if (vq->vring.event_indices)
		vdpa_gen_vq_log(vq, (u64)(uintptr_t)&vr->used->ring[vr->num],
				sizeof(__virtio16));
	else
		vdpa_gen_vq_log(vq, (u64)(uintptr_t)&vr->used->flags,
				sizeof(vr->used->flags));
}

static void vdpa_gen_vq_work(struct work_struct *work)
{
	struct vdpa_gen_vq *vq = container_of(work, struct vdpa_gen_vq, work);
	struct vdpa_gen_dev *gdev = vq->dev;
	bool more = false;

	mutex_lock(&vq->lock);
	if (vdpa_gen_vq_running(vq)) {
		more = gdev->type->handle_vq(gdev, vq);
		/*
		 * Publish how far we got (avail_event or the NO_NOTIFY flag)
		 * so that the driver kicks again; it returns false if more
		 * buffers slipped in meanwhile.
		 */
		if (!more) {
			if (!vringh_notify_enable_iotlb(&vq->vring))
				more = true;
			vdpa_gen_vq_log_notify(vq);
		}
	}
	mutex_unlock(&vq->lock);

	if (more)
		vdpa_gen_vq_kick(vq);
}

void vdpa_gen_fail(struct vdpa_gen_dev *gdev, const char *why)
{
	bool first;

	spin_lock(&gdev->cfg_lock);
	first = !gdev->broken;
	WRITE_ONCE(gdev->broken, true);
	gdev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	spin_unlock(&gdev->cfg_lock);

	if (!first)
		return;
	dev_err_ratelimited(&gdev->vdpa.dev, "%s: device needs reset\n", why);
	vdpa_gen_config_irq(gdev);
}
EXPORT_SYMBOL_GPL(vdpa_gen_fail);

void vdpa_gen_config_changed(struct vdpa_gen_dev *gdev)
{
	spin_lock(&gdev->cfg_lock);
	gdev->generation++;
	spin_unlock(&gdev->cfg_lock);
	if (vdpa_gen_status_read(gdev) & VIRTIO_CONFIG_S_DRIVER_OK)
		vdpa_gen_config_irq(gdev);
}
EXPORT_SYMBOL_GPL(vdpa_gen_config_changed);

/* ---- vdpa_config_ops --------------------------------------------------- */

static struct vdpa_gen_vq *vdpa_gen_get_vq(struct vdpa_device *vdpa, u16 idx)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);

	if (idx >= gdev->nvqs)
		return NULL;
	return &gdev->vqs[idx];
}

static int vdpa_gen_set_vq_address(struct vdpa_device *vdpa, u16 idx,
				   u64 desc_area, u64 driver_area,
				   u64 device_area)
{
	struct vdpa_gen_vq *vq = vdpa_gen_get_vq(vdpa, idx);

	if (!vq)
		return -EINVAL;
	mutex_lock(&vq->lock);
	vq->desc_addr = desc_area;
	vq->driver_addr = driver_area;
	vq->device_addr = device_area;
	mutex_unlock(&vq->lock);
	return 0;
}

static void vdpa_gen_set_vq_num(struct vdpa_device *vdpa, u16 idx, u32 num)
{
	struct vdpa_gen_vq *vq = vdpa_gen_get_vq(vdpa, idx);

	if (!vq)
		return;
	mutex_lock(&vq->lock);
	vq->num = num;
	mutex_unlock(&vq->lock);
}

static void vdpa_gen_kick_vq(struct vdpa_device *vdpa, u16 idx)
{
	struct vdpa_gen_vq *vq = vdpa_gen_get_vq(vdpa, idx);

	if (vq)
		vdpa_gen_vq_kick(vq);
}

static void vdpa_gen_set_vq_cb(struct vdpa_device *vdpa, u16 idx,
			       struct vdpa_callback *cb)
{
	struct vdpa_gen_vq *vq = vdpa_gen_get_vq(vdpa, idx);

	if (!vq)
		return;
	mutex_lock(&vq->lock);
	vq->cb = *cb;
	mutex_unlock(&vq->lock);
}

static void vdpa_gen_set_vq_ready(struct vdpa_device *vdpa, u16 idx,
				  bool ready)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);
	struct vdpa_gen_vq *vq = vdpa_gen_get_vq(vdpa, idx);
	bool failed = false;

	if (!vq)
		return;

	mutex_lock(&gdev->lock);
	mutex_lock(&vq->lock);
	vq->ready = ready;
	if (!ready)
		vdpa_gen_vq_stop(vq);
	else if (!vq->started &&
		 (gdev->status & VIRTIO_CONFIG_S_DRIVER_OK))
		failed = vdpa_gen_vq_start(vq) != 0;
	mutex_unlock(&vq->lock);
	mutex_unlock(&gdev->lock);

	if (failed)
		vdpa_gen_fail(gdev, "virtqueue cannot start (layout, loaded state)");
	else if (ready)
		vdpa_gen_vq_kick(vq);
}

static bool vdpa_gen_get_vq_ready(struct vdpa_device *vdpa, u16 idx)
{
	struct vdpa_gen_vq *vq = vdpa_gen_get_vq(vdpa, idx);
	bool ready;

	if (!vq)
		return false;
	mutex_lock(&vq->lock);
	ready = vq->ready;
	mutex_unlock(&vq->lock);
	return ready;
}

static int vdpa_gen_set_vq_state(struct vdpa_device *vdpa, u16 idx,
				 const struct vdpa_vq_state *state)
{
	struct vdpa_gen_vq *vq = vdpa_gen_get_vq(vdpa, idx);

	if (!vq)
		return -EINVAL;
	mutex_lock(&vq->lock);
	vq->avail_base = state->split.avail_index;
	vq->used_base = vq->avail_base;
	vdpa_gen_vq_forget(vq);
	if (vq->started) {
		vq->vring.last_avail_idx = vq->avail_base;
		vq->vring.last_used_idx = vq->used_base;
	}
	mutex_unlock(&vq->lock);
	return 0;
}

static int vdpa_gen_get_vq_state(struct vdpa_device *vdpa, u16 idx,
				 struct vdpa_vq_state *state)
{
	struct vdpa_gen_vq *vq = vdpa_gen_get_vq(vdpa, idx);

	if (!vq)
		return -EINVAL;
	/*
	 * Held chains count as not taken: a user that knows nothing of
	 * requests in flight restarts from the oldest and loses none.  Holes
	 * of a loaded state (used out of order) have no such index while
	 * requests wait among or behind them; once only holes are left ahead,
	 * the index is past them.
	 */
	mutex_lock(&vq->lock);
	if ((vq->n_skip && (vq->n_replay || vq->n_held)) ||
	    (vq->started && vq->n_held &&
	     (u16)(vq->vring.last_avail_idx - vq->held_base) != vq->n_held)) {
		mutex_unlock(&vq->lock);
		return -EOPNOTSUPP;
	}
	if (vq->n_skip)
		state->split.avail_index = vq->replay_end;
	else if (!vq->started)
		state->split.avail_index = vq->avail_base;
	else if (vq->n_held)
		state->split.avail_index = vq->held_base;
	else
		state->split.avail_index = vq->vring.last_avail_idx;
	mutex_unlock(&vq->lock);
	return 0;
}

static u32 vdpa_gen_get_vq_align(struct vdpa_device *vdpa)
{
	return VDPA_GEN_VQ_ALIGN;
}

static u32 vdpa_gen_get_vq_group(struct vdpa_device *vdpa, u16 idx)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);

	if (idx >= gdev->nvqs || !gdev->type->get_vq_group)
		return 0;
	return gdev->type->get_vq_group(gdev, idx);
}

static u64 vdpa_gen_get_device_features(struct vdpa_device *vdpa)
{
	return vdpa_to_gen(vdpa)->device_features;
}

static int vdpa_gen_set_driver_features(struct vdpa_device *vdpa, u64 features)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);
	int ret = 0;

	mutex_lock(&gdev->lock);
	if (gdev->status & VIRTIO_CONFIG_S_FEATURES_OK)
		ret = -EBUSY;
	else if (features & ~gdev->device_features)
		ret = -EINVAL;
	else
		gdev->features = features;
	mutex_unlock(&gdev->lock);
	return ret;
}

static u64 vdpa_gen_get_driver_features(struct vdpa_device *vdpa)
{
	return vdpa_to_gen(vdpa)->features;
}

static void vdpa_gen_set_config_cb(struct vdpa_device *vdpa,
				   struct vdpa_callback *cb)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);

	spin_lock(&gdev->cfg_lock);
	gdev->config_cb = *cb;
	spin_unlock(&gdev->cfg_lock);
}

static u16 vdpa_gen_get_vq_num_max(struct vdpa_device *vdpa)
{
	return VDPA_GEN_VQ_NUM_MAX;
}

static u16 vdpa_gen_get_vq_num_min(struct vdpa_device *vdpa)
{
	return 1;
}

static u32 vdpa_gen_get_device_id(struct vdpa_device *vdpa)
{
	return vdpa_to_gen(vdpa)->type->device_id;
}

static u32 vdpa_gen_get_vendor_id(struct vdpa_device *vdpa)
{
	return 0;
}

static u8 vdpa_gen_get_status(struct vdpa_device *vdpa)
{
	return vdpa_gen_status_read(vdpa_to_gen(vdpa));
}

/* Called with gdev->lock held. */
static void vdpa_gen_do_reset(struct vdpa_gen_dev *gdev)
{
	u32 i;

	for (i = 0; i < gdev->nvqs; i++)
		vdpa_gen_vq_clear(&gdev->vqs[i]);

	spin_lock(&gdev->iotlb_lock);
	vdpa_gen_end_kernel_dma(gdev);
	for (i = 0; i < VDPA_GEN_MAX_GROUPS; i++)
		gdev->group_asid[i] = 0;
	spin_unlock(&gdev->iotlb_lock);

	if (gdev->type->reset)
		gdev->type->reset(gdev);

	gdev->features = 0;
	WRITE_ONCE(gdev->suspended, false);
	spin_lock(&gdev->cfg_lock);
	/*
	 * Forget the driver's config callback like the queue callbacks: a
	 * driver that unbinds resets the device and may free what it points
	 * to, and the next driver installs its own after its reset.
	 */
	gdev->config_cb.callback = NULL;
	gdev->config_cb.private = NULL;
	WRITE_ONCE(gdev->broken, false);
	gdev->status = 0;
	gdev->generation++;
	spin_unlock(&gdev->cfg_lock);
}

/* Called with gdev->lock held; returns the status to store. */
static u8 vdpa_gen_features_ok(struct vdpa_gen_dev *gdev, u8 status)
{
	u64 features = gdev->features;

	if (!(features & BIT_ULL(VIRTIO_F_VERSION_1)) ||
	    (features & ~gdev->device_features) ||
	    (gdev->type->set_features && gdev->type->set_features(gdev, features)))
		status &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	return status;
}

static void vdpa_gen_set_status(struct vdpa_device *vdpa, u8 status)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);
	bool failed = false;
	u8 old;
	u32 i;

	mutex_lock(&gdev->lock);
	if (!status) {
		vdpa_gen_do_reset(gdev);
		mutex_unlock(&gdev->lock);
		return;
	}

	old = vdpa_gen_status_read(gdev);
	if ((status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(old & VIRTIO_CONFIG_S_FEATURES_OK))
		status = vdpa_gen_features_ok(gdev, status);

	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
		for (i = 0; i < gdev->nvqs; i++) {
			struct vdpa_gen_vq *vq = &gdev->vqs[i];

			mutex_lock(&vq->lock);
			if (vq->ready && !vq->started && vdpa_gen_vq_start(vq))
				failed = true;
			mutex_unlock(&vq->lock);
		}
	}

	vdpa_gen_status_write(gdev, status);
	if (gdev->type->set_status)
		gdev->type->set_status(gdev, old);
	mutex_unlock(&gdev->lock);

	if (failed) {
		vdpa_gen_fail(gdev, "virtqueue cannot start (layout, loaded state)");
		return;
	}
	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(old & VIRTIO_CONFIG_S_DRIVER_OK))
		for (i = 0; i < gdev->nvqs; i++)
			vdpa_gen_vq_kick(&gdev->vqs[i]);
}

static int vdpa_gen_reset(struct vdpa_device *vdpa)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);

	mutex_lock(&gdev->lock);
	vdpa_gen_do_reset(gdev);
	mutex_unlock(&gdev->lock);
	return 0;
}

static int vdpa_gen_suspend(struct vdpa_device *vdpa)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);
	int ret = 0;
	u32 i;

	mutex_lock(&gdev->lock);
	WRITE_ONCE(gdev->suspended, true);
	/* Wait for handlers that started before the flag was set. */
	for (i = 0; i < gdev->nvqs; i++) {
		mutex_lock(&gdev->vqs[i].lock);
		mutex_unlock(&gdev->vqs[i].lock);
	}
	if (gdev->type->suspend)
		ret = gdev->type->suspend(gdev);
	if (ret)
		WRITE_ONCE(gdev->suspended, false);
	mutex_unlock(&gdev->lock);
	/* Not stopped after all: pick up what was kicked meanwhile. */
	for (i = 0; ret && i < gdev->nvqs; i++)
		vdpa_gen_vq_kick(&gdev->vqs[i]);
	return ret;
}

/*
 * The undo of vdpa_gen_suspend(): handlers run again, and a kick picks up
 * whatever the driver made available while the device was stopped.
 */
static int vdpa_gen_resume(struct vdpa_device *vdpa)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);
	u32 i;

	mutex_lock(&gdev->lock);
	WRITE_ONCE(gdev->suspended, false);
	mutex_unlock(&gdev->lock);
	for (i = 0; i < gdev->nvqs; i++)
		vdpa_gen_vq_kick(&gdev->vqs[i]);
	return 0;
}

/* Add the positions in [@from, @to) that are no holes to @st's list. */
static int vdpa_gen_vq_list(struct vdpa_gen_vq *vq,
			    struct vdpa_mig_vq_state *st, u16 from, u16 to)
{
	for (u16 pos = from; pos != to; pos++) {
		u16 head = *vdpa_gen_vq_head_at(vq, pos);

		if (head == VDPA_GEN_HEAD_USED)
			continue;
		if (st->n_inflight >= st->max_inflight)
			return -ENOSPC;
		st->inflight[st->n_inflight].head = cpu_to_le32(head);
		st->inflight[st->n_inflight].avail_pos = cpu_to_le32(pos);
		st->n_inflight++;
	}
	return 0;
}

/*
 * Migration: a queue's position.  Handlers use every chain they take
 * before they return, except the chains a type holds (vdpa_gen_vq_hold()),
 * and suspend waits for them.  Held chains are the last ones taken, so a
 * suspended queue is in flight from the oldest held chain to avail, holes
 * aside: those are reported, oldest first.  Chains put back or loaded to
 * be run again count as not taken yet, unless holes are still ahead of
 * them: then avail stays the loaded one and they are listed too.
 */
static int vdpa_gen_get_vq_mig_state(struct vdpa_device *vdpa, u16 idx,
				     struct vdpa_mig_vq_state *st)
{
	struct vdpa_gen_vq *vq = vdpa_gen_get_vq(vdpa, idx);
	int ret = 0;
	u16 next;

	if (!vq)
		return -EINVAL;
	memset(st, 0, offsetof(struct vdpa_mig_vq_state, max_inflight));
	mutex_lock(&vq->lock);
	if (!vq->started) {
		next = vq->avail_base;
		st->used_idx = vq->used_base;
	} else {
		next = vq->vring.last_avail_idx;
		/* vringh counts completions not yet notified separately. */
		st->used_idx = (u16)(vq->vring.last_used_idx +
				     vq->vring.completed);
		if (vq->n_held)
			ret = vdpa_gen_vq_list(vq, st, vq->held_base, next);
	}
	st->avail_idx = vq->n_skip ? vq->replay_end : next;
	if (!ret && vq->n_skip)
		ret = vdpa_gen_vq_list(vq, st, next, vq->replay_end);
	mutex_unlock(&vq->lock);
	return ret;
}

/*
 * Loading: the device takes requests in ring order.  It starts at the
 * oldest in-flight position and its used index at the state's; between
 * there and avail, each position is either in flight, to be taken again
 * (and checked to still hold the recorded head when it is taken), or was
 * used by the source out of order, to be stepped over without reading it.
 * The list must name each position once, oldest first, and account for
 * every request between used and avail; anything else is refused before
 * anything changes.  A request is taken again when its type takes the next
 * chain: at once for blk and net TX, but net RX waits for a frame, and
 * with holes before its position a driver that refills the ring may reuse
 * that slot first; the head check then stops the device (NEEDS_RESET)
 * instead of running another chain.
 */
static int vdpa_gen_set_vq_mig_state(struct vdpa_device *vdpa, u16 idx,
				     const struct vdpa_mig_vq_state *st)
{
	struct vdpa_gen_vq *vq = vdpa_gen_get_vq(vdpa, idx);
	u16 avail = st->avail_idx, first = avail, prev = 0;
	u32 i;

	if (!vq || st->avail_idx > U16_MAX || st->used_idx > U16_MAX)
		return -EINVAL;
	if (st->n_inflight > VDPA_GEN_VQ_NUM_MAX)
		return -EINVAL;
	for (i = 0; i < st->n_inflight; i++) {
		u16 pos = le32_to_cpu(st->inflight[i].avail_pos);
		u16 dist = avail - pos;

		if (!dist || dist > VDPA_GEN_VQ_NUM_MAX || (i && dist >= prev) ||
		    le32_to_cpu(st->inflight[i].head) >= VDPA_GEN_HEAD_USED)
			return -EINVAL;
		if (!i)
			first = pos;
		prev = dist;
	}
	/* More listed than used leaves open: no state a source can have. */
	if ((u16)(avail - st->used_idx) < st->n_inflight)
		return -EINVAL;
	/* Requests neither used nor listed: nothing could run them. */
	if ((u16)(avail - st->used_idx) > st->n_inflight)
		return -EOPNOTSUPP;

	mutex_lock(&vq->lock);
	if (vq->started) {
		mutex_unlock(&vq->lock);
		return -EBUSY;
	}
	vq->avail_base = first;
	vq->used_base = st->used_idx;
	vdpa_gen_vq_forget(vq);
	for (u16 pos = first; pos != avail; pos++)
		*vdpa_gen_vq_head_at(vq, pos) = VDPA_GEN_HEAD_USED;
	for (i = 0; i < st->n_inflight; i++) {
		u16 pos = le32_to_cpu(st->inflight[i].avail_pos);

		*vdpa_gen_vq_head_at(vq, pos) = le32_to_cpu(st->inflight[i].head);
	}
	vq->n_replay = st->n_inflight;
	vq->n_skip = (u16)(avail - first) - st->n_inflight;
	vq->replay_end = avail;
	mutex_unlock(&vq->lock);
	return 0;
}

static size_t vdpa_gen_type_state_size(struct vdpa_device *vdpa)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);

	return gdev->type->state_size ? gdev->type->state_size(gdev) : 0;
}

static int vdpa_gen_save_type_state(struct vdpa_device *vdpa,
				    struct vdpa_mig_writer *w)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);

	return gdev->type->save_state ? gdev->type->save_state(gdev, w) : 0;
}

static int vdpa_gen_load_type_record(struct vdpa_device *vdpa, u32 type,
				     const void *data, u32 len, bool commit)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);

	if (!gdev->type->load_record)
		return -EOPNOTSUPP;
	return gdev->type->load_record(gdev, type, data, len, commit);
}

static const struct vdpa_migrate_ops vdpa_gen_migrate_ops = {
	.resume = vdpa_gen_resume,
	.get_vq_mig_state = vdpa_gen_get_vq_mig_state,
	.set_vq_mig_state = vdpa_gen_set_vq_mig_state,
	.type_state_size = vdpa_gen_type_state_size,
	.save_type_state = vdpa_gen_save_type_state,
	.load_type_record = vdpa_gen_load_type_record,
	.log_start = vdpa_gen_log_start,
	.log_stop = vdpa_gen_log_stop,
};

static size_t vdpa_gen_get_config_size(struct vdpa_device *vdpa)
{
	return vdpa_to_gen(vdpa)->type->config_size;
}

static bool vdpa_gen_config_range_ok(struct vdpa_gen_dev *gdev,
				     unsigned int offset, unsigned int len)
{
	size_t size = gdev->type->config_size;

	return offset <= size && len <= size - offset;
}

static void vdpa_gen_get_config(struct vdpa_device *vdpa, unsigned int offset,
				void *buf, unsigned int len)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);

	if (!vdpa_gen_config_range_ok(gdev, offset, len)) {
		memset(buf, 0, len);
		return;
	}
	spin_lock(&gdev->cfg_lock);
	memcpy(buf, gdev->config + offset, len);
	spin_unlock(&gdev->cfg_lock);
}

static void vdpa_gen_set_config(struct vdpa_device *vdpa, unsigned int offset,
				const void *buf, unsigned int len)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);

	if (!vdpa_gen_config_range_ok(gdev, offset, len) ||
	    !gdev->type->set_config)
		return;
	gdev->type->set_config(gdev, offset, buf, len);
}

static u32 vdpa_gen_get_generation(struct vdpa_device *vdpa)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);
	u32 gen;

	spin_lock(&gdev->cfg_lock);
	gen = gdev->generation;
	spin_unlock(&gdev->cfg_lock);
	return gen;
}

/*
 * Translation is done in software and could take any IOVA; 48 bits is what
 * an x86 IOMMU offers, so user drivers see a realistic bound that they
 * must respect (and tests can check that it is enforced).
 */
static struct vdpa_iova_range vdpa_gen_get_iova_range(struct vdpa_device *vdpa)
{
	struct vdpa_iova_range range = {
		.first = 0,
		.last = (1ULL << 48) - 1,
	};

	return range;
}

static int vdpa_gen_set_map(struct vdpa_device *vdpa, unsigned int asid,
			    struct vhost_iotlb *iotlb)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);
	struct vhost_iotlb_map *map;
	struct vhost_iotlb *as;
	int ret = 0;

	if (asid >= vdpa->nas)
		return -EINVAL;

	spin_lock(&gdev->iotlb_lock);
	vdpa_gen_end_kernel_dma(gdev);
	as = &gdev->iotlb[asid];
	vhost_iotlb_reset(as);
	for (map = vhost_iotlb_itree_first(iotlb, 0, ULLONG_MAX); map;
	     map = vhost_iotlb_itree_next(map, 0, ULLONG_MAX)) {
		ret = vhost_iotlb_add_range(as, map->start, map->last,
					    map->addr, map->perm);
		if (ret) {
			vhost_iotlb_reset(as);
			break;
		}
	}
	spin_unlock(&gdev->iotlb_lock);
	return ret;
}

static int vdpa_gen_dma_map(struct vdpa_device *vdpa, unsigned int asid,
			    u64 iova, u64 size, u64 pa, u32 perm, void *opaque)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);
	int ret;

	if (asid >= vdpa->nas || !size || iova + size - 1 < iova)
		return -EINVAL;

	spin_lock(&gdev->iotlb_lock);
	vdpa_gen_end_kernel_dma(gdev);
	ret = vhost_iotlb_add_range_ctx(&gdev->iotlb[asid], iova,
					iova + size - 1, pa, perm, opaque);
	spin_unlock(&gdev->iotlb_lock);
	return ret;
}

static int vdpa_gen_dma_unmap(struct vdpa_device *vdpa, unsigned int asid,
			      u64 iova, u64 size)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);

	if (asid >= vdpa->nas || !size || iova + size - 1 < iova)
		return -EINVAL;

	spin_lock(&gdev->iotlb_lock);
	vdpa_gen_end_kernel_dma(gdev);
	vhost_iotlb_del_range(&gdev->iotlb[asid], iova, iova + size - 1);
	spin_unlock(&gdev->iotlb_lock);
	return 0;
}

static int vdpa_gen_set_group_asid(struct vdpa_device *vdpa,
				   unsigned int group, unsigned int asid)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);
	u32 i;

	if (group >= vdpa->ngroups || asid >= vdpa->nas)
		return -EINVAL;

	mutex_lock(&gdev->lock);
	spin_lock(&gdev->iotlb_lock);
	gdev->group_asid[group] = asid;
	spin_unlock(&gdev->iotlb_lock);
	for (i = 0; i < gdev->nvqs; i++) {
		struct vdpa_gen_vq *vq = &gdev->vqs[i];

		if (vdpa_gen_get_vq_group(vdpa, i) != group)
			continue;
		mutex_lock(&vq->lock);
		if (vq->started) {
			vq->asid = asid;
			vringh_set_iotlb(&vq->vring, &gdev->iotlb[asid],
					 &gdev->iotlb_lock);
		}
		mutex_unlock(&vq->lock);
	}
	mutex_unlock(&gdev->lock);
	return 0;
}

static void vdpa_gen_free(struct vdpa_device *vdpa)
{
	struct vdpa_gen_dev *gdev = vdpa_to_gen(vdpa);
	unsigned int i;

	/* No handler may run while the type frees what handlers use. */
	for (i = 0; gdev->vqs && i < gdev->nvqs; i++)
		cancel_work_sync(&gdev->vqs[i].work);
	if (gdev->type && gdev->type->release)
		gdev->type->release(gdev);

	for (i = 0; gdev->vqs && i < gdev->nvqs; i++) {
		vringh_kiov_cleanup(&gdev->vqs[i].riov);
		vringh_kiov_cleanup(&gdev->vqs[i].wiov);
		kfree(gdev->vqs[i].heads);
		mutex_destroy(&gdev->vqs[i].lock);
	}
	for (i = 0; i < VDPA_GEN_MAX_AS; i++)
		vhost_iotlb_reset(&gdev->iotlb[i]);
	/* The device is off the bus: nobody can look the ops up any more. */
	vdpa_migrate_ops_unregister(vdpa);
	kfree(gdev->vqs);
	kfree(gdev->config);
	mutex_destroy(&gdev->lock);
}

static const struct vdpa_config_ops vdpa_gen_config_ops = {
	.set_vq_address = vdpa_gen_set_vq_address,
	.set_vq_num = vdpa_gen_set_vq_num,
	.kick_vq = vdpa_gen_kick_vq,
	.set_vq_cb = vdpa_gen_set_vq_cb,
	.set_vq_ready = vdpa_gen_set_vq_ready,
	.get_vq_ready = vdpa_gen_get_vq_ready,
	.set_vq_state = vdpa_gen_set_vq_state,
	.get_vq_state = vdpa_gen_get_vq_state,
	.get_vq_align = vdpa_gen_get_vq_align,
	.get_vq_group = vdpa_gen_get_vq_group,
	.get_device_features = vdpa_gen_get_device_features,
	.set_driver_features = vdpa_gen_set_driver_features,
	.get_driver_features = vdpa_gen_get_driver_features,
	.set_config_cb = vdpa_gen_set_config_cb,
	.get_vq_num_max = vdpa_gen_get_vq_num_max,
	.get_vq_num_min = vdpa_gen_get_vq_num_min,
	.get_device_id = vdpa_gen_get_device_id,
	.get_vendor_id = vdpa_gen_get_vendor_id,
	.get_status = vdpa_gen_get_status,
	.set_status = vdpa_gen_set_status,
	.reset = vdpa_gen_reset,
	.suspend = vdpa_gen_suspend,
	.get_config_size = vdpa_gen_get_config_size,
	.get_config = vdpa_gen_get_config,
	.set_config = vdpa_gen_set_config,
	.get_generation = vdpa_gen_get_generation,
	.get_iova_range = vdpa_gen_get_iova_range,
	.set_map = vdpa_gen_set_map,
	.dma_map = vdpa_gen_dma_map,
	.dma_unmap = vdpa_gen_dma_unmap,
	.set_group_asid = vdpa_gen_set_group_asid,
	.free = vdpa_gen_free,
};

struct vdpa_gen_dev *vdpa_gen_create(const struct vdpa_gen_type *type,
				     struct device *parent, const char *name,
				     size_t size, u32 nvqs)
{
	struct vdpa_gen_dev *gdev;
	struct vdpa_device *vdpa;
	struct device *dev;
	u32 i;
	int ret;

	if (WARN_ON(size < sizeof(*gdev) || !type->handle_vq ||
		    !type->ngroups || type->ngroups > VDPA_GEN_MAX_GROUPS ||
		    !type->nas || type->nas > VDPA_GEN_MAX_AS) || !nvqs)
		return ERR_PTR(-EINVAL);

	vdpa = __vdpa_alloc_device(parent, &vdpa_gen_config_ops, type->ngroups,
				   type->nas, size, name, false);
	if (IS_ERR(vdpa))
		return ERR_CAST(vdpa);

	gdev = vdpa_to_gen(vdpa);
	gdev->type = type;
	mutex_init(&gdev->lock);
	spin_lock_init(&gdev->iotlb_lock);
	spin_lock_init(&gdev->cfg_lock);
	for (i = 0; i < VDPA_GEN_MAX_AS; i++)
		vhost_iotlb_init(&gdev->iotlb[i], VDPA_GEN_IOTLB_LIMIT, 0);
	gdev->device_features = VDPA_GEN_CORE_FEATURES | type->features;

	ret = -ENOMEM;
	gdev->config = kzalloc(type->config_size, GFP_KERNEL);
	if (!gdev->config)
		goto err_put;
	gdev->vqs = kcalloc(nvqs, sizeof(*gdev->vqs), GFP_KERNEL);
	if (!gdev->vqs)
		goto err_put;
	gdev->nvqs = nvqs;
	for (i = 0; i < nvqs; i++) {
		struct vdpa_gen_vq *vq = &gdev->vqs[i];

		mutex_init(&vq->lock);
		INIT_WORK(&vq->work, vdpa_gen_vq_work);
		vq->dev = gdev;
		vq->index = i;
		vringh_kiov_init(&vq->riov, NULL, 0);
		vringh_kiov_init(&vq->wiov, NULL, 0);
	}
	/* Every queue is initialised: vdpa_gen_free() can undo a failure. */
	for (i = 0; i < nvqs; i++) {
		gdev->vqs[i].heads = kcalloc(VDPA_GEN_VQ_NUM_MAX,
					     sizeof(*gdev->vqs[i].heads),
					     GFP_KERNEL);
		if (!gdev->vqs[i].heads)
			goto err_put;
	}

	dev = &vdpa->dev;
	dev->dma_mask = &dev->coherent_dma_mask;
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		goto err_put;
	set_dma_ops(dev, &vdpa_gen_dma_ops);
	vdpa->dma_dev = dev;

	ret = vdpa_migrate_ops_register(vdpa, &vdpa_gen_migrate_ops);
	if (ret)
		goto err_put;
	return gdev;

err_put:
	put_device(&vdpa->dev);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(vdpa_gen_create);

static int __init vdpa_gen_init(void)
{
	int ret;

	vdpa_gen_wq = alloc_workqueue("vdpa_gen", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!vdpa_gen_wq)
		return -ENOMEM;
	ret = vdpa_gen_hold_init();
	if (ret)
		destroy_workqueue(vdpa_gen_wq);
	return ret;
}

static void __exit vdpa_gen_exit(void)
{
	vdpa_gen_hold_exit();
	destroy_workqueue(vdpa_gen_wq);
}

module_init(vdpa_gen_init);
module_exit(vdpa_gen_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Generic vDPA device core");

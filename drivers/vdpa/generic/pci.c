// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_gen_pci: a vDPA device of any virtio type on top of a virtio-pci
 * function (Documentation/vdpa/generic-pci.rst).
 *
 * The driver has no ID table: it only takes a function the administrator
 * hands over with driver_override + bind.  Each such function becomes one
 * management device whose class is the function's own virtio device ID, so
 * `vdpa dev add` creates a net, blk, scsi, rng... device as the card is,
 * and one vDPA device per function may exist at a time.
 *
 * Direct mode: the vDPA driver's rings and buffers are given to the
 * function as they are.  Features, status, config space
 * and queue setup pass through to the card with the kernel's
 * virtio_pci_modern_dev helpers; kicks write the queue's doorbell; MSI-X
 * vectors call the driver's callbacks.
 *
 * Addresses.  The vDPA device's dma_dev is the PCI function itself, so an
 * in-kernel driver (virtio_vdpa) maps its buffers with the function's own
 * DMA API and the card sees those addresses.  A user-space driver
 * (vhost_vdpa, vdpa_migrate) instead goes through our dma_map/dma_unmap:
 * the first map attaches an IOMMU domain of our own to the function and
 * every map goes into it, mirrored in a vhost_iotlb.  The domain is
 * detached again once the device is reset and holds no map, so the DMA
 * API works again for the next driver.  Without an IOMMU only in-kernel
 * drivers are possible.  The top of the IOVA space is kept back for the
 * rings of the shadow-virtqueue mode.
 *
 * Shadow mode (pci_shadow.c): when dirty logging starts, a user-space
 * driver's queues move to split rings of ours that relay its chains to the
 * card, so the parent sees every write, position and request in flight.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/interrupt.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/vdpa.h>
#include <linux/vhost_iotlb.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci_modern.h>
#include <linux/vdpa_migrate.h>
#include <net/netlink.h>
#include <uapi/linux/vdpa.h>
#include <uapi/linux/virtio_blk.h>
#include <uapi/linux/virtio_console.h>
#include <uapi/linux/virtio_fs.h>
#include <uapi/linux/virtio_ids.h>
#include <uapi/linux/virtio_net.h>
#include <uapi/linux/virtio_pci.h>
#include <uapi/linux/virtio_scsi.h>

#include "pci.h"

/*
 * Transport features the 6.1 vDPA bus cannot carry to a driver: it has no
 * notification data in kick_vq, no per-queue reset, and SR-IOV and the
 * admin queue belong to whoever owns the physical function.  Every other
 * bit, device-specific ones included, passes through.
 */
#define GPCI_F_SR_IOV			37
#define GPCI_F_NOTIFICATION_DATA	38
#define GPCI_F_NOTIF_CONFIG_DATA	39
#define GPCI_F_RING_RESET		40
#define GPCI_F_ADMIN_VQ			41
#define GPCI_FEATURES_HIDDEN \
	(BIT_ULL(GPCI_F_SR_IOV) | BIT_ULL(GPCI_F_NOTIFICATION_DATA) | \
	 BIT_ULL(GPCI_F_NOTIF_CONFIG_DATA) | BIT_ULL(GPCI_F_RING_RESET) | \
	 BIT_ULL(GPCI_F_ADMIN_VQ))

static void gpci_init_domain(struct gpci_dev *gd);

static struct gpci_vq *gpci_vq(struct vdpa_device *vdpa, u16 idx)
{
	struct gpci_dev *gd = to_gpci(vdpa);

	return idx < gd->nvqs ? &gd->vqs[idx] : NULL;
}

/* ---- interrupts ---------------------------------------------------------- */

/*
 * MSI-X vectors are never shared with another device, so every handler
 * says it handled the interrupt, with or without a callback to call.
 *
 * The callback runs under @lock: once set_vq_cb or set_config_cb returned,
 * no handler still calls the one replaced.  A bus driver may free its
 * argument right after (vdpa_migrate's is the call eventfd itself; an
 * eventfd_signal() into a freed one corrupts the slab it came from).
 */
void gpci_run_cb(spinlock_t *lock, const struct vdpa_callback *cbp)
{
	unsigned long flags;

	/* From the handlers and, on shadow rings, from the worker. */
	spin_lock_irqsave(lock, flags);
	if (cbp->callback)
		cbp->callback(cbp->private);
	spin_unlock_irqrestore(lock, flags);
}

static irqreturn_t gpci_vq_irq(int irq, void *data)
{
	struct gpci_vq *vq = data;
	u16 idx = vq - vq->dev->vqs;

	if (gpci_vq_relayed(vq->dev, vq)) {
		if (!gpci_shadow_fast_irq(vq->dev, idx))
			gpci_shadow_kick(vq->dev, idx);
	} else {
		gpci_run_cb(&vq->cb_lock, &vq->cb);
	}
	return IRQ_HANDLED;
}

/* Queues share one vector: each may have used buffers. */
static irqreturn_t gpci_shared_irq(int irq, void *data)
{
	struct gpci_dev *gd = data;

	if (READ_ONCE(gd->shadow)) {
		gpci_shadow_kick_all(gd);
		return IRQ_HANDLED;
	}
	for (u16 i = 0; i < gd->nvqs; i++) {
		if (gpci_vq_relayed(gd, &gd->vqs[i]))
			gpci_shadow_kick(gd, i);
		else
			gpci_run_cb(&gd->vqs[i].cb_lock, &gd->vqs[i].cb);
	}
	return IRQ_HANDLED;
}

static irqreturn_t gpci_config_irq(int irq, void *data)
{
	struct gpci_dev *gd = data;

	gpci_run_cb(&gd->config_lock, &gd->config_cb);
	return IRQ_HANDLED;
}

static void gpci_free_irqs(struct gpci_dev *gd)
{
	struct pci_dev *pdev = gd->gm->pdev;

	for (u16 i = 0; i < gd->nvqs; i++) {
		if (gd->vqs[i].irq >= 0)
			free_irq(gd->vqs[i].irq, &gd->vqs[i]);
		gd->vqs[i].irq = -1;
	}
	if (gd->shared_irq >= 0)
		free_irq(gd->shared_irq, gd);
	gd->shared_irq = -1;
	if (gd->config_irq >= 0)
		free_irq(gd->config_irq, gd);
	gd->config_irq = -1;
	if (gd->nvec)
		pci_free_irq_vectors(pdev);
	gd->nvec = 0;
}

/*
 * Vector 0 for config changes, then one per queue (1 + i) if the card has
 * that many, otherwise vector 1 shared by every queue.
 *
 * The queues' interrupts are requested first: x86 picks each vector's CPU
 * when its interrupt starts, the least loaded one at that moment, so queue
 * i lands on CPU i (of a quiet machine) like blk-mq's and virtio-net's
 * default mapping of queue i.  Requested after the config interrupt, queue
 * 0 went to CPU 1 and completions crossed CPUs: 0.4-0.5x of vp_vdpa's IOPS
 * under TCG instead of 0.8-0.9x (scripts/bench/genpci-iops.sh).
 */
static int gpci_request_irqs(struct gpci_dev *gd)
{
	struct pci_dev *pdev = gd->gm->pdev;
	const char *name = pci_name(pdev);
	int nvec, irq, ret;

	nvec = pci_alloc_irq_vectors(pdev, 2, gd->nvqs + 1, PCI_IRQ_MSIX);
	if (nvec < 0)
		return nvec;
	gd->nvec = nvec;

	if (nvec < gd->nvqs + 1) {
		irq = pci_irq_vector(pdev, 1);
		ret = request_irq(irq, gpci_shared_irq, 0, name, gd);
		if (ret)
			goto err_free;
		gd->shared_irq = irq;
	} else {
		for (u16 i = 0; i < gd->nvqs; i++) {
			irq = pci_irq_vector(pdev, 1 + i);
			ret = request_irq(irq, gpci_vq_irq, 0, name, &gd->vqs[i]);
			if (ret)
				goto err_free;
			gd->vqs[i].irq = irq;
		}
	}

	irq = pci_irq_vector(pdev, GPCI_CONFIG_VECTOR);
	ret = request_irq(irq, gpci_config_irq, 0, name, gd);
	if (ret)
		goto err_free;
	gd->config_irq = irq;
	return 0;

err_free:
	gpci_free_irqs(gd);
	return ret;
}

u16 gpci_vq_vector(struct gpci_dev *gd, u16 idx)
{
	return gd->shared_irq >= 0 ? 1 : 1 + idx;
}

/* ---- starting queues ------------------------------------------------------ */

static bool gpci_packed(struct gpci_dev *gd)
{
	return gd->driver_features & BIT_ULL(VIRTIO_F_RING_PACKED);
}

/* A user-space driver: it mapped its memory into our domain. */
bool gpci_user_driver(struct gpci_dev *gd)
{
	bool attached;

	mutex_lock(&gd->map_lock);
	attached = gd->attached;
	mutex_unlock(&gd->map_lock);
	return attached;
}

/* Point queue @idx's interrupts at its vector (queue registers: see below). */
static void gpci_vq_set_vector(struct gpci_dev *gd, u16 idx)
{
	u16 vec = gpci_vq_vector(gd, idx);

	if (vp_modern_queue_vector(gpci_card(gd), idx, vec) != vec)
		dev_warn(&gd->vdpa->dev, "queue %u: card refused vector %u\n",
			 idx, vec);
}

static void gpci_config_set_vector(struct gpci_dev *gd)
{
	if (vp_modern_config_vector(gpci_card(gd), GPCI_CONFIG_VECTOR) !=
	    GPCI_CONFIG_VECTOR)
		dev_warn(&gd->vdpa->dev, "card refused the config vector\n");
}

/* Give the card queue @idx (the driver's ring unless @ours) and enable it. */
static void gpci_vq_start(struct gpci_dev *gd, u16 idx, bool ours)
{
	struct virtio_pci_modern_device *card = gpci_card(gd);
	struct gpci_vq *vq = &gd->vqs[idx];

	if (!ours)
		vp_modern_queue_address(card, idx, vq->desc_area,
					vq->driver_area, vq->device_area);
	gpci_vq_set_vector(gd, idx);
	vp_modern_set_queue_enable(card, idx, true);
}

/*
 * A net card's control queue starts with DRIVER_OK (or when enabled after
 * it): only then are a user-space driver's maps there (QEMU maps its
 * memory after enabling the queues).  A user-space driver's is relayed,
 * so that its commands can be replayed after card resets; an in-kernel
 * driver's runs on its own ring, unseen.
 */
static void gpci_cvq_start(struct gpci_dev *gd)
{
	int cvq = gpci_cvq_index(gd);
	bool relay;

	/* Queue registers: see gpci_set_vq_num(). */
	gpci_shadow_lock(gd);
	if (cvq < 0 || !gd->vqs[cvq].enabled ||
	    vp_modern_get_queue_enable(gpci_card(gd), cvq))
		goto out;
	relay = gpci_user_driver(gd) && !gpci_packed(gd) &&
		!(gd->driver_features & BIT_ULL(VIRTIO_F_IN_ORDER)) &&
		!gpci_cvq_relay_start(gd, cvq);
	if (!relay)
		gd->netc_lost = !!gd->netc;	/* its commands go unseen */
	gpci_vq_start(gd, cvq, relay);
out:
	mutex_unlock(&gd->shadow_lock);
}

/* ---- status and reset ---------------------------------------------------- */

/* On shadow rings the card's status is ours; the driver sees its own. */
static u8 gpci_get_status(struct vdpa_device *vdpa)
{
	struct gpci_dev *gd = to_gpci(vdpa);

	if (READ_ONCE(gd->shadow))
		return READ_ONCE(gd->status);
	/* A relayed control queue that failed also needs a reset. */
	return vp_modern_get_status(gpci_card(gd)) |
	       (READ_ONCE(gd->status) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* map_lock held: let the DMA API have the function again if nothing maps. */
static void gpci_maybe_detach(struct gpci_dev *gd)
{
	struct device *dev = &gd->gm->pdev->dev;

	lockdep_assert_held(&gd->map_lock);
	if (!gd->attached || vhost_iotlb_itree_first(gd->iotlb, 0, ULLONG_MAX))
		return;
	iommu_detach_device(gd->domain, dev);
	gd->attached = false;
}

/*
 * Reset the card and wait until it says so (virtio 1.x 4.1.4.3.2): once it
 * reads back 0 the card no longer touches driver memory.
 */
static int gpci_mdev_reset(struct virtio_pci_modern_device *card,
			   struct device *dev)
{
	unsigned long timeout = jiffies + msecs_to_jiffies(GPCI_RESET_TIMEOUT_MS);
	u8 st;

	vp_modern_set_status(card, 0);
	while ((st = vp_modern_get_status(card)) != 0) {
		if (st == 0xff || time_after(jiffies, timeout)) {
			dev_err(dev, "card did not reset (status %#x)\n", st);
			return -ETIMEDOUT;
		}
		usleep_range(1000, 2000);
	}
	return 0;
}

int gpci_card_reset(struct gpci_dev *gd)
{
	return gpci_mdev_reset(gpci_card(gd), &gd->vdpa->dev);
}

/*
 * A driver that unbinds resets the device and may free what its callbacks
 * point to; the next one installs its own after its reset.  Forgotten
 * like vdpa_gen's, so that neither an interrupt nor the shadow worker
 * calls into a driver that went away.
 */
static void gpci_forget_callbacks(struct gpci_dev *gd)
{
	unsigned long flags;

	for (u16 i = 0; i < gd->nvqs; i++) {
		struct gpci_vq *vq = &gd->vqs[i];

		spin_lock_irqsave(&vq->cb_lock, flags);
		vq->cb.callback = NULL;
		vq->cb.private = NULL;
		spin_unlock_irqrestore(&vq->cb_lock, flags);
	}
	spin_lock_irqsave(&gd->config_lock, flags);
	gd->config_cb.callback = NULL;
	gd->config_cb.private = NULL;
	spin_unlock_irqrestore(&gd->config_lock, flags);
}

/* The driver's reset: the card's, and back to direct mode. */
static int gpci_do_reset(struct gpci_dev *gd)
{
	int ret;

	atomic_inc(&gd->drv_gen);
	gpci_shadow_disarm(gd);
	ret = gpci_card_reset(gd);
	/*
	 * Even from a card that did not reset (or is gone): its shadow rings
	 * leave the domain before their pages are freed, so a late write
	 * faults in the IOMMU instead of landing in freed memory.
	 */
	gpci_shadow_stop(gd);
	gpci_net_reset(gd);
	gpci_forget_callbacks(gd);
	if (ret)
		return ret;
	for (u16 i = 0; i < gd->nvqs; i++) {
		gd->vqs[i].enabled = false;
		gd->vqs[i].num = 0;
	}
	gd->driver_features = 0;
	gd->card_features = 0;
	if (gd->cfg_mask)
		bitmap_zero(gd->cfg_mask, gd->gm->config_size);

	mutex_lock(&gd->map_lock);
	gpci_maybe_detach(gd);
	mutex_unlock(&gd->map_lock);
	/* Adopted under a running driver: the domain is tried only now. */
	if (gd->domain_later) {
		gd->domain_later = false;
		gpci_init_domain(gd);
	}
	return 0;
}

static int gpci_reset(struct vdpa_device *vdpa)
{
	return gpci_do_reset(to_gpci(vdpa));
}

static void gpci_set_status(struct vdpa_device *vdpa, u8 status)
{
	struct gpci_dev *gd = to_gpci(vdpa);
	struct virtio_pci_modern_device *card = gpci_card(gd);

	atomic_inc(&gd->drv_gen);
	if (!status) {
		gpci_do_reset(gd);
		return;
	}
	if (READ_ONCE(gd->shadow)) {
		/* Bits the driver adds (FAILED...) go to the card too. */
		gpci_shadow_lock(gd);
		gd->status = status | (gd->status & VIRTIO_CONFIG_S_NEEDS_RESET);
		vp_modern_set_status(card, vp_modern_get_status(card) | status);
		mutex_unlock(&gd->shadow_lock);
		return;
	}
	/* The card forgot its config vector when it was reset. */
	if (!vp_modern_get_status(card))
		gpci_config_set_vector(gd);
	/*
	 * A dirty log started or a state loaded before DRIVER_OK: the card
	 * starts on shadow rings and never sees the driver's, not even the
	 * control queue's.
	 */
	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && gpci_shadow_wanted(gd)) {
		vp_modern_set_status(card, status & ~VIRTIO_CONFIG_S_DRIVER_OK);
		if (!gpci_shadow_start(gd, status))
			return;
	}
	if (status & VIRTIO_CONFIG_S_DRIVER_OK)
		gpci_cvq_start(gd);
	vp_modern_set_status(card, status);
}

/* ---- features ------------------------------------------------------------ */

static u64 gpci_get_device_features(struct vdpa_device *vdpa)
{
	return to_gpci(vdpa)->device_features;
}

/*
 * A card that offers ACCESS_PLATFORM always gets it: whatever the vDPA
 * driver acked, the card's DMA goes through the platform's translation
 * (the DMA API's or our domain), never around it.
 */
u64 gpci_card_driver_features(struct gpci_dev *gd, u64 features)
{
	if (gd->device_features & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM))
		features |= BIT_ULL(VIRTIO_F_ACCESS_PLATFORM);
	return features;
}

static int gpci_set_driver_features(struct vdpa_device *vdpa, u64 features)
{
	struct gpci_dev *gd = to_gpci(vdpa);

	atomic_inc(&gd->drv_gen);
	if (features & ~gd->device_features)
		return -EINVAL;
	if (READ_ONCE(gd->shadow))
		return -EBUSY;	/* the card runs with what was negotiated */
	gd->card_features = gpci_card_driver_features(gd, features);
	vp_modern_set_features(gpci_card(gd), gd->card_features);
	gd->driver_features = features;
	return 0;
}

static u64 gpci_get_driver_features(struct vdpa_device *vdpa)
{
	return to_gpci(vdpa)->driver_features;
}

/* ---- virtqueues ---------------------------------------------------------- */

/*
 * Queue setup is recorded for the shadow rings, and reaches the card when
 * the queue is enabled (direct mode): on shadow rings, and for a relayed
 * control queue, the card's queues are ours.
 */
static int gpci_set_vq_address(struct vdpa_device *vdpa, u16 idx,
			       u64 desc_area, u64 driver_area, u64 device_area)
{
	struct gpci_vq *vq = gpci_vq(vdpa, idx);

	if (!vq)
		return -EINVAL;
	atomic_inc(&vq->dev->drv_gen);
	if (READ_ONCE(vq->dev->shadow))
		return -EBUSY;
	vq->desc_area = desc_area;
	vq->driver_area = driver_area;
	vq->device_area = device_area;
	return 0;
}

/*
 * Queue registers are reached through queue_select: shadow_lock keeps the
 * shadow worker (which moves queues back to the driver's rings) out
 * meanwhile.  A queue on one of our rings keeps its size.
 */
static void gpci_set_vq_num(struct vdpa_device *vdpa, u16 idx, u32 num)
{
	struct gpci_vq *vq = gpci_vq(vdpa, idx);
	struct gpci_dev *gd = to_gpci(vdpa);

	atomic_inc(&gd->drv_gen);
	if (!vq || num > GPCI_VQ_NUM_MAX)
		return;
	gpci_shadow_lock(gd);
	if (!gd->shadow && !vq->svq.relay) {
		vq->num = num;
		vp_modern_set_queue_size(gpci_card(gd), idx, num);
	}
	mutex_unlock(&gd->shadow_lock);
}

static u16 gpci_get_vq_num_max(struct vdpa_device *vdpa)
{
	return to_gpci(vdpa)->vq_num_max;
}

/*
 * One value for every queue: the smallest maximum of the card.  Read right
 * after a reset, before a driver wrote its own sizes over them.
 */
static u16 gpci_read_vq_num_max(struct gpci_dev *gd)
{
	u32 max = GPCI_VQ_NUM_MAX;

	for (u16 i = 0; i < gd->nvqs; i++) {
		u16 n = vp_modern_get_queue_size(gpci_card(gd), i);

		if (n)
			max = min_t(u32, max, n);
	}
	return max;
}

static void gpci_kick_vq(struct vdpa_device *vdpa, u16 idx)
{
	struct gpci_dev *gd = to_gpci(vdpa);
	struct gpci_vq *vq = gpci_vq(vdpa, idx);

	if (!vq)
		return;
	if (gpci_vq_relayed(gd, vq)) {
		if (!gpci_shadow_fast_kick(gd, idx))
			gpci_shadow_kick(gd, idx);
	} else if (!READ_ONCE(gd->switching)) {
		iowrite16(idx, vq->notify);
	}
	/* else the switch relays everything once the card restarted */
}

static void gpci_set_vq_cb(struct vdpa_device *vdpa, u16 idx,
			   struct vdpa_callback *cb)
{
	struct gpci_vq *vq = gpci_vq(vdpa, idx);
	unsigned long flags;

	if (!vq)
		return;
	atomic_inc(&vq->dev->drv_gen);
	spin_lock_irqsave(&vq->cb_lock, flags);
	vq->cb = *cb;
	spin_unlock_irqrestore(&vq->cb_lock, flags);
}

/*
 * A virtio-pci queue cannot be disabled once enabled (4.1.4.3.2): without
 * RING_RESET only a device reset stops it, so "not ready" is ignored and
 * get_vq_ready keeps telling the truth.
 */
static void gpci_set_vq_ready(struct vdpa_device *vdpa, u16 idx, bool ready)
{
	struct gpci_dev *gd = to_gpci(vdpa);
	struct virtio_pci_modern_device *card = gpci_card(gd);
	struct gpci_vq *vq = gpci_vq(vdpa, idx);

	bool cvq;

	if (!vq || !ready)
		return;
	atomic_inc(&gd->drv_gen);
	/* Queue registers: see gpci_set_vq_num(). */
	gpci_shadow_lock(gd);
	if (gd->shadow || vp_modern_get_queue_enable(card, idx)) {
		mutex_unlock(&gd->shadow_lock);
		return;
	}
	vq->enabled = true;
	cvq = idx == gpci_cvq_index(gd);
	if (!cvq)
		gpci_vq_start(gd, idx, false);
	mutex_unlock(&gd->shadow_lock);
	/* Takes shadow_lock itself. */
	if (cvq && (vp_modern_get_status(card) & VIRTIO_CONFIG_S_DRIVER_OK))
		gpci_cvq_start(gd);
}

/*
 * The driver's view: enabled since the last reset.  The card's own bit is
 * ours on shadow rings, and reads 0 while the card is reset for a suspend.
 */
static bool gpci_get_vq_ready(struct vdpa_device *vdpa, u16 idx)
{
	struct gpci_vq *vq = gpci_vq(vdpa, idx);

	return vq && vq->enabled;
}

/*
 * A virtio-pci card has no register for its ring position.  Direct mode
 * only knows it while a queue was never enabled since the reset: it is
 * still the initial one.  The shadow mode knows it always.
 */
static int gpci_get_vq_state(struct vdpa_device *vdpa, u16 idx,
			     struct vdpa_vq_state *state)
{
	struct gpci_vq *vq = gpci_vq(vdpa, idx);

	if (!vq)
		return -EINVAL;
	if (vq->enabled)
		return gpci_shadow_vq_state(to_gpci(vdpa), idx, state);
	memset(state, 0, sizeof(*state));
	if (gpci_packed(to_gpci(vdpa))) {
		state->packed.last_avail_counter = 1;
		state->packed.last_used_counter = 1;
	}
	return 0;
}

static int gpci_set_vq_state(struct vdpa_device *vdpa, u16 idx,
			     const struct vdpa_vq_state *state)
{
	struct gpci_vq *vq = gpci_vq(vdpa, idx);
	bool initial;

	if (!vq)
		return -EINVAL;
	if (gpci_packed(to_gpci(vdpa)))
		initial = state->packed.last_avail_counter == 1 &&
			  !state->packed.last_avail_idx &&
			  state->packed.last_used_counter == 1 &&
			  !state->packed.last_used_idx;
	else
		initial = !state->split.avail_index;
	/* The card can only start where every card starts. */
	return !vq->enabled && initial ? 0 : -EOPNOTSUPP;
}

static struct vdpa_notification_area
gpci_get_vq_notification(struct vdpa_device *vdpa, u16 idx)
{
	struct vdpa_notification_area area = {};
	struct gpci_vq *vq = gpci_vq(vdpa, idx);

	/* A relayed control queue is kicked through kick_vq only. */
	if (vq && idx != gpci_cvq_index(to_gpci(vdpa))) {
		area.addr = vq->notify_pa;
		area.size = gpci_card(to_gpci(vdpa))->notify_offset_multiplier;
	}
	return area;
}

static int gpci_get_vq_irq(struct vdpa_device *vdpa, u16 idx)
{
	struct gpci_vq *vq = gpci_vq(vdpa, idx);

	/*
	 * Only a vector of its own can be handed to irq bypass; a net
	 * control queue's interrupts may be the relay's.
	 */
	if (!vq || idx == gpci_cvq_index(to_gpci(vdpa)))
		return -EINVAL;
	return vq->irq >= 0 ? vq->irq : -EINVAL;
}

/*
 * Per-queue counters of the shadow rings (`vdpa dev vstats show`; the 6.1
 * vdpa core asks net devices only): what was relayed and used, and how
 * often the fast path and the worker ran.  Read without the locks that
 * order their updates: each value is a snapshot, not a consistent set.
 */
static int gpci_get_vendor_vq_stats(struct vdpa_device *vdpa, u16 idx,
				    struct sk_buff *msg,
				    struct netlink_ext_ack *extack)
{
	static const char * const names[] = {
		"shadow_relayed", "shadow_completed", "fast_path_runs",
		"worker_runs",
	};
	struct gpci_vq *vq = gpci_vq(vdpa, idx);
	u64 val[ARRAY_SIZE(names)];

	if (!vq) {
		NL_SET_ERR_MSG_MOD(extack, "no such queue");
		return -EINVAL;
	}
	val[0] = READ_ONCE(vq->svq.stat_relayed);
	val[1] = READ_ONCE(vq->svq.stat_completed);
	val[2] = READ_ONCE(vq->svq.stat_fast);
	val[3] = READ_ONCE(vq->svq.stat_worker);
	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++)
		if (nla_put_string(msg, VDPA_ATTR_DEV_VENDOR_ATTR_NAME,
				   names[i]) ||
		    nla_put_u64_64bit(msg, VDPA_ATTR_DEV_VENDOR_ATTR_VALUE,
				      val[i], VDPA_ATTR_PAD))
			return -EMSGSIZE;
	return 0;
}

/* A modern card takes the three areas anywhere: what virtio-pci uses. */
static u32 gpci_get_vq_align(struct vdpa_device *vdpa)
{
	return SMP_CACHE_BYTES;
}

/* ---- identity and config space ------------------------------------------- */

static u32 gpci_get_device_id(struct vdpa_device *vdpa)
{
	return gpci_card(to_gpci(vdpa))->id.device;
}

static u32 gpci_get_vendor_id(struct vdpa_device *vdpa)
{
	return gpci_card(to_gpci(vdpa))->id.vendor;
}

static size_t gpci_get_config_size(struct vdpa_device *vdpa)
{
	return to_gpci(vdpa)->gm->config_size;
}

static bool gpci_config_range_ok(struct gpci_dev *gd, unsigned int offset,
				 unsigned int len)
{
	size_t size = gd->gm->config_size;

	return offset <= size && len <= size - offset;
}

/* Reread until the card's generation shows nothing changed meanwhile. */
void gpci_read_config(struct gpci_dev *gd, unsigned int offset, void *buf,
		      unsigned int len)
{
	struct virtio_pci_modern_device *card = gpci_card(gd);
	u8 *p = buf;
	u32 gen;

	if (!gpci_config_range_ok(gd, offset, len)) {
		memset(buf, 0, len);
		return;
	}
	do {
		gen = vp_modern_generation(card);
		for (unsigned int i = 0; i < len; i++)
			p[i] = ioread8(card->device + offset + i);
	} while (gen != vp_modern_generation(card));
}

static void gpci_get_config(struct vdpa_device *vdpa, unsigned int offset,
			    void *buf, unsigned int len)
{
	gpci_read_config(to_gpci(vdpa), offset, buf, len);
}

static void gpci_set_config(struct vdpa_device *vdpa, unsigned int offset,
			    const void *buf, unsigned int len)
{
	struct gpci_dev *gd = to_gpci(vdpa);
	const u8 *p = buf;

	if (!gpci_config_range_ok(gd, offset, len))
		return;
	atomic_inc(&gd->drv_gen);
	/* Replayed when the card is reset for the shadow rings. */
	if (gd->cfg_written) {
		memcpy(gd->cfg_written + offset, buf, len);
		bitmap_set(gd->cfg_mask, offset, len);
	}
	for (unsigned int i = 0; i < len; i++)
		iowrite8(p[i], gpci_card(gd)->device + offset + i);
}

static u32 gpci_get_generation(struct vdpa_device *vdpa)
{
	return vp_modern_generation(gpci_card(to_gpci(vdpa)));
}

static void gpci_set_config_cb(struct vdpa_device *vdpa,
			       struct vdpa_callback *cb)
{
	struct gpci_dev *gd = to_gpci(vdpa);
	unsigned long flags;

	atomic_inc(&gd->drv_gen);
	spin_lock_irqsave(&gd->config_lock, flags);
	gd->config_cb = *cb;
	spin_unlock_irqrestore(&gd->config_lock, flags);
}

/* ---- user-space drivers: our own IOMMU domain ----------------------------- */

static struct vdpa_iova_range gpci_get_iova_range(struct vdpa_device *vdpa)
{
	return to_gpci(vdpa)->iova_range;
}

static int gpci_iommu_prot(u32 perm)
{
	int prot = IOMMU_CACHE;

	if (perm & VHOST_MAP_RO)
		prot |= IOMMU_READ;
	if (perm & VHOST_MAP_WO)
		prot |= IOMMU_WRITE;
	return prot;
}

/*
 * The IOMMU never translates a reserved region (x86: the MSI window at
 * 0xfee00000): a driver buffer mapped there would be unreachable, or its
 * DMA would raise interrupts.
 */
static bool gpci_overlaps_resv(struct gpci_dev *gd, u64 first, u64 last)
{
	struct iommu_resv_region *r;

	list_for_each_entry(r, &gd->resv, list)
		if (first <= r->start + r->length - 1 && r->start <= last)
			return true;
	return false;
}

static void gpci_free_resv(struct gpci_dev *gd)
{
	struct iommu_resv_region *r, *next;

	list_for_each_entry_safe(r, next, &gd->resv, list) {
		list_del(&r->list);
		kfree(r);
	}
}

static int gpci_dma_map(struct vdpa_device *vdpa, unsigned int asid, u64 iova,
			u64 size, u64 pa, u32 perm, void *opaque)
{
	struct gpci_dev *gd = to_gpci(vdpa);
	u64 last = iova + size - 1;
	int ret;

	if (asid || !size || last < iova || iova < gd->iova_range.first ||
	    last > gd->iova_range.last || !(perm & VHOST_MAP_RW) ||
	    !PAGE_ALIGNED(iova | pa | size))
		return -EINVAL;
	if (!gd->domain)
		return -EOPNOTSUPP;
	if (gpci_overlaps_resv(gd, iova, last))
		return -EINVAL;

	mutex_lock(&gd->map_lock);
	if (!gd->attached) {
		ret = iommu_attach_device(gd->domain, &gd->gm->pdev->dev);
		if (ret)
			goto out;
		gd->attached = true;
	}
	/*
	 * The mirror last: once a shadow ring's reader sees an entry (and may
	 * map its pages into the kernel, pci_ring.c), it stays until
	 * dma_unmap, which drops such mappings first.
	 */
	ret = iommu_map(gd->domain, iova, pa, size, gpci_iommu_prot(perm));
	if (ret)
		goto out;
	spin_lock(&gd->iotlb_lock);
	ret = vhost_iotlb_add_range(gd->iotlb, iova, last, pa, perm);
	spin_unlock(&gd->iotlb_lock);
	if (ret) {
		iommu_unmap(gd->domain, iova, size);
		goto out;
	}
	atomic_inc(&gd->map_gen);
out:
	mutex_unlock(&gd->map_lock);
	return ret;
}

/*
 * map_lock held.  Whole entries go, like vhost_iotlb_del_range(); the
 * mirror first, so the shadow rings never read a page the card lost.
 */
static void gpci_unmap_range(struct gpci_dev *gd, u64 first, u64 last)
{
	struct vhost_iotlb_map *map;
	u64 start, size;

	for (;;) {
		spin_lock(&gd->iotlb_lock);
		map = vhost_iotlb_itree_first(gd->iotlb, first, last);
		if (map) {
			start = map->start;
			size = map->size;
			vhost_iotlb_map_free(gd->iotlb, map);
		}
		spin_unlock(&gd->iotlb_lock);
		if (!map)
			break;
		iommu_unmap(gd->domain, start, size);
	}
}

/*
 * The IOVAs gpci_unmap_range() will remove for [@first, @last]: whole
 * entries, from the first one's start to the last one's end.  False if
 * none meets the range.  Under map_lock, so that nothing changes between.
 */
static bool gpci_unmap_extent(struct gpci_dev *gd, u64 *first, u64 *last)
{
	struct vhost_iotlb_map *map;
	u64 lo = U64_MAX, hi = 0;

	spin_lock(&gd->iotlb_lock);
	for (map = vhost_iotlb_itree_first(gd->iotlb, *first, *last); map;
	     map = vhost_iotlb_itree_next(map, *first, *last)) {
		lo = min(lo, map->start);
		hi = max(hi, map->last);
	}
	spin_unlock(&gd->iotlb_lock);
	*first = lo;
	*last = hi;
	return lo <= hi;
}

static int gpci_dma_unmap(struct vdpa_device *vdpa, unsigned int asid,
			  u64 iova, u64 size)
{
	struct gpci_dev *gd = to_gpci(vdpa);
	u64 first = iova, last = iova + size - 1;

	if (asid || !size || iova + size - 1 < iova)
		return -EINVAL;
	if (!gd->domain)
		return -EOPNOTSUPP;
	/*
	 * vringh translates under iotlb_lock but copies after it, and
	 * pci_ring.c maps ring pages into the kernel: the shadow worker, a
	 * switch or a suspend (all under shadow_lock) must be done with the
	 * pages before this returns.  vdpa_migrate unpins only after that;
	 * the kernel's vhost_vdpa unpins first (generic-pci.rst, Ring access).
	 */
	gpci_shadow_lock(gd);
	mutex_lock(&gd->map_lock);
	if (gpci_unmap_extent(gd, &first, &last))
		gpci_ring_unmap_range(gd, first, last);
	gpci_unmap_range(gd, iova, iova + size - 1);
	/* Still running, the card must keep faulting rather than see PAs. */
	if (!vp_modern_get_status(gpci_card(gd)))
		gpci_maybe_detach(gd);
	mutex_unlock(&gd->map_lock);
	mutex_unlock(&gd->shadow_lock);
	return 0;
}

/*
 * Set up the domain for user-space drivers if the function sits behind an
 * IOMMU that keeps DMA coherent and the card honours it: a card without
 * ACCESS_PLATFORM may use physical addresses whatever the IOMMU says.
 *
 * A fresh domain does not know its address width yet (VT-d reports its
 * widest one until the domain meets an IOMMU), so it is attached once here
 * to learn the real aperture, and detached again until the first map: the
 * DMA API stays the function's for in-kernel drivers.  A function the
 * domain cannot be attached to (an IOMMU group shared with other devices)
 * serves in-kernel drivers only.  The group's reserved regions are kept
 * so that dma_map can refuse them.
 */
static void gpci_init_domain(struct gpci_dev *gd)
{
	struct device *dev = &gd->gm->pdev->dev;
	struct iommu_domain_geometry *geo;
	struct iommu_group *group;
	int ret;

	gd->iova_range.first = 0;
	gd->iova_range.last = DMA_BIT_MASK(48) - GPCI_SHADOW_IOVA_SIZE;
	if (!(gd->device_features & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM)) ||
	    !device_iommu_mapped(dev) ||
	    !device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY))
		return;
	gd->domain = iommu_domain_alloc(dev->bus);
	if (!gd->domain)
		return;
	ret = iommu_attach_device(gd->domain, dev);
	if (ret) {
		dev_info(dev, "cannot attach an IOMMU domain (%d)\n", ret);
		iommu_domain_free(gd->domain);
		gd->domain = NULL;
		return;
	}
	iommu_detach_device(gd->domain, dev);
	group = iommu_group_get(dev);
	if (group) {
		/* Copies of the regions, freed by gpci_free_resv(). */
		iommu_get_group_resv_regions(group, &gd->resv);
		iommu_group_put(group);
	}
	geo = &gd->domain->geometry;
	if (geo->force_aperture && geo->aperture_end > geo->aperture_start &&
	    geo->aperture_end - geo->aperture_start > 2 * GPCI_SHADOW_IOVA_SIZE) {
		gd->iova_range.first = geo->aperture_start;
		gd->iova_range.last = geo->aperture_end - GPCI_SHADOW_IOVA_SIZE;
	}
}

/* ---- lifetime ------------------------------------------------------------ */

/*
 * What the function gives the device and takes back with it: interrupts
 * and doorbells.  Also what a module that unloads under a running driver
 * gives back (gpci_park()), so nothing here touches the card's state.
 */
static void gpci_release_card(struct gpci_dev *gd)
{
	struct gpci_mgmt *gm = gd->gm;

	gpci_free_irqs(gd);
	/* A handler that ran before the IRQs went may have queued it. */
	cancel_work_sync(&gd->shadow_work);
	for (u16 i = 0; i < gd->nvqs; i++) {
		if (gd->vqs[i].notify && !gm->mdev.notify_base)
			pci_iounmap(gm->pdev, gd->vqs[i].notify);
		gd->vqs[i].notify = NULL;
	}
}

/*
 * gpci_release_card() for a card a held device keeps running: its
 * interrupts go, INTx included (pci_free_irq_vectors() turns it back on,
 * and a line nobody handles would be disabled for every device on it).
 */
static void gpci_release_held_card(struct gpci_dev *gd)
{
	gpci_release_card(gd);
	pci_intx(gd->gm->pdev, 0);
}

/*
 * Give back what the device took of the function: called once the device
 * is off the bus (or never made it there), while the function is still
 * ours.  The card stops DMA before its maps and interrupts go away.
 */
static void gpci_teardown(struct gpci_dev *gd)
{
	gpci_do_reset(gd);
	if (gd->domain) {
		mutex_lock(&gd->map_lock);
		gpci_unmap_range(gd, 0, ULLONG_MAX);
		gpci_maybe_detach(gd);
		mutex_unlock(&gd->map_lock);
		iommu_domain_free(gd->domain);
		gd->domain = NULL;
	}
	gpci_release_card(gd);
}

/* Memory only, once no op and no handler can reach @gd. */
static void gpci_free(struct gpci_dev *gd)
{
	gpci_free_resv(gd);
	vhost_iotlb_free(gd->iotlb);
	kfree(gd->vqs);
	kfree(gd->cfg_written);
	bitmap_free(gd->cfg_mask);
	kfree(gd->netc);
	mutex_destroy(&gd->shadow_lock);
	mutex_destroy(&gd->map_lock);
	kfree(gd);
}

static const struct vdpa_config_ops gpci_ops = {
	.set_vq_address = gpci_set_vq_address,
	.set_vq_num = gpci_set_vq_num,
	.kick_vq = gpci_kick_vq,
	.set_vq_cb = gpci_set_vq_cb,
	.set_vq_ready = gpci_set_vq_ready,
	.get_vq_ready = gpci_get_vq_ready,
	.set_vq_state = gpci_set_vq_state,
	.get_vq_state = gpci_get_vq_state,
	.suspend = gpci_suspend,
	.get_vq_notification = gpci_get_vq_notification,
	.get_vq_irq = gpci_get_vq_irq,
	.get_vendor_vq_stats = gpci_get_vendor_vq_stats,
	.get_vq_align = gpci_get_vq_align,
	.get_device_features = gpci_get_device_features,
	.set_driver_features = gpci_set_driver_features,
	.get_driver_features = gpci_get_driver_features,
	.set_config_cb = gpci_set_config_cb,
	.get_vq_num_max = gpci_get_vq_num_max,
	.get_device_id = gpci_get_device_id,
	.get_vendor_id = gpci_get_vendor_id,
	.get_status = gpci_get_status,
	.set_status = gpci_set_status,
	.reset = gpci_reset,
	.get_config_size = gpci_get_config_size,
	.get_config = gpci_get_config,
	.set_config = gpci_set_config,
	.get_generation = gpci_get_generation,
	.get_iova_range = gpci_get_iova_range,
	.dma_map = gpci_dma_map,
	.dma_unmap = gpci_dma_unmap,
};

static u64 gpci_card_features(struct gpci_mgmt *gm)
{
	return vp_modern_get_features(&gm->mdev) & ~GPCI_FEATURES_HIDDEN;
}

/*
 * Our side of @vdpa on function @gm: memory, doorbells and interrupts.  A
 * new device (!@adopt) gets a quiet card first and its IOMMU domain; an
 * adopted one keeps its card running and tries the domain at its first
 * reset (attaching one now would pull the DMA API's mappings from under
 * the running driver).
 */
static struct gpci_dev *gpci_dev_create(struct gpci_mgmt *gm,
					struct vdpa_device *vdpa,
					u64 features, bool adopt)
{
	struct gpci_dev *gd;
	int ret = -ENOMEM;

	gd = kzalloc(sizeof(*gd), GFP_KERNEL);
	if (!gd)
		return ERR_PTR(-ENOMEM);
	mutex_init(&gd->map_lock);
	spin_lock_init(&gd->iotlb_lock);
	spin_lock_init(&gd->config_lock);
	gpci_shadow_init(gd);
	INIT_LIST_HEAD(&gd->resv);
	gd->config_irq = -1;
	gd->shared_irq = -1;
	gd->vdpa = vdpa;
	gd->gm = gm;
	gd->device_features = features;
	gd->nvqs = vp_modern_get_num_queues(&gm->mdev);

	gd->iotlb = vhost_iotlb_alloc(GPCI_IOTLB_LIMIT, 0);
	if (!gd->iotlb)
		goto err_free;
	gd->vqs = kcalloc(gd->nvqs, sizeof(*gd->vqs), GFP_KERNEL);
	if (!gd->vqs)
		goto err_free;
	if (gm->config_size) {
		gd->cfg_written = kzalloc(gm->config_size, GFP_KERNEL);
		gd->cfg_mask = bitmap_zalloc(gm->config_size, GFP_KERNEL);
		if (!gd->cfg_written || !gd->cfg_mask)
			goto err_free;
	}
	for (u16 i = 0; i < gd->nvqs; i++) {
		struct gpci_vq *vq = &gd->vqs[i];

		vq->dev = gd;
		vq->irq = -1;
		spin_lock_init(&vq->cb_lock);
		spin_lock_init(&vq->svq.lock);
	}
	ret = gpci_net_init(gd);
	if (ret)
		goto err_free;
	/* Quiet card before vectors and doorbells are set up. */
	if (!adopt) {
		ret = gpci_do_reset(gd);
		if (ret)
			goto err_release;
		gd->vq_num_max = gpci_read_vq_num_max(gd);
	}
	for (u16 i = 0; i < gd->nvqs; i++) {
		struct gpci_vq *vq = &gd->vqs[i];

		vq->notify = vp_modern_map_vq_notify(&gm->mdev, i,
						     &vq->notify_pa);
		if (!vq->notify) {
			ret = -EIO;
			goto err_release;
		}
	}
	ret = gpci_request_irqs(gd);
	if (ret)
		goto err_release;
	if (adopt)
		gd->domain_later = true;
	else
		gpci_init_domain(gd);
	return gd;

err_release:
	gpci_release_card(gd);
err_free:
	gpci_free(gd);
	return ERR_PTR(ret);
}

static int gpci_dev_add(struct vdpa_mgmt_dev *mgmt, const char *name,
			const struct vdpa_dev_set_config *cfg)
{
	struct gpci_mgmt *gm = container_of(mgmt, struct gpci_mgmt, mgmt);
	struct device *dev = &gm->pdev->dev;
	u64 features = gpci_card_features(gm);
	struct vdpa_device *vdpa;
	struct gpci_dev *gd;
	int ret;

	if (cfg->mask & BIT_ULL(VDPA_ATTR_DEV_FEATURES)) {
		if (cfg->device_features & ~features ||
		    !(cfg->device_features & BIT_ULL(VIRTIO_F_VERSION_1)))
			return -EINVAL;
		features = cfg->device_features;
	}
	mutex_lock(&gm->lock);
	ret = -EBUSY;	/* one vDPA device per function */
	if (gm->gdev || gm->held_card)
		goto err_unlock;

	vdpa = vdpa_gen_hold_alloc(dev, name, vp_modern_get_num_queues(&gm->mdev),
				   gm->mdev.id.device, gm->mdev.id.vendor,
				   gm->config_size);
	if (IS_ERR(vdpa)) {
		ret = PTR_ERR(vdpa);
		goto err_unlock;
	}
	gd = gpci_dev_create(gm, vdpa, features, false);
	if (IS_ERR(gd)) {
		ret = PTR_ERR(gd);
		goto err_put;
	}
	vdpa->dma_dev = dev;
	vdpa->mdev = mgmt;
	ret = vdpa_gen_hold_attach(vdpa, &gpci_ops, gd, NULL);
	if (ret)
		goto err_teardown;
	ret = vdpa_migrate_ops_register(vdpa, &gpci_mig_ops);
	if (ret)
		goto err_detach;
	ret = _vdpa_register_device(vdpa, gd->nvqs);
	if (ret)
		goto err_mig_ops;
	gm->gdev = gd;
	dev_info(dev, "vdpa %s: virtio id %u, %u queue(s), %d vector(s), %s\n",
		 name, gm->mdev.id.device, gd->nvqs, gd->nvec,
		 gd->domain ? "own IOMMU domain for user-space drivers" :
		 "in-kernel drivers only (no IOMMU or no ACCESS_PLATFORM)");
	mutex_unlock(&gm->lock);
	return 0;

err_mig_ops:
	vdpa_migrate_ops_unregister(vdpa);
err_detach:
	vdpa_gen_hold_detach(vdpa, NULL);
err_teardown:
	gpci_teardown(gd);
	gpci_free(gd);
err_put:
	put_device(&vdpa->dev);
err_unlock:
	mutex_unlock(&gm->lock);
	return ret;
}

static bool gpci_holdable(struct gpci_dev *gd);
static int gpci_park(struct gpci_dev *gd);

/* gm->lock and the vdpa core's device lock held: delete @gd's device. */
static void gpci_delete(struct gpci_mgmt *gm, struct gpci_dev *gd)
{
	struct vdpa_device *vdpa = gd->vdpa;

	/* Unregistering may drop the last reference: keep one to tear down. */
	get_device(&vdpa->dev);
	_vdpa_unregister_device(vdpa);
	vdpa_migrate_ops_unregister(vdpa);
	/* Whatever still holds a reference now reaches a device that is gone. */
	vdpa_gen_hold_detach(vdpa, NULL);
	gpci_teardown(gd);
	gpci_free(gd);
	gm->gdev = NULL;
	put_device(&vdpa->dev);
}

/*
 * Also what vdpa_mgmtdev_unregister() calls at remove: while the module
 * unloads, a device an in-kernel driver runs is held instead (under the
 * core's device lock, so no netlink reader sees its mdev change).
 */
static void gpci_dev_del(struct vdpa_mgmt_dev *mgmt, struct vdpa_device *vdpa)
{
	struct gpci_mgmt *gm = container_of(mgmt, struct gpci_mgmt, mgmt);
	struct gpci_dev *gd;

	mutex_lock(&gm->lock);
	gd = gm->gdev;
	if (gd && gd->vdpa == vdpa &&
	    !(gm->unloading && gpci_holdable(gd) && !gpci_park(gd)))
		gpci_delete(gm, gd);
	mutex_unlock(&gm->lock);
}

static const struct vdpa_mgmtdev_ops gpci_mgmt_ops = {
	.dev_add = gpci_dev_add,
	.dev_del = gpci_dev_del,
};

/* ---- hot upgrade under an in-kernel driver ---------------------------------- */

static bool hold_on_unload = true;
module_param(hold_on_unload, bool, 0644);
MODULE_PARM_DESC(hold_on_unload,
		 "keep devices an in-kernel driver runs when the module unloads, for the next one to adopt (default: on)");

/*
 * At module unload, a device virtio_vdpa runs in direct mode is held, not
 * deleted: the card needs nothing of ours to move data, the driver's
 * rings and buffers are mapped by the DMA API of the function, which stays
 * enabled.  That the mappings survive the function's unbind is x86's
 * (arch_teardown_dma_ops() is empty there).  User-space drivers have their
 * own way (save the state, reload, load it); a plain unbind deletes.
 */
static bool gpci_holdable(struct gpci_dev *gd)
{
	u8 status = vp_modern_get_status(gpci_card(gd));
	struct device_driver *drv = READ_ONCE(gd->vdpa->dev.driver);
	bool ok;

	if (!IS_ENABLED(CONFIG_X86) || !drv || strcmp(drv->name, "virtio_vdpa") ||
	    !(status & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    status & (VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED) ||
	    gpci_user_driver(gd))
		return false;
	gpci_shadow_lock(gd);
	ok = !gd->shadow && !gd->shadow_pending && !gd->suspended;
	for (u16 i = 0; i < gd->nvqs; i++)
		ok = ok && !gd->vqs[i].svq.relay;
	mutex_unlock(&gd->shadow_lock);
	return ok;
}

/* What the hold answers with until the next module adopts the device. */
static void gpci_snapshot(void *data, struct vdpa_gen_hold_state *st)
{
	struct gpci_dev *gd = data;
	struct virtio_pci_modern_device *card = gpci_card(gd);
	unsigned long flags;

	st->device_features = gd->device_features;
	st->driver_features = gd->driver_features;
	st->status = vp_modern_get_status(card);
	st->generation = vp_modern_generation(card);
	st->vq_num_max = gd->vq_num_max;
	st->vq_align = SMP_CACHE_BYTES;
	gpci_read_config(gd, 0, st->config, st->config_size);
	spin_lock_irqsave(&gd->config_lock, flags);
	st->config_cb = gd->config_cb;
	spin_unlock_irqrestore(&gd->config_lock, flags);
	for (u16 i = 0; i < gd->nvqs; i++) {
		struct gpci_vq *vq = &gd->vqs[i];

		spin_lock_irqsave(&vq->cb_lock, flags);
		st->vqs[i].cb = vq->cb;
		spin_unlock_irqrestore(&vq->cb_lock, flags);
		st->vqs[i].desc_area = vq->desc_area;
		st->vqs[i].driver_area = vq->driver_area;
		st->vqs[i].device_area = vq->device_area;
		st->vqs[i].num = vq->num;
		st->vqs[i].ready = vq->enabled;
	}
}

/*
 * From dev_del while the module unloads (gm->lock and the vdpa core's
 * device lock held): leave @gd's device to the hold.  The card keeps
 * running with its interrupts off and keeps bus mastering.  Without its mdev the vdpa core
 * no longer sees the device as ours: vdpa_mgmtdev_unregister() passes it
 * by.  An op that ran between the snapshot and the detach is caught by
 * @gd->drv_gen and the snapshot taken again (vdpa_gen_hold_refresh()).
 */
static int gpci_park(struct gpci_dev *gd)
{
	struct vdpa_device *vdpa = gd->vdpa;
	struct gpci_mgmt *gm = gd->gm;
	struct vdpa_gen_hold_state *st;
	int gen;

	st = vdpa_gen_hold_state_alloc(vdpa);
	if (!st)
		return -ENOMEM;
	gen = atomic_read(&gd->drv_gen);
	gpci_snapshot(gd, st);
	vdpa->mdev = NULL;
	vdpa_migrate_ops_unregister(vdpa);
	vdpa_gen_hold_detach(vdpa, st);
	if (atomic_read(&gd->drv_gen) != gen)
		vdpa_gen_hold_refresh(vdpa, gpci_snapshot, gd);
	gpci_release_held_card(gd);
	if (gd->domain)
		iommu_domain_free(gd->domain);	/* never attached: no user */
	dev_info(&vdpa->dev, "held for the next vdpa_gen_pci (%s)\n",
		 pci_name(gm->pdev));
	gm->gdev = NULL;
	gm->parked = true;
	gpci_free(gd);
	return 0;
}

/* Take the snapshot's driver state over into @gd. */
static void gpci_adopt_state(struct gpci_dev *gd,
			     const struct vdpa_gen_hold_state *st)
{
	unsigned long flags;

	gd->vq_num_max = st->vq_num_max;
	spin_lock_irqsave(&gd->config_lock, flags);
	gd->config_cb = st->config_cb;
	spin_unlock_irqrestore(&gd->config_lock, flags);
	if (st->reset)
		return;		/* gpci_adopt() reset the card */
	gd->driver_features = st->driver_features;
	gd->card_features = gpci_card_driver_features(gd, st->driver_features);
	/* Its commands went to the card unseen: nothing to replay. */
	gd->netc_lost = !!gd->netc;
	for (u16 i = 0; i < gd->nvqs; i++) {
		struct gpci_vq *vq = &gd->vqs[i];

		spin_lock_irqsave(&vq->cb_lock, flags);
		vq->cb = st->vqs[i].cb;
		spin_unlock_irqrestore(&vq->cb_lock, flags);
		vq->desc_area = st->vqs[i].desc_area;
		vq->driver_area = st->vqs[i].driver_area;
		vq->device_area = st->vqs[i].device_area;
		vq->num = st->vqs[i].num;
		vq->enabled = st->vqs[i].ready;
	}
}

/* MSI-X was off while held: the card's vectors, as gpci_vq_start() sets. */
static void gpci_adopt_vectors(struct gpci_dev *gd)
{
	gpci_config_set_vector(gd);
	for (u16 i = 0; i < gd->nvqs; i++)
		if (gd->vqs[i].enabled)
			gpci_vq_set_vector(gd, i);
}

/*
 * gm->lock held, @gm's mgmtdev registered (not under gm->lock: the vdpa
 * core's device lock comes first): take a held device of its
 * function over without a reset.  The card's vectors are programmed again
 * (MSI-X was off meanwhile), then every ready queue's doorbell is rung and
 * every callback called once, for the kicks and interrupts that went
 * nowhere while it was held.  A driver that reset the device meanwhile
 * gets a reset card.  The device becomes the mgmtdev's last, once nothing
 * can fail: a netlink reader never sees an mdev that goes away.
 */
static int gpci_adopt(struct gpci_mgmt *gm, struct vdpa_device *vdpa)
{
	struct vdpa_gen_hold_state *st;
	struct gpci_dev *gd;
	bool was_reset = false;
	int ret;

	st = vdpa_gen_hold_state_alloc(vdpa);
	if (!st)
		return -ENOMEM;
	vdpa_gen_hold_read(vdpa, st);
	gd = gpci_dev_create(gm, vdpa, st->device_features, true);
	if (IS_ERR(gd)) {
		ret = PTR_ERR(gd);
		goto err_state;
	}
	ret = vdpa_migrate_ops_register(vdpa, &gpci_mig_ops);
	if (ret)
		goto err_release;
	do {
		if (st->reset && !was_reset) {
			/* Bus mastering comes back on a quiet card only. */
			ret = gpci_do_reset(gd);
			if (ret)
				goto err_mig_ops;
			pci_set_master(gm->pdev);
			was_reset = true;
		}
		gpci_adopt_state(gd, st);
		/* Before the ops are ours: nobody else selects a queue. */
		if (!was_reset)
			gpci_adopt_vectors(gd);
		ret = vdpa_gen_hold_attach(vdpa, &gpci_ops, gd, st);
		if (ret == -EAGAIN)
			vdpa_gen_hold_read(vdpa, st);
	} while (ret == -EAGAIN);
	if (ret)
		goto err_mig_ops;
	gm->gdev = gd;
	WRITE_ONCE(vdpa->mdev, &gm->mgmt);
	/*
	 * What went nowhere while held: kicks, interrupts, config changes.
	 * With bottom halves off, as in an interrupt: a callback that
	 * schedules NAPI has it run when they come back on.
	 */
	if (!was_reset) {
		local_bh_disable();
		for (u16 i = 0; i < gd->nvqs; i++) {
			if (!gd->vqs[i].enabled)
				continue;
			iowrite16(i, gd->vqs[i].notify);
			gpci_run_cb(&gd->vqs[i].cb_lock, &gd->vqs[i].cb);
		}
		gpci_run_cb(&gd->config_lock, &gd->config_cb);
		local_bh_enable();
	}
	dev_info(&vdpa->dev, "adopted by this vdpa_gen_pci (%s)%s\n",
		 pci_name(gm->pdev), was_reset ? ", reset while held" : "");
	vdpa_gen_hold_state_free(st);
	return 0;

err_mig_ops:
	vdpa_migrate_ops_unregister(vdpa);
err_release:
	gpci_release_held_card(gd);
	gpci_free(gd);
err_state:
	vdpa_gen_hold_state_free(st);
	return ret;
}

/* ---- PCI driver ---------------------------------------------------------- */

/*
 * The device-specific config structure of each type the 6.1 uAPI defines
 * (facts of the virtio spec, no behaviour).  A card's config capability
 * may be longer than its structure (QEMU's is its whole 4 KiB region):
 * the vDPA device reports the structure, so that every parent of a type
 * agrees on it (a migration state carries the config by size).  Unknown
 * types keep the capability's length.
 */
static size_t gpci_config_size(const struct virtio_pci_modern_device *card)
{
	size_t type;

	switch (card->id.device) {
	case VIRTIO_ID_NET:
		type = sizeof(struct virtio_net_config);
		break;
	case VIRTIO_ID_BLOCK:
		type = sizeof(struct virtio_blk_config);
		break;
	case VIRTIO_ID_CONSOLE:
		type = sizeof(struct virtio_console_config);
		break;
	case VIRTIO_ID_SCSI:
		type = sizeof(struct virtio_scsi_config);
		break;
	case VIRTIO_ID_FS:
		type = sizeof(struct virtio_fs_config);
		break;
	case VIRTIO_ID_RNG:
		type = 0;
		break;
	default:
		return card->device_len;
	}
	return min_t(size_t, type, card->device_len);
}

static int gpci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct vdpa_device *held;
	struct gpci_mgmt *gm;
	int ret;

	gm = kzalloc(sizeof(*gm), GFP_KERNEL);
	if (!gm)
		return -ENOMEM;
	gm->pdev = pdev;
	gm->mdev.pci_dev = pdev;
	mutex_init(&gm->lock);

	/* A held device's function is still enabled and bus-mastering. */
	held = vdpa_gen_hold_adopt(&pdev->dev);
	if (!held) {
		ret = pci_enable_device(pdev);
		if (ret)
			goto err_free;
	}
	/* Not a modern virtio function (or a transitional one without the
	 * modern capabilities): not ours.
	 */
	ret = vp_modern_probe(&gm->mdev);
	if (ret)
		goto err_disable;
	if (!(vp_modern_get_features(&gm->mdev) & BIT_ULL(VIRTIO_F_VERSION_1)) ||
	    !vp_modern_get_num_queues(&gm->mdev)) {
		ret = -ENODEV;
		goto err_modern;
	}
	/*
	 * Whoever had the card last may have left it running (a held device
	 * deleted by vdpa_gen only lost its bus mastering): quiet before it
	 * may master again.  An adopted card gets it back in gpci_adopt().
	 */
	if (!held) {
		ret = gpci_mdev_reset(&gm->mdev, &pdev->dev);
		if (ret)
			goto err_modern;
		pci_set_master(pdev);
	}
	gm->config_size = gpci_config_size(&gm->mdev);

	gm->ids[0].device = gm->mdev.id.device;
	gm->ids[0].vendor = gm->mdev.id.vendor;
	gm->mgmt.device = &pdev->dev;
	gm->mgmt.ops = &gpci_mgmt_ops;
	gm->mgmt.id_table = gm->ids;
	gm->mgmt.config_attr_mask = BIT_ULL(VDPA_ATTR_DEV_FEATURES);
	gm->mgmt.supported_features = gpci_card_features(gm);
	gm->mgmt.max_supported_vqs = vp_modern_get_num_queues(&gm->mdev);
	pci_set_drvdata(pdev, gm);
	/* No dev_add on a card a held device runs, adopted or not (yet). */
	gm->held_card = !!held;
	ret = vdpa_mgmtdev_register(&gm->mgmt);
	if (ret)
		goto err_register;
	if (held) {
		mutex_lock(&gm->lock);
		ret = gpci_adopt(gm, held);
		if (!ret)
			gm->held_card = false;
		mutex_unlock(&gm->lock);
		if (ret)
			goto err_unregister;
	}
	dev_info(&pdev->dev, "management device for virtio id %u\n",
		 gm->mdev.id.device);
	return 0;

err_unregister:
	/* The adoption failed: no device is ours to delete. */
	vdpa_mgmtdev_unregister(&gm->mgmt);
err_register:
	if (!held)
		pci_clear_master(pdev);
err_modern:
	vp_modern_remove(&gm->mdev);
err_disable:
	/* A device still held keeps its function enabled. */
	if (held)
		vdpa_gen_hold_unadopt(held);
	else
		pci_disable_device(pdev);
err_free:
	mutex_destroy(&gm->lock);
	kfree(gm);
	return ret;
}

static void gpci_remove(struct pci_dev *pdev)
{
	struct gpci_mgmt *gm = pci_get_drvdata(pdev);

	mutex_lock(&gm->lock);
	gm->unloading = hold_on_unload && !module_is_live(THIS_MODULE);
	mutex_unlock(&gm->lock);
	/* Deletes or holds the vDPA device, if any, through gpci_dev_del(). */
	vdpa_mgmtdev_unregister(&gm->mgmt);
	if (!gm->parked)
		pci_clear_master(pdev);
	vp_modern_remove(&gm->mdev);
	if (!gm->parked)
		pci_disable_device(pdev);
	mutex_destroy(&gm->lock);
	kfree(gm);
}

static struct pci_driver gpci_driver = {
	.name = "vdpa_gen_pci",
	/* No ID table: functions are handed over with driver_override. */
	.id_table = NULL,
	.probe = gpci_probe,
	.remove = gpci_remove,
};
module_pci_driver(gpci_driver);

MODULE_DESCRIPTION("Generic vDPA over virtio-pci functions of any type");
MODULE_LICENSE("GPL");

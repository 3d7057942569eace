// SPDX-License-Identifier: GPL-2.0
/*
 * hiaggre_dslice: member ("slice") driver of FusionD.
 *
 * Drives a virtio-blk PCI function that the administrator handed over with
 * driver_override + bind (the driver has no ID table, so it never takes a
 * card by itself). The card is initialised with the kernel's
 * virtio_pci_modern_dev helpers; each data queue is a split ring owned here,
 * with one MSI-X vector per queue and one for configuration changes. The
 * framework gets the card as a struct fusiond_slice.
 *
 * Fault injection, for tests: writing 1 to the card's inject_needs_reset
 * attribute (/sys/bus/pci/devices/BDF/inject_needs_reset, root only) makes
 * the slice report a NEEDS_RESET failure to the framework through the very
 * path a configuration interrupt with VIRTIO_CONFIG_S_NEEDS_RESET takes
 * (QEMU's virtio-blk never sets that bit). The card itself keeps working
 * until the framework fences it, so completions race with the failover as
 * they would with a card that fails while answering.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci_modern.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_blk.h>
#include <linux/fusiond.h>

#define DSLICE_MAX_QUEUES	4
#define DSLICE_QUEUE_SIZE	256U

/*
 * Features the slice accepts from a card; the rest are left off. The card
 * is driven through the DMA API, so ACCESS_PLATFORM (a card behind an
 * IOMMU) is fine.
 */
#define DSLICE_FEATURES (BIT_ULL(VIRTIO_F_VERSION_1) |			\
			 BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) |		\
			 BIT_ULL(VIRTIO_BLK_F_SIZE_MAX) |		\
			 BIT_ULL(VIRTIO_BLK_F_SEG_MAX) |		\
			 BIT_ULL(VIRTIO_BLK_F_BLK_SIZE) |		\
			 BIT_ULL(VIRTIO_BLK_F_FLUSH) |			\
			 BIT_ULL(VIRTIO_BLK_F_TOPOLOGY) |		\
			 BIT_ULL(VIRTIO_BLK_F_RO) |			\
			 BIT_ULL(VIRTIO_BLK_F_MQ))

/* Split ring layout of a modern (little-endian) virtio device. */
struct dslice_desc {
	__le64 addr;
	__le32 len;
	__le16 flags;
	__le16 next;
};

struct dslice_avail {
	__le16 flags;
	__le16 idx;
	__le16 ring[];
};

struct dslice_used_elem {
	__le32 id;
	__le32 len;
};

struct dslice_used {
	__le16 flags;
	__le16 idx;
	struct dslice_used_elem ring[];
};

struct dslice_queue {
	struct dslice *ds;
	u16 index;
	u16 size;
	void *ring;			/* coherent: desc, avail, used */
	dma_addr_t ring_dma;
	size_t ring_bytes;
	struct dslice_desc *desc;
	struct dslice_avail *avail;
	struct dslice_used *used;
	void __iomem *notify;
	int irq;

	spinlock_t lock;		/* protects everything below */
	bool fenced;
	bool kick_pending;		/* requests added, card not told yet */
	u16 free_head;
	u16 num_free;
	u16 avail_idx;
	u16 last_used;
	struct fusiond_req **reqs;	/* by head descriptor */
	struct list_head backlog;	/* fusiond_req.node, not yet on the ring */
};

struct dslice {
	struct fusiond_slice slice;
	struct virtio_pci_modern_device mdev;
	struct pci_dev *pdev;
	struct dslice_queue queues[DSLICE_MAX_QUEUES];
	u16 nq;
	int config_irq;
	bool registered;
	bool injected;			/* NEEDS_RESET came from the attribute */
	bool fenced;			/* under the fence_lock */
	struct mutex fence_lock;	/* serialises fencing */
	struct work_struct failed_work;
};

static struct dslice *to_dslice(struct fusiond_slice *s)
{
	return container_of(s, struct dslice, slice);
}

/* Put @req on the ring if it fits; queue lock held. */
static bool dslice_add(struct dslice_queue *q, struct fusiond_req *req)
{
	u16 head, i, prev = 0;

	if (q->num_free < req->nsegs)
		return false;
	head = q->free_head;
	i = head;
	for (unsigned int n = 0; n < req->nsegs; n++) {
		const struct fusiond_seg *seg = &req->segs[n];
		struct dslice_desc *d = &q->desc[i];
		u16 flags = seg->dev_writes ? VRING_DESC_F_WRITE : 0;

		d->addr = cpu_to_le64(seg->dma);
		d->len = cpu_to_le32(seg->len);
		if (n + 1 < req->nsegs)
			flags |= VRING_DESC_F_NEXT;
		d->flags = cpu_to_le16(flags);
		prev = i;
		i = le16_to_cpu(d->next);
	}
	q->free_head = i;
	q->num_free -= req->nsegs;
	q->desc[prev].flags &= cpu_to_le16(~VRING_DESC_F_NEXT);
	q->reqs[head] = req;
	req->slice_id = head;
	q->avail->ring[q->avail_idx % q->size] = cpu_to_le16(head);
	q->avail_idx++;
	/* Descriptors and the ring slot before the index the card reads. */
	virt_wmb();
	q->avail->idx = cpu_to_le16(q->avail_idx);
	return true;
}

/* Queue lock held. */
static void dslice_kick(struct dslice_queue *q)
{
	WRITE_ONCE(q->kick_pending, false);
	/*
	 * The index update reaches memory before the card's flags are read:
	 * a card that is busy with the ring asks not to be notified.
	 */
	virt_mb();
	if (!(le16_to_cpu(READ_ONCE(q->used->flags)) & VRING_USED_F_NO_NOTIFY))
		iowrite16(q->index, q->notify);
}

static int dslice_submit(struct fusiond_slice *s, u16 queue,
			 struct fusiond_req *req, bool defer_kick)
{
	struct dslice *ds = to_dslice(s);
	struct dslice_queue *q;
	unsigned long flags;
	int ret = 0;

	if (queue >= ds->nq || !req->nsegs)
		return -EINVAL;
	q = &ds->queues[queue];
	if (req->nsegs > q->size)
		return -EINVAL;		/* would never fit the ring */
	spin_lock_irqsave(&q->lock, flags);
	if (q->fenced) {
		ret = -ENODEV;
	} else if (list_empty(&q->backlog) && dslice_add(q, req)) {
		if (defer_kick)
			WRITE_ONCE(q->kick_pending, true);
		else
			dslice_kick(q);
	} else {
		list_add_tail(&req->node, &q->backlog);
	}
	spin_unlock_irqrestore(&q->lock, flags);
	return ret;
}

/* Return the chain starting at @head to the free list; queue lock held. */
static void dslice_free_chain(struct dslice_queue *q, u16 head, u16 nsegs)
{
	u16 i = head;

	for (unsigned int n = 1; n < nsegs; n++)
		i = le16_to_cpu(q->desc[i].next);
	q->desc[i].next = cpu_to_le16(q->free_head);
	q->free_head = head;
	q->num_free += nsegs;
}

static irqreturn_t dslice_vq_irq(int irq, void *data)
{
	struct dslice_queue *q = data;
	struct fusiond_req *req, *tmp;
	LIST_HEAD(done);
	bool kick = false;

	spin_lock(&q->lock);
	while (!q->fenced && q->last_used != le16_to_cpu(READ_ONCE(q->used->idx))) {
		struct dslice_used_elem *e;
		u32 id;

		/* The element after the index that announced it. */
		virt_rmb();
		e = &q->used->ring[q->last_used % q->size];
		id = le32_to_cpu(e->id);
		q->last_used++;
		if (id >= q->size || !q->reqs[id]) {
			dev_err_ratelimited(&q->ds->pdev->dev,
					    "queue %u: bogus used id %u\n",
					    q->index, id);
			continue;
		}
		req = q->reqs[id];
		q->reqs[id] = NULL;
		dslice_free_chain(q, id, req->nsegs);
		req->used_len = le32_to_cpu(e->len);
		list_add_tail(&req->node, &done);
	}
	list_for_each_entry_safe(req, tmp, &q->backlog, node) {
		list_del(&req->node);
		if (!dslice_add(q, req)) {
			list_add(&req->node, &q->backlog);
			break;
		}
		kick = true;
	}
	if (kick)
		dslice_kick(q);
	spin_unlock(&q->lock);

	list_for_each_entry_safe(req, tmp, &done, node) {
		list_del(&req->node);
		fusiond_slice_complete(&q->ds->slice, req);
	}
	return IRQ_HANDLED;
}

static irqreturn_t dslice_config_irq(int irq, void *data)
{
	struct dslice *ds = data;

	if (vp_modern_get_status(&ds->mdev) & VIRTIO_CONFIG_S_NEEDS_RESET)
		schedule_work(&ds->failed_work);
	return IRQ_HANDLED;
}

static void dslice_failed_work(struct work_struct *work)
{
	struct dslice *ds = container_of(work, struct dslice, failed_work);

	dev_warn(&ds->pdev->dev, "card needs reset%s, reporting failure\n",
		 READ_ONCE(ds->injected) ? " (injected)" : "");
	fusiond_slice_failed(&ds->slice);
}

/*
 * Fault injection: "1" reports NEEDS_RESET as dslice_config_irq() does for
 * the real status bit. Anything else is -EINVAL.
 */
static ssize_t inject_needs_reset_store(struct device *dev,
					struct device_attribute *attr,
					const char *buf, size_t count)
{
	struct dslice *ds = dev_get_drvdata(dev);
	unsigned int v;
	int ret;

	ret = kstrtouint(buf, 0, &v);
	if (ret)
		return ret;
	if (v != 1)
		return -EINVAL;
	WRITE_ONCE(ds->injected, true);
	schedule_work(&ds->failed_work);
	return count;
}
static DEVICE_ATTR_WO(inject_needs_reset);

static struct attribute *dslice_attrs[] = {
	&dev_attr_inject_needs_reset.attr,
	NULL,
};
ATTRIBUTE_GROUPS(dslice);

static void dslice_config_read(struct fusiond_slice *s, unsigned int offset,
			       void *buf, unsigned int len)
{
	struct dslice *ds = to_dslice(s);
	u8 *p = buf;

	for (unsigned int i = 0; i < len; i++)
		p[i] = (offset + i < ds->mdev.device_len) ?
		       ioread8(ds->mdev.device + offset + i) : 0;
}

/* Reset the card and wait for it; false if it vanished or never acked. */
static bool dslice_reset_card(struct dslice *ds)
{
	vp_modern_set_status(&ds->mdev, 0);
	for (int i = 0; i < 1000; i++) {
		u8 st = vp_modern_get_status(&ds->mdev);

		if (st == 0)
			return true;
		if (st == 0xff)		/* all-ones: the function is gone */
			return false;
		usleep_range(1000, 2000);
	}
	return false;
}

static void dslice_fence(struct fusiond_slice *s, struct list_head *out)
{
	struct dslice *ds = to_dslice(s);

	mutex_lock(&ds->fence_lock);
	if (!ds->fenced) {
		/* The card stops DMA before its requests are handed back. */
		if (!dslice_reset_card(ds))
			dev_warn(&ds->pdev->dev, "reset not acknowledged, card presumed gone\n");
		for (unsigned int i = 0; i < ds->nq; i++) {
			struct dslice_queue *q = &ds->queues[i];

			spin_lock_irq(&q->lock);
			q->fenced = true;
			spin_unlock_irq(&q->lock);
			synchronize_irq(q->irq);
		}
		ds->fenced = true;
	}
	for (unsigned int i = 0; i < ds->nq; i++) {
		struct dslice_queue *q = &ds->queues[i];

		spin_lock_irq(&q->lock);
		for (unsigned int d = 0; d < q->size; d++) {
			if (q->reqs[d]) {
				list_add_tail(&q->reqs[d]->node, out);
				q->reqs[d] = NULL;
			}
		}
		list_splice_tail_init(&q->backlog, out);
		spin_unlock_irq(&q->lock);
	}
	mutex_unlock(&ds->fence_lock);
}

/* Ring the doorbell of each queue that got requests without one. */
static void dslice_kick_all(struct fusiond_slice *s)
{
	struct dslice *ds = to_dslice(s);
	unsigned long flags;

	for (unsigned int i = 0; i < ds->nq; i++) {
		struct dslice_queue *q = &ds->queues[i];

		if (!READ_ONCE(q->kick_pending))
			continue;
		spin_lock_irqsave(&q->lock, flags);
		if (q->kick_pending && !q->fenced)
			dslice_kick(q);
		spin_unlock_irqrestore(&q->lock, flags);
	}
}

static const struct fusiond_slice_ops dslice_ops = {
	.submit = dslice_submit,
	.kick = dslice_kick_all,
	.config_read = dslice_config_read,
	.fence = dslice_fence,
};

static int dslice_setup_queue(struct dslice *ds, u16 index)
{
	struct dslice_queue *q = &ds->queues[index];
	struct device *dev = &ds->pdev->dev;
	size_t desc_sz, avail_sz, used_off;
	u16 size;
	int ret;

	size = vp_modern_get_queue_size(&ds->mdev, index);
	if (!size)
		return -ENOENT;
	size = min_t(u16, size, DSLICE_QUEUE_SIZE);
	if (!is_power_of_2(size))
		size = rounddown_pow_of_two(size);
	q->ds = ds;
	q->index = index;
	q->size = size;
	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->backlog);

	desc_sz = 16 * size;
	avail_sz = 6 + 2 * size;
	used_off = ALIGN(desc_sz + avail_sz, 64);
	q->ring_bytes = used_off + 6 + 8 * size;
	q->ring = dma_alloc_coherent(dev, q->ring_bytes, &q->ring_dma,
				     GFP_KERNEL);
	if (!q->ring)
		return -ENOMEM;
	q->reqs = kcalloc(size, sizeof(*q->reqs), GFP_KERNEL);
	if (!q->reqs) {
		ret = -ENOMEM;
		goto err_free_ring;
	}
	q->desc = q->ring;
	q->avail = q->ring + desc_sz;
	q->used = q->ring + used_off;
	for (unsigned int i = 0; i + 1 < size; i++)
		q->desc[i].next = cpu_to_le16(i + 1);
	q->num_free = size;

	q->notify = vp_modern_map_vq_notify(&ds->mdev, index, NULL);
	if (!q->notify) {
		ret = -EIO;
		goto err_free_reqs;
	}
	q->irq = pci_irq_vector(ds->pdev, index + 1);
	ret = request_irq(q->irq, dslice_vq_irq, 0, dev_name(dev), q);
	if (ret)
		goto err_unmap_notify;

	vp_modern_set_queue_size(&ds->mdev, index, size);
	vp_modern_queue_address(&ds->mdev, index, q->ring_dma,
				q->ring_dma + desc_sz, q->ring_dma + used_off);
	if (vp_modern_queue_vector(&ds->mdev, index, index + 1) != index + 1) {
		ret = -EBUSY;
		goto err_free_irq;
	}
	vp_modern_set_queue_enable(&ds->mdev, index, true);
	return 0;

err_free_irq:
	free_irq(q->irq, q);
err_unmap_notify:
	if (!ds->mdev.notify_base)
		pci_iounmap(ds->pdev, q->notify);
err_free_reqs:
	kfree(q->reqs);
err_free_ring:
	dma_free_coherent(dev, q->ring_bytes, q->ring, q->ring_dma);
	return ret;
}

static void dslice_teardown_queue(struct dslice *ds, u16 index)
{
	struct dslice_queue *q = &ds->queues[index];

	free_irq(q->irq, q);
	if (!ds->mdev.notify_base)
		pci_iounmap(ds->pdev, q->notify);
	kfree(q->reqs);
	dma_free_coherent(&ds->pdev->dev, q->ring_bytes, q->ring, q->ring_dma);
}

static int dslice_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	u64 features;
	struct dslice *ds;
	u16 nq = 1;
	int nvec, ret;
	u8 st;

	if (pdev->vendor != PCI_VENDOR_ID_REDHAT_QUMRANET ||
	    (pdev->device != 0x1042 && pdev->device != 0x1001))
		return -ENODEV;

	ds = kzalloc(sizeof(*ds), GFP_KERNEL);
	if (!ds)
		return -ENOMEM;
	ds->pdev = pdev;
	ds->mdev.pci_dev = pdev;
	mutex_init(&ds->fence_lock);
	INIT_WORK(&ds->failed_work, dslice_failed_work);

	ret = pci_enable_device(pdev);
	if (ret)
		goto err_free;
	/* A transitional card without modern capabilities fails here. */
	ret = vp_modern_probe(&ds->mdev);
	if (ret)
		goto err_disable;
	if (ds->mdev.id.device != VIRTIO_ID_BLOCK) {
		ret = -ENODEV;
		goto err_modern;
	}
	pci_set_master(pdev);

	if (!dslice_reset_card(ds)) {
		ret = -EIO;
		goto err_modern;
	}
	vp_modern_set_status(&ds->mdev, VIRTIO_CONFIG_S_ACKNOWLEDGE |
			     VIRTIO_CONFIG_S_DRIVER);
	features = vp_modern_get_features(&ds->mdev);
	if (!(features & BIT_ULL(VIRTIO_F_VERSION_1))) {
		ret = -ENODEV;
		goto err_modern;
	}
	features &= DSLICE_FEATURES;
	if (features & BIT_ULL(VIRTIO_BLK_F_MQ)) {
		__le16 n;

		dslice_config_read(&ds->slice,
				   offsetof(struct virtio_blk_config, num_queues),
				   &n, sizeof(n));
		nq = clamp_t(u16, le16_to_cpu(n), 1, DSLICE_MAX_QUEUES);
	}
	nq = min(nq, vp_modern_get_num_queues(&ds->mdev));
	vp_modern_set_features(&ds->mdev, features);
	vp_modern_set_status(&ds->mdev, VIRTIO_CONFIG_S_ACKNOWLEDGE |
			     VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(vp_modern_get_status(&ds->mdev) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		ret = -ENODEV;
		goto err_modern;
	}

	nvec = pci_alloc_irq_vectors(pdev, nq + 1, nq + 1, PCI_IRQ_MSIX);
	if (nvec < 0) {
		ret = nvec;
		goto err_modern;
	}
	ds->config_irq = pci_irq_vector(pdev, 0);
	ret = request_irq(ds->config_irq, dslice_config_irq, 0, dev_name(dev),
			  ds);
	if (ret)
		goto err_free_vectors;
	if (vp_modern_config_vector(&ds->mdev, 0) != 0) {
		ret = -EBUSY;
		goto err_free_config_irq;
	}
	for (ds->nq = 0; ds->nq < nq; ds->nq++) {
		ret = dslice_setup_queue(ds, ds->nq);
		if (ret)
			goto err_teardown_queues;
	}
	st = vp_modern_get_status(&ds->mdev);
	vp_modern_set_status(&ds->mdev, st | VIRTIO_CONFIG_S_DRIVER_OK);

	ds->slice.name = pci_name(pdev);
	ds->slice.dma_dev = dev;
	ds->slice.ops = &dslice_ops;
	ds->slice.virtio_id = ds->mdev.id.device;
	ds->slice.features = features;
	ds->slice.num_queues = ds->nq;
	ds->slice.queue_size = ds->queues[0].size;
	for (unsigned int i = 1; i < ds->nq; i++)
		ds->slice.queue_size = min(ds->slice.queue_size,
					   ds->queues[i].size);
	ret = fusiond_slice_register(&ds->slice);
	if (ret)
		goto err_reset;
	pci_set_drvdata(pdev, ds);
	dev_info(dev, "slice ready: %u queue(s) of %u, features %#llx\n",
		 ds->nq, ds->slice.queue_size, features);
	return 0;

err_reset:
	dslice_reset_card(ds);
err_teardown_queues:
	while (ds->nq--)
		dslice_teardown_queue(ds, ds->nq);
err_free_config_irq:
	free_irq(ds->config_irq, ds);
err_free_vectors:
	pci_free_irq_vectors(pdev);
err_modern:
	vp_modern_remove(&ds->mdev);
err_disable:
	pci_disable_device(pdev);
err_free:
	kfree(ds);
	return ret;
}

static void dslice_remove(struct pci_dev *pdev)
{
	struct dslice *ds = pci_get_drvdata(pdev);
	LIST_HEAD(left);

	/* The framework fences a member card and requeues its requests. */
	fusiond_slice_unregister(&ds->slice);
	cancel_work_sync(&ds->failed_work);
	dslice_fence(&ds->slice, &left);
	WARN_ON(!list_empty(&left));
	for (unsigned int i = 0; i < ds->nq; i++)
		dslice_teardown_queue(ds, i);
	free_irq(ds->config_irq, ds);
	pci_free_irq_vectors(pdev);
	vp_modern_remove(&ds->mdev);
	pci_disable_device(pdev);
	kfree(ds);
}

static struct pci_driver dslice_driver = {
	.name = "hiaggre_dslice",
	/* No ID table: cards are handed over with driver_override. */
	.id_table = NULL,
	.probe = dslice_probe,
	.remove = dslice_remove,
	/* Added after probe and removed before remove: drvdata is set. */
	.dev_groups = dslice_groups,
};
module_pci_driver(dslice_driver);

MODULE_DESCRIPTION("FusionD member driver for virtio-blk PCI functions");
MODULE_LICENSE("GPL");

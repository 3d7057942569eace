// SPDX-License-Identifier: GPL-2.0
/*
 * hiaggre_virtio relay: the guest-visible virtio-pci (modern) device of an
 * aggregate and its data path.
 *
 * BAR0 layout: common config at 0x0000, ISR at 0x1000, device config at
 * 0x2000, notifications at 0x3000 (4 bytes per queue).
 *
 * Data path, one work item per guest queue on an unbound workqueue: a kick
 * makes the work read the avail ring, walk each descriptor chain (bounded
 * by the queue size, no indirect descriptors), pin the guest pages and hand
 * the request to the framework, which maps the pages for the member that
 * carries it. Members thus DMA straight into guest memory: nothing is
 * copied but the ring metadata. Completions (any context) are queued to the
 * same work, which unpins, fills the used ring and signals the queue's
 * MSI-X eventfd. Guest memory is reached through the framework's pin cache (fusiond_dma_rw(),
 * fusiond_pin_get()).
 *
 * Anything malformed the guest hands over (chain loops, out-of-map IOVAs,
 * oversized chains, bad queue sizes or addresses) puts the device in
 * NEEDS_RESET: processing stops until the guest resets it; the members are
 * not touched.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/pci_regs.h>
#include <asm/unaligned.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include "hiaggre_virtio.h"

#define HV_COMMON	0x0000
#define HV_ISR		0x1000
#define HV_DEVICE	0x2000
#define HV_NOTIFY	0x3000
#define HV_BAR0_SIZE	0x4000
#define HV_NOTIFY_MULT	4
#define HV_COMMON_LEN	sizeof(struct virtio_pci_common_cfg)
#define HV_CONFIG_MAX	256

/* Split ring entries of a modern (little-endian) virtio device. */
struct hv_desc {
	__le64 addr;
	__le32 len;
	__le16 flags;
	__le16 next;
};

struct hv_used_elem {
	__le32 id;
	__le32 len;
};

struct hv_queue {
	struct hv_dev *hv;
	u16 index;
	struct work_struct work;

	/* Programmed by the guest; under hv->lock, read by the work. */
	u16 size;
	u16 msix;
	bool enabled;
	u64 desc;
	u64 avail;
	u64 used;

	/* Only touched by the work. */
	u16 last_avail;
	u16 used_idx;

	spinlock_t done_lock;		/* protects @done */
	struct list_head done;		/* completed fusiond_req */
};

struct hv_dev {
	struct fusiond_agg *agg;
	const struct hv_type *type;
	struct workqueue_struct *wq;
	u16 nq;
	u16 max_segs;			/* page segments per request */
	struct hv_queue *vqs;
	atomic_t inflight;		/* requests handed to the framework */
	wait_queue_head_t idle_wq;	/* @inflight reached 0 */
	u8 config[HV_CONFIG_MAX];	/* device config, built at create */

	struct mutex lock;		/* register state below and queue setup */
	u64 dev_features;
	u64 drv_features;
	u32 dfselect;
	u32 gfselect;
	u16 msix_config;
	u16 qselect;
	u8 status;
	u8 generation;
	u8 isr;
	bool broken;			/* NEEDS_RESET; also read by the works */
};

static struct kmem_cache *hv_req_cache;

static void hv_needs_reset(struct hv_dev *hv, const char *why, u16 q)
{
	u16 vec;

	mutex_lock(&hv->lock);
	if (hv->broken) {
		mutex_unlock(&hv->lock);
		return;
	}
	WRITE_ONCE(hv->broken, true);
	hv->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	hv->isr |= VIRTIO_PCI_ISR_CONFIG;
	vec = hv->msix_config;
	mutex_unlock(&hv->lock);
	pr_warn_ratelimited("%s: queue %u: %s, device needs reset\n",
			    fusiond_agg_name(hv->agg), q, why);
	if (vec != VIRTIO_MSI_NO_VECTOR)
		fusiond_signal(hv->agg, vec);
}

/* ---- data path ------------------------------------------------------------ */

static void hv_unpin_req(struct hv_dev *hv, struct fusiond_req *req)
{
	for (unsigned int i = 0; i < req->nsegs; i++)
		fusiond_pin_put(hv->agg, req->segs[i].pin);
	req->nsegs = 0;
}

/* Add [@iova, @iova + @len) to @req page by page, pinning each page. */
static int hv_add_buffer(struct hv_dev *hv, struct fusiond_req *req, u64 iova,
			 u32 len, bool dev_writes)
{
	while (len) {
		struct fusiond_seg *seg;
		u32 off = offset_in_page(iova);
		u32 n = min_t(u32, len, PAGE_SIZE - off);

		if (req->nsegs >= hv->max_segs)
			return -E2BIG;
		seg = &req->segs[req->nsegs];
		seg->pin = fusiond_pin_get(hv->agg, iova, dev_writes, &seg->page);
		if (IS_ERR(seg->pin))
			return PTR_ERR(seg->pin);
		seg->iova = iova;
		seg->offset = off;
		seg->len = n;
		seg->dev_writes = dev_writes;
		req->nsegs++;
		iova += n;
		len -= n;
	}
	return 0;
}

/* Walk the chain at @head into @req. Returns 0 or a reason for the log. */
static const char *hv_parse_chain(struct hv_queue *q, u16 head,
				  struct fusiond_req *req)
{
	struct hv_dev *hv = q->hv;
	bool seen_write = false;
	u16 i = head;

	for (unsigned int n = 0; ; n++) {
		struct hv_desc d;
		u16 flags;
		u32 len;

		if (n >= q->size)
			return "descriptor chain loops or is too long";
		if (i >= q->size)
			return "descriptor index out of range";
		if (fusiond_dma_rw(hv->agg, q->desc + 16ULL * i, &d, sizeof(d),
				   false))
			return "descriptor table not in mapped memory";
		flags = le16_to_cpu(d.flags);
		len = le32_to_cpu(d.len);
		if (flags & VRING_DESC_F_INDIRECT)
			return "indirect descriptor not negotiated";
		if (!len)
			return "zero-length descriptor";
		if (flags & VRING_DESC_F_WRITE)
			seen_write = true;
		else if (seen_write)
			return "device-readable descriptor after a writable one";
		switch (hv_add_buffer(hv, req, le64_to_cpu(d.addr), len,
				      flags & VRING_DESC_F_WRITE)) {
		case 0:
			break;
		case -E2BIG:
			return "request too large";
		default:
			return "buffer not in mapped memory";
		}
		if (!(flags & VRING_DESC_F_NEXT))
			return NULL;
		i = le16_to_cpu(d.next);
	}
}

static void hv_complete_one(struct hv_queue *q, struct fusiond_req *req,
			    bool write_used)
{
	struct hv_dev *hv = q->hv;
	u32 len = req->used_len;

	if (write_used) {
		struct hv_used_elem e;
		u64 at = q->used + 4 + 8ULL * (q->used_idx % q->size);

		if (req->status)
			len = hv->type->fail_request(hv->agg, req);
		e.id = cpu_to_le32(req->head);
		e.len = cpu_to_le32(len);

		if (fusiond_dma_rw(hv->agg, at, &e, sizeof(e), true))
			hv_needs_reset(hv, "used ring not in mapped memory",
				       q->index);
		q->used_idx++;
	}
	hv_unpin_req(hv, req);
	kmem_cache_free(hv_req_cache, req);
	if (atomic_dec_and_test(&hv->inflight))
		wake_up(&hv->idle_wq);
}

/* Returns true if it published used entries. */
static bool hv_reap(struct hv_queue *q, bool live)
{
	struct fusiond_req *req, *tmp;
	LIST_HEAD(done);
	bool any = false;

	spin_lock_irq(&q->done_lock);
	list_splice_init(&q->done, &done);
	spin_unlock_irq(&q->done_lock);
	list_for_each_entry_safe(req, tmp, &done, node) {
		list_del(&req->node);
		hv_complete_one(q, req, live);
		any = true;
	}
	if (any && live) {
		__le16 idx = cpu_to_le16(q->used_idx);

		/* Entries first, then the index the guest polls. */
		smp_wmb();
		if (fusiond_dma_rw(q->hv->agg, q->used + 2, &idx, sizeof(idx),
				   true))
			hv_needs_reset(q->hv, "used ring not in mapped memory",
				       q->index);
	}
	return any && live;
}

/* Hand the new requests to the framework. Returns how many. */
static unsigned int hv_process_avail(struct hv_queue *q)
{
	struct hv_dev *hv = q->hv;
	unsigned int queued = 0;
	__le16 raw;
	u16 avail_idx;

	if (fusiond_dma_rw(hv->agg, q->avail + 2, &raw, sizeof(raw), false)) {
		hv_needs_reset(hv, "avail ring not in mapped memory", q->index);
		return 0;
	}
	avail_idx = le16_to_cpu(raw);
	if ((u16)(avail_idx - q->last_avail) > q->size) {
		hv_needs_reset(hv, "avail index jumped past the queue size",
			       q->index);
		return 0;
	}
	/* Ring entries are read after the index that published them. */
	smp_rmb();
	while (q->last_avail != avail_idx && !READ_ONCE(hv->broken)) {
		struct fusiond_req *req;
		const char *bad;
		u16 head;

		if (fusiond_dma_rw(hv->agg, q->avail + 4 +
				   2ULL * (q->last_avail % q->size), &raw,
				   sizeof(raw), false)) {
			hv_needs_reset(hv, "avail ring not in mapped memory",
				       q->index);
			break;
		}
		head = le16_to_cpu(raw);
		req = kmem_cache_alloc(hv_req_cache, GFP_KERNEL);
		if (!req)
			break;		/* retried at the next kick */
		req->nsegs = 0;
		req->requeues = 0;
		req->status = 0;
		req->used_len = 0;
		req->mapped = false;
		req->head = head;
		req->agg_queue = q->index;
		/* Counted from its first pin on: see hv_dma_unmap(). */
		atomic_inc(&hv->inflight);
		bad = hv_parse_chain(q, head, req);
		if (bad) {
			hv_unpin_req(hv, req);
			kmem_cache_free(hv_req_cache, req);
			if (atomic_dec_and_test(&hv->inflight))
				wake_up(&hv->idle_wq);
			hv_needs_reset(hv, bad, q->index);
			break;
		}
		q->last_avail++;
		fusiond_queue(hv->agg, req);
		queued++;
	}
	return queued;
}

static void hv_queue_work(struct work_struct *work)
{
	struct hv_queue *q = container_of(work, struct hv_queue, work);
	struct hv_dev *hv = q->hv;
	bool live, signal;
	u16 vec;

	mutex_lock(&hv->lock);
	live = q->enabled && (hv->status & VIRTIO_CONFIG_S_DRIVER_OK);
	vec = q->msix;
	mutex_unlock(&hv->lock);

	signal = hv_reap(q, live);
	/* One doorbell per member queue for the whole batch. */
	if (live && !READ_ONCE(hv->broken) && hv_process_avail(q))
		fusiond_kick(hv->agg);
	if (signal && vec != VIRTIO_MSI_NO_VECTOR)
		fusiond_signal(hv->agg, vec);
}

static void hv_complete(void *priv, struct fusiond_req *req)
{
	struct hv_dev *hv = priv;
	struct hv_queue *q = &hv->vqs[req->agg_queue];
	unsigned long flags;

	spin_lock_irqsave(&q->done_lock, flags);
	list_add_tail(&req->node, &q->done);
	spin_unlock_irqrestore(&q->done_lock, flags);
	queue_work(hv->wq, &q->work);
}

/* Wait until the framework gave back every request and all are unpinned. */
static void hv_drain(struct hv_dev *hv)
{
	do {
		wait_event(hv->idle_wq, !atomic_read(&hv->inflight));
		flush_workqueue(hv->wq);
	} while (atomic_read(&hv->inflight));
}

/* Device reset: stop the queues, drain, forget the guest's setup. */
static void hv_reset(void *priv)
{
	struct hv_dev *hv = priv;

	mutex_lock(&hv->lock);
	for (unsigned int i = 0; i < hv->nq; i++)
		hv->vqs[i].enabled = false;
	WRITE_ONCE(hv->broken, true);
	mutex_unlock(&hv->lock);

	hv_drain(hv);

	mutex_lock(&hv->lock);
	for (unsigned int i = 0; i < hv->nq; i++) {
		struct hv_queue *q = &hv->vqs[i];

		q->size = hv->type->max_queue_size;
		q->msix = VIRTIO_MSI_NO_VECTOR;
		q->desc = 0;
		q->avail = 0;
		q->used = 0;
		q->last_avail = 0;
		q->used_idx = 0;
	}
	hv->status = 0;
	hv->drv_features = 0;
	hv->dfselect = 0;
	hv->gfselect = 0;
	hv->qselect = 0;
	hv->isr = 0;
	hv->msix_config = VIRTIO_MSI_NO_VECTOR;
	WRITE_ONCE(hv->broken, false);
	mutex_unlock(&hv->lock);
}

static void hv_dma_unmap(void *priv, u64 iova, u64 len)
{
	struct hv_dev *hv = priv;

	/*
	 * Requests pin their pages from their first pin on (counted in
	 * @inflight). Without any, the framework's cached pins are all there
	 * is, and it drops those of the range after this returns. Otherwise
	 * (conservatively, whether or not they overlap the range) memory is
	 * unmapped under in-flight DMA, the user's bug: stop the device and
	 * wait for the members to finish, so that the framework can unpin
	 * every page of the range before the unmap completes, as type1
	 * requires.
	 */
	if (!atomic_read(&hv->inflight))
		return;
	hv_needs_reset(hv, "memory unmapped under in-flight requests", 0);
	hv_drain(hv);
}

/* ---- register file --------------------------------------------------------- */

static bool hv_queue_valid(struct hv_dev *hv, struct hv_queue *q)
{
	return q->size && is_power_of_2(q->size) &&
	       q->size <= hv->type->max_queue_size &&
	       IS_ALIGNED(q->desc, 16) && IS_ALIGNED(q->avail, 2) &&
	       IS_ALIGNED(q->used, 4);
}

static u32 hv_common_read(struct hv_dev *hv, unsigned int off)
{
	struct hv_queue *q = hv->qselect < hv->nq ? &hv->vqs[hv->qselect] :
			     NULL;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		return hv->dfselect;
	case VIRTIO_PCI_COMMON_DF:
		return hv->dfselect < 2 ? hv->dev_features >> (32 * hv->dfselect) : 0;
	case VIRTIO_PCI_COMMON_GFSELECT:
		return hv->gfselect;
	case VIRTIO_PCI_COMMON_GF:
		return hv->gfselect < 2 ? hv->drv_features >> (32 * hv->gfselect) : 0;
	case VIRTIO_PCI_COMMON_MSIX:
		return hv->msix_config;
	case VIRTIO_PCI_COMMON_NUMQ:
		return hv->nq;
	case VIRTIO_PCI_COMMON_STATUS:
		return hv->status;
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return hv->generation;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		return hv->qselect;
	}
	if (!q)
		return 0;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		return q->size;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		return q->msix;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return q->enabled;
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return q->index;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		return lower_32_bits(q->desc);
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		return upper_32_bits(q->desc);
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		return lower_32_bits(q->avail);
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		return upper_32_bits(q->avail);
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		return lower_32_bits(q->used);
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return upper_32_bits(q->used);
	}
	return 0;
}

static void hv_set_lo(u64 *v, u32 lo)
{
	*v = (*v & GENMASK_ULL(63, 32)) | lo;
}

static void hv_set_hi(u64 *v, u32 hi)
{
	*v = (*v & GENMASK_ULL(31, 0)) | ((u64)hi << 32);
}

/* Returns true if the device must be reset (status 0 written). */
static bool hv_common_write(struct hv_dev *hv, unsigned int off, u32 val)
{
	struct hv_queue *q = hv->qselect < hv->nq ? &hv->vqs[hv->qselect] :
			     NULL;
	bool queue_busy = q && q->enabled;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		hv->dfselect = val;
		return false;
	case VIRTIO_PCI_COMMON_GFSELECT:
		hv->gfselect = val;
		return false;
	case VIRTIO_PCI_COMMON_GF:
		if (hv->status & VIRTIO_CONFIG_S_FEATURES_OK)
			return false;
		if (hv->gfselect == 0)
			hv_set_lo(&hv->drv_features, val);
		else if (hv->gfselect == 1)
			hv_set_hi(&hv->drv_features, val);
		return false;
	case VIRTIO_PCI_COMMON_MSIX:
		hv->msix_config = val;
		return false;
	case VIRTIO_PCI_COMMON_STATUS:
		if (!val)
			return true;
		if ((val & VIRTIO_CONFIG_S_FEATURES_OK) &&
		    !(hv->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
		    ((hv->drv_features & ~hv->dev_features) ||
		     !(hv->drv_features & BIT_ULL(VIRTIO_F_VERSION_1))))
			val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		/* NEEDS_RESET is the device's bit; the driver cannot clear it. */
		hv->status = (val & ~VIRTIO_CONFIG_S_NEEDS_RESET) |
			     (hv->status & VIRTIO_CONFIG_S_NEEDS_RESET);
		return false;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		hv->qselect = val;
		return false;
	}
	if (!q || queue_busy)
		return false;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		q->size = val;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		q->msix = val;
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (val != 1)
			break;
		if (!hv_queue_valid(hv, q)) {
			mutex_unlock(&hv->lock);
			hv_needs_reset(hv, "bad queue size or ring alignment",
				       q->index);
			mutex_lock(&hv->lock);
			break;
		}
		q->last_avail = 0;
		q->used_idx = 0;
		q->enabled = true;
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		hv_set_lo(&q->desc, val);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		hv_set_hi(&q->desc, val);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		hv_set_lo(&q->avail, val);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		hv_set_hi(&q->avail, val);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		hv_set_lo(&q->used, val);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		hv_set_hi(&q->used, val);
		break;
	}
	return false;
}

/* Width of the common config field at @off (0 if none starts there). */
static unsigned int hv_common_width(unsigned int off)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_STATUS:
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return 1;
	case VIRTIO_PCI_COMMON_MSIX:
	case VIRTIO_PCI_COMMON_NUMQ:
	case VIRTIO_PCI_COMMON_Q_SELECT:
	case VIRTIO_PCI_COMMON_Q_SIZE:
	case VIRTIO_PCI_COMMON_Q_MSIX:
	case VIRTIO_PCI_COMMON_Q_ENABLE:
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return 2;
	default:
		return off < HV_COMMON_LEN && !(off & 3) ? 4 : 0;
	}
}

static int hv_bar_rw(void *priv, unsigned int off, void *buf,
		     unsigned int len, bool write)
{
	struct hv_dev *hv = priv;
	bool reset = false;
	u32 val = 0;

	if (off >= HV_NOTIFY && off < HV_NOTIFY + HV_NOTIFY_MULT * hv->nq) {
		unsigned int qi = (off - HV_NOTIFY) / HV_NOTIFY_MULT;

		if (write)
			queue_work(hv->wq, &hv->vqs[qi].work);
		else
			memset(buf, 0, len);
		return 0;
	}
	if (off >= HV_DEVICE && off < HV_DEVICE + hv->type->config_size) {
		unsigned int o = off - HV_DEVICE;

		if (o + len > hv->type->config_size)
			return -EINVAL;
		if (!write)
			memcpy(buf, &hv->config[o], len);
		return 0;
	}

	mutex_lock(&hv->lock);
	if (off == HV_ISR && len == 1) {
		if (!write) {
			*(u8 *)buf = hv->isr;
			hv->isr = 0;
		}
		mutex_unlock(&hv->lock);
		return 0;
	}
	if (off >= HV_COMMON_LEN || hv_common_width(off) != len) {
		mutex_unlock(&hv->lock);
		return -EINVAL;
	}
	if (write) {
		switch (len) {
		case 1:
			val = *(u8 *)buf;
			break;
		case 2:
			val = le16_to_cpu(*(__le16 *)buf);
			break;
		default:
			val = le32_to_cpu(*(__le32 *)buf);
		}
		reset = hv_common_write(hv, off, val);
	} else {
		val = hv_common_read(hv, off);
		switch (len) {
		case 1:
			*(u8 *)buf = val;
			break;
		case 2:
			*(__le16 *)buf = cpu_to_le16(val);
			break;
		default:
			*(__le32 *)buf = cpu_to_le32(val);
		}
	}
	mutex_unlock(&hv->lock);
	if (reset)
		hv_reset(hv);
	return 0;
}

/* ---- PCI identity and lifetime --------------------------------------------- */

static u8 hv_put_cap(u8 *cfg, u8 pos, u8 next, u8 type, u32 offset, u32 len,
		     u8 cap_len)
{
	cfg[pos + VIRTIO_PCI_CAP_VNDR] = PCI_CAP_ID_VNDR;
	cfg[pos + VIRTIO_PCI_CAP_NEXT] = next;
	cfg[pos + VIRTIO_PCI_CAP_LEN] = cap_len;
	cfg[pos + VIRTIO_PCI_CAP_CFG_TYPE] = type;
	cfg[pos + VIRTIO_PCI_CAP_BAR] = 0;
	put_unaligned_le32(offset, &cfg[pos + VIRTIO_PCI_CAP_OFFSET]);
	put_unaligned_le32(len, &cfg[pos + VIRTIO_PCI_CAP_LENGTH]);
	return pos;
}

static u8 hv_fill_config(void *priv, u8 *cfg, u8 pos, u16 *device_id,
			 u32 *class, u32 *bar0_size)
{
	struct hv_dev *hv = priv;
	u8 common = pos, notify = pos + 16, isr = pos + 36, dev = pos + 52;

	hv_put_cap(cfg, common, notify, VIRTIO_PCI_CAP_COMMON_CFG, HV_COMMON,
		   HV_COMMON_LEN, 16);
	hv_put_cap(cfg, notify, isr, VIRTIO_PCI_CAP_NOTIFY_CFG, HV_NOTIFY,
		   HV_NOTIFY_MULT * hv->nq, 20);
	put_unaligned_le32(HV_NOTIFY_MULT, &cfg[notify + 16]);
	hv_put_cap(cfg, isr, dev, VIRTIO_PCI_CAP_ISR_CFG, HV_ISR, 1, 16);
	hv_put_cap(cfg, dev, 0, VIRTIO_PCI_CAP_DEVICE_CFG, HV_DEVICE,
		   hv->type->config_size, 16);
	*device_id = 0x1040 + hv->type->pers.virtio_id;
	*class = hv->type->class;
	*bar0_size = HV_BAR0_SIZE;
	return common;
}

static unsigned int hv_num_vectors(void *priv)
{
	struct hv_dev *hv = priv;

	return hv->nq + 1;
}

static void *hv_create(struct fusiond_personality *p, struct fusiond_agg *agg)
{
	struct hv_type *type = container_of(p, struct hv_type, pers);
	u8 member_cfg[HV_CONFIG_MAX] = {};
	struct hv_dev *hv;
	int ret;

	hv = kzalloc(sizeof(*hv), GFP_KERNEL);
	if (!hv)
		return ERR_PTR(-ENOMEM);
	hv->agg = agg;
	hv->type = type;
	hv->nq = fusiond_num_queues(agg);
	mutex_init(&hv->lock);
	init_waitqueue_head(&hv->idle_wq);
	hv->dev_features = BIT_ULL(VIRTIO_F_VERSION_1) |
			   (fusiond_member_features(agg) & type->features) |
			   type->extra_features(hv->nq);
	ret = fusiond_member_config_read(agg, 0, member_cfg, type->config_size);
	if (ret)
		goto err_free;
	hv->max_segs = fusiond_max_descriptors(agg);
	type->fill_config(hv->config, member_cfg, hv->nq, hv->max_segs);

	hv->vqs = kcalloc(hv->nq, sizeof(*hv->vqs), GFP_KERNEL);
	if (!hv->vqs) {
		ret = -ENOMEM;
		goto err_free;
	}
	for (unsigned int i = 0; i < hv->nq; i++) {
		struct hv_queue *q = &hv->vqs[i];

		q->hv = hv;
		q->index = i;
		spin_lock_init(&q->done_lock);
		INIT_LIST_HEAD(&q->done);
		INIT_WORK(&q->work, hv_queue_work);
	}
	hv->wq = alloc_workqueue("hiaggre-%s", WQ_UNBOUND | WQ_MEM_RECLAIM, 0,
				 fusiond_agg_name(agg));
	if (!hv->wq) {
		ret = -ENOMEM;
		goto err_free_vqs;
	}
	hv_reset(hv);
	return hv;

err_free_vqs:
	kfree(hv->vqs);
err_free:
	kfree(hv);
	return ERR_PTR(ret);
}

static void hv_destroy(void *priv)
{
	struct hv_dev *hv = priv;

	hv_reset(hv);
	destroy_workqueue(hv->wq);
	kfree(hv->vqs);
	kfree(hv);
}

/**
 * hv_type_register() - register a virtio device type as a personality
 * @type: the type; the relay fills in the personality callbacks
 *
 * Return: 0 or -errno from fusiond_personality_register().
 */
int hv_type_register(struct hv_type *type)
{
	struct fusiond_personality *p = &type->pers;

	p->create = hv_create;
	p->destroy = hv_destroy;
	p->num_vectors = hv_num_vectors;
	p->fill_config = hv_fill_config;
	p->bar_rw = hv_bar_rw;
	p->reset = hv_reset;
	p->complete = hv_complete;
	p->dma_unmap = hv_dma_unmap;
	return fusiond_personality_register(p);
}

/**
 * hv_type_unregister() - withdraw a device type
 * @type: a registered type
 */
void hv_type_unregister(struct hv_type *type)
{
	fusiond_personality_unregister(&type->pers);
}

static int __init hv_init(void)
{
	int ret;

	hv_req_cache = KMEM_CACHE(fusiond_req, 0);
	if (!hv_req_cache)
		return -ENOMEM;
	ret = hv_blk_init();
	if (ret)
		goto err_destroy_cache;
	return 0;

err_destroy_cache:
	kmem_cache_destroy(hv_req_cache);
	return ret;
}

static void __exit hv_exit(void)
{
	hv_blk_exit();
	kmem_cache_destroy(hv_req_cache);
}

module_init(hv_init);
module_exit(hv_exit);
MODULE_DESCRIPTION("FusionD virtio personality (relay + virtio-blk)");
MODULE_LICENSE("GPL");

// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory of an aggregate: a cache of VFIO pins.
 *
 * Every page the data path touches (ring metadata and request buffers) is
 * pinned once through vfio_pin_pages() and then reached through the kernel's
 * direct map, instead of a vfio_dma_rw() per ring access (each one switches
 * the worker to the user's mm) and a pin/unpin per request page.
 *
 * Each pinned page has one struct fusiond_pin, listed in @pins by page
 * number while it is live. Its reference count counts its users (requests
 * in flight, a ring access in progress) plus one while the cache retains
 * it. Up to @max pages are retained; beyond that a pin lives only as long
 * as its users, as before. The last reference unpins the page.
 *
 * The user unmapping guest memory (VFIO_IOMMU_UNMAP_DMA) must see every
 * page of the range unpinned when our dma_unmap callback returns, or type1
 * retries and finally BUGs. fusiond_pins_drop() therefore marks the range,
 * so that no new pin is made in it, forgets every pin in it and waits until
 * their last users are gone: requests in flight finish at their member
 * first (the personality's dma_unmap stops the device for that, see
 * hv_dma_unmap()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/moduleparam.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/vfio.h>
#include "fusiond_core.h"

static unsigned long pin_cache_pages = 65536;
module_param(pin_cache_pages, ulong, 0644);
MODULE_PARM_DESC(pin_cache_pages,
		 "guest pages each aggregate keeps pinned between requests (default 65536 = 256 MiB, 0: none)");

/**
 * struct fusiond_pin - one pinned guest page
 * @iova: page-aligned guest IOVA
 * @page: the pinned page
 * @ref: users, plus one while @retained
 * @writable: pinned for device writes too
 * @retained: kept by the cache when idle; under the cache's lock
 * @dropped: no longer listed but not unpinned yet, counted in the cache's
 *	@dropping; under the cache's lock
 * @next_idle: fusiond_pins_drop()'s list of pins to unpin
 * @rcu: freed after an RCU grace period (lookups are lockless)
 */
struct fusiond_pin {
	u64 iova;
	struct page *page;
	refcount_t ref;
	bool writable;
	bool retained;
	bool dropped;
	struct fusiond_pin *next_idle;
	struct rcu_head rcu;
};

void fusiond_pins_init(struct fusiond_pins *pc, struct vfio_device *vdev)
{
	pc->vdev = vdev;
	mutex_init(&pc->lock);
	mutex_init(&pc->drop_lock);
	xa_init(&pc->pins);
	init_waitqueue_head(&pc->drop_wq);
	pc->max = READ_ONCE(pin_cache_pages);
}

static bool fusiond_pins_blocked(struct fusiond_pins *pc, u64 iova)
{
	lockdep_assert_held(&pc->lock);
	return pc->block_end > pc->block_start && iova >= pc->block_start &&
	       iova < pc->block_end;
}

/* The last user is gone: unpin, then forget it. Process context. */
static void fusiond_pin_release(struct fusiond_pins *pc, struct fusiond_pin *p)
{
	vfio_unpin_pages(pc->vdev, p->iova, 1);
	mutex_lock(&pc->lock);
	/* A new pin of the same page may have replaced it already. */
	xa_cmpxchg(&pc->pins, p->iova >> PAGE_SHIFT, p, NULL, GFP_KERNEL);
	if (p->dropped && !--pc->dropping)
		wake_up_all(&pc->drop_wq);
	mutex_unlock(&pc->lock);
	kfree_rcu(p, rcu);
}

/**
 * fusiond_pin_put() - drop a reference from fusiond_pin_get()
 * @agg: the aggregate
 * @pin: the pin
 *
 * Process context (the last reference unpins, which sleeps).
 */
void fusiond_pin_put(struct fusiond_agg *agg, struct fusiond_pin *pin)
{
	if (refcount_dec_and_test(&pin->ref))
		fusiond_pin_release(fusiond_vfio_pins(agg), pin);
}
EXPORT_SYMBOL_GPL(fusiond_pin_put);

static struct fusiond_pin *fusiond_pin_lookup(struct fusiond_pins *pc,
					      unsigned long pfn)
{
	struct fusiond_pin *p;

	rcu_read_lock();
	p = xa_load(&pc->pins, pfn);
	if (p && !refcount_inc_not_zero(&p->ref))
		p = NULL;
	rcu_read_unlock();
	return p;
}

/* Pin @iova's page through VFIO, read-write if the mapping allows. */
static struct fusiond_pin *fusiond_pin_new(struct fusiond_pins *pc, u64 iova,
					   bool write)
{
	struct fusiond_pin *p;
	int ret;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return ERR_PTR(-ENOMEM);
	p->iova = iova;
	p->writable = true;
	ret = vfio_pin_pages(pc->vdev, iova, 1, IOMMU_READ | IOMMU_WRITE,
			     &p->page);
	if (ret == -EPERM && !write) {
		p->writable = false;
		ret = vfio_pin_pages(pc->vdev, iova, 1, IOMMU_READ, &p->page);
	}
	if (ret != 1) {
		kfree(p);
		return ERR_PTR(ret < 0 ? ret : -EFAULT);
	}
	refcount_set(&p->ref, 1);
	return p;
}

/**
 * fusiond_pin_get() - pin the guest page holding @iova
 * @agg: an enabled aggregate whose VFIO device is open
 * @iova: guest IOVA (any byte of the page)
 * @write: the device will write the page
 * @page: the pinned page
 *
 * Process context. The page stays pinned (and mapped for the user) until
 * the reference is dropped with fusiond_pin_put().
 *
 * Return: the pin, or an ERR_PTR: -EFAULT/-EINVAL outside the user's map
 * or in a range being unmapped, -EPERM for a read-only mapping and @write.
 */
struct fusiond_pin *fusiond_pin_get(struct fusiond_agg *agg, u64 iova,
				    bool write, struct page **page)
{
	struct fusiond_pins *pc = fusiond_vfio_pins(agg);
	unsigned long pfn = iova >> PAGE_SHIFT;
	struct fusiond_pin *p, *old;
	int ret = 0;

	p = fusiond_pin_lookup(pc, pfn);
	if (p) {
		atomic64_inc(&pc->hits);
		goto check;
	}
	atomic64_inc(&pc->misses);
	p = fusiond_pin_new(pc, iova & PAGE_MASK, write);
	if (IS_ERR(p))
		return p;

	mutex_lock(&pc->lock);
	if (fusiond_pins_blocked(pc, p->iova)) {
		ret = -EFAULT;
		goto unlock;
	}
	old = xa_load(&pc->pins, pfn);
	if (old && refcount_inc_not_zero(&old->ref)) {
		/* Pinned meanwhile by someone else: use theirs. */
		mutex_unlock(&pc->lock);
		vfio_unpin_pages(pc->vdev, p->iova, 1);
		kfree(p);
		p = old;
		goto check;
	}
	/* Empty, or a pin whose last user is releasing it: take the slot. */
	ret = xa_err(xa_store(&pc->pins, pfn, p, GFP_KERNEL));
	if (ret)
		goto unlock;
	if (old) {
		/* Its release is not done until it unpinned: see drop. */
		old->dropped = true;
		pc->dropping++;
	}
	if (pc->cached < pc->max) {
		p->retained = true;
		refcount_inc(&p->ref);
		pc->cached++;
	}
unlock:
	mutex_unlock(&pc->lock);
	if (ret) {
		vfio_unpin_pages(pc->vdev, p->iova, 1);
		kfree(p);
		return ERR_PTR(ret);
	}
check:
	if (write && !p->writable) {
		fusiond_pin_put(agg, p);
		return ERR_PTR(-EPERM);
	}
	*page = p->page;
	return p;
}
EXPORT_SYMBOL_GPL(fusiond_pin_get);

/**
 * fusiond_pins_drop() - unpin every page of a range
 * @pc: the cache
 * @iova: start of the range
 * @len: its length (U64_MAX - @iova for everything)
 *
 * New pins in the range fail while this runs. Returns once every page of
 * the range that was pinned is unpinned, i.e. after the last users of
 * those still in use dropped them. Process context; must not be called by
 * something those users wait for.
 */
void fusiond_pins_drop(struct fusiond_pins *pc, u64 iova, u64 len)
{
	unsigned long first = iova >> PAGE_SHIFT;
	unsigned long last = (iova + len - 1) >> PAGE_SHIFT;
	struct fusiond_pin *p, *idle = NULL;
	unsigned long pfn;

	if (!len)
		return;
	mutex_lock(&pc->drop_lock);
	mutex_lock(&pc->lock);
	pc->block_start = iova & PAGE_MASK;
	pc->block_end = iova + len - 1 < iova ? U64_MAX : iova + len;
	xa_for_each_range(&pc->pins, pfn, p, first, last) {
		xa_erase(&pc->pins, pfn);
		if (p->retained) {
			p->retained = false;
			pc->cached--;
			if (refcount_dec_and_test(&p->ref)) {
				/* Idle: unpinned below, outside the lock. */
				p->next_idle = idle;
				idle = p;
				continue;
			}
		}
		/*
		 * In use, or its last user is releasing it: that user unpins
		 * it and then (under the lock) stops counting it.
		 */
		p->dropped = true;
		pc->dropping++;
	}
	mutex_unlock(&pc->lock);

	while (idle) {
		p = idle;
		idle = p->next_idle;
		vfio_unpin_pages(pc->vdev, p->iova, 1);
		kfree_rcu(p, rcu);
	}
	wait_event(pc->drop_wq, !READ_ONCE(pc->dropping));
	mutex_lock(&pc->lock);
	pc->block_start = 0;
	pc->block_end = 0;
	mutex_unlock(&pc->lock);
	mutex_unlock(&pc->drop_lock);
}

/**
 * fusiond_dma_rw() - copy to or from guest memory
 * @agg: an enabled aggregate whose VFIO device is open
 * @iova: guest IOVA
 * @buf: kernel buffer
 * @len: bytes
 * @write: true to write guest memory
 *
 * Goes through the pin cache page by page; a page that cannot be pinned
 * (e.g. in a range being unmapped) is copied with vfio_dma_rw() instead.
 * Process context (kthreads included).
 *
 * Return: 0, or -errno (-EINVAL/-EFAULT for IOVAs outside the user's map).
 */
int fusiond_dma_rw(struct fusiond_agg *agg, u64 iova, void *buf, size_t len,
		   bool write)
{
	while (len) {
		size_t n = min_t(size_t, len, PAGE_SIZE - offset_in_page(iova));
		struct fusiond_pin *p;
		struct page *page;
		void *va;
		int ret;

		p = fusiond_pin_get(agg, iova, write, &page);
		if (IS_ERR(p)) {
			ret = vfio_dma_rw(fusiond_vfio_pins(agg)->vdev, iova,
					  buf, n, write);
			if (ret)
				return ret;
		} else {
			va = kmap_local_page(page);
			if (write)
				memcpy(va + offset_in_page(iova), buf, n);
			else
				memcpy(buf, va + offset_in_page(iova), n);
			kunmap_local(va);
			fusiond_pin_put(agg, p);
		}
		iova += n;
		buf += n;
		len -= n;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(fusiond_dma_rw);

/* One "pins" line of an aggregate's stats at @buf + @at. */
ssize_t fusiond_pins_show(struct fusiond_pins *pc, char *buf, ssize_t at)
{
	unsigned long cached;

	mutex_lock(&pc->lock);
	cached = pc->cached;
	mutex_unlock(&pc->lock);
	return sysfs_emit_at(buf, at, "pins cached %lu hits %lld misses %lld\n",
			     cached, atomic64_read(&pc->hits),
			     atomic64_read(&pc->misses));
}

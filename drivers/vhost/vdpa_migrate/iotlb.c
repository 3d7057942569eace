// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_migrate: IOTLB messages (v2, batches, address spaces).
 *
 * Each address space keeps a vhost_iotlb of what the user mapped: IOVA
 * ranges backed by runs of physically contiguous pinned pages, one entry
 * per run, so that an entry alone says which pages to unpin.  The parent
 * learns about the maps in one of two ways:
 *
 *  - dma_map/dma_unmap: entry by entry, as they are created and removed;
 *  - set_map: it copies the whole table.  Additions inside a batch reach it
 *    at BATCH_END; removals reach it at once, before the pages are
 *    unpinned, so the device never holds a translation to a page we gave
 *    back.
 *
 * Pinned pages are charged to the owner's locked memory (RLIMIT_MEMLOCK
 * unless CAP_IPC_LOCK) with account_locked_vm().
 *
 * Errors from here reach userspace as EFAULT from write(): the vhost core
 * maps every message handler failure to it.
 */
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/overflow.h>
#include <linux/slab.h>

#include "vdpa_mig.h"

/*
 * Every entry holds at least one pinned page, which the owner's locked
 * memory limit already bounds; this only caps the bookkeeping.
 */
static unsigned int max_iotlb_entries = 1U << 20;
module_param(max_iotlb_entries, uint, 0444);
MODULE_PARM_DESC(max_iotlb_entries,
		 "Maximum IOTLB entries (contiguous pinned runs) per address space");

/* What has to be unpinned once an entry is gone from the table. */
struct vdpa_mig_pinned {
	u64 pa;
	u64 size;
	u32 perm;
};

static void vdpa_mig_unpin(struct vdpa_mig *m, const struct vdpa_mig_pinned *p)
{
	unsigned long npages = p->size >> PAGE_SHIFT;

	unpin_user_page_range_dirty_lock(pfn_to_page(PHYS_PFN(p->pa)), npages,
					 p->perm & VHOST_ACCESS_WO);
	account_locked_vm(m->vdev.mm, npages, false);
}

/* Remove the entries of [first, last] from a set_map parent, then unpin. */
static void vdpa_mig_unmap_table(struct vdpa_mig *m, u32 asid, u64 first,
				 u64 last)
{
	struct vhost_iotlb *iotlb = &m->as[asid];
	struct vdpa_mig_pinned one, *gone;
	struct vhost_iotlb_map *map;
	unsigned int max, n, i;
	int ret;

	gone = kmalloc(PAGE_SIZE, GFP_KERNEL);
	max = gone ? PAGE_SIZE / sizeof(*gone) : 1;
	if (!gone)
		gone = &one;

	do {
		n = 0;
		while (n < max &&
		       (map = vhost_iotlb_itree_first(iotlb, first, last))) {
			gone[n].pa = map->addr;
			gone[n].size = map->size;
			gone[n].perm = map->perm;
			n++;
			vhost_iotlb_map_free(iotlb, map);
		}
		if (!n)
			break;
		ret = m->vdpa->config->set_map(m->vdpa, asid, iotlb);
		if (ret)
			dev_warn_ratelimited(&m->dev, "set_map failed while unmapping: %d\n",
					     ret);
		for (i = 0; i < n; i++)
			vdpa_mig_unpin(m, &gone[i]);
	} while (n == max);

	if (gone != &one)
		kfree(gone);
}

/* Remove every entry that overlaps [first, last] and unpin its pages. */
static void vdpa_mig_unmap(struct vdpa_mig *m, u32 asid, u64 first, u64 last)
{
	const struct vdpa_config_ops *ops = m->vdpa->config;
	struct vhost_iotlb *iotlb = &m->as[asid];
	struct vhost_iotlb_map *map;
	struct vdpa_mig_pinned p;

	if (!ops->dma_map) {
		vdpa_mig_unmap_table(m, asid, first, last);
		return;
	}
	while ((map = vhost_iotlb_itree_first(iotlb, first, last))) {
		ops->dma_unmap(m->vdpa, asid, map->start, map->size);
		p.pa = map->addr;
		p.size = map->size;
		p.perm = map->perm;
		vhost_iotlb_map_free(iotlb, map);
		vdpa_mig_unpin(m, &p);
	}
}

/* Enter one run of contiguous pinned pages in the table (and the parent). */
static int vdpa_mig_map_run(struct vdpa_mig *m, u32 asid, u64 iova,
			    unsigned long pfn, unsigned long npages, u32 perm)
{
	const struct vdpa_config_ops *ops = m->vdpa->config;
	u64 size = (u64)npages << PAGE_SHIFT;
	u64 last = iova + size - 1;
	int ret;

	ret = vhost_iotlb_add_range(&m->as[asid], iova, last, PFN_PHYS(pfn),
				    perm);
	if (ret || !ops->dma_map)
		return ret;
	ret = ops->dma_map(m->vdpa, asid, iova, size, PFN_PHYS(pfn), perm,
			   NULL);
	if (ret)
		vhost_iotlb_del_range(&m->as[asid], iova, last);
	return ret;
}

/*
 * Pin the user pages behind [iova, iova + size) and map them run by run.
 * On failure nothing of the range stays pinned, mapped or charged.
 */
static int vdpa_mig_pin_map(struct vdpa_mig *m, u32 asid, u64 iova, u64 size,
			    u64 uaddr, u32 perm)
{
	const unsigned long batch = PAGE_SIZE / sizeof(struct page *);
	unsigned long npages = size >> PAGE_SHIFT, done = 0, mapped = 0;
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long run_pfn = 0, run_len = 0;
	struct mm_struct *mm = m->vdev.mm;
	struct page **pages;
	long got, i;
	int ret;

	if (perm & VHOST_ACCESS_WO)
		gup_flags |= FOLL_WRITE;
	pages = (struct page **)__get_free_page(GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	ret = account_locked_vm(mm, npages, true);
	if (ret)
		goto out_free;

	mmap_read_lock(mm);
	while (!ret && done < npages) {
		got = pin_user_pages(uaddr + ((u64)done << PAGE_SHIFT),
				     min(npages - done, batch), gup_flags,
				     pages, NULL);
		if (got <= 0) {
			ret = got ? got : -EFAULT;
			break;
		}
		for (i = 0; i < got; i++) {
			unsigned long pfn = page_to_pfn(pages[i]);

			if (run_len && pfn == run_pfn + run_len) {
				run_len++;
				continue;
			}
			if (run_len) {
				ret = vdpa_mig_map_run(m, asid,
						       iova + ((u64)mapped << PAGE_SHIFT),
						       run_pfn, run_len, perm);
				if (ret) {
					unpin_user_pages(pages + i, got - i);
					break;
				}
				mapped += run_len;
			}
			run_pfn = pfn;
			run_len = 1;
		}
		done += got;
	}
	if (!ret && run_len) {
		ret = vdpa_mig_map_run(m, asid, iova + ((u64)mapped << PAGE_SHIFT),
				       run_pfn, run_len, perm);
		if (!ret) {
			mapped += run_len;
			run_len = 0;
		}
	}
	mmap_read_unlock(mm);

	if (ret) {
		/* The run being built was pinned but never entered. */
		if (run_len)
			unpin_user_page_range_dirty_lock(pfn_to_page(run_pfn),
							 run_len, false);
		account_locked_vm(mm, npages - mapped, false);
		if (mapped)
			vdpa_mig_unmap(m, asid, iova,
				       iova + ((u64)mapped << PAGE_SHIFT) - 1);
	}
out_free:
	free_page((unsigned long)pages);
	return ret;
}

static int vdpa_mig_update(struct vdpa_mig *m, u32 asid,
			   const struct vhost_iotlb_msg *msg)
{
	const struct vdpa_config_ops *ops = m->vdpa->config;
	u64 last;
	int ret;

	if (!msg->size || check_add_overflow(msg->iova, msg->size - 1, &last))
		return -EINVAL;
	if (msg->iova < m->range.first || last > m->range.last)
		return -ERANGE;
	/* Whole pages only: a run maps pages, and IOVA and VA must agree. */
	if (!PAGE_ALIGNED(msg->iova) || !PAGE_ALIGNED(msg->size) ||
	    !PAGE_ALIGNED(msg->uaddr))
		return -EINVAL;
	if (msg->perm != VHOST_ACCESS_RO && msg->perm != VHOST_ACCESS_WO &&
	    msg->perm != VHOST_ACCESS_RW)
		return -EINVAL;
	if (vhost_iotlb_itree_first(&m->as[asid], msg->iova, last))
		return -EEXIST;

	ret = vdpa_mig_pin_map(m, asid, msg->iova, msg->size, msg->uaddr,
			       msg->perm);
	if (ret || ops->dma_map || m->in_batch)
		return ret;
	ret = ops->set_map(m->vdpa, asid, &m->as[asid]);
	if (ret)
		vdpa_mig_unmap(m, asid, msg->iova, last);
	return ret;
}

static int vdpa_mig_invalidate(struct vdpa_mig *m, u32 asid,
			       const struct vhost_iotlb_msg *msg)
{
	u64 last;

	if (!msg->size || check_add_overflow(msg->iova, msg->size - 1, &last))
		return -EINVAL;
	vdpa_mig_unmap(m, asid, msg->iova, last);
	return 0;
}

static int vdpa_mig_batch_end(struct vdpa_mig *m)
{
	const struct vdpa_config_ops *ops = m->vdpa->config;
	int ret = 0;

	if (m->in_batch && !ops->dma_map)
		ret = ops->set_map(m->vdpa, m->batch_asid,
				   &m->as[m->batch_asid]);
	m->in_batch = false;
	return ret;
}

/**
 * vdpa_mig_iotlb_msg() - the vhost core's message handler
 * @vdev: vhost device
 * @asid: address space (0 unless VHOST_BACKEND_F_IOTLB_ASID was acked)
 * @msg: the message, size of an UPDATE already checked non-zero
 *
 * Return: 0 or a negative errno.
 */
int vdpa_mig_iotlb_msg(struct vhost_dev *vdev, u32 asid,
		       struct vhost_iotlb_msg *msg)
{
	struct vdpa_mig *m = vhost_to_mig(vdev);
	int ret;

	mutex_lock(&vdev->mutex);
	ret = vhost_dev_check_owner(vdev);
	if (ret)
		goto unlock;
	ret = -EINVAL;
	if (asid >= m->vdpa->nas || (m->in_batch && asid != m->batch_asid))
		goto unlock;

	switch (msg->type) {
	case VHOST_IOTLB_UPDATE:
		ret = vdpa_mig_update(m, asid, msg);
		break;
	case VHOST_IOTLB_INVALIDATE:
		ret = vdpa_mig_invalidate(m, asid, msg);
		break;
	case VHOST_IOTLB_BATCH_BEGIN:
		m->in_batch = true;
		m->batch_asid = asid;
		ret = 0;
		break;
	case VHOST_IOTLB_BATCH_END:
		ret = vdpa_mig_batch_end(m);
		break;
	default:
		break;
	}
unlock:
	mutex_unlock(&vdev->mutex);
	return ret;
}

/**
 * vdpa_mig_iotlb_init() - empty address spaces for a new user
 * @m: device
 */
void vdpa_mig_iotlb_init(struct vdpa_mig *m)
{
	u32 i;

	for (i = 0; i < m->vdpa->nas; i++)
		vhost_iotlb_init(&m->as[i], max_iotlb_entries, 0);
	m->in_batch = false;
}

/**
 * vdpa_mig_iotlb_clear() - unmap and unpin everything the user mapped
 * @m: device, &vdev.mutex held, owner's mm still attached
 */
void vdpa_mig_iotlb_clear(struct vdpa_mig *m)
{
	u32 i;

	for (i = 0; i < m->vdpa->nas; i++)
		vdpa_mig_unmap(m, i, 0, U64_MAX);
	m->in_batch = false;
}

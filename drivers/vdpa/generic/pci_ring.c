// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_gen_pci shadow virtqueues: the driver's split ring read and written
 * through a kernel mapping of its pages.  vringh's IOTLB accessors look
 * every ring access up in the IOTLB and copy it through an iov_iter; on the
 * relay's hot path (one available entry and one descriptor per chain read,
 * one used element and the used index per completion) that was most of the
 * worker's time.  When each of the driver's three ring areas lies in one
 * IOTLB entry of pages the kernel knows, they are mapped once (vmap) and
 * accessed directly; vringh stays in charge of everything else: chains
 * with indirect tables, notification suppression, and every ring whose
 * areas cannot be mapped so.  Both work on the same struct vringh, whose
 * positions a chain read or completed here moves as vringh would.
 * Documentation/vdpa/generic-pci.rst, "Ring access".
 *
 * Everything here runs under &gpci_dev.shadow_lock and may sleep, except
 * on a queue of the fast path (&gpci_svq.fast, pci_shadow.c): there the
 * ring is already mapped, and what runs in kick_vq or in the card's
 * interrupt handler (under &gpci_svq.lock, @atomic) never sleeps and
 * never falls back to vringh.  dma_unmap takes shadow_lock, which turns
 * the fast path off, and drops the mappings of the IOVAs it removes
 * before returning (vdpa_migrate unpins only after that); a change of the
 * IOTLB makes the next access try a ring that could not be mapped again.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/virtio_ring.h>
#include <linux/vmalloc.h>
#include <linux/vringh.h>

#include "pci.h"

/* Unmap one area; @va is NULL or what gpci_area_map() returned. */
static void gpci_area_unmap(void *va)
{
	if (va)
		vunmap((void *)((unsigned long)va & PAGE_MASK));
}

/*
 * Map [@iova, @iova + @len) of the driver's memory into the kernel, if
 * every page of it is in the IOTLB with @perm and is a page the kernel
 * has a struct page for.  Return: the area's kernel address, or NULL.
 */
static void *gpci_area_map(struct gpci_dev *gd, u64 iova, size_t len,
			   u32 perm)
{
	u64 first = round_down(iova, PAGE_SIZE), last = iova + len - 1;
	struct vhost_iotlb_map *map;
	struct page **pages;
	unsigned int n, i;
	void *va = NULL;

	if (last < iova)
		return NULL;
	n = (last - first) / PAGE_SIZE + 1;
	pages = kmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;
	spin_lock(&gd->iotlb_lock);
	for (i = 0; i < n; i++) {
		u64 at = first + (u64)i * PAGE_SIZE;
		unsigned long pfn;

		map = vhost_iotlb_itree_first(gd->iotlb, at, at + PAGE_SIZE - 1);
		if (!map || map->start > at || map->last < at + PAGE_SIZE - 1 ||
		    (map->perm & perm) != perm)
			break;
		pfn = PHYS_PFN(map->addr + (at - map->start));
		if (!pfn_valid(pfn))
			break;
		pages[i] = pfn_to_page(pfn);
	}
	spin_unlock(&gd->iotlb_lock);
	if (i == n)
		va = vmap(pages, n, VM_MAP, PAGE_KERNEL);
	kfree(pages);
	return va ? va + offset_in_page(iova) : NULL;
}

/* Unmap @m's three areas (what mapped of them) and clear them. */
static void gpci_ring_unmap_areas(struct gpci_ringmap *m)
{
	gpci_area_unmap(m->desc);
	gpci_area_unmap(m->avail);
	gpci_area_unmap(m->used);
	m->desc = NULL;
	m->avail = NULL;
	m->used = NULL;
}

/**
 * gpci_ring_unmap() - forget the kernel mapping of a queue's driver ring
 * @s: shadow queue
 *
 * Context: &gpci_dev.shadow_lock held (or the queue unreachable); may
 * sleep.  The ring is mapped again at its next access if the IOTLB
 * allows (gpci_ring_ready()).
 */
void gpci_ring_unmap(struct gpci_svq *s)
{
	gpci_ring_unmap_areas(&s->map);
	s->map.tried = false;
}

/* One of the driver's ring areas: where it starts and how long it is. */
struct gpci_area {
	u64 iova;
	size_t len;
};

/*
 * The driver's descriptor table, available ring and used ring (both rings
 * with the event index after them), in that order.
 */
static void gpci_ring_areas(const struct vring *vr, struct gpci_area a[3])
{
	a[0].iova = (uintptr_t)vr->desc;
	a[0].len = sizeof(*vr->desc) * vr->num;
	a[1].iova = (uintptr_t)vr->avail;
	a[1].len = struct_size(vr->avail, ring, vr->num + 1);
	a[2].iova = (uintptr_t)vr->used;
	a[2].len = struct_size(vr->used, ring, vr->num) + sizeof(__virtio16);
}

/**
 * gpci_ring_unmap_range() - dma_unmap is about to remove IOVAs
 * @gd: device
 * @first: first IOVA of the entries removed
 * @last: last one
 *
 * Every queue whose driver ring lies partly in [@first, @last] drops its
 * mapping, so that nothing reads or writes those pages after dma_unmap
 * returns; every other queue keeps its own.
 *
 * Context: &gpci_dev.shadow_lock held; may sleep.
 */
void gpci_ring_unmap_range(struct gpci_dev *gd, u64 first, u64 last)
{
	lockdep_assert_held(&gd->shadow_lock);
	for (u16 i = 0; i < gd->nvqs; i++) {
		struct gpci_svq *s = &gd->vqs[i].svq;
		struct gpci_area a[3];

		if (!s->map.desc)
			continue;
		gpci_ring_areas(&s->vrh.vring, a);
		for (int k = 0; k < 3; k++) {
			if (a[k].iova <= last &&
			    a[k].iova + a[k].len - 1 >= first) {
				gpci_ring_unmap(s);
				break;
			}
		}
	}
	atomic_inc(&gd->map_gen);
}

/* The driver's areas are mapped (tried again after each IOTLB change). */
static bool gpci_ring_ready(struct gpci_dev *gd, struct gpci_svq *s)
{
	int gen = atomic_read(&gd->map_gen);
	struct gpci_area a[3];

	if (s->map.desc)
		return true;
	lockdep_assert_held(&gd->shadow_lock);
	if (s->map.tried && s->map.gen == gen)
		return false;
	s->map.tried = true;
	s->map.gen = gen;
	gpci_ring_areas(&s->vrh.vring, a);
	s->map.desc = gpci_area_map(gd, a[0].iova, a[0].len, VHOST_MAP_RO);
	s->map.avail = gpci_area_map(gd, a[1].iova, a[1].len, VHOST_MAP_RO);
	s->map.used = gpci_area_map(gd, a[2].iova, a[2].len, VHOST_MAP_RW);
	if (s->map.desc && s->map.avail && s->map.used)
		return true;
	gpci_ring_unmap_areas(&s->map);
	return false;
}

/*
 * The next chain, read through the mapping: 1 and @head with riov/wiov
 * filled, 0 if none is available, -EAGAIN (nothing consumed) for what
 * vringh must read (an indirect table, an iov array to grow), or the
 * errno vringh gives the same fault (the device then stops, so the
 * positions after it do not matter).
 */
static int gpci_ring_getdesc_mapped(struct gpci_svq *s, u16 *head)
{
	const struct vringh *vrh = &s->vrh;
	struct vring_desc *descs = s->map.desc;
	struct vring_avail *avail = s->map.avail;
	u16 num = vrh->vring.num, i, flags, next, count = 0;
	struct vringh_kiov *iov;
	u64 addr;
	u32 len;

	if (vringh16_to_cpu(vrh, READ_ONCE(avail->idx)) == vrh->last_avail_idx)
		return 0;
	/* The entry after the index that exposed it. */
	smp_rmb();
	i = vringh16_to_cpu(vrh, READ_ONCE(avail->ring[vrh->last_avail_idx &
							(num - 1)]));
	if (i >= num)
		return -EINVAL;
	*head = i;
	gpci_svq_iov_reset(s);
	for (;;) {
		/* Each field read once: the driver may rewrite it meanwhile. */
		flags = vringh16_to_cpu(vrh, READ_ONCE(descs[i].flags));
		if (flags & VRING_DESC_F_INDIRECT)
			return -EAGAIN;
		if (++count > num)
			return -ELOOP;
		if (flags & VRING_DESC_F_WRITE) {
			iov = &s->wiov;
		} else {
			iov = &s->riov;
			if (s->wiov.used)
				return -EINVAL;	/* readable after writable */
		}
		if (iov->used == (iov->max_num & ~VRINGH_IOV_ALLOCATED))
			return -EAGAIN;
		addr = vringh64_to_cpu(vrh, READ_ONCE(descs[i].addr));
		len = vringh32_to_cpu(vrh, READ_ONCE(descs[i].len));
		next = vringh16_to_cpu(vrh, READ_ONCE(descs[i].next));
		iov->iov[iov->used].iov_base = (void *)(uintptr_t)addr;
		iov->iov[iov->used].iov_len = len;
		iov->used++;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = next;
		if (i >= num)
			return -EINVAL;
	}
	s->vrh.last_avail_idx++;
	return 1;
}

/**
 * gpci_ring_getdesc() - read the next chain the driver made available
 * @gd: device
 * @s: shadow queue (split)
 * @head: the chain's head
 * @atomic: through the mapping only; anything else is left for later
 *
 * As vringh_getdesc_iotlb(), whose positions and iov arrays it shares.
 *
 * Context: &gpci_dev.shadow_lock held; may sleep (the first access maps).
 * With @atomic, &gpci_svq.lock of a mapped queue instead; does not sleep.
 * Return: 1 with @s's riov and wiov filled, 0 if nothing is available, or
 * a negative errno for a ring that cannot be read or is corrupt; with
 * @atomic, -EAGAIN for a chain vringh must read (nothing consumed).
 */
int gpci_ring_getdesc(struct gpci_dev *gd, struct gpci_svq *s, u16 *head,
		      bool atomic)
{
	int ret = -EAGAIN;

	if (atomic ? !!s->map.desc : gpci_ring_ready(gd, s))
		ret = gpci_ring_getdesc_mapped(s, head);
	if (ret == -EAGAIN && !atomic)
		ret = vringh_getdesc_iotlb(&s->vrh, &s->riov, &s->wiov, head,
					   GFP_KERNEL);
	return ret;
}

/**
 * gpci_ring_complete() - hand a chain back to the driver
 * @gd: device
 * @s: shadow queue (split)
 * @head: the chain's head
 * @len: bytes written into it
 *
 * As vringh_complete_iotlb(): the used element, then the used index.
 *
 * Context: &gpci_dev.shadow_lock held; may sleep (the first access maps).
 * Or &gpci_svq.lock of a mapped queue; does not sleep.
 * Return: 0 or a negative errno.
 */
int gpci_ring_complete(struct gpci_dev *gd, struct gpci_svq *s, u16 head,
		       u32 len)
{
	struct vring_used_elem *e;
	struct vring_used *used;
	u16 idx;

	/* Mapped now, perhaps: the pointers are read after. */
	if (!gpci_ring_ready(gd, s))
		return vringh_complete_iotlb(&s->vrh, head, len);
	used = s->map.used;
	idx = s->vrh.last_used_idx + s->vrh.completed;
	e = &used->ring[idx % s->vrh.vring.num];
	WRITE_ONCE(e->id, cpu_to_vringh32(&s->vrh, head));
	WRITE_ONCE(e->len, cpu_to_vringh32(&s->vrh, len));
	/* The element before the index that exposes it. */
	smp_wmb();
	WRITE_ONCE(used->idx, cpu_to_vringh16(&s->vrh, idx + 1));
	s->vrh.completed++;
	return 0;
}

/**
 * gpci_ring_notify_enable() - ask the driver to kick again
 * @gd: device
 * @s: shadow queue (split)
 *
 * As vringh_notify_enable_iotlb(): clear %VRING_USED_F_NO_NOTIFY, or with
 * EVENT_IDX set avail_event to the next position read, then look again.
 *
 * Context: as gpci_ring_complete().
 * Return: true if nothing slipped in meanwhile, false if the driver made
 * a chain available (read it; notifications stay enabled).
 */
bool gpci_ring_notify_enable(struct gpci_dev *gd, struct gpci_svq *s)
{
	const struct vringh *vrh = &s->vrh;
	u16 num = vrh->vring.num;
	struct vring_used *used;

	if (!gpci_ring_ready(gd, s))
		return vringh_notify_enable_iotlb(&s->vrh);
	used = s->map.used;
	/* avail_event: the 16 bits after the used ring's last element. */
	if (vrh->event_indices)
		WRITE_ONCE(*(__virtio16 *)&used->ring[num],
			   cpu_to_vringh16(vrh, vrh->last_avail_idx));
	else
		WRITE_ONCE(used->flags, cpu_to_vringh16(vrh, 0));
	/* Our side before the driver's index is read again. */
	smp_mb();
	return vringh16_to_cpu(vrh, READ_ONCE(s->map.avail->idx)) ==
	       vrh->last_avail_idx;
}

/**
 * gpci_ring_notify_disable() - the driver need not kick for a while
 * @gd: device
 * @s: shadow queue (split)
 *
 * As vringh_notify_disable_iotlb(): sets %VRING_USED_F_NO_NOTIFY without
 * EVENT_IDX; with it, avail_event already stands behind the driver.
 *
 * Context: as gpci_ring_complete().
 */
void gpci_ring_notify_disable(struct gpci_dev *gd, struct gpci_svq *s)
{
	const struct vringh *vrh = &s->vrh;

	if (!gpci_ring_ready(gd, s)) {
		vringh_notify_disable_iotlb(&s->vrh);
		return;
	}
	if (!vrh->event_indices)
		WRITE_ONCE(s->map.used->flags,
			   cpu_to_vringh16(vrh, VRING_USED_F_NO_NOTIFY));
}

/**
 * gpci_ring_need_notify() - whether the driver wants to hear of what was
 *	completed since the last call
 * @gd: device
 * @s: shadow queue (split)
 *
 * As vringh_need_notify_iotlb(): %VRING_AVAIL_F_NO_INTERRUPT, or with
 * EVENT_IDX whether the used index passed used_event.
 *
 * Context: as gpci_ring_complete().
 * Return: 1 to notify, 0 not to, or a negative errno.
 */
int gpci_ring_need_notify(struct gpci_dev *gd, struct gpci_svq *s)
{
	struct vringh *vrh = &s->vrh;
	u16 num = vrh->vring.num, event;
	const struct vring_avail *avail;
	bool notify;

	if (!gpci_ring_ready(gd, s))
		return vringh_need_notify_iotlb(vrh);
	avail = s->map.avail;
	/* The used index before the driver's suppression is read. */
	smp_mb();
	if (!vrh->event_indices)
		return !(vringh16_to_cpu(vrh, READ_ONCE(avail->flags)) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	event = vringh16_to_cpu(vrh, READ_ONCE(avail->ring[num]));
	notify = vrh->completed > 0xffff ||
		 vring_need_event(event, vrh->last_used_idx + vrh->completed,
				  vrh->last_used_idx);
	vrh->last_used_idx += vrh->completed;
	vrh->completed = 0;
	return notify;
}

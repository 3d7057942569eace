// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_gen_pci shadow virtqueues: the card runs on split rings we own
 * while the driver's rings are relayed to them, so that the parent knows
 * every buffer the card writes (dirty log), every ring position and every
 * request in flight.  Documentation/vdpa/generic-pci.rst, "Shadow
 * virtqueues".
 *
 * Only user-space drivers (vhost_vdpa, vdpa_migrate) can be shadowed: their
 * rings and buffers are IOVAs of our own domain, mirrored in a vhost_iotlb
 * that vringh reads and writes through.  The card keeps DMAing straight
 * into driver memory: a relayed descriptor carries the driver's IOVA, and
 * only the descriptors and the rings are ours, mapped into the IOVA window
 * kept back at the top of the domain.
 *
 * A virtio-pci card cannot change its ring addresses without a reset, and
 * restarts every ring at index 0, so switching in is: stop forwarding
 * kicks, wait until no driver used index moved for a grace period, reset
 * the card, set it up again on our rings and relay from each driver used
 * index on.  The way back is queue by queue, where the card's start and
 * the driver's ring meet: once logging stopped, a split queue is relayed
 * up to the next wrap of its 16-bit indexes, and when everything before
 * it was used, a card with RING_RESET gets the driver's ring for that
 * queue at index 0.  Otherwise a driver reset ends the shadow mode.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/iommu.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vdpa_migrate.h>
#include <linux/virtio_net.h>
#include <linux/virtio_config.h>
#include <uapi/linux/virtio_ring.h>

#include "net_ctrl.h"
#include "pci.h"
#include "vdpa_gen.h"

/*
 * Each queue's slot in the reserved window; a ring of 1024 takes 8 pages.
 * The last slot holds the page for replayed control commands.
 */
#define GPCI_SVQ_STRIDE		SZ_32K
/* Our own chains on the control queue (replay), not the driver's. */
#define GPCI_SVQ_OWN		0xfffe
#define GPCI_CVQ_TIMEOUT_MS	1000
/* Quiesce: how long the driver's used indexes must stand still, at most. */
#define GPCI_GRACE_MS		50
#define GPCI_QUIESCE_MAX_MS	2000

/* Card-side ring layout: descriptors and avail (card reads), then used. */
static size_t gpci_svq_used_off(u16 num)
{
	return PAGE_ALIGN(sizeof(struct vring_desc) * num +
			  sizeof(__virtio16) * (3 + num));
}

static size_t gpci_svq_size(u16 num)
{
	return gpci_svq_used_off(num) +
	       PAGE_ALIGN(sizeof(__virtio16) * 3 +
			  sizeof(struct vring_used_elem) * num);
}

static void gpci_svq_free(struct gpci_dev *gd, struct gpci_svq *s);

/* ---- dirty log ----------------------------------------------------------- */

void gpci_log(struct gpci_dev *gd, u64 iova, u64 len)
{
	struct vdpa_mig_log *log;

	rcu_read_lock();
	log = rcu_dereference(gd->log);
	if (log)
		vdpa_mig_log_mark(log, iova, len);
	rcu_read_unlock();
}

/*
 * Queue statistics: one writer at a time (&gpci_svq.lock or shadow_lock),
 * lockless readers (gpci_get_vendor_vq_stats()).
 */
static void gpci_stat_add(u64 *stat, u64 n)
{
	WRITE_ONCE(*stat, *stat + n);
}

/* What re-enabling the driver's notifications wrote (vring holds IOVAs). */
static void gpci_log_notify(struct gpci_dev *gd, struct gpci_svq *s)
{
	const struct vring *vr = &s->vrh.vring;

	if (s->vrh.event_indices)
		gpci_log(gd, (u64)(uintptr_t)&vr->used->ring[vr->num],
			 sizeof(__virtio16));
	else
		gpci_log(gd, (u64)(uintptr_t)&vr->used->flags,
			 sizeof(vr->used->flags));
}

/* ---- the driver's side ----------------------------------------------------- */

/* A 16-bit field of the driver's rings (vring holds IOVAs). */
static int gpci_svq_read16(struct gpci_svq *s, const __virtio16 *field,
			   u16 *val)
{
	__le16 v;
	int ret;

	ret = vdpa_gen_iotlb_read(&s->vrh, (u64)(uintptr_t)field, &v,
				  sizeof(v));
	if (!ret)
		*val = le16_to_cpu(v);
	return ret;
}

static int gpci_svq_driver_used(struct gpci_svq *s, u16 *val)
{
	return gpci_svq_read16(s, &s->vrh.vring.used->idx, val);
}

/* ---- the fast path ------------------------------------------------------ */

/*
 * On shadow rings every kick of the driver and every interrupt of the card
 * cost a trip through the worker: a wakeup and a context switch each way
 * that direct mode does not pay.  A split data queue whose ring is mapped
 * (pci_ring.c) and that has a vector of its own takes the fast path
 * instead once the worker found it in steady state: kick_vq relays and
 * the queue's interrupt handler completes (then relays what waited for
 * room), both under &gpci_svq.lock, neither sleeping nor using vringh.
 * Whatever they cannot do that way (an indirect table, a ring error)
 * turns the fast path off and goes to the worker, which does it the slow
 * way and turns it back on.  Every other holder of shadow_lock turns it
 * off first (gpci_shadow_lock()): what they do changes or reads what the
 * fast path moves.  Documentation/vdpa/generic-pci.rst, "The fast path".
 */

static void gpci_fast_set(struct gpci_svq *s, bool on)
{
	unsigned long flags;

	spin_lock_irqsave(&s->lock, flags);
	WRITE_ONCE(s->fast, on);
	spin_unlock_irqrestore(&s->lock, flags);
}

/* Once this returns, no queue is on the fast path and none runs it. */
static void gpci_fast_off(struct gpci_dev *gd)
{
	for (u16 i = 0; i < gd->nvqs; i++)
		gpci_fast_set(&gd->vqs[i].svq, false);
}

/**
 * gpci_shadow_lock() - take &gpci_dev.shadow_lock, the fast path off
 * @gd: device
 *
 * For everyone but the shadow worker.  The worker turns the fast path on
 * again where it finds a queue in steady state; a kick or an interrupt of
 * a queue off the fast path queues the worker.
 *
 * Context: process; may sleep.
 */
void gpci_shadow_lock(struct gpci_dev *gd)
{
	mutex_lock(&gd->shadow_lock);
	gpci_fast_off(gd);
}

/*
 * The card marks a device broken this way too: the driver sees
 * NEEDS_RESET and gets a config interrupt.  Shadow mode stays on, doing
 * nothing, until the driver resets.
 */
static void gpci_shadow_fail(struct gpci_dev *gd, const char *why)
{
	lockdep_assert_held(&gd->shadow_lock);
	gpci_fast_off(gd);
	if (gd->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	dev_err(&gd->vdpa->dev, "shadow rings: %s: device needs reset\n", why);
	gd->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	for (u16 i = 0; i < gd->nvqs; i++) {
		gd->vqs[i].svq.active = false;
		WRITE_ONCE(gd->vqs[i].svq.relay, false);
	}
	gd->netc_lost = true;
	gpci_run_cb(&gd->config_lock, &gd->config_cb);
}

/* ---- relaying ---------------------------------------------------------------- */

/*
 * Our control page: replayed commands at 0, their ack at the end of the
 * first half; the driver's command being bounced in the second half, its
 * ack at the page's last byte.
 */
#define GPCI_CVQ_HALF		(PAGE_SIZE / 2)
#define GPCI_CVQ_OWN_ACK	(GPCI_CVQ_HALF - 1)
#define GPCI_CVQ_BOUNCE		GPCI_CVQ_HALF
#define GPCI_CVQ_BOUNCE_ACK	(PAGE_SIZE - 1)

static u64 gpci_cvq_page_iova(struct gpci_dev *gd)
{
	return gd->iova_range.last + 1 + GPCI_SHADOW_IOVA_SIZE - PAGE_SIZE;
}

/* Our control page, mapped for the card (shadow_lock held). */
static int gpci_cvq_page_get(struct gpci_dev *gd)
{
	int ret;

	if (gd->cvq_page)
		return 0;
	gd->cvq_page = (u8 *)get_zeroed_page(GFP_KERNEL);
	if (!gd->cvq_page)
		return -ENOMEM;
	ret = iommu_map(gd->domain, gpci_cvq_page_iova(gd),
			virt_to_phys(gd->cvq_page), PAGE_SIZE,
			IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE);
	if (ret) {
		free_page((unsigned long)gd->cvq_page);
		gd->cvq_page = NULL;
	}
	return ret;
}

/*
 * Make the chain in riov/wiov (a control command of @len bytes, already
 * copied to @cmd) read our copy of it and write its ack into our page.
 * Return: 0, 1 if another command is being bounced, or -ENOMEM (and the
 * like) if our page cannot be had: the caller then relays the chain as
 * it is, as before there was a page.
 */
static int gpci_cvq_bounce(struct gpci_dev *gd, struct gpci_svq *s,
			   const u8 *cmd, size_t len)
{
	u64 page = gpci_cvq_page_iova(gd);
	int ret;

	if (gd->cvq_bounce != GPCI_SVQ_FREE)
		return 1;
	ret = gpci_cvq_page_get(gd);
	if (ret)
		return ret;
	memcpy(gd->cvq_page + GPCI_CVQ_BOUNCE, cmd, len);
	gd->cvq_page[GPCI_CVQ_BOUNCE_ACK] = VIRTIO_NET_ERR;
	gd->cvq_ack_iova = (uintptr_t)s->wiov.iov[0].iov_base;
	s->riov.iov[0].iov_base = (void *)(uintptr_t)(page + GPCI_CVQ_BOUNCE);
	s->riov.iov[0].iov_len = len;
	s->riov.used = 1;
	s->wiov.iov[0].iov_base = (void *)(uintptr_t)(page +
						      GPCI_CVQ_BOUNCE_ACK);
	s->wiov.iov[0].iov_len = 1;
	s->wiov.used = 1;
	return 0;
}

/*
 * Copy the chain vringh read (indirect tables flattened) to our ring; it
 * was read from the driver's available position @pos.
 */
static u16 gpci_svq_add(struct gpci_svq *s, u16 head, u16 pos)
{
	u16 num = s->vrh.vring.num, first = s->free_head, i = first, last = i;
	const struct vringh_kiov *iovs[2] = { &s->riov, &s->wiov };

	for (int w = 0; w < 2; w++) {
		for (unsigned int k = 0; k < iovs[w]->used; k++) {
			struct vring_desc *d = &s->desc[i];
			u16 flags = VRING_DESC_F_NEXT;

			if (w)
				flags |= VRING_DESC_F_WRITE;
			d->addr = (__force __virtio64)
				  cpu_to_le64((uintptr_t)iovs[w]->iov[k].iov_base);
			d->len = (__force __virtio32)
				 cpu_to_le32(iovs[w]->iov[k].iov_len);
			d->flags = (__force __virtio16)cpu_to_le16(flags);
			last = i;
			i = le16_to_cpu((__force __le16)d->next);
		}
	}
	s->desc[last].flags &= (__force __virtio16)cpu_to_le16(~VRING_DESC_F_NEXT);
	s->num_free -= s->riov.used + s->wiov.used;
	s->free_head = i;
	s->head[first] = head;
	s->pos[first] = pos;
	s->avail->ring[s->avail_idx % num] = (__force __virtio16)cpu_to_le16(first);
	s->avail_idx++;
	return first;
}

/*
 * Relay the chain vringh just read.  On the net control queue its command
 * is kept until the card answers: what the card acknowledged is the state
 * replayed after a card reset.  One command at a time goes to the card as
 * a copy in our page, so that what the card does is what we keep, however
 * the driver rewrites its buffers meanwhile; with @may_wait a second one
 * waits for it (return 1, nothing taken), else, as do commands too long
 * for the page, it goes to the card as the driver wrote it.
 */
static int gpci_svq_take(struct gpci_dev *gd, struct gpci_svq *s, u16 head,
			 u16 pos, bool may_wait)
{
	bool bounced = false;
	size_t len;
	u8 *cmd;
	u16 first;
	int ret;

	if (!s->cmd) {
		gpci_svq_add(s, head, pos);
		return 0;
	}
	len = vringh_kiov_length(&s->riov);
	cmd = NULL;
	if (len <= VDPA_GEN_NET_CTRL_CMD_MAX) {
		cmd = kmalloc(len ?: 1, GFP_KERNEL);
		if (!cmd)
			return -ENOMEM;
		/* Whole elements are read, so riov reads as before after. */
		if (vringh_iov_pull_iotlb(&s->vrh, &s->riov, cmd, len) != len) {
			kfree(cmd);
			return -EFAULT;
		}
	}
	/*
	 * Only the known layout: the ack alone is device-writable (a
	 * command that writes results after it goes as it is).
	 */
	if (cmd && len && len < GPCI_CVQ_HALF &&
	    vringh_kiov_length(&s->wiov) == 1) {
		ret = gpci_cvq_bounce(gd, s, cmd, len);
		if (ret > 0 && may_wait) {
			kfree(cmd);
			return ret;
		}
		bounced = !ret;
	}
	first = gpci_svq_add(s, head, pos);
	if (bounced)
		gd->cvq_bounce = first;
	s->cmd[first] = cmd;
	s->cmd_len[first] = len;
	if (!cmd)
		gd->netc_lost = true;	/* too long to model: not followed */
	return 0;
}

/*
 * Whether the card asks to be told of what was published since our
 * available index was @old (avail_event with EVENT_IDX, else the flag).
 */
static bool gpci_svq_card_wants_kick(struct gpci_dev *gd, struct gpci_svq *s,
				     u16 old)
{
	u16 num = s->vrh.vring.num;

	if (gd->card_features & BIT_ULL(VIRTIO_RING_F_EVENT_IDX)) {
		__le16 ev = (__force __le16)READ_ONCE(*(__virtio16 *)
						      &s->used->ring[num]);

		return vring_need_event(le16_to_cpu(ev), s->avail_idx, old);
	}
	return !(le16_to_cpu((__force __le16)READ_ONCE(s->used->flags)) &
		 VRING_USED_F_NO_NOTIFY);
}

/*
 * Queue @idx may go back to the driver's ring (Documentation:
 * "Switching back"): no log wants its writes, nothing suspended or
 * loaded, and the card can reset the queue alone and runs it with the
 * driver's features.  The control queue stays relayed, as in direct mode.
 */
static bool gpci_svq_may_go_back(struct gpci_dev *gd, u16 idx)
{
	const struct gpci_svq *s = &gd->vqs[idx].svq;

	lockdep_assert_held(&gd->shadow_lock);
	return s->active && !s->packed && !s->load && !s->cmd &&
	       idx != gpci_cvq_index(gd) && !gd->suspended &&
	       !gd->shadow_pending && !gd->switching &&
	       !(gd->status & VIRTIO_CONFIG_S_NEEDS_RESET) &&
	       !rcu_access_pointer(gd->log) &&
	       (gd->card_features & BIT_ULL(VIRTIO_F_RING_RESET)) &&
	       !(gd->driver_features & (BIT_ULL(VIRTIO_F_RING_PACKED) |
					BIT_ULL(VIRTIO_F_IN_ORDER)));
}

/* The driver's packed ring: read, relay, and only then step on. */
static int gpci_svq_relay_packed(struct gpci_dev *gd, struct gpci_svq *s,
				 unsigned int *published)
{
	u16 id, ndesc, pos;
	int ret;

	for (;;) {
		ret = gpci_pk_read(gd, s, &id, &ndesc);
		if (ret <= 0)
			return ret;
		if (s->riov.used + s->wiov.used > s->vrh.vring.num)
			return -E2BIG;	/* can never fit our ring */
		if (s->riov.used + s->wiov.used > s->num_free)
			return 0;	/* read again after completions */
		pos = s->pk.avail;
		ret = gpci_svq_take(gd, s, id, pos, true);
		if (ret < 0)
			return ret;
		if (ret)	/* after the command the card is working on */
			return 0;
		gpci_pk_taken(s, id, ndesc);
		(*published)++;
	}
}

/*
 * The driver need not kick for a while.  With EVENT_IDX that writes
 * nothing (avail_event just stays behind), so there is nothing to log.
 */
static void gpci_svq_notify_off(struct gpci_dev *gd, struct gpci_svq *s)
{
	gpci_ring_notify_disable(gd, s);
	if (!s->vrh.event_indices)
		gpci_log_notify(gd, s);
}

/*
 * Half our descriptors or more are with the card: it completes one of
 * them, with an interrupt, before it can run short.
 */
static bool gpci_svq_holds_much(const struct gpci_svq *s)
{
	u16 num = s->vrh.vring.num;

	return (u32)(num - s->num_free) * 2 >= num;
}

/* Show the card what was added since our available index was @old. */
static void gpci_svq_publish(struct gpci_dev *gd, u16 idx, u16 old)
{
	struct gpci_vq *vq = &gd->vqs[idx];
	struct gpci_svq *s = &vq->svq;

	/* Descriptors and ring entries before the index the card reads. */
	dma_wmb();
	s->avail->idx = (__force __virtio16)cpu_to_le16(s->avail_idx);
	/* The index before the card's notification suppression is read. */
	mb();
	if (gpci_svq_card_wants_kick(gd, s, old))
		iowrite16(idx, vq->notify);
}

/*
 * Relay what the driver made available, as far as our descriptors go.  A
 * chain that does not fit waits for completions (which run this again).
 * @atomic: on the fast path, where a chain only vringh can read stops the
 * relay with -EAGAIN (what was taken before it is published).
 */
static int gpci_svq_relay(struct gpci_dev *gd, u16 idx, bool atomic)
{
	struct gpci_svq *s = &gd->vqs[idx].svq;
	bool back = !atomic && gpci_svq_may_go_back(gd, idx);
	unsigned int published = 0;
	u16 head, old = s->avail_idx;
	int ret;

	for (;;) {
		if (s->packed) {
			ret = gpci_svq_relay_packed(gd, s, &published);
			break;
		}
		/* On the way back: the card takes over from the wrap on. */
		if (back && !s->vrh.last_avail_idx) {
			ret = 0;
			break;
		}
		ret = gpci_ring_getdesc(gd, s, &head, atomic);
		if (ret < 0)
			break;
		if (!ret) {
			bool quiet;

			/*
			 * The card holds half our ring or more: its next
			 * completion relays what the driver adds meanwhile,
			 * so the driver need not kick (a card does the same
			 * with a queue it has buffers enough on).  The last
			 * completion finds less and asks for kicks again.
			 */
			if (gpci_svq_holds_much(s)) {
				gpci_svq_notify_off(gd, s);
				break;
			}
			quiet = gpci_ring_notify_enable(gd, s);
			gpci_log_notify(gd, s);
			if (quiet)
				break;
			gpci_svq_notify_off(gd, s);
			continue;
		}
		if (s->riov.used + s->wiov.used > s->vrh.vring.num) {
			ret = -E2BIG;	/* can never fit our ring */
			break;
		}
		if (s->riov.used + s->wiov.used > s->num_free) {
			vringh_abandon_iotlb(&s->vrh, 1);
			ret = 0;
			break;
		}
		ret = gpci_svq_take(gd, s, head, s->vrh.last_avail_idx - 1,
				    true);
		if (ret < 0)
			break;
		if (ret) {	/* after the command the card is working on */
			vringh_abandon_iotlb(&s->vrh, 1);
			ret = 0;
			break;
		}
		published++;
	}
	if (published) {
		gpci_svq_publish(gd, idx, old);
		gpci_stat_add(&s->stat_relayed, published);
	}
	return ret;
}

/*
 * Give a used shadow chain back to our free list and report to the log
 * what the card may have written: every writable descriptor, whole (used
 * lengths are not always exact; marking more is safe, less is not).
 */
static int gpci_svq_free_chain(struct gpci_dev *gd, struct gpci_svq *s,
			       u16 first)
{
	u16 num = s->vrh.vring.num, i = first, n = 1;
	u16 flags;

	for (;;) {
		struct vring_desc *d = &s->desc[i];

		flags = le16_to_cpu((__force __le16)d->flags);
		if (flags & VRING_DESC_F_WRITE)
			gpci_log(gd, le64_to_cpu((__force __le64)d->addr),
				 le32_to_cpu((__force __le32)d->len));
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = le16_to_cpu((__force __le16)d->next);
		if (i >= num || ++n > num)
			return -EIO;
	}
	s->desc[i].next = (__force __virtio16)cpu_to_le16(s->free_head);
	s->free_head = first;
	s->num_free += n;
	return 0;
}

/*
 * The card answered the control command of shadow head @id: the ack is
 * the first device-writable byte of the chain (where devices write it), in
 * driver memory.  An acknowledged command changes the state we replay.
 */
static int gpci_cvq_answered(struct gpci_dev *gd, struct gpci_svq *s, u16 id)
{
	u16 num = s->vrh.vring.num, i = id, n = 0;
	u8 ack = VIRTIO_NET_ERR;	/* no room for an ack: cannot be OK */
	struct vring_desc *d;
	u16 flags;
	int ret;

	if (id == gd->cvq_bounce) {
		/* The card answered our copy: the driver gets the ack. */
		ack = READ_ONCE(gd->cvq_page[GPCI_CVQ_BOUNCE_ACK]);
		ret = vdpa_gen_iotlb_write(&s->vrh, gd->cvq_ack_iova, &ack, 1);
		if (ret)
			return ret;
		gpci_log(gd, gd->cvq_ack_iova, 1);
		gd->cvq_bounce = GPCI_SVQ_FREE;
		goto tracked;
	}
	for (;;) {
		d = &s->desc[i];
		flags = le16_to_cpu((__force __le16)d->flags);
		if ((flags & VRING_DESC_F_WRITE) && d->len) {
			ret = vdpa_gen_iotlb_read(&s->vrh,
						  le64_to_cpu((__force __le64)
							      d->addr),
						  &ack, 1);
			if (ret)
				return ret;
			break;
		}
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = le16_to_cpu((__force __le16)d->next);
		if (i >= num || ++n >= num)
			return -EIO;
	}
tracked:
	if (ack == VIRTIO_NET_OK && s->cmd[id])
		gpci_net_track(gd, s->cmd[id], s->cmd_len[id]);
	kfree(s->cmd[id]);
	s->cmd[id] = NULL;
	return 0;
}

/*
 * Report @n used elements written from position @first on, and the used
 * index, to the log at once: one range from the index to the last element
 * (to the ring's end if they wrapped).  The pages are the used ring's,
 * which the driver's side writes all the time anyway.
 */
static void gpci_log_used(struct gpci_dev *gd, const struct vring *vr,
			  u16 first, u32 n)
{
	u32 end = min_t(u32, (u32)first + n, vr->num);

	if (!n)
		return;
	gpci_log(gd, (u64)(uintptr_t)&vr->used->idx,
		 (u64)(uintptr_t)&vr->used->ring[end] -
		 (u64)(uintptr_t)&vr->used->idx);
}

/*
 * Hand what the card used back to the driver; @notify: the driver asks to
 * be told (the caller runs its callback, outside any spinlock).
 */
static int __gpci_svq_complete(struct gpci_dev *gd, u16 idx, bool *notify)
{
	struct gpci_svq *s = &gd->vqs[idx].svq;
	const struct vring *vr = &s->vrh.vring;
	u16 used = le16_to_cpu((__force __le16)READ_ONCE(s->used->idx));
	u16 first = (u16)(s->vrh.last_used_idx + s->vrh.completed) % vr->num;
	u32 done = 0;
	int ret;

	*notify = false;
again:
	/* Entries after the index that told us about them. */
	dma_rmb();
	while (s->last_used != used) {
		const struct vring_used_elem *e =
			&s->used->ring[s->last_used % vr->num];
		u32 id = le32_to_cpu((__force __le32)READ_ONCE(e->id));
		u32 len = le32_to_cpu((__force __le32)READ_ONCE(e->len));

		ret = -EIO;
		if (id >= vr->num || s->head[id] == GPCI_SVQ_FREE ||
		    s->head[id] == GPCI_SVQ_OWN)
			goto out_log;
		if (s->cmd) {
			ret = gpci_cvq_answered(gd, s, id);
			if (ret)
				goto out_log;
		}
		ret = gpci_svq_free_chain(gd, s, id);
		if (ret)
			goto out_log;
		if (s->packed) {
			/* Handed back in the driver's order, below. */
			ret = gpci_pk_used(s, s->pos[id], len);
			if (ret)
				return ret;
			s->head[id] = GPCI_SVQ_FREE;
			s->last_used++;
			continue;
		}
		ret = gpci_ring_complete(gd, s, s->head[id], len);
		if (ret)
			goto out_log;
		s->head[id] = GPCI_SVQ_FREE;
		s->last_used++;
		done++;
	}
	/*
	 * The card runs with the driver's features, EVENT_IDX included: it
	 * then interrupts only when its used index passes our used_event,
	 * so move that along.
	 */
	if (gd->card_features & BIT_ULL(VIRTIO_RING_F_EVENT_IDX)) {
		s->avail->ring[vr->num] =
			(__force __virtio16)cpu_to_le16(s->last_used);
		/* used_event before the card's used index is read again. */
		mb();
		used = le16_to_cpu((__force __le16)READ_ONCE(s->used->idx));
		if (used != s->last_used)
			goto again;
	}
	if (s->packed)
		return gpci_pk_deliver(gd, s, notify);
	gpci_log_used(gd, vr, first, done);
	if (!done)
		return 0;
	ret = gpci_ring_need_notify(gd, s);
	if (ret < 0)
		return ret;
	*notify = ret;
	return 0;

out_log:
	/* What was handed back before the fault is the driver's. */
	gpci_log_used(gd, vr, first, done);
	return ret;
}

/* __gpci_svq_complete(), counted (whatever it got to before a fault). */
static int gpci_svq_complete(struct gpci_dev *gd, u16 idx, bool *notify)
{
	struct gpci_svq *s = &gd->vqs[idx].svq;
	u16 before = s->last_used;
	int ret;

	ret = __gpci_svq_complete(gd, idx, notify);
	gpci_stat_add(&s->stat_completed, (u16)(s->last_used - before));
	return ret;
}

/* The driver's callback, from process context. */
static void gpci_svq_notify(struct gpci_vq *vq)
{
	/* The callback may raise a softirq: let it run on return. */
	local_bh_disable();
	gpci_run_cb(&vq->cb_lock, &vq->cb);
	local_bh_enable();
}

/* gpci_svq_complete(), then the driver's callback if it asks. */
static int gpci_svq_complete_cb(struct gpci_dev *gd, u16 idx)
{
	bool notify;
	int ret;

	ret = gpci_svq_complete(gd, idx, &notify);
	if (notify)
		gpci_svq_notify(&gd->vqs[idx]);
	return ret;
}

/*
 * Reset one queue of the card and wait until it is off (queue_enable
 * reads 0).  Our own wait: the library's has no deadline, and a card
 * that is gone reads all ones.  queue_reset itself is not polled: virtio
 * 1.2 has it read 1 once the queue is reset, QEMU 7.2 (and 6.1's
 * vp_modern_set_queue_reset()) 0; queue_enable reads 0 either way.
 */
static int gpci_card_queue_reset(struct gpci_dev *gd, u16 idx)
{
	struct virtio_pci_modern_common_cfg __iomem *cfg =
		(struct virtio_pci_modern_common_cfg __iomem *)gpci_card(gd)->common;
	unsigned long timeout = jiffies + msecs_to_jiffies(GPCI_RESET_TIMEOUT_MS);
	u16 en;

	vp_iowrite16(idx, &cfg->cfg.queue_select);
	vp_iowrite16(1, &cfg->queue_reset);
	while ((en = vp_ioread16(&cfg->cfg.queue_enable)) != 0) {
		if (en == 0xffff || time_after(jiffies, timeout))
			return -ETIMEDOUT;
		usleep_range(100, 200);
	}
	return 0;
}

/*
 * Queue @idx stands at the wrap of its indexes and the card used all we
 * gave it: the card's own start (index 0) is where the driver's ring is.
 * Reset the card's queue and give it the driver's ring; from here on
 * kicks reach the doorbell and its interrupts the driver's callback.  The
 * first queue back turns the device's other shadowed queues into relayed
 * queues of direct mode, which they are from then on, until they come
 * back too.  shadow_lock held.
 */
static int gpci_svq_back(struct gpci_dev *gd, u16 idx)
{
	struct virtio_pci_modern_device *card = gpci_card(gd);
	struct gpci_vq *vq = &gd->vqs[idx];
	u16 vec = gpci_vq_vector(gd, idx);
	int ret;

	/*
	 * The relay may have stopped with the driver's kicks suppressed: a
	 * card that only ever writes them when it changes its mind must find
	 * them on (at index 0, avail_event 0 with EVENT_IDX).
	 */
	gpci_fast_off(gd);
	gpci_ring_notify_enable(gd, &vq->svq);
	gpci_log_notify(gd, &vq->svq);
	ret = gpci_card_queue_reset(gd, idx);
	if (ret)
		return ret;
	vp_modern_set_queue_size(card, idx, vq->svq.vrh.vring.num);
	vp_modern_queue_address(card, idx, vq->desc_area, vq->driver_area,
				vq->device_area);
	if (vp_modern_queue_vector(card, idx, vec) != vec)
		return -EIO;
	vp_modern_set_queue_enable(card, idx, true);
	if (gd->shadow) {
		for (u16 i = 0; i < gd->nvqs; i++)
			if (i != idx && gd->vqs[i].svq.active)
				WRITE_ONCE(gd->vqs[i].svq.relay, true);
		/*
		 * Relayed before no longer shadowed, for kick_vq and the
		 * handlers (gpci_vq_relayed()).  The card's status is the
		 * driver's: ACK to DRIVER_OK.
		 */
		smp_wmb();
		WRITE_ONCE(gd->shadow, false);
	}
	/* The card no longer reads our ring. */
	gpci_svq_free(gd, &vq->svq);
	gd->backs++;
	dev_info(&gd->vdpa->dev, "queue %u back on the driver's ring\n", idx);
	/*
	 * A kick or an interrupt that came while the queue was switched went
	 * to the worker, which now ignores the queue: the card looks at the
	 * ring once more, and the driver at its used ring.
	 */
	iowrite16(idx, vq->notify);
	gpci_svq_notify(vq);
	return 0;
}

/*
 * Complete (@complete) and relay on the fast path, under &gpci_svq.lock.
 * Return: false if queue @idx is not on the fast path or left it (the
 * worker does the rest); @notify: run the driver's callback.
 */
static bool gpci_svq_fast(struct gpci_dev *gd, u16 idx, bool complete,
			  bool *notify)
{
	struct gpci_svq *s = &gd->vqs[idx].svq;
	unsigned long flags;
	int ret = 0;

	*notify = false;
	spin_lock_irqsave(&s->lock, flags);
	/*
	 * Everything under this lock must not sleep, and an unmapped ring
	 * would (mapping it, or vringh): fast is never set on one, and each
	 * unmap turns it off first, but do not bet a hardirq on that.
	 */
	if (!s->fast || !s->map.desc) {
		WRITE_ONCE(s->fast, false);
		spin_unlock_irqrestore(&s->lock, flags);
		return false;
	}
	if (complete)
		ret = gpci_svq_complete(gd, idx, notify);
	if (!ret)
		ret = gpci_svq_relay(gd, idx, true);
	if (ret)
		WRITE_ONCE(s->fast, false);
	else
		gpci_stat_add(&s->stat_fast, 1);
	spin_unlock_irqrestore(&s->lock, flags);
	return !ret;
}

/*
 * From kick_vq, any context: relay on the fast path.  Return: false if
 * the worker must (gpci_shadow_kick()).
 */
bool gpci_shadow_fast_kick(struct gpci_dev *gd, u16 idx)
{
	bool notify;

	return READ_ONCE(gd->vqs[idx].svq.fast) &&
	       gpci_svq_fast(gd, idx, false, &notify);
}

/*
 * From queue @idx's own interrupt handler: complete and relay on the fast
 * path.  Return: false if the worker must (gpci_shadow_kick()).
 */
bool gpci_shadow_fast_irq(struct gpci_dev *gd, u16 idx)
{
	struct gpci_vq *vq = &gd->vqs[idx];
	bool notify, done;

	if (!READ_ONCE(vq->svq.fast))
		return false;
	done = gpci_svq_fast(gd, idx, true, &notify);
	if (notify)
		gpci_run_cb(&vq->cb_lock, &vq->cb);
	return done;
}

/* Queue @idx may take the fast path (see above); shadow_lock held. */
static bool gpci_svq_fast_ok(struct gpci_dev *gd, u16 idx)
{
	const struct gpci_vq *vq = &gd->vqs[idx];
	const struct gpci_svq *s = &vq->svq;

	lockdep_assert_held(&gd->shadow_lock);
	return gd->shadow && !gd->suspended && !gd->switching &&
	       !(gd->status & VIRTIO_CONFIG_S_NEEDS_RESET) && vq->irq >= 0 &&
	       s->active && !s->packed && !s->cmd && !s->load && s->map.desc &&
	       !gpci_svq_may_go_back(gd, idx);
}

/* Relay queue @i's completions, then its new chains; shadow_lock held. */
static void gpci_shadow_run(struct gpci_dev *gd, u16 i)
{
	struct gpci_vq *vq = &gd->vqs[i];
	struct gpci_svq *s = &vq->svq;
	bool notify, done;
	int ret;

	lockdep_assert_held(&gd->shadow_lock);
	/*
	 * In direct mode only a relayed control queue is ours; a loaded one
	 * waits for the switch at DRIVER_OK.
	 */
	if (gd->suspended || !s->active ||
	    (!gd->shadow && (!s->relay || s->load)))
		return;
	gpci_stat_add(&s->stat_worker, 1);
	/*
	 * Through the queue's lock even when the flag reads off: the fast
	 * path that turned it off may still be inside, and taking the lock
	 * after it orders its ring updates before ours.  Only the worker
	 * turns it on, so it stays off below.
	 */
	done = gpci_svq_fast(gd, i, true, &notify);
	if (notify)
		gpci_svq_notify(vq);
	if (done)
		return;
	/* What the fast path could not do, the slow way. */
	ret = gpci_svq_complete_cb(gd, i);
	if (!ret)
		ret = gpci_svq_relay(gd, i, false);
	if (ret) {
		gpci_shadow_fail(gd, ret == -E2BIG ? "chain too long" :
				 "ring not accessible or corrupt");
		return;
	}
	/* At the wrap with nothing in flight: where the card starts. */
	if (!s->vrh.last_avail_idx && s->num_free == s->vrh.vring.num &&
	    gpci_svq_may_go_back(gd, i)) {
		if (gpci_svq_back(gd, i))
			gpci_shadow_fail(gd, "card did not take the driver's ring back");
		return;
	}
	if (gpci_svq_fast_ok(gd, i))
		gpci_fast_set(s, true);
}

/* The queues an interrupt or a kick marked, and only those. */
static void gpci_shadow_work(struct work_struct *work)
{
	struct gpci_dev *gd = container_of(work, struct gpci_dev, shadow_work);

	/* Not gpci_shadow_lock(): the fast path stays on where it is. */
	mutex_lock(&gd->shadow_lock);
	for (u16 i = 0; i < gd->nvqs; i++)
		if (test_and_clear_bit(GPCI_VQ_TODO, &gd->vqs[i].todo))
			gpci_shadow_run(gd, i);
	mutex_unlock(&gd->shadow_lock);
}

/* From kick_vq and the card's interrupts (queue @idx), any context. */
void gpci_shadow_kick(struct gpci_dev *gd, u16 idx)
{
	set_bit(GPCI_VQ_TODO, &gd->vqs[idx].todo);
	schedule_work(&gd->shadow_work);
}

/* Every queue has work: after a switch, a resume, a shared vector. */
void gpci_shadow_kick_all(struct gpci_dev *gd)
{
	for (u16 i = 0; i < gd->nvqs; i++)
		set_bit(GPCI_VQ_TODO, &gd->vqs[i].todo);
	schedule_work(&gd->shadow_work);
}

/* ---- our rings --------------------------------------------------------------- */

static void gpci_svq_free(struct gpci_dev *gd, struct gpci_svq *s)
{
	if (s->ring) {
		iommu_unmap(gd->domain, s->ring_iova, s->ring_size);
		free_pages_exact(s->ring, s->ring_size);
	}
	s->ring = NULL;
	gpci_ring_unmap(s);
	vringh_kiov_cleanup(&s->riov);
	vringh_kiov_cleanup(&s->wiov);
	kfree(s->head);
	s->head = NULL;
	kfree(s->pos);
	s->pos = NULL;
	kfree(s->load);
	s->load = NULL;
	if (s->cmd) {
		for (u16 i = 0; i < s->vrh.vring.num; i++)
			kfree(s->cmd[i]);
		kfree(s->cmd);
		s->cmd = NULL;
		gd->cvq_bounce = GPCI_SVQ_FREE;
	}
	kfree(s->cmd_len);
	s->cmd_len = NULL;
	WRITE_ONCE(s->relay, false);
	gpci_pk_free(s);
	s->packed = false;
	s->active = false;
}

/*
 * Room for a whole ring's descriptors in each of riov and wiov: a chain
 * never outgrows them (pci_ring.c and pci_packed.c fill them in place).
 */
static int gpci_svq_kiov(struct vringh_kiov *iov, u16 num)
{
	struct kvec *kv = kmalloc_array(num, sizeof(*kv), GFP_KERNEL);

	if (!kv)
		return -ENOMEM;
	vringh_kiov_init(iov, kv, num);
	iov->max_num |= VRINGH_IOV_ALLOCATED;	/* vringh_kiov_cleanup frees */
	return 0;
}

/*
 * Our ring for queue @idx of @num entries, mapped at its slot of the
 * reserved window: the card may read descriptors and avail, and write
 * only the used ring.  The free list chains every descriptor.
 */
static int gpci_svq_alloc(struct gpci_dev *gd, u16 idx, u16 num)
{
	struct gpci_svq *s = &gd->vqs[idx].svq;
	size_t used_off = gpci_svq_used_off(num);
	int ret = -ENOMEM;

	s->ring_size = gpci_svq_size(num);
	s->ring_iova = gd->iova_range.last + 1 + (u64)idx * GPCI_SVQ_STRIDE;
	s->head = kmalloc_array(num, sizeof(*s->head), GFP_KERNEL);
	s->pos = kmalloc_array(num, sizeof(*s->pos), GFP_KERNEL);
	if (!s->head || !s->pos || gpci_svq_kiov(&s->riov, num) ||
	    gpci_svq_kiov(&s->wiov, num))
		goto err_head;
	if (gd->netc && idx == gpci_cvq_index(gd)) {
		s->cmd = kcalloc(num, sizeof(*s->cmd), GFP_KERNEL);
		s->cmd_len = kcalloc(num, sizeof(*s->cmd_len), GFP_KERNEL);
		if (!s->cmd || !s->cmd_len)
			goto err_head;
	}
	s->ring = alloc_pages_exact(s->ring_size, GFP_KERNEL | __GFP_ZERO);
	if (!s->ring)
		goto err_head;
	ret = iommu_map(gd->domain, s->ring_iova, virt_to_phys(s->ring),
			used_off, IOMMU_READ | IOMMU_CACHE);
	if (ret)
		goto err_ring;
	ret = iommu_map(gd->domain, s->ring_iova + used_off,
			virt_to_phys(s->ring + used_off),
			s->ring_size - used_off,
			IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE);
	if (ret)
		goto err_unmap;

	s->desc = s->ring;
	s->avail = s->ring + sizeof(struct vring_desc) * num;
	s->used = s->ring + used_off;
	for (u16 i = 0; i < num; i++) {
		s->desc[i].next = (__force __virtio16)cpu_to_le16(i + 1);
		s->head[i] = GPCI_SVQ_FREE;
	}
	s->free_head = 0;
	s->num_free = num;
	s->avail_idx = 0;
	s->last_used = 0;
	return 0;

err_unmap:
	iommu_unmap(gd->domain, s->ring_iova, used_off);
err_ring:
	free_pages_exact(s->ring, s->ring_size);
	s->ring = NULL;
err_head:
	vringh_kiov_cleanup(&s->riov);
	vringh_kiov_cleanup(&s->wiov);
	kfree(s->head);
	s->head = NULL;
	kfree(s->pos);
	s->pos = NULL;
	kfree(s->cmd);
	s->cmd = NULL;
	kfree(s->cmd_len);
	s->cmd_len = NULL;
	return ret;
}

/* ---- in flight ----------------------------------------------------------------- */

/* A busy shadow head and how far back its driver position lies. */
struct gpci_busy {
	u16 age;
	u16 shead;
};

static int gpci_busy_cmp(const void *a, const void *b)
{
	const struct gpci_busy *x = a, *y = b;

	return (int)y->age - (int)x->age;	/* oldest first */
}

/*
 * The chains the card holds (relayed, not used), oldest driver position
 * first, into @busy (room for the ring size).  Returns how many.
 */
static u16 gpci_svq_busy(struct gpci_svq *s, struct gpci_busy *busy)
{
	u16 num = s->vrh.vring.num, n = 0;

	for (u16 i = 0; i < num; i++) {
		if (s->head[i] == GPCI_SVQ_FREE)
			continue;
		if (s->packed)	/* descriptor indexes; a whole ring: num back */
			busy[n].age = (s->pk.avail + num - s->pos[i]) % num ?:
				      num;
		else
			busy[n].age = s->vrh.last_avail_idx - s->pos[i];
		busy[n].shead = i;
		n++;
	}
	sort(busy, n, sizeof(*busy), gpci_busy_cmp, NULL);
	return n;
}

/*
 * After a card reset: a fresh start of our ring at index 0 holding the
 * chains still in flight, oldest first, so that the card runs them again.
 */
static int gpci_svq_republish(struct gpci_dev *gd, struct gpci_svq *s)
{
	u16 num = s->vrh.vring.num, n;
	struct gpci_busy *busy;

	busy = kmalloc_array(num, sizeof(*busy), GFP_KERNEL);
	if (!busy)
		return -ENOMEM;
	n = gpci_svq_busy(s, busy);
	for (u16 k = 0; k < n; k++)
		s->avail->ring[k] = (__force __virtio16)cpu_to_le16(busy[k].shead);
	/* A bounced command runs again: no ack from the last run counts. */
	if (s->cmd && gd->cvq_bounce != GPCI_SVQ_FREE)
		gd->cvq_page[GPCI_CVQ_BOUNCE_ACK] = VIRTIO_NET_ERR;
	kfree(busy);
	memset(s->used, 0, sizeof(*s->used) +
	       sizeof(struct vring_used_elem) * num + sizeof(__virtio16));
	/* used_event: the card's first completion interrupts again. */
	s->avail->ring[num] = 0;
	s->avail_idx = n;
	s->last_used = 0;
	s->avail->idx = (__force __virtio16)cpu_to_le16(n);
	return 0;
}

static void gpci_svq_loaded(struct gpci_svq *s)
{
	kfree(s->load);
	s->load = NULL;
	s->load_n = 0;
}

/*
 * A packed ring's in-flight chains lie back to back from the used
 * position on (gpci_pk_deliver() returns them in order), so the loaded
 * list must name each of them where the previous one ends, and the last
 * must end at the loaded available position.
 */
static int gpci_svq_replay_packed(struct gpci_dev *gd, struct gpci_svq *s)
{
	u16 num = s->vrh.vring.num, want, taken = 0, id, ndesc;
	int ret;

	if (!s->load_packed || (s->load_used & ~GPCI_PK_WRAP) >= num ||
	    (s->load_avail & ~GPCI_PK_WRAP) >= num)
		return -EINVAL;
	gpci_pk_reset(s, s->load_used, s->load_used);
	want = gpci_pk_dist(num, s->pk.used, s->pk.used_wrap,
			    s->load_avail & ~GPCI_PK_WRAP,
			    s->load_avail & GPCI_PK_WRAP);
	if (want > num)
		return -EINVAL;
	for (u32 k = 0; k < s->load_n; k++) {
		if (le32_to_cpu(s->load[k].avail_pos) != s->pk.avail)
			return -EINVAL;
		ret = gpci_pk_read(gd, s, &id, &ndesc);
		if (ret <= 0)
			return ret ?: -EINVAL;
		if (id != le32_to_cpu(s->load[k].head) ||
		    s->riov.used + s->wiov.used > s->num_free)
			return -EINVAL;
		ret = gpci_svq_take(gd, s, id, s->pk.avail, false);
		if (ret)
			return ret;
		gpci_pk_taken(s, id, ndesc);
		taken += ndesc;
		if (taken > want)
			return -EINVAL;
	}
	if (taken != want)
		return -EINVAL;
	s->avail->idx = (__force __virtio16)cpu_to_le16(s->avail_idx);
	gpci_svq_loaded(s);
	return 0;
}

/*
 * A migration destination: relay the loaded in-flight requests first, in
 * their order, each read again from its available position (the driver's
 * ring is the source's); then go on from the loaded available position.
 */
static int gpci_svq_replay(struct gpci_dev *gd, struct gpci_svq *s)
{
	u16 head;
	int ret;

	if (s->packed)
		return gpci_svq_replay_packed(gd, s);
	if (s->load_packed)
		return -EINVAL;
	s->vrh.last_used_idx = s->load_used;
	for (u32 k = 0; k < s->load_n; k++) {
		s->vrh.last_avail_idx = le32_to_cpu(s->load[k].avail_pos);
		/* Rare and out of order: vringh, not pci_ring.c's mapping. */
		ret = vringh_getdesc_iotlb(&s->vrh, &s->riov, &s->wiov, &head,
					   GFP_KERNEL);
		if (ret <= 0)
			return ret ?: -EINVAL;
		if (head != le32_to_cpu(s->load[k].head) ||
		    s->riov.used + s->wiov.used > s->num_free)
			return -EINVAL;
		ret = gpci_svq_take(gd, s, head, s->vrh.last_avail_idx - 1,
				    false);
		if (ret)
			return ret;
	}
	s->vrh.last_avail_idx = s->load_avail;
	s->avail->idx = (__force __virtio16)cpu_to_le16(s->avail_idx);
	gpci_svq_loaded(s);
	return 0;
}

/* ---- switching --------------------------------------------------------------- */

/*
 * Wait until no enabled queue's used index moved for a grace period: the
 * card then holds nothing it will still complete (exact for buffers it
 * never read, a heuristic for slow requests; a card with
 * VIRTIO_F_SUSPEND would not need it).
 */
static int gpci_quiesce(struct gpci_dev *gd)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(GPCI_QUIESCE_MAX_MS);
	bool moved = true;
	u16 *prev;
	int ret = 0;

	prev = kcalloc(gd->nvqs, sizeof(*prev), GFP_KERNEL);
	if (!prev)
		return -ENOMEM;
	for (u16 i = 0; i < gd->nvqs && !ret; i++)
		if (gd->vqs[i].svq.active)
			ret = gpci_svq_driver_used(&gd->vqs[i].svq, &prev[i]);
	while (!ret && moved && time_before(jiffies, deadline)) {
		msleep(GPCI_GRACE_MS);
		moved = false;
		for (u16 i = 0; i < gd->nvqs && !ret; i++) {
			struct gpci_svq *s = &gd->vqs[i].svq;
			u16 used;

			if (!s->active)
				continue;
			ret = gpci_svq_driver_used(s, &used);
			if (!ret && used != prev[i])
				moved = true;
			prev[i] = used;
		}
	}
	kfree(prev);
	return ret;
}

/*
 * Once the card is reset (it no longer writes the driver's rings): where
 * each queue starts.  A loaded state says so; otherwise the relay starts at
 * the driver's used index and the buffers between it and avail (returned
 * in @outstanding) go to the card again.
 */
static int gpci_shadow_positions(struct gpci_dev *gd, unsigned int *outstanding)
{
	*outstanding = 0;
	for (u16 i = 0; i < gd->nvqs; i++) {
		struct gpci_svq *s = &gd->vqs[i].svq;
		u16 used, avail;
		int ret;

		if (!s->active)
			continue;
		if (s->packed) {
			/* We never suppress its kicks. */
			ret = gpci_pk_start(gd, s);
			if (ret)
				return ret;
		}
		if (s->load) {
			ret = gpci_svq_replay(gd, s);
			if (ret)
				return ret;
			*outstanding += s->avail_idx;
			continue;
		}
		if (s->packed) {
			/* Never ran (a running one is not switched). */
			gpci_pk_reset(s, GPCI_PK_WRAP, GPCI_PK_WRAP);
			continue;
		}
		if (s->relay) {
			/* Relayed all along: we know where it stands. */
			ret = gpci_svq_complete_cb(gd, i);
			if (!ret)
				ret = gpci_svq_republish(gd, s);
			if (ret)
				return ret;
			*outstanding += s->avail_idx;
			WRITE_ONCE(s->relay, false);
			continue;
		}
		if (gpci_svq_driver_used(s, &used) ||
		    gpci_svq_read16(s, &s->vrh.vring.avail->idx, &avail))
			return -EFAULT;
		*outstanding += (u16)(avail - used);
		s->vrh.last_avail_idx = used;
		s->vrh.last_used_idx = used;
	}
	return 0;
}

/*
 * The card, just reset, set up on our rings with the driver's features
 * (split rings towards the card whatever the driver's are; we never write
 * indirect descriptors; RING_RESET, for the way back, if the card has
 * it), the config writes replayed, and started.
 */
static int gpci_card_setup(struct gpci_dev *gd)
{
	struct virtio_pci_modern_device *card = gpci_card(gd);
	u64 features = gpci_card_driver_features(gd, gd->driver_features) &
		~BIT_ULL(VIRTIO_F_RING_PACKED);
	u8 st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	int cvq = gpci_cvq_index(gd);
	struct gpci_svq *cs = NULL;
	u16 *held = NULL, n_held = 0;
	int ret;

	/*
	 * The driver's control commands still in flight wait until the
	 * card has the state back: replayed first, they run after it.
	 */
	if (cvq >= 0 && gd->netc && gd->vqs[cvq].svq.active) {
		cs = &gd->vqs[cvq].svq;
		n_held = cs->avail_idx;
		held = kmalloc_array(max_t(u16, n_held, 1), sizeof(*held),
				     GFP_KERNEL);
		if (!held)
			return -ENOMEM;
		for (u16 k = 0; k < n_held; k++)
			held[k] = le16_to_cpu((__force __le16)cs->avail->ring[k]);
		cs->avail_idx = 0;
		cs->avail->idx = 0;
	}

	features |= vp_modern_get_features(card) & BIT_ULL(VIRTIO_F_RING_RESET);
	gd->card_features = features;
	vp_modern_set_status(card, st);
	vp_modern_set_features(card, features);
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	vp_modern_set_status(card, st);
	if (!(vp_modern_get_status(card) & VIRTIO_CONFIG_S_FEATURES_OK))
		goto err_held;
	if (gd->cfg_written) {
		size_t len = gd->gm->config_size;

		for (size_t b = 0; b < len; b++)
			if (test_bit(b, gd->cfg_mask))
				iowrite8(gd->cfg_written[b], card->device + b);
	}
	if (vp_modern_config_vector(card, GPCI_CONFIG_VECTOR) !=
	    GPCI_CONFIG_VECTOR)
		goto err_held;
	for (u16 i = 0; i < gd->nvqs; i++) {
		struct gpci_svq *s = &gd->vqs[i].svq;
		u16 vec = gpci_vq_vector(gd, i);

		if (!s->active)
			continue;
		vp_modern_set_queue_size(card, i, s->vrh.vring.num);
		vp_modern_queue_address(card, i, s->ring_iova,
					s->ring_iova + ((void *)s->avail - s->ring),
					s->ring_iova + ((void *)s->used - s->ring));
		if (vp_modern_queue_vector(card, i, vec) != vec)
			goto err_held;
		vp_modern_set_queue_enable(card, i, true);
	}
	/* From here on the card's interrupts are the shadow's. */
	WRITE_ONCE(gd->shadow, true);
	vp_modern_set_status(card, st | VIRTIO_CONFIG_S_DRIVER_OK);
	if (!cs && gd->netc_loaded)
		return -EIO;	/* a loaded control state, no queue for it */
	if (cs) {
		ret = gpci_net_replay(gd);
		if (!ret)
			gd->netc_loaded = false;
		for (u16 k = 0; k < n_held; k++)
			cs->avail->ring[cs->avail_idx++ % cs->vrh.vring.num] =
				(__force __virtio16)cpu_to_le16(held[k]);
		kfree(held);
		if (ret)
			return ret;
		dma_wmb();
		cs->avail->idx = (__force __virtio16)cpu_to_le16(cs->avail_idx);
	}
	/* Whatever is on our rings already (in flight) runs now. */
	for (u16 i = 0; i < gd->nvqs; i++)
		if (gd->vqs[i].svq.active && gd->vqs[i].svq.avail_idx)
			iowrite16(i, gd->vqs[i].notify);
	return 0;

err_held:
	kfree(held);
	return -EIO;
}

static void gpci_shadow_free_all(struct gpci_dev *gd)
{
	for (u16 i = 0; i < gd->nvqs; i++)
		gpci_svq_free(gd, &gd->vqs[i].svq);
	if (gd->cvq_page) {
		iommu_unmap(gd->domain, gpci_cvq_page_iova(gd), PAGE_SIZE);
		free_page((unsigned long)gd->cvq_page);
		gd->cvq_page = NULL;
	}
	gd->cvq_bounce = GPCI_SVQ_FREE;
}

/*
 * Run one control command of ours on the card (shadow_lock held, card
 * running on our rings, the worker therefore idle): the command and its
 * ack live in our page; wait for the answer.  Return: 0 if the card
 * acknowledged, -EIO if it refused, -ETIMEDOUT.
 */
int gpci_cvq_send(struct gpci_dev *gd, const void *cmd, size_t len)
{
	int cvq = gpci_cvq_index(gd);
	unsigned long deadline;
	struct gpci_svq *s;
	u16 a, b, num, id;
	u8 *ack;
	int ret;

	lockdep_assert_held(&gd->shadow_lock);
	if (cvq < 0 || !gd->vqs[cvq].svq.active || len > GPCI_CVQ_OWN_ACK)
		return -EINVAL;
	s = &gd->vqs[cvq].svq;
	num = s->vrh.vring.num;
	if (s->num_free < 2)
		return -ENOSPC;
	ret = gpci_cvq_page_get(gd);
	if (ret)
		return ret;
	memcpy(gd->cvq_page, cmd, len);
	ack = gd->cvq_page + GPCI_CVQ_OWN_ACK;
	*ack = VIRTIO_NET_ERR;

	a = s->free_head;
	b = le16_to_cpu((__force __le16)s->desc[a].next);
	s->free_head = le16_to_cpu((__force __le16)s->desc[b].next);
	s->num_free -= 2;
	s->desc[a].addr = (__force __virtio64)cpu_to_le64(gpci_cvq_page_iova(gd));
	s->desc[a].len = (__force __virtio32)cpu_to_le32(len);
	s->desc[a].flags = (__force __virtio16)cpu_to_le16(VRING_DESC_F_NEXT);
	s->desc[b].addr = (__force __virtio64)
			  cpu_to_le64(gpci_cvq_page_iova(gd) + GPCI_CVQ_OWN_ACK);
	s->desc[b].len = (__force __virtio32)cpu_to_le32(1);
	s->desc[b].flags = (__force __virtio16)cpu_to_le16(VRING_DESC_F_WRITE);
	s->head[a] = GPCI_SVQ_OWN;
	s->avail->ring[s->avail_idx % num] = (__force __virtio16)cpu_to_le16(a);
	s->avail_idx++;
	dma_wmb();
	s->avail->idx = (__force __virtio16)cpu_to_le16(s->avail_idx);
	/* The index is visible before the card is told to read it. */
	mb();
	iowrite16(cvq, gd->vqs[cvq].notify);

	deadline = jiffies + msecs_to_jiffies(GPCI_CVQ_TIMEOUT_MS);
	while (le16_to_cpu((__force __le16)READ_ONCE(s->used->idx)) ==
	       s->last_used) {
		if (time_after(jiffies, deadline))
			return -ETIMEDOUT;	/* the card holds our page */
		usleep_range(100, 200);
	}
	dma_rmb();
	id = le32_to_cpu((__force __le32)
			 READ_ONCE(s->used->ring[s->last_used % num].id));
	if (id != a)
		return -EIO;
	s->last_used++;
	/* With EVENT_IDX: the driver's next command interrupts again. */
	if (gd->card_features & BIT_ULL(VIRTIO_RING_F_EVENT_IDX))
		s->avail->ring[num] = (__force __virtio16)cpu_to_le16(s->last_used);
	s->head[a] = GPCI_SVQ_FREE;
	s->desc[b].next = (__force __virtio16)cpu_to_le16(s->free_head);
	s->free_head = a;
	s->num_free += 2;
	return READ_ONCE(*ack) == VIRTIO_NET_OK ? 0 : -EIO;
}

/*
 * vringh on the driver's ring of queue @i, and our ring for it.  The size
 * is the driver's, or the card's if the driver never set one (read before
 * the card is reset).
 */
static int gpci_svq_setup(struct gpci_dev *gd, u16 i)
{
	struct gpci_vq *vq = &gd->vqs[i];
	struct gpci_svq *s = &vq->svq;
	u16 num = vq->num ?: vp_modern_get_queue_size(gpci_card(gd), i);
	int ret;

	if (s->ring)
		return -EBUSY;	/* a failed relay the card may still read */
	/* The window's last slot is the control replay page. */
	if (!num || num > GPCI_VQ_NUM_MAX ||
	    (u64)(i + 2) * GPCI_SVQ_STRIDE > GPCI_SHADOW_IOVA_SIZE)
		return -EOPNOTSUPP;
	/* A packed ring's areas: descriptors, driver and device events. */
	ret = vringh_init_iotlb(&s->vrh, gd->driver_features, num, false,
				(void *)(uintptr_t)vq->desc_area,
				(void *)(uintptr_t)vq->driver_area,
				(void *)(uintptr_t)vq->device_area);
	if (ret)
		return ret;
	vringh_set_iotlb(&s->vrh, gd->iotlb, &gd->iotlb_lock);
	ret = gpci_svq_alloc(gd, i, num);
	if (ret)
		return ret;
	if (gd->driver_features & BIT_ULL(VIRTIO_F_RING_PACKED)) {
		ret = gpci_pk_alloc(s);
		if (ret) {
			gpci_svq_free(gd, s);
			return ret;
		}
		s->packed = true;
	}
	s->active = true;
	return 0;
}

/* Every enabled queue not relayed yet gets a shadow ring. */
static int gpci_shadow_prepare(struct gpci_dev *gd)
{
	for (u16 i = 0; i < gd->nvqs; i++) {
		int ret;

		if (!gd->vqs[i].enabled || gd->vqs[i].svq.active)
			continue;
		ret = gpci_svq_setup(gd, i);
		if (ret)
			return ret;
	}
	return 0;
}

/* A switch that failed before the card was reset: relays stay. */
static void gpci_shadow_unprepare(struct gpci_dev *gd)
{
	for (u16 i = 0; i < gd->nvqs; i++)
		if (!gd->vqs[i].svq.relay)
			gpci_svq_free(gd, &gd->vqs[i].svq);
}

/*
 * A net card's control queue starting (DRIVER_OK) under a user-space
 * driver: the card gets our ring for it from the start, so that every
 * command it acknowledges is known (and can be replayed after the card
 * is reset for the shadow mode, a suspend or on a migration destination).
 * The caller (shadow_lock held) gives the card the driver's ring if this
 * fails.
 */
int gpci_cvq_relay_start(struct gpci_dev *gd, u16 idx)
{
	struct virtio_pci_modern_device *card = gpci_card(gd);
	struct gpci_svq *s = &gd->vqs[idx].svq;
	int ret;

	lockdep_assert_held(&gd->shadow_lock);
	ret = -EBUSY;
	if (gd->shadow || s->active ||
	    (gd->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		goto out;
	ret = gpci_svq_setup(gd, idx);
	if (ret) {
		struct vdpa_mig_inflight *load = s->load;

		/* A loaded state stays for the switch at DRIVER_OK. */
		s->load = NULL;
		if (ret != -EBUSY)
			gpci_svq_free(gd, s);
		s->load = load;
		goto out;
	}
	vp_modern_set_queue_size(card, idx, s->vrh.vring.num);
	vp_modern_queue_address(card, idx, s->ring_iova,
				s->ring_iova + ((void *)s->avail - s->ring),
				s->ring_iova + ((void *)s->used - s->ring));
	WRITE_ONCE(s->relay, true);
out:
	return ret;
}

/*
 * Move the device to shadow rings; shadow_lock held.  A running card is
 * quiesced first; one that never got DRIVER_OK (a switch wished for
 * before it, a loaded state) starts on our rings directly.  @status is
 * what the driver sees from then on.  Before the card is reset a failure
 * leaves the device as it was (kicks held back are forwarded); after it,
 * the device needs a reset.
 */
static int gpci_shadow_switch(struct gpci_dev *gd, u8 status)
{
	bool running = vp_modern_get_status(gpci_card(gd)) &
		       VIRTIO_CONFIG_S_DRIVER_OK;
	unsigned int outstanding = 0;
	ktime_t t0 = ktime_get();
	int ret;

	lockdep_assert_held(&gd->shadow_lock);
	if (gd->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return -EIO;	/* a relay failed: only a reset helps */
	/*
	 * A card writes a packed ring's used elements over the descriptors
	 * of chains still in flight and keeps no used index: where a running
	 * one stands cannot be known without VIRTIO_F_SUSPEND.
	 */
	if (running && (gd->driver_features & BIT_ULL(VIRTIO_F_RING_PACKED)))
		return -EOPNOTSUPP;
	if (!gpci_user_driver(gd))
		return -EOPNOTSUPP;	/* no IOTLB to read rings by */

	WRITE_ONCE(gd->switching, true);
	ret = gpci_shadow_prepare(gd);
	if (!ret && running)
		ret = gpci_quiesce(gd);
	if (ret) {
		gpci_shadow_unprepare(gd);
		WRITE_ONCE(gd->switching, false);
		for (u16 i = 0; running && i < gd->nvqs; i++)
			if (gd->vqs[i].enabled && !gd->vqs[i].svq.relay)
				iowrite16(i, gd->vqs[i].notify);
		return ret;
	}

	gd->status = status;
	ret = gpci_card_reset(gd);
	if (!ret)
		ret = gpci_shadow_positions(gd, &outstanding);
	if (!ret)
		ret = gpci_card_setup(gd);
	WRITE_ONCE(gd->shadow, true);
	WRITE_ONCE(gd->switching, false);
	gd->switches++;
	if (ret) {
		gpci_shadow_fail(gd, "card did not restart on shadow rings");
		return 0;
	}
	dev_info(&gd->vdpa->dev,
		 "shadow rings on in %lld us, %u buffer(s) handed over again\n",
		 ktime_us_delta(ktime_get(), t0), outstanding);
	gpci_shadow_kick_all(gd);
	return 0;
}

/* shadow_lock held: a queue has a migration state to start from. */
static bool gpci_shadow_loaded(struct gpci_dev *gd)
{
	lockdep_assert_held(&gd->shadow_lock);
	if (gd->netc_loaded)
		return true;
	for (u16 i = 0; i < gd->nvqs; i++)
		if (gd->vqs[i].svq.load)
			return true;
	return false;
}

/* A log or a loaded state waits for DRIVER_OK to switch. */
bool gpci_shadow_wanted(struct gpci_dev *gd)
{
	bool wanted;

	gpci_shadow_lock(gd);
	wanted = gd->shadow_pending && !gd->shadow;
	mutex_unlock(&gd->shadow_lock);
	return wanted;
}

/*
 * set_status(@status with DRIVER_OK) while a switch is wanted: the card
 * never sees the driver's rings.  Without a loaded state, a device that
 * cannot be shadowed runs in direct mode (returns the error, the caller
 * starts the card); with one, it needs a reset.
 */
int gpci_shadow_start(struct gpci_dev *gd, u8 status)
{
	bool loaded;
	int ret = 0;

	gpci_shadow_lock(gd);
	if (gd->shadow_pending && !gd->shadow) {
		gd->shadow_pending = false;
		loaded = gpci_shadow_loaded(gd);
		ret = gpci_shadow_switch(gd, status);
		if (ret && loaded) {
			gd->status = status;
			WRITE_ONCE(gd->shadow, true);
			gpci_shadow_fail(gd, "cannot start from the loaded state");
			ret = 0;
		}
	}
	mutex_unlock(&gd->shadow_lock);
	return ret;
}

/*
 * The driver's reset, before the card's: the worker relays nothing more
 * and moves no queue back to the driver's ring (the card, once reset,
 * would take a queue enabled then as a new one).  gpci_shadow_stop()
 * ends it.
 */
void gpci_shadow_disarm(struct gpci_dev *gd)
{
	gpci_shadow_lock(gd);
	gd->suspended = true;
	mutex_unlock(&gd->shadow_lock);
}

/*
 * At a reset, once the card no longer runs: back to direct mode.  A dirty
 * log still running switches the next DRIVER_OK to shadow rings again.
 */
void gpci_shadow_stop(struct gpci_dev *gd)
{
	gpci_shadow_lock(gd);
	WRITE_ONCE(gd->shadow, false);
	for (u16 i = 0; i < gd->nvqs; i++)
		WRITE_ONCE(gd->vqs[i].svq.relay, false);
	gd->suspended = false;
	gd->shadow_pending = !!rcu_access_pointer(gd->log);
	gd->status = 0;
	mutex_unlock(&gd->shadow_lock);
	/* The worker sees shadow off; wait for one that is still running. */
	cancel_work_sync(&gd->shadow_work);
	gpci_shadow_lock(gd);
	gpci_shadow_free_all(gd);
	mutex_unlock(&gd->shadow_lock);
}

int gpci_shadow_vq_state(struct gpci_dev *gd, u16 idx,
			 struct vdpa_vq_state *state)
{
	struct gpci_svq *s = &gd->vqs[idx].svq;
	int ret = -EOPNOTSUPP;

	gpci_shadow_lock(gd);
	if ((gd->shadow || s->relay) && s->active) {
		memset(state, 0, sizeof(*state));
		if (s->packed) {
			state->packed.last_avail_idx = s->pk.avail;
			state->packed.last_avail_counter = s->pk.avail_wrap;
			state->packed.last_used_idx = s->pk.used;
			state->packed.last_used_counter = s->pk.used_wrap;
		} else {
			state->split.avail_index = s->vrh.last_avail_idx;
		}
		ret = 0;
	}
	mutex_unlock(&gd->shadow_lock);
	return ret;
}

void gpci_shadow_init(struct gpci_dev *gd)
{
	mutex_init(&gd->shadow_lock);
	INIT_WORK(&gd->shadow_work, gpci_shadow_work);
	gd->cvq_bounce = GPCI_SVQ_FREE;
}

/* ---- suspend and resume --------------------------------------------------------- */

/*
 * Suspend: stop relaying, let the card finish what it can within the grace
 * period (its completions are handed to the driver), then reset it so it
 * can no longer write driver memory.  What it still held is in flight
 * (QEMU's virtio-blk completes its requests while it resets; RX buffers a
 * net card holds stay in flight).
 * A running device in direct mode switches to shadow rings first: only
 * they know where the card stood.
 */
int gpci_suspend(struct vdpa_device *vdpa)
{
	struct gpci_dev *gd = to_gpci(vdpa);
	struct virtio_pci_modern_device *card = gpci_card(gd);
	unsigned long deadline;
	bool moved = true;
	int ret = 0;

	gpci_shadow_lock(gd);
	if (gd->suspended)
		goto out;
	if (!gd->shadow) {
		if (!(vp_modern_get_status(card) & VIRTIO_CONFIG_S_DRIVER_OK)) {
			gd->suspended = true;	/* nothing runs */
			goto out;
		}
		ret = gpci_shadow_switch(gd, vp_modern_get_status(card));
		if (ret)
			goto out;
	}
	/*
	 * Nothing new is relayed from here on: chains the driver made
	 * available and we did not take stay for whoever runs next.
	 */
	gd->suspended = true;
	/* Kicks still queue the worker; it does nothing while suspended. */
	deadline = jiffies + msecs_to_jiffies(GPCI_QUIESCE_MAX_MS);
	while (moved && !ret && time_before(jiffies, deadline)) {
		moved = false;
		msleep(GPCI_GRACE_MS);
		for (u16 i = 0; i < gd->nvqs && !ret; i++) {
			struct gpci_svq *s = &gd->vqs[i].svq;
			u16 before = s->last_used;

			if (!s->active)
				continue;
			ret = gpci_svq_complete_cb(gd, i);
			moved |= s->last_used != before;
		}
	}
	if (!ret)
		ret = gpci_card_reset(gd);
	/* What the card used before it stopped. */
	for (u16 i = 0; i < gd->nvqs && !ret; i++)
		if (gd->vqs[i].svq.active)
			ret = gpci_svq_complete_cb(gd, i);
	if (ret) {
		gpci_shadow_fail(gd, "card did not stop");
		ret = -EIO;
	}
out:
	mutex_unlock(&gd->shadow_lock);
	return ret;
}

/* The card restarts on our rings, with what was in flight first. */
static int gpci_resume(struct vdpa_device *vdpa)
{
	struct gpci_dev *gd = to_gpci(vdpa);
	int ret = 0;

	gpci_shadow_lock(gd);
	if (!gd->suspended)
		goto out;
	gd->suspended = false;
	if (!gd->shadow || (gd->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		goto out;
	for (u16 i = 0; i < gd->nvqs && !ret; i++)
		if (gd->vqs[i].svq.active)
			ret = gpci_svq_republish(gd, &gd->vqs[i].svq);
	if (!ret)
		ret = gpci_card_setup(gd);
	if (ret) {
		gpci_shadow_fail(gd, "card did not resume");
		ret = -EIO;
		goto out;
	}
	gpci_shadow_kick_all(gd);
out:
	mutex_unlock(&gd->shadow_lock);
	return ret;
}

/* ---- device state ------------------------------------------------------------------ */

/* A loaded position (descriptor index, wrap counter in bit 15). */
static void gpci_pk_unpack(u16 pos, u32 *idx, u32 *wrap)
{
	*idx = pos & ~GPCI_PK_WRAP;
	*wrap = !!(pos & GPCI_PK_WRAP);
}

/*
 * A suspended packed queue: every chain from the used position to the
 * available one is in flight, held by the card or used by it but not yet
 * handed back (those run again on the destination).
 */
static int gpci_pk_mig_state(struct gpci_svq *s, struct vdpa_mig_vq_state *st)
{
	const struct gpci_pk *pk = &s->pk;
	u16 total = gpci_pk_dist(s->vrh.vring.num, pk->used, pk->used_wrap,
				 pk->avail, pk->avail_wrap);
	u16 p = pk->used;

	st->avail_idx = pk->avail;
	st->avail_wrap = pk->avail_wrap;
	st->used_idx = pk->used;
	st->used_wrap = pk->used_wrap;
	for (u16 walked = 0; walked < total; st->n_inflight++) {
		if (pk->state[p] == GPCI_PK_FREE || !pk->ndesc[p])
			return -EIO;
		if (st->n_inflight >= st->max_inflight)
			return -ENOSPC;
		st->inflight[st->n_inflight].head = cpu_to_le32(pk->id[p]);
		st->inflight[st->n_inflight].avail_pos = cpu_to_le32(p);
		walked += pk->ndesc[p];
		p = (p + pk->ndesc[p]) % s->vrh.vring.num;
	}
	return 0;
}

/*
 * Where a suspended queue stands: the driver's used index, the next
 * available position we would read, and the chains the card held.
 */
static int gpci_get_vq_mig_state(struct vdpa_device *vdpa, u16 idx,
				 struct vdpa_mig_vq_state *st)
{
	struct gpci_dev *gd = to_gpci(vdpa);
	struct gpci_busy *busy = NULL;
	struct gpci_svq *s;
	int ret = 0;
	u16 n;

	if (idx >= gd->nvqs)
		return -EINVAL;
	s = &gd->vqs[idx].svq;
	memset(st, 0, offsetof(struct vdpa_mig_vq_state, max_inflight));
	gpci_shadow_lock(gd);
	if (s->load) {
		/* Loaded and not started: the state as loaded. */
		st->avail_idx = s->load_avail;
		st->used_idx = s->load_used;
		if (gd->driver_features & BIT_ULL(VIRTIO_F_RING_PACKED)) {
			gpci_pk_unpack(s->load_avail, &st->avail_idx,
				       &st->avail_wrap);
			gpci_pk_unpack(s->load_used, &st->used_idx,
				       &st->used_wrap);
		}
		if (s->load_n > st->max_inflight) {
			ret = -ENOSPC;
			goto out;
		}
		memcpy(st->inflight, s->load, sizeof(*s->load) * s->load_n);
		st->n_inflight = s->load_n;
		goto out;
	}
	if (!gd->shadow || !s->active) {
		/* Only a queue that never ran has a known (initial) state. */
		if (gd->vqs[idx].enabled && !gd->shadow)
			ret = -EOPNOTSUPP;
		if (gd->driver_features & BIT_ULL(VIRTIO_F_RING_PACKED)) {
			st->avail_wrap = 1;
			st->used_wrap = 1;
		}
		goto out;
	}
	if (!gd->suspended) {
		ret = -EBUSY;
		goto out;
	}
	if (s->packed) {
		ret = gpci_pk_mig_state(s, st);
		goto out;
	}
	busy = kmalloc_array(s->vrh.vring.num, sizeof(*busy), GFP_KERNEL);
	if (!busy) {
		ret = -ENOMEM;
		goto out;
	}
	n = gpci_svq_busy(s, busy);
	if (n > st->max_inflight) {
		ret = -ENOSPC;
		goto out;
	}
	st->avail_idx = s->vrh.last_avail_idx;
	st->used_idx = (u16)(s->vrh.last_used_idx + s->vrh.completed);
	for (u16 k = 0; k < n; k++) {
		u16 sh = busy[k].shead;

		st->inflight[k].head = cpu_to_le32(s->head[sh]);
		st->inflight[k].avail_pos = cpu_to_le32(s->pos[sh]);
	}
	st->n_inflight = n;
out:
	mutex_unlock(&gd->shadow_lock);
	kfree(busy);
	return ret;
}

/* In-flight heads (buffer IDs) below the queue size, each at most once. */
static int gpci_check_heads(const struct vdpa_mig_vq_state *st, u16 num)
{
	unsigned long *seen;
	int ret = 0;

	seen = bitmap_zalloc(num, GFP_KERNEL);
	if (!seen)
		return -ENOMEM;
	for (u32 k = 0; k < st->n_inflight && !ret; k++) {
		u32 head = le32_to_cpu(st->inflight[k].head);

		if (head >= num || test_and_set_bit(head, seen))
			ret = -EINVAL;
	}
	bitmap_free(seen);
	return ret;
}

/*
 * A split ring's state: the in-flight list must hold exactly avail - used
 * distinct heads, each read from one of the last "queue size" available
 * positions.  Return: 1 for the initial state, 0 for another good one.
 */
static int gpci_check_split(const struct vdpa_mig_vq_state *st, u16 num)
{
	u16 avail = st->avail_idx, used = st->used_idx;

	if (st->avail_idx > U16_MAX || st->used_idx > U16_MAX ||
	    st->avail_wrap || st->used_wrap ||
	    st->n_inflight != (u16)(avail - used) || st->n_inflight > num)
		return -EINVAL;
	if (!avail && !used)
		return 1;
	for (u32 k = 0; k < st->n_inflight; k++) {
		u32 pos = le32_to_cpu(st->inflight[k].avail_pos);

		if (pos > U16_MAX || !(u16)(avail - pos) ||
		    (u16)(avail - pos) > num)
			return -EINVAL;
	}
	return gpci_check_heads(st, num);
}

/*
 * A packed ring's state: positions inside the ring, at most a ring's worth
 * of descriptors in flight, and the in-flight chains distinct buffer IDs
 * at increasing positions from the used one on, the first right there
 * (gpci_svq_replay_packed() checks that they lie back to back).  A list
 * with gaps (a device that hands chains back out of order) cannot be read
 * again from the ring: -EOPNOTSUPP.  Return: as gpci_check_split().
 */
static int gpci_check_packed(const struct vdpa_mig_vq_state *st, u16 num)
{
	u32 total, prev = 0;

	if (st->avail_idx >= num || st->used_idx >= num ||
	    st->avail_wrap > 1 || st->used_wrap > 1)
		return -EINVAL;
	total = gpci_pk_dist(num, st->used_idx, st->used_wrap, st->avail_idx,
			     st->avail_wrap);
	if (total > num || st->n_inflight > total || !st->n_inflight != !total)
		return -EINVAL;
	if (!total && !st->avail_idx && st->avail_wrap && st->used_wrap)
		return 1;
	for (u32 k = 0; k < st->n_inflight; k++) {
		u32 pos = le32_to_cpu(st->inflight[k].avail_pos);
		u32 d = (pos + num - st->used_idx) % num;

		if (pos >= num || (k && d <= prev) || d >= total)
			return -EINVAL;
		prev = d;
	}
	if (st->n_inflight && le32_to_cpu(st->inflight[0].avail_pos) !=
	    st->used_idx)
		return -EOPNOTSUPP;
	return gpci_check_heads(st, num);
}

/*
 * A migration destination, before DRIVER_OK.  Any state but the initial
 * one makes the device start on shadow rings: a virtio-pci card itself
 * always starts at index 0.
 */
static int gpci_set_vq_mig_state(struct vdpa_device *vdpa, u16 idx,
				 const struct vdpa_mig_vq_state *st)
{
	struct gpci_dev *gd = to_gpci(vdpa);
	bool packed = gd->driver_features & BIT_ULL(VIRTIO_F_RING_PACKED);
	u16 avail = st->avail_idx, used = st->used_idx, num;
	struct gpci_vq *vq;
	void *copy = NULL;
	int ret;

	if (idx >= gd->nvqs)
		return -EINVAL;
	vq = &gd->vqs[idx];
	num = vq->num ?: gd->vq_num_max;
	ret = packed ? gpci_check_packed(st, num) : gpci_check_split(st, num);
	if (ret < 0)
		return ret;
	if (packed) {
		avail |= st->avail_wrap ? GPCI_PK_WRAP : 0;
		used |= st->used_wrap ? GPCI_PK_WRAP : 0;
	}
	if (ret)
		goto store;	/* the card's own start */
	if (!gd->domain)
		return -EOPNOTSUPP;
	/* Never NULL (even without requests): it marks the queue loaded. */
	copy = kcalloc(max(st->n_inflight, 1U), sizeof(*st->inflight),
		       GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, st->inflight, sizeof(*st->inflight) * st->n_inflight);

store:
	ret = 0;
	gpci_shadow_lock(gd);
	if (gd->shadow) {
		ret = -EBUSY;
	} else {
		kfree(vq->svq.load);
		vq->svq.load = copy;
		vq->svq.load_n = st->n_inflight;
		vq->svq.load_avail = avail;
		vq->svq.load_used = used;
		vq->svq.load_packed = packed;
		if (copy)
			gd->shadow_pending = true;
		copy = NULL;
	}
	mutex_unlock(&gd->shadow_lock);
	kfree(copy);
	return ret;
}

/* ---- vdpa_migrate operations -------------------------------------------------- */

/*
 * Logging is what needs the shadow rings: the card itself cannot say what
 * it wrote.  A running device switches now, one not yet running at its
 * DRIVER_OK.
 */
static int gpci_log_start(struct vdpa_device *vdpa, u32 asid,
			  struct vdpa_mig_log *log)
{
	struct gpci_dev *gd = to_gpci(vdpa);
	struct virtio_pci_modern_device *card = gpci_card(gd);
	int ret = 0;

	if (asid)
		return -EINVAL;
	if (!gd->domain)
		return -EOPNOTSUPP;
	gpci_shadow_lock(gd);
	if (rcu_access_pointer(gd->log)) {
		ret = -EBUSY;
		goto out;
	}
	rcu_assign_pointer(gd->log, log);
	if (gd->shadow)
		goto out;
	if (vp_modern_get_status(card) & VIRTIO_CONFIG_S_DRIVER_OK)
		ret = gpci_shadow_switch(gd, vp_modern_get_status(card));
	else
		gd->shadow_pending = true;
	if (ret)
		RCU_INIT_POINTER(gd->log, NULL);
out:
	mutex_unlock(&gd->shadow_lock);
	return ret;
}

/*
 * The queues head back to the driver's rings, each at the next wrap of
 * its indexes (the worker takes them there), or stay on shadow rings
 * until a reset on a card without RING_RESET.
 */
static void gpci_log_stop(struct vdpa_device *vdpa, u32 asid)
{
	struct gpci_dev *gd = to_gpci(vdpa);

	if (asid)
		return;
	gpci_shadow_lock(gd);
	RCU_INIT_POINTER(gd->log, NULL);
	gd->shadow_pending = gpci_shadow_loaded(gd);
	if (gd->shadow)
		gpci_shadow_kick_all(gd);
	mutex_unlock(&gd->shadow_lock);
	/* Marks in progress end before the caller frees the log. */
	synchronize_rcu();
}

const struct vdpa_migrate_ops gpci_mig_ops = {
	.resume = gpci_resume,
	.get_vq_mig_state = gpci_get_vq_mig_state,
	.set_vq_mig_state = gpci_set_vq_mig_state,
	.type_state_size = gpci_type_state_size,
	.save_type_state = gpci_save_type_state,
	.load_type_record = gpci_load_type_record,
	.log_start = gpci_log_start,
	.log_stop = gpci_log_stop,
};

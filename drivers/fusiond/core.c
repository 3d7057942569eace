// SPDX-License-Identifier: GPL-2.0
/*
 * FusionD core: member registry, aggregates, queue map, AA/AP policies,
 * health tracking and failover.
 *
 * Queue map: aggregate queue i is carried by queue (i mod n) of the member
 * the policy picks, n being that member's queue count. AA picks, per
 * request, the healthy member with the fewest outstanding requests (ties:
 * not the one picked last); AP sends
 * everything to the active member and promotes the first healthy standby
 * when it fails.
 *
 * Failover: a failed member first stops receiving requests (marked under
 * the rwsem, so no submitter is half way through handing it one), then is
 * fenced by its slice driver (reset or gone, no completion can run any
 * more), and only then are the requests it held resubmitted to a survivor.
 * A request therefore completes exactly once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sched.h>
#include "fusiond_core.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

static DEFINE_MUTEX(fusiond_registry_lock);
static LIST_HEAD(fusiond_slices);		/* under fusiond_registry_lock */
static LIST_HEAD(fusiond_personalities);	/* under fusiond_registry_lock */

struct fusiond_pers_entry {
	struct list_head node;
	struct fusiond_personality *p;
};

const char *fusiond_mode_name(enum fusiond_mode mode)
{
	return mode == FUSIOND_MODE_AP ? "ap" : "aa";
}

/* ---- registry ---------------------------------------------------------- */

static struct fusiond_slice *fusiond_find_slice(const char *name)
{
	struct fusiond_slice *s;

	lockdep_assert_held(&fusiond_registry_lock);
	list_for_each_entry(s, &fusiond_slices, node)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

/**
 * fusiond_slice_register() - offer a member card to the framework
 * @slice: the card, filled in by the slice driver
 *
 * Return: 0, or -EEXIST if a slice of that name is registered.
 */
int fusiond_slice_register(struct fusiond_slice *slice)
{
	int ret = 0;

	mutex_lock(&fusiond_registry_lock);
	if (fusiond_find_slice(slice->name)) {
		ret = -EEXIST;
	} else {
		slice->member = NULL;
		list_add_tail(&slice->node, &fusiond_slices);
	}
	mutex_unlock(&fusiond_registry_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(fusiond_slice_register);

static void fusiond_member_fail(struct fusiond_member *m);
static void fusiond_member_detach(struct fusiond_member *m);

/**
 * fusiond_slice_unregister() - the card goes away (driver unbind, removal)
 * @slice: a registered slice
 *
 * If the card is a member, it is failed over (fenced, its requests moved to
 * survivors) and removed from its aggregate before this returns.
 */
void fusiond_slice_unregister(struct fusiond_slice *slice)
{
	struct fusiond_member *m;

	mutex_lock(&fusiond_registry_lock);
	list_del(&slice->node);
	m = slice->member;
	if (m) {
		struct fusiond_agg *agg = m->agg;

		/*
		 * Removal may be a surprise (the card is already gone and
		 * will never complete what it holds): fail over at once
		 * rather than wait for a drain.
		 */
		mutex_lock(&agg->lock);
		fusiond_member_fail(m);
		fusiond_member_detach(m);
		mutex_unlock(&agg->lock);
	}
	mutex_unlock(&fusiond_registry_lock);
}
EXPORT_SYMBOL_GPL(fusiond_slice_unregister);

/**
 * fusiond_personality_register() - make a device type available
 * @p: the personality
 *
 * Return: 0, or -EEXIST for a duplicate type, -ENOMEM.
 */
int fusiond_personality_register(struct fusiond_personality *p)
{
	struct fusiond_pers_entry *e, *n;
	int ret = 0;

	n = kzalloc(sizeof(*n), GFP_KERNEL);
	if (!n)
		return -ENOMEM;
	n->p = p;
	mutex_lock(&fusiond_registry_lock);
	list_for_each_entry(e, &fusiond_personalities, node) {
		if (!strcmp(e->p->type, p->type)) {
			ret = -EEXIST;
			break;
		}
	}
	if (!ret)
		list_add_tail(&n->node, &fusiond_personalities);
	mutex_unlock(&fusiond_registry_lock);
	if (ret)
		kfree(n);
	return ret;
}
EXPORT_SYMBOL_GPL(fusiond_personality_register);

/**
 * fusiond_personality_unregister() - withdraw a device type
 * @p: a registered personality; no aggregate may use it (aggregates hold a
 *	reference on its module while they do)
 */
void fusiond_personality_unregister(struct fusiond_personality *p)
{
	struct fusiond_pers_entry *e;

	mutex_lock(&fusiond_registry_lock);
	list_for_each_entry(e, &fusiond_personalities, node) {
		if (e->p == p) {
			list_del(&e->node);
			kfree(e);
			break;
		}
	}
	mutex_unlock(&fusiond_registry_lock);
}
EXPORT_SYMBOL_GPL(fusiond_personality_unregister);

/* ---- data path ----------------------------------------------------------- */

static void fusiond_unmap_req(struct fusiond_req *req)
{
	struct device *dev = req->member->slice->dma_dev;

	if (!req->mapped)
		return;
	for (unsigned int i = 0; i < req->nsegs; i++) {
		struct fusiond_seg *seg = &req->segs[i];

		dma_unmap_page(dev, seg->dma, seg->len, seg->dev_writes ?
			       DMA_FROM_DEVICE : DMA_TO_DEVICE);
	}
	req->mapped = false;
}

static int fusiond_map_req(struct fusiond_req *req, struct device *dev)
{
	unsigned int i;

	for (i = 0; i < req->nsegs; i++) {
		struct fusiond_seg *seg = &req->segs[i];

		seg->dma = dma_map_page(dev, seg->page, seg->offset, seg->len,
					seg->dev_writes ? DMA_FROM_DEVICE :
					DMA_TO_DEVICE);
		if (dma_mapping_error(dev, seg->dma))
			goto err_unmap;
	}
	req->mapped = true;
	return 0;

err_unmap:
	while (i--)
		dma_unmap_page(dev, req->segs[i].dma, req->segs[i].len,
			       req->segs[i].dev_writes ? DMA_FROM_DEVICE :
			       DMA_TO_DEVICE);
	return -ENOMEM;
}

/* The member that should carry the next request; rwsem held. */
static struct fusiond_member *fusiond_pick(struct fusiond_agg *agg)
{
	struct fusiond_member *m, *best = NULL;

	if (agg->mode == FUSIOND_MODE_AP) {
		m = agg->active;
		return (m && !m->failed) ? m : NULL;
	}
	/*
	 * Fewest outstanding requests; on a tie not the member picked last
	 * time, so that a queue-depth-1 stream alternates. last_pick is a
	 * hint written without a lock: a lost update only breaks one tie.
	 */
	list_for_each_entry(m, &agg->members, node) {
		int d;

		if (m->failed)
			continue;
		if (!best) {
			best = m;
			continue;
		}
		d = atomic_read(&m->outstanding) -
		    atomic_read(&best->outstanding);
		if (d < 0 || (!d && best == READ_ONCE(agg->last_pick)))
			best = m;
	}
	WRITE_ONCE(agg->last_pick, best);
	return best;
}

/* AP: promote the first healthy member; rwsem held for writing. */
static void fusiond_elect(struct fusiond_agg *agg)
{
	struct fusiond_member *m;

	if (agg->active && !agg->active->failed)
		return;
	agg->active = NULL;
	list_for_each_entry(m, &agg->members, node) {
		if (!m->failed) {
			agg->active = m;
			break;
		}
	}
}

static void fusiond_finish(struct fusiond_agg *agg, struct fusiond_req *req,
			   int status)
{
	req->status = status;
	if (status) {
		atomic64_inc(&agg->failed_reqs);
		trace_fusiond_fail_request(fusiond_agg_name(agg), req, status);
	}
	atomic64_inc(&agg->q_completed[req->agg_queue % FUSIOND_MAX_QUEUES]);
	agg->pers->complete(agg->ppriv, req);
}

static int __fusiond_submit(struct fusiond_agg *agg, struct fusiond_req *req,
			    bool defer_kick)
{
	struct fusiond_member *m;
	unsigned int qsel;
	int ret;

	if (!req->requeues)
		atomic64_inc(&agg->q_submitted[req->agg_queue %
					       FUSIOND_MAX_QUEUES]);
	down_read(&agg->rwsem);
	m = fusiond_pick(agg);
	if (!m) {
		up_read(&agg->rwsem);
		fusiond_finish(agg, req, -EIO);
		return 0;
	}
	ret = fusiond_map_req(req, m->slice->dma_dev);
	if (ret) {
		up_read(&agg->rwsem);
		fusiond_finish(agg, req, ret);
		return 0;
	}
	qsel = req->agg_queue % m->slice->num_queues;
	req->member = m;
	req->member_queue = qsel;
	atomic_inc(&m->outstanding);
	atomic64_inc(&m->submitted);
	atomic64_inc(&m->q_submitted[qsel % FUSIOND_MAX_QUEUES]);
	/* Before submit: the request may complete (and be freed) at once. */
	trace_fusiond_submit(fusiond_agg_name(agg), m->slice->name, req);
	ret = m->slice->ops->submit(m->slice, qsel, req, defer_kick);
	if (ret) {
		fusiond_unmap_req(req);
		atomic_dec(&m->outstanding);
		up_read(&agg->rwsem);
		fusiond_finish(agg, req, ret);
		return 0;
	}
	up_read(&agg->rwsem);
	return 0;
}

/**
 * fusiond_submit() - send a request to a member of the aggregate
 * @agg: the aggregate
 * @req: a request whose segments are pinned guest pages
 *
 * Process context. The request completes exactly once through the
 * personality's complete callback, with req->status -EIO when no healthy
 * member is left.
 *
 * Return: 0 (the request is owned by the framework until it completes).
 */
int fusiond_submit(struct fusiond_agg *agg, struct fusiond_req *req)
{
	return __fusiond_submit(agg, req, false);
}
EXPORT_SYMBOL_GPL(fusiond_submit);

/**
 * fusiond_queue() - fusiond_submit() without telling the member yet
 * @agg: the aggregate
 * @req: a request whose segments are pinned guest pages
 *
 * For a batch of requests: the caller must call fusiond_kick() after the
 * last one (one doorbell per member queue instead of one per request).
 * Process context.
 *
 * Return: 0 (the request is owned by the framework until it completes).
 */
int fusiond_queue(struct fusiond_agg *agg, struct fusiond_req *req)
{
	return __fusiond_submit(agg, req, true);
}
EXPORT_SYMBOL_GPL(fusiond_queue);

/**
 * fusiond_kick() - tell the members about requests from fusiond_queue()
 * @agg: the aggregate
 *
 * Kicks every member still listed, failed ones included: a member being
 * drained for removal still has to carry what it was given.
 * Process context.
 */
void fusiond_kick(struct fusiond_agg *agg)
{
	struct fusiond_member *m;

	down_read(&agg->rwsem);
	list_for_each_entry(m, &agg->members, node)
		m->slice->ops->kick(m->slice);
	up_read(&agg->rwsem);
}
EXPORT_SYMBOL_GPL(fusiond_kick);

/**
 * fusiond_slice_complete() - the card finished a request
 * @slice: the card
 * @req: the request, req->used_len set
 *
 * Any context, including hard irq.
 */
void fusiond_slice_complete(struct fusiond_slice *slice,
			    struct fusiond_req *req)
{
	struct fusiond_member *m = req->member;
	struct fusiond_agg *agg = m->agg;
	s64 start;

	trace_fusiond_complete(fusiond_agg_name(agg), slice->name, req);
	fusiond_unmap_req(req);
	if (unlikely(atomic64_read(&agg->failover_start)) &&
	    !READ_ONCE(m->failed)) {
		start = atomic64_xchg(&agg->failover_start, 0);
		if (start)
			atomic64_set(&agg->failover_ns, ktime_get_ns() - start);
	}
	atomic64_inc(&m->completed);
	atomic64_add(req->used_len, &m->bytes);
	if (atomic_dec_and_test(&m->outstanding))
		wake_up(&agg->drain_wq);
	fusiond_finish(agg, req, 0);
}
EXPORT_SYMBOL_GPL(fusiond_slice_complete);

/*
 * Stop new I/O to @m, fence it and move what it held to survivors.
 * agg->lock held.
 */
static void fusiond_member_fail(struct fusiond_member *m)
{
	struct fusiond_agg *agg = m->agg;
	struct fusiond_req *req, *tmp;
	LIST_HEAD(held);
	size_t n;

	lockdep_assert_held(&agg->lock);
	if (!m->fenced)
		atomic64_set(&agg->failover_start, ktime_get_ns());
	down_write(&agg->rwsem);
	if (!m->failed) {
		WRITE_ONCE(m->failed, true);
		fusiond_elect(agg);
	}
	up_write(&agg->rwsem);
	if (m->fenced)
		return;

	/* No completion of @m runs after this; then, and only then, requeue. */
	m->slice->ops->fence(m->slice, &held);
	m->fenced = true;
	atomic_inc(&agg->failovers);
	n = list_count_nodes(&held);
	list_for_each_entry_safe(req, tmp, &held, node) {
		list_del(&req->node);
		fusiond_unmap_req(req);
		atomic_dec(&m->outstanding);
		atomic64_inc(&m->requeued);
		atomic64_inc(&agg->requeued);
		req->requeues++;
		fusiond_submit(agg, req);
	}
	trace_fusiond_member_failed(fusiond_agg_name(agg), m->slice->name, n,
				    agg->active ? agg->active->slice->name :
						  "none");
	if (agg->active)
		pr_info("%s: member %s failed, %zu requests requeued, %s now active\n",
			fusiond_agg_name(agg), m->slice->name, n,
			agg->active->slice->name);
	else
		pr_warn("%s: member %s failed, %zu requests requeued, no healthy member left\n",
			fusiond_agg_name(agg), m->slice->name, n);
}

/*
 * Take @m out of its aggregate and free it. A healthy member is drained
 * first (no new I/O, wait for what it holds); one that does not drain in
 * time is fenced like a failed one. agg->lock and the registry lock held.
 */
static void fusiond_member_detach(struct fusiond_member *m)
{
	struct fusiond_agg *agg = m->agg;

	lockdep_assert_held(&fusiond_registry_lock);
	down_write(&agg->rwsem);
	if (!m->failed) {
		m->failed = true;
		fusiond_elect(agg);
	}
	up_write(&agg->rwsem);
	if (!m->fenced &&
	    !wait_event_timeout(agg->drain_wq, !atomic_read(&m->outstanding),
				5 * HZ))
		fusiond_member_fail(m);

	down_write(&agg->rwsem);
	list_del(&m->node);
	if (agg->last_pick == m)
		WRITE_ONCE(agg->last_pick, NULL);
	agg->nr_members--;
	up_write(&agg->rwsem);
	m->slice->member = NULL;
	kfree(m);
}

/**
 * fusiond_slice_failed() - the card reported a fatal error (NEEDS_RESET)
 * @slice: the card
 *
 * Process context. The member is fenced and failed over; it stays listed
 * as failed until the administrator removes it.
 */
void fusiond_slice_failed(struct fusiond_slice *slice)
{
	struct fusiond_member *m;

	mutex_lock(&fusiond_registry_lock);
	m = slice->member;
	if (m) {
		mutex_lock(&m->agg->lock);
		fusiond_member_fail(m);
		mutex_unlock(&m->agg->lock);
	}
	mutex_unlock(&fusiond_registry_lock);
}
EXPORT_SYMBOL_GPL(fusiond_slice_failed);

/* ---- services to personalities ------------------------------------------- */

/**
 * fusiond_num_queues() - number of queues the aggregate presents
 * @agg: the aggregate
 *
 * Return: the count, fixed while the aggregate is enabled.
 */
unsigned int fusiond_num_queues(struct fusiond_agg *agg)
{
	return agg->num_queues;
}
EXPORT_SYMBOL_GPL(fusiond_num_queues);

/**
 * fusiond_agg_name() - the aggregate's name, for log messages
 * @agg: the aggregate
 *
 * Return: the configfs directory name, also while the directory is being
 * removed (configfs clears the item's name before its release callback).
 */
const char *fusiond_agg_name(struct fusiond_agg *agg)
{
	return agg->name;
}
EXPORT_SYMBOL_GPL(fusiond_agg_name);

/**
 * fusiond_member_features() - virtio features every member negotiated
 * @agg: the aggregate
 *
 * Return: the intersection over the members present when the aggregate
 * was enabled; members added later must offer at least these.
 */
u64 fusiond_member_features(struct fusiond_agg *agg)
{
	struct fusiond_member *m;
	u64 f = ~0ULL;

	down_read(&agg->rwsem);
	list_for_each_entry(m, &agg->members, node)
		f &= m->slice->features;
	up_read(&agg->rwsem);
	return f;
}
EXPORT_SYMBOL_GPL(fusiond_member_features);

/**
 * fusiond_max_descriptors() - descriptors one request may take on a member
 * @agg: the aggregate
 *
 * Called by the personality while the aggregate is being enabled, to size
 * what it lets the guest submit. Members added later must have queues at
 * least that large.
 *
 * Return: the smallest queue size over the members (at most
 * FUSIOND_MAX_SEGS).
 */
u16 fusiond_max_descriptors(struct fusiond_agg *agg)
{
	struct fusiond_member *m;
	u16 n = FUSIOND_MAX_SEGS;

	down_read(&agg->rwsem);
	list_for_each_entry(m, &agg->members, node)
		n = min(n, m->slice->queue_size);
	up_read(&agg->rwsem);
	agg->max_descs = n;
	return n;
}
EXPORT_SYMBOL_GPL(fusiond_max_descriptors);

/**
 * fusiond_member_config_read() - read a healthy member's device config
 * @agg: the aggregate
 * @offset: offset in the device-specific config
 * @buf: destination
 * @len: bytes
 *
 * Return: 0, or -ENODEV without a healthy member.
 */
int fusiond_member_config_read(struct fusiond_agg *agg, unsigned int offset,
			       void *buf, unsigned int len)
{
	struct fusiond_member *m;
	int ret = -ENODEV;

	down_read(&agg->rwsem);
	list_for_each_entry(m, &agg->members, node) {
		if (!m->failed) {
			m->slice->ops->config_read(m->slice, offset, buf, len);
			ret = 0;
			break;
		}
	}
	up_read(&agg->rwsem);
	return ret;
}
EXPORT_SYMBOL_GPL(fusiond_member_config_read);

/* ---- control plane operations (configfs.c) ------------------------------ */

struct fusiond_agg *fusiond_agg_alloc(const char *name)
{
	struct fusiond_agg *agg = kzalloc(sizeof(*agg), GFP_KERNEL);

	if (!agg)
		return NULL;
	strscpy(agg->name, name, sizeof(agg->name));
	mutex_init(&agg->lock);
	init_rwsem(&agg->rwsem);
	INIT_LIST_HEAD(&agg->members);
	init_waitqueue_head(&agg->drain_wq);
	agg->num_queues = 1;
	return agg;
}

/* Called when the configfs directory is removed. */
void fusiond_agg_free(struct fusiond_agg *agg)
{
	struct fusiond_member *m, *tmp;

	/*
	 * Disable without agg->lock: if the device is open, destroying it
	 * waits for the user's close (vfio_unregister_group_dev()), and the
	 * close waits for the requests the members hold, which a member
	 * failing meanwhile only gives back once it got agg->lock (and the
	 * registry lock before it) to fail over. The configfs item is gone
	 * and every attribute call has returned, so nothing else reads or
	 * changes agg->vdev now; the data path only uses it until the close.
	 */
	if (agg->vdev) {
		fusiond_vfio_destroy(agg, true);
		agg->pers->destroy(agg->ppriv);
		agg->ppriv = NULL;
	}
	mutex_lock(&fusiond_registry_lock);
	mutex_lock(&agg->lock);
	list_for_each_entry_safe(m, tmp, &agg->members, node)
		fusiond_member_detach(m);
	if (agg->pers)
		module_put(agg->pers->owner);
	mutex_unlock(&agg->lock);
	mutex_unlock(&fusiond_registry_lock);
	kfree(agg);
}

int fusiond_agg_set_type(struct fusiond_agg *agg, const char *type)
{
	struct fusiond_pers_entry *e;
	struct fusiond_personality *p = NULL;
	int ret = 0;

	mutex_lock(&fusiond_registry_lock);
	list_for_each_entry(e, &fusiond_personalities, node) {
		if (!strcmp(e->p->type, type) && try_module_get(e->p->owner)) {
			p = e->p;
			break;
		}
	}
	mutex_unlock(&fusiond_registry_lock);
	if (!p)
		return -EINVAL;

	mutex_lock(&agg->lock);
	if (agg->pers || agg->nr_members)
		ret = -EBUSY;
	else
		agg->pers = p;
	mutex_unlock(&agg->lock);
	if (ret)
		module_put(p->owner);
	return ret;
}

int fusiond_agg_set_mode(struct fusiond_agg *agg, const char *mode)
{
	enum fusiond_mode md;
	int ret = 0;

	if (!strcmp(mode, "aa"))
		md = FUSIOND_MODE_AA;
	else if (!strcmp(mode, "ap"))
		md = FUSIOND_MODE_AP;
	else
		return -EINVAL;
	mutex_lock(&agg->lock);
	if (agg->vdev) {
		ret = -EBUSY;
	} else {
		down_write(&agg->rwsem);
		agg->mode = md;
		fusiond_elect(agg);
		up_write(&agg->rwsem);
	}
	mutex_unlock(&agg->lock);
	return ret;
}

int fusiond_agg_set_queues(struct fusiond_agg *agg, unsigned int n)
{
	int ret = 0;

	if (!n || n > FUSIOND_MAX_QUEUES)
		return -EINVAL;
	mutex_lock(&agg->lock);
	if (agg->vdev)
		ret = -EBUSY;
	else
		agg->num_queues = n;
	mutex_unlock(&agg->lock);
	return ret;
}

/* Capacity (first 8 bytes of a virtio-blk config) of a slice. */
static u64 fusiond_slice_capacity(struct fusiond_slice *s)
{
	__le64 cap;

	s->ops->config_read(s, 0, &cap, sizeof(cap));
	return le64_to_cpu(cap);
}

int fusiond_agg_add_member(struct fusiond_agg *agg, const char *name)
{
	struct fusiond_member *m, *first;
	struct fusiond_slice *s;
	int ret = 0;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	mutex_lock(&fusiond_registry_lock);
	mutex_lock(&agg->lock);
	s = fusiond_find_slice(name);
	if (!s) {
		ret = -ENODEV;
		goto out_unlock;
	}
	if (s->member) {
		ret = -EBUSY;
		goto out_unlock;
	}
	if (!agg->pers || s->virtio_id != agg->pers->virtio_id) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (agg->nr_members >= FUSIOND_MAX_MEMBERS) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	/* Members are paths to one device: same size, same features. */
	first = list_first_entry_or_null(&agg->members, struct fusiond_member,
					 node);
	if (first && (fusiond_slice_capacity(first->slice) !=
		      fusiond_slice_capacity(s) ||
		      (agg->vdev && ((first->slice->features & ~s->features) ||
				     s->queue_size < agg->max_descs)))) {
		ret = -EINVAL;
		goto out_unlock;
	}
	m->agg = agg;
	m->slice = s;
	s->member = m;
	down_write(&agg->rwsem);
	list_add_tail(&m->node, &agg->members);
	agg->nr_members++;
	fusiond_elect(agg);
	up_write(&agg->rwsem);
	m = NULL;
out_unlock:
	mutex_unlock(&agg->lock);
	mutex_unlock(&fusiond_registry_lock);
	kfree(m);
	return ret;
}

int fusiond_agg_remove_member(struct fusiond_agg *agg, const char *name)
{
	struct fusiond_slice *s;
	int ret = 0;

	mutex_lock(&fusiond_registry_lock);
	mutex_lock(&agg->lock);
	s = fusiond_find_slice(name);
	if (!s)
		ret = -ENODEV;
	else if (!s->member || s->member->agg != agg)
		ret = -ENOENT;
	else
		fusiond_member_detach(s->member);
	mutex_unlock(&agg->lock);
	mutex_unlock(&fusiond_registry_lock);
	return ret;
}

int fusiond_agg_enable(struct fusiond_agg *agg)
{
	struct fusiond_member *m;
	bool healthy = false;
	void *priv;
	int ret;

	mutex_lock(&agg->lock);
	if (agg->vdev) {
		ret = -EBUSY;
		goto out_unlock;
	}
	if (!agg->pers) {
		ret = -EINVAL;
		goto out_unlock;
	}
	list_for_each_entry(m, &agg->members, node)
		healthy |= !m->failed;
	if (!healthy) {
		ret = -ENODEV;
		goto out_unlock;
	}
	priv = agg->pers->create(agg->pers, agg);
	if (IS_ERR(priv)) {
		ret = PTR_ERR(priv);
		goto out_unlock;
	}
	agg->ppriv = priv;
	ret = fusiond_vfio_create(agg);
	if (ret)
		goto err_destroy;
	mutex_unlock(&agg->lock);
	return 0;

err_destroy:
	agg->pers->destroy(priv);
	agg->ppriv = NULL;
out_unlock:
	mutex_unlock(&agg->lock);
	return ret;
}

int fusiond_agg_disable(struct fusiond_agg *agg, bool force)
{
	int ret = 0;

	mutex_lock(&agg->lock);
	if (!agg->vdev) {
		ret = force ? 0 : -EINVAL;
		goto out_unlock;
	}
	ret = fusiond_vfio_destroy(agg, force);
	if (ret)
		goto out_unlock;
	agg->pers->destroy(agg->ppriv);
	agg->ppriv = NULL;
out_unlock:
	mutex_unlock(&agg->lock);
	return ret;
}

static const char *fusiond_member_state(struct fusiond_agg *agg,
					struct fusiond_member *m)
{
	if (m->fenced)
		return "fenced";
	if (m->failed)
		return "failed";
	if (agg->mode == FUSIOND_MODE_AP && agg->active != m)
		return "standby";
	return "active";
}

ssize_t fusiond_agg_show(struct fusiond_agg *agg, char *buf)
{
	struct fusiond_member *m;
	ssize_t n = 0;

	mutex_lock(&agg->lock);
	n += sysfs_emit_at(buf, n, "aggregate %s type %s mode %s queues %u",
			   fusiond_agg_name(agg),
			   agg->pers ? agg->pers->type : "none",
			   fusiond_mode_name(agg->mode), agg->num_queues);
	n += sysfs_emit_at(buf, n, " enabled %d vfio_group %d failovers %d",
			   !!agg->vdev, agg->vdev ? fusiond_vfio_group_id(agg) : -1,
			   atomic_read(&agg->failovers));
	n += sysfs_emit_at(buf, n, " requeued %lld failed_reqs %lld failover_us %lld\n",
			   atomic64_read(&agg->requeued),
			   atomic64_read(&agg->failed_reqs),
			   div_s64(atomic64_read(&agg->failover_ns), NSEC_PER_USEC));
	if (agg->vdev)
		n += fusiond_pins_show(fusiond_vfio_pins(agg), buf, n);
	for (unsigned int q = 0; q < agg->num_queues; q++)
		n += sysfs_emit_at(buf, n, "queue %u submitted %lld completed %lld\n",
				   q, atomic64_read(&agg->q_submitted[q]),
				   atomic64_read(&agg->q_completed[q]));
	down_read(&agg->rwsem);
	list_for_each_entry(m, &agg->members, node) {
		n += sysfs_emit_at(buf, n, "member %s state %s queues %u",
				   m->slice->name, fusiond_member_state(agg, m),
				   m->slice->num_queues);
		n += sysfs_emit_at(buf, n, " outstanding %d submitted %lld",
				   atomic_read(&m->outstanding),
				   atomic64_read(&m->submitted));
		n += sysfs_emit_at(buf, n, " completed %lld requeued %lld bytes %lld\n",
				   atomic64_read(&m->completed),
				   atomic64_read(&m->requeued),
				   atomic64_read(&m->bytes));
		for (unsigned int q = 0; q < m->slice->num_queues &&
		     q < FUSIOND_MAX_QUEUES; q++)
			n += sysfs_emit_at(buf, n, "member-queue %s %u submitted %lld\n",
					   m->slice->name, q,
					   atomic64_read(&m->q_submitted[q]));
	}
	up_read(&agg->rwsem);
	mutex_unlock(&agg->lock);
	return n;
}

ssize_t fusiond_agg_show_members(struct fusiond_agg *agg, char *buf)
{
	struct fusiond_member *m;
	ssize_t n = 0;

	down_read(&agg->rwsem);
	list_for_each_entry(m, &agg->members, node)
		n += sysfs_emit_at(buf, n, "%s %s\n", m->slice->name,
				   fusiond_member_state(agg, m));
	up_read(&agg->rwsem);
	return n;
}

static int __init fusiond_init(void)
{
	int ret;

	ret = fusiond_vfio_init();
	if (ret)
		return ret;
	ret = fusiond_configfs_init();
	if (ret)
		goto err_vfio_exit;
	return 0;

err_vfio_exit:
	fusiond_vfio_exit();
	return ret;
}

static void __exit fusiond_exit(void)
{
	fusiond_configfs_exit();
	fusiond_vfio_exit();
}

module_init(fusiond_init);
module_exit(fusiond_exit);
MODULE_DESCRIPTION("FusionD: aggregate virtio functions into one VFIO device");
MODULE_LICENSE("GPL");

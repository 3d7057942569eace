// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_migrate: the device state blob of include/uapi/linux/vdpa_migrate.h.
 *
 * Saving composes the records every device has from the vdpa_config_ops
 * and from what this driver set up itself (ring addresses and sizes, group
 * address spaces), and asks the parent's vdpa_migrate_ops for what only it
 * knows: queue positions with in-flight requests and device-type records.
 *
 * Loading copies the blob in, checks all of it (framing, every common
 * record against this device, and the parent's records in a dry run)
 * before it touches the device, then applies it to the freshly reset
 * device of the RESUMING state.  If the parent still refuses something
 * while it is applied, the device is reset again: either way a failed load
 * leaves the device as it was.
 */
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/virtio_config.h>

#include "vdpa_mig.h"

/* Largest blob VDPA_MIG_SET_DEVICE_STATE accepts. */
#define VDPA_MIG_BLOB_MAX	(16U << 20)

/*
 * Status bits a saved device may have: a device that failed or needs a
 * reset has no state worth carrying over.
 */
#define VDPA_MIG_STATUS_SAVED	(VIRTIO_CONFIG_S_ACKNOWLEDGE | \
				 VIRTIO_CONFIG_S_DRIVER | \
				 VIRTIO_CONFIG_S_FEATURES_OK | \
				 VIRTIO_CONFIG_S_DRIVER_OK)

/**
 * struct vdpa_mig_writer - a blob being written
 * @buf: the blob, zeroed when allocated (padding stays zero)
 * @size: bytes at @buf
 * @len: bytes written so far
 * @nr: records written so far
 */
struct vdpa_mig_writer {
	u8 *buf;
	size_t size;
	size_t len;
	u32 nr;
};

static size_t vdpa_mig_rec_size(size_t len)
{
	return sizeof(struct vdpa_mig_rec_hdr) + ALIGN(len, 8);
}

/* Append a record header; returns where its @len payload bytes go. */
static void *vdpa_mig_reserve(struct vdpa_mig_writer *w, u32 type, u32 flags,
			      u32 len)
{
	struct vdpa_mig_rec_hdr *h;

	if (vdpa_mig_rec_size(len) > w->size - w->len)
		return NULL;
	h = (struct vdpa_mig_rec_hdr *)(w->buf + w->len);
	h->type = cpu_to_le32(type);
	h->flags = cpu_to_le32(flags);
	h->len = cpu_to_le32(len);
	w->len += vdpa_mig_rec_size(len);
	w->nr++;
	return h + 1;
}

int vdpa_mig_put_record(struct vdpa_mig_writer *w, u32 type, u32 flags,
			const void *data, u32 len)
{
	void *p = vdpa_mig_reserve(w, type, flags, len);

	if (!p)
		return -ENOSPC;
	memcpy(p, data, len);
	return 0;
}
EXPORT_SYMBOL_GPL(vdpa_mig_put_record);

static bool vdpa_mig_packed(struct vdpa_mig *m)
{
	return m->vdpa->config->get_driver_features(m->vdpa) &
	       BIT_ULL(VIRTIO_F_RING_PACKED);
}

static u32 vdpa_mig_num_max(struct vdpa_mig *m)
{
	return m->vdpa->config->get_vq_num_max(m->vdpa);
}

static u32 vdpa_mig_config_size(struct vdpa_mig *m)
{
	return m->vdpa->config->get_config_size(m->vdpa);
}

static u32 vdpa_mig_vq_group(struct vdpa_mig *m, u16 idx)
{
	const struct vdpa_config_ops *ops = m->vdpa->config;

	return ops->get_vq_group ? ops->get_vq_group(m->vdpa, idx) : 0;
}

size_t vdpa_mig_state_size(struct vdpa_mig *m)
{
	const struct vdpa_migrate_ops *mo = m->mig_ops;
	size_t size, inflight;

	size = sizeof(struct vdpa_mig_blob_hdr) +
	       vdpa_mig_rec_size(sizeof(struct vdpa_mig_rec_features)) +
	       vdpa_mig_rec_size(sizeof(struct vdpa_mig_rec_status)) +
	       vdpa_mig_rec_size(sizeof(struct vdpa_mig_rec_config) +
				 vdpa_mig_config_size(m)) +
	       m->nvqs * vdpa_mig_rec_size(sizeof(struct vdpa_mig_rec_vq));
	if (mo && mo->get_vq_mig_state) {
		inflight = struct_size((struct vdpa_mig_rec_vq_inflight *)NULL,
				       req, vdpa_mig_num_max(m));
		size += m->nvqs * vdpa_mig_rec_size(inflight);
	}
	if (mo && mo->save_type_state)
		size += mo->type_state_size(m->vdpa);
	return size;
}

/* ---- saving ------------------------------------------------------------- */

static int vdpa_mig_save_common(struct vdpa_mig *m, struct vdpa_mig_writer *w)
{
	const struct vdpa_config_ops *ops = m->vdpa->config;
	struct vdpa_mig_rec_features f = {};
	struct vdpa_mig_rec_status s = {};
	struct vdpa_mig_rec_config *c;
	u32 cfg_size = vdpa_mig_config_size(m);
	u32 i;
	int ret;

	f.device = cpu_to_le64(ops->get_device_features(m->vdpa));
	f.driver = cpu_to_le64(ops->get_driver_features(m->vdpa));
	f.backend = cpu_to_le64(m->vqs[0].acked_backend_features);
	ret = vdpa_mig_put_record(w, VDPA_MIG_REC_FEATURES,
				  VDPA_MIG_REC_F_MANDATORY, &f, sizeof(f));
	if (ret)
		return ret;

	s.status = cpu_to_le32(ops->get_status(m->vdpa));
	s.generation = cpu_to_le32(ops->get_generation ?
				   ops->get_generation(m->vdpa) : 0);
	s.nr_groups = cpu_to_le32(m->vdpa->ngroups);
	s.nr_as = cpu_to_le32(m->vdpa->nas);
	for (i = 0; i < m->vdpa->ngroups; i++)
		s.group_asid[i] = cpu_to_le32(m->group_asid[i]);
	ret = vdpa_mig_put_record(w, VDPA_MIG_REC_STATUS,
				  VDPA_MIG_REC_F_MANDATORY, &s, sizeof(s));
	if (ret)
		return ret;

	c = vdpa_mig_reserve(w, VDPA_MIG_REC_CONFIG, VDPA_MIG_REC_F_MANDATORY,
			     sizeof(*c) + cfg_size);
	if (!c)
		return -ENOSPC;
	c->size = cpu_to_le32(cfg_size);
	vdpa_get_config(m->vdpa, 0, c->data, cfg_size);
	return 0;
}

/* Where queue @idx stands: from the parent, or from the basic vq state. */
static int vdpa_mig_read_vq(struct vdpa_mig *m, u16 idx,
			    struct vdpa_mig_vq_state *st)
{
	const struct vdpa_migrate_ops *mo = m->mig_ops;
	struct vdpa_vq_state vs = {};
	int ret;

	st->n_inflight = 0;
	if (mo && mo->get_vq_mig_state) {
		ret = mo->get_vq_mig_state(m->vdpa, idx, st);
		if (ret)
			return ret;
		return st->n_inflight > st->max_inflight ? -EIO : 0;
	}

	/*
	 * A suspended device without in-flight tracking has completed what
	 * it took: the used index caught up with the available one.
	 */
	ret = m->vdpa->config->get_vq_state(m->vdpa, idx, &vs);
	if (ret)
		return ret;
	if (vdpa_mig_packed(m)) {
		st->avail_idx = vs.packed.last_avail_idx;
		st->avail_wrap = vs.packed.last_avail_counter;
		st->used_idx = vs.packed.last_used_idx;
		st->used_wrap = vs.packed.last_used_counter;
	} else {
		st->avail_idx = vs.split.avail_index;
		st->used_idx = vs.split.avail_index;
	}
	return 0;
}

static int vdpa_mig_save_vq(struct vdpa_mig *m, struct vdpa_mig_writer *w,
			    u16 idx, struct vdpa_mig_vq_state *st)
{
	const struct vdpa_config_ops *ops = m->vdpa->config;
	struct vhost_virtqueue *vq = &m->vqs[idx];
	struct vdpa_mig_rec_vq_inflight *in;
	struct vdpa_mig_rec_vq r = {};
	u32 flags = 0;
	int ret;

	ret = vdpa_mig_read_vq(m, idx, st);
	if (ret)
		return ret;
	if (ops->get_vq_ready(m->vdpa, idx))
		flags |= VDPA_MIG_VQ_F_READY;
	if (vdpa_mig_packed(m))
		flags |= VDPA_MIG_VQ_F_PACKED;

	r.index = cpu_to_le32(idx);
	r.flags = cpu_to_le32(flags);
	r.num = cpu_to_le32(vq->num);
	r.group = cpu_to_le32(vdpa_mig_vq_group(m, idx));
	/* The "user addresses" of vhost-vdpa are IOVAs. */
	r.desc = cpu_to_le64((u64)(uintptr_t)vq->desc);
	r.driver = cpu_to_le64((u64)(uintptr_t)vq->avail);
	r.device = cpu_to_le64((u64)(uintptr_t)vq->used);
	r.avail_idx = cpu_to_le32(st->avail_idx);
	r.used_idx = cpu_to_le32(st->used_idx);
	r.avail_wrap = cpu_to_le32(st->avail_wrap);
	r.used_wrap = cpu_to_le32(st->used_wrap);
	ret = vdpa_mig_put_record(w, VDPA_MIG_REC_VQ, VDPA_MIG_REC_F_MANDATORY,
				  &r, sizeof(r));
	if (ret || !st->n_inflight)
		return ret;

	in = vdpa_mig_reserve(w, VDPA_MIG_REC_VQ_INFLIGHT,
			      VDPA_MIG_REC_F_MANDATORY,
			      struct_size(in, req, st->n_inflight));
	if (!in)
		return -ENOSPC;
	in->index = cpu_to_le32(idx);
	in->count = cpu_to_le32(st->n_inflight);
	memcpy(in->req, st->inflight, st->n_inflight * sizeof(in->req[0]));
	return 0;
}

static int vdpa_mig_save(struct vdpa_mig *m, struct vdpa_mig_writer *w)
{
	const struct vdpa_migrate_ops *mo = m->mig_ops;
	struct vdpa_mig_vq_state st = {};
	struct vdpa_mig_blob_hdr *h;
	u32 i;
	int ret;

	h = (struct vdpa_mig_blob_hdr *)w->buf;
	w->len = sizeof(*h);

	ret = vdpa_mig_save_common(m, w);
	if (ret)
		return ret;

	st.max_inflight = vdpa_mig_num_max(m);
	if (mo && mo->get_vq_mig_state) {
		st.inflight = kvcalloc(st.max_inflight, sizeof(*st.inflight),
				       GFP_KERNEL);
		if (!st.inflight)
			return -ENOMEM;
	}
	for (i = 0; i < m->nvqs && !ret; i++)
		ret = vdpa_mig_save_vq(m, w, i, &st);
	kvfree(st.inflight);
	if (ret)
		return ret;

	if (mo && mo->save_type_state) {
		ret = mo->save_type_state(m->vdpa, w);
		if (ret)
			return ret;
	}

	h->magic = cpu_to_le32(VDPA_MIG_MAGIC);
	h->major = cpu_to_le32(VDPA_MIG_FORMAT_MAJOR);
	h->minor = cpu_to_le32(VDPA_MIG_FORMAT_MINOR);
	h->device_id = cpu_to_le32(m->vdpa->config->get_device_id(m->vdpa));
	h->nr_vqs = cpu_to_le32(m->nvqs);
	h->nr_records = cpu_to_le32(w->nr);
	h->total_len = cpu_to_le64(w->len);
	return 0;
}

/* Copy in an argument of the migration ioctls: argsz, then flags == 0. */
int vdpa_mig_get_arg(void *dst, size_t minsz, const void __user *argp)
{
	u32 argsz, flags;

	if (get_user(argsz, (const u32 __user *)argp))
		return -EFAULT;
	if (argsz < minsz)
		return -EINVAL;
	if (copy_from_user(dst, argp, minsz))
		return -EFAULT;
	memcpy(&flags, (u8 *)dst + sizeof(u32), sizeof(flags));
	return flags ? -EINVAL : 0;
}

static int vdpa_mig_get_buf_arg(struct vdpa_mig_state_buf *b,
				struct vdpa_mig_state_buf __user *argp)
{
	int ret = vdpa_mig_get_arg(b, sizeof(*b), argp);

	return ret ? ret : b->reserved ? -EINVAL : 0;
}

long vdpa_mig_get_device_state(struct vdpa_mig *m,
			       struct vdpa_mig_state_buf __user *argp)
{
	struct vdpa_mig_writer w = {};
	struct vdpa_mig_state_buf b;
	long ret;

	ret = vdpa_mig_get_buf_arg(&b, argp);
	if (ret)
		return ret;
	if (m->mig_state != VDPA_MIG_STATE_SAVING)
		return -EBUSY;
	if (m->vdpa->ngroups > VDPA_MIG_MAX_GROUPS)
		return -EOPNOTSUPP;

	w.size = vdpa_mig_state_size(m);
	w.buf = kvzalloc(w.size, GFP_KERNEL);
	if (!w.buf)
		return -ENOMEM;
	ret = vdpa_mig_save(m, &w);
	if (ret)
		goto out_free;

	if (b.size < w.len) {
		ret = -ENOSPC;
	} else if (copy_to_user(u64_to_user_ptr(b.data), w.buf, w.len)) {
		ret = -EFAULT;
		goto out_free;
	}
	b.size = w.len;
	if (put_user(b.size, &argp->size))
		ret = -EFAULT;
out_free:
	kvfree(w.buf);
	return ret;
}

/* ---- loading ------------------------------------------------------------ */

/**
 * struct vdpa_mig_load - a blob being loaded, after validation
 * @blob: the blob (kernel copy)
 * @len: its size
 * @features: the FEATURES record
 * @status: the STATUS record
 * @config: the CONFIG record
 * @vq: the VQ record of each queue
 * @inflight: the VQ_INFLIGHT record of each queue, or NULL
 * @group_asid: address space of each of our groups, from the source's
 *	queues (vdpa_mig_map_groups())
 * @parent_recs: the parent accepted at least one device-type record
 */
struct vdpa_mig_load {
	const u8 *blob;
	size_t len;
	const struct vdpa_mig_rec_features *features;
	const struct vdpa_mig_rec_status *status;
	const struct vdpa_mig_rec_config *config;
	const struct vdpa_mig_rec_vq **vq;
	const struct vdpa_mig_rec_vq_inflight **inflight;
	u32 group_asid[VDPA_MIG_MAX_GROUPS];
	bool parent_recs;
};

/* Step over one record at *@off; fails on anything that is not framing. */
static int vdpa_mig_next(const struct vdpa_mig_load *ld, size_t *off,
			 const struct vdpa_mig_rec_hdr **hp)
{
	const struct vdpa_mig_rec_hdr *h;
	size_t left = ld->len - *off;
	u32 len;

	if (left < sizeof(*h))
		return -EINVAL;
	h = (const struct vdpa_mig_rec_hdr *)(ld->blob + *off);
	len = le32_to_cpu(h->len);
	if (h->reserved || vdpa_mig_rec_size(len) > left)
		return -EINVAL;
	*off += vdpa_mig_rec_size(len);
	*hp = h;
	return 0;
}

static int vdpa_mig_check_features(struct vdpa_mig *m,
				   const struct vdpa_mig_rec_features *f)
{
	u64 driver = le64_to_cpu(f->driver);

	if (driver & ~m->vdpa->config->get_device_features(m->vdpa))
		return -EINVAL;
	return 0;
}

static int vdpa_mig_check_status(struct vdpa_mig *m,
				 const struct vdpa_mig_rec_status *s)
{
	u32 status = le32_to_cpu(s->status);
	u32 i;

	u32 ngroups = le32_to_cpu(s->nr_groups), nas = le32_to_cpu(s->nr_as);

	if (m->vdpa->ngroups > ARRAY_SIZE(s->group_asid))
		return -EOPNOTSUPP;
	if (status & ~VDPA_MIG_STATUS_SAVED)
		return -EINVAL;
	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(status & VIRTIO_CONFIG_S_FEATURES_OK))
		return -EINVAL;
	/*
	 * The source's grouping need not be ours (another parent of the
	 * type may group its queues differently): it must only be a valid
	 * one.  vdpa_mig_map_groups() checks that ours can express it.
	 */
	if (!ngroups || ngroups > ARRAY_SIZE(s->group_asid) || !nas)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(s->group_asid); i++) {
		u32 asid = le32_to_cpu(s->group_asid[i]);

		if (i >= ngroups ? asid : asid >= nas)
			return -EINVAL;
	}
	return 0;
}

static int vdpa_mig_check_vq(struct vdpa_mig *m, struct vdpa_mig_load *ld,
			     const struct vdpa_mig_rec_vq *r, u64 features)
{
	bool packed = features & BIT_ULL(VIRTIO_F_RING_PACKED);
	u32 idx = le32_to_cpu(r->index), flags = le32_to_cpu(r->flags);
	u32 num = le32_to_cpu(r->num);
	u32 avail = le32_to_cpu(r->avail_idx), used = le32_to_cpu(r->used_idx);
	u32 limit = packed ? 0x8000 : 0x10000;

	if (idx >= m->nvqs || ld->vq[idx])
		return -EINVAL;
	if (flags & ~(VDPA_MIG_VQ_F_READY | VDPA_MIG_VQ_F_PACKED) ||
	    !(flags & VDPA_MIG_VQ_F_PACKED) != !packed)
		return -EINVAL;
	if (num > vdpa_mig_num_max(m) || (num & (num - 1)) ||
	    ((flags & VDPA_MIG_VQ_F_READY) && !num))
		return -EINVAL;
	if (le32_to_cpu(r->group) >= VDPA_MIG_MAX_GROUPS)
		return -EINVAL;
	if (avail >= limit || used >= limit || le32_to_cpu(r->avail_wrap) > 1 ||
	    le32_to_cpu(r->used_wrap) > 1)
		return -EINVAL;
	/* A split ring cannot have more outstanding than its size. */
	if (!packed && (u16)(avail - used) > num)
		return -EINVAL;
	ld->vq[idx] = r;
	return 0;
}

static int vdpa_mig_check_inflight(struct vdpa_mig *m,
				   struct vdpa_mig_load *ld,
				   const struct vdpa_mig_rec_vq_inflight *in,
				   u32 len)
{
	u32 idx = le32_to_cpu(in->index), count = le32_to_cpu(in->count);
	const struct vdpa_mig_rec_vq *r;
	u32 i, num, avail;

	if (idx >= m->nvqs || !ld->vq[idx] || ld->inflight[idx])
		return -EINVAL;
	r = ld->vq[idx];
	num = le32_to_cpu(r->num);
	avail = le32_to_cpu(r->avail_idx);
	if (!count || count > num || len < struct_size(in, req, count))
		return -EINVAL;
	for (i = 0; i < count; i++) {
		u32 head = le32_to_cpu(in->req[i].head);
		u32 pos = le32_to_cpu(in->req[i].avail_pos);

		if (head >= num)
			return -EINVAL;
		/* packed: a descriptor of the ring (the parent checks more) */
		if (le32_to_cpu(r->flags) & VDPA_MIG_VQ_F_PACKED) {
			if (pos >= num)
				return -EINVAL;
			continue;
		}
		/* split: taken before the device's next available index */
		if (pos > 0xffff ||
		    (u16)(avail - pos) == 0 || (u16)(avail - pos) > num)
			return -EINVAL;
	}
	ld->inflight[idx] = in;
	return 0;
}

/* A record outside the common ones: the parent's, or unknown. */
static int vdpa_mig_check_other(struct vdpa_mig *m,
				const struct vdpa_mig_rec_hdr *h,
				struct vdpa_mig_load *ld)
{
	const struct vdpa_migrate_ops *mo = m->mig_ops;
	u32 type = le32_to_cpu(h->type);
	bool mandatory = le32_to_cpu(h->flags) & VDPA_MIG_REC_F_MANDATORY;
	int ret = -EOPNOTSUPP;

	if (type >= VDPA_MIG_REC_NET && type < VDPA_MIG_REC_VENDOR_FIRST &&
	    mo && mo->load_type_record)
		ret = mo->load_type_record(m->vdpa, type, h + 1,
					   le32_to_cpu(h->len), false);
	if (!ret)
		ld->parent_recs = true;
	if (ret == -EOPNOTSUPP && !mandatory)
		ret = 0;
	return ret;
}

static int vdpa_mig_check_rec(struct vdpa_mig *m, struct vdpa_mig_load *ld,
			      const struct vdpa_mig_rec_hdr *h)
{
	const void *p = h + 1;
	u32 len = le32_to_cpu(h->len);
	u32 flags = le32_to_cpu(h->flags);

	if (flags & ~VDPA_MIG_REC_F_MANDATORY)
		return -EINVAL;

	switch (le32_to_cpu(h->type)) {
	case VDPA_MIG_REC_FEATURES:
		if (ld->features || len < sizeof(*ld->features))
			return -EINVAL;
		ld->features = p;
		return vdpa_mig_check_features(m, p);
	case VDPA_MIG_REC_STATUS:
		if (ld->status || len < sizeof(*ld->status))
			return -EINVAL;
		ld->status = p;
		return vdpa_mig_check_status(m, p);
	case VDPA_MIG_REC_CONFIG:
		if (ld->config || len < sizeof(*ld->config))
			return -EINVAL;
		ld->config = p;
		if (le32_to_cpu(ld->config->size) != len - sizeof(*ld->config) ||
		    le32_to_cpu(ld->config->size) !=
		    vdpa_mig_config_size(m) || ld->config->reserved)
			return -EINVAL;
		return 0;
	case VDPA_MIG_REC_VQ:
		/* Queues only make sense once the features are known. */
		if (!ld->features || len < sizeof(struct vdpa_mig_rec_vq))
			return -EINVAL;
		return vdpa_mig_check_vq(m, ld, p,
					 le64_to_cpu(ld->features->driver));
	case VDPA_MIG_REC_VQ_INFLIGHT:
		if (len < sizeof(struct vdpa_mig_rec_vq_inflight))
			return -EINVAL;
		return vdpa_mig_check_inflight(m, ld, p, len);
	default:
		return vdpa_mig_check_other(m, h, ld);
	}
}

/*
 * What matters of the source's virtqueue groups is the address space each
 * queue used: ours must put every queue in the same one, which works when
 * each of our groups holds queues of one source address space only (a
 * device with the control queue in a group of its own takes the state of
 * one with a single group).  The result, per group of ours, is what
 * vdpa_mig_apply() sets.
 */
static int vdpa_mig_map_groups(struct vdpa_mig *m, struct vdpa_mig_load *ld)
{
	const struct vdpa_mig_rec_status *s = ld->status;
	u32 src_groups = le32_to_cpu(s->nr_groups);
	bool seen[VDPA_MIG_MAX_GROUPS] = {};
	u32 i;

	memset(ld->group_asid, 0, sizeof(ld->group_asid));
	for (i = 0; i < m->nvqs; i++) {
		u32 src = le32_to_cpu(ld->vq[i]->group);
		u32 g = vdpa_mig_vq_group(m, i), asid;

		if (src >= src_groups)
			return -EINVAL;
		if (g >= VDPA_MIG_MAX_GROUPS)
			return -EOPNOTSUPP;
		asid = le32_to_cpu(s->group_asid[src]);
		if (seen[g] && ld->group_asid[g] != asid)
			return -EOPNOTSUPP;
		seen[g] = true;
		ld->group_asid[g] = asid;
	}
	for (i = 0; i < m->vdpa->ngroups; i++) {
		if (ld->group_asid[i] >= m->vdpa->nas)
			return -EOPNOTSUPP;
		if (ld->group_asid[i] && !m->vdpa->config->set_group_asid)
			return -EOPNOTSUPP;
	}
	return 0;
}

static int vdpa_mig_check_blob(struct vdpa_mig *m, struct vdpa_mig_load *ld)
{
	const struct vdpa_mig_blob_hdr *bh = (const void *)ld->blob;
	const struct vdpa_mig_rec_hdr *h;
	size_t off = sizeof(*bh);
	u32 i, nr;
	int ret;

	if (ld->len < sizeof(*bh) || le32_to_cpu(bh->magic) != VDPA_MIG_MAGIC)
		return -EINVAL;
	if (le32_to_cpu(bh->major) != VDPA_MIG_FORMAT_MAJOR)
		return -EPROTONOSUPPORT;
	if (le64_to_cpu(bh->total_len) != ld->len || bh->reserved ||
	    le32_to_cpu(bh->device_id) !=
	    m->vdpa->config->get_device_id(m->vdpa) ||
	    le32_to_cpu(bh->nr_vqs) != m->nvqs)
		return -EINVAL;

	nr = le32_to_cpu(bh->nr_records);
	for (i = 0; i < nr; i++) {
		ret = vdpa_mig_next(ld, &off, &h);
		if (ret)
			return ret;
		ret = vdpa_mig_check_rec(m, ld, h);
		if (ret)
			return ret;
	}
	if (off != ld->len || !ld->features || !ld->status || !ld->config)
		return -EINVAL;

	for (i = 0; i < m->nvqs; i++) {
		const struct vdpa_mig_rec_vq *r = ld->vq[i];

		if (!r)
			return -EINVAL;
		/* Without the parent's help only a drained queue loads. */
		if ((!m->mig_ops || !m->mig_ops->set_vq_mig_state) &&
		    (ld->inflight[i] || r->avail_idx != r->used_idx))
			return -EOPNOTSUPP;
	}
	return vdpa_mig_map_groups(m, ld);
}

/* ---- applying ------------------------------------------------------------ */

static int vdpa_mig_apply_vq(struct vdpa_mig *m, const struct vdpa_mig_load *ld,
			     u16 idx, struct vdpa_mig_vq_state *st)
{
	const struct vdpa_config_ops *ops = m->vdpa->config;
	const struct vdpa_mig_rec_vq_inflight *in = ld->inflight[idx];
	const struct vdpa_mig_rec_vq *r = ld->vq[idx];
	struct vhost_virtqueue *vq = &m->vqs[idx];
	u32 num = le32_to_cpu(r->num);
	u64 desc = le64_to_cpu(r->desc), driver = le64_to_cpu(r->driver);
	u64 device = le64_to_cpu(r->device);
	struct vdpa_vq_state vs = {};
	int ret;

	if (num)
		ops->set_vq_num(m->vdpa, idx, num);
	if (ops->set_vq_address(m->vdpa, idx, desc, driver, device))
		return -EINVAL;

	st->avail_idx = le32_to_cpu(r->avail_idx);
	st->used_idx = le32_to_cpu(r->used_idx);
	st->avail_wrap = le32_to_cpu(r->avail_wrap);
	st->used_wrap = le32_to_cpu(r->used_wrap);
	st->n_inflight = in ? le32_to_cpu(in->count) : 0;
	st->max_inflight = st->n_inflight;
	/* Our own copy of the blob: the parent only reads it. */
	st->inflight = in ? (struct vdpa_mig_inflight *)in->req : NULL;
	if (m->mig_ops && m->mig_ops->set_vq_mig_state) {
		ret = m->mig_ops->set_vq_mig_state(m->vdpa, idx, st);
	} else if (le32_to_cpu(r->flags) & VDPA_MIG_VQ_F_PACKED) {
		vs.packed.last_avail_idx = st->avail_idx;
		vs.packed.last_avail_counter = st->avail_wrap;
		vs.packed.last_used_idx = st->used_idx;
		vs.packed.last_used_counter = st->used_wrap;
		ret = ops->set_vq_state(m->vdpa, idx, &vs);
	} else {
		vs.split.avail_index = st->avail_idx;
		ret = ops->set_vq_state(m->vdpa, idx, &vs);
	}
	if (ret)
		return ret;
	ops->set_vq_ready(m->vdpa, idx,
			  !!(le32_to_cpu(r->flags) & VDPA_MIG_VQ_F_READY));

	/* Keep the vhost core's copy in step, as the vring ioctls would. */
	mutex_lock(&vq->mutex);
	vq->num = num;
	vq->desc = (void __user *)(uintptr_t)desc;
	vq->avail = (void __user *)(uintptr_t)driver;
	vq->used = (void __user *)(uintptr_t)device;
	vq->last_avail_idx = st->avail_idx | (st->avail_wrap << 15);
	vq->last_used_idx = st->used_idx | (st->used_wrap << 15);
	mutex_unlock(&vq->mutex);
	return 0;
}

static int vdpa_mig_apply_parent(struct vdpa_mig *m,
				 const struct vdpa_mig_load *ld)
{
	const struct vdpa_mig_rec_hdr *h;
	size_t off = sizeof(struct vdpa_mig_blob_hdr);
	int ret;

	while (off < ld->len) {
		if (vdpa_mig_next(ld, &off, &h))
			return -EINVAL;
		if (le32_to_cpu(h->type) < VDPA_MIG_REC_NET ||
		    le32_to_cpu(h->type) >= VDPA_MIG_REC_VENDOR_FIRST)
			continue;
		ret = m->mig_ops->load_type_record(m->vdpa,
						   le32_to_cpu(h->type), h + 1,
						   le32_to_cpu(h->len), true);
		/*
		 * Skipped in the dry run: optional and unknown.  A mandatory
		 * record the parent refuses only now (it may need the
		 * features set first) fails the load.
		 */
		if (ret == -EOPNOTSUPP &&
		    !(le32_to_cpu(h->flags) & VDPA_MIG_REC_F_MANDATORY))
			continue;
		if (ret)
			return ret;
	}
	return 0;
}

static int vdpa_mig_apply(struct vdpa_mig *m, const struct vdpa_mig_load *ld)
{
	const struct vdpa_config_ops *ops = m->vdpa->config;
	const struct vdpa_mig_rec_status *s = ld->status;
	struct vdpa_mig_vq_state st = {};
	u32 status = le32_to_cpu(s->status);
	u32 i;
	int ret;

	if (status & VIRTIO_CONFIG_S_FEATURES_OK) {
		if (vdpa_set_features(m->vdpa, le64_to_cpu(ld->features->driver)))
			return -EINVAL;
	}
	vdpa_set_status(m->vdpa, status & ~VIRTIO_CONFIG_S_DRIVER_OK);
	if ((status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(ops->get_status(m->vdpa) & VIRTIO_CONFIG_S_FEATURES_OK))
		return -EINVAL;

	vdpa_mig_sync_features(m);

	for (i = 0; i < m->vdpa->ngroups; i++) {
		u32 asid = ld->group_asid[i];

		if (ops->set_group_asid) {
			ret = ops->set_group_asid(m->vdpa, i, asid);
			if (ret)
				return ret;
		}
		m->group_asid[i] = asid;
	}

	vdpa_set_config(m->vdpa, 0, ld->config->data,
			le32_to_cpu(ld->config->size));

	for (i = 0; i < m->nvqs; i++) {
		ret = vdpa_mig_apply_vq(m, ld, i, &st);
		if (ret)
			return ret;
	}

	if (ld->parent_recs) {
		ret = vdpa_mig_apply_parent(m, ld);
		if (ret)
			return ret;
	}
	/* A reset since the user set the eventfds made the parent forget. */
	vdpa_mig_attach_callbacks(m);
	m->load_status = status;
	return 0;
}

long vdpa_mig_set_device_state(struct vdpa_mig *m,
			       struct vdpa_mig_state_buf __user *argp)
{
	struct vdpa_mig_load ld = {};
	struct vdpa_mig_state_buf b;
	u8 *blob;
	long ret;

	ret = vdpa_mig_get_buf_arg(&b, argp);
	if (ret)
		return ret;
	if (m->mig_state != VDPA_MIG_STATE_RESUMING || m->loaded)
		return -EBUSY;
	if (b.size > VDPA_MIG_BLOB_MAX)
		return -E2BIG;

	blob = vmemdup_user(u64_to_user_ptr(b.data), b.size);
	if (IS_ERR(blob))
		return PTR_ERR(blob);
	ld.blob = blob;
	ld.len = b.size;
	ld.vq = kcalloc(m->nvqs, sizeof(*ld.vq), GFP_KERNEL);
	ld.inflight = kcalloc(m->nvqs, sizeof(*ld.inflight), GFP_KERNEL);
	if (!ld.vq || !ld.inflight) {
		ret = -ENOMEM;
		goto out_free;
	}

	ret = vdpa_mig_check_blob(m, &ld);
	if (ret)
		goto out_free;
	ret = vdpa_mig_apply(m, &ld);
	if (ret) {
		/* Back to the fresh device RESUMING started from. */
		vdpa_mig_reset(m);
		vdpa_mig_attach_callbacks(m);
		m->mig_state = VDPA_MIG_STATE_RESUMING;
		goto out_free;
	}
	m->loaded = true;
out_free:
	kfree(ld.inflight);
	kfree(ld.vq);
	kvfree(blob);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_migrate: dirty page logging keyed by (address space, IOVA).
 *
 * One struct vdpa_mig_log per address space being logged.  The pages of
 * its ranges are numbered one after the other, each range starting on a
 * fresh leaf word, and the log keeps two bitmaps over those numbers:
 *
 *  - @leaf: one bit per page, set by vdpa_mig_log_mark() when the device
 *    wrote to the page;
 *  - @summary: one bit per chunk of VDPA_MIG_LOG_CHUNK_WORDS leaf words,
 *    set after any leaf bit of the chunk.
 *
 * A SYNC visits only the chunks whose summary bit is set, so its cost
 * follows the number of dirty chunks and not the size of the range.
 *
 * Ordering between the writer (the parent, lock-free, any context) and
 * SYNC (under the vhost device mutex): the writer stores the data, then
 * sets the leaf bit, then the summary bit; SYNC clears the summary bit
 * (a fully ordered atomic) before it takes the leaf words.  A leaf bit is
 * therefore either seen by this SYNC or leaves its summary bit set for
 * the next one, and a page is never reported clean while a write that
 * happened before the report is not covered.
 */
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "vdpa_mig.h"

/* Leaf words per summary bit: 4096 pages with 64-bit longs. */
#define VDPA_MIG_LOG_CHUNK_WORDS	64
#define VDPA_MIG_LOG_CHUNK_BITS		(VDPA_MIG_LOG_CHUNK_WORDS * BITS_PER_LONG)

/**
 * struct vdpa_mig_log_span - one logged range
 * @first: first IOVA of the range
 * @last: last IOVA of the range (inclusive)
 * @bit0: leaf bit of the page at @first; a multiple of BITS_PER_LONG
 */
struct vdpa_mig_log_span {
	u64 first;
	u64 last;
	unsigned long bit0;
};

/**
 * struct vdpa_mig_log - the dirty log of one address space
 * @asid: the address space
 * @shift: log2 of the page size
 * @nr: number of ranges in @span
 * @nwords: words in @leaf
 * @nchunks: bits in @summary
 * @leaf: one bit per page of every range, atomic bit operations only
 * @summary: one bit per VDPA_MIG_LOG_CHUNK_WORDS words of @leaf
 * @span: the ranges, sorted by IOVA, not overlapping
 *
 * Everything but the two bitmaps is constant from start to stop.  The
 * bus driver frees the log only after &vdpa_migrate_ops.log_stop
 * returned, when no writer can touch it any more.
 */
struct vdpa_mig_log {
	u32 asid;
	unsigned int shift;
	unsigned int nr;
	unsigned long nwords;
	unsigned long nchunks;
	unsigned long *leaf;
	unsigned long *summary;
	struct vdpa_mig_log_span span[];
};

static void vdpa_mig_log_set(struct vdpa_mig_log *log, unsigned long bit)
{
	unsigned long chunk = bit / VDPA_MIG_LOG_CHUNK_BITS;

	/* Already dirty pages cost a read, not an atomic. */
	if (!test_bit(bit, log->leaf))
		set_bit(bit, log->leaf);
	/* The leaf bit must be visible before the summary bit. */
	smp_mb__after_atomic();
	if (!test_bit(chunk, log->summary))
		set_bit(chunk, log->summary);
}

/* Index of the first span whose last byte is at or after @iova. */
static unsigned int vdpa_mig_log_find(const struct vdpa_mig_log *log,
				      u64 iova)
{
	unsigned int lo = 0, hi = log->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (log->span[mid].last < iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void vdpa_mig_log_mark(struct vdpa_mig_log *log, u64 iova, u64 len)
{
	u64 last;
	unsigned int i;

	if (!len)
		return;
	last = iova + len - 1;
	if (last < iova)
		last = U64_MAX;
	/*
	 * The caller wrote the data before calling: order those stores
	 * before the test_bit() reads below, which may skip the atomic.
	 */
	smp_mb();
	for (i = vdpa_mig_log_find(log, iova);
	     i < log->nr && log->span[i].first <= last; i++) {
		const struct vdpa_mig_log_span *s = &log->span[i];
		u64 p = (max(iova, s->first) - s->first) >> log->shift;
		u64 q = (min(last, s->last) - s->first) >> log->shift;

		for (; p <= q; p++)
			vdpa_mig_log_set(log, s->bit0 + p);
	}
}
EXPORT_SYMBOL_GPL(vdpa_mig_log_mark);

static void vdpa_mig_log_free(struct vdpa_mig_log *log)
{
	if (!log)
		return;
	kvfree(log->leaf);
	kvfree(log->summary);
	kfree(log);
}

/*
 * Copy in an extensible argument: @argsz first, at least @size of it, any
 * bytes beyond what this version knows must be zero.
 */
static int vdpa_mig_log_copy_arg(void *arg, size_t size, void __user *argp)
{
	u32 argsz;

	if (get_user(argsz, (u32 __user *)argp))
		return -EFAULT;
	if (argsz < size)
		return -EINVAL;
	return copy_struct_from_user(arg, size, argp, argsz);
}

/*
 * Copy in the argument of a SYNC or STOP and check its address space.
 * Both begin with the four fields of struct vdpa_mig_log_stop; the asid
 * is left sanitised for use as an index.
 */
static long vdpa_mig_log_arg(struct vdpa_mig *m, void *arg, size_t size,
			     void __user *argp)
{
	struct vdpa_mig_log_stop *hdr = arg;
	long ret;

	static_assert(offsetof(struct vdpa_mig_log_sync, asid) ==
		      offsetof(struct vdpa_mig_log_stop, asid));
	static_assert(offsetof(struct vdpa_mig_log_sync, reserved) ==
		      offsetof(struct vdpa_mig_log_stop, reserved));
	ret = vdpa_mig_log_copy_arg(arg, size, argp);
	if (ret)
		return ret;
	if (hdr->flags || hdr->reserved || hdr->asid >= m->vdpa->nas)
		return -EINVAL;
	hdr->asid = array_index_nospec(hdr->asid, m->vdpa->nas);
	return m->logs[hdr->asid] ? 0 : -ENOENT;
}

/* Check the ranges of a LOG_START; on success *@nbits is the leaf size. */
static int vdpa_mig_log_check_ranges(struct vdpa_mig *m,
				     const struct vdpa_mig_log_range *r,
				     unsigned int nr, unsigned int shift,
				     unsigned long *nbits)
{
	u64 mask = BIT_ULL(shift) - 1, total = 0, prev = 0, last;
	unsigned long bits = 0;
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (!r[i].size || (r[i].iova & mask) || (r[i].size & mask) ||
		    check_add_overflow(r[i].iova, r[i].size - 1, &last))
			return -EINVAL;
		/* Sorted and not overlapping. */
		if (i && r[i].iova <= prev)
			return -EINVAL;
		if (r[i].iova < m->range.first || last > m->range.last)
			return -ERANGE;
		total += r[i].size;
		if (total > VDPA_MIG_LOG_MAX_BYTES)
			return -E2BIG;
		bits += round_up(r[i].size >> shift, BITS_PER_LONG);
		prev = last;
	}
	*nbits = bits;
	return 0;
}

static struct vdpa_mig_log *
vdpa_mig_log_alloc(u32 asid, unsigned int shift,
		   const struct vdpa_mig_log_range *r, unsigned int nr,
		   unsigned long nbits)
{
	struct vdpa_mig_log *log;
	unsigned long bit = 0;
	unsigned int i;

	log = kzalloc(struct_size(log, span, nr), GFP_KERNEL_ACCOUNT);
	if (!log)
		return NULL;
	log->asid = asid;
	log->shift = shift;
	log->nr = nr;
	log->nwords = BITS_TO_LONGS(nbits);
	log->nchunks = DIV_ROUND_UP(nbits, VDPA_MIG_LOG_CHUNK_BITS);
	log->leaf = kvcalloc(log->nwords, sizeof(long),
			     GFP_KERNEL_ACCOUNT);
	log->summary = kvcalloc(BITS_TO_LONGS(log->nchunks), sizeof(long),
				GFP_KERNEL_ACCOUNT);
	if (!log->leaf || !log->summary) {
		vdpa_mig_log_free(log);
		return NULL;
	}
	for (i = 0; i < nr; i++) {
		log->span[i].first = r[i].iova;
		log->span[i].last = r[i].iova + r[i].size - 1;
		log->span[i].bit0 = bit;
		bit += round_up(r[i].size >> shift, BITS_PER_LONG);
	}
	return log;
}

/**
 * vdpa_mig_log_start() - VDPA_MIG_LOG_START
 * @m: device, &vdev.mutex held
 * @argp: struct vdpa_mig_log_start
 *
 * The ranges need not be mapped: the log covers IOVA, and the device
 * simply never writes where nothing is mapped.
 *
 * Return: 0 or a negative errno; nothing changes on error.
 */
long vdpa_mig_log_start(struct vdpa_mig *m, void __user *argp)
{
	const struct vdpa_migrate_ops *ops = m->mig_ops;
	struct vdpa_mig_log_start arg;
	struct vdpa_mig_log_range *r;
	struct vdpa_mig_log *log;
	unsigned long nbits;
	long ret;

	ret = vdpa_mig_log_copy_arg(&arg, sizeof(arg), argp);
	if (ret)
		return ret;
	if (arg.flags || arg.reserved)
		return -EINVAL;
	if (!ops || !ops->log_start || !ops->log_stop)
		return -EOPNOTSUPP;
	if (arg.asid >= m->vdpa->nas || arg.page_shift >= 64 ||
	    !(VDPA_MIG_LOG_PAGE_SIZES & BIT_ULL(arg.page_shift)) ||
	    !arg.nr_ranges || arg.nr_ranges > VDPA_MIG_LOG_MAX_RANGES)
		return -EINVAL;
	arg.asid = array_index_nospec(arg.asid, m->vdpa->nas);
	if (m->logs[arg.asid])
		return -EBUSY;

	r = memdup_user(u64_to_user_ptr(arg.ranges),
			array_size(arg.nr_ranges, sizeof(*r)));
	if (IS_ERR(r))
		return PTR_ERR(r);
	ret = vdpa_mig_log_check_ranges(m, r, arg.nr_ranges, arg.page_shift,
					&nbits);
	if (ret)
		goto out_free_ranges;

	ret = -ENOMEM;
	log = vdpa_mig_log_alloc(arg.asid, arg.page_shift, r, arg.nr_ranges,
				 nbits);
	if (!log)
		goto out_free_ranges;
	ret = ops->log_start(m->vdpa, arg.asid, log);
	if (ret) {
		vdpa_mig_log_free(log);
		goto out_free_ranges;
	}
	m->logs[arg.asid] = log;

out_free_ranges:
	kfree(r);
	return ret;
}

/* Stage of a SYNC: one 64-bit word of the user's bitmap. */
struct vdpa_mig_log_out {
	u64 __user *bitmap;
	u64 idx;
	u64 bits;
	u64 dirty;
};

/* OR the staged word into the user's bitmap. */
static int vdpa_mig_log_flush(struct vdpa_mig_log_out *out)
{
	u64 __user *p = out->bitmap + out->idx;
	u64 old;

	if (!out->bits)
		return 0;
	if (get_user(old, p) || put_user(old | out->bits, p))
		return -EFAULT;
	out->dirty += hweight64(out->bits);
	out->bits = 0;
	return 0;
}

/* Take the bits of @mask from leaf word @w, atomically. */
static unsigned long vdpa_mig_log_take(unsigned long *w, unsigned long mask)
{
	unsigned long old = READ_ONCE(*w);

	if (!(old & mask))
		return 0;
	if (mask == ~0UL)
		return xchg(w, 0);
	while (!try_cmpxchg(w, &old, old & ~mask))
		;
	return old & mask;
}

/*
 * Move the dirty bits of leaf bits [@first, @end) to @out, bit @first
 * going to bit 0 of the user's bitmap.  On a fault the bits taken from
 * the log but not written out are set again.
 */
static int vdpa_mig_log_report(struct vdpa_mig_log *log, unsigned long first,
			       unsigned long end, struct vdpa_mig_log_out *out)
{
	unsigned long c, c_end = DIV_ROUND_UP(end, VDPA_MIG_LOG_CHUNK_BITS);
	unsigned long w = 0, w_first, w_end, b, bits = 0, mask;
	u64 ubit;

	for (c = find_next_bit(log->summary, c_end,
			       first / VDPA_MIG_LOG_CHUNK_BITS);
	     c < c_end; c = find_next_bit(log->summary, c_end, c + 1)) {
		unsigned long lo = max(first, c * VDPA_MIG_LOG_CHUNK_BITS);
		unsigned long hi = min(end, (c + 1) * VDPA_MIG_LOG_CHUNK_BITS);
		bool partial = hi - lo != VDPA_MIG_LOG_CHUNK_BITS;

		/* Fully ordered: leaf words are read after the clear. */
		if (!test_and_clear_bit(c, log->summary))
			continue;
		w_first = lo / BITS_PER_LONG;
		w_end = DIV_ROUND_UP(hi, BITS_PER_LONG);
		for (w = w_first; w < w_end; w++) {
			mask = ~0UL;
			if (w == w_first)
				mask &= BITMAP_FIRST_WORD_MASK(lo);
			if (w == w_end - 1)
				mask &= BITMAP_LAST_WORD_MASK(hi);
			bits = vdpa_mig_log_take(&log->leaf[w], mask);
			for_each_set_bit(b, &bits, BITS_PER_LONG) {
				ubit = w * BITS_PER_LONG + b - first;
				if (ubit / 64 != out->idx &&
				    vdpa_mig_log_flush(out))
					goto err_remark;
				out->idx = ubit / 64;
				out->bits |= BIT_ULL(ubit % 64);
			}
		}
		/* Bits of the chunk outside the request keep it dirty. */
		if (partial) {
			for (w = c * VDPA_MIG_LOG_CHUNK_WORDS;
			     w < (c + 1) * VDPA_MIG_LOG_CHUNK_WORDS &&
			     w < log->nwords; w++) {
				if (READ_ONCE(log->leaf[w])) {
					set_bit(c, log->summary);
					break;
				}
			}
		}
	}
	if (!vdpa_mig_log_flush(out))
		return 0;
	bits = 0;

err_remark:
	/* The staged word and the rest of this leaf word stay dirty. */
	for_each_set_bit(b, &bits, BITS_PER_LONG)
		vdpa_mig_log_set(log, w * BITS_PER_LONG + b);
	for (b = 0; b < 64; b++)
		if (out->bits & BIT_ULL(b))
			vdpa_mig_log_set(log, first + out->idx * 64 + b);
	return -EFAULT;
}

/**
 * vdpa_mig_log_sync() - VDPA_MIG_LOG_SYNC
 * @m: device, &vdev.mutex held
 * @argp: struct vdpa_mig_log_sync
 *
 * Return: 0 or a negative errno.  On EFAULT the pages whose bitmap word
 * could not be written stay dirty in the log.
 */
long vdpa_mig_log_sync(struct vdpa_mig *m, void __user *argp)
{
	struct vdpa_mig_log_sync __user *uarg = argp;
	struct vdpa_mig_log_out out = {};
	struct vdpa_mig_log_sync arg;
	const struct vdpa_mig_log_span *s;
	struct vdpa_mig_log *log;
	unsigned long first;
	u64 last;
	long ret;

	ret = vdpa_mig_log_arg(m, &arg, sizeof(arg), argp);
	if (ret)
		return ret;
	log = m->logs[arg.asid];
	if (!arg.size || ((arg.iova | arg.size) & (BIT_ULL(log->shift) - 1)) ||
	    check_add_overflow(arg.iova, arg.size - 1, &last))
		return -EINVAL;
	s = &log->span[vdpa_mig_log_find(log, arg.iova)];
	if (s == log->span + log->nr || arg.iova < s->first || last > s->last)
		return -EINVAL;

	first = s->bit0 + ((arg.iova - s->first) >> log->shift);
	out.bitmap = u64_to_user_ptr(arg.bitmap);
	ret = vdpa_mig_log_report(log, first, first + (arg.size >> log->shift),
				  &out);
	if (ret)
		return ret;
	return put_user(out.dirty, &uarg->dirty);
}

/* Stop logging @asid and free its log; &vdev.mutex held. */
static void vdpa_mig_log_end(struct vdpa_mig *m, u32 asid)
{
	struct vdpa_mig_log *log = m->logs[asid];

	/* The parent stops touching the log before it returns. */
	m->mig_ops->log_stop(m->vdpa, asid);
	m->logs[asid] = NULL;
	vdpa_mig_log_free(log);
}

/**
 * vdpa_mig_log_stop() - VDPA_MIG_LOG_STOP
 * @m: device, &vdev.mutex held
 * @argp: struct vdpa_mig_log_stop
 *
 * Return: 0 or a negative errno.
 */
long vdpa_mig_log_stop(struct vdpa_mig *m, void __user *argp)
{
	struct vdpa_mig_log_stop arg;
	long ret;

	ret = vdpa_mig_log_arg(m, &arg, sizeof(arg), argp);
	if (ret)
		return ret;
	vdpa_mig_log_end(m, arg.asid);
	return 0;
}

/**
 * vdpa_mig_log_stop_all() - stop dirty logging on every address space
 * @m: device, &vdev.mutex held
 *
 * For release, and for a migration that is cancelled or failed.
 */
void vdpa_mig_log_stop_all(struct vdpa_mig *m)
{
	u32 asid;

	for (asid = 0; asid < m->vdpa->nas; asid++)
		if (m->logs[asid])
			vdpa_mig_log_end(m, asid);
}

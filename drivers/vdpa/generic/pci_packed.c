// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_gen_pci shadow virtqueues, the driver's side of a packed ring:
 * reading the chains the driver made available and handing used ones
 * back, through the IOTLB mirror (vringh has no packed-ring support).  The
 * card itself always runs on a split ring of ours (pci_shadow.c), so only
 * this side knows the ring is packed.  Documentation/vdpa/generic-pci.rst,
 * "Packed rings".
 *
 * Everything here runs under &gpci_dev.shadow_lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/slab.h>
#include <linux/vringh.h>
#include <uapi/linux/virtio_ring.h>

#include "pci.h"
#include "vdpa_gen.h"

#define GPCI_PK_AVAIL	BIT(VRING_PACKED_DESC_F_AVAIL)
#define GPCI_PK_USED	BIT(VRING_PACKED_DESC_F_USED)

/* The ring's IOVAs: descriptors, driver and device event suppression. */
static u64 gpci_pk_ring(const struct gpci_svq *s)
{
	return (u64)(uintptr_t)s->vrh.vring.desc;
}

static u64 gpci_pk_driver_event(const struct gpci_svq *s)
{
	return (u64)(uintptr_t)s->vrh.vring.avail;
}

static u64 gpci_pk_device_event(const struct gpci_svq *s)
{
	return (u64)(uintptr_t)s->vrh.vring.used;
}

int gpci_pk_alloc(struct gpci_svq *s)
{
	struct gpci_pk *pk = &s->pk;
	u16 num = s->vrh.vring.num;

	pk->id = kcalloc(num, sizeof(*pk->id), GFP_KERNEL);
	pk->ndesc = kcalloc(num, sizeof(*pk->ndesc), GFP_KERNEL);
	pk->len = kcalloc(num, sizeof(*pk->len), GFP_KERNEL);
	pk->state = kcalloc(num, sizeof(*pk->state), GFP_KERNEL);
	pk->id_busy = bitmap_zalloc(num, GFP_KERNEL);
	if (!pk->id || !pk->ndesc || !pk->len || !pk->state || !pk->id_busy) {
		gpci_pk_free(s);
		return -ENOMEM;
	}
	gpci_pk_reset(s, GPCI_PK_WRAP, GPCI_PK_WRAP);
	return 0;
}

void gpci_pk_free(struct gpci_svq *s)
{
	struct gpci_pk *pk = &s->pk;

	kfree(pk->id);
	pk->id = NULL;
	kfree(pk->ndesc);
	pk->ndesc = NULL;
	kfree(pk->len);
	pk->len = NULL;
	kfree(pk->state);
	pk->state = NULL;
	bitmap_free(pk->id_busy);
	pk->id_busy = NULL;
}

/*
 * Nothing in flight; the next chain is read at @avail, the next used
 * element goes to @used (descriptor index, wrap counter in bit 15).
 */
void gpci_pk_reset(struct gpci_svq *s, u16 avail, u16 used)
{
	struct gpci_pk *pk = &s->pk;

	pk->avail = avail & ~GPCI_PK_WRAP;
	pk->avail_wrap = avail & GPCI_PK_WRAP;
	pk->used = used & ~GPCI_PK_WRAP;
	pk->used_wrap = used & GPCI_PK_WRAP;
	memset(pk->state, GPCI_PK_FREE, s->vrh.vring.num);
	bitmap_zero(pk->id_busy, s->vrh.vring.num);
}

/*
 * Descriptors from one ring position to another, going forward: positions
 * count 0..num-1 with the wrap counter set, then again with it clear.
 */
u16 gpci_pk_dist(u16 num, u16 from, bool from_wrap, u16 to, bool to_wrap)
{
	u32 a = from + (from_wrap ? 0 : num), b = to + (to_wrap ? 0 : num);

	return (b + 2 * num - a) % (2 * num);
}

static void gpci_pk_advance(const struct gpci_svq *s, u16 *idx, bool *wrap,
			    u16 n)
{
	u16 num = s->vrh.vring.num;

	*idx += n;
	if (*idx >= num) {
		*idx -= num;
		*wrap = !*wrap;
	}
}

static int gpci_pk_desc(struct gpci_svq *s, u64 table, u32 i,
			struct vring_packed_desc *d)
{
	return vdpa_gen_iotlb_read(&s->vrh, table + (u64)i * sizeof(*d), d,
				   sizeof(*d));
}

/* One buffer of the chain: device-readable ones come first. */
static int gpci_pk_add(struct gpci_svq *s, const struct vring_packed_desc *d)
{
	bool write = le16_to_cpu(d->flags) & VRING_DESC_F_WRITE;
	struct vringh_kiov *iov = write ? &s->wiov : &s->riov;

	if (!write && s->wiov.used)
		return -EINVAL;
	if (iov->used >= s->vrh.vring.num)
		return -E2BIG;
	iov->iov[iov->used].iov_base = (void *)(uintptr_t)le64_to_cpu(d->addr);
	iov->iov[iov->used].iov_len = le32_to_cpu(d->len);
	iov->used++;
	return 0;
}

/* An indirect table: its own descriptors, one after the other. */
static int gpci_pk_indirect(struct gpci_svq *s,
			    const struct vring_packed_desc *d)
{
	u64 table = le64_to_cpu(d->addr);
	u32 len = le32_to_cpu(d->len), n = len / sizeof(*d);
	struct vring_packed_desc e;
	int ret;

	if (!len || len % sizeof(*d))
		return -EINVAL;
	if (n > s->vrh.vring.num)
		return -E2BIG;	/* could never fit our ring */
	for (u32 k = 0; k < n; k++) {
		ret = gpci_pk_desc(s, table, k, &e);
		if (ret)
			return ret;
		if (le16_to_cpu(e.flags) & VRING_DESC_F_INDIRECT)
			return -EINVAL;
		ret = gpci_pk_add(s, &e);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Read the chain at the next available position into riov and wiov
 * (driver IOVAs, indirect tables flattened), without taking it: the
 * caller calls gpci_pk_taken() once it relayed it.  Return: 1 with its
 * buffer ID and how many ring descriptors it takes, 0 if the driver made
 * nothing available there, -E2BIG for a chain longer than the ring, or
 * another negative errno for a ring that cannot be read or is corrupt:
 * a buffer ID past the ring or already in flight, or a chain over
 * descriptors still in flight (which a driver gets back in order, so a
 * correct one never writes there).
 */
int gpci_pk_read(struct gpci_dev *gd, struct gpci_svq *s, u16 *id,
		 u16 *ndesc)
{
	u64 ring = gpci_pk_ring(s);
	u16 num = s->vrh.vring.num, i = s->pk.avail, n = 0;
	bool wrap = s->pk.avail_wrap;
	struct vring_packed_desc d;
	__le16 lf;
	u16 flags;
	int ret;

	ret = vdpa_gen_iotlb_read(&s->vrh, ring + (u64)i * sizeof(d) +
				  offsetof(struct vring_packed_desc, flags),
				  &lf, sizeof(lf));
	if (ret)
		return ret;
	flags = le16_to_cpu(lf);
	if (!!(flags & GPCI_PK_AVAIL) != wrap || !!(flags & GPCI_PK_USED) == wrap)
		return 0;
	/* The chain as it was when its first descriptor became available. */
	smp_rmb();

	gpci_svq_iov_reset(s);
	for (;;) {
		ret = gpci_pk_desc(s, ring, i, &d);
		if (ret)
			return ret;
		flags = le16_to_cpu(d.flags);
		n++;
		if (flags & VRING_DESC_F_INDIRECT) {
			/* A table stands alone (virtio 1.2, 2.8.19). */
			if (n > 1 || (flags & VRING_DESC_F_NEXT) ||
			    !(gd->driver_features &
			      BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC)))
				return -EINVAL;
			ret = gpci_pk_indirect(s, &d);
		} else {
			ret = gpci_pk_add(s, &d);
		}
		if (ret)
			return ret;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		if (n >= num)
			return -E2BIG;
		if (++i == num)
			i = 0;
	}
	*id = le16_to_cpu(d.id);	/* the last descriptor's (2.8.6) */
	*ndesc = n;
	if (*id >= num || test_bit(*id, s->pk.id_busy) ||
	    gpci_pk_dist(num, s->pk.used, s->pk.used_wrap, s->pk.avail,
			 s->pk.avail_wrap) + n > num)
		return -EINVAL;
	return 1;
}

/* The chain gpci_pk_read() returned was relayed: the card holds it. */
void gpci_pk_taken(struct gpci_svq *s, u16 id, u16 ndesc)
{
	struct gpci_pk *pk = &s->pk;

	pk->id[pk->avail] = id;
	pk->ndesc[pk->avail] = ndesc;
	pk->state[pk->avail] = GPCI_PK_BUSY;
	set_bit(id, pk->id_busy);
	gpci_pk_advance(s, &pk->avail, &pk->avail_wrap, ndesc);
}

/* The card used the chain read at descriptor @pos and wrote @len bytes. */
int gpci_pk_used(struct gpci_svq *s, u16 pos, u32 len)
{
	if (s->pk.state[pos] != GPCI_PK_BUSY)
		return -EIO;
	s->pk.len[pos] = len;
	s->pk.state[pos] = GPCI_PK_DONE;
	return 0;
}

/*
 * After used elements that moved the used position @moved descriptors on
 * from @old: does the driver's event suppression ask for a notification?
 */
static int gpci_pk_need_notify(struct gpci_svq *s, u16 old, bool old_wrap,
			       u16 moved, bool *notify)
{
	struct vring_packed_desc_event ev;
	u16 off;
	int ret;

	/* The used elements before the driver's wish is read. */
	smp_mb();
	ret = vdpa_gen_iotlb_read(&s->vrh, gpci_pk_driver_event(s), &ev,
				  sizeof(ev));
	if (ret)
		return ret;
	switch (le16_to_cpu(ev.flags) & 0x3) {
	case VRING_PACKED_EVENT_FLAG_DISABLE:
		*notify = false;
		break;
	case VRING_PACKED_EVENT_FLAG_DESC:
		if (s->vrh.event_indices) {
			off = le16_to_cpu(ev.off_wrap);
			*notify = gpci_pk_dist(s->vrh.vring.num, old,
					       old_wrap, off & ~GPCI_PK_WRAP,
					       off & GPCI_PK_WRAP) < moved;
			break;
		}
		fallthrough;	/* not negotiated: take it as enabled */
	default:
		*notify = true;
	}
	return 0;
}

/*
 * Hand the chains the card used back to the driver, oldest first, and
 * stop at the first one it still holds.  A used element overwrites the
 * first descriptor of its chain: its ID and length first, then the flags
 * that make it used.  @notify: the driver asks to be told.
 */
int gpci_pk_deliver(struct gpci_dev *gd, struct gpci_svq *s, bool *notify)
{
	struct gpci_pk *pk = &s->pk;
	u16 num = s->vrh.vring.num, old = pk->used, moved = 0;
	bool old_wrap = pk->used_wrap;
	struct {
		__le32 len;
		__le16 id;
	} __packed e;
	int ret;

	*notify = false;
	while (moved < num && pk->state[pk->used] == GPCI_PK_DONE) {
		u16 p = pk->used, flags = 0;
		u64 at = gpci_pk_ring(s) + (u64)p * sizeof(struct vring_packed_desc);
		__le16 lf;

		e.len = cpu_to_le32(pk->len[p]);
		e.id = cpu_to_le16(pk->id[p]);
		ret = vdpa_gen_iotlb_write(&s->vrh, at +
					   offsetof(struct vring_packed_desc, len),
					   &e, sizeof(e));
		if (ret)
			return ret;
		if (pk->used_wrap)
			flags = GPCI_PK_AVAIL | GPCI_PK_USED;
		if (pk->len[p])
			flags |= VRING_DESC_F_WRITE;
		lf = cpu_to_le16(flags);
		/*
		 * ID and length before the flags that hand them over.  The
		 * flags go in one copy of two bytes; were it torn, the byte
		 * holding AVAIL (unchanged) could not make the element look
		 * used early.
		 */
		smp_wmb();
		ret = vdpa_gen_iotlb_write(&s->vrh, at +
					   offsetof(struct vring_packed_desc, flags),
					   &lf, sizeof(lf));
		if (ret)
			return ret;
		gpci_log(gd, at + offsetof(struct vring_packed_desc, len),
			 sizeof(e) + sizeof(lf));
		pk->state[p] = GPCI_PK_FREE;
		clear_bit(pk->id[p], pk->id_busy);
		moved += pk->ndesc[p];
		gpci_pk_advance(s, &pk->used, &pk->used_wrap, pk->ndesc[p]);
	}
	if (!moved)
		return 0;
	return gpci_pk_need_notify(s, old, old_wrap, moved, notify);
}

/*
 * The relay starts: the driver kicks for every chain (the relay never
 * suppresses them, so no kick can be missed between two reads).
 */
int gpci_pk_start(struct gpci_dev *gd, struct gpci_svq *s)
{
	struct vring_packed_desc_event ev = {
		.flags = cpu_to_le16(VRING_PACKED_EVENT_FLAG_ENABLE),
	};
	int ret;

	ret = vdpa_gen_iotlb_write(&s->vrh, gpci_pk_device_event(s), &ev,
				   sizeof(ev));
	if (!ret)
		gpci_log(gd, gpci_pk_device_event(s), sizeof(ev));
	return ret;
}

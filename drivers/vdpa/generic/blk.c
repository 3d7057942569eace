// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_gen_blk: virtio-blk personality of the generic vDPA device.
 *
 * The management device "vdpagen_blk" (/sys/devices/vdpagen_blk) creates
 * block devices on "vdpa dev add mgmtdev vdpagen_blk name NAME".  The vdpa
 * netlink interface of 6.1 has no block attributes, so a new device takes
 * its parameters from these attributes of the management device, read at
 * the time of "vdpa dev add" (changing them does not affect devices that
 * already exist):
 *
 *   capacity    size of a RAM device in bytes, with an optional K, M, G or
 *               T suffix; a multiple of 512 between 512 bytes and 16T.
 *               Default 128M.  Ignored when "backing" is set.
 *   backing     absolute path of a regular file or block device holding
 *               the data; empty (the default) for a RAM device.  The size
 *               of the file, rounded down to 512 bytes, is the capacity.
 *   read_only   1 to offer VIRTIO_BLK_F_RO and refuse every write (the
 *               backing file is then opened read-only).  Default 0.
 *   num_queues  number of request queues, 1 to 8.  Default 2.
 *
 * A write of a bad value fails with -EINVAL and changes nothing.
 *
 * Each vdpa device has these attributes of its own:
 *
 *   capacity    current size in bytes (same syntax as above); writing it
 *               resizes a RAM device and tells the driver with a config
 *               interrupt.  Data beyond a smaller size is dropped.
 *   ram_pages   pages of RAM holding data (read-only).  RAM is allocated a
 *               page at a time on first write and freed by discard and by
 *               write-zeroes with the unmap flag.
 *   hold        1 makes the device behave like a disk that stopped
 *               answering: it still takes requests from its queues but
 *               holds them, in order, without running or completing any
 *               (at most a queue's size per queue).  A suspend does not
 *               wait for them and a saved migration state reports them in
 *               flight; a device reset drops them.  Writing 0 runs and
 *               completes what was held, oldest first, as soon as the
 *               device runs, then everything else as usual.  Default 0;
 *               survives device resets.
 *   held        number of requests held right now, all queues (read-only).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/falloc.h>	/* needs fs.h first */
#include <linux/gfp.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/overflow.h>
#include <linux/rwsem.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/vdpa_migrate.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_byteorder.h>
#include <linux/virtio_ids.h>
#include <linux/xarray.h>

#include "vdpa_gen.h"

#define VDPA_GEN_BLK_DEFAULT_CAPACITY	SZ_128M
#define VDPA_GEN_BLK_MAX_CAPACITY	(16 * SZ_1T)
#define VDPA_GEN_BLK_DEFAULT_QUEUES	2
#define VDPA_GEN_BLK_MAX_QUEUES		8

/* Requests handled per ->handle_vq() call before yielding the worker. */
#define VDPA_GEN_BLK_BUDGET		64

/* Limits offered in config space. */
#define VDPA_GEN_BLK_SIZE_MAX		SZ_64K
#define VDPA_GEN_BLK_SEG_MAX		128
#define VDPA_GEN_BLK_MAX_DISCARD_SECT	(SZ_1G >> SECTOR_SHIFT)
#define VDPA_GEN_BLK_MAX_DISCARD_SEG	16

/* Bounce buffer of each queue of a file-backed device. */
#define VDPA_GEN_BLK_BOUNCE_SIZE	SZ_64K

#define VDPA_GEN_BLK_FEATURES \
	(BIT_ULL(VIRTIO_BLK_F_SIZE_MAX) | BIT_ULL(VIRTIO_BLK_F_SEG_MAX) | \
	 BIT_ULL(VIRTIO_BLK_F_BLK_SIZE) | BIT_ULL(VIRTIO_BLK_F_TOPOLOGY) | \
	 BIT_ULL(VIRTIO_BLK_F_FLUSH) | BIT_ULL(VIRTIO_BLK_F_MQ) | \
	 BIT_ULL(VIRTIO_BLK_F_DISCARD) | BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES))

/**
 * struct vdpa_gen_blk - a virtio-blk device
 * @gdev: generic device; must stay the first member
 * @io_lock: reads and writes of data take it shared (concurrently from
 *	several queues); discard, write-zeroes and resize, which free pages
 *	or change @capacity, take it exclusive.  Nests inside
 *	&vdpa_gen_vq.lock and outside &vdpa_gen_dev.cfg_lock.
 * @capacity: size in sectors, protected by @io_lock
 * @pages: RAM backend, page index -> struct page; a missing page reads as
 *	zeroes.  Inserting is done under @io_lock shared (the xarray lock
 *	arbitrates racing writers), erasing under @io_lock exclusive.
 * @nr_pages: number of pages in @pages
 * @file: file backend, or NULL for RAM; set before registration
 * @bounce: per-queue bounce buffers for @file, indexed by queue
 * @read_only: refuse writes
 * @hold: take requests but hold them in flight (the "hold" attribute);
 *	read by the queue handlers without a lock
 * @serial: GET_ID string, the device name, zero padded
 */
struct vdpa_gen_blk {
	struct vdpa_gen_dev gdev;
	struct rw_semaphore io_lock;
	u64 capacity;
	struct xarray pages;
	atomic_long_t nr_pages;
	struct file *file;
	void **bounce;
	bool read_only;
	bool hold;
	char serial[VIRTIO_BLK_ID_BYTES];
};

/* One request while it is handled. */
struct vdpa_gen_blk_req {
	struct vdpa_gen_blk *blk;
	struct vdpa_gen_vq *vq;
	u32 type;
	u64 sector;
	size_t in_len;	/* device-readable bytes after the header */
	size_t out_len;	/* device-writable bytes before the status byte */
	size_t pushed;	/* of @out_len, bytes written so far */
};

/* Parameters of the next device, see the comment at the top. */
static DEFINE_MUTEX(vdpa_gen_blk_knob_lock);
static u64 vdpa_gen_blk_knob_capacity = VDPA_GEN_BLK_DEFAULT_CAPACITY;
static char *vdpa_gen_blk_knob_backing;
static bool vdpa_gen_blk_knob_read_only;
static unsigned int vdpa_gen_blk_knob_queues = VDPA_GEN_BLK_DEFAULT_QUEUES;

static struct device *vdpa_gen_blk_root;

static struct vdpa_gen_blk *gdev_to_blk(struct vdpa_gen_dev *gdev)
{
	return container_of(gdev, struct vdpa_gen_blk, gdev);
}

static struct vdpa_gen_blk *dev_to_blk(struct device *dev)
{
	return gdev_to_blk(vdpa_to_gen(dev_to_vdpa(dev)));
}

static struct virtio_blk_config *vdpa_gen_blk_config(struct vdpa_gen_blk *blk)
{
	return blk->gdev.config;
}

/*
 * Parse a byte count with an optional K/M/G/T suffix.  Unlike memparse(),
 * refuse values that overflow and any trailing garbage.
 */
static int vdpa_gen_blk_parse_size(const char *buf, u64 *size)
{
	unsigned int shift = 0;
	size_t len = strlen(buf);
	char num[24];
	u64 val;

	if (len && buf[len - 1] == '\n')
		len--;
	if (len) {
		switch (buf[len - 1]) {
		case 'k': case 'K':
			shift = 10;
			break;
		case 'm': case 'M':
			shift = 20;
			break;
		case 'g': case 'G':
			shift = 30;
			break;
		case 't': case 'T':
			shift = 40;
			break;
		}
		if (shift)
			len--;
	}
	if (!len || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, buf, len);
	num[len] = '\0';
	if (kstrtoull(num, 0, &val))
		return -EINVAL;
	if (check_shl_overflow(val, shift, size))
		return -EINVAL;
	return 0;
}

static int vdpa_gen_blk_parse_capacity(const char *buf, u64 *bytes)
{
	u64 val;

	if (vdpa_gen_blk_parse_size(buf, &val))
		return -EINVAL;
	if (!val || val > VDPA_GEN_BLK_MAX_CAPACITY || !IS_ALIGNED(val, SECTOR_SIZE))
		return -EINVAL;
	*bytes = val;
	return 0;
}

/* ---- RAM backend ---------------------------------------------------------- */

/* Page holding byte @pos, allocated if missing; io_lock held shared. */
static struct page *vdpa_gen_blk_ram_page(struct vdpa_gen_blk *blk, u64 pos)
{
	unsigned long idx = pos >> PAGE_SHIFT;
	struct page *page, *cur;

	page = xa_load(&blk->pages, idx);
	if (page)
		return page;

	page = alloc_page(GFP_NOIO | __GFP_ZERO | __GFP_NOWARN);
	if (!page)
		return NULL;
	cur = xa_cmpxchg(&blk->pages, idx, NULL, page, GFP_NOIO | __GFP_NOWARN);
	if (!cur) {
		atomic_long_inc(&blk->nr_pages);
		return page;
	}
	/* Lost a race with another queue, or out of memory for the node. */
	__free_page(page);
	return xa_is_err(cur) ? NULL : cur;
}

static void vdpa_gen_blk_ram_free(struct vdpa_gen_blk *blk, unsigned long idx)
{
	struct page *page = xa_erase(&blk->pages, idx);

	if (page) {
		__free_page(page);
		atomic_long_dec(&blk->nr_pages);
	}
}

/* Clear [pos, pos + len) inside one page, if that page exists. */
static void vdpa_gen_blk_ram_clear(struct vdpa_gen_blk *blk, u64 pos, u64 len)
{
	struct page *page;

	if (!len)
		return;
	page = xa_load(&blk->pages, pos >> PAGE_SHIFT);
	if (page)
		memset(page_address(page) + (pos & ~PAGE_MASK), 0, len);
}

/*
 * Zero [pos, pos + len).  Whole pages are freed with @unmap and cleared in
 * place without it; partial pages at either end are always cleared.
 * io_lock held exclusive.
 */
static void vdpa_gen_blk_ram_zero(struct vdpa_gen_blk *blk, u64 pos, u64 len,
				  bool unmap)
{
	u64 end = pos + len;
	u64 mid = min(end, round_up(pos, PAGE_SIZE));
	u64 tail = max(mid, round_down(end, PAGE_SIZE));
	unsigned long idx;
	struct page *page;

	vdpa_gen_blk_ram_clear(blk, pos, mid - pos);
	if (tail > mid) {
		xa_for_each_range(&blk->pages, idx, page, mid >> PAGE_SHIFT,
				  (tail >> PAGE_SHIFT) - 1) {
			if (unmap)
				vdpa_gen_blk_ram_free(blk, idx);
			else
				clear_page(page_address(page));
		}
	}
	vdpa_gen_blk_ram_clear(blk, tail, end - tail);
}

static int vdpa_gen_blk_ram_read(struct vdpa_gen_blk_req *req, u64 pos,
				 size_t len)
{
	struct page *page;
	size_t off, n;
	ssize_t ret;
	void *src;

	while (len) {
		off = pos & ~PAGE_MASK;
		n = min_t(size_t, len, PAGE_SIZE - off);
		page = xa_load(&req->blk->pages, pos >> PAGE_SHIFT);
		src = page ? page_address(page) : page_address(ZERO_PAGE(0));
		ret = vdpa_gen_vq_push(req->vq, src + off, n);
		if (ret < 0)
			return ret;
		req->pushed += ret;
		if (ret != n)
			return VIRTIO_BLK_S_IOERR;
		pos += n;
		len -= n;
	}
	return VIRTIO_BLK_S_OK;
}

static int vdpa_gen_blk_ram_write(struct vdpa_gen_blk_req *req, u64 pos,
				  size_t len)
{
	struct page *page;
	size_t off, n;
	ssize_t ret;

	while (len) {
		off = pos & ~PAGE_MASK;
		n = min_t(size_t, len, PAGE_SIZE - off);
		page = vdpa_gen_blk_ram_page(req->blk, pos);
		if (!page)
			return VIRTIO_BLK_S_IOERR;
		ret = vdpa_gen_vq_pull(req->vq, page_address(page) + off, n);
		if (ret < 0)
			return ret;
		if (ret != n)
			return VIRTIO_BLK_S_IOERR;
		pos += n;
		len -= n;
	}
	return VIRTIO_BLK_S_OK;
}

/* ---- file backend --------------------------------------------------------- */

static int vdpa_gen_blk_file_read(struct vdpa_gen_blk_req *req, u64 pos,
				  size_t len)
{
	void *buf = req->blk->bounce[req->vq->index];
	loff_t off = pos;
	size_t n, got;
	ssize_t ret;

	while (len) {
		n = min_t(size_t, len, VDPA_GEN_BLK_BOUNCE_SIZE);
		for (got = 0; got < n; got += ret) {
			ret = kernel_read(req->blk->file, buf + got, n - got, &off);
			if (ret < 0)
				return VIRTIO_BLK_S_IOERR;
			if (!ret)
				break;
		}
		/* The file shrank under us: past its end reads as zeroes. */
		memset(buf + got, 0, n - got);
		ret = vdpa_gen_vq_push(req->vq, buf, n);
		if (ret < 0)
			return ret;
		req->pushed += ret;
		if (ret != n)
			return VIRTIO_BLK_S_IOERR;
		len -= n;
	}
	return VIRTIO_BLK_S_OK;
}

static int vdpa_gen_blk_file_write_buf(struct vdpa_gen_blk *blk,
				       const void *buf, size_t n, loff_t *off)
{
	size_t done;
	ssize_t ret;

	for (done = 0; done < n; done += ret) {
		ret = kernel_write(blk->file, buf + done, n - done, off);
		if (ret <= 0)
			return -EIO;
	}
	return 0;
}

static int vdpa_gen_blk_file_write(struct vdpa_gen_blk_req *req, u64 pos,
				   size_t len)
{
	void *buf = req->blk->bounce[req->vq->index];
	loff_t off = pos;
	ssize_t ret;
	size_t n;

	while (len) {
		n = min_t(size_t, len, VDPA_GEN_BLK_BOUNCE_SIZE);
		ret = vdpa_gen_vq_pull(req->vq, buf, n);
		if (ret < 0)
			return ret;
		if (ret != n)
			return VIRTIO_BLK_S_IOERR;
		if (vdpa_gen_blk_file_write_buf(req->blk, buf, n, &off))
			return VIRTIO_BLK_S_IOERR;
		len -= n;
	}
	return VIRTIO_BLK_S_OK;
}

static int vdpa_gen_blk_file_zero(struct vdpa_gen_blk_req *req, u64 pos,
				  u64 len, bool unmap)
{
	void *buf = req->blk->bounce[req->vq->index];
	loff_t off = pos;
	size_t n;
	int mode;
	int ret;

	mode = unmap ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE;
	ret = vfs_fallocate(req->blk->file, mode | FALLOC_FL_KEEP_SIZE, pos, len);
	if (!ret)
		return VIRTIO_BLK_S_OK;
	if (ret != -EOPNOTSUPP)
		return VIRTIO_BLK_S_IOERR;
	/* A discard is only a hint; write-zeroes must zero. */
	if (req->type == VIRTIO_BLK_T_DISCARD)
		return VIRTIO_BLK_S_OK;

	memset(buf, 0, VDPA_GEN_BLK_BOUNCE_SIZE);
	while (len) {
		n = min_t(u64, len, VDPA_GEN_BLK_BOUNCE_SIZE);
		if (vdpa_gen_blk_file_write_buf(req->blk, buf, n, &off))
			return VIRTIO_BLK_S_IOERR;
		len -= n;
	}
	return VIRTIO_BLK_S_OK;
}

/* ---- requests ------------------------------------------------------------- */

/* io_lock held. */
static bool vdpa_gen_blk_range_ok(struct vdpa_gen_blk *blk, u64 sector,
				  u64 nsect)
{
	return sector <= blk->capacity && nsect <= blk->capacity - sector;
}

static int vdpa_gen_blk_rw(struct vdpa_gen_blk_req *req)
{
	struct vdpa_gen_blk *blk = req->blk;
	bool write = req->type == VIRTIO_BLK_T_OUT;
	size_t len = write ? req->in_len : req->out_len;
	u64 pos = req->sector << SECTOR_SHIFT;
	int ret;

	if (write && blk->read_only)
		return VIRTIO_BLK_S_IOERR;
	if (!IS_ALIGNED(len, SECTOR_SIZE))
		return VIRTIO_BLK_S_IOERR;

	down_read(&blk->io_lock);
	if (!vdpa_gen_blk_range_ok(blk, req->sector, len >> SECTOR_SHIFT))
		ret = VIRTIO_BLK_S_IOERR;
	else if (blk->file)
		ret = write ? vdpa_gen_blk_file_write(req, pos, len) :
			      vdpa_gen_blk_file_read(req, pos, len);
	else
		ret = write ? vdpa_gen_blk_ram_write(req, pos, len) :
			      vdpa_gen_blk_ram_read(req, pos, len);
	up_read(&blk->io_lock);
	return ret;
}

static int vdpa_gen_blk_flush(struct vdpa_gen_blk_req *req)
{
	struct vdpa_gen_blk *blk = req->blk;

	if (blk->file && vfs_fsync(blk->file, 0))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static int vdpa_gen_blk_get_id(struct vdpa_gen_blk_req *req)
{
	size_t n = min_t(size_t, req->out_len, VIRTIO_BLK_ID_BYTES);
	ssize_t ret;

	ret = vdpa_gen_vq_push(req->vq, req->blk->serial, n);
	if (ret < 0)
		return ret;
	req->pushed += ret;
	return VIRTIO_BLK_S_OK;
}

static int vdpa_gen_blk_discard(struct vdpa_gen_blk_req *req)
{
	struct virtio_blk_discard_write_zeroes seg[VDPA_GEN_BLK_MAX_DISCARD_SEG];
	struct vdpa_gen_blk *blk = req->blk;
	bool discard = req->type == VIRTIO_BLK_T_DISCARD;
	int status = VIRTIO_BLK_S_OK;
	unsigned int i, nseg;
	size_t size;
	ssize_t ret;
	u32 flags;

	if (blk->read_only)
		return VIRTIO_BLK_S_IOERR;
	nseg = req->in_len / sizeof(seg[0]);
	size = nseg * sizeof(seg[0]);
	if (!nseg || nseg > ARRAY_SIZE(seg) || size != req->in_len)
		return VIRTIO_BLK_S_IOERR;
	ret = vdpa_gen_vq_pull(req->vq, seg, size);
	if (ret < 0)
		return ret;
	if (ret != size)
		return VIRTIO_BLK_S_IOERR;

	/* Check every segment before touching any data. */
	for (i = 0; i < nseg; i++) {
		flags = le32_to_cpu(seg[i].flags);
		if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ||
		    (discard && flags))
			return VIRTIO_BLK_S_UNSUPP;
		if (le32_to_cpu(seg[i].num_sectors) > VDPA_GEN_BLK_MAX_DISCARD_SECT)
			return VIRTIO_BLK_S_IOERR;
	}

	down_write(&blk->io_lock);
	for (i = 0; i < nseg; i++)
		if (!vdpa_gen_blk_range_ok(blk, le64_to_cpu(seg[i].sector),
					   le32_to_cpu(seg[i].num_sectors)))
			status = VIRTIO_BLK_S_IOERR;
	for (i = 0; status == VIRTIO_BLK_S_OK && i < nseg; i++) {
		u64 pos = le64_to_cpu(seg[i].sector) << SECTOR_SHIFT;
		u64 len = (u64)le32_to_cpu(seg[i].num_sectors) << SECTOR_SHIFT;
		bool unmap = discard || le32_to_cpu(seg[i].flags);

		if (blk->file)
			status = vdpa_gen_blk_file_zero(req, pos, len, unmap);
		else
			vdpa_gen_blk_ram_zero(blk, pos, len, unmap);
	}
	up_write(&blk->io_lock);
	return status;
}

/* Return a VIRTIO_BLK_S_* status, or a negative errno if the ring broke. */
static int vdpa_gen_blk_dispatch(struct vdpa_gen_blk_req *req)
{
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return vdpa_gen_blk_rw(req);
	case VIRTIO_BLK_T_FLUSH:
		return vdpa_gen_blk_flush(req);
	case VIRTIO_BLK_T_GET_ID:
		return vdpa_gen_blk_get_id(req);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return vdpa_gen_blk_discard(req);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/*
 * Take a request and hold it in flight.  Return 1 if one was taken, 0 if
 * none is pending, or -errno.
 */
static int vdpa_gen_blk_hold_one(struct vdpa_gen_vq *vq)
{
	u16 head;
	int ret;

	ret = vdpa_gen_vq_get(vq, &head);
	if (ret <= 0)
		return ret;
	ret = vdpa_gen_vq_hold(vq, head);
	return ret ? ret : 1;
}

/* Return 1 if a request was handled, 0 if none is pending, or -errno. */
static int vdpa_gen_blk_one(struct vdpa_gen_blk *blk, struct vdpa_gen_vq *vq)
{
	struct vdpa_gen_blk_req req = { .blk = blk, .vq = vq };
	struct virtio_blk_outhdr hdr;
	size_t rlen, wlen;
	ssize_t ret;
	u16 head;
	u8 status;

	ret = vdpa_gen_vq_get(vq, &head);
	if (ret <= 0)
		return ret;

	rlen = vringh_kiov_length(&vq->riov);
	wlen = vringh_kiov_length(&vq->wiov);
	if (!wlen) {
		/* Nowhere to put a status: the driver cannot learn more. */
		dev_warn_ratelimited(&blk->gdev.vdpa.dev,
				     "request without status byte\n");
		vdpa_gen_vq_complete(vq, head, 0);
		return 1;
	}
	req.out_len = wlen - 1;

	if (rlen < sizeof(hdr)) {
		ret = VIRTIO_BLK_S_IOERR;
	} else {
		ret = vdpa_gen_vq_pull(vq, &hdr, sizeof(hdr));
		if (ret < 0)
			return ret;
		req.type = __virtio32_to_cpu(true, hdr.type);
		req.sector = __virtio64_to_cpu(true, hdr.sector);
		req.in_len = rlen - sizeof(hdr);
		ret = vdpa_gen_blk_dispatch(&req);
	}
	if (ret < 0)
		return ret;
	status = ret;

	/* The status is the last writable byte, after whatever we wrote. */
	vringh_kiov_advance(&vq->wiov, req.out_len - req.pushed);
	ret = vdpa_gen_vq_push(vq, &status, sizeof(status));
	if (ret < 0)
		return ret;
	vdpa_gen_vq_complete(vq, head, req.pushed + sizeof(status));
	return 1;
}

static bool vdpa_gen_blk_handle_vq(struct vdpa_gen_dev *gdev,
				   struct vdpa_gen_vq *vq)
{
	struct vdpa_gen_blk *blk = gdev_to_blk(gdev);
	unsigned int taken = 0, done = 0, noio;
	bool more = false;
	int ret;

	/* Memory reclaim may wait on this very device: no I/O from here. */
	noio = memalloc_noio_save();
	while (vdpa_gen_vq_running(vq)) {
		if (taken == VDPA_GEN_BLK_BUDGET) {
			more = true;
			break;
		}
		/*
		 * Once a request is held, every later one is held too until
		 * the attribute's store gives them all back to the ring:
		 * completions never overtake a held request.
		 */
		if (READ_ONCE(blk->hold) || vdpa_gen_vq_held(vq)) {
			ret = vdpa_gen_blk_hold_one(vq);
		} else {
			ret = vdpa_gen_blk_one(blk, vq);
			done += ret > 0;
		}
		if (ret <= 0)
			break;
		taken++;
	}
	if (done && vdpa_gen_vq_running(vq))
		vdpa_gen_vq_notify(vq);
	memalloc_noio_restore(noio);
	return more;
}

static void vdpa_gen_blk_release(struct vdpa_gen_dev *gdev)
{
	struct vdpa_gen_blk *blk = gdev_to_blk(gdev);
	struct page *page;
	unsigned long idx;
	unsigned int i;

	/* Also reached for a device that vdpa_gen_create() failed to set up. */
	if (!xa_empty(&blk->pages)) {
		xa_for_each(&blk->pages, idx, page)
			__free_page(page);
		xa_destroy(&blk->pages);
	}
	if (blk->bounce) {
		for (i = 0; i < gdev->nvqs; i++)
			kvfree(blk->bounce[i]);
		kfree(blk->bounce);
	}
	if (blk->file)
		fput(blk->file);
}

/*
 * Migration: the data lives in the backend, which the destination must
 * share (the same file or block device); what travels is what the
 * destination has to agree with, checked before anything is loaded.
 */
static size_t vdpa_gen_blk_state_size(struct vdpa_gen_dev *gdev)
{
	return sizeof(struct vdpa_mig_rec_hdr) +
	       ALIGN(sizeof(struct vdpa_mig_rec_blk), 8);
}

static int vdpa_gen_blk_save_state(struct vdpa_gen_dev *gdev,
				   struct vdpa_mig_writer *w)
{
	struct vdpa_gen_blk *blk = gdev_to_blk(gdev);
	struct vdpa_mig_rec_blk rec = {};

	down_read(&blk->io_lock);
	rec.capacity = cpu_to_le64(blk->capacity);
	up_read(&blk->io_lock);
	rec.read_only = cpu_to_le32(blk->read_only);
	return vdpa_mig_put_record(w, VDPA_MIG_REC_BLK, VDPA_MIG_REC_F_MANDATORY,
				   &rec, sizeof(rec));
}

static int vdpa_gen_blk_load_record(struct vdpa_gen_dev *gdev, u32 type,
				    const void *data, u32 len, bool commit)
{
	struct vdpa_gen_blk *blk = gdev_to_blk(gdev);
	const struct vdpa_mig_rec_blk *rec = data;
	bool same;

	if (type != VDPA_MIG_REC_BLK)
		return -EOPNOTSUPP;
	if (len < sizeof(*rec) || rec->writeback || rec->reserved ||
	    le32_to_cpu(rec->read_only) > 1)
		return -EINVAL;
	down_read(&blk->io_lock);
	same = le64_to_cpu(rec->capacity) == blk->capacity;
	up_read(&blk->io_lock);
	/* Nothing to apply: the record only has to match this device. */
	if (!same || le32_to_cpu(rec->read_only) != blk->read_only)
		return -EINVAL;
	return 0;
}

/*
 * Stopped for a migration: writes the driver saw complete sit in the page
 * cache of the backing file; a destination that shares the file or block
 * device but not this kernel (another host, a card on the same image)
 * must find them there.
 */
static int vdpa_gen_blk_suspend(struct vdpa_gen_dev *gdev)
{
	struct vdpa_gen_blk *blk = gdev_to_blk(gdev);

	if (!blk->file || blk->read_only)
		return 0;
	return vfs_fsync(blk->file, 0);
}

static const struct vdpa_gen_type vdpa_gen_blk_type = {
	.device_id = VIRTIO_ID_BLOCK,
	.features = VDPA_GEN_BLK_FEATURES,
	.config_size = sizeof(struct virtio_blk_config),
	.ngroups = 1,
	.nas = 1,
	.handle_vq = vdpa_gen_blk_handle_vq,
	.release = vdpa_gen_blk_release,
	.suspend = vdpa_gen_blk_suspend,
	.state_size = vdpa_gen_blk_state_size,
	.save_state = vdpa_gen_blk_save_state,
	.load_record = vdpa_gen_blk_load_record,
};

/* ---- per-device attributes -------------------------------------------- */

static ssize_t vdpa_gen_blk_capacity_show(struct device *dev,
					  struct device_attribute *attr,
					  char *buf)
{
	struct vdpa_gen_blk *blk = dev_to_blk(dev);
	u64 sectors;

	down_read(&blk->io_lock);
	sectors = blk->capacity;
	up_read(&blk->io_lock);
	return sysfs_emit(buf, "%llu\n", sectors << SECTOR_SHIFT);
}

static ssize_t vdpa_gen_blk_capacity_store(struct device *dev,
					   struct device_attribute *attr,
					   const char *buf, size_t count)
{
	struct vdpa_gen_blk *blk = dev_to_blk(dev);
	struct vdpa_gen_dev *gdev = &blk->gdev;
	u64 bytes, old;

	if (vdpa_gen_blk_parse_capacity(buf, &bytes))
		return -EINVAL;
	if (blk->file)
		return -EOPNOTSUPP;

	down_write(&blk->io_lock);
	old = blk->capacity << SECTOR_SHIFT;
	if (bytes < old)
		vdpa_gen_blk_ram_zero(blk, bytes, old - bytes, true);
	blk->capacity = bytes >> SECTOR_SHIFT;
	/* Still under io_lock, so racing resizes leave both sizes equal. */
	spin_lock(&gdev->cfg_lock);
	vdpa_gen_blk_config(blk)->capacity =
		__cpu_to_virtio64(true, blk->capacity);
	spin_unlock(&gdev->cfg_lock);
	up_write(&blk->io_lock);

	vdpa_gen_config_changed(gdev);
	return count;
}

static ssize_t vdpa_gen_blk_ram_pages_show(struct device *dev,
					   struct device_attribute *attr,
					   char *buf)
{
	return sysfs_emit(buf, "%ld\n",
			  atomic_long_read(&dev_to_blk(dev)->nr_pages));
}

static ssize_t vdpa_gen_blk_hold_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(dev_to_blk(dev)->hold));
}

static ssize_t vdpa_gen_blk_hold_store(struct device *dev,
				       struct device_attribute *attr,
				       const char *buf, size_t count)
{
	struct vdpa_gen_blk *blk = dev_to_blk(dev);
	bool val;

	if (kstrtobool(buf, &val))
		return -EINVAL;
	WRITE_ONCE(blk->hold, val);
	/* A handler that still saw the old value held, in order, too. */
	if (!val)
		vdpa_gen_unhold(&blk->gdev);
	return count;
}

static ssize_t vdpa_gen_blk_held_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", vdpa_gen_held(&dev_to_blk(dev)->gdev));
}

static struct device_attribute vdpa_gen_blk_attr_capacity =
	__ATTR(capacity, 0644, vdpa_gen_blk_capacity_show,
	       vdpa_gen_blk_capacity_store);
static struct device_attribute vdpa_gen_blk_attr_ram_pages =
	__ATTR(ram_pages, 0444, vdpa_gen_blk_ram_pages_show, NULL);
static struct device_attribute vdpa_gen_blk_attr_hold =
	__ATTR(hold, 0644, vdpa_gen_blk_hold_show, vdpa_gen_blk_hold_store);
static struct device_attribute vdpa_gen_blk_attr_held =
	__ATTR(held, 0444, vdpa_gen_blk_held_show, NULL);

static struct attribute *vdpa_gen_blk_dev_attrs[] = {
	&vdpa_gen_blk_attr_capacity.attr,
	&vdpa_gen_blk_attr_ram_pages.attr,
	&vdpa_gen_blk_attr_hold.attr,
	&vdpa_gen_blk_attr_held.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vdpa_gen_blk_dev);

/* ---- management device -------------------------------------------------- */

static void vdpa_gen_blk_fill_config(struct vdpa_gen_blk *blk,
				     unsigned int nvqs)
{
	struct virtio_blk_config *cfg = vdpa_gen_blk_config(blk);

	cfg->capacity = __cpu_to_virtio64(true, blk->capacity);
	cfg->size_max = __cpu_to_virtio32(true, VDPA_GEN_BLK_SIZE_MAX);
	cfg->seg_max = __cpu_to_virtio32(true, VDPA_GEN_BLK_SEG_MAX);
	cfg->blk_size = __cpu_to_virtio32(true, SECTOR_SIZE);
	cfg->physical_block_exp = PAGE_SHIFT - SECTOR_SHIFT;
	cfg->min_io_size = __cpu_to_virtio16(true, PAGE_SIZE >> SECTOR_SHIFT);
	cfg->num_queues = __cpu_to_virtio16(true, nvqs);
	cfg->max_discard_sectors =
		__cpu_to_virtio32(true, VDPA_GEN_BLK_MAX_DISCARD_SECT);
	cfg->max_discard_seg =
		__cpu_to_virtio32(true, VDPA_GEN_BLK_MAX_DISCARD_SEG);
	cfg->discard_sector_alignment =
		__cpu_to_virtio32(true, PAGE_SIZE >> SECTOR_SHIFT);
	cfg->max_write_zeroes_sectors =
		__cpu_to_virtio32(true, VDPA_GEN_BLK_MAX_DISCARD_SECT);
	cfg->max_write_zeroes_seg =
		__cpu_to_virtio32(true, VDPA_GEN_BLK_MAX_DISCARD_SEG);
	cfg->write_zeroes_may_unmap = 1;
}

static int vdpa_gen_blk_open(struct vdpa_gen_blk *blk, const char *path)
{
	int flags = (blk->read_only ? O_RDONLY : O_RDWR) | O_LARGEFILE;
	struct file *file;
	unsigned int i;
	umode_t mode;
	u64 size;

	file = filp_open(path, flags, 0);
	if (IS_ERR(file))
		return PTR_ERR(file);
	blk->file = file;

	mode = file_inode(file)->i_mode;
	if (!S_ISREG(mode) && !S_ISBLK(mode))
		return -EINVAL;
	size = i_size_read(file->f_mapping->host);
	blk->capacity = size >> SECTOR_SHIFT;
	if (!blk->capacity)
		return -EINVAL;

	blk->bounce = kcalloc(blk->gdev.nvqs, sizeof(*blk->bounce), GFP_KERNEL);
	if (!blk->bounce)
		return -ENOMEM;
	for (i = 0; i < blk->gdev.nvqs; i++) {
		blk->bounce[i] = kvmalloc(VDPA_GEN_BLK_BOUNCE_SIZE, GFP_KERNEL);
		if (!blk->bounce[i])
			return -ENOMEM;
	}
	return 0;
}

static int vdpa_gen_blk_dev_add(struct vdpa_mgmt_dev *mdev, const char *name,
				const struct vdpa_dev_set_config *config)
{
	struct vdpa_gen_dev *gdev;
	struct vdpa_gen_blk *blk;
	unsigned int nvqs;
	char *backing;
	bool read_only;
	u64 capacity;
	int ret;

	/* The vdpa core refuses attributes outside config_attr_mask (none). */
	if (config->mask)
		return -EOPNOTSUPP;

	mutex_lock(&vdpa_gen_blk_knob_lock);
	capacity = vdpa_gen_blk_knob_capacity;
	read_only = vdpa_gen_blk_knob_read_only;
	nvqs = vdpa_gen_blk_knob_queues;
	backing = kstrdup(vdpa_gen_blk_knob_backing, GFP_KERNEL);
	ret = vdpa_gen_blk_knob_backing && !backing ? -ENOMEM : 0;
	mutex_unlock(&vdpa_gen_blk_knob_lock);
	if (ret)
		return ret;

	gdev = vdpa_gen_create(&vdpa_gen_blk_type, mdev->device, name,
			       sizeof(*blk), nvqs);
	if (IS_ERR(gdev)) {
		ret = PTR_ERR(gdev);
		goto out;
	}
	blk = gdev_to_blk(gdev);
	init_rwsem(&blk->io_lock);
	xa_init(&blk->pages);
	atomic_long_set(&blk->nr_pages, 0);
	blk->read_only = read_only;
	if (read_only)
		gdev->device_features |= BIT_ULL(VIRTIO_BLK_F_RO);
	memcpy(blk->serial, name, strnlen(name, sizeof(blk->serial)));

	if (backing) {
		ret = vdpa_gen_blk_open(blk, backing);
		if (ret)
			goto err_put;
	} else {
		blk->capacity = capacity >> SECTOR_SHIFT;
	}
	vdpa_gen_blk_fill_config(blk, nvqs);

	gdev->vdpa.mdev = mdev;
	gdev->vdpa.dev.groups = vdpa_gen_blk_dev_groups;
	ret = _vdpa_register_device(&gdev->vdpa, nvqs);
	if (ret)
		goto err_put;
	goto out;

err_put:
	put_device(&gdev->vdpa.dev);
out:
	kfree(backing);
	return ret;
}

static void vdpa_gen_blk_dev_del(struct vdpa_mgmt_dev *mdev,
				 struct vdpa_device *vdpa)
{
	_vdpa_unregister_device(vdpa);
}

static const struct vdpa_mgmtdev_ops vdpa_gen_blk_mgmt_ops = {
	.dev_add = vdpa_gen_blk_dev_add,
	.dev_del = vdpa_gen_blk_dev_del,
};

static struct virtio_device_id vdpa_gen_blk_id_table[] = {
	{ VIRTIO_ID_BLOCK, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

static struct vdpa_mgmt_dev vdpa_gen_blk_mgmt = {
	.ops = &vdpa_gen_blk_mgmt_ops,
	.id_table = vdpa_gen_blk_id_table,
	.supported_features = VDPA_GEN_CORE_FEATURES | VDPA_GEN_BLK_FEATURES |
			      BIT_ULL(VIRTIO_BLK_F_RO),
	.max_supported_vqs = VDPA_GEN_BLK_MAX_QUEUES,
};

/* ---- knobs of the management device -------------------------------------- */

static ssize_t vdpa_gen_blk_knob_capacity_show(struct device *dev,
					       struct device_attribute *attr,
					       char *buf)
{
	u64 val;

	mutex_lock(&vdpa_gen_blk_knob_lock);
	val = vdpa_gen_blk_knob_capacity;
	mutex_unlock(&vdpa_gen_blk_knob_lock);
	return sysfs_emit(buf, "%llu\n", val);
}

static ssize_t vdpa_gen_blk_knob_capacity_store(struct device *dev,
						struct device_attribute *attr,
						const char *buf, size_t count)
{
	u64 val;

	if (vdpa_gen_blk_parse_capacity(buf, &val))
		return -EINVAL;
	mutex_lock(&vdpa_gen_blk_knob_lock);
	vdpa_gen_blk_knob_capacity = val;
	mutex_unlock(&vdpa_gen_blk_knob_lock);
	return count;
}

static ssize_t vdpa_gen_blk_knob_backing_show(struct device *dev,
					      struct device_attribute *attr,
					      char *buf)
{
	ssize_t ret;

	mutex_lock(&vdpa_gen_blk_knob_lock);
	ret = sysfs_emit(buf, "%s\n", vdpa_gen_blk_knob_backing ?: "");
	mutex_unlock(&vdpa_gen_blk_knob_lock);
	return ret;
}

/* Accept an absolute path naming an existing regular file or block device. */
static bool vdpa_gen_blk_backing_ok(const char *name)
{
	struct path path;
	umode_t mode;

	if (name[0] != '/' || kern_path(name, LOOKUP_FOLLOW, &path))
		return false;
	mode = d_inode(path.dentry)->i_mode;
	path_put(&path);
	return S_ISREG(mode) || S_ISBLK(mode);
}

static ssize_t vdpa_gen_blk_knob_backing_store(struct device *dev,
					       struct device_attribute *attr,
					       const char *buf, size_t count)
{
	char *name = NULL, *old;
	size_t len = strlen(buf);

	if (len && buf[len - 1] == '\n')
		len--;
	if (len >= PATH_MAX)
		return -EINVAL;
	if (len) {
		name = kmemdup_nul(buf, len, GFP_KERNEL);
		if (!name)
			return -ENOMEM;
		if (!vdpa_gen_blk_backing_ok(name)) {
			kfree(name);
			return -EINVAL;
		}
	}
	mutex_lock(&vdpa_gen_blk_knob_lock);
	old = vdpa_gen_blk_knob_backing;
	vdpa_gen_blk_knob_backing = name;
	mutex_unlock(&vdpa_gen_blk_knob_lock);
	kfree(old);
	return count;
}

static ssize_t vdpa_gen_blk_knob_read_only_show(struct device *dev,
						struct device_attribute *attr,
						char *buf)
{
	bool val;

	mutex_lock(&vdpa_gen_blk_knob_lock);
	val = vdpa_gen_blk_knob_read_only;
	mutex_unlock(&vdpa_gen_blk_knob_lock);
	return sysfs_emit(buf, "%d\n", val);
}

static ssize_t vdpa_gen_blk_knob_read_only_store(struct device *dev,
						 struct device_attribute *attr,
						 const char *buf, size_t count)
{
	bool val;

	if (kstrtobool(buf, &val))
		return -EINVAL;
	mutex_lock(&vdpa_gen_blk_knob_lock);
	vdpa_gen_blk_knob_read_only = val;
	mutex_unlock(&vdpa_gen_blk_knob_lock);
	return count;
}

static ssize_t vdpa_gen_blk_knob_queues_show(struct device *dev,
					     struct device_attribute *attr,
					     char *buf)
{
	unsigned int val;

	mutex_lock(&vdpa_gen_blk_knob_lock);
	val = vdpa_gen_blk_knob_queues;
	mutex_unlock(&vdpa_gen_blk_knob_lock);
	return sysfs_emit(buf, "%u\n", val);
}

static ssize_t vdpa_gen_blk_knob_queues_store(struct device *dev,
					      struct device_attribute *attr,
					      const char *buf, size_t count)
{
	unsigned int val;

	if (kstrtouint(buf, 0, &val) || !val || val > VDPA_GEN_BLK_MAX_QUEUES)
		return -EINVAL;
	mutex_lock(&vdpa_gen_blk_knob_lock);
	vdpa_gen_blk_knob_queues = val;
	mutex_unlock(&vdpa_gen_blk_knob_lock);
	return count;
}

static struct device_attribute vdpa_gen_blk_knob_attr_capacity =
	__ATTR(capacity, 0644, vdpa_gen_blk_knob_capacity_show,
	       vdpa_gen_blk_knob_capacity_store);
static struct device_attribute vdpa_gen_blk_knob_attr_backing =
	__ATTR(backing, 0644, vdpa_gen_blk_knob_backing_show,
	       vdpa_gen_blk_knob_backing_store);
static struct device_attribute vdpa_gen_blk_knob_attr_read_only =
	__ATTR(read_only, 0644, vdpa_gen_blk_knob_read_only_show,
	       vdpa_gen_blk_knob_read_only_store);
static struct device_attribute vdpa_gen_blk_knob_attr_queues =
	__ATTR(num_queues, 0644, vdpa_gen_blk_knob_queues_show,
	       vdpa_gen_blk_knob_queues_store);

static struct attribute *vdpa_gen_blk_mgmt_attrs[] = {
	&vdpa_gen_blk_knob_attr_capacity.attr,
	&vdpa_gen_blk_knob_attr_backing.attr,
	&vdpa_gen_blk_knob_attr_read_only.attr,
	&vdpa_gen_blk_knob_attr_queues.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vdpa_gen_blk_mgmt);

static int __init vdpa_gen_blk_init(void)
{
	struct device *root;
	int ret;

	root = root_device_register("vdpagen_blk");
	if (IS_ERR(root))
		return PTR_ERR(root);
	ret = device_add_groups(root, vdpa_gen_blk_mgmt_groups);
	if (ret)
		goto err_unregister_root;

	vdpa_gen_blk_mgmt.device = root;
	ret = vdpa_mgmtdev_register(&vdpa_gen_blk_mgmt);
	if (ret)
		goto err_remove_groups;
	vdpa_gen_blk_root = root;
	return 0;

err_remove_groups:
	device_remove_groups(root, vdpa_gen_blk_mgmt_groups);
err_unregister_root:
	root_device_unregister(root);
	return ret;
}

static void __exit vdpa_gen_blk_exit(void)
{
	/* Deletes every device of the management device through dev_del. */
	vdpa_mgmtdev_unregister(&vdpa_gen_blk_mgmt);
	device_remove_groups(vdpa_gen_blk_root, vdpa_gen_blk_mgmt_groups);
	root_device_unregister(vdpa_gen_blk_root);
	kfree(vdpa_gen_blk_knob_backing);
}

module_init(vdpa_gen_blk_init);
module_exit(vdpa_gen_blk_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("virtio-blk device on the generic vDPA core");

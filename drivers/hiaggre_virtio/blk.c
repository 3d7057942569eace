// SPDX-License-Identifier: GPL-2.0
/*
 * hiaggre_virtio: the virtio-blk specifics. Requests pass through to the
 * members unchanged (header, data and status byte are all guest buffers the
 * member accesses directly); only the config space and failed requests need
 * the device type.
 */
#include <linux/pci_ids.h>
#include <asm/unaligned.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <linux/fusiond.h>
#include "hiaggre_virtio.h"

/*
 * A data segment is at most one page, so at most two pages when unaligned;
 * header and status take one page segment each. seg_max is set so that a
 * request fits both FUSIOND_MAX_SEGS and the members' queues.
 */
#define HV_BLK_SEG_MAX		60
#define HV_BLK_SIZE_MAX		PAGE_SIZE

static u64 hv_blk_extra_features(unsigned int nq)
{
	u64 f = BIT_ULL(VIRTIO_BLK_F_SEG_MAX) | BIT_ULL(VIRTIO_BLK_F_SIZE_MAX);

	if (nq > 1)
		f |= BIT_ULL(VIRTIO_BLK_F_MQ);
	return f;
}

static void hv_blk_fill_config(u8 *cfg, const u8 *member_cfg, unsigned int nq,
			       unsigned int max_segs)
{
	unsigned int seg_at = offsetof(struct virtio_blk_config, seg_max);
	u32 seg_max, fit = max_segs > 4 ? (max_segs - 2) / 2 : 1;

	memcpy(cfg, member_cfg, sizeof(struct virtio_blk_config));
	seg_max = get_unaligned_le32(&cfg[seg_at]) ?: HV_BLK_SEG_MAX;
	seg_max = min3(seg_max, (u32)HV_BLK_SEG_MAX, fit);
	put_unaligned_le32(seg_max, &cfg[seg_at]);
	put_unaligned_le32(HV_BLK_SIZE_MAX,
			   &cfg[offsetof(struct virtio_blk_config, size_max)]);
	put_unaligned_le16(nq, &cfg[offsetof(struct virtio_blk_config,
					     num_queues)]);
}

/* The status byte is the last byte of the last device-writable segment. */
static u32 hv_blk_fail_request(struct fusiond_agg *agg, struct fusiond_req *req)
{
	const struct fusiond_seg *last;
	u8 st = VIRTIO_BLK_S_IOERR;

	if (!req->nsegs)
		return 0;
	last = &req->segs[req->nsegs - 1];
	if (!last->dev_writes)
		return 0;
	if (fusiond_dma_rw(agg, last->iova + last->len - 1, &st, 1, true))
		return 0;
	return 1;
}

static struct hv_type hv_blk_type = {
	.pers = {
		.type = "blk",
		.virtio_id = VIRTIO_ID_BLOCK,
		.owner = THIS_MODULE,
	},
	.class = PCI_CLASS_STORAGE_SCSI << 8,
	.config_size = sizeof(struct virtio_blk_config),
	.features = BIT_ULL(VIRTIO_BLK_F_BLK_SIZE) |
		    BIT_ULL(VIRTIO_BLK_F_FLUSH) |
		    BIT_ULL(VIRTIO_BLK_F_TOPOLOGY) |
		    BIT_ULL(VIRTIO_BLK_F_RO),
	.extra_features = hv_blk_extra_features,
	.fill_config = hv_blk_fill_config,
	.fail_request = hv_blk_fail_request,
	.max_queue_size = 256,
};

int hv_blk_init(void)
{
	return hv_type_register(&hv_blk_type);
}

void hv_blk_exit(void)
{
	hv_type_unregister(&hv_blk_type);
}

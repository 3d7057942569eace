/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hiaggre_virtio: the virtio personality shared by every device type. The
 * relay (relay.c) owns the guest-visible virtio-pci device; a device type
 * (blk.c) only describes its features, its config space and how to fail a
 * request.
 */
#ifndef _HIAGGRE_VIRTIO_H
#define _HIAGGRE_VIRTIO_H

#include <linux/fusiond.h>

struct hv_dev;

/**
 * struct hv_type - what a virtio device type adds to the relay
 * @pers: the personality registered with the framework; the relay fills
 *	in the callbacks, the type sets @pers.type and @pers.virtio_id
 * @class: PCI class code (24 bits)
 * @config_size: bytes of device-specific config space
 * @features: device feature bits passed through from the members
 * @extra_features: feature bits the relay adds for the aggregate
 *	(besides VIRTIO_F_VERSION_1), given the queue count
 * @fill_config: build the guest's device config in @cfg from the members'
 *	config (@member_cfg), the aggregate's queue count and the most
 *	page segments (@max_segs) one request may have. Mandatory.
 * @fail_request: make the guest see @req as failed (e.g. write an error
 *	status byte). Returns bytes written for the used ring. Mandatory.
 * @max_queue_size: largest queue size the guest may program
 */
struct hv_type {
	struct fusiond_personality pers;
	u32 class;
	unsigned int config_size;
	u64 features;
	u64 (*extra_features)(unsigned int nq);
	void (*fill_config)(u8 *cfg, const u8 *member_cfg, unsigned int nq,
			    unsigned int max_segs);
	u32 (*fail_request)(struct fusiond_agg *agg, struct fusiond_req *req);
	u16 max_queue_size;
};

int hv_type_register(struct hv_type *type);
void hv_type_unregister(struct hv_type *type);

/* blk.c */
int hv_blk_init(void);
void hv_blk_exit(void);

#endif /* _HIAGGRE_VIRTIO_H */

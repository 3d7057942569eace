/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdpa_gen hold: a vDPA device that outlives the module driving it
 * (hold.c, in vdpa_gen.ko).  See "Hot upgrade under virtio_vdpa" in
 * Documentation/vdpa/generic-pci.rst.
 *
 * A reloadable parent (vdpa_gen_pci.ko) allocates its vDPA devices here.
 * Every vdpa_config_ops call goes through a forwarder that calls the
 * parent's op under SRCU while the parent is attached.  When the parent
 * unloads under a running in-kernel driver it detaches and leaves a
 * snapshot (struct vdpa_gen_hold_state): until a parent adopts the device
 * again, reads are answered from it, kicks are dropped (the adopter rings
 * every doorbell once) and a reset by the driver stops the function's DMA.
 */
#ifndef _VDPA_GEN_HOLD_H
#define _VDPA_GEN_HOLD_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/vdpa.h>

/**
 * struct vdpa_gen_hold_vq - one queue of a held device, as its parent left it
 * @cb: the driver's used-buffer callback
 * @desc_area: descriptor area the driver set
 * @driver_area: driver area the driver set
 * @device_area: device area the driver set
 * @num: queue size the driver set
 * @ready: the driver enabled the queue
 */
struct vdpa_gen_hold_vq {
	struct vdpa_callback cb;
	u64 desc_area;
	u64 driver_area;
	u64 device_area;
	u32 num;
	bool ready;
};

/**
 * struct vdpa_gen_hold_state - snapshot a parent leaves when it detaches
 * @device_features: features offered to the driver
 * @driver_features: features the driver set
 * @status: device status
 * @generation: config generation
 * @vq_num_max: largest queue size
 * @vq_align: queue alignment
 * @config_cb: the driver's config-change callback
 * @config_size: bytes of @config
 * @config: device config space
 * @reset: the driver reset the device while it was held: the function is
 *	stopped (bus mastering off) and the adopter starts from a reset
 * @gen: bumped by every change the driver made while held
 * @vqs: &vdpa_gen_hold.nvqs queues
 *
 * Allocated by the parent with vdpa_gen_hold_state_alloc(); owned by the
 * hold from vdpa_gen_hold_detach() until vdpa_gen_hold_attach().
 */
struct vdpa_gen_hold_state {
	u64 device_features;
	u64 driver_features;
	u8 status;
	u32 generation;
	u16 vq_num_max;
	u32 vq_align;
	struct vdpa_callback config_cb;
	size_t config_size;
	u8 *config;
	bool reset;
	u32 gen;
	struct vdpa_gen_hold_vq vqs[];
};

/**
 * struct vdpa_gen_hold - a vDPA device whose parent may come and go
 * @vdpa: the vDPA device; must stay the first member
 * @srcu: forwarders hold it around every call into @ops
 * @ops: the attached parent's ops, or NULL while held or gone
 * @priv: the attached parent's object of this device
 * @lock: serialises attach, detach and the held device's reset
 * @st_lock: protects what changes in @st while held (callbacks, status,
 *	features, queue readiness, @st.reset)
 * @st: snapshot while held (NULL otherwise); read by the forwarders inside
 *	@srcu, freed only after an attach waited for them
 * @adopting: a parent took the device with vdpa_gen_hold_adopt() and has
 *	not attached yet (protected by the list's lock)
 * @nvqs: queues of the device
 * @device_id: virtio device ID
 * @vendor_id: virtio vendor ID
 * @config_size: device config space bytes
 * @node: in the list of held devices, while @st is set (the list's lock)
 */
struct vdpa_gen_hold {
	struct vdpa_device vdpa;
	struct srcu_struct srcu;
	const struct vdpa_config_ops __rcu *ops;
	void *priv;
	struct mutex lock; /* attach, detach, held reset */
	spinlock_t st_lock; /* @st's mutable fields */
	struct vdpa_gen_hold_state *st;
	bool adopting;
	u16 nvqs;
	u32 device_id;
	u32 vendor_id;
	size_t config_size;
	struct list_head node;
};

static inline void *vdpa_gen_hold_priv(struct vdpa_device *vdpa)
{
	return container_of(vdpa, struct vdpa_gen_hold, vdpa)->priv;
}

struct vdpa_device *vdpa_gen_hold_alloc(struct device *parent,
					const char *name, u16 nvqs,
					u32 device_id, u32 vendor_id,
					size_t config_size);
int vdpa_gen_hold_attach(struct vdpa_device *vdpa,
			 const struct vdpa_config_ops *ops, void *priv,
			 const struct vdpa_gen_hold_state *seen);
u32 vdpa_gen_hold_read(struct vdpa_device *vdpa,
		       struct vdpa_gen_hold_state *copy);
void vdpa_gen_hold_detach(struct vdpa_device *vdpa,
			  struct vdpa_gen_hold_state *st);
void vdpa_gen_hold_refresh(struct vdpa_device *vdpa,
			   void (*fill)(void *data,
					struct vdpa_gen_hold_state *st),
			   void *data);
struct vdpa_gen_hold_state *vdpa_gen_hold_state_alloc(struct vdpa_device *vdpa);
void vdpa_gen_hold_state_free(struct vdpa_gen_hold_state *st);
struct vdpa_device *vdpa_gen_hold_adopt(struct device *dma_dev);
void vdpa_gen_hold_unadopt(struct vdpa_device *vdpa);
int vdpa_gen_hold_init(void);
void vdpa_gen_hold_exit(void);

#endif /* _VDPA_GEN_HOLD_H */

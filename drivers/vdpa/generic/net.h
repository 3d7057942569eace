/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdpa_gen_net: the software L2 switch that connects every generic net
 * device of the management device, and the port interface it uses.
 */
#ifndef _VDPA_GEN_NET_H
#define _VDPA_GEN_NET_H

#include <linux/etherdevice.h>
#include <linux/hashtable.h>
#include <linux/list.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>

struct vdpa_gen_sw_port;

/**
 * struct vdpa_gen_sw_port_ops - what the switch needs from a port
 * @rx: deliver one frame to the port; @pair is the queue pair the frame
 *	was sent from, a hint for spreading flows over the port's RX queues.
 *	Called with the switch's port list held for reading and the sender's
 *	TX queue lock held; may sleep briefly.  The port filters and may drop.
 */
struct vdpa_gen_sw_port_ops {
	void (*rx)(struct vdpa_gen_sw_port *port, const u8 *frame,
		   unsigned int len, u16 pair);
};

/**
 * struct vdpa_gen_sw_port - one port of the switch
 * @node: entry in &vdpa_gen_switch.ports
 * @ops: port callbacks
 */
struct vdpa_gen_sw_port {
	struct list_head node;
	const struct vdpa_gen_sw_port_ops *ops;
};

#define VDPA_GEN_FDB_BITS	8
#define VDPA_GEN_FDB_MAX	4096

/**
 * struct vdpa_gen_switch - a learning L2 switch
 * @ports_lock: held for reading while a frame is forwarded, for writing
 *	while ports are added or removed; protects @ports
 * @ports: attached ports
 * @fdb_lock: protects @fdb and @fdb_count
 * @fdb: learnt MAC address -> port entries
 * @fdb_count: number of entries in @fdb
 */
struct vdpa_gen_switch {
	struct rw_semaphore ports_lock;
	struct list_head ports;
	spinlock_t fdb_lock; /* @fdb and @fdb_count */
	DECLARE_HASHTABLE(fdb, VDPA_GEN_FDB_BITS);
	unsigned int fdb_count;
};

void vdpa_gen_switch_init(struct vdpa_gen_switch *sw);
void vdpa_gen_switch_destroy(struct vdpa_gen_switch *sw);
void vdpa_gen_switch_attach(struct vdpa_gen_switch *sw,
			    struct vdpa_gen_sw_port *port);
void vdpa_gen_switch_detach(struct vdpa_gen_switch *sw,
			    struct vdpa_gen_sw_port *port);

/*
 * Forwarding: the sender brackets a batch of frames with begin/end (which
 * hold the port list for reading) and calls forward for each frame.
 */
void vdpa_gen_switch_begin(struct vdpa_gen_switch *sw);
void vdpa_gen_switch_end(struct vdpa_gen_switch *sw);
void vdpa_gen_switch_forward(struct vdpa_gen_switch *sw,
			     struct vdpa_gen_sw_port *from, const u8 *frame,
			     unsigned int len, u16 pair);

#endif /* _VDPA_GEN_NET_H */

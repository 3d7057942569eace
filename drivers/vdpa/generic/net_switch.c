// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_gen_net switch: MAC learning and flooding between the ports (generic
 * net devices) of one management device.  Frames are never echoed back to
 * the port they came from.
 */
#include <linux/jhash.h>
#include <linux/jiffies.h>
#include <linux/slab.h>

#include "net.h"

/* Entries not refreshed for this long are forgotten, as in a bridge. */
#define VDPA_GEN_FDB_AGE	(300 * HZ)

struct vdpa_gen_fdb_entry {
	struct hlist_node node;
	u8 addr[ETH_ALEN];
	struct vdpa_gen_sw_port *port;
	unsigned long seen;
};

static u32 vdpa_gen_fdb_hash(const u8 *addr)
{
	return jhash(addr, ETH_ALEN, 0);
}

/* Called with fdb_lock held. */
static struct vdpa_gen_fdb_entry *
vdpa_gen_fdb_find(struct vdpa_gen_switch *sw, const u8 *addr)
{
	struct vdpa_gen_fdb_entry *e;

	hash_for_each_possible(sw->fdb, e, node, vdpa_gen_fdb_hash(addr))
		if (ether_addr_equal(e->addr, addr))
			return e;
	return NULL;
}

static void vdpa_gen_fdb_learn(struct vdpa_gen_switch *sw,
			       struct vdpa_gen_sw_port *port, const u8 *addr)
{
	struct vdpa_gen_fdb_entry *e;

	if (!is_valid_ether_addr(addr))
		return;

	spin_lock(&sw->fdb_lock);
	e = vdpa_gen_fdb_find(sw, addr);
	if (e) {
		e->port = port;
		e->seen = jiffies;
	} else if (sw->fdb_count < VDPA_GEN_FDB_MAX) {
		e = kmalloc(sizeof(*e), GFP_ATOMIC);
		if (e) {
			ether_addr_copy(e->addr, addr);
			e->port = port;
			e->seen = jiffies;
			hash_add(sw->fdb, &e->node, vdpa_gen_fdb_hash(addr));
			sw->fdb_count++;
		}
	}
	spin_unlock(&sw->fdb_lock);
}

static struct vdpa_gen_sw_port *
vdpa_gen_fdb_lookup(struct vdpa_gen_switch *sw, const u8 *addr)
{
	struct vdpa_gen_sw_port *port = NULL;
	struct vdpa_gen_fdb_entry *e;

	spin_lock(&sw->fdb_lock);
	e = vdpa_gen_fdb_find(sw, addr);
	if (e && time_after(jiffies, e->seen + VDPA_GEN_FDB_AGE)) {
		hash_del(&e->node);
		sw->fdb_count--;
		kfree(e);
		e = NULL;
	}
	if (e)
		port = e->port;
	spin_unlock(&sw->fdb_lock);
	return port;
}

/* Forget every entry, or those that point at @port if it is not NULL. */
static void vdpa_gen_fdb_flush(struct vdpa_gen_switch *sw,
			       struct vdpa_gen_sw_port *port)
{
	struct vdpa_gen_fdb_entry *e;
	struct hlist_node *tmp;
	int bkt;

	spin_lock(&sw->fdb_lock);
	hash_for_each_safe(sw->fdb, bkt, tmp, e, node) {
		if (port && e->port != port)
			continue;
		hash_del(&e->node);
		sw->fdb_count--;
		kfree(e);
	}
	spin_unlock(&sw->fdb_lock);
}

void vdpa_gen_switch_init(struct vdpa_gen_switch *sw)
{
	init_rwsem(&sw->ports_lock);
	INIT_LIST_HEAD(&sw->ports);
	spin_lock_init(&sw->fdb_lock);
	hash_init(sw->fdb);
	sw->fdb_count = 0;
}

void vdpa_gen_switch_destroy(struct vdpa_gen_switch *sw)
{
	WARN_ON(!list_empty(&sw->ports));
	vdpa_gen_fdb_flush(sw, NULL);
}

void vdpa_gen_switch_attach(struct vdpa_gen_switch *sw,
			    struct vdpa_gen_sw_port *port)
{
	down_write(&sw->ports_lock);
	list_add_tail(&port->node, &sw->ports);
	up_write(&sw->ports_lock);
}

void vdpa_gen_switch_detach(struct vdpa_gen_switch *sw,
			    struct vdpa_gen_sw_port *port)
{
	/* Once this returns no sender can still be delivering to @port. */
	down_write(&sw->ports_lock);
	list_del_init(&port->node);
	vdpa_gen_fdb_flush(sw, port);
	up_write(&sw->ports_lock);
}

void vdpa_gen_switch_begin(struct vdpa_gen_switch *sw)
{
	down_read(&sw->ports_lock);
}

void vdpa_gen_switch_end(struct vdpa_gen_switch *sw)
{
	up_read(&sw->ports_lock);
}

void vdpa_gen_switch_forward(struct vdpa_gen_switch *sw,
			     struct vdpa_gen_sw_port *from, const u8 *frame,
			     unsigned int len, u16 pair)
{
	const struct ethhdr *eth = (const struct ethhdr *)frame;
	struct vdpa_gen_sw_port *to = NULL, *port;

	lockdep_assert_held_read(&sw->ports_lock);
	/*
	 * A detached port's device may still be sending until its driver
	 * is gone: drop those frames so that no FDB entry can outlive it.
	 */
	if (len < ETH_HLEN || list_empty(&from->node))
		return;

	vdpa_gen_fdb_learn(sw, from, eth->h_source);
	if (is_unicast_ether_addr(eth->h_dest))
		to = vdpa_gen_fdb_lookup(sw, eth->h_dest);

	if (to) {
		if (to != from)
			to->ops->rx(to, frame, len, pair);
		return;
	}

	/* Broadcast, multicast or unknown unicast: flood. */
	list_for_each_entry(port, &sw->ports, node)
		if (port != from)
			port->ops->rx(port, frame, len, pair);
}

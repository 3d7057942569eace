/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The state a virtio-net driver sets through its control queue (RX mode,
 * MAC address and table, VLAN filter, queue pairs, guest offloads), its
 * migration records,
 * and the RX filter it defines.  One model for both personalities that
 * have it: vdpa_gen_net executes the commands, vdpa_gen_pci watches the
 * ones its card acknowledged so that it can replay them on the card.
 * Built into vdpa_gen (net_ctrl.c).
 */
#ifndef _VDPA_GEN_NET_CTRL_H
#define _VDPA_GEN_NET_CTRL_H

#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/types.h>
#include <uapi/linux/virtio_net.h>

struct vdpa_mig_writer;

/* Addresses kept per MAC table; more set the table's overflow flag. */
#define VDPA_GEN_NET_MAC_TABLE		64
/* Largest control command taken (a MAC table of about 5000 entries). */
#define VDPA_GEN_NET_CTRL_CMD_MAX	SZ_32K

/**
 * struct vdpa_gen_net_ctrl - a net driver's control-queue state
 * @rx: VDPA_MIG_NET_RX_* flags in force (the overflow flags included)
 * @pairs: queue pairs the driver enabled
 * @n_uni: entries in @uni
 * @n_multi: entries in @multi
 * @mac: the device's own address (config, or VIRTIO_NET_CTRL_MAC_ADDR_SET)
 * @uni: extra unicast addresses of the MAC table
 * @multi: multicast addresses of the MAC table
 * @vlans: VLAN IDs the driver added
 * @offloads: guest offloads set by VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET
 *	(VDPA_GEN_NET_GUEST_OFFLOADS bits); 0 without @offloads_set
 * @offloads_set: the driver set offloads other than the negotiated ones,
 *	which a reset gives
 *
 * The owner serialises every access.
 */
struct vdpa_gen_net_ctrl {
	u32 rx;
	u16 pairs;
	unsigned int n_uni;
	unsigned int n_multi;
	u8 mac[ETH_ALEN];
	u8 uni[VDPA_GEN_NET_MAC_TABLE][ETH_ALEN];
	u8 multi[VDPA_GEN_NET_MAC_TABLE][ETH_ALEN];
	DECLARE_BITMAP(vlans, VLAN_N_VID);
	u64 offloads;
	bool offloads_set;
};

/* virtio 1.3's guest UDP segmentation offloads; not in 6.1's uAPI. */
#define VDPA_GEN_NET_F_GUEST_USO4	54
#define VDPA_GEN_NET_F_GUEST_USO6	55

/* Features VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET may switch. */
#define VDPA_GEN_NET_GUEST_OFFLOADS \
	(BIT_ULL(VIRTIO_NET_F_GUEST_CSUM) | BIT_ULL(VIRTIO_NET_F_GUEST_TSO4) | \
	 BIT_ULL(VIRTIO_NET_F_GUEST_TSO6) | BIT_ULL(VIRTIO_NET_F_GUEST_ECN) | \
	 BIT_ULL(VIRTIO_NET_F_GUEST_UFO) | \
	 BIT_ULL(VDPA_GEN_NET_F_GUEST_USO4) | \
	 BIT_ULL(VDPA_GEN_NET_F_GUEST_USO6))

void vdpa_gen_net_ctrl_reset(struct vdpa_gen_net_ctrl *c, const u8 *mac);
u8 vdpa_gen_net_ctrl_apply(struct vdpa_gen_net_ctrl *c, u64 features,
			   u16 max_vqp, const u8 *cmd, size_t len);
bool vdpa_gen_net_ctrl_accept(const struct vdpa_gen_net_ctrl *c,
			      bool vlan_filter, const u8 *frame,
			      unsigned int len);
void vdpa_gen_net_ctrl_offloads_set(struct vdpa_gen_net_ctrl *c,
				    u64 features, u64 offloads);
size_t vdpa_gen_net_ctrl_state_size(void);
int vdpa_gen_net_ctrl_save(const struct vdpa_gen_net_ctrl *c,
			   struct vdpa_mig_writer *w);
int vdpa_gen_net_ctrl_load(struct vdpa_gen_net_ctrl *c, u16 max_vqp,
			   u32 type, const void *data, u32 len, bool commit);

#endif /* _VDPA_GEN_NET_CTRL_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal generic netlink client for the vdpa family: what the selftests
 * need beyond Debian 12's `vdpa` tool (iproute2 6.1 cannot send
 * device_features) and with the kernel's errno in hand rather than a
 * message to parse.
 */
#ifndef VDPA_NL_H
#define VDPA_NL_H

#include <stdbool.h>
#include <linux/types.h>

/**
 * struct vdpa_nl_add - attributes of VDPA_CMD_DEV_NEW
 * @mgmtdev: management device, "NAME" or "BUS/NAME" (e.g. pci/0000:01:00.0)
 * @name: new device's name
 * @max_vqp: VDPA_ATTR_DEV_NET_CFG_MAX_VQP, 0 for none
 * @has_features: send @features as VDPA_ATTR_DEV_FEATURES
 * @features: device features to offer
 * @mac: VDPA_ATTR_DEV_NET_CFG_MACADDR, NULL for none
 */
struct vdpa_nl_add {
	const char *mgmtdev;
	const char *name;
	__u16 max_vqp;
	bool has_features;
	__u64 features;
	const __u8 *mac;
};

int vdpa_nl_open(void);
int vdpa_nl_dev_add(const struct vdpa_nl_add *a);
int vdpa_nl_dev_del(const char *name);

#endif /* VDPA_NL_H */

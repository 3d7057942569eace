// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_nl - a minimal generic netlink client for the vdpa family, see
 * vdpa_nl.h. One socket per process; requests wait for their ack.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/vdpa.h>

#include "vdpa_nl.h"

struct nl_req {
	struct nlmsghdr nh;
	struct genlmsghdr gh;
	char attrs[256];
};

static int nl_fd = -1;
static int vdpa_family;

static void nl_put(struct nl_req *r, unsigned short type, const void *data,
		   unsigned short len)
{
	struct nlattr *a = (void *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static void nl_init(struct nl_req *r, unsigned short family, unsigned char cmd,
		    unsigned char version)
{
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r->nh.nlmsg_type = family;
	r->nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	r->gh.cmd = cmd;
	r->gh.version = version;
}

/* The family id out of a CTRL_CMD_GETFAMILY answer, 0 if absent. */
static int nl_family_id(const struct nlmsghdr *nh)
{
	const struct nlattr *a = (const void *)((const char *)NLMSG_DATA(nh) +
						 GENL_HDRLEN);
	int alen = nh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);

	for (; alen >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN;
	     alen -= NLA_ALIGN(a->nla_len),
	     a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len)))
		if (a->nla_type == CTRL_ATTR_FAMILY_ID)
			return *(const __u16 *)((const char *)a + NLA_HDRLEN);
	return 0;
}

/*
 * Send a request and wait for its ack. Returns 0 or a negative errno; for
 * CTRL_CMD_GETFAMILY the family id is stored in vdpa_family.
 */
static int nl_call(struct nl_req *r)
{
	static char buf[8192];
	struct nlmsghdr *nh;
	ssize_t len;

	if (send(nl_fd, r, r->nh.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		len = recv(nl_fd, buf, sizeof(buf), 0);
		if (len < 0)
			return -errno;
		for (nh = (void *)buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
			if (nh->nlmsg_type == GENL_ID_CTRL)
				vdpa_family = nl_family_id(nh);
		}
	}
}

/**
 * vdpa_nl_open() - open the socket and look up the vdpa family
 *
 * Return: 0, or a negative errno (-ENOENT: no vdpa module loaded).
 */
int vdpa_nl_open(void)
{
	struct nl_req r;

	if (nl_fd < 0)
		nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
			       NETLINK_GENERIC);
	if (nl_fd < 0)
		return -errno;
	nl_init(&r, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
	nl_put(&r, CTRL_ATTR_FAMILY_NAME, VDPA_GENL_NAME, sizeof(VDPA_GENL_NAME));
	return nl_call(&r) ?: (vdpa_family ? 0 : -ENOENT);
}

/**
 * vdpa_nl_dev_add() - VDPA_CMD_DEV_NEW
 * @a: attributes
 *
 * Return: 0 or the kernel's negative errno.
 */
int vdpa_nl_dev_add(const struct vdpa_nl_add *a)
{
	const char *slash = strchr(a->mgmtdev, '/');
	const char *dev = a->mgmtdev;
	struct nl_req r;
	char bus[32];

	nl_init(&r, vdpa_family, VDPA_CMD_DEV_NEW, VDPA_GENL_VERSION);
	if (slash) {
		size_t n = slash - a->mgmtdev;

		if (n >= sizeof(bus))
			return -EINVAL;
		memcpy(bus, a->mgmtdev, n);
		bus[n] = 0;
		nl_put(&r, VDPA_ATTR_MGMTDEV_BUS_NAME, bus, n + 1);
		dev = slash + 1;
	}
	nl_put(&r, VDPA_ATTR_MGMTDEV_DEV_NAME, dev, strlen(dev) + 1);
	nl_put(&r, VDPA_ATTR_DEV_NAME, a->name, strlen(a->name) + 1);
	if (a->max_vqp)
		nl_put(&r, VDPA_ATTR_DEV_NET_CFG_MAX_VQP, &a->max_vqp,
		       sizeof(a->max_vqp));
	if (a->has_features)
		nl_put(&r, VDPA_ATTR_DEV_FEATURES, &a->features,
		       sizeof(a->features));
	if (a->mac)
		nl_put(&r, VDPA_ATTR_DEV_NET_CFG_MACADDR, a->mac, 6);
	return nl_call(&r);
}

/**
 * vdpa_nl_dev_del() - VDPA_CMD_DEV_DEL
 * @name: device name
 *
 * Return: 0 or the kernel's negative errno.
 */
int vdpa_nl_dev_del(const char *name)
{
	struct nl_req r;

	nl_init(&r, vdpa_family, VDPA_CMD_DEV_DEL, VDPA_GENL_VERSION);
	nl_put(&r, VDPA_ATTR_DEV_NAME, name, strlen(name) + 1);
	return nl_call(&r);
}

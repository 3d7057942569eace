// SPDX-License-Identifier: GPL-2.0
/*
 * gp_devadd - `vdpa dev add` over generic netlink with the attributes
 * Debian 12's vdpa tool lacks (device_features), reporting the kernel's
 * errno by name so that tests can expect a precise one.
 *
 *   gp_devadd MGMTDEV NAME [features HEX] [mac XX:XX:XX:XX:XX:XX] [max_vqp N]
 *
 * Prints "ok" or "error ENAME" (e.g. "error EINVAL"); exit 0 or 1, 2 on
 * bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdpa_nl.h"

static int bad_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s MGMTDEV NAME [features HEX] [mac MAC] [max_vqp N]\n",
		prog);
	return 2;
}

int main(int argc, char **argv)
{
	struct vdpa_nl_add a = {};
	unsigned int m[6];
	__u8 mac[6];
	int i, ret;

	if (argc < 3 || (argc - 3) % 2)
		return bad_usage(argv[0]);
	a.mgmtdev = argv[1];
	a.name = argv[2];
	for (i = 3; i < argc; i += 2) {
		if (!strcmp(argv[i], "features")) {
			a.has_features = true;
			a.features = strtoull(argv[i + 1], NULL, 16);
		} else if (!strcmp(argv[i], "max_vqp")) {
			a.max_vqp = atoi(argv[i + 1]);
		} else if (!strcmp(argv[i], "mac") &&
			   sscanf(argv[i + 1], "%x:%x:%x:%x:%x:%x", &m[0], &m[1],
				  &m[2], &m[3], &m[4], &m[5]) == 6) {
			for (int j = 0; j < 6; j++)
				mac[j] = m[j];
			a.mac = mac;
		} else {
			return bad_usage(argv[0]);
		}
	}
	ret = vdpa_nl_open();
	if (!ret)
		ret = vdpa_nl_dev_add(&a);
	if (ret) {
		printf("error %s\n", strerrorname_np(-ret) ?: "?");
		return 1;
	}
	printf("ok\n");
	return 0;
}

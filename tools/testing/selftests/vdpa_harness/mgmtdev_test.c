// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-check: after scripts/vm/load-modules.sh the vdpa bus, its two
 * bus drivers and the simulator management devices must be visible.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"

/* Return 1 if the output of @cmd contains @needle, 0 if not, -1 on error. */
static int cmd_output_has(const char *cmd, const char *needle)
{
	char line[512];
	int found = 0;
	FILE *f;

	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			found = 1;
	if (pclose(f) != 0)
		return -1;
	return found;
}

TEST(vdpa_bus_drivers)
{
	if (access("/sys/bus/vdpa", F_OK))
		SKIP(return, "no vdpa bus (compat modules not loaded)");
	EXPECT_EQ(0, access("/sys/bus/vdpa/drivers/vhost_vdpa", F_OK));
	EXPECT_EQ(0, access("/sys/bus/vdpa/drivers/virtio_vdpa", F_OK));
}

TEST(mgmtdev_lists_simulators)
{
	if (access("/sys/bus/vdpa", F_OK))
		SKIP(return, "no vdpa bus (compat modules not loaded)");
	ASSERT_EQ(1, cmd_output_has("vdpa mgmtdev show 2>&1", "vdpasim_net"));
	ASSERT_EQ(1, cmd_output_has("vdpa mgmtdev show 2>&1", "vdpasim_blk"));
}

TEST_HARNESS_MAIN

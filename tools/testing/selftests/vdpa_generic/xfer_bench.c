// SPDX-License-Identifier: GPL-2.0
/*
 * xfer_bench - frames per second between two generic net devices driven
 * from userspace (not a test; run by scripts/bench/mig-xfer.sh).
 *
 *   xfer_bench DRIVER LOG FRAMES
 *
 * DRIVER is the bus driver both devices are bound to (vhost_vdpa, the
 * kernel's, or vdpa_migrate, ours); LOG 1 starts dirty logging over both
 * devices' guest memory for the run (vdpa_migrate only).  A sends FRAMES
 * probe frames to B, keeping its TX ring full and B's RX ring refilled;
 * every frame is checked on arrival.  Prints "FPS <frames per second>".
 *
 * Two loops: by default (lockstep) each round sends what A's TX ring has
 * room for, kicks, then blocks until B received something, so one batch
 * is on its way at a time and the rate follows the round trip.  With
 * XB_LOOP=stream the loop reacts to whichever comes first, a TX
 * completion or a frame, so TX is topped up while frames are still
 * arriving, as a guest's stack does under a stream: the rate then
 * follows the slowest stage rather than the sum of them.
 *
 * By default both devices are ports of vdpagen_net's switch.  With
 * XB_MGMT_A and XB_MGMT_B set (e.g. "pci/0000:00:03.0", net cards bound to
 * vdpa_gen_pci that reach each other), they are made there instead, with
 * the cards' own MACs (scripts/bench/genpci-shadow-vtd.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/vdpa_migrate.h>

#include "kselftest_harness.h"
#include "vhost_test.h"
#include "vhost_net_lib.h"

static void die(const char *what, int err)
{
	fprintf(stderr, "xfer_bench: %s: %s\n", what, strerror(-err));
	exit(1);
}

static void log_start(struct vhc_dev *d)
{
	struct vdpa_mig_log_range r = { d->mem_iova, d->mem_size };
	struct vdpa_mig_log_start s = {
		.argsz = sizeof(s),
		.page_shift = 12,
		.nr_ranges = 1,
		.ranges = (__u64)(uintptr_t)&r,
	};
	int ret = vht_ioctl(d, VDPA_MIG_LOG_START, &s);

	if (ret)
		die("VDPA_MIG_LOG_START", ret);
}

/* B's frame @id of length @len: the probe sent to it, or not. */
static bool frame_ok(const struct net_port *b, __u32 id, __u32 len)
{
	const __u8 *p = b->rxbuf + (size_t)id * NET_BUF_SIZE;

	return len == NET_HDR_LEN + NET_MIN_FRAME + 64 &&
	       !memcmp(p + NET_HDR_LEN, b->mac, 6);
}

/* Block until A's TX or B's RX call eventfd fires (5 s: a stall). */
static void wait_either(struct net_port *a, struct net_port *b)
{
	struct pollfd pfd[2] = {
		{ .fd = a->dev.vqs[NET_TX_Q].call_fd, .events = POLLIN },
		{ .fd = b->dev.vqs[NET_RX_Q].call_fd, .events = POLLIN },
	};
	__u64 count;
	int i, ret;

	ret = poll(pfd, 2, 5000);
	if (ret < 0)
		die("poll", -errno);
	if (!ret)
		die("stream", -ETIMEDOUT);
	for (i = 0; i < 2; i++)
		if ((pfd[i].revents & POLLIN) &&
		    read(pfd[i].fd, &count, sizeof(count)) < 0 &&
		    errno != EAGAIN)
			die("read call eventfd", -errno);
}

/*
 * XB_LOOP=stream: top A's TX ring up whenever completions free room, take
 * B's frames and refill whenever they come; block only when neither
 * happened.  An interrupt between the checks and poll() leaves its
 * eventfd readable, so none is missed.
 */
static void run_stream(struct net_port *a, struct net_port *b,
		       unsigned long frames, unsigned long *got,
		       unsigned long *bad)
{
	struct vhc_vq *tx = &a->dev.vqs[NET_TX_Q];
	struct vhc_vq *rx = &b->dev.vqs[NET_RX_Q];
	unsigned long sent = 0;
	__u32 id, len;
	bool busy;
	int ret;

	while (*got + *bad < frames) {
		ret = net_reap_tx(a);
		if (ret < 0)
			die("tx", ret);
		busy = ret > 0;
		if (sent < frames && tx->num_free) {
			while (sent < frames && tx->num_free) {
				ret = net_send(a, b->mac, sent % 64, 64);
				if (ret < 0)
					die("send", ret);
				sent++;
			}
			ret = vhc_vq_kick(tx);
			if (ret)
				die("kick", ret);
			busy = true;
		}
		while ((ret = vhc_vq_get_used(rx, &id, &len)) > 0) {
			if (frame_ok(b, id, len))
				(*got)++;
			else
				(*bad)++;
			busy = true;
		}
		if (ret < 0)
			die("rx", ret);
		if (rx->num_free) {
			ret = net_fill_rx(b);
			if (ret)
				die("refill", ret);
		}
		if (!busy)
			wait_either(a, b);
	}
}

int main(int argc, char **argv)
{
	struct net_port port[2] = {};
	struct net_port *a = &port[0], *b = &port[1];
	unsigned long frames, sent = 0, got = 0, bad = 0;
	struct timespec t0, t1;
	bool stream;
	__u32 id, len;
	int i, ret;

	if (argc != 4)
		return 2;
	frames = strtoul(argv[3], NULL, 0);
	if (vhc_use(argv[1]))
		die(argv[1], -ENODEV);
	for (i = 0; i < 2; i++) {
		const char *mgmt = getenv(i ? "XB_MGMT_B" : "XB_MGMT_A");
		char extra[64];

		port[i].dev.fd = -1;
		vht_dev_name(port[i].name, sizeof(port[i].name), "xb", 'a' + i);
		port[i].mac[0] = 0x02;
		port[i].mac[5] = 0x4a + i;
		snprintf(extra, sizeof(extra), "mac 02:00:00:00:00:%02x",
			 0x4a + i);
		if (vhc_vdpa_add(mgmt ?: "vdpagen_net", port[i].name,
				 mgmt ? NULL : extra) ||
		    vhc_bind(port[i].name) < 0)
			die("vdpa dev add", -EIO);
		port[i].created = true;
		ret = vhc_open(&port[i].dev, port[i].name);
		if (!ret && mgmt)
			ret = vhc_get_config(&port[i].dev, 0, port[i].mac, 6);
		if (!ret)
			ret = vhc_mem_init(&port[i].dev, NET_MEM_SIZE);
		if (!ret)
			ret = net_start(&port[i], NET_RING);
		if (ret)
			die(port[i].name, ret);
		if (atoi(argv[2]))
			log_start(&port[i].dev);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	stream = getenv("XB_LOOP") && !strcmp(getenv("XB_LOOP"), "stream");
	if (stream)
		run_stream(a, b, frames, &got, &bad);
	while (!stream && got + bad < frames) {
		/* Take back what A sent, fill its ring again, kick. */
		ret = net_reap_tx(a);
		if (ret < 0)
			die("tx", ret);
		while (sent < frames && a->dev.vqs[NET_TX_Q].num_free) {
			ret = net_send(a, b->mac, sent % 64, 64);
			if (ret < 0)
				die("send", ret);
			sent++;
		}
		ret = vhc_vq_kick(&a->dev.vqs[NET_TX_Q]);
		if (ret)
			die("kick", ret);
		/*
		 * Everything sent arrived but A's ring is full: its TX
		 * completions, which nothing orders with B's RX ones, come
		 * next (a parent relaying each queue separately may deliver
		 * them later).
		 */
		if (got + bad == sent && sent < frames) {
			ret = vhc_vq_wait_used(&a->dev.vqs[NET_TX_Q], &id, &len,
					       5000);
			if (ret)
				die("tx wait", ret);
			continue;
		}
		ret = vhc_vq_wait_used(&b->dev.vqs[NET_RX_Q], &id, &len, 5000);
		if (ret)
			die("rx", ret);
		do {
			if (frame_ok(b, id, len))
				got++;
			else
				bad++;
		} while (vhc_vq_get_used(&b->dev.vqs[NET_RX_Q], &id, &len) > 0);
		ret = net_fill_rx(b);
		if (ret)
			die("refill", ret);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	printf("frames %lu, bad %lu\n", got, bad);
	printf("FPS %.0f\n", got / ((t1.tv_sec - t0.tv_sec) +
				    (t1.tv_nsec - t0.tv_nsec) / 1e9));
	for (i = 0; i < 2; i++) {
		vhc_close(&port[i].dev);
		vhc_vdpa_del(port[i].name);
	}
	return bad ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa-migrate: live-migrate a virtio-net "guest" between two vDPA devices
 * bound to vdpa_migrate.ko, the way a VMM would.
 *
 * The guest is this program's own virtio-net driver (the selftests' vhost
 * client) on guest memory that only it and the device touch: it sends
 * numbered probe frames to a peer MAC and counts the probe frames it
 * receives.  The source process runs the guest on the source device,
 * copies guest memory to the destination process in pre-copy rounds driven
 * by the device's dirty log (pages the device wrote) and the guest's own
 * writes, then stops the guest, takes the device state and sends the last
 * dirty pages, the state and the driver's queue positions.  The
 * destination, a separate process with its own copy of guest memory built
 * only from the stream, loads the state and lets the guest run on.
 *
 *   vdpa-migrate --src NAME --dst NAME --peer-mac MAC [options]
 *
 * Options: --mem MB (guest memory, default 16), --rate N (frames per
 * second, default 2000), --warmup MS, --round-ms MS, --max-rounds N,
 * --stop-pages N (stop-and-copy when a round has at most this many dirty
 * pages), --after MS (run on the destination before reporting),
 * --via socket|file:PATH, --json.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/vdpa_migrate.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "vhost_client.h"
#include "vmig.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NET_RX_Q	0
#define NET_TX_Q	1
#define NET_RING	256
#define NET_BUF_SIZE	2048
#define NET_HDR_LEN	12	/* struct virtio_net_hdr_v1 */
#define NET_ETHERTYPE	0x88b5
#define PROBE_MAGIC	0x76646d67	/* "vdmg" */
#define PROBE_PAYLOAD	64
#define NET_FEATURES	((1ULL << VIRTIO_F_VERSION_1) | \
			 (1ULL << VIRTIO_F_ACCESS_PLATFORM) | \
			 (1ULL << VIRTIO_NET_F_MAC))

/* Probe frame after the Ethernet header; big endian. */
struct probe {
	__u32 magic;
	__u32 seq;
	__u32 csum;
	__u32 pad;
};

struct opts {
	const char *src, *dst, *via;
	__u8 peer[6];
	unsigned int mem_mb, rate, warmup_ms, round_ms, max_rounds;
	unsigned int stop_pages, after_ms;
	bool json;
};

/* The guest: a virtio-net driver on one device. */
struct guest {
	struct vhc_dev dev;
	__u8 mac[6];
	__u8 peer[6];
	__u8 *txbuf;
	__u8 *rxbuf;
	__u32 tx_seq;
	__u64 tx_done;
	__u64 rx_frames;
	__u64 rx_bad;
	struct vmig_bitmap gdirty;	/* pages the guest wrote */
};

/* Queue positions and counters the destination's guest continues from. */
struct vmm_vq {
	__u32 num, free_head, num_free, avail_idx, last_used, ready;
	__u64 desc, avail, used;
};

struct vmm_state {
	struct vmm_vq vq[2];
	__u64 txbuf, rxbuf;
	__u8 mac[8], peer[8];
	__u32 tx_seq, pad;
	__u64 tx_done, rx_frames, rx_bad;
};

/* What the destination tells the source at the end. */
struct vmm_result {
	double downtime_ms;
	__u64 tx_seq, tx_done, rx_frames, rx_bad;
	__s32 err;
	__u32 pad;
};

static void die(const char *what, int err)
{
	fprintf(stderr, "vdpa-migrate: %s: %s\n", what, strerror(-err));
	exit(1);
}

static __u32 fnv1a(const __u8 *p, size_t len)
{
	__u32 h = 2166136261u;

	while (len--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

static __u64 g_iova(const struct guest *g, const void *p)
{
	return vhc_iova(&g->dev, p);
}

static void *g_ptr(const struct guest *g, __u64 iova)
{
	return (char *)g->dev.mem + (iova - g->dev.mem_iova);
}

/* The guest wrote [p, p + len): its pages go in the next round. */
static void g_dirty(struct guest *g, const void *p, size_t len)
{
	size_t off = (const char *)p - (const char *)g->dev.mem;

	vmig_bitmap_mark(&g->gdirty, off / VMIG_PAGE_SIZE,
			 (off % VMIG_PAGE_SIZE + len + VMIG_PAGE_SIZE - 1) /
			 VMIG_PAGE_SIZE);
}

/* Ring memory the driver writes on every operation. */
static void g_dirty_rings(struct guest *g)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct vhc_vq *vq = &g->dev.vqs[i];

		g_dirty(g, vq->desc, sizeof(*vq->desc) * vq->num);
		g_dirty(g, vq->avail, sizeof(*vq->avail) +
			sizeof(vq->avail->ring[0]) * (vq->num + 1));
	}
}

static int g_fill_rx(struct guest *g)
{
	struct vhc_vq *rx = &g->dev.vqs[NET_RX_Q];
	struct vhc_buf b = { .len = NET_BUF_SIZE };
	int ret;

	while (rx->num_free) {
		b.addr = g->rxbuf + (size_t)rx->free_head * NET_BUF_SIZE;
		ret = vhc_vq_add(rx, NULL, 0, &b, 1);
		if (ret < 0)
			return ret;
	}
	return vhc_vq_kick(rx);
}

static int g_send(struct guest *g)
{
	struct vhc_vq *tx = &g->dev.vqs[NET_TX_Q];
	__u8 *slot = g->txbuf + (size_t)tx->free_head * NET_BUF_SIZE;
	__u8 *frame = slot + NET_HDR_LEN, *payload;
	struct probe *pr = (struct probe *)(frame + 14);
	struct vhc_buf b;
	unsigned int i;
	int ret;

	memset(slot, 0, NET_HDR_LEN);
	memcpy(frame, g->peer, 6);
	memcpy(frame + 6, g->mac, 6);
	frame[12] = NET_ETHERTYPE >> 8;
	frame[13] = NET_ETHERTYPE & 0xff;
	payload = (__u8 *)(pr + 1);
	for (i = 0; i < PROBE_PAYLOAD; i++)
		payload[i] = (__u8)(g->tx_seq * 31 + i);
	pr->magic = htonl(PROBE_MAGIC);
	pr->seq = htonl(g->tx_seq);
	pr->csum = htonl(fnv1a(payload, PROBE_PAYLOAD));
	pr->pad = 0;
	b.addr = slot;
	b.len = NET_HDR_LEN + 14 + sizeof(*pr) + PROBE_PAYLOAD;
	ret = vhc_vq_add(tx, &b, 1, NULL, 0);
	if (ret < 0)
		return ret;
	g_dirty(g, slot, b.len);
	g->tx_seq++;
	return 0;
}

static void g_check_rx(struct guest *g, const __u8 *buf, __u32 len)
{
	const __u8 *frame = buf + NET_HDR_LEN;
	const struct probe *pr = (const struct probe *)(frame + 14);

	/* Other traffic of the peer's stack (IPv6 ND...) is not ours. */
	if (len < NET_HDR_LEN + 14 || frame[12] != NET_ETHERTYPE >> 8 ||
	    frame[13] != (NET_ETHERTYPE & 0xff))
		return;
	if (len < NET_HDR_LEN + 14 + sizeof(*pr) + PROBE_PAYLOAD ||
	    ntohl(pr->magic) != PROBE_MAGIC ||
	    ntohl(pr->csum) != fnv1a((const __u8 *)(pr + 1), PROBE_PAYLOAD)) {
		g->rx_bad++;
		return;
	}
	g->rx_frames++;
}

/* Run the guest for @ms: send at @rate frames/s, take what arrives. */
static int g_run(struct guest *g, unsigned int ms, unsigned int rate)
{
	double start = vmig_now_ms(), now;
	__u64 sent = 0;
	__u32 id, len;
	int ret;

	do {
		while ((ret = vhc_vq_get_used(&g->dev.vqs[NET_TX_Q], &id,
					      &len)) > 0)
			g->tx_done++;
		if (ret < 0)
			return ret;
		while ((ret = vhc_vq_get_used(&g->dev.vqs[NET_RX_Q], &id,
					      &len)) > 0)
			g_check_rx(g, g->rxbuf + (size_t)id * NET_BUF_SIZE, len);
		if (ret < 0)
			return ret;
		ret = g_fill_rx(g);
		if (ret)
			return ret;
		now = vmig_now_ms();
		while (sent < (now - start) * rate / 1000 &&
		       g->dev.vqs[NET_TX_Q].num_free) {
			ret = g_send(g);
			if (ret)
				return ret;
			sent++;
		}
		ret = vhc_vq_kick(&g->dev.vqs[NET_TX_Q]);
		if (ret)
			return ret;
		g_dirty_rings(g);
		usleep(1000);
	} while (vmig_now_ms() - start < ms);
	return 0;
}

static int g_start(struct guest *g, const struct opts *o)
{
	struct vhc_dev *d = &g->dev;
	__u8 cfg[6];
	int ret;

	ret = vhc_open(d, o->src);
	if (!ret)
		ret = vhc_mem_init(d, (size_t)o->mem_mb << 20);
	if (ret)
		return ret;
	g->txbuf = vhc_alloc(d, (size_t)NET_RING * NET_BUF_SIZE, 4096);
	g->rxbuf = vhc_alloc(d, (size_t)NET_RING * NET_BUF_SIZE, 4096);
	if (!g->txbuf || !g->rxbuf)
		return -ENOMEM;
	ret = vhc_mem_map(d);
	if (!ret)
		ret = vhc_negotiate(d, NET_FEATURES);
	if (!ret)
		ret = vhc_vq_setup(d, NET_RX_Q, NET_RING);
	if (!ret)
		ret = vhc_vq_setup(d, NET_TX_Q, NET_RING);
	if (!ret)
		ret = vhc_driver_ok(d);
	if (!ret)
		ret = vhc_get_config(d, 0, cfg, sizeof(cfg));
	if (ret)
		return ret;
	memcpy(g->mac, cfg, 6);
	memcpy(g->peer, o->peer, 6);
	ret = vmig_bitmap_init(&g->gdirty, d->mem_size / VMIG_PAGE_SIZE);
	return ret ? ret : g_fill_rx(g);
}

static void g_snapshot(const struct guest *g, struct vmm_state *s)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < 2; i++) {
		const struct vhc_vq *vq = &g->dev.vqs[i];

		s->vq[i] = (struct vmm_vq) {
			.num = vq->num, .free_head = vq->free_head,
			.num_free = vq->num_free, .avail_idx = vq->avail_idx,
			.last_used = vq->last_used, .ready = vq->ready,
			.desc = g_iova(g, vq->desc),
			.avail = g_iova(g, vq->avail),
			.used = g_iova(g, vq->used),
		};
	}
	s->txbuf = g_iova(g, g->txbuf);
	s->rxbuf = g_iova(g, g->rxbuf);
	memcpy(s->mac, g->mac, 6);
	memcpy(s->peer, g->peer, 6);
	s->tx_seq = g->tx_seq;
	s->tx_done = g->tx_done;
	s->rx_frames = g->rx_frames;
	s->rx_bad = g->rx_bad;
}

/* ---- source ------------------------------------------------------------------ */

static int source(const struct opts *o, int out, struct vmig_stats *st)
{
	struct vmig_hello hello;
	struct vmig_bitmap dirty;
	struct vmm_state vmm;
	struct guest g = {};
	double t0, t_stop;
	__u64 ddirty = 0;
	size_t len, n;
	void *blob;
	int ret;

	ret = g_start(&g, o);
	if (ret)
		die("opening the src device", ret);
	ret = g_run(&g, o->warmup_ms, o->rate);
	if (ret)
		die("guest on src", ret);

	hello = (struct vmig_hello) {
		.device_id = g.dev.device_id, .nr_vqs = g.dev.nvqs,
		.mem_iova = g.dev.mem_iova, .mem_size = g.dev.mem_size,
	};
	ret = vmig_send(out, VMIG_MSG_HELLO, 0, &hello, sizeof(hello), st);
	if (ret)
		die("stream", ret);
	ret = vmig_bitmap_init(&dirty, g.gdirty.nbits);
	if (ret)
		die("bitmap", ret);
	ret = vmig_log_start(g.dev.fd, 0, g.dev.mem_iova, g.dev.mem_size);
	if (ret)
		die("VDPA_MIG_LOG_START", ret);

	/* Round 1 copies everything; later rounds what was written since. */
	t0 = vmig_now_ms();
	vmig_bitmap_mark(&dirty, 0, dirty.nbits);
	for (;;) {
		n = vmig_bitmap_weight(&dirty);
		ret = vmig_send_pages(out, g.dev.mem, g.dev.mem_iova, &dirty,
				      st);
		if (ret)
			die("stream", ret);
		st->rounds++;
		if (!o->json)
			printf("round %u: %zu dirty pages (device %llu), ",
			       st->rounds, n, (unsigned long long)ddirty);
		if (!o->json)
			printf("%llu bytes sent so far\n",
			       (unsigned long long)st->bytes);
		if (st->rounds > 1 && (n <= o->stop_pages ||
				       st->rounds >= o->max_rounds))
			break;
		ret = g_run(&g, o->round_ms, o->rate);
		if (ret)
			die("guest on src", ret);
		ret = vmig_log_sync(g.dev.fd, 0, g.dev.mem_iova,
				    g.dev.mem_size, &dirty, &ddirty);
		if (ret)
			die("VDPA_MIG_LOG_SYNC", ret);
		for (n = 0; n < (dirty.nbits + 63) / 64; n++)
			dirty.words[n] |= g.gdirty.words[n];
		memset(g.gdirty.words, 0, (dirty.nbits + 63) / 64 * 8);
	}

	/* Stop and copy: the guest stops, then the device. */
	t_stop = vmig_now_ms();
	ret = vhc_mig_set_state(&g.dev, VDPA_MIG_STATE_SAVING);
	if (ret)
		die("SAVING", ret);
	ret = vmig_log_sync(g.dev.fd, 0, g.dev.mem_iova, g.dev.mem_size,
			    &dirty, &ddirty);
	if (ret)
		die("VDPA_MIG_LOG_SYNC", ret);
	for (n = 0; n < (dirty.nbits + 63) / 64; n++)
		dirty.words[n] |= g.gdirty.words[n];
	st->final_pages = vmig_bitmap_weight(&dirty);
	ret = vmig_send_pages(out, g.dev.mem, g.dev.mem_iova, &dirty, st);
	if (ret)
		die("stream", ret);
	ret = vhc_mig_save(&g.dev, &blob, &len);
	if (ret)
		die("VDPA_MIG_GET_DEVICE_STATE", ret);
	st->state_bytes = len;
	g_snapshot(&g, &vmm);
	ret = vmig_send(out, VMIG_MSG_STATE, 0, blob, len, st);
	if (!ret)
		ret = vmig_send(out, VMIG_MSG_VMM, 0, &vmm, sizeof(vmm), st);
	if (!ret)
		ret = vmig_send(out, VMIG_MSG_DONE, 0, &t_stop, sizeof(t_stop),
				st);
	if (ret)
		die("stream", ret);
	free(blob);
	vmig_log_stop(g.dev.fd, 0);
	st->total_ms = vmig_now_ms() - t0;
	/* The source device stays stopped until it is closed (reset). */
	vmig_bitmap_free(&dirty);
	vmig_bitmap_free(&g.gdirty);
	vhc_close(&g.dev);
	return 0;
}

/* ---- destination --------------------------------------------------------------- */

static int dest_receive(int in, struct guest *g, void **blob, size_t *blen,
			struct vmm_state *vmm, double *t_stop)
{
	struct vmig_hello *hello = NULL;
	struct vmig_msg m;
	void *p;
	int ret;

	for (;;) {
		ret = vmig_recv(in, &m, &p, 64u << 20);
		if (ret)
			return ret;
		switch (m.type) {
		case VMIG_MSG_HELLO:
			hello = p;
			if (m.len != sizeof(*hello) ||
			    hello->device_id != g->dev.device_id ||
			    hello->nr_vqs != g->dev.nvqs)
				return -EPROTO;
			g->dev.mem_iova = hello->mem_iova;
			g->dev.mem_size = hello->mem_size;
			g->dev.mem = mmap(NULL, hello->mem_size,
					  PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			free(p);
			if (g->dev.mem == MAP_FAILED)
				return -ENOMEM;
			break;
		case VMIG_MSG_PAGES:
			if (!g->dev.mem || m.arg < g->dev.mem_iova ||
			    m.arg - g->dev.mem_iova > g->dev.mem_size ||
			    m.len > g->dev.mem_size -
				    (m.arg - g->dev.mem_iova)) {
				free(p);
				return -EPROTO;
			}
			memcpy(g_ptr(g, m.arg), p, m.len);
			free(p);
			break;
		case VMIG_MSG_STATE:
			*blob = p;
			*blen = m.len;
			break;
		case VMIG_MSG_VMM:
			if (m.len != sizeof(*vmm)) {
				free(p);
				return -EPROTO;
			}
			memcpy(vmm, p, sizeof(*vmm));
			free(p);
			break;
		case VMIG_MSG_DONE:
			if (m.len != sizeof(*t_stop)) {
				free(p);
				return -EPROTO;
			}
			memcpy(t_stop, p, sizeof(*t_stop));
			free(p);
			return *blob && g->dev.mem ? 0 : -EPROTO;
		default:
			free(p);
			return -EPROTO;
		}
	}
}

/* The guest's driver side, rebuilt in this process's copy of its memory. */
static int dest_adopt(struct guest *g, const struct vmm_state *vmm)
{
	struct vhc_dev stage = g->dev;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		const struct vmm_vq *s = &vmm->vq[i];
		struct vhc_vq *vq = &stage.vqs[i];

		vq->index = i;
		vq->num = s->num;
		vq->free_head = s->free_head;
		vq->num_free = s->num_free;
		vq->avail_idx = s->avail_idx;
		vq->last_used = s->last_used;
		vq->ready = s->ready;
		vq->desc = g_ptr(g, s->desc);
		vq->avail = g_ptr(g, s->avail);
		vq->used = g_ptr(g, s->used);
		vq->kick_fd = -1;
		vq->call_fd = -1;
	}
	g->txbuf = g_ptr(g, vmm->txbuf);
	g->rxbuf = g_ptr(g, vmm->rxbuf);
	memcpy(g->mac, vmm->mac, 6);
	memcpy(g->peer, vmm->peer, 6);
	g->tx_seq = vmm->tx_seq;
	g->tx_done = vmm->tx_done;
	g->rx_frames = vmm->rx_frames;
	g->rx_bad = vmm->rx_bad;
	g->dev.mem = NULL;
	return vhc_mig_adopt(&g->dev, &stage);
}

static int destination(const struct opts *o, int in, int back)
{
	struct vmm_result res = {};
	struct vmm_state vmm;
	struct guest g = {};
	size_t blen = 0;
	void *blob = NULL;
	double t_stop = 0;
	int ret;

	ret = vhc_open(&g.dev, o->dst);
	if (!ret)
		ret = vhc_mig_set_state(&g.dev, VDPA_MIG_STATE_RESUMING);
	if (!ret)
		ret = dest_receive(in, &g, &blob, &blen, &vmm, &t_stop);
	if (!ret)
		ret = dest_adopt(&g, &vmm);
	if (!ret)
		ret = vhc_mig_load(&g.dev, blob, blen);
	if (!ret)
		ret = vhc_mig_set_state(&g.dev, VDPA_MIG_STATE_RUNNING);
	res.downtime_ms = vmig_now_ms() - t_stop;
	if (!ret)
		ret = vmig_bitmap_init(&g.gdirty, g.dev.mem_size /
				       VMIG_PAGE_SIZE);
	/* The guest runs on: kick in case it queued frames before the stop. */
	if (!ret)
		ret = vhc_vq_kick(&g.dev.vqs[NET_TX_Q]);
	if (!ret)
		ret = g_run(&g, o->after_ms, o->rate);
	res.err = ret;
	res.tx_seq = g.tx_seq;
	res.tx_done = g.tx_done;
	res.rx_frames = g.rx_frames;
	res.rx_bad = g.rx_bad;
	free(blob);
	vmig_bitmap_free(&g.gdirty);
	if (write(back, &res, sizeof(res)) != sizeof(res))
		return 1;
	vhc_close(&g.dev);
	return ret ? 1 : 0;
}

/* ---- main ------------------------------------------------------------------------ */

static int parse_mac(const char *s, __u8 *mac)
{
	unsigned int b[6], i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5]) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (b[i] > 255)
			return -EINVAL;
		mac[i] = b[i];
	}
	return 0;
}

static void usage(void)
{
	static const char * const lines[] = {
		"Usage: vdpa-migrate --src NAME --dst NAME --peer-mac MAC",
		"       [--mem MB] [--rate FPS] [--warmup MS] [--round-ms MS]",
		"       [--max-rounds N] [--stop-pages N] [--after MS]",
		"       [--via socket|file:PATH] [--json]",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(lines); i++)
		fprintf(stderr, "%s\n", lines[i]);
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "src", 1, NULL, 's' }, { "dst", 1, NULL, 'd' },
		{ "peer-mac", 1, NULL, 'p' }, { "mem", 1, NULL, 'm' },
		{ "rate", 1, NULL, 'r' }, { "warmup", 1, NULL, 'w' },
		{ "round-ms", 1, NULL, 'R' }, { "max-rounds", 1, NULL, 'n' },
		{ "stop-pages", 1, NULL, 'S' }, { "after", 1, NULL, 'a' },
		{ "via", 1, NULL, 'v' }, { "json", 0, NULL, 'j' },
		{}
	};
	int c;

	*o = (struct opts) {
		.mem_mb = 16, .rate = 2000, .warmup_ms = 500, .round_ms = 200,
		.max_rounds = 8, .stop_pages = 64, .after_ms = 1000,
		.via = "socket",
	};
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			o->src = optarg;
			break;
		case 'd':
			o->dst = optarg;
			break;
		case 'p':
			if (parse_mac(optarg, o->peer))
				usage();
			break;
		case 'm':
			o->mem_mb = atoi(optarg);
			break;
		case 'r':
			o->rate = atoi(optarg);
			break;
		case 'w':
			o->warmup_ms = atoi(optarg);
			break;
		case 'R':
			o->round_ms = atoi(optarg);
			break;
		case 'n':
			o->max_rounds = atoi(optarg);
			break;
		case 'S':
			o->stop_pages = atoi(optarg);
			break;
		case 'a':
			o->after_ms = atoi(optarg);
			break;
		case 'v':
			o->via = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		default:
			usage();
		}
	}
	if (!o->src || !o->dst || !o->mem_mb || o->mem_mb > 4096 ||
	    !o->max_rounds || (strcmp(o->via, "socket") &&
			       strncmp(o->via, "file:", 5)))
		usage();
}

static void report(const struct opts *o, const struct vmig_stats *st,
		   const struct vmm_result *r)
{
	__u64 lost = r->tx_seq - r->tx_done;

	if (o->json) {
		printf("{\"rounds\": %u, \"pages\": %llu, \"bytes\": %llu, ",
		       st->rounds, (unsigned long long)st->pages,
		       (unsigned long long)st->bytes);
		printf("\"final_pages\": %llu, \"state_bytes\": %llu, ",
		       (unsigned long long)st->final_pages,
		       (unsigned long long)st->state_bytes);
		printf("\"total_ms\": %.3f, \"downtime_ms\": %.3f, ",
		       st->total_ms, r->downtime_ms);
		printf("\"tx_sent\": %llu, \"tx_done\": %llu, ",
		       (unsigned long long)r->tx_seq,
		       (unsigned long long)r->tx_done);
		printf("\"rx_frames\": %llu, \"rx_bad\": %llu, \"error\": %d}\n",
		       (unsigned long long)r->rx_frames,
		       (unsigned long long)r->rx_bad, r->err);
		return;
	}
	printf("migrated: %u rounds, %llu pages, %llu bytes, ",
	       st->rounds, (unsigned long long)st->pages,
	       (unsigned long long)st->bytes);
	printf("%llu pages in stop-and-copy, state %llu bytes\n",
	       (unsigned long long)st->final_pages,
	       (unsigned long long)st->state_bytes);
	printf("time: total %.1f ms, downtime %.1f ms\n", st->total_ms,
	       r->downtime_ms);
	printf("guest: sent %llu frames, %llu completed (%llu outstanding), ",
	       (unsigned long long)r->tx_seq, (unsigned long long)r->tx_done,
	       (unsigned long long)lost);
	printf("received %llu (%llu bad)\n", (unsigned long long)r->rx_frames,
	       (unsigned long long)r->rx_bad);
}

int main(int argc, char **argv)
{
	struct vmig_stats st = {};
	struct vmm_result res = {};
	int sv[2], back[2], out, in, status;
	struct opts o;
	pid_t pid = -1;

	parse(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (vhc_use("vdpa_migrate"))
		die("vdpa_migrate", -ENODEV);
	if (pipe(back))
		die("pipe", -errno);
	if (!strcmp(o.via, "socket")) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			die("socketpair", -errno);
		out = sv[0];
		in = sv[1];
	} else {
		out = open(o.via + 5, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (out < 0)
			die(o.via + 5, -errno);
		in = -1;
	}

	/* The destination is another process: it sees only the stream. */
	if (in >= 0) {
		pid = fork();
		if (pid < 0)
			die("fork", -errno);
		if (!pid) {
			close(out);
			close(back[0]);
			exit(destination(&o, in, back[1]));
		}
		close(in);
	}
	source(&o, out, &st);
	if (in < 0) {
		/* A file: the destination starts when the source is done. */
		in = open(o.via + 5, O_RDONLY);
		if (in < 0)
			die(o.via + 5, -errno);
		pid = fork();
		if (pid < 0)
			die("fork", -errno);
		if (!pid) {
			close(back[0]);
			exit(destination(&o, in, back[1]));
		}
		close(in);
	}
	close(back[1]);
	close(out);
	if (read(back[0], &res, sizeof(res)) != sizeof(res))
		res.err = -EPIPE;
	waitpid(pid, &status, 0);
	st.downtime_ms = res.downtime_ms;
	report(&o, &st, &res);
	if (res.err)
		fprintf(stderr, "vdpa-migrate: destination: %s\n",
			strerror(-res.err));
	return res.err || !WIFEXITED(status) || WEXITSTATUS(status);
}

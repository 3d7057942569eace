/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Net helpers shared by the vhost selftests that pass
 * Ethernet frames between vdpa net devices driven from userspace
 * (vhost_net_test, vhost_mig_test): a port is one device with a TX and an
 * RX queue; probes carry a sequence number and a checksum, so loss,
 * corruption and duplicates are counted.  Include after
 * kselftest_harness.h and vhost_test.h.
 */
#ifndef VHOST_NET_LIB_H
#define VHOST_NET_LIB_H

#include <arpa/inet.h>
#include <time.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#define NET_MEM_SIZE	(2 << 20)
#define NET_RING	64
#define NET_BUF_SIZE	2048
#define NET_HDR_LEN	12	/* struct virtio_net_hdr_v1 */
#define NET_ETHERTYPE	0x88b5	/* IEEE local experimental */
#define NET_FRAMES	32u
#define NET_WAIT_MS	5000
#define NET_RX_Q	0
#define NET_TX_Q	1
#define NET_CTRL_PAGE	4096

#define NET_FEATURES	(BIT_ULL(VIRTIO_F_VERSION_1) | \
			 BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) | \
			 BIT_ULL(VIRTIO_NET_F_MAC) | \
			 BIT_ULL(VIRTIO_NET_F_MTU) | \
			 BIT_ULL(VIRTIO_NET_F_STATUS))

static const __u8 net_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Test payload header, after the Ethernet header; big endian. */
struct net_probe {
	__u32 magic;
	__u32 seq;
	__u32 len;	/* payload bytes after this header */
	__u32 csum;	/* FNV-1a of those bytes */
};

#define NET_MAGIC	0x76647061	/* "vdpa" */
#define NET_ETH_LEN	14
#define NET_VLAN_LEN	4	/* 802.1Q tag, between source and type */
#define NET_MIN_FRAME	(NET_ETH_LEN + (int)sizeof(struct net_probe))

struct net_port {
	struct vhc_dev dev;
	char name[32];
	__u8 mac[6];
	bool created;
	struct net_port *peer;	/* where frames sent to it are received */
	__u16 vid;	/* 802.1Q VLAN its frames carry; 0: untagged */
	bool indirect;	/* data queues add chains as indirect tables */
	__u8 *txbuf;	/* NET_RING slots of NET_BUF_SIZE, indexed by head */
	__u8 *rxbuf;
};

static inline __u32 net_fnv1a(const __u8 *p, size_t len)
{
	__u32 h = 2166136261u;

	while (len--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

static inline bool net_needs_reset(struct vhc_dev *d)
{
	__u8 status = 0;

	return !vhc_get_status(d, &status) &&
	       (status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/*
 * The device reacts to a kick from its own worker: poll up to @ms for
 * NEEDS_RESET rather than guess how long that takes on a loaded machine.
 */
static inline bool net_wait_needs_reset(struct vhc_dev *d, int ms)
{
	for (; ms > 0; ms -= 10) {
		if (net_needs_reset(d))
			return true;
		usleep(10 * 1000);
	}
	return net_needs_reset(d);
}

/* Post every free RX descriptor as an empty NET_BUF_SIZE buffer. */
static inline int net_fill_rx(struct net_port *p)
{
	struct vhc_vq *rx = &p->dev.vqs[NET_RX_Q];
	struct vhc_buf b = { .len = NET_BUF_SIZE };
	int ret;

	while (rx->num_free) {
		b.addr = p->rxbuf + (size_t)rx->free_head * NET_BUF_SIZE;
		ret = vhc_vq_add(rx, NULL, 0, &b, 1);
		if (ret < 0)
			return ret;
	}
	return vhc_vq_kick(rx);
}

/*
 * (Re)start a port from any state: reset, fresh mapping of guest memory,
 * feature negotiation, both data queues, DRIVER_OK, RX ring filled.
 * The mapping is redone because what a reset does to the device's view of
 * the IOTLB is up to the parent driver.  With @p->indirect the data
 * queues add every chain as an indirect table (@more must then hold
 * VIRTIO_RING_F_INDIRECT_DESC).  @more features must all be
 * negotiated (else -EOPNOTSUPP); with @cvq (not 0) the control queue is
 * set up at that index and @ctrl gets a page of device memory for
 * commands.
 */
static inline int net_start_ctrl(struct net_port *p, unsigned int num,
				 __u64 more, unsigned int cvq, __u8 **ctrl)
{
	struct vhc_dev *d = &p->dev;
	int ret;

	ret = vhc_reset(d);
	if (!ret && d->mem_mapped)
		ret = vhc_mem_unmap(d);
	if (ret)
		return ret;
	d->mem_used = 0;
	p->txbuf = vhc_alloc(d, (size_t)NET_RING * NET_BUF_SIZE, 64);
	p->rxbuf = vhc_alloc(d, (size_t)NET_RING * NET_BUF_SIZE, 64);
	if (!p->txbuf || !p->rxbuf)
		return -ENOMEM;
	if (cvq) {
		*ctrl = vhc_alloc(d, NET_CTRL_PAGE, NET_CTRL_PAGE);
		if (!*ctrl)
			return -ENOMEM;
	}
	ret = vhc_mem_map(d);
	if (!ret)
		ret = vhc_negotiate(d, NET_FEATURES | more);
	if (!ret && (d->features & more) != more)
		ret = -EOPNOTSUPP;
	if (!ret)
		ret = vhc_vq_setup(d, NET_RX_Q, num);
	if (!ret)
		ret = vhc_vq_setup(d, NET_TX_Q, num);
	if (!ret && cvq)
		ret = vhc_vq_setup(d, cvq, 16);
	if (!ret && p->indirect)
		ret = vhc_vq_set_indirect(&d->vqs[NET_RX_Q]);
	if (!ret && p->indirect)
		ret = vhc_vq_set_indirect(&d->vqs[NET_TX_Q]);
	if (!ret)
		ret = vhc_driver_ok(d);
	if (ret)
		return ret;
	if (net_needs_reset(d))
		return -EIO;
	return net_fill_rx(p);
}

/* net_start_ctrl() without the control queue. */
static inline int net_start(struct net_port *p, unsigned int num)
{
	return net_start_ctrl(p, num, 0, 0, NULL);
}

/* Bytes of the Ethernet header of @p's frames (with its VLAN tag). */
static inline __u32 net_eth_len(const struct net_port *p)
{
	return NET_ETH_LEN + (p->vid ? NET_VLAN_LEN : 0);
}

/* Queue one probe frame of @plen payload bytes on @p's TX queue. */
static inline int net_send(struct net_port *p, const __u8 *dst, __u32 seq,
			   __u32 plen)
{
	struct vhc_vq *tx = &p->dev.vqs[NET_TX_Q];
	struct vhc_buf b[2];
	struct net_probe *probe;
	__u8 *slot, *frame;
	__u32 i;

	if (!tx->num_free)
		return -ENOSPC;
	slot = p->txbuf + (size_t)tx->free_head * NET_BUF_SIZE;
	memset(slot, 0, NET_HDR_LEN);
	frame = slot + NET_HDR_LEN;
	memcpy(frame, dst, 6);
	memcpy(frame + 6, p->mac, 6);
	if (p->vid) {
		frame[12] = 0x81;	/* ETH_P_8021Q */
		frame[13] = 0x00;
		frame[14] = p->vid >> 8;
		frame[15] = p->vid & 0xff;
	}
	frame[net_eth_len(p) - 2] = NET_ETHERTYPE >> 8;
	frame[net_eth_len(p) - 1] = NET_ETHERTYPE & 0xff;
	probe = (struct net_probe *)(frame + net_eth_len(p));
	for (i = 0; i < plen; i++)
		((__u8 *)(probe + 1))[i] = (__u8)(seq * 7 + i * 13);
	probe->magic = htonl(NET_MAGIC);
	probe->seq = htonl(seq);
	probe->len = htonl(plen);
	probe->csum = htonl(net_fnv1a((__u8 *)(probe + 1), plen));

	/* Header and frame in separate descriptors: exercise chains. */
	b[0].addr = slot;
	b[0].len = NET_HDR_LEN;
	b[1].addr = frame;
	b[1].len = net_eth_len(p) + sizeof(*probe) + plen;
	return vhc_vq_add(tx, b, 2, NULL, 0);
}

/* Payload sizes cycle through small, odd and near-MTU lengths. */
static inline __u32 net_plen(__u32 seq)
{
	static const __u32 sizes[] = { 46, 0, 1, 333, 1024, 1482 - 16, 777 };

	return sizes[seq % ARRAY_SIZE(sizes)];
}

struct net_rx_stats {
	unsigned int frames;
	unsigned int bad;
	unsigned int dups;
	__u64 seen;	/* bitmap of sequence numbers, NET_FRAMES <= 64 */
};

/*
 * Check one received buffer: a probe from @txp to @dst with a sequence
 * number below @max, intact.  Return the sequence number, or -1 (logged).
 */
static inline long net_probe_seq(struct __test_metadata *_metadata,
				 const struct net_port *txp, const __u8 *dst,
				 const __u8 *buf, __u32 len, __u32 max)
{
	const __u8 *frame = buf + NET_HDR_LEN;
	__u32 seq, plen, eth = net_eth_len(txp);
	const struct net_probe *probe;

	if (len < NET_HDR_LEN + eth + sizeof(*probe)) {
		TH_LOG("short frame: %u bytes", len);
		return -1;
	}
	probe = (const struct net_probe *)(frame + eth);
	seq = ntohl(probe->seq);
	plen = ntohl(probe->len);
	if (memcmp(frame, dst, 6) || memcmp(frame + 6, txp->mac, 6) ||
	    (txp->vid && (frame[12] != 0x81 || frame[13] != 0 ||
			  ((frame[14] << 8 | frame[15]) & 0xfff) !=
			  txp->vid)) ||
	    frame[eth - 2] != NET_ETHERTYPE >> 8 ||
	    frame[eth - 1] != (NET_ETHERTYPE & 0xff) ||
	    ntohl(probe->magic) != NET_MAGIC || seq >= max ||
	    plen != net_plen(seq) ||
	    len != NET_HDR_LEN + eth + sizeof(*probe) + plen ||
	    ntohl(probe->csum) != net_fnv1a((const __u8 *)(probe + 1), plen)) {
		TH_LOG("corrupt frame: len %u seq %u plen %u", len, seq, plen);
		return -1;
	}
	return seq;
}

/* Check one received buffer; count it in @st. */
static inline void net_check_rx(struct __test_metadata *_metadata,
				const struct net_port *rxp,
				const struct net_port *txp, const __u8 *dst,
				const __u8 *buf, __u32 len,
				struct net_rx_stats *st)
{
	long seq = net_probe_seq(_metadata, txp, dst, buf, len, NET_FRAMES);

	(void)rxp;
	if (seq < 0) {
		st->bad++;
		return;
	}
	if (st->seen & BIT_ULL(seq))
		st->dups++;
	st->seen |= 1ULL << seq;
	st->frames++;
}

/* Reap every TX completion that is already there; return how many. */
static inline int net_reap_tx(struct net_port *p)
{
	struct vhc_vq *tx = &p->dev.vqs[NET_TX_Q];
	__u32 id, len;
	int n = 0, ret;

	while ((ret = vhc_vq_get_used(tx, &id, &len)) > 0)
		n++;
	return ret < 0 ? ret : n;
}

/* Queue NET_FRAMES probes from @txp to @dst and kick. */
static inline void net_send_all(struct __test_metadata *_metadata,
				struct net_port *txp, const __u8 *dst)
{
	__u32 seq;

	for (seq = 0; seq < NET_FRAMES; seq++)
		ASSERT_LE(0, net_send(txp, dst, seq, net_plen(seq)));
	ASSERT_EQ(0, vhc_vq_kick(&txp->dev.vqs[NET_TX_Q]));
}

/*
 * Count the TX completions of @txp and what @rxp receives from it within
 * @wait_ms. RX buffers are recycled as they are consumed.
 */
static inline void net_collect(struct __test_metadata *_metadata,
			       struct net_port *txp, struct net_port *rxp,
			       const __u8 *dst, int wait_ms,
			       struct net_rx_stats *st, unsigned int *tx_done)
{
	struct vhc_vq *rx = &rxp->dev.vqs[NET_RX_Q];
	long long deadline = vhc_now_ms() + wait_ms;
	__u32 id, len;
	int ret;

	memset(st, 0, sizeof(*st));
	*tx_done = 0;
	for (;;) {
		ret = net_reap_tx(txp);
		ASSERT_LE(0, ret);
		*tx_done += ret;
		if (st->frames + st->bad >= NET_FRAMES &&
		    *tx_done >= NET_FRAMES)
			break;
		if (vhc_now_ms() >= deadline)
			break;
		ret = vhc_vq_wait_used(rx, &id, &len, 50);
		if (ret == -ETIMEDOUT)
			continue;
		ASSERT_EQ(0, ret);
		net_check_rx(_metadata, rxp, txp, dst,
			     rxp->rxbuf + (size_t)id * NET_BUF_SIZE, len, st);
		ASSERT_EQ(0, net_fill_rx(rxp));
	}
}

/* Send NET_FRAMES probes from @txp to @dst and count what @rxp receives. */
static inline void net_xfer(struct __test_metadata *_metadata,
			    struct net_port *txp, struct net_port *rxp,
			    const __u8 *dst, int wait_ms,
			    struct net_rx_stats *st, unsigned int *tx_done)
{
	net_send_all(_metadata, txp, dst);
	net_collect(_metadata, txp, rxp, dst, wait_ms, st, tx_done);
}

static inline void net_expect_all(struct __test_metadata *_metadata,
				  const struct net_rx_stats *st,
				  unsigned int tx_done)
{
	EXPECT_EQ(NET_FRAMES, tx_done);
	EXPECT_EQ(NET_FRAMES, st->frames);
	EXPECT_EQ(0u, st->bad);
	EXPECT_EQ(0u, st->dups);
}

#endif /* VHOST_NET_LIB_H */

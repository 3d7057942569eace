// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_blk_test - drive a vdpa block device through vhost-vdpa from
 * userspace: write patterns, read them back, flush, ask for the ID and
 * check that I/O beyond the capacity fails cleanly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/vhost.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

#include "kselftest_harness.h"
#include "vhost_test.h"

#define BLK_MEM_SIZE	(1024 * 1024)
#define BLK_RING	32
#define BLK_SECTOR	512
#define BLK_IO_SECTORS	8
#define BLK_WAIT_MS	5000

#define BLK_FEATURES	(BIT_ULL(VIRTIO_F_VERSION_1) | \
			 BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) | \
			 BIT_ULL(VIRTIO_BLK_F_FLUSH))

/* The device and the one request buffer set the tests use. */
struct blk_disk {
	struct vhc_dev dev;
	__u64 capacity;
	struct virtio_blk_outhdr *hdr;
	__u8 *data;	/* BLK_IO_SECTORS sectors */
	__u8 *status;
};

FIXTURE(vhost_blk) {
	const char *mgmtdev;
	char name[32];
	bool created;
	struct blk_disk k;
};

/* Every test runs through both bus drivers. */
FIXTURE_VARIANT(vhost_blk) {
	const char *driver;
};

FIXTURE_VARIANT_ADD(vhost_blk, vhost_vdpa) {
	.driver = VHT_DRV_KERNEL,
};

FIXTURE_VARIANT_ADD(vhost_blk, vdpa_migrate) {
	.driver = VHT_DRV_MIG,
};

FIXTURE_SETUP(vhost_blk)
{
	struct vhc_dev *d = &self->k.dev;
	__u64 cap;

	d->fd = -1;
	self->mgmtdev = vht_mgmtdev("VDPA_BLK_MGMTDEV", "vdpagen_blk");
	if (!vhc_mgmtdev_present(self->mgmtdev))
		SKIP(return, "vdpa mgmtdev %s not present", self->mgmtdev);
	if (!vhc_driver_present(variant->driver))
		SKIP(return, "vdpa driver %s not loaded", variant->driver);
	ASSERT_EQ(0, vhc_use(variant->driver));

	vht_dev_name(self->name, sizeof(self->name), "vhb", 'a');
	ASSERT_EQ(0, vhc_vdpa_add(self->mgmtdev, self->name, NULL));
	self->created = true;
	ASSERT_LE(0, vhc_bind(self->name));
	ASSERT_EQ(0, vhc_open(d, self->name));
	ASSERT_EQ(VIRTIO_ID_BLOCK, (int)d->device_id);
	ASSERT_LE(sizeof(cap), d->config_size);
	ASSERT_EQ(0, vhc_get_config(d, 0, &cap, sizeof(cap)));
	self->k.capacity = le64toh(cap);
	ASSERT_LE(BLK_IO_SECTORS * 4ULL, self->k.capacity);

	ASSERT_EQ(0, vhc_mem_init(d, BLK_MEM_SIZE));
	self->k.hdr = vhc_alloc(d, sizeof(*self->k.hdr), 16);
	self->k.data = vhc_alloc(d, BLK_IO_SECTORS * BLK_SECTOR, 4096);
	self->k.status = vhc_alloc(d, 1, 1);
	ASSERT_NE(NULL, self->k.status);
	ASSERT_EQ(0, vhc_mem_map(d));
	ASSERT_EQ(0, vhc_negotiate(d, BLK_FEATURES));
	ASSERT_EQ(0, vhc_vq_setup(d, 0, BLK_RING));
	ASSERT_EQ(0, vhc_driver_ok(d));
}

FIXTURE_TEARDOWN(vhost_blk)
{
	vhc_close(&self->k.dev);
	if (self->created)
		vhc_vdpa_del(self->name);
}

/*
 * Submit one request and wait for it. Data goes out (T_OUT) or in (T_IN,
 * GET_ID) split over two descriptors to exercise chains.
 *
 * Return: the virtio-blk status byte, or a negative errno.
 */
static int blk_req(struct blk_disk *k, __u32 type, __u64 sector, __u32 len,
		   __u32 *written)
{
	struct vhc_vq *vq = &k->dev.vqs[0];
	struct vhc_buf out[3], in[3];
	unsigned int n_out = 0, n_in = 0;
	__u32 half = len / 2, id, used_len;
	bool data_out = type == VIRTIO_BLK_T_OUT;
	struct vhc_buf *dbuf = data_out ? out : in;
	unsigned int *nd = data_out ? &n_out : &n_in;
	int ret;

	k->hdr->type = htole32(type);
	k->hdr->ioprio = 0;
	k->hdr->sector = htole64(sector);
	*k->status = 0xff;

	out[n_out++] = (struct vhc_buf){ k->hdr, sizeof(*k->hdr) };
	if (half) {
		dbuf[(*nd)++] = (struct vhc_buf){ k->data, half };
		dbuf[(*nd)++] = (struct vhc_buf){ k->data + half,
						  len - half };
	} else if (len) {
		dbuf[(*nd)++] = (struct vhc_buf){ k->data, len };
	}
	in[n_in++] = (struct vhc_buf){ k->status, 1 };

	ret = vhc_vq_add(vq, out, n_out, in, n_in);
	if (ret < 0)
		return ret;
	ret = vhc_vq_kick(vq);
	if (!ret)
		ret = vhc_vq_wait_used(vq, &id, &used_len, BLK_WAIT_MS);
	if (ret)
		return ret;
	if (written)
		*written = used_len;
	return *k->status;
}

static void blk_fill(__u8 *p, size_t len, __u64 sector, __u32 salt)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (__u8)((sector + i / BLK_SECTOR) * 31 + i * 7 + salt);
}

TEST_F(vhost_blk, write_read)
{
	const size_t len = BLK_IO_SECTORS * BLK_SECTOR;
	__u64 lba[4] = { 0, 1, 1000, self->k.capacity - BLK_IO_SECTORS };
	__u8 expect[BLK_IO_SECTORS * BLK_SECTOR];
	unsigned int i;
	__u32 written;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	/* Overlapping writes: later ones must win. */
	for (i = 0; i < 4; i++) {
		blk_fill(self->k.data, len, lba[i], i);
		ASSERT_EQ(VIRTIO_BLK_S_OK,
			  blk_req(&self->k, VIRTIO_BLK_T_OUT, lba[i], len, NULL));
	}
	for (i = 0; i < 4; i++) {
		memset(self->k.data, 0, len);
		blk_fill(expect, len, lba[i], i);
		if (i == 0)	/* sectors 1..7 were rewritten by lba 1 */
			blk_fill(expect + BLK_SECTOR, len - BLK_SECTOR, 1, 1);
		ASSERT_EQ(VIRTIO_BLK_S_OK,
			  blk_req(&self->k, VIRTIO_BLK_T_IN, lba[i], len,
				  &written));
		EXPECT_EQ(0, memcmp(expect, self->k.data, len))
			TH_LOG("data mismatch at sector %llu",
			       (unsigned long long)lba[i]);
		/* Data plus status byte; some devices report 0 or just 1. */
		if (written != len + 1)
			TH_LOG("used len %u for a %zu byte read", written, len);
	}
}

TEST_F(vhost_blk, flush)
{
	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	if (!(self->k.dev.features & BIT_ULL(VIRTIO_BLK_F_FLUSH)))
		TH_LOG("%s does not offer VIRTIO_BLK_F_FLUSH", self->mgmtdev);
	EXPECT_EQ(VIRTIO_BLK_S_OK, blk_req(&self->k, VIRTIO_BLK_T_FLUSH, 0, 0,
					   NULL));
}

TEST_F(vhost_blk, get_id)
{
	char id[VIRTIO_BLK_ID_BYTES + 1];

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	memset(self->k.data, 0, VIRTIO_BLK_ID_BYTES);
	ASSERT_EQ(VIRTIO_BLK_S_OK, blk_req(&self->k, VIRTIO_BLK_T_GET_ID, 0,
					   VIRTIO_BLK_ID_BYTES, NULL));
	memcpy(id, self->k.data, VIRTIO_BLK_ID_BYTES);
	id[VIRTIO_BLK_ID_BYTES] = '\0';
	TH_LOG("device id \"%s\"", id);
	EXPECT_NE(0, id[0]);
}

TEST_F(vhost_blk, past_capacity)
{
	const __u32 sec = BLK_SECTOR;

	if (_metadata->skip)	/* 6.1 runs the body after a setup SKIP */
		return;
	EXPECT_EQ(VIRTIO_BLK_S_IOERR,
		  blk_req(&self->k, VIRTIO_BLK_T_IN, self->k.capacity, sec, NULL));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR,
		  blk_req(&self->k, VIRTIO_BLK_T_IN, self->k.capacity - 1, 2 * sec,
			  NULL));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR,
		  blk_req(&self->k, VIRTIO_BLK_T_OUT, self->k.capacity, sec, NULL));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR,
		  blk_req(&self->k, VIRTIO_BLK_T_IN, ~0ULL >> 9, sec, NULL));
	/* The last sector itself is fine, and the queue still works. */
	EXPECT_EQ(VIRTIO_BLK_S_OK,
		  blk_req(&self->k, VIRTIO_BLK_T_IN, self->k.capacity - 1, sec,
			  NULL));
}

int main(int argc, char **argv)
{
	const char *mgmtdev = vht_mgmtdev("VDPA_BLK_MGMTDEV", "vdpagen_blk");

	/* Without the device there is nothing to run: skip as a whole. */
	if (!vhc_mgmtdev_present(mgmtdev)) {
		ksft_print_header();
		ksft_exit_skip("vdpa mgmtdev %s not present\n", mgmtdev);
	}
	return test_harness_run(argc, argv);
}

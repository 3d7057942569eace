// SPDX-License-Identifier: GPL-2.0
/*
 * A minimal vhost-vdpa userspace driver for the selftests.
 *
 * See vhost_client.h for the model. The order of operations follows the
 * virtio device initialisation sequence: reset, ACKNOWLEDGE, DRIVER,
 * features, FEATURES_OK (re-read), queue setup, DRIVER_OK.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <linux/vdpa_migrate.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>

#include "vhost_client.h"

#define VHC_SYSFS_DEVS		"/sys/bus/vdpa/devices"
#define VHC_SYSFS_DRVS		"/sys/bus/vdpa/drivers"
#define VHC_BIND_WAIT_MS	5000
#define VHC_NEED_BACKEND	((1ULL << VHOST_BACKEND_F_IOTLB_MSG_V2) | \
				 (1ULL << VHOST_BACKEND_F_IOTLB_BATCH))

/* The vdpa bus driver that provides the character devices, see vhc_use(). */
static const char *vhc_drv = "vhost_vdpa";
static const char *vhc_node = "vhost-vdpa";

static int vhc_err(void)
{
	return errno ? -errno : -EIO;
}

static int vhc_ioctl(struct vhc_dev *d, unsigned long req, void *arg)
{
	return ioctl(d->fd, req, arg) < 0 ? vhc_err() : 0;
}

/**
 * vhc_sysfs_write() - write a string to a sysfs (or configfs) attribute
 * @path: attribute file
 * @val: the string, written whole
 *
 * Return: 0 or a negative errno.
 */
int vhc_sysfs_write(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return vhc_err();
	n = write(fd, val, len);
	if (n < 0)
		n = vhc_err();
	close(fd);
	if (n < 0)
		return n;
	return (size_t)n == len ? 0 : -EIO;
}

static void vhc_sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000L,
	};

	nanosleep(&ts, NULL);
}

/**
 * vhc_now_ms() - CLOCK_MONOTONIC in milliseconds, for deadlines
 *
 * Return: milliseconds since an arbitrary start.
 */
long long vhc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* --- vdpa device management ------------------------------------------- */

/**
 * vhc_mgmtdev_present() - is a vdpa management device registered?
 * @mgmtdev: management device name as shown by "vdpa mgmtdev show"
 *
 * Return: true if the vdpa tool knows @mgmtdev.
 */
bool vhc_mgmtdev_present(const char *mgmtdev)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "vdpa mgmtdev show %s >/dev/null 2>&1",
		 mgmtdev);
	return system(cmd) == 0;
}

/**
 * vhc_vdpa_add() - create a vdpa device with the vdpa tool
 * @mgmtdev: management device
 * @name: new device name
 * @extra: further "vdpa dev add" arguments (mac, mtu, ...), may be NULL
 *
 * Return: 0 or -EIO.
 */
int vhc_vdpa_add(const char *mgmtdev, const char *name, const char *extra)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "vdpa dev add mgmtdev %s name %s %s",
		 mgmtdev, name, extra ? extra : "");
	return system(cmd) == 0 ? 0 : -EIO;
}

/**
 * vhc_vdpa_del() - delete a vdpa device (quietly; it may be gone already)
 * @name: device name
 *
 * Return: 0 or -EIO.
 */
int vhc_vdpa_del(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "vdpa dev del %s >/dev/null 2>&1", name);
	return system(cmd) == 0 ? 0 : -EIO;
}

/**
 * vhc_use() - choose the bus driver whose character devices the client uses
 * @driver: "vhost_vdpa" (the kernel's, /dev/vhost-vdpa-N; the default) or
 *	"vdpa_migrate" (ours, /dev/vdpa-mig-N)
 *
 * Affects later vhc_bind(), vhc_find_minor() and vhc_open() calls.
 *
 * Return: 0, or -EINVAL for a driver the client does not know.
 */
int vhc_use(const char *driver)
{
	if (!strcmp(driver, "vhost_vdpa"))
		vhc_node = "vhost-vdpa";
	else if (!strcmp(driver, "vdpa_migrate"))
		vhc_node = "vdpa-mig";
	else
		return -EINVAL;
	vhc_drv = driver;
	return 0;
}

/**
 * vhc_driver_present() - is a vdpa bus driver registered?
 * @driver: driver name
 *
 * Return: true if /sys/bus/vdpa/drivers/@driver exists.
 */
bool vhc_driver_present(const char *driver)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), VHC_SYSFS_DRVS "/%s", driver);
	return !access(path, F_OK);
}

/**
 * vhc_node_path() - /dev path of character device N of the chosen driver
 * @buf: where to write it
 * @len: size of @buf
 * @minor: N
 */
void vhc_node_path(char *buf, size_t len, int minor)
{
	snprintf(buf, len, "/dev/%s-%d", vhc_node, minor);
}

/**
 * vhc_find_minor() - which character device N belongs to a vdpa device?
 * @name: vdpa device name
 *
 * Looks for the chosen driver's node name (vhc_use()) among the vdpa
 * device's sysfs children.
 *
 * Return: N, or -ENOENT if the device is not bound to that driver.
 */
int vhc_find_minor(const char *name)
{
	char path[PATH_MAX], fmt[64];
	struct dirent *de;
	int minor = -ENOENT;
	DIR *dir;

	snprintf(fmt, sizeof(fmt), "%s-%%d", vhc_node);
	snprintf(path, sizeof(path), VHC_SYSFS_DEVS "/%s", name);
	dir = opendir(path);
	if (!dir)
		return -ENOENT;
	while ((de = readdir(dir))) {
		if (sscanf(de->d_name, fmt, &minor) == 1)
			break;
		minor = -ENOENT;
	}
	closedir(dir);
	return minor;
}

static int vhc_bound_driver(const char *name, char *drv, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), VHC_SYSFS_DEVS "/%s/driver", name);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return vhc_err();
	link[n] = '\0';
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(drv, base);
	return 0;
}

/**
 * vhc_bind() - make the chosen driver (vhc_use()) drive a vdpa device
 * @name: vdpa device name
 *
 * Sets driver_override, unbinds any other driver, asks the bus to probe
 * and waits until the character device (/dev/vhost-vdpa-N, ...) exists.
 *
 * Return: N, or a negative errno.
 */
int vhc_bind(const char *name)
{
	char path[PATH_MAX], dev[64], drv[64];
	long long deadline;
	int ret, minor;

	snprintf(path, sizeof(path), VHC_SYSFS_DEVS "/%s/driver_override",
		 name);
	ret = vhc_sysfs_write(path, vhc_drv);
	if (ret)
		return ret;

	if (!vhc_bound_driver(name, drv, sizeof(drv)) &&
	    strcmp(drv, vhc_drv)) {
		snprintf(path, sizeof(path), VHC_SYSFS_DEVS "/%s/driver/unbind",
			 name);
		ret = vhc_sysfs_write(path, name);
		if (ret)
			return ret;
	}
	if (vhc_bound_driver(name, drv, sizeof(drv))) {
		ret = vhc_sysfs_write("/sys/bus/vdpa/drivers_probe", name);
		if (ret)
			return ret;
	}

	deadline = vhc_now_ms() + VHC_BIND_WAIT_MS;
	for (;;) {
		minor = vhc_find_minor(name);
		if (minor >= 0) {
			vhc_node_path(dev, sizeof(dev), minor);
			if (!access(dev, R_OK | W_OK))
				return minor;
		}
		if (vhc_now_ms() > deadline)
			return -ETIMEDOUT;
		vhc_sleep_ms(10);
	}
}

/* --- control path --------------------------------------------------------- */

/**
 * vhc_get_status() - read the virtio device status byte
 * @d: device
 * @status: where to store it
 *
 * Return: 0 or a negative errno.
 */
int vhc_get_status(struct vhc_dev *d, __u8 *status)
{
	return vhc_ioctl(d, VHOST_VDPA_GET_STATUS, status);
}

/**
 * vhc_set_status() - write the virtio device status byte
 * @d: device
 * @status: new status; 0 resets the device
 *
 * Return: 0 or a negative errno.
 */
int vhc_set_status(struct vhc_dev *d, __u8 status)
{
	return vhc_ioctl(d, VHOST_VDPA_SET_STATUS, &status);
}

/**
 * vhc_reset() - reset the device and forget the client's ring state
 * @d: device
 *
 * Guest memory stays allocated and mapped in vhost-vdpa's IOTLB.
 *
 * Return: 0 or a negative errno.
 */
int vhc_reset(struct vhc_dev *d)
{
	unsigned int i;

	for (i = 0; i < VHC_MAX_VQS; i++)
		d->vqs[i].ready = false;
	d->features = 0;
	return vhc_set_status(d, 0);
}

static int vhc_add_status(struct vhc_dev *d, __u8 bits)
{
	__u8 status;
	int ret;

	ret = vhc_get_status(d, &status);
	if (ret)
		return ret;
	return vhc_set_status(d, status | bits);
}

/**
 * vhc_set_features() - VHOST_SET_FEATURES, nothing else
 * @d: device
 * @features: feature bits to write
 *
 * Return: 0 or a negative errno.
 */
int vhc_set_features(struct vhc_dev *d, __u64 features)
{
	return vhc_ioctl(d, VHOST_SET_FEATURES, &features);
}

/**
 * vhc_negotiate() - negotiate features up to FEATURES_OK
 * @d: device, freshly reset (status 0)
 * @wanted: features the caller can use; only offered ones are acked
 *
 * Does not reset by itself: on 6.1 a reset may drop the parent's copy of
 * the IOTLB (vdpa_sim does), so callers reset first, then map, then
 * negotiate.
 *
 * Return: 0, -EPROTO if the device did not keep FEATURES_OK, or another
 * negative errno.
 */
int vhc_negotiate(struct vhc_dev *d, __u64 wanted)
{
	__u64 features = wanted & d->device_features;
	__u8 status;
	int ret;

	ret = vhc_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	if (!ret)
		ret = vhc_add_status(d, VIRTIO_CONFIG_S_DRIVER);
	if (!ret)
		ret = vhc_set_features(d, features);
	if (!ret)
		ret = vhc_add_status(d, VIRTIO_CONFIG_S_FEATURES_OK);
	if (!ret)
		ret = vhc_get_status(d, &status);
	if (ret)
		return ret;
	if (!(status & VIRTIO_CONFIG_S_FEATURES_OK))
		return -EPROTO;
	d->features = features;
	return 0;
}

/**
 * vhc_get_config() - read device config space
 * @d: device
 * @off: offset into config space
 * @buf: destination
 * @len: bytes to read
 *
 * Return: 0 or a negative errno (the kernel's: EINVAL, E2BIG, ...).
 */
int vhc_get_config(struct vhc_dev *d, __u32 off, void *buf, __u32 len)
{
	struct vhost_vdpa_config *c;
	int ret;

	c = calloc(1, sizeof(*c) + len);
	if (!c)
		return -ENOMEM;
	c->off = off;
	c->len = len;
	ret = vhc_ioctl(d, VHOST_VDPA_GET_CONFIG, c);
	if (!ret)
		memcpy(buf, c->buf, len);
	free(c);
	return ret;
}

/**
 * vhc_driver_ok() - set DRIVER_OK
 * @d: device
 *
 * The caller checks NEEDS_RESET itself: a device may accept DRIVER_OK and
 * then report that it cannot work with the configuration it was given.
 *
 * Return: 0 or a negative errno.
 */
int vhc_driver_ok(struct vhc_dev *d)
{
	return vhc_add_status(d, VIRTIO_CONFIG_S_DRIVER_OK);
}

/**
 * vhc_open() - open the character device of a bound vdpa device
 * @d: client state to initialise
 * @name: vdpa device name
 *
 * Takes ownership, acks the IOTLB v2 + batch backend features, reads the
 * device's identity and limits and resets it.
 *
 * Return: 0 or a negative errno; on error nothing is left open.
 */
int vhc_open(struct vhc_dev *d, const char *name)
{
	struct vhost_vdpa_iova_range range;
	char path[64];
	__u64 bf;
	unsigned int i;
	int ret;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	for (i = 0; i < VHC_MAX_VQS; i++) {
		d->vqs[i].kick_fd = -1;
		d->vqs[i].call_fd = -1;
	}
	snprintf(d->name, sizeof(d->name), "%s", name);

	d->minor = vhc_find_minor(name);
	if (d->minor < 0)
		return d->minor;
	vhc_node_path(path, sizeof(path), d->minor);
	d->fd = open(path, O_RDWR | O_CLOEXEC);
	if (d->fd < 0)
		return vhc_err();

	ret = vhc_ioctl(d, VHOST_SET_OWNER, NULL);
	if (ret)
		goto err_close;
	ret = vhc_ioctl(d, VHOST_GET_BACKEND_FEATURES, &bf);
	if (ret)
		goto err_close;
	if ((bf & VHC_NEED_BACKEND) != VHC_NEED_BACKEND) {
		ret = -EOPNOTSUPP;
		goto err_close;
	}
	bf = VHC_NEED_BACKEND;
	ret = vhc_ioctl(d, VHOST_SET_BACKEND_FEATURES, &bf);
	if (ret)
		goto err_close;
	d->backend_features = bf;

	ret = vhc_ioctl(d, VHOST_VDPA_GET_DEVICE_ID, &d->device_id);
	if (!ret)
		ret = vhc_ioctl(d, VHOST_GET_FEATURES, &d->device_features);
	if (!ret)
		ret = vhc_ioctl(d, VHOST_VDPA_GET_VRING_NUM, &d->vq_num_max);
	if (!ret)
		ret = vhc_ioctl(d, VHOST_VDPA_GET_VQS_COUNT, &d->nvqs);
	if (!ret)
		ret = vhc_ioctl(d, VHOST_VDPA_GET_CONFIG_SIZE, &d->config_size);
	if (!ret)
		ret = vhc_ioctl(d, VHOST_VDPA_GET_IOVA_RANGE, &range);
	if (ret)
		goto err_close;
	d->iova_first = range.first;
	d->iova_last = range.last;

	ret = vhc_reset(d);
	if (ret)
		goto err_close;
	return 0;

err_close:
	close(d->fd);
	d->fd = -1;
	return ret;
}

/**
 * vhc_close() - reset the device, unmap guest memory, release everything
 * @d: device; may be partially set up or already closed
 */
void vhc_close(struct vhc_dev *d)
{
	unsigned int i;

	if (d->fd >= 0) {
		vhc_set_status(d, 0);
		if (d->mem_mapped)
			vhc_mem_unmap(d);
	}
	for (i = 0; i < VHC_MAX_VQS; i++) {
		if (d->vqs[i].kick_fd >= 0)
			close(d->vqs[i].kick_fd);
		if (d->vqs[i].call_fd >= 0)
			close(d->vqs[i].call_fd);
		d->vqs[i].kick_fd = -1;
		d->vqs[i].call_fd = -1;
	}
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	if (d->mem && !d->mem_lent)
		munmap(d->mem, d->mem_size);
	d->mem = NULL;
}

/* --- guest memory and IOTLB --------------------------------------------- */

static int vhc_iotlb_msg(struct vhc_dev *d, __u8 type, __u64 iova,
			 __u64 size, __u64 uaddr, __u8 perm)
{
	struct vhost_msg_v2 msg;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	msg.type = VHOST_IOTLB_MSG_V2;
	msg.iotlb.type = type;
	msg.iotlb.iova = iova;
	msg.iotlb.size = size;
	msg.iotlb.uaddr = uaddr;
	msg.iotlb.perm = perm;

	n = write(d->fd, &msg, sizeof(msg));
	if (n < 0)
		return vhc_err();
	return n == sizeof(msg) ? 0 : -EIO;
}

/**
 * vhc_iotlb_batch() - open or close an IOTLB update batch
 * @d: device
 * @begin: true for BATCH_BEGIN, false for BATCH_END
 *
 * Return: 0 or a negative errno.
 */
int vhc_iotlb_batch(struct vhc_dev *d, bool begin)
{
	return vhc_iotlb_msg(d, begin ? VHOST_IOTLB_BATCH_BEGIN :
				 VHOST_IOTLB_BATCH_END, 0, 0, 0, 0);
}

/**
 * vhc_iotlb_update() - map [iova, iova + size) to this process' memory
 * @d: device
 * @iova: device address
 * @size: bytes
 * @uaddr: process address backing @iova
 * @perm: VHOST_ACCESS_RO/WO/RW
 *
 * Return: 0 or a negative errno.
 */
int vhc_iotlb_update(struct vhc_dev *d, __u64 iova, __u64 size,
		     const void *uaddr, __u8 perm)
{
	return vhc_iotlb_msg(d, VHOST_IOTLB_UPDATE, iova, size,
			     (__u64)(uintptr_t)uaddr, perm);
}

/**
 * vhc_iotlb_invalidate() - unmap [iova, iova + size)
 * @d: device
 * @iova: device address
 * @size: bytes
 *
 * Return: 0 or a negative errno.
 */
int vhc_iotlb_invalidate(struct vhc_dev *d, __u64 iova, __u64 size)
{
	return vhc_iotlb_msg(d, VHOST_IOTLB_INVALIDATE, iova, size, 0, 0);
}

/**
 * vhc_mem_init() - allocate (but do not map) guest memory
 * @d: device
 * @size: bytes, rounded up to pages
 *
 * Picks an IOVA window inside the device's usable range; tries to lift
 * RLIMIT_MEMLOCK because vhost-vdpa pins the pages against it.
 *
 * Return: 0 or a negative errno.
 */
int vhc_mem_init(struct vhc_dev *d, size_t size)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	size_t page = sysconf(_SC_PAGESIZE);
	__u64 iova;

	size = (size + page - 1) & ~(page - 1);
	iova = VHC_IOVA_BASE;
	if (iova < d->iova_first || iova + size - 1 > d->iova_last)
		iova = (d->iova_first + page - 1) & ~((__u64)page - 1);
	if (iova + size - 1 > d->iova_last)
		return -ERANGE;

	setrlimit(RLIMIT_MEMLOCK, &rl);
	d->mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (d->mem == MAP_FAILED) {
		d->mem = NULL;
		return vhc_err();
	}
	d->mem_size = size;
	d->mem_iova = iova;
	d->mem_used = 0;
	return 0;
}

/**
 * vhc_alloc() - carve zeroed, aligned space out of guest memory
 * @d: device
 * @size: bytes
 * @align: power of two
 *
 * Return: the space, or NULL if guest memory is exhausted.
 */
void *vhc_alloc(struct vhc_dev *d, size_t size, size_t align)
{
	size_t off = (d->mem_used + align - 1) & ~(align - 1);

	if (!d->mem || off > d->mem_size || size > d->mem_size - off)
		return NULL;
	d->mem_used = off + size;
	memset((char *)d->mem + off, 0, size);
	return (char *)d->mem + off;
}

/**
 * vhc_iova() - device address of a byte of guest memory
 * @d: device
 * @p: pointer into guest memory
 *
 * Return: the IOVA, or ~0 if @p is outside guest memory.
 */
__u64 vhc_iova(const struct vhc_dev *d, const void *p)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)d->mem;

	if (!d->mem || (uintptr_t)p < (uintptr_t)d->mem || off >= d->mem_size)
		return ~0ULL;
	return d->mem_iova + off;
}

/**
 * vhc_mem_map() - map all of guest memory, read-write, in one batch
 * @d: device
 *
 * Return: 0 or a negative errno.
 */
int vhc_mem_map(struct vhc_dev *d)
{
	int ret, end;

	ret = vhc_iotlb_batch(d, true);
	if (ret)
		return ret;
	ret = vhc_iotlb_update(d, d->mem_iova, d->mem_size, d->mem,
			       VHOST_ACCESS_RW);
	end = vhc_iotlb_batch(d, false);
	if (!ret)
		ret = end;
	if (!ret)
		d->mem_mapped = true;
	return ret;
}

/**
 * vhc_mem_unmap() - remove guest memory from the device IOTLB
 * @d: device
 *
 * Return: 0 or a negative errno.
 */
int vhc_mem_unmap(struct vhc_dev *d)
{
	int ret, end;

	ret = vhc_iotlb_batch(d, true);
	if (ret)
		return ret;
	ret = vhc_iotlb_invalidate(d, d->mem_iova, d->mem_size);
	end = vhc_iotlb_batch(d, false);
	if (!ret)
		ret = end;
	if (!ret)
		d->mem_mapped = false;
	return ret;
}

/* --- virtqueues ----------------------------------------------------------- */

static int vhc_vring_state(struct vhc_dev *d, unsigned long req,
			   unsigned int index, unsigned int num)
{
	struct vhost_vring_state s = { .index = index, .num = num };

	return vhc_ioctl(d, req, &s);
}

static int vhc_vring_file(struct vhc_dev *d, unsigned long req,
			  unsigned int index, int fd)
{
	struct vhost_vring_file f = { .index = index, .fd = fd };

	return vhc_ioctl(d, req, &f);
}

/**
 * vhc_vq_setup() - lay out a split ring in guest memory and hand it over
 * @d: device, features already negotiated, guest memory mapped
 * @index: virtqueue index
 * @num: ring size; passed to the device unchecked so tests can probe it
 *
 * Return: 0 or a negative errno (e.g. EINVAL from SET_VRING_NUM).
 */
/* Packed ring: descriptors, both event suppression areas, free IDs. */
static int vhc_vq_alloc_packed(struct vhc_dev *d, struct vhc_vq *vq,
			       unsigned int num)
{
	unsigned int i;

	vq->pdesc = vhc_alloc(d, sizeof(*vq->pdesc) * num, 64);
	vq->driver_event = vhc_alloc(d, sizeof(*vq->driver_event), 64);
	vq->device_event = vhc_alloc(d, sizeof(*vq->device_event), 64);
	free(vq->id_next);
	free(vq->id_ndesc);
	vq->id_next = calloc(num, sizeof(*vq->id_next));
	vq->id_ndesc = calloc(num, sizeof(*vq->id_ndesc));
	if (!vq->pdesc || !vq->driver_event || !vq->device_event ||
	    !vq->id_next || !vq->id_ndesc)
		return -ENOMEM;
	for (i = 0; i < num; i++)
		vq->id_next[i] = (i + 1) & 0xffff;
	vq->avail_wrap = true;
	vq->used_wrap = true;
	return 0;
}

int vhc_vq_setup(struct vhc_dev *d, unsigned int index, unsigned int num)
{
	struct vhc_vq *vq;
	struct vhost_vring_addr addr;
	unsigned int i, base = 0;
	int ret;

	if (index >= VHC_MAX_VQS || !num || num > 0x10000)
		return -EINVAL;
	vq = &d->vqs[index];
	vq->dev = d;
	vq->index = index;
	vq->num = num;
	vq->ready = false;
	vq->indirect = NULL;
	vq->packed = d->features & (1ULL << VIRTIO_F_RING_PACKED);
	if (vq->packed) {
		if (num > 0x8000)
			return -EINVAL;
		ret = vhc_vq_alloc_packed(d, vq, num);
		if (ret)
			return ret;
		/* Both positions at 0 with their wrap counters set. */
		base = 0x8000u | 0x8000u << 16;
	} else {
		vq->desc = vhc_alloc(d, sizeof(*vq->desc) * num, 64);
		vq->avail = vhc_alloc(d, sizeof(*vq->avail) +
				      sizeof(vq->avail->ring[0]) * (num + 1),
				      64);
		vq->used = vhc_alloc(d, sizeof(*vq->used) +
				     sizeof(vq->used->ring[0]) * num + 2, 64);
		if (!vq->desc || !vq->avail || !vq->used)
			return -ENOMEM;
		/* Free descriptors form a list linked through .next. */
		for (i = 0; i < num; i++)
			vq->desc[i].next = htole16((i + 1) & 0xffff);
	}
	vq->free_head = 0;
	vq->num_free = num;
	vq->avail_idx = 0;
	vq->last_used = 0;
	vq->kicked_idx = 0;
	vq->kicked_wrap = vq->avail_wrap;

	if (vq->kick_fd < 0)
		vq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vq->call_fd < 0)
		vq->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vq->kick_fd < 0 || vq->call_fd < 0)
		return vhc_err();

	ret = vhc_vring_state(d, VHOST_SET_VRING_NUM, index, num);
	if (ret)
		return ret;

	memset(&addr, 0, sizeof(addr));
	addr.index = index;
	addr.desc_user_addr = vhc_iova(d, vq->desc);
	addr.avail_user_addr = vhc_iova(d, vq->avail);
	addr.used_user_addr = vhc_iova(d, vq->used);
	ret = vhc_ioctl(d, VHOST_SET_VRING_ADDR, &addr);
	if (!ret)
		ret = vhc_vring_state(d, VHOST_SET_VRING_BASE, index, base);
	if (!ret)
		ret = vhc_vring_file(d, VHOST_SET_VRING_KICK, index,
				     vq->kick_fd);
	if (!ret)
		ret = vhc_vring_file(d, VHOST_SET_VRING_CALL, index,
				     vq->call_fd);
	if (!ret)
		ret = vhc_vring_state(d, VHOST_VDPA_SET_VRING_ENABLE, index, 1);
	if (!ret)
		vq->ready = true;
	return ret;
}

static void vhc_vq_publish(struct vhc_vq *vq, __u16 head)
{
	vq->avail->ring[vq->avail_idx % vq->num] = htole16(head);
	vq->avail_idx++;
	/* The ring entry must be visible before the index that covers it. */
	__atomic_store_n(&vq->avail->idx, htole16(vq->avail_idx),
			 __ATOMIC_RELEASE);
}

/*
 * Flags of descriptor @k of an @n-descriptor chain: @kind (WRITE or
 * INDIRECT, or 0) and NEXT on all but the last.
 */
static __u16 vhc_desc_flags(unsigned int k, unsigned int n, __u16 kind)
{
	return kind | (k + 1 < n ? VRING_DESC_F_NEXT : 0);
}

/* Flags that make a packed descriptor available in the current lap. */
static __u16 vhc_packed_avail(const struct vhc_vq *vq)
{
	return vq->avail_wrap ? 1 << VRING_PACKED_DESC_F_AVAIL :
				1 << VRING_PACKED_DESC_F_USED;
}

/*
 * A packed chain: descriptors from avail_idx on, each with the chain's
 * buffer ID; the first one's flags last, which makes the chain available.
 */
static int vhc_vq_chain_packed(struct vhc_vq *vq, const __u64 *iova,
			       const __u32 *len, const __u16 *kind,
			       unsigned int n)
{
	__u16 id = vq->free_head, i = vq->avail_idx, first_flags = 0;
	struct vring_packed_desc *first = &vq->pdesc[i];
	unsigned int k;

	for (k = 0; k < n; k++) {
		struct vring_packed_desc *desc = &vq->pdesc[i];
		__u16 flags = vhc_packed_avail(vq) |
			      vhc_desc_flags(k, n, kind[k]);

		desc->addr = htole64(iova[k]);
		desc->len = htole32(len[k]);
		desc->id = htole16(id);
		if (k)
			desc->flags = htole16(flags);
		else
			first_flags = flags;
		if (++i == vq->num) {
			i = 0;
			vq->avail_wrap = !vq->avail_wrap;
		}
	}
	vq->avail_idx = i;
	vq->free_head = vq->id_next[id];
	vq->id_ndesc[id] = n;
	vq->num_free -= n;
	__atomic_store_n(&first->flags, htole16(first_flags), __ATOMIC_RELEASE);
	return id;
}

/*
 * Write the chain into the indirect table of its ID (the next free one)
 * and make @iova, @len and @kind the one ring descriptor that points to
 * it.  Split tables link their entries through .next; packed ones are
 * read in order and carry only WRITE (virtio 1.2, 2.7.5.3.1, 2.8.19).
 */
static int vhc_vq_indirect(struct vhc_vq *vq, __u64 *iova, __u32 *len,
			   __u16 *kind, unsigned int n)
{
	size_t slot = (size_t)vq->free_head * VHC_INDIRECT_MAX;
	struct vring_packed_desc *pt;
	struct vring_desc *st;
	unsigned int k;

	if (n > VHC_INDIRECT_MAX)
		return -E2BIG;
	st = (struct vring_desc *)vq->indirect + slot;
	pt = (struct vring_packed_desc *)vq->indirect + slot;
	for (k = 0; k < n; k++) {
		if (vq->packed) {
			pt[k].addr = htole64(iova[k]);
			pt[k].len = htole32(len[k]);
			pt[k].id = 0;
			pt[k].flags = htole16(kind[k]);
		} else {
			st[k].addr = htole64(iova[k]);
			st[k].len = htole32(len[k]);
			st[k].flags = htole16(vhc_desc_flags(k, n, kind[k]));
			st[k].next = htole16(k + 1 < n ? k + 1 : 0);
		}
	}
	iova[0] = vhc_iova(vq->dev, st);
	len[0] = n * sizeof(*st);
	kind[0] = VRING_DESC_F_INDIRECT;
	return 0;
}

/* Write @n descriptors into the ring as one chain and make it available. */
static int vhc_vq_ring(struct vhc_vq *vq, const __u64 *iova,
		       const __u32 *len, const __u16 *kind, unsigned int n)
{
	__u16 head = vq->free_head, i = head;
	unsigned int k;

	if (!vq->ready || !n || n > vq->num_free)
		return -ENOSPC;
	if (vq->packed)
		return vhc_vq_chain_packed(vq, iova, len, kind, n);
	for (k = 0; k < n; k++) {
		struct vring_desc *desc = &vq->desc[i];

		desc->addr = htole64(iova[k]);
		desc->len = htole32(len[k]);
		desc->flags = htole16(vhc_desc_flags(k, n, kind[k]));
		/* .next already names the following free descriptor. */
		i = le16toh(desc->next);
	}
	vq->free_head = i;
	vq->num_free -= n;
	vhc_vq_publish(vq, head);
	return head;
}

/* Chain @n buffers, the first @n_out device-readable. */
static int vhc_vq_chain(struct vhc_vq *vq, __u64 *iova, __u32 *len,
			unsigned int n, unsigned int n_out)
{
	__u16 kind[16];
	unsigned int k;
	int ret;

	if (!vq->ready || !n || !vq->num_free)
		return -ENOSPC;
	for (k = 0; k < n; k++)
		kind[k] = k >= n_out ? VRING_DESC_F_WRITE : 0;
	if (vq->indirect) {
		ret = vhc_vq_indirect(vq, iova, len, kind, n);
		if (ret)
			return ret;
		n = 1;
	}
	return vhc_vq_ring(vq, iova, len, kind, n);
}

/**
 * vhc_vq_add() - expose one descriptor chain to the device
 * @vq: virtqueue
 * @out: device-readable buffers, first in the chain
 * @n_out: number of @out buffers
 * @in: device-writable buffers, after @out
 * @n_in: number of @in buffers
 *
 * Does not kick.
 *
 * Return: the head descriptor id, -ENOSPC if the ring is full, -EFAULT if a
 * buffer is not in guest memory.
 */
int vhc_vq_add(struct vhc_vq *vq, const struct vhc_buf *out,
	       unsigned int n_out, const struct vhc_buf *in,
	       unsigned int n_in)
{
	unsigned int n = n_out + n_in, k;
	__u64 iova[16];
	__u32 len[16];

	if (n > 16)
		return -E2BIG;
	for (k = 0; k < n; k++) {
		const struct vhc_buf *b = k < n_out ? &out[k] : &in[k - n_out];

		iova[k] = vhc_iova(vq->dev, b->addr);
		len[k] = b->len;
		if (iova[k] == ~0ULL ||
		    vhc_iova(vq->dev, (char *)b->addr + b->len - 1) == ~0ULL)
			return -EFAULT;
	}
	return vhc_vq_chain(vq, iova, len, n, n_out);
}

/**
 * vhc_vq_add_raw() - expose a single descriptor with an arbitrary address
 * @vq: virtqueue
 * @iova: device address, not checked
 * @len: length
 * @write: device-writable
 *
 * For negative tests (buffers outside guest memory).
 *
 * Return: the head descriptor id or a negative errno.
 */
int vhc_vq_add_raw(struct vhc_vq *vq, __u64 iova, __u32 len, bool write)
{
	return vhc_vq_chain(vq, &iova, &len, 1, write ? 0 : 1);
}

/**
 * vhc_vq_add_desc() - expose one ring descriptor with arbitrary flags
 * @vq: virtqueue
 * @iova: device address, not checked
 * @len: length
 * @flags: VRING_DESC_F_* (e.g. INDIRECT, for a table the caller wrote);
 *	NEXT is refused: the chain is this descriptor
 *
 * Bypasses vhc_vq_set_indirect(); for negative tests.
 *
 * Return: the head descriptor id or a negative errno.
 */
int vhc_vq_add_desc(struct vhc_vq *vq, __u64 iova, __u32 len, __u16 flags)
{
	if (flags & VRING_DESC_F_NEXT)
		return -EINVAL;
	return vhc_vq_ring(vq, &iova, &len, &flags, 1);
}

/**
 * vhc_vq_set_indirect() - from now on, add every chain as an indirect table
 * @vq: virtqueue, set up; VIRTIO_RING_F_INDIRECT_DESC negotiated
 *
 * Carves VHC_INDIRECT_MAX descriptors per chain ID out of guest memory
 * (mapped already if all of it is), page-aligned so that a dirty log can
 * tell the tables from their neighbours.  vhc_vq_setup() turns this off
 * again.
 *
 * Return: 0, -EOPNOTSUPP without the feature, or -ENOMEM.
 */
int vhc_vq_set_indirect(struct vhc_vq *vq)
{
	if (!(vq->dev->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC)))
		return -EOPNOTSUPP;
	vq->indirect = vhc_alloc(vq->dev, (size_t)vq->num * VHC_INDIRECT_MAX *
				 sizeof(struct vring_desc), 4096);
	return vq->indirect ? 0 : -ENOMEM;
}

/*
 * A packed position as one number in [0, 2 * num): the lap the wrap
 * counter tells (set in the first lap) and the descriptor.
 */
static __u32 vhc_packed_lin(const struct vhc_vq *vq, __u16 pos, bool wrap)
{
	return pos + (wrap ? 0 : vq->num);
}

/*
 * Whether the device asked to be notified of what was made available since
 * the last kick: the event position lies in [old, new).
 */
static bool vhc_vq_kick_wanted(struct vhc_vq *vq)
{
	bool event_idx = vq->dev->features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	__u32 lap, old, new, event;
	__u16 flags, off_wrap;

	/* The new descriptors or index before the device's wish is read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->packed) {
		if (!event_idx)
			return !(le16toh(__atomic_load_n(&vq->used->flags,
							 __ATOMIC_RELAXED)) &
				 VRING_USED_F_NO_NOTIFY);
		event = le16toh(__atomic_load_n((__u16 *)&vq->used->ring[vq->num],
						__ATOMIC_RELAXED));
		return (__u16)(event - vq->kicked_idx) <
		       (__u16)(vq->avail_idx - vq->kicked_idx);
	}
	flags = le16toh(__atomic_load_n(&vq->device_event->flags,
					__ATOMIC_RELAXED));
	off_wrap = le16toh(__atomic_load_n(&vq->device_event->off_wrap,
					   __ATOMIC_RELAXED));
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !event_idx)
		return flags != VRING_PACKED_EVENT_FLAG_DISABLE;
	lap = 2 * vq->num;
	old = vhc_packed_lin(vq, vq->kicked_idx, vq->kicked_wrap);
	new = vhc_packed_lin(vq, vq->avail_idx, vq->avail_wrap);
	event = vhc_packed_lin(vq, off_wrap & 0x7fff, off_wrap >> 15);
	return (event + lap - old) % lap < (new + lap - old) % lap;
}

/**
 * vhc_vq_kick() - notify the device through the kick eventfd, if it asks
 * @vq: virtqueue
 *
 * As a virtio driver does: without EVENT_IDX unless the device suppressed
 * notifications (split: VRING_USED_F_NO_NOTIFY, packed: the device event
 * flags); with it, only if the chains made available since the last call
 * reached the device's avail_event (split) or event descriptor (packed).
 * @kicks and @kicks_saved count both outcomes.
 *
 * Return: 0 or a negative errno.
 */
int vhc_vq_kick(struct vhc_vq *vq)
{
	bool wanted = vhc_vq_kick_wanted(vq);
	__u64 one = 1;

	/* The next kick covers what comes after this one, sent or not. */
	vq->kicked_idx = vq->avail_idx;
	vq->kicked_wrap = vq->avail_wrap;
	if (!wanted) {
		vq->kicks_saved++;
		return 0;
	}
	vq->kicks++;
	if (write(vq->kick_fd, &one, sizeof(one)) != sizeof(one))
		return vhc_err();
	return 0;
}

/**
 * vhc_vq_wait() - wait for the device to signal the call eventfd
 * @vq: virtqueue
 * @timeout_ms: how long, in milliseconds
 *
 * Return: 0 after a signal (consumed), -ETIMEDOUT, or a negative errno.
 */
int vhc_vq_wait(struct vhc_vq *vq, int timeout_ms)
{
	struct pollfd pfd = { .fd = vq->call_fd, .events = POLLIN };
	__u64 count;
	int ret;

	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		return vhc_err();
	if (!ret)
		return -ETIMEDOUT;
	if (read(vq->call_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return vhc_err();
	return 0;
}

/* A packed ring's next used element, if the device wrote it. */
static int vhc_vq_get_used_packed(struct vhc_vq *vq, __u32 *id, __u32 *len)
{
	struct vring_packed_desc *desc = &vq->pdesc[vq->last_used];
	__u16 flags = le16toh(__atomic_load_n(&desc->flags, __ATOMIC_ACQUIRE));
	bool avail = flags & 1 << VRING_PACKED_DESC_F_AVAIL;
	bool used = flags & 1 << VRING_PACKED_DESC_F_USED;
	__u16 n;

	if ((avail != vq->used_wrap || used != vq->used_wrap) &&
	    (vq->dev->features & (1ULL << VIRTIO_RING_F_EVENT_IDX))) {
		/* Nothing yet: an interrupt when this descriptor is used. */
		vq->driver_event->off_wrap =
			htole16(vq->last_used | vq->used_wrap << 15);
		__atomic_store_n(&vq->driver_event->flags,
				 htole16(VRING_PACKED_EVENT_FLAG_DESC),
				 __ATOMIC_RELEASE);
		/* The wish before the descriptor is read again. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		flags = le16toh(__atomic_load_n(&desc->flags,
						__ATOMIC_ACQUIRE));
		avail = flags & 1 << VRING_PACKED_DESC_F_AVAIL;
		used = flags & 1 << VRING_PACKED_DESC_F_USED;
	}
	if (avail != vq->used_wrap || used != vq->used_wrap)
		return 0;
	*id = le16toh(desc->id);
	*len = le32toh(desc->len);
	if (*id >= vq->num || !vq->id_ndesc[*id])
		return -EIO;
	n = vq->id_ndesc[*id];
	vq->id_ndesc[*id] = 0;
	vq->id_next[*id] = vq->free_head;
	vq->free_head = *id;
	vq->num_free += n;
	vq->last_used += n;
	if (vq->last_used >= vq->num) {
		vq->last_used -= vq->num;
		vq->used_wrap = !vq->used_wrap;
	}
	return 1;
}

/**
 * vhc_vq_get_used() - consume one used ring entry, if any
 * @vq: virtqueue
 * @id: head id of the chain the device returned
 * @len: bytes the device wrote into the chain
 *
 * The chain's descriptors go back on the free list.  On a split ring with
 * VIRTIO_RING_F_EVENT_IDX, finding nothing asks for an interrupt at the
 * next entry (used_event); the driver still kicks every time.  On a packed
 * ring the head id is the chain's buffer ID, and with EVENT_IDX finding
 * nothing asks for an interrupt at the next used descriptor.
 *
 * Return: 1 if an entry was consumed, 0 if none is pending, -EIO if the
 * device returned an id that is not a chain head in flight.
 */
int vhc_vq_get_used(struct vhc_vq *vq, __u32 *id, __u32 *len)
{
	struct vring_used_elem *e;
	__u16 used_idx, i, n = 1;
	__u32 head;

	if (vq->packed)
		return vhc_vq_get_used_packed(vq, id, len);
	used_idx = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
	if (used_idx == vq->last_used &&
	    (vq->dev->features & (1ULL << VIRTIO_RING_F_EVENT_IDX))) {
		vq->avail->ring[vq->num] = htole16(vq->last_used);
		/* used_event before the used index is read again. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		used_idx = le16toh(__atomic_load_n(&vq->used->idx,
						   __ATOMIC_ACQUIRE));
	}
	if (used_idx == vq->last_used)
		return 0;
	e = &vq->used->ring[vq->last_used % vq->num];
	head = le32toh(e->id);
	if (head >= vq->num)
		return -EIO;
	*id = head;
	*len = le32toh(e->len);
	vq->last_used++;

	i = head;
	while (le16toh(vq->desc[i].flags) & VRING_DESC_F_NEXT) {
		i = le16toh(vq->desc[i].next);
		if (i >= vq->num || ++n > vq->num)
			return -EIO;
	}
	vq->desc[i].next = htole16(vq->free_head);
	vq->free_head = head;
	vq->num_free += n;
	return 1;
}

/**
 * vhc_vq_wait_used() - consume one used entry, waiting for it if needed
 * @vq: virtqueue
 * @id: head id of the returned chain
 * @len: bytes written by the device
 * @timeout_ms: total time to wait
 *
 * Return: 0, -ETIMEDOUT, or a negative errno.
 */
int vhc_vq_wait_used(struct vhc_vq *vq, __u32 *id, __u32 *len,
		     int timeout_ms)
{
	long long deadline = vhc_now_ms() + timeout_ms;
	long long left;
	int ret;

	for (;;) {
		ret = vhc_vq_get_used(vq, id, len);
		if (ret)
			return ret < 0 ? ret : 0;
		left = deadline - vhc_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		ret = vhc_vq_wait(vq, (int)left);
		if (ret && ret != -ETIMEDOUT)
			return ret;
	}
}

/* --- migration ------------------------------------------------------------ */

/**
 * vhc_mig_info() - VDPA_MIG_GET_INFO
 * @d: device
 * @info: filled in
 *
 * Return: 0 or a negative errno.
 */
int vhc_mig_info(struct vhc_dev *d, struct vdpa_mig_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	return vhc_ioctl(d, VDPA_MIG_GET_INFO, info);
}

/**
 * vhc_mig_set_state() - VDPA_MIG_SET_STATE
 * @d: device
 * @state: VDPA_MIG_STATE_* to go to
 *
 * Return: 0 or a negative errno.
 */
int vhc_mig_set_state(struct vhc_dev *d, __u32 state)
{
	struct vdpa_mig_set_state s = {
		.argsz = sizeof(s),
		.state = state,
	};

	return vhc_ioctl(d, VDPA_MIG_SET_STATE, &s);
}

/**
 * vhc_mig_save() - read the device state (the device must be SAVING)
 * @d: device
 * @blob: returns a malloc()ed copy of the state
 * @len: returns its size
 *
 * Return: 0 or a negative errno.
 */
int vhc_mig_save(struct vhc_dev *d, void **blob, size_t *len)
{
	struct vdpa_mig_state_buf b = { .argsz = sizeof(b) };
	struct vdpa_mig_info info;
	int ret;

	ret = vhc_mig_info(d, &info);
	if (ret)
		return ret;
	*blob = malloc(info.state_size);
	if (!*blob)
		return -ENOMEM;
	b.size = info.state_size;
	b.data = (__u64)(uintptr_t)*blob;
	ret = vhc_ioctl(d, VDPA_MIG_GET_DEVICE_STATE, &b);
	if (ret) {
		free(*blob);
		*blob = NULL;
		return ret;
	}
	*len = b.size;
	return 0;
}

/**
 * vhc_mig_load() - load a device state (the device must be RESUMING)
 * @d: device
 * @blob: the state
 * @len: its size
 *
 * Return: 0 or a negative errno.
 */
int vhc_mig_load(struct vhc_dev *d, const void *blob, size_t len)
{
	struct vdpa_mig_state_buf b = {
		.argsz = sizeof(b),
		.size = len,
		.data = (__u64)(uintptr_t)blob,
	};

	return vhc_ioctl(d, VDPA_MIG_SET_DEVICE_STATE, &b);
}

/**
 * vhc_mig_adopt() - the "guest" moves from @src to @dst
 * @dst: destination device, open, reset
 * @src: source device
 *
 * @dst takes over @src's guest memory (mapped into @dst's IOTLB at the same
 * IOVA) and the driver side of every queue (ring pointers, free list,
 * indices), with kick and call eventfds of its own; @src keeps its mapping
 * until it closes, and closing it no longer unmaps the memory from the
 * process.  The device side comes from a loaded state.
 *
 * Return: 0 or a negative errno.
 */
int vhc_mig_adopt(struct vhc_dev *dst, struct vhc_dev *src)
{
	unsigned int i;
	int ret;

	dst->mem = src->mem;
	dst->mem_size = src->mem_size;
	dst->mem_iova = src->mem_iova;
	dst->mem_used = src->mem_used;
	dst->features = src->features;
	src->mem_lent = true;
	ret = vhc_mem_map(dst);
	if (ret)
		return ret;

	for (i = 0; i < VHC_MAX_VQS; i++) {
		struct vhc_vq *vq = &dst->vqs[i];
		int kick = vq->kick_fd, call = vq->call_fd;

		if (!src->vqs[i].ready)
			continue;
		free(vq->id_next);
		free(vq->id_ndesc);
		*vq = src->vqs[i];
		vq->dev = dst;
		vq->kicks = 0;
		vq->kicks_saved = 0;
		if (vq->packed) {
			/* The driver's bookkeeping: a copy of its own. */
			size_t sz = sizeof(*vq->id_next) * vq->num;

			vq->id_next = malloc(sz);
			vq->id_ndesc = malloc(sz);
			if (!vq->id_next || !vq->id_ndesc)
				return -ENOMEM;
			memcpy(vq->id_next, src->vqs[i].id_next, sz);
			memcpy(vq->id_ndesc, src->vqs[i].id_ndesc, sz);
		}
		vq->kick_fd = kick >= 0 ? kick :
			      eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		vq->call_fd = call >= 0 ? call :
			      eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vq->kick_fd < 0 || vq->call_fd < 0)
			return vhc_err();
		ret = vhc_vring_file(dst, VHOST_SET_VRING_KICK, i, vq->kick_fd);
		if (!ret)
			ret = vhc_vring_file(dst, VHOST_SET_VRING_CALL, i,
					     vq->call_fd);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * vhc_mig_detach() - close a saved device, keep its driver side
 * @d: device, suspended and saved
 *
 * The VMM lets go of the device node (so its parent may go away, e.g. a
 * module reload) but keeps the guest: memory, rings and queue indices stay
 * in @d for a vhc_mig_adopt() by a device opened later.  Closing the node
 * resets the device; nothing is unmapped from the process.
 */
void vhc_mig_detach(struct vhc_dev *d)
{
	void *mem = d->mem;
	bool lent = d->mem_lent;

	d->mem_lent = true;
	d->mem_mapped = false;
	vhc_close(d);
	d->mem = mem;
	d->mem_lent = lent;
}

/**
 * vhc_mig_rebase() - guest memory now lives at @mem (a copy of it)
 * @d: device whose queues point into the old copy
 * @mem: the new copy, @d->mem_size bytes, same IOVA
 *
 * Ring pointers of every queue move along; nothing is mapped or unmapped.
 */
void vhc_mig_rebase(struct vhc_dev *d, void *mem)
{
	ptrdiff_t delta = (char *)mem - (char *)d->mem;
	unsigned int i;

	for (i = 0; i < VHC_MAX_VQS; i++) {
		struct vhc_vq *vq = &d->vqs[i];

		if (!vq->desc)
			continue;
		/* Split or packed: the same three pointers. */
		vq->desc = (void *)((char *)vq->desc + delta);
		vq->avail = (void *)((char *)vq->avail + delta);
		vq->used = (void *)((char *)vq->used + delta);
		if (vq->indirect)
			vq->indirect = (char *)vq->indirect + delta;
	}
	d->mem = mem;
}

/**
 * vhc_log_start() - VDPA_MIG_LOG_START
 * @d: device
 * @asid: address space
 * @shift: log2 of the log's page size
 * @r: ranges to log
 * @nr: entries of @r
 *
 * Return: 0 or a negative errno.
 */
int vhc_log_start(struct vhc_dev *d, __u32 asid, __u32 shift,
		  const struct vdpa_mig_log_range *r, __u32 nr)
{
	struct vdpa_mig_log_start a = {
		.argsz = sizeof(a),
		.asid = asid,
		.page_shift = shift,
		.nr_ranges = nr,
		.ranges = (__u64)(uintptr_t)r,
	};

	return vhc_ioctl(d, VDPA_MIG_LOG_START, &a);
}

/**
 * vhc_log_sync() - VDPA_MIG_LOG_SYNC
 * @d: device
 * @asid: address space
 * @iova: first byte to report
 * @size: bytes to report
 * @bitmap: dirty bits are ORed in here
 * @dirty: pages reported (may be NULL)
 *
 * Return: 0 or a negative errno.
 */
int vhc_log_sync(struct vhc_dev *d, __u32 asid, __u64 iova, __u64 size,
		 __u64 *bitmap, __u64 *dirty)
{
	struct vdpa_mig_log_sync a = {
		.argsz = sizeof(a),
		.asid = asid,
		.iova = iova,
		.size = size,
		.bitmap = (__u64)(uintptr_t)bitmap,
		.dirty = ~0ULL,
	};
	int ret;

	ret = vhc_ioctl(d, VDPA_MIG_LOG_SYNC, &a);
	if (!ret && dirty)
		*dirty = a.dirty;
	return ret;
}

/**
 * vhc_log_stop() - VDPA_MIG_LOG_STOP
 * @d: device
 * @asid: address space
 *
 * Return: 0 or a negative errno.
 */
int vhc_log_stop(struct vhc_dev *d, __u32 asid)
{
	struct vdpa_mig_log_stop a = { .argsz = sizeof(a), .asid = asid };

	return vhc_ioctl(d, VDPA_MIG_LOG_STOP, &a);
}

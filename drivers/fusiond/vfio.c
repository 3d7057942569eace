// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_fusiond: the VFIO front end of an aggregate.
 *
 * An emulated-IOMMU VFIO device (its own VFIO group, used with the type1
 * container) that looks like a PCI function to its user: a 256-byte config
 * space with an MSI-X capability followed by the personality's capabilities,
 * BAR0 handled by the personality (virtio structures) and BAR1 holding the
 * MSI-X table and PBA. Interrupts are MSI-X only, delivered through eventfds
 * with vfio-pci's VFIO_DEVICE_SET_IRQS semantics. Region offsets follow
 * vfio-pci (index << 40).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/pci_ids.h>
#include <linux/pci_regs.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include "fusiond_core.h"

#define FUSIOND_OFFSET_SHIFT	40
#define FUSIOND_OFFSET_MASK	((1ULL << FUSIOND_OFFSET_SHIFT) - 1)
#define FUSIOND_CFG_SIZE	256
#define FUSIOND_MSIX_CAP	0x40
#define FUSIOND_MSIX_CAP_LEN	12
#define FUSIOND_BAR1_SIZE	0x1000
#define FUSIOND_PBA_OFFSET	0x800
#define FUSIOND_MAX_VECTORS	(FUSIOND_PBA_OFFSET / PCI_MSIX_ENTRY_SIZE)

struct fusiond_vdev {
	struct vfio_device vdev;
	struct fusiond_agg *agg;
	struct platform_device *pdev;
	unsigned int nvec;
	u32 bar0_size;

	struct mutex lock;		/* config space, MSI-X table, open */
	bool open;
	u8 cfg[FUSIOND_CFG_SIZE];
	u8 wmask[FUSIOND_CFG_SIZE];	/* bits the user may change */
	u8 msix_table[FUSIOND_PBA_OFFSET];

	spinlock_t irq_lock;		/* protects trig[] */
	struct eventfd_ctx *trig[FUSIOND_MAX_VECTORS];

	struct fusiond_pins pins;	/* guest pages the data path pinned */
};

static struct fusiond_vdev *to_fvdev(struct vfio_device *vdev)
{
	return container_of(vdev, struct fusiond_vdev, vdev);
}

/* ---- services to personalities ------------------------------------------- */

struct fusiond_pins *fusiond_vfio_pins(struct fusiond_agg *agg)
{
	return &agg->vdev->pins;
}

/**
 * fusiond_signal() - raise MSI-X vector @vector (signal its eventfd)
 * @agg: an enabled aggregate
 * @vector: vector number; ignored when out of range or without eventfd
 *
 * Any context.
 */
void fusiond_signal(struct fusiond_agg *agg, unsigned int vector)
{
	struct fusiond_vdev *fv = agg->vdev;
	unsigned long flags;

	if (vector >= fv->nvec)
		return;
	spin_lock_irqsave(&fv->irq_lock, flags);
	if (fv->trig[vector])
		eventfd_signal(fv->trig[vector], 1);
	spin_unlock_irqrestore(&fv->irq_lock, flags);
}
EXPORT_SYMBOL_GPL(fusiond_signal);

/* ---- config space -------------------------------------------------------- */

static void fusiond_cfg_put16(u8 *cfg, unsigned int off, u16 v)
{
	cfg[off] = v & 0xff;
	cfg[off + 1] = v >> 8;
}

static void fusiond_cfg_put32(u8 *cfg, unsigned int off, u32 v)
{
	fusiond_cfg_put16(cfg, off, v & 0xffff);
	fusiond_cfg_put16(cfg, off + 2, v >> 16);
}

static void fusiond_build_config(struct fusiond_vdev *fv)
{
	struct fusiond_agg *agg = fv->agg;
	u8 *cfg = fv->cfg;
	u16 device_id = 0;
	u32 class = 0;
	u8 first;

	first = agg->pers->fill_config(agg->ppriv, cfg,
				       FUSIOND_MSIX_CAP + FUSIOND_MSIX_CAP_LEN,
				       &device_id, &class, &fv->bar0_size);
	fusiond_cfg_put16(cfg, PCI_VENDOR_ID, PCI_VENDOR_ID_REDHAT_QUMRANET);
	fusiond_cfg_put16(cfg, PCI_DEVICE_ID, device_id);
	fusiond_cfg_put16(cfg, PCI_STATUS, PCI_STATUS_CAP_LIST);
	cfg[PCI_REVISION_ID] = 1;
	fusiond_cfg_put32(cfg, PCI_CLASS_REVISION, (class << 8) | 1);
	fusiond_cfg_put16(cfg, PCI_SUBSYSTEM_VENDOR_ID,
			  PCI_VENDOR_ID_REDHAT_QUMRANET);
	fusiond_cfg_put16(cfg, PCI_SUBSYSTEM_ID, agg->pers->virtio_id);
	cfg[PCI_CAPABILITY_LIST] = FUSIOND_MSIX_CAP;

	cfg[FUSIOND_MSIX_CAP + PCI_CAP_LIST_ID] = PCI_CAP_ID_MSIX;
	cfg[FUSIOND_MSIX_CAP + PCI_CAP_LIST_NEXT] = first;
	fusiond_cfg_put16(cfg, FUSIOND_MSIX_CAP + PCI_MSIX_FLAGS, fv->nvec - 1);
	fusiond_cfg_put32(cfg, FUSIOND_MSIX_CAP + PCI_MSIX_TABLE, 1);
	fusiond_cfg_put32(cfg, FUSIOND_MSIX_CAP + PCI_MSIX_PBA,
			  FUSIOND_PBA_OFFSET | 1);

	/* Writable: command (I/O, memory, master, INTx disable), BARs 0-1. */
	fv->wmask[PCI_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
				 PCI_COMMAND_MASTER;
	fv->wmask[PCI_COMMAND + 1] = PCI_COMMAND_INTX_DISABLE >> 8;
	memset(&fv->wmask[PCI_BASE_ADDRESS_0], 0xff, 8);
	fv->wmask[FUSIOND_MSIX_CAP + PCI_MSIX_FLAGS + 1] =
		(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
}

static u32 fusiond_cfg_get32(const u8 *cfg, unsigned int off)
{
	return cfg[off] | cfg[off + 1] << 8 | cfg[off + 2] << 16 |
	       (u32)cfg[off + 3] << 24;
}

/* Memory BARs: only the size-aligned address bits stick. */
static void fusiond_fix_bars(struct fusiond_vdev *fv)
{
	u32 sizes[2] = { fv->bar0_size, FUSIOND_BAR1_SIZE };

	for (unsigned int i = 0; i < 2; i++) {
		unsigned int off = PCI_BASE_ADDRESS_0 + 4 * i;
		u32 v = fusiond_cfg_get32(fv->cfg, off);

		fusiond_cfg_put32(fv->cfg, off, v & ~(sizes[i] - 1));
	}
}

static ssize_t fusiond_cfg_rw(struct fusiond_vdev *fv, char __user *ubuf,
			      size_t count, loff_t off, bool write)
{
	u8 buf[FUSIOND_CFG_SIZE];

	if (off >= FUSIOND_CFG_SIZE || count > FUSIOND_CFG_SIZE - off)
		return -EINVAL;
	if (write && copy_from_user(buf, ubuf, count))
		return -EFAULT;
	mutex_lock(&fv->lock);
	if (write) {
		for (size_t i = 0; i < count; i++) {
			u8 m = fv->wmask[off + i];

			fv->cfg[off + i] = (fv->cfg[off + i] & ~m) | (buf[i] & m);
		}
		fusiond_fix_bars(fv);
	} else {
		memcpy(buf, &fv->cfg[off], count);
	}
	mutex_unlock(&fv->lock);
	if (!write && copy_to_user(ubuf, buf, count))
		return -EFAULT;
	return count;
}

static ssize_t fusiond_bar0_rw(struct fusiond_vdev *fv, char __user *ubuf,
			       size_t count, loff_t off, bool write)
{
	u8 buf[8];
	int ret;

	if ((count != 1 && count != 2 && count != 4 && count != 8) ||
	    (off & (count - 1)) || off >= fv->bar0_size ||
	    count > fv->bar0_size - off)
		return -EINVAL;
	if (write && copy_from_user(buf, ubuf, count))
		return -EFAULT;
	ret = fv->agg->pers->bar_rw(fv->agg->ppriv, off, buf, count, write);
	if (ret)
		return ret;
	if (!write && copy_to_user(ubuf, buf, count))
		return -EFAULT;
	return count;
}

/* BAR1: the MSI-X table (kept for the user) and a PBA that reads zero. */
static ssize_t fusiond_bar1_rw(struct fusiond_vdev *fv, char __user *ubuf,
			       size_t count, loff_t off, bool write)
{
	u8 buf[64] = {};

	if (off >= FUSIOND_BAR1_SIZE || count > FUSIOND_BAR1_SIZE - off ||
	    count > sizeof(buf))
		return -EINVAL;
	if (write && copy_from_user(buf, ubuf, count))
		return -EFAULT;
	mutex_lock(&fv->lock);
	for (size_t i = 0; i < count; i++) {
		size_t o = off + i;

		if (o >= FUSIOND_PBA_OFFSET)
			continue;
		if (write)
			fv->msix_table[o] = buf[i];
		else
			buf[i] = fv->msix_table[o];
	}
	mutex_unlock(&fv->lock);
	if (!write && copy_to_user(ubuf, buf, count))
		return -EFAULT;
	return count;
}

static ssize_t fusiond_vfio_rw(struct fusiond_vdev *fv, char __user *buf,
			       size_t count, loff_t *ppos, bool write)
{
	unsigned int index = *ppos >> FUSIOND_OFFSET_SHIFT;
	loff_t off = *ppos & FUSIOND_OFFSET_MASK;
	ssize_t ret;

	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		ret = fusiond_cfg_rw(fv, buf, count, off, write);
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
		ret = fusiond_bar0_rw(fv, buf, count, off, write);
		break;
	case VFIO_PCI_BAR1_REGION_INDEX:
		ret = fusiond_bar1_rw(fv, buf, count, off, write);
		break;
	default:
		ret = -EINVAL;
	}
	if (ret > 0)
		*ppos += ret;
	return ret;
}

static ssize_t fusiond_vfio_read(struct vfio_device *vdev, char __user *buf,
				 size_t count, loff_t *ppos)
{
	return fusiond_vfio_rw(to_fvdev(vdev), buf, count, ppos, false);
}

static ssize_t fusiond_vfio_write(struct vfio_device *vdev,
				  const char __user *buf, size_t count,
				  loff_t *ppos)
{
	return fusiond_vfio_rw(to_fvdev(vdev), (char __user *)buf, count, ppos,
			       true);
}

/* ---- ioctls -------------------------------------------------------------- */

static long fusiond_get_info(struct fusiond_vdev *fv, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static long fusiond_get_region_info(struct fusiond_vdev *fv, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_region_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	if (info.index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;
	info.offset = (u64)info.index << FUSIOND_OFFSET_SHIFT;
	info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	info.cap_offset = 0;
	switch (info.index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info.size = FUSIOND_CFG_SIZE;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
		info.size = fv->bar0_size;
		break;
	case VFIO_PCI_BAR1_REGION_INDEX:
		info.size = FUSIOND_BAR1_SIZE;
		break;
	default:
		info.size = 0;
		info.flags = 0;
	}
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static long fusiond_get_irq_info(struct fusiond_vdev *fv, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	if (info.index == VFIO_PCI_MSIX_IRQ_INDEX) {
		info.flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
		info.count = fv->nvec;
	} else {
		info.flags = 0;
		info.count = 0;
	}
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static void fusiond_irqs_release(struct fusiond_vdev *fv, unsigned int start,
				 unsigned int count)
{
	struct eventfd_ctx *old[FUSIOND_MAX_VECTORS] = {};

	spin_lock_irq(&fv->irq_lock);
	for (unsigned int i = start; i < start + count; i++) {
		old[i] = fv->trig[i];
		fv->trig[i] = NULL;
	}
	spin_unlock_irq(&fv->irq_lock);
	for (unsigned int i = start; i < start + count; i++)
		if (old[i])
			eventfd_ctx_put(old[i]);
}

static int fusiond_irqs_set_eventfds(struct fusiond_vdev *fv,
				     unsigned int start, unsigned int count,
				     const s32 *fds)
{
	struct eventfd_ctx *ctx[FUSIOND_MAX_VECTORS] = {};
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (fds[i] == -1)
			continue;
		ctx[i] = fds[i] < 0 ? ERR_PTR(-EINVAL) :
				      eventfd_ctx_fdget(fds[i]);
		if (IS_ERR(ctx[i]))
			goto err_put;
	}
	for (i = 0; i < count; i++) {
		struct eventfd_ctx *old;

		spin_lock_irq(&fv->irq_lock);
		old = fv->trig[start + i];
		fv->trig[start + i] = ctx[i];
		spin_unlock_irq(&fv->irq_lock);
		if (old)
			eventfd_ctx_put(old);
	}
	return 0;

err_put:
	{
		int ret = PTR_ERR(ctx[i]);

		while (i--)
			if (ctx[i])
				eventfd_ctx_put(ctx[i]);
		return ret;
	}
}

static long fusiond_set_irqs(struct fusiond_vdev *fv, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_set, count);
	struct vfio_irq_set hdr;
	size_t data_size = 0;
	u8 *data = NULL;
	int ret;

	if (copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	if (hdr.index != VFIO_PCI_MSIX_IRQ_INDEX)
		return -EINVAL;
	ret = vfio_set_irqs_validate_and_prepare(&hdr, fv->nvec,
						 VFIO_PCI_NUM_IRQS, &data_size);
	if (ret)
		return ret;
	if ((hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) !=
	    VFIO_IRQ_SET_ACTION_TRIGGER)
		return -EINVAL;
	if (data_size) {
		data = memdup_user(arg + minsz, data_size);
		if (IS_ERR(data))
			return PTR_ERR(data);
	}

	switch (hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		if (!hdr.count)
			fusiond_irqs_release(fv, 0, fv->nvec);
		for (unsigned int i = 0; i < hdr.count; i++)
			fusiond_signal(fv->agg, hdr.start + i);
		break;
	case VFIO_IRQ_SET_DATA_BOOL:
		for (unsigned int i = 0; i < hdr.count; i++)
			if (data[i])
				fusiond_signal(fv->agg, hdr.start + i);
		break;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		ret = fusiond_irqs_set_eventfds(fv, hdr.start, hdr.count,
						(const s32 *)data);
		break;
	}
	kfree(data);
	return ret;
}

static long fusiond_vfio_ioctl(struct vfio_device *vdev, unsigned int cmd,
			       unsigned long arg)
{
	struct fusiond_vdev *fv = to_fvdev(vdev);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return fusiond_get_info(fv, uarg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return fusiond_get_region_info(fv, uarg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return fusiond_get_irq_info(fv, uarg);
	case VFIO_DEVICE_SET_IRQS:
		return fusiond_set_irqs(fv, uarg);
	case VFIO_DEVICE_RESET:
		fv->agg->pers->reset(fv->agg->ppriv);
		return 0;
	}
	return -ENOTTY;
}

static int fusiond_vfio_open(struct vfio_device *vdev)
{
	struct fusiond_vdev *fv = to_fvdev(vdev);

	mutex_lock(&fv->lock);
	fv->open = true;
	mutex_unlock(&fv->lock);
	return 0;
}

static void fusiond_vfio_close(struct vfio_device *vdev)
{
	struct fusiond_vdev *fv = to_fvdev(vdev);

	fv->agg->pers->reset(fv->agg->ppriv);
	fusiond_pins_drop(&fv->pins, 0, U64_MAX);
	fusiond_irqs_release(fv, 0, fv->nvec);
	mutex_lock(&fv->lock);
	fv->open = false;
	mutex_unlock(&fv->lock);
}

static void fusiond_vfio_dma_unmap(struct vfio_device *vdev, u64 iova,
				   u64 length)
{
	struct fusiond_vdev *fv = to_fvdev(vdev);

	/* The personality stops requests that may use the range, then the
	 * cached pins in it go.
	 */
	fv->agg->pers->dma_unmap(fv->agg->ppriv, iova, length);
	fusiond_pins_drop(&fv->pins, iova, length);
}

static void fusiond_vfio_release(struct vfio_device *vdev)
{
	vfio_free_device(vdev);
}

static const struct vfio_device_ops fusiond_vfio_ops = {
	.name = "vfio-fusiond",
	.release = fusiond_vfio_release,
	.open_device = fusiond_vfio_open,
	.close_device = fusiond_vfio_close,
	.read = fusiond_vfio_read,
	.write = fusiond_vfio_write,
	.ioctl = fusiond_vfio_ioctl,
	.dma_unmap = fusiond_vfio_dma_unmap,
};

/* ---- lifetime ------------------------------------------------------------ */

/*
 * The VFIO device's parent must be bound to a driver (VFIO pins the driver's
 * module while the device is open), so each aggregate gets a platform
 * device bound to this platform driver.
 */
static int fusiond_pdrv_probe(struct platform_device *pdev)
{
	return 0;
}

static struct platform_driver fusiond_pdrv = {
	.probe = fusiond_pdrv_probe,
	.driver = {
		.name = "fusiond",
		.suppress_bind_attrs = true,
	},
};

int fusiond_vfio_create(struct fusiond_agg *agg)
{
	struct platform_device *pdev;
	struct fusiond_vdev *fv;
	unsigned int nvec;
	int ret;

	nvec = agg->pers->num_vectors(agg->ppriv);
	if (!nvec || nvec > FUSIOND_MAX_VECTORS)
		return -EINVAL;
	pdev = platform_device_register_simple("fusiond", PLATFORM_DEVID_AUTO,
					       NULL, 0);
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);
	if (!pdev->dev.driver) {
		ret = -ENODEV;
		goto err_unregister_pdev;
	}
	fv = vfio_alloc_device(fusiond_vdev, vdev, &pdev->dev,
			       &fusiond_vfio_ops);
	if (IS_ERR(fv)) {
		ret = PTR_ERR(fv);
		goto err_unregister_pdev;
	}
	fv->agg = agg;
	fv->pdev = pdev;
	fv->nvec = nvec;
	mutex_init(&fv->lock);
	spin_lock_init(&fv->irq_lock);
	fusiond_pins_init(&fv->pins, &fv->vdev);
	agg->vdev = fv;
	fusiond_build_config(fv);
	if (!fv->bar0_size || !is_power_of_2(fv->bar0_size)) {
		ret = -EINVAL;
		goto err_put_vdev;
	}
	ret = vfio_register_emulated_iommu_dev(&fv->vdev);
	if (ret)
		goto err_put_vdev;
	return 0;

err_put_vdev:
	agg->vdev = NULL;
	vfio_put_device(&fv->vdev);
err_unregister_pdev:
	platform_device_unregister(pdev);
	return ret;
}

bool fusiond_vfio_is_open(struct fusiond_agg *agg)
{
	struct fusiond_vdev *fv = agg->vdev;
	bool open;

	if (!fv)
		return false;
	mutex_lock(&fv->lock);
	open = fv->open;
	mutex_unlock(&fv->lock);
	return open;
}

int fusiond_vfio_destroy(struct fusiond_agg *agg, bool force)
{
	struct fusiond_vdev *fv = agg->vdev;
	struct platform_device *pdev = fv->pdev;

	if (!force && fusiond_vfio_is_open(agg))
		return -EBUSY;
	/* Waits for the user to close the device. */
	vfio_unregister_group_dev(&fv->vdev);
	agg->vdev = NULL;
	vfio_put_device(&fv->vdev);
	platform_device_unregister(pdev);
	return 0;
}

int fusiond_vfio_group_id(struct fusiond_agg *agg)
{
	struct iommu_group *grp;
	int id;

	grp = iommu_group_get(&agg->vdev->pdev->dev);
	if (!grp)
		return -1;
	id = iommu_group_id(grp);
	iommu_group_put(grp);
	return id;
}

int fusiond_vfio_init(void)
{
	return platform_driver_register(&fusiond_pdrv);
}

void fusiond_vfio_exit(void)
{
	platform_driver_unregister(&fusiond_pdrv);
}

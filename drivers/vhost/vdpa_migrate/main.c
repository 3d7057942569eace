// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_migrate: a vdpa bus driver that gives each bound vDPA device a
 * character device /dev/vdpa-mig-N speaking the Linux 6.1 vhost-vdpa uAPI
 * (plus VHOST_VDPA_RESUME), built on the kernel's vhost core.
 *
 * It coexists with the kernel's vhost_vdpa: it only binds a device whose
 * driver_override is "vdpa_migrate", and its nodes, sysfs devices and
 * chrdev region are named "vdpa-mig", never "vhost-vdpa".
 *
 * This file: bus driver and character device lifecycle.  A probe creates
 * the node; open takes the device for one user, resets it and sets up the
 * vhost core; release undoes everything a user did (callbacks, maps,
 * status); remove deletes the node and waits for the user to close.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "vdpa_mig.h"

#define VDPA_MIG_DRV_NAME	"vdpa_migrate"
#define VDPA_MIG_MINORS		BIT(MINORBITS)

static dev_t vdpa_mig_devt;
static DEFINE_IDA(vdpa_mig_minors);

/* A kick eventfd fired: tell the parent.  Runs in the eventfd wakeup. */
static void vdpa_mig_handle_kick(struct vhost_work *work)
{
	struct vhost_virtqueue *vq = container_of(work, struct vhost_virtqueue,
						  poll.work);
	struct vdpa_mig *m = vhost_to_mig(vq->dev);

	m->vdpa->config->kick_vq(m->vdpa, vq - m->vqs);
}

static int vdpa_mig_open(struct inode *inode, struct file *file)
{
	struct vdpa_mig *m = container_of(inode->i_cdev, struct vdpa_mig, cdev);
	struct vhost_virtqueue **vqs;
	u32 i;
	int ret;

	if (atomic_cmpxchg(&m->opened, 0, 1))
		return -EBUSY;

	/* Whatever the last user left behind, start from a reset device. */
	ret = vdpa_reset(m->vdpa);
	if (ret)
		goto err_closed;

	vqs = kmalloc_array(m->nvqs, sizeof(*vqs), GFP_KERNEL);
	if (!vqs) {
		ret = -ENOMEM;
		goto err_closed;
	}
	for (i = 0; i < m->nvqs; i++) {
		memset(&m->vqs[i], 0, sizeof(m->vqs[i]));
		m->vqs[i].handle_kick = vdpa_mig_handle_kick;
		vqs[i] = &m->vqs[i];
	}
	/* No worker thread: kicks go straight to the parent. */
	vhost_dev_init(&m->vdev, vqs, m->nvqs, 0, 0, 0, false,
		       vdpa_mig_iotlb_msg);

	if (m->vdpa->config->get_iova_range) {
		m->range = m->vdpa->config->get_iova_range(m->vdpa);
	} else {
		m->range.first = 0;
		m->range.last = U64_MAX;
	}
	vdpa_mig_iotlb_init(m);
	m->in_batch = false;
	m->mig_state = VDPA_MIG_STATE_RUNNING;
	memset(m->group_asid, 0, sizeof(m->group_asid));
	file->private_data = m;
	return 0;

err_closed:
	atomic_set(&m->opened, 0);
	return ret;
}

static int vdpa_mig_release(struct inode *inode, struct file *file)
{
	struct vdpa_mig *m = file->private_data;
	struct vhost_dev *vdev = &m->vdev;

	mutex_lock(&vdev->mutex);
	vdpa_mig_log_stop_all(m);
	/* Parent first: no interrupt and no DMA after this. */
	vdpa_mig_detach_callbacks(m);
	vdpa_reset(m->vdpa);
	vhost_dev_stop(vdev);
	/* Unpinning needs the owner's mm, which vhost_dev_cleanup() drops. */
	vdpa_mig_iotlb_clear(m);
	if (m->config_ctx) {
		eventfd_ctx_put(m->config_ctx);
		m->config_ctx = NULL;
	}
	vhost_dev_cleanup(vdev);
	kfree(vdev->vqs);
	vdev->vqs = NULL;
	mutex_unlock(&vdev->mutex);

	atomic_set(&m->opened, 0);
	complete(&m->closed);
	return 0;
}

static ssize_t vdpa_mig_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct vdpa_mig *m = iocb->ki_filp->private_data;

	return vhost_chr_write_iter(&m->vdev, from);
}

static ssize_t vdpa_mig_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct vdpa_mig *m = iocb->ki_filp->private_data;

	return vhost_chr_read_iter(&m->vdev, to,
				   iocb->ki_filp->f_flags & O_NONBLOCK);
}

static __poll_t vdpa_mig_poll(struct file *file, poll_table *wait)
{
	struct vdpa_mig *m = file->private_data;

	return vhost_chr_poll(file, &m->vdev, wait);
}

/*
 * No .mmap: the doorbell page is not exposed (mmap() fails with ENODEV);
 * clients such as QEMU then kick through the eventfd.
 */
static const struct file_operations vdpa_mig_fops = {
	.owner = THIS_MODULE,
	.open = vdpa_mig_open,
	.release = vdpa_mig_release,
	.write_iter = vdpa_mig_write_iter,
	.read_iter = vdpa_mig_read_iter,
	.poll = vdpa_mig_poll,
	.unlocked_ioctl = vdpa_mig_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static void vdpa_mig_dev_release(struct device *dev)
{
	struct vdpa_mig *m = container_of(dev, struct vdpa_mig, dev);

	if (m->minor >= 0)
		ida_free(&vdpa_mig_minors, m->minor);
	kfree(m->logs);
	kfree(m->as);
	kfree(m->vqs);
	kfree(m);
}

static int vdpa_mig_probe(struct vdpa_device *vdpa)
{
	const struct vdpa_config_ops *ops = vdpa->config;
	struct vdpa_mig *m;
	int ret;

	/* Opt-in only, so that loading us never takes a device away. */
	if (!vdpa->driver_override ||
	    strcmp(vdpa->driver_override, VDPA_MIG_DRV_NAME))
		return -ENODEV;
	/* We pin memory and hand PAs to the parent's own translation. */
	if (vdpa->use_va || (!ops->dma_map && !ops->set_map)) {
		dev_info(&vdpa->dev, "parent has no dma_map/set_map, not supported\n");
		return -EOPNOTSUPP;
	}
	if (!vdpa->nvqs || !vdpa->nas)
		return -EINVAL;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return -ENOMEM;
	m->minor = -1;
	m->vdpa = vdpa;
	m->nvqs = vdpa->nvqs;
	m->mig_ops = vdpa_migrate_ops_get(vdpa);
	atomic_set(&m->opened, 0);
	init_completion(&m->closed);
	device_initialize(&m->dev);
	m->dev.release = vdpa_mig_dev_release;
	m->dev.parent = &vdpa->dev;

	/* From here on, every failure goes through put_device(). */
	ret = -ENOMEM;
	m->vqs = kcalloc(m->nvqs, sizeof(*m->vqs), GFP_KERNEL);
	m->as = kcalloc(vdpa->nas, sizeof(*m->as), GFP_KERNEL);
	m->logs = kcalloc(vdpa->nas, sizeof(*m->logs), GFP_KERNEL);
	if (!m->vqs || !m->as || !m->logs)
		goto err_put;

	ret = ida_alloc_max(&vdpa_mig_minors, VDPA_MIG_MINORS - 1, GFP_KERNEL);
	if (ret < 0)
		goto err_put;
	m->minor = ret;
	m->dev.devt = MKDEV(MAJOR(vdpa_mig_devt), m->minor);
	ret = dev_set_name(&m->dev, "vdpa-mig-%d", m->minor);
	if (ret)
		goto err_put;

	cdev_init(&m->cdev, &vdpa_mig_fops);
	m->cdev.owner = THIS_MODULE;
	ret = cdev_device_add(&m->cdev, &m->dev);
	if (ret)
		goto err_put;

	vdpa_set_drvdata(vdpa, m);
	return 0;

err_put:
	put_device(&m->dev);
	return ret;
}

static void vdpa_mig_remove(struct vdpa_device *vdpa)
{
	struct vdpa_mig *m = vdpa_get_drvdata(vdpa);

	/* No new opens; then wait until the current user (if any) is gone. */
	cdev_device_del(&m->cdev, &m->dev);
	while (atomic_cmpxchg(&m->opened, 0, 1))
		wait_for_completion(&m->closed);
	put_device(&m->dev);
}

static struct vdpa_driver vdpa_mig_driver = {
	.driver = {
		.name = VDPA_MIG_DRV_NAME,
	},
	.probe = vdpa_mig_probe,
	.remove = vdpa_mig_remove,
};

static int __init vdpa_mig_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&vdpa_mig_devt, 0, VDPA_MIG_MINORS,
				  "vdpa-mig");
	if (ret)
		return ret;
	ret = vdpa_register_driver(&vdpa_mig_driver);
	if (ret)
		goto err_unregister_region;
	return 0;

err_unregister_region:
	unregister_chrdev_region(vdpa_mig_devt, VDPA_MIG_MINORS);
	return ret;
}

static void __exit vdpa_mig_exit(void)
{
	vdpa_unregister_driver(&vdpa_mig_driver);
	unregister_chrdev_region(vdpa_mig_devt, VDPA_MIG_MINORS);
}

module_init(vdpa_mig_init);
module_exit(vdpa_mig_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vhost-vdpa compatible character device for vDPA devices, with RESUME");

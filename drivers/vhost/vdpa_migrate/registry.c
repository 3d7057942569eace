// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_migrate: which vDPA devices have parent migration operations.
 *
 * A short list under a mutex: it is consulted once per bind and changed
 * once per device creation and release, never on a data path.  See
 * include/linux/vdpa_migrate.h for the lifetime rules.
 */
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "vdpa_mig.h"

struct vdpa_mig_reg {
	struct list_head node;
	struct vdpa_device *vdev;
	const struct vdpa_migrate_ops *ops;
};

static LIST_HEAD(vdpa_mig_regs);
static DEFINE_MUTEX(vdpa_mig_regs_lock); /* protects vdpa_mig_regs */

static struct vdpa_mig_reg *vdpa_mig_reg_find(struct vdpa_device *vdev)
{
	struct vdpa_mig_reg *reg;

	lockdep_assert_held(&vdpa_mig_regs_lock);
	list_for_each_entry(reg, &vdpa_mig_regs, node)
		if (reg->vdev == vdev)
			return reg;
	return NULL;
}

int vdpa_migrate_ops_register(struct vdpa_device *vdev,
			      const struct vdpa_migrate_ops *ops)
{
	struct vdpa_mig_reg *reg;
	int ret = 0;

	reg = kzalloc(sizeof(*reg), GFP_KERNEL);
	if (!reg)
		return -ENOMEM;
	reg->vdev = vdev;
	reg->ops = ops;

	mutex_lock(&vdpa_mig_regs_lock);
	if (vdpa_mig_reg_find(vdev))
		ret = -EEXIST;
	else
		list_add(&reg->node, &vdpa_mig_regs);
	mutex_unlock(&vdpa_mig_regs_lock);
	if (ret)
		kfree(reg);
	return ret;
}
EXPORT_SYMBOL_GPL(vdpa_migrate_ops_register);

void vdpa_migrate_ops_unregister(struct vdpa_device *vdev)
{
	struct vdpa_mig_reg *reg;

	mutex_lock(&vdpa_mig_regs_lock);
	reg = vdpa_mig_reg_find(vdev);
	if (reg)
		list_del(&reg->node);
	mutex_unlock(&vdpa_mig_regs_lock);
	kfree(reg);
}
EXPORT_SYMBOL_GPL(vdpa_migrate_ops_unregister);

const struct vdpa_migrate_ops *vdpa_migrate_ops_get(struct vdpa_device *vdev)
{
	const struct vdpa_migrate_ops *ops = NULL;
	struct vdpa_mig_reg *reg;

	mutex_lock(&vdpa_mig_regs_lock);
	reg = vdpa_mig_reg_find(vdev);
	if (reg)
		ops = reg->ops;
	mutex_unlock(&vdpa_mig_regs_lock);
	return ops;
}
EXPORT_SYMBOL_GPL(vdpa_migrate_ops_get);

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdpa_migrate: optional capabilities a vDPA parent can offer on top of
 * struct vdpa_config_ops (Linux 6.1) for the vdpa_migrate bus driver, which
 * gives a bound device a /dev/vdpa-mig-N node with the vhost-vdpa uAPI.
 *
 * A parent publishes one const struct vdpa_migrate_ops per vdpa device with
 * vdpa_migrate_ops_register() BEFORE it registers the device on the vdpa
 * bus, and withdraws it with vdpa_migrate_ops_unregister() only AFTER the
 * device left the bus (for instance from &vdpa_config_ops.free).  The bus
 * driver looks the table up when it binds and uses it until it unbinds, so
 * the table and the functions it points to stay valid exactly as long as
 * the parent module holds the device: no reference counting is needed.
 *
 * The registry lives in vdpa_migrate.ko; a parent using it depends on that
 * module.
 */
#ifndef _LINUX_VDPA_MIGRATE_H
#define _LINUX_VDPA_MIGRATE_H

#include <linux/vdpa.h>
#include <linux/vhost.h>

/*
 * uAPI added upstream after 6.1 (6.3); same numbers, so unmodified
 * userspace written for newer kernels works.
 */
#ifndef VHOST_BACKEND_F_RESUME
#define VHOST_BACKEND_F_RESUME	0x5
#endif
#ifndef VHOST_VDPA_RESUME
#define VHOST_VDPA_RESUME	_IO(VHOST_VIRTIO, 0x7E)
#endif

/**
 * struct vdpa_migrate_ops - optional migration operations of a vDPA parent
 * @resume: restart a device that &vdpa_config_ops.suspend stopped: the
 *	device processes the buffers the driver made available meanwhile and
 *	continues from where it stopped.  Called only after a successful
 *	suspend and before any reset; the caller serialises it with every
 *	other control operation.  Optional: without it VHOST_VDPA_RESUME
 *	fails with -EOPNOTSUPP and VHOST_BACKEND_F_RESUME is not offered.
 *	@vdev: the device.
 *	Return: 0 or a negative errno (the device stays suspended).
 *
 * Later additions (device state save/restore, dirty page logging) go here;
 * every member is optional, so parents only fill in what they support.
 */
struct vdpa_migrate_ops {
	int (*resume)(struct vdpa_device *vdev);
};

/**
 * vdpa_migrate_ops_register() - publish a parent's migration operations
 * @vdev: vdpa device, allocated but not yet registered on the vdpa bus
 * @ops: operations; must outlive the registration
 *
 * Context: process context; may sleep.
 * Return: 0, -EEXIST if @vdev already has operations, or -ENOMEM.
 */
int vdpa_migrate_ops_register(struct vdpa_device *vdev,
			      const struct vdpa_migrate_ops *ops);

/**
 * vdpa_migrate_ops_unregister() - withdraw what vdpa_migrate_ops_register()
 *	published
 * @vdev: vdpa device, no longer on the vdpa bus
 *
 * A no-op if nothing was registered for @vdev, so error paths may call it
 * unconditionally.
 *
 * Context: process context; may sleep.
 */
void vdpa_migrate_ops_unregister(struct vdpa_device *vdev);

/**
 * vdpa_migrate_ops_get() - operations published for a device
 * @vdev: vdpa device
 *
 * For the bus driver: the result is valid while @vdev is bound to it.
 *
 * Return: the operations or NULL if the parent registered none.
 */
const struct vdpa_migrate_ops *vdpa_migrate_ops_get(struct vdpa_device *vdev);

#endif /* _LINUX_VDPA_MIGRATE_H */

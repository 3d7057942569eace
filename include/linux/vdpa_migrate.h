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
#include <uapi/linux/vdpa_migrate.h>

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

struct vdpa_mig_log;
struct vdpa_mig_writer;

/**
 * struct vdpa_mig_vq_state - a virtqueue's position, for device state
 * @avail_idx: split: next available index the device reads (free running,
 *	16 bits used); packed: next available descriptor index
 * @used_idx: split: next used index the device writes; packed: next used
 *	descriptor index
 * @avail_wrap: packed only: wrap counter of @avail_idx
 * @used_wrap: packed only: wrap counter of @used_idx
 * @n_inflight: number of entries in @inflight
 * @max_inflight: capacity of @inflight (the queue size)
 * @inflight: requests the device took from the ring but did not complete,
 *	oldest first (head / buffer ID and where it was read from)
 */
struct vdpa_mig_vq_state {
	u32 avail_idx;
	u32 used_idx;
	u32 avail_wrap;
	u32 used_wrap;
	u32 n_inflight;
	u32 max_inflight;
	struct vdpa_mig_inflight *inflight;
};

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
 * @get_vq_mig_state: read a queue's position and in-flight requests while
 *	the device is suspended.  Optional: without it the bus driver uses
 *	&vdpa_config_ops.get_vq_state and assumes the suspended device
 *	completed everything it took (used == avail, nothing in flight).
 *	@vdev: the device; @idx: queue index; @st: filled in (@st->inflight
 *	has room for @st->max_inflight entries).
 *	Return: 0 or a negative errno.
 * @set_vq_mig_state: set a queue's position and the requests to run again
 *	before the driver sets DRIVER_OK (the destination of a migration).
 *	Optional: without it only states with used == avail and nothing in
 *	flight can be loaded (-EOPNOTSUPP otherwise).  The parent validates
 *	@st (e.g. @st->n_inflight against the queue size) and changes
 *	nothing on error.
 *	@vdev: the device; @idx: queue index; @st: the state.
 *	Return: 0 or a negative errno.
 * @type_state_size: upper bound of the bytes @save_type_state writes,
 *	record headers included; 0 when this device saves none (then it
 *	does not report VDPA_MIG_CAP_TYPE_STATE).  Required with
 *	@save_type_state.
 * @save_type_state: append the device-type records (VDPA_MIG_REC_NET...)
 *	with vdpa_mig_put_record().  Called while the device is suspended.
 *	Optional.
 *	Return: 0 or a negative errno (that of vdpa_mig_put_record()).
 * @load_type_record: take one device-type record of a blob being loaded.
 *	Called twice per record: first with @commit false to validate only
 *	(no side effect; the device is still reset, the blob's features not
 *	set), and, when every record of the blob validated, with @commit true
 *	to apply, after the features are set and before DRIVER_OK.  A record
 *	that turns out unacceptable only with the features may fail the
 *	commit (a mandatory one with -EOPNOTSUPP too): the load then fails
 *	and the device is reset.
 *	Optional: without it every device-type record is unknown.
 *	@vdev: the device; @type: record type; @data, @len: payload.
 *	Return: 0, -EOPNOTSUPP for a record type the parent does not know,
 *	or another negative errno for a malformed or unacceptable record.
 * @log_start: begin reporting every write of the device into address
 *	space @asid to @log with vdpa_mig_log_mark(), until @log_stop.  The
 *	parent reports data it writes into buffers and what it writes in the
 *	device area (used ring).  Optional: without it VDPA_MIG_LOG_START
 *	fails with -EOPNOTSUPP.
 *	@vdev: the device; @asid: address space; @log: the log.
 *	Return: 0 or a negative errno.
 * @log_stop: stop reporting to the log of @asid.  When this returns the
 *	parent no longer touches the log.  Required with @log_start.
 *	@vdev: the device; @asid: address space.
 *
 * Every member is optional; parents fill in what they support.  The bus
 * driver serialises all of them with each other and with the
 * &vdpa_config_ops control operations.
 */
struct vdpa_migrate_ops {
	int (*resume)(struct vdpa_device *vdev);
	int (*get_vq_mig_state)(struct vdpa_device *vdev, u16 idx,
				struct vdpa_mig_vq_state *st);
	int (*set_vq_mig_state)(struct vdpa_device *vdev, u16 idx,
				const struct vdpa_mig_vq_state *st);
	size_t (*type_state_size)(struct vdpa_device *vdev);
	int (*save_type_state)(struct vdpa_device *vdev,
			       struct vdpa_mig_writer *w);
	int (*load_type_record)(struct vdpa_device *vdev, u32 type,
				const void *data, u32 len, bool commit);
	int (*log_start)(struct vdpa_device *vdev, u32 asid,
			 struct vdpa_mig_log *log);
	void (*log_stop)(struct vdpa_device *vdev, u32 asid);
};

/**
 * vdpa_mig_put_record() - append a record to a device state blob
 * @w: writer handed to &vdpa_migrate_ops.save_type_state
 * @type: VDPA_MIG_REC_* (little-endian payload prepared by the caller)
 * @flags: VDPA_MIG_REC_F_*
 * @data: payload
 * @len: payload bytes
 *
 * Return: 0, or -ENOSPC if the parent's &vdpa_migrate_ops.type_state_size
 * was too small.
 */
int vdpa_mig_put_record(struct vdpa_mig_writer *w, u32 type, u32 flags,
			const void *data, u32 len);

/**
 * vdpa_mig_log_mark() - report that the device wrote to driver memory
 * @log: log handed to &vdpa_migrate_ops.log_start
 * @iova: first byte written, in the log's address space
 * @len: bytes written
 *
 * Bytes outside the logged ranges are ignored.  Lock-free.
 *
 * Context: any context.
 */
void vdpa_mig_log_mark(struct vdpa_mig_log *log, u64 iova, u64 len);

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

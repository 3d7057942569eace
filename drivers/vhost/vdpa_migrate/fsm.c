// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_migrate: the migration state machine and VDPA_MIG_GET_INFO.
 *
 *   RUNNING  -> STOPPED   suspend the device
 *   RUNNING  -> SAVING    suspend; the device state may be read
 *   RUNNING  -> RESUMING  only on a reset device: a state may be loaded
 *   STOPPED  -> RUNNING   resume
 *   STOPPED  -> SAVING    the device state may be read
 *   SAVING   -> STOPPED   done reading, stay stopped
 *   SAVING   -> RUNNING   cancel: resume and stop dirty logging
 *   RESUMING -> RUNNING   start the loaded device (or, with nothing
 *                         loaded, cancel: the device stays reset)
 *
 * A failed arc leaves the state where it was, except when undoing it fails
 * too (a resume or start the parent refuses): then the device is in ERROR,
 * which only a reset (VHOST_VDPA_SET_STATUS 0) leaves.  A reset from any
 * state goes to RUNNING.
 */
#include <linux/uaccess.h>
#include <linux/virtio_config.h>

#include "vdpa_mig.h"

static u32 vdpa_mig_caps(struct vdpa_mig *m)
{
	const struct vdpa_migrate_ops *mo = m->mig_ops;
	u32 caps = 0;

	/* A saved state records the address space of up to 8 groups. */
	if (!m->vdpa->config->suspend ||
	    m->vdpa->ngroups > VDPA_MIG_MAX_GROUPS)
		return 0;
	caps |= VDPA_MIG_CAP_STATE;
	/* A parent may save records for some device types only. */
	if (mo && mo->save_type_state && mo->type_state_size(m->vdpa))
		caps |= VDPA_MIG_CAP_TYPE_STATE;
	if (mo && mo->get_vq_mig_state)
		caps |= VDPA_MIG_CAP_INFLIGHT;
	if (mo && mo->log_start)
		caps |= VDPA_MIG_CAP_DIRTY_LOG;
	return caps;
}

long vdpa_mig_get_info(struct vdpa_mig *m, struct vdpa_mig_info __user *argp)
{
	struct vdpa_mig_info info;
	long ret;

	ret = vdpa_mig_get_arg(&info, sizeof(info), argp);
	if (ret)
		return ret;

	memset(&info, 0, sizeof(info));
	info.argsz = sizeof(info);
	info.caps = vdpa_mig_caps(m);
	info.state = m->mig_state;
	info.format_major = VDPA_MIG_FORMAT_MAJOR;
	info.format_minor = VDPA_MIG_FORMAT_MINOR;
	if (info.caps & VDPA_MIG_CAP_STATE)
		info.state_size = vdpa_mig_state_size(m);
	if (info.caps & VDPA_MIG_CAP_DIRTY_LOG) {
		info.log_page_sizes = VDPA_MIG_LOG_PAGE_SIZES;
		info.log_max_bytes = VDPA_MIG_LOG_MAX_BYTES;
	}
	info.nr_as = m->vdpa->nas;
	return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
}

int vdpa_mig_do_suspend(struct vdpa_mig *m)
{
	const struct vdpa_config_ops *ops = m->vdpa->config;

	if (!ops->suspend)
		return -EOPNOTSUPP;
	return ops->suspend(m->vdpa);
}

int vdpa_mig_do_resume(struct vdpa_mig *m)
{
	if (!m->mig_ops || !m->mig_ops->resume)
		return -EOPNOTSUPP;
	return m->mig_ops->resume(m->vdpa);
}

/* RESUMING -> RUNNING: DRIVER_OK (if the source had it) starts the queues. */
static int vdpa_mig_start_loaded(struct vdpa_mig *m)
{
	u8 status;

	if (!m->loaded)
		return 0;
	vdpa_set_status(m->vdpa, m->load_status);
	status = vdpa_mig_status(m);
	if ((status & VIRTIO_CONFIG_S_NEEDS_RESET) ||
	    (status & m->load_status) != m->load_status)
		return -EIO;
	return 0;
}

static int vdpa_mig_arc(struct vdpa_mig *m, u32 new)
{
	u32 cur = m->mig_state;
	int ret;

	switch (cur) {
	case VDPA_MIG_STATE_RUNNING:
		if (new == VDPA_MIG_STATE_STOPPED ||
		    new == VDPA_MIG_STATE_SAVING)
			return vdpa_mig_do_suspend(m);
		if (new == VDPA_MIG_STATE_RESUMING) {
			if (vdpa_mig_status(m))
				return -EBUSY;
			m->loaded = false;
			return 0;
		}
		break;
	case VDPA_MIG_STATE_STOPPED:
		if (new == VDPA_MIG_STATE_RUNNING)
			return vdpa_mig_do_resume(m);
		if (new == VDPA_MIG_STATE_SAVING)
			return 0;
		break;
	case VDPA_MIG_STATE_SAVING:
		if (new == VDPA_MIG_STATE_STOPPED)
			return 0;
		if (new == VDPA_MIG_STATE_RUNNING) {
			/* Cancel: the source runs on, without logging. */
			vdpa_mig_log_stop_all(m);
			ret = vdpa_mig_do_resume(m);
			if (ret && ret != -EOPNOTSUPP)
				m->mig_state = VDPA_MIG_STATE_ERROR;
			return ret;
		}
		break;
	case VDPA_MIG_STATE_RESUMING:
		if (new == VDPA_MIG_STATE_RUNNING) {
			ret = vdpa_mig_start_loaded(m);
			if (ret)
				m->mig_state = VDPA_MIG_STATE_ERROR;
			return ret;
		}
		break;
	}
	return -EINVAL;
}

long vdpa_mig_set_state(struct vdpa_mig *m,
			struct vdpa_mig_set_state __user *argp)
{
	struct vdpa_mig_set_state s;
	long ret = 0;

	ret = vdpa_mig_get_arg(&s, sizeof(s), argp);
	if (ret)
		return ret;
	if (s.reserved || s.state > VDPA_MIG_STATE_RESUMING ||
	    s.state == VDPA_MIG_STATE_ERROR)
		return -EINVAL;

	if (s.state != m->mig_state) {
		ret = vdpa_mig_arc(m, s.state);
		if (!ret)
			m->mig_state = s.state;
	}
	if (put_user(m->mig_state, &argp->state))
		return -EFAULT;
	return ret;
}

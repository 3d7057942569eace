// SPDX-License-Identifier: GPL-2.0
/*
 * FusionD control plane: configfs, /sys/kernel/config/fusiond/<aggregate>/.
 * See Documentation/fusiond.rst for the attributes and why configfs.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "fusiond_core.h"

/* Copy a written value without its trailing newline. */
static int fusiond_attr_string(const char *page, size_t len, char *out,
			       size_t out_size)
{
	size_t n = strcspn(page, "\n");

	if (n > len)
		n = len;
	if (!n || n >= out_size)
		return -EINVAL;
	memcpy(out, page, n);
	out[n] = '\0';
	return 0;
}

/* Store a string attribute through @op (one of the fusiond_agg_* setters). */
static ssize_t fusiond_store_string(struct config_item *item, const char *page,
				    size_t len,
				    int (*op)(struct fusiond_agg *, const char *))
{
	char buf[32];
	int ret;

	ret = fusiond_attr_string(page, len, buf, sizeof(buf));
	if (!ret)
		ret = op(to_fusiond_agg(item), buf);
	return ret ?: len;
}

static ssize_t fusiond_type_show(struct config_item *item, char *page)
{
	struct fusiond_agg *agg = to_fusiond_agg(item);
	ssize_t n;

	mutex_lock(&agg->lock);
	n = sysfs_emit(page, "%s\n", agg->pers ? agg->pers->type : "none");
	mutex_unlock(&agg->lock);
	return n;
}

static ssize_t fusiond_type_store(struct config_item *item, const char *page,
				  size_t len)
{
	return fusiond_store_string(item, page, len, fusiond_agg_set_type);
}

static ssize_t fusiond_mode_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%s\n",
			  fusiond_mode_name(to_fusiond_agg(item)->mode));
}

static ssize_t fusiond_mode_store(struct config_item *item, const char *page,
				  size_t len)
{
	return fusiond_store_string(item, page, len, fusiond_agg_set_mode);
}

static ssize_t fusiond_queues_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%u\n", to_fusiond_agg(item)->num_queues);
}

static ssize_t fusiond_queues_store(struct config_item *item, const char *page,
				    size_t len)
{
	unsigned int n;
	int ret;

	ret = kstrtouint(page, 0, &n);
	if (!ret)
		ret = fusiond_agg_set_queues(to_fusiond_agg(item), n);
	return ret ?: len;
}

static ssize_t fusiond_add_member_store(struct config_item *item,
					const char *page, size_t len)
{
	return fusiond_store_string(item, page, len, fusiond_agg_add_member);
}

static ssize_t fusiond_remove_member_store(struct config_item *item,
					   const char *page, size_t len)
{
	return fusiond_store_string(item, page, len, fusiond_agg_remove_member);
}

static ssize_t fusiond_members_show(struct config_item *item, char *page)
{
	return fusiond_agg_show_members(to_fusiond_agg(item), page);
}

static ssize_t fusiond_enable_show(struct config_item *item, char *page)
{
	return sysfs_emit(page, "%d\n", !!to_fusiond_agg(item)->vdev);
}

static ssize_t fusiond_enable_store(struct config_item *item, const char *page,
				    size_t len)
{
	struct fusiond_agg *agg = to_fusiond_agg(item);
	bool on;
	int ret;

	ret = kstrtobool(page, &on);
	if (ret)
		return ret;
	ret = on ? fusiond_agg_enable(agg) : fusiond_agg_disable(agg, false);
	return ret ?: len;
}

static ssize_t fusiond_vfio_group_show(struct config_item *item, char *page)
{
	struct fusiond_agg *agg = to_fusiond_agg(item);
	ssize_t n;

	mutex_lock(&agg->lock);
	n = agg->vdev ? sysfs_emit(page, "%d\n", fusiond_vfio_group_id(agg)) :
			-ENODEV;
	mutex_unlock(&agg->lock);
	return n;
}

static ssize_t fusiond_stats_show(struct config_item *item, char *page)
{
	return fusiond_agg_show(to_fusiond_agg(item), page);
}

CONFIGFS_ATTR(fusiond_, type);
CONFIGFS_ATTR(fusiond_, mode);
CONFIGFS_ATTR(fusiond_, queues);
CONFIGFS_ATTR_WO(fusiond_, add_member);
CONFIGFS_ATTR_WO(fusiond_, remove_member);
CONFIGFS_ATTR_RO(fusiond_, members);
CONFIGFS_ATTR(fusiond_, enable);
CONFIGFS_ATTR_RO(fusiond_, vfio_group);
CONFIGFS_ATTR_RO(fusiond_, stats);

static struct configfs_attribute *fusiond_agg_attrs[] = {
	&fusiond_attr_type,
	&fusiond_attr_mode,
	&fusiond_attr_queues,
	&fusiond_attr_add_member,
	&fusiond_attr_remove_member,
	&fusiond_attr_members,
	&fusiond_attr_enable,
	&fusiond_attr_vfio_group,
	&fusiond_attr_stats,
	NULL,
};

static void fusiond_agg_release(struct config_item *item)
{
	fusiond_agg_free(to_fusiond_agg(item));
}

static struct configfs_item_operations fusiond_agg_item_ops = {
	.release = fusiond_agg_release,
};

static const struct config_item_type fusiond_agg_type = {
	.ct_item_ops = &fusiond_agg_item_ops,
	.ct_attrs = fusiond_agg_attrs,
	.ct_owner = THIS_MODULE,
};

static struct config_group *fusiond_make_group(struct config_group *parent,
					       const char *name)
{
	struct fusiond_agg *agg;

	if (strlen(name) > 31)
		return ERR_PTR(-ENAMETOOLONG);
	agg = fusiond_agg_alloc(name);
	if (!agg)
		return ERR_PTR(-ENOMEM);
	config_group_init_type_name(&agg->group, name, &fusiond_agg_type);
	return &agg->group;
}

static struct configfs_group_operations fusiond_root_ops = {
	.make_group = fusiond_make_group,
};

static const struct config_item_type fusiond_root_type = {
	.ct_group_ops = &fusiond_root_ops,
	.ct_owner = THIS_MODULE,
};

static struct configfs_subsystem fusiond_subsys = {
	.su_group = {
		.cg_item = {
			.ci_namebuf = "fusiond",
			.ci_type = &fusiond_root_type,
		},
	},
};

int fusiond_configfs_init(void)
{
	config_group_init(&fusiond_subsys.su_group);
	mutex_init(&fusiond_subsys.su_mutex);
	return configfs_register_subsystem(&fusiond_subsys);
}

void fusiond_configfs_exit(void)
{
	configfs_unregister_subsystem(&fusiond_subsys);
}

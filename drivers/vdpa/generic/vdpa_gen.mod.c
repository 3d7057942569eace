#include <linux/module.h>
#define INCLUDE_VERMAGIC
#include <linux/build-salt.h>
#include <linux/elfnote-lto.h>
#include <linux/export-internal.h>
#include <linux/vermagic.h>
#include <linux/compiler.h>

BUILD_SALT;
BUILD_LTO_INFO;

MODULE_INFO(vermagic, VERMAGIC_STRING);
MODULE_INFO(name, KBUILD_MODNAME);

__visible struct module __this_module
__section(".gnu.linkonce.this_module") = {
	.name = KBUILD_MODNAME,
	.init = init_module,
#ifdef CONFIG_MODULE_UNLOAD
	.exit = cleanup_module,
#endif
	.arch = MODULE_ARCH_INIT,
};

#ifdef CONFIG_RETPOLINE
MODULE_INFO(retpoline, "Y");
#endif

SYMBOL_CRC(vdpa_gen_vq_running, 0x741b09a6, "_gpl");
SYMBOL_CRC(vdpa_gen_vq_get, 0x0cad1e69, "_gpl");
SYMBOL_CRC(vdpa_gen_vq_pull, 0x0c7fc44b, "_gpl");
SYMBOL_CRC(vdpa_gen_vq_push, 0xa30e61b3, "_gpl");
SYMBOL_CRC(vdpa_gen_vq_put_back, 0x1faa57c2, "_gpl");
SYMBOL_CRC(vdpa_gen_vq_complete, 0x09992a42, "_gpl");
SYMBOL_CRC(vdpa_gen_vq_notify, 0xc6b7cfee, "_gpl");
SYMBOL_CRC(vdpa_gen_vq_kick, 0x6e3ac68f, "_gpl");
SYMBOL_CRC(vdpa_gen_fail, 0xfc97dec6, "_gpl");
SYMBOL_CRC(vdpa_gen_config_changed, 0x447f2f38, "_gpl");
SYMBOL_CRC(vdpa_gen_create, 0x071ebe13, "_gpl");

static const struct modversion_info ____versions[]
__used __section("__versions") = {
	{ 0xc87491c8, "vringh_notify_enable_iotlb" },
	{ 0x49cd25ed, "alloc_workqueue" },
	{ 0x5f4e5249, "vhost_iotlb_reset" },
	{ 0xc5b6f236, "queue_work_on" },
	{ 0x38ff875f, "vhost_iotlb_add_range" },
	{ 0xc46f5fb, "vringh_iov_pull_iotlb" },
	{ 0xa8efaeb9, "vringh_set_iotlb" },
	{ 0x69acdf38, "memcpy" },
	{ 0x37a0cba, "kfree" },
	{ 0x4504adc9, "vringh_abandon_iotlb" },
	{ 0x3ee1955e, "vringh_init_iotlb" },
	{ 0x6bec0e66, "vhost_iotlb_del_range" },
	{ 0xce7fadaf, "__vdpa_alloc_device" },
	{ 0xba8fbd64, "_raw_spin_lock" },
	{ 0xbdfb6dbb, "__fentry__" },
	{ 0x65487097, "__x86_indirect_thunk_rax" },
	{ 0x1d24c881, "___ratelimit" },
	{ 0xab30ec32, "put_device" },
	{ 0x61e3831b, "vringh_getdesc_iotlb" },
	{ 0x6383b27c, "__x86_indirect_thunk_rdx" },
	{ 0x7cd8d75e, "page_offset_base" },
	{ 0x8a7d8ee9, "vhost_iotlb_init" },
	{ 0x18f3ddc2, "vringh_iov_push_iotlb" },
	{ 0x7a945ae2, "_dev_err" },
	{ 0x69e872f9, "vhost_iotlb_itree_first" },
	{ 0x8c03d20c, "destroy_workqueue" },
	{ 0x4dfa8d4b, "mutex_lock" },
	{ 0x83be64b9, "vhost_iotlb_itree_next" },
	{ 0x4c9d28b0, "phys_base" },
	{ 0xc0bb1581, "vringh_need_notify_iotlb" },
	{ 0x3c3fce39, "__local_bh_enable_ip" },
	{ 0xcefb0c9f, "__mutex_init" },
	{ 0x5fc72f0e, "alloc_pages_exact" },
	{ 0xfb578fc5, "memset" },
	{ 0x156696d3, "_dev_warn" },
	{ 0x5b8239ca, "__x86_return_thunk" },
	{ 0xc29f314, "dma_set_coherent_mask" },
	{ 0x97651e6c, "vmemmap_base" },
	{ 0x4629334c, "__preempt_count" },
	{ 0x3213f038, "mutex_unlock" },
	{ 0x87b8798d, "sg_next" },
	{ 0x3c12dfe, "cancel_work_sync" },
	{ 0x885512a2, "vhost_iotlb_add_range_ctx" },
	{ 0xeb44339a, "free_pages_exact" },
	{ 0x3684d8af, "vringh_complete_iotlb" },
	{ 0xb0155166, "dma_set_mask" },
	{ 0xb5b54b34, "_raw_spin_unlock" },
	{ 0xeb233a45, "__kmalloc" },
	{ 0x9060323f, "module_layout" },
};

MODULE_INFO(depends, "vringh,vhost_iotlb,vdpa");


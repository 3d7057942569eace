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


static const struct modversion_info ____versions[]
__used __section("__versions") = {
	{ 0x7b4da6ff, "__init_rwsem" },
	{ 0x9992a42, "vdpa_gen_vq_complete" },
	{ 0x79ef7c68, "_vdpa_register_device" },
	{ 0x69acdf38, "memcpy" },
	{ 0x37a0cba, "kfree" },
	{ 0x71ebe13, "vdpa_gen_create" },
	{ 0xba8fbd64, "_raw_spin_lock" },
	{ 0xcbd4898c, "fortify_panic" },
	{ 0xbdfb6dbb, "__fentry__" },
	{ 0xe783e261, "sysfs_emit" },
	{ 0x65487097, "__x86_indirect_thunk_rax" },
	{ 0xbb811f59, "vdpa_mgmtdev_unregister" },
	{ 0xa19b956, "__stack_chk_fail" },
	{ 0xab30ec32, "put_device" },
	{ 0xfc97dec6, "vdpa_gen_fail" },
	{ 0xa16ba49, "root_device_unregister" },
	{ 0x68f31cbd, "__list_add_valid" },
	{ 0x57bc19d2, "down_write" },
	{ 0xce807a25, "up_write" },
	{ 0x8581d431, "__root_device_register" },
	{ 0x4dfa8d4b, "mutex_lock" },
	{ 0xcad1e69, "vdpa_gen_vq_get" },
	{ 0xc7fc44b, "vdpa_gen_vq_pull" },
	{ 0xe1537255, "__list_del_entry_valid" },
	{ 0xabfb0c96, "_vdpa_unregister_device" },
	{ 0x5b8239ca, "__x86_return_thunk" },
	{ 0x668b19a1, "down_read" },
	{ 0xa30e61b3, "vdpa_gen_vq_push" },
	{ 0x15ba50a6, "jiffies" },
	{ 0x683c8f6d, "vdpa_mgmtdev_register" },
	{ 0x3213f038, "mutex_unlock" },
	{ 0x741b09a6, "vdpa_gen_vq_running" },
	{ 0x56470118, "__warn_printk" },
	{ 0x41ed3709, "get_random_bytes" },
	{ 0x606e9d01, "kmalloc_trace" },
	{ 0xb5b54b34, "_raw_spin_unlock" },
	{ 0x1faa57c2, "vdpa_gen_vq_put_back" },
	{ 0xc6b7cfee, "vdpa_gen_vq_notify" },
	{ 0x53b954a2, "up_read" },
	{ 0xeb233a45, "__kmalloc" },
	{ 0x7a7caba8, "kmalloc_caches" },
	{ 0x9060323f, "module_layout" },
};

MODULE_INFO(depends, "vdpa_gen,vdpa");


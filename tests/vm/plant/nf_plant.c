// SPDX-License-Identifier: GPL-2.0-only
/*
 * nf_plant: faults planted on purpose, to prove that the VM harness turns a
 * run red when the kernel reports one. Test-only: built by
 * tests/vm/build-module.sh and loaded by the guest scripts only when
 * NF_PLANT names a fault (tests/vm/guest/lib.sh, plant()); never part of
 * the product.
 *
 *   fault=oob                 an out-of-bounds read of a slab object, which
 *                             KASAN reports (load succeeds)
 *   fault=work delay_ms=N     a work item that runs N ms after this module
 *                             is gone: its function is in the freed module
 *                             text, as with a driver that forgot to cancel
 *                             its work on unload
 *   fault=leak                allocations whose last pointers are dropped
 *                             (kmalloc objects, a large kmalloc, a vmalloc
 *                             area), which kmemleak reports at its next
 *                             two scans
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

static char *fault = "";
module_param(fault, charp, 0444);
MODULE_PARM_DESC(fault, "oob, work or leak");

static unsigned int delay_ms = 1000;
module_param(delay_ms, uint, 0444);
MODULE_PARM_DESC(delay_ms, "for fault=work: when the orphaned work runs");

/* Read from a parameter so that the compiler cannot see the overrun. */
static unsigned int oob_size = 16;
module_param(oob_size, uint, 0444);

static int plant_oob(void)
{
	volatile char *p = kmalloc(oob_size, GFP_KERNEL);
	char c;

	if (!p)
		return -ENOMEM;
	c = p[oob_size]; /* one byte past the object */
	pr_info("nf_plant: read %d past a %u-byte object\n", c, oob_size);
	kfree((void *)p);
	return 0;
}

static void plant_work_fn(struct work_struct *work)
{
	pr_info("nf_plant: orphaned work ran\n");
}

static int plant_work(void)
{
	/* Allocated, not static: the timer and the queue keep pointing at a
	 * live object, so the fault is the call into the freed text. */
	struct delayed_work *w = kzalloc(sizeof(*w), GFP_KERNEL);

	if (!w)
		return -ENOMEM;
	INIT_DELAYED_WORK(w, plant_work_fn);
	schedule_delayed_work(w, msecs_to_jiffies(delay_ms));
	return 0;
}

/* Each pointer goes through a volatile, so that the compiler keeps the
 * allocation, and is then overwritten. Several objects, because a pointer
 * can outlive its frame on a kernel stack that kmemleak scans (an exited
 * task's stack is kept for the next fork): the last one may still look
 * referenced, the ones before it do not. */
#define PLANT_LEAKS 4
static void *volatile plant_last_pointer;

static int plant_leak(void)
{
	int i;

	for (i = 0; i < PLANT_LEAKS; i++) {
		void *p = kmalloc(128, GFP_KERNEL);

		if (!p)
			return -ENOMEM;
		memset(p, 0x5a, 128);
		plant_last_pointer = p;
	}
	plant_last_pointer = kmalloc(64 << 10, GFP_KERNEL);
	if (!plant_last_pointer)
		return -ENOMEM;
	plant_last_pointer = vmalloc(16 << 10);
	if (!plant_last_pointer)
		return -ENOMEM;
	plant_last_pointer = NULL;
	pr_info("nf_plant: leaked %d 128-byte objects, 64 KiB of kmalloc, 16 KiB of vmalloc\n", PLANT_LEAKS);
	return 0;
}

static int __init plant_init(void)
{
	if (!strcmp(fault, "oob"))
		return plant_oob();
	if (!strcmp(fault, "work"))
		return plant_work();
	if (!strcmp(fault, "leak"))
		return plant_leak();
	pr_err("nf_plant: unknown fault '%s'\n", fault);
	return -EINVAL;
}

/* Deliberately cancels nothing. */
static void __exit plant_exit(void)
{
}

module_init(plant_init);
module_exit(plant_exit);
MODULE_DESCRIPTION("ipt_NETFLOW test harness: planted faults");
MODULE_LICENSE("GPL");

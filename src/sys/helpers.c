// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wrappers for kernel static inlines and macros used by the Rust code.
 * See helpers.h for what each one is for.
 */
#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/percpu.h>
#include <linux/cpumask.h>
#include <linux/bottom_half.h>
#include <linux/preempt.h>
#include <net/net_namespace.h>

#include "helpers.h"

const char *nf_version(void)
{
	return NETFLOW_VERSION;
}

const char *nf_srcversion(void)
{
	return THIS_MODULE->srcversion ? THIS_MODULE->srcversion : "(none)";
}

struct module *nf_this_module(void)
{
	return THIS_MODULE;
}

void nf_skb_view(const struct sk_buff *skb, struct nf_skb_view *view)
{
	int offset = skb_network_offset(skb);
	int headlen = skb_headlen(skb);

	view->network = skb_network_header(skb);
	view->offset = offset;
	view->linear = headlen > offset ? headlen - offset : 0;
	view->total = (int)skb->len > offset ? skb->len - offset : 0;
	view->skb_len = skb->len;
}

void __percpu *nf_alloc_percpu(size_t size, size_t align)
{
	return __alloc_percpu(size, align);
}

void *nf_meter_enter(void __percpu *ptr, bool *bh_disabled)
{
	*bh_disabled = !in_softirq();
	if (*bh_disabled)
		local_bh_disable();
	return this_cpu_ptr(ptr);
}

void nf_meter_exit(void)
{
	local_bh_enable();
}

void *nf_per_cpu_ptr(void __percpu *ptr, int cpu)
{
	return per_cpu_ptr(ptr, cpu);
}

unsigned int nf_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}

bool nf_cpu_possible(unsigned int cpu)
{
	return cpu_possible(cpu);
}

bool nf_cpu_present(unsigned int cpu)
{
	return cpu_present(cpu);
}

unsigned int nf_num_present_cpus(void)
{
	return num_present_cpus();
}

struct proc_dir_entry *nf_proc_net_stat(void)
{
	return init_net.proc_net_stat;
}

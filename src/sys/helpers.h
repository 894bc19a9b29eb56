/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Out-of-line wrappers for the static inline functions and macros of the
 * kernel that the Rust side needs (they have no symbol to link against).
 * Each one is a single expression; anything with logic lives in Rust.
 */
#ifndef NETFLOW_SYS_HELPERS_H
#define NETFLOW_SYS_HELPERS_H

#include <linux/types.h>

struct sk_buff;
struct proc_dir_entry;
struct module;

/* The module's version string (from the VERSION file) and srcversion. */
const char *nf_version(void);
const char *nf_srcversion(void);
struct module *nf_this_module(void);

/*
 * A packet as the meter sees it: where its network header starts in the
 * linear area, how many bytes from there are linear, how many exist in all,
 * and the network header's offset from skb->data (for skb_copy_bits).
 */
struct nf_skb_view {
	const u8 *network;
	u32 linear;
	u32 total;
	s32 offset;
	u32 skb_len;
};
void nf_skb_view(const struct sk_buff *skb, struct nf_skb_view *view);

/*
 * Per-CPU data. nf_meter_enter() disables bottom halves unless they already
 * are (the nft_compat path may call a target in process context) and
 * returns this CPU's copy; *bh_disabled tells nf_meter_exit() what to undo.
 */
void __percpu *nf_alloc_percpu(size_t size, size_t align);
void *nf_meter_enter(void __percpu *ptr, bool *bh_disabled);
void nf_meter_exit(void);
void *nf_per_cpu_ptr(void __percpu *ptr, int cpu);
unsigned int nf_nr_cpu_ids(void);
bool nf_cpu_possible(unsigned int cpu);
bool nf_cpu_present(unsigned int cpu);
unsigned int nf_num_present_cpus(void);

/* init_net's /proc/net/stat directory. */
struct proc_dir_entry *nf_proc_net_stat(void);

#endif

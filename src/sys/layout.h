/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where the packet path finds the few kernel fields it reads for every
 * packet, as byte offsets in this kernel's own layout. bindgen turns the
 * enum into Rust constants, so those reads are plain loads in the Rust code
 * instead of a call into the helper object per packet. helpers.c pins the
 * size of each field, so a kernel that changes a field's type fails to
 * build instead of being misread.
 */
#ifndef NETFLOW_SYS_LAYOUT_H
#define NETFLOW_SYS_LAYOUT_H

#include <linux/stddef.h>
#include <linux/skbuff.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>

enum nf_offsets {
	NF_OFF_SKB_LEN = offsetof(struct sk_buff, len),			/* u32 */
	NF_OFF_SKB_DATA_LEN = offsetof(struct sk_buff, data_len),	/* u32 */
	NF_OFF_SKB_NETWORK_HEADER = offsetof(struct sk_buff, network_header), /* u16 */
	NF_OFF_SKB_HEAD = offsetof(struct sk_buff, head),		/* u8 * */
	NF_OFF_SKB_DATA = offsetof(struct sk_buff, data),		/* u8 * */
	NF_OFF_HOOK_STATE_IN = offsetof(struct nf_hook_state, in),	/* net_device * */
	NF_OFF_HOOK_STATE_OUT = offsetof(struct nf_hook_state, out),	/* net_device * */
	NF_OFF_NETDEV_IFINDEX = offsetof(struct net_device, ifindex),	/* int */
	NF_OFF_NETDEV_NAME = offsetof(struct net_device, name),		/* char[IFNAMSIZ] */
};

#endif

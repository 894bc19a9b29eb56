/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel API ipt_NETFLOW uses beyond the `kernel` crate. Kbuild runs
 * bindgen on this header with the flags of the kernel being built, so every
 * struct layout in the generated bindings is that kernel's own.
 */
#include <linux/errno.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>
#include <linux/rtnetlink.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/sysctl.h>
#include <linux/workqueue.h>

#include "helpers.h"
#include "layout.h"

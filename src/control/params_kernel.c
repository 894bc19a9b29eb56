// SPDX-License-Identifier: GPL-2.0-only
/*
 * Module metadata and parameters of ipt_NETFLOW. The names, types, defaults
 * and permissions are those of the original module; the Rust side validates
 * the values at load time.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "params.h"

MODULE_AUTHOR("ipt_NETFLOW in Rust developers; original by <abc@openwall.com>");
MODULE_VERSION(NETFLOW_VERSION);

int nf_param_protocol = 5;
module_param_named(protocol, nf_param_protocol, int, 0444);
MODULE_PARM_DESC(protocol, "netflow protocol version (5, 9, 10=IPFIX)");

unsigned int nf_param_refresh_rate = 20;
module_param_named(refresh_rate, nf_param_refresh_rate, uint, 0644);
MODULE_PARM_DESC(refresh_rate, "NetFlow v9/IPFIX refresh rate (packets)");

unsigned int nf_param_timeout_rate = 30;
module_param_named(timeout_rate, nf_param_timeout_rate, uint, 0644);
MODULE_PARM_DESC(timeout_rate, "NetFlow v9/IPFIX timeout rate (minutes)");

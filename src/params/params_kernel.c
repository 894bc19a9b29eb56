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
/* What configure compiled in (--enable-vlan and the like), or "none". */
MODULE_INFO(features, NF_FEATURE_LIST);

int nf_param_protocol = 5;
module_param_named(protocol, nf_param_protocol, int, 0444);
MODULE_PARM_DESC(protocol, "netflow protocol version (5, 9, 10=IPFIX)");

unsigned int nf_param_refresh_rate = 20;
module_param_named(refresh_rate, nf_param_refresh_rate, uint, 0644);
MODULE_PARM_DESC(refresh_rate, "NetFlow v9/IPFIX refresh rate (packets)");

unsigned int nf_param_timeout_rate = 30;
module_param_named(timeout_rate, nf_param_timeout_rate, uint, 0644);
MODULE_PARM_DESC(timeout_rate, "NetFlow v9/IPFIX timeout rate (minutes)");

int nf_param_inactive_timeout = 15;
module_param_named(inactive_timeout, nf_param_inactive_timeout, int, 0644);
MODULE_PARM_DESC(inactive_timeout, "inactive flows timeout in seconds");

int nf_param_active_timeout = 1800;
module_param_named(active_timeout, nf_param_active_timeout, int, 0644);
MODULE_PARM_DESC(active_timeout, "active flows timeout in seconds");

int nf_param_debug;
module_param_named(debug, nf_param_debug, int, 0644);
MODULE_PARM_DESC(debug, "debug verbosity level");

int nf_param_hashsize;
module_param_named(hashsize, nf_param_hashsize, int, 0444);
MODULE_PARM_DESC(hashsize, "hash table size");

int nf_param_maxflows = 2000000;
module_param_named(maxflows, nf_param_maxflows, int, 0644);
MODULE_PARM_DESC(maxflows, "maximum number of flows");

unsigned int nf_param_scan_min = 1;
module_param_named(scan_min, nf_param_scan_min, uint, 0644);
MODULE_PARM_DESC(scan_min, "minimal interval between export scans (jiffies)");

int nf_param_natevents;
module_param_named(natevents, nf_param_natevents, int, 0444);
MODULE_PARM_DESC(natevents, "enable NAT Events");

#ifdef NF_FEATURE_PROMISC
int nf_param_promisc;
module_param_named(promisc, nf_param_promisc, int, 0444);
MODULE_PARM_DESC(promisc, "enable promisc hack (0=no, 1=yes)");
#endif

int nf_param_natevents_rcvbuf = 4 << 20;
module_param_named(natevents_rcvbuf, nf_param_natevents_rcvbuf, int, 0444);
MODULE_PARM_DESC(natevents_rcvbuf, "NAT events queued per network namespace (receive buffer, bytes)");

char *nf_param_destination = "127.0.0.1:2055";
module_param_named(destination, nf_param_destination, charp, 0444);
MODULE_PARM_DESC(destination, "export destination ipaddress:port");

/*
 * The three rule sets: read at load (the sysctls change them at runtime and
 * keep their own copies; these stay what modprobe was given, with the
 * original's permissions).
 */
char *nf_param_sampler = "";
module_param_named(sampler, nf_param_sampler, charp, 0444);
MODULE_PARM_DESC(sampler, "flow sampler parameters");

char *nf_param_aggregation = "";
module_param_named(aggregation, nf_param_aggregation, charp, 0400);
MODULE_PARM_DESC(aggregation, "aggregation ruleset");

char *nf_param_snmp_rules = "";
module_param_named(snmp_rules, nf_param_snmp_rules, charp, 0444);
MODULE_PARM_DESC(snmp_rules, "SNMP-index conversion rules");

int nf_param_engine_id;
module_param_named(engine_id, nf_param_engine_id, int, 0644);
MODULE_PARM_DESC(engine_id, "Observation Domain ID");

int nf_param_sndbuf;
module_param_named(sndbuf, nf_param_sndbuf, int, 0444);
MODULE_PARM_DESC(sndbuf, "udp socket SNDBUF size");

int nf_param_exportcpu = -1;
module_param_named(exportcpu, nf_param_exportcpu, int, 0644);
MODULE_PARM_DESC(exportcpu, "lock exporter to this cpu");

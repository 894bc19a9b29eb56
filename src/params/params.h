/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Module parameters, declared in C (params_kernel.c) so that they keep the
 * original module's exact names, types and permissions on every kernel, and
 * read from Rust through the bindings.
 */
#ifndef NETFLOW_PARAMS_PARAMS_H
#define NETFLOW_PARAMS_PARAMS_H

/* protocol=5|9|10: the export format (NetFlow v5, v9, IPFIX). */
extern int nf_param_protocol;
/* Flow expiry, in seconds: after the last packet, after the first one. */
extern int nf_param_inactive_timeout;
extern int nf_param_active_timeout;
/* Log verbosity (0..3). */
extern int nf_param_debug;
/* Hash buckets over all CPUs; 0 sizes them from the machine's memory. */
extern int nf_param_hashsize;
/* At most this many flows at once; <= 0 is unlimited. */
extern int nf_param_maxflows;
/* The shortest scanner delay, in jiffies. */
extern unsigned int nf_param_scan_min;
/* natevents: NAT event logging on (1) or off (0); the sysctl keeps it current. */
extern int nf_param_natevents;
/* natevents_rcvbuf: receive buffer of each namespace's conntrack event socket. */
extern int nf_param_natevents_rcvbuf;
/* destination=ADDR[:PORT][@BIND][%IF][,...]: the collectors. */
extern char *nf_param_destination;
/* sampler=MODE:N: flow sampling (deterministic, random or hash), "" off. */
extern char *nf_param_sampler;
/* aggregation=NET/M=N,P1-P2=P,...: address and port aggregation rules. */
extern char *nf_param_aggregation;
/* snmp_rules=PREFIX:BASE,...: interface indexes exported from names. */
extern char *nf_param_snmp_rules;
/* engine_id: v5 engine id (low 8 bits), v9 source id, IPFIX domain. */
extern int nf_param_engine_id;
/* sndbuf: export socket buffer size (0: system default). */
extern int nf_param_sndbuf;
/* exportcpu: the CPU the exporter runs on; -1 lets the workqueue choose. */
extern int nf_param_exportcpu;
/* refresh-rate: NetFlow v9/IPFIX templates are re-sent every this many packets. */
extern unsigned int nf_param_refresh_rate;
/* timeout-rate: ...and at least every this many minutes. */
extern unsigned int nf_param_timeout_rate;
#ifdef NF_FEATURE_PROMISC
/* promisc: meter packets received for other hosts (the build with
 * --enable-promisc); the sysctl switches it. */
extern int nf_param_promisc;
#endif

#endif

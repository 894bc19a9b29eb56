/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Module parameters, declared in C (params_kernel.c) so that they keep the
 * original module's exact names, types and permissions on every kernel, and
 * read from Rust through the bindings.
 */
#ifndef NETFLOW_CONTROL_PARAMS_H
#define NETFLOW_CONTROL_PARAMS_H

/* protocol=5|9|10: the export format (NetFlow v5, v9, IPFIX). */
extern int nf_param_protocol;
/* refresh-rate: NetFlow v9/IPFIX templates are re-sent every this many packets. */
extern unsigned int nf_param_refresh_rate;
/* timeout-rate: ...and at least every this many minutes. */
extern unsigned int nf_param_timeout_rate;

#endif

// SPDX-License-Identifier: GPL-2.0-only
/*
 * iptables/ip6tables extension for the NETFLOW target. The target takes no
 * options and has no data, so this only teaches iptables the name: it
 * accepts "-j NETFLOW", lists the rule as NETFLOW, and saves it as
 * "-j NETFLOW". One library serves both families (NFPROTO_UNSPEC).
 */
#include <stdio.h>
#include <xtables.h>

static void netflow_help(void)
{
	printf("NETFLOW target\n");
}

static int netflow_parse(int c, char **argv, int invert, unsigned int *flags,
			 const void *entry, struct xt_entry_target **target)
{
	(void)c; (void)argv; (void)invert; (void)flags; (void)entry; (void)target;
	return 1;
}

static void netflow_print(const void *ip, const struct xt_entry_target *target,
			  int numeric)
{
	(void)ip; (void)target; (void)numeric;
	printf("NETFLOW ");
}

static struct xtables_target netflow_target = {
	.family		= NFPROTO_UNSPEC,
	.name		= "NETFLOW",
	.version	= XTABLES_VERSION,
	.revision	= 0,
	.size		= XT_ALIGN(0),
	.userspacesize	= XT_ALIGN(0),
	.help		= netflow_help,
	.parse		= netflow_parse,
	.print		= netflow_print,
};

/*
 * Registered from a constructor: a function named _init would collide with
 * the C runtime's own.
 */
static void __attribute__((constructor)) netflow_register(void)
{
	xtables_register_target(&netflow_target);
}

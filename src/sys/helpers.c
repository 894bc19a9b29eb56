// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wrappers for kernel static inlines and macros used by the Rust code.
 * See helpers.h for what each one is for.
 */
#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/percpu.h>
#include <linux/cpumask.h>
#include <linux/cpu.h>
#include <linux/bottom_half.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <net/net_namespace.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netdevice.h>
#include <linux/ethtool.h>
#include <linux/rtnetlink.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/jiffies.h>
#include <linux/timekeeping.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include <linux/mm.h>
#include <linux/if_vlan.h>
#include <linux/ipv6.h>
#include <net/ip.h>
#include <net/netns/generic.h>
#include <linux/netfilter_bridge.h>
#include <net/route.h>
#include <net/sock.h>
#include <linux/net.h>
#include <linux/in.h>
#include <net/ip6_fib.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <net/netfilter/nf_conntrack.h>

#include "helpers.h"
#include "layout.h"

/* The types the Rust side reads at the offsets of layout.h. */
static_assert(sizeof_field(struct sk_buff, len) == 4);
static_assert(sizeof_field(struct sk_buff, data_len) == 4);
static_assert(sizeof_field(struct sk_buff, network_header) == 2);
static_assert(sizeof_field(struct sk_buff, head) == sizeof(void *));
static_assert(sizeof_field(struct sk_buff, data) == sizeof(void *));
static_assert(sizeof_field(struct nf_hook_state, in) == sizeof(void *));
static_assert(sizeof_field(struct nf_hook_state, out) == sizeof(void *));
static_assert(sizeof_field(struct net_device, ifindex) == 4);
static_assert(sizeof_field(struct net_device, name) == IFNAMSIZ && IFNAMSIZ == 16);

const char *nf_version(void)
{
	return NETFLOW_VERSION;
}

const char *nf_srcversion(void)
{
	return THIS_MODULE->srcversion ? THIS_MODULE->srcversion : "(none)";
}

/*
 * Log lines: "%pA" formats the Rust fmt::Arguments that args points to.
 * The ratelimited one has a single state for the module (its callers are
 * errors a flood could repeat).
 */
void nf_log_err(const void *args)
{
	printk(KERN_ERR "%pA", args);
}

void nf_log_warn(const void *args)
{
	printk(KERN_WARNING "%pA", args);
}

void nf_log_info(const void *args)
{
	printk(KERN_INFO "%pA", args);
}

void nf_log_err_ratelimited(const void *args)
{
	printk_ratelimited(KERN_ERR "%pA", args);
}

struct module *nf_this_module(void)
{
	return THIS_MODULE;
}

void __percpu *nf_alloc_percpu(size_t size, size_t align)
{
	return __alloc_percpu(size, align);
}

struct nf_cpu_entry nf_meter_enter(void __percpu *ptr)
{
	struct nf_cpu_entry e = { .bh_disabled = !in_softirq() };

	if (e.bh_disabled)
		local_bh_disable();
	e.local = this_cpu_ptr(ptr);
	return e;
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

void *nf_seq_private(struct seq_file *m)
{
	return m->private;
}

void nf_skb_nexthop(const struct sk_buff *skb, bool ipv6, u8 nexthop[16])
{
	memset(nexthop, 0, 16);
	if (!ipv6) {
		const struct rtable *rt = skb_rtable(skb);

		if (rt && rt->rt_gw_family == AF_INET)
			memcpy(nexthop, &rt->rt_gw4, 4);
	} else {
#if IS_ENABLED(CONFIG_IPV6)
		const struct rt6_info *rt = (const struct rt6_info *)skb_dst(skb);

		if (rt)
			memcpy(nexthop, &rt->rt6i_gateway, 16);
#endif
	}
}

void nf_skb_link_facts(const struct sk_buff *skb, const struct nf_hook_state *state,
		       struct nf_link_facts *facts)
{
	const struct net_device *dev = skb->dev;

	memset(facts, 0, sizeof(*facts));
	facts->protocol = ntohs(skb->protocol);
	facts->hook = state->hook;
	/* Locally generated packets have no MAC header yet. */
	if (skb_mac_header_was_set(skb) && skb_mac_header(skb) >= skb->head &&
	    skb_network_header(skb) >= skb_mac_header(skb) + ETH_HLEN) {
		facts->mac = skb_mac_header(skb);
		facts->mac_len = skb_network_header(skb) - skb_mac_header(skb);
	}
	if (skb_vlan_tag_present(skb)) {
		facts->accel_tag = true;
		facts->accel_tci = skb_vlan_tag_get(skb);
	}
#if IS_ENABLED(CONFIG_VLAN_8021Q)
	/*
	 * A VLAN device took its tag off the packet, unless it runs without
	 * REORDER_HDR, which puts the tag back into the frame (except on
	 * macvlan and bridge ports: vlan_do_receive).
	 */
	while (dev && is_vlan_dev(dev) && facts->dev_vlan_count < ARRAY_SIZE(facts->dev_vlan)) {
		const struct vlan_dev_priv *vlan = vlan_dev_priv(dev);

		if (!(vlan->flags & VLAN_FLAG_REORDER_HDR) && !netif_is_macvlan_port(dev) &&
		    !netif_is_bridge_port(dev))
			break;
		facts->dev_vlan[facts->dev_vlan_count++] = vlan->vlan_id;
		dev = vlan->real_dev;
	}
#endif
#if IS_ENABLED(CONFIG_BRIDGE_NETFILTER)
	facts->phys_in = nf_bridge_get_physinif(skb);
	facts->phys_out = nf_bridge_get_physoutif(skb);
#endif
}

#ifdef NF_FEATURE_PROMISC
/* Promisc mode, in the build with --enable-promisc only (see helpers.h). */
static int nf_promisc_func(struct sk_buff *skb, struct net_device *dev, struct packet_type *pt,
			   struct net_device *orig_dev)
{
	if (skb->pkt_type != PACKET_OTHERHOST) {
		consume_skb(skb);
		return 0;
	}
	nf_promisc_rcv(skb);
	return 0;
}

#ifdef NF_PTYPE_PER_NET
static unsigned int nf_promisc_net_id;

static int nf_promisc_net_init(struct net *net)
{
	struct packet_type *pt = net_generic(net, nf_promisc_net_id);

	pt->type = htons(ETH_P_ALL);
	pt->func = nf_promisc_func;
	/* Only received packets: no clone of every packet sent. */
	pt->ignore_outgoing = true;
	pt->af_packet_net = net;
	dev_add_pack(pt);
	return 0;
}

static void nf_promisc_net_exit(struct net *net)
{
	dev_remove_pack(net_generic(net, nf_promisc_net_id));
}

static struct pernet_operations nf_promisc_pernet_ops = {
	.init = nf_promisc_net_init,
	.exit = nf_promisc_net_exit,
	.id = &nf_promisc_net_id,
	.size = sizeof(struct packet_type),
};

int nf_promisc_register(void)
{
	return register_pernet_subsys(&nf_promisc_pernet_ops);
}

void nf_promisc_unregister(void)
{
	unregister_pernet_subsys(&nf_promisc_pernet_ops);
}
#else
static struct packet_type nf_promisc_pt = {
	.type = cpu_to_be16(ETH_P_ALL),
	.func = nf_promisc_func,
	/* Only received packets: no clone of every packet sent. */
	.ignore_outgoing = true,
};

int nf_promisc_register(void)
{
	dev_add_pack(&nf_promisc_pt);
	return 0;
}

void nf_promisc_unregister(void)
{
	dev_remove_pack(&nf_promisc_pt);
}
#endif

void nf_skb_free(struct sk_buff *skb)
{
	kfree_skb(skb);
}

struct sk_buff *nf_promisc_unshare(struct sk_buff *skb)
{
	return skb_share_check(skb, GFP_ATOMIC);
}

u16 nf_skb_protocol(const struct sk_buff *skb)
{
	return ntohs(skb->protocol);
}

unsigned int nf_skb_len(const struct sk_buff *skb)
{
	return skb->len;
}

const u8 *nf_skb_header(struct sk_buff *skb, unsigned int len)
{
	return pskb_may_pull(skb, len) ? skb->data : NULL;
}

void nf_skb_pull(struct sk_buff *skb, unsigned int len)
{
	if (pskb_may_pull(skb, len))
		__skb_pull(skb, len);
}

static int nf_promisc_done(struct net *net, struct sock *sk, struct sk_buff *skb)
{
	consume_skb(skb);
	return 0;
}

void nf_promisc_inject(struct sk_buff *skb, bool ipv6, unsigned int len, unsigned int l4_offset)
{
	struct net_device *dev = skb->dev;

	if (pskb_trim_rcsum(skb, len)) {
		kfree_skb(skb);
		return;
	}
	skb_reset_network_header(skb);
	skb_set_transport_header(skb, l4_offset);
	skb->protocol = htons(ipv6 ? ETH_P_IPV6 : ETH_P_IP);
	/* The control block as ip_rcv()/ipv6_rcv() leave it for the hooks. */
	if (ipv6) {
		memset(IP6CB(skb), 0, sizeof(struct inet6_skb_parm));
		IP6CB(skb)->iif = dev->ifindex;
		IP6CB(skb)->nhoff = offsetof(struct ipv6hdr, nexthdr);
	} else {
		memset(IPCB(skb), 0, sizeof(struct inet_skb_parm));
		IPCB(skb)->iif = dev->ifindex;
	}
	NF_HOOK(ipv6 ? NFPROTO_IPV6 : NFPROTO_IPV4, NF_INET_PRE_ROUTING, dev_net(dev), NULL, skb, dev,
		NULL, nf_promisc_done);
}
#endif

unsigned int nf_hz(void)
{
	return HZ;
}

/*
 * A cache of its own, never merged with another of the same size: the flow
 * records' memory shows as "ipt_netflow" in /proc/slabinfo and slabtop, and
 * a leak or a flood is seen there, not hidden in a shared kmalloc cache.
 */
struct kmem_cache *nf_cache_create(const char *name, unsigned int size, unsigned int align)
{
	return kmem_cache_create(name, size, align, SLAB_NO_MERGE, NULL);
}

void *nf_cache_alloc_atomic(struct kmem_cache *cache)
{
	return kmem_cache_alloc(cache, GFP_ATOMIC | __GFP_NOWARN);
}

void **nf_kvcalloc_ptrs(unsigned int n)
{
	return kvcalloc(n, sizeof(void *), GFP_KERNEL);
}

void nf_rcu_read_lock(void)
{
	rcu_read_lock();
}

void nf_rcu_read_unlock(void)
{
	rcu_read_unlock();
}

void nf_spin_lock_init(spinlock_t *lock)
{
	spin_lock_init(lock);
}

void nf_spin_lock(spinlock_t *lock)
{
	spin_lock(lock);
}

void nf_spin_unlock(spinlock_t *lock)
{
	spin_unlock(lock);
}

void nf_spin_lock_bh(spinlock_t *lock)
{
	spin_lock_bh(lock);
}

bool nf_spin_trylock_bh(spinlock_t *lock)
{
	return spin_trylock_bh(lock);
}

void nf_spin_unlock_bh(spinlock_t *lock)
{
	spin_unlock_bh(lock);
}

void nf_mutex_init(struct mutex *lock)
{
	mutex_init(lock);
}

/* Lockdep classes for mutexes that nest inside another of ours. */
static struct lock_class_key nf_mutex_keys[NF_MUTEX_CLASSES];

void nf_mutex_init_class(struct mutex *lock, unsigned int class)
{
	__mutex_init(lock, "ipt_NETFLOW", &nf_mutex_keys[class % NF_MUTEX_CLASSES]);
}

void nf_mutex_lock(struct mutex *lock)
{
	mutex_lock(lock);
}

void nf_mutex_unlock(struct mutex *lock)
{
	mutex_unlock(lock);
}

void nf_init_delayed_work(struct delayed_work *work, void (*fn)(struct work_struct *))
{
	INIT_DELAYED_WORK(work, fn);
}

bool nf_schedule_delayed_work(struct delayed_work *work, unsigned long delay)
{
	return schedule_delayed_work(work, delay);
}

int nf_schedule_delayed_work_on(int cpu, struct delayed_work *work, unsigned long delay)
{
	int ret = -ENODEV;

	/* The CPU must not go offline between the check and the queueing;
	 * once queued, hotplug moves the work elsewhere by itself. */
	cpus_read_lock();
	if (cpu >= 0 && cpu < nr_cpu_ids && cpu_online(cpu))
		ret = schedule_delayed_work_on(cpu, work, delay);
	cpus_read_unlock();
	return ret;
}

u64 nf_ktime_get_ns(void)
{
	return ktime_get_ns();
}

unsigned int nf_smp_processor_id(void)
{
	return raw_smp_processor_id();
}

u64 nf_totalram_bytes(void)
{
	return (u64)totalram_pages() << PAGE_SHIFT;
}

/*
 * kernel_bind()/kernel_connect() take struct sockaddr_unsized on 7.x
 * (configure's nf_sockaddr_unsized probe).
 */
#ifdef NF_SOCKADDR_UNSIZED
#define NF_SOCKADDR(p) ((struct sockaddr_unsized *)(p))
#else
#define NF_SOCKADDR(p) ((struct sockaddr *)(p))
#endif

static void nf_usock_error_report(struct sock *sk)
{
	atomic_t *cberr;

	read_lock_bh(&sk->sk_callback_lock);
	cberr = sk->sk_user_data;
	if (cberr)
		atomic_inc(cberr);
	read_unlock_bh(&sk->sk_callback_lock);
	WRITE_ONCE(sk->sk_err, 0);
}

int nf_usock_create(int family, struct socket **res)
{
	int err = sock_create_kern(&init_net, family, SOCK_DGRAM, IPPROTO_UDP, res);

	if (!err)
		(*res)->sk->sk_allocation = GFP_ATOMIC;
	return err;
}

void nf_usock_setup(struct socket *sock, atomic_t *cberr, int sndbuf)
{
	struct sock *sk = sock->sk;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = cberr;
	sk->sk_error_report = nf_usock_error_report;
	write_unlock_bh(&sk->sk_callback_lock);
	if (sndbuf > 0)
		WRITE_ONCE(sk->sk_sndbuf, sndbuf);
}

int nf_usock_bind_dev(struct socket *sock, const char *ifname)
{
	struct net_device *dev = dev_get_by_name(&init_net, ifname);

	if (!dev)
		return -ENODEV;
	sock->sk->sk_bound_dev_if = dev->ifindex;
	dev_put(dev);
	sk_dst_reset(sock->sk);
	return 0;
}

int nf_usock_bind(struct socket *sock, const void *addr, int addrlen)
{
	return kernel_bind(sock, NF_SOCKADDR(addr), addrlen);
}

int nf_usock_connect(struct socket *sock, const void *addr, int addrlen)
{
	return kernel_connect(sock, NF_SOCKADDR(addr), addrlen, 0);
}

int nf_usock_send(struct socket *sock, const void *buf, size_t len)
{
	struct msghdr msg = { .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL };
	struct kvec iov = { .iov_base = (void *)buf, .iov_len = len };

	return kernel_sendmsg(sock, &msg, &iov, 1, len);
}

void nf_usock_release(struct socket *sock)
{
	struct sock *sk = sock->sk;

	/* No callback may reach the owner's counter after this. */
	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	write_unlock_bh(&sk->sk_callback_lock);
	sock_release(sock);
}

unsigned int nf_usock_sndbuf(const struct socket *sock)
{
	return READ_ONCE(sock->sk->sk_sndbuf);
}

unsigned int nf_usock_wmem(const struct socket *sock)
{
	return refcount_read(&sock->sk->sk_wmem_alloc);
}

void nf_usock_set_sndbuf(struct socket *sock, int sndbuf)
{
	/* As the original: the value itself, not doubled as SO_SNDBUF would. */
	WRITE_ONCE(sock->sk->sk_sndbuf, sndbuf);
}

int nf_sock_min_sndbuf(void)
{
	return SOCK_MIN_SNDBUF;
}

struct net_device *nf_netdev_next(struct net_device *prev)
{
	ASSERT_RTNL();
	return prev ? next_net_device(prev) : first_net_device(&init_net);
}

void nf_netdev_facts(struct net_device *dev, struct nf_netdev_facts *f)
{
	const struct ethtool_ops *ops = dev->ethtool_ops;
	struct ethtool_link_ksettings ks = {};
	const struct dev_ifalias *alias;

	ASSERT_RTNL();
	memset(f, 0, sizeof(*f));
	f->ifindex = dev->ifindex;
	f->type = dev->type;
	f->running = netif_running(dev) && netif_carrier_ok(dev);
	strscpy(f->name, dev->name, sizeof(f->name));
	/* dev_get_alias() is not exported on every kernel; this is what it does. */
	rcu_read_lock();
	alias = rcu_dereference(dev->ifalias);
	if (alias)
		strscpy(f->alias, alias->ifalias, sizeof(f->alias));
	rcu_read_unlock();
	if (ops && ops->get_drvinfo) {
		struct ethtool_drvinfo info = {};

		ops->get_drvinfo(dev, &info);
		strscpy(f->driver, info.driver, sizeof(f->driver));
	}
	if (f->running && !__ethtool_get_link_ksettings(dev, &ks) &&
	    ks.base.speed != SPEED_UNKNOWN) {
		f->link_known = true;
		f->speed = ks.base.speed;
		f->port = ks.base.port;
	}
}

u64 nf_uptime_ms(unsigned long j)
{
	return jiffies64_to_msecs(j - INITIAL_JIFFIES);
}

void nf_real_time(struct nf_timespec *ts)
{
	struct timespec64 t;

	ktime_get_real_ts64(&t);
	ts->sec = t.tv_sec;
	ts->nsec = t.tv_nsec;
}

#ifdef NF_CT_EVENTS
static int nf_ctev_net_init(struct net *net)
{
	return nf_nat_net_init(net);
}

static void nf_ctev_net_pre_exit(struct net *net)
{
	nf_nat_net_pre_exit(net);
}

static struct pernet_operations nf_ctev_pernet_ops = {
	.init = nf_ctev_net_init,
	.pre_exit = nf_ctev_net_pre_exit,
};

int nf_ctev_register(void)
{
	int err;

	/*
	 * Conntrack hands events to ctnetlink's notifier: without it loaded
	 * (a modular kernel loads it only on its first use, asynchronously)
	 * the first connections would go unreported. Built in, modprobe
	 * answers 0. A failure (no modprobe, a kernel that forbids module
	 * loading) does not stop capture: ctnetlink may already be loaded, or
	 * be loaded later; the log says why events may be missing.
	 */
	err = request_module("nf_conntrack_netlink");
	if (err)
		pr_warn("ipt_NETFLOW: loading nf_conntrack_netlink failed (%d): NAT events flow only once it is loaded\n",
			err);
	return register_pernet_subsys(&nf_ctev_pernet_ops);
}

void nf_ctev_unregister(void)
{
	unregister_pernet_subsys(&nf_ctev_pernet_ops);
}

bool nf_ct_events_off(const struct net *net)
{
	return READ_ONCE(net->ct.sysctl_events) == 0;
}

struct nf_ct_nat4_walk {
	void (*fn)(void *ctx, const struct nf_ct_nat4 *entry);
	void *ctx;
};

static int nf_ct_nat4_visit(struct nf_conn *ct, void *data)
{
	const struct nf_conntrack_tuple *o = &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	const struct nf_conntrack_tuple *r = &ct->tuplehash[IP_CT_DIR_REPLY].tuple;
	const struct nf_ct_nat4_walk *walk = data;
	struct nf_ct_nat4 e = {
		.orig_src = (__force u32)o->src.u3.ip,
		.orig_dst = (__force u32)o->dst.u3.ip,
		.reply_src = (__force u32)r->src.u3.ip,
		.reply_dst = (__force u32)r->dst.u3.ip,
		.orig_sport = (__force u16)o->src.u.all,
		.orig_dport = (__force u16)o->dst.u.all,
		.reply_sport = (__force u16)r->src.u.all,
		.reply_dport = (__force u16)r->dst.u.all,
		.protocol = o->dst.protonum,
	};

	if ((READ_ONCE(ct->status) & IPS_NAT_MASK) && nf_ct_l3num(ct) == NFPROTO_IPV4)
		walk->fn(walk->ctx, &e);
	return 0;	/* look, never kill */
}

int nf_ct_for_each_nat4(struct net *net, void (*fn)(void *ctx, const struct nf_ct_nat4 *entry), void *ctx)
{
	struct nf_ct_nat4_walk walk = { .fn = fn, .ctx = ctx };
	struct nf_ct_iter_data d = { .net = net, .data = &walk };
	/* By address, not by link: loading ipt_NETFLOW must not load conntrack. */
	void (*iterate)(int (*)(struct nf_conn *, void *), const struct nf_ct_iter_data *) =
		symbol_get(nf_ct_iterate_cleanup_net);

	if (!iterate)
		return -ENOENT;
	iterate(nf_ct_nat4_visit, &d);
	symbol_put(nf_ct_iterate_cleanup_net);
	return 0;
}
#else
int nf_ctev_register(void)
{
	return -EOPNOTSUPP;
}

void nf_ctev_unregister(void)
{
}

bool nf_ct_events_off(const struct net *net)
{
	return true;
}

int nf_ct_for_each_nat4(struct net *net, void (*fn)(void *ctx, const struct nf_ct_nat4 *entry), void *ctx)
{
	return -ENOENT;
}
#endif

int nf_ctev_sock_create(struct net *net, int rcvbuf, struct socket **res)
{
	struct sockaddr_nl addr = {
		.nl_family = AF_NETLINK,
		.nl_groups = (1 << (NFNLGRP_CONNTRACK_NEW - 1)) |
			     (1 << (NFNLGRP_CONNTRACK_DESTROY - 1)),
	};
	int one = 1;
	int err;

	err = sock_create_kern(net, AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER, res);
	if (err)
		return err;
	err = (*res)->ops->setsockopt(*res, SOL_NETLINK, NETLINK_NO_ENOBUFS,
				      KERNEL_SOCKPTR(&one), sizeof(one));
	if (!err) {
		if (rcvbuf > 0)
			WRITE_ONCE((*res)->sk->sk_rcvbuf, rcvbuf);
		err = kernel_bind(*res, NF_SOCKADDR(&addr), sizeof(addr));
	}
	if (err) {
		sock_release(*res);
		*res = NULL;
	}
	return err;
}

struct sk_buff *nf_ctev_recv(struct socket *sock, const u8 **data, unsigned int *len)
{
	struct sk_buff *skb = skb_dequeue(&sock->sk->sk_receive_queue);

	if (skb) {
		*data = skb->data;
		*len = skb_headlen(skb);
	}
	return skb;
}

void nf_ctev_free(struct sk_buff *skb)
{
	consume_skb(skb);
}

unsigned int nf_ctev_drops(const struct socket *sock)
{
#ifdef NF_SK_DROPS_READ
	return sk_drops_read(sock->sk);
#else
	return atomic_read(&sock->sk->sk_drops);
#endif
}

bool nf_net_alive(const struct net *net)
{
	return check_net(net);
}

int nf_sock_min_rcvbuf(void)
{
	return SOCK_MIN_RCVBUF;
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Out-of-line wrappers for the static inline functions and macros of the
 * kernel that the Rust side needs (they have no symbol to link against).
 * Each one is a single expression or reads fields into a plain struct;
 * anything with logic lives in Rust.
 */
#ifndef NETFLOW_SYS_HELPERS_H
#define NETFLOW_SYS_HELPERS_H

#include <linux/types.h>
#include <linux/spinlock_types.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>

struct seq_file;

struct sk_buff;
struct nf_hook_state;
struct proc_dir_entry;
struct module;

/* The module's version string (from the VERSION file) and srcversion. */
const char *nf_version(void);
const char *nf_srcversion(void);
struct module *nf_this_module(void);

/* Kernel log lines without a prefix; args is a Rust fmt::Arguments. */
void nf_log_err(const void *args);
void nf_log_warn(const void *args);
void nf_log_info(const void *args);
void nf_log_err_ratelimited(const void *args);

/*
 * Per-CPU data. nf_meter_enter() disables bottom halves unless they already
 * are (the nft_compat path may call a target in process context) and
 * returns this CPU's copy, and whether nf_meter_exit() must undo that (in
 * registers: two words are returned in rax and rdx).
 */
struct nf_cpu_entry {
	void *local;
	bool bh_disabled;
};
void __percpu *nf_alloc_percpu(size_t size, size_t align);
struct nf_cpu_entry nf_meter_enter(void __percpu *ptr);
void nf_meter_exit(void);
void *nf_per_cpu_ptr(void __percpu *ptr, int cpu);
unsigned int nf_nr_cpu_ids(void);
bool nf_cpu_possible(unsigned int cpu);
bool nf_cpu_present(unsigned int cpu);
unsigned int nf_num_present_cpus(void);

/* init_net's /proc/net/stat directory. */
struct proc_dir_entry *nf_proc_net_stat(void);
/* The private data of a seq_file opened by proc_create_seq_private(). */
void *nf_seq_private(struct seq_file *m);

/* The next hop the routing decision attached to the skb, if any. */
void nf_skb_nexthop(const struct sk_buff *skb, bool ipv6, u8 nexthop[16]);

/*
 * What the link-layer fields of the builds that compile them in
 * (configure --enable-macaddress, --enable-vlan, --enable-direction,
 * --enable-physdev) read of a packet; the default build never calls it.
 */
struct nf_link_facts {
	const u8 *mac;		/* the MAC header, NULL when there is none */
	unsigned int mac_len;	/* bytes from it to the network header */
	u16 dev_vlan[2];	/* VLAN ids of the VLAN devices that took their */
	u8 dev_vlan_count;	/* tags off, innermost first */
	bool accel_tag;		/* a tag the NIC or veth took off, still on */
	u16 accel_tci;		/* the skb: its control information */
	u16 protocol;		/* skb->protocol, host order */
	u8 hook;		/* enum nf_inet_hooks */
	int phys_in;		/* bridge ports (br_netfilter), 0 when none */
	int phys_out;
};
void nf_skb_link_facts(const struct sk_buff *skb, const struct nf_hook_state *state,
		       struct nf_link_facts *facts);

/*
 * Promisc mode (builds with --enable-promisc): an ETH_P_ALL handler hands
 * each packet received for another host (PACKET_OTHERHOST) to the Rust
 * entry nf_promisc_rcv(), which owns it from then on and ends it with
 * nf_skb_free() or nf_promisc_inject(). One handler per network namespace
 * where the kernel keeps them per namespace (NF_PTYPE_PER_NET), else one
 * for all. nf_promisc_unregister() returns when no handler runs any more.
 */
int nf_promisc_register(void);
void nf_promisc_unregister(void);
void nf_promisc_rcv(struct sk_buff *skb);
void nf_skb_free(struct sk_buff *skb);
/* The packet to change as its owner (a copy when others hold it too), or
 * NULL when it had to be freed. */
struct sk_buff *nf_promisc_unshare(struct sk_buff *skb);
/* skb->protocol (host order) and skb->len. */
u16 nf_skb_protocol(const struct sk_buff *skb);
unsigned int nf_skb_len(const struct sk_buff *skb);
/* The first len bytes from skb->data, made linear; NULL if it is shorter. */
const u8 *nf_skb_header(struct sk_buff *skb, unsigned int len);
/* Moves skb->data past len bytes (a tag or label stack entry), which stay
 * before it as link-layer bytes; nothing when the packet is shorter. */
void nf_skb_pull(struct sk_buff *skb, unsigned int len);
/* Trims the packet to len bytes, marks its network and transport headers
 * (l4_offset bytes apart), sets its protocol, runs the PREROUTING hooks of
 * IPv4 or IPv6 on it and frees it after them. */
void nf_promisc_inject(struct sk_buff *skb, bool ipv6, unsigned int len, unsigned int l4_offset);

/* Time and place. */
struct nf_timespec {
	s64 sec;
	s64 nsec;
};
void nf_real_time(struct nf_timespec *ts);
u64 nf_uptime_ms(unsigned long j);
u64 nf_ktime_get_ns(void);
unsigned int nf_smp_processor_id(void);
u64 nf_totalram_bytes(void);
unsigned int nf_hz(void);

/* Slab caches (atomic allocations) and zeroed arrays of pointers. */
struct kmem_cache;
struct kmem_cache *nf_cache_create(const char *name, unsigned int size, unsigned int align);
void *nf_cache_alloc_atomic(struct kmem_cache *cache);
void **nf_kvcalloc_ptrs(unsigned int n);

/* RCU read-side critical sections (rcu_read_lock is a static inline). */
void nf_rcu_read_lock(void);
void nf_rcu_read_unlock(void);

/* Locks. Table locks: spin_lock when bottom halves are already off. */
void nf_spin_lock_init(spinlock_t *lock);
void nf_spin_lock(spinlock_t *lock);
void nf_spin_unlock(spinlock_t *lock);
void nf_spin_lock_bh(spinlock_t *lock);
/* True with the lock held and bottom halves off; false with neither. */
bool nf_spin_trylock_bh(spinlock_t *lock);
void nf_spin_unlock_bh(spinlock_t *lock);
void nf_mutex_init(struct mutex *lock);
/* A mutex of lockdep class `class` (< NF_MUTEX_CLASSES), for nesting. */
#define NF_MUTEX_CLASSES 4
void nf_mutex_init_class(struct mutex *lock, unsigned int class);
void nf_mutex_lock(struct mutex *lock);
void nf_mutex_unlock(struct mutex *lock);

/* The scanner's delayed work on the system workqueue. */
void nf_init_delayed_work(struct delayed_work *work, void (*fn)(struct work_struct *));
bool nf_schedule_delayed_work(struct delayed_work *work, unsigned long delay);
/* -ENODEV if `cpu` is not online; else whether the work was newly queued. */
int nf_schedule_delayed_work_on(int cpu, struct delayed_work *work, unsigned long delay);

/*
 * Export sockets: kernel UDP sockets in init_net. The error-report callback
 * counts ICMP errors (port unreachable...) into *cberr and clears the
 * socket error so the next send is not refused for an old error.
 */
struct socket;
int nf_usock_create(int family, struct socket **res);
void nf_usock_setup(struct socket *sock, atomic_t *cberr, int sndbuf);
int nf_usock_bind_dev(struct socket *sock, const char *ifname);
int nf_usock_bind(struct socket *sock, const void *addr, int addrlen);
int nf_usock_connect(struct socket *sock, const void *addr, int addrlen);
int nf_usock_send(struct socket *sock, const void *buf, size_t len);
void nf_usock_release(struct socket *sock);
unsigned int nf_usock_sndbuf(const struct socket *sock);
unsigned int nf_usock_wmem(const struct socket *sock);
void nf_usock_set_sndbuf(struct socket *sock, int sndbuf);
int nf_sock_min_sndbuf(void);

/*
 * The network interfaces of init_net, for the interface-name options
 * records. Walk them with nf_netdev_next(NULL), nf_netdev_next(dev), ...
 * between rtnl_lock() and rtnl_unlock(); nf_netdev_facts() reads what the
 * description is made of (the text itself is composed in Rust).
 */
struct net_device;
struct nf_netdev_facts {
	int ifindex;
	unsigned short type;	/* ARPHRD_* */
	bool running;		/* up, with a carrier */
	bool link_known;	/* speed and port were read from ethtool */
	u32 speed;		/* Mb/s */
	u8 port;		/* PORT_* */
	char name[16];
	char alias[33];
	char driver[32];
};
struct net_device *nf_netdev_next(struct net_device *prev);
void nf_netdev_facts(struct net_device *dev, struct nf_netdev_facts *facts);

/*
 * Conntrack events for NAT event logging. In every network namespace a
 * kernel netlink socket listens to ctnetlink's "new" and "destroy" groups,
 * exactly as `conntrack -E` does: being a listener is what makes the kernel
 * generate events under its default net.netfilter.nf_conntrack_events=2,
 * and ctnetlink's own users are not disturbed. The socket never reports
 * ENOBUFS: a full receive queue drops the event and counts it in sk_drops.
 * Without CONFIG_NF_CONNTRACK_EVENTS and CONFIG_NF_CT_NETLINK (NF_CT_EVENTS
 * undefined) nf_ctev_register() fails with -EOPNOTSUPP.
 *
 * nf_ctev_register() loads ctnetlink (and with it conntrack) if it is a
 * module, then makes the kernel call the Rust entries
 * nf_nat_net_init() for every namespace, now and as they are created, and
 * nf_nat_net_pre_exit() for every namespace at nf_ctev_unregister() and as
 * they go away (while their conntrack entries still exist).
 */
struct net;
int nf_ctev_register(void);
void nf_ctev_unregister(void);
int nf_nat_net_init(struct net *net);
void nf_nat_net_pre_exit(struct net *net);
int nf_ctev_sock_create(struct net *net, int rcvbuf, struct socket **res);
/* Takes the oldest queued message buffer; free it with nf_ctev_free(). */
struct sk_buff *nf_ctev_recv(struct socket *sock, const u8 **data, unsigned int *len);
void nf_ctev_free(struct sk_buff *skb);
unsigned int nf_ctev_drops(const struct socket *sock);
/* Whether the namespace still has users (false while it is torn down). */
bool nf_net_alive(const struct net *net);
/* Whether conntrack events are switched off in the namespace. */
bool nf_ct_events_off(const struct net *net);
int nf_sock_min_rcvbuf(void);

/* One IPv4 conntrack entry with NAT: both tuples as conntrack keeps them. */
struct nf_ct_nat4 {
	u32 orig_src;	/* network order, like every field below */
	u32 orig_dst;
	u32 reply_src;
	u32 reply_dst;
	u16 orig_sport;	/* the tuple's raw u.all */
	u16 orig_dport;
	u16 reply_sport;
	u16 reply_dport;
	u8 protocol;
};
/*
 * Calls fn(ctx, entry) for every IPv4 conntrack entry with NAT in `net`,
 * in atomic context (under conntrack's bucket locks). Returns -ENOENT when
 * conntrack is not loaded (no entry exists then).
 */
int nf_ct_for_each_nat4(struct net *net, void (*fn)(void *ctx, const struct nf_ct_nat4 *entry), void *ctx);

#endif

// SPDX-License-Identifier: GPL-2.0-only
//! ipt_NETFLOW: an iptables/ip6tables `NETFLOW` target that meters packets
//! into flows and exports them as NetFlow v5, v9 and IPFIX.
//!
//! This is the kernel crate root. The layout follows the data:
//! - `meter`: packets come in through the xtables target and are accounted;
//! - `control`: module parameters and the /proc files operators read;
//! - `sys`: generated bindings, C helpers and thin safe wrappers.
//!
//! Files named `*_kernel.rs` (and everything in `sys`) are kernel glue; the
//! others are pure logic, shared with the host library (`src/lib.rs`) that
//! `cargo test` runs.

use kernel::prelude::*;

/// Where packets come in: the target, header parsing, per-CPU accounting.
pub mod meter {
    pub mod aggregation;
    pub mod ctnetlink;
    pub mod expiry;
    pub mod flow;
    pub mod flow_budget;
    pub mod flow_hash;
    pub mod flow_key;
    pub mod flow_merge;
    pub mod flow_table;
    pub mod link_layer;
    pub mod nat_event;
    pub mod meter_kernel;
    pub mod nat_kernel;
    pub mod packet;
    pub mod packet_rules;
    #[cfg(feature = "promisc")]
    pub mod promisc;
    #[cfg(feature = "promisc")]
    pub mod promisc_kernel;
    pub mod rates;
    pub mod sampler;
    pub mod skb_kernel;
    pub mod snmp_rules;
    pub mod stats;
    pub mod target_kernel;
}

/// The work that drains the flow tables into the exporter.
pub mod work {
    pub mod scanner_kernel;
}

/// What operators set and see: parameters and /proc files.
pub mod control {
    pub mod proc_text;
    pub mod procfs_kernel;
    pub mod rule_sets_kernel;
    pub mod setting_check;
    pub mod sysctl_kernel;
}

/// Where exports leave: destinations, encoders, sockets.
pub mod export {
    pub mod destination;
    pub mod exporter_kernel;
    pub mod netflow_v5;
    pub mod options;
    pub mod pdu;
    pub mod record;
    pub mod socket_kernel;
    pub mod source;
    pub mod template;
}

/// The module parameters: what every layer above sys may read.
pub mod params {
    pub mod bindings;
    mod params_kernel;
    pub mod protocol;
    pub use params_kernel::*;
    pub use protocol::Protocol;
}

/// Kernel bindings, C helper wrappers and the safe abstractions over them.
pub mod sys {
    pub mod bindings;
    pub mod boxed;
    pub mod cstr;
    pub mod ctevents;
    pub mod fmtbuf;
    pub mod log;
    pub mod netdev;
    pub mod percpu;
    pub mod procfs;
    #[cfg(feature = "promisc")]
    pub mod promisc;
    pub mod rcu;
    pub mod seq;
    pub mod skb;
    pub mod slab;
    pub mod sync;
    pub mod sysctl;
    pub mod system;
    pub mod udp;
    pub mod workqueue;
    pub mod xtables;
    pub mod time;
}

use control::procfs_kernel::ProcFiles;
use control::sysctl_kernel::Sysctls;
use meter::meter_kernel::MeterHandle;
use meter::nat_kernel::NatCaptureHandle;
use meter::target_kernel::TargetRegistration;
use work::scanner_kernel::ScannerHandle;

module! {
    type: Netflow,
    name: "ipt_NETFLOW",
    description: "iptables NETFLOW target module",
    license: "GPL",
    alias: ["ip6t_NETFLOW"],
}

/// The loaded module. Fields drop in declaration order, which is the reverse
/// of setting up: no new packets or readers first, then the state they used
/// (the scanner exports every flow left and closes the destinations), and
/// the unload line last.
struct Netflow {
    _targets: TargetRegistration,
    _sysctl: Sysctls,
    _proc: ProcFiles,
    #[cfg(feature = "promisc")]
    _promisc: meter::promisc_kernel::PromiscHandle,
    _scanner: ScannerHandle,
    _nat: NatCaptureHandle,
    _meter: MeterHandle,
    _unloaded: UnloadLine,
}

impl kernel::Module for Netflow {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let (version, srcversion) = sys::system::module_version();
        crate::log_info!("ipt_NETFLOW version {}, srcversion {}\n", version.unwrap_or(""), srcversion.unwrap_or(""));
        let loaded = load();
        if loaded.is_err() {
            crate::log_info!("ipt_NETFLOW is not loaded.\n");
        }
        loaded
    }
}

/// Sets everything up in the original's order, so the log reads the same:
/// hash size, /proc files, sysctls, destinations, rule sets, protocol,
/// NAT events, target.
fn load() -> Result<Netflow> {
    params::validate()?;
    let hashsize = match params::hashsize_at_load() {
        n if n > 0 => (n as u32).max(meter::meter_kernel::MIN_HASHSIZE),
        _ => meter::meter_kernel::auto_hashsize(),
    };
    let meter = MeterHandle::new(hashsize)?;
    let buckets = meter.get().hashsize.load(core::sync::atomic::Ordering::Relaxed);
    crate::log_info!("ipt_NETFLOW: hashsize {} ({}K)\n", buckets, (buckets * 8) >> 10);
    let proc = ProcFiles::register()?;
    let sysctl = Sysctls::register()?;
    crate::log_info!("netflow: registered: sysctl net.netflow\n");
    let scanner = ScannerHandle::new(meter.get().hz)?;
    rules_at_load(&scanner, meter.get())?;
    params::log_protocol_enabled(params::protocol());
    let nat = NatCaptureHandle::new()?;
    if params::natevents() != 0 {
        // As the original: a kernel that cannot deliver the events loads
        // the module without them (the reason is logged).
        let _ = nat.get().set_enabled(true);
    }
    #[cfg(feature = "promisc")]
    let promisc = meter::promisc_kernel::PromiscHandle::new()?;
    #[cfg(feature = "promisc")]
    if params::promisc_at_load() != 0 {
        promisc.get().set_enabled(true)?;
    }
    scanner.start();
    let targets = TargetRegistration::register()?;
    crate::log_info!("ipt_NETFLOW is loaded.\n");
    Ok(Netflow {
        _targets: targets,
        _sysctl: sysctl,
        _proc: proc,
        #[cfg(feature = "promisc")]
        _promisc: promisc,
        _scanner: scanner,
        _nat: nat,
        _meter: meter,
        _unloaded: UnloadLine,
    })
}

/// Puts the rule sets given at load in force. Not inlined: the rules (a
/// kilobyte) are in this function's frame while it runs, not in module
/// init's, which is live through the whole load.
#[inline(never)]
fn rules_at_load(scanner: &ScannerHandle, meter: &meter::meter_kernel::Meter) -> Result {
    let mut rules = meter::packet_rules::PacketRules::none();
    control::rule_sets_kernel::packet_rules_at_load(&mut rules)?;
    if rules.is_none() {
        return Ok(());
    }
    scanner.set_rules(meter, &rules)
}

impl Drop for Netflow {
    fn drop(&mut self) {
        crate::log_info!("ipt_NETFLOW unloading..\n");
    }
}

/// Logs the original's last line at unload, after everything else is gone.
struct UnloadLine;

impl Drop for UnloadLine {
    fn drop(&mut self) {
        crate::log_info!("ipt_NETFLOW unloaded.\n");
    }
}

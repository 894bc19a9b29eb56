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
    pub mod account;
    pub mod meter_kernel;
    pub mod packet;
    pub mod stats;
    pub mod target_kernel;
}

/// What operators set and see: parameters and /proc files.
pub mod control {
    pub mod params_kernel;
    pub mod proc_text;
    pub mod procfs_kernel;
}

/// Kernel bindings, C helper wrappers and the safe abstractions over them.
pub mod sys {
    pub mod bindings;
    pub mod percpu;
    pub mod seq;
    pub mod skb;
}

use control::procfs_kernel::ProcFiles;
use meter::meter_kernel::MeterHandle;
use meter::target_kernel::TargetRegistration;

module! {
    type: Netflow,
    name: "ipt_NETFLOW",
    description: "iptables NETFLOW target module",
    license: "GPL",
    alias: ["ip6t_NETFLOW"],
}

/// The loaded module. Fields drop in declaration order, which is the reverse
/// of setting up: no new packets or readers first, then the state they used.
struct Netflow {
    _targets: TargetRegistration,
    _proc: ProcFiles,
    _meter: MeterHandle,
}

impl kernel::Module for Netflow {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        control::params_kernel::validate()?;
        let meter = MeterHandle::new()?;
        let proc = ProcFiles::register()?;
        let targets = TargetRegistration::register()?;
        pr_info!(
            "ipt_NETFLOW protocol version {} ({}) enabled.\n",
            control::params_kernel::protocol(),
            if control::params_kernel::protocol() == 10 { "ipfix" } else { "netflow" }
        );
        pr_info!("ipt_NETFLOW is loaded.\n");
        Ok(Netflow { _targets: targets, _proc: proc, _meter: meter })
    }
}

impl Drop for Netflow {
    fn drop(&mut self) {
        pr_info!("ipt_NETFLOW unloading.\n");
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! The pure logic of ipt_NETFLOW, as a host library.
//!
//! Every module listed here is `no_std`, allocation-free and independent of
//! the kernel: the kernel crate (`src/netflow.rs`) compiles the very same files
//! next to its kernel glue, and `cargo test` exercises them here. Files named
//! `*_kernel.rs` are the glue and are never part of this library.
#![no_std]

#[cfg(test)]
extern crate std;

/// The module parameters' pure side.
pub mod params {
    pub mod protocol;
}

/// Where packets come in: header parsing and the per-CPU counters.
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
    pub mod packet;
    pub mod packet_rules;
    pub mod promisc;
    pub mod rates;
    pub mod sampler;
    pub mod snmp_rules;
    pub mod stats;
}

/// What operators see and set: the text of the /proc files.
pub mod control {
    pub mod proc_text;
    pub mod setting_check;
}

/// Where exports leave: destinations, encoders, templates.
pub mod export {
    pub mod destination;
    pub mod netflow_v5;
    pub mod options;
    pub mod pdu;
    pub mod record;
    pub mod source;
    pub mod template;
}

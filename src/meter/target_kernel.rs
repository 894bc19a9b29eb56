// SPDX-License-Identifier: GPL-2.0-only
//! The `NETFLOW` xtables target: where packets come in.
//!
//! Registered for IPv4 and IPv6 (revision 0, every hook, any table but
//! `nat`). It meters the packet and always lets it continue down the chain.

use super::meter_kernel::meter_target_call;
use crate::params::{self, Protocol};
use crate::sys::xtables::{Family, Registration, RuleCheck, Target, TargetCall};
use kernel::error::{code::EINVAL, Result};

/// The `NETFLOW` target.
pub struct Netflow;

impl Target for Netflow {
    const NAME: &'static [u8] = b"NETFLOW";

    #[inline(always)]
    fn target(call: TargetCall<'_>, family: Family) {
        meter_target_call(call, family);
    }

    /// Refuses rules the module cannot serve: the `nat` table (it sees only
    /// the first packet of a connection) and IPv6 rules while exporting
    /// NetFlow v5, which has no IPv6 records.
    fn check(rule: &RuleCheck<'_>) -> Result {
        let table = rule.table();
        if table.to_bytes() == b"nat" {
            crate::log_err!("NETFLOW target: is not valid in {} table\n", table.to_str().unwrap_or("?"));
            return Err(EINVAL);
        }
        if rule.family() == Family::Ipv6 && params::protocol() == Protocol::V5 {
            crate::log_err!("ip6tables NETFLOW target is meaningful for protocol 9 or 10 only.\n");
            return Err(EINVAL);
        }
        Ok(())
    }
}

/// The two registered targets; unregistered when dropped.
pub type TargetRegistration = Registration<Netflow>;

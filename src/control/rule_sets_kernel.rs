// SPDX-License-Identifier: GPL-2.0-only
//! The three rule-set settings, `sampler`, `aggregation` and `snmp-rules`:
//! parsed with the original's log lines, at load from the module
//! parameters and at runtime from their sysctls. A text that does not
//! parse is refused whole (EINVAL), and the rules in force stay.

use crate::meter::aggregation::Aggregation;
use crate::meter::packet_rules::PacketRules;
use crate::meter::sampler::Sampler;
use crate::meter::snmp_rules::SnmpRules;
use crate::params;
use kernel::error::{code::EINVAL, Result};

/// Parses a `sampler` value; logs what it turns sampling into.
pub fn parse_sampler(text: &str) -> Result<Option<Sampler>> {
    let sampler = Sampler::parse(text).map_err(|e| {
        crate::log_err!("ipt_NETFLOW: sampler parse error ({} '{}').\n", e, text.trim());
        EINVAL
    })?;
    match sampler {
        Some(s) => crate::log_info!(
            "ipt_NETFLOW: flow sampling is enabled, mode {} one-out-of {}.\n",
            s.mode.name(),
            s.interval
        ),
        None => crate::log_info!("ipt_NETFLOW: flow sampling is disabled.\n"),
    }
    Ok(sampler)
}

/// Parses an `aggregation` value; logs each rule it adds.
pub fn parse_aggregation(text: &str) -> Result<Aggregation> {
    let aggregation = Aggregation::parse(text).map_err(|e| {
        crate::log_err!("ipt_NETFLOW: bad aggregation rule: {} ({}).\n", text.trim(), e);
        EINVAL
    })?;
    for r in aggregation.net_rules() {
        let [a, b, c, d] = r.net;
        crate::log_info!("ipt_NETFLOW: add aggregation [{}.{}.{}.{}/{}={}]\n", a, b, c, d, r.match_len, r.keep_len);
    }
    for r in aggregation.port_rules() {
        crate::log_info!("ipt_NETFLOW: add aggregation [{}-{}={}]\n", r.first, r.last, r.port);
    }
    Ok(aggregation)
}

/// Parses an `snmp-rules` value.
pub fn parse_snmp_rules(text: &str) -> Result<SnmpRules> {
    SnmpRules::parse(text).map_err(|e| {
        crate::log_err!("ipt_NETFLOW: add_snmp_rules parse error ({} '{}').\n", e, text.trim());
        EINVAL
    })
}

/// Sets in `rules` the rules the module parameters ask for. An empty
/// parameter is no rule and logs nothing (the original's default build
/// prints nothing either). Filled in place, not returned: the rules are a
/// kilobyte, and load's frame holds them already.
pub fn packet_rules_at_load(rules: &mut PacketRules) -> Result {
    let text = params::sampler_at_load();
    if !text.is_empty() {
        rules.sampler = parse_sampler(text)?;
    }
    let text = params::aggregation_at_load();
    if !text.is_empty() {
        rules.aggregation = parse_aggregation(text)?;
    }
    let text = params::snmp_rules_at_load();
    if !text.is_empty() {
        rules.snmp = parse_snmp_rules(text)?;
    }
    Ok(())
}

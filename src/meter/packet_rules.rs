// SPDX-License-Identifier: GPL-2.0-only
//! What the packet path applies before the flow lookup: the snmp-rules
//! that turn interface names into exported indexes, the aggregation rules
//! and the flow sampler (its hash mode decides per packet). They are
//! published to the packet path as one version under RCU, so a packet sees
//! either the old or the new rules, whole.

use super::aggregation::{AggrMatch, Aggregation, RuleKind, MAX_NET_RULES, MAX_PORT_RULES};
use super::flow_key::FlowKey;
use super::sampler::{Sampler, SamplerMode};
use super::snmp_rules::SnmpRules;
use super::stats::Counter;

/// The rules one packet is metered under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketRules {
    /// Address and port aggregation (empty: none).
    pub aggregation: Aggregation,
    /// The flow sampler in force (`None`: every flow is exported).
    pub sampler: Option<Sampler>,
    /// Interface indexes from interface names (empty: the kernel's).
    pub snmp: SnmpRules,
}

/// [`PacketRules`] as published to the packet path, with whether any rule
/// is set worked out once: a packet pays one test when none is.
///
/// # Invariants
///
/// `any` is whether `rules` has a sampler, an aggregation rule or an
/// snmp-rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishedRules {
    any: bool,
    rules: PacketRules,
}

impl PublishedRules {
    /// `rules`, ready to publish.
    pub fn new(rules: PacketRules) -> Self {
        let any = !rules.is_none();
        // INVARIANT: computed from the rules it goes with.
        PublishedRules { any, rules }
    }

    /// Whether any rule is set (if not, a packet is metered as it is).
    #[inline(always)]
    pub fn any(&self) -> bool {
        self.any
    }

    /// The rules.
    #[inline(always)]
    pub fn rules(&self) -> &PacketRules {
        &self.rules
    }
}

/// What [`PacketRules::aggregate`] decided for one packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The rules that rewrote the key, for their usage counters.
    pub matched: AggrMatch,
    /// Source prefix length to export (0: not aggregated).
    pub s_mask: u8,
    /// Destination prefix length to export.
    pub d_mask: u8,
}

impl PacketRules {
    /// No aggregation, no sampling.
    pub const fn none() -> Self {
        PacketRules {
            aggregation: Aggregation::empty(),
            sampler: None,
            snmp: SnmpRules::empty(),
        }
    }

    /// Whether no rule is set: no sampler, no aggregation, no snmp-rule
    /// (compared field by field: a whole [`PacketRules::none`] to compare
    /// with would be a kilobyte on the stack).
    pub fn is_none(&self) -> bool {
        self.sampler.is_none() && self.aggregation.is_empty() && self.snmp.is_empty()
    }

    /// Rewrites `key` by the aggregation rules (before the hash and the
    /// lookup, so aggregated packets share one flow).
    #[inline(always)]
    pub fn aggregate(&self, key: &mut FlowKey) -> Applied {
        if self.aggregation.is_empty() {
            return Applied::default();
        }
        let (matched, s_mask, d_mask) = self.aggregation.apply(key);
        Applied {
            matched,
            s_mask,
            d_mask,
        }
    }

    /// The index a flow carries for an interface: the snmp-rules mapping of
    /// its name when a rule matches, else its kernel `ifindex`. `name` is
    /// the device's NUL-padded name, `None` when there is no device (the
    /// index then stays the no-interface value).
    ///
    /// Mapped on the packet path, where the device is at hand in the
    /// packet's own namespace (an index alone names no device outside
    /// it); the flow record keeps only the mapped index.
    #[inline]
    pub fn interface_index(&self, name: Option<[u8; 16]>, ifindex: u16) -> u16 {
        match name {
            Some(name) if !self.snmp.is_empty() => {
                let len = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                self.snmp.map(name.get(..len).unwrap_or(&[]), ifindex)
            }
            _ => ifindex,
        }
    }

    /// The hash-mode sampler, if that is the mode in force: it selects
    /// whole flows by their key hash in the packet path.
    #[inline(always)]
    pub fn hash_sampler(&self) -> Option<Sampler> {
        self.sampler.filter(|s| s.mode == SamplerMode::Hash)
    }
}

/// Whether hash sampling selects the flow whose key hashes to `hash`. The
/// flow table picks buckets from the hash's upper bits, and selection
/// keeps the hashes whose tested bits are small: testing the byte-swapped
/// hash keeps the selected flows spread over every bucket.
#[inline(always)]
pub fn hash_selects(sampler: Sampler, hash: u32) -> bool {
    sampler.hash_selects(hash.swap_bytes())
}

/// One CPU's count of packets each aggregation rule rewrote (the `usage`
/// the /proc `aggr#` lines show), written by that CPU only.
pub struct RuleUsage {
    net: [Counter; MAX_NET_RULES],
    port: [Counter; MAX_PORT_RULES],
}

impl Default for RuleUsage {
    fn default() -> Self {
        RuleUsage {
            net: core::array::from_fn(|_| Counter::default()),
            port: core::array::from_fn(|_| Counter::default()),
        }
    }
}

impl RuleUsage {
    fn counter(&self, kind: RuleKind, i: usize) -> Option<&Counter> {
        match kind {
            RuleKind::Net => self.net.get(i),
            RuleKind::Port => self.port.get(i),
        }
    }

    /// Counts the rules that matched one packet (by this CPU only).
    #[inline]
    pub fn record(&self, m: &AggrMatch) {
        for (kind, i) in m.hits() {
            if let Some(c) = self.counter(kind, i) {
                c.inc();
            }
        }
    }

    /// Packets rule `i` of `kind` rewrote on this CPU.
    pub fn usage(&self, kind: RuleKind, i: usize) -> u64 {
        self.counter(kind, i).map_or(0, Counter::get)
    }

    /// Zeroes every count (a new rule set starts from zero).
    pub fn reset(&self) {
        for c in self.net.iter().chain(self.port.iter()) {
            c.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::aggregation::Aggregation;
    use crate::meter::sampler::Sampler;
    use crate::meter::snmp_rules::SnmpRules;

    #[test]
    fn is_none_is_whether_any_rule_is_set() {
        assert!(PacketRules::none().is_none());
        assert!(!PublishedRules::new(PacketRules::none()).any());
        let sampled = PacketRules {
            sampler: Sampler::parse("random:10").unwrap(),
            ..PacketRules::none()
        };
        let aggregated = PacketRules {
            aggregation: Aggregation::parse("10.0.0.0/8=16").unwrap(),
            ..PacketRules::none()
        };
        let renumbered = PacketRules {
            snmp: SnmpRules::parse("eth:100").unwrap(),
            ..PacketRules::none()
        };
        for r in [sampled, aggregated, renumbered] {
            assert!(!r.is_none(), "{r:?}");
            assert!(PublishedRules::new(r).any(), "{r:?}");
        }
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! Where export records come from. The exporter takes records from any
//! producer through [`RecordSource`]: the flows the scanner took out of the
//! tables today, other event streams (NAT translations) next. Whatever the
//! source, the exporter alone encodes, sends and counts.

use crate::meter::flow::Flow;
use crate::meter::nat_event::NatEvent;

/// One record to export.
#[derive(Clone, Copy)]
pub enum Record<'a> {
    /// A flow that left its table (expired, flushed or ended).
    Flow(&'a Flow),
    /// A NAT translation that appeared or went away: a record of template
    /// NAT4 in v9/IPFIX, 0 to 2 pseudo-records in v5. Not sampled; each
    /// record counts as a flow record.
    Nat(&'a NatEvent),
}

/// A batch of records from one producer.
pub trait RecordSource {
    /// Whether the batch has no record.
    fn is_empty(&self) -> bool;

    /// Hands every record to `emit`, in order, and lets each go once
    /// `emit` returned (the producer frees what it owns).
    fn drain(self, emit: impl FnMut(Record<'_>));
}

// SPDX-License-Identifier: GPL-2.0-only
//! Where export records come from. The exporter takes records from any
//! producer through [`RecordSource`]: the flows the scanner took out of the
//! tables today, other event streams (NAT translations) next. Whatever the
//! source, the exporter alone encodes, sends and counts.

use crate::meter::flow::Flow;

/// One record to export.
#[derive(Clone, Copy)]
pub enum Record<'a> {
    /// A flow that left its table (expired, flushed or ended).
    Flow(&'a Flow),
}

/// A batch of records from one producer.
pub trait RecordSource {
    /// Whether the batch has no record.
    fn is_empty(&self) -> bool;

    /// Hands every record to `emit`, in order, and lets each go once
    /// `emit` returned (the producer frees what it owns).
    fn drain(self, emit: impl FnMut(Record<'_>));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::flow::FirstPacket;
    use crate::meter::flow_key::{FlowKey, PacketInfo};
    use std::vec::Vec;

    /// Flows from a vector, for the exporter's contract.
    struct Flows(Vec<Flow>);

    impl RecordSource for Flows {
        fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        fn drain(self, mut emit: impl FnMut(Record<'_>)) {
            for f in &self.0 {
                emit(Record::Flow(f));
            }
        }
    }

    #[test]
    fn a_source_hands_over_each_record_once_in_order() {
        let flow = |port: u16| {
            let info = PacketInfo {
                key: FlowKey {
                    s_port: port,
                    ..FlowKey::default()
                },
                ..PacketInfo::default()
            };
            Flow::new(&info, 0, 0, FirstPacket::default())
        };
        let src = Flows((1..=3).map(flow).collect());
        assert!(!src.is_empty());
        let mut seen = Vec::new();
        src.drain(|r| match r {
            Record::Flow(f) => seen.push(f.key.s_port),
        });
        assert_eq!(seen, [1, 2, 3]);
        assert!(Flows(Vec::new()).is_empty());
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! When a flow is due for export, and why.

use super::flow::{EndReason, Flow, Ticks, BYTES_WATERMARK};

/// The timeouts in force, in ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// `inactive_timeout`: export a flow this long after its last packet.
    /// Zero exports every flow at every scan (as a forced end).
    pub inactive: Ticks,
    /// `active_timeout`: export a flow this long after its first packet.
    pub active: Ticks,
}

/// The longest timeout in force: 2^30 ticks (12.4 days at HZ=1000, more
/// at lower HZ). Flow records keep 32-bit time stamps whose ages are exact
/// up to 2^31 ticks, so no flow may get older than that; a longer
/// `inactive_timeout` or `active_timeout` acts as this one.
pub const MAX_TIMEOUT: Ticks = 1 << 30;

impl Timeouts {
    /// Converts the sysctl values (seconds; negative counts as zero) into
    /// ticks at `hz` ticks per second, at most [`MAX_TIMEOUT`].
    pub fn from_secs(inactive: i32, active: i32, hz: u32) -> Self {
        let t = |s: i32| (Ticks::from(s.max(0) as u32) * Ticks::from(hz)).min(MAX_TIMEOUT);
        Timeouts {
            inactive: t(inactive),
            active: t(active),
        }
    }
}

/// Whether a flow that just got a packet must leave now: it is older than
/// the active timeout, or its byte counter is near full.
#[inline]
pub fn active_due(flow: &Flow, now: Ticks, t: &Timeouts) -> bool {
    flow.bytes >= BYTES_WATERMARK || flow.age(now) > t.active
}

/// Whether an idle flow is due at a scan, and with which reason.
/// FIN and RST never expire a flow by themselves; they only turn an idle
/// timeout into an end-of-flow.
pub fn scan_due(flow: &Flow, now: Ticks, t: &Timeouts) -> Option<EndReason> {
    if t.inactive == 0 {
        return Some(EndReason::Forced);
    }
    if flow.idle_for(now) > t.inactive {
        return Some(if flow.tcp_finished() {
            EndReason::EndOfFlow
        } else {
            EndReason::Idle
        });
    }
    if active_due(flow, now, t) {
        return Some(EndReason::Active);
    }
    None
}

/// The export-flags column of the flow dump: bit 0 inactive due, bit 1
/// active due.
pub fn dump_flags(flow: &Flow, now: Ticks, t: &Timeouts) -> u32 {
    let mut f = 0;
    if flow.idle_for(now) > t.inactive {
        f |= 1;
    }
    if active_due(flow, now, t) {
        f |= 2;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::flow::{FirstPacket, TCP_FIN};
    use crate::meter::flow_key::{proto, PacketInfo};

    fn flow(protocol: u8, flags: u8, first: Ticks, last: Ticks) -> Flow {
        let mut info = PacketInfo::default();
        info.key.protocol = protocol;
        info.tcp_flags = flags;
        let mut f = Flow::new(&info, 0, first, FirstPacket::default());
        f.account(&info, last);
        f
    }

    const T: Timeouts = Timeouts {
        inactive: 15,
        active: 1800,
    };

    #[test]
    fn idle_flows_expire_after_the_inactive_timeout() {
        let f = flow(proto::UDP, 0, 100, 100);
        assert_eq!(scan_due(&f, 115, &T), None);
        assert_eq!(scan_due(&f, 116, &T), Some(EndReason::Idle));
    }

    #[test]
    fn fin_changes_the_reason_not_the_time() {
        let f = flow(proto::TCP, TCP_FIN, 100, 100);
        assert_eq!(scan_due(&f, 110, &T), None);
        assert_eq!(scan_due(&f, 116, &T), Some(EndReason::EndOfFlow));
        // FIN on a non-TCP flow means nothing.
        let u = flow(proto::UDP, TCP_FIN, 100, 100);
        assert_eq!(scan_due(&u, 116, &T), Some(EndReason::Idle));
    }

    #[test]
    fn active_timeout_and_watermark() {
        let mut f = flow(proto::UDP, 0, 0, 1790);
        assert!(!active_due(&f, 1800, &T));
        assert!(active_due(&f, 1801, &T));
        assert_eq!(scan_due(&f, 1801, &T), Some(EndReason::Active));
        f.bytes = BYTES_WATERMARK;
        assert!(active_due(&f, 5, &T));
    }

    #[test]
    fn zero_inactive_timeout_flushes_everything() {
        let t = Timeouts {
            inactive: 0,
            active: 1800,
        };
        assert_eq!(
            scan_due(&flow(proto::UDP, 0, 5, 5), 5, &t),
            Some(EndReason::Forced)
        );
    }

    #[test]
    fn clock_skew_is_not_age() {
        let f = flow(proto::UDP, 0, 100, 100);
        assert_eq!(scan_due(&f, 99, &T), None);
        let w = flow(proto::UDP, 0, u64::MAX - 5, u64::MAX - 5);
        assert_eq!(scan_due(&w, 10, &T), Some(EndReason::Idle));
        // The stamps wrap at 32 bits; ages stay exact across the wrap.
        let v = flow(proto::UDP, 0, (1 << 32) - 5, (1 << 32) - 5);
        assert_eq!(scan_due(&v, (1 << 32) + 10, &T), None);
        assert_eq!(scan_due(&v, (1 << 32) + 11, &T), Some(EndReason::Idle));
    }

    #[test]
    fn dump_flag_bits() {
        let f = flow(proto::UDP, 0, 0, 100);
        assert_eq!(dump_flags(&f, 101, &T), 0);
        assert_eq!(dump_flags(&f, 116, &T), 1);
        assert_eq!(dump_flags(&f, 1801, &T), 3);
    }

    #[test]
    fn seconds_to_ticks() {
        assert_eq!(
            Timeouts::from_secs(15, 1800, 1000),
            Timeouts {
                inactive: 15000,
                active: 1_800_000
            }
        );
        assert_eq!(Timeouts::from_secs(-1, 1, 100).inactive, 0);
        // Longer than a stamp can age: capped.
        assert_eq!(
            Timeouts::from_secs(i32::MAX, i32::MAX, 1000).active,
            MAX_TIMEOUT
        );
    }
}

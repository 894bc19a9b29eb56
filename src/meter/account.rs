//! Accounting one packet: what the target does with each packet it sees.

use super::packet::{ip_length, L3Family, PacketBytes};
use super::stats::CpuStats;

/// Accounts one packet into this CPU's counters.
///
/// `buffer_len` is the socket buffer's length, which is what a packet too
/// short to carry its network header is counted with (it has no IP length).
#[inline]
pub fn account_packet<P: PacketBytes + ?Sized>(
    stats: &CpuStats,
    pkt: &P,
    family: L3Family,
    buffer_len: u32,
) {
    match ip_length(pkt, family) {
        Some(len) => {
            stats.pkt_total.inc();
            stats.traf_total.add(u64::from(len));
        }
        None => {
            stats.truncated.inc();
            stats.pkt_drop.inc();
            stats.traf_drop.add(u64::from(buffer_len));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_packet_is_accounted_with_its_ip_length() {
        let stats = CpuStats::default();
        let mut pkt = [0u8; 60];
        pkt[0] = 0x45;
        pkt[2..4].copy_from_slice(&48u16.to_be_bytes());
        account_packet(&stats, &pkt[..], L3Family::Ipv4, 60);
        let s = stats.snapshot();
        assert_eq!((s.pkt_total, s.traf_total, s.pkt_drop), (1, 48, 0));
    }

    #[test]
    fn a_truncated_packet_is_dropped_with_its_buffer_length() {
        let stats = CpuStats::default();
        account_packet(&stats, &[0x60u8; 30][..], L3Family::Ipv6, 30);
        let s = stats.snapshot();
        assert_eq!(
            (s.pkt_total, s.truncated, s.pkt_drop, s.traf_drop),
            (0, 1, 1, 30)
        );
    }
}

// SPDX-License-Identifier: GPL-2.0-only
//! Packet and byte rates and the hash-metric averages shown in /proc,
//! recomputed every few seconds from the cumulative counters.

/// Fixed-point exponentially weighted moving average (×1024 internally).
///
/// The weights are the original's: `2048 / (minutes × 15 + 1)` per 1024 for
/// a 4-second sample, i.e. 1/8 for one minute, 26/1024 for five and 9/1024
/// for fifteen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ewma {
    scaled: u64,
    primed: bool,
}

impl Ewma {
    /// Weight (per 1024) of a sample for an average over `minutes`.
    pub const fn weight(minutes: u64) -> u64 {
        2048 / (minutes * 15 + 1)
    }

    /// Feeds one sample with the given weight (per 1024).
    pub fn update(&mut self, sample: u64, weight: u64) {
        let s = sample.saturating_mul(1024);
        if !self.primed {
            self.scaled = s;
            self.primed = true;
            return;
        }
        if s >= self.scaled {
            self.scaled += (s - self.scaled) * weight / 1024;
        } else {
            self.scaled -= (self.scaled - s) * weight / 1024;
        }
    }

    /// The current average.
    pub fn get(&self) -> u64 {
        (self.scaled + 512) / 1024
    }
}

/// Cumulative counters a rate sample is computed from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateInput {
    /// Packets accounted.
    pub packets: u64,
    /// Bytes accounted.
    pub bytes: u64,
    /// Hash chain entries compared without a match.
    pub searched: u64,
    /// Lookups that found their flow.
    pub found: u64,
    /// Lookups that did not.
    pub notfound: u64,
}

/// Rates of one CPU or of the total.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rates {
    last: Option<RateInput>,
    /// Packets per second over the last interval.
    pub pps: u64,
    /// Bits per second over the last interval.
    pub bps: u64,
    /// One-minute average of pps.
    pub pps_1m: Ewma,
    /// One-minute average of bps.
    pub bps_1m: Ewma,
    /// Five-minute average of pps.
    pub pps_5m: Ewma,
    /// Five-minute average of bps.
    pub bps_5m: Ewma,
    /// Hash metric (×100) of the last interval.
    pub metric: u64,
    /// Its one-, five- and fifteen-minute averages.
    pub metric_avg: [Ewma; 3],
}

impl Rates {
    /// Takes a new sample `elapsed_ms` after the previous one.
    pub fn sample(&mut self, now: RateInput, elapsed_ms: u64) {
        let Some(last) = self.last.replace(now) else {
            return;
        };
        if elapsed_ms == 0 {
            return;
        }
        let per_sec = |d: u64| d.saturating_mul(1000) / elapsed_ms;
        self.pps = per_sec(now.packets.wrapping_sub(last.packets));
        self.bps = per_sec(now.bytes.wrapping_sub(last.bytes)).saturating_mul(8);
        let (w1, w5, w15) = (Ewma::weight(1), Ewma::weight(5), Ewma::weight(15));
        self.pps_1m.update(self.pps, w1);
        self.bps_1m.update(self.bps, w1);
        self.pps_5m.update(self.pps, w5);
        self.bps_5m.update(self.bps, w5);
        let lookups = now.found.wrapping_sub(last.found) + now.notfound.wrapping_sub(last.notfound);
        // An interval without lookups keeps the previous metric.
        if lookups > 0 {
            let visited = lookups + now.searched.wrapping_sub(last.searched);
            self.metric = visited * 100 / lookups;
            for (avg, w) in self.metric_avg.iter_mut().zip([w1, w5, w15]) {
                avg.update(self.metric, w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_match_the_original() {
        assert_eq!(
            (Ewma::weight(1), Ewma::weight(5), Ewma::weight(15)),
            (128, 26, 9)
        );
    }

    #[test]
    fn ewma_converges_to_a_constant() {
        let mut e = Ewma::default();
        e.update(100, 128);
        assert_eq!(e.get(), 100);
        for _ in 0..200 {
            e.update(200, 128);
        }
        assert_eq!(e.get(), 200);
        for _ in 0..200 {
            e.update(0, 128);
        }
        assert_eq!(e.get(), 0);
    }

    #[test]
    fn rates_from_counter_deltas() {
        let mut r = Rates::default();
        let mut input = RateInput {
            packets: 1000,
            bytes: 100_000,
            searched: 0,
            found: 0,
            notfound: 0,
        };
        r.sample(input, 4000);
        assert_eq!(r.pps, 0);
        input.packets += 4000;
        input.bytes += 400_000;
        input.found += 3000;
        input.notfound += 1000;
        input.searched += 2000;
        r.sample(input, 4000);
        assert_eq!((r.pps, r.bps), (1000, 800_000));
        assert_eq!(r.metric, 150);
        assert_eq!(r.metric_avg[0].get(), 150);
        // No lookups: the metric stays.
        r.sample(input, 4000);
        assert_eq!((r.pps, r.metric), (0, 150));
    }
}

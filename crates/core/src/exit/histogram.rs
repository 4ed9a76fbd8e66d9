//! A small latency histogram with fixed log-scale buckets, so that histograms taken at
//! different times (and stored as JSON) merge by adding counts.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Upper bound of bucket 0, in microseconds.
const FIRST_US: f64 = 50.0;
/// Each bucket is this much wider than the one before (quantiles are within 10%).
const GROWTH: f64 = 1.1;
/// Buckets up to ~2 minutes; the last one also takes everything above.
const BUCKETS: usize = 155;

/// Latency counts in log-scale buckets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Histogram {
    /// Sparse `[bucket, count]` pairs, ascending by bucket: small when stored.
    counts: Vec<(u16, u64)>,
}

impl Histogram {
    /// Adds one observation.
    pub fn record(&mut self, d: Duration) {
        self.add(bucket_of(d), 1);
    }

    /// Adds every observation of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for &(b, n) in &other.counts {
            self.add(b, n);
        }
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The `q` quantile (0..=1) in milliseconds: the upper bound of the bucket holding it.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        // Nearest-rank: the smallest value with at least q of the observations at or below it.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for &(b, n) in &self.counts {
            seen += n;
            if seen >= rank {
                return Some(upper_us(b) / 1000.0);
            }
        }
        None
    }

    fn add(&mut self, bucket: u16, n: u64) {
        match self.counts.binary_search_by_key(&bucket, |(b, _)| *b) {
            Ok(i) => self.counts[i].1 += n,
            Err(i) => self.counts.insert(i, (bucket, n)),
        }
    }
}

fn bucket_of(d: Duration) -> u16 {
    let us = d.as_secs_f64() * 1e6;
    if us <= FIRST_US {
        return 0;
    }
    let b = ((us / FIRST_US).ln() / GROWTH.ln()).ceil() as usize;
    b.min(BUCKETS - 1) as u16
}

fn upper_us(bucket: u16) -> f64 {
    FIRST_US * GROWTH.powi(i32::from(bucket))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_the_bucket_width() {
        let mut h = Histogram::default();
        for ms in 1..=100 {
            h.record(Duration::from_millis(ms));
        }
        for (q, want) in [(0.5, 50.0), (0.95, 95.0), (0.99, 99.0)] {
            let got = h.quantile_ms(q).unwrap();
            assert!(
                got >= want && got <= want * GROWTH,
                "p{q}: {got} ms should be within one bucket above {want} ms"
            );
        }
    }

    #[test]
    fn merged_histograms_equal_one_fed_everything_and_survive_json() {
        let (mut a, mut b, mut all) = (
            Histogram::default(),
            Histogram::default(),
            Histogram::default(),
        );
        for us in [10u64, 300, 7_000, 2_000_000, 900_000_000] {
            a.record(Duration::from_micros(us));
            all.record(Duration::from_micros(us));
        }
        for us in [300u64, 45_000] {
            b.record(Duration::from_micros(us));
            all.record(Duration::from_micros(us));
        }
        a.merge(&b);
        assert_eq!(a, all);
        let back: Histogram = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, all);
        assert_eq!(all.count(), 7);
        assert!(Histogram::default().quantile_ms(0.5).is_none());
    }
}

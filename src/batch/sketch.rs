//! Streaming statistics whose memory does not grow with the number of runs.
//!
//! [`Sketch`] is a relative-error quantile sketch (logarithmic buckets, as in DDSketch): every
//! quantile it returns is within [`RELATIVE_ACCURACY`] of a value of the true sample quantile's
//! bucket, and it is clamped to the exact minimum and maximum. Bucket counts add, so sketches merge
//! exactly and independently of order. [`Moments`] keeps count, mean and sum of squared deviations
//! (Welford), fed in run order so results never depend on thread scheduling.

/// Relative accuracy of sketch quantiles.
pub const RELATIVE_ACCURACY: f64 = 0.005;
/// Magnitudes below this are counted as zero.
const MIN_MAGNITUDE: f64 = 1e-12;
const KEY_OFFSET: i32 = 1 << 20;

fn gamma_ln() -> f64 {
    ((1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)).ln()
}

/// Quantile sketch over `f64` values (NaN values are ignored and counted separately).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sketch {
    /// Sorted `(signed key, count)`: negative values have negative keys, zero has key 0.
    buckets: Vec<(i32, u32)>,
    count: u64,
    nan: u64,
    min: f64,
    max: f64,
}

impl Sketch {
    fn key(x: f64) -> i32 {
        let m = x.abs();
        if m < MIN_MAGNITUDE {
            return 0;
        }
        let k = (m.ln() / gamma_ln()).ceil() as i32 + KEY_OFFSET;
        if x > 0.0 { k } else { -k }
    }

    pub fn add(&mut self, x: f64) {
        if x.is_nan() {
            self.nan += 1;
            return;
        }
        if self.count == 0 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.count += 1;
        let key = Self::key(x);
        match self.buckets.binary_search_by_key(&key, |b| b.0) {
            Ok(i) => self.buckets[i].1 += 1,
            Err(i) => self.buckets.insert(i, (key, 1)),
        }
    }

    /// Adds every value of `other` (exact: counts add).
    pub fn merge(&mut self, other: &Sketch) {
        for &(key, n) in &other.buckets {
            match self.buckets.binary_search_by_key(&key, |b| b.0) {
                Ok(i) => self.buckets[i].1 += n,
                Err(i) => self.buckets.insert(i, (key, n)),
            }
        }
        if other.count > 0 {
            if self.count == 0 {
                self.min = other.min;
                self.max = other.max;
            } else {
                self.min = self.min.min(other.min);
                self.max = self.max.max(other.max);
            }
        }
        self.count += other.count;
        self.nan += other.nan;
    }

    /// Number of non-NaN values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Smallest value added (NaN when empty).
    pub fn min(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.min }
    }

    /// Largest value added (NaN when empty).
    pub fn max(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.max }
    }

    /// Number of NaN values seen.
    pub fn nan_count(&self) -> u64 {
        self.nan
    }

    /// The `q`-quantile (lower rank `q·(n−1)`), NaN when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        if self.min == self.max {
            return self.min;
        }
        // Continuous rank; inside its bucket the value is interpolated linearly by rank, so that
        // quantiles move smoothly instead of jumping from bucket to bucket.
        let rank = q.clamp(0.0, 1.0) * (self.count - 1) as f64;
        let mut seen = 0u64;
        for &(key, n) in &self.buckets {
            if (seen + n as u64) as f64 > rank {
                let (lo, hi) = Self::bounds(key);
                let frac = ((rank - seen as f64 + 0.5) / n as f64).clamp(0.0, 1.0);
                return (lo + frac * (hi - lo)).clamp(self.min, self.max);
            }
            seen += n as u64;
        }
        self.max
    }

    /// The interval of values a bucket holds, in ascending order.
    fn bounds(key: i32) -> (f64, f64) {
        if key == 0 {
            return (0.0, 0.0);
        }
        let k = (key.abs() - KEY_OFFSET) as f64;
        let g = gamma_ln();
        let (small, large) = (((k - 1.0) * g).exp(), (k * g).exp());
        if key > 0 {
            (small, large)
        } else {
            (-large, -small)
        }
    }

    /// Memory held by the buckets, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<(i32, u32)>()
    }
}

/// Count, mean and sum of squared deviations, updated in a fixed order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    pub count: u64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    pub fn add(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        self.count += 1;
        let d = x - self.mean;
        self.mean += d / self.count as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Combines two sets of moments (Chan et al.); the result depends on the order of operands.
    pub fn merge(&mut self, o: &Moments) {
        if o.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *o;
            return;
        }
        let n = (self.count + o.count) as f64;
        let d = o.mean - self.mean;
        self.mean += d * o.count as f64 / n;
        self.m2 += o.m2 + d * d * self.count as f64 * o.count as f64 / n;
        self.count += o.count;
    }

    /// Sample standard deviation (n − 1), NaN below two values.
    pub fn sd(&self) -> f64 {
        if self.count < 2 {
            f64::NAN
        } else {
            (self.m2 / (self.count - 1) as f64).max(0.0).sqrt()
        }
    }

    /// Standard error of the mean.
    pub fn sem(&self) -> f64 {
        self.sd() / (self.count as f64).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_within_relative_accuracy() {
        let mut s = Sketch::default();
        let values: Vec<f64> = (1..=1000)
            .map(|i| 1e9 * (1.0 + i as f64 / 1000.0))
            .collect();
        for &v in &values {
            s.add(v);
        }
        for q in [0.05, 0.25, 0.5, 0.75, 0.95] {
            let exact = values[(q * 999.0) as usize];
            let est = s.quantile(q);
            assert!(
                (est / exact - 1.0).abs() <= 2.0 * RELATIVE_ACCURACY,
                "q={q} {est} vs {exact}"
            );
        }
    }

    #[test]
    fn negatives_zero_and_constants() {
        let mut s = Sketch::default();
        for v in [-5.0, -1.0, 0.0, 1.0, 5.0] {
            s.add(v);
        }
        assert!((s.quantile(0.0) + 5.0).abs() < 5.0 * RELATIVE_ACCURACY * 2.0);
        assert_eq!(s.quantile(0.5), 0.0);
        let mut c = Sketch::default();
        for _ in 0..10 {
            c.add(1.0);
        }
        assert_eq!(c.quantile(0.05), 1.0);
    }

    #[test]
    fn merge_equals_single_pass() {
        let (mut a, mut b, mut all) = (Sketch::default(), Sketch::default(), Sketch::default());
        for i in 0..200 {
            let x = (i as f64 * 0.37).sin() * 1e6;
            if i % 3 == 0 {
                a.add(x)
            } else {
                b.add(x)
            }
            all.add(x);
        }
        a.merge(&b);
        assert_eq!(a, all);
    }

    #[test]
    fn moments_merge_matches_single_pass() {
        let xs: Vec<f64> = (0..100).map(|i| (i as f64).sqrt()).collect();
        let mut all = Moments::default();
        xs.iter().for_each(|&x| all.add(x));
        let (mut a, mut b) = (Moments::default(), Moments::default());
        xs[..37].iter().for_each(|&x| a.add(x));
        xs[37..].iter().for_each(|&x| b.add(x));
        a.merge(&b);
        assert!((a.mean - all.mean).abs() < 1e-12 && (a.sd() - all.sd()).abs() < 1e-12);
    }
}

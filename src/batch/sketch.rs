//! Streaming statistics whose memory does not grow with the number of runs.
//!
//! [`Sketch`] is a relative-error quantile sketch on logarithmic buckets (as in DDSketch) with a
//! bounded, dense store: values are bucketed at base relative accuracy [`RELATIVE_ACCURACY`]; when
//! a cell's values span more than [`MAX_BUCKETS`] base buckets, adjacent buckets are combined in
//! powers of two until they fit. The level of combination depends only on the smallest and
//! largest value seen, never on the order they came in, so a sketch is a deterministic function
//! of the multiset of its values: sketches merge exactly and in any order. Memory per sketch is
//! bounded by `MAX_BUCKETS` counts whatever the number of runs. [`Moments`] keeps count, mean and
//! sum of squared deviations (Welford); their combination depends on the order, so they are fed in
//! run order within a block and blocks are combined in block order (see `batch::blocks`).

/// Relative accuracy of the base buckets (quantiles of cells whose values span less than a
/// factor `exp(MAX_BUCKETS · 2·RELATIVE_ACCURACY) ≈ 3.6`); each doubling of the span beyond that
/// doubles the bucket width.
pub const RELATIVE_ACCURACY: f64 = 0.005;
/// Most buckets a sketch keeps for each sign.
pub const MAX_BUCKETS: i32 = 128;
/// Magnitudes below this are counted as zero.
const MIN_MAGNITUDE: f64 = 1e-12;

fn gamma_ln() -> f64 {
    ((1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)).ln()
}

/// Base key of a magnitude: `ceil(ln m / ln γ)`.
fn base_key(m: f64) -> i32 {
    (m.ln() / gamma_ln()).ceil() as i32
}

/// Counts of magnitudes by key, dense over the keys between the extremes, at a combination level.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Store {
    /// Smallest and largest base key seen.
    min_key: i32,
    max_key: i32,
    /// Buckets combine `2^level` base keys: a base key `k` is counted in `k >> level`.
    level: u32,
    /// `counts[i]` counts bucket `(min_key >> level) + i`.
    counts: Vec<u32>,
}

impl Store {
    fn new(key: i32) -> Store {
        Store {
            min_key: key,
            max_key: key,
            level: 0,
            counts: vec![0],
        }
    }

    /// The smallest level at which the keys between the extremes fit in `MAX_BUCKETS` buckets.
    fn level_for(min_key: i32, max_key: i32) -> u32 {
        let mut level = 0;
        while (max_key >> level) - (min_key >> level) + 1 > MAX_BUCKETS {
            level += 1;
        }
        level
    }

    /// Re-buckets to cover `[min_key, max_key]` at the level they need (never finer than now).
    fn extend(&mut self, min_key: i32, max_key: i32, at_least: u32) {
        let level = Self::level_for(min_key, max_key)
            .max(self.level)
            .max(at_least);
        if (min_key, max_key, level) == (self.min_key, self.max_key, self.level) {
            return;
        }
        let first = min_key >> level;
        let mut counts = vec![0u32; ((max_key >> level) - first + 1) as usize];
        let old_first = self.min_key >> self.level;
        for (i, &n) in self.counts.iter().enumerate() {
            if n > 0 {
                // A bucket of a finer level lies inside one bucket of a coarser level.
                let base = (old_first + i as i32) << self.level;
                counts[((base >> level) - first) as usize] += n;
            }
        }
        *self = Store {
            min_key,
            max_key,
            level,
            counts,
        };
    }

    /// Whether the fields agree, as in every store built here: keys within what an `f64` gives
    /// (|key| ≤ 2^20, against −2,763 at the smallest magnitude kept, 1e-12, and 70,978 at
    /// `f64::MAX`), in order, a level that
    /// can shift them, and one count per bucket between them, at most [`MAX_BUCKETS`]. A store
    /// read from a file is checked before use: its fields index and size `counts`.
    fn is_consistent(&self) -> bool {
        const KEY_LIMIT: i32 = 1 << 20;
        let ordered = -KEY_LIMIT <= self.min_key
            && self.min_key <= self.max_key
            && self.max_key <= KEY_LIMIT
            && self.level < 24;
        ordered && {
            let span = (self.max_key >> self.level) - (self.min_key >> self.level) + 1;
            span <= MAX_BUCKETS && self.counts.len() == span as usize
        }
    }

    fn add(&mut self, key: i32, n: u32) {
        self.extend(self.min_key.min(key), self.max_key.max(key), self.level);
        let i = (key >> self.level) - (self.min_key >> self.level);
        self.counts[i as usize] += n;
    }

    fn merge(&mut self, other: &Store) {
        self.extend(
            self.min_key.min(other.min_key),
            self.max_key.max(other.max_key),
            other.level,
        );
        let first = self.min_key >> self.level;
        let other_first = other.min_key >> other.level;
        for (i, &n) in other.counts.iter().enumerate() {
            if n > 0 {
                let base = (other_first + i as i32) << other.level;
                self.counts[((base >> self.level) - first) as usize] += n;
            }
        }
    }

    /// Buckets in ascending order of magnitude: `(smallest, largest magnitude, count)`.
    fn buckets(&self) -> impl DoubleEndedIterator<Item = (f64, f64, u32)> + '_ {
        let g = gamma_ln();
        let first = self.min_key >> self.level;
        let width = 1i64 << self.level;
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(move |(i, &n)| {
                let lo_key = (first as i64 + i as i64) * width;
                let hi_key = lo_key + width - 1;
                (
                    ((lo_key - 1) as f64 * g).exp(),
                    (hi_key as f64 * g).exp(),
                    n,
                )
            })
    }
}

/// Quantile sketch over `f64` values (NaN values are ignored and counted separately).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sketch {
    count: u64,
    nan: u64,
    zeros: u64,
    min: f64,
    max: f64,
    positive: Option<Store>,
    negative: Option<Box<Store>>,
}

impl Sketch {
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
        let m = x.abs();
        if m < MIN_MAGNITUDE {
            self.zeros += 1;
        } else if x > 0.0 {
            let k = base_key(m);
            self.positive.get_or_insert_with(|| Store::new(k)).add(k, 1);
        } else {
            let k = base_key(m);
            self.negative
                .get_or_insert_with(|| Box::new(Store::new(k)))
                .add(k, 1);
        }
    }

    /// Whether this sketch could have been built by [`Sketch::add`] and [`Sketch::merge`] (its
    /// stores' keys, level and buckets agree); a sketch read from a file must be before merging.
    pub fn is_consistent(&self) -> bool {
        self.positive
            .iter()
            .chain(self.negative.as_deref())
            .all(Store::is_consistent)
    }

    /// Adds every value of `other`: the result equals adding them one by one, in any order.
    pub fn merge(&mut self, other: &Sketch) {
        if let Some(o) = &other.positive {
            match &mut self.positive {
                Some(s) => s.merge(o),
                None => self.positive = Some(o.clone()),
            }
        }
        if let Some(o) = &other.negative {
            match &mut self.negative {
                Some(s) => s.merge(o),
                None => self.negative = Some(o.clone()),
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
        self.zeros += other.zeros;
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

    /// The `q`-quantile, NaN when empty: linear interpolation at rank `q·(n−1)` between the
    /// estimated order statistics on either side (as in the usual sample quantile), where the
    /// `i`-th order statistic is read off its bucket by its position among the bucket's values,
    /// and the first and last are the exact minimum and maximum.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        if self.min == self.max {
            return self.min;
        }
        let rank = q.clamp(0.0, 1.0) * (self.count - 1) as f64;
        let below = rank.floor() as u64;
        let above = rank.ceil() as u64;
        let (a, b) = (self.order_statistic(below), self.order_statistic(above));
        a + (rank - below as f64) * (b - a)
    }

    /// Estimate of the `i`-th smallest value (from 0).
    fn order_statistic(&self, i: u64) -> f64 {
        if i == 0 {
            return self.min;
        }
        if i + 1 >= self.count {
            return self.max;
        }
        // Ascending values: negatives from the largest magnitude down, zeros, then positives.
        let negatives = self
            .negative
            .iter()
            .flat_map(|s| s.buckets().rev().map(|(lo, hi, n)| (-hi, -lo, n)));
        let zeros = (self.zeros > 0).then_some((0.0, 0.0, self.zeros as u32));
        let positives = self.positive.iter().flat_map(|s| s.buckets());
        let mut seen = 0u64;
        for (lo, hi, n) in negatives.chain(zeros).chain(positives) {
            if seen + n as u64 > i {
                let frac = (i - seen) as f64 / n as f64 + 0.5 / n as f64;
                return (lo + frac * (hi - lo)).clamp(self.min, self.max);
            }
            seen += n as u64;
        }
        self.max
    }

    /// Memory held by the stores, in bytes.
    pub fn heap_bytes(&self) -> usize {
        let store = |s: &Store| s.counts.capacity() * std::mem::size_of::<u32>();
        self.positive.as_ref().map_or(0, store)
            + self
                .negative
                .as_ref()
                .map_or(0, |s| store(s) + std::mem::size_of::<Store>())
    }
}

/// Count, mean and sum of squared deviations, updated in a fixed order.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
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
    fn few_values_interpolate_between_order_statistics() {
        let mut s = Sketch::default();
        s.add(0.6099);
        s.add(0.6481);
        assert!((s.quantile(0.05) - (0.6099 + 0.05 * 0.0382)).abs() < 1e-12);
        assert!((s.quantile(0.95) - (0.6099 + 0.95 * 0.0382)).abs() < 1e-12);
        assert_eq!(s.quantile(0.0), 0.6099);
        assert_eq!(s.quantile(1.0), 0.6481);
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
    fn bounded_memory_and_order_independent_merges_over_wide_ranges() {
        let xs: Vec<f64> = (0..5000)
            .map(|i| 10f64.powf(((i * 7919) % 5000) as f64 / 500.0))
            .collect();
        let mut all = Sketch::default();
        xs.iter().for_each(|&x| all.add(x));
        assert!(
            all.heap_bytes() <= MAX_BUCKETS as usize * 4 * 2,
            "{}",
            all.heap_bytes()
        );
        // Shuffled halves merged either way round equal the single pass.
        let (mut a, mut b) = (Sketch::default(), Sketch::default());
        for (i, &x) in xs.iter().enumerate().rev() {
            if i % 3 == 0 { a.add(x) } else { b.add(x) }
        }
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, all);
        assert_eq!(ba, all);
        // Ten decades in 128 buckets: each bucket spans 2^6 base keys (at most ~90 % wide).
        let median = all.quantile(0.5);
        assert!(median > 1e5 / 1.9 && median < 1e5 * 1.9, "{median}");
    }

    #[test]
    fn stores_read_from_a_file_are_checked() {
        let mut sk = Sketch::default();
        for x in [1e-12, 1e-9, 0.3, 7.0, 1e12, f64::MAX, -2.0, -1e300, -1e-12] {
            sk.add(x);
        }
        assert!(sk.is_consistent());
        let good = sk.positive.clone().unwrap();
        let forged = [
            Store {
                min_key: good.max_key + 1,
                ..good.clone()
            },
            Store {
                counts: vec![1; good.counts.len() + 1],
                ..good.clone()
            },
            Store {
                level: 40,
                ..good.clone()
            },
            Store {
                min_key: i32::MIN,
                max_key: i32::MAX,
                level: 0,
                counts: vec![1],
            },
            Store {
                min_key: 0,
                max_key: 1000,
                level: 0,
                counts: vec![0; 1001],
            },
        ];
        for store in forged {
            let bad = Sketch {
                positive: Some(store.clone()),
                ..sk.clone()
            };
            assert!(!bad.is_consistent(), "{store:?}");
        }
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

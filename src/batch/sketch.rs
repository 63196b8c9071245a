//! Streaming statistics: quantile sketches whose memory does not grow with the number of runs,
//! exact stores of per-run values, and moments.
//!
//! [`Sketch`] is a relative-error quantile sketch on logarithmic buckets, as in DDSketch (Masson,
//! Rim and Lee, VLDB 2019): a magnitude `m` falls in the bucket `(γ^(k−1), γ^k]` of key
//! `k = ceil(log_γ m)`, `γ = (1+α)/(1−α)`, and a bucket reports its representative value
//! `2·γ^k/(γ+1)`, within relative `α` ([`RELATIVE_ACCURACY`]) of every magnitude in it. Only
//! occupied buckets are stored (sorted `(key, count)` pairs); when more than [`MAX_BUCKETS`] are
//! occupied (both signs together), buckets are combined uniformly: at level `L` a base key `k` is
//! counted under `k >> L`, a bucket of ratio `ρ = γ^(2^L)` whose representative is within
//! `(ρ−1)/(ρ+1)` of its values ([`Sketch::relative_accuracy`]). The level is the smallest at which
//! the occupied keys fit, a function of the set of values alone, so a sketch is a deterministic
//! function of the multiset of its values: sketches merge exactly and in any order, and one extreme
//! value costs one bucket, never the accuracy of the others. Memory per sketch is bounded by
//! `MAX_BUCKETS` pairs whatever the number of runs.
//!
//! **Guarantee.** Let `x_0 ≤ … ≤ x_{n−1}` be the values (NaN left out). The sketch's `i`-th order
//! statistic is exact for `i = 0` and `i = n−1` and otherwise within relative
//! `a = relative_accuracy()` of `x_i` (magnitudes below 1e-12 are reported as 0), up to the
//! rounding of one logarithm. The `q`-quantile is the linear interpolation at rank `h = q·(n−1)`,
//! `i = ⌊h⌋`, `f = h − i`, between the order statistics `i` and `i+1` (numpy's default), so it is
//! within `a·((1−f)|x_i| + f|x_{i+1}|)` (+ 1e-12 for values reported as 0) of the exact sample
//! quantile.
//!
//! [`Exact`] keeps every value (8 bytes a run) for the statistics that are reported exactly
//! (per-run metrics, final-day cells, sweep metrics). [`Moments`] keeps count, mean and sum of
//! squared deviations (Welford); their combination depends on the order, so they are fed in run
//! order within a block and blocks are combined in block order (see `batch::blocks`).

/// Relative accuracy `α` of the base buckets: the accuracy of every sketch whose values occupy at
/// most [`MAX_BUCKETS`] base buckets (every sketch of at most that many runs).
pub const RELATIVE_ACCURACY: f64 = 0.005;
/// Most occupied buckets a sketch keeps, both signs together.
pub const MAX_BUCKETS: usize = 256;
/// Magnitudes below this are counted as zero.
const MIN_MAGNITUDE: f64 = 1e-12;
/// Largest |base key|: −2,763 at the smallest magnitude kept (1e-12), 70,978 at `f64::MAX`.
const KEY_LIMIT: i32 = 1 << 20;
/// Levels above this put every key of a sign in at most two buckets.
const MAX_LEVEL: u32 = 21;

/// `ln γ`.
fn gamma_ln() -> f64 {
    ((1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)).ln()
}

/// Base key of a magnitude: `ceil(ln m / ln γ)`.
fn base_key(m: f64) -> i32 {
    (m.ln() / gamma_ln()).ceil() as i32
}

/// The accuracy of level `level`: `(ρ−1)/(ρ+1) = tanh(2^level · ln γ / 2)` with `ρ = γ^(2^level)`.
pub fn level_accuracy(level: u32) -> f64 {
    if level == 0 {
        RELATIVE_ACCURACY
    } else {
        (f64::from(1u32 << level) * gamma_ln() / 2.0).tanh()
    }
}

/// The representative magnitude of bucket `key` at `level`: `2ab/(a+b)` for the bucket `(a, b]`.
fn representative(key: i32, level: u32) -> f64 {
    let width = 1i64 << level;
    let lo = ((i64::from(key) * width - 1) as f64 * gamma_ln()).exp();
    let hi = (((i64::from(key) + 1) * width - 1) as f64 * gamma_ln()).exp();
    2.0 * lo * (hi / (lo + hi))
}

/// Linear interpolation from `a` (at `t = 0`) to `b` (at `t = 1`), computed as numpy's `quantile`
/// does (from the nearer end).
pub fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// The `q`-quantile of `n` values whose `i`-th smallest is `at(i)`: numpy's default (`linear`),
/// the interpolation at rank `q·(n−1)`. NaN when `n = 0`.
fn interpolated(n: u64, q: f64, at: impl Fn(u64) -> f64) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    let h = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let i = (h.floor() as u64).min(n - 1);
    let f = h - i as f64;
    if f > 0.0 && i + 1 < n {
        lerp(at(i), at(i + 1), f)
    } else {
        at(i)
    }
}

/// Occupied buckets of one sign: `(key, count)` sorted by key, counts positive.
type Buckets = Vec<(i32, u32)>;

/// Adds `n` to bucket `key` of `buckets`.
fn add_to(buckets: &mut Buckets, key: i32, n: u32) {
    match buckets.binary_search_by_key(&key, |&(k, _)| k) {
        Ok(i) => buckets[i].1 += n,
        Err(i) => {
            // Grow by an eighth rather than doubling: memory is what a sketch is for.
            if buckets.len() == buckets.capacity() {
                buckets.reserve_exact(buckets.len() / 8 + 1);
            }
            buckets.insert(i, (key, n))
        }
    }
}

/// Re-keys `buckets` from level `from` to the coarser level `to`, combining buckets that meet.
fn coarsen(buckets: &mut Buckets, from: u32, to: u32) {
    let shift = to - from;
    let mut out: Buckets = Vec::with_capacity(buckets.len());
    for &(k, n) in buckets.iter() {
        let k = k >> shift;
        match out.last_mut() {
            Some(last) if last.0 == k => last.1 += n,
            _ => out.push((k, n)),
        }
    }
    *buckets = out;
}

/// The sum of two sorted bucket lists at the same level.
fn union(a: &Buckets, b: &Buckets) -> Buckets {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x.0 == y.0 => {
                out.push((x.0, x.1 + y.1));
                i += 1;
                j += 1;
            }
            (Some(&x), Some(&y)) if x.0 < y.0 => {
                out.push(x);
                i += 1;
            }
            (Some(&x), None) => {
                out.push(x);
                i += 1;
            }
            (_, Some(&y)) => {
                out.push(y);
                j += 1;
            }
            (None, None) => unreachable!(),
        }
    }
    out
}

/// Quantile sketch over `f64` values (NaN values are ignored and counted separately).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sketch {
    count: u64,
    nan: u64,
    zeros: u64,
    min: f64,
    max: f64,
    /// Buckets combine `2^level` base keys.
    level: u32,
    /// Buckets of positive values and of the magnitudes of negative values.
    positive: Buckets,
    negative: Buckets,
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
            return;
        }
        let key = base_key(m) >> self.level;
        let side = if x > 0.0 {
            &mut self.positive
        } else {
            &mut self.negative
        };
        add_to(side, key, 1);
        self.fit();
    }

    fn occupied(&self) -> usize {
        self.positive.len() + self.negative.len()
    }

    /// Raises the level until the occupied buckets fit in [`MAX_BUCKETS`]: to the smallest level
    /// at which the values' keys fit, as the level never exceeds that one (the number of occupied
    /// buckets only grows with the values and only shrinks with the level).
    fn fit(&mut self) {
        while self.occupied() > MAX_BUCKETS {
            coarsen(&mut self.positive, self.level, self.level + 1);
            coarsen(&mut self.negative, self.level, self.level + 1);
            self.level += 1;
        }
        // Growth by doubling may overshoot: memory stays within MAX_BUCKETS pairs between calls.
        if self.positive.capacity() + self.negative.capacity() > MAX_BUCKETS {
            self.positive.shrink_to_fit();
            self.negative.shrink_to_fit();
        }
    }

    /// Whether this sketch could have been built by [`Sketch::add`] and [`Sketch::merge`]: keys
    /// sorted, distinct and within what an `f64` gives at its level, counts positive and adding
    /// up, at most [`MAX_BUCKETS`] buckets, ordered extremes. A sketch read from a file must be
    /// checked before use.
    pub fn is_consistent(&self) -> bool {
        if self.level > MAX_LEVEL || self.occupied() > MAX_BUCKETS {
            return false;
        }
        let limit = KEY_LIMIT >> self.level;
        let side_ok = |b: &Buckets| {
            b.windows(2).all(|w| w[0].0 < w[1].0)
                && b.iter()
                    .all(|&(k, n)| n > 0 && (-limit..=limit).contains(&k))
        };
        let total: u64 = self
            .positive
            .iter()
            .chain(&self.negative)
            .map(|&(_, n)| u64::from(n))
            .sum::<u64>()
            + self.zeros;
        let extremes = self.count == 0 || (self.min <= self.max);
        side_ok(&self.positive) && side_ok(&self.negative) && total == self.count && extremes
    }

    /// Adds every value of `other`: the result equals adding them one by one, in any order.
    pub fn merge(&mut self, other: &Sketch) {
        let level = self.level.max(other.level);
        let mut theirs = other.clone();
        for s in [&mut *self, &mut theirs] {
            coarsen(&mut s.positive, s.level, level);
            coarsen(&mut s.negative, s.level, level);
            s.level = level;
        }
        self.positive = union(&self.positive, &theirs.positive);
        self.negative = union(&self.negative, &theirs.negative);
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
        self.fit();
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

    /// The combination level reached (0: base buckets).
    pub fn level(&self) -> u32 {
        self.level
    }

    /// The relative accuracy of this sketch's order statistics (see the module documentation):
    /// [`RELATIVE_ACCURACY`] at level 0.
    pub fn relative_accuracy(&self) -> f64 {
        level_accuracy(self.level)
    }

    /// The `q`-quantile, NaN when empty: linear interpolation at rank `q·(n−1)` between the
    /// order statistics on either side (numpy's default), the first and last being the exact
    /// minimum and maximum and the others their bucket's representative value.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.min == self.max && self.count > 0 {
            return self.min;
        }
        interpolated(self.count, q, |i| self.order_statistic(i))
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
        let level = self.level;
        let negatives = self
            .negative
            .iter()
            .rev()
            .map(|&(k, n)| (-representative(k, level), u64::from(n)));
        let zeros = (self.zeros > 0).then_some((0.0, self.zeros));
        let positives = self
            .positive
            .iter()
            .map(|&(k, n)| (representative(k, level), u64::from(n)));
        let mut seen = 0u64;
        for (value, n) in negatives.chain(zeros).chain(positives) {
            seen += n;
            if seen > i {
                return value.clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// Memory held by the buckets, in bytes.
    pub fn heap_bytes(&self) -> usize {
        (self.positive.capacity() + self.negative.capacity()) * std::mem::size_of::<(i32, u32)>()
    }
}

/// Every value, kept for statistics reported exactly (8 bytes a value).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Exact {
    /// The non-NaN values, in the order added (runs in run order; shards appended).
    values: Vec<f64>,
    nan: u64,
}

impl Exact {
    pub fn add(&mut self, x: f64) {
        if x.is_nan() {
            self.nan += 1;
        } else {
            self.values.push(x);
        }
    }

    /// Adds every value of `other` after this one's.
    pub fn merge(&mut self, other: &Exact) {
        self.values.extend_from_slice(&other.values);
        self.nan += other.nan;
    }

    /// Whether no NaN is kept among the values (as [`Exact::add`] keeps them): a store read from
    /// a file must be checked before use.
    pub fn is_consistent(&self) -> bool {
        !self.values.iter().any(|x| x.is_nan())
    }

    pub fn count(&self) -> u64 {
        self.values.len() as u64
    }

    pub fn nan_count(&self) -> u64 {
        self.nan
    }

    /// The values in the order added (run order).
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The values in ascending order.
    pub fn sorted(&self) -> Vec<f64> {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    /// The exact sample `q`-quantile (numpy's default: linear at rank `q·(n−1)`), NaN when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        quantile_of_sorted(&self.sorted(), q)
    }

    /// Memory held by the values, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<f64>()
    }
}

/// The `q`-quantile of ascending `sorted` values as numpy's default `quantile` computes it.
pub fn quantile_of_sorted(sorted: &[f64], q: f64) -> f64 {
    interpolated(sorted.len() as u64, q, |i| sorted[i as usize])
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

    /// Exact numpy-style quantile of unsorted values.
    fn exact(values: &[f64], q: f64) -> f64 {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        quantile_of_sorted(&v, q)
    }

    /// The stated bound for `values`: `a·((1−f)|x_i| + f|x_{i+1}|)`, plus the rounding of one
    /// logarithm (a relative 1e-12 is far above it).
    fn bound(values: &[f64], q: f64, a: f64) -> f64 {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let h = q * (v.len() - 1) as f64;
        let i = h.floor() as usize;
        let f = h - i as f64;
        let next = v[(i + 1).min(v.len() - 1)];
        (a + 1e-12) * ((1.0 - f) * v[i].abs() + f * next.abs()) + 1e-12
    }

    fn sketch_of(values: &[f64]) -> Sketch {
        let mut s = Sketch::default();
        values.iter().for_each(|&x| s.add(x));
        s
    }

    fn assert_within_bound(values: &[f64], s: &Sketch) {
        for q in [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0] {
            let (est, ex) = (s.quantile(q), exact(values, q));
            let b = bound(values, q, s.relative_accuracy());
            assert!((est - ex).abs() <= b, "q={q}: {est} vs {ex}, bound {b}");
        }
    }

    #[test]
    fn base_level_accuracy_is_alpha() {
        // The representative of every base bucket is within α of both its ends.
        for k in [-2000, -1, 0, 1, 17, 5000] {
            let (lo, hi) = (
                ((k - 1) as f64 * gamma_ln()).exp(),
                (k as f64 * gamma_ln()).exp(),
            );
            let r = representative(k, 0);
            assert!((r / lo - 1.0) <= RELATIVE_ACCURACY * (1.0 + 1e-9));
            assert!((1.0 - r / hi) <= RELATIVE_ACCURACY * (1.0 + 1e-9));
        }
        // Level 1: ρ = γ², (γ²−1)/(γ²+1) = 2α/(1+α²).
        let a = RELATIVE_ACCURACY;
        assert!((level_accuracy(1) - 2.0 * a / (1.0 + a * a)).abs() < 1e-15);
    }

    #[test]
    fn quantiles_within_the_stated_bound() {
        let values: Vec<f64> = (1..=1000)
            .map(|i| 1e9 * (1.0 + i as f64 / 1000.0))
            .collect();
        let s = sketch_of(&values);
        assert_eq!(s.level(), 0);
        assert_within_bound(&values, &s);
        // Worst case of the old interpolation inside a bucket (~2α): values at a bucket's ends.
        let g = gamma_ln();
        let ends: Vec<f64> = (0..200)
            .map(|i| ((if i % 2 == 0 { 99.0 + 1e-9 } else { 100.0 }) * g).exp())
            .collect();
        assert_within_bound(&ends, &sketch_of(&ends));
    }

    #[test]
    fn one_extreme_value_does_not_coarsen_the_others() {
        // 199 ordinary values and one run 10^12 times larger: 200 occupied buckets at most, so
        // the sketch stays at the base level and every quantile is within α.
        let mut values: Vec<f64> = (0..199).map(|i| 1e6 * (1.0 + 0.002 * i as f64)).collect();
        values.push(1e18);
        values.push(-3e-9);
        let s = sketch_of(&values);
        assert_eq!(s.level(), 0);
        assert_eq!(s.relative_accuracy(), RELATIVE_ACCURACY);
        assert_within_bound(&values, &s);
        for q in [0.05, 0.5, 0.95] {
            let rel = (s.quantile(q) / exact(&values, q) - 1.0).abs();
            assert!(rel <= RELATIVE_ACCURACY * (1.0 + 1e-9), "q={q}: {rel}");
        }
    }

    #[test]
    fn occupied_budget_and_level_rule() {
        // Distinct base keys 0..n: the level is the smallest L with ⌈n / 2^L⌉ ≤ MAX_BUCKETS.
        let g = gamma_ln();
        for n in [256usize, 257, 512, 513, 5000] {
            let values: Vec<f64> = (0..n).map(|k| ((k as f64 - 0.5) * g).exp()).collect();
            let s = sketch_of(&values);
            let mut want = 0;
            while n.div_ceil(1 << want) > MAX_BUCKETS {
                want += 1;
            }
            assert_eq!(s.level(), want, "n={n}");
            assert!(s.positive.len() <= MAX_BUCKETS);
            assert!(s.heap_bytes() <= MAX_BUCKETS * 8, "{}", s.heap_bytes());
            assert!(s.is_consistent());
            assert_within_bound(&values, &s);
        }
    }

    #[test]
    fn bounded_memory_and_order_independent_merges_over_wide_ranges() {
        let xs: Vec<f64> = (0..5000)
            .map(|i| {
                let x = 10f64.powf(((i * 7919) % 5000) as f64 / 500.0);
                if i % 7 == 0 { -x } else { x }
            })
            .collect();
        let all = sketch_of(&xs);
        assert!(all.level() > 0);
        assert!(all.heap_bytes() <= MAX_BUCKETS * 8, "{}", all.heap_bytes());
        // Shuffled parts merged in any grouping and order equal the single pass.
        let (mut a, mut b, mut c) = (Sketch::default(), Sketch::default(), Sketch::default());
        for (i, &x) in xs.iter().enumerate().rev() {
            match i % 3 {
                0 => a.add(x),
                1 if i < 4000 => b.add(x),
                _ => c.add(x),
            }
        }
        let mut abc = a.clone();
        abc.merge(&b);
        abc.merge(&c);
        let mut cb = c.clone();
        cb.merge(&b);
        let mut cba = cb;
        cba.merge(&a);
        assert_eq!(abc, all);
        assert_eq!(cba, all);
        assert_within_bound(&xs, &all);
    }

    #[test]
    fn few_values_interpolate_between_order_statistics() {
        let s = sketch_of(&[0.6099, 0.6481]);
        assert!((s.quantile(0.05) - (0.6099 + 0.05 * 0.0382)).abs() < 1e-12);
        assert!((s.quantile(0.95) - (0.6099 + 0.95 * 0.0382)).abs() < 1e-12);
        assert_eq!(s.quantile(0.0), 0.6099);
        assert_eq!(s.quantile(1.0), 0.6481);
    }

    #[test]
    fn negatives_zero_and_constants() {
        let values = [-5.0, -1.0, 0.0, 1e-13, 1.0, 5.0];
        let s = sketch_of(&values);
        assert_within_bound(&values, &s);
        assert_eq!(s.quantile(0.4), 0.0);
        assert_eq!(s.quantile(0.0), -5.0);
        let c = sketch_of(&[1.0; 10]);
        assert_eq!(c.quantile(0.05), 1.0);
        assert!(Sketch::default().quantile(0.5).is_nan());
    }

    #[test]
    fn stores_read_from_a_file_are_checked() {
        let sk = sketch_of(&[1e-12, 1e-9, 0.3, 7.0, 1e12, f64::MAX, -2.0, -1e300, -1e-12]);
        assert!(sk.is_consistent());
        let forged = [
            Sketch {
                positive: sk.positive.iter().rev().copied().collect(),
                ..sk.clone()
            },
            Sketch {
                positive: vec![(1, 0)],
                ..sk.clone()
            },
            Sketch {
                level: 40,
                ..sk.clone()
            },
            Sketch {
                positive: vec![(i32::MAX, 1)],
                ..sk.clone()
            },
            Sketch {
                count: sk.count + 1,
                ..sk.clone()
            },
            Sketch {
                positive: (0..MAX_BUCKETS as i32 + 1).map(|k| (k, 1)).collect(),
                ..sk.clone()
            },
        ];
        for bad in forged {
            assert!(!bad.is_consistent(), "{bad:?}");
        }
        assert!(
            !Exact {
                values: vec![f64::NAN],
                nan: 0
            }
            .is_consistent()
        );
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
    fn exact_quantiles_match_numpy() {
        // numpy.quantile([3, 1, 4, 1, 5, 9, 2, 6], q) for q = 0.05, 0.25, 0.5, 0.75, 0.95.
        let mut e = Exact::default();
        for x in [3.0, 1.0, 4.0, 1.0, f64::NAN, 5.0, 9.0, 2.0, 6.0] {
            e.add(x);
        }
        let want = [1.0, 1.75, 3.5, 5.25, 7.95];
        for (q, w) in [0.05, 0.25, 0.5, 0.75, 0.95].into_iter().zip(want) {
            assert!(
                (e.quantile(q) - w).abs() < 1e-12,
                "q={q}: {}",
                e.quantile(q)
            );
        }
        assert_eq!((e.count(), e.nan_count()), (8, 1));
        assert!(Exact::default().quantile(0.5).is_nan());
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

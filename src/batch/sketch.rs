//! Streaming statistics: quantile sketches whose memory does not grow with the number of runs,
//! exact stores of per-run values, and moments.
//!
//! [`Sketch`] is a relative-error quantile sketch on logarithmic buckets, as in DDSketch (Masson,
//! Rim and Lee, VLDB 2019): a magnitude `m` falls in the bucket `(γ^(k−1), γ^k]` of key
//! `k = ceil(log_γ m)`, `γ = (1+α)/(1−α)`, and a bucket reports its representative value
//! `2·γ^k/(γ+1)`, within relative `α` ([`RELATIVE_ACCURACY`]) of every magnitude in it. Only
//! occupied buckets count; when more than [`MAX_BUCKETS`] are occupied (both signs together),
//! buckets are combined uniformly: at level `L` a base key `k` is counted under `k >> L`, a bucket
//! of ratio `ρ = γ^(2^L)` whose representative is within `(ρ−1)/(ρ+1)` of its values
//! ([`Sketch::relative_accuracy`]). The level is the smallest at which the occupied keys fit, a
//! function of the set of values alone, so a sketch is a deterministic function of the multiset of
//! its values: sketches merge exactly and in any order, and one extreme value costs one bucket,
//! never the accuracy of the others.
//!
//! **Memory.** Each sign's occupied buckets are stored in the smaller of two forms ([`Side`]),
//! chosen from the buckets alone: dense, a count for every key from the first occupied one to the
//! last, in the fewest of 4, 8, 16 or 32 bits that hold the largest count; or sparse, 8-byte
//! `(key, count)` pairs. A cell's values across runs mostly occupy a narrow run of keys, so most
//! sketches take half a byte or a byte per key; none takes more than 8 bytes per occupied bucket,
//! `8 · MAX_BUCKETS` bytes in all, whatever the number of runs. The form changes nothing the
//! sketch reports, and files hold the `(key, count)` lists whatever the form.
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

/// Occupied buckets of one sign: `(key, count)` sorted by key, counts positive. The form in which
/// buckets are combined, merged, read and written ([`Side`] stores them compactly).
type Buckets = Vec<(i32, u32)>;

/// Bytes of one bucket in the sparse form: its key and count.
const PAIR_BYTES: usize = 8;

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

/// Bits per count of the dense form whose largest count is `max`: 4, 8, 16 or 32.
fn count_bits(max: u32) -> u8 {
    match max {
        0..=0xf => 4,
        0x10..=0xff => 8,
        0x100..=0xffff => 16,
        _ => 32,
    }
}

/// Bytes of `span` counts of `bits` bits.
fn dense_bytes(span: u64, bits: u8) -> u64 {
    (span * u64::from(bits)).div_ceil(8)
}

/// Count `i` of packed little-endian counts of `bits` bits (4: low nibble first).
fn count_at(bytes: &[u8], bits: u8, i: usize) -> u32 {
    match bits {
        4 => u32::from((bytes[i / 2] >> (4 * (i % 2))) & 0xf),
        8 => u32::from(bytes[i]),
        16 => u32::from(u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]])),
        _ => u32::from_le_bytes([
            bytes[4 * i],
            bytes[4 * i + 1],
            bytes[4 * i + 2],
            bytes[4 * i + 3],
        ]),
    }
}

/// Sets count `i` to `n`, which fits in `bits` bits.
fn set_count(bytes: &mut [u8], bits: u8, i: usize, n: u32) {
    match bits {
        4 => {
            let shift = 4 * (i % 2);
            bytes[i / 2] = (bytes[i / 2] & !(0xf << shift)) | ((n as u8) << shift);
        }
        8 => bytes[i] = n as u8,
        16 => bytes[2 * i..2 * i + 2].copy_from_slice(&(n as u16).to_le_bytes()),
        _ => bytes[4 * i..4 * i + 4].copy_from_slice(&n.to_le_bytes()),
    }
}

/// The occupied buckets of one sign in the smaller of two forms, chosen from the buckets alone
/// (so equal buckets are equal stores, and [`Side::from_buckets`] of [`Side::buckets`] is the
/// identity): dense, one count per key from the first occupied key to the last, each of the
/// fewest bits of 4, 8, 16 and 32 that hold the largest count; or sparse, `(key, count)` pairs of
/// [`PAIR_BYTES`]. Dense when it takes at most as many bytes, so a side never holds more than
/// `PAIR_BYTES` per occupied bucket; the values of one cell across runs mostly occupy a narrow
/// run of keys, which the dense form stores in a byte or half a byte per key.
#[derive(Debug, Clone, Default, PartialEq)]
struct Side {
    /// Dense: the key of the first count; sparse: 0.
    lo: i32,
    /// Occupied buckets.
    len: u16,
    /// Dense: bits per count; sparse: 0.
    bits: u8,
    /// Dense: the counts, little-endian, two 4-bit counts a byte (low nibble first, a last
    /// unused nibble 0); sparse: little-endian `i32` key and `u32` count of each bucket.
    bytes: Box<[u8]>,
}

impl Side {
    /// The store of sorted, distinct keys with positive counts (at most `u16::MAX` of them).
    fn from_buckets(buckets: &[(i32, u32)]) -> Side {
        let (Some(first), Some(last)) = (buckets.first(), buckets.last()) else {
            return Side::default();
        };
        let len = u16::try_from(buckets.len()).expect("at most MAX_BUCKETS + 1 buckets");
        let span = (i64::from(last.0) - i64::from(first.0) + 1) as u64;
        let bits = count_bits(buckets.iter().map(|&(_, n)| n).max().unwrap_or(0));
        let dense = dense_bytes(span, bits);
        if dense <= (PAIR_BYTES * buckets.len()) as u64 {
            let mut bytes = vec![0u8; dense as usize].into_boxed_slice();
            for &(k, n) in buckets {
                set_count(&mut bytes, bits, (k - first.0) as usize, n);
            }
            Side {
                lo: first.0,
                len,
                bits,
                bytes,
            }
        } else {
            let bytes = buckets
                .iter()
                .flat_map(|&(k, n)| {
                    let mut pair = [0u8; PAIR_BYTES];
                    pair[..4].copy_from_slice(&k.to_le_bytes());
                    pair[4..].copy_from_slice(&n.to_le_bytes());
                    pair
                })
                .collect();
            Side {
                lo: 0,
                len,
                bits: 0,
                bytes,
            }
        }
    }

    /// Keys the dense form spans (its last count is positive, which tells an unused last
    /// nibble from a count).
    fn span(&self) -> usize {
        match self.bits {
            0 => 0,
            4 => {
                let last_unused = self.bytes.last().is_some_and(|&b| b >> 4 == 0);
                2 * self.bytes.len() - usize::from(last_unused)
            }
            bits => self.bytes.len() * 8 / usize::from(bits),
        }
    }

    /// The occupied buckets, in ascending key order.
    fn buckets(&self) -> Buckets {
        if self.bits == 0 {
            let (pairs, _) = self.bytes.as_chunks::<PAIR_BYTES>();
            return pairs
                .iter()
                .map(|p| {
                    let key = i32::from_le_bytes([p[0], p[1], p[2], p[3]]);
                    (key, u32::from_le_bytes([p[4], p[5], p[6], p[7]]))
                })
                .collect();
        }
        let mut out = Vec::with_capacity(usize::from(self.len));
        for i in 0..self.span() {
            let n = count_at(&self.bytes, self.bits, i);
            if n > 0 {
                out.push((self.lo + i as i32, n));
            }
        }
        out
    }

    /// Counts one value in bucket `key`; returns whether the bucket was empty.
    fn add(&mut self, key: i32) -> bool {
        if self.bits == 0 {
            // Sparse: a larger count only makes the dense form larger, so the form stays.
            let (pairs, _) = self.bytes.as_chunks_mut::<PAIR_BYTES>();
            let found =
                pairs.binary_search_by_key(&key, |p| i32::from_le_bytes([p[0], p[1], p[2], p[3]]));
            if let Ok(i) = found {
                let p = &mut pairs[i];
                let n = u32::from_le_bytes([p[4], p[5], p[6], p[7]]) + 1;
                p[4..].copy_from_slice(&n.to_le_bytes());
                return false;
            }
        } else {
            let i = i64::from(key) - i64::from(self.lo);
            if (0..self.span() as i64).contains(&i) {
                // Inside the dense span: the dense form stays the smaller unless the count
                // needs more bits.
                let i = i as usize;
                let n = count_at(&self.bytes, self.bits, i) + 1;
                if count_bits(n) <= self.bits {
                    set_count(&mut self.bytes, self.bits, i, n);
                    if n == 1 {
                        self.len += 1;
                    }
                    return n == 1;
                }
            }
        }
        // A new sparse key, a key outside the dense span, or a count needing more bits: the
        // smaller form may change, so the side is rebuilt (at most a few times per bucket).
        let mut buckets = self.buckets();
        let new = match buckets.binary_search_by_key(&key, |&(k, _)| k) {
            Ok(i) => {
                buckets[i].1 += 1;
                false
            }
            Err(i) => {
                buckets.insert(i, (key, 1));
                true
            }
        };
        *self = Side::from_buckets(&buckets);
        new
    }
}

/// Checks buckets read from a file: keys sorted, distinct and within what an `f64` gives at
/// `level`, counts positive.
fn readable(buckets: &Buckets, level: u32) -> bool {
    let limit = KEY_LIMIT >> level;
    buckets.windows(2).all(|w| w[0].0 < w[1].0)
        && buckets
            .iter()
            .all(|&(k, n)| n > 0 && (-limit..=limit).contains(&k))
}

/// Quantile sketch over `f64` values (NaN values are ignored and counted separately). Read and
/// written as `Wire`: its buckets as `(key, count)` lists, whatever their form in memory.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(into = "Wire", try_from = "Wire")]
pub struct Sketch {
    count: u64,
    nan: u64,
    zeros: u64,
    min: f64,
    max: f64,
    /// Buckets combine `2^level` base keys.
    level: u32,
    /// Buckets of positive values and of the magnitudes of negative values.
    positive: Side,
    negative: Side,
}

/// A [`Sketch`] as shard files hold it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Wire {
    count: u64,
    nan: u64,
    zeros: u64,
    min: f64,
    max: f64,
    level: u32,
    positive: Buckets,
    negative: Buckets,
}

impl From<Sketch> for Wire {
    fn from(s: Sketch) -> Wire {
        Wire {
            count: s.count,
            nan: s.nan,
            zeros: s.zeros,
            min: s.min,
            max: s.max,
            level: s.level,
            positive: s.positive.buckets(),
            negative: s.negative.buckets(),
        }
    }
}

impl TryFrom<Wire> for Sketch {
    type Error = String;

    /// Refuses buckets that [`Sketch::add`] and [`Sketch::merge`] could not have made (the
    /// rest is [`Sketch::is_consistent`]'s).
    fn try_from(w: Wire) -> Result<Sketch, String> {
        let storable = w.level <= MAX_LEVEL
            && w.positive.len() + w.negative.len() <= MAX_BUCKETS
            && readable(&w.positive, w.level)
            && readable(&w.negative, w.level);
        if !storable {
            return Err("sketch buckets unsorted, empty, out of range or too many".into());
        }
        Ok(Sketch {
            count: w.count,
            nan: w.nan,
            zeros: w.zeros,
            min: w.min,
            max: w.max,
            level: w.level,
            positive: Side::from_buckets(&w.positive),
            negative: Side::from_buckets(&w.negative),
        })
    }
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
        if side.add(key) && self.occupied() > MAX_BUCKETS {
            let (positive, negative) = (self.positive.buckets(), self.negative.buckets());
            self.store(positive, negative);
        }
    }

    fn occupied(&self) -> usize {
        usize::from(self.positive.len) + usize::from(self.negative.len)
    }

    /// Stores buckets at `self.level`, first raising the level until they fit in
    /// [`MAX_BUCKETS`]: to the smallest level at which the values' keys fit, as the level never
    /// exceeds that one (the number of occupied buckets only grows with the values and only
    /// shrinks with the level).
    fn store(&mut self, mut positive: Buckets, mut negative: Buckets) {
        while positive.len() + negative.len() > MAX_BUCKETS {
            coarsen(&mut positive, self.level, self.level + 1);
            coarsen(&mut negative, self.level, self.level + 1);
            self.level += 1;
        }
        self.positive = Side::from_buckets(&positive);
        self.negative = Side::from_buckets(&negative);
    }

    /// Whether this sketch could have been built by [`Sketch::add`] and [`Sketch::merge`]:
    /// counts adding up and ordered extremes (reading it checked the buckets). A sketch read
    /// from a file must be checked before use.
    pub fn is_consistent(&self) -> bool {
        let total: u64 = self
            .positive
            .buckets()
            .iter()
            .chain(&self.negative.buckets())
            .map(|&(_, n)| u64::from(n))
            .sum::<u64>()
            + self.zeros;
        let extremes = self.count == 0 || (self.min <= self.max);
        total == self.count && extremes
    }

    /// Adds every value of `other`: the result equals adding them one by one, in any order.
    pub fn merge(&mut self, other: &Sketch) {
        let level = self.level.max(other.level);
        let mut sides = [
            self.positive.buckets(),
            self.negative.buckets(),
            other.positive.buckets(),
            other.negative.buckets(),
        ];
        for (b, from) in sides
            .iter_mut()
            .zip([self.level, self.level, other.level, other.level])
        {
            coarsen(b, from, level);
        }
        self.level = level;
        let positive = union(&sides[0], &sides[2]);
        let negative = union(&sides[1], &sides[3]);
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
        self.store(positive, negative);
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
        self.quantiles([q])[0]
    }

    /// The `q`-quantile for every `q` of `qs`, decoding the buckets once.
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [f64; N] {
        if self.min == self.max && self.count > 0 {
            return [self.min; N];
        }
        // Ascending values: negatives from the largest magnitude down, zeros, then positives;
        // each with the number of values up to and including its bucket.
        let level = self.level;
        // With two values or fewer every order statistic is an extreme: nothing to decode.
        let decode = self.count > 2;
        let side = |s: &Side| if decode { s.buckets() } else { Vec::new() };
        let (negative, positive) = (side(&self.negative), side(&self.positive));
        let negatives = negative
            .iter()
            .rev()
            .map(|&(k, n)| (-representative(k, level), u64::from(n)));
        let zeros = (self.zeros > 0).then_some((0.0, self.zeros));
        let positives = positive
            .iter()
            .map(|&(k, n)| (representative(k, level), u64::from(n)));
        let mut seen = 0u64;
        let ladder: Vec<(f64, u64)> = negatives
            .chain(zeros)
            .chain(positives)
            .map(|(value, n)| {
                seen += n;
                (value, seen)
            })
            .collect();
        // The `i`-th smallest value (from 0): the exact extremes, else its bucket's value.
        let order_statistic = |i: u64| {
            if i == 0 {
                return self.min;
            }
            if i + 1 >= self.count {
                return self.max;
            }
            let at = ladder.partition_point(|&(_, up_to)| up_to <= i);
            ladder
                .get(at)
                .map_or(self.max, |&(value, _)| value.clamp(self.min, self.max))
        };
        qs.map(|q| interpolated(self.count, q, order_statistic))
    }

    /// Memory held by the buckets, in bytes: at most `PAIR_BYTES` per occupied bucket.
    pub fn heap_bytes(&self) -> usize {
        self.positive.bytes.len() + self.negative.bytes.len()
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
            assert!(s.occupied() <= MAX_BUCKETS);
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
        let read = |w: Wire| postcard::from_bytes::<Sketch>(&postcard::to_allocvec(&w).unwrap());
        let wire = || Wire::from(sk.clone());
        assert_eq!(read(wire()).unwrap(), sk);
        let unreadable = [
            Wire {
                positive: wire().positive.into_iter().rev().collect(),
                ..wire()
            },
            Wire {
                positive: vec![(1, 0)],
                ..wire()
            },
            Wire {
                level: 40,
                ..wire()
            },
            Wire {
                positive: vec![(i32::MAX, 1)],
                ..wire()
            },
            Wire {
                positive: (0..MAX_BUCKETS as i32 + 1).map(|k| (k, 1)).collect(),
                ..wire()
            },
        ];
        for bad in unreadable {
            assert!(read(bad).is_err());
        }
        let forged = read(Wire {
            count: sk.count + 1,
            ..wire()
        })
        .unwrap();
        assert!(!forged.is_consistent(), "{forged:?}");
        assert!(
            !Exact {
                values: vec![f64::NAN],
                nan: 0
            }
            .is_consistent()
        );
    }

    #[test]
    fn sides_take_the_smaller_form_of_their_buckets() {
        let side = |b: &[(i32, u32)]| {
            let s = Side::from_buckets(b);
            assert_eq!(s.buckets(), b);
            assert_eq!(usize::from(s.len), b.len());
            assert!(s.bytes.len() <= PAIR_BYTES * b.len());
            s
        };
        // Narrow keys: dense, in the fewest bits that hold the largest count.
        let narrow = side(&[(-3, 1), (-1, 15), (0, 2)]);
        assert_eq!(
            (narrow.lo, narrow.bits, narrow.bytes.len(), narrow.span()),
            (-3, 4, 2, 4)
        );
        let odd = side(&[(7, 1), (9, 3)]);
        assert_eq!((odd.bits, odd.bytes.len(), odd.span()), (4, 2, 3));
        assert_eq!(side(&[(5, 16)]).bits, 8);
        assert_eq!(side(&[(5, 256), (6, 1)]).bits, 16);
        assert_eq!(side(&[(5, 70_000)]).bits, 32);
        // Keys far apart: sparse, whose bytes the dense form would exceed.
        let wide = side(&[(-500, 1), (0, 3), (500, 1)]);
        assert_eq!((wide.bits, wide.bytes.len()), (0, 3 * PAIR_BYTES));
        // Two buckets as pairs take 16 bytes: dense up to 32 keys of 4 bits (dense at the tie).
        assert_eq!(side(&[(0, 1), (31, 1)]).bits, 4);
        assert_eq!(side(&[(0, 1), (32, 1)]).bits, 0);
        assert_eq!(Side::from_buckets(&[]), Side::default());
    }

    #[test]
    fn adds_keep_the_store_a_function_of_the_buckets() {
        // Values that move a side between the forms (two keys far apart make it sparse, the keys
        // in between dense again) and widen its counts to 8 and 16 bits.
        let mut s = Sketch::default();
        let mut values = Vec::new();
        for i in 0..3000u32 {
            let x = match i % 5 {
                0 => 1.0 + 0.01 * f64::from((i / 5) % 50),
                1 if i == 1 => 1.6,
                1 => -(2.0 + 0.01 * f64::from(i % 2)),
                3 if i < 40 => 0.0,
                _ => 1.5,
            };
            s.add(x);
            values.push(x);
            for side in [&s.positive, &s.negative] {
                assert_eq!(Side::from_buckets(&side.buckets()), *side, "after {i}");
            }
            if i == 1 {
                assert_eq!(s.positive.bits, 0);
            }
        }
        assert!(s.positive.bits == 16 && s.negative.bits == 16);
        assert_eq!(s, sketch_of(&values));
        assert!(s.is_consistent());
        assert_within_bound(&values, &s);
    }

    #[test]
    fn written_sketches_read_back_equal_in_both_forms() {
        // A narrow (dense), a wide (sparse) and a coarsened (dense at level 4) sketch: read back
        // equal, and their merges too.
        let narrow: Vec<f64> = (0..300)
            .map(|i| 1e9 * (1.0 + 0.0004 * f64::from(i)))
            .collect();
        let wide: Vec<f64> = (0..100)
            .map(|i| -(10f64.powf(f64::from(i) / 5.0)))
            .collect();
        let coarse: Vec<f64> = (0..300).map(|i| 10f64.powf(f64::from(i) / 30.0)).collect();
        let (a, b, c) = (sketch_of(&narrow), sketch_of(&wide), sketch_of(&coarse));
        assert!(a.positive.bits > 0 && a.level() == 0);
        assert!(b.negative.bits == 0 && b.level() == 0);
        assert!(c.positive.bits > 0 && c.level() == 4);
        for s in [&a, &b, &c] {
            let back: Sketch = postcard::from_bytes(&postcard::to_allocvec(s).unwrap()).unwrap();
            assert_eq!(&back, s);
            for q in [0.0, 0.05, 0.5, 0.95, 1.0] {
                assert_eq!(back.quantile(q).to_bits(), s.quantile(q).to_bits());
            }
        }
        let (mut abc, mut cba) = (a.clone(), c.clone());
        abc.merge(&b);
        abc.merge(&c);
        cba.merge(&b);
        cba.merge(&a);
        let all: Vec<f64> = narrow.iter().chain(&wide).chain(&coarse).copied().collect();
        assert_eq!(abc, cba);
        assert_eq!(abc, sketch_of(&all));
        assert_within_bound(&all, &abc);
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

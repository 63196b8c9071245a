//! Global sensitivity indices from the outputs of a design of `scenario::design`: first- and
//! total-order Sobol indices from Saltelli's design, Morris's elementary effects from its
//! trajectories, each with a 95 % percentile bootstrap interval.
//!
//! Pure functions of the outputs (one `f64` per design row, in the design's row order), the
//! number of resamples and a seed: no I/O, no clock, no parallelism. The bootstrap resamples whole
//! base rows (Sobol) or whole trajectories (Morris) with replacement from
//! `ChaCha8Rng::seed_from_u64(seed)`, so the same arguments give the same intervals bit for bit.
//! Degenerate outputs (a non-finite value, no variance) give NaN indices, never a panic; only a
//! number of outputs that does not fit the design's layout, a caller's bug, panics.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::quantile_of_sorted;

/// Default number of bootstrap resamples.
pub const RESAMPLES: usize = 1000;

/// Quantiles of the resampled estimates that bound the 95 % percentile interval.
pub const TAILS: (f64, f64) = (0.025, 0.975);

/// A point estimate and its 95 % percentile bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The estimate on the full sample.
    pub estimate: f64,
    /// The 2.5 % quantile of the resampled estimates.
    pub low: f64,
    /// The 97.5 % quantile of the resampled estimates.
    pub high: f64,
}

impl Interval {
    /// Every part NaN: the interval of a degenerate input.
    pub const NAN: Interval = Interval {
        estimate: f64::NAN,
        low: f64::NAN,
        high: f64::NAN,
    };

    /// Whether `v` lies in `[low, high]` (never, when the bounds are NaN).
    pub fn contains(&self, v: f64) -> bool {
        self.low <= v && v <= self.high
    }

    /// `estimate` with the percentile interval of `resampled` (numpy's default quantiles at
    /// 2.5 % and 97.5 %); resamples whose estimate is not finite (a resample without variance)
    /// are left out, and the bounds are NaN when none is left.
    fn percentile(estimate: f64, mut resampled: Vec<f64>) -> Interval {
        resampled.retain(|v| v.is_finite());
        resampled.sort_by(f64::total_cmp);
        Interval {
            estimate,
            low: quantile_of_sorted(&resampled, TAILS.0),
            high: quantile_of_sorted(&resampled, TAILS.1),
        }
    }
}

/// First- and total-order Sobol indices of `k` parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SobolIndices {
    /// First-order index `S_i` of each parameter.
    pub first: Vec<Interval>,
    /// Total-order index `S_Ti` of each parameter.
    pub total: Vec<Interval>,
    /// The output variance `V` (of `f_A` and `f_B` pooled).
    pub variance: f64,
    /// Base rows `N` of the design.
    pub n: usize,
}

/// Sums over a set of base rows from which the indices follow.
struct SobolSums {
    /// `V`, the population variance of the `2N` values `f_A`, `f_B`.
    variance: f64,
    /// `Σ f_B (f_ABi − f_A) / N` per parameter.
    first: Vec<f64>,
    /// `Σ (f_A − f_ABi)² / (2N)` per parameter.
    total: Vec<f64>,
}

impl SobolSums {
    /// The sums over base rows `rows` of outputs `y` in Saltelli's layout (see
    /// [`crate::scenario::design::saltelli`]).
    fn over(y: &[f64], k: usize, rows: impl Iterator<Item = usize> + Clone) -> SobolSums {
        let block = k + 2;
        let (a, b) = (|j: usize| y[j * block], |j: usize| y[j * block + k + 1]);
        let n = rows.clone().count() as f64;
        let mean = rows.clone().map(|j| a(j) + b(j)).sum::<f64>() / (2.0 * n);
        let variance = rows
            .clone()
            .map(|j| (a(j) - mean).powi(2) + (b(j) - mean).powi(2))
            .sum::<f64>()
            / (2.0 * n);
        let (mut first, mut total) = (vec![0.0; k], vec![0.0; k]);
        for j in rows {
            for i in 0..k {
                // When parameter i has no effect, f_ABi == f_A bit for bit: the difference is
                // exactly 0, and so is every sum built from it.
                let d = y[j * block + 1 + i] - a(j);
                first[i] += b(j) * d;
                total[i] += d * d;
            }
        }
        SobolSums {
            variance,
            first: first.into_iter().map(|s| s / n).collect(),
            total: total.into_iter().map(|s| s / (2.0 * n)).collect(),
        }
    }

    /// `(S_i, S_Ti)` of parameter `i`.
    fn indices(&self, i: usize) -> (f64, f64) {
        (self.first[i] / self.variance, self.total[i] / self.variance)
    }
}

/// First- and total-order Sobol indices of `k` parameters from the outputs `y` of
/// [`crate::scenario::design::saltelli`]'s design (`N·(k+2)` values in its row order), with
/// `resamples` bootstrap resamples of the `N` base rows drawn from `seed`:
///
/// - first order (Saltelli et al. 2010, "Variance based sensitivity analysis of model output",
///   table 2 (b)): `S_i = (1/N) Σ_j f_B,j (f_ABi,j − f_A,j) / V`;
/// - total order (Jansen 1999): `S_Ti = (1/2N) Σ_j (f_A,j − f_ABi,j)² / V`;
/// - `V` the population variance (divisor `2N`) of the `f_A` and `f_B` values pooled, as SALib's
///   `sobol.analyze`.
///
/// Every estimate and bound (and `variance`) is NaN when a value of `y` is not finite, when
/// there are no base rows, or when `V = 0`. A parameter that provably has no effect gives
/// `f_ABi = f_A` bit for bit, hence `S_i = S_Ti = 0` exactly, in every resample too.
///
/// # Panics
/// When `y.len()` is not a multiple of `k + 2`.
pub fn sobol(y: &[f64], k: usize, resamples: usize, seed: u64) -> SobolIndices {
    assert!(
        y.len().is_multiple_of(k + 2),
        "{} outputs do not fill blocks of k + 2 = {} rows of a Sobol design",
        y.len(),
        k + 2
    );
    let n = y.len() / (k + 2);
    let full = SobolSums::over(y, k, 0..n);
    if n == 0 || y.iter().any(|v| !v.is_finite()) || full.variance.is_nan() || full.variance <= 0.0
    {
        return SobolIndices {
            first: vec![Interval::NAN; k],
            total: vec![Interval::NAN; k],
            variance: f64::NAN,
            n,
        };
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut first, mut total) = (vec![vec![]; k], vec![vec![]; k]);
    for _ in 0..resamples {
        let rows: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
        let sums = SobolSums::over(y, k, rows.iter().copied());
        for i in 0..k {
            let (s, st) = sums.indices(i);
            first[i].push(s);
            total[i].push(st);
        }
    }
    let interval = |i: usize, s: Vec<f64>, st: Vec<f64>| {
        let (e, et) = full.indices(i);
        (Interval::percentile(e, s), Interval::percentile(et, st))
    };
    let (first, total) = first
        .into_iter()
        .zip(total)
        .enumerate()
        .map(|(i, (s, st))| interval(i, s, st))
        .unzip();
    SobolIndices {
        first,
        total,
        variance: full.variance,
        n,
    }
}

/// Morris's measures of `k` factors.
#[derive(Debug, Clone, PartialEq)]
pub struct MorrisIndices {
    /// `μ_i`, the mean elementary effect (signed: effects of opposite signs cancel).
    pub mu: Vec<f64>,
    /// `μ*_i`, the mean absolute elementary effect.
    pub mu_star: Vec<Interval>,
    /// `σ_i`, the sample standard deviation of the elementary effects (divisor `r − 1`).
    pub sigma: Vec<Interval>,
    /// Trajectories `r` of the design.
    pub trajectories: usize,
}

/// The elementary effects of trajectory `t`, by factor: `(y_{m+1} − y_m)/(x_{m+1,i} − x_{m,i})`
/// for the one factor `i` that moves at step `m`.
fn elementary_effects(x: &[Vec<f64>], y: &[f64], k: usize, t: usize) -> Vec<f64> {
    let rows = t * (k + 1)..(t + 1) * (k + 1);
    let (x, y) = (&x[rows.clone()], &y[rows]);
    let mut effects = vec![f64::NAN; k];
    for m in 0..k {
        let moved: Vec<usize> = (0..k).filter(|&i| x[m][i] != x[m + 1][i]).collect();
        assert!(
            moved.len() == 1 && effects[moved[0]].is_nan(),
            "trajectory {t}, step {m}: not a Morris trajectory (every step moves one new factor)"
        );
        let i = moved[0];
        effects[i] = (y[m + 1] - y[m]) / (x[m + 1][i] - x[m][i]);
    }
    effects
}

/// `(μ*, σ)` of the effects of trajectories `ts` of one factor.
fn mu_star_sigma(effects: &[f64], ts: &[usize]) -> (f64, f64) {
    let r = ts.len() as f64;
    let mu_star = ts.iter().map(|&t| effects[t].abs()).sum::<f64>() / r;
    let mu = ts.iter().map(|&t| effects[t]).sum::<f64>() / r;
    let ss = ts.iter().map(|&t| (effects[t] - mu).powi(2)).sum::<f64>();
    (mu_star, (ss / (r - 1.0)).sqrt())
}

/// Morris's measures of `k` factors from design points `x` and outputs `y` of
/// [`crate::scenario::design::morris`]'s trajectories (`r·(k+1)` rows in its order), with
/// `resamples` bootstrap resamples of the `r` trajectories drawn from `seed`.
///
/// The elementary effect of factor `i` in a trajectory is `EE_i = (y(x + Δ e_i) − y(x)) / Δ` in
/// unit-cube units, with `Δ` the signed step the design took (Morris 1991); then
/// `μ_i = mean EE_i`, `μ*_i = mean |EE_i|` (Campolongo, Cariboni and Saltelli 2007) and `σ_i` the
/// sample standard deviation of `EE_i` (divisor `r − 1`). A factor that provably has no effect
/// has `EE_i = 0` exactly, so `μ*_i = σ_i = 0` with interval `[0, 0]`.
///
/// Every estimate and bound is NaN when a value of `y` is not finite or when there are no
/// trajectories; `σ` is NaN with a single trajectory. A constant output is not degenerate here:
/// every effect is 0.
///
/// # Panics
/// When `x` and `y` differ in length, `y.len()` is not a multiple of `k + 1`, or a trajectory
/// does not move exactly one new factor at each step.
pub fn morris(x: &[Vec<f64>], y: &[f64], k: usize, resamples: usize, seed: u64) -> MorrisIndices {
    assert_eq!(x.len(), y.len(), "one output per design point");
    assert!(
        y.len().is_multiple_of(k + 1),
        "{} outputs do not fill trajectories of k + 1 = {} rows of a Morris design",
        y.len(),
        k + 1
    );
    let r = y.len() / (k + 1);
    if r == 0 || y.iter().any(|v| !v.is_finite()) {
        return MorrisIndices {
            mu: vec![f64::NAN; k],
            mu_star: vec![Interval::NAN; k],
            sigma: vec![Interval::NAN; k],
            trajectories: r,
        };
    }
    // effects[i][t]: factor i's elementary effect in trajectory t.
    let by_trajectory: Vec<Vec<f64>> = (0..r).map(|t| elementary_effects(x, y, k, t)).collect();
    let effects: Vec<Vec<f64>> = (0..k)
        .map(|i| by_trajectory.iter().map(|e| e[i]).collect())
        .collect();
    let all: Vec<usize> = (0..r).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut stars, mut sigmas) = (vec![vec![]; k], vec![vec![]; k]);
    for _ in 0..resamples {
        let ts: Vec<usize> = (0..r).map(|_| rng.random_range(0..r)).collect();
        for i in 0..k {
            let (s, sd) = mu_star_sigma(&effects[i], &ts);
            stars[i].push(s);
            sigmas[i].push(sd);
        }
    }
    let mut mu_star = Vec::with_capacity(k);
    let mut sigma = Vec::with_capacity(k);
    for ((e, s), sd) in effects.iter().zip(stars).zip(sigmas) {
        let (star, spread) = mu_star_sigma(e, &all);
        mu_star.push(Interval::percentile(star, s));
        sigma.push(Interval::percentile(spread, sd));
    }
    MorrisIndices {
        mu: effects
            .iter()
            .map(|e| e.iter().sum::<f64>() / r as f64)
            .collect(),
        mu_star,
        sigma,
        trajectories: r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::design;

    #[test]
    fn percentile_interval_is_numpys_and_ignores_non_finite_resamples() {
        let v: Vec<f64> = (0..=100).map(f64::from).collect();
        let mut with_nan = v.clone();
        with_nan.extend([f64::NAN, f64::INFINITY]);
        let i = Interval::percentile(50.0, with_nan);
        assert_eq!((i.estimate, i.low, i.high), (50.0, 2.5, 97.5));
        assert!(i.contains(2.5) && i.contains(97.5) && !i.contains(97.6));
        let empty = Interval::percentile(1.0, vec![f64::NAN]);
        assert!(empty.low.is_nan() && empty.high.is_nan() && !empty.contains(1.0));
    }

    /// Outputs of f on a unit design.
    fn outputs(rows: &[Vec<f64>], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
        rows.iter().map(|x| f(x)).collect()
    }

    #[test]
    fn additive_function_has_closed_form_indices() {
        // f = x0 + 2 x1 on U(0,1)²: V_i = c_i²/12, so S_i = S_Ti = c_i²/5 = (0.2, 0.8).
        let rows = design::saltelli(1024, 2, 4);
        let y = outputs(&rows, |x| x[0] + 2.0 * x[1]);
        let s = sobol(&y, 2, 200, 1);
        for (i, truth) in [0.2, 0.8].into_iter().enumerate() {
            // Quasi-Monte Carlo at N = 1024: errors far below 0.02 (the iid bootstrap half-width
            // is ≈ 0.03 here), so 0.02 fails any wrong formula or layout.
            assert!((s.first[i].estimate - truth).abs() < 0.02, "{s:?}");
            assert!((s.total[i].estimate - truth).abs() < 0.02, "{s:?}");
            assert!(
                s.first[i].contains(truth) && s.total[i].contains(truth),
                "{s:?}"
            );
        }
        assert!((s.variance - 5.0 / 12.0).abs() < 0.01, "{}", s.variance);
        assert_eq!(s.n, 1024);
    }

    #[test]
    fn sobol_is_deterministic_in_the_seed() {
        let rows = design::saltelli(64, 3, 2);
        let y = outputs(&rows, |x| x[0] * x[1] + x[2]);
        assert_eq!(sobol(&y, 3, 100, 5), sobol(&y, 3, 100, 5));
        assert_ne!(sobol(&y, 3, 100, 5), sobol(&y, 3, 100, 6));
    }

    #[test]
    fn degenerate_outputs_give_nan_not_a_panic() {
        let rows = design::saltelli(16, 2, 2);
        let constant = sobol(&vec![3.0; rows.len()], 2, 50, 0);
        let mut y = outputs(&rows, |x| x[0]);
        y[5] = f64::NAN;
        let not_finite = sobol(&y, 2, 50, 0);
        for s in [constant, not_finite, sobol(&[], 2, 50, 0)] {
            assert!(s.variance.is_nan());
            for i in s.first.iter().chain(&s.total) {
                assert!(i.estimate.is_nan() && i.low.is_nan() && i.high.is_nan());
            }
        }
        let points = design::morris(8, 2, 4, 0);
        let mut y = outputs(&points, |x| x[0]);
        y[3] = f64::INFINITY;
        let m = morris(&points, &y, 2, 50, 0);
        assert!(m.mu.iter().all(|v| v.is_nan()));
        assert!(
            m.mu_star
                .iter()
                .chain(&m.sigma)
                .all(|i| i.estimate.is_nan())
        );
        // A constant output is not degenerate for Morris: every effect is 0.
        let flat = morris(&points, &vec![1.0; points.len()], 2, 50, 0);
        assert!(
            flat.mu_star
                .iter()
                .all(|i| (i.estimate, i.low, i.high) == (0.0, 0.0, 0.0))
        );
    }

    #[test]
    #[should_panic(expected = "do not fill blocks")]
    fn sobol_panics_on_a_wrong_number_of_outputs() {
        sobol(&[1.0; 7], 2, 10, 0);
    }

    #[test]
    #[should_panic(expected = "not a Morris trajectory")]
    fn morris_panics_on_points_that_are_not_trajectories() {
        let points = design::latin_hypercube(6, 2, 0);
        morris(&points, &[0.0; 6], 2, 10, 0);
    }

    #[test]
    fn single_trajectory_has_no_sigma() {
        let points = design::morris(1, 3, 4, 8);
        let m = morris(&points, &outputs(&points, |x| x[1]), 3, 20, 0);
        assert!(m.sigma.iter().all(|s| s.estimate.is_nan()));
        assert_eq!(m.mu_star[1].estimate, 1.0);
        assert_eq!(m.mu_star[0].estimate, 0.0);
    }
}

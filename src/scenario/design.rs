//! Space-filling designs in the unit cube `[0, 1]^k`: Latin hypercubes (McKay, Beckman and
//! Conover 1979), Saltelli's design for Sobol indices on an Owen-scrambled Sobol sequence
//! (Saltelli et al. 2010; Burley 2020), and Morris's one-at-a-time trajectories (Morris 1991).
//!
//! Pure functions of `(method, samples, k, levels, seed)`: no I/O, no clock, no thread-local
//! randomness; the same arguments give the same points bit for bit. Mapping the cube onto a
//! parameter's range is the caller's (see [`super::calibrate::Parameter::at`]); the row order of
//! each design is part of its contract, because the estimators of `batch::sensitivity` rely on it.

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How the points of a design are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Latin hypercube: one point in each of the `samples` strata of every axis.
    Lhs,
    /// Saltelli's design for first- and total-order Sobol indices.
    Sobol,
    /// Morris's elementary-effects trajectories.
    Morris,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 3] = [Method::Lhs, Method::Sobol, Method::Morris];

    /// The method named `s` (`"lhs"`, `"sobol"`, `"morris"`), if any.
    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.name() == s)
    }

    /// The method's name, as [`Method::parse`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Method::Lhs => "lhs",
            Method::Sobol => "sobol",
            Method::Morris => "morris",
        }
    }
}

/// Default number of Morris grid levels `p`: the grid `{0, 1/3, 2/3, 1}` and step `Δ = 2/3`
/// (Morris 1991; Campolongo, Cariboni and Saltelli 2007 recommend `p = 4`).
pub const MORRIS_LEVELS: usize = 4;

/// Most parameters of a Sobol design: the sequence has 256 dimensions (`sobol_burley`) and the
/// design uses two per parameter (matrices A and B).
pub const MAX_SOBOL_PARAMETERS: usize = sobol_burley::NUM_DIMENSIONS as usize / 2;

/// Most base rows (`samples`) of a Sobol design: `sobol_burley` indexes at most `2^16` points.
pub const MAX_SOBOL_SAMPLES: usize = 1 << 16;

/// Number of points of a design of `samples` for `k` parameters (saturating): `samples` for
/// [`Method::Lhs`]; `samples·(k + 2)` for [`Method::Sobol`] (Saltelli's design for first and
/// total order only); `samples·(k + 1)` for [`Method::Morris`] (`samples` is the number of
/// trajectories).
pub fn point_count(method: Method, samples: usize, k: usize) -> usize {
    match method {
        Method::Lhs => samples,
        Method::Sobol => samples.saturating_mul(k.saturating_add(2)),
        Method::Morris => samples.saturating_mul(k.saturating_add(1)),
    }
}

/// The design: [`point_count`] rows of `k` coordinates, each in `[0, 1]`, deterministic in
/// `seed`. `levels` is used by [`Method::Morris`] only.
///
/// Row layouts (the estimators of `batch::sensitivity` rely on them):
/// - [`Method::Lhs`]: `samples` rows; see [`latin_hypercube`].
/// - [`Method::Sobol`]: base row `j` occupies the block of rows `j·(k+2) … j·(k+2)+k+1`: `A_j`,
///   then `AB_j^(1) … AB_j^(k)`, then `B_j` (SALib's order with `calc_second_order = False`); see
///   [`saltelli`].
/// - [`Method::Morris`]: trajectory `t` occupies rows `t·(k+1) … t·(k+1)+k`; see [`morris`].
///
/// # Panics
/// As [`saltelli`] and [`morris`] do: a Sobol design beyond [`MAX_SOBOL_PARAMETERS`] or
/// [`MAX_SOBOL_SAMPLES`], a Morris design with `levels < 2`. Callers validate these first.
pub fn unit_design(
    method: Method,
    samples: usize,
    k: usize,
    levels: usize,
    seed: u64,
) -> Vec<Vec<f64>> {
    match method {
        Method::Lhs => latin_hypercube(samples, k, seed),
        Method::Sobol => saltelli(samples, k, seed),
        Method::Morris => morris(samples, k, levels, seed),
    }
}

/// A Latin hypercube of `n` points in `[0, 1]^k` (McKay, Beckman and Conover 1979): on every axis
/// each stratum `[s/n, (s+1)/n)` holds exactly one point, at a uniform random position within it,
/// and the strata of different axes are paired by independent random permutations. Drawn from
/// `ChaCha8Rng::seed_from_u64(seed)`, axis by axis: the permutation, then the `n` positions.
pub fn latin_hypercube(n: usize, k: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut points = vec![vec![0.0; k]; n];
    for axis in 0..k {
        let mut strata: Vec<usize> = (0..n).collect();
        strata.shuffle(&mut rng);
        for (point, stratum) in points.iter_mut().zip(strata) {
            point[axis] = (stratum as f64 + rng.random::<f64>()) / n as f64;
        }
    }
    points
}

/// The `u32` scramble seed of `sobol_burley` for a design seed: the two halves of `seed` xored
/// (`sobol_burley` hashes it again). Seeds that agree after the fold give the same Sobol design.
pub fn sobol_seed(seed: u64) -> u32 {
    (seed ^ (seed >> 32)) as u32
}

/// Saltelli's design for first- and total-order indices (Saltelli et al. 2010, with the matrices
/// A and B of one quasi-random sequence): point `j` of a `2k`-dimensional Owen-scrambled Sobol
/// sequence (Burley 2020, `sobol_burley::sample(j, d, sobol_seed(seed))`) gives `A_j` (dimensions
/// `0 … k−1`) and `B_j` (dimensions `k … 2k−1`). Base row `j` occupies rows
/// `j·(k+2) … j·(k+2)+k+1`:
///
/// | row | point |
/// |---|---|
/// | `j·(k+2)` | `A_j` |
/// | `j·(k+2) + 1 + i`, `i = 0 … k−1` | `AB_j^(i)`: `A_j` with coordinate `i` taken from `B_j` |
/// | `j·(k+2) + k + 1` | `B_j` |
///
/// The first `2^m` points of the scrambled sequence are a `(t, m, 2k)`-net, so `n` a power of two
/// is best (each column of A and B then has one point in every `1/n` stratum). Coordinates are
/// `sobol_burley`'s `f32` values in `[0, 1)`, widened exactly.
///
/// # Panics
/// When `k > MAX_SOBOL_PARAMETERS` or `n > MAX_SOBOL_SAMPLES`.
pub fn saltelli(n: usize, k: usize, seed: u64) -> Vec<Vec<f64>> {
    assert!(
        k <= MAX_SOBOL_PARAMETERS,
        "a Sobol design has at most {MAX_SOBOL_PARAMETERS} parameters, not {k}"
    );
    assert!(
        n <= MAX_SOBOL_SAMPLES,
        "a Sobol design has at most {MAX_SOBOL_SAMPLES} base rows, not {n}"
    );
    let scramble = sobol_seed(seed);
    let mut rows = Vec::with_capacity(point_count(Method::Sobol, n, k));
    for j in 0..n as u32 {
        let coordinate = |d: usize| f64::from(sobol_burley::sample(j, d as u32, scramble));
        let a: Vec<f64> = (0..k).map(coordinate).collect();
        let b: Vec<f64> = (k..2 * k).map(coordinate).collect();
        rows.push(a.clone());
        for i in 0..k {
            let mut ab = a.clone();
            ab[i] = b[i];
            rows.push(ab);
        }
        rows.push(b);
    }
    rows
}

/// Morris's step for `p` levels: `Δ = p / (2(p − 1))` (Morris 1991), `2/3` for `p = 4`.
pub fn morris_delta(levels: usize) -> f64 {
    levels as f64 / (2.0 * (levels as f64 - 1.0))
}

/// `trajectories` Morris trajectories in `[0, 1]^k` on a grid of `levels` levels `p`
/// (`{0, 1/(p−1), …, 1}`), as SALib's `morris.sample` without optimal-trajectory selection
/// (Morris 1991). Each trajectory draws, from `ChaCha8Rng::seed_from_u64(seed)` and in this order,
/// a base level `x_i = l_i/(p−1)` for every factor with `x_i + Δ ≤ 1` (`l_i` uniform in
/// `0 … ⌊p/2⌋−1`), a random order of the `k` factors and a sign per factor; factor `i` takes the
/// values `x_i` and `x_i + Δ`, starting at `x_i` when its sign is `+` and at `x_i + Δ` when it is
/// `−`. Trajectory `t` occupies rows `t·(k+1) … t·(k+1)+k`: row `m + 1` is row `m` with the
/// `m`-th factor of the order moved by its signed `±Δ`, so every factor moves exactly once.
///
/// With `p` even every point lies on the grid (`x_i + Δ` is level `l_i + p/2`); with `p` odd
/// the moved values `x_i + Δ` fall between levels, as in SALib.
///
/// # Panics
/// When `levels < 2`.
pub fn morris(trajectories: usize, k: usize, levels: usize, seed: u64) -> Vec<Vec<f64>> {
    assert!(
        levels >= 2,
        "a Morris grid has at least 2 levels, not {levels}"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(point_count(Method::Morris, trajectories, k));
    let step = levels - 1;
    for _ in 0..trajectories {
        let base: Vec<usize> = (0..k).map(|_| rng.random_range(0..levels / 2)).collect();
        let mut order: Vec<usize> = (0..k).collect();
        order.shuffle(&mut rng);
        let up: Vec<bool> = (0..k).map(|_| rng.random_bool(0.5)).collect();
        // Both values of factor i as one exact division each: l/(p−1) and (2l + p)/(2(p−1)).
        let low = |i: usize| base[i] as f64 / step as f64;
        let high = |i: usize| (2 * base[i] + levels) as f64 / (2 * step) as f64;
        let mut point: Vec<f64> = (0..k)
            .map(|i| if up[i] { low(i) } else { high(i) })
            .collect();
        rows.push(point.clone());
        for &i in &order {
            point[i] = if up[i] { high(i) } else { low(i) };
            rows.push(point.clone());
        }
    }
    rows
}

/// One free parameter, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// Field path, as in `[sweep]`.
    pub field: String,
    /// Other field paths set to the same value.
    pub also: Vec<String>,
    pub min: f64,
    pub max: f64,
    /// Searched on the logarithm (`scale = "log"`).
    pub log: bool,
}

impl Parameter {
    /// The value at position `u` in `[0, 1]` of the search box (linear or logarithmic).
    pub fn at(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        if u == 0.0 {
            return self.min;
        }
        if u == 1.0 {
            return self.max;
        }
        let v = if self.log {
            (self.min.ln() + u * (self.max.ln() - self.min.ln())).exp()
        } else {
            self.min + u * (self.max - self.min)
        };
        v.clamp(self.min, self.max)
    }

    /// The position in `[0, 1]` of value `v` (inverse of [`Parameter::at`]).
    pub fn position(&self, v: f64) -> f64 {
        let u = if self.log {
            (v.ln() - self.min.ln()) / (self.max.ln() - self.min.ln())
        } else {
            (v - self.min) / (self.max - self.min)
        };
        u.clamp(0.0, 1.0)
    }

    /// Every field the parameter sets: `field`, then `also`.
    pub fn fields(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.field).chain(&self.also)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stratum(u: f64, n: usize) -> usize {
        ((u * n as f64) as usize).min(n - 1)
    }

    #[test]
    fn names_round_trip() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.name()), Some(m));
        }
        assert_eq!(Method::parse("Sobol"), None);
        assert_eq!(Method::parse(""), None);
    }

    #[test]
    fn point_counts_follow_the_layouts_and_saturate() {
        assert_eq!(point_count(Method::Lhs, 10, 3), 10);
        assert_eq!(point_count(Method::Sobol, 10, 3), 50);
        assert_eq!(point_count(Method::Morris, 10, 3), 40);
        assert_eq!(point_count(Method::Sobol, usize::MAX, 3), usize::MAX);
        assert_eq!(point_count(Method::Morris, 2, usize::MAX), usize::MAX);
        for m in Method::ALL {
            let design = unit_design(m, 8, 3, MORRIS_LEVELS, 1);
            assert_eq!(design.len(), point_count(m, 8, 3), "{}", m.name());
            assert!(design.iter().flatten().all(|u| (0.0..=1.0).contains(u)));
            assert!(design.iter().all(|row| row.len() == 3));
        }
    }

    #[test]
    fn latin_hypercube_has_one_point_per_stratum_per_axis() {
        let (n, k) = (97, 5);
        let points = latin_hypercube(n, k, 42);
        assert_eq!(points.len(), n);
        for axis in 0..k {
            let mut seen = vec![0; n];
            for p in &points {
                seen[stratum(p[axis], n)] += 1;
            }
            assert!(seen.iter().all(|&c| c == 1), "axis {axis}: {seen:?}");
        }
        // Axes are paired by independent permutations, not the same one.
        let strata =
            |axis: usize| -> Vec<usize> { points.iter().map(|p| stratum(p[axis], n)).collect() };
        assert_ne!(strata(0), strata(1));
    }

    #[test]
    fn saltelli_blocks_are_a_ab_and_b() {
        let (n, k) = (16, 4);
        let rows = saltelli(n, k, 9);
        assert_eq!(rows.len(), n * (k + 2));
        for j in 0..n {
            let block = &rows[j * (k + 2)..(j + 1) * (k + 2)];
            let (a, b) = (&block[0], &block[k + 1]);
            assert!((0..k).all(|i| a[i] != b[i]), "A and B share a coordinate");
            for i in 0..k {
                let ab = &block[1 + i];
                for c in 0..k {
                    let expected = if c == i { b[c] } else { a[c] };
                    assert_eq!(
                        ab[c].to_bits(),
                        expected.to_bits(),
                        "row {j}, AB_{i}, col {c}"
                    );
                }
            }
        }
    }

    #[test]
    fn saltelli_columns_are_stratified_for_a_power_of_two() {
        // The first 2^m points of the scrambled sequence are a net: each 1-D projection has one
        // point in every 1/n stratum, for the columns of A and of B alike.
        let (n, k) = (256, 3);
        let rows = saltelli(n, k, 12345);
        for (name, offset) in [("A", 0), ("B", k + 1)] {
            for axis in 0..k {
                let mut seen = vec![0; n];
                for j in 0..n {
                    seen[stratum(rows[j * (k + 2) + offset][axis], n)] += 1;
                }
                assert!(seen.iter().all(|&c| c == 1), "{name} column {axis}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "at most 128 parameters")]
    fn saltelli_refuses_more_parameters_than_the_sequence_has_dimensions() {
        saltelli(4, MAX_SOBOL_PARAMETERS + 1, 0);
    }

    #[test]
    fn morris_trajectories_move_each_factor_once_by_delta_on_the_grid() {
        for levels in [2, 4, 6] {
            let (r, k) = (50, 5);
            let delta = morris_delta(levels);
            let rows = morris(r, k, levels, 3);
            assert_eq!(rows.len(), r * (k + 1));
            let on_grid = |u: f64| {
                (0..levels).any(|l| (l as f64 / (levels - 1) as f64).to_bits() == u.to_bits())
            };
            assert!(
                rows.iter().flatten().all(|&u| on_grid(u)),
                "levels {levels}"
            );
            for t in 0..r {
                let traj = &rows[t * (k + 1)..(t + 1) * (k + 1)];
                let mut moved = vec![0; k];
                for m in 0..k {
                    let changed: Vec<usize> =
                        (0..k).filter(|&i| traj[m][i] != traj[m + 1][i]).collect();
                    assert_eq!(changed.len(), 1, "trajectory {t}, step {m}");
                    let i = changed[0];
                    let d = (traj[m + 1][i] - traj[m][i]).abs();
                    assert!((d - delta).abs() < 1e-15, "step {d} against delta {delta}");
                    moved[i] += 1;
                }
                assert!(moved.iter().all(|&c| c == 1), "trajectory {t}: {moved:?}");
            }
        }
    }

    #[test]
    fn morris_uses_both_signs_and_every_base_level() {
        let (r, k) = (200, 3);
        let rows = morris(r, k, 4, 5);
        let (mut up, mut down) = (0, 0);
        let mut starts = [0; 4];
        for t in 0..r {
            let traj = &rows[t * (k + 1)..(t + 1) * (k + 1)];
            for i in 0..k {
                starts[stratum(traj[0][i], 4)] += 1;
            }
            for m in 0..k {
                let i = (0..k).find(|&i| traj[m][i] != traj[m + 1][i]).unwrap();
                if traj[m + 1][i] > traj[m][i] {
                    up += 1;
                } else {
                    down += 1;
                }
            }
        }
        // Fair signs: 600 steps, sd √150 ≈ 12.2 around 300; 4 sd is ±49.
        assert!((up - 300_i32).abs() < 49 && up + down == 600, "{up} up");
        assert!(starts.iter().all(|&c| c > 0), "start levels {starts:?}");
    }

    #[test]
    fn designs_are_deterministic_in_the_seed_and_differ_between_seeds() {
        for m in Method::ALL {
            let once = unit_design(m, 32, 4, MORRIS_LEVELS, 77);
            let again = unit_design(m, 32, 4, MORRIS_LEVELS, 77);
            let other = unit_design(m, 32, 4, MORRIS_LEVELS, 78);
            let bits =
                |d: &[Vec<f64>]| -> Vec<u64> { d.iter().flatten().map(|u| u.to_bits()).collect() };
            assert_eq!(bits(&once), bits(&again), "{}", m.name());
            assert_ne!(bits(&once), bits(&other), "{}", m.name());
        }
    }

    #[test]
    fn sobol_seed_folds_both_halves() {
        assert_eq!(sobol_seed(0), 0);
        assert_ne!(sobol_seed(1 << 32), sobol_seed(0));
        assert_eq!(sobol_seed(0x0000_0001_0000_0001), 0);
    }
}

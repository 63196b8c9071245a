//! PRIM, the patient rule induction method (Friedman & Fisher 1999, "Bump hunting in
//! high-dimensional data"), for scenario discovery (Bryant & Lempert 2010, "Thinking inside the
//! box"): given the parameter values of each run and whether its outcome is of interest, the
//! box of parameter ranges where interesting runs are densest, as the EMA Workbench's `prim`
//! module finds it with its original objective (the density of the box).
//!
//! Boxes are closed intervals `[lower, upper]` in every dimension. Peeling starts from the whole
//! data and repeatedly removes the rows below the `peel_alpha` quantile or above the
//! `1 − peel_alpha` quantile of one dimension within the box, choosing the peel that leaves the
//! highest density, as long as the box keeps a mass of at least `min_mass`; it does not require the
//! density to rise. The box chosen is the densest peeled box with a coverage of at least
//! `min_coverage`; pasting then widens it one restricted side at a time while the density rises.
//! Each restriction of the chosen box gets the EMA Workbench's quasi-p-value.
//!
//! Pure and deterministic: no randomness, no I/O; densities are compared exactly (as fractions of
//! counts), and every tie is broken by the lowest dimension, its lower side before its upper.

use statrs::distribution::{Binomial, DiscreteCDF};

/// What PRIM peels, pastes and chooses; the defaults are the EMA Workbench's.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimOptions {
    /// Share of the box's rows a peel removes, in (0, 0.5): 0.05.
    pub peel_alpha: f64,
    /// Share of the box's rows a paste adds, in [0, 0.5); 0 turns pasting off: 0.05.
    pub paste_alpha: f64,
    /// Smallest share of all rows a peeled box keeps, in (0, 1]: 0.05.
    pub min_mass: f64,
    /// Smallest coverage of the box chosen, in [0, 1]: 0.8.
    pub min_coverage: f64,
}

impl Default for PrimOptions {
    fn default() -> PrimOptions {
        PrimOptions {
            peel_alpha: 0.05,
            paste_alpha: 0.05,
            min_mass: 0.05,
            min_coverage: 0.8,
        }
    }
}

/// Why PRIM cannot run on its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrimError {
    #[error("PRIM needs at least one row")]
    NoRows,
    #[error("PRIM needs at least one column of parameters")]
    NoColumns,
    #[error("{rows} rows of parameters but {outcomes} outcomes")]
    LengthMismatch { rows: usize, outcomes: usize },
    #[error("row {row} has {len} values where row 0 has {expected}")]
    RaggedRow {
        row: usize,
        len: usize,
        expected: usize,
    },
    #[error("row {row}, column {column} is {value}, not a finite number")]
    NonFinite {
        row: usize,
        column: usize,
        value: f64,
    },
    #[error("no row has the outcome of interest: there is no box to find")]
    NoPositives,
    #[error("{name} is {value}, must be in {range}")]
    BadOption {
        name: &'static str,
        value: f64,
        range: &'static str,
    },
}

/// One box of the trajectory and its statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Lower bound in each dimension: a data value, the smallest of the box's rows in a dimension
    /// peeled from below (and the data's minimum in one never peeled from below).
    pub lower: Vec<f64>,
    /// Upper bound in each dimension, likewise a data value.
    pub upper: Vec<f64>,
    /// Rows in the box.
    pub n: usize,
    /// Rows in the box with the outcome of interest.
    pub positives: usize,
    /// `positives` over all positive rows.
    pub coverage: f64,
    /// `positives / n`.
    pub density: f64,
    /// `n` over all rows.
    pub mass: f64,
}

/// A restricted dimension of the chosen box, with its significance.
#[derive(Debug, Clone, PartialEq)]
pub struct Restriction {
    pub dim: usize,
    pub lower: f64,
    pub upper: f64,
    /// Quasi-p-value (Bryant & Lempert 2010): with `n'`, `k'` the rows and positives of the box
    /// widened to the data's full range in this dimension only and `n`, `k` those of the box,
    /// `P(Binomial(n, k'/n') ≥ k)`, the chance of a density at least this high if the restriction
    /// did not matter. Takes no account of the search that found the box.
    pub p_value: f64,
}

/// What PRIM found.
#[derive(Debug, Clone, PartialEq)]
pub struct Prim {
    /// The peeling trajectory (`trajectory[0]` is the whole data), then the successive pastes of
    /// the chosen peeled box.
    pub trajectory: Vec<Step>,
    /// Steps of the peeling trajectory: `trajectory[..peeled]`.
    pub peeled: usize,
    /// The peeled step that was pasted: the densest with a coverage of at least `min_coverage`
    /// (the earliest of equal densities).
    pub pasted_from: usize,
    /// The step chosen: the last paste of `pasted_from`, or `pasted_from` when no paste raised
    /// the density. It is also the densest step of the whole trajectory with a coverage of at
    /// least `min_coverage` (pastes raise the density strictly and never lower the coverage).
    pub chosen: usize,
    /// The restricted dimensions of the chosen box (bounds not the data's minimum and maximum), in
    /// dimension order.
    pub restrictions: Vec<Restriction>,
    /// Rows of the data.
    pub rows: usize,
    /// Rows with the outcome of interest.
    pub positives: usize,
}

impl Prim {
    /// The step chosen.
    pub fn chosen_step(&self) -> &Step {
        &self.trajectory[self.chosen]
    }
}

/// Runs PRIM on rows `x` (one parameter vector per run) with outcomes `y` (whether each run's
/// outcome is of interest).
pub fn prim(x: &[Vec<f64>], y: &[bool], options: &PrimOptions) -> Result<Prim, PrimError> {
    check_options(options)?;
    let data = Data::new(x, y)?;
    let mut current = BoxRows::whole(&data);
    let mut trajectory = vec![data.step(&current)];
    while let Some(peel) = best_peel(&data, &current, options) {
        current = current.moved(&data, peel);
        trajectory.push(data.step(&current));
    }
    let peeled = trajectory.len();
    let pasted_from = densest_covering(&trajectory, options.min_coverage);
    let mut current = BoxRows::of(&data, &trajectory[pasted_from]);
    if options.paste_alpha > 0.0 {
        while let Some(paste) = best_paste(&data, &current, options.paste_alpha) {
            current = current.moved(&data, paste);
            trajectory.push(data.step(&current));
        }
    }
    let chosen = trajectory.len() - 1;
    let chosen = if chosen < peeled { pasted_from } else { chosen };
    let restrictions = restrictions(&data, &trajectory[chosen]);
    Ok(Prim {
        trajectory,
        peeled,
        pasted_from,
        chosen,
        restrictions,
        rows: data.rows(),
        positives: data.positives,
    })
}

/// Every option within its range, or the first that is not (named, with its range).
pub fn check_options(o: &PrimOptions) -> Result<(), PrimError> {
    let checks: [(&'static str, f64, bool, &'static str); 4] = [
        (
            "peel_alpha",
            o.peel_alpha,
            o.peel_alpha > 0.0 && o.peel_alpha < 0.5,
            "(0, 0.5)",
        ),
        (
            "paste_alpha",
            o.paste_alpha,
            (0.0..0.5).contains(&o.paste_alpha),
            "[0, 0.5)",
        ),
        (
            "min_mass",
            o.min_mass,
            o.min_mass > 0.0 && o.min_mass <= 1.0,
            "(0, 1]",
        ),
        (
            "min_coverage",
            o.min_coverage,
            (0.0..=1.0).contains(&o.min_coverage),
            "[0, 1]",
        ),
    ];
    match checks.into_iter().find(|c| !c.2) {
        Some((name, value, _, range)) => Err(PrimError::BadOption { name, value, range }),
        None => Ok(()),
    }
}

/// The input by column, checked.
struct Data<'a> {
    columns: Vec<Vec<f64>>,
    y: &'a [bool],
    positives: usize,
}

impl<'a> Data<'a> {
    fn new(x: &[Vec<f64>], y: &'a [bool]) -> Result<Data<'a>, PrimError> {
        let expected = x.first().ok_or(PrimError::NoRows)?.len();
        if expected == 0 {
            return Err(PrimError::NoColumns);
        }
        if x.len() != y.len() {
            return Err(PrimError::LengthMismatch {
                rows: x.len(),
                outcomes: y.len(),
            });
        }
        let mut columns = vec![Vec::with_capacity(x.len()); expected];
        for (row, values) in x.iter().enumerate() {
            if values.len() != expected {
                return Err(PrimError::RaggedRow {
                    row,
                    len: values.len(),
                    expected,
                });
            }
            for (column, &value) in values.iter().enumerate() {
                if !value.is_finite() {
                    return Err(PrimError::NonFinite { row, column, value });
                }
                // −0 becomes +0, so that sorting and comparing agree.
                columns[column].push(value + 0.0);
            }
        }
        let positives = y.iter().filter(|&&b| b).count();
        if positives == 0 {
            return Err(PrimError::NoPositives);
        }
        Ok(Data {
            columns,
            y,
            positives,
        })
    }

    fn rows(&self) -> usize {
        self.y.len()
    }

    fn dims(&self) -> usize {
        self.columns.len()
    }

    fn positives_of(&self, rows: &[usize]) -> usize {
        rows.iter().filter(|&&r| self.y[r]).count()
    }

    /// Rows inside `[lower, upper]` in every dimension but `skip`.
    fn rows_inside(&self, lower: &[f64], upper: &[f64], skip: Option<usize>) -> Vec<usize> {
        (0..self.rows())
            .filter(|&r| {
                (0..self.dims()).all(|j| {
                    let v = self.columns[j][r];
                    Some(j) == skip || (lower[j] <= v && v <= upper[j])
                })
            })
            .collect()
    }

    fn step(&self, b: &BoxRows) -> Step {
        let (n, positives) = (b.rows.len(), self.positives_of(&b.rows));
        Step {
            lower: b.lower.clone(),
            upper: b.upper.clone(),
            n,
            positives,
            coverage: positives as f64 / self.positives as f64,
            density: positives as f64 / n as f64,
            mass: n as f64 / self.rows() as f64,
        }
    }
}

/// A box and the rows inside it, in row order.
#[derive(Debug, Clone)]
struct BoxRows {
    lower: Vec<f64>,
    upper: Vec<f64>,
    rows: Vec<usize>,
}

impl BoxRows {
    fn whole(data: &Data) -> BoxRows {
        let range = |f: fn(f64, f64) -> f64, init: f64| -> Vec<f64> {
            data.columns
                .iter()
                .map(|c| c.iter().copied().fold(init, f))
                .collect()
        };
        BoxRows {
            lower: range(f64::min, f64::INFINITY),
            upper: range(f64::max, f64::NEG_INFINITY),
            rows: (0..data.rows()).collect(),
        }
    }

    fn of(data: &Data, step: &Step) -> BoxRows {
        BoxRows {
            rows: data.rows_inside(&step.lower, &step.upper, None),
            lower: step.lower.clone(),
            upper: step.upper.clone(),
        }
    }

    /// The box with one bound moved (a peel or a paste).
    fn moved(&self, data: &Data, m: Move) -> BoxRows {
        let mut next = self.clone();
        match m.cut.side {
            Side::Lower => next.lower[m.dim] = m.cut.bound,
            Side::Upper => next.upper[m.dim] = m.cut.bound,
        }
        next.rows = if m.cut.n < self.rows.len() {
            let column = &data.columns[m.dim];
            let (lo, hi) = (next.lower[m.dim], next.upper[m.dim]);
            self.rows
                .iter()
                .copied()
                .filter(|&r| lo <= column[r] && column[r] <= hi)
                .collect()
        } else {
            data.rows_inside(&next.lower, &next.upper, None)
        };
        debug_assert_eq!(next.rows.len(), m.cut.n);
        next
    }
}

/// Which bound of a dimension moves.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Side {
    Lower,
    Upper,
}

/// A candidate bound on one side and the rows and positives the box would then hold.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cut {
    side: Side,
    bound: f64,
    n: usize,
    positives: usize,
}

/// A cut in one dimension.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Move {
    dim: usize,
    cut: Cut,
}

/// Rows a peel removes from (or a paste adds to) a box of `m` rows: `⌊(m − 1)·alpha⌋ + 1`, at
/// least one, the rank of the EMA Workbench's `get_quantile` (sdtoolkit's quantile).
fn alpha_rows(m: usize, alpha: f64) -> usize {
    (m.saturating_sub(1) as f64 * alpha).floor() as usize + 1
}

/// Whether `(n, positives)` is strictly denser than `(n_other, positives_other)`, exactly.
fn denser(n: usize, positives: usize, n_other: usize, positives_other: usize) -> bool {
    positives as u128 * n_other as u128 > positives_other as u128 * n as u128
}

/// The two peels of one dimension of a box whose values and outcomes are `sorted` (ascending by
/// value): the lower removes the `alpha_rows` smallest values and every value tied with the
/// largest of them, the upper likewise from the top. A peel that would remove every row (all
/// values tied) is `None`. The new bound is the data value next to the removed ones.
fn peels(sorted: &[(f64, bool)], alpha: f64) -> [Option<Cut>; 2] {
    let m = sorted.len();
    if m == 0 {
        return [None, None];
    }
    let r = alpha_rows(m, alpha).min(m);
    let mut before = Vec::with_capacity(m + 1);
    before.push(0);
    for &(_, y) in sorted {
        before.push(before.last().copied().unwrap_or(0) + usize::from(y));
    }
    let total = before[m];
    let cut_low = sorted[r - 1].0;
    let first_kept = sorted.partition_point(|&(v, _)| v <= cut_low);
    let lower = (first_kept < m).then(|| Cut {
        side: Side::Lower,
        bound: sorted[first_kept].0,
        n: m - first_kept,
        positives: total - before[first_kept],
    });
    let cut_high = sorted[m - r].0;
    let kept = sorted.partition_point(|&(v, _)| v < cut_high);
    let upper = (kept > 0).then(|| Cut {
        side: Side::Upper,
        bound: sorted[kept - 1].0,
        n: kept,
        positives: before[kept],
    });
    [lower, upper]
}

/// The first of `moves` (in order) of highest density, if any.
fn densest(moves: impl Iterator<Item = Move>) -> Option<Move> {
    moves.fold(None, |best: Option<Move>, m| match best {
        Some(b) if !denser(m.cut.n, m.cut.positives, b.cut.n, b.cut.positives) => Some(b),
        _ => Some(m),
    })
}

/// The densest peel of box `b` that keeps a mass of at least `min_mass`, if any.
fn best_peel(data: &Data, b: &BoxRows, options: &PrimOptions) -> Option<Move> {
    let rows = data.rows() as f64;
    let candidates = (0..data.dims()).flat_map(|dim| {
        let column = &data.columns[dim];
        let mut sorted: Vec<(f64, bool)> = b.rows.iter().map(|&r| (column[r], data.y[r])).collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        peels(&sorted, options.peel_alpha)
            .into_iter()
            .flatten()
            .map(move |cut| Move { dim, cut })
    });
    densest(candidates.filter(|m| m.cut.n as f64 / rows >= options.min_mass))
}

/// The paste of one side of one dimension of a box with `n` rows and `positives` positives:
/// `strip` holds the values and outcomes of the rows outside the box only in this dimension, on
/// this side, ordered from the box outwards. The paste adds the `alpha_rows(n)` nearest (all of
/// them if fewer) and every row tied with the farthest of them; the new bound is that value.
fn paste(strip: &[(f64, bool)], side: Side, n: usize, positives: usize, alpha: f64) -> Option<Cut> {
    let r = alpha_rows(n, alpha).min(strip.len());
    let bound = strip.get(r.checked_sub(1)?)?.0;
    let added = match side {
        Side::Lower => strip.partition_point(|&(v, _)| v >= bound),
        Side::Upper => strip.partition_point(|&(v, _)| v <= bound),
    };
    let added_positives = strip[..added].iter().filter(|&&(_, y)| y).count();
    Some(Cut {
        side,
        bound,
        n: n + added,
        positives: positives + added_positives,
    })
}

/// The densest paste of box `b` (both sides of every dimension, in order), if it is denser than
/// the box.
fn best_paste(data: &Data, b: &BoxRows, alpha: f64) -> Option<Move> {
    let (n, positives) = (b.rows.len(), data.positives_of(&b.rows));
    let candidates = (0..data.dims()).flat_map(|dim| {
        let column = &data.columns[dim];
        let outside: Vec<(f64, bool)> = data
            .rows_inside(&b.lower, &b.upper, Some(dim))
            .into_iter()
            .map(|r| (column[r], data.y[r]))
            .collect();
        let mut below: Vec<(f64, bool)> = outside
            .iter()
            .copied()
            .filter(|p| p.0 < b.lower[dim])
            .collect();
        let mut above: Vec<(f64, bool)> =
            outside.into_iter().filter(|p| p.0 > b.upper[dim]).collect();
        below.sort_by(|a, b| b.0.total_cmp(&a.0));
        above.sort_by(|a, b| a.0.total_cmp(&b.0));
        [
            paste(&below, Side::Lower, n, positives, alpha),
            paste(&above, Side::Upper, n, positives, alpha),
        ]
        .into_iter()
        .flatten()
        .map(move |cut| Move { dim, cut })
    });
    densest(candidates).filter(|m| denser(m.cut.n, m.cut.positives, n, positives))
}

/// The densest step with a coverage of at least `min_coverage`, the earliest of equal densities;
/// the first step (coverage 1) when no other qualifies.
fn densest_covering(trajectory: &[Step], min_coverage: f64) -> usize {
    let mut best = 0;
    for (i, s) in trajectory.iter().enumerate().skip(1) {
        let b = &trajectory[best];
        if s.coverage >= min_coverage && denser(s.n, s.positives, b.n, b.positives) {
            best = i;
        }
    }
    best
}

/// `P(Binomial(n, k_wide/n_wide) ≥ k)`: the quasi-p-value of a box of `n` rows and `k` positives
/// against the box widened in one dimension, of `n_wide` rows and `k_wide` positives.
fn quasi_p(n: usize, k: usize, n_wide: usize, k_wide: usize) -> f64 {
    if k == 0 {
        return 1.0;
    }
    let p = k_wide as f64 / n_wide as f64;
    match Binomial::new(p, n as u64) {
        Ok(b) => b.sf(k as u64 - 1),
        // Unreachable: 0 ≤ p ≤ 1 since k_wide ≤ n_wide, and n_wide ≥ n ≥ k > 0.
        Err(_) => f64::NAN,
    }
}

/// The restricted dimensions of `step` and their quasi-p-values.
fn restrictions(data: &Data, step: &Step) -> Vec<Restriction> {
    let whole = BoxRows::whole(data);
    let inside = data.rows_inside(&step.lower, &step.upper, None);
    (0..data.dims())
        .filter(|&j| step.lower[j] > whole.lower[j] || step.upper[j] < whole.upper[j])
        .map(|dim| {
            let wide = data.rows_inside(&step.lower, &step.upper, Some(dim));
            Restriction {
                dim,
                lower: step.lower[dim],
                upper: step.upper[dim],
                p_value: quasi_p(
                    inside.len(),
                    data.positives_of(&inside),
                    wide.len(),
                    data.positives_of(&wide),
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(values: &[f64], ys: &[bool]) -> Vec<(f64, bool)> {
        values.iter().copied().zip(ys.iter().copied()).collect()
    }

    #[test]
    fn alpha_rows_follows_the_quantile_rank() {
        assert_eq!(alpha_rows(5000, 0.05), 250);
        assert_eq!(alpha_rows(20, 0.05), 1);
        assert_eq!(alpha_rows(21, 0.05), 2);
        assert_eq!(alpha_rows(1, 0.05), 1);
    }

    #[test]
    fn a_peel_removes_every_tied_row_at_its_boundary() {
        // 20 rows: alpha 0.1 removes ⌊19·0.1⌋ + 1 = 2 rows, and the ties of the second.
        let values = [
            1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0,
            15.0, 16.0, 17.0, 17.0,
        ];
        let mut ys = [false; 20];
        ys[0] = true; // removed by the lower peel
        ys[4] = true; // kept by both
        ys[18] = true; // removed by the upper peel
        let [lower, upper] = peels(&pairs(&values, &ys), 0.1);
        assert_eq!(
            lower,
            Some(Cut {
                side: Side::Lower,
                bound: 3.0,
                n: 16,
                positives: 2,
            })
        );
        assert_eq!(
            upper,
            Some(Cut {
                side: Side::Upper,
                bound: 16.0,
                n: 18,
                positives: 2,
            })
        );
    }

    #[test]
    fn a_peel_never_removes_every_row() {
        let tied = pairs(&[4.0; 6], &[true, false, true, false, true, false]);
        assert_eq!(peels(&tied, 0.05), [None, None]);
        // Two values, 0 and 1: each peel removes one value's rows, whatever alpha.
        let binary = pairs(&[0.0, 0.0, 0.0, 1.0], &[false, false, true, true]);
        let [lower, upper] = peels(&binary, 0.05);
        assert_eq!(
            lower.map(|c| (c.bound, c.n, c.positives)),
            Some((1.0, 1, 1))
        );
        assert_eq!(
            upper.map(|c| (c.bound, c.n, c.positives)),
            Some((0.0, 3, 1))
        );
    }

    #[test]
    fn a_paste_adds_the_nearest_rows_and_their_ties() {
        // A box of 30 rows, 10 positive: alpha 0.05 pastes ⌊29·0.05⌋ + 1 = 2 rows.
        let below = pairs(&[0.9, 0.8, 0.8, 0.5], &[true, true, false, true]);
        let cut = paste(&below, Side::Lower, 30, 10, 0.05);
        assert_eq!(
            cut,
            Some(Cut {
                side: Side::Lower,
                bound: 0.8,
                n: 33,
                positives: 12,
            })
        );
        let above = pairs(&[1.5], &[false]);
        let cut = paste(&above, Side::Upper, 30, 10, 0.05);
        assert_eq!(
            cut.map(|c| (c.bound, c.n, c.positives)),
            Some((1.5, 31, 10))
        );
        assert_eq!(paste(&[], Side::Upper, 30, 10, 0.05), None);
    }

    #[test]
    fn pasting_widens_a_box_while_the_density_rises() {
        // One dimension, 0..40: positives at 10..=29 and at 9 and 8 (the ones peeling missed).
        let x: Vec<Vec<f64>> = (0..40).map(|i| vec![f64::from(i)]).collect();
        let y: Vec<bool> = (0..40).map(|i| (8..30).contains(&i)).collect();
        let data = Data::new(&x, &y).unwrap();
        let step = Step {
            lower: vec![10.0],
            upper: vec![29.0],
            n: 20,
            positives: 20,
            coverage: 20.0 / 22.0,
            density: 1.0,
            mass: 0.5,
        };
        let b = BoxRows::of(&data, &step);
        // Adding row 9 (all positive) keeps density 1, not higher: no paste.
        assert_eq!(best_paste(&data, &b, 0.05), None);
        let step = Step {
            lower: vec![12.0],
            upper: vec![35.0],
            ..step
        };
        let b = BoxRows::of(&data, &step);
        // 24 rows, 18 positive; pasting the 2 rows below (11 and 10, positive) raises the density.
        let m = best_paste(&data, &b, 0.05).unwrap();
        assert_eq!(
            (m.dim, m.cut.side, m.cut.bound, m.cut.n, m.cut.positives),
            (0, Side::Lower, 10.0, 26, 20)
        );
    }

    #[test]
    fn quasi_p_of_a_hand_computed_case() {
        // A box of 4 rows, all positive, inside a widened box of density 1/2: 1/16.
        assert!((quasi_p(4, 4, 8, 4) - 0.0625).abs() < 1e-12);
        // 3 or more of 4 at p = 1/2: (4 + 1)/16.
        assert!((quasi_p(4, 3, 10, 5) - 5.0 / 16.0).abs() < 1e-12);
        // No positives: certain. A widened box as dense as the box: P(X ≥ n·p) > 1/2.
        assert_eq!(quasi_p(4, 0, 8, 4), 1.0);
        assert!(quasi_p(10, 5, 20, 10) > 0.5);
    }

    #[test]
    fn ties_between_peels_go_to_the_first_dimension_and_the_lower_side() {
        // Two identical columns: every peel of the second ties with the same peel of the first.
        let x: Vec<Vec<f64>> = (0..40).map(|i| vec![f64::from(i), f64::from(i)]).collect();
        let y: Vec<bool> = (0..40).map(|i| i % 3 == 0).collect();
        let data = Data::new(&x, &y).unwrap();
        let b = BoxRows::whole(&data);
        let m = best_peel(&data, &b, &PrimOptions::default()).unwrap();
        assert_eq!(m.dim, 0);
        // Removing rows 0 and 1 or 38 and 39 (one positive either way) leaves the same density:
        // the lower side wins.
        assert_eq!(m.cut.side, Side::Lower);
    }

    #[test]
    fn the_chosen_step_is_the_densest_that_covers_enough() {
        let step = |n: usize, positives: usize| Step {
            lower: vec![],
            upper: vec![],
            n,
            positives,
            coverage: positives as f64 / 10.0,
            density: positives as f64 / n as f64,
            mass: n as f64 / 100.0,
        };
        let trajectory = [
            step(100, 10),
            step(50, 9),
            step(30, 9),
            step(20, 6),
            step(10, 5),
        ];
        assert_eq!(densest_covering(&trajectory, 0.8), 2);
        assert_eq!(densest_covering(&trajectory, 0.95), 0);
        // Equal densities: the earliest, the larger box.
        let flat = [step(100, 10), step(40, 8), step(20, 4)];
        assert_eq!(densest_covering(&flat, 0.0), 1);
    }

    #[test]
    fn options_out_of_range_are_named() {
        let x = vec![vec![0.0], vec![1.0]];
        let y = vec![true, false];
        let bad = PrimOptions {
            paste_alpha: 0.5,
            ..PrimOptions::default()
        };
        let err = prim(&x, &y, &bad).unwrap_err();
        assert_eq!(err.to_string(), "paste_alpha is 0.5, must be in [0, 0.5)");
        let bad = PrimOptions {
            peel_alpha: 0.0,
            ..PrimOptions::default()
        };
        assert!(matches!(
            prim(&x, &y, &bad),
            Err(PrimError::BadOption {
                name: "peel_alpha",
                ..
            })
        ));
    }

    #[test]
    fn bad_data_is_refused() {
        let o = PrimOptions::default();
        assert_eq!(prim(&[], &[], &o), Err(PrimError::NoRows));
        assert_eq!(prim(&[vec![]], &[true], &o), Err(PrimError::NoColumns));
        assert_eq!(
            prim(&[vec![0.0]], &[true, false], &o),
            Err(PrimError::LengthMismatch {
                rows: 1,
                outcomes: 2
            })
        );
        let nan = prim(&[vec![0.0], vec![f64::NAN]], &[true, false], &o).unwrap_err();
        assert_eq!(
            nan.to_string(),
            "row 1, column 0 is NaN, not a finite number"
        );
    }
}

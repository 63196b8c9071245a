//! The equilibrium start: chain constants solved so that, under day-0 conditions and no
//! shock, the scenario's initial TVL is the agents' own stationary allocation, and each agent's
//! first chain drawn from its own stationary distribution.
//!
//! Day-0 conditions are every chain at its initial TVL, pools full, series at their day-0 value
//! and the fee shocks at their long-run mean. An agent reviewing on chain `a` moves to `c` with
//! probability `P_ac` (the logit, or nested
//! logit, of its utilities with inertia on `a` and migration costs to every other chain, the
//! network term at the day-0 shares, its tastes). Its long-run distribution over chains `π` is
//! the stationary distribution of `P` (time in transit does not change the shares among chains:
//! every stay lasts one review interval on average, wherever it is). The constants `δ` enter every
//! utility; they are found by Newton's method on `ln s(δ) = ln s*` over the chains present at
//! day 0, one chain (the L1) held at its own constant, with a finite-difference Jacobian: the
//! inversion of market shares of Berry (1994) and Berry, Levinsohn and Pakes (1995), applied to
//! the capital-weighted stationary shares of a population drawn from the scenario.

use std::cell::RefCell;

use rand::RngExt;

use super::agents::{draw_capital, draw_tastes};
use super::{Keep, Layout, World};
use crate::engine::streams::{Purpose, run_seed, stream};
use crate::model::{self, ChainView, MarketView};
use crate::scenario::{CapitalDist, Scenario};

/// Agents per segment in the population the constants are solved on (all when fewer).
pub const POPULATION_PER_SEGMENT: u32 = 3000;
/// The run index whose seed draws that population (no run of a batch has it).
const POPULATION_RUN: u64 = u64::MAX;

/// The market under day-0 conditions: every chain at its initial TVL, pools full, no shock.
pub(super) struct Day0<'a> {
    sc: &'a Scenario,
    views: Vec<ChainView>,
    ln_total_tvl: f64,
    ln_share_floor: f64,
    fee_cost: Vec<f64>,
    elastic: bool,
    /// Capital of an agent per unit of drawn capital (and its wallets, with cohorts).
    scale: f64,
    /// The chains each segment may hold at day 0.
    states: Vec<Vec<usize>>,
    /// Scratch space and the stationary distribution of [`Day0::first_chain`], reused from agent
    /// to agent.
    work: RefCell<(Scratch, Vec<f64>)>,
}

/// The mean of a capital distribution (the median when a Pareto tail has no mean).
fn mean_capital(d: CapitalDist) -> f64 {
    match d {
        CapitalDist::Lognormal { median_usd, sigma } => median_usd * (0.5 * sigma * sigma).exp(),
        CapitalDist::Pareto { min_usd, alpha } if alpha > 1.0 => alpha * min_usd / (alpha - 1.0),
        CapitalDist::Pareto { min_usd, alpha } => min_usd * 2f64.powf(1.0 / alpha),
    }
}

impl<'a> Day0<'a> {
    pub(super) fn new(sc: &'a Scenario, layout: &Layout) -> Day0<'a> {
        let mut w = World::bare(
            sc,
            layout,
            0,
            Keep::Final,
            stream(0, Purpose::Agents),
            Vec::new(),
            0,
        );
        for (c, ch) in w.chains.iter_mut().enumerate() {
            if ch.launched {
                ch.units = sc.chains[c].initial_tvl_usd;
            }
            // The fee shock at its long-run mean, E[exp X] = exp(σ² / 4θ) of the stationary OU
            // law: the fee level agents meet on average, not the calm of day 0.
            let (sigma, theta) = (ch.params.gas_volatility, ch.params.gas_reversion_per_day);
            if sigma > 0.0 && theta > 0.0 && !ch.params.kind.is_rollup() {
                ch.gas_x = sigma * sigma / (4.0 * theta);
            }
        }
        w.apply_series();
        w.refresh_fees();
        w.refresh_views();
        let tvl: f64 = sc.chains.iter().map(|c| c.initial_tvl_usd).sum();
        let drawn: f64 = sc
            .segments
            .iter()
            .map(|s| s.agents as f64 * mean_capital(s.capital))
            .sum();
        let states = (0..sc.segments.len())
            .map(|s| {
                let allowed = sc.segments[s].allowed;
                (0..w.views.len())
                    .filter(|&c| w.views[c].launched && allowed & (1 << c) != 0)
                    .collect()
            })
            .collect();
        Day0 {
            sc,
            states,
            work: RefCell::new((Scratch::default(), vec![0.0; sc.chains.len()])),
            views: w.views,
            ln_total_tvl: w.ln_total_tvl,
            ln_share_floor: w.ln_share_floor,
            fee_cost: w.fee_cost,
            elastic: w.elastic,
            scale: if drawn > 0.0 { tvl / drawn } else { 1.0 },
        }
    }

    /// The stationary distribution over `states` of an agent of segment `s` with drawn capital
    /// `draw` and `tastes`, into `pi`; `scratch` holds `P` and the elimination.
    fn stationary(
        &self,
        s: usize,
        draw: f64,
        tastes: &[f32],
        states: &[usize],
        scratch: &mut Scratch,
        pi: &mut [f64],
    ) {
        let seg = &self.sc.segments[s];
        let (n, m) = (self.views.len(), states.len());
        let k = draw * self.scale;
        let wallets = if self.sc.cohorts { self.scale } else { 1.0 };
        let mut allowed = 0u64;
        for &c in states {
            allowed |= 1 << c;
        }
        let market = MarketView {
            chains: &self.views,
            ln_total_tvl: self.ln_total_tvl,
            ln_share_floor: self.ln_share_floor,
        };
        let fee_cost =
            (self.elastic && seg.fee_elasticity > 0.0).then(|| &self.fee_cost[s * n..(s + 1) * n]);
        scratch.p.clear();
        scratch.p.resize(m * m, 0.0);
        scratch.u.resize(n, 0.0);
        scratch.prob.resize(n, 0.0);
        if scratch.nest.len() != n {
            scratch.nest = self.sc.chains.iter().map(|c| c.kind as u8).collect();
        }
        for (ai, &a) in states.iter().enumerate() {
            model::utilities(
                seg,
                k,
                wallets,
                a,
                allowed,
                tastes,
                &market,
                fee_cost,
                seg.inertia_apy + seg.habit_apy,
                &mut scratch.u,
            );
            let nests = self
                .sc
                .nests
                .as_ref()
                .map(|mu| (scratch.nest.as_slice(), mu));
            model::choice_probabilities(seg.logit_scale, &scratch.u, nests, &mut scratch.prob);
            for (ci, &c) in states.iter().enumerate() {
                scratch.p[ai * m + ci] = scratch.prob[c];
            }
        }
        if model::stationary(&scratch.p, m, &mut scratch.a, pi).is_none() {
            // Cannot happen with positive probabilities; stay where the TVL is, proportionally.
            pi[..m].fill(1.0 / m as f64);
        }
    }

    /// An agent's first chain: drawn with uniform `u` from its stationary distribution.
    pub(super) fn first_chain(&self, s: usize, draw: f64, tastes: &[f32], u: f64) -> usize {
        let states = &self.states[s];
        let mut work = self.work.borrow_mut();
        let (scratch, pi) = &mut *work;
        self.stationary(s, draw, tastes, states, scratch, pi);
        let mut target = u;
        for (i, &c) in states.iter().enumerate() {
            if target < pi[i] {
                return c;
            }
            target -= pi[i];
        }
        states.last().copied().unwrap_or(self.sc.l1)
    }
}

#[derive(Default)]
struct Scratch {
    p: Vec<f64>,
    a: Vec<f64>,
    u: Vec<f64>,
    prob: Vec<f64>,
    nest: Vec<u8>,
}

/// The solved constants of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// One per chain, fraction per year: solved for the chains with TVL at day 0, the scenario's
    /// own (or its kind's TVL-weighted mean) for the others.
    pub constants: Vec<f64>,
    pub iterations: u32,
    /// Largest |ln(model share / day-0 share)| at the solution.
    pub residual: f64,
    /// Agents the shares were computed on.
    pub population: usize,
}

/// The constants could not be solved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct EquilibriumError(pub String);

/// One agent of the population: segment, weight (agents it stands for), drawn capital, tastes.
struct Member {
    segment: usize,
    weight: f64,
    draw: f64,
    tastes: Vec<f32>,
}

/// Solves the chain constants of `sc` on a population drawn from master seed `seed`.
pub fn solve(sc: &Scenario, seed: u64) -> Result<Solution, EquilibriumError> {
    let layout = Layout::new(sc);
    let n = sc.chains.len();
    let mut rng = stream(run_seed(seed, POPULATION_RUN), Purpose::Agents);
    let mut members = Vec::new();
    for (s, seg) in sc.segments.iter().enumerate() {
        let count = seg.agents.min(POPULATION_PER_SEGMENT);
        for _ in 0..count {
            let draw = draw_capital(seg.capital, &mut rng);
            let _: f64 = rng.random();
            let mut tastes = Vec::with_capacity(n);
            draw_tastes(seg.taste_sd, n, &mut rng, &mut tastes);
            members.push(Member {
                segment: s,
                weight: seg.agents as f64 / count as f64,
                draw,
                tastes,
            });
        }
    }
    let mut day0 = Day0::new(sc, &layout);
    let total: f64 = sc.chains.iter().map(|c| c.initial_tvl_usd).sum();
    let targets: Vec<usize> = (0..n)
        .filter(|&c| day0.views[c].launched && sc.chains[c].initial_tvl_usd > 0.0)
        .collect();
    let reference = if targets.contains(&sc.l1) {
        sc.l1
    } else {
        targets[0]
    };
    let free: Vec<usize> = targets
        .iter()
        .copied()
        .filter(|&c| c != reference)
        .collect();
    let ln_target: Vec<f64> = (0..n)
        .map(|c| (sc.chains[c].initial_tvl_usd / total).ln())
        .collect();
    for &c in &free {
        if !sc.segments.iter().any(|s| s.allowed & (1 << c) != 0) {
            return Err(EquilibriumError(format!(
                "chains[{c}] ({}) holds TVL at day 0 but no segment may hold capital there",
                sc.chains[c].id
            )));
        }
    }
    let states = day0.states.clone();
    // Capital that can sit on one chain only stays there whatever the constants: the day-0 TVL
    // must leave room for it.
    let all_capital: f64 = members.iter().map(|m| m.weight * m.draw).sum();
    for &c in &targets {
        let bound: f64 = members
            .iter()
            .filter(|m| states[m.segment] == [c])
            .map(|m| m.weight * m.draw)
            .sum::<f64>()
            / all_capital;
        let target = sc.chains[c].initial_tvl_usd / total;
        if bound > target * (1.0 + 1e-9) {
            return Err(EquilibriumError(format!(
                "no constants can put the day-0 TVL at rest: {:.1} % of the segments' capital (by their capital distributions and agent counts) may only be held on {} ({}), more than its {:.1} % of the day-0 TVL; let those segments use other chains, or give them less capital",
                100.0 * bound,
                sc.chains[c].id,
                sc.segments
                    .iter()
                    .enumerate()
                    .filter(|(s, _)| states[*s] == [c])
                    .map(|(_, seg)| seg.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                100.0 * target
            )));
        }
    }
    let mut scratch = Scratch::default();
    let mut pi = vec![0.0; n];
    // ln of the capital-weighted stationary shares of the free chains at constants `delta`.
    let mut ln_shares = |day0: &mut Day0, delta: &[f64]| -> Vec<f64> {
        for (v, &d) in day0.views.iter_mut().zip(delta) {
            v.constant_apy = d;
        }
        let mut held = vec![0.0; n];
        for m in &members {
            let st = &states[m.segment];
            day0.stationary(m.segment, m.draw, &m.tastes, st, &mut scratch, &mut pi);
            let w = m.weight * m.draw;
            for (i, &c) in st.iter().enumerate() {
                held[c] += w * pi[i];
            }
        }
        let all: f64 = held.iter().sum();
        free.iter()
            .map(|&c| (held[c] / all).max(1e-300).ln())
            .collect()
    };
    let mut delta: Vec<f64> = sc.chains.iter().map(|c| c.constant_apy).collect();
    let residual = |ln: &[f64]| -> Vec<f64> {
        free.iter()
            .zip(ln)
            .map(|(&c, l)| ln_target[c] - l)
            .collect()
    };
    let norm = |r: &[f64]| r.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let mut ln = ln_shares(&mut day0, &delta);
    let mut r = residual(&ln);
    let mut iterations = 0;
    let f = free.len();
    while norm(&r) > sc.equilibrium.tolerance && iterations < sc.equilibrium.max_iterations {
        iterations += 1;
        // Jacobian of ln shares in the constants, by forward differences.
        let h = 1e-7;
        let mut jac = vec![0.0; f * f];
        for (j, &cj) in free.iter().enumerate() {
            let mut d = delta.clone();
            d[cj] += h;
            let lj = ln_shares(&mut day0, &d);
            for i in 0..f {
                jac[i * f + j] = (lj[i] - ln[i]) / h;
            }
        }
        let Some(step) = model::solve_linear(&mut jac, &mut r.clone(), f) else {
            return Err(EquilibriumError(format!(
                "the shares do not respond to the chain constants (singular Jacobian) after {iterations} iterations"
            )));
        };
        // Damped Newton: at most 0.05 a year per chain and step, halved until the residual falls.
        let before = norm(&r);
        let longest = step.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let mut t = if longest > 0.05 { 0.05 / longest } else { 1.0 };
        loop {
            let mut d = delta.clone();
            for (j, &cj) in free.iter().enumerate() {
                d[cj] += t * step[j];
            }
            let l = ln_shares(&mut day0, &d);
            let rr = residual(&l);
            if norm(&rr) < before || t < 1e-4 {
                delta = d;
                ln = l;
                r = rr;
                break;
            }
            t *= 0.5;
        }
    }
    let worst = norm(&r);
    if worst > sc.equilibrium.tolerance {
        let detail: Vec<String> = free
            .iter()
            .zip(&r)
            .map(|(&c, x)| format!("{} {:+.3e}", sc.chains[c].id, x))
            .collect();
        return Err(EquilibriumError(format!(
            "the chain constants did not converge in {iterations} iterations: |ln(model share / day-0 share)| is {worst:.3e} > tolerance {:e} ({}); raise equilibrium.max_iterations or equilibrium.tolerance, or check that every chain with TVL can be reached",
            sc.equilibrium.tolerance,
            detail.join(", ")
        )));
    }
    // Chains without TVL at day 0: their own constant, or their kind's TVL-weighted mean.
    for c in 0..n {
        if targets.contains(&c) || sc.raw.chains[c].constant_apy.is_some() {
            continue;
        }
        let kind = sc.chains[c].kind;
        let (mut sum, mut weight) = (0.0, 0.0);
        for &t in &targets {
            if sc.chains[t].kind == kind {
                sum += delta[t] * sc.chains[t].initial_tvl_usd;
                weight += sc.chains[t].initial_tvl_usd;
            }
        }
        if weight > 0.0 {
            delta[c] = sum / weight;
        }
    }
    Ok(Solution {
        constants: delta,
        iterations,
        residual: worst,
        population: members.len(),
    })
}

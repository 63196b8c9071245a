//! Agent creation: capital draws, the first chain, and the persistent per-chain tastes, all from
//! the agents stream, so that scenarios differing only in chain parameters draw the same agents.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::engine::streams::{Purpose, stream};
use crate::scenario::{CapitalDist, Scenario};

/// An agent as created at the start of a run, before capitals are rescaled to the chains' TVL.
#[derive(Debug, Clone, PartialEq)]
pub struct InitialAgent {
    pub segment: usize,
    pub capital_draw_usd: f64,
    pub chain: usize,
    pub tastes: Vec<f32>,
}

/// Draws one capital from a distribution.
pub(super) fn draw_capital(dist: CapitalDist, rng: &mut ChaCha8Rng) -> f64 {
    match dist {
        CapitalDist::Lognormal { median_usd, sigma } => {
            let z: f64 = rng.sample(StandardNormal);
            median_usd * (sigma * z).exp()
        }
        CapitalDist::Pareto { min_usd, alpha } => {
            let u: f64 = rng.random();
            min_usd * (1.0 - u).powf(-1.0 / alpha)
        }
    }
}

/// Draws the per-chain tastes of one agent.
pub(super) fn draw_tastes(sd: f64, n: usize, rng: &mut ChaCha8Rng, out: &mut Vec<f32>) {
    for _ in 0..n {
        let z: f64 = rng.sample(StandardNormal);
        out.push((sd * z) as f32);
    }
}

/// The initial population of a run, drawn from the agents stream (exposed for the CRN tests).
pub fn initial_agents(sc: &Scenario, run_seed: u64) -> Vec<InitialAgent> {
    let mut rng = stream(run_seed, Purpose::Agents);
    let mut out = Vec::new();
    let mut tastes = Vec::new();
    create_agents(
        sc,
        &mut rng,
        &mut tastes,
        None,
        &mut |segment, capital_draw_usd, chain, tastes| {
            out.push(InitialAgent {
                segment,
                capital_draw_usd,
                chain,
                tastes: tastes.to_vec(),
            });
        },
    );
    out
}

/// Receives each drawn agent: segment, drawn capital (USD), first chain, tastes.
pub(super) type AgentSink<'a> = dyn FnMut(usize, f64, usize, &[f32]) + 'a;

/// Picks an agent's first chain from its segment, drawn capital, tastes and a uniform number
/// (the equilibrium start: from the agent's own stationary distribution).
pub(super) type FirstChain<'a> = dyn Fn(usize, f64, &[f32], f64) -> usize + 'a;

/// Draws every initial agent in order (capital, first chain, tastes), appending its tastes to
/// `tastes` and telling `each` about it with a view of them. Nothing per agent is allocated.
pub(super) fn create_agents(
    sc: &Scenario,
    rng: &mut ChaCha8Rng,
    tastes: &mut Vec<f32>,
    first_chain: Option<&FirstChain>,
    each: &mut AgentSink,
) {
    let n_chains = sc.chains.len();
    for (s, seg) in sc.segments.iter().enumerate() {
        let weights: Vec<f64> = sc
            .chains
            .iter()
            .enumerate()
            .map(|(c, ch)| {
                let ok = seg.allowed & (1 << c) != 0 && ch.launch_day <= 0.0;
                if ok { ch.initial_tvl_usd } else { 0.0 }
            })
            .collect();
        let total: f64 = weights.iter().sum();
        for _ in 0..seg.agents {
            let capital_draw_usd = draw_capital(seg.capital, rng);
            let u: f64 = rng.random();
            let start = tastes.len();
            draw_tastes(seg.taste_sd, n_chains, rng, tastes);
            let chain = match first_chain {
                Some(f) => f(s, capital_draw_usd, &tastes[start..], u),
                None => {
                    let mut target = u * total;
                    let mut chain = sc.l1;
                    for (c, &w) in weights.iter().enumerate() {
                        if w > 0.0 {
                            chain = c;
                            if target < w {
                                break;
                            }
                            target -= w;
                        }
                    }
                    chain
                }
            };
            each(s, capital_draw_usd, chain, &tastes[start..]);
        }
    }
}

//! The state of one run and the handling of every queue event: reviews, migrations, arrivals,
//! daily ticks, scheduled and stochastic events, samples.
//!
//! Capital is held as scaled balances: an agent on chain `c` holds `units · index_c · price` USD,
//! so yield accrual and hack losses are O(1) per chain. The ledger books every flow in USD so
//! that conservation can be checked against the agents themselves at every sample. Scheduled
//! and stochastic events live in `events`, samples and the conservation check in `sample`.

mod agents;
mod equilibrium;
mod events;
mod sample;

use agents::{FirstChain, create_agents, draw_capital, draw_tastes};
pub use agents::{InitialAgent, initial_agents};
use equilibrium::Day0;
pub use equilibrium::{EquilibriumError, Solution, solve};

use std::sync::atomic::{AtomicBool, Ordering};

use rand::{Rng, RngExt};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp1};

use super::observe::Layout;
use super::queue::{EventQueue, Priority};
use super::streams::{Purpose, stream, unit_f64};
use super::{AliasTable, Keep};
use crate::model::{self, ChainView, Exit};
use crate::scenario::{Chain, LossDist, Scenario, Segment};

/// Marks an agent whose capital is in transit.
const IN_TRANSIT: u16 = u16::MAX;

/// Agents beyond which the next arrival's agent record is prefetched: 65,536 records of 24 bytes
/// are 1.5 MB, most of a core's 2 MB L2 cache on the machine measured (docs/PERFORMANCE.md).
/// Below it the records stay in cache and there is nothing for the prefetch to hide (not
/// measured there). It never changes a result.
const PREFETCH_ARRIVALS_FROM: usize = 65_536;
// The record size the threshold above counts on, and the offsets the conservation check's vector
// loop reads (`sample::held_usd`).
const _: () = assert!(std::mem::size_of::<Agent>() == 24);
const _: () = assert!(std::mem::offset_of!(Agent, units) == 0);
const _: () = assert!(std::mem::offset_of!(Agent, chain) == 8);

#[derive(Debug, Clone, Copy)]
enum Ev {
    Tick,
    Sample(u32),
    Arrival { agent: u32, dest: u16, units: f64 },
    Refill { chain: u16, usd: f64 },
    Scheduled(u32),
    IncentiveEnd { chain: u16, usd_per_day: f64 },
    AirdropPaid(u32),
    Inflow { event: u32, slot: u32 },
    Launch(u16),
    RandomHack { chain: u16, generation: u32 },
}

/// The state of one agent that a review reads, packed in one record (one cache line's load with
/// a million agents, where parallel arrays cost one miss each). In C layout: the conservation
/// check's vector loop reads `units` and `chain` at their offsets (asserted below).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Agent {
    /// Scaled balance: the agent holds `units · index · price` USD on `chain`.
    units: f64,
    /// Chain index, or [`IN_TRANSIT`].
    chain: u16,
    segment: u16,
    /// Wallets the agent stands for (its creation scale factor with cohorts, else 1).
    wallets: f32,
    /// Day the agent's capital landed on its chain (for the habit; far in the past at day 0).
    since: f32,
}

/// The agents of one segment: ids `first..first + contiguous` (agents are created segment by
/// segment), then those added out of order (inflows), in the order they joined.
#[derive(Debug, Clone, Default)]
struct Members {
    first: u32,
    contiguous: u32,
    extra: Vec<u32>,
}

impl Members {
    fn len(&self) -> usize {
        self.contiguous as usize + self.extra.len()
    }

    /// The `j`-th member.
    fn get(&self, j: usize) -> u32 {
        if j < self.contiguous as usize {
            self.first + j as u32
        } else {
            self.extra[j - self.contiguous as usize]
        }
    }

    fn push(&mut self, id: u32) {
        if self.extra.is_empty() && (self.contiguous == 0 || id == self.first + self.contiguous) {
            if self.contiguous == 0 {
                self.first = id;
            }
            self.contiguous += 1;
        } else {
            self.extra.push(id);
        }
    }
}

/// One review's draws from the reviews' stream, taken ahead of time: the exponential of its
/// time (in units of the mean interval), its three words (`World::review_draws`), and the agent
/// they pick while the alias table and the members are as when they were drawn ([`NO_AGENT`]
/// once they change). Plain fields, read in place: moving an `Option` of it stalled on store
/// forwarding.
#[derive(Debug, Clone, Copy)]
struct DrawnReview {
    e: f64,
    words: [u64; 3],
    agent: u32,
}

/// [`DrawnReview::agent`] when no agent is picked.
const NO_AGENT: u32 = u32::MAX;

/// Reviews drawn ahead of the one scheduled: the agent of each is prefetched when it is drawn,
/// this many reviews before it comes. With a million agents one review's lead hid about half of
/// the wait on the agent's record and tastes; three reviews' lead was the fastest of 1 to 6 on
/// the machine measured (docs/PERFORMANCE.md). It never changes a result.
const AHEAD: usize = 3;

/// Mutable state of one chain during a run.
#[derive(Debug, Clone)]
struct ChainState {
    params: Chain,
    launched: bool,
    /// Σ scaled balances of the agents on the chain.
    units: f64,
    /// Cumulative yield index (starts at 1).
    index: f64,
    /// OU state `X` of the fee shock.
    gas_x: f64,
    demand_tx_per_day: f64,
    /// Transactions per day with elastic activity (each segment's activity at this fee).
    active_tx_per_day: f64,
    pool_available_usd: f64,
    incentives_usd_per_day: f64,
    speculative_apy: f64,
    /// The chain's own asset price level when a series drives it (1 at day 0).
    own_price_level: f64,
    /// Expected-value airdrops pending on the chain: (expected USD, airdrop day).
    airdrops: Vec<(f64, f64)>,
    risk_shock_per_year: f64,
    /// Bass awareness: cumulative hazard at `aware_at`, and the adoption share then.
    aware_hazard: f64,
    aware_at: f64,
    aware_adoption: f64,
    hack_generation: u32,
    fee_revenue_usd: f64,
    lp_fee_revenue_usd: f64,
    bridge_fee_revenue_usd: f64,
    hack_loss_usd: f64,
    /// Cumulative data margin of the sequencer (`model::chain_fee`), USD; part of `fee_revenue_usd`.
    data_margin_usd: f64,
    /// The data-cost factor at day 0 (`f₀` of the pass-through).
    data_cost_day0: f64,
}

/// Running totals for the conservation check, in USD.
#[derive(Debug, Clone, Default)]
struct Ledger {
    initial: f64,
    inflows: f64,
    yield_earned: f64,
    price_gains: f64,
    fees_paid: f64,
    hack_losses: f64,
    outflows: f64,
}

pub(super) struct World<'a> {
    sc: &'a Scenario,
    layout: &'a Layout,
    now: f64,
    queue: EventQueue<Ev>,
    chains: Vec<ChainState>,
    views: Vec<ChainView>,
    /// Chains whose TVL-dependent view (ln TVL, yield) is stale, one bit each.
    dirty: u64,
    /// Whether any segment weighs the within-kind network term (then every view's `ln_kind_tvl`
    /// is kept).
    kind_network: bool,
    ln_total_tvl: f64,
    ln_share_floor: f64,
    segments: Vec<Segment>,
    /// [`model::amortise_per_year`] of each segment.
    amortise: Vec<f64>,
    segment_agents: Vec<Members>,
    /// What a decision reads about the chains, chain-major (the agent-independent utility terms
    /// per segment × chain among them), updated from the views of the chains in `stale_rows`
    /// (one bit each) before a decision.
    columns: model::DecisionColumns,
    stale_rows: u64,
    /// The run's seed (awareness thresholds are hashed from it).
    seed: u64,
    /// Chains whose awareness diffuses (Bass), one bit each.
    bass: u64,
    /// Whether any segment's activity responds to fees; then `segment_wallets` and `fee_cost`
    /// are kept.
    elastic: bool,
    /// Wallets of segment `s` on chain `c`, at `c · segments + s`.
    segment_wallets: Vec<f64>,
    /// Monthly cost of facing chain `c`'s fee for one wallet of segment `s`, at `s · chains + c`.
    fee_cost: Vec<f64>,
    segment_alias: AliasTable,
    total_review_rate: f64,
    /// `1 / total_review_rate` (a review's time is an exponential draw times it).
    review_interval_days: f64,
    /// Time of the next review of the superposed Poisson process (infinite when none): kept out
    /// of the queue, since it is by far the most frequent event.
    next_review: f64,
    /// The next review's uniform 64-bit words: segment (alias column and coin), member, choice.
    review_draws: [u64; 3],
    /// The agent those draws pick, while the alias table and the members are as when they were
    /// drawn (`None` once `rebuild_alias` ran, which follows every change of the members: picked
    /// again at the review).
    next_agent: Option<u32>,
    /// The [`AHEAD`] reviews after the next one, drawn from the stream in its order, a ring
    /// whose oldest is at `ahead_head` (`schedule_review`); `ahead_drawn` once it is filled.
    ahead: [DrawnReview; AHEAD],
    ahead_head: usize,
    ahead_drawn: bool,
    agents: Vec<Agent>,
    /// Every agent's taste for every chain, at `i · chains + c`.
    agent_tastes: Vec<f32>,
    price: f64,
    transit_units: f64,
    l1_data_revenue_usd: f64,
    canonical_withdrawals_usd: f64,
    ledger: Ledger,
    rng_agents: ChaCha8Rng,
    /// The busiest stream (four words a review): rand_chacha's words, refilled sixteen blocks
    /// at a time ([`super::chacha`]).
    rng_reviews: super::chacha::ChaCha8Stream,
    rng_events: ChaCha8Rng,
    rng_market: ChaCha8Rng,
    /// Nest of each chain for the nested logit: its kind.
    chain_nest: Vec<u8>,
    scratch_u: Vec<f64>,
    scratch_w: Vec<f64>,
    // Observations.
    samples: Vec<f64>,
    keep: Keep,
    conservation_error_max: f64,
    migrations: u64,
    migrations_at_last_sample: u64,
    last_sample_day: f64,
    fast_exits: u64,
    canonical_exits: u64,
    decisions: u64,
    events: u64,
    zk_overtakes_day: f64,
    /// Whether ZK TVL exceeded optimistic TVL at the last sample.
    zk_ahead: bool,
    /// Chain kinds hacked in the run, one bit per `ChainKind`.
    hacked_kinds: u8,
    /// Every fee users paid (activity and migrations), USD.
    users_fees_usd: f64,
    log: Vec<super::observe::RunEvent>,
    transit_sum: f64,
    transit_peak: f64,
}

impl<'a> World<'a> {
    pub(super) fn new(sc: &'a Scenario, layout: &'a Layout, seed: u64, keep: Keep) -> World<'a> {
        let n_chains = sc.chains.len();
        let mut rng_agents = stream(seed, Purpose::Agents);
        // With the equilibrium start, each agent's first chain is drawn from its own stationary
        // distribution under day-0 conditions.
        let day0 = sc
            .equilibrium
            .start
            .anchored()
            .then(|| Day0::new(sc, layout));
        let first = day0.as_ref().map(|d| {
            move |s: usize, draw: f64, tastes: &[f32], u: f64| d.first_chain(s, draw, tastes, u)
        });
        // First pass: draw every agent (tastes straight into their final array), summing the
        // drawn capital per chain; agent state stays compact even for millions of agents.
        let total_agents: usize = sc.segments.iter().map(|s| s.agents as usize).sum();
        let mut agent_tastes = Vec::with_capacity(total_agents * n_chains);
        super::advise_huge_pages(&agent_tastes);
        let mut drawn_agents: Vec<(u16, u16, f64)> = Vec::with_capacity(total_agents);
        let mut drawn = vec![0.0; n_chains];
        create_agents(
            sc,
            &mut rng_agents,
            &mut agent_tastes,
            first.as_ref().map(|f| f as &FirstChain),
            &mut |segment, capital, chain, _| {
                drawn_agents.push((segment as u16, chain as u16, capital));
                drawn[chain] += capital;
            },
        );
        let mut w = World::bare(
            sc,
            layout,
            seed,
            keep,
            rng_agents,
            agent_tastes,
            total_agents,
        );
        super::advise_huge_pages(&w.agents);
        // Second pass: rescale so that every chain holds exactly its initial TVL.
        for (segment, chain, capital) in drawn_agents {
            let c = chain as usize;
            let scale = if drawn[c] > 0.0 {
                sc.chains[c].initial_tvl_usd / drawn[c]
            } else {
                0.0
            };
            let wallets = if sc.cohorts { scale } else { 1.0 };
            w.push_agent(segment as usize, c, capital * scale, wallets);
        }
        w.ledger.initial = w.chains.iter().map(|c| c.units * c.index).sum();
        // Series that start at day 0 set their fields before anything happens.
        // (A price factor is relative to its first value, so it is 1 at day 0.)
        w.apply_series();
        for ch in &mut w.chains {
            ch.data_cost_day0 = ch.params.data_cost_factor;
        }
        w.rebuild_alias();
        w.refresh_fees();
        w.schedule_start();
        w
    }

    /// A world with its chains and streams and no agent yet.
    fn bare(
        sc: &'a Scenario,
        layout: &'a Layout,
        seed: u64,
        keep: Keep,
        rng_agents: ChaCha8Rng,
        agent_tastes: Vec<f32>,
        total_agents: usize,
    ) -> World<'a> {
        let n_chains = sc.chains.len();
        let columns = model::DecisionColumns::new(n_chains, sc.segments.len());
        let padded_len = columns.padded_len();
        let chains: Vec<ChainState> = sc
            .chains
            .iter()
            .map(|c| ChainState {
                params: c.clone(),
                launched: c.launch_day <= 0.0,
                units: 0.0,
                index: 1.0,
                gas_x: 0.0,
                demand_tx_per_day: 0.0,
                active_tx_per_day: 0.0,
                pool_available_usd: c.fast_exit_liquidity_usd,
                incentives_usd_per_day: c.incentives_usd_per_day,
                speculative_apy: 0.0,
                own_price_level: 1.0,
                airdrops: Vec::new(),
                risk_shock_per_year: 0.0,
                aware_hazard: 0.0,
                aware_at: c.launch_day,
                aware_adoption: 0.0,
                hack_generation: 0,
                fee_revenue_usd: 0.0,
                lp_fee_revenue_usd: 0.0,
                bridge_fee_revenue_usd: 0.0,
                hack_loss_usd: 0.0,
                data_margin_usd: 0.0,
                data_cost_day0: c.data_cost_factor,
            })
            .collect();
        World {
            sc,
            layout,
            now: 0.0,
            queue: EventQueue::default(),
            chains,
            views: vec![ChainView::default(); n_chains],
            dirty: u64::MAX,
            kind_network: sc.segments.iter().any(|s| s.w_network_kind != 0.0),
            ln_total_tvl: 0.0,
            ln_share_floor: sc.market.network_share_floor.ln(),
            segments: sc.segments.clone(),
            amortise: sc.segments.iter().map(model::amortise_per_year).collect(),
            segment_agents: vec![Members::default(); sc.segments.len()],
            columns,
            stale_rows: u64::MAX,
            seed,
            bass: sc
                .chains
                .iter()
                .enumerate()
                .filter(|(_, c)| c.awareness_per_day.is_some())
                .fold(0, |m, (i, _)| m | 1 << i),
            elastic: sc.segments.iter().any(|s| s.fee_elasticity > 0.0),
            segment_wallets: vec![0.0; n_chains * sc.segments.len()],
            fee_cost: vec![0.0; n_chains * sc.segments.len()],
            segment_alias: AliasTable::default(),
            total_review_rate: 0.0,
            review_interval_days: f64::INFINITY,
            next_review: f64::INFINITY,
            review_draws: [0; 3],
            next_agent: None,
            ahead: [DrawnReview {
                e: 0.0,
                words: [0; 3],
                agent: NO_AGENT,
            }; AHEAD],
            ahead_head: 0,
            ahead_drawn: false,
            agents: Vec::with_capacity(total_agents),
            agent_tastes,
            price: 1.0,
            transit_units: 0.0,
            l1_data_revenue_usd: 0.0,
            canonical_withdrawals_usd: 0.0,
            ledger: Ledger::default(),
            rng_agents,
            rng_reviews: super::streams::fast_stream(seed, Purpose::Reviews),
            rng_events: stream(seed, Purpose::Events),
            rng_market: stream(seed, Purpose::Market),
            chain_nest: sc.chains.iter().map(|c| c.kind as u8).collect(),
            scratch_u: vec![0.0; padded_len],
            scratch_w: vec![0.0; padded_len],
            samples: Vec::with_capacity(match keep {
                Keep::Trajectory => layout.sample_days.len() * layout.n_cells(),
                Keep::Final => layout.n_cells(),
            }),
            keep,
            conservation_error_max: 0.0,
            migrations: 0,
            migrations_at_last_sample: 0,
            last_sample_day: 0.0,
            fast_exits: 0,
            canonical_exits: 0,
            decisions: 0,
            events: 0,
            zk_overtakes_day: f64::NAN,
            zk_ahead: false,
            hacked_kinds: 0,
            users_fees_usd: 0.0,
            log: Vec::new(),
            transit_sum: 0.0,
            transit_peak: 0.0,
        }
    }

    /// Adds an agent whose tastes are already at the end of `agent_tastes`.
    fn push_agent(&mut self, segment: usize, chain: usize, capital_usd: f64, wallets: f64) {
        let id = self.agents.len() as u32;
        let ch = &mut self.chains[chain];
        let units = capital_usd / (ch.index * self.price);
        ch.units += units;
        ch.demand_tx_per_day += wallets * self.segments[segment].tx_per_month / 30.0;
        self.segment_wallets[chain * self.segments.len() + segment] += wallets;
        self.agents.push(Agent {
            units,
            chain: chain as u16,
            segment: segment as u16,
            wallets: wallets as f32,
            since: if self.now > 0.0 {
                self.now as f32
            } else {
                -1e9
            },
        });
        self.segment_agents[segment].push(id);
        self.dirty |= 1 << chain;
    }

    fn rebuild_alias(&mut self) {
        let weights: Vec<f64> = self
            .segments
            .iter()
            .zip(&self.segment_agents)
            .map(|(s, a)| s.review_rate_per_day * a.len() as f64)
            .collect();
        self.total_review_rate = weights.iter().sum();
        self.review_interval_days = 1.0 / self.total_review_rate;
        self.next_agent = None;
        for d in &mut self.ahead {
            d.agent = NO_AGENT;
        }
        if self.total_review_rate > 0.0 {
            self.segment_alias = AliasTable::new(&weights);
        }
    }

    fn schedule_start(&mut self) {
        let h = self.sc.horizon_days;
        self.queue
            .push(self.layout.sample_days[0], Priority::Sample, Ev::Sample(0));
        if h >= 1.0 {
            self.queue.push(1.0, Priority::Tick, Ev::Tick);
        }
        for (i, e) in self.sc.events.iter().enumerate() {
            self.queue
                .push(e.day, Priority::Change, Ev::Scheduled(i as u32));
        }
        for c in 0..self.chains.len() {
            if self.chains[c].launched {
                self.schedule_random_hack(c);
            } else {
                let day = self.chains[c].params.launch_day;
                self.queue.push(day, Priority::Change, Ev::Launch(c as u16));
            }
        }
        self.schedule_review();
    }

    /// Schedules the next review with the oldest of the reviews drawn ahead (its time's
    /// exponential, then its three words: the stream's order, as if drawn now), draws one more
    /// in its slot and prefetches the agent that one picks, so that with millions of agents its
    /// record and tastes are in cache when it comes, [`AHEAD`] reviews later.
    fn schedule_review(&mut self) {
        if self.total_review_rate <= 0.0 {
            return;
        }
        if !self.ahead_drawn {
            for k in 0..AHEAD {
                self.draw_ahead(k);
            }
            self.ahead_drawn = true;
        }
        let h = self.ahead_head;
        let t = self.now + self.ahead[h].e * self.review_interval_days;
        self.next_review = if t <= self.sc.horizon_days {
            t
        } else {
            f64::INFINITY
        };
        self.review_draws = self.ahead[h].words;
        self.next_agent = None;
        if self.next_review.is_finite() {
            let i = if self.ahead[h].agent != NO_AGENT {
                self.ahead[h].agent as usize
            } else {
                self.reviewed_agent(&self.review_draws)
            };
            self.next_agent = Some(i as u32);
        }
        self.draw_ahead(h);
        self.ahead_head = (h + 1) % AHEAD;
        let j = self.ahead[h].agent as usize;
        super::prefetch(&self.agents[j]);
        let n = self.chains.len();
        super::prefetch(&self.agent_tastes[j * n]);
        super::prefetch(&self.agent_tastes[j * n + n - 1]);
    }

    /// Draws a review into slot `k` of the reviews drawn ahead, in the stream's order.
    fn draw_ahead(&mut self, k: usize) {
        let e = self.rng_reviews.sample(Exp1);
        let words = std::array::from_fn(|_| self.rng_reviews.next_u64());
        let agent = self.reviewed_agent(&words) as u32;
        self.ahead[k] = DrawnReview { e, words, agent };
    }

    /// The agent a review's words pick: the segment by the alias table, then a member,
    /// `⌊x · members / 2⁶⁴⌋` (each within `members / 2⁶⁴` of uniform: below 1e-13 with a
    /// million agents).
    fn reviewed_agent(&self, words: &[u64; 3]) -> usize {
        let [x_segment, x_member, _] = *words;
        let s = self.segment_alias.sample_bits(x_segment);
        let members = &self.segment_agents[s];
        let j = (u128::from(x_member) * members.len() as u128) >> 64;
        members.get(j as usize) as usize
    }

    fn schedule_random_hack(&mut self, c: usize) {
        let ch = &mut self.chains[c];
        ch.hack_generation += 1;
        let rate = ch.params.hack_rate_per_year / 365.0;
        if rate <= 0.0 {
            return;
        }
        let generation = ch.hack_generation;
        let e: f64 = self.rng_events.sample(Exp1);
        let t = self.now + e / rate;
        if t <= self.sc.horizon_days {
            self.queue.push(
                t,
                Priority::Change,
                Ev::RandomHack {
                    chain: c as u16,
                    generation,
                },
            );
        }
    }

    /// Share of the wallets that may hold chain `c` that hold it now.
    fn adoption(&self, c: usize) -> f64 {
        let ns = self.segments.len();
        let (mut on, mut all) = (0.0, 0.0);
        for (s, seg) in self.segments.iter().enumerate() {
            if seg.allowed & (1 << c) == 0 {
                continue;
            }
            on += self.segment_wallets[c * ns + s];
            all += (0..self.chains.len())
                .map(|j| self.segment_wallets[j * ns + s])
                .sum::<f64>();
        }
        if all > 0.0 { (on / all).max(0.0) } else { 0.0 }
    }

    /// The Bass cumulative hazard of awareness of chain `c` now (trapezoid over the adoption since
    /// the last update).
    fn awareness_hazard(&self, c: usize) -> f64 {
        let ch = &self.chains[c];
        let Some((p, q)) = ch.params.awareness_per_day else {
            return f64::INFINITY;
        };
        let dt = (self.now - ch.aware_at).max(0.0);
        ch.aware_hazard + dt * (p + q * 0.5 * (ch.aware_adoption + self.adoption(c)))
    }

    /// Brings every Bass hazard up to now (at each daily tick).
    fn update_awareness(&mut self) {
        for c in 0..self.chains.len() {
            if self.chains[c].launched && self.chains[c].params.awareness_per_day.is_some() {
                let h = self.awareness_hazard(c);
                let a = self.adoption(c);
                let ch = &mut self.chains[c];
                ch.aware_hazard = h;
                ch.aware_at = self.now;
                ch.aware_adoption = a;
            }
        }
    }

    /// Whether agent `i` is aware of chain `c`: its own Exp(1) threshold, a hash of the run seed,
    /// the agent and the chain (no stream is consumed), against the chain's cumulative hazard.
    /// The agent's hazard is its segment's `awareness_scale` times the chain's (proportional
    /// hazards: influentials and imitators, Van den Bulte and Joshi 2007).
    fn aware(&self, i: usize, c: usize, scale: f64) -> bool {
        let h = self.awareness_hazard(c);
        if h.is_infinite() {
            return true;
        }
        let h = scale * h;
        let x = super::streams::splitmix64(
            self.seed ^ super::streams::splitmix64(((i as u64) << 8) | c as u64),
        );
        let u = unit_f64(x);
        -(1.0 - u).ln() <= h
    }

    pub(super) fn run(&mut self, cancel: Option<&AtomicBool>) {
        // Every chain live from the start enters the log with the capital it starts with, so a
        // run's log is never empty and says where the capital was on day 0.
        for c in 0..self.chains.len() {
            if self.chains[c].launched {
                let tvl = self.tvl_usd(c);
                self.record(super::observe::EventKind::Launch, Some(c), tvl);
            }
        }
        loop {
            // The review stream competes with the queue as if it held priority Activity.
            let review_first = match self.queue.peek() {
                Some((t, p)) => {
                    self.next_review < t || (self.next_review == t && p > Priority::Activity)
                }
                None => self.next_review.is_finite(),
            };
            if review_first {
                self.now = self.next_review;
                self.events += 1;
                self.review();
                continue;
            }
            let Some((t, ev)) = self.queue.pop() else {
                break;
            };
            // With agents beyond the caches, the record of the agent whose capital lands next
            // is fetched while the reviews before it run.
            if self.agents.len() > PREFETCH_ARRIVALS_FROM
                && let Some(&Ev::Arrival { agent, .. }) = self.queue.peek_event()
            {
                super::prefetch(&self.agents[agent as usize]);
            }
            self.now = t;
            self.events += 1;
            match ev {
                Ev::Tick => {
                    if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                        return;
                    }
                    self.tick()
                }
                Ev::Sample(k) => {
                    self.sample(k as usize);
                    if let Some(&next) = self.layout.sample_days.get(k as usize + 1) {
                        self.queue.push(next, Priority::Sample, Ev::Sample(k + 1));
                    }
                }
                Ev::Arrival { agent, dest, units } => {
                    self.arrive(agent as usize, dest as usize, units)
                }
                Ev::Refill { chain, usd } => {
                    let c = chain as usize;
                    self.chains[c].pool_available_usd += usd;
                    self.refresh_fast_fee(c);
                }
                Ev::Scheduled(i) => self.apply_event(i as usize),
                Ev::IncentiveEnd { chain, usd_per_day } => {
                    let ch = &mut self.chains[chain as usize];
                    ch.incentives_usd_per_day = (ch.incentives_usd_per_day - usd_per_day).max(0.0);
                    self.dirty |= 1 << chain;
                }
                Ev::AirdropPaid(i) => self.pay_airdrop(i as usize),
                Ev::Inflow { event, slot } => self.inflow(event as usize, slot),
                Ev::Launch(c) => {
                    self.record(super::observe::EventKind::Launch, Some(c as usize), 0.0);
                    self.chains[c as usize].launched = true;
                    self.schedule_random_hack(c as usize);
                    self.dirty |= 1 << c;
                }
                Ev::RandomHack { chain, generation } => {
                    let c = chain as usize;
                    if self.chains[c].hack_generation == generation {
                        let loss = match self.chains[c].params.hack_loss {
                            LossDist::Fixed(v) => v,
                            LossDist::Beta { alpha, beta } => Beta::new(alpha, beta)
                                .map(|d| d.sample(&mut self.rng_events))
                                .unwrap_or(alpha / (alpha + beta)),
                        };
                        self.hack(c, loss);
                        self.schedule_random_hack(c);
                    }
                }
            }
        }
    }

    /// Appends to the run's event log (no randomness, no effect on the run).
    fn record(&mut self, kind: super::observe::EventKind, chain: Option<usize>, amount_usd: f64) {
        self.log.push(super::observe::RunEvent {
            day: self.now,
            kind,
            chain: chain.map(|c| c as u16),
            amount_usd,
        });
    }

    fn tvl_usd(&self, c: usize) -> f64 {
        let ch = &self.chains[c];
        ch.units * ch.index * self.price
    }

    /// Yield actually paid on a chain (organic + incentives), fraction per year.
    fn paid_yield_apy(&self, c: usize) -> f64 {
        let ch = &self.chains[c];
        let m = &self.sc.market;
        ch.params.organic_yield_apy
            + model::incentive_apy(
                ch.incentives_usd_per_day,
                self.tvl_usd(c),
                m.incentive_apy_cap,
                m.incentive_tvl_floor_usd,
            )
    }

    /// Recomputes fees (L1 first: rollups pay for data at the L1 fee), risk and fast-exit terms.
    fn refresh_fees(&mut self) {
        let l1 = self.sc.l1;
        let elastic = self.elastic;
        let fee_of = |ch: &ChainState, fee_l1: f64| {
            let shock = if ch.params.kind.is_rollup() {
                1.0
            } else {
                ch.gas_x.exp()
            };
            let demand = if elastic {
                ch.active_tx_per_day
            } else {
                ch.demand_tx_per_day
            };
            let cong = model::congestion(
                demand,
                ch.params.capacity_tx_per_day,
                ch.params.congestion_elasticity,
            );
            model::chain_fee(&ch.params, ch.data_cost_day0, shock, cong, fee_l1)
        };
        let fee_l1 = fee_of(&self.chains[l1], 0.0).fee_usd;
        for c in 0..self.chains.len() {
            let ch = &self.chains[c];
            let fee = fee_of(ch, fee_l1);
            let p = &ch.params;
            let v = &mut self.views[c];
            v.fee_usd = fee.fee_usd;
            v.data_fee_usd = fee.data_cost_usd;
            v.data_margin_usd = fee.data_margin_usd;
            v.log10_confirmation = p.confirmation_s.log10();
            v.risk_apy = (p.hack_rate_per_year + ch.risk_shock_per_year) * p.hack_loss.mean()
                + p.risk_premium_apy;
            v.delay_days = p.withdrawal_delay_days;
            v.bridge_fee_fraction = p.bridge_fee_bps * 1e-4;
            v.constant_apy = p.constant_apy;
        }
        for c in 0..self.chains.len() {
            self.refresh_fast_fee(c);
        }
        if elastic {
            self.refresh_activity();
        }
        self.dirty = u64::MAX;
        self.stale_rows = u64::MAX;
    }

    /// With elastic activity: each chain's transactions per day at its fee now, and what facing
    /// that fee costs a wallet of each segment (congestion follows at the next refresh).
    fn refresh_activity(&mut self) {
        let (n, ns) = (self.chains.len(), self.segments.len());
        for c in 0..n {
            let fee = self.views[c].fee_usd;
            let mut active = 0.0;
            for (s, seg) in self.segments.iter().enumerate() {
                active += self.segment_wallets[c * ns + s] * model::activity_tx_per_month(seg, fee)
                    / 30.0;
                self.fee_cost[s * n + c] = model::fee_cost_per_month(seg, fee);
                self.columns.set_fee_cost(s, c, self.fee_cost[s * n + c]);
            }
            self.chains[c].active_tx_per_day = active;
        }
    }

    fn refresh_fast_fee(&mut self, c: usize) {
        let ch = &self.chains[c];
        let cap = ch.params.fast_exit_liquidity_usd;
        let util = if cap > 0.0 {
            1.0 - ch.pool_available_usd / cap
        } else {
            1.0
        };
        self.stale_rows |= 1 << c;
        let v = &mut self.views[c];
        v.pool_available_usd = ch.pool_available_usd;
        v.fast_fee_fraction = model::fast_fee_fraction(
            ch.params.fast_exit_base_bps,
            &ch.params.fast_exit_apr,
            util,
            ch.params.withdrawal_delay_days,
        );
    }

    /// Brings the TVL-dependent parts of the views (yield, ln TVL) of the dirty chains, and the
    /// total, up to date; a chain whose yield and launch did not change gets its new ln TVL in
    /// the decision columns at once, the others are marked for [`refresh_rows`](Self::refresh_rows).
    fn refresh_views(&mut self) {
        if self.dirty == 0 {
            return;
        }
        let total: f64 = (0..self.chains.len()).map(|c| self.tvl_usd(c)).sum();
        // The network term's logarithms are the portable `model::ln` (glibc's bits, no call into
        // the C library).
        self.ln_total_tvl = if total > 0.0 {
            model::ln::ln(total)
        } else {
            0.0
        };
        // The within-kind totals, for the within-kind network term (every view: any chain of a
        // kind changes its kind's total).
        if self.kind_network {
            let mut by_kind = [0.0f64; 4];
            for c in 0..self.chains.len() {
                by_kind[self.sc.chains[c].kind as usize] += self.tvl_usd(c);
            }
            for (c, v) in self.views.iter_mut().enumerate() {
                let t = by_kind[self.sc.chains[c].kind as usize];
                v.ln_kind_tvl = if t > 0.0 {
                    model::ln::ln(t)
                } else {
                    f64::NEG_INFINITY
                };
                self.columns.set_ln_kind_tvl(c, v.ln_kind_tvl);
            }
        }
        let mut dirty = self.dirty & (u64::MAX >> (64 - self.chains.len()));
        while dirty != 0 {
            let c = dirty.trailing_zeros() as usize;
            dirty &= dirty - 1;
            let tvl = self.tvl_usd(c);
            let y =
                self.paid_yield_apy(c) + self.chains[c].speculative_apy + self.airdrop_apy(c, tvl);
            let v = &mut self.views[c];
            let launched = self.chains[c].launched;
            let ln_tvl = if tvl > 0.0 {
                model::ln::ln(tvl)
            } else {
                f64::NEG_INFINITY
            };
            // Most changes (a migration, an arrival) move the TVL alone: then only the column of
            // ln TVL changes, and the chain's rows need no refresh. Every other field of a view
            // is written where its chain is marked stale (`refresh_fees`, `refresh_fast_fee`).
            let same_rows = launched == v.launched && y.to_bits() == v.yield_apy.to_bits();
            if same_rows && self.stale_rows & (1 << c) == 0 {
                self.columns.set_ln_tvl(c, ln_tvl);
            } else {
                self.stale_rows |= 1 << c;
            }
            v.launched = launched;
            v.yield_apy = y;
            v.ln_tvl = ln_tvl;
        }
        self.dirty = 0;
    }

    /// Brings the decision columns of the chains in `stale_rows` up to their views (which must
    /// be fresh).
    fn refresh_rows(&mut self) {
        let n = self.views.len();
        let mut stale = self.stale_rows & (u64::MAX >> (64 - n));
        while stale != 0 {
            let c = stale.trailing_zeros() as usize;
            stale &= stale - 1;
            self.columns.set_chain(c, &self.views[c], &self.segments);
        }
        self.stale_rows = 0;
    }

    /// The yield farmers perceive in the pending expected-value airdrops of chain `c`: each one's
    /// expected value per unit of capital, annualised over the days left.
    fn airdrop_apy(&self, c: usize, tvl: f64) -> f64 {
        let m = &self.sc.market;
        self.chains[c]
            .airdrops
            .iter()
            .map(|&(value, day)| {
                let left = (day - self.now).max(1.0);
                (value / tvl.max(m.incentive_tvl_floor_usd) * 365.0 / left).min(m.incentive_apy_cap)
            })
            .sum()
    }

    fn agent_capital_usd(&self, i: usize) -> f64 {
        let agent = &self.agents[i];
        if agent.chain == IN_TRANSIT {
            return 0.0;
        }
        agent.units * self.chains[agent.chain as usize].index * self.price
    }

    /// Scores the chains for agent `i` and samples one with uniform `u`. `exclude` forbids a chain.
    fn decide(&mut self, i: usize, u: f64, exclude: Option<usize>) -> usize {
        self.refresh_views();
        if self.stale_rows != 0 {
            self.refresh_rows();
        }
        let agent = self.agents[i];
        let a = agent.chain as usize;
        let s = agent.segment as usize;
        let seg = &self.segments[s];
        let k = self.agent_capital_usd(i);
        let n = self.chains.len();
        let tastes = &self.agent_tastes[i * n..(i + 1) * n];
        let mut allowed = seg.allowed | (1 << a);
        if let Some(x) = exclude {
            allowed &= !(1 << x);
        }
        if self.bass != 0 {
            for c in 0..n {
                if self.bass & (1 << c) != 0
                    && c != a
                    && allowed & (1 << c) != 0
                    && !self.aware(i, c, seg.awareness_scale)
                {
                    allowed &= !(1 << c);
                }
            }
        }
        let inertia = if seg.habit_apy > 0.0 {
            let tenure = (self.now - f64::from(agent.since)).max(0.0);
            seg.inertia_apy + seg.habit_apy * (1.0 - (-tenure / seg.habit_days).exp())
        } else {
            seg.inertia_apy
        };
        let best = self.columns.utilities(
            &model::Decision {
                seg,
                segment: s,
                here: &self.views[a],
                k,
                wallets: f64::from(agent.wallets),
                current: a,
                allowed,
                tastes,
                inertia_apy: inertia,
                ln_total_tvl: self.ln_total_tvl,
                ln_share_floor: self.ln_share_floor,
                amortise: self.amortise[s],
            },
            &mut self.scratch_u,
        );
        self.decisions += 1;
        match &self.sc.nests {
            None => self.columns.choose(
                seg.logit_scale,
                &self.scratch_u,
                best,
                &mut self.scratch_w,
                (u, a),
            ),
            Some(mu) => model::choose_nested(
                seg.logit_scale,
                &self.scratch_u[..n],
                &self.chain_nest,
                mu,
                &mut self.scratch_w[..n],
                u,
                a,
            ),
        }
    }

    fn review(&mut self) {
        // The alias table and the members may have changed since the draws (inflows): then pick
        // now.
        let i = match self.next_agent {
            Some(i) => i as usize,
            None => self.reviewed_agent(&self.review_draws),
        };
        let u_choice = unit_f64(self.review_draws[2]);
        self.schedule_review();
        if self.agents[i].chain == IN_TRANSIT || self.agents[i].units <= 0.0 {
            return;
        }
        let b = self.decide(i, u_choice, None);
        if b != self.agents[i].chain as usize {
            self.migrate(i, b);
        }
    }

    /// Moves agent `i`'s capital to chain `b`: fees, exit (fast or canonical), transit, landing.
    fn migrate(&mut self, i: usize, b: usize) {
        self.refresh_views();
        let agent = self.agents[i];
        let a = agent.chain as usize;
        let k = self.agent_capital_usd(i);
        let (from, to) = (self.views[a], self.views[b]);
        let exit = model::exit(&from, k, to.yield_apy);
        let fast_fee = if let Exit::Fast { fee_usd } = exit {
            fee_usd
        } else {
            0.0
        };
        let bridge = to.bridge_fee_fraction * k;
        let wallets = f64::from(agent.wallets);
        let gross = wallets * (from.fee_usd + to.fee_usd) + bridge + fast_fee;
        // Fees never exceed the capital: scale them down together if they would.
        let scale = if gross > k { k / gross } else { 1.0 };
        self.chains[a].fee_revenue_usd += wallets * (from.fee_usd - from.data_fee_usd) * scale;
        self.chains[b].fee_revenue_usd += wallets * (to.fee_usd - to.data_fee_usd) * scale;
        self.chains[a].data_margin_usd += wallets * from.data_margin_usd * scale;
        self.chains[b].data_margin_usd += wallets * to.data_margin_usd * scale;
        self.users_fees_usd += gross * scale;
        self.l1_data_revenue_usd += wallets * (from.data_fee_usd + to.data_fee_usd) * scale;
        self.chains[b].bridge_fee_revenue_usd += bridge * scale;
        self.chains[a].lp_fee_revenue_usd += fast_fee * scale;
        self.ledger.fees_paid += gross * scale;
        let net = (k - gross * scale).max(0.0);

        let rate = wallets * self.segments[agent.segment as usize].tx_per_month / 30.0;
        let ch = &mut self.chains[a];
        // Running sums drift by rounding: a chain never holds less than nothing.
        ch.units = (ch.units - agent.units).max(0.0);
        ch.demand_tx_per_day -= rate;
        let ns = self.segments.len();
        self.segment_wallets[a * ns + agent.segment as usize] -= wallets;
        self.agents[i].units = 0.0;
        let exit_days = match exit {
            Exit::Fast { .. } => {
                self.fast_exits += 1;
                ch.pool_available_usd -= k;
                let delay = ch.params.withdrawal_delay_days;
                self.queue.push_after(
                    self.now,
                    delay,
                    Priority::Activity,
                    Ev::Refill {
                        chain: a as u16,
                        usd: k,
                    },
                );
                self.refresh_fast_fee(a);
                0.0
            }
            Exit::Canonical { .. } => {
                self.canonical_exits += 1;
                self.canonical_withdrawals_usd += k;
                from.delay_days
            }
            Exit::Immediate => 0.0,
        };
        let entry_days = if b == self.sc.l1 {
            0.0
        } else {
            self.sc.bridge_time_days
        };
        self.migrations += 1;
        self.dirty |= 1 << a;
        let transit = exit_days + entry_days;
        let units = net / self.price;
        if transit > 0.0 {
            self.agents[i].chain = IN_TRANSIT;
            self.transit_units += units;
            self.queue.push_after(
                self.now,
                transit,
                Priority::Activity,
                Ev::Arrival {
                    agent: i as u32,
                    dest: b as u16,
                    units,
                },
            );
        } else {
            self.land(i, b, units);
        }
    }

    /// Credits `units` (USD / price) to agent `i` on chain `b`.
    fn land(&mut self, i: usize, b: usize, units: f64) {
        let ch = &mut self.chains[b];
        let scaled = if ch.index > 0.0 {
            units / ch.index
        } else {
            0.0
        };
        ch.units += scaled;
        let agent = &mut self.agents[i];
        let wallets = f64::from(agent.wallets);
        ch.demand_tx_per_day += wallets * self.segments[agent.segment as usize].tx_per_month / 30.0;
        let ns = self.segments.len();
        self.segment_wallets[b * ns + agent.segment as usize] += wallets;
        agent.units = scaled;
        agent.chain = b as u16;
        agent.since = self.now as f32;
        self.dirty |= 1 << b;
    }

    fn arrive(&mut self, i: usize, b: usize, units: f64) {
        self.transit_units -= units;
        self.land(i, b, units);
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::ChainKind;

    #[test]
    fn chain_kind_discriminants_index_by_kind() {
        assert_eq!(ChainKind::L1 as usize, 0);
        assert_eq!(ChainKind::Optimistic as usize, 1);
        assert_eq!(ChainKind::Zk as usize, 2);
        assert_eq!(ChainKind::AltL1 as usize, 3);
    }
}

//! Samples: every observable cell at each sample time, and the conservation check against the
//! capital the agents actually hold.

use super::{Agent, Ev, World};
use crate::engine::Keep;
use crate::engine::RunOutput;
use crate::engine::observe::{CHAIN_METRICS, EventKind, RUN_METRICS, sys};
use crate::scenario::ChainKind;

/// A run's yes/no metric as a number: 1 or 0.
fn flag(yes: bool) -> f64 {
    if yes { 1.0 } else { 0.0 }
}

/// `Σ units · index[min(chain, n)]` over `agents` (`index[n]` is 0: capital in transit), in four
/// partial sums, agent `j` into sum `j mod 4`, so that the additions do not wait on each other
/// (one chain of dependent additions took about 3 % of a run's samples under `perf record`): the
/// agents after the last whole four first, then the fours in order; `(s₀ + s₁) + (s₂ + s₃)`.
/// With AVX-512F and fewer than 16 chains, eight agents per step in the same order, so the
/// same bits ([`held_usd_portable`], tested).
fn held_usd(agents: &[Agent], index: &[f64; 65], n: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if n < 16 && crate::model::wide() {
        // SAFETY: the processor has AVX-512F (`wide`), and `n < 16`.
        return unsafe { held_usd_avx512(agents, index, n) };
    }
    held_usd_portable(agents, index, n)
}

/// [`held_usd`] one agent at a time.
fn held_usd_portable(agents: &[Agent], index: &[f64; 65], n: usize) -> f64 {
    let value = |a: &Agent| a.units * index[usize::from(a.chain).min(n)];
    let mut sums = [0.0f64; 4];
    let chunks = agents.chunks_exact(4);
    for (s, a) in sums.iter_mut().zip(chunks.remainder()) {
        *s = value(a);
    }
    for four in chunks {
        for (s, a) in sums.iter_mut().zip(four) {
            *s += value(a);
        }
    }
    (sums[0] + sums[1]) + (sums[2] + sums[3])
}

/// [`held_usd_portable`] eight agents (three 512-bit loads) per step: the units and the chains
/// picked out of the records by two permutations each, the index looked up by a third (16
/// entries in two registers), and the four sums in one 256-bit register, which adds the step's
/// first four agents, then its last four: each sum's additions in the portable loop's order.
///
/// # Safety
/// The processor must support AVX-512F, and `n < 16`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn held_usd_avx512(agents: &[Agent], index: &[f64; 65], n: usize) -> f64 {
    use std::arch::x86_64::*;
    assert!(n < 16);
    let value = |a: &Agent| a.units * index[usize::from(a.chain).min(n)];
    let fours = agents.len() / 4;
    let mut sums = [0.0f64; 4];
    for (s, a) in sums.iter_mut().zip(&agents[4 * fours..]) {
        *s = value(a);
    }
    // Qwords of eight records (three per record: units, then chain, segment and wallets, then
    // since): the units are qwords 0, 3, …, 21, the chains the low 16 bits of 1, 4, …, 22. A
    // permutation takes qwords 0–15 of the first two registers, a second one fills the last
    // lanes from the third.
    // SAFETY: `q` holds eight i64, 64 bytes.
    let from = |q: [i64; 8]| unsafe { _mm512_loadu_si512(q.as_ptr().cast()) };
    let (units_01, units_2) = (
        from([0, 3, 6, 9, 12, 15, 0, 0]),
        from([0, 1, 2, 3, 4, 5, 10, 13]),
    );
    let (chain_01, chain_2) = (
        from([1, 4, 7, 10, 13, 0, 0, 0]),
        from([0, 1, 2, 3, 4, 8, 11, 14]),
    );
    let (low16, last) = (_mm512_set1_epi64(0xffff), _mm512_set1_epi64(n as i64));
    // SAFETY: `index` holds 65 entries, so 16 from its start.
    let (index_lo, index_hi) = unsafe {
        (
            _mm512_loadu_pd(index.as_ptr()),
            _mm512_loadu_pd(index.as_ptr().add(8)),
        )
    };
    // SAFETY: `sums` holds four f64.
    let mut acc = unsafe { _mm256_loadu_pd(sums.as_ptr()) };
    let base = agents.as_ptr().cast::<u8>();
    for step in 0..fours / 2 {
        // SAFETY: the step's eight records, 192 bytes from `base + 192 · step`, are inside
        // `agents` (`8 · step + 8 <= 4 · fours <= len`).
        let (q0, q1, q2) = unsafe {
            let p = base.add(192 * step);
            (
                _mm512_loadu_si512(p.cast()),
                _mm512_loadu_si512(p.add(64).cast()),
                _mm512_loadu_si512(p.add(128).cast()),
            )
        };
        let units =
            _mm512_permutex2var_epi64(_mm512_permutex2var_epi64(q0, units_01, q1), units_2, q2);
        let chain =
            _mm512_permutex2var_epi64(_mm512_permutex2var_epi64(q0, chain_01, q1), chain_2, q2);
        let slot = _mm512_min_epu64(_mm512_and_si512(chain, low16), last);
        let v = _mm512_mul_pd(
            _mm512_castsi512_pd(units),
            _mm512_permutex2var_pd(index_lo, slot, index_hi),
        );
        acc = _mm256_add_pd(acc, _mm512_castpd512_pd256(v));
        acc = _mm256_add_pd(acc, _mm512_extractf64x4_pd::<1>(v));
    }
    // SAFETY: `sums` holds four f64.
    unsafe { _mm256_storeu_pd(sums.as_mut_ptr(), acc) };
    if fours % 2 == 1 {
        for (s, a) in sums.iter_mut().zip(&agents[4 * (fours - 1)..4 * fours]) {
            *s += value(a);
        }
    }
    (sums[0] + sums[1]) + (sums[2] + sums[3])
}

impl World<'_> {
    /// Records every cell at sample `k`, and checks conservation against the agents themselves.
    pub(super) fn sample(&mut self, k: usize) {
        self.refresh_views();
        let n = self.chains.len();
        let layout = self.layout;
        if self.keep == Keep::Final {
            self.samples.clear();
        }
        let base = self.samples.len();
        self.samples.resize(base + layout.n_cells(), 0.0);
        let tvl: Vec<f64> = (0..n).map(|c| self.tvl_usd(c)).collect();
        let total: f64 = tvl.iter().sum();
        let mut by_kind = [0.0; 4];
        for (c, ch) in self.chains.iter().enumerate() {
            by_kind[ch.params.kind as usize] += tvl[c];
        }
        let transit = self.transit_units * self.price;
        let out = &mut self.samples[base..];
        for c in 0..n {
            let ch = &self.chains[c];
            let v = &self.views[c];
            let cap = ch.params.fast_exit_liquidity_usd;
            let values = [
                tvl[c],
                if total > 0.0 { tvl[c] / total } else { 0.0 },
                v.fee_usd,
                v.yield_apy,
                if cap > 0.0 {
                    (1.0 - ch.pool_available_usd / cap).clamp(0.0, 1.0)
                } else {
                    0.0
                },
                ch.fee_revenue_usd,
                ch.lp_fee_revenue_usd,
                ch.bridge_fee_revenue_usd,
                ch.hack_loss_usd,
                ch.fee_revenue_usd - ch.data_margin_usd,
                ch.data_margin_usd,
            ];
            for (m, value) in values.into_iter().enumerate() {
                out[layout.chain_cell(m, c)] = value;
            }
        }
        debug_assert_eq!(CHAIN_METRICS.len(), 11);
        // Revenue by recipient group (docs/MODEL.md §7, value flow).
        let mut groups = [0.0; 4];
        let (mut margin, mut bridges) = (0.0, 0.0);
        for ch in &self.chains {
            groups[ch.params.kind as usize] += ch.fee_revenue_usd;
            bridges += ch.bridge_fee_revenue_usd;
            if ch.params.kind.is_rollup() {
                margin += ch.data_margin_usd;
            }
        }
        let [l1, opt, zk, alt] = by_kind;
        let l2 = opt + zk;
        let interval = self.now - self.last_sample_day;
        let mut set = |m: usize, v: f64| out[layout.system_cell(m)] = v;
        set(sys::TVL_TOTAL, total);
        set(sys::TVL_L1, l1);
        set(sys::TVL_OPTIMISTIC, opt);
        set(sys::TVL_ZK, zk);
        set(sys::TVL_ALT_L1, alt);
        set(sys::IN_TRANSIT, transit);
        set(
            sys::L2_SHARE,
            if l1 + l2 > 0.0 { l2 / (l1 + l2) } else { 0.0 },
        );
        set(sys::ZK_SHARE_OF_L2, if l2 > 0.0 { zk / l2 } else { 0.0 });
        let of_total = |x: f64| if total > 0.0 { x / total } else { 0.0 };
        set(sys::ALT_L1_SHARE, of_total(alt));
        set(sys::L1_SHARE, of_total(l1));
        set(sys::OPTIMISTIC_SHARE, of_total(opt));
        set(sys::ZK_SHARE, of_total(zk));
        set(sys::ZK_MINUS_OPTIMISTIC, zk - opt);
        set(sys::L1_DATA_REVENUE, self.l1_data_revenue_usd);
        set(
            sys::LP_FEE_REVENUE,
            self.chains.iter().map(|c| c.lp_fee_revenue_usd).sum(),
        );
        set(sys::HACK_LOSS, self.ledger.hack_losses);
        set(sys::CANONICAL_WITHDRAWALS, self.canonical_withdrawals_usd);
        set(
            sys::MIGRATIONS_PER_DAY,
            if interval > 0.0 {
                (self.migrations - self.migrations_at_last_sample) as f64 / interval
            } else {
                0.0
            },
        );
        set(sys::PRICE_FACTOR, self.price);
        set(sys::AGENTS, self.agents.len() as f64);
        set(sys::USERS_FEES_PAID, self.users_fees_usd);
        set(sys::L1_VALIDATOR_REVENUE, groups[0]);
        set(sys::SEQUENCER_REVENUE, groups[1] + groups[2]);
        set(sys::SEQUENCER_DATA_MARGIN, margin);
        set(sys::ALT_L1_VALIDATOR_REVENUE, groups[3]);
        set(sys::BRIDGE_FEE_REVENUE, bridges);
        self.migrations_at_last_sample = self.migrations;
        self.last_sample_day = self.now;
        if self.zk_overtakes_day.is_nan() && zk > opt {
            self.zk_overtakes_day = self.now;
        }
        if (zk > opt) != self.zk_ahead {
            self.zk_ahead = zk > opt;
            let kind = if self.zk_ahead {
                EventKind::ZkOvertakes
            } else {
                EventKind::ZkFallsBack
            };
            self.record(kind, None, zk - opt);
        }
        self.transit_sum += transit;
        self.transit_peak = self.transit_peak.max(transit);
        let _ = k;
        self.check_conservation();
    }

    /// Relative error between the ledger and the capital actually held by agents and in transit.
    pub(super) fn check_conservation(&mut self) {
        // Each agent's units at its chain's index (0 in transit: the last slot), in agent order.
        let n = self.chains.len();
        let mut index = [0.0f64; 65];
        for (x, ch) in index.iter_mut().zip(&self.chains) {
            *x = ch.index * self.price;
        }
        let held = held_usd(&self.agents, &index, n);
        let transit: f64 = self
            .queue
            .iter()
            .map(|e| {
                if let Ev::Arrival { units, .. } = e {
                    *units
                } else {
                    0.0
                }
            })
            .sum::<f64>()
            * self.price;
        let l = &self.ledger;
        let sources = l.initial + l.inflows + l.yield_earned + l.price_gains;
        let uses = held + transit + l.fees_paid + l.hack_losses + l.outflows;
        let scale = l.initial + l.inflows + l.yield_earned.abs() + l.price_gains.abs();
        let err = if scale > 0.0 {
            (sources - uses).abs() / scale
        } else {
            0.0
        };
        self.conservation_error_max = self.conservation_error_max.max(err);
    }

    pub(in crate::engine) fn into_output(self, run: u64, seed: u64) -> RunOutput {
        let n_samples = self.layout.sample_days.len() as f64;
        let mut run_metrics = vec![0.0; RUN_METRICS.len()];
        run_metrics.copy_from_slice(&[
            self.zk_overtakes_day,
            self.transit_sum / n_samples,
            self.transit_peak,
            self.migrations as f64,
            self.fast_exits as f64,
            self.canonical_exits as f64,
            self.decisions as f64,
            self.conservation_error_max,
            flag(self.hacked_kinds & (1 << ChainKind::Optimistic as u8) != 0),
            flag(self.hacked_kinds & (1 << ChainKind::Zk as u8) != 0),
            flag(self.hacked_kinds & (1 << ChainKind::AltL1 as u8) != 0),
            flag(self.log.iter().any(|e| e.kind == EventKind::Panic)),
            flag(!self.zk_overtakes_day.is_nan()),
        ]);
        RunOutput {
            run,
            seed,
            samples: self.samples,
            run_metrics,
            conservation_error_max: self.conservation_error_max,
            decisions: self.decisions,
            events: self.events,
            log: self.log,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// The vector sum gives the portable loop's bits: every length from 0 to 40 (each remainder
    /// and an odd or even number of fours) and two long ones, chains and capital in transit at
    /// random, 1, 9 and 15 chains.
    #[test]
    fn held_usd_is_the_same_sum_whichever_loop_runs() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for n in [1usize, 9, 15] {
            let mut index = [0.0f64; 65];
            for x in &mut index[..n] {
                *x = rng.random_range(0.5..3.0);
            }
            for len in (0..=40).chain([1_001, 10_003]) {
                let agents: Vec<Agent> = (0..len)
                    .map(|_| Agent {
                        units: rng.random_range(0.0..1e7) * rng.random_range(0.0..1.0f64).powi(3),
                        chain: if rng.random_range(0..5) == 0 {
                            super::super::IN_TRANSIT
                        } else {
                            rng.random_range(0..n as u16)
                        },
                        segment: rng.random_range(0..4),
                        wallets: rng.random_range(1.0..100.0),
                        since: rng.random_range(0.0..365.0),
                    })
                    .collect();
                let portable = held_usd_portable(&agents, &index, n);
                assert_eq!(
                    held_usd(&agents, &index, n).to_bits(),
                    portable.to_bits(),
                    "{n} chains, {len} agents"
                );
                #[cfg(target_arch = "x86_64")]
                if crate::model::wide() {
                    // SAFETY: `wide` says the processor has AVX-512F; n < 16.
                    let wide = unsafe { held_usd_avx512(&agents, &index, n) };
                    assert_eq!(
                        wide.to_bits(),
                        portable.to_bits(),
                        "{n} chains, {len} agents"
                    );
                }
            }
        }
    }
}

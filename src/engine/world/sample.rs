//! Samples: every observable cell at each sample time, and the conservation check against the
//! capital the agents actually hold.

use super::{Ev, World};
use crate::engine::Keep;
use crate::engine::RunOutput;
use crate::engine::observe::{CHAIN_METRICS, EventKind, RUN_METRICS, sys};
use crate::scenario::ChainKind;

/// A run's yes/no metric as a number: 1 or 0.
fn flag(yes: bool) -> f64 {
    if yes { 1.0 } else { 0.0 }
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
        // Four partial sums (agent j into sum j mod 4), so that the additions do not wait on each
        // other: one chain of dependent additions took about 3 % of a run's samples under
        // `perf record`.
        let value = |a: &super::Agent| a.units * index[usize::from(a.chain).min(n)];
        let mut sums = [0.0f64; 4];
        let chunks = self.agents.chunks_exact(4);
        for (s, a) in sums.iter_mut().zip(chunks.remainder()) {
            *s = value(a);
        }
        for four in chunks {
            for (s, a) in sums.iter_mut().zip(four) {
                *s += value(a);
            }
        }
        let held = (sums[0] + sums[1]) + (sums[2] + sums[3]);
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

//! Daily ticks and the events that change the market: scheduled scenario events, stochastic
//! hacks with panic and contagion, airdrops, inflows and outflows of capital.

use rand::RngExt;
use rand_distr::StandardNormal;

use super::{Ev, IN_TRANSIT, World, draw_capital, draw_tastes};
use crate::engine::observe::EventKind;
use crate::engine::queue::Priority;
use crate::scenario::{ChainField, EventAction, SeriesTarget};

impl World<'_> {
    /// Daily tick: yields accrue, fee shocks and price move, risk shocks decay, fees refresh.
    pub(super) fn tick(&mut self) {
        if self.bass != 0 {
            self.update_awareness();
        }
        // Activity fees of the past day, paid from users' income rather than from their capital.
        for c in 0..self.chains.len() {
            let ch = &self.chains[c];
            let demand = if self.elastic {
                ch.active_tx_per_day
            } else {
                ch.demand_tx_per_day
            };
            let (demand, v) = (demand.max(0.0), self.views[c]);
            self.chains[c].fee_revenue_usd += demand * (v.fee_usd - v.data_fee_usd);
            self.chains[c].data_margin_usd += demand * v.data_margin_usd;
            self.users_fees_usd += demand * v.fee_usd;
            self.l1_data_revenue_usd += demand * v.data_fee_usd;
        }
        for c in 0..self.chains.len() {
            if !self.chains[c].launched {
                continue;
            }
            let y = self.paid_yield_apy(c);
            let growth = (y / 365.0).exp();
            self.ledger.yield_earned += self.tvl_usd(c) * (growth - 1.0);
            self.chains[c].index *= growth;
        }
        for ch in &mut self.chains {
            let z: f64 = self.rng_market.sample(StandardNormal);
            let (sigma, theta) = (ch.params.gas_volatility, ch.params.gas_reversion_per_day);
            if sigma > 0.0 && !ch.params.kind.is_rollup() {
                let decay = (-theta).exp();
                let sd = if theta > 0.0 {
                    sigma * ((1.0 - (-2.0 * theta).exp()) / (2.0 * theta)).sqrt()
                } else {
                    sigma
                };
                ch.gas_x = ch.gas_x * decay + sd * z;
            }
        }
        let z: f64 = self.rng_market.sample(StandardNormal);
        let m = &self.sc.market;
        let price_before = self.price;
        if let Some(p) = self.series_value(SeriesTarget::PriceFactor) {
            let factor = p / self.price;
            let held_units: f64 =
                self.chains.iter().map(|c| c.units * c.index).sum::<f64>() + self.transit_units;
            self.ledger.price_gains += held_units * self.price * (factor - 1.0);
            self.price = p;
        } else if m.price_volatility > 0.0 || m.price_drift_apy != 0.0 {
            let dt = 1.0 / 365.0;
            let factor = ((m.price_drift_apy - 0.5 * m.price_volatility.powi(2)) * dt
                + m.price_volatility * dt.sqrt() * z)
                .exp();
            let held_units: f64 =
                self.chains.iter().map(|c| c.units * c.index).sum::<f64>() + self.transit_units;
            self.ledger.price_gains += held_units * self.price * (factor - 1.0);
            self.price *= factor;
        }
        self.revalue_exposures(price_before);
        self.apply_series();
        let inflow = self.inflow_apy();
        if inflow != 0.0 {
            let growth = (inflow / 365.0).exp();
            for c in 0..self.chains.len() {
                if self.chains[c].launched && self.chains[c].units > 0.0 {
                    self.ledger.inflows += self.tvl_usd(c) * (growth - 1.0);
                    self.chains[c].index *= growth;
                    self.dirty |= 1 << c;
                }
            }
        }
        let m = &self.sc.market;
        let decay = 0.5f64.powf(1.0 / m.risk_half_life_days);
        for ch in &mut self.chains {
            ch.risk_shock_per_year *= decay;
        }
        self.refresh_fees();
        let next = self.now + 1.0;
        if next <= self.sc.horizon_days + 1e-9 {
            self.queue.push(next, Priority::Tick, Ev::Tick);
        }
    }

    /// Chains not fully exposed to the market price, or with their own asset: their capital's
    /// daily return is `(1 − β) + β · g` (`g` the market's or their own price change, constant
    /// mix), applied as a correction to the market's change `f` already in the price factor.
    fn revalue_exposures(&mut self, price_before: f64) {
        let f = self.price / price_before;
        for c in 0..self.chains.len() {
            let p = &self.chains[c].params;
            let (beta, own) = (p.price_exposure, p.own_price);
            let series = self.series_value(SeriesTarget::OwnPrice { chain: c });
            if beta == 1.0 && own.is_none() && series.is_none() {
                continue;
            }
            let g = match (series, own) {
                (Some(level), _) => {
                    let g = level / self.chains[c].own_price_level;
                    self.chains[c].own_price_level = level;
                    g
                }
                (None, Some((drift, vol))) => {
                    let z: f64 = self.rng_market.sample(StandardNormal);
                    let dt = 1.0 / 365.0;
                    ((drift - 0.5 * vol * vol) * dt + vol * dt.sqrt() * z).exp()
                }
                (None, None) => f,
            };
            let correction = ((1.0 - beta) + beta * g) / f;
            if correction != 1.0 && self.chains[c].launched {
                self.ledger.price_gains += self.tvl_usd(c) * (correction - 1.0);
                self.chains[c].index *= correction;
                self.dirty |= 1 << c;
            }
        }
    }

    /// The value of the series driving `target` now, if one does and it has begun; for the price
    /// factor, relative to the series' first value.
    pub(super) fn series_value(&self, target: SeriesTarget) -> Option<f64> {
        let s = self.sc.series.iter().find(|s| s.target == target)?;
        let v = s.at(self.now)?;
        Some(match target {
            SeriesTarget::PriceFactor | SeriesTarget::OwnPrice { .. } => v / s.points[0].1,
            _ => v,
        })
    }

    /// Capital entering the ecosystem now, fraction of TVL per year.
    fn inflow_apy(&self) -> f64 {
        self.series_value(SeriesTarget::InflowApy)
            .unwrap_or(self.sc.market.inflow_apy)
    }

    /// Sets every chain field a series drives to the series' value now.
    pub(super) fn apply_series(&mut self) {
        for i in 0..self.sc.series.len() {
            let s = &self.sc.series[i];
            let SeriesTarget::Chain { chain, field } = s.target else {
                continue;
            };
            if let Some(value) = s.at(self.now) {
                self.set_chain_field(chain, field, value);
            }
        }
    }

    /// Sets a chain field as a `parameter` event or a series does.
    fn set_chain_field(&mut self, chain: usize, field: ChainField, value: f64) {
        let ch = &mut self.chains[chain];
        if field == ChainField::FastExitLiquidityUsd {
            ch.pool_available_usd += value - ch.params.fast_exit_liquidity_usd;
        }
        let rate_changed =
            field == ChainField::HackRatePerYear && ch.params.hack_rate_per_year != value;
        ch.params.set(field, value);
        if rate_changed && ch.launched {
            self.schedule_random_hack(chain);
        }
        self.dirty |= 1 << chain;
    }

    pub(super) fn apply_event(&mut self, i: usize) {
        let ev = &self.sc.events[i];
        self.record_scheduled(&ev.action);
        match ev.action.clone() {
            EventAction::Incentives {
                chain,
                usd_per_day,
                duration_days,
            } => {
                self.chains[chain].incentives_usd_per_day += usd_per_day;
                self.queue.push(
                    self.now + duration_days,
                    Priority::Change,
                    Ev::IncentiveEnd {
                        chain: chain as u16,
                        usd_per_day,
                    },
                );
            }
            EventAction::Airdrop {
                chain,
                speculative_apy,
                expected_value_usd,
                airdrop_day,
                ..
            } => {
                self.chains[chain].speculative_apy += speculative_apy;
                if expected_value_usd > 0.0 {
                    self.chains[chain]
                        .airdrops
                        .push((expected_value_usd, airdrop_day));
                }
                self.queue
                    .push(airdrop_day, Priority::Change, Ev::AirdropPaid(i as u32));
            }
            EventAction::FeeChange {
                chains,
                tx_cost_multiplier,
                data_cost_multiplier,
            } => {
                for (c, ch) in self.chains.iter_mut().enumerate() {
                    if chains & (1 << c) != 0 {
                        ch.params.tx_cost_usd *= tx_cost_multiplier;
                        ch.params.data_cost_factor *= data_cost_multiplier;
                    }
                }
            }
            EventAction::DelayChange {
                chain,
                withdrawal_delay_days,
            } => {
                self.chains[chain].params.withdrawal_delay_days = withdrawal_delay_days;
            }
            EventAction::Hack {
                chain,
                loss,
                reimbursed,
            } => self.hack(chain, loss * (1.0 - reimbursed)),
            EventAction::UserInflow { .. } => self.inflow(i, 0),
            EventAction::CapitalOutflow { fraction } => {
                let mut removed = 0.0;
                for c in 0..self.chains.len() {
                    let lost = self.tvl_usd(c) * fraction;
                    self.ledger.outflows += lost;
                    removed += lost;
                    self.shrink(c, fraction);
                }
                if let Some(e) = self.log.last_mut() {
                    e.amount_usd = removed;
                }
            }
            EventAction::Allow { segment, chains } => self.segments[segment].allowed |= chains,
            EventAction::Parameter {
                chain,
                field,
                value,
            } => {
                // A parameter event always restarts the hack clock when it sets the rate.
                let ch = &mut self.chains[chain];
                if field == ChainField::FastExitLiquidityUsd {
                    ch.pool_available_usd += value - ch.params.fast_exit_liquidity_usd;
                }
                ch.params.set(field, value);
                if field == ChainField::HackRatePerYear && ch.launched {
                    self.schedule_random_hack(chain);
                }
            }
        }
        self.refresh_fees();
    }

    /// Logs a scheduled event (a hack is logged by [`World::hack`] with its loss instead).
    fn record_scheduled(&mut self, action: &EventAction) {
        let (tag, chain, amount) = match *action {
            EventAction::Hack { .. } => return,
            EventAction::Incentives {
                chain,
                usd_per_day,
                duration_days,
            } => ("incentives", Some(chain), usd_per_day * duration_days),
            EventAction::Airdrop {
                chain,
                expected_value_usd,
                ..
            } => ("airdrop", Some(chain), expected_value_usd),
            EventAction::FeeChange { chains, .. } => (
                "fee_change",
                (chains.count_ones() == 1).then(|| chains.trailing_zeros() as usize),
                0.0,
            ),
            EventAction::DelayChange { chain, .. } => ("delay_change", Some(chain), 0.0),
            EventAction::UserInflow { .. } => ("user_inflow", None, 0.0),
            EventAction::CapitalOutflow { .. } => ("capital_outflow", None, 0.0),
            EventAction::Allow { .. } => ("allow", None, 0.0),
            EventAction::Parameter { chain, .. } => ("parameter", Some(chain), 0.0),
        };
        self.record(EventKind::Scheduled(tag), chain, amount);
    }

    /// Scales every balance on chain `c` by `1 - fraction` (hack loss, capital outflow).
    pub(super) fn shrink(&mut self, c: usize, fraction: f64) {
        if fraction < 1.0 {
            self.chains[c].index *= 1.0 - fraction;
        } else {
            for agent in &mut self.agents {
                if agent.chain as usize == c {
                    agent.units = 0.0;
                }
            }
            self.chains[c].units = 0.0;
        }
        self.dirty |= 1 << c;
    }

    pub(super) fn pay_airdrop(&mut self, i: usize) {
        if let EventAction::Airdrop {
            chain,
            speculative_apy,
            expected_value_usd,
            airdrop_day,
            value_usd,
        } = self.sc.events[i].action
        {
            let ch = &mut self.chains[chain];
            ch.speculative_apy = (ch.speculative_apy - speculative_apy).max(0.0);
            if let Some(k) = ch
                .airdrops
                .iter()
                .position(|&a| a == (expected_value_usd, airdrop_day))
            {
                ch.airdrops.remove(k);
            }
            let tvl = self.tvl_usd(chain);
            let paid = if value_usd > 0.0 && tvl > 0.0 {
                value_usd
            } else {
                0.0
            };
            self.record(EventKind::Airdrop, Some(chain), paid);
            if value_usd > 0.0 && tvl > 0.0 {
                self.chains[chain].index *= 1.0 + value_usd / tvl;
                self.ledger.yield_earned += value_usd;
            }
            self.dirty |= 1 << chain;
        }
    }

    /// A hack on chain `c` in which users lose `loss` of its TVL: the loss, the perceived-risk
    /// shock with contagion, and the panic, all felt in proportion to `felt(loss)`.
    pub(super) fn hack(&mut self, c: usize, loss: f64) {
        let lost = self.tvl_usd(c) * loss;
        self.ledger.hack_losses += lost;
        self.chains[c].hack_loss_usd += lost;
        self.hacked_kinds |= 1 << self.chains[c].params.kind as u8;
        self.record(EventKind::Hack, Some(c), lost);
        self.shrink(c, loss);
        let sc = self.sc;
        let m = &sc.market;
        let felt = crate::model::hack_felt(loss, m.hack_loss_scale);
        let kind = self.chains[c].params.kind;
        for (j, ch) in self.chains.iter_mut().enumerate() {
            if j == c {
                ch.risk_shock_per_year += felt * m.hack_risk_shock_per_year;
            } else if ch.params.kind == kind {
                ch.risk_shock_per_year += felt * m.contagion * m.hack_risk_shock_per_year;
            }
        }
        self.refresh_fees();
        let contagion = m.contagion;
        let mut fled = 0.0;
        for i in 0..self.agents.len() {
            let a = self.agents[i].chain;
            if a == IN_TRANSIT {
                continue;
            }
            let a = a as usize;
            let exposure = if a == c {
                1.0
            } else if self.chains[a].params.kind == kind {
                contagion
            } else {
                continue;
            };
            let p = self.segments[self.agents[i].segment as usize].panic_prob * exposure * felt;
            if p <= 0.0 {
                continue;
            }
            let u: f64 = self.rng_events.random();
            let u_choice: f64 = self.rng_events.random();
            if u < p && self.agents[i].units > 0.0 {
                let b = self.decide(i, u_choice, Some(a));
                if b != a {
                    fled += self.agent_capital_usd(i);
                    self.migrate(i, b);
                }
            }
        }
        if fled > 0.0 {
            self.record(EventKind::Panic, Some(c), fled);
        }
    }

    /// One slot of a `user_inflow` event: new agents arrive and choose where to land.
    pub(super) fn inflow(&mut self, event: usize, slot: u32) {
        let EventAction::UserInflow {
            segment,
            agents,
            capital,
            duration_days,
        } = self.sc.events[event].action
        else {
            return;
        };
        let slots = duration_days.ceil().max(1.0) as u32;
        let first = (agents as u64 * slot as u64 / slots as u64) as u32;
        let last = (agents as u64 * (slot as u64 + 1) / slots as u64) as u32;
        let n = self.chains.len();
        for _ in first..last {
            let k = draw_capital(capital, &mut self.rng_agents);
            draw_tastes(
                self.segments[segment].taste_sd,
                n,
                &mut self.rng_agents,
                &mut self.agent_tastes,
            );
            let u: f64 = self.rng_agents.random();
            // New capital arrives on the L1 and then makes its first choice.
            let l1 = self.sc.l1;
            self.push_agent(segment, l1, k, 1.0);
            self.ledger.inflows += k;
            let i = self.agents.len() - 1;
            let b = self.decide(i, u, None);
            if b != l1 {
                self.migrate(i, b);
            }
        }
        self.rebuild_alias();
        if slot + 1 < slots {
            let t = self.sc.events[event].day + duration_days * (slot + 1) as f64 / slots as f64;
            if t <= self.sc.horizon_days {
                self.queue.push(
                    t,
                    Priority::Change,
                    Ev::Inflow {
                        event: event as u32,
                        slot: slot + 1,
                    },
                );
            }
        }
        // The total review rate changed: by memorylessness, the next review of the superposed
        // process is drawn afresh at the new rate.
        self.schedule_review();
    }
}

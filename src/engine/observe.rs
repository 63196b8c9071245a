//! What a run records: the layout of observables ("cells" of metric × chain) at every sample, and
//! the run-level summary metrics written to `runs.csv`.
//!
//! The layout is derived from the scenario alone, so every run of a scenario has the same cells in
//! the same order, and batch aggregation can treat a run's samples as one flat `Vec<f64>`.

use crate::scenario::{Calendar, Scenario};

/// Observables recorded per chain at every sample (metric names as in `quantiles.csv`).
pub const CHAIN_METRICS: [&str; 11] = [
    "tvl_usd",
    "tvl_share",
    "fee_usd",
    "yield_apy",
    "fast_exit_utilisation",
    "fee_revenue_usd",
    "lp_fee_revenue_usd",
    "bridge_fee_revenue_usd",
    "hack_loss_usd",
    "execution_revenue_usd",
    "data_margin_usd",
];

/// Whole-system observables recorded at every sample (`chain` column empty).
pub const SYSTEM_METRICS: [&str; 26] = [
    "tvl_total_usd",
    "tvl_l1_usd",
    "tvl_optimistic_usd",
    "tvl_zk_usd",
    "tvl_alt_l1_usd",
    "in_transit_usd",
    "l2_share",
    "zk_share_of_l2",
    "alt_l1_share",
    "zk_minus_optimistic_usd",
    "l1_data_revenue_usd",
    "lp_fee_revenue_usd",
    "hack_loss_usd",
    "canonical_withdrawals_usd",
    "migrations_per_day",
    "price_factor",
    "agents",
    "l1_share",
    "optimistic_share",
    "zk_share",
    "users_fees_paid_usd",
    "l1_validator_revenue_usd",
    "sequencer_revenue_usd",
    "sequencer_data_margin_usd",
    "alt_l1_validator_revenue_usd",
    "bridge_fee_revenue_usd",
];

/// Per-run metrics that are not a final sample value (appended to `runs.csv`).
pub const RUN_METRICS: [&str; 13] = [
    "zk_overtakes_day",
    "mean_in_transit_usd",
    "peak_in_transit_usd",
    "migrations",
    "fast_exits",
    "canonical_exits",
    "decisions",
    "conservation_error",
    "hacked_optimistic",
    "hacked_zk",
    "hacked_alt_l1",
    "panicked",
    "zk_overtakes",
];

/// What a metric is recorded for: each chain, the whole system, or the run as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Per {
    Chain,
    System,
    Run,
}

impl Per {
    /// As written in the `per` column of `metrics.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Per::Chain => "chain",
            Per::System => "system",
            Per::Run => "run",
        }
    }
}

/// The unit and meaning of one metric: one entry of [`UNITS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    pub metric: &'static str,
    pub per: Per,
    pub unit: &'static str,
    pub meaning: &'static str,
}

const fn unit(metric: &'static str, per: Per, unit: &'static str, meaning: &'static str) -> Unit {
    Unit {
        metric,
        per,
        unit,
        meaning,
    }
}

/// The one registry of units and meanings (`metrics.csv`, Parquet metadata, docs/MODEL.md §7):
/// every metric of [`CHAIN_METRICS`], [`SYSTEM_METRICS`] and [`RUN_METRICS`] (tested), and the
/// indicator `zk_overtakes` that comparisons and sweeps derive from `zk_overtakes_day`.
pub const UNITS: &[Unit] = &[
    unit("tvl_usd", Per::Chain, "USD", "capital held on the chain"),
    unit(
        "tvl_share",
        Per::Chain,
        "fraction",
        "of total TVL (transit excluded)",
    ),
    unit(
        "fee_usd",
        Per::Chain,
        "USD",
        "fee of one typical transaction now",
    ),
    unit(
        "yield_apy",
        Per::Chain,
        "fraction/yr",
        "perceived yield: organic + incentives + speculative",
    ),
    unit(
        "fast_exit_utilisation",
        Per::Chain,
        "fraction",
        "share of the LP pool paid out and not yet refilled",
    ),
    unit(
        "fee_revenue_usd",
        Per::Chain,
        "USD, cumulative",
        "sequencer/validator revenue (activity + migrations)",
    ),
    unit(
        "lp_fee_revenue_usd",
        Per::Chain,
        "USD, cumulative",
        "fast-exit fees earned by the chain's LPs",
    ),
    unit(
        "bridge_fee_revenue_usd",
        Per::Chain,
        "USD, cumulative",
        "bridge fees paid to enter the chain",
    ),
    unit(
        "hack_loss_usd",
        Per::Chain,
        "USD, cumulative",
        "capital lost in hacks",
    ),
    unit(
        "execution_revenue_usd",
        Per::Chain,
        "USD, cumulative",
        "fee_revenue_usd minus the data margin: execution fees of sequencer/validators",
    ),
    unit(
        "data_margin_usd",
        Per::Chain,
        "USD, cumulative",
        "a rollup sequencer's data margin (0 with data_cost_pass_through = 1)",
    ),
    unit("tvl_total_usd", Per::System, "USD", "TVL of every chain"),
    unit("tvl_l1_usd", Per::System, "USD", "TVL of the L1"),
    unit(
        "tvl_optimistic_usd",
        Per::System,
        "USD",
        "TVL of the optimistic rollups",
    ),
    unit("tvl_zk_usd", Per::System, "USD", "TVL of the ZK rollups"),
    unit("tvl_alt_l1_usd", Per::System, "USD", "TVL of the alt-L1s"),
    unit(
        "in_transit_usd",
        Per::System,
        "USD",
        "capital in canonical withdrawals and bridges",
    ),
    unit(
        "l2_share",
        Per::System,
        "fraction",
        "(optimistic + ZK) / (L1 + optimistic + ZK)",
    ),
    unit(
        "zk_share_of_l2",
        Per::System,
        "fraction",
        "ZK / (optimistic + ZK)",
    ),
    unit("alt_l1_share", Per::System, "fraction", "alt-L1 / total"),
    unit("l1_share", Per::System, "fraction", "L1 / total"),
    unit(
        "optimistic_share",
        Per::System,
        "fraction",
        "optimistic / total",
    ),
    unit("zk_share", Per::System, "fraction", "ZK / total"),
    unit(
        "users_fees_paid_usd",
        Per::System,
        "USD, cumulative",
        "every fee users paid (activity, migrations, bridges, fast exits)",
    ),
    unit(
        "l1_validator_revenue_usd",
        Per::System,
        "USD, cumulative",
        "fee_revenue_usd of the L1",
    ),
    unit(
        "sequencer_revenue_usd",
        Per::System,
        "USD, cumulative",
        "fee_revenue_usd summed over the rollups",
    ),
    unit(
        "sequencer_data_margin_usd",
        Per::System,
        "USD, cumulative",
        "data_margin_usd summed over the rollups",
    ),
    unit(
        "alt_l1_validator_revenue_usd",
        Per::System,
        "USD, cumulative",
        "fee_revenue_usd summed over the alt-L1s",
    ),
    unit(
        "bridge_fee_revenue_usd",
        Per::System,
        "USD, cumulative",
        "bridge fees summed over chains",
    ),
    unit(
        "zk_minus_optimistic_usd",
        Per::System,
        "USD",
        "ZK TVL - optimistic TVL",
    ),
    unit(
        "l1_data_revenue_usd",
        Per::System,
        "USD, cumulative",
        "data fees paid by rollups to the L1",
    ),
    unit(
        "lp_fee_revenue_usd",
        Per::System,
        "USD, cumulative",
        "fast-exit fees earned by LPs, over chains",
    ),
    unit(
        "hack_loss_usd",
        Per::System,
        "USD, cumulative",
        "capital lost in hacks, over chains",
    ),
    unit(
        "canonical_withdrawals_usd",
        Per::System,
        "USD, cumulative",
        "capital that entered a canonical withdrawal",
    ),
    unit(
        "migrations_per_day",
        Per::System,
        "1/day",
        "migrations since the previous sample, per day",
    ),
    unit(
        "price_factor",
        Per::System,
        "dimensionless",
        "market price factor P(t)",
    ),
    unit("agents", Per::System, "count", "agents alive"),
    unit(
        "zk_overtakes_day",
        Per::Run,
        "day",
        "first sample day at which ZK TVL exceeds optimistic TVL; NaN if never",
    ),
    unit(
        "mean_in_transit_usd",
        Per::Run,
        "USD",
        "capital in transit, mean over samples",
    ),
    unit(
        "peak_in_transit_usd",
        Per::Run,
        "USD",
        "capital in transit, largest over samples",
    ),
    unit("migrations", Per::Run, "count", "migrations over the run"),
    unit(
        "fast_exits",
        Per::Run,
        "count",
        "withdrawals through a fast-exit LP",
    ),
    unit(
        "canonical_exits",
        Per::Run,
        "count",
        "withdrawals through the canonical bridge",
    ),
    unit("decisions", Per::Run, "count", "reviews that scored chains"),
    unit(
        "conservation_error",
        Per::Run,
        "fraction",
        "largest relative error of the capital ledger over the samples",
    ),
    unit(
        "hacked_optimistic",
        Per::Run,
        "0/1",
        "1 if a hack (scheduled or stochastic) hit an optimistic rollup, else 0",
    ),
    unit(
        "hacked_zk",
        Per::Run,
        "0/1",
        "1 if a hack hit a ZK rollup, else 0",
    ),
    unit(
        "hacked_alt_l1",
        Per::Run,
        "0/1",
        "1 if a hack hit an alt-L1, else 0",
    ),
    unit(
        "panicked",
        Per::Run,
        "0/1",
        "1 if capital fled in a panic, else 0",
    ),
    unit(
        "zk_overtakes",
        Per::Run,
        "0/1",
        "1 if ZK TVL ever exceeded optimistic TVL (zk_overtakes_day set), else 0",
    ),
];

/// The registry entry of `metric` recorded `per`.
pub fn unit_of(metric: &str, per: Per) -> Option<&'static Unit> {
    UNITS.iter().find(|u| u.metric == metric && u.per == per)
}

/// Index of each system metric in [`SYSTEM_METRICS`].
pub mod sys {
    pub const TVL_TOTAL: usize = 0;
    pub const TVL_L1: usize = 1;
    pub const TVL_OPTIMISTIC: usize = 2;
    pub const TVL_ZK: usize = 3;
    pub const TVL_ALT_L1: usize = 4;
    pub const IN_TRANSIT: usize = 5;
    pub const L2_SHARE: usize = 6;
    pub const ZK_SHARE_OF_L2: usize = 7;
    pub const ALT_L1_SHARE: usize = 8;
    pub const ZK_MINUS_OPTIMISTIC: usize = 9;
    pub const L1_DATA_REVENUE: usize = 10;
    pub const LP_FEE_REVENUE: usize = 11;
    pub const HACK_LOSS: usize = 12;
    pub const CANONICAL_WITHDRAWALS: usize = 13;
    pub const MIGRATIONS_PER_DAY: usize = 14;
    pub const PRICE_FACTOR: usize = 15;
    pub const AGENTS: usize = 16;
    pub const L1_SHARE: usize = 17;
    pub const OPTIMISTIC_SHARE: usize = 18;
    pub const ZK_SHARE: usize = 19;
    pub const USERS_FEES_PAID: usize = 20;
    pub const L1_VALIDATOR_REVENUE: usize = 21;
    pub const SEQUENCER_REVENUE: usize = 22;
    pub const SEQUENCER_DATA_MARGIN: usize = 23;
    pub const ALT_L1_VALIDATOR_REVENUE: usize = 24;
    pub const BRIDGE_FEE_REVENUE: usize = 25;
}

/// What happened in a run, recorded as it happens (`events.csv`): the engine keeps these in
/// [`super::RunOutput::log`] without consuming any random number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventKind {
    /// A hack (scheduled or stochastic); amount: what users lost, USD.
    Hack,
    /// The panic after a hack; amount: the capital that left in it, USD.
    Panic,
    /// An airdrop paid; amount: its value, USD.
    Airdrop,
    /// A chain launched; amount: its TVL then (day 0: the capital it starts with; a chain that
    /// launches later starts empty, 0).
    Launch,
    /// A scheduled event other than a hack, by its `kind` in the scenario (`fee_change`, ...);
    /// amount: incentives committed, an airdrop's expected value, capital removed, else 0.
    Scheduled(&'static str),
    /// At a sample, ZK rollups' TVL passed optimistic rollups'; amount: ZK − optimistic TVL.
    ZkOvertakes,
    /// At a sample, ZK TVL fell back to optimistic or below; amount: ZK − optimistic TVL.
    ZkFallsBack,
}

impl EventKind {
    /// The `kind` column of `events.csv`.
    pub fn label(self) -> String {
        match self {
            EventKind::Hack => "hack".into(),
            EventKind::Panic => "panic".into(),
            EventKind::Airdrop => "airdrop".into(),
            EventKind::Launch => "launch".into(),
            EventKind::Scheduled(tag) => format!("scheduled_{tag}"),
            EventKind::ZkOvertakes => "zk_overtakes".into(),
            EventKind::ZkFallsBack => "zk_falls_back".into(),
        }
    }
}

/// One row of a run's event log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunEvent {
    pub day: f64,
    pub kind: EventKind,
    /// Index of the chain concerned; `None` for whole-system events.
    pub chain: Option<u16>,
    pub amount_usd: f64,
}

/// One cell: a metric, and the chain it belongs to (`None` for whole-system metrics).
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub metric: &'static str,
    pub chain: Option<String>,
}

impl Cell {
    /// Column name in `runs.csv`: `metric.chain` or `metric`.
    pub fn column(&self) -> String {
        column_of(self.metric, self.chain.as_deref().unwrap_or(""))
    }
}

/// The one naming rule of `runs.csv` columns: `metric.chain` for a chain's metric, `metric` when
/// `chain` is empty (system and per-run metrics).
pub fn column_of(metric: &str, chain: &str) -> String {
    if chain.is_empty() {
        metric.to_string()
    } else {
        format!("{metric}.{chain}")
    }
}

/// Sample times and cells of one scenario.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub sample_days: Vec<f64>,
    /// The date of every sample (`YYYY-MM-DD`), when the scenario has a calendar.
    pub dates: Option<Vec<String>>,
    pub cells: Vec<Cell>,
    pub n_chains: usize,
    /// The scenario's calendar (dates of events), when it has one.
    pub calendar: Option<Calendar>,
    /// Chain ids, in scenario order.
    pub chain_ids: Vec<String>,
}

impl Layout {
    pub fn new(scenario: &Scenario) -> Layout {
        let sample_days = scenario.sample_days.clone();
        let mut cells = Vec::new();
        for m in CHAIN_METRICS {
            for c in &scenario.chains {
                cells.push(Cell {
                    metric: m,
                    chain: Some(c.id.clone()),
                });
            }
        }
        for m in SYSTEM_METRICS {
            cells.push(Cell {
                metric: m,
                chain: None,
            });
        }
        let dates = scenario
            .calendar
            .map(|cal| sample_days.iter().map(|&d| cal.label(d)).collect());
        Layout {
            dates,
            sample_days,
            cells,
            n_chains: scenario.chains.len(),
            calendar: scenario.calendar,
            chain_ids: scenario.chains.iter().map(|c| c.id.clone()).collect(),
        }
    }

    /// Cell index of chain metric `m` (index in [`CHAIN_METRICS`]) for chain `c`.
    pub fn chain_cell(&self, m: usize, c: usize) -> usize {
        m * self.n_chains + c
    }

    /// Cell index of system metric `m` (index in [`SYSTEM_METRICS`]).
    pub fn system_cell(&self, m: usize) -> usize {
        CHAIN_METRICS.len() * self.n_chains + m
    }

    /// `(metric, chain)` of every column of `runs.csv` after `run,seed`, in column order
    /// (final cells, then run metrics; chain empty for system and run metrics).
    pub fn run_cells(&self) -> Vec<(&'static str, String)> {
        self.cells
            .iter()
            .map(|c| (c.metric, c.chain.clone().unwrap_or_default()))
            .chain(RUN_METRICS.iter().map(|&m| (m, String::new())))
            .collect()
    }

    /// Column names of `runs.csv` after `run,seed`: final cells, then run metrics.
    pub fn run_columns(&self) -> Vec<String> {
        self.cells
            .iter()
            .map(Cell::column)
            .chain(RUN_METRICS.iter().map(|s| s.to_string()))
            .collect()
    }

    /// The date of sample `k`, when the scenario has a calendar.
    pub fn date(&self, k: usize) -> Option<String> {
        self.dates.as_ref().and_then(|d| d.get(k).cloned())
    }

    pub fn n_cells(&self) -> usize {
        self.cells.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/MODEL.md §7 gives every chain and system metric the registry's unit, and names every
    /// per-run metric.
    #[test]
    fn the_model_documents_the_registry() {
        let doc = include_str!("../../docs/MODEL.md");
        let start = doc.find("## 7. Observables").unwrap();
        let section = &doc[start..start + doc[start..].find("\n## 8").unwrap()];
        let rows: Vec<Vec<&str>> = section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| l.split('|').map(str::trim).collect())
            .collect();
        for u in UNITS {
            if u.per == Per::Run {
                assert!(section.contains(&format!("`{}`", u.metric)), "{}", u.metric);
                continue;
            }
            let named = format!("`{}`", u.metric);
            let documented = rows
                .iter()
                .any(|r| r[1].contains(&named) && r[2] == u.per.as_str() && r[3] == u.unit);
            assert!(
                documented,
                "{} ({}, {}) not in MODEL.md §7",
                u.metric,
                u.per.as_str(),
                u.unit
            );
        }
    }

    #[test]
    fn every_metric_has_a_unit_once() {
        let lists = [
            (&CHAIN_METRICS[..], Per::Chain),
            (&SYSTEM_METRICS[..], Per::System),
            (&RUN_METRICS[..], Per::Run),
        ];
        for (list, per) in lists {
            for m in list {
                assert!(
                    unit_of(m, per).is_some(),
                    "{m} ({per:?}) has no entry in UNITS"
                );
            }
        }
        for (i, u) in UNITS.iter().enumerate() {
            assert!(!u.unit.is_empty() && !u.meaning.is_empty(), "{}", u.metric);
            let known = lists
                .iter()
                .any(|(list, per)| *per == u.per && list.contains(&u.metric));
            assert!(
                known || u.metric == "zk_overtakes",
                "{} is in no list",
                u.metric
            );
            assert!(
                UNITS[..i]
                    .iter()
                    .all(|v| (v.metric, v.per) != (u.metric, u.per)),
                "{} twice",
                u.metric
            );
        }
    }
}

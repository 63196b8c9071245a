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
pub const SYSTEM_METRICS: [&str; 23] = [
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
    "zk_overtook",
];

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
    pub const USERS_FEES_PAID: usize = 17;
    pub const L1_VALIDATOR_REVENUE: usize = 18;
    pub const SEQUENCER_REVENUE: usize = 19;
    pub const SEQUENCER_DATA_MARGIN: usize = 20;
    pub const ALT_L1_VALIDATOR_REVENUE: usize = 21;
    pub const BRIDGE_FEE_REVENUE: usize = 22;
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
    /// A chain launched; amount 0.
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
        match &self.chain {
            Some(c) => format!("{}.{c}", self.metric),
            None => self.metric.to_string(),
        }
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

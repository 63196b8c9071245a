//! Scenarios: TOML text → raw structs (`raw`) → checked [`Scenario`] (`validate`).
//!
//! After validation every id is resolved to an index, every range holds, and code downstream never
//! re-checks input. This module reads files but never writes, prints, or simulates.

mod calendar;
pub mod calibrate;
pub mod design;
mod diff;
mod error;
mod inherit;
pub mod input;
mod name;
pub mod raw;
mod schema;
mod series;
mod shape;
pub mod suggest;
mod sweep;
mod validate;

use std::path::{Path, PathBuf};

pub use calendar::{Calendar, RawDay, parse_date};
pub use calibrate::{Calibrate, Parameter, Space};
pub use diff::diff_lines;
pub use error::{Problem, ScenarioError, line_col, path_at, span_of, syntax_error};
pub use inherit::{Merged, Provenance, Source, load as load_merged};
pub use name::name_from_file;
pub use raw::RawEquilibrium;
pub use raw::RawScenario;
pub use schema::{markdown as schema_markdown, schema};
pub use series::{Interpolation, Series, SeriesTarget, sha256_hex};
pub use sweep::{
    Design, KIND_GROUP, MAX_POINTS, MAX_RANGES, Sweep, SweepPoint, expand as expand_sweep,
    located as located_problem, members,
};

/// The built-in default scenario (`scenarios/baseline.toml`), compiled into the binary.
pub const BASELINE_TOML: &str = include_str!("../../scenarios/baseline.toml");

/// The four kinds of chain of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChainKind {
    L1,
    Optimistic,
    Zk,
    AltL1,
}

impl ChainKind {
    pub const ALL: [ChainKind; 4] = [
        ChainKind::L1,
        ChainKind::Optimistic,
        ChainKind::Zk,
        ChainKind::AltL1,
    ];

    /// Name used in files: `l1`, `optimistic`, `zk`, `alt_l1`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChainKind::L1 => "l1",
            ChainKind::Optimistic => "optimistic",
            ChainKind::Zk => "zk",
            ChainKind::AltL1 => "alt_l1",
        }
    }

    pub fn parse(s: &str) -> Option<ChainKind> {
        ChainKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn is_rollup(self) -> bool {
        matches!(self, ChainKind::Optimistic | ChainKind::Zk)
    }
}

/// Piecewise-linear APR of a fast-exit pool against utilisation `u ∈ [0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AprCurve {
    pub at_zero: f64,
    pub kink: f64,
    pub at_kink: f64,
    pub at_full: f64,
}

impl AprCurve {
    /// APR (fraction per year) at utilisation `u`.
    pub fn apr(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        if u <= self.kink {
            self.at_zero + (self.at_kink - self.at_zero) * u / self.kink
        } else {
            self.at_kink + (self.at_full - self.at_kink) * (u - self.kink) / (1.0 - self.kink)
        }
    }
}

/// Distribution of a hack's loss as a fraction of the chain's TVL.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossDist {
    Fixed(f64),
    Beta { alpha: f64, beta: f64 },
}

impl LossDist {
    pub fn mean(&self) -> f64 {
        match *self {
            LossDist::Fixed(v) => v,
            LossDist::Beta { alpha, beta } => alpha / (alpha + beta),
        }
    }
}

/// Distribution of an agent's capital in USD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CapitalDist {
    Lognormal { median_usd: f64, sigma: f64 },
    Pareto { min_usd: f64, alpha: f64 },
}

/// A checked chain. Field meanings, units and defaults: `docs/MODEL.md`.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    pub id: String,
    pub name: String,
    pub kind: ChainKind,
    pub launch_day: f64,
    pub initial_tvl_usd: f64,
    pub tx_cost_usd: f64,
    pub data_cost_factor: f64,
    /// Fraction of a data-cost change after day 0 passed to users (`model::chain_fee`).
    pub data_cost_pass_through: f64,
    pub capacity_tx_per_day: f64,
    pub congestion_elasticity: f64,
    pub gas_volatility: f64,
    pub gas_reversion_per_day: f64,
    pub confirmation_s: f64,
    pub withdrawal_delay_days: f64,
    pub fast_exit_liquidity_usd: f64,
    pub fast_exit_base_bps: f64,
    pub fast_exit_apr: AprCurve,
    pub bridge_fee_bps: f64,
    pub organic_yield_apy: f64,
    pub incentives_usd_per_day: f64,
    pub hack_rate_per_year: f64,
    pub hack_loss: LossDist,
    pub risk_premium_apy: f64,
    /// Alternative-specific constant (solved by the equilibrium start, or as written).
    pub constant_apy: f64,
    pub price_exposure: f64,
    /// `(drift per year, volatility per sqrt(year))` of the chain's own asset price, if it has one.
    pub own_price: Option<(f64, f64)>,
    /// Bass parameters `(p, q)` per day of awareness of a late chain; `None`: all aware at launch.
    pub awareness_per_day: Option<(f64, f64)>,
}

/// A chain field that a `parameter` event may set, with its allowed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainField {
    TxCostUsd,
    DataCostFactor,
    CapacityTxPerDay,
    CongestionElasticity,
    GasVolatility,
    GasReversionPerDay,
    ConfirmationS,
    WithdrawalDelayDays,
    FastExitLiquidityUsd,
    FastExitBaseBps,
    BridgeFeeBps,
    OrganicYieldApy,
    IncentivesUsdPerDay,
    HackRatePerYear,
    RiskPremiumApy,
}

impl ChainField {
    pub const ALL: [(ChainField, &'static str); 15] = [
        (ChainField::TxCostUsd, "tx_cost_usd"),
        (ChainField::DataCostFactor, "data_cost_factor"),
        (ChainField::CapacityTxPerDay, "capacity_tx_per_day"),
        (ChainField::CongestionElasticity, "congestion_elasticity"),
        (ChainField::GasVolatility, "gas_volatility"),
        (ChainField::GasReversionPerDay, "gas_reversion_per_day"),
        (ChainField::ConfirmationS, "confirmation_s"),
        (ChainField::WithdrawalDelayDays, "withdrawal_delay_days"),
        (ChainField::FastExitLiquidityUsd, "fast_exit_liquidity_usd"),
        (ChainField::FastExitBaseBps, "fast_exit_base_bps"),
        (ChainField::BridgeFeeBps, "bridge_fee_bps"),
        (ChainField::OrganicYieldApy, "organic_yield_apy"),
        (ChainField::IncentivesUsdPerDay, "incentives_usd_per_day"),
        (ChainField::HackRatePerYear, "hack_rate_per_year"),
        (ChainField::RiskPremiumApy, "risk_premium_apy"),
    ];

    pub fn parse(s: &str) -> Option<ChainField> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(f, _)| *f)
    }

    /// The field's name in files.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("", |(_, n)| n)
    }

    /// Why a chain of `kind` must have this field at 0, when it must: the rules of a kind hold
    /// for the chain as written and for every value an event sets.
    pub fn zero_for(self, kind: ChainKind) -> Option<String> {
        match self {
            ChainField::DataCostFactor if !kind.is_rollup() => Some(format!(
                "must be 0 for a chain of kind {:?} (only rollups post data to L1)",
                kind.as_str()
            )),
            ChainField::GasVolatility if kind.is_rollup() => Some(
                "must be 0 for a rollup (its fee follows the L1 fee through data_cost_factor)"
                    .into(),
            ),
            ChainField::WithdrawalDelayDays if kind == ChainKind::L1 => {
                Some("must be 0 for the l1 chain".into())
            }
            _ => None,
        }
    }

    /// Allowed range of the field's value.
    pub fn range(self) -> Bound {
        match self {
            ChainField::ConfirmationS => Bound::Positive,
            ChainField::DataCostFactor => Bound::Between(0.0, 1.0),
            ChainField::FastExitBaseBps | ChainField::BridgeFeeBps => Bound::Between(0.0, 10_000.0),
            ChainField::OrganicYieldApy => Bound::Between(-1.0, 10.0),
            _ => Bound::NonNegative,
        }
    }
}

impl Chain {
    /// Sets a field (for `parameter` events); the value was range-checked by validation.
    pub fn set(&mut self, field: ChainField, value: f64) {
        let slot = match field {
            ChainField::TxCostUsd => &mut self.tx_cost_usd,
            ChainField::DataCostFactor => &mut self.data_cost_factor,
            ChainField::CapacityTxPerDay => &mut self.capacity_tx_per_day,
            ChainField::CongestionElasticity => &mut self.congestion_elasticity,
            ChainField::GasVolatility => &mut self.gas_volatility,
            ChainField::GasReversionPerDay => &mut self.gas_reversion_per_day,
            ChainField::ConfirmationS => &mut self.confirmation_s,
            ChainField::WithdrawalDelayDays => &mut self.withdrawal_delay_days,
            ChainField::FastExitLiquidityUsd => &mut self.fast_exit_liquidity_usd,
            ChainField::FastExitBaseBps => &mut self.fast_exit_base_bps,
            ChainField::BridgeFeeBps => &mut self.bridge_fee_bps,
            ChainField::OrganicYieldApy => &mut self.organic_yield_apy,
            ChainField::IncentivesUsdPerDay => &mut self.incentives_usd_per_day,
            ChainField::HackRatePerYear => &mut self.hack_rate_per_year,
            ChainField::RiskPremiumApy => &mut self.risk_premium_apy,
        };
        *slot = value;
    }
}

/// Allowed range of a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    NonNegative,
    Positive,
    Between(f64, f64),
}

impl Bound {
    pub fn holds(self, v: f64) -> bool {
        v.is_finite()
            && match self {
                Bound::NonNegative => v >= 0.0,
                Bound::Positive => v > 0.0,
                Bound::Between(lo, hi) => (lo..=hi).contains(&v),
            }
    }

    pub fn describe(self) -> String {
        match self {
            Bound::NonNegative => "must be a finite number >= 0".into(),
            Bound::Positive => "must be a finite number > 0".into(),
            Bound::Between(lo, hi) => {
                format!("must be a finite number in [{}, {}]", show(lo), show(hi))
            }
        }
    }
}

/// A number as people write it: plain when moderate, in scientific notation when very large or
/// very small (`1e15`, not fifteen zeros).
pub fn show(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-4..1e9).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// A checked segment of agents.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub name: String,
    pub agents: u32,
    pub capital: CapitalDist,
    pub tx_per_month: f64,
    pub fee_elasticity: f64,
    pub reference_fee_usd: f64,
    pub review_rate_per_day: f64,
    pub logit_scale: f64,
    pub w_yield: f64,
    pub w_cost: f64,
    pub w_speed: f64,
    pub w_liquidity: f64,
    pub w_risk: f64,
    pub w_network: f64,
    pub w_network_kind: f64,
    pub emergency_prob_per_year: f64,
    pub emergency_cost_per_day: f64,
    pub taste_sd: f64,
    pub inertia_apy: f64,
    pub habit_apy: f64,
    pub habit_days: f64,
    /// Multiplier of the Bass awareness hazard for this segment's agents.
    pub awareness_scale: f64,
    pub holding_horizon_days: f64,
    /// Bit `c` set: chain `c` may hold this segment's capital.
    pub allowed: u64,
    pub panic_prob: f64,
}

/// A checked scheduled event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub day: f64,
    pub action: EventAction,
}

/// What a scheduled event does. Chains and segments are indices.
#[derive(Debug, Clone, PartialEq)]
pub enum EventAction {
    Incentives {
        chain: usize,
        usd_per_day: f64,
        duration_days: f64,
    },
    Airdrop {
        chain: usize,
        speculative_apy: f64,
        expected_value_usd: f64,
        airdrop_day: f64,
        value_usd: f64,
    },
    FeeChange {
        chains: u64,
        tx_cost_multiplier: f64,
        data_cost_multiplier: f64,
    },
    DelayChange {
        chain: usize,
        withdrawal_delay_days: f64,
    },
    Hack {
        chain: usize,
        /// Fraction of the chain's TVL stolen.
        loss: f64,
        /// Fraction of the stolen amount returned to users (Wormhole 2022: all of it).
        reimbursed: f64,
    },
    UserInflow {
        segment: usize,
        agents: u32,
        capital: CapitalDist,
        duration_days: f64,
    },
    CapitalOutflow {
        fraction: f64,
    },
    Allow {
        segment: usize,
        chains: u64,
    },
    Parameter {
        chain: usize,
        field: ChainField,
        value: f64,
    },
}

/// System-wide market parameters (checked).
#[derive(Debug, Clone, PartialEq)]
pub struct Market {
    pub price_drift_apy: f64,
    pub price_volatility: f64,
    pub network_share_floor: f64,
    pub incentive_apy_cap: f64,
    pub incentive_tvl_floor_usd: f64,
    pub hack_risk_shock_per_year: f64,
    pub contagion: f64,
    pub risk_half_life_days: f64,
    pub inflow_apy: f64,
    pub hack_loss_scale: f64,
}

/// How the equilibrium start sets the chain constants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Off,
    Solve,
    Parent,
    Given,
}

impl Start {
    /// Whether agents start from their stationary distribution (every start but `off`).
    pub fn anchored(self) -> bool {
        self != Start::Off
    }
}

/// `[equilibrium]`, checked.
#[derive(Debug, Clone)]
pub struct Equilibrium {
    pub start: Start,
    pub tolerance: f64,
    pub max_iterations: u32,
    /// With `start = parent`: the scenario this file extends, whose constants it takes.
    pub parent: Option<Box<Scenario>>,
}

/// A validated scenario: every invariant of `docs/MODEL.md` holds by construction.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub horizon_days: f64,
    pub sample_every_days: f64,
    /// The calendar, when the scenario has a `start_date`.
    pub calendar: Option<Calendar>,
    /// The sample days: every `sample_every_days` from 0, or the month ends, plus the horizon.
    pub sample_days: Vec<f64>,
    pub runs: u64,
    pub seed: u64,
    pub bridge_time_days: f64,
    /// Agents stand for cohorts of wallets (see [`raw::RawScenario::cohorts`]).
    pub cohorts: bool,
    pub market: Market,
    /// Dissimilarity of the nests, indexed by `ChainKind as usize`; `None` when all are 1
    /// (plain logit).
    pub nests: Option<[f64; 4]>,
    pub chains: Vec<Chain>,
    pub segments: Vec<Segment>,
    pub events: Vec<Event>,
    /// Time series driving fields, loaded and checked.
    pub series: Vec<Series>,
    pub equilibrium: Equilibrium,
    /// `[calibrate]`, checked (its paths are checked against the fields by [`Space::from_file`]).
    pub calibrate: Option<Calibrate>,
    /// `[sweep]`'s design (`design` and `[[sweep.range]]`), checked; `None` for grid and zip axes
    /// or without `[sweep]`.
    pub design: Option<sweep::Design>,
    /// Index of the one `l1` chain.
    pub l1: usize,
    /// The raw form with defaults filled in, for `scenario.resolved.toml`.
    pub raw: RawScenario,
}

/// Loads every `[[series]]` file of a validated scenario, relative to the file that names it;
/// every problem of every file at once.
fn load_series(sc: &Scenario, prov: &Provenance) -> Result<Vec<Series>, ScenarioError> {
    let ids: Vec<&str> = sc.chains.iter().map(|c| c.id.as_str()).collect();
    let mut loaded = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in sc.raw.series.iter().enumerate() {
        let entry = format!("series[{i}]");
        let (declared_in, location) = prov.locate(&format!("{entry}.file"));
        let file = series::resolve_path(&declared_in, &raw.file);
        let target = match series::parse_target(&raw.target, &ids) {
            Ok(t) => t,
            Err(_) => continue,
        };
        let interpolation = if raw.interpolation == "linear" {
            Interpolation::Linear
        } else {
            Interpolation::Step
        };
        match series::load(
            &file,
            &entry,
            target,
            interpolation,
            raw.sha256.as_deref(),
            sc.calendar.as_ref(),
            sc.horizon_days,
        ) {
            Ok(s) => loaded.push(s),
            Err(ps) => problems.extend(ps.into_iter().map(|mut p| {
                if p.file.is_none() {
                    p.location = Some(location);
                    p.file = (declared_in != prov.sources[0].path).then(|| declared_in.clone());
                }
                p
            })),
        }
    }
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(ScenarioError::Invalid {
            path: prov.sources[0].path.clone(),
            problems,
        })
    }
}

/// Most chains a scenario may have (chain sets are 64-bit masks).
pub const MAX_CHAINS: usize = 64;

impl Scenario {
    /// Parses and validates scenario text; `path` only labels error messages.
    pub fn from_toml_str(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        let source = Source {
            path: path.to_path_buf(),
            text: text.to_string(),
        };
        Self::from_merged(text, &Provenance::single(source))
    }

    /// Reads a scenario file, merges the files it `extends`, parses and validates the result.
    pub fn from_file(path: &Path) -> Result<Scenario, ScenarioError> {
        let merged = inherit::load(path)?;
        let mut sc = Self::from_merged(&merged.text, &merged.provenance)?;
        if sc.equilibrium.start == Start::Parent {
            let Some(parent) = &merged.parent else {
                let (file, location) = merged.provenance.locate("equilibrium.start");
                return Err(ScenarioError::Invalid {
                    path: path.to_path_buf(),
                    problems: vec![Problem {
                        path: "equilibrium.start".into(),
                        message: "= \"parent\": this file extends no scenario; use \"solve\""
                            .into(),
                        location: Some(location),
                        file: (file != path).then_some(file),
                    }],
                });
            };
            sc.equilibrium.parent = Some(Box::new(Scenario::from_file(parent)?));
        }
        Ok(sc)
    }

    /// Sets the chain constants (solved elsewhere, by chain) and records them as given, so that
    /// `scenario.resolved.toml` reruns with exactly these constants.
    pub fn set_constants(&mut self, constants: &[f64]) {
        for ((c, raw), &v) in self
            .chains
            .iter_mut()
            .zip(&mut self.raw.chains)
            .zip(constants)
        {
            c.constant_apy = v;
            raw.constant_apy = Some(v);
        }
        self.equilibrium.start = Start::Given;
        self.equilibrium.parent = None;
        self.raw.equilibrium.start = "given".into();
    }

    /// Parses and validates merged scenario text; errors are located through `prov`.
    pub(crate) fn from_merged(text: &str, prov: &Provenance) -> Result<Scenario, ScenarioError> {
        Self::from_merged_with(text, prov, None)
    }

    /// As [`Scenario::from_merged`], with the series already loaded when given (sweep points
    /// share their base's).
    pub(crate) fn from_merged_with(
        text: &str,
        prov: &Provenance,
        series: Option<&[Series]>,
    ) -> Result<Scenario, ScenarioError> {
        let path = prov.sources[0].path.clone();
        // Every problem of shape of every file at once, before serde stops at the first.
        let mut problems = Vec::new();
        for (i, source) in prov.sources.iter().enumerate() {
            let own = if prov.is_single() { text } else { &source.text };
            let found = shape::check(own).map_err(|e| syntax_error(&source.path, own, &e))?;
            problems.extend(found.into_iter().map(|mut p| {
                p.file = (i > 0).then(|| source.path.clone());
                p
            }));
        }
        if !problems.is_empty() {
            return Err(ScenarioError::Malformed { path, problems });
        }
        let raw: RawScenario = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            let field = path_at(text, offset);
            let (file, (line, column)) = if prov.is_single() {
                (path.clone(), line_col(text, offset))
            } else {
                prov.locate(&field)
            };
            ScenarioError::Parse {
                path: file,
                line,
                column,
                field: if field.is_empty() {
                    field
                } else {
                    format!("{field}: ")
                },
                message: e.message().trim().to_string(),
            }
        })?;
        let mut sc = validate::validate(raw).map_err(|mut problems| {
            for p in &mut problems {
                // A field absent from every file is reported where the file starts.
                let (file, location) = prov.locate(&p.path);
                p.location = Some(location);
                p.file = (file != path).then_some(file);
            }
            ScenarioError::Invalid {
                path: path.clone(),
                problems,
            }
        })?;
        sc.series = match series {
            Some(loaded) => loaded.to_vec(),
            None => load_series(&sc, prov)?,
        };
        if let Some(c) = sc.calibrate.as_mut()
            && let Some(t) = &c.targets
        {
            let (declared_in, _) = prov.locate("calibrate.targets");
            c.targets_path = Some(series::resolve_path(&declared_in, t));
        }
        Ok(sc)
    }

    /// The built-in baseline scenario.
    pub fn baseline() -> Scenario {
        Self::from_toml_str(BASELINE_TOML, &PathBuf::from("<built-in baseline.toml>"))
            .expect("the built-in baseline is validated by the test suite")
    }

    /// The series files an output folder keeps beside `scenario.resolved.toml`: (name, text).
    pub fn series_files(&self) -> Vec<(String, &str)> {
        let names = series::copy_names(&self.series);
        names
            .into_iter()
            .zip(&self.series)
            .map(|(n, s)| (n, s.text.as_str()))
            .collect()
    }

    /// Index of a chain by id.
    pub fn chain_index(&self, id: &str) -> Option<usize> {
        self.chains.iter().position(|c| c.id == id)
    }

    /// Total review rate of the initial population, per day.
    pub fn total_review_rate_per_day(&self) -> f64 {
        self.segments
            .iter()
            .map(|s| s.agents as f64 * s.review_rate_per_day)
            .sum()
    }

    /// The scenario as TOML with every default filled in, and this seed, runs and version.
    pub fn resolved_toml(&self) -> String {
        let mut raw = self.raw.clone();
        raw.seed = self.seed;
        raw.runs = self.runs;
        raw.l2sim_version = Some(env!("CARGO_PKG_VERSION").to_string());
        let names = series::copy_names(&self.series);
        for ((r, s), name) in raw.series.iter_mut().zip(&self.series).zip(names) {
            r.file = name;
            r.sha256 = Some(s.sha256.clone());
        }
        toml::to_string_pretty(&raw).expect("a raw scenario always serialises")
    }
}

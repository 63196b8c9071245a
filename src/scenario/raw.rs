//! Raw scenario structs: a one-to-one mirror of the TOML file, with serde defaults.
//!
//! Nothing here checks ranges or resolves ids; that is `validate`'s job. These structs are also
//! what `scenario.resolved.toml` is written from, so every default is visible in that file.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::calendar::RawDay;

/// A whole scenario file as written.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Short name, `[a-z0-9_-]+`; default output folder is `outputs/<name>/`.
    pub name: String,
    /// One line shown by `validate` and in reports.
    #[serde(default)]
    pub description: String,
    /// Simulated time span in days.
    #[schemars(extend("x-unit" = "days"))]
    pub horizon_days: f64,
    /// Interval between two samples of the observables, in days (unless `sample` says otherwise).
    #[serde(default = "one")]
    #[schemars(extend("x-unit" = "days"))]
    pub sample_every_days: f64,
    /// Calendar date of day 0, `YYYY-MM-DD`. With it, any day field may be written as a date, and
    /// `quantiles.csv` and `trajectories.csv` carry a `date` column beside `day`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// `"month_end"`: sample on the last day of every month (needs `start_date`), plus day 0 and
    /// the horizon, instead of every `sample_every_days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<String>,
    /// Number of Monte Carlo runs (overridden by `--runs`).
    #[serde(default = "default_runs")]
    #[schemars(range(min = 1, max = 10_000_000))]
    #[schemars(extend("x-unit" = "count"))]
    pub runs: u64,
    /// Master seed (overridden by `--seed`).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Time to bridge into any chain other than the L1, in days.
    #[serde(default = "default_bridge_time")]
    #[schemars(extend("x-unit" = "days"))]
    pub bridge_time_days: f64,
    /// If true, an agent whose capital was scaled by `s` to match its chain's initial TVL stands
    /// for `s` wallets: per-transaction fees and activity count `s` times (see docs/MODEL.md).
    #[serde(default)]
    pub cohorts: bool,
    /// Version of l2sim that wrote a resolved scenario; informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l2sim_version: Option<String>,
    #[serde(default)]
    pub market: RawMarket,
    /// Nested logit by chain kind: dissimilarity of each nest in (0, 1]; all 1 is plain logit.
    #[serde(default)]
    pub nests: RawNests,
    /// Chains, exactly one of kind `l1`.
    #[serde(default)]
    pub chains: Vec<RawChain>,
    /// Segments of agents (holders of capital).
    #[serde(default)]
    pub segments: Vec<RawSegment>,
    /// Scheduled events; `kind` says which fields apply (docs/MODEL.md section 4).
    #[serde(default)]
    pub events: Vec<RawEvent>,
    /// Bass awareness by chain kind: a chain launching after day 0 without its own `awareness`
    /// takes its kind's.
    #[serde(default, skip_serializing_if = "RawAwarenessByKind::is_empty")]
    pub awareness: RawAwarenessByKind,
    /// How the chain constants are set so that the day-0 allocation is at rest.
    #[serde(default, skip_serializing_if = "RawEquilibrium::is_default")]
    pub equilibrium: RawEquilibrium,
    /// Time series that drive fields over time (observed fees, the ETH price, inflows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<RawSeries>,
    /// Parameter grid for `l2sim sweep` (ignored by `run` and `compare`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<RawSweep>,
    /// Free parameters and the fit window for `l2sim calibrate` (ignored by `run` unless it names
    /// `targets`, when `run` also reports the loss against them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibrate: Option<RawCalibrate>,
}

/// `[calibrate]`: the parameters `l2sim calibrate` fits and the targets after `fit_until` that
/// it holds out (docs/MODEL.md, section 11).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawCalibrate {
    /// Last day (or date) of the fit window: targets after it are held out of the fit and only
    /// scored.
    pub fit_until: RawDay,
    /// Observed targets (tidy CSV: `date` or `day`, `metric`, `chain`, `value`, optional
    /// `weight`), relative to this file. Optional: `l2sim calibrate` takes `--targets`; a
    /// scenario written by it names its copy, so that `l2sim run` reports the same loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<String>,
    /// `"design"` (default): the search starts from a Latin hypercube of the box; `"scenario"`:
    /// the parameters' values in this file are evaluated first and join the start points (a warm
    /// start from an earlier fit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// The free parameters.
    #[serde(default)]
    pub parameter: Vec<RawCalibrateParameter>,
}

/// One free parameter (of `[calibrate]`, or one `[[sweep.range]]` of a design): a field path as in
/// `[sweep]`, its bounds and the scale it is searched or sampled on.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawCalibrateParameter {
    /// Path of the field (`segments.retail.logit_scale`, `chains.arbitrum.constant_apy`), or of
    /// a group: `chains.kind:<kind>.<field>` is the field of every chain of that kind.
    pub field: String,
    /// Other field paths set to the same value (one parameter shared by several chains or kinds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// `"linear"` (default) or `"log"` (searched on the logarithm; needs `min > 0`).
    #[serde(default = "linear")]
    pub scale: String,
}

fn linear() -> String {
    "linear".into()
}

/// `[sweep]`: `grid` axes form a Cartesian product (the first varies slowest); `zip` axes, all of
/// the same length, vary together as one more axis. With `design`, the points are instead a
/// space-filling design over the `range` parameters (docs/MODEL.md, section 12).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    #[serde(default)]
    pub grid: Vec<RawSweepAxis>,
    #[serde(default)]
    pub zip: Vec<RawSweepAxis>,
    /// `"lhs"` (Latin hypercube), `"sobol"` (Saltelli's design for Sobol indices: N·(k+2)
    /// points) or `"morris"` (Morris trajectories: N·(k+1) points) over the `range` parameters;
    /// absent: the `grid` and `zip` axes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<String>,
    /// Base sample size N of the design (Latin hypercube: points; Sobol: base rows; Morris:
    /// trajectories).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2))]
    pub samples: Option<u64>,
    /// Seed of the design's own random numbers (the runs keep the batch's seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design_seed: Option<u64>,
    /// Grid levels of a Morris design (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 64))]
    pub levels: Option<u64>,
    /// The design's parameters: a field path (or a group: `chains.kind:zk.<field>` sets the
    /// field of every chain of that kind; `also` lists more paths set to the same value), its
    /// bounds and scale.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub range: Vec<RawCalibrateParameter>,
    /// Output metrics of `l2sim sensitivity` (`runs.csv` columns; default: the shares of each
    /// kind of chain and `zk_overtakes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<String>,
    /// The binary outcome of `l2sim discover`: a `runs.csv` column compared with a number
    /// (`zk_share > 0.3`), or an indicator column on its own (`zk_overtakes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// One swept field: a path into the scenario (`chains.zksync.withdrawal_delay_days`,
/// `segments.retail.logit_scale`, `market.contagion`, `horizon_days`) and its values.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawSweepAxis {
    /// Path of the swept field (not `seed` or `runs`: every point shares the batch's).
    pub field: String,
    /// Its values, one per point along the axis.
    #[schemars(with = "Vec<serde_json::Value>")]
    pub values: Vec<toml::Value>,
}

/// `[equilibrium]`: the equilibrium start (docs/MODEL.md, section 2a).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawEquilibrium {
    /// `off` (default: no constants solved, agents start in proportion to TVL, the reference
    /// model); `solve` (solve the chain constants so that the day-0 TVL is the agents' stationary
    /// allocation, agents start from their own stationary distribution); `parent` (the constants
    /// solved for the scenario this file extends: a counterfactual keeps the status quo's
    /// constants); `given` (the constants as written, agents start from their stationary
    /// distribution: what `scenario.resolved.toml` records).
    #[serde(default = "default_start")]
    pub start: String,
    /// Largest |ln(model share / day-0 share)| accepted over the chains.
    #[schemars(extend("x-unit" = "log ratio"))]
    #[serde(default = "default_equilibrium_tolerance")]
    pub tolerance: f64,
    /// Newton iterations before giving up (the failure is reported).
    #[serde(default = "default_equilibrium_iterations")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_iterations: u32,
}

impl Default for RawEquilibrium {
    fn default() -> Self {
        RawEquilibrium {
            start: default_start(),
            tolerance: default_equilibrium_tolerance(),
            max_iterations: default_equilibrium_iterations(),
        }
    }
}

impl RawEquilibrium {
    fn is_default(&self) -> bool {
        *self == RawEquilibrium::default()
    }
}

fn default_start() -> String {
    "off".into()
}
fn default_equilibrium_tolerance() -> f64 {
    1e-9
}
fn default_equilibrium_iterations() -> u32 {
    50
}

/// One `[[series]]`: a CSV file of dated values driving one field (docs/MODEL.md, section 8).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawSeries {
    /// CSV file with a `date` (or `day`) column and a `value` column, relative to the scenario
    /// file that names it.
    pub file: String,
    /// The field it drives: `chains.<id>.<settable field>`, `market.price_factor` (the value
    /// divided by the first one) or `market.inflow_apy`.
    pub target: String,
    /// `step` (a value holds until the next row's day) or `linear`.
    #[serde(default = "default_interpolation")]
    pub interpolation: String,
    /// SHA-256 of the file, as `scenario.resolved.toml` records it; when given, the file must
    /// match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

fn default_interpolation() -> String {
    "step".into()
}

/// System-wide market parameters.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMarket {
    /// Drift of the market price factor `P(t)` (GBM), per year.
    #[serde(default)]
    #[schemars(extend("x-unit" = "1/year"))]
    pub price_drift_apy: f64,
    /// Volatility of `P(t)`, per sqrt(year); 0 turns the price factor off.
    #[serde(default)]
    #[schemars(extend("x-unit" = "1/sqrt(year)"))]
    pub price_volatility: f64,
    /// Floor `ε` of a chain's TVL share inside `ln` of the network term.
    #[serde(default = "default_share_floor")]
    #[schemars(extend("x-unit" = "fraction"))]
    pub network_share_floor: f64,
    /// Cap on the incentive APY.
    #[serde(default = "one")]
    #[schemars(extend("x-unit" = "fraction/year"))]
    pub incentive_apy_cap: f64,
    /// TVL floor (USD) in the incentive APY's denominator.
    #[serde(default = "default_incentive_floor")]
    #[schemars(extend("x-unit" = "USD"))]
    pub incentive_tvl_floor_usd: f64,
    /// Perceived hack rate (per year) added to a chain right after a hack on it.
    #[serde(default)]
    #[schemars(extend("x-unit" = "1/year"))]
    pub hack_risk_shock_per_year: f64,
    /// Fraction of that shock (and of panic probability) applied to chains of the same kind.
    #[serde(default)]
    #[schemars(extend("x-unit" = "fraction"))]
    pub contagion: f64,
    /// Half-life of perceived-risk shocks, in days.
    #[serde(default = "default_half_life")]
    #[schemars(extend("x-unit" = "days"))]
    pub risk_half_life_days: f64,
    /// Capital entering (or, negative, leaving) the ecosystem as a rate on every holding, booked
    /// as inflows; shares do not move by it (a series may drive it).
    #[serde(default)]
    #[schemars(extend("x-unit" = "fraction/year"))]
    pub inflow_apy: f64,
    /// Loss `ℓ0` (fraction of TVL) that sets how strongly a hack is felt: panic, the perceived-risk
    /// shock and contagion are scaled by `1 − exp(−ℓ/ℓ0)` of the users' loss `ℓ`; 0 (default)
    /// scales nothing (every hack is felt in full, the reference model).
    #[serde(default)]
    #[schemars(extend("x-unit" = "fraction"))]
    pub hack_loss_scale: f64,
}

impl Default for RawMarket {
    fn default() -> Self {
        Self {
            price_drift_apy: 0.0,
            price_volatility: 0.0,
            network_share_floor: default_share_floor(),
            incentive_apy_cap: 1.0,
            incentive_tvl_floor_usd: default_incentive_floor(),
            hack_risk_shock_per_year: 0.0,
            contagion: 0.0,
            risk_half_life_days: default_half_life(),
            inflow_apy: 0.0,
            hack_loss_scale: 0.0,
        }
    }
}

/// Dissimilarity parameter of each kind's nest in the nested logit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawNests {
    /// Dissimilarity μ of the L1 nest (1: no nesting).
    #[serde(default = "one")]
    pub l1: f64,
    /// Dissimilarity μ of the optimistic-rollup nest.
    #[serde(default = "one")]
    pub optimistic: f64,
    /// Dissimilarity μ of the ZK-rollup nest.
    #[serde(default = "one")]
    pub zk: f64,
    /// Dissimilarity μ of the alt-L1 nest.
    #[serde(default = "one")]
    pub alt_l1: f64,
}

impl Default for RawNests {
    fn default() -> Self {
        Self {
            l1: 1.0,
            optimistic: 1.0,
            zk: 1.0,
            alt_l1: 1.0,
        }
    }
}

/// One chain as written.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawChain {
    /// Identifier, `[a-z0-9_-]{1,64}`, unique; used in outputs and events.
    pub id: String,
    /// Display name (default: the id).
    #[serde(default)]
    pub name: String,
    /// `l1` (exactly one chain), `optimistic`, `zk` or `alt_l1`.
    pub kind: String,
    /// Day the chain starts to exist (0 for the L1; at most `horizon_days`), or its date.
    #[schemars(extend("x-unit" = "days"))]
    #[serde(default)]
    pub launch_day: RawDay,
    /// TVL at day 0; must be 0 when `launch_day > 0`.
    #[schemars(extend("x-unit" = "USD"))]
    #[serde(default)]
    pub initial_tvl_usd: f64,
    /// Fee of a typical DeFi transaction at reference conditions (settable).
    #[schemars(extend("x-unit" = "USD"))]
    pub tx_cost_usd: f64,
    /// Rollups: share of the L1 fee paid for data per L2 transaction; 0 for other kinds (settable).
    #[schemars(extend("x-unit" = "fraction"))]
    #[serde(default)]
    pub data_cost_factor: f64,
    /// Rollups: fraction of a change of the data cost after day 0 (a `fee_change` or `parameter`
    /// event on `data_cost_factor`, e.g. EIP-4844 blobs) that reaches users' fee; the rest is the
    /// sequencer's data margin, `(1 − π)·(f₀ − f)·fee_l1` per transaction (docs/MODEL.md §2).
    /// Default 1: the L1 data fee of the OP Stack and Arbitrum follows the L1 data price through an
    /// oracle, and L2 fees fell ~90 % at Dencun (March 2024); evidence of margins widening after
    /// it (onchaineconomics.io "where your fees go", ASXN "EIP-4844 & sequencer margins") makes
    /// 0.5–1 the plausible range.
    #[schemars(extend("x-unit" = "fraction"))]
    #[serde(default = "default_pass_through")]
    pub data_cost_pass_through: f64,
    /// 0 means unlimited (no congestion).
    #[serde(default)]
    #[schemars(extend("x-unit" = "tx/day"))]
    pub capacity_tx_per_day: f64,
    /// Exponent of the congestion multiplier (settable).
    #[serde(default)]
    pub congestion_elasticity: f64,
    /// σ of the fee shock's Ornstein-Uhlenbeck process; L1 and alt-L1 only (settable).
    #[schemars(extend("x-unit" = "1/sqrt(day)"))]
    #[serde(default)]
    pub gas_volatility: f64,
    /// θ, mean reversion of the fee shock (settable).
    #[schemars(extend("x-unit" = "1/day"))]
    #[serde(default)]
    pub gas_reversion_per_day: f64,
    /// Time until a user trusts a transaction (settable).
    #[schemars(extend("x-unit" = "seconds"))]
    pub confirmation_s: f64,
    /// Canonical withdrawal delay: the challenge period of optimistic rollups, proof time of ZK rollups; 0 for the L1 (settable).
    #[schemars(extend("x-unit" = "days"))]
    #[serde(default)]
    pub withdrawal_delay_days: f64,
    /// Capital of fast-bridge liquidity providers (settable; a change adjusts the available pool by
    /// the difference).
    #[schemars(extend("x-unit" = "USD"))]
    #[serde(default)]
    pub fast_exit_liquidity_usd: f64,
    /// Base fee to skip the withdrawal delay (settable).
    #[schemars(extend("x-unit" = "bps"))]
    #[serde(default)]
    pub fast_exit_base_bps: f64,
    /// APR the fast-exit pool charges against its utilisation (all zero: off).
    #[serde(default)]
    pub fast_exit_apr: RawAprCurve,
    /// Cost of bridging in, beyond gas (settable).
    #[schemars(extend("x-unit" = "bps"))]
    #[serde(default)]
    pub bridge_fee_bps: f64,
    /// Yield on deployed capital (settable).
    #[schemars(extend("x-unit" = "fraction/year"))]
    #[serde(default)]
    pub organic_yield_apy: f64,
    /// Standing incentive emissions (settable).
    #[schemars(extend("x-unit" = "USD/day"))]
    #[serde(default)]
    pub incentives_usd_per_day: f64,
    /// Poisson rate of exploits (settable).
    #[schemars(extend("x-unit" = "1/year"))]
    #[serde(default)]
    pub hack_rate_per_year: f64,
    /// Loss of a hack as a fraction of the chain's TVL.
    #[serde(default)]
    pub hack_loss: RawLoss,
    /// Perceived baseline risk (settable).
    #[schemars(extend("x-unit" = "fraction/year"))]
    #[serde(default)]
    pub risk_premium_apy: f64,
    /// Share of the chain's capital whose value moves with its asset price (the market price
    /// factor `P(t)`, or the chain's own price when `own_price_volatility` or `own_price_drift_apy`
    /// is set); the rest is held in stablecoins. 1 (default): all of it, the reference model.
    #[schemars(extend("x-unit" = "fraction"))]
    #[serde(default = "one")]
    pub price_exposure: f64,
    /// Drift of the chain's own asset price (GBM), per year: an alt-L1 whose capital follows its
    /// own token rather than ETH.
    #[schemars(extend("x-unit" = "1/year"))]
    #[serde(default)]
    pub own_price_drift_apy: f64,
    /// Volatility of the chain's own asset price, per sqrt(year).
    #[schemars(extend("x-unit" = "1/sqrt(year)"))]
    #[serde(default)]
    pub own_price_volatility: f64,
    /// Bass diffusion of awareness of a chain that launches after day 0: an agent considers it only
    /// once aware, awareness arriving at the hazard `innovation + imitation · adoption` (the share of
    /// the eligible wallets holding capital on it). Absent: everyone is aware at launch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awareness: Option<RawAwareness>,
    /// Alternative-specific constant: what every agent values in the chain beyond the modelled
    /// terms. Solved for chains present at day 0 when `[equilibrium] start` is `solve` or
    /// `parent`; a chain launching later takes this value, or when absent the TVL-weighted mean
    /// of the solved constants of its kind.
    #[schemars(extend("x-unit" = "fraction/year"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant_apy: Option<f64>,
}

/// `[awareness.<kind>]`: Bass parameters for the late chains of a kind.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawAwarenessByKind {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimistic: Option<RawAwareness>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zk: Option<RawAwareness>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_l1: Option<RawAwareness>,
}

impl RawAwarenessByKind {
    fn is_empty(&self) -> bool {
        *self == RawAwarenessByKind::default()
    }
}

/// Bass parameters of a chain's awareness (docs/MODEL.md, section 4a).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawAwareness {
    /// `p`: awareness arriving without imitation (meta-analysis mean 0.03, Sultan, Farley and
    /// Lehmann 1990).
    #[schemars(extend("x-unit" = "1/year"))]
    pub innovation_per_year: f64,
    /// `q`: awareness from the chain's adopters (meta-analysis mean 0.38).
    #[schemars(extend("x-unit" = "1/year"))]
    pub imitation_per_year: f64,
}

/// Piecewise-linear APR of a fast-exit LP pool against its utilisation (all zero: off).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawAprCurve {
    /// APR at zero utilisation.
    #[schemars(extend("x-unit" = "fraction/year"))]
    #[serde(default)]
    pub at_zero: f64,
    /// Utilisation of the kink.
    #[schemars(extend("x-unit" = "fraction"))]
    #[serde(default = "default_kink")]
    pub kink: f64,
    /// APR at the kink.
    #[schemars(extend("x-unit" = "fraction/year"))]
    #[serde(default)]
    pub at_kink: f64,
    /// APR at full utilisation.
    #[schemars(extend("x-unit" = "fraction/year"))]
    #[serde(default)]
    pub at_full: f64,
}

impl Default for RawAprCurve {
    fn default() -> Self {
        Self {
            at_zero: 0.0,
            kink: default_kink(),
            at_kink: 0.0,
            at_full: 0.0,
        }
    }
}

/// Loss of a hack as a fraction of the chain's TVL.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, tag = "dist", rename_all = "snake_case")]
pub enum RawLoss {
    /// Always the same fraction.
    Fixed {
        /// Fraction of TVL lost.
        #[schemars(extend("x-unit" = "fraction"))]
        value: f64,
    },
    /// Beta-distributed fraction.
    Beta {
        /// α of the Beta distribution.
        alpha: f64,
        /// β of the Beta distribution.
        beta: f64,
    },
}

impl Default for RawLoss {
    fn default() -> Self {
        RawLoss::Fixed { value: 0.1 }
    }
}

/// Distribution of an agent's capital in USD.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, tag = "dist", rename_all = "snake_case")]
pub enum RawCapital {
    /// Lognormal capital.
    Lognormal {
        /// Median capital.
        #[schemars(extend("x-unit" = "USD"))]
        median_usd: f64,
        /// σ of ln(capital).
        sigma: f64,
    },
    /// Pareto capital.
    Pareto {
        /// Smallest capital.
        #[schemars(extend("x-unit" = "USD"))]
        min_usd: f64,
        /// Tail index α.
        alpha: f64,
    },
}

/// One segment of agents as written.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSegment {
    /// Identifier, `[a-z0-9_-]{1,64}`, unique; used by events.
    pub name: String,
    /// Number of agents.
    #[schemars(extend("x-unit" = "count"), range(min = 1, max = 50_000_000))]
    pub agents: u64,
    /// Distribution of an agent's capital.
    pub capital: RawCapital,
    /// Activity: transactions per month; drives the fee burden and demand.
    #[schemars(extend("x-unit" = "tx/month"))]
    #[serde(default)]
    pub tx_per_month: f64,
    /// Elasticity `e` of activity to the fee above `reference_fee_usd`: a wallet makes
    /// `tx_per_month · (reference_fee_usd / fee)^e` transactions when the fee is higher; 0
    /// (default) keeps activity fixed (the reference model).
    #[serde(default)]
    pub fee_elasticity: f64,
    /// Fee up to which a wallet makes all its `tx_per_month` transactions.
    #[schemars(extend("x-unit" = "USD"))]
    #[serde(default)]
    pub reference_fee_usd: f64,
    /// Poisson rate at which an agent reviews where it holds capital.
    #[schemars(extend("x-unit" = "1/day"))]
    pub review_rate_per_day: f64,
    /// λ: the odds of two chains are `exp(λ·ΔU)`.
    #[schemars(extend("x-unit" = "1/(fraction/year)"))]
    pub logit_scale: f64,
    /// Weight of yield in the utility.
    #[serde(default = "one")]
    pub w_yield: f64,
    /// Weight of fees in the utility.
    #[serde(default = "one")]
    pub w_cost: f64,
    /// Weight of confirmation time in the utility.
    #[serde(default)]
    pub w_speed: f64,
    /// Weight of the withdrawal-delay liquidity risk in the utility.
    #[serde(default = "one")]
    pub w_liquidity: f64,
    /// Weight of hack risk in the utility.
    #[serde(default = "one")]
    pub w_risk: f64,
    /// Weight of the network term (log TVL share) in the utility.
    #[serde(default)]
    pub w_network: f64,
    /// Weight of the within-kind network term: the log of a chain's share of the TVL of its own
    /// kind (the within-group share of the nested logit, Berry 1994); 0 (default): none.
    #[serde(default)]
    pub w_network_kind: f64,
    /// Chance of needing the money urgently.
    #[schemars(extend("x-unit" = "1/year"))]
    #[serde(default)]
    pub emergency_prob_per_year: f64,
    /// What a day of waiting costs in an emergency.
    #[schemars(extend("x-unit" = "fraction/day"))]
    #[serde(default)]
    pub emergency_cost_per_day: f64,
    /// Spread of persistent per-chain tastes.
    #[schemars(extend("x-unit" = "fraction/year"))]
    #[serde(default)]
    pub taste_sd: f64,
    /// Status-quo bonus for the chain the agent is on.
    #[schemars(extend("x-unit" = "fraction/year"))]
    #[serde(default)]
    pub inertia_apy: f64,
    /// Habit: inertia that grows with the time an agent has spent on its chain, up to this much
    /// more: `inertia_apy + habit_apy · (1 − exp(−tenure / habit_days))`; 0 (default): none.
    #[schemars(extend("x-unit" = "fraction/year"))]
    #[serde(default)]
    pub habit_apy: f64,
    /// Time constant of the habit.
    #[schemars(extend("x-unit" = "days"))]
    #[serde(default = "default_habit_days")]
    pub habit_days: f64,
    /// Multiplies the Bass awareness hazard of every new chain for this segment's agents:
    /// above 1 they learn of launches sooner than the rest ("influentials"), below 1 later; 1
    /// (default): the chain's own rate.
    #[schemars(extend("x-unit" = "ratio"))]
    #[serde(default = "one")]
    pub awareness_scale: f64,
    /// Horizon over which migration costs are amortised.
    #[schemars(extend("x-unit" = "days"))]
    #[serde(default = "default_horizon")]
    pub holding_horizon_days: f64,
    /// Kinds this segment may hold capital on; empty together with `allowed_chains` means all.
    #[serde(default)]
    pub allowed_kinds: Vec<String>,
    /// Chains this segment may hold capital on, in addition to `allowed_kinds`.
    #[serde(default)]
    pub allowed_chains: Vec<String>,
    /// Chance of leaving a chain right after a hack on it.
    #[schemars(extend("x-unit" = "probability"))]
    #[serde(default)]
    pub panic_prob: f64,
}

/// A scheduled event. One flat table per event; `kind` says which fields apply.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    /// Day the event happens (at most `horizon_days`), or its date.
    #[schemars(extend("x-unit" = "days"))]
    pub day: RawDay,
    /// `incentives`, `airdrop`, `fee_change`, `delay_change`, `hack`, `user_inflow`, `capital_outflow`, `allow` or `parameter`.
    pub kind: String,
    /// Chain id the event applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    /// `fee_change`: every chain of this kind instead of one chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_kind: Option<String>,
    /// Segment name (`user_inflow`, `allow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// `incentives`: emissions.
    #[schemars(extend("x-unit" = "USD/day"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_day: Option<f64>,
    /// `incentives`: length of the program; `user_inflow`: spread of arrivals (default 1).
    #[schemars(extend("x-unit" = "days"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_days: Option<f64>,
    /// `airdrop`: extra yield farmers perceive until `airdrop_day`.
    #[schemars(extend("x-unit" = "fraction/year"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speculative_apy: Option<f64>,
    /// `airdrop`: what farmers expect it to be worth, USD, shared pro rata to capital: the yield
    /// they perceive is `expected_value_usd / TVL · 365 / days left` (capped at
    /// `market.incentive_apy_cap`), diluted as capital arrives (instead of `speculative_apy`).
    #[schemars(extend("x-unit" = "USD"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_value_usd: Option<f64>,
    /// `airdrop`: day of the airdrop (from `day` to `horizon_days`), or its date.
    #[schemars(extend("x-unit" = "days"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub airdrop_day: Option<RawDay>,
    /// `airdrop`: value paid pro rata to holders (default 0).
    #[schemars(extend("x-unit" = "USD"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_usd: Option<f64>,
    /// `fee_change`: multiplies `tx_cost_usd` (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_cost_multiplier: Option<f64>,
    /// `fee_change`: multiplies `data_cost_factor` (default 1; EIP-4844 blobs ≈ 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_cost_multiplier: Option<f64>,
    /// `delay_change`: new canonical withdrawal delay.
    #[schemars(extend("x-unit" = "days"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal_delay_days: Option<f64>,
    /// `hack`: fraction of the chain's TVL stolen.
    #[schemars(extend("x-unit" = "fraction"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// `hack`: fraction of the stolen amount returned to users (default 0; 1 when users were made
    /// whole, as after the Wormhole exploit of 2022-02-02).
    #[schemars(extend("x-unit" = "fraction"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reimbursed: Option<f64>,
    /// `user_inflow`: agents arriving.
    #[schemars(extend("x-unit" = "count"), range(min = 1, max = 50_000_000))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<u64>,
    /// `user_inflow`: their capital (default: the segment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capital: Option<RawCapital>,
    /// `capital_outflow`: fraction of every chain's TVL that leaves.
    #[schemars(extend("x-unit" = "fraction"))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    /// `allow`: chains the segment may use from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chains: Option<Vec<String>>,
    /// `allow`: kinds the segment may use from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<String>>,
    /// `parameter`: a settable chain field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// `parameter`: its new value (in that field's unit and range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

fn one() -> f64 {
    1.0
}
fn default_pass_through() -> f64 {
    1.0
}

fn default_runs() -> u64 {
    200
}
fn default_seed() -> u64 {
    1
}
fn default_bridge_time() -> f64 {
    0.01
}
fn default_share_floor() -> f64 {
    1e-4
}
fn default_incentive_floor() -> f64 {
    1e6
}
fn default_half_life() -> f64 {
    30.0
}
fn default_habit_days() -> f64 {
    90.0
}
fn default_kink() -> f64 {
    0.65
}
fn default_horizon() -> f64 {
    365.0
}

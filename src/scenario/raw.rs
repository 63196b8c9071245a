//! Raw scenario structs: a one-to-one mirror of the TOML file, with serde defaults.
//!
//! Nothing here checks ranges or resolves ids; that is `validate`'s job. These structs are also
//! what `scenario.resolved.toml` is written from, so every default is visible in that file.

use serde::{Deserialize, Serialize};

/// A whole scenario file as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Short name, `[a-z0-9_-]+`; default output folder is `outputs/<name>/`.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Simulated time span in days.
    pub horizon_days: f64,
    /// Interval between two samples of the observables, in days.
    #[serde(default = "one")]
    pub sample_every_days: f64,
    /// Number of Monte Carlo runs (overridden by `--runs`).
    #[serde(default = "default_runs")]
    pub runs: u64,
    /// Master seed (overridden by `--seed`).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Time to bridge into any chain other than the L1, in days.
    #[serde(default = "default_bridge_time")]
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
    #[serde(default)]
    pub chains: Vec<RawChain>,
    #[serde(default)]
    pub segments: Vec<RawSegment>,
    #[serde(default)]
    pub events: Vec<RawEvent>,
    /// Parameter grid for `l2sim sweep` (ignored by `run` and `compare`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<RawSweep>,
}

/// `[sweep]`: `grid` axes form a Cartesian product (the first varies slowest); `zip` axes, all of
/// the same length, vary together as one more axis.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    #[serde(default)]
    pub grid: Vec<RawSweepAxis>,
    #[serde(default)]
    pub zip: Vec<RawSweepAxis>,
}

/// One swept field: a path into the scenario (`chains.zksync.withdrawal_delay_days`,
/// `segments.retail.logit_scale`, `market.contagion`, `horizon_days`) and its values.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawSweepAxis {
    pub field: String,
    pub values: Vec<toml::Value>,
}

/// System-wide market parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMarket {
    /// Drift of the market price factor `P(t)` (GBM), per year.
    #[serde(default)]
    pub price_drift_apy: f64,
    /// Volatility of `P(t)`, per sqrt(year); 0 turns the price factor off.
    #[serde(default)]
    pub price_volatility: f64,
    /// Floor `ε` of a chain's TVL share inside `ln` of the network term.
    #[serde(default = "default_share_floor")]
    pub network_share_floor: f64,
    /// Cap on the incentive APY.
    #[serde(default = "one")]
    pub incentive_apy_cap: f64,
    /// TVL floor (USD) in the incentive APY's denominator.
    #[serde(default = "default_incentive_floor")]
    pub incentive_tvl_floor_usd: f64,
    /// Perceived hack rate (per year) added to a chain right after a hack on it.
    #[serde(default)]
    pub hack_risk_shock_per_year: f64,
    /// Fraction of that shock (and of panic probability) applied to chains of the same kind.
    #[serde(default)]
    pub contagion: f64,
    /// Half-life of perceived-risk shocks, in days.
    #[serde(default = "default_half_life")]
    pub risk_half_life_days: f64,
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
        }
    }
}

/// Dissimilarity parameter of each kind's nest in the nested logit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawNests {
    #[serde(default = "one")]
    pub l1: f64,
    #[serde(default = "one")]
    pub optimistic: f64,
    #[serde(default = "one")]
    pub zk: f64,
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
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChain {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub launch_day: f64,
    #[serde(default)]
    pub initial_tvl_usd: f64,
    pub tx_cost_usd: f64,
    #[serde(default)]
    pub data_cost_factor: f64,
    /// 0 means unlimited (no congestion).
    #[serde(default)]
    pub capacity_tx_per_day: f64,
    #[serde(default)]
    pub congestion_elasticity: f64,
    #[serde(default)]
    pub gas_volatility: f64,
    #[serde(default)]
    pub gas_reversion_per_day: f64,
    pub confirmation_s: f64,
    #[serde(default)]
    pub withdrawal_delay_days: f64,
    #[serde(default)]
    pub fast_exit_liquidity_usd: f64,
    #[serde(default)]
    pub fast_exit_base_bps: f64,
    #[serde(default)]
    pub fast_exit_apr: RawAprCurve,
    #[serde(default)]
    pub bridge_fee_bps: f64,
    #[serde(default)]
    pub organic_yield_apy: f64,
    #[serde(default)]
    pub incentives_usd_per_day: f64,
    #[serde(default)]
    pub hack_rate_per_year: f64,
    #[serde(default)]
    pub hack_loss: RawLoss,
    #[serde(default)]
    pub risk_premium_apy: f64,
}

/// Piecewise-linear APR of a fast-exit LP pool against its utilisation (all zero: off).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawAprCurve {
    #[serde(default)]
    pub at_zero: f64,
    #[serde(default = "default_kink")]
    pub kink: f64,
    #[serde(default)]
    pub at_kink: f64,
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
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, tag = "dist", rename_all = "snake_case")]
pub enum RawLoss {
    Fixed { value: f64 },
    Beta { alpha: f64, beta: f64 },
}

impl Default for RawLoss {
    fn default() -> Self {
        RawLoss::Fixed { value: 0.1 }
    }
}

/// Distribution of an agent's capital in USD.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, tag = "dist", rename_all = "snake_case")]
pub enum RawCapital {
    Lognormal { median_usd: f64, sigma: f64 },
    Pareto { min_usd: f64, alpha: f64 },
}

/// One segment of agents as written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSegment {
    pub name: String,
    pub agents: u64,
    pub capital: RawCapital,
    #[serde(default)]
    pub tx_per_month: f64,
    pub review_rate_per_day: f64,
    pub logit_scale: f64,
    #[serde(default = "one")]
    pub w_yield: f64,
    #[serde(default = "one")]
    pub w_cost: f64,
    #[serde(default)]
    pub w_speed: f64,
    #[serde(default = "one")]
    pub w_liquidity: f64,
    #[serde(default = "one")]
    pub w_risk: f64,
    #[serde(default)]
    pub w_network: f64,
    #[serde(default)]
    pub emergency_prob_per_year: f64,
    #[serde(default)]
    pub emergency_cost_per_day: f64,
    #[serde(default)]
    pub taste_sd: f64,
    #[serde(default)]
    pub inertia_apy: f64,
    #[serde(default = "default_horizon")]
    pub holding_horizon_days: f64,
    /// Kinds this segment may hold capital on; empty together with `allowed_chains` means all.
    #[serde(default)]
    pub allowed_kinds: Vec<String>,
    /// Chains this segment may hold capital on, in addition to `allowed_kinds`.
    #[serde(default)]
    pub allowed_chains: Vec<String>,
    #[serde(default)]
    pub panic_prob: f64,
}

/// A scheduled event. One flat table per event; `kind` says which fields apply.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    pub day: f64,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usd_per_day: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_days: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speculative_apy: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub airdrop_day: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_cost_multiplier: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_cost_multiplier: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal_delay_days: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capital: Option<RawCapital>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraction: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

fn one() -> f64 {
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
fn default_kink() -> f64 {
    0.65
}
fn default_horizon() -> f64 {
    365.0
}

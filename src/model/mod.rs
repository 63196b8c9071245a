//! The economics of `docs/MODEL.md` as pure functions: fees, yields, fast exits, liquidity risk,
//! migration costs, the utility of holding capital on a chain, and the logit choice.
//!
//! No state, no I/O, no randomness of its own: the engine passes in the current market view and a
//! uniform number. Everything is in USD, days, and fractions of capital per year.

mod columns;
pub mod ln;

pub use columns::{
    Decision, DecisionColumns, LANES, WIDE_LANES, amortise_per_year, choose_padded, wide,
};

use crate::scenario::{AprCurve, Chain, Segment};

/// The market as one chain looks at one instant: what an agent's decision needs to know about it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChainView {
    /// Whether the chain has launched (only launched chains can be chosen).
    pub launched: bool,
    /// Fee of one typical transaction, USD.
    pub fee_usd: f64,
    /// What the chain pays the L1 for the data of one transaction (rollups), USD.
    pub data_fee_usd: f64,
    /// Sequencer's data margin on one transaction: what users are charged for data minus
    /// `data_fee_usd` (0 with full pass-through; [`chain_fee`]), USD.
    pub data_margin_usd: f64,
    /// Total yield on capital held here, fraction per year.
    pub yield_apy: f64,
    /// `log10(confirmation_s)`.
    pub log10_confirmation: f64,
    /// Perceived risk: hack rate × expected loss + risk premium, fraction per year.
    pub risk_apy: f64,
    /// `ln(TVL)` of this chain (`-inf` when empty); with [`MarketView::ln_total_tvl`] it gives the
    /// network term's `ln(max(share, ε))` without a logarithm per decision.
    pub ln_tvl: f64,
    /// `ln(Σ TVL)` over the launched chains of this chain's kind (`-inf` when all are empty).
    pub ln_kind_tvl: f64,
    /// Canonical withdrawal delay, days.
    pub delay_days: f64,
    /// Fast-exit fee as a fraction of the amount withdrawn.
    pub fast_fee_fraction: f64,
    /// Capital the fast-exit LP pool can pay out now, USD.
    pub pool_available_usd: f64,
    /// Bridge fee into this chain, fraction of the amount.
    pub bridge_fee_fraction: f64,
    /// Alternative-specific constant, fraction per year.
    pub constant_apy: f64,
}

/// Every chain's view plus what the network term needs about the whole market.
#[derive(Debug, Clone, Copy)]
pub struct MarketView<'a> {
    pub chains: &'a [ChainView],
    /// `ln(Σ TVL)` over all chains (capital in transit excluded).
    pub ln_total_tvl: f64,
    /// `ln(ε)`: the floor of `ln(share)` in the network term.
    pub ln_share_floor: f64,
}

impl MarketView<'_> {
    /// `ln(max(share_c, ε))`.
    pub fn ln_share(&self, c: usize) -> f64 {
        (self.chains[c].ln_tvl - self.ln_total_tvl).max(self.ln_share_floor)
    }

    /// `ln(max(share of its kind's TVL, ε))` (ε when the kind holds nothing).
    pub fn ln_kind_share(&self, c: usize) -> f64 {
        let v = &self.chains[c];
        let x = v.ln_tvl - v.ln_kind_tvl;
        if x.is_nan() {
            self.ln_share_floor
        } else {
            x.max(self.ln_share_floor)
        }
    }
}

/// Fee of one transaction on a chain and its parts, in USD ([`chain_fee`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChainFee {
    /// What the user pays: execution + the data charge.
    pub fee_usd: f64,
    /// What the chain pays the L1 for the transaction's data now.
    pub data_cost_usd: f64,
    /// Data charge − data cost, kept by the sequencer (negative when costs rose).
    pub data_margin_usd: f64,
}

/// Fee of one transaction on a chain (`docs/MODEL.md` §2).
///
/// `execution = tx_cost · shock · congestion` (`shock = exp(X)`, the chain's own OU fee shock,
/// 1 for rollups), `data cost = f · fee_l1` with `f` the data-cost factor now and `fee_l1` the
/// L1's fee at this instant. Users are charged for data `(f₀ + π·(f − f₀)) · fee_l1`, where `f₀`
/// is the factor as written (day 0) and `π = data_cost_pass_through`: a change of the data cost
/// after day 0 reaches users only by the fraction `π`, and the sequencer keeps the margin
/// `(1 − π)·(f₀ − f)·fee_l1`. With `π = 1` (or `f = f₀`) the charge is exactly the cost, the
/// margin 0, and the fee `execution + f · fee_l1`, bit for bit.
pub fn chain_fee(
    chain: &Chain,
    day0_data_cost_factor: f64,
    shock: f64,
    congestion: f64,
    fee_l1_usd: f64,
) -> ChainFee {
    let data = chain.data_cost_factor * fee_l1_usd;
    let (pi, f0, f) = (
        chain.data_cost_pass_through,
        day0_data_cost_factor,
        chain.data_cost_factor,
    );
    let charged = if pi == 1.0 || f == f0 {
        data
    } else {
        (f0 + pi * (f - f0)) * fee_l1_usd
    };
    ChainFee {
        fee_usd: chain.tx_cost_usd * shock * congestion + charged,
        data_cost_usd: data,
        data_margin_usd: if pi == 1.0 || f == f0 {
            0.0
        } else {
            charged - data
        },
    }
}

/// `max(1, demand / capacity)^elasticity`; capacity 0 means unlimited.
pub fn congestion(demand_tx_per_day: f64, capacity_tx_per_day: f64, elasticity: f64) -> f64 {
    if capacity_tx_per_day <= 0.0 || elasticity == 0.0 {
        return 1.0;
    }
    (demand_tx_per_day / capacity_tx_per_day)
        .max(1.0)
        .powf(elasticity)
}

/// Transactions per month of one wallet of `seg` at `fee_usd`: `tx_per_month` up to the
/// reference fee, then falling with constant elasticity `e`: `tx · (fee_ref / fee)^e`.
pub fn activity_tx_per_month(seg: &Segment, fee_usd: f64) -> f64 {
    if seg.fee_elasticity <= 0.0 || fee_usd <= seg.reference_fee_usd {
        return seg.tx_per_month;
    }
    seg.tx_per_month * (seg.reference_fee_usd / fee_usd).powf(seg.fee_elasticity)
}

/// What facing `fee_usd` costs one wallet of `seg` per month, in USD: the area under its demand
/// curve from 0 to the fee, `∫₀^fee n(p) dp` (the compensating variation: fees paid plus the
/// value of the transactions it no longer makes). `tx · fee` up to the reference fee; above it
/// `tx · f₀ · (1 + ((fee/f₀)^{1−e} − 1)/(1 − e))`, `tx · f₀ · (1 + ln(fee/f₀))` for `e = 1`.
pub fn fee_cost_per_month(seg: &Segment, fee_usd: f64) -> f64 {
    let (n0, f0, e) = (seg.tx_per_month, seg.reference_fee_usd, seg.fee_elasticity);
    if e <= 0.0 || fee_usd <= f0 {
        return n0 * fee_usd;
    }
    let r = fee_usd / f0;
    let above = if (e - 1.0).abs() < 1e-9 {
        r.ln()
    } else {
        (r.powf(1.0 - e) - 1.0) / (1.0 - e)
    };
    n0 * f0 * (1.0 + above)
}

/// Incentive APY diluted by TVL: `min(cap, 365 · usd_per_day / max(tvl, floor))`.
pub fn incentive_apy(usd_per_day: f64, tvl_usd: f64, cap: f64, floor_usd: f64) -> f64 {
    if usd_per_day <= 0.0 {
        return 0.0;
    }
    (365.0 * usd_per_day / tvl_usd.max(floor_usd)).min(cap)
}

/// How strongly a hack in which users lose `loss` (fraction of TVL) is felt, in `[0, 1]`:
/// `1 − exp(−loss/scale)`, which is 0 for a loss-free exploit, `loss/scale` for small losses and
/// tends to 1 for large ones; `scale = 0` feels every hack in full (the reference model).
pub fn hack_felt(loss: f64, scale: f64) -> f64 {
    if scale <= 0.0 {
        return 1.0;
    }
    1.0 - (-loss / scale).exp()
}

/// Fast-exit fee as a fraction of the amount: `base_bps/1e4 + APR(u) · delay / 365`.
pub fn fast_fee_fraction(base_bps: f64, apr: &AprCurve, utilisation: f64, delay_days: f64) -> f64 {
    base_bps * 1e-4 + apr.apr(utilisation) * delay_days / 365.0
}

/// Liquidity risk `L_c` of holding capital `k` on a chain: the cost, as a fraction of capital, of
/// needing the money urgently there.
pub fn liquidity_risk(view: &ChainView, k: f64, emergency_cost_per_day: f64) -> f64 {
    if view.delay_days <= 0.0 {
        return 0.0;
    }
    let wait = view.delay_days * emergency_cost_per_day;
    if view.pool_available_usd >= k {
        view.fast_fee_fraction.min(wait)
    } else {
        wait
    }
}

/// How capital leaves a chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Exit {
    /// Delay 0: nothing to wait for.
    Immediate,
    /// Paid to the fast-exit LPs of the source chain, fee in USD.
    Fast { fee_usd: f64 },
    /// Canonical withdrawal: capital in transit for the delay, forgone yield in USD.
    Canonical { forgone_usd: f64 },
}

impl Exit {
    /// What the exit costs, in USD.
    pub fn cost_usd(self) -> f64 {
        match self {
            Exit::Immediate => 0.0,
            Exit::Fast { fee_usd } => fee_usd,
            Exit::Canonical { forgone_usd } => forgone_usd,
        }
    }
}

/// The cheaper exit from `from` for capital `k` heading to a chain yielding `dest_yield_apy`:
/// fast when the pool holds at least `k` and the fee is below the yield forgone in transit.
pub fn exit(from: &ChainView, k: f64, dest_yield_apy: f64) -> Exit {
    if from.delay_days <= 0.0 {
        return Exit::Immediate;
    }
    let forgone_usd = k * dest_yield_apy.max(0.0) * from.delay_days / 365.0;
    let fee_usd = from.fast_fee_fraction * k;
    if from.pool_available_usd >= k && fee_usd < forgone_usd {
        Exit::Fast { fee_usd }
    } else {
        Exit::Canonical { forgone_usd }
    }
}

/// Migration cost `M(a→c)` in USD for capital `k` held by `wallets` wallets: exit + bridge fee
/// into `c` + one transaction on each side for every wallet.
pub fn migration_cost_usd(from: &ChainView, to: &ChainView, k: f64, wallets: f64) -> f64 {
    exit(from, k, to.yield_apy).cost_usd()
        + to.bridge_fee_fraction * k
        + wallets * (from.fee_usd + to.fee_usd)
}

/// Utility of every chain for one agent, written into `out` (`-inf` where not allowed).
///
/// `U(c)` of `docs/MODEL.md`: yield − fee burden − speed − liquidity risk − hack risk + network
/// plus taste, plus inertia on the current chain, minus the amortised migration cost elsewhere.
/// The agent holds capital `k` for `wallets` identical wallets (1 unless the scenario uses cohorts), so
/// per-transaction fees weigh on `k / wallets`. `fee_cost` (per chain, USD per wallet and month,
/// [`fee_cost_per_month`]) replaces `tx_per_month · fee` when the segment's activity is elastic.
/// `inertia_apy` is the agent's status-quo bonus now (the segment's, plus its habit).
#[allow(clippy::too_many_arguments)]
pub fn utilities(
    seg: &Segment,
    k: f64,
    wallets: f64,
    current: usize,
    allowed: u64,
    tastes: &[f32],
    market: &MarketView,
    fee_cost: Option<&[f64]>,
    inertia_apy: f64,
    out: &mut [f64],
) {
    let views = market.chains;
    let k = k.max(1e-9);
    let here = &views[current];
    let amortise = 365.0 / seg.holding_horizon_days / k;
    let fee_weight = seg.w_cost * 12.0 * seg.tx_per_month * wallets / k;
    // With elastic activity the fee term is the monthly cost of facing the fee (per wallet).
    let cost_weight = seg.w_cost * 12.0 * wallets / k;
    let liquidity_weight = seg.w_liquidity * seg.emergency_prob_per_year;
    for (c, v) in views.iter().enumerate() {
        if !v.launched || allowed & (1 << c) == 0 {
            out[c] = f64::NEG_INFINITY;
            continue;
        }
        let fee_term = match fee_cost {
            Some(cost) => cost_weight * cost[c],
            None => fee_weight * v.fee_usd,
        };
        let mut u = seg.w_yield * v.yield_apy
            - fee_term
            - seg.w_speed * v.log10_confirmation
            - liquidity_weight * liquidity_risk(v, k, seg.emergency_cost_per_day)
            - seg.w_risk * v.risk_apy
            + seg.w_network * market.ln_share(c)
            + f64::from(tastes[c])
            + v.constant_apy;
        if seg.w_network_kind != 0.0 {
            u += seg.w_network_kind * market.ln_kind_share(c);
        }
        if c == current {
            u += inertia_apy;
        } else {
            u -= migration_cost_usd(here, v, k, wallets) * amortise;
        }
        out[c] = u;
    }
}

/// `max(yield, 0) / 365` of a chain seen as `v`: the yield forgone per day in transit towards it,
/// fraction (the same for every segment).
pub fn forgone_per_day(v: &ChainView) -> f64 {
    v.yield_apy.max(0.0) / 365.0
}

/// The terms of one segment's utility of one chain that do not depend on the agent and change
/// only with the chain's own view (the network terms, which move with every chain's TVL, are
/// added per decision).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SegmentRow {
    /// `w_yield·y − w_speed·log10(confirmation) − w_risk·risk + constant`, fraction per year.
    pub base: f64,
    /// `w_liquidity · p_emergency · L` when the pool can pay the agent's capital out.
    pub liquidity_pooled: f64,
    /// The same when it cannot (the canonical wait).
    pub liquidity_waiting: f64,
    /// `max(yield, 0) / 365`: the yield forgone per day in transit towards this chain, fraction.
    pub forgone_per_day: f64,
}

impl SegmentRow {
    /// The row of segment `seg` for a chain seen as `v`.
    pub fn new(seg: &Segment, v: &ChainView) -> SegmentRow {
        let base = seg.w_yield * v.yield_apy
            - seg.w_speed * v.log10_confirmation
            - seg.w_risk * v.risk_apy
            + v.constant_apy;
        let weight = seg.w_liquidity * seg.emergency_prob_per_year;
        let (pooled, waiting) = if v.delay_days <= 0.0 {
            (0.0, 0.0)
        } else {
            let wait = v.delay_days * seg.emergency_cost_per_day;
            (weight * v.fast_fee_fraction.min(wait), weight * wait)
        };
        SegmentRow {
            base,
            liquidity_pooled: pooled,
            liquidity_waiting: waiting,
            forgone_per_day: forgone_per_day(v),
        }
    }
}

/// `exp(x)` for `x ≤ 600` ([`UNSHIFTED_LIMIT`]), the weight of a logit alternative: portable
/// (IEEE arithmetic and fused multiply-adds, `f64::mul_add`, which rounds once on every
/// platform, so the same bits everywhere, unlike the C library's `exp`, whose last bits glibc,
/// musl and Apple's libm do not promise to agree on) and branch-free, so a loop over chains
/// vectorises.
///
/// Cody–Waite reduction `x = n·ln 2 + r`, `|r| ≤ ln 2 / 2`, with `ln 2` split in a 32-bit head
/// and a tail, then the Taylor polynomial of `e^r` to degree 13 (truncation below 5e-18) by
/// Horner's rule for its first three steps and Estrin's scheme for the rest (`r³·h(r)`, `h`
/// from pairs `a_j + a_j+1·r` combined with `r²`, `r⁴`, `r⁸`), each `a + b·c` one fused
/// multiply-add: a chain of 7 dependent steps. Scaled by `2^n` through the exponent bits.
/// Exact at 0 (`exp_weight(0) = 1`), 0 below
/// −708 (where `exp` is below 3.3e-308, nothing against the best alternative's weight: at least
/// `e^−600`, [`logit_shift`]) and for −∞ and NaN; elsewhere within 1 ulp of glibc's `exp` at all
/// of the test's 10⁶ random points of [−708, 0], 93.9 % of them equal, and likewise (93.9 %) at its
/// 10⁶ of (0, 600] (`tests` asserts at most 2 ulp, and 99.9 % within 1). Where
/// the processor has no FMA instruction, `mul_add` is the C library's `fma` (the same bits,
/// slower): the engine's hot loops are compiled with FMA where it is present.
#[inline(always)]
pub fn exp_weight(x: f64) -> f64 {
    use exp_consts::{LN2_HI, LN2_LO, LOG2E, LOWEST, SHIFTER, TAYLOR};
    // Below LOWEST (and for NaN) the steps compute garbage that the last line discards: no
    // clamp on the critical path.
    let t = x.mul_add(LOG2E, SHIFTER);
    let n = t - SHIFTER;
    let r = n.mul_add(-LN2_LO, n.mul_add(-LN2_HI, x));
    // e^r = 1 + r + r²/2 + r³·h(r): h by Estrin, the last three steps by Horner (they carry the
    // precision near 1).
    let a = &TAYLOR;
    let (r2, pair) = (r * r, |j: usize| a[j + 1].mul_add(r, a[j]));
    let (r4, q) = (r2 * r2, [pair(3), pair(5), pair(7), pair(9), pair(11)]);
    let (r8, s) = (
        r4 * r4,
        [
            q[1].mul_add(r2, q[0]),
            q[3].mul_add(r2, q[2]),
            a[13].mul_add(r2, q[4]),
        ],
    );
    let h = s[2].mul_add(r8, s[1].mul_add(r4, s[0]));
    let p = h.mul_add(r, a[2]).mul_add(r, a[1]).mul_add(r, a[0]);
    // n in [−1022, 866]: the bits of 2^n are (n + 1023) << 52; n is t's low bits minus SHIFTER's.
    let k = (t.to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64);
    let scale = f64::from_bits((k.wrapping_add(1023) as u64) << 52);
    if x >= LOWEST { p * scale } else { 0.0 }
}

/// The constants of [`exp_weight`] (and of its four-lane copy in `columns`).
mod exp_consts {
    pub const LOG2E: f64 = std::f64::consts::LOG2_E;
    /// ln 2 = LN2_HI + LN2_LO, LN2_HI with 32 significant bits so that n · LN2_HI is exact.
    pub const LN2_HI: f64 = 0.693_147_180_369_123_8;
    pub const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    /// 1.5 · 2^52: adding it rounds to an integer (ties to even) held in the low bits.
    pub const SHIFTER: f64 = 6_755_399_441_055_744.0;
    /// Below it `exp` is under 3.3e-308: the weight is 0.
    pub const LOWEST: f64 = -708.0;
    /// The Taylor coefficients of `e^r`, `TAYLOR[j] = 1/j!` for `j` = 0..=13.
    pub const TAYLOR: [f64; 14] = [
        1.0,
        1.0,
        0.5,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
}

/// Samples a chain from `softmax(λ·U)` with one uniform `u ∈ [0, 1)`, using log-sum-exp.
/// Returns `fallback` if no chain is allowed. `weights` is scratch space of the same length.
pub fn choose(
    lambda: f64,
    utilities: &[f64],
    weights: &mut [f64],
    u: f64,
    fallback: usize,
) -> usize {
    let max = utilities
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    choose_below(lambda, utilities, max, weights, u, fallback)
}

/// [`choose`] when the largest finite utility `max` is known (as [`DecisionColumns::utilities`]
/// returns it): the same choice, without the pass that finds it.
pub fn choose_below(
    lambda: f64,
    utilities: &[f64],
    max: f64,
    weights: &mut [f64],
    u: f64,
    fallback: usize,
) -> usize {
    if !max.is_finite() {
        return fallback;
    }
    let weights = &mut weights[..utilities.len()];
    logit_weights(lambda, utilities, logit_shift(lambda, max), weights);
    sample_weights(weights, u, fallback)
}

/// Largest `|λ · max|` for which the logit's weights are `exp(λ·U)` unshifted ([`logit_shift`]).
pub const UNSHIFTED_LIMIT: f64 = 600.0;

/// What the logit's exponents are shifted by, given the largest finite utility `max`: nothing
/// (`0`) where `|λ · max| ≤` [`UNSHIFTED_LIMIT`], else `max`. The choice is the same in exact
/// arithmetic (`softmax` does not see a common shift). Unshifted, the best weight is within
/// `e^±600` (no overflow: 64 weights sum below `e^605`, under `f64::MAX ≈ e^709.8`), and a weight
/// [`exp_weight`] sets to 0 (exponent below −708) is under `e^−108` of the best one; and the
/// weights need not wait for the maximum, which a decision computes last. The cost is the
/// rounding of `λ · U` rather than of `λ · (U − max)`: a weight's relative error grows by at most
/// `|λ·U| · 2⁻⁵³` (below 8e-14: `|λ·U| ≤ 708` for any weight not set to 0). Tested: in 87,753
/// random decisions drawn unshifted, every weight within that precision of the shifted one
/// times `e^{λ·max}`, and no choice moved.
#[inline]
pub fn logit_shift(lambda: f64, max: f64) -> f64 {
    if (lambda * max).abs() <= UNSHIFTED_LIMIT {
        0.0
    } else {
        max
    }
}

/// `exp(λ·(U − shift))` ([`logit_shift`]) for every finite utility, 0 for the others, into
/// `weights` (one pass; it vectorises).
fn logit_weights(lambda: f64, utilities: &[f64], shift: f64, weights: &mut [f64]) {
    for (w, &x) in weights.iter_mut().zip(utilities) {
        let y = exp_weight(lambda * (x - shift));
        *w = if x.is_finite() { y } else { 0.0 };
    }
}

/// The chain that uniform `u` picks among `weights` (non-negative; overwritten with their running
/// sums), or `fallback` when all are 0: the first chain of positive weight whose running sum
/// exceeds `u · Σ`, else the last chain of positive weight. Branch-free but for the end, and the
/// same bits as the four-lane loop ([`running_sums`]).
fn sample_weights(weights: &mut [f64], u: f64, fallback: usize) -> usize {
    let (total, positive) = running_sums(weights);
    pick_running(weights, positive, u * total, fallback)
}

/// Turns `w` (at most 64 entries, non-negative) into its running sums, four entries at a time in
/// the order of a four-lane scan: within a chunk `[w0, w1 + w0, (w2 + w1) + w0,
/// (w3 + w2) + (w1 + w0)]` (entries past the end count as 0), each plus the running sum of the
/// chunks before. Returns the total (the whole chunks' sum: for a length that is not a multiple
/// of four, the last running sum to one rounding) and the entries of positive weight, one bit
/// each.
fn running_sums(w: &mut [f64]) -> (f64, u64) {
    assert!(w.len() <= 64, "at most 64 chains");
    let (mut carry, mut positive) = (0.0, 0u64);
    for (k, chunk) in w.chunks_mut(LANES).enumerate() {
        let mut x = [0.0; LANES];
        x[..chunk.len()].copy_from_slice(chunk);
        for (l, &v) in x.iter().enumerate() {
            positive |= u64::from(v > 0.0) << (k * LANES + l);
        }
        let b = [x[0], x[1] + x[0], x[2] + x[1], x[3] + x[2]];
        let c = [b[0], b[1], b[2] + b[0], b[3] + b[1]];
        for (o, v) in chunk.iter_mut().zip(c) {
            *o = v + carry;
        }
        carry += c[3];
    }
    (carry, positive)
}

/// The first entry of `positive` whose running sum (`sums`) exceeds `target`, else the last entry
/// of `positive`, else `fallback`.
fn pick_running(sums: &[f64], positive: u64, target: f64, fallback: usize) -> usize {
    let exceed = sums
        .iter()
        .enumerate()
        .fold(0u64, |m, (c, &s)| m | u64::from(s > target) << c);
    pick_from_bits(exceed & positive, positive, fallback)
}

/// The lowest bit of `first`, else the highest of `positive`, else `fallback`.
#[inline]
fn pick_from_bits(first: u64, positive: u64, fallback: usize) -> usize {
    if first != 0 {
        first.trailing_zeros() as usize
    } else if positive != 0 {
        63 - positive.leading_zeros() as usize
    } else {
        fallback
    }
}

/// Samples a chain from the nested logit with one nest per chain kind: `nest[c]` is chain `c`'s
/// nest (0..4) and `mu[n] ∈ (0, 1]` the dissimilarity of nest `n` (1 everywhere is plain logit).
///
/// `P(c) = exp(λU_c/μ_n) · S_n^{μ_n − 1} / Σ_m S_m^{μ_m}` with `S_n = Σ_{j∈n} exp(λU_j/μ_n)`,
/// sampled as a nest, then a chain within it, from one uniform `u` (rescaled inside the nest).
pub fn choose_nested(
    lambda: f64,
    utilities: &[f64],
    nest: &[u8],
    mu: &[f64; 4],
    weights: &mut [f64],
    u: f64,
    fallback: usize,
) -> usize {
    let mut draw = move || nested_draw(lambda, utilities, (nest, mu), weights, u, fallback);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("fma") {
        /// `f` compiled with FMA: [`exp_weight`]'s `mul_add`s become instructions instead of
        /// calls to the C library's `fma` (the same bits: both round once).
        #[target_feature(enable = "fma")]
        fn fused(f: impl FnOnce() -> usize) -> usize {
            f()
        }
        // SAFETY: the processor has FMA (checked just above).
        return unsafe { fused(draw) };
    }
    draw()
}

#[inline(always)]
fn nested_draw(
    lambda: f64,
    utilities: &[f64],
    (nest, mu): (&[u8], &[f64; 4]),
    weights: &mut [f64],
    u: f64,
    fallback: usize,
) -> usize {
    // Per nest: the largest scaled utility, then log-sum-exp relative to it.
    let mut top = [f64::NEG_INFINITY; 4];
    for (c, &x) in utilities.iter().enumerate() {
        if x.is_finite() {
            let n = nest[c] as usize;
            top[n] = top[n].max(lambda * x / mu[n]);
        }
    }
    for (c, (w, &x)) in weights.iter_mut().zip(utilities).enumerate() {
        let n = nest[c] as usize;
        let y = exp_weight(lambda * x / mu[n] - top[n]);
        *w = if x.is_finite() { y } else { 0.0 };
    }
    let mut sum = [0.0; 4];
    for (c, &w) in weights.iter().enumerate() {
        sum[nest[c] as usize] += w;
    }
    // Inclusive values IV_n = μ_n (top_n + ln S_n); nest weights exp(IV_n − max IV).
    let iv: [f64; 4] = std::array::from_fn(|n| {
        if sum[n] > 0.0 {
            mu[n] * (top[n] + sum[n].ln())
        } else {
            f64::NEG_INFINITY
        }
    });
    let max_iv = iv.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max_iv.is_finite() {
        return fallback;
    }
    let nest_w: [f64; 4] = std::array::from_fn(|n| {
        if iv[n].is_finite() {
            exp_weight(iv[n] - max_iv)
        } else {
            0.0
        }
    });
    let total: f64 = nest_w.iter().sum();
    let mut target = u * total;
    let mut chosen = None;
    for (n, &w) in nest_w.iter().enumerate() {
        if w > 0.0 {
            chosen = Some((n, target / w));
            if target < w {
                break;
            }
            target -= w;
        }
    }
    let Some((n, u_within)) = chosen else {
        return fallback;
    };
    let mut target = u_within.clamp(0.0, 1.0) * sum[n];
    let mut last = fallback;
    for (c, &w) in weights.iter().enumerate() {
        if w > 0.0 && nest[c] as usize == n {
            last = c;
            if target < w {
                return c;
            }
            target -= w;
        }
    }
    last
}

/// The probability of choosing each chain: `softmax(λ·U)`, or the nested logit with `nests`
/// (`nest[c]`, `μ`), written into `out`; chains with `U = −inf` get 0. The closed forms of
/// [`choose`] and [`choose_nested`] (the equilibrium start needs them as numbers).
pub fn choice_probabilities(
    lambda: f64,
    utilities: &[f64],
    nests: Option<(&[u8], &[f64; 4])>,
    out: &mut [f64],
) {
    let Some((nest, mu)) = nests else {
        let max = utilities
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        let mut total = 0.0;
        for (o, &x) in out.iter_mut().zip(utilities) {
            *o = if x.is_finite() {
                (lambda * (x - max)).exp()
            } else {
                0.0
            };
            total += *o;
        }
        out.iter_mut().for_each(|o| *o /= total);
        return;
    };
    let mut top = [f64::NEG_INFINITY; 4];
    for (c, &x) in utilities.iter().enumerate() {
        if x.is_finite() {
            let n = nest[c] as usize;
            top[n] = top[n].max(lambda * x / mu[n]);
        }
    }
    let mut sum = [0.0; 4];
    for (c, (o, &x)) in out.iter_mut().zip(utilities).enumerate() {
        let n = nest[c] as usize;
        *o = if x.is_finite() {
            (lambda * x / mu[n] - top[n]).exp()
        } else {
            0.0
        };
        sum[n] += *o;
    }
    let iv: [f64; 4] = std::array::from_fn(|n| {
        if sum[n] > 0.0 {
            mu[n] * (top[n] + sum[n].ln())
        } else {
            f64::NEG_INFINITY
        }
    });
    let max_iv = iv.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let nest_w: [f64; 4] = std::array::from_fn(|n| (iv[n] - max_iv).exp());
    let total: f64 = nest_w.iter().sum();
    for (c, o) in out.iter_mut().enumerate() {
        let n = nest[c] as usize;
        if *o > 0.0 {
            *o *= nest_w[n] / total / sum[n];
        }
    }
}

/// The stationary distribution `π = πP` of a row-stochastic `m × m` matrix `p` (row-major),
/// by Gaussian elimination with partial pivoting on `(Pᵀ − I) π = 0` with `Σ π = 1`; `a` is
/// scratch space of `m²`. `None` when the matrix is singular (a chain that cannot be reached
/// and left), which a row-stochastic matrix with positive entries never is.
pub fn stationary(p: &[f64], m: usize, a: &mut Vec<f64>, pi: &mut [f64]) -> Option<()> {
    if m == 1 {
        pi[0] = 1.0;
        return Some(());
    }
    a.clear();
    a.resize(m * m, 0.0);
    // Row r of A: column r of P minus e_r; the last row: all ones.
    for r in 0..m - 1 {
        for c in 0..m {
            a[r * m + c] = p[c * m + r] - if r == c { 1.0 } else { 0.0 };
        }
    }
    for c in 0..m {
        a[(m - 1) * m + c] = 1.0;
    }
    let mut b = vec![0.0; m];
    b[m - 1] = 1.0;
    let x = solve_linear(a, &mut b, m)?;
    for (p, v) in pi.iter_mut().zip(x) {
        *p = v.max(0.0);
    }
    let total: f64 = pi[..m].iter().sum();
    pi[..m].iter_mut().for_each(|x| *x /= total);
    Some(())
}

/// Solves `a x = b` (`m × m`, row-major, overwritten) by Gaussian elimination with partial
/// pivoting; `None` when `a` is singular.
pub fn solve_linear(a: &mut [f64], b: &mut [f64], m: usize) -> Option<Vec<f64>> {
    for col in 0..m {
        let piv =
            (col..m).max_by(|&i, &j| a[i * m + col].abs().total_cmp(&a[j * m + col].abs()))?;
        if a[piv * m + col].abs() < 1e-300 || !a[piv * m + col].is_finite() {
            return None;
        }
        if piv != col {
            for k in 0..m {
                a.swap(piv * m + k, col * m + k);
            }
            b.swap(piv, col);
        }
        for r in col + 1..m {
            let f = a[r * m + col] / a[col * m + col];
            if f != 0.0 {
                for k in col..m {
                    a[r * m + k] -= f * a[col * m + k];
                }
                b[r] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; m];
    for r in (0..m).rev() {
        let mut v = b[r];
        for k in r + 1..m {
            v -= a[r * m + k] * x[k];
        }
        x[r] = v / a[r * m + r];
    }
    Some(x)
}

/// Closed-form nested-logit probabilities (for tests and documentation).
pub fn nested_probabilities(
    lambda: f64,
    utilities: &[f64],
    nest: &[u8],
    mu: &[f64; 4],
) -> Vec<f64> {
    let mut s = [0.0; 4];
    for (c, &x) in utilities.iter().enumerate() {
        let n = nest[c] as usize;
        s[n] += (lambda * x / mu[n]).exp();
    }
    let denom: f64 = (0..4)
        .filter(|&n| s[n] > 0.0)
        .map(|n| s[n].powf(mu[n]))
        .sum();
    utilities
        .iter()
        .enumerate()
        .map(|(c, &x)| {
            let n = nest[c] as usize;
            (lambda * x / mu[n]).exp() * s[n].powf(mu[n] - 1.0) / denom
        })
        .collect()
}

/// The closed-form logit probabilities `softmax(λ·U)` (for tests and documentation).
pub fn softmax(lambda: f64, utilities: &[f64]) -> Vec<f64> {
    let max = utilities.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = utilities
        .iter()
        .map(|&x| (lambda * (x - max)).exp())
        .collect();
    let total: f64 = w.iter().sum();
    w.iter().map(|x| x / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_within_kind_network_term_is_the_log_of_the_kind_share() {
        let small = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/small.toml");
        let sc = crate::scenario::Scenario::from_file(&small).unwrap();
        let mut seg = sc.segments[0].clone();
        let view = |tvl: f64, kind_tvl: f64| ChainView {
            launched: true,
            ln_tvl: if tvl > 0.0 {
                tvl.ln()
            } else {
                f64::NEG_INFINITY
            },
            ln_kind_tvl: if kind_tvl > 0.0 {
                kind_tvl.ln()
            } else {
                f64::NEG_INFINITY
            },
            ..ChainView::default()
        };
        // Two chains of one kind holding 3 and 1 (of 4), and an empty one of another kind.
        let chains = [view(3e9, 4e9), view(1e9, 4e9), view(0.0, 0.0)];
        let market = MarketView {
            chains: &chains,
            ln_total_tvl: 10e9f64.ln(),
            ln_share_floor: 1e-4f64.ln(),
        };
        assert!((market.ln_kind_share(0) - 0.75f64.ln()).abs() < 1e-12);
        assert!((market.ln_kind_share(1) - 0.25f64.ln()).abs() < 1e-12);
        assert_eq!(market.ln_kind_share(2), 1e-4f64.ln());
        // In the utility: w · ln(s_0|kind / s_1|kind) = w · ln 3 between otherwise equal chains.
        let (mut base, mut with) = ([0.0; 3], [0.0; 3]);
        seg.taste_sd = 0.0;
        let tastes = [0.0f32; 3];
        utilities(
            &seg, 1e4, 1.0, 2, 0b111, &tastes, &market, None, 0.0, &mut base,
        );
        seg.w_network_kind = 0.02;
        utilities(
            &seg, 1e4, 1.0, 2, 0b111, &tastes, &market, None, 0.0, &mut with,
        );
        let gain = (with[0] - with[1]) - (base[0] - base[1]);
        assert!((gain - 0.02 * 3f64.ln()).abs() < 1e-12, "{gain}");
    }

    /// Distance in units in the last place between two positive finite numbers.
    pub(super) fn ulps(a: f64, b: f64) -> u64 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn the_portable_exp_is_within_two_ulp_of_the_library_exp() {
        use rand::{RngExt, SeedableRng};
        assert_eq!(exp_weight(0.0), 1.0);
        assert_eq!(exp_weight(-0.0), 1.0);
        assert_eq!(exp_weight(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_weight(f64::NAN), 0.0);
        assert_eq!(exp_weight(-708.5), 0.0);
        assert!(ulps(exp_weight(-708.0), (-708.0f64).exp()) <= 2);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        // At n points, half of them `x = near · v` and half `x = far · v` with `v` uniform in
        // (0, 1]: at most 2 ulp from the library's `exp`, and 99.9 % within 1.
        let n = 1_000_000;
        let mut check = |near: f64, far: f64| {
            let (mut worst, mut within_one) = (0, 0);
            for i in 0..n {
                let x = if i % 2 == 0 { near } else { far } * (1.0 - rng.random::<f64>());
                let d = ulps(exp_weight(x), x.exp());
                worst = worst.max(d);
                within_one += usize::from(d <= 1);
            }
            assert!(worst <= 2, "worst {worst} ulp on ({far}, {near})");
            assert!(
                within_one as f64 >= 0.999 * n as f64,
                "{within_one} of {n} within 1 ulp on ({far}, {near})"
            );
        };
        // Where shifted logit weights live, (−40, 0], and the whole range below 0.
        check(-40.0, -708.0);
        // Unshifted weights (`logit_shift`) reach up to e^600.
        check(40.0, UNSHIFTED_LIMIT);
        // Exact powers of two at multiples of ln 2 would show a wrong scale at once.
        for k in -865..1022 {
            let x = -(k as f64) * std::f64::consts::LN_2;
            assert!(ulps(exp_weight(x), x.exp()) <= 2, "{k}");
        }
        assert!(ulps(exp_weight(UNSHIFTED_LIMIT), UNSHIFTED_LIMIT.exp()) <= 2);
    }

    /// The draw over running sums: at every target that lands exactly on a running sum (where a
    /// rounding could tip it), and at 10,000 random ones, the pick is the first chain of positive
    /// weight whose exact cumulative weight exceeds the target, or a neighbour within one
    /// rounding; never a chain of weight 0.
    #[test]
    fn the_draw_over_running_sums_never_picks_a_chain_of_weight_zero() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for t in 0..2_000 {
            let n = 1 + t % 13;
            let w: Vec<f64> = (0..n)
                .map(|_| {
                    if rng.random::<f64>() < 0.3 {
                        0.0
                    } else {
                        exp_weight(-30.0 * rng.random::<f64>())
                    }
                })
                .collect();
            let mut sums = w.clone();
            let (total, positive) = running_sums(&mut sums);
            // The total sums whole chunks (missing entries as 0): the last running sum to rounding.
            assert!(
                (total - sums[n - 1]).abs() <= 2.0 * f64::EPSILON * total,
                "case {t}"
            );
            let mut targets: Vec<f64> = sums.clone();
            targets.extend((0..5).map(|_| rng.random::<f64>() * total));
            for &target in &targets {
                let c = pick_running(&sums, positive, target, usize::MAX);
                if positive == 0 {
                    assert_eq!(c, usize::MAX);
                    continue;
                }
                assert!(w[c] > 0.0, "case {t}: weight 0 picked at {target}");
                // Exact: the first positive chain whose cumulative weight (summed in order)
                // exceeds the target; the pick may differ only where rounding ties them.
                let mut acc = 0.0;
                let exact = (0..n)
                    .find(|&j| {
                        acc += w[j];
                        w[j] > 0.0 && acc > target
                    })
                    .unwrap_or(63 - positive.leading_zeros() as usize);
                if c != exact {
                    let near = (acc - target).abs() <= 4.0 * f64::EPSILON * total;
                    let tie = (sums[exact.min(c)] - target).abs() <= 4.0 * f64::EPSILON * total;
                    assert!(near || tie, "case {t}: {c} against {exact} at {target}");
                }
            }
        }
    }

    /// Unshifted weights (`logit_shift`) are the shifted ones times `e^{λ·max}` to within the
    /// stated precision (a relative error of `|λ·U| · 2⁻⁵³` more, plus the roundings of the two
    /// exponentials and of the comparison), and the choice from one uniform is the same but where
    /// `u · Σ` falls within that precision of a running sum; over 100,000 random decisions, with
    /// `|λ · max|` up to the limit.
    #[test]
    fn unshifted_weights_are_the_shifted_ones_to_the_stated_precision() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(29);
        let (mut unshifted, mut moved) = (0, 0);
        for t in 0..100_000 {
            let n = 1 + t % 13;
            let lambda = [1.0, 60.0, 400.0, 5_000.0][t % 4];
            // Utilities spread so that λ·U spans (−708, 600] and some chains fall below e^−708.
            let spread = 750.0 / lambda;
            let top = rng.random_range(-600.0..600.0) / lambda;
            let u: Vec<f64> = (0..n)
                .map(|_| {
                    if rng.random::<f64>() < 0.1 {
                        f64::NEG_INFINITY
                    } else {
                        top - spread * rng.random::<f64>()
                    }
                })
                .collect();
            let max = u.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !max.is_finite() || logit_shift(lambda, max) != 0.0 {
                continue;
            }
            unshifted += 1;
            let (mut by_max, mut plain) = (vec![0.0; n], vec![0.0; n]);
            logit_weights(lambda, &u, max, &mut by_max);
            logit_weights(lambda, &u, 0.0, &mut plain);
            let scale = (lambda * max).exp();
            for c in 0..n {
                let x = lambda * u[c];
                if by_max[c] < 1e-300 || plain[c] < 1e-300 {
                    // Below e^−708 one way or the other: under e^−108 of the best either way.
                    assert!(by_max[c] <= 1e-40 && plain[c] <= 1e-40 * scale, "case {t}");
                    continue;
                }
                let relative = (plain[c] / (by_max[c] * scale) - 1.0).abs();
                let stated = x.abs() * f64::EPSILON / 2.0;
                // The shifted exponent rounds twice (the difference, the product), the scale's
                // once; each exponential within 2 ulp.
                let roundings = (lambda * (u[c] - max)).abs() * f64::EPSILON
                    + (lambda * max).abs() * f64::EPSILON / 2.0
                    + 8.0 * f64::EPSILON;
                assert!(
                    relative <= stated + roundings,
                    "case {t}, chain {c}: {relative:e} > {:e}",
                    stated + roundings
                );
            }
            let x = rng.random::<f64>();
            let (mut s_max, mut s_plain) = (by_max.clone(), plain.clone());
            let (total_max, positive) = running_sums(&mut s_max);
            let (total_plain, _) = running_sums(&mut s_plain);
            let a = pick_running(&s_max, positive, x * total_max, usize::MAX);
            let b = choose_below(lambda, &u, max, &mut vec![0.0; n], x, usize::MAX);
            assert_eq!(
                b,
                pick_running(&s_plain, positive, x * total_plain, usize::MAX)
            );
            if a != b {
                moved += 1;
                // Only where the draw lands within the weights' precision of a running sum.
                let tolerance = (708.0 + 16.0) * f64::EPSILON;
                let near = s_max
                    .iter()
                    .any(|&sum| (sum / total_max - x).abs() <= tolerance);
                assert!(near, "case {t}: {a} against {b} at {x}");
            }
        }
        assert!(unshifted > 50_000, "{unshifted} unshifted decisions");
        assert!(moved <= 2, "{moved} choices moved");
    }

    #[test]
    fn choose_matches_softmax_frequencies() {
        let u = [0.01, 0.02, f64::NEG_INFINITY, 0.0];
        let p = softmax(100.0, &[0.01, 0.02, 0.0]);
        let mut counts = [0usize; 4];
        let mut w = [0.0; 4];
        let n = 100_000;
        for i in 0..n {
            let x = (i as f64 + 0.5) / n as f64;
            counts[choose(100.0, &u, &mut w, x, 0)] += 1;
        }
        assert_eq!(counts[2], 0);
        // Stratified uniforms: the error is at most one bin per chain.
        for (c, pc) in [(0, p[0]), (1, p[1]), (3, p[2])] {
            assert!((counts[c] as f64 / n as f64 - pc).abs() < 2.0 / n as f64);
        }
    }

    #[test]
    fn nested_choice_matches_closed_form() {
        let u = [0.010, 0.012, 0.011, 0.009, 0.013];
        let nest = [0u8, 1, 1, 2, 2];
        for mu in [[1.0, 1.0, 1.0, 1.0], [1.0, 0.3, 0.5, 1.0]] {
            let p = nested_probabilities(200.0, &u, &nest, &mu);
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            let mut counts = [0usize; 5];
            let mut w = [0.0; 5];
            let n = 200_000;
            for i in 0..n {
                let x = (i as f64 + 0.5) / n as f64;
                counts[choose_nested(200.0, &u, &nest, &mu, &mut w, x, 0)] += 1;
            }
            // Stratified uniforms: at most one bin of error per nest and chain.
            for c in 0..5 {
                assert!(
                    (counts[c] as f64 / n as f64 - p[c]).abs() < 3.0 / n as f64,
                    "{mu:?} {c}: {counts:?} vs {p:?}"
                );
            }
        }
        let plain = softmax(200.0, &u);
        let nested = nested_probabilities(200.0, &u, &nest, &[1.0; 4]);
        for c in 0..5 {
            assert!((plain[c] - nested[c]).abs() < 1e-12);
        }
        // A smaller dissimilarity concentrates choice within a nest on its best member.
        let tight = nested_probabilities(200.0, &u, &nest, &[1.0, 0.2, 1.0, 1.0]);
        assert!(tight[1] / tight[2] > plain[1] / plain[2]);
    }

    #[test]
    fn stationary_distribution_of_a_two_state_chain() {
        // P = [[1−a, a], [b, 1−b]]: π = (b, a) / (a + b).
        let (a, b) = (0.2, 0.05);
        let p = [1.0 - a, a, b, 1.0 - b];
        let mut pi = [0.0; 2];
        stationary(&p, 2, &mut Vec::new(), &mut pi).unwrap();
        assert!((pi[0] - b / (a + b)).abs() < 1e-15 && (pi[1] - a / (a + b)).abs() < 1e-15);
        // Probabilities of the closed forms.
        let u = [0.01, 0.02, f64::NEG_INFINITY, 0.0];
        let mut out = [0.0; 4];
        choice_probabilities(100.0, &u, None, &mut out);
        let sm = softmax(100.0, &[0.01, 0.02, 0.0]);
        assert!((out[0] - sm[0]).abs() < 1e-15 && out[2] == 0.0 && (out[3] - sm[2]).abs() < 1e-15);
        let nest = [0u8, 1, 1, 2];
        let mu = [1.0, 0.4, 1.0, 1.0];
        choice_probabilities(
            100.0,
            &[0.01, 0.02, 0.015, 0.0],
            Some((&nest, &mu)),
            &mut out,
        );
        let closed = nested_probabilities(100.0, &[0.01, 0.02, 0.015, 0.0], &nest, &mu);
        for c in 0..4 {
            assert!((out[c] - closed[c]).abs() < 1e-12, "{out:?} {closed:?}");
        }
    }

    #[test]
    fn apr_curve_is_piecewise_linear() {
        let apr = AprCurve {
            at_zero: 0.0,
            kink: 0.65,
            at_kink: 0.08,
            at_full: 1.0,
        };
        assert!((apr.apr(0.0) - 0.0).abs() < 1e-15);
        assert!((apr.apr(0.65) - 0.08).abs() < 1e-15);
        assert!((apr.apr(1.0) - 1.0).abs() < 1e-15);
        assert!((apr.apr(0.325) - 0.04).abs() < 1e-15);
    }

    #[test]
    fn fast_exit_only_when_cheaper_and_pool_has_room() {
        let from = ChainView {
            delay_days: 7.0,
            fast_fee_fraction: 0.0008,
            pool_available_usd: 1e6,
            ..Default::default()
        };
        assert!(matches!(exit(&from, 1e5, 0.05), Exit::Fast { .. }));
        assert!(matches!(exit(&from, 2e6, 0.05), Exit::Canonical { .. }));
        // Forgone yield 0.01 · 7/365 ≈ 0.00019 < 0.0008: canonical is cheaper.
        assert!(matches!(exit(&from, 1e5, 0.01), Exit::Canonical { .. }));
    }
}

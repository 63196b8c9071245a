//! The decision's loop over chains on chain-major columns: [`utilities`](super::utilities) and
//! [`choose_below`](super::choose_below) computed four or eight chains at a time.
//!
//! The engine keeps one [`DecisionColumns`] per run and updates a chain's entries when its view
//! changes ([`DecisionColumns::set_chain`]: the chains a migration, an arrival or a refill
//! touched), and a decision reads contiguous arrays instead of one record per chain. Every lane
//! does the same IEEE operations in the same order as the portable loop (no reassociation; fused
//! multiply-adds exactly where the portable `exp` has `mul_add`), so the results are the same
//! bits whichever loop runs: on x86-64 with AVX-512F/VL and FMA eight chains per instruction, with
//! AVX2 and FMA four (checked at run time), elsewhere the portable loop, one chain at a time.

use super::{ChainView, SegmentRow};
use crate::scenario::Segment;

/// Chains per chunk of the four-lane loops; the columns are padded to a multiple of it (or of
/// [`WIDE_LANES`]).
pub const LANES: usize = 4;

/// Which of the decision's loops run, chosen once from the processor and the padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loops {
    Portable,
    /// AVX2 and FMA, four chains per register.
    #[cfg(target_arch = "x86_64")]
    Four,
    /// AVX-512F/VL and FMA on columns padded to eight, eight chains per register.
    #[cfg(target_arch = "x86_64")]
    Eight,
}

impl Loops {
    /// The fastest loops this processor runs on columns of `np` entries.
    fn detect(np: usize) -> Loops {
        #[cfg(target_arch = "x86_64")]
        {
            if np.is_multiple_of(WIDE_LANES) && wide() {
                return Loops::Eight;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Loops::Four;
            }
        }
        let _ = np;
        Loops::Portable
    }
}

/// What a decision reads about the chains, chain-major and padded to a multiple of the lanes
/// entries per column (the padding lanes are never open). The columns of the chains are one
/// block, column `f` of chain `c` at `f · padded + c` (`FEE` … `FORGONE`); those of each segment
/// another, segment `s`'s column `f` at `(s · SEGMENT_COLUMNS + f) · padded + c` (`BASE` …
/// `FEE_COST`): a decision reads two blocks from two pointers.
#[derive(Debug, Clone)]
pub struct DecisionColumns {
    n: usize,
    np: usize,
    /// The loops [`utilities`](Self::utilities) and [`choose`](Self::choose) run.
    loops: Loops,
    /// Launched chains, one bit each.
    launched: u64,
    chain: Vec<f64>,
    segment: Vec<f64>,
    /// The bits of the view fields each chain's rows were computed from ([`row_inputs`]).
    row_inputs: Vec<[u64; 6]>,
}

/// Columns of the chain block: fee (USD), fast-exit pool (USD), bridge fee (fraction), ln TVL,
/// ln TVL of the kind, [`SegmentRow::forgone_per_day`] (the same for every segment).
const FEE: usize = 0;
const POOL: usize = 1;
const BRIDGE: usize = 2;
const LN_TVL: usize = 3;
const LN_KIND: usize = 4;
const FORGONE: usize = 5;
const CHAIN_COLUMNS: usize = 6;
/// Columns of a segment's block: the other fields of [`SegmentRow`], then the monthly cost of
/// facing the fee for one wallet ([`super::fee_cost_per_month`]).
const BASE: usize = 0;
const POOLED: usize = 1;
const WAITING: usize = 2;
const FEE_COST: usize = 3;
const SEGMENT_COLUMNS: usize = 4;

/// One agent's side of a decision.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    pub seg: &'a Segment,
    /// The segment's index.
    pub segment: usize,
    /// The view of the chain the agent holds.
    pub here: &'a ChainView,
    /// Its capital, USD.
    pub k: f64,
    /// Wallets it stands for.
    pub wallets: f64,
    /// The chain it holds.
    pub current: usize,
    /// Chains it may choose, one bit each.
    pub allowed: u64,
    /// Its tastes, one per chain (unpadded).
    pub tastes: &'a [f32],
    /// Its status-quo bonus now, fraction per year.
    pub inertia_apy: f64,
    /// `ln(Σ TVL)`.
    pub ln_total_tvl: f64,
    /// `ln(ε)`, the floor of the network term's `ln(share)`.
    pub ln_share_floor: f64,
    /// `365 / holding_horizon_days` of the segment ([`amortise_per_year`]), kept per segment by
    /// the caller: a division off each decision's critical path.
    pub amortise: f64,
}

/// `365 / holding_horizon_days`: how many times a year the segment amortises a migration's cost.
pub fn amortise_per_year(seg: &Segment) -> f64 {
    365.0 / seg.holding_horizon_days
}

impl DecisionColumns {
    /// Columns for `chains` chains and `segments` segments, no chain launched yet, padded for
    /// the loops this processor runs: eight-lane chunks where it has AVX-512 ([`wide`]), else
    /// four. The padding lanes are never open, so the results do not depend on it.
    pub fn new(chains: usize, segments: usize) -> DecisionColumns {
        DecisionColumns::with_lanes(chains, segments, if wide() { WIDE_LANES } else { LANES })
    }

    /// [`new`](Self::new) with the columns padded to a multiple of `lanes` (4 or 8): the
    /// four-lane loops run on either, the eight-lane ones on multiples of 8 only.
    pub fn with_lanes(chains: usize, segments: usize, lanes: usize) -> DecisionColumns {
        assert!(chains <= 64, "chains are held in 64-bit masks");
        assert!(lanes == LANES || lanes == WIDE_LANES, "four or eight lanes");
        let np = chains.div_ceil(lanes) * lanes;
        DecisionColumns {
            n: chains,
            np,
            loops: Loops::detect(np),
            launched: 0,
            chain: vec![0.0; CHAIN_COLUMNS * np],
            segment: vec![0.0; SEGMENT_COLUMNS * np * segments],
            // NaN bits: never equal to a view's, so the first `set_chain` computes the rows.
            row_inputs: vec![[f64::NAN.to_bits(); 6]; chains],
        }
    }

    /// Entries per column and segment (the chains rounded up to [`LANES`]); the length of the
    /// `out` and `weights` slices the decision takes.
    pub fn padded_len(&self) -> usize {
        self.np
    }

    /// Writes chain `c`'s entries from its view `v`; its rows of every segment only when the
    /// view fields they depend on changed (most view changes are of the TVL alone).
    pub fn set_chain(&mut self, c: usize, v: &ChainView, segments: &[Segment]) {
        if v.launched {
            self.launched |= 1 << c;
        } else {
            self.launched &= !(1 << c);
        }
        let np = self.np;
        self.chain[FEE * np + c] = v.fee_usd;
        self.chain[POOL * np + c] = v.pool_available_usd;
        self.chain[BRIDGE * np + c] = v.bridge_fee_fraction;
        self.chain[LN_TVL * np + c] = v.ln_tvl;
        self.chain[LN_KIND * np + c] = v.ln_kind_tvl;
        let inputs = row_inputs(v);
        // Compared word by word (`==` on the arrays called `memcmp`: 2.0–2.7 % of a run's
        // samples under `perf record`).
        let changed = (self.row_inputs[c].iter().zip(&inputs)).fold(0, |d, (a, b)| d | (a ^ b));
        if changed == 0 {
            return;
        }
        self.row_inputs[c] = inputs;
        self.chain[FORGONE * np + c] = super::forgone_per_day(v);
        for (s, seg) in segments.iter().enumerate() {
            let r = SegmentRow::new(seg, v);
            let at = s * SEGMENT_COLUMNS * np + c;
            self.segment[at + BASE * np] = r.base;
            self.segment[at + POOLED * np] = r.liquidity_pooled;
            self.segment[at + WAITING * np] = r.liquidity_waiting;
        }
    }

    /// Segment `s`'s monthly cost of facing chain `c`'s fee, per wallet
    /// ([`super::fee_cost_per_month`]), for elastic activity.
    pub fn set_fee_cost(&mut self, s: usize, c: usize, usd_per_month: f64) {
        self.segment[(s * SEGMENT_COLUMNS + FEE_COST) * self.np + c] = usd_per_month;
    }

    /// Chain `c`'s `ln(TVL)` alone, where nothing else of its view changed since its last
    /// [`set_chain`](Self::set_chain) (then the same entries as that call would write).
    pub fn set_ln_tvl(&mut self, c: usize, ln_tvl: f64) {
        self.chain[LN_TVL * self.np + c] = ln_tvl;
    }

    /// Chain `c`'s `ln(Σ TVL)` of its kind (which moves with every chain of the kind).
    pub fn set_ln_kind_tvl(&mut self, c: usize, ln_kind_tvl: f64) {
        self.chain[LN_KIND * self.np + c] = ln_kind_tvl;
    }

    /// The utility of every chain for the agent of `d`, into `out[..padded_len()]` (`−inf` where
    /// not open): [`super::utilities`] with the terms in the order of the rows, so equal to it up
    /// to rounding. Returns the largest finite utility (`−inf` if none).
    pub fn utilities(&self, d: &Decision, out: &mut [f64]) -> f64 {
        match self.loops {
            // SAFETY: `Loops::detect` chose `Eight` for a processor with AVX-512F, AVX-512VL and
            // FMA and columns padded to eight lanes.
            #[cfg(target_arch = "x86_64")]
            Loops::Eight => unsafe { self.utilities_avx512_wide(d, out) },
            // SAFETY: `Four` only where the processor has AVX2 (and FMA).
            #[cfg(target_arch = "x86_64")]
            Loops::Four => unsafe { self.utilities_avx2(d, out) },
            _ => self.utilities_portable(d, out),
        }
    }

    /// [`choose_padded`] on utilities of these columns' padded length, with the loops chosen
    /// when the columns were made.
    #[inline]
    pub fn choose(
        &self,
        lambda: f64,
        utilities: &[f64],
        max: f64,
        weights: &mut [f64],
        (u, fallback): (f64, usize),
    ) -> usize {
        assert_eq!(utilities.len(), self.np, "utilities of these columns");
        draw(self.loops, lambda, utilities, max, weights, (u, fallback))
    }

    /// The per-decision scalars and the column slices of the agent's segment.
    #[inline(always)]
    fn terms<'s>(&'s self, d: &Decision<'s>) -> Terms<'s> {
        let np = self.np;
        let seg = d.seg;
        // The fee term is the elastic monthly cost ([`DecisionColumns::set_fee_cost`]) rather
        // than `tx_per_month · fee` where activity responds to fees. (Read from the segment, not
        // from the decision: a wide load of the decision's fields just stored by the caller
        // would wait for store forwarding to fail.)
        let elastic = seg.fee_elasticity > 0.0;
        let k = d.k.max(1e-9);
        let wallets_per_k = d.wallets * (1.0 / k);
        let block = d.segment * SEGMENT_COLUMNS * np;
        Terms {
            k,
            amortise: d.amortise,
            wallets_per_k,
            fee_weight: if elastic {
                seg.w_cost * 12.0 * wallets_per_k
            } else {
                seg.w_cost * 12.0 * seg.tx_per_month * wallets_per_k
            },
            pooled_here: d.here.pool_available_usd >= k,
            delay: d.here.delay_days,
            fast_fee: d.here.fast_fee_fraction,
            fee_here: d.here.fee_usd,
            w_network: seg.w_network,
            w_kind: seg.w_network_kind,
            ln_total: d.ln_total_tvl,
            floor: d.ln_share_floor,
            inertia: d.inertia_apy,
            current: d.current,
            open: self.launched & d.allowed,
            tastes: &d.tastes[..self.n],
            elastic,
            np,
            chain: &self.chain[..CHAIN_COLUMNS * np],
            segment: &self.segment[block..block + SEGMENT_COLUMNS * np],
        }
    }

    /// [`utilities`](Self::utilities) one chain at a time, in plain arithmetic: the reference
    /// the vector loop is tested against, and the loop on processors without AVX2.
    pub fn utilities_portable(&self, d: &Decision, out: &mut [f64]) -> f64 {
        let t = self.terms(d);
        let (fee, fee_usd, pool) = (t.fee(), t.chain(FEE), t.chain(POOL));
        let (bridge, ln_tvl, ln_kind) = (t.chain(BRIDGE), t.chain(LN_TVL), t.chain(LN_KIND));
        let (base, pooled_row) = (t.segment(BASE), t.segment(POOLED));
        let (waiting_row, forgone_row) = (t.segment(WAITING), t.chain(FORGONE));
        let out = &mut out[..self.np];
        let mut best = f64::NEG_INFINITY;
        for (c, o) in out.iter_mut().enumerate() {
            let pooled = pool[c] >= t.k;
            let liquidity = if pooled {
                pooled_row[c]
            } else {
                waiting_row[c]
            };
            let share = (ln_tvl[c] - t.ln_total).max(t.floor);
            let mut u = base[c] + t.w_network * share - t.fee_weight * fee[c] - liquidity
                + f64::from(t.tastes.get(c).copied().unwrap_or(0.0));
            if t.w_kind != 0.0 {
                u += t.w_kind * (ln_tvl[c] - ln_kind[c]).max(t.floor);
            }
            // Leaving costs the exit: nothing without a delay, else the fast fee when the pool
            // holds k and the fee is below the yield forgone on the way to c.
            let forgone = forgone_row[c] * t.delay;
            let exit = if t.pooled_here && t.fast_fee < forgone {
                t.fast_fee
            } else {
                forgone
            };
            let exit = if t.delay <= 0.0 { 0.0 } else { exit };
            let leave =
                t.amortise * (exit + bridge[c] + t.wallets_per_k * (t.fee_here + fee_usd[c]));
            let u = if c == t.current {
                u + t.inertia
            } else {
                u - leave
            };
            let open = (t.open >> c) & 1 != 0;
            *o = if open { u } else { f64::NEG_INFINITY };
            if open && u.is_finite() && u > best {
                best = u;
            }
        }
        best
    }

    /// [`utilities_portable`](Self::utilities_portable) four chains per instruction: the same
    /// operations in the same order on each lane (no fused multiply-add, as in the portable
    /// loop), so the same bits (`tests`).
    ///
    /// # Safety
    /// The processor must support AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    pub unsafe fn utilities_avx2(&self, d: &Decision, out: &mut [f64]) -> f64 {
        use std::arch::x86_64::*;
        let t = self.terms(d);
        let np = self.np;
        let out = &mut out[..np];
        let set = _mm256_set1_pd;
        let (k, amortise, wallets_per_k) = (set(t.k), set(t.amortise), set(t.wallets_per_k));
        let (fee_weight, fast_fee, fee_here) =
            (set(t.fee_weight), set(t.fast_fee), set(t.fee_here));
        let (w_network, w_kind) = (set(t.w_network), set(t.w_kind));
        let (ln_total, floor, inertia) = (set(t.ln_total), set(t.floor), set(t.inertia));
        let (delay, infinity) = (set(t.delay), set(f64::INFINITY));
        let minus_infinity = set(f64::NEG_INFINITY);
        let pooled_here = _mm256_castsi256_pd(_mm256_set1_epi64x(-i64::from(t.pooled_here)));
        let no_delay = t.delay <= 0.0;
        let lane_bit = _mm256_set_epi64x(8, 4, 2, 1);
        let (lanes, lanes32) = (_mm256_set_epi64x(3, 2, 1, 0), _mm_set_epi32(3, 2, 1, 0));
        let mut best = minus_infinity;
        let (chain, segment) = (t.chain.as_ptr(), t.segment.as_ptr());
        let fee = t.fee().as_ptr();
        assert!(t.chain.len() == CHAIN_COLUMNS * np && t.segment.len() == SEGMENT_COLUMNS * np);
        for chunk in 0..np / LANES {
            let c0 = chunk * LANES;
            // SAFETY: the blocks hold their columns of `np` entries (asserted above), the fee
            // column is one of them, `c0 + LANES <= np`, and `out` holds `np` entries.
            unsafe {
                let column = |block: *const f64, f: usize| _mm256_loadu_pd(block.add(f * np + c0));
                let fee = _mm256_loadu_pd(fee.add(c0));
                let pooled = _mm256_cmp_pd::<_CMP_GE_OQ>(column(chain, POOL), k);
                let liquidity =
                    _mm256_blendv_pd(column(segment, WAITING), column(segment, POOLED), pooled);
                // max(x, floor) returns floor when x is NaN, as f64::max does.
                let share = _mm256_max_pd(_mm256_sub_pd(column(chain, LN_TVL), ln_total), floor);
                let mut u = _mm256_add_pd(column(segment, BASE), _mm256_mul_pd(w_network, share));
                u = _mm256_sub_pd(u, _mm256_mul_pd(fee_weight, fee));
                u = _mm256_sub_pd(u, liquidity);
                // The tastes are not padded: load the lanes below the chains only (the others
                // are read as 0 and not touched).
                let have = _mm_cmpgt_epi32(_mm_set1_epi32((t.tastes.len() - c0) as i32), lanes32);
                let taste = _mm256_cvtps_pd(_mm_maskload_ps(t.tastes.as_ptr().add(c0), have));
                u = _mm256_add_pd(u, taste);
                if t.w_kind != 0.0 {
                    let kind = _mm256_max_pd(
                        _mm256_sub_pd(column(chain, LN_TVL), column(chain, LN_KIND)),
                        floor,
                    );
                    u = _mm256_add_pd(u, _mm256_mul_pd(w_kind, kind));
                }
                let forgone = _mm256_mul_pd(column(chain, FORGONE), delay);
                let fast =
                    _mm256_and_pd(pooled_here, _mm256_cmp_pd::<_CMP_LT_OQ>(fast_fee, forgone));
                let exit = if no_delay {
                    _mm256_setzero_pd()
                } else {
                    _mm256_blendv_pd(forgone, fast_fee, fast)
                };
                let fees =
                    _mm256_mul_pd(wallets_per_k, _mm256_add_pd(fee_here, column(chain, FEE)));
                let leave = _mm256_mul_pd(
                    amortise,
                    _mm256_add_pd(_mm256_add_pd(exit, column(chain, BRIDGE)), fees),
                );
                let here = _mm256_cmpeq_epi64(
                    _mm256_add_epi64(lanes, _mm256_set1_epi64x(c0 as i64)),
                    _mm256_set1_epi64x(t.current as i64),
                );
                let u = _mm256_blendv_pd(
                    _mm256_sub_pd(u, leave),
                    _mm256_add_pd(u, inertia),
                    _mm256_castsi256_pd(here),
                );
                let bits = _mm256_set1_epi64x((t.open >> c0) as i64);
                let open = _mm256_castsi256_pd(_mm256_cmpeq_epi64(
                    _mm256_and_si256(bits, lane_bit),
                    lane_bit,
                ));
                let u = _mm256_blendv_pd(minus_infinity, u, open);
                _mm256_storeu_pd(out.as_mut_ptr().add(c0), u);
                // |u| < inf: finite (false for NaN); closed lanes are already −inf.
                let abs = _mm256_andnot_pd(set(-0.0), u);
                let finite = _mm256_cmp_pd::<_CMP_LT_OQ>(abs, infinity);
                best = _mm256_max_pd(_mm256_blendv_pd(minus_infinity, u, finite), best);
            }
        }
        let mut lanes = [0.0; LANES];
        // SAFETY: `lanes` holds four f64.
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), best) };
        lanes.into_iter().fold(f64::NEG_INFINITY, f64::max)
    }
}

/// The view fields a [`SegmentRow`] depends on, as bits.
fn row_inputs(v: &ChainView) -> [u64; 6] {
    [
        v.yield_apy,
        v.log10_confirmation,
        v.risk_apy,
        v.constant_apy,
        v.delay_days,
        v.fast_fee_fraction,
    ]
    .map(f64::to_bits)
}

/// What [`DecisionColumns::terms`] gathers for one decision.
struct Terms<'a> {
    k: f64,
    amortise: f64,
    wallets_per_k: f64,
    fee_weight: f64,
    pooled_here: bool,
    delay: f64,
    fast_fee: f64,
    fee_here: f64,
    w_network: f64,
    w_kind: f64,
    ln_total: f64,
    floor: f64,
    inertia: f64,
    current: usize,
    open: u64,
    /// The agent's tastes (one per chain, unpadded).
    tastes: &'a [f32],
    /// Whether the fee term reads `FEE_COST` rather than `FEE`.
    elastic: bool,
    np: usize,
    /// The chain block and the agent's segment's block (`CHAIN_COLUMNS` and `SEGMENT_COLUMNS`
    /// columns of `np` entries).
    chain: &'a [f64],
    segment: &'a [f64],
}

impl<'a> Terms<'a> {
    /// Column `f` of the chain block.
    fn chain(&self, f: usize) -> &'a [f64] {
        &self.chain[f * self.np..(f + 1) * self.np]
    }

    /// Column `f` of the segment's block.
    fn segment(&self, f: usize) -> &'a [f64] {
        &self.segment[f * self.np..(f + 1) * self.np]
    }

    /// Where the fee term's column starts: the elastic cost or the fee.
    fn fee(&self) -> &'a [f64] {
        if self.elastic {
            self.segment(FEE_COST)
        } else {
            self.chain(FEE)
        }
    }
}

/// [`super::choose_below`] on padded columns (`utilities` of a length that is a multiple of
/// [`LANES`], padding at `−inf`; `weights` at least as long, left holding the running sums): the
/// same choice, from the same bits, eight or four chains at a time where the processor can.
/// [`DecisionColumns::choose`] is the same with the loops chosen once.
#[inline]
pub fn choose_padded(
    lambda: f64,
    utilities: &[f64],
    max: f64,
    weights: &mut [f64],
    u: f64,
    fallback: usize,
) -> usize {
    let loops = Loops::detect(utilities.len());
    draw(loops, lambda, utilities, max, weights, (u, fallback))
}

/// The draw of [`choose_padded`] with the loops `loops`.
#[inline(always)]
fn draw(
    loops: Loops,
    lambda: f64,
    utilities: &[f64],
    max: f64,
    weights: &mut [f64],
    (u, fallback): (f64, usize),
) -> usize {
    if !max.is_finite() {
        return fallback;
    }
    assert!(utilities.len().is_multiple_of(LANES), "padded columns");
    let weights = &mut weights[..utilities.len()];
    // Two copies of each loop, branched to (a branch the processor predicts, where a selected
    // shift would make every weight wait for the maximum).
    let shift = super::logit_shift(lambda, max);
    let shifted = shift != 0.0;
    match loops {
        // SAFETY: `Loops::detect` chose `Eight` for a processor with AVX-512F, AVX-512VL and FMA
        // and a length that is a multiple of eight.
        #[cfg(target_arch = "x86_64")]
        Loops::Eight => unsafe {
            if shifted {
                sample_avx512_wide::<true>(lambda, utilities, max, weights, (u, fallback))
            } else {
                sample_avx512_wide::<false>(lambda, utilities, 0.0, weights, (u, fallback))
            }
        },
        // SAFETY: `Four` only where the processor has AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        Loops::Four => unsafe {
            if shifted {
                sample_avx2::<true>(lambda, utilities, max, weights, (u, fallback))
            } else {
                sample_avx2::<false>(lambda, utilities, 0.0, weights, (u, fallback))
            }
        },
        _ => {
            super::logit_weights(lambda, utilities, shift, weights);
            super::sample_weights(weights, u, fallback)
        }
    }
}

/// The length of padded columns `utilities` and `weights` for loops of `lanes` lanes, checked:
/// equal, a multiple of `lanes`, at most 64 (the masks' width).
#[cfg(target_arch = "x86_64")]
fn padded_pair(utilities: &[f64], weights: &[f64], lanes: usize) -> usize {
    let np = utilities.len();
    assert!(
        np.is_multiple_of(lanes) && weights.len() == np && np <= 64,
        "padded columns of at most 64 chains"
    );
    np
}

/// [`super::logit_weights`] then [`super::sample_weights`] four lanes at a time, in one pass for
/// the weights and their running sums and one for the comparison with `u · Σ`.
///
/// # Safety
/// The processor must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sample_avx2<const SHIFTED: bool>(
    lambda: f64,
    utilities: &[f64],
    max: f64,
    weights: &mut [f64],
    (u, fallback): (f64, usize),
) -> usize {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees AVX2.
    let (total, positive) =
        unsafe { weights_and_sums_avx2::<SHIFTED>(lambda, utilities, max, weights) };
    let target = _mm256_set1_pd(u * total);
    let mut exceed = 0u64;
    for chunk in 0..weights.len() / LANES {
        let c0 = chunk * LANES;
        // SAFETY: `weights` holds a multiple of `LANES` entries (`weights_and_sums_avx2`).
        let sums = unsafe { _mm256_loadu_pd(weights.as_ptr().add(c0)) };
        let above = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_GT_OQ>(sums, target));
        exceed |= (above as u64) << c0;
    }
    super::pick_from_bits(exceed & positive, positive, fallback)
}

/// [`super::logit_weights`] and [`super::running_sums`] four lanes at a time ([`exp_weight_avx2`],
/// then the scan's two shifted additions and the carry), on padded columns of equal length: the
/// running sums into `weights`; returns the total and the positive weights' bits. With `SHIFTED`
/// the exponents are `λ · (x − max)`, without it `λ · x` ([`super::logit_shift`]; `max` is then
/// unused): a copy of the loop each, so that the unshifted weights never wait for `max`.
///
/// # Safety
/// The processor must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn weights_and_sums_avx2<const SHIFTED: bool>(
    lambda: f64,
    utilities: &[f64],
    max: f64,
    weights: &mut [f64],
) -> (f64, u64) {
    use std::arch::x86_64::*;
    let np = padded_pair(utilities, weights, LANES);
    let (lambda_v, max_v) = (_mm256_set1_pd(lambda), _mm256_set1_pd(max));
    let (infinity, zero) = (_mm256_set1_pd(f64::INFINITY), _mm256_setzero_pd());
    let (mut carry, mut positive) = (zero, 0u64);
    for chunk in 0..np / LANES {
        let c0 = chunk * LANES;
        // SAFETY: both slices hold `np` entries and `c0 + LANES <= np`.
        unsafe {
            let x = _mm256_loadu_pd(utilities.as_ptr().add(c0));
            // Without the shift, `λ · x` (the same bits as `λ · (x − 0)`).
            let shifted = if SHIFTED { _mm256_sub_pd(x, max_v) } else { x };
            let y = exp_weight_avx2(_mm256_mul_pd(lambda_v, shifted));
            let finite =
                _mm256_cmp_pd::<_CMP_LT_OQ>(_mm256_andnot_pd(_mm256_set1_pd(-0.0), x), infinity);
            let w = _mm256_and_pd(y, finite);
            let above = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_GT_OQ>(w, zero));
            positive |= (above as u64) << c0;
            // [0, w0, w1, w2] then [0, 0, b0, b1]: adding 0 leaves a non-negative sum's bits.
            let b = _mm256_add_pd(
                w,
                _mm256_blend_pd::<1>(_mm256_permute4x64_pd::<0x90>(w), zero),
            );
            let c = _mm256_add_pd(b, _mm256_permute2f128_pd::<0x08>(b, b));
            let sums = _mm256_add_pd(c, carry);
            _mm256_storeu_pd(weights.as_mut_ptr().add(c0), sums);
            carry = _mm256_permute4x64_pd::<0xFF>(sums);
        }
    }
    (_mm256_cvtsd_f64(carry), positive)
}

/// The reduction and polynomial of [`exp_weight`] on one register of lanes, given the
/// register's broadcast, `sub`, `mul` and fused multiply-add: the same operations in the
/// same order (its `mul_add`s as FMA instructions, which round once as `mul_add` does), so the
/// same bits. Evaluates to `(t, p)`: the shifted `x · log2 e` (its low bits hold `n`) and
/// `e^r`.
#[cfg(target_arch = "x86_64")]
macro_rules! exp_polynomial {
    ($x:expr, $set:path, $sub:path, $mul:path, $fma:path) => {{
        use super::exp_consts::{LN2_HI, LN2_LO, LOG2E, SHIFTER, TAYLOR};
        let (set, fma, mul) = ($set, $fma, $mul);
        // No clamp, as in `exp_weight`: lanes below LOWEST (and NaN) are masked to 0 at the end.
        let x = $x;
        let t = fma(x, set(LOG2E), set(SHIFTER));
        let n = $sub(t, set(SHIFTER));
        let r = fma(n, set(-LN2_LO), fma(n, set(-LN2_HI), x));
        // Estrin's scheme, as in `exp_weight`.
        let a = &TAYLOR;
        let pair = |j: usize| fma(set(a[j + 1]), r, set(a[j]));
        let r2 = mul(r, r);
        let (r4, q) = (mul(r2, r2), [pair(3), pair(5), pair(7), pair(9), pair(11)]);
        let r8 = mul(r4, r4);
        let s = [
            fma(q[1], r2, q[0]),
            fma(q[3], r2, q[2]),
            fma(set(a[13]), r2, q[4]),
        ];
        let h = fma(s[2], r8, fma(s[1], r4, s[0]));
        (
            t,
            fma(fma(fma(h, r, set(a[2])), r, set(a[1])), r, set(a[0])),
        )
    }};
}

/// [`exp_weight`] on four lanes ([`exp_polynomial`], then the scale by `2^n` through the
/// exponent bits), so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn exp_weight_avx2(x: std::arch::x86_64::__m256d) -> std::arch::x86_64::__m256d {
    use super::exp_consts::{LOWEST, SHIFTER};
    use std::arch::x86_64::*;
    let set = _mm256_set1_pd;
    let (t, p) = exp_polynomial!(x, set, _mm256_sub_pd, _mm256_mul_pd, _mm256_fmadd_pd);
    let k = _mm256_sub_epi64(
        _mm256_castpd_si256(t),
        _mm256_set1_epi64x(SHIFTER.to_bits() as i64),
    );
    let scale = _mm256_slli_epi64::<52>(_mm256_add_epi64(k, _mm256_set1_epi64x(1023)));
    let y = _mm256_mul_pd(p, _mm256_castsi256_pd(scale));
    _mm256_and_pd(y, _mm256_cmp_pd::<_CMP_GE_OQ>(x, set(LOWEST)))
}

/// Chains per chunk of the AVX-512 loops: where the processor has AVX-512F and AVX-512VL the
/// columns are padded to a multiple of it ([`DecisionColumns::new`]), and a chunk is one
/// 512-bit register.
pub const WIDE_LANES: usize = 8;

/// Whether this processor runs the eight-lane loops ([`WIDE_LANES`]).
pub fn wide() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl DecisionColumns {
    /// [`utilities_portable`](Self::utilities_portable) eight chains per instruction: the same
    /// operations in the same order on each lane (no fused multiply-add), so the same bits
    /// (`tests`).
    ///
    /// # Safety
    /// The processor must support AVX-512F, AVX-512VL and FMA, and the columns must be padded to
    /// a multiple of [`WIDE_LANES`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
    pub unsafe fn utilities_avx512_wide(&self, d: &Decision, out: &mut [f64]) -> f64 {
        use std::arch::x86_64::*;
        let t = self.terms(d);
        let np = self.np;
        assert!(
            np.is_multiple_of(WIDE_LANES),
            "columns padded to eight lanes"
        );
        let out = &mut out[..np];
        let set = _mm512_set1_pd;
        let (k, amortise, wallets_per_k) = (set(t.k), set(t.amortise), set(t.wallets_per_k));
        let (fee_weight, fast_fee, fee_here) =
            (set(t.fee_weight), set(t.fast_fee), set(t.fee_here));
        let (w_network, w_kind) = (set(t.w_network), set(t.w_kind));
        let (ln_total, floor, inertia) = (set(t.ln_total), set(t.floor), set(t.inertia));
        let (delay, infinity) = (set(t.delay), set(f64::INFINITY));
        let minus_infinity = set(f64::NEG_INFINITY);
        let no_delay = t.delay <= 0.0;
        let mut best = minus_infinity;
        let (chain, segment) = (t.chain.as_ptr(), t.segment.as_ptr());
        let fee = t.fee().as_ptr();
        assert!(t.chain.len() == CHAIN_COLUMNS * np && t.segment.len() == SEGMENT_COLUMNS * np);
        for chunk in 0..np / WIDE_LANES {
            let c0 = chunk * WIDE_LANES;
            // SAFETY: the blocks hold their columns of `np` entries (asserted above), the fee
            // column is one of them, `c0 + WIDE_LANES <= np`, and `out` holds `np` entries.
            unsafe {
                let column = |block: *const f64, f: usize| _mm512_loadu_pd(block.add(f * np + c0));
                let fee = _mm512_loadu_pd(fee.add(c0));
                let pooled = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(column(chain, POOL), k);
                let liquidity =
                    _mm512_mask_blend_pd(pooled, column(segment, WAITING), column(segment, POOLED));
                // max(x, floor) returns floor when x is NaN, as f64::max does.
                let share = _mm512_max_pd(_mm512_sub_pd(column(chain, LN_TVL), ln_total), floor);
                let mut u = _mm512_add_pd(column(segment, BASE), _mm512_mul_pd(w_network, share));
                u = _mm512_sub_pd(u, _mm512_mul_pd(fee_weight, fee));
                u = _mm512_sub_pd(u, liquidity);
                // The tastes are not padded: load the lanes below the chains only (the others
                // are read as 0 and not touched).
                let have = t.tastes.len().saturating_sub(c0).min(WIDE_LANES);
                let taste = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(
                    ((1u32 << have) - 1) as __mmask8,
                    t.tastes.as_ptr().add(c0.min(t.tastes.len())),
                ));
                u = _mm512_add_pd(u, taste);
                if t.w_kind != 0.0 {
                    let kind = _mm512_max_pd(
                        _mm512_sub_pd(column(chain, LN_TVL), column(chain, LN_KIND)),
                        floor,
                    );
                    u = _mm512_add_pd(u, _mm512_mul_pd(w_kind, kind));
                }
                let forgone = _mm512_mul_pd(column(chain, FORGONE), delay);
                let fast = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(fast_fee, forgone)
                    & if t.pooled_here { 0xFF } else { 0 };
                let exit = if no_delay {
                    _mm512_setzero_pd()
                } else {
                    _mm512_mask_blend_pd(fast, forgone, fast_fee)
                };
                let fees =
                    _mm512_mul_pd(wallets_per_k, _mm512_add_pd(fee_here, column(chain, FEE)));
                let leave = _mm512_mul_pd(
                    amortise,
                    _mm512_add_pd(_mm512_add_pd(exit, column(chain, BRIDGE)), fees),
                );
                let here = if (c0..c0 + WIDE_LANES).contains(&t.current) {
                    1u8 << (t.current - c0)
                } else {
                    0
                };
                let u =
                    _mm512_mask_blend_pd(here, _mm512_sub_pd(u, leave), _mm512_add_pd(u, inertia));
                let open = (t.open >> c0) as __mmask8;
                let u = _mm512_mask_blend_pd(open, minus_infinity, u);
                _mm512_storeu_pd(out.as_mut_ptr().add(c0), u);
                // |u| < inf: finite (false for NaN); closed lanes are already −inf.
                let finite = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_abs_pd(u), infinity);
                best = _mm512_max_pd(_mm512_mask_blend_pd(finite, minus_infinity, u), best);
            }
        }
        _mm512_reduce_max_pd(best)
    }
}

/// [`super::logit_weights`] then [`super::sample_weights`] eight lanes at a time: the weights and
/// their running sums in one pass ([`weights_and_sums_avx512_wide`]), the comparison with
/// `u · Σ` in another.
///
/// # Safety
/// The processor must support AVX-512F, AVX-512VL and FMA; the columns are padded to a multiple
/// of [`WIDE_LANES`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
unsafe fn sample_avx512_wide<const SHIFTED: bool>(
    lambda: f64,
    utilities: &[f64],
    max: f64,
    weights: &mut [f64],
    (u, fallback): (f64, usize),
) -> usize {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees the features.
    let (total, positive) =
        unsafe { weights_and_sums_avx512_wide::<SHIFTED>(lambda, utilities, max, weights) };
    let target = _mm512_set1_pd(u * total);
    let mut exceed = 0u64;
    for chunk in 0..weights.len() / WIDE_LANES {
        let c0 = chunk * WIDE_LANES;
        // SAFETY: `weights` holds a multiple of `WIDE_LANES` entries (asserted by
        // `weights_and_sums_avx512_wide`).
        let sums = unsafe { _mm512_loadu_pd(weights.as_ptr().add(c0)) };
        let above = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(sums, target);
        exceed |= u64::from(above) << c0;
    }
    super::pick_from_bits(exceed & positive, positive, fallback)
}

/// [`weights_and_sums_avx2`] eight lanes at a time: each 256-bit half of a chunk is one of its
/// four-lane chunks, scanned the same way, and the carry goes from the low half to the high half
/// as from one four-lane chunk to the next, so the same bits.
///
/// # Safety
/// The processor must support AVX-512F, AVX-512VL and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
unsafe fn weights_and_sums_avx512_wide<const SHIFTED: bool>(
    lambda: f64,
    utilities: &[f64],
    max: f64,
    weights: &mut [f64],
) -> (f64, u64) {
    use std::arch::x86_64::*;
    let np = padded_pair(utilities, weights, WIDE_LANES);
    let (lambda_v, max_v) = (_mm512_set1_pd(lambda), _mm512_set1_pd(max));
    let (infinity, zero) = (_mm512_set1_pd(f64::INFINITY), _mm512_setzero_pd());
    // Lane 3 of a chunk into every lane of its high half; lane 7 into every lane.
    let (third, seventh) = (_mm512_set1_epi64(3), _mm512_set1_epi64(7));
    let (mut carry, mut positive) = (zero, 0u64);
    for chunk in 0..np / WIDE_LANES {
        let c0 = chunk * WIDE_LANES;
        // SAFETY: both slices hold `np` entries and `c0 + WIDE_LANES <= np`.
        unsafe {
            let x = _mm512_loadu_pd(utilities.as_ptr().add(c0));
            // Without the shift, `λ · x` (the same bits as `λ · (x − 0)`).
            let shifted = if SHIFTED { _mm512_sub_pd(x, max_v) } else { x };
            let y = exp_weight_avx512(_mm512_mul_pd(lambda_v, shifted));
            let finite = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_abs_pd(x), infinity);
            let w = _mm512_maskz_mov_pd(finite, y);
            let above = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(w, zero);
            positive |= u64::from(above) << c0;
            // In each half, [0, w0, w1, w2] then [0, 0, b0, b1], as in the four-lane scan.
            let b = _mm512_add_pd(w, _mm512_maskz_permutex_pd::<0x90>(0xEE, w));
            let c = _mm512_add_pd(b, _mm512_maskz_permutex_pd::<0x40>(0xCC, b));
            let low = _mm512_add_pd(c, carry);
            let sums = _mm512_mask_add_pd(low, 0xF0, c, _mm512_permutexvar_pd(third, low));
            _mm512_storeu_pd(weights.as_mut_ptr().add(c0), sums);
            carry = _mm512_permutexvar_pd(seventh, sums);
        }
    }
    (_mm512_cvtsd_f64(carry), positive)
}

/// [`exp_weight`](super::exp_weight) on eight lanes, as [`exp_weight_avx2`] on four: the same
/// bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
#[inline]
fn exp_weight_avx512(x: std::arch::x86_64::__m512d) -> std::arch::x86_64::__m512d {
    use super::exp_consts::{LOWEST, SHIFTER};
    use std::arch::x86_64::*;
    let set = _mm512_set1_pd;
    let (t, p) = exp_polynomial!(x, set, _mm512_sub_pd, _mm512_mul_pd, _mm512_fmadd_pd);
    let k = _mm512_sub_epi64(
        _mm512_castpd_si512(t),
        _mm512_set1_epi64(SHIFTER.to_bits() as i64),
    );
    let scale = _mm512_slli_epi64::<52>(_mm512_add_epi64(k, _mm512_set1_epi64(1023)));
    let y = _mm512_mul_pd(p, _mm512_castsi512_pd(scale));
    _mm512_maskz_mov_pd(_mm512_cmp_pd_mask::<_CMP_GE_OQ>(x, set(LOWEST)), y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MarketView, choose, choose_below, exp_weight, utilities};
    use rand::{RngExt, SeedableRng};

    /// One random decision: views spanning every branch (pools that can and cannot pay, fast and
    /// canonical exits, delays of 0, launched or not), elastic fees, cohorts, the within-kind
    /// network term, disallowed chains.
    struct Case {
        seg: Segment,
        views: Vec<ChainView>,
        k: f64,
        wallets: f64,
        current: usize,
        allowed: u64,
        tastes: Vec<f32>,
        cost: Vec<f64>,
        elastic: bool,
        inertia: f64,
        u: f64,
    }

    fn case(rng: &mut rand_chacha::ChaCha8Rng, t: usize, n: usize, segments: &[Segment]) -> Case {
        let mut seg = segments[t % segments.len()].clone();
        seg.w_network_kind = if t.is_multiple_of(3) { 0.01 } else { 0.0 };
        seg.holding_horizon_days = rng.random_range(30.0..720.0);
        // Elastic activity in a quarter of the cases (the decision reads it from the segment).
        let elastic = t % 4 == 1;
        seg.fee_elasticity = if elastic { 0.8 } else { 0.0 };
        // Now and then a logit scale large enough that the weights are shifted by the maximum
        // (`logit_shift`).
        if t % 7 == 6 {
            seg.logit_scale *= 20.0;
        }
        let views = (0..n)
            .map(|c| ChainView {
                launched: c == 0 || rng.random::<f64>() < 0.9,
                fee_usd: 10f64.powf(rng.random_range(-3.0..1.5)),
                yield_apy: rng.random_range(-0.01..0.12),
                log10_confirmation: rng.random_range(0.0..3.0),
                risk_apy: rng.random_range(0.0..0.05),
                ln_tvl: if rng.random::<f64>() < 0.05 {
                    f64::NEG_INFINITY
                } else {
                    rng.random_range(15.0..25.0)
                },
                ln_kind_tvl: 26.0,
                delay_days: if rng.random::<f64>() < 0.3 {
                    0.0
                } else {
                    rng.random_range(0.01..7.0)
                },
                fast_fee_fraction: rng.random_range(0.0..0.003),
                pool_available_usd: 10f64.powf(rng.random_range(3.0..8.0)),
                bridge_fee_fraction: rng.random_range(0.0..0.001),
                constant_apy: rng.random_range(-0.02..0.02),
                ..ChainView::default()
            })
            .collect();
        let current = rng.random_range(0..n);
        Case {
            seg,
            views,
            k: 10f64.powf(rng.random_range(2.0..7.5)),
            wallets: if t.is_multiple_of(2) {
                1.0
            } else {
                rng.random_range(1.0..50.0)
            },
            current,
            allowed: rng.random::<u64>() | 1 << current,
            tastes: (0..n).map(|_| rng.random_range(-0.01..0.01)).collect(),
            cost: (0..n).map(|_| rng.random_range(0.0..5.0)).collect(),
            elastic,
            inertia: rng.random_range(0.0..0.02),
            u: rng.random::<f64>(),
        }
    }

    const LN_TOTAL: f64 = 26.5;

    impl Case {
        /// The columns of this case, its segment at index 1 of three (so rows are offset).
        fn columns(&self) -> DecisionColumns {
            self.columns_with(if wide() { WIDE_LANES } else { LANES })
        }

        fn columns_with(&self, lanes: usize) -> DecisionColumns {
            let n = self.views.len();
            let segments = [self.seg.clone(), self.seg.clone(), self.seg.clone()];
            let mut cols = DecisionColumns::with_lanes(n, 3, lanes);
            for (c, v) in self.views.iter().enumerate() {
                cols.set_chain(c, v, &segments);
                for s in 0..3 {
                    cols.set_fee_cost(s, c, self.cost[c]);
                }
            }
            cols
        }

        fn decision(&self) -> Decision<'_> {
            Decision {
                seg: &self.seg,
                segment: 1,
                here: &self.views[self.current],
                k: self.k,
                wallets: self.wallets,
                current: self.current,
                allowed: self.allowed,
                tastes: &self.tastes,
                inertia_apy: self.inertia,
                ln_total_tvl: LN_TOTAL,
                ln_share_floor: 1e-4f64.ln(),
                amortise: amortise_per_year(&self.seg),
            }
        }
    }

    /// The columns give the reference [`utilities`] to rounding, the largest of them exactly, and
    /// the same choice, over 20,000 random decisions of 7 and of 9 chains.
    #[test]
    fn the_columns_give_the_reference_utilities_and_choices() {
        let small = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/small.toml");
        let sc = crate::scenario::Scenario::from_file(&small).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        let (mut worst, mut same) = (0.0f64, 0);
        let trials = 20_000usize;
        for t in 0..trials {
            let n = if t.is_multiple_of(2) { 7 } else { 9 };
            let x = case(&mut rng, t, n, &sc.segments);
            let market = MarketView {
                chains: &x.views,
                ln_total_tvl: LN_TOTAL,
                ln_share_floor: 1e-4f64.ln(),
            };
            let mut reference = vec![0.0; n];
            utilities(
                &x.seg,
                x.k,
                x.wallets,
                x.current,
                x.allowed,
                &x.tastes,
                &market,
                x.elastic.then_some(&x.cost[..]),
                x.inertia,
                &mut reference,
            );
            let cols = x.columns();
            let np = cols.padded_len();
            let lanes = if wide() { WIDE_LANES } else { LANES };
            assert_eq!(np, n.div_ceil(lanes) * lanes);
            let (mut out, mut w) = (vec![f64::NAN; np], vec![f64::NAN; np]);
            let best = cols.utilities(&x.decision(), &mut out);
            for c in 0..n {
                if reference[c].is_finite() || out[c].is_finite() {
                    worst = worst.max((reference[c] - out[c]).abs());
                } else {
                    assert_eq!(reference[c], out[c]);
                }
            }
            assert!(out[n..].iter().all(|&u| u == f64::NEG_INFINITY));
            let finite_max = out
                .iter()
                .copied()
                .filter(|u| u.is_finite())
                .fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(best.to_bits(), finite_max.to_bits());
            let lambda = x.seg.logit_scale;
            let chosen = choose_padded(lambda, &out, best, &mut w, x.u, x.current);
            assert_eq!(chosen, choose(lambda, &out[..n], &mut w, x.u, x.current));
            same += usize::from(choose(lambda, &reference, &mut w, x.u, x.current) == chosen);
        }
        assert!(worst < 1e-12, "largest difference {worst:e}");
        assert_eq!(same, trials);
    }

    /// The AVX2 loops, and the eight-lane loops where the processor has AVX-512, give the same
    /// bits as the portable ones: utilities, their maximum, the weights' running sums and total
    /// (shifted by the maximum, and unshifted where `logit_shift` allows it, each drawn over a
    /// thousand times), and the choice, over 20,000 random decisions on columns padded to four
    /// and to eight; and the four- and eight-lane `exp` the same bits as [`exp_weight`] at 10⁶
    /// points of [−708, 600] and at its edges.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_loops_give_the_portable_bits() {
        if !std::arch::is_x86_feature_detected!("avx2")
            || !std::arch::is_x86_feature_detected!("fma")
        {
            // Nothing to compare: this processor runs the portable loops only.
            return;
        }
        let small = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/small.toml");
        let sc = crate::scenario::Scenario::from_file(&small).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(23);
        // The eight-lane loops, where the processor has AVX-512, on columns padded to eight.
        let eight = wide();
        let mut shifts = [0usize; 2];
        for (t, lanes) in (0..40_000).map(|t| (t / 2, [LANES, WIDE_LANES][t % 2])) {
            let n = [1, 4, 7, 9, 13][t % 5];
            let x = case(&mut rng, t, n, &sc.segments);
            let cols = x.columns_with(lanes);
            let np = cols.padded_len();
            let eight = eight && lanes == WIDE_LANES;
            let (mut portable, mut vector) = (vec![0.0; np], vec![1.0; np]);
            let best = cols.utilities_portable(&x.decision(), &mut portable);
            // SAFETY: AVX2 is present (checked above).
            let best_v = unsafe { cols.utilities_avx2(&x.decision(), &mut vector) };
            assert_eq!(best.to_bits(), best_v.to_bits(), "case {t}");
            for c in 0..np {
                assert_eq!(
                    portable[c].to_bits(),
                    vector[c].to_bits(),
                    "case {t}, chain {c}"
                );
            }
            if eight {
                let mut wide = vec![1.0; np];
                // SAFETY: AVX-512F, AVX-512VL and FMA are present (`wide`); eight-lane padding.
                let best_w = unsafe { cols.utilities_avx512_wide(&x.decision(), &mut wide) };
                assert_eq!(best.to_bits(), best_w.to_bits(), "case {t}");
                assert!(
                    (0..np).all(|c| portable[c].to_bits() == wide[c].to_bits()),
                    "case {t}"
                );
            }
            let lambda = x.seg.logit_scale;
            if best.is_finite() {
                let unshifted = crate::model::logit_shift(lambda, best) == 0.0;
                shifts[usize::from(!unshifted)] += 1;
                // Both copies of the weights' loops, each where it may run (unshifted only where
                // `logit_shift` allows it), against the portable loop with that shift.
                for by_max in [true, false].into_iter().filter(|&m| m || unshifted) {
                    let shift = if by_max { best } else { 0.0 };
                    let (mut w, mut w_v) = (vec![0.0; np], vec![1.0; np]);
                    crate::model::logit_weights(lambda, &portable, shift, &mut w);
                    let positive_w = (0..np).fold(0u64, |m, c| m | u64::from(w[c] > 0.0) << c);
                    assert_ne!(
                        positive_w, 0,
                        "case {t}: the best chain has a positive weight"
                    );
                    let (total, positive) = crate::model::running_sums(&mut w);
                    // SAFETY: as above.
                    let (total_v, positive_v) = unsafe {
                        if by_max {
                            weights_and_sums_avx2::<true>(lambda, &vector, best_v, &mut w_v)
                        } else {
                            weights_and_sums_avx2::<false>(lambda, &vector, 0.0, &mut w_v)
                        }
                    };
                    assert_eq!(total.to_bits(), total_v.to_bits(), "case {t}");
                    assert_eq!((positive, positive_v), (positive_w, positive_w), "case {t}");
                    for c in 0..np {
                        assert_eq!(w[c].to_bits(), w_v[c].to_bits(), "case {t}, chain {c}");
                    }
                    if eight {
                        let mut w_8 = vec![1.0; np];
                        // SAFETY: as above.
                        let (total_8, positive_8) = unsafe {
                            if by_max {
                                weights_and_sums_avx512_wide::<true>(
                                    lambda, &vector, best, &mut w_8,
                                )
                            } else {
                                weights_and_sums_avx512_wide::<false>(
                                    lambda, &vector, 0.0, &mut w_8,
                                )
                            }
                        };
                        assert_eq!(
                            (total.to_bits(), positive_8),
                            (total_8.to_bits(), positive_w)
                        );
                        assert!(
                            (0..np).all(|c| w[c].to_bits() == w_8[c].to_bits()),
                            "case {t}"
                        );
                    }
                }
            }
            let mut w = vec![0.0; np];
            let expected = choose_below(lambda, &portable, best, &mut w, x.u, x.current);
            assert_eq!(
                expected,
                choose_padded(lambda, &vector, best_v, &mut w, x.u, x.current),
                "case {t}"
            );
            // The draws of both widths, each with the copy of its loops `draw` picks (the
            // processor has AVX2 and FMA, checked above, and AVX-512 where `eight`).
            let widths = [Loops::Four, Loops::Eight];
            for loops in widths.into_iter().take(if eight { 2 } else { 1 }) {
                let chosen = draw(loops, lambda, &vector, best_v, &mut w, (x.u, x.current));
                assert_eq!(expected, chosen, "case {t}, {loops:?}");
            }
        }
        // Both shifts were drawn often (the count of decisions with an open chain, unshifted
        // and shifted).
        assert!(shifts.iter().all(|&n| n > 1_000), "{shifts:?}");
        let exp4 = |x: [f64; 4]| -> [f64; 4] {
            use std::arch::x86_64::*;
            let mut y = [0.0; 4];
            // SAFETY: AVX2 is present; both arrays hold four f64.
            unsafe {
                let v = exp_weight_avx2(_mm256_loadu_pd(x.as_ptr()));
                _mm256_storeu_pd(y.as_mut_ptr(), v);
            }
            y
        };
        let edges = [
            0.0,
            -0.0,
            f64::NEG_INFINITY,
            f64::NAN,
            -708.0,
            -708.5,
            -1e-300,
            -745.2,
            f64::MIN,
            -std::f64::consts::LN_2,
            -0.5 * std::f64::consts::LN_2,
            -1.0,
        ];
        let mut points: Vec<f64> = edges.to_vec();
        points.extend([1e-300, 1.0, 40.0, crate::model::UNSHIFTED_LIMIT]);
        points.extend((0..1_000_000).map(|i| match i % 3 {
            0 => -40.0 * rng.random::<f64>(),
            1 => -708.0 * rng.random::<f64>(),
            // Unshifted weights (`logit_shift`).
            _ => crate::model::UNSHIFTED_LIMIT * rng.random::<f64>(),
        }));
        for chunk in points.chunks(4) {
            let mut x = [0.0; 4];
            x[..chunk.len()].copy_from_slice(chunk);
            let y = exp4(x);
            for l in 0..4 {
                assert_eq!(y[l].to_bits(), exp_weight(x[l]).to_bits(), "exp({})", x[l]);
            }
        }
        if eight {
            for chunk in points.chunks(8) {
                let mut x = [0.0; 8];
                x[..chunk.len()].copy_from_slice(chunk);
                let mut y = [0.0; 8];
                // SAFETY: AVX-512F, AVX-512VL and FMA are present (`wide`); both arrays hold
                // eight f64.
                unsafe {
                    use std::arch::x86_64::*;
                    let v = exp_weight_avx512(_mm512_loadu_pd(x.as_ptr()));
                    _mm512_storeu_pd(y.as_mut_ptr(), v);
                }
                for l in 0..8 {
                    assert_eq!(y[l].to_bits(), exp_weight(x[l]).to_bits(), "exp({})", x[l]);
                }
            }
        }
    }
}

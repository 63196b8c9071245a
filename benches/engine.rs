//! Criterion benches of the hot paths on the canonical `scenarios/bench.toml`:
//! one decision (score 9 chains + logit sample), one whole run, and aggregating one run.
//! Figures and the commands behind them are in docs/PERFORMANCE.md.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use l2sim::batch::Stat;
use l2sim::engine::{Layout, simulate};
use l2sim::model::{self, ChainView, MarketView};
use l2sim::scenario::Scenario;

fn bench_scenario() -> Scenario {
    Scenario::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench.toml"))
        .expect("bench.toml validates")
}

fn decision(c: &mut Criterion) {
    let sc = bench_scenario();
    let views: Vec<ChainView> = sc
        .chains
        .iter()
        .map(|ch| ChainView {
            launched: true,
            fee_usd: ch.tx_cost_usd,
            yield_apy: ch.organic_yield_apy,
            log10_confirmation: ch.confirmation_s.log10(),
            risk_apy: ch.risk_premium_apy,
            ln_tvl: (1e9f64).ln(),
            delay_days: ch.withdrawal_delay_days,
            fast_fee_fraction: ch.fast_exit_base_bps * 1e-4,
            pool_available_usd: ch.fast_exit_liquidity_usd,
            bridge_fee_fraction: ch.bridge_fee_bps * 1e-4,
            ..Default::default()
        })
        .collect();
    let seg = &sc.segments[0];
    let tastes = vec![0.001f32; views.len()];
    let market = MarketView {
        chains: &views,
        ln_total_tvl: (1e10f64).ln(),
        ln_share_floor: (1e-4f64).ln(),
    };
    let (mut u, mut w) = (vec![0.0; views.len()], vec![0.0; views.len()]);
    let mut x = 0.123_f64;
    c.bench_function("decision_9_chains", |b| {
        b.iter(|| {
            x = (x + 0.618_033_988_749_895) % 1.0;
            model::utilities(
                seg,
                black_box(5000.0),
                1.0,
                1,
                u64::MAX,
                &tastes,
                &market,
                &mut u,
            );
            black_box(model::choose(seg.logit_scale, &u, &mut w, x, 1))
        })
    });
}

fn whole_run(c: &mut Criterion) {
    let sc = bench_scenario();
    let layout = Layout::new(&sc);
    let mut group = c.benchmark_group("bench_toml");
    group.sample_size(10);
    group.bench_function("one_run", |b| {
        b.iter(|| black_box(simulate(&sc, &layout, sc.seed, 0)))
    });
    let out = simulate(&sc, &layout, sc.seed, 0);
    group.bench_function("aggregate_one_run", |b| {
        let mut stats = vec![Stat::default(); out.samples.len()];
        b.iter(|| {
            for (s, &x) in stats.iter_mut().zip(&out.samples) {
                s.add(x);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, decision, whole_run);
criterion_main!(benches);

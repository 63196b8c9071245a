//! Criterion benches of the hot paths: one decision (score 9 chains + logit sample), one whole
//! run of the canonical `scenarios/bench.toml`, aggregating one run, simulated days of the
//! baseline (1 and 31 days: their difference is the cost of 30 days), and rendering the charts.
//! Figures and the commands behind them are in docs/PERFORMANCE.md.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use l2sim::batch::{self, BatchConfig, Blocked, Moments, Stat};
use l2sim::engine::{Keep, Layout, simulate};
use l2sim::model::{self, ChainView, MarketView};
use l2sim::report;
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
                None,
                seg.inertia_apy,
                &mut u,
            );
            black_box(model::choose(seg.logit_scale, &u, &mut w, x, 1))
        })
    });
    // The engine's path: chain-major columns updated as the views refresh, four chains at a
    // time where the processor has AVX2.
    let mut columns = model::DecisionColumns::new(views.len(), 1);
    for (c, v) in views.iter().enumerate() {
        columns.set_chain(c, v, std::slice::from_ref(seg));
    }
    let np = columns.padded_len();
    let (mut u, mut w) = (vec![0.0; np], vec![0.0; np]);
    c.bench_function("decision_9_chains_columns", |b| {
        b.iter(|| {
            x = (x + 0.618_033_988_749_895) % 1.0;
            let best = columns.utilities(
                &model::Decision {
                    seg,
                    segment: 0,
                    here: &views[1],
                    k: black_box(5000.0),
                    wallets: 1.0,
                    current: 1,
                    allowed: u64::MAX,
                    tastes: &tastes,
                    inertia_apy: seg.inertia_apy,
                    ln_total_tvl: market.ln_total_tvl,
                    ln_share_floor: market.ln_share_floor,
                    amortise: model::amortise_per_year(seg),
                },
                &mut u,
            );
            black_box(model::choose_padded(
                seg.logit_scale,
                &u,
                best,
                &mut w,
                x,
                1,
            ))
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

fn baseline_days(c: &mut Criterion) {
    let mut group = c.benchmark_group("baseline");
    group.sample_size(10);
    for days in [1, 31] {
        let text = l2sim::scenario::BASELINE_TOML
            .replace("horizon_days = 730", &format!("horizon_days = {days}"));
        let sc =
            Scenario::from_toml_str(&text, Path::new("baseline.toml")).expect("baseline validates");
        let layout = Layout::new(&sc);
        group.bench_function(format!("{days}_days"), |b| {
            b.iter(|| black_box(simulate(&sc, &layout, sc.seed, 0)))
        });
    }
    group.finish();
}

fn charts(c: &mut Criterion) {
    let sc = bench_scenario();
    let cfg = BatchConfig {
        runs: 8,
        blocks: None,
        seed: 1,
        threads: Some(1),
        keep: Keep::Trajectory,
        cancel: None,
    };
    let result = batch::run_batch(&sc, &cfg, &|_| {}, &mut |_| Ok(())).expect("batch");
    let rows = report::quantile_rows(&result);
    let dir = tempfile::tempdir().expect("temporary folder");
    let finals = vec![0.5; 8];
    let data = report::ChartData {
        scenario: &sc.name,
        runs: 8,
        chains: sc
            .chains
            .iter()
            .map(|ch| (ch.id.clone(), ch.kind))
            .collect(),
        rows: &rows,
        final_l2_share: finals.clone(),
        final_zk_share_of_l2: finals.clone(),
        zk_overtakes_day: finals,
    };
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.bench_function("four_run_charts_png_svg", |b| {
        b.iter(|| report::draw_run_charts(dir.path(), &data).expect("charts"))
    });
    group.finish();
}

/// What `merge` does per shard and per block, for one block (32 runs) of `bench.toml`: add a
/// shard's sketches and counts, and fold a block's moments.
fn merge(c: &mut Criterion) {
    let sc = bench_scenario();
    let cfg = BatchConfig {
        runs: 32,
        blocks: None,
        seed: 1,
        threads: None,
        keep: Keep::Trajectory,
        cancel: None,
    };
    let mut result = batch::run_batch(&sc, &cfg, &|_| {}, &mut |_| Ok(())).expect("batch");
    let mut block: Vec<Moments> = Vec::new();
    result.each_moments(&mut |m| block.push(m.get()));
    let mut group = c.benchmark_group("merge");
    group.sample_size(10);
    group.bench_function(format!("fold_block_{}_moments", block.len()), |b| {
        let mut target = result.clone();
        b.iter(|| black_box(target.fold_block(&block)))
    });
    group.bench_function("merge_shard_sketches", |b| {
        let other = result.clone();
        b.iter(|| {
            let mut target = result.clone();
            target.merge_shard(&other);
            black_box(target.runs)
        })
    });
    group.bench_function("clone_result", |b| {
        b.iter(|| black_box(result.clone().runs))
    });
    group.finish();
}

criterion_group!(benches, decision, whole_run, baseline_days, charts, merge);
criterion_main!(benches);

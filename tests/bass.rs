//! A new chain's adoption follows the Bass curve of its awareness parameters in a scenario
//! without costs, where every aware agent moves to it at its next review: the share of the
//! agents on it against `F(t) = (1 − e^{−(p+q)t}) / (1 + (q/p) e^{−(p+q)t})` since launch, within
//! 4 Monte Carlo standard errors plus the model's documented lags (one review, under 0.05 day).

use crate::common;

use common::*;

const P: f64 = 0.01; // per day
const Q: f64 = 0.25;

fn text(awareness: bool) -> String {
    let aware = if awareness {
        format!(
            "awareness = {{ innovation_per_year = {}, imitation_per_year = {} }}\n",
            P * 365.0,
            Q * 365.0
        )
    } else {
        String::new()
    };
    format!(
        r#"name = "bass"
horizon_days = 60
sample_every_days = 1
bridge_time_days = 0
[[chains]]
id = "l1"
kind = "l1"
initial_tvl_usd = 1e9
tx_cost_usd = 0
confirmation_s = 1
risk_premium_apy = 0.05
[[chains]]
id = "new"
kind = "zk"
launch_day = 10
tx_cost_usd = 0
confirmation_s = 1
{aware}[[segments]]
name = "all"
agents = 4000
capital = {{ dist = "lognormal", median_usd = 1000, sigma = 0 }}
review_rate_per_day = 20
logit_scale = 2000
"#
    )
}

fn bass(t: f64) -> f64 {
    if t <= 0.0 {
        return 0.0;
    }
    let e = (-(P + Q) * t).exp();
    (1.0 - e) / (1.0 + Q / P * e)
}

/// Mean and standard error over runs of the new chain's share of TVL at `day`.
fn share_on_new(
    layout: &l2sim::engine::Layout,
    outs: &[l2sim::engine::RunOutput],
    day: f64,
) -> (f64, f64) {
    let k = layout.sample_days.iter().position(|&d| d == day).unwrap();
    let shares: Vec<f64> = outs
        .iter()
        .map(|o| trajectory(layout, o, "tvl_share.new")[k])
        .collect();
    mean_sem(&shares)
}

#[test]
fn adoption_follows_the_bass_curve() {
    let sc = scenario(&text(true));
    let (layout, outs) = runs(&sc, 9, 8);
    for day in [12.0, 16.0, 20.0, 25.0, 30.0, 45.0] {
        let (mean, sem) = share_on_new(&layout, &outs, day);
        let f = bass(day - 10.0);
        // Lag: adoption trails awareness by one review (mean 1/20 day), at most F'(t)/20; and
        // 1e-3 for the trapezoid rule the adoption integral is updated with between ticks.
        let lag = (P + Q * f) * (1.0 - f) / 20.0;
        assert!(
            (mean - f).abs() <= 4.0 * sem + lag + 1e-3,
            "day {day}: share {mean} ± {sem}, Bass {f}"
        );
    }
    // The same parameters given for the kind (`[awareness.zk]`): the same runs, bit for bit.
    let by_kind = text(false).replacen(
        "[[chains]]",
        &format!(
            "[awareness.zk]\ninnovation_per_year = {}\nimitation_per_year = {}\n\n[[chains]]",
            P * 365.0,
            Q * 365.0
        ),
        1,
    );
    let (_, kind_outs) = runs(&scenario(&by_kind), 9, 8);
    assert_eq!(kind_outs, outs);
    // Without awareness, everyone knows the chain at launch and it takes the market at once.
    let sc = scenario(&text(false));
    let (layout, outs) = runs(&sc, 9, 2);
    let k = layout.sample_days.iter().position(|&d| d == 12.0).unwrap();
    assert!(trajectory(&layout, &outs[0], "tvl_share.new")[k] > 0.99);
}

/// A segment's `awareness_scale` multiplies the hazard: with innovation only (`q = 0`) the share
/// aware is `1 − e^{−κ p t}`; κ = 4 here, so the chain's adoption follows that curve within the
/// same tolerance as above.
#[test]
fn an_awareness_scale_multiplies_the_hazard() {
    let kappa = 4.0;
    let text = text(false)
        .replace(
            "launch_day = 10\n",
            &format!(
                "launch_day = 10\nawareness = {{ innovation_per_year = {}, imitation_per_year = 0 }}\n",
                P * 365.0
            ),
        )
        .replace("logit_scale = 2000\n", &format!("logit_scale = 2000\nawareness_scale = {kappa}\n"));
    let sc = scenario(&text);
    let (layout, outs) = runs(&sc, 9, 8);
    for day in [12.0, 16.0, 20.0, 30.0] {
        let (mean, sem) = share_on_new(&layout, &outs, day);
        let f = 1.0 - (-kappa * P * (day - 10.0)).exp();
        let lag = kappa * P * (1.0 - f) / 20.0;
        assert!(
            (mean - f).abs() <= 4.0 * sem + lag + 1e-3,
            "day {day}: share {mean} ± {sem}, 1 - exp(-κpt) = {f}"
        );
        // And it is not the unscaled curve.
        let unscaled = 1.0 - (-P * (day - 10.0)).exp();
        assert!(
            (mean - unscaled).abs() > 4.0 * sem + lag + 1e-3,
            "day {day}"
        );
    }
}

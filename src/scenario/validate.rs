//! Validation: raw structs → [`Scenario`], collecting every problem with its field path.
//!
//! Each check names the field path and the allowed range; `error` later adds line and column.

use std::collections::HashSet;

use super::calendar::{Calendar, RawDay, parse_date};
use super::name::is_id;
use super::raw::{RawCapital, RawChain, RawEvent, RawLoss, RawScenario, RawSegment};
use super::suggest::one_of;
use super::{
    AprCurve, Bound, CapitalDist, Chain, ChainField, ChainKind, Event, EventAction, LossDist,
    MAX_CHAINS, Market, Problem, Scenario, Segment,
};

/// Every kind of scheduled event.
pub const EVENT_KINDS: [&str; 9] = [
    "incentives",
    "airdrop",
    "fee_change",
    "delay_change",
    "hack",
    "user_inflow",
    "capital_outflow",
    "allow",
    "parameter",
];

/// The names of the chain kinds, as files write them.
const KIND_NAMES: [&str; 4] = ["l1", "optimistic", "zk", "alt_l1"];

/// Collects problems while checking.
struct Checker {
    problems: Vec<Problem>,
    /// Every number checked, with its path and range: the schema's ranges come from here.
    bounds: Vec<(String, Bound)>,
}

impl Checker {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
            location: None,
            file: None,
        });
    }

    fn num(&mut self, path: &str, value: f64, bound: Bound) -> f64 {
        self.bounds.push((path.to_string(), bound));
        if !bound.holds(value) {
            self.problem(
                path,
                format!("= {}: {}", super::show(value), bound.describe()),
            );
        }
        value
    }

    /// A day field: a number, or a date under the scenario's calendar; then checked like a number.
    fn day(&mut self, path: &str, value: &RawDay, cal: Option<&Calendar>, bound: Bound) -> f64 {
        match value.resolve(cal) {
            Ok(day) => {
                if let RawDay::Date(text) = value
                    && !bound.holds(day)
                {
                    self.bounds.push((path.to_string(), bound));
                    self.problem(
                        path,
                        format!(
                            "= {text:?} (day {}): {}",
                            super::show(day),
                            bound.describe()
                        ),
                    );
                    return day;
                }
                self.num(path, day, bound)
            }
            Err(message) => {
                self.bounds.push((path.to_string(), bound));
                let message = if message.starts_with("= ") {
                    message
                } else {
                    format!("= {message}")
                };
                self.problem(path, message);
                0.0
            }
        }
    }

    fn id(&mut self, path: &str, value: &str) {
        if !is_id(value) {
            self.problem(
                path,
                format!("= {value:?}: must be 1 to 64 characters of a-z, 0-9, '_' or '-'"),
            );
        }
    }
}

pub(super) fn validate(raw: RawScenario) -> Result<Scenario, Vec<Problem>> {
    let mut ck = Checker {
        problems: Vec::new(),
        bounds: Vec::new(),
    };
    check(raw, &mut ck)
}

/// The allowed range of every number `validate` checks in `raw`, by field path (e.g.
/// `chains[2].tx_cost_usd`), whether or not the scenario is valid.
pub(super) fn bounds(raw: RawScenario) -> Vec<(String, Bound)> {
    let mut ck = Checker {
        problems: Vec::new(),
        bounds: Vec::new(),
    };
    let _ = check(raw, &mut ck);
    ck.bounds
}

fn check(raw: RawScenario, ck: &mut Checker) -> Result<Scenario, Vec<Problem>> {
    ck.id("name", &raw.name);
    let horizon = ck.num(
        "horizon_days",
        raw.horizon_days,
        Bound::Between(1.0, 36_500.0),
    );
    let every = ck.num(
        "sample_every_days",
        raw.sample_every_days,
        Bound::Between(0.01, horizon.max(0.01)),
    );
    let calendar = raw
        .start_date
        .as_deref()
        .and_then(|text| match parse_date(text) {
            Ok(start) => Some(Calendar { start }),
            Err(message) => {
                ck.problem("start_date", format!("= {message}"));
                None
            }
        });
    let sample_days = match raw.sample.as_deref() {
        None => every_days(horizon, every),
        Some("month_end") => match &calendar {
            Some(cal) => {
                let mut days = vec![0.0];
                days.extend(cal.month_ends(horizon).into_iter().filter(|&d| d > 0.0));
                if horizon - days[days.len() - 1] > 1e-9 {
                    days.push(horizon);
                }
                days
            }
            None => {
                ck.problem(
                    "sample",
                    "= \"month_end\": needs the scenario's start_date to know where months end",
                );
                Vec::new()
            }
        },
        Some(other) => {
            ck.problem(
                "sample",
                format!("= {other:?}: must be \"month_end\" (or leave it out to sample every sample_every_days)"),
            );
            Vec::new()
        }
    };
    if raw.runs == 0 || raw.runs > 10_000_000 {
        ck.problem("runs", format!("= {}: must be in [1, 10000000]", raw.runs));
    }
    ck.num(
        "bridge_time_days",
        raw.bridge_time_days,
        Bound::Between(0.0, 365.0),
    );
    let market = check_market(ck, &raw);
    for (kind, a) in [
        ("optimistic", raw.awareness.optimistic),
        ("zk", raw.awareness.zk),
        ("alt_l1", raw.awareness.alt_l1),
    ] {
        if let Some(a) = a {
            let at = |f: &str| format!("awareness.{kind}.{f}");
            ck.num(
                &at("innovation_per_year"),
                a.innovation_per_year,
                Bound::Between(1e-9, 1e4),
            );
            ck.num(
                &at("imitation_per_year"),
                a.imitation_per_year,
                Bound::Between(0.0, 1e4),
            );
        }
    }
    let n = &raw.nests;
    let nests = [n.l1, n.optimistic, n.zk, n.alt_l1];
    for (kind, mu) in ChainKind::ALL.iter().zip(nests) {
        ck.num(
            &format!("nests.{}", kind.as_str()),
            mu,
            Bound::Between(0.01, 1.0),
        );
    }
    let nests = nests.iter().any(|&mu| mu != 1.0).then_some(nests);

    if raw.chains.is_empty() {
        ck.problem(
            "chains",
            "is empty: a scenario needs at least one chain, exactly one of kind \"l1\"",
        );
    }
    if raw.chains.len() > MAX_CHAINS {
        ck.problem(
            "chains",
            format!(
                "has {} chains: at most {MAX_CHAINS} are allowed",
                raw.chains.len()
            ),
        );
    }
    let mut ids = HashSet::new();
    let chains: Vec<Chain> = raw
        .chains
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if !ids.insert(c.id.as_str()) {
                ck.problem(
                    format!("chains[{i}].id"),
                    format!("= {:?}: duplicate chain id", c.id),
                );
            }
            check_chain(ck, i, c, horizon, calendar.as_ref(), &raw.awareness)
        })
        .collect();
    let l1s: Vec<usize> = (0..chains.len())
        .filter(|&i| chains[i].kind == ChainKind::L1)
        .collect();
    // A misspelt kind may be the l1's: it is reported once, as a kind.
    let kinds: Vec<Option<ChainKind>> = raw
        .chains
        .iter()
        .map(|c| ChainKind::parse(&c.kind))
        .collect();
    // Rules that count chains by kind hold only when every kind is known.
    let kinds_known = kinds.iter().all(Option::is_some);
    if !chains.is_empty() && (l1s.len() > 1 || (l1s.is_empty() && kinds_known)) {
        ck.problem(
            "chains",
            format!(
                "has {} chains of kind \"l1\": exactly one is required",
                l1s.len()
            ),
        );
    }
    if let Some(&l1) = l1s.first()
        && chains[l1].launch_day > 0.0
    {
        ck.problem(
            format!("chains[{l1}].launch_day"),
            format!("= {}: must be 0 for the l1 chain", chains[l1].launch_day),
        );
    }
    let initial_tvl: f64 = chains.iter().map(|c| c.initial_tvl_usd).sum();
    if !chains.is_empty() && initial_tvl <= 0.0 {
        ck.problem(
            "chains",
            "hold no initial_tvl_usd at all: at least one chain needs TVL at day 0",
        );
    }

    let resolve_chain = |ck: &mut Checker, path: &str, id: &str| -> usize {
        match chains.iter().position(|c| c.id == id) {
            Some(i) => i,
            None => {
                let known: Vec<&str> = chains.iter().map(|c| c.id.as_str()).collect();
                ck.problem(
                    path,
                    format!("= {id:?}: no such chain (chains are {})", known.join(", ")),
                );
                0
            }
        }
    };
    let mask_of = |ck: &mut Checker, path: &str, kinds: &[String], ids: &[String]| -> u64 {
        let mut mask = 0u64;
        for (j, k) in kinds.iter().enumerate() {
            match ChainKind::parse(k) {
                Some(kind) => {
                    for (c, chain) in chains.iter().enumerate() {
                        if chain.kind == kind {
                            mask |= 1 << c;
                        }
                    }
                }
                None => ck.problem(format!("{path}kinds[{j}]"), one_of(k, &KIND_NAMES)),
            }
        }
        for (j, id) in ids.iter().enumerate() {
            mask |= 1 << resolve_chain(ck, &format!("{path}chains[{j}]"), id);
        }
        mask
    };

    if raw.segments.is_empty() {
        ck.problem(
            "segments",
            "is empty: a scenario needs at least one segment of agents",
        );
    }
    let mut names = HashSet::new();
    let mut segments = Vec::new();
    for (i, s) in raw.segments.iter().enumerate() {
        if !names.insert(s.name.as_str()) {
            ck.problem(
                format!("segments[{i}].name"),
                format!("= {:?}: duplicate segment name", s.name),
            );
        }
        let mut allowed = if s.allowed_kinds.is_empty() && s.allowed_chains.is_empty() {
            if chains.len() >= 64 {
                u64::MAX
            } else {
                (1u64 << chains.len()) - 1
            }
        } else {
            mask_of(
                ck,
                &format!("segments[{i}].allowed_"),
                &s.allowed_kinds,
                &s.allowed_chains,
            )
        };
        if !chains.is_empty() {
            allowed &= if chains.len() >= 64 {
                u64::MAX
            } else {
                (1u64 << chains.len()) - 1
            };
        }
        segments.push(check_segment(ck, i, s, allowed, kinds_known));
    }
    let segment_index = |ck: &mut Checker, path: &str, name: &str| -> usize {
        match raw.segments.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                let known: Vec<&str> = raw.segments.iter().map(|s| s.name.as_str()).collect();
                ck.problem(
                    path,
                    format!(
                        "= {name:?}: no such segment (segments are {})",
                        known.join(", ")
                    ),
                );
                0
            }
        }
    };

    let mut events = Vec::new();
    for (i, e) in raw.events.iter().enumerate() {
        let p = format!("events[{i}]");
        let day = ck.day(
            &format!("{p}.day"),
            &e.day,
            calendar.as_ref(),
            Bound::Between(0.0, horizon),
        );
        let need = |ck: &mut Checker, field: &str, v: Option<f64>, bound: Bound| -> f64 {
            match v {
                Some(v) => ck.num(&format!("{p}.{field}"), v, bound),
                None => {
                    ck.problem(
                        format!("{p}.{field}"),
                        format!(
                            "is missing: a {:?} event needs it ({})",
                            e.kind,
                            bound.describe()
                        ),
                    );
                    0.0
                }
            }
        };
        // The kind rules of a chain field hold for a value an event sets too (a value out of
        // range is reported as such, once).
        let kind_rule = |ck: &mut Checker, at: &str, field: ChainField, value: f64| {
            let target = e
                .chain
                .as_ref()
                .and_then(|id| chains.iter().position(|c| c.id == *id));
            if let Some(c) = target
                && field.range().holds(value)
                && let Some(kind) = kinds[c]
                && let Some(rule) = field.zero_for(kind)
                && value != 0.0
            {
                ck.problem(
                    format!("{p}.{at}"),
                    format!(
                        "= {}: sets {} of chain {:?}, which {rule}",
                        super::show(value),
                        field.name(),
                        chains[c].id
                    ),
                );
            }
        };
        let chain = |ck: &mut Checker| -> usize {
            match &e.chain {
                Some(id) => resolve_chain(ck, &format!("{p}.chain"), id),
                None => {
                    ck.problem(
                        format!("{p}.chain"),
                        format!("is missing: a {:?} event needs a chain id", e.kind),
                    );
                    0
                }
            }
        };
        let segment = |ck: &mut Checker| -> usize {
            match &e.segment {
                Some(name) => segment_index(ck, &format!("{p}.segment"), name),
                None => {
                    ck.problem(
                        format!("{p}.segment"),
                        format!("is missing: a {:?} event needs a segment name", e.kind),
                    );
                    0
                }
            }
        };
        let (action, used): (Option<EventAction>, &[&str]) = match e.kind.as_str() {
            "incentives" => (
                Some(EventAction::Incentives {
                    chain: chain(ck),
                    usd_per_day: need(ck, "usd_per_day", e.usd_per_day, Bound::NonNegative),
                    duration_days: need(ck, "duration_days", e.duration_days, Bound::Positive),
                }),
                &["chain", "usd_per_day", "duration_days"],
            ),
            "airdrop" => {
                let path = format!("{p}.airdrop_day");
                let bound = Bound::Between(day.max(0.0), horizon);
                let airdrop_day = match &e.airdrop_day {
                    Some(d) => ck.day(&path, d, calendar.as_ref(), bound),
                    None => {
                        ck.problem(
                            path,
                            format!(
                                "is missing: a \"airdrop\" event needs it ({})",
                                bound.describe()
                            ),
                        );
                        0.0
                    }
                };
                let (speculative_apy, expected_value_usd) = match (
                    e.speculative_apy,
                    e.expected_value_usd,
                ) {
                    (Some(apy), None) => (
                        ck.num(
                            &format!("{p}.speculative_apy"),
                            apy,
                            Bound::Between(0.0, 10.0),
                        ),
                        0.0,
                    ),
                    (None, Some(v)) => (
                        0.0,
                        ck.num(
                            &format!("{p}.expected_value_usd"),
                            v,
                            Bound::Between(0.0, 1e13),
                        ),
                    ),
                    _ => {
                        ck.problem(
                                format!("{p}.speculative_apy"),
                                "an airdrop event needs exactly one of speculative_apy (a flat perceived yield) or expected_value_usd (what farmers expect it to be worth, shared pro rata)",
                            );
                        (0.0, 0.0)
                    }
                };
                (
                    Some(EventAction::Airdrop {
                        chain: chain(ck),
                        speculative_apy,
                        expected_value_usd,
                        airdrop_day,
                        value_usd: ck.num(
                            &format!("{p}.value_usd"),
                            e.value_usd.unwrap_or(0.0),
                            Bound::Between(0.0, 1e13),
                        ),
                    }),
                    &[
                        "chain",
                        "speculative_apy",
                        "expected_value_usd",
                        "airdrop_day",
                        "value_usd",
                    ],
                )
            }
            "fee_change" => {
                let chains_mask = match (&e.chain, &e.chain_kind) {
                    (Some(_), None) => 1u64 << chain(ck),
                    (None, Some(k)) => {
                        mask_of(ck, &format!("{p}.chain_"), std::slice::from_ref(k), &[])
                    }
                    _ => {
                        ck.problem(
                            format!("{p}.chain"),
                            "a fee_change event needs exactly one of chain or chain_kind",
                        );
                        0
                    }
                };
                (
                    Some(EventAction::FeeChange {
                        chains: chains_mask,
                        tx_cost_multiplier: ck.num(
                            &format!("{p}.tx_cost_multiplier"),
                            e.tx_cost_multiplier.unwrap_or(1.0),
                            Bound::NonNegative,
                        ),
                        data_cost_multiplier: ck.num(
                            &format!("{p}.data_cost_multiplier"),
                            e.data_cost_multiplier.unwrap_or(1.0),
                            Bound::NonNegative,
                        ),
                    }),
                    &[
                        "chain",
                        "chain_kind",
                        "tx_cost_multiplier",
                        "data_cost_multiplier",
                    ],
                )
            }
            "delay_change" => {
                let chain = chain(ck);
                let delay = need(
                    ck,
                    "withdrawal_delay_days",
                    e.withdrawal_delay_days,
                    Bound::Between(0.0, 10_000.0),
                );
                let field = ChainField::WithdrawalDelayDays;
                kind_rule(ck, "withdrawal_delay_days", field, delay);
                (
                    Some(EventAction::DelayChange {
                        chain,
                        withdrawal_delay_days: delay,
                    }),
                    &["chain", "withdrawal_delay_days"],
                )
            }
            "hack" => (
                Some(EventAction::Hack {
                    chain: chain(ck),
                    loss: need(ck, "loss", e.loss, Bound::Between(0.0, 1.0)),
                    reimbursed: ck.num(
                        &format!("{p}.reimbursed"),
                        e.reimbursed.unwrap_or(0.0),
                        Bound::Between(0.0, 1.0),
                    ),
                }),
                &["chain", "loss", "reimbursed"],
            ),
            "user_inflow" => {
                let seg = segment(ck);
                let agents = match e.agents {
                    Some(n) if (1..=50_000_000).contains(&n) => n as u32,
                    other => {
                        ck.problem(
                            format!("{p}.agents"),
                            format!("= {other:?}: must be an integer in [1, 50000000]"),
                        );
                        0
                    }
                };
                let capital = match &e.capital {
                    Some(c) => check_capital(ck, &format!("{p}.capital"), c),
                    None => raw
                        .segments
                        .get(seg)
                        .map(|s| check_capital(ck, &format!("segments[{seg}].capital"), &s.capital))
                        .unwrap_or(CapitalDist::Lognormal {
                            median_usd: 1.0,
                            sigma: 0.0,
                        }),
                };
                (
                    Some(EventAction::UserInflow {
                        segment: seg,
                        agents,
                        capital,
                        duration_days: ck.num(
                            &format!("{p}.duration_days"),
                            e.duration_days.unwrap_or(1.0),
                            Bound::Positive,
                        ),
                    }),
                    &["segment", "agents", "capital", "duration_days"],
                )
            }
            "capital_outflow" => (
                Some(EventAction::CapitalOutflow {
                    fraction: need(ck, "fraction", e.fraction, Bound::Between(0.0, 1.0)),
                }),
                &["fraction"],
            ),
            "allow" => {
                let seg = segment(ck);
                let mask = mask_of(
                    ck,
                    &format!("{p}."),
                    e.kinds.as_deref().unwrap_or(&[]),
                    e.chains.as_deref().unwrap_or(&[]),
                );
                if mask == 0 && kinds_known {
                    ck.problem(
                        format!("{p}.chains"),
                        "an allow event needs at least one chain in chains or kinds",
                    );
                }
                (
                    Some(EventAction::Allow {
                        segment: seg,
                        chains: mask,
                    }),
                    &["segment", "chains", "kinds"],
                )
            }
            "parameter" => {
                let c = chain(ck);
                let field = match e.field.as_deref().map(|f| (f, ChainField::parse(f))) {
                    Some((_, Some(f))) => Some(f),
                    other => {
                        let names: Vec<&str> = ChainField::ALL.iter().map(|(_, n)| *n).collect();
                        ck.problem(
                            format!("{p}.field"),
                            match other {
                                Some((name, _)) => one_of(name, &names),
                                None => format!(
                                    "is missing: a \"parameter\" event names one of {}",
                                    names.join(", ")
                                ),
                            },
                        );
                        None
                    }
                };
                let value = need(
                    ck,
                    "value",
                    e.value,
                    field.map_or(Bound::NonNegative, |f| f.range()),
                );
                if let Some(f) = field {
                    kind_rule(ck, "value", f, value);
                }
                (
                    field.map(|field| EventAction::Parameter {
                        chain: c,
                        field,
                        value,
                    }),
                    &["chain", "field", "value"],
                )
            }
            other => {
                ck.problem(format!("{p}.kind"), one_of(other, &EVENT_KINDS));
                (None, &[])
            }
        };
        if !used.is_empty() {
            for field in set_fields(e) {
                if !used.contains(&field) {
                    ck.problem(
                        format!("{p}.{field}"),
                        format!(
                            "does not apply to a {:?} event (it takes {})",
                            e.kind,
                            used.join(", ")
                        ),
                    );
                }
            }
        }
        if let Some(action) = action {
            events.push(Event { day, action });
        }
    }
    let eq = &raw.equilibrium;
    let start = match eq.start.as_str() {
        "off" => super::Start::Off,
        "solve" => super::Start::Solve,
        "parent" => super::Start::Parent,
        "given" => super::Start::Given,
        other => {
            ck.problem(
                "equilibrium.start",
                one_of(other, &["off", "solve", "parent", "given"]),
            );
            super::Start::Off
        }
    };
    let equilibrium = super::Equilibrium {
        start,
        tolerance: ck.num(
            "equilibrium.tolerance",
            eq.tolerance,
            Bound::Between(1e-15, 1.0),
        ),
        max_iterations: eq.max_iterations,
        parent: None,
    };
    if !(1..=1000).contains(&eq.max_iterations) {
        ck.problem(
            "equilibrium.max_iterations",
            format!("= {}: must be an integer in [1, 1000]", eq.max_iterations),
        );
    }
    let chain_ids: Vec<&str> = chains.iter().map(|c| c.id.as_str()).collect();
    let mut targets = Vec::new();
    for (i, sr) in raw.series.iter().enumerate() {
        match super::series::parse_target(&sr.target, &chain_ids) {
            Ok(t) => {
                if let super::SeriesTarget::Chain { chain, field } = t
                    && let Some(rule) = kinds[chain].and_then(|k| field.zero_for(k))
                {
                    ck.problem(
                        format!("series[{i}].target"),
                        format!(
                            "= {:?}: {} of chain {:?} {rule}, so no series may drive it",
                            sr.target,
                            field.name(),
                            chain_ids[chain]
                        ),
                    );
                }
                if targets.contains(&t) {
                    ck.problem(
                        format!("series[{i}].target"),
                        format!("= {:?}: another series drives the same field", sr.target),
                    );
                }
                targets.push(t);
            }
            Err(m) => ck.problem(format!("series[{i}].target"), m),
        }
        if !["step", "linear"].contains(&sr.interpolation.as_str()) {
            ck.problem(
                format!("series[{i}].interpolation"),
                one_of(&sr.interpolation, &["step", "linear"]),
            );
        }
    }
    let design = raw
        .sweep
        .as_ref()
        .and_then(|sweep| check_sweep(ck, sweep, &raw));
    let calibrate = raw
        .calibrate
        .as_ref()
        .map(|c| check_calibrate(ck, c, &raw, horizon, calendar.as_ref()));
    // Stable order by day: equal days keep file order.
    events.sort_by(|a, b| a.day.total_cmp(&b.day));

    if !ck.problems.is_empty() {
        return Err(std::mem::take(&mut ck.problems));
    }
    let l1 = l1s[0];
    Ok(Scenario {
        name: raw.name.clone(),
        description: raw.description.clone(),
        horizon_days: raw.horizon_days,
        sample_every_days: raw.sample_every_days,
        calendar,
        sample_days,
        runs: raw.runs,
        seed: raw.seed,
        bridge_time_days: raw.bridge_time_days,
        cohorts: raw.cohorts,
        market,
        nests,
        chains,
        segments,
        events,
        series: Vec::new(),
        equilibrium,
        calibrate,
        design,
        l1,
        raw,
    })
}

/// Names of the optional event fields that are set.
fn set_fields(e: &RawEvent) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut add = |name, set: bool| {
        if set {
            out.push(name)
        }
    };
    add("chain", e.chain.is_some());
    add("chain_kind", e.chain_kind.is_some());
    add("segment", e.segment.is_some());
    add("usd_per_day", e.usd_per_day.is_some());
    add("duration_days", e.duration_days.is_some());
    add("speculative_apy", e.speculative_apy.is_some());
    add("airdrop_day", e.airdrop_day.is_some());
    add("value_usd", e.value_usd.is_some());
    add("expected_value_usd", e.expected_value_usd.is_some());
    add("tx_cost_multiplier", e.tx_cost_multiplier.is_some());
    add("data_cost_multiplier", e.data_cost_multiplier.is_some());
    add("withdrawal_delay_days", e.withdrawal_delay_days.is_some());
    add("loss", e.loss.is_some());
    add("reimbursed", e.reimbursed.is_some());
    add("agents", e.agents.is_some());
    add("capital", e.capital.is_some());
    add("fraction", e.fraction.is_some());
    add("chains", e.chains.is_some());
    add("kinds", e.kinds.is_some());
    add("field", e.field.is_some());
    add("value", e.value.is_some());
    out
}

fn check_market(ck: &mut Checker, raw: &RawScenario) -> Market {
    let m = &raw.market;
    Market {
        price_drift_apy: ck.num(
            "market.price_drift_apy",
            m.price_drift_apy,
            Bound::Between(-1.0, 1.0),
        ),
        price_volatility: ck.num(
            "market.price_volatility",
            m.price_volatility,
            Bound::Between(0.0, 5.0),
        ),
        network_share_floor: ck.num(
            "market.network_share_floor",
            m.network_share_floor,
            Bound::Between(1e-12, 1.0),
        ),
        incentive_apy_cap: ck.num(
            "market.incentive_apy_cap",
            m.incentive_apy_cap,
            Bound::Between(0.0, 100.0),
        ),
        incentive_tvl_floor_usd: ck.num(
            "market.incentive_tvl_floor_usd",
            m.incentive_tvl_floor_usd,
            Bound::Positive,
        ),
        hack_risk_shock_per_year: ck.num(
            "market.hack_risk_shock_per_year",
            m.hack_risk_shock_per_year,
            Bound::Between(0.0, 1000.0),
        ),
        contagion: ck.num("market.contagion", m.contagion, Bound::Between(0.0, 1.0)),
        risk_half_life_days: ck.num(
            "market.risk_half_life_days",
            m.risk_half_life_days,
            Bound::Positive,
        ),
        inflow_apy: ck.num(
            "market.inflow_apy",
            m.inflow_apy,
            Bound::Between(-10.0, 10.0),
        ),
        hack_loss_scale: ck.num(
            "market.hack_loss_scale",
            m.hack_loss_scale,
            Bound::Between(0.0, 1.0),
        ),
    }
}

/// Every `every` days from 0, plus the horizon when it is not on that grid.
fn every_days(horizon: f64, every: f64) -> Vec<f64> {
    if !(every > 0.0 && horizon >= 0.0 && horizon / every <= 1e7) {
        return vec![0.0];
    }
    let n = (horizon / every + 1e-9).floor() as usize;
    let mut days: Vec<f64> = (0..=n).map(|k| k as f64 * every).collect();
    if horizon - days[n] > 1e-9 {
        days.push(horizon);
    }
    days
}

fn check_chain(
    ck: &mut Checker,
    i: usize,
    c: &RawChain,
    horizon: f64,
    calendar: Option<&Calendar>,
    by_kind: &super::raw::RawAwarenessByKind,
) -> Chain {
    let p = |f: &str| format!("chains[{i}].{f}");
    ck.id(&p("id"), &c.id);
    let known_kind = ChainKind::parse(&c.kind);
    if known_kind.is_none() {
        ck.problem(p("kind"), one_of(&c.kind, &KIND_NAMES));
    }
    // An unknown kind is one problem: no rule of a guessed kind is applied.
    let kind = known_kind.unwrap_or(ChainKind::AltL1);
    let launch_day = ck.day(
        &p("launch_day"),
        &c.launch_day,
        calendar,
        Bound::Between(0.0, horizon.max(0.0)),
    );
    let initial_tvl_usd = ck.num(
        &p("initial_tvl_usd"),
        c.initial_tvl_usd,
        Bound::Between(0.0, 1e15),
    );
    if c.awareness.is_some() && launch_day <= 0.0 {
        ck.problem(
            p("awareness"),
            "applies only to a chain launching after day 0 (everyone knows the chains that exist at the start)",
        );
    }
    if launch_day > 0.0 && initial_tvl_usd > 0.0 {
        ck.problem(
            p("initial_tvl_usd"),
            format!(
                "= {initial_tvl_usd}: must be 0 because the chain launches at day {launch_day}"
            ),
        );
    }
    let field = |ck: &mut Checker, name: &str, value: f64| -> f64 {
        let f = ChainField::parse(name).map_or(Bound::NonNegative, |f| f.range());
        ck.num(&p(name), value, f)
    };
    let chain = Chain {
        id: c.id.clone(),
        name: if c.name.is_empty() {
            c.id.clone()
        } else {
            c.name.clone()
        },
        kind,
        launch_day,
        initial_tvl_usd,
        tx_cost_usd: field(ck, "tx_cost_usd", c.tx_cost_usd),
        data_cost_factor: field(ck, "data_cost_factor", c.data_cost_factor),
        data_cost_pass_through: ck.num(
            &p("data_cost_pass_through"),
            c.data_cost_pass_through,
            Bound::Between(0.0, 1.0),
        ),
        capacity_tx_per_day: field(ck, "capacity_tx_per_day", c.capacity_tx_per_day),
        congestion_elasticity: field(ck, "congestion_elasticity", c.congestion_elasticity),
        gas_volatility: field(ck, "gas_volatility", c.gas_volatility),
        gas_reversion_per_day: field(ck, "gas_reversion_per_day", c.gas_reversion_per_day),
        confirmation_s: field(ck, "confirmation_s", c.confirmation_s),
        withdrawal_delay_days: field(ck, "withdrawal_delay_days", c.withdrawal_delay_days),
        fast_exit_liquidity_usd: field(ck, "fast_exit_liquidity_usd", c.fast_exit_liquidity_usd),
        fast_exit_base_bps: field(ck, "fast_exit_base_bps", c.fast_exit_base_bps),
        fast_exit_apr: AprCurve {
            at_zero: c.fast_exit_apr.at_zero,
            kink: c.fast_exit_apr.kink,
            at_kink: c.fast_exit_apr.at_kink,
            at_full: c.fast_exit_apr.at_full,
        },
        bridge_fee_bps: field(ck, "bridge_fee_bps", c.bridge_fee_bps),
        organic_yield_apy: field(ck, "organic_yield_apy", c.organic_yield_apy),
        incentives_usd_per_day: field(ck, "incentives_usd_per_day", c.incentives_usd_per_day),
        hack_rate_per_year: field(ck, "hack_rate_per_year", c.hack_rate_per_year),
        hack_loss: match c.hack_loss {
            RawLoss::Fixed { value } => {
                LossDist::Fixed(ck.num(&p("hack_loss.value"), value, Bound::Between(0.0, 1.0)))
            }
            RawLoss::Beta { alpha, beta } => LossDist::Beta {
                alpha: ck.num(&p("hack_loss.alpha"), alpha, Bound::Between(1e-3, 1e6)),
                beta: ck.num(&p("hack_loss.beta"), beta, Bound::Between(1e-3, 1e6)),
            },
        },
        risk_premium_apy: field(ck, "risk_premium_apy", c.risk_premium_apy),
        price_exposure: ck.num(
            &p("price_exposure"),
            c.price_exposure,
            Bound::Between(0.0, 1.0),
        ),
        own_price: {
            let drift = ck.num(
                &p("own_price_drift_apy"),
                c.own_price_drift_apy,
                Bound::Between(-1.0, 1.0),
            );
            let vol = ck.num(
                &p("own_price_volatility"),
                c.own_price_volatility,
                Bound::Between(0.0, 5.0),
            );
            (drift != 0.0 || vol != 0.0).then_some((drift, vol))
        },
        awareness_per_day: c
            .awareness
            .or(if launch_day > 0.0 {
                match kind {
                    ChainKind::Optimistic => by_kind.optimistic,
                    ChainKind::Zk => by_kind.zk,
                    ChainKind::AltL1 => by_kind.alt_l1,
                    ChainKind::L1 => None,
                }
            } else {
                None
            })
            .map(|a| {
                (
                    ck.num(
                        &p("awareness.innovation_per_year"),
                        a.innovation_per_year,
                        Bound::Between(1e-9, 1e4),
                    ) / 365.0,
                    ck.num(
                        &p("awareness.imitation_per_year"),
                        a.imitation_per_year,
                        Bound::Between(0.0, 1e4),
                    ) / 365.0,
                )
            }),
        constant_apy: ck.num(
            &p("constant_apy"),
            c.constant_apy.unwrap_or(0.0),
            Bound::Between(-10.0, 10.0),
        ),
    };
    let apr = c.fast_exit_apr;
    for (name, v) in [
        ("at_zero", apr.at_zero),
        ("at_kink", apr.at_kink),
        ("at_full", apr.at_full),
    ] {
        ck.num(
            &p(&format!("fast_exit_apr.{name}")),
            v,
            Bound::Between(0.0, 100.0),
        );
    }
    ck.num(
        &p("fast_exit_apr.kink"),
        apr.kink,
        Bound::Between(0.01, 0.99),
    );
    if let Some(kind) = known_kind {
        for (field, value) in [
            (ChainField::DataCostFactor, c.data_cost_factor),
            (ChainField::GasVolatility, c.gas_volatility),
            (ChainField::WithdrawalDelayDays, c.withdrawal_delay_days),
        ] {
            if let Some(rule) = field.zero_for(kind)
                && value != 0.0
            {
                ck.problem(p(field.name()), format!("= {}: {rule}", super::show(value)));
            }
        }
    }
    chain
}

fn check_capital(ck: &mut Checker, path: &str, c: &RawCapital) -> CapitalDist {
    match *c {
        RawCapital::Lognormal { median_usd, sigma } => CapitalDist::Lognormal {
            median_usd: ck.num(
                &format!("{path}.median_usd"),
                median_usd,
                Bound::Between(1e-6, 1e15),
            ),
            sigma: ck.num(&format!("{path}.sigma"), sigma, Bound::Between(0.0, 10.0)),
        },
        RawCapital::Pareto { min_usd, alpha } => CapitalDist::Pareto {
            min_usd: ck.num(
                &format!("{path}.min_usd"),
                min_usd,
                Bound::Between(1e-6, 1e15),
            ),
            alpha: ck.num(&format!("{path}.alpha"), alpha, Bound::Between(0.1, 100.0)),
        },
    }
}

/// Checks a segment; `kinds_known`: every chain's kind is known, so an empty `allowed` is the
/// segment's own problem and not that of a misspelt kind.
fn check_segment(
    ck: &mut Checker,
    i: usize,
    s: &RawSegment,
    allowed: u64,
    kinds_known: bool,
) -> Segment {
    let p = |f: &str| format!("segments[{i}].{f}");
    ck.id(&p("name"), &s.name);
    if s.agents == 0 || s.agents > 50_000_000 {
        ck.problem(
            p("agents"),
            format!("= {}: must be an integer in [1, 50000000]", s.agents),
        );
    }
    if allowed == 0 && kinds_known {
        ck.problem(
            p("allowed_kinds"),
            "allows no chain: name at least one kind or chain",
        );
    }
    let weight = Bound::Between(0.0, 1e6);
    if s.fee_elasticity > 0.0 && s.reference_fee_usd <= 0.0 {
        ck.problem(
            p("reference_fee_usd"),
            format!(
                "= {}: must be > 0 when fee_elasticity > 0 (the fee up to which activity is tx_per_month)",
                s.reference_fee_usd
            ),
        );
    }
    Segment {
        name: s.name.clone(),
        agents: s.agents.min(u32::MAX as u64) as u32,
        capital: check_capital(ck, &p("capital"), &s.capital),
        tx_per_month: ck.num(&p("tx_per_month"), s.tx_per_month, Bound::Between(0.0, 1e6)),
        fee_elasticity: ck.num(
            &p("fee_elasticity"),
            s.fee_elasticity,
            Bound::Between(0.0, 10.0),
        ),
        reference_fee_usd: ck.num(
            &p("reference_fee_usd"),
            s.reference_fee_usd,
            Bound::Between(0.0, 1e6),
        ),
        review_rate_per_day: ck.num(
            &p("review_rate_per_day"),
            s.review_rate_per_day,
            Bound::Between(1e-9, 1e4),
        ),
        logit_scale: ck.num(&p("logit_scale"), s.logit_scale, Bound::Between(0.0, 1e9)),
        w_yield: ck.num(&p("w_yield"), s.w_yield, weight),
        w_cost: ck.num(&p("w_cost"), s.w_cost, weight),
        w_speed: ck.num(&p("w_speed"), s.w_speed, weight),
        w_liquidity: ck.num(&p("w_liquidity"), s.w_liquidity, weight),
        w_risk: ck.num(&p("w_risk"), s.w_risk, weight),
        w_network: ck.num(&p("w_network"), s.w_network, weight),
        w_network_kind: ck.num(&p("w_network_kind"), s.w_network_kind, weight),
        emergency_prob_per_year: ck.num(
            &p("emergency_prob_per_year"),
            s.emergency_prob_per_year,
            Bound::Between(0.0, 365.0),
        ),
        emergency_cost_per_day: ck.num(
            &p("emergency_cost_per_day"),
            s.emergency_cost_per_day,
            Bound::Between(0.0, 1.0),
        ),
        taste_sd: ck.num(&p("taste_sd"), s.taste_sd, Bound::Between(0.0, 100.0)),
        inertia_apy: ck.num(&p("inertia_apy"), s.inertia_apy, Bound::Between(0.0, 100.0)),
        habit_apy: ck.num(&p("habit_apy"), s.habit_apy, Bound::Between(0.0, 100.0)),
        habit_days: ck.num(&p("habit_days"), s.habit_days, Bound::Between(1e-3, 1e5)),
        awareness_scale: ck.num(
            &p("awareness_scale"),
            s.awareness_scale,
            Bound::Between(0.0, 1e6),
        ),
        holding_horizon_days: ck.num(
            &p("holding_horizon_days"),
            s.holding_horizon_days,
            Bound::Between(1e-3, 1e6),
        ),
        allowed,
        panic_prob: ck.num(&p("panic_prob"), s.panic_prob, Bound::Between(0.0, 1.0)),
    }
}

/// Checks the shape of a field path of `[sweep]` or `[calibrate]`: an existing chain or segment,
/// or a path of tables. Whether the field exists and takes the value is checked by parsing the
/// scenario with the value set.
fn check_field_path(ck: &mut Checker, at: &str, field: &str, raw: &RawScenario) {
    let parts: Vec<&str> = field.split('.').collect();
    if parts[0] == "chains"
        && let Some(kind) = parts
            .get(1)
            .and_then(|p| p.strip_prefix(super::sweep::KIND_GROUP))
    {
        let kinds: Vec<&str> = ChainKind::ALL.iter().map(|k| k.as_str()).collect();
        if !kinds.contains(&kind) {
            let hint = super::suggest::closest(kind, kinds.iter().copied())
                .map_or(String::new(), |k| format!(" (did you mean {k:?}?)"));
            ck.problem(
                at,
                format!(
                    "= {field:?}: {kind:?} is not a kind of chain{hint}; a group is chains.kind:<kind>.<field> with kind one of {}",
                    kinds.join(", ")
                ),
            );
        } else if parts.len() < 3 || parts[2..].iter().any(|p| p.is_empty()) {
            ck.problem(
                at,
                format!(
                    "= {field:?}: must name a field after the group: chains.kind:{kind}.<field>"
                ),
            );
        } else if !raw.chains.iter().any(|c| c.kind == kind) {
            let mut present: Vec<&str> = raw.chains.iter().map(|c| c.kind.as_str()).collect();
            present.dedup();
            ck.problem(
                at,
                format!(
                    "= {field:?}: the group matches no field: no chain of kind {kind:?} (the scenario's kinds are {})",
                    present.join(", ")
                ),
            );
        }
        return;
    }
    let known: Option<Vec<&str>> = match parts[0] {
        "chains" => Some(raw.chains.iter().map(|c| c.id.as_str()).collect()),
        "segments" => Some(raw.segments.iter().map(|s| s.name.as_str()).collect()),
        _ => None,
    };
    match (known, parts.len()) {
        (Some(ids), 3..) if !ids.contains(&parts[1]) => {
            let kind = if parts[0] == "chains" { "chain" } else { "segment" };
            ck.problem(
                at,
                format!(
                    "= {field:?}: no {kind} {:?} (there are {})",
                    parts[1],
                    ids.join(", ")
                ),
            );
        }
        (Some(_), 0..3) => ck.problem(
            at,
            format!("= {field:?}: must name an entry and a field: chains.<id>.<field> or segments.<name>.<field>"),
        ),
        _ if field.is_empty()
            || parts.iter().any(|p| p.is_empty())
            || ["events", "sweep", "calibrate", "series"].contains(&parts[0]) =>
        {
            ck.problem(
                at,
                format!("= {field:?}: must be a field path such as chains.<id>.<field>, segments.<name>.<field>, market.<field> or a top-level field"),
            )
        }
        _ => {}
    }
}

/// Checks `[calibrate]`: the fit window within the horizon, and every parameter's path, bounds
/// and scale. Whether each path is a real-valued field is checked by `calibrate::Space::from_file`.
fn check_calibrate(
    ck: &mut Checker,
    c: &super::raw::RawCalibrate,
    raw: &RawScenario,
    horizon: f64,
    cal: Option<&Calendar>,
) -> super::calibrate::Calibrate {
    let fit_until = ck.day(
        "calibrate.fit_until",
        &c.fit_until,
        cal,
        Bound::Between(0.0, horizon),
    );
    if let Some(s) = c.start.as_deref()
        && !["design", "scenario"].contains(&s)
    {
        ck.problem("calibrate.start", one_of(s, &["design", "scenario"]));
    }
    if c.parameter.is_empty() {
        ck.problem(
            "calibrate.parameter",
            "is empty: add [[calibrate.parameter]] tables with `field`, `min` and `max`",
        );
    }
    if c.parameter.len() > super::calibrate::MAX_PARAMETERS {
        ck.problem(
            "calibrate.parameter",
            format!(
                "has {} parameters: at most {} are allowed",
                c.parameter.len(),
                super::calibrate::MAX_PARAMETERS
            ),
        );
    }
    let parameters = check_parameters(ck, "calibrate.parameter", &c.parameter, raw);
    super::calibrate::Calibrate {
        fit_until,
        targets: c.targets.clone(),
        targets_path: None,
        start_from_scenario: c.start.as_deref() == Some("scenario"),
        parameters,
    }
}

/// The explicit paths a field path stands for: a group `chains.kind:<kind>.<field>` is the field
/// of every chain of that kind; any other path is itself.
fn explicit_fields(field: &str, raw: &RawScenario) -> Vec<String> {
    let parts: Vec<&str> = field.split('.').collect();
    match parts.as_slice() {
        ["chains", group, rest @ ..] if group.starts_with(super::sweep::KIND_GROUP) => {
            let kind = &group[super::sweep::KIND_GROUP.len()..];
            raw.chains
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| format!("chains.{}.{}", c.id, rest.join(".")))
                .collect()
        }
        _ => vec![field.to_string()],
    }
}

/// Checks free parameters (`[[calibrate.parameter]]`, `[[sweep.range]]`): each path's shape, no
/// field set twice, the scale, and bounds in order.
fn check_parameters(
    ck: &mut Checker,
    prefix: &str,
    params: &[super::raw::RawCalibrateParameter],
    raw: &RawScenario,
) -> Vec<super::calibrate::Parameter> {
    let mut seen: Vec<String> = Vec::new();
    let mut parameters = Vec::new();
    for (i, p) in params.iter().enumerate() {
        let at = format!("{prefix}[{i}]");
        for (j, f) in std::iter::once(&p.field).chain(&p.also).enumerate() {
            let path = if j == 0 {
                format!("{at}.field")
            } else {
                format!("{at}.also")
            };
            check_field_path(ck, &path, f, raw);
            if ["seed", "runs"].contains(&f.as_str()) {
                ck.problem(
                    &path,
                    format!(
                        "= {f:?}: every candidate runs with the batch's seed and runs (common random numbers), so it cannot vary; use --seed or --runs"
                    ),
                );
            }
            // A group stands for each of its chains' fields.
            for member in explicit_fields(f, raw) {
                if seen.contains(&member) {
                    ck.problem(
                        &path,
                        format!("= {f:?}: another parameter already sets {member}"),
                    );
                }
                seen.push(member);
            }
        }
        let log = match p.scale.as_str() {
            "linear" => false,
            "log" => true,
            other => {
                ck.problem(format!("{at}.scale"), one_of(other, &["linear", "log"]));
                false
            }
        };
        let lo_bound = if log {
            Bound::Positive
        } else {
            Bound::Between(-1e300, 1e300)
        };
        let min = ck.num(&format!("{at}.min"), p.min, lo_bound);
        let max = ck.num(&format!("{at}.max"), p.max, lo_bound);
        if min.is_finite() && max.is_finite() && min >= max {
            ck.problem(
                format!("{at}.max"),
                format!(
                    "= {}: must be greater than min = {} (bounds inverted or equal)",
                    super::show(max),
                    super::show(min)
                ),
            );
        }
        parameters.push(super::calibrate::Parameter {
            field: p.field.clone(),
            also: p.also.clone(),
            min,
            max,
            log,
        });
    }
    parameters
}

/// Checks the shape of `[sweep]`; the values themselves are checked point by point by `sweep`.
/// A design (`design` with `[[sweep.range]]` parameters) is returned checked.
fn check_sweep(
    ck: &mut Checker,
    sweep: &super::raw::RawSweep,
    raw: &RawScenario,
) -> Option<super::sweep::Design> {
    use super::design::{MORRIS_LEVELS, Method, point_count};
    let Some(name) = &sweep.design else {
        for (key, set) in [
            ("samples", sweep.samples.is_some()),
            ("design_seed", sweep.design_seed.is_some()),
            ("levels", sweep.levels.is_some()),
            ("range", !sweep.range.is_empty()),
        ] {
            if set {
                ck.problem(
                    format!("sweep.{key}"),
                    "is set without `design`: add design = \"lhs\", \"sobol\" or \"morris\", or remove it",
                );
            }
        }
        check_axes(ck, sweep, raw);
        return None;
    };
    let names = ["lhs", "sobol", "morris"];
    let method = Method::parse(name);
    if method.is_none() {
        ck.problem("sweep.design", one_of(name, &names));
    }
    if !sweep.grid.is_empty() || !sweep.zip.is_empty() {
        let key = if sweep.grid.is_empty() { "zip" } else { "grid" };
        ck.problem(
            format!("sweep.{key}"),
            "cannot be combined with a design: a design's points come from its [[sweep.range]] parameters; move the axis into a range (min, max) or drop `design`",
        );
    }
    if sweep.range.is_empty() {
        ck.problem(
            "sweep.range",
            "is empty: a design needs [[sweep.range]] tables with `field`, `min` and `max`",
        );
    }
    if sweep.range.len() > super::sweep::MAX_RANGES {
        ck.problem(
            "sweep.range",
            format!(
                "has {} parameters: at most {} are allowed",
                sweep.range.len(),
                super::sweep::MAX_RANGES
            ),
        );
    }
    let parameters = check_parameters(ck, "sweep.range", &sweep.range, raw);
    let samples = match sweep.samples {
        None => {
            ck.problem(
                "sweep.samples",
                "is missing: a design needs its base sample size (e.g. samples = 256)",
            );
            0
        }
        Some(n) if n < 2 => {
            ck.problem("sweep.samples", format!("= {n}: must be at least 2"));
            0
        }
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    let levels = match sweep.levels {
        Some(l) if method != Some(Method::Morris) => {
            ck.problem(
                "sweep.levels",
                format!("= {l}: only a Morris design has grid levels"),
            );
            MORRIS_LEVELS
        }
        Some(l) if !(2..=64).contains(&l) => {
            ck.problem("sweep.levels", format!("= {l}: must be in [2, 64]"));
            MORRIS_LEVELS
        }
        Some(l) => l as usize,
        None => MORRIS_LEVELS,
    };
    let method = method?;
    let k = sweep.range.len();
    let points = point_count(method, samples, k);
    if samples > 0 && points > super::MAX_POINTS {
        let per = point_count(method, 1, k);
        ck.problem(
            "sweep.samples",
            format!(
                "= {samples}: a {} design of {k} parameters needs {points} points; at most {} are allowed (samples ≤ {})",
                method.name(),
                super::MAX_POINTS,
                super::MAX_POINTS / per
            ),
        );
    }
    Some(super::sweep::Design {
        method,
        samples,
        seed: sweep.design_seed.unwrap_or(0),
        levels,
        parameters,
    })
}

/// Checks `grid` and `zip` axes: each path, not `seed` or `runs`, equal zip lengths, and the
/// number of points.
fn check_axes(ck: &mut Checker, sweep: &super::raw::RawSweep, raw: &RawScenario) {
    if sweep.grid.is_empty() && sweep.zip.is_empty() {
        ck.problem(
            "sweep",
            "has no axis: add [[sweep.grid]] or [[sweep.zip]] tables with `field` and `values`",
        );
    }
    let axes = sweep
        .grid
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("sweep.grid[{i}]"), a));
    let axes = axes.chain(
        sweep
            .zip
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("sweep.zip[{i}]"), a)),
    );
    for (at, axis) in axes {
        if axis.values.is_empty() {
            ck.problem(
                format!("{at}.values"),
                "is empty: an axis needs at least one value",
            );
        }
        check_field_path(ck, &format!("{at}.field"), &axis.field, raw);
        if ["seed", "runs"].contains(&axis.field.as_str()) {
            ck.problem(
                format!("{at}.field"),
                format!(
                    "= {:?}: every point of a sweep runs with the batch's seed and runs (common random numbers), so a sweep cannot vary it; use --seed or --runs",
                    axis.field
                ),
            );
        }
    }
    if let Some(first) = sweep.zip.first()
        && sweep
            .zip
            .iter()
            .any(|a| a.values.len() != first.values.len())
    {
        let lengths: Vec<String> = sweep
            .zip
            .iter()
            .map(|a| format!("{} has {}", a.field, a.values.len()))
            .collect();
        ck.problem(
            "sweep.zip",
            format!("lists must have equal lengths: {}", lengths.join(", ")),
        );
    }
    let mut total = sweep.grid.iter().map(|a| a.values.len()).product::<usize>();
    if let Some(first) = sweep.zip.first() {
        total = total.saturating_mul(first.values.len());
    }
    if total > super::MAX_POINTS {
        ck.problem(
            "sweep",
            format!(
                "has {total} points: at most {} are allowed",
                super::MAX_POINTS
            ),
        );
    }
}

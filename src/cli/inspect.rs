//! Commands that read without simulating: `validate`, `plot` and `init`.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::InputError;
use crate::report;
use crate::scenario::{BASELINE_TOML, ChainKind, Scenario, ScenarioError, diff_lines, load_merged};

pub(super) fn validate(path: &Path, as_json: bool) -> Result<()> {
    if as_json {
        return validate_json(path);
    }
    let sc = Scenario::from_file(path)?;
    println!("{}: valid scenario {:?}", path.display(), sc.name);
    if let Some(parent) = load_merged(path)?.parent {
        let base = Scenario::from_file(&parent)?;
        let lines = diff_lines(&base.raw, &sc.raw);
        println!(
            "  extends {} ({:?}), changing {} field(s):",
            parent.display(),
            base.name,
            lines.len()
        );
        for line in lines {
            println!("    {line}");
        }
    }
    if !sc.description.is_empty() {
        println!("  {}", sc.description.lines().next().unwrap_or(""));
    }
    println!(
        "  horizon {} days, sample every {} days, {} runs, seed {}",
        sc.horizon_days, sc.sample_every_days, sc.runs, sc.seed
    );
    println!("  chains ({}):", sc.chains.len());
    println!(
        "    {:<12} {:<11} {:>6} {:>12} {:>9} {:>9} {:>7}",
        "id", "kind", "launch", "tvl_usd", "tx_usd", "delay_d", "yield"
    );
    for c in &sc.chains {
        println!(
            "    {:<12} {:<11} {:>6} {:>12.4e} {:>9} {:>9} {:>7}",
            c.id,
            c.kind.as_str(),
            c.launch_day,
            c.initial_tvl_usd,
            c.tx_cost_usd,
            c.withdrawal_delay_days,
            c.organic_yield_apy
        );
    }
    let tvl: f64 = sc.chains.iter().map(|c| c.initial_tvl_usd).sum();
    for kind in ChainKind::ALL {
        let k: f64 = sc
            .chains
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.initial_tvl_usd)
            .sum();
        println!(
            "    {:<12} {:>5.1} % of initial TVL",
            kind.as_str(),
            100.0 * k / tvl
        );
    }
    println!("  segments ({}):", sc.segments.len());
    for s in &sc.segments {
        println!(
            "    {:<14} {:>9} agents, review every {:.1} days, logit scale {}",
            s.name,
            s.agents,
            1.0 / s.review_rate_per_day,
            s.logit_scale
        );
    }
    println!("  events: {}", sc.events.len());
    if let Some(sweep) = &sc.raw.sweep {
        let zip = sweep.zip.first().map_or(1, |a| a.values.len());
        let points: usize = sweep.grid.iter().map(|a| a.values.len()).product::<usize>() * zip;
        let fields: Vec<&str> = sweep
            .grid
            .iter()
            .chain(&sweep.zip)
            .map(|a| a.field.as_str())
            .collect();
        println!(
            "  sweep: {points} points over {} (check every point with `l2sim sweep`)",
            fields.join(", ")
        );
    }
    let threads = rayon::current_num_threads();
    let est = crate::batch::estimate(&[&sc], sc.runs, threads, crate::engine::Keep::Trajectory);
    println!(
        "  estimate: {:.3e} reviews per run, {:.3e} for all {} runs; peak memory about {:.0} MB on {threads} threads{}",
        est.decisions_per_run,
        est.decisions_total,
        sc.runs,
        est.peak_bytes / 1e6,
        crate::batch::available_memory_bytes()
            .map_or(String::new(), |a| format!(" ({:.1} GB available)", a / 1e9)),
    );
    Ok(())
}

/// The problems of a scenario as JSON objects: file, line, column (null when unknown), field and
/// message.
fn problems_json(path: &Path, e: &ScenarioError) -> Vec<Value> {
    let one = |file: &Path, loc: Option<(usize, usize)>, field: &str, message: String| {
        json!({
            "file": file.display().to_string(),
            "line": loc.map(|l| l.0),
            "column": loc.map(|l| l.1),
            "field": field,
            "message": message,
        })
    };
    match e {
        ScenarioError::Io { path, source } => vec![one(path, None, "", source.to_string())],
        ScenarioError::NotUtf8 { path, offset } => vec![one(
            path,
            None,
            "",
            format!("not a UTF-8 text file (byte {offset} is invalid)"),
        )],
        ScenarioError::Parse {
            path,
            line,
            column,
            field,
            message,
        } => vec![one(
            path,
            Some((*line, *column)),
            field.trim_end_matches([':', ' ']),
            message.trim_start_matches([':', ' ']).to_string(),
        )],
        ScenarioError::Invalid { problems, .. } => problems
            .iter()
            .map(|p| {
                one(
                    p.file.as_deref().unwrap_or(path),
                    p.location,
                    &p.path,
                    p.message.trim_start().to_string(),
                )
            })
            .collect(),
    }
}

/// `validate --json`: the summary as one JSON document on stdout; for an invalid scenario
/// `{"valid": false, "problems": [...]}` and exit code 2.
fn validate_json(path: &Path) -> Result<()> {
    let print = |v: Value| -> Result<()> {
        println!("{}", serde_json::to_string_pretty(&v)?);
        Ok(())
    };
    let sc = match Scenario::from_file(path) {
        Ok(sc) => sc,
        Err(e) => {
            print(json!({
                "file": path.display().to_string(),
                "valid": false,
                "problems": problems_json(path, &e),
            }))?;
            return Err(e.into());
        }
    };
    let parent = load_merged(path)?.parent;
    let changes = match &parent {
        Some(p) => diff_lines(&Scenario::from_file(p)?.raw, &sc.raw),
        None => Vec::new(),
    };
    let threads = rayon::current_num_threads();
    let est = crate::batch::estimate(&[&sc], sc.runs, threads, crate::engine::Keep::Trajectory);
    let sweep_points = sc.raw.sweep.as_ref().map(|sw| {
        let zip = sw.zip.first().map_or(1, |a| a.values.len());
        sw.grid.iter().map(|a| a.values.len()).product::<usize>() * zip
    });
    print(json!({
        "file": path.display().to_string(),
        "valid": true,
        "name": sc.name,
        "description": sc.description,
        "extends": parent.map(|p| p.display().to_string()),
        "changes": changes,
        "horizon_days": sc.horizon_days,
        "sample_every_days": sc.sample_every_days,
        "runs": sc.runs,
        "seed": sc.seed,
        "chains": sc.chains.iter().map(|c| json!({
            "id": c.id,
            "kind": c.kind.as_str(),
            "launch_day": c.launch_day,
            "initial_tvl_usd": c.initial_tvl_usd,
            "tx_cost_usd": c.tx_cost_usd,
            "withdrawal_delay_days": c.withdrawal_delay_days,
            "organic_yield_apy": c.organic_yield_apy,
        })).collect::<Vec<_>>(),
        "segments": sc.segments.iter().map(|s| json!({
            "name": s.name,
            "agents": s.agents,
            "review_every_days": 1.0 / s.review_rate_per_day,
            "logit_scale": s.logit_scale,
        })).collect::<Vec<_>>(),
        "events": sc.events.len(),
        "sweep_points": sweep_points,
        "estimate": {
            "decisions_per_run": est.decisions_per_run,
            "decisions_total": est.decisions_total,
            "peak_memory_bytes": est.peak_bytes,
            "threads": threads,
            "available_memory_bytes": crate::batch::available_memory_bytes(),
        },
    }))
}

pub(super) fn init(path: &Path) -> Result<()> {
    if path.exists() {
        return Err(InputError(format!(
            "{}: already exists; l2sim init never overwrites a file",
            path.display()
        ))
        .into());
    }
    let stem = path
        .file_stem()
        .map(|s| {
            s.to_string_lossy().to_lowercase().replace(
                |c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-',
                "_",
            )
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "my_scenario".into());
    let text = BASELINE_TOML.replacen("name = \"baseline\"", &format!("name = \"{stem}\""), 1);
    std::fs::write(path, text)
        .with_context(|| format!("writing {}", path.display()))
        .map_err(|e| InputError(format!("{e:#}")))?;
    println!(
        "wrote {} (the baseline scenario, named {stem:?}); edit it, then: l2sim run {}",
        path.display(),
        path.display()
    );
    // Its first line points editors at ./l2sim.schema.json: write it beside, never over a file.
    let schema = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("l2sim.schema.json");
    if !schema.exists() {
        let text = serde_json::to_string_pretty(&crate::scenario::schema())? + "\n";
        std::fs::write(&schema, text).with_context(|| format!("writing {}", schema.display()))?;
        println!(
            "wrote {} (the JSON Schema your editor uses to check and complete the scenario)",
            schema.display()
        );
    }
    Ok(())
}

/// Redraws the charts of a run or compare folder from its files.
pub(super) fn plot(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Err(InputError(format!("{}: not an output folder of l2sim", dir.display())).into());
    }
    let mut drawn = Vec::new();
    if dir.join("sweep.json").is_file() {
        report::draw_sweep_charts_from_files(dir)?;
        report::html::write_sweep_html(dir)?;
        drawn.push(dir.display().to_string());
    } else if dir.join("compare.csv").is_file() {
        let mut run_dirs: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("quantiles.csv").is_file())
            .collect();
        run_dirs.sort();
        for d in &run_dirs {
            redraw_run(d)?;
            drawn.push(d.display().to_string());
        }
        report::draw_compare_charts_from_files(dir, &run_dirs)?;
        let rows = report::compare::read_compare_csv(&dir.join("compare.csv"))?;
        report::html::write_compare_html(dir, &run_dirs, &rows)?;
        drawn.push(dir.display().to_string());
    } else if dir.join("quantiles.csv").is_file() {
        redraw_run(dir)?;
        drawn.push(dir.display().to_string());
    } else {
        return Err(InputError(format!(
            "{}: no quantiles.csv, compare.csv or sweep.json here: not an output folder of `l2sim run`, `compare` or `sweep`",
            dir.display()
        ))
        .into());
    }
    for d in drawn {
        println!("redrew the charts of {d}");
    }
    Ok(())
}

fn redraw_run(dir: &Path) -> Result<()> {
    let scenario = Scenario::from_file(&dir.join("scenario.resolved.toml"))?;
    let rows = report::read_quantiles(&dir.join("quantiles.csv"))?;
    report::draw_charts_from_files(dir, &scenario, &rows)?;
    report::html::write_run_html(dir)
}

//! `[sweep]`: expanding a scenario into its grid points. Each point is the scenario with the
//! swept fields set in its (merged) TOML table, then parsed and validated like any scenario, so a
//! value out of range is reported with the point and the field that produced it.

use std::collections::HashMap;
use std::path::Path;

use toml::{Table, Value};

use super::diff::inline;
use super::error::{Problem, ScenarioError};
use super::inherit;
use super::raw::{RawSweep, RawSweepAxis};
use super::{Provenance, Scenario, Source};

/// Most grid points a sweep may have.
pub const MAX_POINTS: usize = 100_000;

/// One grid point: the value of each swept field, and the scenario there.
#[derive(Debug, Clone)]
pub struct SweepPoint {
    /// `(field path, value as TOML)` for every swept field, in `[sweep]` order.
    pub params: Vec<(String, Value)>,
    pub scenario: Scenario,
}

/// A scenario's sweep: the swept fields and every point, the first grid axis varying slowest.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub base: Scenario,
    /// Field paths, in `[sweep]` order (grid axes, then zip axes).
    pub fields: Vec<String>,
    /// Number of values of each axis of the product (grid axes, then the zip axis if any).
    pub shape: Vec<usize>,
    pub points: Vec<SweepPoint>,
}

fn invalid(path: &Path, problems: Vec<Problem>) -> ScenarioError {
    ScenarioError::Invalid {
        path: path.to_path_buf(),
        problems,
    }
}

fn problem(field: &str, message: String) -> Problem {
    Problem {
        path: field.to_string(),
        message,
        location: None,
        file: None,
    }
}

/// Sets `value` at a field path: `chains.<id>.<field>…`, `segments.<name>.<field>…`, or a path of
/// tables (`market.contagion`, `horizon_days`).
pub(super) fn set(table: &mut Table, field: &str, value: Value) -> Result<(), String> {
    let parts: Vec<&str> = field.split('.').collect();
    let (head, rest) = match parts.as_slice() {
        ["chains" | "segments", id, rest @ ..] if !rest.is_empty() => {
            let (key, id_key) = if parts[0] == "chains" {
                ("chains", "id")
            } else {
                ("segments", "name")
            };
            let entries = table
                .get_mut(key)
                .and_then(Value::as_array_mut)
                .ok_or(format!("the scenario has no {key}"))?;
            let known: Vec<String> = entries
                .iter()
                .filter_map(|e| e.get(id_key).and_then(Value::as_str).map(String::from))
                .collect();
            let entry = entries
                .iter_mut()
                .find(|e| e.get(id_key).and_then(Value::as_str) == Some(id))
                .ok_or(format!(
                    "no {} {id:?} (there are {})",
                    &key[..key.len() - 1],
                    known.join(", ")
                ))?;
            (entry.as_table_mut().ok_or("not a table")?, rest.to_vec())
        }
        ["chains" | "segments" | "events", ..] => {
            return Err(
                "must name an entry and a field: chains.<id>.<field> or segments.<name>.<field>"
                    .into(),
            );
        }
        _ => (table, parts.clone()),
    };
    let mut t = head;
    for (i, key) in rest.iter().enumerate() {
        if i + 1 == rest.len() {
            t.insert((*key).to_string(), value);
            return Ok(());
        }
        t = t
            .entry((*key).to_string())
            .or_insert_with(|| Value::Table(Table::new()))
            .as_table_mut()
            .ok_or(format!("{key} is not a table"))?;
    }
    Err("is empty".into())
}

/// The scenario at one point (its merged table with the swept values set), or every problem of
/// it in one line.
fn point(path: &Path, t: &Table, series: &[super::Series]) -> Result<Scenario, String> {
    let text = toml::to_string(t).unwrap_or_default();
    let prov = Provenance::single(Source {
        path: path.to_path_buf(),
        text: text.clone(),
    });
    Scenario::from_merged_with(&text, &prov, Some(series)).map_err(|e| match e {
        ScenarioError::Invalid { problems, .. } | ScenarioError::Malformed { problems, .. } => {
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        }
        ScenarioError::Parse { field, message, .. } => format!("{field}{message}"),
        other => other.to_string(),
    })
}

/// Reads a scenario file with a `[sweep]` table and expands it into its points; every value
/// that makes a point invalid is reported, located in its list.
pub fn expand(path: &Path) -> Result<Sweep, ScenarioError> {
    let base = Scenario::from_file(path)?;
    let Some(spec) = base.raw.sweep.clone() else {
        return Err(invalid(path, vec![problem("sweep", "is missing: `l2sim sweep` needs a [sweep] table with [[sweep.grid]] or [[sweep.zip]] axes (see docs/MODEL.md)".into())]));
    };
    let merged = inherit::load(path)?;
    let mut table: Table = toml::from_str(&merged.text).map_err(|e| {
        invalid(
            path,
            vec![problem(
                "sweep",
                format!("cannot read the scenario as a table: {}", e.message()),
            )],
        )
    })?;
    table.remove("sweep");
    let RawSweep { grid, zip } = spec;
    let axes: Vec<(String, &RawSweepAxis)> = grid
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("sweep.grid[{i}]"), a))
        .chain(
            zip.iter()
                .enumerate()
                .map(|(i, a)| (format!("sweep.zip[{i}]"), a)),
        )
        .collect();
    let mut shape: Vec<usize> = grid.iter().map(|a| a.values.len()).collect();
    if let Some(first) = zip.first() {
        shape.push(first.values.len());
    }
    let total: usize = shape.iter().product();
    let locate = |mut problems: Vec<Problem>| {
        for p in &mut problems {
            let (file, loc) = merged.provenance.locate(&p.path);
            p.location = Some(loc);
            p.file = (file != path).then_some(file);
        }
        invalid(path, problems)
    };
    let fields: Vec<String> = axes.iter().map(|(_, a)| a.field.clone()).collect();
    let mut points = Vec::with_capacity(total);
    let mut bad: Vec<Problem> = Vec::new();
    // Whether a value fails on its own (the base with only it set), by `sweep.<axes>[i].values[j]`.
    let mut alone: HashMap<String, bool> = HashMap::new();
    for flat in 0..total {
        // Mixed-radix digits, the first axis slowest.
        let mut rest = flat;
        let mut digits = vec![0; shape.len()];
        for d in (0..shape.len()).rev() {
            digits[d] = rest % shape[d];
            rest /= shape[d];
        }
        let mut params = Vec::with_capacity(fields.len());
        for (i, axis) in grid.iter().enumerate() {
            params.push((axis.field.clone(), axis.values[digits[i]].clone()));
        }
        for axis in &zip {
            params.push((axis.field.clone(), axis.values[digits[grid.len()]].clone()));
        }
        let mut t = table.clone();
        for ((at, _), (field, value)) in axes.iter().zip(&params) {
            set(&mut t, field, value.clone()).map_err(|e| {
                locate(vec![problem(
                    &format!("{at}.field"),
                    format!("= {field:?}: {e}"),
                )])
            })?;
        }
        let label: Vec<String> = params
            .iter()
            .map(|(f, v)| format!("{f} = {}", inline(v)))
            .collect();
        match point(path, &t, &base.series) {
            Ok(scenario) => points.push(SweepPoint { params, scenario }),
            Err(inner) => {
                let label = format!("point {flat} ({})", label.join(", "));
                // Located at the value that fails on its own, else at the [sweep] table (a
                // combination fails); each bad value once, every one of them.
                let culprit = axes.iter().enumerate().find_map(|(k, (at, axis))| {
                    let j = digits[k.min(grid.len())];
                    let key = format!("{at}.values[{j}]");
                    let fails = *alone.entry(key.clone()).or_insert_with(|| {
                        let mut t = table.clone();
                        set(&mut t, &axis.field, axis.values[j].clone()).is_err()
                            || point(path, &t, &base.series).is_err()
                    });
                    fails.then(|| (key, inline(&axis.values[j])))
                });
                match culprit {
                    Some((key, value)) if !bad.iter().any(|p: &Problem| p.path == key) => {
                        bad.push(problem(&key, format!("= {value}: {label}: {inner}")))
                    }
                    Some(_) => {}
                    None if bad.iter().any(|p| p.path == "sweep") => {}
                    None => bad.push(problem("sweep", format!("{label}: {inner}"))),
                }
            }
        }
    }
    if !bad.is_empty() {
        return Err(locate(bad));
    }
    Ok(Sweep {
        base,
        fields,
        shape,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_reaches_chains_segments_and_tables() {
        let mut t: Table = toml::from_str(
            "x = 1\n[[chains]]\nid = \"a\"\ny = 2\n[[segments]]\nname = \"s\"\n[market]\nc = 0.1\n",
        )
        .unwrap();
        set(&mut t, "chains.a.y", Value::Float(3.0)).unwrap();
        set(&mut t, "segments.s.logit_scale", Value::Integer(7)).unwrap();
        set(&mut t, "market.c", Value::Float(0.5)).unwrap();
        set(&mut t, "x", Value::Integer(9)).unwrap();
        assert_eq!(t["chains"][0]["y"].as_float(), Some(3.0));
        assert_eq!(t["segments"][0]["logit_scale"].as_integer(), Some(7));
        assert_eq!(t["market"]["c"].as_float(), Some(0.5));
        assert_eq!(t["x"].as_integer(), Some(9));
        let err = set(&mut t, "chains.b.y", Value::Float(1.0)).unwrap_err();
        assert!(err.contains("no chain \"b\" (there are a)"), "{err}");
    }
}

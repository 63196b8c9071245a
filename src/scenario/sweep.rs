//! `[sweep]`: expanding a scenario into its grid points. Each point is the scenario with the
//! swept fields set in its (merged) TOML table, then parsed and validated like any scenario, so a
//! value out of range is reported with the point and the field that produced it.

use std::collections::HashMap;
use std::path::Path;

use toml::{Table, Value};

use super::design::{Method, Parameter};
use super::diff::inline;
use super::error::{Problem, ScenarioError};
use super::inherit;
use super::raw::{RawSweep, RawSweepAxis};
use super::{Provenance, Scenario, Source};

/// Most grid points a sweep may have.
pub const MAX_POINTS: usize = 100_000;

/// Most `[[sweep.range]]` parameters a design may have.
pub const MAX_RANGES: usize = 64;

/// A `[sweep]` design, checked: its method, base sample size, seed, Morris levels and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    pub method: Method,
    /// Base sample size N (Latin hypercube: points; Sobol: base rows; Morris: trajectories).
    pub samples: usize,
    /// Seed of the design's own random numbers.
    pub seed: u64,
    /// Grid levels of a Morris design.
    pub levels: usize,
    /// The `[[sweep.range]]` parameters, in file order.
    pub parameters: Vec<Parameter>,
}

impl Design {
    /// Number of points of the design.
    pub fn points(&self) -> usize {
        super::design::point_count(self.method, self.samples, self.parameters.len())
    }
}

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
    /// The file the sweep was read from.
    pub path: std::path::PathBuf,
    /// Field paths, in `[sweep]` order (grid axes, then zip axes).
    pub fields: Vec<String>,
    /// Number of values of each axis of the product (grid axes, then the zip axis if any; a
    /// design's points as one axis).
    pub shape: Vec<usize>,
    pub points: Vec<SweepPoint>,
    /// The design, when `[sweep]` has one.
    pub design: Option<Design>,
    /// Each point's position in the design's unit cube (one coordinate per parameter, in `[0, 1]`
    /// on the parameter's scale); empty for grid and zip axes.
    pub unit: Vec<Vec<f64>>,
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

/// Prefix of a group of chains in a field path: `chains.kind:zk.<field>` is `<field>` of every
/// chain of kind `zk`.
pub const KIND_GROUP: &str = "kind:";

/// The explicit field paths a field path stands for: itself, or for a group
/// (`chains.kind:<kind>.<field>`) the field of every chain of that kind, in file order. A group
/// that matches no chain is an error naming the kinds present.
pub fn members(table: &Table, field: &str) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = field.split('.').collect();
    let Some(kind) = parts
        .get(1)
        .and_then(|p| p.strip_prefix(KIND_GROUP))
        .filter(|_| parts[0] == "chains")
    else {
        return Ok(vec![field.to_string()]);
    };
    if parts.len() < 3 {
        return Err(format!(
            "must name a field after the group: chains.{KIND_GROUP}{kind}.<field>"
        ));
    }
    let chains = table
        .get("chains")
        .and_then(Value::as_array)
        .ok_or("the scenario has no chains")?;
    let of_kind = |c: &&Value| c.get("kind").and_then(Value::as_str) == Some(kind);
    let ids: Vec<String> = chains
        .iter()
        .filter(of_kind)
        .filter_map(|c| c.get("id").and_then(Value::as_str))
        .map(|id| format!("chains.{id}.{}", parts[2..].join(".")))
        .collect();
    if ids.is_empty() {
        let mut kinds: Vec<&str> = chains
            .iter()
            .filter_map(|c| c.get("kind").and_then(Value::as_str))
            .collect();
        kinds.dedup();
        return Err(format!(
            "the group matches no field: no chain of kind {kind:?} (the scenario's kinds are {})",
            kinds.join(", ")
        ));
    }
    Ok(ids)
}

/// The value at a field path of a table, if it is there.
pub(super) fn value_at<'a>(table: &'a Table, field: &str) -> Option<&'a Value> {
    // A group's value is its first member's.
    let first = members(table, field).ok()?.into_iter().next()?;
    let parts: Vec<&str> = first.split('.').collect();
    let (mut at, rest): (&Table, &[&str]) = match parts.as_slice() {
        [key @ ("chains" | "segments"), id, rest @ ..] => {
            let id_key = if *key == "chains" { "id" } else { "name" };
            let entry = table
                .get(*key)?
                .as_array()?
                .iter()
                .find(|e| e.get(id_key).and_then(Value::as_str) == Some(id))?;
            (entry.as_table()?, rest)
        }
        _ => (table, &parts[..]),
    };
    let (last, path) = rest.split_last()?;
    for key in path {
        at = at.get(*key)?.as_table()?;
    }
    at.get(*last)
}

/// Sets `value` at a field path: `chains.<id>.<field>…`, `segments.<name>.<field>…`, a group of
/// chains (`chains.kind:<kind>.<field>…`, see [`members`]), or a path of tables
/// (`market.contagion`, `horizon_days`).
pub(super) fn set(table: &mut Table, field: &str, value: Value) -> Result<(), String> {
    let paths = members(table, field)?;
    if paths.len() != 1 || paths[0] != field {
        for path in &paths {
            set(table, path, value.clone())?;
        }
        return Ok(());
    }
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

/// The problem at `at` (a field path of the file at `path` or of a file it extends), located.
pub fn located(path: &Path, at: &str, message: String) -> ScenarioError {
    let location = inherit::load(path).ok().map(|m| m.provenance.locate(at));
    ScenarioError::Invalid {
        path: path.to_path_buf(),
        problems: vec![Problem {
            path: at.to_string(),
            message,
            location: location.as_ref().map(|(_, loc)| *loc),
            file: location.and_then(|(file, _)| (file != path).then_some(file)),
        }],
    }
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
    table.remove("calibrate");
    if let Some(design) = base.design.clone() {
        return expand_design(path, base, &merged.provenance, &table, design);
    }
    let RawSweep { grid, zip, .. } = spec;
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
        path: path.to_path_buf(),
        fields,
        shape,
        points,
        design: None,
        unit: Vec::new(),
    })
}

/// A design's points: each parameter checked alone at its bounds (so a bad bound is reported at
/// its `[[sweep.range]]`), then the design drawn in the unit cube and each point validated.
fn expand_design(
    path: &Path,
    base: Scenario,
    prov: &Provenance,
    table: &Table,
    design: Design,
) -> Result<Sweep, ScenarioError> {
    let locate = |at: &str, message: String| {
        let (file, loc) = prov.locate(at);
        invalid(
            path,
            vec![Problem {
                path: at.to_string(),
                message,
                location: Some(loc),
                file: (file != path).then_some(file),
            }],
        )
    };
    let with = |values: &[(usize, f64)]| -> Result<Table, (usize, String)> {
        let mut t = table.clone();
        for &(i, v) in values {
            for f in design.parameters[i].fields() {
                set(&mut t, f, Value::Float(v)).map_err(|e| (i, e))?;
            }
        }
        Ok(t)
    };
    for (i, p) in design.parameters.iter().enumerate() {
        let at = format!("sweep.range[{i}]");
        for f in p.fields() {
            if let Some(v) = value_at(table, f)
                && !matches!(v, Value::Float(_) | Value::Integer(_))
            {
                return Err(locate(
                    &format!("{at}.field"),
                    format!(
                        "= {f:?}: is not numeric (it holds the {} {})",
                        v.type_str(),
                        inline(v)
                    ),
                ));
            }
        }
        for (bound, value) in [("min", p.min), ("max", p.max)] {
            let t = with(&[(i, value)]).map_err(|(_, e)| {
                locate(&format!("{at}.field"), format!("= {:?}: {e}", p.field))
            })?;
            if let Err(e) = point(path, &t, &base.series) {
                return Err(locate(
                    &format!("{at}.{bound}"),
                    format!(
                        "= {}: the scenario is invalid with {} at its {bound}: {e}",
                        super::show(value),
                        p.field
                    ),
                ));
            }
        }
    }
    let k = design.parameters.len();
    let unit =
        super::design::unit_design(design.method, design.samples, k, design.levels, design.seed);
    let fields: Vec<String> = design.parameters.iter().map(|p| p.field.clone()).collect();
    let mut points = Vec::with_capacity(unit.len());
    for (flat, u) in unit.iter().enumerate() {
        let values: Vec<(usize, f64)> = design
            .parameters
            .iter()
            .zip(u)
            .enumerate()
            .map(|(i, (p, &x))| (i, p.at(x)))
            .collect();
        let t = with(&values).map_err(|(i, e)| {
            locate(
                &format!("sweep.range[{i}].field"),
                format!("= {:?}: {e}", design.parameters[i].field),
            )
        })?;
        let params: Vec<(String, Value)> = fields
            .iter()
            .zip(&values)
            .map(|(f, &(_, v))| (f.clone(), Value::Float(v)))
            .collect();
        match point(path, &t, &base.series) {
            Ok(scenario) => points.push(SweepPoint { params, scenario }),
            Err(inner) => {
                let label: Vec<String> = params
                    .iter()
                    .map(|(f, v)| format!("{f} = {}", inline(v)))
                    .collect();
                return Err(locate(
                    "sweep",
                    format!(
                        "point {flat} of the {} design ({}): {inner}; every parameter is valid alone at its bounds, so narrow the ranges that combine badly",
                        design.method.name(),
                        label.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(Sweep {
        base,
        path: path.to_path_buf(),
        fields,
        shape: vec![points.len()],
        points,
        design: Some(design),
        unit,
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

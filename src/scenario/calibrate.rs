//! `[calibrate]`: the free parameters of `l2sim calibrate` and the scenario at any parameter value.
//!
//! A [`Space`] holds the merged scenario table of a file with a `[calibrate]` table; a candidate
//! is that table with every parameter's field (and its `also` fields) set, parsed and validated
//! like any scenario, as a sweep point is. Building a space checks every path against the real
//! fields: the scenario is parsed with each parameter at its `min` and at its `max`, so an unknown
//! field, a field that is not a real number, or bounds outside the field's own range are reported
//! at the parameter before anything runs.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

pub use super::design::Parameter;
use super::error::{Problem, ScenarioError};
use super::inherit::{self, Provenance, Source};
use super::sweep::{set, value_at};
use super::{Scenario, Start};

/// Most free parameters a calibration may have.
pub const MAX_PARAMETERS: usize = 16;

/// `[calibrate]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibrate {
    /// Last day of the fit window (targets after it are held out).
    pub fit_until: f64,
    /// The `targets` file as written (relative to the file that names it).
    pub targets: Option<String>,
    /// `start = "scenario"`: the file's own parameter values are a start point.
    pub start_from_scenario: bool,
    /// `targets` resolved against the file that names it (set when the scenario is read).
    pub targets_path: Option<PathBuf>,
    pub parameters: Vec<Parameter>,
}

/// The scenarios of a calibration: the base and any candidate parameter vector.
#[derive(Debug, Clone)]
pub struct Space {
    /// The scenario file as validated (with its `[calibrate]`).
    pub base: Scenario,
    pub calibrate: Calibrate,
    /// The file calibrated.
    pub path: PathBuf,
    /// The targets file named in `[calibrate] targets`, resolved against the file naming it.
    pub targets: Option<PathBuf>,
    /// The merged table without `[sweep]` and `[calibrate]`.
    table: Table,
}

fn located(path: &Path, prov: &Provenance, at: &str, message: String) -> ScenarioError {
    let (file, location) = prov.locate(at);
    ScenarioError::Invalid {
        path: path.to_path_buf(),
        problems: vec![Problem {
            path: at.to_string(),
            message,
            location: Some(location),
            file: (file != path).then_some(file),
        }],
    }
}

/// What a candidate's validation said, in one line.
fn reason(e: &ScenarioError) -> String {
    match e {
        ScenarioError::Invalid { problems, .. } | ScenarioError::Malformed { problems, .. } => {
            problems
                .iter()
                .map(|p| {
                    format!(
                        "{}{}",
                        p.path,
                        p.message
                            .strip_prefix('=')
                            .map_or_else(|| format!(" {}", p.message), |m| format!(" ={m}"))
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
        ScenarioError::Parse { field, message, .. } => format!("{field}{message}"),
        other => other.to_string(),
    }
}

impl Space {
    /// Reads a scenario file with a `[calibrate]` table and checks every parameter against the
    /// fields it sets.
    pub fn from_file(path: &Path) -> Result<Space, ScenarioError> {
        let base = Scenario::from_file(path)?;
        let merged = inherit::load(path)?;
        let prov = &merged.provenance;
        let Some(calibrate) = base.calibrate.clone() else {
            return Err(located(
                path,
                prov,
                "calibrate",
                "is missing: `l2sim calibrate` needs a [calibrate] table with `fit_until` and [[calibrate.parameter]] tables (see docs/MODEL.md, section 11)".into(),
            ));
        };
        let mut table: Table = toml::from_str(&merged.text).map_err(|e| {
            located(
                path,
                prov,
                "calibrate",
                format!("cannot read the scenario as a table: {}", e.message()),
            )
        })?;
        table.remove("sweep");
        table.remove("calibrate");
        let targets = calibrate.targets_path.clone();
        let space = Space {
            base,
            calibrate,
            path: path.to_path_buf(),
            targets,
            table,
        };
        for (i, p) in space.calibrate.parameters.iter().enumerate() {
            let at = format!("calibrate.parameter[{i}]");
            for (j, f) in p.fields().enumerate() {
                let key = if j == 0 {
                    format!("{at}.field")
                } else {
                    format!("{at}.also")
                };
                if let Some(v) = value_at(&space.table, f)
                    && !matches!(v, Value::Float(_) | Value::Integer(_))
                {
                    return Err(located(
                        path,
                        prov,
                        &key,
                        format!(
                            "= {f:?}: is not numeric (it holds the {} {})",
                            v.type_str(),
                            super::diff::inline(v)
                        ),
                    ));
                }
            }
            for (bound, value) in [("min", p.min), ("max", p.max)] {
                let mut values: Vec<Option<f64>> = vec![None; space.calibrate.parameters.len()];
                values[i] = Some(value);
                if let Err(e) = space.scenario_with(&values) {
                    let message = match &e {
                        ScenarioError::Parse { .. } | ScenarioError::Malformed { .. } => format!(
                            "= {:?}: is not a real-valued field of the scenario ({})",
                            p.field,
                            reason(&e)
                        ),
                        ScenarioError::Invalid { .. } => format!(
                            "= {}: the scenario is invalid with {} at its {bound}: {}",
                            super::show(value),
                            p.field,
                            reason(&e)
                        ),
                        other => other.to_string(),
                    };
                    let key = match &e {
                        ScenarioError::Parse { .. } | ScenarioError::Malformed { .. } => {
                            format!("{at}.field")
                        }
                        _ => format!("{at}.{bound}"),
                    };
                    return Err(located(path, prov, &key, message));
                }
            }
        }
        Ok(space)
    }

    /// Each parameter's value in the file (its `field`), when the file sets it to a number.
    pub fn current_values(&self) -> Vec<Option<f64>> {
        self.calibrate
            .parameters
            .iter()
            .map(|p| {
                value_at(&self.table, &p.field).and_then(|v| match v {
                    Value::Float(x) => Some(*x),
                    Value::Integer(i) => Some(*i as f64),
                    _ => None,
                })
            })
            .collect()
    }

    /// The scenario at parameter values `values` (one per parameter, in `[calibrate]` order).
    pub fn scenario(&self, values: &[f64]) -> Result<Scenario, ScenarioError> {
        let values: Vec<Option<f64>> = values.iter().map(|&v| Some(v)).collect();
        self.scenario_with(&values)
    }

    /// The scenario with the parameters given set (the others as in the file).
    fn scenario_with(&self, values: &[Option<f64>]) -> Result<Scenario, ScenarioError> {
        let mut t = self.table.clone();
        for (p, v) in self.calibrate.parameters.iter().zip(values) {
            let Some(v) = v else { continue };
            for f in p.fields() {
                set(&mut t, f, Value::Float(*v)).map_err(|e| ScenarioError::Invalid {
                    path: self.path.clone(),
                    problems: vec![Problem {
                        path: f.clone(),
                        message: e,
                        location: None,
                        file: None,
                    }],
                })?;
            }
        }
        let text = toml::to_string(&t).unwrap_or_default();
        let prov = Provenance::single(Source {
            path: self.path.clone(),
            text: text.clone(),
        });
        let mut sc = Scenario::from_merged_with(&text, &prov, Some(&self.base.series))?;
        if sc.equilibrium.start == Start::Parent {
            sc.equilibrium.parent = self.base.equilibrium.parent.clone();
        }
        Ok(sc)
    }

    /// The fields a candidate sets, as a TOML table to merge over the scenario file with
    /// `extends` (chains and segments as `[[chains]]` / `[[segments]]` entries naming their id).
    pub fn overlay(&self, values: &[f64]) -> Table {
        let mut out = Table::new();
        for (p, &v) in self.calibrate.parameters.iter().zip(values) {
            for f in p.fields() {
                let parts: Vec<&str> = f.split('.').collect();
                let (mut at, rest): (&mut Table, &[&str]) = match parts.as_slice() {
                    [key @ ("chains" | "segments"), id, rest @ ..] => {
                        let id_key = if *key == "chains" { "id" } else { "name" };
                        let list = out
                            .entry(key.to_string())
                            .or_insert_with(|| Value::Array(Vec::new()))
                            .as_array_mut()
                            .expect("an array");
                        let pos = list
                            .iter()
                            .position(|e| e.get(id_key).and_then(Value::as_str) == Some(id))
                            .unwrap_or_else(|| {
                                let mut e = Table::new();
                                e.insert(id_key.into(), Value::String(id.to_string()));
                                list.push(Value::Table(e));
                                list.len() - 1
                            });
                        (list[pos].as_table_mut().expect("a table"), rest)
                    }
                    _ => (&mut out, &parts[..]),
                };
                let Some((last, path)) = rest.split_last() else {
                    continue;
                };
                for key in path {
                    at = at
                        .entry(key.to_string())
                        .or_insert_with(|| Value::Table(Table::new()))
                        .as_table_mut()
                        .expect("a table");
                }
                at.insert(last.to_string(), Value::Float(v));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(min: f64, max: f64, log: bool) -> Parameter {
        Parameter {
            field: "x".into(),
            also: vec![],
            min,
            max,
            log,
        }
    }

    #[test]
    fn positions_map_to_values_and_back() {
        let lin = param(-2.0, 6.0, false);
        assert_eq!(lin.at(0.25), 0.0);
        assert_eq!(lin.position(0.0), 0.25);
        let log = param(10.0, 1000.0, true);
        assert!((log.at(0.5) - 100.0).abs() < 1e-9);
        assert!((log.position(100.0) - 0.5).abs() < 1e-12);
        assert_eq!(log.at(1.7), 1000.0);
        assert_eq!(log.at(-1.0), 10.0);
    }

    #[test]
    fn get_reads_chain_segment_and_table_paths() {
        let t: Table = toml::from_str(
            "x = 1\n[[chains]]\nid = \"a\"\ny = 2.5\n[[segments]]\nname = \"s\"\nk = \"v\"\n[market]\nc = 0.1\n",
        )
        .unwrap();
        assert_eq!(
            value_at(&t, "chains.a.y").and_then(Value::as_float),
            Some(2.5)
        );
        assert_eq!(
            value_at(&t, "segments.s.k").and_then(Value::as_str),
            Some("v")
        );
        assert_eq!(
            value_at(&t, "market.c").and_then(Value::as_float),
            Some(0.1)
        );
        assert!(value_at(&t, "chains.b.y").is_none());
        assert!(value_at(&t, "market.d").is_none());
    }
}

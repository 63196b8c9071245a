//! Scenario inheritance: `extends = "parent.toml"` (relative to the file) merged into one scenario.
//!
//! The child's fields override the parent's: scalars and tagged tables (`capital`, `hack_loss`:
//! any table with a `dist` key) are replaced whole, other tables are merged field by field,
//! `[[chains]]` and `[[segments]]` are matched by `id` / `name` (matched entries merged, new ones
//! appended), `[[events]]` are appended unless `replace_events = true`. `remove_chains` and
//! `remove_segments` drop entries of the parent. A child without `name` is named after its file.
//! The merged table is re-serialised; a provenance map sends every field path of the merged
//! scenario back to the file and line it came from, so errors point into the right file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::error::{ScenarioError, line_col, span_of, span_of_exact, syntax_error};
use super::input;
use super::name::name_from_file;

/// One file of an inheritance chain.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

/// Where the fields of a merged scenario come from.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The file given first, then its parent, grandparent, …
    pub sources: Vec<Source>,
    /// For `chains`, `segments`, `events`: per merged index, `(source, index in that source)`,
    /// most derived first.
    arrays: HashMap<&'static str, Vec<Vec<(usize, usize)>>>,
}

const ARRAYS: [(&str, &str); 4] = [
    ("chains", "id"),
    ("segments", "name"),
    ("events", ""),
    ("series", "target"),
];
/// The keys of inheritance: read here, never by the raw structs.
pub(super) const CONTROL_KEYS: [&str; 4] = [
    "extends",
    "remove_chains",
    "remove_segments",
    "replace_events",
];

impl Provenance {
    /// Whether the scenario is one file (no inheritance).
    pub fn is_single(&self) -> bool {
        self.sources.len() == 1
    }

    pub(super) fn single(source: Source) -> Provenance {
        Provenance {
            sources: vec![source],
            arrays: HashMap::new(),
        }
    }

    /// The file and `(line, column)` where the field at `path` of the merged scenario is written,
    /// or the nearest enclosing place that is.
    pub fn locate(&self, path: &str) -> (PathBuf, (usize, usize)) {
        let at = |src: usize, p: &str, exact: bool| {
            let s = &self.sources[src];
            let span = if exact {
                span_of_exact(&s.text, p)
            } else {
                span_of(&s.text, p)
            };
            span.map(|r| (s.path.clone(), line_col(&s.text, r.start)))
        };
        let head = path.split(['.', '[']).next().unwrap_or("");
        let index = path[head.len()..]
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .and_then(|(i, rest)| i.parse::<usize>().ok().map(|i| (i, rest)));
        let candidates: Vec<(usize, String)> = match (self.arrays.get(head), index) {
            (Some(origins), Some((i, rest))) => origins
                .get(i)
                .map(|o| {
                    o.iter()
                        .map(|&(src, local)| (src, format!("{head}[{local}]{rest}")))
                        .collect()
                })
                .unwrap_or_default(),
            _ => (0..self.sources.len())
                .map(|src| (src, path.to_string()))
                .collect(),
        };
        candidates
            .iter()
            .find_map(|(src, p)| at(*src, p, true))
            .or_else(|| candidates.first().and_then(|(src, p)| at(*src, p, false)))
            .unwrap_or_else(|| (self.sources[0].path.clone(), (1, 1)))
    }
}

/// A scenario file with its ancestors merged in.
pub struct Merged {
    /// TOML text of the merged scenario (the file itself when it extends nothing).
    pub text: String,
    pub provenance: Provenance,
    /// The parent file, when the scenario extends one.
    pub parent: Option<PathBuf>,
}

fn read(path: &Path) -> Result<String, ScenarioError> {
    input::read_text(path, input::MAX_TOML_BYTES).map_err(|source| ScenarioError::Unreadable {
        path: path.to_path_buf(),
        what: "scenario",
        source,
    })
}

fn problem(path: &Path, text: &str, field: &str, message: String) -> ScenarioError {
    let (line, column) = span_of(text, field).map_or((1, 1), |s| line_col(text, s.start));
    ScenarioError::Parse {
        path: path.to_path_buf(),
        line,
        column,
        field: format!("{field} "),
        message,
    }
}

/// Reads a scenario file and merges the files it extends.
pub fn load(path: &Path) -> Result<Merged, ScenarioError> {
    let text = read(path)?;
    let table: Option<Table> = if text.contains("extends") {
        Some(toml::from_str(&text).map_err(|e| syntax_error(path, &text, &e))?)
    } else {
        None
    };
    let Some(table) = table.filter(|t| t.contains_key("extends")) else {
        let source = Source {
            path: path.to_path_buf(),
            text: text.clone(),
        };
        return Ok(Merged {
            text,
            provenance: Provenance::single(source),
            parent: None,
        });
    };
    let mut stack = Vec::new();
    let (merged, provenance, parent) = load_chain(path, text, table, &mut stack)?;
    let text = toml::to_string(&merged).map_err(|e| ScenarioError::Parse {
        path: path.to_path_buf(),
        line: 1,
        column: 1,
        field: String::new(),
        message: format!("cannot re-serialise the merged scenario: {e}"),
    })?;
    Ok(Merged {
        text,
        provenance,
        parent,
    })
}

type Chain = (Table, Provenance, Option<PathBuf>);

fn load_chain(
    path: &Path,
    text: String,
    table: Table,
    stack: &mut Vec<PathBuf>,
) -> Result<Chain, ScenarioError> {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if let Some(i) = stack.iter().position(|p| *p == canonical) {
        let cycle: Vec<String> = stack[i..]
            .iter()
            .chain([&canonical])
            .map(|p| p.display().to_string())
            .collect();
        return Err(problem(
            path,
            &text,
            "extends",
            format!(
                "= {:?}: inheritance cycle: {}",
                table
                    .get("extends")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                cycle.join(" → ")
            ),
        ));
    }
    stack.push(canonical);
    let Some(extends) = table.get("extends") else {
        let source = Source {
            path: path.to_path_buf(),
            text,
        };
        let mut prov = Provenance::single(source);
        for (key, _) in ARRAYS {
            let n = table.get(key).and_then(Value::as_array).map_or(0, Vec::len);
            prov.arrays
                .insert(key, (0..n).map(|j| vec![(0, j)]).collect());
        }
        stack.pop();
        return Ok((table, prov, None));
    };
    let Some(rel) = extends.as_str() else {
        return Err(problem(
            path,
            &text,
            "extends",
            "must be a string: the parent scenario's path, relative to this file".into(),
        ));
    };
    let parent_path = path.parent().unwrap_or(Path::new(".")).join(rel);
    let parent_text = read(&parent_path).map_err(|e| {
        problem(
            path,
            &text,
            "extends",
            format!("= {rel:?}: cannot load the parent scenario ({e})"),
        )
    })?;
    let parent_table: Table =
        toml::from_str(&parent_text).map_err(|e| syntax_error(&parent_path, &parent_text, &e))?;
    let (mut merged, parent_prov, _) = load_chain(&parent_path, parent_text, parent_table, stack)?;
    stack.pop();

    // Provenance: the child is source 0, the parent's sources follow.
    let mut prov = Provenance {
        sources: std::iter::once(Source {
            path: path.to_path_buf(),
            text: text.clone(),
        })
        .chain(parent_prov.sources)
        .collect(),
        arrays: parent_prov
            .arrays
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    v.into_iter()
                        .map(|o| o.into_iter().map(|(s, j)| (s + 1, j)).collect())
                        .collect(),
                )
            })
            .collect(),
    };
    let flag = |key: &str| -> Result<bool, ScenarioError> {
        match table.get(key) {
            None => Ok(false),
            Some(Value::Boolean(b)) => Ok(*b),
            Some(_) => Err(problem(path, &text, key, "must be true or false".into())),
        }
    };
    if flag("replace_events")? {
        merged.remove("events");
        prov.arrays.insert("events", Vec::new());
    }
    for (key, id_key) in [("chains", "id"), ("segments", "name")] {
        let remove_key = format!("remove_{key}");
        let Some(list) = table.get(&remove_key) else {
            continue;
        };
        let ids: Vec<&str> = list
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for id in ids {
            let entries = merged.get_mut(key).and_then(Value::as_array_mut);
            let pos = entries.as_ref().and_then(|a| {
                a.iter()
                    .position(|e| e.get(id_key).and_then(Value::as_str) == Some(id))
            });
            match (entries, pos) {
                (Some(a), Some(i)) => {
                    a.remove(i);
                    prov.arrays.entry(key).or_default().remove(i);
                }
                _ => {
                    return Err(problem(
                        path,
                        &text,
                        &remove_key,
                        format!("names {id:?}, which is not in the parent scenario"),
                    ));
                }
            }
        }
    }
    for (key, value) in &table {
        if CONTROL_KEYS.contains(&key.as_str()) {
            continue;
        }
        match ARRAYS.iter().find(|(k, _)| k == key) {
            Some(&(array, id_key)) => {
                let children: Vec<Value> = value.as_array().cloned().unwrap_or_default();
                let origins = prov.arrays.entry(array).or_default();
                let target = merged
                    .entry(key.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                let Some(entries) = target.as_array_mut() else {
                    continue;
                };
                for (j, child) in children.into_iter().enumerate() {
                    let id = (!id_key.is_empty())
                        .then(|| child.get(id_key).and_then(Value::as_str))
                        .flatten();
                    let matched = id.and_then(|id| {
                        entries
                            .iter()
                            .position(|e| e.get(id_key).and_then(Value::as_str) == Some(id))
                    });
                    match matched {
                        Some(m) => {
                            merge_value(&mut entries[m], child);
                            origins[m].insert(0, (0, j));
                        }
                        None => {
                            entries.push(child);
                            origins.push(vec![(0, j)]);
                        }
                    }
                }
            }
            None => match merged.get_mut(key) {
                Some(existing) => merge_value(existing, value.clone()),
                None => {
                    merged.insert(key.clone(), value.clone());
                }
            },
        }
    }
    if !table.contains_key("name") {
        merged.insert("name".into(), Value::String(name_from_file(path)));
    }
    Ok((merged, prov, Some(parent_path)))
}

/// Merges `child` into `base`: tables field by field, except tagged tables (with a `dist` key),
/// which replace the parent's whole, as do scalars and arrays.
fn merge_value(base: &mut Value, child: Value) {
    match (base, child) {
        (Value::Table(b), Value::Table(c)) if !c.contains_key("dist") => {
            for (k, v) in c {
                match b.get_mut(&k) {
                    Some(existing) => merge_value(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, c) => *b = c,
    }
}

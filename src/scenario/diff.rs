//! Field-level differences between two resolved scenarios (what a child changes in its parent),
//! for `l2sim validate` and reports. Chains and segments are matched by id and name.

use toml::{Table, Value};

use super::raw::RawScenario;

/// One line per difference: `~ path: old → new`, `+ path: new`, `- path: old`.
pub fn diff_lines(parent: &RawScenario, child: &RawScenario) -> Vec<String> {
    let (Ok(Value::Table(a)), Ok(Value::Table(b))) =
        (Value::try_from(parent), Value::try_from(child))
    else {
        return vec!["(the scenarios could not be compared)".into()];
    };
    let mut out = Vec::new();
    for key in union(&a, &b) {
        if ["chains", "segments", "events", "l2sim_version"].contains(&key.as_str()) {
            continue;
        }
        compare(&key, a.get(&key), b.get(&key), &mut out);
    }
    for (key, id) in [("chains", "id"), ("segments", "name")] {
        let list = |t: &Table| -> Vec<(String, Value)> {
            t.get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|v| {
                            (
                                v.get(id).and_then(Value::as_str).unwrap_or("?").to_string(),
                                v.clone(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let (pa, pb) = (list(&a), list(&b));
        for (name, vb) in &pb {
            let va = pa.iter().find(|(n, _)| n == name).map(|(_, v)| v);
            match va {
                Some(va) => compare(&format!("{key}.{name}"), Some(va), Some(vb), &mut out),
                None => out.push(format!("+ {key}.{name}: {}", inline(vb))),
            }
        }
        for (name, va) in &pa {
            if !pb.iter().any(|(n, _)| n == name) {
                out.push(format!("- {key}.{name}: {}", inline(va)));
            }
        }
    }
    let events = |t: &Table| -> Vec<String> {
        t.get("events")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(inline).collect())
            .unwrap_or_default()
    };
    let (ea, eb) = (events(&a), events(&b));
    for e in &eb {
        if !ea.contains(e) {
            out.push(format!("+ events: {e}"));
        }
    }
    for e in &ea {
        if !eb.contains(e) {
            out.push(format!("- events: {e}"));
        }
    }
    out
}

fn union(a: &Table, b: &Table) -> Vec<String> {
    let mut keys: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys
}

fn compare(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<String>) {
    match (a, b) {
        (Some(Value::Table(ta)), Some(Value::Table(tb))) if ta.get("dist") == tb.get("dist") => {
            for key in union(ta, tb) {
                compare(&format!("{path}.{key}"), ta.get(&key), tb.get(&key), out);
            }
        }
        (Some(x), Some(y)) if x != y => {
            out.push(format!("~ {path}: {} → {}", inline(x), inline(y)))
        }
        (None, Some(y)) => out.push(format!("+ {path}: {}", inline(y))),
        (Some(x), None) => out.push(format!("- {path}: {}", inline(x))),
        _ => {}
    }
}

/// A value on one line, tables as inline tables.
pub(super) fn inline(v: &Value) -> String {
    match v {
        Value::Table(t) => {
            let fields: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{k} = {}", inline(v)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(inline).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

//! The shape of a scenario file, checked against the structure of the raw structs (their JSON
//! Schema, `schema::structure`) before serde reads it: every unknown field (with the closest
//! known name), every value of the wrong type (a table written as an array, a string for a
//! number), every unknown tag of a tagged table and, in a file that extends nothing, every
//! missing required field, all at once, each located at its key or value.
//!
//! serde's derived structs stop at the first such problem, and read an array where a table is
//! expected by position (`market = [1, 2]`); this pass refuses it for every table of the schema
//! at once. Ranges and the rules between fields are `validate`'s.

use std::sync::LazyLock;

use serde_json::Value;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{Problem, line_col};
use super::inherit::CONTROL_KEYS;
use super::schema::structure;
use super::suggest::{closest, one_of};

static STRUCTURE: LazyLock<Value> = LazyLock::new(structure);

/// Every problem of shape in the scenario text, located in it; a syntax error as the parser's.
pub(super) fn check(text: &str) -> Result<Vec<Problem>, toml::de::Error> {
    let root = DeTable::parse(text)?;
    let extends = root.get_ref().iter().any(|(k, _)| k.get_ref() == "extends");
    let mut walker = Walker {
        schema: &STRUCTURE,
        text,
        extends,
        problems: Vec::new(),
    };
    walker.table("", root.get_ref(), &STRUCTURE, 0, !extends);
    // In the order of the file (the parser's tables are in the order of their keys).
    walker.problems.sort_by_key(|p| p.location);
    Ok(walker.problems)
}

struct Walker<'s> {
    schema: &'s Value,
    text: &'s str,
    /// The file extends another: it names only what it changes (nothing is required but in
    /// tagged tables, which replace the parent's whole), and may use the keys of inheritance.
    extends: bool,
    problems: Vec<Problem>,
}

/// How a TOML value is named in a message.
fn found(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// How a JSON Schema type is named in a message.
fn expected(ty: &str) -> &'static str {
    match ty {
        "object" => "a table",
        "array" => "an array",
        "number" => "a number",
        "integer" => "an integer",
        "string" => "a string",
        "boolean" => "true or false",
        _ => "something else",
    }
}

/// Whether a TOML value is of a JSON Schema type (nothing below it is looked at).
fn is_type(v: &DeValue<'_>, ty: &str) -> bool {
    matches!(
        (ty, v),
        ("object", DeValue::Table(_))
            | ("array", DeValue::Array(_))
            | ("number", DeValue::Integer(_) | DeValue::Float(_))
            | ("integer", DeValue::Integer(_))
            | ("string", DeValue::String(_))
            | ("boolean", DeValue::Boolean(_))
    )
}

/// The types a schema node allows (`null` aside: TOML has no null).
fn types(node: &Value) -> Vec<&str> {
    match node.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|t| *t != "null")
    .collect()
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

impl<'s> Walker<'s> {
    /// Follows `$ref` and a single `allOf` to the node that describes a value.
    fn resolve(&self, mut node: &'s Value) -> &'s Value {
        for _ in 0..8 {
            if let Some(r) = node.get("$ref").and_then(Value::as_str) {
                match self.schema.pointer(r.trim_start_matches('#')) {
                    Some(n) => node = n,
                    None => break,
                }
            } else if let Some([one]) = node.get("allOf").and_then(Value::as_array).map(|v| &v[..])
            {
                node = one;
            } else {
                break;
            }
        }
        node
    }

    /// The alternatives of an `anyOf`, nested ones flattened, `null` left out.
    fn branches(&self, any: &'s [Value], out: &mut Vec<&'s Value>) {
        for b in any {
            let b = self.resolve(b);
            if let Some(inner) = b.get("anyOf").and_then(Value::as_array) {
                self.branches(inner, out);
            } else if !types(b).is_empty() || b.get("oneOf").is_some() {
                out.push(b);
            }
        }
    }

    fn problem(&mut self, path: String, at: usize, message: String) {
        self.problems.push(Problem {
            path,
            message,
            location: Some(line_col(self.text, at)),
            file: None,
        });
    }

    /// `= <value as written>: ` when the value is short and on one line, else nothing.
    fn shown(&self, v: &Spanned<DeValue<'_>>) -> String {
        match (v.get_ref(), self.text.get(v.span())) {
            (DeValue::Table(_), _) | (_, None) => String::new(),
            (_, Some(s)) if s.len() > 40 || s.contains('\n') => String::new(),
            (_, Some(s)) => format!("= {}: ", s.trim()),
        }
    }

    fn wrong_type(&mut self, path: &str, v: &Spanned<DeValue<'_>>, allowed: &[&str]) {
        let names: Vec<&str> = allowed.iter().map(|t| expected(t)).collect();
        let hint = if matches!(v.get_ref(), DeValue::Datetime(_)) && allowed.contains(&"string") {
            " (write a date in quotes: \"YYYY-MM-DD\")"
        } else {
            ""
        };
        let message = format!(
            "{}invalid type: expected {}, found {}{hint}",
            self.shown(v),
            names.join(" or "),
            found(v.get_ref())
        );
        self.problem(path.to_string(), v.span().start, message);
    }

    fn value(&mut self, path: &str, v: &Spanned<DeValue<'_>>, node: &'s Value) {
        let node = self.resolve(node);
        if node.as_bool() == Some(true) {
            return;
        }
        if let Some(any) = node.get("anyOf").and_then(Value::as_array) {
            let mut branches = Vec::new();
            self.branches(any, &mut branches);
            let fits = |b: &&&'s Value| {
                types(b).iter().any(|t| is_type(v.get_ref(), t))
                    || (b.get("oneOf").is_some() && matches!(v.get_ref(), DeValue::Table(_)))
            };
            match branches.iter().find(fits) {
                Some(b) => self.value(path, v, b),
                None => {
                    let allowed: Vec<&str> = branches
                        .iter()
                        .flat_map(|b| {
                            let t = types(b);
                            if t.is_empty() { vec!["object"] } else { t }
                        })
                        .collect();
                    self.wrong_type(path, v, &allowed);
                }
            }
            return;
        }
        if let Some(variants) = node.get("oneOf").and_then(Value::as_array) {
            self.tagged(path, v, variants);
            return;
        }
        let allowed = types(node);
        let Some(&ty) = allowed.iter().find(|t| is_type(v.get_ref(), t)) else {
            if !allowed.is_empty() {
                self.wrong_type(path, v, &allowed);
            }
            return;
        };
        match v.get_ref() {
            DeValue::Table(t) => self.table(path, t, node, v.span().start, !self.extends),
            DeValue::Array(items) => {
                if let Some(item) = node.get("items") {
                    for (i, x) in items.iter().enumerate() {
                        self.value(&format!("{path}[{i}]"), x, item);
                    }
                }
            }
            DeValue::Integer(n) if ty == "integer" => {
                let format = node.get("format").and_then(Value::as_str).unwrap_or("");
                let (max, mut allowed) = match format {
                    "uint32" => (u64::from(u32::MAX), format!("in [0, {}]", u32::MAX)),
                    "uint64" | "uint" => (u64::MAX, ">= 0".to_string()),
                    _ => return,
                };
                // The range `validate` would state, when the raw struct records it.
                if let (Some(lo), Some(hi)) = (node.get("minimum"), node.get("maximum")) {
                    allowed = format!("in [{lo}, {hi}]");
                }
                if !u64::from_str_radix(n.as_str(), n.radix()).is_ok_and(|x| x <= max) {
                    let message = format!("{}must be an integer {allowed}", self.shown(v));
                    self.problem(path.to_string(), v.span().start, message);
                }
            }
            _ => {}
        }
    }

    /// A table whose `dist` (or other constant-valued key) says which variant it is.
    fn tagged(&mut self, path: &str, v: &Spanned<DeValue<'_>>, variants: &'s [Value]) {
        let DeValue::Table(t) = v.get_ref() else {
            self.wrong_type(path, v, &["object"]);
            return;
        };
        let variants: Vec<&'s Value> = variants.iter().map(|x| self.resolve(x)).collect();
        let tag_of = |x: &'s Value| {
            x.get("properties")?
                .as_object()?
                .iter()
                .find_map(|(k, p)| Some((k.as_str(), p.get("const")?.as_str()?)))
        };
        let Some((tag, _)) = variants.first().and_then(|x| tag_of(x)) else {
            return;
        };
        let names: Vec<&str> = variants
            .iter()
            .filter_map(|x| tag_of(x).map(|(_, n)| n))
            .collect();
        let at = join(path, tag);
        match t.iter().find(|(k, _)| k.get_ref() == tag) {
            None => self.problem(
                at,
                v.span().start,
                format!("is missing: must be one of {}", names.join(", ")),
            ),
            Some((_, tv)) => match tv.get_ref() {
                DeValue::String(s) => {
                    match variants
                        .iter()
                        .find(|x| tag_of(x).map(|(_, n)| n) == Some(s))
                    {
                        Some(variant) => self.table(path, t, variant, v.span().start, true),
                        None => self.problem(at, tv.span().start, one_of(s, &names)),
                    }
                }
                _ => self.wrong_type(&at, tv, &["string"]),
            },
        }
    }

    /// A table's fields; with `require`, also its missing required fields (located at `at`).
    fn table(&mut self, path: &str, t: &DeTable<'_>, node: &'s Value, at: usize, require: bool) {
        static EMPTY: LazyLock<serde_json::Map<String, Value>> = LazyLock::new(Default::default);
        let props = node
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&EMPTY);
        let inheritance = !path.is_empty() || self.extends;
        let known = move |key: &str| {
            props.contains_key(key) && (inheritance || !CONTROL_KEYS.contains(&key))
        };
        for (k, v) in t.iter() {
            let key: &str = k.get_ref();
            let sub = join(path, key);
            if known(key) {
                self.value(&sub, v, &props[key]);
            } else if node.get("additionalProperties") == Some(&Value::Bool(false)) {
                let names = props.keys().map(String::as_str).filter(|n| known(n));
                let message = match closest(key, names.clone()) {
                    Some(c) => format!("is an unknown field; did you mean `{c}`?"),
                    None => format!(
                        "is an unknown field; the fields here are {}",
                        names.collect::<Vec<_>>().join(", ")
                    ),
                };
                self.problem(sub, k.span().start, message);
            }
        }
        if !require {
            return;
        }
        let required = node.get("required").and_then(Value::as_array);
        for r in required.into_iter().flatten().filter_map(Value::as_str) {
            if !t.iter().any(|(k, _)| k.get_ref() == r) {
                self.problem(
                    join(path, r),
                    at,
                    "is missing: this field is required".into(),
                );
            }
        }
    }
}

//! The scenario JSON Schema: the committed schema and field reference equal the generated ones,
//! every shipped scenario carries the `#:schema` directive and validates against the schema with
//! an independent validator (the `jsonschema` crate), and edited copies that `l2sim validate`
//! rejects for an unknown field, a wrong type or an out-of-range number fail it too.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common;
use common::l2sim;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn generated(args: &[&str]) -> String {
    let o = l2sim(repo(), args);
    assert!(o.status.success());
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn committed_schema_and_reference_are_the_generated_ones() {
    let schema = fs::read_to_string(repo().join("scenarios/l2sim.schema.json")).unwrap();
    assert!(
        schema == generated(&["schema"]),
        "scenarios/l2sim.schema.json is stale: run `cargo run --release -- schema > scenarios/l2sim.schema.json`"
    );
    let doc = fs::read_to_string(repo().join("docs/SCENARIOS.md")).unwrap();
    assert!(
        doc == generated(&["schema", "--markdown"]),
        "docs/SCENARIOS.md is stale: run `cargo run --release -- schema --markdown > docs/SCENARIOS.md`"
    );
}

fn validator() -> jsonschema::Validator {
    let text = fs::read_to_string(repo().join("scenarios/l2sim.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

fn as_json(toml_text: &str) -> serde_json::Value {
    let v: toml::Value = toml::from_str(toml_text).unwrap();
    serde_json::to_value(v).unwrap()
}

fn shipped() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(repo().join("scenarios"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_shipped_scenario_has_the_directive_and_validates() {
    let v = validator();
    let files = shipped();
    assert!(files.len() >= 10, "{files:?}");
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        assert_eq!(
            text.lines().next(),
            Some("#:schema ./l2sim.schema.json"),
            "{}: first line must be the schema directive",
            f.display()
        );
        let errors: Vec<String> = v
            .iter_errors(&as_json(&text))
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", f.display());
    }
}

#[test]
fn edited_copies_fail_like_validate() {
    let v = validator();
    let base = fs::read_to_string(repo().join("scenarios/baseline.toml")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        // An unknown field (a typo) at the top level, in a chain and in the market.
        ("horizon_days = ", "horizon_dayz = 1\nhorizon_days = "),
        ("tx_cost_usd = ", "tx_cost_ud = 1.0\ntx_cost_usd = "),
        ("[market]\n", "[market]\ncontagoin = 0.1\n"),
        // A wrong type, an out-of-range number, an unknown kind.
        ("horizon_days = 730", "horizon_days = \"two years\""),
        ("horizon_days = 730", "horizon_days = 0.5"),
        ("kind = \"optimistic\"", "kind = \"sidechain\""),
    ];
    for (from, to) in cases {
        assert!(base.contains(from), "{from:?}");
        let edited = base.replacen(from, to, 1);
        assert!(
            !v.is_valid(&as_json(&edited)),
            "the schema accepts the edit {to:?}"
        );
        let path = tmp.path().join("edited.toml");
        fs::write(&path, &edited).unwrap();
        let o = l2sim(tmp.path(), &["validate", &path.to_string_lossy()]);
        assert_eq!(o.status.code(), Some(2), "validate accepts the edit {to:?}");
    }
    // A child that names only what it changes is valid without the required fields.
    let child = "#:schema ./l2sim.schema.json\nextends = \"baseline.toml\"\n[[chains]]\nid = \"zksync\"\nwithdrawal_delay_days = 0.1\n";
    assert!(v.is_valid(&as_json(child)));
    assert!(!v.is_valid(&as_json(
        &child.replace("extends = \"baseline.toml\"\n", "")
    )));
}

/// Every number in the schema carries the validator's range, so a new field cannot be left out of
/// the reference scenario the ranges are recorded from. Only two have none, their whole range
/// moving with the scenario: a `parameter` event's `value` (the range of the field it sets) and
/// an airdrop's `airdrop_day` (from the event's day to the horizon; its number branch).
#[test]
fn every_number_has_a_range() {
    fn walk(node: &serde_json::Value, path: String, out: &mut Vec<String>) {
        match node {
            serde_json::Value::Object(o) => {
                let number = |t: &serde_json::Value| t == "number" || t == "integer";
                let is_number = o.get("type").is_some_and(|t| {
                    number(t) || t.as_array().is_some_and(|a| a.iter().any(number))
                });
                let ranged = ["minimum", "exclusiveMinimum", "maximum"]
                    .iter()
                    .any(|k| o.contains_key(*k));
                if is_number && !ranged {
                    out.push(path.clone());
                }
                for (k, v) in o {
                    walk(v, format!("{path}/{k}"), out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    walk(v, format!("{path}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let schema: serde_json::Value = serde_json::from_str(&generated(&["schema"])).unwrap();
    let mut unranged = Vec::new();
    walk(&schema, String::new(), &mut unranged);
    assert_eq!(
        unranged,
        [
            "/definitions/RawEvent/properties/airdrop_day/anyOf/0/anyOf/0",
            "/definitions/RawEvent/properties/value",
            // Within the range of the field calibrated or sampled (`[[calibrate.parameter]]`,
            // `[[sweep.range]]`), and within the horizon: checked by `validate`, `calibrate` and
            // the design's expansion, not expressible in the schema.
            "/definitions/RawCalibrateParameter/properties/min",
            "/definitions/RawCalibrateParameter/properties/max",
            "/definitions/RawCalibrate/properties/fit_until/anyOf/0"
        ]
    );
}

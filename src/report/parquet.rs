//! Parquet copies of the CSV tables (`--parquet`): `quantiles.parquet`, `runs.parquet`,
//! `runs_long.parquet`, `trajectories.parquet`, `compare.parquet`, `sweep.parquet`, beside their
//! CSV namesakes (and under a sweep's `points/<p>/`).
//!
//! Each is converted from the CSV l2sim has just written, so both hold the same values (numbers
//! round-trip exactly through the shortest decimal form). Columns are typed: `run`, `n`, `diff_n`
//! and `point` are 64-bit integers, `seed` unsigned (from its hexadecimal CSV form); `metric`,
//! `chain`, `date`, `scenario_a`,
//! `scenario_b` are dictionary-encoded strings (a category in pandas); the swept fields of `sweep` are numbers
//! when every value is one, else strings; every other column is a 64-bit float. Missing values
//! (`NaN` in the CSV, or an empty string cell) are nulls. Pages are Snappy-compressed. Rows are
//! read and written in batches, so memory stays bounded for a large `trajectories.csv`.
//!
//! Every file carries key-value metadata: `l2sim.scenario`, `l2sim.seed`, `l2sim.runs`,
//! `l2sim.version` and `l2sim.metrics`, the units registry of `metrics.csv` as a JSON array of
//! `{metric, per, unit, meaning}`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, StringDictionaryBuilder,
    UInt64Builder,
};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

/// The tables that get a Parquet copy.
pub const TABLES: [&str; 8] = [
    "quantiles",
    "runs",
    "runs_long",
    "trajectories",
    "compare",
    "sweep",
    "events",
    "value_flow",
];

/// Rows per record batch (and row group).
const BATCH_ROWS: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Column {
    Int,
    Unsigned,
    Float,
    Category,
    Text,
    Flag,
}

impl Column {
    fn of(name: &str) -> Column {
        match name {
            "run" | "n" | "diff_n" | "point" => Column::Int,
            "seed" => Column::Unsigned,
            "metric" | "chain" | "scenario_a" | "scenario_b" | "date" | "kind" | "recipient"
            | "verdict" => Column::Category,
            "identical" => Column::Flag,
            _ => Column::Float,
        }
    }

    fn data_type(self) -> DataType {
        match self {
            Column::Int => DataType::Int64,
            Column::Unsigned => DataType::UInt64,
            Column::Float => DataType::Float64,
            Column::Category => {
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
            }
            Column::Text => DataType::Utf8,
            Column::Flag => DataType::Boolean,
        }
    }
}

fn sub_folders(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut subs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subs.sort();
    Ok(subs)
}

/// The key-value metadata of every file: `metadata` (scenario, seed, runs, version), then the
/// units registry as `l2sim.metrics`.
fn key_values(metadata: &[(String, String)]) -> Vec<KeyValue> {
    let units: Vec<serde_json::Value> = crate::engine::UNITS
        .iter()
        .map(|u| {
            serde_json::json!({
                "metric": u.metric, "per": u.per.as_str(), "unit": u.unit, "meaning": u.meaning,
            })
        })
        .collect();
    metadata
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .chain([KeyValue::new(
            "l2sim.metrics".to_string(),
            serde_json::Value::Array(units).to_string(),
        )])
        .collect()
}

/// Writes a `.parquet` copy of every l2sim table in `dir` and its sub-folders (one level, for
/// `compare`; two for a sweep's `points/<p>/`), each with `metadata` and the units as key-value
/// metadata; returns the files written.
pub fn convert_folder(dir: &Path, metadata: &[(String, String)]) -> Result<Vec<PathBuf>> {
    let mut folders = vec![dir.to_path_buf()];
    for sub in sub_folders(dir)? {
        let points = sub.file_name().is_some_and(|n| n == "points");
        if points {
            folders.extend(sub_folders(&sub)?);
        }
        folders.push(sub);
    }
    let kv = key_values(metadata);
    let mut written = Vec::new();
    for folder in folders {
        for table in TABLES {
            let csv = folder.join(format!("{table}.csv"));
            if csv.is_file() {
                let out = folder.join(format!("{table}.parquet"));
                csv_to_parquet(table, &csv, &out, &kv)?;
                written.push(out);
            }
        }
    }
    Ok(written)
}

/// The type of each column: fixed by name, except that a sweep's swept fields are numbers when
/// every value parses as one.
fn column_types(table: &str, csv: &Path, header: &csv::StringRecord) -> Result<Vec<Column>> {
    let mut types: Vec<Column> = header.iter().map(Column::of).collect();
    // A sweep's swept fields sit between `point` and `metric`.
    if table == "sweep" {
        let at = |n: &str| header.iter().position(|h| h == n);
        if let (Some(p), Some(m)) = (at("point"), at("metric")) {
            types[p + 1..m].fill(Column::Text);
        }
    }
    if types.contains(&Column::Text) {
        let mut numeric: Vec<bool> = types.iter().map(|&t| t == Column::Text).collect();
        let mut r = csv::Reader::from_path(csv)?;
        for rec in r.records() {
            let rec = rec?;
            for (i, v) in rec.iter().enumerate() {
                if numeric.get(i) == Some(&true) && v.parse::<f64>().is_err() {
                    numeric[i] = false;
                }
            }
        }
        for (t, n) in types.iter_mut().zip(numeric) {
            if *t == Column::Text && n {
                *t = Column::Float;
            }
        }
    }
    Ok(types)
}

enum Builder {
    Int(Int64Builder),
    Unsigned(UInt64Builder),
    Float(Float64Builder),
    Category(StringDictionaryBuilder<Int32Type>),
    Text(StringBuilder),
    Flag(BooleanBuilder),
}

impl Builder {
    fn new(c: Column) -> Builder {
        match c {
            Column::Int => Builder::Int(Int64Builder::new()),
            Column::Unsigned => Builder::Unsigned(UInt64Builder::new()),
            Column::Float => Builder::Float(Float64Builder::new()),
            Column::Category => Builder::Category(StringDictionaryBuilder::new()),
            Column::Text => Builder::Text(StringBuilder::new()),
            Column::Flag => Builder::Flag(BooleanBuilder::new()),
        }
    }

    /// Appends one CSV cell; empty (and a float's `NaN`) is null.
    fn push(&mut self, v: &str, what: &dyn Fn() -> String) -> Result<()> {
        if v.is_empty() || (v == "NaN" && matches!(self, Builder::Float(_))) {
            match self {
                Builder::Int(b) => b.append_null(),
                Builder::Unsigned(b) => b.append_null(),
                Builder::Float(b) => b.append_null(),
                Builder::Category(b) => b.append_null(),
                Builder::Text(b) => b.append_null(),
                Builder::Flag(b) => b.append_null(),
            }
            return Ok(());
        }
        match self {
            Builder::Int(b) => b.append_value(v.parse().with_context(what)?),
            Builder::Unsigned(b) => {
                b.append_value(super::tables::parse_seed(v).with_context(what)?)
            }
            Builder::Float(b) => b.append_value(v.parse().with_context(what)?),
            Builder::Category(b) => {
                b.append(v)?;
            }
            Builder::Text(b) => b.append_value(v),
            Builder::Flag(b) => b.append_value(v.parse().with_context(what)?),
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Unsigned(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
            Builder::Category(b) => Arc::new(b.finish()),
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Flag(b) => Arc::new(b.finish()),
        }
    }
}

/// Converts one l2sim CSV table to Parquet, with key-value metadata `kv`.
pub fn csv_to_parquet(table: &str, csv: &Path, out: &Path, kv: &[KeyValue]) -> Result<()> {
    let mut r =
        csv::Reader::from_path(csv).with_context(|| format!("reading {}", csv.display()))?;
    let header = r.headers()?.clone();
    let types = column_types(table, csv, &header)?;
    let schema = Arc::new(Schema::new(
        header
            .iter()
            .zip(&types)
            .map(|(name, t)| Field::new(name, t.data_type(), true))
            .collect::<Vec<_>>(),
    ));
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("l2sim {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(kv.to_vec()))
        .build();
    let file = super::output::NamedFile::create(out)?;
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
    let mut builders: Vec<Builder> = types.iter().map(|&t| Builder::new(t)).collect();
    let mut rows = 0;
    let flush = |builders: &mut Vec<Builder>,
                 writer: &mut ArrowWriter<super::output::NamedFile>|
     -> Result<()> {
        let columns: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
        writer.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
        Ok(())
    };
    for (line, rec) in r.records().enumerate() {
        let rec = rec.with_context(|| format!("reading {}", csv.display()))?;
        for (i, (b, v)) in builders.iter_mut().zip(rec.iter()).enumerate() {
            let what = || {
                format!(
                    "{}: row {}, column {:?}: {v:?} is not a {:?}",
                    csv.display(),
                    line + 2,
                    &header[i],
                    types[i]
                )
            };
            b.push(v, &what)?;
        }
        rows += 1;
        if rows == BATCH_ROWS {
            flush(&mut builders, &mut writer)?;
            rows = 0;
        }
    }
    if rows > 0 {
        flush(&mut builders, &mut writer)?;
    }
    writer
        .close()
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

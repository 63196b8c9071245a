//! `--parquet`: every table gets a Parquet copy with typed columns (day a float, run an integer,
//! chain and metric dictionary-encoded strings, missing values null), Snappy-compressed, holding
//! exactly the CSV's values, with the scenario, seed, runs, version and units as key-value
//! metadata. Read back with the parquet crate's Arrow reader.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::reader::FileReader;

use crate::common;
use common::{l2sim, l2sim_ok, repo};

fn read(path: &Path) -> (arrow_schema::SchemaRef, Vec<RecordBatch>) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let schema = builder.schema().clone();
    let batches = builder.build().unwrap().map(|b| b.unwrap()).collect();
    (schema, batches)
}

fn dict() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// The CSV's cells of column `name`, as text.
fn csv_column(path: &Path, name: &str) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let i = r.headers().unwrap().iter().position(|h| h == name).unwrap();
    r.records().map(|rec| rec.unwrap()[i].to_string()).collect()
}

fn floats(batches: &[RecordBatch], col: usize) -> Vec<Option<f64>> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column(col).as_primitive::<Float64Type>().clone();
            (0..a.len()).map(move |i| a.is_valid(i).then(|| a.value(i)))
        })
        .collect()
}

/// A CSV float cell as the Parquet value: `NaN` (missing) is null.
fn missing(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|x| !x.is_nan())
}

#[test]
fn tables_are_typed_compressed_and_equal_to_the_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let small = repo("tests/data/small.toml");
    l2sim_ok(
        t,
        &[
            "run",
            &small,
            "--runs",
            "12",
            "--save-runs",
            "--parquet",
            "--no-plots",
            "--out",
            "r",
            "-q",
        ],
    );
    let dir = t.join("r");

    let (schema, batches) = read(&dir.join("quantiles.parquet"));
    let types: Vec<(&str, DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type().clone()))
        .collect();
    assert_eq!(types[0], ("day", DataType::Float64));
    assert_eq!(types[1], ("metric", dict()));
    assert_eq!(types[2], ("chain", dict()));
    assert!(types[3..].iter().all(|(_, t)| *t == DataType::Float64));
    // Values: the CSV's, bit for bit; system metrics have a null chain.
    let csv = dir.join("quantiles.csv");
    let p50: Vec<Option<f64>> = floats(&batches, 6);
    let want: Vec<Option<f64>> = csv_column(&csv, "p50").iter().map(|s| missing(s)).collect();
    assert_eq!(p50, want);
    let chains: Vec<Option<String>> = batches
        .iter()
        .flat_map(|b| {
            let d = b.column(2).as_dictionary::<Int32Type>();
            let values = d.values().as_string::<i32>().clone();
            let keys = d.keys().clone();
            (0..keys.len()).map(move |i| {
                keys.is_valid(i)
                    .then(|| values.value(keys.value(i) as usize).to_string())
            })
        })
        .collect();
    let want: Vec<Option<String>> = csv_column(&csv, "chain")
        .into_iter()
        .map(|s| (!s.is_empty()).then_some(s))
        .collect();
    assert_eq!(chains, want);
    assert!(chains.contains(&None) && chains.contains(&Some("zk".into())));

    // runs: run an integer, seed unsigned, metrics floats with nulls where the CSV is empty.
    let (schema, batches) = read(&dir.join("runs.parquet"));
    assert_eq!(schema.field(0).data_type(), &DataType::Int64);
    assert_eq!(schema.field(1).data_type(), &DataType::UInt64);
    let runs: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    assert_eq!(runs, (0..12).collect::<Vec<i64>>());
    let i = schema.index_of("zk_overtakes_day").unwrap();
    let overtakes = floats(&batches, i);
    let want: Vec<Option<f64>> = csv_column(&dir.join("runs.csv"), "zk_overtakes_day")
        .iter()
        .map(|s| missing(s))
        .collect();
    assert_eq!(overtakes, want);
    // The seed: the CSV's hexadecimal string, as the unsigned number it is.
    let seeds: Vec<u64> = batches
        .iter()
        .flat_map(|b| b.column(1).as_primitive::<UInt64Type>().values().to_vec())
        .collect();
    let want: Vec<u64> = csv_column(&dir.join("runs.csv"), "seed")
        .iter()
        .map(|s| u64::from_str_radix(s.strip_prefix("0x").unwrap(), 16).unwrap())
        .collect();
    assert_eq!(seeds, want);

    // Every file carries the scenario, seed, runs, version and the units of every metric.
    for table in ["quantiles", "runs", "runs_long", "trajectories"] {
        let reader = parquet::file::reader::SerializedFileReader::new(
            File::open(dir.join(format!("{table}.parquet"))).unwrap(),
        )
        .unwrap();
        let kv: std::collections::HashMap<String, String> = reader
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .unwrap()
            .iter()
            .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
            .collect();
        assert_eq!(kv["l2sim.scenario"], "small", "{table}");
        assert_eq!(kv["l2sim.seed"], "7");
        assert_eq!(kv["l2sim.runs"], "12");
        assert_eq!(kv["l2sim.version"], env!("CARGO_PKG_VERSION"));
        let units: Vec<serde_json::Value> = serde_json::from_str(&kv["l2sim.metrics"]).unwrap();
        let tvl = units
            .iter()
            .find(|u| u["metric"] == "tvl_usd" && u["per"] == "chain")
            .unwrap();
        assert_eq!(tvl["unit"], "USD");
        // The same rows as metrics.csv.
        assert_eq!(
            units.len(),
            csv_column(&dir.join("metrics.csv"), "metric").len()
        );
    }

    // trajectories: many rows, smaller than the CSV; every column chunk Snappy-compressed.
    let traj = dir.join("trajectories.parquet");
    let (_, batches) = read(&traj);
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, csv_column(&dir.join("trajectories.csv"), "run").len());
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert!(size(&traj) * 3 < size(&dir.join("trajectories.csv")));
    let reader =
        parquet::file::reader::SerializedFileReader::new(File::open(&traj).unwrap()).unwrap();
    for rg in reader.metadata().row_groups() {
        for c in rg.columns() {
            assert_eq!(c.compression(), Compression::SNAPPY);
        }
    }
}

#[test]
fn sweep_parameters_are_numbers_and_compare_names_categories() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    l2sim_ok(
        t,
        &[
            "sweep",
            &repo("tests/data/small_sweep_2d.toml"),
            "--runs",
            "4",
            "--parquet",
            "--no-plots",
            "--out",
            "w",
            "-q",
        ],
    );
    let (schema, _) = read(&t.join("w/sweep.parquet"));
    assert_eq!(schema.field(0).data_type(), &DataType::Int64, "point");
    assert_eq!(
        schema.field(1).data_type(),
        &DataType::Float64,
        "a swept number"
    );
    assert_eq!(
        schema.field_with_name("metric").unwrap().data_type(),
        &dict()
    );
    assert_eq!(
        schema.field_with_name("n").unwrap().data_type(),
        &DataType::Int64
    );
    let o = l2sim(
        t,
        &[
            "compare",
            &repo("tests/data/small.toml"),
            &repo("tests/data/small_fast_zk.toml"),
            "--runs",
            "4",
            "--parquet",
            "--no-plots",
            "--out",
            "c",
            "-q",
        ],
    );
    assert!(o.status.success());
    let (schema, _) = read(&t.join("c/compare.parquet"));
    for name in ["scenario_a", "scenario_b", "metric"] {
        assert_eq!(
            schema.field_with_name(name).unwrap().data_type(),
            &dict(),
            "{name}"
        );
    }
    assert_eq!(
        schema.field_with_name("identical").unwrap().data_type(),
        &DataType::Boolean
    );
    assert!(t.join("c/A_small/quantiles.parquet").is_file());
}

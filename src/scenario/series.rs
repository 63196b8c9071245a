//! Time-series inputs (`[[series]]`): a CSV file of dated values that drives one scenario field
//! over time, such as the observed L1 fee or the ETH price.
//!
//! A series file has a header with `date` (needs `start_date`) or `day`, and `value`; other
//! columns are ignored. Rows are checked like scenario fields: every bad cell is reported with
//! its file, line and column, dates must fall within the horizon and increase, values must be
//! finite and in the target field's range. The file's text is kept, so that an output folder
//! holds a copy of it beside `scenario.resolved.toml`, checked by its SHA-256.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::calendar::{Calendar, parse_date};
use super::error::Problem;
use super::input;
use super::{Bound, ChainField};

/// What a series drives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SeriesTarget {
    /// A settable chain field (`chains.<id>.<field>`).
    Chain { chain: usize, field: ChainField },
    /// The market price factor `P(t)` (`market.price_factor`): `value / first value`.
    PriceFactor,
    /// Capital entering the ecosystem (`market.inflow_apy`), fraction of TVL per year.
    InflowApy,
    /// A chain's own asset price (`chains.<id>.price_factor`): `value / first value`.
    OwnPrice { chain: usize },
}

impl SeriesTarget {
    /// The range its values must lie in.
    pub fn range(self) -> Bound {
        match self {
            SeriesTarget::Chain { field, .. } => field.range(),
            SeriesTarget::PriceFactor | SeriesTarget::OwnPrice { .. } => Bound::Positive,
            SeriesTarget::InflowApy => Bound::Between(-10.0, 10.0),
        }
    }
}

/// How a series is read between its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolation {
    /// A value holds from its day until the next point's.
    Step,
    /// Straight lines between points.
    Linear,
}

/// A loaded series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub target: SeriesTarget,
    pub interpolation: Interpolation,
    /// `(day, value)`, days strictly increasing within `[0, horizon]`.
    pub points: Vec<(f64, f64)>,
    /// The file's name (for the copy in an output folder) and its text.
    pub file_name: String,
    pub text: String,
    pub sha256: String,
}

impl Series {
    /// The value at `day`: `None` before the first point (the scenario's own value holds).
    pub fn at(&self, day: f64) -> Option<f64> {
        let after = self.points.partition_point(|&(d, _)| d <= day);
        if after == 0 {
            return None;
        }
        let (d0, v0) = self.points[after - 1];
        match (self.interpolation, self.points.get(after)) {
            (Interpolation::Linear, Some(&(d1, v1))) => {
                Some(v0 + (v1 - v0) * (day - d0) / (d1 - d0))
            }
            _ => Some(v0),
        }
    }
}

/// The names of the series' copies in an output folder: `series/<file name>`, or
/// `series/<index>_<file name>` when two series files have the same name. A resolved scenario's
/// copies keep their names when it is run again.
pub fn copy_names(series: &[Series]) -> Vec<String> {
    let unique = |name: &str| series.iter().filter(|s| s.file_name == name).count() == 1;
    series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if unique(&s.file_name) {
                format!("series/{}", s.file_name)
            } else {
                format!("series/{i}_{}", s.file_name)
            }
        })
        .collect()
}

/// Hex SHA-256 of a text.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn located(file: &Path, line: usize, column: usize, path: &str, message: String) -> Problem {
    Problem {
        path: path.to_string(),
        message,
        location: Some((line, column)),
        file: Some(file.to_path_buf()),
    }
}

/// Reads and checks the series file at `file` for `target`; every problem, located in the file.
#[allow(clippy::too_many_arguments)]
pub fn load(
    file: &Path,
    entry: &str,
    target: SeriesTarget,
    interpolation: Interpolation,
    expected_sha256: Option<&str>,
    calendar: Option<&Calendar>,
    horizon_days: f64,
) -> Result<Series, Vec<Problem>> {
    let whole = |message: String| {
        vec![Problem {
            path: format!("{entry}.file"),
            message,
            location: None,
            file: None,
        }]
    };
    let text = input::read_text(file, input::MAX_CSV_BYTES).map_err(|e| {
        whole(format!(
            "= {:?}: cannot read it: {e}",
            file.display().to_string()
        ))
    })?;
    let sha256 = sha256_hex(&text);
    if let Some(expected) = expected_sha256
        && expected != sha256
    {
        return Err(whole(format!(
            "= {:?}: its SHA-256 is {sha256}, not the {expected} the scenario records: the file changed",
            file.display().to_string()
        )));
    }
    let mut problems = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![located(
                file,
                1,
                1,
                "header",
                format!("is not valid CSV: {e}"),
            )]);
        }
    };
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (date_col, day_col, value_col) = (col("date"), col("day"), col("value"));
    let time_col = match (date_col, day_col) {
        (Some(c), None) | (None, Some(c)) => c,
        (Some(_), Some(_)) => {
            return Err(vec![located(
                file,
                1,
                1,
                "header",
                "has both `date` and `day`; give one".into(),
            )]);
        }
        (None, None) => {
            return Err(vec![located(
                file,
                1,
                1,
                "header",
                format!(
                    "needs a `date` (or `day`) column and a `value` column; it has {:?}",
                    headers.iter().collect::<Vec<_>>()
                ),
            )]);
        }
    };
    let Some(value_col) = value_col else {
        return Err(vec![located(
            file,
            1,
            1,
            "header",
            "needs a `value` column".into(),
        )]);
    };
    if date_col.is_some() && calendar.is_none() {
        return Err(vec![located(
            file,
            1,
            1,
            "date",
            "dates need the scenario's start_date (or give a `day` column)".into(),
        )]);
    }
    let column_of = |rec: &csv::StringRecord, c: usize| -> usize {
        // 1-based column in characters of the raw line: the fields before `c` and their commas.
        (0..c)
            .map(|i| rec.get(i).map_or(0, |f| f.chars().count()) + 1)
            .sum::<usize>()
            + 1
    };
    let range = target.range();
    let mut points: Vec<(f64, f64)> = Vec::new();
    for rec in reader.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                problems.push(located(
                    file,
                    line,
                    1,
                    "row",
                    format!("is not valid CSV: {e}"),
                ));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let cell = |c: usize| rec.get(c).unwrap_or("").trim();
        let t = cell(time_col);
        let day = if date_col.is_some() {
            match parse_date(t) {
                Ok(d) => calendar.map_or(f64::NAN, |cal| cal.day_of(d)),
                Err(m) => {
                    problems.push(located(
                        file,
                        line,
                        column_of(&rec, time_col),
                        "date",
                        format!("= {m}"),
                    ));
                    continue;
                }
            }
        } else {
            match t.parse::<f64>() {
                Ok(d) => d,
                Err(_) => {
                    problems.push(located(
                        file,
                        line,
                        column_of(&rec, time_col),
                        "day",
                        format!("= {t:?}: not a number"),
                    ));
                    continue;
                }
            }
        };
        let name = if date_col.is_some() { "date" } else { "day" };
        if !(0.0..=horizon_days).contains(&day) {
            problems.push(located(
                file,
                line,
                column_of(&rec, time_col),
                name,
                format!("= {t}: day {day} is outside the horizon [0, {horizon_days}]; keep only the rows the scenario covers"),
            ));
            continue;
        }
        if let Some(&(last, _)) = points.last()
            && day <= last
        {
            problems.push(located(
                file,
                line,
                column_of(&rec, time_col),
                name,
                format!("= {t}: rows must be in increasing order of {name}, each once"),
            ));
            continue;
        }
        let v = cell(value_col);
        match v.parse::<f64>() {
            Ok(x) if range.holds(x) => points.push((day, x)),
            Ok(x) => problems.push(located(
                file,
                line,
                column_of(&rec, value_col),
                "value",
                format!("= {}: {}", super::show(x), range.describe()),
            )),
            Err(_) => problems.push(located(
                file,
                line,
                column_of(&rec, value_col),
                "value",
                format!("= {v:?}: not a number"),
            )),
        }
    }
    if points.is_empty() && problems.is_empty() {
        problems.push(located(
            file,
            2,
            1,
            "row",
            "is missing: the series has no rows".into(),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "series.csv".into());
    Ok(Series {
        target,
        interpolation,
        points,
        file_name,
        text,
        sha256,
    })
}

/// The target of a series from its field path, given the scenario's chain ids.
pub fn parse_target(target: &str, chain_ids: &[&str]) -> Result<SeriesTarget, String> {
    let fields: Vec<&str> = ChainField::ALL.iter().map(|(_, n)| *n).collect();
    let allowed = || {
        format!(
            "must be chains.<id>.<field> with a settable field ({}) or price_factor (its own asset price), market.price_factor or market.inflow_apy",
            fields.join(", ")
        )
    };
    let parts: Vec<&str> = target.split('.').collect();
    match parts.as_slice() {
        ["market", "price_factor"] => Ok(SeriesTarget::PriceFactor),
        ["market", "inflow_apy"] => Ok(SeriesTarget::InflowApy),
        ["chains", id, "price_factor"] => chain_ids
            .iter()
            .position(|c| c == id)
            .map(|chain| SeriesTarget::OwnPrice { chain })
            .ok_or_else(|| {
                format!(
                    "= {target:?}: no chain {id:?} (chains are {})",
                    chain_ids.join(", ")
                )
            }),
        ["chains", id, field] => {
            let chain = chain_ids.iter().position(|c| c == id).ok_or_else(|| {
                format!(
                    "= {target:?}: no chain {id:?} (chains are {})",
                    chain_ids.join(", ")
                )
            })?;
            let field = ChainField::parse(field).ok_or_else(|| {
                format!(
                    "= {target:?}: {field:?} is not a settable chain field; {}",
                    allowed()
                )
            })?;
            Ok(SeriesTarget::Chain { chain, field })
        }
        _ => Err(format!("= {target:?}: {}", allowed())),
    }
}

/// Where a series file named `file` in the scenario file `declared_in` is.
pub fn resolve_path(declared_in: &Path, file: &str) -> PathBuf {
    declared_in.parent().unwrap_or(Path::new(".")).join(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(points: Vec<(f64, f64)>, interpolation: Interpolation) -> Series {
        Series {
            target: SeriesTarget::InflowApy,
            interpolation,
            points,
            file_name: String::new(),
            text: String::new(),
            sha256: String::new(),
        }
    }

    #[test]
    fn step_and_linear_read_between_points() {
        let pts = vec![(0.0, 1.0), (10.0, 3.0), (20.0, 2.0)];
        let step = series(pts.clone(), Interpolation::Step);
        let lin = series(pts, Interpolation::Linear);
        assert_eq!(step.at(-1.0), None);
        assert_eq!(step.at(0.0), Some(1.0));
        assert_eq!(step.at(9.99), Some(1.0));
        assert_eq!(step.at(10.0), Some(3.0));
        assert_eq!(step.at(99.0), Some(2.0));
        assert_eq!(lin.at(5.0), Some(2.0));
        assert_eq!(lin.at(15.0), Some(2.5));
        assert_eq!(lin.at(30.0), Some(2.0));
    }
}

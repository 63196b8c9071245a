//! Calendar time: a scenario with `start_date` maps every day to a date (day 0 is the start date,
//! day `d` the date `d` days later), so that day fields may be written as dates, samples may
//! fall on month ends, and tables carry a `date` column.

use std::borrow::Cow;
use std::fmt;

use jiff::civil::Date;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The calendar of a scenario: its start date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calendar {
    pub start: Date,
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<Date, String> {
    let bad = || format!("{text:?}: not a date; write YYYY-MM-DD, e.g. \"2022-06-01\"");
    if text.len() != 10 || text.as_bytes()[4] != b'-' || text.as_bytes()[7] != b'-' {
        return Err(bad());
    }
    text.parse::<Date>().map_err(|_| bad())
}

impl Calendar {
    /// The day number of a date (negative before the start).
    pub fn day_of(&self, date: Date) -> f64 {
        let span = self.start.until(date).map(|s| s.get_days());
        span.map_or(f64::NAN, f64::from)
    }

    /// The date of day `day` (its whole days; `None` out of the calendar's range).
    pub fn date_of(&self, day: f64) -> Option<Date> {
        if !day.is_finite() || day.abs() > 3_000_000.0 {
            return None;
        }
        self.start
            .checked_add(jiff::Span::new().days(day.floor() as i64))
            .ok()
    }

    /// `date_of` as `YYYY-MM-DD`, empty when out of range.
    pub fn label(&self, day: f64) -> String {
        self.date_of(day).map_or(String::new(), |d| d.to_string())
    }

    /// The days in `[0, horizon]` that are the last day of a month.
    pub fn month_ends(&self, horizon_days: f64) -> Vec<f64> {
        let mut out = Vec::new();
        let mut month = self.start.first_of_month();
        loop {
            let end = month.last_of_month();
            let day = self.day_of(end);
            if day > horizon_days || !day.is_finite() {
                break;
            }
            if day >= 0.0 {
                out.push(day);
            }
            match month.checked_add(jiff::Span::new().months(1)) {
                Ok(next) => month = next,
                Err(_) => break,
            }
        }
        out
    }
}

/// A day as written: a number of days since the start, or a date (`"2022-06-01"`, which needs
/// `start_date`).
#[derive(Debug, Clone, PartialEq)]
pub enum RawDay {
    Days(f64),
    Date(String),
}

impl Default for RawDay {
    fn default() -> Self {
        RawDay::Days(0.0)
    }
}

impl From<f64> for RawDay {
    fn from(v: f64) -> Self {
        RawDay::Days(v)
    }
}

impl RawDay {
    /// The number of days, if written as a number.
    pub fn days(&self) -> Option<f64> {
        match self {
            RawDay::Days(d) => Some(*d),
            RawDay::Date(_) => None,
        }
    }

    /// The day number under `calendar`; an error message when it cannot be had.
    pub fn resolve(&self, calendar: Option<&Calendar>) -> Result<f64, String> {
        match (self, calendar) {
            (RawDay::Days(d), _) => Ok(*d),
            (RawDay::Date(text), Some(cal)) => parse_date(text).map(|d| cal.day_of(d)),
            (RawDay::Date(text), None) => Err(format!(
                "= {text:?}: a date needs the scenario's start_date (or write a number of days)"
            )),
        }
    }
}

impl fmt::Display for RawDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawDay::Days(d) => write!(f, "{d}"),
            RawDay::Date(s) => write!(f, "{s:?}"),
        }
    }
}

impl Serialize for RawDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RawDay::Days(d) => s.serialize_f64(*d),
            RawDay::Date(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for RawDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = RawDay;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of days or a date \"YYYY-MM-DD\"")
            }
            fn visit_f64<E>(self, v: f64) -> Result<RawDay, E> {
                Ok(RawDay::Days(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<RawDay, E> {
                Ok(RawDay::Days(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<RawDay, E> {
                Ok(RawDay::Days(v as f64))
            }
            fn visit_str<E>(self, v: &str) -> Result<RawDay, E> {
                Ok(RawDay::Date(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl JsonSchema for RawDay {
    fn schema_name() -> Cow<'static, str> {
        "Day".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "number" },
                { "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal(s: &str) -> Calendar {
        Calendar {
            start: parse_date(s).unwrap(),
        }
    }

    #[test]
    fn dates_and_days_round_trip() {
        let c = cal("2022-01-01");
        for (date, day) in [
            ("2022-01-01", 0.0),
            ("2022-01-31", 30.0),
            ("2022-06-01", 151.0),
            ("2023-01-01", 365.0),
            ("2024-03-01", 790.0),
        ] {
            assert_eq!(c.day_of(parse_date(date).unwrap()), day, "{date}");
            assert_eq!(c.label(day), date);
        }
        assert_eq!(c.label(30.75), "2022-01-31");
        assert!(parse_date("2022-13-01").is_err());
        assert!(parse_date("2022-1-1").is_err());
        assert!(parse_date("yesterday").is_err());
    }

    #[test]
    fn month_ends_fall_on_the_last_day_of_each_month_leap_years_included() {
        let c = cal("2023-12-15");
        let days = c.month_ends(120.0);
        let labels: Vec<String> = days.iter().map(|&d| c.label(d)).collect();
        assert_eq!(
            labels,
            ["2023-12-31", "2024-01-31", "2024-02-29", "2024-03-31"]
        );
        let c = cal("2022-01-01");
        let labels: Vec<String> = c.month_ends(59.0).iter().map(|&d| c.label(d)).collect();
        assert_eq!(labels, ["2022-01-31", "2022-02-28"]);
    }
}

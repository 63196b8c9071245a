//! Numbers as a reader wants them in reports and summaries: the unit a metric's name implies
//! and a precision that fits the value (`85.7 B USD`, `0.107`, `4.4e-15`, `day 361`), never
//! `8.573e10` or `0.0000` for a value that is not zero; and [`num`], a float as every CSV file
//! writes it (the one leaf every table writer uses).

/// A float as a CSV field: shortest round-trip form that always reads as a float (`1.0`, not
/// `1`; `1e21`), `NaN` when missing, `inf`/`-inf`.
pub fn num(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_string()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_string()
    } else {
        format!("{x:?}")
    }
}

/// How a metric's values read, from its name (`tvl_usd.arbitrum`, `zk_overtakes_day`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Usd,
    Day,
    Plain,
}

impl Kind {
    pub fn of(metric: &str) -> Kind {
        let base = metric.split('.').next().unwrap_or(metric);
        if base.ends_with("_usd") {
            Kind::Usd
        } else if base.ends_with("_day") {
            Kind::Day
        } else {
            Kind::Plain
        }
    }
}

/// `x` as `metric`'s values read; `–` when missing.
pub fn value(metric: &str, x: f64) -> String {
    match Kind::of(metric) {
        Kind::Usd => usd(x),
        Kind::Day if x.is_finite() => format!("day {}", x.round()),
        _ => number(x),
    }
}

/// A difference of two values of `metric` (B − A): as [`value`], but days as a number of days.
pub fn difference(metric: &str, x: f64) -> String {
    match Kind::of(metric) {
        Kind::Day if x.is_finite() => format!("{} days", significant(x, 3)),
        _ => value(metric, x),
    }
}

/// An amount of USD with three significant figures and a scale word: `85.7 B USD`,
/// `-312 M USD`, `4.20 k USD`.
pub fn usd(x: f64) -> String {
    if !x.is_finite() {
        return number(x);
    }
    let a = x.abs();
    let (scaled, word) = if a >= 1e12 {
        (x / 1e12, " T")
    } else if a >= 1e9 {
        (x / 1e9, " B")
    } else if a >= 1e6 {
        (x / 1e6, " M")
    } else if a >= 1e3 {
        (x / 1e3, " k")
    } else {
        (x, "")
    };
    format!("{}{word} USD", significant(scaled, 3))
}

/// A plain number: four significant figures (trailing zeros dropped), scientific below 1e-3 or from 1e6 (`4.4e-15`,
/// `1.23e7`), whole numbers as such; `–` when missing.
pub fn number(x: f64) -> String {
    if x.is_nan() {
        return "–".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        };
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        let s = format!("{x:.2e}");
        // `4.40e-15` → `4.4e-15`.
        match s.split_once('e') {
            Some((m, e)) => {
                let m = m.trim_end_matches('0').trim_end_matches('.');
                format!("{m}e{e}")
            }
            None => s,
        }
    } else if x == x.trunc() {
        format!("{x:.0}")
    } else {
        trimmed(x, 4)
    }
}

/// `x` with `digits` significant figures, trailing zeros dropped (`0.0025`, `12.5`).
pub fn trimmed(x: f64, digits: i32) -> String {
    let s = significant(x, digits);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `x` with `digits` significant figures (trailing zeros kept, as precision shown).
fn significant(x: f64, digits: i32) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    format!("{x:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_with_their_units_and_precision() {
        assert_eq!(value("tvl_total_usd", 8.573e10), "85.7 B USD");
        assert_eq!(value("tvl_usd.optimism", -3.12e8), "-312 M USD");
        assert_eq!(value("fee_usd.zksync", 0.042), "0.0420 USD");
        assert_eq!(value("zk_overtakes_day", 361.0), "day 361");
        assert_eq!(value("zk_overtakes_day", f64::NAN), "–");
        assert_eq!(value("conservation_error", 4.4e-15), "4.4e-15");
        assert_eq!(value("l2_share", 0.10734), "0.1073");
        assert_eq!(value("migrations", 1234567.0), "1.23e6");
        assert_eq!(value("migrations", 3456.0), "3456");
        assert_eq!(number(0.0), "0");
        assert_eq!(difference("zk_overtakes_day", -12.4), "-12.4 days");
        assert_eq!(difference("l2_share", -0.001), "-0.001");
    }
}

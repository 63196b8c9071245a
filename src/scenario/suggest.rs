//! "Did you mean …?": the known name closest to a misspelt one, for unknown fields and for
//! values that must be one of a list.

/// The candidate closest to `word`, if it is close: at most a third of the longer word's length
/// (and at least one edit) away by Damerau–Levenshtein distance, or very like it by Jaro–Winkler
/// similarity (which favours a shared beginning: `horizon` for `horizon_days`).
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|&c| {
            let d = strsim::damerau_levenshtein(word, c);
            let longer = word.chars().count().max(c.chars().count());
            d > 0 && (d <= (longer / 3).max(1) || strsim::jaro_winkler(word, c) >= 0.9)
        })
        .max_by(|a, b| strsim::jaro_winkler(word, a).total_cmp(&strsim::jaro_winkler(word, b)))
}

/// `= "value": must be one of a, b, c` (or `must be "a" or "b"`), with `(did you mean "b"?)`
/// when one is close.
pub fn one_of(value: &str, allowed: &[&str]) -> String {
    let mut message = match allowed {
        [a, b] => format!("= {value:?}: must be {a:?} or {b:?}"),
        _ => format!("= {value:?}: must be one of {}", allowed.join(", ")),
    };
    if let Some(c) = closest(value, allowed.iter().copied()) {
        message.push_str(&format!(" (did you mean {c:?}?)"));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_and_far_ones_not() {
        let kinds = ["l1", "optimistic", "zk", "alt_l1"];
        assert_eq!(closest("optimstic", kinds), Some("optimistic"));
        assert_eq!(closest("alt-l1", kinds), Some("alt_l1"));
        assert_eq!(closest("sidechain", kinds), None);
        assert_eq!(closest("zz", kinds), Some("zk"));
        assert_eq!(closest("ab", kinds), None);
        assert_eq!(
            closest("zk", kinds),
            None,
            "an exact match is no suggestion"
        );
        assert_eq!(
            closest("horizon", ["horizon_days", "seed"]),
            Some("horizon_days")
        );
        assert_eq!(
            one_of("cubic", &["step", "linear"]),
            "= \"cubic\": must be \"step\" or \"linear\""
        );
        assert_eq!(
            one_of("optimstic", &kinds),
            "= \"optimstic\": must be one of l1, optimistic, zk, alt_l1 (did you mean \"optimistic\"?)"
        );
    }
}

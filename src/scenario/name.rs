//! Names and ids: the rule every scenario name, chain id and segment name obeys, and a valid
//! name made from a file's name.

use std::path::Path;

/// Whether `value` is a valid name or id: 1 to 64 characters of a-z, 0-9, `_` or `-`.
pub(super) fn is_id(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A valid scenario name made from a file's name (`My Study.toml` → `my_study`): what
/// `l2sim init` writes and what a file that `extends` another is called without a `name`.
/// Characters outside a-z, 0-9, `_` and `-` become `_` (runs of them one), the ends are trimmed
/// of `_`, the length cut to 64; `my_scenario` when nothing is left.
pub fn name_from_file(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut name = String::new();
    for c in stem.chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            c
        } else {
            '_'
        };
        if !(c == '_' && name.ends_with('_')) {
            name.push(c);
        }
    }
    let name: String = name.trim_matches('_').chars().take(64).collect();
    let name = name.trim_end_matches('_');
    if is_id(name) {
        name.to_string()
    } else {
        "my_scenario".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_made_from_any_file_name_are_valid() {
        let long = format!("{}.toml", "Ab".repeat(50));
        for (file, name) in [
            ("my study.toml", "my_study"),
            ("9.toml", "9"),
            ("Été 2024.toml", "t_2024"),
            ("ÄÖ.toml", "my_scenario"),
            (".toml", "toml"),
            ("x.y.toml", "x_y"),
            ("__a__b__.toml", "a_b"),
            (long.as_str(), &"ab".repeat(32)),
        ] {
            let made = name_from_file(Path::new(file));
            assert_eq!(made, name, "{file}");
            assert!(is_id(&made), "{file}: {made}");
        }
    }
}

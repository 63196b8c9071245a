//! The CLI as a shell tool: completions that bash sources, a man page that `man -l` renders,
//! `--version` with the commit, `NO_COLOR`, `--quiet` / `-v`, and `--json` for `validate` and
//! the final summary of `run`.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common;
use common::{l2sim, repo};

#[test]
fn bash_sources_the_completion_script() {
    let tmp = tempfile::tempdir().unwrap();
    let o = l2sim(tmp.path(), &["completions", "bash"]);
    assert!(o.status.success());
    let file = tmp.path().join("l2sim.bash");
    fs::write(&file, &o.stdout).unwrap();
    let file = file.to_string_lossy().into_owned();
    // Runs `body` in bash after sourcing the script (as `$1`).
    let bash = |body: &str| {
        Command::new("bash")
            .args([
                "-c",
                &format!("set -e; source \"$1\"; {body}"),
                "bash",
                &file,
            ])
            .output()
            .expect("bash runs")
    };
    let check = bash("complete -p l2sim");
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success() && check.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(out.contains("_l2sim") && out.contains("l2sim"), "{out}");
    // And it completes: a command from its prefix, a flag of `run` from its prefix.
    let complete = |words: &str, cword: usize| {
        let o = bash(&format!(
            "COMP_WORDS=({words}); COMP_CWORD={cword}; _l2sim l2sim \"${{COMP_WORDS[{cword}]}}\" \"${{COMP_WORDS[{}]}}\"; echo \"${{COMPREPLY[@]}}\"",
            cword - 1
        ));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert_eq!(complete("l2sim me", 1), "merge");
    assert_eq!(complete("l2sim run --sh", 2), "--shard");
    // The script knows every command and the new flags.
    let text = String::from_utf8_lossy(&o.stdout);
    for word in ["merge", "sweep", "--shard", "--json", "completions"] {
        assert!(text.contains(word), "completion script lacks {word}");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let o = l2sim(tmp.path(), &["completions", shell]);
        assert!(o.status.success() && o.stdout.len() > 500, "{shell}");
    }
}

#[test]
fn man_renders_the_man_page() {
    let tmp = tempfile::tempdir().unwrap();
    let o = l2sim(tmp.path(), &["man"]);
    assert!(o.status.success());
    let page = tmp.path().join("l2sim.1");
    fs::write(&page, &o.stdout).unwrap();
    let man = Command::new("man")
        .args(["-l", &page.to_string_lossy()])
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "0")
        .output()
        .expect("`man` (Debian's man-db) is needed to check the man page");
    // Bold and underline come as overstrikes (`N\bN`) when the output is not a terminal.
    let mut text = String::new();
    for c in String::from_utf8_lossy(&man.stdout).chars() {
        if c == '\u{8}' {
            text.pop();
        } else {
            text.push(c);
        }
    }
    let warnings = String::from_utf8_lossy(&man.stderr);
    assert!(man.status.success(), "{warnings}");
    assert!(warnings.trim().is_empty(), "groff warnings: {warnings}");
    for section in [
        "NAME",
        "SYNOPSIS",
        "COMMAND: run",
        "COMMAND: merge",
        "EXIT STATUS",
    ] {
        assert!(text.contains(section), "no {section} in the rendered page");
    }
    assert!(text.contains("--shard"));
}

#[test]
fn version_names_the_commit() {
    let o = l2sim(Path::new("."), &["--version"]);
    let v = String::from_utf8_lossy(&o.stdout);
    // In a git checkout (CI clones one), the commit is HEAD's; elsewhere "unknown".
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    assert_eq!(
        v.trim(),
        format!("l2sim {} (git {head})", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn no_color_turns_colour_off_even_when_forced() {
    let run = |no_color: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_l2sim"));
        c.args(["run", "--no-such-flag"]).env("CLICOLOR_FORCE", "1");
        if no_color {
            c.env("NO_COLOR", "1");
        } else {
            c.env_remove("NO_COLOR");
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(2));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert!(
        run(false).contains('\u{1b}'),
        "CLICOLOR_FORCE colours clap's errors"
    );
    let plain = run(true);
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
    assert!(plain.contains("--no-such-flag"));
}

#[test]
fn json_quiet_and_verbose() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let small = repo("tests/data/small.toml");
    let run = |out: &str, flag: &str| {
        let args = [
            "run",
            &small,
            "--runs",
            "6",
            "--out",
            out,
            "--no-plots",
            flag,
        ];
        l2sim(t, &args)
    };
    // run --json prints exactly summary.json; -q leaves stderr empty.
    let o = l2sim(
        t,
        &[
            "-q",
            "run",
            &small,
            "--runs",
            "6",
            "--out",
            "a",
            "--no-plots",
            "--json",
        ],
    );
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.stderr.is_empty(), "{err}");
    assert_eq!(o.stdout, fs::read(t.join("a/summary.json")).unwrap());
    // -v lists every file written (on stderr), the table stays on stdout.
    let o = run("b", "-v");
    let err = String::from_utf8_lossy(&o.stderr);
    for f in [
        "quantiles.csv",
        "runs.csv",
        "summary.json",
        "scenario.resolved.toml",
    ] {
        let line = format!("wrote b/{f}");
        assert!(err.contains(&line), "{line}: {err}");
    }
    assert!(err.contains("estimate:"), "{err}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("l2_share"));
    // validate --json: a summary, or the problems with their location and exit code 2.
    let o = l2sim(t, &["validate", &small, "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["name"], "small");
    assert!(v["chains"].as_array().unwrap().len() >= 4);
    assert!(v["estimate"]["peak_memory_bytes"].as_f64().unwrap() > 0.0);
    let bad = repo("tests/bad_inputs/airdrop_before_announcement.toml");
    let o = l2sim(t, &["validate", &bad, "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let p = &v["problems"][0];
    assert_eq!(p["field"], "events[0].airdrop_day");
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64()),
        (Some(111), Some(15))
    );
    assert!(p["message"].as_str().unwrap().contains("[10, 120]"));
}

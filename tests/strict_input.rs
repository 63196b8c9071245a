//! Strict input (issue 14): tables never read from arrays, events held to the kind rules of
//! chains, names `init` writes that validate, every unknown field and type error of a file at
//! once with "did you mean", input files that must be regular and not too large, duplicate keys
//! named, bad sweep values located in their list. The real binary, in temporary folders.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common;
use common::{l2sim, l2sim_ok, repo};

fn small() -> String {
    fs::read_to_string(repo("tests/data/small.toml")).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `validate` of `text` written as `dir/name`: exit code 2 and stderr.
fn rejected(dir: &Path, name: &str, text: &str) -> String {
    fs::write(dir.join(name), text).unwrap();
    let o = l2sim(dir, &["validate", name]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{name} must be refused: {err}");
    err
}

/// The 1-based line of the first line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?}"))
        + 1
}

/// Asserts that `err` has a line `FILE:LINE:COLUMN: FIELD …` containing `message`.
fn has(err: &str, file: &str, line: usize, field: &str, message: &str) {
    let prefix = format!("{file}:{line}:");
    let found = err.lines().any(|l| {
        let l = l.strip_prefix("error: ").unwrap_or(l);
        l.starts_with(&prefix)
            && l.splitn(4, ':').nth(3).is_some_and(|rest| {
                // The whole field: `capital.sigm` does not match a line about `capital.sigma`.
                let after = rest.trim_start().strip_prefix(field);
                after.is_some_and(|a| a.is_empty() || a.starts_with([' ', ':']))
                    && rest.contains(message)
            })
    });
    assert!(found, "no {prefix}…: {field} … {message:?} in:\n{err}");
}

/// Runs the binary, failing (after killing it) if it does not end within `secs` seconds.
fn l2sim_within(dir: &Path, args: &[&str], secs: u64) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_l2sim"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(secs) {
            child.kill().unwrap();
            panic!("l2sim {args:?} still runs after {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

#[test]
fn a_table_written_as_an_array_is_refused_in_every_table_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    // Every table-typed field: top level, nested in a table, in arrays of tables, tagged.
    let mut text = small().replacen(
        "cohorts = true\n",
        "cohorts = true\nnests = [1, 0.5, 0.5, 1]\n\
         equilibrium = [\"solve\"]\nsweep = [1]\ncalibrate = [60]\n",
        1,
    );
    text = text.replacen(
        "[market]\n",
        "market = [1, 2]\n[awareness]\nzk = [1, 2]\n[x]\n",
        1,
    );
    text = text.replacen(
        "[x]\nhack_risk_shock_per_year = 1.0\ncontagion = 0.3\n",
        "",
        1,
    );
    text = text.replacen(
        "id = \"zk\"\n",
        "id = \"zk\"\nfast_exit_apr = [0.0, 0.65]\nhack_loss = [0.2]\nawareness = [1, 2]\n",
        1,
    );
    text = text.replacen(
        "capital = { dist = \"lognormal\", median_usd = 3000, sigma = 1.2 }",
        "capital = [3000, 1.2]",
        1,
    );
    text.push_str(
        "\n[[events]]\nday = 5\nkind = \"user_inflow\"\nsegment = \"retail\"\nagents = 5\n\
         capital = [100, 1]\n",
    );
    let err = rejected(tmp.path(), "arrays.toml", &text);
    let found = "invalid type: expected a table, found an array";
    for (field, line_start) in [
        ("nests", "nests ="),
        ("equilibrium", "equilibrium ="),
        ("sweep", "sweep ="),
        ("calibrate", "calibrate ="),
        ("market", "market ="),
        ("chains[2].fast_exit_apr", "fast_exit_apr = [0.0"),
        ("chains[2].hack_loss", "hack_loss = [0.2]"),
        ("chains[2].awareness", "awareness = [1, 2]"),
        ("segments[0].capital", "capital = [3000"),
        ("events[0].capital", "capital = [100"),
    ] {
        has(
            &err,
            "arrays.toml",
            line_of(&text, line_start),
            field,
            found,
        );
    }
    // The nested table inside `[awareness]`.
    has(
        &err,
        "arrays.toml",
        line_of(&text, "zk = [1, 2]"),
        "awareness.zk",
        found,
    );
    // `validate --json` lists the same problems.
    let o = l2sim(tmp.path(), &["validate", "--json", "arrays.toml"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let problems = doc["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 11, "{doc:#}");
    assert!(
        problems
            .iter()
            .all(|p| p["line"].is_u64() && p["message"].as_str().unwrap().contains(found))
    );
}

#[test]
fn every_unknown_field_and_type_error_is_reported_at_once_with_did_you_mean() {
    let tmp = tempfile::tempdir().unwrap();
    let text = small()
        .replacen("runs = 8\n", "runs = \"8\"\nhorizon = 5\n", 1)
        .replacen("contagion = 0.3\n", "contagoin = 0.3\n", 1)
        .replacen(
            "withdrawal_delay_days = 7\n",
            "withdrawl_delay_days = 7\n",
            1,
        )
        .replacen(
            "tx_cost_usd = 0.05\n",
            "tx_cost_usd = \"cheap\"\nzzz = 1\n",
            1,
        )
        .replacen("sigma = 1.2 }", "sigm = 1.2 }", 1)
        .replacen("agents = 150\n", "agents = 150.5\n", 1);
    let err = rejected(tmp.path(), "typos.toml", &text);
    let f = "typos.toml";
    has(
        &err,
        f,
        line_of(&text, "runs ="),
        "runs",
        "= \"8\": invalid type: expected an integer, found a string",
    );
    has(
        &err,
        f,
        line_of(&text, "horizon ="),
        "horizon",
        "is an unknown field; did you mean `horizon_days`?",
    );
    has(
        &err,
        f,
        line_of(&text, "contagoin"),
        "market.contagoin",
        "did you mean `contagion`?",
    );
    has(
        &err,
        f,
        line_of(&text, "withdrawl"),
        "chains[1].withdrawl_delay_days",
        "did you mean `withdrawal_delay_days`?",
    );
    has(
        &err,
        f,
        line_of(&text, "tx_cost_usd = \"cheap\""),
        "chains[2].tx_cost_usd",
        "expected a number, found a string",
    );
    // No close name: the known ones are listed.
    has(
        &err,
        f,
        line_of(&text, "zzz"),
        "chains[2].zzz",
        "is an unknown field; the fields here are id, name, kind",
    );
    // In a tagged table (the variant's fields) and in a second segment.
    has(
        &err,
        f,
        line_of(&text, "capital = { dist = \"lognormal\", median_usd = 3000"),
        "segments[0].capital.sigm",
        "did you mean `sigma`?",
    );
    has(
        &err,
        f,
        line_of(&text, "agents = 150.5"),
        "segments[1].agents",
        "expected an integer, found a float",
    );
    // The misspelt field of a tagged table leaves its real one missing: both are said.
    has(
        &err,
        f,
        line_of(&text, "capital = { dist = \"lognormal\", median_usd = 3000"),
        "segments[0].capital.sigma",
        "is missing: this field is required",
    );
    assert_eq!(err.lines().count(), 9, "one line per problem:\n{err}");
    let o = l2sim(tmp.path(), &["validate", "--json", f]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let fields: Vec<&str> = doc["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "runs",
            "horizon",
            "market.contagoin",
            "chains[1].withdrawl_delay_days",
            "chains[2].tx_cost_usd",
            "chains[2].zzz",
            "segments[0].capital.sigma",
            "segments[0].capital.sigm",
            "segments[1].agents"
        ]
    );
}

#[test]
fn problems_of_every_inherited_file_are_reported_at_once_in_their_own_file() {
    let tmp = tempfile::tempdir().unwrap();
    let parent = small().replacen("contagion = 0.3\n", "contagion = [0.3]\n", 1);
    fs::write(tmp.path().join("parent.toml"), &parent).unwrap();
    // The child names only what it changes: nothing is missing, but a tagged table it replaces
    // must be whole.
    let child = "extends = \"parent.toml\"\n\n[[chains]]\nid = \"zk\"\nwithdrawl_delay_days = 1\n\
                 hack_loss = { dist = \"beta\", alpha = 2 }\n\n[[events]]\nday = 5\n\
                 kind = \"hack\"\nchain = \"zk\"\nlos = 0.1\n";
    let err = rejected(tmp.path(), "child.toml", child);
    has(
        &err,
        "child.toml",
        5,
        "chains[0].withdrawl_delay_days",
        "did you mean `withdrawal_delay_days`?",
    );
    has(
        &err,
        "child.toml",
        6,
        "chains[0].hack_loss.beta",
        "is missing: this field is required",
    );
    has(
        &err,
        "child.toml",
        12,
        "events[0].los",
        "did you mean `loss`?",
    );
    let line = line_of(&parent, "contagion");
    has(
        &err,
        "parent.toml",
        line,
        "market.contagion",
        "expected a number, found an array",
    );
    // `remove_chains` belongs to a file that extends another.
    let err = rejected(
        tmp.path(),
        "lone.toml",
        &format!("remove_chains = [\"zk\"]\n{}", small()),
    );
    has(&err, "lone.toml", 1, "remove_chains", "is an unknown field");
}

#[test]
fn a_misspelt_kind_is_one_error_with_a_suggestion() {
    let tmp = tempfile::tempdir().unwrap();
    // A rollup's kind misspelt: not also "data_cost_factor must be 0" for a guessed kind.
    let text = small().replacen("kind = \"optimistic\"", "kind = \"optimstic\"", 1);
    let err = rejected(tmp.path(), "opt.toml", &text);
    assert_eq!(err.lines().count(), 1, "{err}");
    has(
        &err,
        "opt.toml",
        line_of(&text, "kind = \"optimstic\""),
        "chains[1].kind",
        "must be one of l1, optimistic, zk, alt_l1 (did you mean \"optimistic\"?)",
    );
    // The l1's kind misspelt: not also "0 chains of kind l1" nor "allows no chain" for the
    // segment that may hold only the l1.
    let text = small().replacen("kind = \"l1\"", "kind = \"l1x\"", 1);
    let err = rejected(tmp.path(), "l1.toml", &text);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("(did you mean \"l1\"?)"), "{err}");
    // An event's kind, and a far-off value that has no suggestion.
    let text = format!(
        "{}\n[[events]]\nday = 5\nkind = \"hak\"\nchain = \"zk\"\nloss = 0.1\n",
        small()
    );
    let err = rejected(tmp.path(), "event.toml", &text);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("events[0].kind = \"hak\": must be one of incentives")
            && err.contains("(did you mean \"hack\"?)"),
        "{err}"
    );
    let text = small().replacen("kind = \"zk\"", "kind = \"sidechain\"", 1);
    let err = rejected(tmp.path(), "far.toml", &text);
    assert!(
        err.contains("kind = \"sidechain\": must be one of"),
        "{err}"
    );
    assert!(!err.contains("did you mean"), "{err}");
}

#[test]
fn events_and_series_obey_the_kind_rules_of_chains() {
    let tmp = tempfile::tempdir().unwrap();
    let event = |kind: &str, chain: &str, rest: &str| {
        format!("\n[[events]]\nday = 5\nkind = \"{kind}\"\nchain = \"{chain}\"\n{rest}\n")
    };
    let text = format!(
        "{}{}{}{}{}{}",
        small(),
        event("delay_change", "l1", "withdrawal_delay_days = 3"),
        event(
            "parameter",
            "l1",
            "field = \"data_cost_factor\"\nvalue = 0.5"
        ),
        event(
            "parameter",
            "opt",
            "field = \"gas_volatility\"\nvalue = 0.2"
        ),
        event(
            "parameter",
            "l1",
            "field = \"withdrawal_delay_days\"\nvalue = 1"
        ),
        event(
            "parameter",
            "alt",
            "field = \"data_cost_factor\"\nvalue = 2"
        ),
    );
    let err = rejected(tmp.path(), "events.toml", &text);
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("withdrawal_delay_days") || l.starts_with("value"))
        .map(|(i, _)| i + 1)
        .filter(|&l| l > line_of(&text, "[[events]]"))
        .collect();
    has(
        &err,
        "events.toml",
        lines[0],
        "events[0].withdrawal_delay_days",
        "= 3: sets withdrawal_delay_days of chain \"l1\", which must be 0 for the l1 chain",
    );
    has(
        &err,
        "events.toml",
        lines[1],
        "events[1].value",
        "= 0.5: sets data_cost_factor of chain \"l1\", which must be 0 for a chain of kind \"l1\"",
    );
    has(
        &err,
        "events.toml",
        lines[2],
        "events[2].value",
        "= 0.2: sets gas_volatility of chain \"opt\", which must be 0 for a rollup",
    );
    has(
        &err,
        "events.toml",
        lines[3],
        "events[3].value",
        "= 1: sets withdrawal_delay_days of chain \"l1\"",
    );
    // Out of range and forbidden by the kind: the range, once.
    has(
        &err,
        "events.toml",
        lines[4],
        "events[4].value",
        "= 2: must be a finite number in [0, 1]",
    );
    assert_eq!(err.lines().count(), 5, "{err}");
    // What the kinds allow passes: a rollup's delay, the l1's fee volatility, a zero.
    let text = format!(
        "{}{}{}{}",
        small(),
        event("delay_change", "opt", "withdrawal_delay_days = 1"),
        event("parameter", "l1", "field = \"gas_volatility\"\nvalue = 0.3"),
        event("parameter", "l1", "field = \"data_cost_factor\"\nvalue = 0"),
    );
    fs::write(tmp.path().join("fine.toml"), text).unwrap();
    l2sim_ok(tmp.path(), &["validate", "fine.toml"]);
    // A series may not drive what the chain's kind holds at 0.
    let text = format!(
        "{}\n[[series]]\nfile = \"delay.csv\"\ntarget = \"chains.l1.withdrawal_delay_days\"\n",
        small()
    );
    let err = rejected(tmp.path(), "series.toml", &text);
    has(
        &err,
        "series.toml",
        line_of(&text, "target ="),
        "series[0].target",
        "withdrawal_delay_days of chain \"l1\" must be 0 for the l1 chain, so no series may drive it",
    );
}

#[test]
fn init_writes_a_name_that_validates_whatever_the_file_name() {
    let tmp = tempfile::tempdir().unwrap();
    let long = format!("{}.toml", "Long Name ".repeat(12));
    for (file, name) in [
        ("my study.toml", "my_study"),
        ("9.toml", "9"),
        (
            long.as_str(),
            "long_name_long_name_long_name_long_name_long_name_long_name_long",
        ),
        ("Étude née.toml", "tude_n_e"),
        ("ÄÖÜ.toml", "my_scenario"),
        ("x.y.toml", "x_y"),
        ("--weird--.toml", "--weird--"),
    ] {
        l2sim_ok(tmp.path(), &["init", "--", file]);
        let o = l2sim_ok(tmp.path(), &["validate", "--", file]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            out.contains(&format!("valid scenario {name:?}")),
            "{file}: {out}"
        );
        fs::remove_file(tmp.path().join(file)).unwrap();
    }
    // A file that extends another without a `name` is named the same way.
    fs::write(
        tmp.path().join("My Child Study.toml"),
        format!("extends = {:?}\n", repo("tests/data/small.toml")),
    )
    .unwrap();
    let o = l2sim_ok(tmp.path(), &["validate", "My Child Study.toml"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("valid scenario \"my_child_study\""));
}

#[test]
fn input_files_must_be_regular_and_not_too_large() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    mkfifo(&dir.join("fifo.toml"));
    mkfifo(&dir.join("fifo.csv"));
    // The scenario itself: a FIFO never blocks `validate` (nor `--json`).
    for args in [
        &["validate", "fifo.toml"][..],
        &["validate", "--json", "fifo.toml"],
    ] {
        let o = l2sim_within(dir, args, 20);
        assert_eq!(o.status.code(), Some(2));
        let all = format!("{}{}", stderr(&o), String::from_utf8_lossy(&o.stdout));
        assert!(all.contains("not a regular file (a FIFO)"), "{all}");
    }
    // A parent: a device, a FIFO, a folder, each located at `extends`.
    for (parent, what) in [
        ("/dev/zero", "a character device"),
        ("fifo.toml", "a FIFO"),
        (".", "a folder"),
    ] {
        fs::write(dir.join("child.toml"), format!("extends = {parent:?}\n")).unwrap();
        let o = l2sim_within(dir, &["validate", "child.toml"], 20);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.starts_with("error: child.toml:1:11: extends = ")
                && err.contains(&format!("not a regular file ({what})")),
            "{err}"
        );
    }
    // Larger than 16 MiB (a sparse file: nothing is read).
    let big = fs::File::create(dir.join("big.toml")).unwrap();
    big.set_len((16 << 20) + 1).unwrap();
    let o = l2sim_within(dir, &["validate", "big.toml"], 20);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("larger than the 16 MiB (16777216 bytes)"),
        "{}",
        stderr(&o)
    );
    // A series file: a FIFO and one larger than 64 MiB, located at its `[[series]]` entry.
    let big = fs::File::create(dir.join("big.csv")).unwrap();
    big.set_len((64 << 20) + 1).unwrap();
    for (csv, what) in [
        ("fifo.csv", "not a regular file (a FIFO)"),
        ("big.csv", "larger than the 64 MiB"),
    ] {
        let text = format!(
            "{}\n[[series]]\nfile = \"{csv}\"\ntarget = \"chains.l1.tx_cost_usd\"\n",
            small()
        );
        fs::write(dir.join("series.toml"), &text).unwrap();
        let o = l2sim_within(dir, &["validate", "series.toml"], 20);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        has(
            &err,
            "series.toml",
            line_of(&text, "file ="),
            "series[0].file",
            what,
        );
    }
    // Calibration targets named by the scenario.
    let text = format!(
        "{}\n[calibrate]\nfit_until = 60\ntargets = \"fifo.csv\"\n[[calibrate.parameter]]\n\
         field = \"segments.retail.logit_scale\"\nmin = 1\nmax = 100\n",
        small()
    );
    fs::write(dir.join("cal.toml"), text).unwrap();
    let o = l2sim_within(
        dir,
        &[
            "run",
            "cal.toml",
            "--runs",
            "1",
            "--out",
            "out",
            "--no-plots",
            "-q",
        ],
        60,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot read targets: not a regular file (a FIFO)"),
        "{err}"
    );
    assert!(!dir.join("out").exists());
}

#[test]
fn duplicate_keys_are_named_and_located() {
    let tmp = tempfile::tempdir().unwrap();
    let chain = small().replacen("id = \"zk\"\n", "id = \"zk\"\nkind = \"optimistic\"\n", 1);
    // The inserted line follows `id = "zk"`: the first `kind` of that chain.
    let first = chain[..chain.find("id = \"zk\"").unwrap()]
        .matches('\n')
        .count()
        + 2;
    for (text, second, message) in [
        (
            small().replacen("runs = 8\n", "runs = 8\nruns = 9\n", 1),
            "runs = 9",
            "runs: duplicate key `runs`, first set on line 5".to_string(),
        ),
        (
            chain.clone(),
            "kind = \"zk\"",
            format!("chains[2].kind: duplicate key `kind`, first set on line {first}"),
        ),
        (
            small().replacen("sigma = 1.2 }", "sigma = 1.2, sigma = 2 }", 1),
            "capital = { dist = \"lognormal\", median_usd = 3000",
            "segments[0].capital.sigma: duplicate key `sigma`".to_string(),
        ),
        (
            format!("{}\n[market]\ncontagion = 0.1\n", small()),
            "[market]\ncontagion = 0.1",
            "market: duplicate key `market`, first set on line 10".to_string(),
        ),
    ] {
        let err = rejected(tmp.path(), "dup.toml", &text);
        let line = text[..text.rfind(second).unwrap()].matches('\n').count() + 1;
        assert!(
            err.starts_with(&format!("error: dup.toml:{line}:")),
            "{err}"
        );
        assert!(err.contains(&message), "{message:?} in {err}");
    }
}

#[test]
fn bad_sweep_values_are_located_in_their_lists() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!(
        "extends = {:?}\nname = \"sw\"\n\n[[sweep.grid]]\nfield = \"chains.zk.withdrawal_delay_days\"\n\
         values = [1, -1, \"x\", 2, -5]\n\n[[sweep.grid]]\nfield = \"market.contagion\"\n\
         values = [0.1, 7]\n\n[[sweep.zip]]\nfield = \"segments.retail.panic_prob\"\nvalues = [0.5, 2]\n",
        repo("tests/data/small.toml")
    );
    fs::write(tmp.path().join("sw.toml"), &text).unwrap();
    let o = l2sim(
        tmp.path(),
        &["sweep", "sw.toml", "--out", "out", "--no-plots", "-q"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let first = "values = [1, -1, \"x\", 2, -5]";
    let l1 = line_of(&text, first);
    let col = |line: &str, item: &str| line.find(item).unwrap() + 1;
    for (item, field) in [
        ("-1", "sweep.grid[0].values[1] = -1"),
        ("\"x\"", "sweep.grid[0].values[2] = \"x\""),
        ("-5", "sweep.grid[0].values[4] = -5"),
    ] {
        assert!(
            err.contains(&format!(
                "sw.toml:{l1}:{}: {field}: point",
                col(first, item)
            )),
            "{field} in {err}"
        );
    }
    let l2 = line_of(&text, "values = [0.1, 7]");
    assert!(
        err.contains(&format!(
            "sw.toml:{l2}:{}: sweep.grid[1].values[1] = 7: point",
            col("values = [0.1, 7]", "7")
        )),
        "{err}"
    );
    let l3 = line_of(&text, "values = [0.5, 2]");
    assert!(
        err.contains(&format!(
            "sw.toml:{l3}:{}: sweep.zip[0].values[1] = 2: point",
            col("values = [0.5, 2]", "2")
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 5, "each bad value once:\n{err}");
    assert!(!tmp.path().join("out").exists());
}

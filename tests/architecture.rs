//! The architecture invariants of docs/ARCHITECTURE.md, checked by reading the source tree (as
//! rust-analyzer's `tidy` tests do): which module may use rayon, clap, the file system, the
//! terminal and the machine, the one-way order of the top-level modules, and no import circle
//! between the files of a module.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Top-level modules in data-flow order: each may use only those before it.
const LAYERS: [&str; 7] = [
    "scenario", "model", "engine", "batch", "report", "app", "cli",
];

/// A source file: its path under `src/`, its module path (`app::merge`) and its code with
/// comments removed.
struct Source {
    rel: String,
    module: Vec<String>,
    code: String,
}

fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn sources() -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files.sort();
    files
        .iter()
        .map(|f| {
            let rel = f
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let mut module: Vec<String> = rel
                .trim_end_matches(".rs")
                .split('/')
                .map(String::from)
                .collect();
            if module
                .last()
                .is_some_and(|m| m == "mod" || m == "lib" || m == "main")
            {
                module.pop();
            }
            Source {
                rel,
                module,
                code: strip_comments(&fs::read_to_string(f).unwrap()),
            }
        })
        .collect()
}

fn top(s: &Source) -> &str {
    s.module.first().map_or("", String::as_str)
}

/// Whether `code` holds `word` as a whole identifier (or path segment).
fn has_word(code: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(word).any(|(i, _)| {
        let before = code[..i].chars().next_back();
        let after = code[i + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// Files outside `allowed` top-level modules (or files) that contain any of `needles`.
fn offenders(allowed: &[&str], needles: &[&str], word: bool) -> Vec<String> {
    sources()
        .iter()
        .filter(|s| !allowed.contains(&top(s)) && !allowed.contains(&s.rel.as_str()))
        .filter_map(|s| {
            let hit = needles.iter().find(|n| {
                if word {
                    has_word(&s.code, n)
                } else {
                    s.code.contains(**n)
                }
            })?;
            Some(format!("{} uses {hit}", s.rel))
        })
        .collect()
}

#[test]
fn only_batch_uses_rayon() {
    assert_eq!(
        offenders(&["batch"], &["rayon"], true),
        Vec::<String>::new()
    );
}

#[test]
fn only_cli_knows_clap_exit_codes_the_terminal_and_signals() {
    let cli_only = [
        "clap",
        "clap_complete",
        "clap_mangen",
        "ExitCode",
        "indicatif",
        "signal_hook",
        "println",
        "eprintln",
        "print",
        "eprint",
        "dbg",
    ];
    assert_eq!(
        offenders(&["cli", "main.rs"], &cli_only, true),
        Vec::<String>::new()
    );
    assert_eq!(
        offenders(
            &["cli", "main.rs"],
            &["process::exit", "std::io::stdout", "std::io::stderr"],
            false
        ),
        Vec::<String>::new()
    );
}

#[test]
fn only_report_writes_files() {
    let writes = [
        "fs::write",
        "File::create",
        "create_dir",
        "OpenOptions",
        "fs::rename",
        "fs::copy",
        "remove_file",
        "remove_dir",
        "tempfile::",
        "set_permissions",
    ];
    assert_eq!(offenders(&["report"], &writes, false), Vec::<String>::new());
}

#[test]
fn the_machine_is_asked_only_at_the_edge() {
    let machine = ["/proc/", "/sys/fs/cgroup", "getrlimit", "sysconf"];
    assert_eq!(
        offenders(&["app/system.rs"], &machine, false),
        Vec::<String>::new()
    );
}

/// Top-level modules that `s` refers to through `crate::`.
fn crate_uses(s: &Source) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for (i, _) in s.code.match_indices("crate::") {
        let rest = &s.code[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        used.insert(name);
    }
    used
}

#[test]
fn data_flows_one_way_between_top_level_modules() {
    let mut wrong = Vec::new();
    for s in sources() {
        let Some(me) = LAYERS.iter().position(|l| *l == top(&s)) else {
            continue;
        };
        for used in crate_uses(&s) {
            if let Some(there) = LAYERS.iter().position(|l| *l == used)
                && there > me
            {
                wrong.push(format!("{} ({}) uses crate::{used}", s.rel, LAYERS[me]));
            }
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
}

/// The paths a file imports or names, as `a::b::c` strings: every `use` tree flattened, and
/// every `super::x` / `crate::x::y` path in the code.
fn paths_in(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    // `use` trees, possibly nested and spread over lines.
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let after = &rest[i + 4..];
        let is_stmt = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || c == ';' || c == '{' || c == '}');
        let end = after.find(';').unwrap_or(after.len());
        if is_stmt {
            flatten_tree("", &after[..end].replace(char::is_whitespace, ""), &mut out);
        }
        rest = &after[end.min(after.len())..];
    }
    for prefix in ["super::", "crate::"] {
        for (i, _) in code.match_indices(prefix) {
            let path: String = code[i..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(path.trim_end_matches(':').to_string());
        }
    }
    out
}

fn flatten_tree(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let join = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            format!("{a}::{b}")
        }
    };
    match tree.find('{') {
        None => out.push(join(prefix, tree.split(" as ").next().unwrap_or(tree))),
        Some(open) => {
            let head = tree[..open].trim_end_matches(':');
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        flatten_tree(&join(prefix, head), &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            if start < inner.len() {
                flatten_tree(&join(prefix, head), &inner[start..], out);
            }
        }
    }
}

#[test]
fn use_trees_flatten() {
    let mut out = Vec::new();
    flatten_tree("", "super::{a::{B,C},d,e::F}", &mut out);
    assert_eq!(
        out,
        ["super::a::B", "super::a::C", "super::d", "super::e::F"]
    );
}

#[test]
fn no_import_circle_between_the_files_of_a_module() {
    let all = sources();
    // Which file each `pub use child::Item` of a mod.rs really points to.
    let mut by_parent: BTreeMap<Vec<String>, Vec<&Source>> = BTreeMap::new();
    for s in &all {
        if !s.module.is_empty() {
            by_parent
                .entry(s.module[..s.module.len() - 1].to_vec())
                .or_default()
                .push(s);
        }
    }
    let mut circles = Vec::new();
    for (parent, children) in &by_parent {
        let names: BTreeSet<&str> = children
            .iter()
            .filter(|c| c.module.len() == parent.len() + 1)
            .map(|c| c.module[parent.len()].as_str())
            .collect();
        let parent_code = all
            .iter()
            .find(|s| s.module == *parent && s.rel.ends_with("mod.rs"))
            .map_or("", |s| s.code.as_str());
        let mut reexport: BTreeMap<String, String> = BTreeMap::new();
        for p in paths_in(parent_code) {
            let parts: Vec<&str> = p.split("::").collect();
            if parts.len() >= 2 && names.contains(parts[0]) {
                reexport.insert(parts[parts.len() - 1].to_string(), parts[0].to_string());
            }
        }
        let crate_prefix = format!("crate::{}::", parent.join("::"));
        let mut edges: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for child in children
            .iter()
            .filter(|c| c.module.len() == parent.len() + 1)
        {
            let me = child.module[parent.len()].as_str();
            for p in paths_in(&child.code) {
                let tail = if let Some(t) = p.strip_prefix("super::") {
                    t.to_string()
                } else if let Some(t) = p.strip_prefix(&crate_prefix) {
                    t.to_string()
                } else {
                    continue;
                };
                let first = tail.split("::").next().unwrap_or("");
                let target = if names.contains(first) {
                    Some(first.to_string())
                } else {
                    reexport.get(first).cloned()
                };
                if let Some(t) = target.filter(|t| t != me) {
                    edges.entry(me).or_default().insert(t);
                }
            }
        }
        // Depth-first search for a cycle.
        fn visit<'a>(
            n: &'a str,
            edges: &'a BTreeMap<&str, BTreeSet<String>>,
            stack: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
            found: &mut Vec<String>,
        ) {
            if let Some(i) = stack.iter().position(|s| *s == n) {
                found.push(stack[i..].join(" → ") + " → " + n);
                return;
            }
            if !done.insert(n) {
                return;
            }
            stack.push(n);
            for m in edges.get(n).into_iter().flatten() {
                visit(m, edges, stack, done, found);
            }
            stack.pop();
        }
        let mut done = BTreeSet::new();
        for n in edges.keys() {
            let mut found = Vec::new();
            visit(n, &edges, &mut Vec::new(), &mut done, &mut found);
            for f in found {
                circles.push(format!("{}: {f}", parent.join("::")));
            }
        }
    }
    assert_eq!(circles, Vec::<String>::new());
}

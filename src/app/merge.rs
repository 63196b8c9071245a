//! `merge` and the shard-set check: reads a set of shard folders, checks that they are one
//! complete, intact batch, folds their blocks in block order into the statistics a single
//! machine computes, and hands them to the same finishing pipeline as a direct run
//! (docs/SCALING.md).

use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use super::error::{Error, Result};
use super::execute::{Written, compare_results, sweep_stats_of};
use super::outcome::{Outcome, RunResults, SweepResults, compare_dirs, finish, point_dir};
use super::{Control, stage};
use crate::batch::{BatchResult, Blocked, Comparison, Partial, Units};
use crate::engine::Keep;
use crate::engine::Layout;
use crate::report::shard::{self, BlocksReader, JobKind, Manifest};
use crate::scenario::{Scenario, expand_sweep, input};

/// Options of [`merge`].
#[derive(Debug, Clone, PartialEq)]
pub struct MergeOptions {
    /// Output folder; the command's default (`outputs/<name>/`) when `None`.
    pub out: Option<PathBuf>,
    pub plots: bool,
    /// Also write Parquet copies (implied when the shards were run with them).
    pub parquet: bool,
}

impl Default for MergeOptions {
    fn default() -> MergeOptions {
        MergeOptions {
            out: None,
            plots: true,
            parquet: false,
        }
    }
}

/// Shard folders checked to form one complete set, in shard order.
#[derive(Debug, Clone)]
pub struct ShardSet {
    pub dirs: Vec<PathBuf>,
    pub manifests: Vec<Manifest>,
}

impl ShardSet {
    /// The manifest every shard shares (but for its index, units and perf).
    pub fn first(&self) -> &Manifest {
        &self.manifests[0]
    }

    /// Sum of the shards' wall times, seconds.
    pub fn wall_seconds(&self) -> f64 {
        self.manifests.iter().map(|m| m.perf.wall_seconds).sum()
    }
}

/// The shard folders named: a folder without `shard.json` whose sub-folders have one (e.g.
/// `results/baseline.shards/` of `submit.sh`) stands for those sub-folders.
fn expand(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dirs {
        if !d.join(shard::MANIFEST).is_file() {
            let mut subs: Vec<PathBuf> = std::fs::read_dir(d)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.join(shard::MANIFEST).is_file())
                .collect();
            if !subs.is_empty() {
                subs.sort();
                out.extend(subs);
                continue;
            }
        }
        out.push(d.clone());
    }
    out
}

fn bad(path: &Path, message: String) -> Error {
    Error::input(Some(path), message)
}

fn read_text(path: &Path) -> Result<String> {
    input::read_text(path, input::MAX_TOML_BYTES)
        .map_err(|e| bad(path, format!("reading {}: {e}", path.display())))
}

/// Reads every shard's manifest and checks that they are shards of one batch, each once, none
/// missing, their scenario files unchanged.
fn check_set(dirs: &[PathBuf]) -> Result<ShardSet> {
    let mut found: Vec<(PathBuf, Manifest)> = Vec::new();
    for d in &expand(dirs) {
        let m = Manifest::read(d)
            .map_err(|e| bad(d, format!("{e:#}")))?
            .ok_or_else(|| {
                bad(
                    d,
                    format!(
                        "{}: not a shard folder (no {}); shards are written by `l2sim run|compare|sweep --shard K/N`",
                        d.display(),
                        shard::MANIFEST
                    ),
                )
            })?;
        let manifest = d.join(shard::MANIFEST);
        m.check()
            .map_err(|e| bad(&manifest, format!("{}: {e}", manifest.display())))?;
        shard::verify_files(d, &m.files).map_err(|e| bad(d, format!("{e:#}")))?;
        let files: Vec<PathBuf> = if m.dirs.is_empty() {
            vec![d.join("scenario.resolved.toml")]
        } else {
            m.dirs
                .iter()
                .map(|s| d.join(s).join("scenario.resolved.toml"))
                .collect()
        };
        let mut texts = Vec::new();
        for f in &files {
            texts.push(read_text(f)?);
        }
        if shard::sha256_of(&texts.iter().map(|t| t.as_str()).collect::<Vec<_>>())
            != m.scenario_sha256
        {
            return Err(bad(
                d,
                format!(
                    "{}: the scenario files were changed after the shard was run (their sha256 differs from shard.json)",
                    d.display()
                ),
            ));
        }
        found.push((d.clone(), m));
    }
    let Some((first_dir, first)) = found.first() else {
        return Err(Error::input(None, "no shard folders given"));
    };
    for (dir, m) in &found[1..] {
        for ((what, a), (_, b)) in first.identity().into_iter().zip(m.identity()) {
            if a != b {
                return Err(bad(
                    dir,
                    format!(
                        "the shards are not of one batch: {what} is {a} in {} but {b} in {}",
                        first_dir.display(),
                        dir.display()
                    ),
                ));
            }
        }
    }
    let n = first.shards;
    let mut by_index: Vec<Option<usize>> = vec![None; n as usize];
    for (i, (dir, m)) in found.iter().enumerate() {
        let slot = &mut by_index[(m.shard - 1) as usize];
        if let Some(j) = *slot {
            return Err(bad(
                dir,
                format!(
                    "shard {}/{n} is given twice: {} and {}",
                    m.shard,
                    found[j].0.display(),
                    dir.display()
                ),
            ));
        }
        *slot = Some(i);
    }
    let missing: Vec<String> = by_index
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(k, _)| (k + 1).to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Error::input(
            None,
            format!(
                "incomplete shard set: missing shard{} {} of {n} (run them with --shard K/{n}, then merge all {n})",
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", ")
            ),
        ));
    }
    let mut set = ShardSet {
        dirs: Vec::new(),
        manifests: Vec::new(),
    };
    for i in by_index.into_iter().flatten() {
        set.dirs.push(found[i].0.clone());
        set.manifests.push(found[i].1.clone());
    }
    Ok(set)
}

/// Reads the shards' partial statistics and folds their blocks in block order.
fn fold(set: &ShardSet) -> Result<Partial> {
    let read = |dir: &Path| -> Result<Partial> {
        let path = dir.join(shard::PARTIAL);
        let p: Partial = shard::read_partial(dir).map_err(|e| bad(&path, format!("{e:#}")))?;
        if !p.sketches_consistent() {
            return Err(bad(
                &path,
                format!(
                    "{}: a quantile sketch whose keys, level and buckets disagree (a damaged or forged partial.bin)",
                    path.display()
                ),
            ));
        }
        Ok(p)
    };
    let mut partial = read(&set.dirs[0])?;
    let shape = partial.shape();
    for dir in &set.dirs[1..] {
        let other = read(dir)?;
        if other.shape() != shape {
            return Err(bad(
                &dir.join(shard::PARTIAL),
                format!(
                    "{}: its statistics do not have the shape of {}'s (a damaged or foreign partial.bin)",
                    dir.join(shard::PARTIAL).display(),
                    set.dirs[0].join(shard::PARTIAL).display()
                ),
            ));
        }
        partial.merge_shard(&other);
    }
    partial.clear_moments();
    let mut buf = Vec::new();
    for (dir, m) in set.dirs.iter().zip(&set.manifests) {
        let path = dir.join(shard::BLOCKS);
        let damaged = |e: anyhow::Error| bad(&path, format!("{e:#}"));
        let mut reader = BlocksReader::open(&path).map_err(damaged)?;
        let [first, end] = m.units;
        let mut expected = first;
        while let Some((group, block)) = reader.next_block(&mut buf).map_err(damaged)? {
            let unit = group
                .checked_mul(m.blocks_per_group)
                .and_then(|u| u.checked_add(block));
            if block >= m.blocks_per_group || unit != Some(expected) || expected >= end {
                return Err(bad(
                    &path,
                    format!(
                        "{}: block {block} of group {group} where unit {expected} was expected (the shard covers units {first}..{end})",
                        path.display()
                    ),
                ));
            }
            let used = partial.fold_group(group, &buf);
            if used != Some(buf.len()) {
                return Err(bad(
                    &path,
                    format!(
                        "{}: block {block} of group {group} has {} moments, expected {}",
                        path.display(),
                        buf.len(),
                        used.map_or("none".into(), |u| u.to_string())
                    ),
                ));
            }
            expected += 1;
        }
        if expected != end {
            return Err(bad(
                &path,
                format!(
                    "{}: ends at unit {expected} of {first}..{end}: the shard is incomplete; run it again",
                    path.display()
                ),
            ));
        }
    }
    Ok(partial)
}

/// Checks that `dirs` (shard folders, or folders holding them) form one complete, intact batch,
/// reading every file; writes nothing.
pub fn check_shards(dirs: &[PathBuf]) -> Result<ShardSet> {
    let set = check_set(dirs)?;
    let partial = fold(&set)?;
    outcome(&set, partial)?;
    Ok(set)
}

/// Loads a resolved scenario stored in a shard (already checked against its manifest's hash).
fn load_resolved(path: &Path) -> Result<Scenario> {
    Ok(Scenario::from_toml_str(&read_text(path)?, path)?)
}

/// Gives merged results their layout and column names, which shards do not store.
fn attach_layouts(results: &mut [BatchResult], scenarios: &[&Scenario]) {
    for (r, sc) in results.iter_mut().zip(scenarios) {
        r.layout = Layout::new(sc);
        r.run_columns = r.layout.run_columns();
    }
}

/// Checks what the manifest says against the scenarios it holds (names, runs, seed, sub-folders,
/// sweep points) and the folded statistics against what those scenarios need (their shape and
/// number of runs), so that nothing later indexes past them.
fn check_against(
    set: &ShardSet,
    scenarios: &[&Scenario],
    names: &[&str],
    expected: Partial,
    partial: &Partial,
) -> Result<()> {
    let (dir, m) = (&set.dirs[0], set.first());
    let manifest = dir.join(shard::MANIFEST);
    let wrong = |what: String| Err(bad(&manifest, format!("{}: {what}", manifest.display())));
    if m.scenarios
        .iter()
        .map(String::as_str)
        .ne(names.iter().copied())
    {
        return wrong(format!(
            "field `scenarios` is {:?}, but the shard's scenario files are named {names:?}",
            m.scenarios
        ));
    }
    for sc in scenarios {
        if (sc.runs, sc.seed) != (m.runs, m.seed) {
            return wrong(format!(
                "fields `runs` and `seed` are {} and {}, but scenario {} has {} runs, seed {}",
                m.runs, m.seed, sc.name, sc.runs, sc.seed
            ));
        }
    }
    if m.groups != expected.results.len() as u64 && m.command == JobKind::Sweep {
        return wrong(format!(
            "field `groups` is {}, but the sweep has {} points",
            m.groups,
            expected.results.len()
        ));
    }
    let partials = set.dirs.iter().map(|d| d.join(shard::PARTIAL));
    let files = partials
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if partial.shape() != expected.shape() {
        return Err(bad(
            &dir.join(shard::PARTIAL),
            format!(
                "{files}: the statistics do not have the shape the scenario needs (a damaged or foreign partial.bin)"
            ),
        ));
    }
    if let Some(r) = partial.results.iter().find(|r| r.runs != m.runs) {
        return Err(bad(
            &dir.join(shard::PARTIAL),
            format!(
                "{files}: the shards' statistics count {} runs, but the batch has {}",
                r.runs, m.runs
            ),
        ));
    }
    Ok(())
}

/// The empty statistics of `scenarios` as a shard keeps them (`keep`), with the job's own.
fn empty_partial(scenarios: &[&Scenario], keep: Keep, seed: u64) -> Vec<BatchResult> {
    scenarios
        .iter()
        .map(|sc| BatchResult::empty(sc, keep, seed))
        .collect()
}

/// The results of the whole batch, rebuilt from the folded statistics and the shards' files.
fn outcome(set: &ShardSet, mut partial: Partial) -> Result<Outcome> {
    let (first, m) = (&set.dirs[0], set.first());
    Ok(match m.command {
        JobKind::Run => {
            let scenario = load_resolved(&first.join("scenario.resolved.toml"))?;
            let expected = Partial {
                results: empty_partial(&[&scenario], Keep::Trajectory, m.seed),
                paired: Vec::new(),
                sweep: Vec::new(),
                sweep_diffs: Vec::new(),
            };
            check_against(set, &[&scenario], &[&scenario.name], expected, &partial)?;
            attach_layouts(&mut partial.results, &[&scenario]);
            Outcome::Run(RunResults {
                scenario,
                result: partial.results.remove(0),
                finals: None,
                fit: None,
            })
        }
        JobKind::Compare => {
            let mut scenarios = Vec::new();
            for d in &m.dirs {
                scenarios.push(load_resolved(
                    &first.join(d).join("scenario.resolved.toml"),
                )?);
            }
            if compare_dirs(&scenarios) != m.dirs {
                let manifest = first.join(shard::MANIFEST);
                return Err(bad(
                    &manifest,
                    format!(
                        "{}: field `dirs` is {:?}, but the scenarios' sub-folders are {:?}",
                        manifest.display(),
                        m.dirs,
                        compare_dirs(&scenarios)
                    ),
                ));
            }
            let refs: Vec<&Scenario> = scenarios.iter().collect();
            let layouts: Vec<Layout> = refs.iter().map(|s| Layout::new(s)).collect();
            let mut comparison = Comparison::new(&layouts.iter().collect::<Vec<_>>());
            let expected = Partial {
                results: empty_partial(&refs, Keep::Trajectory, m.seed),
                paired: comparison.against.iter().map(|a| a.all_stats()).collect(),
                sweep: Vec::new(),
                sweep_diffs: Vec::new(),
            };
            let names: Vec<&str> = refs.iter().map(|s| s.name.as_str()).collect();
            check_against(set, &refs, &names, expected, &partial)?;
            attach_layouts(&mut partial.results, &refs);
            for (against, stats) in comparison.against.iter_mut().zip(partial.paired) {
                against.set_all_stats(stats);
            }
            Outcome::Compare(compare_results(
                scenarios,
                partial.results,
                None,
                comparison,
            ))
        }
        JobKind::Sweep => {
            let path = first.join("scenario.resolved.toml");
            let text = read_text(&path)?;
            let sw = expand_sweep(&path)?;
            let points: Vec<&Scenario> = sw.points.iter().map(|p| &p.scenario).collect();
            let stats = sweep_stats_of(&sw.base, &points);
            let expected = Partial {
                results: empty_partial(&points, Keep::Final, m.seed),
                paired: Vec::new(),
                sweep: stats.stats.clone(),
                sweep_diffs: stats.diffs.clone(),
            };
            check_against(set, &[&sw.base], &[&sw.base.name], expected, &partial)?;
            attach_layouts(&mut partial.results, &points);
            let mut stats = stats;
            stats.stats = partial.sweep;
            stats.diffs = partial.sweep_diffs;
            let mut results = SweepResults::new(sw, text, stats, partial.results, None);
            if let Some(spec) = &m.explore {
                super::explore::explore(&mut results, spec)?;
            }
            Outcome::Sweep(results)
        }
    })
}

/// `path` made absolute with its links resolved as far as it exists; `..` goes up from where
/// the folder before it really is, as the system does when the path is used.
fn resolved(path: &Path) -> PathBuf {
    let real = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let mut out = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if let Some(existing) = out.ancestors().find(|a| a.exists()).map(Path::to_path_buf) {
        let rest = out.strip_prefix(&existing).map(Path::to_path_buf);
        out = real(&existing);
        for c in rest.iter().flat_map(|r| r.components()) {
            match c {
                Component::ParentDir => {
                    out = real(&out);
                    out.pop();
                }
                Component::Normal(n) => out.push(n),
                _ => {}
            }
        }
    }
    out
}

/// Refuses an output folder that is an input, lies inside one, or holds one: writing it would
/// replace or change a shard of the set (compared with links and `..` resolved).
fn check_out<'a>(out: &Path, inputs: impl Iterator<Item = &'a PathBuf>) -> Result<()> {
    let o = resolved(out);
    for input in inputs {
        let i = resolved(input);
        let how = if o == i {
            "is"
        } else if o.starts_with(&i) {
            "is inside"
        } else if i.starts_with(&o) {
            "holds"
        } else {
            continue;
        };
        return Err(Error::input(
            Some(out),
            format!(
                "--out {} {how} the input folder {}: merging there would replace or change a shard of the set; choose an --out outside every shard folder",
                out.display(),
                input.display()
            ),
        ));
    }
    Ok(())
}

/// The shards (in shard order) whose units of work met sweep point `point`.
fn point_shards(set: &ShardSet, point: u64) -> Vec<PathBuf> {
    set.dirs
        .iter()
        .zip(&set.manifests)
        .filter(|(_, m)| {
            let units = Units {
                groups: m.groups,
                blocks: m.blocks_per_group,
            };
            let [start, end] = m.units;
            units.split(start..end).iter().any(|(g, _)| *g == point)
        })
        .map(|(d, _)| d.clone())
        .collect()
}

/// Checks a shard set, then writes exactly what the unsharded command writes (all but the
/// machine-dependent `perf` figures).
pub fn merge(dirs: &[PathBuf], opts: &MergeOptions, ctl: &Control) -> Result<Written> {
    // A given --out is checked before any shard file is hashed or read.
    if let Some(out) = &opts.out {
        check_out(out, dirs.iter().chain(&expand(dirs)))?;
    }
    let set = check_set(dirs)?;
    let m = set.first().clone();
    let started = Instant::now();
    let partial = fold(&set)?;
    ctl.info(format!(
        "merging {} shards of `{}` {} ({} runs, seed {})",
        m.shards,
        m.command,
        m.scenarios.join(", "),
        m.runs,
        m.seed
    ));
    let outcome = outcome(&set, partial)?;
    let out = match &opts.out {
        Some(out) => out.clone(),
        None => {
            let out = Path::new("outputs").join(outcome.name());
            check_out(&out, dirs.iter().chain(&set.dirs))?;
            out
        }
    };
    let staging = stage(&out, ctl)?;
    // Each sub-folder's tables, from the shards that computed them: every shard for a run or a
    // compare; for a sweep's points (`--save-runs`), the shards whose units met the point.
    let subs: Vec<(String, Vec<PathBuf>)> = match &outcome {
        Outcome::Run(_) => vec![(String::new(), set.dirs.clone())],
        Outcome::Compare(c) => c
            .dirs()
            .into_iter()
            .map(|d| (d, set.dirs.clone()))
            .collect(),
        Outcome::Sweep(s) if m.save_runs => (0..s.sweep.points.len())
            .map(|p| (point_dir(p), point_shards(&set, p as u64)))
            .collect(),
        Outcome::Sweep(_) => Vec::new(),
    };
    let trajectories = m.save_runs && !matches!(outcome, Outcome::Sweep(_));
    for (sub, dirs) in &subs {
        if ctl.is_cancelled() {
            return Err(Error::Interrupted);
        }
        shard::concat_tables(dirs, sub, &staging.path().join(sub), trajectories)
            .map_err(|e| Error::input(None, format!("{e:#}")))?;
    }
    let dir = finish(
        &outcome,
        staging,
        opts.plots,
        opts.parquet || m.parquet,
        ctl,
    )?;
    ctl.info(format!(
        "merged in {:.2} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(Written::Results {
        dir,
        outcome: Box::new(outcome),
    })
}

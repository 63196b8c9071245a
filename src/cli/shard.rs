//! Shards: what `run|compare|sweep --shard K/N` keeps and writes (`ShardWork`, `Partial`,
//! `finish_shard`), and `merge`, which checks a set of shard folders and writes exactly what the
//! unsharded command writes (docs/SCALING.md).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::simulate::{Say, finish_compare, finish_sweep, print_run_summary, stage, sweep_stats};
use super::{BatchArgs, InputError};
use crate::batch::{
    BatchResult, Blocked, BlockedMoments, Comparison, Moments, PairedStat, Shard, Stat, Units,
};
use crate::engine::Layout;
use crate::report::shard::{self, BlocksReader, BlocksWriter, Manifest, ShardPerf};
use crate::report::{self, Staging};
use crate::scenario::{Scenario, expand_sweep};

/// What a shard keeps in `partial.bin`: the batch results, then the command's own statistics.
/// Moments are visited in the order in which blocks were written to `blocks.bin`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Partial {
    pub(super) results: Vec<BatchResult>,
    pub(super) paired: Vec<Vec<PairedStat>>,
    pub(super) sweep: Vec<Vec<Stat>>,
}

impl Blocked for Partial {
    fn each_moments(&mut self, f: &mut dyn FnMut(&mut BlockedMoments)) {
        self.results.each_moments(f);
        self.paired.each_moments(f);
        self.sweep.each_moments(f);
    }

    fn merge_shard(&mut self, other: &Self) {
        self.results.merge_shard(&other.results);
        self.paired.merge_shard(&other.paired);
        self.sweep.merge_shard(&other.sweep);
    }
}

impl Partial {
    /// The number of statistics of every part, to check that shards agree before merging.
    fn shape(&self) -> Vec<usize> {
        let mut shape = Vec::new();
        for r in &self.results {
            shape.extend([r.cells.len(), r.run_stats.len()]);
        }
        shape.push(usize::MAX);
        shape.extend(self.paired.iter().map(Vec::len));
        shape.push(usize::MAX);
        shape.extend(self.sweep.iter().map(Vec::len));
        shape
    }

    /// Folds one block of group `group` (a sweep point, or 0: everything); returns how many
    /// moments the group has, `None` if there is no such group.
    fn fold_group(&mut self, group: u64, block: &[Moments]) -> Option<usize> {
        if self.sweep.is_empty() {
            return (group == 0).then(|| self.fold_block(block));
        }
        let g = usize::try_from(group).ok()?;
        let (result, stats) = (self.results.get_mut(g)?, self.sweep.get_mut(g)?);
        let used = result.fold_block(block);
        Some(used + stats.fold_block(block.get(used..).unwrap_or(&[])))
    }
}

/// The work of one shard: its units and the `blocks.bin` it writes.
pub(super) struct ShardWork {
    shard: Shard,
    units: Units,
    pub(super) writer: BlocksWriter,
    started: std::time::Instant,
}

impl ShardWork {
    /// The shard of `args` (none without `--shard`), writing into `dir`.
    pub(super) fn new(args: &BatchArgs, units: Units, dir: &Path) -> Result<Option<ShardWork>> {
        let Some(shard) = args.shard else {
            return Ok(None);
        };
        Ok(Some(ShardWork {
            shard,
            units,
            writer: BlocksWriter::create(&dir.join(shard::BLOCKS))?,
            started: std::time::Instant::now(),
        }))
    }

    /// The groups this shard computes, each with its blocks.
    pub(super) fn groups(&self) -> Vec<(u64, std::ops::Range<u64>)> {
        self.units.split(self.shard.units(self.units.total()))
    }

    /// The blocks of group 0 (run, compare): possibly none.
    pub(super) fn blocks(&self) -> std::ops::Range<u64> {
        self.groups().first().map_or(0..0, |(_, b)| b.clone())
    }
}

/// What a command hands to [`finish_shard`].
pub(super) struct ShardOutput<'a> {
    pub(super) command: &'a str,
    pub(super) scenarios: &'a [&'a Scenario],
    pub(super) resolved: &'a [String],
    pub(super) dirs: Vec<String>,
    pub(super) partial: Partial,
}

/// Writes a shard's `partial.bin` and `shard.json` and moves the folder into place.
pub(super) fn finish_shard(
    staging: Staging,
    work: ShardWork,
    args: &BatchArgs,
    out: ShardOutput,
) -> Result<()> {
    let ShardWork {
        shard,
        units,
        writer,
        started,
    } = work;
    writer.finish()?;
    let (runs, seed) = (out.scenarios[0].runs, out.scenarios[0].seed);
    let range = shard.units(units.total());
    let wall = started.elapsed().as_secs_f64();
    let manifest = Manifest {
        format: shard::FORMAT,
        l2sim_version: env!("CARGO_PKG_VERSION").to_string(),
        command: out.command.to_string(),
        scenarios: out.scenarios.iter().map(|s| s.name.clone()).collect(),
        scenario_sha256: shard::sha256_of(
            &out.resolved.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        ),
        seed,
        runs,
        shards: shard.count,
        shard: shard.index,
        groups: units.groups,
        blocks_per_group: units.blocks,
        units: [range.start, range.end],
        save_runs: args.save_runs,
        parquet: args.parquet,
        dirs: out.dirs,
        perf: ShardPerf {
            wall_seconds: wall,
            threads: out
                .partial
                .results
                .iter()
                .map(|r| r.threads)
                .max()
                .unwrap_or(0),
        },
    };
    shard::write_partial(staging.path(), &out.partial)?;
    manifest.write(staging.path())?;
    let dir = staging.commit()?;
    if args.json {
        return Say::of(args).done(&dir, shard::MANIFEST, || {});
    }
    let what = if units.groups > 1 {
        format!(
            "{} of {} (point, block) units",
            range.end - range.start,
            units.total()
        )
    } else {
        let r = shard.runs(runs);
        format!("runs {}..{} of {runs}", r.start, r.end)
    };
    println!(
        "shard {shard} of {} {}: {what} in {wall:.2} s; written to {}",
        out.command,
        manifest.scenarios.join(", "),
        dir.display()
    );
    println!("  merge every shard with: l2sim merge SHARD_DIR... --out DIR");
    Ok(())
}

/// Shard folders checked to form one complete set, in shard order.
struct ShardSet {
    dirs: Vec<PathBuf>,
    manifests: Vec<Manifest>,
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

/// Reads every shard's manifest and checks that they are shards of one batch, each once, none
/// missing.
fn check_shards(dirs: &[PathBuf]) -> Result<ShardSet> {
    let mut found: Vec<(PathBuf, Manifest)> = Vec::new();
    for d in &expand(dirs) {
        let m = Manifest::read(d)?.ok_or_else(|| {
            InputError(format!(
                "{}: not a shard folder (no {}); shards are written by `l2sim run|compare|sweep --shard K/N`",
                d.display(),
                shard::MANIFEST
            ))
        })?;
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
            texts.push(fs_text(f)?);
        }
        if shard::sha256_of(&texts.iter().map(|t| t.as_str()).collect::<Vec<_>>())
            != m.scenario_sha256
        {
            return Err(InputError(format!(
                "{}: the scenario files were changed after the shard was run (their sha256 differs from shard.json)",
                d.display()
            ))
            .into());
        }
        found.push((d.clone(), m));
    }
    let (first_dir, first) = &found[0];
    for (dir, m) in &found[1..] {
        for ((what, a), (_, b)) in first.identity().into_iter().zip(m.identity()) {
            if a != b {
                return Err(InputError(format!(
                    "the shards are not of one batch: {what} is {a} in {} but {b} in {}",
                    first_dir.display(),
                    dir.display()
                ))
                .into());
            }
        }
    }
    let n = first.shards;
    let mut by_index: Vec<Option<usize>> = vec![None; n as usize];
    for (i, (dir, m)) in found.iter().enumerate() {
        let slot = &mut by_index[(m.shard - 1) as usize];
        if let Some(j) = *slot {
            return Err(InputError(format!(
                "shard {}/{n} is given twice: {} and {}",
                m.shard,
                found[j].0.display(),
                dir.display()
            ))
            .into());
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
        return Err(InputError(format!(
            "incomplete shard set: missing shard{} {} of {n} (run them with --shard K/{n}, then merge all {n})",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", ")
        ))
        .into());
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

fn fs_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(|e| InputError(format!("{e:#}")).into())
}

/// Loads a resolved scenario stored in a shard (already checked against its manifest's hash).
fn load_resolved(path: &Path) -> Result<Scenario> {
    let text = fs_text(path)?;
    Ok(Scenario::from_toml_str(&text, path)?)
}

/// Reads the shards' partial statistics and folds their blocks in block order.
fn merge_partials(set: &ShardSet) -> Result<Partial> {
    let mut partial: Partial = shard::read_partial(&set.dirs[0])?;
    let shape = partial.shape();
    for dir in &set.dirs[1..] {
        let other: Partial = shard::read_partial(dir)?;
        if other.shape() != shape {
            bail!(
                "{}: its statistics do not have the shape of {}'s (a damaged or foreign partial.bin)",
                dir.join(shard::PARTIAL).display(),
                set.dirs[0].join(shard::PARTIAL).display()
            );
        }
        partial.merge_shard(&other);
    }
    partial.clear_moments();
    let mut buf = Vec::new();
    for (dir, m) in set.dirs.iter().zip(&set.manifests) {
        let path = dir.join(shard::BLOCKS);
        let mut reader = BlocksReader::open(&path)?;
        let [first, end] = m.units;
        let mut expected = first;
        while let Some((group, block)) = reader.next_block(&mut buf)? {
            let unit = group
                .checked_mul(m.blocks_per_group)
                .and_then(|u| u.checked_add(block));
            if block >= m.blocks_per_group || unit != Some(expected) || expected >= end {
                bail!(
                    "{}: block {block} of group {group} where unit {expected} was expected (the shard covers units {first}..{end})",
                    path.display()
                );
            }
            let used = partial.fold_group(group, &buf);
            if used != Some(buf.len()) {
                bail!(
                    "{}: block {block} of group {group} has {} moments, expected {}",
                    path.display(),
                    buf.len(),
                    used.map_or("none".into(), |u| u.to_string())
                );
            }
            expected += 1;
        }
        if expected != end {
            bail!(
                "{}: ends at unit {expected} of {first}..{end}: the shard is incomplete; run it again",
                path.display()
            );
        }
    }
    Ok(partial)
}

/// Gives merged results their layout and column names.
fn attach_layouts(results: &mut [BatchResult], scenarios: &[&Scenario]) {
    for (r, sc) in results.iter_mut().zip(scenarios) {
        r.layout = Layout::new(sc);
        r.run_columns = r.layout.run_columns();
    }
}

/// Options of `l2sim merge`.
#[derive(Debug, Clone, Default)]
pub(super) struct MergeOptions {
    pub(super) out: Option<PathBuf>,
    pub(super) no_plots: bool,
    pub(super) parquet: bool,
    /// Only check the set (every file read), write nothing.
    pub(super) check: bool,
    pub(super) quiet: bool,
    pub(super) verbose: u8,
    pub(super) json: bool,
}

/// `l2sim merge`: checks the shard set, then writes what the unsharded command writes.
pub(super) fn merge(dirs: &[PathBuf], opts: &MergeOptions) -> Result<()> {
    let out = opts.out.as_deref();
    let no_plots = opts.no_plots;
    let set = check_shards(dirs)?;
    let say = Say {
        quiet: opts.quiet,
        verbose: opts.verbose,
        json: opts.json,
        parquet: opts.parquet || set.manifests[0].parquet,
    };
    let m = set.manifests[0].clone();
    let first = &set.dirs[0];
    let started = std::time::Instant::now();
    // A shard cut short or damaged is bad input, like a mismatched set.
    let mut partial = merge_partials(&set).map_err(|e| InputError(format!("{e:#}")))?;
    if opts.check {
        let wall: f64 = set.manifests.iter().map(|m| m.perf.wall_seconds).sum();
        println!(
            "complete: {} shards of `{}` {} ({} runs, seed {}), {:.1} s of shard wall time in all; nothing written",
            m.shards,
            m.command,
            m.scenarios.join(", "),
            m.runs,
            m.seed,
            wall
        );
        return Ok(());
    }
    let default =
        |name: String| out.map_or_else(|| Path::new("outputs").join(name), Path::to_path_buf);
    say.log(&format!(
        "merging {} shards of `{}` {} ({} runs, seed {})",
        m.shards,
        m.command,
        m.scenarios.join(", "),
        m.runs,
        m.seed
    ));
    match m.command.as_str() {
        "run" => {
            let scenario = load_resolved(&first.join("scenario.resolved.toml"))?;
            attach_layouts(&mut partial.results, &[&scenario]);
            let staging = stage(&default(scenario.name.clone()))?;
            let dir = staging.path().to_path_buf();
            concat_shard_tables(&set, "", &dir, m.save_runs)?;
            let result = &partial.results[0];
            report::write_run_report(&dir, &scenario, result, !no_plots)?;
            let dir = say.commit(staging)?;
            say.done(&dir, "summary.json", || {
                print_run_summary(&scenario, result, &dir)
            })?;
        }
        "compare" => {
            let mut scenarios = Vec::new();
            for d in &m.dirs {
                scenarios.push(load_resolved(
                    &first.join(d).join("scenario.resolved.toml"),
                )?);
            }
            let refs: Vec<&Scenario> = scenarios.iter().collect();
            attach_layouts(&mut partial.results, &refs);
            let names: Vec<&str> = refs.iter().map(|s| s.name.as_str()).collect();
            let staging = stage(&default(format!("compare_{}", names.join("_vs_"))))?;
            let dirs: Vec<PathBuf> = m.dirs.iter().map(|d| staging.path().join(d)).collect();
            for (sub, dir) in m.dirs.iter().zip(&dirs) {
                std::fs::create_dir_all(dir)?;
                concat_shard_tables(&set, sub, dir, m.save_runs)?;
            }
            let layouts: Vec<&Layout> = partial.results.iter().map(|r| &r.layout).collect();
            let mut comparison = Comparison::new(&layouts);
            for (against, stats) in comparison.against.iter_mut().zip(&partial.paired) {
                against.stats = stats.clone();
            }
            finish_compare(
                staging,
                &refs,
                &dirs,
                &partial.results,
                &comparison,
                !no_plots,
                say,
            )?;
        }
        "sweep" => {
            let path = first.join("scenario.resolved.toml");
            let text = fs_text(&path)?;
            let sw = expand_sweep(&path)?;
            let refs: Vec<&Scenario> = sw.points.iter().map(|p| &p.scenario).collect();
            attach_layouts(&mut partial.results, &refs);
            let (metrics, _) = sweep_stats(&sw);
            let staging = stage(&default(format!("sweep_{}", sw.base.name)))?;
            std::fs::write(staging.path().join("scenario.resolved.toml"), &text)?;
            finish_sweep(
                staging,
                &sw,
                &metrics,
                &partial.sweep,
                &partial.results,
                !no_plots,
                say,
            )?;
        }
        other => bail!(
            "{}: unknown command {other:?} in shard.json",
            first.display()
        ),
    }
    say.log(&format!(
        "merged in {:.2} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// Concatenates the shards' `runs.csv` (and `trajectories.csv`) of sub-folder `sub` into `dest`.
fn concat_shard_tables(set: &ShardSet, sub: &str, dest: &Path, save_runs: bool) -> Result<()> {
    let mut tables = vec!["runs.csv"];
    if save_runs {
        tables.push("trajectories.csv");
    }
    for t in tables {
        let parts: Vec<PathBuf> = set.dirs.iter().map(|d| d.join(sub).join(t)).collect();
        shard::concat_csv(&parts, &dest.join(t))?;
    }
    Ok(())
}

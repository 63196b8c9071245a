//! Shard folders: what `run|compare|sweep --shard K/N` writes and `merge` reads.
//!
//! A shard folder holds
//! - `shard.json`: the [`Manifest`] (what was run, which shard, which units of work);
//! - `blocks.bin`: the moments of every block of the shard, in unit order ([`BlocksWriter`]);
//! - `partial.bin`: the shard's statistics (sketches, counts, extremes) in postcard encoding;
//! - the resolved scenario(s) and the streamed `runs.csv` (and `trajectories.csv`) of its runs.
//!
//! The manifest, written last, lists every other file of the folder with its size and SHA-256
//! ([`FileEntry`]); `merge` uses no file before [`verify_files`] has checked it against that list,
//! and no field of the manifest before [`Manifest::check`] (and `merge`, against the scenario)
//! has checked it: a path from the file stays inside the shard folder, an index lies in its range.
//!
//! Numbers are stored as their IEEE-754 bits, so a merge reproduces them exactly; both binary
//! files are Snappy-framed (2.1 to 2.3 times smaller for the baseline), whose CRC-32C checksums
//! catch damaged files.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::output::{NamedFile, content_files, file_sha256, hex, is_bookkeeping, relative_path};
use crate::batch::{MAX_SHARDS, Moments, Shard, blocks::blocks};
use crate::scenario::input;

/// Version of the shard folder layout; `merge` refuses other versions. 3: `files` (every file's
/// size and SHA-256) added to `shard.json`. 4: `partial.bin` keeps sparse sketches (occupied
/// buckets only) and every run's value of the exactly reported statistics.
pub const FORMAT: u32 = 4;
pub const MANIFEST: &str = "shard.json";
pub const BLOCKS: &str = "blocks.bin";
pub const PARTIAL: &str = "partial.bin";
const MAGIC: &[u8; 8] = b"L2SIMBLK";

/// The command a shard belongs to, as written in `shard.json` (`"run"`, `"compare"`, `"sweep"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Run,
    Compare,
    Sweep,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Run => "run",
            JobKind::Compare => "compare",
            JobKind::Sweep => "sweep",
        }
    }
}

impl std::fmt::Display for JobKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `shard.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub l2sim_version: String,
    pub command: JobKind,
    /// Scenario name(s), for people.
    pub scenarios: Vec<String>,
    /// SHA-256 of the resolved scenario file(s) (which hold runs and seed), in order.
    pub scenario_sha256: String,
    pub seed: u64,
    /// Runs of the whole batch.
    pub runs: u64,
    /// `N` and `K` of `--shard K/N`.
    pub shards: u64,
    pub shard: u64,
    /// Units of work: `groups` groups (1, or one per sweep point) of `blocks_per_group` blocks of
    /// 32 runs; this shard computed units `[start, end)`, unit `g·blocks_per_group + b` being
    /// block `b` of group `g`.
    pub groups: u64,
    pub blocks_per_group: u64,
    pub units: [u64; 2],
    /// Whether `trajectories.csv` was saved (`--save-runs`).
    pub save_runs: bool,
    /// Whether the merged folder gets Parquet copies of its tables (`--parquet`).
    #[serde(default)]
    pub parquet: bool,
    /// Sub-folders holding each scenario's files (`compare`), in order; empty otherwise.
    pub dirs: Vec<String>,
    /// A sweep's exploration (`sensitivity`, `discover`) that `merge` finishes; absent for a
    /// plain sweep and every other job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explore: Option<Box<super::explore::Explore>>,
    /// Every file of the shard folder but `shard.json` and l2sim's marker, sorted by path.
    pub files: Vec<FileEntry>,
    /// Machine-dependent: wall time and threads of this shard.
    pub perf: ShardPerf,
}

/// One file of a shard folder as `shard.json` lists it: its path relative to the folder (with
/// `/`), its size and its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardPerf {
    pub wall_seconds: f64,
    pub threads: usize,
}

impl Manifest {
    /// What must be equal in every shard of one batch, as (what, value) for messages: most
    /// specific first, the scenario hash (which covers runs and seed too) last.
    pub fn identity(&self) -> Vec<(&'static str, String)> {
        vec![
            ("the format", self.format.to_string()),
            ("the l2sim version", self.l2sim_version.clone()),
            ("the command", self.command.to_string()),
            ("the seed", self.seed.to_string()),
            ("the number of runs", self.runs.to_string()),
            ("the number of shards N", self.shards.to_string()),
            ("--save-runs", self.save_runs.to_string()),
            ("the number of groups", self.groups.to_string()),
            (
                "the exploration",
                self.explore
                    .as_ref()
                    .map_or("none".to_string(), |e| format!("{e:?}")),
            ),
            (
                "the scenario",
                format!(
                    "{} (sha256 {})",
                    self.scenarios.join(", "),
                    self.scenario_sha256
                ),
            ),
        ]
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::write(
            dir.join(MANIFEST),
            serde_json::to_string_pretty(self)? + "\n",
        )
        .context("writing shard.json")
    }

    /// Reads `dir/shard.json`; `None` when `dir` has none (not a shard folder). A manifest of
    /// another layout version is refused with the version it has, before its fields are read.
    pub fn read(dir: &Path) -> Result<Option<Manifest>> {
        let path = dir.join(MANIFEST);
        if !path.is_file() {
            return Ok(None);
        }
        let text = input::read_text(&path, input::MAX_TOML_BYTES)
            .with_context(|| format!("reading {}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a shard manifest", path.display()))?;
        match value.get("format").and_then(|f| f.as_u64()) {
            Some(f) if f == u64::from(FORMAT) => {}
            Some(f) => bail!(
                "{}: field `format` is {f}: a shard folder of layout version {f} (written by l2sim {}), but this l2sim ({}) reads version {FORMAT} only{}; run the shard again with this l2sim",
                path.display(),
                value
                    .get("l2sim_version")
                    .and_then(|v| v.as_str())
                    .unwrap_or("of unknown version"),
                env!("CARGO_PKG_VERSION"),
                match f {
                    0..=2 => " (older shards do not record their files' checksums)",
                    3 => " (version 3 shards keep dense quantile sketches and no per-run values)",
                    _ => "",
                }
            ),
            None => bail!(
                "{}: field `format`: missing or not a whole number: not a shard manifest",
                path.display()
            ),
        }
        let m = serde_json::from_value(value)
            .with_context(|| format!("{}: not a shard manifest", path.display()))?;
        Ok(Some(m))
    }

    /// Checks every field against the others before any is used: `1 ≤ shard ≤ shards ≤
    /// MAX_SHARDS`, the blocks of `runs`, one group but for a sweep, this shard's `units`, the
    /// scenarios and sub-folders the command has, paths that stay inside the folder. The error
    /// names the field.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=MAX_SHARDS).contains(&self.shards) {
            return Err(format!(
                "field `shards` is {}: must be 1 to {MAX_SHARDS} (as for --shard K/N)",
                self.shards
            ));
        }
        if !(1..=self.shards).contains(&self.shard) {
            return Err(format!(
                "field `shard` is {}: must be 1 to `shards` ({}) (shard K of N with 1 ≤ K ≤ N)",
                self.shard, self.shards
            ));
        }
        if self.runs == 0 {
            return Err("field `runs` is 0: a batch has at least one run".into());
        }
        let blocks = blocks(self.runs);
        if self.blocks_per_group != blocks {
            return Err(format!(
                "field `blocks_per_group` is {}, but {} runs make {blocks} blocks of 32",
                self.blocks_per_group, self.runs
            ));
        }
        let sweep = self.command == JobKind::Sweep;
        if self.groups == 0 || (!sweep && self.groups != 1) {
            return Err(format!(
                "field `groups` is {}: must be 1 for `{}` (a sweep: its number of points)",
                self.groups, self.command
            ));
        }
        let total = self.groups.checked_mul(blocks).ok_or_else(|| {
            format!(
                "field `groups` is {}: {} groups of {blocks} blocks are more units than can be counted",
                self.groups, self.groups
            )
        })?;
        let mine = Shard {
            index: self.shard,
            count: self.shards,
        }
        .units(total);
        if self.units != [mine.start, mine.end] {
            return Err(format!(
                "field `units` is {:?}: must be [{}, {}] for shard {} of {} of {total} units",
                self.units, mine.start, mine.end, self.shard, self.shards
            ));
        }
        let compare = self.command == JobKind::Compare;
        let wanted = if compare {
            self.scenarios.len().max(2)
        } else {
            1
        };
        if self.scenarios.len() != wanted {
            return Err(format!(
                "field `scenarios` has {} names: `{}` has {}",
                self.scenarios.len(),
                self.command,
                if compare { "two or more" } else { "one" }
            ));
        }
        let dirs = if compare { self.scenarios.len() } else { 0 };
        if self.dirs.len() != dirs {
            return Err(format!(
                "field `dirs` has {} entries, but `{}` of {} scenario(s) has {dirs}",
                self.dirs.len(),
                self.command,
                self.scenarios.len()
            ));
        }
        for (i, d) in self.dirs.iter().enumerate() {
            relative_path(d)
                .filter(|p| p.components().count() == 1)
                .ok_or_else(|| {
                    format!(
                        "field `dirs[{i}]` is {d:?}: must be the name of a sub-folder of the shard (no `/`, no `..`, not absolute)"
                    )
                })?;
        }
        let mut seen = BTreeSet::new();
        for (i, f) in self.files.iter().enumerate() {
            if relative_path(&f.path).is_none()
                || f.path == MANIFEST
                || is_bookkeeping(Path::new(&f.path))
            {
                return Err(format!(
                    "field `files[{i}].path` is {:?}: must be a relative path inside the shard folder (no `..`, not absolute), not shard.json or the marker",
                    f.path
                ));
            }
            if !seen.insert(f.path.as_str()) {
                return Err(format!(
                    "field `files[{i}].path`: {:?} is listed twice",
                    f.path
                ));
            }
        }
        Ok(())
    }
}

/// Every file under `dir` but `shard.json` and l2sim's bookkeeping files, as sorted relative
/// paths with `/`; anything but folders and regular files (a link, which could point outside) and
/// a name that is not UTF-8 are refused.
fn walk(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for rel in content_files(dir)? {
        let path = dir.join(&rel);
        let meta = std::fs::symlink_metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        if !meta.is_file() {
            bail!(
                "{}: not a regular file (a link?): a shard folder holds only the files l2sim wrote",
                path.display()
            );
        }
        let Some(name) = rel.to_str() else {
            bail!(
                "{}: a file name that is not UTF-8 (a shard folder holds only the files l2sim wrote)",
                path.display()
            );
        };
        if name != MANIFEST {
            out.push(name.to_string());
        }
    }
    out.sort();
    Ok(out)
}

/// Every file of a finished shard folder, for its manifest.
pub fn list_files(dir: &Path) -> Result<Vec<FileEntry>> {
    walk(dir)?
        .into_iter()
        .map(|path| {
            let (bytes, sha256) = file_sha256(&dir.join(&path))?;
            Ok(FileEntry {
                path,
                bytes,
                sha256,
            })
        })
        .collect()
}

/// Checks the files of shard folder `dir` against its manifest's list (already checked by
/// [`Manifest::check`]): none missing, none added, each of its size and SHA-256. The error names
/// the file.
pub fn verify_files(dir: &Path, listed: &[FileEntry]) -> Result<()> {
    let present = walk(dir)?;
    let known: BTreeSet<&str> = listed.iter().map(|f| f.path.as_str()).collect();
    if let Some(extra) = present.iter().find(|p| !known.contains(p.as_str())) {
        bail!(
            "{}: not listed in {MANIFEST}: a file added to the shard folder after it was written (remove it, or run the shard again)",
            dir.join(extra).display()
        );
    }
    for f in listed {
        let path = dir.join(&f.path);
        if present.binary_search(&f.path).is_err() {
            bail!(
                "{}: listed in {MANIFEST} but missing: the shard folder is incomplete; copy it again or run the shard again",
                path.display()
            );
        }
        let (bytes, sha256) = file_sha256(&path)?;
        if bytes != f.bytes {
            bail!(
                "{}: {bytes} bytes, but {MANIFEST} says {}: the file was cut short or changed after the shard was written; copy it again or run the shard again",
                path.display(),
                f.bytes
            );
        }
        if sha256 != f.sha256 {
            bail!(
                "{}: its SHA-256 differs from {MANIFEST}'s: the file was damaged or replaced after the shard was written; copy it again or run the shard again",
                path.display()
            );
        }
    }
    Ok(())
}

/// Hex SHA-256 of texts, each followed by a NUL byte.
pub fn sha256_of(texts: &[&str]) -> String {
    let mut h = Sha256::new();
    for t in texts {
        h.update(t.as_bytes());
        h.update([0u8]);
    }
    hex(&h.finalize())
}

/// Writes `blocks.bin`: a magic number, then per block its group, its index, its number of
/// moments and the moments as (count u64, mean f64, m2 f64), all little-endian.
pub struct BlocksWriter {
    w: snap::write::FrameEncoder<BufWriter<NamedFile>>,
}

impl BlocksWriter {
    pub fn create(path: &Path) -> Result<BlocksWriter> {
        let mut w = snap::write::FrameEncoder::new(BufWriter::new(NamedFile::create(path)?));
        w.write_all(MAGIC)?;
        Ok(BlocksWriter { w })
    }

    pub fn write(&mut self, group: u64, block: u64, moments: &[Moments]) -> Result<()> {
        self.w.write_all(&group.to_le_bytes())?;
        self.w.write_all(&block.to_le_bytes())?;
        self.w.write_all(&(moments.len() as u64).to_le_bytes())?;
        for m in moments {
            self.w.write_all(&m.count.to_le_bytes())?;
            self.w.write_all(&m.mean.to_le_bytes())?;
            self.w.write_all(&m.m2.to_le_bytes())?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        let mut inner = self
            .w
            .into_inner()
            .map_err(|e| anyhow::anyhow!("writing blocks.bin: {}", e.error()))?;
        inner.flush()?;
        Ok(())
    }
}

/// Reads `blocks.bin` block by block.
pub struct BlocksReader {
    r: snap::read::FrameDecoder<BufReader<File>>,
    path: std::path::PathBuf,
}

impl BlocksReader {
    pub fn open(path: &Path) -> Result<BlocksReader> {
        // A shard's binary files have no size limit, but must be regular files.
        let file =
            input::open(path, u64::MAX).with_context(|| format!("opening {}", path.display()))?;
        let mut r = snap::read::FrameDecoder::new(BufReader::new(file));
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic)
            .ok()
            .filter(|_| &magic == MAGIC)
            .with_context(|| format!("{}: not an l2sim blocks file", path.display()))?;
        Ok(BlocksReader {
            r,
            path: path.to_path_buf(),
        })
    }

    /// The next block into `out`: `Ok(Some((group, block)))`, or `Ok(None)` at the end.
    pub fn next_block(&mut self, out: &mut Vec<Moments>) -> Result<Option<(u64, u64)>> {
        let mut word = [0u8; 8];
        match self.r.read_exact(&mut word) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", self.path.display())),
        }
        let group = u64::from_le_bytes(word);
        let truncated = || format!("{}: truncated or damaged", self.path.display());
        self.r.read_exact(&mut word).with_context(truncated)?;
        let block = u64::from_le_bytes(word);
        self.r.read_exact(&mut word).with_context(truncated)?;
        let n = u64::from_le_bytes(word);
        out.clear();
        for _ in 0..n {
            let mut rec = [0u8; 24];
            self.r.read_exact(&mut rec).with_context(truncated)?;
            let word = |i: usize| rec[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]);
            out.push(Moments {
                count: u64::from_le_bytes(word(0)),
                mean: f64::from_le_bytes(word(1)),
                m2: f64::from_le_bytes(word(2)),
            });
        }
        Ok(Some((group, block)))
    }
}

/// Writes a value as `partial.bin` (postcard).
pub fn write_partial<T: Serialize>(dir: &Path, value: &T) -> Result<()> {
    let mut w =
        snap::write::FrameEncoder::new(BufWriter::new(NamedFile::create(&dir.join(PARTIAL))?));
    postcard::to_io(value, &mut w).context("writing partial.bin")?;
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("writing partial.bin: {}", e.error()))?
        .flush()?;
    Ok(())
}

/// Reads `dir/partial.bin`.
pub fn read_partial<T: for<'de> Deserialize<'de>>(dir: &Path) -> Result<T> {
    let path = dir.join(PARTIAL);
    let file =
        input::open(&path, u64::MAX).with_context(|| format!("reading {}", path.display()))?;
    let mut bytes = Vec::new();
    snap::read::FrameDecoder::new(BufReader::new(file))
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: corrupt or foreign", path.display()))?;
    postcard::from_bytes(&bytes).with_context(|| format!("{}: corrupt or foreign", path.display()))
}

/// Concatenates CSV files with the same header into `dest`: the header once, then every row in
/// the order of `parts`.
pub fn concat_csv(parts: &[std::path::PathBuf], dest: &Path) -> Result<()> {
    let mut out = BufWriter::new(NamedFile::create(dest)?);
    let mut header: Option<String> = None;
    for part in parts {
        let mut r = BufReader::new(
            input::open(part, u64::MAX).with_context(|| format!("opening {}", part.display()))?,
        );
        let mut first = String::new();
        std::io::BufRead::read_line(&mut r, &mut first)
            .with_context(|| format!("reading {}", part.display()))?;
        match &header {
            None => {
                out.write_all(first.as_bytes())?;
                header = Some(first);
            }
            Some(h) if *h == first => {}
            Some(_) => bail!(
                "{}: its header differs from the first shard's",
                part.display()
            ),
        }
        std::io::copy(&mut r, &mut out).with_context(|| format!("copying {}", part.display()))?;
    }
    out.flush()?;
    Ok(())
}

/// Concatenates the shards' `runs.csv`, `runs_long.csv`, `events.csv` (and, with `save_runs`,
/// `trajectories.csv`) of sub-folder `sub` (empty: the shard folder itself) into `dest`, in
/// shard order.
pub fn concat_tables(
    shard_dirs: &[std::path::PathBuf],
    sub: &str,
    dest: &Path,
    save_runs: bool,
) -> Result<()> {
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    let mut tables = vec!["runs.csv", "runs_long.csv", "events.csv"];
    if save_runs {
        tables.push("trajectories.csv");
    }
    for t in tables {
        let parts: Vec<std::path::PathBuf> =
            shard_dirs.iter().map(|d| d.join(sub).join(t)).collect();
        concat_csv(&parts, &dest.join(t))?;
    }
    Ok(())
}

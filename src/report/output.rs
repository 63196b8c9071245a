//! Output folders that are never half-written and never take a file l2sim did not write.
//!
//! The ownership rule (docs/RELIABILITY.md): a result folder holds only l2sim's files, each listed
//! with its SHA-256 in the folder's marker [`MARKER`]. A command replaces an existing folder only
//! if it holds exactly the files its marker lists, unchanged, and nothing else; otherwise it is
//! refused, naming what l2sim did not write. Even then an earlier result is removed file by file
//! from its list (and folder by folder with `rmdir`), never with a recursive delete, so a file that
//! appears in it between the check and the removal survives.
//!
//! While a command writes a destination it holds an exclusive lock on `.NAME.lock` beside it
//! ([`Lock`]); a second command on the same destination is refused at once, naming the holder.
//! Everything is assembled in a staging folder `.NAME.tmp-XXXXXX` beside the destination (same
//! filesystem, so the final rename is atomic), marked by [`STAGING_SENTINEL`]. Staging folders
//! that a killed process left behind are found and removed by the next command on the same
//! destination, under its lock ([`Staging::stale`]). A second Ctrl-C removes every live staging
//! folder before the process exits ([`abandon_all`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::scenario::input;

/// Name of the marker file l2sim leaves in every output folder it creates: the list of the files
/// it wrote there, one `SHA256  PATH` line each (the format of `sha256sum`).
pub const MARKER: &str = ".l2sim-output";

/// The file that marks a staging folder while l2sim writes it.
pub const STAGING_SENTINEL: &str = ".l2sim-staging";

const MARKER_HEADER: &str = "# written by l2sim; the files it wrote here, with their SHA-256 (check with `sha256sum -c .l2sim-output`).\n# l2sim replaces this folder only while it holds exactly these files, unchanged, and nothing else.\n";

/// Why an output folder was refused: someone else's files are in it, or another command is
/// writing it. Both are the user's to resolve (exit code 2 on the command line).
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(
        "{dest}: holds what l2sim did not write: {list}; l2sim never removes a file it did not write: move it elsewhere (or remove the folder yourself), or choose another --out"
    )]
    Foreign { dest: PathBuf, list: String },
    #[error(
        "{dest}: is being written by another l2sim command ({holder}); wait for it to finish or choose another --out"
    )]
    Locked { dest: PathBuf, holder: String },
    #[error("{dest}: {why}")]
    Unusable { dest: PathBuf, why: String },
}

/// Staging folders of this process with their destination's lock file, for [`abandon_all`].
/// Each entry: the staging folder (`None` once committed), the lock file.
static LIVE: Mutex<Vec<(Option<PathBuf>, PathBuf)>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<(Option<PathBuf>, PathBuf)>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes every staging folder this process is writing, for a handler that is about to exit
/// (a second Ctrl-C). Waits for a commit in progress to finish first, so a destination is never
/// left between its old and its new content. Returns the folders removed.
pub fn abandon_all() -> Vec<PathBuf> {
    let mut guard = live();
    let mut removed = Vec::new();
    for (dir, lock) in guard.drain(..) {
        let _ = fs::remove_file(&lock);
        let Some(dir) = dir else {
            continue;
        };
        // Renamed first, so that the job's threads, still writing by path, can create nothing
        // more in it; the new name keeps the staging pattern for the next command's clean-up.
        let mut doomed = dir.clone().into_os_string();
        doomed.push("dead");
        let target = match fs::rename(&dir, &doomed) {
            Ok(()) => PathBuf::from(doomed),
            Err(_) => dir.clone(),
        };
        for _ in 0..10 {
            let _ = fs::remove_dir_all(&target);
            // A writer's `create_dir_all` may have made the old path again meanwhile.
            let _ = fs::remove_dir_all(&dir);
            if !target.exists() && !dir.exists() {
                break;
            }
        }
        removed.push(dir);
    }
    // Keep the guard locked: the process is about to exit, and no commit may start now.
    std::mem::forget(guard);
    removed
}

/// An exclusive lock on a destination, held from staging to commit. The lock file is
/// `.NAME.lock` beside the destination and names its holder (process id, command, start time);
/// the operating system releases the lock when the process dies, so a killed run never leaves a
/// destination locked.
pub struct Lock {
    file: fs::File,
    path: PathBuf,
}

impl Lock {
    /// Takes the lock of `dest`, or says who holds it.
    pub fn acquire(dest: &Path) -> Result<Lock> {
        let path = sibling(dest, ".lock")?;
        loop {
            let file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .with_context(|| format!("creating the lock file {}", path.display()))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = (&file).take(4096).read_to_string(&mut holder);
                    let holder = holder.trim();
                    let holder = if holder.is_empty() {
                        "a process that is starting".to_string()
                    } else {
                        holder.to_string()
                    };
                    return Err(Refused::Locked {
                        dest: dest.to_path_buf(),
                        holder,
                    }
                    .into());
                }
                Err(fs::TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("locking {}", path.display()));
                }
            }
            // The holder before us may have removed the file between our open and our lock:
            // the lock counts only if the path still names the file we locked.
            if same_file(&file, &path) {
                let mut lock = Lock { file, path };
                lock.describe_holder()?;
                return Ok(lock);
            }
        }
    }

    fn describe_holder(&mut self) -> Result<()> {
        let command: Vec<String> = std::env::args().collect();
        let text = format!(
            "pid {}, `{}`, since {}\n",
            std::process::id(),
            command.join(" "),
            jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ")
        );
        self.file.set_len(0)?;
        (&self.file).write_all(text.as_bytes())?;
        Ok(())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still held; whoever opened it meanwhile sees that the path has gone.
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(unix)]
fn same_file(file: &fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &fs::File, path: &Path) -> bool {
    path.exists()
}

/// `p` as a path when it is relative and goes only down (every component a plain name: no
/// `..`, no `.`, no root, no empty or NUL name), so that joined to a folder it stays inside.
pub fn relative_path(p: &str) -> Option<&Path> {
    let path = Path::new(p);
    let plain = !p.is_empty()
        && !p.contains(['\\', '\0'])
        && !p.starts_with('/')
        && !p.split('/').any(|c| c.is_empty() || c == "." || c == "..")
        && path.components().all(|c| matches!(c, Component::Normal(_)));
    plain.then_some(path)
}

/// `.NAME` + `suffix` beside `dest`.
fn sibling(dest: &Path, suffix: &str) -> Result<PathBuf> {
    Ok(parent_of(dest).join(format!(".{}{suffix}", file_name(dest)?)))
}

fn parent_of(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(dest: &Path) -> Result<String> {
    match dest.file_name() {
        Some(n) => Ok(n.to_string_lossy().into_owned()),
        None => Err(Refused::Unusable {
            dest: dest.to_path_buf(),
            why: "names no folder of its own (`.`, `..` or a root); choose a folder such as outputs/NAME".into(),
        }
        .into()),
    }
}

/// A temporary folder that becomes `dest` on [`Staging::commit`], and is removed if dropped.
pub struct Staging {
    dir: Option<tempfile::TempDir>,
    dest: PathBuf,
    /// Files carried over from the destination that l2sim did not write ([`Staging::redraw`]):
    /// kept, never listed in the new marker.
    foreign: BTreeSet<PathBuf>,
    stale: Vec<String>,
    redraw: bool,
    lock: Lock,
}

impl Staging {
    /// Locks `dest`, checks that l2sim may replace it, cleans up what killed runs left beside it
    /// and creates the staging folder.
    pub fn new(dest: &Path) -> Result<Staging> {
        Staging::open(dest, false)
    }

    /// Stages a new version of the existing result folder `dest` whose charts and pages are
    /// redrawn (`l2sim plot`): its data files are linked into the staging folder (no copy), its
    /// charts and pages copied so that redrawing them never touches the originals; files l2sim
    /// did not write are carried over untouched and stay unlisted.
    pub fn redraw(dest: &Path) -> Result<Staging> {
        Staging::open(dest, true)
    }

    fn open(dest: &Path, redraw: bool) -> Result<Staging> {
        let parent = parent_of(dest);
        let name = file_name(dest)?;
        let cwd = std::env::current_dir().and_then(|c| c.canonicalize());
        if let (Ok(cwd), Ok(canon)) = (cwd, dest.canonicalize())
            && cwd.starts_with(&canon)
        {
            return Err(Refused::Unusable {
                dest: dest.to_path_buf(),
                why: "is the current folder or holds it; l2sim replaces an output folder as a whole: choose a folder such as outputs/NAME".into(),
            }
            .into());
        }
        fs::create_dir_all(&parent)
            .with_context(|| format!("creating output folder {}", parent.display()))?;
        let lock = Lock::acquire(dest)?;
        let stale = clean_stale(&parent, &name, dest)?;
        let listed = match fs::symlink_metadata(dest) {
            Ok(m) if m.is_dir() => Some(owned_files(dest, redraw)?),
            Ok(_) => {
                return Err(Refused::Unusable {
                    dest: dest.to_path_buf(),
                    why: "exists and is not a folder".into(),
                }
                .into());
            }
            Err(_) => None,
        };
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{name}.tmp-"))
            .tempdir_in(&parent)
            .with_context(|| format!("creating a temporary folder in {}", parent.display()))?;
        fs::write(
            dir.path().join(STAGING_SENTINEL),
            format!("l2sim staging folder of pid {}\n", std::process::id()),
        )
        .with_context(|| format!("writing in {}", dir.path().display()))?;
        live().push((Some(dir.path().to_path_buf()), lock.path.clone()));
        let mut staging = Staging {
            dir: Some(dir),
            dest: dest.to_path_buf(),
            foreign: BTreeSet::new(),
            stale,
            redraw,
            lock,
        };
        if redraw && let Some(owned) = listed {
            staging.carry_over(&owned.files)?;
        }
        Ok(staging)
    }

    /// Where to write files now.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().map(|d| d.path()).unwrap_or(&self.dest)
    }

    /// The destination.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Leftovers of killed runs found beside the destination: what was removed or restored, and
    /// what was left because it holds files l2sim did not write.
    pub fn stale(&self) -> &[String] {
        &self.stale
    }

    /// Links (data) or copies (charts, pages) every file of the destination into the staging
    /// folder; files not in `owned` are remembered as foreign.
    fn carry_over(&mut self, owned: &BTreeMap<PathBuf, String>) -> Result<()> {
        let dest = self.dest.clone();
        let root = self.path().to_path_buf();
        for rel in content_files(&dest)? {
            let from = dest.join(&rel);
            let to = root.join(&rel);
            if let Some(p) = to.parent() {
                fs::create_dir_all(p).with_context(|| format!("creating {}", p.display()))?;
            }
            if !owned.contains_key(&rel) {
                self.foreign.insert(rel.clone());
            }
            let redrawn = matches!(
                rel.extension().and_then(|e| e.to_str()),
                Some("png" | "svg" | "html")
            );
            if redrawn || fs::hard_link(&from, &to).is_err() {
                fs::copy(&from, &to)
                    .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
            }
        }
        Ok(())
    }

    /// Lists the finished folder's files in its marker and moves it to `dest`, replacing an
    /// earlier result only now and only if it still holds nothing but l2sim's files.
    pub fn commit(mut self) -> Result<PathBuf> {
        let Some(dir) = self.dir.take() else {
            return Ok(self.dest.clone());
        };
        let tmp = dir.path().to_path_buf();
        write_marker(&tmp, &self.foreign)?;
        let mut guard = live();
        // From here a second signal removes only the lock file: the folder is being committed.
        for entry in guard.iter_mut() {
            if entry.0.as_ref() == Some(&tmp) {
                entry.0 = None;
            }
        }
        let old_owned = if fs::symlink_metadata(&self.dest).is_ok() {
            match owned_files(&self.dest, self.redraw) {
                Ok(o) => Some(o),
                Err(e) => {
                    // Someone put files into the old result while this command ran: keep both.
                    drop(guard);
                    let kept = keep_beside(dir, &self.dest)?;
                    return Err(e.context(format!(
                        "the new result was kept in {} instead",
                        kept.display()
                    )));
                }
            }
        } else {
            None
        };
        let tmp = dir.keep();
        match old_owned {
            Some(owned) => {
                let old = sibling(&self.dest, &format!(".old-{}", std::process::id()))?;
                fs::rename(&self.dest, &old)
                    .with_context(|| format!("moving aside {}", self.dest.display()))?;
                fs::rename(&tmp, &self.dest)
                    .with_context(|| format!("renaming into {}", self.dest.display()))?;
                drop(guard);
                let _ = fs::remove_file(self.dest.join(STAGING_SENTINEL));
                remove_owned(&old, &owned.files, &self.foreign)?;
            }
            None => {
                fs::rename(&tmp, &self.dest)
                    .with_context(|| format!("renaming into {}", self.dest.display()))?;
                drop(guard);
                let _ = fs::remove_file(self.dest.join(STAGING_SENTINEL));
            }
        }
        Ok(self.dest.clone())
    }
}

impl Drop for Staging {
    /// Removes the staging folder (unless committed) and the lock file while holding the list
    /// of live folders, so that a second signal never exits between the two.
    fn drop(&mut self) {
        let mut guard = live();
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
        let _ = fs::remove_file(&self.lock.path);
        guard.retain(|(_, lock)| lock != &self.lock.path);
    }
}

/// Moves a finished staging folder to a visible name beside `dest` so that nothing is lost.
fn keep_beside(dir: tempfile::TempDir, dest: &Path) -> Result<PathBuf> {
    let base = format!("{}.new", file_name(dest)?);
    let parent = parent_of(dest);
    let tmp = dir.keep();
    for i in 0..1000u32 {
        let name = if i == 0 {
            base.clone()
        } else {
            format!("{base}-{i}")
        };
        let target = parent.join(name);
        if fs::symlink_metadata(&target).is_err() {
            fs::rename(&tmp, &target)
                .with_context(|| format!("renaming into {}", target.display()))?;
            return Ok(target);
        }
    }
    Ok(tmp)
}

/// What a destination's marker says l2sim owns there.
struct Owned {
    /// Relative path → SHA-256 (hex).
    files: BTreeMap<PathBuf, String>,
}

/// Reads `dest`'s marker and checks that the folder holds exactly its files, unchanged. With
/// `tolerant`, files l2sim did not write (or changed) are allowed (they are carried over, not
/// removed: `plot`), and the owned list is what still matches.
fn owned_files(dest: &Path, tolerant: bool) -> Result<Owned> {
    let marker = dest.join(MARKER);
    let files = content_files(dest)?;
    let listed = if fs::symlink_metadata(&marker).is_ok() {
        read_marker(&marker)?
    } else if files.is_empty() && empty_tree(dest) {
        BTreeMap::new()
    } else if tolerant {
        return Err(Refused::Unusable {
            dest: dest.to_path_buf(),
            why: format!("not an output folder of l2sim (no {MARKER} marker)"),
        }
        .into());
    } else {
        let mut names = files.clone();
        names.extend(unlisted_folders(dest, &BTreeMap::new())?);
        return Err(foreign(dest, names));
    };
    let mut unknown = Vec::new();
    let mut owned = BTreeMap::new();
    for rel in &files {
        match listed.get(rel) {
            Some(hash) if &sha256_file(&dest.join(rel))? == hash => {
                owned.insert(rel.clone(), hash.clone());
            }
            Some(_) => unknown.push(PathBuf::from(format!(
                "{} (changed since l2sim wrote it)",
                rel.display()
            ))),
            None => unknown.push(rel.clone()),
        }
    }
    if !tolerant {
        unknown.extend(unlisted_folders(dest, &listed)?);
        if !unknown.is_empty() {
            return Err(foreign(dest, unknown));
        }
    }
    Ok(Owned { files: owned })
}

/// The files a marker lists. A marker of an earlier l2sim (`written by l2sim`, no list) lists
/// nothing: its folder's files are then l2sim's only by hearsay, and refused.
fn read_marker(marker: &Path) -> Result<BTreeMap<PathBuf, String>> {
    let text = input::read_text(marker, input::MAX_TOML_BYTES)
        .with_context(|| format!("reading {}", marker.display()))?;
    let mut listed = BTreeMap::new();
    if text.trim() == "written by l2sim" {
        return Ok(listed);
    }
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let entry = line.split_once("  ").and_then(|(hash, rel)| {
            let hex = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
            Some((hash, relative_path(rel).filter(|_| hex)?))
        });
        let Some((hash, rel)) = entry else {
            return Err(corrupt_marker(marker, line));
        };
        listed.insert(rel.to_path_buf(), hash.to_string());
    }
    Ok(listed)
}

fn corrupt_marker(marker: &Path, line: &str) -> anyhow::Error {
    Refused::Unusable {
        dest: marker.to_path_buf(),
        why: format!(
            "not a marker l2sim wrote (line {line:?}); l2sim will not replace this folder: remove it yourself or choose another --out"
        ),
    }
    .into()
}

fn foreign(dest: &Path, names: Vec<PathBuf>) -> anyhow::Error {
    Refused::Foreign {
        dest: dest.to_path_buf(),
        list: list(&names),
    }
    .into()
}

fn list(names: &[PathBuf]) -> String {
    let mut shown: Vec<String> = names
        .iter()
        .take(5)
        .map(|n| n.display().to_string())
        .collect();
    if names.len() > 5 {
        shown.push(format!("and {} more", names.len() - 5));
    }
    shown.join(", ")
}

/// Folders under `dest` that hold no listed file (an empty folder someone made).
fn unlisted_folders(dest: &Path, listed: &BTreeMap<PathBuf, String>) -> Result<Vec<PathBuf>> {
    let mut ancestors = BTreeSet::new();
    for rel in listed.keys() {
        for a in rel.ancestors().skip(1) {
            ancestors.insert(a.to_path_buf());
        }
    }
    let mut found = Vec::new();
    for rel in walk_dirs(dest)? {
        if !ancestors.contains(&rel) {
            found.push(PathBuf::from(format!("{}/", rel.display())));
        }
    }
    Ok(found)
}

fn empty_tree(dest: &Path) -> bool {
    fs::read_dir(dest)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
}

/// Whether `rel` (relative to a folder l2sim writes) is one of its bookkeeping files: the
/// marker or the staging sentinel.
pub fn is_bookkeeping(rel: &Path) -> bool {
    rel == Path::new(MARKER) || rel == Path::new(STAGING_SENTINEL)
}

/// The files of a folder besides l2sim's bookkeeping, relative, sorted.
pub fn content_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = walk_files(root)?;
    files.retain(|f| !is_bookkeeping(f));
    Ok(files)
}

/// Every file (and symbolic link, never followed) under `root`, relative, sorted.
fn walk_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    walk(root, Path::new(""), &mut out, &mut Vec::new())?;
    out.sort();
    Ok(out)
}

/// Every folder under `root` (not `root` itself), relative, sorted.
fn walk_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    walk(root, Path::new(""), &mut Vec::new(), &mut dirs)?;
    dirs.sort();
    Ok(dirs)
}

fn walk(root: &Path, rel: &Path, files: &mut Vec<PathBuf>, dirs: &mut Vec<PathBuf>) -> Result<()> {
    let dir = root.join(rel);
    let entries = fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let sub = rel.join(entry.file_name());
        let kind = entry
            .file_type()
            .with_context(|| format!("reading {}", entry.path().display()))?;
        if kind.is_dir() {
            dirs.push(sub.clone());
            walk(root, &sub, files, dirs)?;
        } else {
            files.push(sub);
        }
    }
    Ok(())
}

/// Writes `dir`'s marker: every file under it but `foreign`, with its SHA-256.
fn write_marker(dir: &Path, foreign: &BTreeSet<PathBuf>) -> Result<()> {
    let mut text = String::from(MARKER_HEADER);
    for rel in content_files(dir)? {
        if foreign.contains(&rel) {
            continue;
        }
        let hash = sha256_file(&dir.join(&rel))?;
        text.push_str(&format!("{hash}  {}\n", rel.display()));
    }
    let path = dir.join(MARKER);
    fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

/// SHA-256 of a file's bytes, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    Ok(file_sha256(path)?.1)
}

/// Size and hex SHA-256 of a file, read in pieces.
pub fn file_sha256(path: &Path) -> Result<(u64, String)> {
    let mut f = fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hex(&hasher.finalize())))
}

/// Bytes as lower-case hex.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Removes an earlier result file by file from its list, then its folders bottom-up with
/// `rmdir`; `carried` are files linked into the new result (the same data survives there).
/// Whatever is left (a file that appeared meanwhile) stays, and is reported.
fn remove_owned(
    old: &Path,
    owned: &BTreeMap<PathBuf, String>,
    carried: &BTreeSet<PathBuf>,
) -> Result<()> {
    for rel in owned.keys().chain(carried) {
        let _ = fs::remove_file(old.join(rel));
    }
    let _ = fs::remove_file(old.join(MARKER));
    let mut dirs = walk_dirs(old).unwrap_or_default();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in dirs {
        let _ = fs::remove_dir(old.join(d));
    }
    if fs::remove_dir(old).is_err() && old.exists() {
        anyhow::bail!(
            "{} holds files l2sim did not write that appeared while it ran; they were kept there",
            old.display()
        );
    }
    Ok(())
}

/// Finds what killed commands left beside `dest` (parent `parent`, name `name`): staging folders
/// (marked by [`STAGING_SENTINEL`]) are removed; an earlier result moved aside by a commit that
/// did not finish is restored when the destination is missing, else removed by its list.
fn clean_stale(parent: &Path, name: &str, dest: &Path) -> Result<Vec<String>> {
    let prefix = format!(".{name}.tmp-");
    let old_prefix = format!(".{name}.old-");
    let mut notes = Vec::new();
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(notes);
    };
    let mut found: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    found.sort();
    for path in found {
        let Some(entry) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if !is_dir {
            continue;
        }
        let random = |p: &str| {
            entry.strip_prefix(p).is_some_and(|rest| {
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric())
            })
        };
        if random(&prefix) && path.join(STAGING_SENTINEL).is_file() {
            fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
            notes.push(format!(
                "removed {}, left by an interrupted l2sim",
                path.display()
            ));
        } else if random(&old_prefix) && path.join(MARKER).is_file() {
            if fs::symlink_metadata(dest).is_err() {
                fs::rename(&path, dest).with_context(|| format!("restoring {}", dest.display()))?;
                notes.push(format!(
                    "restored {} from {}, moved aside by an interrupted l2sim",
                    dest.display(),
                    path.display()
                ));
            } else {
                match owned_files(&path, false) {
                    Ok(owned) => {
                        remove_owned(&path, &owned.files, &BTreeSet::new())?;
                        notes.push(format!(
                            "removed {}, an earlier result an interrupted l2sim had moved aside",
                            path.display()
                        ));
                    }
                    Err(e) => notes.push(format!("left {} in place: {e:#}", path.display())),
                }
            }
        }
    }
    Ok(notes)
}

/// A file being written whose errors name it: a full disk or a file-size limit is reported as
/// `PATH: No space left on device`, whichever writer (csv, Parquet, snap) sits on top.
pub struct NamedFile {
    file: fs::File,
    path: PathBuf,
}

impl NamedFile {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> Result<NamedFile> {
        let file =
            fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(NamedFile {
            file,
            path: path.to_path_buf(),
        })
    }

    fn name(&self, e: std::io::Error) -> std::io::Error {
        std::io::Error::new(e.kind(), format!("writing {}: {e}", self.path.display()))
    }
}

impl Write for NamedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf).map_err(|e| self.name(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush().map_err(|e| self.name(e))
    }
}

/// A CSV writer on a [`NamedFile`].
pub fn csv_file(path: &Path) -> Result<csv::Writer<NamedFile>> {
    Ok(csv::Writer::from_writer(NamedFile::create(path)?))
}

/// Writes `text` to a new file at `path`; never replaces an existing file (`l2sim init`).
pub fn create_new_file(path: &Path, text: &str) -> Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

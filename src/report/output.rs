//! Output folders that are never half-written: everything is assembled in a temporary folder next
//! to the destination and renamed into place only when complete.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Name of the marker file l2sim leaves in every output folder it creates.
pub const MARKER: &str = ".l2sim-output";

/// A temporary folder that becomes `dest` on [`Staging::commit`], and is removed if dropped.
pub struct Staging {
    dir: Option<tempfile::TempDir>,
    dest: PathBuf,
}

impl Staging {
    /// Creates the temporary folder beside `dest` (same filesystem, so the rename is atomic).
    pub fn new(dest: &Path) -> Result<Staging> {
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent)
            .with_context(|| format!("creating output folder {}", parent.display()))?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{name}.tmp-"))
            .tempdir_in(&parent)
            .with_context(|| format!("creating a temporary folder in {}", parent.display()))?;
        Ok(Staging {
            dir: Some(dir),
            dest: dest.to_path_buf(),
        })
    }

    /// Where to write files now.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().map(|d| d.path()).unwrap_or(&self.dest)
    }

    /// Writes Parquet copies of the folder's tables when `parquet`, then commits it.
    pub fn commit_with(self, parquet: bool) -> Result<PathBuf> {
        if parquet {
            super::parquet::convert_folder(self.path())?;
        }
        self.commit()
    }

    /// Moves the finished folder to `dest`, replacing an earlier result only now.
    pub fn commit(mut self) -> Result<PathBuf> {
        let Some(dir) = self.dir.take() else {
            return Ok(self.dest.clone());
        };
        fs::write(dir.path().join(MARKER), "written by l2sim\n")?;
        let tmp = dir.keep();
        if self.dest.exists() {
            let old = tmp.with_file_name(format!(
                "{}.old",
                tmp.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
            fs::rename(&self.dest, &old)
                .with_context(|| format!("moving aside {}", self.dest.display()))?;
            fs::rename(&tmp, &self.dest)
                .with_context(|| format!("renaming into {}", self.dest.display()))?;
            fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
        } else {
            fs::rename(&tmp, &self.dest)
                .with_context(|| format!("renaming into {}", self.dest.display()))?;
        }
        Ok(self.dest.clone())
    }
}

/// Writes `text` to a new file at `path`; never replaces an existing file (`l2sim init`).
pub fn create_new_file(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

//! Reading input files: the one way l2sim reads a file it is given (a scenario, the files it
//! `extends`, a series or targets CSV, a shard's manifest).
//!
//! An input must be a regular file (checked on its metadata before it is opened, so that a FIFO
//! never blocks and a device such as `/dev/zero` is never read) of at most a size limit (checked
//! before reading, and again while reading, should the file grow), and UTF-8 text. This module
//! reads but never writes.

use std::fmt;
use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

/// Largest TOML file read (a scenario, a parent it extends, a shard's manifest): 16 MiB, some
/// thousand times the largest shipped scenario.
pub const MAX_TOML_BYTES: u64 = 16 << 20;
/// Largest CSV file read (a series, calibration targets): 64 MiB, a few million rows (a
/// `date,value` row of a shipped series is 17–19 bytes, a target row about 41).
pub const MAX_CSV_BYTES: u64 = 64 << 20;

/// Why an input file could not be read.
#[derive(Debug)]
pub enum InputError {
    /// The file does not exist, or the system refused to open or read it.
    Io(std::io::Error),
    /// A folder, a FIFO, a socket or a device: not read, so that it can neither block nor
    /// stream without end.
    NotRegular(&'static str),
    /// Larger than the limit for its kind of file.
    TooLarge { limit: u64 },
    /// Not UTF-8; `offset` is the first invalid byte.
    NotUtf8 { offset: usize },
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Io(e) => write!(f, "{e}"),
            InputError::NotRegular(what) => {
                write!(
                    f,
                    "not a regular file ({what}); l2sim reads only regular files"
                )
            }
            InputError::TooLarge { limit } => write!(
                f,
                "larger than the {} MiB ({limit} bytes) l2sim reads from this kind of file",
                limit >> 20
            ),
            InputError::NotUtf8 { offset } => {
                write!(f, "not a UTF-8 text file (byte {offset} is invalid)")
            }
        }
    }
}

impl std::error::Error for InputError {}

/// What a file that is not regular is, in words.
fn kind_of(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a file"
    }
}

fn check(meta: &Metadata, limit: u64) -> Result<(), InputError> {
    if !meta.is_file() {
        return Err(InputError::NotRegular(kind_of(meta)));
    }
    if meta.len() > limit {
        return Err(InputError::TooLarge { limit });
    }
    Ok(())
}

/// Opens `path` for reading if it is a regular file of at most `limit` bytes. The metadata is
/// looked at before opening (opening a FIFO would block), and again on the opened file (in case
/// the path was replaced in between).
pub fn open(path: &Path, limit: u64) -> Result<File, InputError> {
    check(&std::fs::metadata(path).map_err(InputError::Io)?, limit)?;
    let file = File::open(path).map_err(InputError::Io)?;
    check(&file.metadata().map_err(InputError::Io)?, limit)?;
    Ok(file)
}

/// Reads the regular file at `path`, of at most `limit` bytes, as UTF-8 text.
pub fn read_text(path: &Path, limit: u64) -> Result<String, InputError> {
    let file = open(path, limit)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(InputError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(InputError::TooLarge { limit });
    }
    String::from_utf8(bytes).map_err(|e| InputError::NotUtf8 {
        offset: e.utf8_error().valid_up_to(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_devices_and_large_files_are_refused() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let e = read_text(dir, MAX_TOML_BYTES).unwrap_err();
        assert!(e.to_string().contains("a folder"), "{e}");
        let e = read_text(Path::new("/dev/zero"), MAX_TOML_BYTES).unwrap_err();
        assert!(e.to_string().contains("a character device"), "{e}");
        let manifest = dir.join("Cargo.toml");
        let e = read_text(&manifest, 10).unwrap_err();
        assert!(e.to_string().contains("(10 bytes)"), "{e}");
        assert!(read_text(&manifest, MAX_TOML_BYTES).is_ok());
    }
}

//! Files in and out. Reading what comes with a model folder or a scenario: model folders come
//! from strangers (hub downloads, conversions of GGUF files), so a file may be a link to a
//! device (`/dev/zero` never ends), a FIFO that blocks, or gigabytes of text: each is refused
//! with a message naming the file before anything reads it. Writing every output atomically,
//! so a full disk or a kill never leaves half a file.

use std::path::Path;

/// The largest text file bakeoff reads whole: 512 MiB. The largest real ones are the IR
/// `.xml` of an 8B model (tens of MiB) and a tokenizer.json (about 11 MiB for Qwen3).
pub const MAX_TEXT_BYTES: u64 = 512 << 20;

/// Why a file could not be read or written. Reading errors leave the path to the caller,
/// which names the file with what it is for.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Not there, or not readable.
    #[error("cannot read: {0}")]
    Read(std::io::Error),
    /// A device, a FIFO or a folder where a file was expected.
    #[error("not a regular file ({0}); give the file itself")]
    NotRegular(String),
    /// Larger than bakeoff reads for such a file.
    #[error("{bytes} bytes, over the {limit_mib} MiB bakeoff reads for such a file; is it the right file?")]
    TooLarge {
        /// The file's size.
        bytes: u64,
        /// The bound, MiB.
        limit_mib: u64,
    },
    /// Writing (or renaming into place) failed.
    #[error("{path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Read `path` as UTF-8 text if it is a regular file (links followed) of at most `limit`
/// bytes; the error says which of those it is not.
pub fn read_text_bounded(path: &Path, limit: u64) -> Result<String, FileError> {
    let meta = std::fs::metadata(path).map_err(FileError::Read)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular(format!("{:?}", meta.file_type())));
    }
    if meta.len() > limit {
        return Err(FileError::TooLarge { bytes: meta.len(), limit_mib: limit >> 20 });
    }
    std::fs::read_to_string(path).map_err(FileError::Read)
}

/// [`read_text_bounded`] with [`MAX_TEXT_BYTES`].
pub fn read_text(path: &Path) -> Result<String, FileError> {
    read_text_bounded(path, MAX_TEXT_BYTES)
}

/// Rewrite a file atomically: write a temporary file beside it, then rename. On failure (a
/// full disk) the old file is untouched and the temporary one removed.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or("")));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(contents)?;
        f.sync_data()
    });
    let renamed = written.and_then(|()| std::fs::rename(&tmp, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed
}

/// [`write_atomic`] of `dir/name`, the error naming the file.
pub fn write_named(dir: &Path, name: &str, contents: &[u8]) -> Result<(), FileError> {
    let path = dir.join(name);
    write_atomic(&path, contents).map_err(|source| FileError::Write { path: path.display().to_string(), source })
}

/// The sha256 of a file as lower-case hex, read in a stream (a model's weights are
/// gigabytes: never read whole).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(format!("{:x}", hasher.finalize()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn devices_and_oversized_files_are_refused_before_reading() {
        let e = super::read_text(std::path::Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(e.starts_with("not a regular file"), "{e}");
        let tmp = tempfile::tempdir().unwrap();
        let big = tmp.path().join("big.json");
        std::fs::write(&big, vec![b' '; 2048]).unwrap();
        assert!(super::read_text_bounded(&big, 1024).unwrap_err().to_string().contains("2048 bytes"));
        assert_eq!(super::read_text_bounded(&big, 4096).unwrap().len(), 2048);
    }
}

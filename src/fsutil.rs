//! File-system helpers shared by every command that writes a file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes the temporary files of one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The files this process reads as its inputs (model, data, fit files), as
/// canonical paths: [`write_atomically`] refuses to replace them, whatever
/// output names them (a figure of a fixed name in the data's folder, a
/// REPL `:save` onto the data file).
static INPUTS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Marks `path` as one of this process's inputs, where it exists.
pub fn protect_input(path: &Path) {
    if let Ok(canonical) = std::fs::canonicalize(path) {
        if let Ok(mut inputs) = INPUTS.lock() {
            inputs.push(canonical);
        }
    }
}

/// Whether `path` exists and is one of the inputs marked by
/// [`protect_input`].
fn is_protected_input(path: &Path) -> bool {
    let Ok(canonical) = std::fs::canonicalize(path) else {
        return false;
    };
    INPUTS
        .lock()
        .is_ok_and(|inputs| inputs.contains(&canonical))
}

/// Writes `bytes` to `path` completely or not at all: into a temporary file
/// in the same folder (named after `path`, the process id and a counter, so
/// concurrent writers never share one), flushed to disk, then renamed over
/// `path` (a rename within one folder replaces the file in one step).
///
/// A symbolic link is followed: its target is replaced, the link stays. A
/// path that is neither a regular file nor absent (a device such as
/// `/dev/stdout` or `/dev/null`, a named pipe) is written to directly, since
/// replacing it would destroy it; there "all or nothing" cannot hold.
///
/// # Errors
///
/// Any I/O error; the temporary file is removed and `path` is untouched.
/// The first of `inputs` that `out` names too (the same file by another
/// path or through a link), where `out` exists.
pub fn input_named_by<'a, T>(out: &Path, inputs: &'a [(&Path, T)]) -> Option<&'a (&'a Path, T)> {
    let out = std::fs::canonicalize(out).ok()?;
    inputs
        .iter()
        .find(|(p, _)| std::fs::canonicalize(p).is_ok_and(|c| c == out))
}

pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if is_protected_input(path) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is one of the files this command reads, and is left as it was",
        ));
    }
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            resolved = std::fs::canonicalize(path)
                .or_else(|_| std::fs::read_link(path).map(|t| link_target(path, &t)))?;
            resolved.as_path()
        }
        _ => path,
    };
    if let Ok(m) = std::fs::metadata(path) {
        if !m.is_file() && !m.is_dir() {
            let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
            return f.write_all(bytes).and_then(|_| f.flush());
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_string());
    let count = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{file_name}.{}.{count}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Where a link that points to a file not yet there leads: its target,
/// taken relative to the link's folder unless absolute.
fn link_target(link: &Path, target: &Path) -> PathBuf {
    match link.parent() {
        Some(dir) if target.is_relative() => dir.join(target),
        _ => target.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .expect("lists")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .count()
    }

    #[test]
    fn atomic_write_replaces_the_whole_file() {
        let dir = std::env::temp_dir().join(format!("nll-fsutil-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("fit.json");
        write_atomically(&path, b"first version, long text").expect("writes");
        write_atomically(&path, b"second").expect("writes");
        assert_eq!(std::fs::read(&path).expect("reads"), b"second");
        assert_eq!(leftovers(&dir), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn failed_write_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("nll-fsutil-fail-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("taken")).expect("temp dir");
        // A directory where the file should go: the rename fails.
        let err = write_atomically(&dir.join("taken"), b"text");
        assert!(err.is_err());
        assert!(dir.join("taken").is_dir());
        assert_eq!(leftovers(&dir), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_and_devices_written_in_place() {
        let dir = std::env::temp_dir().join(format!("nll-fsutil-link-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let target = dir.join("target.txt");
        std::fs::write(&target, b"old").expect("writes");
        let link = dir.join("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("target.txt", &link).expect("links");
        write_atomically(&link, b"new").expect("writes");
        assert!(std::fs::symlink_metadata(&link)
            .expect("exists")
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).expect("reads"), b"new");
        // A character device stays one.
        write_atomically(Path::new("/dev/null"), b"discarded").expect("writes");
        let m = std::fs::metadata("/dev/null").expect("exists");
        assert!(!m.is_file());
        assert_eq!(leftovers(&dir), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

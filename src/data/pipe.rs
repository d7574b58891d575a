//! Data from a pipe or a device (`/dev/stdin`, a shell's `<(...)`, a
//! FIFO): such a path gives its bytes to the first reader only, so it is
//! read whole once, kept by path, and parsed from memory as CSV.

use std::fs::File;
use std::io;
use std::path::Path;

use super::columns::unreadable;
use super::error::{DataError, DataProblem};
use super::load::{load_from_reader, read_header_names};
use super::rows::RowReader;
use super::{ColumnRequest, DataSet, LoadOptions};

/// The whole contents of a pipe or a device (`/dev/stdin`, a shell's
/// `<(...)`, a FIFO), read once per process and kept: such a path gives
/// its bytes to the first reader only, and commands that load their data
/// twice (`compare`, a split column, the REPL's `:data` and every refit)
/// would otherwise find it empty, or, for a FIFO, wait for a writer that
/// is gone.
fn piped_bytes(path: &Path) -> io::Result<std::sync::Arc<Vec<u8>>> {
    use std::io::Read;
    use std::sync::Arc;
    let mut read = piped_store();
    if let Some(bytes) = read.get(path) {
        return Ok(Arc::clone(bytes));
    }
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let bytes = Arc::new(bytes);
    read.insert(path.to_path_buf(), Arc::clone(&bytes));
    Ok(bytes)
}

/// The pipes read so far, by path.
type PipedStore = std::collections::HashMap<std::path::PathBuf, std::sync::Arc<Vec<u8>>>;

fn piped_store() -> std::sync::MutexGuard<'static, PipedStore> {
    use std::sync::{Mutex, OnceLock};
    static READ: OnceLock<Mutex<PipedStore>> = OnceLock::new();
    READ.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Forgets what was read from the pipe at `path`, so that the next load
/// reads it again (the REPL's `:data`, given the same FIFO anew).
pub fn forget_piped(path: &Path) {
    piped_store().remove(path);
}

/// Load the requested columns from a pipe or a device, read whole once
/// (see [`piped_bytes`]) and parsed as CSV. Arrow data is refused there:
/// it is read by mapping a file into memory.
///
/// # Errors
///
/// As for [`super::load_csv`]; E301 for Arrow data.
pub(super) fn load(
    path: &Path,
    requests: &[ColumnRequest],
    opts: &LoadOptions,
) -> Result<DataSet, DataError> {
    let name = path.display().to_string();
    let fail = |problem| DataError {
        problems: vec![problem],
        source_name: name.clone(),
    };
    let bytes = piped_bytes(path).map_err(|err| fail(unreadable(&name, &err)))?;
    if super::arrow::is_arrow_start(&bytes) {
        return Err(fail(DataProblem::FileUnreadable {
            path: name.clone(),
            reason: "it holds Arrow data, which is read from a file, not from a pipe or a device; save it to a file first".into(),
            io_kind: io::ErrorKind::Unsupported,
        }));
    }
    load_from_reader(&bytes[..], &name, requests, opts)
}

/// The trimmed column names in the header of CSV from a pipe or a device,
/// read whole once (see [`piped_bytes`]).
///
/// # Errors
///
/// As for [`super::read_header`].
pub(super) fn read_header(path: &Path) -> Result<Vec<String>, DataError> {
    let name = path.display().to_string();
    let fail = |problems| DataError {
        source_name: name.clone(),
        problems,
    };
    let bytes = piped_bytes(path).map_err(|err| fail(vec![unreadable(&name, &err)]))?;
    let mut reader = RowReader::new(&bytes[..]);
    read_header_names(&mut reader, &name).map_err(fail)
}

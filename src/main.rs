/// Stack size of the thread that runs the command. Models are trees that the
/// parser, checker and compiler walk recursively; a generous stack lets a
/// statement with thousands of terms be processed instead of overflowing.
/// Only the pages actually used are committed by the operating system.
const STACK_BYTES: usize = 512 * 1024 * 1024;

/// Large buffers (the data columns above all) on huge pages: see
/// [`nll::pages`].
#[global_allocator]
static ALLOCATOR: nll::pages::HugePageAlloc = nll::pages::HugePageAlloc;

fn main() {
    // A reader that goes away (`nll ... 2>&1 | head`) ends the process
    // quietly, as for any command-line tool, instead of a failed write to
    // standard error turning into a panic.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default before any
    // thread is started has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let worker = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(nll::cli::run);
    let code = match worker {
        Ok(handle) => handle.join().unwrap_or(101),
        Err(_) => nll::cli::run(),
    };
    std::process::exit(code);
}

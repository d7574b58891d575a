/// Data columns on cache lines (see `nll::alloc`).
#[global_allocator]
static ALLOCATOR: nll::alloc::CacheLineAligned = nll::alloc::CacheLineAligned;

/// Stack size of the thread that runs the command. Models are trees that the
/// parser, checker and compiler walk recursively; a generous stack lets a
/// statement with thousands of terms be processed instead of overflowing.
/// Only the pages actually used are committed by the operating system.
const STACK_BYTES: usize = 512 * 1024 * 1024;

/// Data files are mapped into memory while they load. One that another
/// program cuts short meanwhile makes reading its lost pages raise SIGBUS:
/// the process then says what happened and exits as for any unreadable
/// input, instead of dying of the signal.
#[cfg(unix)]
extern "C" fn on_bus_error(_: libc::c_int) {
    const MESSAGE: &[u8] = b"error: a file nll was reading was cut short by another program (or its storage failed) while it was read; nothing more was done\n";
    static IS_REPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    // Threads reading the same lost pages fault together: the first one
    // reports and ends the process, the others wait for that.
    if IS_REPORTED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        loop {
            // SAFETY: pause is async-signal-safe.
            unsafe { libc::pause() };
        }
    }
    // SAFETY: write and _exit are async-signal-safe, and MESSAGE lives for
    // the whole program.
    unsafe {
        libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
        libc::_exit(1);
    }
}

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
    #[cfg(unix)]
    // SAFETY: as above; the handler calls only async-signal-safe functions.
    unsafe {
        libc::signal(
            libc::SIGBUS,
            on_bus_error as *const () as libc::sighandler_t,
        );
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

//! Ctrl-C while a command runs.
//!
//! While rustyline reads a line the terminal is in raw mode, and Ctrl-C
//! arrives as a key: it cancels the input. While a command runs (a fit) the
//! terminal is in its usual mode, and Ctrl-C sends SIGINT, which would end
//! the process. [`Guard`] installs, for its lifetime, a SIGINT handler that
//! raises a [`CancelFlag`] instead; the optimizer checks the flag before each
//! iteration, so the fit stops within one iteration and the prompt returns.
//!
//! Commands that do not check the flag (loading data, compiling) go on
//! after Ctrl-C; a second Ctrl-C before they end leaves the process.
//!
//! Only Unix has the handler. Elsewhere Ctrl-C during a fit ends the
//! process, as it does for `nll fit`.

use std::sync::OnceLock;

use crate::optim::CancelFlag;

/// The flag the handler raises. Set once, before the first handler is
/// installed; a signal handler may only read it.
static FLAG: OnceLock<CancelFlag> = OnceLock::new();

/// While alive, SIGINT raises the session's cancel flag.
pub struct Guard {
    #[cfg(unix)]
    previous: libc::sighandler_t,
}

impl Guard {
    /// Lowers `flag` and routes SIGINT to it until the guard is dropped.
    /// All sessions of a process share the first flag given.
    pub fn install(flag: &CancelFlag) -> Guard {
        let flag = FLAG.get_or_init(|| flag.clone());
        flag.reset();
        #[cfg(unix)]
        {
            extern "C" fn on_sigint(_: libc::c_int) {
                let Some(f) = FLAG.get() else { return };
                if f.is_cancelled() {
                    // A second Ctrl-C before the command noticed the first:
                    // it is stuck in something that does not check the flag
                    // (reading a large file, say). Leave as SIGINT would,
                    // with the shell's status for it.
                    // SAFETY: `_exit` is async-signal-safe.
                    unsafe { libc::_exit(130) };
                }
                f.cancel();
            }
            let handler: extern "C" fn(libc::c_int) = on_sigint;
            // SAFETY: the handler only reads an initialised OnceLock and
            // stores to an atomic, both async-signal-safe.
            let previous = unsafe { libc::signal(libc::SIGINT, handler as libc::sighandler_t) };
            Guard { previous }
        }
        #[cfg(not(unix))]
        Guard {}
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: puts back the handler that was there before `install`.
        unsafe {
            libc::signal(libc::SIGINT, self.previous);
        }
    }
}

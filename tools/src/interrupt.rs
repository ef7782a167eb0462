//! SIGINT / SIGTERM for long commands. The first signal asks the running
//! command to stop at its next clean point: it writes what it has (summary,
//! `--json` marked `"interrupted": true`, a valid `.sigmf-meta`) and exits
//! with [`EXIT_INTERRUPTED`]. A second signal exits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Exit status of a command stopped by a signal (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Set by the first signal; shared with whatever polls it.
fn flag() -> &'static Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Installs the handler (once per process; later calls do nothing).
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let stop = Arc::clone(flag());
        let installed = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                // Second signal: abort now, nothing more is written.
                std::process::exit(EXIT_INTERRUPTED as i32);
            }
            eprintln!("\ninterrupted: stopping at the next clean point (again to abort)");
        });
        if let Err(e) = installed {
            eprintln!("warning: no Ctrl-C handler ({e}): a signal ends the run without output");
        }
    });
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    flag().load(Ordering::Relaxed)
}

/// The shared flag, for code that takes an `Arc<AtomicBool>` stop signal.
pub fn stop_flag() -> Arc<AtomicBool> {
    Arc::clone(flag())
}

/// The exit status for a command that finished (`Ok`) or was interrupted.
pub fn exit_code(interrupted: bool, ok: std::process::ExitCode) -> std::process::ExitCode {
    if interrupted {
        std::process::ExitCode::from(EXIT_INTERRUPTED)
    } else {
        ok
    }
}

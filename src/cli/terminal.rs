//! How the command line shows a job: log lines and an indicatif bar on stderr (a bar only when
//! stderr is a terminal), and the SIGINT/SIGTERM flag that cancels it.

use std::io::IsTerminal;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};

use crate::app::{Level, Message, Progress};

/// `--quiet` and `--verbose`, and the bar of the batch running now.
pub(super) struct Terminal {
    pub(super) quiet: bool,
    pub(super) verbose: u8,
    bar: Mutex<Option<indicatif::ProgressBar>>,
}

impl Terminal {
    pub(super) fn new(quiet: bool, verbose: u8) -> Terminal {
        Terminal {
            quiet,
            verbose,
            bar: Mutex::new(None),
        }
    }

    /// A bar of `total` steps drawn with `template`, only on a terminal and without `--quiet`.
    fn start_bar(&self, total: u64, template: &str) {
        if self.quiet || !std::io::stderr().is_terminal() {
            return;
        }
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        *self.bar() = Some(bar);
    }

    fn bar(&self) -> std::sync::MutexGuard<'_, Option<indicatif::ProgressBar>> {
        self.bar.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Progress for Terminal {
    fn message(&self, m: &Message) {
        let show = match m.level {
            Level::Info => !self.quiet,
            Level::Detail => self.verbose > 0,
        };
        if show {
            eprintln!("l2sim: {}", m.text);
        }
    }

    fn runs_started(&self, total: u64) {
        self.start_bar(total, "{bar:40} {pos}/{len} runs  {per_sec}  ETA {eta}");
    }

    fn runs_done(&self, done: u64) {
        if let Some(b) = self.bar().as_ref() {
            b.set_position(done);
        }
    }

    fn runs_finished(&self) {
        if let Some(b) = self.bar().take() {
            b.finish_and_clear();
        }
    }

    fn evaluations_started(&self, budget: u64) {
        self.start_bar(
            budget,
            "{bar:40} {pos}/{len} evaluations  best loss {msg}  {elapsed} elapsed, ETA {eta}",
        );
    }

    fn evaluations_done(&self, done: u64, best_loss: f64) {
        if let Some(b) = self.bar().as_ref() {
            b.set_position(done);
            b.set_message(format!("{best_loss:.6}"));
        }
    }

    fn evaluations_finished(&self) {
        self.runs_finished();
    }
}

/// A flag that SIGINT and SIGTERM set: the job stops at its next check (a simulated day, a
/// stage of writing, the commit), the staging folder is removed, earlier results stay untouched,
/// and l2sim exits with 130. A second SIGINT or SIGTERM removes every staging folder of the
/// process (waiting for a commit in progress, so a destination is never left half-replaced) and
/// exits with 130 at once.
pub(super) fn interrupt_flag() -> &'static Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
        ]);
        match signals {
            Ok(mut signals) => {
                let seen = Arc::clone(&flag);
                std::thread::spawn(move || {
                    for _ in signals.forever() {
                        if seen.swap(true, std::sync::atomic::Ordering::SeqCst) {
                            crate::report::abandon_all();
                            std::process::exit(130);
                        }
                    }
                });
            }
            // Registration only fails for forbidden signals; fall back to the plain flag.
            Err(_) => {
                for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                    let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
                }
            }
        }
        flag
    })
}

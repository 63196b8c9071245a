//! How the command line shows a job: log lines and an indicatif bar on stderr (a bar when
//! stderr is a terminal; otherwise, in a notebook or a Slurm log, a progress line at every
//! tenth of the work or every minute), and the SIGINT/SIGTERM flag that cancels it.

use std::io::IsTerminal;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::app::{Level, Message, Progress};

/// `--quiet` and `--verbose`, and the bar of the batch running now.
pub(super) struct Terminal {
    pub(super) quiet: bool,
    pub(super) verbose: u8,
    bar: Mutex<Option<indicatif::ProgressBar>>,
    /// Progress lines instead of a bar when stderr is not a terminal.
    lines: Mutex<Option<Lines>>,
}

/// Progress as lines: what is counted, out of how many, since when, and the last line printed.
struct Lines {
    what: &'static str,
    total: u64,
    started: Instant,
    printed_at: Instant,
    printed_tenth: u64,
}

/// Longest quiet spell between progress lines.
const LINE_EVERY: Duration = Duration::from_secs(60);

impl Lines {
    /// The progress line for `done`, when a new tenth of the work is done or a minute passed.
    fn line(&mut self, done: u64, extra: &str) -> Option<String> {
        let tenth = done * 10 / self.total.max(1);
        let now = Instant::now();
        if tenth <= self.printed_tenth && now - self.printed_at < LINE_EVERY {
            return None;
        }
        self.printed_tenth = tenth;
        self.printed_at = now;
        let elapsed = (now - self.started).as_secs_f64();
        let eta = if done > 0 && done < self.total {
            format!(
                ", about {:.0} s to go",
                elapsed * (self.total - done) as f64 / done as f64
            )
        } else {
            String::new()
        };
        Some(format!(
            "{done}/{} {} ({:.0} %) in {elapsed:.0} s{eta}{extra}",
            self.total,
            self.what,
            100.0 * done as f64 / self.total.max(1) as f64
        ))
    }
}

impl Terminal {
    /// Progress on this terminal, cancellable by SIGINT and SIGTERM.
    pub(super) fn control(&self) -> crate::app::Control<'_> {
        crate::app::Control {
            progress: self,
            cancel: Some(interrupt_flag()),
        }
    }

    pub(super) fn new(quiet: bool, verbose: u8) -> Terminal {
        Terminal {
            quiet,
            verbose,
            bar: Mutex::new(None),
            lines: Mutex::new(None),
        }
    }

    /// A bar of `total` steps drawn with `template` on a terminal, else progress lines counting
    /// `what`; nothing with `--quiet`.
    fn start_bar(&self, total: u64, template: &str, what: &'static str) {
        if self.quiet {
            return;
        }
        if !std::io::stderr().is_terminal() {
            let now = Instant::now();
            *self.lines() = Some(Lines {
                what,
                total,
                started: now,
                printed_at: now,
                printed_tenth: 0,
            });
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

    fn lines(&self) -> std::sync::MutexGuard<'_, Option<Lines>> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Prints a progress line for `done` when one is due (stderr not a terminal).
    fn progress_line(&self, done: u64, extra: &str) {
        if let Some(line) = self.lines().as_mut().and_then(|l| l.line(done, extra)) {
            eprintln!("l2sim: {line}");
        }
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
        self.start_bar(
            total,
            "{bar:40} {pos}/{len} runs  {per_sec}  ETA {eta}",
            "runs",
        );
    }

    fn runs_done(&self, done: u64) {
        if let Some(b) = self.bar().as_ref() {
            b.set_position(done);
        }
        self.progress_line(done, "");
    }

    fn runs_finished(&self) {
        if let Some(b) = self.bar().take() {
            b.finish_and_clear();
        }
        self.lines().take();
    }

    fn evaluations_started(&self, budget: u64) {
        self.start_bar(
            budget,
            "{bar:40} {pos}/{len} evaluations  best loss {msg}  {elapsed} elapsed, ETA {eta}",
            "evaluations",
        );
    }

    fn evaluations_done(&self, done: u64, best_loss: f64) {
        if let Some(b) = self.bar().as_ref() {
            b.set_position(done);
            b.set_message(format!("{best_loss:.6}"));
        }
        self.progress_line(done, &format!("; best loss {best_loss:.6}"));
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

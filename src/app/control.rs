//! How a caller watches and stops a job: a [`Progress`] that is told what happens, and a
//! cancellation flag. The library never prints: the command line turns these calls into
//! indicatif bars and log lines, a notebook into its own widgets.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How much a message matters: `Info` is a stage of the job, `Detail` what `-v` adds (settings,
/// the resource estimate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Detail,
}

/// A line for people about the job (its settings, a stage ending, timings).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub level: Level,
    pub text: String,
}

/// Told what a job does, from whichever thread runs it. Every method has a default that ignores
/// the call.
pub trait Progress: Sync {
    fn message(&self, _message: &Message) {}
    /// A batch of `total` runs begins (a sweep shard starts one per point it computes).
    fn runs_started(&self, _total: u64) {}
    /// `done` runs of the current batch are finished (called after every chunk of runs).
    fn runs_done(&self, _done: u64) {}
    /// The current batch is over.
    fn runs_finished(&self) {}
    /// A calibration of `budget` evaluations begins.
    fn evaluations_started(&self, _budget: u64) {}
    /// `done` evaluations of the search are finished; the best in-sample loss so far.
    fn evaluations_done(&self, _done: u64, _best_loss: f64) {}
    /// The calibration's search and profile are over.
    fn evaluations_finished(&self) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}

/// What a job is given besides its options: who watches it and the flag that stops it.
#[derive(Clone, Copy)]
pub struct Control<'a> {
    pub progress: &'a dyn Progress,
    /// Set it (from a signal handler, a button, another thread) to stop the job: runs stop at
    /// their next daily tick, nothing is written, and the job returns
    /// [`super::Error::Interrupted`].
    pub cancel: Option<&'a Arc<AtomicBool>>,
}

impl Control<'static> {
    /// No progress, no cancellation.
    pub fn silent() -> Control<'static> {
        Control {
            progress: &Silent,
            cancel: None,
        }
    }
}

impl Control<'_> {
    pub(super) fn info(&self, text: String) {
        self.progress.message(&Message {
            level: Level::Info,
            text,
        });
    }

    pub(super) fn detail(&self, text: String) {
        self.progress.message(&Message {
            level: Level::Detail,
            text,
        });
    }

    /// Whether the job was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

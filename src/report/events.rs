//! `events.csv`: what happened in every run, streamed in run order beside `runs.csv` (so shards
//! concatenate), from the engine's event log (docs/MODEL.md §7).

use std::io::BufWriter;
use std::path::Path;

use anyhow::Result;

use super::output::NamedFile;
use crate::engine::{Layout, RunEvent, RunOutput};

use super::format::num as float;

/// Streams `events.csv`: `run,day,date,kind,chain,amount_usd`, one row per event of every run.
pub struct EventsWriter {
    w: csv::Writer<BufWriter<NamedFile>>,
}

impl EventsWriter {
    pub fn create(path: &Path) -> Result<EventsWriter> {
        let mut w = csv::Writer::from_writer(BufWriter::new(NamedFile::create(path)?));
        w.write_record(["run", "day", "date", "kind", "chain", "amount_usd"])?;
        Ok(EventsWriter { w })
    }

    pub fn write(&mut self, layout: &Layout, out: &RunOutput) -> Result<()> {
        self.write_events(layout, out.run, &out.log)
    }

    /// The rows of run `run`'s events, in the order they happened.
    pub fn write_events(&mut self, layout: &Layout, run: u64, log: &[RunEvent]) -> Result<()> {
        let run = run.to_string();
        for e in log {
            let date = layout.calendar.map(|c| c.label(e.day)).unwrap_or_default();
            let chain = e
                .chain
                .and_then(|c| layout.chain_ids.get(c as usize))
                .map_or("", |s| s.as_str());
            self.w.write_record([
                run.as_str(),
                &float(e.day),
                &date,
                &e.kind.label(),
                chain,
                &float(e.amount_usd),
            ])?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.w.flush()?;
        Ok(())
    }
}

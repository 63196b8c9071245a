//! The event queue: a binary heap ordered by `(time, priority, sequence)`.
//!
//! Equal times resolve by a fixed priority class (daily tick, then scenario changes, then agent
//! activity, then the sample), and within a class by insertion order, so a run never depends on
//! heap internals.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Tie-break class of events scheduled at the same instant, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Tick = 0,
    Change = 1,
    Activity = 2,
    Sample = 3,
}

struct Entry<E> {
    time: f64,
    /// Priority in the top byte, insertion sequence below: one integer comparison breaks ties.
    key: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest entry.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .total_cmp(&self.time)
            .then(other.key.cmp(&self.key))
    }
}

/// Min-queue of timed events.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    pub fn push(&mut self, time: f64, priority: Priority, event: E) {
        let key = (priority as u64) << 56 | self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { time, key, event });
    }

    /// Time and priority of the earliest event, without removing it.
    pub fn peek(&self) -> Option<(f64, Priority)> {
        self.heap.peek().map(|e| {
            let p = match e.key >> 56 {
                0 => Priority::Tick,
                1 => Priority::Change,
                2 => Priority::Activity,
                _ => Priority::Sample,
            };
            (e.time, p)
        })
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(f64, E)> {
        self.heap.pop().map(|e| (e.time, e.event))
    }

    /// Every pending event, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.heap.iter().map(|e| &e.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_priority_then_insertion() {
        let mut q = EventQueue::default();
        q.push(2.0, Priority::Activity, "late");
        q.push(1.0, Priority::Sample, "sample");
        q.push(1.0, Priority::Activity, "a1");
        q.push(1.0, Priority::Tick, "tick");
        q.push(1.0, Priority::Activity, "a2");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["tick", "a1", "a2", "sample", "late"]);
    }
}

//! The event queue: a binary heap ordered by `(time, priority, sequence)`, beside FIFO lanes for
//! events due a fixed delay after now.
//!
//! Equal times resolve by a fixed priority class (daily tick, then scenario changes, then agent
//! activity, then the sample), and within a class by insertion order, so a run never depends on
//! heap internals. Capital in transit is the queue's bulk (every canonical exit waits the same
//! withdrawal delay): an event pushed with [`EventQueue::push_after`] goes to the lane of its
//! delay and priority, where times only grow (now never decreases), so the lane is a FIFO and its
//! front its earliest entry. The queue pops the least of the heap's top and the lanes' fronts by
//! the same `(time, priority, sequence)` order, with one sequence counter for all: the order of
//! events is exactly that of one heap.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

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

impl<E> Entry<E> {
    /// Whether `self` comes before `other`.
    fn before(&self, other: &Entry<E>) -> bool {
        // The heap's order is reversed: earlier is greater.
        self.cmp(other).is_gt()
    }
}

/// Events pushed a fixed delay after now, with one priority: in time order by construction.
struct Lane<E> {
    /// `delay.to_bits()` and the priority.
    delay_bits: u64,
    priority: Priority,
    entries: VecDeque<Entry<E>>,
}

/// Min-queue of timed events.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    lanes: Vec<Lane<E>>,
    /// The lane whose front is the earliest of all fronts (`None` when every lane is empty).
    first_lane: Option<usize>,
    /// Time of the last event popped: `push_after` needs pushes not to go back in time.
    now: f64,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            lanes: Vec::new(),
            first_lane: None,
            now: f64::NEG_INFINITY,
            next_seq: 0,
        }
    }
}

fn priority_of(key: u64) -> Priority {
    match key >> 56 {
        0 => Priority::Tick,
        1 => Priority::Change,
        2 => Priority::Activity,
        _ => Priority::Sample,
    }
}

impl<E> EventQueue<E> {
    fn entry(&mut self, time: f64, priority: Priority, event: E) -> Entry<E> {
        let key = (priority as u64) << 56 | self.next_seq;
        self.next_seq += 1;
        Entry { time, key, event }
    }

    pub fn push(&mut self, time: f64, priority: Priority, event: E) {
        let e = self.entry(time, priority, event);
        self.heap.push(e);
    }

    /// Pushes `event` at `now + delay`, where `now` is the current time of the caller (never
    /// before the last event popped); equivalent to `push(now + delay, …)`, in O(1).
    pub fn push_after(&mut self, now: f64, delay: f64, priority: Priority, event: E) {
        debug_assert!(
            now >= self.now,
            "push_after back in time: {now} < {}",
            self.now
        );
        let e = self.entry(now + delay, priority, event);
        let bits = delay.to_bits();
        let lane = match self
            .lanes
            .iter()
            .position(|l| l.delay_bits == bits && l.priority == priority)
        {
            Some(l) => l,
            None => {
                self.lanes.push(Lane {
                    delay_bits: bits,
                    priority,
                    entries: VecDeque::new(),
                });
                self.lanes.len() - 1
            }
        };
        let entries = &mut self.lanes[lane].entries;
        debug_assert!(entries.back().is_none_or(|b| b.before(&e)));
        entries.push_back(e);
        if entries.len() == 1 {
            let front = &self.lanes[lane].entries[0];
            let earlier = match self.first_lane {
                Some(f) => front.before(&self.lanes[f].entries[0]),
                None => true,
            };
            if earlier {
                self.first_lane = Some(lane);
            }
        }
    }

    /// The lane front if it comes before the heap's top.
    fn lane_first(&self) -> Option<usize> {
        let l = self.first_lane?;
        match self.heap.peek() {
            Some(top) if top.before(&self.lanes[l].entries[0]) => None,
            _ => Some(l),
        }
    }

    /// Time and priority of the earliest event, without removing it.
    pub fn peek(&self) -> Option<(f64, Priority)> {
        let e = match self.lane_first() {
            Some(l) => &self.lanes[l].entries[0],
            None => self.heap.peek()?,
        };
        Some((e.time, priority_of(e.key)))
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(f64, E)> {
        let e = match self.lane_first() {
            Some(l) => {
                let e = self.lanes[l].entries.pop_front()?;
                self.first_lane = self
                    .lanes
                    .iter()
                    .enumerate()
                    .filter_map(|(i, lane)| lane.entries.front().map(|f| (i, f)))
                    .reduce(|a, b| if b.1.before(a.1) { b } else { a })
                    .map(|(i, _)| i);
                e
            }
            None => self.heap.pop()?,
        };
        self.now = e.time;
        Some((e.time, e.event))
    }

    /// Every pending event, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.heap
            .iter()
            .chain(self.lanes.iter().flat_map(|l| l.entries.iter()))
            .map(|e| &e.event)
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

    /// Lanes and heap together pop exactly as one heap: a random interleaving of plain pushes
    /// and delayed pushes (three delays, two priorities, ties included) against a heap alone.
    #[test]
    fn lanes_pop_in_the_order_of_one_heap() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (mut mixed, mut heap) = (EventQueue::default(), EventQueue::default());
        let (mut now, mut id) = (0.0f64, 0u32);
        let delays = [7.0, 0.5, 7.0 + 1.0 / 24.0];
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            match rng.random_range(0..10) {
                0..=3 => {
                    let d = delays[rng.random_range(0..3)];
                    let p = if rng.random::<bool>() {
                        Priority::Activity
                    } else {
                        Priority::Change
                    };
                    mixed.push_after(now, d, p, id);
                    heap.push(now + d, p, id);
                    id += 1;
                }
                4..=5 => {
                    // Whole days, so that ties with the lanes happen.
                    let t = now + rng.random_range(0..10) as f64 * 0.5;
                    mixed.push(t, Priority::Tick, id);
                    heap.push(t, Priority::Tick, id);
                    id += 1;
                }
                _ => {
                    assert_eq!(mixed.peek(), heap.peek());
                    if let (Some(x), Some(y)) = (mixed.pop(), heap.pop()) {
                        now = x.0;
                        a.push(x.1);
                        b.push(y.1);
                    }
                }
            }
        }
        a.extend(std::iter::from_fn(|| mixed.pop().map(|(_, e)| e)));
        b.extend(std::iter::from_fn(|| heap.pop().map(|(_, e)| e)));
        assert_eq!(a.len(), id as usize);
        assert_eq!(a, b);
    }
}

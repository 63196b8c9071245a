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
    /// The entry's place in the order ([`stamp`]).
    stamp: Stamp,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.stamp == other.stamp
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
        other.stamp.cmp(&self.stamp)
    }
}

/// An entry's place in the order as one integer: the time's bits mapped so that unsigned order
/// is `f64::total_cmp`'s, in the high half; the key (priority in the top byte, insertion sequence
/// below) in the low half. Earlier is smaller.
type Stamp = u128;

/// No entry (keys are below 2^58, so no entry's stamp is the largest).
const NONE: Stamp = u128::MAX;

fn stamp(time: f64, key: u64) -> Stamp {
    // `total_cmp`'s mapping (flip the magnitude bits of negatives), then the sign bit flipped so
    // that the signed order becomes the unsigned one.
    let bits = time.to_bits() as i64;
    let ordered = bits ^ ((((bits >> 63) as u64) >> 1) as i64);
    let high = (ordered as u64) ^ (1 << 63);
    (u128::from(high) << 64) | u128::from(key)
}

fn priority_of(stamp: Stamp) -> Priority {
    match (stamp as u64) >> 56 {
        0 => Priority::Tick,
        1 => Priority::Change,
        2 => Priority::Activity,
        _ => Priority::Sample,
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
    /// Each lane's front, [`NONE`] when it is empty: the scan for the earliest front reads one
    /// small array instead of every lane's buffer.
    fronts: Vec<Stamp>,
    /// The lane whose front is the earliest of all fronts (`None` when every lane is empty).
    first_lane: Option<usize>,
    /// The earliest entry of all, [`NONE`] when the queue is empty (what `peek` returns, kept as
    /// entries come and go), and its time.
    earliest: Stamp,
    earliest_time: f64,
    /// Time of the last event popped: `push_after` needs pushes not to go back in time.
    now: f64,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            lanes: Vec::new(),
            fronts: Vec::new(),
            first_lane: None,
            earliest: NONE,
            earliest_time: f64::INFINITY,
            now: f64::NEG_INFINITY,
            next_seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    fn entry(&mut self, time: f64, priority: Priority, event: E) -> Entry<E> {
        let key = (priority as u64) << 56 | self.next_seq;
        self.next_seq += 1;
        Entry {
            time,
            stamp: stamp(time, key),
            event,
        }
    }

    /// Makes `e` the earliest entry if it is.
    fn note(&mut self, e: &Entry<E>) {
        if e.stamp < self.earliest {
            self.earliest = e.stamp;
            self.earliest_time = e.time;
        }
    }

    pub fn push(&mut self, time: f64, priority: Priority, event: E) {
        let e = self.entry(time, priority, event);
        self.note(&e);
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
        self.note(&e);
        let stamp = e.stamp;
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
                self.fronts.push(NONE);
                self.lanes.len() - 1
            }
        };
        let entries = &mut self.lanes[lane].entries;
        debug_assert!(entries.back().is_none_or(|b| b.stamp < stamp));
        entries.push_back(e);
        if entries.len() == 1 {
            self.fronts[lane] = stamp;
            if self.first_lane.is_none_or(|f| stamp < self.fronts[f]) {
                self.first_lane = Some(lane);
            }
        }
    }

    /// Time and priority of the earliest event.
    pub fn peek(&self) -> Option<(f64, Priority)> {
        (self.earliest != NONE).then(|| (self.earliest_time, priority_of(self.earliest)))
    }

    /// The earliest event, without removing it.
    pub fn peek_event(&self) -> Option<&E> {
        if self.earliest == NONE {
            return None;
        }
        match self.first_lane {
            Some(l) if self.fronts[l] == self.earliest => self.lanes[l].entries.front(),
            _ => self.heap.peek(),
        }
        .map(|e| &e.event)
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(f64, E)> {
        let heap_top = self.heap.peek().map_or(NONE, |e| e.stamp);
        let e = match self.first_lane {
            Some(l) if self.fronts[l] < heap_top => {
                let entries = &mut self.lanes[l].entries;
                let e = entries.pop_front()?;
                self.fronts[l] = entries.front().map_or(NONE, |f| f.stamp);
                let (mut first, mut front) = (0, NONE);
                for (i, &f) in self.fronts.iter().enumerate() {
                    if f < front {
                        (first, front) = (i, f);
                    }
                }
                self.first_lane = (front != NONE).then_some(first);
                e
            }
            _ => self.heap.pop()?,
        };
        let top = self.heap.peek();
        (self.earliest, self.earliest_time) = match (self.first_lane, top) {
            (Some(l), top) if top.is_none_or(|t| self.fronts[l] < t.stamp) => {
                let f = &self.lanes[l].entries[0];
                (f.stamp, f.time)
            }
            (_, Some(t)) => (t.stamp, t.time),
            _ => (NONE, f64::INFINITY),
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

    /// One integer per entry orders as `(time.total_cmp, key)` does: random times of every sign
    /// and magnitude, ±0, ±∞ and equal times with other keys.
    #[test]
    fn stamps_order_as_total_cmp_then_key() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let special = [
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            1.0,
            -1.0,
        ];
        let time = |rng: &mut rand_chacha::ChaCha8Rng| match rng.random_range(0..4) {
            0 => special[rng.random_range(0..special.len())],
            1 => f64::from_bits(
                rng.random::<u64>() & !(0x7ff << 52) | (rng.random_range(0..2047u64) << 52),
            ),
            _ => rng.random_range(-1e3..1e3),
        };
        for _ in 0..100_000 {
            let (a, b) = (time(&mut rng), time(&mut rng));
            let b = if rng.random::<bool>() { a } else { b };
            let (ka, kb) = (
                rng.random_range(0..1u64 << 58),
                rng.random_range(0..1u64 << 58),
            );
            let expected = a.total_cmp(&b).then(ka.cmp(&kb));
            assert_eq!(
                stamp(a, ka).cmp(&stamp(b, kb)),
                expected,
                "{a} {ka} / {b} {kb}"
            );
            assert!(stamp(a, ka) < NONE);
        }
    }

    /// Lanes and heap together pop exactly as one heap: a random interleaving of plain pushes
    /// and delayed pushes (three delays, two priorities, ties included) against a heap alone;
    /// and `peek_event` shows the event `pop` returns next.
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
                    // The event `peek_event` shows is the one `pop` returns.
                    let (shown, shown_heap) =
                        (mixed.peek_event().copied(), heap.peek_event().copied());
                    if let (Some(x), Some(y)) = (mixed.pop(), heap.pop()) {
                        assert_eq!((shown, shown_heap), (Some(x.1), Some(y.1)));
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

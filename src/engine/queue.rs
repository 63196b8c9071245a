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
    /// Each lane's front as the two halves of its stamp, time then key ([`NONE`]'s halves when
    /// it is empty), padded with empty lanes to a multiple of eight: the scan for the earliest
    /// front reads two small arrays instead of every lane's buffer, eight lanes per instruction
    /// where the processor has AVX-512F ([`EventQueue::replace_front`]).
    front_time: Vec<u64>,
    front_key: Vec<u64>,
    /// Whether the scan may use AVX-512F (the processor runs the decision's eight-lane loops,
    /// [`crate::model::wide`]).
    wide: bool,
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
            front_time: Vec::new(),
            front_key: Vec::new(),
            wide: crate::model::wide(),
            first_lane: None,
            earliest: NONE,
            earliest_time: f64::INFINITY,
            now: f64::NEG_INFINITY,
            next_seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Lane `l`'s front stamp ([`NONE`] when it is empty).
    fn front(&self, l: usize) -> Stamp {
        (u128::from(self.front_time[l]) << 64) | u128::from(self.front_key[l])
    }

    fn set_front(&mut self, l: usize, stamp: Stamp) {
        self.front_time[l] = (stamp >> 64) as u64;
        self.front_key[l] = stamp as u64;
    }

    /// Sets lane `l`'s front to `stamp` and returns the lane whose front is then the earliest
    /// (`None` when every lane is empty): the least time half, and among the lanes that share it
    /// (rare: equal times) the least key.
    fn replace_front(&mut self, l: usize, stamp: Stamp) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if self.wide {
            // SAFETY: `wide` says the processor has AVX-512F.
            return unsafe { self.replace_front_avx512(l, stamp) };
        }
        self.set_front(l, stamp);
        let (mut first, mut front) = (0, NONE);
        for l in 0..self.front_time.len() {
            let f = self.front(l);
            if f < front {
                (first, front) = (l, f);
            }
        }
        (front != NONE).then_some(first)
    }

    /// [`replace_front`](Self::replace_front) eight lanes per instruction. The chunk of front
    /// times that holds `l` is read, changed in a register, written whole and scanned from the
    /// register: a wide load of a chunk just written in part would wait for the narrow store to
    /// retire (no store forwarding), which was a third of the samples of the old scan; writing
    /// and scanning this way made bench.toml 1.1 % faster (s.e. 0.14 %, docs/PERFORMANCE.md).
    ///
    /// # Safety
    /// The processor must support AVX-512F.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn replace_front_avx512(&mut self, l: usize, stamp: Stamp) -> Option<usize> {
        use std::arch::x86_64::*;
        self.front_key[l] = stamp as u64;
        let times = &mut self.front_time;
        assert!(times.len().is_multiple_of(8) && l < times.len());
        let own = l / 8;
        // SAFETY: `times` holds a multiple of eight entries, `l` among them.
        let v = unsafe {
            let p = times.as_mut_ptr().add(8 * own);
            let v = _mm512_mask_mov_epi64(
                _mm512_loadu_si512(p.cast()),
                1 << (l % 8),
                _mm512_set1_epi64((stamp >> 64) as u64 as i64),
            );
            _mm512_storeu_si512(p.cast(), v);
            v
        };
        let times = &self.front_time;
        let keys = &self.front_key;
        // SAFETY: as above, chunks of eight inside `times`.
        let load = |chunk: usize| {
            if chunk == own {
                v
            } else {
                unsafe { _mm512_loadu_si512(times.as_ptr().add(8 * chunk).cast()) }
            }
        };
        let mut least = _mm512_set1_epi64(-1);
        for chunk in 0..times.len() / 8 {
            least = _mm512_min_epu64(least, load(chunk));
        }
        let time = _mm512_reduce_min_epu64(least);
        let time_v = _mm512_set1_epi64(time as i64);
        let (mut first, mut key) = (0, u64::MAX);
        for chunk in 0..times.len() / 8 {
            let mut same = _mm512_cmpeq_epu64_mask(load(chunk), time_v);
            while same != 0 {
                let l = 8 * chunk + same.trailing_zeros() as usize;
                same &= same - 1;
                if keys[l] < key {
                    (first, key) = (l, keys[l]);
                }
            }
        }
        ((u128::from(time) << 64 | u128::from(key)) != NONE).then_some(first)
    }

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
                if self.lanes.len() > self.front_time.len() {
                    let padded = self.front_time.len() + 8;
                    self.front_time.resize(padded, u64::MAX);
                    self.front_key.resize(padded, u64::MAX);
                }
                self.lanes.len() - 1
            }
        };
        let entries = &mut self.lanes[lane].entries;
        debug_assert!(entries.back().is_none_or(|b| b.stamp < stamp));
        entries.push_back(e);
        if entries.len() == 1 {
            self.set_front(lane, stamp);
            if self.first_lane.is_none_or(|f| stamp < self.front(f)) {
                self.first_lane = Some(lane);
            }
        }
    }

    /// Time and priority of the earliest event.
    pub fn peek(&self) -> Option<(f64, Priority)> {
        // The key half alone says whether there is an entry (no key is `NONE`'s): `earliest` is
        // written as two 64-bit halves, and a 128-bit load of it right after would wait for
        // both stores to retire (no store forwarding; 1.3 % of a run, docs/PERFORMANCE.md).
        let key = self.earliest as u64;
        (key != NONE as u64).then(|| (self.earliest_time, priority_of(self.earliest)))
    }

    /// The earliest event, without removing it.
    pub fn peek_event(&self) -> Option<&E> {
        if self.earliest as u64 == NONE as u64 {
            return None;
        }
        match self.first_lane {
            Some(l) if self.front(l) == self.earliest => self.lanes[l].entries.front(),
            _ => self.heap.peek(),
        }
        .map(|e| &e.event)
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(f64, E)> {
        let heap_top = self.heap.peek().map_or(NONE, |e| e.stamp);
        let e = match self.first_lane {
            Some(l) if self.front(l) < heap_top => {
                let entries = &mut self.lanes[l].entries;
                let e = entries.pop_front()?;
                let next = entries.front().map_or(NONE, |f| f.stamp);
                self.first_lane = self.replace_front(l, next);
                e
            }
            _ => self.heap.pop()?,
        };
        let top = self.heap.peek();
        (self.earliest, self.earliest_time) = match (self.first_lane, top) {
            (Some(l), top) if top.is_none_or(|t| self.front(l) < t.stamp) => {
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
    /// and delayed pushes (six delays, two priorities, ties included) against a heap alone, with
    /// the scalar scan of the lanes' fronts and the vector one; and `peek_event` shows the event
    /// `pop` returns next.
    #[test]
    fn lanes_pop_in_the_order_of_one_heap() {
        // Both scans of the lanes' fronts: the vector one where this processor has it.
        lanes_pop_as_one_heap(false);
        if crate::model::wide() {
            lanes_pop_as_one_heap(true);
        }
    }

    /// Fronts of more than eight lanes due at the same instant pop by priority, then by insertion, as
    /// from one heap, with either scan (the random interleaving above seldom makes such ties).
    #[test]
    fn lanes_due_at_the_same_time_pop_as_one_heap() {
        for wide in [false, true] {
            if wide && !crate::model::wide() {
                continue;
            }
            let (mut mixed, mut heap) = (EventQueue::default(), EventQueue::default());
            mixed.wide = wide;
            // Delays of 1/2, 1/4, ... 1/64 days pushed at 16 − delay: all due at day 16, in
            // lanes of two priorities, the later pushes of higher priority now and then.
            let mut id = 0;
            for p in [Priority::Activity, Priority::Change] {
                for k in (1..=6).rev() {
                    let delay = 0.5f64.powi(k);
                    let now = 16.0 - delay;
                    let p = if id % 3 == 2 { Priority::Tick } else { p };
                    mixed.push_after(now, delay, p, id);
                    heap.push(now + delay, p, id);
                    id += 1;
                }
            }
            assert!(mixed.lanes.len() > 8, "{} lanes", mixed.lanes.len());
            let a: Vec<_> = std::iter::from_fn(|| mixed.pop()).collect();
            let b: Vec<_> = std::iter::from_fn(|| heap.pop()).collect();
            assert!(a.iter().all(|&(t, _)| t == 16.0));
            assert_eq!(a, b, "wide: {wide}");
        }
    }

    fn lanes_pop_as_one_heap(wide: bool) {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (mut mixed, mut heap) = (EventQueue::default(), EventQueue::default());
        mixed.wide = wide;
        let (mut now, mut id) = (0.0f64, 0u32);
        // Six delays and two priorities: twelve lanes, more than one vector of fronts; sums of
        // halves and quarters of days, so that fronts of different lanes tie in time.
        let delays = [7.0, 0.5, 7.0 + 1.0 / 24.0, 1.0, 0.25, 2.0];
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            match rng.random_range(0..10) {
                0..=3 => {
                    let d = delays[rng.random_range(0..delays.len())];
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

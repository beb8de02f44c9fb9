//! The bounded queue between the thread that emits an event and the one that logs it.
//!
//! The lock is std's futex mutex, on purpose: a binding may hold it across `fork()`
//! ([`LogQueue::hold_for_fork`]), and its unlock in the child frees it outright, where a
//! parking_lot mutex could hand it to a thread that was waiting in the parent (and does not
//! exist in the child).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use super::{Level, LogRecord, QUEUE_CAP, ROOT_TARGET, UNKNOWN_FILE};

/// Delivers a batch of records on the forwarder thread; false stops the thread for good.
pub type Deliver = fn(Vec<LogRecord>) -> bool;

/// The warning logged before records when `count` of them were dropped.
pub fn dropped_notice(count: u64) -> LogRecord {
    LogRecord {
        level: Level::WARN,
        target: ROOT_TARGET.to_owned(),
        message: format!("{count} log events were dropped (queue full)"),
        file: UNKNOWN_FILE,
        line: 0,
    }
}

/// Counts records dropped because a logger fell behind, for one warning about them.
#[derive(Debug, Default)]
pub struct DropCount(AtomicU64);

impl DropCount {
    /// Nothing dropped yet.
    pub const fn new() -> Self {
        Self(AtomicU64::new(0))
    }

    /// Counts `count` more dropped records.
    pub fn add(&self, count: u64) {
        self.0.fetch_add(count, Ordering::Relaxed);
    }

    /// The records dropped since the last call (0: none), counting starts again.
    pub fn take(&self) -> u64 {
        self.0.swap(0, Ordering::Relaxed)
    }
}

struct State {
    records: VecDeque<LogRecord>,
    /// Batches the forwarder thread has taken but not finished delivering.
    in_flight: usize,
}

/// Records waiting for a logger: at most [`QUEUE_CAP`], the oldest dropped (and counted)
/// beyond that. Whoever takes records gets the warning about dropped ones first.
pub struct LogQueue {
    state: Mutex<State>,
    /// Signalled when records arrive (wakes the forwarder).
    ready: Condvar,
    /// Signalled when the forwarder finished a batch.
    done: Condvar,
    dropped: DropCount,
    cap: usize,
    deliver: Option<Deliver>,
    /// The pid whose forwarder thread is running (0: none yet).
    forwarder_pid: AtomicU32,
}

impl LogQueue {
    /// A queue that only the binding's own threads drain.
    pub const fn new() -> Self {
        Self::build(QUEUE_CAP, None)
    }

    /// A queue with a forwarder thread (`tokenbroker-log`, one per process, started by the
    /// first [`LogQueue::push`] and again in a forked child) that hands every batch to
    /// `deliver`.
    pub const fn with_forwarder(deliver: Deliver) -> Self {
        Self::build(QUEUE_CAP, Some(deliver))
    }

    /// [`LogQueue::new`] holding at most `cap` records.
    #[cfg(test)]
    pub(crate) const fn with_cap(cap: usize) -> Self {
        Self::build(cap, None)
    }

    const fn build(cap: usize, deliver: Option<Deliver>) -> Self {
        Self {
            state: Mutex::new(State {
                records: VecDeque::new(),
                in_flight: 0,
            }),
            ready: Condvar::new(),
            done: Condvar::new(),
            dropped: DropCount::new(),
            cap,
            deliver,
            forwarder_pid: AtomicU32::new(0),
        }
    }

    /// The state, locked (a panic while it was held leaves nothing half-done worth refusing).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `record` (never waits for a logger) and starts the forwarder if there is none.
    pub fn push(&'static self, record: LogRecord) {
        {
            let mut state = self.lock();
            if state.records.len() >= self.cap {
                state.records.pop_front();
                self.dropped.add(1);
            }
            state.records.push_back(record);
        }
        self.ready.notify_one();
        self.ensure_forwarder();
    }

    /// The waiting records, after the warning about dropped ones if any.
    fn drain(&self, state: &mut State) -> Vec<LogRecord> {
        let dropped = self.dropped.take();
        let mut out = Vec::with_capacity(state.records.len() + usize::from(dropped > 0));
        if dropped > 0 {
            out.push(dropped_notice(dropped));
        }
        out.extend(state.records.drain(..));
        out
    }

    /// Takes every waiting record, waiting for the lock.
    pub fn take(&self) -> Vec<LogRecord> {
        self.drain(&mut self.lock())
    }

    /// Takes every waiting record; `None` when the lock is busy (the caller may hold another
    /// lock the holder waits for, and should release it before [`LogQueue::take`]).
    pub fn try_take(&self) -> Option<Vec<LogRecord>> {
        match self.state.try_lock() {
            Ok(mut state) => Some(self.drain(&mut state)),
            Err(TryLockError::Poisoned(e)) => Some(self.drain(&mut e.into_inner())),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Waits for records and takes them as a batch that counts as in flight until the
    /// returned [`InFlight`] is dropped.
    pub fn wait_batch(&self) -> (Vec<LogRecord>, InFlight<'_>) {
        let mut state = self.lock();
        while state.records.is_empty() {
            state = self
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.in_flight += 1;
        (self.drain(&mut state), InFlight(self))
    }

    /// True when the lock is free right now and no batch is in flight.
    pub fn settled_now(&self) -> bool {
        self.state.try_lock().is_ok_and(|s| s.in_flight == 0)
    }

    /// Waits (at most `limit`) until no batch is in flight.
    pub fn wait_settled(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut state = self.lock();
        while state.in_flight > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .done
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Holds the lock until the returned guard is dropped, so that no other thread holds it
    /// across a `fork()`.
    pub fn hold_for_fork(&self) -> ForkHold<'_> {
        ForkHold {
            queue: self,
            state: self.lock(),
        }
    }

    fn ensure_forwarder(&'static self) {
        let Some(deliver) = self.deliver else {
            return;
        };
        let pid = std::process::id();
        let running = self.forwarder_pid.load(Ordering::Acquire);
        if running == pid
            || self
                .forwarder_pid
                .compare_exchange(running, pid, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("tokenbroker-log".into())
            .spawn(move || self.forward(pid, deliver));
        if spawned.is_err() {
            // Try again on the next record; meanwhile the binding's threads may drain.
            self.forwarder_pid.store(0, Ordering::Release);
        }
    }

    fn forward(&self, pid: u32, deliver: Deliver) {
        loop {
            // The batch is taken before delivering and settled after: the lock is never held
            // while a logger runs.
            let (records, in_flight) = self.wait_batch();
            if std::process::id() != pid {
                return;
            }
            let go_on = deliver(records);
            drop(in_flight);
            if !go_on {
                return;
            }
        }
    }
}

impl Default for LogQueue {
    fn default() -> Self {
        Self::new()
    }
}

/// A batch of [`LogQueue::wait_batch`] being delivered; dropping it marks it done.
pub struct InFlight<'a>(&'a LogQueue);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        drop(state);
        self.0.done.notify_all();
    }
}

/// The queue's lock, held across a `fork()` by the forking thread.
pub struct ForkHold<'a> {
    queue: &'a LogQueue,
    state: MutexGuard<'a, State>,
}

impl ForkHold<'_> {
    /// Releases the lock in a forked child, which starts with nothing queued: the parent's
    /// records (and drops) are the parent's.
    pub fn release_in_child(mut self) {
        self.state.records.clear();
        self.state.in_flight = 0;
        self.queue.dropped.take();
    }
}

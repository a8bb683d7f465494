//! The per-path live-event queue: FIFO **per ordering group**, groups served in parallel by a
//! bounded set of workers, and a bounded capacity that pushes back on the sender.
//!
//! - An event belongs to a group (its processor's [`ordering_key`], or the shared default
//!   group). At most one event of a group is being processed at a time, and a group's events are
//!   processed in arrival order; different groups are processed in parallel, up to the number
//!   of workers. A group becomes *ready* when it has events and none of them is being processed;
//!   ready groups are served first come, first served.
//! - At most `capacity` events wait. [`GroupQueue::push`] waits for room — up to a limit — instead
//!   of dropping: the HTTP request that carries the event is held, which slows the sender down.
//!   Only when the limit passes does the push fail (the request is answered 503 and the sender
//!   retries); an event that was accepted is never dropped while the process runs.
//! - [`GroupQueue::close`] (shutdown) refuses new events; workers keep draining what is queued.
//!
//! The scheduling itself ([`Groups`]) is plain data with no I/O or clock, tested on its own; the
//! async wrapper adds the capacity semaphore and the wake-ups.
//!
//! [`ordering_key`]: crate::WebhookProcessor::ordering_key

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

/// The group key of events whose processor gives no ordering key.
#[cfg(test)]
pub const DEFAULT_GROUP: &str = "";

/// Scheduling state: the events of each group, which groups are ready, which are busy.
#[derive(Debug)]
pub struct Groups<T> {
    events: HashMap<String, VecDeque<T>>,
    ready: VecDeque<String>,
    busy: HashSet<String>,
    len: usize,
}

impl<T> Default for Groups<T> {
    fn default() -> Self {
        Groups {
            events: HashMap::new(),
            ready: VecDeque::new(),
            busy: HashSet::new(),
            len: 0,
        }
    }
}

impl<T> Groups<T> {
    /// Appends an event to its group; the group becomes ready if it was idle.
    pub fn push(&mut self, group: &str, event: T) {
        let queue = self.events.entry(group.to_owned()).or_default();
        let was_empty = queue.is_empty();
        queue.push_back(event);
        self.len += 1;
        if was_empty && !self.busy.contains(group) {
            self.ready.push_back(group.to_owned());
        }
    }

    /// Takes the oldest event of the first ready group and marks the group busy.
    pub fn pop(&mut self) -> Option<(String, T)> {
        let group = self.ready.pop_front()?;
        let queue = self.events.get_mut(&group)?;
        let event = queue.pop_front()?;
        self.len -= 1;
        self.busy.insert(group.clone());
        Some((group, event))
    }

    /// The event taken from `group` is processed: the group is ready again if it has more.
    pub fn done(&mut self, group: &str) {
        self.busy.remove(group);
        match self.events.get(group) {
            Some(queue) if !queue.is_empty() => self.ready.push_back(group.to_owned()),
            _ => {
                self.events.remove(group);
            }
        }
    }

    /// Events waiting (not counting those being processed).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no event waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Groups with an event being processed.
    pub fn busy(&self) -> usize {
        self.busy.len()
    }
}

/// Why an event was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The queue stayed full for the whole wait.
    #[error("the live-event queue stayed full for {0:?}")]
    Full(Duration),
    /// The process is shutting down.
    #[error("the live-event queue is closed (shutting down)")]
    Closed,
}

struct State<T> {
    groups: Groups<T>,
    closed: bool,
}

/// The async, bounded queue of one webhook path. See the module documentation.
pub struct GroupQueue<T> {
    state: Mutex<State<T>>,
    room: Semaphore,
    capacity: usize,
    wake: Notify,
}

impl<T> std::fmt::Debug for GroupQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupQueue")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl<T> GroupQueue<T> {
    /// A queue holding at most `capacity` waiting events (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        GroupQueue {
            state: Mutex::new(State {
                groups: Groups::default(),
                closed: false,
            }),
            room: Semaphore::new(capacity),
            capacity,
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `event` in `group`, waiting up to `wait` for room. Returns the number of events
    /// waiting afterwards.
    pub async fn push(&self, group: &str, event: T, wait: Duration) -> Result<usize, PushError> {
        if self.lock().closed {
            return Err(PushError::Closed);
        }
        let permit = match tokio::time::timeout(wait, self.room.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(PushError::Closed),
            Err(_) => return Err(PushError::Full(wait)),
        };
        let mut state = self.lock();
        if state.closed {
            return Err(PushError::Closed);
        }
        // The slot is given back when a worker takes the event.
        permit.forget();
        state.groups.push(group, event);
        let len = state.groups.len();
        drop(state);
        self.wake.notify_one();
        Ok(len)
    }

    /// Waits for the next event a worker may process; `None` once the queue is closed and
    /// empty. The caller must call [`GroupQueue::done`] with the group when it has processed
    /// the event.
    pub async fn pop(&self) -> Option<(String, T)> {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if let Some(next) = state.groups.pop() {
                    drop(state);
                    self.room.add_permits(1);
                    return Some(next);
                }
                if state.closed && state.groups.is_empty() && state.groups.busy() == 0 {
                    drop(state);
                    // Let the other workers see the end too.
                    self.wake.notify_waiters();
                    return None;
                }
            }
            notified.await;
        }
    }

    /// The event taken from `group` has been processed.
    pub fn done(&self, group: &str) {
        self.lock().groups.done(group);
        // A group may be ready again, or the queue may now be closed and drained.
        self.wake.notify_waiters();
        self.wake.notify_one();
    }

    /// Refuses new events from now on; queued events are still handed out.
    pub fn close(&self) {
        self.lock().closed = true;
        // Senders waiting for room give up at once.
        self.room.close();
        self.wake.notify_waiters();
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.lock().groups.len()
    }

    /// Takes every event still waiting (after shutdown's drain time ran out).
    pub fn drain_remaining(&self) -> usize {
        let mut state = self.lock();
        let n = state.groups.len();
        state.groups = Groups::default();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Pops everything currently ready, completing each event at once.
    fn drain(groups: &mut Groups<&'static str>) -> Vec<&'static str> {
        let mut out = Vec::new();
        while let Some((g, e)) = groups.pop() {
            out.push(e);
            groups.done(&g);
        }
        out
    }

    #[test]
    fn groups_are_fifo_inside_and_fair_across() {
        let mut g = Groups::default();
        g.push("a", "a1");
        g.push("b", "b1");
        g.push("a", "a2");
        g.push("c", "c1");
        g.push("b", "b2");
        assert_eq!(g.len(), 5);
        assert_eq!(drain(&mut g), ["a1", "b1", "c1", "a2", "b2"]);
        assert!(g.is_empty());
    }

    #[test]
    fn a_busy_group_is_not_handed_out_twice() {
        let mut g = Groups::default();
        g.push("incident-1", "trigger");
        g.push("incident-1", "resolve");
        g.push("incident-2", "trigger-2");
        let (first, e1) = g.pop().unwrap();
        assert_eq!((first.as_str(), e1), ("incident-1", "trigger"));
        // While incident-1's first event is processed, only the other group is ready.
        let (second, e2) = g.pop().unwrap();
        assert_eq!((second.as_str(), e2), ("incident-2", "trigger-2"));
        assert!(g.pop().is_none(), "incident-1 is busy, incident-2 is empty");
        g.done("incident-2");
        assert!(g.pop().is_none());
        g.done("incident-1");
        let (_, e3) = g.pop().unwrap();
        assert_eq!(e3, "resolve");
        g.done("incident-1");
        assert!(g.pop().is_none());
        assert_eq!(g.busy(), 0);
    }

    #[test]
    fn an_event_pushed_to_a_busy_group_waits_for_it() {
        let mut g = Groups::default();
        g.push(DEFAULT_GROUP, 1);
        let (group, _) = g.pop().unwrap();
        g.push(DEFAULT_GROUP, 2);
        assert!(g.pop().is_none());
        g.done(&group);
        assert_eq!(g.pop().map(|(_, e)| e), Some(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_holds_the_sender_then_lets_it_in() {
        let q = Arc::new(GroupQueue::new(2));
        let wait = Duration::from_secs(5);
        q.push("a", 1, wait).await.unwrap();
        q.push("a", 2, wait).await.unwrap();
        // Full: the third push waits…
        let pusher = tokio::spawn({
            let q = q.clone();
            async move { q.push("b", 3, wait).await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!pusher.is_finished(), "the sender is held, not refused");
        // …until a worker takes an event.
        let (g, e) = q.pop().await.unwrap();
        assert_eq!(e, 1);
        assert_eq!(pusher.await.unwrap(), Ok(2));
        q.done(&g);
        // Still full: a push that waits too long is refused, and nothing is dropped.
        assert_eq!(
            q.push("c", 4, Duration::from_secs(2)).await,
            Err(PushError::Full(Duration::from_secs(2)))
        );
        assert_eq!(q.len(), 2);
    }

    #[tokio::test]
    async fn closing_refuses_new_events_and_drains_the_rest() {
        let q = Arc::new(GroupQueue::new(8));
        let wait = Duration::from_secs(1);
        for i in 0..3 {
            q.push("g", i, wait).await.unwrap();
        }
        q.close();
        assert_eq!(q.push("g", 9, wait).await, Err(PushError::Closed));
        let mut seen = Vec::new();
        while let Some((g, e)) = q.pop().await {
            seen.push(e);
            q.done(&g);
        }
        assert_eq!(seen, [0, 1, 2]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn workers_keep_each_group_in_order_while_groups_run_in_parallel() {
        let q = Arc::new(GroupQueue::new(16));
        let log = Arc::new(Mutex::new(Vec::new()));
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let q = q.clone();
                let log = log.clone();
                tokio::spawn(async move {
                    while let Some((g, (group, seq))) = q.pop().await {
                        tokio::task::yield_now().await;
                        log.lock().unwrap().push((group, seq));
                        q.done(&g);
                    }
                })
            })
            .collect();
        for seq in 0..200u32 {
            let group = seq % 5;
            q.push(&group.to_string(), (group, seq), Duration::from_secs(10))
                .await
                .unwrap();
        }
        q.close();
        for w in workers {
            w.await.unwrap();
        }
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 200);
        for group in 0..5 {
            let seqs: Vec<u32> = log
                .iter()
                .filter(|(g, _)| *g == group)
                .map(|(_, s)| *s)
                .collect();
            let mut sorted = seqs.clone();
            sorted.sort_unstable();
            assert_eq!(seqs, sorted, "group {group} out of order");
            assert_eq!(seqs.len(), 40);
        }
    }
}

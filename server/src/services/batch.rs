//! Writes off the response path, in batches: the audit log's login events and the login
//! debugger's traces. A request queues its item and returns; one task per queue gathers what
//! arrives within 500 ms (or until 256 items wait) and writes it at once, so a login costs no
//! database round trip for them and under load many logins share one statement.
//!
//! The writer is woken by the first item of a window only: while it waits out the window it
//! does not listen to the queue, so the items that follow cost the requests that send them no
//! wake-up of another thread (256 waiting items or a flush still cut the window short). The
//! price: a process that is killed (not stopped) loses the items of its last half second. A
//! batch the database refuses is tried again with backoff; if it still fails (or the queue is
//! full), each item goes to the log at error level, so nothing is silently lost.
//! [`Batcher::flush`] waits until everything queued before it is written: readers call it
//! before reading, and `serve` on shutdown.
//!
//! Items that belong together (a login's legs, see [`Sink::group`]) are merged before they
//! are written: an item still open waits up to [`HOLD`] for the next of its group, so a
//! login that comes back from its provider within that time is written once, whole, rather
//! than inserted and then rewritten. An open item older than that is written as it is (the
//! next one is then written on its own, as before); a flush writes every held item, and so
//! does a stop. A process that is killed loses its held items too.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long the writer gathers items before writing them. Each batch costs a fixed price
/// (the writer's thread woken twice, a transaction with its WAL frames on SQLite or a round
/// trip on PostgreSQL, and on SQLite every other connection re-reading the pages it had
/// cached): at 50 ms a login at 40 logins/s paid half a batch, at 500 ms a twentieth.
const BATCH_WINDOW: Duration = Duration::from_millis(500);
/// Most items one batch carries.
const MAX_BATCH: usize = 256;
/// Queued items that end the window early (a full batch). Under load each batch still costs
/// its fixed price, so batches are made large: ending the window at 32 items (login traces'
/// batches of about 16 logins), the writers' threads took about 60 µs of CPU per benchmark
/// login, at 256 about 35 (BENCHMARKS.md). A batch of 256 takes a few milliseconds to write,
/// on the writer's thread, not a request's.
const HURRY_AT: usize = MAX_BATCH;
/// Items waiting for the writer; beyond this an item is logged instead.
const QUEUE: usize = 16_384;
/// How often a failed batch is tried (with 0.1, 0.2, 0.4 … s between), before its items are
/// logged instead.
const ATTEMPTS: u32 = 6;
/// How long an open item waits for the next of its group (see [`Sink::group`]): a login
/// whose user is already signed in at the provider is back well within it.
pub const HOLD: Duration = Duration::from_secs(2);
/// Most items held at once; beyond, an open item is written at once (a flood of logins that
/// never come back costs no more memory than this).
const MAX_HELD: usize = 4096;
/// The group an item belongs to, and whether it is still open (more of its group may come).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    /// Which group.
    pub key: uuid::Uuid,
    /// Whether more may come: an open item waits up to [`HOLD`] for the next.
    pub open: bool,
}

/// Where a queue's batches go.
pub trait Sink: Send + Sync + 'static {
    /// What is queued.
    type Item: Send + 'static;
    /// What the log calls the queue, e.g. `audit`.
    const NAME: &'static str;
    /// Writes one batch, in queue order.
    fn write(&self, items: &[Self::Item]) -> impl Future<Output = Result<(), sea_orm::DbErr>> + Send;
    /// Logs an item that will not be written, in full (at error level).
    fn unwritten(item: &Self::Item, why: &str);
    /// The group `item` belongs to; `None` (the default): it is written with its batch. A
    /// batch given to [`Sink::write`] holds at most one item of a group.
    fn group(_item: &Self::Item) -> Option<Group> {
        None
    }
    /// `next` (of the same group, later) merged into `held`.
    fn merge(_held: &mut Self::Item, _next: Self::Item) {}
}

/// Open items waiting for the next of their group, with when each began to wait.
struct Held<S: Sink> {
    items: std::collections::HashMap<uuid::Uuid, (S::Item, tokio::time::Instant)>,
}

impl<S: Sink> Held<S> {
    /// Sorts `items` into `batch` (written now) and the held ones: an item joins its held
    /// group; a group that is no longer open, and an item of no group, goes to the batch. A
    /// batch holds at most one item of a group (a statement may touch a row once): a later
    /// one of a group already in it is merged there.
    fn sort(&mut self, items: Vec<S::Item>, batch: &mut Vec<S::Item>) {
        let mut in_batch: std::collections::HashMap<uuid::Uuid, usize> = std::collections::HashMap::new();
        for item in items {
            let Some(group) = S::group(&item) else {
                batch.push(item);
                continue;
            };
            if let Some((held, _)) = self.items.get_mut(&group.key) {
                S::merge(held, item);
                if !S::group(held).is_some_and(|g| g.open)
                    && let Some((done, _)) = self.items.remove(&group.key)
                {
                    in_batch.insert(group.key, batch.len());
                    batch.push(done);
                }
            } else if let Some(&at) = in_batch.get(&group.key) {
                S::merge(&mut batch[at], item);
            } else if group.open && self.items.len() < MAX_HELD {
                self.items.insert(group.key, (item, tokio::time::Instant::now()));
            } else {
                in_batch.insert(group.key, batch.len());
                batch.push(item);
            }
        }
    }

    /// Moves the items that waited [`HOLD`] (all of them when `all`) to `batch`.
    fn release(&mut self, all: bool, batch: &mut Vec<S::Item>) {
        let now = tokio::time::Instant::now();
        let due: Vec<uuid::Uuid> = self
            .items
            .iter()
            .filter(|(_, (_, since))| all || now.duration_since(*since) >= HOLD)
            .map(|(key, _)| *key)
            .collect();
        for key in due {
            if let Some((item, _)) = self.items.remove(&key) {
                batch.push(item);
            }
        }
    }

    /// When the longest-waiting item is due.
    fn next_due(&self) -> Option<tokio::time::Instant> {
        self.items.values().map(|(_, since)| *since + HOLD).min()
    }
}

enum Message<T> {
    Item(T),
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl<T> Message<T> {
    /// Sorts a received message into the batch or the flushes waiting for it.
    fn take(self, items: &mut Vec<T>, flushes: &mut Vec<tokio::sync::oneshot::Sender<()>>) {
        match self {
            Self::Item(item) => items.push(item),
            Self::Flush(done) => flushes.push(done),
        }
    }
}

/// A queue and the task that writes it in batches to its [`Sink`].
pub struct Batcher<T> {
    tx: tokio::sync::mpsc::Sender<Message<T>>,
    /// Ends the writer's window early: a flush is waiting, or a full batch is.
    hurry: Arc<tokio::sync::Notify>,
    /// Logs an item that could not be queued.
    unwritten: fn(&T, &str),
}

impl<T> Clone for Batcher<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            hurry: self.hurry.clone(),
            unwritten: self.unwritten,
        }
    }
}

impl<T> std::fmt::Debug for Batcher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("queued", &(QUEUE - self.tx.capacity()))
            .finish()
    }
}

impl<T: Send + 'static> Batcher<T> {
    /// Starts the writing task on the current Tokio runtime.
    pub fn spawn<S: Sink<Item = T>>(sink: S) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Message<T>>(QUEUE);
        let hurry = Arc::new(tokio::sync::Notify::new());
        let woken = hurry.clone();
        tokio::spawn(async move {
            let mut items = Vec::new();
            let mut flushes = Vec::new();
            let mut held = Held::<S> {
                items: std::collections::HashMap::new(),
            };
            loop {
                // Woken by the queue, or when a held item is due (never, when none is held).
                let due = held.next_due();
                let first = tokio::select! {
                    message = rx.recv() => match message {
                        Some(message) => Some(message),
                        None => break,
                    },
                    () = async {
                        match due {
                            Some(due) => tokio::time::sleep_until(due).await,
                            None => std::future::pending().await,
                        }
                    } => None,
                };
                if let Some(first) = first {
                    first.take(&mut items, &mut flushes);
                    // Wait out the window without listening to the queue (senders wake no
                    // one), unless a flush waits or a full batch already does.
                    if flushes.is_empty() && rx.len() < HURRY_AT {
                        tokio::select! {
                            () = tokio::time::sleep(BATCH_WINDOW) => {}
                            () = woken.notified() => {}
                        }
                    }
                    while items.len() < MAX_BATCH
                        && let Ok(message) = rx.try_recv()
                    {
                        message.take(&mut items, &mut flushes);
                    }
                }
                let mut batch = Vec::with_capacity(items.len());
                held.sort(std::mem::take(&mut items), &mut batch);
                held.release(!flushes.is_empty(), &mut batch);
                if !batch.is_empty() {
                    write_batch(&sink, batch).await;
                }
                // Every item queued before these flushes was taken above (or in an earlier
                // round), so it is written now.
                for done in flushes.drain(..) {
                    let _ = done.send(());
                }
            }
            // The queue is closed (every sender gone): what is still held is written.
            let mut batch = Vec::new();
            held.release(true, &mut batch);
            if !batch.is_empty() {
                write_batch(&sink, batch).await;
            }
        });
        Self {
            tx,
            hurry,
            unwritten: S::unwritten,
        }
    }

    /// Queues `item`; never waits for the database.
    pub fn send(&self, item: T) {
        match self.tx.try_send(Message::Item(item)) {
            Ok(()) if QUEUE - self.tx.capacity() >= HURRY_AT => self.hurry.notify_one(),
            Ok(()) => {}
            Err(e) => {
                if let Message::Item(item) = e.into_inner() {
                    (self.unwritten)(&item, "the queue is full");
                }
            }
        }
    }

    /// Waits until every item queued before this call is written (or logged as unwritten).
    pub async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            self.hurry.notify_one();
            let _ = wait.await;
        }
    }
}

async fn write_batch<S: Sink>(sink: &S, items: Vec<S::Item>) {
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=ATTEMPTS {
        match sink.write(&items).await {
            Ok(()) => return,
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(queue = S::NAME, error = %e, attempt, items = items.len(), "batch write failed; trying again");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                tracing::error!(queue = S::NAME, error = %e, items = items.len(), "batch write failed; logging instead");
            }
        }
    }
    for item in &items {
        S::unwritten(item, "the database refused the write");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test item: its group (0: none), whether it is open, its text.
    type Item = (u128, bool, String);

    /// A sink that records each batch it is given.
    #[derive(Clone, Default)]
    struct Recorder(Arc<std::sync::Mutex<Vec<Vec<Item>>>>);

    impl Recorder {
        fn batches(&self) -> Vec<Vec<Item>> {
            self.0.lock().unwrap().clone()
        }
    }

    impl Sink for Recorder {
        type Item = Item;
        const NAME: &'static str = "test";

        async fn write(&self, items: &[Self::Item]) -> Result<(), sea_orm::DbErr> {
            self.0.lock().unwrap().push(items.to_vec());
            Ok(())
        }

        fn unwritten(_item: &Self::Item, _why: &str) {}

        fn group(item: &Self::Item) -> Option<Group> {
            (item.0 != 0).then(|| Group {
                key: uuid::Uuid::from_u128(item.0),
                open: item.1,
            })
        }

        fn merge(held: &mut Self::Item, next: Self::Item) {
            held.1 = next.1;
            held.2.push_str(&next.2);
        }
    }

    fn item(group: u128, open: bool, text: &str) -> Item {
        (group, open, text.to_owned())
    }

    #[tokio::test(start_paused = true)]
    async fn an_open_item_is_merged_with_the_next_of_its_group_and_written_once() {
        let sink = Recorder::default();
        let batcher = Batcher::spawn(sink.clone());
        batcher.send(item(1, true, "a"));
        batcher.send(item(0, false, "loose"));
        batcher.send(item(2, true, "x"));
        // Past the window, before the hold: the loose item is written, the open ones wait.
        tokio::time::sleep(BATCH_WINDOW * 2).await;
        assert_eq!(sink.batches(), [vec![item(0, false, "loose")]]);
        batcher.send(item(1, true, "b"));
        batcher.send(item(1, false, "c"));
        tokio::time::sleep(BATCH_WINDOW * 2).await;
        assert_eq!(sink.batches()[1], [item(1, false, "abc")], "one write, whole");
        // Group 2 never closes: written as it is once it has waited HOLD.
        tokio::time::sleep(HOLD).await;
        assert_eq!(sink.batches()[2], [item(2, true, "x")]);
        assert_eq!(sink.batches().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_holds_one_item_of_a_group() {
        let sink = Recorder::default();
        let batcher = Batcher::spawn(sink.clone());
        batcher.send(item(1, false, "a"));
        batcher.send(item(1, false, "b"));
        batcher.send(item(1, true, "c"));
        batcher.flush().await;
        assert_eq!(sink.batches(), [vec![item(1, true, "abc")]]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_flush_writes_what_is_held() {
        let sink = Recorder::default();
        let batcher = Batcher::spawn(sink.clone());
        batcher.send(item(1, true, "a"));
        batcher.flush().await;
        assert_eq!(sink.batches(), [vec![item(1, true, "a")]]);
        // The next item of the group, after its first was written, is written on its own.
        batcher.send(item(1, false, "b"));
        batcher.flush().await;
        assert_eq!(sink.batches()[1], [item(1, false, "b")]);
    }

    #[tokio::test(start_paused = true)]
    async fn what_is_held_is_written_when_the_queue_closes() {
        let sink = Recorder::default();
        let batcher = Batcher::spawn(sink.clone());
        batcher.send(item(1, true, "a"));
        tokio::time::sleep(BATCH_WINDOW * 2).await;
        assert!(sink.batches().is_empty());
        drop(batcher);
        // The writer task ends once it has written what it held.
        while sink.batches().is_empty() {
            tokio::task::yield_now().await;
        }
        assert_eq!(sink.batches(), [vec![item(1, true, "a")]]);
    }
}

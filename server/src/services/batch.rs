//! Writes off the response path, in batches: the audit log's login events and the login
//! debugger's traces. A request queues its item and returns; one task per queue gathers what
//! arrives within 500 ms (or until 32 items wait) and writes it at once, so a login costs no
//! database round trip for them and under load many logins share one statement.
//!
//! The writer is woken by the first item of a window only: while it waits out the window it
//! does not listen to the queue, so the items that follow cost the requests that send them no
//! wake-up of another thread (32 waiting items or a flush still cut the window short). The
//! price: a process that is killed (not stopped) loses the items of its last half second. A
//! batch the database refuses is tried again with backoff; if it still fails (or the queue is
//! full), each item goes to the log at error level, so nothing is silently lost.
//! [`Batcher::flush`] waits until everything queued before it is written: readers call it
//! before reading, and `serve` on shutdown.

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
/// Queued items that end the window early: under load a batch stays small enough (about
/// 1 ms to write) not to hold up the requests sharing the writer's CPU.
const HURRY_AT: usize = 32;
/// Items waiting for the writer; beyond this an item is logged instead.
const QUEUE: usize = 16_384;
/// How often a failed batch is tried (with 0.1, 0.2, 0.4 … s between), before its items are
/// logged instead.
const ATTEMPTS: u32 = 6;

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
    /// Ends the writer's window early: a flush is waiting, or 32 items are.
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
            while let Some(first) = rx.recv().await {
                first.take(&mut items, &mut flushes);
                // Wait out the window without listening to the queue (senders wake no one),
                // unless a flush waits or 32 items already do.
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
                if !items.is_empty() {
                    write_batch(&sink, std::mem::take(&mut items)).await;
                }
                // Every item queued before these flushes was taken above (or in an earlier
                // round), so it is written now.
                for done in flushes.drain(..) {
                    let _ = done.send(());
                }
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

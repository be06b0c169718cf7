//! A database connection of each worker thread's own, for the one statement every login
//! runs (recording the end user).
//!
//! A statement on the pool costs more than the statement: sqlx pings every connection it
//! takes back (one more round trip to PostgreSQL; on SQLite one more hand-off to the
//! connection's worker thread and back), and a pooled PostgreSQL connection made on another
//! thread has its socket watched by that thread's runtime, so each reply first wakes that
//! thread. A connection made on the worker thread and kept outside the pool costs neither.
//!
//! Each thread that runs a current-thread runtime (every actix-web worker) makes one on
//! first use and keeps it while it serves, for half an hour at most. While a task of the
//! thread uses it, another task of the same thread goes to the pool, as do other threads, so
//! this never waits where the pool would not. When a statement fails there (the server went
//! away, a network error, or the statement itself), the connection is dropped and the
//! statement runs once more on the pool, whose answer counts; for the upsert this serves,
//! running it twice is harmless. After a failed attempt to connect, the pool
//! serves for a second before the thread tries again. As the pool does with its own, a
//! connection idle for more than a second is pinged before use, and a statement (with its
//! ping) that has no answer within five seconds gives the connection up for the pool.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sea_orm::sqlx::{self, ConnectOptions as _};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult, QueryResult, Statement};
use sea_query_sqlx::SqlxValues;

/// A thread's connection is replaced after this long (as a pool retires old connections).
const MAX_AGE: Duration = Duration::from_secs(30 * 60);
/// After connecting failed, the pool serves this long before the thread tries again.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// A connection idle for longer is pinged before use (as the pool does with its own).
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);
/// The most a statement (with its ping) may take on a thread's connection before the
/// connection is given up for the pool (whose own acquire timeout then applies): a
/// connection a firewall silently dropped would otherwise hang the login for minutes.
const TIME_LIMIT: Duration = Duration::from_secs(5);
/// Databases a thread keeps a connection to (more than one only in tests).
const MAX_DATABASES: usize = 4;

/// Which database a connection belongs to: the pool's own connect options (compared by
/// address; holding them keeps the address from being reused).
#[derive(Clone)]
enum Target {
    Postgres(Arc<PgConnectOptions>),
    Sqlite(Arc<SqliteConnectOptions>),
}

impl Target {
    fn of(db: &DatabaseConnection) -> Option<Self> {
        match db.get_database_backend() {
            DbBackend::Postgres => Some(Self::Postgres(db.get_postgres_connection_pool().connect_options())),
            DbBackend::Sqlite => Some(Self::Sqlite(db.get_sqlite_connection_pool().connect_options())),
            _ => None,
        }
    }

    fn is(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Postgres(a), Self::Postgres(b)) => Arc::ptr_eq(a, b),
            (Self::Sqlite(a), Self::Sqlite(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    async fn connect(&self) -> Result<Connection, sqlx::Error> {
        Ok(match self {
            Self::Postgres(options) => Connection::Postgres(options.connect().await?),
            Self::Sqlite(options) => Connection::Sqlite(options.connect().await?),
        })
    }
}

enum Connection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

impl Connection {
    async fn ping(&mut self) -> Result<(), sqlx::Error> {
        use sqlx::Connection as _;
        match self {
            Self::Postgres(conn) => conn.ping().await,
            Self::Sqlite(conn) => conn.ping().await,
        }
    }

    async fn fetch_optional(&mut self, statement: &Statement) -> Result<Option<QueryResult>, sqlx::Error> {
        let values = SqlxValues(statement.values.clone().unwrap_or(sea_orm::Values(Vec::new())));
        let sql = sqlx::AssertSqlSafe(statement.sql.as_str());
        Ok(match self {
            Self::Postgres(conn) => sqlx::query_with(sql, values)
                .fetch_optional(conn)
                .await?
                .map(QueryResult::from),
            Self::Sqlite(conn) => sqlx::query_with(sql, values)
                .fetch_optional(conn)
                .await?
                .map(QueryResult::from),
        })
    }
}

enum Slot {
    /// Free: made at the first instant, last used at the second.
    Idle(Connection, Instant, Instant),
    /// A task of this thread is using it (or making it).
    Busy,
    /// None: the next use makes one.
    Empty,
    /// Making one failed at this instant.
    Failed(Instant),
}

thread_local! {
    static CONNECTIONS: RefCell<Vec<(Target, Slot)>> = const { RefCell::new(Vec::new()) };
}

/// This thread's connection to `target`, taken out of its slot; `None` when a task of this
/// thread has it, when connecting failed a moment ago, or when connecting fails now.
async fn take(target: &Target) -> Option<Taken> {
    let idle = CONNECTIONS.with(|c| {
        let mut slots = c.borrow_mut();
        let slot = match slots.iter_mut().find(|(t, _)| t.is(target)) {
            Some((_, slot)) => slot,
            None => {
                if slots.len() >= MAX_DATABASES {
                    slots.remove(0);
                }
                slots.push((target.clone(), Slot::Empty));
                &mut slots.last_mut()?.1
            }
        };
        match std::mem::replace(slot, Slot::Busy) {
            Slot::Idle(conn, made, used) if made.elapsed() < MAX_AGE => Some(Some((conn, made, used))),
            Slot::Busy => None,
            Slot::Failed(at) if at.elapsed() < RETRY_AFTER => {
                *slot = Slot::Failed(at);
                None
            }
            // None yet, too old, or time to try again: make a new one.
            Slot::Idle(..) | Slot::Empty | Slot::Failed(_) => Some(None),
        }
    })?;
    // From here the slot is Busy: `claim` empties it again if this future is dropped while
    // connecting.
    let claim = Claim {
        target: target.clone(),
        settled: false,
    };
    match idle {
        Some((conn, made, used)) => Some(Taken {
            claim,
            conn,
            made,
            used,
        }),
        None => match target.connect().await {
            Ok(conn) => Some(Taken {
                claim,
                conn,
                made: Instant::now(),
                used: Instant::now(),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "database: this worker's own connection could not be made; using the pool");
                claim.settle(Slot::Failed(Instant::now()));
                None
            }
        },
    }
}

/// A task's hold on this thread's slot for a target, which is Busy meanwhile. Settled with
/// the slot's next state; dropped unsettled (the task was cancelled, or the connection
/// failed), it empties the slot, and the next use makes a new connection.
struct Claim {
    target: Target,
    settled: bool,
}

impl Claim {
    fn settle(mut self, slot: Slot) {
        self.set(slot);
        self.settled = true;
    }

    fn set(&self, slot: Slot) {
        CONNECTIONS.with(|c| {
            if let Some((_, s)) = c.borrow_mut().iter_mut().find(|(t, _)| t.is(&self.target)) {
                *s = slot;
            }
        });
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.settled {
            self.set(Slot::Empty);
        }
    }
}

/// A thread's connection, taken out of its slot; put back with [`Taken::give_back`].
struct Taken {
    claim: Claim,
    conn: Connection,
    made: Instant,
    used: Instant,
}

impl Taken {
    fn give_back(self) {
        self.claim.settle(Slot::Idle(self.conn, self.made, Instant::now()));
    }

    /// The statement on this connection: pinged first if idle a while, all within
    /// [`TIME_LIMIT`].
    async fn fetch_optional(&mut self, statement: &Statement) -> Result<Option<QueryResult>, String> {
        let idle = self.used.elapsed() >= PING_IF_IDLE_FOR;
        let conn = &mut self.conn;
        let run = async {
            if idle {
                conn.ping().await?;
            }
            conn.fetch_optional(statement).await
        };
        match tokio::time::timeout(TIME_LIMIT, run).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {} s", TIME_LIMIT.as_secs())),
        }
    }
}

/// Runs `statement`, which returns one row or none, on this thread's own connection (see the
/// module documentation), or on the pool. A statement that fails on the thread's connection
/// runs once more on the pool, so it must be idempotent.
pub async fn fetch_optional<M: FromQueryResult>(
    db: &DatabaseConnection,
    statement: Statement,
) -> Result<Option<M>, DbErr> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let current_thread = Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::CurrentThread);
    if let Some(target) = current_thread.then(|| Target::of(db)).flatten()
        && let Some(mut taken) = take(&target).await
    {
        match taken.fetch_optional(&statement).await {
            Ok(row) => {
                taken.give_back();
                return row.map(|row| M::from_query_result(&row, "")).transpose();
            }
            // Whether the statement or the connection failed (PostgreSQL reports a dropped
            // connection as a database error too), the connection is dropped and the pool
            // answers: its error, if any, is the one the caller sees.
            Err(error) => {
                tracing::warn!(%error, "database: this worker's own connection failed; using the pool");
                drop(taken);
            }
        }
    }
    let row = db.query_one_raw(statement).await?;
    row.map(|row| M::from_query_result(&row, "")).transpose()
}

/// This thread's slot for `db`: its state, and when its connection was made.
#[cfg(test)]
fn slot_state(db: &DatabaseConnection) -> Option<(&'static str, Option<Instant>)> {
    let target = Target::of(db)?;
    CONNECTIONS.with(|c| {
        c.borrow()
            .iter()
            .find(|(t, _)| t.is(&target))
            .map(|(_, slot)| match slot {
                Slot::Idle(_, made, _) => ("idle", Some(*made)),
                Slot::Busy => ("busy", None),
                Slot::Empty => ("empty", None),
                Slot::Failed(_) => ("failed", None),
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::FromQueryResult;

    #[derive(Debug, FromQueryResult)]
    struct Answer {
        answer: i64,
    }

    #[tokio::test]
    async fn the_threads_connection_is_kept_reused_and_freed_when_a_use_is_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let url = secrecy::SecretString::from(format!("sqlite://{}/local.db?mode=rwc", dir.path().display()));
        let db = crate::db::connect(&url, 2).await.unwrap();
        let select = || Statement::from_string(DbBackend::Sqlite, "SELECT 42 AS answer");
        assert_eq!(slot_state(&db), None, "nothing made before the first use");

        // A first use dropped at its first poll, while the connection is being made: the
        // slot must not stay taken.
        let cancelled = futures::FutureExt::now_or_never(fetch_optional::<Answer>(&db, select()));
        let (state, _) = slot_state(&db).unwrap();
        assert!(
            matches!(state, "empty" | "idle"),
            "a cancelled use left the slot {state}"
        );
        if let Some(result) = cancelled {
            assert_eq!(result.unwrap().unwrap().answer, 42);
        }

        // Made (or kept) by the next use, then reused as it is.
        assert_eq!(
            fetch_optional::<Answer>(&db, select()).await.unwrap().unwrap().answer,
            42
        );
        let (state, made) = slot_state(&db).unwrap();
        assert_eq!(state, "idle");
        assert_eq!(
            fetch_optional::<Answer>(&db, select()).await.unwrap().unwrap().answer,
            42
        );
        assert_eq!(slot_state(&db).unwrap(), ("idle", made), "the same connection again");

        // A failing statement gives the connection up, and the pool's error is the answer.
        let bad = Statement::from_string(DbBackend::Sqlite, "SELECT no_such_column FROM no_such_table");
        assert!(fetch_optional::<Answer>(&db, bad).await.is_err());
        assert_eq!(slot_state(&db).unwrap().0, "empty");
        assert_eq!(
            fetch_optional::<Answer>(&db, select()).await.unwrap().unwrap().answer,
            42
        );
        let (state, remade) = slot_state(&db).unwrap();
        assert_eq!(state, "idle");
        assert_ne!(remade, made, "a new connection after the failure");
    }

    #[test]
    fn targets_are_told_apart_by_their_pool() {
        let a = Arc::new(SqliteConnectOptions::new());
        let b = Arc::new(SqliteConnectOptions::new());
        assert!(Target::Sqlite(a.clone()).is(&Target::Sqlite(a.clone())));
        assert!(!Target::Sqlite(a).is(&Target::Sqlite(b)));
    }
}

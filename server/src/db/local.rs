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
//! serves for a second before the thread tries again.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection, PgRow};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteRow};
use sea_orm::sqlx::{self, ConnectOptions as _};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult, QueryResult, Statement};
use sea_query_sqlx::SqlxValues;

/// A thread's connection is replaced after this long (as a pool retires old connections).
const MAX_AGE: Duration = Duration::from_secs(30 * 60);
/// After connecting failed, the pool serves this long before the thread tries again.
const RETRY_AFTER: Duration = Duration::from_secs(1);
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

enum Row {
    Postgres(PgRow),
    Sqlite(SqliteRow),
}

impl Connection {
    async fn fetch_optional(&mut self, statement: &Statement) -> Result<Option<Row>, sqlx::Error> {
        let values = SqlxValues(statement.values.clone().unwrap_or(sea_orm::Values(Vec::new())));
        let sql = sqlx::AssertSqlSafe(statement.sql.as_str());
        Ok(match self {
            Self::Postgres(conn) => sqlx::query_with(sql, values)
                .fetch_optional(conn)
                .await?
                .map(Row::Postgres),
            Self::Sqlite(conn) => sqlx::query_with(sql, values)
                .fetch_optional(conn)
                .await?
                .map(Row::Sqlite),
        })
    }
}

enum Slot {
    /// Free, made at this instant.
    Idle(Connection, Instant),
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
            Slot::Idle(conn, made) if made.elapsed() < MAX_AGE => Some(Some((conn, made))),
            Slot::Busy => None,
            Slot::Failed(at) if at.elapsed() < RETRY_AFTER => {
                *slot = Slot::Failed(at);
                None
            }
            // None yet, too old, or time to try again: make a new one.
            Slot::Idle(..) | Slot::Empty | Slot::Failed(_) => Some(None),
        }
    })?;
    let mut taken = Taken {
        target: target.clone(),
        conn: None,
        made: Instant::now(),
    };
    match idle {
        Some((conn, made)) => {
            taken.conn = Some(conn);
            taken.made = made;
        }
        None => match target.connect().await {
            Ok(conn) => taken.conn = Some(conn),
            Err(e) => {
                tracing::warn!(error = %e, "database: this worker's own connection could not be made; using the pool");
                taken.set(Slot::Failed(Instant::now()));
                return None;
            }
        },
    }
    Some(taken)
}

/// A connection taken out of its slot. Given back with [`Taken::give_back`]; dropped without
/// (the task was cancelled mid-statement, or the connection failed), its slot is emptied and
/// the next use makes a new one.
struct Taken {
    target: Target,
    conn: Option<Connection>,
    made: Instant,
}

impl Taken {
    fn set(&mut self, slot: Slot) {
        self.conn = None;
        CONNECTIONS.with(|c| {
            if let Some((_, s)) = c.borrow_mut().iter_mut().find(|(t, _)| t.is(&self.target)) {
                *s = slot;
            }
        });
    }

    fn give_back(mut self) {
        if let Some(conn) = self.conn.take() {
            let made = self.made;
            self.set(Slot::Idle(conn, made));
        }
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        if self.conn.is_some() {
            // Not given back: make a new one next time.
            self.set(Slot::Empty);
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
        && let Some(conn) = taken.conn.as_mut()
    {
        match conn.fetch_optional(&statement).await {
            Ok(row) => {
                taken.give_back();
                return row
                    .map(|row| {
                        let result = match row {
                            Row::Postgres(row) => QueryResult::from(row),
                            Row::Sqlite(row) => QueryResult::from(row),
                        };
                        M::from_query_result(&result, "")
                    })
                    .transpose();
            }
            // Whether the statement or the connection failed (PostgreSQL reports a dropped
            // connection as a database error too), the connection is dropped and the pool
            // answers: its error, if any, is the one the caller sees.
            Err(e) => {
                tracing::warn!(error = %e, "database: this worker's own connection failed; using the pool");
                drop(taken);
            }
        }
    }
    let row = db.query_one_raw(statement).await?;
    row.map(|row| M::from_query_result(&row, "")).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_told_apart_by_their_pool() {
        let a = Arc::new(SqliteConnectOptions::new());
        let b = Arc::new(SqliteConnectOptions::new());
        assert!(Target::Sqlite(a.clone()).is(&Target::Sqlite(a.clone())));
        assert!(!Target::Sqlite(a).is(&Target::Sqlite(b)));
    }
}

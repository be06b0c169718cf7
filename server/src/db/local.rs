//! A database connection of each worker thread's own, for the one statement every login
//! runs (recording the end user).
//!
//! A statement on the pool costs more than the statement: sqlx pings every connection it
//! takes back (one more round trip to PostgreSQL), a pooled PostgreSQL connection made on
//! another thread has its socket watched by that thread's runtime, so each reply first wakes
//! that thread, and sqlx runs each SQLite connection on a thread of its own, so every
//! statement is handed to that thread and its answer handed back (two thread switches). A
//! connection made on the worker thread and kept outside the pool costs none of these: on
//! PostgreSQL an sqlx connection, on SQLite a `rusqlite` connection to the same file that
//! runs the statement right on the worker thread (SQLite's own work, about 50 µs).
//!
//! Each thread that runs a current-thread runtime (every actix-web worker) makes one on
//! first use and keeps it while it serves, for half an hour at most. While a task of the
//! thread uses it, another task of the same thread goes to the pool, as do other threads, so
//! this never waits where the pool would not. When a statement fails there (the server went
//! away, a network error, or the statement itself), the connection is dropped and the
//! statement runs once more on the pool, whose answer counts; for the upsert this serves,
//! running it twice is harmless. After a failed attempt to connect, the pool
//! serves for a second before the thread tries again. As the pool does with its own, a
//! PostgreSQL connection idle for more than a second is pinged before use, and a statement
//! (with its ping) that has no answer within five seconds gives the connection up for the
//! pool.
//!
//! The SQLite connection never waits on the worker thread: its busy timeout is zero, so
//! when another connection holds the database's write lock (the audit writer's batch,
//! another worker's upsert) the statement is refused at once, and runs on the pool instead,
//! which waits for the lock off the worker thread; the connection is kept. It never
//! checkpoints the write-ahead log either (`wal_autocheckpoint=0`): that copies pages to the
//! database file and syncs it, which the pool's connections do after their own commits (the
//! audit writer commits every login's event within half a second). It has the pool's
//! settings otherwise: foreign keys enforced, `synchronous=NORMAL`, pages read through a
//! memory map. It binds values and reads columns as sqlx does (UUIDs as 16-byte blobs,
//! times as RFC 3339 text), which the tests hold it to. An SQLite database in memory has no
//! file to open a second connection to: there the pool serves.

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::sqlx::{self, ConnectOptions as _};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult, QueryResult, Statement, Value};
use sea_query_sqlx::SqlxValues;

/// A thread's connection is replaced after this long (as a pool retires old connections).
const MAX_AGE: Duration = Duration::from_secs(30 * 60);
/// After connecting failed, the pool serves this long before the thread tries again.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// A PostgreSQL connection idle for longer is pinged before use (as the pool does with its
/// own).
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);
/// The most a PostgreSQL statement (with its ping) may take on a thread's connection before
/// the connection is given up for the pool (whose own acquire timeout then applies): a
/// connection a firewall silently dropped would otherwise hang the login for minutes.
const TIME_LIMIT: Duration = Duration::from_secs(5);
/// Databases a thread keeps a connection to (more than one only in tests).
const MAX_DATABASES: usize = 4;
/// The pool's memory map for SQLite pages (`db::connect`), for the thread's connection too.
pub(crate) const SQLITE_MMAP_SIZE: &str = "268435456";

/// A row type read from the thread's own SQLite connection, which is `rusqlite`'s and not
/// sqlx's, so sea-orm's `FromQueryResult` does not apply. Columns are read by name, with
/// `rusqlite`'s `chrono` and `uuid` conversions (which read what sqlx writes).
pub trait FromSqliteRow: Sized {
    /// The row's value.
    fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

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

    async fn connect(&self) -> Result<Connection, Unavailable> {
        Ok(match self {
            Self::Postgres(options) => Connection::Postgres(
                options
                    .connect()
                    .await
                    .map_err(|e| Unavailable::Failed(e.to_string()))?,
            ),
            Self::Sqlite(options) => Connection::Sqlite(open_sqlite(options.get_filename())?),
        })
    }
}

/// Why a thread has no connection of its own to a database.
enum Unavailable {
    /// Connecting failed (the pool serves for [`RETRY_AFTER`]).
    Failed(String),
    /// The database cannot have one: SQLite in memory (the pool always serves).
    Never,
}

/// A connection to the SQLite file the pool uses, run on this thread (see the module
/// documentation for its settings).
fn open_sqlite(path: &Path) -> Result<rusqlite::Connection, Unavailable> {
    use rusqlite::OpenFlags;
    // The pool's database in memory is no file (sqlx names it `file:sqlx-in-memory-…`).
    if !path.is_file() {
        return Err(Unavailable::Never);
    }
    let failed = |e: rusqlite::Error| Unavailable::Failed(e.to_string());
    // Not SQLITE_OPEN_CREATE: the pool made the file, and this opens that one or none.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(failed)?;
    conn.busy_timeout(Duration::ZERO).map_err(failed)?;
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA mmap_size = {SQLITE_MMAP_SIZE}; \
         PRAGMA wal_autocheckpoint = 0;"
    ))
    .map_err(failed)?;
    Ok(conn)
}

enum Connection {
    Postgres(PgConnection),
    Sqlite(rusqlite::Connection),
}

/// Why a statement on a thread's connection gave way to the pool.
#[derive(Debug)]
enum Failure {
    /// SQLite: another connection holds the write lock. The connection is kept.
    Busy,
    /// SQLite: a value of a kind [`sqlite_value`] does not bind. The connection is kept.
    Unbindable,
    /// Anything else: the connection is dropped.
    Failed(String),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => Self::Busy,
            _ => Self::Failed(e.to_string()),
        }
    }
}

/// `value` as sqlx binds it for SQLite (`sea-query-sqlx`), for the kinds of value the
/// thread's statements use; `None` for any other kind (the pool runs that statement).
fn sqlite_value(value: &Value) -> Option<rusqlite::types::Value> {
    use rusqlite::types::Value as Sql;
    fn or_null<T>(v: &Option<T>, f: impl FnOnce(&T) -> Sql) -> Sql {
        v.as_ref().map_or(Sql::Null, f)
    }
    Some(match value {
        Value::Bool(v) => or_null(v, |b| Sql::Integer(i64::from(*b))),
        Value::TinyInt(v) => or_null(v, |n| Sql::Integer(i64::from(*n))),
        Value::SmallInt(v) => or_null(v, |n| Sql::Integer(i64::from(*n))),
        Value::Int(v) => or_null(v, |n| Sql::Integer(i64::from(*n))),
        Value::BigInt(v) => or_null(v, |n| Sql::Integer(*n)),
        Value::TinyUnsigned(v) => or_null(v, |n| Sql::Integer(i64::from(*n))),
        Value::SmallUnsigned(v) => or_null(v, |n| Sql::Integer(i64::from(*n))),
        Value::Unsigned(v) => or_null(v, |n| Sql::Integer(i64::from(*n))),
        Value::Float(v) => or_null(v, |n| Sql::Real(f64::from(*n))),
        Value::Double(v) => or_null(v, |n| Sql::Real(*n)),
        Value::String(v) => or_null(v, |s| Sql::Text(s.clone())),
        Value::Bytes(v) => or_null(v, |b| Sql::Blob(b.clone())),
        Value::Uuid(v) => or_null(v, |u| Sql::Blob(u.as_bytes().to_vec())),
        Value::ChronoDateTimeUtc(v) => or_null(v, |t| {
            Sql::Text(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
        }),
        _ => return None,
    })
}

/// Runs `statement` (one row or none) on a SQLite connection, to its end.
fn sqlite_fetch_optional<M: FromSqliteRow>(
    conn: &rusqlite::Connection,
    statement: &Statement,
) -> Result<Option<M>, Failure> {
    let values = statement.values.as_ref().map_or(&[][..], |v| v.0.as_slice());
    let params = values
        .iter()
        .map(sqlite_value)
        .collect::<Option<Vec<_>>>()
        .ok_or(Failure::Unbindable)?;
    let mut prepared = conn.prepare_cached(&statement.sql)?;
    let mut rows = prepared.query(rusqlite::params_from_iter(params))?;
    let row = rows.next()?.map(M::from_sqlite_row).transpose()?;
    // Stepped to the end, so the statement's implicit transaction commits here.
    while rows.next()?.is_some() {}
    Ok(row)
}

impl Connection {
    /// The statement on this connection; a PostgreSQL connection is pinged first if it was
    /// idle since `used`, all within [`TIME_LIMIT`].
    async fn fetch_optional<M: FromQueryResult + FromSqliteRow>(
        &mut self,
        statement: &Statement,
        used: Instant,
    ) -> Result<Option<M>, Failure> {
        let conn = match self {
            Self::Sqlite(conn) => return sqlite_fetch_optional(conn, statement),
            Self::Postgres(conn) => conn,
        };
        let idle = used.elapsed() >= PING_IF_IDLE_FOR;
        let values = SqlxValues(statement.values.clone().unwrap_or(sea_orm::Values(Vec::new())));
        let sql = sqlx::AssertSqlSafe(statement.sql.as_str());
        let run = async {
            use sqlx::Connection as _;
            if idle {
                conn.ping().await?;
            }
            sqlx::query_with(sql, values).fetch_optional(conn).await
        };
        let row = match tokio::time::timeout(TIME_LIMIT, run).await {
            Ok(result) => result.map_err(|e| Failure::Failed(e.to_string()))?,
            Err(_) => return Err(Failure::Failed(format!("no answer within {} s", TIME_LIMIT.as_secs()))),
        };
        row.map(|row| M::from_query_result(&QueryResult::from(row), ""))
            .transpose()
            .map_err(|e| Failure::Failed(e.to_string()))
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
    /// This database cannot have one ([`Unavailable::Never`]).
    Never,
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
            Slot::Never => {
                *slot = Slot::Never;
                None
            }
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
            Err(Unavailable::Failed(error)) => {
                tracing::warn!(%error, "database: this worker's own connection could not be made; using the pool");
                claim.settle(Slot::Failed(Instant::now()));
                None
            }
            Err(Unavailable::Never) => {
                claim.settle(Slot::Never);
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
}

/// Runs `statement`, which returns one row or none, on this thread's own connection (see the
/// module documentation), or on the pool. A statement that fails on the thread's connection
/// runs once more on the pool, so it must be idempotent.
pub async fn fetch_optional<M: FromQueryResult + FromSqliteRow>(
    db: &DatabaseConnection,
    statement: Statement,
) -> Result<Option<M>, DbErr> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let current_thread = Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::CurrentThread);
    if let Some(target) = current_thread.then(|| Target::of(db)).flatten()
        && let Some(mut taken) = take(&target).await
    {
        match taken.conn.fetch_optional::<M>(&statement, taken.used).await {
            Ok(row) => {
                taken.give_back();
                return Ok(row);
            }
            // SQLite's write lock is taken (the pool waits for it, off this thread), or a value
            // this connection does not bind: the pool runs the statement.
            Err(failure @ (Failure::Busy | Failure::Unbindable)) => {
                tracing::debug!(?failure, "database: this worker's own connection gives way to the pool");
                taken.give_back();
            }
            // Whether the statement or the connection failed (PostgreSQL reports a dropped
            // connection as a database error too), the connection is dropped and the pool
            // answers: its error, if any, is the one the caller sees.
            Err(Failure::Failed(error)) => {
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
                Slot::Never => ("never", None),
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

    impl FromSqliteRow for Answer {
        fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
            Ok(Self {
                answer: row.get("answer")?,
            })
        }
    }

    async fn sqlite_file(dir: &tempfile::TempDir) -> DatabaseConnection {
        let url = secrecy::SecretString::from(format!("sqlite://{}/local.db?mode=rwc", dir.path().display()));
        crate::db::connect(&url, 2).await.unwrap()
    }

    #[tokio::test]
    async fn the_threads_connection_is_kept_reused_and_freed_when_a_use_is_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_file(&dir).await;
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

    #[tokio::test]
    async fn a_taken_write_lock_sends_the_statement_to_the_pool_and_keeps_the_connection() {
        use sea_orm::TransactionTrait;
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_file(&dir).await;
        db.execute_unprepared("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        let insert = |k: i64| {
            Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "INSERT INTO t (k) VALUES (?) RETURNING k AS answer",
                [k.into()],
            )
        };
        assert_eq!(
            fetch_optional::<Answer>(&db, insert(1)).await.unwrap().unwrap().answer,
            1
        );
        let (state, made) = slot_state(&db).unwrap();
        assert_eq!(state, "idle");

        // A pooled connection holds the write lock (as the audit writer's batch does). The
        // thread's connection cannot write now and does not wait: the pool runs the statement,
        // which waits for the lock until the transaction below commits.
        let txn = db.begin().await.unwrap();
        txn.execute_unprepared("INSERT INTO t (k) VALUES (100)").await.unwrap();
        let (row, committed) = tokio::join!(fetch_optional::<Answer>(&db, insert(2)), txn.commit());
        committed.unwrap();
        assert_eq!(row.unwrap().unwrap().answer, 2);
        assert_eq!(
            slot_state(&db).unwrap(),
            ("idle", made),
            "a busy database is no failure: the connection is kept"
        );
        // And it writes again once the lock is free.
        assert_eq!(
            fetch_optional::<Answer>(&db, insert(3)).await.unwrap().unwrap().answer,
            3
        );
        assert_eq!(slot_state(&db).unwrap(), ("idle", made));
        let count = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT count(*) AS answer FROM t",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(Answer::from_query_result(&count, "").unwrap().answer, 4);
    }

    #[derive(Debug, PartialEq, FromQueryResult)]
    struct Bound {
        kind: String,
        literal: String,
    }

    impl FromSqliteRow for Bound {
        fn from_sqlite_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
            Ok(Self {
                kind: row.get("kind")?,
                literal: row.get("literal")?,
            })
        }
    }

    #[tokio::test]
    async fn values_are_bound_as_sqlx_binds_them() {
        use chrono::TimeZone;
        let dir = tempfile::tempdir().unwrap();
        let db = sqlite_file(&dir).await;
        let at = chrono::Utc.with_ymd_and_hms(2026, 11, 30, 8, 27, 41).unwrap();
        let values: Vec<Value> = vec![
            Value::Bool(Some(true)),
            Value::TinyInt(Some(-8)),
            Value::SmallInt(Some(-16)),
            Value::Int(Some(-32)),
            Value::BigInt(Some(i64::MIN)),
            Value::TinyUnsigned(Some(8)),
            Value::SmallUnsigned(Some(16)),
            Value::Unsigned(Some(u32::MAX)),
            Value::Float(Some(0.5)),
            Value::Double(Some(-1.25e300)),
            Value::String(Some("O'Brien \u{e9}\u{1F600}".into())),
            Value::String(None),
            Value::Bytes(Some(vec![0, 1, 0xfe, 0xff])),
            Value::Uuid(Some(uuid::Uuid::from_u128(0x0123_4567_89ab_4def_8123_4567_89ab_cdef))),
            Value::Uuid(None),
            Value::ChronoDateTimeUtc(Some(at)),
            Value::ChronoDateTimeUtc(Some(at + chrono::Duration::milliseconds(120))),
            Value::ChronoDateTimeUtc(Some(at + chrono::Duration::nanoseconds(123_456_789))),
            Value::ChronoDateTimeUtc(None),
        ];
        for value in values {
            let statement = Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "SELECT typeof(?) AS kind, quote(?) AS literal",
                [value.clone(), value.clone()],
            );
            let pool = db.query_one_raw(statement.clone()).await.unwrap().unwrap();
            let pool = Bound::from_query_result(&pool, "").unwrap();
            let ours = fetch_optional::<Bound>(&db, statement).await.unwrap().unwrap();
            assert_eq!(ours, pool, "{value:?}");
            assert_eq!(
                slot_state(&db).unwrap().0,
                "idle",
                "{value:?} ran on the thread's connection"
            );
        }
        // A kind it does not bind goes to the pool, which answers.
        let char = Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT typeof(?) AS kind, quote(?) AS literal",
            [Value::Char(Some('x')), Value::Char(Some('x'))],
        );
        let answer = fetch_optional::<Bound>(&db, char).await.unwrap().unwrap();
        assert_eq!(
            answer,
            Bound {
                kind: "text".into(),
                literal: "'x'".into()
            }
        );
        assert_eq!(slot_state(&db).unwrap().0, "idle", "and the connection is kept");
    }

    #[tokio::test]
    async fn a_database_in_memory_is_served_by_the_pool() {
        let url = secrecy::SecretString::from("sqlite::memory:".to_owned());
        let db = crate::db::connect(&url, 1).await.unwrap();
        let select = || Statement::from_string(DbBackend::Sqlite, "SELECT 42 AS answer");
        for _ in 0..2 {
            assert_eq!(
                fetch_optional::<Answer>(&db, select()).await.unwrap().unwrap().answer,
                42
            );
            assert_eq!(slot_state(&db).unwrap().0, "never");
        }
    }

    #[test]
    fn targets_are_told_apart_by_their_pool() {
        let a = Arc::new(SqliteConnectOptions::new());
        let b = Arc::new(SqliteConnectOptions::new());
        assert!(Target::Sqlite(a.clone()).is(&Target::Sqlite(a.clone())));
        assert!(!Target::Sqlite(a).is(&Target::Sqlite(b)));
    }
}

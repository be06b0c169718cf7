//! Database connection and migrations (SQLite by default, PostgreSQL in production).

pub mod local;

use std::time::Duration;

use rosetta_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use secrecy::{ExposeSecret, SecretString};

/// A fresh random (version 4) UUID for a row or a request, drawn from the thread's CSPRNG
/// (rand's `ThreadRng`: ChaCha12, seeded and reseeded from the operating system) rather than
/// by a `getrandom` system call per ID as `Uuid::new_v4` does; a login makes four. For
/// identifiers only (every row, request and email message ID is made here): secrets (tokens,
/// cookies, keys, nonces) come from `OsRng`.
pub fn new_id() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid()
}

/// A new ID that sorts by creation time (a UUID of version 7: milliseconds since 1970, then
/// random bits), for rows written in great numbers (a login trace per login): each is
/// appended at the end of its primary-key index, where a random ID would dirty a page
/// anywhere in it (on SQLite a page written to the WAL per row).
pub fn new_time_ordered_id() -> uuid::Uuid {
    let millis = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &rand::random()).into_uuid()
}

/// Opens a pool. For SQLite, creates the file's directory and turns on WAL so readers do
/// not wait for writers, with `synchronous=NORMAL`.
pub async fn connect(url: &SecretString, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let url = url.expose_secret();
    if let Some(path) = sqlite_path(url)
        && let Some(parent) = std::path::Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", parent.display())))?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        // A connection in steady use is not pinged before each statement (sqlx's default
        // would add a round trip to every statement); one idle for a second is, so a
        // connection the server dropped is found before a request uses it.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        // WAL with synchronous=NORMAL: commits no longer wait for an fsync (the WAL is synced
        // at checkpoints); the database stays consistent on a crash, and at worst the last
        // few commits before a power loss are lost. Every connection of the pool gets it.
        // Pages are read through a memory map rather than a read call each (each pooled
        // connection re-reads what another one changed).
        .map_sqlx_sqlite_opts(|o| {
            o.synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .pragma("mmap_size", local::SQLITE_MMAP_SIZE)
        });
    let db = Database::connect(options).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
    }
    Ok(db)
}

/// The connection of the writers off the response path (the audit log's and the login
/// traces' batches, `services::batch`): one of their own, so their batch statements, whose
/// shape varies with the batch's size, are prepared once on it and found again, where the
/// pool spread them over its connections and prepared most of them anew, and so they never
/// wait for a connection the logins use. An SQLite database in memory lives in its pool
/// only: there it is the pool.
pub async fn connect_writer(url: &SecretString, pool: &DatabaseConnection) -> Result<DatabaseConnection, DbErr> {
    if sqlite_in_memory(url.expose_secret()) {
        return Ok(pool.clone());
    }
    connect(url, 1).await
}

/// Whether `url` names an SQLite database in memory (one that lives in its pool only).
fn sqlite_in_memory(url: &str) -> bool {
    url.starts_with("sqlite") && sqlite_path(url).is_none()
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// Applies every pending migration on a connection of its own, then opens the pool (as
/// [`connect`]) that serves: no pooled connection has seen the schema while it changed.
///
/// Migrations run on the pool would leave behind connections that held the schema of a
/// migration in the middle, with statements prepared against it. SQLite prepares a query
/// against the schema the connection last read, and sqlx reads a statement's column names once,
/// when it prepares it: such a connection could hand sea-orm a row whose column names are those
/// of the older table (seen as `Missing value for column 'mfa_trust_upstream'` on SQLite, right
/// after start-up, under load). An SQLite database in memory lives in its pool only: there the
/// pool migrates itself.
pub async fn connect_migrated(url: &SecretString, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    if sqlite_in_memory(url.expose_secret()) {
        let db = connect(url, max_connections).await?;
        migrate_up(&db).await?;
        return Ok(db);
    }
    let once = connect(url, 1).await?;
    let migrated = migrate_up(&once).await;
    once.close().await?;
    migrated?;
    connect(url, max_connections).await
}

/// Applies every pending migration.
pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Rolls back `steps` migrations (all when `None`).
pub async fn migrate_down(db: &DatabaseConnection, steps: Option<u32>) -> Result<(), DbErr> {
    Migrator::down(db, steps).await
}

/// Each migration's name and whether it is applied.
pub async fn migration_status(db: &DatabaseConnection) -> Result<Vec<(String, bool)>, DbErr> {
    Ok(Migrator::get_migration_with_status(db)
        .await?
        .iter()
        .map(|m| {
            (
                m.name().to_owned(),
                m.status() == rosetta_migration::MigrationStatus::Applied,
            )
        })
        .collect())
}

/// `sqlite` or `postgres`.
pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Sqlite => "sqlite",
        DbBackend::Postgres => "postgres",
        _ => "other",
    }
}

/// Checks the database answers.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ordered_ids_are_version_7_and_sort_by_their_millisecond() {
        let before = chrono::Utc::now().timestamp_millis();
        let ids: Vec<uuid::Uuid> = (0..1000).map(|_| new_time_ordered_id()).collect();
        let after = chrono::Utc::now().timestamp_millis();
        let distinct: std::collections::HashSet<&uuid::Uuid> = ids.iter().collect();
        assert_eq!(distinct.len(), 1000, "a repeated ID");
        for pair in ids.windows(2) {
            let millis = |id: &uuid::Uuid| {
                u64::from_be_bytes([
                    0,
                    0,
                    id.as_bytes()[0],
                    id.as_bytes()[1],
                    id.as_bytes()[2],
                    id.as_bytes()[3],
                    id.as_bytes()[4],
                    id.as_bytes()[5],
                ])
            };
            assert!(millis(&pair[0]) <= millis(&pair[1]), "{pair:?}");
            // Of two IDs of different milliseconds, the later one sorts after.
            if millis(&pair[0]) < millis(&pair[1]) {
                assert!(pair[0] < pair[1], "{pair:?}");
            }
        }
        for id in &ids {
            assert_eq!(id.get_version(), Some(uuid::Version::SortRand));
            let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
            let millis = i64::try_from(secs * 1000 + u64::from(nanos) / 1_000_000).unwrap();
            assert!((before..=after).contains(&millis), "{millis} not in {before}..={after}");
        }
    }

    #[test]
    fn new_ids_are_random_version_4_uuids() {
        let ids: std::collections::HashSet<uuid::Uuid> = (0..1000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 1000, "a repeated ID");
        for id in &ids {
            assert_eq!(id.get_version(), Some(uuid::Version::Random));
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        }
        // 122 random bits each: across 1,000 IDs every bit position takes both values.
        let (ones, zeros) = ids.iter().fold((0u128, 0u128), |(o, z), id| {
            let v = id.as_u128();
            (o | v, z | !v)
        });
        let fixed = (0xF000u128 << 64) | 0xC000_0000_0000_0000u128;
        assert_eq!(ones & zeros & !fixed, !fixed, "a random bit that never changed");
    }

    #[test]
    fn sqlite_paths_are_found_in_urls() {
        assert_eq!(
            sqlite_path("sqlite://data/rosetta.db?mode=rwc"),
            Some("data/rosetta.db")
        );
        assert_eq!(sqlite_path("sqlite:/tmp/x.db"), Some("/tmp/x.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://localhost/x"), None);
    }
}

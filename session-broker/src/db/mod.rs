//! The database: one sqlx `Any` pool over SQLite or PostgreSQL, embedded migrations for
//! each, readiness checks, and the row helpers every repository shares.
//!
//! One code path serves both databases: queries use `$1`-style placeholders (SQLite accepts
//! them as numbered parameters), ids are UUID v7 text, times are BIGINT unix milliseconds
//! and JSON is text. The only dialect difference the repositories see is booleans, which
//! SQLite returns as integers; [`row::get_bool`] hides it.

pub mod backup;
mod error;
pub mod row;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Deserialize;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub use error::DbError;

/// A transaction on the broker database; repositories take `&mut AnyConnection` (this
/// derefs to one) so the same functions work inside and outside one. On SQLite it also
/// holds this process's turn at the database's single write lock ([`Database::begin`]).
pub struct Tx {
    inner: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<OwnedSemaphorePermit>,
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        let Self { inner, _turn } = self;
        inner.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        let Self { inner, _turn } = self;
        inner.rollback().await
    }
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

/// How long a transaction waits for its turn at SQLite's write lock before giving up.
const SQLITE_TURN_TIMEOUT: Duration = Duration::from_secs(30);

/// One queue per SQLite file in this process, shared by every pool on it (several
/// brokers in one process, as tests and benchmarks run them).
fn sqlite_writers(url: &str) -> Arc<Semaphore> {
    static QUEUES: OnceLock<Mutex<HashMap<String, Arc<Semaphore>>>> = OnceLock::new();
    let mut queues = QUEUES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(
        queues
            .entry(url.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(1))),
    )
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Where the broker keeps its state (`[database]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH?mode=rwc` (the embedded default) or `postgres://USER@HOST:PORT/DB`.
    pub url: String,
    /// Upper bound of the connection pool.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

fn default_max_connections() -> u32 {
    10
}

/// Which database engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn from_url(url: &str) -> Result<Self, DbError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(DbError::UnsupportedUrl)
        }
    }
}

/// A connection pool on the broker database.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    /// SQLite: this process's queue for the file's write lock.
    writers: Option<Arc<Semaphore>>,
}

impl Database {
    /// Connects (without migrating). SQLite connections get foreign keys on and a busy
    /// timeout, and the file is switched to WAL so readers never block the writer.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, DbError> {
        install_default_drivers();
        let backend = Backend::from_url(&config.url)?;
        if config.max_connections == 0 {
            return Err(DbError::Config("max_connections must be at least 1".into()));
        }
        let mut options = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            });
        }
        let pool = options
            .connect(&config.url)
            .await
            .map_err(DbError::Connect)?;
        if backend == Backend::Sqlite {
            // Persistent for the file, so once per start is enough.
            sqlx::query("PRAGMA journal_mode = WAL")
                .fetch_optional(&pool)
                .await
                .map_err(DbError::Connect)?;
        }
        let writers = (backend == Backend::Sqlite).then(|| sqlite_writers(&config.url));
        crate::metrics::register_pool(&pool);
        Ok(Self {
            pool,
            backend,
            writers,
        })
    }

    /// The engine behind this pool.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The underlying pool, for repositories.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies every embedded migration not yet applied, then chains audit events written
    /// before the audit chain existed, or not sealed yet ([`crate::repo::audit::seal_all`]). Safe to run
    /// from several nodes: sqlx takes an advisory lock on PostgreSQL and the chaining locks
    /// the chain's head.
    pub async fn migrate(&self) -> Result<(), DbError> {
        self.migrator()
            .run(&self.pool)
            .await
            .map_err(DbError::Migrate)?;
        let mut conn = self.acquire().await?;
        let chained = crate::repo::audit::seal_all(&mut conn).await?;
        if chained > 0 {
            tracing::info!(chained, "audit events from before the chain were chained");
        }
        Ok(())
    }

    /// True when every embedded migration has been applied successfully.
    pub async fn migrations_done(&self) -> Result<bool, DbError> {
        let Some(latest) = self.migrator().iter().map(|m| m.version).max() else {
            return Ok(true);
        };
        let applied: Result<Option<i64>, sqlx::Error> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = $1")
                .bind(true)
                .fetch_one(&self.pool)
                .await;
        match applied {
            Ok(version) => Ok(version.is_some_and(|v| v >= latest)),
            // The bookkeeping table does not exist before the first migration.
            Err(sqlx::Error::Database(_)) => Ok(false),
            Err(e) => Err(DbError::from(e)),
        }
    }

    /// A round trip to the database, for readiness probes.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map(drop)
            .map_err(DbError::from)
    }

    /// A connection from the pool, for reads and single writes outside a transaction.
    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, DbError> {
        self.pool.acquire().await.map_err(DbError::from)
    }

    /// Starts a transaction.
    ///
    /// SQLite has one write lock per file. Its busy handler waits for it by sleeping and
    /// polling (sleeps growing to 100 ms), which is unfair: with 16 launches in flight a
    /// connection that just committed takes the lock again before sleepers wake, and an
    /// unlucky one can lose for the whole busy timeout and fail with "database is locked"
    /// (the placement bench did, and its p99 was near a second). So transactions of this
    /// process queue first for their turn (a FIFO semaphore per file) and only then take
    /// a connection and `BEGIN IMMEDIATE`; the busy timeout is left for other processes.
    pub async fn begin(&self) -> Result<Tx, DbError> {
        match (self.backend, &self.writers) {
            (Backend::Sqlite, Some(writers)) => {
                let turn =
                    tokio::time::timeout(SQLITE_TURN_TIMEOUT, Arc::clone(writers).acquire_owned())
                        .await
                        .map_err(|_| DbError::Other(sqlx::Error::PoolTimedOut))?
                        .map_err(|_| DbError::Other(sqlx::Error::PoolClosed))?;
                // A deferred SQLite transaction that reads first cannot become a writer
                // once another connection has committed (SQLITE_BUSY, which busy_timeout
                // does not retry). Every transaction here writes, so take the write lock
                // up front.
                let inner = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(Tx {
                    inner,
                    _turn: Some(turn),
                })
            }
            _ => Ok(Tx {
                inner: self.pool.begin().await?,
                _turn: None,
            }),
        }
    }

    /// Closes every connection (used on shutdown and by tests before dropping a schema).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

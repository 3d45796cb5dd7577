//! The database: one sqlx `Any` pool over SQLite or PostgreSQL, embedded migrations for
//! each, readiness checks, and the row helpers every repository shares.
//!
//! One code path serves both databases: queries use `$1`-style placeholders (SQLite accepts
//! them as numbered parameters), ids are UUID v7 text, times are BIGINT unix milliseconds
//! and JSON is text. The only dialect difference the repositories see is booleans, which
//! SQLite returns as integers; [`row::get_bool`] hides it.

mod error;
pub mod row;

use std::time::Duration;

use serde::Deserialize;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

pub use error::DbError;

/// A transaction on the broker database; repositories take `&mut AnyConnection` so the
/// same functions work inside and outside one.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

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
        Ok(Self { pool, backend })
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

    /// Applies every embedded migration not yet applied. Safe to run from several nodes:
    /// sqlx takes an advisory lock on PostgreSQL.
    pub async fn migrate(&self) -> Result<(), DbError> {
        self.migrator()
            .run(&self.pool)
            .await
            .map_err(DbError::Migrate)
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
    pub async fn begin(&self) -> Result<Tx, DbError> {
        match self.backend {
            // A deferred SQLite transaction that reads first cannot become a writer once
            // another connection has committed (SQLITE_BUSY, which busy_timeout does not
            // retry). Every transaction here writes, so take the write lock up front:
            // concurrent mutations then wait their turn instead of failing.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
        .map_err(DbError::from)
    }

    /// Closes every connection (used on shutdown and by tests before dropping a schema).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

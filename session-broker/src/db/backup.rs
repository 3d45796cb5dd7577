//! Online backups of a SQLite broker database (`hamn backup`): a consistent copy taken
//! while the services keep running, checked before it replaces anything.
//!
//! `VACUUM INTO` reads one snapshot inside a read transaction, so with the file in WAL
//! mode writers carry on meanwhile and the copy is exactly the database as of one commit.
//! The copy is written next to the target under a temporary name, verified (integrity
//! check, migrations complete, tenants readable), synced and only then renamed into place:
//! a crash or a failed check never leaves a half-written file under the target's name.
//! PostgreSQL has its own tools (pg_dump, base backups with WAL archiving); see
//! docs/operations.md.

use std::path::{Path, PathBuf};

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use super::{Backend, Database, DbError, SQLITE_MIGRATIONS};

/// Why a backup was not written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "hamn backup copies SQLite databases only; back up PostgreSQL with pg_dump or \
         pg_basebackup and WAL archiving (docs/operations.md, \"Backups\")"
    )]
    Postgres,
    #[error("{0} exists; pass --force to replace it")]
    TargetExists(PathBuf),
    #[error("the backup target {0} has no file name")]
    NoFileName(PathBuf),
    #[error("the source database is not fully migrated (run `hamn migrate` first)")]
    SourceNotMigrated,
    #[error("copying the database failed: {0}")]
    Copy(#[source] sqlx::Error),
    #[error("the copy failed its integrity check: {0}")]
    Integrity(String),
    #[error("the copy lacks migrations: it has version {found:?}, this build needs {needed}")]
    Migrations { found: Option<i64>, needed: i64 },
    #[error("cannot read the copy: {0}")]
    Verify(#[source] sqlx::Error),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What a finished backup holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub migration_version: i64,
    pub tenants: i64,
}

/// Copies `database` (SQLite, possibly in use) to `target`. Refuses an existing target
/// unless `force`; the target is replaced atomically once the copy has been verified.
pub async fn backup_sqlite(
    database: &Database,
    target: &Path,
    force: bool,
) -> Result<BackupReport, BackupError> {
    if database.backend() != Backend::Sqlite {
        return Err(BackupError::Postgres);
    }
    if !force && target.exists() {
        return Err(BackupError::TargetExists(target.to_owned()));
    }
    if !database.migrations_done().await? {
        return Err(BackupError::SourceNotMigrated);
    }
    let name = target
        .file_name()
        .ok_or_else(|| BackupError::NoFileName(target.to_owned()))?;
    // Same directory as the target, so the final rename cannot cross file systems.
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".partial-{}", std::process::id()));
    let temp = target.with_file_name(temp_name);
    // VACUUM INTO refuses an existing file; a leftover from a killed run is ours to drop.
    remove_if_present(&temp)?;
    let result = copy_and_verify(database, &temp, target).await;
    if result.is_err() {
        // Best effort: the error being returned matters more than a failed clean-up.
        let _ = std::fs::remove_file(&temp);
    }
    result
}

async fn copy_and_verify(
    database: &Database,
    temp: &Path,
    target: &Path,
) -> Result<BackupReport, BackupError> {
    let temp_text = temp.to_str().ok_or_else(|| BackupError::Io {
        action: "cannot name",
        path: temp.to_owned(),
        source: std::io::Error::other("the path is not UTF-8"),
    })?;
    sqlx::query("VACUUM INTO $1")
        .bind(temp_text.to_owned())
        .execute(database.pool())
        .await
        .map_err(BackupError::Copy)?;
    let (migration_version, tenants) = verify_copy(temp).await?;
    let io = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Io {
            action,
            path,
            source,
        }
    };
    std::fs::File::open(temp)
        .and_then(|file| file.sync_all())
        .map_err(io("cannot sync", temp))?;
    std::fs::rename(temp, target).map_err(io("cannot rename the copy to", target))?;
    // The rename is durable only once the directory entry is.
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("cannot sync", dir))?;
    }
    let bytes = std::fs::metadata(target)
        .map_err(io("cannot stat", target))?
        .len();
    Ok(BackupReport {
        path: target.to_owned(),
        bytes,
        migration_version,
        tenants,
    })
}

/// Opens the copy read-only: integrity check, every embedded migration applied, tenants
/// readable. Returns the migration version and the number of tenants.
pub async fn verify_copy(path: &Path) -> Result<(i64, i64), BackupError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(BackupError::Verify)?;
    let checked = async {
        let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut conn)
            .await
            .map_err(BackupError::Verify)?;
        if problems != ["ok"] {
            return Err(BackupError::Integrity(problems.join("; ")));
        }
        let needed = SQLITE_MIGRATIONS
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0);
        let found: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1")
                .fetch_one(&mut conn)
                .await
                .map_err(BackupError::Verify)?;
        if found.is_none_or(|v| v < needed) {
            return Err(BackupError::Migrations { found, needed });
        }
        let tenants: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants")
            .fetch_one(&mut conn)
            .await
            .map_err(BackupError::Verify)?;
        Ok((found.unwrap_or(needed), tenants))
    }
    .await;
    // Closing cleanly matters little for a read-only handle; the check's result does.
    let _ = conn.close().await;
    checked
}

fn remove_if_present(path: &Path) -> Result<(), BackupError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(BackupError::Io {
            action: "cannot remove",
            path: path.to_owned(),
            source,
        }),
    }
}

//! Database errors, with constraint violations told apart so the API can answer 409 rather
//! than 500 for what a client caused.

use sqlx::error::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database.url must start with sqlite: or postgres://")]
    UnsupportedUrl,
    #[error("invalid database configuration: {0}")]
    Config(String),
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A unique constraint refused the write; the text names the constraint or columns.
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// A foreign key refused the write: a referenced row is missing, or rows still refer
    /// to the one being deleted.
    #[error("foreign key constraint violated: {0}")]
    ForeignKey(String),
    /// A check constraint refused the write (validation should have caught it first).
    #[error("check constraint violated: {0}")]
    Check(String),
    #[error("a stored row is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
}

impl DbError {
    /// Whether running the whole transaction again may succeed: SQLite's "database is
    /// locked" (`SQLITE_BUSY` and its extended codes: the busy timeout ran out while
    /// another process held the write lock, or a snapshot could not be upgraded),
    /// PostgreSQL's deadlock and serialization failures.
    pub fn is_transient(&self) -> bool {
        let Self::Other(sqlx::Error::Database(db)) = self else {
            return false;
        };
        matches!(
            db.code().as_deref(),
            Some("5" | "261" | "517" | "40P01" | "40001")
        )
    }
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            // PostgreSQL names the constraint; SQLite names the columns in the message.
            let what = db
                .constraint()
                .map(str::to_owned)
                .unwrap_or_else(|| db.message().to_owned());
            match db.kind() {
                ErrorKind::UniqueViolation => return Self::Unique(what),
                ErrorKind::ForeignKeyViolation => return Self::ForeignKey(what),
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    return Self::Check(what);
                }
                _ => {}
            }
        }
        if let sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) = &e {
            return Self::Corrupt(e.to_string());
        }
        Self::Other(e)
    }
}

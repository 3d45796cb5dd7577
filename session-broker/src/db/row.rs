//! Typed access to `AnyRow` columns: UUIDs, millisecond timestamps, booleans and enums
//! stored as text, each failing with [`DbError::Corrupt`] rather than panicking.

use std::str::FromStr;

use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use uuid::Uuid;

use super::DbError;

fn corrupt(col: &str, e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(format!("column {col}: {e}"))
}

pub fn get_string(row: &AnyRow, col: &str) -> Result<String, DbError> {
    row.try_get::<String, _>(col).map_err(|e| corrupt(col, e))
}

pub fn get_opt_string(row: &AnyRow, col: &str) -> Result<Option<String>, DbError> {
    row.try_get::<Option<String>, _>(col)
        .map_err(|e| corrupt(col, e))
}

pub fn get_i64(row: &AnyRow, col: &str) -> Result<i64, DbError> {
    row.try_get::<i64, _>(col).map_err(|e| corrupt(col, e))
}

pub fn get_opt_i64(row: &AnyRow, col: &str) -> Result<Option<i64>, DbError> {
    row.try_get::<Option<i64>, _>(col)
        .map_err(|e| corrupt(col, e))
}

pub fn get_uuid(row: &AnyRow, col: &str) -> Result<Uuid, DbError> {
    Uuid::parse_str(&get_string(row, col)?).map_err(|e| corrupt(col, e))
}

pub fn get_opt_uuid(row: &AnyRow, col: &str) -> Result<Option<Uuid>, DbError> {
    get_opt_string(row, col)?
        .map(|s| Uuid::parse_str(&s).map_err(|e| corrupt(col, e)))
        .transpose()
}

/// PostgreSQL returns BOOLEAN, SQLite the 0/1 integer it stores.
pub fn get_bool(row: &AnyRow, col: &str) -> Result<bool, DbError> {
    match row.try_get::<bool, _>(col) {
        Ok(b) => Ok(b),
        Err(_) => row
            .try_get::<i64, _>(col)
            .map(|i| i != 0)
            .map_err(|e| corrupt(col, e)),
    }
}

pub fn get_time(row: &AnyRow, col: &str) -> Result<OffsetDateTime, DbError> {
    from_millis(get_i64(row, col)?).map_err(|e| corrupt(col, e))
}

pub fn get_opt_time(row: &AnyRow, col: &str) -> Result<Option<OffsetDateTime>, DbError> {
    row.try_get::<Option<i64>, _>(col)
        .map_err(|e| corrupt(col, e))?
        .map(|ms| from_millis(ms).map_err(|e| corrupt(col, e)))
        .transpose()
}

/// An enum stored as its text form.
pub fn get_enum<T: FromStr>(row: &AnyRow, col: &str) -> Result<T, DbError>
where
    T::Err: std::fmt::Display,
{
    get_string(row, col)?
        .parse::<T>()
        .map_err(|e| corrupt(col, e))
}

pub fn get_opt_json(row: &AnyRow, col: &str) -> Result<Option<serde_json::Value>, DbError> {
    get_opt_string(row, col)?
        .map(|s| serde_json::from_str(&s).map_err(|e| corrupt(col, e)))
        .transpose()
}

/// Unix milliseconds, the stored form of every timestamp.
pub fn millis(t: OffsetDateTime) -> i64 {
    // i128 → i64 cannot overflow for any date `time` can represent in milliseconds.
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub fn from_millis(ms: i64) -> Result<OffsetDateTime, time::error::ComponentRange> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
}

/// The current time truncated to the stored (millisecond) precision, so a value returned
/// after a write equals the value read back later.
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    from_millis(millis(t)).unwrap_or(t)
}

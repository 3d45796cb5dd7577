//! Data operations customers order (the service description's §8): copying one tenant's
//! configuration from one environment to the other ([`copy`]) and purging personal data
//! of a user or of a whole tenant ([`purge`]), each in one transaction with its audit
//! event. The admin API (`api::handlers::data_ops`) and `hamn admin` call these.

pub mod copy;
pub mod purge;

use crate::db::DbError;

/// Why a data operation did not run.
#[derive(Debug, thiserror::Error)]
pub enum DataOpsError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request is well-formed but the data says no (target not empty, live sessions).
    #[error("{detail}")]
    Conflict {
        field: Option<&'static str>,
        detail: String,
    },
    #[error("{field}: {reason}")]
    BadRequest { field: &'static str, reason: String },
    #[error(transparent)]
    Db(#[from] DbError),
}

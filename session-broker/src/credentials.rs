//! Host credentials per pool: the Windows account the gateway logs on to the pool's hosts
//! with, so users never type a Windows password. The password is sealed with the broker's
//! [`SecretsKey`] (AES-256-GCM, associated data naming the pool), written through the admin
//! API and never read back by it: only [`resolve`] opens it, for the gateway.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::row::{get_opt_string, get_string, get_time, get_uuid, millis, now};
use crate::db::{Database, DbError};
use crate::model::ValidationErrors;
use crate::secrets::{OpenError, Sealed, Secret, SecretsKey};
use crate::ticket::KeyError;

/// Longest accepted password (Windows allows 256 characters).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// What the admin API shows about a pool's credentials: never the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PoolCredentials {
    pub pool_id: Uuid,
    pub username: String,
    pub domain: Option<String>,
    /// Id of the key the password is sealed with.
    pub key_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Body of `PUT /pools/{id}/credentials`.
#[derive(Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPoolCredentials {
    pub username: String,
    #[serde(default)]
    pub domain: Option<String>,
    /// Write-only.
    #[schema(value_type = String, format = Password)]
    pub password: Secret,
}

impl std::fmt::Debug for SetPoolCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetPoolCredentials")
            .field("username", &self.username)
            .field("domain", &self.domain)
            .field("password", &self.password)
            .finish()
    }
}

impl SetPoolCredentials {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.text("username", &self.username, 104);
        if self.username.contains(['\\', '@']) {
            v.push(
                "username",
                "give the domain in `domain`, not in the username",
            );
        }
        if let Some(d) = &self.domain {
            v.text("domain", d, 255);
        }
        let p = self.password.expose();
        if p.is_empty() {
            v.push("password", "must not be empty");
        } else if p.chars().count() > MAX_PASSWORD_CHARS {
            v.push(
                "password",
                format!("must be at most {MAX_PASSWORD_CHARS} characters"),
            );
        } else if p.contains('\0') {
            v.push("password", "must not contain NUL");
        }
        v.finish()
    }
}

/// What the gateway logs on with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCredentials {
    pub username: String,
    pub domain: Option<String>,
    pub password: Secret,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("pool {0} has no host credentials")]
    NotConfigured(Uuid),
    /// Sealed with another key (`stored_key_id`), or the row was altered.
    #[error(
        "the credentials of pool {pool_id} do not open with secrets key {key_id} \
         (sealed with {stored_key_id})"
    )]
    Undecryptable {
        pool_id: Uuid,
        stored_key_id: String,
        key_id: String,
    },
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Keys(#[from] KeyError),
}

/// Binds a ciphertext to its row and use.
fn aad(pool_id: Uuid) -> Vec<u8> {
    format!("hamn:pool_credentials:password:v1:{pool_id}").into_bytes()
}

fn corrupt(col: &str, e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt(format!("column {col}: {e}"))
}

fn info_from_row(r: &AnyRow) -> Result<PoolCredentials, DbError> {
    Ok(PoolCredentials {
        pool_id: get_uuid(r, "pool_id")?,
        username: get_string(r, "username")?,
        domain: get_opt_string(r, "domain")?,
        key_id: get_string(r, "key_id")?,
        updated_at: get_time(r, "updated_at")?,
    })
}

fn sealed_from_row(r: &AnyRow) -> Result<Sealed, DbError> {
    let ciphertext = STANDARD
        .decode(get_string(r, "secret_ciphertext")?)
        .map_err(|e| corrupt("secret_ciphertext", e))?;
    let nonce = STANDARD
        .decode(get_string(r, "secret_nonce")?)
        .map_err(|e| corrupt("secret_nonce", e))?;
    let nonce = nonce
        .try_into()
        .map_err(|_| corrupt("secret_nonce", "wrong length"))?;
    Ok(Sealed { ciphertext, nonce })
}

/// Sets (inserts or replaces) a pool's credentials, sealing the password.
pub async fn set(
    conn: &mut AnyConnection,
    key: &SecretsKey,
    pool_id: Uuid,
    new: &SetPoolCredentials,
) -> Result<PoolCredentials, CredentialsError> {
    let sealed = key.seal(new.password.expose().as_bytes(), &aad(pool_id))?;
    let info = PoolCredentials {
        pool_id,
        username: new.username.clone(),
        domain: new.domain.clone(),
        key_id: key.key_id().to_owned(),
        updated_at: now(),
    };
    sqlx::query(
        "INSERT INTO pool_credentials (pool_id, username, domain, secret_ciphertext, \
         secret_nonce, key_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (pool_id) DO UPDATE SET username = excluded.username, \
         domain = excluded.domain, secret_ciphertext = excluded.secret_ciphertext, \
         secret_nonce = excluded.secret_nonce, key_id = excluded.key_id, \
         updated_at = excluded.updated_at",
    )
    .bind(pool_id.to_string())
    .bind(info.username.as_str())
    .bind(info.domain.clone())
    .bind(STANDARD.encode(&sealed.ciphertext))
    .bind(STANDARD.encode(sealed.nonce))
    .bind(info.key_id.as_str())
    .bind(millis(info.updated_at))
    .execute(conn)
    .await
    .map_err(DbError::from)?;
    Ok(info)
}

/// The pool's credentials without the password.
pub async fn get(
    conn: &mut AnyConnection,
    pool_id: Uuid,
) -> Result<Option<PoolCredentials>, DbError> {
    let row = sqlx::query(
        "SELECT pool_id, username, domain, key_id, updated_at FROM pool_credentials \
         WHERE pool_id = $1",
    )
    .bind(pool_id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(info_from_row).transpose()
}

pub async fn delete(conn: &mut AnyConnection, pool_id: Uuid) -> Result<bool, DbError> {
    let r = sqlx::query("DELETE FROM pool_credentials WHERE pool_id = $1")
        .bind(pool_id.to_string())
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Opens the pool's credentials on `conn` (see [`resolve`]).
pub async fn resolve_on(
    conn: &mut AnyConnection,
    key: &SecretsKey,
    pool_id: Uuid,
) -> Result<HostCredentials, CredentialsError> {
    let row = sqlx::query(
        "SELECT pool_id, username, domain, key_id, updated_at, secret_ciphertext, \
         secret_nonce FROM pool_credentials WHERE pool_id = $1",
    )
    .bind(pool_id.to_string())
    .fetch_optional(conn)
    .await
    .map_err(DbError::from)?
    .ok_or(CredentialsError::NotConfigured(pool_id))?;
    let info = info_from_row(&row)?;
    let sealed = sealed_from_row(&row)?;
    let plain =
        key.open(&sealed, &aad(pool_id))
            .map_err(|OpenError| CredentialsError::Undecryptable {
                pool_id,
                stored_key_id: info.key_id.clone(),
                key_id: key.key_id().to_owned(),
            })?;
    let password = String::from_utf8(plain).map_err(|e| {
        // Overwrite what was decrypted before reporting.
        let mut bytes = e.into_bytes();
        bytes.fill(0);
        std::hint::black_box(&bytes);
        CredentialsError::Database(corrupt("secret_ciphertext", "not UTF-8"))
    })?;
    Ok(HostCredentials {
        username: info.username,
        domain: info.domain,
        password: Secret::new(password),
    })
}

/// The credentials the gateway logs on to the hosts of `pool_id` with.
pub async fn resolve(
    db: &Database,
    key: &SecretsKey,
    pool_id: Uuid,
) -> Result<HostCredentials, CredentialsError> {
    let mut conn = db.acquire().await?;
    resolve_on(&mut conn, key, pool_id).await
}

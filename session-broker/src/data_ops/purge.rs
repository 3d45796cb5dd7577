//! Purging personal data: of one user, or of every user of a tenant. Deleted: the users'
//! sessions (history included) and what hangs on them (launch tickets, session and host
//! commands, printer tokens), print jobs (rows here; the PDFs on disk by
//! [`delete_pdfs`] after the commit), web sessions, SAML attributes, roles, group
//! memberships, direct entitlements and the user rows. The audit trail keeps the events
//! but every personal field naming the users is replaced by its keyed pseudonym
//! ([`crate::repo::audit::pseudonymise`]), so the chain still verifies and an auditor can
//! follow `p:…` across events. A tenant's configuration (environments, apps, groups) is
//! not personal data and stays; `DELETE` on apps, environments and the tenant removes it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use uuid::Uuid;

use super::DataOpsError;
use crate::db::DbError;
use crate::db::row::{get_string, get_uuid};
use crate::model::User;
use crate::repo;
use crate::repo::audit::{Person, Pseudonymised};

/// `POST /users/{id}/purge` and `POST /tenants/{id}/purge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurgeRequest {
    /// Confirmation, so a wrong id cannot purge someone else: the user's `name_id` (login
    /// name), or the tenant's `slug`.
    pub confirm: String,
}

/// What a purge removed. Counts only: the report is also the purge's audit event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Purged {
    pub users: u64,
    pub sessions: u64,
    pub print_jobs: u64,
    /// PDFs deleted from `print.data_dir` (those already expired were gone before).
    pub pdfs_deleted: u64,
    /// PDFs that could not be deleted (see the broker's log); retry with the print
    /// service's retention or by hand.
    pub pdfs_failed: u64,
    pub web_sessions: u64,
    pub group_memberships: u64,
    pub entitlements: u64,
    /// Audit events whose personal fields now hold pseudonyms.
    pub audit_events_pseudonymised: u64,
    /// Audit events chained before migration 0021 that name the users, left as written
    /// (rewriting them would break the chain); retention deletes them in time.
    pub audit_events_legacy: u64,
    /// Security events of the tenant (tenant purge only).
    pub security_events: u64,
}

/// A print job whose PDF is to be deleted after the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdfRef {
    pub tenant_id: Uuid,
    pub job_id: Uuid,
}

async fn exec(conn: &mut AnyConnection, sql: &'static str, id: &str) -> Result<u64, DbError> {
    Ok(sqlx::query(sql)
        .bind(id.to_owned())
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Deletes `users`' personal data and pseudonymises their audit events, in the caller's
/// transaction. Refused (409) while any of them has a session not ended: log it off first.
/// Returns the counts and the PDFs to delete once committed.
pub async fn purge_users(
    conn: &mut AnyConnection,
    users: &[User],
) -> Result<(Purged, Vec<PdfRef>), DataOpsError> {
    let mut out = Purged::default();
    let mut pdfs = Vec::new();
    let mut people = Vec::with_capacity(users.len());
    for u in users {
        let live = repo::sessions::live_of_user(conn, u.id, 100).await?;
        if !live.is_empty() {
            return Err(DataOpsError::Conflict {
                field: None,
                detail: format!(
                    "user {} has {} session(s) not ended; log them off first",
                    u.id,
                    live.len()
                ),
            });
        }
    }
    for u in users {
        let id = u.id.to_string();
        let mut person = Person {
            ids: vec![id.clone()],
            names: vec![u.name_id.clone(), u.display_name.clone()],
        };
        person.names.extend(u.hsa_id.clone());
        let pnr =
            sqlx::query("SELECT personal_number FROM saml_user_attributes WHERE user_id = $1")
                .bind(id.clone())
                .fetch_optional(&mut *conn)
                .await
                .map_err(DbError::from)?;
        if let Some(r) = pnr {
            person.names.push(get_string(&r, "personal_number")?);
        }
        people.push(person);

        let jobs = sqlx::query("SELECT id, tenant_id FROM print_jobs WHERE user_id = $1")
            .bind(id.clone())
            .fetch_all(&mut *conn)
            .await
            .map_err(DbError::from)?;
        for r in &jobs {
            pdfs.push(PdfRef {
                tenant_id: get_uuid(r, "tenant_id")?,
                job_id: get_uuid(r, "id")?,
            });
        }
        // Children first: not every reference has ON DELETE CASCADE (nor every SQLite
        // connection foreign keys on), so each table is named.
        out.print_jobs += exec(conn, "DELETE FROM print_jobs WHERE user_id = $1", &id).await?;
        exec(conn, "DELETE FROM print_tokens WHERE user_id = $1", &id).await?;
        exec(
            conn,
            "DELETE FROM session_commands WHERE session_id IN \
             (SELECT id FROM sessions WHERE user_id = $1)",
            &id,
        )
        .await?;
        exec(conn, "DELETE FROM host_commands WHERE user_id = $1", &id).await?;
        exec(conn, "DELETE FROM launch_tickets WHERE user_id = $1", &id).await?;
        out.sessions += exec(conn, "DELETE FROM sessions WHERE user_id = $1", &id).await?;
        exec(
            conn,
            "DELETE FROM saml_web_sessions WHERE web_session_id IN \
             (SELECT id FROM web_sessions WHERE user_id = $1)",
            &id,
        )
        .await?;
        out.web_sessions += exec(conn, "DELETE FROM web_sessions WHERE user_id = $1", &id).await?;
        out.group_memberships +=
            exec(conn, "DELETE FROM group_members WHERE user_id = $1", &id).await?;
        out.entitlements += exec(conn, "DELETE FROM entitlements WHERE user_id = $1", &id).await?;
        exec(conn, "DELETE FROM user_roles WHERE user_id = $1", &id).await?;
        exec(
            conn,
            "DELETE FROM saml_user_attributes WHERE user_id = $1",
            &id,
        )
        .await?;
        out.users += exec(conn, "DELETE FROM users WHERE id = $1", &id).await?;
    }
    let Pseudonymised {
        events,
        legacy_events,
    } = repo::audit::pseudonymise(conn, &people).await?;
    out.audit_events_pseudonymised = events;
    out.audit_events_legacy = legacy_events;
    Ok((out, pdfs))
}

/// Every user of `tenant_id`.
pub async fn users_of_tenant(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
) -> Result<Vec<User>, DataOpsError> {
    let rows = sqlx::query("SELECT id FROM users WHERE tenant_id = $1")
        .bind(tenant_id.to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(DbError::from)?;
    let mut users = Vec::with_capacity(rows.len());
    for r in &rows {
        if let Some(u) = repo::users::get(conn, get_uuid(r, "id")?).await? {
            users.push(u);
        }
    }
    Ok(users)
}

/// A tenant purge: every user's personal data ([`purge_users`]) and the tenant's security
/// events (source addresses and login names of attempts).
pub async fn purge_tenant(
    conn: &mut AnyConnection,
    tenant_id: Uuid,
) -> Result<(Purged, Vec<PdfRef>), DataOpsError> {
    let users = users_of_tenant(conn, tenant_id).await?;
    let (mut out, pdfs) = purge_users(conn, &users).await?;
    out.security_events = exec(
        conn,
        "DELETE FROM security_events WHERE tenant_id = $1",
        &tenant_id.to_string(),
    )
    .await?;
    Ok((out, pdfs))
}

/// Where the print service keeps a finished job's PDF: the layout of
/// `hamn_print::store::pdf_path` (that crate depends on this one, not the reverse).
pub fn pdf_path(data_dir: &Path, pdf: PdfRef) -> PathBuf {
    data_dir
        .join(pdf.tenant_id.to_string())
        .join("jobs")
        .join(format!("{}.pdf", pdf.job_id))
}

/// Deletes the PDFs of purged jobs under `data_dir` (`print.data_dir`): (deleted, failed).
/// A file already gone (expired and purged by the print service) is no failure.
pub async fn delete_pdfs(data_dir: &Path, pdfs: &[PdfRef]) -> (u64, u64) {
    let (mut deleted, mut failed) = (0, 0);
    for pdf in pdfs {
        let path = pdf_path(data_dir, *pdf);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => deleted += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), "purge: cannot delete PDF: {e}");
                failed += 1;
            }
        }
    }
    (deleted, failed)
}

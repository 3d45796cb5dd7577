//! The `audit_events` table: append-only and hash-chained (migration 0019).
//!
//! Every row gets a `seq` and `hash = SHA-256(prev_hash || canonical(seq, fields))`; the
//! head row `audit_chain` holds the last seq and hash and the anchor retention left.
//! [`insert`] writes a row unsealed (no seq yet) in the caller's transaction, so audited
//! writes never queue on one lock; [`seal`], run every second by a broker node (the
//! sealer in [`crate::service`]) and by every migration, chains the committed unsealed
//! rows in (at, id) order under the head's lock, so several brokers keep one chain. Until
//! sealed (a second or so) a row is guarded by the append-only triggers alone.
//! [`verify`] walks the chain and counts the rows still waiting; [`purge_before`] is
//! retention, the one path that deletes (whole prefixes, recording the new anchor).

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Connection};
use time::OffsetDateTime;
use uuid::Uuid;

use super::sql::Sql;
use crate::db::DbError;
use crate::db::row::{
    get_enum, get_i64, get_opt_i64, get_opt_json, get_opt_string, get_opt_uuid, get_string,
    get_time, get_uuid, millis, now,
};
use crate::model::{AuditEvent, AuditFilter, AuditOutcome, NewAuditEvent, Page, PageRequest};

const SELECT: &str = "SELECT id, at, tenant_id, actor_kind, actor_id, actor_name, action, \
                      target_type, target_id, outcome, source_address, before_json, after_json, \
                      detail FROM audit_events";

fn from_row(r: &AnyRow) -> Result<AuditEvent, DbError> {
    Ok(AuditEvent {
        id: get_uuid(r, "id")?,
        at: get_time(r, "at")?,
        tenant_id: get_opt_uuid(r, "tenant_id")?,
        actor_kind: get_enum(r, "actor_kind")?,
        actor_id: get_opt_string(r, "actor_id")?,
        actor_name: get_string(r, "actor_name")?,
        action: get_string(r, "action")?,
        target_type: get_opt_string(r, "target_type")?,
        target_id: get_opt_string(r, "target_id")?,
        outcome: get_enum(r, "outcome")?,
        source_address: get_opt_string(r, "source_address")?,
        before: get_opt_json(r, "before_json")?,
        after: get_opt_json(r, "after_json")?,
        detail: get_opt_string(r, "detail")?,
    })
}

pub async fn insert(conn: &mut AnyConnection, e: &NewAuditEvent) -> Result<AuditEvent, DbError> {
    let ev = AuditEvent {
        id: super::new_id(),
        at: now(),
        tenant_id: e.tenant_id,
        actor_kind: e.actor_kind,
        actor_id: e.actor_id.clone(),
        actor_name: e.actor_name.clone(),
        action: e.action.clone(),
        target_type: e.target_type.clone(),
        target_id: e.target_id.clone(),
        outcome: e.outcome,
        source_address: e.source_address.clone(),
        before: e.before.clone(),
        after: e.after.clone(),
        detail: e.detail.clone(),
    };
    // Unsealed: seq and hash stay NULL until [`seal`] chains the row after commit.
    sqlx::query(
        "INSERT INTO audit_events (id, at, tenant_id, actor_kind, actor_id, actor_name, action, \
         target_type, target_id, outcome, source_address, before_json, after_json, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(ev.id.to_string())
    .bind(millis(ev.at))
    .bind(ev.tenant_id.map(|t| t.to_string()))
    .bind(ev.actor_kind.as_str())
    .bind(ev.actor_id.clone())
    .bind(ev.actor_name.clone())
    .bind(ev.action.clone())
    .bind(ev.target_type.clone())
    .bind(ev.target_id.clone())
    .bind(ev.outcome.as_str())
    .bind(ev.source_address.clone())
    .bind(ev.before.as_ref().map(serde_json::Value::to_string))
    .bind(ev.after.as_ref().map(serde_json::Value::to_string))
    .bind(ev.detail.clone())
    .execute(&mut *conn)
    .await?;
    Ok(ev)
}

/// A row's fields exactly as stored (JSON as its text), which is what the chain hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    seq: i64,
    id: String,
    at: i64,
    tenant_id: Option<String>,
    actor_kind: String,
    actor_id: Option<String>,
    actor_name: String,
    action: String,
    target_type: Option<String>,
    target_id: Option<String>,
    outcome: String,
    source_address: Option<String>,
    before_json: Option<String>,
    after_json: Option<String>,
    detail: Option<String>,
}

impl Fields {
    fn from_row(r: &AnyRow) -> Result<Self, DbError> {
        Ok(Self {
            seq: get_opt_i64(r, "seq")?.unwrap_or(0),
            id: get_string(r, "id")?,
            at: get_i64(r, "at")?,
            tenant_id: get_opt_string(r, "tenant_id")?,
            actor_kind: get_string(r, "actor_kind")?,
            actor_id: get_opt_string(r, "actor_id")?,
            actor_name: get_string(r, "actor_name")?,
            action: get_string(r, "action")?,
            target_type: get_opt_string(r, "target_type")?,
            target_id: get_opt_string(r, "target_id")?,
            outcome: get_string(r, "outcome")?,
            source_address: get_opt_string(r, "source_address")?,
            before_json: get_opt_string(r, "before_json")?,
            after_json: get_opt_string(r, "after_json")?,
            detail: get_opt_string(r, "detail")?,
        })
    }

    /// The canonical encoding: a version tag, then each field in a fixed order, integers
    /// as 8 bytes big-endian, texts as 0x01 + 4-byte length + UTF-8 and absent ones as
    /// 0x00. Length prefixes make it unambiguous (no moving bytes between fields).
    fn encode(&self) -> Vec<u8> {
        fn text(out: &mut Vec<u8>, v: Option<&str>) {
            match v {
                None => out.push(0),
                Some(s) => {
                    out.push(1);
                    out.extend_from_slice(
                        &u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes(),
                    );
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"hamn-audit-v1");
        out.extend_from_slice(&self.seq.to_be_bytes());
        text(&mut out, Some(&self.id));
        out.extend_from_slice(&self.at.to_be_bytes());
        text(&mut out, self.tenant_id.as_deref());
        text(&mut out, Some(&self.actor_kind));
        text(&mut out, self.actor_id.as_deref());
        text(&mut out, Some(&self.actor_name));
        text(&mut out, Some(&self.action));
        text(&mut out, self.target_type.as_deref());
        text(&mut out, self.target_id.as_deref());
        text(&mut out, Some(&self.outcome));
        text(&mut out, self.source_address.as_deref());
        text(&mut out, self.before_json.as_deref());
        text(&mut out, self.after_json.as_deref());
        text(&mut out, self.detail.as_deref());
        out
    }
}

/// Hex SHA-256 of the previous hash's bytes and the row's encoding. A previous hash that
/// is not 64 hex digits is hashed as its text, so it still yields a (mismatching) hash.
fn chain_hash(prev_hex: &str, fields: &Fields) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    match from_hex(prev_hex) {
        Some(prev) => ctx.update(&prev),
        None => ctx.update(prev_hex.as_bytes()),
    }
    ctx.update(&fields.encode());
    to_hex(ctx.finish().as_ref())
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

fn from_hex(s: &str) -> Option<[u8; 32]> {
    let bytes = s.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let digit = |c: u8| char::from(c).to_digit(16);
        let v = digit(pair[0])? * 16 + digit(pair[1])?;
        out[i] = u8::try_from(v).ok()?;
    }
    Some(out)
}

/// The chain's head: the last row appended and the anchor retention left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
    pub anchor_seq: i64,
    pub anchor_hash: String,
}

pub async fn head(conn: &mut AnyConnection) -> Result<ChainHead, DbError> {
    let r = sqlx::query("SELECT seq, hash, anchor_seq, anchor_hash FROM audit_chain WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    Ok(ChainHead {
        seq: get_i64(&r, "seq")?,
        hash: get_string(&r, "hash")?,
        anchor_seq: get_i64(&r, "anchor_seq")?,
        anchor_hash: get_string(&r, "anchor_hash")?,
    })
}

const CHAIN_SELECT: &str = "SELECT seq, hash, id, at, tenant_id, actor_kind, actor_id, \
                            actor_name, action, target_type, target_id, outcome, \
                            source_address, before_json, after_json, detail FROM audit_events";

/// The most rows one [`seal`] call chains: a backlog is worked off in several
/// transactions, none holding the head for long.
pub const SEAL_BATCH: u32 = 5000;

/// Chains committed rows that have no seq yet (fresh ones from [`insert`], and those
/// written before migration 0019), oldest first by (at, id), after the current head; at
/// most `limit` of them, in one transaction holding the head's lock, so two nodes sealing
/// at once chain each row once. Returns how many were chained.
pub async fn seal(conn: &mut AnyConnection, limit: u32) -> Result<u64, DbError> {
    let mut tx = conn.begin().await?;
    // Lock the head before looking.
    sqlx::query("UPDATE audit_chain SET seq = seq WHERE id = 1")
        .execute(&mut *tx)
        .await?;
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{CHAIN_SELECT} WHERE seq IS NULL ORDER BY at, id LIMIT $1"
    )))
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let start = head(&mut tx).await?;
    let (mut seq, mut prev) = (start.seq, start.hash);
    for r in &rows {
        let mut fields = Fields::from_row(r)?;
        seq += 1;
        fields.seq = seq;
        let hash = chain_hash(&prev, &fields);
        sqlx::query("UPDATE audit_events SET seq = $1, hash = $2 WHERE id = $3")
            .bind(seq)
            .bind(hash.as_str())
            .bind(fields.id.as_str())
            .execute(&mut *tx)
            .await?;
        prev = hash;
    }
    sqlx::query("UPDATE audit_chain SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(prev.as_str())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows.len() as u64)
}

/// Whether any committed row waits to be sealed: a read, so an idle sealer takes no lock.
pub async fn has_unsealed(conn: &mut AnyConnection) -> Result<bool, DbError> {
    let row = sqlx::query("SELECT id FROM audit_events WHERE seq IS NULL LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.is_some())
}

/// [`seal`] until nothing is left.
pub async fn seal_all(conn: &mut AnyConnection) -> Result<u64, DbError> {
    let mut total = 0;
    loop {
        let n = seal(conn, SEAL_BATCH).await?;
        total += n;
        if n < u64::from(SEAL_BATCH) {
            return Ok(total);
        }
    }
}

/// Why the chain does not verify: the first broken link found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// No row with this seq, though the chain goes on (or the head says it exists).
    Missing { seq: i64 },
    /// The row at `seq` does not hash to what is stored, or its stored hash is not the one
    /// the next row (or the head) chained to: edited, reordered or replaced.
    Altered { seq: i64, id: String },
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing { seq } => write!(f, "event #{seq} is missing (deleted)"),
            Self::Altered { seq, id } => {
                write!(
                    f,
                    "event #{seq} ({id}) does not match its hash (edited or moved)"
                )
            }
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Rows checked.
    pub events: u64,
    pub head: ChainHead,
    /// `None`: the chain is intact from the anchor to the head.
    pub broken: Option<Break>,
    /// Committed rows not sealed yet (the sealer chains them within a second or so);
    /// only the append-only triggers guard them until then.
    pub pending: u64,
}

/// Rows read per query while verifying: memory stays flat on long chains.
const VERIFY_BATCH: i64 = 1000;

/// Walks the chain from the anchor to the head, recomputing every hash.
pub async fn verify(conn: &mut AnyConnection) -> Result<Verified, DbError> {
    let head = head(conn).await?;
    let mut out = Verified {
        events: 0,
        head: head.clone(),
        broken: None,
        pending: 0,
    };
    let pending = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_events WHERE seq IS NULL OR hash IS NULL",
    )
    .fetch_one(&mut *conn)
    .await?;
    out.pending = u64::try_from(pending).unwrap_or_default();
    let mut expected = head.anchor_seq + 1;
    let mut prev = head.anchor_hash.clone();
    loop {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{CHAIN_SELECT} WHERE seq >= $1 ORDER BY seq LIMIT $2"
        )))
        .bind(expected)
        .bind(VERIFY_BATCH)
        .fetch_all(&mut *conn)
        .await?;
        for r in &rows {
            let fields = Fields::from_row(r)?;
            if fields.seq != expected {
                out.broken = Some(Break::Missing { seq: expected });
                return Ok(out);
            }
            let stored = get_opt_string(r, "hash")?.unwrap_or_default();
            if chain_hash(&prev, &fields) != stored {
                out.broken = Some(Break::Altered {
                    seq: fields.seq,
                    id: fields.id,
                });
                return Ok(out);
            }
            out.events += 1;
            prev = stored;
            expected += 1;
        }
        if (rows.len() as i64) < VERIFY_BATCH {
            break;
        }
    }
    // The tail: the head names the last row appended.
    if expected <= head.seq {
        out.broken = Some(Break::Missing { seq: expected });
    } else if prev != head.hash {
        out.broken = Some(Break::Altered {
            seq: expected - 1,
            id: String::from("(the head's hash)"),
        });
    }
    Ok(out)
}

/// Retention: deletes the longest prefix of the chain whose events are all older than
/// `before`, records its last row as the new anchor (the chain then verifies from there)
/// and audits the purge as `audit.retention`, all in one transaction. Returns how many
/// events were deleted.
pub async fn purge_before(
    conn: &mut AnyConnection,
    before: OffsetDateTime,
) -> Result<u64, DbError> {
    let mut tx = conn.begin().await?;
    sqlx::query("UPDATE audit_chain SET seq = seq WHERE id = 1")
        .execute(&mut *tx)
        .await?;
    let h = head(&mut tx).await?;
    let young = sqlx::query("SELECT MIN(seq) AS s FROM audit_events WHERE seq > $1 AND at >= $2")
        .bind(h.anchor_seq)
        .bind(millis(before))
        .fetch_one(&mut *tx)
        .await?;
    let last = match get_opt_i64(&young, "s")? {
        Some(first_young) => first_young - 1,
        None => h.seq,
    };
    if last <= h.anchor_seq {
        tx.rollback().await?;
        return Ok(0);
    }
    let anchor = sqlx::query("SELECT hash FROM audit_events WHERE seq = $1")
        .bind(last)
        .fetch_optional(&mut *tx)
        .await?;
    // A missing or unhashed anchor row means the chain is already broken there; purging
    // would hide that, so leave it for `hamn audit verify` to report.
    let Some(anchor_hash) = anchor
        .as_ref()
        .map(|r| get_opt_string(r, "hash"))
        .transpose()?
        .flatten()
    else {
        tx.rollback().await?;
        return Ok(0);
    };
    sqlx::query("UPDATE audit_chain SET anchor_seq = $1, anchor_hash = $2 WHERE id = 1")
        .bind(last)
        .bind(anchor_hash.as_str())
        .execute(&mut *tx)
        .await?;
    let deleted = sqlx::query("DELETE FROM audit_events WHERE seq <= $1")
        .bind(last)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    insert(
        &mut tx,
        &NewAuditEvent {
            tenant_id: None,
            actor_kind: crate::model::ActorKind::System,
            actor_id: None,
            actor_name: "broker".to_owned(),
            action: "audit.retention".to_owned(),
            target_type: Some("audit_chain".to_owned()),
            target_id: None,
            outcome: AuditOutcome::Success,
            source_address: None,
            before: Some(serde_json::json!({ "anchor_seq": h.anchor_seq })),
            after: Some(serde_json::json!({ "anchor_seq": last, "anchor_hash": anchor_hash })),
            detail: Some(format!(
                "retention: {deleted} event(s) older than {} deleted (#{}..#{last}); the chain \
                 verifies from #{last}",
                before.date(),
                h.anchor_seq + 1
            )),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(deleted)
}

pub async fn get(conn: &mut AnyConnection, id: Uuid) -> Result<Option<AuditEvent>, DbError> {
    let row = sqlx::query(AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// `filter` as conditions on `sql`.
fn filtered(sql: &mut Sql, filter: &AuditFilter) {
    sql.and_uuid("tenant_id", filter.tenant_id)
        .and_text("action", filter.action.as_deref())
        .and_text("actor_id", filter.actor_id.as_deref())
        .and_text("outcome", filter.outcome.map(AuditOutcome::as_str))
        .and_text("target_id", filter.target_id.as_deref())
        .and_time("at", ">=", filter.from)
        .and_time("at", "<", filter.to);
}

/// Newest first.
pub async fn list(
    conn: &mut AnyConnection,
    filter: &AuditFilter,
    page: PageRequest,
) -> Result<Page<AuditEvent>, DbError> {
    let mut sql = Sql::new(SELECT);
    filtered(&mut sql, filter);
    sql.page(page, true);
    let rows = sql.fetch_all(conn).await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(items, page.limit, |e| e.id))
}

/// How many events match `filter`.
pub async fn count(conn: &mut AnyConnection, filter: &AuditFilter) -> Result<u64, DbError> {
    let mut sql = Sql::new("SELECT COUNT(*) AS n FROM audit_events");
    filtered(&mut sql, filter);
    let rows = sql.fetch_all(conn).await?;
    let n = match rows.first() {
        Some(r) => get_i64(r, "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

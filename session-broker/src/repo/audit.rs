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
//!
//! Personal data (migration 0021): rows chained from then on use canonical form v2, which
//! hashes a keyed pseudonym ([`pseudonym`], HMAC-SHA256 under the installation's key in
//! `audit_pseudonym_key`) of each personal field instead of the raw value, so
//! [`pseudonymise`] can replace the raw values of a purged person's events by their
//! pseudonyms and the chain still verifies. Rows chained before (v1) hash raw values and
//! are left as written.

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

/// The installation's pseudonym key: HMAC-SHA256, made once and never changed (every v2
/// row's hash depends on it).
#[derive(Clone)]
pub struct PseudonymKey(ring::hmac::Key);

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey([redacted])")
    }
}

impl PseudonymKey {
    fn from_hex(hex: &str) -> Option<Self> {
        from_hex(hex).map(|k| Self(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &k)))
    }
}

/// Hex digits of HMAC kept in a pseudonym: 128 bits, enough that two values never share one.
const PSEUDONYM_HEX: usize = 32;

/// `p:` and the first 32 hex digits of HMAC-SHA256(key, value): the same value always gets
/// the same pseudonym, so an auditor can follow one person across events after a purge,
/// and without the key nobody can test a guess against it.
pub fn pseudonym(key: &PseudonymKey, value: &str) -> String {
    let tag = ring::hmac::sign(&key.0, value.as_bytes());
    let hex = to_hex(tag.as_ref());
    format!("p:{}", &hex[..PSEUDONYM_HEX])
}

/// Whether `s` is a pseudonym as [`pseudonym`] writes it.
pub fn is_pseudonym(s: &str) -> bool {
    s.len() == 2 + PSEUDONYM_HEX
        && s.starts_with("p:")
        && s.bytes()
            .skip(2)
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The pseudonym a stored field holds, if it holds one: as is in the text columns, as a
/// JSON string in the JSON columns.
fn stored_pseudonym(stored: &str, json: bool) -> Option<&str> {
    let inner = if json {
        stored.strip_prefix('"')?.strip_suffix('"')?
    } else {
        stored
    };
    is_pseudonym(inner).then_some(inner)
}

/// What the chain hashes for a personal field in v2: its pseudonym, whether the field
/// still holds the raw value or a purge already replaced it.
fn canonical_personal(key: &PseudonymKey, stored: &str, json: bool) -> String {
    match stored_pseudonym(stored, json) {
        Some(p) => p.to_owned(),
        None => pseudonym(key, stored),
    }
}

/// The stored form of a pseudonym in a text or JSON column.
fn stored_form(p: &str, json: bool) -> String {
    if json {
        format!("\"{p}\"")
    } else {
        p.to_owned()
    }
}

/// Reads the installation's pseudonym key, or `None` before anything was chained in v2.
async fn load_key(conn: &mut AnyConnection) -> Result<Option<PseudonymKey>, DbError> {
    let row = sqlx::query("SELECT key_hex FROM audit_pseudonym_key WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let hex = get_string(&r, "key_hex")?;
            PseudonymKey::from_hex(&hex)
                .map(Some)
                .ok_or_else(|| DbError::Corrupt("audit_pseudonym_key is not 64 hex digits".into()))
        }
    }
}

/// The installation's pseudonym key, made (32 random bytes) on first use. Two nodes
/// racing both insert-if-absent and then read the one that won.
pub async fn pseudonym_key(conn: &mut AnyConnection) -> Result<PseudonymKey, DbError> {
    if let Some(k) = load_key(conn).await? {
        return Ok(k);
    }
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| DbError::Corrupt("no randomness for the audit pseudonym key".into()))?;
    sqlx::query(
        "INSERT INTO audit_pseudonym_key (id, key_hex, created_at) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(to_hex(&bytes))
    .bind(millis(now()))
    .execute(&mut *conn)
    .await?;
    load_key(conn)
        .await?
        .ok_or_else(|| DbError::Corrupt("audit_pseudonym_key missing after insert".into()))
}

/// A row's fields exactly as stored (JSON as its text), which is what the chain hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    /// The canonical form: `None` (v1, before migration 0021) or 2.
    chain_v: Option<i64>,
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
            chain_v: get_opt_i64(r, "chain_v")?,
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

    /// The canonical encoding of the row's version: v1 hashes every field as stored; v2
    /// the same but each personal field as its pseudonym ([`canonical_personal`]). `None`:
    /// a v2 row and no key, or an unknown form, which cannot verify.
    fn encode(&self, key: Option<&PseudonymKey>) -> Option<Vec<u8>> {
        match self.chain_v {
            None => return Some(self.encode_v1()),
            Some(2) => {}
            // No other form exists: such a row cannot verify.
            Some(_) => return None,
        }
        let key = key?;
        let p =
            |v: &Option<String>, json: bool| v.as_deref().map(|s| canonical_personal(key, s, json));
        let v2 = Self {
            actor_id: p(&self.actor_id, false),
            actor_name: canonical_personal(key, &self.actor_name, false),
            target_id: p(&self.target_id, false),
            source_address: p(&self.source_address, false),
            before_json: p(&self.before_json, true),
            after_json: p(&self.after_json, true),
            detail: p(&self.detail, false),
            ..self.clone()
        };
        let mut out = v2.encode_v1();
        // The tag differs, so a v1 row relabelled v2 (or back) never hashes the same.
        out[..13].copy_from_slice(b"hamn-audit-v2");
        Some(out)
    }

    /// The canonical encoding: a version tag, then each field in a fixed order, integers
    /// as 8 bytes big-endian, texts as 0x01 + 4-byte length + UTF-8 and absent ones as
    /// 0x00. Length prefixes make it unambiguous (no moving bytes between fields).
    fn encode_v1(&self) -> Vec<u8> {
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
/// `None`: a v2 row without a key.
fn chain_hash(prev_hex: &str, fields: &Fields, key: Option<&PseudonymKey>) -> Option<String> {
    let encoded = fields.encode(key)?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    match from_hex(prev_hex) {
        Some(prev) => ctx.update(&prev),
        None => ctx.update(prev_hex.as_bytes()),
    }
    ctx.update(&encoded);
    Some(to_hex(ctx.finish().as_ref()))
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

const CHAIN_SELECT: &str = "SELECT chain_v, seq, hash, id, at, tenant_id, actor_kind, actor_id, \
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
    let key = pseudonym_key(&mut tx).await?;
    let (mut seq, mut prev) = (start.seq, start.hash);
    for r in &rows {
        let mut fields = Fields::from_row(r)?;
        seq += 1;
        fields.seq = seq;
        fields.chain_v = Some(2);
        let hash = chain_hash(&prev, &fields, Some(&key)).unwrap_or_default();
        sqlx::query("UPDATE audit_events SET seq = $1, hash = $2, chain_v = 2 WHERE id = $3")
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
    let key = load_key(conn).await?;
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
            if chain_hash(&prev, &fields, key.as_ref()).as_deref() != Some(stored.as_str()) {
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

/// What [`pseudonymise`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Pseudonymised {
    /// Events whose personal fields now hold pseudonyms.
    pub events: u64,
    /// Events chained before migration 0021 (canonical form v1, raw values hashed) that
    /// name the person: left as written, since rewriting them would break the chain;
    /// retention deletes them in time.
    pub legacy_events: u64,
}

/// One person to pseudonymise: `ids` are the values that stand for them as actor or
/// target (their user id); `names` every identifier that may appear in a personal field
/// (the ids again, login name, HSA-ID, display name, personal number). Identifiers
/// shorter than 4 characters are not searched for: they would match unrelated text.
#[derive(Debug, Clone, Default)]
pub struct Person {
    pub ids: Vec<String>,
    pub names: Vec<String>,
}

/// Personal columns of `audit_events` and whether each holds JSON.
const PERSONAL: [(&str, bool); 7] = [
    ("actor_id", false),
    ("actor_name", false),
    ("target_id", false),
    ("source_address", false),
    ("before_json", true),
    ("after_json", true),
    ("detail", false),
];

/// Rows examined per query while pseudonymising.
const PSEUDONYMISE_BATCH: i64 = 500;

/// Replaces, in every chained event that names one of `people`, each personal field that
/// contains one of their identifiers (and the source address of events they acted in) by
/// the field's pseudonym, in the caller's transaction. Seals waiting rows first, so the
/// person's latest events are covered too. v2 rows still verify (the chain hashed the
/// pseudonyms); v1 rows are counted in `legacy_events` and left alone.
pub async fn pseudonymise(
    conn: &mut AnyConnection,
    people: &[Person],
) -> Result<Pseudonymised, DbError> {
    seal_all(conn).await?;
    let key = pseudonym_key(conn).await?;
    let ids: Vec<&str> = people
        .iter()
        .flat_map(|p| p.ids.iter().map(String::as_str))
        .filter(|s| !s.is_empty())
        .collect();
    // Compared case-insensitively: "Anna" in a detail is the same person as "anna".
    let mut names: Vec<String> = people
        .iter()
        .flat_map(|p| p.names.iter().chain(p.ids.iter()))
        .filter(|s| s.chars().count() >= 4)
        .map(|s| s.to_lowercase())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut out = Pseudonymised::default();
    if names.is_empty() && ids.is_empty() {
        return Ok(out);
    }
    // Candidates: any personal field containing any identifier (LIKE, escaped), found in
    // seq order in batches; the exact decision per field is made below.
    let mut conditions = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    // LOWER both sides; the identifiers as given too, since SQLite's LOWER folds ASCII
    // only ("Åsa" would not match "åsa").
    let given = people
        .iter()
        .flat_map(|p| p.names.iter())
        .filter(|s| s.chars().count() >= 4 && **s != s.to_lowercase());
    for (name, lower) in names
        .iter()
        .map(|n| (n.as_str(), true))
        .chain(given.map(|n| (n.as_str(), false)))
    {
        binds.push(format!("%{}%", like_escape(name)));
        let n = binds.len() + 1;
        for (col, _) in PERSONAL {
            conditions.push(if lower {
                format!("LOWER({col}) LIKE ${n} ESCAPE '\\'")
            } else {
                format!("{col} LIKE ${n} ESCAPE '\\'")
            });
        }
    }
    for id in &ids {
        binds.push((*id).to_owned());
        let n = binds.len() + 1;
        conditions.push(format!("actor_id = ${n}"));
        conditions.push(format!("target_id = ${n}"));
    }
    let sql = format!(
        "{CHAIN_SELECT} WHERE seq > $1 AND ({}) ORDER BY seq LIMIT {PSEUDONYMISE_BATCH}",
        conditions.join(" OR ")
    );
    let mut after = 0i64;
    loop {
        let mut q = sqlx::query(AssertSqlSafe(sql.clone())).bind(after);
        for b in &binds {
            q = q.bind(b.clone());
        }
        let rows = q.fetch_all(&mut *conn).await?;
        for r in &rows {
            let f = Fields::from_row(r)?;
            after = f.seq;
            let acted = f.actor_id.as_deref().is_some_and(|a| ids.contains(&a));
            let mut changed: Vec<(&str, String)> = Vec::new();
            for (col, json) in PERSONAL {
                let value = match col {
                    "actor_id" => f.actor_id.as_deref(),
                    "actor_name" => Some(f.actor_name.as_str()),
                    "target_id" => f.target_id.as_deref(),
                    "source_address" => f.source_address.as_deref(),
                    "before_json" => f.before_json.as_deref(),
                    "after_json" => f.after_json.as_deref(),
                    _ => f.detail.as_deref(),
                };
                let Some(value) = value else { continue };
                if stored_pseudonym(value, json).is_some() {
                    continue;
                }
                let names_person = ids.contains(&value)
                    || names
                        .iter()
                        .any(|n| value.to_lowercase().contains(n.as_str()))
                    || (col == "source_address" && acted)
                    || (col == "actor_name" && acted);
                if names_person {
                    changed.push((col, stored_form(&pseudonym(&key, value), json)));
                }
            }
            if changed.is_empty() {
                continue;
            }
            if f.chain_v.is_none() {
                out.legacy_events += 1;
                continue;
            }
            let sets: Vec<String> = changed
                .iter()
                .enumerate()
                .map(|(i, (col, _))| format!("{col} = ${}", i + 1))
                .collect();
            let mut q = sqlx::query(AssertSqlSafe(format!(
                "UPDATE audit_events SET {} WHERE id = ${}",
                sets.join(", "),
                changed.len() + 1
            )));
            for (_, v) in &changed {
                q = q.bind(v.clone());
            }
            q.bind(f.id.clone()).execute(&mut *conn).await?;
            out.events += 1;
        }
        if (rows.len() as i64) < PSEUDONYMISE_BATCH {
            return Ok(out);
        }
    }
}

/// `s` with LIKE's wildcards and the escape character escaped (`ESCAPE '\'`).
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PseudonymKey {
        PseudonymKey::from_hex(&"ab".repeat(32)).expect("key")
    }

    #[test]
    fn pseudonyms_are_stable_keyed_and_recognised() {
        let k = key();
        let p = pseudonym(&k, "anna");
        assert_eq!(p, pseudonym(&k, "anna"));
        assert_ne!(p, pseudonym(&k, "anna2"));
        let other = PseudonymKey::from_hex(&"cd".repeat(32)).expect("key");
        assert_ne!(p, pseudonym(&other, "anna"));
        assert!(is_pseudonym(&p));
        assert_eq!(
            stored_pseudonym(&stored_form(&p, true), true),
            Some(p.as_str())
        );
        assert_eq!(stored_pseudonym(&p, true), None);
        for bad in ["p:", "p:ABCDEF", "x:00000000000000000000000000000000", ""] {
            assert!(!is_pseudonym(bad), "{bad}");
        }
    }

    #[test]
    fn a_v2_row_hashes_the_same_before_and_after_pseudonymising() {
        let k = key();
        let raw = Fields {
            chain_v: Some(2),
            seq: 7,
            id: "e1".into(),
            at: 1,
            tenant_id: None,
            actor_kind: "user".into(),
            actor_id: Some("u-1".into()),
            actor_name: "Anna Svensson".into(),
            action: "session.launch".into(),
            target_type: Some("app".into()),
            target_id: Some("a-1".into()),
            outcome: "success".into(),
            source_address: Some("192.0.2.1".into()),
            before_json: None,
            after_json: Some("{\"user\":\"anna\"}".into()),
            detail: Some("Anna launched".into()),
        };
        let mut purged = raw.clone();
        purged.actor_id = Some(pseudonym(&k, "u-1"));
        purged.actor_name = pseudonym(&k, "Anna Svensson");
        purged.source_address = Some(pseudonym(&k, "192.0.2.1"));
        purged.after_json = Some(stored_form(&pseudonym(&k, "{\"user\":\"anna\"}"), true));
        purged.detail = Some(pseudonym(&k, "Anna launched"));
        let prev = "00".repeat(32);
        assert_eq!(
            chain_hash(&prev, &raw, Some(&k)),
            chain_hash(&prev, &purged, Some(&k))
        );
        // A wrong pseudonym, or an edit, does not.
        let mut wrong = purged.clone();
        wrong.detail = Some(pseudonym(&k, "Bertil launched"));
        assert_ne!(
            chain_hash(&prev, &raw, Some(&k)),
            chain_hash(&prev, &wrong, Some(&k))
        );
        // v1 hashes raw values: relabelling changes the hash.
        let mut v1 = raw.clone();
        v1.chain_v = None;
        assert_ne!(
            chain_hash(&prev, &raw, Some(&k)),
            chain_hash(&prev, &v1, Some(&k))
        );
        assert_eq!(chain_hash(&prev, &raw, None), None);
    }

    /// Rows chained before migration 0021 must keep verifying: form v1 is pinned to the
    /// hash an independent implementation of the 0019 encoding gives (Python, struct +
    /// hashlib), so a change to it cannot slip through.
    #[test]
    fn form_v1_is_unchanged_since_migration_0019() {
        let row = Fields {
            chain_v: None,
            seq: 1,
            id: "e1".into(),
            at: 1000,
            tenant_id: None,
            actor_kind: "system".into(),
            actor_id: Some("task-1".into()),
            actor_name: "test".into(),
            action: "test.event".into(),
            target_type: Some("thing".into()),
            target_id: Some("1".into()),
            outcome: "success".into(),
            source_address: Some("192.0.2.7".into()),
            before_json: None,
            after_json: Some("{\"n\":1}".into()),
            detail: Some("event 1".into()),
        };
        assert_eq!(
            chain_hash(&"00".repeat(32), &row, None).as_deref(),
            Some("98357170e20ec1a53b9fe569bf84a27289e786ccd462621077dea3f66d314df6")
        );
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape("a%b_c\\d"), "a\\%b\\_c\\\\d");
    }
}

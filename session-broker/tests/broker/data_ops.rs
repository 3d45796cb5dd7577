//! Customer-ordered data operations (issue 9 item 5) on both engines: copying PROD's
//! configuration to UTB (apps and group grants, no personal grants unless asked, 409 on a
//! target with apps, `replace`), and purging a user's or a tenant's personal data: rows
//! gone, PDFs gone from disk, the audit events pseudonymised, `verify` still intact, an
//! edit after the purge still found, the append-only trigger letting through only the
//! purge's shape of update, and other people's data untouched.

use std::path::Path;

use axum::http::{Method, StatusCode};
use hamn_broker::db::Database;
use hamn_broker::model::{
    ActorKind, AuditOutcome, LoginMethod, NewAuditEvent, NewPrintJob, NewSession, NewWebSession,
    PrintSource, SessionState,
};
use hamn_broker::repo;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::both;
use crate::support::{Backend, Fixture, Harness, client_cert, id_of};

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).expect("uuid")
}

async fn verify(db: &Database) -> repo::audit::Verified {
    let mut conn = db.acquire().await.expect("connection");
    repo::audit::seal_all(&mut conn).await.expect("seal");
    repo::audit::verify(&mut conn).await.expect("verify runs")
}

async fn count(db: &Database, sql: &str, id: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(id.to_owned())
        .fetch_one(db.pool())
        .await
        .expect("count")
}

async fn exec(db: &Database, sql: &str) -> Result<u64, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(db.pool())
        .await
        .map(|r| r.rows_affected())
}

async fn copy_prod_to_utb(b: Backend) {
    let h = Harness::new(b).await;
    let f = h.tenant_with_app("kopia").await;
    let utb = h
        .create(
            &format!("/api/v1/tenants/{}/environments", f.tenant),
            json!({"kind": "UTB"}),
        )
        .await;
    let group = h
        .create(
            &format!("/api/v1/tenants/{}/groups", f.tenant),
            json!({"name": "Handläggare"}),
        )
        .await;
    let user = h
        .create(
            &format!("/api/v1/tenants/{}/users", f.tenant),
            json!({"name_id": "anna@kopia", "display_name": "Anna"}),
        )
        .await;
    for grant in [json!({"group_id": group}), json!({"user_id": user})] {
        h.create(&format!("/api/v1/apps/{}/entitlements", f.app), grant)
            .await;
    }
    let path = format!("/api/v1/tenants/{}/copy-environment", f.tenant);

    // Tenant-admins may not: a billed change request operations carries out (§8).
    h.create(
        "/api/v1/api-clients",
        json!({"name": "Kopia", "subject_cn": "kopia-client", "scope": "tenant", "tenant_id": f.tenant}),
    )
    .await;
    let r = h
        .as_(
            &client_cert("kopia-client"),
            Method::POST,
            &path,
            Some(json!({"from": "PROD", "to": "UTB"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:#}", r.json);

    let r = h
        .op(
            Method::POST,
            &path,
            Some(json!({"from": "PROD", "to": "PROD"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:#}", r.json);

    let r = h
        .op(
            Method::POST,
            &path,
            Some(json!({"from": "PROD", "to": "UTB"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["apps_created"], 1);
    assert_eq!(r.json["group_entitlements"], 1);
    assert_eq!(
        r.json["user_entitlements"], 0,
        "no personal grants unless asked"
    );
    assert_eq!(r.json["to_environment_id"], utb.as_str());

    let apps = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/apps?environment_id={utb}", f.tenant),
            None,
        )
        .await;
    let items = apps.json["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{:#}", apps.json);
    assert_eq!(items[0]["display_name"], "Procapita");
    assert_eq!(items[0]["pool_id"], f.pool.as_str());
    assert_eq!(items[0]["program"], "||procapita");
    let utb_app = id_of(&items[0]);
    assert_ne!(utb_app, f.app);
    let grants = h
        .op(
            Method::GET,
            &format!("/api/v1/apps/{utb_app}/entitlements"),
            None,
        )
        .await;
    let grants = grants.json["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["group_id"], group.as_str());
    assert_eq!(
        count(
            h.db(),
            "SELECT COUNT(*) FROM users WHERE tenant_id = $1",
            &f.tenant
        )
        .await,
        1,
        "no user was copied or created"
    );

    // A target with apps: 409 unless replace.
    let r = h
        .op(
            Method::POST,
            &path,
            Some(json!({"from": "PROD", "to": "UTB"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:#}", r.json);

    // replace updates in place (same id) and, asked, copies the personal grant too; an
    // app only UTB has is disabled.
    h.create(
        &format!("/api/v1/tenants/{}/apps", f.tenant),
        json!({"environment_id": utb, "pool_id": f.pool, "display_name": "Bara UTB", "kind": "desktop"}),
    )
    .await;
    let r = h
        .op(
            Method::POST,
            &path,
            Some(json!({"from": "PROD", "to": utb, "with_users": true, "replace": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["apps_created"], 0);
    assert_eq!(r.json["apps_updated"], 1);
    assert_eq!(r.json["apps_disabled"], 1);
    assert_eq!(r.json["user_entitlements"], 1);
    let grants = h
        .op(
            Method::GET,
            &format!("/api/v1/apps/{utb_app}/entitlements"),
            None,
        )
        .await;
    assert_eq!(grants.json["items"].as_array().map(Vec::len), Some(2));

    let events = h.audit("action=environment.copy").await;
    assert_eq!(
        events.len(),
        2,
        "one event per copy, none for the refused ones"
    );
    assert_eq!(events[0]["target_id"], utb.as_str());
    assert!(verify(h.db()).await.broken.is_none());
    h.finish().await;
}
both!(copy_prod_to_utb);

/// A user with an ended session, a print job (its PDF on disk), a web session, a group
/// membership and audit events naming them.
struct Person {
    id: String,
    name_id: String,
    pdf: std::path::PathBuf,
}

async fn person(h: &Harness, f: &Fixture, host: &str, group: &str, data: &Path, n: &str) -> Person {
    let name_id = format!("{n}@purge");
    let display = format!("{n} Svensson");
    let id = h
        .create(
            &format!("/api/v1/tenants/{}/users", f.tenant),
            json!({"name_id": name_id, "display_name": display, "hsa_id": format!("SE2321000016-{n}")}),
        )
        .await;
    let r = h
        .op(
            Method::PUT,
            &format!("/api/v1/groups/{group}/members/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:#}", r.json);
    let now = OffsetDateTime::now_utc();
    let mut conn = h.db().acquire().await.expect("connection");
    let session = repo::sessions::insert(
        &mut conn,
        &NewSession {
            tenant_id: uuid(&f.tenant),
            user_id: uuid(&id),
            app_id: uuid(&f.app),
            host_id: uuid(host),
        },
    )
    .await
    .expect("session");
    let token = repo::print_tokens::insert(
        &mut conn,
        &format!("hash-{id}"),
        session.id,
        uuid(&f.tenant),
        uuid(&id),
        now,
    )
    .await
    .expect("print token");
    let job = repo::print_jobs::insert(
        &mut conn,
        &NewPrintJob {
            tenant_id: uuid(&f.tenant),
            user_id: uuid(&id),
            session_id: session.id,
            token_id: token,
            title: format!("Journal för {display}"),
            source: PrintSource::Ipp,
            document_format: Some("application/pdf".into()),
            requesting_user: Some(name_id.clone()),
            expires_at: now + time::Duration::hours(24),
        },
        now,
    )
    .await
    .expect("print job");
    repo::sessions::set_state(&mut conn, session.id, SessionState::Ended, now)
        .await
        .expect("end session");
    repo::web_sessions::insert(
        &mut conn,
        &NewWebSession {
            token_hash: format!("web-{id}"),
            tenant_id: uuid(&f.tenant),
            user_id: uuid(&id),
            method: LoginMethod::Demo,
            loa: None,
            source_address: Some("198.51.100.9".into()),
            idle_expires_at: now + time::Duration::hours(1),
            expires_at: now + time::Duration::hours(8),
            csrf_hash: String::new(),
            created_at: now,
        },
    )
    .await
    .expect("web session");
    // What the portal and the gateway record when the user works.
    repo::audit::insert(
        &mut conn,
        &NewAuditEvent {
            tenant_id: Some(uuid(&f.tenant)),
            actor_kind: ActorKind::User,
            actor_id: Some(id.clone()),
            actor_name: display.clone(),
            action: "session.launch".into(),
            target_type: Some("app".into()),
            target_id: Some(f.app.clone()),
            outcome: AuditOutcome::Success,
            source_address: Some("198.51.100.9".into()),
            before: None,
            after: Some(json!({"user": name_id, "app": f.app})),
            detail: Some(format!("{display} started Procapita")),
        },
    )
    .await
    .expect("audit");
    let pdf = hamn_broker::data_ops::purge::pdf_path(
        data,
        hamn_broker::data_ops::purge::PdfRef {
            tenant_id: uuid(&f.tenant),
            job_id: job.id,
        },
    );
    std::fs::create_dir_all(pdf.parent().expect("parent")).expect("jobs dir");
    std::fs::write(&pdf, b"%PDF-1.7 test").expect("pdf");
    Person { id, name_id, pdf }
}

/// Every audit row as one text, for "does this value appear anywhere".
async fn audit_text(db: &Database) -> String {
    let rows = sqlx::query(
        "SELECT id, actor_id, actor_name, target_id, source_address, before_json, after_json, \
         detail FROM audit_events",
    )
    .fetch_all(db.pool())
    .await
    .expect("audit rows");
    use sqlx::Row;
    let mut out = String::new();
    for r in &rows {
        for i in 0..8 {
            if let Ok(Some(v)) = r.try_get::<Option<String>, _>(i) {
                out.push_str(&v);
                out.push('\n');
            }
        }
    }
    out
}

/// A harness whose admin API deletes PDFs under `dir`.
async fn harness_with_prints(b: Backend, dir: &Path) -> Harness {
    let Harness { t, state, operator } = Harness::new(b).await;
    Harness {
        t,
        state: state.with_print_data_dir(Some(dir.to_path_buf())),
        operator,
    }
}

async fn host_and_group(h: &Harness, f: &Fixture) -> (String, String) {
    let host = h
        .create(
            &format!("/api/v1/pools/{}/hosts", f.pool),
            json!({"name": "h1", "address": "127.0.0.1", "port": 3389, "capacity": 10}),
        )
        .await;
    let group = h
        .create(
            &format!("/api/v1/tenants/{}/groups", f.tenant),
            json!({"name": "Alla"}),
        )
        .await;
    (host, group)
}

async fn purge_user(b: Backend) {
    let data = tempfile::tempdir().expect("print dir");
    let h = harness_with_prints(b, data.path()).await;
    let f = h.tenant_with_app("purge").await;
    let (host, group) = host_and_group(&h, &f).await;
    let anna = person(&h, &f, &host, &group, data.path(), "anna").await;
    let bertil = person(&h, &f, &host, &group, data.path(), "bertil").await;
    let db = h.db().clone();
    let before = verify(&db).await;
    assert!(before.broken.is_none(), "{:?}", before.broken);
    assert!(audit_text(&db).await.contains("anna Svensson"));

    let path = format!("/api/v1/users/{}/purge", anna.id);
    let r = h
        .op(
            Method::POST,
            &path,
            Some(json!({"confirm": bertil.name_id})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a wrong confirm purges nothing"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM users WHERE id = $1", &anna.id).await,
        1
    );

    let r = h
        .op(Method::POST, &path, Some(json!({"confirm": anna.name_id})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["users"], 1);
    assert_eq!(r.json["sessions"], 1);
    assert_eq!(r.json["print_jobs"], 1);
    assert_eq!(r.json["pdfs_deleted"], 1);
    assert_eq!(r.json["web_sessions"], 1);
    assert_eq!(r.json["group_memberships"], 1);
    assert!(
        r.json["audit_events_pseudonymised"].as_u64().unwrap_or(0) >= 2,
        "{:#}",
        r.json
    );
    assert_eq!(r.json["audit_events_legacy"], 0);

    // Anna's rows and PDF are gone; Bertil's stay.
    for (table, col) in [
        ("users", "id"),
        ("sessions", "user_id"),
        ("print_jobs", "user_id"),
        ("print_tokens", "user_id"),
        ("web_sessions", "user_id"),
        ("group_members", "user_id"),
    ] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE {col} = $1");
        assert_eq!(count(&db, &sql, &anna.id).await, 0, "{table}");
        assert_eq!(
            count(&db, &sql, &bertil.id).await,
            1,
            "{table} of another user"
        );
    }
    assert!(!anna.pdf.exists(), "the purged user's PDF is deleted");
    assert!(bertil.pdf.exists(), "another user's PDF stays");

    // The audit trail names Anna only by pseudonym, the same one in every event.
    let text = audit_text(&db).await;
    for personal in [
        anna.id.as_str(),
        "anna Svensson",
        "anna@purge",
        "SE2321000016-anna",
    ] {
        assert!(
            !text.to_lowercase().contains(&personal.to_lowercase()),
            "{personal} left in the audit trail"
        );
    }
    assert!(
        text.contains("bertil Svensson"),
        "another user's events are untouched"
    );
    let purge_event = h.audit("action=user.purge").await;
    assert_eq!(purge_event.len(), 1);
    let p = purge_event[0]["target_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(repo::audit::is_pseudonym(&p), "{p}");
    let launches = h.audit(&format!("actor_id={p}")).await;
    assert_eq!(
        launches.len(),
        1,
        "the auditor follows p:… to Anna's launch"
    );
    assert_eq!(launches[0]["action"], "session.launch");
    let created = h.audit(&format!("target_id={p}")).await;
    assert!(
        created.iter().any(|e| e["action"] == "user.create"),
        "and to her creation: {created:#?}"
    );

    // The chain still verifies.
    let after = verify(&db).await;
    assert!(after.broken.is_none(), "{:?}", after.broken);
    assert!(after.events > before.events);
    h.finish().await;
}
both!(purge_user);

/// The trigger lets a purge's shape of update through and nothing else; `verify` catches
/// what the trigger cannot judge (a pseudonym that is not the value's) and edits made
/// with the triggers dropped, after a purge as before.
async fn purged_chain_still_detects_edits(b: Backend) {
    let data = tempfile::tempdir().expect("print dir");
    let h = harness_with_prints(b, data.path()).await;
    let f = h.tenant_with_app("edit").await;
    let (host, group) = host_and_group(&h, &f).await;
    let anna = person(&h, &f, &host, &group, data.path(), "anna").await;
    let r = h
        .op(
            Method::POST,
            &format!("/api/v1/users/{}/purge", anna.id),
            Some(json!({"confirm": anna.name_id})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    let db = h.db().clone();
    assert!(verify(&db).await.broken.is_none());
    let fake = format!("p:{}", "0".repeat(32));

    // Refused by the trigger: other columns, a pseudonym back to a value, a value that
    // is not a pseudonym.
    for sql in [
        "UPDATE audit_events SET action = 'x' WHERE action = 'session.launch'".to_owned(),
        "UPDATE audit_events SET actor_name = 'Someone' WHERE action = 'session.launch'".to_owned(),
        "UPDATE audit_events SET actor_name = 'p:nothex' WHERE action = 'tenant.create'".to_owned(),
        // The text form in a JSON column.
        format!("UPDATE audit_events SET after_json = '{fake}' WHERE action = 'tenant.create'"),
    ] {
        assert!(exec(&db, &sql).await.is_err(), "trigger let through: {sql}");
    }
    assert!(verify(&db).await.broken.is_none());

    // Allowed by the trigger (it has no key), caught by verify: a raw value replaced by a
    // pseudonym that is not its own.
    let n = exec(
        &db,
        &format!(
            "UPDATE audit_events SET after_json = '\"{fake}\"' WHERE action = 'tenant.create'"
        ),
    )
    .await
    .expect("a purge-shaped update passes the trigger");
    assert_eq!(n, 1);
    let v = verify(&db).await;
    assert!(
        matches!(v.broken, Some(repo::audit::Break::Altered { .. })),
        "{:?}",
        v.broken
    );
    h.finish().await;
}
both!(purged_chain_still_detects_edits);

async fn purge_tenant(b: Backend) {
    let data = tempfile::tempdir().expect("print dir");
    let h = harness_with_prints(b, data.path()).await;
    let f = h.tenant_with_app("borta").await;
    let (host, group) = host_and_group(&h, &f).await;
    let anna = person(&h, &f, &host, &group, data.path(), "anna").await;
    let bertil = person(&h, &f, &host, &group, data.path(), "bertil").await;
    let other = h.tenant_with_app("kvar").await;
    let (other_host, other_group) = host_and_group_named(&h, &other).await;
    let cilla = person(&h, &other, &other_host, &other_group, data.path(), "cilla").await;

    // A live session blocks the purge.
    let mut conn = h.db().acquire().await.expect("connection");
    let live = repo::sessions::insert(
        &mut conn,
        &NewSession {
            tenant_id: uuid(&f.tenant),
            user_id: uuid(&anna.id),
            app_id: uuid(&f.app),
            host_id: uuid(&host),
        },
    )
    .await
    .expect("session");
    drop(conn);
    let path = format!("/api/v1/tenants/{}/purge", f.tenant);
    let r = h
        .op(Method::POST, &path, Some(json!({"confirm": "borta"})))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:#}", r.json);
    let mut conn = h.db().acquire().await.expect("connection");
    repo::sessions::set_state(
        &mut conn,
        live.id,
        SessionState::Ended,
        OffsetDateTime::now_utc(),
    )
    .await
    .expect("end");
    drop(conn);

    let r = h
        .op(Method::POST, &path, Some(json!({"confirm": "kvar"})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:#}", r.json);
    let r = h
        .op(Method::POST, &path, Some(json!({"confirm": "borta"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.json["users"], 2);
    assert_eq!(r.json["sessions"], 3);
    assert_eq!(r.json["pdfs_deleted"], 2);
    let db = h.db().clone();
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM users WHERE tenant_id = $1",
            &f.tenant
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM users WHERE tenant_id = $1",
            &other.tenant
        )
        .await,
        1
    );
    assert!(!anna.pdf.exists() && !bertil.pdf.exists());
    assert!(cilla.pdf.exists());
    // The configuration stays.
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM apps WHERE tenant_id = $1",
            &f.tenant
        )
        .await,
        1
    );
    let text = audit_text(&db).await;
    assert!(!text.contains("anna Svensson") && !text.contains("bertil Svensson"));
    assert!(text.contains("cilla Svensson"));
    let events: Vec<Value> = h.audit("action=tenant.purge").await;
    assert_eq!(events.len(), 1);
    assert!(verify(&db).await.broken.is_none());
    h.finish().await;
}
both!(purge_tenant);

async fn host_and_group_named(h: &Harness, f: &Fixture) -> (String, String) {
    host_and_group(h, f).await
}

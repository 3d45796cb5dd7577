//! Every mutation writes its audit event in the same transaction; failed ones write none.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::support::{Backend, Harness, OPERATOR_CN, PEER, id_of};

async fn mutations_are_audited_with_before_and_after(b: Backend) {
    let h = Harness::new(b).await;
    let t = h
        .create("/api/v1/tenants", json!({"slug": "gavle", "name": "Gävle"}))
        .await;
    h.op(
        Method::PATCH,
        &format!("/api/v1/tenants/{t}"),
        Some(json!({"name": "Gävle kommun"})),
    )
    .await;
    let pool = h.create("/api/v1/pools", json!({"name": "p"})).await;
    let host = h
        .create(
            &format!("/api/v1/pools/{pool}/hosts"),
            json!({"name": "h1", "address": "10.1.1.1", "capacity": 5}),
        )
        .await;
    h.op(
        Method::PUT,
        &format!("/api/v1/hosts/{host}/state"),
        Some(json!({"state": "drain"})),
    )
    .await;

    let created = h.audit("action=tenant.create").await;
    assert_eq!(created.len(), 1);
    let e = &created[0];
    assert_eq!(
        (
            e["tenant_id"].as_str(),
            e["target_type"].as_str(),
            e["target_id"].as_str()
        ),
        (Some(t.as_str()), Some("tenant"), Some(t.as_str()))
    );
    assert_eq!(
        (
            e["actor_kind"].as_str(),
            e["actor_name"].as_str(),
            e["actor_id"].as_str()
        ),
        (
            Some("operator"),
            Some(OPERATOR_CN),
            Some("cn:hamn-operator")
        )
    );
    assert_eq!(
        (e["outcome"].as_str(), e["source_address"].as_str()),
        (Some("success"), Some(PEER))
    );
    assert!(e["before"].is_null());
    assert_eq!(e["after"]["name"], "Gävle");

    let updated = h.audit("action=tenant.update").await;
    assert_eq!(updated[0]["before"]["name"], "Gävle");
    assert_eq!(updated[0]["after"]["name"], "Gävle kommun");

    let drained = h
        .audit(&format!("action=host.state_change&target_id={host}"))
        .await;
    assert_eq!(
        (
            drained[0]["before"]["state"].as_str(),
            drained[0]["after"]["state"].as_str()
        ),
        (Some("active"), Some("drain"))
    );

    // by tenant: only the tenant's own events
    let of_tenant = h.audit(&format!("tenant_id={t}")).await;
    let actions: Vec<_> = of_tenant
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["tenant.update", "tenant.create"], "newest first");

    // one event by id
    let one = h
        .op(Method::GET, &format!("/api/v1/audit/{}", id_of(e)), None)
        .await;
    assert_eq!(one.json, *e);
    h.finish().await;
}
both!(mutations_are_audited_with_before_and_after);

async fn failed_mutations_leave_no_audit_row(b: Backend) {
    let h = Harness::new(b).await;
    let f = h.tenant_with_app("falun").await;
    let before = h.audit("").await.len();

    // refused by the database inside the transaction (unique constraint)
    let dup = h
        .op(
            Method::POST,
            "/api/v1/tenants",
            Some(json!({"slug": "falun", "name": "Igen"})),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    // refused after reads inside the transaction (the pool is dedicated elsewhere)
    let other = h
        .create("/api/v1/tenants", json!({"slug": "mora", "name": "Mora"}))
        .await;
    let after_other = h.audit("").await.len();
    assert_eq!(after_other, before + 1);
    let dedicated = h
        .create(
            "/api/v1/pools",
            json!({"name": "mora-only", "dedicated_tenant_id": other}),
        )
        .await;
    let r = h.op(Method::POST, &format!("/api/v1/tenants/{}/apps", f.tenant), Some(json!({"environment_id": f.prod, "pool_id": dedicated, "display_name": "Nej", "kind": "desktop"}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // refused by a foreign key on delete
    let r = h
        .op(
            Method::DELETE,
            &format!("/api/v1/environments/{}", f.prod),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    let events = h.audit("").await;
    assert_eq!(
        events.len(),
        after_other + 1,
        "only the pool.create was recorded"
    );
    assert_eq!(events[0]["action"], "pool.create");
    let apps = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/apps", f.tenant),
            None,
        )
        .await;
    assert_eq!(
        apps.json["items"].as_array().map(Vec::len),
        Some(1),
        "no app row either"
    );
    let env = h
        .op(
            Method::GET,
            &format!("/api/v1/environments/{}", f.prod),
            None,
        )
        .await;
    assert_eq!(env.status, StatusCode::OK, "the environment survived");
    h.finish().await;
}
both!(failed_mutations_leave_no_audit_row);

async fn audit_filters_by_time_and_outcome(b: Backend) {
    let h = Harness::new(b).await;
    h.create("/api/v1/tenants", json!({"slug": "a1", "name": "A1"}))
        .await;
    // Times are stored in milliseconds: keep the cut clear of both events' milliseconds.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let cut = time::OffsetDateTime::now_utc();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    h.create("/api/v1/tenants", json!({"slug": "a2", "name": "A2"}))
        .await;
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
            .replace('+', "%2B")
    };
    let later = h.audit(&format!("from={}", fmt(cut))).await;
    assert_eq!(
        later
            .iter()
            .map(|e| e["after"]["slug"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["a2"]
    );
    let earlier = h.audit(&format!("to={}", fmt(cut))).await;
    assert_eq!(
        earlier
            .iter()
            .map(|e| e["after"]["slug"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["a1"]
    );
    assert_eq!(h.audit("outcome=success").await.len(), 2);
    assert!(h.audit("outcome=refused").await.is_empty());
    h.finish().await;
}
both!(audit_filters_by_time_and_outcome);

/// The body of an answer as text (a one-line JSON-lines file parses as JSON).
fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => format!("{other}\n"),
    }
}

/// `GET /audit/export`: the filters of `GET /audit`, the caller's scope, CSV whose cells
/// cannot become formulas, JSON lines that parse back to the events, the bound, and an
/// `audit.export` event for every export.
async fn audit_export_is_filtered_scoped_formula_safe_and_audited(b: Backend) {
    let h = Harness::new(b).await;
    let a = h.tenant_with_app("ale").await;
    let other = h.tenant_with_app("bjuv").await;
    h.create("/api/v1/api-clients", json!({"name": "=HYPERLINK(\"http://evil\")", "subject_cn": "ale-auditor", "scope": "tenant", "tenant_id": a.tenant})).await;
    let me = crate::support::client_cert("ale-auditor");
    let group = h
        .as_(
            &me,
            Method::POST,
            &format!("/api/v1/tenants/{}/groups", a.tenant),
            Some(json!({"name": "-Vård"})),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED, "{:#}", group.json);
    let group = id_of(&group.json);

    // The tenant's own log, as the listing shows it, is what the CSV holds.
    let listed = h
        .as_(&me, Method::GET, "/api/v1/audit?limit=500", None)
        .await;
    let listed = listed.json["items"].as_array().cloned().unwrap_or_default();
    assert!(listed.len() >= 4, "{listed:#?}");
    let r = h
        .as_(&me, Method::GET, "/api/v1/audit/export?format=csv", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.content_type, "text/csv; charset=utf-8");
    let csv = text(&r.json);
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert_eq!(
        lines[0],
        "id,at,tenant_id,actor_kind,actor_id,actor_name,action,target_type,target_id,outcome,source_address,detail,before,after"
    );
    let ids: Vec<&str> = lines[1..]
        .iter()
        .filter_map(|l| l.split(',').next())
        .collect();
    let listed_ids: Vec<&str> = listed.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids, listed_ids, "newest first, exactly the tenant's events");
    assert!(
        !csv.contains(&other.tenant),
        "another tenant's events leaked: {csv}"
    );
    // The client's formula of a name is defused; JSON cells are quoted whole.
    let created = lines
        .iter()
        .find(|l| l.contains(&group) && l.contains("group.create"))
        .unwrap_or_else(|| panic!("no group.create line: {csv}"));
    assert!(
        created.contains(",\"'=HYPERLINK(\"\"http://evil\"\")\","),
        "{created}"
    );
    assert!(!created.contains(",=HYPERLINK"), "{created}");
    assert!(
        created.ends_with("\"}\"") && created.contains(",\"{\"\"created_at\"\":"),
        "JSON cells are quoted: {created}"
    );
    assert!(created.contains("\"\"name\"\":\"\"-Vård\"\""), "{created}");

    // Another tenant's log is empty for it: a header and nothing else.
    let r = h
        .as_(
            &me,
            Method::GET,
            &format!("/api/v1/audit/export?format=csv&tenant_id={}", other.tenant),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(
        text(&r.json).split_terminator("\r\n").count(),
        1,
        "{:#}",
        r.json
    );

    // JSON lines with filters, as the operator: each line an event that passes them.
    let r = h
        .op(
            Method::GET,
            "/api/v1/audit/export?format=jsonl&action=tenant.create",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(r.content_type, "application/x-ndjson");
    let events: Vec<serde_json::Value> = text(&r.json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(events.len(), 2, "{events:#?}");
    assert!(
        events
            .iter()
            .all(|e| e["action"] == "tenant.create" && e["outcome"] == "success")
    );
    assert_eq!(events[0]["target_id"], json!(other.tenant), "newest first");
    let r = h
        .op(Method::GET, &format!("/api/v1/audit/export?format=jsonl&tenant_id={}&actor_id=cn:{OPERATOR_CN}&target_id={}", a.tenant, a.app), None)
        .await;
    assert_eq!(text(&r.json).lines().count(), 1, "{:#}", r.json);

    // Malformed requests name the parameter.
    for (query, field) in [
        ("", "format"),
        ("format=xml", "format"),
        ("format=csv&limit=5", "limit"),
        ("format=csv&outcome=maybe", "outcome"),
    ] {
        let r = h
            .op(Method::GET, &format!("/api/v1/audit/export?{query}"), None)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {:#}", r.json);
        assert_eq!(
            crate::support::fields(&r.json),
            [field],
            "{query}: {:#}",
            r.json
        );
    }

    // Every export is audited with its format, rows and filters, in the exporter's tenant.
    let exports = h.audit("action=audit.export").await;
    assert_eq!(exports.len(), 4, "{exports:#?}");
    let mine: Vec<&serde_json::Value> = exports
        .iter()
        .filter(|e| e["tenant_id"] == json!(a.tenant))
        .collect();
    assert_eq!(
        mine.len(),
        3,
        "two tenant exports and the operator's for the tenant: {exports:#?}"
    );
    let first = exports.last().expect("the tenant's first export");
    assert_eq!(first["actor_name"], json!("=HYPERLINK(\"http://evil\")"));
    assert_eq!(first["after"]["format"], json!("csv"));
    assert_eq!(first["after"]["rows"], json!(listed.len()));
    assert_eq!(exports[1]["after"]["rows"], json!(2));
    assert_eq!(
        exports[1]["after"]["filter"]["action"],
        json!("tenant.create")
    );

    // Exactly at the bound (50,000 matching events) it is one file; one more is refused,
    // naming the bound, before anything is read. (Built upwards: the trail is append-only.)
    let bulk = match b {
        Backend::Sqlite => "printf('00000000-0000-7000-8000-%012d', i)",
        Backend::Postgres => "'00000000-0000-7000-8000-' || lpad(i::text, 12, '0')",
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) \
         INSERT INTO audit_events (id, at, actor_kind, actor_name, action, outcome) \
         SELECT {bulk}, 0, 'system', 'test', 'bulk.test', 'success' FROM n"
    )))
    .execute(h.db().pool())
    .await
    .expect("bulk insert");
    let r = h
        .op(
            Method::GET,
            "/api/v1/audit/export?format=csv&action=bulk.test",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:#}", r.json);
    assert_eq!(
        text(&r.json).split_terminator("\r\n").count(),
        50_001,
        "header and 50,000 rows"
    );
    sqlx::query(
        "INSERT INTO audit_events (id, at, actor_kind, actor_name, action, outcome) \
         VALUES ('00000000-0000-7000-8000-000000050001', 0, 'system', 'test', 'bulk.test', \
         'success')",
    )
    .execute(h.db().pool())
    .await
    .expect("one more");
    let r = h
        .op(
            Method::GET,
            "/api/v1/audit/export?format=csv&action=bulk.test",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:#}", r.json);
    assert_eq!(r.json["type"], json!("urn:hamn:problem:export-too-large"));
    assert!(
        r.json["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("50001 events match"),
        "{:#}",
        r.json
    );
    h.finish().await;
}
both!(audit_export_is_filtered_scoped_formula_safe_and_audited);

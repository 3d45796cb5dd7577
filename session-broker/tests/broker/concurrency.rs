//! Launches under concurrency, on both databases: 32 launches at once, from two broker
//! instances (each a connection pool of its own on the one database), each either granted
//! or refused by a limit, never failed by the database ("database is locked" on SQLite, a
//! deadlock on PostgreSQL); no host over its capacity, no tenant or user over its limit,
//! a user's two launches of one app at once get one session; and the seat counters the
//! triggers keep (migration 0014) equal what `sessions` says, so the janitor's recount
//! finds nothing to fix. A correctness test: nothing here is timed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::launch::{LaunchError, LaunchTicket, issue_launch_ticket};
use hamn_broker::model::SessionState;
use hamn_broker::repo;
use hamn_broker::ticket::LaunchPath;
use serde_json::json;
use uuid::Uuid;

use crate::both;
use crate::placement::{issuer, live_per_host, pool_of_three};
use crate::support::{Backend, Harness};

const LAUNCHES: usize = 32;

/// A launch's (user, app) and what became of it.
type Outcome = ((Uuid, Uuid), Result<LaunchTicket, LaunchError>);
/// The granted launches' sessions per (user, app), and the refusals' reasons.
type Judged = (HashMap<(Uuid, Uuid), HashSet<Uuid>>, Vec<&'static str>);

async fn put_ok(h: &Harness, path: &str, body: serde_json::Value) {
    let r = h.op(Method::PUT, path, Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "PUT {path}: {:#}", r.json);
}

/// Launches every `(user, app)` at once, alternating between `brokers`.
async fn launch_all(brokers: &[Database], pairs: &[(Uuid, Uuid)]) -> Vec<Outcome> {
    let issuer = issuer();
    let mut launches = tokio::task::JoinSet::new();
    for (n, &(user, app)) in pairs.iter().enumerate() {
        let (db, issuer) = (brokers[n % brokers.len()].clone(), Arc::clone(&issuer));
        launches.spawn(async move {
            (
                (user, app),
                issue_launch_ticket(&db, &issuer, user, app, LaunchPath::Browser).await,
            )
        });
    }
    let mut results = Vec::new();
    while let Some(r) = launches.join_next().await {
        results.push(r.expect("task"));
    }
    results
}

/// Every launch was granted or refused by a limit (never a database error); returns the
/// granted ones' session per (user, app) and the refusal reasons.
fn judge(results: &[Outcome]) -> Judged {
    let mut sessions: HashMap<(Uuid, Uuid), HashSet<Uuid>> = HashMap::new();
    let mut refused = Vec::new();
    for (pair, r) in results {
        match r {
            Ok(t) => {
                sessions.entry(*pair).or_default().insert(t.session.id);
            }
            Err(
                e @ (LaunchError::NoHostAvailable
                | LaunchError::LogonStorm { .. }
                | LaunchError::TenantSessionLimit { .. }
                | LaunchError::UserSessionLimit { .. }
                | LaunchError::LaunchRateLimit { .. }),
            ) => refused.push(e.reason()),
            Err(other) => panic!("a launch failed instead of being granted or refused: {other}"),
        }
    }
    (sessions, refused)
}

/// The hosts' and tenants' seat counters against COUNT(*) over `sessions`.
async fn counters_match(h: &Harness) {
    let mut conn = h.db().pool().acquire().await.expect("conn");
    let hosts: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT h.id, h.live_sessions, h.logons, \
         (SELECT COUNT(*) FROM sessions s WHERE s.host_id = h.id AND s.state <> 'ended'), \
         (SELECT COUNT(*) FROM sessions s WHERE s.host_id = h.id AND s.state = 'launching') \
         FROM hosts h",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("hosts");
    for (id, live, logons, counted_live, counted_logons) in hosts {
        assert_eq!(
            (live, logons),
            (counted_live, counted_logons),
            "host {id}: counters vs sessions"
        );
    }
    let tenants: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT t.id, COALESCE((SELECT u.sessions FROM tenant_usage u WHERE u.tenant_id = t.id), 0), \
         (SELECT COUNT(*) FROM sessions s WHERE s.tenant_id = t.id AND s.state <> 'ended') \
         FROM tenants t",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("tenants");
    for (id, counter, counted) in tenants {
        assert_eq!(counter, counted, "tenant {id}: counter vs sessions");
    }
    drop(conn);
    assert_eq!(
        repo::load::reconcile_seats(h.db())
            .await
            .expect("reconcile"),
        repo::load::Reconciled::default(),
        "nothing drifted"
    );
}

async fn concurrent_launches_are_granted_or_refused_never_failed(b: Backend) {
    let h = Harness::new(b).await;
    // Three hosts of four seats, 16 users; the tenant may hold 10 sessions, a user one.
    let (ids, _, users) = pool_of_three(&h, 4, 16).await;
    put_ok(
        &h,
        &format!("/api/v1/pools/{}/placement", ids.pool),
        json!({"max_logons_per_host": 0}),
    )
    .await;
    put_ok(
        &h,
        &format!("/api/v1/tenants/{}/limits", ids.tenant),
        json!({"max_sessions": 10, "max_sessions_per_user": 1}),
    )
    .await;
    let url = h.db().pool().connect_options().database_url.to_string();
    let second = Database::connect(&DatabaseConfig {
        url,
        max_connections: 8,
    })
    .await
    .expect("second broker");
    let brokers = [h.db().clone(), second.clone()];

    // Round 1: each user launches the PROD app twice at once (roaming must give one
    // session), 32 launches in all; the tenant's limit of 10 binds before capacity (12).
    let pairs: Vec<(Uuid, Uuid)> = users
        .iter()
        .flat_map(|&u| [(u, ids.app_prod), (u, ids.app_prod)])
        .collect();
    assert_eq!(pairs.len(), LAUNCHES);
    let (sessions, refused) = judge(&launch_all(&brokers, &pairs).await);
    assert!(
        sessions.values().all(|s| s.len() == 1),
        "one session per user and app: {sessions:?}"
    );
    assert_eq!(
        sessions.len(),
        10,
        "the tenant's 10 sessions; refused {refused:?}"
    );
    assert!(
        refused.iter().all(|r| *r == "tenant_session_limit"),
        "{refused:?}"
    );
    let per_host = live_per_host(&h).await;
    assert_eq!(per_host.values().sum::<usize>(), 10, "{per_host:?}");
    assert!(per_host.values().all(|&n| n <= 4), "capacity: {per_host:?}");
    counters_match(&h).await;

    // Round 2: with room in the tenant, the users with a session launch the UTB app
    // (refused: one per user), the others PROD: capacity (12) binds, two seats for six.
    put_ok(
        &h,
        &format!("/api/v1/tenants/{}/limits", ids.tenant),
        json!({"max_sessions": 100}),
    )
    .await;
    let pairs: Vec<(Uuid, Uuid)> = users
        .iter()
        .flat_map(|&u| {
            if sessions.contains_key(&(u, ids.app_prod)) {
                [(u, ids.app_utb), (u, ids.app_utb)]
            } else {
                [(u, ids.app_prod), (u, ids.app_prod)]
            }
        })
        .collect();
    let (granted, refused) = judge(&launch_all(&brokers, &pairs).await);
    // Placement comes before the user's limit, so a UTB launch that finds the pool full
    // already is refused for that instead.
    assert_eq!(
        granted.len(),
        2,
        "two seats were left: {granted:?} {refused:?}"
    );
    assert!(granted.keys().all(|(_, app)| *app == ids.app_prod));
    assert!(
        refused
            .iter()
            .all(|r| *r == "user_session_limit" || *r == "no_host_available"),
        "{refused:?}"
    );
    let per_host = live_per_host(&h).await;
    assert!(per_host.values().all(|&n| n == 4), "full: {per_host:?}");
    counters_match(&h).await;

    // Round 3: every session ends (as the gateway and the janitor end them); the counters
    // follow, and 32 launches from the 16 users fill the 12 seats again, no more.
    let mut conn = h.db().pool().acquire().await.expect("conn");
    let live: Vec<(String,)> = sqlx::query_as("SELECT id FROM sessions WHERE state <> 'ended'")
        .fetch_all(&mut *conn)
        .await
        .expect("sessions");
    for (id,) in live {
        let id = id.parse().expect("uuid");
        repo::sessions::set_state(
            &mut conn,
            id,
            SessionState::Active,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("active");
        repo::sessions::set_state(
            &mut conn,
            id,
            SessionState::Ended,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("ended");
    }
    drop(conn);
    counters_match(&h).await;
    put_ok(
        &h,
        &format!("/api/v1/tenants/{}/limits", ids.tenant),
        json!({"max_sessions_per_user": 2}),
    )
    .await;
    let pairs: Vec<(Uuid, Uuid)> = users
        .iter()
        .flat_map(|&u| [(u, ids.app_prod), (u, ids.app_utb)])
        .collect();
    let (granted, refused) = judge(&launch_all(&brokers, &pairs).await);
    assert_eq!(granted.len(), 12, "twelve seats: {refused:?}");
    assert!(
        refused.iter().all(|r| *r == "no_host_available"),
        "{refused:?}"
    );
    let per_host = live_per_host(&h).await;
    assert!(per_host.values().all(|&n| n == 4), "full: {per_host:?}");
    counters_match(&h).await;

    second.close().await;
    h.finish().await;
}
both!(concurrent_launches_are_granted_or_refused_never_failed);

/// A counter that drifted (here: changed behind the triggers' back) is recounted by the
/// janitor's sweep, and placement trusts it again.
async fn the_janitor_heals_drifted_seat_counters(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, hosts, users) = pool_of_three(&h, 2, 2).await;
    let issuer = issuer();
    for user in &users {
        issue_launch_ticket(h.db(), &issuer, *user, ids.app_prod, LaunchPath::Browser)
            .await
            .expect("launch");
    }
    let mut conn = h.db().pool().acquire().await.expect("conn");
    sqlx::query("UPDATE hosts SET live_sessions = live_sessions + 7, logons = 0")
        .execute(&mut *conn)
        .await
        .expect("drift");
    // The tenant's count is the sum of its shards (migration 0020; `tenant_usage` is
    // their sum, a view).
    sqlx::query("UPDATE tenant_usage_shards SET sessions = 40")
        .execute(&mut *conn)
        .await
        .expect("drift");
    drop(conn);
    let fixed = repo::load::reconcile_seats(h.db())
        .await
        .expect("reconcile");
    assert_eq!(fixed.hosts, hosts.len() as u64, "{fixed:?}");
    assert_eq!(fixed.tenants, 1, "{fixed:?}");
    counters_match(&h).await;
    hamn_broker::janitor::load_sweep(h.db(), time::OffsetDateTime::now_utc())
        .await
        .expect("sweep");
    let usage = h
        .op(
            Method::GET,
            &format!("/api/v1/tenants/{}/usage", ids.tenant),
            None,
        )
        .await;
    assert_eq!(usage.json["sessions"], 2, "{:#}", usage.json);
    h.finish().await;
}
both!(the_janitor_heals_drifted_seat_counters);

/// Launches every `(user, app)` at once at `now` (one counting window), alternating
/// between `brokers`.
async fn launch_all_at(
    brokers: &[Database],
    pairs: &[(Uuid, Uuid)],
    now: time::OffsetDateTime,
) -> Vec<Outcome> {
    let issuer = issuer();
    let mut launches = tokio::task::JoinSet::new();
    for (n, &(user, app)) in pairs.iter().enumerate() {
        let (db, issuer) = (brokers[n % brokers.len()].clone(), Arc::clone(&issuer));
        launches.spawn(async move {
            (
                (user, app),
                hamn_broker::launch::issue_launch_ticket_at(
                    &db,
                    &issuer,
                    user,
                    app,
                    LaunchPath::Browser,
                    now,
                )
                .await,
            )
        });
    }
    let mut results = Vec::new();
    while let Some(r) = launches.join_next().await {
        results.push(r.expect("task"));
    }
    results
}

/// The tenant's limits hold exactly when launches start far from them: on PostgreSQL
/// the first launches count on shards without waiting for each other (migration 0020),
/// the ones that get near a limit run again with every shard locked. 64 launches from
/// two brokers against a limit of 40 sessions get exactly 40; then, against a limit of
/// 70 launches in the minute (40 counted), exactly 30 more.
async fn limits_hold_exactly_from_far_below(b: Backend) {
    let h = Harness::new(b).await;
    let (ids, _, users) = pool_of_three(&h, 30, 64).await;
    put_ok(
        &h,
        &format!("/api/v1/pools/{}/placement", ids.pool),
        json!({"max_logons_per_host": 0}),
    )
    .await;
    put_ok(
        &h,
        &format!("/api/v1/tenants/{}/limits", ids.tenant),
        json!({"max_sessions": 40, "max_sessions_per_user": 5}),
    )
    .await;
    let url = h.db().pool().connect_options().database_url.to_string();
    let second = Database::connect(&DatabaseConfig {
        url,
        max_connections: 8,
    })
    .await
    .expect("second broker");
    let brokers = [h.db().clone(), second.clone()];
    // Mid-minute, so every launch counts in one window.
    let now = time::OffsetDateTime::now_utc();
    let now = now - time::Duration::seconds(i64::from(now.second())) + time::Duration::seconds(30);

    let pairs: Vec<(Uuid, Uuid)> = users.iter().map(|&u| (u, ids.app_prod)).collect();
    let (granted, refused) = judge(&launch_all_at(&brokers, &pairs, now).await);
    assert_eq!(
        granted.len(),
        40,
        "the tenant's 40 sessions; refused {refused:?}"
    );
    assert!(
        refused.iter().all(|r| *r == "tenant_session_limit"),
        "{refused:?}"
    );
    counters_match(&h).await;

    put_ok(
        &h,
        &format!("/api/v1/tenants/{}/limits", ids.tenant),
        json!({"max_sessions": 1000, "launches_per_minute": 70}),
    )
    .await;
    let pairs: Vec<(Uuid, Uuid)> = users.iter().map(|&u| (u, ids.app_utb)).collect();
    let (granted, refused) = judge(&launch_all_at(&brokers, &pairs, now).await);
    assert_eq!(
        granted.len(),
        30,
        "70 launches in the minute; refused {refused:?}"
    );
    assert!(
        refused.iter().all(|r| *r == "launch_rate_limit"),
        "{refused:?}"
    );
    counters_match(&h).await;
    let mut conn = h.db().pool().acquire().await.expect("conn");
    let (start, _) = hamn_broker::fair_use::window(hamn_broker::db::row::millis(now));
    let counted = repo::load::counted(&mut conn, ids.tenant, repo::load::Counter::Launch, start)
        .await
        .expect("counted");
    assert_eq!(counted, 70, "refused launches roll their count back");
    drop(conn);
    second.close().await;
    h.finish().await;
}
both!(limits_hold_exactly_from_far_below);

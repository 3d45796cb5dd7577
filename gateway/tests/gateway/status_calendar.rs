//! The public status page (`/status`) and service-window calendars
//! (`/status/calendar.ics`, one per environment),
//! validated by parsing them with Python's `icalendar` and expanding their recurrences with
//! `recurring_ical_events` (`ical_check.py`, which also checks CRLF framing, 75-octet
//! folding and the VTIMEZONE against the system tz database): every occurrence a calendar
//! client sees is one the broker acts on, across a DST change, and text survives escaping.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::model::{NewServiceWindow, Recurrence, WeekDay};
use hamn_broker::repo;
use hamn_gateway::PortalState;
use serde_json::Value;
use time::{Duration, OffsetDateTime, UtcOffset};
use tower::ServiceExt as _;

fn python() -> String {
    std::env::var("HAMN_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn iso(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

async fn get(router: &axum::Router, method: Method, path: &str) -> (StatusCode, String, String) {
    let response = router
        .clone()
        .oneshot(
            Request::builder()
                .method(method)
                .uri(path)
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).expect("UTF-8"),
    )
}

/// Runs `ical_check.py` on `feed` for occurrences in `[from, to)`.
fn parse(dir: &std::path::Path, feed: &str, from: OffsetDateTime, to: OffsetDateTime) -> Value {
    let file = dir.join("feed.ics");
    std::fs::write(&file, feed).expect("write feed");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/gateway/ical_check.py");
    let out = std::process::Command::new(python())
        .arg(script)
        .arg(&file)
        .arg(iso(from))
        .arg(iso(to))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{} cannot run ({e}); set HAMN_TEST_PYTHON to the venv of tests/requirements.txt",
                python()
            )
        });
    assert!(
        out.status.success(),
        "ical_check.py refused the feed (needs tests/requirements.txt: icalendar, \
         recurring-ical-events):\n{}\n--- feed ---\n{feed}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from ical_check.py")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calendars_parse_and_match_what_the_broker_acts_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = Database::connect(&DatabaseConfig {
        url: format!("sqlite://{}?mode=rwc", dir.path().join("hamn.db").display()),
        max_connections: 5,
    })
    .await
    .expect("open SQLite");
    database.migrate().await.expect("migrations");
    // The demo seed brings the service description's pattern: UTB ten and two days before
    // a PROD window 22:00-02:00.
    let ids = hamn_broker::seed::demo(&database, hamn_broker::DemoSeed::default())
        .await
        .expect("seed");
    let now = OffsetDateTime::now_utc();
    let first = (now + Duration::days(8)).date();
    let weekly = NewServiceWindow {
        starts_at: None,
        ends_at: None,
        recurrence: Some(Recurrence {
            days: vec![WeekDay::We, WeekDay::Sa],
            start_time: "22:00".into(),
            duration_minutes: 240,
            first_date: first.to_string(),
            until_date: Some((first + Duration::days(200)).to_string()),
        }),
        title: "Veckounderhåll; patchning, omstart".into(),
        description: "Rad ett\nRad två, med \\ och ;".into(),
        emergency: false,
        logoff_after_minutes: 0,
    };
    let long = NewServiceWindow {
        starts_at: Some(now + Duration::days(1)),
        ends_at: Some(now + Duration::days(1) + Duration::hours(2)),
        recurrence: None,
        title:
            "Akut säkerhetsuppdatering av åtkomstlagret för alla användare i utbildningsmiljön, \
                med omstart av samtliga värdar"
                .into(),
        description: String::new(),
        emergency: true,
        logoff_after_minutes: 0,
    };
    let (weekly_id, long_id) = {
        let mut conn = database.acquire().await.expect("conn");
        let t = weekly.validate(now).expect("valid");
        let w = repo::service_windows::insert(&mut conn, ids.tenant, ids.prod, &weekly, &t)
            .await
            .expect("insert");
        let t = long.validate(now).expect("valid");
        let l = repo::service_windows::insert(&mut conn, ids.tenant, ids.utb, &long, &t)
            .await
            .expect("insert");
        (w.id, l.id)
    };

    let router = hamn_gateway::router(PortalState {
        database: database.clone(),
        sessions: None,
        api: None,
    });
    let (status, content_type, feed) = get(&router, Method::GET, "/status/calendar.ics").await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    assert_eq!(content_type, "text/calendar; charset=utf-8");

    let (from, to) = (now, now + Duration::days(220));
    let parsed = parse(dir.path(), &feed, from, to);
    let events = parsed["events"].as_array().expect("events");
    assert_eq!(events.len(), 5, "3 seeded + weekly + emergency: {parsed:#}");
    let weekly_event = events
        .iter()
        .find(|e| e["uid"] == format!("{weekly_id}@hamn"))
        .expect("the weekly window");
    assert_eq!(weekly_event["tzid"], "Europe/Stockholm");
    assert!(
        weekly_event["rrule"]
            .as_str()
            .is_some_and(|r| r.contains("FREQ=WEEKLY")
                && r.contains("BYDAY=WE,SA")
                && r.contains("UNTIL=")),
        "{weekly_event:#}"
    );
    assert_eq!(
        weekly_event["summary"],
        "Servicefönster Demo kommun PROD: Veckounderhåll; patchning, omstart"
    );
    assert_eq!(
        weekly_event["description"],
        "Rad ett\nRad två, med \\ och ;"
    );
    let long_event = events
        .iter()
        .find(|e| e["uid"] == format!("{long_id}@hamn"))
        .expect("the emergency window");
    assert!(
        long_event["summary"]
            .as_str()
            .is_some_and(|s| s.contains("samtliga värdar (akut)")),
        "unfolded intact: {long_event:#}"
    );

    // What a calendar client expands (with the tz database) is exactly what the broker
    // acts on: every occurrence, both sides of the spring DST change.
    let mut expected: Vec<(String, String, String)> = Vec::new();
    {
        let mut conn = database.acquire().await.expect("conn");
        for w in repo::service_windows::list_live(&mut conn, None, from, 100)
            .await
            .expect("windows")
        {
            for o in w.occurrences(from, to) {
                expected.push((format!("{}@hamn", w.id), iso(o.start), iso(o.end)));
            }
        }
    }
    expected.sort();
    let seen: Vec<(String, String, String)> = parsed["occurrences"]
        .as_array()
        .expect("occurrences")
        .iter()
        .map(|o| {
            (
                o[0].as_str().unwrap_or_default().to_owned(),
                o[1].as_str().unwrap_or_default().to_owned(),
                o[2].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(seen, expected);
    let weekly_hours: std::collections::BTreeSet<_> = seen
        .iter()
        .filter(|o| o.0 == format!("{weekly_id}@hamn"))
        .map(|o| o.1[11..13].to_owned())
        .collect();
    assert_eq!(
        weekly_hours,
        ["20", "21"].into_iter().map(str::to_owned).collect(),
        "22:00 Stockholm is 21:00 UTC in winter and 20:00 UTC in summer"
    );

    // One environment's feed: only its windows; the kind in any case.
    let (status, _, utb) = get(&router, Method::GET, "/status/demo/utb/calendar.ics").await;
    assert_eq!(status, StatusCode::OK, "{utb}");
    let parsed = parse(dir.path(), &utb, from, to);
    let summaries: Vec<_> = parsed["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["summary"].as_str())
        .collect();
    assert_eq!(summaries.len(), 3, "{summaries:?}");
    assert!(
        summaries.iter().all(|s| s.contains(" UTB: ")),
        "{summaries:?}"
    );
    let (status, _, prod) = get(&router, Method::GET, "/status/demo/PROD/calendar.ics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        parse(dir.path(), &prod, from, to)["events"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    for path in [
        "/status/demo/test/calendar.ics",
        "/status/nowhere/prod/calendar.ics",
    ] {
        let (status, _, body) = get(&router, Method::GET, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, _, _) = get(&router, Method::POST, "/status/calendar.ics").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "GET only");

    // The status page lists the coming occurrences in Stockholm time, text escaped.
    let (status, content_type, page) = get(&router, Method::GET, "/status").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(content_type, "text/html; charset=utf-8");
    let rows: Vec<&str> = page.lines().filter(|l| l.starts_with("<tr><td>")).collect();
    let horizon = now + Duration::days(60);
    let mut expected_rows = 0;
    {
        let mut conn = database.acquire().await.expect("conn");
        for w in repo::service_windows::list_live(&mut conn, None, now, 100)
            .await
            .expect("windows")
        {
            expected_rows += w.occurrences(now, horizon).len();
        }
    }
    assert_eq!(rows.len(), expected_rows, "{page}");
    let first_weekly = rows
        .iter()
        .find(|r| r.contains("Veckounderhåll"))
        .expect("the weekly window is listed");
    assert!(
        first_weekly.contains(" 22:00</td>"),
        "Stockholm time: {first_weekly}"
    );
    assert!(
        first_weekly.contains("href=\"/status/demo/prod/calendar.ics\""),
        "{first_weekly}"
    );
    assert!(page.contains("samtliga värdar (akut)"), "{page}");
    let (status, _, _) = get(&router, Method::DELETE, "/status").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    database.close().await;
}

//! Availability from real probe samples: the gateway's sampler probes the seeded demo pool's
//! host (the bundled demo host, a real RDP stack) minute by minute; while it runs its
//! environments are available, once it is stopped they are not, and the status page's
//! 30-day figure is the share of sampled minutes outside service windows that were
//! available — in Swedish and English.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hamn_broker::repo;
use hamn_broker::status::{SamplerConfig, availability_of, minute_of, sample};
use hamn_gateway::PortalState;
use time::OffsetDateTime;
use tower::ServiceExt as _;

use crate::session::Gateway;

async fn page(router: &axum::Router, query: &str) -> String {
    let response = router
        .clone()
        .oneshot(
            Request::builder()
                .uri(format!("/status{query}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("text/html; charset=utf-8")
    );
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    String::from_utf8(body.to_vec()).expect("UTF-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_demo_host_makes_unavailable_minutes() {
    let mut gateway = Gateway::start().await;
    let config = SamplerConfig {
        timeout: Duration::from_secs(3),
        ..SamplerConfig::default()
    };
    let now = OffsetDateTime::now_utc();
    let minute = |ago: i64| now - time::Duration::minutes(ago);
    // Three minutes with the host up (sampled twice in one minute, as two nodes would).
    for ago in [6, 5, 5, 4] {
        let recorded = sample(&gateway.database, &config, minute(ago))
            .await
            .expect("sample");
        assert_eq!(recorded.len(), 2, "PROD and UTB: {recorded:?}");
        assert!(recorded.iter().all(|(_, up)| *up), "{recorded:?}");
    }
    gateway.stop_host();
    let recorded = sample(&gateway.database, &config, minute(3))
        .await
        .expect("sample");
    assert!(
        recorded.iter().all(|(_, up)| !*up),
        "the host is gone: {recorded:?}"
    );

    let envs = {
        let mut conn = gateway.database.acquire().await.expect("conn");
        repo::availability::environments(&mut conn)
            .await
            .expect("environments")
    };
    for (env, ..) in &envs {
        let mut conn = gateway.database.acquire().await.expect("conn");
        let samples =
            repo::availability::samples(&mut conn, *env, minute_of(minute(10)), minute_of(now))
                .await
                .expect("samples");
        assert_eq!(
            samples,
            [
                (minute_of(minute(6)), true),
                (minute_of(minute(5)), true),
                (minute_of(minute(4)), true),
                (minute_of(minute(3)), false),
            ]
        );
        drop(conn);
        let (a30, a90) = availability_of(&gateway.database, *env, now)
            .await
            .expect("availability");
        assert_eq!((a30.sampled_minutes, a30.available_minutes), (4, 3));
        assert_eq!(a30.percent(), Some(75.0));
        assert_eq!(a90.percent(), Some(75.0));
    }

    let router = hamn_gateway::router(PortalState {
        database: gateway.database.clone(),
        sessions: None,
        api: None,
    });
    let sv = page(&router, "").await;
    assert!(sv.contains("<html lang=\"sv\">"), "{sv}");
    assert_eq!(
        sv.matches("75,00 %").count(),
        4,
        "PROD and UTB, 30 and 90 days: {sv}"
    );
    let en = page(&router, "?lang=en").await;
    assert_eq!(en.matches("75.00%").count(), 4, "{en}");
    assert!(en.contains("Availability outside service windows"), "{en}");
}

//! The public status page on a real `hamn up` (`tests/browser/status_page.mjs`): the demo
//! operator `drift` (Dag Drift, from the demo seed) posts, updates and resolves an incident
//! in the admin console; the page, without login, follows in Swedish and English; axe-core
//! on both. Then availability from the gateway's
//! own probes: with the demo host killed, the sampler (every second here) records
//! unavailable minutes, and the 30-day figure counts them.

use std::process::Command;
use std::time::{Duration, Instant};

use hamn_broker::status::availability_of;
use time::OffsetDateTime;

use crate::support::{HamnUp, browser_script};

#[test]
fn the_status_page_follows_an_incident_and_counts_unavailable_minutes() {
    let mut up = HamnUp::start(&[("HAMN_GATEWAY__AVAILABILITY_INTERVAL", "1".to_owned())]);
    let gateway = format!("https://localhost:{}", up.ports.gateway);
    browser_script("status page", "status_page.mjs", &[&gateway], None);

    // Availability from the gateway's own probes: up so far, then the demo host is gone.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let db = runtime
        .block_on(hamn_broker::Database::connect(
            &hamn_broker::DatabaseConfig {
                url: format!("sqlite://{}?mode=rw", up.data.0.join("hamn.db").display()),
                max_connections: 2,
            },
        ))
        .expect("the demo database");
    let envs = runtime
        .block_on(async {
            let mut conn = db.acquire().await?;
            hamn_broker::repo::availability::environments(&mut conn).await
        })
        .expect("environments");
    let prod = envs
        .iter()
        .find(|e| e.4 == "PROD")
        .map(|e| e.0)
        .expect("PROD");
    // The samples of PROD so far, the current minute included.
    let samples = || {
        runtime
            .block_on(async {
                let mut conn = db.acquire().await?;
                let now = hamn_broker::status::minute_of(OffsetDateTime::now_utc());
                hamn_broker::repo::availability::samples(&mut conn, prod, now - 60, now + 1).await
            })
            .expect("samples")
    };
    let wait_for = |available: bool, within: Duration| {
        let deadline = Instant::now() + within;
        loop {
            if let Some(&(minute, _)) = samples().iter().find(|(_, up)| *up == available) {
                return minute;
            }
            assert!(
                Instant::now() < deadline,
                "no sample with available = {available}: {:?}\n{}",
                samples(),
                up.logs()
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    };
    wait_for(true, Duration::from_secs(30));
    for pid in up.children() {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    // The minute the host died still counts as available (an earlier probe in it
    // answered); the next one cannot.
    let down = wait_for(false, Duration::from_secs(150));
    let after_it = OffsetDateTime::from_unix_timestamp((down + 1) * 60).expect("time");
    let (a30, a90) = runtime
        .block_on(availability_of(&db, prod, after_it))
        .expect("availability");
    assert!(
        a30.sampled_minutes >= 2 && a30.available_minutes < a30.sampled_minutes,
        "{a30:?}"
    );
    assert!(a30.percent().is_some_and(|p| p < 100.0), "{a30:?}");
    assert_eq!(
        (a30.sampled_minutes, a30.available_minutes),
        (a90.sampled_minutes, a90.available_minutes),
        "one history, two periods"
    );
    runtime.block_on(db.close());
    let status = up.terminate();
    assert!(status.is_some(), "{}", up.logs());
}

//! The services apart: `hamn migrate`, then `hamn broker` and `hamn gateway` as separate
//! processes sharing one PostgreSQL (the scale-out shape), and `hamn migrate` on SQLite.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::metrics::{Scrape, scrape};
use crate::support::{ScratchDatabase, TempDir, curl, free_ports, hamn_bin, terminate};

pub(crate) fn hamn(args: &[&str], env: &[(&str, String)]) -> Command {
    let mut command = Command::new(hamn_bin());
    // No metrics listener unless a test gives one: the default address is one per machine.
    command
        .args(args)
        .env_remove("RUST_LOG")
        .env("HAMN_METRICS__LISTEN", "");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

pub(crate) fn run_ok(mut command: Command) -> String {
    let output = command.output().expect("run hamn");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn wait_ready(ca: &std::path::Path, url: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if curl(ca, &[], url).0 == 200 {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{url}: the service exited with {status}");
        }
        assert!(Instant::now() < deadline, "{url} never became ready");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn migrate_creates_the_schema_on_sqlite_idempotently() {
    let data = TempDir::new("migrate");
    let dir = data.0.display().to_string();
    for _ in 0..2 {
        let out = run_ok(hamn(&["migrate", "--data-dir", &dir], &[]));
        assert!(out.contains("migrations applied"), "{out}");
    }
    assert!(
        data.0.join("hamn.db").is_file(),
        "no SQLite file in the data dir"
    );
}

#[test]
fn broker_and_gateway_run_apart_on_one_postgres() {
    let database = ScratchDatabase::create();
    let data = TempDir::new("scale");
    let dir = data.0.display().to_string();
    let [broker_port, gateway_port] = free_ports();
    let env = vec![
        ("HAMN_DATABASE__URL", database.url()),
        ("HAMN_BROKER__LISTEN", format!("127.0.0.1:{broker_port}")),
        ("HAMN_GATEWAY__LISTEN", format!("127.0.0.1:{gateway_port}")),
        ("HAMN_GATEWAY__REDIRECT_LISTEN", String::new()),
        ("HAMN_GATEWAY__SITHS_LISTEN", String::new()),
    ];
    run_ok(hamn(&["certs", "init", "--data-dir", &dir], &env));
    for _ in 0..2 {
        run_ok(hamn(&["migrate", "--data-dir", &dir], &env));
    }
    let tables = database.tables();
    for table in ["tenants", "hosts", "audit_events", "api_clients"] {
        assert!(
            tables.split(',').any(|t| t == table),
            "{table} missing from {tables}"
        );
    }

    let spawn = |service: &str| {
        hamn(&[service, "--data-dir", &dir], &env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn service")
    };
    let mut broker = spawn("broker");
    let mut gateway = spawn("gateway");
    let ca = data.0.join("certs/ca.crt");
    wait_ready(
        &ca,
        &format!("https://127.0.0.1:{broker_port}/readyz"),
        &mut broker,
    );
    wait_ready(
        &ca,
        &format!("https://localhost:{gateway_port}/readyz"),
        &mut gateway,
    );

    // A change made through one service's API is in the shared database.
    let certs = data.0.join("certs");
    let (cert, key) = (
        certs.join("api-operator.crt"),
        certs.join("api-operator.key"),
    );
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let (code, body) = curl(
        &ca,
        &[
            "--cert",
            &cert,
            "--key",
            &key,
            "-H",
            "content-type: application/json",
            "-d",
            r#"{"slug":"sundsvall","name":"Sundsvalls kommun"}"#,
        ],
        &format!("https://127.0.0.1:{broker_port}/api/v1/tenants"),
    );
    assert_eq!(code, 201, "{body}");
    let output = Command::new("psql")
        .args([
            database.url().as_str(),
            "-qAtc",
            "SELECT name FROM tenants WHERE slug = 'sundsvall'",
        ])
        .output()
        .expect("psql");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "Sundsvalls kommun"
    );

    assert_eq!(
        terminate(&mut gateway).and_then(|s| s.code()),
        Some(0),
        "gateway exit on SIGTERM"
    );
    assert_eq!(
        terminate(&mut broker).and_then(|s| s.code()),
        Some(0),
        "broker exit on SIGTERM"
    );
}

/// Two `hamn broker` and two `hamn gateway` processes on one PostgreSQL: limits set
/// through one broker's admin API and a load report through the other's, then users
/// launch at once through both gateways' portal API. Whichever process serves a launch,
/// the tenant's session limit, the pool's logon-storm limit and every host's capacity
/// hold, because all counting and locking is in the database.
#[test]
fn two_brokers_and_two_gateways_keep_placement_and_fair_use_limits() {
    let database = ScratchDatabase::create_named("_limits");
    let data = TempDir::new("limits");
    let dir = data.0.display().to_string();
    let [b1, b2, g1, g2, m1, m2, m3, m4] = free_ports();
    let brokers = [b1, b2];
    let gateways = [g1, g2];
    // Each process's own metrics listener: [broker 0, broker 1, gateway 0, gateway 1].
    let metrics = [m1, m2, m3, m4];
    let common = vec![
        ("HAMN_DATABASE__URL", database.url()),
        ("HAMN_GATEWAY__REDIRECT_LISTEN", String::new()),
        ("HAMN_GATEWAY__SITHS_LISTEN", String::new()),
        ("HAMN_GATEWAY__DEMO_LOGIN", "true".to_owned()),
        // The hosts below are addresses nobody serves: no probes, or they would be
        // unhealthy and take nothing.
        ("HAMN_BROKER__HEALTH_INTERVAL", "0".to_owned()),
    ];
    run_ok(hamn(&["certs", "init", "--data-dir", &dir], &common));
    run_ok(hamn(&["migrate", "--data-dir", &dir], &common));

    // The demo tenant, its pool and group, and the ticket key the gateways sign with (the
    // brokers' own key in a shared data dir, as `hamn up` has it).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ids = runtime.block_on(async {
        let db = hamn_broker::Database::connect(&hamn_broker::DatabaseConfig {
            url: database.url(),
            max_connections: 2,
        })
        .await
        .expect("connect");
        let ids = hamn_broker::seed::demo(
            &db,
            hamn_broker::DemoSeed {
                host_port: 1,
                ..Default::default()
            },
        )
        .await
        .expect("seed");
        db.close().await;
        ids
    });
    hamn_broker::TicketKeys::load_or_create(&data.0).expect("ticket key");

    let spawn = |service: &str, n: usize| {
        let mut env = common.clone();
        env.push(("HAMN_BROKER__LISTEN", format!("127.0.0.1:{}", brokers[n])));
        env.push(("HAMN_GATEWAY__LISTEN", format!("127.0.0.1:{}", gateways[n])));
        let m = n + if service == "gateway" { 2 } else { 0 };
        env.push(("HAMN_METRICS__LISTEN", format!("127.0.0.1:{}", metrics[m])));
        env.push((
            "HAMN_GATEWAY__PUBLIC_URL",
            format!("https://localhost:{}", gateways[n]),
        ));
        hamn(&[service, "--data-dir", &dir], &env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn service")
    };
    let mut processes = vec![
        spawn("broker", 0),
        spawn("broker", 1),
        spawn("gateway", 0),
        spawn("gateway", 1),
    ];
    let ca = data.0.join("certs/ca.crt");
    for (i, url) in [
        format!("https://127.0.0.1:{}/readyz", brokers[0]),
        format!("https://127.0.0.1:{}/readyz", brokers[1]),
        format!("https://localhost:{}/readyz", gateways[0]),
        format!("https://localhost:{}/readyz", gateways[1]),
    ]
    .iter()
    .enumerate()
    {
        wait_ready(&ca, url, &mut processes[i]);
    }

    let certs = data.0.join("certs");
    let cert = certs.join("api-operator.crt").display().to_string();
    let key = certs.join("api-operator.key").display().to_string();
    let admin = |n: usize, method: &str, path: &str, body: &str| {
        let mut args = vec!["--cert", &cert, "--key", &key, "-X", method];
        if !body.is_empty() {
            args.extend(["-H", "content-type: application/json", "-d", body]);
        }
        let (code, answer) = curl(
            &ca,
            &args,
            &format!("https://127.0.0.1:{}/api/v1{path}", brokers[n]),
        );
        assert!(
            (200..300).contains(&code),
            "{method} {path}: {code} {answer}"
        );
        serde_json::from_str::<serde_json::Value>(&answer).unwrap_or_default()
    };
    // Three hosts of four seats, at most two logons each at a time; a tenant limit of five.
    admin(
        0,
        "PATCH",
        &format!("/hosts/{}", ids.host),
        r#"{"capacity":4}"#,
    );
    let mut hosts = vec![ids.host.to_string()];
    for n in 2..=3 {
        let host = admin(
            n % 2,
            "POST",
            &format!("/pools/{}/hosts", ids.pool),
            &format!(r#"{{"name":"rdsh0{n}","address":"127.0.0.1","port":{n},"capacity":4}}"#),
        );
        hosts.push(host["id"].as_str().expect("host id").to_owned());
    }
    admin(
        1,
        "PUT",
        &format!("/pools/{}/placement", ids.pool),
        r#"{"max_logons_per_host":2}"#,
    );
    admin(
        0,
        "PUT",
        &format!("/tenants/{}/limits", ids.tenant),
        r#"{"max_sessions":5}"#,
    );
    let load = admin(
        1,
        "PUT",
        &format!("/hosts/{}/load", hosts[2]),
        r#"{"sessions":0,"cpu_percent":12.5,"memory_percent":40}"#,
    );
    assert_eq!(load["cpu_percent"], 12.5);
    let users: Vec<String> = (0..14).map(|n| format!("anvandare{n}")).collect();
    for (n, name) in users.iter().enumerate() {
        let user = admin(
            n % 2,
            "POST",
            &format!("/tenants/{}/users", ids.tenant),
            &format!(r#"{{"name_id":"{name}","display_name":"Användare {n}"}}"#),
        );
        let id = user["id"].as_str().expect("user id");
        admin(
            n % 2,
            "PUT",
            &format!("/groups/{}/members/{id}", ids.group),
            "",
        );
    }

    // Each user logs in at one gateway; then everyone launches at once.
    let jars = TempDir::new("jars");
    // `csrf`: the session's token from the login answer, sent as the portal page does.
    let portal = |n: usize, jar: &std::path::Path, path: &str, body: &str, csrf: &str| {
        let origin = format!("Origin: https://localhost:{}", gateways[n]);
        let csrf = format!("X-CSRF-Token: {csrf}");
        let jar = jar.display().to_string();
        curl(
            &ca,
            &[
                "-c",
                &jar,
                "-b",
                &jar,
                "-H",
                &origin,
                "-H",
                &csrf,
                "-H",
                "content-type: application/json",
                "-H",
                "accept-language: sv-SE",
                "-d",
                body,
            ],
            &format!("https://localhost:{}/portal/api/{path}", gateways[n]),
        )
    };
    let mut csrf_of = std::collections::HashMap::new();
    for (n, name) in users.iter().enumerate() {
        let jar = jars.0.join(name);
        let (code, body) = portal(
            n % 2,
            &jar,
            "demo-login",
            &format!(r#"{{"username":"{name}"}}"#),
            "",
        );
        assert_eq!(code, 200, "login {name}: {body}");
        let answer: serde_json::Value = serde_json::from_str(&body).expect("login answer");
        let csrf = answer["csrf_token"]
            .as_str()
            .expect("csrf_token")
            .to_owned();
        csrf_of.insert(name.clone(), csrf);
    }
    let csrf_of = &csrf_of;
    let launch_all = |names: &[String]| -> Vec<(u16, serde_json::Value)> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = names
                .iter()
                .enumerate()
                .map(|(n, name)| {
                    let jar = jars.0.join(name);
                    let portal = &portal;
                    let app = ids.app_prod;
                    scope.spawn(move || {
                        let csrf = csrf_of.get(name).map_or("", String::as_str);
                        let (code, body) = portal(
                            n % 2,
                            &jar,
                            "launch",
                            &format!(r#"{{"app_id":"{app}"}}"#),
                            csrf,
                        );
                        (code, serde_json::from_str(&body).unwrap_or_default())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("launch thread"))
                .collect()
        })
    };
    let live = |state_filter: &str| -> Vec<i64> {
        let output = Command::new("psql")
            .args([
                database.url().as_str(),
                "-qAtc",
                &format!(
                    "SELECT COUNT(*) FROM sessions WHERE state IN ({state_filter}) \
                     GROUP BY host_id ORDER BY 1"
                ),
            ])
            .output()
            .expect("psql");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    let reasons = |answers: &[(u16, serde_json::Value)]| -> Vec<String> {
        answers
            .iter()
            .filter(|(code, _)| *code != 200)
            .map(|(code, body)| {
                assert_eq!(*code, 429, "{body}");
                assert!(
                    body["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains("Försök igen om") || d.contains("försök igen")),
                    "{body}"
                );
                body["reason"].as_str().unwrap_or_default().to_owned()
            })
            .collect()
    };

    // Round 1: the tenant's limit of five binds (three hosts could log on six).
    let first = launch_all(&users);
    let granted = first.iter().filter(|(code, _)| *code == 200).count();
    assert_eq!(granted, 5, "{first:?}");
    assert!(
        reasons(&first).iter().all(|r| r == "tenant_session_limit"),
        "{first:?}"
    );
    let launching = live("'launching'");
    assert!(
        launching.iter().all(|&n| n <= 2),
        "storm limit: {launching:?}"
    );

    // Round 2: no tenant limit; six logons at most (two per host) are in progress.
    admin(
        1,
        "PUT",
        &format!("/tenants/{}/limits", ids.tenant),
        r#"{"max_sessions":null}"#,
    );
    let waiting: Vec<String> = users
        .iter()
        .zip(&first)
        .filter(|(_, (code, _))| *code != 200)
        .map(|(name, _)| name.clone())
        .collect();
    let second = launch_all(&waiting);
    let granted2 = second.iter().filter(|(code, _)| *code == 200).count();
    assert_eq!(granted2, 1, "6 logons in progress at most: {second:?}");
    assert!(
        reasons(&second).iter().all(|r| r == "logon_storm"),
        "{second:?}"
    );
    assert_eq!(live("'launching'"), vec![2, 2, 2]);

    // Round 3: the logons finish; capacity (twelve seats) is what is left to hold.
    Command::new("psql")
        .args([
            database.url().as_str(),
            "-qAtc",
            "UPDATE sessions SET state = 'active', started_at = created_at WHERE state = 'launching'",
        ])
        .output()
        .expect("psql");
    admin(
        0,
        "PUT",
        &format!("/pools/{}/placement", ids.pool),
        r#"{"max_logons_per_host":0}"#,
    );
    let rest: Vec<String> = waiting
        .iter()
        .zip(&second)
        .filter(|(_, (code, _))| *code != 200)
        .map(|(name, _)| name.clone())
        .collect();
    assert_eq!(rest.len(), 8);
    let third = launch_all(&rest);
    let granted3 = third.iter().filter(|(code, _)| *code == 200).count();
    assert_eq!(granted3, 6, "twelve seats, six taken: {third:?}");
    assert!(
        third
            .iter()
            .filter(|(code, _)| *code != 200)
            .all(|(code, body)| *code == 503 && body["reason"] == "no_host_available"),
        "{third:?}"
    );
    assert_eq!(live("'launching', 'active', 'disconnected'"), vec![4, 4, 4]);
    let capacity = admin(0, "GET", &format!("/pools/{}/capacity", ids.pool), "");
    assert_eq!(capacity["free"], 0, "{capacity}");
    assert_eq!(capacity["capacity_low"], true, "{capacity}");
    let usage = admin(1, "GET", &format!("/tenants/{}/usage", ids.tenant), "");
    assert_eq!(usage["sessions"], 12, "{usage}");
    assert_eq!(
        usage["launches_this_minute"].as_u64().map(|n| n <= 12),
        Some(true)
    );

    metrics_counted_the_launches(&ca, &metrics, &users, &[&first, &second, &third]);

    for mut process in processes.into_iter().rev() {
        assert_eq!(terminate(&mut process).and_then(|s| s.code()), Some(0));
    }
}

/// Every process's `/metrics` parses; the gateways (whose portal API ran the launches)
/// counted each launch and refusal the users were answered with, and any process reads
/// the live sessions by state, tenant and pool from the shared database.
fn metrics_counted_the_launches(
    ca: &std::path::Path,
    ports: &[u16; 4],
    users: &[String],
    rounds: &[&[(u16, serde_json::Value)]],
) {
    let scrapes: Vec<Scrape> = ports.iter().map(|p| scrape(ca, *p)).collect();
    let total = |name: &str, labels: &[(&str, &str)]| -> f64 {
        scrapes.iter().map(|s| s.sum(name, labels)).sum()
    };
    let answers: Vec<&(u16, serde_json::Value)> = rounds.iter().flat_map(|r| r.iter()).collect();
    let granted = answers.iter().filter(|(code, _)| *code == 200).count();
    let mut refused: std::collections::BTreeMap<String, usize> = Default::default();
    for (_, body) in answers.iter().filter(|(code, _)| *code != 200) {
        let reason = body["reason"].as_str().expect("refusal reason").to_owned();
        *refused.entry(reason).or_default() += 1;
    }
    assert_eq!(refused.len(), 3, "{refused:?}");

    assert_eq!(
        total("hamn_launches_total", &[("outcome", "granted")]),
        granted as f64
    );
    assert_eq!(
        total("hamn_launches_total", &[("outcome", "refused")]),
        refused.values().sum::<usize>() as f64
    );
    for (reason, n) in &refused {
        assert_eq!(
            total("hamn_launch_refusals_total", &[("reason", reason)]),
            *n as f64,
            "{reason}"
        );
    }
    assert_eq!(
        total("hamn_launch_duration_seconds_count", &[]),
        answers.len() as f64
    );
    assert_eq!(
        total("hamn_launch_duration_seconds_bucket", &[("le", "+Inf")]),
        answers.len() as f64
    );
    assert_eq!(
        total(
            "hamn_logins_total",
            &[("method", "demo"), ("outcome", "success")]
        ),
        users.len() as f64
    );
    // The brokers served no portal: their launch counters exist only once counted.
    assert_eq!(scrapes[0].sum("hamn_launches_total", &[]), 0.0);

    for scrape in &scrapes {
        assert_eq!(
            scrape.types.get("hamn_sessions").map(String::as_str),
            Some("gauge")
        );
        let sessions = scrape.sum(
            "hamn_sessions",
            &[
                ("tenant", hamn_broker::seed::DEMO_TENANT_SLUG),
                ("pool", hamn_broker::seed::DEMO_POOL_NAME),
            ],
        );
        assert_eq!(sessions, granted as f64, "{:?}", scrape.samples);
        assert_eq!(
            scrape.sum("hamn_sessions", &[("state", "ended")]),
            0.0,
            "ended sessions are not live"
        );
        let in_use = scrape.sum("hamn_db_pool_connections", &[("state", "in_use")]);
        let idle = scrape.sum("hamn_db_pool_connections", &[("state", "idle")]);
        assert!(in_use + idle >= 1.0, "the scrape itself holds a connection");
        assert!(scrape.sum("hamn_db_pool_max_connections", &[]) >= in_use + idle);
        for family in [
            "hamn_gateway_bytes_total",
            "hamn_gateway_frames_total",
            "hamn_native_tunnels",
        ] {
            assert!(scrape.has(family), "{family} missing");
        }
        // No label value is a user's name or any id.
        let uuid_like = |v: &str| v.len() == 36 && v.matches('-').count() == 4;
        for sample in &scrape.samples {
            for value in sample.labels.values() {
                let personal = users.iter().any(|u| u == value) || uuid_like(value);
                assert!(!personal, "{sample:?}");
            }
        }
    }
}

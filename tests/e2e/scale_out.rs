//! The services apart: `hamn migrate`, then `hamn broker` and `hamn gateway` as separate
//! processes sharing one PostgreSQL (the scale-out shape), and `hamn migrate` on SQLite.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{TempDir, curl, free_port, hamn_bin, terminate};

/// The PostgreSQL the test command provides (see scripts/test).
fn postgres_admin_url() -> String {
    std::env::var("HAMN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A database of its own on that server, dropped on drop.
struct ScratchDatabase {
    admin_url: String,
    name: String,
}

impl ScratchDatabase {
    fn create() -> Self {
        let admin_url = postgres_admin_url();
        let name = format!("hamn_e2e_{}", std::process::id());
        let db = Self { admin_url, name };
        db.psql(&format!("DROP DATABASE IF EXISTS {}", db.name));
        db.psql(&format!("CREATE DATABASE {}", db.name));
        db
    }

    fn url(&self) -> String {
        let base = self
            .admin_url
            .rsplit_once('/')
            .map_or(self.admin_url.as_str(), |(b, _)| b);
        format!("{base}/{}", self.name)
    }

    fn psql(&self, sql: &str) {
        let output = Command::new("psql")
            .args([
                self.admin_url.as_str(),
                "-v",
                "ON_ERROR_STOP=1",
                "-qAtc",
                sql,
            ])
            .output()
            .expect("psql (./scripts/test installs PostgreSQL)");
        assert!(
            output.status.success(),
            "psql {sql}: {} — is PostgreSQL at {} reachable?",
            String::from_utf8_lossy(&output.stderr),
            self.admin_url
        );
    }

    fn tables(&self) -> String {
        let output = Command::new("psql")
            .args([self.url().as_str(), "-qAtc", "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"])
            .output()
            .expect("psql");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                self.admin_url.as_str(),
                "-qAtc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

fn hamn(args: &[&str], env: &[(&str, String)]) -> Command {
    let mut command = Command::new(hamn_bin());
    command.args(args).env_remove("RUST_LOG");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

fn run_ok(mut command: Command) -> String {
    let output = command.output().expect("run hamn");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn wait_ready(ca: &std::path::Path, url: &str, child: &mut Child) {
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
    let (broker_port, gateway_port) = (free_port(), free_port());
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

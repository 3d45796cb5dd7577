//! Test harness: a print service on loopback HTTPS (dev PKI) over a fresh database on
//! either engine, with the demo tenant seeded, a live session of the demo user and a
//! printer token for it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::model::{PrintJob, SessionState};
use hamn_broker::print::tokens::{self, ResolvedToken};
use hamn_broker::seed::{self, DemoSeed};
use hamn_broker::ticket::{LaunchPath, TicketIssuer, TicketKeys};
use hamn_broker::{DemoIds, issue_launch_ticket, repo};
use hamn_print::{JobLimits, PrintConfig, PrintState};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend: `both!(name);` expects `async fn name(Backend)`.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::support::Backend::Postgres).await
            }
        }
    };
}

/// A running print service and what the tests need to reach it.
pub struct Service {
    pub dir: tempfile::TempDir,
    pub db: Database,
    pg: Option<(Database, String)>,
    pub addr: SocketAddr,
    pub state: Arc<PrintState>,
    pub ids: DemoIds,
    pub session_id: Uuid,
    pub token: String,
    pub ca: PathBuf,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

async fn database(backend: Backend, dir: &Path) -> (Database, Option<(Database, String)>) {
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}?mode=rwc", dir.join("hamn.db").display());
            let db = Database::connect(&DatabaseConfig {
                url,
                max_connections: 5,
            })
            .await
            .expect("open SQLite");
            (db, None)
        }
        Backend::Postgres => {
            let base = std::env::var("HAMN_TEST_DATABASE_URL")
                .unwrap_or_else(|_| DEFAULT_PG_URL.to_owned());
            let admin = Database::connect(&DatabaseConfig {
                url: base.clone(),
                max_connections: 1,
            })
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is required for the postgres variant of this test and is not \
                     reachable at {base} ({e}); set HAMN_TEST_DATABASE_URL or run ./scripts/test"
                )
            });
            let schema = format!("t_{}", Uuid::new_v4().simple());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(admin.pool())
                .await
                .expect("create test schema");
            let sep = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
            let db = Database::connect(&DatabaseConfig {
                url,
                max_connections: 5,
            })
            .await
            .expect("connect to test schema");
            (db, Some((admin, schema)))
        }
    }
}

impl Service {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, JobLimits::default()).await
    }

    pub async fn start_with(backend: Backend, limits: JobLimits) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // cupsd's filters run as lp and read files under here.
        set_mode(dir.path(), 0o755);
        let (db, pg) = database(backend, dir.path()).await;
        db.migrate().await.expect("migrate");
        let ids = seed::demo(&db, DemoSeed::default()).await.expect("seed");
        let session_id = live_session(&db, &ids).await;
        let token = {
            let mut conn = db.acquire().await.expect("conn");
            tokens::issue(&mut conn, session_id).await.expect("token")
        };
        let pki = hamn_certs::DevPki::init(&dir.path().join("certs")).expect("dev PKI");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let config = PrintConfig {
            listen: addr,
            tls: pki.server_cert_files(),
            database: DatabaseConfig {
                url: String::new(),
                max_connections: 5,
            },
            data_dir: dir.path().join("prints"),
            retention: Duration::from_secs(24 * 3600),
            limits,
            public_url: format!("https://127.0.0.1:{}", addr.port()),
        };
        let state = hamn_print::state(db.clone(), &config);
        let tls = hamn_print::tls_config(&config.tls).expect("tls");
        let shutdown = CancellationToken::new();
        let task = {
            let (router, shutdown) = (hamn_print::router(Arc::clone(&state)), shutdown.clone());
            tokio::spawn(async move {
                hamn_certs::serve(listener, tls, router, shutdown)
                    .await
                    .expect("serve");
            })
        };
        Self {
            ca: pki.paths.ca_cert(),
            dir,
            db,
            pg,
            addr,
            state,
            ids,
            session_id,
            token: token.as_str().to_owned(),
            shutdown,
            task,
        }
    }

    pub fn printer_uri(&self) -> String {
        format!(
            "ipps://127.0.0.1:{}/ipp/print/{}",
            self.addr.port(),
            self.token
        )
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("prints")
    }

    pub fn pdf_path(&self, job: &PrintJob) -> PathBuf {
        hamn_print::store::pdf_path(&self.data_dir(), job.tenant_id, job.id)
    }

    /// Every file under the tenant's spool and jobs directories.
    pub fn files(&self) -> Vec<PathBuf> {
        let tenant = self.data_dir().join(self.ids.tenant.to_string());
        let mut out = Vec::new();
        for sub in ["spool", "jobs"] {
            if let Ok(entries) = std::fs::read_dir(tenant.join(sub)) {
                out.extend(entries.filter_map(|e| e.ok()).map(|e| e.path()));
            }
        }
        out.sort();
        out
    }

    pub async fn resolved(&self) -> ResolvedToken {
        let mut conn = self.db.acquire().await.expect("conn");
        tokens::resolve_at(&mut conn, &self.token, OffsetDateTime::now_utc())
            .await
            .expect("resolve")
            .expect("live token")
    }

    /// The user's jobs, newest first.
    pub async fn jobs(&self) -> Vec<PrintJob> {
        let mut conn = self.db.acquire().await.expect("conn");
        repo::print_jobs::list_for_user(&mut conn, self.ids.user, 100)
            .await
            .expect("jobs")
    }

    /// Waits until the user has `n` finished jobs (CUPS prints in the background).
    pub async fn wait_for_finished(&self, n: usize, within: Duration) -> Vec<PrintJob> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let jobs = self.jobs().await;
            if jobs.iter().filter(|j| j.state.is_final()).count() >= n
                || tokio::time::Instant::now() > deadline
            {
                return jobs;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn finish(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
        self.db.close().await;
        if let Some((admin, schema)) = self.pg {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(admin.pool())
                .await
                .expect("drop test schema");
            admin.close().await;
        }
    }
}

/// A live (active) session of the demo user.
pub async fn live_session(db: &Database, ids: &DemoIds) -> Uuid {
    let issuer = TicketIssuer::new(Arc::new(TicketKeys::generate().expect("key").0));
    let launched = issue_launch_ticket(db, &issuer, ids.user, ids.app_prod, LaunchPath::Browser)
        .await
        .expect("launch");
    let mut conn = db.acquire().await.expect("conn");
    repo::sessions::set_state(
        &mut conn,
        launched.session.id,
        SessionState::Active,
        OffsetDateTime::now_utc(),
    )
    .await
    .expect("active");
    launched.session.id
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A UTF-8 text document of `pages` form-feed separated pages with å ä ö on each.
pub fn text_document(pages: usize) -> String {
    (1..=pages)
        .map(|p| {
            format!("Sida {p}: Journalanteckning för Åsa Öberg, vårdcentral Älvsjö.\nå ä ö Å Ä Ö\n")
        })
        .collect::<Vec<_>>()
        .join("\u{c}")
}

/// `pdftotext` of a PDF file, layout kept.
pub fn pdftotext(path: &Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 text")
}

/// The page count `pdfinfo` reads.
pub fn pdf_pages(path: &Path) -> u32 {
    let out = std::process::Command::new("pdfinfo")
        .arg(path)
        .output()
        .expect("pdfinfo (poppler-utils) runs");
    assert!(
        out.status.success(),
        "pdfinfo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a Pages: line")
}

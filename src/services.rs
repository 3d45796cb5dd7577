//! Wiring: turns validated [`Settings`] into each service's configuration and runs one
//! service or all of them, with certificates, migrations, the demo seed and the demo host
//! in place first. The services themselves know nothing of each other.

use std::path::Path;

use anyhow::Context;
use hamn_broker::db::{Database, DatabaseConfig};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cli::Common;
use crate::config::{self, Settings, Sources};

/// Reads the configuration the command line names (or the embedded demo one), applies
/// `HAMN_…__…` environment overrides and validates it. Problems come back one per line.
pub fn load_settings(common: &Common) -> Result<Settings, Vec<String>> {
    let text = match &common.config {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|error| vec![format!("{}: cannot read: {error}", path.display())])?,
        ),
        None => None,
    };
    config::load(Sources {
        text: text.as_deref(),
        data_dir: common.data_dir.clone(),
        log_format: common.log_format.clone(),
        env: std::env::vars().collect(),
    })
    .map_err(|problems| problems.0.iter().map(ToString::to_string).collect())
}

/// Validates a configuration file as `hamn config check` does.
pub fn check_file(path: &Path) -> Result<Settings, Vec<String>> {
    load_settings(&Common {
        config: Some(path.to_path_buf()),
        ..Common::default()
    })
}

fn database_config(settings: &Settings) -> DatabaseConfig {
    DatabaseConfig {
        url: settings.database_url.clone(),
        max_connections: settings.database_max_connections,
    }
}

fn broker_config(settings: &Settings) -> hamn_broker::BrokerConfig {
    hamn_broker::BrokerConfig {
        listen: settings.broker_listen,
        api_ca: settings.broker_api_ca.clone(),
        operator_cns: settings.broker_operator_cns.clone(),
        // `hamn up` and `hamn broker` migrate before the services start (below).
        migrate_on_start: false,
        database: database_config(settings),
        tls: settings.tls.clone(),
        secrets_key: None,
        service_windows: hamn_broker::service_windows::SchedulerConfig {
            warnings: settings.broker_service_window_warnings.clone(),
            ..hamn_broker::service_windows::SchedulerConfig::default()
        },
        print_public_url: Some(settings.print_public_url.clone()).filter(|u| !u.is_empty()),
        print_data_dir: Some(settings.print_data_dir.clone()),
        audit_retention: Some(settings.audit_retention),
        health: (!settings.broker_health_interval.is_zero()).then(|| {
            hamn_broker::health::HealthConfig {
                interval: settings.broker_health_interval,
                ..hamn_broker::health::HealthConfig::default()
            }
        }),
    }
}

fn gateway_config(
    settings: &Settings,
    secrets_key: Option<hamn_broker::SecretsKey>,
    ticket_issuer: Option<hamn_broker::TicketIssuer>,
) -> hamn_gateway::GatewayConfig {
    hamn_gateway::GatewayConfig {
        listen: settings.gateway_listen,
        public_url: settings.gateway_public_url.clone(),
        redirect_listen: settings.gateway_redirect_listen,
        tls: settings.tls.clone(),
        database: database_config(settings),
        data_dir: settings.data_dir.clone(),
        secrets_key,
        session: hamn_gateway::session::SessionConfig {
            reconnect_grace: settings.gateway_reconnect_grace,
            native_connect_timeout: settings.gateway_native_connect_timeout,
            max_fps: settings.gateway_max_fps,
            printing: print_client(settings),
            drain_deadline: settings.gateway_drain_deadline,
            node: settings.gateway_node.clone(),
            command_poll: settings.gateway_command_poll,
            ..hamn_gateway::session::SessionConfig::default()
        },
        ticket_issuer,
        demo_login: settings.gateway_demo_login,
        siths: settings
            .gateway_siths
            .as_ref()
            .map(|s| hamn_gateway::SithsConfig {
                listen: s.listen,
                ca_bundle: s.ca.clone(),
                public_url: s.public_url.clone(),
                crl: s.crl.clone(),
                crl_refresh: s.crl_refresh,
                revocation: s.revocation,
                ocsp: s.ocsp,
                ocsp_timeout: s.ocsp_timeout,
                loa_by_ca: s.loa_by_ca.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            }),
        web_sessions: hamn_broker::WebSessionPolicy::default(),
        launch_min_loa: settings.gateway_launch_min_loa,
        saml: settings.gateway_saml.then(|| hamn_gateway::SamlConfig {
            sp_key: settings.gateway_saml_sp_key.clone(),
            sp_cert: settings.gateway_saml_sp_cert.clone(),
        }),
        demo_idp: settings.gateway_demo_idp.as_ref().map(|(key, cert)| {
            hamn_gateway::DemoIdpConfig {
                key: key.clone(),
                cert: cert.clone(),
            }
        }),
        rdp_signing: settings.gateway_rdp_signing.as_ref().map(|(cert, key)| {
            hamn_gateway::RdpSigningConfig {
                cert: cert.clone(),
                key: key.clone(),
            }
        }),
        print_data_dir: settings.print_data_dir.clone(),
        print_public_url: Some(settings.print_public_url.clone()).filter(|u| !u.is_empty()),
        availability: (!settings.gateway_availability_interval.is_zero()).then(|| {
            hamn_broker::status::SamplerConfig {
                interval: settings.gateway_availability_interval,
                ..hamn_broker::status::SamplerConfig::default()
            }
        }),
    }
}

/// The ticket issuer for the portal's logins, when `gateway.demo_login` or the SITHS
/// listener is on: `hamn up` shares the broker's key (`keys`); a standalone gateway uses the
/// key only if the broker's private key file is in its data dir, and otherwise runs
/// without the portal API.
fn portal_issuer(
    settings: &Settings,
    keys: Option<hamn_broker::TicketKeys>,
) -> anyhow::Result<Option<hamn_broker::TicketIssuer>> {
    if !settings.gateway_demo_login && settings.gateway_siths.is_none() && !settings.gateway_saml {
        return Ok(None);
    }
    let keys = match keys {
        Some(keys) => keys,
        None => {
            let path = settings.data_dir.join(hamn_broker::ticket::keys::KEY_FILE);
            if !path.is_file() {
                tracing::warn!(
                    path = %path.display(),
                    "a portal login is on but the ticket signing key is not here: the portal API is off"
                );
                return Ok(None);
            }
            hamn_broker::TicketKeys::load_or_create(&settings.data_dir)
                .context("ticket signing key")?
        }
    };
    Ok(Some(hamn_broker::TicketIssuer::new(std::sync::Arc::new(
        keys,
    ))))
}

/// The print service as browser sessions' printer reaches it; `None` (logged) when its CA
/// file cannot be read, so sessions go on without a printer.
fn print_client(
    settings: &Settings,
) -> Option<std::sync::Arc<hamn_gateway::print::PrintClientConfig>> {
    let print = &settings.gateway_print;
    let ca_pem = match &print.ca {
        None => None,
        Some(path) => match std::fs::read_to_string(path) {
            Ok(pem) => Some(pem),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "gateway.print_ca unreadable; browser sessions get no printer");
                return None;
            }
        },
    };
    Some(std::sync::Arc::new(
        hamn_gateway::print::PrintClientConfig {
            url: print.url.clone(),
            ca_pem,
            printer_name: print.printer_name.clone(),
        },
    ))
}

fn print_config(settings: &Settings) -> hamn_print::PrintConfig {
    let render = hamn_print::render::RenderOptions {
        ghostscript: settings.print_ghostscript.as_ref().map(|gs| {
            hamn_print::render::GhostscriptOptions {
                program: gs.program.clone(),
                timeout: gs.timeout,
                memory_limit_bytes: gs.memory_limit_bytes,
            }
        }),
        ..hamn_print::render::RenderOptions::default()
    };
    hamn_print::PrintConfig {
        listen: settings.print_listen,
        tls: settings.tls.clone(),
        database: database_config(settings),
        data_dir: settings.print_data_dir.clone(),
        retention: settings.print_retention,
        limits: hamn_print::JobLimits {
            max_job_bytes: settings.print_max_job_bytes,
            render,
        },
        public_url: settings.print_public_url.clone(),
    }
}

/// Creates the data directory and writes any missing dev certificates.
pub fn init_certs(settings: &Settings) -> anyhow::Result<hamn_certs::DevPki> {
    init_certs_with(settings, &hamn_certs::pki::DevPkiOptions::default())
}

/// [`init_certs`] with `options` for the certificates issued now (e.g. test cards that
/// name an OCSP responder).
pub fn init_certs_with(
    settings: &Settings,
    options: &hamn_certs::pki::DevPkiOptions,
) -> anyhow::Result<hamn_certs::DevPki> {
    if let Some(url) = &options.siths_ocsp_url
        && !url.starts_with("http://")
    {
        anyhow::bail!("--siths-ocsp-url {url:?}: OCSP responders are reached over http://");
    }
    let dir = settings.data_dir.join("certs");
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create {}", settings.data_dir.display()))?;
    hamn_certs::DevPki::init_with(&dir, options)
        .with_context(|| format!("dev PKI in {}", dir.display()))
}

/// `hamn audit verify`: walks the audit chain in the configured database (without
/// migrating it) and prints what it found. Exit code 2 when a link is broken.
pub async fn audit_verify(settings: &Settings) -> anyhow::Result<std::process::ExitCode> {
    let database = Database::connect(&database_config(settings))
        .await
        .context("database")?;
    let result = async {
        let mut conn = database.acquire().await?;
        hamn_broker::repo::audit::verify(&mut conn).await
    }
    .await
    .context("audit chain (is the database migrated? `hamn migrate`)");
    database.close().await;
    let verified = result?;
    let head = &verified.head;
    match &verified.broken {
        None => {
            // The head's hash, recorded outside the database (a log, a ticket), lets a later
            // run prove that nobody rewrote the whole chain since.
            println!(
                "audit chain intact: {} event(s), #{}..#{} (anchor #{}), head hash {}; \
                 {} newer event(s) waiting to be sealed",
                verified.events,
                head.anchor_seq + 1,
                head.seq,
                head.anchor_seq,
                head.hash,
                verified.pending
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        Some(broken) => {
            println!(
                "audit chain BROKEN after {} intact event(s): {broken}",
                verified.events
            );
            Ok(std::process::ExitCode::from(2))
        }
    }
}

/// `hamn audit export`: every event matching `from`..`to` to standard output, newest first,
/// page by page, as the API's export writes them; then the export is audited.
pub async fn audit_export(
    settings: &Settings,
    format: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> anyhow::Result<()> {
    use std::io::Write as _;

    use hamn_broker::api::handlers::audit::{CSV_HEADER, push_csv};
    use hamn_broker::model::{AuditFilter, Page, PageRequest};

    let parse = |flag: &str, value: Option<&str>| {
        value
            .map(|v| {
                time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                    .with_context(|| format!("--{flag} {v:?}: not an RFC 3339 time"))
            })
            .transpose()
    };
    let filter = AuditFilter {
        from: parse("from", from)?,
        to: parse("to", to)?,
        ..AuditFilter::default()
    };
    let csv = format == "csv";
    let database = Database::connect(&database_config(settings))
        .await
        .context("database")?;
    let result = async {
        let mut conn = database.acquire().await?;
        let mut stdout = std::io::stdout().lock();
        let mut out = String::new();
        if csv {
            hamn_broker::api::export::push_csv_line(&mut out, CSV_HEADER);
        }
        let mut rows: u64 = 0;
        let mut cursor = None;
        loop {
            let page = PageRequest {
                limit: hamn_broker::model::page::MAX_LIMIT,
                cursor,
            };
            let Page { items, next_cursor } =
                hamn_broker::repo::audit::list(&mut conn, &filter, page).await?;
            for e in &items {
                if csv {
                    push_csv(&mut out, e);
                } else {
                    out.push_str(&serde_json::to_string(e)?);
                    out.push('\n');
                }
            }
            rows += items.len() as u64;
            stdout.write_all(out.as_bytes())?;
            out.clear();
            match next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        stdout.flush()?;
        let event = hamn_broker::model::NewAuditEvent {
            tenant_id: None,
            actor_kind: hamn_broker::model::ActorKind::System,
            actor_id: None,
            actor_name: "hamn audit export".to_owned(),
            action: "audit.export".to_owned(),
            target_type: Some("audit_log".to_owned()),
            target_id: Some("all".to_owned()),
            outcome: hamn_broker::model::AuditOutcome::Success,
            source_address: None,
            before: None,
            after: Some(serde_json::json!({
                "format": format, "rows": rows, "filter": { "from": from, "to": to },
            })),
            detail: Some("local export from the database".to_owned()),
        };
        hamn_broker::repo::audit::insert(&mut conn, &event).await?;
        // No broker's sealer runs in this process: chain the record before leaving.
        hamn_broker::repo::audit::seal_all(&mut conn).await?;
        anyhow::Ok(())
    }
    .await;
    database.close().await;
    result
}

/// Connects to the database and applies pending migrations.
pub async fn migrate(settings: &Settings) -> anyhow::Result<Database> {
    if settings.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("cannot create {}", settings.data_dir.display()))?;
    }
    let database = Database::connect(&database_config(settings))
        .await
        .context("database")?;
    database.migrate().await.context("migrations")?;
    Ok(database)
}

/// `hamn backup`: an online, verified copy of the SQLite database at `to`. Opens the
/// existing file only (`mode=rw`): backing up must never create an empty database.
pub async fn backup(
    settings: &Settings,
    to: &Path,
    force: bool,
) -> anyhow::Result<hamn_broker::db::backup::BackupReport> {
    if !settings.database_url.starts_with("sqlite:") {
        return Err(hamn_broker::db::backup::BackupError::Postgres.into());
    }
    let mut config = database_config(settings);
    config.url = config.url.replace("mode=rwc", "mode=rw");
    config.max_connections = 1;
    let database = Database::connect(&config)
        .await
        .context("opening the database to back up")?;
    let report = hamn_broker::db::backup::backup_sqlite(&database, to, force).await;
    database.close().await;
    Ok(report?)
}

/// The key sealing host credentials: as configured, else (for `hamn up` only) the one in
/// the data dir, created when missing. A standalone broker never invents a key: brokers of
/// one installation must share it.
fn secrets_key(
    settings: &Settings,
    which: Which,
) -> anyhow::Result<Option<hamn_broker::SecretsKey>> {
    let configured = settings.broker_secrets.load(&settings.data_dir)?;
    match (configured, which) {
        (Some(key), _) => Ok(Some(key)),
        (None, Which::All) => Ok(Some(hamn_broker::load_or_create_secrets_key(
            &settings.data_dir,
        )?)),
        (None, Which::Broker) => {
            tracing::warn!(
                "no broker.secrets_key configured: host credentials cannot be stored or used"
            );
            Ok(None)
        }
        (None, _) => Ok(None),
    }
}

/// Points the demo tenant at the demo IdP (`gateway.demo_idp`): its metadata, made from the
/// key pair the gateway will sign with, stored like a real tenant's IdP.
async fn seed_demo_saml(
    database: &hamn_broker::db::Database,
    public_url: &str,
    key: &std::path::Path,
    cert: &std::path::Path,
) -> anyhow::Result<()> {
    use hamn_broker::saml::demo_idp::{DemoIdpUrls, idp_metadata};
    let idp = hamn_broker::saml::SpCredentials::load(key, cert).context("demo IdP key pair")?;
    let public_url = public_url.trim_end_matches('/');
    let metadata = idp_metadata(&DemoIdpUrls::new(public_url), &idp.cert_der);
    let sp = hamn_broker::saml::SpUrls::new(public_url, hamn_broker::seed::DEMO_TENANT_SLUG);
    hamn_broker::seed::demo_saml(database, &metadata, &sp.metadata)
        .await
        .context("pointing the demo tenant at the demo IdP")?;
    Ok(())
}

/// The metrics listener of this process, bound (a taken address fails the start): one
/// registry counts for every service the process runs, and the session gauge reads the
/// database through a pool of its own, so a scrape never waits behind a service's work.
async fn metrics(
    settings: &Settings,
    listen: std::net::SocketAddr,
    shutdown: CancellationToken,
) -> anyhow::Result<impl std::future::Future<Output = anyhow::Result<()>> + use<>> {
    if !listen.ip().is_loopback() {
        tracing::warn!(%listen, "metrics.listen is not a loopback address: /metrics has no authentication; keep it on a management network");
    }
    let config = DatabaseConfig {
        max_connections: settings.database_max_connections.min(2),
        ..database_config(settings)
    };
    let database = Database::connect(&config)
        .await
        .context("database for metrics")?;
    let (_, serve) = hamn_broker::metrics::bind(listen, &settings.tls, database, shutdown).await?;
    Ok(async move { serve.await.map_err(anyhow::Error::from) })
}

/// Cancels `shutdown` on SIGTERM or SIGINT.
pub fn cancel_on_signal(shutdown: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
            _ = shutdown.cancelled() => return,
        }
        shutdown.cancel();
    });
    Ok(())
}

/// On SIGHUP: every certificate, CA bundle and CRL holder re-reads its files now
/// ([`hamn_certs::reload::request`]) — established connections keep their session, new
/// handshakes get the new certificate. The configuration file itself is read at start only;
/// check a new one with `hamn config check` and restart (a gateway drains first).
pub fn reload_on_hangup(shutdown: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                received = hup.recv() => {
                    if received.is_none() {
                        return;
                    }
                    tracing::info!("SIGHUP: reloading certificates, CA bundles and CRLs");
                    hamn_certs::reload::request();
                }
                () = shutdown.cancelled() => return,
            }
        }
    });
    Ok(())
}

/// Which services a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    All,
    Broker,
    Gateway,
    Print,
}

/// Runs the chosen services until a signal or the first failure; on failure the others
/// are shut down too and the error is returned.
pub async fn run(settings: Settings, which: Which) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone())?;
    reload_on_hangup(shutdown.clone())?;

    if which == Which::All {
        init_certs(&settings)?;
    }
    let secrets_key = secrets_key(&settings, which)?;
    if matches!(which, Which::All | Which::Broker) {
        let database = migrate(&settings).await?;
        if let (true, Some(demo)) = (settings.demo_seed, &settings.demo_host) {
            let seed = hamn_broker::seed::DemoSeed {
                host_address: demo.listen.ip().to_string(),
                host_port: demo.listen.port(),
                host_username: demo.username.clone(),
                host_password: hamn_broker::Secret::new(demo.password.clone()),
                secrets_key: secrets_key.clone(),
                ..Default::default()
            };
            hamn_broker::seed::demo(&database, seed)
                .await
                .context("seeding the demo tenant")?;
            if let Some((key, cert)) = &settings.gateway_demo_idp {
                seed_demo_saml(&database, &settings.gateway_public_url, key, cert).await?;
            }
        }
        database.close().await;
    }
    let demo_host = match (&settings.demo_host, which) {
        (Some(demo), Which::All) => Some(crate::demo_host::start(demo, &settings.tls).await?),
        _ => None,
    };

    let mut services = JoinSet::new();
    if matches!(which, Which::All | Which::Broker) {
        let config = hamn_broker::BrokerConfig {
            secrets_key: secrets_key.clone(),
            ..broker_config(&settings)
        };
        let token = shutdown.clone();
        services.spawn(async move { hamn_broker::run(config, token).await.context("broker") });
    }
    if matches!(which, Which::All | Which::Gateway) {
        let keys = if which == Which::All {
            // The broker signs launch tickets with this key; the gateway verifies them with
            // its public half in the data dir.
            Some(
                hamn_broker::TicketKeys::load_or_create(&settings.data_dir)
                    .context("ticket signing key")?,
            )
        } else {
            None
        };
        let issuer = portal_issuer(&settings, keys)?;
        let config = gateway_config(&settings, secrets_key.clone(), issuer);
        let token = shutdown.clone();
        services.spawn(async move { hamn_gateway::run(config, token).await.context("gateway") });
    }
    if matches!(which, Which::All | Which::Print) {
        let (config, token) = (print_config(&settings), shutdown.clone());
        services.spawn(async move {
            hamn_print::run(config, token)
                .await
                .context("print service")
        });
    }
    if let Some(listen) = settings.metrics_listen {
        let serve = metrics(&settings, listen, shutdown.clone()).await?;
        services.spawn(async move { serve.await.context("metrics") });
    }
    if which == Which::All {
        println!("Hamn is running. Portal: {}", settings.gateway_public_url);
        if let Some(siths) = &settings.gateway_siths {
            println!(
                "SITHS card login: {}/siths/login (test cards in {})",
                siths.public_url,
                settings.data_dir.join("certs").display()
            );
        }
        if settings.gateway_demo_idp.is_some() {
            println!(
                "SAML login through the demo IdP: {}/saml/{}/login",
                settings.gateway_public_url.trim_end_matches('/'),
                hamn_broker::seed::DEMO_TENANT_SLUG
            );
        }
        println!(
            "Admin API: https://{} (client certificate {})",
            settings.broker_listen,
            settings.data_dir.join("certs/api-operator.crt").display()
        );
    }

    let mut outcome = Ok(());
    while let Some(joined) = services.join_next().await {
        let result = joined.context("service task panicked").and_then(|r| r);
        if let Err(error) = result {
            tracing::error!("{error:#}");
            if outcome.is_ok() {
                outcome = Err(error);
            }
        }
        // One service ending (error or not) ends the process: a half-running Hamn misleads.
        shutdown.cancel();
    }
    if let Some(host) = demo_host {
        host.stop().await;
    }
    tracing::info!("stopped");
    outcome
}

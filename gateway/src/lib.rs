//! The gateway: Hamn's TLS front door. Serves the portal (the web client and, with a login
//! method on, its API under `/portal/api/`), the health endpoints and browser sessions
//! (`/ws/session`, [`session`]) and native RDP clients ([`native`]: the RD Gateway at
//! `/remoteDesktopGateway/`, whose MS-TSGU protocol is [`rdg`], and FreeRDP 3's websocket
//! transport at `/wst/`).
//!
//! [`run`] is the service's one entry: it binds its listeners and serves until the shutdown
//! token is cancelled (SIGTERM). Then it drains: `/readyz` answers 503 at once so a load
//! balancer moves away, new websockets and native tunnels are refused, live sessions get
//! up to `drain_deadline` ([`session::SessionConfig::drain_deadline`]) to end by
//! themselves, and the rest are closed with 4110 GatewayDraining and left disconnected on
//! their hosts — the viewer launches again through another gateway and roaming lands it
//! on the same host session. Every node also listens for the other nodes' events
//! ([`hamn_broker::session_control::listen`], PostgreSQL LISTEN/NOTIFY).

pub mod display;
mod headers;
pub mod native;
mod portal;
pub mod print;
pub mod rdg;
pub mod rdp;
mod redirect;
pub mod session;
mod status;
pub mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hamn_broker::db::{Database, DatabaseConfig};
use hamn_broker::ticket::{KeyError, TicketVerifier, keys::PUBLIC_KEY_FILE};
use hamn_broker::{SecretsKey, TicketIssuer, WebSessionPolicy};
use hamn_certs::ServerCertFiles;
use tokio_util::sync::CancellationToken;

pub use portal::{
    ATTEMPT_COOKIE, CSRF_HEADER, DemoIdp, PortalAccess, PortalApi, PortalState, SESSION_COOKIE,
    SamlLogin, SithsLogin, SithsRefusal, csrf_exempt, demo_idp_router, hsa_id_of, is_hsa_id,
    origin_of, rdp_file, rdp_sign, router, saml_router, siths_router,
};

/// How long a stopping gateway waits for its sessions to close and record their end.
const SESSION_DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// What the gateway needs to run.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The HTTPS listener for the portal and sessions.
    pub listen: SocketAddr,
    /// The URL users reach the portal at (redirect target).
    pub public_url: String,
    /// A plaintext listener that only redirects to `public_url`.
    pub redirect_listen: Option<SocketAddr>,
    pub tls: ServerCertFiles,
    pub database: DatabaseConfig,
    /// Holds `ticket_signing_key.pub`, the broker's ticket verification key(s).
    pub data_dir: PathBuf,
    /// Opens the pools' host credentials. Without it (or without the public key file)
    /// browser sessions are off and `/ws/session` answers 503.
    pub secrets_key: Option<SecretsKey>,
    pub session: session::SessionConfig,
    /// Signs the portal's launch tickets (the broker's key, from the shared data dir). The
    /// portal API exists only with it and a login method on; `None`: `/portal/api/*`
    /// answers 404 and the SITHS listener stays off.
    pub ticket_issuer: Option<TicketIssuer>,
    /// The portal's demo login (`gateway.demo_login`): a user logs in by name alone.
    pub demo_login: bool,
    /// SITHS smart-card login on its own listener (`gateway.siths_listen`).
    pub siths: Option<SithsConfig>,
    /// Lifetimes of the portal's web sessions.
    pub web_sessions: WebSessionPolicy,
    /// The lowest level of assurance (1 to 4) a web session needs to launch an app
    /// (`gateway.launch_min_loa`); `None`: any login may launch.
    pub launch_min_loa: Option<u8>,
    /// The SAML service provider (`gateway.saml`): the SP key pair; tenants configure their
    /// IdP in the database. Needs the portal API (a ticket issuer).
    pub saml: Option<SamlConfig>,
    /// The demo IdP (`gateway.demo_idp`): only with `demo_login` (a demo gateway on
    /// loopback); [`run`] refuses to start otherwise.
    pub demo_idp: Option<DemoIdpConfig>,
    /// The certificate that signs `.rdp` files (`gateway.rdp_signing_cert` and
    /// `gateway.rdp_signing_key`); `None`: files go out unsigned.
    pub rdp_signing: Option<RdpSigningConfig>,
    /// `print.data_dir`: the print service's PDFs, served to their owners by the portal.
    pub print_data_dir: PathBuf,
    /// `print.public_url`: the base of the per-session printer URIs `/api/v1` hands out on
    /// the portal origin; `None`: that route answers 503.
    pub print_public_url: Option<String>,
    /// Availability sampling for the status page (`gateway.availability_interval`); every
    /// node samples, their rows agree. `None`: this node does not sample.
    pub availability: Option<hamn_broker::status::SamplerConfig>,
}

/// The `.rdp` signing certificate (PEM, leaf first, then its chain) and its key (PEM).
#[derive(Debug, Clone)]
pub struct RdpSigningConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The demo IdP's key pair files (`gateway.demo_idp_key`, `gateway.demo_idp_cert`; RSA).
#[derive(Debug, Clone)]
pub struct DemoIdpConfig {
    pub key: PathBuf,
    pub cert: PathBuf,
}

/// The SP key pair files (`gateway.saml_sp_key`, `gateway.saml_sp_cert`; RSA).
#[derive(Debug, Clone)]
pub struct SamlConfig {
    pub sp_key: PathBuf,
    pub sp_cert: PathBuf,
}

/// The SITHS listener: the only one that asks browsers for a client certificate.
#[derive(Debug, Clone)]
pub struct SithsConfig {
    pub listen: SocketAddr,
    /// PEM bundle of the SITHS CAs whose cards may log in (`gateway.siths_ca`).
    pub ca_bundle: PathBuf,
    /// The listener's URL as browsers reach it (the login link is this + `/siths/login`).
    pub public_url: String,
    /// CRL files of the SITHS CAs (`gateway.siths_crl`), DER or PEM.
    pub crl: Vec<PathBuf>,
    /// Every CRL is re-read this often (`gateway.siths_crl_refresh`); changed files sooner.
    pub crl_refresh: std::time::Duration,
    /// `Require`: no current CRL for a card's CA refuses the card (`gateway.siths_revocation`).
    pub revocation: hamn_certs::RevocationPolicy,
    /// `Require`: a card that names an OCSP responder is refused without a good answer
    /// from it (`gateway.siths_ocsp`).
    pub ocsp: hamn_certs::OcspPolicy,
    /// Longest wait for an OCSP responder (`gateway.siths_ocsp_timeout`).
    pub ocsp_timeout: std::time::Duration,
    /// Level of assurance by issuing CA commonName (`gateway.siths_loa`).
    pub loa_by_ca: std::collections::HashMap<String, u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] hamn_certs::ServerTlsError),
    #[error(transparent)]
    Database(#[from] hamn_broker::db::DbError),
    #[error("ticket verification key: {0}")]
    TicketKey(#[from] KeyError),
    #[error("listener failed: {0}")]
    Serve(std::io::Error),
    #[error("SAML SP key: {0}")]
    SamlKey(#[from] hamn_broker::saml::sp::SpKeyError),
    #[error(
        "gateway.demo_idp signs logins for anyone who asks; it only runs in the demo \
         configuration (gateway.demo_login on)"
    )]
    DemoIdpOutsideDemo,
    #[error(".rdp signing certificate: {0}")]
    RdpSigning(#[from] portal::rdp_sign::RdpSignError),
}

/// Runs the gateway until `shutdown` is cancelled.
pub async fn run(config: GatewayConfig, shutdown: CancellationToken) -> Result<(), GatewayError> {
    // Before anything listens: an IdP that logs anyone in must never run outside a demo.
    if config.demo_idp.is_some() && !config.demo_login {
        return Err(GatewayError::DemoIdpOutsideDemo);
    }
    let database = Database::connect(&config.database).await?;
    if let Some(sampler) = config.availability {
        tokio::spawn(hamn_broker::status::run_sampler(
            database.clone(),
            sampler,
            shutdown.child_token(),
        ));
    }
    let tls = hamn_certs::server::server_config(&config.tls)?;
    let listener = bind(config.listen).await?;
    tracing::info!(addr = %config.listen, url = %config.public_url, "gateway listening");

    let redirect = match config.redirect_listen {
        Some(addr) => {
            let listener = bind(addr).await?;
            tracing::info!(%addr, "plaintext redirect listening");
            Some(tokio::spawn(redirect::serve(
                listener,
                config.public_url.clone(),
                shutdown.clone(),
            )))
        }
        None => None,
    };

    let rdp_signer = match &config.rdp_signing {
        Some(signing) => Some(Arc::new(portal::rdp_sign::RdpSigner::load(
            &signing.cert,
            &signing.key,
        )?)),
        None => None,
    };
    // Sessions stop when the drain ends, not at the signal.
    let session_stop = CancellationToken::new();
    let sessions = session_service(&config, &database, session_stop.clone())?;
    if sessions.is_some() {
        // Other nodes' commands for sessions here arrive at once, not at the next poll.
        tokio::spawn(hamn_broker::session_control::listen(
            config.database.url.clone(),
            shutdown.child_token(),
        ));
    }
    let login_on = config.demo_login || config.siths.is_some() || config.saml.is_some();
    let api = config
        .ticket_issuer
        .clone()
        .filter(|_| login_on)
        .map(|issuer| {
            if config.demo_login {
                tracing::warn!(
                    "demo login is on: anyone who reaches the portal can log in as any entitled \
                     user by name alone; never use this in production"
                );
            }
            Arc::new(PortalApi {
                database: database.clone(),
                issuer,
                origin: origin_of(&config.public_url),
                web_sessions: config.web_sessions,
                demo_login: config.demo_login,
                siths_login_url: config
                    .siths
                    .as_ref()
                    .map(|s| format!("{}/siths/login", s.public_url.trim_end_matches('/'))),
                launch_min_loa: config.launch_min_loa,
                access: PortalAccess {
                    secrets_key: config.secrets_key.clone(),
                    ..PortalAccess::default()
                },
                saml: config.saml.is_some(),
                rdp_signer: rdp_signer.clone(),
                print_data_dir: config.print_data_dir.clone(),
                print_public_url: config.print_public_url.clone(),
            })
        });
    let siths = match (&config.siths, &api) {
        (Some(siths), Some(api)) => Some(siths_listener(&config, siths, api, &shutdown).await?),
        (Some(_), None) => {
            tracing::warn!(
                "gateway.siths_listen is set but there is no ticket signing key: SITHS login is off"
            );
            None
        }
        _ => None,
    };
    let saml = match (&config.saml, &api) {
        (Some(saml), Some(api)) => Some(Arc::new(SamlLogin {
            api: api.clone(),
            sp: hamn_broker::saml::SpCredentials::load(&saml.sp_key, &saml.sp_cert)?,
            public_url: config.public_url.trim_end_matches('/').to_owned(),
        })),
        (Some(_), None) => {
            tracing::warn!("gateway.saml is on but there is no ticket signing key: SAML is off");
            None
        }
        _ => None,
    };
    let mut app = router(PortalState {
        database,
        sessions: sessions.clone(),
        api,
    });
    if let Some(saml) = saml {
        app = app.merge(saml_router(saml));
    }
    if let Some(demo) = &config.demo_idp {
        let idp = DemoIdp {
            credentials: hamn_broker::saml::SpCredentials::load(&demo.key, &demo.cert)?,
            public_url: config.public_url.trim_end_matches('/').to_owned(),
        };
        tracing::warn!(
            url = %idp.urls().sso,
            "demo IdP is on: it logs anyone in as a demo user; never use this in production"
        );
        app = app.merge(demo_idp_router(Arc::new(idp)));
    }
    let draining = Draining::default();
    app = app.layer(axum::middleware::from_fn_with_state(
        draining.clone(),
        drain_guard,
    ));
    // The listener keeps serving through the drain (a load balancer's health check must
    // see the 503); it stops when the drain is over.
    let listener_stop = CancellationToken::new();
    let mut serve = tokio::spawn(hamn_certs::serve(listener, tls, app, listener_stop.clone()));
    let failed = tokio::select! {
        () = shutdown.cancelled() => None,
        joined = &mut serve => Some(joined),
    };
    if failed.is_none() {
        drain(&draining, sessions.as_ref(), config.session.drain_deadline).await;
    }
    shutdown.cancel();
    session_stop.cancel();
    // Websockets outlive the HTTP server: give every session its close and its
    // bookkeeping (disconnected, for roaming) before the process goes.
    if let Some(sessions) = &sessions
        && !sessions.drained(SESSION_DRAIN).await
    {
        tracing::warn!(
            live = sessions.registry.len(),
            "sessions still open at shutdown"
        );
    }
    listener_stop.cancel();
    let joined = match failed {
        Some(joined) => joined,
        None => serve.await,
    };
    let served = joined.unwrap_or_else(|error| Err(std::io::Error::other(error)));
    if let Some(task) = siths
        && let Ok(Err(error)) = task.await
    {
        tracing::warn!(%error, "SITHS listener failed");
    }
    if let Some(task) = redirect {
        // The redirect only answers with a Location; its failure must not mask the main one.
        if let Ok(Err(error)) = task.await {
            tracing::warn!(%error, "redirect listener failed");
        }
    }
    served.map_err(GatewayError::Serve)
}

/// Whether this gateway is draining: shared by the drain and [`drain_guard`].
#[derive(Debug, Clone, Default)]
struct Draining(Arc<AtomicBool>);

impl Draining {
    fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn on(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The drain: from now on `/readyz` answers 503 and no new session or tunnel starts; the
/// live sessions get `deadline` to end by themselves (the caller then closes the rest
/// with 4110).
async fn drain(
    draining: &Draining,
    sessions: Option<&Arc<session::SessionService>>,
    deadline: std::time::Duration,
) {
    draining.start();
    let live = sessions.map_or(0, |s| s.registry.len());
    tracing::info!(
        live,
        deadline_s = deadline.as_secs(),
        "draining: /readyz answers 503, new sessions go elsewhere"
    );
    if let Some(sessions) = sessions
        && !sessions.drained(deadline).await
    {
        tracing::info!(
            live = sessions.registry.len(),
            "drain deadline passed: telling browsers to reconnect elsewhere (4110)"
        );
    }
}

/// While draining: `/readyz` answers 503 (the load balancer's cue) and new browser
/// websockets and native tunnels are refused with 503, so they go to another gateway.
/// Everything else (the portal, its API) is still served.
async fn drain_guard(
    axum::extract::State(draining): axum::extract::State<Draining>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if draining.on() {
        let path = request.uri().path();
        let refused = path == "/readyz"
            || path == "/ws/session"
            || path.starts_with("/remoteDesktopGateway")
            || path.starts_with("/wst")
            || path.eq_ignore_ascii_case(native::RPC_PATH);
        if refused {
            return (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                [(axum::http::header::RETRY_AFTER, "1")],
                "draining: this gateway is stopping\n",
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// Binds the SITHS listener and serves card logins on it until shutdown.
async fn siths_listener(
    config: &GatewayConfig,
    siths: &SithsConfig,
    api: &Arc<PortalApi>,
    shutdown: &CancellationToken,
) -> Result<tokio::task::JoinHandle<std::io::Result<()>>, GatewayError> {
    let revocation = Arc::new(hamn_certs::Revocation::new(
        siths.revocation,
        &siths.ca_bundle,
        siths.crl.clone(),
    )?);
    tokio::spawn(revocation.clone().watch(
        siths.crl_refresh,
        hamn_certs::crl::CHANGE_POLL,
        shutdown.clone(),
    ));
    let ocsp = Arc::new(hamn_certs::OcspChecker::new(
        siths.ocsp,
        &siths.ca_bundle,
        siths.ocsp_timeout,
    )?);
    let verifier = hamn_certs::ClientCertVerifier::from_ca_pem_file(&siths.ca_bundle)?
        .with_revocation(revocation)
        .with_ocsp(ocsp);
    let tls =
        hamn_certs::server::server_config_requesting_client_cert(&config.tls, &siths.ca_bundle)?;
    let listener = bind(siths.listen).await?;
    tracing::info!(addr = %siths.listen, url = %siths.public_url, "SITHS card login listening");
    let app = siths_router(Arc::new(SithsLogin {
        api: api.clone(),
        verifier,
        portal_url: config.public_url.clone(),
        loa_by_ca: siths.loa_by_ca.clone(),
    }));
    Ok(tokio::spawn(hamn_certs::serve(
        listener,
        tls,
        app,
        shutdown.clone(),
    )))
}

/// The session endpoint's state, when both the ticket public key and the secrets key exist.
fn session_service(
    config: &GatewayConfig,
    database: &Database,
    shutdown: CancellationToken,
) -> Result<session::Sessions, GatewayError> {
    let public_key = config.data_dir.join(PUBLIC_KEY_FILE);
    let Some(secrets) = config.secrets_key.clone() else {
        tracing::warn!("no secrets key: browser sessions are off");
        return Ok(None);
    };
    if !public_key.is_file() {
        tracing::warn!(path = %public_key.display(), "no ticket public key: browser sessions are off");
        return Ok(None);
    }
    let verifier = TicketVerifier::from_public_key_files(&[public_key])?;
    Ok(Some(Arc::new(session::SessionService::new(
        database.clone(),
        verifier,
        secrets,
        config.session.clone(),
        shutdown,
    ))))
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, GatewayError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| GatewayError::Bind { addr, source })
}

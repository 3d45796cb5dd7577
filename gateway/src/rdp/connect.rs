//! The connection sequence: TCP, X.224 negotiation, TLS under the certificate policy,
//! NLA (CredSSP/NTLM) when the host wants it, licensing and capability exchange, then a short
//! logon phase that catches hosts which accept the connection but refuse the user.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ironrdp_cliprdr::CliprdrClient;
use ironrdp_connector::credssp::CredsspSequence;
use ironrdp_connector::sspi::generator::NetworkRequest;
use ironrdp_connector::{
    ClientConnector, ClientConnectorState, ConnectionOutcome, ConnectorErrorExt as _, ServerName,
};
use ironrdp_core::WriteBuf;
use ironrdp_displaycontrol::client::DisplayControlClient;
use ironrdp_dvc::DrdynvcClient;
use ironrdp_graphics::image_processing::PixelFormat;
use ironrdp_pdu::rdp::capability_sets::InputFlags;
use ironrdp_session::ActiveStageBuilder;
use ironrdp_session::image::DecodedImage;
use ironrdp_tokio::TokioFramed;
use tokio::net::TcpStream;

use ironrdp_rdpdr::{Rdpdr, RdpdrPrinter};
use ironrdp_rdpsnd::client::{NoopRdpsndBackend, Rdpsnd};

use super::clipboard::QueueBackend;
use super::config::{LogonCheck, RdpParams, connector_config};
use super::error::{Phase, RdpError};
use super::input::InputState;
use super::link::{HostStream, Link, LinkClipboard};
use super::logon::{LogonJudge, Verdict};
use super::printer::{IrpQueue, PRINTER_DEVICE_ID, PrinterRunner};
use super::session::{Counters, RdpSession};

/// How long to watch for a hang-up after an undecodable PDU at logon.
const HANGUP_WAIT: Duration = Duration::from_secs(2);

/// Connects to the host and returns a session that is active and logged on, with the first
/// picture already decoded. Never logs the password.
pub async fn connect(params: RdpParams) -> Result<RdpSession, RdpError> {
    connect_with(params, None).await
}

/// [`connect`] over a byte stream the caller opened (`client_addr`: the local address the
/// host is told about) instead of a TCP connection to `params.host`. `params.host` still
/// names the host for TLS and NLA.
pub async fn connect_over(
    params: RdpParams,
    stream: HostStream,
    client_addr: SocketAddr,
) -> Result<RdpSession, RdpError> {
    connect_with(params, Some((stream, client_addr))).await
}

async fn connect_with(
    params: RdpParams,
    stream: Option<(HostStream, SocketAddr)>,
) -> Result<RdpSession, RdpError> {
    params.validate()?;
    let started = Instant::now();
    let phase = Mutex::new(Phase::Tcp);
    let sequence = tokio::time::timeout(
        params.connect_timeout,
        connect_sequence(&params, &phase, stream),
    )
    .await;
    let mut link = match sequence {
        Ok(result) => result?,
        Err(_) => {
            let phase = phase.lock().map(|p| *p).unwrap_or(Phase::Tcp);
            return Err(RdpError::Timeout {
                phase,
                after: params.connect_timeout,
            });
        }
    };
    let activated_in = started.elapsed();
    logon_phase(&mut link, params.logon_check).await?;
    let (width, height) = link.desktop_size();
    tracing::info!(
        host = %params.host,
        port = params.port,
        user = %params.credentials.username,
        width,
        height,
        activated_ms = activated_in.as_millis() as u64,
        logged_on_ms = started.elapsed().as_millis() as u64,
        "RDP session connected"
    );
    Ok(RdpSession::new(link, started.elapsed()))
}

/// The TCP connection to `params.host`.
async fn dial(params: &RdpParams) -> Result<(HostStream, SocketAddr), RdpError> {
    let addr = format!("{}:{}", params.host, params.port);
    let tcp = TcpStream::connect((params.host.as_str(), params.port))
        .await
        .map_err(|source| RdpError::HostUnreachable {
            addr: addr.clone(),
            source,
        })?;
    tcp.set_nodelay(true).ok();
    let client_addr = tcp
        .local_addr()
        .map_err(|source| RdpError::HostUnreachable { addr, source })?;
    Ok((HostStream::Tcp(tcp), client_addr))
}

fn set_phase(cell: &Mutex<Phase>, phase: Phase) {
    if let Ok(mut p) = cell.lock() {
        *p = phase;
    }
}

async fn connect_sequence(
    params: &RdpParams,
    phase: &Mutex<Phase>,
    stream: Option<(HostStream, SocketAddr)>,
) -> Result<Link, RdpError> {
    let (tcp, client_addr) = match stream {
        Some(given) => given,
        None => dial(params).await?,
    };

    let drdynvc =
        DrdynvcClient::new().with_dynamic_channel(DisplayControlClient::new(|_| Ok(Vec::new())));
    let mut connector =
        ClientConnector::new(connector_config(params)?, client_addr).with_static_channel(drdynvc);
    if params.clipboard.is_some() {
        // Offered only when the pool allows it: a host never sees a channel it may not use.
        connector.attach_static_channel(CliprdrClient::new(Box::new(QueueBackend::default())));
    }
    if let Some(printer) = &params.printer {
        let printer_device = RdpdrPrinter::new(
            PRINTER_DEVICE_ID,
            printer.name.clone(),
            printer.driver.windows_name().to_owned(),
        )
        .with_network(false)
        .with_default(true)
        .with_explicit_driver(true);
        connector.attach_static_channel(
            Rdpdr::new(Box::new(IrpQueue::default()), params.client_name.clone())
                .with_redirected_printer(printer_device),
        );
        // Windows redirects devices only to a client that also takes audio.
        connector.attach_static_channel(Rdpsnd::new(Box::new(NoopRdpsndBackend)));
    }

    set_phase(phase, Phase::Negotiation);
    let mut framed = TokioFramed::new(tcp);
    let should_upgrade = ironrdp_tokio::connect_begin(&mut framed, &mut connector)
        .await
        .map_err(|e| RdpError::from_connector(Phase::Negotiation, e))?;

    set_phase(phase, Phase::Tls);
    let (tcp, leftover) = framed.into_inner();
    let (tls, server_public_key) =
        super::tls::upgrade(tcp, &params.host, &params.cert_policy).await?;
    let upgraded = ironrdp_tokio::mark_as_upgraded(should_upgrade, &mut connector);
    let mut framed = TokioFramed::new_with_leftover(tls, leftover);

    let server_name = ServerName::new(params.host.clone());
    if connector.should_perform_credssp() {
        set_phase(phase, Phase::Nla);
        credssp(
            &mut connector,
            &mut framed,
            server_name.clone(),
            server_public_key.clone(),
        )
        .await?;
    }

    set_phase(phase, Phase::Activation);
    let outcome = ironrdp_tokio::connect_finalize(
        upgraded,
        connector,
        &mut framed,
        &mut NoNetwork,
        server_name,
        server_public_key,
        None,
    )
    .await
    .map_err(|e| RdpError::from_connector(Phase::Activation, e))?;
    let result = match outcome {
        ConnectionOutcome::Connected(result) => result,
        ConnectionOutcome::Redirected(_) => return Err(RdpError::Redirected),
    };

    let fastpath_input = result
        .input_flags
        .intersects(InputFlags::FASTPATH_INPUT | InputFlags::FASTPATH_INPUT_2);
    let desktop = result.desktop_size;
    let clipboard = params.clipboard.map(|policy| {
        let channel_id = result
            .static_channels
            .get_channel_id_by_type::<CliprdrClient>();
        if channel_id.is_none() {
            tracing::info!(host = %params.host, "the host did not join the clipboard channel");
        }
        LinkClipboard::new(policy, channel_id)
    });
    let (printer, print_completions) = match params.printer.clone() {
        Some(printer) => {
            let (mut runner, completions) = PrinterRunner::new(printer);
            runner.set_channel(result.static_channels.get_channel_id_by_type::<Rdpdr>());
            (Some(runner), Some(completions))
        }
        None => (None, None),
    };
    let stage = ActiveStageBuilder {
        static_channels: result.static_channels,
        user_channel_id: result.user_channel_id,
        io_channel_id: result.io_channel_id,
        message_channel_id: result.message_channel_id,
        share_id: result.share_id,
        compression_type: result.compression_type,
        enable_server_pointer: result.enable_server_pointer,
        pointer_software_rendering: result.pointer_software_rendering,
    }
    .build();
    set_phase(phase, Phase::Logon);
    Ok(Link {
        framed,
        stage,
        image: DecodedImage::new(PixelFormat::RgbA32, desktop.width, desktop.height),
        activation: result.activation_factory,
        input: InputState::new(desktop.width, desktop.height),
        counters: Arc::new(Counters::default()),
        last_pointer: None,
        fastpath_input,
        deferred: Default::default(),
        clipboard,
        printer,
        print_completions,
    })
}

/// CredSSP run here rather than inside `connect_finalize` so its failures are known to be
/// NLA failures (a refused password shows up as a hang-up or an NTSTATUS).
async fn credssp(
    connector: &mut ClientConnector,
    framed: &mut super::link::Transport,
    server_name: ServerName,
    server_public_key: Vec<u8>,
) -> Result<(), RdpError> {
    let ClientConnectorState::Credssp { selected_protocol } = connector.state else {
        return Err(RdpError::Protocol {
            phase: Phase::Nla,
            detail: "connector is not in the CredSSP state".to_owned(),
        });
    };
    let (sequence, ts_request) = CredsspSequence::init(
        connector.config.credentials.clone(),
        connector.config.domain.as_deref(),
        selected_protocol,
        server_name,
        server_public_key,
        None,
    )
    .map_err(|e| RdpError::from_connector(Phase::Nla, e))?;
    let mut buf = WriteBuf::new();
    ironrdp_tokio::perform_credssp(framed, &mut NoNetwork, &mut buf, sequence, ts_request)
        .await
        .map_err(|e| RdpError::from_connector(Phase::Nla, e))?;
    connector.mark_credssp_as_done();
    Ok(())
}

/// Reads frames after activation until the [`LogonJudge`] says the host accepted the user.
async fn logon_phase(link: &mut Link, check: LogonCheck) -> Result<(), RdpError> {
    let (width, height) = link.desktop_size();
    let mut judge = LogonJudge::new(check, width, height);
    let deadline = tokio::time::Instant::now() + judge.wait();
    // A hang-up before the first picture is the host refusing the user (the demo host and
    // Windows both close after a Set Error Info); after it, it is an ordinary loss.
    let hangup = |seen_graphics: bool, e: RdpError| match e {
        RdpError::ConnectionLost { source, .. } if !seen_graphics => {
            RdpError::AuthenticationFailed(format!(
                "the host closed the connection at logon: {source}"
            ))
        }
        RdpError::ConnectionLost { source, .. } => RdpError::ConnectionLost {
            phase: Phase::Logon,
            source,
        },
        other => other,
    };
    loop {
        let (action, frame) = match tokio::time::timeout_at(deadline, link.read_frame()).await {
            Err(_) => return judge.timed_out(),
            Ok(Err(e)) => return Err(hangup(judge.seen_graphics(), e)),
            Ok(Ok(frame)) => frame,
        };
        let processed = match link.process(action, &frame, None).await {
            Ok(processed) => processed,
            Err(RdpError::Protocol { detail, .. }) if !judge.seen_graphics() => {
                return Err(undecodable_before_first_picture(link, detail).await);
            }
            Err(e) => return Err(hangup(judge.seen_graphics(), e)),
        };
        if judge.observe(&processed)? == Verdict::Accepted {
            return Ok(());
        }
    }
}

/// A PDU we cannot decode before the first picture: when the host hangs up right after it,
/// it was the host's way of refusing the user (the demo host's IronRDP server sends its
/// "access denied" Set Error Info without the share headers, then closes).
async fn undecodable_before_first_picture(link: &mut Link, detail: String) -> RdpError {
    match tokio::time::timeout(HANGUP_WAIT, link.read_frame()).await {
        Ok(Err(RdpError::ConnectionLost { .. })) => RdpError::AuthenticationFailed(format!(
            "the host closed the connection at logon after an undecodable PDU ({detail})"
        )),
        _ => RdpError::Protocol {
            phase: Phase::Logon,
            detail,
        },
    }
}

/// CredSSP with NTLM needs no network access (Kerberos would).
struct NoNetwork;

impl ironrdp_tokio::NetworkClient for NoNetwork {
    async fn send(
        &mut self,
        _request: &NetworkRequest,
    ) -> ironrdp_connector::ConnectorResult<Vec<u8>> {
        Err(ironrdp_connector::ConnectorError::general(
            "network requests (Kerberos) are not supported",
        ))
    }
}

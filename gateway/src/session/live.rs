//! One browser session's task. A ticket's websocket becomes the session's task: it reads
//! `ClientHello`, connects to the host with the browser's size and then serves websockets
//! one after the other — the first, and each resume — until the session ends:
//!
//! ```text
//! ticket ─▶ hello ─▶ rdp::connect ─▶ attached ⇄ detached (≤ reconnect_grace) ─▶ finished
//!                                      ▲ resume token (redeemed from the Registry)
//! ```
//!
//! While detached the RDP connection stays up and the picture keeps changing; a resume gets
//! a new ServerHello (current size, new token), Status `Resumed` and a full frame. A second
//! window resuming the session takes it over (the first is closed with 4101). The grace
//! running out closes the RDP connection: the session stays on the host, disconnected, and
//! the next launch reconnects to it there.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use hamn_broker::db::DbError;
use hamn_broker::model::{
    ActorKind, AuditOutcome, HostCertCheck, NewAuditEvent, PoolTimeouts, SessionState,
};
use hamn_broker::repo;
use hamn_broker::session_control::{EndCause, QueuedCommand, SessionCommand, WarningKind};
use hamn_broker::ticket::Claims;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use super::commands::{self, Outcome};
use super::frames::{self, CursorCache, FrameError, FrameLoop, Traffic};
use super::sink::SharedScreen;
use super::{SessionError, SessionService};
use crate::rdp::{
    self, CertPolicy, ClipboardError, ClipboardPolicy, HostClipboard, HostCredentials, RdpError,
    RdpHandle, RdpParams, ResizeOutcome, SessionEnd,
};
use crate::wire::{
    self, Capabilities, ClientHello, ClientMessage, ClientStream, CloseCode, PrintOutcome,
    ServerHello, ServerMessage, StatusCode, WireError,
};

/// How long the RDP task gets to finish after the gateway closed it.
const RDP_CLOSE_WAIT: Duration = Duration::from_secs(5);
/// How long the browser gets to answer our close frame.
const CLOSE_HANDSHAKE_WAIT: Duration = Duration::from_secs(2);
/// How often an attached session reports its traffic to the broker.
const TRAFFIC_EVERY: Duration = Duration::from_secs(60);
/// Administrator messages kept for a browser that is away, shown when it comes back.
const HELD_MESSAGES: usize = 8;

/// A websocket that presented a valid resume token, on its way to the session's task.
pub struct Attach {
    socket: WebSocket,
    stream: ClientStream,
    source: Option<String>,
}

/// The RDP task's end, awaitable any number of times: once it has ended, `ended` holds
/// the outcome and further waits never resolve (the caller already acted on it).
struct HostTask {
    running: Option<RunningTask>,
}

type RunningTask = Pin<Box<dyn Future<Output = Result<SessionEnd, RdpError>> + Send + Sync>>;

impl HostTask {
    fn new(task: rdp::SessionTask) -> Self {
        Self {
            running: Some(Box::pin(task.wait())),
        }
    }

    /// Resolves once, when the task ends.
    async fn ended(&mut self) -> Result<SessionEnd, RdpError> {
        match self.running.as_mut() {
            Some(task) => {
                let outcome = task.await;
                self.running = None;
                outcome
            }
            None => std::future::pending().await,
        }
    }

    fn is_running(&self) -> bool {
        self.running.is_some()
    }
}

/// How a session ended: the state the broker records and the audit event's outcome.
pub(crate) struct Finish {
    pub state: SessionState,
    pub outcome: AuditOutcome,
    pub detail: String,
}

/// How one connection (websocket) of a session ended.
enum Served {
    /// The websocket dropped or the browser closed it: keep the RDP connection for the grace.
    Detached,
    /// Another window resumed the session.
    TakenOver(Box<Attach>),
    /// The session is over; the browser gets this code.
    Ended(CloseCode, String, Finish),
}

/// Why a new session never got going: what the browser is told (nothing when it left) and
/// what the audit records.
struct SetupFailure {
    close: Option<(CloseCode, String)>,
    detail: String,
}

impl SetupFailure {
    fn closing(code: CloseCode, reason: String, detail: String) -> Self {
        Self {
            close: Some((code, reason)),
            detail,
        }
    }

    fn internal(error: impl std::fmt::Display) -> Self {
        let text = error.to_string();
        Self::closing(CloseCode::InternalError, text.clone(), text)
    }
}

/// Hello, host parameters, RDP connection and screen of a new session.
async fn set_up(
    socket: &mut WebSocket,
    stream: &mut ClientStream,
    service: &SessionService,
    claims: &Claims,
) -> Result<(rdp::RdpSession, SharedScreen, String, PoolTimeouts), SetupFailure> {
    let hello = first_hello(socket, stream, service)
        .await
        .map_err(|refusal| match refusal {
            Some((code, detail)) => SetupFailure::closing(
                code,
                detail.clone(),
                format!("close {} {}: {detail}", code.as_u16(), code.ws_reason()),
            ),
            None => SetupFailure {
                close: None,
                detail: "the browser closed the connection before ClientHello".to_owned(),
            },
        })?;
    let (params, timeouts) = host_params(service, claims, &hello).await.map_err(|error| {
        tracing::error!(%error, session = %claims.session_id, "session setup failed in the gateway");
        SetupFailure::internal(error)
    })?;
    let host = format!("{}:{}", params.host, params.port);
    let rdp_session = rdp::connect(params).await.map_err(|error| {
        tracing::info!(%error, %host, session = %claims.session_id, "host connection failed");
        let code = close_code_of(&error, false);
        let detail = format!(
            "host {host}: close {} {}: {error}",
            code.as_u16(),
            code.ws_reason()
        );
        SetupFailure::closing(code, error.to_string(), detail)
    })?;
    let (width, height) = rdp_session.desktop_size();
    let screen = SharedScreen::new(width, height).map_err(SetupFailure::internal)?;
    Ok((rdp_session, screen, host, timeouts))
}

/// Runs a new session (from a ticket) on `socket` until it ends, then records the end.
pub(super) async fn run_new(
    mut socket: WebSocket,
    service: Arc<SessionService>,
    claims: Claims,
    source: Option<String>,
) {
    let session = claims.session_id;
    let mut stream = ClientStream::new(service.config.limits);
    if let Some(attach) = service.registry.sender(session) {
        // The ticket names a session that is live on this node (the user launched again
        // from another device): this window takes it over.
        return hand_over(socket, stream, &service, attach, source).await;
    }
    let (rdp_session, screen, host, timeouts) =
        match set_up(&mut socket, &mut stream, &service, &claims).await {
            Ok(ready) => ready,
            Err(failure) => {
                if let Some((code, reason)) = &failure.close {
                    close(&mut socket, *code, reason).await;
                }
                let finish = Finish {
                    state: SessionState::Ended,
                    outcome: AuditOutcome::Failed,
                    detail: failure.detail,
                };
                record(
                    &service,
                    &claims,
                    finish.state,
                    "session.connect",
                    finish.outcome,
                    finish.detail,
                    source.as_deref(),
                )
                .await;
                return;
            }
        };
    let (width, height) = rdp_session.desktop_size();
    let (handle, task) = rdp_session.start(screen.sink());
    let (attach_tx, attach_rx) = mpsc::channel(1);
    let (commands_tx, commands_rx) = mpsc::channel(commands::QUEUE);
    let generation = service.registry.insert(session, attach_tx, commands_tx);
    record(
        &service,
        &claims,
        SessionState::Active,
        "session.connect",
        AuditOutcome::Success,
        format!("host {host} {width}x{height}"),
        source.as_deref(),
    )
    .await;
    let live = Live {
        frames: FrameLoop::new(
            screen.clone(),
            service.config.encoder.clone(),
            (width, height),
        ),
        service,
        claims,
        handle,
        task: HostTask::new(task),
        screen,
        attach_rx,
        generation,
        commands: commands_rx,
        held: Vec::new(),
        timeouts,
        traffic: Traffic::default(),
    };
    live.run(Attach {
        socket,
        stream,
        source,
    })
    .await;
}

/// Gives `socket` (after its hello) to a live session's task, which closes the window that
/// had it with 4101.
async fn hand_over(
    mut socket: WebSocket,
    mut stream: ClientStream,
    service: &SessionService,
    attach: mpsc::Sender<Attach>,
    source: Option<String>,
) {
    match first_hello(&mut socket, &mut stream, service).await {
        Ok(_) => {}
        Err(Some((code, detail))) => return close(&mut socket, code, &detail).await,
        Err(None) => return,
    }
    deliver(
        &attach,
        Attach {
            socket,
            stream,
            source,
        },
    )
    .await;
}

/// Hands a websocket to a live session's task; if the session ended meanwhile, the browser
/// is told so (4100).
async fn deliver(attach: &mpsc::Sender<Attach>, message: Attach) {
    if let Err(mpsc::error::SendError(mut back)) = attach.send(message).await {
        tracing::info!("a websocket for a session that has just ended");
        close(
            &mut back.socket,
            CloseCode::ResumeFailed,
            "the session has ended",
        )
        .await;
    }
}

/// A websocket without a ticket: its `ClientHello` must carry a resume token of a live
/// session of this node; then the websocket goes to that session's task.
pub(super) async fn run_resume(
    mut socket: WebSocket,
    service: Arc<SessionService>,
    source: Option<String>,
) {
    let mut stream = ClientStream::new(service.config.limits);
    let hello = match first_hello(&mut socket, &mut stream, &service).await {
        Ok(hello) => hello,
        Err(Some((code, detail))) => return close(&mut socket, code, &detail).await,
        Err(None) => return,
    };
    let Some(token) = hello.resume_token.filter(|t| !t.is_empty()) else {
        let detail = "no launch ticket and no resume token";
        return close(&mut socket, CloseCode::ResumeFailed, detail).await;
    };
    let (session, attach) = match service.registry.redeem(&token) {
        Ok(found) => found,
        Err(refused) => {
            tracing::info!(%refused, source = source.as_deref(), "resume refused");
            return close(&mut socket, CloseCode::ResumeFailed, &refused.to_string()).await;
        }
    };
    tracing::debug!(%session, "resume token accepted");
    deliver(
        &attach,
        Attach {
            socket,
            stream,
            source,
        },
    )
    .await;
}

/// A connected session and everything that outlives one websocket.
struct Live {
    service: Arc<SessionService>,
    claims: Claims,
    handle: RdpHandle,
    task: HostTask,
    screen: SharedScreen,
    frames: FrameLoop,
    attach_rx: mpsc::Receiver<Attach>,
    /// This session's registry entry ([`super::registry::Registry::remove`]).
    generation: u64,
    /// The broker's commands for this session ([`super::commands`]).
    commands: mpsc::Receiver<QueuedCommand>,
    /// Administrator messages that came while no browser was attached.
    held: Vec<ServerMessage>,
    /// The pool's timeouts (idle is enforced here; the broker sweeps the others).
    timeouts: PoolTimeouts,
    traffic: Traffic,
}

impl Live {
    async fn run(mut self, first: Attach) {
        let session = self.claims.session_id;
        let mut next = Some(first);
        let mut resumed = false;
        let mut source = None;
        let finish = loop {
            let Some(mut attach) = next.take() else {
                self.report(
                    SessionState::Disconnected,
                    "session.disconnect",
                    AuditOutcome::Success,
                    format!(
                        "the browser connection was lost; the host connection is kept for {} s",
                        self.service.config.reconnect_grace.as_secs()
                    ),
                    source.as_deref(),
                )
                .await;
                match self.wait_detached().await {
                    Ok(attach) => {
                        next = Some(attach);
                        resumed = true;
                        continue;
                    }
                    Err(finish) => break finish,
                }
            };
            source.clone_from(&attach.source);
            if resumed {
                self.report(
                    SessionState::Active,
                    "session.resume",
                    AuditOutcome::Success,
                    "the browser resumed the session".to_owned(),
                    source.as_deref(),
                )
                .await;
            }
            match self.serve(&mut attach, resumed).await {
                Served::Detached => {
                    tracing::info!(%session, "browser connection lost; session kept");
                }
                Served::TakenOver(newer) => {
                    tracing::info!(%session, "session taken over by another window");
                    close(
                        &mut attach.socket,
                        CloseCode::SessionTakenOver,
                        "the session was opened in another window",
                    )
                    .await;
                    next = Some(*newer);
                    resumed = true;
                }
                Served::Ended(code, detail, finish) => {
                    tracing::info!(%session, code = code.as_u16(), %detail, "browser session ended");
                    close(&mut attach.socket, code, &detail).await;
                    break finish;
                }
            }
        };
        self.service.registry.remove(session, self.generation);
        // Commands handed over after the last select never get acted on: say so.
        self.commands.close();
        while let Ok(command) = self.commands.try_recv() {
            let outcome = Outcome::Failed("the session ended before it could act".to_owned());
            commands::finish(&self.service.database, &command, outcome).await;
        }
        self.handle.close();
        if self.task.is_running()
            && tokio::time::timeout(RDP_CLOSE_WAIT, self.task.ended())
                .await
                .is_err()
        {
            tracing::warn!(%session, "RDP task did not finish after close");
        }
        self.report(
            finish.state,
            "session.end",
            finish.outcome,
            finish.detail,
            source.as_deref(),
        )
        .await;
    }

    /// Waits while no browser is attached: for a resume, the host ending the session, the
    /// gateway stopping, the grace running out, or a broker command that ends it.
    async fn wait_detached(&mut self) -> Result<Attach, Finish> {
        let grace = self.service.config.reconnect_grace;
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            tokio::select! {
                attach = self.attach_rx.recv() => return attach.ok_or_else(|| internal_finish("the resume channel closed")),
                ended = self.task.ended() => return Err(host_finish(ended).1),
                () = self.service.shutdown.cancelled() => return Err(Finish {
                    state: SessionState::Disconnected,
                    outcome: AuditOutcome::Success,
                    detail: "the gateway stopped while the browser was away; the session stays on the host".to_owned(),
                }),
                () = tokio::time::sleep_until(deadline) => return Err(Finish {
                    state: SessionState::Disconnected,
                    outcome: AuditOutcome::Success,
                    detail: format!("no resume within {} s; the session stays on the host, disconnected", grace.as_secs()),
                }),
                Some(command) = self.commands.recv() => {
                    if let Some(finish) = self.act_detached(&command).await {
                        return Err(finish);
                    }
                }
            }
        }
    }

    /// A broker command while no browser is attached: messages wait for the browser,
    /// warnings have no one to warn, a disconnect or logoff ends the RDP connection now.
    async fn act_detached(&mut self, command: &QueuedCommand) -> Option<Finish> {
        let database = &self.service.database;
        match &command.command {
            SessionCommand::Message { text, sender } => {
                if self.held.len() < HELD_MESSAGES {
                    self.held.push(admin_message(sender, text));
                }
                let outcome = "no browser attached; held until it comes back".to_owned();
                commands::finish(database, command, Outcome::Done(outcome)).await;
                None
            }
            SessionCommand::Warning { .. } => {
                let outcome = "no browser attached; nobody to warn".to_owned();
                commands::finish(database, command, Outcome::Done(outcome)).await;
                None
            }
            SessionCommand::PrintReady { .. } | SessionCommand::PrintRefused { .. } => {
                if let Some(notice) = print_notice(&command.command)
                    && self.held.len() < HELD_MESSAGES
                {
                    self.held.push(notice);
                }
                let outcome = "no browser attached; held until it comes back".to_owned();
                commands::finish(database, command, Outcome::Done(outcome)).await;
                None
            }
            SessionCommand::Disconnect { reason, cause }
            | SessionCommand::Logoff { reason, cause } => {
                let (state, finish) = ending(&command.command, *cause, reason);
                let outcome = format!("no browser attached; RDP connection closed, row {state}");
                commands::finish(database, command, Outcome::Done(outcome)).await;
                Some(finish)
            }
        }
    }

    /// A broker command while `socket` is attached (negotiated protocol `version`):
    /// `Err` ends this connection.
    async fn act(
        &mut self,
        socket: &mut WebSocket,
        version: u16,
        command: &QueuedCommand,
    ) -> Result<(), Served> {
        let database = &self.service.database;
        let lifecycle = version >= wire::LIFECYCLE_VERSION;
        let message = match &command.command {
            SessionCommand::PrintReady { .. } | SessionCommand::PrintRefused { .. } => {
                match print_notice(&command.command) {
                    Some(notice) if version >= wire::PRINT_VERSION => notice,
                    _ => {
                        let outcome = format!(
                            "the viewer speaks protocol version {version}, which has no print notices; the job is in Mina utskrifter"
                        );
                        commands::finish(database, command, Outcome::Failed(outcome)).await;
                        return Ok(());
                    }
                }
            }
            SessionCommand::Message { text, sender } if lifecycle => admin_message(sender, text),
            SessionCommand::Warning { kind, text, at } => {
                let code = match kind {
                    WarningKind::Idle => StatusCode::IdleWarning,
                    WarningKind::ServiceWindow => StatusCode::ServiceWindowWarning,
                    WarningKind::SessionLimit if lifecycle => StatusCode::SessionLimitWarning,
                    WarningKind::SessionLimit => StatusCode::ServiceWindowWarning,
                };
                let left = (*at - time::OffsetDateTime::now_utc()).whole_seconds();
                ServerMessage::Status {
                    code,
                    seconds: u16::try_from(left.max(0)).unwrap_or(u16::MAX),
                    detail: truncate(text, wire::MAX_DETAIL),
                }
            }
            SessionCommand::Message { .. } => {
                let outcome = format!(
                    "the viewer speaks protocol version {version}, which has no administrator messages"
                );
                commands::finish(database, command, Outcome::Failed(outcome)).await;
                return Ok(());
            }
            SessionCommand::Disconnect { reason, cause }
            | SessionCommand::Logoff { reason, cause } => {
                let code = close_code_for(*cause, lifecycle);
                let (state, finish) = ending(&command.command, *cause, reason);
                let outcome = format!(
                    "closed the browser with {} and the RDP connection; row {state}",
                    code.as_u16()
                );
                commands::finish(database, command, Outcome::Done(outcome)).await;
                return Err(Served::Ended(code, reason.clone(), finish));
            }
        };
        if frames::send(socket, &mut self.traffic, &message)
            .await
            .is_err()
        {
            let outcome = "the browser connection dropped before it was shown".to_owned();
            commands::finish(database, command, Outcome::Failed(outcome)).await;
            return Err(Served::Detached);
        }
        let outcome = format!("shown in the viewer ({})", message.kind());
        commands::finish(database, command, Outcome::Done(outcome)).await;
        Ok(())
    }

    /// Serves one websocket: hello, then frames, input and pings until it ends.
    async fn serve(&mut self, attach: &mut Attach, resumed: bool) -> Served {
        let config = &self.service.config;
        let Some(version) = attach.stream.version() else {
            return ended_internal("hello accepted without a version");
        };
        let size = {
            let fb = self.screen.lock();
            (
                u16::try_from(fb.width()).unwrap_or(u16::MAX),
                u16::try_from(fb.height()).unwrap_or(u16::MAX),
            )
        };
        self.frames.restart(size);
        let token = self
            .service
            .registry
            .issue_token(self.claims.session_id)
            .unwrap_or_default();
        let mut capabilities = Capabilities::UNICODE_INPUT;
        if self.handle.clipboard_policy().is_some() {
            capabilities |= Capabilities::CLIPBOARD;
        }
        let hello = ServerMessage::ServerHello(ServerHello {
            version,
            session_id: self.claims.session_id.into_bytes(),
            width: size.0,
            height: size.1,
            resume_token: token,
            capabilities: Capabilities(capabilities),
        });
        // Connected carries the reconnect grace in seconds: the viewer counts it down
        // while it reconnects.
        let grace = u16::try_from(config.reconnect_grace.as_secs()).unwrap_or(u16::MAX);
        let socket = &mut attach.socket;
        let mut greeting = vec![hello, status(StatusCode::Connected, grace)];
        if resumed {
            greeting.push(status(StatusCode::Resumed, 0));
        }
        for message in &greeting {
            if frames::send(socket, &mut self.traffic, message)
                .await
                .is_err()
            {
                return Served::Detached;
            }
        }

        let mut cursors = CursorCache::default();
        let mut pointer_seen = 0;
        let mut clipboard_seen = 0;
        let mut resize_refused = false;
        let gap = pacing(config.max_fps);
        let mut tick = tokio::time::interval(gap);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        // Host damage not yet encoded: (first, latest) arrival. A frame starts when the
        // burst has settled, not on the next tick, so a keystroke costs milliseconds, and a
        // scroll the host paints in several updates goes out whole.
        let mut burst: Option<(Instant, Instant)> = None;
        let mut last_frame: Option<Instant> = None;
        let mut report = tokio::time::interval(TRAFFIC_EVERY);
        report.set_missed_tick_behavior(MissedTickBehavior::Delay);
        report.reset();
        // The current pointer goes first, before any change.
        if let Some((seq, update)) = self.screen.pointer().since(pointer_seen) {
            pointer_seen = seq;
            if frames::send(socket, &mut self.traffic, &cursors.message(&update))
                .await
                .is_err()
            {
                return Served::Detached;
            }
        }
        // So is what the host copied last (perhaps while the browser was away).
        if let Some((seq, event)) = self.screen.clipboard().since(clipboard_seen) {
            clipboard_seen = seq;
            let message = host_clipboard_message(event);
            if frames::send(socket, &mut self.traffic, &message)
                .await
                .is_err()
            {
                return Served::Detached;
            }
        }
        // And the administrators' messages that came while it was away.
        for message in std::mem::take(&mut self.held) {
            let needs = match message {
                ServerMessage::PrintNotice { .. } => wire::PRINT_VERSION,
                _ => wire::LIFECYCLE_VERSION,
            };
            if version >= needs
                && frames::send(socket, &mut self.traffic, &message)
                    .await
                    .is_err()
            {
                return Served::Detached;
            }
        }
        // The idle clock: a new connection counts as input.
        let idle = self.timeouts.idle;
        let idle_warn_after = idle.map(|t| self.timeouts.warn_after(t));
        let mut last_input = Instant::now();
        let mut idle_warned = false;
        loop {
            let idle_next = idle_deadline(idle, idle_warn_after, last_input, idle_warned);
            tokio::select! {
                () = tokio::time::sleep_until(idle_next), if idle.is_some() => {
                    let (Some(timeout), idle_for) = (idle, last_input.elapsed()) else { continue };
                    if idle_for >= timeout {
                        return idle_ending(timeout);
                    }
                    if !idle_warned {
                        idle_warned = true;
                        let left = (timeout - idle_for).as_secs_f64().ceil();
                        // Seconds fit: the pool's timeout is at most 30 days, the lead a day.
                        let seconds = u16::try_from(left as u64).unwrap_or(u16::MAX);
                        if frames::send(socket, &mut self.traffic, &status(StatusCode::IdleWarning, seconds)).await.is_err() {
                            return Served::Detached;
                        }
                    }
                }
                Some(command) = self.commands.recv() => {
                    if let Err(served) = self.act(socket, version, &command).await {
                        return served;
                    }
                }
                ended = self.task.ended() => {
                    let (code, finish) = host_finish(ended);
                    return Served::Ended(code, finish.detail.clone(), finish);
                }
                attach = self.attach_rx.recv() => {
                    return match attach {
                        Some(attach) => Served::TakenOver(Box::new(attach)),
                        None => ended_internal("the resume channel closed"),
                    };
                }
                () = self.service.shutdown.cancelled() => {
                    // The drain's end: the viewer launches again through another gateway
                    // and roaming takes this (disconnected) session over there.
                    return Served::Ended(CloseCode::GatewayDraining, "the gateway is stopping".to_owned(), Finish {
                        state: SessionState::Disconnected,
                        outcome: AuditOutcome::Success,
                        detail: "the gateway stopped (drain); the session stays on the host for another gateway".to_owned(),
                    });
                }
                () = self.screen.clipboard().changed() => {
                    if let Some((seq, event)) = self.screen.clipboard().since(clipboard_seen) {
                        clipboard_seen = seq;
                        if frames::send(socket, &mut self.traffic, &host_clipboard_message(event)).await.is_err() {
                            return Served::Detached;
                        }
                    }
                }
                () = self.screen.pointer().changed() => {
                    if let Some((seq, update)) = self.screen.pointer().since(pointer_seen) {
                        pointer_seen = seq;
                        if frames::send(socket, &mut self.traffic, &cursors.message(&update)).await.is_err() {
                            return Served::Detached;
                        }
                    }
                }
                _ = report.tick() => {
                    self.save_traffic().await;
                }
                received = socket.recv() => {
                    let bytes = match received {
                        Some(Ok(Message::Binary(bytes))) => bytes,
                        Some(Ok(Message::Text(_))) => return violation(CloseCode::ProtocolError,
                            "text message on a binary protocol".to_owned()),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Served::Detached,
                    };
                    hamn_broker::metrics::BYTES_FROM_BROWSER.add(bytes.len() as u64);
                    let message = match attach.stream.receive(&bytes) {
                        Ok(message) => message,
                        Err(error) => return wire_violation(&error),
                    };
                    if is_user_input(&message) {
                        last_input = Instant::now();
                        if std::mem::take(&mut idle_warned)
                            && version >= wire::LIFECYCLE_VERSION
                            && frames::send(socket, &mut self.traffic, &status(StatusCode::IdleWarningCleared, 0)).await.is_err()
                        {
                            return Served::Detached;
                        }
                    }
                    match message {
                        ClientMessage::FrameAck { frame_id } => {
                            if let Err(error) = self.frames.ack(frame_id) {
                                return wire_violation(&error);
                            }
                        }
                        ClientMessage::Ping { timestamp } => {
                            if frames::send(socket, &mut self.traffic, &ServerMessage::Pong { timestamp }).await.is_err() {
                                return Served::Detached;
                            }
                        }
                        ClientMessage::ResizeRequest { width, height } => {
                            let width = width.clamp(rdp::config::MIN_DESKTOP, rdp::config::MAX_DESKTOP);
                            let height = height.clamp(rdp::config::MIN_DESKTOP, rdp::config::MAX_DESKTOP);
                            // Hosts ignore a layout of the current size; asking would
                            // only leave a request waiting for a reactivation.
                            if (width & !1, height) == self.frames.size() {
                                continue;
                            }
                            // A gone session is reported by the task branch next.
                            let outcome = self.handle.resize(width, height).await;
                            if outcome == Ok(ResizeOutcome::Unsupported) && !resize_refused {
                                resize_refused = true;
                                if frames::send(socket, &mut self.traffic, &status(StatusCode::ResizeUnsupported, 0)).await.is_err() {
                                    return Served::Detached;
                                }
                            }
                        }
                        ClientMessage::ClipboardText(text) => {
                            let refusal = match self.handle.clipboard_to_host(text).await {
                                Ok(()) | Err(ClipboardError::Gone) => None,
                                Err(ClipboardError::TooLarge { .. }) => Some(StatusCode::ClipboardTooLarge),
                                Err(ClipboardError::Disabled) => Some(StatusCode::ClipboardDisabled),
                            };
                            if let Some(code) = refusal
                                && frames::send(socket, &mut self.traffic, &status(code, 0)).await.is_err()
                            {
                                return Served::Detached;
                            }
                        }
                        other => {
                            let inputs = super::input::to_rdp(&other);
                            // A gone session is reported by the task branch next.
                            if !inputs.is_empty() && self.handle.input(inputs).await.is_err() {
                                continue;
                            }
                        }
                    }
                }
                () = self.screen.damaged() => {
                    let now = Instant::now();
                    burst = Some(burst.map_or((now, now), |(first, _)| (first, now)));
                }
                () = tokio::time::sleep_until(burst_deadline(burst, last_frame, gap)), if burst.is_some() && self.frames.can_send() => {
                    burst = None;
                    match self.frame(socket, &mut last_frame).await {
                        Ok(()) => {}
                        Err(served) => return served,
                    }
                }
                _ = tick.tick(), if self.frames.can_send() && burst.is_none()
                    && last_frame.is_none_or(|at| at.elapsed() >= gap) => {
                    // Lossy cells to refine and the encoder's sense of time; new damage
                    // goes out through the burst branch above.
                    match self.frame(socket, &mut last_frame).await {
                        Ok(()) => {}
                        Err(served) => return served,
                    }
                }
            }
        }
    }

    /// Encodes and sends a frame if there is anything to send.
    async fn frame(
        &mut self,
        socket: &mut WebSocket,
        last_frame: &mut Option<Instant>,
    ) -> Result<(), Served> {
        match self.frames.next_frame().await {
            Ok(Some(frame)) => {
                *last_frame = Some(Instant::now());
                match self
                    .frames
                    .send_frame(socket, &mut self.traffic, frame)
                    .await
                {
                    Ok(()) => Ok(()),
                    Err(FrameError::ClientGone) => Err(Served::Detached),
                    Err(FrameError::Internal(error)) => Err(ended_internal(error)),
                }
            }
            Ok(None) => Ok(()),
            Err(FrameError::ClientGone) => Err(Served::Detached),
            Err(FrameError::Internal(error)) => Err(ended_internal(error)),
        }
    }

    /// Moves the session row to `state`, stores the traffic so far and audits `action`.
    async fn report(
        &self,
        state: SessionState,
        action: &str,
        outcome: AuditOutcome,
        detail: String,
        source: Option<&str>,
    ) {
        self.save_traffic().await;
        let stats = self.handle.stats();
        let detail = format!(
            "{detail}; {} bytes to the browser in {} frames, {} bytes from the host",
            self.traffic.bytes_to_client, self.traffic.frames, stats.bytes_in
        );
        record(
            &self.service,
            &self.claims,
            state,
            action,
            outcome,
            detail,
            source,
        )
        .await;
    }

    async fn save_traffic(&self) {
        let stats = self.handle.stats();
        let result = async {
            let mut conn = self.service.database.acquire().await?;
            repo::sessions::set_traffic(
                &mut conn,
                self.claims.session_id,
                &repo::sessions::Traffic {
                    bytes_to_client: self.traffic.bytes_to_client,
                    bytes_from_host: stats.bytes_in,
                    frames: self.traffic.frames,
                },
            )
            .await
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, session = %self.claims.session_id, "session traffic not stored");
        }
    }
}

/// The browser's message for what the host put on its clipboard.
fn host_clipboard_message(event: HostClipboard) -> ServerMessage {
    match event {
        HostClipboard::Text(text) => ServerMessage::ClipboardText(text),
        HostClipboard::TooLarge { .. } => status(StatusCode::ClipboardTooLarge, 0),
    }
}

fn status(code: StatusCode, seconds: u16) -> ServerMessage {
    ServerMessage::Status {
        code,
        seconds,
        detail: String::new(),
    }
}

/// Keyboard, mouse and pasted text: what keeps a session from idling. Acks, pings, resizes
/// and the release-all a viewer sends when it loses focus are not the user acting.
fn is_user_input(message: &ClientMessage) -> bool {
    matches!(
        message,
        ClientMessage::KeyScancode { .. }
            | ClientMessage::KeyUnicode { .. }
            | ClientMessage::MouseMove { .. }
            | ClientMessage::MouseButton { .. }
            | ClientMessage::MouseWheel { .. }
            | ClientMessage::ClipboardText(_)
    )
}

/// When the idle clock next needs attention: the warning, then the disconnect.
fn idle_deadline(
    timeout: Option<Duration>,
    warn_after: Option<Duration>,
    last_input: Instant,
    warned: bool,
) -> tokio::time::Instant {
    let due = match (timeout, warn_after) {
        (Some(timeout), _) if warned => last_input + timeout,
        (Some(_), Some(warn_after)) => last_input + warn_after,
        // Off: the branch is disabled; any instant will do.
        _ => last_input + Duration::from_secs(24 * 3600),
    };
    tokio::time::Instant::from_std(due)
}

/// No input for the pool's idle timeout: close with 4301; the Windows session stays on
/// the host, disconnected, and the next launch reconnects to it.
fn idle_ending(timeout: Duration) -> Served {
    let secs = timeout.as_secs();
    Served::Ended(
        CloseCode::IdleTimeout,
        format!("no input for {secs} s"),
        Finish {
            state: SessionState::Disconnected,
            outcome: AuditOutcome::Success,
            detail: format!(
                "idle timeout: no input for {secs} s (the pool's limit); closed with 4301, the \
                 session stays on the host, disconnected"
            ),
        },
    )
}

/// The viewer's notice of a print command; `None` for other commands.
fn print_notice(command: &SessionCommand) -> Option<ServerMessage> {
    let (job_id, title, outcome) = match command {
        SessionCommand::PrintReady {
            job_id,
            title,
            pages,
        } => (job_id, title, PrintOutcome::Ready { pages: *pages }),
        SessionCommand::PrintRefused {
            job_id,
            title,
            reason,
        } => (
            job_id,
            title,
            PrintOutcome::Refused {
                reason: refusal_code(reason),
            },
        ),
        _ => return None,
    };
    Some(ServerMessage::PrintNotice {
        job_id: *job_id.as_bytes(),
        title: truncate(title, wire::MAX_PRINT_TITLE),
        outcome,
    })
}

/// The broker validates refusal codes; anything else still reaches the viewer as a code.
fn refusal_code(reason: &str) -> String {
    let ok = (1..=wire::MAX_PRINT_REASON).contains(&reason.len())
        && reason
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        reason.to_owned()
    } else {
        "io".to_owned()
    }
}

fn admin_message(sender: &str, text: &str) -> ServerMessage {
    ServerMessage::AdminMessage {
        sender: truncate(sender, wire::MAX_MESSAGE_SENDER),
        text: truncate(text, wire::MAX_MESSAGE_TEXT),
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    let mut cut = text.len().min(max);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.get(..cut).unwrap_or_default().to_owned()
}

/// The close code the browser gets for an ending by `cause`; viewers older than protocol
/// version 2 do not know 4305.
fn close_code_for(cause: EndCause, lifecycle: bool) -> CloseCode {
    match cause {
        EndCause::Admin | EndCause::DisconnectTimeout => CloseCode::EndedByAdmin,
        EndCause::Idle => CloseCode::IdleTimeout,
        EndCause::ServiceWindow => CloseCode::ServiceWindow,
        EndCause::User => CloseCode::UserEnded,
        EndCause::SessionLimit if lifecycle => CloseCode::SessionLimit,
        EndCause::SessionLimit => CloseCode::EndedByAdmin,
    }
}

/// How a Disconnect (row `disconnected`, the Windows session kept) or a Logoff (row
/// `ended`; the broker queued the host agent's logoff) ends this session's task.
pub(crate) fn ending(
    command: &SessionCommand,
    cause: EndCause,
    reason: &str,
) -> (SessionState, Finish) {
    let (state, what) = match command {
        SessionCommand::Logoff { .. } => (
            SessionState::Ended,
            "logged off; the host agent logs the Windows user off",
        ),
        _ => (
            SessionState::Disconnected,
            "disconnected; the session stays on the host",
        ),
    };
    let finish = Finish {
        state,
        outcome: AuditOutcome::Success,
        detail: format!("{what} (by {cause}): {reason}"),
    };
    (state, finish)
}

/// A protocol violation by the browser: not a network drop, so not resumable. The RDP
/// connection closes; the session stays on the host, disconnected.
fn violation(code: CloseCode, detail: String) -> Served {
    let finish = Finish {
        state: SessionState::Disconnected,
        outcome: AuditOutcome::Failed,
        detail: format!("close {} {}: {detail}", code.as_u16(), code.ws_reason()),
    };
    Served::Ended(code, detail, finish)
}

fn wire_violation(error: &WireError) -> Served {
    violation(error.close_code(), error.to_string())
}

fn internal_finish(error: impl std::fmt::Display) -> Finish {
    tracing::error!(%error, "browser session failed in the gateway");
    Finish {
        state: SessionState::Disconnected,
        outcome: AuditOutcome::Failed,
        detail: format!("gateway fault: {error}"),
    }
}

fn ended_internal(error: impl std::fmt::Display) -> Served {
    let detail = error.to_string();
    Served::Ended(CloseCode::InternalError, detail, internal_finish(error))
}

/// The host side ended: a logoff or an administrator's disconnect ends the session; a
/// failure (host died, undecodable data) ends it too, as failed.
fn host_finish(ended: Result<SessionEnd, RdpError>) -> (CloseCode, Finish) {
    match ended {
        Ok(SessionEnd::HostEnded(reason)) => (
            CloseCode::HostDisconnected,
            Finish {
                state: SessionState::Ended,
                outcome: AuditOutcome::Success,
                detail: format!("the host ended the session: {reason}"),
            },
        ),
        Ok(SessionEnd::Closed) => (
            CloseCode::InternalError,
            internal_finish("the RDP session closed itself"),
        ),
        Err(error) => (
            close_code_of(&error, true),
            Finish {
                state: SessionState::Ended,
                outcome: AuditOutcome::Failed,
                detail: format!("host connection failed: {error}"),
            },
        ),
    }
}

/// Waits for the first binary message and checks it is a valid `ClientHello`. `Err(None)`:
/// the browser went away; `Err(Some(..))`: close with that code.
async fn first_hello(
    socket: &mut WebSocket,
    stream: &mut ClientStream,
    service: &SessionService,
) -> Result<ClientHello, Option<(CloseCode, String)>> {
    let wait = async {
        loop {
            let bytes = match socket.recv().await {
                Some(Ok(Message::Binary(bytes))) => bytes,
                Some(Ok(Message::Text(_))) => {
                    return Err(Some((
                        CloseCode::ProtocolError,
                        "text message on a binary protocol".to_owned(),
                    )));
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Err(None),
            };
            return match stream.receive(&bytes) {
                Ok(ClientMessage::ClientHello(hello)) => Ok(hello),
                Ok(other) => Err(Some((
                    CloseCode::UnexpectedMessage,
                    format!("{} before ClientHello", other.kind()),
                ))),
                Err(error) => Err(Some((error.close_code(), error.to_string()))),
            };
        }
    };
    match tokio::time::timeout(service.config.hello_timeout, wait).await {
        Ok(result) => result,
        Err(_) => Err(Some((
            CloseCode::UnexpectedMessage,
            "no ClientHello in time".to_owned(),
        ))),
    }
}

/// Sends the `Close` message and the websocket close frame with the same code, then waits
/// briefly for the browser's close frame. `detail` reaches the browser only for the codes
/// that share it ([`CloseCode::shares_detail`]).
async fn close(socket: &mut WebSocket, code: CloseCode, detail: &str) {
    let mut reason = if code.shares_detail() {
        detail.to_owned()
    } else {
        String::new()
    };
    if reason.len() > wire::MAX_DETAIL {
        let mut cut = wire::MAX_DETAIL;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
    }
    let mut ignored = Traffic::default();
    let _ = frames::send(socket, &mut ignored, &ServerMessage::Close { code, reason }).await;
    let frame = CloseFrame {
        code: code.as_u16(),
        reason: code.ws_reason().into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_HANDSHAKE_WAIT, async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}

/// The ticket's host and its pool, as the database has them now. Browser and native
/// sessions both start from these.
pub(crate) async fn host_and_pool(
    service: &SessionService,
    claims: &Claims,
) -> Result<(hamn_broker::model::Host, hamn_broker::model::HostPool), SessionError> {
    let mut conn = service.database.acquire().await?;
    let host = repo::hosts::get(&mut conn, claims.host_id)
        .await?
        .ok_or(SessionError::UnknownHost(claims.host_id))?;
    let pool = repo::pools::get(&mut conn, host.pool_id)
        .await?
        .ok_or(SessionError::UnknownPool(host.pool_id))?;
    Ok((host, pool))
}

/// The host of the ticket, its pool's credentials and certificate policy, and the
/// browser's size clamped to what RDP accepts; and the pool's timeouts.
async fn host_params(
    service: &SessionService,
    claims: &Claims,
    hello: &ClientHello,
) -> Result<(RdpParams, PoolTimeouts), SessionError> {
    let (host, pool) = host_and_pool(service, claims).await?;
    let cert_policy = match pool.host_cert_check() {
        HostCertCheck::Verify { ca_pem } => CertPolicy::Verify {
            ca_pem: ca_pem.map(str::to_owned),
        },
        HostCertCheck::Pin(sha256) => CertPolicy::Pin { sha256 },
        HostCertCheck::Ignore => CertPolicy::Ignore,
    };
    let credentials =
        hamn_broker::credentials::resolve(&service.database, &service.secrets, pool.id).await?;
    let mut params = RdpParams::new(
        host.address,
        host.port,
        HostCredentials {
            username: credentials.username,
            domain: credentials.domain,
            password: credentials.password.expose().to_owned(),
        },
        cert_policy,
    );
    params.width = hello
        .width
        .clamp(rdp::config::MIN_DESKTOP, rdp::config::MAX_DESKTOP);
    params.height = hello
        .height
        .clamp(rdp::config::MIN_DESKTOP, rdp::config::MAX_DESKTOP);
    params.connect_timeout = service.config.connect_timeout;
    // The pool's limit, but never more than the wire carries to the browser.
    let wire_limit = service.config.limits.max_clipboard as u64;
    params.clipboard =
        ClipboardPolicy::from_pool_limit(pool.clipboard_limit().map(|limit| limit.min(wire_limit)));
    if pool.printers_enabled && service.config.printing.is_some() {
        // The app's name becomes the job's title in the notification.
        let app = {
            let mut conn = service.database.acquire().await?;
            repo::apps::get(&mut conn, claims.app_id).await?
        };
        let title = app.map_or_else(|| "Utskrift".to_owned(), |app| app.display_name);
        params.printer = crate::print::printer_for(
            &pool,
            service.config.printing.as_ref(),
            &service.database,
            claims.session_id,
            &title,
        );
    }
    Ok((params, pool.timeouts()))
}

/// The browser's close code for an RDP failure; `connected` tells a lost connection
/// mid-session (the host went away) from one lost while connecting (not reachable).
fn close_code_of(error: &RdpError, connected: bool) -> CloseCode {
    match error {
        RdpError::HostUnreachable { .. } => CloseCode::HostUnreachable,
        RdpError::AuthenticationFailed(_) | RdpError::LogonNotConfirmed(_) => {
            CloseCode::HostAuthFailed
        }
        RdpError::HostDisconnected(_) => CloseCode::HostDisconnected,
        RdpError::ConnectionLost { .. } if connected => CloseCode::HostDisconnected,
        RdpError::ConnectionLost { .. } => CloseCode::HostUnreachable,
        RdpError::Timeout { .. } => CloseCode::HostNotResponding,
        RdpError::CertificateRejected(_)
        | RdpError::Tls(_)
        | RdpError::SecurityNegotiation(_)
        | RdpError::Protocol { .. }
        | RdpError::Redirected => CloseCode::HostProtocolError,
        RdpError::InvalidParams(_) | RdpError::Panicked(_) => CloseCode::InternalError,
    }
}

/// How long host damage must be quiet before a frame starts.
const BURST_SETTLE: Duration = Duration::from_millis(2);
/// A burst that keeps going still goes out after this long.
const BURST_MAX: Duration = Duration::from_millis(10);

/// When the frame for `burst` may start: once the damage settled (or went on too long),
/// and not sooner than `gap` after the last frame (the pacing cap).
fn burst_deadline(
    burst: Option<(Instant, Instant)>,
    last_frame: Option<Instant>,
    gap: Duration,
) -> tokio::time::Instant {
    let now = Instant::now();
    let (first, latest) = burst.unwrap_or((now, now));
    let settled = (latest + BURST_SETTLE).min(first + BURST_MAX);
    let paced = last_frame.map_or(settled, |at| at + gap);
    tokio::time::Instant::from_std(settled.max(paced))
}

fn pacing(max_fps: u32) -> Duration {
    Duration::from_secs(1) / max_fps.clamp(1, 240)
}

/// Moves the `sessions` row to `state` and audits `action`. Failures are logged: the
/// session itself must not fail on bookkeeping.
pub(crate) async fn record(
    service: &SessionService,
    claims: &Claims,
    state: SessionState,
    action: &str,
    outcome: AuditOutcome,
    detail: String,
    source: Option<&str>,
) {
    let result = async {
        let mut conn = service.database.acquire().await?;
        repo::sessions::set_state(
            &mut conn,
            claims.session_id,
            state,
            time::OffsetDateTime::now_utc(),
        )
        .await?;
        insert_session_event(&mut conn, service, claims, action, outcome, detail, source).await
    }
    .await;
    if let Err(error) = result {
        tracing::warn!(%error, session = %claims.session_id, action, "session bookkeeping failed");
    }
}

/// Inserts an audit event about the claims' session: the user is the actor, and the
/// detail names the host and this gateway node. Browser and native sessions both use it.
pub(crate) async fn insert_session_event(
    conn: &mut repo::AnyConnection,
    service: &SessionService,
    claims: &Claims,
    action: &str,
    outcome: AuditOutcome,
    detail: String,
    source: Option<&str>,
) -> Result<(), DbError> {
    let actor_name = repo::users::get(conn, claims.user_id)
        .await?
        .map_or_else(|| claims.user_id.to_string(), |u| u.display_name);
    let event = NewAuditEvent {
        tenant_id: Some(claims.tenant_id),
        actor_kind: ActorKind::User,
        actor_id: Some(claims.user_id.to_string()),
        actor_name,
        action: action.to_owned(),
        target_type: Some("session".to_owned()),
        target_id: Some(claims.session_id.to_string()),
        outcome,
        source_address: source.map(str::to_owned),
        before: None,
        after: None,
        detail: Some(format!(
            "{detail}; host {} gateway {}",
            claims.host_id, service.config.node
        )),
    };
    repo::audit::insert(conn, &event).await.map(drop)
}

//! A running RDP session: one tokio task owns the link and the display sink; callers hold a
//! cloneable [`RdpHandle`] (input, resize, clipboard, close, counters) and a [`SessionTask`] that yields
//! how the session ended. A panic inside the task is caught and reported as
//! [`RdpError::Panicked`]; it ends only that session.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ironrdp_session::image::DecodedImage;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::clipboard::{ClipboardError, ClipboardPolicy};
use super::error::RdpError;
use super::input::RdpInput;
use super::link::Link;
use super::printer::Completion;
use super::sink::{DisplaySink, Rect};

/// Queued commands per session; input beyond this waits (or `try_input` fails).
const COMMAND_QUEUE: usize = 256;
/// How long a graceful close waits for the host to hang up after the Shutdown Request.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Live counters of one session (shared with every handle).
#[derive(Debug, Default)]
pub struct Counters {
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) frames_in: AtomicU64,
    pub(crate) graphics_updates: AtomicU64,
    pub(crate) input_events: AtomicU64,
    pub(crate) reactivations: AtomicU64,
    pub(crate) decode_micros: AtomicU64,
    pub(crate) clipboard_offers_accepted: AtomicU64,
    pub(crate) clipboard_from_host: AtomicU64,
}

/// RDP bytes received by every session of this process so far, counted like
/// [`SessionStats::bytes_in`]: the gateway-wide figure that benchmarks set against the bytes
/// sent to browsers (`bench/benches/sessions/`), without reaching into a session.
pub(crate) static PROCESS_BYTES_IN: AtomicU64 = AtomicU64::new(0);

/// [`SessionStats::bytes_in`] summed over every session this process has run.
pub fn process_bytes_in() -> u64 {
    PROCESS_BYTES_IN.load(Ordering::Relaxed)
}

/// A snapshot of [`Counters`]. Bytes are RDP PDU bytes inside TLS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStats {
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// PDUs (frames) received from the host.
    pub frames_in: u64,
    /// Graphics updates (damaged regions) decoded.
    pub graphics_updates: u64,
    pub input_events: u64,
    pub reactivations: u64,
    /// Time spent in IronRDP's frame processing (decoding into the image), microseconds.
    pub decode_micros: u64,
    /// Clipboard texts offered to the host that it acknowledged (it can paste them).
    pub clipboard_offers_accepted: u64,
    /// Host clipboard events handed to the sink (texts and refusals).
    pub clipboard_from_host: u64,
}

impl Counters {
    pub fn snapshot(&self) -> SessionStats {
        SessionStats {
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            frames_in: self.frames_in.load(Ordering::Relaxed),
            graphics_updates: self.graphics_updates.load(Ordering::Relaxed),
            input_events: self.input_events.load(Ordering::Relaxed),
            reactivations: self.reactivations.load(Ordering::Relaxed),
            decode_micros: self.decode_micros.load(Ordering::Relaxed),
            clipboard_offers_accepted: self.clipboard_offers_accepted.load(Ordering::Relaxed),
            clipboard_from_host: self.clipboard_from_host.load(Ordering::Relaxed),
        }
    }
}

/// How a session ended without error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// The gateway closed it ([`RdpHandle::close`], or every handle dropped).
    Closed,
    /// The host ended it (logoff, disconnect by an administrator, …), with its reason.
    HostEnded(String),
}

/// Whether a resize request went to the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResizeOutcome {
    /// Sent over display control; a reactivation with the new size follows.
    Requested,
    /// The host has no display control (yet): keep the size and scale.
    Unsupported,
}

/// The session is over; nothing more can be sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the RDP session has ended")]
pub struct SessionGone;

/// Why [`RdpHandle::try_input`] did not queue the input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TryInputError {
    #[error("the session's input queue is full")]
    Full,
    #[error("the RDP session has ended")]
    Gone,
}

enum Command {
    Input(Vec<RdpInput>),
    Resize {
        width: u16,
        height: u16,
        reply: oneshot::Sender<Result<ResizeOutcome, String>>,
    },
    Clipboard(String),
}

/// A connected, logged-on session that is not running yet: the first picture is in
/// [`RdpSession::image`]. [`RdpSession::start`] hands it to its own task.
pub struct RdpSession {
    link: Link,
    connect_time: Duration,
}

impl std::fmt::Debug for RdpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RdpSession")
            .field("desktop_size", &self.desktop_size())
            .field("connect_time", &self.connect_time)
            .finish_non_exhaustive()
    }
}

impl RdpSession {
    pub(crate) fn new(link: Link, connect_time: Duration) -> Self {
        Self { link, connect_time }
    }

    pub fn desktop_size(&self) -> (u16, u16) {
        self.link.desktop_size()
    }

    /// From the TCP connect to the logged-on session.
    pub fn connect_time(&self) -> Duration {
        self.connect_time
    }

    /// The desktop as decoded so far.
    pub fn image(&self) -> &DecodedImage {
        &self.link.image
    }

    pub fn stats(&self) -> SessionStats {
        self.link.counters.snapshot()
    }

    /// Starts the session task. The sink first gets `resize` and a full `update` of the
    /// current image (and the last pointer shape), then every change.
    pub fn start<S: DisplaySink>(self, sink: S) -> (RdpHandle, SessionTask) {
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let close = CancellationToken::new();
        let counters = self.link.counters.clone();
        let clipboard = self.link.clipboard_policy();
        let inner = tokio::spawn(run(self.link, sink, rx, close.clone()));
        let join = tokio::spawn(supervise(inner, counters.clone()));
        (
            RdpHandle {
                tx,
                close,
                counters,
                clipboard,
            },
            SessionTask { join },
        )
    }
}

/// Sends input and resize requests into a running session, and closes it. Cheap to clone;
/// when every handle is dropped the session closes.
#[derive(Clone, Debug)]
pub struct RdpHandle {
    tx: mpsc::Sender<Command>,
    close: CancellationToken,
    counters: Arc<Counters>,
    clipboard: Option<ClipboardPolicy>,
}

impl RdpHandle {
    /// Makes `text` the clipboard the host pastes from: announced as Unicode text and served
    /// when the host asks. Refused without sending anything when the session has no
    /// clipboard ([`ClipboardError::Disabled`]) or the text is over the policy's limit in
    /// UTF-8 bytes ([`ClipboardError::TooLarge`]). A host without a clipboard channel
    /// silently never pastes.
    pub async fn clipboard_to_host(&self, text: String) -> Result<(), ClipboardError> {
        let policy = self.clipboard.ok_or(ClipboardError::Disabled)?;
        policy.check(&text)?;
        self.tx
            .send(Command::Clipboard(text))
            .await
            .map_err(|_| ClipboardError::Gone)
    }

    /// The session's clipboard policy; `None` when the clipboard is off.
    pub fn clipboard_policy(&self) -> Option<ClipboardPolicy> {
        self.clipboard
    }

    /// Queues input, waiting while the queue is full.
    pub async fn input(&self, inputs: Vec<RdpInput>) -> Result<(), SessionGone> {
        self.tx
            .send(Command::Input(inputs))
            .await
            .map_err(|_| SessionGone)
    }

    /// Queues input without waiting.
    pub fn try_input(&self, inputs: Vec<RdpInput>) -> Result<(), TryInputError> {
        self.tx
            .try_send(Command::Input(inputs))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => TryInputError::Full,
                mpsc::error::TrySendError::Closed(_) => TryInputError::Gone,
            })
    }

    /// Asks the host for a new desktop size (display control, dynamic resolution). The width
    /// is rounded down to even and both are clamped to 200..=8192. On success the sink gets
    /// `resize` and fresh pictures once the host has reactivated.
    pub async fn resize(&self, width: u16, height: u16) -> Result<ResizeOutcome, SessionGone> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::Resize {
                width,
                height,
                reply,
            })
            .await
            .map_err(|_| SessionGone)?;
        match answer.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(_)) | Err(_) => Err(SessionGone),
        }
    }

    /// Closes the session (Shutdown Request, then the connection). Bypasses the input queue.
    pub fn close(&self) {
        self.close.cancel();
    }

    pub fn stats(&self) -> SessionStats {
        self.counters.snapshot()
    }

    /// Whether the session task has ended.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// How the session ended, once it has.
#[derive(Debug)]
pub struct SessionTask {
    join: JoinHandle<Result<SessionEnd, RdpError>>,
}

impl SessionTask {
    pub async fn wait(self) -> Result<SessionEnd, RdpError> {
        match self.join.await {
            Ok(result) => result,
            Err(e) => Err(RdpError::Panicked(format!("session supervisor: {e}"))),
        }
    }

    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }
}

async fn supervise(
    inner: JoinHandle<Result<SessionEnd, RdpError>>,
    counters: Arc<Counters>,
) -> Result<SessionEnd, RdpError> {
    let result = match inner.await {
        Ok(result) => result,
        Err(e) if e.is_panic() => {
            let payload = e.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            Err(RdpError::Panicked(message))
        }
        Err(e) => Err(RdpError::Panicked(format!("session task cancelled: {e}"))),
    };
    let stats = counters.snapshot();
    match &result {
        Ok(end) => tracing::info!(?end, ?stats, "RDP session ended"),
        Err(error) => tracing::warn!(%error, ?stats, "RDP session failed"),
    }
    result
}

async fn run<S: DisplaySink>(
    mut link: Link,
    mut sink: S,
    mut commands: mpsc::Receiver<Command>,
    close: CancellationToken,
) -> Result<SessionEnd, RdpError> {
    let (width, height) = link.desktop_size();
    sink.resize(width, height);
    sink.update(Rect::full(width, height), &link.image);
    if let Some(pointer) = link.last_pointer.clone() {
        sink.pointer(pointer);
    }
    if let Some(clipboard) = link.take_held_clipboard() {
        sink.clipboard(clipboard);
    }
    let mut print_completions = link.print_completions.take();
    loop {
        tokio::select! {
            () = close.cancelled() => return shut_down(&mut link).await,
            frame = link.read_frame() => {
                let (action, frame) = frame?;
                let processed = link.process(action, &frame, Some(&mut sink as &mut dyn DisplaySink)).await?;
                if let Some(reason) = processed.terminated {
                    return Ok(SessionEnd::HostEnded(reason.description()));
                }
            }
            Some((file_id, completion)) = next_completion(&mut print_completions) => {
                link.complete_print(file_id, completion).await?;
            }
            command = commands.recv() => match command {
                None => return shut_down(&mut link).await,
                Some(Command::Input(inputs)) => link.send_input(&inputs).await?,
                Some(Command::Clipboard(text)) => link.offer_clipboard(&text).await?,
                Some(Command::Resize { width, height, reply }) => {
                    let outcome = link.request_resize(width, height).await;
                    let answer = match &outcome {
                        Ok(true) => Ok(ResizeOutcome::Requested),
                        Ok(false) => Ok(ResizeOutcome::Unsupported),
                        Err(e) => Err(e.to_string()),
                    };
                    // The caller may have gone away; the session goes on.
                    let _ = reply.send(answer);
                    outcome?;
                }
            },
        }
    }
}

/// The next IRP completion of the printer's forwarders; pending forever without a printer.
async fn next_completion(
    completions: &mut Option<mpsc::Receiver<(u32, Completion)>>,
) -> Option<(u32, Completion)> {
    match completions {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Sends the Shutdown Request and gives the host a moment to hang up; the connection is
/// dropped either way (the user's session stays on the host, disconnected).
async fn shut_down(link: &mut Link) -> Result<SessionEnd, RdpError> {
    if let Err(error) = link.request_shutdown().await {
        tracing::debug!(%error, "shutdown request not delivered");
        return Ok(SessionEnd::Closed);
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Ok((action, frame)) = link.read_frame().await {
            match link.process(action, &frame, None).await {
                Ok(processed) if processed.terminated.is_none() => {}
                _ => break,
            }
        }
    })
    .await;
    Ok(SessionEnd::Closed)
}

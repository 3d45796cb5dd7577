//! An active RDP link: the upgraded transport, IronRDP's `ActiveStage`, the decoded desktop
//! image and the held-input state. Reads one host frame at a time, writes the responses
//! (frame acknowledgements) *before* reporting anything, and runs the
//! deactivation-reactivation sequence when the host asks for it. With a clipboard policy it
//! also runs the clipboard channel: oversize host data is dropped before IronRDP buffers it,
//! and [`ClipboardState`]'s actions are carried out against IronRDP's `Cliprdr`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ironrdp_cliprdr::CliprdrClient;
use ironrdp_cliprdr::pdu::{ClipboardFormat, ClipboardFormatId, OwnedFormatDataResponse};
use ironrdp_connector::connection_activation::{
    ConnectionActivationFactory, ConnectionActivationState,
};
use ironrdp_core::WriteBuf;
use ironrdp_graphics::image_processing::PixelFormat;
use ironrdp_pdu::Action;
use ironrdp_pdu::rdp::server_error_info::{ErrorInfo, ProtocolIndependentCode};
use ironrdp_rdpdr::Rdpdr;
use ironrdp_rdpdr::pdu::RdpdrPdu;
use ironrdp_session::image::DecodedImage;
use ironrdp_session::{ActiveStage, ActiveStageOutput, GracefulDisconnectReason};
use ironrdp_svc::{SvcMessage, SvcProcessorMessages};
use ironrdp_tokio::{FramedWrite as _, TokioFramed};
use tokio::sync::mpsc;
use tokio_rustls::client::TlsStream;

use super::clipboard::{
    ChannelEvent, ChunkGuard, ChunkVerdict, ClipAction, ClipboardPolicy, ClipboardState,
    HostClipboard, QueueBackend,
};
use super::error::{Phase, RdpError, error_chain};
use super::input::{InputState, RdpInput};
use super::printer::{Completion, IrpQueue, PrinterEvent, PrinterRunner};
use super::session::Counters;
use super::sink::{DisplaySink, PointerUpdate, Rect};

pub(crate) type Transport = TokioFramed<TlsStream<HostStream>>;

/// The byte stream under the host's TLS: the TCP connection to the host, or an in-memory
/// pipe whose other end the caller carries some other way (a test runs RDP through the
/// gateway's own native websocket relay). An enum, not a trait object: the session task's
/// futures must stay `Send` for every lifetime.
#[derive(Debug)]
pub enum HostStream {
    Tcp(tokio::net::TcpStream),
    Pipe(tokio::io::DuplexStream),
}

impl tokio::io::AsyncRead for HostStream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            HostStream::Tcp(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            HostStream::Pipe(s) => std::pin::Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl tokio::io::AsyncWrite for HostStream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            HostStream::Tcp(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            HostStream::Pipe(s) => std::pin::Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            HostStream::Tcp(s) => std::pin::Pin::new(s).poll_flush(cx),
            HostStream::Pipe(s) => std::pin::Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            HostStream::Tcp(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            HostStream::Pipe(s) => std::pin::Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// How long a deactivation-reactivation sequence may take.
const REACTIVATION_TIMEOUT: Duration = Duration::from_secs(10);

/// What one processed frame meant for the caller.
#[derive(Debug, Default)]
pub(crate) struct Processed {
    /// The host confirmed the logon (Save Session Info, logon complete).
    pub logon_confirmed: bool,
    /// At least one graphics update landed in the image.
    pub graphics: bool,
    /// The damaged regions, clipped to the desktop.
    pub regions: Vec<Rect>,
    /// The host ended the session.
    pub terminated: Option<GracefulDisconnectReason>,
    /// The host reported a logon error (Save Session Info, logon errors).
    pub logon_error: Option<String>,
}

pub(crate) struct Link {
    pub framed: Transport,
    pub stage: ActiveStage,
    pub image: DecodedImage,
    pub activation: ConnectionActivationFactory,
    pub input: InputState,
    pub counters: Arc<Counters>,
    /// The last pointer shape, replayed to a sink that attaches later.
    pub last_pointer: Option<PointerUpdate>,
    pub fastpath_input: bool,
    /// Static-channel PDUs (clipboard, …) that arrived during a reactivation, replayed
    /// through the active stage before the next read.
    pub deferred: std::collections::VecDeque<ironrdp_tokio::bytes::BytesMut>,
    /// `None`: the pool has the clipboard off and the channel was not offered.
    pub clipboard: Option<LinkClipboard>,
    /// `None`: no printer redirected (rdpdr and rdpsnd not offered).
    pub printer: Option<PrinterRunner>,
    /// Where the printer's forwarders complete IRPs; the session task takes it.
    pub print_completions: Option<mpsc::Receiver<(u32, Completion)>>,
}

/// The clipboard side of a link whose policy allows it.
pub(crate) struct LinkClipboard {
    state: ClipboardState,
    guard: ChunkGuard,
    /// The channel the host joined; `None` when it offers no clipboard.
    channel_id: Option<u16>,
    /// Host clipboard news that came before a sink was attached (the logon phase).
    held: Option<HostClipboard>,
}

impl LinkClipboard {
    pub fn new(policy: ClipboardPolicy, channel_id: Option<u16>) -> Self {
        Self {
            state: ClipboardState::new(policy),
            guard: ChunkGuard::new(policy.max_wire_bytes()),
            channel_id,
            held: None,
        }
    }
}

impl Link {
    pub fn desktop_size(&self) -> (u16, u16) {
        (self.image.width(), self.image.height())
    }

    /// Reads the next frame from the host (cancel safe).
    pub async fn read_frame(
        &mut self,
    ) -> Result<(Action, ironrdp_tokio::bytes::BytesMut), RdpError> {
        if let Some(frame) = self.deferred.pop_front() {
            return Ok((Action::X224, frame));
        }
        let (action, frame) = self
            .framed
            .read_pdu()
            .await
            .map_err(|e| RdpError::from_io(Phase::Session, &e))?;
        self.counters
            .bytes_in
            .fetch_add(frame.len() as u64, Ordering::Relaxed);
        super::session::PROCESS_BYTES_IN.fetch_add(frame.len() as u64, Ordering::Relaxed);
        self.counters.frames_in.fetch_add(1, Ordering::Relaxed);
        Ok((action, frame))
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), RdpError> {
        if bytes.is_empty() {
            return Ok(());
        }
        if let Some(printer) = &self.printer {
            printer.tap_gateway(bytes);
        }
        self.framed
            .write_all(bytes)
            .await
            .map_err(|e| RdpError::from_io(Phase::Session, &e))?;
        self.counters
            .bytes_out
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Writes the response frames among `outputs` (acknowledgements, input), in order.
    async fn write_responses(&mut self, outputs: &[ActiveStageOutput]) -> Result<(), RdpError> {
        for output in outputs {
            if let ActiveStageOutput::ResponseFrame(bytes) = output {
                self.write(bytes).await?;
            }
        }
        Ok(())
    }

    /// Processes one host frame: responses go out first, then graphics and pointer changes go
    /// to `sink` (when there is one; without, they only land in the image).
    pub async fn process(
        &mut self,
        action: Action,
        frame: &[u8],
        mut sink: Option<&mut dyn DisplaySink>,
    ) -> Result<Processed, RdpError> {
        if let (Some(printer), Action::X224) = (&self.printer, action) {
            printer.tap_host(frame);
        }
        if let Some(actions) = self.guard_clipboard(action, frame) {
            self.run_clipboard(actions, sink).await?;
            return Ok(Processed::default());
        }
        let started = std::time::Instant::now();
        let decoded = self.stage.process(&mut self.image, action, frame, None);
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.counters
            .decode_micros
            .fetch_add(micros, Ordering::Relaxed);
        let outputs = decoded.map_err(|e| RdpError::Protocol {
            phase: Phase::Session,
            detail: error_chain(&e),
        })?;

        // Acknowledgements first: the host paces its frames on them.
        self.write_responses(&outputs).await?;

        let mut processed = Processed::default();
        let (width, height) = self.desktop_size();
        for output in outputs {
            match output {
                ActiveStageOutput::ResponseFrame(_) => {}
                ActiveStageOutput::GraphicsUpdate(region) => {
                    processed.graphics = true;
                    self.counters
                        .graphics_updates
                        .fetch_add(1, Ordering::Relaxed);
                    if let Some(rect) = Rect::from_inclusive(&region, width, height) {
                        if let Some(sink) = sink.as_deref_mut() {
                            sink.update(rect, &self.image);
                        }
                        processed.regions.push(rect);
                    }
                }
                ActiveStageOutput::PointerDefault => {
                    self.pointer(PointerUpdate::Default, sink.as_deref_mut())
                }
                ActiveStageOutput::PointerHidden => {
                    self.pointer(PointerUpdate::Hidden, sink.as_deref_mut())
                }
                ActiveStageOutput::PointerPosition { x, y } => {
                    if let Some(sink) = sink.as_deref_mut() {
                        sink.pointer(PointerUpdate::Position { x, y });
                    }
                }
                ActiveStageOutput::PointerBitmap(pointer) => {
                    self.pointer(PointerUpdate::Bitmap(pointer), sink.as_deref_mut())
                }
                ActiveStageOutput::Terminate(reason) => processed.terminated = Some(reason),
                ActiveStageOutput::SaveSessionInfo { logon_complete } => {
                    tracing::debug!(logon_complete, "host sent Save Session Info");
                    processed.logon_confirmed |= logon_complete;
                }
                ActiveStageOutput::LogonErrors(info) => {
                    tracing::info!(error = ?info.error_type, "host reported a logon error");
                    processed.logon_error = Some(format!("{:?}", info.error_type));
                }
                ActiveStageOutput::DeactivateAll => {
                    self.reactivate(sink.as_deref_mut()).await?;
                }
                ActiveStageOutput::ServerRedirection(_) => return Err(RdpError::Redirected),
                other => tracing::debug!(output = ?other, "ignored session output"),
            }
        }
        self.pump_clipboard(sink).await?;
        self.pump_printer().await?;
        Ok(processed)
    }

    /// Acts on what the printer channel reported while processing a frame.
    async fn pump_printer(&mut self) -> Result<(), RdpError> {
        let Some(printer) = self.printer.as_mut() else {
            return Ok(());
        };
        let events: Vec<PrinterEvent> = match self
            .stage
            .get_svc_processor_mut::<Rdpdr>()
            .and_then(|c| c.downcast_backend_mut::<IrpQueue>())
        {
            Some(backend) if !backend.events.is_empty() => backend.events.drain(..).collect(),
            _ => return Ok(()),
        };
        let replies = printer.on_events(events);
        self.send_rdpdr(replies).await
    }

    /// Answers an IRP a print job's forwarder completed.
    pub async fn complete_print(
        &mut self,
        file_id: u32,
        completion: Completion,
    ) -> Result<(), RdpError> {
        let Some(printer) = self.printer.as_mut() else {
            return Ok(());
        };
        let reply = printer.on_completion(file_id, completion);
        self.send_rdpdr(vec![reply]).await
    }

    async fn send_rdpdr(&mut self, pdus: Vec<RdpdrPdu>) -> Result<(), RdpError> {
        if pdus.is_empty() || self.stage.get_svc_processor::<Rdpdr>().is_none() {
            return Ok(());
        }
        let messages: Vec<SvcMessage> = pdus.into_iter().map(SvcMessage::from).collect();
        let bytes = self
            .stage
            .process_svc_processor_messages(SvcProcessorMessages::<Rdpdr>::new(messages))
            .map_err(|e| RdpError::Protocol {
                phase: Phase::Session,
                detail: error_chain(&e),
            })?;
        self.write(&bytes).await
    }

    /// The policy of the session's clipboard, `None` when it is off.
    pub fn clipboard_policy(&self) -> Option<ClipboardPolicy> {
        self.clipboard.as_ref().map(|c| c.state.policy())
    }

    /// Host clipboard news that arrived before the sink did.
    pub fn take_held_clipboard(&mut self) -> Option<HostClipboard> {
        self.clipboard.as_mut().and_then(|c| c.held.take())
    }

    /// Offers `text` (already within the policy) as the clipboard to the host.
    pub async fn offer_clipboard(&mut self, text: &str) -> Result<(), RdpError> {
        let Some(clip) = self.clipboard.as_mut() else {
            return Ok(());
        };
        if clip.channel_id.is_none() {
            tracing::debug!("clipboard text not offered: the host has no clipboard channel");
        }
        let actions = clip.state.offer_text(text);
        self.run_clipboard(actions, None).await?;
        self.pump_clipboard(None).await
    }

    /// `Some(actions)` when the frame is clipboard data the guard drops (IronRDP never sees
    /// it); `None` to process the frame as usual.
    fn guard_clipboard(&mut self, action: Action, frame: &[u8]) -> Option<Vec<ClipAction>> {
        let clip = self.clipboard.as_mut()?;
        let channel_id = clip.channel_id?;
        if !matches!(action, Action::X224) {
            return None;
        }
        let data = ironrdp_pdu::mcs::decode_send_data_indication(frame).ok()?;
        if data.channel_id != channel_id {
            return None;
        }
        match clip.guard.judge(data.user_data) {
            ChunkVerdict::Pass => None,
            ChunkVerdict::Drop(Some(total)) => {
                tracing::info!(
                    announced_bytes = total,
                    max_bytes = clip.state.policy().max_bytes,
                    "host clipboard data over the limit refused"
                );
                Some(clip.state.host_data_refused(total))
            }
            ChunkVerdict::Drop(None) => Some(Vec::new()),
        }
    }

    /// Feeds what IronRDP's `Cliprdr` reported to the clipboard state and carries out its
    /// actions, until nothing more is reported.
    async fn pump_clipboard(
        &mut self,
        mut sink: Option<&mut dyn DisplaySink>,
    ) -> Result<(), RdpError> {
        if self.clipboard.is_none() {
            return Ok(());
        }
        loop {
            let events: Vec<ChannelEvent> = match self
                .stage
                .get_svc_processor_mut::<CliprdrClient>()
                .and_then(|c| c.downcast_backend_mut::<QueueBackend>())
            {
                Some(backend) if !backend.events.is_empty() => backend.events.drain(..).collect(),
                _ => return Ok(()),
            };
            let Some(clip) = self.clipboard.as_mut() else {
                return Ok(());
            };
            let actions = events
                .into_iter()
                .flat_map(|event| clip.state.on_event(event))
                .collect();
            self.run_clipboard(actions, sink.as_deref_mut()).await?;
        }
    }

    /// Carries out clipboard actions: PDUs through IronRDP's `Cliprdr` to the host, news to
    /// the sink (or held until there is one). A PDU `Cliprdr` refuses to build is logged and
    /// skipped: the clipboard never ends a session.
    async fn run_clipboard(
        &mut self,
        actions: Vec<ClipAction>,
        mut sink: Option<&mut dyn DisplaySink>,
    ) -> Result<(), RdpError> {
        for action in actions {
            if let ClipAction::Deliver(event) = action {
                self.counters
                    .clipboard_from_host
                    .fetch_add(1, Ordering::Relaxed);
                match sink.as_deref_mut() {
                    Some(sink) => sink.clipboard(event),
                    None => {
                        if let Some(clip) = self.clipboard.as_mut() {
                            clip.held = Some(event);
                        }
                    }
                }
                continue;
            }
            if let ClipAction::OfferAccepted = action {
                self.counters
                    .clipboard_offers_accepted
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let Some(cliprdr) = self.stage.get_svc_processor_mut::<CliprdrClient>() else {
                continue;
            };
            let messages = match action {
                ClipAction::AnnounceFormats { text } => {
                    let formats: &[ClipboardFormat] = if text {
                        &[ClipboardFormat::new(ClipboardFormatId::CF_UNICODETEXT)]
                    } else {
                        &[]
                    };
                    cliprdr.initiate_copy(formats)
                }
                ClipAction::RequestData(format) => cliprdr.initiate_paste(format),
                ClipAction::SendData(data) => cliprdr.submit_format_data(match data {
                    Some(bytes) => OwnedFormatDataResponse::new_data(bytes),
                    None => OwnedFormatDataResponse::new_error(),
                }),
                ClipAction::Deliver(_) | ClipAction::OfferAccepted => continue,
            };
            let messages = match messages {
                Ok(messages) => messages,
                Err(error) => {
                    tracing::warn!(%error, "clipboard PDU not sent");
                    continue;
                }
            };
            let bytes = self
                .stage
                .process_svc_processor_messages(messages)
                .map_err(|e| RdpError::Protocol {
                    phase: Phase::Session,
                    detail: error_chain(&e),
                })?;
            self.write(&bytes).await?;
        }
        Ok(())
    }

    fn pointer(&mut self, update: PointerUpdate, sink: Option<&mut dyn DisplaySink>) {
        if let Some(sink) = sink {
            sink.pointer(update.clone());
        }
        self.last_pointer = Some(update);
    }

    /// The Deactivation-Reactivation Sequence (MS-RDPBCGR 1.3.1.3): capabilities again, a new
    /// desktop size (after a display-control resize), a fresh image.
    async fn reactivate(&mut self, sink: Option<&mut dyn DisplaySink>) -> Result<(), RdpError> {
        tracing::debug!("deactivation-reactivation sequence");
        let timeout = tokio::time::timeout(REACTIVATION_TIMEOUT, self.run_activation()).await;
        let state = match timeout {
            Ok(result) => result?,
            Err(_) => {
                return Err(RdpError::Timeout {
                    phase: Phase::Activation,
                    after: REACTIVATION_TIMEOUT,
                });
            }
        };
        let ConnectionActivationState::Finalized {
            desktop_size,
            share_id,
            enable_server_pointer,
            pointer_software_rendering,
            static_channel_chunk_size,
            refresh_rect_support,
            suppress_output_support,
            ..
        } = state
        else {
            return Err(RdpError::Protocol {
                phase: Phase::Activation,
                detail: "reactivation ended without finalization".to_owned(),
            });
        };
        if !self.stage.reactivate(
            self.activation.io_channel_id(),
            self.activation.user_channel_id(),
            share_id,
            enable_server_pointer,
            pointer_software_rendering,
            static_channel_chunk_size,
        ) {
            return Err(RdpError::Protocol {
                phase: Phase::Activation,
                detail: "invalid static channel chunk size".to_owned(),
            });
        }
        self.image =
            DecodedImage::new(PixelFormat::RgbA32, desktop_size.width, desktop_size.height);
        self.input
            .set_desktop_size(desktop_size.width, desktop_size.height);
        // Graphics the host sent while the sequence ran were skipped (xrdp keeps painting
        // through it): ask for the whole new desktop again.
        let redraw = self
            .stage
            .request_full_redraw(
                desktop_size.width,
                desktop_size.height,
                refresh_rect_support,
                suppress_output_support,
            )
            .map_err(|e| RdpError::Protocol {
                phase: Phase::Activation,
                detail: error_chain(&e),
            })?;
        for frame in redraw {
            self.write(&frame).await?;
        }
        self.counters.reactivations.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            width = desktop_size.width,
            height = desktop_size.height,
            "reactivated"
        );
        if let Some(sink) = sink {
            sink.resize(desktop_size.width, desktop_size.height);
            sink.update(
                Rect::full(desktop_size.width, desktop_size.height),
                &self.image,
            );
        }
        Ok(())
    }

    /// Runs the activation sequence. Hosts go on sending while it runs (xrdp 0.9 paints
    /// slow-path bitmaps between Demand Active and the finalization PDUs), which the
    /// sequence would take for a protocol error: graphics and session notices on the I/O
    /// channel are skipped (a full redraw follows), other channels' PDUs are kept for the
    /// active stage.
    async fn run_activation(&mut self) -> Result<ConnectionActivationState, RdpError> {
        use ironrdp_connector::Sequence as _;
        let mut sequence = self.activation.create();
        let mut buf = WriteBuf::new();
        let io_channel = self.activation.io_channel_id();
        loop {
            buf.clear();
            let written = match sequence.next_pdu_hint() {
                Some(hint) => {
                    let pdu = self
                        .framed
                        .read_by_hint(hint)
                        .await
                        .map_err(|e| RdpError::from_io(Phase::Activation, &e))?;
                    self.counters
                        .bytes_in
                        .fetch_add(pdu.len() as u64, Ordering::Relaxed);
                    super::session::PROCESS_BYTES_IN.fetch_add(pdu.len() as u64, Ordering::Relaxed);
                    match classify_during_activation(&pdu, io_channel) {
                        DuringActivation::Sequence => {}
                        DuringActivation::Skip => continue,
                        DuringActivation::Defer => {
                            if self.deferred.len() < MAX_DEFERRED {
                                self.deferred.push_back(pdu.as_ref().into());
                            }
                            continue;
                        }
                    }
                    sequence.step(&pdu, self.framed.last_read_at(), &mut buf)
                }
                None => sequence.step_no_input(&mut buf),
            }
            .map_err(|e| RdpError::from_connector(Phase::Activation, e))?;
            if let Some(size) = written.size() {
                let bytes = buf.filled().get(..size).unwrap_or_default().to_vec();
                self.write(&bytes).await?;
            }
            let state = sequence.connection_activation_state();
            if matches!(
                state,
                ConnectionActivationState::Finalized { .. }
                    | ConnectionActivationState::Redirected { .. }
            ) {
                return Ok(state);
            }
        }
    }

    /// Encodes and sends input events.
    pub async fn send_input(&mut self, inputs: &[RdpInput]) -> Result<(), RdpError> {
        let mut events = Vec::with_capacity(inputs.len());
        for input in inputs {
            self.input.translate(*input, &mut events);
        }
        if events.is_empty() {
            return Ok(());
        }
        if !self.fastpath_input {
            tracing::debug!("host did not advertise fast-path input; sending it anyway");
        }
        let outputs = self
            .stage
            .process_fastpath_input(&mut self.image, &events)
            .map_err(|e| RdpError::Protocol {
                phase: Phase::Session,
                detail: error_chain(&e),
            })?;
        self.write_responses(&outputs).await?;
        self.counters
            .input_events
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Asks the host for a new desktop size over display control. `Ok(false)` when the host
    /// offers no display control (the caller scales instead).
    pub async fn request_resize(&mut self, width: u16, height: u16) -> Result<bool, RdpError> {
        let (width, height) = ironrdp_displaycontrol::pdu::MonitorLayoutEntry::adjust_display_size(
            u32::from(width),
            u32::from(height),
        );
        match self.stage.encode_resize(width, height, None, None) {
            None => Ok(false),
            Some(Err(e)) => Err(RdpError::Protocol {
                phase: Phase::Session,
                detail: error_chain(&e),
            }),
            Some(Ok(frame)) => {
                self.write(&frame).await?;
                Ok(true)
            }
        }
    }

    /// Sends the Shutdown Request PDU (the host answers by closing or with Shutdown Denied).
    pub async fn request_shutdown(&mut self) -> Result<(), RdpError> {
        let outputs = self
            .stage
            .graceful_shutdown()
            .map_err(|e| RdpError::Protocol {
                phase: Phase::Session,
                detail: error_chain(&e),
            })?;
        self.write_responses(&outputs).await?;
        Ok(())
    }
}

/// Most static-channel PDUs kept across one reactivation; a host flooding a channel while
/// reactivating loses the excess, not the session.
const MAX_DEFERRED: usize = 256;

/// What to do with a PDU that arrives while the activation sequence runs.
#[derive(Debug, PartialEq, Eq)]
enum DuringActivation {
    /// Part of the sequence (or something it must judge).
    Sequence,
    /// Graphics and notices on the I/O channel: repainted by the redraw that follows.
    Skip,
    /// Another channel's data: processed once the session is active again.
    Defer,
}

fn classify_during_activation(pdu: &[u8], io_channel: u16) -> DuringActivation {
    use ironrdp_pdu::rdp::headers::ShareDataPdu;
    let Ok(data) = ironrdp_pdu::mcs::decode_send_data_indication(pdu) else {
        return DuringActivation::Sequence;
    };
    if data.channel_id != io_channel {
        return DuringActivation::Defer;
    }
    match ironrdp_pdu::rdp::headers::decode_share_data(data).map(|c| c.pdu) {
        Ok(
            ShareDataPdu::Update(_)
            | ShareDataPdu::Pointer(_)
            | ShareDataPdu::PlaySound(_)
            | ShareDataPdu::SetKeyboardIndicators(_)
            | ShareDataPdu::SaveSessionInfo(_)
            | ShareDataPdu::StatusInfoPdu(_),
        ) => DuringActivation::Skip,
        _ => DuringActivation::Sequence,
    }
}

/// Whether a host's disconnect reason says the logon was refused.
pub(crate) fn is_logon_refusal(reason: &GracefulDisconnectReason) -> bool {
    let GracefulDisconnectReason::Other(description) = reason else {
        return false;
    };
    [
        ProtocolIndependentCode::ServerDeniedConnection,
        ProtocolIndependentCode::ServerInsufficientPrivileges,
        ProtocolIndependentCode::ServerFreshCredentialsRequired,
    ]
    .into_iter()
    .any(|code| *description == ErrorInfo::ProtocolIndependentCode(code).description())
}

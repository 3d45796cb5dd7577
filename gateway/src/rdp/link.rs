//! An active RDP link: the upgraded transport, IronRDP's `ActiveStage`, the decoded desktop
//! image and the held-input state. Reads one host frame at a time, writes the responses
//! (frame acknowledgements) *before* reporting anything, and runs the
//! deactivation-reactivation sequence when the host asks for it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ironrdp_connector::connection_activation::{
    ConnectionActivationFactory, ConnectionActivationState,
};
use ironrdp_core::WriteBuf;
use ironrdp_graphics::image_processing::PixelFormat;
use ironrdp_pdu::Action;
use ironrdp_pdu::rdp::server_error_info::{ErrorInfo, ProtocolIndependentCode};
use ironrdp_session::image::DecodedImage;
use ironrdp_session::{ActiveStage, ActiveStageOutput, GracefulDisconnectReason};
use ironrdp_tokio::{FramedWrite as _, TokioFramed};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::error::{Phase, RdpError, error_chain};
use super::input::{InputState, RdpInput};
use super::session::Counters;
use super::sink::{DisplaySink, PointerUpdate, Rect};

pub(crate) type Transport = TokioFramed<TlsStream<TcpStream>>;

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
}

impl Link {
    pub fn desktop_size(&self) -> (u16, u16) {
        (self.image.width(), self.image.height())
    }

    /// Reads the next frame from the host (cancel safe).
    pub async fn read_frame(
        &mut self,
    ) -> Result<(Action, ironrdp_tokio::bytes::BytesMut), RdpError> {
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
        self.framed
            .write_all(bytes)
            .await
            .map_err(|e| RdpError::from_io(Phase::Session, &e))?;
        self.counters
            .bytes_out
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
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
        for output in &outputs {
            if let ActiveStageOutput::ResponseFrame(bytes) = output {
                self.write(bytes).await?;
            }
        }

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
        Ok(processed)
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

    async fn run_activation(&mut self) -> Result<ConnectionActivationState, RdpError> {
        let mut sequence = self.activation.create();
        let mut buf = WriteBuf::new();
        loop {
            let written =
                ironrdp_tokio::single_sequence_step_read(&mut self.framed, &mut sequence, &mut buf)
                    .await
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
        for output in outputs {
            if let ActiveStageOutput::ResponseFrame(bytes) = output {
                self.write(&bytes).await?;
            }
        }
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
        for output in outputs {
            if let ActiveStageOutput::ResponseFrame(bytes) = output {
                self.write(&bytes).await?;
            }
        }
        Ok(())
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

//! Printing through the client's redirected printer: the RDPDR state machine
//! ([`crate::rdpdr`]) on IronRDP's "rdpdr" static channel, and the "Skriv ut" effect — the
//! selected client record rendered as PDF, or PostScript for the "MS Publisher Imagesetter"
//! driver, and written to the client's first printer.
//!
//! [`PrinterLink`] is the per-session state (owned by the session, behind its lock);
//! [`PrinterFactory`] hands IronRDP an [`RdpdrChannel`] that feeds it. Channel PDUs answer
//! client PDUs directly; a job's first PDU goes out as a server event.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime};

use ironrdp_pdu::PduResult;
use ironrdp_pdu::gcc::ChannelName;
use ironrdp_server::{ServerEvent, ServerEventSender, StaticChannelServerFactory};
use ironrdp_svc::{SvcMessage, SvcProcessor, SvcServerProcessor};
use tokio::sync::mpsc::UnboundedSender;

use crate::app::{Client, PrintOutcome};
use crate::document::{self, Format};
use crate::rdp::{SharedSession, lock};
use crate::rdpdr::{Event, PrintError, RdpdrServer};

const CHANNEL_NAME: ChannelName = ChannelName::from_static(b"rdpdr\0\0\0");

/// How long a job may go without an answer from the client before "Skriv ut" gives it up
/// and starts anew: far longer than a live client takes for an I/O request.
pub const STALLED_JOB: Duration = Duration::from_secs(60);

/// Client IDs announced to successive connections (any value unique per server will do).
static NEXT_CLIENT_ID: AtomicU32 = AtomicU32::new(1);

/// One session's printer redirection.
pub struct PrinterLink {
    server: RdpdrServer,
    sender: Option<UnboundedSender<ServerEvent>>,
    /// When the job under way last heard from the client (or started).
    job_progress: Option<Instant>,
}

impl Default for PrinterLink {
    fn default() -> Self {
        Self {
            server: RdpdrServer::new(0),
            sender: None,
            job_progress: None,
        }
    }
}

impl PrinterLink {
    /// Starts printing `client` on the first redirected printer (`wall` for the printed-at
    /// line, `now` to tell a stalled job). `Err` with the outcome when no job could start.
    pub fn print(&mut self, client: &Client, wall: SystemTime, now: Instant) -> Result<(), PrintOutcome> {
        if self.server.busy() {
            let stalled = self
                .job_progress
                .is_none_or(|since| now.saturating_duration_since(since) >= STALLED_JOB);
            if !stalled {
                return Err(PrintOutcome::Busy);
            }
            if let Some(Event::JobFailed { printer, .. }) = self.server.abandon_job() {
                tracing::warn!(%printer, "print job abandoned: the client stopped answering");
            }
        }
        let printer = self.server.printers().first().ok_or(PrintOutcome::NoPrinter)?;
        let format = Format::for_driver(printer.driver());
        tracing::info!(
            printer = printer.name(),
            driver = printer.driver(),
            ?format,
            "printing a client record"
        );
        let document = document::client_record(client, &document::printed_at(wall)).render(format);
        let messages = self.server.print(document).map_err(|error| match error {
            PrintError::NoPrinter => PrintOutcome::NoPrinter,
            PrintError::Busy => PrintOutcome::Busy,
            PrintError::TooLarge => PrintOutcome::Failed,
        })?;
        let sent = self.sender.as_ref().is_some_and(|sender| {
            sender
                .send(ServerEvent::StaticChannel(
                    messages.into_iter().map(SvcMessage::from).collect(),
                ))
                .is_ok()
        });
        if !sent {
            self.server.abandon_job();
            return Err(PrintOutcome::Failed);
        }
        self.job_progress = Some(now);
        Ok(())
    }
}

/// IronRDP's view of one connection's RDPDR channel.
pub struct RdpdrChannel {
    session: SharedSession,
}

impl core::fmt::Debug for RdpdrChannel {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RdpdrChannel").finish_non_exhaustive()
    }
}

ironrdp_core::impl_as_any!(RdpdrChannel);

impl SvcProcessor for RdpdrChannel {
    fn channel_name(&self) -> ChannelName {
        CHANNEL_NAME
    }

    fn start(&mut self) -> PduResult<Vec<SvcMessage>> {
        let mut session = lock(&self.session);
        Ok(session
            .printer
            .server
            .start()
            .into_iter()
            .map(SvcMessage::from)
            .collect())
    }

    fn process(&mut self, payload: &[u8]) -> PduResult<Vec<SvcMessage>> {
        let mut session = lock(&self.session);
        let was_busy = session.printer.server.busy();
        let output = match session.printer.server.process(payload) {
            Ok(output) => output,
            Err(error) => {
                // Dropped rather than returned: an error here would end the whole RDP connection.
                tracing::warn!(%error, "RDPDR PDU ignored");
                return Ok(Vec::new());
            }
        };
        if was_busy {
            session.printer.job_progress = Some(Instant::now());
        }
        for event in output.events {
            match event {
                Event::PrinterAdded(printer) => tracing::info!(
                    client = session.printer.server.computer_name(),
                    name = printer.name(),
                    driver = printer.driver(),
                    default = printer.is_default(),
                    device_id = printer.device_id,
                    dos_name = %printer.dos_name,
                    pnp_name = %printer.data.pnp_name,
                    code_page = printer.data.code_page,
                    cached_config_bytes = printer.data.cached_config_len,
                    "printer redirected"
                ),
                Event::PrinterRemoved { device_id } => tracing::info!(device_id, "printer removed"),
                Event::JobSent { printer } => {
                    tracing::info!(%printer, "print job sent");
                    session.print_finished(PrintOutcome::Sent { printer });
                }
                Event::JobFailed { printer, status } => {
                    tracing::warn!(%printer, status = format_args!("{status:#010x}"), "print job failed");
                    session.print_finished(PrintOutcome::Failed);
                }
            }
        }
        Ok(output.messages.into_iter().map(SvcMessage::from).collect())
    }
}

impl SvcServerProcessor for RdpdrChannel {}

/// Builds the channel for one connection's session and gives the session IronRDP's sender.
pub struct PrinterFactory {
    session: SharedSession,
}

impl PrinterFactory {
    pub fn new(session: SharedSession) -> Self {
        Self { session }
    }
}

impl StaticChannelServerFactory for PrinterFactory {
    fn build_static_channel(&self) -> Box<dyn SvcProcessor> {
        let client_id = NEXT_CLIENT_ID.fetch_add(1, Ordering::Relaxed);
        lock(&self.session).printer.server = RdpdrServer::new(client_id);
        Box::new(RdpdrChannel {
            session: SharedSession::clone(&self.session),
        })
    }
}

impl ServerEventSender for PrinterFactory {
    fn set_sender(&mut self, sender: UnboundedSender<ServerEvent>) {
        lock(&self.session).printer.sender = Some(sender);
    }
}

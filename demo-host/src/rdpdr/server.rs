//! The server side of RDPDR as a sans-IO state machine: PDUs in, PDUs and events out.
//!
//! Initialization follows Windows: Server Announce → Client Announce Reply and Client Name →
//! Server Core Capability → Client Core Capability → Server Client ID Confirm and, because the
//! RDP session's user is already logged on when the channel starts, Server User Logged On
//! (clients announce printers only after it). Printers in the client's Device List Announce
//! are accepted, other devices refused. A print job is one Create, Write requests of at most
//! [`MAX_WRITE_BYTES`] each (the next only after the previous one's response) and a Close.

use thiserror::Error;

use super::pdu::{self, ClientCapabilities, ClientPdu, DecodeError, DeviceAnnounce, IoCompletion, PrinterData};

/// Largest DR_WRITE_REQ payload.
pub const MAX_WRITE_BYTES: usize = 64 * 1024;
/// Most printers remembered per session.
pub const MAX_PRINTERS: usize = 32;
/// Largest document a job may carry.
pub const MAX_DOCUMENT_BYTES: usize = 16 << 20;

/// A printer the client redirected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printer {
    pub device_id: u32,
    pub dos_name: String,
    pub data: PrinterData,
}

impl Printer {
    pub fn name(&self) -> &str {
        &self.data.printer_name
    }

    pub fn driver(&self) -> &str {
        &self.data.driver_name
    }

    pub fn is_default(&self) -> bool {
        self.data.flags & pdu::RDPDR_PRINTER_ANNOUNCE_FLAG_DEFAULTPRINTER != 0
    }
}

/// Something the application should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A printer was announced (or announced again with new data).
    PrinterAdded(Printer),
    /// The client removed a printer.
    PrinterRemoved { device_id: u32 },
    /// The job was written and closed; the client has it.
    JobSent { printer: String },
    /// The client failed an I/O request of the job (`status` is its NTSTATUS), or removed the
    /// printer while the job was under way or the job was abandoned (`status` 0).
    JobFailed { printer: String, status: u32 },
}

/// What one step produced: PDUs to send (in order) and events for the application.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub messages: Vec<Vec<u8>>,
    pub events: Vec<Event>,
}

/// A client PDU the server could not use.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("malformed RDPDR PDU: {0}")]
    Decode(#[from] DecodeError),
    #[error("{0} before the Client Announce Reply")]
    BeforeAnnounce(&'static str),
    #[error("I/O completion {completion_id} for device {device_id} answers no outstanding request")]
    UnexpectedCompletion { device_id: u32, completion_id: u32 },
    #[error("the client acknowledged a write of {written} bytes, {sent} were sent")]
    BadWriteLength { written: u32, sent: usize },
}

/// Why a print job could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PrintError {
    #[error("the client redirected no printer")]
    NoPrinter,
    #[error("a print job is under way")]
    Busy,
    #[error("the document is larger than the limit")]
    TooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Create,
    Write {
        file_id: u32,
        len: usize,
    },
    /// `failed` holds the status of a failed write; the file is closed all the same.
    Close {
        failed: Option<u32>,
    },
}

#[derive(Debug)]
struct Job {
    device_id: u32,
    printer: String,
    document: Vec<u8>,
    /// Bytes the client has acknowledged.
    done: usize,
    completion_id: u32,
    stage: Stage,
}

/// One connection's RDPDR server.
#[derive(Debug)]
pub struct RdpdrServer {
    client_id: u32,
    announce_reply: Option<u32>,
    name_received: bool,
    capabilities_sent: bool,
    client_capabilities: Option<ClientCapabilities>,
    computer_name: String,
    printers: Vec<Printer>,
    job: Option<Job>,
    next_completion_id: u32,
}

impl RdpdrServer {
    /// A server that announces `client_id` (clients of protocol 1.12 and later adopt it).
    pub fn new(client_id: u32) -> Self {
        Self {
            client_id,
            announce_reply: None,
            name_received: false,
            capabilities_sent: false,
            client_capabilities: None,
            computer_name: String::new(),
            printers: Vec::new(),
            job: None,
            next_completion_id: 1,
        }
    }

    /// The first PDU, sent when the channel is joined.
    pub fn start(&mut self) -> Vec<Vec<u8>> {
        vec![pdu::server_announce(self.client_id)]
    }

    /// The redirected printers, in announcement order.
    pub fn printers(&self) -> &[Printer] {
        &self.printers
    }

    /// The client's name from its Client Name Request.
    pub fn computer_name(&self) -> &str {
        &self.computer_name
    }

    /// Whether a job is under way.
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// Gives up the job under way (the client stopped answering); its late completions are
    /// then refused as unexpected.
    pub fn abandon_job(&mut self) -> Option<Event> {
        self.job.take().map(|job| Event::JobFailed {
            printer: job.printer,
            status: 0,
        })
    }

    /// Handles one reassembled client PDU.
    pub fn process(&mut self, data: &[u8]) -> Result<Output, ProtocolError> {
        let mut out = Output::default();
        match pdu::decode_client_pdu(data)? {
            ClientPdu::AnnounceReply { client_id, .. } => {
                self.announce_reply = Some(client_id);
                self.send_capabilities_when_ready(&mut out);
            }
            ClientPdu::Name { computer_name } => {
                self.computer_name = computer_name;
                self.name_received = true;
                self.send_capabilities_when_ready(&mut out);
            }
            ClientPdu::Capabilities(caps) => {
                let client_id = self
                    .announce_reply
                    .ok_or(ProtocolError::BeforeAnnounce("Client Core Capability Response"))?;
                let first = self.client_capabilities.replace(caps).is_none();
                if first {
                    out.messages.push(pdu::client_id_confirm(client_id));
                    let logged_on_pdu = caps
                        .extended_pdu
                        .is_some_and(|flags| flags & pdu::RDPDR_USER_LOGGEDON_PDU != 0);
                    if logged_on_pdu {
                        out.messages.push(pdu::user_logged_on());
                    }
                }
            }
            ClientPdu::DeviceListAnnounce(devices) => {
                if self.announce_reply.is_none() {
                    return Err(ProtocolError::BeforeAnnounce("Client Device List Announce"));
                }
                for device in devices {
                    self.announce(device, &mut out);
                }
            }
            ClientPdu::DeviceListRemove(ids) => {
                for device_id in ids {
                    self.remove(device_id, &mut out);
                }
            }
            ClientPdu::IoCompletion(completion) => self.complete(&completion, &mut out)?,
            ClientPdu::Other { .. } => {}
        }
        Ok(out)
    }

    fn send_capabilities_when_ready(&mut self, out: &mut Output) {
        if self.announce_reply.is_some() && self.name_received && !self.capabilities_sent {
            self.capabilities_sent = true;
            out.messages.push(pdu::server_capabilities());
        }
    }

    fn announce(&mut self, device: DeviceAnnounce, out: &mut Output) {
        let data = device.printer.filter(|_| device.device_type == pdu::RDPDR_DTYP_PRINT);
        let Some(data) = data else {
            out.messages.push(pdu::device_announce_response(
                device.device_id,
                pdu::STATUS_NOT_SUPPORTED,
            ));
            return;
        };
        let printer = Printer {
            device_id: device.device_id,
            dos_name: device.dos_name,
            data,
        };
        if let Some(known) = self.printers.iter_mut().find(|p| p.device_id == device.device_id) {
            *known = printer.clone();
        } else if self.printers.len() < MAX_PRINTERS {
            self.printers.push(printer.clone());
        } else {
            out.messages.push(pdu::device_announce_response(
                device.device_id,
                pdu::STATUS_NOT_SUPPORTED,
            ));
            return;
        }
        out.messages
            .push(pdu::device_announce_response(device.device_id, pdu::STATUS_SUCCESS));
        out.events.push(Event::PrinterAdded(printer));
    }

    fn remove(&mut self, device_id: u32, out: &mut Output) {
        let before = self.printers.len();
        self.printers.retain(|p| p.device_id != device_id);
        if self.printers.len() == before {
            return;
        }
        out.events.push(Event::PrinterRemoved { device_id });
        if self.job.as_ref().is_some_and(|job| job.device_id == device_id)
            && let Some(job) = self.job.take()
        {
            out.events.push(Event::JobFailed {
                printer: job.printer,
                status: 0,
            });
        }
    }

    /// Starts printing `document` on the first redirected printer: returns the Create request.
    pub fn print(&mut self, document: Vec<u8>) -> Result<Vec<Vec<u8>>, PrintError> {
        let printer = self.printers.first().ok_or(PrintError::NoPrinter)?;
        if self.job.is_some() {
            return Err(PrintError::Busy);
        }
        if document.len() > MAX_DOCUMENT_BYTES {
            return Err(PrintError::TooLarge);
        }
        let device_id = printer.device_id;
        let printer = printer.name().to_owned();
        let completion_id = self.completion_id();
        self.job = Some(Job {
            device_id,
            printer,
            document,
            done: 0,
            completion_id,
            stage: Stage::Create,
        });
        Ok(vec![pdu::create_request(device_id, completion_id)])
    }

    fn completion_id(&mut self) -> u32 {
        let id = self.next_completion_id;
        self.next_completion_id = self.next_completion_id.wrapping_add(1);
        id
    }

    fn complete(&mut self, completion: &IoCompletion<'_>, out: &mut Output) -> Result<(), ProtocolError> {
        let next_id = self.next_completion_id;
        let Some(job) = self
            .job
            .as_mut()
            .filter(|job| job.device_id == completion.device_id && job.completion_id == completion.completion_id)
        else {
            return Err(ProtocolError::UnexpectedCompletion {
                device_id: completion.device_id,
                completion_id: completion.completion_id,
            });
        };
        let status = completion.io_status;
        let ok = status == pdu::STATUS_SUCCESS;
        // `Some(result)` once the job is over: `None` inside for success, else the status.
        let finished = match job.stage {
            Stage::Create if !ok => Some(Some(status)),
            Stage::Create => {
                let file_id = completion.file_id()?;
                out.messages.push(job.advance(next_id, file_id, None));
                None
            }
            Stage::Write { file_id, .. } if !ok => {
                out.messages.push(job.advance(next_id, file_id, Some(status)));
                None
            }
            Stage::Write { file_id, len } => {
                let written = completion.written()?;
                let accepted = usize::try_from(written).ok().filter(|w| *w > 0 && *w <= len);
                let Some(written_len) = accepted else {
                    return Err(ProtocolError::BadWriteLength { written, sent: len });
                };
                job.done += written_len;
                out.messages.push(job.advance(next_id, file_id, None));
                None
            }
            Stage::Close { failed } => Some(failed.or((!ok).then_some(status))),
        };
        match finished {
            None => self.next_completion_id = next_id.wrapping_add(1),
            Some(result) => {
                if let Some(job) = self.job.take() {
                    out.events.push(match result {
                        None => Event::JobSent { printer: job.printer },
                        Some(status) => Event::JobFailed {
                            printer: job.printer,
                            status,
                        },
                    });
                }
            }
        }
        Ok(())
    }
}

impl Job {
    /// The next Write of the job, or its Close when everything is written or a write failed.
    fn advance(&mut self, completion_id: u32, file_id: u32, failed: Option<u32>) -> Vec<u8> {
        self.completion_id = completion_id;
        let rest = self.document.get(self.done..).unwrap_or_default();
        if failed.is_some() || rest.is_empty() {
            self.stage = Stage::Close { failed };
            return pdu::close_request(self.device_id, file_id, completion_id);
        }
        let chunk = &rest[..rest.len().min(MAX_WRITE_BYTES)];
        self.stage = Stage::Write {
            file_id,
            len: chunk.len(),
        };
        let offset = u64::try_from(self.done).unwrap_or(u64::MAX);
        pdu::write_request(self.device_id, file_id, completion_id, offset, chunk)
    }
}

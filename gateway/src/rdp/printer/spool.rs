//! The printer's job bookkeeping, sans-IO: IRPs from the host in, answers for the host and
//! orders for the job forwarder out. The forwarder (I/O, its own task per job) completes the
//! IRPs it was handed — Create once the print service accepted the request, Write once the
//! bytes are in the request body, Close once the service answered — so a slow print service
//! slows the host's spooler, never the session. Everything the spool refuses it answers
//! itself at once: unknown handles, writes to a failed job, more jobs than
//! [`MAX_OPEN_JOBS`]. A job's size is bounded by the print service (`print.max_job_bytes`),
//! which refuses an oversized job with its reason and tells the user: one bound, one word.

use std::collections::HashMap;

use ironrdp_rdpdr::pdu::RdpdrPdu;
use ironrdp_rdpdr::pdu::efs::{
    DeviceCloseResponse, DeviceCreateResponse, DeviceIoRequest, DeviceIoResponse,
    DeviceWriteResponse, Information, NtStatus, PrinterIoRequest,
};

use super::backend::PrinterEvent;

/// Print jobs one session may have open at once; Windows prints one at a time per queue.
pub const MAX_OPEN_JOBS: usize = 4;

/// Why a job ended without reaching the print service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortReason {
    /// One Write IRP over IronRDP's per-write ceiling (no spooler sends one); the refusal
    /// code `job_too_large`.
    TooLarge,
    /// The forwarder failed (the print service is down or refused).
    Unavailable,
}

impl AbortReason {
    /// The refusal code the viewer puts in words.
    pub fn code(self) -> &'static str {
        match self {
            AbortReason::TooLarge => "job_too_large",
            AbortReason::Unavailable => "print_unavailable",
        }
    }
}

/// What the I/O edge does next.
#[derive(Debug)]
pub enum SpoolAction {
    /// Send this PDU to the host now.
    Reply(RdpdrPdu),
    /// Start a job for handle `file_id`; the forwarder completes `create`.
    Open {
        file_id: u32,
        create: DeviceIoRequest,
    },
    /// Forward these bytes; the forwarder completes `write`.
    Data {
        file_id: u32,
        write: DeviceIoRequest,
        data: Vec<u8>,
    },
    /// The document is complete; the forwarder completes `close`.
    Finish {
        file_id: u32,
        close: DeviceIoRequest,
    },
    /// Drop the job: its request to the print service is abandoned.
    Abort { file_id: u32, reason: AbortReason },
}

/// How the forwarder completed an IRP it was handed.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    Created {
        create: DeviceIoRequest,
        file_id: u32,
        ok: bool,
    },
    Written {
        write: DeviceIoRequest,
        length: u32,
        ok: bool,
    },
    Closed {
        close: DeviceIoRequest,
        ok: bool,
    },
}

#[derive(Debug)]
struct Job {
    /// Refused once; later writes fail at once and the close only cleans up.
    aborted: bool,
}

/// One session's printer: the announced device and its open jobs.
#[derive(Debug)]
pub struct Spool {
    device_id: u32,
    accepted: bool,
    next_file_id: u32,
    jobs: HashMap<u32, Job>,
}

impl Spool {
    pub fn new(device_id: u32) -> Self {
        Self {
            device_id,
            accepted: false,
            next_file_id: 1,
            jobs: HashMap::new(),
        }
    }

    /// Whether the host accepted the printer announcement.
    pub fn accepted(&self) -> bool {
        self.accepted
    }

    /// Jobs open now.
    pub fn open_jobs(&self) -> usize {
        self.jobs.len()
    }

    /// One event from the channel backend.
    pub fn on_event(&mut self, event: PrinterEvent) -> Vec<SpoolAction> {
        match event {
            PrinterEvent::Announced {
                device_id,
                accepted,
            } => {
                if device_id == self.device_id {
                    self.accepted = accepted;
                    if !accepted {
                        tracing::info!("the host refused the redirected printer");
                    }
                }
                Vec::new()
            }
            PrinterEvent::OversizeWrite(write) => self.refuse_write(write),
            PrinterEvent::Irp(PrinterIoRequest::Create(create)) => {
                self.create(create.device_io_request)
            }
            PrinterEvent::Irp(PrinterIoRequest::Write(write)) => {
                self.write(write.device_io_request, write.write_data)
            }
            PrinterEvent::Irp(PrinterIoRequest::Close(close)) => {
                self.close(close.device_io_request)
            }
        }
    }

    fn create(&mut self, create: DeviceIoRequest) -> Vec<SpoolAction> {
        if create.device_id != self.device_id || self.jobs.len() >= MAX_OPEN_JOBS {
            tracing::info!(open = self.jobs.len(), "printer create refused");
            return vec![SpoolAction::Reply(create_response(
                create,
                0,
                NtStatus::UNSUCCESSFUL,
            ))];
        }
        let file_id = self.allocate_file_id();
        self.jobs.insert(file_id, Job { aborted: false });
        vec![SpoolAction::Open { file_id, create }]
    }

    fn allocate_file_id(&mut self) -> u32 {
        loop {
            let id = self.next_file_id;
            self.next_file_id = self.next_file_id.checked_add(1).unwrap_or(1);
            if id != 0 && !self.jobs.contains_key(&id) {
                return id;
            }
        }
    }

    fn write(&mut self, write: DeviceIoRequest, data: Vec<u8>) -> Vec<SpoolAction> {
        let file_id = write.file_id;
        let Some(job) = self.jobs.get_mut(&file_id) else {
            return vec![SpoolAction::Reply(write_response(
                write,
                0,
                NtStatus::INVALID_HANDLE,
            ))];
        };
        if job.aborted {
            return vec![SpoolAction::Reply(write_response(
                write,
                0,
                NtStatus::UNSUCCESSFUL,
            ))];
        }
        vec![SpoolAction::Data {
            file_id,
            write,
            data,
        }]
    }

    /// A write the channel refused before reading it: the job is aborted, the write fails.
    fn refuse_write(&mut self, write: DeviceIoRequest) -> Vec<SpoolAction> {
        let file_id = write.file_id;
        let mut actions = Vec::new();
        if let Some(job) = self.jobs.get_mut(&file_id)
            && !job.aborted
        {
            job.aborted = true;
            tracing::info!("print job with an oversized write aborted");
            actions.push(SpoolAction::Abort {
                file_id,
                reason: AbortReason::TooLarge,
            });
        }
        actions.push(SpoolAction::Reply(write_response(
            write,
            0,
            NtStatus::UNSUCCESSFUL,
        )));
        actions
    }

    fn close(&mut self, close: DeviceIoRequest) -> Vec<SpoolAction> {
        let file_id = close.file_id;
        match self.jobs.remove(&file_id) {
            None => vec![SpoolAction::Reply(close_response(
                close,
                NtStatus::INVALID_HANDLE,
            ))],
            Some(job) if job.aborted => {
                vec![SpoolAction::Reply(close_response(close, NtStatus::SUCCESS))]
            }
            Some(_) => vec![SpoolAction::Finish { file_id, close }],
        }
    }

    /// The forwarder of `file_id` is gone before its close (the print service failed):
    /// later writes fail at once.
    pub fn forwarder_failed(&mut self, file_id: u32) {
        if let Some(job) = self.jobs.get_mut(&file_id) {
            job.aborted = true;
        }
    }

    /// The answer for an IRP the forwarder completed.
    pub fn complete(&mut self, completion: Completion) -> RdpdrPdu {
        match completion {
            Completion::Created {
                create,
                file_id,
                ok,
            } => {
                if ok {
                    create_response(create, file_id, NtStatus::SUCCESS)
                } else {
                    // Windows sends nothing more for a handle it never got.
                    self.jobs.remove(&file_id);
                    create_response(create, 0, NtStatus::UNSUCCESSFUL)
                }
            }
            Completion::Written { write, length, ok } => {
                if ok {
                    write_response(write, length, NtStatus::SUCCESS)
                } else {
                    self.forwarder_failed(write.file_id);
                    write_response(write, 0, NtStatus::UNSUCCESSFUL)
                }
            }
            Completion::Closed { close, ok } => {
                let status = if ok {
                    NtStatus::SUCCESS
                } else {
                    NtStatus::UNSUCCESSFUL
                };
                close_response(close, status)
            }
        }
    }
}

fn create_response(create: DeviceIoRequest, file_id: u32, status: NtStatus) -> RdpdrPdu {
    RdpdrPdu::DeviceCreateResponse(DeviceCreateResponse {
        device_io_reply: DeviceIoResponse::new(create, status),
        file_id,
        information: if status == NtStatus::SUCCESS {
            Information::FILE_OPENED
        } else {
            Information::empty()
        },
    })
}

fn write_response(write: DeviceIoRequest, length: u32, status: NtStatus) -> RdpdrPdu {
    RdpdrPdu::DeviceWriteResponse(DeviceWriteResponse {
        device_io_reply: DeviceIoResponse::new(write, status),
        length,
    })
}

fn close_response(close: DeviceIoRequest, status: NtStatus) -> RdpdrPdu {
    RdpdrPdu::DeviceCloseResponse(DeviceCloseResponse {
        device_io_response: DeviceIoResponse::new(close, status),
    })
}

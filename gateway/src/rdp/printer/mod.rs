//! The printer the gateway redirects into a browser session over RDPDR (and the rdpsnd
//! channel Windows wants beside it before it redirects any device).
//!
//! IronRDP's `Rdpdr` runs the channel (announce, capabilities, the printer device with its
//! driver name) and hands printer IRPs to [`IrpQueue`]; [`Spool`] decides (sans-IO) what each
//! means; the link carries out its actions: PDUs to the host, and per job a bounded queue to
//! a forwarder that [`PrintJobs::start`] spawns (the gateway's IPP client in
//! `crate::print`). The forwarder completes the IRPs it was handed through
//! [`JobStart::completions`], so a slow or absent print service delays only the host's
//! spooler (IRP errors, the user told), never the session.

mod backend;
mod runner;
mod spool;
pub mod tap;
#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};

use ironrdp_rdpdr::pdu::efs::DeviceIoRequest;
use tokio::sync::mpsc;

pub use backend::{IrpQueue, PrinterEvent};
pub(crate) use runner::PrinterRunner;
pub use spool::{AbortReason, Completion, MAX_OPEN_JOBS, Spool, SpoolAction};

/// The RDPDR device id of the one printer.
pub const PRINTER_DEVICE_ID: u32 = 1;
/// Writes queued for one job's forwarder; the host waits for each completion anyway.
pub const JOB_QUEUE: usize = 8;
/// Completions queued from every forwarder of a session to its RDP task.
pub const COMPLETION_QUEUE: usize = 64;
/// Default printer name (`gateway.printer_name`).
pub const DEFAULT_PRINTER_NAME: &str = "Hamn PDF";

/// Which Windows driver the host is asked to use, and so what it spools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrinterDriver {
    /// "Microsoft Print to PDF": PDF.
    Pdf,
    /// "MS Publisher Imagesetter": PostScript.
    PostScript,
}

impl PrinterDriver {
    /// The driver name in the announcement.
    pub fn windows_name(self) -> &'static str {
        match self {
            PrinterDriver::Pdf => "Microsoft Print to PDF",
            PrinterDriver::PostScript => "MS Publisher Imagesetter",
        }
    }

    /// The document format of its jobs.
    pub fn mime(self) -> &'static str {
        match self {
            PrinterDriver::Pdf => "application/pdf",
            PrinterDriver::PostScript => "application/postscript",
        }
    }
}

/// The printer of one session (`RdpParams::printer`; `None`: no rdpdr/rdpsnd offered).
#[derive(Debug, Clone)]
pub struct PrinterParams {
    pub name: String,
    pub driver: PrinterDriver,
    pub jobs: Arc<dyn PrintJobs>,
    /// A copy of the channel's traffic, for recording fixtures; `None` in production.
    pub tap: Option<tap::RdpdrTap>,
}

/// Starts the forwarder of one job (its own task; must not block).
pub trait PrintJobs: Send + Sync + std::fmt::Debug {
    fn start(&self, job: JobStart);
}

/// What a forwarder gets: the Create to complete, the job's input and where completions go.
#[derive(Debug)]
pub struct JobStart {
    pub file_id: u32,
    pub create: DeviceIoRequest,
    /// The document format (`application/pdf` or `application/postscript`).
    pub mime: &'static str,
    pub input: mpsc::Receiver<JobInput>,
    /// Set before `input` closes early: why the job was dropped.
    pub abort: Arc<OnceLock<AbortReason>>,
    pub completions: mpsc::Sender<(u32, Completion)>,
}

/// One step of a job for its forwarder.
#[derive(Debug)]
pub enum JobInput {
    Data {
        write: DeviceIoRequest,
        data: Vec<u8>,
    },
    Finish {
        close: DeviceIoRequest,
    },
}

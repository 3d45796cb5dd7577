//! The RDPDR backend the gateway gives IronRDP's `Rdpdr`: it answers nothing itself but
//! queues the printer's IRPs (and the host's verdict on the announcement) for the
//! [`super::Spool`], so every decision lives in one sans-IO place. Drives, smart cards and
//! ports are never announced, so their hooks only refuse.

use ironrdp_pdu::PduResult;
use ironrdp_rdpdr::RdpdrBackend;
use ironrdp_rdpdr::pdu::efs::{
    DeviceIoRequest, NtStatus, PrinterIoRequest, ServerDeviceAnnounceResponse, ServerDriveIoRequest,
};
use ironrdp_rdpdr::pdu::esc::{ScardCall, ScardIoCtlCode};
use ironrdp_svc::SvcMessage;

/// What the printer channel reported, in arrival order.
#[derive(Debug, Clone, PartialEq)]
pub enum PrinterEvent {
    /// The host accepted (`true`) or refused the announced printer.
    Announced { device_id: u32, accepted: bool },
    /// A Create, Write or Close IRP for the printer.
    Irp(PrinterIoRequest),
    /// A Write larger than IronRDP's per-write ceiling, refused before its data was read.
    OversizeWrite(DeviceIoRequest),
}

/// Queues printer events for the spool.
#[derive(Debug, Default)]
pub struct IrpQueue {
    pub(crate) events: Vec<PrinterEvent>,
}

ironrdp_core::impl_as_any!(IrpQueue);

impl RdpdrBackend for IrpQueue {
    fn handle_server_device_announce_response(
        &mut self,
        pdu: ServerDeviceAnnounceResponse,
    ) -> PduResult<()> {
        self.events.push(PrinterEvent::Announced {
            device_id: pdu.device_id,
            accepted: pdu.result_code == NtStatus::SUCCESS,
        });
        Ok(())
    }

    fn handle_scard_call(
        &mut self,
        _req: ironrdp_rdpdr::pdu::efs::DeviceControlRequest<ScardIoCtlCode>,
        _call: ScardCall,
    ) -> PduResult<Vec<SvcMessage>> {
        Err(ironrdp_pdu::pdu_other_err!("no smart card is redirected"))
    }

    fn handle_drive_io_request(
        &mut self,
        _req: ServerDriveIoRequest,
    ) -> PduResult<Vec<SvcMessage>> {
        Err(ironrdp_pdu::pdu_other_err!("no drive is redirected"))
    }

    fn handle_printer_io_request(&mut self, req: PrinterIoRequest) -> PduResult<Vec<SvcMessage>> {
        self.events.push(PrinterEvent::Irp(req));
        Ok(Vec::new())
    }

    fn reject_printer_write(&mut self, req: DeviceIoRequest) -> PduResult<Vec<SvcMessage>> {
        self.events.push(PrinterEvent::OversizeWrite(req));
        Ok(Vec::new())
    }
}

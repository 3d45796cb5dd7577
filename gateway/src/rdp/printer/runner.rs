//! Carries out the [`Spool`]'s actions for one session: answers go back as PDUs for the link
//! to send, jobs get a bounded queue and a forwarder from [`PrintJobs::start`]. Never waits:
//! a full job queue fails that write instead of stalling the RDP loop.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use ironrdp_rdpdr::pdu::RdpdrPdu;
use tokio::sync::mpsc;

use super::{
    AbortReason, COMPLETION_QUEUE, Completion, JOB_QUEUE, JobInput, JobStart, PRINTER_DEVICE_ID,
    PrinterEvent, PrinterParams, Spool, SpoolAction,
};

struct OpenJob {
    input: mpsc::Sender<JobInput>,
    abort: Arc<OnceLock<AbortReason>>,
}

/// The printer side of a link.
pub(crate) struct PrinterRunner {
    spool: Spool,
    params: PrinterParams,
    jobs: HashMap<u32, OpenJob>,
    completions: mpsc::Sender<(u32, Completion)>,
    /// The rdpdr channel's id, for the tap.
    channel_id: Option<u16>,
}

impl PrinterRunner {
    pub fn new(params: PrinterParams) -> (Self, mpsc::Receiver<(u32, Completion)>) {
        let (completions, rx) = mpsc::channel(COMPLETION_QUEUE);
        let runner = Self {
            spool: Spool::new(PRINTER_DEVICE_ID),
            params,
            jobs: HashMap::new(),
            completions,
            channel_id: None,
        };
        (runner, rx)
    }

    /// The channel the host joined (for the tap).
    pub fn set_channel(&mut self, channel_id: Option<u16>) {
        self.channel_id = channel_id;
    }

    /// Copies the rdpdr chunk of a host frame to the tap, when there is one.
    pub fn tap_host(&self, frame: &[u8]) {
        if let (Some(tap), Some(channel)) = (&self.params.tap, self.channel_id)
            && let Some(bytes) = super::tap::host_chunk(frame, channel)
        {
            let _ = tap.send(super::tap::RdpdrChunk {
                from_host: true,
                bytes,
            });
        }
    }

    /// Copies the rdpdr chunks among frames the gateway writes to the tap.
    pub fn tap_gateway(&self, bytes: &[u8]) {
        if let (Some(tap), Some(channel)) = (&self.params.tap, self.channel_id) {
            for bytes in super::tap::gateway_chunks(bytes, channel) {
                let _ = tap.send(super::tap::RdpdrChunk {
                    from_host: false,
                    bytes,
                });
            }
        }
    }

    /// Acts on the channel's events; returns the PDUs to send to the host now.
    pub fn on_events(&mut self, events: Vec<PrinterEvent>) -> Vec<RdpdrPdu> {
        let mut replies = Vec::new();
        for event in events {
            for action in self.spool.on_event(event) {
                if let Some(pdu) = self.act(action) {
                    replies.push(pdu);
                }
            }
        }
        replies
    }

    /// The PDU answering an IRP a forwarder completed.
    pub fn on_completion(&mut self, file_id: u32, completion: Completion) -> RdpdrPdu {
        let failed = match &completion {
            Completion::Created { ok, .. } | Completion::Written { ok, .. } => !ok,
            Completion::Closed { .. } => true,
        };
        if failed {
            self.jobs.remove(&file_id);
        }
        self.spool.complete(completion)
    }

    fn act(&mut self, action: SpoolAction) -> Option<RdpdrPdu> {
        match action {
            SpoolAction::Reply(pdu) => Some(pdu),
            SpoolAction::Open { file_id, create } => {
                let (input, rx) = mpsc::channel(JOB_QUEUE);
                let abort = Arc::new(OnceLock::new());
                self.jobs.insert(
                    file_id,
                    OpenJob {
                        input,
                        abort: abort.clone(),
                    },
                );
                self.params.jobs.start(JobStart {
                    file_id,
                    create,
                    mime: self.params.driver.mime(),
                    input: rx,
                    abort,
                    completions: self.completions.clone(),
                });
                None
            }
            SpoolAction::Data {
                file_id,
                write,
                data,
            } => {
                let Some(job) = self.jobs.get(&file_id) else {
                    return Some(self.failed_write(file_id, write));
                };
                match job.input.try_send(JobInput::Data {
                    write: write.clone(),
                    data,
                }) {
                    Ok(()) => None,
                    Err(error) => {
                        tracing::info!(%error, "print job write not forwarded");
                        self.drop_job(file_id, AbortReason::Unavailable);
                        Some(self.failed_write(file_id, write))
                    }
                }
            }
            SpoolAction::Finish { file_id, close } => {
                let sent = self.jobs.remove(&file_id).map(|job| {
                    job.input.try_send(JobInput::Finish {
                        close: close.clone(),
                    })
                });
                match sent {
                    Some(Ok(())) => None,
                    _ => Some(self.spool.complete(Completion::Closed { close, ok: false })),
                }
            }
            SpoolAction::Abort { file_id, reason } => {
                self.drop_job(file_id, reason);
                None
            }
        }
    }

    fn failed_write(
        &mut self,
        file_id: u32,
        write: ironrdp_rdpdr::pdu::efs::DeviceIoRequest,
    ) -> RdpdrPdu {
        self.spool.forwarder_failed(file_id);
        self.spool.complete(Completion::Written {
            write,
            length: 0,
            ok: false,
        })
    }

    /// Ends a job's forwarder early; it tells the user why.
    fn drop_job(&mut self, file_id: u32, reason: AbortReason) {
        if let Some(job) = self.jobs.remove(&file_id) {
            let _ = job.abort.set(reason);
        }
    }
}

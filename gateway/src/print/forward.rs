//! A job's forwarder: the RDPDR printer's job, streamed as an IPP Print-Job to the print
//! service over HTTPS (`{print_url}/ipp/print/{token}`, a token the broker issues for the
//! session, so the job is the session user's). Each Write goes into the chunked request
//! body before its IRP completes; the Close completes when the service has answered. When
//! anything fails the IRP gets an error status, the request is abandoned mid-body (never
//! ended cleanly, so no truncated document looks whole) and the user is told through the
//! broker's command channel, like every other print notification.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hamn_broker::db::Database;
use hamn_broker::session_control::{self, SessionCommand};
use http_body::{Body, Frame};
use http_body_util::BodyExt as _;
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsConnector;
use uuid::Uuid;

use super::ipp::{self, PrintJobRequest};
use crate::rdp::printer::{AbortReason, Completion, JobInput, JobStart, PrintJobs};

/// Body chunks in flight to the connection; the next write waits (and so does the host).
const BODY_QUEUE: usize = 2;
/// How long the TCP and TLS connection to the print service may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the service may take to answer after the last byte (it renders first).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a job the service stopped reading waits for the service to say why.
const REFUSAL_WAIT: Duration = Duration::from_secs(2);
/// How long a body chunk may wait for the connection before the job is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the print service is and how to trust it.
#[derive(Debug, Clone)]
pub struct PrintClientConfig {
    /// `https://host:port` of the print service (`gateway.print_url`).
    pub url: String,
    /// PEM CA certificates its certificate must chain to; `None`: the system's.
    pub ca_pem: Option<String>,
    /// The printer's name in the session (`gateway.printer_name`).
    pub printer_name: String,
}

/// Why a job did not reach the service.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("print_url: {0}")]
    Url(String),
    #[error("printer token: {0}")]
    Token(String),
    #[error("connect to the print service: {0}")]
    Connect(String),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("the print service answered HTTP {0}")]
    Status(u16),
    #[error("the print service's answer: {0}")]
    Answer(String),
    #[error("the print service refused the job: IPP status 0x{0:04x}")]
    Refused(u16),
    #[error("the print service did not answer in time")]
    Timeout,
}

/// Starts forwarders for one session's printer.
#[derive(Debug)]
pub struct IppForwarder {
    database: Database,
    session_id: Uuid,
    config: Arc<PrintClientConfig>,
    tls: Arc<rustls::ClientConfig>,
    /// `job-name`: the app's name, which the notification shows.
    job_name: String,
}

impl IppForwarder {
    pub fn new(
        database: Database,
        session_id: Uuid,
        config: Arc<PrintClientConfig>,
        job_name: String,
    ) -> Result<Self, ForwardError> {
        let policy = crate::rdp::CertPolicy::Verify {
            ca_pem: config.ca_pem.clone(),
        };
        let tls = crate::rdp::tls::client_config(&policy)
            .map_err(|e| ForwardError::Connect(e.to_string()))?;
        Ok(Self {
            database,
            session_id,
            config,
            tls: Arc::new(tls),
            job_name,
        })
    }
}

impl PrintJobs for IppForwarder {
    fn start(&self, job: JobStart) {
        let forwarder = Forwarding {
            database: self.database.clone(),
            session_id: self.session_id,
            config: self.config.clone(),
            tls: self.tls.clone(),
            job_name: self.job_name.clone(),
        };
        tokio::spawn(forwarder.run(job));
    }
}

struct Forwarding {
    database: Database,
    session_id: Uuid,
    config: Arc<PrintClientConfig>,
    tls: Arc<rustls::ClientConfig>,
    job_name: String,
}

/// The request under way: its body's sender and the task awaiting the answer.
struct Open {
    body: mpsc::Sender<Result<Bytes, JobAborted>>,
    answer: tokio::task::JoinHandle<Result<ipp::IppResponse, ForwardError>>,
    connection: tokio::task::JoinHandle<()>,
}

/// The body error that makes hyper abandon the request mid-body.
#[derive(Debug, thiserror::Error)]
#[error("print job abandoned")]
struct JobAborted;

impl Forwarding {
    async fn run(self, job: JobStart) {
        let JobStart {
            file_id,
            create,
            mime,
            mut input,
            abort,
            completions,
        } = job;
        let started = std::time::Instant::now();
        let open = match self.open(mime).await {
            Ok(open) => open,
            Err(error) => {
                tracing::warn!(session = %self.session_id, %error, "print job not started");
                let _ = completions
                    .send((
                        file_id,
                        Completion::Created {
                            create,
                            file_id,
                            ok: false,
                        },
                    ))
                    .await;
                self.tell_user(AbortReason::Unavailable).await;
                return;
            }
        };
        let _ = completions
            .send((
                file_id,
                Completion::Created {
                    create,
                    file_id,
                    ok: true,
                },
            ))
            .await;
        let mut bytes = 0u64;
        loop {
            match input.recv().await {
                Some(JobInput::Data { write, data }) => {
                    let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
                    bytes += data.len() as u64;
                    // An answer before the end of the document is a refusal: stop feeding.
                    let ok = !open.answer.is_finished()
                        && matches!(
                            tokio::time::timeout(
                                WRITE_TIMEOUT,
                                open.body.send(Ok(Bytes::from(data)))
                            )
                            .await,
                            Ok(Ok(()))
                        );
                    let _ = completions
                        .send((file_id, Completion::Written { write, length, ok }))
                        .await;
                    if !ok {
                        // The service stops reading a job it refuses (over its size bound,
                        // say) and answers why; then it has told the user itself.
                        match refusal(open).await {
                            Some(status) => {
                                tracing::info!(session = %self.session_id, bytes, status, "print job refused by the print service")
                            }
                            None => {
                                tracing::warn!(session = %self.session_id, bytes, "print service stopped taking the job");
                                self.tell_user(AbortReason::Unavailable).await;
                            }
                        }
                        return;
                    }
                }
                Some(JobInput::Finish { close }) => {
                    let result = finish(open).await;
                    let ok = result.is_ok();
                    let _ = completions
                        .send((file_id, Completion::Closed { close, ok }))
                        .await;
                    match result {
                        Ok(answer) => tracing::info!(
                            session = %self.session_id,
                            bytes,
                            job = ?answer.job_id,
                            ms = started.elapsed().as_millis() as u64,
                            "print job handed to the print service"
                        ),
                        Err(ForwardError::Refused(status)) => {
                            // The service refused a whole job itself and has told the user.
                            tracing::info!(session = %self.session_id, bytes, status, "print job refused by the print service");
                        }
                        Err(error) => {
                            tracing::warn!(session = %self.session_id, bytes, %error, "print job failed");
                            self.tell_user(AbortReason::Unavailable).await;
                        }
                    }
                    return;
                }
                None => {
                    let reason = abort.get().copied().unwrap_or(AbortReason::Unavailable);
                    tracing::info!(session = %self.session_id, bytes, reason = reason.code(), "print job abandoned");
                    abandon(open).await;
                    self.tell_user(reason).await;
                    return;
                }
            }
        }
    }

    /// Token, connection and request head; the document follows through `Open::body`.
    async fn open(&self, mime: &'static str) -> Result<Open, ForwardError> {
        let uri: hyper::Uri = self
            .config
            .url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| ForwardError::Url(e.to_string()))?;
        if uri.scheme_str() != Some("https") {
            return Err(ForwardError::Url("must be an https:// URL".to_owned()));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| ForwardError::Url("no host".to_owned()))?
            .clone();
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = authority.port_u16().unwrap_or(443);

        let token = {
            let mut conn = self
                .database
                .acquire()
                .await
                .map_err(|e| ForwardError::Token(e.to_string()))?;
            hamn_broker::print::tokens::issue(&mut conn, self.session_id)
                .await
                .map_err(|e| ForwardError::Token(e.to_string()))?
        };
        let path = format!("/ipp/print/{}", token.as_str());
        let printer_uri = format!("ipps://{authority}{path}");

        let stream = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let tcp = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| ForwardError::Connect(e.to_string()))?;
            tcp.set_nodelay(true).ok();
            let name =
                ServerName::try_from(host.clone()).map_err(|e| ForwardError::Url(e.to_string()))?;
            TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| ForwardError::Connect(e.to_string()))
        })
        .await
        .map_err(|_| ForwardError::Timeout)??;

        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ForwardError::Http(e.to_string()))?;
        let connection = tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "print service connection ended");
            }
        });
        let (body, rx) = mpsc::channel(BODY_QUEUE);
        let head = ipp::print_job_head(&PrintJobRequest {
            request_id: 1,
            printer_uri: &printer_uri,
            user: "hamn-gateway",
            job_name: &self.job_name,
            document_format: mime,
        });
        body.send(Ok(Bytes::from(head)))
            .await
            .map_err(|_| ForwardError::Http("the request body closed".to_owned()))?;
        let request = Request::post(path)
            .header(hyper::header::HOST, authority.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/ipp")
            .body(JobBody { rx })
            .map_err(|e| ForwardError::Http(e.to_string()))?;
        let answer = tokio::spawn(async move {
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| ForwardError::Http(e.to_string()))?;
            let status = response.status();
            let limited =
                http_body_util::Limited::new(response.into_body(), ipp::MAX_RESPONSE_BYTES);
            let bytes = limited
                .collect()
                .await
                .map_err(|e| ForwardError::Answer(e.to_string()))?
                .to_bytes();
            if !status.is_success() {
                return Err(ForwardError::Status(status.as_u16()));
            }
            ipp::parse_response(&bytes).map_err(|e| ForwardError::Answer(e.to_string()))
        });
        Ok(Open {
            body,
            answer,
            connection,
        })
    }

    /// Tells the session's viewer (through the broker's command channel) why a job failed.
    async fn tell_user(&self, reason: AbortReason) {
        let command = SessionCommand::PrintRefused {
            job_id: Uuid::now_v7(),
            title: self.job_name.clone(),
            reason: reason.code().to_owned(),
        };
        let result = async {
            let mut conn = self.database.acquire().await.map_err(|e| e.to_string())?;
            session_control::enqueue(&mut conn, self.session_id, command)
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        match result {
            Ok(_) => session_control::wake(),
            Err(error) => {
                tracing::warn!(session = %self.session_id, %error, "print refusal not queued for the viewer")
            }
        }
    }
}

/// Ends the body cleanly and waits for the service's answer.
async fn finish(open: Open) -> Result<ipp::IppResponse, ForwardError> {
    let Open {
        body,
        answer,
        connection,
    } = open;
    drop(body);
    let result = match tokio::time::timeout(ANSWER_TIMEOUT, answer).await {
        Err(_) => Err(ForwardError::Timeout),
        Ok(Err(e)) => Err(ForwardError::Http(e.to_string())),
        Ok(Ok(Err(e))) => Err(e),
        Ok(Ok(Ok(response))) if response.is_success() => Ok(response),
        Ok(Ok(Ok(response))) => Err(ForwardError::Refused(response.status)),
    };
    connection.abort();
    result
}

/// Abandons the request mid-body so the service never sees a complete document: the
/// connection goes before the body's sender, whose drop would otherwise end the body cleanly.
async fn abandon(open: Open) {
    let _ = open.body.try_send(Err(JobAborted));
    open.connection.abort();
    open.answer.abort();
    drop(open.body);
}

/// After the service stopped taking the body: its refusal status if it answered with one
/// (it then told the user itself); otherwise the request is abandoned and `None`.
async fn refusal(open: Open) -> Option<u16> {
    let Open {
        body,
        mut answer,
        connection,
    } = open;
    // The body's sender is held while waiting, so the document cannot end cleanly.
    let status = match tokio::time::timeout(REFUSAL_WAIT, &mut answer).await {
        Ok(Ok(Ok(response))) if !response.is_success() => Some(response.status),
        _ => None,
    };
    abandon(Open {
        body,
        answer,
        connection,
    })
    .await;
    status
}

/// The request body: the IPP head, then the document as the host writes it.
struct JobBody {
    rx: mpsc::Receiver<Result<Bytes, JobAborted>>,
}

impl Body for JobBody {
    type Data = Bytes;
    type Error = JobAborted;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, JobAborted>>> {
        self.rx
            .poll_recv(cx)
            .map(|item| item.map(|chunk| chunk.map(Frame::data)))
    }
}

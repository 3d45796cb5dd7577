//! `POST /ipp/print/{token}`: resolves the token (an unknown, malformed or expired one is
//! a bare 404, the same for each, before a byte of the body is read), reads the bounded
//! attribute section, runs the operation and streams any document into the job
//! pipeline. Malformed IPP is answered with client-error-bad-request and a
//! status-message saying what was wrong.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hamn_broker::model::{PrintJob, PrintJobState, PrintSource};
use hamn_broker::print::tokens::{self, ResolvedToken};
use hamn_broker::repo;
use http_body_util::BodyExt;
use time::OffsetDateTime;

use super::attributes::{self, PrinterInfo};
use super::codec::{
    self, Group, Parsed, Request as IppRequest, Response as IppResponse, group, tag,
};
use super::{op, status};
use crate::PrintState;
use crate::jobs::{Document, JobError, JobRequest, code};
use crate::render::DocumentFormat;

/// Jobs Get-Jobs returns at most.
const MAX_LISTED_JOBS: u32 = 500;

/// The printer URI of `token` under the print service's public `https://` URL.
pub fn printer_uri(public_url: &str, token: &str) -> String {
    let authority = public_url
        .trim_end_matches('/')
        .strip_prefix("https://")
        .unwrap_or(public_url);
    format!("ipps://{authority}/ipp/print/{token}")
}

/// An IPP answer: status, optional status-message, extra groups.
struct Answer {
    status: u16,
    message: Option<String>,
    groups: Vec<Group>,
}

impl Answer {
    fn ok(groups: Vec<Group>) -> Self {
        Self {
            status: status::OK,
            message: None,
            groups,
        }
    }

    fn error(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: Some(message.into()),
            groups: Vec::new(),
        }
    }
}

fn respond(version: (u8, u8), request_id: u32, answer: Answer) -> Response {
    let mut op_group = Group::new(group::OPERATION);
    op_group
        .text("attributes-charset", tag::CHARSET, "utf-8")
        .text("attributes-natural-language", tag::NATURAL_LANGUAGE, "en");
    if let Some(message) = &answer.message {
        op_group.text("status-message", tag::TEXT, message);
    }
    let mut groups = vec![op_group];
    groups.extend(answer.groups);
    let bytes = IppResponse {
        version,
        status: answer.status,
        request_id,
        groups,
    }
    .encode();
    ([(header::CONTENT_TYPE, "application/ipp")], bytes).into_response()
}

/// The header fields of a request we could not parse, to address the error to it.
fn header_of(buf: &[u8]) -> ((u8, u8), u32) {
    let id = buf
        .get(4..8)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    (
        answer_version(buf.first().copied().unwrap_or(1)).unwrap_or((1, 1)),
        id,
    )
}

/// The version to answer a request of major version `major` in (RFC 8011 §4.1.8).
fn answer_version(major: u8) -> Option<(u8, u8)> {
    match major {
        1 => Some((1, 1)),
        2 => Some((2, 0)),
        _ => None,
    }
}

/// The route handler.
pub async fn handle(
    State(state): State<Arc<PrintState>>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let who = match resolve(&state, &token).await {
        Ok(Some(who)) => who,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!("print token lookup: {e}");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let mut body = request.into_body();
    let mut buf: Vec<u8> = Vec::new();
    let (ipp, data_offset) = loop {
        match codec::parse(&buf) {
            Ok(Parsed::Complete {
                request,
                data_offset,
            }) => break (request, data_offset),
            Ok(Parsed::Incomplete) => {}
            Err(e) => {
                let (version, id) = header_of(&buf);
                let status = match e {
                    codec::ParseError::TooLarge => status::REQUEST_ENTITY_TOO_LARGE,
                    codec::ParseError::Malformed(_) => status::BAD_REQUEST,
                };
                return respond(version, id, Answer::error(status, e.to_string()));
            }
        }
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                }
            }
            Some(Err(_)) | None => {
                let (version, id) = header_of(&buf);
                let answer = Answer::error(
                    status::BAD_REQUEST,
                    "malformed IPP request: it ends inside its attributes",
                );
                return respond(version, id, answer);
            }
        }
    };
    let head = Bytes::from(buf.split_off(data_offset));
    let version = match answer_version(ipp.version.0) {
        Some(v) => v,
        None => {
            let answer = Answer::error(
                status::VERSION_NOT_SUPPORTED,
                "IPP versions 1.1 and 2.0 are supported",
            );
            return respond((1, 1), ipp.request_id, answer);
        }
    };
    let call = Call {
        state: &state,
        who: &who,
        uri: printer_uri(&state.public_url, &token),
        ipp: &ipp,
        peer: peer.as_deref(),
    };
    let mut document = Some(Document { head, body });
    let answer = match call.check() {
        Some(refused) => refused,
        None => call.run(&mut document).await.unwrap_or_else(|e| {
            tracing::error!("IPP {:#06x}: {e}", ipp.operation);
            Answer::error(
                status::INTERNAL_ERROR,
                "the print service failed; try again",
            )
        }),
    };
    // A refused request's document is read to its end (within the job bound) before the
    // answer: a client still sending it would otherwise see the connection close and
    // never read why.
    if let Some(unread) = document {
        drain(unread, state.pipeline.limits().max_job_bytes).await;
    }
    respond(version, ipp.request_id, answer)
}

/// Reads and drops what is left of a document, at most `limit` bytes.
async fn drain(document: Document, limit: u64) {
    let mut body = document.body;
    let mut read = document.head.len() as u64;
    while read <= limit {
        match body.frame().await {
            Some(Ok(frame)) => {
                read += frame.data_ref().map_or(0, |d| d.len() as u64);
            }
            Some(Err(_)) | None => return,
        }
    }
}

async fn resolve(
    state: &PrintState,
    token: &str,
) -> Result<Option<ResolvedToken>, hamn_broker::DbError> {
    if !tokens::well_formed(token) {
        return Ok(None);
    }
    let mut conn = state.pipeline.db().acquire().await?;
    tokens::resolve_at(&mut conn, token, OffsetDateTime::now_utc()).await
}

/// One operation on one printer.
struct Call<'a> {
    state: &'a PrintState,
    who: &'a ResolvedToken,
    uri: String,
    ipp: &'a IppRequest,
    peer: Option<&'a str>,
}

/// requested-attributes as a list of keywords.
fn requested(ipp: &IppRequest) -> Option<Vec<String>> {
    let a = ipp.operation_attributes().get("requested-attributes")?;
    Some(
        a.values
            .iter()
            .filter_map(|v| v.text().map(str::to_owned))
            .collect(),
    )
}

impl Call<'_> {
    /// RFC 8011 §4.1: what every request must have.
    fn check(&self) -> Option<Answer> {
        if self.ipp.request_id == 0 {
            return Some(Answer::error(
                status::BAD_REQUEST,
                "request-id must not be 0",
            ));
        }
        let attrs = self.ipp.operation_attributes();
        if attrs.get("printer-uri").is_none() && attrs.get("job-uri").is_none() {
            return Some(Answer::error(status::BAD_REQUEST, "printer-uri is missing"));
        }
        None
    }

    fn printer_info(&self, queued_jobs: i32) -> PrinterInfo {
        PrinterInfo {
            uri: self.uri.clone(),
            uuid: self.who.token_id,
            public_url: self.state.public_url.clone(),
            postscript: self.state.pipeline.limits().render.ghostscript.is_some(),
            max_job_bytes: self.state.pipeline.limits().max_job_bytes,
            up_since: self.state.up_since,
            now: OffsetDateTime::now_utc(),
            queued_jobs,
        }
    }

    /// Runs the operation; one that takes the document takes it out of `document`.
    async fn run(&self, document: &mut Option<Document>) -> Result<Answer, JobError> {
        match self.ipp.operation {
            op::GET_PRINTER_ATTRIBUTES => self.get_printer_attributes().await,
            op::VALIDATE_JOB => Ok(self
                .format()
                .err()
                .unwrap_or_else(|| Answer::ok(Vec::new()))),
            op::PRINT_JOB => self.print_job(document).await,
            op::CREATE_JOB => self.create_job().await,
            op::SEND_DOCUMENT => self.send_document(document).await,
            op::CANCEL_JOB => self.cancel_job().await,
            op::GET_JOB_ATTRIBUTES => self.get_job_attributes().await,
            op::GET_JOBS => self.get_jobs().await,
            op::CANCEL_MY_JOBS => self.cancel_my_jobs().await,
            op::CLOSE_JOB => self.close_job().await,
            op::IDENTIFY_PRINTER => Ok(Answer::ok(Vec::new())),
            _ => Ok(Answer::error(
                status::OPERATION_NOT_SUPPORTED,
                "this printer does not support that operation",
            )),
        }
    }

    async fn jobs(&self) -> Result<Vec<PrintJob>, JobError> {
        let mut conn = self.state.pipeline.db().acquire().await?;
        Ok(repo::print_jobs::list_for_token(&mut conn, self.who.token_id, MAX_LISTED_JOBS).await?)
    }

    async fn get_printer_attributes(&self) -> Result<Answer, JobError> {
        let queued = self
            .jobs()
            .await?
            .iter()
            .filter(|j| !j.state.is_final())
            .count();
        let info = self.printer_info(i32::try_from(queued).unwrap_or(i32::MAX));
        let all = attributes::printer_attributes(&info);
        let wanted = requested(self.ipp);
        Ok(Answer::ok(vec![attributes::select(all, wanted.as_deref())]))
    }

    /// The declared document-format: `Ok(None)` for none or auto-sense, an error answer
    /// for one this printer does not take.
    fn format(&self) -> Result<Option<&str>, Answer> {
        let Some(mime) = self.ipp.op_text("document-format") else {
            return Ok(None);
        };
        if mime.eq_ignore_ascii_case("application/octet-stream") {
            return Ok(None);
        }
        let postscript = self.state.pipeline.limits().render.ghostscript.is_some();
        match DocumentFormat::from_mime(mime) {
            Some(DocumentFormat::PostScript) if !postscript => Err(Answer::error(
                status::DOCUMENT_FORMAT_NOT_SUPPORTED,
                "application/postscript needs Ghostscript, which this print service lacks",
            )),
            Some(_) => Ok(Some(mime)),
            None => Err(Answer::error(
                status::DOCUMENT_FORMAT_NOT_SUPPORTED,
                format!("{mime} is not supported"),
            )),
        }
    }

    fn job_request(&self, format: Option<&str>) -> JobRequest {
        let title = self
            .ipp
            .op_text("job-name")
            .or_else(|| self.ipp.op_text("document-name"))
            .unwrap_or_default();
        // The gateway's RDP printer marks its jobs; anything else is a host's IPP client.
        let source = match self.ipp.op_text("job-originating-host-name") {
            Some("hamn-gateway") => PrintSource::Rdp,
            _ => PrintSource::Ipp,
        };
        JobRequest {
            title: title.to_owned(),
            source,
            requesting_user: self.ipp.op_text("requesting-user-name").map(str::to_owned),
            document_format: format.map(str::to_owned),
            source_address: self.peer.map(str::to_owned),
        }
    }

    fn job_group(&self, job: &PrintJob) -> Group {
        attributes::job_attributes(
            job,
            &self.uri,
            &self.who.owner.username,
            self.state.up_since,
        )
    }

    /// The short job group Print-Job, Create-Job and Send-Document answer with.
    fn job_summary(&self, job: &PrintJob) -> Group {
        let wanted = ["job-id", "job-uri", "job-state", "job-state-reasons"].map(str::to_owned);
        select_job(self.job_group(job), Some(wanted.as_slice()))
    }

    async fn print_job(&self, document: &mut Option<Document>) -> Result<Answer, JobError> {
        let format = match self.format() {
            Ok(f) => f,
            Err(answer) => {
                // Refused up front, but the user still hears of it.
                let job = self
                    .state
                    .pipeline
                    .create(self.who, &self.job_request(None))
                    .await?;
                let code = match self
                    .ipp
                    .op_text("document-format")
                    .and_then(DocumentFormat::from_mime)
                {
                    Some(DocumentFormat::PostScript) => "postscript_unavailable",
                    _ => code::UNSUPPORTED_FORMAT,
                };
                self.state
                    .pipeline
                    .refuse(self.who, &job, code, self.peer)
                    .await?;
                return Ok(answer);
            }
        };
        let job = self
            .state
            .pipeline
            .create(self.who, &self.job_request(format))
            .await?;
        self.receive(&job, format, document).await
    }

    async fn receive(
        &self,
        job: &PrintJob,
        format: Option<&str>,
        document: &mut Option<Document>,
    ) -> Result<Answer, JobError> {
        // Taken only here, when the job is ready for it: every refusal before leaves it
        // to be drained.
        let document = document
            .take()
            .unwrap_or_else(|| Document::from_bytes(Bytes::new()));
        let done = self
            .state
            .pipeline
            .print(self.who, job, format, document, self.peer)
            .await?;
        let group = self.job_summary(&done);
        let mut answer = Answer::ok(vec![group]);
        if done.state == PrintJobState::Refused {
            let reason = done.reason.clone().unwrap_or_default();
            answer.status = match reason.as_str() {
                code::JOB_TOO_LARGE | "too_large" => status::REQUEST_ENTITY_TOO_LARGE,
                code::JOB_TRUNCATED => status::BAD_REQUEST,
                code::IO | "render_timeout" | "postscript_failed" => status::INTERNAL_ERROR,
                "unsupported_format" | "postscript_unavailable" => {
                    status::DOCUMENT_FORMAT_NOT_SUPPORTED
                }
                _ => status::DOCUMENT_FORMAT_ERROR,
            };
            answer.message = Some(format!("the job was refused: {reason}"));
        }
        Ok(answer)
    }

    async fn create_job(&self) -> Result<Answer, JobError> {
        let format = match self.format() {
            Ok(f) => f,
            Err(answer) => return Ok(answer),
        };
        let job = self
            .state
            .pipeline
            .create(self.who, &self.job_request(format))
            .await?;
        Ok(Answer::ok(vec![self.job_summary(&job)]))
    }

    /// The job the request names by job-id or job-uri, if it is this printer's.
    async fn named_job(&self) -> Result<Result<PrintJob, Answer>, JobError> {
        let id = match self.ipp.op_integer("job-id") {
            Some(id) => Some(id),
            None => self
                .ipp
                .op_text("job-uri")
                .and_then(|u| u.rsplit('/').next())
                .and_then(|n| n.parse().ok()),
        };
        let Some(id) = id.and_then(|i: i32| u32::try_from(i).ok()) else {
            return Ok(Err(Answer::error(status::BAD_REQUEST, "job-id is missing")));
        };
        let mut conn = self.state.pipeline.db().acquire().await?;
        Ok(
            match repo::print_jobs::get_by_ipp_id(&mut conn, self.who.token_id, id).await? {
                Some(job) => Ok(job),
                None => Err(Answer::error(
                    status::NOT_FOUND,
                    format!("job {id} does not exist"),
                )),
            },
        )
    }

    async fn send_document(&self, document: &mut Option<Document>) -> Result<Answer, JobError> {
        let job = match self.named_job().await? {
            Ok(job) => job,
            Err(answer) => return Ok(answer),
        };
        let Some(last) = self.ipp.op_boolean("last-document") else {
            return Ok(Answer::error(
                status::BAD_REQUEST,
                "last-document is missing",
            ));
        };
        if !last {
            return Ok(Answer::error(
                status::MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED,
                "a job takes one document: send it with last-document true",
            ));
        }
        if job.state != PrintJobState::Pending {
            return Ok(Answer::error(
                status::NOT_POSSIBLE,
                format!("job {} already has its document", job.ipp_job_id),
            ));
        }
        let format = match self.format() {
            Ok(f) => f.or(job.document_format.as_deref()),
            Err(answer) => {
                self.state
                    .pipeline
                    .refuse(self.who, &job, code::UNSUPPORTED_FORMAT, self.peer)
                    .await?;
                return Ok(answer);
            }
        };
        let format = format.map(str::to_owned);
        match self.receive(&job, format.as_deref(), document).await {
            Err(JobError::NotPending) => Ok(Answer::error(
                status::NOT_POSSIBLE,
                format!("job {} already has its document", job.ipp_job_id),
            )),
            other => other,
        }
    }

    async fn cancel_job(&self) -> Result<Answer, JobError> {
        let job = match self.named_job().await? {
            Ok(job) => job,
            Err(answer) => return Ok(answer),
        };
        if self
            .state
            .pipeline
            .cancel(self.who, &job, self.peer)
            .await?
        {
            Ok(Answer::ok(Vec::new()))
        } else {
            Ok(Answer::error(
                status::NOT_POSSIBLE,
                format!("job {} has already ended", job.ipp_job_id),
            ))
        }
    }

    async fn cancel_my_jobs(&self) -> Result<Answer, JobError> {
        for job in self.jobs().await? {
            if !job.state.is_final() {
                self.state
                    .pipeline
                    .cancel(self.who, &job, self.peer)
                    .await?;
            }
        }
        Ok(Answer::ok(Vec::new()))
    }

    async fn close_job(&self) -> Result<Answer, JobError> {
        let job = match self.named_job().await? {
            Ok(job) => job,
            Err(answer) => return Ok(answer),
        };
        // No more documents: a job that never got one has nothing to print.
        if job.state == PrintJobState::Pending {
            self.state
                .pipeline
                .cancel(self.who, &job, self.peer)
                .await?;
        }
        Ok(Answer::ok(Vec::new()))
    }

    async fn get_job_attributes(&self) -> Result<Answer, JobError> {
        let job = match self.named_job().await? {
            Ok(job) => job,
            Err(answer) => return Ok(answer),
        };
        let wanted = requested(self.ipp);
        Ok(Answer::ok(vec![select_job(
            self.job_group(&job),
            wanted.as_deref(),
        )]))
    }

    async fn get_jobs(&self) -> Result<Answer, JobError> {
        let which = self.ipp.op_text("which-jobs").unwrap_or("not-completed");
        let keep: fn(&PrintJob) -> bool = match which {
            "not-completed" => |j| !j.state.is_final(),
            "completed" => |j| j.state.is_final(),
            "all" => |_| true,
            _ => {
                return Ok(Answer::error(
                    status::ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                    format!("which-jobs {which:?} is not supported"),
                ));
            }
        };
        let limit = self
            .ipp
            .op_integer("limit")
            .and_then(|l| usize::try_from(l).ok())
            .filter(|l| *l > 0)
            .unwrap_or(usize::MAX);
        let wanted =
            requested(self.ipp).unwrap_or_else(|| vec!["job-id".to_owned(), "job-uri".to_owned()]);
        let groups = self
            .jobs()
            .await?
            .iter()
            .filter(|j| keep(j))
            .take(limit)
            .map(|j| select_job(self.job_group(j), Some(wanted.as_slice())))
            .collect();
        Ok(Answer::ok(groups))
    }
}

/// Keeps the job attributes `requested` names; `None` or a group name keeps all.
fn select_job(mut g: Group, requested: Option<&[String]>) -> Group {
    let Some(requested) = requested else { return g };
    let wants = |name: &str| requested.iter().any(|r| r == name);
    if ["all", "job-description", "job-template"]
        .iter()
        .any(|n| wants(n))
    {
        return g;
    }
    g.attributes.retain(|a| wants(&a.name));
    g
}

/// A 1×1 grey PNG for printer-icons (IPP Everywhere asks for one).
pub const ICON_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3A, 0x7E, 0x9B,
    0x55, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x68, 0x00, 0x00, 0x00,
    0x82, 0x00, 0x81, 0x77, 0xCD, 0x72, 0xB6, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// `GET /ipp/icon.png`.
pub async fn icon() -> Response {
    ([(header::CONTENT_TYPE, "image/png")], Body::from(ICON_PNG)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_uris_carry_the_token_under_ipps() {
        assert_eq!(
            printer_uri("https://print.example:8631/", "TOK"),
            "ipps://print.example:8631/ipp/print/TOK"
        );
    }
}

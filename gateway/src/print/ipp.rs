//! The few IPP/1.1 messages (RFC 8010/8011) the gateway speaks as a client, sans-IO: the
//! Print-Job request head (the document follows it in the same HTTP body) and a bounded
//! reader of the service's answer (status code, `job-id`, `status-message`). Fuzzed
//! (`gateway/fuzz/fuzz_targets/ipp_response.rs`).

/// Print-Job (RFC 8011 §4.2.1).
const OP_PRINT_JOB: u16 = 0x0002;
const TAG_OPERATION: u8 = 0x01;
const TAG_JOB: u8 = 0x02;
const TAG_END: u8 = 0x03;
const VALUE_INTEGER: u8 = 0x21;
const VALUE_NAME: u8 = 0x42;
const VALUE_TEXT: u8 = 0x41;
const VALUE_URI: u8 = 0x45;
const VALUE_CHARSET: u8 = 0x47;
const VALUE_LANGUAGE: u8 = 0x48;
const VALUE_MIME: u8 = 0x49;

/// Largest answer read; a Print-Job response is a few hundred bytes.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Longest `job-name` sent, in bytes (cut at a character boundary).
pub const MAX_JOB_NAME_BYTES: usize = 255;

/// What a Print-Job request says besides its document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJobRequest<'a> {
    pub request_id: u32,
    pub printer_uri: &'a str,
    pub user: &'a str,
    pub job_name: &'a str,
    pub document_format: &'a str,
}

/// Encodes the request's operation attributes; the document bytes follow.
pub fn print_job_head(req: &PrintJobRequest<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&[2, 0]);
    out.extend_from_slice(&OP_PRINT_JOB.to_be_bytes());
    out.extend_from_slice(&req.request_id.to_be_bytes());
    out.push(TAG_OPERATION);
    attribute(&mut out, VALUE_CHARSET, "attributes-charset", b"utf-8");
    attribute(
        &mut out,
        VALUE_LANGUAGE,
        "attributes-natural-language",
        b"sv",
    );
    attribute(
        &mut out,
        VALUE_URI,
        "printer-uri",
        req.printer_uri.as_bytes(),
    );
    attribute(
        &mut out,
        VALUE_NAME,
        "requesting-user-name",
        cut(req.user).as_bytes(),
    );
    attribute(
        &mut out,
        VALUE_NAME,
        "job-name",
        cut(req.job_name).as_bytes(),
    );
    // The print service records the job's source as the RDP printer by this name.
    attribute(
        &mut out,
        VALUE_NAME,
        "job-originating-host-name",
        b"hamn-gateway",
    );
    attribute(
        &mut out,
        VALUE_MIME,
        "document-format",
        req.document_format.as_bytes(),
    );
    out.push(TAG_END);
    out
}

fn cut(text: &str) -> &str {
    let mut end = text.len().min(MAX_JOB_NAME_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn attribute(out: &mut Vec<u8>, tag: u8, name: &str, value: &[u8]) {
    // Names are ours and values are cut or short: both fit a u16.
    let value = &value[..value.len().min(usize::from(u16::MAX))];
    out.push(tag);
    out.extend_from_slice(&(name.len() as u16).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
}

/// The service's answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IppResponse {
    pub status: u16,
    pub request_id: u32,
    pub job_id: Option<i32>,
    pub status_message: Option<String>,
}

impl IppResponse {
    /// `successful-ok` and its variants (0x0000–0x00FF).
    pub fn is_success(&self) -> bool {
        self.status < 0x0100
    }
}

/// Why an answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IppError {
    #[error("the IPP response is truncated")]
    Truncated,
    #[error("the IPP response is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("the IPP response has version {0}.{1}")]
    Version(u8, u8),
    #[error("the IPP response has no end-of-attributes tag")]
    NoEnd,
}

/// Reads an answer: header, then attribute groups up to the end tag; unknown attributes
/// are skipped, anything after the end tag (a document) ignored.
pub fn parse_response(bytes: &[u8]) -> Result<IppResponse, IppError> {
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(IppError::TooLarge);
    }
    let mut r = Reader { bytes, at: 0 };
    let (major, minor) = (r.u8()?, r.u8()?);
    if !(1..=2).contains(&major) {
        return Err(IppError::Version(major, minor));
    }
    let status = r.u16()?;
    let request_id = r.u32()?;
    let mut response = IppResponse {
        status,
        request_id,
        job_id: None,
        status_message: None,
    };
    let mut group = 0u8;
    let mut last_name: Vec<u8> = Vec::new();
    loop {
        let tag = r.u8().map_err(|_| IppError::NoEnd)?;
        if tag == TAG_END {
            return Ok(response);
        }
        if tag < 0x10 {
            group = tag;
            continue;
        }
        let name_len = usize::from(r.u16()?);
        let name = r.take(name_len)?;
        let value_len = usize::from(r.u16()?);
        let value = r.take(value_len)?;
        // An empty name continues the previous attribute (an additional value).
        if !name.is_empty() {
            last_name = name.to_vec();
        }
        match (group, tag, last_name.as_slice()) {
            (TAG_JOB, VALUE_INTEGER, b"job-id")
                if value.len() == 4 && response.job_id.is_none() =>
            {
                response.job_id =
                    Some(i32::from_be_bytes([value[0], value[1], value[2], value[3]]));
            }
            (TAG_OPERATION, VALUE_TEXT, b"status-message") if response.status_message.is_none() => {
                response.status_message = Some(String::from_utf8_lossy(value).into_owned());
            }
            _ => {}
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], IppError> {
        let end = self.at.checked_add(n).ok_or(IppError::Truncated)?;
        let slice = self.bytes.get(self.at..end).ok_or(IppError::Truncated)?;
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, IppError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, IppError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, IppError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_response() -> Vec<u8> {
        let mut out = vec![2, 0, 0, 0, 0, 0, 0, 7, TAG_OPERATION];
        attribute(&mut out, VALUE_CHARSET, "attributes-charset", b"utf-8");
        attribute(&mut out, VALUE_TEXT, "status-message", b"successful-ok");
        out.push(TAG_JOB);
        attribute(&mut out, VALUE_INTEGER, "job-id", &42i32.to_be_bytes());
        out.push(TAG_END);
        out
    }

    #[test]
    fn the_head_is_rfc_8010_encoded() {
        let head = print_job_head(&PrintJobRequest {
            request_id: 1,
            printer_uri: "ipps://localhost:8631/ipp/print/t",
            user: "hamn-gateway",
            job_name: "Åsa",
            document_format: "application/pdf",
        });
        assert_eq!(&head[..8], &[2, 0, 0, 2, 0, 0, 0, 1]);
        assert_eq!(head[8], TAG_OPERATION);
        assert_eq!(*head.last().unwrap(), TAG_END);
        let text = String::from_utf8_lossy(&head);
        for needle in [
            "attributes-charset",
            "utf-8",
            "printer-uri",
            "job-name",
            "Åsa",
            "application/pdf",
            "job-originating-host-name",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
    }

    #[test]
    fn long_job_names_are_cut_at_a_character() {
        let name = "ö".repeat(200);
        assert_eq!(cut(&name).len(), 254);
        assert!(cut(&name).chars().all(|c| c == 'ö'));
    }

    #[test]
    fn a_success_answer_is_read() {
        let r = parse_response(&ok_response()).unwrap();
        assert!(r.is_success());
        assert_eq!(r.request_id, 7);
        assert_eq!(r.job_id, Some(42));
        assert_eq!(r.status_message.as_deref(), Some("successful-ok"));
    }

    #[test]
    fn malformed_answers_are_refused() {
        let good = ok_response();
        for n in 0..good.len() {
            assert!(parse_response(&good[..n]).is_err(), "truncated at {n}");
        }
        let mut v = good.clone();
        v[0] = 9;
        assert_eq!(parse_response(&v), Err(IppError::Version(9, 0)));
        let mut v = good.clone();
        v.resize(MAX_RESPONSE_BYTES + 1, 0);
        assert_eq!(parse_response(&v), Err(IppError::TooLarge));
        // A value length past the end.
        let mut v = vec![
            2,
            0,
            0,
            0,
            0,
            0,
            0,
            1,
            TAG_OPERATION,
            VALUE_TEXT,
            0,
            1,
            b'a',
            0xFF,
            0xFF,
        ];
        assert_eq!(parse_response(&v), Err(IppError::Truncated));
        v.truncate(8);
        assert_eq!(parse_response(&v), Err(IppError::NoEnd));
    }

    #[test]
    fn an_error_status_is_not_success() {
        let mut v = ok_response();
        v[2..4].copy_from_slice(&0x0400u16.to_be_bytes());
        assert!(!parse_response(&v).unwrap().is_success());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = parse_response(&bytes);
        }
    }
}

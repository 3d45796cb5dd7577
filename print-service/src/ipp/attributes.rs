//! What the printer and its jobs say about themselves: the IPP Everywhere (PWG 5100.14)
//! printer description of a virtual PDF printer on A4 and friends, and the job
//! description of a stored [`PrintJob`]. Pure functions of their inputs.

use hamn_broker::model::{PrintJob, PrintJobState};
use time::OffsetDateTime;
use uuid::Uuid;

use super::codec::{Group, Value, collection, date_time, group, range, resolution, tag};
use super::{job_state, op};

/// The printer's name, make and model.
pub const PRINTER_NAME: &str = "Hamn PDF";

/// Media this printer accepts, with their sizes in hundredths of millimetres. Every job
/// becomes a PDF whose pages keep the size they were sent in, so the list only tells
/// clients what they may lay out for.
const MEDIA: [(&str, i32, i32); 5] = [
    ("iso_a4_210x297mm", 21000, 29700),
    ("iso_a3_297x420mm", 29700, 42000),
    ("iso_a5_148x210mm", 14800, 21000),
    ("na_letter_8.5x11in", 21590, 27940),
    ("na_legal_8.5x14in", 21590, 35560),
];

/// Raster resolutions accepted for image/pwg-raster, in dots per inch.
const RASTER_DPI: [i32; 3] = [150, 300, 600];

/// What a printer's description depends on.
#[derive(Debug, Clone)]
pub struct PrinterInfo {
    /// `ipps://host:port/ipp/print/{token}`.
    pub uri: String,
    /// A stable id for this printer (from its token row).
    pub uuid: Uuid,
    /// The print service's public `https://` URL, for printer-more-info and icons.
    pub public_url: String,
    /// Whether PostScript is accepted (Ghostscript configured).
    pub postscript: bool,
    /// The bound on a job's document, for *-k-octets-supported.
    pub max_job_bytes: u64,
    /// When the printer (the service) came up.
    pub up_since: OffsetDateTime,
    pub now: OffsetDateTime,
    /// The token's jobs not yet finished.
    pub queued_jobs: i32,
}

/// The document formats offered.
pub fn document_formats(postscript: bool) -> Vec<&'static str> {
    let mut formats = vec![
        "application/pdf",
        "image/pwg-raster",
        "image/jpeg",
        "text/plain",
    ];
    if postscript {
        formats.push("application/postscript");
    }
    formats.push("application/octet-stream");
    formats
}

fn int(v: i32) -> Value {
    Value {
        tag: tag::INTEGER,
        data: v.to_be_bytes().to_vec(),
    }
}

fn keyword(v: &str) -> Value {
    Value {
        tag: tag::KEYWORD,
        data: v.as_bytes().to_vec(),
    }
}

fn media_size(x: i32, y: i32) -> Vec<Value> {
    collection(&[("x-dimension", vec![int(x)]), ("y-dimension", vec![int(y)])])
}

fn media_col(name: &str, x: i32, y: i32) -> Vec<Value> {
    collection(&[
        ("media-size", media_size(x, y)),
        ("media-size-name", vec![keyword(name)]),
        ("media-bottom-margin", vec![int(0)]),
        ("media-left-margin", vec![int(0)]),
        ("media-right-margin", vec![int(0)]),
        ("media-top-margin", vec![int(0)]),
        ("media-source", vec![keyword("auto")]),
        ("media-type", vec![keyword("stationery")]),
    ])
}

/// Seconds since `since`, at least 1 (IPP's up-time counters start at 1).
pub fn seconds_since(since: OffsetDateTime, now: OffsetDateTime) -> i32 {
    i32::try_from((now - since).whole_seconds().max(0) + 1).unwrap_or(i32::MAX)
}

/// The whole printer description group.
pub fn printer_attributes(info: &PrinterInfo) -> Group {
    let mut g = Group::new(group::PRINTER);
    let formats = document_formats(info.postscript);
    let up = seconds_since(info.up_since, info.now);
    let k_octets = i32::try_from(info.max_job_bytes / 1024).unwrap_or(i32::MAX);
    let icon = format!("{}/ipp/icon.png", info.public_url.trim_end_matches('/'));
    let ops: Vec<i32> = op::SUPPORTED.iter().map(|o| i32::from(*o)).collect();
    let mut device_id = String::from("MFG:Hamn;MDL:PDF;CMD:PDF,PWGRaster,JPEG,TEXT");
    if info.postscript {
        device_id.push_str(",POSTSCRIPT");
    }
    device_id.push(';');

    g.text("charset-configured", tag::CHARSET, "utf-8")
        .texts("charset-supported", tag::CHARSET, &["utf-8"])
        .boolean("color-supported", true)
        .texts("compression-supported", tag::KEYWORD, &["none"])
        .integer("copies-default", 1)
        .add("copies-supported", tag::RANGE, vec![range(1, 1)])
        .text(
            "document-format-default",
            tag::MIME_MEDIA_TYPE,
            "application/pdf",
        )
        .texts("document-format-supported", tag::MIME_MEDIA_TYPE, &formats)
        .enumeration("finishings-default", 3)
        .integers("finishings-supported", tag::ENUM, &[3])
        .texts(
            "generated-natural-language-supported",
            tag::NATURAL_LANGUAGE,
            &["en", "sv"],
        )
        .texts("identify-actions-default", tag::KEYWORD, &["display"])
        .texts("identify-actions-supported", tag::KEYWORD, &["display"])
        .texts("ipp-features-supported", tag::KEYWORD, &["ipp-everywhere"])
        .texts("ipp-versions-supported", tag::KEYWORD, &["1.1", "2.0"])
        .texts(
            "job-creation-attributes-supported",
            tag::KEYWORD,
            &[
                "copies",
                "finishings",
                "media",
                "media-col",
                "orientation-requested",
                "output-bin",
                "print-color-mode",
                "print-quality",
                "printer-resolution",
                "sides",
            ],
        )
        .boolean("job-ids-supported", true)
        .add(
            "jpeg-k-octets-supported",
            tag::RANGE,
            vec![range(0, k_octets)],
        )
        .add(
            "pdf-k-octets-supported",
            tag::RANGE,
            vec![range(0, k_octets)],
        )
        .integers("media-bottom-margin-supported", tag::INTEGER, &[0])
        .integers("media-left-margin-supported", tag::INTEGER, &[0])
        .integers("media-right-margin-supported", tag::INTEGER, &[0])
        .integers("media-top-margin-supported", tag::INTEGER, &[0])
        .add_values(
            "media-col-database",
            MEDIA
                .iter()
                .flat_map(|(n, x, y)| media_col(n, *x, *y))
                .collect(),
        )
        .add_values(
            "media-col-default",
            media_col(MEDIA[0].0, MEDIA[0].1, MEDIA[0].2),
        )
        .add_values(
            "media-col-ready",
            MEDIA[..1]
                .iter()
                .chain(&MEDIA[3..4])
                .flat_map(|(n, x, y)| media_col(n, *x, *y))
                .collect(),
        )
        .texts(
            "media-col-supported",
            tag::KEYWORD,
            &[
                "media-bottom-margin",
                "media-left-margin",
                "media-right-margin",
                "media-size",
                "media-size-name",
                "media-source",
                "media-top-margin",
                "media-type",
            ],
        )
        .text("media-default", tag::KEYWORD, MEDIA[0].0)
        .texts("media-ready", tag::KEYWORD, &[MEDIA[0].0, MEDIA[3].0])
        .add_values(
            "media-size-supported",
            MEDIA
                .iter()
                .flat_map(|(_, x, y)| media_size(*x, *y))
                .collect(),
        )
        .texts("media-source-supported", tag::KEYWORD, &["auto"])
        .texts(
            "media-supported",
            tag::KEYWORD,
            &MEDIA.iter().map(|m| m.0).collect::<Vec<_>>(),
        )
        .texts("media-type-supported", tag::KEYWORD, &["stationery"])
        .boolean("multiple-document-jobs-supported", false)
        .integer("multiple-operation-time-out", 60)
        .text(
            "multiple-operation-time-out-action",
            tag::KEYWORD,
            "abort-job",
        )
        .text("natural-language-configured", tag::NATURAL_LANGUAGE, "en")
        .integers("operations-supported", tag::ENUM, &ops)
        .enumeration("orientation-requested-default", 3)
        .integers("orientation-requested-supported", tag::ENUM, &[3, 4, 5, 6])
        .text("output-bin-default", tag::KEYWORD, "face-up")
        .texts("output-bin-supported", tag::KEYWORD, &["face-up"])
        .texts(
            "overrides-supported",
            tag::KEYWORD,
            &["document-number", "pages"],
        )
        .boolean("page-ranges-supported", true)
        .integer("pages-per-minute", 60)
        .integer("pages-per-minute-color", 60)
        .texts(
            "pdf-versions-supported",
            tag::KEYWORD,
            &[
                "adobe-1.3",
                "adobe-1.4",
                "adobe-1.5",
                "adobe-1.6",
                "adobe-1.7",
                "iso-32000-1_2008",
            ],
        )
        .text("pdl-override-supported", tag::KEYWORD, "attempted")
        .boolean("preferred-attributes-supported", false)
        .text("print-color-mode-default", tag::KEYWORD, "auto")
        .texts(
            "print-color-mode-supported",
            tag::KEYWORD,
            &["auto", "color", "monochrome"],
        )
        .text("print-content-optimize-default", tag::KEYWORD, "auto")
        .texts("print-content-optimize-supported", tag::KEYWORD, &["auto"])
        .enumeration("print-quality-default", 4)
        .integers("print-quality-supported", tag::ENUM, &[3, 4, 5])
        .text("print-rendering-intent-default", tag::KEYWORD, "auto")
        .texts("print-rendering-intent-supported", tag::KEYWORD, &["auto"])
        .add(
            "printer-config-change-date-time",
            tag::DATE_TIME,
            vec![date_time(info.up_since)],
        )
        .integer("printer-config-change-time", 1)
        .add(
            "printer-current-time",
            tag::DATE_TIME,
            vec![date_time(info.now)],
        )
        .text("printer-device-id", tag::TEXT, &device_id)
        .add("printer-geo-location", tag::UNKNOWN, vec![Vec::new()])
        .texts(
            "printer-get-attributes-supported",
            tag::KEYWORD,
            &["document-format"],
        )
        .texts("printer-icons", tag::URI, &[icon.as_str()])
        .text("printer-info", tag::TEXT, PRINTER_NAME)
        .boolean("printer-is-accepting-jobs", true)
        .text("printer-location", tag::TEXT, "")
        .text("printer-make-and-model", tag::TEXT, PRINTER_NAME)
        .text("printer-more-info", tag::URI, &info.public_url)
        .text("printer-name", tag::NAME, PRINTER_NAME)
        .texts("printer-organization", tag::TEXT, &[""])
        .texts("printer-organizational-unit", tag::TEXT, &[""])
        .add(
            "printer-resolution-default",
            tag::RESOLUTION,
            vec![resolution(300, 300, true)],
        )
        .add(
            "printer-resolution-supported",
            tag::RESOLUTION,
            RASTER_DPI
                .iter()
                .map(|d| resolution(*d, *d, true))
                .collect(),
        )
        .enumeration("printer-state", 3)
        .add(
            "printer-state-change-date-time",
            tag::DATE_TIME,
            vec![date_time(info.up_since)],
        )
        .integer("printer-state-change-time", 1)
        .text(
            "printer-state-message",
            tag::TEXT,
            "Ready: jobs become PDFs in Hamn",
        )
        .texts("printer-state-reasons", tag::KEYWORD, &["none"])
        .integer("printer-up-time", up)
        .texts("printer-uri-supported", tag::URI, &[info.uri.as_str()])
        .text("printer-uuid", tag::URI, &format!("urn:uuid:{}", info.uuid))
        .add(
            "pwg-raster-document-resolution-supported",
            tag::RESOLUTION,
            RASTER_DPI
                .iter()
                .map(|d| resolution(*d, *d, true))
                .collect(),
        )
        .text("pwg-raster-document-sheet-back", tag::KEYWORD, "normal")
        .texts(
            "pwg-raster-document-type-supported",
            tag::KEYWORD,
            &["black_1", "sgray_8", "srgb_8"],
        )
        .integer("queued-job-count", info.queued_jobs)
        .text("sides-default", tag::KEYWORD, "one-sided")
        .texts("sides-supported", tag::KEYWORD, &["one-sided"])
        .texts("uri-authentication-supported", tag::KEYWORD, &["none"])
        .texts("uri-security-supported", tag::KEYWORD, &["tls"])
        .texts(
            "which-jobs-supported",
            tag::KEYWORD,
            &["completed", "not-completed", "all"],
        );
    g
}

/// The groups `requested-attributes` names (RFC 8011 §4.2.5.1, PWG 5100.14).
const PRINTER_GROUP_NAMES: [&str; 3] = ["all", "printer-description", "job-template"];

/// Keeps only what `requested` asks for; `None` or a group name keeps everything
/// (media-col-database is only sent when asked by name or with "all", as CUPS does).
pub fn select(mut g: Group, requested: Option<&[String]>) -> Group {
    let Some(requested) = requested else {
        g.attributes.retain(|a| a.name != "media-col-database");
        return g;
    };
    let wants = |name: &str| requested.iter().any(|r| r == name);
    if PRINTER_GROUP_NAMES.iter().any(|n| wants(n)) {
        if !wants("all") && !wants("media-col-database") {
            g.attributes.retain(|a| a.name != "media-col-database");
        }
        return g;
    }
    g.attributes.retain(|a| wants(&a.name));
    g
}

/// IPP job-state of a stored job.
pub fn ipp_job_state(state: PrintJobState) -> i32 {
    match state {
        PrintJobState::Pending => job_state::PENDING,
        PrintJobState::Processing => job_state::PROCESSING,
        PrintJobState::Ready => job_state::COMPLETED,
        PrintJobState::Refused => job_state::ABORTED,
        PrintJobState::Cancelled => job_state::CANCELED,
    }
}

fn job_state_reason(job: &PrintJob) -> &'static str {
    match job.state {
        PrintJobState::Pending => "job-incoming",
        PrintJobState::Processing => "job-transforming",
        PrintJobState::Ready => "job-completed-successfully",
        PrintJobState::Refused => match job.reason.as_deref() {
            Some("unsupported_format" | "postscript_unavailable") => "unsupported-document-format",
            Some("job_too_large" | "job_truncated" | "too_large" | "too_many_pages") => {
                "aborted-by-system"
            }
            _ => "document-format-error",
        },
        PrintJobState::Cancelled => "job-canceled-by-user",
    }
}

/// The job description group of `job` on printer `printer_uri`; `owner` is the token's
/// user name (job-originating-user-name), whatever the sender claimed.
pub fn job_attributes(
    job: &PrintJob,
    printer_uri: &str,
    owner: &str,
    up_since: OffsetDateTime,
) -> Group {
    let mut g = Group::new(group::JOB);
    let id = i32::try_from(job.ipp_job_id).unwrap_or(i32::MAX);
    let since = |t: OffsetDateTime| seconds_since(up_since, t.max(up_since));
    g.integer("job-id", id)
        .text("job-uri", tag::URI, &format!("{printer_uri}/{id}"))
        .text("job-printer-uri", tag::URI, printer_uri)
        .text("job-name", tag::NAME, &job.title)
        .text("job-originating-user-name", tag::NAME, owner)
        .enumeration("job-state", ipp_job_state(job.state))
        .texts("job-state-reasons", tag::KEYWORD, &[job_state_reason(job)])
        .integer(
            "job-k-octets",
            i32::try_from(job.received_bytes.div_ceil(1024)).unwrap_or(i32::MAX),
        )
        .integer(
            "job-impressions-completed",
            i32::try_from(job.pages.unwrap_or(0)).unwrap_or(i32::MAX),
        )
        .integer("job-printer-up-time", since(OffsetDateTime::now_utc()))
        .integer("time-at-creation", since(job.created_at))
        .add(
            "date-time-at-creation",
            tag::DATE_TIME,
            vec![date_time(job.created_at)],
        );
    match (job.state.is_final(), job.completed_at) {
        (true, Some(done)) => {
            g.integer("time-at-processing", since(job.created_at))
                .integer("time-at-completed", since(done))
                .add(
                    "date-time-at-completed",
                    tag::DATE_TIME,
                    vec![date_time(done)],
                );
        }
        _ => {
            g.add("time-at-completed", tag::NO_VALUE, vec![Vec::new()]);
        }
    }
    if let Some(format) = &job.document_format {
        g.text("document-format", tag::MIME_MEDIA_TYPE, format);
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(postscript: bool) -> PrinterInfo {
        let t = OffsetDateTime::UNIX_EPOCH;
        PrinterInfo {
            uri: "ipps://print.example:8631/ipp/print/T".into(),
            uuid: Uuid::nil(),
            public_url: "https://print.example:8631".into(),
            postscript,
            max_job_bytes: 128 << 20,
            up_since: t,
            now: t,
            queued_jobs: 0,
        }
    }

    fn values(g: &Group, name: &str) -> Vec<String> {
        g.get(name)
            .map(|a| {
                a.values
                    .iter()
                    .filter_map(|v| v.text().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn postscript_is_offered_only_with_ghostscript() {
        let without = printer_attributes(&info(false));
        let with = printer_attributes(&info(true));
        assert!(
            !values(&without, "document-format-supported")
                .contains(&"application/postscript".into())
        );
        assert!(
            values(&with, "document-format-supported").contains(&"application/postscript".into())
        );
        assert_eq!(
            values(&with, "printer-uri-supported"),
            ["ipps://print.example:8631/ipp/print/T"]
        );
        assert_eq!(values(&with, "printer-make-and-model"), [PRINTER_NAME]);
    }

    #[test]
    fn requested_attributes_pick_names_or_groups() {
        let all = printer_attributes(&info(false));
        let n = all.attributes.len();
        let ask = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let named = select(
            all.clone(),
            Some(ask(&["printer-state", "nonsense"]).as_slice()),
        );
        assert_eq!(named.attributes.len(), 1);
        let grouped = select(all.clone(), Some(ask(&["printer-description"]).as_slice()));
        assert_eq!(
            grouped.attributes.len(),
            n - 1,
            "media-col-database only by name or all"
        );
        assert_eq!(
            select(all, Some(ask(&["all"]).as_slice())).attributes.len(),
            n
        );
    }
}

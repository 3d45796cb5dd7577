//! Files the admin API hands out (the access review's CSV, the audit log's CSV and JSON
//! lines): one CSV writer, safe to open in a spreadsheet, and the download headers, so
//! every export is written and labelled the same way.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// `text/csv` with its charset.
pub const CSV: &str = "text/csv; charset=utf-8";
/// JSON lines: one JSON object per line.
pub const JSON_LINES: &str = "application/x-ndjson";

/// One CSV cell: quoted when it holds a separator, quote or line break; a leading
/// `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'` so a spreadsheet
/// never runs it as a formula (CSV injection).
pub fn csv_cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r', ';']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Appends one CSV record (cells through [`csv_cell`], CRLF as RFC 4180 ends lines).
pub fn push_csv_line<S: AsRef<str>>(out: &mut String, cells: impl IntoIterator<Item = S>) {
    let mut first = true;
    for cell in cells {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&csv_cell(cell.as_ref()));
    }
    out.push_str("\r\n");
}

/// `body` as a download named `filename`: its content type, `Content-Disposition:
/// attachment` and `Cache-Control: no-store` (exports hold personal data; no cache keeps
/// a copy).
pub fn attachment(body: String, content_type: &'static str, filename: &str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::{csv_cell, push_csv_line};

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("Åsa Öberg"), "Åsa Öberg");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+46 70"), "'+46 70");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn lines_join_guarded_cells_and_end_in_crlf() {
        let mut out = String::new();
        push_csv_line(&mut out, ["a", "=1+1", ""]);
        push_csv_line(&mut out, Vec::<String>::new());
        assert_eq!(out, "a,'=1+1,\r\n\r\n");
    }
}

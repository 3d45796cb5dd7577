//! The sans-IO converters behind [`super::render`]: a job's bytes in, PDF bytes out to
//! any writer, with the page and size bounds applied as the PDF is produced.

use std::io::Write;

use super::pdf_writer::PdfWriter;
use super::{
    DocumentFormat, RenderError, RenderOptions, RenderSummary, jpeg, pdf_check, raster, text,
};

/// Converts `data` in `format` to PDF written to `out`. PostScript needs Ghostscript and
/// is refused here (see `render`).
pub fn convert<W: Write>(
    format: DocumentFormat,
    data: &[u8],
    options: &RenderOptions,
    out: W,
) -> Result<RenderSummary, RenderError> {
    match format {
        DocumentFormat::Pdf => pass_through(data, options, out),
        DocumentFormat::PostScript => Err(RenderError::UnsupportedFormat(
            "application/postscript needs Ghostscript".to_owned(),
        )),
        DocumentFormat::PwgRaster | DocumentFormat::Jpeg | DocumentFormat::Text => {
            let mut pdf = PdfWriter::new(out, options.max_output_bytes, options.max_pages)?;
            match format {
                DocumentFormat::PwgRaster => raster::render(data, &mut pdf)?,
                DocumentFormat::Jpeg => jpeg::render(data, &mut pdf)?,
                _ => text::render(data, options.text_charset, &mut pdf)?,
            }
            let (_, pages, bytes) = pdf.finish()?;
            Ok(RenderSummary { pages, bytes })
        }
    }
}

/// A received PDF, checked, then copied as it is.
pub fn pass_through<W: Write>(
    data: &[u8],
    options: &RenderOptions,
    mut out: W,
) -> Result<RenderSummary, RenderError> {
    if data.len() as u64 > options.max_output_bytes {
        return Err(RenderError::TooLarge {
            limit: options.max_output_bytes,
        });
    }
    let pages = pdf_check::check(data, options.max_pages)?;
    out.write_all(data)?;
    Ok(RenderSummary {
        pages,
        bytes: data.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_bound_stops_a_long_text_job() {
        let job = "rad\n".repeat(66 * 5);
        let options = RenderOptions {
            max_pages: 4,
            ..RenderOptions::default()
        };
        let result = convert(DocumentFormat::Text, job.as_bytes(), &options, Vec::new());
        assert_eq!(result.map_err(|e| e.code()), Err("too_many_pages"));
        let options = RenderOptions {
            max_pages: 5,
            ..RenderOptions::default()
        };
        let summary = convert(DocumentFormat::Text, job.as_bytes(), &options, Vec::new());
        assert_eq!(summary.map(|s| s.pages).ok(), Some(5));
    }

    #[test]
    fn the_output_bound_stops_a_text_job() {
        let job = "räksmörgås ".repeat(20_000);
        let options = RenderOptions {
            max_output_bytes: 20_000,
            ..RenderOptions::default()
        };
        let result = convert(DocumentFormat::Text, job.as_bytes(), &options, Vec::new());
        assert_eq!(result.map_err(|e| e.code()), Err("too_large"));
    }

    #[test]
    fn a_text_job_that_cannot_fit_is_refused_before_layout() {
        let options = RenderOptions {
            max_pages: 1,
            ..RenderOptions::default()
        };
        let job = "x".repeat(66 * 132 * 2 + 1);
        let result = convert(DocumentFormat::Text, job.as_bytes(), &options, Vec::new());
        assert_eq!(result.map_err(|e| e.code()), Err("too_many_pages"));
    }

    #[test]
    fn postscript_needs_ghostscript() {
        let result = convert(
            DocumentFormat::PostScript,
            b"%!PS\n",
            &RenderOptions::default(),
            Vec::new(),
        );
        assert_eq!(result.map_err(|e| e.code()), Err("unsupported_format"));
    }
}

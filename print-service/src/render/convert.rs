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

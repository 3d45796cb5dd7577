//! Print jobs in their document formats (PDF, PWG raster, JPEG, plain text, PostScript)
//! become checked PDFs. The format-specific work is sans-IO (bytes in, PDF bytes out, in
//! [`convert`]) and runs on the blocking pool; only PostScript needs a child process
//! (Ghostscript, in [`postscript`]).

pub mod convert;
mod error;
pub mod jpeg;
pub mod pdf_check;
pub mod pdf_syntax;
pub mod pdf_writer;
mod postscript;
pub mod pwg;
pub mod raster;
pub mod text;
mod types;

use std::io::Write;
use std::path::Path;

pub use error::RenderError;
pub use types::{DocumentFormat, GhostscriptOptions, RenderOptions, RenderSummary, TextCharset};

/// Reads the spooled job at `input`, writes the finished PDF to `output`; on error nothing
/// is left at `output`. CPU work runs on spawn_blocking; PostScript via a Ghostscript child.
pub async fn render(
    format: DocumentFormat,
    input: &Path,
    output: &Path,
    options: &RenderOptions,
) -> Result<RenderSummary, RenderError> {
    let result = match format {
        DocumentFormat::PostScript => postscript::render(input, output, options).await,
        _ => {
            let (input, output_path, options) =
                (input.to_owned(), output.to_owned(), options.clone());
            tokio::task::spawn_blocking(move || render_file(format, &input, &output_path, &options))
                .await
                .unwrap_or_else(|join| {
                    Err(RenderError::Io(std::io::Error::other(join.to_string())))
                })
        }
    };
    if result.is_err() {
        // Nothing half-written may be offered; a missing file is fine.
        let _ = tokio::fs::remove_file(output).await;
    }
    result
}

fn render_file(
    format: DocumentFormat,
    input: &Path,
    output: &Path,
    options: &RenderOptions,
) -> Result<RenderSummary, RenderError> {
    let data = std::fs::read(input)?;
    let file = std::fs::File::create(output)?;
    let mut out = std::io::BufWriter::new(file);
    let summary = convert::convert(format, &data, options, &mut out)?;
    out.flush()?;
    out.into_inner()
        .map_err(|e| RenderError::Io(e.into_error()))?
        .sync_all()?;
    Ok(summary)
}

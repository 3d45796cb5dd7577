//! Why a job could not be rendered, with the stable codes the portal and the web UI map
//! to Swedish and English sentences.

/// A refused or failed render. [`RenderError::code`] is what is stored and shown.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("not a readable PDF: {0}")]
    MalformedPdf(String),
    #[error("broken PWG raster: {0}")]
    MalformedRaster(String),
    #[error("broken JPEG: {0}")]
    MalformedJpeg(String),
    #[error("not printable text: {0}")]
    MalformedText(String),
    #[error("more than {limit} pages")]
    TooManyPages { limit: u32 },
    #[error("the PDF would exceed {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("document format {0} is not supported")]
    UnsupportedFormat(String),
    #[error("PostScript cannot be converted here: {0}")]
    PostscriptUnavailable(String),
    #[error("Ghostscript could not convert the PostScript: {0}")]
    PostscriptFailed(String),
    #[error("rendering took longer than {0:?}")]
    Timeout(std::time::Duration),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl RenderError {
    /// The stable code (see docs/printing.md) that job rows, notifications and the UI use.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedPdf(_) => "malformed_pdf",
            Self::MalformedRaster(_) => "malformed_raster",
            Self::MalformedJpeg(_) => "malformed_jpeg",
            Self::MalformedText(_) => "malformed_text",
            Self::TooManyPages { .. } => "too_many_pages",
            Self::TooLarge { .. } => "too_large",
            Self::UnsupportedFormat(_) => "unsupported_format",
            Self::PostscriptUnavailable(_) => "postscript_unavailable",
            Self::PostscriptFailed(_) => "postscript_failed",
            Self::Timeout(_) => "render_timeout",
            Self::Io(_) => "io",
        }
    }
}

//! The render API's plain types: formats, options and the summary. Dependency-free, so
//! the fuzz workspace compiles them by path with the sans-IO converters.

use std::path::PathBuf;
use std::time::Duration;

/// The document formats a job may arrive in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentFormat {
    Pdf,
    PwgRaster,
    Jpeg,
    Text,
    PostScript,
}

impl DocumentFormat {
    /// The format for a MIME type; parameters (`text/plain; charset=utf-8`) are allowed.
    pub fn from_mime(mime: &str) -> Option<Self> {
        let essence = mime.split(';').next().unwrap_or_default().trim();
        let formats = [
            Self::Pdf,
            Self::PwgRaster,
            Self::Jpeg,
            Self::Text,
            Self::PostScript,
        ];
        formats
            .into_iter()
            .find(|format| format.mime().eq_ignore_ascii_case(essence))
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::PwgRaster => "image/pwg-raster",
            Self::Jpeg => "image/jpeg",
            Self::Text => "text/plain",
            Self::PostScript => "application/postscript",
        }
    }
}

/// The character sets a text job may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextCharset {
    Utf8,
    /// Windows-1252; ISO-8859-1 labels map here too, as browsers do.
    Cp1252,
}

/// How to run Ghostscript for PostScript jobs.
#[derive(Debug, Clone)]
pub struct GhostscriptOptions {
    pub program: PathBuf,
    pub timeout: Duration,
    pub memory_limit_bytes: u64,
}

/// Bounds and choices for one render.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub max_pages: u32,
    pub max_output_bytes: u64,
    /// `None`: UTF-8 when the job is valid UTF-8, else CP1252.
    pub text_charset: Option<TextCharset>,
    /// `None`: PostScript jobs are refused with `postscript_unavailable`.
    pub ghostscript: Option<GhostscriptOptions>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            max_pages: 2000,
            max_output_bytes: 256 * 1024 * 1024,
            text_charset: None,
            ghostscript: None,
        }
    }
}

/// What a finished render produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderSummary {
    pub pages: u32,
    pub bytes: u64,
}

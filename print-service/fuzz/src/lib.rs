//! The code under fuzzing, compiled from the print service's own source files: the
//! sans-IO converters depend on `thiserror` and `flate2` only, so they are included by
//! path instead of depending on `hamn-print` (axum and tokio in a sanitizer build).

#[path = "../../src/render/types.rs"]
mod types;
pub use types::{DocumentFormat, GhostscriptOptions, RenderOptions, RenderSummary, TextCharset};

#[path = "../../src/render/error.rs"]
mod error;
pub use error::RenderError;

#[path = "../../src/render/convert.rs"]
pub mod convert;
#[path = "../../src/render/jpeg.rs"]
pub mod jpeg;
#[path = "../../src/render/pdf_check.rs"]
pub mod pdf_check;
#[path = "../../src/render/pdf_syntax.rs"]
pub mod pdf_syntax;
#[path = "../../src/render/pdf_writer.rs"]
pub mod pdf_writer;
#[path = "../../src/render/pwg.rs"]
pub mod pwg;
#[path = "../../src/render/raster.rs"]
pub mod raster;
#[path = "../../src/render/text/mod.rs"]
pub mod text;

//! JPEG jobs become one PDF page with the JPEG embedded as it is (DCTDecode, no
//! re-encoding). The marker segments up to the first scan are checked (frame type,
//! dimensions, components, JFIF density) and the file must end with EOI, so a truncated
//! upload is refused rather than shown half-grey.

use std::io::Write;

use super::RenderError;
use super::pdf_writer::{PdfWriter, StreamFilter};
use super::raster::image_page;

/// A4 in points, portrait.
pub const A4: (f64, f64) = (595.276, 841.89);
const MAX_DIMENSION: u16 = 30_000;

/// What the PDF needs to know about a JPEG.
#[derive(Debug, Clone, PartialEq)]
pub struct JpegInfo {
    pub width: u16,
    pub height: u16,
    pub components: u8,
    /// Dots per inch from JFIF, when it gives real units.
    pub density: Option<(f64, f64)>,
    /// An Adobe APP14 segment: CMYK is stored inverted.
    pub adobe: bool,
}

fn malformed(why: impl Into<String>) -> RenderError {
    RenderError::MalformedJpeg(why.into())
}

/// Parses the markers up to the first scan.
pub fn inspect(data: &[u8]) -> Result<JpegInfo, RenderError> {
    if data.len() < 4 || data[0..2] != [0xFF, 0xD8] {
        return Err(malformed("no SOI marker"));
    }
    let trimmed = data.len() - data.iter().rev().take_while(|&&b| b == 0).count();
    if trimmed < 2 || data[trimmed - 2..trimmed] != [0xFF, 0xD9] {
        return Err(malformed("no EOI marker at the end (truncated?)"));
    }
    let mut at = 2;
    let mut density = None;
    let mut adobe = false;
    let mut frame: Option<(u16, u16, u8)> = None;
    loop {
        // Fill bytes (0xFF) may precede a marker.
        while data.get(at) == Some(&0xFF) && data.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (data.get(at), data.get(at + 1)) else {
            return Err(malformed(format!("expected a marker at byte {at}")));
        };
        at += 2;
        if marker == 0xD9 {
            return Err(malformed("EOI before any scan"));
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            continue;
        }
        let Some(length) = data.get(at..at + 2) else {
            return Err(malformed("truncated segment length"));
        };
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        if length < 2 {
            return Err(malformed("segment length below 2"));
        }
        let Some(segment) = data.get(at + 2..at + length) else {
            return Err(malformed("truncated segment"));
        };
        match marker {
            0xC0..=0xC2 => frame = Some(parse_frame(segment)?),
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(malformed(format!(
                    "frame type {marker:#04x} (lossless, hierarchical or arithmetic) is not supported"
                )));
            }
            0xE0 if segment.starts_with(b"JFIF\0") && segment.len() >= 12 => {
                let units = segment[7];
                let x = f64::from(u16::from_be_bytes([segment[8], segment[9]]));
                let y = f64::from(u16::from_be_bytes([segment[10], segment[11]]));
                let per_inch = match units {
                    1 => Some(1.0),
                    2 => Some(2.54),
                    _ => None,
                };
                if let Some(factor) = per_inch
                    && x > 0.0
                    && y > 0.0
                {
                    density = Some((x * factor, y * factor));
                }
            }
            0xEE if segment.starts_with(b"Adobe") => adobe = true,
            0xDA => {
                let Some((width, height, components)) = frame else {
                    return Err(malformed("scan before any frame header"));
                };
                return Ok(JpegInfo {
                    width,
                    height,
                    components,
                    density,
                    adobe,
                });
            }
            _ => {}
        }
        at += length;
    }
}

fn parse_frame(segment: &[u8]) -> Result<(u16, u16, u8), RenderError> {
    if segment.len() < 6 {
        return Err(malformed("short frame header"));
    }
    let precision = segment[0];
    let height = u16::from_be_bytes([segment[1], segment[2]]);
    let width = u16::from_be_bytes([segment[3], segment[4]]);
    let components = segment[5];
    if precision != 8 {
        return Err(malformed(format!("{precision}-bit samples")));
    }
    if width == 0 || height == 0 {
        return Err(malformed(format!("dimensions {width}x{height}")));
    }
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(malformed(format!("{width}x{height} pixels is too large")));
    }
    if !matches!(components, 1 | 3 | 4) {
        return Err(malformed(format!("{components} colour components")));
    }
    if segment.len() < 6 + 3 * usize::from(components) {
        return Err(malformed("short frame header"));
    }
    Ok((width, height, components))
}

/// The page size and the image's placement on it: the JFIF density gives the size when
/// it is plausible (the page at most A3-ish); otherwise the image is fitted on A4 with a
/// 10 mm margin, landscape when it is wider than tall.
pub fn layout(info: &JpegInfo) -> ((f64, f64), (f64, f64, f64, f64)) {
    let (w, h) = (f64::from(info.width), f64::from(info.height));
    if let Some((dx, dy)) = info.density {
        let size = (w * 72.0 / dx, h * 72.0 / dy);
        if (36.0..=1224.0).contains(&size.0) && (36.0..=1224.0).contains(&size.1) {
            return (size, (0.0, 0.0, size.0, size.1));
        }
    }
    let page = if w > h { (A4.1, A4.0) } else { A4 };
    let margin = 28.346;
    let scale = ((page.0 - 2.0 * margin) / w).min((page.1 - 2.0 * margin) / h);
    let (iw, ih) = (w * scale, h * scale);
    (page, ((page.0 - iw) / 2.0, (page.1 - ih) / 2.0, iw, ih))
}

pub fn render<W: Write>(data: &[u8], pdf: &mut PdfWriter<W>) -> Result<(), RenderError> {
    let info = inspect(data)?;
    let (space, decode) = match (info.components, info.adobe) {
        (1, _) => ("DeviceGray", ""),
        (3, _) => ("DeviceRGB", ""),
        (_, true) => ("DeviceCMYK", " /Decode [1 0 1 0 1 0 1 0]"),
        (_, false) => ("DeviceCMYK", ""),
    };
    let dict = format!(
        "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /{space} \
         /BitsPerComponent 8 /Filter /DCTDecode{decode}",
        info.width, info.height
    );
    let image = pdf.stream(&dict, StreamFilter::AsIs, |sink| {
        sink.write_all(data).map_err(RenderError::Io)
    })?;
    let (page, placement) = layout(&info);
    image_page(pdf, image, page, placement)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn code(data: &[u8]) -> &'static str {
        inspect(data).map_err(|e| e.code()).err().unwrap_or("ok")
    }

    /// The fixture with its frame header's fields changed.
    fn with_frame(patch: impl Fn(&mut [u8])) -> Vec<u8> {
        let mut data = fixture("photo-120dpi.jpg");
        let sof = data
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("baseline frame");
        patch(&mut data[sof + 4..]);
        data
    }

    #[test]
    fn imagemagick_jpegs_are_read() {
        expect_test::expect![[r#"
            Some(
                JpegInfo {
                    width: 240,
                    height: 160,
                    components: 3,
                    density: Some(
                        (
                            120.0,
                            120.0,
                        ),
                    ),
                    adobe: false,
                },
            )
        "#]]
        .assert_debug_eq(&inspect(&fixture("photo-120dpi.jpg")).ok());
        let info = inspect(&fixture("photo-no-density.jpg")).expect("valid");
        assert_eq!(info.density, None);
        let (page, _) = layout(&info);
        assert_eq!(page, A4);
    }

    #[test]
    fn truncated_and_foreign_data_is_refused() {
        let data = fixture("photo-120dpi.jpg");
        for cut in (0..data.len() - 1).step_by(5) {
            assert_eq!(code(&data[..cut]), "malformed_jpeg", "cut at {cut}");
        }
        assert_eq!(code(b"\x89PNG\r\n\x1a\n"), "malformed_jpeg");
        assert_eq!(code(&[0xFF, 0xD8, 0xFF, 0xD9]), "malformed_jpeg");
    }

    #[test]
    fn bad_frames_are_refused() {
        // Precision, height, width, components.
        let twelve_bit = with_frame(|f| f[0] = 12);
        let zero_height = with_frame(|f| f[1..3].copy_from_slice(&[0, 0]));
        let huge = with_frame(|f| f[3..5].copy_from_slice(&60_000u16.to_be_bytes()));
        let two_components = with_frame(|f| f[5] = 2);
        for (why, data) in [
            ("12-bit", twelve_bit),
            ("zero height", zero_height),
            ("huge", huge),
            ("2 components", two_components),
        ] {
            assert_eq!(code(&data), "malformed_jpeg", "{why}");
        }
        let mut lossless = fixture("photo-120dpi.jpg");
        let sof = lossless
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("frame");
        lossless[sof + 1] = 0xC3;
        assert_eq!(code(&lossless), "malformed_jpeg");
    }
}

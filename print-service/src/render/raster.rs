//! PWG raster jobs become PDF pages: one image per page at the bit depth and resolution
//! it arrived in (1-bit stays 1-bit), Flate-compressed line by line as it is decoded, the
//! page exactly as large as the pixels at their resolution. Lossless by construction.

use std::io::Write;

use super::RenderError;
use super::pdf_writer::{PdfWriter, StreamFilter, num};
use super::pwg::{PixelFormat, PwgReader};

/// Flate level for raster pages: bi-level and grey print pages compress well already at
/// the fast levels, and the time goes into the bytes, so the benchmark's choice.
pub const RASTER_FLATE_LEVEL: u32 = 1;

/// The PDF image dictionary entries for a page's pixels.
fn image_dict(format: PixelFormat, width: u32, height: u32) -> String {
    let (space, bits, decode) = match format {
        // PWG "black": 1 (or 255) is ink, PDF DeviceGray's 0 is black.
        PixelFormat::Black1 => ("DeviceGray", 1, " /Decode [1 0]"),
        PixelFormat::Black8 => ("DeviceGray", 8, " /Decode [1 0]"),
        PixelFormat::Gray1 => ("DeviceGray", 1, ""),
        PixelFormat::Gray8 => ("DeviceGray", 8, ""),
        PixelFormat::Rgb8 => ("DeviceRGB", 8, ""),
    };
    format!(
        "/Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /{space} \
         /BitsPerComponent {bits}{decode}"
    )
}

/// Writes an image page of `width_pt` × `height_pt` showing image `image` over it all.
pub fn image_page<W: Write>(
    pdf: &mut PdfWriter<W>,
    image: super::pdf_writer::ObjId,
    page: (f64, f64),
    placement: (f64, f64, f64, f64),
) -> Result<(), RenderError> {
    let (x, y, w, h) = placement;
    let content = format!(
        "q {} 0 0 {} {} {} cm /Im0 Do Q\n",
        num(w),
        num(h),
        num(x),
        num(y)
    );
    let content_id = pdf.stream("", StreamFilter::Flate(6), |sink| {
        sink.write_all(content.as_bytes()).map_err(RenderError::Io)
    })?;
    let resources = format!("<< /XObject << /Im0 {image} >> >>");
    pdf.page(page.0, page.1, &resources, content_id)?;
    Ok(())
}

/// Renders a whole PWG raster stream into `pdf`.
pub fn render<W: Write>(data: &[u8], pdf: &mut PdfWriter<W>) -> Result<(), RenderError> {
    let mut reader = PwgReader::new(data)?;
    while let Some(header) = reader.next_header()? {
        pdf.check_page_room()?;
        let dict = image_dict(header.format, header.width, header.height);
        let image = pdf.stream(&dict, StreamFilter::Flate(RASTER_FLATE_LEVEL), |sink| {
            reader.decode_page(&header, |line| {
                sink.write_all(line).map_err(RenderError::Io)
            })
        })?;
        let size = header.size_points();
        image_page(pdf, image, size, (0.0, 0.0, size.0, size.1))?;
    }
    if pdf.page_count() == 0 {
        return Err(RenderError::MalformedRaster("no pages".to_owned()));
    }
    Ok(())
}

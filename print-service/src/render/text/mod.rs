//! Text jobs typeset on A4 in the embedded monospace font: glyphs addressed by id
//! (Identity-H), a ToUnicode map so copying and `pdftotext` give back å ä ö and €, and a
//! font subset holding only the glyphs used.

pub mod charset;
pub mod font;
pub mod layout;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write;

use super::pdf_writer::{PdfWriter, StreamFilter, num};
use super::{RenderError, TextCharset};
use font::Font;
use layout::{Geometry, Line};

const A4: (f64, f64) = (595.276, 841.89);
const FONT_NAME: &str = "HAMNAA+DejaVuSansMono";
/// Flate level for content streams: they are small; speed over the last percent.
const CONTENT_FLATE_LEVEL: u32 = 6;

fn font_error(why: String) -> RenderError {
    RenderError::Io(std::io::Error::other(format!("embedded font: {why}")))
}

/// Typesets a text job into `pdf`.
pub fn render<W: Write>(
    data: &[u8],
    charset: Option<TextCharset>,
    pdf: &mut PdfWriter<W>,
) -> Result<(), RenderError> {
    // Twice the bytes that fill every allowed page with full 132-column lines: more
    // cannot fit (bar trailing spaces), and layout would hold it all in memory first.
    let fits =
        u64::from(pdf.max_pages()) * (layout::LINES_PER_PAGE * layout::WIDE_COLUMNS * 2) as u64;
    if data.len() as u64 > fits {
        return Err(RenderError::TooManyPages {
            limit: pdf.max_pages(),
        });
    }
    let text = charset::decode(data, charset)?;
    let font = font::font().map_err(font_error)?;
    let (geometry, pages) = layout::layout(&text);
    let page_size = if geometry.landscape { (A4.1, A4.0) } else { A4 };
    let font_id = pdf.reserve();
    let resources = format!("<< /Font << /F1 {font_id} >> >>");
    // The glyph each used character got, for the widths and the ToUnicode map.
    let mut used: BTreeMap<u16, char> = BTreeMap::new();
    let fallback = font
        .glyph('\u{FFFD}')
        .or_else(|| font.glyph('?'))
        .unwrap_or(0);
    for page in &pages {
        pdf.check_page_room()?;
        let content = page_content(font, &geometry, page_size, page, fallback, &mut used);
        let content_id = pdf.stream("", StreamFilter::Flate(CONTENT_FLATE_LEVEL), |sink| {
            sink.write_all(content.as_bytes()).map_err(RenderError::Io)
        })?;
        pdf.page(page_size.0, page_size.1, &resources, content_id)?;
    }
    write_font(pdf, font, font_id, &used)
}

fn page_content(
    font: &Font,
    geometry: &Geometry,
    page_size: (f64, f64),
    page: &[Line],
    fallback: u16,
    used: &mut BTreeMap<u16, char>,
) -> String {
    let advance =
        f64::from(font.advance(font.glyph('M').unwrap_or(0))) / 1000.0 * geometry.font_size;
    let block_width = advance * geometry.columns as f64;
    let block_height = geometry.leading * layout::LINES_PER_PAGE as f64;
    let left = (page_size.0 - block_width) / 2.0;
    let first_baseline =
        page_size.1 - (page_size.1 - block_height) / 2.0 - geometry.font_size * 0.8;
    let mut content = format!("BT /F1 {} Tf\n", num(geometry.font_size));
    for (row, line) in page.iter().enumerate() {
        let y = first_baseline - geometry.leading * row as f64;
        for run in line {
            let x = left + advance * run.column as f64;
            let _ = write!(content, "1 0 0 1 {} {} Tm <", num(x), num(y));
            for c in run.text.chars() {
                let glyph = match font.glyph(c) {
                    Some(glyph) => {
                        used.entry(glyph).or_insert(c);
                        glyph
                    }
                    None => {
                        used.entry(fallback).or_insert('\u{FFFD}');
                        fallback
                    }
                };
                let _ = write!(content, "{glyph:04X}");
            }
            content.push_str("> Tj\n");
        }
    }
    content.push_str("ET\n");
    content
}

/// The Type0 font, its CID font, descriptor, subset font file and ToUnicode map.
fn write_font<W: Write>(
    pdf: &mut PdfWriter<W>,
    font: &Font,
    font_id: super::pdf_writer::ObjId,
    used: &BTreeMap<u16, char>,
) -> Result<(), RenderError> {
    let glyphs: BTreeSet<u16> = used.keys().copied().collect();
    let subset = font.subset(&glyphs).map_err(font_error)?;
    let file = pdf.stream(
        &format!("/Length1 {}", subset.len()),
        StreamFilter::Flate(CONTENT_FLATE_LEVEL),
        |sink| sink.write_all(&subset).map_err(RenderError::Io),
    )?;
    let bbox = font.bbox.map(|v| font.scale(v));
    let descriptor = pdf.add(&format!(
        "<< /Type /FontDescriptor /FontName /{FONT_NAME} /Flags 5 /FontBBox [{} {} {} {}] \
         /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight 729 /StemV 80 /FontFile2 {file} >>",
        bbox[0],
        bbox[1],
        bbox[2],
        bbox[3],
        font.scale(font.ascent),
        font.scale(font.descent),
    ))?;
    let mut widths = String::new();
    for glyph in &glyphs {
        let _ = write!(widths, "{glyph} [{}] ", font.advance(*glyph));
    }
    let default_width = font.advance(font.glyph('M').unwrap_or(0));
    let cid_font = pdf.add(&format!(
        "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{FONT_NAME} \
         /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
         /FontDescriptor {descriptor} /DW {default_width} /W [{widths}] /CIDToGIDMap /Identity >>"
    ))?;
    let cmap = to_unicode(used);
    let to_unicode = pdf.stream("", StreamFilter::Flate(CONTENT_FLATE_LEVEL), |sink| {
        sink.write_all(cmap.as_bytes()).map_err(RenderError::Io)
    })?;
    pdf.object(
        font_id,
        &format!(
            "<< /Type /Font /Subtype /Type0 /BaseFont /{FONT_NAME} /Encoding /Identity-H \
             /DescendantFonts [{cid_font}] /ToUnicode {to_unicode} >>"
        ),
    )
}

/// The CMap from glyph ids back to Unicode (UTF-16BE), 100 entries per block as the
/// CMap format allows.
fn to_unicode(used: &BTreeMap<u16, char>) -> String {
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<_> = used.iter().collect();
    for block in entries.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfchar", block.len());
        for (glyph, c) in block {
            let mut units = [0u16; 2];
            let hex: String = c
                .encode_utf16(&mut units)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            let _ = writeln!(cmap, "<{glyph:04X}> <{hex}>");
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    cmap
}

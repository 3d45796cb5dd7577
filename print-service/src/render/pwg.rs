//! PWG Raster (PWG 5102.4) decoding, sans-IO over the job's bytes: the "RaS2" sync word,
//! 1796-byte big-endian page headers, and lines compressed with a line repeat count and
//! PackBits-like runs of whole pixels. Bounded: header fields are checked before any
//! pixel is produced, and a page's decoded size is capped so a tiny job cannot expand
//! into gigabytes.

use super::RenderError;

pub const SYNC: &[u8; 4] = b"RaS2";
pub const HEADER_LEN: usize = 1796;
/// A page's decoded size bound: A3 at 600 dpi in 24-bit colour is 209 MB.
pub const MAX_PAGE_BYTES: u64 = 256 * 1024 * 1024;
const MAX_RESOLUTION: u32 = 9600;

/// The colour model of a page's pixels, as PDF will describe them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// 1 bit per pixel, 1 = ink (PWG "black_1").
    Black1,
    /// 8 bits, 255 = ink (PWG "black_8").
    Black8,
    /// 1 bit, 0 = black (sGray with 1 bit).
    Gray1,
    /// 8 bits, 0 = black (PWG "sgray_8").
    Gray8,
    /// 3 × 8 bits (PWG "srgb_8", and device "rgb_8").
    Rgb8,
}

impl PixelFormat {
    pub fn bits_per_pixel(self) -> u32 {
        match self {
            Self::Black1 | Self::Gray1 => 1,
            Self::Black8 | Self::Gray8 => 8,
            Self::Rgb8 => 24,
        }
    }

    /// Bytes in one unit of the run-length code: a whole pixel, or a byte when pixels
    /// are smaller than a byte.
    pub fn unit_bytes(self) -> usize {
        (self.bits_per_pixel() as usize).div_ceil(8)
    }

    /// The byte that paints white, for the "clear to end of line" code.
    pub fn white(self) -> u8 {
        match self {
            Self::Black1 | Self::Black8 => 0x00,
            Self::Gray1 | Self::Gray8 | Self::Rgb8 => 0xFF,
        }
    }
}

/// The fields of a page header that decoding and page size depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageHeader {
    pub media_type: String,
    pub page_size_name: String,
    pub resolution: (u32, u32),
    /// PageSize in points, as the sender declared it (informational; the PDF page size
    /// comes from pixels and resolution).
    pub page_size_points: (u32, u32),
    pub width: u32,
    pub height: u32,
    pub bits_per_color: u32,
    pub bits_per_pixel: u32,
    pub bytes_per_line: u32,
    pub color_order: u32,
    pub color_space: u32,
    pub num_colors: u32,
    pub total_page_count: u32,
    pub format: PixelFormat,
}

impl PageHeader {
    /// The page's size in points (1/72 inch) from its pixels and resolution.
    pub fn size_points(&self) -> (f64, f64) {
        (
            f64::from(self.width) * 72.0 / f64::from(self.resolution.0),
            f64::from(self.height) * 72.0 / f64::from(self.resolution.1),
        )
    }
}

fn malformed(why: impl Into<String>) -> RenderError {
    RenderError::MalformedRaster(why.into())
}

fn be32(header: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&header[at..at + 4]);
    u32::from_be_bytes(word)
}

fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Parses and checks one 1796-byte page header.
pub fn parse_header(header: &[u8; HEADER_LEN]) -> Result<PageHeader, RenderError> {
    let resolution = (be32(header, 276), be32(header, 280));
    let width = be32(header, 372);
    let height = be32(header, 376);
    let bits_per_color = be32(header, 384);
    let bits_per_pixel = be32(header, 388);
    let bytes_per_line = be32(header, 392);
    let color_order = be32(header, 396);
    let color_space = be32(header, 400);
    let num_colors = be32(header, 420);
    if !(1..=MAX_RESOLUTION).contains(&resolution.0)
        || !(1..=MAX_RESOLUTION).contains(&resolution.1)
    {
        return Err(malformed(format!(
            "resolution {}x{} dpi",
            resolution.0, resolution.1
        )));
    }
    if width == 0 || height == 0 {
        return Err(malformed(format!("empty page {width}x{height}")));
    }
    if color_order != 0 {
        return Err(malformed(format!(
            "colour order {color_order} (only chunky pixels)"
        )));
    }
    let format = match (color_space, bits_per_color, bits_per_pixel) {
        (3, 1, 1) => PixelFormat::Black1,
        (3, 8, 8) => PixelFormat::Black8,
        (18, 1, 1) => PixelFormat::Gray1,
        (18, 8, 8) => PixelFormat::Gray8,
        (1 | 19, 8, 24) => PixelFormat::Rgb8,
        _ => {
            return Err(malformed(format!(
                "colour space {color_space} with {bits_per_color} bits per colour and \
                 {bits_per_pixel} per pixel is not supported"
            )));
        }
    };
    let line = (u64::from(width) * u64::from(bits_per_pixel)).div_ceil(8);
    if line != u64::from(bytes_per_line) {
        return Err(malformed(format!(
            "{bytes_per_line} bytes per line for {width} pixels of {bits_per_pixel} bits"
        )));
    }
    if line * u64::from(height) > MAX_PAGE_BYTES {
        return Err(malformed(format!(
            "page of {width}x{height} pixels is too large"
        )));
    }
    Ok(PageHeader {
        media_type: c_string(&header[128..192]),
        page_size_name: c_string(&header[1732..1796]),
        resolution,
        page_size_points: (be32(header, 352), be32(header, 356)),
        width,
        height,
        bits_per_color,
        bits_per_pixel,
        bytes_per_line,
        color_order,
        color_space,
        num_colors,
        total_page_count: be32(header, 452),
        format,
    })
}

/// Walks a PWG raster stream page by page.
pub struct PwgReader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> PwgReader<'a> {
    pub fn new(data: &'a [u8]) -> Result<Self, RenderError> {
        if data.len() < SYNC.len() {
            return Err(malformed("shorter than the sync word"));
        }
        if &data[..4] != SYNC {
            return Err(malformed("no RaS2 sync word"));
        }
        Ok(Self { data, at: 4 })
    }

    pub fn at_end(&self) -> bool {
        self.at >= self.data.len()
    }

    /// The next page's header, or `None` at the end of the stream.
    pub fn next_header(&mut self) -> Result<Option<PageHeader>, RenderError> {
        if self.at_end() {
            return Ok(None);
        }
        let Some(bytes) = self.data.get(self.at..self.at + HEADER_LEN) else {
            return Err(malformed("truncated page header"));
        };
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(bytes);
        let parsed = parse_header(&header)?;
        self.at += HEADER_LEN;
        Ok(Some(parsed))
    }

    /// Decodes the page after `header` and hands every line (each `bytes_per_line` long)
    /// to `line`, repeated lines once per repetition.
    pub fn decode_page<F>(&mut self, header: &PageHeader, mut line: F) -> Result<(), RenderError>
    where
        F: FnMut(&[u8]) -> Result<(), RenderError>,
    {
        let line_len = header.bytes_per_line as usize;
        let unit = header.format.unit_bytes();
        let white = header.format.white();
        let mut buffer = vec![0u8; line_len];
        let mut y = 0u32;
        while y < header.height {
            let repeat = u32::from(self.byte("line repeat count")?) + 1;
            if repeat > header.height - y {
                return Err(malformed("line repeat past the end of the page"));
            }
            let mut x = 0usize;
            while x < line_len {
                let code = self.byte("run code")?;
                match code {
                    0..=127 => {
                        let count = usize::from(code) + 1;
                        let bytes = count * unit;
                        let pixel = self.take(unit, "repeated pixel")?;
                        if x + bytes > line_len {
                            return Err(malformed("run past the end of the line"));
                        }
                        for chunk in buffer[x..x + bytes].chunks_exact_mut(unit) {
                            chunk.copy_from_slice(pixel);
                        }
                        x += bytes;
                    }
                    128 => {
                        buffer[x..].fill(white);
                        x = line_len;
                    }
                    129..=255 => {
                        let bytes = (257 - usize::from(code)) * unit;
                        if x + bytes > line_len {
                            return Err(malformed("literal run past the end of the line"));
                        }
                        let pixels = self.take(bytes, "literal pixels")?;
                        buffer[x..x + bytes].copy_from_slice(pixels);
                        x += bytes;
                    }
                }
            }
            for _ in 0..repeat {
                line(&buffer)?;
            }
            y += repeat;
        }
        Ok(())
    }

    fn byte(&mut self, what: &str) -> Result<u8, RenderError> {
        Ok(self.take(1, what)?[0])
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], RenderError> {
        let Some(bytes) = self.data.get(self.at..self.at + n) else {
            return Err(malformed(format!("truncated in {what}")));
        };
        self.at += n;
        Ok(bytes)
    }
}

/// The encoder side, for tests, fixtures and the benchmark: writes pages the way a
/// printer driver does (line repeats, runs of equal pixels, literal runs).
pub mod encode {
    use super::{HEADER_LEN, PixelFormat, SYNC};

    /// A header for `width` × `height` pixels at `dpi` in `format`.
    pub fn header(width: u32, height: u32, dpi: u32, format: PixelFormat) -> Vec<u8> {
        let mut header = vec![0u8; HEADER_LEN];
        let mut put =
            |at: usize, value: u32| header[at..at + 4].copy_from_slice(&value.to_be_bytes());
        let (space, bits, colors) = match format {
            PixelFormat::Black1 => (3, 1, 1),
            PixelFormat::Black8 => (3, 8, 1),
            PixelFormat::Gray1 => (18, 1, 1),
            PixelFormat::Gray8 => (18, 8, 1),
            PixelFormat::Rgb8 => (19, 8, 3),
        };
        let bpp = format.bits_per_pixel();
        put(276, dpi);
        put(280, dpi);
        put(352, width * 72 / dpi);
        put(356, height * 72 / dpi);
        put(372, width);
        put(376, height);
        put(384, bits);
        put(388, bpp);
        put(392, (width * bpp).div_ceil(8));
        put(400, space);
        put(420, colors);
        put(452, 1);
        header[128..138].copy_from_slice(b"stationery");
        header[1732..1748].copy_from_slice(b"iso_a4_210x297mm");
        header
    }

    /// One page to encode: its header, its lines, their format.
    pub type Page = (Vec<u8>, Vec<Vec<u8>>, PixelFormat);

    /// A whole stream: sync word and the given pages.
    pub fn stream(pages: &[Page]) -> Vec<u8> {
        let mut out = SYNC.to_vec();
        for (header, lines, format) in pages {
            out.extend_from_slice(header);
            page(&mut out, lines, *format);
        }
        out
    }

    /// Encodes one page's lines.
    pub fn page(out: &mut Vec<u8>, lines: &[Vec<u8>], format: PixelFormat) {
        let unit = format.unit_bytes();
        let mut y = 0;
        while y < lines.len() {
            let mut repeat = 1;
            while repeat < 256 && y + repeat < lines.len() && lines[y + repeat] == lines[y] {
                repeat += 1;
            }
            out.push((repeat - 1) as u8);
            line(out, &lines[y], unit);
            y += repeat;
        }
    }

    fn line(out: &mut Vec<u8>, line: &[u8], unit: usize) {
        let pixels: Vec<&[u8]> = line.chunks(unit).collect();
        let mut x = 0;
        while x < pixels.len() {
            let mut same = 1;
            while same < 128 && x + same < pixels.len() && pixels[x + same] == pixels[x] {
                same += 1;
            }
            if same > 1 {
                out.push((same - 1) as u8);
                out.extend_from_slice(pixels[x]);
                x += same;
                continue;
            }
            let mut literal = 1;
            while literal < 128
                && x + literal < pixels.len()
                && (x + literal + 1 >= pixels.len()
                    || pixels[x + literal] != pixels[x + literal + 1])
            {
                literal += 1;
            }
            if literal == 1 {
                // A literal run holds at least two pixels; one is a run of one.
                out.push(0);
                out.extend_from_slice(pixels[x]);
                x += 1;
                continue;
            }
            out.push((257 - literal) as u8);
            for pixel in &pixels[x..x + literal] {
                out.extend_from_slice(pixel);
            }
            x += literal;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::encode;
    use super::*;
    use proptest::prelude::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    type Decoded = Vec<(PageHeader, Vec<Vec<u8>>)>;

    /// Decodes every page: headers and the lines of each.
    fn decode_all(data: &[u8]) -> Result<Decoded, RenderError> {
        let mut reader = PwgReader::new(data)?;
        let mut pages = Vec::new();
        while let Some(header) = reader.next_header()? {
            let mut lines = Vec::new();
            reader.decode_page(&header, |line| {
                lines.push(line.to_vec());
                Ok(())
            })?;
            pages.push((header, lines));
        }
        Ok(pages)
    }

    fn code(result: Result<impl Sized, RenderError>) -> &'static str {
        result.map(drop).map_err(|e| e.code()).err().unwrap_or("ok")
    }

    fn one_page(format: PixelFormat, width: u32, height: u32) -> Vec<u8> {
        let line = vec![0x55u8; (width * format.bits_per_pixel()).div_ceil(8) as usize];
        let lines = vec![line; height as usize];
        encode::stream(&[(encode::header(width, height, 300, format), lines, format)])
    }

    #[test]
    fn ghostscript_pages_decode() {
        let pages = decode_all(&fixture("gs-gray8.pwg")).expect("gray decodes");
        expect_test::expect![[r#"
            PageHeader {
                media_type: "",
                page_size_name: "",
                resolution: (
                    50,
                    50,
                ),
                page_size_points: (
                    595,
                    842,
                ),
                width: 413,
                height: 585,
                bits_per_color: 8,
                bits_per_pixel: 8,
                bytes_per_line: 413,
                color_order: 0,
                color_space: 18,
                num_colors: 1,
                total_page_count: 0,
                format: Gray8,
            }
        "#]]
        .assert_debug_eq(&pages[0].0);
        assert_eq!(pages.len(), 2);
        let pages = decode_all(&fixture("gs-black1.pwg")).expect("black decodes");
        assert_eq!(pages[0].0.format, PixelFormat::Black1);
        let pages = decode_all(&fixture("gs-srgb8.pwg")).expect("colour decodes");
        assert_eq!(pages[0].0.format, PixelFormat::Rgb8);
        assert_eq!(pages[0].1.len(), 585);
    }

    #[test]
    fn wrong_sync_is_refused() {
        let mut data = one_page(PixelFormat::Gray8, 8, 2);
        data[0..4].copy_from_slice(b"RaS3");
        assert_eq!(code(decode_all(&data)), "malformed_raster");
        assert_eq!(code(decode_all(b"Ra")), "malformed_raster");
        assert_eq!(code(decode_all(b"")), "malformed_raster");
    }

    #[test]
    fn truncation_anywhere_is_refused() {
        let data = one_page(PixelFormat::Rgb8, 9, 3);
        for cut in 5..data.len() {
            assert_eq!(
                code(decode_all(&data[..cut])),
                "malformed_raster",
                "cut at {cut}"
            );
        }
        assert!(decode_all(&data).is_ok());
    }

    #[test]
    fn huge_or_inconsistent_dimensions_are_refused() {
        let mut header = encode::header(8, 8, 300, PixelFormat::Rgb8);
        header[372..376].copy_from_slice(&100_000u32.to_be_bytes());
        header[376..380].copy_from_slice(&100_000u32.to_be_bytes());
        header[392..396].copy_from_slice(&300_000u32.to_be_bytes());
        let array: [u8; HEADER_LEN] = header.try_into().expect("header length");
        assert_eq!(code(parse_header(&array)), "malformed_raster");

        let mut header = encode::header(8, 8, 300, PixelFormat::Gray8);
        header[392..396].copy_from_slice(&9u32.to_be_bytes());
        let array: [u8; HEADER_LEN] = header.try_into().expect("header length");
        assert_eq!(code(parse_header(&array)), "malformed_raster");

        for (at, value) in [(276, 0u32), (280, 100_000), (372, 0), (396, 1), (400, 6)] {
            let mut header = encode::header(8, 8, 300, PixelFormat::Gray8);
            header[at..at + 4].copy_from_slice(&value.to_be_bytes());
            let array: [u8; HEADER_LEN] = header.try_into().expect("header length");
            assert_eq!(
                code(parse_header(&array)),
                "malformed_raster",
                "field at {at}"
            );
        }
    }

    #[test]
    fn bad_packbits_is_refused() {
        let header = encode::header(4, 2, 300, PixelFormat::Gray8);
        let page = |body: &[u8]| {
            let mut data = SYNC.to_vec();
            data.extend_from_slice(&header);
            data.extend_from_slice(body);
            data
        };
        // A run of 5 pixels on a 4-pixel line.
        assert_eq!(
            code(decode_all(&page(&[0, 4, 0xAA, 1, 3, 0]))),
            "malformed_raster"
        );
        // A literal run of 3 (257 - 254) after 2 pixels: past the line.
        assert_eq!(
            code(decode_all(&page(&[0, 1, 0, 254, 1, 2, 3, 0, 3, 0]))),
            "malformed_raster"
        );
        // Line repeat of 3 on a 2-line page.
        assert_eq!(code(decode_all(&page(&[2, 3, 0]))), "malformed_raster");
        // Clear to end of line is fine, and paints white.
        let pages = decode_all(&page(&[1, 0, 0x11, 128])).expect("valid");
        assert_eq!(pages[0].1, vec![vec![0x11, 0xFF, 0xFF, 0xFF]; 2]);
    }

    #[test]
    fn a_repeat_bomb_stays_within_the_page_bound() {
        // Line repeats let a few bytes claim gigabytes of pixels; the header bound
        // refuses a page over MAX_PAGE_BYTES before any pixel is produced.
        let header = encode::header(60_000, 1_500, 300, PixelFormat::Rgb8);
        let array: [u8; HEADER_LEN] = header.try_into().expect("header length");
        assert_eq!(code(parse_header(&array)), "malformed_raster");
    }

    fn format_strategy() -> impl Strategy<Value = PixelFormat> {
        prop_oneof![
            Just(PixelFormat::Black1),
            Just(PixelFormat::Black8),
            Just(PixelFormat::Gray1),
            Just(PixelFormat::Gray8),
            Just(PixelFormat::Rgb8),
        ]
    }

    /// Pages whose lines are drawn from a small palette of byte values, so runs and
    /// repeated lines occur as often as literal data.
    fn page_strategy() -> impl Strategy<Value = (PixelFormat, u32, Vec<Vec<u8>>)> {
        (format_strategy(), 1u32..70, 1usize..12).prop_flat_map(|(format, width, height)| {
            let bytes = (width * format.bits_per_pixel()).div_ceil(8) as usize;
            let line =
                proptest::collection::vec(prop_oneof![Just(0u8), Just(0xFF), any::<u8>()], bytes);
            let lines = proptest::collection::vec(line, height);
            (Just(format), Just(width), lines).prop_map(|(format, width, mut lines)| {
                // Some repeated lines.
                for i in 1..lines.len() {
                    if lines[i][0] % 3 == 0 {
                        lines[i] = lines[i - 1].clone();
                    }
                }
                (format, width, lines)
            })
        })
    }

    proptest! {
        #[test]
        fn encoded_rasters_decode_to_the_same_pixels(
            pages in proptest::collection::vec(page_strategy(), 1..4)
        ) {
            let input: Vec<_> = pages
                .iter()
                .map(|(format, width, lines)| {
                    (encode::header(*width, lines.len() as u32, 300, *format), lines.clone(), *format)
                })
                .collect();
            let decoded = decode_all(&encode::stream(&input)).expect("round trip");
            prop_assert_eq!(decoded.len(), pages.len());
            for ((header, lines), (format, width, original)) in decoded.iter().zip(&pages) {
                prop_assert_eq!(header.format, *format);
                prop_assert_eq!(header.width, *width);
                prop_assert_eq!(lines, original);
            }
        }
    }
}

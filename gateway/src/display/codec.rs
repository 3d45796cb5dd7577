//! Still-image encoders for tiles: PNG (true colour, or indexed when a tile has at most 256
//! colours, which is most text and UI) and JPEG. Input is always tightly packed RGBA.

use super::DisplayError;

/// How hard PNG's deflate works. See the bench `tiles` for what each costs on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PngLevel {
    /// fdeflate with the Up filter: the png crate's fastest compressing mode.
    Fastest,
    /// fdeflate with adaptive filtering.
    Fast,
    /// zlib level 6 (flate2) with adaptive filtering.
    Balanced,
}

/// Colours of a tile, up to a limit: a 1024-slot open-addressing table, because the
/// standard hasher costs more than the PNG encode on 64 K-pixel tiles.
pub struct Palette {
    slots: Vec<(u32, u8)>,
    used: Vec<bool>,
    colours: Vec<u32>,
}

const SLOTS: usize = 1024;

impl Palette {
    /// The colours of `rgba` if there are at most 256 of them.
    pub fn of(rgba: &[u8]) -> Option<Palette> {
        let mut palette = Palette {
            slots: vec![(0, 0); SLOTS],
            used: vec![false; SLOTS],
            colours: Vec::new(),
        };
        let mut last = None;
        for px in rgba.chunks_exact(4) {
            let key = rgb_key(px);
            // Runs of one colour are the common case in UI; skip the table for them.
            if last == Some(key) {
                continue;
            }
            last = Some(key);
            palette.index_or_insert(key)?;
        }
        Some(palette)
    }

    pub fn len(&self) -> usize {
        self.colours.len()
    }

    /// The slot index of `key`, inserting it; `None` once a 257th colour turns up.
    fn index_or_insert(&mut self, key: u32) -> Option<u8> {
        let mut slot = (key.wrapping_mul(0x9E37_79B1) >> 22) as usize % SLOTS;
        loop {
            match (self.used.get(slot), self.slots.get(slot)) {
                (Some(true), Some(&(k, index))) if k == key => return Some(index),
                (Some(true), _) => slot = (slot + 1) % SLOTS,
                _ => {
                    if self.colours.len() == 256 {
                        return None;
                    }
                    let index = self.colours.len() as u8;
                    self.colours.push(key);
                    if let (Some(u), Some(s)) = (self.used.get_mut(slot), self.slots.get_mut(slot))
                    {
                        *u = true;
                        *s = (key, index);
                    }
                    return Some(index);
                }
            }
        }
    }
}

fn rgb_key(px: &[u8]) -> u32 {
    match px {
        &[r, g, b, ..] => u32::from_be_bytes([0, r, g, b]),
        _ => 0,
    }
}

/// True when `rgba` has more than 256 colours (stops counting there).
pub fn has_many_colours(rgba: &[u8]) -> bool {
    Palette::of(rgba).is_none()
}

/// Encodes a `width`×`height` RGBA tile as PNG. Indexed (palette) only at
/// [`PngLevel::Balanced`] and only when the tile has at most 256 colours: with the fast
/// fdeflate modes, palette indices compress 2.8× worse than filtered RGB on the demo screen
/// (bench `tiles`); with zlib they compress 1.2× better than zlib on RGB.
pub fn encode_png(
    rgba: &[u8],
    width: u32,
    height: u32,
    level: PngLevel,
) -> Result<Vec<u8>, DisplayError> {
    encode_png_with(rgba, width, height, level, level == PngLevel::Balanced)
}

/// PNG with the palette decision forced: `indexed` tries a palette (falls back to RGB past
/// 256 colours). For the benchmark's comparison.
pub fn encode_png_with(
    rgba: &[u8],
    width: u32,
    height: u32,
    level: PngLevel,
    indexed: bool,
) -> Result<Vec<u8>, DisplayError> {
    encode_png_inner(rgba, width, height, level, indexed)
}

/// Encodes a `width`×`height` RGBA tile as lossless WebP (image-webp: predictor transform
/// and Huffman coding, no LZ77 search, hence its speed).
pub fn encode_webp(rgba: &[u8], width: u32, height: u32) -> Result<Vec<u8>, DisplayError> {
    check_len(rgba, width, height)?;
    let mut out = Vec::new();
    image_webp::WebPEncoder::new(&mut out)
        .encode(rgba, width, height, image_webp::ColorType::Rgba8)
        .map_err(|e| DisplayError::Encode(e.to_string()))?;
    Ok(out)
}

fn encode_png_inner(
    rgba: &[u8],
    width: u32,
    height: u32,
    level: PngLevel,
    indexed: bool,
) -> Result<Vec<u8>, DisplayError> {
    check_len(rgba, width, height)?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    let palette = if indexed { Palette::of(rgba) } else { None };
    let data = match palette {
        Some(mut palette) => {
            let depth = match palette.len() {
                0..=2 => png::BitDepth::One,
                3..=4 => png::BitDepth::Two,
                5..=16 => png::BitDepth::Four,
                _ => png::BitDepth::Eight,
            };
            let bits = depth as usize;
            let row_bytes = (width as usize * bits).div_ceil(8);
            let mut packed = vec![0u8; row_bytes * height as usize];
            for (row, out_row) in rgba
                .chunks_exact(width as usize * 4)
                .zip(packed.chunks_exact_mut(row_bytes.max(1)))
            {
                for (x, px) in row.chunks_exact(4).enumerate() {
                    let index = palette.index_or_insert(rgb_key(px)).unwrap_or(0);
                    let bit = x * bits;
                    let shift = 8 - bits - bit % 8;
                    if let Some(byte) = out_row.get_mut(bit / 8) {
                        *byte |= index << shift;
                    }
                }
            }
            let rgb: Vec<u8> = palette
                .colours
                .iter()
                .flat_map(|c| {
                    let [_, r, g, b] = c.to_be_bytes();
                    [r, g, b]
                })
                .collect();
            encoder.set_color(png::ColorType::Indexed);
            encoder.set_depth(depth);
            encoder.set_palette(rgb);
            set_level(&mut encoder, level);
            // Filters predict continuous tones; on palette indices they only cost time.
            encoder.set_filter(png::Filter::NoFilter);
            packed
        }
        None => {
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            set_level(&mut encoder, level);
            rgba.chunks_exact(4)
                .flat_map(|p| p.iter().take(3).copied())
                .collect()
        }
    };
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(&data).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(out)
}

fn set_level<W: std::io::Write>(encoder: &mut png::Encoder<'_, W>, level: PngLevel) {
    match level {
        PngLevel::Fastest => encoder.set_compression(png::Compression::Fastest),
        PngLevel::Fast => encoder.set_compression(png::Compression::Fast),
        PngLevel::Balanced => encoder.set_compression(png::Compression::Balanced),
    }
}

fn png_error(error: png::EncodingError) -> DisplayError {
    DisplayError::Encode(error.to_string())
}

/// Encodes a `width`×`height` RGBA tile as baseline JPEG at `quality` (1–100).
pub fn encode_jpeg(
    rgba: &[u8],
    width: u32,
    height: u32,
    quality: u8,
) -> Result<Vec<u8>, DisplayError> {
    check_len(rgba, width, height)?;
    let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
        return Err(DisplayError::BadSize { width, height });
    };
    let mut out = Vec::new();
    let encoder = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    encoder
        .encode(rgba, w, h, jpeg_encoder::ColorType::Rgba)
        .map_err(|e| DisplayError::Encode(e.to_string()))?;
    Ok(out)
}

fn check_len(rgba: &[u8], width: u32, height: u32) -> Result<(), DisplayError> {
    let needed = width as usize * height as usize * 4;
    if width == 0 || height == 0 || rgba.len() != needed {
        return Err(DisplayError::ShortBuffer {
            needed,
            got: rgba.len(),
        });
    }
    Ok(())
}

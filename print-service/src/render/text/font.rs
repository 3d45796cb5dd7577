//! The embedded monospace font (DejaVu Sans Mono, committed with its licence under
//! print-service/assets): its character map and metrics, and subsetting. A subset keeps
//! every glyph id (so CIDs stay glyph ids) but empties the outlines of glyphs the job does
//! not use, and drops the tables a PDF viewer does not read; a text job's PDF then carries
//! tens of kilobytes of font instead of 340.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

static FONT_FILE: &[u8] = include_bytes!("../../../assets/DejaVuSansMono.ttf");

/// Tables a PDF FontFile2 needs (ISO 32000-1 9.9); hinting ones only when present.
const KEPT_TABLES: [&[u8; 4]; 9] = [
    b"cvt ", b"fpgm", b"glyf", b"head", b"hhea", b"hmtx", b"loca", b"maxp", b"prep",
];

#[derive(Debug)]
pub struct Font {
    data: &'static [u8],
    tables: BTreeMap<[u8; 4], (usize, usize)>,
    pub units_per_em: u16,
    pub ascent: i16,
    pub descent: i16,
    pub bbox: [i16; 4],
    long_loca: bool,
    num_glyphs: u16,
    advances: Vec<u16>,
    cmap: BTreeMap<u32, u16>,
}

/// The embedded font, parsed once. An error here is a broken build (the font is ours),
/// reported rather than panicking.
pub fn font() -> Result<&'static Font, String> {
    static FONT: OnceLock<Result<Font, String>> = OnceLock::new();
    FONT.get_or_init(|| Font::parse(FONT_FILE))
        .as_ref()
        .map_err(Clone::clone)
}

fn u16_at(data: &[u8], at: usize) -> Result<u16, String> {
    data.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| format!("font truncated at {at}"))
}

fn u32_at(data: &[u8], at: usize) -> Result<u32, String> {
    data.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("font truncated at {at}"))
}

impl Font {
    fn parse(data: &'static [u8]) -> Result<Self, String> {
        let count = u16_at(data, 4)?;
        let mut tables = BTreeMap::new();
        for i in 0..usize::from(count) {
            let record = 12 + 16 * i;
            let tag = data
                .get(record..record + 4)
                .ok_or("font table directory truncated")?;
            let offset = u32_at(data, record + 8)? as usize;
            let length = u32_at(data, record + 12)? as usize;
            if data.get(offset..offset + length).is_none() {
                return Err("font table outside the file".into());
            }
            tables.insert([tag[0], tag[1], tag[2], tag[3]], (offset, length));
        }
        let table = |tag: &[u8; 4]| {
            tables
                .get(tag)
                .copied()
                .ok_or(format!("font lacks {tag:?}"))
        };
        let (head, _) = table(b"head")?;
        let (hhea, _) = table(b"hhea")?;
        let (maxp, _) = table(b"maxp")?;
        let (hmtx, _) = table(b"hmtx")?;
        // Subsetting indexes these two directly.
        table(b"loca")?;
        table(b"glyf")?;
        let units_per_em = u16_at(data, head + 18)?;
        let signed = |at| u16_at(data, at).map(|v| v as i16);
        let bbox = [
            signed(head + 36)?,
            signed(head + 38)?,
            signed(head + 40)?,
            signed(head + 42)?,
        ];
        let long_loca = u16_at(data, head + 50)? == 1;
        let ascent = signed(hhea + 4)?;
        let descent = signed(hhea + 6)?;
        let metrics = u16_at(data, hhea + 34)?;
        let num_glyphs = u16_at(data, maxp + 4)?;
        let mut advances = Vec::with_capacity(usize::from(num_glyphs));
        let mut last = 0;
        for glyph in 0..usize::from(num_glyphs) {
            if glyph < usize::from(metrics) {
                last = u16_at(data, hmtx + 4 * glyph)?;
            }
            advances.push(last);
        }
        let cmap = parse_cmap(data, table(b"cmap")?.0)?;
        Ok(Self {
            data,
            tables,
            units_per_em,
            ascent,
            descent,
            bbox,
            long_loca,
            num_glyphs,
            advances,
            cmap,
        })
    }

    /// The glyph for `c`, if the font has one.
    pub fn glyph(&self, c: char) -> Option<u16> {
        self.cmap.get(&u32::from(c)).copied().filter(|&g| g != 0)
    }

    /// A glyph's advance in 1/1000 em (PDF text space).
    pub fn advance(&self, glyph: u16) -> u32 {
        let units = self.advances.get(usize::from(glyph)).copied().unwrap_or(0);
        u32::from(units) * 1000 / u32::from(self.units_per_em.max(1))
    }

    pub fn scale(&self, units: i16) -> i32 {
        i32::from(units) * 1000 / i32::from(self.units_per_em.max(1))
    }

    fn glyph_range(&self, glyph: u16) -> Result<(usize, usize), String> {
        let (loca, _) = self.tables[b"loca"];
        let (start, end) = if self.long_loca {
            (
                u32_at(self.data, loca + 4 * usize::from(glyph))? as usize,
                u32_at(self.data, loca + 4 * usize::from(glyph) + 4)? as usize,
            )
        } else {
            (
                usize::from(u16_at(self.data, loca + 2 * usize::from(glyph))?) * 2,
                usize::from(u16_at(self.data, loca + 2 * usize::from(glyph) + 2)?) * 2,
            )
        };
        if end < start {
            return Err(format!("glyph {glyph} has a negative length"));
        }
        Ok((start, end))
    }

    fn glyph_data(&self, glyph: u16) -> Result<&[u8], String> {
        let (glyf, length) = self.tables[b"glyf"];
        let (start, end) = self.glyph_range(glyph)?;
        if end > length {
            return Err(format!("glyph {glyph} outside glyf"));
        }
        Ok(&self.data[glyf + start..glyf + end])
    }

    /// The components a composite glyph is built from.
    fn components(&self, glyph: u16) -> Result<Vec<u16>, String> {
        let data = self.glyph_data(glyph)?;
        if data.len() < 10 || (u16_at(data, 0)? as i16) >= 0 {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        let mut at = 10;
        loop {
            let flags = u16_at(data, at)?;
            found.push(u16_at(data, at + 2)?);
            at += 4 + if flags & 0x0001 != 0 { 4 } else { 2 };
            at += match flags {
                f if f & 0x0008 != 0 => 2,
                f if f & 0x0040 != 0 => 4,
                f if f & 0x0080 != 0 => 8,
                _ => 0,
            };
            if flags & 0x0020 == 0 {
                return Ok(found);
            }
        }
    }

    /// A TrueType file with only `used` glyphs' outlines (and .notdef's, and the parts of
    /// composite glyphs), every glyph id kept.
    pub fn subset(&self, used: &BTreeSet<u16>) -> Result<Vec<u8>, String> {
        let mut keep = BTreeSet::new();
        let mut pending: Vec<u16> = used.iter().copied().chain([0]).collect();
        while let Some(glyph) = pending.pop() {
            if glyph < self.num_glyphs && keep.insert(glyph) {
                pending.extend(self.components(glyph)?);
            }
        }
        let mut glyf = Vec::new();
        let mut loca = Vec::with_capacity(4 * (usize::from(self.num_glyphs) + 1));
        for glyph in 0..self.num_glyphs {
            loca.extend_from_slice(&(glyf.len() as u32).to_be_bytes());
            if keep.contains(&glyph) {
                glyf.extend_from_slice(self.glyph_data(glyph)?);
                while glyf.len() % 4 != 0 {
                    glyf.push(0);
                }
            }
        }
        loca.extend_from_slice(&(glyf.len() as u32).to_be_bytes());

        let mut tables: Vec<([u8; 4], Vec<u8>)> = Vec::new();
        for tag in KEPT_TABLES {
            let Some(&(offset, length)) = self.tables.get(tag) else {
                continue;
            };
            let body = match tag {
                b"glyf" => std::mem::take(&mut glyf),
                b"loca" => std::mem::take(&mut loca),
                b"head" => {
                    let mut head = self.data[offset..offset + length].to_vec();
                    // Long loca offsets; the checksum adjustment is not recomputed, as
                    // PDF readers do not check it.
                    if head.len() >= 54 {
                        head[50..52].copy_from_slice(&1u16.to_be_bytes());
                        head[8..12].fill(0);
                    }
                    head
                }
                _ => self.data[offset..offset + length].to_vec(),
            };
            tables.push((*tag, body));
        }
        Ok(assemble(&tables))
    }
}

fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

/// An sfnt file from its tables (sorted by tag, as the directory requires).
fn assemble(tables: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let count = tables.len() as u16;
    let mut power = 1u16;
    let mut log = 0u16;
    while power * 2 <= count {
        power *= 2;
        log += 1;
    }
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    for value in [count, power * 16, log, count * 16 - power * 16] {
        out.extend_from_slice(&value.to_be_bytes());
    }
    let mut offset = 12 + 16 * tables.len();
    for (tag, body) in tables {
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(body).to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        offset += body.len().div_ceil(4) * 4;
    }
    for (_, body) in tables {
        out.extend_from_slice(body);
        out.resize(out.len().div_ceil(4) * 4, 0);
    }
    out
}

/// Unicode → glyph from the best subtable: format 12 (all planes) or format 4 (BMP).
fn parse_cmap(data: &[u8], cmap: usize) -> Result<BTreeMap<u32, u16>, String> {
    let count = u16_at(data, cmap + 2)?;
    let mut format4 = None;
    let mut format12 = None;
    for i in 0..usize::from(count) {
        let record = cmap + 4 + 8 * i;
        let platform = u16_at(data, record)?;
        let encoding = u16_at(data, record + 2)?;
        let sub = cmap + u32_at(data, record + 4)? as usize;
        match (platform, encoding, u16_at(data, sub)?) {
            (0 | 3, _, 12) => format12 = Some(sub),
            (0, _, 4) | (3, 1, 4) => format4 = Some(sub),
            _ => {}
        }
    }
    let mut map = BTreeMap::new();
    if let Some(sub) = format12 {
        let groups = u32_at(data, sub + 12)? as usize;
        for g in 0..groups {
            let at = sub + 16 + 12 * g;
            let (start, end, first) = (
                u32_at(data, at)?,
                u32_at(data, at + 4)?,
                u32_at(data, at + 8)?,
            );
            for (i, code) in (start..=end.min(start.saturating_add(0xFFFF))).enumerate() {
                map.insert(code, (first as usize + i) as u16);
            }
        }
        return Ok(map);
    }
    let sub = format4.ok_or("font has no Unicode cmap")?;
    let segments = usize::from(u16_at(data, sub + 6)? / 2);
    let ends = sub + 14;
    let starts = ends + 2 * segments + 2;
    let deltas = starts + 2 * segments;
    let ranges = deltas + 2 * segments;
    for s in 0..segments {
        let end = u16_at(data, ends + 2 * s)?;
        let start = u16_at(data, starts + 2 * s)?;
        let delta = u16_at(data, deltas + 2 * s)?;
        let range = u16_at(data, ranges + 2 * s)?;
        for code in start..=end {
            if code == 0xFFFF {
                break;
            }
            let glyph = if range == 0 {
                code.wrapping_add(delta)
            } else {
                let at = ranges + 2 * s + usize::from(range) + 2 * usize::from(code - start);
                match u16_at(data, at)? {
                    0 => 0,
                    g => g.wrapping_add(delta),
                }
            };
            map.insert(u32::from(code), glyph);
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_font_maps_swedish_letters_and_euro() {
        let font = font().expect("embedded font parses");
        for c in ['a', 'å', 'ä', 'ö', 'Å', 'Ä', 'Ö', '€', '§'] {
            assert!(font.glyph(c).is_some(), "no glyph for {c}");
        }
        let m = font.glyph('M').expect("M");
        let i = font.glyph('i').expect("i");
        assert_eq!(font.advance(m), font.advance(i), "monospace");
    }

    #[test]
    fn a_subset_is_small_and_keeps_glyph_ids() {
        let font = font().expect("embedded font parses");
        let used: BTreeSet<u16> = "Hej åäö".chars().filter_map(|c| font.glyph(c)).collect();
        let subset = font.subset(&used).expect("subset");
        assert!(subset.len() < 60_000, "subset is {} bytes", subset.len());
        assert_eq!(&subset[0..4], &[0, 1, 0, 0]);
    }
}

//! Checks a received PDF before it is offered to the user: the cross-reference data
//! (tables, streams, hybrid files, /Prev chains), every object it lists parses, no
//! encryption, and the page tree is sound and within the page bound. Sans-IO and
//! bounded: loops in /Prev and page trees are caught, and decompression is capped.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use super::RenderError;
use super::pdf_syntax::{Dict, Lexer, Obj, find};

/// Cross-reference sections followed through /Prev at most.
const MAX_SECTIONS: usize = 256;
/// Decoded size of one cross-reference or object stream at most.
const MAX_DECODED: u64 = 64 * 1024 * 1024;
const MAX_TREE_DEPTH: usize = 64;
const MAX_OBJECTS: u64 = 2_000_000;
/// Decoded size of all structural streams together: many small Flate bombs must not add
/// up to gigabytes.
const MAX_DECODED_TOTAL: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Location {
    Offset(usize),
    InStream { stream: u32, index: usize },
}

fn malformed(why: impl Into<String>) -> RenderError {
    RenderError::MalformedPdf(why.into())
}

/// Checks `data` and returns its page count.
pub fn check(data: &[u8], max_pages: u32) -> Result<u32, RenderError> {
    let header_window = &data[..data.len().min(1024)];
    if find(header_window, b"%PDF-").is_none() {
        return Err(malformed("no %PDF- header"));
    }
    let tail_start = data.len().saturating_sub(1024);
    let tail = &data[tail_start..];
    let Some(startxref) = tail.windows(9).rposition(|w| w == b"startxref") else {
        return Err(malformed("no startxref (truncated?)"));
    };
    if find(&tail[startxref..], b"%%EOF").is_none() {
        return Err(malformed("no %%EOF marker (truncated?)"));
    }
    let mut lexer = Lexer::new(data, tail_start + startxref + 9);
    let first = usize::try_from(lexer.unsigned().map_err(malformed)?)
        .map_err(|_| malformed("startxref out of range"))?;

    let mut document = Document {
        data,
        xref: BTreeMap::new(),
        object_streams: HashMap::new(),
        decoded_total: 0,
    };
    let trailer = document.read_xref_chain(first)?;
    if trailer.get(b"Encrypt").is_some() {
        return Err(malformed("the PDF is encrypted"));
    }
    document.parse_all()?;
    let Some(Obj::Ref(root, _)) = trailer.get(b"Root") else {
        return Err(malformed("trailer without /Root"));
    };
    let Obj::Dict(catalog) = document.resolve(*root)? else {
        return Err(malformed("catalog is not a dictionary"));
    };
    let Some(Obj::Ref(pages, _)) = catalog.get(b"Pages") else {
        return Err(malformed("catalog without /Pages"));
    };
    let count = document.count_pages(*pages, max_pages)?;
    if count == 0 {
        return Err(malformed("no pages"));
    }
    Ok(count)
}

struct Document<'a> {
    data: &'a [u8],
    xref: BTreeMap<u32, Location>,
    object_streams: HashMap<u32, ObjectStream>,
    decoded_total: u64,
}

/// A decoded object stream: its data, where the objects start (/First), and each
/// member's number and offset from there.
struct ObjectStream {
    data: Vec<u8>,
    first: usize,
    members: Vec<(u32, usize)>,
}

impl Document<'_> {
    /// Reads every cross-reference section from `first` back through /Prev; the newest
    /// entry for an object wins. Returns the newest trailer.
    fn read_xref_chain(&mut self, first: usize) -> Result<Dict, RenderError> {
        let mut seen = HashSet::new();
        let mut next = Some(first);
        let mut newest = None;
        while let Some(offset) = next {
            if !seen.insert(offset) || seen.len() > MAX_SECTIONS {
                return Err(malformed("cross-reference sections loop"));
            }
            let trailer = self.read_xref_section(offset)?;
            if trailer.get(b"Encrypt").is_some() {
                return Err(malformed("the PDF is encrypted"));
            }
            // A hybrid file's stream section lists what the table leaves out.
            if let Some(stream_at) = trailer.int(b"XRefStm") {
                let stream_at =
                    usize::try_from(stream_at).map_err(|_| malformed("bad /XRefStm"))?;
                self.read_xref_section(stream_at)?;
            }
            next = match trailer.int(b"Prev") {
                Some(prev) => Some(usize::try_from(prev).map_err(|_| malformed("bad /Prev"))?),
                None => None,
            };
            newest.get_or_insert(trailer);
        }
        newest.ok_or_else(|| malformed("no cross-reference section"))
    }

    /// Decodes a structural stream within the document's total budget.
    fn decode(
        &mut self,
        dict: &Dict,
        range: std::ops::Range<usize>,
    ) -> Result<Vec<u8>, RenderError> {
        let decoded = decode_stream(dict, &self.data[range])?;
        self.decoded_total += decoded.len() as u64;
        if self.decoded_total > MAX_DECODED_TOTAL {
            return Err(malformed("structural streams decode too large"));
        }
        Ok(decoded)
    }

    /// Records where an object lives, unless a newer section already did; bounded.
    fn locate(&mut self, number: u32, location: Location) -> Result<(), RenderError> {
        if self.xref.len() as u64 >= MAX_OBJECTS && !self.xref.contains_key(&number) {
            return Err(malformed("too many objects"));
        }
        self.xref.entry(number).or_insert(location);
        Ok(())
    }

    fn read_xref_section(&mut self, offset: usize) -> Result<Dict, RenderError> {
        if offset >= self.data.len() {
            return Err(malformed("cross-reference offset past the end"));
        }
        let mut lexer = Lexer::new(self.data, offset);
        if lexer.token() == b"xref" {
            return self.read_xref_table(&mut lexer);
        }
        let mut lexer = Lexer::new(self.data, offset);
        let (_, object) = lexer.indirect().map_err(malformed)?;
        let Obj::Stream(dict, range) = object else {
            return Err(malformed(
                "startxref points at neither a table nor a stream",
            ));
        };
        if !dict.name_is(b"Type", b"XRef") {
            return Err(malformed("cross-reference stream without /Type /XRef"));
        }
        let decoded = self.decode(&dict, range)?;
        self.read_xref_stream(&dict, &decoded)?;
        Ok(dict)
    }

    fn read_xref_table(&mut self, lexer: &mut Lexer<'_>) -> Result<Dict, RenderError> {
        loop {
            let save = lexer.at;
            if lexer.token() == b"trailer" {
                break;
            }
            lexer.at = save;
            let start = lexer.unsigned().map_err(malformed)?;
            let count = lexer.unsigned().map_err(malformed)?;
            if start.saturating_add(count) > MAX_OBJECTS {
                return Err(malformed("too many objects"));
            }
            for number in start..start + count {
                let offset = lexer.unsigned().map_err(malformed)?;
                lexer.unsigned().map_err(malformed)?;
                let kind = lexer.token();
                let number = number as u32;
                match kind {
                    b"n" => {
                        let offset =
                            usize::try_from(offset).map_err(|_| malformed("bad offset"))?;
                        self.locate(number, Location::Offset(offset))?;
                    }
                    b"f" => {}
                    _ => return Err(malformed("bad cross-reference entry")),
                }
            }
        }
        match lexer.object(0).map_err(malformed)? {
            Obj::Dict(trailer) => Ok(trailer),
            _ => Err(malformed("trailer is not a dictionary")),
        }
    }

    fn read_xref_stream(&mut self, dict: &Dict, decoded: &[u8]) -> Result<(), RenderError> {
        let widths: Vec<usize> = match dict.get(b"W") {
            Some(Obj::Array(items)) if items.len() == 3 => items
                .iter()
                .map(|item| match item {
                    Obj::Int(w @ 0..=8) => Ok(*w as usize),
                    _ => Err(malformed("bad /W")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(malformed("cross-reference stream without /W [a b c]")),
        };
        let size = dict.int(b"Size").ok_or_else(|| malformed("no /Size"))?;
        let ranges: Vec<(i64, i64)> = match dict.get(b"Index") {
            Some(Obj::Array(items)) => items
                .chunks(2)
                .map(|pair| match pair {
                    [Obj::Int(start), Obj::Int(count)] => Ok((*start, *count)),
                    _ => Err(malformed("bad /Index")),
                })
                .collect::<Result<_, _>>()?,
            _ => vec![(0, size)],
        };
        let entry_len: usize = widths.iter().sum();
        if entry_len == 0 {
            return Err(malformed("empty cross-reference entries"));
        }
        let mut entries = decoded.chunks_exact(entry_len);
        for (start, count) in ranges {
            if start < 0 || count < 0 || (start + count) as u64 > MAX_OBJECTS {
                return Err(malformed("bad /Index range"));
            }
            for number in start..start + count {
                let entry = entries
                    .next()
                    .ok_or_else(|| malformed("cross-reference stream shorter than its /Index"))?;
                let field = |i: usize| {
                    let from: usize = widths[..i].iter().sum();
                    entry[from..from + widths[i]]
                        .iter()
                        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
                };
                let kind = if widths[0] == 0 { 1 } else { field(0) };
                let location = match kind {
                    0 => continue,
                    1 => Location::Offset(
                        usize::try_from(field(1)).map_err(|_| malformed("bad offset"))?,
                    ),
                    2 => Location::InStream {
                        stream: u32::try_from(field(1))
                            .map_err(|_| malformed("bad object stream"))?,
                        index: usize::try_from(field(2)).map_err(|_| malformed("bad index"))?,
                    },
                    // Unknown types are null references by the standard.
                    _ => continue,
                };
                self.locate(number as u32, location)?;
            }
        }
        Ok(())
    }

    /// Every listed object parses: a broken one would break some viewer somewhere.
    fn parse_all(&mut self) -> Result<(), RenderError> {
        let numbers: Vec<u32> = self.xref.keys().copied().collect();
        for number in numbers {
            self.resolve(number)?;
        }
        Ok(())
    }

    fn resolve(&mut self, number: u32) -> Result<Obj, RenderError> {
        match self.xref.get(&number).copied() {
            None => Ok(Obj::Null),
            Some(Location::Offset(offset)) => {
                if offset >= self.data.len() {
                    return Err(malformed(format!("object {number} lies past the end")));
                }
                let (found, object) = Lexer::new(self.data, offset)
                    .indirect()
                    .map_err(|why| malformed(format!("object {number}: {why}")))?;
                if found != number {
                    return Err(malformed(format!(
                        "cross-reference for object {number} points at object {found}"
                    )));
                }
                Ok(object)
            }
            Some(Location::InStream { stream, index }) => {
                self.object_in_stream(number, stream, index)
            }
        }
    }

    fn object_in_stream(
        &mut self,
        number: u32,
        stream: u32,
        index: usize,
    ) -> Result<Obj, RenderError> {
        if !self.object_streams.contains_key(&stream) {
            let Some(Location::Offset(_)) = self.xref.get(&stream) else {
                return Err(malformed(format!(
                    "object stream {stream} is not a plain object"
                )));
            };
            let Obj::Stream(dict, range) = self.resolve(stream)? else {
                return Err(malformed(format!("object stream {stream} is not a stream")));
            };
            let decoded = self.decode(&dict, range)?;
            let count = dict
                .int(b"N")
                .ok_or_else(|| malformed("object stream without /N"))?;
            let first = dict
                .int(b"First")
                .and_then(|f| usize::try_from(f).ok())
                .filter(|f| *f <= decoded.len())
                .ok_or_else(|| malformed("object stream with a bad /First"))?;
            let mut lexer = Lexer::new(&decoded[..first], 0);
            let mut members = Vec::new();
            for _ in 0..count.clamp(0, 1_000_000) {
                let member = lexer.unsigned().map_err(malformed)?;
                let offset = lexer.unsigned().map_err(malformed)?;
                members.push((
                    u32::try_from(member).map_err(|_| malformed("bad object number"))?,
                    usize::try_from(offset).map_err(|_| malformed("bad offset"))?,
                ));
            }
            let unpacked = ObjectStream {
                data: decoded,
                first,
                members,
            };
            self.object_streams.insert(stream, unpacked);
        }
        let Some(ObjectStream {
            data: decoded,
            first,
            members,
        }) = self.object_streams.get(&stream)
        else {
            return Err(malformed("object stream vanished"));
        };
        let Some(&(member, offset)) = members.get(index) else {
            return Err(malformed(format!(
                "object {number}: index past its object stream"
            )));
        };
        if member != number {
            return Err(malformed(format!(
                "object stream {stream} holds {member}, not {number}"
            )));
        }
        let at = first
            .checked_add(offset)
            .filter(|at| *at < decoded.len())
            .ok_or_else(|| malformed("object stream offset past its end"))?;
        Lexer::new(decoded, at)
            .object(0)
            .map_err(|why| malformed(format!("object {number}: {why}")))
    }

    /// Walks the page tree from `root`, counting leaves, refusing loops and more than
    /// `max_pages` pages.
    fn count_pages(&mut self, root: u32, max_pages: u32) -> Result<u32, RenderError> {
        let mut visited = HashSet::new();
        let mut pending = vec![(root, 0usize)];
        let mut pages = 0u32;
        while let Some((number, depth)) = pending.pop() {
            if depth > MAX_TREE_DEPTH || !visited.insert(number) {
                return Err(malformed("the page tree loops or is too deep"));
            }
            let Obj::Dict(node) = self.resolve(number)? else {
                return Err(malformed(format!(
                    "page tree node {number} is not a dictionary"
                )));
            };
            let is_pages = node.name_is(b"Type", b"Pages")
                || (!node.name_is(b"Type", b"Page") && node.get(b"Kids").is_some());
            if !is_pages {
                pages += 1;
                if pages > max_pages {
                    return Err(RenderError::TooManyPages { limit: max_pages });
                }
                continue;
            }
            let Some(Obj::Array(kids)) = node.get(b"Kids") else {
                return Err(malformed(format!("page tree node {number} without /Kids")));
            };
            for kid in kids.iter().rev() {
                let Obj::Ref(kid, _) = kid else {
                    return Err(malformed("a /Kids entry is not a reference"));
                };
                pending.push((*kid, depth + 1));
            }
        }
        Ok(pages)
    }
}

/// Decodes a cross-reference or object stream (FlateDecode, with PNG predictors).
fn decode_stream(dict: &Dict, raw: &[u8]) -> Result<Vec<u8>, RenderError> {
    let flate = match dict.get(b"Filter") {
        None => false,
        Some(Obj::Name(name)) if name == b"FlateDecode" => true,
        Some(Obj::Array(filters))
            if filters.len() == 1 && filters[0] == Obj::Name(b"FlateDecode".to_vec()) =>
        {
            true
        }
        _ => return Err(malformed("a structural stream with an unsupported filter")),
    };
    let mut decoded = Vec::new();
    if flate {
        flate2::read::ZlibDecoder::new(raw)
            .take(MAX_DECODED + 1)
            .read_to_end(&mut decoded)
            .map_err(|e| malformed(format!("broken Flate data: {e}")))?;
        if decoded.len() as u64 > MAX_DECODED {
            return Err(malformed("a structural stream decodes too large"));
        }
    } else {
        decoded.extend_from_slice(raw);
    }
    let parms = match dict.get(b"DecodeParms") {
        Some(Obj::Dict(parms)) => Some(parms),
        Some(Obj::Array(items)) => match items.first() {
            Some(Obj::Dict(parms)) => Some(parms),
            _ => None,
        },
        _ => None,
    };
    let predictor = parms.and_then(|p| p.int(b"Predictor")).unwrap_or(1);
    if predictor < 10 {
        return if predictor == 1 {
            Ok(decoded)
        } else {
            Err(malformed("TIFF predictor in a structural stream"))
        };
    }
    let columns = parms.and_then(|p| p.int(b"Columns")).unwrap_or(1);
    let colors = parms.and_then(|p| p.int(b"Colors")).unwrap_or(1);
    let bits = parms.and_then(|p| p.int(b"BitsPerComponent")).unwrap_or(8);
    if !(1..=1 << 20).contains(&columns)
        || !(1..=32).contains(&colors)
        || !matches!(bits, 1 | 2 | 4 | 8 | 16)
    {
        return Err(malformed("bad predictor parameters"));
    }
    let bpp = ((colors * bits) as usize).div_ceil(8);
    let row = ((columns * colors * bits) as usize).div_ceil(8);
    unpredict_png(&decoded, row, bpp)
}

fn unpredict_png(data: &[u8], row: usize, bpp: usize) -> Result<Vec<u8>, RenderError> {
    let mut out = Vec::with_capacity(data.len());
    let mut previous = vec![0u8; row];
    for chunk in data.chunks(row + 1) {
        if chunk.len() != row + 1 {
            return Err(malformed("predicted stream ends mid-row"));
        }
        let (filter, bytes) = (chunk[0], &chunk[1..]);
        let mut current = bytes.to_vec();
        for i in 0..row {
            let left = if i >= bpp { current[i - bpp] } else { 0 };
            let up = previous[i];
            let up_left = if i >= bpp { previous[i - bpp] } else { 0 };
            let add = match filter {
                0 => 0,
                1 => left,
                2 => up,
                3 => ((u16::from(left) + u16::from(up)) / 2) as u8,
                4 => paeth(left, up, up_left),
                _ => return Err(malformed("unknown PNG predictor")),
            };
            current[i] = current[i].wrapping_add(add);
        }
        out.extend_from_slice(&current);
        previous = current;
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn code(result: Result<u32, RenderError>) -> &'static str {
        result.map_err(|e| e.code()).err().unwrap_or("ok")
    }

    /// A classic-xref PDF from object bodies (object n is `bodies[n - 1]`), root 1.
    fn pdf(bodies: &[&str]) -> Vec<u8> {
        let mut out = b"%PDF-1.4\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", bodies.len() + 1).as_bytes(),
        );
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                bodies.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    const CATALOG: &str = "<< /Type /Catalog /Pages 2 0 R >>";

    #[test]
    fn real_files_pass_with_their_page_counts() {
        assert_eq!(check(&fixture("two-pages.pdf"), 10).ok(), Some(2));
        assert_eq!(check(&fixture("xref-stream.pdf"), 10).ok(), Some(3));
        let built = pdf(&[
            CATALOG,
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R >>",
        ]);
        assert_eq!(check(&built, 10).ok(), Some(1));
    }

    #[test]
    fn encrypted_files_are_refused() {
        assert_eq!(code(check(&fixture("encrypted.pdf"), 10)), "malformed_pdf");
    }

    #[test]
    fn truncation_anywhere_is_refused() {
        for name in ["two-pages.pdf", "xref-stream.pdf"] {
            let data = fixture(name);
            for cut in (0..data.len()).step_by(7) {
                assert_eq!(
                    code(check(&data[..cut], 10)),
                    "malformed_pdf",
                    "{name} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn the_page_bound_counts_leaves() {
        assert_eq!(
            code(check(&fixture("xref-stream.pdf"), 2)),
            "too_many_pages"
        );
        assert_eq!(code(check(&fixture("two-pages.pdf"), 1)), "too_many_pages");
    }

    #[test]
    fn broken_structure_is_refused() {
        let cases: [(&str, Vec<u8>); 7] = [
            ("not a PDF", b"hello world".to_vec()),
            (
                "page tree loop",
                pdf(&[CATALOG, "<< /Type /Pages /Kids [2 0 R] /Count 1 >>"]),
            ),
            (
                "no pages",
                pdf(&[CATALOG, "<< /Type /Pages /Kids [] /Count 0 >>"]),
            ),
            (
                "kid not a reference",
                pdf(&[CATALOG, "<< /Type /Pages /Kids [5] /Count 1 >>"]),
            ),
            (
                "bad object",
                pdf(&[
                    CATALOG,
                    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    "<< /Type /Page",
                ]),
            ),
            ("catalog without pages", pdf(&["<< /Type /Catalog >>"])),
            ("deep nesting", pdf(&[CATALOG, &"[".repeat(200)])),
        ];
        for (why, data) in cases {
            assert_eq!(code(check(&data, 10)), "malformed_pdf", "{why}");
        }
    }

    #[test]
    fn wrong_offsets_and_prev_loops_are_refused() {
        let good = pdf(&[
            CATALOG,
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page >>",
        ]);
        let text = String::from_utf8_lossy(&good).into_owned();
        // Object 2's entry pointing at object 1 (at byte 9, after the header line).
        let second = format!("{:010} 00000 n", text.find("2 0 obj").unwrap_or(0));
        assert!(text.contains(&second));
        let shifted = text.replacen(&second, "0000000009 00000 n", 1);
        assert_eq!(code(check(shifted.as_bytes(), 10)), "malformed_pdf");
        // A trailer whose /Prev is its own section.
        let xref = text.rfind("xref\n").unwrap_or(0);
        let looped = text.replacen("/Root 1 0 R >>", &format!("/Root 1 0 R /Prev {xref} >>"), 1);
        assert_eq!(code(check(looped.as_bytes(), 10)), "malformed_pdf");
    }
}

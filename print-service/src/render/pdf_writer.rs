//! A small PDF object writer: numbered objects, streams (Flate-compressed as they are
//! written, so a page is never held uncompressed), the page tree and the cross-reference
//! table. Every byte goes through one counter that enforces the output bound.

use std::io::{self, Write};

use flate2::Compression;
use flate2::write::ZlibEncoder;

use super::RenderError;

/// An indirect object's number (generation is always 0 in what we write).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjId(pub u32);

impl std::fmt::Display for ObjId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} 0 R", self.0)
    }
}

/// Counts what is written and refuses to go past `limit`.
struct Bounded<W> {
    inner: W,
    written: u64,
    limit: u64,
}

impl<W: Write> Write for Bounded<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > self.limit {
            return Err(io::Error::new(io::ErrorKind::FileTooLarge, "output bound"));
        }
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// How a stream's data is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFilter {
    /// Compressed here with Flate at this level (0-9).
    Flate(u32),
    /// Already encoded (e.g. DCTDecode): written as given, the filter named in the dict.
    AsIs,
}

pub struct PdfWriter<W: Write> {
    out: Bounded<W>,
    /// Byte offset of object n at index n-1; `None` while only reserved.
    offsets: Vec<Option<u64>>,
    pages_id: ObjId,
    pages: Vec<ObjId>,
    max_pages: u32,
}

impl<W: Write> PdfWriter<W> {
    pub fn new(out: W, max_output_bytes: u64, max_pages: u32) -> Result<Self, RenderError> {
        let mut writer = Self {
            out: Bounded {
                inner: out,
                written: 0,
                limit: max_output_bytes,
            },
            offsets: Vec::new(),
            pages_id: ObjId(0),
            pages: Vec::new(),
            max_pages,
        };
        // The binary comment tells transfer tools the file is not text.
        writer.write_raw(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")?;
        writer.pages_id = writer.reserve();
        Ok(writer)
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), RenderError> {
        self.out.write_all(bytes).map_err(|e| self.map_io(e))
    }

    fn map_io(&self, error: io::Error) -> RenderError {
        if error.kind() == io::ErrorKind::FileTooLarge {
            RenderError::TooLarge {
                limit: self.out.limit,
            }
        } else {
            RenderError::Io(error)
        }
    }

    pub fn reserve(&mut self) -> ObjId {
        self.offsets.push(None);
        ObjId(self.offsets.len() as u32)
    }

    fn begin(&mut self, id: ObjId) -> Result<(), RenderError> {
        let slot = id.0 as usize - 1;
        self.offsets[slot] = Some(self.out.written);
        self.write_raw(format!("{} 0 obj\n", id.0).as_bytes())
    }

    /// Writes `body` (a PDF object in syntax) as object `id`.
    pub fn object(&mut self, id: ObjId, body: &str) -> Result<(), RenderError> {
        self.begin(id)?;
        self.write_raw(body.as_bytes())?;
        self.write_raw(b"\nendobj\n")
    }

    /// Writes a new object and returns its id.
    pub fn add(&mut self, body: &str) -> Result<ObjId, RenderError> {
        let id = self.reserve();
        self.object(id, body)?;
        Ok(id)
    }

    /// Writes a stream object whose data comes from `fill`, which may call the sink many
    /// times (a raster page line by line). `dict` holds the entries besides
    /// /Length and /Filter (give /Filter yourself with [`StreamFilter::AsIs`]).
    pub fn stream<F>(
        &mut self,
        dict: &str,
        filter: StreamFilter,
        fill: F,
    ) -> Result<ObjId, RenderError>
    where
        F: FnOnce(&mut dyn Write) -> Result<(), RenderError>,
    {
        let id = self.reserve();
        let length_id = self.reserve();
        self.begin(id)?;
        let filter_entry = match filter {
            StreamFilter::Flate(_) => "/Filter /FlateDecode ",
            StreamFilter::AsIs => "",
        };
        self.write_raw(
            format!("<< {dict} {filter_entry}/Length {length_id} >>\nstream\n").as_bytes(),
        )?;
        let start = self.out.written;
        let result = match filter {
            StreamFilter::Flate(level) => {
                let mut encoder = ZlibEncoder::new(&mut self.out, Compression::new(level));
                fill(&mut encoder)
                    .and_then(|()| encoder.finish().map(drop).map_err(RenderError::Io))
            }
            StreamFilter::AsIs => fill(&mut self.out),
        };
        // A write refused by the bound surfaces as an I/O error from inside the encoder.
        result.map_err(|error| match error {
            RenderError::Io(io) => self.map_io(io),
            other => other,
        })?;
        let length = self.out.written - start;
        self.write_raw(b"\nendstream\nendobj\n")?;
        self.object(length_id, &length.to_string())?;
        Ok(id)
    }

    /// Adds a page of `width` × `height` points drawing `content` with `resources`.
    pub fn page(
        &mut self,
        width: f64,
        height: f64,
        resources: &str,
        content: ObjId,
    ) -> Result<ObjId, RenderError> {
        if self.pages.len() as u64 >= u64::from(self.max_pages) {
            return Err(RenderError::TooManyPages {
                limit: self.max_pages,
            });
        }
        let body = format!(
            "<< /Type /Page /Parent {} /MediaBox [0 0 {} {}] /Resources {resources} /Contents {content} >>",
            self.pages_id,
            num(width),
            num(height),
        );
        let id = self.add(&body)?;
        self.pages.push(id);
        Ok(id)
    }

    /// Checks before the (costly) content of another page is produced.
    pub fn check_page_room(&self) -> Result<(), RenderError> {
        if self.pages.len() as u64 >= u64::from(self.max_pages) {
            return Err(RenderError::TooManyPages {
                limit: self.max_pages,
            });
        }
        Ok(())
    }

    pub fn max_pages(&self) -> u32 {
        self.max_pages
    }

    pub fn page_count(&self) -> u32 {
        self.pages.len() as u32
    }

    /// Writes the page tree, catalog, cross-reference table and trailer; returns the
    /// writer and the page and byte counts.
    pub fn finish(mut self) -> Result<(W, u32, u64), RenderError> {
        let kids = self
            .pages
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        let pages_body = format!(
            "<< /Type /Pages /Kids [{kids}] /Count {} >>",
            self.pages.len()
        );
        self.object(self.pages_id, &pages_body)?;
        let root = self.add(&format!("<< /Type /Catalog /Pages {} >>", self.pages_id))?;
        let xref_at = self.out.written;
        let mut xref = format!("xref\n0 {}\n0000000000 65535 f \n", self.offsets.len() + 1);
        for offset in &self.offsets {
            // Every reserved object has been written by now; a gap would be our bug, and
            // is written as a free entry rather than a wrong offset.
            match offset {
                Some(at) => xref.push_str(&format!("{at:010} 00000 n \n")),
                None => xref.push_str("0000000000 65535 f \n"),
            }
        }
        xref.push_str(&format!(
            "trailer\n<< /Size {} /Root {root} >>\nstartxref\n{xref_at}\n%%EOF\n",
            self.offsets.len() + 1
        ));
        self.write_raw(xref.as_bytes())?;
        self.out.flush().map_err(RenderError::Io)?;
        let pages = self.pages.len() as u32;
        Ok((self.out.inner, pages, self.out.written))
    }
}

/// A number in PDF syntax: at most three decimals, no exponent.
pub fn num(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(595.2756), "595.276");
        assert_eq!(num(842.0), "842");
        assert_eq!(num(-0.0001), "0");
    }

    #[test]
    fn output_bound_is_too_large() {
        let mut writer = PdfWriter::new(Vec::new(), 400, 10).expect("header fits");
        let result = writer.stream("", StreamFilter::AsIs, |sink| {
            sink.write_all(&[0u8; 1000]).map_err(RenderError::Io)
        });
        assert_eq!(result.map(drop).map_err(|e| e.code()), Err("too_large"));
    }
}

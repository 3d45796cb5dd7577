//! A minimal PDF 1.4 writer for one page of text and rules: the standard Helvetica fonts with
//! WinAnsiEncoding (nothing embedded, so å ä ö map to Unicode in every reader and in
//! `pdftotext`), an uncompressed content stream and a correct cross-reference table.

use super::{Item, PAGE_HEIGHT, PAGE_WIDTH, Page, cp1252};

/// The page as a complete PDF file.
pub fn write(page: &Page) -> Vec<u8> {
    let content = content_stream(&page.items);
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
             /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>"
        )
        .into_bytes(),
        font("Helvetica"),
        font("Helvetica-Bold"),
    ];
    let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    stream.extend_from_slice(&content);
    stream.extend_from_slice(b"\nendstream");
    objects.push(stream);
    objects.push(
        format!(
            "<< /Title {} /Producer (hamn-demo-host) /Creator (Procapita) >>",
            utf16_text_string(&page.title)
        )
        .into_bytes(),
    );

    // The binary comment marks the file as binary for transfer tools.
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (index, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", index + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let size = objects.len() + 1;
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root 1 0 R /Info 7 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

fn font(name: &str) -> Vec<u8> {
    format!("<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>").into_bytes()
}

fn content_stream(items: &[Item]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        match item {
            Item::Text {
                x,
                y,
                size,
                weight,
                text,
            } => {
                let font = weight.font_resource();
                out.extend_from_slice(format!("BT /{font} {size} Tf {x} {y} Td ").as_bytes());
                out.extend_from_slice(&literal_string(&cp1252::encode(text)));
                out.extend_from_slice(b" Tj ET\n");
            }
            Item::Rule { x1, x2, y } => {
                out.extend_from_slice(format!("0.5 w {x1} {y} m {x2} {y} l S\n").as_bytes());
            }
        }
    }
    out
}

/// A PDF literal string; parentheses and backslashes escaped, non-ASCII bytes in octal so the
/// file stays 7-bit outside the header.
pub(super) fn literal_string(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![b'('];
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => out.extend_from_slice(&[b'\\', b]),
            0x20..=0x7E => out.push(b),
            _ => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
        }
    }
    out.push(b')');
    out
}

/// A PDF text string in UTF-16BE with a byte order mark, as a hex string.
fn utf16_text_string(text: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in text.encode_utf16() {
        out.push_str(&format!("{unit:04X}"));
    }
    out.push('>');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Weight;

    #[test]
    fn literal_strings_escape_delimiters_and_high_bytes() {
        assert_eq!(literal_string(b"a(b)c\\"), b"(a\\(b\\)c\\\\)");
        assert_eq!(literal_string(&[0xE5, b'x', 0x0A]), b"(\\345x\\012)");
    }

    #[test]
    fn title_is_utf16() {
        assert_eq!(utf16_text_string("Å–"), "<FEFF00C52013>");
    }

    #[test]
    fn xref_offsets_point_at_their_objects() {
        let page = Page {
            title: "t".into(),
            items: vec![Item::Text {
                x: 10,
                y: 20,
                size: 12,
                weight: Weight::Bold,
                text: "Åsa".into(),
            }],
        };
        let pdf = write(&page);
        let tail_at = pdf.windows(10).rposition(|w| w == b"startxref\n").unwrap();
        let tail = std::str::from_utf8(&pdf[tail_at..]).unwrap();
        let xref_at: usize = tail.lines().nth(1).unwrap().parse().unwrap();
        let xref = std::str::from_utf8(&pdf[xref_at..tail_at]).unwrap();
        assert!(xref.starts_with("xref\n0 8\n"));
        let entries: Vec<usize> = xref.lines().skip(3).take(7).map(|l| l[..10].parse().unwrap()).collect();
        for (i, offset) in entries.iter().enumerate() {
            assert!(
                pdf[*offset..].starts_with(format!("{} 0 obj\n", i + 1).as_bytes()),
                "object {}",
                i + 1
            );
        }
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("BT /F2 12 Tf 10 20 Td (\\305sa) Tj ET"));
    }
}

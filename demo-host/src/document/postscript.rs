//! A minimal DSC-conforming PostScript writer for one page, what a Windows host spools to a
//! printer with the "MS Publisher Imagesetter" driver. Helvetica is re-encoded to
//! Windows-1252 (ISOLatin1Encoding with the hyphen, quotes and 0x80–0x9F of Windows-1252) so text bytes are the same
//! as in the PDF variant and å ä ö – survive conversion to PDF.

use super::{Item, PAGE_HEIGHT, PAGE_WIDTH, Page, cp1252};

/// The page as a complete PostScript document.
pub fn write(page: &Page) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"%!PS-Adobe-3.0\n%%Title: ");
    // DSC comments are 7-bit; the title there is informational only.
    out.extend(page.title.chars().map(|c| match u8::try_from(c) {
        Ok(b) if b.is_ascii_graphic() || b == b' ' => b,
        _ => b'?',
    }));
    out.extend_from_slice(
        format!(
            "\n%%Creator: Procapita (hamn-demo-host)\n%%Pages: 1\n%%BoundingBox: 0 0 {PAGE_WIDTH} {PAGE_HEIGHT}\n\
             %%DocumentMedia: A4 {PAGE_WIDTH} {PAGE_HEIGHT} 0 () ()\n%%DocumentNeededResources: font Helvetica Helvetica-Bold\n\
             %%EndComments\n%%BeginProlog\n"
        )
        .as_bytes(),
    );
    out.extend_from_slice(b"/WinAnsi ISOLatin1Encoding dup length array copy def\nWinAnsi 39 /quotesingle put WinAnsi 45 /hyphen put WinAnsi 96 /grave put\n");
    for code in 0x80..=0x9F_u8 {
        let name = cp1252::HIGH_GLYPH_NAMES
            .iter()
            .find(|(b, _)| *b == code)
            .map_or(".notdef", |(_, n)| n);
        out.extend_from_slice(format!("WinAnsi {code} /{name} put\n").as_bytes());
    }
    out.extend_from_slice(
        b"/reencode { findfont dup length dict begin { 1 index /FID ne { def } { pop pop } ifelse } forall\n\
          /Encoding WinAnsi def currentdict end definefont pop } bind def\n\
          /F1 /Helvetica reencode\n/F2 /Helvetica-Bold reencode\n%%EndProlog\n",
    );
    out.extend_from_slice(
        format!("%%BeginSetup\n<< /PageSize [{PAGE_WIDTH} {PAGE_HEIGHT}] >> setpagedevice\n%%EndSetup\n").as_bytes(),
    );
    out.extend_from_slice(b"%%Page: 1 1\n");
    for item in &page.items {
        match item {
            Item::Text {
                x,
                y,
                size,
                weight,
                text,
            } => {
                let font = weight.font_resource();
                out.extend_from_slice(format!("/{font} findfont {size} scalefont setfont {x} {y} moveto ").as_bytes());
                // PDF and PostScript literal strings share their escapes.
                out.extend_from_slice(&super::pdf::literal_string(&cp1252::encode(text)));
                out.extend_from_slice(b" show\n");
            }
            Item::Rule { x1, x2, y } => {
                out.extend_from_slice(format!("0.5 setlinewidth {x1} {y} moveto {x2} {y} lineto stroke\n").as_bytes());
            }
        }
    }
    out.extend_from_slice(b"showpage\n%%Trailer\n%%EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Weight;

    #[test]
    fn is_dsc_with_one_page_and_escaped_text() {
        let page = Page {
            title: "Procapita – Åsa".into(),
            items: vec![Item::Text {
                x: 1,
                y: 2,
                size: 3,
                weight: Weight::Regular,
                text: "Öst (x)".into(),
            }],
        };
        let ps = String::from_utf8(write(&page)).unwrap();
        assert!(ps.starts_with("%!PS-Adobe-3.0\n%%Title: Procapita ? ?sa\n"));
        assert!(ps.contains("WinAnsi 150 /endash put\n"));
        assert!(ps.contains("WinAnsi 129 /.notdef put\n"));
        assert!(ps.contains("1 2 moveto (\\326st \\(x\\)) show\n"));
        assert!(ps.ends_with("showpage\n%%Trailer\n%%EOF\n"));
    }
}

//! The printed client record: one A4 page laid out once ([`client_record`]) and written as PDF
//! ([`pdf`]) or PostScript ([`postscript`]), whichever the client's printer driver takes.

mod cp1252;
pub mod pdf;
pub mod postscript;
#[cfg(test)]
mod readback;

use std::time::{SystemTime, UNIX_EPOCH};

use crate::app::{Client, FIELD_LABELS};

/// A4 in PostScript points.
pub const PAGE_WIDTH: u32 = 595;
pub const PAGE_HEIGHT: u32 = 842;

/// The driver Windows uses for PostScript printer redirection; everything else gets PDF
/// (e.g. "Microsoft Print to PDF").
pub const POSTSCRIPT_DRIVER: &str = "MS Publisher Imagesetter";

/// What a print job's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    PostScript,
}

impl Format {
    /// The format a printer with this driver expects.
    pub fn for_driver(driver: &str) -> Self {
        if driver.trim().eq_ignore_ascii_case(POSTSCRIPT_DRIVER) {
            Self::PostScript
        } else {
            Self::Pdf
        }
    }
}

/// Helvetica or Helvetica-Bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

impl Weight {
    /// The resource name both writers give the weight's font (F1 Helvetica, F2 bold).
    pub fn font_resource(self) -> &'static str {
        match self {
            Self::Regular => "F1",
            Self::Bold => "F2",
        }
    }
}

/// One thing drawn on the page; coordinates in points from the lower left corner.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Text {
        x: u32,
        y: u32,
        size: u32,
        weight: Weight,
        text: String,
    },
    /// A horizontal line from `x1` to `x2`.
    Rule { x1: u32, x2: u32, y: u32 },
}

/// A single page with its document title.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub title: String,
    pub items: Vec<Item>,
}

impl Page {
    /// The page in `format`.
    pub fn render(&self, format: Format) -> Vec<u8> {
        match format {
            Format::Pdf => pdf::write(self),
            Format::PostScript => postscript::write(self),
        }
    }
}

pub const TITLE: &str = "Procapita – Klientregister";

/// The client record as Procapita prints it: title, the four fields, notes, a printed-at line.
pub fn client_record(client: &Client, printed_at: &str) -> Page {
    const LEFT: u32 = 56;
    const VALUE: u32 = 190;
    let mut items = Vec::new();
    let mut text = |x, y, size, weight, text: &str| {
        items.push(Item::Text {
            x,
            y,
            size,
            weight,
            text: text.to_owned(),
        })
    };
    text(LEFT, 780, 20, Weight::Bold, TITLE);
    text(LEFT, 752, 13, Weight::Regular, "Klientuppgifter");
    let mut y = 700;
    for (label, value) in FIELD_LABELS.iter().zip(&client.fields) {
        text(LEFT, y, 11, Weight::Bold, label);
        text(VALUE, y, 11, Weight::Regular, value);
        y -= 22;
    }
    y -= 18;
    text(LEFT, y, 11, Weight::Bold, "Anteckningar");
    for note in [
        "Beslutet följs upp inom sex månader eller när behoven ändras.",
        "Den enskilde har informerats om beslutet och hur det kan överklagas.",
        "Kontakta handläggaren vid frågor om insatsen.",
    ] {
        y -= 18;
        text(LEFT, y, 10, Weight::Regular, note);
    }
    text(
        LEFT,
        96,
        9,
        Weight::Regular,
        &format!("Utskriven {printed_at} från Procapita"),
    );
    text(
        LEFT,
        82,
        9,
        Weight::Regular,
        "Innehåller uppgifter som omfattas av sekretess enligt offentlighets- och sekretesslagen.",
    );
    text(PAGE_WIDTH - 110, 82, 9, Weight::Regular, "Sida 1 av 1");
    items.push(Item::Rule {
        x1: LEFT,
        x2: PAGE_WIDTH - LEFT,
        y: 740,
    });
    items.push(Item::Rule {
        x1: LEFT,
        x2: PAGE_WIDTH - LEFT,
        y: 110,
    });
    Page {
        title: format!("{TITLE}: {}", client.name()),
        items,
    }
}

/// `time` as "YYYY-MM-DD HH:MM UTC".
pub fn printed_at(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let (year, month, day) = civil_from_days(days);
    let minutes = secs % 86_400 / 60;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's
/// algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn printed_at_is_utc_calendar_time() {
        assert_eq!(printed_at(UNIX_EPOCH), "1970-01-01 00:00 UTC");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_675_100); // 2026-12-07 20:25
        assert_eq!(printed_at(t), "2026-12-07 20:25 UTC");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(printed_at(leap), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn the_driver_chooses_the_format() {
        assert_eq!(Format::for_driver("Microsoft Print to PDF"), Format::Pdf);
        assert_eq!(Format::for_driver("MS Publisher Imagesetter"), Format::PostScript);
        assert_eq!(Format::for_driver("ms publisher imagesetter "), Format::PostScript);
        assert_eq!(Format::for_driver("HP LaserJet"), Format::Pdf);
    }
}

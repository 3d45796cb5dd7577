//! Plain text to pages of positioned character runs, the way a line printer would put
//! it: form feeds start a page, tabs stop every 8 columns, a lone carriage return
//! overprints the line (the old underline/bold idiom), other control characters are
//! dropped. Reports up to 80 columns go on portrait A4; wider ones (the 132-column
//! reports) on landscape A4 with a font size at which 132 columns fit; longer lines
//! wrap. Both hold 66 lines per page, the classic form length, so a report paginated
//! with form feeds keeps its pages.

pub const TAB: usize = 8;
pub const LINES_PER_PAGE: usize = 66;
pub const NARROW_COLUMNS: usize = 80;
pub const WIDE_COLUMNS: usize = 132;

/// Characters printed from `column` on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub column: usize,
    pub text: String,
}

/// One printed line: its runs (more than one when overprinted).
pub type Line = Vec<Run>;

/// The page geometry a job gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    pub landscape: bool,
    pub columns: usize,
    pub font_size: f64,
    pub leading: f64,
}

impl Geometry {
    pub fn for_width(widest: usize) -> Self {
        if widest <= NARROW_COLUMNS {
            Self {
                landscape: false,
                columns: NARROW_COLUMNS,
                font_size: 10.0,
                leading: 11.6,
            }
        } else {
            // 132 columns × 0.602 em × 8 pt = 636 pt of the 842 pt landscape width;
            // 66 lines × 8.3 pt = 548 pt of its 595 pt height.
            Self {
                landscape: true,
                columns: WIDE_COLUMNS,
                font_size: 8.0,
                leading: 8.3,
            }
        }
    }
}

/// Overprints per line at most; further carriage returns are ignored (the text goes on
/// in the last run), so `a\r` repeated cannot pile millions of runs onto one line.
pub const MAX_STRIKES: usize = 8;

/// A logical line (between line feeds) split into overprinted strikes, tabs expanded.
fn strikes(line: &str) -> Vec<Vec<char>> {
    let mut strikes = vec![Vec::new()];
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek().is_none() => {}
            '\r' if strikes.len() < MAX_STRIKES => strikes.push(Vec::new()),
            '\r' => {}
            '\t' => {
                let current = strikes.last().map_or(0, Vec::len);
                let next = (current / TAB + 1) * TAB;
                if let Some(strike) = strikes.last_mut() {
                    strike.resize(next, ' ');
                }
            }
            c if c.is_control() => {}
            c => {
                if let Some(strike) = strikes.last_mut() {
                    strike.push(c);
                }
            }
        }
    }
    strikes
}

/// Lays `text` out: the geometry and the pages, each a list of lines.
pub fn layout(text: &str) -> (Geometry, Vec<Vec<Line>>) {
    // Form pages (between form feeds) of logical lines of strikes.
    let mut forms: Vec<Vec<Vec<Vec<char>>>> = text
        .split('\u{0C}')
        .map(|form| {
            let form = form.strip_suffix('\n').unwrap_or(form);
            let form = form.strip_suffix('\r').unwrap_or(form);
            if form.is_empty() {
                Vec::new()
            } else {
                form.split('\n').map(strikes).collect()
            }
        })
        .collect();
    // A form feed that ends the job (or is followed only by blank lines) makes no page.
    while forms.len() > 1
        && forms.last().is_some_and(|form| {
            form.iter()
                .all(|line| line.iter().all(|s| s.iter().all(|c| *c == ' ')))
        })
    {
        forms.pop();
    }
    let widest = forms
        .iter()
        .flatten()
        .flatten()
        .map(|strike| trimmed_len(strike))
        .max()
        .unwrap_or(0);
    let geometry = Geometry::for_width(widest);
    let columns = geometry.columns;
    let mut pages = Vec::new();
    for form in forms {
        let mut page: Vec<Line> = Vec::new();
        for strikes in form {
            let wraps = strikes
                .iter()
                .map(|s| trimmed_len(s).div_ceil(columns))
                .max()
                .unwrap_or(0)
                .max(1);
            for part in 0..wraps {
                let mut line = Line::new();
                for strike in &strikes {
                    let from = (part * columns).min(strike.len());
                    let to = ((part + 1) * columns).min(strike.len());
                    let piece = &strike[from..to];
                    let lead = piece.iter().take_while(|c| **c == ' ').count();
                    let text: String = piece[lead..].iter().collect();
                    let text = text.trim_end();
                    if !text.is_empty() {
                        line.push(Run {
                            column: lead,
                            text: text.to_owned(),
                        });
                    }
                }
                if page.len() == LINES_PER_PAGE {
                    pages.push(std::mem::take(&mut page));
                }
                page.push(line);
            }
        }
        pages.push(page);
    }
    (geometry, pages)
}

fn trimmed_len(strike: &[char]) -> usize {
    strike.len() - strike.iter().rev().take_while(|c| **c == ' ').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(page: &[Line]) -> Vec<String> {
        page.iter()
            .map(|line| {
                line.iter()
                    .map(|run| format!("{}:{}", run.column, run.text))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    }

    #[test]
    fn form_feeds_tabs_and_overprint() {
        let (geometry, pages) = layout("a\tb\r\nx\r___\n\u{0C}sida två\n\u{0C}");
        assert!(!geometry.landscape);
        assert_eq!(pages.len(), 2);
        assert_eq!(texts(&pages[0]), ["0:a       b", "0:x|0:___"]);
        assert_eq!(texts(&pages[1]), ["0:sida två"]);
    }

    #[test]
    fn wide_reports_go_landscape_and_longer_lines_wrap() {
        let line132 = "x".repeat(132);
        let (geometry, pages) = layout(&line132);
        assert!(geometry.landscape);
        assert_eq!(pages[0].len(), 1);
        let (_, pages) = layout(&"y".repeat(140));
        assert_eq!(
            texts(&pages[0]),
            [format!("0:{}", "y".repeat(132)), "0:yyyyyyyy".to_owned()]
        );
    }

    #[test]
    fn overprints_are_bounded() {
        // Seven single overprints, then the rest of the a's in the eighth run (wrapped).
        let (_, pages) = layout(&"a\r".repeat(1000));
        assert_eq!(pages[0][0].len(), MAX_STRIKES);
        assert_eq!(pages[0][0][MAX_STRIKES - 1].text.len(), 132);
    }

    #[test]
    fn long_jobs_break_every_66_lines() {
        let text = (0..140)
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        let (_, pages) = layout(&text);
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [66, 66, 8]);
    }
}

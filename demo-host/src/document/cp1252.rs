//! Text to Windows-1252 bytes, the encoding of the standard PDF fonts' WinAnsiEncoding and of
//! the PostScript font encoding the demo host defines — Swedish letters included.

/// The characters of 0x80..=0x9F, where Windows-1252 differs from Latin-1.
const HIGH: [(u8, char); 27] = [
    (0x80, '€'),
    (0x82, '‚'),
    (0x83, 'ƒ'),
    (0x84, '„'),
    (0x85, '…'),
    (0x86, '†'),
    (0x87, '‡'),
    (0x88, 'ˆ'),
    (0x89, '‰'),
    (0x8A, 'Š'),
    (0x8B, '‹'),
    (0x8C, 'Œ'),
    (0x8E, 'Ž'),
    (0x91, '‘'),
    (0x92, '’'),
    (0x93, '“'),
    (0x94, '”'),
    (0x95, '•'),
    (0x96, '–'),
    (0x97, '—'),
    (0x98, '˜'),
    (0x99, '™'),
    (0x9A, 'š'),
    (0x9B, '›'),
    (0x9C, 'œ'),
    (0x9E, 'ž'),
    (0x9F, 'Ÿ'),
];

/// Glyph names of [`HIGH`], for a PostScript encoding vector.
pub const HIGH_GLYPH_NAMES: [(u8, &str); 27] = [
    (0x80, "Euro"),
    (0x82, "quotesinglbase"),
    (0x83, "florin"),
    (0x84, "quotedblbase"),
    (0x85, "ellipsis"),
    (0x86, "dagger"),
    (0x87, "daggerdbl"),
    (0x88, "circumflex"),
    (0x89, "perthousand"),
    (0x8A, "Scaron"),
    (0x8B, "guilsinglleft"),
    (0x8C, "OE"),
    (0x8E, "Zcaron"),
    (0x91, "quoteleft"),
    (0x92, "quoteright"),
    (0x93, "quotedblleft"),
    (0x94, "quotedblright"),
    (0x95, "bullet"),
    (0x96, "endash"),
    (0x97, "emdash"),
    (0x98, "tilde"),
    (0x99, "trademark"),
    (0x9A, "scaron"),
    (0x9B, "guilsinglright"),
    (0x9C, "oe"),
    (0x9E, "zcaron"),
    (0x9F, "Ydieresis"),
];

/// Encodes `text`; characters outside Windows-1252 and control characters become '?'.
pub fn encode(text: &str) -> Vec<u8> {
    text.chars().map(byte).collect()
}

fn byte(c: char) -> u8 {
    match u32::from(c) {
        code @ (0x20..=0x7E | 0xA0..=0xFF) => u8::try_from(code).unwrap_or(b'?'),
        _ => HIGH.iter().find(|(_, h)| *h == c).map_or(b'?', |(b, _)| *b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swedish_letters_and_dashes() {
        assert_eq!(encode("åäöÅÄÖ"), [0xE5, 0xE4, 0xF6, 0xC5, 0xC4, 0xD6]);
        assert_eq!(encode("a – b"), [b'a', b' ', 0x96, b' ', b'b']);
        assert_eq!(encode("€\u{263A}\n"), [0x80, b'?', b'?']);
    }

    #[test]
    fn glyph_names_cover_every_high_character() {
        let bytes: Vec<u8> = HIGH.iter().map(|(b, _)| *b).collect();
        let named: Vec<u8> = HIGH_GLYPH_NAMES.iter().map(|(b, _)| *b).collect();
        assert_eq!(bytes, named);
    }
}

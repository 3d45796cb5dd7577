//! The language of the portal API's messages: Swedish unless the request asks for English,
//! by a `lang` field in the body or by `Accept-Language`.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

/// A language the portal speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Sv,
    En,
}

impl Lang {
    pub fn tag(self) -> &'static str {
        match self {
            Self::Sv => "sv",
            Self::En => "en",
        }
    }

    /// The best of Swedish and English for an `Accept-Language` value (RFC 9110 weights;
    /// at most 16 entries are read); Swedish when neither is asked for.
    pub fn from_accept_language(value: &str) -> Self {
        let mut best: Option<(u16, Self)> = None;
        for entry in value.split(',').take(16) {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let primary = tag.split('-').next().unwrap_or_default();
            let lang = if primary.eq_ignore_ascii_case("sv") {
                Self::Sv
            } else if primary.eq_ignore_ascii_case("en") {
                Self::En
            } else {
                continue;
            };
            let weight = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(1000, quality);
            if weight > 0 && best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, lang));
            }
        }
        best.map_or(Self::Sv, |(_, lang)| lang)
    }

    /// Picks the message in this language.
    pub fn pick<T>(self, sv: T, en: T) -> T {
        match self {
            Self::Sv => sv,
            Self::En => en,
        }
    }
}

/// A q-value as thousandths (`0.8` → 800); malformed values count as 0.
fn quality(text: &str) -> u16 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole == "1" {
        return 1000;
    }
    if whole != "0" || fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    format!("{fraction:0<3}").parse().unwrap_or(0)
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(parts
            .headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(Self::from_accept_language)
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_of_swedish_and_english() {
        for (header, want) in [
            ("", Lang::Sv),
            ("en", Lang::En),
            ("en-GB,en;q=0.9", Lang::En),
            ("sv-SE,sv;q=0.9,en;q=0.8", Lang::Sv),
            ("de,en;q=0.5,sv;q=0.4", Lang::En),
            ("fi", Lang::Sv),
            ("en;q=0", Lang::Sv),
            ("en;q=banana", Lang::Sv),
            ("en;q=0.3,sv;q=0.7", Lang::Sv),
            (",,;;q=,en-US", Lang::En),
        ] {
            assert_eq!(Lang::from_accept_language(header), want, "{header:?}");
        }
    }
}

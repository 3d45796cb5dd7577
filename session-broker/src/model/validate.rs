//! Field validation with errors that name the field and say why, collected so a client
//! sees every problem with its request at once.

use serde::{Deserialize, Deserializer, Serialize};

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field, as a JSON path (`name`, `program`, `hosts[0].port`).
    pub field: String,
    /// Why the value was refused.
    pub reason: String,
}

/// Every problem found with a request.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
#[error("invalid request: {}", self.summary())]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn single(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self(vec![FieldError {
            field: field.into(),
            reason: reason.into(),
        }])
    }

    pub fn push(&mut self, field: &str, reason: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            reason: reason.into(),
        });
    }

    pub fn summary(&self) -> String {
        self.0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.reason))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// `Ok(())` when nothing was found.
    pub fn finish(self) -> Result<(), Self> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// Free text shown to people: non-blank, bounded, no control characters.
    pub fn text(&mut self, field: &str, value: &str, max_chars: usize) {
        if value.trim().is_empty() {
            self.push(field, "must not be empty");
        } else if value.chars().count() > max_chars {
            self.push(field, format!("must be at most {max_chars} characters"));
        } else if value.chars().any(char::is_control) {
            self.push(field, "must not contain control characters");
        } else if value.trim() != value {
            self.push(field, "must not start or end with whitespace");
        }
    }

    /// Like [`Self::text`] for optional values.
    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max_chars: usize) {
        if let Some(v) = value {
            self.text(field, v, max_chars);
        }
    }

    /// Longer text (descriptions): may be empty, newlines and tabs allowed.
    pub fn long_text(&mut self, field: &str, value: &str, max_chars: usize) {
        if value.chars().count() > max_chars {
            self.push(field, format!("must be at most {max_chars} characters"));
        } else if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            self.push(field, "must not contain control characters");
        }
    }

    /// URL-safe identifiers: lower-case ASCII letters, digits and inner hyphens.
    pub fn slug(&mut self, field: &str, value: &str) {
        let ok = (1..=63).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !value.starts_with('-')
            && !value.ends_with('-');
        if !ok {
            self.push(
                field,
                "must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            );
        }
    }

    /// A DNS name or IP address literal.
    pub fn host_address(&mut self, field: &str, value: &str) {
        let is_ip = value.parse::<std::net::IpAddr>().is_ok();
        let is_dns = !value.is_empty()
            && value.len() <= 253
            && value.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if !is_ip && !is_dns {
            self.push(field, "must be a DNS name or an IP address");
        }
    }

    pub fn range(&mut self, field: &str, value: i64, min: i64, max: i64) {
        if value < min || value > max {
            self.push(field, format!("must be between {min} and {max}"));
        }
    }
}

/// For PATCH bodies: distinguishes an absent field (`None`) from an explicit `null`
/// (`Some(None)`), so nullable fields can be cleared.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

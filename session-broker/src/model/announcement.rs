//! Announcements: messages from admins that the portal shows as banners while they run,
//! to one tenant's users or (written by operators only) to every tenant's.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::validate::ValidationErrors;

/// The longest an announcement may run: a standing message belongs in the service
/// description, not in a banner.
pub const MAX_LENGTH: Duration = Duration::days(90);
/// How far ahead one may be scheduled.
pub const MAX_AHEAD: Duration = Duration::days(365);

text_enum! {
    /// How the portal presents it: `info` (a notice) or `warning` (something users must act on).
    AnnouncementSeverity {
        Info = "info", Warning = "warning",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Announcement {
    pub id: Uuid,
    /// The tenant whose users see it; `null`: every tenant's.
    pub tenant_id: Option<Uuid>,
    pub title: String,
    pub body: String,
    pub severity: AnnouncementSeverity,
    /// Shown from.
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// Shown until (exclusive); moved to the moment it was ended when ended early.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Announcement {
    /// Whether the portal shows it at `at`.
    pub fn shown_at(&self, at: OffsetDateTime) -> bool {
        self.starts_at <= at && at < self.ends_at
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAnnouncement {
    /// One line, at most 200 characters.
    pub title: String,
    /// The message, at most 2000 characters; may be empty.
    #[serde(default)]
    pub body: String,
    #[serde(default = "default_severity")]
    pub severity: AnnouncementSeverity,
    /// Shown from; absent: now.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub starts_at: Option<OffsetDateTime>,
    /// Shown until; after `starts_at`, at most 90 days later.
    #[serde(with = "time::serde::rfc3339")]
    pub ends_at: OffsetDateTime,
}

fn default_severity() -> AnnouncementSeverity {
    AnnouncementSeverity::Info
}

impl NewAnnouncement {
    /// Checks the fields and gives the start (`now` when none was given).
    pub fn validate(&self, now: OffsetDateTime) -> Result<OffsetDateTime, ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.text("title", &self.title, 200);
        v.long_text("body", &self.body, 2000);
        let starts_at = self.starts_at.unwrap_or(now);
        if starts_at > now + MAX_AHEAD {
            v.push("starts_at", "must be within a year from now");
        }
        if self.ends_at <= starts_at {
            v.push("ends_at", "must be after starts_at");
        } else if self.ends_at - starts_at > MAX_LENGTH {
            v.push("ends_at", "must be at most 90 days after starts_at");
        }
        if self.ends_at <= now {
            v.push("ends_at", "must be in the future");
        }
        v.finish().map(|()| starts_at)
    }
}

//! Incidents: disturbances and outages an operator announces on the public status page and
//! follows with updates until they are resolved. An incident concerns one tenant, and one
//! of its environments or (without `environment_id`) all of them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::ValidationErrors;

text_enum! {
    /// How bad it is: some users or functions affected, or the service unusable.
    IncidentSeverity { Disturbance = "disturbance", Outage = "outage" }
}

text_enum! {
    /// Where the work on it stands; `resolved` ends the incident.
    IncidentState {
        Investigating = "investigating",
        Identified = "identified",
        Monitoring = "monitoring",
        Resolved = "resolved",
    }
}

/// The longest title and update text.
pub const MAX_TITLE: usize = 200;
pub const MAX_MESSAGE: usize = 4000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Incident {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The environment concerned; absent: every environment of the tenant.
    pub environment_id: Option<Uuid>,
    pub title: String,
    pub severity: IncidentSeverity,
    pub state: IncidentState,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Set exactly when the state is `resolved`.
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// What the operators said, oldest first.
    pub updates: Vec<IncidentUpdate>,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.state != IncidentState::Resolved
    }

    /// Whether it concerns `environment_id` of its tenant.
    pub fn concerns(&self, environment_id: Uuid) -> bool {
        self.environment_id.is_none_or(|e| e == environment_id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncidentUpdate {
    pub id: Uuid,
    pub incident_id: Uuid,
    /// The state the update left the incident in.
    pub state: IncidentState,
    pub message: String,
    /// Who wrote it (the operator's name).
    pub author: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    /// The environment concerned (of the tenant); absent: all of its environments.
    #[serde(default)]
    pub environment_id: Option<Uuid>,
    pub title: String,
    pub severity: IncidentSeverity,
    /// Defaults to `investigating`; an incident cannot start resolved.
    #[serde(default)]
    pub state: Option<IncidentState>,
    /// The first update's text: what users notice and what is being done.
    pub message: String,
    /// When it began; defaults to now, must not be in the future.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
}

impl NewIncident {
    /// Checks the request at `now`; returns its state and start.
    pub fn validate(
        &self,
        now: OffsetDateTime,
    ) -> Result<(IncidentState, OffsetDateTime), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.text("title", &self.title, MAX_TITLE);
        message(&mut v, &self.message);
        let state = self.state.unwrap_or(IncidentState::Investigating);
        if state == IncidentState::Resolved {
            v.push(
                "state",
                "a new incident cannot be resolved; post it, then resolve it",
            );
        }
        let started_at = self.started_at.unwrap_or(now);
        // A little slack for clocks; an announcement of the future is a service window.
        if started_at > now + time::Duration::minutes(5) {
            v.push("started_at", "must not be in the future");
        }
        v.finish()?;
        Ok((state, started_at))
    }
}

/// An update: a text, and optionally a new state (`resolved` resolves it) or severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncidentUpdate {
    pub message: String,
    /// Absent: the state stays.
    #[serde(default)]
    pub state: Option<IncidentState>,
    /// Absent: the severity stays.
    #[serde(default)]
    pub severity: Option<IncidentSeverity>,
}

impl NewIncidentUpdate {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        message(&mut v, &self.message);
        v.finish()
    }

    /// The incident after this update at `now` (updates not included).
    pub fn apply(&self, incident: &Incident, now: OffsetDateTime) -> Incident {
        let mut after = incident.clone();
        if let Some(state) = self.state {
            after.state = state;
        }
        if let Some(severity) = self.severity {
            after.severity = severity;
        }
        after.resolved_at = match after.state {
            IncidentState::Resolved => Some(now),
            _ => None,
        };
        after.updated_at = now;
        after
    }
}

fn message(v: &mut ValidationErrors, text: &str) {
    if text.trim().is_empty() {
        v.push("message", "must not be empty");
    } else {
        v.long_text("message", text, MAX_MESSAGE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn incident() -> Incident {
        let t = datetime!(2026-12-07 10:00 UTC);
        Incident {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            environment_id: None,
            title: "Procapita svarar långsamt".into(),
            severity: IncidentSeverity::Disturbance,
            state: IncidentState::Investigating,
            started_at: t,
            resolved_at: None,
            created_at: t,
            updated_at: t,
            updates: Vec::new(),
        }
    }

    #[test]
    fn resolving_sets_the_time_and_a_later_state_change_would_clear_it() {
        let now = datetime!(2026-12-07 11:00 UTC);
        let update = |state| NewIncidentUpdate {
            message: "x".into(),
            state,
            severity: Some(IncidentSeverity::Outage),
        };
        let resolved = update(Some(IncidentState::Resolved)).apply(&incident(), now);
        assert_eq!(resolved.resolved_at, Some(now));
        assert_eq!(resolved.severity, IncidentSeverity::Outage);
        assert!(!resolved.is_open());
        let kept = update(None).apply(&incident(), now);
        assert_eq!(kept.state, IncidentState::Investigating);
        assert_eq!(kept.resolved_at, None);
    }

    #[test]
    fn a_new_incident_starts_open_and_not_in_the_future() {
        let now = datetime!(2026-12-07 11:00 UTC);
        let mut new = NewIncident {
            environment_id: None,
            title: "Avbrott".into(),
            severity: IncidentSeverity::Outage,
            state: None,
            message: "Vi undersöker.".into(),
            started_at: None,
        };
        assert_eq!(new.validate(now), Ok((IncidentState::Investigating, now)));
        new.state = Some(IncidentState::Resolved);
        new.started_at = Some(now + time::Duration::hours(1));
        new.message = " ".into();
        let fields: Vec<String> = new
            .validate(now)
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["message", "state", "started_at"]);
    }
}

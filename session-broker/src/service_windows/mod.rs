//! Service windows at work: the Europe/Stockholm clock they are announced in ([`tz`]),
//! the iCal feed that publishes them ([`ical`], [`feed`]), the refusal of launches into an
//! environment in a window ([`refusal_at`], used by [`crate::launch`]), and the scheduler
//! that warns users, drains hosts, logs sessions off and gives the hosts back
//! ([`scheduler`]).

pub mod ical;
pub mod ical_text;
pub mod notify;
pub mod scheduler;
pub mod tz;

use sqlx::{AnyConnection, AssertSqlSafe};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::db::row::{get_string, get_uuid};
use crate::db::{Database, DbError};
use crate::model::{EnvironmentKind, ServiceWindow};
use crate::repo;

pub use ical::FeedEntry;
pub use scheduler::{SchedulerConfig, run_scheduler, tick};

/// How long after its end a window stays in the feed.
pub const FEED_HISTORY: Duration = Duration::days(30);
/// The most windows one feed lists.
pub const FEED_LIMIT: u32 = 2000;

/// Which windows a feed lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedScope {
    /// Every environment of every tenant.
    All,
    /// One environment of one tenant, by the tenant's slug and the environment's kind.
    Environment {
        tenant_slug: String,
        kind: EnvironmentKind,
    },
}

/// The iCal calendar of `scope` at `now`: windows still running or ended within
/// [`FEED_HISTORY`]. `None` when the scope names no environment.
pub async fn feed(
    db: &Database,
    scope: &FeedScope,
    now: OffsetDateTime,
) -> Result<Option<String>, DbError> {
    let mut conn = db.acquire().await?;
    let (environment, name) = match scope {
        FeedScope::All => (None, "Hamn servicefönster".to_owned()),
        FeedScope::Environment { tenant_slug, kind } => {
            let Some(tenant) = repo::tenants::get_by_slug(&mut conn, tenant_slug).await? else {
                return Ok(None);
            };
            let Some(env) = repo::environments::get_by_kind(&mut conn, tenant.id, *kind).await?
            else {
                return Ok(None);
            };
            (
                Some(env.id),
                format!("Servicefönster {} {}", tenant.name, kind),
            )
        }
    };
    let windows =
        repo::service_windows::list_live(&mut conn, environment, now - FEED_HISTORY, FEED_LIMIT)
            .await?;
    let names = environment_names(&mut conn).await?;
    let entries: Vec<FeedEntry> = windows
        .into_iter()
        .filter_map(|w| {
            let (tenant_name, kind) = names.get(&w.environment_id)?.clone();
            Some(FeedEntry {
                window: w,
                tenant_name,
                environment: kind,
            })
        })
        .collect();
    Ok(Some(ical::calendar(&name, &entries)))
}

/// One occurrence for the status page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upcoming {
    pub tenant_name: String,
    pub tenant_slug: String,
    pub environment: EnvironmentKind,
    pub title: String,
    pub emergency: bool,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

/// The occurrences of every window that have not ended by `now` and start before
/// `now + horizon`, soonest first (at most [`FEED_LIMIT`]).
pub async fn upcoming(
    db: &Database,
    now: OffsetDateTime,
    horizon: Duration,
) -> Result<Vec<Upcoming>, DbError> {
    let mut conn = db.acquire().await?;
    let windows = repo::service_windows::list_live(&mut conn, None, now, FEED_LIMIT).await?;
    let names = environment_names(&mut conn).await?;
    let slugs = tenant_slugs(&mut conn).await?;
    let mut out = Vec::new();
    for w in windows {
        let Some((tenant_name, kind)) = names.get(&w.environment_id).cloned() else {
            continue;
        };
        for o in w.occurrences(now, now + horizon) {
            out.push(Upcoming {
                tenant_name: tenant_name.clone(),
                tenant_slug: slugs.get(&w.tenant_id).cloned().unwrap_or_default(),
                environment: kind,
                title: w.title.clone(),
                emergency: w.emergency,
                start: o.start,
                end: o.end,
            });
        }
    }
    out.sort_by(|a, b| (a.start, &a.tenant_name).cmp(&(b.start, &b.tenant_name)));
    out.truncate(FEED_LIMIT as usize);
    Ok(out)
}

async fn tenant_slugs(
    conn: &mut AnyConnection,
) -> Result<std::collections::HashMap<Uuid, String>, DbError> {
    let rows = sqlx::query("SELECT id, slug FROM tenants")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((get_uuid(r, "id")?, get_string(r, "slug")?)))
        .collect()
}

/// Every environment's tenant name and kind.
async fn environment_names(
    conn: &mut AnyConnection,
) -> Result<std::collections::HashMap<Uuid, (String, EnvironmentKind)>, DbError> {
    let rows = sqlx::query(AssertSqlSafe(
        "SELECT e.id AS id, e.kind AS kind, t.name AS tenant_name FROM environments e \
         JOIN tenants t ON t.id = e.tenant_id"
            .to_owned(),
    ))
    .fetch_all(conn)
    .await?;
    let mut out = std::collections::HashMap::new();
    for r in &rows {
        let kind: EnvironmentKind = get_string(r, "kind")?
            .parse()
            .map_err(|e| DbError::Corrupt(format!("environment kind: {e}")))?;
        out.insert(get_uuid(r, "id")?, (get_string(r, "tenant_name")?, kind));
    }
    Ok(out)
}

/// Why a launch into `environment_id` is refused at `now`: the window in progress and when
/// the service is back.
pub async fn refusal_at(
    conn: &mut AnyConnection,
    environment_id: Uuid,
    now: OffsetDateTime,
) -> Result<Option<(ServiceWindow, OffsetDateTime)>, DbError> {
    repo::service_windows::active_in(conn, environment_id, now).await
}

const MONTHS_SV: [&str; 12] = [
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "kl. 02:00 den 8 december" (Stockholm time).
pub fn back_at_sv(until: OffsetDateTime) -> String {
    let l = tz::to_local(until);
    format!(
        "kl. {:02}:{:02} den {} {}",
        l.hour(),
        l.minute(),
        l.day(),
        MONTHS_SV[usize::from(u8::from(l.month())) - 1]
    )
}

/// "02:00 on 8 December (Swedish time)".
pub fn back_at_en(until: OffsetDateTime) -> String {
    let l = tz::to_local(until);
    format!(
        "{:02}:{:02} on {} {} (Swedish time)",
        l.hour(),
        l.minute(),
        l.day(),
        MONTHS_EN[usize::from(u8::from(l.month())) - 1]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_time_the_service_is_back_is_told_in_stockholm_time() {
        assert_eq!(
            back_at_sv(datetime!(2026-12-08 01:00 UTC)),
            "kl. 02:00 den 8 december"
        );
        assert_eq!(
            back_at_en(datetime!(2026-07-01 16:00 UTC)),
            "18:00 on 1 July (Swedish time)"
        );
    }
}

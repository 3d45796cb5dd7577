//! Published apps: a full desktop or one program (a RemoteApp alias), published for a
//! tenant's environment on a host pool.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::validate::{ValidationErrors, double_option};

text_enum! {
    AppKind { Desktop = "desktop", Program = "program" }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct App {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub environment_id: Uuid,
    pub pool_id: Uuid,
    pub display_name: String,
    pub kind: AppKind,
    /// Program name or RemoteApp alias (`||procapita`); only for `program` apps.
    pub program: Option<String>,
    /// Command-line arguments; only for `program` apps.
    pub args: Option<String>,
    pub enabled: bool,
    /// The build the app's hosts run (image or build label); rollouts change it.
    pub version: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApp {
    pub environment_id: Uuid,
    pub pool_id: Uuid,
    pub display_name: String,
    pub kind: AppKind,
    #[serde(default)]
    pub program: Option<String>,
    #[serde(default)]
    pub args: Option<String>,
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// The build the app runs now (image or build label).
    #[serde(default)]
    pub version: Option<String>,
}

fn default_enabled() -> bool {
    true
}

fn check_program(
    v: &mut ValidationErrors,
    kind: AppKind,
    program: Option<&str>,
    args: Option<&str>,
) {
    match (kind, program) {
        (AppKind::Program, None) => v.push("program", "is required for program apps"),
        (AppKind::Program, Some(p)) => v.text("program", p, 260),
        (AppKind::Desktop, Some(_)) => v.push("program", "must be absent for desktop apps"),
        (AppKind::Desktop, None) => {}
    }
    match (kind, args) {
        (AppKind::Desktop, Some(_)) => v.push("args", "must be absent for desktop apps"),
        (_, Some(a)) => v.long_text("args", a, 2000),
        (_, None) => {}
    }
}

impl NewApp {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.text("display_name", &self.display_name, 200);
        v.opt_text("version", self.version.as_deref(), 100);
        check_program(
            &mut v,
            self.kind,
            self.program.as_deref(),
            self.args.as_deref(),
        );
        v.finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppPatch {
    pub pool_id: Option<Uuid>,
    pub display_name: Option<String>,
    pub kind: Option<AppKind>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub program: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub args: Option<Option<String>>,
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub version: Option<Option<String>>,
}

impl AppPatch {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut v = ValidationErrors::default();
        v.opt_text("display_name", self.display_name.as_deref(), 200);
        if let Some(Some(version)) = &self.version {
            v.text("version", version, 100);
        }
        v.finish()
    }

    /// Applies the patch and validates the combination (kind and program together).
    pub fn apply(&self, a: &mut App) -> Result<(), ValidationErrors> {
        if let Some(x) = self.pool_id {
            a.pool_id = x;
        }
        if let Some(x) = &self.display_name {
            a.display_name.clone_from(x);
        }
        if let Some(x) = self.kind {
            a.kind = x;
        }
        if let Some(x) = &self.program {
            a.program.clone_from(x);
        }
        if let Some(x) = &self.args {
            a.args.clone_from(x);
        }
        if let Some(x) = self.enabled {
            a.enabled = x;
        }
        if let Some(x) = &self.version {
            a.version.clone_from(x);
        }
        let mut v = ValidationErrors::default();
        check_program(&mut v, a.kind, a.program.as_deref(), a.args.as_deref());
        v.finish()
    }
}

//! `hamn admin`: the admin API from the command line. Tables for people, `--json` for
//! scripts; every call goes through the same HTTPS API (and its mTLS, validation and
//! audit) as any other client.
//!
//! Field arguments follow httpie: `name=Sundsvall` sends a string, `capacity:=20` sends raw
//! JSON (numbers, booleans, arrays). Nested resources take their parent as an argument,
//! e.g. `hamn admin environments list tenant=ID`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use hamn_broker::client::{AdminClient, ApiResponse};
use serde_json::{Map, Value};

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Base URL of the admin API.
    #[arg(long, default_value = "https://127.0.0.1:8444", env = "HAMN_ADMIN_URL")]
    pub url: String,
    /// Data directory whose dev certificates to use when --cert/--key/--ca are not given.
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// Client certificate (PEM). Default: DATA/certs/api-operator.crt.
    #[arg(long, env = "HAMN_ADMIN_CERT")]
    pub cert: Option<PathBuf>,
    /// Client key (PEM). Default: DATA/certs/api-operator.key.
    #[arg(long, env = "HAMN_ADMIN_KEY")]
    pub key: Option<PathBuf>,
    /// CA that issued the server certificate. Default: DATA/certs/ca.crt.
    #[arg(long, env = "HAMN_ADMIN_CA")]
    pub ca: Option<PathBuf>,
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// RESOURCE VERB [ID] [field=value | field:=json]…  (see `hamn admin help`)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

/// One kind of thing the API manages: where its collection and items live.
struct Resource {
    name: &'static str,
    /// Collection path; `{parent}` is filled from the `parent_field=` argument.
    collection: &'static str,
    parent_field: Option<&'static str>,
    /// Item path with `{id}`.
    item: &'static str,
    /// Columns for tables, in order; absent fields are skipped.
    columns: &'static [&'static str],
}

const RESOURCES: &[Resource] = &[
    Resource {
        name: "tenants",
        collection: "/api/v1/tenants",
        parent_field: None,
        item: "/api/v1/tenants/{id}",
        columns: &["id", "slug", "name"],
    },
    Resource {
        name: "environments",
        collection: "/api/v1/tenants/{parent}/environments",
        parent_field: Some("tenant"),
        item: "/api/v1/environments/{id}",
        columns: &["id", "tenant_id", "kind", "name"],
    },
    Resource {
        name: "pools",
        collection: "/api/v1/pools",
        parent_field: None,
        item: "/api/v1/pools/{id}",
        columns: &[
            "id",
            "name",
            "strategy",
            "dedicated_tenant_id",
            "clipboard_enabled",
            "drives_enabled",
            "printers_enabled",
            "print_driver",
            "com_ports_enabled",
            "pnp_devices_enabled",
            "description",
        ],
    },
    Resource {
        name: "hosts",
        collection: "/api/v1/pools/{parent}/hosts",
        parent_field: Some("pool"),
        item: "/api/v1/hosts/{id}",
        columns: &[
            "id", "name", "address", "port", "capacity", "state", "health",
        ],
    },
    Resource {
        name: "apps",
        collection: "/api/v1/tenants/{parent}/apps",
        parent_field: Some("tenant"),
        item: "/api/v1/apps/{id}",
        columns: &[
            "id",
            "display_name",
            "kind",
            "environment_id",
            "pool_id",
            "enabled",
        ],
    },
    Resource {
        name: "users",
        collection: "/api/v1/tenants/{parent}/users",
        parent_field: Some("tenant"),
        item: "/api/v1/users/{id}",
        columns: &["id", "name_id", "hsa_id", "display_name", "last_login_at"],
    },
    Resource {
        name: "groups",
        collection: "/api/v1/tenants/{parent}/groups",
        parent_field: Some("tenant"),
        item: "/api/v1/groups/{id}",
        columns: &["id", "name", "external_id", "grants_role"],
    },
    Resource {
        name: "announcements",
        collection: "/api/v1/tenants/{parent}/announcements",
        parent_field: Some("tenant"),
        item: "/api/v1/announcements/{id}",
        columns: &[
            "id",
            "tenant_id",
            "severity",
            "title",
            "starts_at",
            "ends_at",
        ],
    },
    Resource {
        name: "entitlements",
        collection: "/api/v1/apps/{parent}/entitlements",
        parent_field: Some("app"),
        item: "/api/v1/entitlements/{id}",
        columns: &["id", "app_id", "group_id", "user_id"],
    },
    Resource {
        name: "sessions",
        collection: "/api/v1/sessions",
        parent_field: None,
        item: "/api/v1/sessions/{id}",
        columns: &[
            "id",
            "tenant_id",
            "user_id",
            "app_id",
            "host_id",
            "state",
            "created_at",
        ],
    },
    Resource {
        name: "audit",
        collection: "/api/v1/audit",
        parent_field: None,
        item: "/api/v1/audit/{id}",
        columns: &[
            "at",
            "actor_name",
            "action",
            "target_type",
            "target_id",
            "outcome",
            "detail",
        ],
    },
    Resource {
        name: "security-events",
        collection: "/api/v1/security-events",
        parent_field: None,
        item: "/api/v1/security-events/{id}",
        columns: &[
            "at",
            "kind",
            "tenant_id",
            "source_address",
            "count",
            "detail",
        ],
    },
    Resource {
        name: "api-clients",
        collection: "/api/v1/api-clients",
        parent_field: None,
        item: "/api/v1/api-clients/{id}",
        columns: &["id", "name", "subject_cn", "scope", "tenant_id", "enabled"],
    },
    Resource {
        name: "incidents",
        collection: "/api/v1/tenants/{parent}/incidents",
        parent_field: Some("tenant"),
        item: "/api/v1/incidents/{id}",
        columns: &[
            "id",
            "title",
            "environment_id",
            "severity",
            "state",
            "started_at",
            "resolved_at",
        ],
    },
];

const HELP: &str = "\
usage: hamn admin [--url URL] [--data-dir DIR] [--cert F --key F --ca F] [--json] COMMAND

commands:
  whoami
  RESOURCE list [filter=value…]         e.g. audit list action=tenant.create limit=20
  RESOURCE show ID
  RESOURCE create field=value… [field:=json…]
  RESOURCE update ID field=value…       e.g. pools update ID clipboard_enabled:=false
  RESOURCE delete ID
  hosts set-state ID active|drain|maintenance
  groups members ID | groups add-member ID USER_ID | groups remove-member ID USER_ID
  sessions message ID text=… [sender=…] | sessions disconnect ID [reason=…]
  sessions logoff ID [reason=…] | sessions commands ID
  hosts commands ID [state=all]          a host agent's pending logoffs
  incidents add-update ID message=… [state=resolved] [severity=outage]
  announcements end ID                   stop showing a portal banner now
  tenants copy-environment ID from=PROD to=UTB [with_users:=true] [replace:=true]
                                         copy apps and group grants between environments
  users purge ID confirm=NAME_ID         purge a user's personal data (audit: pseudonyms)
  tenants purge ID confirm=SLUG          purge every user of a tenant

resources (parent to name on list and create):
  tenants, environments (tenant=ID), pools, hosts (pool=ID), apps (tenant=ID),
  users (tenant=ID), groups (tenant=ID), announcements (tenant=ID), entitlements (app=ID),
  sessions, audit, security-events, api-clients, incidents (tenant=ID)";

/// Runs `hamn admin …` and returns the process exit code.
pub fn main(args: AdminArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hamn admin: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("hamn admin: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A parsed command: method, path, query and body.
#[derive(Debug, PartialEq)]
pub struct Call {
    pub method: &'static str,
    pub path: String,
    pub body: Option<Value>,
    pub columns: &'static [&'static str],
}

async fn run(args: AdminArgs) -> anyhow::Result<ExitCode> {
    if args.words.is_empty() || args.words[0] == "help" {
        println!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    }
    let call = parse(&args.words)?;
    let certs = args.data_dir.join("certs");
    let client = AdminClient::new(
        &args.url,
        &args.ca.unwrap_or_else(|| certs.join("ca.crt")),
        &args.cert.unwrap_or_else(|| certs.join("api-operator.crt")),
        &args.key.unwrap_or_else(|| certs.join("api-operator.key")),
    )
    .context("setting up the API client")?;
    let method = call.method.parse().context("method")?;
    let ApiResponse { status, json } = client
        .request(method, &call.path, call.body.clone())
        .await
        .with_context(|| format!("{} {}", call.method, call.path))?;

    if !status.is_success() {
        // Problem documents (RFC 9457) carry the reason; show it as the API said it.
        if args.json {
            println!("{}", serde_json::to_string_pretty(&json)?);
        } else {
            eprintln!("{}", describe_problem(status.as_u16(), &json));
        }
        return Ok(ExitCode::FAILURE);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{}", render(&json, call.columns));
    }
    Ok(ExitCode::SUCCESS)
}

/// Turns the command words into an API call.
pub fn parse(words: &[String]) -> anyhow::Result<Call> {
    let (first, rest) = words.split_first().context("no command")?;
    if first == "whoami" {
        return Ok(Call {
            method: "GET",
            path: "/api/v1/whoami".into(),
            body: None,
            columns: &[],
        });
    }
    let resource = RESOURCES
        .iter()
        .find(|r| r.name == first)
        .with_context(|| format!("unknown resource {first:?}; `hamn admin help` lists them"))?;
    let (verb, rest) = rest
        .split_first()
        .context("missing verb (list, show, create, update, delete)")?;
    let item = |id: &str| resource.item.replace("{id}", &encode(id));
    let id_and_fields = |rest: &[String]| -> anyhow::Result<(String, Map<String, Value>)> {
        let (id, fields) = rest.split_first().context("missing ID")?;
        Ok((id.clone(), fields_of(fields)?))
    };
    let call = |method, path, body| Call {
        method,
        path,
        body,
        columns: resource.columns,
    };
    Ok(match verb.as_str() {
        "list" => {
            let mut fields = fields_of(rest)?;
            let path = collection(resource, &mut fields)?;
            let query: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(&scalar_text(v))))
                .collect();
            let path = if query.is_empty() {
                path
            } else {
                format!("{path}?{}", query.join("&"))
            };
            call("GET", path, None)
        }
        "show" => call("GET", item(&id_and_fields(rest)?.0), None),
        "delete" => call("DELETE", item(&id_and_fields(rest)?.0), None),
        "create" => {
            let mut fields = fields_of(rest)?;
            let path = collection(resource, &mut fields)?;
            call("POST", path, Some(Value::Object(fields)))
        }
        "update" => {
            let (id, fields) = id_and_fields(rest)?;
            call("PATCH", item(&id), Some(Value::Object(fields)))
        }
        "set-state" if resource.name == "hosts" => {
            let [id, state] = rest else {
                bail!("usage: hosts set-state ID active|drain|maintenance")
            };
            call(
                "PUT",
                format!("{}/state", item(id)),
                Some(serde_json::json!({ "state": state })),
            )
        }
        "add-update" if resource.name == "incidents" => {
            let (id, fields) = id_and_fields(rest)?;
            call(
                "POST",
                format!("{}/updates", item(&id)),
                Some(Value::Object(fields)),
            )
        }
        "members" if resource.name == "groups" => call(
            "GET",
            format!("{}/members", item(&id_and_fields(rest)?.0)),
            None,
        ),
        "add-member" | "remove-member" if resource.name == "groups" => {
            let [id, user] = rest else {
                bail!("usage: groups {verb} GROUP_ID USER_ID")
            };
            let method = if verb == "add-member" {
                "PUT"
            } else {
                "DELETE"
            };
            call(
                method,
                format!("{}/members/{}", item(id), encode(user)),
                None,
            )
        }
        "message" | "disconnect" | "logoff" if resource.name == "sessions" => {
            let (id, fields) = id_and_fields(rest)?;
            call(
                "POST",
                format!("{}/{verb}", item(&id)),
                Some(Value::Object(fields)),
            )
        }
        "copy-environment" if resource.name == "tenants" => {
            let (id, fields) = id_and_fields(rest)?;
            call(
                "POST",
                format!("{}/copy-environment", item(&id)),
                Some(Value::Object(fields)),
            )
        }
        "purge" if resource.name == "tenants" || resource.name == "users" => {
            let (id, fields) = id_and_fields(rest)?;
            if !fields.contains_key("confirm") {
                bail!(
                    "usage: {} purge ID confirm={} (names what is purged, so a wrong ID \
                     purges nothing)",
                    resource.name,
                    if resource.name == "users" {
                        "NAME_ID"
                    } else {
                        "SLUG"
                    }
                );
            }
            call(
                "POST",
                format!("{}/purge", item(&id)),
                Some(Value::Object(fields)),
            )
        }
        "end" if resource.name == "announcements" => call(
            "POST",
            format!("{}/end", item(&id_and_fields(rest)?.0)),
            None,
        ),
        "commands" if resource.name == "sessions" || resource.name == "hosts" => {
            let (id, fields) = id_and_fields(rest)?;
            let query: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(&scalar_text(v))))
                .collect();
            let path = format!("{}/commands", item(&id));
            let path = if query.is_empty() {
                path
            } else {
                format!("{path}?{}", query.join("&"))
            };
            Call {
                method: "GET",
                path,
                body: None,
                columns: &["id", "session_id", "kind", "state", "created_at", "outcome"],
            }
        }
        other => bail!("unknown verb {other:?} for {}", resource.name),
    })
}

fn collection(resource: &Resource, fields: &mut Map<String, Value>) -> anyhow::Result<String> {
    match resource.parent_field {
        None => Ok(resource.collection.to_owned()),
        Some(parent) => {
            let value = fields
                .remove(parent)
                .with_context(|| format!("{} needs {parent}=ID", resource.name))?;
            Ok(resource
                .collection
                .replace("{parent}", &encode(&scalar_text(&value))))
        }
    }
}

/// `a=b` is a string field, `a:=json` a raw JSON one.
fn fields_of(words: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut fields = Map::new();
    for word in words {
        if let Some((key, raw)) = word.split_once(":=") {
            let value =
                serde_json::from_str(raw).with_context(|| format!("{key}: {raw:?} is not JSON"))?;
            fields.insert(key.to_owned(), value);
        } else if let Some((key, value)) = word.split_once('=') {
            fields.insert(key.to_owned(), Value::String(value.to_owned()));
        } else {
            bail!("{word:?} is not field=value or field:=json");
        }
    }
    Ok(fields)
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn describe_problem(status: u16, problem: &Value) -> String {
    let title = problem["title"].as_str().unwrap_or("request failed");
    let mut line = format!("error {status}: {title}");
    if let Some(detail) = problem["detail"].as_str() {
        line.push_str(&format!(": {detail}"));
    }
    if let Some(errors) = problem["errors"].as_array() {
        for error in errors {
            let field = error["field"].as_str().unwrap_or("?");
            let reason = error["reason"].as_str().unwrap_or("?");
            line.push_str(&format!("\n  {field}: {reason}"));
        }
    }
    line
}

/// A list (`items`, or a bare array) as a table; anything else as `key  value` lines.
pub fn render(json: &Value, columns: &[&str]) -> String {
    let rows = json
        .get("items")
        .and_then(Value::as_array)
        .or_else(|| json.as_array());
    match rows {
        Some(rows) => table(rows, columns),
        None => match json.as_object() {
            Some(object) => {
                let width = object.keys().map(|k| k.chars().count()).max().unwrap_or(0);
                object
                    .iter()
                    .map(|(k, v)| format!("{k:<width$}  {}\n", cell(v)))
                    .collect()
            }
            None => format!("{}\n", cell(json)),
        },
    }
}

fn table(rows: &[Value], columns: &[&str]) -> String {
    let columns: Vec<&str> = columns
        .iter()
        .copied()
        .filter(|c| rows.iter().any(|r| r.get(*c).is_some()))
        .collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| row.get(*c).map(cell).unwrap_or_default())
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<String>| -> String {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v}{}", " ".repeat(w.saturating_sub(v.chars().count()))))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(columns.iter().map(|c| c.to_uppercase()).collect());
    for row in cells {
        out.push_str(&line(row));
    }
    out.push_str(&format!("({} rows)\n", rows.len()));
    out
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn pool_clipboard_policy_is_set_with_raw_json() {
        let Ok(call) = parse(&words(
            "pools update P1 clipboard_enabled:=false clipboard_max_bytes:=65536",
        )) else {
            panic!("parse")
        };
        assert_eq!(call.method, "PATCH");
        assert_eq!(call.path, "/api/v1/pools/P1");
        assert_eq!(
            call.body,
            Some(serde_json::json!({"clipboard_enabled": false, "clipboard_max_bytes": 65536}))
        );
    }

    #[test]
    fn data_operations_post_to_their_routes_and_purge_needs_confirm() {
        let Ok(call) = parse(&words(
            "tenants copy-environment T1 from=PROD to=UTB with_users:=true",
        )) else {
            panic!("parse")
        };
        assert_eq!(call.method, "POST");
        assert_eq!(call.path, "/api/v1/tenants/T1/copy-environment");
        assert_eq!(
            call.body,
            Some(serde_json::json!({"from": "PROD", "to": "UTB", "with_users": true}))
        );
        let Ok(call) = parse(&words("users purge U1 confirm=anna")) else {
            panic!("parse")
        };
        assert_eq!(call.path, "/api/v1/users/U1/purge");
        assert_eq!(call.body, Some(serde_json::json!({"confirm": "anna"})));
        assert!(parse(&words("tenants purge T1")).is_err());
        assert!(parse(&words("apps purge A1 confirm=x")).is_err());
    }

    #[test]
    fn fields_are_strings_or_raw_json() {
        let Ok(call) = parse(&words(
            "hosts create pool=P1 name=h1 port:=3389 address=10.0.0.1",
        )) else {
            panic!("parse")
        };
        assert_eq!(call.method, "POST");
        assert_eq!(call.path, "/api/v1/pools/P1/hosts");
        assert_eq!(
            call.body,
            Some(serde_json::json!({"name": "h1", "port": 3389, "address": "10.0.0.1"}))
        );
    }

    #[test]
    fn list_filters_become_an_encoded_query() {
        let Ok(call) = parse(&words("audit list action=tenant.create actor=a&b")) else {
            panic!("parse")
        };
        assert_eq!(call.path, "/api/v1/audit?action=tenant.create&actor=a%26b");
    }

    #[test]
    fn incident_updates_post_to_the_incident() {
        let call = parse(&words(
            "incidents add-update INC message=Löst state=resolved",
        ))
        .expect("parse");
        assert_eq!(call.method, "POST");
        assert_eq!(call.path, "/api/v1/incidents/INC/updates");
        assert_eq!(
            call.body,
            Some(serde_json::json!({"message": "Löst", "state": "resolved"}))
        );
        let call = parse(&words(
            "incidents create tenant=T title=Avbrott severity=outage message=x",
        ))
        .expect("parse");
        assert_eq!(
            (call.method, call.path.as_str()),
            ("POST", "/api/v1/tenants/T/incidents")
        );
        assert!(
            parse(&words("incidents create title=x")).is_err(),
            "needs tenant="
        );
    }

    #[test]
    fn session_actions_post_to_the_session() {
        let Ok(call) = parse(&words("sessions message S1 text=Spara sender=Driften")) else {
            panic!("parse")
        };
        assert_eq!(call.method, "POST");
        assert_eq!(call.path, "/api/v1/sessions/S1/message");
        assert_eq!(
            call.body,
            Some(serde_json::json!({"text": "Spara", "sender": "Driften"}))
        );
        let Ok(call) = parse(&words("sessions logoff S1")) else {
            panic!("parse")
        };
        assert_eq!(call.path, "/api/v1/sessions/S1/logoff");
        assert_eq!(call.body, Some(serde_json::json!({})));
        let Ok(call) = parse(&words("hosts commands H1 state=all")) else {
            panic!("parse")
        };
        assert_eq!(call.method, "GET");
        assert_eq!(call.path, "/api/v1/hosts/H1/commands?state=all");
    }

    #[test]
    fn announcements_are_a_tenant_resource_that_ends() {
        let Ok(call) = parse(&words(
            "announcements create tenant=T1 title=Hej ends_at=2030-01-01T00:00:00Z",
        )) else {
            panic!("parse")
        };
        assert_eq!(call.method, "POST");
        assert_eq!(call.path, "/api/v1/tenants/T1/announcements");
        assert_eq!(
            call.body,
            Some(serde_json::json!({"title": "Hej", "ends_at": "2030-01-01T00:00:00Z"}))
        );
        let Ok(call) = parse(&words("announcements end A1")) else {
            panic!("parse")
        };
        assert_eq!(
            (call.method, call.path.as_str()),
            ("POST", "/api/v1/announcements/A1/end")
        );
        assert_eq!(call.body, None);
    }

    #[test]
    fn mistakes_are_explained() {
        let message = |text: &str| {
            parse(&words(text))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(message("planets list").contains("unknown resource"));
        assert!(message("hosts list").contains("hosts needs pool=ID"));
        assert!(message("tenants create name").contains("is not field=value"));
        assert!(message("tenants explode").contains("unknown verb"));
        assert!(message("tenants create n:={").contains("is not JSON"));
    }

    #[test]
    fn tables_align_and_count() {
        let rows = serde_json::json!({"items": [
            {"id": "1", "slug": "demo", "name": "Demo kommun", "extra": true},
            {"id": "22", "slug": "å", "name": null}
        ]});
        expect_test::expect![[r#"
            ID  SLUG  NAME
            1   demo  Demo kommun
            22  å
            (2 rows)
        "#]]
        .assert_eq(&render(&rows, &["id", "slug", "name"]));
    }

    #[test]
    fn problems_show_each_field() {
        let problem = serde_json::json!({"title": "Invalid input", "status": 422,
            "errors": [{"field": "slug", "reason": "must not be empty"}]});
        assert_eq!(
            describe_problem(422, &problem),
            "error 422: Invalid input\n  slug: must not be empty"
        );
    }
}

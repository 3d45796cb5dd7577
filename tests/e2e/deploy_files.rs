//! The deployment files in `deploy/` and `docs/haproxy.cfg`, checked with the tools that
//! run here: `systemd-analyze verify` and `security --offline` on the units, a YAML parse
//! of the Kubernetes manifests whose probes are then asked of a running `hamn up`, its
//! ConfigMap through `hamn config check`, and `haproxy -c`. A tool that is not installed
//! skips its part with a line saying so; nothing else is skipped.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{HamnUp, TempDir, hamn_bin, repo};

/// The program's path, searched in PATH and the sbin directories (haproxy lives in
/// /usr/sbin, which a non-root PATH may lack).
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn units() -> Vec<PathBuf> {
    let mut units: Vec<PathBuf> = std::fs::read_dir(repo().join("deploy/systemd"))
        .expect("deploy/systemd")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "service"))
        .collect();
    units.sort();
    units
}

#[test]
fn systemd_units_verify_and_are_hardened() {
    let units = units();
    let names: Vec<_> = units
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "hamn-broker.service",
            "hamn-gateway.service",
            "hamn-print.service"
        ]
    );
    let scratch = TempDir::new("units");
    for unit in &units {
        let text = std::fs::read_to_string(unit).expect("read unit");
        for line in [
            "User=hamn",
            "ProtectSystem=strict",
            "ProtectHome=yes",
            "PrivateTmp=yes",
            "NoNewPrivileges=yes",
            "SystemCallFilter=@system-service",
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
            "ReadWritePaths=/var/lib/hamn",
        ] {
            assert!(text.lines().any(|l| l == line), "{unit:?} lacks {line}");
        }
        // Only the gateway binds a port below 1024.
        let caps = if unit.ends_with("hamn-gateway.service") {
            "CapabilityBoundingSet=CAP_NET_BIND_SERVICE"
        } else {
            "CapabilityBoundingSet="
        };
        assert!(text.lines().any(|l| l == caps), "{unit:?}: {caps}");
        // `systemctl reload` sends SIGHUP, which re-reads certificates and CRLs.
        assert!(
            text.lines()
                .any(|l| l == "ExecReload=/bin/kill -HUP $MAINPID"),
            "{unit:?}"
        );
        // verify checks that ExecStart names an executable: point it at this build.
        let copy = scratch.0.join(unit.file_name().expect("name"));
        std::fs::write(&copy, text.replace("/usr/local/bin/hamn", hamn_bin())).expect("copy");
    }
    let Some(analyze) = tool("systemd-analyze") else {
        eprintln!("SKIPPED: systemd-analyze is not installed; the units were not verified");
        return;
    };
    for unit in &units {
        let copy = scratch.0.join(unit.file_name().expect("name"));
        let verify = Command::new(&analyze)
            .arg("verify")
            .arg(&copy)
            .output()
            .expect("systemd-analyze verify");
        let stderr = String::from_utf8_lossy(&verify.stderr);
        // Unknown keys and groups are only warnings, so any output is a failure here.
        assert!(
            verify.status.success() && stderr.trim().is_empty(),
            "{unit:?}: {stderr}"
        );
        // Exposure 2.0 or lower ("OK" on systemd's scale of 0 to 10).
        let security = Command::new(&analyze)
            .args(["security", "--offline=yes", "--threshold=20"])
            .arg(&copy)
            .output()
            .expect("systemd-analyze security");
        assert!(
            security.status.success(),
            "{unit:?}: {}",
            String::from_utf8_lossy(&security.stdout)
        );
    }
}

/// The manifests as JSON, parsed by PyYAML (the one YAML parser this machine has).
fn manifests(python: &Path) -> Option<serde_json::Value> {
    let script = r#"
import glob, json, sys, yaml
docs = {}
for path in sorted(glob.glob(sys.argv[1] + "/*.yaml")):
    with open(path) as f:
        docs[path.rsplit("/", 1)[1]] = [d for d in yaml.safe_load_all(f) if d is not None]
print(json.dumps(docs))
"#;
    let output = Command::new(python)
        .args(["-c", script])
        .arg(repo().join("deploy/kubernetes"))
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No module named 'yaml'") {
        return None;
    }
    assert!(output.status.success(), "YAML parse failed: {stderr}");
    Some(serde_json::from_slice(&output.stdout).expect("JSON from the parse"))
}

fn kinds<'a>(docs: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    docs.as_object()
        .expect("files")
        .values()
        .flat_map(|d| d.as_array().expect("documents"))
        .filter(|d| d["kind"] == kind)
        .collect()
}

#[test]
fn kubernetes_manifests_parse_and_probe_real_routes() {
    let python = std::env::var("HAMN_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let Some(docs) = manifests(Path::new(&python)) else {
        eprintln!("SKIPPED: {python} has no PyYAML; the Kubernetes manifests were not checked");
        return;
    };
    let kustomization = &docs["kustomization.yaml"][0];
    let listed: BTreeSet<&str> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().expect("file"))
        .collect();
    for file in listed.iter() {
        assert!(docs.get(*file).is_some(), "kustomization lists {file}");
    }

    let secrets: BTreeSet<(String, String)> = kinds(&docs, "Secret")
        .iter()
        .flat_map(|s| {
            let name = s["metadata"]["name"].as_str().expect("name").to_owned();
            s["stringData"]
                .as_object()
                .expect("stringData")
                .keys()
                .map(move |k| (name.clone(), k.clone()))
        })
        .collect();
    let deployments = kinds(&docs, "Deployment");
    let pdbs = kinds(&docs, "PodDisruptionBudget");
    let services = kinds(&docs, "Service");
    assert_eq!(deployments.len(), 3);
    // (containerPort, path) of every probe, asked of hamn up below.
    let mut probes = BTreeSet::new();
    for deployment in &deployments {
        let name = deployment["metadata"]["name"].as_str().expect("name");
        let labels = &deployment["spec"]["template"]["metadata"]["labels"];
        let selector = &deployment["spec"]["selector"]["matchLabels"];
        for (key, value) in selector.as_object().expect("matchLabels") {
            assert_eq!(&labels[key], value, "{name}: selector matches its pods");
        }
        assert!(
            pdbs.iter()
                .any(|p| &p["spec"]["selector"]["matchLabels"] == selector),
            "{name} has a PodDisruptionBudget"
        );
        assert!(
            services.iter().any(|s| &s["spec"]["selector"] == selector),
            "{name} has a Service"
        );
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        for container in pod["containers"].as_array().expect("containers") {
            let security = &container["securityContext"];
            assert_eq!(security["readOnlyRootFilesystem"], true, "{name}");
            assert_eq!(security["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
            let ports = container["ports"].as_array().expect("ports");
            let port_of = |probe: &serde_json::Value| {
                let http = &probe["httpGet"];
                assert_eq!(http["scheme"], "HTTPS", "{name}");
                let port = ports
                    .iter()
                    .find(|p| p["name"] == http["port"])
                    .unwrap_or_else(|| panic!("{name}: probe port {}", http["port"]));
                let path = http["path"].as_str().expect("path").to_owned();
                (port["containerPort"].as_u64().expect("port"), path)
            };
            let liveness = port_of(&container["livenessProbe"]);
            assert_eq!(liveness.1, "/healthz", "{name}");
            let readiness = port_of(&container["readinessProbe"]);
            probes.insert(liveness);
            probes.insert(readiness);
            for env in container["env"].as_array().into_iter().flatten() {
                let key = &env["valueFrom"]["secretKeyRef"];
                if key.is_object() {
                    let pair = (
                        key["name"].as_str().expect("name").to_owned(),
                        key["key"].as_str().expect("key").to_owned(),
                    );
                    assert!(secrets.contains(&pair), "{name}: {pair:?} is documented");
                }
            }
        }
    }

    // The ConfigMap's hamn.toml is a valid configuration (the URL comes from a Secret).
    let config = kinds(&docs, "ConfigMap")[0]["data"]["hamn.toml"]
        .as_str()
        .expect("hamn.toml")
        .to_owned();
    let scratch = TempDir::new("k8s-config");
    let file = scratch.0.join("hamn.toml");
    std::fs::write(&file, config).expect("write hamn.toml");
    let check = Command::new(hamn_bin())
        .args(["config", "check"])
        .arg(&file)
        .env("HAMN_DATABASE__URL", "postgres://hamn@db.example.org/hamn")
        .output()
        .expect("hamn config check");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // Every probe is a route the service on that port answers 200 on.
    let up = HamnUp::start(&[]);
    for (port, path) in &probes {
        let local = match port {
            8443 => up.ports.gateway,
            8444 => up.ports.broker,
            8631 => up.ports.print,
            other => panic!("a probe on port {other}, which no Hamn service uses by default"),
        };
        let host = if *port == 8443 {
            "localhost"
        } else {
            "127.0.0.1"
        };
        let (status, body) = up.curl(&[], &format!("https://{host}:{local}{path}"));
        assert_eq!(status, 200, "{path} on {port}: {body}");
    }
    assert!(probes.iter().any(|(_, p)| p == "/readyz"), "{probes:?}");
}

#[test]
fn haproxy_example_is_valid() {
    let Some(haproxy) = tool("haproxy") else {
        eprintln!("SKIPPED: haproxy is not installed; docs/haproxy.cfg was not checked");
        return;
    };
    let output = Command::new(haproxy)
        .args(["-c", "-f"])
        .arg(repo().join("docs/haproxy.cfg"))
        .output()
        .expect("haproxy -c");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        !stderr.contains("[WARNING]") && !stderr.contains("[ALERT]"),
        "{stderr}"
    );
}

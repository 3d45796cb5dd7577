//! `hamn config check`: every broken example yields its one clear line and a non-zero exit;
//! the shipped example and demo files pass.

use std::process::Command;

use crate::support::{hamn_bin, repo};

fn check(path: &std::path::Path) -> (Option<i32>, String, String) {
    let output = Command::new(hamn_bin())
        .args(["config", "check"])
        .arg(path)
        .env_remove("RUST_LOG")
        .output()
        .expect("run hamn config check");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn shipped_configurations_pass() {
    for file in ["config/hamn.example.toml", "config/demo.toml"] {
        let (code, stdout, stderr) = check(&repo().join(file));
        assert_eq!(code, Some(0), "{file}: {stderr}");
        assert!(stdout.ends_with(": ok\n"), "{file}: {stdout}");
    }
}

#[test]
fn each_broken_example_yields_its_one_line() {
    let dir = repo().join("tests/fixtures/config");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures dir") {
        let path = entry.expect("dir entry").path();
        let text = std::fs::read_to_string(&path).expect("read fixture");
        let (code, _, stderr) = check(&path);
        assert_eq!(
            code,
            Some(2),
            "{}: exit code, stderr: {stderr}",
            path.display()
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{}: not one line: {stderr}", path.display());
        if let Some(expected) = text.lines().find_map(|l| l.strip_prefix("# expect: ")) {
            assert_eq!(lines[0], expected, "{}", path.display());
        } else if let Some(part) = text
            .lines()
            .find_map(|l| l.strip_prefix("# expect-contains: "))
        {
            assert!(
                lines[0].starts_with("config: ") && lines[0].contains(part),
                "{}: {}",
                path.display(),
                lines[0]
            );
        } else {
            panic!("{} states no expectation", path.display());
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} fixtures");
}

#[test]
fn environment_overrides_are_validated_too() {
    let output = Command::new(hamn_bin())
        .args(["config", "check"])
        .arg(repo().join("config/demo.toml"))
        .env("HAMN_GATEWAY__LISTEN", "nowhere")
        .output()
        .expect("run hamn config check");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("config: gateway.listen: \"nowhere\""),
        "{stderr}"
    );
}

#[test]
fn version_and_help_answer() {
    let version = Command::new(hamn_bin())
        .arg("--version")
        .output()
        .expect("hamn --version");
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("hamn "));
    let help = Command::new(hamn_bin())
        .arg("--help")
        .output()
        .expect("hamn --help");
    let help = String::from_utf8_lossy(&help.stdout);
    for command in [
        "up", "broker", "gateway", "print", "migrate", "certs", "config", "admin",
    ] {
        assert!(
            help.contains(&format!("  {command} ")),
            "--help lacks {command}: {help}"
        );
    }
}

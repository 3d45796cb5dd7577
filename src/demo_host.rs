//! The bundled demo app host as a child process of `hamn up`.
//!
//! The demo host builds on IronRDP's server crates, which live on another release train
//! than the gateway's client crates, so it is its own binary (`demo-host/`) rather than a
//! module here. This file finds it, starts it, and stops it with the rest of `hamn up`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::config::DemoHost;

const BINARY: &str = "hamn-demo-host";

/// A running demo host; stopped by [`RunningDemoHost::stop`] or, failing that, killed on drop.
pub struct RunningDemoHost {
    child: Child,
}

/// Where the demo host binary is: the configured command, beside `hamn`, or on PATH.
pub fn locate(configured: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = configured {
        return Ok(path.to_path_buf());
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(BINARY)))
        .filter(|candidate| candidate.is_file());
    if let Some(path) = beside {
        return Ok(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(BINARY))
            .find(|c| c.is_file())
    });
    on_path.with_context(|| {
        format!(
            "{BINARY} was not found beside hamn or on PATH; build it with \
             `cargo build --release --manifest-path demo-host/Cargo.toml` (./scripts/up does) \
             or set demo_host.command"
        )
    })
}

/// Starts the demo host and waits until it says it listens.
pub async fn start(
    demo: &DemoHost,
    tls: &hamn_certs::ServerCertFiles,
) -> anyhow::Result<RunningDemoHost> {
    let binary = locate(demo.command.as_deref())?;
    let mut child = Command::new(&binary)
        .arg("--listen")
        .arg(demo.listen.to_string())
        .arg("--cert")
        .arg(&tls.cert)
        .arg("--key")
        .arg(&tls.key)
        // Credentials travel in the environment: argv is visible to every local user.
        .env("HAMN_DEMO_HOST_USERNAME", &demo.username)
        .env("HAMN_DEMO_HOST_PASSWORD", &demo.password)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // Its log lines are re-emitted through our subscriber, so `--log-format json` holds
        // for everything `hamn up` writes.
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;

    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(target: "hamn_demo_host", "{line}");
            }
        });
    }
    let stdout = child.stdout.take().context("demo host stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await? {
            if line.contains("listening on") {
                return Ok(true);
            }
        }
        Ok::<_, std::io::Error>(false)
    })
    .await;
    match ready {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => bail!("the demo host exited before it listened"),
        Ok(Err(error)) => bail!("reading the demo host's output: {error}"),
        Err(_) => bail!("the demo host did not listen within 30 s"),
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::info!(target: "hamn_demo_host", "{line}");
        }
    });
    tracing::info!(addr = %demo.listen, "demo app host started");
    Ok(RunningDemoHost { child })
}

impl RunningDemoHost {
    /// Asks the demo host to stop (SIGTERM), then kills it if it lingers.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            // `kill` the command keeps this crate free of unsafe libc calls.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
        }
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!("demo host ignored SIGTERM; killing it");
            let _ = self.child.kill().await;
        }
    }
}

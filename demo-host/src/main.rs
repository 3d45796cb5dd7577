//! `hamn-demo-host`: Hamn's bundled demo app host — a real RDP server (IronRDP) showing a
//! small Procapita-like client register ("Klientregister") with Swedish data.
//!
//! ```text
//! HAMN_DEMO_HOST_USERNAME=demo HAMN_DEMO_HOST_PASSWORD=… \
//!   hamn-demo-host --listen 127.0.0.1:3390 --cert server.crt --key server.key \
//!                  [--width 1280 --height 800] [--security tls|nla]
//! ```
//!
//! Credentials come only from the environment and are never logged. When the listener is up
//! the host prints exactly one line, `hamn-demo-host listening on ADDR`, to stdout (with port 0
//! ADDR shows the port actually bound). SIGTERM or SIGINT stops it with exit code 0.
//! Logs go to stderr; `HAMN_DEMO_HOST_LOG=error|warn|info|debug` sets the level (default info).

mod app;
mod clipboard;
mod document;
mod keyboard;
mod layout;
mod printing;
mod rdp;
mod rdpdr;
mod render;
mod tls;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::rdp::{Account, HostConfig, Security};

const USAGE: &str = "\
usage: hamn-demo-host --cert FILE --key FILE [--listen ADDR] [--width N] [--height N] [--security tls|nla]

  --listen ADDR      address to listen on (default 127.0.0.1:3390; port 0 picks a free port)
  --cert FILE        PEM certificate chain, leaf first
  --key FILE         PEM private key (PKCS#8, PKCS#1 or SEC1)
  --width N          desktop width in pixels, multiple of 4, 800..=4096 (default 1280)
  --height N         desktop height in pixels, 600..=4096 (default 800)
  --security MODE    tls: TLS, credentials checked from the Client Info PDU (default)
                     nla: TLS + CredSSP/NTLM (Network Level Authentication)

environment:
  HAMN_DEMO_HOST_USERNAME   the only username accepted (required)
  HAMN_DEMO_HOST_PASSWORD   its password (required)
  HAMN_DEMO_HOST_LOG        log level: error, warn, info (default), debug
";

/// Parsed command line.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    listen: SocketAddr,
    cert: PathBuf,
    key: PathBuf,
    width: u16,
    height: u16,
    security: Security,
}

enum Parsed {
    Run(Args),
    Help,
    Version,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> anyhow::Result<Parsed> {
    let mut listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 3390));
    let mut cert = None;
    let mut key = None;
    let mut width: u16 = 1280;
    let mut height: u16 = 800;
    let mut security = Security::Tls;

    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        if name == "--help" || name == "-h" {
            return Ok(Parsed::Help);
        }
        if name == "--version" || name == "-V" {
            return Ok(Parsed::Version);
        }
        let mut value = || match inline.clone().or_else(|| args.next()) {
            Some(v) => Ok(v),
            None => bail!("{name} needs a value"),
        };
        match name.as_str() {
            "--listen" => {
                let v = value()?;
                listen = v
                    .parse()
                    .with_context(|| format!("--listen: `{v}` is not an address like 127.0.0.1:3390"))?;
            }
            "--cert" => cert = Some(PathBuf::from(value()?)),
            "--key" => key = Some(PathBuf::from(value()?)),
            "--width" => {
                let v = value()?;
                width = v
                    .parse()
                    .ok()
                    .filter(|w| (800..=4096).contains(w) && w % 4 == 0)
                    .with_context(|| format!("--width: `{v}` must be a multiple of 4 between 800 and 4096"))?;
            }
            "--height" => {
                let v = value()?;
                height = v
                    .parse()
                    .ok()
                    .filter(|h| (600..=4096).contains(h))
                    .with_context(|| format!("--height: `{v}` must be between 600 and 4096"))?;
            }
            "--security" => {
                security = match value()?.as_str() {
                    "tls" => Security::Tls,
                    "nla" => Security::Nla,
                    other => bail!("--security: `{other}` is not one of tls, nla"),
                }
            }
            other => bail!("unknown argument `{other}`"),
        }
    }

    Ok(Parsed::Run(Args {
        listen,
        cert: cert.context("--cert is required")?,
        key: key.context("--key is required")?,
        width,
        height,
        security,
    }))
}

fn account_from_env() -> anyhow::Result<Account> {
    let get = |name: &str| match std::env::var(name) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => bail!("environment variable {name} must be set (non-empty, UTF-8)"),
    };
    Ok(Account {
        username: get("HAMN_DEMO_HOST_USERNAME")?,
        password: get("HAMN_DEMO_HOST_PASSWORD")?,
    })
}

fn init_logging() {
    let level = match std::env::var("HAMN_DEMO_HOST_LOG").as_deref() {
        Ok("error") => tracing::Level::ERROR,
        Ok("warn") => tracing::Level::WARN,
        Ok("debug") => tracing::Level::DEBUG,
        Ok("trace") => tracing::Level::TRACE,
        _ => tracing::Level::INFO,
    };
    // IronRDP is chatty at info and below; keep its noise out unless asked for.
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("hamn_demo_host", level)
        .with_default(if level >= tracing::Level::DEBUG {
            level
        } else {
            tracing::Level::WARN
        });
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false),
        )
        .with(filter)
        .try_init();
}

async fn run(args: Args, account: Account) -> anyhow::Result<()> {
    let tls = tls::TlsIdentity::load(&args.cert, &args.key)?;
    let renderer = Arc::new(render::Renderer::new()?);
    let config = Arc::new(HostConfig {
        width: args.width,
        height: args.height,
        security: args.security,
        account,
        tls,
        renderer,
    });

    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let local = listener.local_addr().context("listener address")?;

    let mut stdout = std::io::stdout();
    writeln!(stdout, "hamn-demo-host listening on {local}").context("stdout")?;
    stdout.flush().context("stdout")?;
    tracing::info!(
        width = args.width,
        height = args.height,
        security = ?args.security,
        "serving the Procapita demo app"
    );

    loop {
        tokio::select! {
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let config = Arc::clone(&config);
                    // IronRDP's connection future is not Send: run it on this thread's LocalSet.
                    tokio::task::spawn_local(async move {
                        if let Err(error) = rdp::serve_connection(config, stream, peer).await {
                            tracing::warn!(%peer, error = format!("{error:#}"), "connection ended with an error");
                        }
                    });
                }
                Err(error) => {
                    // E.g. out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
        }
    }
    tracing::info!("shutting down");
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Version) => {
            println!("hamn-demo-host {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("hamn-demo-host: {error:#}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    init_logging();
    let account = match account_from_env() {
        Ok(a) => a,
        Err(error) => {
            eprintln!("hamn-demo-host: {error:#}");
            return ExitCode::from(2);
        }
    };

    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("hamn-demo-host: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&runtime, run(args, account));
    // Drop open connections, then don't wait on IronRDP's helper threads: exit promptly.
    drop(local);
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hamn-demo-host: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> anyhow::Result<Parsed> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_the_documented_command_line() {
        let Ok(Parsed::Run(a)) = parse(&[
            "--listen",
            "127.0.0.1:3390",
            "--cert",
            "s.crt",
            "--key",
            "s.key",
            "--width",
            "1024",
            "--height=768",
            "--security",
            "nla",
        ]) else {
            panic!("should parse");
        };
        assert_eq!(a.listen, SocketAddr::from(([127, 0, 0, 1], 3390)));
        assert_eq!((a.width, a.height, a.security), (1024, 768, Security::Nla));
        assert_eq!(a.cert, PathBuf::from("s.crt"));

        let Ok(Parsed::Run(a)) = parse(&["--cert", "c", "--key", "k"]) else {
            panic!("defaults")
        };
        assert_eq!((a.width, a.height, a.security), (1280, 800, Security::Tls));
        assert!(matches!(parse(&["--help"]), Ok(Parsed::Help)));
    }

    #[test]
    fn rejects_bad_arguments() {
        for bad in [
            &["--key", "k"][..],
            &["--cert", "c"],
            &["--cert", "c", "--key", "k", "--width", "1001"],
            &["--cert", "c", "--key", "k", "--height", "10"],
            &["--cert", "c", "--key", "k", "--listen", "nowhere"],
            &["--cert", "c", "--key", "k", "--security", "none"],
            &["--cert", "c", "--key", "k", "--password", "x"],
            &["--cert"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}

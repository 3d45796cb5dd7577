//! The command line: one binary, a subcommand per service or task.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "hamn",
    version,
    about = "Hamn: the access layer for hosted Windows applications",
    long_about = "Hamn stands in front of Remote Desktop host pools: a session broker, a \
                  gateway that streams sessions to browsers and native clients, and a print \
                  service. `hamn up` runs everything in one process on embedded defaults."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Options every service command shares.
#[derive(Debug, Clone, Args, Default)]
pub struct Common {
    /// Configuration file (TOML). Default: the embedded demo configuration.
    #[arg(long, short, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Keep all state (database, certificates) in DIR. Overrides `data_dir`.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log format: text or json. Overrides `log.format`.
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every service in one process (broker, gateway, print service, demo app host).
    Up(Common),
    /// Run the session broker and its admin API.
    Broker(Common),
    /// Run the gateway (portal, sessions).
    Gateway(Common),
    /// Run the print service.
    Print(Common),
    /// Apply database migrations and exit.
    Migrate(Common),
    /// Copy the SQLite database to FILE while the services run (verified, atomic).
    /// PostgreSQL is backed up with its own tools (docs/operations.md).
    Backup {
        /// Where to write the copy.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Dev certificates.
    Certs {
        #[command(subcommand)]
        command: CertsCommand,
    },
    /// Configuration files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage tenants, pools, hosts, apps and access through the admin API.
    Admin(crate::admin::AdminArgs),
    /// The audit trail in the configured database.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain from its anchor to its head and report the first broken link
    /// (an edited, deleted or reordered event). Exit code 0: intact; 2: tampered; 1: the
    /// check could not run.
    Verify(Common),
    /// Write audit events (newest first) to standard output as CSV or JSON lines, the
    /// format of the admin API's export, without its 50,000-event bound. The export is
    /// itself audited (`audit.export`).
    Export {
        /// csv or jsonl.
        #[arg(long, value_parser = ["csv", "jsonl"])]
        format: String,
        /// Events at or after this time (RFC 3339, e.g. 2026-01-01T00:00:00Z).
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Events before this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Write the dev PKI into DATA/certs (only files that are missing).
    Init {
        /// OCSP responder URL (http://…) to name in the test cards issued now, e.g. for
        /// `openssl ocsp -port` with DATA/certs/siths-ocsp.crt; cards then need its answer.
        #[arg(long, value_name = "URL")]
        siths_ocsp_url: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Revoke test SITHS card N (1 or 2): re-sign DATA/certs/siths-ca.crl with its serial.
    /// A running gateway refuses the card within seconds.
    RevokeCard {
        /// The test card's number.
        #[arg(value_parser = clap::value_parser!(u8).range(1..=2))]
        card: u8,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate FILE (with HAMN_… environment overrides): one line per problem.
    Check {
        /// The configuration file to check.
        file: PathBuf,
    },
}

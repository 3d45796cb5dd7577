//! The `hamn` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use hamn::cli::{AuditCommand, CertsCommand, Cli, Command, Common, ConfigCommand};
use hamn::services::{self, Which};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Config {
            command: ConfigCommand::Check { file },
        } => match services::check_file(&file) {
            Ok(_) => {
                println!("{}: ok", file.display());
                ExitCode::SUCCESS
            }
            Err(problems) => config_problems(&problems),
        },
        Command::Up(common) => serve(&common, Which::All),
        Command::Broker(common) => serve(&common, Which::Broker),
        Command::Gateway(common) => serve(&common, Which::Gateway),
        Command::Print(common) => serve(&common, Which::Print),
        Command::Audit {
            command: AuditCommand::Verify(common),
        } => with_runtime_code(&common, |settings| async move {
            services::audit_verify(&settings).await
        }),
        Command::Audit {
            command:
                AuditCommand::Export {
                    format,
                    from,
                    to,
                    common,
                },
        } => with_runtime(&common, |settings| async move {
            services::audit_export(&settings, &format, from.as_deref(), to.as_deref()).await
        }),
        Command::Migrate(common) => with_runtime(&common, |settings| async move {
            services::migrate(&settings).await?.close().await;
            println!("migrations applied");
            Ok(())
        }),
        Command::Backup { to, force, common } => with_runtime(&common, |settings| async move {
            let report = services::backup(&settings, &to, force).await?;
            println!(
                "backup written to {} ({} bytes, migration {}, {} tenants, verified)",
                report.path.display(),
                report.bytes,
                report.migration_version,
                report.tenants
            );
            Ok(())
        }),
        Command::Certs {
            command:
                CertsCommand::Init {
                    siths_ocsp_url,
                    common,
                },
        } => with_runtime(&common, |settings| async move {
            let options = hamn_certs::pki::DevPkiOptions { siths_ocsp_url };
            let pki = services::init_certs_with(&settings, &options)?;
            println!("dev certificates in {}", pki.paths.dir.display());
            Ok(())
        }),
        Command::Certs {
            command: CertsCommand::RevokeCard { card, common },
        } => with_runtime(&common, |settings| async move {
            let pki = services::init_certs(&settings)?;
            pki.revoke_siths_card(card)?;
            println!(
                "test card {card} revoked in {}",
                pki.paths.siths_crl().display()
            );
            Ok(())
        }),
        Command::Admin(args) => hamn::admin::main(args),
    }
}

fn config_problems(problems: &[String]) -> ExitCode {
    for problem in problems {
        eprintln!("config: {problem}");
    }
    ExitCode::from(2)
}

fn serve(common: &Common, which: Which) -> ExitCode {
    with_runtime(common, |settings| services::run(settings, which))
}

fn with_runtime<F, Fut>(common: &Common, body: F) -> ExitCode
where
    F: FnOnce(hamn::config::Settings) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    with_runtime_code(common, |settings| async move {
        body(settings).await.map(|()| ExitCode::SUCCESS)
    })
}

/// [`with_runtime`] for commands whose success has several exit codes.
fn with_runtime_code<F, Fut>(common: &Common, body: F) -> ExitCode
where
    F: FnOnce(hamn::config::Settings) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<ExitCode>>,
{
    let settings = match services::load_settings(common) {
        Ok(settings) => settings,
        Err(problems) => return config_problems(&problems),
    };
    hamn::logging::init(settings.log_format, &settings.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hamn: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(body(settings)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("hamn: {error:#}");
            ExitCode::FAILURE
        }
    }
}

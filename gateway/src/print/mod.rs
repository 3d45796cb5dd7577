//! Printing from browser sessions: the gateway's side of the RDPDR printer
//! ([`crate::rdp::printer`]) that reaches the print service. [`forward`] streams each job as
//! an IPP Print-Job to `{gateway.print_url}/ipp/print/{token}`, the same endpoint hosts
//! print to, so there is one way in; [`ipp`] is the sans-IO message code. The finished PDF
//! comes back to the browser as a broker command (`PrintReady`/`PrintRefused`), which the
//! session task turns into the wire's `PrintNotice`.

pub mod forward;
pub mod ipp;

use std::sync::Arc;

use hamn_broker::db::Database;
use hamn_broker::model::{HostPool, PrintDriver};
use uuid::Uuid;

pub use forward::{IppForwarder, PrintClientConfig};

use crate::rdp::printer::{PrinterDriver, PrinterParams};

/// The printer a session on `pool` gets: `None` when the pool has printers off or the
/// forwarder cannot be built (logged; the session goes on without a printer).
pub fn printer_for(
    pool: &HostPool,
    config: Option<&Arc<PrintClientConfig>>,
    database: &Database,
    session_id: Uuid,
    job_name: &str,
) -> Option<PrinterParams> {
    let config = config?;
    if !pool.printers_enabled {
        return None;
    }
    let forwarder = match IppForwarder::new(
        database.clone(),
        session_id,
        config.clone(),
        job_name.to_owned(),
    ) {
        Ok(forwarder) => forwarder,
        Err(error) => {
            tracing::warn!(%error, "no printer for this session");
            return None;
        }
    };
    Some(PrinterParams {
        name: config.printer_name.clone(),
        driver: match pool.print_driver {
            PrintDriver::Pdf => PrinterDriver::Pdf,
            PrintDriver::PostScript => PrinterDriver::PostScript,
        },
        jobs: Arc::new(forwarder),
        tap: None,
    })
}

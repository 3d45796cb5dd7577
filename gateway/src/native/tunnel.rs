//! MS-TSGU over the websocket: drives the sans-IO tunnel state machine (`crate::rdg`).
//! Until the codec lands, the endpoint closes the websocket at once.

use std::sync::Arc;

use super::Ws;
use crate::session::SessionService;

pub(super) async fn serve(
    mut socket: Ws,
    _service: Arc<SessionService>,
    _bearer: Option<String>,
    _source: Option<String>,
) {
    let _ = socket.close(None).await;
}

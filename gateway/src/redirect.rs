//! The only plaintext listener Hamn has: it answers every request with a permanent
//! redirect to the HTTPS portal and serves nothing else.

use axum::Router;
use axum::http::Uri;
use axum::response::Redirect;
use tokio_util::sync::CancellationToken;

/// Serves redirects to `public_url` (keeping path and query) until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    public_url: String,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let base = public_url.trim_end_matches('/').to_owned();
    let app = Router::new().fallback(move |uri: Uri| {
        let target = format!(
            "{base}{}",
            uri.path_and_query().map_or("/", |pq| pq.as_str())
        );
        async move { Redirect::permanent(&target) }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

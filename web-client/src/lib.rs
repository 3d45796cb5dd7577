//! The browser client: static ES modules, styles and pages embedded in the binary and
//! served by whichever listener hosts the portal.
//!
//! Files are compiled in with `include_dir!`, so a deployed `hamn` needs nothing beside it
//! and the portal can never drift from the binary that serves it.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use include_dir::{Dir, include_dir};

static STATIC: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/static");

/// Routes for the portal's static files: `/` is the landing page, `/admin` the admin
/// console, `/static/*` the assets.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { asset("index.html") }))
        .route("/admin", get(|| async { asset("admin.html") }))
        .route(
            "/static/{*path}",
            get(|Path(path): Path<String>| async move { asset(&path) }),
        )
}

/// The embedded file at `path`, or `None`; exposed so tests can check what ships.
pub fn embedded(path: &str) -> Option<&'static [u8]> {
    STATIC.get_file(path).map(|file| file.contents())
}

fn asset(path: &str) -> Response {
    // include_dir never holds `..` components, so a hostile path can only miss.
    let Some(body) = embedded(path) else {
        return (StatusCode::NOT_FOUND, "Sidan finns inte.").into_response();
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landing_page_is_swedish_and_links_its_assets() {
        let index = std::str::from_utf8(embedded("index.html").unwrap_or_default()).unwrap_or("");
        assert!(index.contains("<html lang=\"sv\">"));
        for asset in ["static/portal.css", "static/portal.js"] {
            assert!(index.contains(asset), "index.html does not link {asset}");
            let file = asset.trim_start_matches("static/");
            assert!(
                embedded(file).is_some(),
                "{file} is linked but not embedded"
            );
        }
        // The portal's CSP allows no inline scripts or styles.
        assert!(!index.contains("<style"), "inline style element");
        assert!(!index.contains("style=\""), "inline style attribute");
        assert_eq!(
            index.matches("<script").count(),
            index.matches("<script type=\"module\" src=").count(),
            "inline script"
        );
        let portal = std::str::from_utf8(embedded("portal.js").unwrap_or_default()).unwrap_or("");
        assert!(
            portal.contains("from \"./portal-api.js\"") && embedded("portal-api.js").is_some(),
            "the portal uses portal-api.js"
        );
    }

    #[test]
    fn session_viewer_links_its_assets_and_has_nothing_inline() {
        let page = std::str::from_utf8(embedded("session.html").unwrap_or_default()).unwrap_or("");
        assert!(page.contains("<html lang=\"sv\">"));
        assert!(
            page.contains("id=\"screen\""),
            "the canvas id tests rely on"
        );
        for asset in ["static/viewer.css", "static/viewer.js"] {
            assert!(page.contains(asset), "session.html does not link {asset}");
            let file = asset.trim_start_matches("static/");
            assert!(
                embedded(file).is_some(),
                "{file} is linked but not embedded"
            );
        }
        // The portal's CSP allows no inline scripts or styles.
        assert!(!page.contains("<style"), "inline style element");
        assert!(!page.contains("style=\""), "inline style attribute");
        assert_eq!(
            page.matches("<script").count(),
            page.matches("<script type=\"module\" src=").count(),
            "inline script"
        );
        let viewer = std::str::from_utf8(embedded("viewer.js").unwrap_or_default()).unwrap_or("");
        assert!(
            viewer.contains("from \"./wire.js\""),
            "the viewer uses wire.js"
        );
    }

    #[test]
    fn content_types_cover_the_shipped_files() {
        for file in STATIC.files() {
            let path = file.path().to_string_lossy();
            assert_ne!(content_type(&path), "application/octet-stream", "{path}");
        }
    }
}

//! The HTTP side of the native endpoints, sans-IO: which transport a request asks for, the
//! websocket handshake answer, and the plain-text refusals of the transports Hamn does not
//! speak.
//!
//! RD Gateway clients open `/remoteDesktopGateway/` with the method `RDG_OUT_DATA` and
//! `Upgrade: websocket` (FreeRDP 2.11 and 3, mstsc). Neither axum's nor tungstenite's
//! upgrade helpers accept a method other than GET, and FreeRDP 2.11 sends a 15-character
//! `Sec-WebSocket-Key` (RFC 6455 wants 16 bytes in base64); both clients check only that
//! `Sec-WebSocket-Accept` is the SHA-1 of the key *as sent*, so the handshake is done here,
//! on the key's text, for any method.

use axum::http::header::{CONNECTION, CONTENT_TYPE, SEC_WEBSOCKET_ACCEPT, UPGRADE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// The longest `Sec-WebSocket-Key` accepted (a standard key is 24 characters).
const MAX_KEY_LEN: usize = 64;
/// The longest bearer token looked at (a reference is 24 characters).
const MAX_BEARER_LEN: usize = 512;

/// What a request to a native endpoint asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A websocket upgrade: the key to answer and a bearer token when one was sent.
    Websocket { key: String, bearer: Option<String> },
    /// An HTTP transport Hamn does not speak; answer with [`not_supported`].
    Unsupported(Unsupported),
}

/// The transports that are refused, each with its own plain-text answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsupported {
    /// `RDG_IN_DATA`/`RDG_OUT_DATA` without a websocket upgrade: the legacy two-connection
    /// HTTP transport.
    LegacyHttp,
    /// `RPC_IN_DATA`/`RPC_OUT_DATA`: RPC over HTTP (the oldest RD Gateway transport).
    RpcOverHttp,
    /// Any other method, or a websocket request without a key.
    NotAGatewayRequest,
}

/// Reads `method` and `headers` of a request to `/remoteDesktopGateway/` (`rdg`) or to the
/// FreeRDP websocket endpoint (`!rdg`, GET only).
pub fn classify(method: &Method, headers: &HeaderMap, rdg: bool) -> Request {
    let name = method.as_str();
    if name.eq_ignore_ascii_case("RPC_IN_DATA") || name.eq_ignore_ascii_case("RPC_OUT_DATA") {
        return Request::Unsupported(Unsupported::RpcOverHttp);
    }
    let rdg_method =
        name.eq_ignore_ascii_case("RDG_OUT_DATA") || name.eq_ignore_ascii_case("RDG_IN_DATA");
    let allowed = if rdg {
        rdg_method
    } else {
        method == Method::GET
    };
    if !allowed {
        return Request::Unsupported(if rdg_method {
            Unsupported::LegacyHttp
        } else {
            Unsupported::NotAGatewayRequest
        });
    }
    if !wants_websocket(headers) {
        return Request::Unsupported(if rdg {
            Unsupported::LegacyHttp
        } else {
            Unsupported::NotAGatewayRequest
        });
    }
    match websocket_key(headers) {
        Some(key) => Request::Websocket {
            key,
            bearer: bearer(headers),
        },
        None => Request::Unsupported(Unsupported::NotAGatewayRequest),
    }
}

/// `Upgrade: websocket` and a `Connection` header naming `upgrade`.
fn wants_websocket(headers: &HeaderMap) -> bool {
    let upgrade = headers
        .get_all(UPGRADE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("websocket"))
        });
    let connection = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("upgrade"))
        });
    upgrade && connection
}

/// The key as sent (any printable ASCII, bounded); clients check the answer against it.
fn websocket_key(headers: &HeaderMap) -> Option<String> {
    let key = headers.get("sec-websocket-key")?.to_str().ok()?.trim();
    (!key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| key.to_owned())
}

/// The token of `Authorization: Bearer <token>` (FreeRDP 3's `bearer:` option).
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= MAX_BEARER_LEN)
        .then(|| token.to_owned())
}

/// `Sec-WebSocket-Accept` for `key` as sent: base64(SHA-1(key ‖ RFC 6455 GUID)).
pub fn accept_key(key: &str) -> String {
    tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes())
}

/// The 101 answer that completes the upgrade.
pub fn switching_protocols(key: &str) -> Response {
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&accept_key(key)) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// The status and plain-text body for a transport Hamn does not speak. The texts are for
/// administrators reading a client's log, so they are in English and name the fix.
pub fn not_supported(what: Unsupported) -> Response {
    let (status, text) = match what {
        Unsupported::LegacyHttp => (
            // 426: the resource exists, but only over a websocket upgrade.
            StatusCode::UPGRADE_REQUIRED,
            "This RD Gateway supports only the websocket transport: the legacy HTTP \
             transport (RDG_IN_DATA/RDG_OUT_DATA without Upgrade: websocket) is not \
             supported. Use a client that upgrades to a websocket (mstsc, the Windows App, \
             FreeRDP 2.11 or newer without no-websockets).\n",
        ),
        Unsupported::RpcOverHttp => (
            StatusCode::NOT_IMPLEMENTED,
            "This RD Gateway does not support RPC over HTTP (RPC_IN_DATA/RPC_OUT_DATA). Use \
             the HTTP transport with websockets: FreeRDP /gt:http, mstsc and the Windows App \
             choose it by themselves.\n",
        ),
        Unsupported::NotAGatewayRequest => (
            StatusCode::BAD_REQUEST,
            "Not an RD Gateway request: expected RDG_OUT_DATA with Upgrade: websocket \
             (or, on /wst/, GET with Upgrade: websocket and Authorization: Bearer).\n",
        ),
    };
    plain(status, text)
}

/// A plain-text answer.
pub fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = (status, text).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if status == StatusCode::UPGRADE_REQUIRED {
        response
            .headers_mut()
            .insert(UPGRADE, HeaderValue::from_static("websocket"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn method(name: &str) -> Method {
        Method::from_bytes(name.as_bytes()).unwrap()
    }

    const FREERDP_2_11: &[(&str, &str)] = &[
        ("Cache-Control", "no-cache"),
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-Websocket-Version", "13"),
        ("Sec-Websocket-Key", "ABCDEFGHIJKLMNO"),
        (
            "RDG-Connection-Id",
            "{1b4f2c1e-0000-4000-8000-000000000000}",
        ),
        ("RDG-Auth-Scheme", "PAA"),
        ("Content-Length", "0"),
    ];

    #[test]
    fn freerdp_2_11s_short_key_is_answered_as_sent() {
        let request = classify(&method("RDG_OUT_DATA"), &headers(FREERDP_2_11), true);
        assert_eq!(
            request,
            Request::Websocket {
                key: "ABCDEFGHIJKLMNO".into(),
                bearer: None
            }
        );
        // RFC 6455's example, to pin the formula.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        let response = switching_protocols("ABCDEFGHIJKLMNO");
        assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
        assert_eq!(
            response.headers()[SEC_WEBSOCKET_ACCEPT],
            accept_key("ABCDEFGHIJKLMNO").as_str()
        );
    }

    #[test]
    fn the_bearer_variant_carries_its_token() {
        let mut pairs = FREERDP_2_11.to_vec();
        pairs.push(("Authorization", "Bearer AAAAAAAAAAAAAAAAAAAAAAAA"));
        let request = classify(&method("RDG_OUT_DATA"), &headers(&pairs), true);
        assert!(matches!(
            request,
            Request::Websocket { bearer: Some(ref b), .. } if b == "AAAAAAAAAAAAAAAAAAAAAAAA"
        ));
        assert_eq!(bearer(&headers(&[("Authorization", "Basic abc")])), None);
        assert_eq!(bearer(&headers(&[("Authorization", "Bearer ")])), None);
    }

    #[test]
    fn legacy_rpc_and_other_requests_are_refused_by_kind() {
        let legacy = headers(&[("Connection", "Keep-Alive"), ("Content-Length", "0")]);
        for m in ["RDG_OUT_DATA", "RDG_IN_DATA"] {
            assert_eq!(
                classify(&method(m), &legacy, true),
                Request::Unsupported(Unsupported::LegacyHttp)
            );
        }
        for m in ["RPC_IN_DATA", "RPC_OUT_DATA"] {
            assert_eq!(
                classify(&method(m), &headers(FREERDP_2_11), true),
                Request::Unsupported(Unsupported::RpcOverHttp)
            );
        }
        assert_eq!(
            classify(&Method::GET, &headers(FREERDP_2_11), true),
            Request::Unsupported(Unsupported::NotAGatewayRequest)
        );
        assert_eq!(
            classify(&method("RDG_OUT_DATA"), &headers(FREERDP_2_11), false),
            Request::Unsupported(Unsupported::LegacyHttp)
        );
        let no_key = headers(&[("Connection", "Upgrade"), ("Upgrade", "websocket")]);
        assert_eq!(
            classify(&Method::GET, &no_key, false),
            Request::Unsupported(Unsupported::NotAGatewayRequest)
        );
        let long_key = "A".repeat(MAX_KEY_LEN + 1);
        let long = headers(&[
            ("Connection", "keep-alive, Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Key", &long_key),
        ]);
        assert_eq!(
            classify(&Method::GET, &long, false),
            Request::Unsupported(Unsupported::NotAGatewayRequest)
        );
        assert_eq!(
            not_supported(Unsupported::LegacyHttp).status(),
            StatusCode::UPGRADE_REQUIRED
        );
        assert_eq!(
            not_supported(Unsupported::RpcOverHttp).status(),
            StatusCode::NOT_IMPLEMENTED
        );
    }
}

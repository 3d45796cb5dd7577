//! One synthetic user's portal: an HTTPS connection to a gateway (hyper's HTTP/1.1 client
//! over our own rustls, as a browser keeps one alive), the demo login, the web-session
//! cookie and CSRF token sent back as the portal page does, launches on both paths.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::http::{Method, Request, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::Tls;

/// Longest answer body read (an `.rdp` file or a small JSON document).
const MAX_BODY: usize = 64 * 1024;

/// A logged-in (or not yet) user at one gateway.
pub struct Portal {
    tls: Tls,
    port: u16,
    origin: String,
    send: SendRequest<Full<Bytes>>,
    cookie: Option<String>,
    csrf: Option<String>,
}

/// An answer: status and body text (UTF-8, or UTF-16LE after a byte-order mark, as
/// `.rdp` files are written).
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    fn json(&self, what: &str) -> anyhow::Result<serde_json::Value> {
        if self.status != 200 {
            bail!("{what}: HTTP {} {}", self.status, truncate(&self.body));
        }
        serde_json::from_str(&self.body).with_context(|| format!("{what}: answer is not JSON"))
    }
}

fn truncate(text: &str) -> &str {
    let end = text.char_indices().nth(300).map_or(text.len(), |(i, _)| i);
    &text[..end]
}

impl Portal {
    /// Connects to the gateway at `port` on loopback (its certificate names `localhost`).
    pub async fn connect(tls: &Tls, port: u16) -> anyhow::Result<Portal> {
        Ok(Portal {
            tls: tls.clone(),
            port,
            origin: format!("https://localhost:{port}"),
            send: Self::open(tls, port).await?,
            cookie: None,
            csrf: None,
        })
    }

    async fn open(tls: &Tls, port: u16) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .context("connecting to the gateway")?;
        tcp.set_nodelay(true)?;
        let name = rustls_pki_types::ServerName::try_from("localhost")?;
        let stream = TlsConnector::from(Arc::clone(&tls.http))
            .connect(name, tcp)
            .await
            .context("TLS to the gateway")?;
        let (send, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(send)
    }

    async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<Answer> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.origin.trim_start_matches("https://"))
            .header(header::ORIGIN, &self.origin)
            .header(header::ACCEPT_LANGUAGE, "sv-SE");
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        let bytes = match body {
            Some(value) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Bytes::from(value.to_string())
            }
            None => Bytes::new(),
        };
        // The gateway closes a keep-alive connection left idle while the user works in
        // the session; a browser opens a new one, and so do we.
        if self.send.is_closed() || self.send.ready().await.is_err() {
            self.send = Self::open(&self.tls, self.port)
                .await
                .context("reconnecting to the gateway")?;
            self.send.ready().await.context("the connection closed")?;
        }
        let response = self
            .send
            .send_request(request.body(Full::new(bytes))?)
            .await
            .with_context(|| format!("{path}: no answer"))?;
        let status = response.status().as_u16();
        for value in response.headers().get_all(header::SET_COOKIE) {
            if let Some(pair) = value.to_str().ok().and_then(session_cookie) {
                self.cookie = Some(pair.to_owned());
            }
        }
        let body = http_body_util::Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("{path}: reading the answer: {e}"))?
            .to_bytes();
        Ok(Answer {
            status,
            body: text(&body),
        })
    }

    /// The status of `GET path` (`/readyz`).
    pub async fn status(&mut self, path: &str) -> anyhow::Result<u16> {
        Ok(self.request(Method::GET, path, None).await?.status)
    }

    /// `POST /portal/api/demo-login`; keeps the cookie and CSRF token.
    pub async fn login(&mut self, username: &str) -> anyhow::Result<()> {
        let answer = self
            .request(
                Method::POST,
                "/portal/api/demo-login",
                Some(serde_json::json!({ "username": username })),
            )
            .await?;
        let me = answer.json("login")?;
        let csrf = me["csrf_token"].as_str().context("login: no csrf_token")?;
        self.csrf = Some(csrf.to_owned());
        if self.cookie.is_none() {
            bail!("login: no session cookie");
        }
        Ok(())
    }

    /// The first PROD app of `GET /portal/api/apps`.
    pub async fn first_app(&mut self) -> anyhow::Result<String> {
        let apps = self
            .request(Method::GET, "/portal/api/apps", None)
            .await?
            .json("apps")?;
        apps["environments"]
            .as_array()
            .and_then(|envs| {
                envs.iter()
                    .filter(|e| e["kind"] == "PROD" || e["kind"] == "prod")
                    .chain(envs.iter())
                    .find_map(|e| e["apps"][0]["id"].as_str())
            })
            .map(str::to_owned)
            .context("the user has no app")
    }

    /// `POST /portal/api/launch`: the browser ticket and the session id.
    pub async fn launch(&mut self, app: &str) -> anyhow::Result<(String, String)> {
        let launched = self
            .request(
                Method::POST,
                "/portal/api/launch",
                Some(serde_json::json!({ "app_id": app })),
            )
            .await?
            .json("launch")?;
        let url = launched["viewer_url"]
            .as_str()
            .context("launch: no viewer_url")?;
        let ticket = url
            .split_once("#ticket=")
            // The fragment goes on with `&app=…` (the viewer's relaunch).
            .and_then(|(_, t)| t.split('&').next())
            .map(str::to_owned)
            .context("launch: no ticket in the viewer URL")?;
        let session = launched["session_id"]
            .as_str()
            .context("launch: no session_id")?
            .to_owned();
        Ok((ticket, session))
    }

    /// `POST /portal/api/apps/{id}/rdp`: the `.rdp` file's launch reference.
    pub async fn native_reference(&mut self, app: &str) -> anyhow::Result<String> {
        let answer = self
            .request(
                Method::POST,
                &format!("/portal/api/apps/{app}/rdp"),
                Some(serde_json::json!({})),
            )
            .await?;
        if answer.status != 200 {
            bail!(
                "rdp file: HTTP {} {}",
                answer.status,
                truncate(&answer.body)
            );
        }
        rdp_access_token(&answer.body)
            .map(str::to_owned)
            .context("the .rdp file has no gatewayaccesstoken")
    }

    /// `POST /portal/api/sessions/{id}/logoff`.
    pub async fn logoff(&mut self, session: &str) -> anyhow::Result<()> {
        let answer = self
            .request(
                Method::POST,
                &format!("/portal/api/sessions/{session}/logoff"),
                Some(serde_json::json!({})),
            )
            .await?;
        if !(200..300).contains(&answer.status) {
            bail!("logoff: HTTP {} {}", answer.status, truncate(&answer.body));
        }
        Ok(())
    }

    /// `POST /portal/api/logout`.
    pub async fn logout(&mut self) -> anyhow::Result<()> {
        let answer = self
            .request(
                Method::POST,
                "/portal/api/logout",
                Some(serde_json::json!({})),
            )
            .await?;
        if !(200..300).contains(&answer.status) {
            bail!("logout: HTTP {} {}", answer.status, truncate(&answer.body));
        }
        self.cookie = None;
        self.csrf = None;
        Ok(())
    }
}

/// Body bytes as text: UTF-16LE after its byte-order mark, else UTF-8 (lossy both).
fn text(body: &[u8]) -> String {
    match body.strip_prefix(&[0xff, 0xfe]) {
        Some(utf16) => {
            let units: Vec<u16> = utf16
                .chunks_exact(2)
                .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        None => String::from_utf8_lossy(body).into_owned(),
    }
}

/// `name=value` of the web-session cookie in a `Set-Cookie` header, unless it clears it.
fn session_cookie(set_cookie: &str) -> Option<&str> {
    let pair = set_cookie.split(';').next()?.trim();
    let (name, value) = pair.split_once('=')?;
    (name == "__Host-hamn_session" && !value.is_empty()).then_some(pair)
}

/// The `gatewayaccesstoken:s:` value of an `.rdp` file.
fn rdp_access_token(rdp: &str) -> Option<&str> {
    rdp.lines()
        .find_map(|l| l.trim().strip_prefix("gatewayaccesstoken:s:"))
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_taken_and_a_clearing_one_ignored() {
        assert_eq!(
            session_cookie("__Host-hamn_session=abc; Path=/; Secure; HttpOnly"),
            Some("__Host-hamn_session=abc")
        );
        assert_eq!(session_cookie("__Host-hamn_session=; Max-Age=0"), None);
        assert_eq!(session_cookie("other=abc; Path=/"), None);
        assert_eq!(session_cookie("garbage"), None);
        assert_eq!(session_cookie(""), None);
    }

    #[test]
    fn utf16_bodies_with_a_bom_are_decoded() {
        let mut bytes = vec![0xff, 0xfe];
        bytes.extend(
            "gatewayaccesstoken:s:Åb\r\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        assert_eq!(text(&bytes), "gatewayaccesstoken:s:Åb\r\n");
        // An odd trailing byte is dropped, not a panic.
        assert_eq!(text(&[0xff, 0xfe, 0x41, 0x00, 0x42]), "A");
        assert_eq!(text(b"{\"a\":1}"), "{\"a\":1}");
        assert_eq!(text(&[0xc3]), "\u{fffd}");
    }

    #[test]
    fn the_access_token_is_read_from_the_rdp_file() {
        let rdp = "full address:s:host\r\ngatewayaccesstoken:s:AAAA\r\nscreen mode id:i:2\r\n";
        assert_eq!(rdp_access_token(rdp), Some("AAAA"));
        assert_eq!(rdp_access_token("gatewayaccesstoken:s:\r\n"), None);
        assert_eq!(rdp_access_token("\u{0}\u{ff}"), None);
    }
}

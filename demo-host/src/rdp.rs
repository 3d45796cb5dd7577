//! The RDP edge: one `ironrdp_server::RdpServer` per accepted connection, each with its own
//! application session.
//!
//! Input events from IronRDP are translated ([`crate::keyboard`]) and fed to the [`App`];
//! the damage it reports is redrawn ([`Renderer::draw_damage`]) and sent as bitmap updates of
//! just those rectangles. The first update of every (re)activation is the full frame.
//! Bitmaps are sent without lossy codecs so colours arrive exactly. Ctrl+C and Ctrl+V go to
//! the session's clipboard ([`crate::clipboard`]) instead of the app; the app's print effect
//! goes to the session's redirected printer ([`crate::printing`]).

use core::num::{NonZeroU16, NonZeroUsize};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use anyhow::Context as _;
use bytes::Bytes;
use ironrdp_pdu::rdp::capability_sets::BitmapCodecs;
use ironrdp_server::{
    BitmapUpdate, CredentialDecision, CredentialValidationError, CredentialValidator, Credentials, DesktopSize,
    DisplayUpdate, KeyboardEvent, MouseEvent, PixelFormat, RdpServer, RdpServerDisplay, RdpServerDisplayUpdates,
    RdpServerInputHandler,
};
use tokio::sync::mpsc;

use crate::app::{App, Damage, Effect, Event, Key, PrintOutcome, STATUS_COPIED};
use crate::clipboard::{ClipboardFactory, ClipboardLink};
use crate::keyboard::{KeyInput, KeyboardState};
use crate::layout::Rect;
use crate::printing::{PrinterFactory, PrinterLink};
use crate::render::{Canvas, Renderer};

/// How the RDP security layer is negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS; the client's credentials arrive in the Client Info PDU and are checked there.
    Tls,
    /// TLS + CredSSP (NLA, NTLM); the credentials are checked before the session starts.
    Nla,
}

/// The one account the demo host accepts.
#[derive(Clone)]
pub struct Account {
    pub username: String,
    pub password: String,
}

impl core::fmt::Debug for Account {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Account")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Everything needed to serve connections; shared by all of them.
pub struct HostConfig {
    pub width: u16,
    pub height: u16,
    pub security: Security,
    pub account: Account,
    pub tls: crate::tls::TlsIdentity,
    pub renderer: Arc<Renderer>,
}

/// Compares without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Accepts exactly the configured username and password (the domain is ignored; usernames
/// compare case-insensitively like Windows accounts).
struct AccountValidator(Account);

#[async_trait::async_trait]
impl CredentialValidator for AccountValidator {
    async fn validate(&self, credentials: &Credentials) -> Result<CredentialDecision, CredentialValidationError> {
        let user_ok = credentials.username.to_lowercase() == self.0.username.to_lowercase();
        let password_ok = constant_time_eq(credentials.password.as_bytes(), self.0.password.as_bytes());
        if user_ok && password_ok {
            Ok(CredentialDecision::Accept)
        } else {
            tracing::warn!(username = %credentials.username, "login refused: wrong username or password");
            Ok(CredentialDecision::Reject)
        }
    }
}

/// One connection's application, framebuffer, outgoing update queue and clipboard.
pub struct Session {
    app: App,
    canvas: Canvas,
    keyboard: KeyboardState,
    renderer: Arc<Renderer>,
    updates: Option<mpsc::UnboundedSender<DisplayUpdate>>,
    pub(crate) clipboard: ClipboardLink,
    pub(crate) printer: PrinterLink,
}

pub type SharedSession = Arc<Mutex<Session>>;

pub fn lock(session: &SharedSession) -> MutexGuard<'_, Session> {
    // A panic while holding the lock would be a bug; keep serving the last good state.
    session.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Session {
    fn new(width: u16, height: u16, renderer: Arc<Renderer>) -> Self {
        let app = App::new(width, height);
        let mut canvas = Canvas::new(width, height);
        renderer.draw_all(&mut canvas, &app);
        Self {
            app,
            canvas,
            keyboard: KeyboardState::new(),
            renderer,
            updates: None,
            clipboard: ClipboardLink::default(),
            printer: PrinterLink::default(),
        }
    }

    fn apply(&mut self, event: Event) {
        let damage = match event {
            Event::Key(Key::Copy) => self.copy(),
            Event::Key(Key::Paste) => self.paste(),
            other => self.app.handle(other),
        };
        self.redraw(&damage);
        for effect in self.app.take_effects() {
            match effect {
                Effect::Print(client) => {
                    if let Err(outcome) = self.printer.print(&client, SystemTime::now(), Instant::now()) {
                        self.print_finished(outcome);
                    }
                }
            }
        }
    }

    /// How a print job ended (or why it never started).
    pub(crate) fn print_finished(&mut self, outcome: PrintOutcome) {
        let damage = self.app.print_finished(outcome);
        self.redraw(&damage);
    }

    /// Ctrl+C in a field: its text becomes the clipboard.
    fn copy(&mut self) -> Damage {
        let Some(text) = self.app.focused_text().map(str::to_owned) else {
            return Damage::default();
        };
        let status = self.clipboard.copy(text).err().unwrap_or(STATUS_COPIED);
        self.app.show_status(status)
    }

    /// Ctrl+V in a field: ask the client for its text; [`Self::pasted`] inserts it.
    fn paste(&mut self) -> Damage {
        if self.app.focus().is_none() {
            return Damage::default();
        }
        match self.clipboard.request_paste() {
            Ok(()) => Damage::default(),
            Err(status) => self.app.show_status(status),
        }
    }

    /// The client's clipboard text arrived for a paste.
    pub(crate) fn pasted(&mut self, text: &str) {
        let damage = self.app.paste(text);
        self.redraw(&damage);
    }

    fn redraw(&mut self, damage: &Damage) {
        if damage.is_empty() {
            return;
        }
        let rects = self.renderer.draw_damage(&mut self.canvas, &self.app, damage);
        for rect in rects {
            self.send(rect);
        }
    }

    /// Queues a bitmap update of `rect`, widened to a multiple of 4 pixels (the RDP 6.0 bitmap
    /// encoder needs that) and clipped to the screen.
    fn send(&mut self, rect: Rect) {
        let Some(tx) = &self.updates else { return };
        let bounds = self.canvas.bounds();
        let x = rect.x & !3;
        let width = (rect.right() - x).div_ceil(4) * 4;
        let rect = Rect::new(x, rect.y, width, rect.height).intersect(&bounds);
        // ironrdp-server 0.13 diffs each update into 64-pixel tiles and re-slices the update
        // per tile; a tile narrower than its update then loses its last row and arrives
        // shifted up by one row (a bitmap client sees a one-pixel tear). Updates at most one
        // tile wide keep every slice whole.
        // The full screen goes whole: it is what ironrdp-server keeps to diff against.
        let strip_limit = if rect == bounds { rect.width } else { DIFF_TILE };
        let mut strip_x = rect.x;
        while strip_x < rect.right() {
            let strip_width = (rect.right() - strip_x).min(strip_limit);
            let strip = Rect::new(strip_x, rect.y, strip_width, rect.height);
            strip_x += strip_width;
            let Some(update) = bitmap_update(&self.canvas, strip) else {
                continue;
            };
            if tx.send(DisplayUpdate::Bitmap(update)).is_err() {
                self.updates = None;
                return;
            }
        }
    }
}

/// The tile size ironrdp-server's update differ works in.
const DIFF_TILE: u32 = 64;

fn bitmap_update(canvas: &Canvas, rect: Rect) -> Option<BitmapUpdate> {
    let width = NonZeroU16::new(u16::try_from(rect.width).ok()?)?;
    let height = NonZeroU16::new(u16::try_from(rect.height).ok()?)?;
    let stride = NonZeroUsize::new(usize::from(width.get()) * 4)?;
    Some(BitmapUpdate {
        x: u16::try_from(rect.x).ok()?,
        y: u16::try_from(rect.y).ok()?,
        width,
        height,
        format: PixelFormat::BgrX32,
        data: Bytes::from(canvas.crop(rect)),
        stride,
    })
}

struct InputHandler(SharedSession);

impl RdpServerInputHandler for InputHandler {
    fn keyboard(&mut self, event: KeyboardEvent) {
        let input = match event {
            KeyboardEvent::Pressed { code, extended } => KeyInput::Scancode {
                code,
                extended,
                pressed: true,
            },
            KeyboardEvent::Released { code, extended } => KeyInput::Scancode {
                code,
                extended,
                pressed: false,
            },
            KeyboardEvent::UnicodePressed(code) => KeyInput::Unicode { code, pressed: true },
            KeyboardEvent::UnicodeReleased(code) => KeyInput::Unicode { code, pressed: false },
            KeyboardEvent::Synchronize(flags) => KeyInput::Sync {
                caps_lock: flags.contains(ironrdp_pdu::input::fast_path::SynchronizeFlags::CAPS_LOCK),
            },
        };
        let mut session = lock(&self.0);
        if let Some(event) = session.keyboard.handle(input) {
            session.apply(event);
        }
    }

    fn mouse(&mut self, event: MouseEvent) {
        let event = match event {
            MouseEvent::Move { x, y } => Event::PointerMoved { x, y },
            MouseEvent::LeftPressed => Event::PrimaryDown,
            _ => return,
        };
        lock(&self.0).apply(event);
    }
}

struct Display {
    session: SharedSession,
    size: DesktopSize,
}

struct DisplayUpdates(mpsc::UnboundedReceiver<DisplayUpdate>);

#[async_trait::async_trait]
impl RdpServerDisplayUpdates for DisplayUpdates {
    async fn next_update(&mut self) -> anyhow::Result<Option<DisplayUpdate>> {
        Ok(self.0.recv().await)
    }
}

#[async_trait::async_trait]
impl RdpServerDisplay for Display {
    async fn size(&mut self) -> DesktopSize {
        self.size
    }

    async fn updates(&mut self) -> anyhow::Result<Box<dyn RdpServerDisplayUpdates>> {
        // Called at every (re)activation: start a fresh queue with the whole screen.
        let (tx, rx) = mpsc::unbounded_channel();
        let mut session = lock(&self.session);
        session.updates = Some(tx);
        let full = session.canvas.bounds();
        session.send(full);
        Ok(Box::new(DisplayUpdates(rx)))
    }
}

/// Builds the server for one connection, with a fresh application session.
fn server_for_connection(config: &HostConfig, local: SocketAddr) -> RdpServer {
    let session = Arc::new(Mutex::new(Session::new(
        config.width,
        config.height,
        Arc::clone(&config.renderer),
    )));
    let display = Display {
        session: Arc::clone(&session),
        size: DesktopSize {
            width: config.width,
            height: config.height,
        },
    };
    let builder = RdpServer::builder().with_addr(local);
    let builder = match config.security {
        Security::Tls => builder.with_tls(config.tls.acceptor.clone()),
        Security::Nla => builder.with_hybrid(config.tls.acceptor.clone(), config.tls.public_key.clone()),
    };
    let mut server = builder
        .with_input_handler(InputHandler(Arc::clone(&session)))
        .with_display_handler(display)
        // No RemoteFX/QOI: lossless bitmaps only, so colours arrive exactly.
        .with_bitmap_codecs(BitmapCodecs(Vec::new()))
        .with_credential_validator(Some(Arc::new(AccountValidator(config.account.clone()))))
        .with_cliprdr_factory(Some(Box::new(ClipboardFactory::new(Arc::clone(&session)))))
        .build();
    server.set_static_channel_factory(Some(Box::new(PrinterFactory::new(Arc::clone(&session)))));
    if config.security == Security::Nla {
        // CredSSP/NTLM needs the password itself to verify the client's proof.
        server.set_credentials(Some(Credentials {
            username: config.account.username.clone(),
            password: config.account.password.clone(),
            domain: None,
        }));
    }
    server
}

/// Serves one accepted TCP connection until the client leaves.
pub async fn serve_connection(
    config: Arc<HostConfig>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
) -> anyhow::Result<()> {
    let local = stream.local_addr().context("local address")?;
    let mut server = server_for_connection(&config, local);
    tracing::info!(%peer, "connection opened");
    let result = server.run_connection(stream).await;
    tracing::info!(%peer, ok = result.is_ok(), "connection closed");
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdpdr::tests::{completion, fixture, io_request, write_body};

    fn session() -> Session {
        Session::new(1280, 800, Arc::new(Renderer::new().unwrap()))
    }

    #[test]
    fn activation_sends_the_full_frame_then_only_damage() {
        let mut s = session();
        let (tx, mut rx) = mpsc::unbounded_channel();
        s.updates = Some(tx);
        s.send(s.canvas.bounds());
        let Some(DisplayUpdate::Bitmap(full)) = rx.try_recv().ok() else {
            panic!("no full frame")
        };
        assert_eq!((full.x, full.y, full.width.get(), full.height.get()), (0, 0, 1280, 800));
        assert_eq!(full.data.len(), 1280 * 800 * 4);

        let field = s.app.layout().fields[1];
        s.apply(Event::PointerMoved {
            x: u16::try_from(field.x + 4).unwrap(),
            y: u16::try_from(field.y + 4).unwrap(),
        });
        assert!(rx.try_recv().is_err(), "moving the pointer draws nothing");
        s.apply(Event::PrimaryDown);
        let mut strips = Vec::new();
        while let Ok(DisplayUpdate::Bitmap(update)) = rx.try_recv() {
            strips.push(update);
        }
        assert!(strips.len() > 1, "a field wider than one diff tile goes as strips");
        let mut next_x = u32::from(strips[0].x);
        assert!(next_x <= field.x && next_x % 4 == 0);
        for strip in &strips {
            assert_eq!(u32::from(strip.x), next_x, "strips are contiguous");
            assert_eq!(u32::from(strip.y), field.y);
            assert!(strip.width.get() <= 64 && strip.width.get() % 4 == 0);
            assert_eq!(
                strip.data.len(),
                usize::from(strip.width.get()) * usize::from(strip.height.get()) * 4
            );
            next_x += u32::from(strip.width.get());
        }
        assert!(next_x >= field.right(), "the strips cover the field");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn validator_checks_username_and_password() {
        let v = AccountValidator(Account {
            username: "demo".into(),
            password: "hemligt".into(),
        });
        let creds = |u: &str, p: &str, d: Option<&str>| Credentials {
            username: u.into(),
            password: p.into(),
            domain: d.map(Into::into),
        };
        assert_eq!(
            v.validate(&creds("demo", "hemligt", None)).await.unwrap(),
            CredentialDecision::Accept
        );
        assert_eq!(
            v.validate(&creds("DEMO", "hemligt", Some("X"))).await.unwrap(),
            CredentialDecision::Accept
        );
        assert_eq!(
            v.validate(&creds("demo", "Hemligt", None)).await.unwrap(),
            CredentialDecision::Reject
        );
        assert_eq!(
            v.validate(&creds("demo", "", None)).await.unwrap(),
            CredentialDecision::Reject
        );
        assert_eq!(
            v.validate(&creds("other", "hemligt", None)).await.unwrap(),
            CredentialDecision::Reject
        );
    }

    /// A session whose client joined rdpdr: the channel IronRDP would run, and the receiver of
    /// the server events the session sends.
    fn session_with_rdpdr() -> (
        SharedSession,
        Box<dyn ironrdp_svc::SvcProcessor>,
        mpsc::UnboundedReceiver<ironrdp_server::ServerEvent>,
    ) {
        use ironrdp_server::{ServerEventSender as _, StaticChannelServerFactory as _};
        let shared = Arc::new(Mutex::new(session()));
        let mut factory = PrinterFactory::new(Arc::clone(&shared));
        let (tx, rx) = mpsc::unbounded_channel();
        factory.set_sender(tx);
        let mut channel = factory.build_static_channel();
        assert_eq!(channel.start().unwrap().len(), 1, "Server Announce");
        for pdu in [
            "client_announce_reply.bin",
            "client_name.bin",
            "client_capabilities.bin",
        ] {
            channel.process(&fixture(pdu)).unwrap();
        }
        (shared, channel, rx)
    }

    fn press_skriv_ut(shared: &SharedSession) {
        let button = lock(shared).app.layout().buttons[2];
        let (x, y) = (
            u16::try_from(button.x + 5).unwrap(),
            u16::try_from(button.y + 5).unwrap(),
        );
        lock(shared).apply(Event::PointerMoved { x, y });
        lock(shared).apply(Event::PrimaryDown);
    }

    fn bytes(message: &ironrdp_svc::SvcMessage) -> Vec<u8> {
        message.encode_unframed_pdu().unwrap()
    }

    #[test]
    fn skriv_ut_writes_the_record_to_the_first_printer_and_says_where() {
        let (shared, mut channel, mut rx) = session_with_rdpdr();
        for devices in ["device_list_pdf_printer.bin", "device_list_ps_printer.bin"] {
            channel.process(&fixture(devices)).unwrap();
        }
        press_skriv_ut(&shared);
        assert_eq!(lock(&shared).app.status(), crate::app::STATUS_PRINTING);
        let Ok(ironrdp_server::ServerEvent::StaticChannel(create)) = rx.try_recv() else {
            panic!("no Create request")
        };
        let mut next = bytes(&create[0]);
        let mut document = Vec::new();
        loop {
            let request = io_request(&next);
            assert_eq!(request.device_id, 1, "the first printer");
            let body = match request.major {
                crate::rdpdr::pdu::IRP_MJ_CREATE => vec![5, 0, 0, 0],
                crate::rdpdr::pdu::IRP_MJ_WRITE => {
                    let data = write_body(&request.body).1;
                    document.extend_from_slice(data);
                    u32::try_from(data.len()).unwrap().to_le_bytes().to_vec()
                }
                _ => Vec::new(),
            };
            let answer = completion(1, request.completion_id, 0, &body);
            let mut reply = channel.process(&answer).unwrap();
            if request.major == crate::rdpdr::pdu::IRP_MJ_CLOSE {
                assert!(reply.is_empty());
                break;
            }
            next = bytes(&reply.remove(0));
        }
        assert!(document.starts_with(b"%PDF-1.4\n"), "Microsoft Print to PDF gets PDF");
        assert!(document.ends_with(b"%%EOF\n"));
        assert_eq!(lock(&shared).app.status(), "Utskrift skickad till Hamn PDF");
    }

    #[test]
    fn skriv_ut_without_a_printer_or_rdpdr_says_no_printer_is_connected() {
        let (shared, _channel, mut rx) = session_with_rdpdr();
        press_skriv_ut(&shared);
        assert_eq!(lock(&shared).app.status(), crate::app::STATUS_NO_PRINTER);
        assert!(rx.try_recv().is_err(), "nothing sent");

        let mut plain = session();
        let button = plain.app.layout().buttons[2];
        plain.apply(Event::PointerMoved {
            x: u16::try_from(button.x + 5).unwrap(),
            y: u16::try_from(button.y + 5).unwrap(),
        });
        plain.apply(Event::PrimaryDown);
        assert_eq!(
            plain.app.status(),
            crate::app::STATUS_NO_PRINTER,
            "client without rdpdr"
        );
    }

    #[test]
    fn a_job_the_client_fails_says_printing_failed() {
        let (shared, mut channel, mut rx) = session_with_rdpdr();
        channel.process(&fixture("device_list_ps_printer.bin")).unwrap();
        press_skriv_ut(&shared);
        let Ok(ironrdp_server::ServerEvent::StaticChannel(create)) = rx.try_recv() else {
            panic!("no Create request")
        };
        let create = io_request(&bytes(&create[0]));
        press_skriv_ut(&shared);
        assert_eq!(lock(&shared).app.status(), crate::app::STATUS_PRINT_BUSY);
        const STATUS_ACCESS_DENIED: u32 = 0xC000_0022;
        let reply = channel
            .process(&completion(3, create.completion_id, STATUS_ACCESS_DENIED, &[]))
            .unwrap();
        assert!(reply.is_empty());
        assert_eq!(lock(&shared).app.status(), crate::app::STATUS_PRINT_FAILED);
    }

    #[test]
    fn a_stalled_job_is_given_up_when_skriv_ut_is_pressed_again() {
        let (shared, mut channel, mut rx) = session_with_rdpdr();
        channel.process(&fixture("device_list_pdf_printer.bin")).unwrap();
        let client = crate::app::demo_clients()[0].clone();
        let start = Instant::now();
        let mut s = lock(&shared);
        assert_eq!(s.printer.print(&client, SystemTime::now(), start), Ok(()));
        let later = start + crate::printing::STALLED_JOB / 2;
        assert_eq!(
            s.printer.print(&client, SystemTime::now(), later),
            Err(PrintOutcome::Busy)
        );
        let stalled = start + crate::printing::STALLED_JOB;
        assert_eq!(s.printer.print(&client, SystemTime::now(), stalled), Ok(()));
        drop(s);
        let mut creates = Vec::new();
        while let Ok(ironrdp_server::ServerEvent::StaticChannel(messages)) = rx.try_recv() {
            creates.push(io_request(&bytes(&messages[0])));
        }
        assert_eq!(creates.len(), 2);
        assert_ne!(creates[0].completion_id, creates[1].completion_id);
        // The abandoned job's late answer is ignored; the new one goes on.
        let late = completion(1, creates[0].completion_id, 0, &[1, 0, 0, 0]);
        assert!(channel.process(&late).unwrap().is_empty());
        let answer = completion(1, creates[1].completion_id, 0, &[2, 0, 0, 0]);
        assert_eq!(channel.process(&answer).unwrap().len(), 1, "the first Write");
    }

    #[test]
    fn a_malformed_rdpdr_pdu_is_ignored_not_fatal() {
        let (_shared, mut channel, _rx) = session_with_rdpdr();
        assert!(channel.process(&fixture("bad_device_count.bin")).unwrap().is_empty());
        assert_eq!(
            channel.process(&fixture("device_list_pdf_printer.bin")).unwrap().len(),
            1
        );
    }

    #[test]
    fn account_debug_hides_the_password() {
        let a = Account {
            username: "demo".into(),
            password: "hemligt".into(),
        };
        assert!(!format!("{a:?}").contains("hemligt"));
    }
}

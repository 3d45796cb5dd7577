//! The wire protocol codec from outside: property round-trips, snapshots of hand-written
//! binary fixtures, the cross-language fixtures the browser's `wire.js` tests decode, and
//! those node tests themselves, so `cargo test` covers both implementations.

use std::path::{Path, PathBuf};
use std::process::Command;

use expect_test::{Expect, expect};
use hamn_gateway::wire::{
    self, Capabilities, ClientHello, ClientMessage, ClientStream, CloseCode, CopyRect, CursorShape,
    Limits, MouseButton, PrintOutcome, Scancode, ServerHello, ServerMessage, ServerStream,
    StatusCode, Tile, TileEncoding, decode_client, decode_server, encode_client, encode_server,
    scancode,
};
use proptest::prelude::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

// ---------------------------------------------------------------- property tests

fn dim() -> impl Strategy<Value = u16> {
    1..=wire::MAX_DIMENSION
}

fn pos() -> impl Strategy<Value = u16> {
    0..wire::MAX_DIMENSION
}

/// A rectangle inside the largest screen.
fn rect() -> impl Strategy<Value = [u16; 4]> {
    (dim(), dim()).prop_flat_map(|(w, h)| {
        (
            0..=wire::MAX_DIMENSION - w,
            0..=wire::MAX_DIMENSION - h,
            Just(w),
            Just(h),
        )
            .prop_map(|(x, y, w, h)| [x, y, w, h])
    })
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..32).prop_map(move |chars| {
        let mut s = String::new();
        for c in chars {
            if s.len() + c.len_utf8() > max {
                break;
            }
            s.push(c);
        }
        s
    })
}

fn server_message() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        (
            any::<u16>(),
            any::<[u8; 16]>(),
            dim(),
            dim(),
            proptest::collection::vec(any::<u8>(), 0..=wire::MAX_RESUME_TOKEN),
            any::<u32>()
        )
            .prop_map(|(version, session_id, width, height, resume_token, caps)| {
                ServerMessage::ServerHello(ServerHello {
                    version,
                    session_id,
                    width,
                    height,
                    resume_token,
                    capabilities: Capabilities(caps),
                })
            }),
        (
            rect(),
            proptest::sample::select(TileEncoding::ALL.to_vec()),
            proptest::collection::vec(any::<u8>(), 1..256)
        )
            .prop_map(|([x, y, w, h], encoding, data)| {
                ServerMessage::Tile(Tile {
                    x,
                    y,
                    w,
                    h,
                    encoding,
                    data,
                })
            }),
        (rect(), rect()).prop_map(|([src_x, src_y, w, h], [dst_x, dst_y, ..])| {
            // Keep the destination inside: shift it back where it would overflow.
            let dst_x = dst_x.min(wire::MAX_DIMENSION - w);
            let dst_y = dst_y.min(wire::MAX_DIMENSION - h);
            ServerMessage::CopyRect(CopyRect {
                src_x,
                src_y,
                w,
                h,
                dst_x,
                dst_y,
            })
        }),
        any::<u32>().prop_map(|frame_id| ServerMessage::FrameEnd { frame_id }),
        (any::<u16>(), 1..=16u16, 1..=16u16)
            .prop_flat_map(|(id, w, h)| (
                Just(id),
                Just(w),
                Just(h),
                0..w,
                0..h,
                proptest::collection::vec(any::<u8>(), usize::from(w) * usize::from(h) * 4)
            ))
            .prop_map(|(id, w, h, hotspot_x, hotspot_y, rgba)| {
                ServerMessage::CursorShape(CursorShape {
                    id,
                    hotspot_x,
                    hotspot_y,
                    w,
                    h,
                    rgba,
                })
            }),
        any::<u16>().prop_map(|id| ServerMessage::CursorCached { id }),
        (pos(), pos()).prop_map(|(x, y)| ServerMessage::CursorPosition { x, y }),
        Just(ServerMessage::CursorHidden),
        text(4096).prop_map(ServerMessage::ClipboardText),
        (dim(), dim()).prop_map(|(width, height)| ServerMessage::Resized { width, height }),
        (
            proptest::sample::select(StatusCode::ALL.to_vec()),
            any::<u16>(),
            text(wire::MAX_DETAIL)
        )
            .prop_map(|(code, seconds, detail)| ServerMessage::Status {
                code,
                seconds,
                detail
            }),
        (
            proptest::sample::select(CloseCode::ALL.to_vec()),
            text(wire::MAX_DETAIL)
        )
            .prop_map(|(code, reason)| ServerMessage::Close { code, reason }),
        any::<u32>().prop_map(|timestamp| ServerMessage::Pong { timestamp }),
        (text(wire::MAX_MESSAGE_SENDER), text(wire::MAX_MESSAGE_TEXT))
            .prop_map(|(sender, text)| ServerMessage::AdminMessage { sender, text }),
        (
            any::<[u8; 16]>(),
            text(wire::MAX_PRINT_TITLE),
            any::<u32>(),
            "[a-z0-9_]{1,63}",
            any::<bool>()
        )
            .prop_map(|(job_id, title, pages, reason, ready)| {
                ServerMessage::PrintNotice {
                    job_id,
                    title,
                    outcome: if ready {
                        PrintOutcome::Ready { pages }
                    } else {
                        PrintOutcome::Refused { reason }
                    },
                }
            }),
    ]
}

fn layout_hint() -> impl Strategy<Value = String> {
    let allowed: Vec<char> = ('a'..='z')
        .chain('A'..='Z')
        .chain('0'..='9')
        .chain(['-'])
        .collect();
    proptest::collection::vec(proptest::sample::select(allowed), 0..=wire::MAX_LAYOUT_HINT)
        .prop_map(String::from_iter)
}

fn client_message() -> impl Strategy<Value = ClientMessage> {
    let scancodes: Vec<Scancode> = scancode::CODE_TABLE.iter().map(|&(_, sc)| sc).collect();
    prop_oneof![
        (
            any::<u16>(),
            dim(),
            dim(),
            wire::MIN_SCALE_PERCENT..=wire::MAX_SCALE_PERCENT,
            proptest::option::of(proptest::collection::vec(
                any::<u8>(),
                1..=wire::MAX_RESUME_TOKEN
            )),
            layout_hint()
        )
            .prop_map(
                |(version, width, height, scale_percent, resume_token, keyboard_layout)| {
                    ClientMessage::ClientHello(ClientHello {
                        version,
                        width,
                        height,
                        scale_percent,
                        resume_token,
                        keyboard_layout,
                    })
                }
            ),
        (proptest::sample::select(scancodes), any::<bool>())
            .prop_map(|(scancode, down)| ClientMessage::KeyScancode { scancode, down }),
        (
            any::<char>().prop_filter("NUL is not a key", |c| *c != '\0'),
            any::<bool>()
        )
            .prop_map(|(ch, down)| ClientMessage::KeyUnicode { ch, down }),
        (pos(), pos()).prop_map(|(x, y)| ClientMessage::MouseMove { x, y }),
        (
            proptest::sample::select(MouseButton::ALL.to_vec()),
            any::<bool>(),
            pos(),
            pos()
        )
            .prop_map(|(button, down, x, y)| ClientMessage::MouseButton {
                button,
                down,
                x,
                y
            }),
        (any::<i16>(), any::<i16>())
            .prop_map(|(delta_x, delta_y)| ClientMessage::MouseWheel { delta_x, delta_y }),
        any::<u32>().prop_map(|frame_id| ClientMessage::FrameAck { frame_id }),
        (dim(), dim()).prop_map(|(width, height)| ClientMessage::ResizeRequest { width, height }),
        text(4096).prop_map(ClientMessage::ClipboardText),
        Just(ClientMessage::ReleaseAllKeys),
        any::<u32>().prop_map(|timestamp| ClientMessage::Ping { timestamp }),
    ]
}

proptest! {
    #[test]
    fn server_messages_round_trip(message in server_message()) {
        let bytes = encode_server(&message);
        prop_assert_eq!(decode_server(&bytes, &Limits::default()), Ok(message));
    }

    #[test]
    fn client_messages_round_trip(message in client_message()) {
        let bytes = encode_client(&message);
        prop_assert_eq!(decode_client(&bytes, &Limits::default()), Ok(message));
    }

    /// Arbitrary bytes give a message or a typed error, never a panic; and whatever
    /// decodes re-encodes to the same bytes (one encoding per message).
    #[test]
    fn arbitrary_client_bytes_are_safe(
        message_type in 0x80u8..=0x8C,
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = vec![message_type];
        bytes.extend(body);
        if let Ok(message) = decode_client(&bytes, &Limits::default()) {
            prop_assert_eq!(encode_client(&message), bytes);
        }
    }

    #[test]
    fn arbitrary_server_bytes_are_safe(
        message_type in 0x00u8..=0x0F,
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = vec![message_type];
        bytes.extend(body);
        if let Ok(message) = decode_server(&bytes, &Limits::default()) {
            prop_assert_eq!(encode_server(&message), bytes);
        }
    }
}

// ---------------------------------------------------------------- binary fixture snapshots

fn fixture(name: &str) -> Vec<u8> {
    let path = repo()
        .join("gateway/tests/fixtures/wire")
        .join(format!("{name}.bin"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check_client(name: &str, expect: Expect) {
    expect.assert_debug_eq(&decode_client(&fixture(name), &Limits::default()));
}

fn check_server(name: &str, expect: Expect) {
    expect.assert_debug_eq(&decode_server(&fixture(name), &Limits::default()));
}

#[test]
fn fixture_snapshots() {
    check_server(
        "server_hello",
        expect![[r#"
        Ok(
            ServerHello(
                ServerHello {
                    version: 1,
                    session_id: [
                        0,
                        1,
                        2,
                        3,
                        4,
                        5,
                        6,
                        7,
                        8,
                        9,
                        10,
                        11,
                        12,
                        13,
                        14,
                        15,
                    ],
                    width: 1920,
                    height: 1080,
                    resume_token: [
                        116,
                        111,
                        107,
                        110,
                    ],
                    capabilities: Capabilities(
                        7,
                    ),
                },
            ),
        )
    "#]],
    );
    check_server(
        "tile_jpeg",
        expect![[r#"
        Ok(
            Tile(
                Tile {
                    x: 128,
                    y: 64,
                    w: 64,
                    h: 32,
                    encoding: Jpeg,
                    data: [
                        255,
                        216,
                        255,
                        224,
                        74,
                        70,
                        73,
                        70,
                    ],
                },
            ),
        )
    "#]],
    );
    check_server(
        "status_reconnecting",
        expect![[r#"
        Ok(
            Status {
                code: HostReconnecting,
                seconds: 42,
                detail: "värd 2",
            },
        )
    "#]],
    );
    check_client(
        "client_hello_resume",
        expect![[r#"
        Ok(
            ClientHello(
                ClientHello {
                    version: 1,
                    width: 1366,
                    height: 768,
                    scale_percent: 125,
                    resume_token: Some(
                        [
                            1,
                            2,
                            3,
                        ],
                    ),
                    keyboard_layout: "sv-SE",
                },
            ),
        )
    "#]],
    );
    check_client(
        "key_altgr_down",
        expect![[r#"
        Ok(
            KeyScancode {
                scancode: Scancode(0xE038),
                down: true,
            },
        )
    "#]],
    );
    check_client(
        "wheel_horizontal",
        expect![[r#"
        Ok(
            MouseWheel {
                delta_x: -120,
                delta_y: 0,
            },
        )
    "#]],
    );
    check_client(
        "bad_clipboard_utf8",
        expect![[r#"
        Err(
            InvalidUtf8 {
                field: "clipboard text",
            },
        )
    "#]],
    );
    check_client(
        "truncated_mouse_button",
        expect![[r#"
        Err(
            Truncated {
                kind: "MouseButton",
                needed: 2,
                remaining: 1,
            },
        )
    "#]],
    );
    check_client(
        "unknown_client_type",
        expect![[r#"
        Err(
            UnknownType(
                140,
            ),
        )
    "#]],
    );
}

#[test]
fn a_resuming_session_through_the_streams() {
    let limits = Limits::default();
    let mut gateway = ClientStream::new(limits);
    let hello = gateway.receive(&fixture("client_hello_resume"));
    assert!(
        matches!(hello, Ok(ClientMessage::ClientHello(ClientHello { resume_token: Some(ref t), .. })) if t == &[1, 2, 3])
    );
    let mut browser = ServerStream::new(limits, wire::PROTOCOL_VERSION);
    assert!(browser.receive(&fixture("server_hello")).is_ok());
    assert!(browser.receive(&fixture("tile_jpeg")).is_ok());
    assert_eq!(browser.screen(), Some((1920, 1080)));
}

// ---------------------------------------------------------------- cross-language fixtures

/// The messages whose bytes `web-client/tests/wire.test.mjs` checks; names are file names.
fn server_fixtures() -> Vec<(&'static str, ServerMessage)> {
    vec![
        (
            "server_hello",
            ServerMessage::ServerHello(ServerHello {
                version: 1,
                session_id: *b"0123456789abcdef",
                width: 1280,
                height: 800,
                resume_token: b"resume-me".to_vec(),
                capabilities: Capabilities(Capabilities::CLIPBOARD | Capabilities::DYNAMIC_RESIZE),
            }),
        ),
        (
            "server_tile_png",
            ServerMessage::Tile(Tile {
                x: 64,
                y: 128,
                w: 64,
                h: 64,
                encoding: TileEncoding::Png,
                data: vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A],
            }),
        ),
        (
            "server_tile_webp",
            ServerMessage::Tile(Tile {
                x: 1216,
                y: 736,
                w: 64,
                h: 64,
                encoding: TileEncoding::Webp,
                data: b"RIFF\0\0\0\0WEBP".to_vec(),
            }),
        ),
        (
            "server_copy_rect",
            ServerMessage::CopyRect(CopyRect {
                src_x: 0,
                src_y: 40,
                w: 1280,
                h: 700,
                dst_x: 0,
                dst_y: 20,
            }),
        ),
        (
            "server_frame_end",
            ServerMessage::FrameEnd {
                frame_id: 0xDEAD_BEEF,
            },
        ),
        (
            "server_cursor_shape",
            ServerMessage::CursorShape(CursorShape {
                id: 3,
                hotspot_x: 1,
                hotspot_y: 1,
                w: 2,
                h: 2,
                rgba: (0..16).collect(),
            }),
        ),
        (
            "server_cursor_cached",
            ServerMessage::CursorCached { id: 3 },
        ),
        (
            "server_cursor_position",
            ServerMessage::CursorPosition { x: 1279, y: 799 },
        ),
        ("server_cursor_hidden", ServerMessage::CursorHidden),
        (
            "server_clipboard_text",
            ServerMessage::ClipboardText("Åsa äter öl 🍺\r\nrad två".into()),
        ),
        (
            "server_resized",
            ServerMessage::Resized {
                width: 1920,
                height: 1080,
            },
        ),
        (
            "server_status_idle",
            ServerMessage::Status {
                code: StatusCode::IdleWarning,
                seconds: 300,
                detail: "inaktiv".into(),
            },
        ),
        (
            "server_close_admin",
            ServerMessage::Close {
                code: CloseCode::EndedByAdmin,
                reason: "Underhåll".into(),
            },
        ),
        (
            "server_pong",
            ServerMessage::Pong {
                timestamp: 123_456_789,
            },
        ),
        (
            "server_admin_message",
            ServerMessage::AdminMessage {
                sender: "Driften i Ale".into(),
                text: "Procapita startas om kl. 18:00.\nSpara ditt arbete – tack!".into(),
            },
        ),
        (
            "server_status_session_limit",
            ServerMessage::Status {
                code: StatusCode::SessionLimitWarning,
                seconds: 600,
                detail: "längsta sessionstid 12 h".into(),
            },
        ),
        (
            "server_print_ready",
            ServerMessage::PrintNotice {
                job_id: *b"0123456789abcdef",
                title: "Procapita – Åsa Öberg".into(),
                outcome: PrintOutcome::Ready { pages: 10 },
            },
        ),
        (
            "server_print_refused",
            ServerMessage::PrintNotice {
                job_id: *b"fedcba9876543210",
                title: "Journal".into(),
                outcome: PrintOutcome::Refused {
                    reason: "job_too_large".into(),
                },
            },
        ),
    ]
}

fn client_fixtures() -> Vec<(&'static str, ClientMessage)> {
    vec![
        (
            "client_hello",
            ClientMessage::ClientHello(ClientHello {
                version: 1,
                width: 1280,
                height: 800,
                scale_percent: 100,
                resume_token: None,
                keyboard_layout: "sv-SE".into(),
            }),
        ),
        (
            "client_hello_resume",
            ClientMessage::ClientHello(ClientHello {
                version: 1,
                width: 2560,
                height: 1440,
                scale_percent: 200,
                resume_token: Some(b"resume-me".to_vec()),
                keyboard_layout: String::new(),
            }),
        ),
        (
            "client_key_altgr",
            ClientMessage::KeyScancode {
                scancode: scancode::ALT_RIGHT,
                down: true,
            },
        ),
        (
            "client_key_intl_backslash_up",
            ClientMessage::KeyScancode {
                scancode: Scancode::from_dom_code("IntlBackslash").unwrap_or(scancode::ESCAPE),
                down: false,
            },
        ),
        (
            "client_key_unicode",
            ClientMessage::KeyUnicode {
                ch: '€',
                down: true,
            },
        ),
        (
            "client_mouse_move",
            ClientMessage::MouseMove { x: 640, y: 400 },
        ),
        (
            "client_mouse_button",
            ClientMessage::MouseButton {
                button: MouseButton::Forward,
                down: true,
                x: 1,
                y: 2,
            },
        ),
        (
            "client_mouse_wheel",
            ClientMessage::MouseWheel {
                delta_x: -120,
                delta_y: 360,
            },
        ),
        (
            "client_frame_ack",
            ClientMessage::FrameAck {
                frame_id: 0xDEAD_BEEF,
            },
        ),
        (
            "client_resize_request",
            ClientMessage::ResizeRequest {
                width: 1024,
                height: 768,
            },
        ),
        (
            "client_clipboard_text",
            ClientMessage::ClipboardText("Hej på dig, Örjan!".into()),
        ),
        ("client_release_all_keys", ClientMessage::ReleaseAllKeys),
        (
            "client_ping",
            ClientMessage::Ping {
                timestamp: 4_000_000_000,
            },
        ),
    ]
}

fn updating() -> bool {
    std::env::var_os("UPDATE_EXPECT").is_some()
}

/// Compares `bytes` with the committed file, or rewrites it under `UPDATE_EXPECT=1`.
fn check_file(path: &Path, bytes: &[u8]) {
    if updating() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let committed = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_EXPECT=1 to write it)",
            path.display()
        )
    });
    assert_eq!(
        committed,
        bytes,
        "{} differs from the encoder's output; if the protocol changed on purpose, run \
         UPDATE_EXPECT=1 cargo test -p hamn-gateway --test gateway wire and update wire.js",
        path.display()
    );
}

#[test]
fn cross_language_fixtures_match_the_encoder() {
    let dir = repo().join("web-client/tests/fixtures");
    let mut names = Vec::new();
    for (name, message) in server_fixtures() {
        let bytes = encode_server(&message);
        assert_eq!(
            decode_server(&bytes, &Limits::default()).as_ref(),
            Ok(&message)
        );
        check_file(&dir.join(format!("{name}.bin")), &bytes);
        names.push(name);
    }
    for (name, message) in client_fixtures() {
        let bytes = encode_client(&message);
        assert_eq!(
            decode_client(&bytes, &Limits::default()).as_ref(),
            Ok(&message)
        );
        check_file(&dir.join(format!("{name}.bin")), &bytes);
        names.push(name);
    }
    // The JS side's keyboard table must equal ours.
    let keymap: String = scancode::CODE_TABLE
        .iter()
        .map(|(code, sc)| format!("{code} {:#06x}\n", sc.as_u16()))
        .collect();
    check_file(&dir.join("keymap.txt"), keymap.as_bytes());
    // The close and status tables too (code, Swedish, English), one per line.
    let texts: String = CloseCode::ALL
        .iter()
        .map(|c| {
            format!(
                "close {} {} | {}\n",
                c.as_u16(),
                c.reason_sv(),
                c.reason_en()
            )
        })
        .chain(
            StatusCode::ALL
                .iter()
                .map(|s| format!("status {} {} | {}\n", s.as_u8(), s.text_sv(), s.text_en())),
        )
        .collect();
    check_file(&dir.join("texts.txt"), texts.as_bytes());

    check_file(&dir.join("mutations.txt"), mutations().as_bytes());

    // No stale fixture the JS tests would still check.
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = file.strip_suffix(".bin") {
            assert!(names.contains(&stem), "stale fixture {file}");
        }
    }
}

/// Mutated fixture bytes with the Rust decoder's verdict (`0` accepted, else the close
/// code), one per line: `s|c <hex> <code>`. The node tests decode the same bytes and must
/// reach the same verdict, so the two decoders agree on malformed input too.
fn mutations() -> String {
    // xorshift: deterministic, so the file only changes when the codec does.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        usize::try_from(state % n.max(1) as u64).unwrap_or_default()
    };
    let sources = server_fixtures()
        .into_iter()
        .map(|(_, m)| ('s', encode_server(&m)))
        .chain(
            client_fixtures()
                .into_iter()
                .map(|(_, m)| ('c', encode_client(&m))),
        );
    let mut out = String::new();
    for (dir, original) in sources {
        for _ in 0..24 {
            let mut bytes = original.clone();
            match next(4) {
                0 => bytes.truncate(next(bytes.len())),
                1 => bytes.push(u8::try_from(next(256)).unwrap_or_default()),
                2 => {
                    let i = next(bytes.len());
                    if let Some(b) = bytes.get_mut(i) {
                        *b = u8::try_from(next(256)).unwrap_or_default();
                    }
                }
                _ => {
                    let i = next(bytes.len());
                    if let Some(b) = bytes.get_mut(i) {
                        *b ^= 0x80;
                    }
                }
            }
            let verdict = if dir == 's' {
                decode_server(&bytes, &Limits::default()).err()
            } else {
                decode_client(&bytes, &Limits::default()).err()
            };
            let code = verdict.map_or(0, |e| e.close_code().as_u16());
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            out.push_str(&format!(
                "{dir} {} {code}\n",
                if hex.is_empty() { "-" } else { &hex }
            ));
        }
    }
    out
}

// ---------------------------------------------------------------- the browser's tests

#[test]
fn web_client_node_tests_pass() {
    let dir = repo().join("web-client/tests");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no *.test.mjs files in {}",
        dir.display()
    );
    let output = match Command::new("node").arg("--test").args(&files).output() {
        Ok(output) => output,
        Err(e) => panic!(
            "cannot run `node` ({e}): the web client's tests need Node.js 20 or newer on PATH \
             (Debian: apt-get install nodejs)"
        ),
    };
    assert!(
        output.status.success(),
        "node --test failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

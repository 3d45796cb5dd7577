//! Malformed input for every message kind, in both directions: each must be a typed
//! error with the right close code, never a panic or a silently accepted message.

use super::*;

fn limits() -> Limits {
    Limits::default()
}

/// One valid instance of every server message.
pub(crate) fn server_samples() -> Vec<ServerMessage> {
    vec![
        ServerMessage::ServerHello(ServerHello {
            version: 1,
            session_id: [7; 16],
            width: 1280,
            height: 800,
            resume_token: vec![1, 2, 3],
            capabilities: Capabilities(Capabilities::CLIPBOARD),
        }),
        ServerMessage::Tile(Tile {
            x: 64,
            y: 0,
            w: 64,
            h: 64,
            encoding: TileEncoding::Png,
            data: vec![0x89, b'P', b'N', b'G'],
        }),
        ServerMessage::CopyRect(CopyRect {
            src_x: 0,
            src_y: 16,
            w: 100,
            h: 50,
            dst_x: 0,
            dst_y: 0,
        }),
        ServerMessage::FrameEnd { frame_id: 9 },
        ServerMessage::CursorShape(CursorShape {
            id: 2,
            hotspot_x: 1,
            hotspot_y: 0,
            w: 2,
            h: 1,
            rgba: vec![0, 0, 0, 255, 255, 255, 255, 0],
        }),
        ServerMessage::CursorCached { id: 2 },
        ServerMessage::CursorPosition { x: 5, y: 6 },
        ServerMessage::CursorHidden,
        ServerMessage::ClipboardText("smörgås".into()),
        ServerMessage::Resized {
            width: 1024,
            height: 768,
        },
        ServerMessage::Status {
            code: StatusCode::IdleWarning,
            seconds: 60,
            detail: "idle".into(),
        },
        ServerMessage::Close {
            code: CloseCode::EndedByAdmin,
            reason: "bye".into(),
        },
        ServerMessage::Pong { timestamp: 77 },
        ServerMessage::AdminMessage {
            sender: "Driften".into(),
            text: "Spara ditt arbete.".into(),
        },
        ServerMessage::PrintNotice {
            job_id: [3; 16],
            title: "Utskrift".into(),
            outcome: PrintOutcome::Ready { pages: 2 },
        },
        ServerMessage::PrintNotice {
            job_id: [4; 16],
            title: String::new(),
            outcome: PrintOutcome::Refused {
                reason: "malformed_pdf".into(),
            },
        },
    ]
}

/// One valid instance of every client message.
pub(crate) fn client_samples() -> Vec<ClientMessage> {
    vec![
        ClientMessage::ClientHello(ClientHello {
            version: 1,
            width: 1280,
            height: 800,
            scale_percent: 100,
            resume_token: Some(vec![9; 8]),
            keyboard_layout: "sv-SE".into(),
        }),
        ClientMessage::KeyScancode {
            scancode: scancode::ALT_RIGHT,
            down: true,
        },
        ClientMessage::KeyUnicode {
            ch: 'å',
            down: true,
        },
        ClientMessage::MouseMove { x: 10, y: 20 },
        ClientMessage::MouseButton {
            button: MouseButton::Right,
            down: false,
            x: 1,
            y: 2,
        },
        ClientMessage::MouseWheel {
            delta_x: -120,
            delta_y: 240,
        },
        ClientMessage::FrameAck { frame_id: 9 },
        ClientMessage::ResizeRequest {
            width: 800,
            height: 600,
        },
        ClientMessage::ClipboardText("hej".into()),
        ClientMessage::ReleaseAllKeys,
        ClientMessage::Ping { timestamp: 1234 },
    ]
}

#[test]
fn every_sample_round_trips() {
    for message in server_samples() {
        assert_eq!(decode_server(&encode(&message), &limits()), Ok(message));
    }
    for message in client_samples() {
        assert_eq!(
            decode_client(&encode_client(&message), &limits()),
            Ok(message)
        );
    }
}

/// Whether the message ends in a variable-length remainder, so a shorter message may
/// still be valid (clipboard text, tile data).
fn open_ended_server(message: &ServerMessage) -> bool {
    matches!(
        message,
        ServerMessage::ClipboardText(_) | ServerMessage::Tile(_)
    )
}

#[test]
fn every_truncation_is_rejected() {
    for message in server_samples() {
        let bytes = encode(&message);
        // Tile data and clipboard text may be cut and stay valid; their headers may not.
        let shortest = match &message {
            ServerMessage::Tile(t) => bytes.len() - t.data.len() + 1,
            ServerMessage::ClipboardText(_) => 1,
            _ => bytes.len(),
        };
        for len in 0..shortest {
            let result = decode_server(bytes.get(..len).unwrap_or_default(), &limits());
            assert!(
                result.is_err(),
                "{} cut to {len} bytes: {result:?}",
                message.kind()
            );
        }
    }
    for message in client_samples() {
        let bytes = encode_client(&message);
        let shortest = if matches!(message, ClientMessage::ClipboardText(_)) {
            1
        } else {
            bytes.len()
        };
        for len in 0..shortest {
            let result = decode_client(bytes.get(..len).unwrap_or_default(), &limits());
            let error = result.expect_err(message.kind());
            assert!(
                matches!(
                    error.close_code(),
                    CloseCode::MalformedMessage | CloseCode::InvalidText
                ),
                "{}: {error}",
                message.kind()
            );
        }
    }
}

#[test]
fn trailing_bytes_are_rejected() {
    for message in server_samples() {
        if open_ended_server(&message) {
            continue;
        }
        let mut bytes = encode(&message);
        bytes.push(0);
        let error = decode_server(&bytes, &limits()).expect_err(message.kind());
        assert!(
            matches!(error, WireError::TrailingBytes { .. }),
            "{}: {error}",
            message.kind()
        );
    }
    for message in client_samples() {
        if matches!(message, ClientMessage::ClipboardText(_)) {
            continue;
        }
        let mut bytes = encode_client(&message);
        bytes.push(0);
        let error = decode_client(&bytes, &limits()).expect_err(message.kind());
        assert_eq!(error.close_code(), CloseCode::MalformedMessage, "{error}");
    }
}

#[test]
fn unknown_types_and_wrong_direction_are_rejected() {
    assert_eq!(decode_client(&[], &limits()), Err(WireError::Empty));
    assert_eq!(decode_server(&[], &limits()), Err(WireError::Empty));
    for t in [0x00, 0x10, 0x7F, 0x8C, 0xFF] {
        assert_eq!(
            decode_client(&[t], &limits()),
            Err(WireError::UnknownType(t))
        );
        assert_eq!(
            decode_server(&[t], &limits()),
            Err(WireError::UnknownType(t))
        );
    }
    // A server message sent to the server is unknown there, and vice versa.
    for message in server_samples() {
        let bytes = encode(&message);
        let error = decode_client(&bytes, &limits()).expect_err(message.kind());
        assert_eq!(error.close_code(), CloseCode::UnknownMessageType);
    }
    for message in client_samples() {
        let bytes = encode_client(&message);
        let error = decode_server(&bytes, &limits()).expect_err(message.kind());
        assert_eq!(error.close_code(), CloseCode::UnknownMessageType);
    }
}

fn server_err(bytes: &[u8]) -> WireError {
    decode_server(bytes, &limits()).expect_err("must be rejected")
}

fn client_err(bytes: &[u8]) -> WireError {
    decode_client(bytes, &limits()).expect_err("must be rejected")
}

#[test]
fn server_field_violations() {
    // ServerHello: zero width, too high, token too long.
    let mut hello = encode(&server_samples().remove(0));
    hello[19] = 0; // width low byte (1 + 2 + 16)
    hello[20] = 0;
    assert_eq!(server_err(&hello).close_code(), CloseCode::OutOfBounds);
    hello[20] = 0x21; // 8448 > 8192
    assert_eq!(server_err(&hello).close_code(), CloseCode::OutOfBounds);
    let long_token = ServerMessage::ServerHello(ServerHello {
        version: 1,
        session_id: [0; 16],
        width: 1,
        height: 1,
        resume_token: vec![0; 65],
        capabilities: Capabilities::default(),
    });
    assert_eq!(
        server_err(&encode(&long_token)).close_code(),
        CloseCode::MessageTooLarge
    );

    // Tile: unknown encoding, outside the largest screen, empty, zero size, oversize data.
    let tile = |x: u16, w: u16, encoding: u8, data: &[u8]| {
        let mut b = vec![0x02];
        for v in [x, 0, w, 8] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.push(encoding);
        b.extend_from_slice(data);
        b
    };
    assert!(matches!(
        server_err(&tile(0, 8, 3, b"x")),
        WireError::InvalidValue {
            field: "encoding",
            value: 3
        }
    ));
    assert_eq!(
        server_err(&tile(8190, 8, 0, b"x")).close_code(),
        CloseCode::OutOfBounds
    );
    assert_eq!(
        server_err(&tile(65535, 8, 0, b"x")).close_code(),
        CloseCode::OutOfBounds
    );
    assert_eq!(
        server_err(&tile(0, 0, 0, b"x")).close_code(),
        CloseCode::OutOfBounds
    );
    assert!(matches!(
        server_err(&tile(0, 8, 0, b"")),
        WireError::Truncated { .. }
    ));
    let small = Limits {
        max_tile_payload: 4,
        ..Limits::default()
    };
    assert!(decode_server(&tile(0, 8, 0, b"12345"), &small).is_err());

    // CopyRect: destination beyond the largest screen.
    let copy = encode(&ServerMessage::CopyRect(CopyRect {
        src_x: 0,
        src_y: 0,
        w: 100,
        h: 100,
        dst_x: 8100,
        dst_y: 0,
    }));
    assert_eq!(server_err(&copy).close_code(), CloseCode::OutOfBounds);

    // CursorShape: hotspot outside, rgba size mismatch, too large.
    let cursor = |hx: u16, w: u16, rgba_len: usize| {
        let mut b = vec![0x05];
        for v in [1, hx, 0, w, 1] {
            b.extend_from_slice(&u16::to_le_bytes(v));
        }
        b.extend(std::iter::repeat_n(0u8, rgba_len));
        b
    };
    assert!(decode_server(&cursor(1, 2, 8), &limits()).is_ok());
    assert_eq!(
        server_err(&cursor(2, 2, 8)).close_code(),
        CloseCode::OutOfBounds
    );
    assert!(matches!(
        server_err(&cursor(0, 2, 7)),
        WireError::Truncated { .. }
    ));
    assert!(matches!(
        server_err(&cursor(0, 2, 9)),
        WireError::TrailingBytes { .. }
    ));
    assert_eq!(
        server_err(&cursor(0, 385, 0)).close_code(),
        CloseCode::OutOfBounds
    );

    // CursorPosition outside; Resized to zero.
    assert_eq!(
        server_err(&[0x07, 0x00, 0x20, 0, 0]).close_code(),
        CloseCode::OutOfBounds
    );
    assert_eq!(
        server_err(&[0x0A, 0, 0, 1, 0]).close_code(),
        CloseCode::OutOfBounds
    );

    // AdminMessage: sender and text over their caps, bad UTF-8 in either, cut short.
    let admin = |sender: &[u8], text: &[u8]| {
        let mut b = vec![0x0E];
        for field in [sender, text] {
            b.extend_from_slice(&u16::try_from(field.len()).unwrap_or(u16::MAX).to_le_bytes());
            b.extend_from_slice(field);
        }
        b
    };
    assert!(decode_server(&admin(b"Drift", "Hej på er".as_bytes()), &limits()).is_ok());
    assert_eq!(
        server_err(&admin(&[b'a'; 257], b"x")).close_code(),
        CloseCode::MessageTooLarge
    );
    assert_eq!(
        server_err(&admin(b"x", &[b'a'; 4097])).close_code(),
        CloseCode::MessageTooLarge
    );
    assert_eq!(
        server_err(&admin(&[0xC3], b"x")).close_code(),
        CloseCode::InvalidText
    );
    assert_eq!(
        server_err(&admin(b"x", &[0xED, 0xA0, 0x80])).close_code(),
        CloseCode::InvalidText
    );
    assert!(matches!(
        server_err(&[0x0E, 3, 0, b'a']),
        WireError::Truncated { .. }
    ));

    // PrintNotice: unknown outcome, a ready job with a reason, a refusal with pages or
    // without a code, a reason that is free text, fields over their caps, cut short.
    let notice = |kind: u8, pages: u32, title: &[u8], reason: &[u8]| {
        let mut b = vec![0x0F];
        b.extend_from_slice(&[9; 16]);
        b.push(kind);
        b.extend_from_slice(&pages.to_le_bytes());
        for field in [title, reason] {
            b.extend_from_slice(&u16::try_from(field.len()).unwrap_or(u16::MAX).to_le_bytes());
            b.extend_from_slice(field);
        }
        b
    };
    assert!(decode_server(&notice(0, 3, "Åsa".as_bytes(), b""), &limits()).is_ok());
    assert!(decode_server(&notice(1, 0, b"", b"job_too_large"), &limits()).is_ok());
    for bad in [
        notice(2, 0, b"", b""),
        notice(0, 1, b"", b"job_too_large"),
        notice(1, 1, b"", b"job_too_large"),
        notice(1, 0, b"", b""),
        notice(1, 0, b"", b"Too Large"),
        notice(1, 0, b"", "för_stor".as_bytes()),
    ] {
        assert_eq!(server_err(&bad).close_code(), CloseCode::MalformedMessage);
    }
    assert_eq!(
        server_err(&notice(0, 1, &[b'a'; 1025], b"")).close_code(),
        CloseCode::MessageTooLarge
    );
    assert_eq!(
        server_err(&notice(1, 0, b"", &[b'a'; 64])).close_code(),
        CloseCode::MessageTooLarge
    );
    assert_eq!(
        server_err(&notice(0, 1, &[0xC3], b"")).close_code(),
        CloseCode::InvalidText
    );
    let whole = notice(0, 1, b"abc", b"");
    for cut in 1..whole.len() {
        assert!(
            matches!(server_err(&whole[..cut]), WireError::Truncated { .. }),
            "cut at {cut}"
        );
    }
    let mut trailing = whole.clone();
    trailing.push(0);
    assert!(matches!(
        server_err(&trailing),
        WireError::TrailingBytes { .. }
    ));

    // Clipboard: bad UTF-8, over the cap.
    assert_eq!(
        server_err(&[0x09, 0xC3, 0x28]).close_code(),
        CloseCode::InvalidText
    );
    let tiny = Limits {
        max_clipboard: 2,
        ..Limits::default()
    };
    assert_eq!(
        decode_server(b"\x09abc", &tiny).map_err(|e| e.close_code()),
        Err(CloseCode::MessageTooLarge)
    );

    // Status: unknown code, detail too long, detail not UTF-8, length beyond the message.
    assert!(matches!(
        server_err(&[0x0B, 0, 0, 0, 0, 0]),
        WireError::InvalidValue { .. }
    ));
    assert!(matches!(
        server_err(&[0x0B, 99, 0, 0, 0, 0]),
        WireError::InvalidValue { .. }
    ));
    let mut long = vec![0x0B, 1, 0, 0];
    long.extend_from_slice(&1025u16.to_le_bytes());
    long.extend(std::iter::repeat_n(b'a', 1025));
    assert_eq!(server_err(&long).close_code(), CloseCode::MessageTooLarge);
    assert_eq!(
        server_err(&[0x0B, 1, 0, 0, 1, 0, 0xFF]).close_code(),
        CloseCode::InvalidText
    );
    assert!(matches!(
        server_err(&[0x0B, 1, 0, 0, 5, 0, b'a']),
        WireError::Truncated { .. }
    ));

    // Close: a code outside the known table (a standard code, then an unassigned one).
    assert!(matches!(
        server_err(&[0x0C, 0xE8, 0x03, 0, 0]),
        WireError::InvalidValue { .. }
    ));
    assert!(matches!(
        server_err(&[0x0C, 0x9F, 0x0F, 0, 0]),
        WireError::InvalidValue { .. }
    ));

    // Oversize message as a whole.
    let huge = vec![0x09; limits().max_server_message() + 1];
    assert_eq!(server_err(&huge).close_code(), CloseCode::MessageTooLarge);
}

#[test]
fn client_field_violations() {
    let hello = |w: u16, scale: u16, token: &[u8], layout: &[u8]| {
        let mut b = vec![0x81, 1, 0];
        for v in [w, 600, scale] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.push(token.len() as u8);
        b.extend_from_slice(token);
        b.push(layout.len() as u8);
        b.extend_from_slice(layout);
        b
    };
    assert!(decode_client(&hello(800, 100, b"", b"sv-SE"), &limits()).is_ok());
    assert_eq!(
        client_err(&hello(0, 100, b"", b"")).close_code(),
        CloseCode::OutOfBounds
    );
    assert_eq!(
        client_err(&hello(9000, 100, b"", b"")).close_code(),
        CloseCode::OutOfBounds
    );
    assert_eq!(
        client_err(&hello(800, 10, b"", b"")).close_code(),
        CloseCode::OutOfBounds
    );
    assert_eq!(
        client_err(&hello(800, 1001, b"", b"")).close_code(),
        CloseCode::OutOfBounds
    );
    assert_eq!(
        client_err(&hello(800, 100, &[1; 65], b"")).close_code(),
        CloseCode::MessageTooLarge
    );
    assert_eq!(
        client_err(&hello(800, 100, b"", &[b'a'; 33])).close_code(),
        CloseCode::MessageTooLarge
    );
    assert!(matches!(
        client_err(&hello(800, 100, b"", b"sv SE")),
        WireError::InvalidValue {
            field: "keyboard_layout",
            value: 32
        }
    ));
    assert!(matches!(
        client_err(&hello(800, 100, b"", &[0xC3, 0xA5])),
        WireError::InvalidValue { .. }
    ));

    // KeyScancode: zero, break bit set, unknown prefix, Pause with the wrong code, bool 2.
    for code in [0x0000u16, 0x0080, 0xE000, 0xE0FF, 0x1C01, 0xE11C] {
        let [a, b] = code.to_le_bytes();
        assert!(
            matches!(client_err(&[0x82, a, b, 1]), WireError::InvalidValue { .. }),
            "{code:#x}"
        );
    }
    assert!(decode_client(&[0x82, 0x1D, 0xE1, 1], &limits()).is_ok());
    assert!(matches!(
        client_err(&[0x82, 0x1E, 0, 2]),
        WireError::InvalidValue { field: "down", .. }
    ));

    // KeyUnicode: surrogate, above U+10FFFF, NUL.
    for cp in [0xD800u32, 0x110000, 0] {
        let mut b = vec![0x83];
        b.extend_from_slice(&cp.to_le_bytes());
        b.push(1);
        assert!(
            matches!(client_err(&b), WireError::InvalidValue { .. }),
            "{cp:#x}"
        );
    }

    // Mouse: position beyond the largest screen, unknown button.
    assert_eq!(
        client_err(&[0x84, 0x00, 0x20, 0, 0]).close_code(),
        CloseCode::OutOfBounds
    );
    assert!(decode_client(&[0x84, 0xFF, 0x1F, 0, 0], &limits()).is_ok());
    assert!(matches!(
        client_err(&[0x85, 5, 1, 0, 0, 0, 0]),
        WireError::InvalidValue {
            field: "button",
            ..
        }
    ));
    assert!(matches!(
        client_err(&[0x85, 0, 3, 0, 0, 0, 0]),
        WireError::InvalidValue { field: "down", .. }
    ));

    // ResizeRequest: zero, too large.
    assert_eq!(
        client_err(&[0x88, 0, 0, 1, 0]).close_code(),
        CloseCode::OutOfBounds
    );
    assert_eq!(
        client_err(&[0x88, 1, 0, 0x01, 0x20]).close_code(),
        CloseCode::OutOfBounds
    );

    // Clipboard: bad UTF-8 (lone continuation, overlong, surrogate), over the cap.
    for bad in [&[0x80u8][..], &[0xC0, 0xAF], &[0xED, 0xA0, 0x80]] {
        let mut b = vec![0x89];
        b.extend_from_slice(bad);
        assert_eq!(client_err(&b).close_code(), CloseCode::InvalidText);
    }
    let cap = Limits {
        max_clipboard: 3,
        ..Limits::default()
    };
    assert!(decode_client(b"\x89abc", &cap).is_ok());
    assert_eq!(
        decode_client(b"\x89abcd", &cap).map_err(|e| e.close_code()),
        Err(CloseCode::MessageTooLarge)
    );
    // Clipboard may exceed the general message cap, other messages may not.
    let general = Limits {
        max_client_message: 4,
        max_clipboard: 100,
        ..Limits::default()
    };
    assert!(decode_client(b"\x89abcdefgh", &general).is_ok());
    assert_eq!(
        decode_client(&[0x84, 0, 0, 0, 0], &general).map_err(|e| e.close_code()),
        Err(CloseCode::MessageTooLarge)
    );
}

#[test]
fn client_stream_enforces_hello_first_and_once() {
    let hello = encode_client(&client_samples().remove(0));
    let ping = encode_client(&ClientMessage::Ping { timestamp: 1 });
    let mut stream = ClientStream::new(limits());
    assert_eq!(
        stream.receive(&ping).map_err(|e| e.close_code()),
        Err(CloseCode::UnexpectedMessage)
    );
    assert!(stream.receive(&hello).is_ok());
    // The sample speaks version 1: the lower of the two versions wins.
    assert_eq!(stream.version(), Some(1.min(PROTOCOL_VERSION)));
    assert!(stream.receive(&ping).is_ok());
    assert_eq!(
        stream.receive(&hello).map_err(|e| e.close_code()),
        Err(CloseCode::UnexpectedMessage)
    );

    // A client speaking only version 0 is refused; a newer one gets ours.
    let mut old = hello.clone();
    old[1] = 0;
    assert_eq!(
        ClientStream::new(limits())
            .receive(&old)
            .map_err(|e| e.close_code()),
        Err(CloseCode::UnsupportedVersion)
    );
    assert_eq!(negotiate_version(7), Ok(PROTOCOL_VERSION));
}

#[test]
fn server_stream_checks_screen_and_order() {
    let mut stream = ServerStream::new(limits(), PROTOCOL_VERSION);
    let tile = |x: u16, y: u16| {
        encode(&ServerMessage::Tile(Tile {
            x,
            y,
            w: 64,
            h: 64,
            encoding: TileEncoding::Jpeg,
            data: vec![1],
        }))
    };
    assert_eq!(
        stream.receive(&tile(0, 0)).map_err(|e| e.close_code()),
        Err(CloseCode::UnexpectedMessage)
    );
    let hello = encode(&server_samples().remove(0)); // 1280×800
    assert!(stream.receive(&hello).is_ok());
    assert!(stream.receive(&tile(1216, 736)).is_ok());
    assert_eq!(
        stream.receive(&tile(1217, 0)).map_err(|e| e.close_code()),
        Err(CloseCode::OutOfBounds)
    );
    assert!(
        stream
            .receive(&encode(&ServerMessage::Resized {
                width: 2000,
                height: 800
            }))
            .is_ok()
    );
    assert!(stream.receive(&tile(1217, 0)).is_ok());
    assert_eq!(
        stream
            .receive(&encode(&ServerMessage::CursorPosition { x: 2000, y: 0 }))
            .map_err(|e| e.close_code()),
        Err(CloseCode::OutOfBounds)
    );
    assert!(stream.receive(&hello).is_err());
    assert!(
        stream
            .receive(&encode(&ServerMessage::Close {
                code: CloseCode::IdleTimeout,
                reason: String::new()
            }))
            .is_ok()
    );
    assert!(stream.receive(&tile(0, 0)).is_err());

    // A server answering with a version the client never offered.
    let mut newer = hello.clone();
    newer[1] = 2;
    assert_eq!(
        ServerStream::new(limits(), 1)
            .receive(&newer)
            .map_err(|e| e.close_code()),
        Err(CloseCode::UnsupportedVersion)
    );
}

#[test]
fn frame_window_allows_one_frame_in_flight() {
    let mut window = FrameWindow::new();
    assert_eq!(window.begin_frame(), Some(0));
    assert!(!window.can_send());
    assert_eq!(window.begin_frame(), None);
    assert_eq!(
        window.ack(5).map_err(|e| e.close_code()),
        Err(CloseCode::FlowControl)
    );
    assert_eq!(window.ack(0), Ok(()));
    assert_eq!(window.ack(0), Err(WireError::UnexpectedAck { frame_id: 0 }));
    assert_eq!(window.begin_frame(), Some(1));
    window.reset();
    assert_eq!(window.begin_frame(), Some(2));
}

#[test]
fn codes_have_texts_and_stay_in_range() {
    for code in CloseCode::ALL {
        assert!((4000..=4999).contains(&code.as_u16()));
        assert_eq!(CloseCode::from_u16(code.as_u16()), Some(code));
        assert!(!code.reason_sv().is_empty() && !code.reason_en().is_empty());
        assert!(code.ws_reason().len() <= 123);
    }
    for code in StatusCode::ALL {
        assert_eq!(StatusCode::from_u8(code.as_u8()), Some(code));
    }
    assert_eq!(
        StatusCode::IdleWarning.render("sv", 30),
        "Inaktivitet: sessionen kopplas från om 30 s."
    );
}

#[test]
fn scancode_table_covers_the_swedish_keys() {
    let sc = |code| Scancode::from_dom_code(code).map(Scancode::as_u16);
    assert_eq!(sc("IntlBackslash"), Some(0x56));
    assert_eq!(sc("Backquote"), Some(0x29));
    assert_eq!(sc("BracketLeft"), Some(0x1A));
    assert_eq!(sc("Semicolon"), Some(0x27));
    assert_eq!(sc("Quote"), Some(0x28));
    assert_eq!(sc("AltRight"), Some(0xE038));
    assert!(scancode::ALT_RIGHT.is_extended());
    assert!(scancode::PAUSE.is_extended1());
    assert_eq!(sc("Unidentified"), None);
    for (name, code) in scancode::CODE_TABLE {
        assert_eq!(Scancode::new(code.as_u16()), Some(*code), "{name}");
    }
}

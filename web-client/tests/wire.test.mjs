// Tests for web-client/static/wire.js: round trips of every client message, the Rust
// encoder's fixture bytes (fixtures/*.bin, written by gateway/tests/gateway/wire.rs) decoded
// and re-encoded here, and malformed input rejected with the right close code.
// Run: node --test web-client/tests/   (cargo test -p hamn-gateway runs it too)

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import {
  decodeServer, decodeClient, encodeClient, ServerStream, WireError, codeToScancode,
  KEY_CODES, CLOSE_CODES, STATUS_CODES, closeReason, statusText, maxServerMessage,
  DEFAULT_LIMITS, PROTOCOL_VERSION,
} from "../static/wire.js";

const fixtures = new URL("./fixtures/", import.meta.url);
const fixture = (name) => new Uint8Array(readFileSync(new URL(`${name}.bin`, fixtures)));
const bytes = (...values) => new Uint8Array(values);
const utf8 = (s) => new TextEncoder().encode(s);
const u16 = (v) => [v & 0xff, v >> 8];

function rejects(fn, code) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof WireError, `expected a WireError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

const SERVER = {
  server_hello: {
    type: "ServerHello", version: 1, sessionId: utf8("0123456789abcdef"), width: 1280,
    height: 800, resumeToken: utf8("resume-me"), capabilities: 3,
  },
  server_tile_png: {
    type: "Tile", x: 64, y: 128, w: 64, h: 64, encoding: "png",
    data: bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
  },
  server_tile_webp: {
    type: "Tile", x: 1216, y: 736, w: 64, h: 64, encoding: "webp",
    data: utf8("RIFF\0\0\0\0WEBP"),
  },
  server_copy_rect: { type: "CopyRect", srcX: 0, srcY: 40, w: 1280, h: 700, dstX: 0, dstY: 20 },
  server_frame_end: { type: "FrameEnd", frameId: 0xdeadbeef },
  server_cursor_shape: {
    type: "CursorShape", id: 3, hotspotX: 1, hotspotY: 1, w: 2, h: 2,
    rgba: Uint8Array.from({ length: 16 }, (_, i) => i),
  },
  server_cursor_cached: { type: "CursorCached", id: 3 },
  server_cursor_position: { type: "CursorPosition", x: 1279, y: 799 },
  server_cursor_hidden: { type: "CursorHidden" },
  server_clipboard_text: { type: "ClipboardText", text: "Åsa äter öl 🍺\r\nrad två" },
  server_resized: { type: "Resized", width: 1920, height: 1080 },
  server_status_idle: { type: "Status", code: 6, seconds: 300, detail: "inaktiv" },
  server_close_admin: { type: "Close", code: 4300, reason: "Underhåll" },
  server_pong: { type: "Pong", timestamp: 123456789 },
  server_admin_message: {
    type: "AdminMessage", sender: "Driften i Ale",
    text: "Procapita startas om kl. 18:00.\nSpara ditt arbete – tack!",
  },
  server_status_session_limit: {
    type: "Status", code: 12, seconds: 600, detail: "längsta sessionstid 12 h",
  },
  server_print_ready: {
    type: "PrintNotice", jobId: "30313233-3435-3637-3839-616263646566",
    title: "Procapita – Åsa Öberg", outcome: "ready", pages: 10,
  },
  server_print_refused: {
    type: "PrintNotice", jobId: "66656463-6261-3938-3736-353433323130",
    title: "Journal", outcome: "refused", reason: "job_too_large",
  },
};

const CLIENT = {
  client_hello: {
    type: "ClientHello", version: 1, width: 1280, height: 800, scalePercent: 100,
    resumeToken: null, keyboardLayout: "sv-SE",
  },
  client_hello_resume: {
    type: "ClientHello", version: 1, width: 2560, height: 1440, scalePercent: 200,
    resumeToken: utf8("resume-me"), keyboardLayout: "",
  },
  client_key_altgr: { type: "KeyScancode", scancode: 0xe038, down: true },
  client_key_intl_backslash_up: { type: "KeyScancode", scancode: 0x56, down: false },
  client_key_unicode: { type: "KeyUnicode", codepoint: 0x20ac, down: true },
  client_mouse_move: { type: "MouseMove", x: 640, y: 400 },
  client_mouse_button: { type: "MouseButton", button: 4, down: true, x: 1, y: 2 },
  client_mouse_wheel: { type: "MouseWheel", deltaX: -120, deltaY: 360 },
  client_frame_ack: { type: "FrameAck", frameId: 0xdeadbeef },
  client_resize_request: { type: "ResizeRequest", width: 1024, height: 768 },
  client_clipboard_text: { type: "ClipboardText", text: "Hej på dig, Örjan!" },
  client_release_all_keys: { type: "ReleaseAllKeys" },
  client_ping: { type: "Ping", timestamp: 4000000000 },
};

test("every fixture file is covered here", () => {
  const files = readdirSync(fixtures).filter((f) => f.endsWith(".bin")).map((f) => f.slice(0, -4));
  assert.deepEqual(files.sort(), [...Object.keys(SERVER), ...Object.keys(CLIENT)].sort());
});

test("server fixtures from the Rust encoder decode to the expected messages", () => {
  for (const [name, expected] of Object.entries(SERVER)) {
    assert.deepEqual(decodeServer(fixture(name)), expected, name);
    // An ArrayBuffer decodes the same as a view.
    assert.deepEqual(decodeServer(fixture(name).buffer), expected, name);
  }
});

test("client messages encode to exactly the Rust encoder's bytes", () => {
  for (const [name, message] of Object.entries(CLIENT)) {
    assert.deepEqual(new Uint8Array(encodeClient(message)), fixture(name), name);
    assert.deepEqual(decodeClient(fixture(name)), message, name);
  }
});

test("every client message round-trips", () => {
  const samples = [
    ...Object.values(CLIENT),
    { type: "KeyScancode", scancode: 0xe11d, down: true },
    { type: "KeyUnicode", codepoint: 0x10ffff, down: false },
    { type: "MouseMove", x: 8191, y: 0 },
    { type: "MouseWheel", deltaX: 32767, deltaY: -32768 },
    { type: "ClipboardText", text: "" },
    { type: "Ping", timestamp: 0 },
  ];
  const seen = new Set();
  for (const message of samples) {
    const decoded = decodeClient(encodeClient(message));
    const defaults = message.type === "ClientHello" ? { version: 1, scalePercent: 100 } : {};
    assert.deepEqual(decoded, { ...defaults, ...message }, message.type);
    seen.add(message.type);
  }
  assert.equal(seen.size, 11);
});

test("the keyboard table equals the gateway's", () => {
  const rust = readFileSync(new URL("keymap.txt", fixtures), "utf8").trim().split("\n")
    .map((line) => line.split(" "))
    .map(([code, hex]) => [code, Number.parseInt(hex, 16)]);
  assert.deepEqual(Object.entries(KEY_CODES), rust);
});

test("Swedish keys map to their scancodes", () => {
  assert.equal(codeToScancode("IntlBackslash"), 0x56); // < >
  assert.equal(codeToScancode("Backquote"), 0x29); // §
  assert.equal(codeToScancode("BracketLeft"), 0x1a); // Å
  assert.equal(codeToScancode("Semicolon"), 0x27); // Ö
  assert.equal(codeToScancode("Quote"), 0x28); // Ä
  assert.equal(codeToScancode("AltRight"), 0xe038); // AltGr, extended
  assert.equal(codeToScancode("NumpadEnter"), 0xe01c);
  assert.equal(codeToScancode("Numpad0"), 0x52);
  assert.equal(codeToScancode("ArrowLeft"), 0xe04b);
  assert.equal(codeToScancode("F12"), 0x58);
  assert.equal(codeToScancode("MetaLeft"), 0xe05b);
  assert.equal(codeToScancode("ContextMenu"), 0xe05d);
  assert.equal(codeToScancode("Unidentified"), null);
  assert.equal(codeToScancode("toString"), null);
});

test("close and status texts equal the gateway's", () => {
  const lines = readFileSync(new URL("texts.txt", fixtures), "utf8").trim().split("\n");
  const expected = [
    ...Object.entries(CLOSE_CODES).map(([c, [, sv, en]]) => `close ${c} ${sv} | ${en}`),
    ...Object.entries(STATUS_CODES).map(([c, [, sv, en]]) => `status ${c} ${sv} | ${en}`),
  ];
  assert.deepEqual(expected, lines);
  assert.equal(closeReason(4300), "Sessionen avslutades av administratör.");
  assert.equal(closeReason(4300, "en"), "The session was ended by an administrator.");
  assert.equal(statusText(3, 42), "Återansluter till värden … (42 s kvar)");
});

test("mutated fixtures get the same verdict as from the Rust decoder", () => {
  const lines = readFileSync(new URL("mutations.txt", fixtures), "utf8").trim().split("\n");
  assert.ok(lines.length > 500);
  for (const line of lines) {
    const [dir, hex, code] = line.split(" ");
    const input = hex === "-" ? new Uint8Array(0) : Uint8Array.from(hex.match(/../g), (b) => parseInt(b, 16));
    let verdict = 0;
    try {
      (dir === "s" ? decodeServer : decodeClient)(input);
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      verdict = e.code;
    }
    assert.equal(verdict, Number(code), `${dir} ${hex}`);
  }
});

test("truncated server messages are rejected", () => {
  for (const name of Object.keys(SERVER)) {
    const full = fixture(name);
    const open = name.startsWith("server_tile") || name === "server_clipboard_text";
    const shortest = name === "server_clipboard_text" ? 1 : open ? 10 : full.length;
    for (let len = 1; len < shortest; len++) {
      rejects(() => decodeServer(full.subarray(0, len)), 4004);
    }
  }
  rejects(() => decodeServer(new Uint8Array(0)), 4004);
});

test("trailing bytes are rejected", () => {
  for (const name of Object.keys(SERVER)) {
    if (name.startsWith("server_tile") || name === "server_clipboard_text") continue;
    const longer = new Uint8Array([...fixture(name), 0]);
    rejects(() => decodeServer(longer), 4004);
  }
  for (const name of Object.keys(CLIENT)) {
    if (name === "client_clipboard_text") continue;
    rejects(() => decodeClient(new Uint8Array([...fixture(name), 0])), 4004);
  }
});

test("unknown and wrong-direction types are rejected", () => {
  for (const t of [0x00, 0x10, 0x7f, 0x81, 0x8c, 0xff]) rejects(() => decodeServer(bytes(t)), 4003);
  for (const t of [0x00, 0x01, 0x0d, 0x80, 0x8c, 0xff]) rejects(() => decodeClient(bytes(t)), 4003);
  rejects(() => encodeClient({ type: "Nope" }), 4003);
});

test("oversize messages are rejected", () => {
  const huge = new Uint8Array(maxServerMessage() + 1);
  huge[0] = 0x09;
  rejects(() => decodeServer(huge), 4002);
  const limits = { ...DEFAULT_LIMITS, maxClipboard: 3, maxTilePayload: 2 };
  rejects(() => decodeServer(bytes(0x09, 0x61, 0x62, 0x63, 0x64), limits), 4002);
  rejects(() => decodeServer(bytes(0x02, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 2, 3), limits), 4002);
  rejects(() => encodeClient({ type: "ClipboardText", text: "abcd" }, limits), 4002);
  const status = [0x0b, 1, 0, 0, ...u16(1025), ...new Uint8Array(1025).fill(0x61)];
  rejects(() => decodeServer(new Uint8Array(status)), 4002);
  // An administrator's message: sender over 256 bytes, text over 4096 bytes.
  const sender = [0x0e, ...u16(257), ...new Uint8Array(257).fill(0x61), 0, 0];
  rejects(() => decodeServer(new Uint8Array(sender)), 4002);
  const text = [0x0e, 0, 0, ...u16(4097), ...new Uint8Array(4097).fill(0x61)];
  rejects(() => decodeServer(new Uint8Array(text)), 4002);
  const move = new Uint8Array(DEFAULT_LIMITS.maxClientMessage + 1);
  move[0] = 0x84;
  rejects(() => decodeClient(move), 4002);
});

test("bad UTF-8 is rejected", () => {
  rejects(() => decodeServer(bytes(0x09, 0xc3, 0x28)), 4005);
  rejects(() => decodeServer(bytes(0x09, 0xed, 0xa0, 0x80)), 4005); // surrogate
  rejects(() => decodeServer(bytes(0x0b, 1, 0, 0, 1, 0, 0xff)), 4005);
  rejects(() => decodeServer(bytes(0x0c, ...u16(4300), 2, 0, 0xc0, 0xaf)), 4005); // overlong
  rejects(() => decodeClient(bytes(0x89, 0x80)), 4005);
  rejects(() => decodeServer(bytes(0x0e, 1, 0, 0xc3, 1, 0, 0x61)), 4005); // sender
  rejects(() => decodeServer(bytes(0x0e, 1, 0, 0x61, 2, 0, 0xc3, 0x28)), 4005); // text
});

test("out-of-range fields and unknown enum values are rejected", () => {
  const tile = (x, w, enc) => bytes(0x02, ...u16(x), 0, 0, ...u16(w), 8, 0, enc, 1);
  rejects(() => decodeServer(tile(0, 8, 3)), 4004);
  rejects(() => decodeServer(tile(8190, 8, 0)), 4006);
  rejects(() => decodeServer(tile(0, 0, 0)), 4006);
  rejects(() => decodeServer(bytes(0x0a, 0, 0, 1, 0)), 4006);
  rejects(() => decodeServer(bytes(0x0b, 99, 0, 0, 0, 0)), 4004);
  rejects(() => decodeServer(bytes(0x0c, ...u16(1000), 0, 0)), 4004);
  // Cursor: hotspot outside, wrong pixel count.
  rejects(() => decodeServer(bytes(0x05, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0, ...new Uint8Array(8))), 4006);
  rejects(() => decodeServer(bytes(0x05, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, ...new Uint8Array(7))), 4004);
  rejects(() => decodeClient(bytes(0x82, 0x80, 0x00, 1)), 4004); // break bit
  rejects(() => decodeClient(bytes(0x82, 0x1e, 0x00, 2)), 4004); // bool 2
  rejects(() => decodeClient(bytes(0x83, 0x00, 0xd8, 0, 0, 1)), 4004); // surrogate
  rejects(() => decodeClient(bytes(0x85, 5, 1, 0, 0, 0, 0)), 4004);
  rejects(() => decodeClient(bytes(0x84, 0x00, 0x20, 0, 0)), 4006);
  rejects(() => decodeClient(bytes(0x81, 1, 0, 0, 3, 0, 2, 100, 0, 0, 2, 0x20, 0x20)), 4004);
  rejects(() => encodeClient({ type: "MouseMove", x: -1, y: 0 }), 4006);
  rejects(() => encodeClient({ type: "MouseMove", x: 1.5, y: 0 }), 4006);
  rejects(() => encodeClient({ type: "ResizeRequest", width: 0, height: 10 }), 4006);
  rejects(() => encodeClient({ type: "KeyScancode", scancode: 0x1234, down: true }), 4004);
  rejects(() => encodeClient({ type: "KeyScancode", scancode: 0x1e, down: 1 }), 4004);
  rejects(() => encodeClient({ type: "ClientHello", width: 1, height: 1, keyboardLayout: "sv SE" }), 4004);
});

test("the stream wants ServerHello first, rectangles on screen, nothing after Close", () => {
  const stream = new ServerStream(DEFAULT_LIMITS, PROTOCOL_VERSION);
  rejects(() => stream.receive(fixture("server_tile_png")), 4007);
  stream.receive(fixture("server_hello"));
  stream.receive(fixture("server_tile_webp")); // ends exactly at 1280×800
  rejects(() => stream.receive(bytes(0x02, ...u16(1217), 0, 0, 64, 0, 64, 0, 0, 1)), 4006);
  rejects(() => stream.receive(fixture("server_hello")), 4007);
  stream.receive(fixture("server_resized"));
  stream.receive(bytes(0x02, ...u16(1217), 0, 0, 64, 0, 64, 0, 0, 1));
  stream.receive(fixture("server_close_admin"));
  rejects(() => stream.receive(fixture("server_pong")), 4007);
  const old = new ServerStream(DEFAULT_LIMITS, 1);
  const newer = fixture("server_hello");
  newer[1] = 2;
  rejects(() => old.receive(newer), 4001);
});

test("a print notice's outcome must fit its fields", () => {
  const notice = (outcome, pages, title, reason) => {
    const t = utf8(title), r = utf8(reason);
    return bytes(0x0f, ...new Array(16).fill(9), outcome, pages & 0xff, (pages >> 8) & 0xff,
      (pages >> 16) & 0xff, pages >>> 24, ...u16(t.length), ...t, ...u16(r.length), ...r);
  };
  assert.equal(decodeServer(notice(0, 3, "Åsa", "")).pages, 3);
  assert.equal(decodeServer(notice(1, 0, "", "cancelled")).reason, "cancelled");
  for (const bad of [
    notice(2, 0, "", ""), notice(0, 1, "", "job_too_large"), notice(1, 1, "", "job_too_large"),
    notice(1, 0, "", ""), notice(1, 0, "", "Too Large"), notice(1, 0, "", "för_stor"),
  ]) {
    rejects(() => decodeServer(bad), 4004);
  }
  rejects(() => decodeServer(notice(0, 1, "a".repeat(1025), "")), 4002);
  rejects(() => decodeServer(notice(1, 0, "", "a".repeat(64))), 4002);
});

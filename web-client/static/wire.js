// Hamn session protocol, browser side: the twin of the gateway's Rust codec
// (gateway/src/wire/). Binary websocket messages, one per frame, little-endian, a type
// byte then fixed fields; docs/wire-protocol.md has the byte layouts. Validation is as
// strict as the gateway's so a broken gateway (or a proxy mangling frames) is caught
// here with a close code instead of painting garbage. The Rust tests write fixture
// bytes that web-client/tests/ decode, so the two implementations cannot drift.

export const PROTOCOL_VERSION = 3;
export const MIN_PROTOCOL_VERSION = 1;
export const MAX_DIMENSION = 8192;
export const MAX_CURSOR_SIZE = 384;
export const MAX_RESUME_TOKEN = 64;
export const MAX_LAYOUT_HINT = 32;
export const MAX_DETAIL = 1024;
export const MAX_MESSAGE_TEXT = 4096;
export const MAX_MESSAGE_SENDER = 256;
export const MAX_PRINT_TITLE = 1024;
export const MAX_PRINT_REASON = 63;
/** The first protocol version with PrintNotice. */
export const PRINT_VERSION = 3;
export const MIN_SCALE_PERCENT = 25;
export const MAX_SCALE_PERCENT = 1000;

export const DEFAULT_LIMITS = Object.freeze({
  maxTilePayload: 4 * 1024 * 1024,
  maxClientMessage: 64 * 1024,
  maxClipboard: 1024 * 1024,
  maxDimension: MAX_DIMENSION,
});

/** The largest whole server→client message under `limits` (as Rust's Limits). */
export function maxServerMessage(limits = DEFAULT_LIMITS) {
  return Math.max(
    10 + limits.maxTilePayload,
    11 + MAX_CURSOR_SIZE * MAX_CURSOR_SIZE * 4,
    1 + limits.maxClipboard,
  );
}

// Type bytes: server→client 0x01–0x3F, client→server 0x81–0xBF.
const S = {
  ServerHello: 0x01, Tile: 0x02, CopyRect: 0x03, FrameEnd: 0x04, CursorShape: 0x05,
  CursorCached: 0x06, CursorPosition: 0x07, CursorHidden: 0x08, ClipboardText: 0x09,
  Resized: 0x0a, Status: 0x0b, Close: 0x0c, Pong: 0x0d, AdminMessage: 0x0e,
  PrintNotice: 0x0f,
};
const C = {
  ClientHello: 0x81, KeyScancode: 0x82, KeyUnicode: 0x83, MouseMove: 0x84,
  MouseButton: 0x85, MouseWheel: 0x86, FrameAck: 0x87, ResizeRequest: 0x88,
  ClipboardText: 0x89, ReleaseAllKeys: 0x8a, Ping: 0x8b,
};
export const SERVER_TYPES = Object.freeze({ ...S });
export const CLIENT_TYPES = Object.freeze({ ...C });

export const TILE_ENCODINGS = Object.freeze(["png", "jpeg", "webp"]);

/** Capability bits of ServerHello. */
export const CAPABILITIES = Object.freeze({ CLIPBOARD: 1, DYNAMIC_RESIZE: 2, UNICODE_INPUT: 4 });

/** Close codes (websocket private range), with user texts: [name, Swedish, English]. */
export const CLOSE_CODES = Object.freeze({
  4000: ["ProtocolError", "Webbläsaren skickade något oväntat. Ladda om sidan.",
    "The browser sent something unexpected. Reload the page."],
  4001: ["UnsupportedVersion", "Webbläsarens klient är inaktuell. Ladda om sidan.",
    "The browser client is outdated. Reload the page."],
  4002: ["MessageTooLarge", "Ett meddelande var för stort, t.ex. urklippet.",
    "A message was too large, e.g. the clipboard."],
  4003: ["UnknownMessageType", "Okänt meddelande från webbläsaren. Ladda om sidan.",
    "Unknown message from the browser. Reload the page."],
  4004: ["MalformedMessage", "Felaktigt meddelande från webbläsaren. Ladda om sidan.",
    "Malformed message from the browser. Reload the page."],
  4005: ["InvalidText", "Text från webbläsaren var inte giltig UTF-8.",
    "Text from the browser was not valid UTF-8."],
  4006: ["OutOfBounds", "Ett värde låg utanför skärmens gränser.",
    "A value was outside the screen's limits."],
  4007: ["UnexpectedMessage", "Meddelanden kom i fel ordning. Ladda om sidan.",
    "Messages arrived out of order. Reload the page."],
  4008: ["FlowControl", "Fel i bildflödet. Ladda om sidan.", "Frame flow error. Reload the page."],
  4100: ["ResumeFailed",
    "Sessionen kunde inte återupptas. Starta programmet igen från portalen.",
    "The session could not be resumed. Start the application again from the portal."],
  4101: ["SessionTakenOver", "Sessionen öppnades i ett annat fönster.",
    "The session was opened in another window."],
  4110: ["GatewayDraining", "Servern startas om. Återansluter …",
    "The server is restarting. Reconnecting …"],
  4200: ["HostUnreachable", "Värden går inte att nå just nu.",
    "The host cannot be reached right now."],
  4201: ["HostAuthFailed", "Värden godtog inte inloggningen.",
    "The host did not accept the sign-in."],
  4202: ["HostDisconnected", "Värden avslutade anslutningen.", "The host ended the connection."],
  4203: ["HostProtocolError", "Värden skickade data som inte gick att tolka.",
    "The host sent data that could not be decoded."],
  4204: ["HostNotResponding", "Värden svarar inte.", "The host is not responding."],
  4300: ["EndedByAdmin", "Sessionen avslutades av administratör.",
    "The session was ended by an administrator."],
  4301: ["IdleTimeout", "Sessionen avslutades efter inaktivitet.",
    "The session ended after inactivity."],
  4302: ["ServiceWindow", "Ett servicefönster har börjat.", "A service window has begun."],
  4303: ["GatewayShutdown", "Tjänsten startas om. Försök igen om en stund.",
    "The service is restarting. Try again shortly."],
  4304: ["UserEnded", "Sessionen är avslutad.", "The session has ended."],
  4305: ["SessionLimit", "Sessionen nådde sin längsta tillåtna tid och avslutades.",
    "The session reached its maximum length and was ended."],
  4500: ["InternalError", "Ett internt fel inträffade. Försök igen.",
    "An internal error occurred. Try again."],
});

/** Status codes for the overlay: [name, Swedish, English]; {s} is the countdown. */
export const STATUS_CODES = Object.freeze({
  1: ["Connecting", "Ansluter …", "Connecting …"],
  2: ["Connected", "Ansluten.", "Connected."],
  3: ["HostReconnecting", "Återansluter till värden … ({s} s kvar)",
    "Reconnecting to the host … ({s} s left)"],
  4: ["HostNotResponding", "Värden svarar inte.", "The host is not responding."],
  5: ["EndedByAdmin", "Sessionen avslutades av administratör.",
    "The session was ended by an administrator."],
  6: ["IdleWarning", "Inaktivitet: sessionen kopplas från om {s} s.",
    "Inactivity: the session disconnects in {s} s."],
  7: ["ServiceWindowWarning", "Servicefönster börjar om {s} s. Spara ditt arbete.",
    "A service window begins in {s} s. Save your work."],
  8: ["Resumed", "Sessionen återupptogs.", "The session was resumed."],
  9: ["ClipboardTooLarge", "Urklippet är för stort för att föras över.",
    "The clipboard is too large to transfer."],
  10: ["ClipboardDisabled", "Urklipp är avstängt för den här tjänsten.",
    "The clipboard is switched off for this service."],
  11: ["ResizeUnsupported", "Värden kan inte byta upplösning; bilden skalas.",
    "The host cannot change resolution; the picture is scaled."],
  12: ["SessionLimitWarning",
    "Sessionen når sin längsta tillåtna tid och loggas ut om {s} s. Spara ditt arbete.",
    "The session reaches its maximum length and is logged off in {s} s. Save your work."],
  13: ["IdleWarningCleared", "Du är aktiv igen; sessionen fortsätter.",
    "You are active again; the session goes on."],
});

/** The user text for a close code ("en" for English, Swedish otherwise). */
export function closeReason(code, lang = "sv") {
  const entry = CLOSE_CODES[code];
  if (!entry) return lang === "en" ? "The connection was closed." : "Anslutningen stängdes.";
  return lang === "en" ? entry[2] : entry[1];
}

/** The overlay text for a Status message. */
export function statusText(code, seconds = 0, lang = "sv") {
  const entry = STATUS_CODES[code];
  if (!entry) return "";
  return (lang === "en" ? entry[2] : entry[1]).replace("{s}", String(seconds));
}

/** A rejected message; `code` is the websocket close code to close with. */
export class WireError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "WireError";
    this.code = code;
  }
}

const E = {
  malformed: 4004, unknownType: 4003, tooLarge: 4002, text: 4005, bounds: 4006,
  version: 4001, unexpected: 4007, flow: 4008,
};

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

function decodeUtf8(bytes, field) {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new WireError(E.text, `${field} is not valid UTF-8`);
  }
}

function toBytes(input) {
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) {
    return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  }
  throw new TypeError("expected an ArrayBuffer or a typed array");
}

class Reader {
  constructor(bytes, kind) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
    this.kind = kind;
  }
  need(n) {
    const remaining = this.bytes.length - this.pos;
    if (remaining < n) {
      throw new WireError(E.malformed,
        `${this.kind} message truncated: needed ${n} more bytes, ${remaining} left`);
    }
  }
  u8() { this.need(1); return this.view.getUint8(this.pos++); }
  u16() { this.need(2); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  i16() { this.need(2); const v = this.view.getInt16(this.pos, true); this.pos += 2; return v; }
  u32() { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  take(n) { this.need(n); const v = this.bytes.slice(this.pos, this.pos + n); this.pos += n; return v; }
  bool(field) {
    const v = this.u8();
    if (v > 1) throw new WireError(E.malformed, `${field} has the unknown value ${v}`);
    return v === 1;
  }
  shortBytes() { return this.take(this.u8()); }
  text16(field, max) {
    const len = this.u16();
    if (len > max) throw new WireError(E.tooLarge, `${field} of ${len} bytes exceeds ${max}`);
    return decodeUtf8(this.take(len), field);
  }
  rest() { const v = this.bytes.slice(this.pos); this.pos = this.bytes.length; return v; }
  finish() {
    const extra = this.bytes.length - this.pos;
    if (extra !== 0) throw new WireError(E.malformed, `${this.kind} message has ${extra} trailing bytes`);
  }
}

function range(field, value, min, max) {
  if (!(value >= min && value <= max)) {
    throw new WireError(E.bounds, `${field} = ${value} is outside ${min}..=${max}`);
  }
  return value;
}
const extent = (field, v, max) => range(field, v, 1, max);
const coord = (field, v, max) => range(field, v, 0, max - 1);
function rect(field, x, y, w, h, width, height) {
  extent(field, w, width);
  extent(field, h, height);
  range(field, x + w, 1, width);
  range(field, y + h, 1, height);
}
function capLen(field, len, max) {
  if (len > max) throw new WireError(E.tooLarge, `${field} of ${len} bytes exceeds ${max}`);
}
function known(field, value, ok) {
  if (!ok) throw new WireError(E.malformed, `${field} has the unknown value ${value}`);
}

/** Decodes one server→client message (stateless; see ServerStream for order rules). */
export function decodeServer(input, limits = DEFAULT_LIMITS) {
  const bytes = toBytes(input);
  const max = maxServerMessage(limits);
  if (bytes.length > max) throw new WireError(E.tooLarge, `message of ${bytes.length} bytes exceeds ${max}`);
  if (bytes.length === 0) throw new WireError(E.malformed, "empty message");
  const dim = Math.min(limits.maxDimension, MAX_DIMENSION);
  const type = bytes[0];
  const body = bytes.subarray(1);
  const name = Object.keys(S).find((k) => S[k] === type);
  if (!name) throw new WireError(E.unknownType, `unknown message type 0x${type.toString(16)}`);
  const r = new Reader(body, name);
  let m;
  switch (type) {
    case S.ServerHello: {
      const version = r.u16();
      const sessionId = r.take(16);
      const width = extent("width", r.u16(), dim);
      const height = extent("height", r.u16(), dim);
      const resumeToken = r.shortBytes();
      capLen("resume_token", resumeToken.length, MAX_RESUME_TOKEN);
      const capabilities = r.u32();
      m = { type: name, version, sessionId, width, height, resumeToken, capabilities };
      break;
    }
    case S.Tile: {
      const x = r.u16(), y = r.u16(), w = r.u16(), h = r.u16();
      rect("tile", x, y, w, h, dim, dim);
      const enc = r.u8();
      known("encoding", enc, enc < TILE_ENCODINGS.length);
      const data = r.rest();
      if (data.length === 0) throw new WireError(E.malformed, "Tile message truncated: no data");
      capLen("tile data", data.length, limits.maxTilePayload);
      m = { type: name, x, y, w, h, encoding: TILE_ENCODINGS[enc], data };
      break;
    }
    case S.CopyRect: {
      const [srcX, srcY, w, h, dstX, dstY] = [r.u16(), r.u16(), r.u16(), r.u16(), r.u16(), r.u16()];
      r.finish();
      rect("copy source", srcX, srcY, w, h, dim, dim);
      rect("copy destination", dstX, dstY, w, h, dim, dim);
      m = { type: name, srcX, srcY, w, h, dstX, dstY };
      break;
    }
    case S.FrameEnd: m = { type: name, frameId: r.u32() }; break;
    case S.CursorShape: {
      const id = r.u16(), hotspotX = r.u16(), hotspotY = r.u16();
      const w = extent("cursor width", r.u16(), MAX_CURSOR_SIZE);
      const h = extent("cursor height", r.u16(), MAX_CURSOR_SIZE);
      coord("hotspot_x", hotspotX, w);
      coord("hotspot_y", hotspotY, h);
      const rgba = r.rest();
      if (rgba.length !== w * h * 4) {
        throw new WireError(E.malformed, `CursorShape has ${rgba.length} pixel bytes, expected ${w * h * 4}`);
      }
      m = { type: name, id, hotspotX, hotspotY, w, h, rgba };
      break;
    }
    case S.CursorCached: m = { type: name, id: r.u16() }; break;
    case S.CursorPosition: m = { type: name, x: coord("x", r.u16(), dim), y: coord("y", r.u16(), dim) }; break;
    case S.CursorHidden: m = { type: name }; break;
    case S.ClipboardText: {
      const raw = r.rest();
      capLen("clipboard text", raw.length, limits.maxClipboard);
      m = { type: name, text: decodeUtf8(raw, "clipboard text") };
      break;
    }
    case S.Resized:
      m = { type: name, width: extent("width", r.u16(), dim), height: extent("height", r.u16(), dim) };
      break;
    case S.Status: {
      const code = r.u8();
      known("status code", code, code in STATUS_CODES);
      const seconds = r.u16();
      m = { type: name, code, seconds, detail: r.text16("detail", MAX_DETAIL) };
      break;
    }
    case S.Close: {
      const code = r.u16();
      known("close code", code, code in CLOSE_CODES);
      m = { type: name, code, reason: r.text16("reason", MAX_DETAIL) };
      break;
    }
    case S.Pong: m = { type: name, timestamp: r.u32() }; break;
    case S.AdminMessage: {
      const sender = r.text16("sender", MAX_MESSAGE_SENDER);
      m = { type: name, sender, text: r.text16("text", MAX_MESSAGE_TEXT) };
      break;
    }
    case S.PrintNotice: {
      const jobId = uuidString(r.take(16));
      const outcome = r.u8();
      const pages = r.u32();
      const title = r.text16("title", MAX_PRINT_TITLE);
      const reason = r.text16("reason", MAX_PRINT_REASON);
      r.finish();
      known("print outcome", outcome, outcome === 0 || outcome === 1);
      if (outcome === 0 && reason === "") {
        m = { type: name, jobId, title, outcome: "ready", pages };
      } else if (outcome === 1 && pages === 0 && /^[a-z0-9_]{1,63}$/.test(reason)) {
        m = { type: name, jobId, title, outcome: "refused", reason };
      } else {
        throw new WireError(E.malformed, "print notice fields do not fit its outcome");
      }
      break;
    }
  }
  r.finish();
  return m;
}

/** 16 bytes as a lower-case UUID string (8-4-4-4-12). */
export function uuidString(bytes) {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Decodes one client→server message (for tests; the gateway decodes in Rust). */
export function decodeClient(input, limits = DEFAULT_LIMITS) {
  const bytes = toBytes(input);
  if (bytes.length === 0) throw new WireError(E.malformed, "empty message");
  const type = bytes[0];
  const max = type === C.ClipboardText ? limits.maxClipboard + 1 : limits.maxClientMessage;
  if (bytes.length > max) throw new WireError(E.tooLarge, `message of ${bytes.length} bytes exceeds ${max}`);
  const name = Object.keys(C).find((k) => C[k] === type);
  if (!name) throw new WireError(E.unknownType, `unknown message type 0x${type.toString(16)}`);
  const dim = Math.min(limits.maxDimension, MAX_DIMENSION);
  const r = new Reader(bytes.subarray(1), name);
  let m;
  switch (type) {
    case C.ClientHello: {
      const version = r.u16();
      const width = extent("width", r.u16(), dim);
      const height = extent("height", r.u16(), dim);
      const scalePercent = range("scale_percent", r.u16(), MIN_SCALE_PERCENT, MAX_SCALE_PERCENT);
      const token = r.shortBytes();
      capLen("resume_token", token.length, MAX_RESUME_TOKEN);
      const layout = r.shortBytes();
      capLen("keyboard_layout", layout.length, MAX_LAYOUT_HINT);
      const keyboardLayout = String.fromCharCode(...layout);
      known("keyboard_layout", keyboardLayout, /^[A-Za-z0-9-]*$/.test(keyboardLayout));
      m = {
        type: name, version, width, height, scalePercent,
        resumeToken: token.length ? token : null, keyboardLayout,
      };
      break;
    }
    case C.KeyScancode: {
      const scancode = r.u16();
      known("scancode", scancode, validScancode(scancode));
      m = { type: name, scancode, down: r.bool("down") };
      break;
    }
    case C.KeyUnicode: {
      const codepoint = r.u32();
      known("codepoint", codepoint, validCodepoint(codepoint));
      m = { type: name, codepoint, down: r.bool("down") };
      break;
    }
    case C.MouseMove: m = { type: name, x: coord("x", r.u16(), dim), y: coord("y", r.u16(), dim) }; break;
    case C.MouseButton: {
      const button = r.u8();
      known("button", button, button <= 4);
      const down = r.bool("down");
      m = { type: name, button, down, x: coord("x", r.u16(), dim), y: coord("y", r.u16(), dim) };
      break;
    }
    case C.MouseWheel: m = { type: name, deltaX: r.i16(), deltaY: r.i16() }; break;
    case C.FrameAck: m = { type: name, frameId: r.u32() }; break;
    case C.ResizeRequest:
      m = { type: name, width: extent("width", r.u16(), dim), height: extent("height", r.u16(), dim) };
      break;
    case C.ClipboardText: m = { type: name, text: decodeUtf8(r.rest(), "clipboard text") }; break;
    case C.ReleaseAllKeys: m = { type: name }; break;
    case C.Ping: m = { type: name, timestamp: r.u32() }; break;
  }
  r.finish();
  return m;
}

function validScancode(v) {
  const high = v >> 8, low = v & 0xff;
  if (high === 0x00 || high === 0xe0) return low >= 0x01 && low <= 0x7f;
  return high === 0xe1 && low === 0x1d;
}

function validCodepoint(cp) {
  return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
}

class Writer {
  constructor(type, size) {
    this.buf = new ArrayBuffer(1 + size);
    this.view = new DataView(this.buf);
    this.bytes = new Uint8Array(this.buf);
    this.view.setUint8(0, type);
    this.pos = 1;
  }
  u8(v) { this.view.setUint8(this.pos, v); this.pos += 1; return this; }
  u16(v) { this.view.setUint16(this.pos, v, true); this.pos += 2; return this; }
  i16(v) { this.view.setInt16(this.pos, v, true); this.pos += 2; return this; }
  u32(v) { this.view.setUint32(this.pos, v, true); this.pos += 4; return this; }
  raw(bytes) { this.bytes.set(bytes, this.pos); this.pos += bytes.length; return this; }
  shortBytes(bytes) { return this.u8(bytes.length).raw(bytes); }
}

// The encoder checks what it is given, so a viewer bug shows up at once in the browser
// console instead of as a close code from the gateway.
function int(field, v, min, max) {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new WireError(E.bounds, `${field} = ${v} is outside ${min}..=${max}`);
  }
  return v;
}
const u16 = (f, v) => int(f, v, 0, 0xffff);
const u32 = (f, v) => int(f, v, 0, 0xffffffff);
const dimension = (f, v) => int(f, v, 1, MAX_DIMENSION);
const position = (f, v) => int(f, v, 0, MAX_DIMENSION - 1);
function bool(field, v) {
  if (typeof v !== "boolean") throw new WireError(E.malformed, `${field} must be a boolean`);
  return v ? 1 : 0;
}

/** Encodes one client→server message into an ArrayBuffer (one websocket frame). */
export function encodeClient(m, limits = DEFAULT_LIMITS) {
  switch (m.type) {
    case "ClientHello": {
      const token = m.resumeToken ? toBytes(m.resumeToken) : new Uint8Array(0);
      capLen("resume_token", token.length, MAX_RESUME_TOKEN);
      const layout = m.keyboardLayout ?? "";
      if (!/^[A-Za-z0-9-]*$/.test(layout)) {
        throw new WireError(E.malformed, `keyboard_layout ${JSON.stringify(layout)} is not a BCP 47 tag`);
      }
      capLen("keyboard_layout", layout.length, MAX_LAYOUT_HINT);
      return new Writer(C.ClientHello, 10 + token.length + layout.length)
        .u16(u16("version", m.version ?? PROTOCOL_VERSION))
        .u16(dimension("width", m.width)).u16(dimension("height", m.height))
        .u16(int("scale_percent", m.scalePercent ?? 100, MIN_SCALE_PERCENT, MAX_SCALE_PERCENT))
        .shortBytes(token).shortBytes(utf8Encoder.encode(layout)).buf;
    }
    case "KeyScancode":
      if (!validScancode(m.scancode)) throw new WireError(E.malformed, `scancode ${m.scancode} is invalid`);
      return new Writer(C.KeyScancode, 3).u16(m.scancode).u8(bool("down", m.down)).buf;
    case "KeyUnicode":
      if (!validCodepoint(m.codepoint)) throw new WireError(E.malformed, `codepoint ${m.codepoint} is invalid`);
      return new Writer(C.KeyUnicode, 5).u32(m.codepoint).u8(bool("down", m.down)).buf;
    case "MouseMove":
      return new Writer(C.MouseMove, 4).u16(position("x", m.x)).u16(position("y", m.y)).buf;
    case "MouseButton":
      return new Writer(C.MouseButton, 6).u8(int("button", m.button, 0, 4)).u8(bool("down", m.down))
        .u16(position("x", m.x)).u16(position("y", m.y)).buf;
    case "MouseWheel":
      return new Writer(C.MouseWheel, 4)
        .i16(int("deltaX", m.deltaX, -0x8000, 0x7fff)).i16(int("deltaY", m.deltaY, -0x8000, 0x7fff)).buf;
    case "FrameAck":
      return new Writer(C.FrameAck, 4).u32(u32("frameId", m.frameId)).buf;
    case "ResizeRequest":
      return new Writer(C.ResizeRequest, 4).u16(dimension("width", m.width)).u16(dimension("height", m.height)).buf;
    case "ClipboardText": {
      if (typeof m.text !== "string") throw new WireError(E.malformed, "text must be a string");
      // TextEncoder turns lone surrogates into U+FFFD, so the bytes are always valid UTF-8.
      const bytes = utf8Encoder.encode(m.text);
      capLen("clipboard text", bytes.length, limits.maxClipboard);
      return new Writer(C.ClipboardText, bytes.length).raw(bytes).buf;
    }
    case "ReleaseAllKeys":
      return new Writer(C.ReleaseAllKeys, 0).buf;
    case "Ping":
      return new Writer(C.Ping, 4).u32(u32("timestamp", m.timestamp)).buf;
    default:
      throw new WireError(E.unknownType, `unknown client message type ${m.type}`);
  }
}

/**
 * The viewer's per-connection state: ServerHello first and once, a version it offered,
 * rectangles inside the current screen (which Resized changes), nothing after Close.
 */
export class ServerStream {
  constructor(limits = DEFAULT_LIMITS, offered = PROTOCOL_VERSION) {
    this.limits = limits;
    this.offered = offered;
    this.screen = null;
    this.closed = false;
  }

  receive(input) {
    const m = decodeServer(input, this.limits);
    if (this.closed) throw new WireError(E.unexpected, `${m.type} after Close`);
    if (!this.screen) {
      if (m.type !== "ServerHello") throw new WireError(E.unexpected, `${m.type} before ServerHello`);
      if (m.version < MIN_PROTOCOL_VERSION || m.version > this.offered) {
        throw new WireError(E.version, `protocol version ${m.version} was not offered`);
      }
      this.screen = { width: m.width, height: m.height };
      return m;
    }
    const { width, height } = this.screen;
    switch (m.type) {
      case "ServerHello": throw new WireError(E.unexpected, "ServerHello twice");
      case "Tile": rect("tile", m.x, m.y, m.w, m.h, width, height); break;
      case "CopyRect":
        rect("copy source", m.srcX, m.srcY, m.w, m.h, width, height);
        rect("copy destination", m.dstX, m.dstY, m.w, m.h, width, height);
        break;
      case "CursorPosition": coord("x", m.x, width); coord("y", m.y, height); break;
      case "Resized": this.screen = { width: m.width, height: m.height }; break;
      case "Close": this.closed = true; break;
    }
    return m;
  }
}

/** `KeyboardEvent.code` → RDP scancode (set 1; 0xE0xx extended, 0xE11D Pause). */
export const KEY_CODES = Object.freeze({
  Escape: 0x01, Digit1: 0x02, Digit2: 0x03, Digit3: 0x04, Digit4: 0x05, Digit5: 0x06,
  Digit6: 0x07, Digit7: 0x08, Digit8: 0x09, Digit9: 0x0a, Digit0: 0x0b, Minus: 0x0c,
  Equal: 0x0d, Backspace: 0x0e, Tab: 0x0f, KeyQ: 0x10, KeyW: 0x11, KeyE: 0x12, KeyR: 0x13,
  KeyT: 0x14, KeyY: 0x15, KeyU: 0x16, KeyI: 0x17, KeyO: 0x18, KeyP: 0x19,
  BracketLeft: 0x1a, // Å on Swedish
  BracketRight: 0x1b, Enter: 0x1c, ControlLeft: 0x1d, KeyA: 0x1e, KeyS: 0x1f, KeyD: 0x20,
  KeyF: 0x21, KeyG: 0x22, KeyH: 0x23, KeyJ: 0x24, KeyK: 0x25, KeyL: 0x26,
  Semicolon: 0x27, // Ö
  Quote: 0x28, // Ä
  Backquote: 0x29, // §
  ShiftLeft: 0x2a, Backslash: 0x2b, KeyZ: 0x2c, KeyX: 0x2d, KeyC: 0x2e, KeyV: 0x2f,
  KeyB: 0x30, KeyN: 0x31, KeyM: 0x32, Comma: 0x33, Period: 0x34, Slash: 0x35,
  ShiftRight: 0x36, NumpadMultiply: 0x37, AltLeft: 0x38, Space: 0x39, CapsLock: 0x3a,
  F1: 0x3b, F2: 0x3c, F3: 0x3d, F4: 0x3e, F5: 0x3f, F6: 0x40, F7: 0x41, F8: 0x42, F9: 0x43,
  F10: 0x44, NumLock: 0x45, ScrollLock: 0x46, Numpad7: 0x47, Numpad8: 0x48, Numpad9: 0x49,
  NumpadSubtract: 0x4a, Numpad4: 0x4b, Numpad5: 0x4c, Numpad6: 0x4d, NumpadAdd: 0x4e,
  Numpad1: 0x4f, Numpad2: 0x50, Numpad3: 0x51, Numpad0: 0x52, NumpadDecimal: 0x53,
  IntlBackslash: 0x56, // < > on Swedish ISO keyboards
  F11: 0x57, F12: 0x58, NumpadEqual: 0x59, F13: 0x64, F14: 0x65, F15: 0x66, F16: 0x67,
  F17: 0x68, F18: 0x69, F19: 0x6a, F20: 0x6b, F21: 0x6c, F22: 0x6d, F23: 0x6e,
  KanaMode: 0x70, Lang2: 0x71, Lang1: 0x72, IntlRo: 0x73, F24: 0x76, Convert: 0x79,
  NonConvert: 0x7b, IntlYen: 0x7d, NumpadComma: 0x7e,
  MediaTrackPrevious: 0xe010, MediaTrackNext: 0xe019, NumpadEnter: 0xe01c,
  ControlRight: 0xe01d, AudioVolumeMute: 0xe020, LaunchApp2: 0xe021, MediaPlayPause: 0xe022,
  MediaStop: 0xe024, AudioVolumeDown: 0xe02e, AudioVolumeUp: 0xe030, BrowserHome: 0xe032,
  NumpadDivide: 0xe035, PrintScreen: 0xe037,
  AltRight: 0xe038, // AltGr
  Home: 0xe047, ArrowUp: 0xe048, PageUp: 0xe049, ArrowLeft: 0xe04b, ArrowRight: 0xe04d,
  End: 0xe04f, ArrowDown: 0xe050, PageDown: 0xe051, Insert: 0xe052, Delete: 0xe053,
  MetaLeft: 0xe05b, MetaRight: 0xe05c, ContextMenu: 0xe05d, Power: 0xe05e, Sleep: 0xe05f,
  WakeUp: 0xe063, BrowserSearch: 0xe065, BrowserFavorites: 0xe066, BrowserRefresh: 0xe067,
  BrowserStop: 0xe068, BrowserForward: 0xe069, BrowserBack: 0xe06a, LaunchApp1: 0xe06b,
  LaunchMail: 0xe06c, MediaSelect: 0xe06d, Pause: 0xe11d,
  // Older Firefox reported the Windows keys as OSLeft/OSRight.
  OSLeft: 0xe05b, OSRight: 0xe05c,
});

/** The scancode for a `KeyboardEvent.code`, or null (then send KeyUnicode for `key`). */
export function codeToScancode(code) {
  return Object.hasOwn(KEY_CODES, code) ? KEY_CODES[code] : null;
}

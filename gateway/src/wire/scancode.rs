//! RDP keyboard scancodes (PC set 1) as they travel in `KeyScancode` messages.
//!
//! A scancode is a u16: the low byte is the set-1 make code (0x01–0x7F), the high byte is
//! 0xE0 for extended keys (right Ctrl/AltGr, arrows, navigation block, Windows keys, …)
//! or 0xE1 for Pause, the one key with the E1 prefix. The browser maps
//! `KeyboardEvent.code` (a physical key position) to a scancode, so the host's layout —
//! Swedish, say — decides which character a key gives: å ä ö and AltGr combinations come
//! out right without the browser knowing the layout. [`CODE_TABLE`] is the same table as
//! `codeToScancode` in `web-client/static/wire.js`; a test keeps the two equal.

/// A validated scancode.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scancode(u16);

impl std::fmt::Debug for Scancode {
    // Hex, as scancode tables print them: 0xE038 reads as "extended 0x38" at a glance.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scancode({:#06X})", self.0)
    }
}

impl Scancode {
    /// Accepts make codes 0x01–0x7F, optionally with the E0 prefix; Pause as 0xE11D.
    pub const fn new(value: u16) -> Option<Self> {
        let [low, high] = value.to_le_bytes();
        let valid = match high {
            0x00 | 0xE0 => low >= 0x01 && low <= 0x7F,
            0xE1 => low == 0x1D,
            _ => false,
        };
        if valid { Some(Self(value)) } else { None }
    }

    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// The make code without prefix, as RDP's keyboard event carries it.
    pub const fn code(self) -> u8 {
        self.0.to_le_bytes()[0]
    }

    /// Whether RDP's KBDFLAGS_EXTENDED must be set.
    pub const fn is_extended(self) -> bool {
        self.0.to_le_bytes()[1] == 0xE0
    }

    /// Whether RDP's KBDFLAGS_EXTENDED1 (the E1 prefix, Pause only) must be set.
    pub const fn is_extended1(self) -> bool {
        self.0.to_le_bytes()[1] == 0xE1
    }

    /// Looks up a DOM `KeyboardEvent.code`.
    pub fn from_dom_code(code: &str) -> Option<Self> {
        CODE_TABLE
            .iter()
            .find(|(name, _)| *name == code)
            .map(|&(_, sc)| sc)
    }
}

macro_rules! scancodes {
    ($($(#[$meta:meta])* $name:ident = $value:expr;)*) => {
        $($(#[$meta])* pub const $name: Scancode = Scancode($value);)*
    };
}

scancodes! {
    ESCAPE = 0x01;
    BACKSPACE = 0x0E;
    TAB = 0x0F;
    ENTER = 0x1C;
    CONTROL_LEFT = 0x1D;
    SHIFT_LEFT = 0x2A;
    SHIFT_RIGHT = 0x36;
    ALT_LEFT = 0x38;
    SPACE = 0x39;
    CAPS_LOCK = 0x3A;
    NUM_LOCK = 0x45;
    SCROLL_LOCK = 0x46;
    DELETE = 0xE053;
    CONTROL_RIGHT = 0xE01D;
    /// AltGr on Swedish and other ISO layouts.
    ALT_RIGHT = 0xE038;
    META_LEFT = 0xE05B;
    META_RIGHT = 0xE05C;
    CONTEXT_MENU = 0xE05D;
    PAUSE = 0xE11D;
}

/// The keys a browser can lose track of when focus leaves the page; the gateway sends a
/// key-up for each on `ReleaseAllKeys` (besides every key it has seen go down).
pub const MODIFIERS: [Scancode; 8] = [
    SHIFT_LEFT,
    SHIFT_RIGHT,
    CONTROL_LEFT,
    CONTROL_RIGHT,
    ALT_LEFT,
    ALT_RIGHT,
    META_LEFT,
    META_RIGHT,
];

/// `KeyboardEvent.code` → scancode for the full PC/ISO keyboard (W3C UI Events code values).
pub const CODE_TABLE: &[(&str, Scancode)] = &[
    ("Escape", Scancode(0x01)),
    ("Digit1", Scancode(0x02)),
    ("Digit2", Scancode(0x03)),
    ("Digit3", Scancode(0x04)),
    ("Digit4", Scancode(0x05)),
    ("Digit5", Scancode(0x06)),
    ("Digit6", Scancode(0x07)),
    ("Digit7", Scancode(0x08)),
    ("Digit8", Scancode(0x09)),
    ("Digit9", Scancode(0x0A)),
    ("Digit0", Scancode(0x0B)),
    ("Minus", Scancode(0x0C)),
    ("Equal", Scancode(0x0D)),
    ("Backspace", Scancode(0x0E)),
    ("Tab", Scancode(0x0F)),
    ("KeyQ", Scancode(0x10)),
    ("KeyW", Scancode(0x11)),
    ("KeyE", Scancode(0x12)),
    ("KeyR", Scancode(0x13)),
    ("KeyT", Scancode(0x14)),
    ("KeyY", Scancode(0x15)),
    ("KeyU", Scancode(0x16)),
    ("KeyI", Scancode(0x17)),
    ("KeyO", Scancode(0x18)),
    ("KeyP", Scancode(0x19)),
    ("BracketLeft", Scancode(0x1A)),
    ("BracketRight", Scancode(0x1B)),
    ("Enter", Scancode(0x1C)),
    ("ControlLeft", Scancode(0x1D)),
    ("KeyA", Scancode(0x1E)),
    ("KeyS", Scancode(0x1F)),
    ("KeyD", Scancode(0x20)),
    ("KeyF", Scancode(0x21)),
    ("KeyG", Scancode(0x22)),
    ("KeyH", Scancode(0x23)),
    ("KeyJ", Scancode(0x24)),
    ("KeyK", Scancode(0x25)),
    ("KeyL", Scancode(0x26)),
    ("Semicolon", Scancode(0x27)),
    ("Quote", Scancode(0x28)),
    ("Backquote", Scancode(0x29)),
    ("ShiftLeft", Scancode(0x2A)),
    ("Backslash", Scancode(0x2B)),
    ("KeyZ", Scancode(0x2C)),
    ("KeyX", Scancode(0x2D)),
    ("KeyC", Scancode(0x2E)),
    ("KeyV", Scancode(0x2F)),
    ("KeyB", Scancode(0x30)),
    ("KeyN", Scancode(0x31)),
    ("KeyM", Scancode(0x32)),
    ("Comma", Scancode(0x33)),
    ("Period", Scancode(0x34)),
    ("Slash", Scancode(0x35)),
    ("ShiftRight", Scancode(0x36)),
    ("NumpadMultiply", Scancode(0x37)),
    ("AltLeft", Scancode(0x38)),
    ("Space", Scancode(0x39)),
    ("CapsLock", Scancode(0x3A)),
    ("F1", Scancode(0x3B)),
    ("F2", Scancode(0x3C)),
    ("F3", Scancode(0x3D)),
    ("F4", Scancode(0x3E)),
    ("F5", Scancode(0x3F)),
    ("F6", Scancode(0x40)),
    ("F7", Scancode(0x41)),
    ("F8", Scancode(0x42)),
    ("F9", Scancode(0x43)),
    ("F10", Scancode(0x44)),
    ("NumLock", Scancode(0x45)),
    ("ScrollLock", Scancode(0x46)),
    ("Numpad7", Scancode(0x47)),
    ("Numpad8", Scancode(0x48)),
    ("Numpad9", Scancode(0x49)),
    ("NumpadSubtract", Scancode(0x4A)),
    ("Numpad4", Scancode(0x4B)),
    ("Numpad5", Scancode(0x4C)),
    ("Numpad6", Scancode(0x4D)),
    ("NumpadAdd", Scancode(0x4E)),
    ("Numpad1", Scancode(0x4F)),
    ("Numpad2", Scancode(0x50)),
    ("Numpad3", Scancode(0x51)),
    ("Numpad0", Scancode(0x52)),
    ("NumpadDecimal", Scancode(0x53)),
    ("IntlBackslash", Scancode(0x56)),
    ("F11", Scancode(0x57)),
    ("F12", Scancode(0x58)),
    ("NumpadEqual", Scancode(0x59)),
    ("F13", Scancode(0x64)),
    ("F14", Scancode(0x65)),
    ("F15", Scancode(0x66)),
    ("F16", Scancode(0x67)),
    ("F17", Scancode(0x68)),
    ("F18", Scancode(0x69)),
    ("F19", Scancode(0x6A)),
    ("F20", Scancode(0x6B)),
    ("F21", Scancode(0x6C)),
    ("F22", Scancode(0x6D)),
    ("F23", Scancode(0x6E)),
    ("KanaMode", Scancode(0x70)),
    ("Lang2", Scancode(0x71)),
    ("Lang1", Scancode(0x72)),
    ("IntlRo", Scancode(0x73)),
    ("F24", Scancode(0x76)),
    ("Convert", Scancode(0x79)),
    ("NonConvert", Scancode(0x7B)),
    ("IntlYen", Scancode(0x7D)),
    ("NumpadComma", Scancode(0x7E)),
    ("MediaTrackPrevious", Scancode(0xE010)),
    ("MediaTrackNext", Scancode(0xE019)),
    ("NumpadEnter", Scancode(0xE01C)),
    ("ControlRight", Scancode(0xE01D)),
    ("AudioVolumeMute", Scancode(0xE020)),
    ("LaunchApp2", Scancode(0xE021)),
    ("MediaPlayPause", Scancode(0xE022)),
    ("MediaStop", Scancode(0xE024)),
    ("AudioVolumeDown", Scancode(0xE02E)),
    ("AudioVolumeUp", Scancode(0xE030)),
    ("BrowserHome", Scancode(0xE032)),
    ("NumpadDivide", Scancode(0xE035)),
    ("PrintScreen", Scancode(0xE037)),
    ("AltRight", Scancode(0xE038)),
    ("Home", Scancode(0xE047)),
    ("ArrowUp", Scancode(0xE048)),
    ("PageUp", Scancode(0xE049)),
    ("ArrowLeft", Scancode(0xE04B)),
    ("ArrowRight", Scancode(0xE04D)),
    ("End", Scancode(0xE04F)),
    ("ArrowDown", Scancode(0xE050)),
    ("PageDown", Scancode(0xE051)),
    ("Insert", Scancode(0xE052)),
    ("Delete", Scancode(0xE053)),
    ("MetaLeft", Scancode(0xE05B)),
    ("MetaRight", Scancode(0xE05C)),
    ("ContextMenu", Scancode(0xE05D)),
    ("Power", Scancode(0xE05E)),
    ("Sleep", Scancode(0xE05F)),
    ("WakeUp", Scancode(0xE063)),
    ("BrowserSearch", Scancode(0xE065)),
    ("BrowserFavorites", Scancode(0xE066)),
    ("BrowserRefresh", Scancode(0xE067)),
    ("BrowserStop", Scancode(0xE068)),
    ("BrowserForward", Scancode(0xE069)),
    ("BrowserBack", Scancode(0xE06A)),
    ("LaunchApp1", Scancode(0xE06B)),
    ("LaunchMail", Scancode(0xE06C)),
    ("MediaSelect", Scancode(0xE06D)),
    ("Pause", Scancode(0xE11D)),
    // Older Firefox reported the Windows keys as OSLeft/OSRight.
    ("OSLeft", Scancode(0xE05B)),
    ("OSRight", Scancode(0xE05C)),
];

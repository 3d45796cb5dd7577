//! Turns RDP keyboard input into application events.
//!
//! RDP clients send either scancodes (PC/AT set 1, as a physical keyboard produces them) or
//! Unicode code points. Scancodes are interpreted with a **Swedish** layout (the layout the
//! users of this product have): å ä ö sit right of P, L and Ö; shift and AltGr levels follow
//! the Swedish Windows layout. Dead keys (´ ¨) are ignored. Unicode events are passed through,
//! which is how clients with other layouts still type å/ä/ö correctly.

use crate::app::{Event, Key};

/// One keyboard event as RDP delivers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyInput {
    Scancode {
        code: u8,
        extended: bool,
        pressed: bool,
    },
    Unicode {
        code: u16,
        pressed: bool,
    },
    /// Toggle-key state sync; `caps_lock` is the only toggle we use.
    Sync {
        caps_lock: bool,
    },
}

/// Modifier state of one connection's keyboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyboardState {
    left_shift: bool,
    right_shift: bool,
    alt_gr: bool,
    left_ctrl: bool,
    right_ctrl: bool,
    left_alt: bool,
    caps_lock: bool,
}

const SC_BACKSPACE: u8 = 0x0E;
const SC_TAB: u8 = 0x0F;
const SC_ENTER: u8 = 0x1C;
const SC_LCTRL: u8 = 0x1D;
const SC_LSHIFT: u8 = 0x2A;
const SC_RSHIFT: u8 = 0x36;
const SC_ALT: u8 = 0x38;
const SC_CAPS: u8 = 0x3A;
const SC_ESC: u8 = 0x01;
const SC_UP: u8 = 0x48;
const SC_DOWN: u8 = 0x50;
const SC_C: u8 = 0x2E;
const SC_V: u8 = 0x2F;

impl KeyboardState {
    pub fn new() -> Self {
        Self::default()
    }

    fn shift(&self) -> bool {
        self.left_shift || self.right_shift
    }

    /// Ctrl without Alt (Ctrl+Alt is AltGr): the shortcut modifier.
    fn ctrl_only(&self) -> bool {
        (self.left_ctrl || self.right_ctrl) && !self.left_alt && !self.alt_gr
    }

    fn alt_gr_active(&self) -> bool {
        // Windows clients send AltGr as Ctrl+Alt; FreeRDP sends right Alt (extended 0x38).
        self.alt_gr || (self.left_ctrl && self.left_alt)
    }

    /// Feeds one RDP keyboard event; returns the application event it produces, if any.
    pub fn handle(&mut self, input: KeyInput) -> Option<Event> {
        match input {
            KeyInput::Sync { caps_lock } => {
                self.caps_lock = caps_lock;
                None
            }
            KeyInput::Unicode { code, pressed } => {
                if !pressed {
                    return None;
                }
                match code {
                    0x08 => Some(Event::Key(Key::Backspace)),
                    0x09 => Some(Event::Key(Key::Tab)),
                    0x0D => Some(Event::Key(Key::Enter)),
                    0x1B => Some(Event::Key(Key::Escape)),
                    _ => char::from_u32(u32::from(code))
                        .filter(|c| !c.is_control())
                        .map(Event::Text),
                }
            }
            KeyInput::Scancode {
                code,
                extended,
                pressed,
            } => self.scancode(code, extended, pressed),
        }
    }

    fn scancode(&mut self, code: u8, extended: bool, pressed: bool) -> Option<Event> {
        match (code, extended) {
            (SC_LSHIFT, false) => self.left_shift = pressed,
            (SC_RSHIFT, _) => self.right_shift = pressed,
            (SC_ALT, true) => self.alt_gr = pressed,
            (SC_ALT, false) => self.left_alt = pressed,
            (SC_LCTRL, false) => self.left_ctrl = pressed,
            (SC_LCTRL, true) => self.right_ctrl = pressed,
            (SC_CAPS, false) if pressed => self.caps_lock = !self.caps_lock,
            _ if !pressed => {}
            (SC_BACKSPACE, false) => return Some(Event::Key(Key::Backspace)),
            (SC_TAB, false) => {
                let key = if self.shift() { Key::ShiftTab } else { Key::Tab };
                return Some(Event::Key(key));
            }
            (SC_ENTER, _) => return Some(Event::Key(Key::Enter)),
            (SC_ESC, false) => return Some(Event::Key(Key::Escape)),
            (SC_UP, true) => return Some(Event::Key(Key::Up)),
            (SC_DOWN, true) => return Some(Event::Key(Key::Down)),
            (SC_C, false) if self.ctrl_only() => return Some(Event::Key(Key::Copy)),
            (SC_V, false) if self.ctrl_only() => return Some(Event::Key(Key::Paste)),
            (_, false) => return self.character(code).map(Event::Text),
            _ => {}
        }
        None
    }

    fn character(&self, code: u8) -> Option<char> {
        let (base, shifted, alt_gr) = swedish_key(code)?;
        if self.alt_gr_active() {
            return alt_gr;
        }
        if self.left_ctrl || self.right_ctrl || self.left_alt {
            // Shortcuts are not text.
            return None;
        }
        let c = if self.shift() { shifted } else { base };
        if self.caps_lock && base.is_alphabetic() {
            // Caps lock inverts the case of letters only.
            return Some(if c.is_uppercase() { base } else { shifted });
        }
        Some(c)
    }
}

/// Swedish layout: (unshifted, shifted, AltGr) for a non-extended set-1 scancode.
fn swedish_key(code: u8) -> Option<(char, char, Option<char>)> {
    let letter = |c: char| Some((c, c.to_uppercase().next().unwrap_or(c), None));
    match code {
        0x02 => Some(('1', '!', None)),
        0x03 => Some(('2', '"', Some('@'))),
        0x04 => Some(('3', '#', Some('£'))),
        0x05 => Some(('4', '¤', Some('$'))),
        0x06 => Some(('5', '%', Some('€'))),
        0x07 => Some(('6', '&', None)),
        0x08 => Some(('7', '/', Some('{'))),
        0x09 => Some(('8', '(', Some('['))),
        0x0A => Some(('9', ')', Some(']'))),
        0x0B => Some(('0', '=', Some('}'))),
        0x0C => Some(('+', '?', Some('\\'))),
        0x10 => letter('q'),
        0x11 => letter('w'),
        0x12 => Some(('e', 'E', Some('€'))),
        0x13 => letter('r'),
        0x14 => letter('t'),
        0x15 => letter('y'),
        0x16 => letter('u'),
        0x17 => letter('i'),
        0x18 => letter('o'),
        0x19 => letter('p'),
        0x1A => letter('å'),
        0x1E => letter('a'),
        0x1F => letter('s'),
        0x20 => letter('d'),
        0x21 => letter('f'),
        0x22 => letter('g'),
        0x23 => letter('h'),
        0x24 => letter('j'),
        0x25 => letter('k'),
        0x26 => letter('l'),
        0x27 => letter('ö'),
        0x28 => letter('ä'),
        0x29 => Some(('§', '½', None)),
        0x2B => Some(('\'', '*', None)),
        0x2C => letter('z'),
        0x2D => letter('x'),
        0x2E => letter('c'),
        0x2F => letter('v'),
        0x30 => letter('b'),
        0x31 => letter('n'),
        0x32 => Some(('m', 'M', Some('µ'))),
        0x33 => Some((',', ';', None)),
        0x34 => Some(('.', ':', None)),
        0x35 => Some(('-', '_', None)),
        0x39 => Some((' ', ' ', None)),
        0x56 => Some(('<', '>', Some('|'))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(kb: &mut KeyboardState, code: u8) -> Option<Event> {
        let ev = kb.handle(KeyInput::Scancode {
            code,
            extended: false,
            pressed: true,
        });
        kb.handle(KeyInput::Scancode {
            code,
            extended: false,
            pressed: false,
        });
        ev
    }

    fn key_down(kb: &mut KeyboardState, code: u8, extended: bool) {
        kb.handle(KeyInput::Scancode {
            code,
            extended,
            pressed: true,
        });
    }

    fn key_up(kb: &mut KeyboardState, code: u8, extended: bool) {
        kb.handle(KeyInput::Scancode {
            code,
            extended,
            pressed: false,
        });
    }

    #[test]
    fn swedish_letters_from_scancodes() {
        let mut kb = KeyboardState::new();
        assert_eq!(press(&mut kb, 0x1A), Some(Event::Text('å')));
        assert_eq!(press(&mut kb, 0x28), Some(Event::Text('ä')));
        assert_eq!(press(&mut kb, 0x27), Some(Event::Text('ö')));
        key_down(&mut kb, SC_LSHIFT, false);
        assert_eq!(press(&mut kb, 0x1A), Some(Event::Text('Å')));
        assert_eq!(press(&mut kb, 0x28), Some(Event::Text('Ä')));
        assert_eq!(press(&mut kb, 0x27), Some(Event::Text('Ö')));
        assert_eq!(press(&mut kb, 0x03), Some(Event::Text('"')));
        key_up(&mut kb, SC_LSHIFT, false);
        assert_eq!(press(&mut kb, 0x1E), Some(Event::Text('a')));
    }

    #[test]
    fn alt_gr_and_caps_lock() {
        let mut kb = KeyboardState::new();
        key_down(&mut kb, SC_ALT, true);
        assert_eq!(press(&mut kb, 0x03), Some(Event::Text('@')));
        assert_eq!(press(&mut kb, 0x56), Some(Event::Text('|')));
        key_up(&mut kb, SC_ALT, true);
        assert_eq!(press(&mut kb, 0x56), Some(Event::Text('<')));

        press(&mut kb, SC_CAPS);
        assert_eq!(press(&mut kb, 0x27), Some(Event::Text('Ö')));
        assert_eq!(
            press(&mut kb, 0x02),
            Some(Event::Text('1')),
            "caps lock leaves digits alone"
        );
        kb.handle(KeyInput::Sync { caps_lock: false });
        assert_eq!(press(&mut kb, 0x27), Some(Event::Text('ö')));
    }

    #[test]
    fn control_keys() {
        let mut kb = KeyboardState::new();
        assert_eq!(press(&mut kb, SC_BACKSPACE), Some(Event::Key(Key::Backspace)));
        assert_eq!(press(&mut kb, SC_TAB), Some(Event::Key(Key::Tab)));
        key_down(&mut kb, SC_RSHIFT, false);
        assert_eq!(press(&mut kb, SC_TAB), Some(Event::Key(Key::ShiftTab)));
        key_up(&mut kb, SC_RSHIFT, false);
        assert_eq!(press(&mut kb, SC_ENTER), Some(Event::Key(Key::Enter)));
        key_down(&mut kb, SC_DOWN, true);
        // A plain key with Ctrl held is a shortcut, not text.
        key_down(&mut kb, SC_LCTRL, false);
        assert_eq!(press(&mut kb, 0x1E), None);
    }

    #[test]
    fn ctrl_c_and_ctrl_v_are_clipboard_keys() {
        let mut kb = KeyboardState::new();
        assert_eq!(press(&mut kb, SC_C), Some(Event::Text('c')));
        key_down(&mut kb, SC_LCTRL, false);
        assert_eq!(press(&mut kb, SC_C), Some(Event::Key(Key::Copy)));
        assert_eq!(press(&mut kb, SC_V), Some(Event::Key(Key::Paste)));
        // Ctrl+Alt is AltGr, not a shortcut.
        key_down(&mut kb, SC_ALT, false);
        assert_eq!(press(&mut kb, SC_V), None);
        key_up(&mut kb, SC_ALT, false);
        key_up(&mut kb, SC_LCTRL, false);
        key_down(&mut kb, SC_LCTRL, true);
        assert_eq!(press(&mut kb, SC_V), Some(Event::Key(Key::Paste)), "right Ctrl");
        key_up(&mut kb, SC_LCTRL, true);
        assert_eq!(press(&mut kb, SC_V), Some(Event::Text('v')));
    }

    #[test]
    fn releases_and_unknown_codes_are_silent() {
        let mut kb = KeyboardState::new();
        let release = KeyInput::Scancode {
            code: 0x1E,
            extended: false,
            pressed: false,
        };
        assert_eq!(kb.handle(release), None);
        assert_eq!(press(&mut kb, 0x7F), None);
        assert_eq!(press(&mut kb, 0x3B), None, "F1");
    }

    #[test]
    fn unicode_events() {
        let mut kb = KeyboardState::new();
        let ev = |code| KeyInput::Unicode { code, pressed: true };
        assert_eq!(kb.handle(ev(0x00E5)), Some(Event::Text('å')));
        assert_eq!(kb.handle(ev(0x00C4)), Some(Event::Text('Ä')));
        assert_eq!(kb.handle(ev(0x00F6)), Some(Event::Text('ö')));
        assert_eq!(kb.handle(ev(0x0008)), Some(Event::Key(Key::Backspace)));
        assert_eq!(kb.handle(ev(0xD800)), None, "lone surrogate");
        assert_eq!(kb.handle(ev(0x0001)), None);
        assert_eq!(
            kb.handle(KeyInput::Unicode {
                code: 0x00E5,
                pressed: false
            }),
            None
        );
    }
}

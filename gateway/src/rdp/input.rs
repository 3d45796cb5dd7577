//! Input from the browser side ([`RdpInput`]) translated into RDP fast-path input events,
//! sans-IO. [`InputState`] remembers held keys and buttons so "release all" (focus loss)
//! lifts exactly what is down, and the pointer position so button and wheel events land
//! where the pointer is.

use std::collections::BTreeSet;

use ironrdp_pdu::input::fast_path::{FastPathInputEvent, KeyboardFlags, SynchronizeFlags};
use ironrdp_pdu::input::mouse::PointerFlags;
use ironrdp_pdu::input::mouse_x::PointerXFlags;
use ironrdp_pdu::input::{MousePdu, MouseXPdu};

/// A mouse button.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MouseButton {
    Left,
    Right,
    Middle,
    /// "Back" (extended button 1).
    X1,
    /// "Forward" (extended button 2).
    X2,
}

/// Wheel axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WheelAxis {
    Vertical,
    Horizontal,
}

/// One input event for the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RdpInput {
    /// A key by its scancode (set 1 make code, e.g. 0x1E for A); `extended` is the E0 prefix
    /// (right Ctrl/Alt (AltGr), arrows, Insert/Delete/Home/End/PgUp/PgDn, keypad Enter and /).
    Key {
        scancode: u8,
        extended: bool,
        down: bool,
    },
    /// A character with no scancode on the host layout (sent as a Unicode keyboard event).
    Unicode { ch: char, down: bool },
    /// Pointer moved to (x, y) in desktop pixels.
    MouseMove { x: u16, y: u16 },
    /// A button went down or up at the current pointer position.
    MouseButton { button: MouseButton, down: bool },
    /// Wheel rotation at the current pointer position, in RDP units (120 per notch;
    /// clamped to -256..=255 per event). Positive is up (vertical) or right (horizontal):
    /// a browser's `deltaY` must be negated.
    Wheel { axis: WheelAxis, delta: i16 },
    /// Set the lock keys' state (sent on focus gain).
    SyncLocks {
        caps_lock: bool,
        num_lock: bool,
        scroll_lock: bool,
    },
    /// Release every key and button this session holds down (focus loss).
    ReleaseAll,
}

/// Held keys and buttons and the pointer position of one session.
#[derive(Debug, Default)]
pub struct InputState {
    keys: BTreeSet<(u8, bool)>,
    buttons: BTreeSet<MouseButton>,
    x: u16,
    y: u16,
    max_x: u16,
    max_y: u16,
}

impl InputState {
    pub fn new(width: u16, height: u16) -> Self {
        let mut state = Self::default();
        state.set_desktop_size(width, height);
        state
    }

    /// Pointer positions are clamped into the desktop.
    pub fn set_desktop_size(&mut self, width: u16, height: u16) {
        self.max_x = width.saturating_sub(1);
        self.max_y = height.saturating_sub(1);
        self.x = self.x.min(self.max_x);
        self.y = self.y.min(self.max_y);
    }

    pub fn pointer_position(&self) -> (u16, u16) {
        (self.x, self.y)
    }

    /// Translates one input into fast-path events (none, one, or several for ReleaseAll and
    /// characters outside the Basic Multilingual Plane), updating the held state.
    pub fn translate(&mut self, input: RdpInput, out: &mut Vec<FastPathInputEvent>) {
        match input {
            RdpInput::Key {
                scancode,
                extended,
                down,
            } => {
                if down {
                    self.keys.insert((scancode, extended));
                } else {
                    self.keys.remove(&(scancode, extended));
                }
                out.push(key_event(scancode, extended, down));
            }
            RdpInput::Unicode { ch, down } => {
                let flags = if down {
                    KeyboardFlags::empty()
                } else {
                    KeyboardFlags::RELEASE
                };
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    out.push(FastPathInputEvent::UnicodeKeyboardEvent(flags, *unit));
                }
            }
            RdpInput::MouseMove { x, y } => {
                self.x = x.min(self.max_x);
                self.y = y.min(self.max_y);
                out.push(self.mouse(PointerFlags::MOVE, 0));
            }
            RdpInput::MouseButton { button, down } => {
                if down {
                    self.buttons.insert(button);
                } else {
                    self.buttons.remove(&button);
                }
                out.push(self.button_event(button, down));
            }
            RdpInput::Wheel { axis, delta } => {
                let flag = match axis {
                    WheelAxis::Vertical => PointerFlags::VERTICAL_WHEEL,
                    WheelAxis::Horizontal => PointerFlags::HORIZONTAL_WHEEL,
                };
                let clamped = delta.clamp(
                    *MousePdu::WHEEL_ROTATION_RANGE.start(),
                    *MousePdu::WHEEL_ROTATION_RANGE.end(),
                );
                if clamped != 0 {
                    out.push(self.mouse(flag, clamped));
                }
            }
            RdpInput::SyncLocks {
                caps_lock,
                num_lock,
                scroll_lock,
            } => {
                let mut flags = SynchronizeFlags::empty();
                flags.set(SynchronizeFlags::CAPS_LOCK, caps_lock);
                flags.set(SynchronizeFlags::NUM_LOCK, num_lock);
                flags.set(SynchronizeFlags::SCROLL_LOCK, scroll_lock);
                out.push(FastPathInputEvent::SyncEvent(flags));
            }
            RdpInput::ReleaseAll => {
                for (scancode, extended) in std::mem::take(&mut self.keys) {
                    out.push(key_event(scancode, extended, false));
                }
                for button in std::mem::take(&mut self.buttons) {
                    out.push(self.button_event(button, false));
                }
            }
        }
    }

    fn mouse(&self, flags: PointerFlags, wheel: i16) -> FastPathInputEvent {
        FastPathInputEvent::MouseEvent(MousePdu {
            flags,
            number_of_wheel_rotation_units: wheel,
            x_position: self.x,
            y_position: self.y,
        })
    }

    fn button_event(&self, button: MouseButton, down: bool) -> FastPathInputEvent {
        let extended = |flag: PointerXFlags| {
            FastPathInputEvent::MouseEventEx(MouseXPdu {
                flags: if down {
                    flag | PointerXFlags::DOWN
                } else {
                    flag
                },
                x_position: self.x,
                y_position: self.y,
            })
        };
        let basic = |flag: PointerFlags| {
            self.mouse(
                if down {
                    flag | PointerFlags::DOWN
                } else {
                    flag
                },
                0,
            )
        };
        match button {
            MouseButton::Left => basic(PointerFlags::LEFT_BUTTON),
            MouseButton::Right => basic(PointerFlags::RIGHT_BUTTON),
            MouseButton::Middle => basic(PointerFlags::MIDDLE_BUTTON_OR_WHEEL),
            MouseButton::X1 => extended(PointerXFlags::BUTTON1),
            MouseButton::X2 => extended(PointerXFlags::BUTTON2),
        }
    }
}

fn key_event(scancode: u8, extended: bool, down: bool) -> FastPathInputEvent {
    let mut flags = KeyboardFlags::empty();
    flags.set(KeyboardFlags::EXTENDED, extended);
    flags.set(KeyboardFlags::RELEASE, !down);
    FastPathInputEvent::KeyboardEvent(flags, scancode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(state: &mut InputState, inputs: &[RdpInput]) -> Vec<FastPathInputEvent> {
        let mut out = Vec::new();
        for input in inputs {
            state.translate(*input, &mut out);
        }
        out
    }

    #[test]
    fn keys_carry_extended_and_release_flags() {
        let mut s = InputState::new(1280, 800);
        let out = run(
            &mut s,
            &[
                RdpInput::Key {
                    scancode: 0x38,
                    extended: true,
                    down: true,
                },
                RdpInput::Key {
                    scancode: 0x38,
                    extended: true,
                    down: false,
                },
            ],
        );
        assert_eq!(
            out,
            vec![
                FastPathInputEvent::KeyboardEvent(KeyboardFlags::EXTENDED, 0x38),
                FastPathInputEvent::KeyboardEvent(
                    KeyboardFlags::EXTENDED | KeyboardFlags::RELEASE,
                    0x38
                ),
            ]
        );
    }

    #[test]
    fn release_all_lifts_exactly_what_is_held() {
        let mut s = InputState::new(1280, 800);
        run(
            &mut s,
            &[
                RdpInput::Key {
                    scancode: 0x2A,
                    extended: false,
                    down: true,
                },
                RdpInput::Key {
                    scancode: 0x1E,
                    extended: false,
                    down: true,
                },
                RdpInput::Key {
                    scancode: 0x1E,
                    extended: false,
                    down: false,
                },
                RdpInput::MouseMove { x: 10, y: 20 },
                RdpInput::MouseButton {
                    button: MouseButton::Left,
                    down: true,
                },
            ],
        );
        let out = run(&mut s, &[RdpInput::ReleaseAll]);
        assert_eq!(
            out,
            vec![
                FastPathInputEvent::KeyboardEvent(KeyboardFlags::RELEASE, 0x2A),
                FastPathInputEvent::MouseEvent(MousePdu {
                    flags: PointerFlags::LEFT_BUTTON,
                    number_of_wheel_rotation_units: 0,
                    x_position: 10,
                    y_position: 20,
                }),
            ]
        );
        assert!(
            run(&mut s, &[RdpInput::ReleaseAll]).is_empty(),
            "nothing left to release"
        );
    }

    #[test]
    fn pointer_is_clamped_and_buttons_land_where_it_is() {
        let mut s = InputState::new(800, 600);
        let out = run(
            &mut s,
            &[
                RdpInput::MouseMove { x: 5000, y: 5000 },
                RdpInput::MouseButton {
                    button: MouseButton::X2,
                    down: true,
                },
            ],
        );
        assert_eq!(s.pointer_position(), (799, 599));
        assert_eq!(
            out[1],
            FastPathInputEvent::MouseEventEx(MouseXPdu {
                flags: PointerXFlags::BUTTON2 | PointerXFlags::DOWN,
                x_position: 799,
                y_position: 599,
            })
        );
    }

    #[test]
    fn wheel_is_clamped_and_zero_is_dropped() {
        let mut s = InputState::new(800, 600);
        let out = run(
            &mut s,
            &[
                RdpInput::Wheel {
                    axis: WheelAxis::Vertical,
                    delta: -1000,
                },
                RdpInput::Wheel {
                    axis: WheelAxis::Horizontal,
                    delta: 0,
                },
                RdpInput::Wheel {
                    axis: WheelAxis::Horizontal,
                    delta: 120,
                },
            ],
        );
        assert_eq!(out.len(), 2);
        assert!(matches!(
            out[0],
            FastPathInputEvent::MouseEvent(MousePdu {
                flags: PointerFlags::VERTICAL_WHEEL,
                number_of_wheel_rotation_units: -256,
                ..
            })
        ));
        assert!(matches!(
            out[1],
            FastPathInputEvent::MouseEvent(MousePdu {
                flags: PointerFlags::HORIZONTAL_WHEEL,
                number_of_wheel_rotation_units: 120,
                ..
            })
        ));
    }

    #[test]
    fn unicode_outside_the_bmp_becomes_a_surrogate_pair() {
        let mut s = InputState::new(800, 600);
        let out = run(
            &mut s,
            &[
                RdpInput::Unicode {
                    ch: 'å',
                    down: true,
                },
                RdpInput::Unicode {
                    ch: '😀',
                    down: false,
                },
            ],
        );
        assert_eq!(
            out,
            vec![
                FastPathInputEvent::UnicodeKeyboardEvent(KeyboardFlags::empty(), 0x00E5),
                FastPathInputEvent::UnicodeKeyboardEvent(KeyboardFlags::RELEASE, 0xD83D),
                FastPathInputEvent::UnicodeKeyboardEvent(KeyboardFlags::RELEASE, 0xDE00),
            ]
        );
    }
}

//! Browser input ([`ClientMessage`]) to RDP input ([`RdpInput`]). Sans-IO: the endpoint
//! sends what comes out to the session's input queue.

use crate::rdp::{MouseButton, RdpInput, WheelAxis};
use crate::wire::{self, ClientMessage};

/// The RDP events for one client message; empty for messages that are not input.
/// Coordinates outside the desktop are clamped by the RDP leg's input state.
pub fn to_rdp(message: &ClientMessage) -> Vec<RdpInput> {
    match message {
        ClientMessage::KeyScancode { scancode, down } => {
            if scancode.is_extended1() {
                // Pause (E1 1D) has no RDP keyboard event without the E1 flag, which the
                // RDP leg's input does not model; it is dropped.
                return Vec::new();
            }
            vec![RdpInput::Key {
                scancode: scancode.code(),
                extended: scancode.is_extended(),
                down: *down,
            }]
        }
        ClientMessage::KeyUnicode { ch, down } => vec![RdpInput::Unicode {
            ch: *ch,
            down: *down,
        }],
        ClientMessage::MouseMove { x, y } => vec![RdpInput::MouseMove { x: *x, y: *y }],
        ClientMessage::MouseButton { button, down, x, y } => vec![
            RdpInput::MouseMove { x: *x, y: *y },
            RdpInput::MouseButton {
                button: button_of(*button),
                down: *down,
            },
        ],
        ClientMessage::MouseWheel { delta_x, delta_y } => {
            let mut out = Vec::new();
            if *delta_y != 0 {
                // DOM: positive scrolls down; RDP: positive is up.
                out.push(RdpInput::Wheel {
                    axis: WheelAxis::Vertical,
                    delta: delta_y.saturating_neg(),
                });
            }
            if *delta_x != 0 {
                out.push(RdpInput::Wheel {
                    axis: WheelAxis::Horizontal,
                    delta: *delta_x,
                });
            }
            out
        }
        ClientMessage::ReleaseAllKeys => vec![RdpInput::ReleaseAll],
        ClientMessage::ClientHello(_)
        | ClientMessage::FrameAck { .. }
        | ClientMessage::ResizeRequest { .. }
        | ClientMessage::ClipboardText(_)
        | ClientMessage::Ping { .. } => Vec::new(),
    }
}

fn button_of(button: wire::MouseButton) -> MouseButton {
    match button {
        wire::MouseButton::Left => MouseButton::Left,
        wire::MouseButton::Middle => MouseButton::Middle,
        wire::MouseButton::Right => MouseButton::Right,
        wire::MouseButton::Back => MouseButton::X1,
        wire::MouseButton::Forward => MouseButton::X2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Scancode;

    #[test]
    fn keys_wheel_and_buttons_translate() {
        let altgr = Scancode::new(0xE038).map(|scancode| ClientMessage::KeyScancode {
            scancode,
            down: true,
        });
        assert_eq!(
            altgr.as_ref().map(to_rdp),
            Some(vec![RdpInput::Key {
                scancode: 0x38,
                extended: true,
                down: true
            }])
        );
        assert_eq!(
            to_rdp(&ClientMessage::MouseWheel {
                delta_x: 0,
                delta_y: 120
            }),
            vec![RdpInput::Wheel {
                axis: WheelAxis::Vertical,
                delta: -120
            }]
        );
        assert_eq!(
            to_rdp(&ClientMessage::MouseButton {
                button: wire::MouseButton::Back,
                down: false,
                x: 3,
                y: 4
            }),
            vec![
                RdpInput::MouseMove { x: 3, y: 4 },
                RdpInput::MouseButton {
                    button: MouseButton::X1,
                    down: false
                }
            ]
        );
        assert!(to_rdp(&ClientMessage::Ping { timestamp: 1 }).is_empty());
    }
}

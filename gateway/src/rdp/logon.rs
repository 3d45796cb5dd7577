//! Sans-IO judgement of the logon phase: from what the host sends after activation, decide
//! whether it accepted the user ([`LogonCheck`]), refused, or has not said yet.

use std::time::Duration;

use ironrdp_session::GracefulDisconnectReason;

use super::config::LogonCheck;
use super::error::RdpError;
use super::link::{Processed, is_logon_refusal};
use super::sink::Rect;

/// Without an explicit duration, how long to wait for the first picture.
pub(crate) const FIRST_PICTURE_WAIT: Duration = Duration::from_secs(5);

/// Cell size of the coverage grid, in pixels.
const CELL: u16 = 16;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Undecided,
    Accepted,
}

/// Which parts of the desktop have been painted since the last complete cover.
#[derive(Debug)]
struct Coverage {
    columns: usize,
    cells: Vec<bool>,
    painted: usize,
    complete_covers: u32,
}

impl Coverage {
    fn new(width: u16, height: u16) -> Self {
        let columns = usize::from(width.div_ceil(CELL)).max(1);
        let rows = usize::from(height.div_ceil(CELL)).max(1);
        Self {
            columns,
            cells: vec![false; columns * rows],
            painted: 0,
            complete_covers: 0,
        }
    }

    fn paint(&mut self, rect: Rect) {
        if rect.width == 0 || rect.height == 0 {
            return;
        }
        let rows = self.cells.len() / self.columns;
        let first_col = usize::from(rect.x / CELL);
        let last_col = usize::from((rect.x + rect.width - 1) / CELL).min(self.columns - 1);
        let first_row = usize::from(rect.y / CELL);
        let last_row = usize::from((rect.y + rect.height - 1) / CELL).min(rows - 1);
        for row in first_row..=last_row {
            for col in first_col..=last_col {
                if let Some(cell) = self.cells.get_mut(row * self.columns + col)
                    && !*cell
                {
                    *cell = true;
                    self.painted += 1;
                }
            }
        }
        if self.painted == self.cells.len() {
            self.complete_covers += 1;
            self.cells.iter_mut().for_each(|c| *c = false);
            self.painted = 0;
        }
    }
}

#[derive(Debug)]
pub(crate) struct LogonJudge {
    check: LogonCheck,
    coverage: Coverage,
    seen_graphics: bool,
}

impl LogonJudge {
    pub fn new(check: LogonCheck, width: u16, height: u16) -> Self {
        Self {
            check,
            coverage: Coverage::new(width, height),
            seen_graphics: false,
        }
    }

    /// How long the logon phase may last.
    pub fn wait(&self) -> Duration {
        match self.check {
            LogonCheck::FirstPicture => FIRST_PICTURE_WAIT,
            LogonCheck::SaveSessionInfo(d) | LogonCheck::FullDesktopPainted(d) => d,
        }
    }

    pub fn seen_graphics(&self) -> bool {
        self.seen_graphics
    }

    /// Takes in what one host frame meant.
    pub fn observe(&mut self, processed: &Processed) -> Result<Verdict, RdpError> {
        if let Some(reason) = &processed.terminated {
            return Err(refusal(reason));
        }
        if let Some(error) = &processed.logon_error {
            tracing::debug!(%error, "logon error notification during the logon phase");
        }
        for rect in &processed.regions {
            self.coverage.paint(*rect);
        }
        self.seen_graphics |= processed.graphics;
        let accepted = processed.logon_confirmed
            || match self.check {
                LogonCheck::FirstPicture => processed.graphics,
                LogonCheck::SaveSessionInfo(_) => false,
                LogonCheck::FullDesktopPainted(_) => self.coverage.complete_covers >= 1,
            };
        Ok(if accepted {
            Verdict::Accepted
        } else {
            Verdict::Undecided
        })
    }

    /// The logon phase ran out of time.
    pub fn timed_out(&self) -> Result<(), RdpError> {
        match self.check {
            // A host that shows nothing for a while is slow, not refusing.
            LogonCheck::FirstPicture => Ok(()),
            _ => Err(RdpError::LogonNotConfirmed(self.wait())),
        }
    }
}

fn refusal(reason: &GracefulDisconnectReason) -> RdpError {
    if is_logon_refusal(reason) {
        RdpError::AuthenticationFailed(reason.description())
    } else {
        RdpError::HostDisconnected(reason.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn painted(rects: &[Rect]) -> Processed {
        Processed {
            graphics: !rects.is_empty(),
            regions: rects.to_vec(),
            ..Processed::default()
        }
    }

    fn stripes(width: u16, height: u16, stripe: u16) -> Vec<Rect> {
        (0..height)
            .step_by(usize::from(stripe))
            .map(|y| Rect {
                x: 0,
                y,
                width,
                height: stripe.min(height - y),
            })
            .collect()
    }

    #[test]
    fn first_picture_accepts_at_once_and_a_silent_host_is_not_an_error() {
        let mut judge = LogonJudge::new(LogonCheck::FirstPicture, 800, 600);
        assert_eq!(
            judge.observe(&Processed::default()).ok(),
            Some(Verdict::Undecided)
        );
        assert!(judge.timed_out().is_ok());
        let small = Rect {
            x: 0,
            y: 0,
            width: 10,
            height: 10,
        };
        assert_eq!(
            judge.observe(&painted(&[small])).ok(),
            Some(Verdict::Accepted)
        );
    }

    #[test]
    fn full_desktop_painted_tells_xrdp_sessions_from_its_login_failure() {
        let check = LogonCheck::FullDesktopPainted(Duration::from_secs(20));
        // xrdp, wrong password (as measured): only its log window and OK button.
        let mut judge = LogonJudge::new(check, 1280, 800);
        for rect in [
            Rect {
                x: 13,
                y: 13,
                width: 395,
                height: 18,
            },
            Rect {
                x: 340,
                y: 377,
                width: 60,
                height: 23,
            },
            Rect {
                x: 10,
                y: 91,
                width: 400,
                height: 319,
            },
            Rect {
                x: 10,
                y: 10,
                width: 400,
                height: 81,
            },
        ] {
            assert_eq!(
                judge.observe(&painted(&[rect])).ok(),
                Some(Verdict::Undecided)
            );
        }
        assert!(matches!(
            judge.timed_out(),
            Err(RdpError::LogonNotConfirmed(_))
        ));

        // xrdp, right password (as measured): the X session painted in stripes, bottom up.
        let mut judge = LogonJudge::new(check, 1280, 800);
        let stripes = stripes(1280, 800, 137);
        let (last, rest) = stripes.split_first().expect("stripes");
        for stripe in rest.iter().rev() {
            assert_eq!(
                judge.observe(&painted(&[*stripe])).ok(),
                Some(Verdict::Undecided)
            );
        }
        assert_eq!(
            judge.observe(&painted(&[*last])).ok(),
            Some(Verdict::Accepted)
        );
    }

    #[test]
    fn save_session_info_confirms_and_a_refusal_is_an_authentication_error() {
        let mut judge = LogonJudge::new(
            LogonCheck::SaveSessionInfo(Duration::from_secs(5)),
            800,
            600,
        );
        assert_eq!(
            judge.observe(&painted(&[Rect::full(800, 600)])).ok(),
            Some(Verdict::Undecided)
        );
        let confirmed = Processed {
            logon_confirmed: true,
            ..Processed::default()
        };
        assert_eq!(judge.observe(&confirmed).ok(), Some(Verdict::Accepted));

        let denied = Processed {
            terminated: Some(GracefulDisconnectReason::Other(
                ironrdp_pdu::rdp::server_error_info::ErrorInfo::ProtocolIndependentCode(
                    ironrdp_pdu::rdp::server_error_info::ProtocolIndependentCode::ServerDeniedConnection,
                )
                .description(),
            )),
            ..Processed::default()
        };
        assert!(matches!(
            judge.observe(&denied),
            Err(RdpError::AuthenticationFailed(_))
        ));
        let logged_off = Processed {
            terminated: Some(GracefulDisconnectReason::ServerInitiated),
            ..Processed::default()
        };
        assert!(matches!(
            judge.observe(&logged_off),
            Err(RdpError::HostDisconnected(_))
        ));
    }
}

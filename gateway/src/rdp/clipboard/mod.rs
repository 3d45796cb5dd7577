//! Text clipboard over the RDP clipboard channel (cliprdr, MS-RDPECLIP), sans-IO: the pool's
//! [`ClipboardPolicy`], the text conversions and the guard that refuses oversize host data
//! while it is still arriving (`codec`, dependency-free so the fuzz workspace includes it),
//! and the [`ClipboardState`] machine that turns channel events and local offers into
//! [`ClipAction`]s. IronRDP's `Cliprdr` processor does the PDU work; `link` runs the actions
//! against it. Only text travels: files, images and other formats are never requested and
//! requests for them are answered with a failure.

mod codec;

use std::collections::VecDeque;

use ironrdp_cliprdr::backend::CliprdrBackend;
use ironrdp_cliprdr::pdu::{
    ClipboardFormat, ClipboardFormatId, ClipboardGeneralCapabilityFlags, FileContentsRequest,
    FileContentsResponse, FormatDataRequest, FormatDataResponse, LockDataId,
};

pub(crate) use codec::{ChunkGuard, ChunkVerdict};
pub use codec::{decode_ansi_text, decode_unicode_text, encode_unicode_text};

/// Most format data requests to the host left unanswered at once (a host that stops
/// answering does not grow the queue).
const MAX_PENDING_REQUESTS: usize = 8;

/// Whether a session has clipboard and how much text may pass either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClipboardPolicy {
    /// The largest text passed either way, in UTF-8 bytes.
    pub max_bytes: usize,
}

/// Clipboard news from the host for the [`super::DisplaySink`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostClipboard {
    /// The host's clipboard now holds this text (trailing NUL removed; invalid UTF-16
    /// replaced by U+FFFD).
    Text(String),
    /// The host copied text over the policy's limit; it was not passed on. `bytes` is its
    /// UTF-8 size when it was decoded, else (cut off while arriving) its character count
    /// from the announced size: exact for ASCII, a lower bound otherwise.
    TooLarge { bytes: usize },
}

/// Why clipboard text did not go to the host.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClipboardError {
    #[error("the clipboard text is {bytes} bytes, over the limit of {max} bytes")]
    TooLarge { bytes: usize, max: usize },
    #[error("the clipboard is off for this session")]
    Disabled,
    #[error("the RDP session has ended")]
    Gone,
}

impl From<super::SessionGone> for ClipboardError {
    fn from(_: super::SessionGone) -> Self {
        ClipboardError::Gone
    }
}

impl ClipboardPolicy {
    /// The policy from a pool's limit (`HostPool::clipboard_limit`): `None` when the pool
    /// has the clipboard off.
    pub fn from_pool_limit(max_bytes: Option<u64>) -> Option<Self> {
        max_bytes.map(|max| Self {
            max_bytes: usize::try_from(max).unwrap_or(usize::MAX),
        })
    }

    /// Checks outgoing text against the limit.
    pub fn check(&self, text: &str) -> Result<(), ClipboardError> {
        if text.len() > self.max_bytes {
            return Err(ClipboardError::TooLarge {
                bytes: text.len(),
                max: self.max_bytes,
            });
        }
        Ok(())
    }

    /// The largest cliprdr PDU that can carry text within the limit.
    pub fn max_wire_bytes(&self) -> usize {
        codec::max_wire_bytes(self.max_bytes)
    }
}

/// The text format to request from a host's format list: Unicode text, else CF_TEXT; `None`
/// when it holds no text (images, files, unknown or registered formats only).
pub fn pick_text_format(formats: &[ClipboardFormat]) -> Option<ClipboardFormatId> {
    [
        ClipboardFormatId::CF_UNICODETEXT,
        ClipboardFormatId::CF_TEXT,
    ]
    .into_iter()
    .find(|wanted| formats.iter().any(|f| f.id == *wanted))
}

/// What [`IronRDP's Cliprdr`](ironrdp_cliprdr::Cliprdr) told the backend, queued for
/// [`ClipboardState::on_event`].
#[derive(Debug)]
pub(crate) enum ChannelEvent {
    /// Initialization: the host wants our format list (Monitor Ready).
    FormatListWanted,
    /// The host accepted our first format list: the channel is ready.
    Ready,
    /// The host's clipboard changed; these formats are on offer.
    HostFormats(Vec<ClipboardFormat>),
    /// The host pastes: it wants our data in this format.
    DataWanted(ClipboardFormatId),
    /// The host's answer to our oldest request (`None`: it failed).
    Data(Option<Vec<u8>>),
    /// The host answered our format list (accepted or not).
    FormatListAnswered(bool),
}

/// The backend IronRDP's `Cliprdr` calls into. It only queues; [`ClipboardState`] decides.
#[derive(Debug, Default)]
pub(crate) struct QueueBackend {
    pub events: VecDeque<ChannelEvent>,
}

ironrdp_core::impl_as_any!(QueueBackend);

impl CliprdrBackend for QueueBackend {
    fn temporary_directory(&self) -> &str {
        // Files never travel; the host requires a path all the same.
        ".cliprdr"
    }

    fn client_capabilities(&self) -> ClipboardGeneralCapabilityFlags {
        ClipboardGeneralCapabilityFlags::empty()
    }

    fn on_ready(&mut self) {
        self.events.push_back(ChannelEvent::Ready);
    }

    fn on_request_format_list(&mut self) {
        self.events.push_back(ChannelEvent::FormatListWanted);
    }

    fn on_format_list_response(&mut self, ok: bool) {
        self.events.push_back(ChannelEvent::FormatListAnswered(ok));
    }

    fn on_process_negotiated_capabilities(&mut self, _: ClipboardGeneralCapabilityFlags) {}

    fn on_remote_copy(&mut self, available_formats: &[ClipboardFormat]) {
        self.events
            .push_back(ChannelEvent::HostFormats(available_formats.to_vec()));
    }

    fn on_format_data_request(&mut self, request: FormatDataRequest) {
        self.events
            .push_back(ChannelEvent::DataWanted(request.format));
    }

    fn on_format_data_response(&mut self, response: FormatDataResponse<'_>) {
        let data = (!response.is_error()).then(|| response.data().to_vec());
        self.events.push_back(ChannelEvent::Data(data));
    }

    fn on_file_contents_request(&mut self, _: FileContentsRequest) {}

    fn on_file_contents_response(&mut self, _: FileContentsResponse<'_>) {}

    fn on_lock(&mut self, _: LockDataId) {}

    fn on_unlock(&mut self, _: LockDataId) {}
}

/// What the link must do for the clipboard.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ClipAction {
    /// Send our format list: CF_UNICODETEXT when `text`, else empty (nothing to offer).
    AnnounceFormats { text: bool },
    /// Ask the host for its clipboard in this format.
    RequestData(ClipboardFormatId),
    /// Answer the host's request with these bytes (`None`: a failure response).
    SendData(Option<Vec<u8>>),
    /// Pass this to the sink.
    Deliver(HostClipboard),
    /// The host accepted our announcement of text: it can paste now (counted in the stats).
    OfferAccepted,
}

/// The clipboard's state in one session.
#[derive(Debug)]
pub(crate) struct ClipboardState {
    policy: ClipboardPolicy,
    ready: bool,
    /// Our clipboard as CF_UNICODETEXT, served when the host pastes.
    local: Option<Vec<u8>>,
    /// An offer made before the channel was ready, announced once it is.
    announce_when_ready: bool,
    /// The formats of our unanswered requests to the host, oldest first.
    requested: VecDeque<ClipboardFormatId>,
    /// Announcements of text the host has yet to answer.
    text_announcements: usize,
}

impl ClipboardState {
    pub fn new(policy: ClipboardPolicy) -> Self {
        Self {
            policy,
            ready: false,
            local: None,
            announce_when_ready: false,
            requested: VecDeque::new(),
            text_announcements: 0,
        }
    }

    pub fn policy(&self) -> ClipboardPolicy {
        self.policy
    }

    /// The gateway's user copied `text` (already checked against the policy): keep it for the
    /// host's paste and announce it.
    pub fn offer_text(&mut self, text: &str) -> Vec<ClipAction> {
        self.local = Some(encode_unicode_text(text));
        if self.ready {
            self.text_announcements += 1;
            vec![ClipAction::AnnounceFormats { text: true }]
        } else {
            self.announce_when_ready = true;
            Vec::new()
        }
    }

    /// The guard cut off the host's answer to our oldest request (`data_bytes` announced);
    /// IronRDP never sees it.
    pub fn host_data_refused(&mut self, data_bytes: usize) -> Vec<ClipAction> {
        let format = self.requested.pop_front();
        // Characters less the NUL: the UTF-8 size of ASCII text, a lower bound otherwise.
        let chars = if format == Some(ClipboardFormatId::CF_TEXT) {
            data_bytes
        } else {
            data_bytes / 2
        };
        vec![ClipAction::Deliver(HostClipboard::TooLarge {
            bytes: chars.saturating_sub(1),
        })]
    }

    pub fn on_event(&mut self, event: ChannelEvent) -> Vec<ClipAction> {
        match event {
            ChannelEvent::FormatListWanted => {
                // The first format list completes the initialization either way.
                self.announce_when_ready = false;
                let text = self.local.is_some();
                self.text_announcements += usize::from(text);
                vec![ClipAction::AnnounceFormats { text }]
            }
            ChannelEvent::Ready => {
                self.ready = true;
                if std::mem::take(&mut self.announce_when_ready) {
                    self.text_announcements += 1;
                    vec![ClipAction::AnnounceFormats { text: true }]
                } else {
                    Vec::new()
                }
            }
            ChannelEvent::HostFormats(formats) => match pick_text_format(&formats) {
                Some(format) if self.ready && self.requested.len() < MAX_PENDING_REQUESTS => {
                    self.requested.push_back(format);
                    vec![ClipAction::RequestData(format)]
                }
                Some(format) => {
                    tracing::debug!(?format, "host clipboard text not requested (busy)");
                    Vec::new()
                }
                None => Vec::new(),
            },
            ChannelEvent::DataWanted(format) => {
                let data = match (&self.local, format) {
                    (Some(text), ClipboardFormatId::CF_UNICODETEXT) => Some(text.clone()),
                    _ => None,
                };
                vec![ClipAction::SendData(data)]
            }
            ChannelEvent::FormatListAnswered(ok) => {
                if self.text_announcements == 0 {
                    return Vec::new();
                }
                self.text_announcements -= 1;
                if ok {
                    vec![ClipAction::OfferAccepted]
                } else {
                    tracing::info!("the host refused our clipboard announcement");
                    Vec::new()
                }
            }
            ChannelEvent::Data(data) => {
                let Some(format) = self.requested.pop_front() else {
                    tracing::debug!("unrequested clipboard data from the host ignored");
                    return Vec::new();
                };
                let Some(data) = data else {
                    tracing::debug!("the host could not give its clipboard");
                    return Vec::new();
                };
                let decoded = if format == ClipboardFormatId::CF_UNICODETEXT {
                    decode_unicode_text(&data, self.policy.max_bytes)
                } else {
                    decode_ansi_text(&data, self.policy.max_bytes)
                };
                vec![ClipAction::Deliver(match decoded {
                    Ok(text) => HostClipboard::Text(text),
                    Err(bytes) => HostClipboard::TooLarge { bytes },
                })]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ClipboardPolicy = ClipboardPolicy { max_bytes: 64 };

    fn utf16(text: &str) -> Vec<u8> {
        encode_unicode_text(text)
    }

    #[test]
    fn our_oversize_text_is_refused_with_its_size() {
        assert_eq!(
            POLICY.check(&"a".repeat(65)),
            Err(ClipboardError::TooLarge { bytes: 65, max: 64 })
        );
        assert_eq!(POLICY.check(&"a".repeat(64)), Ok(()));
        assert_eq!(ClipboardPolicy::from_pool_limit(None), None);
        assert_eq!(ClipboardPolicy::from_pool_limit(Some(64)), Some(POLICY));
    }

    #[test]
    fn only_text_formats_are_picked() {
        let f = |id| ClipboardFormat::new(ClipboardFormatId::new(id));
        assert_eq!(
            pick_text_format(&[f(2), f(13), f(1)]),
            Some(ClipboardFormatId::CF_UNICODETEXT)
        );
        assert_eq!(
            pick_text_format(&[f(8), f(1)]),
            Some(ClipboardFormatId::CF_TEXT)
        );
        assert_eq!(
            pick_text_format(&[f(0), f(0xFFFF_FFFF), f(0xC0FE), f(8)]),
            None
        );
        assert_eq!(pick_text_format(&[]), None);
    }

    fn ready_state() -> ClipboardState {
        let mut s = ClipboardState::new(POLICY);
        assert_eq!(
            s.on_event(ChannelEvent::FormatListWanted),
            vec![ClipAction::AnnounceFormats { text: false }]
        );
        assert_eq!(s.on_event(ChannelEvent::Ready), vec![]);
        assert_eq!(
            s.on_event(ChannelEvent::FormatListAnswered(true)),
            vec![],
            "the empty first list is no offer"
        );
        s
    }

    #[test]
    fn an_offer_before_the_channel_is_ready_is_announced_once_it_is() {
        let mut s = ClipboardState::new(POLICY);
        assert_eq!(s.offer_text("hej"), vec![]);
        assert_eq!(
            s.on_event(ChannelEvent::FormatListWanted),
            vec![ClipAction::AnnounceFormats { text: true }]
        );
        assert_eq!(s.on_event(ChannelEvent::Ready), vec![], "already announced");
        assert_eq!(
            s.on_event(ChannelEvent::FormatListAnswered(true)),
            vec![ClipAction::OfferAccepted]
        );
        assert_eq!(s.on_event(ChannelEvent::FormatListAnswered(true)), vec![]);
        let mut s = ClipboardState::new(POLICY);
        s.on_event(ChannelEvent::FormatListWanted);
        assert_eq!(s.offer_text("hej"), vec![]);
        assert_eq!(
            s.on_event(ChannelEvent::Ready),
            vec![ClipAction::AnnounceFormats { text: true }]
        );
    }

    #[test]
    fn the_host_pastes_our_text_and_only_as_unicode() {
        let mut s = ready_state();
        assert_eq!(
            s.on_event(ChannelEvent::DataWanted(ClipboardFormatId::CF_UNICODETEXT)),
            vec![ClipAction::SendData(None)],
            "nothing offered yet"
        );
        assert_eq!(
            s.offer_text("Hälsning"),
            vec![ClipAction::AnnounceFormats { text: true }]
        );
        assert_eq!(s.on_event(ChannelEvent::FormatListAnswered(false)), vec![]);
        assert_eq!(
            s.on_event(ChannelEvent::DataWanted(ClipboardFormatId::CF_UNICODETEXT)),
            vec![ClipAction::SendData(Some(utf16("Hälsning")))]
        );
        for bad in [0, 2, 8, 0xC0FE, 0xFFFF_FFFF] {
            assert_eq!(
                s.on_event(ChannelEvent::DataWanted(ClipboardFormatId::new(bad))),
                vec![ClipAction::SendData(None)],
                "format {bad}"
            );
        }
    }

    #[test]
    fn host_text_is_requested_decoded_and_bounded() {
        let mut s = ready_state();
        let f = |id| ClipboardFormat::new(ClipboardFormatId::new(id));
        assert_eq!(s.on_event(ChannelEvent::HostFormats(vec![f(8)])), vec![]);
        assert_eq!(
            s.on_event(ChannelEvent::HostFormats(vec![f(1), f(13)])),
            vec![ClipAction::RequestData(ClipboardFormatId::CF_UNICODETEXT)]
        );
        assert_eq!(
            s.on_event(ChannelEvent::Data(Some(utf16("åäö")))),
            vec![ClipAction::Deliver(HostClipboard::Text("åäö".into()))]
        );
        s.on_event(ChannelEvent::HostFormats(vec![f(13)]));
        assert_eq!(
            s.on_event(ChannelEvent::Data(Some(utf16(&"x".repeat(65))))),
            vec![ClipAction::Deliver(HostClipboard::TooLarge { bytes: 65 })]
        );
        s.on_event(ChannelEvent::HostFormats(vec![f(1)]));
        assert_eq!(s.on_event(ChannelEvent::Data(None)), vec![], "host failed");
        assert_eq!(
            s.on_event(ChannelEvent::Data(Some(utf16("unasked")))),
            vec![],
            "unrequested data is dropped"
        );
    }

    #[test]
    fn requests_to_a_silent_host_are_bounded() {
        let mut s = ready_state();
        let text = vec![ClipboardFormat::new(ClipboardFormatId::CF_UNICODETEXT)];
        let sent = (0..20)
            .filter(|_| {
                !s.on_event(ChannelEvent::HostFormats(text.clone()))
                    .is_empty()
            })
            .count();
        assert_eq!(sent, MAX_PENDING_REQUESTS);
    }

    #[test]
    fn a_refused_transfer_is_reported_once() {
        let mut s = ready_state();
        s.on_event(ChannelEvent::HostFormats(vec![ClipboardFormat::new(
            ClipboardFormatId::CF_UNICODETEXT,
        )]));
        assert_eq!(
            s.host_data_refused(2 * 1000 + 2),
            vec![ClipAction::Deliver(HostClipboard::TooLarge { bytes: 1000 })]
        );
        assert_eq!(
            s.on_event(ChannelEvent::Data(Some(utf16("late")))),
            vec![],
            "nothing is owed after the refusal"
        );
    }
}

//! Text clipboard over the RDP clipboard channel (cliprdr, MS-RDPECLIP), sans-IO: the pool's
//! [`ClipboardPolicy`], the text conversions (UTF-8 ⇄ UTF-16LE with its NUL, the CF_TEXT
//! fallback), the guard that refuses oversize host data while it is still arriving, and the
//! [`ClipboardState`] machine that turns channel events and local offers into
//! [`ClipAction`]s. IronRDP's `Cliprdr` processor does the PDU work; `link` runs the actions
//! against it. Only text travels: files, images and other formats are never requested and
//! requests for them are answered with a failure.

use std::collections::VecDeque;

use ironrdp_cliprdr::backend::CliprdrBackend;
use ironrdp_cliprdr::pdu::{
    ClipboardFormat, ClipboardFormatId, ClipboardGeneralCapabilityFlags, FileContentsRequest,
    FileContentsResponse, FormatDataRequest, FormatDataResponse, LockDataId,
};

/// Most format data requests to the host left unanswered at once (a host that stops
/// answering does not grow the queue).
const MAX_PENDING_REQUESTS: usize = 8;

/// The cliprdr PDU header before the format data.
const CLIPRDR_HEADER: usize = 8;
/// Room for the cliprdr PDU header and a terminating NUL around the text.
const PDU_OVERHEAD: usize = 16;

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

    /// The largest cliprdr PDU that can carry text within the limit: UTF-16 takes at most
    /// two bytes per UTF-8 byte (ASCII), plus the NUL and the PDU header.
    pub fn max_wire_bytes(&self) -> usize {
        self.max_bytes
            .saturating_mul(2)
            .saturating_add(PDU_OVERHEAD)
    }
}

/// `text` as CF_UNICODETEXT: UTF-16LE with a terminating NUL.
pub fn encode_unicode_text(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2 + 2);
    for unit in text.encode_utf16().chain([0]) {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// Decodes CF_UNICODETEXT from the host: up to the first NUL (or the end: a missing NUL is
/// tolerated, an odd last byte ignored), unpaired surrogates replaced by U+FFFD. Refuses text
/// over `max_bytes` UTF-8 bytes before allocating it, returning its UTF-8 size.
pub fn decode_unicode_text(data: &[u8], max_bytes: usize) -> Result<String, usize> {
    let units = || {
        data.chunks_exact(2)
            .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
            .take_while(|unit| *unit != 0)
    };
    let size: usize = char::decode_utf16(units())
        .map(|c| c.map_or(char::REPLACEMENT_CHARACTER.len_utf8(), char::len_utf8))
        .sum();
    if size > max_bytes {
        return Err(size);
    }
    Ok(char::decode_utf16(units())
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect())
}

/// Decodes CF_TEXT (hosts that offer no Unicode text): bytes up to the first NUL, UTF-8 when
/// they are (xrdp and other Unix hosts), else Windows-1252's Latin-1 subset.
pub fn decode_ansi_text(data: &[u8], max_bytes: usize) -> Result<String, usize> {
    let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let bytes = data.get(..end).unwrap_or_default();
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            let size: usize = bytes.iter().map(|b| char::from(*b).len_utf8()).sum();
            if size > max_bytes {
                return Err(size);
            }
            bytes.iter().map(|b| char::from(*b)).collect()
        }
    };
    if text.len() > max_bytes {
        return Err(text.len());
    }
    Ok(text)
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

/// The flags of a Channel PDU Header (MS-RDPBCGR 2.2.6.1.1).
const CHANNEL_FLAG_FIRST: u32 = 0x0000_0001;
const CHANNEL_FLAG_LAST: u32 = 0x0000_0002;
/// CB_FORMAT_DATA_RESPONSE, the msgType of the PDU that carries clipboard data.
const CB_FORMAT_DATA_RESPONSE: u16 = 0x0005;
/// Any other clipboard PDU (format lists with long names, capabilities) stays below this.
const MAX_CONTROL_PDU: usize = 1024 * 1024;

/// What to do with one chunk of the clipboard channel.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ChunkVerdict {
    /// Within the limit: pass it to IronRDP.
    Pass,
    /// Part of an oversize PDU: drop it. On the first chunk of clipboard data, the data size
    /// the host announced (bytes of UTF-16 or CF_TEXT), to report once.
    Drop(Option<usize>),
}

/// Refuses oversize clipboard PDUs chunk by chunk, before IronRDP reassembles them in memory
/// (a host can announce up to 4 GiB in one channel PDU): format data over the policy's wire
/// size, any other clipboard PDU over 1 MiB.
#[derive(Debug)]
pub(crate) struct ChunkGuard {
    max_wire_bytes: usize,
    dropping: bool,
}

impl ChunkGuard {
    pub fn new(policy: ClipboardPolicy) -> Self {
        Self {
            max_wire_bytes: policy.max_wire_bytes(),
            dropping: false,
        }
    }

    /// Judges the user data of one clipboard channel chunk (Channel PDU Header first).
    pub fn judge(&mut self, chunk: &[u8]) -> ChunkVerdict {
        let (Some(length), Some(flags)) = (read_u32(chunk, 0), read_u32(chunk, 4)) else {
            // Too short for a header: IronRDP reports the malformed PDU.
            return ChunkVerdict::Pass;
        };
        let first = flags & CHANNEL_FLAG_FIRST != 0;
        let last = flags & CHANNEL_FLAG_LAST != 0;
        let total = usize::try_from(length).unwrap_or(usize::MAX);
        if first {
            let is_data = read_u16(chunk, 8) == Some(CB_FORMAT_DATA_RESPONSE);
            let limit = if is_data {
                self.max_wire_bytes
            } else {
                MAX_CONTROL_PDU.max(self.max_wire_bytes)
            };
            if total <= limit {
                self.dropping = false;
                return ChunkVerdict::Pass;
            }
            self.dropping = !last;
            // The cliprdr header's dataLen; the channel length when the chunk is too short.
            let data_len = read_u32(chunk, 12)
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(total.saturating_sub(CLIPRDR_HEADER));
            return ChunkVerdict::Drop(is_data.then_some(data_len));
        }
        if self.dropping {
            if last {
                self.dropping = false;
            }
            return ChunkVerdict::Drop(None);
        }
        ChunkVerdict::Pass
    }
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ClipboardPolicy = ClipboardPolicy { max_bytes: 64 };

    fn utf16(text: &str) -> Vec<u8> {
        encode_unicode_text(text)
    }

    #[test]
    fn unicode_text_round_trips_with_its_nul() {
        let text = "Hälsning åäö … 𝄞";
        let bytes = utf16(text);
        assert_eq!(bytes.len() % 2, 0);
        assert_eq!(&bytes[bytes.len() - 2..], &[0, 0], "NUL-terminated");
        assert_eq!(decode_unicode_text(&bytes, 64).as_deref(), Ok(text));
        assert_eq!(encode_unicode_text(""), vec![0, 0]);
        assert_eq!(decode_unicode_text(&[0, 0], 0).as_deref(), Ok(""));
    }

    #[test]
    fn malformed_unicode_text_is_decoded_leniently() {
        // Missing NUL.
        let mut bytes = utf16("abc");
        bytes.truncate(6);
        assert_eq!(decode_unicode_text(&bytes, 64).as_deref(), Ok("abc"));
        // Odd byte count: the stray byte is dropped.
        bytes.push(b'x');
        assert_eq!(decode_unicode_text(&bytes, 64).as_deref(), Ok("abc"));
        // Text after the NUL is not text.
        let mut bytes = utf16("ab");
        bytes.extend_from_slice(&utf16("secret"));
        assert_eq!(decode_unicode_text(&bytes, 64).as_deref(), Ok("ab"));
        // Unpaired surrogates.
        let lone = [0x3D, 0xD8, b'a', 0, 0, 0];
        assert_eq!(decode_unicode_text(&lone, 64).as_deref(), Ok("\u{FFFD}a"));
        assert_eq!(decode_unicode_text(&[], 64).as_deref(), Ok(""));
        assert_eq!(decode_unicode_text(&[7], 64).as_deref(), Ok(""));
    }

    #[test]
    fn oversize_text_is_refused_with_its_size() {
        let text = "å".repeat(40); // 80 UTF-8 bytes, 80 UTF-16 bytes
        assert_eq!(decode_unicode_text(&utf16(&text), 64), Err(80));
        assert_eq!(
            decode_unicode_text(&utf16(&text), 80).map(|t| t.len()),
            Ok(80)
        );
        assert_eq!(decode_ansi_text(&[b'a'; 65], 64), Err(65));
        assert_eq!(decode_ansi_text(&[0xE5; 40], 64), Err(80), "Latin-1 å");
        assert_eq!(
            POLICY.check(&"a".repeat(65)),
            Err(ClipboardError::TooLarge { bytes: 65, max: 64 })
        );
        assert_eq!(POLICY.check(&"a".repeat(64)), Ok(()));
        assert_eq!(ClipboardPolicy::from_pool_limit(None), None);
        assert_eq!(ClipboardPolicy::from_pool_limit(Some(64)), Some(POLICY));
    }

    #[test]
    fn ansi_text_is_utf8_or_latin1() {
        assert_eq!(
            decode_ansi_text("åäö\0x".as_bytes(), 64).as_deref(),
            Ok("åäö")
        );
        assert_eq!(
            decode_ansi_text(&[0xE5, 0xE4, 0xF6], 64).as_deref(),
            Ok("åäö")
        );
        assert_eq!(decode_ansi_text(b"no nul", 64).as_deref(), Ok("no nul"));
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

    /// A channel chunk; the first of a PDU starts with the cliprdr header (`msg_type`,
    /// flags, dataLen).
    fn header(length: u32, flags: u32, msg_type: u16) -> Vec<u8> {
        let mut h = length.to_le_bytes().to_vec();
        h.extend_from_slice(&flags.to_le_bytes());
        h.extend_from_slice(&msg_type.to_le_bytes());
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(&length.saturating_sub(8).to_le_bytes());
        h.extend_from_slice(&[0; 24]);
        h
    }

    #[test]
    fn the_chunk_guard_drops_whole_oversize_pdus() {
        const DATA: u16 = CB_FORMAT_DATA_RESPONSE;
        const LIST: u16 = 0x0002;
        let mut g = ChunkGuard::new(POLICY);
        let limit = POLICY.max_wire_bytes() as u32;
        assert_eq!(g.judge(&header(40, 3, DATA)), ChunkVerdict::Pass);
        assert_eq!(g.judge(&header(limit, 1, DATA)), ChunkVerdict::Pass);
        assert_eq!(g.judge(&header(limit, 2, 0)), ChunkVerdict::Pass);
        assert_eq!(
            g.judge(&header(limit + 1, 1, DATA)),
            ChunkVerdict::Drop(Some(limit as usize + 1 - 8)),
            "the announced data size"
        );
        assert_eq!(g.judge(&header(limit + 1, 0, 0)), ChunkVerdict::Drop(None));
        assert_eq!(g.judge(&header(limit + 1, 2, 0)), ChunkVerdict::Drop(None));
        assert_eq!(
            g.judge(&header(40, 3, DATA)),
            ChunkVerdict::Pass,
            "the next PDU"
        );
        assert_eq!(
            g.judge(&header(u32::MAX, 3, DATA)),
            ChunkVerdict::Drop(Some(u32::MAX as usize - 8))
        );
        assert_eq!(g.judge(&header(40, 3, DATA)), ChunkVerdict::Pass);
        // Other PDUs have their own, larger bound and are dropped without a report.
        assert_eq!(g.judge(&header(limit * 100, 1, LIST)), ChunkVerdict::Pass);
        assert_eq!(g.judge(&header(limit * 100, 2, 0)), ChunkVerdict::Pass);
        assert_eq!(
            g.judge(&header(u32::MAX, 1, LIST)),
            ChunkVerdict::Drop(None)
        );
        assert_eq!(g.judge(&header(u32::MAX, 2, 0)), ChunkVerdict::Drop(None));
        // A continuation without a start is IronRDP's to refuse.
        assert_eq!(g.judge(&header(99, 2, 0)), ChunkVerdict::Pass);
        assert_eq!(
            g.judge(&[1, 2, 3]),
            ChunkVerdict::Pass,
            "IronRDP reports it"
        );
        // A first chunk too short for dataLen: estimated from the channel length.
        let mut short = header(limit + 100, 3, DATA);
        short.truncate(12);
        assert_eq!(
            g.judge(&short),
            ChunkVerdict::Drop(Some(limit as usize + 100 - 8))
        );
        assert_eq!(g.judge(&[]), ChunkVerdict::Pass);
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

//! The demo app's clipboard over the RDP clipboard channel (cliprdr, IronRDP's server side):
//! Ctrl+C announces the focused field's text to the client as Unicode text, Ctrl+V asks the
//! client for its Unicode text and pastes it into the focused field. Only text; a client that
//! did not join the channel gets a status message instead.
//!
//! [`ClipboardLink`] is the per-session state (owned by the session, behind its lock);
//! [`ClipboardFactory`] hands IronRDP a [`ClipboardBackend`] that reports into it.

use ironrdp_cliprdr::backend::{ClipboardMessage, CliprdrBackend, CliprdrBackendFactory};
use ironrdp_cliprdr::pdu::{
    ClipboardFormat, ClipboardFormatId, ClipboardGeneralCapabilityFlags, FileContentsRequest, FileContentsResponse,
    FormatDataRequest, FormatDataResponse, LockDataId, OwnedFormatDataResponse,
};
use ironrdp_server::{CliprdrServerFactory, ServerEvent, ServerEventSender};
use tokio::sync::mpsc::UnboundedSender;

use crate::app::{STATUS_CLIPBOARD_EMPTY, STATUS_NO_CLIPBOARD};
use crate::rdp::{SharedSession, lock};

/// Most UTF-16 units of a paste the app reads (its fields hold 40 characters anyway).
const MAX_PASTE_UNITS: usize = 4096;

/// One session's clipboard: the channel to IronRDP and what each side offers.
#[derive(Default)]
pub struct ClipboardLink {
    sender: Option<UnboundedSender<ServerEvent>>,
    /// The client joined the channel and sent its first format list.
    ready: bool,
    /// The client's clipboard holds Unicode text.
    client_has_text: bool,
    /// A paste request is out; its answer goes into the focused field.
    paste_pending: bool,
    /// What Ctrl+C copied, served when the client pastes.
    copied: Option<String>,
}

impl ClipboardLink {
    /// Ctrl+C: makes `text` the clipboard and announces it. `Err` with the status text when
    /// the session has no clipboard.
    pub fn copy(&mut self, text: String) -> Result<(), &'static str> {
        if !self.ready {
            return Err(STATUS_NO_CLIPBOARD);
        }
        self.copied = Some(text);
        self.send(ClipboardMessage::SendInitiateCopy(vec![ClipboardFormat::new(
            ClipboardFormatId::CF_UNICODETEXT,
        )]))
    }

    /// Ctrl+V: asks the client for its text. `Err` with the status text when there is none.
    pub fn request_paste(&mut self) -> Result<(), &'static str> {
        if !self.ready {
            return Err(STATUS_NO_CLIPBOARD);
        }
        if !self.client_has_text {
            return Err(STATUS_CLIPBOARD_EMPTY);
        }
        self.send(ClipboardMessage::SendInitiatePaste(ClipboardFormatId::CF_UNICODETEXT))?;
        self.paste_pending = true;
        Ok(())
    }

    fn send(&mut self, message: ClipboardMessage) -> Result<(), &'static str> {
        let Some(sender) = &self.sender else {
            return Err(STATUS_NO_CLIPBOARD);
        };
        if sender.send(ServerEvent::Clipboard(message)).is_err() {
            self.sender = None;
            return Err(STATUS_NO_CLIPBOARD);
        }
        Ok(())
    }

    /// The client pastes: our copied text as CF_UNICODETEXT, anything else fails.
    fn answer(&mut self, format: ClipboardFormatId) {
        let response = match (&self.copied, format) {
            (Some(text), ClipboardFormatId::CF_UNICODETEXT) => OwnedFormatDataResponse::new_unicode_string(text),
            _ => OwnedFormatDataResponse::new_error(),
        };
        // Without a sender the session is going away; nothing to answer.
        let _ = self.send(ClipboardMessage::SendFormatData(response));
    }

    /// The client's answer to our paste request, if we asked.
    fn take_paste(&mut self, response: &FormatDataResponse<'_>) -> Option<String> {
        if !std::mem::take(&mut self.paste_pending) || response.is_error() {
            return None;
        }
        Some(decode_unicode(response.data()))
    }
}

/// UTF-16LE up to the first NUL (or the end), bounded, lone surrogates replaced.
pub fn decode_unicode(data: &[u8]) -> String {
    let units = data
        .chunks_exact(2)
        .take(MAX_PASTE_UNITS)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|unit| *unit != 0);
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// IronRDP's view of one session's clipboard.
pub struct ClipboardBackend {
    session: SharedSession,
}

impl core::fmt::Debug for ClipboardBackend {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClipboardBackend").finish_non_exhaustive()
    }
}

ironrdp_core::impl_as_any!(ClipboardBackend);

impl CliprdrBackend for ClipboardBackend {
    fn temporary_directory(&self) -> &str {
        ".cliprdr"
    }

    fn client_capabilities(&self) -> ClipboardGeneralCapabilityFlags {
        ClipboardGeneralCapabilityFlags::empty()
    }

    fn on_ready(&mut self) {
        lock(&self.session).clipboard.ready = true;
    }

    fn on_request_format_list(&mut self) {}

    fn on_process_negotiated_capabilities(&mut self, _: ClipboardGeneralCapabilityFlags) {}

    fn on_remote_copy(&mut self, available_formats: &[ClipboardFormat]) {
        lock(&self.session).clipboard.client_has_text = available_formats
            .iter()
            .any(|f| f.id == ClipboardFormatId::CF_UNICODETEXT);
    }

    fn on_format_data_request(&mut self, request: FormatDataRequest) {
        lock(&self.session).clipboard.answer(request.format);
    }

    fn on_format_data_response(&mut self, response: FormatDataResponse<'_>) {
        let mut session = lock(&self.session);
        if let Some(text) = session.clipboard.take_paste(&response) {
            session.pasted(&text);
        }
    }

    fn on_file_contents_request(&mut self, _: FileContentsRequest) {}

    fn on_file_contents_response(&mut self, _: FileContentsResponse<'_>) {}

    fn on_lock(&mut self, _: LockDataId) {}

    fn on_unlock(&mut self, _: LockDataId) {}
}

/// Builds the backend for one connection's session and gives the session IronRDP's sender.
pub struct ClipboardFactory {
    session: SharedSession,
}

impl ClipboardFactory {
    pub fn new(session: SharedSession) -> Self {
        Self { session }
    }
}

impl CliprdrBackendFactory for ClipboardFactory {
    fn build_cliprdr_backend(&self) -> Box<dyn CliprdrBackend> {
        Box::new(ClipboardBackend {
            session: SharedSession::clone(&self.session),
        })
    }
}

impl ServerEventSender for ClipboardFactory {
    fn set_sender(&mut self, sender: UnboundedSender<ServerEvent>) {
        lock(&self.session).clipboard.sender = Some(sender);
    }
}

impl CliprdrServerFactory for ClipboardFactory {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready_link() -> (ClipboardLink, tokio::sync::mpsc::UnboundedReceiver<ServerEvent>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let link = ClipboardLink {
            sender: Some(tx),
            ready: true,
            ..ClipboardLink::default()
        };
        (link, rx)
    }

    #[test]
    fn without_the_channel_copy_and_paste_say_so() {
        let mut link = ClipboardLink::default();
        assert_eq!(link.copy("x".into()), Err(STATUS_NO_CLIPBOARD));
        assert_eq!(link.request_paste(), Err(STATUS_NO_CLIPBOARD));
    }

    #[test]
    fn copy_announces_text_and_serves_it_as_unicode_only() {
        let (mut link, mut rx) = ready_link();
        assert_eq!(link.request_paste(), Err(STATUS_CLIPBOARD_EMPTY));
        link.copy("Åsa Öberg".into()).unwrap();
        let Ok(ServerEvent::Clipboard(ClipboardMessage::SendInitiateCopy(formats))) = rx.try_recv() else {
            panic!("no format list")
        };
        assert_eq!(formats, vec![ClipboardFormat::new(ClipboardFormatId::CF_UNICODETEXT)]);
        link.answer(ClipboardFormatId::CF_UNICODETEXT);
        let Ok(ServerEvent::Clipboard(ClipboardMessage::SendFormatData(data))) = rx.try_recv() else {
            panic!("no data")
        };
        assert_eq!(decode_unicode(data.data()), "Åsa Öberg");
        link.answer(ClipboardFormatId::CF_TEXT);
        let Ok(ServerEvent::Clipboard(ClipboardMessage::SendFormatData(data))) = rx.try_recv() else {
            panic!("no answer")
        };
        assert!(data.is_error());
    }

    #[test]
    fn only_a_requested_paste_is_taken() {
        let (mut link, _rx) = ready_link();
        let data = OwnedFormatDataResponse::new_unicode_string("hej");
        assert_eq!(link.take_paste(&data), None, "not asked");
        link.client_has_text = true;
        link.request_paste().unwrap();
        assert_eq!(link.take_paste(&data).as_deref(), Some("hej"));
        assert_eq!(link.take_paste(&data), None, "once");
        link.request_paste().unwrap();
        assert_eq!(link.take_paste(&OwnedFormatDataResponse::new_error()), None);
    }

    #[test]
    fn pastes_are_decoded_leniently_and_bounded() {
        assert_eq!(decode_unicode(&[b'a', 0, b'b']), "a", "odd length");
        assert_eq!(decode_unicode(&[b'a', 0, 0, 0, b'b', 0]), "a", "stops at NUL");
        assert_eq!(decode_unicode(&[0x3D, 0xD8]), "\u{FFFD}");
        let long: Vec<u8> = std::iter::repeat_n([b'x', 0], 10_000).flatten().collect();
        assert_eq!(decode_unicode(&long).len(), MAX_PASTE_UNITS);
    }
}

//! A copy of the RDPDR channel's traffic both ways, for recording a real conversation as test
//! fixtures (`gateway/tests/fixtures/rdpdr/`): the static channel's chunks as they cross the
//! wire (each with its CHANNEL_PDU_HEADER), and their reassembly into whole PDUs. Sans-IO;
//! the link calls it only when [`PrinterParams::tap`](super::PrinterParams::tap) is set.

use ironrdp_pdu::mcs::McsMessage;
use ironrdp_pdu::x224::X224;
use tokio::sync::mpsc;

/// CHANNEL_FLAG_FIRST and CHANNEL_FLAG_LAST ([MS-RDPBCGR] 2.2.6.1.1).
const FIRST: u32 = 0x1;
const LAST: u32 = 0x2;
/// Largest PDU reassembled (the channel's chunks of one RDPDR PDU).
const MAX_PDU: usize = 32 * 1024 * 1024;

/// One static-channel chunk of the rdpdr channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdpdrChunk {
    /// From the host (`true`) or from the gateway.
    pub from_host: bool,
    /// CHANNEL_PDU_HEADER (length, flags) and the chunk's data.
    pub bytes: Vec<u8>,
}

/// Where the link sends the copies.
pub type RdpdrTap = mpsc::UnboundedSender<RdpdrChunk>;

/// The rdpdr chunk in one frame from the host, if it is one.
pub fn host_chunk(frame: &[u8], channel_id: u16) -> Option<Vec<u8>> {
    let data = ironrdp_pdu::mcs::decode_send_data_indication(frame).ok()?;
    (data.channel_id == channel_id).then(|| data.user_data.to_vec())
}

/// The rdpdr chunks among the frames the gateway writes (several frames may be
/// concatenated; each starts with a TPKT header).
pub fn gateway_chunks(mut bytes: &[u8], channel_id: u16) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    while bytes.len() >= 4 && bytes[0] == 3 {
        let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        let Some(frame) = bytes.get(..len).filter(|_| len >= 4) else {
            break;
        };
        if let Ok(X224(McsMessage::SendDataRequest(data))) =
            ironrdp_core::decode::<X224<McsMessage<'_>>>(frame)
            && data.channel_id == channel_id
        {
            chunks.push(data.user_data.to_vec());
        }
        bytes = &bytes[len..];
    }
    chunks
}

/// Whole PDUs from chunks of one direction, in order; a chunk that does not fit (bad
/// header, a middle chunk without a first) is skipped with what was collected so far.
pub fn reassemble<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Vec<u8>> {
    let mut pdus = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    for chunk in chunks {
        let Some((header, data)) = chunk.split_at_checked(8) else {
            continue;
        };
        let flags = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if flags & FIRST != 0 {
            current = Some(Vec::new());
        }
        let Some(pdu) = current.as_mut() else {
            continue;
        };
        if pdu.len() + data.len() > MAX_PDU {
            current = None;
            continue;
        }
        pdu.extend_from_slice(data);
        if flags & LAST != 0
            && let Some(done) = current.take()
        {
            pdus.push(done);
        }
    }
    pdus
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(flags: u32, data: &[u8]) -> Vec<u8> {
        let mut out = 10u32.to_le_bytes().to_vec();
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn chunks_become_whole_pdus() {
        let chunks = [
            chunk(FIRST | LAST, b"one"),
            chunk(FIRST, b"tw"),
            chunk(0, b"o-"),
            chunk(LAST, b"parts"),
            chunk(0, b"orphan"),
            b"short".to_vec(),
        ];
        let pdus = reassemble(chunks.iter().map(Vec::as_slice));
        assert_eq!(pdus, vec![b"one".to_vec(), b"two-parts".to_vec()]);
    }

    #[test]
    fn frames_that_are_not_channel_data_are_ignored() {
        assert!(host_chunk(b"", 1004).is_none());
        assert!(host_chunk(&[3, 0, 0, 7, 2, 0xF0, 0x80], 1004).is_none());
        assert!(gateway_chunks(&[3, 0, 0, 2], 1004).is_empty());
        assert!(gateway_chunks(&[3, 0, 0, 200, 1, 2], 1004).is_empty());
    }
}

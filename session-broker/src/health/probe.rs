//! The RDP health probe's wire format, sans-IO: the X.224 Connection Request a probe sends
//! (asking for TLS or CredSSP, as real clients do) and a bounded parser for the host's
//! Connection Confirm (MS-RDPBCGR 2.2.1.1 and 2.2.1.2). A host that answers with a
//! well-formed confirm — even a negotiation failure — has a live RDP stack.

/// TPKT header length.
pub const TPKT_HEADER: usize = 4;
/// The largest Connection Confirm accepted, TPKT header included (a real one is 19 bytes).
pub const MAX_CONFIRM: usize = 64;
/// The smallest: TPKT header and an X.224 CC without negotiation data.
const MIN_CONFIRM: usize = TPKT_HEADER + 7;

/// `requestedProtocols`: PROTOCOL_SSL | PROTOCOL_HYBRID.
const REQUESTED_PROTOCOLS: u32 = 0x0000_0001 | 0x0000_0002;

/// The Connection Request a probe sends.
pub fn connection_request() -> Vec<u8> {
    // X.224 CR: LI, CR code, DST-REF, SRC-REF, class 0; then RDP_NEG_REQ.
    let mut x224 = vec![0xE0, 0x00, 0x00, 0x00, 0x00, 0x00];
    x224.extend_from_slice(&[0x01, 0x00, 0x08, 0x00]);
    x224.extend_from_slice(&REQUESTED_PROTOCOLS.to_le_bytes());
    let total = TPKT_HEADER + 1 + x224.len();
    let mut pdu = Vec::with_capacity(total);
    pdu.extend_from_slice(&[0x03, 0x00]);
    pdu.extend_from_slice(&(total as u16).to_be_bytes());
    pdu.push(x224.len() as u8);
    pdu.extend_from_slice(&x224);
    pdu
}

/// What the host answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// RDP_NEG_RSP: the security protocol the host chose.
    Selected { protocol: u32 },
    /// RDP_NEG_FAILURE: the host refused our protocols (its RDP stack still answered).
    Failure { code: u32 },
    /// A confirm without negotiation data (standard RDP security only).
    Plain,
}

/// Why bytes are not a Connection Confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmError {
    #[error("not a TPKT packet (version byte {0:#04x})")]
    NotTpkt(u8),
    #[error("TPKT length {0} outside {MIN_CONFIRM}..={MAX_CONFIRM}")]
    BadLength(usize),
    #[error("{got} bytes where the TPKT header announced {announced}")]
    LengthMismatch { announced: usize, got: usize },
    #[error("X.224 length indicator {0} does not match the packet")]
    BadIndicator(u8),
    #[error("X.224 code {0:#04x} is not a Connection Confirm")]
    NotConfirm(u8),
    #[error("negotiation data of {0} bytes (8 expected)")]
    BadNegotiation(usize),
    #[error("unknown negotiation type {0:#04x}")]
    UnknownNegotiation(u8),
}

/// The whole packet length announced by a TPKT header, checked against the bounds.
pub fn tpkt_length(header: [u8; TPKT_HEADER]) -> Result<usize, ConfirmError> {
    if header[0] != 0x03 {
        return Err(ConfirmError::NotTpkt(header[0]));
    }
    let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if !(MIN_CONFIRM..=MAX_CONFIRM).contains(&length) {
        return Err(ConfirmError::BadLength(length));
    }
    Ok(length)
}

/// Parses a whole Connection Confirm packet (TPKT header included).
pub fn parse_confirm(pdu: &[u8]) -> Result<Confirm, ConfirmError> {
    let header: [u8; TPKT_HEADER] = pdu
        .get(..TPKT_HEADER)
        .and_then(|h| h.try_into().ok())
        .ok_or(ConfirmError::BadLength(pdu.len()))?;
    let announced = tpkt_length(header)?;
    if announced != pdu.len() {
        return Err(ConfirmError::LengthMismatch {
            announced,
            got: pdu.len(),
        });
    }
    let x224 = &pdu[TPKT_HEADER..];
    let indicator = x224[0];
    if usize::from(indicator) + 1 != x224.len() {
        return Err(ConfirmError::BadIndicator(indicator));
    }
    if x224[1] & 0xF0 != 0xD0 {
        return Err(ConfirmError::NotConfirm(x224[1]));
    }
    // CC code, DST-REF, SRC-REF, class: 6 bytes after the indicator.
    let negotiation = &x224[7..];
    match negotiation.len() {
        0 => Ok(Confirm::Plain),
        8 => {
            let value = u32::from_le_bytes([
                negotiation[4],
                negotiation[5],
                negotiation[6],
                negotiation[7],
            ]);
            match negotiation[0] {
                0x02 => Ok(Confirm::Selected { protocol: value }),
                0x03 => Ok(Confirm::Failure { code: value }),
                other => Err(ConfirmError::UnknownNegotiation(other)),
            }
        }
        other => Err(ConfirmError::BadNegotiation(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confirm(negotiation: &[u8]) -> Vec<u8> {
        let mut x224 = vec![0xD0, 0x00, 0x00, 0x12, 0x34, 0x00];
        x224.extend_from_slice(negotiation);
        let total = TPKT_HEADER + 1 + x224.len();
        let mut pdu = vec![0x03, 0x00];
        pdu.extend_from_slice(&(total as u16).to_be_bytes());
        pdu.push(x224.len() as u8);
        pdu.extend_from_slice(&x224);
        pdu
    }

    #[test]
    fn the_request_is_a_well_formed_tpkt_x224_cr() {
        let request = connection_request();
        assert_eq!(request.len(), 19);
        assert_eq!(&request[..4], &[0x03, 0x00, 0x00, 19]);
        assert_eq!(usize::from(request[4]) + 5, request.len());
        assert_eq!(request[5], 0xE0);
        assert_eq!(&request[11..15], &[0x01, 0x00, 0x08, 0x00]);
    }

    #[test]
    fn confirms_are_read() {
        let selected = confirm(&[0x02, 0x1F, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00]);
        assert_eq!(
            parse_confirm(&selected),
            Ok(Confirm::Selected { protocol: 2 })
        );
        let failure = confirm(&[0x03, 0x00, 0x08, 0x00, 0x05, 0x00, 0x00, 0x00]);
        assert_eq!(parse_confirm(&failure), Ok(Confirm::Failure { code: 5 }));
        assert_eq!(parse_confirm(&confirm(&[])), Ok(Confirm::Plain));
    }

    #[test]
    fn malformed_confirms_are_refused_with_their_reason() {
        let good = confirm(&[0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00]);
        assert_eq!(parse_confirm(&[]), Err(ConfirmError::BadLength(0)));
        assert_eq!(
            parse_confirm(b"HTTP/1.1 400 Bad Request\r\n"),
            Err(ConfirmError::NotTpkt(b'H'))
        );
        let mut short = good.clone();
        short.pop();
        assert!(matches!(
            parse_confirm(&short),
            Err(ConfirmError::LengthMismatch { .. })
        ));
        let mut huge = good.clone();
        huge[2] = 0xFF;
        assert_eq!(parse_confirm(&huge), Err(ConfirmError::BadLength(0xFF13)));
        let mut indicator = good.clone();
        indicator[4] = 3;
        assert_eq!(
            parse_confirm(&indicator),
            Err(ConfirmError::BadIndicator(3))
        );
        let mut request = good.clone();
        request[5] = 0xE0;
        assert_eq!(parse_confirm(&request), Err(ConfirmError::NotConfirm(0xE0)));
        let mut kind = good.clone();
        kind[11] = 0x09;
        assert_eq!(
            parse_confirm(&kind),
            Err(ConfirmError::UnknownNegotiation(0x09))
        );
        assert_eq!(
            parse_confirm(&confirm(&[0x02, 0x00, 0x08])),
            Err(ConfirmError::BadNegotiation(3))
        );
        assert_eq!(
            tpkt_length([0x03, 0x00, 0x00, 0x05]),
            Err(ConfirmError::BadLength(5))
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
            let _ = parse_confirm(&bytes);
        }
    }
}

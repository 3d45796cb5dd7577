//! The launch ticket's wire format, sans-IO: claims to bytes and back, base64url for
//! transport. Signing and verification live in [`super::keys`]; this module only lays out
//! and parses bytes, and every malformed input is a [`Malformed`] value, never a panic.
//!
//! Layout (version 1, all integers big-endian, 182 bytes, 243 base64url characters):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | version (`1`) |
//! | 1 | 4 | key id (first 4 bytes of SHA-256 of the Ed25519 public key) |
//! | 5 | 16 | ticket id (random) |
//! | 21 | 16 | user id |
//! | 37 | 16 | tenant id |
//! | 53 | 16 | session id |
//! | 69 | 16 | host id |
//! | 85 | 16 | app id |
//! | 101 | 1 | path (`1` browser, `2` native) |
//! | 102 | 8 | issued at, unix milliseconds |
//! | 110 | 8 | expires at, unix milliseconds |
//! | 118 | 64 | Ed25519 signature over bytes 0..118 |

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// The only version this code writes and reads.
pub const VERSION: u8 = 1;
/// Length of the signed part.
pub const SIGNED_LEN: usize = 118;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of a whole version-1 ticket in bytes.
pub const TICKET_LEN: usize = SIGNED_LEN + SIGNATURE_LEN;
/// Longest text accepted before decoding: anything longer is refused unread, so a hostile
/// client cannot make the verifier allocate or decode much.
pub const MAX_ENCODED_LEN: usize = 512;

/// Identifies the signing key; derived from the public key so every node computes the same
/// id from the same public key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 4]);

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// How the user reaches the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LaunchPath {
    /// The HTML5 client over the gateway's websocket.
    Browser,
    /// A native RDP client through the gateway's RD Gateway endpoint.
    Native,
}

impl LaunchPath {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Browser => "browser",
            Self::Native => "native",
        }
    }

    fn to_byte(self) -> u8 {
        match self {
            Self::Browser => 1,
            Self::Native => 2,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Browser),
            2 => Some(Self::Native),
            _ => None,
        }
    }
}

impl std::fmt::Display for LaunchPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for LaunchPath {
    type Err = Malformed;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "browser" => Ok(Self::Browser),
            "native" => Ok(Self::Native),
            _ => Err(Malformed::UnknownPath(0)),
        }
    }
}

/// What a ticket asserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Claims {
    pub ticket_id: Uuid,
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub session_id: Uuid,
    pub host_id: Uuid,
    pub app_id: Uuid,
    pub path: LaunchPath,
    /// Unix milliseconds.
    pub issued_at_ms: i64,
    /// Unix milliseconds; the ticket is not accepted at or after this instant (plus the
    /// verifier's clock-skew allowance).
    pub expires_at_ms: i64,
}

/// Why bytes are not a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("ticket is empty")]
    Empty,
    #[error("ticket is longer than {MAX_ENCODED_LEN} characters")]
    TooLong,
    #[error("ticket is not base64url")]
    NotBase64,
    #[error("ticket version {0} is not supported")]
    UnsupportedVersion(u8),
    #[error("ticket is {0} bytes; version 1 has {TICKET_LEN}")]
    WrongLength(usize),
    #[error("ticket names unknown launch path {0}")]
    UnknownPath(u8),
    #[error("ticket expires before it was issued")]
    InvertedTimes,
    /// A native-path reference (PAA cookie) that is not 24 characters of base64url.
    #[error("access token is not a launch reference")]
    NotAReference,
}

/// A parsed, not yet verified ticket: claims, key id, and the bytes the signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub key_id: KeyId,
    pub claims: Claims,
    /// Bytes 0..[`SIGNED_LEN`].
    pub signed: [u8; SIGNED_LEN],
    pub signature: [u8; SIGNATURE_LEN],
}

/// The bytes a signature covers for `claims` under `key_id`.
pub fn signed_bytes(key_id: KeyId, c: &Claims) -> [u8; SIGNED_LEN] {
    let mut out = [0u8; SIGNED_LEN];
    out[0] = VERSION;
    out[1..5].copy_from_slice(&key_id.0);
    let ids = [
        c.ticket_id,
        c.user_id,
        c.tenant_id,
        c.session_id,
        c.host_id,
        c.app_id,
    ];
    for (i, id) in ids.iter().enumerate() {
        let at = 5 + 16 * i;
        out[at..at + 16].copy_from_slice(id.as_bytes());
    }
    out[101] = c.path.to_byte();
    out[102..110].copy_from_slice(&c.issued_at_ms.to_be_bytes());
    out[110..118].copy_from_slice(&c.expires_at_ms.to_be_bytes());
    out
}

/// Joins signed bytes and their signature into the transport form.
pub fn encode(signed: &[u8; SIGNED_LEN], signature: &[u8; SIGNATURE_LEN]) -> String {
    let mut all = [0u8; TICKET_LEN];
    all[..SIGNED_LEN].copy_from_slice(signed);
    all[SIGNED_LEN..].copy_from_slice(signature);
    URL_SAFE_NO_PAD.encode(all)
}

fn uuid_at(bytes: &[u8; TICKET_LEN], at: usize) -> Uuid {
    let mut b = [0u8; 16];
    b.copy_from_slice(&bytes[at..at + 16]);
    Uuid::from_bytes(b)
}

fn i64_at(bytes: &[u8; TICKET_LEN], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    i64::from_be_bytes(b)
}

/// Parses the transport form. Checks shape only; the signature is checked by
/// [`super::TicketVerifier`].
pub fn decode(text: &str) -> Result<Parsed, Malformed> {
    if text.is_empty() {
        return Err(Malformed::Empty);
    }
    if text.len() > MAX_ENCODED_LEN {
        return Err(Malformed::TooLong);
    }
    let raw = URL_SAFE_NO_PAD
        .decode(text.as_bytes())
        .map_err(|_| Malformed::NotBase64)?;
    decode_bytes(&raw)
}

/// Parses the binary form (after base64url).
pub fn decode_bytes(raw: &[u8]) -> Result<Parsed, Malformed> {
    let Some(&version) = raw.first() else {
        return Err(Malformed::Empty);
    };
    if version != VERSION {
        return Err(Malformed::UnsupportedVersion(version));
    }
    let bytes: &[u8; TICKET_LEN] = raw
        .try_into()
        .map_err(|_| Malformed::WrongLength(raw.len()))?;
    let path = LaunchPath::from_byte(bytes[101]).ok_or(Malformed::UnknownPath(bytes[101]))?;
    let claims = Claims {
        ticket_id: uuid_at(bytes, 5),
        user_id: uuid_at(bytes, 21),
        tenant_id: uuid_at(bytes, 37),
        session_id: uuid_at(bytes, 53),
        host_id: uuid_at(bytes, 69),
        app_id: uuid_at(bytes, 85),
        path,
        issued_at_ms: i64_at(bytes, 102),
        expires_at_ms: i64_at(bytes, 110),
    };
    if claims.expires_at_ms < claims.issued_at_ms {
        return Err(Malformed::InvertedTimes);
    }
    let mut key_id = [0u8; 4];
    key_id.copy_from_slice(&bytes[1..5]);
    let mut signed = [0u8; SIGNED_LEN];
    signed.copy_from_slice(&bytes[..SIGNED_LEN]);
    let mut signature = [0u8; SIGNATURE_LEN];
    signature.copy_from_slice(&bytes[SIGNED_LEN..]);
    Ok(Parsed {
        key_id: KeyId(key_id),
        claims,
        signed,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            ticket_id: Uuid::from_u128(1),
            user_id: Uuid::from_u128(2),
            tenant_id: Uuid::from_u128(3),
            session_id: Uuid::from_u128(4),
            host_id: Uuid::from_u128(5),
            app_id: Uuid::from_u128(6),
            path: LaunchPath::Native,
            issued_at_ms: 1_000,
            expires_at_ms: 61_000,
        }
    }

    #[test]
    fn layout_round_trips_and_has_the_documented_length() {
        let kid = KeyId([9, 8, 7, 6]);
        let signed = signed_bytes(kid, &claims());
        let text = encode(&signed, &[0xAB; SIGNATURE_LEN]);
        assert_eq!(text.len(), 243);
        let p = decode(&text).expect("decodes");
        assert_eq!(
            (p.key_id, p.claims, p.signature),
            (kid, claims(), [0xAB; 64])
        );
        assert_eq!(p.signed, signed);
    }

    #[test]
    fn shapes_are_refused_with_their_reason() {
        assert_eq!(decode(""), Err(Malformed::Empty));
        assert_eq!(decode(&"A".repeat(513)), Err(Malformed::TooLong));
        assert_eq!(decode("not base64!"), Err(Malformed::NotBase64));
        assert_eq!(
            decode_bytes(&[2; 182]),
            Err(Malformed::UnsupportedVersion(2))
        );
        assert_eq!(decode_bytes(&[1; 181]), Err(Malformed::WrongLength(181)));
        let mut bad_path = [1u8; TICKET_LEN];
        bad_path[101] = 7;
        assert_eq!(decode_bytes(&bad_path), Err(Malformed::UnknownPath(7)));
    }
}

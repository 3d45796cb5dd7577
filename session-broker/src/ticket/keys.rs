//! Ticket signing keys and verifiers. The broker holds the Ed25519 key pair (PKCS#8 in the
//! data dir, mode 0600); any gateway verifies with public keys alone, so a public key file
//! copied to other nodes is all they need. Several public keys may be trusted at once,
//! which is how keys rotate: publish the new public key, switch the signer, drop the old
//! key after the longest ticket lifetime.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use super::codec::{self, Claims, KeyId, Malformed};

/// File name of the private key in the data dir.
pub const KEY_FILE: &str = "ticket_signing_key";
/// File name of the public key written beside it.
pub const PUBLIC_KEY_FILE: &str = "ticket_signing_key.pub";

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 key bytes follow.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: not an Ed25519 PKCS#8 private key")]
    BadPrivateKey(String),
    #[error("{0}: no Ed25519 public key (PEM \"PUBLIC KEY\") found")]
    BadPublicKey(String),
    #[error("the system random generator failed")]
    Random,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The key id of a public key: the first 4 bytes of its SHA-256.
pub fn key_id_of(public: &[u8; 32]) -> KeyId {
    let d = ring::digest::digest(&ring::digest::SHA256, public);
    let mut id = [0u8; 4];
    id.copy_from_slice(&d.as_ref()[..4]);
    KeyId(id)
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Every DER body labelled `label` in a PEM text; sections with bad base64 are skipped.
fn pem_bodies(text: &str, label: &str) -> Vec<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let after = &rest[start + begin.len()..];
        let Some(stop) = after.find(&end) else { break };
        let b64: String = after[..stop]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if let Ok(der) = STANDARD.decode(b64) {
            out.push(der);
        }
        rest = &after[stop + end.len()..];
    }
    out
}

/// An Ed25519 public key that verifies tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TicketPublicKey {
    bytes: [u8; 32],
    key_id: KeyId,
}

impl TicketPublicKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            bytes,
            key_id: key_id_of(&bytes),
        }
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// PEM `PUBLIC KEY` (SubjectPublicKeyInfo), readable by `openssl pkey -pubin`.
    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.bytes);
        pem("PUBLIC KEY", &der)
    }

    /// Every Ed25519 `PUBLIC KEY` in a PEM text (a file may hold the current and the next
    /// key during a rotation). `what` names the source in the error.
    pub fn parse_pem(text: &str, what: &str) -> Result<Vec<Self>, KeyError> {
        let keys: Vec<Self> = pem_bodies(text, "PUBLIC KEY")
            .iter()
            .filter_map(|der| der.strip_prefix(SPKI_PREFIX.as_slice()))
            .filter_map(|raw| <[u8; 32]>::try_from(raw).ok())
            .map(Self::from_bytes)
            .collect();
        if keys.is_empty() {
            return Err(KeyError::BadPublicKey(what.to_owned()));
        }
        Ok(keys)
    }

    /// Reads [`Self::parse_pem`] from a file.
    pub fn read_file(path: &Path) -> Result<Vec<Self>, KeyError> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        Self::parse_pem(&text, &path.display().to_string())
    }
}

/// The broker's signing key pair.
pub struct TicketKeys {
    pair: Ed25519KeyPair,
    public: TicketPublicKey,
}

impl std::fmt::Debug for TicketKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_struct("TicketKeys")
            .field("key_id", &self.public.key_id)
            .finish_non_exhaustive()
    }
}

impl TicketKeys {
    /// A new random key pair and its PKCS#8 document (to store).
    pub fn generate() -> Result<(Self, Vec<u8>), KeyError> {
        let pkcs8 =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Random)?;
        let keys = Self::from_pkcs8(pkcs8.as_ref(), "generated key")?;
        Ok((keys, pkcs8.as_ref().to_vec()))
    }

    /// From a PKCS#8 (v1 or v2) DER document.
    pub fn from_pkcs8(der: &[u8], what: &str) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|_| KeyError::BadPrivateKey(what.to_owned()))?;
        let bytes = <[u8; 32]>::try_from(pair.public_key().as_ref())
            .map_err(|_| KeyError::BadPrivateKey(what.to_owned()))?;
        Ok(Self {
            pair,
            public: TicketPublicKey::from_bytes(bytes),
        })
    }

    /// From a PEM `PRIVATE KEY` text.
    pub fn from_pem(text: &str, what: &str) -> Result<Self, KeyError> {
        let der = pem_bodies(text, "PRIVATE KEY")
            .into_iter()
            .next()
            .ok_or_else(|| KeyError::BadPrivateKey(what.to_owned()))?;
        Self::from_pkcs8(&der, what)
    }

    /// Loads `dir/ticket_signing_key` (PEM PKCS#8), creating it with mode 0600 when missing,
    /// and (re)writes `dir/ticket_signing_key.pub` when it is missing or names another key.
    /// Safe when several processes start at once on one data dir: the key file appears
    /// atomically, and the loser of a race loads the winner's key.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(KEY_FILE);
        let keys = match std::fs::read_to_string(&path) {
            Ok(text) => {
                warn_if_readable_by_others(&path);
                Self::from_pem(&text, &path.display().to_string())?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(dir, &path)?,
            Err(e) => return Err(io(&path)(e)),
        };
        let pub_path = dir.join(PUBLIC_KEY_FILE);
        let current = std::fs::read_to_string(&pub_path)
            .ok()
            .and_then(|t| TicketPublicKey::parse_pem(&t, "").ok());
        if current.is_none_or(|keys_in_file| !keys_in_file.contains(&keys.public)) {
            std::fs::write(&pub_path, keys.public.to_pem()).map_err(io(&pub_path))?;
        }
        Ok(keys)
    }

    fn create(dir: &Path, path: &Path) -> Result<Self, KeyError> {
        let (keys, pkcs8) = Self::generate()?;
        let mut suffix = [0u8; 8];
        ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut suffix)
            .map_err(|_| KeyError::Random)?;
        let tmp = dir.join(format!(
            ".{KEY_FILE}.{}",
            suffix
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ));
        write_private(&tmp, pem("PRIVATE KEY", &pkcs8).as_bytes())?;
        // A hard link publishes the complete file or fails if another process won.
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                tracing::info!(path = %path.display(), key_id = %keys.public.key_id, "created ticket signing key");
                Ok(keys)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(io(path))?;
                Self::from_pem(&text, &path.display().to_string())
            }
            Err(e) => Err(io(path)(e)),
        }
    }

    pub fn key_id(&self) -> KeyId {
        self.public.key_id
    }

    pub fn public_key(&self) -> TicketPublicKey {
        self.public
    }

    /// Signs `claims` and returns the transport form.
    pub fn sign(&self, claims: &Claims) -> String {
        let signed = codec::signed_bytes(self.public.key_id, claims);
        let sig = self.pair.sign(&signed);
        let mut signature = [0u8; codec::SIGNATURE_LEN];
        // An Ed25519 signature is always 64 bytes.
        signature.copy_from_slice(sig.as_ref());
        codec::encode(&signed, &signature)
    }

    /// A verifier trusting only this key.
    pub fn verifier(&self) -> TicketVerifier {
        TicketVerifier::from_public_keys([self.public])
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Writes a new secret file with mode 0600; fails if it exists.
pub(crate) fn write_secret_file(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    write_private(path, bytes)
}

pub(crate) fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "secret key file is readable by group or others; chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Why a ticket was refused. The gateway answers [`Self::http_status`] and audits
/// [`Self::reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("malformed ticket: {0}")]
    Malformed(#[from] Malformed),
    #[error("ticket signature does not verify")]
    BadSignature,
    #[error("ticket signed by unknown key {0}")]
    UnknownKey(KeyId),
    #[error("ticket expired")]
    Expired,
    #[error("ticket issued in the future")]
    NotYetValid,
    /// Already consumed, or never issued by a broker on this database.
    #[error("ticket already used or unknown")]
    Replayed,
}

impl Refusal {
    /// Stable word for audit events and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::BadSignature => "bad_signature",
            Self::UnknownKey(_) => "unknown_key",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Replayed => "replayed",
        }
    }

    /// 401 when the ticket does not authenticate anyone (malformed, forged, unknown key,
    /// outside its lifetime); 403 when it is genuine but spent.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Replayed => 403,
            _ => 401,
        }
    }
}

/// Default clock-skew allowance between broker and gateway clocks.
pub const DEFAULT_CLOCK_SKEW_MS: i64 = 5_000;

/// Verifies tickets with public keys only.
#[derive(Clone)]
pub struct TicketVerifier {
    keys: HashMap<KeyId, TicketPublicKey>,
    clock_skew_ms: i64,
}

impl std::fmt::Debug for TicketVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ids: Vec<String> = self.keys.keys().map(ToString::to_string).collect();
        ids.sort();
        f.debug_struct("TicketVerifier")
            .field("key_ids", &ids)
            .field("clock_skew_ms", &self.clock_skew_ms)
            .finish()
    }
}

impl TicketVerifier {
    /// Trusts every given key (the current one and, during a rotation, the next or the
    /// previous one).
    pub fn from_public_keys(keys: impl IntoIterator<Item = TicketPublicKey>) -> Self {
        Self {
            keys: keys.into_iter().map(|k| (k.key_id(), k)).collect(),
            clock_skew_ms: DEFAULT_CLOCK_SKEW_MS,
        }
    }

    /// Reads every public key of the given PEM files.
    pub fn from_public_key_files(paths: &[PathBuf]) -> Result<Self, KeyError> {
        let mut keys = Vec::new();
        for p in paths {
            keys.extend(TicketPublicKey::read_file(p)?);
        }
        Ok(Self::from_public_keys(keys))
    }

    /// Tolerance for clocks that disagree (default 5 s), applied to both ends of the
    /// lifetime.
    pub fn with_clock_skew_ms(mut self, ms: i64) -> Self {
        self.clock_skew_ms = ms.max(0);
        self
    }

    pub fn clock_skew_ms(&self) -> i64 {
        self.clock_skew_ms
    }

    pub fn key_ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.keys.keys().copied()
    }

    /// Checks shape, key, signature and lifetime at `now_ms` (unix milliseconds). Does not
    /// check single use; see [`super::consume`].
    pub fn verify(&self, text: &str, now_ms: i64) -> Result<Claims, Refusal> {
        let parsed = codec::decode(text)?;
        let key = self
            .keys
            .get(&parsed.key_id)
            .ok_or(Refusal::UnknownKey(parsed.key_id))?;
        UnparsedPublicKey::new(&ED25519, key.bytes())
            .verify(&parsed.signed, &parsed.signature)
            .map_err(|_| Refusal::BadSignature)?;
        let c = parsed.claims;
        if now_ms >= c.expires_at_ms.saturating_add(self.clock_skew_ms) {
            return Err(Refusal::Expired);
        }
        if c.issued_at_ms > now_ms.saturating_add(self.clock_skew_ms) {
            return Err(Refusal::NotYetValid);
        }
        Ok(c)
    }
}

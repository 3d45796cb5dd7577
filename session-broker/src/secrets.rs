//! Secrets at rest: AES-256-GCM with a 32-byte key from the configuration, a random nonce
//! per sealing, and associated data naming the row and purpose, so a ciphertext copied to
//! another row or column does not open. [`Secret`] carries plaintext through the program
//! without ever printing it.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use crate::ticket::keys::{KeyError, warn_if_readable_by_others, write_secret_file};

/// File name of the generated key in the data dir.
pub const SECRETS_KEY_FILE: &str = "secrets_key";

/// A password or other secret in memory: `Debug` and `Display` print `[redacted]`, and
/// the bytes are overwritten when it is dropped.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The plaintext, for the one place that needs it (the RDP handshake).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// Secrets arrive in request bodies (write-only); they are never serialized.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        // Keeps the compiler from dropping the overwrite of memory about to be freed.
        std::hint::black_box(&bytes);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsKeyError {
    #[error("secrets_key must be 32 bytes in base64 (e.g. `openssl rand -base64 32`); {0}")]
    Invalid(String),
    #[error(transparent)]
    File(#[from] KeyError),
}

/// Sealing failed to open: wrong key, or the stored bytes were changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the stored secret does not open with this key (wrong key, or tampered data)")]
pub struct OpenError;

/// A sealed secret as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub ciphertext: Vec<u8>,
    pub nonce: [u8; NONCE_LEN],
}

/// The key that seals secrets at rest.
pub struct SecretsKey {
    raw: [u8; 32],
    key: LessSafeKey,
    key_id: String,
}

impl Clone for SecretsKey {
    fn clone(&self) -> Self {
        Self::from_bytes(self.raw)
    }
}

impl PartialEq for SecretsKey {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for SecretsKey {}

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Drop for SecretsKey {
    fn drop(&mut self) {
        self.raw.fill(0);
        std::hint::black_box(&self.raw);
    }
}

impl SecretsKey {
    pub fn from_bytes(raw: [u8; 32]) -> Self {
        // AES-256 accepts any 32 bytes; `new` only fails on a wrong length.
        let unbound = UnboundKey::new(&AES_256_GCM, &raw).unwrap_or_else(|_| unreachable!());
        let digest = ring::digest::digest(&ring::digest::SHA256, &raw);
        let key_id = digest.as_ref()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            raw,
            key: LessSafeKey::new(unbound),
            key_id,
        }
    }

    /// From base64 (standard alphabet, with or without padding; surrounding whitespace is
    /// ignored) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, SecretsKeyError> {
        let text = text.trim().trim_end_matches('=');
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(text)
            .map_err(|_| SecretsKeyError::Invalid("it is not base64".into()))?;
        let raw = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            SecretsKeyError::Invalid(format!("it decodes to {} bytes", bytes.len()))
        })?;
        Ok(Self::from_bytes(raw))
    }

    /// A new random key.
    pub fn generate() -> Result<Self, SecretsKeyError> {
        let mut raw = [0u8; 32];
        SystemRandom::new()
            .fill(&mut raw)
            .map_err(|_| SecretsKeyError::File(KeyError::Random))?;
        Ok(Self::from_bytes(raw))
    }

    /// The key in base64, for writing a key file.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.raw)
    }

    /// Reads a key file (base64 of 32 bytes).
    pub fn read_file(path: &Path) -> Result<Self, SecretsKeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })?;
        warn_if_readable_by_others(path);
        Self::from_base64(&text).map_err(|e| match e {
            SecretsKeyError::Invalid(why) => {
                SecretsKeyError::Invalid(format!("{}: {why}", path.display()))
            }
            other => other,
        })
    }

    /// Short public name of the key (first 4 bytes of its SHA-256, hex), stored beside each
    /// ciphertext so a key change is recognisable.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Encrypts `plaintext` bound to `aad` with a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Sealed, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyError::Random)?;
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut buf,
            )
            .map_err(|_| KeyError::Random)?;
        Ok(Sealed {
            ciphertext: buf,
            nonce,
        })
    }

    /// Decrypts what [`Self::seal`] produced with the same `aad`.
    pub fn open(&self, sealed: &Sealed, aad: &[u8]) -> Result<Vec<u8>, OpenError> {
        let mut buf = sealed.ciphertext.clone();
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(sealed.nonce),
                Aad::from(aad),
                &mut buf,
            )
            .map_err(|_| OpenError)?;
        let n = plain.len();
        buf.truncate(n);
        Ok(buf)
    }
}

/// Loads `dir/secrets_key`, creating it (random, mode 0600) when missing: what `hamn up`
/// uses when no key is configured.
pub fn load_or_create_secrets_key(dir: &Path) -> Result<SecretsKey, SecretsKeyError> {
    std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let path = dir.join(SECRETS_KEY_FILE);
    if path.exists() {
        return SecretsKey::read_file(&path);
    }
    let key = SecretsKey::generate()?;
    match write_secret_file(&path, format!("{}\n", key.to_base64()).as_bytes()) {
        Ok(()) => Ok(key),
        // Another process created it first: use theirs.
        Err(KeyError::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
            SecretsKey::read_file(&path)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_wrong_key_or_aad() {
        let k = SecretsKey::generate().expect("key");
        let s = k.seal(b"hemligt", b"row-1").expect("seal");
        assert_eq!(k.open(&s, b"row-1").expect("open"), b"hemligt");
        assert_eq!(k.open(&s, b"row-2"), Err(OpenError));
        let other = SecretsKey::generate().expect("key");
        assert_eq!(other.open(&s, b"row-1"), Err(OpenError));
        let again = k.seal(b"hemligt", b"row-1").expect("seal");
        assert_ne!(s.nonce, again.nonce, "fresh nonce per sealing");
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hemligt");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hemligt");
    }

    #[test]
    fn key_text_is_checked() {
        assert!(SecretsKey::from_base64("AAAA").is_err());
        assert!(SecretsKey::from_base64("not base64!").is_err());
        let k = SecretsKey::generate().expect("key");
        let back = SecretsKey::from_base64(&format!(" {}\n", k.to_base64())).expect("parse");
        assert_eq!(back, k);
    }
}

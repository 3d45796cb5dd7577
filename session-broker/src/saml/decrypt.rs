//! Decryption of an `EncryptedAssertion` with the SP's RSA key, bounded and without
//! panics (samael's own `decrypt` slices unchecked lengths and unwraps on plaintext the
//! sender chose, and anyone can encrypt to our public key). Key transport: RSA-OAEP
//! (`rsa-oaep-mgf1p`, xmlenc 1.1 `rsa-oaep` with its default SHA-1 digests); RSA PKCS#1
//! v1.5 is refused (Bleichenbacher). Content: AES-128/192/256 in CBC (xmlenc padding) or
//! GCM.

use super::prescan::EncryptedParts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};

/// Largest ciphertext decrypted (base64-decoded bytes).
pub const MAX_CIPHERTEXT: usize = 192 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    #[error("the EncryptedAssertion has no encrypted key")]
    NoKey,
    #[error("the EncryptedAssertion has no cipher data")]
    NoData,
    #[error("key transport {0} is not accepted")]
    KeyAlgorithm(String),
    #[error("content encryption {0} is not accepted")]
    DataAlgorithm(String),
    #[error("cipher value is not base64 or too large")]
    Encoding,
    #[error("decryption failed")]
    Failed,
}

fn decode(value: &str) -> Result<Vec<u8>, DecryptError> {
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.len() > MAX_CIPHERTEXT * 4 / 3 + 4 {
        return Err(DecryptError::Encoding);
    }
    STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| DecryptError::Encoding)
}

fn unwrap_key(
    key: &PKey<Private>,
    algorithm: &str,
    cipher_value: &str,
) -> Result<Vec<u8>, DecryptError> {
    match algorithm {
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
        | "http://www.w3.org/2009/xmlenc11#rsa-oaep" => {}
        other => return Err(DecryptError::KeyAlgorithm(other.to_owned())),
    }
    let wrapped = decode(cipher_value)?;
    let rsa = key.rsa().map_err(|_| DecryptError::Failed)?;
    let mut out = vec![0u8; rsa.size() as usize];
    let n = rsa
        .private_decrypt(&wrapped, &mut out, Padding::PKCS1_OAEP)
        .map_err(|_| DecryptError::Failed)?;
    out.truncate(n);
    Ok(out)
}

fn cipher_for(algorithm: &str) -> Result<(Cipher, bool), DecryptError> {
    Ok(match algorithm {
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => (Cipher::aes_128_cbc(), false),
        "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => (Cipher::aes_192_cbc(), false),
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => (Cipher::aes_256_cbc(), false),
        "http://www.w3.org/2009/xmlenc11#aes128-gcm" => (Cipher::aes_128_gcm(), true),
        "http://www.w3.org/2009/xmlenc11#aes192-gcm" => (Cipher::aes_192_gcm(), true),
        "http://www.w3.org/2009/xmlenc11#aes256-gcm" => (Cipher::aes_256_gcm(), true),
        other => return Err(DecryptError::DataAlgorithm(other.to_owned())),
    })
}

fn decrypt_data(
    algorithm: &str,
    content_key: &[u8],
    cipher_value: &str,
) -> Result<Vec<u8>, DecryptError> {
    let (cipher, gcm) = cipher_for(algorithm)?;
    if content_key.len() != cipher.key_len() {
        return Err(DecryptError::Failed);
    }
    let data = decode(cipher_value)?;
    let iv_len = if gcm { 12 } else { cipher.block_size() };
    let tag_len = if gcm { 16 } else { 0 };
    if data.len() < iv_len + tag_len + 1 {
        return Err(DecryptError::Failed);
    }
    let (iv, rest) = data.split_at(iv_len);
    let (body, tag) = rest.split_at(rest.len() - tag_len);
    if !gcm && body.len() % cipher.block_size() != 0 {
        return Err(DecryptError::Failed);
    }
    let mut crypter = Crypter::new(cipher, Mode::Decrypt, content_key, Some(iv))
        .map_err(|_| DecryptError::Failed)?;
    // xmlenc's CBC padding is its own (only the last byte is defined), so OpenSSL's PKCS#7
    // check is off and the padding is removed below.
    crypter.pad(false);
    if gcm {
        crypter.set_tag(tag).map_err(|_| DecryptError::Failed)?;
    }
    let mut out = vec![0u8; body.len() + cipher.block_size()];
    let mut n = crypter
        .update(body, &mut out)
        .map_err(|_| DecryptError::Failed)?;
    n += crypter
        .finalize(&mut out[n..])
        .map_err(|_| DecryptError::Failed)?;
    out.truncate(n);
    if !gcm {
        let pad = usize::from(*out.last().ok_or(DecryptError::Failed)?);
        if pad == 0 || pad > cipher.block_size() || pad > out.len() {
            return Err(DecryptError::Failed);
        }
        out.truncate(out.len() - pad);
    }
    Ok(out)
}

/// The assertion text inside an `EncryptedAssertion`.
pub fn decrypt(encrypted: &EncryptedParts, key: &PKey<Private>) -> Result<String, DecryptError> {
    if encrypted.key_value.trim().is_empty() {
        return Err(DecryptError::NoKey);
    }
    if encrypted.data_value.trim().is_empty() {
        return Err(DecryptError::NoData);
    }
    let content_key = unwrap_key(key, &encrypted.key_algorithm, &encrypted.key_value)?;
    let plain = decrypt_data(
        &encrypted.data_algorithm,
        &content_key,
        &encrypted.data_value,
    )?;
    String::from_utf8(plain).map_err(|_| DecryptError::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_odd_ciphertexts_fail_without_panicking() {
        let key = [7u8; 16];
        let cbc = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
        let gcm = "http://www.w3.org/2009/xmlenc11#aes128-gcm";
        for (alg, data) in [
            (cbc, STANDARD.encode([0u8; 3])),
            (cbc, STANDARD.encode([0u8; 16])),
            (cbc, STANDARD.encode([0u8; 33])),
            (gcm, STANDARD.encode([0u8; 20])),
            (gcm, STANDARD.encode([0u8; 60])),
            (cbc, "***".to_owned()),
        ] {
            assert!(decrypt_data(alg, &key, &data).is_err(), "{alg} {data}");
        }
        assert_eq!(
            decrypt_data(
                "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
                &key,
                "AA=="
            ),
            Err(DecryptError::DataAlgorithm(
                "http://www.w3.org/2001/04/xmlenc#tripledes-cbc".into()
            ))
        );
    }

    #[test]
    fn cbc_with_xmlenc_padding_round_trips() {
        let key = [9u8; 16];
        let iv = [3u8; 16];
        // 5 bytes of text, 11 bytes of padding whose last byte says 11.
        let mut block = b"hello".to_vec();
        block.extend_from_slice(&[0xaa; 10]);
        block.push(11);
        let mut c =
            Crypter::new(Cipher::aes_128_cbc(), Mode::Encrypt, &key, Some(&iv)).expect("crypter");
        c.pad(false);
        let mut out = vec![0u8; 32];
        let n = c.update(&block, &mut out).expect("encrypt");
        let mut data = iv.to_vec();
        data.extend_from_slice(&out[..n]);
        let plain = decrypt_data(
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            &key,
            &STANDARD.encode(&data),
        );
        assert_eq!(plain, Ok(b"hello".to_vec()));
    }
}

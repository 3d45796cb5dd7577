//! The launch ticket codec and keys without a database: round trips, every malformed
//! shape refused with its typed reason and never a panic, forged and foreign tickets
//! refused, lifetimes, and the key files in the data dir.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hamn_broker::ticket::codec::{self, MAX_ENCODED_LEN, TICKET_LEN};
use hamn_broker::ticket::keys::{KEY_FILE, PUBLIC_KEY_FILE};
use hamn_broker::ticket::{
    Claims, Grant, LaunchPath, Malformed, Refusal, TicketIssuer, TicketKeys, TicketPublicKey,
    TicketVerifier,
};
use proptest::prelude::*;
use uuid::Uuid;

const NOW: i64 = 1_800_000_000_000;

fn keys() -> Arc<TicketKeys> {
    Arc::new(TicketKeys::generate().expect("key").0)
}

fn grant(path: LaunchPath) -> Grant {
    Grant {
        user_id: Uuid::now_v7(),
        tenant_id: Uuid::now_v7(),
        session_id: Uuid::now_v7(),
        host_id: Uuid::now_v7(),
        app_id: Uuid::now_v7(),
        path,
    }
}

fn issued(k: &Arc<TicketKeys>) -> (Claims, String) {
    let issuer = TicketIssuer::new(k.clone());
    let c = issuer
        .claims(&grant(LaunchPath::Browser), NOW)
        .expect("claims");
    (c, issuer.sign(&c))
}

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_claims_round_trip(
        ids in proptest::array::uniform6(uuid()),
        native in any::<bool>(),
        issued in 0i64..i64::MAX / 2,
        ttl in 0i64..86_400_000,
    ) {
        let k = keys();
        let c = Claims {
            ticket_id: ids[0], user_id: ids[1], tenant_id: ids[2], session_id: ids[3],
            host_id: ids[4], app_id: ids[5],
            path: if native { LaunchPath::Native } else { LaunchPath::Browser },
            issued_at_ms: issued, expires_at_ms: issued + ttl,
        };
        let text = k.sign(&c);
        prop_assert!(text.len() <= MAX_ENCODED_LEN);
        let parsed = codec::decode(&text).expect("decodes");
        prop_assert_eq!(parsed.claims, c);
        prop_assert_eq!(parsed.key_id, k.key_id());
        // Verified at issue time it passes whole.
        prop_assert_eq!(k.verifier().verify(&text, issued), Ok(c));
    }

    #[test]
    fn arbitrary_text_never_panics(s in ".{0,600}") {
        let _ = codec::decode(&s);
        let _ = keys().verifier().verify(&s, NOW);
    }

    #[test]
    fn arbitrary_bytes_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = URL_SAFE_NO_PAD.encode(&bytes);
        prop_assert!(keys().verifier().verify(&text, NOW).is_err());
    }
}

#[test]
fn issued_ticket_verifies_with_the_default_lifetime() {
    let k = keys();
    let (c, text) = issued(&k);
    assert_eq!(c.expires_at_ms - c.issued_at_ms, 60_000, "60 s by default");
    assert_eq!(text.len(), 243);
    assert!(!text.contains(['=', '+', '/']), "base64url without padding");
    assert_eq!(k.verifier().verify(&text, NOW + 1_000), Ok(c));
    let short = TicketIssuer::new(k).with_ttl(std::time::Duration::from_secs(10));
    let c = short.claims(&grant(LaunchPath::Native), NOW).unwrap();
    assert_eq!(c.expires_at_ms, NOW + 10_000);
}

#[test]
fn malformed_shapes_have_their_own_errors() {
    let k = keys();
    let v = k.verifier();
    let (_, text) = issued(&k);
    let m = |e| Err(Refusal::Malformed(e));
    assert_eq!(v.verify("", NOW), m(Malformed::Empty));
    assert_eq!(
        v.verify(&"A".repeat(MAX_ENCODED_LEN + 1), NOW),
        m(Malformed::TooLong)
    );
    assert_eq!(
        v.verify(&text.repeat(3), NOW),
        m(Malformed::TooLong),
        "oversized"
    );
    assert_eq!(v.verify("***", NOW), m(Malformed::NotBase64));
    assert_eq!(
        v.verify(&format!("{text}="), NOW),
        m(Malformed::NotBase64),
        "padding is not base64url-nopad"
    );
    let raw = URL_SAFE_NO_PAD.decode(&text).unwrap();
    // Every truncation is refused with a typed error.
    for len in 0..raw.len() {
        let t = URL_SAFE_NO_PAD.encode(&raw[..len]);
        let e = v.verify(&t, NOW).unwrap_err();
        assert!(
            matches!(
                e,
                Refusal::Malformed(Malformed::Empty | Malformed::WrongLength(_))
            ),
            "{len}: {e:?}"
        );
    }
    let mut longer = raw.clone();
    longer.push(0);
    assert_eq!(
        v.verify(&URL_SAFE_NO_PAD.encode(&longer), NOW),
        m(Malformed::WrongLength(TICKET_LEN + 1))
    );
    let mut v2 = raw.clone();
    v2[0] = 2;
    assert_eq!(
        v.verify(&URL_SAFE_NO_PAD.encode(&v2), NOW),
        m(Malformed::UnsupportedVersion(2))
    );
    let mut path = raw.clone();
    path[101] = 0;
    assert_eq!(
        v.verify(&URL_SAFE_NO_PAD.encode(&path), NOW),
        m(Malformed::UnknownPath(0))
    );
    let mut inverted = raw.clone();
    inverted[110..118].copy_from_slice(&0i64.to_be_bytes());
    assert_eq!(
        v.verify(&URL_SAFE_NO_PAD.encode(&inverted), NOW),
        m(Malformed::InvertedTimes)
    );
}

#[test]
fn every_flipped_bit_is_refused() {
    let k = keys();
    let v = k.verifier();
    let (_, text) = issued(&k);
    let raw = URL_SAFE_NO_PAD.decode(&text).unwrap();
    for bit in 0..raw.len() * 8 {
        let mut b = raw.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        let e = v
            .verify(&URL_SAFE_NO_PAD.encode(&b), NOW)
            .expect_err("a flipped bit never verifies");
        let byte = bit / 8;
        let expected_kind = match byte {
            0 => "malformed",
            1..=4 => "unknown_key",
            101 => "malformed",
            _ => "bad_signature",
        };
        // Flipped time bits may also invert the lifetime (malformed) first.
        let ok = e.reason() == expected_kind
            || ((102..118).contains(&byte) && e.reason() == "malformed");
        assert!(ok, "bit {bit} (byte {byte}): {e:?}");
    }
}

#[test]
fn foreign_and_forged_tickets_are_refused() {
    let ours = keys();
    let theirs = keys();
    let (_, foreign) = issued(&theirs);
    assert_eq!(
        ours.verifier().verify(&foreign, NOW),
        Err(Refusal::UnknownKey(theirs.key_id()))
    );
    // Their signature under our key id: the key is known, the signature is not ours.
    let mut raw = URL_SAFE_NO_PAD.decode(&foreign).unwrap();
    raw[1..5].copy_from_slice(&ours.key_id().0);
    assert_eq!(
        ours.verifier().verify(&URL_SAFE_NO_PAD.encode(&raw), NOW),
        Err(Refusal::BadSignature)
    );
    // A verifier trusting both keys (a rotation) accepts both.
    let both = TicketVerifier::from_public_keys([ours.public_key(), theirs.public_key()]);
    assert!(both.verify(&foreign, NOW).is_ok());
    assert!(both.verify(&issued(&ours).1, NOW).is_ok());
    assert_eq!(Refusal::BadSignature.http_status(), 401);
    assert_eq!(Refusal::Replayed.http_status(), 403);
}

#[test]
fn lifetime_with_clock_skew() {
    let k = keys();
    let (c, text) = issued(&k);
    let v = k.verifier().with_clock_skew_ms(5_000);
    assert!(
        v.verify(&text, c.expires_at_ms + 4_999).is_ok(),
        "within skew"
    );
    assert_eq!(
        v.verify(&text, c.expires_at_ms + 5_000),
        Err(Refusal::Expired)
    );
    assert_eq!(
        v.verify(&text, c.issued_at_ms - 5_001),
        Err(Refusal::NotYetValid)
    );
    assert!(v.verify(&text, c.issued_at_ms - 4_000).is_ok());
    let strict = k.verifier().with_clock_skew_ms(0);
    assert_eq!(strict.verify(&text, c.expires_at_ms), Err(Refusal::Expired));
}

#[test]
fn keys_live_in_the_data_dir_and_public_keys_travel() {
    let dir = tempfile::tempdir().unwrap();
    let k1 = TicketKeys::load_or_create(dir.path()).expect("create");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(dir.path().join(KEY_FILE)).unwrap();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"), "{text}");
    let k2 = TicketKeys::load_or_create(dir.path()).expect("load");
    assert_eq!(k1.key_id(), k2.key_id(), "the same key the second time");
    assert!(
        !format!("{k1:?}").contains(&text[30..60]),
        "Debug never shows the key"
    );

    // Another gateway verifies with the public key file alone.
    let pub_text = std::fs::read_to_string(dir.path().join(PUBLIC_KEY_FILE)).unwrap();
    assert!(pub_text.starts_with("-----BEGIN PUBLIC KEY-----"));
    let v = TicketVerifier::from_public_key_files(&[dir.path().join(PUBLIC_KEY_FILE)])
        .expect("public key file");
    let (c, ticket) = issued(&Arc::new(k2));
    assert_eq!(v.verify(&ticket, NOW), Ok(c));

    // Rotation: a file with two keys trusts both.
    let next = keys();
    let both = format!("{pub_text}{}", next.public_key().to_pem());
    let parsed = TicketPublicKey::parse_pem(&both, "rotation").unwrap();
    assert_eq!(parsed.len(), 2);
    assert!(TicketPublicKey::parse_pem("garbage", "x").is_err());
    assert!(
        TicketKeys::from_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "x"
        )
        .is_err()
    );
}

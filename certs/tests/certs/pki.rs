//! The files `DevPki::init` writes: presence, modes, idempotency, chains and PKCS#12.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use hamn_certs::pki::{P12_PASSWORD, SITHS_CARD_HSA_IDS, SITHS_CARD_NAMES};
use hamn_certs::{ClientCertError, ClientCertVerifier, DevPki};
use rustls_pki_types::UnixTime;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::{certs_from_pem, init_pki, read};

#[test]
fn init_writes_every_file_with_private_keys_0600() {
    let (_dir, pki) = init_pki();
    let names: Vec<String> = pki
        .paths
        .all()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "ca.crt",
        "ca.key",
        "server.crt",
        "server.key",
        "api-ca.crt",
        "api-ca.key",
        "api-operator.crt",
        "api-operator.key",
        "siths-ca.crt",
        "siths-ca.key",
        "siths-card-1.crt",
        "siths-card-1.key",
        "siths-card-1.p12",
        "siths-card-2.crt",
        "siths-card-2.key",
        "siths-card-2.p12",
        "siths-card-broken.crt",
        "siths-card-broken.key",
        "rdp-signing.crt",
        "rdp-signing.key",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} not listed");
    }
    for path in pki.paths.all() {
        let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mode = meta.permissions().mode() & 0o777;
        let name = path.file_name().unwrap().to_string_lossy();
        if name.ends_with(".key") || name.ends_with(".p12") {
            assert_eq!(mode, 0o600, "{name}");
        } else {
            assert_eq!(mode & 0o022, 0, "{name} is writable by others: {mode:o}");
        }
    }
    // Only the listed files, no leftovers such as temporary files.
    assert_eq!(
        std::fs::read_dir(&pki.paths.dir).unwrap().count(),
        pki.paths.all().len()
    );
}

#[test]
fn init_is_idempotent_and_fills_in_only_what_is_missing() {
    let (dir, pki) = init_pki();
    let before: Vec<Vec<u8>> = pki
        .paths
        .all()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    DevPki::init(dir.path()).unwrap();
    let after: Vec<Vec<u8>> = pki
        .paths
        .all()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(before, after, "a second init changed files");

    // A lost server certificate is re-issued for the kept key by the kept CA.
    let key_before = read(&pki.paths.server_key());
    let old_cert = read(&pki.paths.server_cert());
    std::fs::remove_file(pki.paths.server_cert()).unwrap();
    std::fs::remove_file(pki.paths.siths_card_p12(2)).unwrap();
    DevPki::init(dir.path()).unwrap();
    assert_eq!(read(&pki.paths.server_key()), key_before);
    let new_cert = read(&pki.paths.server_cert());
    assert_ne!(new_cert, old_cert);
    assert_eq!(
        certs_from_pem(&new_cert)[1],
        certs_from_pem(&read(&pki.paths.ca_cert()))[0]
    );
    assert!(pki.paths.siths_card_p12(2).exists());
}

#[test]
fn server_chain_is_leaf_then_ca_for_localhost() {
    let (_dir, pki) = init_pki();
    let chain = certs_from_pem(&read(&pki.paths.server_cert()));
    let ca = certs_from_pem(&read(&pki.paths.ca_cert()));
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[1], ca[0]);
    let (_, leaf) = X509Certificate::from_der(chain[0].as_ref()).unwrap();
    let (_, ca) = X509Certificate::from_der(ca[0].as_ref()).unwrap();
    assert_eq!(
        ca.subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        "Hamn Dev CA"
    );
    assert_eq!(leaf.issuer(), ca.subject());
    let san = leaf.subject_alternative_name().unwrap().unwrap();
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => d.to_string(),
            GeneralName::IPAddress(ip) => format!("{ip:?}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert!(names.contains(&"localhost".to_owned()), "{names:?}");
    assert!(
        names.contains(&format!("{:?}", &[127u8, 0, 0, 1][..])),
        "{names:?}"
    );
    let v6 = std::net::Ipv6Addr::LOCALHOST.octets();
    assert!(names.contains(&format!("{:?}", &v6[..])), "{names:?}");
    let eku = leaf.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && !eku.client_auth);
}

#[test]
fn siths_cards_carry_hsa_ids_and_swedish_names() {
    let (_dir, pki) = init_pki();
    let verifier = ClientCertVerifier::from_ca_pem_file(&pki.paths.siths_ca_cert()).unwrap();
    for n in 1..=2u8 {
        let chain = certs_from_pem(&read(&pki.paths.siths_card_cert(n)));
        let id = verifier.verify(&chain, UnixTime::now()).unwrap();
        assert_eq!(
            id.subject_serial_number.as_deref(),
            Some(SITHS_CARD_HSA_IDS[n as usize - 1])
        );
        assert_eq!(
            id.subject_cn.as_deref(),
            Some(SITHS_CARD_NAMES[n as usize - 1])
        );
        // Person certificates name their holder; a SITHS login refuses those that do not.
        let name = format!(
            "{} {}",
            id.given_name.unwrap_or_default(),
            id.surname.unwrap_or_default()
        );
        assert_eq!(name, SITHS_CARD_NAMES[n as usize - 1]);
    }
    assert_eq!(
        SITHS_CARD_HSA_IDS,
        ["SE2321000016-0001", "SE2321000016-0002"]
    );
    let broken = certs_from_pem(&read(&pki.paths.siths_card_broken_cert()));
    assert_eq!(
        verifier.verify(&broken, UnixTime::now()),
        Err(ClientCertError::MissingClientAuthEku)
    );
    // Cards belong to the SITHS CA, not the API CA, and vice versa.
    let api = ClientCertVerifier::from_ca_pem_file(&pki.paths.api_ca_cert()).unwrap();
    let card = certs_from_pem(&read(&pki.paths.siths_card_cert(1)));
    assert_eq!(
        api.verify(&card, UnixTime::now()),
        Err(ClientCertError::UntrustedIssuer)
    );
}

#[test]
fn openssl_accepts_the_p12_bundles_with_the_documented_password() {
    let (_dir, pki) = init_pki();
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("openssl not installed; skipping");
        return;
    }
    for n in 1..=2u8 {
        let p12 = pki.paths.siths_card_p12(n);
        let ok = Command::new("openssl")
            .args(["pkcs12", "-info", "-noout", "-in"])
            .arg(&p12)
            .arg("-passin")
            .arg(format!("pass:{P12_PASSWORD}"))
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let wrong = Command::new("openssl")
            .args(["pkcs12", "-info", "-noout", "-passin", "pass:wrong", "-in"])
            .arg(&p12)
            .output()
            .unwrap();
        assert!(!wrong.status.success(), "a wrong password was accepted");
        // The bundle holds the card's own certificate and its key.
        let dump = Command::new("openssl")
            .args(["pkcs12", "-nodes", "-passin"])
            .arg(format!("pass:{P12_PASSWORD}"))
            .arg("-in")
            .arg(&p12)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&dump.stdout);
        assert!(text.contains("PRIVATE KEY"), "{text}");
        let card = certs_from_pem(&read(&pki.paths.siths_card_cert(n)))[0].clone();
        assert!(certs_from_pem(&text).contains(&card));
    }
}

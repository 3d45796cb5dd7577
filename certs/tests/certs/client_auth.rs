//! `ClientCertVerifier::verify` on certificates the dev PKI and its helpers issue.

use std::time::{Duration, SystemTime};

use hamn_certs::pki::{ClientCertOptions, ClientEku, generate_ca, issue_client_cert};
use hamn_certs::{ClientCertError, ClientCertVerifier};
use rustls_pki_types::UnixTime;
use sha2::{Digest, Sha256};

use crate::{certs_from_pem, init_pki, read};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn api_ca(pki: &hamn_certs::DevPki) -> (String, String) {
    (
        read(&pki.paths.api_ca_cert()),
        read(&pki.paths.api_ca_key()),
    )
}

fn verify_issued(opts: ClientCertOptions) -> Result<hamn_certs::ClientIdentity, ClientCertError> {
    let (_dir, pki) = init_pki();
    let (ca, key) = api_ca(&pki);
    let cert = issue_client_cert(&ca, &key, "test-client", &opts).unwrap();
    let verifier = ClientCertVerifier::from_ca_pem_file(&pki.paths.api_ca_cert()).unwrap();
    verifier.verify(&certs_from_pem(&cert.cert_pem), UnixTime::now())
}

#[test]
fn operator_certificate_is_accepted_with_its_identity() {
    let (_dir, pki) = init_pki();
    let verifier = ClientCertVerifier::from_ca_pem_file(&pki.paths.api_ca_cert()).unwrap();
    let chain = certs_from_pem(&read(&pki.paths.api_operator_cert()));
    let id = verifier.verify(&chain, UnixTime::now()).unwrap();
    assert_eq!(id.subject_cn.as_deref(), Some("hamn-operator"));
    assert_eq!(id.subject_serial_number, None);
    let expected: String = Sha256::digest(chain[0].as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(id.sha256_fingerprint, expected);
}

#[test]
fn certificate_without_any_eku_is_refused() {
    let opts = ClientCertOptions {
        extended_key_usage: ClientEku::Absent,
        ..Default::default()
    };
    assert_eq!(
        verify_issued(opts),
        Err(ClientCertError::MissingClientAuthEku)
    );
}

#[test]
fn certificate_with_other_eku_is_refused() {
    let opts = ClientCertOptions {
        extended_key_usage: ClientEku::EmailProtectionOnly,
        ..Default::default()
    };
    assert_eq!(
        verify_issued(opts),
        Err(ClientCertError::MissingClientAuthEku)
    );
}

#[test]
fn expired_certificate_is_refused() {
    let now = SystemTime::now();
    let opts = ClientCertOptions {
        validity: Some((now - 30 * DAY, now - DAY)),
        ..Default::default()
    };
    assert_eq!(verify_issued(opts), Err(ClientCertError::Expired));
}

#[test]
fn future_certificate_is_refused() {
    let now = SystemTime::now();
    let opts = ClientCertOptions {
        validity: Some((now + DAY, now + 30 * DAY)),
        ..Default::default()
    };
    assert_eq!(verify_issued(opts), Err(ClientCertError::NotYetValid));
}

#[test]
fn certificate_from_another_ca_is_refused() {
    let (_dir, pki) = init_pki();
    let foreign = generate_ca("Hamn Dev API Client CA").unwrap();
    let cert = issue_client_cert(
        &foreign.cert_pem,
        &foreign.key_pem,
        "intruder",
        &Default::default(),
    )
    .unwrap();
    let verifier = ClientCertVerifier::from_ca_pem_file(&pki.paths.api_ca_cert()).unwrap();
    assert_eq!(
        verifier.verify(&certs_from_pem(&cert.cert_pem), UnixTime::now()),
        Err(ClientCertError::UntrustedIssuer)
    );
}

#[test]
fn no_certificate_is_missing() {
    let (_dir, pki) = init_pki();
    let verifier = ClientCertVerifier::from_ca_pem_file(&pki.paths.api_ca_cert()).unwrap();
    assert_eq!(
        verifier.verify(&[], UnixTime::now()),
        Err(ClientCertError::Missing)
    );
}

#[test]
fn a_ca_file_may_hold_several_cas() {
    let (dir, pki) = init_pki();
    let both = dir.path().join("both.crt");
    std::fs::write(
        &both,
        read(&pki.paths.api_ca_cert()) + &read(&pki.paths.siths_ca_cert()),
    )
    .unwrap();
    let verifier = ClientCertVerifier::from_ca_pem_file(&both).unwrap();
    for cert in [pki.paths.api_operator_cert(), pki.paths.siths_card_cert(2)] {
        assert!(
            verifier
                .verify(&certs_from_pem(&read(&cert)), UnixTime::now())
                .is_ok()
        );
    }
}

#[test]
fn a_changed_ca_bundle_is_trusted_after_a_reload_and_a_broken_one_keeps_the_last() {
    let (_dir, pki) = init_pki();
    let bundle = pki.paths.api_ca_cert();
    let original = read(&bundle);
    let added = generate_ca("Hamn Second Client CA").unwrap();
    let cert = issue_client_cert(
        &added.cert_pem,
        &added.key_pem,
        "newcomer",
        &Default::default(),
    )
    .unwrap();
    let chain = certs_from_pem(&cert.cert_pem);
    let operator = certs_from_pem(&read(&pki.paths.api_operator_cert()));
    let verifier = ClientCertVerifier::from_ca_pem_file(&bundle).unwrap();
    assert_eq!(
        verifier.verify(&chain, UnixTime::now()),
        Err(ClientCertError::UntrustedIssuer)
    );

    // A rotation adds the new CA beside the old one; SIGHUP asks for the re-read.
    std::fs::write(&bundle, format!("{original}{}", added.cert_pem)).unwrap();
    hamn_certs::reload::request();
    let id = verifier.verify(&chain, UnixTime::now()).unwrap();
    assert_eq!(id.subject_cn.as_deref(), Some("newcomer"));
    assert!(verifier.verify(&operator, UnixTime::now()).is_ok());

    // A half-written bundle is refused and the last good one stays in service.
    std::fs::write(&bundle, "-----BEGIN CERTIFICATE-----\ntruncated").unwrap();
    hamn_certs::reload::request();
    assert!(verifier.verify(&chain, UnixTime::now()).is_ok());

    // Retiring the old CA takes effect the same way.
    std::fs::write(&bundle, &added.cert_pem).unwrap();
    hamn_certs::reload::request();
    assert_eq!(
        verifier.verify(&operator, UnixTime::now()),
        Err(ClientCertError::UntrustedIssuer)
    );
    assert!(verifier.verify(&chain, UnixTime::now()).is_ok());
}

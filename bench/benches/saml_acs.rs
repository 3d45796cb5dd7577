//! SAML ACS validations per second on one core: the full verification of a posted
//! response (prescan, xmlsec signature reduction, decryption, every check of
//! `hamn_broker::saml::response::verify`) for a signed response and for a signed response
//! with an encrypted assertion, against the baseline of the same run: the prescan alone
//! (base64 + bounded XML parse, no cryptography). Responses come from the real pysaml2 IdP
//! of the tests (`tests/saml_idp.py`, RSA-SHA256, RSA-2048), answering a real AuthnRequest.
//!
//!   HAMN_TEST_PYTHON=/path/to/venv/bin/python cargo bench -p hamn-bench --bench saml_acs

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hamn_broker::saml::request::{AuthnRequestSpec, authn_request_xml, random_id, redirect_url};
use hamn_broker::saml::response::{SpExpectations, verify};
use hamn_broker::saml::{SpCredentials, SpUrls, metadata, prescan};

const LOA3: &str = "http://id.elegnamnden.se/loa/1.0/loa3";
const RUN: Duration = Duration::from_secs(3);

fn per_second(mut f: impl FnMut()) -> f64 {
    // Warm up, then count whole iterations for RUN.
    for _ in 0..3 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < RUN {
        f();
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let pki = hamn_certs::DevPki::init(&dir.path().join("certs"))?;
    let sp = SpCredentials::load(&pki.paths.saml_sp_key(), &pki.paths.saml_sp_cert())?;
    let portal = "https://localhost:8443";
    let entity = format!("{portal}/saml/demo/metadata");
    let urls = SpUrls::new(portal, "demo");
    let sp_meta = dir.path().join("sp.xml");
    std::fs::write(
        &sp_meta,
        hamn_broker::saml::sp::sp_metadata(&entity, &urls, &sp.cert_der),
    )?;
    let idp_dir = dir.path().join("idp");
    std::fs::create_dir_all(&idp_dir)?;
    let python = std::env::var("HAMN_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/saml_idp.py");
    let mut child = Command::new(python)
        .arg(script)
        .arg("--dir")
        .arg(&idp_dir)
        .arg("--sp-metadata")
        .arg(&sp_meta)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(
        child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("stdout"))?,
    )
    .read_line(&mut line)?;
    let started: serde_json::Value = serde_json::from_str(&line)?;
    let idp_xml = std::fs::read_to_string(
        started["metadata_file"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("metadata"))?,
    )?;
    let idp = metadata::parse(
        &idp_xml,
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64,
    )?;

    let accepted = vec![LOA3.to_owned()];
    let mut results = Vec::new();
    for (name, query) in [
        ("signed", "sign=both"),
        ("signed+encrypted", "sign=both&encrypt=1"),
    ] {
        let id = random_id("_")?;
        let xml = authn_request_xml(&AuthnRequestSpec {
            id: &id,
            sp_entity_id: &entity,
            acs_url: &urls.acs,
            sso_url: &idp.sso_redirect,
            authn_contexts: &accepted,
            force_authn: false,
        })?;
        let url = redirect_url(&idp.sso_redirect, "SAMLRequest", &xml, Some("r"), &sp.key)?;
        let out = Command::new("curl")
            .args(["-sS", &format!("{url}&format=json&{query}")])
            .output()?;
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let encoded = answer["SAMLResponse"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no SAMLResponse"))?
            .to_owned();
        let expect = SpExpectations {
            entity_id: &entity,
            acs_url: &urls.acs,
            accepted_mfa: &accepted,
            request_id: &id,
            skew: SpExpectations::DEFAULT_SKEW,
            max_age: SpExpectations::DEFAULT_MAX_AGE,
        };
        // It must verify, or the numbers mean nothing.
        let scanned = prescan::decode_response(&encoded)?;
        verify(&scanned, &idp, &sp.key, &expect, chrono_now())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let baseline = per_second(|| {
            let _ = std::hint::black_box(prescan::decode_response(&encoded));
        });
        let full = per_second(|| {
            let scanned = prescan::decode_response(&encoded).ok();
            if let Some(s) = scanned {
                let _ = std::hint::black_box(verify(&s, &idp, &sp.key, &expect, chrono_now()));
            }
        });
        results.push((name, baseline, full, encoded.len()));
    }
    drop(child.stdin.take());
    let _ = child.wait();

    println!("SAML ACS validations per second, one core (pysaml2 IdP, RSA-2048, RSA-SHA256)");
    println!(
        "{:<18} {:>10} {:>14} {:>14} {:>10}",
        "response", "bytes(b64)", "prescan/s", "validate/s", "ratio"
    );
    for (name, baseline, full, len) in &results {
        println!(
            "{name:<18} {len:>10} {baseline:>14.0} {full:>14.1} {:>9.1}x",
            baseline / full
        );
    }
    if let [(_, _, signed, _), (_, _, encrypted, _)] = results.as_slice() {
        println!(
            "encrypted ÷ signed validation rate: {:.2}",
            encrypted / signed
        );
    }
    Ok(())
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

//! The dev PKI that `hamn certs init` (and `hamn up`, when files are missing) writes: a dev
//! CA and localhost server certificate, an API client CA with an operator certificate, and a
//! SITHS-like test CA with card certificates (PEM and PKCS#12), its CRL and an OCSP
//! responder certificate (cards name a responder when [`DevPkiOptions::siths_ocsp_url`] is
//! set), plus issuing helpers that test suites use to mint good and deliberately bad client
//! certificates.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::prelude::FromDer;

use crate::server::ServerCertFiles;

/// Password of every PKCS#12 bundle the dev PKI writes (`siths-card-*.p12`).
pub const P12_PASSWORD: &str = "hamn";

/// The subject serialNumber (HSA-ID) of the test cards, in card order (1, 2).
pub const SITHS_CARD_HSA_IDS: [&str; 2] = ["SE2321000016-0001", "SE2321000016-0002"];
/// The subject CN of the test cards, in card order (1, 2).
pub const SITHS_CARD_NAMES: [&str; 2] = ["Åsa Öberg", "Erik Ärlig"];
/// HSA-ID of the broken card (the one without the clientAuth EKU).
pub const SITHS_BROKEN_CARD_HSA_ID: &str = "SE2321000016-0099";
/// CN of the operator API client certificate.
pub const OPERATOR_CN: &str = "hamn-operator";

const DEV_CA_CN: &str = "Hamn Dev CA";
const API_CA_CN: &str = "Hamn Dev API Client CA";
const SITHS_CA_CN: &str = "Hamn Test SITHS CA";
const SITHS_OCSP_CN: &str = "Hamn Test SITHS OCSP";
/// The publisher native RDP clients show for the portal's signed `.rdp` files.
const RDP_SIGNING_CN: &str = "Hamn .rdp publisher (dev)";
const ORGANIZATION: &str = "Hamn dev";

/// CAs outlive several renewals of what they issue, so a data dir stays usable for years.
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
const LEAF_LIFETIME: Duration = Duration::from_secs(2 * 365 * 24 * 3600);
/// Back-dating absorbs clock skew between the machine that issues and the one that checks.
const BACKDATE: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("{cert} exists but its private key {key} is missing; remove {cert} to regenerate it")]
    KeyMissing { cert: PathBuf, key: PathBuf },
    #[error("cannot issue certificate: {0}")]
    Issue(String),
}

fn issue_error(e: impl std::fmt::Display) -> PkiError {
    PkiError::Issue(e.to_string())
}

/// Paths of everything the dev PKI writes under `DATA/certs/`.
#[derive(Debug, Clone)]
pub struct DevPkiPaths {
    pub dir: PathBuf,
}

impl DevPkiPaths {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The dev CA that issues server certificates; trust it in a browser for the portal.
    pub fn ca_cert(&self) -> PathBuf {
        self.file("ca.crt")
    }
    pub fn ca_key(&self) -> PathBuf {
        self.file("ca.key")
    }
    /// Server chain for localhost, 127.0.0.1 and ::1: leaf first, then the dev CA.
    pub fn server_cert(&self) -> PathBuf {
        self.file("server.crt")
    }
    pub fn server_key(&self) -> PathBuf {
        self.file("server.key")
    }
    pub fn server_files(&self) -> ServerCertFiles {
        ServerCertFiles::new(self.server_cert(), self.server_key())
    }
    /// The CA that admin API client certificates must chain to.
    pub fn api_ca_cert(&self) -> PathBuf {
        self.file("api-ca.crt")
    }
    pub fn api_ca_key(&self) -> PathBuf {
        self.file("api-ca.key")
    }
    /// Operator (all tenants) API client certificate, CN `hamn-operator`.
    pub fn api_operator_cert(&self) -> PathBuf {
        self.file("api-operator.crt")
    }
    pub fn api_operator_key(&self) -> PathBuf {
        self.file("api-operator.key")
    }
    /// The SITHS-like test CA that issues the card certificates.
    pub fn siths_ca_cert(&self) -> PathBuf {
        self.file("siths-ca.crt")
    }
    pub fn siths_ca_key(&self) -> PathBuf {
        self.file("siths-ca.key")
    }
    /// Test card `n` (1 or 2) certificate; see [`SITHS_CARD_HSA_IDS`].
    pub fn siths_card_cert(&self, n: u8) -> PathBuf {
        self.file(&format!("siths-card-{n}.crt"))
    }
    pub fn siths_card_key(&self, n: u8) -> PathBuf {
        self.file(&format!("siths-card-{n}.key"))
    }
    /// PKCS#12 bundle of test card `n` (key, card, CA) protected by [`P12_PASSWORD`].
    pub fn siths_card_p12(&self, n: u8) -> PathBuf {
        self.file(&format!("siths-card-{n}.p12"))
    }
    /// The SITHS test CA's CRL (PEM): empty at first, see [`DevPki::revoke_siths_card`].
    pub fn siths_crl(&self) -> PathBuf {
        self.file("siths-ca.crl")
    }
    /// The SITHS test CA's delegated OCSP responder certificate (id-kp-OCSPSigning), e.g.
    /// for `openssl ocsp -rsigner`.
    pub fn siths_ocsp_cert(&self) -> PathBuf {
        self.file("siths-ocsp.crt")
    }
    pub fn siths_ocsp_key(&self) -> PathBuf {
        self.file("siths-ocsp.key")
    }
    /// A card from the SITHS test CA that lacks the clientAuth EKU (emailProtection only).
    pub fn siths_card_broken_cert(&self) -> PathBuf {
        self.file("siths-card-broken.crt")
    }
    pub fn siths_card_broken_key(&self) -> PathBuf {
        self.file("siths-card-broken.key")
    }

    /// Every file the dev PKI writes.
    pub fn all(&self) -> Vec<PathBuf> {
        let mut all = vec![
            self.ca_cert(),
            self.ca_key(),
            self.server_cert(),
            self.server_key(),
            self.api_ca_cert(),
            self.api_ca_key(),
            self.api_operator_cert(),
            self.api_operator_key(),
            self.siths_ca_cert(),
            self.siths_ca_key(),
            self.siths_crl(),
            self.siths_ocsp_cert(),
            self.siths_ocsp_key(),
        ];
        for n in 1..=2 {
            all.extend([
                self.siths_card_cert(n),
                self.siths_card_key(n),
                self.siths_card_p12(n),
            ]);
        }
        all.extend([self.siths_card_broken_cert(), self.siths_card_broken_key()]);
        all.extend([self.saml_sp_cert(), self.saml_sp_key()]);
        all.extend([self.saml_demo_idp_cert(), self.saml_demo_idp_key()]);
        all.extend([self.rdp_signing_cert(), self.rdp_signing_key()]);
        all
    }

    /// The SAML SP's certificate (self-signed, in the SP metadata) and RSA key
    /// (`gateway.saml_sp_cert`, `gateway.saml_sp_key`).
    pub fn saml_sp_cert(&self) -> PathBuf {
        self.file("saml-sp.crt")
    }
    pub fn saml_sp_key(&self) -> PathBuf {
        self.file("saml-sp.key")
    }
    /// The demo IdP's self-signed certificate and RSA signing key (`gateway.demo_idp_cert`,
    /// `gateway.demo_idp_key`).
    pub fn saml_demo_idp_cert(&self) -> PathBuf {
        self.file("saml-demo-idp.crt")
    }
    pub fn saml_demo_idp_key(&self) -> PathBuf {
        self.file("saml-demo-idp.key")
    }
    /// The certificate (leaf, then the dev CA) and RSA key that sign the portal's `.rdp`
    /// files (`gateway.rdp_signing_cert`, `gateway.rdp_signing_key`).
    pub fn rdp_signing_cert(&self) -> PathBuf {
        self.file("rdp-signing.crt")
    }
    pub fn rdp_signing_key(&self) -> PathBuf {
        self.file("rdp-signing.key")
    }
}

/// Choices for [`DevPki::init_with`].
#[derive(Debug, Clone, Default)]
pub struct DevPkiOptions {
    /// The OCSP responder URL (authorityInfoAccess id-ad-ocsp) written into test cards
    /// issued now; `None`: cards name no responder and only the CRL applies.
    pub siths_ocsp_url: Option<String>,
}

/// The generated dev PKI.
#[derive(Debug, Clone)]
pub struct DevPki {
    pub paths: DevPkiPaths,
}

impl DevPki {
    /// Creates whatever of the dev PKI is missing in `dir` and leaves existing files alone,
    /// so it is safe to run on every start. A missing certificate whose key still exists is
    /// re-issued for that key; a certificate whose key is gone is an error, because replacing
    /// it would mean overwriting something the user may rely on.
    pub fn init(dir: &Path) -> Result<DevPki, PkiError> {
        Self::init_with(dir, &DevPkiOptions::default())
    }

    /// [`Self::init`] with `options` for what it issues now.
    pub fn init_with(dir: &Path, options: &DevPkiOptions) -> Result<DevPki, PkiError> {
        std::fs::create_dir_all(dir).map_err(|source| PkiError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let paths = DevPkiPaths::new(dir);
        let now = SystemTime::now();
        let leaf_validity = (now - BACKDATE, now + LEAF_LIFETIME);

        let dev_ca = ensure_ca(&paths.ca_cert(), &paths.ca_key(), DEV_CA_CN)?;
        ensure_pair(&paths.server_cert(), &paths.server_key(), |key| {
            let mut params = leaf_params("localhost", leaf_validity, key)?;
            params.subject_alt_names = vec![
                SanType::DnsName("localhost".try_into().map_err(issue_error)?),
                SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            ];
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            let cert = params.signed_by(key, &dev_ca.issuer).map_err(issue_error)?;
            Ok(format!("{}{}", cert.pem(), dev_ca.cert_pem))
        })?;

        let api_ca = ensure_ca(&paths.api_ca_cert(), &paths.api_ca_key(), API_CA_CN)?;
        ensure_pair(
            &paths.api_operator_cert(),
            &paths.api_operator_key(),
            |key| {
                let opts = ClientCertOptions {
                    validity: Some(leaf_validity),
                    ..Default::default()
                };
                client_cert_pem(&api_ca.issuer, key, OPERATOR_CN, &opts)
            },
        )?;

        let siths_ca = ensure_ca(&paths.siths_ca_cert(), &paths.siths_ca_key(), SITHS_CA_CN)?;
        for (i, (hsa_id, name)) in SITHS_CARD_HSA_IDS.iter().zip(SITHS_CARD_NAMES).enumerate() {
            let n = (i + 1) as u8;
            let (cert, key) = (paths.siths_card_cert(n), paths.siths_card_key(n));
            ensure_pair(&cert, &key, |key| {
                let opts = ClientCertOptions {
                    subject_serial_number: Some((*hsa_id).to_owned()),
                    validity: Some(leaf_validity),
                    person_name: name
                        .split_once(' ')
                        .map(|(given, surname)| (given.to_owned(), surname.to_owned())),
                    ocsp_url: options.siths_ocsp_url.clone(),
                    ..Default::default()
                };
                client_cert_pem(&siths_ca.issuer, key, name, &opts)
            })?;
            let p12 = paths.siths_card_p12(n);
            if !p12.exists() {
                let bundle = pkcs12_bundle(
                    &read_text(&cert)?,
                    &read_text(&key)?,
                    &siths_ca.cert_pem,
                    name,
                    P12_PASSWORD,
                )?;
                write_new(&p12, &bundle, true)?;
            }
        }
        ensure_pair(
            &paths.siths_card_broken_cert(),
            &paths.siths_card_broken_key(),
            |key| {
                let opts = ClientCertOptions {
                    subject_serial_number: Some(SITHS_BROKEN_CARD_HSA_ID.to_owned()),
                    extended_key_usage: ClientEku::EmailProtectionOnly,
                    validity: Some(leaf_validity),
                    person_name: Some(("Trasig".into(), "Testkortsson".into())),
                    ocsp_url: options.siths_ocsp_url.clone(),
                };
                client_cert_pem(&siths_ca.issuer, key, "Trasig Testkortsson", &opts)
            },
        )?;

        ensure_pair(&paths.siths_ocsp_cert(), &paths.siths_ocsp_key(), |key| {
            let mut params = leaf_params(SITHS_OCSP_CN, leaf_validity, key)?;
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
            Ok(params
                .signed_by(key, &siths_ca.issuer)
                .map_err(issue_error)?
                .pem())
        })?;

        // The SAML SP pair is RSA: encrypted assertions use RSA-OAEP key transport, which
        // ring cannot generate keys for.
        let (sp_cert, sp_key) = (paths.saml_sp_cert(), paths.saml_sp_key());
        if !sp_key.exists() && !sp_cert.exists() {
            write_new(&sp_key, &rsa_key_pem()?, true)?;
        }
        ensure_pair(&sp_cert, &sp_key, |key| {
            let mut params = leaf_params(
                "Hamn SAML SP (dev)",
                (now - BACKDATE, now + LEAF_LIFETIME),
                key,
            )?;
            params.key_usages = vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ];
            params.use_authority_key_identifier_extension = false;
            let cert = params.self_signed(key).map_err(issue_error)?;
            Ok(cert.pem())
        })?;

        // The demo IdP signs with RSA-SHA256 (what SAML IdPs in the field use).
        let (idp_cert, idp_key) = (paths.saml_demo_idp_cert(), paths.saml_demo_idp_key());
        if !idp_key.exists() && !idp_cert.exists() {
            write_new(&idp_key, &rsa_key_pem()?, true)?;
        }
        ensure_pair(&idp_cert, &idp_key, |key| {
            let mut params = leaf_params(
                "Hamn demo IdP (dev)",
                (now - BACKDATE, now + LEAF_LIFETIME),
                key,
            )?;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.use_authority_key_identifier_extension = false;
            let cert = params.self_signed(key).map_err(issue_error)?;
            Ok(cert.pem())
        })?;

        // .rdp files are signed with RSA (what rdpsign.exe users deploy and mstsc checks),
        // by the dev CA, so a computer that trusts ca.crt trusts the publisher.
        let (rdp_cert, rdp_key) = (paths.rdp_signing_cert(), paths.rdp_signing_key());
        if !rdp_key.exists() && !rdp_cert.exists() {
            write_new(&rdp_key, &rsa_key_pem()?, true)?;
        }
        ensure_pair(&rdp_cert, &rdp_key, |key| {
            let mut params = leaf_params(RDP_SIGNING_CN, leaf_validity, key)?;
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            let cert = params.signed_by(key, &dev_ca.issuer).map_err(issue_error)?;
            Ok(format!("{}{}", cert.pem(), dev_ca.cert_pem))
        })?;

        let crl = paths.siths_crl();
        if !crl.exists() {
            let pem = sign_crl_with(&siths_ca.issuer, &CrlOptions::current())?;
            write_new(&crl, pem.as_bytes(), false)?;
        }

        Ok(DevPki { paths })
    }

    /// Revokes test card `n` (1 or 2): re-signs the SITHS test CA's CRL with the card's
    /// serial added to those already revoked, current for [`CRL_LIFETIME`] from now.
    pub fn revoke_siths_card(&self, n: u8) -> Result<(), PkiError> {
        let card = pem_certs(&read_text(&self.paths.siths_card_cert(n))?)?;
        let card = card
            .first()
            .ok_or_else(|| issue_error("no certificate in the card file"))?;
        let (_, card) =
            x509_parser::prelude::X509Certificate::from_der(card.as_ref()).map_err(issue_error)?;
        let crl_path = self.paths.siths_crl();
        let mut revoked = match std::fs::read(&crl_path) {
            Ok(bytes) => revoked_serials(&bytes)?,
            Err(_) => Vec::new(),
        };
        revoked.push(card.raw_serial().to_vec());
        let pem = sign_crl(
            &read_text(&self.paths.siths_ca_cert())?,
            &read_text(&self.paths.siths_ca_key())?,
            &CrlOptions {
                revoked,
                ..CrlOptions::current()
            },
        )?;
        replace_file(&crl_path, pem.as_bytes())
    }

    /// The server certificate pair, for [`crate::server::server_config`].
    pub fn server_cert_files(&self) -> ServerCertFiles {
        self.paths.server_files()
    }
}

/// A freshly issued certificate and its private key, both PEM (key as PKCS#8).
#[derive(Clone)]
pub struct IssuedCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for IssuedCert {
    // Keys stay out of debug output so they cannot end up in logs or test failure messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCert")
            .field("cert_pem", &self.cert_pem)
            .finish_non_exhaustive()
    }
}

/// Which extended key usage a client certificate carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientEku {
    /// clientAuth (1.3.6.1.5.5.7.3.2): what a login certificate needs.
    #[default]
    ClientAuth,
    /// No EKU extension at all: valid for every purpose as far as webpki is concerned.
    Absent,
    /// emailProtection only: an EKU that is present but excludes clientAuth.
    EmailProtectionOnly,
}

/// Options for [`issue_client_cert`]; the default is a clientAuth certificate valid from a
/// day ago for two years.
#[derive(Debug, Clone, Default)]
pub struct ClientCertOptions {
    /// Subject serialNumber attribute (2.5.4.5), e.g. an HSA-ID.
    pub subject_serial_number: Option<String>,
    /// Subject givenName (2.5.4.42) and surname (2.5.4.4): what a SITHS person certificate
    /// carries and a function certificate does not.
    pub person_name: Option<(String, String)>,
    pub extended_key_usage: ClientEku,
    /// `(not_before, not_after)`; pick a past window for an expired certificate.
    pub validity: Option<(SystemTime, SystemTime)>,
    /// OCSP responder URL for authorityInfoAccess (id-ad-ocsp); `None`: no AIA.
    pub ocsp_url: Option<String>,
}

/// Issues a client certificate for `cn` from the CA given as PEM certificate and key.
pub fn issue_client_cert(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    cn: &str,
    opts: &ClientCertOptions,
) -> Result<IssuedCert, PkiError> {
    let ca_key = KeyPair::from_pem(ca_key_pem).map_err(issue_error)?;
    let issuer = Issuer::from_ca_cert_pem(ca_cert_pem, ca_key).map_err(issue_error)?;
    let key = KeyPair::generate().map_err(issue_error)?;
    let cert_pem = client_cert_pem(&issuer, &key, cn, opts)?;
    Ok(IssuedCert {
        cert_pem,
        key_pem: key.serialize_pem(),
    })
}

/// Issues a server certificate for `names` (DNS names or IP addresses) from the CA; the
/// returned certificate PEM is the chain, leaf first, then the CA.
pub fn issue_server_cert(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    names: &[&str],
) -> Result<IssuedCert, PkiError> {
    let ca_key = KeyPair::from_pem(ca_key_pem).map_err(issue_error)?;
    let issuer = Issuer::from_ca_cert_pem(ca_cert_pem, ca_key).map_err(issue_error)?;
    let key = KeyPair::generate().map_err(issue_error)?;
    let now = SystemTime::now();
    let cn = names.first().copied().unwrap_or("server");
    let mut params = leaf_params(cn, (now - BACKDATE, now + LEAF_LIFETIME), &key)?;
    params.subject_alt_names =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .map_err(issue_error)?
            .subject_alt_names;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &issuer).map_err(issue_error)?;
    Ok(IssuedCert {
        cert_pem: format!("{}{}", cert.pem(), ca_cert_pem),
        key_pem: key.serialize_pem(),
    })
}

/// Generates a self-signed CA named `cn`, e.g. a foreign CA whose certificates must be refused.
pub fn generate_ca(cn: &str) -> Result<IssuedCert, PkiError> {
    let key = KeyPair::generate().map_err(issue_error)?;
    let cert = ca_params(cn, &key)?
        .self_signed(&key)
        .map_err(issue_error)?;
    Ok(IssuedCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Builds a password-protected PKCS#12 bundle (PBES2/AES-256, HMAC-SHA256: what current
/// browsers and OpenSSL 3 import) holding the key, its certificate and the issuing CA.
pub fn pkcs12_bundle(
    cert_pem: &str,
    key_pem: &str,
    ca_cert_pem: &str,
    friendly_name: &str,
    password: &str,
) -> Result<Vec<u8>, PkiError> {
    let der_of = |pem: &str| -> Result<p12_keystore::Certificate, PkiError> {
        let der = pem_certs(pem)?
            .into_iter()
            .next()
            .ok_or_else(|| issue_error("no certificate in PEM"))?;
        p12_keystore::Certificate::from_der(der.as_ref()).map_err(issue_error)
    };
    let leaf = der_of(cert_pem)?;
    let ca = der_of(ca_cert_pem)?;
    let key = KeyPair::from_pem(key_pem).map_err(issue_error)?;
    let key = p12_keystore::PrivateKey::from_der(key.serialized_der()).map_err(issue_error)?;
    // The local key id ties key and certificate together for importers.
    let key_id = Sha256::digest(leaf.as_der()).to_vec();
    let chain = p12_keystore::PrivateKeyChain::new(key_id, key, [leaf, ca]);
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        friendly_name,
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
    );
    store.writer(password).write().map_err(issue_error)
}

/// How long a dev CRL is current.
pub const CRL_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// What a CRL says: the revoked serials (big-endian) and its thisUpdate/nextUpdate.
#[derive(Debug, Clone)]
pub struct CrlOptions {
    pub revoked: Vec<Vec<u8>>,
    pub this_update: SystemTime,
    pub next_update: SystemTime,
}

impl CrlOptions {
    /// An empty CRL, issued a moment ago (back-dated for clock skew), current for
    /// [`CRL_LIFETIME`].
    pub fn current() -> Self {
        let now = SystemTime::now();
        Self {
            revoked: Vec::new(),
            this_update: now - Duration::from_secs(60),
            next_update: now + CRL_LIFETIME,
        }
    }
}

/// Signs a CRL (PEM) with the CA `ca_cert_pem`/`ca_key_pem`.
pub fn sign_crl(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    opts: &CrlOptions,
) -> Result<String, PkiError> {
    let key = KeyPair::from_pem(ca_key_pem).map_err(issue_error)?;
    let issuer = Issuer::from_ca_cert_pem(ca_cert_pem, key).map_err(issue_error)?;
    sign_crl_with(&issuer, opts)
}

fn sign_crl_with(issuer: &Issuer<'_, KeyPair>, opts: &CrlOptions) -> Result<String, PkiError> {
    let this_update = to_offset(opts.this_update)?;
    let revoked_certs = opts
        .revoked
        .iter()
        .map(|serial| rcgen::RevokedCertParams {
            serial_number: SerialNumber::from_slice(serial),
            revocation_time: this_update,
            reason_code: Some(rcgen::RevocationReason::KeyCompromise),
            invalidity_date: None,
        })
        .collect();
    let crl_number = opts
        .this_update
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let params = rcgen::CertificateRevocationListParams {
        this_update,
        next_update: to_offset(opts.next_update)?,
        crl_number: SerialNumber::from_slice(&crl_number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    };
    params
        .signed_by(issuer)
        .and_then(|crl| crl.pem())
        .map_err(issue_error)
}

/// The serials a CRL file (PEM or DER) revokes; its signature is not checked (the dev PKI
/// re-signs it anyway).
fn revoked_serials(bytes: &[u8]) -> Result<Vec<Vec<u8>>, PkiError> {
    let der = crate::crl::crl_der(bytes).map_err(issue_error)?;
    let (_, crl) = x509_parser::revocation_list::CertificateRevocationList::from_der(&der)
        .map_err(issue_error)?;
    Ok(crl
        .iter_revoked_certificates()
        .map(|r| r.raw_serial().to_vec())
        .collect())
}

/// Replaces `path` atomically (rename), so a reader never sees half a file.
fn replace_file(path: &Path, content: &[u8]) -> Result<(), PkiError> {
    let io = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&tmp, content).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

fn pem_certs(pem: &str) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, PkiError> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(issue_error)
}

struct LoadedCa {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
}

fn ensure_ca(cert: &Path, key: &Path, cn: &str) -> Result<LoadedCa, PkiError> {
    ensure_pair(cert, key, |key| {
        // Same name and key as a lost CA certificate, so what it issued still chains.
        Ok(ca_params(cn, key)?
            .self_signed(key)
            .map_err(issue_error)?
            .pem())
    })?;
    let cert_pem = read_text(cert)?;
    let key_pair = KeyPair::from_pem(&read_text(key)?).map_err(|_| PkiError::Invalid {
        path: key.to_path_buf(),
        reason: "unusable CA private key".into(),
    })?;
    let issuer = Issuer::from_ca_cert_pem(&cert_pem, key_pair).map_err(|e| PkiError::Invalid {
        path: cert.to_path_buf(),
        reason: format!("unusable CA certificate: {e}"),
    })?;
    Ok(LoadedCa { issuer, cert_pem })
}

/// Makes sure `cert` and `key` exist, generating whichever is missing. The key is written
/// first so that an interrupted run leaves a state the next run can finish.
fn ensure_pair(
    cert: &Path,
    key: &Path,
    issue: impl FnOnce(&KeyPair) -> Result<String, PkiError>,
) -> Result<(), PkiError> {
    match (cert.exists(), key.exists()) {
        (true, true) => Ok(()),
        (true, false) => Err(PkiError::KeyMissing {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        }),
        (false, key_exists) => {
            let key_pair = if key_exists {
                KeyPair::from_pem(&read_text(key)?).map_err(|_| PkiError::Invalid {
                    path: key.to_path_buf(),
                    reason: "unusable private key".into(),
                })?
            } else {
                let generated = KeyPair::generate().map_err(issue_error)?;
                write_new(key, generated.serialize_pem().as_bytes(), true)?;
                generated
            };
            let pem = issue(&key_pair)?;
            write_new(cert, pem.as_bytes(), false)
        }
    }
}

fn ca_params(cn: &str, key: &KeyPair) -> Result<CertificateParams, PkiError> {
    let now = SystemTime::now();
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(cn, None)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, (now - BACKDATE, now + CA_LIFETIME))?;
    params.serial_number = Some(fresh_serial(key, cn));
    Ok(params)
}

/// A fresh 3072-bit RSA key as PKCS#8 PEM.
fn rsa_key_pem() -> Result<Vec<u8>, PkiError> {
    let rsa = openssl::rsa::Rsa::generate(3072).map_err(issue_error)?;
    let key = openssl::pkey::PKey::from_rsa(rsa).map_err(issue_error)?;
    key.private_key_to_pem_pkcs8().map_err(issue_error)
}

fn leaf_params(
    cn: &str,
    validity: (SystemTime, SystemTime),
    key: &KeyPair,
) -> Result<CertificateParams, PkiError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(cn, None)?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, validity)?;
    params.serial_number = Some(fresh_serial(key, cn));
    Ok(params)
}

fn client_cert_pem(
    issuer: &Issuer<'_, KeyPair>,
    key: &KeyPair,
    cn: &str,
    opts: &ClientCertOptions,
) -> Result<String, PkiError> {
    let now = SystemTime::now();
    let validity = opts
        .validity
        .unwrap_or((now - BACKDATE, now + LEAF_LIFETIME));
    let mut params = leaf_params(cn, validity, key)?;
    params.distinguished_name = dn(cn, opts.subject_serial_number.as_deref())?;
    if let Some((given, surname)) = &opts.person_name {
        let dn = &mut params.distinguished_name;
        dn.push(DnType::CustomDnType(vec![2, 5, 4, 42]), given.as_str());
        dn.push(DnType::CustomDnType(vec![2, 5, 4, 4]), surname.as_str());
    }
    params.extended_key_usages = match opts.extended_key_usage {
        ClientEku::ClientAuth => vec![ExtendedKeyUsagePurpose::ClientAuth],
        ClientEku::Absent => vec![],
        ClientEku::EmailProtectionOnly => vec![ExtendedKeyUsagePurpose::EmailProtection],
    };
    if let Some(url) = &opts.ocsp_url {
        params.custom_extensions.push(aia_ocsp(url)?);
    }
    Ok(params.signed_by(key, issuer).map_err(issue_error)?.pem())
}

/// authorityInfoAccess naming `url` as the OCSP responder (id-ad-ocsp, an IA5String URI).
fn aia_ocsp(url: &str) -> Result<rcgen::CustomExtension, PkiError> {
    use crate::ocsp::tlv;
    if !url.is_ascii() {
        return Err(issue_error("the OCSP URL must be ASCII"));
    }
    const ID_AD_OCSP: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
    let access = tlv(
        0x30,
        &[tlv(0x06, ID_AD_OCSP), tlv(0x86, url.as_bytes())].concat(),
    );
    Ok(rcgen::CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 1, 1],
        tlv(0x30, &access),
    ))
}

/// One line of an OpenSSL CA database (`index.txt`, what `openssl ocsp -index` reads) for
/// the certificate `cert_pem`: valid, or revoked at `revoked_at`.
pub fn openssl_index_line(
    cert_pem: &str,
    revoked_at: Option<SystemTime>,
) -> Result<String, PkiError> {
    let der = pem_certs(cert_pem)?
        .into_iter()
        .next()
        .ok_or_else(|| issue_error("no certificate in PEM"))?;
    let (_, cert) =
        x509_parser::prelude::X509Certificate::from_der(der.as_ref()).map_err(issue_error)?;
    let stamp = |secs: i64| -> Result<String, PkiError> {
        let t = OffsetDateTime::from_unix_timestamp(secs).map_err(issue_error)?;
        Ok(format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}Z",
            t.year() % 100,
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ))
    };
    let expiry = stamp(cert.validity().not_after.timestamp())?;
    let serial: String = cert
        .raw_serial()
        .iter()
        .skip_while(|b| **b == 0)
        .map(|b| format!("{b:02X}"))
        .collect();
    let serial = if serial.is_empty() {
        "00".into()
    } else {
        serial
    };
    let subject: String = cert
        .subject()
        .iter_rdn()
        .flat_map(|rdn| rdn.iter())
        .map(|attr| {
            let name = x509_parser::objects::oid2abbrev(
                attr.attr_type(),
                x509_parser::objects::oid_registry(),
            )
            .map(str::to_owned)
            .unwrap_or_else(|_| attr.attr_type().to_id_string());
            format!("/{name}={}", attr.as_str().unwrap_or("?"))
        })
        .collect();
    Ok(match revoked_at {
        None => format!("V\t{expiry}\t\t{serial}\tunknown\t{subject}\n"),
        Some(at) => {
            let at = at
                .duration_since(UNIX_EPOCH)
                .map_err(issue_error)?
                .as_secs() as i64;
            format!(
                "R\t{expiry}\t{}\t{serial}\tunknown\t{subject}\n",
                stamp(at)?
            )
        }
    })
}

fn dn(cn: &str, serial_number: Option<&str>) -> Result<DistinguishedName, PkiError> {
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CountryName,
        DnValue::PrintableString("SE".try_into().map_err(issue_error)?),
    );
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn.push(DnType::CommonName, cn);
    if let Some(serial) = serial_number {
        // X.520 defines serialNumber as a PrintableString; SITHS HSA-IDs fit it.
        let value = DnValue::PrintableString(serial.try_into().map_err(issue_error)?);
        dn.push(DnType::CustomDnType(vec![2, 5, 4, 5]), value);
    }
    Ok(dn)
}

fn set_validity(
    params: &mut CertificateParams,
    (from, to): (SystemTime, SystemTime),
) -> Result<(), PkiError> {
    params.not_before = to_offset(from)?;
    params.not_after = to_offset(to)?;
    Ok(())
}

fn to_offset(t: SystemTime) -> Result<OffsetDateTime, PkiError> {
    let secs = t.duration_since(UNIX_EPOCH).map_err(issue_error)?.as_secs();
    OffsetDateTime::from_unix_timestamp(secs as i64).map_err(issue_error)
}

/// rcgen derives the serial from the public key by default, so re-issuing for a kept key
/// would repeat it; browsers reject two different certificates with one issuer and serial.
fn fresh_serial(key: &KeyPair, cn: &str) -> SerialNumber {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut hasher = Sha256::new();
    hasher.update(key.public_key_raw());
    hasher.update(cn.as_bytes());
    hasher.update(nanos.to_be_bytes());
    let mut serial = hasher.finalize()[..16].to_vec();
    serial[0] &= 0x7f;
    SerialNumber::from_slice(&serial)
}

fn read_text(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `path` only if it does not exist, atomically: the content goes to a temporary file
/// that is then hard-linked into place, which fails instead of replacing a file that
/// appeared meanwhile (two `hamn up` starting at once).
fn write_new(path: &Path, content: &[u8], private: bool) -> Result<(), PkiError> {
    let io = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(if private { 0o600 } else { 0o644 });
        }
        let mut file = options.open(&tmp)?;
        file.write_all(content)?;
        file.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    result.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuing_from_malformed_ca_input_fails_cleanly() {
        let ca = generate_ca("Test CA").unwrap();
        let opts = ClientCertOptions::default();
        assert!(issue_client_cert("not pem", &ca.key_pem, "x", &opts).is_err());
        assert!(issue_client_cert(&ca.cert_pem, "not a key", "x", &opts).is_err());
        let truncated = &ca.cert_pem[..ca.cert_pem.len() / 2];
        assert!(issue_client_cert(truncated, &ca.key_pem, "x", &opts).is_err());
    }

    #[test]
    fn hsa_id_must_be_printable() {
        let ca = generate_ca("Test CA").unwrap();
        let opts = ClientCertOptions {
            subject_serial_number: Some("SE*ÅÄÖ".into()),
            ..Default::default()
        };
        assert!(matches!(
            issue_client_cert(&ca.cert_pem, &ca.key_pem, "x", &opts),
            Err(PkiError::Issue(_))
        ));
    }

    #[test]
    fn p12_from_malformed_pem_fails() {
        let ca = generate_ca("Test CA").unwrap();
        assert!(pkcs12_bundle("junk", &ca.key_pem, &ca.cert_pem, "x", "pw").is_err());
        assert!(pkcs12_bundle(&ca.cert_pem, "junk", &ca.cert_pem, "x", "pw").is_err());
    }

    #[test]
    fn write_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_new(&path, b"first", true).unwrap();
        assert!(write_new(&path, b"second", true).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temp file left behind"
        );
    }

    #[test]
    fn certificate_without_key_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let paths = DevPkiPaths::new(dir.path());
        std::fs::write(paths.ca_cert(), "kept").unwrap();
        assert!(matches!(
            DevPki::init(dir.path()),
            Err(PkiError::KeyMissing { .. })
        ));
        assert_eq!(std::fs::read_to_string(paths.ca_cert()).unwrap(), "kept");
    }

    #[test]
    fn cards_name_the_configured_ocsp_responder_and_its_certificate_may_sign_for_the_ca() {
        use x509_parser::prelude::X509Certificate;
        let dir = tempfile::tempdir().unwrap();
        let url = "http://127.0.0.1:8889/";
        let pki = DevPki::init_with(
            dir.path(),
            &DevPkiOptions {
                siths_ocsp_url: Some(url.into()),
            },
        )
        .unwrap();
        let der = |path: PathBuf| pem_certs(&read_text(&path).unwrap()).unwrap().remove(0);
        let card = der(pki.paths.siths_card_cert(1));
        let (_, card) = X509Certificate::from_der(card.as_ref()).unwrap();
        assert_eq!(crate::ocsp::responder_url(&card), Ok(Some(url.to_owned())));
        let responder = der(pki.paths.siths_ocsp_cert());
        let (_, responder) = X509Certificate::from_der(responder.as_ref()).unwrap();
        let ca = der(pki.paths.siths_ca_cert());
        let (_, ca) = X509Certificate::from_der(ca.as_ref()).unwrap();
        assert!(responder.verify_signature(Some(ca.public_key())).is_ok());
        let eku = responder.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.ocsp_signing && !eku.client_auth);
        // Without the option, cards name no responder.
        let plain = tempfile::tempdir().unwrap();
        let pki = DevPki::init(plain.path()).unwrap();
        let card = der(pki.paths.siths_card_cert(2));
        let (_, card) = X509Certificate::from_der(card.as_ref()).unwrap();
        assert_eq!(crate::ocsp::responder_url(&card), Ok(None));
    }

    #[test]
    fn unusable_existing_key_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let paths = DevPkiPaths::new(dir.path());
        std::fs::write(paths.ca_key(), "garbage").unwrap();
        let err = DevPki::init(dir.path()).unwrap_err();
        assert!(matches!(err, PkiError::Invalid { .. }), "{err}");
    }
}

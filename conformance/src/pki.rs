//! The development PKI: one root CA per region and the certificates a local
//! federation needs, made with rcgen. Test and demo use only — a production
//! federation's certificates come from each region's own CA.
//!
//! Layout under the PKI directory:
//!
//! ```text
//! ca-bundle.pem                 the four region roots
//! {region}/ca.pem, ca.key       region root CA
//! {region}/crl.pem              region CRL (empty until something is revoked)
//! gateway/server.pem, .key      the gateway's TLS server certificate (sh CA)
//! gateway/upstream.pem, .key    the gateway's client certificate towards providers
//! members/{stem}.pem, .key      one client certificate per member
//! providers/{region}.pem, .key  sample provider server certificates
//! ```
//!
//! Existing files are kept: running `init` again only adds what is missing, so a
//! demo directory keeps its identities across restarts.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub use rcgen::KeyUsagePurpose;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, RevocationReason,
    RevokedCertParams, SanType, SerialNumber,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::{Duration, OffsetDateTime};
use yrdx_signing::{MemberId, Region};

/// Why the PKI could not be made.
#[derive(Debug, Error)]
pub enum PkiError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// rcgen refused the parameters or an existing file.
    #[error("{what}: {source}")]
    Cert {
        /// What was being made or read.
        what: String,
        /// rcgen's error.
        #[source]
        source: rcgen::Error,
    },
}

/// One client certificate to issue.
#[derive(Clone, Debug)]
pub struct ClientCert {
    /// The member the certificate names (SAN URI `urn:yrdx:{member}`).
    pub member: MemberId,
    /// The region whose CA issues it: the member's own region, except for
    /// deliberately wrong test certificates.
    pub issuer: Region,
    /// The file stem under `members/`.
    pub stem: String,
}

impl ClientCert {
    /// A certificate for `member`, issued by its own region's CA.
    pub fn for_member(member: &MemberId) -> ClientCert {
        ClientCert {
            member: member.clone(),
            issuer: member.region(),
            stem: stem_of(member),
        }
    }
}

/// The file stem for a member id: `:` becomes `_`.
pub fn stem_of(member: &MemberId) -> String {
    member.to_string().replace(':', "_")
}

/// What to make.
#[derive(Clone, Debug)]
pub struct PkiSpec {
    /// The member the gateway's upstream client certificate names.
    pub gateway: MemberId,
    /// Member client certificates.
    pub clients: Vec<ClientCert>,
    /// Regions that get a sample provider server certificate.
    pub providers: Vec<Region>,
}

/// Paths of a PKI directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PkiLayout {
    /// The PKI directory.
    pub dir: PathBuf,
}

/// A certificate file and its key file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertPaths {
    /// PEM certificate.
    pub cert: PathBuf,
    /// PEM PKCS#8 private key (mode 0600).
    pub key: PathBuf,
}

impl PkiLayout {
    /// The four region roots in one PEM file.
    pub fn ca_bundle(&self) -> PathBuf {
        self.dir.join("ca-bundle.pem")
    }

    /// A region's root CA certificate.
    pub fn ca(&self, region: Region) -> CertPaths {
        self.pair(region.code(), "ca")
    }

    /// A region's CRL.
    pub fn crl(&self, region: Region) -> PathBuf {
        self.dir.join(region.code()).join("crl.pem")
    }

    fn revoked_list(&self, region: Region) -> PathBuf {
        self.dir.join(region.code()).join("revoked.json")
    }

    /// The gateway's TLS server certificate.
    pub fn gateway_server(&self) -> CertPaths {
        self.pair("gateway", "server")
    }

    /// The gateway's client certificate towards providers.
    pub fn gateway_upstream(&self) -> CertPaths {
        self.pair("gateway", "upstream")
    }

    /// A member's client certificate by file stem.
    pub fn client(&self, stem: &str) -> CertPaths {
        self.pair("members", stem)
    }

    /// A sample provider's server certificate.
    pub fn provider(&self, region: Region) -> CertPaths {
        self.pair("providers", region.code())
    }

    fn pair(&self, folder: &str, stem: &str) -> CertPaths {
        let d = self.dir.join(folder);
        CertPaths {
            cert: d.join(format!("{stem}.pem")),
            key: d.join(format!("{stem}.key")),
        }
    }
}

/// Makes (or completes) the PKI in `dir` as `spec` says, with certificates valid
/// from a day before `now`.
pub fn init(dir: &Path, spec: &PkiSpec, now: OffsetDateTime) -> Result<PkiLayout, PkiError> {
    let layout = PkiLayout {
        dir: dir.to_owned(),
    };
    let mut bundle = String::new();
    for region in Region::ALL {
        let ca = layout.ca(region);
        if !ca.cert.exists() || !ca.key.exists() {
            make_ca(region, &ca, now)?;
        }
        bundle.push_str(&read(&ca.cert)?);
        if !layout.crl(region).exists() {
            write_crl(&layout, region, &[], now)?;
        }
    }
    write_file(&layout.ca_bundle(), bundle.as_bytes(), false)?;

    let localhost = vec![
        SanType::DnsName("localhost".try_into().map_err(cert_err("localhost name"))?),
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
    ];
    let server = layout.gateway_server();
    if !server.cert.exists() || !server.key.exists() {
        issue(
            &layout,
            Region::Sh,
            &server,
            "yrdx gateway",
            localhost.clone(),
            ExtendedKeyUsagePurpose::ServerAuth,
            now,
        )?;
    }
    let upstream = layout.gateway_upstream();
    if !upstream.cert.exists() || !upstream.key.exists() {
        issue(
            &layout,
            spec.gateway.region(),
            &upstream,
            "yrdx gateway upstream client",
            vec![member_san(&spec.gateway)?],
            ExtendedKeyUsagePurpose::ClientAuth,
            now,
        )?;
    }
    for client in &spec.clients {
        let paths = layout.client(&client.stem);
        if !paths.cert.exists() || !paths.key.exists() {
            issue(
                &layout,
                client.issuer,
                &paths,
                &client.member.to_string(),
                vec![member_san(&client.member)?],
                ExtendedKeyUsagePurpose::ClientAuth,
                now,
            )?;
        }
    }
    for &region in &spec.providers {
        let paths = layout.provider(region);
        if !paths.cert.exists() || !paths.key.exists() {
            issue(
                &layout,
                region,
                &paths,
                &format!("{} sample provider", region.name_en()),
                localhost.clone(),
                ExtendedKeyUsagePurpose::ServerAuth,
                now,
            )?;
        }
    }
    Ok(layout)
}

/// What may be odd about a test client certificate, for the hostile-input
/// tests: each field is what a well-formed member certificate has unless
/// changed.
#[derive(Clone, Debug)]
pub struct Oddities {
    /// The member ids named as SAN URIs (none, one, several).
    pub members: Vec<MemberId>,
    /// Key usages; a member's certificate has digitalSignature only.
    pub key_usages: Vec<KeyUsagePurpose>,
    /// Whether the certificate claims to be a CA.
    pub ca: bool,
    /// Valid from.
    pub not_before: OffsetDateTime,
    /// Valid until.
    pub not_after: OffsetDateTime,
}

impl Oddities {
    /// A well-formed certificate for `member`, valid from a day before `now`.
    pub fn none(member: &MemberId, now: OffsetDateTime) -> Oddities {
        Oddities {
            members: vec![member.clone()],
            key_usages: vec![KeyUsagePurpose::DigitalSignature],
            ca: false,
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(825),
        }
    }
}

/// Issues a test client certificate with `odd` under `members/{stem}` from
/// `region`'s CA; returns its paths.
pub fn issue_odd_client(
    layout: &PkiLayout,
    region: Region,
    stem: &str,
    odd: &Oddities,
) -> Result<CertPaths, PkiError> {
    let paths = layout.client(stem);
    let issuer = load_issuer(layout, region)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(cert_err("key"))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(stem, region);
    params.subject_alt_names = odd
        .members
        .iter()
        .map(member_san)
        .collect::<Result<_, _>>()?;
    params.key_usages = odd.key_usages.clone();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    if odd.ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    params.not_before = odd.not_before;
    params.not_after = odd.not_after;
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    let cert = params.signed_by(&key, &issuer).map_err(cert_err(stem))?;
    write_file(&paths.key, key.serialize_pem().as_bytes(), true)?;
    write_file(&paths.cert, cert.pem().as_bytes(), false)?;
    Ok(paths)
}

/// Adds the certificate at `cert` to its region's CRL (the region whose CA
/// issued it) and rewrites the CRL.
pub fn revoke(
    layout: &PkiLayout,
    region: Region,
    cert: &Path,
    now: OffsetDateTime,
) -> Result<(), PkiError> {
    let pem = read(cert)?;
    let der = pem_to_der(&pem).ok_or_else(|| PkiError::Cert {
        what: format!("{}: not a PEM certificate", cert.display()),
        source: rcgen::Error::CouldNotParseCertificate,
    })?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&der).map_err(|_| PkiError::Cert {
        what: format!("{}: not an X.509 certificate", cert.display()),
        source: rcgen::Error::CouldNotParseCertificate,
    })?;
    let serial = parsed.raw_serial().to_vec();
    let list_path = layout.revoked_list(region);
    let mut serials: Vec<Vec<u8>> = match fs::read(&list_path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    if !serials.contains(&serial) {
        serials.push(serial);
    }
    write_file(
        &list_path,
        &serde_json::to_vec(&serials).unwrap_or_default(),
        false,
    )?;
    write_crl(layout, region, &serials, now)
}

fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

fn member_san(member: &MemberId) -> Result<SanType, PkiError> {
    Ok(SanType::URI(
        member.to_uri().try_into().map_err(cert_err("member URI"))?,
    ))
}

fn cert_err(what: &str) -> impl FnOnce(rcgen::Error) -> PkiError + '_ {
    move |source| PkiError::Cert {
        what: what.to_owned(),
        source,
    }
}

fn dn(cn: &str, region: Region) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "CN");
    dn.push(
        DnType::OrganizationName,
        format!("yrdx development PKI ({})", region.name_en()),
    );
    dn.push(DnType::CommonName, cn);
    dn
}

fn make_ca(region: Region, paths: &CertPaths, now: OffsetDateTime) -> Result<(), PkiError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(cert_err("CA key"))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(
        &format!("yrdx {} development root CA", region.name_en()),
        region,
    );
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(3650);
    params.key_identifier_method = KeyIdMethod::Sha256;
    let cert = params
        .self_signed(&key)
        .map_err(cert_err("CA certificate"))?;
    write_file(&paths.key, key.serialize_pem().as_bytes(), true)?;
    write_file(&paths.cert, cert.pem().as_bytes(), false)
}

fn load_issuer(layout: &PkiLayout, region: Region) -> Result<Issuer<'static, KeyPair>, PkiError> {
    let ca = layout.ca(region);
    let key = KeyPair::from_pem(&read(&ca.key)?).map_err(cert_err("CA key"))?;
    Issuer::from_ca_cert_pem(&read(&ca.cert)?, key).map_err(cert_err("CA certificate"))
}

fn issue(
    layout: &PkiLayout,
    region: Region,
    paths: &CertPaths,
    cn: &str,
    sans: Vec<SanType>,
    usage: ExtendedKeyUsagePurpose,
    now: OffsetDateTime,
) -> Result<(), PkiError> {
    let issuer = load_issuer(layout, region)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(cert_err("key"))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(cn, region);
    params.subject_alt_names = sans;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(825);
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    let cert = params.signed_by(&key, &issuer).map_err(cert_err(cn))?;
    write_file(&paths.key, key.serialize_pem().as_bytes(), true)?;
    write_file(&paths.cert, cert.pem().as_bytes(), false)
}

fn random_serial() -> [u8; 16] {
    let mut serial = [0u8; 16];
    // A fresh key's public bytes are as unpredictable as anything else we have
    // without another dependency; the serial only needs to be unique.
    if let Ok(k) = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256) {
        let digest = yrdx_signing::sha256(k.public_key_raw());
        serial.copy_from_slice(digest.get(..16).unwrap_or(&[0u8; 16]));
    }
    // Positive INTEGER: clear the top bit.
    serial[0] &= 0x7f;
    serial
}

fn write_crl(
    layout: &PkiLayout,
    region: Region,
    serials: &[Vec<u8>],
    now: OffsetDateTime,
) -> Result<(), PkiError> {
    let issuer = load_issuer(layout, region)?;
    let params = CertificateRevocationListParams {
        this_update: now - Duration::hours(1),
        next_update: now + Duration::days(30),
        crl_number: SerialNumber::from(u64::try_from(now.unix_timestamp()).unwrap_or(1)),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from_slice(s),
                revocation_time: now - Duration::minutes(1),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&issuer).map_err(cert_err("CRL"))?;
    let pem = crl.pem().map_err(cert_err("CRL"))?;
    write_file(&layout.crl(region), pem.as_bytes(), false)
}

fn read(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Writes a file, creating its folder; private files get mode 0600.
fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), PkiError> {
    let io = |source| PkiError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if private {
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn spec() -> PkiSpec {
        let gw = MemberId::parse("sh:12310000MB0L396206:gateway").unwrap();
        let js = MemberId::parse("js:11320000014000118J:data").unwrap();
        let impostor = MemberId::parse("zj:11330000002482028A:impostor").unwrap();
        PkiSpec {
            gateway: gw,
            clients: vec![
                ClientCert::for_member(&js),
                ClientCert {
                    member: impostor.clone(),
                    issuer: Region::Js,
                    stem: stem_of(&impostor),
                },
            ],
            providers: vec![Region::Zj],
        }
    }

    #[test]
    fn makes_every_file_with_private_keys_0600_and_keeps_them_on_rerun() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let layout = init(dir.path(), &spec(), now).unwrap();
        let js = layout.client("js_11320000014000118J_data");
        for path in [
            &js.cert,
            &layout.ca_bundle(),
            &layout.crl(Region::Ah),
            &layout.provider(Region::Zj).cert,
        ] {
            assert!(path.exists(), "{}", path.display());
        }
        let mode = fs::metadata(&js.key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let before = fs::read(&js.cert).unwrap();
        init(dir.path(), &spec(), now).unwrap();
        assert_eq!(
            fs::read(&js.cert).unwrap(),
            before,
            "a rerun must keep existing identities"
        );
        let bundle = fs::read_to_string(layout.ca_bundle()).unwrap();
        assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 4);
    }

    #[test]
    fn client_certificates_name_the_member_and_chain_to_the_issuing_region() {
        let dir = tempfile::tempdir().unwrap();
        let layout = init(dir.path(), &spec(), OffsetDateTime::now_utc()).unwrap();
        let der = pem_to_der(
            &fs::read_to_string(layout.client("zj_11330000002482028A_impostor").cert).unwrap(),
        )
        .unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let san = cert.subject_alternative_name().unwrap().unwrap();
        let uri = san.value.general_names.iter().find_map(|n| match n {
            x509_parser::extensions::GeneralName::URI(u) => Some(*u),
            _ => None,
        });
        assert_eq!(uri, Some("urn:yrdx:zj:11330000002482028A:impostor"));
        assert!(
            cert.issuer().to_string().contains("Jiangsu"),
            "{}",
            cert.issuer()
        );
    }

    #[test]
    fn revocation_rewrites_the_region_crl() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let layout = init(dir.path(), &spec(), now).unwrap();
        let before = fs::read(layout.crl(Region::Js)).unwrap();
        revoke(
            &layout,
            Region::Js,
            &layout.client("js_11320000014000118J_data").cert,
            now,
        )
        .unwrap();
        let after = fs::read(layout.crl(Region::Js)).unwrap();
        assert_ne!(before, after);
        assert!(after.len() > before.len());
    }
}

//! A test timestamp authority: RFC 3161 tokens (CMS SignedData over a TSTInfo)
//! with the signed attributes a verifier checks.

use time::OffsetDateTime;

use super::Result;
use super::der_enc::{self as d, seq};
use super::pki::{Issued, TestKey};

/// A TSA: its key and certificate.
#[derive(Clone, Debug)]
pub struct Tsa {
    /// The TSA's signing key.
    pub key: TestKey,
    /// Its certificate (extendedKeyUsage timeStamping).
    pub cert: Issued,
}

impl Tsa {
    /// A DER TimeStampToken whose messageImprint is the hash of `stamped`, at `at`.
    pub fn stamp(&self, stamped: &[u8], at: OffsetDateTime) -> Result<Vec<u8>> {
        let digest_alg = d::alg_id(self.key.digest_oid())?;
        let tst_info = seq(&[
            &d::int(1),
            &d::oid("1.2.156.112.99.1")?,
            &seq(&[&digest_alg, &d::octets(&self.key.digest(stamped))]),
            &d::int(at.unix_timestamp()),
            &d::gen_time(at),
        ]);
        let tst_info_oid = d::oid("1.2.840.113549.1.9.16.1.4")?;
        let attrs = [
            seq(&[
                &d::oid("1.2.840.113549.1.9.3")?,
                &d::set_of(&[&tst_info_oid]),
            ]),
            seq(&[
                &d::oid("1.2.840.113549.1.9.4")?,
                &d::set_of(&[&d::octets(&self.key.digest(&tst_info))]),
            ]),
        ];
        let attr_refs: Vec<&[u8]> = attrs.iter().map(Vec::as_slice).collect();
        let signed_attrs = d::set_of(&attr_refs);
        let signature = self.key.sign(&signed_attrs);
        let mut implicit_attrs = signed_attrs;
        if let Some(first) = implicit_attrs.first_mut() {
            *first = 0xa0;
        }
        let signer_info = seq(&[
            &d::int(1),
            &seq(&[&self.cert.issuer, &d::uint(&self.cert.serial.to_be_bytes())]),
            &digest_alg,
            &implicit_attrs,
            &d::alg_id(self.key.sig_alg())?,
            &d::octets(&signature),
        ]);
        let signed_data = seq(&[
            &d::int(3),
            &d::set_of(&[&digest_alg]),
            &seq(&[&tst_info_oid, &d::explicit(0, &d::octets(&tst_info))]),
            &d::tlv(0xa0, &self.cert.der),
            &d::set_of(&[&signer_info]),
        ]);
        Ok(seq(&[
            &d::oid("1.2.840.113549.1.7.2")?,
            &d::explicit(0, &signed_data),
        ]))
    }
}

//! Electronic bills in the gateway: the bill trust loaded from the
//! configuration (`[bill_trust.{region}]`), and telling a bill apart from the
//! other documents `POST /v1/verify` and `yrdx verify` take. The verification
//! itself is `yrdx_signing::bill` (docs/ebills.md).

use std::collections::BTreeMap;

use yrdx_signing::{BillTrust, CertError, Region};

use crate::config::BillTrustFiles;
use crate::seals::{SealTrustError, der_blocks};

/// Builds the bill trust from the configuration.
pub fn load(config: &BTreeMap<Region, BillTrustFiles>) -> Result<BillTrust, SealTrustError> {
    type Add = fn(&mut BillTrust, Region, &[u8]) -> Result<(), CertError>;
    let mut trust = BillTrust::new();
    for (region, t) in config {
        let groups: [(&str, &[std::path::PathBuf], Add); 4] = [
            ("anchors", &t.anchors, BillTrust::add_anchor),
            (
                "intermediates",
                &t.intermediates,
                BillTrust::add_intermediate,
            ),
            ("certificates", &t.certificates, BillTrust::add_certificate),
            ("crls", &t.crls, BillTrust::add_crl),
        ];
        for (name, files, add) in groups {
            for (i, path) in files.iter().enumerate() {
                let key = format!("bill_trust.{}.{name}[{i}]", region.code());
                let bytes = std::fs::read(path).map_err(|source| SealTrustError::Read {
                    path: path.clone(),
                    source,
                })?;
                let content = |problem: String| SealTrustError::Content {
                    key: key.clone(),
                    path: path.clone(),
                    problem,
                };
                for (n, der) in der_blocks(&bytes).map_err(content)?.iter().enumerate() {
                    add(&mut trust, *region, der)
                        .map_err(|e| content(format!("object {} of the file: {e}", n + 1)))?;
                }
            }
        }
        if t.require_crls {
            trust.require_crls(*region);
        }
    }
    Ok(trust)
}

/// Whether `bytes` look like an XML document (a bill): after an optional
/// UTF-8 byte order mark and whitespace, a `<`. The bill reader then decides
/// whether it is one.
pub fn is_xml(bytes: &[u8]) -> bool {
    let rest = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_told_by_its_first_byte() {
        assert!(is_xml(b"<?xml version=\"1.0\"?><EInvoice/>"));
        assert!(is_xml(b"\xef\xbb\xbf\n <EInvoice/>"));
        assert!(!is_xml(b"PK\x03\x04"));
        assert!(!is_xml(b"{\"bill\":\"\"}"));
        assert!(!is_xml(b"\x30\x82"));
    }
}

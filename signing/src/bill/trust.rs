//! Bill trust: per issuing region, the roots and intermediates bill certificates
//! chain to, the signing certificates themselves (issuing units', finance
//! departments' and tax bureaus'), CRLs, and whether CRLs are required.
//!
//! A bill does not carry its certificates: its `KeyInfo` names one by issuer name
//! and serial number, so the certificates must be configured and are looked up
//! here. Chains are validated by the same [`TrustStore`] code as seal chains, with
//! each region's bill roots as that region's anchors.

use std::collections::BTreeMap;

use crate::error::CertError;
use crate::ident::Region;
use crate::x509::{TrustStore, parse_cert, pem_blocks};

/// Bill certificates and their trust, grouped by issuing region.
#[derive(Clone, Debug, Default)]
pub struct BillTrust {
    regions: BTreeMap<Region, RegionTrust>,
}

#[derive(Clone, Debug)]
struct RegionTrust {
    region: Region,
    store: TrustStore,
    certs: Vec<Vec<u8>>,
}

/// A configured certificate that a bill's `KeyInfo` named.
#[derive(Clone, Debug)]
pub(crate) struct Found<'a> {
    pub region: Region,
    pub store: &'a TrustStore,
    pub der: &'a [u8],
}

impl BillTrust {
    /// Nothing trusted.
    pub fn new() -> Self {
        BillTrust::default()
    }

    fn region_mut(&mut self, region: Region) -> &mut RegionTrust {
        self.regions.entry(region).or_insert_with(|| RegionTrust {
            region,
            store: TrustStore::new(),
            certs: Vec::new(),
        })
    }

    /// Trusts `der` as a root of `region`'s bill certificates.
    pub fn add_anchor(&mut self, region: Region, der: &[u8]) -> Result<(), CertError> {
        self.region_mut(region).store.add_seal_anchor(region, der)
    }

    /// Offers `der` as an intermediate CA of `region` (trusted only if it chains).
    pub fn add_intermediate(&mut self, region: Region, der: &[u8]) -> Result<(), CertError> {
        self.region_mut(region).store.add_intermediate(der)
    }

    /// Adds a signing certificate of `region` (an issuing unit's, a finance
    /// department's or a tax bureau's), found by issuer name and serial number.
    pub fn add_certificate(&mut self, region: Region, der: &[u8]) -> Result<(), CertError> {
        parse_cert(der, 0)?;
        self.region_mut(region).certs.push(der.to_vec());
        Ok(())
    }

    /// Adds a CRL for `region`'s bill chains.
    pub fn add_crl(&mut self, region: Region, der: &[u8]) -> Result<(), CertError> {
        self.region_mut(region).store.add_crl(der)
    }

    /// Requires a current CRL for every issuer in `region`'s bill chains.
    pub fn require_crls(&mut self, region: Region) {
        let r = self.region_mut(region);
        r.store.require_crls(region);
    }

    /// PEM variants: adds every block of `pem` with `add`; returns how many.
    pub fn add_pem(
        &mut self,
        region: Region,
        pem: &[u8],
        add: fn(&mut BillTrust, Region, &[u8]) -> Result<(), CertError>,
    ) -> Result<usize, CertError> {
        let blocks = pem_blocks(pem)?;
        for der in &blocks {
            add(self, region, der)?;
        }
        Ok(blocks.len())
    }

    /// The regions with any bill trust configured.
    pub fn regions(&self) -> Vec<Region> {
        self.regions.keys().copied().collect()
    }

    /// The certificate named by `issuer` and `serial` among `region`'s (or, with
    /// `None`, every region's) signing certificates.
    pub(crate) fn find(
        &self,
        region: Option<Region>,
        issuer: &str,
        serial: &str,
    ) -> Option<Found<'_>> {
        let wanted_issuer = normalise_dn(issuer);
        let wanted_serial = SerialText::parse(serial)?;
        self.regions
            .values()
            .filter(|r| region.is_none_or(|want| want == r.region))
            .find_map(|r| {
                r.certs.iter().find_map(|der| {
                    let cert = parse_cert(der, 0).ok()?;
                    let same_issuer = normalise_dn(&cert.issuer().to_string()) == wanted_issuer;
                    (same_issuer
                        && wanted_serial.matches(cert.raw_serial(), &cert.serial.to_string()))
                    .then_some(Found {
                        region: r.region,
                        store: &r.store,
                        der,
                    })
                })
            })
    }
}

/// A distinguished name as a sorted list of `TYPE=value` (types upper-cased,
/// spaces around separators removed), so `C=CN, O=财政部, CN=X` and
/// `CN=X,O=财政部,C=CN` compare equal: producers write the RDNs in either order.
pub(crate) fn normalise_dn(dn: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in dn.chars() {
        match c {
            _ if escaped => {
                current.push(c);
                escaped = false;
            }
            '\\' => escaped = true,
            ',' | ';' | '+' => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    let mut out: Vec<String> = parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => format!("{}={}", k.trim().to_ascii_uppercase(), v.trim()),
            None => p.trim().to_owned(),
        })
        .collect();
    out.sort();
    out
}

/// A serial number as a bill writes it: hex (optionally `0x`, colons or spaces)
/// or decimal — the record does not say which, so a string of decimal digits is
/// compared both ways. A wrong match cannot pass: the signature is then checked
/// with that certificate's key.
struct SerialText {
    hex: Option<String>,
    decimal: Option<String>,
}

impl SerialText {
    fn parse(text: &str) -> Option<SerialText> {
        let t = text.trim();
        let t = t
            .strip_prefix("0x")
            .or_else(|| t.strip_prefix("0X"))
            .unwrap_or(t);
        let compact: String = t.chars().filter(|c| *c != ':' && *c != ' ').collect();
        if compact.is_empty() || compact.len() > 128 {
            return None;
        }
        let hex = compact
            .chars()
            .all(|c| c.is_ascii_hexdigit())
            .then(|| strip_zeros(&compact.to_ascii_lowercase()));
        let decimal = compact
            .chars()
            .all(|c| c.is_ascii_digit())
            .then(|| strip_zeros(&compact));
        (hex.is_some() || decimal.is_some()).then_some(SerialText { hex, decimal })
    }

    fn matches(&self, raw: &[u8], decimal: &str) -> bool {
        let cert_hex = strip_zeros(&crate::digest::hex(raw));
        self.hex.as_deref() == Some(cert_hex.as_str())
            || self.decimal.as_deref() == Some(strip_zeros(decimal).as_str())
    }
}

fn strip_zeros(s: &str) -> String {
    let t = s.trim_start_matches('0');
    if t.is_empty() { "0".into() } else { t.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_order_and_spacing_do_not_matter() {
        assert_eq!(
            normalise_dn("C=CN, O=财政部, CN=Test"),
            normalise_dn("cn=Test,O=财政部,C=CN")
        );
        assert_ne!(normalise_dn("CN=A,O=B"), normalise_dn("CN=A,O=C"));
        assert_eq!(normalise_dn("CN=a\\,b"), vec!["CN=a,b".to_owned()]);
    }

    #[test]
    fn serials_hex_or_decimal() {
        let s = SerialText::parse("4097");
        assert!(s.as_ref().is_some_and(|s| s.matches(&[0x10, 0x01], "4097")));
        let s = SerialText::parse("1001");
        assert!(s.as_ref().is_some_and(|s| s.matches(&[0x10, 0x01], "4097")));
        let s = SerialText::parse("0x00:10:01");
        assert!(s.as_ref().is_some_and(|s| s.matches(&[0x10, 0x01], "4097")));
        let s = SerialText::parse("1002");
        assert!(!s.as_ref().is_some_and(|s| s.matches(&[0x10, 0x01], "4097")));
        assert!(SerialText::parse("").is_none());
        assert!(SerialText::parse("xyz").is_none());
    }
}

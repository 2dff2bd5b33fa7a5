//! Just enough DER writing to build certificates, CRLs, seals and CMS by hand — and
//! to build them wrong on purpose. Primitive values are encoded by the `der` crate;
//! this module only nests them.

use der::Encode as _;
use time::OffsetDateTime;

use super::{MakerError, Result};

/// One element from its identifier octet and contents.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len().saturating_add(6));
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.extend(u8::try_from(len));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.extend(u8::try_from(significant.len()).map(|n| 0x80 | n));
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

/// SEQUENCE of already-encoded elements.
pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// SET OF, sorted as DER requires.
pub fn set_of(parts: &[&[u8]]) -> Vec<u8> {
    let mut sorted: Vec<&[u8]> = parts.to_vec();
    sorted.sort();
    tlv(0x31, &sorted.concat())
}

/// `[n] EXPLICIT` around an encoded element.
pub fn explicit(n: u8, inner: &[u8]) -> Vec<u8> {
    tlv(0xa0 | n, inner)
}

/// INTEGER.
pub fn int(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (Some(&b), Some(&next)) = (bytes.get(start), bytes.get(start + 1)) else {
            break;
        };
        let redundant = (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    tlv(0x02, bytes.get(start..).unwrap_or_default())
}

/// INTEGER from unsigned big-endian bytes (serials, r and s).
pub fn uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = {
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        bytes.get(skip..).unwrap_or_default()
    };
    let mut content = Vec::with_capacity(trimmed.len().saturating_add(1));
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(0x02, &content)
}

/// OBJECT IDENTIFIER from dotted text.
pub fn oid(dotted: &str) -> Result<Vec<u8>> {
    let oid = der::asn1::ObjectIdentifier::new(dotted).map_err(|_| MakerError::Encode("oid"))?;
    oid.to_der().map_err(|_| MakerError::Encode("oid"))
}

/// AlgorithmIdentifier without parameters.
pub fn alg_id(dotted: &str) -> Result<Vec<u8>> {
    Ok(seq(&[&oid(dotted)?]))
}

/// OCTET STRING.
pub fn octets(b: &[u8]) -> Vec<u8> {
    tlv(0x04, b)
}

/// BIT STRING of whole octets.
pub fn bits(b: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(b.len().saturating_add(1));
    content.push(0);
    content.extend_from_slice(b);
    tlv(0x03, &content)
}

/// IA5String.
pub fn ia5(s: &str) -> Vec<u8> {
    tlv(0x16, s.as_bytes())
}

/// UTF8String.
pub fn utf8(s: &str) -> Vec<u8> {
    tlv(0x0c, s.as_bytes())
}

/// PrintableString.
pub fn printable(s: &str) -> Vec<u8> {
    tlv(0x13, s.as_bytes())
}

/// BOOLEAN.
pub fn boolean(v: bool) -> Vec<u8> {
    tlv(0x01, &[if v { 0xff } else { 0x00 }])
}

/// `YYYYMMDDHHMMSSZ`, the text GeneralizedTime carries.
pub fn gen_time_text(t: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// GeneralizedTime.
pub fn gen_time(t: OffsetDateTime) -> Vec<u8> {
    tlv(0x18, gen_time_text(t).as_bytes())
}

/// UTCTime (years 1950–2049).
pub fn utc_time(t: OffsetDateTime) -> Vec<u8> {
    let text = gen_time_text(t);
    tlv(0x17, text.get(2..).unwrap_or_default().as_bytes())
}

/// The X.509 time form RFC 5280 asks for.
pub fn x509_time(t: OffsetDateTime) -> Vec<u8> {
    if t.year() < 2050 {
        utc_time(t)
    } else {
        gen_time(t)
    }
}

/// ECDSA/SM2 `SEQUENCE { r, s }` from raw `r‖s`.
pub fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    let (r, s) = raw.split_at(raw.len() / 2);
    seq(&[&uint(r), &uint(s)])
}

/// A distinguished name: C, O and CN.
pub fn name(country: &str, org: &str, cn: &str) -> Result<Vec<u8>> {
    let rdn = |attr: &str, value: Vec<u8>| -> Result<Vec<u8>> {
        Ok(set_of(&[&seq(&[&oid(attr)?, &value])]))
    };
    Ok(seq(&[
        &rdn("2.5.4.6", printable(country))?,
        &rdn("2.5.4.10", utf8(org))?,
        &rdn("2.5.4.3", utf8(cn))?,
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_minimal() {
        assert_eq!(int(0), vec![2, 1, 0]);
        assert_eq!(int(127), vec![2, 1, 127]);
        assert_eq!(int(128), vec![2, 2, 0, 128]);
        assert_eq!(int(-1), vec![2, 1, 0xff]);
        assert_eq!(uint(&[0, 0, 0x80]), vec![2, 2, 0, 0x80]);
        assert_eq!(uint(&[0, 1]), vec![2, 1, 1]);
    }

    #[test]
    fn long_lengths() {
        let v = tlv(0x04, &[0u8; 300]);
        assert_eq!(v.get(..4), Some(&[0x04, 0x82, 0x01, 0x2c][..]));
    }
}

//! Identifiers every part of yrdx agrees on, each parsed once into a type that
//! carries its invariant: regions, unified social credit codes (GB 32100), member
//! ids, resident identity numbers (GB 11643) and electronic licence identifiers
//! (GB/T 36904).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::IdentError;

/// One of the four members of the Yangtze River Delta federation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Region {
    /// Shanghai, 上海.
    Sh,
    /// Jiangsu, 江苏.
    Js,
    /// Zhejiang, 浙江.
    Zj,
    /// Anhui, 安徽.
    Ah,
}

impl Region {
    /// Every region, in the order the federation lists them.
    pub const ALL: [Region; 4] = [Region::Sh, Region::Js, Region::Zj, Region::Ah];

    /// The short code used in member ids and SAN URIs.
    pub fn code(self) -> &'static str {
        match self {
            Region::Sh => "sh",
            Region::Js => "js",
            Region::Zj => "zj",
            Region::Ah => "ah",
        }
    }

    /// The region's name in Chinese.
    pub fn name_zh(self) -> &'static str {
        match self {
            Region::Sh => "上海",
            Region::Js => "江苏",
            Region::Zj => "浙江",
            Region::Ah => "安徽",
        }
    }

    /// The region's name in English.
    pub fn name_en(self) -> &'static str {
        match self {
            Region::Sh => "Shanghai",
            Region::Js => "Jiangsu",
            Region::Zj => "Zhejiang",
            Region::Ah => "Anhui",
        }
    }

    /// The first two digits of the region's GB/T 2260 administrative area codes.
    pub fn area_prefix(self) -> &'static str {
        match self {
            Region::Sh => "31",
            Region::Js => "32",
            Region::Zj => "33",
            Region::Ah => "34",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Region {
    type Err = IdentError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sh" => Ok(Region::Sh),
            "js" => Ok(Region::Js),
            "zj" => Ok(Region::Zj),
            "ah" => Ok(Region::Ah),
            _ => Err(IdentError::UnknownRegion(s.chars().take(16).collect())),
        }
    }
}

/// The alphabet of GB 32100 codes: digits and capitals without I, O, Z, S, V.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A unified social credit code (统一社会信用代码, GB 32100-2015).
///
// INVARIANT: exactly 18 characters of the GB 32100 alphabet with a correct check
// character in position 18.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

impl Uscc {
    /// Parses and checks a code. Lower-case input is not accepted: the code is
    /// written in capitals on every licence and register.
    pub fn parse(s: &str) -> Result<Self, IdentError> {
        let bytes = s.as_bytes();
        if bytes.len() != 18 {
            return Err(IdentError::UsccLength(s.chars().count()));
        }
        let mut sum = 0u32;
        for (pos, (&b, w)) in bytes.iter().zip(USCC_WEIGHTS).enumerate() {
            let v = uscc_value(b).ok_or(IdentError::UsccCharacter { position: pos + 1 })?;
            sum += v * w;
        }
        let expected_value = (31 - sum % 31) % 31;
        let expected = USCC_ALPHABET
            .get(expected_value as usize)
            .copied()
            .ok_or(IdentError::UsccCharacter { position: 18 })?;
        let got = bytes.get(17).copied().unwrap_or_default();
        if uscc_value(got).is_none() {
            return Err(IdentError::UsccCharacter { position: 18 });
        }
        if got != expected {
            return Err(IdentError::UsccCheck {
                expected: char::from(expected),
                got: char::from(got),
            });
        }
        Ok(Uscc(s.to_owned()))
    }

    /// Computes the check character for the first 17 characters of a code.
    /// Useful to tools that make codes (test PKI, fixtures).
    pub fn check_char(first17: &str) -> Result<char, IdentError> {
        let bytes = first17.as_bytes();
        if bytes.len() != 17 {
            return Err(IdentError::UsccLength(first17.chars().count() + 1));
        }
        let mut sum = 0u32;
        for (pos, (&b, w)) in bytes.iter().zip(USCC_WEIGHTS).enumerate() {
            sum += uscc_value(b).ok_or(IdentError::UsccCharacter { position: pos + 1 })? * w;
        }
        let idx = ((31 - sum % 31) % 31) as usize;
        USCC_ALPHABET
            .get(idx)
            .map(|&b| char::from(b))
            .ok_or(IdentError::UsccCharacter { position: 18 })
    }

    /// The code as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Positions 3–8: the GB/T 2260 area code of the registering authority.
    pub fn area_code(&self) -> &str {
        self.0.get(2..8).unwrap_or_default()
    }
}

fn uscc_value(b: u8) -> Option<u32> {
    USCC_ALPHABET
        .iter()
        .position(|&c| c == b)
        .and_then(|p| u32::try_from(p).ok())
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uscc({})", self.0)
    }
}

impl FromStr for Uscc {
    type Err = IdentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uscc::parse(s)
    }
}

/// A federation member: `{region}:{uscc}[:{subsystem}]`, e.g.
/// `zj:11330000002482028A:licence`.
///
// INVARIANT: the subsystem, when present, is 1–32 characters of `[a-z0-9-]`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId {
    region: Region,
    uscc: Uscc,
    subsystem: Option<String>,
}

/// The URI scheme prefix of member certificates' SAN.
pub const MEMBER_URI_PREFIX: &str = "urn:yrdx:";

impl MemberId {
    /// Builds a member id from its parts.
    pub fn new(region: Region, uscc: Uscc, subsystem: Option<&str>) -> Result<Self, IdentError> {
        if let Some(sub) = subsystem {
            check_subsystem(sub)?;
        }
        Ok(MemberId {
            region,
            uscc,
            subsystem: subsystem.map(str::to_owned),
        })
    }

    /// Parses `{region}:{uscc}[:{subsystem}]`.
    pub fn parse(s: &str) -> Result<Self, IdentError> {
        if s.len() > 64 {
            return Err(IdentError::MemberSyntax);
        }
        let mut parts = s.split(':');
        let region = parts.next().ok_or(IdentError::MemberSyntax)?.parse()?;
        let uscc = Uscc::parse(parts.next().ok_or(IdentError::MemberSyntax)?)?;
        let subsystem = parts.next();
        if parts.next().is_some() {
            return Err(IdentError::MemberSyntax);
        }
        MemberId::new(region, uscc, subsystem)
    }

    /// Parses a certificate SAN URI `urn:yrdx:{region}:{uscc}[:{subsystem}]`.
    pub fn from_uri(uri: &str) -> Result<Self, IdentError> {
        let rest = uri
            .strip_prefix(MEMBER_URI_PREFIX)
            .ok_or(IdentError::NotAMemberUri)?;
        MemberId::parse(rest)
    }

    /// The SAN URI that names this member in its certificate.
    pub fn to_uri(&self) -> String {
        format!("{MEMBER_URI_PREFIX}{self}")
    }

    /// The member's region.
    pub fn region(&self) -> Region {
        self.region
    }

    /// The member's unified social credit code.
    pub fn uscc(&self) -> &Uscc {
        &self.uscc
    }

    /// The subsystem, e.g. `licence`, if the member is one system of an organisation.
    pub fn subsystem(&self) -> Option<&str> {
        self.subsystem.as_deref()
    }
}

fn check_subsystem(sub: &str) -> Result<(), IdentError> {
    let ok = !sub.is_empty()
        && sub.len() <= 32
        && sub
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(IdentError::Subsystem)
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.region, self.uscc)?;
        if let Some(sub) = &self.subsystem {
            write!(f, ":{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemberId({self})")
    }
}

impl FromStr for MemberId {
    type Err = IdentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MemberId::parse(s)
    }
}

impl Serialize for MemberId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MemberId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        MemberId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Uscc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Uscc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Uscc::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Region {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// Checks a resident identity number (GB 11643-1999): 17 digits and a check
/// character. Returns the expected check character on mismatch. The number is
/// personal data: callers never log it.
pub fn check_resident_id(s: &str) -> Result<(), IdentError> {
    let bytes = s.as_bytes();
    if bytes.len() != 18 {
        return Err(IdentError::ResidentIdLength(s.chars().count()));
    }
    let mut sum = 0u32;
    for (pos, (&b, w)) in bytes.iter().zip(ID_WEIGHTS).enumerate() {
        if !b.is_ascii_digit() {
            return Err(IdentError::ResidentIdCharacter { position: pos + 1 });
        }
        sum += u32::from(b - b'0') * w;
    }
    let expected = ID_CHECK.get((sum % 11) as usize).copied().unwrap_or(b'?');
    let got = bytes.get(17).copied().unwrap_or_default();
    if got != expected {
        return Err(IdentError::ResidentIdCheck {
            expected: char::from(expected),
        });
    }
    Ok(())
}

/// The fixed root of every electronic licence identifier.
pub const LICENCE_ID_ROOT: &str = "1.2.156.3005.2";

/// An electronic licence identifier (电子证照标识, GB/T 36904):
/// `1.2.156.3005.2.{type}.{issuer}.{serial}.{version}.{check}`.
///
// INVARIANT: the check character is correct (ISO/IEC 7064 MOD 37,36 over type,
// issuer, serial and version concatenated), the type is a USCC plus three digits,
// the version is three digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LicenceId {
    text: String,
    type_code: String,
    issuer: String,
    serial: String,
    version: String,
}

impl LicenceId {
    /// Parses and checks an identifier.
    pub fn parse(s: &str) -> Result<Self, IdentError> {
        if s.len() > 160 {
            return Err(IdentError::LicenceSyntax("longer than 160 characters"));
        }
        let rest = s
            .strip_prefix(LICENCE_ID_ROOT)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or(IdentError::LicenceSyntax(
                "does not start with 1.2.156.3005.2.",
            ))?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [type_code, issuer, serial, version, check] = parts.as_slice() else {
            return Err(IdentError::LicenceSyntax(
                "expected five dot-separated parts after the root: type.issuer.serial.version.check",
            ));
        };
        let (ministry, number) =
            type_code
                .split_at_checked(18)
                .ok_or(IdentError::LicenceSyntax(
                    "type is not a USCC followed by three digits",
                ))?;
        Uscc::parse(ministry)?;
        if number.len() != 3 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentError::LicenceSyntax(
                "type is not a USCC followed by three digits",
            ));
        }
        let issuer_ok = Uscc::parse(issuer).is_ok()
            || (issuer.len() == 6 && issuer.bytes().all(|b| b.is_ascii_digit()));
        if !issuer_ok {
            return Err(IdentError::LicenceSyntax(
                "issuer is neither a USCC nor a six-digit area code",
            ));
        }
        if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(IdentError::LicenceSyntax(
                "serial is empty or not alphanumeric",
            ));
        }
        if version.len() != 3 || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentError::LicenceSyntax("version is not three digits"));
        }
        let body = format!("{type_code}{issuer}{serial}{version}");
        let expected =
            mod37_36_check(&body).ok_or(IdentError::LicenceSyntax("characters outside 0-9A-Z"))?;
        let got = match check.as_bytes() {
            [c] => char::from(*c),
            _ => return Err(IdentError::LicenceSyntax("check is not one character")),
        };
        if got != expected {
            return Err(IdentError::LicenceCheck { expected, got });
        }
        Ok(LicenceId {
            text: s.to_owned(),
            type_code: (*type_code).to_owned(),
            issuer: (*issuer).to_owned(),
            serial: (*serial).to_owned(),
            version: (*version).to_owned(),
        })
    }

    /// Builds an identifier from its parts, computing the check character.
    pub fn build(
        type_code: &str,
        issuer: &str,
        serial: &str,
        version: &str,
    ) -> Result<Self, IdentError> {
        let body = format!("{type_code}{issuer}{serial}{version}");
        let check =
            mod37_36_check(&body).ok_or(IdentError::LicenceSyntax("characters outside 0-9A-Z"))?;
        LicenceId::parse(&format!(
            "{LICENCE_ID_ROOT}.{type_code}.{issuer}.{serial}.{version}.{check}"
        ))
    }

    /// The identifier as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The licence type: the defining ministry's USCC and a three-digit number.
    pub fn type_code(&self) -> &str {
        &self.type_code
    }

    /// The issuing body's USCC, or a six-digit area code.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The issuer's free-form serial.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The three-digit version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The region whose authority issued the licence, from the area code inside
    /// the issuer (USCC positions 3–4, or the area code's first two digits).
    pub fn issuing_region(&self) -> Option<Region> {
        let area = if self.issuer.len() == 18 {
            self.issuer.get(2..4)
        } else {
            self.issuer.get(0..2)
        }?;
        Region::ALL.into_iter().find(|r| r.area_prefix() == area)
    }
}

impl fmt::Display for LicenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for LicenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LicenceId({})", self.text)
    }
}

/// ISO/IEC 7064 MOD 37,36 (hybrid system over 0-9A-Z): the check character that
/// makes the whole string check to 1. `None` if a character is outside 0-9A-Z.
pub fn mod37_36_check(s: &str) -> Option<char> {
    const M: u32 = 36;
    let mut p = M;
    for b in s.bytes() {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return None,
        };
        let mut sum = (p + v) % M;
        if sum == 0 {
            sum = M;
        }
        p = (sum * 2) % (M + 1);
    }
    let check = (M + 1 - p) % M;
    char::from_digit(check, 36).map(|c| c.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn real_uscc_codes_check() {
        for code in [
            "11330105002500287C",
            "11100000000013338W",
            "91350100M000100Y43",
            "11330000002482028A",
        ] {
            Uscc::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
        }
    }

    #[test]
    fn uscc_rejects_wrong_check_length_and_alphabet() {
        assert_eq!(
            Uscc::parse("11330105002500287D"),
            Err(IdentError::UsccCheck {
                expected: 'C',
                got: 'D'
            })
        );
        assert_eq!(
            Uscc::parse("1133010500250028"),
            Err(IdentError::UsccLength(16))
        );
        assert_eq!(
            Uscc::parse("1133010500I500287C"),
            Err(IdentError::UsccCharacter { position: 11 })
        );
        assert!(Uscc::parse("11330105002500287c").is_err());
        assert!(Uscc::parse("１１330105002500287C").is_err());
    }

    #[test]
    fn member_ids_round_trip_through_uris() {
        let m = MemberId::from_uri("urn:yrdx:zj:11330000002482028A:licence").unwrap();
        assert_eq!(m.region(), Region::Zj);
        assert_eq!(m.subsystem(), Some("licence"));
        assert_eq!(m.to_string(), "zj:11330000002482028A:licence");
        assert_eq!(MemberId::from_uri(&m.to_uri()).unwrap(), m);
    }

    #[test]
    fn member_ids_reject_bad_parts() {
        assert!(MemberId::parse("gd:11330000002482028A").is_err());
        assert!(MemberId::parse("zj:11330000002482028A:Licence").is_err());
        assert!(MemberId::parse("zj:11330000002482028A:a:b").is_err());
        assert!(MemberId::parse("zj:11330000002482028A:").is_err());
        assert!(MemberId::from_uri("urn:other:zj:11330000002482028A").is_err());
    }

    #[test]
    fn resident_id_check() {
        // The GB 11643 worked example.
        check_resident_id("11010519491231002X").unwrap();
        assert_eq!(
            check_resident_id("110105194912310021"),
            Err(IdentError::ResidentIdCheck { expected: 'X' })
        );
        assert!(check_resident_id("11010519491231002").is_err());
    }

    #[test]
    fn real_licence_identifier_checks() {
        let id = LicenceId::parse(
            "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
        )
        .unwrap();
        assert_eq!(id.issuer(), "11330105002500287C");
        assert_eq!(id.issuing_region(), Some(Region::Zj));
        assert_eq!(id.version(), "002");
    }

    #[test]
    fn licence_identifier_with_wrong_check_is_refused() {
        let err = LicenceId::parse(
            "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.1",
        )
        .unwrap_err();
        assert_eq!(
            err,
            IdentError::LicenceCheck {
                expected: '0',
                got: '1'
            }
        );
        assert!(LicenceId::parse("1.2.156.3005.2.x").is_err());
        assert!(LicenceId::parse("").is_err());
    }

    proptest! {
        #[test]
        fn computed_uscc_check_chars_always_parse(body in "[0-9A-HJ-NP-RTUWXY]{17}") {
            let c = Uscc::check_char(&body).unwrap();
            let code = format!("{body}{c}");
            prop_assert!(Uscc::parse(&code).is_ok());
        }

        #[test]
        fn uscc_single_substitution_is_detected(body in "[0-9A-HJ-NP-RTUWXY]{17}", pos in 0usize..17, d in 1u32..31) {
            let c = Uscc::check_char(&body).unwrap();
            let mut bytes = format!("{body}{c}").into_bytes();
            let v = uscc_value(bytes[pos]).unwrap();
            bytes[pos] = USCC_ALPHABET[((v + d) % 31) as usize];
            let s = String::from_utf8(bytes).unwrap();
            prop_assert!(Uscc::parse(&s).is_err());
        }

        #[test]
        fn mod37_36_detects_single_substitutions(s in "[0-9A-Z]{5,40}", pos in 0usize..5, d in 1u8..36) {
            let c = mod37_36_check(&s).unwrap();
            let mut bytes = s.clone().into_bytes();
            let v = u8::try_from(char::from(bytes[pos]).to_digit(36).unwrap()).unwrap();
            let nv = (v + d) % 36;
            bytes[pos] = u8::try_from(char::from_digit(u32::from(nv), 36).unwrap().to_ascii_uppercase()).unwrap();
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert_ne!(mod37_36_check(&changed).unwrap(), c);
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,80}") {
            let _ = Uscc::parse(&s);
            let _ = MemberId::parse(&s);
            let _ = LicenceId::parse(&s);
            let _ = check_resident_id(&s);
        }
    }
}

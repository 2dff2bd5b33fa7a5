//! A small DER element reader on top of the `der` crate.
//!
//! Seals are signed over the bytes a producer wrote, so every element keeps the slice
//! it was read from (`raw`) and its absolute byte offset in the outermost input: a
//! signature is checked over `raw`, never over a re-encoding, and an error points at
//! the byte where it happened. `der` does the strict work (tag and length octets,
//! minimal lengths, no indefinite form); this module only walks the elements and
//! reads the handful of primitive types seals use, tolerating what real producers
//! write where the standards allow it.

use der::{Decode, Header, Reader, SliceReader};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::error::{Asn1Error, Asn1ErrorKind};

/// Universal and context tags used in seals, certificates and CMS.
pub(crate) mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OID: u8 = 0x06;
    pub const UTF8_STRING: u8 = 0x0c;
    pub const PRINTABLE_STRING: u8 = 0x13;
    pub const IA5_STRING: u8 = 0x16;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
    pub const CONTEXT_0: u8 = 0xa0;
    pub const CONTEXT_1: u8 = 0xa1;
}

/// One DER element as received.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet (only low tag numbers are ever expected).
    pub tag: u8,
    /// Identifier, length and contents octets, exactly as received.
    pub raw: &'a [u8],
    /// The contents octets.
    pub value: &'a [u8],
    /// Offset of the identifier octet in the outermost input.
    pub offset: usize,
}

impl<'a> Tlv<'a> {
    /// Reads exactly one element that fills `input`.
    pub fn parse_whole(input: &'a [u8], path: &'static str) -> Result<Tlv<'a>, Asn1Error> {
        let (tlv, rest) = Tlv::parse_first(input, 0, path)?;
        if !rest.is_empty() {
            return Err(Asn1Error::new(
                path,
                tlv.raw.len(),
                Asn1ErrorKind::TrailingData { count: rest.len() },
            ));
        }
        Ok(tlv)
    }

    /// Reads the first element of `input` (which starts at absolute `offset`) and
    /// returns it with what follows.
    pub fn parse_first(
        input: &'a [u8],
        offset: usize,
        path: &'static str,
    ) -> Result<(Tlv<'a>, &'a [u8]), Asn1Error> {
        let fail = |kind| Asn1Error::new(path, offset, kind);
        let Some(&tag) = input.first() else {
            return Err(fail(Asn1ErrorKind::Missing));
        };
        let mut reader = SliceReader::new(input).map_err(|e| fail(der_kind(e)))?;
        let header = Header::decode(&mut reader).map_err(|e| fail(der_kind(e)))?;
        let header_len =
            usize::try_from(reader.position()).map_err(|_| fail(Asn1ErrorKind::TooLarge))?;
        let value = reader
            .read_slice(header.length())
            .map_err(|e| fail(der_kind(e)))?;
        let total = header_len
            .checked_add(value.len())
            .ok_or(fail(Asn1ErrorKind::TooLarge))?;
        let (raw, rest) = input
            .split_at_checked(total)
            .ok_or(fail(Asn1ErrorKind::Truncated))?;
        Ok((
            Tlv {
                tag,
                raw,
                value,
                offset,
            },
            rest,
        ))
    }

    /// Offset of the contents octets in the outermost input.
    pub fn value_offset(&self) -> usize {
        self.offset
            .saturating_add(self.raw.len().saturating_sub(self.value.len()))
    }

    /// Fails unless the element has tag `expected`.
    pub fn require_tag(
        self,
        expected: u8,
        what: &'static str,
        path: &'static str,
    ) -> Result<Self, Asn1Error> {
        if self.tag == expected {
            Ok(self)
        } else {
            Err(self.unexpected(what, path))
        }
    }

    /// The contents of an OCTET STRING; fails for an element with another tag.
    pub fn octets(self, path: &'static str) -> Result<&'a [u8], Asn1Error> {
        Ok(self
            .require_tag(tag::OCTET_STRING, "OCTET STRING", path)?
            .value)
    }

    /// The error for an element with the wrong tag.
    pub fn unexpected(&self, what: &'static str, path: &'static str) -> Asn1Error {
        Asn1Error::new(
            path,
            self.offset,
            Asn1ErrorKind::UnexpectedTag {
                expected: what,
                found: self.tag,
            },
        )
    }

    /// The children of a constructed element.
    pub fn children(&self, path: &'static str) -> Children<'a> {
        Children {
            rest: self.value,
            offset: self.value_offset(),
            path,
            parent_end: self.offset.saturating_add(self.raw.len()),
        }
    }

    /// Counts the children of a constructed element (without keeping them).
    pub fn count_children(&self, path: &'static str) -> Result<usize, Asn1Error> {
        let mut children = self.children(path);
        let mut count = 0usize;
        while children.next_opt()?.is_some() {
            count = count.saturating_add(1);
        }
        Ok(count)
    }

    /// A BIT STRING's bits; producers only ever write whole octets.
    pub fn bit_string_bytes(&self, path: &'static str) -> Result<&'a [u8], Asn1Error> {
        let (&unused, bytes) = self.value.split_first().ok_or(Asn1Error::new(
            path,
            self.offset,
            Asn1ErrorKind::Empty,
        ))?;
        if unused != 0 {
            return Err(Asn1Error::new(
                path,
                self.value_offset(),
                Asn1ErrorKind::UnusedBits(unused),
            ));
        }
        Ok(bytes)
    }

    /// An INTEGER that fits an `i64` (seal versions, types, picture sizes).
    pub fn small_int(&self, path: &'static str) -> Result<i64, Asn1Error> {
        let fail = |kind| Asn1Error::new(path, self.offset, kind);
        if self.tag != tag::INTEGER {
            return Err(self.unexpected("INTEGER", path));
        }
        if self.value.is_empty() {
            return Err(fail(Asn1ErrorKind::Empty));
        }
        if self.value.len() > 8 {
            return Err(fail(Asn1ErrorKind::IntegerRange));
        }
        let negative = self.value.first().is_some_and(|b| b & 0x80 != 0);
        let mut v: i64 = if negative { -1 } else { 0 };
        for &b in self.value {
            v = (v << 8) | i64::from(b);
        }
        Ok(v)
    }

    /// A text string of one of the string types seals use, as UTF-8.
    pub fn text(&self, what: &'static str, path: &'static str) -> Result<&'a str, Asn1Error> {
        match self.tag {
            tag::IA5_STRING | tag::PRINTABLE_STRING | tag::UTF8_STRING => {
                std::str::from_utf8(self.value).map_err(|e| {
                    Asn1Error::new(
                        path,
                        self.value_offset().saturating_add(e.valid_up_to()),
                        Asn1ErrorKind::BadString,
                    )
                })
            }
            _ => Err(self.unexpected(what, path)),
        }
    }

    /// An OBJECT IDENTIFIER.
    pub fn oid(&self, path: &'static str) -> Result<der::asn1::ObjectIdentifier, Asn1Error> {
        if self.tag != tag::OID {
            return Err(self.unexpected("OBJECT IDENTIFIER", path));
        }
        der::asn1::ObjectIdentifier::from_der(self.raw)
            .map_err(|e| Asn1Error::new(path, self.offset, der_kind(e)))
    }

    /// A UTCTime or GeneralizedTime, as an instant.
    pub fn time(&self, path: &'static str) -> Result<OffsetDateTime, Asn1Error> {
        let parsed = match self.tag {
            tag::UTC_TIME => parse_utc_time(self.value),
            tag::GENERALIZED_TIME => parse_generalized_time(self.value),
            _ => return Err(self.unexpected("UTCTime or GeneralizedTime", path)),
        };
        parsed.ok_or(Asn1Error::new(
            path,
            self.value_offset(),
            Asn1ErrorKind::BadTime,
        ))
    }
}

/// Walks the children of one constructed element, in order.
#[derive(Debug)]
pub(crate) struct Children<'a> {
    rest: &'a [u8],
    offset: usize,
    path: &'static str,
    parent_end: usize,
}

impl<'a> Children<'a> {
    /// The next child, if any.
    pub fn next_opt(&mut self) -> Result<Option<Tlv<'a>>, Asn1Error> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let (tlv, rest) = Tlv::parse_first(self.rest, self.offset, self.path)?;
        self.offset = self.offset.saturating_add(tlv.raw.len());
        self.rest = rest;
        Ok(Some(tlv))
    }

    /// The next child, which must be there.
    pub fn next(&mut self, what: &'static str, path: &'static str) -> Result<Tlv<'a>, Asn1Error> {
        self.next_opt()?.ok_or(Asn1Error::new(
            path,
            self.parent_end,
            Asn1ErrorKind::MissingElement(what),
        ))
    }

    /// The next child if it has tag `tag`.
    pub fn next_if(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, Asn1Error> {
        if self.rest.first() == Some(&tag) {
            self.next_opt()
        } else {
            Ok(None)
        }
    }

    /// Fails if anything is left.
    pub fn finish(self, path: &'static str) -> Result<(), Asn1Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Asn1Error::new(
                path,
                self.offset,
                Asn1ErrorKind::TrailingData {
                    count: self.rest.len(),
                },
            ))
        }
    }
}

/// Maps a `der` error to ours, keeping truncation apart: it is its own vector.
fn der_kind(e: der::Error) -> Asn1ErrorKind {
    match e.kind() {
        der::ErrorKind::Incomplete { .. } => Asn1ErrorKind::Truncated,
        kind => Asn1ErrorKind::Der(kind),
    }
}

/// `YYMMDDHHMM[SS]Z`; years below 50 are 20YY (RFC 5280).
pub(crate) fn parse_utc_time(text: &[u8]) -> Option<OffsetDateTime> {
    let (zulu, body) = text.split_last()?;
    if *zulu != b'Z' || !(body.len() == 10 || body.len() == 12) {
        return None;
    }
    let yy = digits(body.get(0..2)?)?;
    let year = if yy < 50 { 2000 + yy } else { 1900 + yy };
    civil(year, body.get(2..)?)
}

/// `YYYYMMDDHHMM[SS][.f…]Z`, the form seals and timestamp tokens use. Fractions of a
/// second are accepted (RFC 3161 allows them) and dropped.
pub(crate) fn parse_generalized_time(text: &[u8]) -> Option<OffsetDateTime> {
    let (zulu, body) = text.split_last()?;
    if *zulu != b'Z' {
        return None;
    }
    let (whole, fraction) = match body.iter().position(|&b| b == b'.' || b == b',') {
        Some(dot) => (body.get(..dot)?, body.get(dot.checked_add(1)?..)?),
        None => (body, &[][..]),
    };
    if !fraction.iter().all(u8::is_ascii_digit)
        || (body.len() != whole.len() && fraction.is_empty())
    {
        return None;
    }
    if !(whole.len() == 12 || whole.len() == 14) {
        return None;
    }
    let year = digits(whole.get(0..4)?)?;
    civil(year, whole.get(4..)?)
}

/// `MMDDHHMM[SS]` after the year.
fn civil(year: u32, rest: &[u8]) -> Option<OffsetDateTime> {
    let month = u8::try_from(digits(rest.get(0..2)?)?).ok()?;
    let day = u8::try_from(digits(rest.get(2..4)?)?).ok()?;
    let hour = u8::try_from(digits(rest.get(4..6)?)?).ok()?;
    let minute = u8::try_from(digits(rest.get(6..8)?)?).ok()?;
    let second = match rest.get(8..10) {
        Some(s) => u8::try_from(digits(s)?).ok()?,
        None => 0,
    };
    let date =
        Date::from_calendar_date(i32::try_from(year).ok()?, Month::try_from(month).ok()?, day)
            .ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

fn digits(ascii: &[u8]) -> Option<u32> {
    ascii.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_elements_with_offsets() {
        // SEQUENCE { INTEGER 5, OCTET STRING 01 02 }
        let input = [0x30, 0x07, 0x02, 0x01, 0x05, 0x04, 0x02, 0x01, 0x02];
        let seq = Tlv::parse_whole(&input, "t").unwrap();
        let mut c = seq.children("t");
        let int = c.next("int", "t").unwrap();
        assert_eq!(int.small_int("t").unwrap(), 5);
        assert_eq!(int.offset, 2);
        let os = c.next("os", "t").unwrap();
        assert_eq!(os.offset, 5);
        assert_eq!(os.value, &[1, 2]);
        assert!(c.next_opt().unwrap().is_none());
    }

    #[test]
    fn truncation_is_its_own_error() {
        let input = [0x30, 0x07, 0x02, 0x01];
        let err = Tlv::parse_whole(&input, "t").unwrap_err();
        assert_eq!(err.kind, Asn1ErrorKind::Truncated);
    }

    #[test]
    fn negative_and_long_integers() {
        let neg = Tlv::parse_whole(&[0x02, 0x01, 0xff], "t").unwrap();
        assert_eq!(neg.small_int("t").unwrap(), -1);
        let long = Tlv::parse_whole(&[0x02, 0x09, 1, 0, 0, 0, 0, 0, 0, 0, 0], "t").unwrap();
        assert_eq!(
            long.small_int("t").unwrap_err().kind,
            Asn1ErrorKind::IntegerRange
        );
    }

    #[test]
    fn times() {
        let t = parse_generalized_time(b"20250601080000Z").unwrap();
        assert_eq!(t.unix_timestamp(), 1_748_764_800);
        assert_eq!(parse_generalized_time(b"20250601080000.123Z"), Some(t));
        assert_eq!(parse_utc_time(b"250601080000Z"), Some(t));
        assert_eq!(parse_generalized_time(b"20250601080000"), None);
        assert_eq!(parse_generalized_time(b"20251301080000Z"), None);
        assert_eq!(parse_generalized_time(b"20250601080000.Z"), None);
        assert_eq!(parse_utc_time(b"491231235959Z").unwrap().year(), 2049);
    }
}

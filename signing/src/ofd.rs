//! OFD signed documents (GB/T 33190): a ZIP package whose signatures are listed in
//! `Doc_N/Signs/Signatures.xml`, each `Sign_M/` folder holding `Signature.xml`, the
//! DER SES_Signature in `SignedValue.dat` and often the seal in `Seal.esl`.
//!
//! A package is hostile input: before anything is parsed, the entry count, every
//! entry's inflated size, the total inflated size and the compression ratio are
//! bounded ([`OfdLimits`]) and entry names that are absolute or climb out of the
//! package are refused. Sizes are counted while inflating, never taken from the
//! headers on trust.
//!
//! Verifying a signature: every file its `References` list hashes to its
//! `CheckValue` (step 5), `Seal.esl` equals the seal inside the signature (step 6),
//! then the SES_Signature over the bytes of `Signature.xml` (all seven steps).

use std::collections::BTreeMap;
use std::io::Read as _;

use base64::Engine as _;
use quick_xml::events::Event;
use serde::Serialize;
use time::OffsetDateTime;

use crate::digest::HashAlg;
use crate::error::OfdError;
use crate::report::{Finding, Outcome, VerificationReport};
use crate::ses::parse_signature;
use crate::verify::{Extra, verify_signature_with};
use crate::x509::TrustStore;

/// Bounds on what an OFD package may make the reader do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfdLimits {
    /// Entries in the ZIP central directory (directories included).
    pub max_entries: usize,
    /// Inflated size of one entry, in bytes.
    pub max_entry_size: u64,
    /// Inflated size of all entries together, in bytes.
    pub max_total_size: u64,
    /// Inflated-to-compressed ratio above which an entry is a zip bomb…
    pub max_ratio: u64,
    /// …once it has inflated to more than this many bytes (small files compress
    /// well without being bombs).
    pub ratio_floor: u64,
    /// Signatures per document.
    pub max_signatures: usize,
}

impl Default for OfdLimits {
    fn default() -> Self {
        OfdLimits {
            max_entries: 1024,
            max_entry_size: 64 * 1024 * 1024,
            max_total_size: 256 * 1024 * 1024,
            max_ratio: 100,
            ratio_floor: 1024 * 1024,
            max_signatures: 64,
        }
    }
}

/// The report on an OFD document: one verification report per signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OfdReport {
    /// The overall result: invalid if any signature is, else indeterminate if any
    /// is, else valid.
    pub result: Outcome,
    /// Each signature, in the order Signatures.xml lists them.
    pub signatures: Vec<OfdSignatureReport>,
}

impl OfdReport {
    /// The overall result.
    pub fn outcome(&self) -> Outcome {
        self.result
    }

    /// One audit-log summary per signature, in order.
    pub fn summaries(&self) -> Vec<crate::report::Summary> {
        self.signatures.iter().map(|s| s.report.summary()).collect()
    }
}

/// One signature of an OFD document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OfdSignatureReport {
    /// The document's root file (`Doc_0/Document.xml`).
    pub doc_root: String,
    /// The signature's Signature.xml in the package.
    pub signature_xml: String,
    /// Whether the SES_Signature's propertyInfo names that Signature.xml.
    pub property_info_matches: bool,
    /// Each referenced file and how it compared.
    pub references: Vec<ReferenceCheck>,
    /// Whether a Seal.esl was present and compared.
    pub seal_file: Option<String>,
    /// Package files that no reference of this signature covers (outside its own
    /// Sign folder and Signatures.xml); reported, not judged.
    pub unprotected: Vec<String>,
    /// The seven steps.
    pub report: VerificationReport,
}

/// One `Reference` of a Signature.xml.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReferenceCheck {
    /// The FileRef as written.
    pub file_ref: String,
    /// The entry it resolved to, if any.
    pub resolved: Option<String>,
    /// `ok`, `mismatch`, `missing` or `bad_check_value`.
    pub status: &'static str,
}

/// Verifies every signature of an OFD package with the default limits.
pub fn verify_ofd(
    package: &[u8],
    trust: &TrustStore,
    at: OffsetDateTime,
) -> Result<OfdReport, OfdError> {
    verify_ofd_with_limits(package, trust, at, &OfdLimits::default())
}

/// Verifies every signature of an OFD package.
///
/// `Err` means the package itself could not be read safely (not a ZIP, over a
/// limit, unsafe names, no OFD.xml, no signatures); each signature's own problems
/// are in its report.
pub fn verify_ofd_with_limits(
    package: &[u8],
    trust: &TrustStore,
    at: OffsetDateTime,
    limits: &OfdLimits,
) -> Result<OfdReport, OfdError> {
    let pkg = Package::read(package, limits)?;
    let ofd_xml = pkg.get("OFD.xml")?;
    let root = Xml::parse("OFD.xml", ofd_xml)?;
    let bodies: Vec<&Xml> = root.find_all("DocBody");
    let mut signatures = Vec::new();
    for body in bodies {
        let Some(doc_root_loc) = body.child("DocRoot").map(|e| e.text.as_str()) else {
            return Err(OfdError::MissingElement {
                path: "OFD.xml".into(),
                element: "DocBody/DocRoot",
            });
        };
        let doc_root = pkg.resolve("", doc_root_loc, "").ok_or(OfdError::Missing {
            path: doc_root_loc.trim().to_owned(),
        })?;
        let doc_dir = parent(&doc_root).to_owned();
        let list_path = match body.child("Signatures").map(|e| e.text.as_str()) {
            Some(loc) => pkg.resolve("", loc, &doc_dir),
            None => pkg.resolve(&doc_dir, "Signs/Signatures.xml", ""),
        };
        let Some(list_path) = list_path else { continue };
        let list = Xml::parse(&list_path, pkg.get(&list_path)?)?;
        let entries = list.find_all("Signature");
        if entries.len() > limits.max_signatures {
            return Err(OfdError::TooManySignatures {
                count: entries.len(),
                max: limits.max_signatures,
            });
        }
        for entry in entries {
            let Some(base_loc) = entry.attr("BaseLoc") else {
                return Err(OfdError::MissingElement {
                    path: list_path.clone(),
                    element: "Signature@BaseLoc",
                });
            };
            let sig_path =
                pkg.resolve(parent(&list_path), base_loc, &doc_dir)
                    .ok_or(OfdError::Missing {
                        path: base_loc.trim().to_owned(),
                    })?;
            signatures.push(verify_one(
                &pkg, &doc_root, &doc_dir, &list_path, &sig_path, trust, at,
            )?);
        }
    }
    if signatures.is_empty() {
        return Err(OfdError::Unsigned);
    }
    let outcomes: Vec<Outcome> = signatures.iter().map(|s| s.report.outcome()).collect();
    let result = if outcomes.contains(&Outcome::Invalid) {
        Outcome::Invalid
    } else if outcomes.contains(&Outcome::Indeterminate) {
        Outcome::Indeterminate
    } else {
        Outcome::Valid
    };
    Ok(OfdReport { result, signatures })
}

fn verify_one(
    pkg: &Package,
    doc_root: &str,
    doc_dir: &str,
    list_path: &str,
    sig_path: &str,
    trust: &TrustStore,
    at: OffsetDateTime,
) -> Result<OfdSignatureReport, OfdError> {
    let sig_xml = pkg.get(sig_path)?;
    let sig_dir = parent(sig_path);
    let doc = Xml::parse(sig_path, sig_xml)?;
    let signed_value_loc = doc
        .find_all("SignedValue")
        .first()
        .map(|e| e.text.clone())
        .ok_or(OfdError::MissingElement {
            path: sig_path.to_owned(),
            element: "SignedValue",
        })?;
    let signed_value_path =
        pkg.resolve(sig_dir, &signed_value_loc, doc_dir)
            .ok_or(OfdError::Missing {
                path: signed_value_loc.trim().to_owned(),
            })?;
    let signed_value = pkg.get(&signed_value_path)?;

    // Step 5's part: every referenced file against its CheckValue.
    let mut extra = Extra::default();
    let mut references = Vec::new();
    let mut covered: Vec<String> = Vec::new();
    match doc.find_all("References").first() {
        None => extra.data = Some(Finding::NoReferences),
        Some(refs) => {
            let method = refs.attr("CheckMethod").unwrap_or("1.2.156.10197.1.401");
            let hash = check_method(method);
            let items = refs.find_all("Reference");
            if items.is_empty() {
                extra.data = Some(Finding::NoReferences);
            }
            for item in items {
                let file_ref = item.attr("FileRef").unwrap_or_default().to_owned();
                let resolved = pkg.resolve(sig_dir, &file_ref, doc_dir);
                let check_value = item
                    .child("CheckValue")
                    .map(|c| c.text.as_str())
                    .unwrap_or_default();
                let (status, finding) = match (hash, &resolved) {
                    (None, _) => (
                        "unsupported",
                        Some(Finding::UnsupportedCheckMethod {
                            method: method.to_owned(),
                        }),
                    ),
                    (_, None) => (
                        "missing",
                        Some(Finding::ReferenceMissing {
                            file: file_ref.clone(),
                        }),
                    ),
                    (Some(hash), Some(path)) => {
                        covered.push(path.clone());
                        match decode_check_value(check_value) {
                            None => (
                                "bad_check_value",
                                Some(Finding::BadCheckValue {
                                    file: file_ref.clone(),
                                }),
                            ),
                            Some(expected)
                                if pkg.get(path).is_ok_and(|b| hash.hash(b) == expected) =>
                            {
                                ("ok", None)
                            }
                            Some(_) => (
                                "mismatch",
                                Some(Finding::ReferenceMismatch { file: path.clone() }),
                            ),
                        }
                    }
                };
                if extra.data.is_none() {
                    extra.data = finding;
                }
                references.push(ReferenceCheck {
                    file_ref,
                    resolved,
                    status,
                });
            }
        }
    }

    // Step 6's part: Seal.esl, when present, is the seal inside the signature.
    let seal_loc = doc
        .find_all("Seal")
        .first()
        .and_then(|s| s.child("BaseLoc"))
        .map(|b| b.text.clone());
    let seal_path = match seal_loc {
        Some(loc) => Some(
            pkg.resolve(sig_dir, &loc, doc_dir)
                .ok_or(OfdError::Missing {
                    path: loc.trim().to_owned(),
                })?,
        ),
        None => pkg.resolve(sig_dir, "Seal.esl", ""),
    };
    let parsed = parse_signature(signed_value).ok();
    if let (Some(path), Some(sig)) = (&seal_path, &parsed)
        && pkg.get(path)? != sig.seal.raw
    {
        extra.seal_file = Some(Finding::SealFileMismatch);
    }
    let property_info_matches = parsed
        .as_ref()
        .is_some_and(|s| normalise("", s.property_info.trim()).as_deref() == Some(sig_path));

    let report = verify_signature_with(signed_value, sig_xml, trust, at, &extra);
    let unprotected = pkg
        .files
        .keys()
        .filter(|name| {
            !name.starts_with(&format!("{sig_dir}/"))
                && name.as_str() != list_path
                && !covered.contains(name)
        })
        .cloned()
        .collect();
    Ok(OfdSignatureReport {
        doc_root: doc_root.to_owned(),
        signature_xml: sig_path.to_owned(),
        property_info_matches,
        references,
        seal_file: seal_path,
        unprotected,
        report,
    })
}

/// CheckMethod names: the SM3 or SHA-256 OID or name.
fn check_method(method: &str) -> Option<HashAlg> {
    match method.trim().to_ascii_lowercase().as_str() {
        "1.2.156.10197.1.401" | "sm3" => Some(HashAlg::Sm3),
        "2.16.840.1.101.3.4.2.1" | "sha256" | "sha-256" => Some(HashAlg::Sha256),
        _ => None,
    }
}

fn decode_check_value(text: &str) -> Option<[u8; 32]> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()?;
    bytes.try_into().ok()
}

/// The folder part of a package path (`""` at the root).
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Joins `loc` to `dir` and removes `.` and `..`; `None` if it climbs above the root.
fn normalise(dir: &str, loc: &str) -> Option<String> {
    let loc = loc.replace('\\', "/");
    let (start, rest) = match loc.strip_prefix('/') {
        Some(abs) => ("", abs.to_owned()),
        None => (dir, loc),
    };
    let mut parts: Vec<&str> = start.split('/').filter(|p| !p.is_empty()).collect();
    for seg in rest.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// The package's files, inflated within limits, by normalised name.
pub(crate) struct Package {
    pub(crate) files: BTreeMap<String, Vec<u8>>,
}

impl Package {
    pub(crate) fn read(bytes: &[u8], limits: &OfdLimits) -> Result<Package, OfdError> {
        let zip_err = |e: zip::result::ZipError| OfdError::Zip(e.to_string());
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(zip_err)?;
        if archive.len() > limits.max_entries {
            return Err(OfdError::TooManyEntries {
                count: archive.len(),
                max: limits.max_entries,
            });
        }
        let package_len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        let mut files = BTreeMap::new();
        let mut total: u64 = 0;
        for index in 0..archive.len() {
            let mut entry = archive.by_index(index).map_err(zip_err)?;
            let raw_name = entry.name().map_err(zip_err)?.into_owned();
            let name = safe_name(&raw_name)?;
            if entry.is_dir() {
                continue;
            }
            if entry.size() > limits.max_entry_size {
                return Err(OfdError::EntryTooLarge {
                    name,
                    max: limits.max_entry_size,
                });
            }
            // Stored sizes can lie; count what actually comes out.
            let compressed = entry.compressed_size().clamp(1, package_len.max(1));
            let mut data = Vec::new();
            let mut buf = [0u8; 16 * 1024];
            loop {
                let n = entry
                    .read(&mut buf)
                    .map_err(|e| OfdError::Zip(format!("`{name}`: {e}")))?;
                if n == 0 {
                    break;
                }
                data.extend_from_slice(buf.get(..n).unwrap_or_default());
                let inflated = u64::try_from(data.len()).unwrap_or(u64::MAX);
                if inflated > limits.max_entry_size {
                    return Err(OfdError::EntryTooLarge {
                        name,
                        max: limits.max_entry_size,
                    });
                }
                if total.saturating_add(inflated) > limits.max_total_size {
                    return Err(OfdError::TotalTooLarge {
                        name,
                        max: limits.max_total_size,
                    });
                }
                if inflated > limits.ratio_floor && inflated / compressed > limits.max_ratio {
                    return Err(OfdError::CompressionRatio {
                        name,
                        max: limits.max_ratio,
                    });
                }
            }
            total = total.saturating_add(u64::try_from(data.len()).unwrap_or(u64::MAX));
            if files.insert(name.clone(), data).is_some() {
                return Err(OfdError::DuplicateEntry { name });
            }
        }
        Ok(Package { files })
    }

    fn get(&self, path: &str) -> Result<&[u8], OfdError> {
        self.files
            .get(path)
            .map(Vec::as_slice)
            .ok_or(OfdError::Missing {
                path: path.to_owned(),
            })
    }

    /// Resolves a location as producers write them: absolute from the package root
    /// (`/Doc_0/…`), relative to the referring file's folder, and — because some
    /// producers write root paths without the slash — relative to the document's
    /// folder or the root. The first candidate that exists wins.
    fn resolve(&self, dir: &str, loc: &str, doc_dir: &str) -> Option<String> {
        let loc = loc.trim();
        if loc.is_empty() {
            return None;
        }
        [dir, doc_dir, ""]
            .iter()
            .filter_map(|d| normalise(d, loc))
            .find(|p| self.files.contains_key(p))
    }
}

/// An entry name must be relative and stay inside the package.
fn safe_name(raw: &str) -> Result<String, OfdError> {
    let unsafe_path = || OfdError::UnsafePath {
        name: raw.to_owned(),
    };
    let name = raw.replace('\\', "/");
    let drive = name.as_bytes().get(1) == Some(&b':');
    if name.starts_with('/') || drive || name.contains('\0') {
        return Err(unsafe_path());
    }
    if name.split('/').any(|seg| seg == "..") {
        return Err(unsafe_path());
    }
    normalise("", &name).ok_or_else(unsafe_path)
}

/// A small element tree: OFD's XML files are a few kilobytes, and the reader only
/// needs local names, attributes and text.
#[derive(Debug, Default)]
struct Xml {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Xml>,
}

/// Elements per XML file; an OFD signature file has tens.
const MAX_XML_ELEMENTS: usize = 100_000;
const MAX_XML_DEPTH: usize = 64;

impl Xml {
    fn parse(path: &str, bytes: &[u8]) -> Result<Xml, OfdError> {
        let mut reader = quick_xml::Reader::from_reader(bytes);
        let xml_err = |position: u64, reason: String| OfdError::Xml {
            path: path.to_owned(),
            position,
            reason,
        };
        let mut stack: Vec<Xml> = vec![Xml::default()];
        let mut count = 0usize;
        loop {
            let position = reader.buffer_position();
            let event = reader
                .read_event()
                .map_err(|e| xml_err(position, e.to_string()))?;
            match event {
                Event::Start(e) | Event::Empty(e)
                    if stack.len() > MAX_XML_DEPTH || count >= MAX_XML_ELEMENTS =>
                {
                    let _ = e;
                    return Err(xml_err(
                        position,
                        "too many or too deeply nested elements".into(),
                    ));
                }
                Event::Start(e) => {
                    count = count.saturating_add(1);
                    stack.push(element(&e).map_err(|r| xml_err(position, r))?);
                }
                Event::Empty(e) => {
                    count = count.saturating_add(1);
                    let el = element(&e).map_err(|r| xml_err(position, r))?;
                    if let Some(top) = stack.last_mut() {
                        top.children.push(el);
                    }
                }
                Event::End(_) => {
                    let done = stack
                        .pop()
                        .ok_or_else(|| xml_err(position, "unbalanced end tag".into()))?;
                    match stack.last_mut() {
                        Some(top) => top.children.push(done),
                        None => return Err(xml_err(position, "unbalanced end tag".into())),
                    }
                }
                Event::Text(t) => {
                    let text = t.decode().map_err(|e| xml_err(position, e.to_string()))?;
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&text);
                    }
                }
                Event::CData(t) => {
                    let text = t.decode().map_err(|e| xml_err(position, e.to_string()))?;
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&text);
                    }
                }
                Event::GeneralRef(r) => {
                    let name = r.decode().map_err(|e| xml_err(position, e.to_string()))?;
                    let c = match name.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "",
                    };
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(c);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        match (stack.pop(), stack.is_empty()) {
            (Some(mut doc), true) => {
                doc.text = doc.text.trim().to_owned();
                Ok(doc)
            }
            _ => Err(xml_err(reader.buffer_position(), "unclosed element".into())),
        }
    }

    /// The first direct child with this local name.
    fn child(&self, name: &str) -> Option<&Xml> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every descendant with this local name, in document order.
    fn find_all(&self, name: &str) -> Vec<&Xml> {
        let mut out = Vec::new();
        let mut todo: Vec<&Xml> = self.children.iter().rev().collect();
        while let Some(el) = todo.pop() {
            if el.name == name {
                out.push(el);
            }
            todo.extend(el.children.iter().rev());
        }
        out
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> Result<Xml, String> {
    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    Ok(Xml {
        name,
        attrs: attributes(e)?,
        ..Xml::default()
    })
}

/// An element's attributes by local name, values unescaped (shared with the
/// bill reader).
pub(crate) fn attributes(
    e: &quick_xml::events::BytesStart<'_>,
) -> Result<Vec<(String, String)>, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| err.to_string())?;
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|err| err.to_string())?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_like_producers_write_them() {
        assert_eq!(
            normalise("Doc_0/Signs", "Sign_0/Signature.xml").as_deref(),
            Some("Doc_0/Signs/Sign_0/Signature.xml")
        );
        assert_eq!(
            normalise("Doc_0/Signs", "/Doc_0/Pages/Page_0/Content.xml").as_deref(),
            Some("Doc_0/Pages/Page_0/Content.xml")
        );
        assert_eq!(normalise("Doc_0", "../OFD.xml").as_deref(), Some("OFD.xml"));
        assert_eq!(normalise("", "../etc/passwd"), None);
    }

    #[test]
    fn unsafe_names_are_refused() {
        for bad in [
            "../evil",
            "/etc/passwd",
            "a/../../b",
            "C:\\x",
            "a\\..\\..\\b",
        ] {
            assert!(
                matches!(safe_name(bad), Err(OfdError::UnsafePath { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            safe_name("Doc_0/./Document.xml").unwrap(),
            "Doc_0/Document.xml"
        );
    }

    #[test]
    fn xml_tree_reads_names_attributes_and_text() {
        let xml = br#"<?xml version="1.0"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocRoot> Doc_0/Document.xml </ofd:DocRoot></ofd:DocBody><ofd:Signature BaseLoc="a&amp;b"/></ofd:OFD>"#;
        let doc = Xml::parse("t", xml).unwrap();
        let root = doc.find_all("DocRoot");
        assert_eq!(root.first().unwrap().text.trim(), "Doc_0/Document.xml");
        assert_eq!(
            doc.find_all("Signature").first().unwrap().attr("BaseLoc"),
            Some("a&b")
        );
        assert!(Xml::parse("t", b"<a><b></a>").is_err());
    }

    #[test]
    fn not_a_zip() {
        let err =
            verify_ofd(b"PK junk", &TrustStore::new(), OffsetDateTime::UNIX_EPOCH).unwrap_err();
        assert!(matches!(err, OfdError::Zip(_)));
    }
}

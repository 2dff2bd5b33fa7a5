//! The signing crate's errors. Each module adds its own typed enum here so that a
//! caller matches on what went wrong, never on a message string.

use thiserror::Error;
use time::OffsetDateTime;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentError {
    /// The region code is not one of sh, js, zj, ah.
    #[error("unknown region `{0}` (expected sh, js, zj or ah)")]
    UnknownRegion(String),
    /// A unified social credit code must have 18 characters.
    #[error("unified social credit code has {0} characters, expected 18")]
    UsccLength(usize),
    /// A character outside the GB 32100 alphabet.
    #[error(
        "unified social credit code: character {position} is not in 0-9, A-H, J-N, P-R, T, U, W-Y"
    )]
    UsccCharacter {
        /// 1-based position of the offending character.
        position: usize,
    },
    /// The check character does not match.
    #[error("unified social credit code: check character is `{got}`, expected `{expected}`")]
    UsccCheck {
        /// The check character the first 17 characters call for.
        expected: char,
        /// The character found.
        got: char,
    },
    /// A member id is `{region}:{uscc}[:{subsystem}]`.
    #[error("member id is not `{{region}}:{{uscc}}[:{{subsystem}}]`")]
    MemberSyntax,
    /// The subsystem part has a bad character or length.
    #[error("member subsystem must be 1-32 characters of a-z, 0-9 and -")]
    Subsystem,
    /// A certificate URI that is not `urn:yrdx:…`.
    #[error("URI does not start with urn:yrdx:")]
    NotAMemberUri,
    /// A resident identity number must have 18 characters.
    #[error("resident identity number has {0} characters, expected 18")]
    ResidentIdLength(usize),
    /// One of the first 17 characters is not a digit.
    #[error("resident identity number: character {position} is not a digit")]
    ResidentIdCharacter {
        /// 1-based position of the offending character.
        position: usize,
    },
    /// The check character does not match.
    #[error("resident identity number: check character should be `{expected}`")]
    ResidentIdCheck {
        /// The check character the first 17 digits call for.
        expected: char,
    },
    /// A licence identifier with the wrong shape.
    #[error("licence identifier: {0}")]
    LicenceSyntax(&'static str),
    /// The licence identifier's check character does not match.
    #[error("licence identifier: check character is `{got}`, expected `{expected}`")]
    LicenceCheck {
        /// The character ISO/IEC 7064 MOD 37,36 calls for.
        expected: char,
        /// The character found.
        got: char,
    },
}

/// Why a Merkle tree computation could not be done: bad arguments or a node
/// source that could not answer.
#[derive(Debug, Error)]
pub enum MerkleError {
    /// Tree sizes and leaf indices stop at 2^62.
    #[error("tree size or leaf index {0} exceeds the maximum 2^62")]
    TreeTooLarge(u64),
    /// A node that cannot exist in a tree of at most 2^62 leaves.
    #[error("node ({level}, {index}) lies outside the largest possible tree")]
    InvalidNode {
        /// The node's level.
        level: u8,
        /// The node's index within its level.
        index: u64,
    },
    /// A proof asked for that no tree has: an inclusion proof for a leaf the
    /// tree does not have ([`ProofError::IndexOutOfRange`]) or a consistency
    /// proof from a larger tree to a smaller one
    /// ([`ProofError::SizesOutOfOrder`]). The same checks refuse such a proof
    /// when it is verified.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// A size beyond the leaves held.
    #[error("tree size {size} is beyond the {tree} leaves held")]
    SizeBeyondTree {
        /// The size asked for.
        size: u64,
        /// The leaves held.
        tree: u64,
    },
    /// A hash that is not 32 bytes.
    #[error("a hash is 32 bytes, got {0}")]
    HashLength(usize),
    /// A hash that is not 44 characters of canonical padded base64.
    #[error("a hash must be 44 characters of standard padded base64")]
    HashBase64,
    /// The node source does not have a node the computation needs.
    #[error("node ({level}, {index}) is not stored")]
    MissingNode {
        /// The node's level.
        level: u8,
        /// The node's index within its level.
        index: u64,
    },
    /// The node source answered with the wrong number of hashes.
    #[error("expected {expected} node hashes, got {got}")]
    SourceCount {
        /// Hashes asked for.
        expected: usize,
        /// Hashes received.
        got: usize,
    },
    /// A frontier whose hashes do not match its size.
    #[error("the frontier of size {size} has {expected} hashes, got {got}")]
    FrontierLength {
        /// The tree size.
        size: u64,
        /// One per set bit of the size.
        expected: usize,
        /// Hashes supplied.
        got: usize,
    },
    /// The node source failed (a database error, for instance).
    #[error("node source failed")]
    Source(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why a Merkle proof did not verify, or (inside [`MerkleError::Proof`]) why
/// one could not be made for the sizes asked for.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The leaf index claimed or asked for.
        index: u64,
        /// The tree size claimed or asked for.
        size: u64,
    },
    /// Consistency claimed or asked for from a larger tree to a smaller one.
    #[error("consistency from size {from} to the smaller size {to}")]
    SizesOutOfOrder {
        /// The earlier size.
        from: u64,
        /// The later size.
        to: u64,
    },
    /// The proof has more hashes than the tree shape allows.
    #[error("the proof has more hashes than the tree sizes allow")]
    TooManyHashes,
    /// The proof ends before reaching the root.
    #[error("the proof has fewer hashes than the tree sizes need")]
    TooFewHashes,
    /// The proof leads to a different (later) root.
    #[error("the proof leads to root {computed}, expected {expected}")]
    RootMismatch {
        /// The root the proof should lead to.
        expected: crate::Hash,
        /// The root it leads to.
        computed: crate::Hash,
    },
    /// A consistency proof that does not lead to the earlier root.
    #[error("the proof leads to earlier root {computed}, expected {expected}")]
    OldRootMismatch {
        /// The earlier root.
        expected: crate::Hash,
        /// The root the proof leads to.
        computed: crate::Hash,
    },
}

/// Why a signed note, or a note key, was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NoteError {
    /// The note exceeds the size bound.
    #[error("note is {0} bytes, more than the 128 KiB allowed")]
    TooLong(usize),
    /// The note is not UTF-8.
    #[error("note is not valid UTF-8")]
    Utf8,
    /// An ASCII control character other than newline.
    #[error("note contains a control character other than newline")]
    ControlCharacter,
    /// The note's shape is wrong.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// A note must carry at least one signature.
    #[error("note has no signature")]
    NoSignatures,
    /// More signature lines than allowed.
    #[error("note has more than 100 signatures")]
    TooManySignatures,
    /// A key name that is empty or contains white space or `+`.
    #[error("key name must be non-empty, without spaces or `+`")]
    KeyName,
    /// A key string that is not `name+hex8+base64`.
    #[error("key is not `name+keyid+base64` (or `PRIVATE+KEY+…` for a signer)")]
    KeySyntax,
    /// A key of the wrong length.
    #[error("an Ed25519 key is 32 bytes after its type byte")]
    KeyLength,
    /// A signature type other than Ed25519.
    #[error("signature type {0:#04x} is not supported (only Ed25519, 0x01)")]
    UnsupportedAlgorithm(u8),
    /// The key id in a key string is not the one its name and key give.
    #[error("key id {stated:08x} does not match the key ({computed:08x})")]
    KeyIdMismatch {
        /// The id written in the key string.
        stated: u32,
        /// The id computed from the name and key.
        computed: u32,
    },
    /// A private key ring refused, or a PKCS#8 document of another shape.
    #[error("not a usable Ed25519 private key")]
    BadPrivateKey,
    /// The random number generator failed.
    #[error("the random number generator failed")]
    Random,
    /// A known key's signature does not verify: the note is rejected whole.
    #[error("signature by {name}+{key_id:08x} does not verify")]
    BadSignature {
        /// The key name.
        name: String,
        /// The key id.
        key_id: u32,
    },
    /// No known key signed the note.
    #[error("no known key signed the note")]
    NoKnownSignature,
}

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointError {
    /// The signed note around it was refused.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    /// The text's shape is wrong.
    #[error("malformed checkpoint: {0}")]
    Syntax(&'static str),
    /// An empty origin or extension line.
    #[error("checkpoint lines must not be empty")]
    EmptyLine,
    /// A control character in the origin or an extension line.
    #[error("checkpoint lines must not contain control characters")]
    ControlCharacter,
    /// The size is not canonical decimal within 2^62.
    #[error("checkpoint size must be decimal without leading zeros, at most 2^62")]
    Size,
    /// The root is not a base64 32-byte hash.
    #[error("checkpoint root must be the base64 of 32 bytes")]
    Root,
    /// Two checkpoints of different logs.
    #[error("checkpoint is for `{got}`, expected `{expected}`")]
    OriginMismatch {
        /// The origin wanted.
        expected: String,
        /// The origin found.
        got: String,
    },
    /// The checkpoint names a tree hash other than the one the client checks
    /// with: the log cannot be checked with it (not a sign of tampering).
    #[error(
        "the log's tree hash is {log} (its checkpoint says `hash: {log}`), not {client}: this client cannot check it"
    )]
    UnsupportedHash {
        /// The hash the checkpoint names.
        log: String,
        /// The hash the client checks with.
        client: String,
    },
    /// The later checkpoint does not extend the earlier one.
    #[error("checkpoint of size {to} is not consistent with the one of size {from}")]
    Inconsistent {
        /// The earlier size.
        from: u64,
        /// The later size.
        to: u64,
        /// What the consistency proof check found.
        #[source]
        source: ProofError,
    },
}

/// Why a tile, a tile path or an entry bundle was refused.
#[derive(Debug, Error)]
pub enum TileError {
    /// A tile level above 63, or too high for a tree of at most 2^62 leaves.
    #[error("tile level {0} is out of range")]
    Level(u8),
    /// A width outside 1..=256.
    #[error("tile width {0} is not between 1 and 256")]
    Width(u16),
    /// A tile index too large for any tree.
    #[error("tile index is out of range")]
    Index,
    /// Not `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    #[error("not a tile path")]
    Path,
    /// Tile bytes of the wrong length for the tile's width.
    #[error("tile has {got} bytes, expected {expected}")]
    Length {
        /// Width × 32.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// An entry bundle where a hash tile was needed.
    #[error("an entry bundle is not a hash tile")]
    NotAHashTile,
    /// A node the tree of the given size does not have yet.
    #[error("node ({level}, {index}) is beyond the tree")]
    NodeBeyondTree {
        /// The node's level.
        level: u8,
        /// The node's index within its level.
        index: u64,
    },
    /// An entry longer than a `u16` length prefix allows.
    #[error("entry of {0} bytes is longer than an entry bundle allows (65535)")]
    EntryTooLong(usize),
    /// An entry bundle with the wrong number of entries.
    #[error("entry bundle does not have the tile's number of entries")]
    BundleCount,
    /// An entry bundle that ends inside an entry.
    #[error("entry bundle is truncated")]
    BundleTruncated,
    /// Reading the nodes failed.
    #[error(transparent)]
    Merkle(#[from] MerkleError),
}

/// Why an audit-log export could not be verified at all. Tampering that the
/// verifier can locate is not an error but a
/// [`Finding`](crate::Finding) in the report.
#[derive(Debug, Error)]
pub enum ExportError {
    /// No header line.
    #[error("the export is empty")]
    Empty,
    /// An empty line.
    #[error("line {line} is empty")]
    EmptyLine {
        /// 1-based line number.
        line: u64,
    },
    /// A line longer than allowed.
    #[error("line {line} has {len} bytes, more than allowed")]
    LineTooLong {
        /// 1-based line number.
        line: u64,
        /// Its length.
        len: usize,
    },
    /// The header is not the expected JSON object.
    #[error("the export header is not valid")]
    Header(#[source] serde_json::Error),
    /// The header's `format` is not `yrdx-audit-export`.
    #[error("not a yrdx audit export")]
    Format,
    /// An export format version this build does not read.
    #[error("export format version {0} is not supported (expected 1)")]
    Version(u32),
    /// A hash algorithm other than sha256 and sm3.
    #[error("the export's hash algorithm is not sha256 or sm3")]
    UnknownHash,
    /// More checkpoints than allowed.
    #[error("the export carries too many checkpoints")]
    TooManyCheckpoints,
    /// A checkpoint that is malformed or not validly signed by the key.
    #[error("{role:?} checkpoint refused")]
    Checkpoint {
        /// Which checkpoint.
        role: crate::export::CheckpointRole,
        /// Why.
        #[source]
        source: CheckpointError,
    },
    /// Checkpoints of another log.
    #[error("checkpoint origin `{checkpoint}` is not the export's `{header}`")]
    OriginMismatch {
        /// The export's origin.
        header: String,
        /// The checkpoint's.
        checkpoint: String,
    },
    /// The export starts after its checkpoint's size.
    #[error("the export starts at {start}, beyond its checkpoint's size {size}")]
    StartBeyondCheckpoint {
        /// The header's start.
        start: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The prefix hashes do not match the start index.
    #[error("an export starting at {start} needs one prefix hash per set bit, got {got}")]
    Prefix {
        /// The header's start.
        start: u64,
        /// Prefix hashes given.
        got: usize,
    },
    /// An earlier checkpoint that is larger than the export's.
    #[error("{role:?} checkpoint of size {size} is newer than the export's ({export})")]
    CheckpointAfterExport {
        /// Which checkpoint.
        role: crate::export::CheckpointRole,
        /// Its size.
        size: u64,
        /// The export's checkpoint size.
        export: u64,
    },
    /// A leaf line that is not `{"index":…,"leaf":"…"}`.
    #[error("line {line} is not a leaf entry")]
    Entry {
        /// 1-based line number.
        line: u64,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A leaf that is not standard padded base64.
    #[error("line {line}: the leaf is not standard base64")]
    LeafBase64 {
        /// 1-based line number.
        line: u64,
    },
}

/// Where and why DER input (a seal, a signature, a timestamp token) was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}, byte {offset}: {kind}")]
pub struct Asn1Error {
    /// The ASN.1 path being read, e.g. `SES_Signature.toSign.timeInfo`.
    pub path: &'static str,
    /// Byte offset in the input where the problem was found.
    pub offset: usize,
    /// What was wrong.
    pub kind: Asn1ErrorKind,
}

impl Asn1Error {
    pub(crate) fn new(path: &'static str, offset: usize, kind: Asn1ErrorKind) -> Self {
        Asn1Error { path, offset, kind }
    }
}

/// What was wrong with DER input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Asn1ErrorKind {
    /// The tag or length octets are not DER.
    #[error("not DER: {0}")]
    Der(der::ErrorKind),
    /// The input ends inside an element.
    #[error("input ends inside an element (truncated)")]
    Truncated,
    /// No element where one was expected.
    #[error("no element")]
    Missing,
    /// A SEQUENCE ended before a required element.
    #[error("missing {0}")]
    MissingElement(&'static str),
    /// An element with another tag than the structure allows.
    #[error("expected {expected}, found tag 0x{found:02x}")]
    UnexpectedTag {
        /// What the structure calls for here.
        expected: &'static str,
        /// The identifier octet found.
        found: u8,
    },
    /// Bytes after the last element.
    #[error("{count} bytes after the end of the structure")]
    TrailingData {
        /// How many bytes are left over.
        count: usize,
    },
    /// A length beyond what this machine can address.
    #[error("length out of range")]
    TooLarge,
    /// The input is larger than a seal may be.
    #[error("input of {len} bytes exceeds the limit of {max}")]
    InputTooLarge {
        /// Size of the input.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An element that may not be empty is.
    #[error("empty element")]
    Empty,
    /// An INTEGER too large for the field.
    #[error("integer out of range")]
    IntegerRange,
    /// A string that is not valid UTF-8/ASCII.
    #[error("string is not valid text")]
    BadString,
    /// A time that is not `YYYYMMDDHHMMSS[.f]Z` / `YYMMDDHHMMSSZ` or not a real date.
    #[error("not a valid time")]
    BadTime,
    /// A BIT STRING with unused bits, where whole octets are expected.
    #[error("BIT STRING with {0} unused bits")]
    UnusedBits(u8),
    /// The number of elements matches no known version of the structure.
    #[error("a SEQUENCE of {elements} elements matches no seal version")]
    UnknownShape {
        /// Number of elements found.
        elements: usize,
    },
    /// `header.version` contradicts the shape.
    #[error("header.version {header} does not fit a {shape} structure")]
    VersionMismatch {
        /// The version the shape says.
        shape: &'static str,
        /// The version in the header.
        header: i64,
    },
    /// `header.id` is not `ES`.
    #[error("header.id is not \"ES\"")]
    NotEs,
    /// A value outside the range the standard defines (certListType, seal type…).
    #[error("value {0} is not allowed here")]
    BadValue(i64),
    /// A critical extension this verifier does not understand.
    #[error("critical extension {0} is not understood")]
    UnknownCriticalExtension(der::asn1::ObjectIdentifier),
    /// A structure other than the one expected (e.g. a CMS content type).
    #[error("unexpected object identifier {0}")]
    UnexpectedOid(der::asn1::ObjectIdentifier),
}

/// Why a signature value could not be verified.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CryptoError {
    /// A signature algorithm this verifier does not implement (or RSASSA-PSS with
    /// parameters ring does not verify).
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(der::asn1::ObjectIdentifier),
    /// A public key this verifier does not implement: the SubjectPublicKeyInfo
    /// algorithm, or for elliptic-curve keys the curve.
    #[error("unsupported public key {0}")]
    UnsupportedKey(der::asn1::ObjectIdentifier),
    /// The key type does not fit the signature algorithm (an RSA key for SM2…).
    #[error("signature algorithm {algorithm} does not fit a {key} key")]
    KeyMismatch {
        /// The signature algorithm.
        algorithm: &'static str,
        /// The key's type.
        key: &'static str,
    },
    /// The public key bytes are not a valid key.
    #[error("the public key is not valid")]
    BadPublicKey,
    /// The SubjectPublicKeyInfo is not DER.
    #[error("subject public key info: {0}")]
    BadKeyInfo(Asn1Error),
    /// The signature value is neither DER SEQUENCE{r,s} nor raw r‖s.
    #[error("the signature value is not a valid encoding ({len} bytes)")]
    BadSignatureEncoding {
        /// Length of the value.
        len: usize,
    },
    /// The signature does not verify.
    #[error("the signature does not verify")]
    Mismatch,
}

/// Why a certificate chain was refused or could not be decided.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CertError {
    /// The certificate is not X.509 DER.
    #[error("certificate at depth {depth} is malformed: {error}")]
    Malformed {
        /// 0 for the leaf, 1 for its issuer, …
        depth: usize,
        /// What x509-parser found.
        error: String,
    },
    /// A CRL is not X.509 DER.
    #[error("CRL is malformed: {0}")]
    MalformedCrl(String),
    /// The relevant time is before `notBefore`.
    #[error("certificate `{subject}` is not valid before {}, checked at {}", rfc3339(.not_before), rfc3339(.at))]
    NotYetValid {
        /// Subject of the certificate.
        subject: String,
        /// Its notBefore.
        not_before: OffsetDateTime,
        /// The time checked.
        at: OffsetDateTime,
    },
    /// The relevant time is after `notAfter`.
    #[error("certificate `{subject}` expired at {}, checked at {}", rfc3339(.not_after), rfc3339(.at))]
    Expired {
        /// Subject of the certificate.
        subject: String,
        /// Its notAfter.
        not_after: OffsetDateTime,
        /// The time checked.
        at: OffsetDateTime,
    },
    /// No configured anchor or intermediate issued this certificate.
    #[error("no trusted issuer `{issuer}` for `{subject}`")]
    UnknownIssuer {
        /// The certificate whose issuer is missing.
        subject: String,
        /// The issuer name it names.
        issuer: String,
    },
    /// A certificate's signature does not verify with its issuer's key.
    #[error("signature on `{subject}` does not verify with `{issuer}`: {source}")]
    BadSignature {
        /// The certificate.
        subject: String,
        /// Its issuer.
        issuer: String,
        /// Why.
        source: CryptoError,
    },
    /// An issuing certificate is not a CA.
    #[error("issuer `{subject}` is not a CA (basicConstraints)")]
    NotCa {
        /// The issuing certificate.
        subject: String,
    },
    /// More CAs below an issuer than its pathLenConstraint allows.
    #[error("issuer `{subject}` allows {max} intermediate CAs below it")]
    PathLength {
        /// The issuing certificate.
        subject: String,
        /// Its pathLenConstraint.
        max: u32,
    },
    /// A key usage the role needs is missing.
    #[error("certificate `{subject}` lacks key usage {needed}")]
    KeyUsage {
        /// The certificate.
        subject: String,
        /// What it needs.
        needed: &'static str,
    },
    /// The chain is longer than the verifier follows.
    #[error("chain longer than {max} certificates")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// The certificate was revoked at or before the relevant time.
    #[error("certificate `{subject}` (serial {serial}) was revoked at {}, before {}", rfc3339(.revoked_at), rfc3339(.at))]
    Revoked {
        /// The certificate.
        subject: String,
        /// Its serial number, hex.
        serial: String,
        /// When it was revoked.
        revoked_at: OffsetDateTime,
        /// The relevant time.
        at: OffsetDateTime,
    },
    /// The trust configuration requires a CRL for this issuer and none is usable.
    #[error("revocation status of `{subject}` is unknown: no usable CRL from `{issuer}`")]
    RevocationUnknown {
        /// The certificate.
        subject: String,
        /// Its issuer.
        issuer: String,
    },
    /// A CRL from this issuer is there but its signature does not verify.
    #[error("CRL from `{issuer}` does not verify: {source}")]
    CrlSignature {
        /// The CRL issuer.
        issuer: String,
        /// Why.
        source: CryptoError,
    },
    /// A CRL from this issuer is there but not current at verification time.
    #[error("CRL from `{issuer}` is not current at {}", rfc3339(.at))]
    CrlNotCurrent {
        /// The CRL issuer.
        issuer: String,
        /// The verification time.
        at: OffsetDateTime,
    },
}

impl CertError {
    /// Whether the chain could not be decided (rather than being wrong): an unknown
    /// anchor or unknown revocation status.
    pub fn is_indeterminate(&self) -> bool {
        matches!(
            self,
            CertError::UnknownIssuer { .. }
                | CertError::RevocationUnknown { .. }
                | CertError::CrlSignature { .. }
                | CertError::CrlNotCurrent { .. }
        )
    }
}

/// Why an RFC 3161 timestamp token was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TspError {
    /// The token is not DER CMS.
    #[error("timestamp token: {0}")]
    Malformed(Asn1Error),
    /// The token's messageImprint is not the hash of the signature value.
    #[error("timestamp messageImprint does not match the signature value")]
    ImprintMismatch,
    /// The messageDigest signed attribute is not the hash of the TSTInfo.
    #[error("timestamp messageDigest attribute does not match the TSTInfo")]
    MessageDigestMismatch,
    /// A signed attribute the token must carry is missing.
    #[error("timestamp token lacks the {0} signed attribute")]
    MissingAttribute(&'static str),
    /// A digest algorithm other than SM3 and SHA-256.
    #[error("timestamp uses unsupported digest {0}")]
    UnsupportedDigest(der::asn1::ObjectIdentifier),
    /// The token carries no certificate for its signer.
    #[error("timestamp token carries no certificate for its signer")]
    NoSignerCertificate,
    /// The TSA signature does not verify.
    #[error("TSA signature: {0}")]
    Signature(CryptoError),
    /// The TSA certificate chain was refused or could not be decided.
    #[error("TSA certificate: {0}")]
    Chain(CertError),
}

/// Why an OFD package could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OfdError {
    /// Not a ZIP archive, or a broken one.
    #[error("not a readable ZIP archive: {0}")]
    Zip(String),
    /// More entries than allowed.
    #[error("the package has {count} entries, more than the limit of {max}")]
    TooManyEntries {
        /// Entries in the central directory.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An entry name that climbs out of the package or is absolute.
    #[error("entry `{name}` has an unsafe path")]
    UnsafePath {
        /// The entry name as stored.
        name: String,
    },
    /// Two entries with the same normalised name.
    #[error("entry `{name}` appears twice")]
    DuplicateEntry {
        /// The normalised name.
        name: String,
    },
    /// One entry is larger than allowed once inflated.
    #[error("entry `{name}` inflates beyond {max} bytes")]
    EntryTooLarge {
        /// The entry.
        name: String,
        /// The limit.
        max: u64,
    },
    /// All entries together inflate beyond the limit.
    #[error("the package inflates beyond {max} bytes in total (at entry `{name}`)")]
    TotalTooLarge {
        /// The entry at which the limit was crossed.
        name: String,
        /// The limit.
        max: u64,
    },
    /// An entry compressed more than a real document compresses (a zip bomb).
    #[error("entry `{name}` has a compression ratio above {max}:1")]
    CompressionRatio {
        /// The entry.
        name: String,
        /// The limit.
        max: u64,
    },
    /// A file the package must have is missing.
    #[error("`{path}` is missing from the package")]
    Missing {
        /// The path looked for.
        path: String,
    },
    /// An XML file could not be read.
    #[error("`{path}`: XML error at byte {position}: {reason}")]
    Xml {
        /// The entry.
        path: String,
        /// Byte position in the entry.
        position: u64,
        /// What the XML reader said.
        reason: String,
    },
    /// An XML file lacks an element the format requires.
    #[error("`{path}` has no {element}")]
    MissingElement {
        /// The entry.
        path: String,
        /// The element looked for.
        element: &'static str,
    },
    /// The document lists no signature.
    #[error("the document has no signatures")]
    Unsigned,
    /// More signatures than allowed.
    #[error("the document lists {count} signatures, more than the limit of {max}")]
    TooManySignatures {
        /// Signatures listed.
        count: usize,
        /// The limit.
        max: usize,
    },
}

/// Times in messages, as in reports: RFC 3339.
pub(crate) fn rfc3339(t: &OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

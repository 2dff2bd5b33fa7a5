//! C2SP signed notes (`c2sp.org/signed-note`) with Ed25519 keys: the envelope of
//! the log's checkpoints.
//!
//! A signed note is a UTF-8 text ending in a newline, a blank line, then one or
//! more lines `— <key name> base64(key id ‖ signature)`. The key id of an
//! Ed25519 key is the first four bytes of `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public
//! key)`. Keys travel as text: the verifier key `name+hex(key id)+base64(0x01 ‖
//! public key)`, and — in the form Go's `golang.org/x/mod/sumdb/note` reads — the
//! signer key `PRIVATE+KEY+name+hex(key id)+base64(0x01 ‖ seed)`.
//!
//! Parsing is strict and bounded ([`MAX_NOTE_LEN`], [`MAX_SIGNATURES`]).
//! Opening a note checks every signature by a known key (name and key id both
//! match), ignores the others, and fails unless at least one known key signed.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::rand::SecureRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

use crate::digest::sha256;
use crate::error::NoteError;

/// The largest signed note accepted, in bytes. Checkpoints are a few hundred
/// bytes; this leaves room for many cosignatures, even post-quantum ones.
pub const MAX_NOTE_LEN: usize = 128 * 1024;

/// The most signature lines a note may carry (the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// The signature type byte of Ed25519 in key ids and keys.
pub const ALG_ED25519: u8 = 0x01;

const SIG_PREFIX: &str = "\u{2014} ";
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// The key id of an Ed25519 key: the first four bytes, big-endian, of
/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)`.
pub fn ed25519_key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut input = Vec::with_capacity(name.len() + 2 + public_key.len());
    input.extend_from_slice(name.as_bytes());
    input.push(b'\n');
    input.push(ALG_ED25519);
    input.extend_from_slice(public_key);
    let digest = sha256(&input);
    let [a, b, c, d, ..] = digest;
    u32::from_be_bytes([a, b, c, d])
}

/// Whether `name` may name a key: non-empty, no Unicode white space, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(NoteError::KeyName)
    }
}

/// A public key that verifies note signatures.
#[derive(Clone, PartialEq, Eq, Hash)]
// INVARIANT: name is a valid key name and id == ed25519_key_id(name, public).
pub struct VerifierKey {
    name: String,
    id: u32,
    public: [u8; 32],
}

impl VerifierKey {
    /// Parses `name+hex8+base64(0x01 ‖ public key)`, checking that the key id
    /// is the one the name and key call for.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::KeySyntax);
        };
        check_name(name)?;
        let id = parse_key_id(id_hex)?;
        let public = decode_typed_key(key_b64)?;
        let key = VerifierKey::from_ed25519(name, &public)?;
        if key.id != id {
            return Err(NoteError::KeyIdMismatch {
                stated: id,
                computed: key.id,
            });
        }
        Ok(key)
    }

    /// A verifier for the Ed25519 public key `public_key` named `name`.
    pub fn from_ed25519(name: &str, public_key: &[u8]) -> Result<Self, NoteError> {
        check_name(name)?;
        let public = <[u8; 32]>::try_from(public_key).map_err(|_| NoteError::KeyLength)?;
        Ok(VerifierKey {
            name: name.to_owned(),
            id: ed25519_key_id(name, &public),
            public,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.public)
            .verify(message, signature)
            .is_ok()
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut typed = [0u8; 33];
        typed[0] = ALG_ED25519;
        typed[1..].copy_from_slice(&self.public);
        write!(f, "{}+{:08x}+{}", self.name, self.id, BASE64.encode(typed))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl FromStr for VerifierKey {
    type Err = NoteError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VerifierKey::parse(s)
    }
}

/// Eight lower- or upper-case hex digits.
fn parse_key_id(text: &str) -> Result<u32, NoteError> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NoteError::KeySyntax);
    }
    u32::from_str_radix(text, 16).map_err(|_| NoteError::KeySyntax)
}

/// `base64(0x01 ‖ 32 bytes)`, the key part of both key strings.
fn decode_typed_key(text: &str) -> Result<[u8; 32], NoteError> {
    if text.len() != 44 {
        return Err(NoteError::KeyLength);
    }
    let bytes = BASE64.decode(text).map_err(|_| NoteError::KeySyntax)?;
    let (alg, key) = bytes.split_first().ok_or(NoteError::KeyLength)?;
    if *alg != ALG_ED25519 {
        return Err(NoteError::UnsupportedAlgorithm(*alg));
    }
    <[u8; 32]>::try_from(key).map_err(|_| NoteError::KeyLength)
}

/// An Ed25519 private key that signs notes. `Debug` never shows the key.
// INVARIANT: name is a valid key name, pair was derived from seed and
// id == ed25519_key_id(name, pair's public key).
pub struct NoteSigner {
    name: String,
    id: u32,
    seed: [u8; 32],
    pair: Ed25519KeyPair,
}

impl NoteSigner {
    /// A signer from a 32-byte Ed25519 seed (the RFC 8032 private key).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        check_name(name)?;
        let pair =
            Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| NoteError::BadPrivateKey)?;
        let public = <[u8; 32]>::try_from(pair.public_key().as_ref())
            .map_err(|_| NoteError::BadPrivateKey)?;
        Ok(NoteSigner {
            name: name.to_owned(),
            id: ed25519_key_id(name, &public),
            seed: *seed,
            pair,
        })
    }

    /// A signer from a PKCS#8 Ed25519 private key (v1 as OpenSSL writes it, or
    /// v2 with the public key as `ring` generates it).
    pub fn from_pkcs8(name: &str, der: &[u8]) -> Result<Self, NoteError> {
        // RFC 8410 fixes the encoding up to the seed: SEQUENCE, version,
        // AlgorithmIdentifier { id-Ed25519 }, OCTET STRING { OCTET STRING (32) }.
        const V1: &[u8] = &[
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        const V2: &[u8] = &[
            0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        // ring checks the whole document (and, for v2, that the public key
        // matches); we only need the seed out of it to write the key string.
        let checked = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|_| NoteError::BadPrivateKey)?;
        let rest = der
            .strip_prefix(V1)
            .or_else(|| der.strip_prefix(V2))
            .ok_or(NoteError::BadPrivateKey)?;
        let seed = rest
            .get(..32)
            .and_then(|s| <[u8; 32]>::try_from(s).ok())
            .ok_or(NoteError::BadPrivateKey)?;
        let signer = NoteSigner::from_seed(name, &seed)?;
        if signer.pair.public_key().as_ref() != checked.public_key().as_ref() {
            return Err(NoteError::BadPrivateKey);
        }
        Ok(signer)
    }

    /// A fresh key pair from the caller's random number generator.
    pub fn generate(name: &str, rng: &dyn SecureRandom) -> Result<Self, NoteError> {
        let mut seed = [0u8; 32];
        rng.fill(&mut seed).map_err(|_| NoteError::Random)?;
        NoteSigner::from_seed(name, &seed)
    }

    /// Parses `PRIVATE+KEY+name+hex8+base64(0x01 ‖ seed)`, the form Go's
    /// `note.NewSigner` reads, checking the key id.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let rest = text
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or(NoteError::KeySyntax)?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::KeySyntax);
        };
        check_name(name)?;
        let id = parse_key_id(id_hex)?;
        let seed = decode_typed_key(key_b64)?;
        let signer = NoteSigner::from_seed(name, &seed)?;
        if signer.id != id {
            return Err(NoteError::KeyIdMismatch {
                stated: id,
                computed: signer.id,
            });
        }
        Ok(signer)
    }

    /// The private key string `PRIVATE+KEY+…`. It is the secret: store it like one.
    pub fn to_key_string(&self) -> String {
        let mut typed = [0u8; 33];
        typed[0] = ALG_ED25519;
        typed[1..].copy_from_slice(&self.seed);
        format!(
            "{PRIVATE_PREFIX}{}+{:08x}+{}",
            self.name,
            self.id,
            BASE64.encode(typed)
        )
    }

    /// The matching public key.
    pub fn verifier_key(&self) -> VerifierKey {
        // INVARIANT: the key pair's public key is 32 bytes; the name is valid.
        let mut public = [0u8; 32];
        public.copy_from_slice(self.pair.public_key().as_ref());
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            public,
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The signature line for `text` (including its final newline).
    fn signature_line(&self, text: &str) -> String {
        let signature = self.pair.sign(text.as_bytes());
        let mut body = Vec::with_capacity(4 + 64);
        body.extend_from_slice(&self.id.to_be_bytes());
        body.extend_from_slice(signature.as_ref());
        format!("{SIG_PREFIX}{} {}\n", self.name, BASE64.encode(body))
    }
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

/// Checks the note text rules: ends in a newline, no control characters but
/// newline, within the size bound.
fn check_text(text: &str) -> Result<(), NoteError> {
    if text.len() > MAX_NOTE_LEN {
        return Err(NoteError::TooLong(text.len()));
    }
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("the text must end with a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::ControlCharacter);
    }
    Ok(())
}

/// Signs `text` with each signer and returns the signed note.
pub fn sign_note(text: &str, signers: &[&NoteSigner]) -> Result<String, NoteError> {
    check_text(text)?;
    if signers.is_empty() {
        return Err(NoteError::NoSignatures);
    }
    let mut note = String::with_capacity(text.len() + 1 + signers.len() * 110);
    note.push_str(text);
    note.push('\n');
    for signer in signers {
        note.push_str(&signer.signature_line(text));
    }
    Ok(note)
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: u32,
    /// The signature bytes after the key id.
    pub signature: Vec<u8>,
}

/// A note whose syntax has been checked but whose signatures have not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Splits a signed note into its text and signature lines, strictly: valid
    /// UTF-8, no control characters but newline, at most [`MAX_NOTE_LEN`] bytes,
    /// a blank line before one to [`MAX_SIGNATURES`] well-formed signature
    /// lines.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > MAX_NOTE_LEN {
            return Err(NoteError::TooLong(bytes.len()));
        }
        let msg = std::str::from_utf8(bytes).map_err(|_| NoteError::Utf8)?;
        if msg.chars().any(|c| c < ' ' && c != '\n') {
            return Err(NoteError::ControlCharacter);
        }
        let split = msg
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        // The text keeps its final newline; the blank line belongs to neither.
        let (text, sigs) = (msg.get(..=split), msg.get(split + 2..));
        let (Some(text), Some(sigs)) = (text, sigs) else {
            return Err(NoteError::Malformed("no blank line before the signatures"));
        };
        if sigs.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let sigs = sigs.strip_suffix('\n').ok_or(NoteError::Malformed(
            "a signature line must end with a newline",
        ))?;
        let mut signatures = Vec::new();
        for line in sigs.split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(parse_signature_line(line)?);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Checks the signatures against `known`: every signature whose key name
    /// and id match a known key must verify; signatures by other keys are
    /// ignored; at least one known key must have signed.
    pub fn verify(self, known: &[VerifierKey]) -> Result<VerifiedNote, NoteError> {
        let mut verified_by: Vec<VerifierKey> = Vec::new();
        let mut others = Vec::new();
        for sig in self.signatures {
            let Some(key) = known
                .iter()
                .find(|k| k.name == sig.name && k.id == sig.key_id)
            else {
                others.push(sig);
                continue;
            };
            if !key.verify(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::BadSignature {
                    name: sig.name,
                    key_id: sig.key_id,
                });
            }
            if !verified_by.contains(key) {
                verified_by.push(key.clone());
            }
        }
        if verified_by.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(VerifiedNote {
            text: self.text,
            verified_by,
            others,
        })
    }
}

fn parse_signature_line(line: &str) -> Result<NoteSignature, NoteError> {
    let rest = line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed(
        "a signature line must start with an em dash and a space",
    ))?;
    let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed(
        "a signature line is `— name signature`",
    ))?;
    check_name(name)?;
    let bytes = BASE64
        .decode(b64)
        .map_err(|_| NoteError::Malformed("a signature is standard padded base64"))?;
    let (id, signature) = bytes
        .split_first_chunk::<4>()
        .filter(|(_, sig)| !sig.is_empty())
        .ok_or(NoteError::Malformed(
            "a signature is a key id and at least one byte",
        ))?;
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: u32::from_be_bytes(*id),
        signature: signature.to_vec(),
    })
}

/// Parses `bytes` as a signed note and verifies it against `known` keys (see
/// [`Note::verify`]).
pub fn open_note(bytes: &[u8], known: &[VerifierKey]) -> Result<VerifiedNote, NoteError> {
    Note::parse(bytes)?.verify(known)
}

/// A note signed by at least one known key. Only [`open_note`] and
/// [`Note::verify`] make one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    text: String,
    verified_by: Vec<VerifierKey>,
    others: Vec<NoteSignature>,
}

impl VerifiedNote {
    /// The signed text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The known keys whose signatures verified.
    pub fn verified_by(&self) -> &[VerifierKey] {
        &self.verified_by
    }

    /// Signatures by keys the caller did not know (cosigners, rotated keys).
    pub fn unverified(&self) -> &[NoteSignature] {
        &self.others
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known-answer vectors from golang.org/x/mod sumdb/note/note_test.go
    // (TestNewVerifier, TestNewSigner, TestSign, TestOpen).
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    #[test]
    fn go_note_vectors_key_ids_and_key_strings() {
        let vkey = VerifierKey::parse(PETER_VKEY).unwrap();
        assert_eq!(vkey.key_id(), 0xc74f20a3);
        assert_eq!(vkey.to_string(), PETER_VKEY);
        let signer = NoteSigner::parse(PETER_SKEY).unwrap();
        assert_eq!(signer.verifier_key(), vkey);
        assert_eq!(signer.to_key_string(), PETER_SKEY);
        assert!(!format!("{signer:?}").contains("AYEK"));
    }

    #[test]
    fn go_note_vector_signature_is_reproduced() {
        // Ed25519 is deterministic, so signing Go's text gives Go's bytes.
        let signer = NoteSigner::parse(PETER_SKEY).unwrap();
        assert_eq!(
            sign_note(TEXT, &[&signer]).unwrap(),
            format!("{TEXT}\n{PETER_SIG}")
        );
    }

    #[test]
    fn go_note_vector_opens_with_either_known_key() {
        let peter = VerifierKey::parse(PETER_VKEY).unwrap();
        let enoch = VerifierKey::parse(ENOCH_VKEY).unwrap();
        let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        let note = open_note(msg.as_bytes(), std::slice::from_ref(&peter)).unwrap();
        assert_eq!(note.text(), TEXT);
        assert_eq!(note.verified_by(), std::slice::from_ref(&peter));
        assert_eq!(note.unverified().len(), 1);
        let note = open_note(msg.as_bytes(), &[enoch.clone(), peter]).unwrap();
        assert_eq!(note.verified_by().len(), 2);
        assert!(note.unverified().is_empty());
        assert!(matches!(
            open_note(msg.as_bytes(), &[]),
            Err(NoteError::NoKnownSignature)
        ));
    }

    #[test]
    fn c2sp_signed_note_example_verifies() {
        // c2sp.org/signed-note, "Verifier keys" example.
        let key = VerifierKey::parse(
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        )
        .unwrap();
        let note = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
        assert_eq!(
            open_note(note.as_bytes(), &[key]).unwrap().text(),
            "This is an example message.\n"
        );
    }

    #[test]
    fn mangled_verifier_keys_are_refused() {
        // As Go's TestNewVerifier: every proper substring and every one-byte
        // change must fail.
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if (i != 0 || j != b.len())
                    && let Ok(s) = std::str::from_utf8(&b[i..j])
                {
                    assert!(VerifierKey::parse(s).is_err(), "{s}");
                }
            }
        }
        let mut m = b.to_vec();
        for i in 0..m.len() {
            m[i] = m[i].wrapping_add(1);
            if let Ok(s) = std::str::from_utf8(&m) {
                assert!(VerifierKey::parse(s).is_err(), "{s}");
            }
            m[i] = m[i].wrapping_sub(1);
        }
        // Go's wrong-length and unknown-algorithm keys with adjusted key ids.
        assert!(
            VerifierKey::parse(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            )
            .is_err()
        );
        assert!(matches!(
            VerifierKey::parse(
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(NoteError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn a_bad_signature_by_a_known_key_rejects_the_note() {
        let peter = VerifierKey::parse(PETER_VKEY).unwrap();
        let msg = format!("{TEXT}\n{PETER_SIG}").replace("x08go/ZJ", "x08go/ZK");
        assert!(matches!(
            open_note(msg.as_bytes(), std::slice::from_ref(&peter)),
            Err(NoteError::BadSignature { .. })
        ));
        let altered = format!("{TEXT}\n{PETER_SIG}").replace("cryptography", "cryptograph!");
        assert!(matches!(
            open_note(altered.as_bytes(), &[peter]),
            Err(NoteError::BadSignature { .. })
        ));
    }

    #[test]
    fn malformed_notes_are_refused() {
        let good = format!("{TEXT}\n{PETER_SIG}");
        let cases: Vec<Vec<u8>> = vec![
            TEXT.as_bytes().to_vec(),            // no signatures
            format!("{TEXT}\n").into_bytes(),    // blank line, no signatures
            good.trim_end().as_bytes().to_vec(), // no final newline
            good.replace('—', "-").into_bytes(), // not an em dash
            good.replace("PeterNeumann x", "Peter+Neumann x")
                .into_bytes(), // bad name
            good.replace("JnAM=", "JnAM").into_bytes(), // unpadded base64
            good.replace("If you", "If\ryou").into_bytes(), // control character
            [&[0xff, b'\n', b'\n'][..], PETER_SIG.as_bytes()].concat(), // not UTF-8
            format!("{TEXT}\n— PeterNeumann AAAA\n").into_bytes(), // no signature bytes
            format!("{TEXT}\n{PETER_SIG}\n").into_bytes(), // trailing blank line
        ];
        for case in cases {
            assert!(
                Note::parse(&case).is_err(),
                "{}",
                String::from_utf8_lossy(&case)
            );
        }
        let long = format!("{}\n\n{PETER_SIG}", "a".repeat(MAX_NOTE_LEN));
        assert!(matches!(
            Note::parse(long.as_bytes()),
            Err(NoteError::TooLong(_))
        ));
        let many = format!("{TEXT}\n{}", PETER_SIG.repeat(MAX_SIGNATURES + 1));
        assert!(matches!(
            Note::parse(many.as_bytes()),
            Err(NoteError::TooManySignatures)
        ));
    }

    #[test]
    fn generated_and_pkcs8_keys_sign_and_verify() {
        let rng = ring::rand::SystemRandom::new();
        let signer = NoteSigner::generate("yrdx.example/log", &rng).unwrap();
        let again = NoteSigner::parse(&signer.to_key_string()).unwrap();
        assert_eq!(again.verifier_key(), signer.verifier_key());
        let note = sign_note("hello\n", &[&signer]).unwrap();
        open_note(note.as_bytes(), &[signer.verifier_key()]).unwrap();

        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let from_der = NoteSigner::from_pkcs8("yrdx.example/log", pkcs8.as_ref()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        assert_eq!(
            from_der.verifier_key().public_key(),
            pair.public_key().as_ref()
        );
        assert!(NoteSigner::from_pkcs8("yrdx.example/log", &pkcs8.as_ref()[..40]).is_err());
        assert!(sign_note("no newline", &[&signer]).is_err());
        assert!(sign_note("bell\u{7}\n", &[&signer]).is_err());
        assert!(NoteSigner::from_seed("bad name", &[0; 32]).is_err());
    }
}

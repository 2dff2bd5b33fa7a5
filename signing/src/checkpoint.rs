//! C2SP tlog checkpoints (`c2sp.org/tlog-checkpoint`): the signed statement
//! "the log `origin` had `size` leaves with root `root`".
//!
//! ```text
//! yrdx.example/audit
//! 1048576
//! <base64 of the 32-byte root>
//!
//! — yrdx.example/audit <base64 of key id ‖ Ed25519 signature>
//! ```
//!
//! The text is the origin, the decimal tree size (no leading zeros), the base64
//! root hash and optional non-empty extension lines, each ending in a newline,
//! wrapped in a [signed note](crate::open_note). SM3 logs use the same format
//! (their roots are also 32 bytes) and say so in one extension line,
//! [`HASH_LINE_PREFIX`]`sm3`, so that a client that only knows SHA-256 — the
//! tlog specifications' hash — can tell it cannot check the log rather than
//! find its tiles inconsistent. A SHA-256 log's checkpoints carry no such line:
//! they are byte for byte what every tlog client expects.

use crate::digest::HashAlg;
use crate::error::CheckpointError;
use crate::merkle::{Hash, TreeSize, verify_consistency};
use crate::note::{NoteSigner, VerifierKey, open_note, sign_note};

/// The body of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
// INVARIANT: origin and every extension are non-empty and contain no control
// characters (so no newline).
pub struct Checkpoint {
    origin: String,
    size: TreeSize,
    root: Hash,
    extensions: Vec<String>,
}

/// The start of the extension line naming a log's tree hash when it is not
/// SHA-256: `hash: sm3`.
pub const HASH_LINE_PREFIX: &str = "hash: ";

fn check_line(line: &str) -> Result<(), CheckpointError> {
    if line.is_empty() {
        return Err(CheckpointError::EmptyLine);
    }
    if line.chars().any(char::is_control) {
        return Err(CheckpointError::ControlCharacter);
    }
    Ok(())
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: &str, size: TreeSize, root: Hash) -> Result<Self, CheckpointError> {
        check_line(origin)?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// A checkpoint of a log hashed with `alg`: SHA-256 logs' have no
    /// extension line, any other's names its hash ([`HASH_LINE_PREFIX`]).
    pub fn of_log(
        origin: &str,
        alg: HashAlg,
        size: TreeSize,
        root: Hash,
    ) -> Result<Self, CheckpointError> {
        let checkpoint = Checkpoint::new(origin, size, root)?;
        match alg {
            HashAlg::Sha256 => Ok(checkpoint),
            other => {
                checkpoint.with_extensions(vec![format!("{HASH_LINE_PREFIX}{}", other.name())])
            }
        }
    }

    /// The tree hash the checkpoint names in a [`HASH_LINE_PREFIX`] line, if
    /// it names one (`Err` with the name when it is not one this crate
    /// knows). A checkpoint without that line names none: a SHA-256 log's, or
    /// one signed before SM3 logs said so.
    pub fn named_hash(&self) -> Option<Result<HashAlg, String>> {
        self.extensions
            .iter()
            .find_map(|line| line.strip_prefix(HASH_LINE_PREFIX))
            .map(|name| HashAlg::from_name(name).ok_or_else(|| name.to_owned()))
    }

    /// Checks that a client hashing with `alg` can check this checkpoint's
    /// log: it names no hash, or names `alg`.
    pub fn check_hash(&self, alg: HashAlg) -> Result<(), CheckpointError> {
        match self.named_hash() {
            None => Ok(()),
            Some(Ok(named)) if named == alg => Ok(()),
            Some(named) => Err(CheckpointError::UnsupportedHash {
                log: named.map_or_else(|name| name, |a| a.name().to_owned()),
                client: alg.name().to_owned(),
            }),
        }
    }

    /// Adds extension lines (opaque, non-empty; the spec discourages them).
    pub fn with_extensions(mut self, lines: Vec<String>) -> Result<Self, CheckpointError> {
        for line in &lines {
            check_line(line)?;
        }
        self.extensions = lines;
        Ok(self)
    }

    /// The log's identity.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of leaves.
    pub fn size(&self) -> TreeSize {
        self.size
    }

    /// The root hash at that size.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The extension lines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses a checkpoint's note text strictly (extension lines are kept as
    /// they are; see [`Checkpoint::check_hash`] for the one that names the
    /// hash).
    pub fn from_text(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::Syntax("the text must end with a newline"))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::Syntax(
                "a checkpoint has an origin, a size and a root",
            ));
        };
        check_line(origin)?;
        let size = parse_size(size)?;
        let root = Hash::from_base64(root).map_err(|_| CheckpointError::Root)?;
        let extensions = lines
            .map(|line| check_line(line).map(|()| line.to_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The signed checkpoint: the note text signed by `signer` (whose key name
    /// should be the origin).
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CheckpointError> {
        Ok(sign_note(&self.to_text(), &[signer])?)
    }
}

/// Decimal, no sign, no leading zeros, at most `MAX_TREE_SIZE`.
fn parse_size(text: &str) -> Result<TreeSize, CheckpointError> {
    let canonical = !text.is_empty()
        && text.len() <= 20
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(CheckpointError::Size);
    }
    let size: u64 = text.parse().map_err(|_| CheckpointError::Size)?;
    TreeSize::new(size).map_err(|_| CheckpointError::Size)
}

/// A checkpoint whose signature by the log's key has been verified. Only
/// [`open_checkpoint`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    note: String,
}

impl VerifiedCheckpoint {
    /// The checkpoint.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The signed note it was opened from, as received.
    pub fn note(&self) -> &str {
        &self.note
    }

    /// Checks that this checkpoint extends `earlier`: same origin, no smaller
    /// size, and `proof` is a consistency proof between their roots.
    pub fn check_extends(
        &self,
        alg: HashAlg,
        earlier: &Checkpoint,
        proof: &[Hash],
    ) -> Result<(), CheckpointError> {
        check_consistent(alg, earlier, &self.checkpoint, proof)
    }
}

/// Parses a signed checkpoint and verifies it against the log's key: the note
/// must carry a valid signature by `key` (other signatures, such as witness
/// cosignatures, are ignored).
pub fn open_checkpoint(
    bytes: &[u8],
    key: &VerifierKey,
) -> Result<VerifiedCheckpoint, CheckpointError> {
    let note = open_note(bytes, std::slice::from_ref(key))?;
    let checkpoint = Checkpoint::from_text(note.text())?;
    // INVARIANT: open_note checked that bytes is UTF-8.
    let note = String::from_utf8_lossy(bytes).into_owned();
    Ok(VerifiedCheckpoint { checkpoint, note })
}

/// Checks that `later` extends `earlier`: same origin, `earlier.size <=
/// later.size`, and `proof` is the consistency proof between their roots.
pub fn check_consistent(
    alg: HashAlg,
    earlier: &Checkpoint,
    later: &Checkpoint,
    proof: &[Hash],
) -> Result<(), CheckpointError> {
    if earlier.origin != later.origin {
        return Err(CheckpointError::OriginMismatch {
            expected: earlier.origin.clone(),
            got: later.origin.clone(),
        });
    }
    verify_consistency(
        alg,
        earlier.size,
        later.size,
        &earlier.root,
        &later.root,
        proof,
    )
    .map_err(|source| CheckpointError::Inconsistent {
        from: earlier.size.get(),
        to: later.size.get(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryNodes;
    use crate::error::NoteError;

    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

    #[test]
    fn c2sp_example_text_parses_and_round_trips() {
        // c2sp.org/tlog-checkpoint example body.
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::from_text(text).unwrap();
        assert_eq!(cp.origin(), "example.com/behind-the-sofa");
        assert_eq!(cp.size().get(), 20852163);
        assert_eq!(cp.to_text(), text);
        let ext = format!("{text}ext one\n");
        assert_eq!(
            Checkpoint::from_text(&ext).unwrap().extensions(),
            ["ext one"]
        );
    }

    /// An SM3 log's checkpoint names its hash; a SHA-256 log's is the plain
    /// three lines; a client checking with the other hash is told so.
    #[test]
    fn an_sm3_checkpoint_names_its_hash() {
        let root = Hash::from_base64("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=").unwrap();
        let size = TreeSize::new(5).unwrap();
        let plain = Checkpoint::of_log("o", HashAlg::Sha256, size, root).unwrap();
        assert_eq!(plain, Checkpoint::new("o", size, root).unwrap());
        assert_eq!(plain.named_hash(), None);
        plain.check_hash(HashAlg::Sha256).unwrap();
        plain.check_hash(HashAlg::Sm3).unwrap();

        let sm3 = Checkpoint::of_log("o", HashAlg::Sm3, size, root).unwrap();
        let text = sm3.to_text();
        assert!(text.ends_with("\nhash: sm3\n"), "{text}");
        let parsed = Checkpoint::from_text(&text).unwrap();
        assert_eq!(parsed.named_hash(), Some(Ok(HashAlg::Sm3)));
        parsed.check_hash(HashAlg::Sm3).unwrap();
        let refused = parsed.check_hash(HashAlg::Sha256).unwrap_err();
        assert!(
            matches!(&refused, CheckpointError::UnsupportedHash { log, client } if log == "sm3" && client == "sha256"),
            "{refused}"
        );
        assert!(refused.to_string().contains("cannot check"), "{refused}");
        // A hash this crate does not know is named as it is.
        let odd =
            Checkpoint::from_text(&format!("o\n5\n{}\nhash: blake3\n", root.to_base64())).unwrap();
        assert_eq!(odd.named_hash(), Some(Err("blake3".to_owned())));
        assert!(odd.check_hash(HashAlg::Sha256).is_err());
    }

    #[test]
    fn malformed_checkpoint_texts_are_refused() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        for text in [
            format!("o\n1\n{root}"),                     // no final newline
            format!("\n1\n{root}\n"),                    // empty origin
            format!("o\n01\n{root}\n"),                  // leading zero
            format!("o\n+1\n{root}\n"),                  // sign
            format!("o\n\n{root}\n"),                    // empty size
            format!("o\n4611686018427387905\n{root}\n"), // above 2^62
            format!("o\n99999999999999999999999\n{root}\n"),
            "o\n1\nAAAA\n".to_owned(),   // short root
            format!("o\n1\n{root}\n\n"), // empty extension line
            "o\n1\n".to_owned(),         // no root
        ] {
            assert!(Checkpoint::from_text(&text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn sign_open_and_check_consistency() {
        let alg = HashAlg::Sha256;
        let signer = NoteSigner::parse(PETER_SKEY).unwrap();
        let key = signer.verifier_key();
        let mut tree = MemoryNodes::new(alg);
        for i in 0..10u8 {
            tree.push_leaf(&[i]).unwrap();
        }
        let at = |n: u64| {
            let size = TreeSize::new(n).unwrap();
            Checkpoint::new("PeterNeumann", size, tree.root_at(size).unwrap()).unwrap()
        };
        let (old, new) = (at(6), at(10));
        let signed = new.sign(&signer).unwrap();
        let opened = open_checkpoint(signed.as_bytes(), &key).unwrap();
        assert_eq!(opened.checkpoint(), &new);
        assert_eq!(opened.note(), signed);
        let proof = tree
            .consistency_proof(old.size(), new.size())
            .unwrap()
            .proof;
        opened.check_extends(alg, &old, &proof).unwrap();

        // An earlier checkpoint with a different root, origin or size fails.
        let forked = Checkpoint::new("PeterNeumann", old.size(), new.root()).unwrap();
        assert!(matches!(
            opened.check_extends(alg, &forked, &proof),
            Err(CheckpointError::Inconsistent { .. })
        ));
        let other = Checkpoint::new("other", old.size(), old.root()).unwrap();
        assert!(matches!(
            opened.check_extends(alg, &other, &proof),
            Err(CheckpointError::OriginMismatch { .. })
        ));
        assert!(opened.check_extends(alg, &at(7), &proof).is_err());

        // Tampering with the signed text breaks the signature.
        let tampered = signed.replace("\n10\n", "\n11\n");
        assert!(matches!(
            open_checkpoint(tampered.as_bytes(), &key),
            Err(CheckpointError::Note(NoteError::BadSignature { .. }))
        ));
        // A signed note that is not a checkpoint.
        let note = sign_note("hello\n", &[&signer]).unwrap();
        assert!(open_checkpoint(note.as_bytes(), &key).is_err());
    }
}

//! Offline verification of an exported audit log: everything a regulator needs
//! besides the export file and the log's public key.
//!
//! The format is described on [`verify_export`].

use std::collections::BTreeMap;
use std::ops::Range;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, open_checkpoint};
use crate::digest::HashAlg;
use crate::error::{ExportError, ProofError};
use crate::merkle::{Frontier, Hash, LeafIndex, TreeSize, leaf_hash, verify_consistency};
use crate::note::VerifierKey;

/// The `format` value of an export header.
pub const EXPORT_FORMAT: &str = "yrdx-audit-export";

/// The export format version this crate reads and writes.
pub const EXPORT_VERSION: u32 = 1;

/// The longest header line accepted, in bytes.
pub const MAX_HEADER_LINE: usize = 16 << 20;

/// The longest leaf line accepted, in bytes (a leaf of about 768 KiB).
pub const MAX_ENTRY_LINE: usize = 1 << 20;

/// The most intermediate checkpoints a header (plus the options) may carry.
pub const MAX_EXPORT_CHECKPOINTS: usize = 100_000;

/// The header of an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportHeader {
    /// The log's origin.
    pub origin: String,
    /// The log's tree hash.
    pub alg: HashAlg,
    /// The index of the first leaf line.
    pub start: u64,
    /// The hashes of `frontier_nodes(start)`, largest subtree first.
    pub prefix: Vec<Hash>,
    /// The signed checkpoint the export ends at.
    pub checkpoint: String,
    /// Earlier signed checkpoints, to locate tampering.
    pub checkpoints: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderWire {
    format: String,
    version: u32,
    origin: String,
    hash: String,
    #[serde(default)]
    start: u64,
    #[serde(default)]
    prefix: Vec<Hash>,
    checkpoint: String,
    #[serde(default)]
    checkpoints: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryWire {
    index: u64,
    leaf: String,
}

impl ExportHeader {
    /// The header line, with its newline.
    pub fn to_line(&self) -> String {
        let wire = HeaderWire {
            format: EXPORT_FORMAT.to_owned(),
            version: EXPORT_VERSION,
            origin: self.origin.clone(),
            hash: self.alg.name().to_owned(),
            start: self.start,
            prefix: self.prefix.clone(),
            checkpoint: self.checkpoint.clone(),
            checkpoints: self.checkpoints.clone(),
        };
        // Serialising strings, numbers and base64 hashes cannot fail.
        let mut line = serde_json::to_string(&wire).unwrap_or_default();
        line.push('\n');
        line
    }

    /// Parses a header line (without or with its newline).
    pub fn parse(line: &[u8]) -> Result<Self, ExportError> {
        if line.len() > MAX_HEADER_LINE {
            return Err(ExportError::LineTooLong {
                line: 1,
                len: line.len(),
            });
        }
        let wire: HeaderWire = serde_json::from_slice(line).map_err(ExportError::Header)?;
        if wire.format != EXPORT_FORMAT {
            return Err(ExportError::Format);
        }
        if wire.version != EXPORT_VERSION {
            return Err(ExportError::Version(wire.version));
        }
        let alg = HashAlg::from_name(&wire.hash).ok_or(ExportError::UnknownHash)?;
        if wire.checkpoints.len() > MAX_EXPORT_CHECKPOINTS {
            return Err(ExportError::TooManyCheckpoints);
        }
        Ok(ExportHeader {
            origin: wire.origin,
            alg,
            start: wire.start,
            prefix: wire.prefix,
            checkpoint: wire.checkpoint,
            checkpoints: wire.checkpoints,
        })
    }
}

/// One leaf line, with its newline.
pub fn export_entry_line(index: LeafIndex, leaf: &[u8]) -> String {
    let wire = EntryWire {
        index: index.get(),
        leaf: BASE64.encode(leaf),
    };
    let mut line = serde_json::to_string(&wire).unwrap_or_default();
    line.push('\n');
    line
}

/// What else the verifier may check the export against.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// An earlier checkpoint the export must extend.
    pub since: Option<Since>,
    /// Leaf hashes known from elsewhere (consumers' receipts), by index.
    pub trusted_leaves: BTreeMap<u64, Hash>,
    /// More signed checkpoints of the same log, as signed notes, to locate
    /// tampering (in addition to the header's).
    pub checkpoints: Vec<Vec<u8>>,
}

/// An earlier checkpoint to check the export against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Since {
    /// The signed checkpoint, as a signed note.
    pub checkpoint: Vec<u8>,
    /// The consistency proof from its size to the export's checkpoint, needed
    /// only when the export starts after that size.
    pub proof: Vec<Hash>,
}

/// Which checkpoint a root was compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointRole {
    /// The checkpoint the export ends at.
    Final,
    /// An earlier checkpoint from the header or the options.
    Intermediate,
    /// The `since` checkpoint.
    Since,
}

/// The first disagreement found in an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportFinding {
    /// A leaf line with the wrong index: the leaf `expected` was removed, or
    /// lines were duplicated or reordered.
    OutOfSequence {
        /// The index due.
        expected: u64,
        /// The index found.
        found: u64,
    },
    /// A leaf whose hash differs from the trusted leaf hash.
    Altered {
        /// The leaf's index.
        index: u64,
        /// The trusted hash.
        trusted: Hash,
        /// The hash of the leaf in the export.
        found: Hash,
    },
    /// A leaf line beyond the checkpoint's size.
    Extra {
        /// Its index.
        index: u64,
    },
    /// The export ends before the checkpoint's size.
    Truncated {
        /// The first missing index.
        entries_end: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The recomputed root differs from a signed checkpoint's.
    RootMismatch {
        /// The checkpoint compared with.
        role: CheckpointRole,
        /// Its size.
        size: u64,
        /// No leaf below this index disagrees (the size of the last checkpoint
        /// that matched, or 0).
        first_bad_at_least: u64,
        /// The checkpoint's root.
        expected: Hash,
        /// The root recomputed from the export.
        computed: Hash,
    },
    /// Two signed checkpoints of the same size have different roots (or a
    /// checkpoint of size 0 has a root other than the empty tree's): the log
    /// signed inconsistent tree heads. No leaf is to blame, so
    /// [`ExportFinding::first_bad`] is empty.
    CheckpointsDisagree {
        /// The checkpoint that disagrees with one already matched.
        role: CheckpointRole,
        /// The size both claim.
        size: u64,
        /// Its root.
        expected: Hash,
        /// The root the export (and the other checkpoint) has.
        computed: Hash,
    },
    /// The consistency proof from the `since` checkpoint does not verify.
    NotConsistentWithSince {
        /// The `since` checkpoint's size.
        since: u64,
        /// The export checkpoint's size.
        size: u64,
        /// What the proof check found.
        error: ProofError,
    },
}

impl ExportFinding {
    /// Where the first bad leaf index lies: a single index when the export
    /// pins it down, otherwise the narrowest range known (empty when the
    /// checkpoints, not the leaves, disagree).
    pub fn first_bad(&self) -> Range<u64> {
        match *self {
            ExportFinding::OutOfSequence { expected, .. } => expected..expected + 1,
            ExportFinding::Altered { index, .. } | ExportFinding::Extra { index } => {
                index..index + 1
            }
            ExportFinding::Truncated { entries_end, .. } => entries_end..entries_end + 1,
            ExportFinding::RootMismatch {
                size,
                first_bad_at_least,
                ..
            } => first_bad_at_least..size,
            ExportFinding::NotConsistentWithSince { since, .. } => 0..since,
            ExportFinding::CheckpointsDisagree { .. } => 0..0,
        }
    }

    /// The first bad index, when it is known exactly.
    pub fn first_bad_index(&self) -> Option<u64> {
        let range = self.first_bad();
        (range.end == range.start + 1).then_some(range.start)
    }
}

/// What verifying an export found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportReport {
    /// The log's tree hash.
    pub alg: HashAlg,
    /// The verified checkpoint the export ends at.
    pub checkpoint: Checkpoint,
    /// The index of the first leaf line.
    pub start: u64,
    /// Leaf lines read.
    pub entries: u64,
    /// Signed checkpoints whose roots were compared (including the final one
    /// and `since` when the export covers it).
    pub checkpoints_checked: usize,
    /// Trusted leaf hashes compared.
    pub trusted_leaves_checked: usize,
    /// The `since` checkpoint's size, if the export was shown to extend it.
    pub consistent_with_since: Option<TreeSize>,
    /// The first disagreement, if any.
    pub finding: Option<ExportFinding>,
}

impl ExportReport {
    /// Whether the export verified with nothing found.
    pub fn is_valid(&self) -> bool {
        self.finding.is_none()
    }
}

#[derive(Debug)]
struct RootCheck {
    size: u64,
    root: Hash,
    role: CheckpointRole,
}

/// Verifies an export line by line, for callers that stream a large file:
/// [`ExportVerifier::new`] with the header line, [`ExportVerifier::push_line`]
/// for each following line, then [`ExportVerifier::finish`].
#[derive(Debug)]
pub struct ExportVerifier {
    frontier: Frontier,
    checkpoint: Checkpoint,
    start: u64,
    // Pending root checks, sorted by descending size so the next is last.
    checks: Vec<RootCheck>,
    trusted: BTreeMap<u64, Hash>,
    since_size: Option<TreeSize>,
    consistent_with_since: Option<TreeSize>,
    // The size of the last checkpoint whose root matched.
    last_good: Option<u64>,
    line: u64,
    entries: u64,
    checkpoints_checked: usize,
    trusted_leaves_checked: usize,
    finding: Option<ExportFinding>,
}

impl ExportVerifier {
    /// Reads the header, verifies every checkpoint's signature with `key`, and
    /// checks `since` when the export starts after it.
    pub fn new(
        header_line: &[u8],
        key: &VerifierKey,
        options: &ExportOptions,
    ) -> Result<Self, ExportError> {
        let header = ExportHeader::parse(header_line)?;
        let alg = header.alg;
        let verified = open_checkpoint(header.checkpoint.as_bytes(), key).map_err(|source| {
            ExportError::Checkpoint {
                role: CheckpointRole::Final,
                source,
            }
        })?;
        let checkpoint = verified.checkpoint().clone();
        checkpoint
            .check_hash(alg)
            .map_err(|source| ExportError::Checkpoint {
                role: CheckpointRole::Final,
                source,
            })?;
        if checkpoint.origin() != header.origin {
            return Err(ExportError::OriginMismatch {
                header: header.origin,
                checkpoint: checkpoint.origin().to_owned(),
            });
        }
        let size = checkpoint.size().get();
        if header.start > size {
            return Err(ExportError::StartBeyondCheckpoint {
                start: header.start,
                size,
            });
        }
        let start =
            TreeSize::new(header.start).map_err(|_| ExportError::StartBeyondCheckpoint {
                start: header.start,
                size,
            })?;
        let frontier = Frontier::from_hashes(alg, start, header.prefix.clone()).map_err(|_| {
            ExportError::Prefix {
                start: header.start,
                got: header.prefix.len(),
            }
        })?;

        let mut checks = vec![RootCheck {
            size,
            root: checkpoint.root(),
            role: CheckpointRole::Final,
        }];
        let extra = header
            .checkpoints
            .iter()
            .map(|c| c.as_bytes())
            .chain(options.checkpoints.iter().map(Vec::as_slice));
        for (count, note) in extra.enumerate() {
            if count == MAX_EXPORT_CHECKPOINTS {
                return Err(ExportError::TooManyCheckpoints);
            }
            let earlier = open_earlier(note, key, &checkpoint, CheckpointRole::Intermediate)?;
            if earlier.size().get() >= header.start {
                checks.push(RootCheck {
                    size: earlier.size().get(),
                    root: earlier.root(),
                    role: CheckpointRole::Intermediate,
                });
            }
        }

        let mut since_size = None;
        let mut finding = None;
        let mut consistent_with_since = None;
        if let Some(since) = &options.since {
            let earlier = open_earlier(&since.checkpoint, key, &checkpoint, CheckpointRole::Since)?;
            since_size = Some(earlier.size());
            if earlier.size().get() >= header.start {
                checks.push(RootCheck {
                    size: earlier.size().get(),
                    root: earlier.root(),
                    role: CheckpointRole::Since,
                });
            } else {
                // The leaves before `start` are not in the export: rely on the proof.
                match verify_consistency(
                    alg,
                    earlier.size(),
                    checkpoint.size(),
                    &earlier.root(),
                    &checkpoint.root(),
                    &since.proof,
                ) {
                    Ok(()) => consistent_with_since = Some(earlier.size()),
                    Err(error) => {
                        finding = Some(ExportFinding::NotConsistentWithSince {
                            since: earlier.size().get(),
                            size,
                            error,
                        });
                    }
                }
            }
        }
        // Descending by size, as run_checks pops from the end. At equal sizes
        // the final checkpoint sorts last, so it is compared first and a
        // checkpoint that disagrees with it is the one reported.
        checks.sort_by(|a, b| {
            b.size
                .cmp(&a.size)
                .then(role_rank(a.role).cmp(&role_rank(b.role)))
        });

        let mut verifier = ExportVerifier {
            frontier,
            checkpoint,
            start: header.start,
            checks,
            trusted: options.trusted_leaves.clone(),
            since_size,
            consistent_with_since,
            last_good: None,
            line: 1,
            entries: 0,
            checkpoints_checked: 0,
            trusted_leaves_checked: 0,
            finding,
        };
        verifier.run_checks();
        Ok(verifier)
    }

    /// Reads one leaf line (without or with its newline). After a finding the
    /// remaining lines are ignored.
    pub fn push_line(&mut self, line: &[u8]) -> Result<(), ExportError> {
        self.line += 1;
        if self.finding.is_some() {
            return Ok(());
        }
        if line.len() > MAX_ENTRY_LINE {
            return Err(ExportError::LineTooLong {
                line: self.line,
                len: line.len(),
            });
        }
        let line_no = self.line;
        let entry: EntryWire =
            serde_json::from_slice(line).map_err(|source| ExportError::Entry {
                line: line_no,
                source,
            })?;
        let leaf = BASE64
            .decode(entry.leaf.as_bytes())
            .map_err(|_| ExportError::LeafBase64 { line: line_no })?;
        self.entries += 1;
        let expected = self.frontier.size().get();
        if entry.index != expected {
            self.finding = Some(ExportFinding::OutOfSequence {
                expected,
                found: entry.index,
            });
            return Ok(());
        }
        if expected >= self.checkpoint.size().get() {
            self.finding = Some(ExportFinding::Extra { index: expected });
            return Ok(());
        }
        let hash = leaf_hash(self.frontier.alg(), &leaf);
        if let Some(trusted) = self.trusted.get(&expected) {
            self.trusted_leaves_checked += 1;
            if *trusted != hash {
                self.finding = Some(ExportFinding::Altered {
                    index: expected,
                    trusted: *trusted,
                    found: hash,
                });
                return Ok(());
            }
        }
        // Cannot fail: the size is below the checkpoint's, itself <= 2^62.
        if self.frontier.push(hash).is_err() {
            self.finding = Some(ExportFinding::Extra { index: expected });
            return Ok(());
        }
        self.run_checks();
        Ok(())
    }

    /// Ends the stream and reports.
    pub fn finish(mut self) -> ExportReport {
        let size = self.checkpoint.size().get();
        if self.finding.is_none() && self.frontier.size().get() < size {
            self.finding = Some(ExportFinding::Truncated {
                entries_end: self.frontier.size().get(),
                size,
            });
        }
        ExportReport {
            alg: self.frontier.alg(),
            checkpoint: self.checkpoint,
            start: self.start,
            entries: self.entries,
            checkpoints_checked: self.checkpoints_checked,
            trusted_leaves_checked: self.trusted_leaves_checked,
            consistent_with_since: self.consistent_with_since,
            finding: self.finding,
        }
    }

    /// Compares the root with every checkpoint at the current size.
    fn run_checks(&mut self) {
        let size = self.frontier.size().get();
        while self.finding.is_none() {
            let Some(check) = self.checks.pop_if(|c| c.size == size) else {
                break;
            };
            let (root, role) = (check.root, check.role);
            self.checkpoints_checked += 1;
            let computed = self.frontier.root();
            if computed == root {
                self.last_good = Some(size);
                if role == CheckpointRole::Since {
                    self.consistent_with_since = self.since_size;
                }
            } else if self.last_good == Some(size) || size == 0 {
                self.finding = Some(ExportFinding::CheckpointsDisagree {
                    role,
                    size,
                    expected: root,
                    computed,
                });
            } else {
                self.finding = Some(ExportFinding::RootMismatch {
                    role,
                    size,
                    first_bad_at_least: self.last_good.unwrap_or(0),
                    expected: root,
                    computed,
                });
            }
        }
    }
}

fn role_rank(role: CheckpointRole) -> u8 {
    match role {
        CheckpointRole::Since => 0,
        CheckpointRole::Intermediate => 1,
        CheckpointRole::Final => 2,
    }
}

/// Opens an earlier checkpoint: signed by `key`, same origin, not larger.
fn open_earlier(
    note: &[u8],
    key: &VerifierKey,
    last: &Checkpoint,
    role: CheckpointRole,
) -> Result<Checkpoint, ExportError> {
    let earlier = open_checkpoint(note, key)
        .map_err(|source| ExportError::Checkpoint { role, source })?
        .checkpoint()
        .clone();
    if earlier.origin() != last.origin() {
        return Err(ExportError::OriginMismatch {
            header: last.origin().to_owned(),
            checkpoint: earlier.origin().to_owned(),
        });
    }
    if earlier.size() > last.size() {
        return Err(ExportError::CheckpointAfterExport {
            role,
            size: earlier.size().get(),
            export: last.size().get(),
        });
    }
    Ok(earlier)
}

/// Verifies a whole export held in memory.
///
/// # The export format (`yrdx-audit-export`, version 1)
///
/// JSON Lines (UTF-8, one JSON object per line, each line ending in `\n`). The
/// first line is the header; every following line is one leaf, in index order.
///
/// ```text
/// {"format":"yrdx-audit-export","version":1,"origin":"yrdx.example/audit","hash":"sha256","start":0,"prefix":[],"checkpoint":"yrdx.example/audit\n3\n…=\n\n— yrdx.example/audit …\n","checkpoints":[]}
/// {"index":0,"leaf":"eyJ0aW1lIjoi…"}
/// {"index":1,"leaf":"eyJ0aW1lIjoi…"}
/// {"index":2,"leaf":"eyJ0aW1lIjoi…"}
/// ```
///
/// Header fields:
/// - `format`: always `"yrdx-audit-export"`; `version`: `1`.
/// - `origin`: the log's checkpoint origin; must equal the checkpoint's.
/// - `hash`: `"sha256"` or `"sm3"`, the log's tree hash.
/// - `start` (default 0): the index of the first leaf line. An export of a
///   range `[start, size)` carries in `prefix` the base64 hashes of the
///   complete subtrees left of `start` ([`frontier_nodes`](crate::frontier_nodes)
///   of `start`, largest first, one per set bit of `start`), so the root can
///   still be recomputed; they are trusted only through that root.
/// - `checkpoint`: the signed checkpoint (C2SP signed note) the export ends at;
///   the leaf lines run exactly to its tree size.
/// - `checkpoints` (default empty): earlier signed checkpoints of the same log.
///   Their roots are compared as the recomputation passes their sizes, which
///   locates tampering between two of them.
///
/// Leaf lines: `index` (decimal) and `leaf`, the standard padded base64 of the
/// exact bytes that were hashed into the tree (RFC 8785 JSON of the exchange
/// record) — the same object the regulator API's `/v1/audit/entries` returns.
///
/// Bounds: a header line of at most [`MAX_HEADER_LINE`] bytes with at most
/// [`MAX_EXPORT_CHECKPOINTS`] checkpoints, leaf lines of at most
/// [`MAX_ENTRY_LINE`] bytes, no empty lines, a final newline optional.
///
/// # What verification checks
///
/// [`verify_export`] (or the streaming [`ExportVerifier`]) checks every
/// checkpoint's signature with the log's key (a bad signature is an error),
/// recomputes the tree in one pass with a [`Frontier`], and reports the first
/// thing that disagrees as a [`ExportFinding`]: a leaf line out of sequence (removed,
/// duplicated or reordered), a leaf whose hash differs from a trusted leaf hash
/// (for instance from a consumer's receipt), a root that differs from a signed
/// checkpoint's (with the range the first bad index lies in), leaves missing at
/// the end (truncated) or beyond the checkpoint. Given an earlier checkpoint
/// (`since`), it also checks that the export extends it: directly from the
/// leaves when the export covers its size, otherwise with a consistency proof.
///
/// # Result
///
/// `Err` means the export could not be verified at all: malformed, or a
/// checkpoint not validly signed by `key`. `Ok` carries the report; check
/// [`ExportReport::finding`] (or [`ExportReport::is_valid`]).
pub fn verify_export(
    bytes: &[u8],
    key: &VerifierKey,
    options: &ExportOptions,
) -> Result<ExportReport, ExportError> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let mut lines = body.split(|b| *b == b'\n');
    let header = lines
        .next()
        .filter(|l| !l.is_empty())
        .ok_or(ExportError::Empty)?;
    let mut verifier = ExportVerifier::new(header, key, options)?;
    for line in lines {
        if line.is_empty() {
            return Err(ExportError::EmptyLine {
                line: verifier.line + 1,
            });
        }
        verifier.push_line(line)?;
    }
    Ok(verifier.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::NoteSigner;
    use crate::{MemoryNodes, frontier_nodes};

    const ORIGIN: &str = "yrdx.example/audit";

    struct Log {
        signer: NoteSigner,
        tree: MemoryNodes,
        leaves: Vec<Vec<u8>>,
    }

    impl Log {
        fn new(alg: HashAlg, n: usize) -> Log {
            let signer = NoteSigner::from_seed(ORIGIN, &[7; 32]).unwrap();
            let mut tree = MemoryNodes::new(alg);
            let mut leaves = Vec::new();
            for i in 0..n {
                let leaf = format!(r#"{{"exchange":{i}}}"#).into_bytes();
                tree.push_leaf(&leaf).unwrap();
                leaves.push(leaf);
            }
            Log {
                signer,
                tree,
                leaves,
            }
        }

        fn checkpoint(&self, n: u64) -> String {
            let size = TreeSize::new(n).unwrap();
            Checkpoint::new(ORIGIN, size, self.tree.root_at(size).unwrap())
                .unwrap()
                .sign(&self.signer)
                .unwrap()
        }

        fn export(&self, start: u64, intermediate: &[u64], leaves: &[(u64, Vec<u8>)]) -> Vec<u8> {
            let size = TreeSize::new(start).unwrap();
            let prefix = crate::NodeSource::read_nodes(&self.tree, &frontier_nodes(size)).unwrap();
            let header = ExportHeader {
                origin: ORIGIN.to_owned(),
                alg: self.tree.alg(),
                start,
                prefix,
                checkpoint: self.checkpoint(self.leaves.len() as u64),
                checkpoints: intermediate.iter().map(|&n| self.checkpoint(n)).collect(),
            };
            let mut out = header.to_line();
            for (i, leaf) in leaves {
                out.push_str(&export_entry_line(LeafIndex::new(*i).unwrap(), leaf));
            }
            out.into_bytes()
        }

        fn entries(&self) -> Vec<(u64, Vec<u8>)> {
            self.leaves
                .iter()
                .enumerate()
                .map(|(i, l)| (i as u64, l.clone()))
                .collect()
        }
    }

    fn verify(log: &Log, bytes: &[u8], options: &ExportOptions) -> ExportReport {
        verify_export(bytes, &log.signer.verifier_key(), options).unwrap()
    }

    #[test]
    fn an_intact_export_verifies_with_both_hashes() {
        for alg in [HashAlg::Sha256, HashAlg::Sm3] {
            let log = Log::new(alg, 21);
            let bytes = log.export(0, &[5, 16], &log.entries());
            let report = verify(&log, &bytes, &ExportOptions::default());
            assert!(report.is_valid(), "{report:?}");
            assert_eq!(report.entries, 21);
            assert_eq!(report.checkpoints_checked, 3);
        }
    }

    #[test]
    fn a_range_export_verifies_from_its_prefix() {
        let log = Log::new(HashAlg::Sha256, 40);
        let tail: Vec<_> = log.entries().into_iter().skip(13).collect();
        let bytes = log.export(13, &[20], &tail);
        let report = verify(&log, &bytes, &ExportOptions::default());
        assert!(report.is_valid(), "{report:?}");
        assert_eq!((report.start, report.entries), (13, 27));
    }

    #[test]
    fn an_edited_leaf_is_named_by_a_trusted_hash_or_located_by_checkpoints() {
        let log = Log::new(HashAlg::Sha256, 30);
        let mut entries = log.entries();
        entries[17].1 = b"{\"exchange\":\"forged\"}".to_vec();
        let bytes = log.export(0, &[10, 20], &entries);

        let report = verify(&log, &bytes, &ExportOptions::default());
        let finding = report.finding.unwrap();
        assert!(matches!(
            finding,
            ExportFinding::RootMismatch {
                role: CheckpointRole::Intermediate,
                size: 20,
                first_bad_at_least: 10,
                ..
            }
        ));
        assert_eq!(finding.first_bad(), 10..20);

        let trusted = log
            .leaves
            .iter()
            .enumerate()
            .map(|(i, leaf)| (i as u64, leaf_hash(HashAlg::Sha256, leaf)))
            .collect();
        let options = ExportOptions {
            trusted_leaves: trusted,
            ..ExportOptions::default()
        };
        let finding = verify(&log, &bytes, &options).finding.unwrap();
        assert_eq!(finding.first_bad_index(), Some(17));
        assert!(matches!(finding, ExportFinding::Altered { index: 17, .. }));
    }

    #[test]
    fn removed_reordered_truncated_and_extra_leaves_are_named() {
        let log = Log::new(HashAlg::Sha256, 12);
        let opts = ExportOptions::default();

        let mut removed = log.entries();
        removed.remove(4);
        let f = verify(&log, &log.export(0, &[], &removed), &opts).finding;
        assert_eq!(
            f,
            Some(ExportFinding::OutOfSequence {
                expected: 4,
                found: 5
            })
        );

        let mut reordered = log.entries();
        reordered.swap(6, 7);
        let f = verify(&log, &log.export(0, &[], &reordered), &opts).finding;
        assert_eq!(f.unwrap().first_bad_index(), Some(6));

        // Swapping leaf contents but keeping the index numbers: only the root
        // (here with a checkpoint at every size) can tell.
        let mut swapped = log.entries();
        let (a, b) = (swapped[6].1.clone(), swapped[7].1.clone());
        swapped[6].1 = b;
        swapped[7].1 = a;
        let every: Vec<u64> = (1..12).collect();
        let f = verify(&log, &log.export(0, &every, &swapped), &opts).finding;
        assert_eq!(f.unwrap().first_bad_index(), Some(6));

        let truncated: Vec<_> = log.entries().into_iter().take(9).collect();
        let f = verify(&log, &log.export(0, &[], &truncated), &opts).finding;
        assert_eq!(
            f,
            Some(ExportFinding::Truncated {
                entries_end: 9,
                size: 12
            })
        );

        let mut extra = log.entries();
        extra.push((12, b"{}".to_vec()));
        let f = verify(&log, &log.export(0, &[], &extra), &opts).finding;
        assert_eq!(f, Some(ExportFinding::Extra { index: 12 }));
    }

    #[test]
    fn since_is_checked_from_the_leaves_or_with_a_proof() {
        let log = Log::new(HashAlg::Sha256, 25);
        let since = |n: u64, proof: Vec<Hash>| ExportOptions {
            since: Some(Since {
                checkpoint: log.checkpoint(n).into_bytes(),
                proof,
            }),
            ..ExportOptions::default()
        };
        let full = log.export(0, &[], &log.entries());
        let report = verify(&log, &full, &since(9, Vec::new()));
        assert!(report.is_valid());
        assert_eq!(report.consistent_with_since.map(TreeSize::get), Some(9));

        let tail: Vec<_> = log.entries().into_iter().skip(16).collect();
        let range = log.export(16, &[], &tail);
        let proof = log
            .tree
            .consistency_proof(TreeSize::new(9).unwrap(), TreeSize::new(25).unwrap())
            .unwrap()
            .proof;
        let report = verify(&log, &range, &since(9, proof.clone()));
        assert!(report.is_valid());
        assert_eq!(report.consistent_with_since.map(TreeSize::get), Some(9));
        let mut bad = proof;
        bad.pop();
        let report = verify(&log, &range, &since(9, bad));
        assert!(matches!(
            report.finding,
            Some(ExportFinding::NotConsistentWithSince { since: 9, .. })
        ));

        // An earlier checkpoint of a fork (leaf 3 differs), signed by the same
        // key: the log has signed two inconsistent checkpoints.
        let mut fork = MemoryNodes::new(HashAlg::Sha256);
        for (i, leaf) in log.leaves.iter().take(9).enumerate() {
            fork.push_leaf(if i == 3 { b"x" } else { leaf }).unwrap();
        }
        let forked_cp = Checkpoint::new(ORIGIN, TreeSize::new(9).unwrap(), fork.root())
            .unwrap()
            .sign(&log.signer)
            .unwrap();
        let options = ExportOptions {
            since: Some(Since {
                checkpoint: forked_cp.into_bytes(),
                proof: Vec::new(),
            }),
            ..ExportOptions::default()
        };
        let finding = verify(&log, &full, &options).finding.unwrap();
        assert!(matches!(
            finding,
            ExportFinding::RootMismatch {
                role: CheckpointRole::Since,
                size: 9,
                ..
            }
        ));
    }

    #[test]
    fn two_signed_roots_for_one_size_are_reported_as_such() {
        let log = Log::new(HashAlg::Sha256, 8);
        let other = Checkpoint::new(
            ORIGIN,
            TreeSize::new(8).unwrap(),
            leaf_hash(HashAlg::Sha256, b"fork"),
        )
        .unwrap()
        .sign(&log.signer)
        .unwrap();
        let options = ExportOptions {
            checkpoints: vec![other.into_bytes()],
            ..ExportOptions::default()
        };
        let finding = verify(&log, &log.export(0, &[], &log.entries()), &options)
            .finding
            .unwrap();
        assert!(matches!(
            finding,
            ExportFinding::CheckpointsDisagree {
                role: CheckpointRole::Intermediate,
                size: 8,
                ..
            }
        ));
        assert!(finding.first_bad().is_empty());
    }

    #[test]
    fn malformed_exports_and_bad_signatures_are_errors() {
        let log = Log::new(HashAlg::Sha256, 5);
        let key = log.signer.verifier_key();
        let opts = ExportOptions::default();
        let good = String::from_utf8(log.export(0, &[], &log.entries())).unwrap();
        let header = good.lines().next().unwrap();

        assert!(matches!(
            verify_export(b"", &key, &opts),
            Err(ExportError::Empty)
        ));
        let cases = [
            good.replace(r#""version":1"#, r#""version":2"#),
            good.replace(r#""hash":"sha256""#, r#""hash":"md5""#),
            good.replace(r#""format":"yrdx-audit-export""#, r#""format":"x""#),
            good.replace(r#""origin":"yrdx.example/audit""#, r#""origin":"other""#),
            good.replace("\n{\"index\":1", "\n\n{\"index\":1"),
            good.replace(r#"{"index":2"#, r#"{"index":-2"#),
            good.replace(r#"{"index":2,"leaf":""#, r#"{"index":2,"leaf":"!"#),
            good.replace(r#"{"index":2,"#, r#"{"index":2,"extra":1,"#),
            format!("{header}\nnot json\n"),
            good.replace(r#""start":0"#, r#""start":3"#),
            good.replace(r#""start":0"#, r#""start":6"#),
        ];
        for case in &cases {
            assert!(
                verify_export(case.as_bytes(), &key, &opts).is_err(),
                "{case}"
            );
        }
        // Signed by another key.
        let stranger = NoteSigner::from_seed(ORIGIN, &[8; 32]).unwrap();
        assert!(matches!(
            verify_export(good.as_bytes(), &stranger.verifier_key(), &opts),
            Err(ExportError::Checkpoint {
                role: CheckpointRole::Final,
                ..
            })
        ));
        // A long line is refused before parsing.
        let long = format!("{header}\n{}\n", "a".repeat(MAX_ENTRY_LINE + 1));
        assert!(matches!(
            verify_export(long.as_bytes(), &key, &opts),
            Err(ExportError::LineTooLong { line: 2, .. })
        ));
    }
}

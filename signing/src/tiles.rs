//! C2SP tlog-tiles (`c2sp.org/tlog-tiles`) arithmetic: which hashes a tile
//! holds, tile paths, a tile's bytes from stored nodes, a node source built from
//! fetched tiles, and entry bundles.
//!
//! A tile at level `L` and index `N` holds up to 256 consecutive hashes of level
//! `8·L` in the tree: `NodeId(8L, 256·N + i)` for `i < width`. A full tile is
//! 256 hashes (8192 bytes); the rightmost tiles of a tree are partial, with
//! `floor(size / 256^L) mod 256` hashes. Nodes between those levels are
//! recomputed from the tile. Paths are `tile/<L>/<N>[.p/<W>]` and
//! `tile/entries/<N>[.p/<W>]`, with `N` in three-digit groups, every group but
//! the last prefixed with `x`: 1234067 is `x001/x234/067`.
//!
//! Tiles are untrusted data: a client builds a [`TileNodes`], computes the
//! root or proofs it needs from it, and checks them against a verified
//! checkpoint.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::digest::HashAlg;
use crate::error::{MerkleError, TileError};
use crate::merkle::{HASH_LEN, Hash, MAX_LEVEL, NodeId, NodeSource, TreeSize, node_hash};

/// The number of tree levels one tile spans.
pub const TILE_HEIGHT: u8 = 8;

/// The number of hashes (or entries) in a full tile.
pub const TILE_WIDTH: u16 = 256;

/// The highest tile level a path may name.
pub const MAX_TILE_LEVEL: u8 = 63;

/// The largest entry an entry bundle can carry (its length is a `u16`).
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// Hashes of tree level `8 × level`.
    Hashes {
        /// The tile level.
        level: u8,
    },
    /// Log entries (an entry bundle), whose hashes are the level-0 tile.
    Entries,
}

/// A tile or an entry bundle: kind, index and width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
// INVARIANT: 1 <= width <= 256, a Hashes level is <= MAX_TILE_LEVEL, and
// (index + 1)·256 fits in a u64.
pub struct Tile {
    kind: TileKind,
    index: u64,
    width: u16,
}

impl Tile {
    /// The hash tile `(level, index)` with `width` hashes.
    pub fn hashes(level: u8, index: u64, width: u16) -> Result<Self, TileError> {
        if level > MAX_TILE_LEVEL {
            return Err(TileError::Level(level));
        }
        Tile::checked(TileKind::Hashes { level }, index, width)
    }

    /// The entry bundle `index` with `width` entries.
    pub fn entries(index: u64, width: u16) -> Result<Self, TileError> {
        Tile::checked(TileKind::Entries, index, width)
    }

    fn checked(kind: TileKind, index: u64, width: u16) -> Result<Self, TileError> {
        if width == 0 || width > TILE_WIDTH {
            return Err(TileError::Width(width));
        }
        if index
            .checked_add(1)
            .and_then(|n| n.checked_mul(256))
            .is_none()
        {
            return Err(TileError::Index);
        }
        Ok(Tile { kind, index, width })
    }

    /// The tile of `kind` and `index` as a client fetches it for a tree of
    /// `size` leaves: full if the tree has all its hashes, partial otherwise,
    /// `None` if the tree has none of them.
    pub fn for_size(kind: TileKind, index: u64, size: TreeSize) -> Option<Tile> {
        let available = level_count(kind, size)?;
        let start = index.checked_mul(256)?;
        let width = available.checked_sub(start)?.min(u64::from(TILE_WIDTH));
        let width = u16::try_from(width).ok()?;
        Tile::checked(kind, index, width).ok()
    }

    /// What the tile holds.
    pub fn kind(&self) -> TileKind {
        self.kind
    }

    /// The tile's index within its level.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The number of hashes or entries.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Whether the tile has fewer than 256 hashes or entries.
    pub fn is_partial(&self) -> bool {
        self.width < TILE_WIDTH
    }

    /// Whether a tree of `size` leaves has every hash or entry of this tile, so
    /// that a log at that size may serve it.
    pub fn is_within(&self, size: TreeSize) -> bool {
        let end = self.index * 256 + u64::from(self.width);
        level_count(self.kind, size).is_some_and(|available| end <= available)
    }

    /// The tree nodes whose hashes the tile holds, left to right (for an entry
    /// bundle, the leaf hashes of its entries).
    pub fn nodes(&self) -> Result<Vec<NodeId>, TileError> {
        let level = self.node_level()?;
        let start = self.index * 256;
        (start..start + u64::from(self.width))
            .map(|k| NodeId::new(level, k).map_err(TileError::Merkle))
            .collect()
    }

    fn node_level(&self) -> Result<u8, TileError> {
        match self.kind {
            TileKind::Entries => Ok(0),
            TileKind::Hashes { level } => level
                .checked_mul(TILE_HEIGHT)
                .filter(|l| *l <= MAX_LEVEL)
                .ok_or(TileError::Level(level)),
        }
    }

    /// The path below the log's prefix: `tile/<L>/<N>[.p/<W>]` or
    /// `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let mut path = match self.kind {
            TileKind::Hashes { level } => format!("tile/{level}/"),
            TileKind::Entries => "tile/entries/".to_owned(),
        };
        push_index(&mut path, self.index);
        if self.is_partial() {
            let _ = write!(path, ".p/{}", self.width);
        }
        path
    }

    /// Parses a path written by [`Tile::path`], strictly (no leading zeros
    /// beyond the three-digit groups, no empty or extra elements).
    pub fn parse_path(path: &str) -> Result<Tile, TileError> {
        // Bounded: 20 digits of index make 7 groups; refuse anything longer.
        if path.len() > 64 {
            return Err(TileError::Path);
        }
        let rest = path.strip_prefix("tile/").ok_or(TileError::Path)?;
        let (kind_part, rest) = rest.split_once('/').ok_or(TileError::Path)?;
        let kind = if kind_part == "entries" {
            TileKind::Entries
        } else {
            TileKind::Hashes {
                level: parse_decimal(kind_part, 63)
                    .and_then(|l| u8::try_from(l).ok())
                    .ok_or(TileError::Path)?,
            }
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((index_part, width)) => {
                let width = parse_decimal(width, 255)
                    .and_then(|w| u16::try_from(w).ok())
                    .filter(|w| *w >= 1)
                    .ok_or(TileError::Path)?;
                (index_part, width)
            }
            None => (rest, TILE_WIDTH),
        };
        let index = parse_index(index_part).ok_or(TileError::Path)?;
        Tile::checked(kind, index, width)
    }
}

/// How many hashes of the tile kind's level a tree of `size` leaves has.
fn level_count(kind: TileKind, size: TreeSize) -> Option<u64> {
    match kind {
        TileKind::Entries => Some(size.get()),
        TileKind::Hashes { level } => {
            let shift = u32::from(level).checked_mul(u32::from(TILE_HEIGHT))?;
            Some(size.get().checked_shr(shift).unwrap_or(0))
        }
    }
}

/// `x001/x234/067` for 1234067.
fn push_index(path: &mut String, index: u64) {
    let mut groups = Vec::new();
    let mut n = index;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    for (i, group) in groups.iter().rev().enumerate() {
        if i < last {
            let _ = write!(path, "x{group:03}/");
        } else {
            let _ = write!(path, "{group:03}");
        }
    }
}

/// A decimal without leading zeros, at most `max`.
fn parse_decimal(text: &str, max: u64) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.len() <= 3
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    text.parse().ok().filter(|n| canonical && *n <= max)
}

/// The inverse of [`push_index`]; the canonical form only.
fn parse_index(text: &str) -> Option<u64> {
    let mut value: u64 = 0;
    let mut elements = text.split('/').peekable();
    let mut first = true;
    while let Some(element) = elements.next() {
        let digits = if elements.peek().is_some() {
            element.strip_prefix('x')?
        } else {
            element
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let group: u64 = digits.parse().ok()?;
        // A leading all-zero group would give a second spelling of the index.
        if first && group == 0 && elements.peek().is_some() {
            return None;
        }
        first = false;
        value = value.checked_mul(1000)?.checked_add(group)?;
    }
    Some(value)
}

/// The bytes of hash tile `tile`: its hashes, concatenated, read from stored
/// nodes.
pub fn tile_bytes(source: &impl NodeSource, tile: &Tile) -> Result<Vec<u8>, TileError> {
    if tile.kind == TileKind::Entries {
        return Err(TileError::NotAHashTile);
    }
    let nodes = tile.nodes()?;
    let hashes = source.read_nodes(&nodes)?;
    if hashes.len() != nodes.len() {
        return Err(TileError::Merkle(MerkleError::SourceCount {
            expected: nodes.len(),
            got: hashes.len(),
        }));
    }
    Ok(hashes
        .iter()
        .flat_map(|h| h.as_bytes().iter().copied())
        .collect())
}

/// The hash tile holding node `id`, with the position of the first of the
/// `2^h` hashes `id` is computed from, and `h`.
fn locate(id: NodeId) -> (u8, u64, usize, u8) {
    let tile_level = id.level() / TILE_HEIGHT;
    let height = id.level() % TILE_HEIGHT;
    // INVARIANT: NodeId bounds keep index << height inside the largest tree.
    let first = id.index() << height;
    let position = usize::try_from(first % 256).unwrap_or(0);
    (tile_level, first / 256, position, height)
}

/// The hash tiles a client needs, at tree size `size`, to read `nodes` (for
/// instance a [`ProofPlan`](crate::ProofPlan)'s) from a [`TileNodes`].
pub fn tiles_for_nodes(nodes: &[NodeId], size: TreeSize) -> Result<Vec<Tile>, TileError> {
    let mut tiles: Vec<Tile> = Vec::new();
    for &id in nodes {
        let (level, index, _, _) = locate(id);
        let kind = TileKind::Hashes { level };
        let tile = Tile::for_size(kind, index, size).ok_or(TileError::NodeBeyondTree {
            level: id.level(),
            index: id.index(),
        })?;
        if !tiles.contains(&tile) {
            tiles.push(tile);
        }
    }
    Ok(tiles)
}

/// A [`NodeSource`] over fetched hash tiles, for clients that read the log in
/// the tlog-tiles layout.
#[derive(Clone, Debug)]
pub struct TileNodes {
    alg: HashAlg,
    tiles: HashMap<(u8, u64), Vec<Hash>>,
}

impl TileNodes {
    /// No tiles yet.
    pub fn new(alg: HashAlg) -> Self {
        TileNodes {
            alg,
            tiles: HashMap::new(),
        }
    }

    /// Adds a fetched hash tile. A wider tile replaces a narrower one.
    pub fn insert(&mut self, tile: &Tile, bytes: &[u8]) -> Result<(), TileError> {
        let TileKind::Hashes { level } = tile.kind else {
            return Err(TileError::NotAHashTile);
        };
        tile.node_level()?;
        let expected = usize::from(tile.width) * HASH_LEN;
        if bytes.len() != expected {
            return Err(TileError::Length {
                expected,
                got: bytes.len(),
            });
        }
        let hashes = bytes
            .chunks_exact(HASH_LEN)
            .map(Hash::from_slice)
            .collect::<Result<Vec<_>, _>>()?;
        let slot = self.tiles.entry((level, tile.index)).or_default();
        if hashes.len() > slot.len() {
            *slot = hashes;
        }
        Ok(())
    }
}

impl NodeSource for TileNodes {
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, MerkleError> {
        ids.iter()
            .map(|&id| {
                let missing = MerkleError::MissingNode {
                    level: id.level(),
                    index: id.index(),
                };
                let (level, index, position, height) = locate(id);
                let run = self
                    .tiles
                    .get(&(level, index))
                    .and_then(|hashes| hashes.get(position..position + (1usize << height)))
                    .ok_or(missing)?;
                Ok(fold_perfect(self.alg, run))
            })
            .collect()
    }
}

/// The root of a perfect subtree over `hashes` (a power of two of them).
fn fold_perfect(alg: HashAlg, hashes: &[Hash]) -> Hash {
    let mut row: Vec<Hash> = hashes.to_vec();
    while row.len() > 1 {
        row = row
            .chunks_exact(2)
            .filter_map(|pair| Some(node_hash(alg, pair.first()?, pair.get(1)?)))
            .collect();
    }
    row.first()
        .copied()
        .unwrap_or(Hash::from_bytes([0; HASH_LEN]))
}

/// Encodes entries as an entry bundle: each a big-endian `u16` length and the
/// bytes. At most 256 entries of at most 65 535 bytes.
pub fn encode_entry_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    for (count, entry) in entries.into_iter().enumerate() {
        if count == usize::from(TILE_WIDTH) {
            return Err(TileError::BundleCount);
        }
        let len = u16::try_from(entry.len()).map_err(|_| TileError::EntryTooLong(entry.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// Splits an entry bundle into exactly `width` entries.
pub fn parse_entry_bundle(bytes: &[u8], width: u16) -> Result<Vec<&[u8]>, TileError> {
    let mut entries = Vec::with_capacity(usize::from(width.min(TILE_WIDTH)));
    let mut rest = bytes;
    while !rest.is_empty() {
        if entries.len() >= usize::from(width) {
            return Err(TileError::BundleCount);
        }
        let (len, tail) = rest
            .split_first_chunk::<2>()
            .ok_or(TileError::BundleTruncated)?;
        let len = usize::from(u16::from_be_bytes(*len));
        let (entry, tail) = tail
            .split_at_checked(len)
            .ok_or(TileError::BundleTruncated)?;
        entries.push(entry);
        rest = tail;
    }
    if entries.len() != usize::from(width) {
        return Err(TileError::BundleCount);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LeafIndex, MemoryNodes, inclusion_plan, leaf_hash, root_from};

    fn size(n: u64) -> TreeSize {
        TreeSize::new(n).unwrap()
    }

    #[test]
    fn paths_follow_the_spec_examples() {
        // c2sp.org/tlog-tiles: index 1234067 is x001/x234/067.
        let t = Tile::hashes(0, 1234067, 256).unwrap();
        assert_eq!(t.path(), "tile/0/x001/x234/067");
        assert_eq!(Tile::parse_path("tile/0/x001/x234/067").unwrap(), t);
        let p = Tile::entries(5, 17).unwrap();
        assert_eq!(p.path(), "tile/entries/005.p/17");
        assert_eq!(Tile::parse_path(&p.path()).unwrap(), p);
        assert_eq!(Tile::hashes(2, 0, 1).unwrap().path(), "tile/2/000.p/1");
        assert_eq!(
            Tile::hashes(1, 1000, 256).unwrap().path(),
            "tile/1/x001/000"
        );
        for bad in [
            "tile/0/1",
            "tile/0/0001",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/00/001",
            "tile/64/001",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/07",
            "tile/0/001.p/",
            "tile/0/x001",
            "tile/0/",
            "tile/x/001",
            "tiles/0/001",
            "tile/0/001/",
            "tile/entries/x1/001",
        ] {
            assert!(Tile::parse_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn widths_for_a_tree_of_70000_follow_the_spec_example() {
        // c2sp.org/tlog-tiles: 70,000 leaves are 273 full level-0 tiles, one
        // partial of 112, one full level-1 tile, one partial of 17, and a
        // partial level-2 tile of width 1.
        let s = size(70_000);
        let h = |level| TileKind::Hashes { level };
        assert_eq!(Tile::for_size(h(0), 272, s).unwrap().width(), 256);
        assert_eq!(Tile::for_size(h(0), 273, s).unwrap().width(), 112);
        assert!(Tile::for_size(h(0), 274, s).is_none());
        assert_eq!(Tile::for_size(h(1), 0, s).unwrap().width(), 256);
        assert_eq!(Tile::for_size(h(1), 1, s).unwrap().width(), 17);
        assert_eq!(Tile::for_size(h(2), 0, s).unwrap().width(), 1);
        assert!(Tile::for_size(h(3), 0, s).is_none());
        assert_eq!(
            Tile::for_size(TileKind::Entries, 273, s).unwrap().width(),
            112
        );
        assert!(Tile::for_size(h(1), 1, s).unwrap().is_within(s));
        assert!(!Tile::hashes(1, 1, 18).unwrap().is_within(s));
    }

    #[test]
    fn proofs_from_tiles_match_proofs_from_the_store() {
        let alg = HashAlg::Sha256;
        let mut store = MemoryNodes::new(alg);
        for i in 0..70_000u32 {
            store.push_leaf(&i.to_be_bytes()).unwrap();
        }
        let s = size(70_000);
        let plan = inclusion_plan(LeafIndex::new(65_537).unwrap(), s).unwrap();
        let mut client = TileNodes::new(alg);
        let mut reads = plan.nodes().to_vec();
        reads.extend(crate::frontier_nodes(s));
        for tile in tiles_for_nodes(&reads, s).unwrap() {
            client
                .insert(&tile, &tile_bytes(&store, &tile).unwrap())
                .unwrap();
        }
        assert_eq!(root_from(alg, &client, s).unwrap(), store.root());
        let from_tiles = plan.assemble(alg, &client.read_nodes(plan.nodes()).unwrap());
        let from_store = store.inclusion_proof(LeafIndex::new(65_537).unwrap(), s);
        assert_eq!(from_tiles.unwrap(), from_store.unwrap().proof);
        // A short tile is refused; a missing one is reported.
        let t = Tile::hashes(0, 0, 256).unwrap();
        assert!(client.insert(&t, &[0; 31]).is_err());
        assert!(TileNodes::new(alg).read_nodes(plan.nodes()).is_err());
        assert_eq!(
            tile_bytes(&store, &t).unwrap()[..32],
            leaf_hash(alg, &0u32.to_be_bytes()).as_bytes()[..]
        );
    }

    #[test]
    fn entry_bundles_round_trip_and_are_bounded() {
        let entries: Vec<&[u8]> = vec![b"", b"a", &[7; 300]];
        let bundle = encode_entry_bundle(entries.iter().copied()).unwrap();
        assert_eq!(&bundle[..5], &[0, 0, 0, 1, b'a']);
        assert_eq!(parse_entry_bundle(&bundle, 3).unwrap(), entries);
        assert!(parse_entry_bundle(&bundle, 2).is_err());
        assert!(parse_entry_bundle(&bundle, 4).is_err());
        assert!(parse_entry_bundle(&bundle[..bundle.len() - 1], 3).is_err());
        assert!(encode_entry_bundle([&[0u8; 65_536][..]]).is_err());
        assert!(encode_entry_bundle(std::iter::repeat_n(&b""[..], 257)).is_err());
    }
}

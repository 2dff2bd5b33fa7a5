//! The two hash functions yrdx uses: SHA-256 (ring) and SM3 (RustCrypto `sm3`).

use sm3::Digest as _;

/// A hash algorithm a log or a document can be created with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA-256, the default.
    Sha256,
    /// SM3 (GB/T 32905), for deployments that require the national algorithms.
    Sm3,
}

impl HashAlg {
    /// The algorithm's name as it appears in configuration and reports.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sm3 => "sm3",
        }
    }

    /// Parses `sha256` or `sm3`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" | "sha-256" | "SHA-256" => Some(HashAlg::Sha256),
            "sm3" | "SM3" => Some(HashAlg::Sm3),
            _ => None,
        }
    }

    /// Hashes the concatenation of `parts`.
    pub fn hash_parts(self, parts: &[&[u8]]) -> [u8; 32] {
        match self {
            HashAlg::Sha256 => {
                let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
                for p in parts {
                    ctx.update(p);
                }
                let d = ctx.finish();
                let mut out = [0u8; 32];
                out.copy_from_slice(d.as_ref());
                out
            }
            HashAlg::Sm3 => {
                let mut h = sm3::Sm3::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().into()
            }
        }
    }

    /// Hashes `data`.
    pub fn hash(self, data: &[u8]) -> [u8; 32] {
        self.hash_parts(&[data])
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    HashAlg::Sha256.hash(data)
}

/// SM3 of `data`.
pub fn sm3(data: &[u8]) -> [u8; 32] {
    HashAlg::Sm3.hash(data)
}

/// Lower-case hexadecimal, for digests in records and reports.
#[allow(clippy::indexing_slicing, reason = "a nibble is always < 16")]
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_known_answer() {
        // FIPS 180-2 example "abc".
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn sm3_known_answer() {
        // GB/T 32905-2016 example 1: "abc".
        assert_eq!(
            hex(&sm3(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn parts_hash_like_the_concatenation() {
        for alg in [HashAlg::Sha256, HashAlg::Sm3] {
            assert_eq!(alg.hash_parts(&[b"ab", b"", b"c"]), alg.hash(b"abc"));
        }
    }
}

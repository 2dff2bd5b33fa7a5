//! What the seal vector tests and the seal benchmark share: the committed
//! vectors of `conformance/vectors/seals/` and the trust in their seal PKI.

use yrdx_signing::{Region, TrustStore};

/// The bytes of a committed seal vector, by its path under
/// `conformance/vectors/seals/`.
macro_rules! vector {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../conformance/vectors/seals/",
            $name
        ))
        .as_slice()
    };
}

/// The seal anchors, intermediate and CRLs of the vectors' two regions, with
/// CRLs required for Zhejiang (no timestamp anchor).
pub fn seal_trust() -> TrustStore {
    let mut t = TrustStore::new();
    t.add_seal_anchor(Region::Zj, vector!("trust/zj-seal-root.der"))
        .unwrap();
    t.add_intermediate(vector!("trust/zj-seal-ca.der")).unwrap();
    t.add_crl(vector!("trust/zj-seal-root.crl")).unwrap();
    t.add_crl(vector!("trust/zj-seal-ca.crl")).unwrap();
    t.require_crls(Region::Zj);
    t.add_seal_anchor(Region::Sh, vector!("trust/sh-seal-root.der"))
        .unwrap();
    t.add_crl(vector!("trust/sh-seal-root.crl")).unwrap();
    t
}

// Shared by the seal fuzz targets: the vectors' trust configuration, built once.
use std::sync::OnceLock;

use time::OffsetDateTime;
use yrdx_signing::{Region, TrustStore};

pub const AT: OffsetDateTime = time::macros::datetime!(2026-01-01 00:00:00 UTC);

macro_rules! vector {
    ($name:literal) => {
        include_bytes!(concat!("../../conformance/vectors/seals/", $name)).as_slice()
    };
}
#[allow(unused_imports, reason = "not every target uses the macro")]
pub(crate) use vector;

pub fn trust() -> &'static TrustStore {
    static TRUST: OnceLock<TrustStore> = OnceLock::new();
    TRUST.get_or_init(|| {
        let mut t = TrustStore::new();
        let _ = t.add_seal_anchor(Region::Zj, vector!("trust/zj-seal-root.der"));
        let _ = t.add_intermediate(vector!("trust/zj-seal-ca.der"));
        let _ = t.add_crl(vector!("trust/zj-seal-root.crl"));
        let _ = t.add_crl(vector!("trust/zj-seal-ca.crl"));
        t.require_crls(Region::Zj);
        let _ = t.add_seal_anchor(Region::Sh, vector!("trust/sh-seal-root.der"));
        let _ = t.add_crl(vector!("trust/sh-seal-root.crl"));
        let _ = t.add_tsa_anchor(Region::Zj, vector!("trust/tsa-root.der"));
        let _ = t.add_crl(vector!("trust/tsa-root.crl"));
        t
    })
}

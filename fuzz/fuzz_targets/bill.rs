//! Bill XML (fiscal e-bills and 数电发票), verified against the committed bill
//! vectors' trust; the first byte also chooses the OFD path for packages.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use time::macros::datetime;
use yrdx_signing::{BillTrust, Region, TrustStore, verify_bill, verify_bill_ofd};

fn bill_trust() -> &'static BillTrust {
    static TRUST: OnceLock<BillTrust> = OnceLock::new();
    TRUST.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../conformance/vectors/bills/trust/");
        let mut t = BillTrust::new();
        for region in Region::ALL {
            let c = region.code();
            if let Ok(der) = std::fs::read(format!("{dir}{c}-bill-root.der")) {
                let _ = t.add_anchor(region, &der);
            }
            for leaf in ["unit", "revoked-unit", "finance", "tax"] {
                if let Ok(der) = std::fs::read(format!("{dir}{c}-{leaf}.der")) {
                    let _ = t.add_certificate(region, &der);
                }
            }
        }
        t
    })
}

fuzz_target!(|data: &[u8]| {
    let at = datetime!(2026-02-01 00:00:00 UTC);
    let report = verify_bill(data, bill_trust(), at);
    let _ = format!("{report:?}");
    let _ = report.summary();
    if data.starts_with(b"PK") {
        let _ = verify_bill_ofd(data, bill_trust(), &TrustStore::new(), at);
    }
});

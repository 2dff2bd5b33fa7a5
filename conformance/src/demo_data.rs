//! The demo federation's data, compiled in so that `yrdx demo` needs nothing but
//! the binary: registry files, the province mapping files, and the examples the
//! demo manifest lists. Test data only.

use serde::Serialize;
use serde_json::{Value, json};

/// Registry files: `(file name, contents)`.
pub const REGISTRY: &[(&str, &str)] = &[
    (
        "members.toml",
        include_str!("../demo/registry/members.toml"),
    ),
    (
        "catalogue.toml",
        include_str!("../demo/registry/catalogue.toml"),
    ),
    (
        "responsibility-list.toml",
        include_str!("../demo/registry/responsibility-list.toml"),
    ),
];

/// Mapping files from `adapters/provinces/`: `(path under it, contents)`.
pub const MAPPINGS: &[(&str, &str)] = &[
    (
        "ah/business-licence.toml",
        include_str!("../../adapters/provinces/ah/business-licence.toml"),
    ),
    (
        "ah/enterprise-registration.toml",
        include_str!("../../adapters/provinces/ah/enterprise-registration.toml"),
    ),
    (
        "ah/household.toml",
        include_str!("../../adapters/provinces/ah/household.toml"),
    ),
    (
        "ah/licence-business.toml",
        include_str!("../../adapters/provinces/ah/licence-business.toml"),
    ),
    (
        "ah/licence-construction-qualification.toml",
        include_str!("../../adapters/provinces/ah/licence-construction-qualification.toml"),
    ),
    (
        "ah/licence-food-business.toml",
        include_str!("../../adapters/provinces/ah/licence-food-business.toml"),
    ),
    (
        "ah/licence-household-booklet.toml",
        include_str!("../../adapters/provinces/ah/licence-household-booklet.toml"),
    ),
    (
        "ah/licence-real-estate-title.toml",
        include_str!("../../adapters/provinces/ah/licence-real-estate-title.toml"),
    ),
    (
        "ah/licence-road-transport.toml",
        include_str!("../../adapters/provinces/ah/licence-road-transport.toml"),
    ),
    (
        "ah/real-estate.toml",
        include_str!("../../adapters/provinces/ah/real-estate.toml"),
    ),
    (
        "js/business-licence.toml",
        include_str!("../../adapters/provinces/js/business-licence.toml"),
    ),
    (
        "js/enterprise-registration.toml",
        include_str!("../../adapters/provinces/js/enterprise-registration.toml"),
    ),
    (
        "js/housing-fund.toml",
        include_str!("../../adapters/provinces/js/housing-fund.toml"),
    ),
    (
        "js/licence-birth.toml",
        include_str!("../../adapters/provinces/js/licence-birth.toml"),
    ),
    (
        "js/licence-business.toml",
        include_str!("../../adapters/provinces/js/licence-business.toml"),
    ),
    (
        "js/licence-food-business.toml",
        include_str!("../../adapters/provinces/js/licence-food-business.toml"),
    ),
    (
        "js/licence-marriage.toml",
        include_str!("../../adapters/provinces/js/licence-marriage.toml"),
    ),
    (
        "js/licence-road-transport.toml",
        include_str!("../../adapters/provinces/js/licence-road-transport.toml"),
    ),
    (
        "js/real-estate.toml",
        include_str!("../../adapters/provinces/js/real-estate.toml"),
    ),
    (
        "sh/enterprise-registration.toml",
        include_str!("../../adapters/provinces/sh/enterprise-registration.toml"),
    ),
    (
        "sh/household.toml",
        include_str!("../../adapters/provinces/sh/household.toml"),
    ),
    (
        "sh/housing-fund.toml",
        include_str!("../../adapters/provinces/sh/housing-fund.toml"),
    ),
    (
        "sh/licence-business.toml",
        include_str!("../../adapters/provinces/sh/licence-business.toml"),
    ),
    (
        "sh/licence-construction-qualification.toml",
        include_str!("../../adapters/provinces/sh/licence-construction-qualification.toml"),
    ),
    (
        "sh/licence-household-booklet.toml",
        include_str!("../../adapters/provinces/sh/licence-household-booklet.toml"),
    ),
    (
        "sh/licence-marriage.toml",
        include_str!("../../adapters/provinces/sh/licence-marriage.toml"),
    ),
    (
        "sh/licence-real-estate-title.toml",
        include_str!("../../adapters/provinces/sh/licence-real-estate-title.toml"),
    ),
    (
        "sh/social-insurance.toml",
        include_str!("../../adapters/provinces/sh/social-insurance.toml"),
    ),
    (
        "zj/business-licence.toml",
        include_str!("../../adapters/provinces/zj/business-licence.toml"),
    ),
    (
        "zj/enterprise-registration.toml",
        include_str!("../../adapters/provinces/zj/enterprise-registration.toml"),
    ),
    (
        "zj/housing-fund.toml",
        include_str!("../../adapters/provinces/zj/housing-fund.toml"),
    ),
    (
        "zj/licence-birth.toml",
        include_str!("../../adapters/provinces/zj/licence-birth.toml"),
    ),
    (
        "zj/licence-business.toml",
        include_str!("../../adapters/provinces/zj/licence-business.toml"),
    ),
    (
        "zj/licence-construction-qualification.toml",
        include_str!("../../adapters/provinces/zj/licence-construction-qualification.toml"),
    ),
    (
        "zj/licence-food-business.toml",
        include_str!("../../adapters/provinces/zj/licence-food-business.toml"),
    ),
    (
        "zj/licence-real-estate-title.toml",
        include_str!("../../adapters/provinces/zj/licence-real-estate-title.toml"),
    ),
    (
        "zj/social-insurance.toml",
        include_str!("../../adapters/provinces/zj/social-insurance.toml"),
    ),
];

/// The member the gateway's upstream client certificate names.
pub const GATEWAY_MEMBER: &str = "sh:12310000MB0L396206:gateway";

/// Certificates made for the demo that name no registered member, or name a
/// member of another region than their issuer: `(member id, issuing region)`.
pub const IMPOSTORS: &[(&str, &str)] = &[
    ("zj:11330000002482028A:impostor", "js"),
    ("ah:11340000MB2261059X:unregistered", "ah"),
];

/// Placeholder endpoints in `members.toml` that the demo replaces with its
/// sample providers' addresses: `(placeholder, region)`.
pub const ENDPOINTS: &[(&str, &str)] = &[
    ("https://sh.provider.invalid", "sh"),
    ("https://js.provider.invalid", "js"),
    ("https://zj.provider.invalid", "zj"),
    ("https://ah.provider.invalid", "ah"),
];

/// The endpoint of the provider that is down in the demo.
pub const OFFLINE_ENDPOINT: &str = "https://js-gjj.provider.invalid";

/// One example the demo manifest lists and tests replay.
#[derive(Clone, Debug, Serialize)]
pub struct Example {
    /// What it shows.
    pub name: &'static str,
    /// The member whose certificate is used; `None` for no certificate.
    pub consumer: Option<&'static str>,
    /// HTTP method.
    pub method: &'static str,
    /// Request path (and query, percent-encoded).
    pub path: String,
    /// JSON body (`null` for `GET`).
    pub body: Value,
    /// Expected HTTP status.
    pub expect_status: u16,
    /// Expected problem code, `None` when served.
    pub expect_code: Option<&'static str>,
}

const JS: &str = "js:11320000014000118J:data";
const ZJ: &str = "zj:11330000002482028A:data";
const AH: &str = "ah:113400000029868223:data";
const SH_SERVICES: &str = "sh:113100000024189075:yiwang";

fn ex(
    name: &'static str,
    consumer: Option<&'static str>,
    path: &'static str,
    body: Value,
    status: u16,
    code: Option<&'static str>,
) -> Example {
    Example {
        name,
        consumer,
        method: "POST",
        path: path.to_owned(),
        body,
        expect_status: status,
        expect_code: code,
    }
}

/// `GET /v1/licences/{id}` for a government service use (purpose 政务服务办理,
/// service item SX-SCJG-002) with this case number.
pub fn licence_path(id: &str, case_no: &str) -> String {
    format!(
        "/v1/licences/{id}?purpose=%E6%94%BF%E5%8A%A1%E6%9C%8D%E5%8A%A1%E5%8A%9E%E7%90%86&service_item=SX-SCJG-002&case_no={case_no}"
    )
}

/// `GET /v1/licences?holder=…` for a government service use (purpose
/// 政务服务办理) with this service item and case number, and `extra` query.
pub fn listing_path(holder: &str, service_item: &str, case_no: &str, extra: &str) -> String {
    format!(
        "/v1/licences?holder={holder}&purpose=%E6%94%BF%E5%8A%A1%E6%9C%8D%E5%8A%A1%E5%8A%9E%E7%90%86&service_item={service_item}&case_no={case_no}{extra}"
    )
}

fn get(
    name: &'static str,
    consumer: Option<&'static str>,
    path: String,
    status: u16,
    code: Option<&'static str>,
) -> Example {
    Example {
        method: "GET",
        path,
        ..ex(name, consumer, "", Value::Null, status, code)
    }
}

/// The committed vector the demo's `POST /v1/verify` example uploads.
pub const VERIFY_VECTOR: &[u8] = include_bytes!("../vectors/seals/ofd-valid.ofd");

/// The licence and verification examples.
fn licence_examples() -> Vec<Example> {
    use crate::licences::{
        AH_LICENCE, BAD_CHECK_LICENCE, ZJ_FOREIGN_SEAL_LICENCE, ZJ_LICENCE, ZJ_MISSING_LICENCE,
        ZJ_REVOKED_LICENCE, ZJ_TAMPERED_LICENCE,
    };
    use base64::Engine as _;
    vec![
        get(
            "shanghai one-stop services fetch a zhejiang business licence; its seal verifies against zhejiang's anchors",
            Some(SH_SERVICES),
            licence_path(ZJ_LICENCE, "SH-2026-000201"),
            200,
            None,
        ),
        get(
            "jiangsu fetches an anhui business licence",
            Some(JS),
            licence_path(AH_LICENCE, "JS-2026-000202"),
            200,
            None,
        ),
        get(
            "a zhejiang licence whose page was edited after sealing is refused",
            Some(SH_SERVICES),
            licence_path(ZJ_TAMPERED_LICENCE, "SH-2026-000203"),
            502,
            Some("seal_invalid"),
        ),
        get(
            "a licence naming a zhejiang issuer but sealed with jiangsu's seal PKI is not trusted by zhejiang's anchors",
            Some(SH_SERVICES),
            licence_path(ZJ_FOREIGN_SEAL_LICENCE, "SH-2026-000204"),
            502,
            Some("seal_indeterminate"),
        ),
        get(
            "shanghai one-stop services list an anhui enterprise's licences for 企业跨区域经营备案: held in anhui, jiangsu and zhejiang, one listing",
            Some(SH_SERVICES),
            listing_path("91340100MA2NH3AL0C", "SX-SH-0101", "SH-2026-000211", ""),
            200,
            None,
        ),
        get(
            "… and fetch one of them, the anhui business licence, with its seal report and status",
            Some(SH_SERVICES),
            licence_path(AH_LICENCE, "SH-2026-000212"),
            200,
            None,
        ),
        get(
            "a licence type the service item may not fetch (a marriage certificate for 企业跨区域经营备案) is refused",
            Some(SH_SERVICES),
            listing_path(
                "340104198805123012",
                "SX-SH-0101",
                "SH-2026-000213",
                "&types=YRD-DZZZ-0104",
            ),
            403,
            Some("service_item_not_allowed"),
        ),
        get(
            "a revoked zhejiang business licence is served with its status (吊销, not valid)",
            Some(SH_SERVICES),
            licence_path(ZJ_REVOKED_LICENCE, "SH-2026-000214"),
            200,
            None,
        ),
        get(
            "jiangsu's licence library is down for this holder: the listing is served, marked partial, naming jiangsu",
            Some(SH_SERVICES),
            listing_path("91330100MA2DN0000L", "SX-SH-0101", "SH-2026-000215", ""),
            200,
            None,
        ),
        get(
            "a licence identifier with a wrong check character",
            Some(SH_SERVICES),
            licence_path(BAD_CHECK_LICENCE, "SH-2026-000205"),
            400,
            Some("bad_request"),
        ),
        get(
            "a case number without the shape zhejiang's licence entry sets (two capitals, the year, six digits)",
            Some(SH_SERVICES),
            licence_path(ZJ_LICENCE, "SH-26-1"),
            400,
            Some("case_number_invalid"),
        ),
        get(
            "an identity number sent as the case number is refused before the list",
            Some(SH_SERVICES),
            licence_path(ZJ_LICENCE, "310115198801011236"),
            400,
            Some("case_number_invalid"),
        ),
        get(
            "a licence zhejiang does not hold",
            Some(SH_SERVICES),
            licence_path(ZJ_MISSING_LICENCE, "SH-2026-000206"),
            404,
            Some("record_not_found"),
        ),
        ex(
            "zhejiang verifies a sealed OFD file (a committed vector) with the federation's seal trust",
            Some(ZJ),
            "/v1/verify",
            json!({"ofd": base64::engine::general_purpose::STANDARD.encode(VERIFY_VECTOR)}),
            200,
            None,
        ),
    ]
}

/// The demo's examples: at least one served exchange per provider region and
/// one of each refusal the demo federation can show.
pub fn examples() -> Vec<Example> {
    let mut all = exchange_examples();
    all.extend(licence_examples());
    all
}

fn exchange_examples() -> Vec<Example> {
    let scjg = "/v1/exchange/YRD-SCJG-0001";
    let rsbz = "/v1/exchange/YRD-RSBZ-0001";
    let bdc = "/v1/exchange/YRD-BDC-0001";
    let check = "市场主体登记核验";
    let licence = "/v1/exchange/YRD-SCJG-0002";
    let household = "/v1/exchange/YRD-GA-0001";
    let fund = "/v1/exchange/YRD-GJJ-0001";
    vec![
        ex(
            "jiangsu asks zhejiang for an enterprise record",
            Some(JS),
            scjg,
            json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": check}),
            200,
            None,
        ),
        ex(
            "zhejiang asks jiangsu for an enterprise record (full-width code, revoked licence)",
            Some(ZJ),
            scjg,
            json!({"key": {"uscc": "91320106MA1Y8N2P4Y"}, "purpose": check}),
            200,
            None,
        ),
        ex(
            "anhui asks shanghai for an enterprise record",
            Some(AH),
            scjg,
            json!({"key": {"uscc": "91310115MA1K4DT67F"}, "purpose": check}),
            200,
            None,
        ),
        ex(
            "shanghai one-stop services ask anhui (XML in GB18030) for an enterprise record",
            Some(SH_SERVICES),
            scjg,
            json!({"key": {"uscc": "91340100MA2NH3AL0C"}, "purpose": "政务服务办理", "case_no": "SH-2026-000123"}),
            200,
            None,
        ),
        ex(
            "anhui asks shanghai for a social-insurance status",
            Some(AH),
            rsbz,
            json!({"key": {"id_number": "310115198801011236"}, "purpose": "社会保险关系转移接续"}),
            200,
            None,
        ),
        ex(
            "jiangsu asks zhejiang for a social-insurance status, naming the provider",
            Some(JS),
            rsbz,
            json!({"key": {"id_number": "330106199003150022"}, "purpose": "社会保险关系转移接续", "provider": "zj"}),
            200,
            None,
        ),
        ex(
            "shanghai one-stop services ask anhui for a real-estate summary, with service item and case number",
            Some(SH_SERVICES),
            bdc,
            json!({"key": {"certificate_no": "皖(2021)合肥市不动产权第0012345号"}, "purpose": "不动产抵押登记", "service_item": "SX-BDC-DY-001", "case_no": "SH-2026-000456"}),
            200,
            None,
        ),
        ex(
            "no client certificate",
            None,
            scjg,
            json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": check}),
            401,
            Some("no_client_certificate"),
        ),
        ex(
            "a certificate for a member that is not registered",
            Some("ah:11340000MB2261059X:unregistered"),
            scjg,
            json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": check}),
            403,
            Some("unknown_member"),
        ),
        ex(
            "a suspended member",
            Some("ah:12340000MB0000111C:legacy"),
            scjg,
            json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": check}),
            403,
            Some("member_inactive"),
        ),
        ex(
            "jiangsu's CA vouching for a zhejiang member",
            Some("zj:11330000002482028A:impostor"),
            scjg,
            json!({"key": {"uscc": "91320100MA1MXX4B2Y"}, "purpose": check}),
            403,
            Some("region_mismatch"),
        ),
        ex(
            "a resource that is not in the catalogue",
            Some(JS),
            "/v1/exchange/YRD-XXXX-9999",
            json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": check}),
            404,
            Some("unknown_resource"),
        ),
        ex(
            "zhejiang is not listed for social-insurance data",
            Some(ZJ),
            rsbz,
            json!({"key": {"id_number": "310115198801011236"}, "purpose": "社会保险关系转移接续", "provider": "sh"}),
            403,
            Some("not_in_responsibility_list"),
        ),
        ex(
            "a purpose the list does not allow",
            Some(JS),
            scjg,
            json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": "商业营销"}),
            403,
            Some("purpose_not_allowed"),
        ),
        ex(
            "a real-estate summary without the case number the entry requires",
            Some(SH_SERVICES),
            bdc,
            json!({"key": {"certificate_no": "皖(2021)合肥市不动产权第0012345号"}, "purpose": "不动产抵押登记", "service_item": "SX-BDC-DY-001"}),
            403,
            Some("case_number_required"),
        ),
        ex(
            "a real-estate summary for a service item the entry does not list",
            Some(SH_SERVICES),
            bdc,
            json!({"key": {"certificate_no": "皖(2021)合肥市不动产权第0012345号"}, "purpose": "不动产抵押登记", "service_item": "SX-OTHER-999", "case_no": "SH-2026-000456"}),
            403,
            Some("service_item_not_allowed"),
        ),
        ex(
            "a service item sent for an enterprise record, whose entries list none, is refused",
            Some(SH_SERVICES),
            scjg,
            json!({"key": {"uscc": "91340100MA2NH3AL0C"}, "purpose": "政务服务办理", "service_item": "SX-SCJG-002"}),
            403,
            Some("service_item_not_allowed"),
        ),
        ex(
            "the full real-estate register is not shared (the legal basis is cited)",
            Some(SH_SERVICES),
            "/v1/exchange/YRD-BDC-0002",
            json!({"key": {"certificate_no": "皖(2021)合肥市不动产权第0012345号"}, "purpose": "不动产抵押登记"}),
            403,
            Some("not_shared"),
        ),
        ex(
            "an entry that ended in 2025",
            Some(ZJ),
            bdc,
            json!({"key": {"certificate_no": "苏(2020)南京市不动产权第0098765号"}, "purpose": "不动产抵押登记"}),
            403,
            Some("entry_expired"),
        ),
        ex(
            "two regions provide it and the request names neither",
            Some(JS),
            rsbz,
            json!({"key": {"id_number": "330106199003150022"}, "purpose": "社会保险关系转移接续"}),
            400,
            Some("provider_required"),
        ),
        ex(
            "a credit code with a wrong check character",
            Some(JS),
            scjg,
            json!({"key": {"uscc": "91330106MA27Y9KE3X"}, "purpose": check}),
            400,
            Some("bad_request"),
        ),
        ex(
            "an enterprise jiangsu's register does not hold",
            Some(ZJ),
            scjg,
            json!({"key": {"uscc": "91320500MA1P55H78R"}, "purpose": check}),
            404,
            Some("record_not_found"),
        ),
        ex(
            "zhejiang's register answers too slowly",
            Some(JS),
            scjg,
            json!({"key": {"uscc": "91330100MA2CC1L842"}, "purpose": check}),
            504,
            Some("upstream_timeout"),
        ),
        ex(
            "shanghai's proxy answers with an HTML error page",
            Some(ZJ),
            scjg,
            json!({"key": {"uscc": "91310104MA1FRH5K3G"}, "purpose": check}),
            502,
            Some("mapping_failed"),
        ),
        ex(
            "jiangsu's housing fund platform is down",
            Some(SH_SERVICES),
            "/v1/exchange/YRD-GJJ-0001",
            json!({"key": {"id_number": "320102198506203411"}, "purpose": "住房公积金异地贷款"}),
            502,
            Some("upstream_unavailable"),
        ),
        ex(
            "zhejiang asks jiangsu for a business licence (term '至长期', capital in 万元人民币)",
            Some(ZJ),
            licence,
            json!({"key": {"uscc": "91320100MA1MXX4B2Y"}, "purpose": check}),
            200,
            None,
        ),
        ex(
            "anhui asks zhejiang for a business licence (capital in yuan, epoch-millisecond dates)",
            Some(AH),
            licence,
            json!({"key": {"uscc": "91330106MA27Y9KE3E"}, "purpose": check}),
            200,
            None,
        ),
        ex(
            "shanghai one-stop services ask anhui for a business licence (XML attributes, CDATA)",
            Some(SH_SERVICES),
            licence,
            json!({"key": {"uscc": "91340100MA2NH3AL0C"}, "purpose": "政务服务办理", "case_no": "SH-2026-000124"}),
            200,
            None,
        ),
        ex(
            "jiangsu asks for a household summary, routed to anhui by the id number (namespaced GB18030 XML)",
            Some(JS),
            household,
            json!({"key": {"id_number": "340104199207081566"}, "purpose": "户籍信息核验"}),
            200,
            None,
        ),
        ex(
            "zhejiang asks for a household summary, routed to shanghai (shanghai's code lists)",
            Some(ZJ),
            household,
            json!({"key": {"id_number": "310115198801011236"}, "purpose": "户籍信息核验"}),
            200,
            None,
        ),
        ex(
            "anhui asks zhejiang for a housing-fund status, naming the provider",
            Some(AH),
            fund,
            json!({"key": {"id_number": "330106199003150022"}, "purpose": "住房公积金异地贷款", "provider": "zj"}),
            200,
            None,
        ),
        ex(
            "anhui asks shanghai for a housing-fund status, naming the provider",
            Some(AH),
            fund,
            json!({"key": {"id_number": "310115198801011236"}, "purpose": "住房公积金异地贷款", "provider": "sh"}),
            200,
            None,
        ),
        ex(
            "anhui asks jiangsu for a real-estate summary",
            Some(AH),
            bdc,
            json!({"key": {"certificate_no": "苏(2020)南京市不动产权第0098765号"}, "purpose": "不动产抵押登记"}),
            200,
            None,
        ),
        ex(
            "zhejiang answers with an account state its mapping has no code for",
            Some(JS),
            fund,
            json!({"key": {"id_number": "330102198712120010"}, "purpose": "住房公积金异地贷款"}),
            502,
            Some("mapping_failed"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapping_file_in_the_repository_is_compiled_in() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../adapters/provinces");
        let mut on_disk = Vec::new();
        for region in std::fs::read_dir(&root).unwrap() {
            let region = region.unwrap().path();
            for f in std::fs::read_dir(&region).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "toml") {
                    on_disk.push(f.strip_prefix(&root).unwrap().display().to_string());
                }
            }
        }
        on_disk.sort();
        let compiled: Vec<String> = MAPPINGS.iter().map(|(p, _)| (*p).to_owned()).collect();
        assert_eq!(compiled, on_disk);
    }

    #[test]
    fn examples_cover_every_region_and_refusal() {
        let ex = examples();
        assert!(ex.iter().filter(|e| e.expect_code.is_none()).count() >= 4);
        let codes: std::collections::HashSet<_> = ex.iter().filter_map(|e| e.expect_code).collect();
        for code in [
            "no_client_certificate",
            "unknown_member",
            "region_mismatch",
            "unknown_resource",
            "not_in_responsibility_list",
            "purpose_not_allowed",
            "bad_request",
            "upstream_unavailable",
            "upstream_timeout",
            "mapping_failed",
            "seal_invalid",
            "seal_indeterminate",
        ] {
            assert!(codes.contains(code), "{code}");
        }
    }
}

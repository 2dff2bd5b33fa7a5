//! The licence path, `GET /v1/licences/{licence_id}`: a department fetches an
//! electronic licence (电子证照) issued in another region, with its
//! verification report.
//!
//! ```text
//! identify → parse id + use → authorize → meter → upstream (issuing region) → verify seal → minimise → (audit)
//! ```
//!
//! The identifier (GB/T 36904) names its issuer, and thereby the issuing
//! region: that region's provider is asked, and the file is verified against
//! that region's seal anchors only. A licence whose seal is invalid or cannot
//! be decided is not served (`seal_invalid`, `seal_indeterminate`), with the
//! report in the problem body; the summary goes into the exchange record
//! either way.

use std::time::Instant;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use yrdx_adapters::NativeRequest;
use yrdx_registry::{Registry, Resource};
use yrdx_signing::{LicenceId, OfdError, OfdReport, Outcome, Region, verify_ofd_with_limits};

use crate::context::{Exchange, Stage};
use crate::mappings::is_licence_resource;
use crate::pipeline::authorize::Use;
use crate::pipeline::request::{check_case_no, check_code, check_purpose};
use crate::pipeline::{Call, Reply, authorize_and_meter, minimise, upstream};
use crate::problem::{Detail, Problem};
use crate::query;
use crate::seals;

/// A licence use (用证): the purpose, service item and case number every use
/// names (all three required), and optionally the catalogue resource when
/// several hold licences.
#[derive(Debug)]
pub struct LicenceUse {
    /// The purpose (用证事由).
    pub purpose: String,
    /// The service item code (事项编码).
    pub service_item: String,
    /// The case number (办件编号).
    pub case_no: String,
    /// The catalogue resource.
    pub resource: Option<String>,
}

/// The query's parameter names.
const PARAMS: &[&str] = &["purpose", "service_item", "case_no", "resource"];

/// Checks the query's decoded pairs strictly (known names, once each) and
/// the use's fields with the exchange body's own validators.
pub fn parse_use(pairs: Vec<(String, String)>) -> Result<LicenceUse, Problem> {
    let mut params = query::check(pairs, PARAMS)?;
    let why = Detail::new(
        "：每次用证须写明用途、事项编码和办件编号",
        ": every licence use names its purpose, service item and case number",
    );
    let purpose = params.required("purpose", &why)?;
    let service_item = params.required("service_item", &why)?;
    let case_no = params.required("case_no", &why)?;
    let resource = params.take("resource");
    check_purpose(&purpose)?;
    check_code("service_item", Some(&service_item))?;
    check_case_no(&case_no)?;
    check_code("resource", resource.as_deref())?;
    Ok(LicenceUse {
        purpose,
        service_item,
        case_no,
        resource,
    })
}

/// The licence resource of the catalogue: the one named, else the only one.
fn licence_resource<'r>(
    registry: &'r Registry,
    named: Option<&str>,
) -> Result<&'r Resource, Problem> {
    if let Some(code) = named {
        return registry
            .resource(code)
            .filter(|r| is_licence_resource(r))
            .ok_or(Problem::UnknownResource);
    }
    let mut all = registry.resources().filter(|r| is_licence_resource(r));
    match (all.next(), all.next()) {
        (None, _) => Err(Problem::UnknownResource),
        (Some(one), None) => Ok(one),
        (Some(_), Some(_)) => Err(Problem::BadRequest(Detail::new(
            "多个共享目录资源提供证照文件：请用 `resource` 指定其一。",
            "several catalogue resources hold licence files: name one with `resource`",
        ))),
    }
}

/// The provider's native answer.
#[derive(Deserialize)]
struct NativeLicence {
    metadata: Map<String, Value>,
    ofd: String,
}

/// Runs the licence path's stages, after identification.
pub async fn run(call: Call<'_>, cx: &mut Exchange) -> Result<Reply, Problem> {
    let Call {
        app,
        snapshot,
        caller: consumer,
        path: licence_id,
        query,
        ..
    } = call;
    let registry = &snapshot.registry;

    // parse: the identifier's check character and the use's three fields are
    // checked before the list is consulted.
    let t = Instant::now();
    let pairs = query::decode(query.as_deref())?;
    let sent: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    cx.request_digest = Some(cx.digest(format!("{licence_id}?{}", sent.join("&")).as_bytes()));
    let usage = parse_use(pairs)?;
    cx.declare_use(Some(&usage.service_item), Some(&usage.case_no));
    cx.declare_purpose(&usage.purpose);
    let id = LicenceId::parse(&licence_id).map_err(|e| {
        Problem::BadRequest(Detail::new(
            format!("证照标识不正确：{e}"),
            format!("licence identifier: {e}"),
        ))
    })?;
    let region = id.issuing_region().ok_or_else(|| {
        Problem::BadRequest(Detail::new(
            format!(
                "证照标识：颁发机构 {} 不在上海、江苏、浙江或安徽。",
                id.issuer()
            ),
            format!(
                "licence identifier: issuer {} is not in Shanghai, Jiangsu, Zhejiang or Anhui",
                id.issuer()
            ),
        ))
    })?;
    let resource = licence_resource(registry, usage.resource.as_deref())?;
    cx.resource = Some(resource.code.clone());
    cx.timed(Stage::Parse, t);

    // authorize, then meter: like an exchange, with the issuing region as
    // the provider; quotas count licence uses as they count exchanges.
    let mut key = Map::new();
    key.insert("licence_id".into(), Value::String(id.as_str().to_owned()));
    let usage = Use {
        purpose: &usage.purpose,
        service_item: Some(&usage.service_item),
        case_no: Some(&usage.case_no),
        provider: Some(region.code()),
        key: &key,
    };
    bound(registry, consumer, &id, &usage, cx)?;
    let grant = authorize_and_meter(app, snapshot, cx, consumer, &resource.code, &usage).await?;

    // upstream: the issuing region's provider, within the entry's deadline.
    let native = NativeRequest {
        method: "GET",
        // The identifier is 0-9, A-Z and dots only: nothing to escape.
        path_and_query: format!("/licences/{}", id.as_str()),
        headers: Vec::new(),
        content_type: None,
        body: Vec::new(),
    };
    let answer = upstream::run(&app.upstream, cx, &grant, &native).await?;
    let native: NativeLicence = serde_json::from_slice(&answer.body).map_err(|e| {
        let why = e.to_string().chars().take(200).collect::<String>();
        Problem::MappingFailed(Detail::new(
            format!("提供方的证照答复无法解析：{why}"),
            format!("licence answer: {why}"),
        ))
    })?;
    if native.metadata.get("licence_id").and_then(Value::as_str) != Some(id.as_str()) {
        return Err(Problem::MappingFailed(Detail::new(
            "提供方的证照答复中 metadata.licence_id 不是所请求的证照标识。",
            "licence answer: metadata.licence_id is not the identifier asked for",
        )));
    }
    let file = base64::engine::general_purpose::STANDARD
        .decode(native.ofd.as_bytes())
        .map_err(|_| {
            Problem::MappingFailed(Detail::new(
                "提供方的证照答复中 `ofd` 不是 base64 编码。",
                "licence answer: `ofd` is not base64",
            ))
        })?;

    // verify seal: against the issuing region's anchors only, at the time of use.
    let t = Instant::now();
    let (file, checked) = {
        let trust = app.seal_trust.for_region(region);
        let limits = app.verifier.limits();
        let at = cx.received;
        app.verifier
            .run(consumer, move || {
                let checked = verify_ofd_with_limits(&file, &trust, at, &limits);
                (file, checked)
            })
            .await?
    };
    let report = verify(cx, region, checked)?;
    cx.timed(Stage::Verify, t);

    // status: the issuer's current word on the licence, whatever the seal
    // says — a revoked or expired licence is served with its status, never
    // as valid.
    let status = current_status(
        &native.metadata,
        cx.received.to_offset(yrdx_registry::CST).date(),
    );
    if let Some(Value::Object(seal)) = &mut cx.seal {
        seal.insert(
            "licence_status".into(),
            status.get("code").cloned().unwrap_or(Value::Null),
        );
    }

    // minimise: the metadata items the entry grants; the file is the licence.
    let t = Instant::now();
    let mut metadata = native.metadata;
    let kept = minimise::run(&mut metadata, grant.entry, None);
    cx.items = kept.returned;
    let mut body = Map::new();
    body.insert("resource".into(), json!(resource.code));
    body.insert("provider".into(), json!(grant.entry.provider.to_string()));
    body.insert("licence_id".into(), json!(id.as_str()));
    body.insert("issuing_region".into(), json!(region.code()));
    body.insert("data".into(), Value::Object(metadata));
    body.insert("status".into(), status);
    body.insert(
        "file".into(),
        json!({
            "media_type": "application/ofd",
            "size": file.len(),
            "sha256": yrdx_signing::hex(&yrdx_signing::sha256(&file)),
            "base64": base64::engine::general_purpose::STANDARD.encode(&file),
        }),
    );
    body.insert("verification".into(), report);
    cx.response_digest = Some(cx.digest(&super::canonical_json(&body)?));
    cx.timed(Stage::Minimise, t);
    Ok(Reply::Json(body))
}

/// The list binds licence types to service items: where the catalogue holds
/// the identifier's licence type, the consumer must hold an entry of that type
/// for this use from the issuing region — otherwise the list's refusal
/// (`service_item_not_allowed`, …), before any quota is spent.
fn bound(
    registry: &Registry,
    consumer: &yrdx_signing::MemberId,
    id: &LicenceId,
    usage: &Use<'_>,
    cx: &Exchange,
) -> Result<(), Problem> {
    let Some(of_type) = registry
        .resources()
        .find(|r| r.licence_type.as_deref() == Some(id.type_code()))
    else {
        return Ok(());
    };
    crate::pipeline::authorize::run(registry, consumer, &of_type.code, usage, cx.received)
        .map(|_| ())
}

/// The licence's status (证照状态) from the issuer's metadata, as of `today`:
/// `1` 有效, `2` 注销, `3` 吊销, `4` 过期 — a licence the issuer calls valid
/// whose `valid_to` has passed is 过期; a status the issuer does not give is
/// unknown, and not valid either.
pub fn current_status(metadata: &Map<String, Value>, today: time::Date) -> Value {
    let ended = metadata
        .get("valid_to")
        .and_then(Value::as_str)
        .and_then(|d| {
            time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok()
        })
        .is_some_and(|end| end < today);
    let said = metadata.get("status").and_then(Value::as_str);
    let (code, label) = match said {
        Some("1") if ended => ("4", "过期"),
        Some("1") => ("1", "有效"),
        Some("2") => ("2", "注销"),
        Some("3") => ("3", "吊销"),
        Some("4") => ("4", "过期"),
        _ if ended => ("4", "过期"),
        _ => ("unknown", "未知"),
    };
    json!({ "code": code, "label": label, "valid": code == "1" })
}

/// Records the licence file's verification summary, and refuses unless valid.
fn verify(
    cx: &mut Exchange,
    region: Region,
    checked: Result<OfdReport, OfdError>,
) -> Result<Value, Problem> {
    let report = match checked {
        Ok(r) => r,
        Err(e) => return Err(unreadable(cx, region, &e)),
    };
    let mut summary = seals::audit_summary(report.outcome(), &report.summaries());
    if let Value::Object(m) = &mut summary {
        m.insert("trust_region".into(), json!(region.code()));
    }
    cx.seal = Some(summary);
    let decisive = report
        .signatures
        .iter()
        .find(|s| s.report.outcome() == report.outcome())
        .and_then(|s| s.report.decisive_step())
        .map(|s| {
            let reason = s
                .finding
                .as_ref()
                .map(|f| format!("{}: {f}", f.code()))
                .unwrap_or_default();
            let (n, name) = (s.step.number(), s.step.name());
            Detail::new(
                format!("验证第 {n} 步（{name}）未通过：{reason}"),
                format!("step {n} {name}: {reason}"),
            )
        })
        .unwrap_or_default();
    let json = serde_json::to_value(&report).unwrap_or(Value::Null);
    match report.outcome() {
        Outcome::Valid => Ok(json),
        Outcome::Invalid => Err(Problem::SealInvalid {
            detail: decisive,
            report: Box::new(json),
        }),
        Outcome::Indeterminate => Err(Problem::SealIndeterminate {
            detail: decisive,
            report: Box::new(json),
        }),
    }
}

/// A file that is not a readable signed OFD document is an invalid licence.
fn unreadable(cx: &mut Exchange, region: Region, e: &OfdError) -> Problem {
    cx.seal = Some(json!({
        "result": "invalid",
        "failed_step": "parse",
        "code": "ofd_unreadable",
        "trust_region": region.code(),
    }));
    Problem::SealInvalid {
        detail: Detail::new(
            format!("证照文件不是可读取的已签章 OFD 文档：{e}"),
            format!("the licence file is not a readable signed OFD document: {e}"),
        ),
        report: Box::new(Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoked_or_ended_licence_is_never_valid() {
        let today = time::macros::date!(2026 - 06 - 01);
        let status = |m: Value| current_status(m.as_object().unwrap(), today);
        let s = status(json!({"status": "1", "valid_to": "2026-06-01"}));
        assert_eq!(
            (s["code"].as_str(), s["valid"].as_bool()),
            (Some("1"), Some(true))
        );
        let s = status(json!({"status": "1", "valid_to": null}));
        assert_eq!(s["valid"], true);
        for (m, code) in [
            (json!({"status": "1", "valid_to": "2026-05-31"}), "4"),
            (json!({"status": "3"}), "3"),
            (json!({"status": "2", "valid_to": "2030-01-01"}), "2"),
            (json!({}), "unknown"),
            (json!({"status": "9"}), "unknown"),
            (json!({"valid_to": "2020-01-01"}), "4"),
        ] {
            let s = status(m.clone());
            assert_eq!(s["code"], code, "{m}");
            assert_eq!(s["valid"], false, "{m}");
        }
    }

    #[test]
    fn a_licence_use_names_purpose_service_item_and_case_number() {
        let u = parse_use(
            query::decode(Some(
                "purpose=%E6%94%BF%E5%8A%A1%E6%9C%8D%E5%8A%A1%E5%8A%9E%E7%90%86\
                 &service_item=SX-SCJG-002&case_no=SH-2026-1",
            ))
            .unwrap(),
        )
        .unwrap();
        assert_eq!(u.purpose, "政务服务办理");
        assert_eq!(u.resource, None);
        for bad in [
            "purpose=p&service_item=s",
            "service_item=s&case_no=c",
            "purpose=p&service_item=s&case_no=c%20d",
            "purpose=p&purpose=q&service_item=s&case_no=c",
            "purpose=p&service_item=s&case_no=c&key=x",
            "purpose=%07&service_item=s&case_no=c",
        ] {
            assert!(
                matches!(
                    parse_use(query::decode(Some(bad)).unwrap()),
                    Err(Problem::BadRequest(_))
                ),
                "{bad:?}"
            );
        }
    }
}

//! `POST /v1/verify`: a member uploads a sealed OFD file, an SESeal or an
//! SES_Signature with its data, and gets the verification report against the
//! federation's seal trust (every region's anchors). No provider is called;
//! the use is recorded like any exchange, with the seal summary.
//!
//! The body is either the raw document (OFD, DER SESeal, or a bill's XML;
//! told apart by content, whatever the content type says) or JSON
//! `{"ofd" | "seal" | "signature" | "bill": base64, "data": base64}`, the only
//! way to send a signature together with the data it signs, or a bill inside an
//! OFD file (`bill`: its XML or the OFD package). Bills are verified against
//! the bill trust (docs/ebills.md) and answered with the bill report.

use std::time::Instant;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

use crate::context::{Exchange, Stage};
use crate::pipeline::{Call, Reply};
use crate::problem::{Detail, Problem};
use crate::seals::{self, VerifyError};

/// The JSON form of an upload.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Upload {
    #[serde(default)]
    ofd: Option<String>,
    #[serde(default)]
    seal: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    bill: Option<String>,
}

/// What was uploaded.
enum Document {
    /// A seal document, with the signed data when it is a signature.
    Seal(Vec<u8>, Option<Vec<u8>>),
    /// A bill: its XML, or an OFD package holding it.
    Bill(Vec<u8>),
}

fn b64(name: &str, v: &str) -> Result<Vec<u8>, Problem> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_bytes())
        .map_err(|_| {
            Problem::BadRequest(Detail::new(
                format!("`{name}` 不是 base64 编码。"),
                format!("`{name}` is not base64"),
            ))
        })
}

/// The document and the signed data, from either form of body.
fn document(body: &[u8], json: bool) -> Result<Document, Problem> {
    if !json {
        if crate::bills::is_xml(body) {
            return Ok(Document::Bill(body.to_vec()));
        }
        return Ok(Document::Seal(body.to_vec(), None));
    }
    let upload: Upload = serde_json::from_slice(body).map_err(|e| {
        let why = e.to_string().chars().take(200).collect::<String>();
        Problem::BadRequest(Detail::new(
            format!("请求体格式不正确：{why}"),
            format!("request body: {why}"),
        ))
    })?;
    let data = upload.data.as_deref().map(|d| b64("data", d)).transpose()?;
    match (upload.ofd, upload.seal, upload.signature, upload.bill) {
        (Some(d), None, None, None) => Ok(Document::Seal(b64("ofd", &d)?, None)),
        (None, Some(d), None, None) => Ok(Document::Seal(b64("seal", &d)?, None)),
        (None, None, Some(d), None) => Ok(Document::Seal(b64("signature", &d)?, data)),
        (None, None, None, Some(d)) if data.is_none() => Ok(Document::Bill(b64("bill", &d)?)),
        _ => Err(Problem::BadRequest(Detail::new(
            "`ofd`、`seal`、`signature`（附 `data`）与 `bill` 须且只须提供其一。",
            "give exactly one of `ofd`, `seal`, `signature` (with `data`) or `bill`",
        ))),
    }
}

/// Verifies an identified member's upload (only active members may use the
/// federation's verifier; the route identifies them before the large body is
/// read), on the bounded verification pool.
pub async fn run(call: Call<'_>, cx: &mut Exchange) -> Result<Reply, Problem> {
    let Call {
        app, caller, body, ..
    } = call;
    // parse: JSON starts with `{`; an OFD file with `PK`, DER with 0x30: the
    // body says which it is, whatever the content type claims.
    let t = Instant::now();
    let json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    cx.request_digest = Some(cx.digest(&body));
    let document = document(&body, json)?;
    cx.timed(Stage::Parse, t);

    let t = Instant::now();
    let (doc, data) = match document {
        Document::Seal(doc, data) => (doc, data),
        Document::Bill(doc) => return bill(app, caller, doc, cx, t).await,
    };
    let trust = app.seal_trust.clone();
    let limits = app.verifier.limits();
    let at = cx.received;
    let verified = app
        .verifier
        .run(caller, move || {
            seals::verify_within(&doc, data.as_deref(), &trust, at, &limits)
        })
        .await?
        .map_err(|e| match e {
            VerifyError::NeedsData => Problem::BadRequest(Detail::new(
                "该签名未包含被签数据：请在 `data` 中提供。",
                e.to_string(),
            )),
            VerifyError::Ofd(inner) => Problem::UnreadableDocument(Detail::new(
                format!("上传的 OFD 文件无法安全读取：{inner}"),
                inner.to_string(),
            )),
        })?;
    cx.seal = Some(seals::audit_summary(
        verified.outcome(),
        &verified.summaries(),
    ));
    cx.timed(Stage::Verify, t);
    let Value::Object(map) = verified.to_json() else {
        return Err(Problem::Internal);
    };
    cx.response_digest = Some(cx.digest(&super::canonical_json(&map)?));
    Ok(Reply::Json(map))
}

/// Verifies an uploaded bill (XML, or an OFD package holding one) on the
/// verification pool, against the bill trust and, for the package's seals, the
/// seal trust; records the bill summary (which leaves the payer out).
async fn bill(
    app: &crate::state::App,
    caller: &yrdx_signing::MemberId,
    doc: Vec<u8>,
    cx: &mut Exchange,
    t: Instant,
) -> Result<Reply, Problem> {
    let bills = app.bill_trust.clone();
    let seals = app.seal_trust.clone();
    let at = cx.received;
    let report = app
        .verifier
        .run(caller, move || {
            if doc.starts_with(b"PK") {
                yrdx_signing::verify_bill_ofd(&doc, &bills, &seals, at)
            } else {
                Ok(yrdx_signing::verify_bill(&doc, &bills, at))
            }
        })
        .await?
        .map_err(|e| {
            Problem::UnreadableDocument(Detail::new(
                format!("OFD 文件包无法安全读取：{e}"),
                format!("OFD package: {e}"),
            ))
        })?;
    cx.seal = serde_json::to_value(report.summary()).ok();
    cx.timed(Stage::Verify, t);
    // The same shape as the seal answers: kind, result, the report beneath.
    let answer = serde_json::json!({
        "kind": "bill",
        "result": report.outcome().name(),
        "report": report,
    });
    let Value::Object(map) = answer else {
        return Err(Problem::Internal);
    };
    cx.response_digest = Some(cx.digest(&super::canonical_json(&map)?));
    Ok(Reply::Json(map))
}

//! `POST /v1/verify`: a member uploads a sealed OFD file, an SESeal or an
//! SES_Signature with its data, and gets the verification report against the
//! federation's seal trust (every region's anchors). No provider is called;
//! the use is recorded like any exchange, with the seal summary.
//!
//! The body is either the raw document (OFD or DER SESeal; told apart by
//! content, whatever the content type says) or JSON `{"ofd" | "seal" | "signature": base64, "data": base64}`,
//! the only way to send a signature together with the data it signs.

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
fn document(body: &[u8], json: bool) -> Result<(Vec<u8>, Option<Vec<u8>>), Problem> {
    if !json {
        return Ok((body.to_vec(), None));
    }
    let upload: Upload = serde_json::from_slice(body).map_err(|e| {
        let why = e.to_string().chars().take(200).collect::<String>();
        Problem::BadRequest(Detail::new(
            format!("请求体格式不正确：{why}"),
            format!("request body: {why}"),
        ))
    })?;
    let data = upload.data.as_deref().map(|d| b64("data", d)).transpose()?;
    match (upload.ofd, upload.seal, upload.signature) {
        (Some(d), None, None) => Ok((b64("ofd", &d)?, None)),
        (None, Some(d), None) => Ok((b64("seal", &d)?, None)),
        (None, None, Some(d)) => Ok((b64("signature", &d)?, data)),
        _ => Err(Problem::BadRequest(Detail::new(
            "`ofd`、`seal` 与 `signature`（附 `data`）须且只须提供其一。",
            "give exactly one of `ofd`, `seal` or `signature` (with `data`)",
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
    let (doc, data) = document(&body, json)?;
    cx.timed(Stage::Parse, t);

    let t = Instant::now();
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

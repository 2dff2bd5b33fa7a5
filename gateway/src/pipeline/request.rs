//! The consumer's request body, parsed strictly: unknown fields, oversized or
//! oddly shaped values are refused before anything else looks at them.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::pipeline::authorize::Use;
use crate::problem::{Detail, Problem};

/// `POST /v1/exchange/{resource}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    /// The catalogue key, e.g. `{"uscc": "…"}`.
    pub key: Map<String, Value>,
    /// The declared purpose (用证/用数事由).
    pub purpose: String,
    /// The service item code (事项编码).
    #[serde(default)]
    pub service_item: Option<String>,
    /// The case number (办件编号).
    #[serde(default)]
    pub case_no: Option<String>,
    /// The items wanted; all granted items when absent.
    #[serde(default)]
    pub items: Option<Vec<String>>,
    /// The provider: a member id or a region code, when several could answer.
    #[serde(default)]
    pub provider: Option<String>,
}

const MAX_KEY_FIELDS: usize = 16;
const MAX_ITEMS: usize = 128;

/// Parses and bounds the request body.
pub fn parse(body: &[u8]) -> Result<ExchangeRequest, Problem> {
    let req: ExchangeRequest = serde_json::from_slice(body).map_err(|e| {
        // serde's message names the field and line, never the value for the
        // shapes we accept.
        let why = e.to_string().chars().take(200).collect::<String>();
        Problem::BadRequest(Detail::new(
            format!("请求体格式不正确：{why}"),
            format!("request body: {why}"),
        ))
    })?;
    if req.key.is_empty() || req.key.len() > MAX_KEY_FIELDS {
        return Err(Problem::BadRequest(Detail::new(
            format!("`key` 须有 1 至 {MAX_KEY_FIELDS} 个字段。"),
            format!("`key` must have 1 to {MAX_KEY_FIELDS} fields"),
        )));
    }
    check_purpose(&req.purpose)?;
    check_code("service_item", req.service_item.as_deref())?;
    if let Some(case_no) = &req.case_no {
        check_case_no(case_no)?;
    }
    if let Some(items) = &req.items
        && (items.len() > MAX_ITEMS || items.iter().any(|i| i.is_empty() || i.len() > 64))
    {
        return Err(Problem::BadRequest(Detail::new(
            format!("`items` 至多列出 {MAX_ITEMS} 个数据项名称（每个 1 至 64 字节）。"),
            format!("`items` must list at most {MAX_ITEMS} item names"),
        )));
    }
    if let Some(p) = &req.provider
        && (p.is_empty() || p.len() > 64)
    {
        return Err(Problem::BadRequest(Detail::new(
            "`provider` 须为成员标识或地区代码。",
            "`provider` must be a member id or a region code",
        )));
    }
    Ok(req)
}

impl ExchangeRequest {
    /// The use it declares, for the list.
    pub fn usage(&self) -> Use<'_> {
        Use {
            purpose: &self.purpose,
            service_item: self.service_item.as_deref(),
            case_no: self.case_no.as_deref(),
            provider: self.provider.as_deref(),
            key: &self.key,
        }
    }
}

/// A declared purpose: 1 to 64 characters, none a control character.
pub fn check_purpose(purpose: &str) -> Result<(), Problem> {
    if !(1..=64).contains(&purpose.chars().count()) || purpose.chars().any(char::is_control) {
        return Err(Problem::BadRequest(Detail::new(
            "`purpose`（用途）须为 1 至 64 个字符，且不含控制字符。",
            "`purpose` must be 1 to 64 characters without control characters",
        )));
    }
    Ok(())
}

/// A code-like field (service item, case number, resource), if given: 1 to 64
/// characters of `A-Z a-z 0-9 . - _ /`.
pub fn check_code(name: &str, value: Option<&str>) -> Result<(), Problem> {
    let code_like = |s: &str| {
        (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-/".contains(&b))
    };
    match value {
        Some(v) if !code_like(v) => Err(Problem::BadRequest(Detail::new(
            format!("`{name}` 须为 1 至 64 个字符，仅限 A-Z、a-z、0-9、'.'、'-'、'_'、'/'。"),
            format!("`{name}` must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '-', '_', '/'"),
        ))),
        _ => Ok(()),
    }
}

/// A case number: code-like ([`check_code`]), and never a resident identity
/// number or a unified social credit code (`case_number_invalid`) — the log
/// would keep a person or an organisation under the case's name.
pub fn check_case_no(case_no: &str) -> Result<(), Problem> {
    check_code("case_no", Some(case_no))?;
    if yrdx_registry::case_no::is_identity_number(case_no) {
        return Err(Problem::CaseNumberInvalid(Detail::new(
            "`case_no` 是居民身份证号码或统一社会信用代码，不是办件编号。",
            "`case_no` is a resident identity number or a credit code, not a case number",
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_request_parses() {
        let r =
            parse(br#"{"key":{"uscc":"x"},"purpose":"p","case_no":"2026-001","items":["name"]}"#)
                .unwrap();
        assert_eq!(r.purpose, "p");
        assert_eq!(r.items.unwrap(), vec!["name"]);
    }

    #[test]
    fn malformed_requests_are_bad_requests() {
        for bad in [
            &b""[..],
            b"[]",
            br#"{"key":{},"purpose":"p"}"#,
            br#"{"key":{"a":1},"purpose":""}"#,
            br#"{"key":{"a":1},"purpose":"p","extra":1}"#,
            br#"{"key":{"a":1},"purpose":"p","case_no":"has space"}"#,
            br#"{"key":{"a":1},"purpose":"p\u0007"}"#,
            br#"{"key":{"a":1}}"#,
        ] {
            assert!(
                matches!(parse(bad), Err(Problem::BadRequest(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}

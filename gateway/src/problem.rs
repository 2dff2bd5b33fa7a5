//! The one place where a refusal becomes an answer on the wire: an RFC 9457
//! `application/problem+json` body with a stable `code`, a message in Chinese
//! and English, and the request id. Codes never change once shipped;
//! `docs/api.md` lists them.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use yrdx_adapters::MapError;
use yrdx_registry::Refusal;

/// 499, the status recorded for a request whose client left before its
/// answer (no answer is sent).
const CLIENT_CLOSED: StatusCode = match StatusCode::from_u16(499) {
    Ok(s) => s,
    Err(_) => StatusCode::BAD_REQUEST,
};

/// What exactly was wrong, in Chinese and in English: made together where
/// the problem is found, so the Chinese names the same field or value as the
/// English (`detail_zh` and `detail` in the problem body).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Detail {
    /// 中文说明。
    pub zh: String,
    /// The English detail.
    pub en: String,
}

impl Detail {
    /// A detail in both languages.
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Detail {
        Detail {
            zh: zh.into(),
            en: en.into(),
        }
    }
}

/// Why an exchange was not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No client certificate was presented.
    NoClientCertificate,
    /// The client certificate names no federation member (no `urn:yrdx:` URI).
    NotAMemberCertificate,
    /// The certificate's member is not in the registry.
    UnknownMember,
    /// The member is suspended.
    MemberInactive,
    /// The certificate's issuing region is not the member's region.
    RegionMismatch,
    /// The member binds its certificates and this is not one of them.
    CertificateNotBound,
    /// Only regulators may use this API.
    NotARegulator,
    /// The request is malformed; the detail says how (never with its values).
    BadRequest(Detail),
    /// The request body is larger than the configured limit.
    PayloadTooLarge,
    /// The resource is not in the catalogue.
    UnknownResource,
    /// No list entry lets this consumer take this resource.
    NotInResponsibilityList,
    /// The entry that would allow it has ended.
    EntryExpired {
        /// The entry id and its last day.
        detail: Detail,
    },
    /// The entry that would allow it has not started.
    EntryNotYetValid,
    /// The purpose is not one the list allows.
    PurposeNotAllowed,
    /// The entry requires a service item code.
    ServiceItemRequired,
    /// The service item is not one the entry lists.
    ServiceItemNotAllowed,
    /// The entry requires a case number.
    CaseNumberRequired,
    /// The case number is not one: it does not have the shape the list entry
    /// sets, or it is a resident identity number or a credit code.
    CaseNumberInvalid(Detail),
    /// The resource (or this provider's row) is not shared.
    NotShared {
        /// The legal basis the list cites.
        legal_basis: String,
    },
    /// A rate or period quota of the entry is used up.
    QuotaExhausted {
        /// Seconds until a call may succeed again.
        retry_after_s: u64,
    },
    /// The store that keeps quota counters did not answer.
    StoreUnavailable,
    /// Several providers hold the resource; the request must name one.
    ProviderRequired,
    /// The provider holds no record for the key.
    RecordNotFound,
    /// The provider could not be reached.
    UpstreamUnavailable,
    /// The provider did not answer within the entry's deadline.
    UpstreamTimeout,
    /// The provider answered with an error status.
    UpstreamError {
        /// The provider's HTTP status.
        status: u16,
    },
    /// The provider's answer could not be mapped to the catalogue.
    MappingFailed(Detail),
    /// The licence file's seal or signature is invalid (or the file cannot be
    /// read as a signed OFD document): the licence is not served.
    SealInvalid {
        /// The failed step and reason.
        detail: Detail,
        /// The verification report.
        report: Box<serde_json::Value>,
    },
    /// The licence file's seal could not be decided (unknown anchor,
    /// revocation unknown): the licence is not served either.
    SealIndeterminate {
        /// The undecided step and reason.
        detail: Detail,
        /// The verification report.
        report: Box<serde_json::Value>,
    },
    /// An uploaded document cannot be read safely (not a ZIP, a zip bomb,
    /// unsafe entry names…).
    UnreadableDocument(Detail),
    /// The exchange could not be recorded in the log, so nothing is served.
    AuditUnavailable,
    /// No such API.
    NotFound,
    /// The API does not take this method.
    MethodNotAllowed,
    /// A fault of the gateway itself; details are in the gateway's log only.
    Internal,
    /// Document verification is at its bounds (the node's or this member's
    /// share): try again shortly.
    VerifierBusy,
    /// The request head (its URL and headers) is larger than the limits, or
    /// has too many headers; the HTTP layer answered 431 itself.
    HeadTooLarge,
    /// The client hung up before its answer; recorded, never answered.
    ClientClosed,
    /// The request id was used by this consumer for another request within
    /// the last 24 hours.
    RequestIdReused,
    /// A request with this request id is being answered now: try again once
    /// it is.
    RequestInProgress,
    /// The TLS handshake refused the client's certificate: it is revoked.
    /// Never answered in a body (there is no connection to answer on); the
    /// refusal is recorded in the log.
    CertificateRevoked,
    /// The TLS handshake refused the client's certificate: expired.
    CertificateExpired,
    /// The TLS handshake refused the client's certificate: no trusted region's
    /// CA issued it.
    CertificateUntrusted,
    /// The TLS handshake refused the client's certificate for another reason.
    CertificateInvalid,
    /// The TLS handshake refused the client's certificate because its
    /// region's CRLs are past their nextUpdate and `tls.crl_grace_hours`:
    /// whether it is revoked is unknown.
    CertificateRevocationUnknown,
}

/// An RFC 9457 problem body.
#[derive(Debug, Serialize)]
pub struct ProblemBody<'a> {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short English title.
    pub title: &'static str,
    /// HTTP status.
    pub status: u16,
    /// English detail, when there is more to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The same detail in Chinese.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail_zh: Option<String>,
    /// The stable problem code.
    pub code: &'static str,
    /// The message in Chinese.
    pub message_zh: &'static str,
    /// The message in English.
    pub message_en: &'static str,
    /// The request id.
    pub request_id: &'a str,
    /// The seal verification report, for `seal_invalid` and
    /// `seal_indeterminate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<&'a serde_json::Value>,
}

impl Problem {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.describe().1
    }

    /// The codes of refusals that are the provider's failures: it was called,
    /// after the gateway's own checks all passed, and did not answer well. A
    /// missing record (`record_not_found`) is an answer, not a failure.
    pub const PROVIDER_FAILURES: &'static [&'static str] = &[
        "upstream_unavailable",
        "upstream_timeout",
        "upstream_error",
        "mapping_failed",
    ];

    /// Whether a refusal with `code` is a failure of the provider.
    pub fn is_provider_failure(code: &str) -> bool {
        Problem::PROVIDER_FAILURES.contains(&code)
    }

    /// Seal and signature failures of what a provider served: a failure of
    /// the provider in its fulfilment report.
    pub const SEAL_FAILURES: &'static [&'static str] = &["seal_invalid", "seal_indeterminate"];

    /// The codes a fulfilment report weighs.
    pub fn report_codes() -> yrdx_registry::ReportCodes<'static> {
        yrdx_registry::ReportCodes {
            record_not_found: Problem::RecordNotFound.code(),
            quota_exhausted: Problem::QuotaExhausted { retry_after_s: 0 }.code(),
            provider_failures: Problem::PROVIDER_FAILURES,
            seal_failures: Problem::SEAL_FAILURES,
        }
    }

    /// The problem a TLS handshake's refusal of the client's certificate is
    /// recorded as, if it was refused for its certificate.
    pub fn from_handshake(e: &std::io::Error) -> Option<Problem> {
        let inner = e.get_ref()?.downcast_ref::<rustls::Error>()?;
        match inner {
            rustls::Error::InvalidCertificate(cert) => Some(match cert {
                rustls::CertificateError::Revoked => Problem::CertificateRevoked,
                rustls::CertificateError::Expired
                | rustls::CertificateError::ExpiredContext { .. } => Problem::CertificateExpired,
                // A chain to no anchor, or to an impostor anchor bearing a trusted
                // CA's name (the signature then fails), is untrusted either way.
                rustls::CertificateError::UnknownIssuer
                | rustls::CertificateError::BadSignature => Problem::CertificateUntrusted,
                rustls::CertificateError::ExpiredRevocationList
                | rustls::CertificateError::ExpiredRevocationListContext { .. } => {
                    Problem::CertificateRevocationUnknown
                }
                _ => Problem::CertificateInvalid,
            }),
            _ => None,
        }
    }

    /// The problem a request refused by the HTTP layer itself is recorded as:
    /// a head too large (headers, URL) or malformed HTTP/1.1 framing, or an
    /// HTTP/2 connection the server closed (GOAWAY) for the client's protocol
    /// error. Other connection ends (the client leaving, a timeout) are not
    /// refusals.
    pub fn from_connection(e: &(dyn std::error::Error + 'static)) -> Option<Problem> {
        let e = e.downcast_ref::<hyper::Error>()?;
        if e.is_parse_too_large() {
            return Some(Problem::HeadTooLarge);
        }
        if e.is_parse() {
            return Some(Problem::BadRequest(Detail::new(
                "HTTP 请求的格式不正确。",
                "malformed HTTP request",
            )));
        }
        let h2 = std::error::Error::source(e)?.downcast_ref::<h2::Error>()?;
        let reason = h2.reason().filter(|r| *r != h2::Reason::NO_ERROR)?;
        (h2.is_go_away() && h2.is_library()).then(|| {
            Problem::BadRequest(Detail::new(
                format!("HTTP/2 帧格式不正确：{reason}"),
                format!("malformed HTTP/2: {reason}"),
            ))
        })
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.describe().0
    }

    /// Status, code, Chinese message, English message.
    fn describe(&self) -> (StatusCode, &'static str, &'static str, &'static str) {
        use Problem::*;
        match self {
            NoClientCertificate => (
                StatusCode::UNAUTHORIZED,
                "no_client_certificate",
                "未提供客户端证书，拒绝交换。",
                "No client certificate was presented.",
            ),
            NotAMemberCertificate => (
                StatusCode::FORBIDDEN,
                "unknown_member",
                "客户端证书未标识联盟成员。",
                "The client certificate does not name a federation member.",
            ),
            UnknownMember => (
                StatusCode::FORBIDDEN,
                "unknown_member",
                "证书所标识的成员未在登记册中。",
                "The member named by the certificate is not registered.",
            ),
            MemberInactive => (
                StatusCode::FORBIDDEN,
                "member_inactive",
                "该成员已被停用。",
                "The member is suspended.",
            ),
            RegionMismatch => (
                StatusCode::FORBIDDEN,
                "region_mismatch",
                "证书签发机构所属地区与成员所属地区不一致。",
                "The certificate was issued by another region's CA than the member's region.",
            ),
            CertificateNotBound => (
                StatusCode::FORBIDDEN,
                "certificate_not_bound",
                "该证书未登记为此成员的证书。",
                "This certificate is not one the member has registered.",
            ),
            NotARegulator => (
                StatusCode::FORBIDDEN,
                "not_a_regulator",
                "仅监管方可访问此接口。",
                "Only regulators may use this API.",
            ),
            BadRequest(_) => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                "请求格式不正确。",
                "The request is malformed.",
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "请求体超过允许的大小。",
                "The request body is larger than allowed.",
            ),
            UnknownResource => (
                StatusCode::NOT_FOUND,
                "unknown_resource",
                "共享目录中没有该信息资源。",
                "The resource is not in the shared catalogue.",
            ),
            NotInResponsibilityList => (
                StatusCode::FORBIDDEN,
                "not_in_responsibility_list",
                "数据共享责任清单未授权该成员获取此资源。",
                "No data-sharing responsibility-list entry lets this member take this resource.",
            ),
            EntryExpired { .. } => (
                StatusCode::FORBIDDEN,
                "entry_expired",
                "授权该交换的责任清单条目已过期。",
                "The responsibility-list entry that would allow this exchange has expired.",
            ),
            EntryNotYetValid => (
                StatusCode::FORBIDDEN,
                "entry_not_yet_valid",
                "授权该交换的责任清单条目尚未生效。",
                "The responsibility-list entry that would allow this exchange is not in force yet.",
            ),
            PurposeNotAllowed => (
                StatusCode::FORBIDDEN,
                "purpose_not_allowed",
                "责任清单不允许以该用途获取此资源。",
                "The responsibility list does not allow this resource for this purpose.",
            ),
            ServiceItemRequired => (
                StatusCode::FORBIDDEN,
                "service_item_required",
                "责任清单要求提供事项编码。",
                "The responsibility list requires a service item code for this resource.",
            ),
            ServiceItemNotAllowed => (
                StatusCode::FORBIDDEN,
                "service_item_not_allowed",
                "责任清单不允许为该事项获取此资源。",
                "The responsibility list does not allow this resource for this service item.",
            ),
            CaseNumberRequired => (
                StatusCode::FORBIDDEN,
                "case_number_required",
                "责任清单要求提供办件编号。",
                "The responsibility list requires a case number for this resource.",
            ),
            CaseNumberInvalid(_) => (
                StatusCode::BAD_REQUEST,
                "case_number_invalid",
                "办件编号不符合责任清单规定的格式，或是身份证号码、统一社会信用代码。",
                "The case number does not have the shape the responsibility list sets, or is an identity number or a credit code.",
            ),
            NotShared { .. } => (
                StatusCode::FORBIDDEN,
                "not_shared",
                "该信息资源不予共享。",
                "This resource is not shared.",
            ),
            QuotaExhausted { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "quota_exhausted",
                "已超出责任清单约定的调用限额。",
                "The call quota agreed in the responsibility list is used up.",
            ),
            StoreUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "网关存储暂不可用。",
                "The gateway's store is not available now.",
            ),
            ProviderRequired => (
                StatusCode::BAD_REQUEST,
                "provider_required",
                "多个地区提供该资源，请指定提供方。",
                "Several regions provide this resource; name the provider.",
            ),
            RecordNotFound => (
                StatusCode::NOT_FOUND,
                "record_not_found",
                "提供方没有该记录。",
                "The provider holds no record for this key.",
            ),
            UpstreamUnavailable => (
                StatusCode::BAD_GATEWAY,
                "upstream_unavailable",
                "无法连接数据提供方。",
                "The data provider could not be reached.",
            ),
            UpstreamTimeout => (
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                "数据提供方未在规定时限内答复。",
                "The data provider did not answer within the agreed time limit.",
            ),
            UpstreamError { .. } => (
                StatusCode::BAD_GATEWAY,
                "upstream_error",
                "数据提供方返回错误。",
                "The data provider answered with an error.",
            ),
            MappingFailed(_) => (
                StatusCode::BAD_GATEWAY,
                "mapping_failed",
                "提供方返回的数据无法映射到共享目录。",
                "The provider's answer could not be mapped to the shared catalogue.",
            ),
            SealInvalid { .. } => (
                StatusCode::BAD_GATEWAY,
                "seal_invalid",
                "证照文件的电子印章或签章验证不通过，不予提供。",
                "The licence file's electronic seal or signature is invalid; the licence is not served.",
            ),
            SealIndeterminate { .. } => (
                StatusCode::BAD_GATEWAY,
                "seal_indeterminate",
                "无法确认证照文件的电子印章（如信任锚未知或吊销状态不明），不予提供。",
                "The licence file's electronic seal could not be verified (unknown anchor or revocation status); the licence is not served.",
            ),
            UnreadableDocument(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unreadable_document",
                "上传的文件无法安全读取。",
                "The uploaded document cannot be read safely.",
            ),
            AuditUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                "交换日志暂不可写，为保证可审计，本次交换不予提供数据。",
                "The exchange log cannot be written now; no data is served without an audit record.",
            ),
            NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "接口不存在。",
                "No such API.",
            ),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "该接口不支持此请求方法。",
                "This API does not take this method.",
            ),
            Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "网关内部错误。",
                "Internal gateway error.",
            ),
            HeadTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "header_too_large",
                "请求头（URL 与各请求头）过大或请求头过多。",
                "The request head (URL and headers) is too large or has too many headers.",
            ),
            VerifierBusy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "verifier_busy",
                "文档验证繁忙，请稍后重试。",
                "Document verification is busy; retry shortly.",
            ),
            ClientClosed => (
                CLIENT_CLOSED,
                "client_closed",
                "客户端在收到应答前断开了连接。",
                "The client closed the connection before its answer.",
            ),
            RequestIdReused => (
                StatusCode::CONFLICT,
                "request_id_reused",
                "该请求编号在 24 小时内已用于另一个不同的请求。",
                "This request id was used for a different request within the last 24 hours.",
            ),
            RequestInProgress => (
                StatusCode::CONFLICT,
                "request_in_progress",
                "使用该请求编号的请求正在处理中，请稍后重试。",
                "A request with this request id is being answered now; retry shortly.",
            ),
            CertificateRevoked => (
                StatusCode::FORBIDDEN,
                "certificate_revoked",
                "客户端证书已被吊销。",
                "The client certificate is revoked.",
            ),
            CertificateExpired => (
                StatusCode::FORBIDDEN,
                "certificate_expired",
                "客户端证书已过期。",
                "The client certificate has expired.",
            ),
            CertificateUntrusted => (
                StatusCode::FORBIDDEN,
                "certificate_untrusted",
                "客户端证书不是由受信任的地区证书机构签发的。",
                "The client certificate was not issued by a trusted region's CA.",
            ),
            CertificateInvalid => (
                StatusCode::FORBIDDEN,
                "certificate_invalid",
                "客户端证书无效。",
                "The client certificate is invalid.",
            ),
            CertificateRevocationUnknown => (
                StatusCode::FORBIDDEN,
                "certificate_revocation_unknown",
                "客户端证书所属地区的吊销列表已过期（超出宽限期），无法确认证书未被吊销。",
                "The client certificate's region's CRL is past its next update and the grace period; whether it is revoked is unknown.",
            ),
        }
    }

    /// What exactly was wrong, in both languages, when there is more to say
    /// than the code's message.
    pub fn detail(&self) -> Option<Detail> {
        match self {
            Problem::BadRequest(d)
            | Problem::CaseNumberInvalid(d)
            | Problem::MappingFailed(d)
            | Problem::UnreadableDocument(d)
            | Problem::SealInvalid { detail: d, .. }
            | Problem::SealIndeterminate { detail: d, .. }
            | Problem::EntryExpired { detail: d } => Some(d.clone()),
            Problem::UpstreamError { status } => Some(Detail::new(
                format!("提供方返回 HTTP {status}。"),
                format!("provider answered HTTP {status}"),
            )),
            Problem::NotShared { legal_basis } => Some(Detail::new(
                format!("法律依据：{legal_basis}"),
                format!("legal basis: {legal_basis}"),
            )),
            Problem::QuotaExhausted { retry_after_s } => Some(Detail::new(
                format!("请 {retry_after_s} 秒后重试。"),
                format!("retry after {retry_after_s} s"),
            )),
            _ => None,
        }
    }

    /// The problem as a response for `request_id`.
    pub fn to_response(&self, request_id: &str) -> Response {
        let (status, code, message_zh, message_en) = self.describe();
        let (detail_zh, detail) = self.detail().map(|d| (d.zh, d.en)).unzip();
        let body = ProblemBody {
            type_: format!("urn:yrdx:problem:{code}"),
            title: message_en,
            status: status.as_u16(),
            detail,
            detail_zh,
            code,
            message_zh,
            message_en,
            request_id,
            verification: match self {
                Problem::SealInvalid { report, .. } | Problem::SealIndeterminate { report, .. } => {
                    Some(report.as_ref())
                }
                _ => None,
            },
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut resp = (status, bytes).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Ok(v) = HeaderValue::from_str(request_id) {
            resp.headers_mut().insert(crate::REQUEST_ID_HEADER, v);
        }
        match self {
            Problem::QuotaExhausted { retry_after_s } => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
            }
            Problem::VerifierBusy | Problem::RequestInProgress => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        resp
    }
}

impl From<Refusal> for Problem {
    fn from(r: Refusal) -> Problem {
        match r {
            Refusal::UnknownResource => Problem::UnknownResource,
            Refusal::NotInList => Problem::NotInResponsibilityList,
            Refusal::EntryExpired { entry, valid_to } => {
                let day = yrdx_registry::format_date(valid_to);
                Problem::EntryExpired {
                    detail: Detail::new(
                        format!("责任清单条目 {entry} 已于 {day} 终止。"),
                        format!("entry {entry} ended on {day}"),
                    ),
                }
            }
            Refusal::EntryNotYetValid => Problem::EntryNotYetValid,
            Refusal::PurposeNotAllowed => Problem::PurposeNotAllowed,
            Refusal::AmbiguousProvider => Problem::ProviderRequired,
            Refusal::NotShared { legal_basis } => Problem::NotShared { legal_basis },
            Refusal::ServiceItemRequired => Problem::ServiceItemRequired,
            Refusal::ServiceItemNotAllowed => Problem::ServiceItemNotAllowed,
            Refusal::CaseNumberRequired => Problem::CaseNumberRequired,
            Refusal::CaseNumberInvalid { pattern } => Problem::CaseNumberInvalid(Detail::new(
                format!(
                    "责任清单条目规定的办件编号格式为 `{pattern}`（# 为一位数字，@ 为一位大写字母，* 为一个或多个编码字符）。"
                ),
                format!(
                    "the responsibility-list entry sets the case-number pattern `{pattern}` \
                     (# a digit, @ a capital letter, * one or more code characters)"
                ),
            )),
            Refusal::InvalidRoutingKey { field, expected } => Problem::BadRequest(Detail::new(
                format!("用于选择提供方的键字段 `{field}` 不是有效的{expected}。"),
                format!("key field `{field}` is not a valid {expected}"),
            )),
        }
    }
}

/// A mapping error on the request side: the consumer's key is wrong.
pub fn request_mapping(e: MapError) -> Problem {
    Problem::BadRequest(map_detail(&e))
}

/// A mapping error on the response side: the provider's answer is wrong or
/// says there is no record.
pub fn response_mapping(e: MapError) -> Problem {
    match e {
        MapError::NotFound => Problem::RecordNotFound,
        other => Problem::MappingFailed(map_detail(&other)),
    }
}

/// A mapping error in both languages: the same fields, paths and items (never
/// a value of a native document).
fn map_detail(e: &MapError) -> Detail {
    use MapError::*;
    let zh = match e {
        MissingKey { field } => format!("缺少键字段 `{field}`。"),
        BadKey { field, expected } => format!("键字段 `{field}` 不正确：应为 {expected}。"),
        Malformed { format, reason } => format!("提供方返回的 {format} 文档格式不正确：{reason}"),
        Encoding { encoding } => format!("提供方返回的文档不是有效的 {encoding} 编码。"),
        NotFound => "提供方没有该键的记录。".to_owned(),
        ProviderFailure { path } => format!("提供方在 `{path}` 处报告失败。"),
        NoRecord { path } => format!("原始路径 `{path}` 处没有记录。"),
        SeveralRecords { path } => format!("原始路径 `{path}` 处有多条记录，应只有一条。"),
        MissingItem { item, path } => {
            format!("共享目录数据项 `{item}` 为必填，但原始路径 `{path}` 不存在。")
        }
        NoValue { item, path, found } => {
            format!("共享目录数据项 `{item}`：原始路径 `{path}` 为 {found}，映射不接受。")
        }
        Ambiguous { item, path } => {
            format!("共享目录数据项 `{item}`：原始路径 `{path}` 选出多个值，应只有一个。")
        }
        Invalid {
            item,
            path,
            expected,
        } => format!("共享目录数据项 `{item}`（原始路径 `{path}`）：应为 {expected}。"),
        UnknownCode { item, path } => {
            format!("共享目录数据项 `{item}`（原始路径 `{path}`）：代码不在代码表中。")
        }
    };
    Detail::new(zh, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes named apart from their variants are the variants' own.
    #[test]
    fn provider_failures_are_problem_codes() {
        let failures = [
            Problem::UpstreamUnavailable,
            Problem::UpstreamTimeout,
            Problem::UpstreamError { status: 500 },
            Problem::MappingFailed(Detail::default()),
        ]
        .map(|p| p.code());
        assert_eq!(failures, Problem::PROVIDER_FAILURES);
        assert!(!Problem::is_provider_failure(
            Problem::RecordNotFound.code()
        ));
        assert_eq!(Problem::report_codes().record_not_found, "record_not_found");
        assert_eq!(Problem::report_codes().quota_exhausted, "quota_exhausted");
        let seal = |e: Problem| e.code();
        assert_eq!(
            Problem::report_codes().seal_failures,
            [
                seal(Problem::SealInvalid {
                    detail: Detail::default(),
                    report: Box::default()
                }),
                seal(Problem::SealIndeterminate {
                    detail: Detail::default(),
                    report: Box::default()
                })
            ]
        );
    }

    #[test]
    fn codes_are_stable() {
        // Shipped codes: changing one breaks every consumer that matches on it.
        let expected = [
            (Problem::NoClientCertificate, "no_client_certificate", 401),
            (Problem::UnknownMember, "unknown_member", 403),
            (Problem::RegionMismatch, "region_mismatch", 403),
            (Problem::UnknownResource, "unknown_resource", 404),
            (
                Problem::NotInResponsibilityList,
                "not_in_responsibility_list",
                403,
            ),
            (Problem::PurposeNotAllowed, "purpose_not_allowed", 403),
            (Problem::BadRequest(Detail::default()), "bad_request", 400),
            (Problem::UpstreamUnavailable, "upstream_unavailable", 502),
            (Problem::UpstreamTimeout, "upstream_timeout", 504),
            (
                Problem::MappingFailed(Detail::default()),
                "mapping_failed",
                502,
            ),
            (Problem::AuditUnavailable, "audit_unavailable", 503),
            (
                Problem::SealInvalid {
                    detail: Detail::default(),
                    report: Box::default(),
                },
                "seal_invalid",
                502,
            ),
            (
                Problem::SealIndeterminate {
                    detail: Detail::default(),
                    report: Box::default(),
                },
                "seal_indeterminate",
                502,
            ),
            (
                Problem::UnreadableDocument(Detail::default()),
                "unreadable_document",
                422,
            ),
        ];
        for (p, code, status) in expected {
            assert_eq!(p.code(), code);
            assert_eq!(p.status().as_u16(), status, "{code}");
        }
    }

    fn has_chinese(s: &str) -> bool {
        s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    /// Every problem that says more than its code's message says it in
    /// Chinese too, as specifically: a `detail_zh` beside `detail`, never the
    /// generic `message_zh`.
    #[tokio::test]
    async fn every_detail_has_its_own_chinese() {
        use http_body_util::BodyExt;
        let detailed = [
            Problem::from(Refusal::EntryExpired {
                entry: "RL-2026-00001".into(),
                valid_to: time::macros::date!(2026 - 01 - 31),
            }),
            Problem::from(Refusal::InvalidRoutingKey {
                field: "uscc".into(),
                expected: "unified social credit code".into(),
            }),
            Problem::from(Refusal::NotShared {
                legal_basis: "《政务数据共享条例》".into(),
            }),
            request_mapping(MapError::MissingKey {
                field: "uscc".into(),
            }),
            response_mapping(MapError::UnknownCode {
                item: "status".into(),
                path: "$.zt".into(),
            }),
            Problem::UpstreamError { status: 500 },
            Problem::QuotaExhausted { retry_after_s: 3 },
        ];
        for problem in detailed {
            let body = problem.to_response("r").into_body();
            let v: serde_json::Value =
                serde_json::from_slice(&body.collect().await.unwrap().to_bytes()).unwrap();
            let (en, zh) = (v["detail"].as_str(), v["detail_zh"].as_str());
            let (Some(en), Some(zh)) = (en, zh) else {
                panic!("{problem:?}: {v}");
            };
            assert!(
                has_chinese(zh) && zh != v["message_zh"],
                "{problem:?}: {zh}"
            );
            assert_ne!(zh, en, "{problem:?}");
        }
        // The values the English names are named in the Chinese too.
        let d = Problem::from(Refusal::EntryExpired {
            entry: "RL-2026-00001".into(),
            valid_to: time::macros::date!(2026 - 01 - 31),
        })
        .detail()
        .unwrap();
        assert!(
            d.zh.contains("RL-2026-00001") && d.zh.contains("2026-01-31"),
            "{d:?}"
        );
        // A problem without a detail has neither.
        let body = Problem::PurposeNotAllowed.to_response("r").into_body();
        let v: serde_json::Value =
            serde_json::from_slice(&body.collect().await.unwrap().to_bytes()).unwrap();
        assert!(
            v.get("detail").is_none() && v.get("detail_zh").is_none(),
            "{v}"
        );
    }

    /// Every detail made in the gateway's sources gives its Chinese first,
    /// as a literal with Chinese in it: `Detail::new("…", …)` or a route's
    /// `bad("…", …)` helper (or `format!("…", …)` of one).
    #[test]
    fn every_detail_is_made_in_both_languages() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![src.clone()];
        let mut checked = 0;
        let mut missing = Vec::new();
        while let Some(path) = files.pop() {
            // The CLI answers no HTTP request (its `bad` is its own).
            if path.is_dir() && path.file_name().is_some_and(|n| n == "cli") {
                continue;
            }
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).unwrap() {
                    files.push(entry.unwrap().path());
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Not the tests' own text.
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            for pattern in ["Detail::new(", " bad(", "(bad(", "|| bad("] {
                for (at, _) in text.match_indices(pattern) {
                    let line = text[..at].matches('\n').count() + 1;
                    let rest = text[at + pattern.len()..].trim_start();
                    let rest = rest.strip_prefix("format!(").unwrap_or(rest).trim_start();
                    // The helpers themselves pass their `zh` on.
                    if rest.starts_with("zh") || text[..at].ends_with("fn") {
                        continue;
                    }
                    checked += 1;
                    let literal = rest
                        .strip_prefix('"')
                        .and_then(|r| r.split('"').next())
                        .unwrap_or_default();
                    if !has_chinese(literal) {
                        missing.push(format!("{}:{line}", path.display()));
                    }
                }
            }
        }
        assert!(checked > 40, "only {checked} details found");
        assert!(
            missing.is_empty(),
            "details without Chinese first: {missing:?}"
        );
    }

    /// A request refused for another holding its id may retry in a second.
    #[test]
    fn a_request_in_progress_says_when_to_retry() {
        let resp = Problem::RequestInProgress.to_response("r");
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
        assert_eq!(Problem::RequestIdReused.code(), "request_id_reused");
        assert_eq!(Problem::RequestIdReused.status(), StatusCode::CONFLICT);
    }

    #[tokio::test]
    async fn the_body_is_rfc9457_with_both_languages() {
        use http_body_util::BodyExt;
        let resp = Problem::PurposeNotAllowed.to_response("0190b6f2-0000-7000-8000-000000000000");
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["code"], "purpose_not_allowed");
        assert_eq!(v["status"], 403);
        assert_eq!(v["type"], "urn:yrdx:problem:purpose_not_allowed");
        assert!(v["message_zh"].as_str().unwrap().contains("用途"));
        assert_eq!(v["request_id"], "0190b6f2-0000-7000-8000-000000000000");
    }
}

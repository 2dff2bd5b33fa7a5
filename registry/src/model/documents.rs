//! The registry documents: members, the shared catalogue and the
//! data-sharing responsibility list, as imported and stored per version.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;
use yrdx_adapters::{Field, ItemType, Schema};
use yrdx_signing::{MemberId, Uscc};

/// What a member may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Calls for data held by others.
    Consumer,
    /// Answers for data it holds.
    Provider,
    /// Reads the exchange log and fulfilment reports.
    Regulator,
    /// Runs the exchange.
    Operator,
}

/// Whether a member may take part now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// May exchange.
    Active,
    /// Known, but refused until reinstated.
    Suspended,
}

/// A federation member as imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// `{region}:{uscc}[:{subsystem}]`.
    pub id: MemberId,
    /// Name in Chinese, as registered.
    pub name: String,
    /// Name in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// What the member may do.
    pub roles: Vec<Role>,
    /// Active or suspended.
    pub status: MemberStatus,
    /// For providers: the base URL of their platform, `https://host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Groups the member belongs to, e.g. `ah-market-regulation`; list entries
    /// may name a group instead of each member.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Certificate bindings: SHA-256 fingerprints (hex) of the client
    /// certificates this member may use. Empty: any certificate its region's CA
    /// issued naming it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<String>,
    /// Remarks (备注), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
}

impl Member {
    /// Whether the member holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether a certificate with this SHA-256 fingerprint may act for the member.
    pub fn accepts_certificate(&self, fingerprint: &[u8; 32]) -> bool {
        self.certificates.is_empty() || {
            let hex = yrdx_signing::hex(fingerprint);
            self.certificates
                .iter()
                .any(|c| normalise_fingerprint(c) == hex)
        }
    }
}

/// A fingerprint as written (`AB:CD:…` or `abcd…`) in lower-case hex without
/// separators.
pub fn normalise_fingerprint(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// How a catalogue resource may be shared (共享类型).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharingType {
    /// 无条件共享: any listed consumer.
    Unconditional,
    /// 有条件共享: listed consumers for listed purposes (and service items, case
    /// numbers where the entry says so).
    Conditional,
    /// 不予共享: refused, citing the legal basis.
    NotShared,
}

/// How a resource is delivered (共享方式).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharingMethod {
    /// 接口: per-request API, through the gateway.
    #[default]
    Api,
    /// 批量文件: bulk file delivery, outside the exchange API.
    Bulk,
}

/// A typed field of a resource, as the catalogue declares it (信息项).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDoc {
    /// snake_case English name (信息项编码).
    pub name: String,
    /// Chinese name (信息项名称).
    pub name_zh: String,
    /// Type, e.g. `text(200)`, `date`, `code` — the length is in the type.
    #[serde(rename = "type")]
    pub ty: ItemType,
    /// Whether it must be present.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// The code list, for `code` items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
    /// The codes' labels (代码值 `1=有效`), by code, where the catalogue gives them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The authoritative source of this item (一数之源), e.g. the department
    /// whose register is the reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Remarks (备注), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
}

/// A catalogue resource (信息资源) with the core metadata of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// `YRD-{domain}-{nnnn}` (信息资源代码).
    pub code: String,
    /// Name in Chinese (信息资源名称).
    pub name: String,
    /// Name in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// Classification (信息资源分类), e.g. `基础信息/法人`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
    /// The body responsible for the resource across the region (信息资源提供方).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Its unified social credit code (提供方代码).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_code: Option<Uscc>,
    /// Abstract (信息资源摘要).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Format (信息资源格式), e.g. `JSON`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// How it may be shared.
    pub sharing_type: SharingType,
    /// Sharing conditions (共享条件), in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_conditions: Option<String>,
    /// Sharing method (共享方式).
    #[serde(default, skip_serializing_if = "is_default")]
    pub sharing_method: SharingMethod,
    /// Whether it is also open to the public (是否向社会开放).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub open_to_public: bool,
    /// Update cycle (更新周期), e.g. `实时`, `每日`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_cycle: Option<String>,
    /// Publication date (发布日期).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::dates::option"
    )]
    pub published: Option<Date>,
    /// Related resources (关联资源代码).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// Service items that use it (关联事项).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_items: Vec<String>,
    /// Catalogue version of the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The key field whose area code picks the provider region when several
    /// regions provide the resource (`uscc`, `resident_id` or `area_code` typed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_by: Option<String>,
    /// For a licence type (证照类型): its licence-type code (证照类型代码), the
    /// type part of its licences' identifiers (GB/T 36904) — the defining
    /// ministry's credit code and three digits. Its records are licence
    /// metadata, listed by holder through `GET /v1/licences?holder=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence_type: Option<String>,
    /// The fields a request key may carry.
    pub key: Vec<FieldDoc>,
    /// The data items of a record (信息项).
    pub items: Vec<FieldDoc>,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl Resource {
    /// The resource as the adapters see it.
    pub fn schema(&self) -> Schema {
        let field = |f: &FieldDoc| Field {
            name: f.name.clone(),
            ty: f.ty.clone(),
            required: f.required,
            codes: f.codes.clone(),
        };
        Schema {
            resource: self.code.clone(),
            key: self.key.iter().map(field).collect(),
            items: self.items.iter().map(field).collect(),
        }
    }
}

/// Whether a list entry is in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Enforced.
    Active,
    /// Kept for the record, never matched.
    Withdrawn,
}

/// The quotas of a list entry, per consumer. Absent means unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Sustained calls per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_second: Option<u32>,
    /// Calls allowed at once above the sustained rate (defaults to `per_second`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Calls per calendar day (China Standard Time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_day: Option<u64>,
    /// Calls per calendar month (China Standard Time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_month: Option<u64>,
    /// Records per call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_per_call: Option<u32>,
}

impl Quota {
    /// Whether no limit is set.
    pub fn is_unlimited(&self) -> bool {
        *self == Quota::default()
    }
}

/// One row of the data-sharing responsibility list (数据共享责任清单).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// `RL-{yyyy}-{nnnnn}` (清单编号).
    pub id: String,
    /// The catalogue resource.
    pub resource: String,
    /// The member that provides it.
    pub provider: MemberId,
    /// The provider's contact (联系人及方式).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// The sharing type of this row; the resource's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_type: Option<SharingType>,
    /// Sharing conditions in words (共享条件).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    /// Legal basis (法律依据); mandatory for not-shared rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// Sharing method; the resource's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharing_method: Option<SharingMethod>,
    /// Update cycle (更新周期).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_cycle: Option<String>,
    /// Freshness promised (数据时效), in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness: Option<String>,
    /// The members that may take it.
    #[serde(default)]
    pub consumers: Vec<MemberId>,
    /// Member groups that may take it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumer_groups: Vec<String>,
    /// The purposes it may be taken for (conditional rows).
    #[serde(default)]
    pub purposes: Vec<String>,
    /// The service items it may be taken for; any when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_items: Vec<String>,
    /// Whether a request must carry a case number (办件编号).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub case_no_required: bool,
    /// The shape a case number sent for this row must have
    /// ([`crate::case_no`]); any code-like case number when absent. Only a
    /// case number that matched it is kept in the log as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_no_pattern: Option<String>,
    /// The items granted; every other item is removed before the consumer sees it.
    #[serde(default)]
    pub items: Vec<String>,
    /// First day in force (China Standard Time).
    #[serde(with = "crate::dates")]
    pub valid_from: Date,
    /// Last day in force (China Standard Time).
    #[serde(with = "crate::dates")]
    pub valid_to: Date,
    /// Active or withdrawn.
    pub status: EntryStatus,
    /// Reply time limit for the provider, in milliseconds (答复时限).
    pub deadline_ms: u64,
    /// Quotas per consumer.
    #[serde(default, skip_serializing_if = "Quota::is_unlimited")]
    pub quota: Quota,
    /// Remarks (备注), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
}

/// Everything one import brings: members, catalogue and list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryData {
    /// Federation members.
    #[serde(default)]
    pub members: Vec<Member>,
    /// Catalogue resources.
    #[serde(default)]
    pub catalogue: Vec<Resource>,
    /// Responsibility-list entries.
    #[serde(default)]
    pub list: Vec<Entry>,
}

impl FieldDoc {
    /// The code list as written: `1=有效；2=注销`, or the bare codes.
    pub fn code_list(&self) -> String {
        self.codes
            .iter()
            .map(|c| match self.labels.get(c) {
                Some(l) => format!("{c}={l}"),
                None => c.clone(),
            })
            .collect::<Vec<_>>()
            .join("；")
    }
}

impl Entry {
    /// The row's sharing type: its own, else its resource's.
    pub fn sharing(&self, resource: &Resource) -> SharingType {
        self.sharing_type.unwrap_or(resource.sharing_type)
    }

    /// Whether `member` is listed, by id or by group.
    pub fn lists(&self, member: &Member) -> bool {
        self.consumers.contains(&member.id)
            || member
                .groups
                .iter()
                .any(|g| self.consumer_groups.contains(g))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Consumer => "consumer",
            Role::Provider => "provider",
            Role::Regulator => "regulator",
            Role::Operator => "operator",
        })
    }
}

//! Spreadsheets as departments publish them: XLSX workbooks and CSV files with
//! Chinese column headers. Three kinds of sheet are understood, recognised by
//! name or, failing that, by their headers:
//!
//! - `成员` (members), one row per member;
//! - `信息资源目录` (catalogue), one row per data item or key field, the
//!   resource's own columns repeated on each of its rows;
//! - `责任清单` (responsibility list), one row per entry.
//!
//! Lists within a cell are separated by `;`, `；`, `、`, `,`, `，` or new lines.
//! Every error names the file, sheet, row, the column's Chinese header and
//! the value. Unknown columns are refused — a misspelt `用途` column silently
//! ignored would drop a restriction — except `序号` (a running number) and
//! `备注`, which is kept with its row as written.
//!
//! [`to_xlsx`] writes the same three sheets, so that export and import round-trip.
//!
//! Reading is in `read`, writing in `write`; the sheet names and the columns
//! of each sheet, which both use, are here.

mod read;
mod write;

pub(crate) use read::{read_csv, read_xlsx};
pub use write::to_xlsx;

use crate::error::RegistryError;
use crate::import::Import;
use crate::model::RegistryData;

/// The last day of an entry with no end (`长期`, `长期有效`, an empty 失效日期).
pub const OPEN_END: time::Date = time::macros::date!(9999 - 12 - 31);

/// The remarks column (备注), kept with each row.
const REMARK: &str = "备注";

/// Reads an XLSX workbook into `data`: all its errors together, or none.
pub fn add_xlsx(data: &mut RegistryData, file: &str, bytes: &[u8]) -> Result<(), RegistryError> {
    add_with(data, |import| read_xlsx(import, file, bytes))
}

/// Reads a CSV file (UTF-8, with or without BOM, or GB18030) into `data`: all
/// its errors together, or none.
pub fn add_csv(data: &mut RegistryData, file: &str, bytes: &[u8]) -> Result<(), RegistryError> {
    add_with(data, |import| read_csv(import, file, bytes))
}

fn add_with(
    data: &mut RegistryData,
    read: impl FnOnce(&mut Import) -> Result<(), RegistryError>,
) -> Result<(), RegistryError> {
    let mut import = Import::default();
    read(&mut import)?;
    import.append_to(data)
}

/// The sheet names yrdx writes and recognises first.
pub const MEMBERS_SHEET: &str = "成员";
/// The catalogue sheet.
pub const CATALOGUE_SHEET: &str = "信息资源目录";
/// The responsibility-list sheet.
pub const LIST_SHEET: &str = "责任清单";

/// Columns of the members sheet: (header, aliases).
const MEMBER_COLUMNS: &[(&str, &[&str])] = &[
    ("成员标识", &["成员编号", "member id"]),
    ("名称", &["成员名称", "单位名称"]),
    ("英文名称", &[]),
    ("角色", &[]),
    ("状态", &[]),
    ("接口地址", &["服务地址"]),
    ("分组", &["所属分组"]),
    ("证书指纹", &["证书SHA-256指纹"]),
];

const CATALOGUE_COLUMNS: &[(&str, &[&str])] = &[
    ("信息资源代码", &["信息资源编码", "资源代码"]),
    ("信息资源名称", &["资源名称"]),
    ("英文名称", &[]),
    ("信息资源分类", &["资源分类"]),
    ("信息资源提供方", &["提供方", "提供单位"]),
    ("提供方代码", &["提供单位代码"]),
    ("信息资源摘要", &["摘要"]),
    ("信息资源格式", &["格式"]),
    ("共享类型", &[]),
    ("共享条件", &[]),
    ("共享方式", &[]),
    ("是否向社会开放", &["是否开放"]),
    ("更新周期", &[]),
    ("发布日期", &[]),
    ("关联资源代码", &["关联资源"]),
    ("关联事项", &["关联事项编码"]),
    ("版本", &["目录版本"]),
    ("路由键", &[]),
    ("证照类型代码", &["证照类型编码"]),
    ("信息项角色", &["角色"]),
    ("信息项编码", &["数据项编码"]),
    ("信息项名称", &["数据项名称"]),
    ("数据类型", &[]),
    ("数据长度", &["长度"]),
    ("是否必填", &["必填"]),
    ("代码值", &["代码集"]),
    ("权威来源", &["一数之源"]),
];

const LIST_COLUMNS: &[(&str, &[&str])] = &[
    ("清单编号", &["编号"]),
    ("信息资源代码", &["信息资源编码", "资源代码"]),
    ("提供方", &["数据提供方"]),
    ("联系人", &["联系方式"]),
    ("共享类型", &[]),
    ("共享条件", &[]),
    ("法律依据", &["依据"]),
    ("共享方式", &[]),
    ("更新周期", &[]),
    ("数据时效", &["时效要求"]),
    ("答复时限（毫秒）", &["答复时限"]),
    ("共享数据项", &["共享信息项", "数据项"]),
    ("使用方", &["数据使用方"]),
    ("使用方分组", &[]),
    ("用途", &["使用用途", "共享用途"]),
    ("事项编码", &["关联事项编码"]),
    ("需办件编号", &["是否需办件编号"]),
    ("办件编号格式", &[]),
    ("每秒限额", &[]),
    ("突发上限", &[]),
    ("每日限额", &[]),
    ("每月限额", &[]),
    ("每次行数上限", &[]),
    ("生效日期", &[]),
    ("失效日期", &[]),
    ("状态", &[]),
];

const IGNORED_COLUMNS: &[&str] = &["序号", "备注"];

//! Writing the registry as an XLSX workbook with the three sheets, as
//! [`add_xlsx`](super::add_xlsx) reads them back.

use yrdx_adapters::ItemType;

use super::{
    CATALOGUE_COLUMNS, CATALOGUE_SHEET, LIST_COLUMNS, LIST_SHEET, MEMBER_COLUMNS, MEMBERS_SHEET,
};
use crate::error::RegistryError;
use crate::model::{EntryStatus, MemberStatus, RegistryData, Role, SharingMethod, SharingType};

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Consumer => "使用方",
        Role::Provider => "提供方",
        Role::Regulator => "监管方",
        Role::Operator => "运营方",
    }
}

fn sharing_type_name(t: SharingType) -> &'static str {
    match t {
        SharingType::Unconditional => "无条件共享",
        SharingType::Conditional => "有条件共享",
        SharingType::NotShared => "不予共享",
    }
}

fn item_type_cells(ty: &ItemType) -> (&'static str, String) {
    match ty {
        ItemType::Text { max_len } => {
            ("字符型", max_len.map(|n| n.to_string()).unwrap_or_default())
        }
        ItemType::Integer => ("整数型", String::new()),
        ItemType::Decimal => ("数值型", String::new()),
        ItemType::Boolean => ("布尔型", String::new()),
        ItemType::Date => ("日期型", String::new()),
        ItemType::DateTime => ("日期时间型", String::new()),
        ItemType::YearMonth => ("年月型", String::new()),
        ItemType::Code => ("代码型", String::new()),
        ItemType::Uscc => ("统一社会信用代码", String::new()),
        ItemType::ResidentId => ("公民身份号码", String::new()),
        ItemType::AreaCode => ("行政区划代码", String::new()),
    }
}

/// A sheet to write: name, headers, rows.
type SheetOut<'a> = (&'a str, Vec<&'a str>, Vec<Vec<String>>);

/// Writes the registry as an XLSX workbook with the three sheets.
pub fn to_xlsx(data: &RegistryData) -> Result<Vec<u8>, RegistryError> {
    let err = |e: rust_xlsxwriter::XlsxError| RegistryError::File {
        file: "export.xlsx".into(),
        message: e.to_string(),
    };
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let join = |v: &[String]| v.join("；");
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let num = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();

    let mut sheets: Vec<SheetOut<'_>> = Vec::new();
    sheets.push((
        MEMBERS_SHEET,
        MEMBER_COLUMNS.iter().map(|(c, _)| *c).collect(),
        data.members
            .iter()
            .map(|m| {
                vec![
                    m.id.to_string(),
                    m.name.clone(),
                    opt(&m.name_en),
                    m.roles
                        .iter()
                        .map(|r| role_name(*r))
                        .collect::<Vec<_>>()
                        .join("；"),
                    match m.status {
                        MemberStatus::Active => "正常",
                        MemberStatus::Suspended => "停用",
                    }
                    .to_owned(),
                    opt(&m.endpoint),
                    join(&m.groups),
                    join(&m.certificates),
                ]
            })
            .collect(),
    ));
    let mut catalogue_rows = Vec::new();
    for r in &data.catalogue {
        for (role, field) in r
            .key
            .iter()
            .map(|f| ("查询条件", f))
            .chain(r.items.iter().map(|f| ("数据项", f)))
        {
            let (ty, len) = item_type_cells(&field.ty);
            catalogue_rows.push(vec![
                r.code.clone(),
                r.name.clone(),
                opt(&r.name_en),
                opt(&r.classification),
                opt(&r.provider),
                r.provider_code
                    .as_ref()
                    .map(|u| u.to_string())
                    .unwrap_or_default(),
                opt(&r.summary),
                opt(&r.format),
                sharing_type_name(r.sharing_type).to_owned(),
                opt(&r.sharing_conditions),
                match r.sharing_method {
                    SharingMethod::Api => "接口",
                    SharingMethod::Bulk => "批量文件",
                }
                .to_owned(),
                if r.open_to_public { "是" } else { "否" }.to_owned(),
                opt(&r.update_cycle),
                r.published.map(crate::dates::format).unwrap_or_default(),
                join(&r.related),
                join(&r.service_items),
                opt(&r.version),
                opt(&r.route_by),
                role.to_owned(),
                field.name.clone(),
                field.name_zh.clone(),
                ty.to_owned(),
                len,
                if field.required { "是" } else { "否" }.to_owned(),
                join(&field.codes),
                opt(&field.source),
            ]);
        }
    }
    sheets.push((
        CATALOGUE_SHEET,
        CATALOGUE_COLUMNS.iter().map(|(c, _)| *c).collect(),
        catalogue_rows,
    ));
    sheets.push((
        LIST_SHEET,
        LIST_COLUMNS.iter().map(|(c, _)| *c).collect(),
        data.list
            .iter()
            .map(|e| {
                vec![
                    e.id.clone(),
                    e.resource.clone(),
                    e.provider.to_string(),
                    opt(&e.contact),
                    e.sharing_type
                        .map(sharing_type_name)
                        .unwrap_or_default()
                        .to_owned(),
                    opt(&e.conditions),
                    opt(&e.legal_basis),
                    match e.sharing_method {
                        None => "",
                        Some(SharingMethod::Api) => "接口",
                        Some(SharingMethod::Bulk) => "批量文件",
                    }
                    .to_owned(),
                    opt(&e.update_cycle),
                    opt(&e.freshness),
                    e.deadline_ms.to_string(),
                    join(&e.items),
                    e.consumers
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("；"),
                    join(&e.consumer_groups),
                    join(&e.purposes),
                    join(&e.service_items),
                    if e.case_no_required { "是" } else { "否" }.to_owned(),
                    num(e.quota.per_second.map(u64::from)),
                    num(e.quota.burst.map(u64::from)),
                    num(e.quota.per_day),
                    num(e.quota.per_month),
                    num(e.quota.rows_per_call.map(u64::from)),
                    crate::dates::format(e.valid_from),
                    crate::dates::format(e.valid_to),
                    match e.status {
                        EntryStatus::Active => "有效",
                        EntryStatus::Withdrawn => "撤销",
                    }
                    .to_owned(),
                ]
            })
            .collect(),
    ));
    for (name, headers, rows) in sheets {
        let ws = book.add_worksheet();
        ws.set_name(name).map_err(err)?;
        for (c, h) in headers.iter().enumerate() {
            let col = u16::try_from(c).unwrap_or(u16::MAX);
            ws.write_string_with_format(0, col, *h, &bold)
                .map_err(err)?;
            ws.set_column_width(col, 18).map_err(err)?;
        }
        for (r, row) in rows.iter().enumerate() {
            let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
            for (c, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string(r, u16::try_from(c).unwrap_or(u16::MAX), v)
                        .map_err(err)?;
                }
            }
        }
    }
    book.save_to_buffer().map_err(err)
}

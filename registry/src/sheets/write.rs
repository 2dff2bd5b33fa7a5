//! Writing the registry as an XLSX workbook with the three sheets, as
//! [`add_xlsx`](super::add_xlsx) reads them back: numbers as number cells,
//! dates as date cells (an open end as `长期`), code lists with their labels,
//! and 备注 kept.

use yrdx_adapters::ItemType;

use super::{
    CATALOGUE_COLUMNS, CATALOGUE_SHEET, LIST_COLUMNS, LIST_SHEET, MEMBER_COLUMNS, MEMBERS_SHEET,
    OPEN_END, REMARK,
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

fn item_type_cells(ty: &ItemType) -> (&'static str, Cell) {
    match ty {
        ItemType::Text { max_len } => ("字符型", num(max_len.map(|n| n as u64))),
        ItemType::Integer => ("整数型", Cell::Empty),
        ItemType::Decimal => ("数值型", Cell::Empty),
        ItemType::Boolean => ("布尔型", Cell::Empty),
        ItemType::Date => ("日期型", Cell::Empty),
        ItemType::DateTime => ("日期时间型", Cell::Empty),
        ItemType::YearMonth => ("年月型", Cell::Empty),
        ItemType::Code => ("代码型", Cell::Empty),
        ItemType::Uscc => ("统一社会信用代码", Cell::Empty),
        ItemType::ResidentId => ("公民身份号码", Cell::Empty),
        ItemType::AreaCode => ("行政区划代码", Cell::Empty),
    }
}

/// A cell to write.
enum Cell {
    Empty,
    Text(String),
    Number(u64),
    Date(time::Date),
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        if s.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s)
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::from(s.to_owned())
    }
}

fn num(v: Option<u64>) -> Cell {
    v.map_or(Cell::Empty, Cell::Number)
}

fn date(d: time::Date) -> Cell {
    if d == OPEN_END {
        Cell::Text("长期".into())
    } else {
        Cell::Date(d)
    }
}

/// A sheet to write: name, headers, rows.
type SheetOut<'a> = (&'a str, Vec<&'a str>, Vec<Vec<Cell>>);

fn headers(spec: &[(&'static str, &[&str])]) -> Vec<&'static str> {
    spec.iter().map(|(c, _)| *c).chain([REMARK]).collect()
}

/// Writes the registry as an XLSX workbook with the three sheets.
pub fn to_xlsx(data: &RegistryData) -> Result<Vec<u8>, RegistryError> {
    let err = |e: rust_xlsxwriter::XlsxError| RegistryError::File {
        file: "export.xlsx".into(),
        message: e.to_string(),
    };
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let join = |v: &[String]| Cell::from(v.join("；"));
    let opt = |v: &Option<String>| Cell::from(v.clone().unwrap_or_default());

    let mut sheets: Vec<SheetOut<'_>> = Vec::new();
    sheets.push((
        MEMBERS_SHEET,
        headers(MEMBER_COLUMNS),
        data.members
            .iter()
            .map(|m| {
                vec![
                    m.id.to_string().into(),
                    m.name.clone().into(),
                    opt(&m.name_en),
                    m.roles
                        .iter()
                        .map(|r| role_name(*r))
                        .collect::<Vec<_>>()
                        .join("；")
                        .into(),
                    match m.status {
                        MemberStatus::Active => "正常",
                        MemberStatus::Suspended => "停用",
                    }
                    .into(),
                    opt(&m.endpoint),
                    join(&m.groups),
                    join(&m.certificates),
                    opt(&m.remark),
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
                r.code.clone().into(),
                r.name.clone().into(),
                opt(&r.name_en),
                opt(&r.classification),
                opt(&r.provider),
                r.provider_code
                    .as_ref()
                    .map(|u| u.to_string())
                    .unwrap_or_default()
                    .into(),
                opt(&r.summary),
                opt(&r.format),
                sharing_type_name(r.sharing_type).into(),
                opt(&r.sharing_conditions),
                match r.sharing_method {
                    SharingMethod::Api => "接口",
                    SharingMethod::Bulk => "批量文件",
                }
                .into(),
                if r.open_to_public { "是" } else { "否" }.into(),
                opt(&r.update_cycle),
                r.published.map_or(Cell::Empty, date),
                join(&r.related),
                join(&r.service_items),
                opt(&r.version),
                opt(&r.route_by),
                opt(&r.licence_type),
                role.into(),
                field.name.clone().into(),
                field.name_zh.clone().into(),
                ty.into(),
                len,
                if field.required { "是" } else { "否" }.into(),
                field.code_list().into(),
                opt(&field.source),
                opt(&field.remark),
            ]);
        }
    }
    sheets.push((CATALOGUE_SHEET, headers(CATALOGUE_COLUMNS), catalogue_rows));
    sheets.push((
        LIST_SHEET,
        headers(LIST_COLUMNS),
        data.list
            .iter()
            .map(|e| {
                vec![
                    e.id.clone().into(),
                    e.resource.clone().into(),
                    e.provider.to_string().into(),
                    opt(&e.contact),
                    e.sharing_type
                        .map(sharing_type_name)
                        .unwrap_or_default()
                        .into(),
                    opt(&e.conditions),
                    opt(&e.legal_basis),
                    match e.sharing_method {
                        None => "",
                        Some(SharingMethod::Api) => "接口",
                        Some(SharingMethod::Bulk) => "批量文件",
                    }
                    .into(),
                    opt(&e.update_cycle),
                    opt(&e.freshness),
                    Cell::Number(e.deadline_ms),
                    join(&e.items),
                    e.consumers
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("；")
                        .into(),
                    join(&e.consumer_groups),
                    join(&e.purposes),
                    join(&e.service_items),
                    if e.case_no_required { "是" } else { "否" }.into(),
                    opt(&e.case_no_pattern),
                    num(e.quota.per_second.map(u64::from)),
                    num(e.quota.burst.map(u64::from)),
                    num(e.quota.per_day),
                    num(e.quota.per_month),
                    num(e.quota.rows_per_call.map(u64::from)),
                    date(e.valid_from),
                    date(e.valid_to),
                    match e.status {
                        EntryStatus::Active => "有效",
                        EntryStatus::Withdrawn => "撤销",
                    }
                    .into(),
                    opt(&e.remark),
                ]
            })
            .collect(),
    ));
    let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
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
                let c = u16::try_from(c).unwrap_or(u16::MAX);
                match v {
                    Cell::Empty => {}
                    Cell::Text(t) => {
                        ws.write_string(r, c, t).map_err(err)?;
                    }
                    #[allow(
                        clippy::cast_precision_loss,
                        reason = "counts and limits far below 2^53"
                    )]
                    Cell::Number(n) => {
                        ws.write_number(r, c, *n as f64).map_err(err)?;
                    }
                    Cell::Date(d) => {
                        let d = rust_xlsxwriter::ExcelDateTime::from_ymd(
                            u16::try_from(d.year()).unwrap_or(9999),
                            u8::from(d.month()),
                            d.day(),
                        )
                        .map_err(err)?;
                        ws.write_datetime_with_format(r, c, &d, &date_format)
                            .map_err(err)?;
                    }
                }
            }
        }
    }
    // A fixed creation time: the same registry gives the same bytes.
    let created = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 1, 1).map_err(err)?;
    book.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&created));
    book.save_to_buffer().map_err(err)
}

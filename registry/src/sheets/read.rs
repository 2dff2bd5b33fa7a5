//! Reading spreadsheets: XLSX workbooks and CSV files, each sheet recognised
//! by name or headers and read row by row into [`RegistryData`].

use std::collections::HashMap;

use calamine::{Data, Reader};
use yrdx_adapters::ItemType;
use yrdx_signing::{MemberId, Uscc};

use super::{
    CATALOGUE_COLUMNS, CATALOGUE_SHEET, IGNORED_COLUMNS, LIST_COLUMNS, LIST_SHEET, MEMBER_COLUMNS,
    MEMBERS_SHEET,
};
use crate::error::RegistryError;
use crate::model::{
    Entry, EntryStatus, FieldDoc, Member, MemberStatus, Quota, RegistryData, Resource, Role,
    SharingMethod, SharingType,
};

/// One sheet's cells as text, with where each came from.
struct Sheet<'a> {
    file: &'a str,
    name: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// A row of a sheet, read by canonical header.
struct Row<'s, 'a> {
    sheet: &'s Sheet<'a>,
    number: usize,
    cells: &'s [String],
    columns: &'s HashMap<&'static str, usize>,
}

impl Row<'_, '_> {
    fn error(&self, column: &str, problem: impl Into<String>) -> RegistryError {
        RegistryError::Sheet {
            file: self.sheet.file.to_owned(),
            sheet: self.sheet.name.clone(),
            row: self.number,
            column: column.to_owned(),
            problem: problem.into(),
        }
    }

    fn text(&self, column: &'static str) -> Option<String> {
        let i = *self.columns.get(column)?;
        let v = self.cells.get(i)?.trim();
        (!v.is_empty()).then(|| v.to_owned())
    }

    fn required(&self, column: &'static str) -> Result<String, RegistryError> {
        self.text(column)
            .ok_or_else(|| self.error(column, "is empty"))
    }

    fn list(&self, column: &'static str) -> Vec<String> {
        self.text(column)
            .map(|t| split_list(&t))
            .unwrap_or_default()
    }

    fn parse<T>(
        &self,
        column: &'static str,
        f: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, RegistryError> {
        match self.text(column) {
            None => Ok(None),
            Some(t) => f(&t).map(Some).map_err(|p| self.error(column, p)),
        }
    }

    fn number<T: std::str::FromStr>(
        &self,
        column: &'static str,
    ) -> Result<Option<T>, RegistryError> {
        self.parse(column, |t| {
            let t = t.trim_end_matches(".0");
            t.replace([',', '，'], "")
                .parse()
                .map_err(|_| format!("`{t}` is not a whole number"))
        })
    }
}

fn split_list(t: &str) -> Vec<String> {
    t.split([';', '；', '、', ',', '，', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn normalise_header(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '(' => '（',
            ')' => '）',
            other => other,
        })
        .collect()
}

/// Maps each column of `sheet` to its canonical header; refuses unknown ones
/// and checks the `required` ones are present.
fn columns(
    sheet: &Sheet<'_>,
    spec: &[(&'static str, &[&str])],
    required: &[&str],
) -> Result<HashMap<&'static str, usize>, RegistryError> {
    let mut map = HashMap::new();
    for (i, h) in sheet.headers.iter().enumerate() {
        let n = normalise_header(h);
        if n.is_empty() || IGNORED_COLUMNS.contains(&n.as_str()) {
            continue;
        }
        let canonical = spec
            .iter()
            .find(|(c, aliases)| {
                normalise_header(c) == n || aliases.iter().any(|a| normalise_header(a) == n)
            })
            .map(|(c, _)| *c)
            .ok_or_else(|| RegistryError::Sheet {
                file: sheet.file.to_owned(),
                sheet: sheet.name.clone(),
                row: 1,
                column: h.clone(),
                problem: format!(
                    "unknown column; expected some of: {}",
                    spec.iter().map(|(c, _)| *c).collect::<Vec<_>>().join("、")
                ),
            })?;
        if map.insert(canonical, i).is_some() {
            return Err(RegistryError::Sheet {
                file: sheet.file.to_owned(),
                sheet: sheet.name.clone(),
                row: 1,
                column: h.clone(),
                problem: format!("`{canonical}` appears twice"),
            });
        }
    }
    for r in required {
        if !map.contains_key(r) {
            return Err(RegistryError::Sheet {
                file: sheet.file.to_owned(),
                sheet: sheet.name.clone(),
                row: 1,
                column: (*r).to_owned(),
                problem: "required column is missing".into(),
            });
        }
    }
    Ok(map)
}

fn rows<'s, 'a>(
    sheet: &'s Sheet<'a>,
    columns: &'s HashMap<&'static str, usize>,
) -> impl Iterator<Item = Row<'s, 'a>> {
    sheet
        .rows
        .iter()
        .enumerate()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .map(move |(i, cells)| Row {
            sheet,
            number: i + 2,
            cells,
            columns,
        })
}

/// Which kind a sheet is, by name, else by its headers.
fn kind(sheet: &Sheet<'_>) -> Option<&'static str> {
    let name = normalise_header(&sheet.name);
    for k in [MEMBERS_SHEET, CATALOGUE_SHEET, LIST_SHEET] {
        if name.contains(k) {
            return Some(k);
        }
    }
    let has = |h: &str| sheet.headers.iter().any(|x| normalise_header(x) == h);
    if has("清单编号") || has("编号") && has("提供方") {
        Some(LIST_SHEET)
    } else if has("信息项编码") || has("数据项编码") {
        Some(CATALOGUE_SHEET)
    } else if has("成员标识") || has("成员编号") {
        Some(MEMBERS_SHEET)
    } else {
        None
    }
}

fn add_sheet(data: &mut RegistryData, sheet: &Sheet<'_>) -> Result<(), RegistryError> {
    match kind(sheet) {
        Some(MEMBERS_SHEET) => read_members(data, sheet),
        Some(CATALOGUE_SHEET) => read_catalogue(data, sheet),
        Some(LIST_SHEET) => read_list(data, sheet),
        _ => Err(RegistryError::Sheet {
            file: sheet.file.to_owned(),
            sheet: sheet.name.clone(),
            row: 1,
            column: String::new(),
            problem: format!(
                "not a {MEMBERS_SHEET}, {CATALOGUE_SHEET} or {LIST_SHEET} sheet (by name or headers)"
            ),
        }),
    }
}

fn read_members(data: &mut RegistryData, sheet: &Sheet<'_>) -> Result<(), RegistryError> {
    let cols = columns(sheet, MEMBER_COLUMNS, &["成员标识", "名称", "角色", "状态"])?;
    for row in rows(sheet, &cols) {
        let id = row.parse("成员标识", |t| {
            MemberId::parse(t).map_err(|e| e.to_string())
        })?;
        let id = id.ok_or_else(|| row.error("成员标识", "is empty"))?;
        let roles = row
            .list("角色")
            .iter()
            .map(|r| {
                parse_role(r).ok_or_else(|| {
                    row.error(
                        "角色",
                        format!("`{r}` is not 使用方, 提供方, 监管方 or 运营方"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let status = row
            .parse("状态", parse_member_status)?
            .ok_or_else(|| row.error("状态", "is empty"))?;
        data.members.push(Member {
            id,
            name: row.required("名称")?,
            name_en: row.text("英文名称"),
            roles,
            status,
            endpoint: row.text("接口地址"),
            groups: row.list("分组"),
            certificates: row.list("证书指纹"),
        });
    }
    Ok(())
}

fn read_catalogue(data: &mut RegistryData, sheet: &Sheet<'_>) -> Result<(), RegistryError> {
    let cols = columns(
        sheet,
        CATALOGUE_COLUMNS,
        &[
            "信息资源代码",
            "信息资源名称",
            "共享类型",
            "信息项编码",
            "信息项名称",
            "数据类型",
        ],
    )?;
    let first = data.catalogue.len();
    for row in rows(sheet, &cols) {
        let code = row.required("信息资源代码")?;
        let position = data
            .catalogue
            .get(first..)
            .unwrap_or_default()
            .iter()
            .position(|r| r.code == code);
        let index = match position {
            Some(p) => first + p,
            None => {
                let sharing_type = row
                    .parse("共享类型", parse_sharing_type)?
                    .ok_or_else(|| row.error("共享类型", "is empty"))?;
                data.catalogue.push(Resource {
                    code: code.clone(),
                    name: row.required("信息资源名称")?,
                    name_en: row.text("英文名称"),
                    classification: row.text("信息资源分类"),
                    provider: row.text("信息资源提供方"),
                    provider_code: row.parse("提供方代码", |t| {
                        Uscc::parse(t).map_err(|e| e.to_string())
                    })?,
                    summary: row.text("信息资源摘要"),
                    format: row.text("信息资源格式"),
                    sharing_type,
                    sharing_conditions: row.text("共享条件"),
                    sharing_method: row
                        .parse("共享方式", parse_sharing_method)?
                        .unwrap_or_default(),
                    open_to_public: row.parse("是否向社会开放", parse_yes_no)?.unwrap_or(false),
                    update_cycle: row.text("更新周期"),
                    published: row.parse("发布日期", crate::dates::parse)?,
                    related: row.list("关联资源代码"),
                    service_items: row.list("关联事项"),
                    version: row.text("版本"),
                    route_by: row.text("路由键"),
                    key: Vec::new(),
                    items: Vec::new(),
                });
                data.catalogue.len() - 1
            }
        };
        let ty = parse_item_type(&row.required("数据类型")?, row.text("数据长度").as_deref())
            .map_err(|p| row.error("数据类型", p))?;
        let field = FieldDoc {
            name: row.required("信息项编码")?,
            name_zh: row.required("信息项名称")?,
            ty,
            required: row.parse("是否必填", parse_yes_no)?.unwrap_or(false),
            codes: row.list("代码值"),
            source: row.text("权威来源"),
        };
        let is_key = match row.text("信息项角色").as_deref() {
            None | Some("数据项") | Some("信息项") | Some("item") => false,
            Some("查询条件") | Some("查询键") | Some("key") => true,
            Some(other) => {
                return Err(row.error("信息项角色", format!("`{other}` is not 查询条件 or 数据项")));
            }
        };
        let resource = data
            .catalogue
            .get_mut(index)
            .ok_or_else(|| row.error("信息资源代码", "internal: resource lost"))?;
        if is_key {
            resource.key.push(field);
        } else {
            resource.items.push(field);
        }
    }
    Ok(())
}

fn read_list(data: &mut RegistryData, sheet: &Sheet<'_>) -> Result<(), RegistryError> {
    let cols = columns(
        sheet,
        LIST_COLUMNS,
        &[
            "清单编号",
            "信息资源代码",
            "提供方",
            "答复时限（毫秒）",
            "生效日期",
            "失效日期",
            "状态",
        ],
    )?;
    for row in rows(sheet, &cols) {
        let members = |column: &'static str| -> Result<Vec<MemberId>, RegistryError> {
            row.list(column)
                .iter()
                .map(|m| MemberId::parse(m).map_err(|e| row.error(column, format!("`{m}`: {e}"))))
                .collect()
        };
        let provider = members("提供方")?
            .into_iter()
            .next()
            .ok_or_else(|| row.error("提供方", "is empty"))?;
        let date = |column: &'static str| -> Result<time::Date, RegistryError> {
            row.parse(column, crate::dates::parse)?
                .ok_or_else(|| row.error(column, "is empty"))
        };
        data.list.push(Entry {
            id: row.required("清单编号")?,
            resource: row.required("信息资源代码")?,
            provider,
            contact: row.text("联系人"),
            sharing_type: row.parse("共享类型", parse_sharing_type)?,
            conditions: row.text("共享条件"),
            legal_basis: row.text("法律依据"),
            sharing_method: row.parse("共享方式", parse_sharing_method)?,
            update_cycle: row.text("更新周期"),
            freshness: row.text("数据时效"),
            consumers: members("使用方")?,
            consumer_groups: row.list("使用方分组"),
            purposes: row.list("用途"),
            service_items: row.list("事项编码"),
            case_no_required: row.parse("需办件编号", parse_yes_no)?.unwrap_or(false),
            items: row.list("共享数据项"),
            valid_from: date("生效日期")?,
            valid_to: date("失效日期")?,
            status: row
                .parse("状态", parse_entry_status)?
                .ok_or_else(|| row.error("状态", "is empty"))?,
            deadline_ms: row
                .number("答复时限（毫秒）")?
                .ok_or_else(|| row.error("答复时限（毫秒）", "is empty"))?,
            quota: Quota {
                per_second: row.number("每秒限额")?,
                burst: row.number("突发上限")?,
                per_day: row.number("每日限额")?,
                per_month: row.number("每月限额")?,
                rows_per_call: row.number("每次行数上限")?,
            },
        });
    }
    Ok(())
}

fn parse_role(s: &str) -> Option<Role> {
    Some(match s {
        "使用方" | "数据使用方" | "consumer" => Role::Consumer,
        "提供方" | "数据提供方" | "provider" => Role::Provider,
        "监管方" | "regulator" => Role::Regulator,
        "运营方" | "operator" => Role::Operator,
        _ => return None,
    })
}

fn parse_member_status(s: &str) -> Result<MemberStatus, String> {
    match s {
        "正常" | "启用" | "active" => Ok(MemberStatus::Active),
        "停用" | "暂停" | "suspended" => Ok(MemberStatus::Suspended),
        other => Err(format!("`{other}` is not 正常 or 停用")),
    }
}

fn parse_sharing_type(s: &str) -> Result<SharingType, String> {
    match s {
        "无条件共享" | "unconditional" => Ok(SharingType::Unconditional),
        "有条件共享" | "conditional" => Ok(SharingType::Conditional),
        "不予共享" | "not_shared" => Ok(SharingType::NotShared),
        other => Err(format!(
            "`{other}` is not 无条件共享, 有条件共享 or 不予共享"
        )),
    }
}

fn parse_sharing_method(s: &str) -> Result<SharingMethod, String> {
    match s {
        "接口" | "接口方式" | "API" | "api" => Ok(SharingMethod::Api),
        "批量文件" | "文件" | "批量" | "bulk" => Ok(SharingMethod::Bulk),
        other => Err(format!("`{other}` is not 接口 or 批量文件")),
    }
}

fn parse_entry_status(s: &str) -> Result<EntryStatus, String> {
    match s {
        "有效" | "启用" | "active" => Ok(EntryStatus::Active),
        "撤销" | "停用" | "withdrawn" => Ok(EntryStatus::Withdrawn),
        other => Err(format!("`{other}` is not 有效 or 撤销")),
    }
}

fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s {
        "是" | "Y" | "y" | "true" | "TRUE" | "1" => Ok(true),
        "否" | "N" | "n" | "false" | "FALSE" | "0" => Ok(false),
        other => Err(format!("`{other}` is not 是 or 否")),
    }
}

/// Chinese type names as catalogues write them, and ours.
fn parse_item_type(ty: &str, length: Option<&str>) -> Result<ItemType, String> {
    let length = match length {
        None => None,
        Some(l) => Some(
            l.trim_end_matches(".0")
                .parse::<usize>()
                .map_err(|_| format!("length `{l}` is not a number"))?,
        ),
    };
    Ok(match ty {
        "字符型" | "字符串" | "文本" => ItemType::Text { max_len: length },
        "整数型" | "整型" => ItemType::Integer,
        "数值型" | "小数" | "金额" => ItemType::Decimal,
        "布尔型" | "逻辑型" => ItemType::Boolean,
        "日期型" => ItemType::Date,
        "日期时间型" | "时间型" => ItemType::DateTime,
        "年月型" => ItemType::YearMonth,
        "代码型" => ItemType::Code,
        "统一社会信用代码" => ItemType::Uscc,
        "公民身份号码" | "身份证号码" => ItemType::ResidentId,
        "行政区划代码" => ItemType::AreaCode,
        other => match other.parse::<ItemType>()? {
            ItemType::Text { max_len: None } => ItemType::Text { max_len: length },
            t => t,
        },
    })
}

/// Excel serial day numbers (1900 system) to `YYYY-MM-DD`.
fn excel_date(serial: f64) -> Option<String> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let epoch = time::macros::date!(1899 - 12 - 30);
    #[allow(clippy::cast_possible_truncation, reason = "range checked above")]
    let days = serial.floor() as i64;
    epoch
        .checked_add(time::Duration::days(days))
        .map(crate::dates::format)
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{f:.0}")
            } else {
                f.to_string()
            }
        }
        Data::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Data::DateTime(dt) => excel_date(dt.as_f64()).unwrap_or_default(),
        Data::Error(e) => format!("#ERROR {e:?}"),
    }
}

/// Largest spreadsheet accepted.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;
/// Most rows accepted in one sheet.
pub const MAX_ROWS: usize = 100_000;

/// Reads an XLSX workbook: every sheet must be one of the three kinds.
pub fn add_xlsx(data: &mut RegistryData, file: &str, bytes: &[u8]) -> Result<(), RegistryError> {
    let err = |message: String| RegistryError::File {
        file: file.to_owned(),
        message,
    };
    if bytes.len() > MAX_BYTES {
        return Err(err(format!("larger than {MAX_BYTES} bytes")));
    }
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| err(format!("not a readable XLSX workbook: {e}")))?;
    for name in book.sheet_names() {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| err(format!("sheet {name}: {e}")))?;
        let (height, width) = range.get_size();
        if height > MAX_ROWS + 1 || width > 256 {
            return Err(err(format!(
                "sheet {name}: more than {MAX_ROWS} rows or 256 columns"
            )));
        }
        if height == 0 {
            continue;
        }
        let mut all = range
            .rows()
            .map(|r| r.iter().map(cell_text).collect::<Vec<_>>());
        let headers = all.next().unwrap_or_default();
        let sheet = Sheet {
            file,
            name: name.clone(),
            headers,
            rows: all.collect(),
        };
        add_sheet(data, &sheet)?;
    }
    Ok(())
}

/// Reads a CSV file (UTF-8, with or without BOM, or GB18030 as Excel in China
/// saves it): one sheet, its kind recognised by its headers.
pub fn add_csv(data: &mut RegistryData, file: &str, bytes: &[u8]) -> Result<(), RegistryError> {
    let err = |message: String| RegistryError::File {
        file: file.to_owned(),
        message,
    };
    if bytes.len() > MAX_BYTES {
        return Err(err(format!("larger than {MAX_BYTES} bytes")));
    }
    let text = match std::str::from_utf8(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)) {
        Ok(t) => t.to_owned(),
        Err(_) => encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|t| t.into_owned())
            .ok_or_else(|| err("neither UTF-8 nor GB18030 text".into()))?,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if i > MAX_ROWS {
            return Err(err(format!("more than {MAX_ROWS} rows")));
        }
        let record = record.map_err(|e| err(format!("row {}: {e}", i + 1)))?;
        records.push(record.iter().map(str::to_owned).collect::<Vec<_>>());
    }
    let mut records = records.into_iter();
    let headers = records.next().ok_or_else(|| err("empty file".into()))?;
    let name = std::path::Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sheet = Sheet {
        file,
        name,
        headers,
        rows: records.collect(),
    };
    add_sheet(data, &sheet)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<RegistryData, RegistryError> {
        let mut data = RegistryData::default();
        add_csv(&mut data, "清单.csv", text.as_bytes())?;
        Ok(data)
    }

    const LIST_HEADER: &str = "序号,清单编号,信息资源代码,提供方,共享类型,共享数据项,使用方,用途,答复时限（毫秒）,每日限额,生效日期,失效日期,状态\n";

    #[test]
    fn a_department_csv_with_chinese_headers_reads() {
        let data = csv(&format!(
            "{LIST_HEADER}1,RL-2026-00001,YRD-SCJG-0001,zj:11330000002482028A:data,有条件共享,name；uscc,js:11320000014000118J:data、ah:113400000029868223:data,市场主体登记核验,3000,\"1,000\",2026-01-01,2026-12-31,有效\n"
        ))
        .unwrap();
        let e = &data.list[0];
        assert_eq!(e.items, vec!["name", "uscc"]);
        assert_eq!(e.consumers.len(), 2);
        assert_eq!(e.quota.per_day, Some(1000));
        assert_eq!(e.sharing_type, Some(SharingType::Conditional));
    }

    #[test]
    fn errors_name_file_sheet_row_and_column() {
        let bad = format!(
            "{LIST_HEADER}1,RL-2026-00001,YRD-SCJG-0001,zj:11330000002482028A:data,有条件共享,name,js:11320000014000118J:data,p,3000,,2026-13-01,2026-12-31,有效\n"
        );
        match csv(&bad) {
            Err(RegistryError::Sheet {
                file,
                sheet,
                row,
                column,
                ..
            }) => {
                assert_eq!(
                    (file.as_str(), sheet.as_str(), row, column.as_str()),
                    ("清单.csv", "清单", 2, "生效日期")
                );
            }
            other => panic!("{other:?}"),
        }
        let bad = format!(
            "{LIST_HEADER}1,RL-2026-00001,YRD-SCJG-0001,zj:11330000002482028A:data,部分共享,name,js:11320000014000118J:data,p,3000,,2026-01-01,2026-12-31,有效\n"
        );
        assert!(
            matches!(csv(&bad), Err(RegistryError::Sheet { column, .. }) if column == "共享类型")
        );
        let bad = LIST_HEADER.replace("用途", "用 途途");
        assert!(matches!(
            csv(&bad),
            Err(RegistryError::Sheet { row: 1, .. })
        ));
        let missing = LIST_HEADER.replace(",状态", "");
        assert!(
            matches!(csv(&missing), Err(RegistryError::Sheet { column, .. }) if column == "状态")
        );
    }

    #[test]
    fn gb18030_csv_as_excel_saves_it_reads() {
        let text = format!(
            "{LIST_HEADER}1,RL-2026-00001,YRD-SCJG-0001,zj:11330000002482028A:data,有条件共享,name,js:11320000014000118J:data,核验,3000,,2026-01-01,2026-12-31,有效\n"
        );
        let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
        let mut data = RegistryData::default();
        add_csv(&mut data, "list.csv", &bytes).unwrap();
        assert_eq!(data.list[0].purposes, vec!["核验"]);
    }

    #[test]
    fn excel_serial_dates() {
        assert_eq!(excel_date(46023.0).as_deref(), Some("2026-01-01"));
        assert_eq!(excel_date(-1.0), None);
    }

    #[test]
    fn item_types_in_chinese_and_ours() {
        assert_eq!(
            parse_item_type("字符型", Some("200")),
            Ok(ItemType::Text { max_len: Some(200) })
        );
        assert_eq!(
            parse_item_type("text(50)", None),
            Ok(ItemType::Text { max_len: Some(50) })
        );
        assert_eq!(
            parse_item_type("统一社会信用代码", None),
            Ok(ItemType::Uscc)
        );
        assert!(parse_item_type("图片", None).is_err());
    }
}

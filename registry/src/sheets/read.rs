//! Reading spreadsheets: XLSX workbooks and CSV files as departments write
//! them. Each sheet is recognised by name or headers, its header row found
//! below any title rows by its recognised headers, and read row by row into
//! an [`Import`]; every cell error of every row is collected, not the first
//! one only.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use calamine::{Data, Reader};
use yrdx_adapters::ItemType;
use yrdx_signing::{MemberId, Uscc};

use super::{
    CATALOGUE_COLUMNS, CATALOGUE_SHEET, IGNORED_COLUMNS, LIST_COLUMNS, LIST_SHEET, MEMBER_COLUMNS,
    MEMBERS_SHEET, OPEN_END, REMARK,
};
use crate::error::{RegistryError, SheetError};
use crate::import::{Import, Origin};
use crate::model::{
    Entry, EntryStatus, FieldDoc, Member, MemberStatus, Quota, Resource, Role, SharingMethod,
    SharingType,
};

/// How many rows from the top a header row may be found in.
const HEADER_SEARCH_ROWS: usize = 20;

/// One sheet's cells as text, with where each came from.
struct Sheet<'a> {
    file: &'a str,
    name: String,
    /// The header row's number, as the spreadsheet numbers it.
    header_row: usize,
    headers: Vec<String>,
    /// (row number, cells) below the header row.
    rows: Vec<(usize, Vec<String>)>,
}

impl Sheet<'_> {
    fn error(
        &self,
        row: usize,
        column: &str,
        value: &str,
        problem: impl Into<String>,
    ) -> RegistryError {
        RegistryError::Sheet(Box::new(SheetError {
            file: self.file.to_owned(),
            sheet: self.name.clone(),
            row,
            column: column.to_owned(),
            value: value.to_owned(),
            problem: problem.into(),
        }))
    }

    fn origin(&self, row: usize) -> Origin {
        Origin {
            file: self.file.to_owned(),
            sheet: self.name.clone(),
            row,
        }
    }
}

/// A row of a sheet, read by canonical header. Errors are collected, so that
/// one row reports all its bad cells.
struct Row<'s, 'a> {
    sheet: &'s Sheet<'a>,
    number: usize,
    cells: &'s [String],
    columns: &'s HashMap<&'static str, usize>,
    errors: RefCell<Vec<RegistryError>>,
}

impl Row<'_, '_> {
    fn fail(&self, column: &str, value: &str, problem: impl Into<String>) {
        self.errors
            .borrow_mut()
            .push(self.sheet.error(self.number, column, value, problem));
    }

    fn raw(&self, column: &'static str) -> &str {
        self.columns
            .get(column)
            .and_then(|&i| self.cells.get(i))
            .map_or("", |v| v.trim_matches(|c: char| c.is_whitespace()))
    }

    /// Free text, trimmed, as written.
    fn text(&self, column: &'static str) -> Option<String> {
        let v = self.raw(column);
        (!v.is_empty()).then(|| v.to_owned())
    }

    /// A code, id or number: full-width letters, digits and signs folded.
    fn code(&self, column: &'static str) -> Option<String> {
        let v = fold(self.raw(column));
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_owned())
    }

    fn required(&self, column: &'static str) -> String {
        self.code_or_text(column, true)
    }

    fn required_text(&self, column: &'static str) -> String {
        self.code_or_text(column, false)
    }

    fn code_or_text(&self, column: &'static str, code: bool) -> String {
        let v = if code {
            self.code(column)
        } else {
            self.text(column)
        };
        v.unwrap_or_else(|| {
            self.fail(column, "", "必填项为空 is empty");
            String::new()
        })
    }

    fn list(&self, column: &'static str) -> Vec<String> {
        self.code(column)
            .map(|t| split_list(&t))
            .unwrap_or_default()
    }

    fn text_list(&self, column: &'static str) -> Vec<String> {
        self.text(column)
            .map(|t| split_list(&t))
            .unwrap_or_default()
    }

    fn parse<T>(
        &self,
        column: &'static str,
        f: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let t = self.code(column)?;
        match f(&t) {
            Ok(v) => Some(v),
            Err(p) => {
                self.fail(column, self.raw(column), p);
                None
            }
        }
    }

    fn number<T: std::str::FromStr>(&self, column: &'static str) -> Option<T> {
        self.parse(column, |t| {
            let t = t.strip_suffix(".0").unwrap_or(t);
            t.replace(',', "")
                .parse()
                .map_err(|_| "不是整数 not a whole number".to_owned())
        })
    }

    fn members(&self, column: &'static str) -> Vec<MemberId> {
        self.list(column)
            .iter()
            .filter_map(|m| match MemberId::parse(m) {
                Ok(id) => Some(id),
                Err(e) => {
                    self.fail(column, m, format!("不是成员标识 not a member id: {e}"));
                    None
                }
            })
            .collect()
    }

    fn take_errors(self) -> Vec<RegistryError> {
        self.errors.into_inner()
    }
}

/// Full-width ASCII forms (letters, digits, signs) and the ideographic space
/// folded to ASCII, as codes, ids, numbers and dates are compared.
pub(super) fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '、' => ';',
            other => other,
        })
        .collect()
}

fn split_list(t: &str) -> Vec<String> {
    t.split([';', '；', '、', ',', '，', '\n', '\r'])
        .map(|s| s.trim_matches(|c: char| c.is_whitespace()))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A header as compared: no spaces, no `*` marking a required column, and
/// brackets in their full-width form.
fn normalise_header(h: &str) -> String {
    h.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '(' => '（',
            ')' => '）',
            other => other,
        })
        .collect::<String>()
        .trim_matches(['*', '＊'])
        .to_owned()
}

/// The canonical header `h` stands for in `spec`, if any.
fn canonical(spec: &[(&'static str, &[&str])], h: &str) -> Option<&'static str> {
    let n = normalise_header(h);
    spec.iter()
        .find(|(c, aliases)| {
            normalise_header(c) == n || aliases.iter().any(|a| normalise_header(a) == n)
        })
        .map(|(c, _)| *c)
}

/// How many cells of `row` are headers yrdx recognises.
fn recognised(row: &[String]) -> usize {
    row.iter()
        .filter(|h| {
            let n = normalise_header(h);
            !n.is_empty()
                && (IGNORED_COLUMNS.contains(&n.as_str())
                    || [MEMBER_COLUMNS, CATALOGUE_COLUMNS, LIST_COLUMNS]
                        .iter()
                        .any(|spec| canonical(spec, h).is_some()))
        })
        .count()
}

/// Maps each column of `sheet` to its canonical header; reports unknown
/// ones and missing `required` ones.
fn columns(
    sheet: &Sheet<'_>,
    spec: &[(&'static str, &[&str])],
    required: &[&str],
    errors: &mut Vec<RegistryError>,
) -> HashMap<&'static str, usize> {
    let mut map = HashMap::new();
    let row = sheet.header_row;
    for (i, h) in sheet.headers.iter().enumerate() {
        let n = normalise_header(h);
        if n.is_empty() || IGNORED_COLUMNS.contains(&n.as_str()) {
            if n == REMARK {
                map.insert(REMARK, i);
            }
            continue;
        }
        let Some(canonical) = canonical(spec, h) else {
            errors.push(sheet.error(
                row,
                h,
                h,
                format!(
                    "未知的列 unknown column; expected some of: {}",
                    spec.iter().map(|(c, _)| *c).collect::<Vec<_>>().join("、")
                ),
            ));
            continue;
        };
        if map.insert(canonical, i).is_some() {
            errors.push(sheet.error(row, h, h, format!("列重复 `{canonical}` appears twice")));
        }
    }
    for r in required {
        if !map.contains_key(r) {
            errors.push(sheet.error(row, r, "", "缺少必需的列 required column is missing"));
        }
    }
    map
}

fn rows<'s, 'a>(
    sheet: &'s Sheet<'a>,
    columns: &'s HashMap<&'static str, usize>,
) -> impl Iterator<Item = Row<'s, 'a>> {
    sheet
        .rows
        .iter()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .map(move |(number, cells)| Row {
            sheet,
            number: *number,
            cells,
            columns,
            errors: RefCell::new(Vec::new()),
        })
}

/// Sheets that explain how to fill the others in.
const INSTRUCTION_SHEETS: &[&str] = &["说明", "填表说明", "填报说明", "使用说明"];

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

/// Reads one sheet's grid (rows of cell text, the first being spreadsheet row
/// `first_row`) into `import`, or notes why it was skipped.
fn add_grid(import: &mut Import, file: &str, name: &str, grid: Vec<Vec<String>>, first_row: usize) {
    let skip = |import: &mut Import, why: &str| {
        import.notes.push(format!(
            "{file} 工作表 sheet {name}: 已跳过 skipped ({why})"
        ));
    };
    if INSTRUCTION_SHEETS.contains(&normalise_header(name).as_str()) {
        skip(import, "填表说明 instructions");
        return;
    }
    // The header row: the one among the first rows with the most recognised
    // headers (at least two); rows above it are titles.
    let best = grid
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .map(|(i, r)| (recognised(r), i))
        .filter(|(n, _)| *n >= 2)
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let Some((_, at)) = best else {
        skip(import, "没有可识别的表头 no recognised headers");
        return;
    };
    let mut rows = grid.into_iter().enumerate().skip(at);
    let headers = rows.next().map(|(_, r)| r).unwrap_or_default();
    let sheet = Sheet {
        file,
        name: name.to_owned(),
        header_row: first_row + at,
        headers,
        rows: rows.map(|(i, r)| (first_row + i, r)).collect(),
    };
    match kind(&sheet) {
        Some(MEMBERS_SHEET) => read_members(import, &sheet),
        Some(CATALOGUE_SHEET) => read_catalogue(import, &sheet),
        Some(LIST_SHEET) => read_list(import, &sheet),
        _ => skip(
            import,
            "不是成员、信息资源目录或责任清单 not a members, catalogue or list sheet",
        ),
    }
}

fn read_members(import: &mut Import, sheet: &Sheet<'_>) {
    let mut errors = Vec::new();
    let cols = columns(
        sheet,
        MEMBER_COLUMNS,
        &["成员标识", "名称", "角色", "状态"],
        &mut errors,
    );
    if errors.is_empty() {
        for row in rows(sheet, &cols) {
            let id = row.parse("成员标识", |t| {
                MemberId::parse(t).map_err(|e| e.to_string())
            });
            if id.is_none() && row.code("成员标识").is_none() {
                row.fail("成员标识", "", "必填项为空 is empty");
            }
            let roles = row
                .text_list("角色")
                .iter()
                .filter_map(|r| {
                    let role = parse_role(r);
                    if role.is_none() {
                        row.fail("角色", r, "不是 使用方、提供方、监管方 或 运营方");
                    }
                    role
                })
                .collect();
            let status = row.parse("状态", parse_member_status);
            if status.is_none() && row.code("状态").is_none() {
                row.fail("状态", "", "必填项为空 is empty");
            }
            let (name, name_en, endpoint) = (
                row.required_text("名称"),
                row.text("英文名称"),
                row.code("接口地址"),
            );
            let (groups, certificates, remark) =
                (row.list("分组"), row.list("证书指纹"), row.text(REMARK));
            let (origin, errs) = (sheet.origin(row.number), row.take_errors());
            if let (Some(id), Some(status), true) = (id, status, errs.is_empty()) {
                import.push_member(
                    Member {
                        id,
                        name,
                        name_en,
                        roles,
                        status,
                        endpoint,
                        groups,
                        certificates,
                        remark,
                    },
                    origin,
                );
            }
            errors.extend(errs);
        }
    }
    import.errors.extend(errors);
}

fn read_catalogue(import: &mut Import, sheet: &Sheet<'_>) {
    let mut errors = Vec::new();
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
        &mut errors,
    );
    if !errors.is_empty() {
        import.errors.extend(errors);
        return;
    }
    // Rows of one resource follow each other; a row with no resource code
    // continues the resource above it (a code merged down, or left blank).
    let mut current: Option<usize> = None;
    for row in rows(sheet, &cols) {
        let code = row.code("信息资源代码");
        let index = match (&code, current) {
            (None, Some(i)) => Some(i),
            (Some(code), Some(i))
                if import
                    .data
                    .catalogue
                    .get(i)
                    .is_some_and(|r| &r.code == code) =>
            {
                Some(i)
            }
            (None, None) => {
                row.fail("信息资源代码", "", "必填项为空 is empty");
                None
            }
            (Some(code), _) => {
                let sharing_type = row.parse("共享类型", parse_sharing_type);
                if sharing_type.is_none() && row.code("共享类型").is_none() {
                    row.fail("共享类型", "", "必填项为空 is empty");
                }
                let resource = Resource {
                    code: code.clone(),
                    name: row.required_text("信息资源名称"),
                    name_en: row.text("英文名称"),
                    classification: row.text("信息资源分类"),
                    provider: row.text("信息资源提供方"),
                    provider_code: row.parse("提供方代码", |t| {
                        Uscc::parse(t).map_err(|e| e.to_string())
                    }),
                    summary: row.text("信息资源摘要"),
                    format: row.text("信息资源格式"),
                    sharing_type: sharing_type.unwrap_or(SharingType::NotShared),
                    sharing_conditions: row.text("共享条件"),
                    sharing_method: row
                        .parse("共享方式", parse_sharing_method)
                        .unwrap_or_default(),
                    open_to_public: row.parse("是否向社会开放", parse_yes_no).unwrap_or(false),
                    update_cycle: row.text("更新周期"),
                    published: row.parse("发布日期", parse_date),
                    related: row.list("关联资源代码"),
                    service_items: row.list("关联事项"),
                    version: row.code("版本"),
                    route_by: row.code("路由键"),
                    licence_type: row.code("证照类型代码"),
                    key: Vec::new(),
                    items: Vec::new(),
                };
                if row.errors.borrow().is_empty() {
                    Some(import.push_resource(resource, sheet.origin(row.number)))
                } else {
                    None
                }
            }
        };
        current = index;
        let ty = match parse_item_type(&row.required("数据类型"), row.code("数据长度").as_deref())
        {
            Ok(ty) => Some(ty),
            Err(p) => {
                if !row.raw("数据类型").is_empty() {
                    row.fail("数据类型", row.raw("数据类型"), p);
                }
                None
            }
        };
        let (codes, labels) = row.parse("代码值", parse_code_list).unwrap_or_default();
        let is_key = match row.text("信息项角色").as_deref() {
            None | Some("数据项") | Some("信息项") | Some("item") => false,
            Some("查询条件") | Some("查询键") | Some("key") => true,
            Some(other) => {
                row.fail("信息项角色", other, "不是 查询条件 或 数据项");
                false
            }
        };
        let field = FieldDoc {
            name: row.required("信息项编码"),
            name_zh: row.required_text("信息项名称"),
            ty: ty.unwrap_or(ItemType::Code),
            required: row.parse("是否必填", parse_yes_no).unwrap_or(false),
            codes,
            labels,
            source: row.text("权威来源"),
            remark: row.text(REMARK),
        };
        let number = row.number;
        let errs = row.take_errors();
        if errs.is_empty()
            && let Some(i) = index
        {
            import.push_field(i, field, is_key, number);
        }
        errors.extend(errs);
    }
    import.errors.extend(errors);
}

fn read_list(import: &mut Import, sheet: &Sheet<'_>) {
    let mut errors = Vec::new();
    let cols = columns(
        sheet,
        LIST_COLUMNS,
        &[
            "清单编号",
            "信息资源代码",
            "提供方",
            "答复时限（毫秒）",
            "生效日期",
            "状态",
        ],
        &mut errors,
    );
    if !errors.is_empty() {
        import.errors.extend(errors);
        return;
    }
    for row in rows(sheet, &cols) {
        let provider = row.members("提供方").into_iter().next();
        if provider.is_none() && row.code("提供方").is_none() {
            row.fail("提供方", "", "必填项为空 is empty");
        }
        let valid_from = row.parse("生效日期", parse_date);
        if valid_from.is_none() && row.code("生效日期").is_none() {
            row.fail("生效日期", "", "必填项为空 is empty");
        }
        let status = row.parse("状态", parse_entry_status);
        if status.is_none() && row.code("状态").is_none() {
            row.fail("状态", "", "必填项为空 is empty");
        }
        let deadline = row.number("答复时限（毫秒）");
        if deadline.is_none() && row.code("答复时限（毫秒）").is_none() {
            row.fail("答复时限（毫秒）", "", "必填项为空 is empty");
        }
        let valid_to = if row.raw("失效日期").is_empty() {
            Some(OPEN_END)
        } else {
            row.parse("失效日期", parse_date)
        };
        // Every cell is read (and its errors collected) before the row is kept.
        let (id, resource, contact) = (
            row.required("清单编号"),
            row.required("信息资源代码"),
            row.text("联系人"),
        );
        let (sharing_type, conditions, legal_basis) = (
            row.parse("共享类型", parse_sharing_type),
            row.text("共享条件"),
            row.text("法律依据"),
        );
        let (sharing_method, update_cycle, freshness) = (
            row.parse("共享方式", parse_sharing_method),
            row.text("更新周期"),
            row.text("数据时效"),
        );
        let (consumers, consumer_groups, purposes, service_items) = (
            row.members("使用方"),
            row.list("使用方分组"),
            row.text_list("用途"),
            row.list("事项编码"),
        );
        let case_no_required = row.parse("需办件编号", parse_yes_no).unwrap_or(false);
        let case_no_pattern = row.code("办件编号格式");
        let items = row.list("共享数据项");
        let quota = Quota {
            per_second: row.number("每秒限额"),
            burst: row.number("突发上限"),
            per_day: row.number("每日限额"),
            per_month: row.number("每月限额"),
            rows_per_call: row.number("每次行数上限"),
        };
        let remark = row.text(REMARK);
        let entry = match (provider, valid_from, valid_to, status, deadline) {
            (Some(provider), Some(valid_from), Some(valid_to), Some(status), Some(deadline_ms)) => {
                Some(Entry {
                    id,
                    resource,
                    provider,
                    contact,
                    sharing_type,
                    conditions,
                    legal_basis,
                    sharing_method,
                    update_cycle,
                    freshness,
                    consumers,
                    consumer_groups,
                    purposes,
                    service_items,
                    case_no_required,
                    case_no_pattern,
                    items,
                    valid_from,
                    valid_to,
                    status,
                    deadline_ms,
                    quota,
                    remark,
                })
            }
            _ => None,
        };
        let (origin, errs) = (sheet.origin(row.number), row.take_errors());
        if let (Some(entry), true) = (entry, errs.is_empty()) {
            import.push_entry(entry, origin);
        }
        errors.extend(errs);
    }
    import.errors.extend(errors);
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
        _ => Err("不是 正常 或 停用 is not 正常 or 停用".into()),
    }
}

/// Share types in their usual wordings.
pub(super) fn parse_sharing_type(s: &str) -> Result<SharingType, String> {
    let s = s.trim_end_matches('类');
    match s {
        "无条件共享" | "无条件" | "unconditional" => Ok(SharingType::Unconditional),
        "有条件共享" | "有条件" | "conditional" => Ok(SharingType::Conditional),
        "不予共享" | "不共享" | "不予" | "not_shared" => Ok(SharingType::NotShared),
        _ => Err("不是 无条件共享、有条件共享 或 不予共享".into()),
    }
}

fn parse_sharing_method(s: &str) -> Result<SharingMethod, String> {
    match s {
        "接口" | "接口方式" | "接口调用" | "API" | "api" => Ok(SharingMethod::Api),
        "批量文件" | "文件" | "批量" | "文件下载" | "bulk" => Ok(SharingMethod::Bulk),
        _ => Err("不是 接口 或 批量文件 is not 接口 or 批量文件".into()),
    }
}

fn parse_entry_status(s: &str) -> Result<EntryStatus, String> {
    match s {
        "有效" | "启用" | "正常" | "active" => Ok(EntryStatus::Active),
        "撤销" | "停用" | "失效" | "withdrawn" => Ok(EntryStatus::Withdrawn),
        _ => Err("不是 有效 或 撤销 is not 有效 or 撤销".into()),
    }
}

/// 是/否, √/×, and their usual stand-ins.
pub(super) fn parse_yes_no(s: &str) -> Result<bool, String> {
    match s {
        "是" | "√" | "✓" | "✔" | "需要" | "Y" | "y" | "yes" | "true" | "TRUE" | "1" => {
            Ok(true)
        }
        "否" | "×" | "✗" | "✘" | "不需要" | "N" | "n" | "no" | "false" | "FALSE" | "0" => {
            Ok(false)
        }
        _ => Err("不是 是/否 或 √/× is not yes or no".into()),
    }
}

/// A date as departments write it: `2026-01-01`, `2026-1-1`, `2026/1/1`,
/// `2026.1.1`, `2026年1月1日`, `20260101`, or an Excel date; and an open end
/// (`长期`, `长期有效`, `永久`) as [`OPEN_END`].
pub(super) fn parse_date(s: &str) -> Result<time::Date, String> {
    let s = s.trim();
    if matches!(s, "长期" | "长期有效" | "永久" | "永久有效" | "无固定期限") {
        return Ok(OPEN_END);
    }
    let bad = || "不是日期 is not a date (2026-01-01, 2026/1/1, 2026年1月1日, 长期)".to_owned();
    let s = s.split(['T', ' ']).next().unwrap_or(s);
    let parts: Vec<&str> = s
        .split(['-', '/', '.', '年', '月', '日'])
        .filter(|p| !p.is_empty())
        .collect();
    let (y, m, d) = match parts.as_slice() {
        [y, m, d] => (*y, *m, *d),
        [all] if all.len() == 8 && all.bytes().all(|b| b.is_ascii_digit()) => (
            all.get(..4).unwrap_or(""),
            all.get(4..6).unwrap_or(""),
            all.get(6..).unwrap_or(""),
        ),
        [serial] if serial.len() == 5 && serial.bytes().all(|b| b.is_ascii_digit()) => {
            let n: f64 = serial.parse().map_err(|_| bad())?;
            return excel_date(n).ok_or_else(bad);
        }
        _ => return Err(bad()),
    };
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u8 = m.parse().map_err(|_| bad())?;
    let d: u8 = d.parse().map_err(|_| bad())?;
    if !(1000..=9999).contains(&y) {
        return Err(bad());
    }
    let m = time::Month::try_from(m).map_err(|_| bad())?;
    time::Date::from_calendar_date(y, m, d).map_err(|_| bad())
}

/// A code list (代码值) in the forms catalogues use: `1=有效；2=注销`, `1-有效`,
/// `1:有效`, `1 有效`, one per line, or codes only (`1；2；3`). Returns the
/// codes in order and the labels by code.
pub(super) fn parse_code_list(s: &str) -> Result<(Vec<String>, BTreeMap<String, String>), String> {
    let mut codes = Vec::new();
    let mut labels = BTreeMap::new();
    for part in split_list(&fold(s)) {
        let (code, label) = if let Some((c, l)) = part.split_once(['=', ':']) {
            (c.trim(), Some(l.trim()))
        } else if let Some((c, l)) = part.split_once(char::is_whitespace) {
            (c.trim(), Some(l.trim()))
        } else if let Some((c, l)) = part.split_once('-')
            && !l.is_ascii()
        {
            (c.trim(), Some(l.trim()))
        } else {
            (part.as_str(), None)
        };
        if code.is_empty() || code.chars().any(char::is_whitespace) {
            return Err(format!("`{part}` 不是「代码=名称」 is not code=label"));
        }
        if codes.iter().any(|c| c == code) {
            return Err(format!("代码 `{code}` 重复 appears twice"));
        }
        codes.push(code.to_owned());
        if let Some(l) = label.filter(|l| !l.is_empty()) {
            labels.insert(code.to_owned(), l.to_owned());
        }
    }
    Ok((codes, labels))
}

/// Chinese type names as catalogues write them, and ours.
fn parse_item_type(ty: &str, length: Option<&str>) -> Result<ItemType, String> {
    let length = match length {
        None => None,
        Some(l) => Some(
            l.strip_suffix(".0")
                .unwrap_or(l)
                .parse::<usize>()
                .map_err(|_| format!("长度 length `{l}` 不是数字 is not a number"))?,
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

/// Excel serial day numbers (1900 system) to a date.
fn excel_date(serial: f64) -> Option<time::Date> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let epoch = time::macros::date!(1899 - 12 - 30);
    #[allow(clippy::cast_possible_truncation, reason = "range checked above")]
    let days = serial.floor() as i64;
    epoch.checked_add(time::Duration::days(days))
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
        Data::DateTime(dt) => excel_date(dt.as_f64())
            .map(crate::dates::format)
            .unwrap_or_default(),
        Data::Error(e) => format!("#ERROR {e:?}"),
    }
}

/// Largest spreadsheet accepted.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;
/// Most rows accepted in one sheet.
pub const MAX_ROWS: usize = 100_000;
/// Most columns accepted in one sheet.
const MAX_COLUMNS: usize = 256;

/// Reads an XLSX workbook into `import`: each sheet of the three kinds is
/// read, instruction sheets and sheets with no recognised headers are
/// skipped with a note. A value merged down a column fills every row it covers.
pub(crate) fn read_xlsx(
    import: &mut Import,
    file: &str,
    bytes: &[u8],
) -> Result<(), RegistryError> {
    let err = |message: String| RegistryError::File {
        file: file.to_owned(),
        message,
    };
    if bytes.len() > MAX_BYTES {
        return Err(err(format!("larger than {MAX_BYTES} bytes")));
    }
    let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| {
            err(format!(
                "不是可读的 XLSX 工作簿 not a readable XLSX workbook: {e}"
            ))
        })?;
    for name in book.sheet_names() {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| err(format!("sheet {name}: {e}")))?;
        let (height, width) = range.get_size();
        if height > MAX_ROWS + HEADER_SEARCH_ROWS || width > MAX_COLUMNS {
            return Err(err(format!(
                "sheet {name}: more than {MAX_ROWS} rows or {MAX_COLUMNS} columns"
            )));
        }
        let Some((top, left)) = range.start() else {
            import.notes.push(format!(
                "{file} 工作表 sheet {name}: 已跳过 skipped (空 empty)"
            ));
            continue;
        };
        let mut grid: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(cell_text).collect())
            .collect();
        let merges = book
            .merge_cells_by_sheet_name(&name)
            .map_err(|e| err(format!("sheet {name}: merged cells: {e}")))?;
        for m in merges {
            // Only merges down a column spread their value: a title merged
            // across a row stays in its first cell.
            if m.end.0 <= m.start.0 {
                continue;
            }
            let at = |r: u32, c: u32| -> Option<(usize, usize)> {
                Some((r.checked_sub(top)? as usize, c.checked_sub(left)? as usize))
            };
            let Some(value) =
                at(m.start.0, m.start.1).and_then(|(r, c)| grid.get(r)?.get(c).cloned())
            else {
                continue;
            };
            let bottom = top.saturating_add(u32::try_from(height).unwrap_or(u32::MAX));
            let right = left.saturating_add(u32::try_from(width).unwrap_or(u32::MAX));
            for r in m.start.0..=m.end.0.min(bottom) {
                for c in m.start.1..=m.end.1.min(right) {
                    if let Some(cell) = at(r, c).and_then(|(r, c)| grid.get_mut(r)?.get_mut(c)) {
                        cell.clone_from(&value);
                    }
                }
            }
        }
        // Cells left of the used range are empty: pad so columns line up.
        if left > 0 {
            for row in &mut grid {
                row.splice(0..0, std::iter::repeat_n(String::new(), left as usize));
            }
        }
        add_grid(import, file, &name, grid, top as usize + 1);
    }
    Ok(())
}

/// Reads a CSV file (UTF-8, with or without BOM, or GB18030 as Excel in China
/// saves it) into `import`: one sheet, its kind recognised by its headers.
pub(crate) fn read_csv(import: &mut Import, file: &str, bytes: &[u8]) -> Result<(), RegistryError> {
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
            .ok_or_else(|| {
                err("既不是 UTF-8 也不是 GB18030 文本 neither UTF-8 nor GB18030 text".into())
            })?,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut grid = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if i > MAX_ROWS + HEADER_SEARCH_ROWS {
            return Err(err(format!("more than {MAX_ROWS} rows")));
        }
        let record = record.map_err(|e| err(format!("row {}: {e}", i + 1)))?;
        if record.len() > MAX_COLUMNS {
            return Err(err(format!(
                "row {}: more than {MAX_COLUMNS} columns",
                i + 1
            )));
        }
        grid.push(record.iter().map(str::to_owned).collect::<Vec<_>>());
    }
    if grid.is_empty() {
        return Err(err("空文件 empty file".into()));
    }
    let name = std::path::Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    add_grid(import, file, &name, grid, 1);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::RegistryData;

    fn csv(text: &str) -> Result<RegistryData, RegistryError> {
        let mut data = RegistryData::default();
        super::super::add_csv(&mut data, "清单.csv", text.as_bytes())?;
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
            Err(RegistryError::Sheet(e)) => {
                let SheetError {
                    file,
                    sheet,
                    row,
                    column,
                    ..
                } = *e;
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
        assert!(matches!(csv(&bad), Err(RegistryError::Sheet(e)) if e.column == "共享类型"));
        let bad = LIST_HEADER.replace("用途", "用 途途");
        assert!(matches!(
            csv(&bad),
            Err(RegistryError::Sheet(e)) if e.row == 1
        ));
        let missing = LIST_HEADER.replace(",状态", "");
        assert!(matches!(csv(&missing), Err(RegistryError::Sheet(e)) if e.column == "状态"));
    }

    #[test]
    fn gb18030_csv_as_excel_saves_it_reads() {
        let text = format!(
            "{LIST_HEADER}1,RL-2026-00001,YRD-SCJG-0001,zj:11330000002482028A:data,有条件共享,name,js:11320000014000118J:data,核验,3000,,2026-01-01,2026-12-31,有效\n"
        );
        let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
        let mut data = RegistryData::default();
        super::super::add_csv(&mut data, "list.csv", &bytes).unwrap();
        assert_eq!(data.list[0].purposes, vec!["核验"]);
    }

    #[test]
    fn dates_as_departments_write_them() {
        let d = time::macros::date!(2026 - 01 - 01);
        for t in [
            "2026-01-01",
            "2026-1-1",
            "2026/1/1",
            "2026.1.1",
            "2026年1月1日",
            "20260101",
            "46023",
        ] {
            assert_eq!(parse_date(&fold(t)), Ok(d), "{t}");
        }
        assert_eq!(parse_date(&fold("２０２６年１月１日")), Ok(d));
        for t in ["长期", "长期有效"] {
            assert_eq!(parse_date(t), Ok(OPEN_END), "{t}");
        }
        for t in ["2026-13-01", "2026-02-30", "明年", "26/1/1", "2026-1"] {
            assert!(parse_date(t).is_err(), "{t}");
        }
    }

    #[test]
    fn code_lists_in_every_form() {
        let labelled = |s: &str| parse_code_list(s).unwrap();
        let expected = (
            vec!["1".to_owned(), "2".into(), "3".into()],
            [("1", "有效"), ("2", "注销"), ("3", "吊销")]
                .iter()
                .map(|(c, l)| ((*c).to_owned(), (*l).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        );
        for form in [
            "1=有效；2=注销；3=吊销",
            "1＝有效；2＝注销；3＝吊销",
            "1-有效；2-注销；3-吊销",
            "1:有效;2:注销;3:吊销",
            "1：有效，2：注销，3：吊销",
            "1 有效\n2 注销\n3 吊销",
            "1　有效、2　注销、3　吊销",
            "1=有效\r\n2=注销\r\n3=吊销",
        ] {
            assert_eq!(labelled(form), expected, "{form}");
        }
        let (codes, labels) = labelled("1；2；3");
        assert_eq!(codes, ["1", "2", "3"]);
        assert!(labels.is_empty());
        assert_eq!(labelled("１；２").0, ["1", "2"]);
        assert!(parse_code_list("1=有效；1=注销").is_err());
    }

    #[test]
    fn yes_no_and_sharing_types_in_their_wordings() {
        for t in ["是", "√", "Y"] {
            assert_eq!(parse_yes_no(t), Ok(true));
        }
        for t in ["否", "×", "N"] {
            assert_eq!(parse_yes_no(t), Ok(false));
        }
        assert!(parse_yes_no("可能").is_err());
        assert_eq!(
            parse_sharing_type("无条件共享类"),
            Ok(SharingType::Unconditional)
        );
        assert_eq!(parse_sharing_type("有条件"), Ok(SharingType::Conditional));
        assert_eq!(parse_sharing_type("不予共享"), Ok(SharingType::NotShared));
        assert!(parse_sharing_type("部分共享").is_err());
    }

    #[test]
    fn headers_with_spaces_brackets_and_required_marks() {
        for h in [
            "答复时限（毫秒）",
            "答复时限(毫秒)",
            " 答复时限 ( 毫秒 ) *",
            "*答复时限（毫秒）",
        ] {
            assert_eq!(canonical(LIST_COLUMNS, h), Some("答复时限（毫秒）"), "{h}");
        }
    }

    #[test]
    fn excel_serial_dates() {
        assert_eq!(
            excel_date(46023.0),
            Some(time::macros::date!(2026 - 01 - 01))
        );
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

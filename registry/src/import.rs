//! One import: registry files of any kind read together, with where each
//! member, resource and entry came from, the notes of what was skipped, and
//! every error — cell errors and the cross-checks alike — naming the file,
//! sheet, row and the column's Chinese header.

use crate::error::{RegistryError, SheetError};
use crate::model::{Entry, Fault, FieldDoc, Member, Part, Registry, RegistryData, Resource};

/// Where a row came from in a spreadsheet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub file: String,
    /// The sheet (a CSV file's name without extension).
    pub sheet: String,
    /// The row, as the spreadsheet numbers it.
    pub row: usize,
}

/// A resource's origin: its first row, and the row of each of its items.
#[derive(Clone, Debug, Default)]
struct ResourceOrigin {
    origin: Option<Origin>,
    items: Vec<usize>,
}

/// Registry files read together, ready to be checked as one version.
#[derive(Debug, Default)]
pub struct Import {
    /// What was read.
    pub(crate) data: RegistryData,
    /// What was skipped, and why (instruction sheets, sheets of nothing known).
    pub(crate) notes: Vec<String>,
    /// Every error found while reading, in file and row order.
    pub(crate) errors: Vec<RegistryError>,
    members: Vec<Option<Origin>>,
    catalogue: Vec<ResourceOrigin>,
    list: Vec<Option<Origin>>,
}

impl Import {
    /// Reads one file, by extension (`.toml`, `.csv` or `.xlsx`), and adds
    /// what it holds. Errors are kept and reported by [`Import::check`]; the
    /// next file is read all the same.
    pub fn add_file(&mut self, file: &str, bytes: &[u8]) {
        let lower = file.to_ascii_lowercase();
        let result = if lower.ends_with(".xlsx") {
            crate::sheets::read_xlsx(self, file, bytes)
        } else if lower.ends_with(".csv") {
            crate::sheets::read_csv(self, file, bytes)
        } else if lower.ends_with(".toml") {
            match std::str::from_utf8(bytes) {
                Ok(text) => {
                    let mut data = RegistryData::default();
                    crate::files::add_toml(&mut data, file, text).map(|()| self.add_data(data))
                }
                Err(e) => Err(RegistryError::File {
                    file: file.to_owned(),
                    message: format!("not UTF-8 text: {e}"),
                }),
            }
        } else {
            Err(RegistryError::File {
                file: file.to_owned(),
                message: "expected a .toml, .csv or .xlsx file".into(),
            })
        };
        if let Err(e) = result {
            self.errors.push(e);
        }
    }

    /// Adds data read elsewhere (no rows to name in errors).
    pub fn add_data(&mut self, data: RegistryData) {
        self.members.extend(data.members.iter().map(|_| None));
        self.catalogue
            .extend(data.catalogue.iter().map(|_| ResourceOrigin::default()));
        self.list.extend(data.list.iter().map(|_| None));
        self.data.members.extend(data.members);
        self.data.catalogue.extend(data.catalogue);
        self.data.list.extend(data.list);
    }

    pub(crate) fn push_member(&mut self, m: Member, origin: Origin) {
        self.data.members.push(m);
        self.members.push(Some(origin));
    }

    /// Adds a resource (without fields yet); returns its index.
    pub(crate) fn push_resource(&mut self, r: Resource, origin: Origin) -> usize {
        self.data.catalogue.push(r);
        self.catalogue.push(ResourceOrigin {
            origin: Some(origin),
            items: Vec::new(),
        });
        self.data.catalogue.len() - 1
    }

    /// Adds a key field or item to the resource at `index`, read from `row`.
    pub(crate) fn push_field(&mut self, index: usize, field: FieldDoc, key: bool, row: usize) {
        if let Some(r) = self.data.catalogue.get_mut(index) {
            if key {
                r.key.push(field);
            } else {
                r.items.push(field);
                if let Some(o) = self.catalogue.get_mut(index) {
                    o.items.push(row);
                }
            }
        }
    }

    pub(crate) fn push_entry(&mut self, e: Entry, origin: Origin) {
        self.data.list.push(e);
        self.list.push(Some(origin));
    }

    /// Appends what was read to `data` if reading found no error; else all
    /// the reading errors together.
    pub(crate) fn append_to(mut self, data: &mut RegistryData) -> Result<(), RegistryError> {
        let mut errors = std::mem::take(&mut self.errors);
        match errors.len() {
            0 => {
                data.members.extend(self.data.members);
                data.catalogue.extend(self.data.catalogue);
                data.list.extend(self.data.list);
                Ok(())
            }
            1 => Err(errors.remove(0)),
            _ => Err(RegistryError::Many(errors)),
        }
    }

    /// What was read.
    pub fn data(&self) -> &RegistryData {
        &self.data
    }

    /// What was read, taken.
    pub fn into_data(self) -> RegistryData {
        self.data
    }

    /// What was skipped, and why.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The errors found while reading (cross-checks not yet run).
    pub fn read_errors(&self) -> &[RegistryError] {
        &self.errors
    }

    /// Every error of the import: the reading errors if there are any, else
    /// the cross-checks' — each naming, for spreadsheet rows, the file,
    /// sheet, row and the column's Chinese header. Empty when the import can
    /// be stored as a version.
    pub fn errors(&self) -> Vec<RegistryError> {
        if !self.errors.is_empty() {
            return self.errors.iter().map(copy_error).collect();
        }
        match Registry::build_checked(0, self.data.clone()) {
            Ok(_) => Vec::new(),
            Err(faults) => faults.iter().map(|f| self.locate(f)).collect(),
        }
    }

    /// Checks the import whole and builds the registry version `version`
    /// from it; all errors together when it fails.
    pub fn check(&self, version: i64) -> Result<Registry, RegistryError> {
        let mut errors = self.errors();
        match errors.len() {
            0 => Registry::build(version, self.data.clone()),
            1 => Err(errors.remove(0)),
            _ => Err(RegistryError::Many(errors)),
        }
    }

    /// A fault as an error naming the spreadsheet cell, where the row came
    /// from a spreadsheet.
    fn locate(&self, f: &Fault) -> RegistryError {
        let field = f.field.split(['[', '.']).next().unwrap_or("");
        let (origin, column) = match f.part {
            Part::Members => (
                self.members.get(f.index).cloned().flatten(),
                match field {
                    "endpoint" => "接口地址",
                    "certificates" => "证书指纹",
                    "groups" => "分组",
                    _ => "成员标识",
                },
            ),
            Part::Catalogue => {
                let o = self.catalogue.get(f.index);
                let item_row =
                    item_index(&f.field).and_then(|j| o.and_then(|o| o.items.get(j)).copied());
                let origin = o.and_then(|o| o.origin.clone()).map(|mut origin| {
                    if let Some(row) = item_row {
                        origin.row = row;
                    }
                    origin
                });
                let column = match field {
                    "items" if f.field.ends_with(".codes") => "代码值",
                    "items" => "信息项编码",
                    "route_by" => "路由键",
                    "licence_type" => "证照类型代码",
                    _ => "信息资源代码",
                };
                (origin, column)
            }
            Part::List => (
                self.list.get(f.index).cloned().flatten(),
                list_column(&f.field),
            ),
        };
        match origin {
            Some(o) => RegistryError::Sheet(Box::new(SheetError {
                file: o.file,
                sheet: o.sheet,
                row: o.row,
                column: column.to_owned(),
                value: f.value.clone(),
                problem: f.problem.clone(),
            })),
            None => f.to_error(),
        }
    }
}

/// `j` of a field `items[j]…`.
fn item_index(field: &str) -> Option<usize> {
    field
        .strip_prefix("items[")?
        .split(']')
        .next()?
        .parse()
        .ok()
}

/// The list sheet's Chinese header of an entry field.
fn list_column(field: &str) -> &'static str {
    match field.split('[').next().unwrap_or("") {
        "resource" => "信息资源代码",
        "provider" => "提供方",
        "consumers" => "使用方",
        "consumer_groups" => "使用方分组",
        "items" => "共享数据项",
        "legal_basis" => "法律依据",
        "purposes" => "用途",
        "service_items" => "事项编码",
        "sharing_type" => "共享类型",
        "valid_from" => "生效日期",
        "valid_to" => "失效日期",
        "deadline_ms" => "答复时限（毫秒）",
        "quota.per_second" => "每秒限额",
        "quota.burst" => "突发上限",
        "quota.rows_per_call" => "每次行数上限",
        _ => "清单编号",
    }
}

/// Errors of reading are plain data; this copies one (the store variant
/// never occurs while reading files).
fn copy_error(e: &RegistryError) -> RegistryError {
    match e {
        RegistryError::File { file, message } => RegistryError::File {
            file: file.clone(),
            message: message.clone(),
        },
        RegistryError::Sheet(e) => RegistryError::Sheet(e.clone()),
        RegistryError::Inconsistent { at, problem } => RegistryError::Inconsistent {
            at: at.clone(),
            problem: problem.clone(),
        },
        RegistryError::Many(all) => RegistryError::Many(all.iter().map(copy_error).collect()),
        other => RegistryError::File {
            file: String::new(),
            message: other.to_string(),
        },
    }
}

//! A fulfilment report as tables people open in a spreadsheet: CSV (one
//! section per table) and XLSX (one sheet per table), each holding all the
//! JSON report holds — the totals, the entries, the refusals not tied to an
//! entry, the unused entries and the most-refused consumers — with Chinese
//! headers, or English ones, and times in China Standard Time.

use crate::error::RegistryError;
use crate::report::FulfilmentReport;

/// The language of a report's headers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReportLang {
    /// Chinese (the default).
    #[default]
    Zh,
    /// English.
    En,
}

impl ReportLang {
    /// `zh` or `en`.
    pub fn parse(s: &str) -> Result<ReportLang, String> {
        match s {
            "zh" | "zh-CN" => Ok(ReportLang::Zh),
            "en" => Ok(ReportLang::En),
            other => Err(format!("语言 lang `{other}`: expected zh or en")),
        }
    }

    fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            ReportLang::Zh => zh,
            ReportLang::En => en,
        }
    }
}

/// A cell of a report table.
#[derive(Clone, Debug, PartialEq)]
pub enum ReportCell {
    /// Text.
    Text(String),
    /// A count.
    Count(u64),
    /// A ratio or a number of milliseconds.
    Number(f64),
    /// Nothing (no figure).
    Empty,
}

impl ReportCell {
    fn csv(&self) -> String {
        match self {
            ReportCell::Text(t) => t.clone(),
            ReportCell::Count(n) => n.to_string(),
            ReportCell::Number(f) => format!("{}", (f * 10_000.0).round() / 10_000.0),
            ReportCell::Empty => String::new(),
        }
    }
}

/// One table: a name, headers, rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The table's (sheet's, section's) name.
    pub name: &'static str,
    /// Column headers.
    pub headers: Vec<&'static str>,
    /// Rows.
    pub rows: Vec<Vec<ReportCell>>,
}

fn text(s: impl Into<String>) -> ReportCell {
    ReportCell::Text(s.into())
}

fn opt(v: Option<u64>) -> ReportCell {
    v.map_or(ReportCell::Empty, ReportCell::Count)
}

fn by_code(m: &std::collections::BTreeMap<String, u64>) -> ReportCell {
    text(
        m.iter()
            .map(|(c, n)| format!("{c}={n}"))
            .collect::<Vec<_>>()
            .join(";"),
    )
}

/// The report's tables, in order: summary, entries, refusals without an
/// entry, unused entries, most-refused consumers.
pub fn report_tables(r: &FulfilmentReport, lang: ReportLang) -> Vec<Table> {
    let l = |zh, en| lang.pick(zh, en);
    let summary = Table {
        name: l("总览", "summary"),
        headers: vec![l("项目", "item"), l("值", "value")],
        rows: vec![
            vec![text(l("统计期间", "period")), text(&r.period)],
            vec![
                text(l("期间开始（北京时间）", "period start (CST)")),
                text(&r.period_start),
            ],
            vec![
                text(l("期间结束（北京时间）", "period end (CST)")),
                text(&r.period_end),
            ],
            vec![
                text(l("清单版本", "registry version")),
                text(r.registry_version.to_string()),
            ],
            vec![
                text(l("交换总数", "exchanges")),
                ReportCell::Count(r.exchanges),
            ],
            vec![text(l("成功", "served")), ReportCell::Count(r.served)],
            vec![text(l("拒绝", "refused")), ReportCell::Count(r.refused)],
        ],
    };
    let entries = Table {
        name: l("清单履行", "entries"),
        headers: vec![
            l("清单编号", "entry"),
            l("信息资源代码", "resource"),
            l("提供方", "provider"),
            l("调用次数", "calls"),
            l("成功", "served"),
            l("拒绝", "refused"),
            l("到达提供方", "reached_provider"),
            l("提供方成功率", "provider_success_rate"),
            l("时延P50（毫秒）", "p50_ms"),
            l("时延P95（毫秒）", "p95_ms"),
            l("时延P99（毫秒）", "p99_ms"),
            l("答复时限（毫秒）", "deadline_ms"),
            l("超时次数", "over_deadline"),
            l("每日限额", "per_day"),
            l("每月限额", "per_month"),
            l("单日最多调用", "max_calls_in_a_day"),
            l("计入限额", "counted_calls"),
            l("限额拒绝", "quota_refused"),
            l("拒绝原因", "refused_by_code"),
        ],
        rows: r
            .entries
            .iter()
            .map(|e| {
                let lat = |f: fn(&crate::report::Latency) -> f64| {
                    e.latency_ms
                        .as_ref()
                        .map_or(ReportCell::Empty, |x| ReportCell::Number(f(x)))
                };
                vec![
                    text(&e.entry),
                    text(&e.resource),
                    text(&e.provider),
                    ReportCell::Count(e.calls),
                    ReportCell::Count(e.served),
                    ReportCell::Count(e.refused.values().sum()),
                    ReportCell::Count(e.reached_provider),
                    e.provider_success_rate
                        .map_or(ReportCell::Empty, ReportCell::Number),
                    lat(|x| x.p50),
                    lat(|x| x.p95),
                    lat(|x| x.p99),
                    ReportCell::Count(e.deadline_ms),
                    ReportCell::Count(e.over_deadline),
                    opt(e.quota.per_day),
                    opt(e.quota.per_month),
                    ReportCell::Count(e.quota.max_calls_in_a_day),
                    ReportCell::Count(e.quota.counted_calls),
                    ReportCell::Count(e.quota.refused),
                    by_code(&e.refused),
                ]
            })
            .collect(),
    };
    let without = Table {
        name: l("未关联清单的拒绝", "refused_without_entry"),
        headers: vec![l("问题代码", "code"), l("次数", "count")],
        rows: r
            .refused_without_entry
            .iter()
            .map(|(c, n)| vec![text(c), ReportCell::Count(*n)])
            .collect(),
    };
    let unused = Table {
        name: l("未使用的清单", "never_used"),
        headers: vec![l("清单编号", "entry")],
        rows: r.never_used.iter().map(|e| vec![text(e)]).collect(),
    };
    let consumers = Table {
        name: l("被拒最多的使用方", "consumers_refused_most"),
        headers: vec![
            l("使用方", "consumer"),
            l("拒绝次数", "refused"),
            l("拒绝原因", "by_code"),
        ],
        rows: r
            .consumers_refused_most
            .iter()
            .map(|c| {
                vec![
                    text(&c.consumer),
                    ReportCell::Count(c.refused),
                    by_code(&c.by_code),
                ]
            })
            .collect(),
    };
    vec![summary, entries, without, unused, consumers]
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The report as CSV: the entries table first (so its rows start the file
/// after one header line), then each other table as a section headed by a
/// `# name` line, sections separated by an empty line.
pub fn report_csv(r: &FulfilmentReport, lang: ReportLang) -> String {
    let mut tables = report_tables(r, lang);
    // The entries first, as a spreadsheet opens the file at its top.
    if tables.len() > 1 {
        let entries = tables.remove(1);
        tables.insert(0, entries);
    }
    let mut out = String::new();
    for (i, t) in tables.iter().enumerate() {
        if i > 0 {
            out.push_str(&format!("\n# {}\n", t.name));
        }
        let line = |cells: Vec<String>| {
            cells
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        };
        out.push_str(&line(t.headers.iter().map(|h| (*h).to_owned()).collect()));
        for row in &t.rows {
            out.push_str(&line(row.iter().map(ReportCell::csv).collect()));
        }
    }
    out
}

/// The report as an XLSX workbook, one sheet per table, figures as number cells.
pub fn report_xlsx(r: &FulfilmentReport, lang: ReportLang) -> Result<Vec<u8>, RegistryError> {
    let err = |e: rust_xlsxwriter::XlsxError| RegistryError::File {
        file: "report.xlsx".into(),
        message: e.to_string(),
    };
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for t in report_tables(r, lang) {
        let ws = book.add_worksheet();
        ws.set_name(t.name).map_err(err)?;
        for (c, h) in t.headers.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            ws.write_string_with_format(0, c, *h, &bold).map_err(err)?;
            ws.set_column_width(c, 16).map_err(err)?;
        }
        for (i, row) in t.rows.iter().enumerate() {
            let r = u32::try_from(i + 1).unwrap_or(u32::MAX);
            for (c, v) in row.iter().enumerate() {
                let c = u16::try_from(c).unwrap_or(u16::MAX);
                match v {
                    ReportCell::Text(s) => {
                        ws.write_string(r, c, s).map_err(err)?;
                    }
                    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^53")]
                    ReportCell::Count(n) => {
                        ws.write_number(r, c, *n as f64).map_err(err)?;
                    }
                    ReportCell::Number(f) => {
                        ws.write_number(r, c, *f).map_err(err)?;
                    }
                    ReportCell::Empty => {}
                }
            }
        }
    }
    book.save_to_buffer().map_err(err)
}

//! The conformance report: checks with a verdict and the evidence, grouped in
//! sections (TLS, then one per provider × resource), written as Markdown and
//! JSON with Chinese and English headings, and as progress lines while the
//! runner works.

use std::io::Write;

use serde::Serialize;

/// A check's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Conforms.
    Pass,
    /// Works, but should be fixed (or could not be checked).
    Warn,
    /// Does not conform: the platform is not ready.
    Fail,
}

impl Verdict {
    /// `通过 pass`, `警告 warn`, `失败 FAIL`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "通过 pass",
            Verdict::Warn => "警告 warn",
            Verdict::Fail => "失败 FAIL",
        }
    }
}

/// One check and what was seen.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// Stable identifier, e.g. `tls.version`, `keys.fixture`.
    pub id: &'static str,
    /// What was checked, in Chinese.
    pub zh: &'static str,
    /// What was checked, in English.
    pub en: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// What was seen: statuses, timings, item and path names — never a
    /// record's values.
    pub evidence: String,
}

/// A group of checks: the endpoint's TLS, or one resource of one provider.
#[derive(Clone, Debug, Serialize)]
pub struct Section {
    /// Heading in Chinese.
    pub title_zh: String,
    /// Heading in English.
    pub title_en: String,
    /// The provider member.
    pub provider: String,
    /// The endpoint checked.
    pub endpoint: String,
    /// The catalogue resource, for a resource's section.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The responsibility-list entry whose deadline and rate applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// The mapping file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
    /// SHA-256 of the mapping file, as recorded with every exchange.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping_hash: Option<String>,
    /// The checks, in the order run.
    pub checks: Vec<Check>,
}

/// Counts of verdicts.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Counts {
    /// Passed.
    pub pass: usize,
    /// Warnings.
    pub warn: usize,
    /// Failed.
    pub fail: usize,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// What this is.
    pub report: &'static str,
    /// The yrdx version that ran it.
    pub yrdx: &'static str,
    /// The node configuration's `node`.
    pub node: String,
    /// The region checked.
    pub region: String,
    /// When the run started, RFC 3339 in China Standard Time.
    pub time: String,
    /// How long it took, in seconds.
    pub seconds: f64,
    /// Whether nothing failed.
    pub conforms: bool,
    /// The verdicts counted.
    pub counts: Counts,
    /// The sections.
    pub sections: Vec<Section>,
}

impl Report {
    /// Counts the verdicts and sets `conforms`.
    pub fn finish(&mut self) {
        let mut counts = Counts::default();
        for check in self.sections.iter().flat_map(|s| &s.checks) {
            match check.verdict {
                Verdict::Pass => counts.pass += 1,
                Verdict::Warn => counts.warn += 1,
                Verdict::Fail => counts.fail += 1,
            }
        }
        self.counts = counts;
        self.conforms = counts.fail == 0;
    }

    /// The report as Markdown, for an onboarding record.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        md.push_str("# 接入一致性检查报告 Provider conformance report\n\n");
        md.push_str("| 项目 Field | 值 Value |\n|---|---|\n");
        let verdict = if self.conforms {
            "符合 conforms"
        } else {
            "不符合 does not conform"
        };
        for (k, v) in [
            ("节点 Node", self.node.as_str()),
            ("地区 Region", self.region.as_str()),
            ("时间 Time", self.time.as_str()),
            ("yrdx", self.yrdx),
            ("结论 Verdict", verdict),
        ] {
            md.push_str(&format!("| {k} | {} |\n", cell(v)));
        }
        md.push_str(&format!(
            "| 统计 Counts | {} 通过 pass, {} 警告 warn, {} 失败 fail |\n| 用时 Duration | {:.1} s |\n",
            self.counts.pass, self.counts.warn, self.counts.fail, self.seconds
        ));
        for s in &self.sections {
            md.push_str(&format!("\n## {} {}\n\n", s.title_zh, s.title_en));
            md.push_str(&format!("- 提供方 Provider: `{}`\n", s.provider));
            md.push_str(&format!("- 地址 Endpoint: `{}`\n", s.endpoint));
            if let Some(r) = &s.resource {
                md.push_str(&format!("- 资源 Resource: `{r}`\n"));
            }
            if let Some(e) = &s.entry {
                md.push_str(&format!("- 责任清单条目 List entry: `{e}`\n"));
            }
            if let (Some(m), Some(h)) = (&s.mapping, &s.mapping_hash) {
                md.push_str(&format!("- 映射 Mapping: `{m}` sha256:`{h}`\n"));
            }
            md.push_str("\n| 检查项 Check | 结果 Result | 依据 Evidence |\n|---|---|---|\n");
            for c in &s.checks {
                md.push_str(&format!(
                    "| {} {} (`{}`) | {} | {} |\n",
                    c.zh,
                    c.en,
                    c.id,
                    c.verdict.label(),
                    cell(&c.evidence)
                ));
            }
        }
        md
    }
}

/// Text fit for one Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', "<br>")
}

/// Prints one check as it completes.
pub fn progress(out: &mut dyn Write, check: &Check) -> std::io::Result<()> {
    let mark = match check.verdict {
        Verdict::Pass => "  ok  ",
        Verdict::Warn => " warn ",
        Verdict::Fail => " FAIL ",
    };
    writeln!(
        out,
        "[{mark}] {} {} ({}): {}",
        check.zh, check.en, check.id, check.evidence
    )?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escapes_cells_and_counts_verdicts() {
        let mut r = Report {
            report: "yrdx conformance provider",
            yrdx: "0",
            node: "n".into(),
            region: "js".into(),
            time: "t".into(),
            seconds: 1.0,
            conforms: true,
            counts: Counts::default(),
            sections: vec![Section {
                title_zh: "传输".into(),
                title_en: "TLS".into(),
                provider: "p".into(),
                endpoint: "e".into(),
                resource: None,
                entry: None,
                mapping: None,
                mapping_hash: None,
                checks: vec![Check {
                    id: "x",
                    zh: "甲",
                    en: "a",
                    verdict: Verdict::Fail,
                    evidence: "a|b\nc".into(),
                }],
            }],
        };
        r.finish();
        assert!(!r.conforms);
        assert_eq!(r.counts.fail, 1);
        let md = r.markdown();
        assert!(md.contains("a\\|b<br>c"), "{md}");
        assert!(md.contains("不符合 does not conform"), "{md}");
    }
}

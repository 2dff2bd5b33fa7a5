//! `yrdx report …`: reports computed from the exchange records, which
//! regulators (or operators for them) compute from the node's store.

use std::path::Path;
use std::process::ExitCode;

use yrdx_registry::Registry;

use super::ReportCommand;
use super::registry::{RegistryCliError, open, print};

/// Runs a `yrdx report` command and prints the report.
pub fn run(command: ReportCommand) -> anyhow::Result<ExitCode> {
    let text = match command {
        ReportCommand::Fulfilment {
            config,
            period,
            format,
            lang,
            out,
        } => {
            let report =
                super::runtime()?.block_on(fulfilment(&config, &period, &format, &lang))?;
            match (report, out) {
                (Rendered::Text(text), None) => text,
                (Rendered::Text(text), Some(out)) => {
                    std::fs::write(&out, text).map_err(super::file_error(&out))?;
                    format!("报告已写入 report written to {}", out.display())
                }
                (Rendered::Bytes(bytes), Some(out)) => {
                    std::fs::write(&out, bytes).map_err(super::file_error(&out))?;
                    format!("报告已写入 report written to {}", out.display())
                }
                (Rendered::Bytes(_), None) => {
                    return Err(RegistryCliError::Usage(
                        "--format xlsx 需要 --out 文件 needs --out FILE".into(),
                    )
                    .into());
                }
            }
        }
    };
    print(&text);
    Ok(ExitCode::SUCCESS)
}

/// A rendered report: text for standard output, or a workbook's bytes.
#[derive(Debug)]
pub enum Rendered {
    /// JSON or CSV.
    Text(String),
    /// XLSX.
    Bytes(Vec<u8>),
}

/// `yrdx report fulfilment`: JSON, CSV (sections) or XLSX (sheets), headers
/// in `lang`.
pub async fn fulfilment(
    config: &Path,
    period: &str,
    format: &str,
    lang: &str,
) -> Result<Rendered, RegistryCliError> {
    let period = yrdx_registry::parse_period(period).map_err(RegistryCliError::Usage)?;
    if !matches!(format, "json" | "csv" | "xlsx") {
        return Err(RegistryCliError::Usage(format!(
            "--format `{format}`: expected json, csv or xlsx"
        )));
    }
    let lang = yrdx_registry::ReportLang::parse(lang).map_err(RegistryCliError::Usage)?;
    let (_, store) = open(config).await?;
    let result = async {
        let (version, data) = store.registry_at(yrdx_registry::now_ms()).await?;
        let registry = Registry::build(version, data)?;
        Ok::<_, RegistryCliError>(
            store
                .fulfilment(&registry, &period, &crate::problem::Problem::report_codes())
                .await?,
        )
    }
    .await;
    store.close().await;
    let report = result?;
    Ok(match format {
        "csv" => Rendered::Text(yrdx_registry::report_csv(&report, lang)),
        "xlsx" => Rendered::Bytes(yrdx_registry::report_xlsx(&report, lang)?),
        _ => Rendered::Text(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"),
    })
}

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
        } => super::runtime()?.block_on(fulfilment(&config, &period, &format))?,
    };
    print(&text);
    Ok(ExitCode::SUCCESS)
}

/// `yrdx report fulfilment`: JSON or CSV on standard output.
pub async fn fulfilment(
    config: &Path,
    period: &str,
    format: &str,
) -> Result<String, RegistryCliError> {
    let period = yrdx_registry::parse_period(period).map_err(RegistryCliError::Usage)?;
    if format != "json" && format != "csv" {
        return Err(RegistryCliError::Usage(format!(
            "--format `{format}`: expected json or csv"
        )));
    }
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
        "csv" => yrdx_registry::report_csv(&report),
        _ => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
    })
}

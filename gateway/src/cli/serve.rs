//! `yrdx serve`: one gateway node from its configuration file, until SIGINT
//! or SIGTERM.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::Config;

/// Runs `yrdx serve`: loads the configuration, starts the node and shuts it
/// down gracefully on a signal.
pub fn run(config: &Path) -> anyhow::Result<ExitCode> {
    let config = Config::load(config)?;
    super::runtime()?.block_on(async {
        let gateway = crate::start(config).await?;
        super::wait_for_signal().await;
        // The binary's target, as when this ran in `main`: not shown by the
        // default log filter.
        tracing::info!(target: "yrdx", "shutting down");
        gateway.shutdown(Duration::from_secs(10)).await;
        Ok(ExitCode::SUCCESS)
    })
}

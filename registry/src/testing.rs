//! Scratch databases for tests and tools: each test gets a store of its own, on
//! SQLite in a temporary folder and, when `YRDX_TEST_DATABASE_URL` names a
//! PostgreSQL server, in a freshly created database there.

use sqlx::any::install_default_drivers;
use sqlx::migrate::MigrateDatabase;

use crate::error::StoreError;

/// The environment variable naming the PostgreSQL server tests may use.
pub const TEST_DATABASE_ENV: &str = "YRDX_TEST_DATABASE_URL";

/// The PostgreSQL URL for tests, or `None` with a visible message saying the
/// PostgreSQL half of the test is skipped.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var(TEST_DATABASE_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("SKIPPED (PostgreSQL half of {test}): {TEST_DATABASE_ENV} is not set");
            None
        }
    }
}

/// Creates an empty database with a unique name on the server of `server_url`
/// and returns its URL. The database stays after the test so that a failure can
/// be inspected; names start with `yrdx_test_`.
pub async fn fresh_postgres(server_url: &str, label: &str) -> Result<String, StoreError> {
    install_default_drivers();
    let unique = uuid_like();
    let label: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(24)
        .collect();
    let name = format!("yrdx_test_{label}_{unique}");
    let base = match server_url.rfind('/') {
        Some(i) if i > "postgres://".len() => server_url.get(..i).unwrap_or(server_url),
        _ => server_url,
    };
    let url = format!("{base}/{name}");
    sqlx::Any::create_database(&url)
        .await
        .map_err(StoreError::query("creating a scratch database"))?;
    Ok(url)
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{:x}{:x}{:x}",
        nanos,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

//! Scratch databases for tests and tools: each test gets a store of its own, on
//! SQLite in a temporary folder and, when `YRDX_TEST_DATABASE_URL` names a
//! PostgreSQL server, in a freshly created database there.

use sqlx::any::install_default_drivers;
use sqlx::migrate::MigrateDatabase;

use crate::error::StoreError;

/// The environment variable naming the PostgreSQL server tests may use.
pub const TEST_DATABASE_ENV: &str = "YRDX_TEST_DATABASE_URL";

/// The environment variable that, set to anything but the empty string, says
/// the tests run in continuous integration, where nothing may be skipped.
pub const CI_ENV: &str = "CI";

/// The PostgreSQL URL for tests, or `None` with a visible message saying the
/// PostgreSQL half of the test is skipped.
///
/// # Panics
///
/// When [`TEST_DATABASE_ENV`] is not set but [`CI_ENV`] is: in continuous
/// integration a PostgreSQL half that did not run must fail the test, not
/// pass it unseen.
#[allow(
    clippy::panic,
    reason = "for tests: failing the test is the point when CI lacks the database"
)]
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var(TEST_DATABASE_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os(CI_ENV).is_some_and(|v| !v.is_empty()) => panic!(
            "the PostgreSQL half of {test} cannot run: {TEST_DATABASE_ENV} is not set, \
             and {CI_ENV} is, where no half may be skipped; set {TEST_DATABASE_ENV} to a \
             PostgreSQL server's URL, e.g. postgres://postgres@127.0.0.1:5432/test"
        ),
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

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::{CI_ENV, TEST_DATABASE_ENV};

    /// Runs [`postgres_half`] in a child test process without the database
    /// URL, with `CI` as given; returns whether it passed and what it printed.
    fn run_postgres_half(ci: Option<&str>) -> (bool, String) {
        let mut child = Command::new(std::env::current_exe().unwrap());
        child
            .args([
                "--exact",
                "testing::tests::postgres_half",
                "--ignored",
                "--nocapture",
            ])
            .env_remove(TEST_DATABASE_ENV);
        match ci {
            Some(v) => child.env(CI_ENV, v),
            None => child.env_remove(CI_ENV),
        };
        let out = child.output().unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(printed.contains("postgres_half"), "{printed}");
        (out.status.success(), printed)
    }

    #[test]
    fn a_missing_database_skips_outside_ci_and_fails_in_ci() {
        let (passed, printed) = run_postgres_half(None);
        assert!(passed, "{printed}");
        assert!(
            printed.contains("SKIPPED (PostgreSQL half of postgres_half)"),
            "{printed}"
        );
        let (passed, printed) = run_postgres_half(Some(""));
        assert!(passed, "an empty CI is no CI: {printed}");
        let (passed, printed) = run_postgres_half(Some("true"));
        assert!(!passed, "{printed}");
        assert!(
            printed.contains("the PostgreSQL half of postgres_half cannot run"),
            "{printed}"
        );
    }

    /// A test with a PostgreSQL half, run only by the test above.
    #[test]
    #[ignore = "run in a child process by a_missing_database_skips_outside_ci_and_fails_in_ci"]
    fn postgres_half() {
        let _ = super::postgres_url("postgres_half");
    }
}

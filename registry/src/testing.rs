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

/// The store's writers, each by the table whose writes fail when a fault is
/// injected on it with [`Faults`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// Leaf appends: every append moves `log_meta.size`.
    Leaves,
    /// The integrator's tree nodes.
    TreeNodes,
    /// The integrator's signed checkpoints.
    Checkpoints,
    /// Quota counts (a batch's decisions and the write-back of spent calls).
    QuotaCounts,
    /// Quota reservations.
    QuotaLeases,
    /// Node heartbeats.
    Heartbeats,
}

impl Writer {
    /// Every writer.
    pub const ALL: [Writer; 6] = [
        Writer::Leaves,
        Writer::TreeNodes,
        Writer::Checkpoints,
        Writer::QuotaCounts,
        Writer::QuotaLeases,
        Writer::Heartbeats,
    ];

    /// The table whose writes fail.
    pub fn table(self) -> &'static str {
        match self {
            Writer::Leaves => "log_meta",
            Writer::TreeNodes => "log_nodes",
            Writer::Checkpoints => "log_checkpoints",
            Writer::QuotaCounts => "quota_usage",
            Writer::QuotaLeases => "quota_leases",
            Writer::Heartbeats => "nodes",
        }
    }
}

/// Real write failures, injected into a test store from outside the process's
/// connections: triggers on each writer's table that fail every insert, update
/// and delete while the table is named in `test_faults`. On SQLite the trigger
/// raises `ROLLBACK`, which ends the writer's whole transaction the way a full
/// disk (`SQLITE_FULL`) does; on PostgreSQL it raises `disk_full` (53100).
/// The code under test runs unchanged: its statements fail in the database.
#[derive(Debug)]
pub struct Faults {
    conn: sqlx::AnyConnection,
}

impl Faults {
    /// Installs the triggers in the (migrated) store at `url`, every fault off.
    pub async fn install(url: &str) -> Result<Faults, StoreError> {
        use sqlx::Connection as _;
        install_default_drivers();
        let what = "installing fault triggers";
        let mut conn = sqlx::AnyConnection::connect(url)
            .await
            .map_err(StoreError::Connect)?;
        let postgres = !url.starts_with("sqlite:");
        let mut script =
            String::from("CREATE TABLE IF NOT EXISTS test_faults (tbl TEXT PRIMARY KEY);\n");
        if postgres {
            script.push_str(
                "CREATE OR REPLACE FUNCTION test_fault() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN IF EXISTS (SELECT 1 FROM test_faults WHERE tbl = TG_TABLE_NAME) THEN \
                 RAISE EXCEPTION 'injected fault: % is not writable', TG_TABLE_NAME \
                 USING ERRCODE = '53100'; END IF; RETURN COALESCE(NEW, OLD); END $$;\n",
            );
        }
        for writer in Writer::ALL {
            let t = writer.table();
            if postgres {
                script.push_str(&format!(
                    "CREATE TRIGGER test_fault BEFORE INSERT OR UPDATE OR DELETE ON {t} \
                     FOR EACH ROW EXECUTE FUNCTION test_fault();\n"
                ));
            } else {
                for op in ["INSERT", "UPDATE", "DELETE"] {
                    script.push_str(&format!(
                        "CREATE TRIGGER test_fault_{t}_{op} BEFORE {op} ON {t} \
                         WHEN EXISTS (SELECT 1 FROM test_faults WHERE tbl = '{t}') \
                         BEGIN SELECT RAISE(ROLLBACK, 'injected fault: {t} is not writable'); END;\n"
                    ));
                }
            }
        }
        if !postgres {
            sqlx::raw_sql("PRAGMA busy_timeout = 10000")
                .execute(&mut conn)
                .await
                .map_err(StoreError::query(what))?;
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(script))
            .execute(&mut conn)
            .await
            .map_err(StoreError::query(what))?;
        Ok(Faults { conn })
    }

    /// Makes every write of `writer` fail from now on.
    pub async fn fail(&mut self, writer: Writer) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO test_faults (tbl) VALUES ($1) ON CONFLICT (tbl) DO NOTHING")
            .bind(writer.table())
            .execute(&mut self.conn)
            .await
            .map(|_| ())
            .map_err(StoreError::query("injecting a fault"))
    }

    /// Lets `writer` write again.
    pub async fn clear(&mut self, writer: Writer) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM test_faults WHERE tbl = $1")
            .bind(writer.table())
            .execute(&mut self.conn)
            .await
            .map(|_| ())
            .map_err(StoreError::query("clearing a fault"))
    }
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

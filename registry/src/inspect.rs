//! Looking at a store without changing it, for `yrdx config check`: can it be
//! reached, how far is its schema, what registry versions and exchange log
//! does it hold, and is a node name free. Nothing is created, migrated or
//! written: a SQLite file that does not exist yet is reported as such and
//! left alone.

use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::Connection as _;

use crate::error::StoreError;
use crate::store::{Backend, backend_of, column, install_drivers, redact, unreachable};

/// What a store holds, as far as a node about to start cares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreInfo {
    /// Whether the database exists (a SQLite file not yet created does not).
    pub exists: bool,
    /// The latest schema migration applied, 0 if none.
    pub schema: i64,
    /// The latest schema migration this build knows.
    pub schema_known: i64,
    /// How many registry versions it holds.
    pub registry_versions: u64,
    /// The exchange log's origin and hash algorithm, if the log was created.
    pub log: Option<(String, String)>,
    /// How many leaves the exchange log holds.
    pub log_size: u64,
}

/// Whether another process holds node name `node` on the store, as far as
/// the check can tell without taking it for long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeName {
    /// Nobody holds it now.
    Free,
    /// Another process runs a node of that name.
    Taken,
}

/// Looks at the store at `url` without writing to it; `timeout` bounds the
/// connection attempt.
pub async fn inspect(url: &str, timeout: Duration) -> Result<StoreInfo, StoreError> {
    install_drivers();
    let backend = backend_of(url).ok_or_else(|| StoreError::UnsupportedUrl(redact(url)))?;
    let schema_known = crate::store::latest_migration(backend);
    let url = match backend {
        Backend::Sqlite => {
            let path = crate::store::sqlite_file(url);
            if path.as_deref().is_some_and(|p| !p.exists()) {
                return Ok(StoreInfo {
                    schema_known,
                    ..StoreInfo::default()
                });
            }
            match url.split_once('?') {
                Some((base, _)) => format!("{base}?mode=ro"),
                None => format!("{url}?mode=ro"),
            }
        }
        Backend::Postgres => url.to_owned(),
    };
    let mut conn = tokio::time::timeout(timeout, AnyConnection::connect(&url))
        .await
        .map_err(|_| unreachable(&url, "no answer within the timeout"))?
        .map_err(|e| unreachable(&url, &e.to_string()))?;
    let what = "inspecting the store";
    let mut info = StoreInfo {
        exists: true,
        schema_known,
        ..StoreInfo::default()
    };
    let has = |table: &'static str| {
        let sql = match backend {
            Backend::Sqlite => {
                "SELECT CAST(COUNT(*) AS BIGINT) FROM sqlite_master WHERE type = 'table' AND name = $1"
            }
            Backend::Postgres => {
                "SELECT CAST(COUNT(*) AS BIGINT) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
            }
        };
        sqlx::query(sql).bind(table)
    };
    let count = |row: sqlx::any::AnyRow| -> Result<i64, StoreError> { column(&row, 0, what) };
    let exists = |n: i64| n > 0;
    if exists(count(
        has("_sqlx_migrations")
            .fetch_one(&mut conn)
            .await
            .map_err(StoreError::query(what))?,
    )?) {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM _sqlx_migrations WHERE success",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(StoreError::query(what))?;
        info.schema = column(&row, 0, what)?;
    }
    if info.schema > 0 {
        let row = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) FROM registry_versions")
            .fetch_one(&mut conn)
            .await
            .map_err(StoreError::query(what))?;
        info.registry_versions = u64::try_from(column::<i64>(&row, 0, what)?).unwrap_or(0);
        if let Some(row) = sqlx::query("SELECT origin, hash_alg, size FROM log_meta WHERE id = 1")
            .fetch_optional(&mut conn)
            .await
            .map_err(StoreError::query(what))?
        {
            info.log = Some((column(&row, 0, what)?, column(&row, 1, what)?));
            info.log_size = u64::try_from(column::<i64>(&row, 2, what)?).unwrap_or(0);
        }
    }
    let _ = conn.close().await;
    Ok(info)
}

/// Whether node name `node` is held on the store at `url` by a running node.
/// On SQLite this looks at the lock file next to the database (taking and
/// dropping its lock at once); on PostgreSQL it takes and releases the
/// advisory lock on a connection of its own.
pub async fn node_name(url: &str, node: &str, timeout: Duration) -> Result<NodeName, StoreError> {
    install_drivers();
    let backend = backend_of(url).ok_or_else(|| StoreError::UnsupportedUrl(redact(url)))?;
    match backend {
        Backend::Sqlite => {
            let Some(db) = crate::store::sqlite_file(url) else {
                return Ok(NodeName::Free);
            };
            let path = crate::nodes::lock_path(&db, node);
            let Ok(file) = std::fs::File::open(&path) else {
                // No lock file: no node of that name ever ran here.
                return Ok(NodeName::Free);
            };
            Ok(match file.try_lock_shared() {
                Ok(()) => NodeName::Free,
                Err(_) => NodeName::Taken,
            })
        }
        Backend::Postgres => {
            let mut conn = tokio::time::timeout(timeout, AnyConnection::connect(url))
                .await
                .map_err(|_| unreachable(url, "no answer within the timeout"))?
                .map_err(|e| unreachable(url, &e.to_string()))?;
            let what = "checking the node name";
            let taken: bool = sqlx::query(crate::nodes::TRY_CLAIM)
                .bind(node)
                .fetch_one(&mut conn)
                .await
                .and_then(|row| sqlx::Row::try_get::<bool, _>(&row, 0))
                .map_err(StoreError::query(what))?;
            // Closing the session releases the lock if it was taken.
            let _ = conn.close().await;
            Ok(if taken {
                NodeName::Free
            } else {
                NodeName::Taken
            })
        }
    }
}

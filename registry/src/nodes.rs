//! Node liveness: every gateway node on a store upserts a heartbeat row about
//! once a second. A node whose heartbeat is older than the liveness window
//! counts as gone. On PostgreSQL the heartbeat and the window use the
//! database's clock, so the nodes' clocks may disagree; on SQLite (one
//! machine) the caller's clock is used, and the rows go through connections
//! that do not fsync each commit: a heartbeat lost to a crash is worth nothing
//! anyway.

use crate::error::StoreError;
use crate::store::{Backend, Store, column};

/// What a node says about itself in each heartbeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// The node's name (`node` in its configuration).
    pub name: String,
    /// Where its exchange API listens.
    pub exchange_addr: String,
    /// Where its admin API listens.
    pub admin_addr: String,
    /// When it started, Unix milliseconds (its own clock).
    pub started_ms: i64,
    /// The registry version it runs.
    pub registry_version: i64,
    /// Whether it integrates the exchange log now.
    pub integrator: bool,
}

/// A node's row as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NodeRow {
    /// The node's name.
    pub name: String,
    /// Where its exchange API listens.
    pub exchange_addr: String,
    /// Where its admin API listens.
    pub admin_addr: String,
    /// When it started, Unix milliseconds.
    pub started_ms: i64,
    /// Its last heartbeat, Unix milliseconds (the database's clock on PostgreSQL).
    pub heartbeat_ms: i64,
    /// The registry version it ran at its last heartbeat.
    pub registry_version: i64,
    /// Whether it integrated the exchange log at its last heartbeat.
    pub integrator: bool,
    /// Whether its heartbeat is within the liveness window.
    pub live: bool,
}

impl Store {
    /// The store's clock as a SQL expression in milliseconds: PostgreSQL's
    /// `clock_timestamp()`, or the bound parameter `$n` on SQLite.
    pub(crate) fn now_sql(&self, n: usize) -> String {
        match self.backend() {
            Backend::Postgres => {
                "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)".into()
            }
            Backend::Sqlite => format!("${n}"),
        }
    }

    /// Records a heartbeat of `node` and returns how many nodes are live:
    /// those whose heartbeat is at most `window_ms` old, this one included.
    /// `now_ms` is used on SQLite only.
    pub async fn heartbeat(
        &self,
        node: &Heartbeat,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<u32, StoreError> {
        let what = "recording a node heartbeat";
        let sql = format!(
            "INSERT INTO nodes (name, exchange_addr, admin_addr, started_ms, heartbeat_ms, registry_version, integrator) \
             VALUES ($1, $2, $3, $4, {now}, $5, $6) \
             ON CONFLICT (name) DO UPDATE SET exchange_addr = excluded.exchange_addr, \
             admin_addr = excluded.admin_addr, started_ms = excluded.started_ms, \
             heartbeat_ms = excluded.heartbeat_ms, registry_version = excluded.registry_version, \
             integrator = excluded.integrator",
            now = self.now_sql(7)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(node.name.clone())
            .bind(node.exchange_addr.clone())
            .bind(node.admin_addr.clone())
            .bind(node.started_ms)
            .bind(node.registry_version)
            .bind(i64::from(node.integrator));
        if self.backend() == Backend::Sqlite {
            q = q.bind(now_ms);
        }
        q.execute(self.usage_pool())
            .await
            .map_err(StoreError::query(what))?;
        Ok(self
            .nodes(window_ms, now_ms)
            .await?
            .iter()
            .filter(|n| n.live)
            .count()
            .try_into()
            .unwrap_or(u32::MAX))
    }

    /// Every node that ever sent a heartbeat, by name, with whether it is
    /// live (heartbeat at most `window_ms` old). `now_ms` is used on SQLite only.
    pub async fn nodes(&self, window_ms: i64, now_ms: i64) -> Result<Vec<NodeRow>, StoreError> {
        let what = "listing gateway nodes";
        let sql = format!(
            "SELECT name, exchange_addr, admin_addr, started_ms, heartbeat_ms, registry_version, integrator, \
             CAST(CASE WHEN heartbeat_ms >= {now} - $1 THEN 1 ELSE 0 END AS BIGINT) \
             FROM nodes ORDER BY name",
            now = self.now_sql(2)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(window_ms);
        if self.backend() == Backend::Sqlite {
            q = q.bind(now_ms);
        }
        let rows = q
            .fetch_all(self.usage_pool())
            .await
            .map_err(StoreError::query(what))?;
        rows.iter()
            .map(|row| {
                let integrator: i64 = column(row, 6, what)?;
                let live: i64 = column(row, 7, what)?;
                Ok(NodeRow {
                    name: column(row, 0, what)?,
                    exchange_addr: column(row, 1, what)?,
                    admin_addr: column(row, 2, what)?,
                    started_ms: column(row, 3, what)?,
                    heartbeat_ms: column(row, 4, what)?,
                    registry_version: column(row, 5, what)?,
                    integrator: integrator != 0,
                    live: live != 0,
                })
            })
            .collect()
    }

    /// Removes `name`'s row, at a graceful shutdown, so the other nodes
    /// count it gone at their next heartbeat rather than after the window.
    pub async fn leave(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM nodes WHERE name = $1")
            .bind(name)
            .execute(self.usage_pool())
            .await
            .map(|_| ())
            .map_err(StoreError::query("removing a node's heartbeat"))
    }
}

/// A node name held by this process for as long as the value lives, so that
/// no second process runs a node of the same name on the same store: on
/// SQLite an OS lock on a file next to the database
/// (`DATABASE.node-NAME.lock`), on PostgreSQL a session advisory lock on a
/// connection of its own. Both go when the process dies, however it dies.
#[derive(Debug)]
pub struct NodeClaim {
    // Held only to be dropped: closing the file or the session releases it.
    _file: Option<std::fs::File>,
    session: Option<sqlx::AnyConnection>,
}

impl NodeClaim {
    /// Lets the name go (the PostgreSQL session is closed politely).
    pub async fn release(self) {
        if let Some(conn) = self.session {
            let _ = sqlx::Connection::close(conn).await;
        }
    }
}

/// The lock file of node `name` next to the SQLite database `db`; characters
/// other than letters, digits, `-`, `_` and `.` become `_`.
pub(crate) fn lock_path(db: &std::path::Path, name: &str) -> std::path::PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut file = db.as_os_str().to_owned();
    file.push(format!(".node-{safe}.lock"));
    file.into()
}

/// Takes the advisory lock of node name `$1` if free: its key is the first
/// 64 bits of MD5("yrdx node NAME"), apart from the integrator's key.
pub(crate) const TRY_CLAIM: &str =
    "SELECT pg_try_advisory_lock(('x' || substr(md5('yrdx node ' || $1), 1, 16))::bit(64)::bigint)";

impl Store {
    /// Claims the node name `name` on this store for this process, or says
    /// which other process holds it. Take it before the node writes anything.
    pub async fn claim_node(&self, name: &str) -> Result<NodeClaim, StoreError> {
        match self.backend() {
            Backend::Sqlite => {
                let Some(db) = self.sqlite_path() else {
                    // An in-memory database belongs to this process alone.
                    return Ok(NodeClaim {
                        _file: None,
                        session: None,
                    });
                };
                let path = lock_path(db, name);
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(|e| StoreError::Connect(sqlx::Error::Io(e)))?;
                match file.try_lock() {
                    Ok(()) => Ok(NodeClaim {
                        _file: Some(file),
                        session: None,
                    }),
                    Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::NodeTaken {
                        node: name.to_owned(),
                        how: format!("another process holds the lock {}", path.display()),
                    }),
                    Err(std::fs::TryLockError::Error(e)) => {
                        Err(StoreError::Connect(sqlx::Error::Io(e)))
                    }
                }
            }
            Backend::Postgres => {
                let what = "claiming the node name";
                let mut conn = self
                    .pool()
                    .acquire()
                    .await
                    .map_err(StoreError::query(what))?
                    .detach();
                let taken: bool = sqlx::query(TRY_CLAIM)
                    .bind(name)
                    .fetch_one(&mut conn)
                    .await
                    .and_then(|row| sqlx::Row::try_get::<bool, _>(&row, 0))
                    .map_err(StoreError::query(what))?;
                if taken {
                    Ok(NodeClaim {
                        _file: None,
                        session: Some(conn),
                    })
                } else {
                    let _ = sqlx::Connection::close(conn).await;
                    Err(StoreError::NodeTaken {
                        node: name.to_owned(),
                        how: "another session holds its PostgreSQL advisory lock".into(),
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a panic is a failing test")]
    use super::*;
    use crate::store::StoreOptions;

    fn beat(name: &str) -> Heartbeat {
        Heartbeat {
            name: name.into(),
            exchange_addr: "127.0.0.1:8443".into(),
            admin_addr: "127.0.0.1:9443".into(),
            started_ms: 1,
            registry_version: 3,
            integrator: name == "a",
        }
    }

    async fn check(store: &Store) {
        let now = 1_000_000_000_000_i64;
        let real_now = crate::now_ms();
        let now = if store.backend() == Backend::Postgres {
            real_now
        } else {
            now
        };
        assert_eq!(store.heartbeat(&beat("a"), 3000, now).await.unwrap(), 1);
        assert_eq!(store.heartbeat(&beat("b"), 3000, now).await.unwrap(), 2);
        assert_eq!(store.heartbeat(&beat("a"), 3000, now).await.unwrap(), 2);
        let nodes = store.nodes(3000, now).await.unwrap();
        assert_eq!(nodes.len(), 2);
        assert!(nodes.iter().all(|n| n.live && n.registry_version == 3));
        assert!(nodes.iter().any(|n| n.name == "a" && n.integrator));
        // Past the window, nobody is live.
        let later = now + 60_000;
        if store.backend() == Backend::Sqlite {
            assert_eq!(
                store
                    .nodes(3000, later)
                    .await
                    .unwrap()
                    .iter()
                    .filter(|n| n.live)
                    .count(),
                0
            );
        }
        store.leave("b").await.unwrap();
        assert_eq!(store.nodes(3000, now).await.unwrap().len(), 1);
    }

    /// A node name is held by one claim at a time, on either backend, and
    /// free again once that claim goes.
    async fn check_claim(store: &Store, other: &Store) {
        let name = format!("gw claim {}", crate::now_ms());
        let first = store.claim_node(&name).await.unwrap();
        let second = other.claim_node(&name).await.unwrap_err();
        assert!(
            matches!(second, StoreError::NodeTaken { ref node, .. } if *node == name),
            "{second}"
        );
        assert!(second.to_string().contains("`node` name"), "{second}");
        // Another name is free meanwhile.
        other.claim_node("another").await.unwrap().release().await;
        first.release().await;
        other.claim_node(&name).await.unwrap().release().await;
    }

    #[tokio::test]
    async fn heartbeats_count_live_nodes() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("n.db").display());
        let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
        check(&store).await;
        if let Some(server) = crate::testing::postgres_url("heartbeats_count_live_nodes") {
            let url = crate::testing::fresh_postgres(&server, "nodes")
                .await
                .unwrap();
            let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
            check(&store).await;
        }
    }

    #[tokio::test]
    async fn a_node_name_is_claimed_by_one_process_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("claim.db").display());
        let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
        let other = Store::open(&url, &StoreOptions::default()).await.unwrap();
        check_claim(&store, &other).await;
        if let Some(server) = crate::testing::postgres_url("a_node_name_is_claimed") {
            let url = crate::testing::fresh_postgres(&server, "claim")
                .await
                .unwrap();
            let store = Store::open(&url, &StoreOptions::default()).await.unwrap();
            let other = Store::open(&url, &StoreOptions::default()).await.unwrap();
            check_claim(&store, &other).await;
        }
    }
}

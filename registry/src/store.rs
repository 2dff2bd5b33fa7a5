//! The store: one schema on two backends through sqlx's `Any` driver. SQL that
//! both dialects accept is written once; where they differ (connection set-up,
//! column types in migrations) the [`Backend`] decides.

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow, install_default_drivers};
use sqlx::pool::PoolConnection;
use sqlx::{AnyPool, Connection, Row};

use crate::error::{RegistryError, StoreError};
use crate::model::RegistryData;

/// Which database is behind the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite: WAL, `synchronous=FULL`.
    Sqlite,
    /// PostgreSQL, for several gateway nodes.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// Bound placeholders numbered from `first`, `width` to a group and
    /// `groups` groups, comma-separated; each group in parentheses when
    /// `width > 1`: `($1, $2), ($3, $4)` on PostgreSQL. SQLite gets anonymous
    /// `?`, bound in order: sqlx looks each numbered one up by name, and SQLite
    /// finds a name by scanning all of a statement's, so binding n numbered
    /// placeholders costs n² (3 % of a busy node's CPU for the tree's inserts).
    /// Only for statements whose placeholders are bound in the order written.
    pub(crate) fn placeholders(self, first: usize, width: usize, groups: usize) -> String {
        use std::fmt::Write as _;
        let mut sql = String::with_capacity(groups * width * 6);
        for g in 0..groups {
            if g > 0 {
                sql.push_str(", ");
            }
            if width > 1 {
                sql.push('(');
            }
            for i in 0..width {
                if i > 0 {
                    sql.push_str(", ");
                }
                match self {
                    Backend::Sqlite => sql.push('?'),
                    // Writing to a String cannot fail.
                    Backend::Postgres => {
                        let _ = write!(sql, "${}", first + g * width + i);
                    }
                }
            }
            if width > 1 {
                sql.push(')');
            }
        }
        sql
    }
}

/// Connection pool settings.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long a caller waits for a connection before the store counts as down.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// A connected, migrated store.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    /// Connections for node heartbeats. On SQLite these commit with
    /// `synchronous=NORMAL`: a heartbeat is not worth an fsync of its own, and
    /// one lost to a crash is worth nothing anyway; on PostgreSQL it is the
    /// same pool.
    usage_pool: AnyPool,
    backend: Backend,
    /// On SQLite, this process's writers queue here for its one writing
    /// connection. Queueing in the process rather than in SQLite's busy
    /// handler (which waits by sleeping: 1 ms, then 2, 5, 10…) is what keeps
    /// writes cheap under load, and one connection for every write keeps its
    /// page cache valid from one transaction to the next: a pool's
    /// connections taking turns would each re-read what the others changed.
    /// Writers in other processes still meet the busy handler.
    write_gate: Arc<tokio::sync::Mutex<Option<PoolConnection<sqlx::Any>>>>,
    /// On SQLite, the latest failure of the WAL checkpointing task, while its
    /// rounds fail: `None` once one succeeds, and always on PostgreSQL.
    wal_failing: Arc<std::sync::Mutex<Option<String>>>,
    /// The SQLite database file; None on PostgreSQL and for in-memory SQLite.
    sqlite_path: Option<Arc<std::path::Path>>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Registers the database drivers (once; later calls do nothing).
pub(crate) fn install_drivers() {
    install_default_drivers();
}

/// The latest schema migration this build applies on `backend`.
pub(crate) fn latest_migration(backend: Backend) -> i64 {
    let migrator = match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    };
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The database file a `sqlite:` URL names; None for an in-memory database.
pub(crate) fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| path.into())
}

/// Where a store URL points, for an error a person can act on: `HOST:PORT`
/// (PostgreSQL's port 5432 when none is given) or the SQLite file.
pub(crate) fn target(url: &str) -> String {
    if let Some(file) = sqlite_file(url) {
        return file.display().to_string();
    }
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = if host.is_empty() { "localhost" } else { host };
    if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// The store at `url` cannot be reached, because of `cause`.
pub(crate) fn unreachable(url: &str, cause: &str) -> StoreError {
    StoreError::Unreachable {
        target: target(url),
        cause: cause.to_owned(),
    }
}

/// The backend a URL names, if yrdx supports it.
pub fn backend_of(url: &str) -> Option<Backend> {
    if url.starts_with("sqlite:") {
        Some(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else {
        None
    }
}

/// A URL with any password replaced, for logs and errors.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = url.get(scheme + 3..at).unwrap_or_default();
            match userinfo.split_once(':') {
                Some((user, _)) => format!(
                    "{}{user}:***{}",
                    url.get(..scheme + 3).unwrap_or_default(),
                    url.get(at..).unwrap_or_default()
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Store {
    /// Connects and brings the schema up to date. A SQLite URL (`sqlite:PATH`) is
    /// created if missing.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend = backend_of(url).ok_or_else(|| StoreError::UnsupportedUrl(redact(url)))?;
        let mut sqlite_path = None;
        if backend == Backend::Sqlite {
            sqlite_path = sqlite_file(url).map(Arc::from);
            let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
            let path = path.split('?').next().unwrap_or_default();
            if let Some(parent) = std::path::Path::new(path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent)
                    .map_err(|e| StoreError::Connect(sqlx::Error::Io(e)))?;
            }
        }
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_owned(),
        };
        let pool = match connect(&url, backend, options, "FULL").await {
            Err(StoreError::Unreachable { target, cause }) if cause.is_empty() => {
                let attempt = tokio::time::timeout(
                    options.acquire_timeout,
                    sqlx::AnyConnection::connect(&url),
                )
                .await;
                let cause = match attempt {
                    Ok(Err(e)) => e.to_string(),
                    Ok(Ok(conn)) => {
                        let _ = conn.close().await;
                        "the pool timed out though a direct connection succeeded".into()
                    }
                    Err(_) => format!(
                        "no answer within {} ms (store.acquire_timeout_ms)",
                        options.acquire_timeout.as_millis()
                    ),
                };
                return Err(StoreError::Unreachable { target, cause });
            }
            other => other?,
        };
        let usage_pool = match backend {
            Backend::Sqlite => connect(&url, backend, options, "NORMAL").await?,
            Backend::Postgres => pool.clone(),
        };
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.map_err(StoreError::Migrate)?;
        let store = Store {
            pool,
            usage_pool,
            backend,
            write_gate: Arc::default(),
            wal_failing: Arc::default(),
            sqlite_path,
        };
        if backend == Backend::Sqlite {
            tokio::spawn(checkpoint_wal(
                store.pool.clone(),
                Arc::downgrade(&store.write_gate),
                store.wal_failing.clone(),
            ));
        }
        Ok(store)
    }

    /// Connects to an existing store to read it, without creating,
    /// migrating or writing anything (a SQLite database is opened read-only);
    /// for checks such as `yrdx config check`. Look at it with
    /// [`crate::inspect`] first: this assumes the schema is current.
    pub async fn open_read_only(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend = backend_of(url).ok_or_else(|| StoreError::UnsupportedUrl(redact(url)))?;
        let url = match (backend, url.split_once('?')) {
            (Backend::Sqlite, Some((base, _))) => format!("{base}?mode=ro"),
            (Backend::Sqlite, None) => format!("{url}?mode=ro"),
            (Backend::Postgres, _) => url.to_owned(),
        };
        let pool = connect(&url, backend, options, "FULL").await?;
        Ok(Store {
            usage_pool: pool.clone(),
            pool,
            backend,
            write_gate: Arc::default(),
            wal_failing: Arc::default(),
            sqlite_path: None,
        })
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite database file, if the store is one.
    pub(crate) fn sqlite_path(&self) -> Option<&std::path::Path> {
        self.sqlite_path.as_deref()
    }

    /// The connection pool, for the modules of this crate.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool for heartbeats.
    pub(crate) fn usage_pool(&self) -> &AnyPool {
        &self.usage_pool
    }

    /// Waits for this process's turn to write: on SQLite, for the writing
    /// connection; on PostgreSQL there is no turn to wait for, row locks
    /// suffice and writers to different rows go in parallel. Begin the
    /// transaction with [`Writer::begin`].
    pub(crate) async fn writer(&self) -> Writer<'_> {
        match self.backend {
            Backend::Sqlite => Writer::Sqlite(&self.pool, self.write_gate.lock().await),
            Backend::Postgres => Writer::Postgres(&self.pool),
        }
    }

    /// On SQLite, why the write-ahead log cannot be copied into the database
    /// file, while its checkpointing fails. The database file then cannot
    /// grow (a full disk fails this first), and the write-ahead log grows
    /// with every commit until writes fail too; a write that rewrites pages
    /// the file already has can still succeed meanwhile.
    pub(crate) fn wal_failing(&self) -> Option<String> {
        self.wal_failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the store answers now.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(StoreError::query("checking the store is reachable"))
    }

    /// Closes every connection.
    pub async fn close(&self) {
        // The writing connection goes back first: closing waits for every
        // connection to come back.
        drop(self.write_gate.lock().await.take());
        self.pool.close().await;
        self.usage_pool.close().await;
    }

    /// Stores `data` as a new registry version in force from `effective_ms`,
    /// unless the latest version holds the same content with the same effective
    /// time. Returns the version and whether it is new. The import is one
    /// transaction: a failure leaves no partial version.
    pub async fn import_registry(
        &self,
        data: &RegistryData,
        source: &str,
        now_ms: i64,
        effective_ms: i64,
    ) -> Result<(i64, bool), RegistryError> {
        let members = canonical(&data.members)?;
        let catalogue = canonical(&data.catalogue)?;
        let list = canonical(&data.list)?;
        let hash = yrdx_signing::hex(&yrdx_signing::sha256(
            format!("{members}\n{catalogue}\n{list}").as_bytes(),
        ));
        let mut writer = self.writer().await;
        let mut tx = writer
            .begin()
            .await
            .map_err(StoreError::query("starting a registry import"))?;
        let latest = sqlx::query("SELECT version, content_hash, effective_ms FROM registry_versions ORDER BY version DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::query("reading the latest registry version"))?;
        let next = match latest {
            Some(row) => {
                let version: i64 = column(&row, 0, "reading the latest registry version")?;
                let stored: String = column(&row, 1, "reading the latest registry version")?;
                let effective: i64 = column(&row, 2, "reading the latest registry version")?;
                if stored == hash && effective <= effective_ms {
                    return Ok((version, false));
                }
                version + 1
            }
            None => 1,
        };
        sqlx::query("INSERT INTO registry_versions (version, content_hash, created_ms, effective_ms, source) VALUES ($1, $2, $3, $4, $5)")
            .bind(next)
            .bind(&hash)
            .bind(now_ms)
            .bind(effective_ms)
            .bind(source)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("recording a registry version"))?;
        for (kind, body) in [
            ("members", &members),
            ("catalogue", &catalogue),
            ("list", &list),
        ] {
            sqlx::query("INSERT INTO registry_documents (version, kind, body) VALUES ($1, $2, $3)")
                .bind(next)
                .bind(kind)
                .bind(body)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query("storing a registry document"))?;
        }
        tx.commit()
            .await
            .map_err(StoreError::query("committing a registry import"))?;
        Ok((next, true))
    }

    /// Every registry version, oldest first.
    pub async fn registry_versions(&self) -> Result<Vec<RegistryVersion>, StoreError> {
        let rows = sqlx::query("SELECT version, content_hash, created_ms, effective_ms, source FROM registry_versions ORDER BY version")
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query("listing registry versions"))?;
        rows.into_iter()
            .map(|row| {
                Ok(RegistryVersion {
                    version: column(&row, 0, "listing registry versions")?,
                    content_hash: column(&row, 1, "listing registry versions")?,
                    created_ms: column(&row, 2, "listing registry versions")?,
                    effective_ms: column(&row, 3, "listing registry versions")?,
                    source: column(&row, 4, "listing registry versions")?,
                })
            })
            .collect()
    }

    /// The number of the version in force at `now_ms`: the newest whose
    /// effective time has come.
    pub async fn registry_version_at(&self, now_ms: i64) -> Result<Option<i64>, StoreError> {
        sqlx::query("SELECT version FROM registry_versions WHERE effective_ms <= $1 ORDER BY version DESC LIMIT 1")
            .bind(now_ms)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query("reading the registry version in force"))?
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(StoreError::query("reading the registry version in force"))
    }

    /// The version in force at `now_ms` and its data.
    pub async fn registry_at(&self, now_ms: i64) -> Result<(i64, RegistryData), RegistryError> {
        let version = self
            .registry_version_at(now_ms)
            .await?
            .ok_or(RegistryError::Empty)?;
        Ok((version, self.registry_version(version).await?))
    }

    /// The data of one registry version.
    pub async fn registry_version(&self, version: i64) -> Result<RegistryData, RegistryError> {
        let rows = sqlx::query("SELECT kind, body FROM registry_documents WHERE version = $1")
            .bind(version)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query("reading registry documents"))?;
        if rows.is_empty() {
            return Err(RegistryError::NoSuchVersion(version));
        }
        let mut data = RegistryData::default();
        for row in rows {
            let kind: String = column(&row, 0, "reading registry documents")?;
            let body: String = column(&row, 1, "reading registry documents")?;
            let corrupt = |e: serde_json::Error| {
                StoreError::Corrupt(format!("registry version {version} {kind}: {e}"))
            };
            match kind.as_str() {
                "members" => data.members = serde_json::from_str(&body).map_err(corrupt)?,
                "catalogue" => data.catalogue = serde_json::from_str(&body).map_err(corrupt)?,
                "list" => data.list = serde_json::from_str(&body).map_err(corrupt)?,
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "registry version {version}: unknown document `{other}`"
                    ))
                    .into());
                }
            }
        }
        Ok(data)
    }
}

/// One imported registry version.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RegistryVersion {
    /// The version number, from 1.
    pub version: i64,
    /// SHA-256 of its canonical documents.
    pub content_hash: String,
    /// When it was imported (Unix milliseconds).
    pub created_ms: i64,
    /// When it takes effect (Unix milliseconds).
    pub effective_ms: i64,
    /// The files it came from.
    pub source: String,
}

async fn connect(
    url: &str,
    backend: Backend,
    options: &StoreOptions,
    synchronous: &'static str,
) -> Result<AnyPool, StoreError> {
    AnyPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers run beside the writer; FULL makes every
                    // commit of a log batch durable before it is acknowledged.
                    let pragmas = format!(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; \
                         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                         PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864;"
                    );
                    sqlx::raw_sql(sqlx::AssertSqlSafe(pragmas))
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .map_err(|e| match e {
            // The pool says only that it gave up: one direct attempt says why.
            sqlx::Error::PoolTimedOut => StoreError::Unreachable {
                target: target(url),
                cause: String::new(),
            },
            e => unreachable(url, &e.to_string()),
        })
}

/// Column `i` of `row`, decoded; should that fail, the error says `what` was
/// being read.
pub(crate) fn column<'r, T>(row: &'r AnyRow, i: usize, what: &'static str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(i).map_err(StoreError::query(what))
}

fn canonical<T: serde::Serialize>(value: &T) -> Result<String, RegistryError> {
    serde_json_canonicalizer::to_string(value).map_err(|e| RegistryError::Inconsistent {
        at: "registry".into(),
        problem: format!("cannot be encoded: {e}"),
    })
}

/// How often SQLite's write-ahead log is copied back into the database.
const WAL_CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Copies SQLite's write-ahead log back into the database file every
/// [`WAL_CHECKPOINT_EVERY`], on a connection of its own, until the store is
/// dropped or closed. Left to SQLite (`wal_autocheckpoint`), the commit that
/// takes the log past 1,000 pages does the copy and its fsync itself, and the
/// exchanges waiting on that commit pay for it.
///
/// Each round is two passive checkpoints, which never wait for readers. The
/// first runs beside the writer and copies the bulk. The second runs in the
/// writer's turn (the write gate), so nothing is appended meanwhile and it
/// copies the little written since; with every frame copied, the next writer
/// starts the log again from its beginning. Without that pause a busy node
/// never finds the log fully copied, and it grows for as long as the load
/// lasts (1.5 GB a minute at 3,000 exchanges a second on the bench), each
/// append extending the file.
async fn checkpoint_wal(
    pool: AnyPool,
    gate: std::sync::Weak<tokio::sync::Mutex<Option<PoolConnection<sqlx::Any>>>>,
    failing: Arc<std::sync::Mutex<Option<String>>>,
) {
    let mut tick = tokio::time::interval(WAL_CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let checkpoint = || sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        let Some(gate) = gate.upgrade() else {
            return;
        };
        let mut result = checkpoint().await.map(|_| ());
        if result.is_ok() {
            let _turn = gate.lock().await;
            result = checkpoint().await.map(|_| ());
        }
        let mut failing = failing.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(()) => {
                if failing.take().is_some() {
                    tracing::info!("SQLite WAL checkpoint succeeds again");
                }
            }
            Err(e) => {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "SQLite WAL checkpoint failed; retrying");
                *failing = Some(format!(
                    "SQLite cannot copy its write-ahead log into the database file: {e}"
                ));
            }
        }
    }
}

/// A turn to write; see [`Store::writer`].
pub(crate) enum Writer<'a> {
    /// SQLite: the process's writing connection, opened at first use.
    Sqlite(
        &'a AnyPool,
        tokio::sync::MutexGuard<'a, Option<PoolConnection<sqlx::Any>>>,
    ),
    /// PostgreSQL: any connection of the pool.
    Postgres(&'a AnyPool),
}

impl Writer<'_> {
    /// Starts a transaction that will write: on SQLite `BEGIN IMMEDIATE`, so it
    /// takes the write lock up front and waits for it (a deferred transaction
    /// that reads first cannot wait: upgrading fails at once if another writer
    /// committed meanwhile); on PostgreSQL a plain `BEGIN`, row locks do the
    /// rest. A transaction dropped without commit rolls back before the
    /// connection's next use.
    pub(crate) async fn begin(&mut self) -> Result<sqlx::Transaction<'_, sqlx::Any>, sqlx::Error> {
        match self {
            Writer::Sqlite(pool, slot) => {
                // An SQLite connection does not break by itself: an I/O
                // error would fail any other connection to the file alike.
                writing_connection(pool, slot)
                    .await?
                    .begin_with("BEGIN IMMEDIATE")
                    .await
            }
            Writer::Postgres(pool) => pool.begin().await,
        }
    }

    /// Runs one statement that commits on its own (SQLite's autocommit, or
    /// PostgreSQL's) and says how many rows it changed.
    pub(crate) async fn execute(
        &mut self,
        query: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<sqlx::any::AnyQueryResult, sqlx::Error> {
        match self {
            Writer::Sqlite(pool, slot) => {
                query
                    .execute(&mut **writing_connection(pool, slot).await?)
                    .await
            }
            Writer::Postgres(pool) => query.execute(*pool).await,
        }
    }

    /// Runs one statement that commits on its own and returns its rows.
    pub(crate) async fn fetch_all(
        &mut self,
        query: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
        match self {
            Writer::Sqlite(pool, slot) => {
                query
                    .fetch_all(&mut **writing_connection(pool, slot).await?)
                    .await
            }
            Writer::Postgres(pool) => query.fetch_all(*pool).await,
        }
    }
}

/// SQLite's writing connection, opened from `pool` at first use, and opened
/// again when the last writer left it inside a transaction.
///
/// A transaction dropped without commit queues its rollback, which the
/// connection's next command runs: a ping. That can fail. A write that fails
/// with a full disk (`SQLITE_FULL`, an I/O error) or a trigger's
/// `RAISE(ROLLBACK)` ends the transaction in SQLite, but sqlx still counts it
/// open; the queued `ROLLBACK` then fails ("no transaction is active") and the
/// count stays at one, so every later `BEGIN IMMEDIATE` on the connection is
/// refused ("attempted to call begin_with at non-zero transaction depth") —
/// every writer of the process stuck until a restart. Such a connection is
/// closed, which ends anything SQLite still holds open, and a fresh one taken.
async fn writing_connection<'s>(
    pool: &AnyPool,
    slot: &'s mut Option<PoolConnection<sqlx::Any>>,
) -> Result<&'s mut PoolConnection<sqlx::Any>, sqlx::Error> {
    if let Some(conn) = slot.as_mut()
        && conn.is_in_transaction()
    {
        let flushed = conn.ping().await;
        if flushed.is_err() || conn.is_in_transaction() {
            tracing::warn!(
                error = flushed.err().map(|e| e.to_string()),
                "SQLite's writing connection was left inside a transaction by a failed \
                 write; opening a new one"
            );
            if let Some(stale) = slot.take()
                && let Err(e) = stale.close().await
            {
                tracing::warn!(error = %e, "closing SQLite's stale writing connection failed");
            }
        }
    }
    if slot.is_none() {
        *slot = Some(pool.acquire().await?);
    }
    slot.as_mut().ok_or(sqlx::Error::PoolClosed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_logs() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/yrdx"),
            "postgres://app:***@db:5432/yrdx"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(redact("sqlite:data/yrdx.db"), "sqlite:data/yrdx.db");
    }

    #[test]
    fn placeholders_are_numbered_on_postgres_and_anonymous_on_sqlite() {
        assert_eq!(
            Backend::Postgres.placeholders(3, 2, 2),
            "($3, $4), ($5, $6)"
        );
        assert_eq!(Backend::Postgres.placeholders(1, 1, 3), "$1, $2, $3");
        assert_eq!(Backend::Sqlite.placeholders(3, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(Backend::Sqlite.placeholders(1, 1, 3), "?, ?, ?");
        assert_eq!(Backend::Sqlite.placeholders(1, 1, 0), "");
    }
}

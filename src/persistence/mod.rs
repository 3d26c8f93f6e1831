//! All SQL of the service: the connection pool, the embedded migrations and the queries.
//!
//! Every query on a sponsor's data takes the caller's [`OrganisationId`] and is scoped by it
//! here, in one place: another organisation's rows are invisible (a 404, never a 403). PostgreSQL
//! enforces the same scope a second time (row-level security, migration 0010): every connection
//! is lent for one [`RowScope`], so a query that forgot its `WHERE` still reads only its caller's rows.

pub mod access;
pub mod assessments;
pub mod charts;
pub mod group_commit;
pub mod jobs;
pub mod model_versions;
pub mod packing;
pub mod programs;
pub mod rate_limits;
pub mod replica;
pub mod result_codec;
pub mod score_counts;
pub mod stats;

use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Postgres};
use uuid::Uuid;

/// The schema migrations in `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The organisation on whose behalf a query runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrganisationId(pub Uuid);

/// Whose rows a lent connection may read and write (migration 0010).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowScope {
    /// A request of this organisation: the connection runs as the application role, which
    /// row-level security restricts to the organisation's rows.
    Organisation(OrganisationId),
    /// The service's own work across organisations (authenticating a key before its organisation
    /// is known, the statistics rollup, housekeeping, claiming jobs, migrations), as the tables'
    /// owner.
    Service,
}

/// Whether the connections go through a transaction-pooling proxy (PgBouncer `pool_mode =
/// transaction`), where a server connection changes between transactions: then every lease is one
/// transaction that sets its scope in its `BEGIN`, and nothing relies on the session. A property
/// of the deployment, set once at start ([`use_transaction_pooling`]), as the pool is.
static TRANSACTION_POOLING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns transaction-pooling mode on for this process (`DATABASE_POOLER=transaction`); call it
/// before making pools.
pub fn use_transaction_pooling(on: bool) {
    TRANSACTION_POOLING.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether this process runs behind a transaction-pooling proxy.
pub fn transaction_pooling() -> bool {
    TRANSACTION_POOLING.load(std::sync::atomic::Ordering::Relaxed)
}

/// The role requests run as (migration 0010).
const APPLICATION_ROLE: &str = "msc_readiness_app";

impl RowScope {
    /// Puts the connection in this scope, in one round trip. Session settings, so they hold for
    /// every statement and transaction of the lease; each lease sets both again. Without the
    /// application role (created by the migration only with CREATEROLE), requests run as the
    /// owner and the queries alone scope them; the service says so at start.
    async fn enter(self, connection: &mut PgConnection) -> Result<(), PersistenceError> {
        match self {
            Self::Organisation(organisation) => {
                sqlx::query(
                    "SELECT set_config('role', coalesce((SELECT rolname::text FROM pg_roles
                       WHERE rolname = $1 AND pg_has_role(oid, 'MEMBER')), 'none'), false),
                     set_config('msc.organisation_id', $2, false)",
                )
                .bind(APPLICATION_ROLE)
                .bind(organisation.0.to_string())
                .execute(connection)
                .await?;
            }
            Self::Service => {
                sqlx::query(
                    "SELECT set_config('role', 'none', false), set_config('msc.organisation_id', '', false)",
                )
                .execute(connection)
                .await?;
            }
        }
        Ok(())
    }
}

impl RowScope {
    /// `BEGIN`, then this scope and the statement timeout for the transaction alone, in one round
    /// trip. (Behind a transaction pooler the connection's startup options do not reach the
    /// server, so the timeout is set here too.)
    fn begin_statement(self) -> String {
        self.begin_statement_with("BEGIN")
    }

    /// [`RowScope::begin_statement`] with another `BEGIN` (an isolation level, read only).
    fn begin_statement_with(self, begin: &str) -> String {
        let (role, organisation) = match self {
            Self::Organisation(organisation) => (
                format!(
                    "coalesce((SELECT rolname::text FROM pg_roles
                       WHERE rolname = '{APPLICATION_ROLE}' AND pg_has_role(oid, 'MEMBER')), 'none')"
                ),
                // A UUID's text is hex digits and hyphens: nothing to quote.
                organisation.0.to_string(),
            ),
            Self::Service => ("'none'".to_owned(), String::new()),
        };
        format!(
            "{begin}; SELECT set_config('role', {role}, true), set_config('msc.organisation_id', '{organisation}', true),
               set_config('statement_timeout', '{STATEMENT_TIMEOUT}', true)"
        )
    }
}

/// A transaction in `scope` on a pooled connection, for work that holds one across calls (a job's
/// batch). Its scope ends with it; the connection goes back to the pool with whatever scope it had,
/// which the next lease sets again.
pub async fn begin(
    pool: &PgPool,
    scope: RowScope,
) -> Result<sqlx::Transaction<'static, Postgres>, PersistenceError> {
    Ok(pool.begin_with(sqlx::AssertSqlSafe(scope.begin_statement())).await?)
}

/// Whether PostgreSQL enforces organisation scopes (the application role exists and the service
/// may take it), for the log at start.
pub async fn row_security_in_force(pool: &PgPool) -> Result<bool, PersistenceError> {
    with_connection(pool, RowScope::Organisation(OrganisationId(Uuid::nil())), async |connection| {
        Ok(sqlx::query_scalar("SELECT current_user = $1")
            .bind(APPLICATION_ROLE)
            .fetch_one(connection)
            .await?)
    })
    .await
}

/// Who makes a change: the organisation it happens in, the API key used (none for the command
/// line) and the request it came with, as the audit trail records them.
#[derive(Clone, Debug)]
pub struct Actor {
    pub organisation: OrganisationId,
    pub key_id: Option<Uuid>,
    pub request_id: Option<String>,
}

/// Errors of the persistence layer.
#[derive(Debug, thiserror::Error)]
pub enum PersistenceError {
    /// The database could not be reached, or did not answer in time.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// Anything else the database reported.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("cannot encode a stored document: {0}")]
    Encoding(String),
    /// A group commit's writer stopped (a bug) before saying whether it stored the submission.
    #[error("the write was not confirmed: the writer of its group stopped")]
    WriterStopped,
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The organisation holds as many active keys as it may.
    #[error(
        "the organisation has {limit} active API keys, the most it may hold (MAX_KEYS_PER_ORGANISATION); revoke one it no longer uses first"
    )]
    KeyLimitReached { limit: u32 },
}

/// SQLSTATE 53100: the database server could not write for lack of disk space.
const DISK_FULL: &str = "53100";

/// When the database server last refused a write for lack of disk space, in milliseconds since
/// the Unix epoch (0: never).
static STORAGE_FULL_AT_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn now_ms() -> u64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// Whether the database server refused a write for lack of disk space within `window`: a full disk
/// lets reads and `SELECT 1` through, so readiness asks this as well.
pub fn storage_full_within(window: Duration) -> bool {
    let at = STORAGE_FULL_AT_MS.load(std::sync::atomic::Ordering::Relaxed);
    at != 0 && now_ms().saturating_sub(at) <= u64::try_from(window.as_millis()).unwrap_or(u64::MAX)
}

impl PersistenceError {
    /// Whether this is the database server's disk being full.
    pub fn is_storage_full(&self) -> bool {
        match self {
            Self::Unavailable(sqlx::Error::Database(error)) => error.code().as_deref() == Some(DISK_FULL),
            _ => false,
        }
    }

    /// Whether the same work may well succeed when done again: the database could not be reached
    /// or was not serving, or it rolled the transaction back for a conflict with another one (a
    /// deadlock, a serialization failure: SQLSTATE class 40). Other errors are the work's own.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Database(sqlx::Error::Database(error)) => {
                error.code().is_some_and(|code| code.starts_with("40"))
            }
            _ => false,
        }
    }
}

impl From<sqlx::Error> for PersistenceError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(database) = &error
            && database.code().as_deref() == Some(DISK_FULL)
        {
            STORAGE_FULL_AT_MS.store(now_ms(), std::sync::atomic::Ordering::Relaxed);
        }
        match error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => Self::Unavailable(error),
            // SQLSTATE classes 08 (connection exception), 53 (insufficient resources: too many
            // connections, disk full) and 57 (operator intervention: shutdown, statement_timeout,
            // query cancelled): the server is not serving, not the request at fault.
            sqlx::Error::Database(ref database)
                if database
                    .code()
                    .is_some_and(|code| ["08", "53", "57"].contains(&code.get(..2).unwrap_or(""))) =>
            {
                Self::Unavailable(error)
            }
            other => Self::Database(other),
        }
    }
}

/// Longest a statement may run on the server.
const STATEMENT_TIMEOUT: &str = "5s";

/// Pool settings taken from the service configuration.
#[derive(Clone, Copy, Debug)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

/// A lazily connecting pool: the service starts (and answers `/readyz` with 503) even while
/// the database is down, and recovers without a restart when it comes back.
pub fn pool(options: PgConnectOptions, settings: PoolSettings) -> PgPool {
    let options = options.application_name("msc-readiness");
    let options = if transaction_pooling() {
        // Named statements would outlive the transaction that prepared them on a server connection
        // another client gets next; the pooler refuses startup options (the timeouts are set per
        // transaction instead, and the pooler bounds idle transactions).
        options.statement_cache_capacity(0)
    } else {
        options.options([
            // Server-side bounds, so a stuck statement or transaction cannot hold a connection forever.
            ("statement_timeout", STATEMENT_TIMEOUT),
            ("idle_in_transaction_session_timeout", "10s"),
        ])
    };
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        // The liveness check (a round trip before every lease of a busy service) only for a
        // connection idle long enough for the server to have gone away unnoticed, as sqlx's own
        // documentation of `before_acquire` shows. A connection that fails its check is closed and
        // another one taken, as with the check on every acquire.
        .test_before_acquire(false)
        .before_acquire(|connection, lent| {
            Box::pin(async move {
                if lent.idle_for >= TESTED_AFTER_IDLE {
                    sqlx::Connection::ping(connection).await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(options)
}

/// How long a pooled connection may have been idle and still be lent without a liveness check.
/// Between two requests of a busy service a connection is idle for milliseconds; a restart of the
/// server takes longer than this, so a connection it cut has waited longer and is checked.
const TESTED_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Runs `operation` on a pooled connection in `scope`. If the caller abandons it midway (the request deadline
/// dropped its future), the connection is closed instead of returned to the pool: its statement may
/// still be running or its reply unread, and sqlx would otherwise hold it until the server answers
/// its release check, which a hung server never does.
pub async fn with_connection<T, E: From<PersistenceError>>(
    pool: &PgPool,
    scope: RowScope,
    operation: impl AsyncFnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, E> {
    // Any failure to get a connection (refused, reset, unknown database, timeout) means the
    // database is unavailable to this request, whatever sqlx calls it.
    let mut lease = Lease(Some(pool.acquire().await.map_err(PersistenceError::Unavailable)?));
    let result = if transaction_pooling() {
        in_one_transaction(lease.connection(), scope, operation).await
    } else {
        scope.enter(lease.connection()).await?;
        operation(lease.connection()).await
    };
    lease.finish();
    result
}

/// A connection kept by one task across consecutive operations (a group-commit writer draining its
/// queue): an operation in the scope the connection already has skips the pool's liveness check
/// and the scope's round trip, leaving one round trip for its statement. Each operation is
/// otherwise what [`with_connection`] makes it: abandoned midway, its connection is closed; after
/// a failure the connection goes back to the pool and the next operation takes a tested one. Kept
/// at most [`KEPT_FOR`], so that the pool's lifetime and health rules still reach it; behind a
/// transaction-pooling proxy nothing is kept (the session is not the client's between
/// transactions).
pub struct KeptConnection {
    pool: PgPool,
    kept: Option<Kept>,
}

struct Kept {
    lease: Lease,
    scope: Option<RowScope>,
    since: Instant,
}

/// How long a [`KeptConnection`] holds one connection before giving it back to the pool.
const KEPT_FOR: Duration = Duration::from_secs(1);

impl KeptConnection {
    pub fn new(pool: PgPool) -> Self {
        Self { pool, kept: None }
    }

    /// Runs `operation` in `scope` on the kept connection, or on one taken from the pool.
    pub async fn run<T, E: From<PersistenceError>>(
        &mut self,
        scope: RowScope,
        operation: impl AsyncFnOnce(&mut PgConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        if transaction_pooling() {
            return with_connection(&self.pool, scope, operation).await;
        }
        let mut kept = match self.kept.take() {
            Some(kept) if kept.since.elapsed() < KEPT_FOR => kept,
            expired => {
                if let Some(expired) = expired {
                    expired.lease.finish();
                }
                Kept {
                    lease: Lease(Some(self.pool.acquire().await.map_err(PersistenceError::Unavailable)?)),
                    // Whatever scope its last lease left: set again below.
                    scope: None,
                    since: Instant::now(),
                }
            }
        };
        if kept.scope != Some(scope) {
            scope.enter(kept.lease.connection()).await?;
            kept.scope = Some(scope);
        }
        let result = operation(kept.lease.connection()).await;
        match result {
            Ok(value) => {
                self.kept = Some(kept);
                Ok(value)
            }
            Err(error) => {
                kept.lease.finish();
                Err(error)
            }
        }
    }
}

impl Drop for KeptConnection {
    fn drop(&mut self) {
        // Between operations the kept connection is idle: it goes back to the pool.
        if let Some(kept) = self.kept.take() {
            kept.lease.finish();
        }
    }
}

/// Runs `operation` in `scope` as one read-only transaction with one snapshot (repeatable read),
/// for reads of several tables that must agree with each other. Abandoned midway, its connection
/// is closed, as with [`with_connection`].
pub async fn with_snapshot<T>(
    pool: &PgPool,
    scope: RowScope,
    operation: impl AsyncFnOnce(&mut PgConnection) -> Result<T, PersistenceError>,
) -> Result<T, PersistenceError> {
    use sqlx::Connection;
    let mut lease = Lease(Some(pool.acquire().await.map_err(PersistenceError::Unavailable)?));
    let begin = scope.begin_statement_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    let result = {
        let mut transaction = lease.connection().begin_with(sqlx::AssertSqlSafe(begin)).await?;
        match operation(&mut transaction).await {
            Ok(value) => transaction.commit().await.map(|()| value).map_err(PersistenceError::from),
            // Read only: rolled back when dropped.
            Err(error) => Err(error),
        }
    };
    lease.finish();
    result
}

/// Runs `operation` as one transaction in `scope` (transaction-pooling mode): committed when it
/// succeeds, rolled back when it fails. Transactions the operation opens are savepoints in it.
async fn in_one_transaction<T, E: From<PersistenceError>>(
    connection: &mut PgConnection,
    scope: RowScope,
    operation: impl AsyncFnOnce(&mut PgConnection) -> Result<T, E>,
) -> Result<T, E> {
    use sqlx::Connection;
    let mut transaction = connection
        .begin_with(sqlx::AssertSqlSafe(scope.begin_statement()))
        .await
        .map_err(PersistenceError::from)?;
    let outcome = operation(&mut transaction).await;
    settle(transaction, outcome).await
}

/// Ends `transaction` as its work turned out: committed after a success, rolled back after a
/// failure (explicitly: a transaction dropped unfinished stays open on the server until its
/// connection's next use, holding its locks).
async fn settle<T, E: From<PersistenceError>>(
    transaction: sqlx::Transaction<'_, Postgres>,
    outcome: Result<T, E>,
) -> Result<T, E> {
    match outcome {
        Ok(value) => {
            transaction.commit().await.map_err(PersistenceError::from)?;
            Ok(value)
        }
        Err(error) => {
            // The work's own error is the one to report; a failed rollback closes the connection.
            let _ = transaction.rollback().await;
            Err(error)
        }
    }
}

/// A connection lent to one operation; see [`with_connection`].
struct Lease(Option<PoolConnection<Postgres>>);

impl Lease {
    fn connection(&mut self) -> &mut PgConnection {
        self.0.as_deref_mut().expect("a lease holds its connection until it is finished or dropped")
    }

    /// The operation completed: the connection goes back to the pool.
    fn finish(mut self) {
        self.0.take();
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(connection) = self.0.take() {
            // Detached, the connection is dropped at once (closing its socket) and the pool may
            // open a replacement.
            drop(connection.detach());
        }
    }
}

/// Creates `database` on the server `admin` connects to, unless it exists. Two instances
/// starting at once may race; the loser's "already exists" is success.
pub async fn ensure_database(admin: PgConnectOptions, database: &str) -> Result<(), PersistenceError> {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect_with(&admin).await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(database)
        .fetch_one(&mut connection)
        .await?;
    if !exists {
        let create = format!("CREATE DATABASE \"{}\"", database.replace('"', "\"\""));
        match sqlx::query(sqlx::AssertSqlSafe(create)).execute(&mut connection).await {
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("42P04") => {}
            other => {
                other?;
            }
        }
    }
    connection.close().await?;
    Ok(())
}

/// Applies the pending migrations, then stores the current model version's document and result
/// dictionary if the database has not got them. sqlx serialises concurrent runs with an advisory
/// lock, and the version is inserted only if absent, so several instances may start at once.
pub async fn migrate(pool: &PgPool) -> Result<(), PersistenceError> {
    with_connection(pool, RowScope::Service, async |connection| {
        Ok::<_, PersistenceError>(MIGRATOR.run(connection).await?)
    })
    .await?;
    model_versions::register_current(pool).await
}

/// Checks that the database answers a trivial query within `timeout`. Any failure, whether the
/// server is down, slow or refusing the service's database, means "not ready".
pub async fn ping(pool: &PgPool, timeout: Duration) -> Result<(), PersistenceError> {
    // Entering the scope is the trivial query.
    let select_one = with_connection(pool, RowScope::Service, async |_| Ok::<_, PersistenceError>(()));
    match tokio::time::timeout(timeout, select_one).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(PersistenceError::Unavailable(error) | PersistenceError::Database(error))) => {
            Err(PersistenceError::Unavailable(error))
        }
        Ok(Err(other)) => Err(other),
        Err(_elapsed) => Err(PersistenceError::Unavailable(sqlx::Error::PoolTimedOut)),
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    /// A database error as PostgreSQL reports it, with only a SQLSTATE.
    #[derive(Debug, thiserror::Error)]
    #[error("SQLSTATE {0}")]
    struct Reported(&'static str);

    impl sqlx::error::DatabaseError for Reported {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    #[test]
    fn a_write_refused_for_lack_of_disk_space_is_remembered_for_readiness() {
        let too_many_connections = PersistenceError::from(sqlx::Error::Database(Box::new(Reported("53300"))));
        assert!(!too_many_connections.is_storage_full());
        assert!(!storage_full_within(Duration::from_secs(30)), "no disk-full error yet");

        let disk_full = PersistenceError::from(sqlx::Error::Database(Box::new(Reported("53100"))));
        assert!(matches!(disk_full, PersistenceError::Unavailable(_)));
        assert!(disk_full.is_storage_full());
        assert!(storage_full_within(Duration::from_secs(30)));
    }
}

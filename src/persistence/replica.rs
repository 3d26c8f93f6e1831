//! Reads that may lag a little (lists, statistics, exports, charts, histories) go to a streaming
//! replica when one is configured (`DATABASE_READ_URL`), while it is up and close enough behind
//! the primary; otherwise, and for every write and every read that must see the caller's own
//! write, to the primary. A replica that fails a read is left at once and the read is answered
//! from the primary: the client sees no error.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::PgPool;

use super::{PersistenceError, RowScope, with_connection};

/// The primary, and the replica with its state as last measured.
#[derive(Clone)]
pub struct ReadPools {
    primary: PgPool,
    replica: Option<Replica>,
}

#[derive(Clone)]
struct Replica {
    pool: PgPool,
    state: Arc<ReplicaState>,
    max_lag: Duration,
}

#[derive(Default)]
struct ReplicaState {
    usable: AtomicBool,
    /// Replay lag behind the primary in microseconds, as last measured; `u64::MAX` when unknown.
    lag_us: AtomicU64,
}

impl ReadPools {
    /// Reads served by the primary alone.
    pub fn primary_only(primary: PgPool) -> Self {
        Self { primary, replica: None }
    }

    /// Reads that may lag served by `replica` while it is within `max_lag` of the primary. It is
    /// not used until [`ReadPools::measure`] has found it so.
    pub fn with_replica(primary: PgPool, replica: PgPool, max_lag: Duration) -> Self {
        let state =
            Arc::new(ReplicaState { usable: AtomicBool::new(false), lag_us: AtomicU64::new(u64::MAX) });
        Self { primary, replica: Some(Replica { pool: replica, state, max_lag }) }
    }

    fn usable_replica(&self) -> Option<&Replica> {
        self.replica.as_ref().filter(|replica| replica.state.usable.load(Ordering::Acquire))
    }

    /// The pool a read that may lag starts on (a streamed export keeps it to the end).
    pub fn pool(&self) -> &PgPool {
        self.usable_replica().map_or(&self.primary, |replica| &replica.pool)
    }

    /// Runs `read` on the replica when it is usable, and again on the primary if the replica
    /// cannot answer (down, or its pool exhausted); on the primary otherwise.
    pub async fn read<T>(
        &self,
        read: impl AsyncFn(&PgPool) -> Result<T, PersistenceError>,
    ) -> Result<T, PersistenceError> {
        if let Some(replica) = self.usable_replica() {
            match read(&replica.pool).await {
                Err(PersistenceError::Unavailable(error)) => {
                    replica.state.usable.store(false, Ordering::Release);
                    tracing::warn!(%error, "the read replica failed a read: reads go to the primary until it is measured again");
                }
                answered => return answered,
            }
        }
        read(&self.primary).await
    }

    /// Like [`ReadPools::read`] for a lookup: what the replica does not find (it may not have
    /// replayed it yet: a program created a moment ago) is looked up on the primary.
    pub async fn find<T>(
        &self,
        read: impl AsyncFn(&PgPool) -> Result<Option<T>, PersistenceError>,
    ) -> Result<Option<T>, PersistenceError> {
        match self.read(&read).await? {
            Some(found) => Ok(Some(found)),
            None if self.usable_replica().is_some() => read(&self.primary).await,
            None => Ok(None),
        }
    }

    /// Whether the primary's pool is closed (the service is stopping).
    pub fn primary_closed(&self) -> bool {
        self.primary.is_closed()
    }

    /// Whether a replica is configured and currently serves reads.
    pub fn replica_in_use(&self) -> Option<bool> {
        self.replica.as_ref().map(|replica| replica.state.usable.load(Ordering::Acquire))
    }

    /// The replica's replay lag as last measured; `None` without a replica or when unknown.
    pub fn replica_lag(&self) -> Option<Duration> {
        let lag = self.replica.as_ref()?.state.lag_us.load(Ordering::Acquire);
        (lag != u64::MAX).then(|| Duration::from_micros(lag))
    }

    /// Measures how far the replica is behind the primary and decides whether it serves reads:
    /// caught up when it has replayed the primary's WAL position read just before; otherwise the
    /// age of the last transaction it replayed. A replica that does not answer within `timeout`
    /// is not used.
    pub async fn measure(&self, timeout: Duration) {
        let Some(replica) = &self.replica else { return };
        let lag = tokio::time::timeout(timeout, replica_lag(&self.primary, &replica.pool)).await;
        let lag = match lag {
            Ok(Ok(lag)) => Some(lag),
            Ok(Err(error)) => {
                tracing::debug!(%error, "the read replica could not be measured");
                None
            }
            Err(_elapsed) => None,
        };
        let usable = lag.is_some_and(|lag| lag <= replica.max_lag);
        let was = replica.state.usable.swap(usable, Ordering::AcqRel);
        replica.state.lag_us.store(
            lag.map_or(u64::MAX, |lag| u64::try_from(lag.as_micros()).unwrap_or(u64::MAX)),
            Ordering::Release,
        );
        if was != usable {
            match lag {
                Some(lag) if usable => {
                    tracing::info!(lag_ms = lag.as_millis(), "the read replica serves reads")
                }
                Some(lag) => tracing::warn!(
                    lag_ms = lag.as_millis(),
                    "the read replica lags too far: reads go to the primary"
                ),
                None => tracing::warn!("the read replica does not answer: reads go to the primary"),
            }
        }
    }
}

async fn replica_lag(primary: &PgPool, replica: &PgPool) -> Result<Duration, PersistenceError> {
    let position: String = with_connection(primary, RowScope::Service, async |connection| {
        Ok::<_, PersistenceError>(
            sqlx::query_scalar("SELECT pg_current_wal_lsn()::text").fetch_one(connection).await?,
        )
    })
    .await?;
    let seconds: f64 = with_connection(replica, RowScope::Service, async |connection| {
        Ok::<_, PersistenceError>(
            sqlx::query_scalar(
                "SELECT CASE
                   WHEN NOT pg_is_in_recovery() THEN 0
                   WHEN pg_last_wal_replay_lsn() >= $1::pg_lsn THEN 0
                   ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 'Infinity')
                 END::float8",
            )
            .bind(&position)
            .fetch_one(connection)
            .await?,
        )
    })
    .await?;
    Ok(Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX))
}

//! Rate-limit buckets kept in PostgreSQL (migration 0012), so that a limit holds across every
//! instance of the service on one database (`RATE_LIMIT_STORE=postgres`).

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use super::{PersistenceError, RowScope, with_connection};

/// What a bucket limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BucketKind {
    Key,
    Organisation,
}

impl BucketKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Key => "key",
            Self::Organisation => "organisation",
        }
    }
}

/// One bucket to take a request from: `interval` refills one request, `tolerance` is the burst
/// allowance as time ((burst - 1) x interval).
#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    pub kind: BucketKind,
    pub id: Uuid,
    pub interval: Duration,
    pub tolerance: Duration,
}

/// A bucket that refused: its index in the buckets asked, and when it would accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub index: usize,
    pub retry_after: Duration,
}

fn microseconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// Takes one request from each bucket in turn, in one round trip; the first that refuses stops
/// the rest (buckets before it have spent their request, as with the in-memory limiter).
pub async fn take_request(pool: &PgPool, buckets: &[Bucket]) -> Result<Option<Refusal>, PersistenceError> {
    let kinds: Vec<&str> = buckets.iter().map(|bucket| bucket.kind.as_str()).collect();
    let ids: Vec<Uuid> = buckets.iter().map(|bucket| bucket.id).collect();
    let intervals: Vec<i64> = buckets.iter().map(|bucket| microseconds(bucket.interval)).collect();
    let tolerances: Vec<i64> = buckets.iter().map(|bucket| microseconds(bucket.tolerance)).collect();
    let refused: Option<(i32, i64)> = with_connection(pool, RowScope::Service, async |connection| {
        Ok::<_, PersistenceError>(
            sqlx::query_as("SELECT refused_by, retry_after_us FROM msc_take_request($1, $2, $3, $4)")
                .bind(&kinds)
                .bind(&ids)
                .bind(&intervals)
                .bind(&tolerances)
                .fetch_optional(connection)
                .await?,
        )
    })
    .await?;
    Ok(refused.map(|(position, retry_after)| Refusal {
        index: usize::try_from(position - 1).unwrap_or(0),
        retry_after: Duration::from_micros(u64::try_from(retry_after).unwrap_or(0)),
    }))
}

/// Forgets buckets that are full again (their arrival time has passed), so the table stays as
/// small as the set of recently active keys and organisations.
pub async fn forget_full_buckets(pool: &PgPool) -> Result<u64, PersistenceError> {
    with_connection(pool, RowScope::Service, async |connection| {
        Ok(sqlx::query("DELETE FROM rate_limit_buckets WHERE tat < clock_timestamp()")
            .execute(connection)
            .await?
            .rows_affected())
    })
    .await
}

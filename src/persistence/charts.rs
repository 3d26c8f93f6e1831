//! What the charts read: a program's scores over time.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{OrganisationId, PersistenceError, RowScope, with_connection};

/// One assessment of a program's trend: when, and its overall index and barrier scores (`None`
/// for a barrier with nothing known).
#[derive(Debug, sqlx::FromRow)]
pub struct TrendPoint {
    pub created_at: DateTime<Utc>,
    pub overall_index: f64,
    pub survival: Option<f64>,
    pub retention: Option<f64>,
    pub variability: Option<f64>,
    pub scalability: Option<f64>,
    pub safety: Option<f64>,
    pub outcomes: Option<f64>,
    pub regulatory: Option<f64>,
}

/// The program's latest `limit` assessments, oldest first (a chart of more would not be read).
pub async fn program_trend(
    pool: &PgPool,
    organisation: OrganisationId,
    program_id: Uuid,
    limit: u32,
) -> Result<Vec<TrendPoint>, PersistenceError> {
    let mut points: Vec<TrendPoint> =
        with_connection(pool, RowScope::Organisation(organisation), async |connection| {
            Ok::<_, PersistenceError>(
                sqlx::query_as(
                    "SELECT created_at, overall_index,
            survival, retention, variability, scalability, safety, outcomes, regulatory
        FROM assessments WHERE organisation_id = $1 AND program_id = $2
        ORDER BY created_at DESC, id DESC LIMIT $3",
                )
                .bind(organisation.0)
                .bind(program_id)
                .bind(i64::from(limit))
                .fetch_all(connection)
                .await?,
            )
        })
        .await?;
    points.reverse();
    Ok(points)
}

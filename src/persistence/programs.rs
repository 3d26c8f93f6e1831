//! Programs: the named development programs whose assessments form a history.

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgPool};
use uuid::Uuid;

use super::access::{self, AuditAction};
use super::assessments::Cursor;
use super::{Actor, OrganisationId, PersistenceError, RowScope, with_connection};

#[derive(Debug, sqlx::FromRow)]
pub struct ProgramRow {
    pub id: Uuid,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub assessment_count: i64,
    pub latest_assessment_at: Option<DateTime<Utc>>,
}

const PROGRAM_COLUMNS: &str = "p.id, p.key, p.name, p.description, p.created_at,
    (SELECT count(*) FROM assessments a WHERE a.organisation_id = p.organisation_id AND a.program_id = p.id) AS assessment_count,
    (SELECT max(a.created_at) FROM assessments a WHERE a.organisation_id = p.organisation_id AND a.program_id = p.id) AS latest_assessment_at";

/// Why a program could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateProgramError {
    #[error("the organisation already has a program with this key")]
    DuplicateKey,
    #[error(transparent)]
    Persistence(#[from] PersistenceError),
}

pub async fn create(
    pool: &PgPool,
    actor: &Actor,
    key: &str,
    name: &str,
    description: Option<&str>,
) -> Result<ProgramRow, CreateProgramError> {
    let organisation = actor.organisation;
    let id = Uuid::now_v7();
    let inserted = with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        let mut transaction = connection.begin().await.map_err(PersistenceError::from)?;
        let inserted = sqlx::query(
            "INSERT INTO programs (id, organisation_id, key, name, description) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (organisation_id, key) DO NOTHING",
        )
        .bind(id)
        .bind(organisation.0)
        .bind(key)
        .bind(name)
        .bind(description)
        .execute(&mut *transaction)
        .await
        .map_err(PersistenceError::from)?;
        if inserted.rows_affected() == 1 {
            access::record(&mut transaction, actor, AuditAction::ProgramCreated, id).await?;
        }
        transaction.commit().await.map_err(PersistenceError::from)?;
        Ok::<_, PersistenceError>(inserted.rows_affected())
    })
    .await?;
    if inserted == 0 {
        return Err(CreateProgramError::DuplicateKey);
    }
    fetch(pool, organisation, id)
        .await?
        .ok_or_else(|| PersistenceError::Encoding("program vanished".into()).into())
}

pub async fn fetch(
    pool: &PgPool,
    organisation: OrganisationId,
    id: Uuid,
) -> Result<Option<ProgramRow>, PersistenceError> {
    let query =
        format!("SELECT {PROGRAM_COLUMNS} FROM programs p WHERE p.id = $1 AND p.organisation_id = $2");
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(query))
            .bind(id)
            .bind(organisation.0)
            .fetch_optional(connection)
            .await?)
    })
    .await
}

/// The organisation's programs, oldest first, one keyset page at a time.
pub async fn list(
    pool: &PgPool,
    organisation: OrganisationId,
    limit: u32,
    after: Option<&Cursor>,
) -> Result<(Vec<ProgramRow>, Option<Cursor>), PersistenceError> {
    let (after_time, after_id) = after.and_then(Cursor::created_position).unzip();
    let query = format!(
        "SELECT {PROGRAM_COLUMNS} FROM programs p WHERE p.organisation_id = $1
         AND ($2::timestamptz IS NULL OR (p.created_at, p.id) > ($2, $3))
         ORDER BY p.created_at, p.id LIMIT $4"
    );
    let mut rows: Vec<ProgramRow> =
        with_connection(pool, RowScope::Organisation(organisation), async |connection| {
            Ok::<_, PersistenceError>(
                sqlx::query_as(sqlx::AssertSqlSafe(query))
                    .bind(organisation.0)
                    .bind(after_time)
                    .bind(after_id)
                    .bind(i64::from(limit) + 1)
                    .fetch_all(connection)
                    .await?,
            )
        })
        .await?;
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|row| Cursor::created(row.created_at, row.id))
    } else {
        None
    };
    Ok((rows, next))
}

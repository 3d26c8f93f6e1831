//! Organisations, API keys and the audit trail.

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgPool};
use uuid::Uuid;

use super::{Actor, OrganisationId, PersistenceError, RowScope, settle, with_connection};
use crate::access::{GeneratedKey, Scope, Scopes};

/// A stored key, as authentication needs it.
#[derive(Debug)]
pub struct KeyCredentials {
    pub organisation: OrganisationId,
    pub secret_hash: Vec<u8>,
    pub scopes: Scopes,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A stored key as its organisation's admins see it (never with its secret).
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub id: Uuid,
    pub name: String,
    pub scopes: Scopes,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
}

/// A key to create.
pub struct NewKey<'a> {
    pub generated: &'a GeneratedKey,
    pub name: &'a str,
    pub scopes: &'a Scopes,
    pub expires_at: Option<DateTime<Utc>>,
}

/// One entry of the audit trail.
#[derive(Debug, sqlx::FromRow)]
pub struct AuditEvent {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub key_id: Option<Uuid>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Uuid,
    pub request_id: Option<String>,
}

/// What was done, as the audit trail records it.
#[derive(Clone, Copy, Debug)]
pub enum AuditAction {
    AssessmentCreated,
    AssessmentRescored,
    AssessmentDeleted,
    ProgramCreated,
    KeyCreated,
    KeyRevoked,
    /// A job (an import, a re-score) was accepted.
    JobStarted,
    /// A job did its last work.
    JobFinished,
    JobCancelled,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AssessmentCreated => "assessment.created",
            Self::AssessmentRescored => "assessment.rescored",
            Self::AssessmentDeleted => "assessment.deleted",
            Self::ProgramCreated => "program.created",
            Self::KeyCreated => "key.created",
            Self::KeyRevoked => "key.revoked",
            Self::JobStarted => "job.started",
            Self::JobFinished => "job.finished",
            Self::JobCancelled => "job.cancelled",
        }
    }

    pub(super) fn resource_type(self) -> &'static str {
        match self {
            Self::AssessmentCreated | Self::AssessmentRescored | Self::AssessmentDeleted => "assessment",
            Self::ProgramCreated => "program",
            Self::KeyCreated | Self::KeyRevoked => "api_key",
            Self::JobStarted | Self::JobFinished | Self::JobCancelled => "job",
        }
    }
}

/// Appends an audit event inside the caller's transaction, so the event exists exactly when
/// the change it records does.
pub(super) async fn record(
    connection: &mut sqlx::PgConnection,
    actor: &Actor,
    action: AuditAction,
    resource_id: Uuid,
) -> Result<(), PersistenceError> {
    sqlx::query(
        "INSERT INTO audit_events (id, organisation_id, key_id, action, resource_type, resource_id, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Uuid::now_v7())
    .bind(actor.organisation.0)
    .bind(actor.key_id)
    .bind(action.as_str())
    .bind(action.resource_type())
    .bind(resource_id)
    .bind(actor.request_id.as_deref())
    .execute(connection)
    .await?;
    Ok(())
}

/// The organisation named `name`, if there is one.
pub async fn organisation_named(
    pool: &PgPool,
    name: &str,
) -> Result<Option<OrganisationId>, PersistenceError> {
    with_connection(pool, RowScope::Service, async |connection| {
        let id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM organisations WHERE name = $1")
            .bind(name)
            .fetch_optional(connection)
            .await?;
        Ok(id.map(OrganisationId))
    })
    .await
}

/// The organisation named `name`, created if it does not exist yet.
pub async fn ensure_organisation(pool: &PgPool, name: &str) -> Result<OrganisationId, PersistenceError> {
    with_connection(pool, RowScope::Service, async |connection| {
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO organisations (id, name) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET name = excluded.name
             RETURNING id",
        )
        .bind(Uuid::now_v7())
        .bind(name)
        .fetch_one(&mut *connection)
        .await?;
        Ok(OrganisationId(id))
    })
    .await
}

fn scopes_from_row(scopes: Vec<String>) -> Result<Scopes, PersistenceError> {
    let parsed = scopes
        .iter()
        .map(|scope| Scope::parse(scope).ok_or_else(|| PersistenceError::Encoding(format!("scope {scope}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Scopes::new(parsed).ok_or_else(|| PersistenceError::Encoding("a key without scopes".into()))
}

fn scopes_to_row(scopes: &Scopes) -> Vec<&'static str> {
    scopes.iter().map(Scope::as_str).collect()
}

/// Stores a new key of the actor's organisation and records it in the audit trail. With
/// `max_active`, refuses it (`KeyLimitReached`) when the organisation already holds that many keys
/// that are neither revoked nor expired.
pub async fn create_key(
    pool: &PgPool,
    actor: &Actor,
    key: NewKey<'_>,
    max_active: Option<u32>,
) -> Result<KeyRecord, PersistenceError> {
    with_connection(pool, RowScope::Organisation(actor.organisation), async |connection| {
        let mut transaction = connection.begin().await?;
        let created = async {
            if let Some(limit) = max_active {
                // The organisation's row is locked so that two creations at once count each other;
                // NO KEY UPDATE leaves the foreign-key checks of the organisation's other inserts free.
                sqlx::query("SELECT 1 FROM organisations WHERE id = $1 FOR NO KEY UPDATE")
                    .bind(actor.organisation.0)
                    .execute(&mut *transaction)
                    .await?;
                let active: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM api_keys
                     WHERE organisation_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
                )
                .bind(actor.organisation.0)
                .fetch_one(&mut *transaction)
                .await?;
                if active >= i64::from(limit) {
                    return Err(PersistenceError::KeyLimitReached { limit });
                }
            }
            let created_at: DateTime<Utc> = sqlx::query_scalar(
                "INSERT INTO api_keys (id, organisation_id, name, secret_hash, scopes, expires_at, created_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 RETURNING created_at",
            )
            .bind(key.generated.id)
            .bind(actor.organisation.0)
            .bind(key.name)
            .bind(key.generated.secret_hash.as_slice())
            .bind(scopes_to_row(key.scopes))
            .bind(key.expires_at)
            .bind(actor.key_id)
            .fetch_one(&mut *transaction)
            .await?;
            record(&mut transaction, actor, AuditAction::KeyCreated, key.generated.id).await?;
            Ok(created_at)
        }
        .await;
        // Ended explicitly on every path (a refusal at the limit included): the organisation's
        // row lock must not outlive the request.
        let created_at = settle(transaction, created).await?;
        Ok(KeyRecord {
            id: key.generated.id,
            name: key.name.to_owned(),
            scopes: key.scopes.clone(),
            created_at,
            expires_at: key.expires_at,
            revoked_at: None,
            created_by: actor.key_id,
        })
    })
    .await
}

#[derive(sqlx::FromRow)]
struct CredentialsRow {
    found: bool,
    organisation_id: Option<Uuid>,
    secret_hash: Vec<u8>,
    scopes: Vec<String>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

/// What authentication needs of a key, whatever its state; `None` if there is no such key.
///
/// An unknown id gets a row of the same shape (stand-in values) and the same decoding as a known
/// one, so the two differ as little as possible in time.
pub async fn credentials(pool: &PgPool, id: Uuid) -> Result<Option<KeyCredentials>, PersistenceError> {
    with_connection(pool, RowScope::Service, async |connection| {
        let row: CredentialsRow = sqlx::query_as(
            "SELECT stored.id IS NOT NULL AS found, stored.organisation_id,
                    coalesce(stored.secret_hash, decode(repeat('00', 32), 'hex')) AS secret_hash,
                    coalesce(stored.scopes, array['read']) AS scopes, stored.expires_at, stored.revoked_at
             FROM (SELECT $1::uuid AS id) AS presented
             LEFT JOIN api_keys AS stored ON stored.id = presented.id",
        )
        .bind(id)
        .fetch_one(&mut *connection)
        .await?;
        let scopes = scopes_from_row(row.scopes)?;
        Ok(row.organisation_id.filter(|_| row.found).map(|organisation| KeyCredentials {
            organisation: OrganisationId(organisation),
            secret_hash: row.secret_hash,
            scopes,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
        }))
    })
    .await
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: Uuid,
    name: String,
    scopes: Vec<String>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    created_by: Option<Uuid>,
}

fn key_record(row: KeyRow) -> Result<KeyRecord, PersistenceError> {
    Ok(KeyRecord {
        id: row.id,
        name: row.name,
        scopes: scopes_from_row(row.scopes)?,
        created_at: row.created_at,
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
        created_by: row.created_by,
    })
}

const KEY_COLUMNS: &str = "id, name, scopes, created_at, expires_at, revoked_at, created_by";

/// The organisation's keys, newest first.
pub async fn list_keys(
    pool: &PgPool,
    organisation: OrganisationId,
) -> Result<Vec<KeyRecord>, PersistenceError> {
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        let query = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE organisation_id = $1 ORDER BY created_at DESC, id DESC"
        );
        let rows: Vec<KeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(query))
            .bind(organisation.0)
            .fetch_all(&mut *connection)
            .await?;
        rows.into_iter().map(key_record).collect()
    })
    .await
}

/// One key of the organisation.
pub async fn fetch_key(
    pool: &PgPool,
    organisation: OrganisationId,
    id: Uuid,
) -> Result<Option<KeyRecord>, PersistenceError> {
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        let query = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1 AND organisation_id = $2");
        let row: Option<KeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(query))
            .bind(id)
            .bind(organisation.0)
            .fetch_optional(&mut *connection)
            .await?;
        row.map(key_record).transpose()
    })
    .await
}

/// Revokes a key of the actor's organisation, at once. Revoking a revoked key changes nothing
/// and records nothing. `None` when the organisation has no such key.
pub async fn revoke_key(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
) -> Result<Option<KeyRecord>, PersistenceError> {
    with_connection(pool, RowScope::Organisation(actor.organisation), async |connection| {
        let mut transaction = connection.begin().await?;
        let revoked = sqlx::query(
            "UPDATE api_keys SET revoked_at = now()
             WHERE id = $1 AND organisation_id = $2 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(actor.organisation.0)
        .execute(&mut *transaction)
        .await?;
        if revoked.rows_affected() == 1 {
            record(&mut transaction, actor, AuditAction::KeyRevoked, id).await?;
        }
        transaction.commit().await?;
        Ok::<_, PersistenceError>(())
    })
    .await?;
    fetch_key(pool, actor.organisation, id).await
}

/// The organisation's audit trail, newest first, `limit` events older than `before` (an event id).
pub async fn audit_events(
    pool: &PgPool,
    organisation: OrganisationId,
    limit: i64,
    before: Option<Uuid>,
) -> Result<Vec<AuditEvent>, PersistenceError> {
    with_connection(pool, RowScope::Organisation(organisation), async |connection| {
        // Event ids are UUIDv7, so their order is the order of occurrence.
        Ok(sqlx::query_as(
            "SELECT id, occurred_at, key_id, action, resource_type, resource_id, request_id
             FROM audit_events
             WHERE organisation_id = $1 AND ($2::uuid IS NULL OR id < $2)
             ORDER BY id DESC
             LIMIT $3",
        )
        .bind(organisation.0)
        .bind(before)
        .bind(limit)
        .fetch_all(&mut *connection)
        .await?)
    })
    .await
}

/// The channel on which PostgreSQL announces a changed key (migration 0007).
const KEY_CHANGES_CHANNEL: &str = "api_key_changed";
/// How a heartbeat's payload starts; a key change's payload is the bare key id.
const HEARTBEAT_PREFIX: &str = "heartbeat ";

/// What the database announced.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyChange {
    /// This key changed (was revoked, above all).
    Changed(Uuid),
    /// A listener's own proof that announcements still arrive (see [`announce_heartbeat`]); every
    /// process listening hears every process's heartbeats, told apart by their token.
    Heartbeat(Uuid),
    /// The connection was lost: changes may have been missed.
    Missed,
}

/// Announcements of changed keys, on a connection of their own.
pub struct KeyChanges {
    listener: sqlx::postgres::PgListener,
}

impl KeyChanges {
    /// Starts listening on a connection from `pool`, kept until this is dropped (a pool of its own,
    /// so that it never takes a connection from the requests). Closing `pool` ends the wait of
    /// [`KeyChanges::next`] with an error.
    pub async fn listen(pool: &PgPool) -> Result<Self, PersistenceError> {
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        // A lost connection is reported at once, not after a silent reconnection.
        listener.eager_reconnect(false);
        listener.listen(KEY_CHANGES_CHANNEL).await?;
        Ok(Self { listener })
    }

    /// Waits for the next announcement.
    pub async fn next(&mut self) -> Result<KeyChange, PersistenceError> {
        Ok(match self.listener.try_recv().await? {
            Some(notification) => parse_announcement(notification.payload()),
            None => KeyChange::Missed,
        })
    }
}

fn parse_announcement(payload: &str) -> KeyChange {
    let (heartbeat, id) = match payload.strip_prefix(HEARTBEAT_PREFIX) {
        Some(token) => (true, token),
        None => (false, payload),
    };
    match Uuid::try_parse(id) {
        Ok(id) if heartbeat => KeyChange::Heartbeat(id),
        Ok(id) => KeyChange::Changed(id),
        // Not ours to read: treated as a change to any key.
        Err(_) => KeyChange::Missed,
    }
}

/// Sends a heartbeat with `token` on the key-change channel. A listener that stops hearing its
/// own heartbeats is no longer told about revocations either, even when its connection reports
/// no error (a half-open TCP connection, a frozen server process).
pub async fn announce_heartbeat(pool: &PgPool, token: Uuid) -> Result<(), PersistenceError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(KEY_CHANGES_CHANNEL)
        .bind(format!("{HEARTBEAT_PREFIX}{token}"))
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_are_key_changes_heartbeats_or_unreadable() {
        let id = Uuid::now_v7();
        assert_eq!(parse_announcement(&id.to_string()), KeyChange::Changed(id));
        assert_eq!(parse_announcement(&format!("heartbeat {id}")), KeyChange::Heartbeat(id));
        assert_eq!(parse_announcement("heartbeat"), KeyChange::Missed);
        assert_eq!(parse_announcement("something else"), KeyChange::Missed);
    }
}

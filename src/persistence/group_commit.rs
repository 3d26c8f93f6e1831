//! Group commit of submissions (issue 16). A submission without an `Idempotency-Key` that arrives
//! while earlier ones are being written waits for a writer and is stored with whatever else
//! arrived meanwhile: one multi-row statement and one commit (one WAL flush) for the group, instead
//! of a scope round trip, a statement, a per-statement executor start-up (the table's check
//! constraints are read again for every statement) and a commit each.
//!
//! What a 201 means does not change: a submission is answered only after the commit that stores
//! its row. There is no timer: a group is whatever arrived while the writers were busy, so a lone
//! submission is written at once. Submissions with an `Idempotency-Key` keep their own transaction
//! (their key's lock and lookup decide whether they store anything at all).

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::FutureExt;
use futures_util::future::join_all;
use sqlx::PgPool;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::assessments::{
    EncodedAssessment, GroupedOutcome, GroupedSubmission, NewAssessment, StoredAssessment, SubmissionError,
    encoding_of, store_group,
};
use super::{Actor, KeptConnection, OrganisationId, PersistenceError, RowScope};

/// The most submissions one statement stores: a group's statement carries each row's packed
/// document (a few kilobytes), so this bounds it to well under a megabyte.
const GROUP_MAX: usize = 64;

/// The submissions waiting for a writer, and the writers that store them. Cheap to clone.
#[derive(Clone)]
pub struct GroupCommit {
    shared: Arc<Shared>,
}

struct Shared {
    pool: PgPool,
    writers_max: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    waiting: VecDeque<Waiting>,
    writers: usize,
}

struct Waiting {
    submission: GroupedSubmission,
    answer: oneshot::Sender<Result<Stored, PersistenceError>>,
}

/// A submission as its group stored it, or why it was not.
struct Stored {
    submission: GroupedSubmission,
    outcome: GroupedOutcome,
}

impl GroupCommit {
    /// The group commit of one of `workers` HTTP workers, made on that worker's thread: its writers
    /// run there, beside the requests they store, so a submission is handed to no other thread,
    /// and a worker that stops (its requests finished, or abandoned at the shutdown timeout) stops
    /// only writers of its own requests. The workers' writers together use at most a quarter of
    /// the pool's connections (each worker at least one), leaving the rest to reads and to
    /// submissions with their own transaction.
    pub fn new(pool: PgPool, workers: usize) -> Self {
        let writers_max = (pool.options().get_max_connections() as usize / 4 / workers.max(1)).max(1);
        Self { shared: Arc::new(Shared { pool, writers_max, state: Mutex::new(State::default()) }) }
    }

    /// The pool the writers use, for the submissions that keep their own transaction.
    pub fn pool(&self) -> &PgPool {
        &self.shared.pool
    }

    /// Encodes and stores `assessment` with the group it joins; returns once that group is
    /// committed (or refused, when its program does not exist).
    pub async fn submit(
        &self,
        actor: &Actor,
        assessment: &NewAssessment<'_>,
    ) -> Result<StoredAssessment, SubmissionError> {
        let encoding =
            encoding_of(&self.shared.pool, actor.organisation, &assessment.result.model_version).await?;
        // Encoded here, on the request's own worker: the writers only write.
        let encoded = EncodedAssessment::encode(Uuid::now_v7(), assessment, None, &encoding)?;
        let (answer, answered) = oneshot::channel();
        let submission = GroupedSubmission { actor: actor.clone(), encoded };
        let start_writer = {
            let mut state = self.shared.state();
            state.waiting.push_back(Waiting { submission, answer });
            state.writers < self.shared.writers_max && {
                state.writers += 1;
                true
            }
        };
        if start_writer {
            let slot = WriterSlot { shared: self.shared.clone(), held: true };
            tokio::spawn(write_until_drained(slot));
        }
        let stored = answered.await.map_err(|_| PersistenceError::WriterStopped)??;
        match stored.outcome {
            GroupedOutcome::Stored { created_at, program } => {
                Ok(stored.submission.into_stored(created_at, program, assessment.profile_json.clone()))
            }
            GroupedOutcome::ProgramNotFound => Err(SubmissionError::ProgramNotFound),
        }
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // The state is a queue and a count, each changed in one step: a panic elsewhere cannot
        // leave it half-changed.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running writer's place among [`Shared::writers_max`]. It is given back in the same step that
/// finds nothing waiting (so that a submission arriving just then starts a writer of its own), or
/// when the writer is dropped before that (its runtime shut down).
struct WriterSlot {
    shared: Arc<Shared>,
    held: bool,
}

impl WriterSlot {
    /// The oldest waiting submission and those of its organisation that arrived after it (up to
    /// [`GROUP_MAX`]), in arrival order; none, and the slot given back, when nothing waits.
    fn next_group(&mut self) -> Option<(OrganisationId, Vec<Waiting>)> {
        let mut state = self.shared.state();
        let Some(first) = state.waiting.front() else {
            state.writers -= 1;
            self.held = false;
            return None;
        };
        let organisation = first.submission.actor.organisation;
        let mut group = Vec::new();
        let mut others = VecDeque::new();
        while let Some(waiting) = state.waiting.pop_front() {
            if group.len() < GROUP_MAX && waiting.submission.actor.organisation == organisation {
                group.push(waiting);
            } else {
                others.push_back(waiting);
            }
        }
        state.waiting = others;
        Some((organisation, group))
    }
}

impl Drop for WriterSlot {
    fn drop(&mut self) {
        if self.held {
            self.shared.state().writers -= 1;
        }
    }
}

/// Stores groups until nothing waits, then gives its slot back. Consecutive groups share a
/// connection: a writer kept busy pays one round trip a group, its statement.
async fn write_until_drained(mut slot: WriterSlot) {
    let mut connection = KeptConnection::new(slot.shared.pool.clone());
    while let Some((organisation, group)) = slot.next_group() {
        // A panic while writing a group (a bug) drops that group's answers, which its requests
        // report as a failed write, and leaves this writer to write the others.
        let _ = AssertUnwindSafe(write_group(&mut connection, organisation, group)).catch_unwind().await;
    }
}

/// Stores `group` and answers each of its submissions. When the group's statement fails, each
/// submission is tried alone, so that one that cannot be stored does not fail the others.
async fn write_group(connection: &mut KeptConnection, organisation: OrganisationId, group: Vec<Waiting>) {
    // A submission whose request has gone (past its deadline, or its client disconnected) before
    // its group is written is not stored: nobody would learn of it, and a 504 says so.
    let (submissions, mut answers): (Vec<GroupedSubmission>, Vec<_>) = group
        .into_iter()
        .filter(|waiting| !waiting.answer.is_closed())
        .map(|waiting| (waiting.submission, waiting.answer))
        .unzip();
    if submissions.is_empty() {
        return;
    }
    let stored = tokio::select! {
        stored = store(connection, organisation, &submissions) => stored,
        // Every request of the group has gone: its work is abandoned as a single request's is,
        // by closing its connection (a statement still waiting for a lock never runs).
        _ = join_all(answers.iter_mut().map(oneshot::Sender::closed)) => return,
    };
    let outcomes = match stored {
        Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
        Err(error) if submissions.len() == 1 => vec![Err(error)],
        Err(_) => {
            let mut outcomes = Vec::with_capacity(submissions.len());
            for submission in &submissions {
                outcomes.push(store_alone(connection, organisation, submission).await);
            }
            outcomes
        }
    };
    for ((submission, answer), outcome) in submissions.into_iter().zip(answers).zip(outcomes) {
        // A client that has gone away no longer waits: its row is stored all the same.
        let _ = answer.send(outcome.map(|outcome| Stored { submission, outcome }));
    }
}

async fn store(
    connection: &mut KeptConnection,
    organisation: OrganisationId,
    submissions: &[GroupedSubmission],
) -> Result<Vec<GroupedOutcome>, PersistenceError> {
    connection
        .run(RowScope::Organisation(organisation), async |connection| {
            store_group(connection, organisation, submissions).await
        })
        .await
}

async fn store_alone(
    connection: &mut KeptConnection,
    organisation: OrganisationId,
    submission: &GroupedSubmission,
) -> Result<GroupedOutcome, PersistenceError> {
    let mut outcomes = store(connection, organisation, std::slice::from_ref(submission)).await?;
    outcomes
        .pop()
        .ok_or_else(|| PersistenceError::Encoding("a group of one came back without its outcome".into()))
}

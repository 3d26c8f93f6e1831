-- Bulk work (issue 17): imports of a portfolio and re-scores of it under the current model, as
-- jobs that any instance of the service works, in batches, and that survive a restart or crash.
--
-- A job's work is a list of items: the staged lines of an import, or the assessments a re-score
-- selected. A worker claims a batch of pending items with FOR UPDATE SKIP LOCKED and does the
-- batch's whole work (assessments stored, items marked done, errors and counters written) in the
-- transaction that holds the claim. The row locks are the lease: when a worker dies its
-- connection closes, PostgreSQL rolls the batch back and releases them, and the next worker claims
-- the same items; a worker that hangs inside a batch loses it to the server's
-- idle_in_transaction_session_timeout. So no item is lost, and none is done twice.

create table jobs (
    id              uuid primary key,
    organisation_id uuid not null references organisations (id),
    kind            text not null check (kind in ('import', 'rescore')),
    -- `receiving`: an import whose upload has not finished; it is not answered yet, so nobody sees
    -- it and no worker takes it.
    state           text not null
        check (state in ('receiving', 'queued', 'running', 'succeeded', 'failed', 'cancelled')),
    -- import: {"format": "ndjson"|"csv", "mode": "best_effort"|"all_or_nothing"};
    -- rescore: {"selection": "latest"|"all"|"filter", "filters": {...query parameters}}.
    parameters      jsonb not null,
    total           bigint not null default 0,
    processed       bigint not null default 0,
    -- Assessments stored; lines skipped as already imported; lines or items with errors.
    created         bigint not null default 0,
    skipped         bigint not null default 0,
    failed          bigint not null default 0,
    -- Why a job failed as a whole (an all_or_nothing import with bad lines).
    failure         text,
    created_by      uuid references api_keys (id),
    request_id      text,
    created_at      timestamptz not null default now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    updated_at      timestamptz not null default now()
);

create index jobs_by_organisation on jobs (organisation_id, id desc);
create index jobs_runnable on jobs (id) where state in ('queued', 'running');

create table job_items (
    job_id    uuid not null references jobs (id) on delete cascade,
    -- The line number of an import (CSV: the line its record starts on), the order of a re-score.
    position  bigint not null,
    -- An import's line as a JSON document (a CSV record is mapped to one when staged); cleared once
    -- the line is done, the assessment keeping what it holds.
    input     text,
    -- The assessment to re-score; and the assessment stored from the item. No foreign keys: an
    -- assessment deleted later leaves the job's record of what it did.
    source_id uuid,
    result_id uuid,
    done      boolean not null default false,
    primary key (job_id, position)
);

create index job_items_pending on job_items (job_id, position) where not done;
create index job_items_results on job_items (job_id, result_id) where result_id is not null;

-- Every field error of a line or item; a line can have several.
create table job_errors (
    id        bigint generated always as identity primary key,
    job_id    uuid not null references jobs (id) on delete cascade,
    position  bigint not null,
    -- The assessment a re-score could not re-score.
    source_id uuid,
    field     text not null,
    message   text not null
);

create index job_errors_by_job on job_errors (job_id, id);

-- The lines an organisation imported, by a key: the line's own `idempotency_key`, or else a
-- digest of the line's content. Kept for good (unlike the 48-hour Idempotency-Key of single
-- submissions): a file sent again, a week later, stores nothing twice.
create table import_keys (
    organisation_id uuid not null references organisations (id),
    key             text not null,
    -- SHA-256 of the line as parsed, so the same key with other content is recognised.
    content_hash    bytea not null,
    assessment_id   uuid,
    job_id          uuid not null,
    primary key (organisation_id, key)
);

-- Historical assessments: an import's `assessed_at` places an assessment at that time in its
-- program's history. Migration 0007 keeps every assessment after its program's newest, against a
-- database clock stepped back; that protects times stamped by the clock (created_at = now(), the
-- transaction's time), which is what it is kept for. A time given explicitly is the sponsor's
-- record of when the program was assessed and is stored as given.
create or replace function assessments_follow_their_program_history() returns trigger language plpgsql as $$
declare
    newest timestamptz;
begin
    if new.program_id is not null and new.created_at = now() then
        -- The newest by the program's index, read backwards: one entry. (As max(created_at), a
        -- generic plan without statistics may read all the program's rows instead, every insert:
        -- a batch of imports then slowed down with the size of the history.)
        select created_at into newest
        from assessments
        where organisation_id = new.organisation_id and program_id = new.program_id
        order by created_at desc
        limit 1;
        if newest is not null and new.created_at <= newest then
            new.created_at := newest + interval '1 microsecond';
        end if;
    end if;
    return new;
end;
$$;

-- Each program's latest assessment, for a batch to find the one it supersedes without reading
-- the program's history: one entry per program.
create index assessments_latest_by_program on assessments (organisation_id, program_id) where latest;

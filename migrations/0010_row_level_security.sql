-- Issue 20, finding 12: organisation scoping enforced by PostgreSQL as well as by the queries.
--
-- Requests run as `msc_readiness_app`, a role that owns nothing, with `msc.organisation_id` set to
-- the caller's organisation (`persistence::with_connection`, `RowScope::Organisation`); the policies
-- below show that role only the rows of that organisation, and refuse to write any other. A query
-- that forgets its `WHERE organisation_id = ...` reads nothing of another organisation. The
-- service's own cross-organisation work (authenticating a key before its organisation is known,
-- folding the statistics rollup, housekeeping, claiming jobs, migrations) runs as the table owner
-- (`RowScope::Service`), which row-level security does not restrict.
--
-- The role is shared by every database of the cluster. Creating it needs CREATEROLE; without it
-- the migration still applies, the policies wait for a role that an administrator creates, and
-- the service logs at start that only the queries scope organisations.
do $$
begin
    begin
        create role msc_readiness_app nologin;
    exception
        -- Several databases of one cluster migrating at once (the tests) race to create it.
        when duplicate_object or unique_violation then null;
        when insufficient_privilege then
            raise notice 'role msc_readiness_app not created (no CREATEROLE): row-level security is not in force';
    end;
    if exists (select 1 from pg_roles where rolname = 'msc_readiness_app') then
        begin
            -- The owner switches to it with SET ROLE (a superuser can without membership).
            execute format('grant msc_readiness_app to %I', current_user);
        exception
            when others then
                raise notice 'msc_readiness_app not granted to %: %', current_user, sqlerrm;
        end;
        grant usage on schema public to msc_readiness_app;
        grant select, insert, update, delete on all tables in schema public to msc_readiness_app;
        grant usage, select on all sequences in schema public to msc_readiness_app;
        -- Tables of later migrations, created by the same owner.
        alter default privileges in schema public grant select, insert, update, delete on tables to msc_readiness_app;
        alter default privileges in schema public grant usage, select on sequences to msc_readiness_app;
        -- What every organisation shares is read-only to requests.
        revoke insert, update, delete on model_versions, packing_dictionaries, _sqlx_migrations from msc_readiness_app;
        revoke select on _sqlx_migrations from msc_readiness_app;
    end if;
end
$$;

-- The caller's organisation, or NULL (no rows) when none is set.
create or replace function msc_current_organisation() returns uuid language sql stable as $$
    select nullif(current_setting('msc.organisation_id', true), '')::uuid
$$;

alter table organisations enable row level security;
create policy organisation_scope on organisations
    using (id = msc_current_organisation());

alter table programs enable row level security;
create policy organisation_scope on programs
    using (organisation_id = msc_current_organisation());

alter table assessments enable row level security;
create policy organisation_scope on assessments
    using (organisation_id = msc_current_organisation());

alter table idempotency_keys enable row level security;
create policy organisation_scope on idempotency_keys
    using (organisation_id = msc_current_organisation());

alter table api_keys enable row level security;
create policy organisation_scope on api_keys
    using (organisation_id = msc_current_organisation());

alter table audit_events enable row level security;
create policy organisation_scope on audit_events
    using (organisation_id = msc_current_organisation());

alter table score_counts enable row level security;
create policy organisation_scope on score_counts
    using (organisation_id = msc_current_organisation());

alter table score_count_changes enable row level security;
create policy organisation_scope on score_count_changes
    using (organisation_id = msc_current_organisation());

alter table jobs enable row level security;
create policy organisation_scope on jobs
    using (organisation_id = msc_current_organisation());

alter table import_keys enable row level security;
create policy organisation_scope on import_keys
    using (organisation_id = msc_current_organisation());

-- A job's items and errors belong to the job's organisation (the subquery sees only its jobs).
alter table job_items enable row level security;
create policy organisation_scope on job_items
    using (exists (select 1 from jobs where jobs.id = job_items.job_id));

alter table job_errors enable row level security;
create policy organisation_scope on job_errors
    using (exists (select 1 from jobs where jobs.id = job_errors.job_id));

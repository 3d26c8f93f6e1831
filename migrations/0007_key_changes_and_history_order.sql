-- 1. Announces every change to an API key (a revocation, above all) on the channel `api_key_changed`,
-- with the key's id, when the change commits. Each service instance drops that key from its cache
-- of recently verified keys at once, so a revocation takes effect immediately on every instance,
-- also when it is made outside the service (issue 20, finding 3).

create function api_key_changed() returns trigger language plpgsql as $$
begin
    perform pg_notify('api_key_changed', old.id::text);
    return null;
end;
$$;

create trigger api_key_changed
    after update or delete on api_keys
    for each row execute function api_key_changed();

-- 2. A program's history is ordered by creation time, and its newest assessment is its `latest`.
-- Creation times come from the database server's clock, which can be stepped back (an NTP
-- correction, a VM restored from a snapshot): an assessment stored after such a step was listed
-- before its predecessor and never became the latest (issue 20, finding 10). An assessment of a
-- program is therefore created no earlier than a microsecond after the program's newest one. Its
-- writers hold the program's row lock (persistence::assessments::lock_program), so they take
-- turns here too. The clock's own time is kept whenever it has not gone back.

create function assessments_follow_their_program_history() returns trigger language plpgsql as $$
declare
    newest timestamptz;
begin
    if new.program_id is not null then
        select max(created_at) into newest
        from assessments
        where organisation_id = new.organisation_id and program_id = new.program_id;
        if newest is not null and new.created_at <= newest then
            new.created_at := newest + interval '1 microsecond';
        end if;
    end if;
    return new;
end;
$$;

create trigger assessments_follow_their_program_history
    before insert on assessments
    for each row execute function assessments_follow_their_program_history();

-- Issue 16: a new assessment's profile and compact result stored together as one zstd frame,
-- compressed against a dictionary of its model version (persistence::packing): about 2.3 KB a row
-- for real programs instead of about 7 KB of lz4 jsonb. Rows stored before keep their form and
-- are read as they are.

-- The raw-content zstd dictionary of each model version: written once, by the first service that
-- runs the version, and never changed (a row packed against it must unpack for as long as it exists).
create table packing_dictionaries (
    model_version text primary key references model_versions (version),
    dictionary    bytea not null,
    created_at    timestamptz not null default now()
);

create function refuse_packing_dictionary_change() returns trigger language plpgsql as $$
begin
    raise exception 'the packing dictionary of model version % is immutable', old.model_version;
end
$$;

create trigger packing_dictionaries_immutable before update or delete on packing_dictionaries
    for each row execute function refuse_packing_dictionary_change();

-- One stored form per row: packed (profile and result inside), or the profile as jsonb with the
-- result whole or compact (rows stored before this migration, or of a version without a dictionary).
alter table assessments
    add column packed bytea,
    alter column profile drop not null,
    drop constraint assessments_one_result_form,
    add constraint assessments_one_stored_form check (
        case when packed is null
            then profile is not null and ((result is null) <> (result_compact is null))
            else profile is null and result is null and result_compact is null
        end);

-- zstd output does not compress further: never let PostgreSQL try.
alter table assessments alter column packed set storage external;

-- Only re-scored assessments point at an original: an index of the others' NULLs is 8 % of the
-- table's index bytes for no lookup (the key's deletion looks up `rescored_from = $1`, which the
-- partial index serves).
drop index assessments_rescored_from;
create index assessments_rescored_from on assessments (rescored_from) where rescored_from is not null;

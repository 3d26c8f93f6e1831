-- Each model version's document, and the dictionary its stored results are compacted against
-- (issue 16): written once, by the first service that runs the version, and never changed, so a
-- result stored under a version reads back as it was stored for as long as the row exists.
create table model_versions (
    version    text primary key,
    -- GET /v1/model as this version served it.
    document   jsonb compression lz4 not null,
    -- Templates of the objects of a result and the strings results share (persistence::result_codec).
    dictionary jsonb compression lz4 not null,
    created_at timestamptz not null default now()
);

create function refuse_model_version_change() returns trigger language plpgsql as $$
begin
    raise exception 'model version % is immutable', old.version;
end
$$;

create trigger model_versions_immutable before update or delete on model_versions
    for each row execute function refuse_model_version_change();

-- A result is stored whole (rows stored before this migration, and any result the dictionary
-- cannot round-trip) or compact against its model version's dictionary: exactly one of the two.
-- Rows stored before are read as they are, not rewritten: a stored result is a record.
alter table assessments
    alter column result drop not null,
    add column result_compact jsonb compression lz4,
    add constraint assessments_one_result_form check ((result is null) <> (result_compact is null));

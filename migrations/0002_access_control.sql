-- API keys and the audit trail (issue 6).

create table api_keys (
    id              uuid primary key,
    organisation_id uuid not null references organisations (id),
    name            text not null,
    -- SHA-256 of the key's random secret; the secret itself is shown once and never stored.
    secret_hash     bytea not null check (octet_length(secret_hash) = 32),
    scopes          text[] not null check (scopes <@ array['read', 'write', 'admin'] and cardinality(scopes) > 0),
    created_at      timestamptz not null default now(),
    expires_at      timestamptz,
    revoked_at      timestamptz,
    -- The admin key that created this one; null for keys made with the `keys create` command.
    created_by      uuid references api_keys (id)
);

create index api_keys_by_organisation on api_keys (organisation_id, created_at desc, id desc);

create table audit_events (
    id              uuid primary key,
    organisation_id uuid not null references organisations (id),
    occurred_at     timestamptz not null default now(),
    -- Who: the API key used; null for the command line.
    key_id          uuid references api_keys (id),
    action          text not null,
    resource_type   text not null,
    resource_id     uuid not null,
    request_id      text
);

-- Event ids are UUIDv7: their order is the order of occurrence.
create index audit_events_by_organisation on audit_events (organisation_id, id desc);

-- Append-only: the service's own role cannot rewrite history either.
create function audit_events_are_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'audit_events is append-only';
end;
$$;

create trigger audit_events_append_only
    before update or delete on audit_events
    for each statement execute function audit_events_are_append_only();

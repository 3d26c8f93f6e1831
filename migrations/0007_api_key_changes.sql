-- Announces every change to an API key (a revocation, above all) on the channel `api_key_changed`,
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

-- Issue 19: rate limits that hold across service instances (RATE_LIMIT_STORE=postgres).
--
-- One row per bucket (an API key's, an organisation's): its theoretical arrival time (GCRA, the
-- algorithm of the in-memory limiter). Unlogged: a crash of the database forgets the buckets,
-- which only refills them; nothing else is lost and no WAL is written per request.
create unlogged table rate_limit_buckets (
    kind text not null check (kind in ('key', 'organisation')),
    id   uuid not null,
    tat  timestamptz not null,
    primary key (kind, id)
);

-- Takes one request from each bucket in turn (key first, as the in-memory limiter does): returns
-- the index (1-based) of the first bucket that refuses, with how long until it would accept,
-- or no row when every bucket accepted. `intervals` is the time one request refills, `tolerances`
-- the burst allowance as time ((burst - 1) x interval), both in microseconds, as is the answer. The database's clock serves every
-- instance, so instances with skewed clocks share one limit.
create function msc_take_request(kinds text[], ids uuid[], intervals bigint[], tolerances bigint[])
returns table (refused_by int, retry_after_us bigint) language plpgsql as $$
declare
    moment timestamptz := clock_timestamp();
    n int;
    accepted timestamptz;
    earliest timestamptz;
begin
    for n in 1 .. coalesce(array_length(kinds, 1), 0) loop
        insert into rate_limit_buckets as b (kind, id, tat)
        values (kinds[n], ids[n], moment + intervals[n] * interval '1 microsecond')
        on conflict (kind, id) do update set tat = greatest(b.tat, moment) + intervals[n] * interval '1 microsecond'
            where greatest(b.tat, moment) - moment <= tolerances[n] * interval '1 microsecond'
        returning b.tat into accepted;
        if accepted is null then
            select greatest(b.tat, moment) into earliest
            from rate_limit_buckets b where b.kind = kinds[n] and b.id = ids[n];
            refused_by := n;
            retry_after_us := ceil(extract(epoch from earliest - moment) * 1000000)::bigint - tolerances[n];
            return next;
            return;
        end if;
    end loop;
end
$$;

-- A barrier with nothing known (band `unknown`) has no score: NULL, not the 0 that lists, exports
-- and statistics read as the worst score (issue 14, point 7). The check constraints stay: NULL
-- passes a CHECK.

alter table assessments
    alter column survival drop not null,
    alter column retention drop not null,
    alter column variability drop not null,
    alter column scalability drop not null,
    alter column safety drop not null,
    alter column outcomes drop not null,
    alter column regulatory drop not null;

alter table score_count_changes
    alter column survival drop not null,
    alter column retention drop not null,
    alter column variability drop not null,
    alter column scalability drop not null,
    alter column safety drop not null,
    alter column outcomes drop not null,
    alter column regulatory drop not null;

-- Stored rows: the column becomes NULL where the stored result says nothing was known about the
-- barrier. The result itself is left as stored (it keeps its 0): a stored result is a record.
-- The trigger queues the changed counts; the rebuild below recounts everything anyway.
update assessments a
set survival    = case when unknown @> '{survival}'    then null else survival end,
    retention   = case when unknown @> '{retention}'   then null else retention end,
    variability = case when unknown @> '{variability}' then null else variability end,
    scalability = case when unknown @> '{scalability}' then null else scalability end,
    safety      = case when unknown @> '{safety}'      then null else safety end,
    outcomes    = case when unknown @> '{outcomes}'    then null else outcomes end,
    regulatory  = case when unknown @> '{regulatory}'  then null else regulatory end
from (
    select s.id, array_agg(line ->> 'barrier') unknown
    from assessments s
    cross join lateral jsonb_array_elements(
        case when jsonb_typeof(s.result -> 'barriers') = 'array' then s.result -> 'barriers' else '[]' end) line
    where line ->> 'band' = 'unknown'
    group by s.id
) unknown_barriers
where a.id = unknown_barriers.id;

-- The queue's trigger is unchanged in what it copies; the folding code and the rebuild skip a
-- NULL score, so a barrier's counts hold only the assessments with something known about it (a
-- metric's count can be below the number of assessments). Recreated so that this migration states
-- the function the NULL-able columns run through, with the NULL rule spelt out.
create or replace function queue_score_count_change() returns trigger language plpgsql as $$
declare
    -- Whether the row is counted differently in the 'all' selection (an update of a counted column).
    -- `is distinct from` treats NULL as a value: a score becoming unknown is a change.
    recounted boolean := tg_op <> 'UPDATE' or
        (old.indication, old.stage, old.tissue_source, old.route, old.readiness_level, old.model_version,
         old.limiting_barrier, old.overall_index, old.survival, old.retention, old.variability,
         old.scalability, old.safety, old.outcomes, old.regulatory)
        is distinct from
        (new.indication, new.stage, new.tissue_source, new.route, new.readiness_level, new.model_version,
         new.limiting_barrier, new.overall_index, new.survival, new.retention, new.variability,
         new.scalability, new.safety, new.outcomes, new.regulatory);
    selection text;
begin
    -- A NULL barrier score is queued as NULL; whoever counts the change leaves it out of that metric.
    if tg_op in ('UPDATE', 'DELETE') then
        foreach selection in array array['all', 'latest'] loop
            if (selection = 'all' and recounted) or (selection = 'latest' and old.latest) then
                insert into score_count_changes
                    (organisation_id, selection, delta, indication, stage, tissue_source, route, readiness_level,
                     model_version, limiting_barrier, overall_index, survival, retention, variability,
                     scalability, safety, outcomes, regulatory)
                values (old.organisation_id, selection, -1, old.indication,
                    old.stage, old.tissue_source, old.route, old.readiness_level, old.model_version,
                    old.limiting_barrier, old.overall_index, old.survival, old.retention, old.variability,
                    old.scalability, old.safety, old.outcomes, old.regulatory);
            end if;
        end loop;
    end if;
    if tg_op in ('UPDATE', 'INSERT') then
        foreach selection in array array['all', 'latest'] loop
            if (selection = 'all' and recounted) or (selection = 'latest' and new.latest) then
                insert into score_count_changes
                    (organisation_id, selection, delta, indication, stage, tissue_source, route, readiness_level,
                     model_version, limiting_barrier, overall_index, survival, retention, variability,
                     scalability, safety, outcomes, regulatory)
                values (new.organisation_id, selection, 1, new.indication,
                    new.stage, new.tissue_source, new.route, new.readiness_level, new.model_version,
                    new.limiting_barrier, new.overall_index, new.survival, new.retention, new.variability,
                    new.scalability, new.safety, new.outcomes, new.regulatory);
            end if;
        end loop;
    end if;
    return null;
end
$$;

-- As in 0004, except that a NULL score (nothing known about the barrier) is not counted in its
-- metric; a metric with nothing counted in a group has no row, as the folding code leaves it.
create or replace function rebuild_score_counts() returns void language sql as $$
    select pg_advisory_xact_lock(7214001);
    delete from score_count_changes;
    delete from score_counts;
    insert into score_counts (organisation_id, selection, dimension, grp, metric, counts)
    select organisation_id, selection, dimension, grp, metric,
           array(select coalesce(sum(c.n), 0)::integer
                 from generate_series(0, 1000) b
                 left join unnest(buckets, ns) c(bucket, n) on c.bucket = b
                 group by b order by b)
    from (
        select organisation_id, selection, dimension, grp, metric, array_agg(bucket) buckets, array_agg(n) ns
        from (
            select a.organisation_id, s.selection, g.dimension, g.grp, m.metric,
                   round(m.score * 10)::integer bucket, count(*)::integer n
            from assessments a
            cross join lateral (values ('all', true), ('latest', a.latest)) s(selection, counted)
            cross join lateral (values ('', ''), ('indication', coalesce(a.indication, '')),
                ('stage', coalesce(a.stage, '')), ('tissue_source', coalesce(a.tissue_source, '')),
                ('route', coalesce(a.route, '')), ('readiness_level', coalesce(a.readiness_level::text, '')),
                ('model_version', a.model_version), ('limiting_barrier', a.limiting_barrier)) g(dimension, grp)
            cross join lateral (values ('overall_index', a.overall_index), ('survival', a.survival),
                ('retention', a.retention), ('variability', a.variability), ('scalability', a.scalability),
                ('safety', a.safety), ('outcomes', a.outcomes), ('regulatory', a.regulatory)) m(metric, score)
            where s.counted and m.score is not null
            group by 1, 2, 3, 4, 5, 6
        ) cells
        group by 1, 2, 3, 4, 5
    ) grouped;
$$;

select rebuild_score_counts();

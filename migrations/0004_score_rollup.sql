-- A rollup of the assessments' scores, so that statistics read a few rows per organisation instead
-- of one row per program or assessment.
--
-- Scores are tenths of a point (the model computes in tenths), so a score's distribution is exactly
-- the count of each of its 1,001 possible values: `counts[i]` is how many assessments score
-- (i - 1) / 10 points. One row per organisation, selection, grouping and score: the whole
-- organisation (dimension ''), and each value of each column the statistics group or filter by.
-- Counts add up, so any of these views is its rows plus the changes not yet folded in.
create table score_counts (
    organisation_id uuid not null references organisations (id),
    -- 'latest': each program's latest assessment (the `latest` flag); 'all': every assessment.
    selection       text not null check (selection in ('latest', 'all')),
    -- '' for the whole organisation, else the grouping column's name.
    dimension       text not null,
    -- The group's value as text; '' for the whole organisation and for an unknown value (no
    -- grouped column holds an empty string).
    grp             text not null,
    -- 'overall_index' or a barrier's name.
    metric          text not null,
    counts          integer[] not null check (cardinality(counts) = 1001),
    primary key (organisation_id, selection, dimension, grp, metric)
);

-- Writers append here (one row per assessment entering or leaving a selection) instead of
-- updating the rollup: a hot rollup row would make concurrent writers wait for each other's
-- commits. The service folds the queue into `score_counts` in the background, in one transaction
-- that deletes what it folds, so any snapshot sees each change exactly once: still queued or
-- already counted.
create table score_count_changes (
    -- Folding takes the oldest changes first, a batch at a time.
    id               bigint generated always as identity primary key,
    organisation_id  uuid not null,
    selection        text not null,
    delta            smallint not null check (delta in (-1, 1)),
    indication       text,
    stage            text,
    tissue_source    text,
    route            text,
    readiness_level  smallint,
    model_version    text not null,
    limiting_barrier text not null,
    overall_index    double precision not null,
    survival         double precision not null,
    retention        double precision not null,
    variability      double precision not null,
    scalability      double precision not null,
    safety           double precision not null,
    outcomes         double precision not null,
    regulatory       double precision not null
);

create index score_count_changes_organisation on score_count_changes (organisation_id);

-- A trigger rather than the service's code, so that no write path (an operator's SQL included)
-- can change what is counted without the rollup following.
create function queue_score_count_change() returns trigger language plpgsql as $$
declare
    -- Whether the row is counted differently in the 'all' selection (an update of a counted column).
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

create trigger assessments_score_counts_insert after insert on assessments
    for each row execute function queue_score_count_change();
create trigger assessments_score_counts_delete after delete on assessments
    for each row execute function queue_score_count_change();
-- Re-flagging a row to the value it had (the service's flag update does) changes nothing.
create trigger assessments_score_counts_update after update on assessments
    for each row when (
        (old.latest, old.indication, old.stage, old.tissue_source, old.route, old.readiness_level,
         old.model_version, old.limiting_barrier, old.overall_index, old.survival, old.retention,
         old.variability, old.scalability, old.safety, old.outcomes, old.regulatory)
        is distinct from
        (new.latest, new.indication, new.stage, new.tissue_source, new.route, new.readiness_level,
         new.model_version, new.limiting_barrier, new.overall_index, new.survival, new.retention,
         new.variability, new.scalability, new.safety, new.outcomes, new.regulatory))
    execute function queue_score_count_change();

-- Recounts the rollup from the assessments and empties the queue, under the lock the service's
-- folding takes (the key is `persistence::score_counts::ROLLUP_LOCK`). For this migration, and for bulk
-- loads that bypass the triggers.
create function rebuild_score_counts() returns void language sql as $$
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
            where s.counted
            group by 1, 2, 3, 4, 5, 6
        ) cells
        group by 1, 2, 3, 4, 5
    ) grouped;
$$;

select rebuild_score_counts();

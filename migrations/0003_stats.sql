-- Statistics count each program once by default, through its latest assessment: the newest by
-- creation time, then id. An assessment without a program is a program of its own, so it is
-- always its program's latest. The service keeps the flag in the transaction of every insert and
-- delete, under a lock on the program row.
alter table assessments add column latest boolean not null default true;

update assessments a set latest = false
where a.program_id is not null
  and exists (
    select 1 from assessments b
    where b.organisation_id = a.organisation_id and b.program_id = a.program_id
      and (b.created_at, b.id) > (a.created_at, a.id)
  );

-- The default statistics read only the latest assessments, and every column they aggregate or
-- group by is in this index: an index-only scan over one row per program, however many times each
-- program was re-scored.
create index assessments_latest_stats on assessments (organisation_id)
    include (overall_index, survival, retention, variability, scalability, safety, outcomes, regulatory,
             limiting_barrier, indication, tissue_source, route, stage, readiness_level, model_version, created_at)
    where latest;

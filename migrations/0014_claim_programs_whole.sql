-- A re-score of every assessment (selection=all) stores a new assessment for each original, and a
-- program's newest assessment is its latest (migration 0007). Batches on several workers commit in
-- any order: when a program's items were in two batches, the batch with its older originals could
-- commit last, and the re-score of an older original became the program's latest. A program's
-- items are now claimed together, in one batch, in the order of its history
-- (persistence::jobs::create_rescore): the batch stores them in that order, one after the other, so
-- the re-score of the newest original is the newest and the latest.
--
-- `group_size`: how many items, from this one on, a claim takes together. The number of the
-- program's items on its first (by position) and 0 on its others, which come with the first; 1 on
-- an import's line and on an assessment of no program.
alter table job_items add column group_size integer not null default 1;

-- Claims up to `size` pending items of a job in whole groups: the first items of groups are locked
-- one at a time, in order (FOR UPDATE SKIP LOCKED, fetched row by row so that none is locked that
-- is not taken), until the batch holds `size` items or more, the last group completing it; then
-- the rest of their groups. Only the holder of a group's first item locks its others, so these
-- are never held by another worker: a claim never waits, and never takes part of a group.
create function claim_job_items(claimed_job uuid, size bigint) returns setof job_items
language plpgsql as $$
declare
    firsts cursor for
        select position, group_size from job_items
        where job_id = claimed_job and not done and group_size > 0
        order by position
        for update skip locked;
    head record;
    positions bigint[] := '{}';
begin
    open firsts;
    while cardinality(positions) < size loop
        fetch firsts into head;
        exit when not found;
        positions := positions || array(select generate_series(head.position, head.position + head.group_size - 1));
    end loop;
    close firsts;
    -- By position, not by a range join: the index finds each one.
    return query
        select * from job_items
        where job_id = claimed_job and position = any(positions) and not done
        order by position
        for update;
end;
$$;

-- An import's lines are claimed by program, as a re-score's items are (0014), but without moving
-- them: a line keeps its line number as its position, and its group is named by the position of
-- the group's first line.
--
-- Why: a file lists its programs' assessments interleaved (a portfolio sorted by date). Claimed by
-- position, a batch of 500 lines then held ~500 programs, and storing each line also rewrote the
-- assessment it superseded as its program's latest: a non-HOT update of a whole row (the flag is
-- in the statistics' partial index), its indexes and its score-count change, for nearly every
-- line. Claimed by program, a batch rewrites one superseded row per program it touches
-- (BENCHMARKS.md, issue 17, sixth round).
--
-- `group_head`: the position of the first line of the line's group, set when an import is staged
-- (jobs::staging): the lines naming one program (by key, or by id), in file order, up to the job
-- batch size a group. NULL on a line of no program, on a line the staging could not read a
-- program from, and on every re-score item, whose groups stay position ranges (0014). The first
-- line of a group has the group's `group_size`, the others 0, as in 0014.
--
-- `group_after`: on the first line of a program's second group and after, the first line of its
-- group before. A group is not claimed until the one before it is done, so a program with more
-- lines than a batch holds still has them stored in file order when several workers share the
-- job (a later group claimed first would be stored first, and its program's history reordered).
alter table job_items add column group_head bigint;
alter table job_items add column group_after bigint;

create index job_items_pending_groups on job_items (job_id, group_head) where group_head is not null and not done;

-- As in 0014, a claim locks the first items of groups in position order, skipping locked ones
-- and groups whose group before is not done, until the batch holds `size` items or more, then
-- takes the rest of those groups: by position range where the group is one (`group_head` NULL),
-- by `group_head` otherwise. Only the holder of a group's first item locks its others, so a claim
-- never waits and never takes part of a group.
create or replace function claim_job_items(claimed_job uuid, size bigint) returns setof job_items
language plpgsql as $$
declare
    firsts cursor for
        select position, group_size, group_head from job_items
        where job_id = claimed_job and not done and group_size > 0
          and (group_after is null or not exists (
            select 1 from job_items before
            where before.job_id = claimed_job and before.position = job_items.group_after and not before.done))
        order by position
        for update skip locked;
    head record;
    positions bigint[] := '{}';
    heads bigint[] := '{}';
    taken bigint := 0;
begin
    open firsts;
    while taken < size loop
        fetch firsts into head;
        exit when not found;
        if head.group_head is null then
            positions := positions || array(select generate_series(head.position, head.position + head.group_size - 1));
        else
            heads := heads || head.position;
        end if;
        taken := taken + head.group_size;
    end loop;
    close firsts;
    -- By position or by group, not by a range join: an index finds each.
    return query
        select * from job_items
        where job_id = claimed_job and not done
          and (position = any(positions) or group_head = any(heads))
        order by position
        for update;
end;
$$;

-- An insert into `assessments` queues its score-count changes once per statement, from the
-- statement's new rows (a transition table), instead of once per row.
--
-- Why: the row trigger of 0004/0005 ran its PL/pgSQL body after every inserted row, and the body
-- ran two INSERT statements of its own (the 'all' and the 'latest' change), each with its own
-- executor start-up. During `POST /v1/assessments` that was 15 % of PostgreSQL's CPU (perf,
-- BENCHMARKS.md, issue 16, tenth round), more than the row's insert itself. A statement trigger
-- queues the same changes with one INSERT a statement, whatever the number of rows (a group of
-- submissions, an import's batch).
--
-- What is queued does not change: for each new row, an 'all' change, and a 'latest' change when
-- it is inserted flagged latest, each with delta +1 and the row's counted columns (a NULL score
-- stays NULL; whoever folds the change leaves it out of that metric, as 0005 says). Updates and
-- deletes keep their row triggers: they queue a change only for rows whose counted columns or
-- flag change, which a row trigger's WHEN clause decides cheaply.
create function queue_score_count_inserts() returns trigger language plpgsql as $$
begin
    insert into score_count_changes
        (organisation_id, selection, delta, indication, stage, tissue_source, route, readiness_level,
         model_version, limiting_barrier, overall_index, survival, retention, variability,
         scalability, safety, outcomes, regulatory)
    select new_rows.organisation_id, selection.name, 1, new_rows.indication, new_rows.stage,
        new_rows.tissue_source, new_rows.route, new_rows.readiness_level, new_rows.model_version,
        new_rows.limiting_barrier, new_rows.overall_index, new_rows.survival, new_rows.retention,
        new_rows.variability, new_rows.scalability, new_rows.safety, new_rows.outcomes, new_rows.regulatory
    from new_rows, (values ('all'), ('latest')) selection (name)
    where selection.name = 'all' or new_rows.latest;
    return null;
end
$$;

drop trigger assessments_score_counts_insert on assessments;
create trigger assessments_score_counts_insert after insert on assessments
    referencing new table as new_rows
    for each statement execute function queue_score_count_inserts();

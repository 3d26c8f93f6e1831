-- An all_or_nothing import runs in one transaction on one worker; one that fails for a reason of its
-- own (not a lost connection or a database down) was rolled back and claimed again at every poll,
-- for ever, like a poison batch before migration 0013. The job now counts those failures, and
-- after a few it ends as failed, nothing stored (jobs::Worker::run_batch).
alter table jobs add column failed_attempts integer not null default 0;

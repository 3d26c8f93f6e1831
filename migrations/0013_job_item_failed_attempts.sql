-- A batch that fails for a reason of its own (an item whose stored form cannot be read, a bug in
-- scoring or encoding) is rolled back like the batch of a worker that died, and was claimed again
-- at every poll, for ever: its job never ended. Each item now counts the attempts at its batch
-- that failed so (persistence::jobs::Batch::count_failed_attempt; never a lost connection or a
-- database that is down). After a few, its batch is done one item at a time, and an item that still
-- fails alone is reported as failed instead of being tried again (jobs::process).
alter table job_items add column failed_attempts integer not null default 0;

-- Fencing: every claim raises lease_token; a run writes under the token it claimed with, so writes of
-- an earlier run (even one of the same instance) are refused once the job was claimed again.
ALTER TABLE jobs ADD COLUMN lease_token bigint NOT NULL DEFAULT 0;

-- Bookkeeping events (job.started, question.started, question.finished) carry a key made of their
-- kind, question and the run's fencing token: retrying an append whose commit went unanswered finds
-- the stored event instead of storing it twice. NULL for every other event (NULLs are distinct).
ALTER TABLE job_events ADD COLUMN dedupe_key varchar(128);
CREATE UNIQUE INDEX job_events_dedupe_uq ON job_events (job_id, dedupe_key);

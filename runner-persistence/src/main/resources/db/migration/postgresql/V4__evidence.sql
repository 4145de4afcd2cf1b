-- Evidence (contract v2 §3, §4, §4c). Public halves of every key that signed a receipt or a seal in
-- this database, so that yesterday's receipts stay verifiable after a restart or a key change.
CREATE TABLE runner_keys (
    key_id     varchar(64)  NOT NULL PRIMARY KEY,
    algorithm  varchar(32)  NOT NULL,
    public_key text         NOT NULL,
    created_at timestamptz  NOT NULL
);

-- The seal of a terminal job: made once, in the transaction that finishes the job.
ALTER TABLE jobs ADD COLUMN seal_json jsonb;

-- What the provider said about itself for this answer: served model, fingerprint, response id, headers.
ALTER TABLE executions ADD COLUMN provenance_json jsonb;

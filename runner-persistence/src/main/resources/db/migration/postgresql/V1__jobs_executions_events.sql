-- Contract section 7: jobs, executions, job_events. Column names are fixed; extra columns support
-- claiming (owner, lease_until), gap-free event numbering (event_seq) and idempotency (spec_sha256).

CREATE TABLE jobs (
    id               uuid         NOT NULL PRIMARY KEY,
    name             varchar(255) NOT NULL,
    status           varchar(16)  NOT NULL,
    spec             jsonb        NOT NULL,
    spec_sha256      char(64)     NOT NULL,
    idempotency_key  varchar(255),
    cells            integer      NOT NULL,
    created_at       timestamptz  NOT NULL,
    started_at       timestamptz,
    finished_at      timestamptz,
    current_question integer,
    owner            varchar(255),
    lease_until      timestamptz,
    cancel_requested boolean      NOT NULL DEFAULT false,
    -- last sequence number handed out in job_events; bumped under the row lock so seqs have no gaps
    event_seq        bigint       NOT NULL DEFAULT 0,
    CONSTRAINT jobs_status_ck CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED', 'CANCELLED', 'TIMED_OUT'))
);

-- NULL keys are distinct, so jobs without a key never collide; concurrent same-key submits do.
CREATE UNIQUE INDEX jobs_idempotency_key_uq ON jobs (idempotency_key);
-- claimNext: oldest QUEUED / expired RUNNING first
CREATE INDEX jobs_claim_ix ON jobs (status, created_at, id);
-- list: newest first, keyset paging on (created_at, id)
CREATE INDEX jobs_list_ix ON jobs (created_at DESC, id DESC);
-- renewLeases
CREATE INDEX jobs_owner_ix ON jobs (owner);

CREATE TABLE executions (
    job_id        uuid          NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    question_id   varchar(255)  NOT NULL,
    model_id      varchar(128)  NOT NULL,
    region        varchar(128)  NOT NULL,
    provider_id   varchar(255),
    status        varchar(16)   NOT NULL,
    attempts      integer       NOT NULL,
    output_json   jsonb,
    receipt_json  jsonb,
    error_code    varchar(64),
    error_message text,
    started_at    timestamptz,
    completed_at  timestamptz   NOT NULL,
    latency_ms    bigint,
    CONSTRAINT executions_cell_uq UNIQUE (job_id, question_id, model_id, region),
    CONSTRAINT executions_status_ck CHECK (status IN ('SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'))
);

CREATE TABLE job_events (
    job_id     uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq        bigint      NOT NULL,
    type       varchar(32) NOT NULL,
    data       jsonb       NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (job_id, seq)
);

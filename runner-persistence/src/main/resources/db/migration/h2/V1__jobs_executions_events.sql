-- H2 twin of db/migration/postgresql/V1: same tables and names; JSON is stored as text (H2's JSON type
-- would store a bound string as a JSON string), timestamptz is spelled out. No CHECK constraints: H2 2.4
-- binds their expression to the session that created them (Flyway's JDBC one), and once that closed
-- every insert failed with "database has been closed".
-- Contract section 7: jobs, executions, job_events. Column names are fixed; extra columns support
-- claiming (owner, lease_until), gap-free event numbering (event_seq) and idempotency (spec_sha256).

CREATE TABLE jobs (
    id               uuid         NOT NULL PRIMARY KEY,
    name             varchar(255) NOT NULL,
    status           varchar(16)  NOT NULL,
    spec             CHARACTER LARGE OBJECT        NOT NULL,
    spec_sha256      char(64)     NOT NULL,
    idempotency_key  varchar(255),
    cells            integer      NOT NULL,
    created_at       TIMESTAMP WITH TIME ZONE  NOT NULL,
    started_at       TIMESTAMP WITH TIME ZONE,
    finished_at      TIMESTAMP WITH TIME ZONE,
    current_question integer,
    owner            varchar(255),
    lease_until      TIMESTAMP WITH TIME ZONE,
    cancel_requested boolean      NOT NULL DEFAULT false,
    -- last sequence number handed out in job_events; bumped under the row lock so seqs have no gaps
    event_seq        bigint       NOT NULL DEFAULT 0
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
    output_json   CHARACTER LARGE OBJECT,
    receipt_json  CHARACTER LARGE OBJECT,
    error_code    varchar(64),
    error_message CHARACTER LARGE OBJECT,
    started_at    TIMESTAMP WITH TIME ZONE,
    completed_at  TIMESTAMP WITH TIME ZONE   NOT NULL,
    latency_ms    bigint,
    CONSTRAINT executions_cell_uq UNIQUE (job_id, question_id, model_id, region)
);

CREATE TABLE job_events (
    job_id     uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq        bigint      NOT NULL,
    type       varchar(32) NOT NULL,
    data       CHARACTER LARGE OBJECT       NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (job_id, seq)
);

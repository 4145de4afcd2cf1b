-- H2 twin of db/migration/postgresql/V4 (JSON as text, timestamptz spelled out, see V1).
CREATE TABLE runner_keys (
    key_id     varchar(64)               NOT NULL PRIMARY KEY,
    algorithm  varchar(32)               NOT NULL,
    public_key CHARACTER LARGE OBJECT    NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE  NOT NULL
);

ALTER TABLE jobs ADD COLUMN seal_json CHARACTER LARGE OBJECT;

ALTER TABLE executions ADD COLUMN provenance_json CHARACTER LARGE OBJECT;

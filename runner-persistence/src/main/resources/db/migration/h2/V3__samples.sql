-- Samples (contract v2 §1): a cell is (question, endpoint, sample). Rows stored before samples
-- existed are sample 0, the only sample a one-sample job has. No CHECK constraint here (see V1).
ALTER TABLE executions ADD COLUMN sample integer NOT NULL DEFAULT 0;
ALTER TABLE executions DROP CONSTRAINT executions_cell_uq;
ALTER TABLE executions ADD CONSTRAINT executions_cell_uq UNIQUE (job_id, question_id, model_id, region, sample);

-- Retries (contract v2 §3): a job made by POST /jobs/{id}/retry names its source, and the rows it
-- copied from the source (output and receipt unchanged, never asked again) name where they came from.
ALTER TABLE jobs ADD COLUMN retry_of uuid;
ALTER TABLE executions ADD COLUMN carried_from uuid;

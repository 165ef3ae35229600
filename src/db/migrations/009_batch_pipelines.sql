-- Batch jobs of pipelines: one pipeline run per selected agent (kind 'pipeline'), as the child
-- workflow pipeline/<name>/<batchId>-<agentId>, its input the job's input plus the agent's id.
ALTER TABLE batch_jobs ADD COLUMN pipeline text;
ALTER TABLE batch_jobs ADD COLUMN pipeline_input jsonb;

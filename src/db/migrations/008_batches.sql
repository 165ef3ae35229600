-- Batch jobs: one message (or pipeline run) fanned out over many agents. The workflow
-- (`batch/<batchId>`) pages through the selected agents; each agent's outcome lives here, so a
-- resumed or repeated job never asks an agent twice.
CREATE TABLE batch_jobs (
  batch_id     text PRIMARY KEY,
  workflow_id  text NOT NULL,
  -- prompt: one user message per agent
  kind         text NOT NULL DEFAULT 'prompt',
  prompt       text,
  -- which agents: {"agentIds": [...]} | {"tag": "..."} | {"all": true}
  selector     jsonb NOT NULL,
  concurrency  integer NOT NULL,
  max_steps    integer NOT NULL,
  -- running, completed, cancelled, failed
  status       text NOT NULL DEFAULT 'running',
  created_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);

-- One row per selected agent, written when its page is selected.
CREATE TABLE batch_items (
  batch_id      text NOT NULL REFERENCES batch_jobs (batch_id) ON DELETE CASCADE,
  agent_id      text NOT NULL,
  -- derived from the batch id and the agent id: the same on every retry and resume
  message_id    text NOT NULL,
  -- queued, running, answered, failed
  status        text NOT NULL DEFAULT 'queued',
  error_type    text,
  error_message text,
  queued_at     timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  PRIMARY KEY (batch_id, agent_id)
);
CREATE INDEX batch_items_status_idx ON batch_items (batch_id, status);

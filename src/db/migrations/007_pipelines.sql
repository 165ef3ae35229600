-- Pipeline runs and their stages' messages. The workflow (`pipeline/<name>/<runId>`) orders the
-- stages; what each stage asked and answered lives here, not in workflow history.
CREATE TABLE pipeline_runs (
  workflow_id  text PRIMARY KEY,
  name         text NOT NULL,
  input        jsonb NOT NULL,
  -- running, completed, failed, cancelled
  status       text NOT NULL DEFAULT 'running',
  max_budget   numeric,
  output       jsonb,
  error_type   text,
  error_message text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
CREATE INDEX pipeline_runs_name_idx ON pipeline_runs (name, created_at);

-- One row per message a stage sends: one per fan-out item.
CREATE TABLE pipeline_stage_items (
  workflow_id   text NOT NULL REFERENCES pipeline_runs (workflow_id) ON DELETE CASCADE,
  stage         text NOT NULL,
  item          integer NOT NULL,
  -- the fan-out item's text (null without fan-out)
  label         text,
  agent_id      text,
  -- derived from the run, the stage and the item: a retried stage never asks twice
  message_id    text NOT NULL,
  -- queued, running, completed, failed, cancelled (the run stopped waiting; the turn goes on)
  status        text NOT NULL DEFAULT 'queued',
  output        text,
  error_type    text,
  error_message text,
  started_at    timestamptz,
  finished_at   timestamptz,
  PRIMARY KEY (workflow_id, stage, item)
);

-- The pipelines workers run, published at worker start (as tools are): what `memloom pipeline
-- list` shows and what a client may start.
CREATE TABLE pipelines (
  name         text PRIMARY KEY,
  description  text NOT NULL,
  input_schema jsonb NOT NULL,
  stages       jsonb NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

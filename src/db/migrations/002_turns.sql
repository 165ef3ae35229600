-- Turn records: one row per user message id, the single answer to "what happened to this
-- message", whatever Temporal's runs did. A message is admitted with its turn in one
-- transaction, so no user message exists without a turn.

CREATE TABLE turns (
  message_id        text PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
  agent_id          text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  status            text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  -- the attempt that owns the turn now (1-based); an explicit retry appends the next one
  attempt           integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
  max_steps         integer NOT NULL CHECK (max_steps >= 1),
  -- steps used by earlier attempts: this attempt's steps are step_base + 1 ... step_base + max_steps
  step_base         integer NOT NULL DEFAULT 0,
  step_count        integer NOT NULL DEFAULT 0,
  stop_reason       text,
  prompt_tokens     integer NOT NULL DEFAULT 0,
  completion_tokens integer NOT NULL DEFAULT 0,
  total_tokens      integer NOT NULL DEFAULT 0,
  error_type        text,
  error_message     text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  started_at        timestamptz,
  finished_at       timestamptz,
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX turns_agent_idx ON turns (agent_id, created_at);
CREATE INDEX turns_open_idx ON turns (agent_id) WHERE status IN ('queued', 'running');

-- Every attempt of a turn, in order: the first, and one per explicit retry.
CREATE TABLE turn_attempts (
  message_id    text NOT NULL REFERENCES turns (message_id) ON DELETE CASCADE,
  attempt       integer NOT NULL,
  status        text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
  step_base     integer NOT NULL,
  step_count    integer NOT NULL DEFAULT 0,
  stop_reason   text,
  error_type    text,
  error_message text,
  queued_at     timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  PRIMARY KEY (message_id, attempt)
);

-- Messages stored before turn records existed: a sequenced one was answered, a pending one waits.
INSERT INTO turns (message_id, agent_id, status, max_steps, created_at, started_at, finished_at)
SELECT id, agent_id, CASE WHEN seq IS NULL THEN 'queued' ELSE 'completed' END, 10, created_at,
       CASE WHEN seq IS NULL THEN NULL ELSE created_at END, CASE WHEN seq IS NULL THEN NULL ELSE created_at END
FROM messages WHERE role = 'user' AND step = 0;
INSERT INTO turn_attempts (message_id, attempt, status, step_base, queued_at, started_at, finished_at)
SELECT message_id, 1, status, 0, created_at, started_at, finished_at FROM turns;

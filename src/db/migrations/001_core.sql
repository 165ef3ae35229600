-- memloom core schema: agents, core memory blocks (shared through agent_blocks), recall
-- messages, archival passages, model usage, and settings. No secrets are ever stored here.

CREATE TABLE agents (
  id               text PRIMARY KEY,
  name             text NOT NULL,
  system           text NOT NULL,
  description      text,
  llm_config       jsonb NOT NULL,
  embedding_config jsonb,
  tools            text[] NOT NULL DEFAULT '{}',
  tags             text[] NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX agents_name_key ON agents (name);
CREATE INDEX agents_tags_idx ON agents USING gin (tags);

CREATE TABLE blocks (
  id          text PRIMARY KEY,
  label       text NOT NULL,
  value       text NOT NULL,
  char_limit  integer NOT NULL CHECK (char_limit > 0),
  description text,
  read_only   boolean NOT NULL DEFAULT false,
  -- bumped on every change, for optimistic concurrency and for callers that cache blocks
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A block may be shared by several agents; a label is unique within one agent.
CREATE TABLE agent_blocks (
  agent_id  text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  block_id  text NOT NULL REFERENCES blocks (id) ON DELETE CASCADE,
  label     text NOT NULL,
  position  integer NOT NULL,
  PRIMARY KEY (agent_id, block_id),
  UNIQUE (agent_id, label)
);
CREATE INDEX agent_blocks_block_idx ON agent_blocks (block_id);

CREATE SEQUENCE message_seq AS bigint;

-- Recall memory: every message ever. seq orders an agent's history; it is assigned when the
-- message's turn begins (a message waiting in the agent's queue has none yet).
CREATE TABLE messages (
  id           text PRIMARY KEY,
  agent_id     text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  seq          bigint UNIQUE,
  turn_id      text NOT NULL,
  step         integer NOT NULL,
  idx          integer NOT NULL,
  role         text NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
  content      text,
  reasoning    text,
  tool_calls   jsonb,
  tool_call_id text,
  tool_name    text,
  tool_status  text CHECK (tool_status IN ('success', 'error')),
  in_context   boolean NOT NULL DEFAULT true,
  tokens       integer NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  -- every write of a turn is idempotent on this key
  UNIQUE (agent_id, turn_id, step, idx)
);
-- newest-first context reads stop after the window: cost independent of history length
CREATE INDEX messages_agent_seq_idx ON messages (agent_id, seq DESC) WHERE seq IS NOT NULL;
CREATE INDEX messages_fts_idx ON messages
  USING gin (to_tsvector('english', coalesce(content, '')));

-- Archival memory.
CREATE TABLE passages (
  id          text PRIMARY KEY,
  agent_id    text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  text        text NOT NULL,
  tags        text[] NOT NULL DEFAULT '{}',
  -- the tool call that wrote it, so a retried archival_memory_insert writes once
  source_key  text UNIQUE,
  tsv         tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX passages_agent_idx ON passages (agent_id, created_at DESC);
CREATE INDEX passages_tsv_idx ON passages USING gin (tsv);

-- One row per model call attempt.
CREATE TABLE usage (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  agent_id          text NOT NULL,
  workflow_id       text,
  turn_id           text,
  step              integer,
  attempt           integer,
  model_group       text NOT NULL,
  deployment        text NOT NULL,
  prompt_tokens     integer NOT NULL DEFAULT 0,
  completion_tokens integer NOT NULL DEFAULT 0,
  total_tokens      integer NOT NULL DEFAULT 0,
  cost              numeric,
  latency_ms        integer NOT NULL,
  outcome           text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_agent_idx ON usage (agent_id, created_at);

CREATE TABLE settings (
  key        text PRIMARY KEY,
  value      jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

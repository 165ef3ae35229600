-- Token calibration per agent and model: the ratio of the prompt_tokens an endpoint reports to
-- what memloom counted (o200k_base, see src/llm/token-count.ts) for the same prompt, as a moving
-- average over the agent's model calls. The context of the next call is budgeted with it. Written
-- in the transaction that stores the model's answer; calls without reported usage leave it alone.
-- `model` is the model group the call asked for (the agent's llm_config.model, or a fallback).

CREATE TABLE token_calibration (
  agent_id      text NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  model         text NOT NULL,
  ratio         double precision NOT NULL CHECK (ratio > 0),
  samples       integer NOT NULL CHECK (samples > 0),
  -- the last call's counts, to see what the ratio learned from
  last_counted  integer NOT NULL,
  last_reported integer NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (agent_id, model)
);

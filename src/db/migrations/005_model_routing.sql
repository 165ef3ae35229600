-- Routing state of the deployments of a models file (MEMLOOM_MODELS), shared by every worker:
-- cooldowns and failures per minute, in-flight calls, requests and tokens per minute, and a
-- latency average. Small rows keyed by deployment id; a pick reads them in one query.
CREATE TABLE deployment_state (
  deployment_id   text PRIMARY KEY,
  model_group     text NOT NULL,
  -- while in the future the deployment takes no calls
  cooldown_until  timestamptz,
  -- why it cooled down: the failure type and status, e.g. 'RateLimited (429)'
  cooldown_reason text,
  -- the minute fails_in_minute counts (date_trunc('minute'))
  fail_minute     timestamptz,
  fails_in_minute integer NOT NULL DEFAULT 0,
  -- moving average of the latency of successful calls, ms
  latency_ms      double precision,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Requests and tokens per deployment and minute, for rpm/tpm limits and usage-based routing.
CREATE TABLE deployment_minute_usage (
  deployment_id text NOT NULL,
  minute        timestamptz NOT NULL,
  requests      integer NOT NULL DEFAULT 0,
  tokens        integer NOT NULL DEFAULT 0,
  PRIMARY KEY (deployment_id, minute)
);

-- Calls in flight: a row per model call, deleted when it ends; a call whose worker died stops
-- counting at expires_at.
CREATE TABLE deployment_inflight (
  call_id       text PRIMARY KEY,
  deployment_id text NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL
);
CREATE INDEX deployment_inflight_deployment_idx ON deployment_inflight (deployment_id, expires_at);

ALTER TABLE usage
  -- the attempt's place in its step's chain (1 = first try), and why it was made
  ADD COLUMN chain_attempt integer,
  ADD COLUMN reason        text,
  -- the deployment a LiteLLM proxy reported (x-litellm-model-id) when memloom's deployment is a proxy
  ADD COLUMN upstream_deployment text;
-- spend and latency per deployment
CREATE INDEX usage_deployment_idx ON usage (deployment, created_at);
-- a turn's chain of model calls (`memloom turn show`)
CREATE INDEX usage_turn_idx ON usage (turn_id);

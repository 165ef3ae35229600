-- What served each model call, as a LiteLLM proxy reports it in its response headers. A proxy
-- may answer from another deployment, or after a fallback from another model group, than the one
-- asked for: `model_group` stays what the agent asked for, `deployment` becomes the proxy's
-- deployment id (x-litellm-model-id) when it names one, else the endpoint as before. `cost` (USD,
-- from 001) is the proxy's own figure; null when the endpoint reports none.
ALTER TABLE usage
  -- the base URL memloom called (the proxy's, or the provider's without one)
  ADD COLUMN endpoint            text,
  -- x-litellm-model-group: the group that answered (a fallback's, when one served)
  ADD COLUMN model_group_served  text,
  -- x-litellm-model-api-base: the upstream base URL the proxy called
  ADD COLUMN api_base            text,
  -- x-litellm-call-id: the proxy's id of the call, to find it in its logs and spend records
  ADD COLUMN call_id             text,
  -- x-litellm-attempted-retries / x-litellm-attempted-fallbacks
  ADD COLUMN attempted_retries   integer,
  ADD COLUMN attempted_fallbacks integer;

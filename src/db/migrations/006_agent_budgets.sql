-- Budgets per agent, LiteLLM's max_budget / budget_duration: at most max_budget US dollars of
-- model calls (usage.cost) per budget_duration window (as written, e.g. '1d'; windows are aligned
-- to the epoch in UTC), or in all when budget_duration is null. No max_budget: no budget.
-- The spend is summed over usage (agent_id, created_at), indexed by usage_agent_idx.
ALTER TABLE agents
  ADD COLUMN max_budget      numeric CHECK (max_budget > 0),
  ADD COLUMN budget_duration text,
  ADD CONSTRAINT agents_budget_duration_needs_budget CHECK (budget_duration IS NULL OR max_budget IS NOT NULL);

-- Compaction (Letta's summarizer): the oldest in-context messages are summarized by a model, the
-- summary is stored as a message of kind 'summary' (role user, Letta's system_alert JSON) that
-- opens every later context, and the summarized messages leave the context (in_context = false);
-- recall keeps them all. At most one summary is in context: a new one replaces it.

ALTER TABLE messages ADD COLUMN kind text NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'summary'));
CREATE INDEX messages_summary_idx ON messages (agent_id, seq DESC) WHERE kind = 'summary' AND in_context;
-- The context is read newest first among the in-context messages: with most of a long history
-- out of context, the agent's seq index alone would walk all of it to find them.
CREATE INDEX messages_in_context_idx ON messages (agent_id, seq DESC) WHERE in_context AND seq IS NOT NULL;

-- Letta's compaction_settings: { sliding_window_percentage, model, clip_chars }; null: the defaults.
ALTER TABLE agents ADD COLUMN compaction_settings jsonb;

-- Letta's agent `metadata`: a free-form JSON object the caller keeps with the agent (checked by
-- the SDK: a JSON object of at most 64 KiB); null: none. memloom never reads it.
ALTER TABLE agents ADD COLUMN metadata jsonb;

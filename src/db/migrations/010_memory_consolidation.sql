-- Memory consolidation (Letta's sleep-time memory rewriting): a turn of kind 'consolidation' is
-- admitted into the agent's own mailbox like a user message, its "user message" an instruction
-- to review the conversation since the last consolidation and rewrite the core memory blocks.
-- Its messages leave the context when it finishes and are never listed as the conversation.

ALTER TABLE turns ADD COLUMN kind text NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'consolidation'));
CREATE INDEX turns_consolidation_idx ON turns (agent_id) WHERE kind = 'consolidation';

-- The last message seq a completed consolidation reviewed (every message of the agent up to it
-- was offered to one); null: never consolidated.
ALTER TABLE agents ADD COLUMN consolidated_through_seq bigint;
ALTER TABLE agents ADD COLUMN consolidated_at timestamptz;

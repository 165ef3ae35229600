/**
 * Letta-style prefixed ids (`agent-<uuid>`, `message-<uuid>`, ...).
 * Generation uses `crypto.randomUUID`, so never call {@link newId} from workflow code.
 * @module
 */
import { z } from 'zod';

export const IdPrefix = {
  Agent: 'agent',
  Block: 'block',
  Message: 'message',
  Passage: 'passage',
} as const;
export type IdPrefix = (typeof IdPrefix)[keyof typeof IdPrefix];

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/** A zod schema accepting `<prefix>-<uuid>`. */
export function idSchema(prefix: IdPrefix): z.ZodString {
  return z
    .string()
    .regex(new RegExp(`^${prefix}-${UUID}$`, 'i'), `must look like ${prefix}-<uuid>`);
}

export function isId(prefix: IdPrefix, value: string): boolean {
  return idSchema(prefix).safeParse(value).success;
}

/** A fresh `<prefix>-<uuid>`. Not for workflow code. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}-${globalThis.crypto.randomUUID()}`;
}

export const AgentIdSchema = idSchema(IdPrefix.Agent);
export const MessageIdSchema = idSchema(IdPrefix.Message);

/** How callers name an agent: its id (`agent-<uuid>`) or its unique name. */
export const AgentRefSchema = z
  .string({ error: 'must be a string: an agent id (agent-<uuid>) or name' })
  .min(1, 'must not be empty: an agent id (agent-<uuid>) or name')
  .max(200, 'must be at most 200 characters: an agent id (agent-<uuid>) or name');

/** Workflow id of an agent's entity workflow. */
export function agentWorkflowId(agentId: string): string {
  return `agent/${agentId}`;
}

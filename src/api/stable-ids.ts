/**
 * Ids derived from names, the same every time: UUIDv5-style (SHA-1 of a namespace and the name,
 * with the version and variant bits set). A client's `otid` or `Idempotency-Key` becomes the
 * message id of its turn this way, so a resent request finds the turn it already started; a
 * tool, which memloom knows by name, gets Letta's `tool-<uuid>` id.
 * @module
 */
import { createHash } from 'node:crypto';
import { isId } from '../domain/ids.ts';

/** Namespaces of the derived ids (random UUIDs, fixed forever: changing one changes every id). */
const Namespace = {
  Message: '3f0c1e55-54d2-4a8e-9a7c-52b6e1d1a0c4',
  Tool: 'b7e9f2a4-0d1c-4f63-8e55-9c2d7a4b6e10',
} as const;

/** A UUID derived from `name` in `namespace` (RFC 9562 version 5 layout). */
export function stableUuid(namespace: string, name: string): string {
  const hash = createHash('sha1').update(Buffer.from(namespace.replaceAll('-', ''), 'hex')).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The message id of a request whose client gave it `key` (an `otid`, an `Idempotency-Key`): the
 * key itself when it is already a `message-<uuid>`, else one derived from the agent (as the path
 * names it) and the key, so two agents never share a turn through a common key.
 */
export function messageIdForKey(agentRef: string, key: string): string {
  if (isId('message', key)) return key;
  return `message-${stableUuid(Namespace.Message, `${agentRef}\n${key}`)}`;
}

/** Letta's id of the tool named `name`: `tool-<uuid>`. */
export function toolIdOf(name: string): string {
  return `tool-${stableUuid(Namespace.Tool, name)}`;
}

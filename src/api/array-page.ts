/**
 * A cursor page of a short list held in memory (an agent's blocks, the registered tools), with
 * the semantics of the keyset pages of src/db/cursor-page.ts: `after` and `before` are ids of
 * items; an id not in the list gives an empty page.
 * @module
 */
import type { PageOrder } from '../client/pages.ts';

export interface ArrayPageQuery {
  after?: string | undefined;
  before?: string | undefined;
  limit: number;
  order: PageOrder;
}

/** `items` (in ascending order) as the page `q` asks for. */
export function arrayPage<T extends { id: string }>(items: readonly T[], q: ArrayPageQuery): T[] {
  const ordered = q.order === 'asc' ? [...items] : [...items].reverse();
  const at = (id: string): number => ordered.findIndex((item) => item.id === id);
  let from = 0;
  let to = ordered.length;
  if (q.after !== undefined) from = at(q.after) === -1 ? to : at(q.after) + 1;
  if (q.before !== undefined) to = at(q.before) === -1 ? from : Math.min(to, at(q.before));
  if (from >= to) return [];
  // only `before`: the items nearest it
  return q.before !== undefined && q.after === undefined ? ordered.slice(Math.max(from, to - q.limit), to) : ordered.slice(from, Math.min(to, from + q.limit));
}

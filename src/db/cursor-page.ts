/**
 * Keyset pages over a table, as Letta's list endpoints page (`before`, `after`, `limit`,
 * `order`): the cursors are ids of rows of the same table, compared by the table's sort key, so a
 * page costs an index range scan however deep it is, and rows written meanwhile never shift it.
 * @module
 */

/** Which rows a page holds. Cursors are row ids; a cursor that names no row yields no rows. */
export interface CursorPage {
  /** Rows after this one in `order`. */
  after?: string | undefined;
  /** Rows before this one in `order`: the `limit` nearest it. */
  before?: string | undefined;
  limit: number;
  order: 'asc' | 'desc';
}

/** The sort key of a table: its columns (unique together, `id` last) and where a cursor is found. */
export interface PageKey {
  table: string;
  /** e.g. `created_at, id`; qualified when the query joins. */
  columns: string;
  /** The same columns as the cursor's subquery reads them (unqualified). */
  cursorColumns: string;
  /** More conditions on the cursor row (e.g. `agent_id = $1`), so a cursor of another scope matches nothing. */
  cursorScope?: string;
}

/**
 * The `AND ...` conditions and `ORDER BY ... LIMIT` of a page, with its parameters numbered from
 * `$firstParam`. With only `before` the scan runs backwards from it, to take the nearest rows:
 * reverse those (`reversed`) to return them in `order`.
 */
export function pageClauses(
  page: CursorPage,
  key: PageKey,
  firstParam: number,
): { where: string; orderLimit: string; params: unknown[]; reversed: boolean } {
  const params: unknown[] = [];
  const conditions: string[] = [];
  const asc = page.order === 'asc';
  const cursor = (id: string, op: '<' | '>'): void => {
    params.push(id);
    const scope = key.cursorScope ? ` AND ${key.cursorScope}` : '';
    conditions.push(`AND (${key.columns}) ${op} (SELECT ${key.cursorColumns} FROM ${key.table} WHERE id = $${firstParam + params.length - 1}${scope})`);
  };
  if (page.after !== undefined) cursor(page.after, asc ? '>' : '<');
  if (page.before !== undefined) cursor(page.before, asc ? '<' : '>');
  const reversed = page.before !== undefined && page.after === undefined;
  const direction = asc !== reversed ? 'ASC' : 'DESC';
  params.push(page.limit);
  const orderBy = key.columns
    .split(',')
    .map((c) => `${c.trim()} ${direction}`)
    .join(', ');
  return { where: conditions.join(' '), orderLimit: `ORDER BY ${orderBy} LIMIT $${firstParam + params.length - 1}`, params, reversed };
}

/**
 * Registers memloom's search attributes in a Temporal namespace, adding only the missing ones.
 * @module
 */
import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { MEMLOOM_SEARCH_ATTRIBUTES } from '../domain/search-attributes.ts';

// @temporalio/proto is CommonJS: its namespace comes in as the default export
const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

const TYPE_MAP = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  TEXT: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DOUBLE: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
} as const;

/** Returns the names it added (empty when all were there). */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set([...Object.keys(existing.customAttributes ?? {}), ...Object.keys(existing.systemAttributes ?? {})]);
  const missing = MEMLOOM_SEARCH_ATTRIBUTES.filter((k) => !have.has(k.name));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, TYPE_MAP[k.type]])),
    });
  } catch (error) {
    // another process registered them between our list and add
    if (!/already exists/i.test(String((error as Error).message))) throw error;
  }
  return missing.map((k) => k.name);
}

/**
 * Persisted defaults (`default_llm_config`, `default_embedding_config`).
 * @module
 */
import type { Queryable } from './pool.ts';

export const SettingKey = {
  DefaultLlmConfig: 'default_llm_config',
  DefaultEmbeddingConfig: 'default_embedding_config',
} as const;
export type SettingKey = (typeof SettingKey)[keyof typeof SettingKey];

export async function getSetting(db: Queryable, key: SettingKey): Promise<unknown> {
  const { rows } = await db.query<{ value: unknown }>('SELECT value FROM settings WHERE key = $1', [key]);
  return rows[0]?.value;
}

export async function putSetting(db: Queryable, key: SettingKey, value: unknown): Promise<void> {
  await db.query(
    `INSERT INTO settings (key, value) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()`,
    [key, JSON.stringify(value)],
  );
}

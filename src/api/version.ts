/**
 * memloom's version, as `GET /v1/health/` and openapi.json give it: package.json's, read once.
 * @module
 */
import { readFileSync } from 'node:fs';

let version: string | undefined;

export function serverVersion(): string {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      version = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
    } catch {
      version = '0.0.0';
    }
  }
  return version;
}

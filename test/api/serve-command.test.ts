/**
 * `memloom serve` as a user runs it: a process that prints where it listens, requires the key
 * of MEMLOOM_API_KEY, logs a line per request without the key, and stops on SIGTERM.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCliProcess } from '../helpers/cli.ts';
import { createTestDatabase, TEMPORAL_ADDRESS } from '../helpers/stack.ts';

const { url: databaseUrl } = await createTestDatabase();

test('memloom serve listens, requires the API key, logs requests without it, and stops on SIGTERM', async () => {
  const key = `mk-serve-${globalThis.crypto.randomUUID()}`;
  const serve = await startCliProcess(['serve', '--port', '0', '--host', '127.0.0.1'], {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS,
    MEMLOOM_API_KEY: key,
    MEMLOOM_LOG_LEVEL: 'info',
    MEMLOOM_LOG_FORMAT: 'json',
  });
  let stderr = serve.stderr;
  const base = /the Letta REST API at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(stderr)?.[1];
  assert.ok(base, stderr);
  assert.match(stderr, /auth: +Authorization: Bearer <MEMLOOM_API_KEY> required/);

  assert.equal((await fetch(`${base}/v1/agents/`)).status, 401);
  const agents = await fetch(`${base}/v1/agents/`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(agents.status, 200);
  assert.deepEqual(await agents.json(), []);
  const requestId = agents.headers.get('x-request-id');

  serve.child.kill('SIGTERM');
  assert.equal(await serve.exited, 0, serve.stderr);
  stderr = serve.stderr;
  assert.equal(serve.stdout, '');
  const lines = stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.filter((l) => l.path === '/v1/agents/').map((l) => [l.status, typeof l.req_id]),
    [
      [401, 'string'],
      [200, 'string'],
    ],
  );
  assert.ok(lines.some((l) => l.req_id === requestId));
  assert.ok(!stderr.includes(key), 'the key is never printed');
  assert.match(stderr, /memloom serve stopped/);
});

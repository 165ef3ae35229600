/**
 * `memloom serve` as a user runs it: a process that prints where it listens, requires the key
 * of MEMLOOM_API_KEY, logs a line per request without the key, and stops on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { CLI } from '../helpers/cli.ts';
import { createTestDatabase, TEMPORAL_ADDRESS } from '../helpers/stack.ts';

const { url: databaseUrl } = await createTestDatabase();

test('memloom serve listens, requires the API key, logs requests without it, and stops on SIGTERM', async () => {
  const key = `mk-serve-${globalThis.crypto.randomUUID()}`;
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--host', '127.0.0.1'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS, MEMLOOM_API_KEY: key, MEMLOOM_LOG_LEVEL: 'info', MEMLOOM_LOG_FORMAT: 'json' },
  });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 60_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/Stop with Ctrl-C/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  const base = /the Letta REST API at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(stderr)?.[1];
  assert.ok(base, stderr);
  assert.match(stderr, /auth: +Authorization: Bearer <MEMLOOM_API_KEY> required/);

  assert.equal((await fetch(`${base}/v1/agents/`)).status, 401);
  const agents = await fetch(`${base}/v1/agents/`, { headers: { Authorization: `Bearer ${key}` } });
  assert.equal(agents.status, 200);
  assert.deepEqual(await agents.json(), []);
  const requestId = agents.headers.get('x-request-id');

  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  assert.equal(stdout, '');
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

/**
 * docker-compose.yml and the Dockerfile cannot run here (no Docker engine); these checks keep
 * them true to the repo and to the README. `.ci/run` also parses the compose file with
 * `docker-compose config -q`.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string): string => readFileSync(`${root}${path}`, 'utf8');
const dockerfile = read('Dockerfile');
const readme = read('README.md');
const compose = read('docker-compose.yml');

/** The instructions of the Dockerfile, continuation lines joined. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

test("the Dockerfile's build steps are the README's", () => {
  const steps = instructions(dockerfile);
  const section = readme.slice(readme.indexOf('## Run with Docker'));
  assert.ok(section.length > 0, 'README has a "Run with Docker" section');
  const runs = steps.filter((s) => s.op === 'RUN').map((s) => s.args);
  assert.ok(runs.length > 0);
  for (const run of runs) assert.ok(section.includes(run), `README's Docker section lacks the build step: ${run}`);
  const entry = JSON.parse(steps.find((s) => s.op === 'ENTRYPOINT')!.args) as string[];
  const cmd = JSON.parse(steps.find((s) => s.op === 'CMD')!.args) as string[];
  assert.ok(section.includes([...entry, ...cmd].join(' ')), `README's Docker section lacks: ${[...entry, ...cmd].join(' ')}`);
  const from = steps.find((s) => s.op === 'FROM')!.args;
  assert.ok(section.includes(from), `README's Docker section lacks the base image ${from}`);
  for (const copy of steps.filter((s) => s.op === 'COPY')) {
    for (const source of copy.args.split(/\s+/).slice(0, -1)) assert.ok(existsSync(`${root}${source}`), `COPY ${source}: no such path`);
  }
});

test('docker-compose.yml wires the services of the production shape', () => {
  for (const service of ['postgres', 'temporal', 'temporal-ui', 'litellm', 'migrate', 'worker']) {
    assert.match(compose, new RegExp(`^  ${service}:$`, 'm'), `service ${service} is missing`);
  }
  assert.match(compose, /image: pgvector\/pgvector:/);
  assert.match(compose, /DB: postgres12/, 'temporal persists to Postgres');
  assert.match(compose, /LITELLM_MASTER_KEY: \$\{LITELLM_MASTER_KEY:\?/, 'the master key comes from the environment');
  assert.match(compose, /LLM_API_KEY: \$\{LITELLM_MASTER_KEY:\?/, 'the worker authenticates to the proxy with it');
  assert.match(compose, /command: \["migrate"\]/, 'migrations and search attributes are applied before workers start');
  assert.ok(existsSync(`${root}docker/litellm-config.yaml`));
  for (const name of ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'LLM_BASE_URL', 'MEMLOOM_TASK_QUEUE']) {
    assert.ok(readme.includes(name), `README documents ${name}`);
  }
});
